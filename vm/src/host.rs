//! The interface through which the HAL opcodes (0x10–0x1A) reach the board.
//!
//! The engine passes guest values through unvalidated (as `i32`); the host decides what is a
//! valid pin or mode and answers with [`HostError::InvalidArgument`] otherwise.

/// Why a HAL call failed; the engine turns it into the matching [`crate::VmError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostError {
    /// A pin, mode or value out of range → `INVALID_ARGUMENT` (13).
    InvalidArgument,
    /// The board failed → `HARDWARE_FAULT` (9).
    HardwareFault,
    /// The run's virtual-time budget ran out during the call → `BUDGET_EXCEEDED` (12).
    BudgetExceeded,
}

impl From<HostError> for crate::VmError {
    fn from(e: HostError) -> Self {
        match e {
            HostError::InvalidArgument => crate::VmError::InvalidArgument,
            HostError::HardwareFault => crate::VmError::HardwareFault,
            HostError::BudgetExceeded => crate::VmError::BudgetExceeded,
        }
    }
}

/// Arduino HAL services for one VM. Implemented by the hypervisor over a board, and by test doubles.
pub trait Host {
    /// `pinMode(pin, mode)`; modes: 0 INPUT, 1 OUTPUT, 2 INPUT_PULLUP, 3 INPUT_PULLDOWN.
    fn pin_mode(&mut self, pin: i32, mode: i32) -> Result<(), HostError>;
    /// `digitalWrite(pin, value)`; any non-zero value is HIGH.
    fn digital_write(&mut self, pin: i32, value: i32) -> Result<(), HostError>;
    /// `digitalRead(pin)`; returns 0 or 1.
    fn digital_read(&mut self, pin: i32) -> Result<i32, HostError>;
    /// `analogWrite(pin, value)`; value 0…255 (Arduino PWM duty).
    fn analog_write(&mut self, pin: i32, value: i32) -> Result<(), HostError>;
    /// `analogRead(pin)`; returns 0…4095 (12-bit ADC).
    fn analog_read(&mut self, pin: i32) -> Result<i32, HostError>;
    /// `delay(ms)`: blocks for `ms` milliseconds (virtual time on a simulated board).
    fn delay_ms(&mut self, ms: u32) -> Result<(), HostError>;
    /// `millis()`: milliseconds since the program started, wrapping at 2^32.
    fn millis(&mut self) -> u32;
    /// `micros()`: microseconds since the program started, wrapping at 2^32.
    fn micros(&mut self) -> u32;
    /// Console output (USART1 on the board): formatted `printf` text, in pieces.
    fn console_write(&mut self, bytes: &[u8]) -> Result<(), HostError>;
    /// Called by the engine before every HAL call and when `run` returns, with the total modelled
    /// cycles executed so far ([`crate::isa::Opcode::cycles`]), so that a simulated board can
    /// advance its virtual clock. Real hardware keeps its own time and ignores it.
    fn sync_cycles(&mut self, total_cycles: u64) {
        let _ = total_cycles;
    }
}
