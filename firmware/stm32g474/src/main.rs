//! Cockpit hypervisor firmware for the STM32G474RE. See `README.md` for the memory map, the
//! boot flow and the fail-safe states.
//!
//! Boot: clocks (170 MHz) → time base → USART1 → watchdog → fail-safe state from the reset
//! cause and the no-init records → MPU → banner → SafeStop / user key or a harness's bootloader
//! request (run-control record) / `boot::select` →
//! guest run (`cockpit_hypervisor::run`) or the Oracle bootloader on the console UART
//! (`profile::CONSOLE`).
#![no_std]
#![no_main]

mod board;
mod clocks;
mod failsafe;
mod flash;
mod mpu;
mod profile;
mod records;
mod time;
mod uart;
mod watchdog;

// defmt timestamps: milliseconds since reset (DWT CYCCNT based).
defmt::timestamp!("{=u64:ms}", time::now_ms());

use core::fmt::Write as _;

use core::mem::MaybeUninit;
use core::sync::atomic::Ordering;
use defmt_rtt as _; // the `_SEGGER_RTT` control block; defmt frames on up-channel 0

use cockpit_hypervisor::fault::{FaultKind, FaultRecord};
use cockpit_hypervisor::{Bootloader, Limits, Outcome, boot, load_boot, pins};
use cockpit_vm::Vm;
use cortex_m_rt::{ExceptionFrame, entry, exception};
use stm32g4::stm32g474 as pac;

use crate::board::G4Board;
use crate::failsafe::State;
use crate::flash::G4Flash;
use crate::uart::Console;

/// Firmware version printed in the banner.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// RCC_CSR (reset flags), RM0440 §7.4.29.
const RCC_CSR: *mut u32 = 0x4002_1094 as *mut u32;
const CSR_RMVF: u32 = 1 << 23;
/// 96-bit unique device ID (RM0440 §48.1).
const UID_ADDR: u32 = 0x1FFF_7590;
/// A guest that makes no HAL call for this long is considered hung: the run loop stops feeding
/// the watchdog, which resets the chip ~[`watchdog::TIMEOUT_MS`] later into SafeStop.
pub const GUEST_HANG_MS: u32 = 1500;

/// The guest VM's state, in CCM SRAM (MPU region 1).
#[unsafe(link_section = ".ccmram")]
static mut VM: MaybeUninit<Vm> = MaybeUninit::uninit();

/// The Oracle bootloader engine (≈ 4.5 KiB), in `.uninit` so the RAM footprint shows it.
#[unsafe(link_section = ".uninit.cockpit_bootloader")]
static mut BOOTLOADER: MaybeUninit<Bootloader<G4Flash>> = MaybeUninit::uninit();

#[entry]
fn main() -> ! {
    // SAFETY: taken once, at reset.
    let dp = unsafe { pac::Peripherals::steal() };
    let mut cp = unsafe { cortex_m::Peripherals::steal() };

    // Reset cause, then clear the flags for the next boot.
    // SAFETY: RCC_CSR is always mapped; RMVF only clears the reset flags.
    let csr = unsafe { core::ptr::read_volatile(RCC_CSR) };
    unsafe { core::ptr::write_volatile(RCC_CSR, csr | CSR_RMVF) };

    let source = clocks::init(&dp.RCC, &dp.PWR, &dp.FLASH);
    time::init(&mut cp.DCB, &mut cp.DWT, &mut cp.SYST);
    uart::init(&dp.RCC, &dp.GPIOA);
    watchdog::start();
    defmt::info!(
        "boot: cockpit-fw {=str} stm32g474 board {=str}, RCC_CSR {=u32:#010x}",
        VERSION,
        profile::NAME,
        csr
    );
    match source {
        clocks::ClockSource::Hse => {
            defmt::info!("clock: HSE {=u32} Hz -> PLL 170 MHz", profile::HSE_HZ)
        }
        clocks::ClockSource::Hsi16 => defmt::warn!("clock: HSE failed, HSI16 -> PLL 170 MHz"),
    }

    // Fail-safe state (pure transition logic: cockpit_hypervisor::failsafe).
    let fault = records::fault();
    let new_fault = fault.is_some_and(|r| !r.acked);
    let key = user_key_held();
    let requested = records::take_bootloader_request();
    let prev = failsafe::load();
    let rec = failsafe::decide_boot(
        prev.as_ref(),
        &failsafe::BootInputs {
            csr,
            new_fault,
            clock_fallback: source == clocks::ClockSource::Hsi16,
            user_key: key,
        },
    );
    failsafe::store(&rec);
    defmt::info!(
        "failsafe: {=str} -> {=str} ({=str}), faults in a row {=u32}, boot #{=u32}",
        prev.map_or("none", |p| p.state.name()),
        rec.state.name(),
        rec.reason.name(),
        rec.consecutive_faults,
        rec.boots
    );
    let (state, reason) = (rec.state, rec.reason);

    mpu::init(&mut cp.MPU);

    let mut con = Console;
    let _ = write!(
        con,
        "\r\ncockpit-fw {VERSION} stm32g474 170MHz clk={} reset={:#010x} state={} reason={}\r\n",
        if source == clocks::ClockSource::Hse {
            "hse"
        } else {
            "hsi16"
        },
        csr,
        state.name(),
        reason.name()
    );
    if let Some(r) = fault.filter(|_| new_fault) {
        report_fault(&r);
        records::ack_fault();
    }

    let flash = G4Flash::new();
    if state == State::SafeStop {
        release_outputs();
        defmt::warn!("safestop: guest disabled, outputs released");
        let _ = write!(
            con,
            "SAFESTOP: guest disabled, outputs released; bootloader on {}\r\n",
            profile::CONSOLE.name
        );
        bootloader(flash);
    }
    if key || requested {
        let why = if key {
            "user key held"
        } else {
            "bootloader requested (run-control)"
        };
        defmt::info!("{=str}: bootloader", why);
        let _ = write!(con, "{why}: bootloader on {}\r\n", profile::CONSOLE.name);
        bootloader(flash);
    }
    match boot::select(&flash) {
        boot::BootChoice::Bank {
            bank,
            addr,
            len,
            fallback,
        } => {
            let _ = write!(
                con,
                "boot: bank {:?} @ {addr:#010x}, {len} bytes{}\r\n",
                bank,
                if fallback { " (fallback)" } else { "" }
            );
            defmt::info!(
                "boot: bank {=str} @ {=u32:#010x}, {=u32} bytes, fallback {=bool}",
                if bank == boot::Bank::A { "A" } else { "B" },
                addr,
                len as u32,
                fallback
            );
            run_guest(&flash);
        }
        boot::BootChoice::Bootloader => {
            defmt::info!("boot: no valid image");
            let _ = write!(
                con,
                "boot: no valid image; bootloader on {}\r\n",
                profile::CONSOLE.name
            );
        }
    }
    bootloader(flash)
}

/// Samples PC13 (user key) a few times after configuring its pull.
fn user_key_held() -> bool {
    let mode = if profile::USER_KEY_ACTIVE_HIGH {
        cockpit_hypervisor::PinMode::InputPulldown
    } else {
        cockpit_hypervisor::PinMode::InputPullup
    };
    board::configure(pins::USER_KEY, mode);
    cortex_m::asm::delay(17_000); // 100 µs for the pull to settle
    (0..8).all(|_| board::read_pin(pins::USER_KEY) == profile::USER_KEY_ACTIVE_HIGH)
}

/// SafeStop: every logical pin becomes a floating input (no output driven).
fn release_outputs() {
    for n in 0..pins::PIN_COUNT as i32 {
        if let Ok(p) = cockpit_hypervisor::Pin::new(n) {
            board::configure(p, cockpit_hypervisor::PinMode::Input);
        }
    }
}

/// Runs the active bank's guest until it halts or faults. VM errors become telemetry (by the
/// run loop), a console line and the Degraded state; they never reset the chip.
fn run_guest(flash: &G4Flash) {
    let mut con = Console;
    // SAFETY: the only reference to VM, created once here.
    let vm: &mut Vm = unsafe { (*core::ptr::addr_of_mut!(VM)).write(Vm::new()) };
    vm.reset();
    let program = match load_boot(flash) {
        Ok((_, p)) => p,
        Err(e) => {
            defmt::error!("guest: load failed");
            let _ = write!(con, "load: {e}\r\n");
            return;
        }
    };
    let mut board = G4Board::new();
    board::LAST_HAL_MS.store(time::now_ms() as u32, Ordering::Relaxed);
    // A harness's budget (run-control record), else unlimited as on a board without a harness.
    let request = records::run_control_request();
    let limits = request.map_or(Limits::new(u64::MAX, None), |r| r.limits());
    let mut keep_going = || {
        mpu::firmware(|| {
            let now = time::now_ms() as u32;
            let last = board::LAST_HAL_MS.load(Ordering::Relaxed);
            if now.wrapping_sub(last) < GUEST_HANG_MS {
                watchdog::feed();
            }
        });
        true
    };
    if let Some(r) = request {
        defmt::info!(
            "runctl: budget {=u64} instructions, {=u64} us",
            r.max_instructions,
            r.time_limit_us.unwrap_or(0)
        );
    }
    defmt::info!("guest: start");
    let _ = write!(con, "guest: running\r\n");
    // The guest starts on an idle line (its first output is not queued behind ours), and its
    // board time starts now: the run-control record is consumed with this start time.
    uart::flush();
    let runctl = request.map(|r| records::start_run_control(r, time::cycles()));
    // The guest step runs in the MPU's guest configuration (mpu.rs): only flash, CCM and the
    // stack are accessible; the board callbacks and `keep_going` switch back.
    let outcome =
        mpu::guest(|| cockpit_hypervisor::run(vm, &program, &mut board, &limits, &mut keep_going));
    if let Some(r) = runctl {
        records::end_run_control(r, time::cycles());
    }
    match outcome {
        Outcome::Halted => {
            defmt::info!("guest: halted after {=u64} instructions", vm.instructions());
            let _ = write!(
                con,
                "\r\nguest: halted after {} instructions\r\n",
                vm.instructions()
            );
        }
        Outcome::Faulted(f) => {
            defmt::error!(
                "guest: VM error {=str} ({=u8}) at pc {=u32} opcode {=u8:#04x}",
                f.error.name(),
                f.error.code(),
                f.pc,
                f.opcode
            );
            let _ = write!(
                con,
                "\r\nguest: VM error {} ({}) at pc {} opcode {:#04x}; state DEGRADED\r\n",
                f.error.name(),
                f.error.code(),
                f.pc,
                f.opcode
            );
            failsafe::apply(failsafe::Event::VmError(f.error.code()));
        }
        Outcome::Stopped => defmt::info!("guest: stopped"),
    }
}

/// The Oracle bootloader on the console UART, forever. Feeds the watchdog; a completed upload (new image
/// activated) returns the fail-safe state to Normal, and the new image boots at the next reset.
fn bootloader(flash: G4Flash) -> ! {
    let mut uid = [0u8; 12];
    for (i, b) in uid.iter_mut().enumerate() {
        // SAFETY: the UID is 12 readable bytes in system memory.
        *b = unsafe { core::ptr::read_volatile((UID_ADDR + i as u32) as *const u8) };
    }
    // SAFETY: the only reference to BOOTLOADER, created once (this function never returns).
    let bl: &mut Bootloader<G4Flash> = unsafe {
        (*core::ptr::addr_of_mut!(BOOTLOADER)).write(Bootloader::new(flash, uid, time::now_ms()))
    };
    defmt::info!("bootloader: Oracle on {=str}", profile::CONSOLE.name);
    let mut tx = |frame: &[u8]| uart::write(frame);
    let mut activations = 0;
    let mut cmd = TestCommands::new();
    loop {
        watchdog::feed();
        let now = time::now_ms();
        match uart::read_byte() {
            Some(b) => {
                cmd.feed(b);
                bl.feed(b, now, &mut tx);
            }
            None => bl.poll(now, &mut tx),
        }
        if bl.activations() != activations {
            activations = bl.activations();
            failsafe::apply(failsafe::Event::NewImage);
            defmt::info!(
                "bootloader: new image activated (#{=u32}), boots at the next reset",
                activations as u32
            );
        }
    }
}

/// Test-only console commands (feature `test-commands`), matched in the USART1 byte stream
/// outside the Oracle protocol: `!CKPT:HARDFAULT\n` executes `udf` (→ HardFault → fault record
/// → reset → Degraded), `!CKPT:HANG\n` spins without feeding the watchdog (→ IWDG reset →
/// SafeStop), `!CKPT:STATE\n` prints the fail-safe state, `!CKPT:MPU\n` writes to the
/// fail-safe record from inside the MPU's guest configuration, as an interpreter bug would (→
/// MPU violation → HardFault with CFSR.DACCVIOL and MMFAR = 0x2000_0080 → fault record kind
/// MEMMANAGE → reset → Degraded; the record keeps its contents).
struct TestCommands {
    buf: [u8; 24],
    len: usize,
}

impl TestCommands {
    const fn new() -> Self {
        TestCommands {
            buf: [0; 24],
            len: 0,
        }
    }

    fn feed(&mut self, b: u8) {
        if !cfg!(feature = "test-commands") {
            return;
        }
        if b == b'!' {
            self.len = 0;
        }
        if b == b'\n' || b == b'\r' {
            let line = &self.buf[..self.len];
            match line {
                b"!CKPT:HARDFAULT" => cortex_m::asm::udf(),
                b"!CKPT:MPU" => mpu::guest(|| {
                    // SAFETY: none — this is the forbidden write the MPU must stop.
                    unsafe {
                        core::ptr::write_volatile(
                            cockpit_hypervisor::failsafe::BOOT_ADDR as *mut u32,
                            0,
                        )
                    }
                }),
                b"!CKPT:HANG" => loop {
                    core::hint::spin_loop();
                },
                b"!CKPT:STATE" => {
                    let (s, r) = failsafe::current();
                    let _ = write!(Console, "state={} reason={}\r\n", s.name(), r.name());
                }
                _ => {}
            }
            self.len = 0;
            return;
        }
        if self.len < self.buf.len() {
            self.buf[self.len] = b;
            self.len += 1;
        }
    }
}

fn report_fault(r: &FaultRecord) {
    defmt::warn!(
        "fault record #{=u32}: kind {=u32} pc {=u32:#010x} lr {=u32:#010x} cfsr {=u32:#010x} hfsr {=u32:#010x}",
        r.count,
        r.kind.code(),
        r.pc(),
        r.lr(),
        r.cfsr,
        r.hfsr
    );
    let _ = write!(Console, "FAULT {r}\r\n");
}

/// HardFault, also for MPU violations: MemManage stays disabled (SHCSR.MEMFAULTENA = 0), so
/// they escalate here, where the MPU does not apply (MPU_CTRL.HFNMIENA = 0) and the record can
/// be written whatever the MPU configuration was. CFSR.MMFSR ≠ 0 → kind MEMMANAGE.
#[exception]
unsafe fn HardFault(ef: &ExceptionFrame) -> ! {
    let kind = FaultKind::of_hardfault(records::cfsr());
    records::record_fault(
        kind,
        [
            ef.r0(),
            ef.r1(),
            ef.r2(),
            ef.r3(),
            ef.r12(),
            ef.lr(),
            ef.pc(),
            ef.xpsr(),
        ],
    );
    defmt::error!(
        "HardFault ({=str}) at pc {=u32:#010x}; fault record stored, resetting",
        kind.name(),
        ef.pc()
    );
    uart::write(b"\r\nHARDFAULT: fault record at 0x20000040; resetting\r\n");
    cortex_m::peripheral::SCB::sys_reset()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let line = info.location().map_or(0, |l| l.line());
    records::record_fault(FaultKind::Panic, [line, 0, 0, 0, 0, 0, 0, 0]);
    defmt::error!("panic at line {=u32}; fault record stored, resetting", line);
    uart::write(b"\r\nPANIC: fault record at 0x20000040; resetting\r\n");
    cortex_m::peripheral::SCB::sys_reset()
}
