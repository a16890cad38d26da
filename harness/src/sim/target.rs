//! `SimTarget`: the `sim` board kind as the runner sees it ([`Target`]).
//!
//! The board has two modes. Normally it runs programs: [`Target::run`] boots the image that
//! `cockpit_hypervisor::boot::select` picks from the A/B program banks. After
//! [`Target::bootloader_port`] it is in its Oracle bootloader instead: the flash belongs to the
//! [`SerialLink`] device thread serving USART1 on a pseudo-terminal, until [`Target::reboot`]
//! takes it back.

use std::time::{Duration, Instant};

use cockpit_hypervisor::boot::{self, Bank};
use cockpit_hypervisor::pins::{PIN_COUNT, Pin};
use cockpit_hypervisor::run::{Limits, Outcome};
use cockpit_hypervisor::{LoadError, PROGRAM_BANK_ADDR, PROGRAM_BANK_SIZE, load, load_boot};
use cockpit_vm::Vm;

use super::board::SimBoard;
use super::memory::{self, SimFlash};
use super::serial::{DEFAULT_BAUD, SerialLink, booted_image_crc32};
use crate::target::{Budget, PinEdge, RunEnd, RunReport, Target, TargetError, TargetInfo, VmState};

/// A simulated STM32G474 running the hypervisor core on the host, in virtual time.
///
/// Cheap to create (about 700 KiB of zeroed/erased memory, no threads, no I/O until
/// [`Target::bootloader_port`]) and `Send`, so the runner can use one per worker thread.
#[derive(Debug)]
pub struct SimTarget {
    /// The flash while the board runs programs (erased while `link` holds it).
    flash: SimFlash,
    /// USART1 in bootloader mode, holding the flash.
    link: Option<SerialLink>,
    baud: u32,
    board: SimBoard,
    vm: Box<Vm>,
    slice: u32,
}

impl Default for SimTarget {
    fn default() -> Self {
        Self::new()
    }
}

impl SimTarget {
    /// Board id of every `sim` board. All simulated boards are identical and deterministic, so
    /// they share one id and their results form one history series per test.
    pub const ID: &'static str = "sim";

    /// A `sim` board with erased flash and no program.
    pub fn new() -> Self {
        SimTarget {
            flash: SimFlash::new(),
            link: None,
            baud: DEFAULT_BAUD,
            board: SimBoard::new(),
            vm: Box::new(Vm::new()),
            slice: cockpit_hypervisor::run::DEFAULT_SLICE,
        }
    }

    /// Sets the simulated USART1 line rate of the bootloader mode, bit/s (default 115200;
    /// takes effect at the next [`Target::bootloader_port`]).
    pub fn set_baud(&mut self, baud: u32) {
        self.baud = baud;
    }

    /// USART1 while the board is in its bootloader (for the scenario bench).
    pub fn serial_link(&self) -> Option<&SerialLink> {
        self.link.as_ref()
    }

    /// CRC-32 of the image the board boots (`boot::select`), `None` if no bank holds a valid
    /// image or the board is in its bootloader.
    pub fn booted_image_crc32(&self) -> Option<u32> {
        self.require_running().ok()?;
        booted_image_crc32(&self.flash)
    }

    /// `Board` error for operations that need the flash while the bootloader holds it.
    fn require_running(&self) -> Result<(), TargetError> {
        crate::target::require_no_bootloader(self.link.as_ref().map(|x| x.path()))
    }

    /// The board (registers, clock, console, edges) as left by the last run.
    pub fn board(&self) -> &SimBoard {
        &self.board
    }

    /// The board, for injecting inputs ([`SimBoard::set_input`], [`SimBoard::set_analog`])
    /// before a run.
    pub fn board_mut(&mut self) -> &mut SimBoard {
        &mut self.board
    }

    /// The VM as left by the last run.
    pub fn vm(&self) -> &Vm {
        &self.vm
    }

    /// Instructions per hypervisor slice (granularity of telemetry updates and wall-timeout
    /// checks); default `cockpit_hypervisor::run::DEFAULT_SLICE`.
    pub fn set_slice(&mut self, slice: u32) {
        self.slice = slice.max(1);
    }
}

impl Target for SimTarget {
    fn info(&self) -> TargetInfo {
        TargetInfo::new("sim", Self::ID)
    }

    /// Schedules the level with [`SimBoard::schedule_input`] (virtual time from the program's
    /// start, which is the board reset at the start of each run); a `digitalRead` sees it from
    /// the first read at or after `at` (the clock advances per instruction and delay, so
    /// exactly there). Errors: `Board` for a pin outside the logical pin map.
    fn drive_input(&mut self, pin: u8, high: bool, at: Duration) -> Result<(), TargetError> {
        let pin = Pin::new(i32::from(pin)).map_err(|_| {
            TargetError::Board(format!("logical pin {pin} does not exist (0..{PIN_COUNT})"))
        })?;
        let at_ns = u64::try_from(at.as_nanos()).unwrap_or(u64::MAX);
        self.board.schedule_input(pin, high, at_ns);
        Ok(())
    }

    /// Erases program bank A, writes the image at `PROGRAM_BANK_ADDR` (bank A), validates it
    /// with the hypervisor's loader and makes bank A the active bank (one metadata record, if
    /// the metadata named bank B). Errors: `Image` if larger than the 192 KiB bank, or with the
    /// loader's message (e.g. "checksum mismatch: …"); the bank is left erased then. `Board` in
    /// bootloader mode.
    fn load(&mut self, image: &[u8]) -> Result<(), TargetError> {
        self.require_running()?;
        self.vm.reset();
        let erase = |f: &mut SimFlash| {
            f.erase(PROGRAM_BANK_ADDR, PROGRAM_BANK_SIZE)
                .map_err(|e| TargetError::Board(e.to_string()))
        };
        erase(&mut self.flash)?;
        if image.len() > PROGRAM_BANK_SIZE {
            return Err(TargetError::Image(format!(
                "image of {} bytes exceeds the {PROGRAM_BANK_SIZE}-byte program bank at {PROGRAM_BANK_ADDR:#010x}",
                image.len()
            )));
        }
        self.flash
            .program(PROGRAM_BANK_ADDR, image)
            .map_err(|e| TargetError::Board(e.to_string()))?;
        if let Err(e) = load(&self.flash, PROGRAM_BANK_ADDR) {
            erase(&mut self.flash)?;
            return Err(TargetError::Image(e.to_string()));
        }
        if boot::active_bank(&self.flash) != Bank::A {
            boot::write_active(&mut self.flash, Bank::A)
                .map_err(|e| TargetError::Board(format!("boot metadata: {e}")))?;
        }
        Ok(())
    }

    /// Resets the board to boot state and the VM, boots the bank `boot::select` picks, then
    /// runs through the hypervisor run loop with `budget`: instruction and virtual-time budgets
    /// end in a `BUDGET_EXCEEDED` fault; the wall-clock timeout is checked between slices and
    /// ends in `RunEnd::WallTimeout`. Errors: `NotLoaded` if no bank holds a valid image,
    /// `Board` in bootloader mode.
    fn run(&mut self, budget: &Budget) -> Result<RunReport, TargetError> {
        self.require_running()?;
        self.board.reset();
        self.vm.reset();
        let (_, program) = load_boot(&self.flash).map_err(|e| match e {
            LoadError::NoBootableBank => TargetError::NotLoaded,
            e => TargetError::Board(format!("boot selection: {e}")),
        })?;
        let time_limit_us = u64::try_from(budget.virtual_time.as_micros()).unwrap_or(u64::MAX);
        let limits = Limits {
            max_instructions: budget.max_instructions,
            time_limit_us: Some(time_limit_us),
            slice: self.slice,
        };
        let wall_start = Instant::now();
        let wall_timeout = budget.wall_timeout;
        let mut keep_going = || wall_start.elapsed() < wall_timeout;
        let outcome = cockpit_hypervisor::run(
            &mut self.vm,
            &program,
            &mut self.board,
            &limits,
            &mut keep_going,
        );
        let wall_time = wall_start.elapsed();
        // Registers read after the run (GPIOx.IDR) show the inputs as the run left them.
        self.board.sync_inputs();
        let end = match outcome {
            Outcome::Halted => RunEnd::Halted,
            Outcome::Faulted(f) => RunEnd::Fault(f),
            Outcome::Stopped => RunEnd::WallTimeout,
        };
        Ok(RunReport {
            end,
            instructions: self.vm.instructions(),
            cycles: self.vm.cycles(),
            virtual_time: Duration::from_nanos(self.board.clock().now_ns()),
            wall_time,
        })
    }

    fn console(&self) -> &[u8] {
        self.board.console()
    }

    fn pin_edges(&self) -> &[PinEdge] {
        self.board.edges()
    }

    /// Errors: as [`memory::read_u32`], and `Board` in bootloader mode.
    fn read_u32(&mut self, addr: u32) -> Result<u32, TargetError> {
        self.require_running()?;
        memory::read_u32(&self.board, &self.flash, addr)
    }

    fn vm_state(&mut self) -> Result<VmState, TargetError> {
        Ok(VmState {
            fault: self.vm.fault(),
            stack: self.vm.stack().to_vec(),
            globals: self.vm.globals().to_vec(),
        })
    }

    /// Hands the flash to a new [`SerialLink`] (after closing the current one: a reset into the
    /// bootloader) and returns its `/dev/pts/N`. Errors: `Board` if the pty cannot be made.
    fn bootloader_port(&mut self) -> Result<String, TargetError> {
        self.reboot()?;
        let link = SerialLink::open(&mut self.flash, self.baud)?;
        let path = link.path().to_string();
        self.link = Some(link);
        Ok(path)
    }

    /// Stops the USART1 device thread and takes the flash back; the next run boots what
    /// `boot::select` picks. Errors: `Board` if the device thread panicked (the flash is lost).
    fn reboot(&mut self) -> Result<(), TargetError> {
        if let Some(link) = self.link.take() {
            self.flash = link.close()?;
        }
        Ok(())
    }
}
