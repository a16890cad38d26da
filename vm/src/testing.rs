//! Test doubles (host only, feature `std`): [`TestHost`], a simulated board with a virtual clock.

use std::collections::BTreeMap;
use std::vec::Vec;

use crate::host::{Host, HostError};

/// Simulated CPU clock in Hz used to turn engine cycles into virtual time (170 MHz).
pub const CPU_HZ: u64 = 170_000_000;
/// Highest valid pin number (pins 0..=16, the G4 pin map, reference §6.2).
pub const MAX_PIN: i32 = 16;
/// Highest valid pin mode (0 INPUT, 1 OUTPUT, 2 INPUT_PULLUP, 3 INPUT_PULLDOWN).
pub const MAX_MODE: i32 = 3;

/// One recorded output event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinWrite {
    /// Pin number.
    pub pin: i32,
    /// Value as passed by the program (digital: 0 = LOW, anything else HIGH).
    pub value: i32,
    /// Virtual time in milliseconds at which it happened.
    pub at_ms: u64,
}

/// A [`Host`] that records everything and keeps virtual time.
///
/// Virtual time (µs) = sum of `delay_ms` calls × 1000 + last synced cycles / 170.
/// Pins 0..=16 and modes 0..=3 are valid; analog values 0..=255; otherwise
/// `HostError::InvalidArgument`. Writes do not require the pin to be in OUTPUT mode.
#[derive(Clone, Debug, Default)]
pub struct TestHost {
    /// Bytes written by `printf`.
    pub console: Vec<u8>,
    /// Current mode of each pin set by `pin_mode`.
    pub pin_modes: BTreeMap<i32, i32>,
    /// Every `pin_mode` call in order: (pin, mode).
    pub mode_log: Vec<(i32, i32)>,
    /// Every `digital_write`, in order, with its virtual time.
    pub digital_writes: Vec<PinWrite>,
    /// Every `analog_write`, in order, with its virtual time.
    pub analog_writes: Vec<PinWrite>,
    /// Values answered by `digital_read` (missing pins read 0; non-zero reads as 1).
    pub digital_inputs: BTreeMap<i32, i32>,
    /// Values answered by `analog_read` (missing pins read 0).
    pub analog_inputs: BTreeMap<i32, i32>,
    /// Virtual-time deadline in ms: a `delay_ms` that would pass it advances the clock to the
    /// deadline and fails with `HostError::BudgetExceeded`.
    pub deadline_ms: Option<u64>,
    /// Accumulated delay time in µs.
    pub delay_us: u64,
    /// Last cycle total received through `sync_cycles`.
    pub cycles: u64,
    /// Number of `sync_cycles` calls (lets tests check that the engine syncs).
    pub sync_calls: u64,
}

impl TestHost {
    /// A fresh host at virtual time 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Virtual time in µs.
    pub fn now_us(&self) -> u64 {
        self.delay_us
            .saturating_add(self.cycles / (CPU_HZ / 1_000_000))
    }

    /// Virtual time in ms.
    pub fn now_ms(&self) -> u64 {
        self.now_us() / 1000
    }

    /// The console output as (lossy) UTF-8.
    pub fn console_text(&self) -> std::string::String {
        std::string::String::from_utf8_lossy(&self.console).into_owned()
    }

    fn check_pin(pin: i32) -> Result<(), HostError> {
        if (0..=MAX_PIN).contains(&pin) {
            Ok(())
        } else {
            Err(HostError::InvalidArgument)
        }
    }
}

impl Host for TestHost {
    fn pin_mode(&mut self, pin: i32, mode: i32) -> Result<(), HostError> {
        Self::check_pin(pin)?;
        if !(0..=MAX_MODE).contains(&mode) {
            return Err(HostError::InvalidArgument);
        }
        self.pin_modes.insert(pin, mode);
        self.mode_log.push((pin, mode));
        Ok(())
    }

    fn digital_write(&mut self, pin: i32, value: i32) -> Result<(), HostError> {
        Self::check_pin(pin)?;
        let at_ms = self.now_ms();
        self.digital_writes.push(PinWrite { pin, value, at_ms });
        Ok(())
    }

    fn digital_read(&mut self, pin: i32) -> Result<i32, HostError> {
        Self::check_pin(pin)?;
        Ok(i32::from(
            self.digital_inputs.get(&pin).copied().unwrap_or(0) != 0,
        ))
    }

    fn analog_write(&mut self, pin: i32, value: i32) -> Result<(), HostError> {
        Self::check_pin(pin)?;
        if !(0..=255).contains(&value) {
            return Err(HostError::InvalidArgument);
        }
        let at_ms = self.now_ms();
        self.analog_writes.push(PinWrite { pin, value, at_ms });
        Ok(())
    }

    fn analog_read(&mut self, pin: i32) -> Result<i32, HostError> {
        Self::check_pin(pin)?;
        Ok(self.analog_inputs.get(&pin).copied().unwrap_or(0))
    }

    fn delay_ms(&mut self, ms: u32) -> Result<(), HostError> {
        let step = u64::from(ms) * 1000;
        let target = self.now_us().saturating_add(step);
        if let Some(deadline) = self.deadline_ms.map(|d| d.saturating_mul(1000))
            && target > deadline
        {
            let now = self.now_us();
            self.delay_us = self.delay_us.saturating_add(deadline.saturating_sub(now));
            return Err(HostError::BudgetExceeded);
        }
        self.delay_us = self.delay_us.saturating_add(step);
        Ok(())
    }

    fn millis(&mut self) -> u32 {
        self.now_ms() as u32
    }

    fn micros(&mut self) -> u32 {
        self.now_us() as u32
    }

    fn console_write(&mut self, bytes: &[u8]) -> Result<(), HostError> {
        self.console.extend_from_slice(bytes);
        Ok(())
    }

    fn sync_cycles(&mut self, total_cycles: u64) {
        self.cycles = total_cycles;
        self.sync_calls += 1;
    }
}
