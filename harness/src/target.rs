//! The `Target` trait: one board (simulated, emulated or real) as the runner sees it.
//!
//! Data flows one way: the runner loads an image, runs it under a [`Budget`], then collects the
//! observations (console transcript, pin edges, memory/register reads, VM end state) that the
//! verdict checks judge. Every board kind (`sim`, later `emu` and `probe`) implements this trait.

use std::time::Duration;

use cockpit_vm::Fault;

use crate::corereg::CoreRegister;
use crate::result::Metric;

/// Metric: the most stack the firmware used in a run, bytes ([`crate::stack_peak`]). No `.`
/// in the name: it is not compared across board kinds (`sim` runs no firmware).
pub const STACK_PEAK_METRIC: &str = "firmware_stack_peak_bytes";

/// Limits of one run. Whichever runs out first ends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Guest instructions executed, in total.
    pub max_instructions: u64,
    /// Board time (virtual time on `sim`), from the start of the program.
    pub virtual_time: Duration,
    /// Host wall-clock time; exceeding it is a timeout, not a VM error.
    pub wall_timeout: Duration,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// The program halted normally (HALT, or RET with an empty call stack).
    Halted,
    /// The VM stopped with an error (including `BUDGET_EXCEEDED`).
    Fault(Fault),
    /// The wall-clock timeout expired before the VM stopped.
    WallTimeout,
    /// The board reset while the program ran (the firmware's watchdog or fault handler) and
    /// did not finish it: the program neither halted nor faulted.
    Reset,
}

/// What the board measured about one run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunReport {
    /// How the run ended.
    pub end: RunEnd,
    /// Guest instructions executed.
    pub instructions: u64,
    /// The VM's modelled interpreter cycles (the per-opcode cost model, as in the telemetry
    /// record's CYCLES): the cost of the guest's own instructions, excluding delays and
    /// blocking console I/O (those are in `virtual_time`).
    pub cycles: u64,
    /// Board time elapsed from program start to the end of the run.
    pub virtual_time: Duration,
    /// Host wall-clock time of the run.
    pub wall_time: Duration,
}

/// One level change of a logical pin's output, in board time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinEdge {
    /// Logical pin number (0–16; 13 = PC6, the LED).
    pub pin: u8,
    /// New level: `true` = high.
    pub high: bool,
    /// Board time of the change, in nanoseconds since program start.
    pub at_ns: u64,
}

/// The VM's state after a run (corner 3's "VM end state").
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct VmState {
    /// The error that stopped the VM, if any.
    pub fault: Option<Fault>,
    /// Operand stack, bottom to top.
    pub stack: Vec<i32>,
    /// All global slots (`cockpit_vm::GLOBALS` of them).
    pub globals: Vec<i32>,
}

/// Identity of the board, as stored with each result.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TargetInfo {
    /// Board kind: `"sim"`, `"emu"` or `"probe"`.
    pub kind: String,
    /// Board id: `"sim"`/`"emu"` for every simulated/emulated board (they are identical), the
    /// hardware map's id (`boards.toml`, e.g. `"nucleo-1"`) for a real one.
    pub id: String,
    /// Serial number of the real board's debug probe (the ST-Link's USB serial); `None` for
    /// `sim` and `emu`.
    pub serial: Option<String>,
    /// What drives a real board, with its version (`"probe-rs 0.32.0"`); `None` for `sim` and
    /// `emu`, which are the harness itself (its version is stored with the run).
    pub backend: Option<String>,
}

impl TargetInfo {
    /// A board of `kind` with id `id`, no probe serial and no backend (`sim`, and the identity
    /// recorded for tests that never reached a board).
    pub fn new(kind: impl Into<String>, id: impl Into<String>) -> TargetInfo {
        TargetInfo {
            kind: kind.into(),
            id: id.into(),
            serial: None,
            backend: None,
        }
    }
}

/// Errors of the board itself (not of the program under test).
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The image was rejected by the board's loader (bad container, too large for the bank, …).
    #[error("image rejected: {0}")]
    Image(String),
    /// A memory read outside every modelled/mapped region.
    #[error("address {addr:#010x} is not mapped")]
    Unmapped { addr: u32 },
    /// A memory read at an address that is not 4-aligned.
    #[error("address {addr:#010x} is not 4-byte aligned")]
    Unaligned { addr: u32 },
    /// `run` was called with no program loaded.
    #[error("no program loaded")]
    NotLoaded,
    /// The board or its connection failed: probe missing, attach or flash failed, a
    /// per-operation timeout, serial port gone. An infrastructure error: the runner records the
    /// test as `infra_error` and runs it once more on a fresh board.
    #[error("board failure: {0}")]
    Board(String),
    /// The board kind cannot do this (e.g. it has no serial bootloader).
    #[error("not supported by this board: {0}")]
    Unsupported(String),
}

/// Ok when no bootloader session holds the board's flash, else the `Board` error of an
/// operation that needs it while the bootloader serves `port` (a board's `require_running`).
pub fn require_no_bootloader(port: Option<&str>) -> Result<(), TargetError> {
    match port {
        Some(port) => Err(TargetError::Board(format!(
            "the board is in its bootloader on {port} (reboot first)"
        ))),
        None => Ok(()),
    }
}

/// One board that runs guest programs.
pub trait Target: Send {
    /// Kind and id of this board.
    fn info(&self) -> TargetInfo;

    /// Drives logical pin `pin`'s input to `high` from outside the board (a button, a jumper)
    /// from board time `at` after the guest program's start (the origin of [`PinEdge`] times
    /// and the `virtual_time` budget; zero = before the program starts, from reset) until the
    /// pin's next scheduled level, in every following run until the board is dropped: an input
    /// pin then reads this level instead of its pull. Calls for one pin form its schedule
    /// (a second call with the same `pin` and `at` replaces the level); before its first
    /// scheduled time a pin is not driven. Call it after [`Target::load`] and before
    /// [`Target::run`]. Errors: `Board` if the pin does not exist, `Unsupported` if the board
    /// cannot drive it (at that time).
    fn drive_input(&mut self, pin: u8, high: bool, at: Duration) -> Result<(), TargetError>;

    /// Places a program image (CVBC, or an original page-63 "CONC" image) in the board's program
    /// flash and resets the VM. Errors: `Image` when the loader rejects it.
    fn load(&mut self, image: &[u8]) -> Result<(), TargetError>;

    /// Runs the loaded program from its start until it halts, faults or the budget ends it.
    /// Observations of earlier runs are cleared. Errors: `NotLoaded`, `Board`.
    fn run(&mut self, budget: &Budget) -> Result<RunReport, TargetError>;

    /// The console (USART1) transcript of the last run, as raw bytes: the guest program's
    /// output.
    fn console(&self) -> &[u8];

    /// Everything the board sent on USART1 in the last run (or bootloader session), raw: on a
    /// board running the firmware, its own lines too (boot banner with the fail-safe state,
    /// fault reports, `guest:` status lines) around the guest's [`Target::console`]. The
    /// default (boards without firmware, like `sim`): the console.
    fn transcript(&self) -> &[u8] {
        self.console()
    }

    /// Output level changes of logical pins during the last run, in time order.
    fn pin_edges(&self) -> &[PinEdge];

    /// Reads the 32-bit word at `addr` (byte address, 4-aligned): peripheral registers
    /// (RM0440 addresses), flash, or RAM such as the telemetry record.
    /// Errors: `Unaligned`, `Unmapped`.
    fn read_u32(&mut self, addr: u32) -> Result<u32, TargetError>;

    /// Reads core register `reg` (R0–R15, xPSR, MSP, PSP) of the board's CPU as the last run
    /// left it (the core halted at the end of the run). Errors: `Unsupported` (the default) for
    /// boards without a modelled CPU (`sim`), `Board`.
    fn read_core_register(&mut self, reg: CoreRegister) -> Result<u32, TargetError> {
        Err(TargetError::Unsupported(format!(
            "board kind `{}` has no core register {reg}",
            self.info().kind
        )))
    }

    /// The VM's state at the end of the last run.
    fn vm_state(&mut self) -> Result<VmState, TargetError>;

    /// The firmware's defmt log of the last run, decoded (boards that run the firmware and read
    /// its RTT buffer), one line per frame: `"<timestamp s> <LEVEL> <message>"`, e.g.
    /// `"0.012 INFO guest: start"`. Default: none.
    fn log(&self) -> &[String] {
        &[]
    }

    /// Measurements of the last run that only some board kinds make, stored with the run's
    /// metrics (e.g. [`STACK_PEAK_METRIC`] on boards that run the firmware). Default: none.
    fn board_metrics(&self) -> Vec<Metric> {
        Vec::new()
    }

    /// Resets the board into its Oracle bootloader (`oracle/README.md`) and returns the path of
    /// the serial device it listens on at 115200 8N1 (`/dev/ttyUSB0` or `/dev/ttyACM0` for a
    /// real board behind a USB-serial adapter, `/dev/pts/N` for `sim`). Clients open the path
    /// themselves; the board stays in the bootloader until [`Target::reboot`].
    /// Errors: `Unsupported` (the default) for boards without a bootloader, `Board`.
    fn bootloader_port(&mut self) -> Result<String, TargetError> {
        Err(TargetError::Unsupported(format!(
            "board kind `{}` has no serial bootloader",
            self.info().kind
        )))
    }

    /// Leaves the bootloader with a reset: boot selection picks the active program bank (the
    /// last image the bootloader activated, else the other valid bank), and the next
    /// [`Target::run`] runs that image (`NotLoaded` if no bank holds a valid one). Does nothing
    /// on a board that is not in its bootloader; on a board whose firmware left its bootloader
    /// by resetting itself (a fault, the watchdog), that reset is the one the next run starts
    /// from. Errors: `Unsupported` (the default), `Board`.
    fn reboot(&mut self) -> Result<(), TargetError> {
        Err(TargetError::Unsupported(format!(
            "board kind `{}` cannot reboot from a bootloader",
            self.info().kind
        )))
    }
}
