//! USART1 of the `emu` board as a pseudo-terminal, served by the firmware's own Oracle
//! bootloader.
//!
//! [`Session::open`] powers the MCU on with a bootloader request in the run-control record
//! (`cockpit_hypervisor::runctl::BOOTLOADER`, as a probe writes it), so the unmodified firmware
//! enters its bootloader, and serves USART1 on a pty ([`crate::pty`]) from a thread that owns
//! the emulator (unicorn is not `Send`, so the [`Mcu`] is created inside it). Bytes the client
//! writes go onto USART1's RX line at the line rate the firmware programmed (BRR), arriving in
//! RDR one byte time apart ([`super::periph::EmuUsart::receive`]: RXNE, ORE when the firmware
//! does not read in time); bytes the firmware writes to TDR go to the client.
//!
//! Board time never runs ahead of wall time (the bootloader's timeouts and the client's are
//! real time): the thread runs the core in slices of [`SLICE_CYCLES`] and, when board time is
//! ahead, waits on the pty for input until wall time catches up. When the firmware idles
//! (polls an empty receiver), the thread blocks on the pty for input (at most [`IDLE_WAIT`])
//! and then moves board time forward to wall time — but never past the next byte due on the RX
//! line, and by at most [`MAX_JUMP_CYCLES`] at once.
//!
//! The core stops when the firmware resets itself (a fault handler, the watchdog): it has left
//! its bootloader, and the reset is handed to the next run ([`SessionEnd::reset`]). The thread
//! then keeps the pty open (what the firmware sent before the reset stays readable) and answers
//! register reads until the harness ends the session ([`Session::close`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cockpit_hypervisor::runctl::{RUNCTL_ADDR, RunControl};
use serialport::TTYPort;

use super::mcu::{CCM_BASE, CCM_SIZE, Mcu, SRAM_BASE, SRAM_SIZE, Stop};
use super::periph::{CPU_HZ, Periph, ResetCause};
use crate::pty::{self, Master};
use crate::sim::gpio::InputSchedule;
use crate::target::TargetError;

/// Core cycles per run slice (1 ms of board time): the granularity of TX forwarding and of
/// the wall-time pacing.
pub const SLICE_CYCLES: u64 = CPU_HZ / 1000;
/// Longest the thread blocks on the pty while the firmware idles.
pub const IDLE_WAIT: Duration = Duration::from_millis(2);
/// Largest forward move of board time at one idle step (50 ms): after a host stall board time
/// catches up in steps, so the firmware's watchdog (fed in its idle loop) never sees one jump
/// longer than its timeout.
pub const MAX_JUMP_CYCLES: u64 = CPU_HZ / 20;
/// Consecutive empty-receiver polls of USART1 that count as idle.
const IDLE_POLLS: u32 = 8;

/// What a session leaves behind.
#[derive(Debug)]
pub struct SessionEnd {
    /// The board's flash (as the firmware's FLASH driver left it).
    pub flash: Box<[u8]>,
    /// SRAM1 + SRAM2 at the end.
    pub sram: Vec<u8>,
    /// CCM SRAM at the end.
    pub ccm: Vec<u8>,
    /// Peripheral state at the end (the console transcript in `console().tx`).
    pub periph: Periph,
    /// The reset the firmware requested, which ended the session (`None`: stopped by the
    /// harness, or the core stopped otherwise).
    pub reset: Option<ResetCause>,
}

/// Work run on the session thread between two slices.
type Job = Box<dyn FnOnce(&Mcu) + Send>;

/// A running bootloader session (module docs). Dropping it stops the thread and loses the
/// flash; [`Session::close`] returns it.
#[derive(Debug)]
pub struct Session {
    path: String,
    /// Kept open so the `/dev/pts/N` node stays usable between clients.
    _slave: TTYPort,
    stop: Arc<AtomicBool>,
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<Result<SessionEnd, String>>>,
}

impl Session {
    /// Powers the MCU on (RAM cleared) on `flash` (512 KiB, firmware already placed) with
    /// `inputs` driven (at their time-0 levels: no guest starts) and a bootloader request in the run-control record,
    /// and serves USART1 on a new pty. The flash is taken out of `flash` only once the pty exists. Errors: `Board` if the
    /// pty or the thread cannot be created.
    pub fn open(flash: &mut Box<[u8]>, inputs: &InputSchedule) -> Result<Session, TargetError> {
        let (master, slave, path) = pty::open()?;
        let flash = std::mem::take(flash);
        let stop = Arc::new(AtomicBool::new(false));
        let (jobs, inbox) = mpsc::channel::<Job>();
        let inputs = inputs.clone();
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name(format!("emu-usart1 {path}"))
            .spawn(move || serve(flash, inputs, master, &thread_stop, &inbox))
            .map_err(|e| TargetError::Board(format!("cannot start the USART1 thread: {e}")))?;
        Ok(Session {
            path,
            _slave: slave,
            stop,
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// The device path clients open (`/dev/pts/N`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Reads a word of the running MCU ([`Mcu::read_u32`]: RAM, flash, registers) between two
    /// slices. Errors: `Board` if the session has ended, `Unmapped`.
    pub fn read_u32(&self, addr: u32) -> Result<u32, TargetError> {
        let ended = || TargetError::Board("the emu USART1 thread has stopped".into());
        let (reply, result) = mpsc::sync_channel(1);
        self.jobs
            .as_ref()
            .ok_or_else(ended)?
            .send(Box::new(move |m: &Mcu| {
                let _ = reply.send(m.read_u32(addr));
            }))
            .map_err(|_| ended())?;
        result
            .recv()
            .map_err(|_| ended())?
            .ok_or(TargetError::Unmapped { addr })
    }

    /// Stops the thread (if the firmware has not ended the session by resetting) and returns
    /// what it left. Errors: `Board` if the emulator failed or the thread panicked (the flash
    /// is lost).
    pub fn close(mut self) -> Result<SessionEnd, TargetError> {
        self.stop.store(true, Ordering::SeqCst);
        self.jobs = None;
        let thread = self.thread.take().expect("joined only here");
        match thread.join() {
            Ok(r) => r.map_err(TargetError::Board),
            Err(_) => Err(TargetError::Board("the emu USART1 thread panicked".into())),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Core cycles of `d` at [`CPU_HZ`].
fn cycles(d: Duration) -> u64 {
    u64::try_from(d.as_nanos() * u128::from(CPU_HZ) / 1_000_000_000).unwrap_or(u64::MAX)
}

/// The session thread: powers on, runs, paces, serves the pty (module docs).
fn serve(
    mut flash: Box<[u8]>,
    inputs: InputSchedule,
    mut master: Master,
    stop: &AtomicBool,
    jobs: &mpsc::Receiver<Job>,
) -> Result<SessionEnd, String> {
    // SAFETY: `flash` is a boxed 512 KiB slice that outlives `mcu` (dropped before `flash` is
    // returned) and is not touched while `mcu` exists.
    let mut mcu = unsafe { Mcu::new(flash.as_mut_ptr()) }?;
    mcu.periph_mut().set_inputs(inputs);
    mcu.mem_write(
        RUNCTL_ADDR,
        &RunControl::bootloader_request().encode_bytes(),
    )?;
    mcu.periph_mut().idle_polls = IDLE_POLLS;
    mcu.set_stop_at_reset(true);
    mcu.reset_core()?;
    let origin = Instant::now();
    let mut forwarded = 0;
    let mut buf = [0u8; 4096];
    let reset = loop {
        while let Ok(job) = jobs.try_recv() {
            job(&mcu);
        }
        if stop.load(Ordering::SeqCst) {
            break None;
        }
        let end = mcu.run(SLICE_CYCLES, |_| false);
        let tx = &mcu.periph().console().tx;
        master.write(&tx[forwarded..]);
        forwarded = tx.len();
        let idle = match end {
            Stop::Reset(cause) => break Some(cause),
            Stop::Lockup | Stop::Exit(_) | Stop::Breakpoint(_) => break None,
            Stop::Idle => true,
            Stop::Cycles | Stop::Predicate => false,
        };
        let p = mcu.periph_mut();
        let board = p.cycles;
        let next_due = p.console().rx_line.next_due();
        let wall = cycles(origin.elapsed());
        let wait_until = if idle {
            next_due.map_or(wall + cycles(IDLE_WAIT), |d| {
                d.min(wall + cycles(IDLE_WAIT))
            })
        } else {
            board
        };
        let wait = Duration::from_nanos(
            (u128::from(wait_until.saturating_sub(wall)) * 1_000_000_000 / u128::from(CPU_HZ))
                as u64,
        );
        // Bytes still in flight keep the firmware busy: ask the pty only when waiting anyway
        // or when the line is empty (a syscall per received byte would slow the catch-up).
        let n = if wait.is_zero() && next_due.is_some() {
            0
        } else {
            master.read(&mut buf, wait)
        };
        let wall = cycles(origin.elapsed());
        let u = p.console_mut();
        if n > 0 {
            u.receive(&buf[..n], wall.max(board));
        }
        if idle {
            let target = u
                .rx_line
                .next_due()
                .map_or(wall, |d| d.min(wall))
                .min(board + MAX_JUMP_CYCLES);
            p.cycles = p.cycles.max(target);
        }
    };
    // The core is parked (at the reset, or stopped): the pty stays open, so the client reads
    // everything that was sent, and register reads still work, until the harness closes.
    let tx = &mcu.periph().console().tx;
    master.write(&tx[forwarded..]);
    while !stop.load(Ordering::SeqCst) {
        while let Ok(job) = jobs.try_recv() {
            job(&mcu);
        }
        // What the client sends now is lost (the chip is in reset).
        master.read(&mut buf, IDLE_WAIT);
    }
    let mut sram = vec![0u8; SRAM_SIZE];
    let mut ccm = vec![0u8; CCM_SIZE];
    mcu.mem_read(SRAM_BASE, &mut sram)?;
    mcu.mem_read(CCM_BASE, &mut ccm)?;
    let periph = std::mem::replace(mcu.periph_mut(), Periph::new(std::ptr::null_mut::<u8>()));
    drop(mcu);
    Ok(SessionEnd {
        flash,
        sram,
        ccm,
        periph,
        reset,
    })
}
