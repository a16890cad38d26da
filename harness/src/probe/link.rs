//! The backend boundary: [`DebugLink`], the operations [`super::ProbeTarget`] needs from a debug
//! probe attached to one STM32G474. Implementations: [`super::ProbeRsLink`] (probe-rs, a real
//! ST-Link) and [`super::fake::ScriptedLink`] (a simulated board for tests). Every operation is
//! blocking; [`super::TimedLink`] runs a link on its own thread and bounds each call with its
//! timeout.

use std::fmt;
use std::time::Duration;

use crate::corereg::CoreRegister;
use crate::target::TargetError;

/// One kind of debug-link operation, as named in errors and timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Opening the probe and attaching to the chip.
    Attach,
    /// Core control: reset-and-halt, resume, halt.
    Control,
    /// Memory or core register access.
    Access,
    /// Erasing and programming flash.
    Flash,
    /// Reading an RTT up-channel.
    Rtt,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Attach => "attach",
            Operation::Control => "core control (reset/run/halt)",
            Operation::Access => "memory/register access",
            Operation::Flash => "flash programming",
            Operation::Rtt => "RTT read",
        })
    }
}

/// Why a debug-link operation failed. Every variant is an infrastructure failure (the probe,
/// the cable or the chip's debug port), never a verdict on the program under test.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The operation did not finish within its timeout ([`super::Timeouts`]).
    #[error("probe {op} timed out after {after:?}")]
    Timeout {
        /// The operation.
        op: Operation,
        /// Its timeout.
        after: Duration,
    },
    /// The probe (or probe-rs) reported an error.
    #[error("probe {op} failed: {message}")]
    Failed {
        /// The operation.
        op: Operation,
        /// probe-rs's message.
        message: String,
    },
    /// An earlier operation timed out and still holds the probe: the link is unusable until it
    /// is opened again.
    #[error("probe unusable: an earlier {op} timed out and still holds it")]
    Lost {
        /// The operation that timed out.
        op: Operation,
    },
}

impl LinkError {
    /// A [`LinkError::Failed`] of `op` with `message`.
    pub fn failed(op: Operation, message: impl fmt::Display) -> Self {
        LinkError::Failed {
            op,
            message: message.to_string(),
        }
    }
}

impl From<LinkError> for TargetError {
    /// Every link error is a board (infrastructure) failure.
    fn from(e: LinkError) -> Self {
        TargetError::Board(e.to_string())
    }
}

pub use crate::elf::FlashRegion;

/// A phase of flash programming (probe-rs's `ProgressOperation`, without `Fill`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlashPhase {
    /// Erasing sectors.
    Erase,
    /// Programming pages.
    Program,
    /// Reading back and comparing.
    Verify,
}

impl fmt::Display for FlashPhase {
    /// `erase`, `program`, `verify`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            FlashPhase::Erase => "erase",
            FlashPhase::Program => "program",
            FlashPhase::Verify => "verify",
        })
    }
}

/// Progress of one flash phase: `done` of `total` bytes (`total` unknown until the phase has
/// been planned).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlashProgress {
    /// The phase.
    pub phase: FlashPhase,
    /// Bytes done in this phase.
    pub done: u64,
    /// Bytes in this phase, if known.
    pub total: Option<u64>,
}

/// A debug probe attached to one STM32G474 core.
///
/// Addresses are byte addresses; word accesses (`*_u32`) are single 32-bit bus accesses, as
/// peripheral registers need. Errors: [`LinkError`] (never a panic).
pub trait DebugLink: Send {
    /// Resets the chip and halts the core at its reset vector (before the first instruction).
    fn reset_and_halt(&mut self) -> Result<(), LinkError>;
    /// Resumes the halted core.
    fn resume(&mut self) -> Result<(), LinkError>;
    /// Halts the running core (no-op when it is halted).
    fn halt(&mut self) -> Result<(), LinkError>;
    /// Reads `len` bytes at `addr` (flash, RAM: memory without read side effects; the backend
    /// picks the access width).
    fn read_memory(&mut self, addr: u32, len: usize) -> Result<Vec<u8>, LinkError>;
    /// Writes `data` to RAM at `addr` (the backend picks the access width; not flash, see
    /// [`DebugLink::write_flash`]).
    fn write_memory(&mut self, addr: u32, data: &[u8]) -> Result<(), LinkError>;
    /// Reads the 32-bit word at the 4-aligned `addr` with one word access.
    fn read_u32(&mut self, addr: u32) -> Result<u32, LinkError>;
    /// Reads core register `reg` (the core must be halted).
    fn read_core_register(&mut self, reg: CoreRegister) -> Result<u32, LinkError>;
    /// Erases the flash sectors `regions` touch and programs them (bytes of those sectors
    /// outside the regions are not kept), reporting progress through `progress`.
    fn write_flash(
        &mut self,
        regions: &[FlashRegion],
        progress: &mut dyn FnMut(FlashProgress),
    ) -> Result<(), LinkError>;
    /// The bytes waiting in RTT up-channel `channel` of the control block at `control_block`
    /// (consumed: the channel's read pointer advances). Empty while the firmware has not yet
    /// initialised the control block.
    fn rtt_read(&mut self, control_block: u32, channel: usize) -> Result<Vec<u8>, LinkError>;
}
