//! The `Board` trait: what the hypervisor needs from a board (real STM32G474 or the `sim` model),
//! and the `Flash` trait for reading program flash.

use core::ops::Range;

use cockpit_vm::HostError;

use crate::pins::{Pin, PinMode};
use crate::telemetry::TelemetryRecord;
use crate::vmsnap::VmSnapshot;

/// One board's peripherals and time, as the hypervisor uses them.
///
/// HAL semantics that are the same on every board (pin/mode validation, "digitalWrite needs an
/// OUTPUT pin", the run's time budget) live in [`crate::VmHost`]; a `Board` only performs the
/// operation. Implementations: the `sim` board in the harness (virtual time), and later the
/// STM32G474 firmware (issue 5).
pub trait Board {
    /// Configures a pin as the firmware does in registers (RM0440 §9.4): MODER 00 input /
    /// 01 output, PUPDR 00 none / 01 pull-up / 10 pull-down, OTYPER push-pull, OSPEEDR low;
    /// enables the port's clock (RCC_AHB2ENR.GPIOxEN) first.
    /// Errors: [`HostError::HardwareFault`] if the board cannot.
    fn pin_mode(&mut self, pin: Pin, mode: PinMode) -> Result<(), HostError>;

    /// Drives an output pin high or low (through GPIOx_BSRR).
    fn digital_write(&mut self, pin: Pin, high: bool) -> Result<(), HostError>;

    /// Reads the pin's input level (GPIOx_IDR); `true` = high.
    fn digital_read(&mut self, pin: Pin) -> Result<bool, HostError>;

    /// Sets a PWM duty of `duty`/255 on an output pin (0 = constantly low, 255 = constantly high).
    fn analog_write(&mut self, pin: Pin, duty: u8) -> Result<(), HostError>;

    /// Samples the pin with the 12-bit ADC: 0…4095.
    fn analog_read(&mut self, pin: Pin) -> Result<u16, HostError>;

    /// Sends bytes on the console UART (USART1, 115200 8N1), blocking until sent.
    fn console_write(&mut self, bytes: &[u8]) -> Result<(), HostError>;

    /// Monotonic board time in microseconds since the board's reset (virtual on `sim`), for
    /// the guest (`millis`/`micros`): a guest HAL call.
    fn now_us(&self) -> u64;

    /// The same clock for the run loop's own checks (the budget deadline): not a guest HAL
    /// call, so a board that counts HAL calls as liveness (the firmware's hang detection)
    /// must not count these. Default: [`Board::now_us`].
    fn clock_us(&self) -> u64 {
        self.now_us()
    }

    /// Busy-waits `us` microseconds of board time (on `sim`: advances the virtual clock).
    fn delay_us(&mut self, us: u64);

    /// Accounts `cycles` CPU cycles (at 170 MHz) of guest interpretation, per the VM's cost model
    /// (`cockpit_vm::isa::Opcode::cycles`). A simulated board advances its virtual clock by
    /// them; a real board, whose time passes by itself, ignores them.
    fn account_cycles(&mut self, cycles: u64);

    /// Stores the telemetry record where a debugger reads it
    /// ([`crate::telemetry::TELEMETRY_ADDR`]).
    fn publish_telemetry(&mut self, record: &TelemetryRecord);

    /// Stores the VM snapshot record (stack and globals) where a debugger reads it
    /// ([`crate::vmsnap::VM_SNAPSHOT_ADDR`]). Called by [`crate::run()`] when the guest starts
    /// and when it stops (halt, fault, budget). Default: not published (a board that reads the
    /// `Vm` directly, like `sim`, does not need it).
    fn publish_vm_snapshot(&mut self, _snapshot: &VmSnapshot) {}
}

/// Why a flash read failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlashError {
    /// `addr .. addr + len` is not inside the flash.
    OutOfRange {
        /// First byte address requested.
        addr: u32,
        /// Length requested, in bytes.
        len: usize,
    },
}

impl core::fmt::Display for FlashError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FlashError::OutOfRange { addr, len } => {
                write!(
                    f,
                    "flash read of {len} bytes at {addr:#010x} is out of range"
                )
            }
        }
    }
}

/// Read access to program flash, memory-mapped (reads borrow the bytes in place).
///
/// Deliberately separate from [`Board`]: a `cockpit_vm::Program` borrows the image bytes from
/// flash (shared borrow, for the whole run) while the VM host borrows the board mutably to drive
/// pins and time. If flash reads went through `&self` of the same `Board` object, the program's
/// borrow would forbid the host's `&mut Board`. On the real MCU flash is memory-mapped, so the
/// implementation is a slice over `0x0800_0000..`; on `sim` it is a separate byte buffer.
pub trait Flash {
    /// Borrows `len` bytes at byte address `addr`. Errors: [`FlashError::OutOfRange`].
    fn read(&self, addr: u32, len: usize) -> Result<&[u8], FlashError>;
}

/// A flash over a byte slice that starts at `base` (tests, host tools).
#[derive(Clone, Copy, Debug)]
pub struct SliceFlash<'a> {
    /// Address of `bytes[0]`.
    pub base: u32,
    /// The flash contents.
    pub bytes: &'a [u8],
}

impl Flash for SliceFlash<'_> {
    fn read(&self, addr: u32, len: usize) -> Result<&[u8], FlashError> {
        byte_range(self.base, addr, len)
            .and_then(|r| self.bytes.get(r))
            .ok_or(FlashError::OutOfRange { addr, len })
    }
}

/// Indices into a memory's contents (whose first byte is at address `base`) of the `len` bytes
/// at address `addr`: `addr - base .. addr - base + len`. `None` if `addr < base` or the end
/// overflows `usize`; the caller checks the end against the memory's size (`slice.get(range)`).
/// The one address → index computation of every [`Flash`] implementation (and of the `sim`
/// board's RAM).
pub fn byte_range(base: u32, addr: u32, len: usize) -> Option<Range<usize>> {
    let start = usize::try_from(addr.checked_sub(base)?).ok()?;
    Some(start..start.checked_add(len)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_range_rejects_addresses_below_the_base_and_overflow() {
        assert_eq!(byte_range(0x0800_0000, 0x0800_0010, 4), Some(0x10..0x14));
        assert_eq!(byte_range(0x0800_0000, 0x0800_0000, 0), Some(0..0));
        assert_eq!(byte_range(0x0800_0000, 0x07FF_FFFF, 4), None);
        assert_eq!(byte_range(0, u32::MAX, usize::MAX), None);

        let bytes = [1, 2, 3, 4];
        let f = SliceFlash {
            base: 0x100,
            bytes: &bytes,
        };
        assert_eq!(f.read(0x102, 2), Ok(&bytes[2..]));
        let out = |addr, len| Err(FlashError::OutOfRange { addr, len });
        assert_eq!(f.read(0x103, 2), out(0x103, 2), "past the end");
        assert_eq!(f.read(0xFF, 1), out(0xFF, 1), "below the base");
        assert_eq!(
            f.read(0x101, usize::MAX),
            out(0x101, usize::MAX),
            "overflow"
        );
    }
}
