//! [`ProbeConfig`]: how to reach one real board (probe, chip, firmware, serial port, timeouts).
//! The hardware map (`boards.toml`) fills one per board.

use std::path::PathBuf;
use std::time::Duration;

use super::link::Operation;
use super::select::ProbeSelector;

/// probe-rs's name of the chip on the NUCLEO-G474RE and WeAct boards.
pub const DEFAULT_CHIP: &str = "STM32G474RETx";

/// Per-operation timeouts (each a distinct [`super::LinkError::Timeout`], an infrastructure
/// failure). The length of a run itself is the plan's budget (`Budget::wall_timeout`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Opening the probe and attaching to the chip. Default 10 s.
    pub attach: Duration,
    /// One flash write (erase + program of the firmware or a program bank). Default 60 s.
    pub flash: Duration,
    /// One core-control call (reset-and-halt, resume, halt). Default 2 s.
    pub control: Duration,
    /// One memory or core-register access. Default 2 s.
    pub access: Duration,
    /// One RTT up-channel read. Default 2 s.
    pub rtt: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            attach: Duration::from_secs(10),
            flash: Duration::from_secs(60),
            control: Duration::from_secs(2),
            access: Duration::from_secs(2),
            rtt: Duration::from_secs(2),
        }
    }
}

impl Timeouts {
    /// The timeout of `op`.
    pub fn of(&self, op: Operation) -> Duration {
        match op {
            Operation::Attach => self.attach,
            Operation::Flash => self.flash,
            Operation::Control => self.control,
            Operation::Access => self.access,
            Operation::Rtt => self.rtt,
        }
    }
}

/// One real board as [`super::ProbeTarget::open`] reaches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeConfig {
    /// The board's id in the hardware map (`boards.toml`), reported as `TargetInfo::id`.
    pub board_id: String,
    /// Which probe: `VID:PID[:serial]` (hex VID/PID, e.g. `0483:374b:066DFF555185`); `None`
    /// accepts the only probe present.
    pub selector: Option<ProbeSelector>,
    /// probe-rs target name, default [`DEFAULT_CHIP`].
    pub chip: String,
    /// Attach with the reset line held (needed when the firmware disables SWD pins or sleeps).
    pub connect_under_reset: bool,
    /// SWD clock in kHz; `None` keeps the probe's default.
    pub speed_khz: Option<u32>,
    /// The firmware ELF (`firmware/stm32g474/build.sh`'s output). Flashed at open unless the
    /// board already holds it.
    pub firmware: PathBuf,
    /// The board's USART1 serial device (`/dev/ttyACM0` = the ST-Link's virtual COM port on a
    /// NUCLEO), read during runs for the console transcript; `None` = no console.
    pub serial_port: Option<String>,
    /// USART1 baud rate. Default 115200.
    pub baud: u32,
    /// Per-operation timeouts.
    pub timeouts: Timeouts,
    /// How often a run polls the run-control record and RTT. Default 10 ms.
    pub poll_interval: Duration,
    /// Time beyond the plan's `virtual_time` before the harness stops a guest the firmware has
    /// not ended (a safety net). Default [`crate::records::BOOT_MARGIN`].
    pub boot_margin: Duration,
}

impl ProbeConfig {
    /// A configuration with the defaults above for board `board_id` running `firmware`.
    pub fn new(board_id: impl Into<String>, firmware: impl Into<PathBuf>) -> Self {
        ProbeConfig {
            board_id: board_id.into(),
            selector: None,
            chip: DEFAULT_CHIP.into(),
            connect_under_reset: false,
            speed_khz: None,
            firmware: firmware.into(),
            serial_port: None,
            baud: 115_200,
            timeouts: Timeouts::default(),
            poll_interval: Duration::from_millis(10),
            boot_margin: crate::records::BOOT_MARGIN,
        }
    }
}
