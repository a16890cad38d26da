//! The hypervisor [`Board`] over the STM32G474's registers: logical pins on GPIOA–C (map in
//! `cockpit_hypervisor::pins`), the console on the profile's UART (`crate::uart`), time from DWT CYCCNT.
//!
//! GPIO register use (RM0440 §9.4): RCC_AHB2ENR.GPIOxEN (bit = port index) before the first
//! access; MODER (00 input / 01 output), PUPDR (00 / 01 up / 10 down), OTYPER = 0 (push-pull),
//! OSPEEDR = 00; an output is driven low through BSRR before MODER turns it into an output;
//! writes through BSRR (set = bit, reset = bit + 16), reads from IDR.
//!
//! Every [`Board`] method runs in the firmware MPU configuration ([`mpu::firmware`]): the run
//! loop calls them from inside the guest configuration.
//!
//! Not on this board yet: timer PWM and the ADC. `analog_write` drives the pin high for duty
//! ≥ 128, low otherwise; `analog_read` returns 0 or 4095 from the digital input level.

use core::sync::atomic::{AtomicU32, Ordering};

use cockpit_hypervisor::telemetry::TelemetryRecord;
use cockpit_hypervisor::{Board, Pin, PinMode};
use cockpit_vm::HostError;

use crate::{mpu, pac, time, uart, watchdog};

/// Millisecond time (low 32 bits) of the guest's last HAL call: the run loop's liveness signal
/// for the watchdog (see `main.rs`).
pub static LAST_HAL_MS: AtomicU32 = AtomicU32::new(0);

fn touch() {
    LAST_HAL_MS.store(time::now_ms() as u32, Ordering::Relaxed);
}

const GPIO_BASE: u32 = 0x4800_0000;
const GPIO_STRIDE: u32 = 0x400;

fn port(pin: Pin) -> &'static pac::gpioc::RegisterBlock {
    let addr = GPIO_BASE + GPIO_STRIDE * u32::from(pin.port().0);
    // SAFETY: GPIOA–G share one register layout at 0x4800_0000 + 0x400 × port (RM0440 §2.2);
    // the logical pin map only names ports A–C.
    unsafe { &*(addr as *const pac::gpioc::RegisterBlock) }
}

/// Configures a pin (module docs). Also used for the user key and the fail-safe outputs.
pub fn configure(pin: Pin, mode: PinMode) {
    // SAFETY: the RCC block is always mapped; a read-modify-write of one enable bit.
    let rcc = unsafe { &*pac::RCC::PTR };
    let en = 1u32 << pin.port().0;
    if rcc.ahb2enr().read().bits() & en == 0 {
        rcc.ahb2enr()
            .modify(|r, w| unsafe { w.bits(r.bits() | en) });
        let _ = rcc.ahb2enr().read().bits();
    }
    let g = port(pin);
    let b = u32::from(pin.bit());
    let two = 0b11 << (2 * b);
    let (moder, pupd) = match mode {
        PinMode::Input => (0b00, 0b00),
        PinMode::Output => (0b01, 0b00),
        PinMode::InputPullup => (0b00, 0b01),
        PinMode::InputPulldown => (0b00, 0b10),
    };
    // SAFETY (bits writes): 2-bit fields with valid encodings; BSRR is write-only set/reset.
    g.pupdr()
        .modify(|r, w| unsafe { w.bits((r.bits() & !two) | (pupd << (2 * b))) });
    if mode == PinMode::Output {
        g.otyper()
            .modify(|r, w| unsafe { w.bits(r.bits() & !(1 << b)) });
        g.ospeedr()
            .modify(|r, w| unsafe { w.bits(r.bits() & !two) });
        g.bsrr().write(|w| unsafe { w.bits(1 << (b + 16)) });
    }
    g.moder()
        .modify(|r, w| unsafe { w.bits((r.bits() & !two) | (moder << (2 * b))) });
}

/// Drives a pin through BSRR.
pub fn write_pin(pin: Pin, high: bool) {
    let b = u32::from(pin.bit());
    let v = if high { 1 << b } else { 1 << (b + 16) };
    port(pin).bsrr().write(|w| unsafe { w.bits(v) });
}

/// Reads a pin's input level from IDR.
pub fn read_pin(pin: Pin) -> bool {
    port(pin).idr().read().bits() & (1 << pin.bit()) != 0
}

/// The board the hypervisor run loop drives.
pub struct G4Board {
    _private: (),
}

impl G4Board {
    /// The board (clocks, the console UART and the time base must be initialised).
    pub const fn new() -> Self {
        G4Board { _private: () }
    }
}

impl Board for G4Board {
    fn pin_mode(&mut self, pin: Pin, mode: PinMode) -> Result<(), HostError> {
        mpu::firmware(|| {
            touch();
            configure(pin, mode);
        });
        Ok(())
    }

    fn digital_write(&mut self, pin: Pin, high: bool) -> Result<(), HostError> {
        mpu::firmware(|| {
            touch();
            write_pin(pin, high);
        });
        Ok(())
    }

    fn digital_read(&mut self, pin: Pin) -> Result<bool, HostError> {
        mpu::firmware(|| {
            touch();
            Ok(read_pin(pin))
        })
    }

    fn analog_write(&mut self, pin: Pin, duty: u8) -> Result<(), HostError> {
        mpu::firmware(|| {
            touch();
            write_pin(pin, duty >= 128);
        });
        Ok(())
    }

    fn analog_read(&mut self, pin: Pin) -> Result<u16, HostError> {
        mpu::firmware(|| {
            touch();
            Ok(if read_pin(pin) { 4095 } else { 0 })
        })
    }

    fn console_write(&mut self, bytes: &[u8]) -> Result<(), HostError> {
        mpu::firmware(|| {
            touch();
            uart::write(bytes);
        });
        Ok(())
    }

    fn now_us(&self) -> u64 {
        mpu::firmware(|| {
            touch();
            time::now_us()
        })
    }

    /// The run loop's deadline checks are not guest activity: no `touch`, or a hung guest
    /// under a harness time budget would keep the watchdog fed.
    fn clock_us(&self) -> u64 {
        mpu::firmware(time::now_us)
    }

    fn delay_us(&mut self, us: u64) {
        // Sleep with `wfi` between SysTick interrupts (one per ms) while more than 1 ms
        // remains — the core stops instead of spinning (power; the emu board skips the idle
        // cycles) — then finish the sub-ms remainder on CYCCNT. SysTick always wakes the core
        // within 1 ms, so the sleep never overshoots `end`.
        mpu::firmware(|| {
            let end = time::now_us().saturating_add(us);
            loop {
                // A guest waiting in delay() is alive: keep the watchdog fed.
                touch();
                watchdog::feed();
                let now = time::now_us();
                if now >= end {
                    break;
                }
                if end - now > 1_000 {
                    cortex_m::asm::wfi();
                }
            }
            touch();
        });
    }

    fn account_cycles(&mut self, _cycles: u64) {
        // Real time passes by itself.
    }

    fn publish_telemetry(&mut self, record: &TelemetryRecord) {
        mpu::firmware(|| crate::records::publish_telemetry(record));
    }

    fn publish_vm_snapshot(&mut self, snapshot: &cockpit_hypervisor::VmSnapshot) {
        mpu::firmware(|| crate::records::publish_vm_snapshot(snapshot));
    }
}
