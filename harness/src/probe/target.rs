//! [`ProbeTarget`]: a real STM32G474 board running the Cockpit firmware, driven through a
//! [`DebugLink`] (probe-rs in production, [`super::fake::ScriptedLink`] in tests), as a
//! [`Target`].
//!
//! Life cycle: [`ProbeTarget::open`] selects the probe, attaches, and flashes the firmware ELF
//! unless the board already holds it ([`super::image`]). [`Target::load`] writes the program
//! into bank A with the probe. [`Target::run`] resets the chip, hands the budget to the
//! firmware (run-control record), lets it boot the active bank and polls until it reports the
//! guest's end, then halts the core so that memory, peripheral and core registers can be read
//! as the run left them. [`Target::bootloader_port`] resets the chip with a bootloader request
//! in the run-control record, so the firmware enters its Oracle bootloader on USART1 (the
//! board's serial port); [`Target::reboot`] resets it into the active bank.

use std::time::{Duration, Instant};

use cockpit_hypervisor::boot::{self, Bank, BootChoice, META_PAGES};
use cockpit_hypervisor::fault::{self, FAULT_ADDR, FaultRecord};
use cockpit_hypervisor::flash::{MemFlash, PAGE_SIZE};
use cockpit_hypervisor::runctl::{self, RUNCTL_ADDR, RunControl};
use cockpit_hypervisor::telemetry::{self, TELEMETRY_ADDR, TelemetryRecord};
use cockpit_hypervisor::vmsnap::{self, VM_SNAPSHOT_ADDR, VmSnapshot};
use cockpit_hypervisor::{CPU_HZ, FLASH_BASE, FLASH_SIZE, PROGRAM_BANK_ADDR};
use cockpit_vm::Fault;
use cockpit_vm::program::CVBC_HEADER_SIZE;
use defmt_decoder::Table;

use super::config::ProbeConfig;
use super::image;
use super::link::{DebugLink, FlashProgress, FlashRegion, LinkError};
use super::probe_rs_link::ProbeRsLink;
use super::select::{list_probes, select};
use super::serial::{Capture, SerialOpener, open_port};
use super::timed::TimedLink;
use crate::bank::install_bank_a;
use crate::corereg::CoreRegister;
use crate::elf::FirmwareImage;
use crate::records;
use crate::result::Metric;
use crate::rtt::{self, MemImage, RttError};
use crate::stack_peak::{self, StackRegion};
use crate::target::{Budget, PinEdge, RunEnd, RunReport, Target, TargetError, TargetInfo, VmState};
use crate::transcript::{closing_line_sent, guest_console};

/// The backend as recorded with each result (`TargetInfo::backend`): the probe-rs release this
/// crate is built against (`harness/Cargo.toml`).
pub const BACKEND: &str = "probe-rs 0.32";

/// What [`sync_flash`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlashOutcome {
    /// The board already held these bytes: nothing written.
    Skipped,
    /// Erased, programmed and read back equal.
    Written,
}

/// Makes the board's flash hold `regions`: compares the image's digest with the board's
/// (read back, [`super::image`]) and writes only when they differ, then reads back again.
/// Errors (all `Board`): a read or write failure or timeout; a read-back that still differs
/// after writing.
pub fn sync_flash(
    link: &mut dyn DebugLink,
    regions: &[FlashRegion],
    progress: &mut dyn FnMut(FlashProgress),
) -> Result<FlashOutcome, TargetError> {
    let want = image::digest(regions);
    if image::board_digest(link, regions)? == want {
        return Ok(FlashOutcome::Skipped);
    }
    link.write_flash(regions, progress)?;
    if image::board_digest(link, regions)? != want {
        return Err(TargetError::Board(format!(
            "flash verify failed: the {} region(s) from {:#010x} read back different after \
             programming",
            regions.len(),
            regions.first().map_or(0, |r| r.addr)
        )));
    }
    Ok(FlashOutcome::Written)
}

/// Memory a read may touch (RM0440 §2.2): flash + system memory/OTP/option bytes, CCM SRAM,
/// SRAM1/2 (and the CCM alias), peripherals, the Cortex-M4 system space.
fn mapped(addr: u32) -> bool {
    (0x0800_0000..0x0808_0000).contains(&addr)
        || (0x1FFF_0000..0x1FFF_8000).contains(&addr)
        || (0x1000_0000..0x1000_8000).contains(&addr)
        || (0x2000_0000..0x2002_0000).contains(&addr)
        || (0x4000_0000..0x6000_0000).contains(&addr)
        || addr >= 0xE000_0000
}

/// What the last run left.
#[derive(Debug, Default)]
struct LastRun {
    telemetry: Option<TelemetryRecord>,
    snapshot: Option<VmSnapshot>,
    /// The harness's budget stop.
    fault: Option<Fault>,
}

/// A real board through a debug probe.
pub struct ProbeTarget {
    link: Box<dyn DebugLink>,
    config: ProbeConfig,
    serial_number: Option<String>,
    firmware: FirmwareImage,
    firmware_flash: FlashOutcome,
    rtt_block: Option<u32>,
    defmt: Result<Table, RttError>,
    stack: Result<StackRegion, String>,
    stack_peak: Option<u32>,
    log: Vec<String>,
    serial: Option<SerialOpener>,
    transcript: Vec<u8>,
    console: Vec<u8>,
    rtt: Vec<u8>,
    hardfault: Option<FaultRecord>,
    notes: Vec<String>,
    last: LastRun,
    /// Whether [`Target::bootloader_port`] left the firmware in its bootloader.
    in_bootloader: bool,
}

impl std::fmt::Debug for ProbeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProbeTarget")
            .field("serial_number", &self.serial_number)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ProbeTarget {
    /// Opens the board `config` describes: selects the probe ([`select`] over
    /// [`list_probes`]), attaches to `config.chip` on a [`TimedLink`] (attach timeout), and
    /// flashes the firmware unless the board holds it; `progress` sees the flash phases.
    /// Errors: `Board` naming what failed (no or several matching probes — with the list of
    /// probes present —, attach, firmware file, flash, a timeout).
    pub fn open(
        config: ProbeConfig,
        progress: &mut dyn FnMut(FlashProgress),
    ) -> Result<Self, TargetError> {
        let present = list_probes();
        let probe = select(&present, config.selector.as_ref())
            .map_err(|e| TargetError::Board(e.to_string()))?
            .clone();
        let serial_number = probe.serial.clone();
        let (chip, under_reset, speed) = (
            config.chip.clone(),
            config.connect_under_reset,
            config.speed_khz,
        );
        let link = TimedLink::open(config.timeouts.clone(), move || {
            let link = ProbeRsLink::open(&probe, &chip, under_reset, speed)?;
            Ok(Box::new(link) as Box<dyn DebugLink>)
        })?;
        let serial = config
            .serial_port
            .clone()
            .map(|path| open_port(path, config.baud));
        Self::with_link(config, serial_number, Box::new(link), serial, progress)
    }

    /// A board on an already attached `link` (wrap it in a [`TimedLink`] for timeouts) whose
    /// probe has USB serial `serial_number`, with the USART1 opener `serial`; flashes the
    /// firmware as
    /// [`ProbeTarget::open`] does. Errors: `Board` (firmware file unreadable or not a flash
    /// ELF, flash failure or timeout).
    pub fn with_link(
        config: ProbeConfig,
        serial_number: Option<String>,
        mut link: Box<dyn DebugLink>,
        serial: Option<SerialOpener>,
        progress: &mut dyn FnMut(FlashProgress),
    ) -> Result<Self, TargetError> {
        let path = config.firmware.display().to_string();
        let elf = std::fs::read(&config.firmware)
            .map_err(|e| TargetError::Board(format!("firmware ELF {path}: {e}")))?;
        let firmware = FirmwareImage::from_elf(&path, &elf).map_err(TargetError::Board)?;
        let rtt_block = crate::elf::symbol(&elf, "_SEGGER_RTT");
        let defmt = rtt::defmt_table(&elf);
        let stack = StackRegion::from_elf(&elf);
        let firmware_flash = sync_flash(link.as_mut(), &firmware.regions, progress)?;
        Ok(ProbeTarget {
            link,
            config,
            serial_number,
            firmware,
            firmware_flash,
            rtt_block,
            defmt,
            stack,
            stack_peak: None,
            log: Vec::new(),
            serial,
            transcript: Vec::new(),
            console: Vec::new(),
            rtt: Vec::new(),
            hardfault: None,
            notes: Vec::new(),
            last: LastRun::default(),
            in_bootloader: false,
        })
    }

    /// Whether opening flashed the firmware or found it already there.
    pub fn firmware_flash(&self) -> FlashOutcome {
        self.firmware_flash
    }

    /// The firmware image flashed (its digest identifies the firmware build on the board).
    pub fn firmware(&self) -> &FirmwareImage {
        &self.firmware
    }

    /// The raw bytes of RTT up-channel 0 (the firmware's defmt frames) from the last run.
    pub fn rtt_bytes(&self) -> &[u8] {
        &self.rtt
    }

    /// The firmware fault record written during the last run (a HardFault or panic), if any.
    pub fn hardfault(&self) -> Option<&FaultRecord> {
        self.hardfault.as_ref()
    }

    /// Problems of the last run that did not stop it (a serial read error, RTT unreadable after
    /// the run, no stack symbols in the ELF).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Reads `len` bytes of flash at `addr` into `copy` (a whole-flash copy).
    fn read_into(&mut self, copy: &mut [u8], addr: u32, len: usize) -> Result<(), TargetError> {
        let off = (addr - FLASH_BASE) as usize;
        let bytes = self.link.read_memory(addr, len)?;
        copy[off..off + len].copy_from_slice(&bytes);
        Ok(())
    }

    /// A flash copy (erased elsewhere) holding the board's boot metadata pages.
    fn metadata_copy(&mut self) -> Result<Vec<u8>, TargetError> {
        let mut copy = vec![0xFF; FLASH_SIZE];
        for page in META_PAGES {
            self.read_into(&mut copy, page, PAGE_SIZE)?;
        }
        Ok(copy)
    }

    /// What the firmware will boot: `boot::select` on the board's metadata pages and the two
    /// banks' images (header, then the size it declares).
    fn boot_choice(&mut self) -> Result<BootChoice, TargetError> {
        let mut copy = self.metadata_copy()?;
        for bank in Bank::ALL {
            self.read_into(&mut copy, bank.addr(), CVBC_HEADER_SIZE)?;
            let off = (bank.addr() - FLASH_BASE) as usize;
            let len = cockpit_hypervisor::loader::image_size(&copy[off..off + CVBC_HEADER_SIZE])
                .filter(|&n| n > CVBC_HEADER_SIZE && n <= bank.size());
            if let Some(n) = len {
                self.read_into(&mut copy, bank.addr(), n)?;
            }
        }
        let flash = MemFlash {
            base: FLASH_BASE,
            bytes: &mut copy,
        };
        Ok(boot::select(&flash))
    }

    fn read_record(&mut self, addr: u32, len: usize) -> Result<Vec<u8>, TargetError> {
        Ok(self.link.read_memory(addr, len)?)
    }

    /// The run-control record, if valid.
    fn run_control(&mut self) -> Result<Option<RunControl>, TargetError> {
        let bytes = self.read_record(RUNCTL_ADDR, runctl::SIZE)?;
        Ok(RunControl::decode_bytes(&bytes).ok())
    }

    /// The firmware's fault record (`cockpit_hypervisor::fault`), if valid.
    fn fault_record(&mut self) -> Result<Option<FaultRecord>, TargetError> {
        let bytes = self.read_record(FAULT_ADDR, fault::WORDS * 4)?;
        let mut words = [0u32; fault::WORDS];
        for (w, b) in words.iter_mut().zip(bytes.chunks_exact(4)) {
            *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        Ok(FaultRecord::from_words(&words))
    }

    fn poll_rtt(&mut self) -> Result<(), LinkError> {
        if let Some(cb) = self.rtt_block {
            let bytes = self.link.rtt_read(cb, 0)?;
            self.rtt.extend_from_slice(&bytes);
        }
        Ok(())
    }
}

/// How the poll loop ended.
enum Stop {
    /// The firmware reported the guest run ended (run-control record).
    Guest,
    /// No end by `virtual_time` + `boot_margin`.
    SafetyNet,
    /// Wall-clock timeout.
    Wall,
}

/// How long a run waits after the guest's end for the firmware's closing console line
/// (≤ 100 bytes at 115200 Bd ≈ 8.7 ms, plus USB latency of the serial adapter).
pub const CLOSING_LINE: Duration = Duration::from_millis(100);

impl Target for ProbeTarget {
    /// Kind `probe`, the hardware map's board id, the probe's USB serial, [`BACKEND`].
    fn info(&self) -> TargetInfo {
        TargetInfo {
            serial: self.serial_number.clone(),
            backend: Some(BACKEND.into()),
            ..TargetInfo::new("probe", self.config.board_id.as_str())
        }
    }

    /// Not possible without a fixture that drives the pin: `Unsupported`.
    fn drive_input(&mut self, pin: u8, _high: bool, _at: Duration) -> Result<(), TargetError> {
        Err(TargetError::Unsupported(format!(
            "a probe board cannot drive input pin {pin} (no fixture)"
        )))
    }

    /// Installs `image` in bank A exactly as `sim`/`emu` do ([`install_bank_a`] on an
    /// in-memory flash copy holding the board's metadata pages), then writes bank A's pages
    /// up to the image end and any changed metadata page with the probe — nothing when the
    /// board already holds them. The rest of bank A is left as it was (the loader reads only
    /// the image's declared length). Errors: `Image` (rejected by the loader: nothing is
    /// written), `Board` (probe failures, timeouts).
    fn load(&mut self, image: &[u8]) -> Result<(), TargetError> {
        let before = self.metadata_copy()?;
        let mut copy = before.clone();
        install_bank_a(&mut copy, image)?;
        let bank = (PROGRAM_BANK_ADDR - FLASH_BASE) as usize;
        let end = bank + image.len().div_ceil(PAGE_SIZE) * PAGE_SIZE;
        let mut regions = vec![FlashRegion {
            addr: PROGRAM_BANK_ADDR,
            data: copy[bank..end].to_vec(),
        }];
        for page in META_PAGES {
            let r = (page - FLASH_BASE) as usize..(page - FLASH_BASE) as usize + PAGE_SIZE;
            if copy[r.clone()] != before[r.clone()] {
                regions.push(FlashRegion {
                    addr: page,
                    data: copy[r].to_vec(),
                });
            }
        }
        sync_flash(self.link.as_mut(), &regions, &mut |_| {})?;
        Ok(())
    }

    /// Resets the chip (halted); paints the firmware stack ([`crate::stack_peak`]); clears the
    /// telemetry and VM snapshot records (so a previous run's cannot describe this one) and writes the budget into the run-control record
    /// (`cockpit_hypervisor::runctl`: the firmware ends the guest with `BUDGET_EXCEEDED` exactly
    /// at the instruction or board-time budget); starts the USART1 capture, resumes the core and
    /// polls RTT up-channel 0 and the run-control record every `poll_interval` until the
    /// firmware reports the guest run ended (then waits for its closing console line, at most
    /// [`CLOSING_LINE`]), the wall-clock timeout expires (→ `RunEnd::WallTimeout`), or
    /// `virtual_time` + `boot_margin` passes without an end (safety net → `BUDGET_EXCEEDED`
    /// without a VM end state). Then halts the core and reads the records, the rest of RTT and
    /// the fault record, decodes the defmt log and scans the stack. Board time (`virtual_time`) is the firmware's cycle count from the
    /// guest's start to its end (host time since resume when no end was reported).
    /// Errors: `NotLoaded` (no bank holds a valid image), `Board` (probe failures and
    /// timeouts, the serial port cannot be opened).
    fn run(&mut self, budget: &Budget) -> Result<RunReport, TargetError> {
        if matches!(self.boot_choice()?, BootChoice::Bootloader) {
            return Err(TargetError::NotLoaded);
        }
        self.notes.clear();
        self.rtt.clear();
        self.last = LastRun::default();
        self.stack_peak = None;
        self.link.reset_and_halt()?;
        self.in_bootloader = false;
        match &self.stack {
            Ok(region) => {
                let link = &mut self.link;
                region.paint(|addr, bytes| link.write_memory(addr, bytes))?;
            }
            Err(e) => self.notes.push(format!("no stack peak: {e}")),
        }
        self.link
            .write_memory(TELEMETRY_ADDR, &[0; telemetry::SIZE])?;
        self.link.write_memory(VM_SNAPSHOT_ADDR, &[0; 8])?;
        let time_limit_us = u64::try_from(budget.virtual_time.as_micros()).unwrap_or(u64::MAX);
        let request = RunControl::request(budget.max_instructions, Some(time_limit_us));
        self.link
            .write_memory(RUNCTL_ADDR, &request.encode_bytes())?;
        let fault_before = self.fault_record()?;
        let capture = match &mut self.serial {
            Some(open) => {
                Some(Capture::start(open().map_err(|e| {
                    TargetError::Board(format!("USART1 serial port: {e}"))
                })?))
            }
            None => None,
        };
        let start = Instant::now();
        self.link.resume()?;
        let safety_net = budget.virtual_time.saturating_add(self.config.boot_margin);
        let mut ended: Option<Instant> = None;
        let stop = loop {
            std::thread::sleep(self.config.poll_interval);
            self.poll_rtt()?;
            if ended.is_none()
                && self
                    .run_control()?
                    .is_some_and(|r| r.run_cycles().is_some())
            {
                ended = Some(Instant::now());
            }
            if let Some(at) = ended {
                let sent = capture
                    .as_ref()
                    .is_none_or(|c| closing_line_sent(&c.bytes()));
                if sent || at.elapsed() >= CLOSING_LINE {
                    break Stop::Guest;
                }
                continue;
            }
            let elapsed = start.elapsed();
            if elapsed >= budget.wall_timeout {
                break Stop::Wall;
            }
            if elapsed >= safety_net {
                break Stop::SafetyNet;
            }
        };
        let elapsed = start.elapsed();
        self.link.halt()?;
        if let Err(e) = self.poll_rtt() {
            self.notes.push(format!("RTT after the run: {e}"));
        }
        if let Some(c) = capture {
            let (bytes, error) = c.finish();
            self.transcript = bytes;
            self.notes.extend(error.map(|e| format!("USART1: {e}")));
        } else {
            self.transcript.clear();
        }
        self.console = guest_console(&self.transcript).to_vec();
        self.log = match &self.defmt {
            Ok(table) => rtt::decode_frames(table, &self.rtt),
            Err(e) => vec![format!("(no defmt log: {e})")],
        };
        if let Ok(region) = &self.stack {
            let bytes = self.link.read_memory(region.low, region.len())?;
            self.stack_peak = region.peak(&MemImage::new(&[(region.low, &bytes)]));
        }
        let fault = self.fault_record()?;
        self.hardfault = fault.filter(|f| fault_before.as_ref().is_none_or(|b| b.count != f.count));
        let telemetry = telemetry::verify(&self.read_record(TELEMETRY_ADDR, telemetry::SIZE)?).ok();
        self.last.snapshot =
            VmSnapshot::decode_bytes(&self.read_record(VM_SNAPSHOT_ADDR, vmsnap::SIZE)?).ok();
        let board_time = self
            .run_control()?
            .and_then(|r| r.run_cycles())
            .map_or(elapsed, |c| {
                Duration::from_nanos((u128::from(c) * 1_000_000_000 / u128::from(CPU_HZ)) as u64)
            });
        let end = match (&telemetry, stop) {
            (Some(t), Stop::Guest) if records::stopped(t) => match t.run_state() {
                Some(telemetry::RunState::Faulted) => RunEnd::Fault(records::telemetry_fault(t)),
                _ => RunEnd::Halted,
            },
            (_, Stop::Wall) => RunEnd::WallTimeout,
            (t, _) => {
                let f = records::budget_fault(t.as_ref());
                self.last.fault = Some(f);
                RunEnd::Fault(f)
            }
        };
        self.last.telemetry = telemetry;
        Ok(RunReport {
            end,
            instructions: telemetry.map_or(0, |t| t.instructions()),
            cycles: telemetry.map_or(0, |t| t.cycles()),
            virtual_time: board_time,
            wall_time: elapsed,
        })
    }

    /// The guest's part of the USART1 transcript of the last run (empty without a serial port).
    fn console(&self) -> &[u8] {
        &self.console
    }

    /// Everything the board sent on USART1 during the last run (boot banner, `guest:` lines,
    /// fault reports, the guest's output); empty without a serial port.
    fn transcript(&self) -> &[u8] {
        &self.transcript
    }

    /// RTT up-channel 0 of the last run (read live during it) decoded against the ELF's defmt
    /// table (`crate::rtt::decode_frames`); a `(no defmt log: …)` line when the ELF has no
    /// usable defmt table (as on `emu`).
    fn log(&self) -> &[String] {
        &self.log
    }

    /// [`crate::target::STACK_PEAK_METRIC`]: the firmware's stack peak (painted after the reset,
    /// scanned after the run), when the ELF names the stack (`_stack_start`/`_stack_end`).
    fn board_metrics(&self) -> Vec<Metric> {
        stack_peak::metrics(self.stack_peak)
    }

    /// Always empty: a probe board has no logic analyser on its pins (yet).
    fn pin_edges(&self) -> &[PinEdge] {
        &[]
    }

    /// A live word read (the core is halted after a run, so RAM and peripherals are as the run
    /// left them). Errors: `Unaligned`; `Unmapped` outside the STM32G474 memory map (RM0440
    /// §2.2) without touching the probe; `Board` when the probe fails or times out.
    fn read_u32(&mut self, addr: u32) -> Result<u32, TargetError> {
        if !addr.is_multiple_of(4) {
            return Err(TargetError::Unaligned { addr });
        }
        if !mapped(addr) {
            return Err(TargetError::Unmapped { addr });
        }
        Ok(self.link.read_u32(addr)?)
    }

    /// From the last run's telemetry and VM snapshot records ([`records::vm_state`]).
    fn vm_state(&mut self) -> Result<VmState, TargetError> {
        Ok(records::vm_state(
            self.last.telemetry.as_ref(),
            self.last.snapshot.as_ref(),
            self.last.fault,
        ))
    }

    /// Resets the chip (halted), writes a bootloader request into the run-control record
    /// (`cockpit_hypervisor::runctl::BOOTLOADER`) and resumes the core; the firmware consumes
    /// the request at boot and enters its Oracle bootloader on USART1. Polls the record every
    /// `poll_interval` until the firmware marks the request taken, then returns the board's
    /// `serial_port`. Errors (`Board`): the hardware map gives no `serial_port`, the firmware
    /// did not take the request within `boot_margin` (a firmware older than run-control
    /// format 1.1), probe failures and timeouts.
    fn bootloader_port(&mut self) -> Result<String, TargetError> {
        let port = self.config.serial_port.clone().ok_or_else(|| {
            TargetError::Board(format!(
                "board `{}` has no serial_port in the hardware map: the Oracle bootloader \
                 listens on USART1",
                self.config.board_id
            ))
        })?;
        self.link.reset_and_halt()?;
        self.link.write_memory(
            RUNCTL_ADDR,
            &RunControl::bootloader_request().encode_bytes(),
        )?;
        self.link.resume()?;
        self.in_bootloader = true;
        let start = Instant::now();
        loop {
            std::thread::sleep(self.config.poll_interval);
            if self.run_control()?.is_some_and(|r| r.bootloader_taken()) {
                return Ok(port);
            }
            if start.elapsed() >= self.config.boot_margin {
                return Err(TargetError::Board(format!(
                    "the firmware did not take the bootloader request (run-control record at \
                     {RUNCTL_ADDR:#010x}) within {:?}: is it older than run-control format 1.1?",
                    self.config.boot_margin
                )));
            }
        }
    }

    /// Leaves the bootloader: resets the chip (halted), clears the run-control record (so no
    /// request is left) and resumes the core, which boots the active bank. Nothing when the
    /// board is not in its bootloader. Errors: `Board` (probe failures and timeouts).
    fn reboot(&mut self) -> Result<(), TargetError> {
        if !self.in_bootloader {
            return Ok(());
        }
        self.link.reset_and_halt()?;
        self.link.write_memory(RUNCTL_ADDR, &[0; runctl::SIZE])?;
        self.link.resume()?;
        self.in_bootloader = false;
        Ok(())
    }

    /// The core's register as the run left it (halted). Errors: `Board`.
    fn read_core_register(&mut self, reg: CoreRegister) -> Result<u32, TargetError> {
        Ok(self.link.read_core_register(reg)?)
    }
}

#[cfg(test)]
#[path = "target_tests.rs"]
mod tests;
