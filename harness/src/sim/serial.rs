//! USART1 of the `sim` board as a pseudo-terminal, served by the Oracle bootloader.
//!
//! [`SerialLink::open`] creates a pseudo-terminal ([`crate::pty`]): clients open its path
//! (`/dev/pts/N`) exactly as they would open `/dev/ttyUSB0`. A device thread owns the master
//! side and the hypervisor's [`Bootloader`] (which owns the board's flash), and models the UART
//! line ([`Line`]) in both directions at `baud` 8N1: every byte occupies the line for 10
//! bit-times, so a byte written by the client reaches the bootloader 10/baud s after
//! the line became free for it, and a response byte reaches the client 10/baud s after the
//! previous one. The bootloader is fed each byte with the device time at which its stop bit
//! ends and is polled as time passes, so its partial-frame and session timeouts fire.
//!
//! Device time is wall time since the link opened plus an offset that [`SimBench`] advances
//! instantly ([`SerialLink::advance`]): a 30 s session timeout is exercised without waiting
//! 30 s. The bench also cuts power (the `SimFlash` power-loss injection), reboots the device and
//! reports which image boots, for `cockpit_oracle::scenario`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cockpit_hypervisor::boot::{self, BootChoice};
use cockpit_hypervisor::{Bootloader, Flash};
use cockpit_oracle::scenario::Bench;
use serialport::TTYPort;

use super::memory::SimFlash;
use crate::pty::{self, Line, Master};
use crate::target::TargetError;

/// Line rate of USART1 unless configured otherwise: 115200 bit/s (8N1).
pub const DEFAULT_BAUD: u32 = cockpit_oracle::limits::DEFAULT_BAUD;

/// The 96-bit unique device ID every `sim` board reports (RM0440 §48.1 `0x1FFF_7590`).
pub const SIM_UID: [u8; 12] = *b"cockpit-sim\0";

/// Longest the device thread blocks waiting for input while nothing else is due: bounds the
/// latency of bench jobs and of the stop request.
const IDLE_WAIT: Duration = Duration::from_millis(2);

/// Device time: wall time since an origin plus an offset advanced instantly by the bench.
#[derive(Debug)]
struct DeviceClock {
    origin: Instant,
    offset_ns: AtomicU64,
}

impl DeviceClock {
    fn now(&self) -> Duration {
        self.origin.elapsed() + Duration::from_nanos(self.offset_ns.load(Ordering::SeqCst))
    }

    fn advance(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.offset_ns.fetch_add(ns, Ordering::SeqCst);
    }
}

/// Milliseconds of device time, as the bootloader counts them.
fn ms(t: Duration) -> u64 {
    u64::try_from(t.as_millis()).unwrap_or(u64::MAX)
}

/// The device side: the pty master, the UART line model and the bootloader.
struct Device {
    master: Master,
    bootloader: Bootloader<SimFlash>,
    clock: Arc<DeviceClock>,
    byte_time: Duration,
    rx: Line<Duration>,
    tx: Line<Duration>,
}

/// Work the bench asks the device thread to do between two line events.
type Job = Box<dyn FnOnce(&mut Device) + Send>;

impl Device {
    /// Reads what the client wrote, waiting at most `wait`, onto the receive line.
    fn read_input(&mut self, wait: Duration) {
        let mut buf = [0u8; 4096];
        let n = self.master.read(&mut buf, wait);
        self.rx.push(&buf[..n], self.clock.now(), self.byte_time);
    }

    /// Feeds received bytes whose time has come, polls the bootloader's timeouts, and sends the
    /// response bytes whose time has come.
    fn step(&mut self) {
        let now = self.clock.now();
        let Device {
            bootloader,
            rx,
            tx,
            byte_time,
            ..
        } = self;
        while let Some((b, at)) = rx.pop_due(now) {
            bootloader.feed(b, ms(at), &mut |frame: &[u8]| {
                tx.push(frame, at, *byte_time)
            });
        }
        bootloader.poll(ms(now), &mut |frame: &[u8]| tx.push(frame, now, *byte_time));
        if !bootloader.flash().is_powered() {
            // Power failed during a flash operation: the device is dead until the reboot, and
            // nothing it "answered" since reaches the line.
            rx.clear();
            tx.clear();
        }
        let mut out = Vec::new();
        while let Some((b, _)) = tx.pop_due(now) {
            out.push(b);
        }
        self.master.write(&out);
    }

    /// How long the thread may wait for input before something is due.
    fn idle_wait(&self) -> Duration {
        let now = self.clock.now();
        let deadline = self
            .bootloader
            .next_deadline()
            .map(|ms| Duration::from_millis(ms.saturating_add(1)));
        [self.rx.next_due(), self.tx.next_due(), deadline]
            .into_iter()
            .flatten()
            .map(|due| due.saturating_sub(now))
            .fold(IDLE_WAIT, Duration::min)
    }

    /// Lets `d` of device time pass on an idle line: what the client already wrote is received
    /// first (at line rate, in device time), then the clock jumps, then the timeouts fire.
    fn advance(&mut self, d: Duration) {
        self.read_input(Duration::ZERO);
        let now = self.clock.now();
        let line_busy = self.rx.free_at().max(self.tx.free_at()).saturating_sub(now);
        self.clock.advance(line_busy);
        self.step();
        self.clock.advance(d);
        self.step();
    }

    /// Power back on (if it was cut) and a reset: the bootloader restarts on the same flash,
    /// bytes on the line are lost.
    fn reboot(&mut self) {
        let now = ms(self.clock.now());
        let fresh = Bootloader::new(SimFlash::new(), SIM_UID, now);
        let mut flash = std::mem::replace(&mut self.bootloader, fresh).into_flash();
        flash.restore_power();
        self.bootloader = Bootloader::new(flash, SIM_UID, now);
        self.rx.clear();
        self.tx.clear();
    }
}

/// CRC-32 of the image [`boot::select`] boots from `flash`, `None` if no bank is bootable.
pub fn booted_image_crc32<F: Flash + ?Sized>(flash: &F) -> Option<u32> {
    match boot::select(flash) {
        BootChoice::Bank { addr, len, .. } => flash.read(addr, len).ok().map(cockpit_oracle::crc32),
        BootChoice::Bootloader => None,
    }
}

/// USART1 of a `sim` board in bootloader mode, as a pseudo-terminal (module docs).
///
/// Dropping it stops the device thread (and loses the flash); [`SerialLink::close`] returns the
/// flash.
#[derive(Debug)]
pub struct SerialLink {
    path: String,
    baud: u32,
    /// Kept open so the `/dev/pts/N` node and the master stay usable between clients.
    _slave: TTYPort,
    clock: Arc<DeviceClock>,
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<SimFlash>>,
}

impl SerialLink {
    /// Resets the board into its bootloader on `flash` and serves USART1 on a new pty at `baud`
    /// bit/s (8N1: 10 bit-times per byte). The flash is taken out of `flash` (leaving an erased
    /// one) only once the pty exists, so on error the caller still has its flash; `close` gives
    /// it back. Errors: `Board` if the pty cannot be created or `baud` is 0.
    pub fn open(flash: &mut SimFlash, baud: u32) -> Result<SerialLink, TargetError> {
        if baud == 0 {
            return Err(TargetError::Board("baud rate must be positive".into()));
        }
        let (master, slave, path) = pty::open()?;
        let clock = Arc::new(DeviceClock {
            origin: Instant::now(),
            offset_ns: AtomicU64::new(0),
        });
        let byte_time = Duration::from_secs(10) / baud;
        let mut device = Device {
            master,
            bootloader: Bootloader::new(std::mem::take(flash), SIM_UID, 0),
            clock: Arc::clone(&clock),
            byte_time,
            rx: Line::default(),
            tx: Line::default(),
        };
        let (jobs, inbox) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name(format!("sim-usart1 {path}"))
            .spawn(move || {
                loop {
                    match inbox.try_recv() {
                        Ok(job) => {
                            job(&mut device);
                            continue;
                        }
                        Err(mpsc::TryRecvError::Disconnected) => break,
                        Err(mpsc::TryRecvError::Empty) => {}
                    }
                    let wait = device.idle_wait();
                    device.read_input(wait);
                    device.step();
                }
                device.bootloader.into_flash()
            })
            .map_err(|e| TargetError::Board(format!("cannot start the USART1 thread: {e}")))?;
        Ok(SerialLink {
            path,
            baud,
            _slave: slave,
            clock,
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// The device path clients open (`/dev/pts/N`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The simulated line rate, bit/s.
    pub fn baud(&self) -> u32 {
        self.baud
    }

    /// Device time since the link opened (wall time plus every [`advance`](Self::advance)).
    pub fn now(&self) -> Duration {
        self.clock.now()
    }

    /// Runs `f` on the device thread between two line events and returns its result.
    /// Errors: `Board` if the device thread has died.
    fn with_device<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Device) -> R + Send + 'static,
    ) -> Result<R, TargetError> {
        let dead = || TargetError::Board("the USART1 device thread has stopped".into());
        let (reply, result) = mpsc::sync_channel(1);
        self.jobs
            .as_ref()
            .ok_or_else(dead)?
            .send(Box::new(move |d: &mut Device| {
                let _ = reply.send(f(d));
            }))
            .map_err(|_| dead())?;
        result.recv().map_err(|_| dead())
    }

    /// Lets `d` of device time pass instantly with the line idle: bytes the client has written
    /// are received first, then the device clock jumps by `d` and due timeouts fire.
    pub fn advance(&self, d: Duration) -> Result<(), TargetError> {
        self.with_device(move |dev| dev.advance(d))
    }

    /// Arms a power cut after `after_flash_ops` more flash erase / program operations.
    pub fn arm_power_cut(&self, after_flash_ops: u32) -> Result<(), TargetError> {
        self.with_device(move |dev| {
            dev.bootloader
                .flash_mut()
                .arm_power_cut(u64::from(after_flash_ops))
        })
    }

    /// Restores power and resets the device; it comes back in its bootloader.
    pub fn reboot(&self) -> Result<(), TargetError> {
        self.with_device(Device::reboot)
    }

    /// CRC-32 of the image the device would boot now ([`booted_image_crc32`]).
    pub fn booted_image_crc32(&self) -> Result<Option<u32>, TargetError> {
        self.with_device(|dev| booted_image_crc32(dev.bootloader.flash()))
    }

    /// Stops the device thread and gives the flash back. Errors: `Board` if the thread panicked.
    pub fn close(mut self) -> Result<SimFlash, TargetError> {
        self.stop()
            .ok_or_else(|| TargetError::Board("the USART1 device thread panicked".into()))
    }

    fn stop(&mut self) -> Option<SimFlash> {
        self.jobs = None;
        self.thread.take()?.join().ok()
    }
}

impl Drop for SerialLink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `cockpit_oracle::scenario::Bench` of a [`SerialLink`]: instant waits (the device clock
/// jumps), power cuts through the `SimFlash` power-loss injection, reboots, and the CRC-32 of
/// the image that boots. A bench operation on a dead device thread panics (a harness bug).
#[derive(Debug)]
pub struct SimBench<'a>(pub &'a SerialLink);

impl Bench for SimBench<'_> {
    fn wait(&mut self, d: Duration) {
        self.0.advance(d).expect("sim device thread alive");
    }

    fn now(&self) -> Duration {
        self.0.now()
    }

    fn arm_power_cut(&mut self, after_flash_ops: u32) -> bool {
        self.0.arm_power_cut(after_flash_ops).is_ok()
    }

    fn reboot(&mut self) {
        self.0.reboot().expect("sim device thread alive");
    }

    fn booted_image_crc32(&mut self) -> Option<u32> {
        self.0.booted_image_crc32().ok().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cockpit_hypervisor::Flash;

    #[test]
    fn a_failed_open_leaves_the_flash_with_the_caller() {
        let mut flash = SimFlash::new();
        flash
            .program(cockpit_hypervisor::PROGRAM_BANK_ADDR, b"CVBC")
            .unwrap();
        let Err(err) = SerialLink::open(&mut flash, 0) else {
            panic!("baud 0 is rejected");
        };
        assert!(err.to_string().contains("baud"), "{err}");
        assert_eq!(
            flash
                .read(cockpit_hypervisor::PROGRAM_BANK_ADDR, 4)
                .unwrap(),
            b"CVBC"
        );
    }
}
