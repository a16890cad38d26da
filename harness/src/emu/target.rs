//! `EmuTarget`: the `emu` board kind as the runner sees it ([`Target`]).
//!
//! The board owns the 512 KiB flash across runs (like a real device). [`Target::load`] writes
//! the guest image into bank A and activates it exactly as the `sim` board's direct load does;
//! [`Target::run`] writes the firmware (ELF `PT_LOAD` segments, or a raw image for tests) into
//! flash, powers the MCU on and runs it until the telemetry record at `0x2000_0000` says the
//! guest halted or faulted, or the budget ends.
//!
//! [`Target::bootloader_port`] powers the MCU on with a bootloader request in the run-control
//! record (`cockpit_hypervisor::runctl::BOOTLOADER`, the request a probe board writes) and
//! serves USART1 on a pseudo-terminal ([`super::serial`]): the firmware's own Oracle bootloader answers, and its
//! FLASH driver programs the board's flash through the FLASH model. [`Target::reboot`] takes the
//! flash and the RAM back; the next run is a reset (RAM kept, the no-init records with it) that
//! boots what the firmware's boot selection picks.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cockpit_hypervisor::boot::{self, BootChoice};
use cockpit_hypervisor::flash::MemFlash;
use cockpit_hypervisor::pins::{PIN_COUNT, Pin};
use cockpit_hypervisor::runctl::{self, RUNCTL_ADDR, RunControl};
use cockpit_hypervisor::telemetry::{self, RunState, TELEMETRY_ADDR};
use cockpit_hypervisor::vmsnap::{self, VM_SNAPSHOT_ADDR, VmSnapshot};
use cockpit_hypervisor::{FLASH_BASE, FLASH_SIZE, PROGRAM_BANK_ADDR};
use cockpit_vm::Fault;

use unicorn_engine::RegisterARM;

use super::mcu::{CCM_ALIAS, CCM_BASE, CCM_SIZE, Mcu, SRAM_BASE, SRAM_SIZE, Stop};
use super::periph::{CPU_HZ, Periph, ResetCause};
use super::serial::Session;
use crate::bank::install_bank_a;
use crate::corereg::CoreRegister;
use crate::elf::FirmwareImage;
use crate::records::{self, BOOT_MARGIN};
use crate::result::Metric;
use crate::rtt::{self, MemImage};
use crate::sim::gpio::InputSchedule;
use crate::stack_peak::{self, StackRegion};
use crate::target::{Budget, PinEdge, RunEnd, RunReport, Target, TargetError, TargetInfo, VmState};
use crate::transcript::{closing_line_sent, guest_console};

pub use crate::boards::{DEFAULT_FIRMWARE, FIRMWARE_ENV};

/// What the MCU boots.
#[derive(Clone, Debug)]
pub enum Firmware {
    /// An ELF file (its `PT_LOAD` segments at their physical addresses in flash).
    Elf(PathBuf),
    /// A raw image placed at `0x0800_0000` (tests: hand-assembled programs).
    Raw(Vec<u8>),
}

impl Firmware {
    /// `COCKPIT_FIRMWARE_ELF`, else [`DEFAULT_FIRMWARE`] under the repository root
    /// ([`crate::boards::default_firmware`], which real boards use too).
    pub fn from_env() -> Self {
        Firmware::Elf(crate::boards::default_firmware())
    }
}

/// Writes a firmware ELF's flash image (its `PT_LOAD` segments below program bank A, as
/// [`FirmwareImage::from_elf`] finds them for a probe) into `flash`, which starts at
/// `FLASH_BASE`; `name` names the file in errors. Returns the bytes written. Errors: not such
/// an ELF, or a segment outside `flash`.
pub fn load_elf(name: &str, elf: &[u8], flash: &mut [u8]) -> Result<usize, String> {
    let image = FirmwareImage::from_elf(name, elf)?;
    for r in &image.regions {
        let off = (r.addr - FLASH_BASE) as usize;
        flash
            .get_mut(off..off + r.data.len())
            .ok_or_else(|| format!("{name}: segment at {:#010x} does not fit the flash", r.addr))?
            .copy_from_slice(&r.data);
    }
    Ok(image.byte_count())
}

/// A reset the next run starts from (after a bootloader session) instead of a power-on.
#[derive(Debug)]
struct Resume {
    sram: Vec<u8>,
    ccm: Vec<u8>,
    cause: ResetCause,
}

/// The state kept from the last run for reads.
#[derive(Debug)]
struct Snapshot {
    sram: Vec<u8>,
    ccm: Vec<u8>,
    periph: Periph,
    /// Core registers where the run stopped, in [`CORE_REGISTERS`] order (`None` after a
    /// bootloader session, whose core is not kept).
    core: Option<[u32; 19]>,
}

/// unicorn's registers in DCRSR REGSEL order ([`CoreRegister::regsel`]): R0–R15, xPSR, MSP, PSP.
const CORE_REGISTERS: [RegisterARM; 19] = [
    RegisterARM::R0,
    RegisterARM::R1,
    RegisterARM::R2,
    RegisterARM::R3,
    RegisterARM::R4,
    RegisterARM::R5,
    RegisterARM::R6,
    RegisterARM::R7,
    RegisterARM::R8,
    RegisterARM::R9,
    RegisterARM::R10,
    RegisterARM::R11,
    RegisterARM::R12,
    RegisterARM::SP,
    RegisterARM::LR,
    RegisterARM::PC,
    RegisterARM::XPSR,
    RegisterARM::MSP,
    RegisterARM::PSP,
];

/// A virtual STM32G474 running the firmware on unicorn.
pub struct EmuTarget {
    /// 512 KiB flash (boxed: its address is handed to unicorn during a run).
    flash: Box<[u8]>,
    firmware: Firmware,
    /// The harness's input stimulus (`Target::drive_input`).
    inputs: InputSchedule,
    /// Everything the firmware sent on USART1 in the last run.
    transcript: Vec<u8>,
    /// The guest's part of it (see [`guest_console`]).
    console: Vec<u8>,
    /// The VM fault the last run ended with (telemetry, or the harness's budget stop).
    fault: Option<Fault>,
    edges: Vec<PinEdge>,
    semihosting: Vec<u8>,
    last: Option<Snapshot>,
    resets: usize,
    /// USART1 in bootloader mode, holding the flash.
    session: Option<Session>,
    /// Set by [`Target::reboot`], taken by the next run.
    resume: Option<Resume>,
    /// The firmware's stack peak in the last run, bytes ([`crate::stack_peak`]).
    stack_peak: Option<u32>,
    /// The firmware's defmt log of the last run, decoded ([`Target::log`]).
    log: Vec<String>,
}

impl std::fmt::Debug for EmuTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmuTarget")
            .field("firmware", &self.firmware)
            .finish_non_exhaustive()
    }
}

impl Default for EmuTarget {
    fn default() -> Self {
        Self::new()
    }
}

impl EmuTarget {
    /// Board id of every `emu` board (deterministic, like `sim`).
    pub const ID: &'static str = "emu";

    /// An `emu` board with erased flash that boots [`Firmware::from_env`].
    pub fn new() -> Self {
        Self::with_firmware(Firmware::from_env())
    }

    /// An `emu` board booting `firmware`.
    pub fn with_firmware(firmware: Firmware) -> Self {
        EmuTarget {
            flash: vec![0xFF; FLASH_SIZE].into_boxed_slice(),
            firmware,
            inputs: InputSchedule::default(),
            transcript: Vec::new(),
            console: Vec::new(),
            fault: None,
            edges: Vec::new(),
            semihosting: Vec::new(),
            last: None,
            resets: 0,
            session: None,
            resume: None,
            stack_peak: None,
            log: Vec::new(),
        }
    }

    /// Semihosting output of the last run.
    pub fn semihosting(&self) -> &[u8] {
        &self.semihosting
    }

    /// Resets (software or watchdog) during the last run.
    pub fn resets(&self) -> usize {
        self.resets
    }

    /// Peripheral state after the last run.
    pub fn periph(&self) -> Option<&Periph> {
        self.last.as_ref().map(|s| &s.periph)
    }

    /// `Board` error for operations that need the flash while the bootloader session holds it.
    fn require_running(&self) -> Result<(), TargetError> {
        crate::target::require_no_bootloader(self.session.as_ref().map(|x| x.path()))
    }

    /// Writes the firmware into flash; returns the ELF's bytes (`None` for a raw image).
    fn place_firmware(&mut self) -> Result<Option<Vec<u8>>, TargetError> {
        let hv = (PROGRAM_BANK_ADDR - FLASH_BASE) as usize;
        match &self.firmware {
            Firmware::Elf(p) => {
                let hint = |e: String| {
                    TargetError::Board(format!(
                        "{e} (build it with firmware/setup-toolchain.sh and the firmware's build \
                         script, or set {FIRMWARE_ENV})"
                    ))
                };
                let elf = std::fs::read(p)
                    .map_err(|e| hint(format!("firmware ELF {}: {e}", p.display())))?;
                load_elf(&p.display().to_string(), &elf, &mut self.flash[..hv]).map_err(hint)?;
                Ok(Some(elf))
            }
            Firmware::Raw(img) => {
                let n = img.len().min(hv);
                self.flash[..n].copy_from_slice(&img[..n]);
                Ok(None)
            }
        }
    }

    fn telemetry(sram: &[u8]) -> Option<telemetry::TelemetryRecord> {
        let off = (TELEMETRY_ADDR - SRAM_BASE) as usize;
        telemetry::verify(sram.get(off..off + telemetry::SIZE)?).ok()
    }

    /// The run-control record in an SRAM image, if valid.
    fn run_control(sram: &[u8]) -> Option<RunControl> {
        let off = (RUNCTL_ADDR - SRAM_BASE) as usize;
        RunControl::decode_bytes(sram.get(off..off + runctl::SIZE)?).ok()
    }

    /// The VM snapshot record in an SRAM image, if valid.
    fn vm_snapshot(sram: &[u8]) -> Option<VmSnapshot> {
        let off = (VM_SNAPSHOT_ADDR - SRAM_BASE) as usize;
        VmSnapshot::decode_bytes(sram.get(off..off + vmsnap::SIZE)?).ok()
    }
}

/// Core cycles in `d` of board time (saturating).
fn cycles_of(d: Duration) -> u64 {
    u64::try_from(d.as_nanos() * u128::from(CPU_HZ) / 1_000_000_000).unwrap_or(u64::MAX)
}

/// Nanoseconds of board time in `cycles` core cycles.
fn ns_of(cycles: u64) -> u64 {
    (u128::from(cycles) * 1_000_000_000 / u128::from(CPU_HZ)) as u64
}

/// How long the run continues after the guest stopped so that the firmware's closing console
/// line (≤ 100 bytes at 115200 Bd ≈ 8.7 ms) is complete: 20 ms of board time.
const CLOSING_LINE_CYCLES: u64 = CPU_HZ / 50;

/// Reads the telemetry record from the running MCU.
fn live_telemetry(mcu: &Mcu) -> Option<telemetry::TelemetryRecord> {
    let mut b = [0u8; telemetry::SIZE];
    mcu.mem_read(TELEMETRY_ADDR, &mut b).ok()?;
    telemetry::verify(&b).ok()
}

/// Reads the run-control record from the running MCU.
fn live_run_control(mcu: &Mcu) -> Option<RunControl> {
    let mut b = [0u8; runctl::SIZE];
    mcu.mem_read(RUNCTL_ADDR, &mut b).ok()?;
    RunControl::decode_bytes(&b).ok()
}

impl Target for EmuTarget {
    fn info(&self) -> TargetInfo {
        TargetInfo::new("emu", Self::ID)
    }

    /// Schedules the pin's GPIO input level for every following run: `at` counts from the
    /// guest's start as the firmware reports it in the run-control record (`START_CYCLES`), the
    /// origin of pin edges; levels at zero hold from power-on, so the firmware's boot reads them
    /// too (see [`Periph::set_inputs`]). Errors: `Board` for a pin outside the logical pin map.
    fn drive_input(&mut self, pin: u8, high: bool, at: Duration) -> Result<(), TargetError> {
        let pin = Pin::new(i32::from(pin)).map_err(|_| {
            TargetError::Board(format!("logical pin {pin} does not exist (0..{PIN_COUNT})"))
        })?;
        let at_ns = u64::try_from(at.as_nanos()).unwrap_or(u64::MAX);
        self.inputs.set(pin, high, at_ns);
        Ok(())
    }

    /// As the `sim` board: erases bank A, writes the image there, validates it with the
    /// hypervisor's loader and activates bank A with `boot::write_active`.
    fn load(&mut self, image: &[u8]) -> Result<(), TargetError> {
        self.require_running()?;
        self.resume = None;
        install_bank_a(&mut self.flash, image)
    }

    /// Powers the MCU on (RAM cleared, firmware placed in flash, inputs driven) — or, after a
    /// bootloader session, resets it (RAM as the session left it, RCC_CSR flag of the reset that
    /// ended the session: the firmware's own, else NRST) —, writes the budget into the
    /// run-control record (`cockpit_hypervisor::runctl`, firmware ELF only) and runs until the
    /// telemetry STATE is halted/faulted — the firmware itself ends the guest with
    /// `BUDGET_EXCEEDED` exactly at the instruction or board-time budget — and its closing
    /// console line is sent, the wall-clock timeout expires, or the firmware stops (semihosting
    /// exit, idle polling of an empty USART1 receiver, lockup). A safety net stops the MCU
    /// [`BOOT_MARGIN`] of board time after `virtual_time` (→ `BUDGET_EXCEEDED`, without a VM
    /// end state). Board time (`virtual_time`, pin edges) counts from the guest's start as the
    /// firmware reports it in the run-control record (from power-on when no guest started).
    /// Errors: `NotLoaded` when no bank holds a valid image (for a firmware ELF), `Board` if
    /// the ELF is missing or the emulator fails, or in bootloader mode.
    fn run(&mut self, budget: &Budget) -> Result<RunReport, TargetError> {
        self.require_running()?;
        let is_elf = matches!(self.firmware, Firmware::Elf(_));
        if is_elf {
            let f = MemFlash {
                base: FLASH_BASE,
                bytes: &mut self.flash,
            };
            if matches!(boot::select(&f), BootChoice::Bootloader) {
                return Err(TargetError::NotLoaded);
            }
        }
        let elf = self.place_firmware()?;
        let stack = elf
            .as_deref()
            .map(StackRegion::from_elf)
            .transpose()
            .map_err(TargetError::Board)?;
        let wall_start = Instant::now();
        // SAFETY: `self.flash` is a boxed 512 KiB slice that outlives `mcu` (dropped at the end
        // of this function) and is not touched while `mcu` runs.
        let mut mcu = unsafe { Mcu::new(self.flash.as_mut_ptr()) }.map_err(TargetError::Board)?;
        mcu.periph_mut().set_inputs(self.inputs.clone());
        if let Some(r) = self.resume.take() {
            mcu.mem_write(SRAM_BASE, &r.sram)
                .map_err(TargetError::Board)?;
            mcu.mem_write(CCM_BASE, &r.ccm)
                .map_err(TargetError::Board)?;
            mcu.periph_mut().system_reset(r.cause);
        }
        if let Some(region) = &stack {
            region
                .paint(|addr, bytes| mcu.mem_write(addr, bytes))
                .map_err(TargetError::Board)?;
        }
        if is_elf {
            let time_limit_us = u64::try_from(budget.virtual_time.as_micros()).unwrap_or(u64::MAX);
            let request = RunControl::request(budget.max_instructions, Some(time_limit_us));
            mcu.mem_write(RUNCTL_ADDR, &request.encode_bytes())
                .map_err(TargetError::Board)?;
        }
        mcu.periph_mut().idle_polls = 1_000_000;
        mcu.reset_core().map_err(TargetError::Board)?;
        let max_cycles = cycles_of(budget.virtual_time.saturating_add(BOOT_MARGIN));
        let wall = budget.wall_timeout;
        let mut timed_out = false;
        let mut guest_ended: Option<u64> = None;
        // The CYCCNT origin of the boot that started the guest (the run-control record's times
        // count from it; a later reset moves the origin).
        let mut guest_origin: Option<u64> = None;
        let stop = mcu.run(max_cycles, |m| {
            if is_elf && guest_origin.is_none() && live_run_control(m).is_some_and(|r| r.is_taken())
            {
                guest_origin = Some(m.periph().cyccnt_origin());
            }
            // The guest run of this power-on ended: the firmware says so in the run-control
            // record (a telemetry record left in RAM by an earlier run does not count); a raw
            // test program's own telemetry.
            let ended = if is_elf {
                live_run_control(m).is_some_and(|r| r.run_cycles().is_some())
            } else {
                live_telemetry(m).is_some_and(|t| {
                    matches!(t.run_state(), Some(RunState::Halted | RunState::Faulted))
                })
            };
            if ended {
                // Let the firmware finish its closing console line (it is transmitted at the
                // line rate), within a bound.
                let now = m.periph().cycles;
                let ended = *guest_ended.get_or_insert(now);
                return closing_line_sent(&m.periph().console().tx)
                    || now >= ended + CLOSING_LINE_CYCLES;
            }
            if wall_start.elapsed() >= wall {
                timed_out = true;
                return true;
            }
            false
        });
        let wall_time = wall_start.elapsed();
        let mut sram = vec![0u8; SRAM_SIZE];
        let mut ccm = vec![0u8; CCM_SIZE];
        mcu.mem_read(SRAM_BASE, &mut sram)
            .map_err(TargetError::Board)?;
        mcu.mem_read(CCM_BASE, &mut ccm)
            .map_err(TargetError::Board)?;
        self.resets = mcu.core().resets.len();
        let cycles = mcu.periph().cycles;
        let mut periph =
            std::mem::replace(mcu.periph_mut(), Periph::new(std::ptr::null_mut::<u8>()));
        let core = CORE_REGISTERS.map(|r| mcu.reg(r));
        drop(mcu);
        let tel = Self::telemetry(&sram);
        let ram = MemImage::new(&[(SRAM_BASE, &sram[..]), (CCM_BASE, &ccm[..])]);
        self.stack_peak = stack.and_then(|r| r.peak(&ram));
        self.log = elf.as_deref().map_or_else(Vec::new, |elf| {
            rtt::decode_rtt(elf, |a, n| ram.read(a, n))
                .unwrap_or_else(|e| vec![format!("(no defmt log: {e})")])
        });
        // The guest's run on the board clock: (start, end) cycles.
        let (start, end_cycle) = match Self::run_control(&sram).filter(|r| r.is_taken()) {
            Some(r) => {
                let origin = guest_origin.unwrap_or(periph.cyccnt_origin());
                let start = origin + r.start_cycles;
                let end = r.run_cycles().map_or(cycles, |n| start + n);
                (start.min(cycles), end.min(cycles))
            }
            None => (0, cycles),
        };
        // Registers read after the run (GPIOx.IDR) show the inputs as the run left them.
        periph.set_guest_start(start);
        periph.sync_inputs();
        self.transcript = periph.console().tx.clone();
        // A raw (test) program's USART1 output is all its own.
        self.console = if is_elf {
            guest_console(&self.transcript).to_vec()
        } else {
            self.transcript.clone()
        };
        let start_ns = ns_of(start);
        self.edges = periph
            .edges
            .iter()
            .filter(|e| e.at_ns >= start_ns)
            .map(|e| PinEdge {
                at_ns: e.at_ns - start_ns,
                ..*e
            })
            .collect();
        self.semihosting = periph.semihosting.clone();
        let budget_fault = |t| RunEnd::Fault(records::budget_fault(t));
        let end = match (tel.as_ref().and_then(|t| t.run_state()), stop) {
            (Some(RunState::Halted), _) => RunEnd::Halted,
            (Some(RunState::Faulted), _) => RunEnd::Fault(records::telemetry_fault(
                tel.as_ref().expect("telemetry present"),
            )),
            _ if timed_out => RunEnd::WallTimeout,
            // The firmware reset (watchdog, fault handler) while the guest ran.
            (Some(RunState::Running), _) if self.resets > 0 => RunEnd::Reset,
            // The firmware stopped without finishing a guest run (exit, idle, lockup).
            (_, Stop::Exit(_)) if !is_elf => RunEnd::Halted,
            // The safety net, idle polling or a lockup ended a run the firmware did not end.
            _ => budget_fault(tel.as_ref()),
        };
        self.fault = match &end {
            RunEnd::Fault(f) => Some(*f),
            _ => None,
        };
        self.last = Some(Snapshot {
            sram,
            ccm,
            periph,
            core: Some(core),
        });
        Ok(RunReport {
            end,
            instructions: tel.as_ref().map_or(0, |t| t.instructions()),
            cycles: tel.as_ref().map_or(0, |t| t.cycles()),
            virtual_time: Duration::from_nanos(ns_of(end_cycle - start)),
            wall_time,
        })
    }

    /// [`crate::target::STACK_PEAK_METRIC`]: the firmware's stack peak (painted at power-on,
    /// scanned after the run).
    fn board_metrics(&self) -> Vec<Metric> {
        stack_peak::metrics(self.stack_peak)
    }

    /// Decoded from the RTT up-channel 0 in the RAM the run left (`_SEGGER_RTT` from the ELF;
    /// the 1 KiB buffer holds the log's first KiB: nobody reads it during the run); a
    /// `(no defmt log: …)` line when it cannot be decoded; empty for a raw image.
    fn log(&self) -> &[String] {
        &self.log
    }

    fn console(&self) -> &[u8] {
        &self.console
    }

    /// Everything the firmware sent on USART1 in the last run or bootloader session (boot
    /// banner, `guest:` status lines, fault reports and the guest's output); [`Target::console`]
    /// is the guest's part (for a [`Firmware::Raw`] program: all of it).
    fn transcript(&self) -> &[u8] {
        &self.transcript
    }

    fn pin_edges(&self) -> &[PinEdge] {
        &self.edges
    }

    /// Flash (any time), RAM and peripheral registers (as left by the last run or session; of
    /// the running MCU during a bootloader session).
    fn read_u32(&mut self, addr: u32) -> Result<u32, TargetError> {
        if !addr.is_multiple_of(4) {
            return Err(TargetError::Unaligned { addr });
        }
        if let Some(s) = &self.session {
            return s.read_u32(addr);
        }
        let word = |b: &[u8], off: usize| {
            b.get(off..off + 4)
                .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        };
        let flash_off = addr.checked_sub(FLASH_BASE).map(|o| o as usize);
        if let Some(v) = flash_off.and_then(|o| word(&self.flash, o)) {
            return Ok(v);
        }
        let Some(s) = &self.last else {
            return Err(TargetError::Unmapped { addr });
        };
        let in_range = |base: u32, size: usize| {
            addr.checked_sub(base)
                .map(|o| o as usize)
                .filter(|&o| o < size)
        };
        if let Some(o) = in_range(SRAM_BASE, SRAM_SIZE) {
            return word(&s.sram, o).ok_or(TargetError::Unmapped { addr });
        }
        if let Some(o) = in_range(CCM_BASE, CCM_SIZE).or(in_range(CCM_ALIAS, CCM_SIZE)) {
            return word(&s.ccm, o).ok_or(TargetError::Unmapped { addr });
        }
        let periph = (0x4000_0000..0x4003_0000).contains(&addr)
            || (0x4800_0000..0x4800_2000).contains(&addr)
            || addr >= 0xE000_0000;
        if periph {
            return Ok(s.periph.peek(addr));
        }
        Err(TargetError::Unmapped { addr })
    }

    /// The register where the last run stopped. Errors: `Board` before any run, or after a
    /// bootloader session (its core is not kept).
    fn read_core_register(&mut self, reg: CoreRegister) -> Result<u32, TargetError> {
        self.last
            .as_ref()
            .and_then(|s| s.core)
            .map(|c| c[usize::from(reg.regsel())])
            .ok_or_else(|| TargetError::Board(format!("no run has left core register {reg}")))
    }

    /// The fault from the telemetry record (ERROR, ERROR_PC, OPCODE; `BUDGET_EXCEEDED` when the
    /// firmware ended the guest at the budget), else the run's own end (`BUDGET_EXCEEDED` when
    /// the safety net stopped the MCU). The operand stack and the globals come from the
    /// firmware's VM snapshot record at `VM_SNAPSHOT_ADDR` (written when the guest starts and
    /// stops); empty when there is no valid record or the guest did not stop (then the record
    /// shows the start state and is ignored). A stack deeper than `vmsnap::STACK_WORDS` is
    /// reported as its top `STACK_WORDS` entries.
    fn vm_state(&mut self) -> Result<VmState, TargetError> {
        let tel = self.last.as_ref().and_then(|s| Self::telemetry(&s.sram));
        let snap = self.last.as_ref().and_then(|s| Self::vm_snapshot(&s.sram));
        Ok(records::vm_state(tel.as_ref(), snap.as_ref(), self.fault))
    }

    /// Ends a running session (a reset into the bootloader), places the firmware and powers
    /// the MCU on with a run-control bootloader request (as a probe board writes it; the
    /// firmware consumes it and enters its bootloader), serving USART1 on a new pty
    /// ([`super::serial::Session`]); returns its `/dev/pts/N`. Errors: `Board` if the ELF is
    /// missing or the pty or its thread cannot be made.
    fn bootloader_port(&mut self) -> Result<String, TargetError> {
        self.reboot()?;
        self.place_firmware()?;
        self.resume = None;
        let session = Session::open(&mut self.flash, &self.inputs)?;
        let path = session.path().to_string();
        self.session = Some(session);
        Ok(path)
    }

    /// Ends the bootloader session and takes the flash, the RAM and the USART1 transcript
    /// back; the next run resets the MCU from there. If the firmware left its bootloader by
    /// resetting itself (a fault handler, the watchdog), that reset is the one the next run
    /// performs (no second reset). Errors: `Board` if the emulator failed or its thread
    /// panicked (the flash is lost then).
    fn reboot(&mut self) -> Result<(), TargetError> {
        let Some(session) = self.session.take() else {
            return Ok(());
        };
        let end = session.close()?;
        self.flash = end.flash;
        self.transcript = end.periph.console().tx.clone();
        self.console = guest_console(&self.transcript).to_vec();
        self.edges = end.periph.edges.clone();
        self.resume = Some(Resume {
            sram: end.sram.clone(),
            ccm: end.ccm.clone(),
            cause: end.reset.unwrap_or(ResetCause::Pin),
        });
        self.last = Some(Snapshot {
            sram: end.sram,
            ccm: end.ccm,
            periph: end.periph,
            core: None,
        });
        Ok(())
    }
}
