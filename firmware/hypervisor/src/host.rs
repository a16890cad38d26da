//! `VmHost`: the VM's [`cockpit_vm::Host`] over a [`Board`], with the Arduino HAL rules that are
//! the same on every board and the run's board-time deadline.

use cockpit_vm::{Host, HostError};

use crate::board::Board;
use crate::pins::{PIN_COUNT, Pin, PinMode};

/// Maps the VM's HAL calls onto a [`Board`].
///
/// Rules (reference §4.7, tightened where the original had no G4 implementation):
/// - pins 0–16 and modes 0–3 only, else [`HostError::InvalidArgument`];
/// - `digitalWrite`/`analogWrite` need the pin configured as OUTPUT by `pinMode` in this run,
///   else [`HostError::HardwareFault`] (as the original IOController);
/// - `analogWrite` duty 0–255, else `InvalidArgument`;
/// - `millis`/`micros` count from the creation of the host (program start), wrapping at 2^32;
/// - the run's deadline (board time, µs): a `delay` reaching past it waits until the deadline
///   and fails with [`HostError::BudgetExceeded`]; any other fallible HAL call made after it fails
///   the same way;
/// - `sync_cycles` forwards the interpreter's cycle deltas to [`Board::account_cycles`].
pub struct VmHost<'b, B: Board> {
    board: &'b mut B,
    modes: [Option<PinMode>; PIN_COUNT],
    start_us: u64,
    deadline_us: Option<u64>,
    synced_cycles: u64,
}

impl<'b, B: Board> VmHost<'b, B> {
    /// A host for one run. `deadline_us` is absolute board time ([`Board::now_us`]) or `None`;
    /// `vm_cycles` is the VM's current cycle total (0 after a VM reset), the base for
    /// `sync_cycles` deltas. Program time (millis/micros) starts now.
    pub fn new(board: &'b mut B, deadline_us: Option<u64>, vm_cycles: u64) -> Self {
        let start_us = board.clock_us();
        VmHost {
            board,
            modes: [None; PIN_COUNT],
            start_us,
            deadline_us,
            synced_cycles: vm_cycles,
        }
    }

    /// The board.
    pub fn board(&mut self) -> &mut B {
        self.board
    }

    /// Whether board time has reached the deadline.
    pub fn past_deadline(&self) -> bool {
        self.deadline_us.is_some_and(|d| self.board.clock_us() >= d)
    }

    fn check_time(&self) -> Result<(), HostError> {
        if self.past_deadline() {
            Err(HostError::BudgetExceeded)
        } else {
            Ok(())
        }
    }

    fn output_pin(&self, pin: i32) -> Result<Pin, HostError> {
        let pin = Pin::new(pin)?;
        if self.modes[pin.index()] != Some(PinMode::Output) {
            return Err(HostError::HardwareFault);
        }
        Ok(pin)
    }

    fn elapsed_us(&self) -> u64 {
        self.board.now_us().saturating_sub(self.start_us)
    }
}

impl<B: Board> Host for VmHost<'_, B> {
    fn pin_mode(&mut self, pin: i32, mode: i32) -> Result<(), HostError> {
        let pin = Pin::new(pin)?;
        let mode = PinMode::from_i32(mode)?;
        self.check_time()?;
        self.board.pin_mode(pin, mode)?;
        self.modes[pin.index()] = Some(mode);
        Ok(())
    }

    fn digital_write(&mut self, pin: i32, value: i32) -> Result<(), HostError> {
        let pin = self.output_pin(pin)?;
        self.check_time()?;
        self.board.digital_write(pin, value != 0)
    }

    fn digital_read(&mut self, pin: i32) -> Result<i32, HostError> {
        let pin = Pin::new(pin)?;
        self.check_time()?;
        Ok(self.board.digital_read(pin)? as i32)
    }

    fn analog_write(&mut self, pin: i32, value: i32) -> Result<(), HostError> {
        let pin = self.output_pin(pin)?;
        let duty = u8::try_from(value).map_err(|_| HostError::InvalidArgument)?;
        self.check_time()?;
        self.board.analog_write(pin, duty)
    }

    fn analog_read(&mut self, pin: i32) -> Result<i32, HostError> {
        let pin = Pin::new(pin)?;
        self.check_time()?;
        Ok(i32::from(self.board.analog_read(pin)?.min(4095)))
    }

    fn delay_ms(&mut self, ms: u32) -> Result<(), HostError> {
        let now = self.board.now_us();
        let want = u64::from(ms) * 1000;
        match self.deadline_us {
            Some(deadline) if now.saturating_add(want) > deadline => {
                self.board.delay_us(deadline.saturating_sub(now));
                Err(HostError::BudgetExceeded)
            }
            _ => {
                self.board.delay_us(want);
                Ok(())
            }
        }
    }

    fn millis(&mut self) -> u32 {
        (self.elapsed_us() / 1000) as u32
    }

    fn micros(&mut self) -> u32 {
        self.elapsed_us() as u32
    }

    fn console_write(&mut self, bytes: &[u8]) -> Result<(), HostError> {
        self.check_time()?;
        self.board.console_write(bytes)
    }

    fn sync_cycles(&mut self, total_cycles: u64) {
        let delta = total_cycles.saturating_sub(self.synced_cycles);
        self.synced_cycles = total_cycles.max(self.synced_cycles);
        if delta > 0 {
            self.board.account_cycles(delta);
        }
    }
}
