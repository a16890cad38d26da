//! `SimBoard`: the modelled STM32G474 peripherals and virtual time, implementing the
//! hypervisor's [`Board`]. HAL calls change the registers exactly as the firmware's register
//! writes would (RM0440 §9.4), so plans can check register values.

use cockpit_hypervisor::pins::{PIN_COUNT, Pin, PinMode};
use cockpit_hypervisor::telemetry::TELEMETRY_ADDR;
use cockpit_hypervisor::{Board, TelemetryRecord};
use cockpit_vm::HostError;

use super::clock::VirtualClock;
use super::gpio::{Gpio, GpioPort, InputSchedule, mode, pull};
use super::memory::Ram;
use super::rcc::Rcc;
use super::usart::Usart;
use crate::regmap::gpio;
use crate::target::PinEdge;

/// GPIOA AFRH value with PA9 (USART1_TX) and PA10 (USART1_RX) in AF7 (bits 7:4 and 11:8).
pub const GPIOA_AFRH_USART1: u32 = 7 << 4 | 7 << 8;

/// The simulated board: registers, RAM, virtual clock, console transcript, pin-edge log and the
/// harness's input stimuli.
///
/// # The pin-edge log
///
/// [`SimBoard::edges`] records the level of each logical pin from the first time it is
/// configured as an output in a run: one [`PinEdge`] per change of the level the pin reads
/// (GPIOx_IDR bit), time-stamped with the virtual clock. While the pin is an output that level is
/// its ODR bit; when `pinMode` releases it to an input it is the injected level, else the pull
/// (pull-up 1, pull-down 0, floating modelled as 0), so a pin that was high and becomes a
/// floating input logs a falling edge, and one that becomes an output again logs its ODR level if
/// that differs. A pin that becomes an output at low level logs nothing (it was not high before);
/// pins never configured as outputs in the run log nothing.
#[derive(Clone, Debug)]
pub struct SimBoard {
    clock: VirtualClock,
    gpio: Gpio,
    rcc: Rcc,
    usart1: Usart,
    usart2: Usart,
    usart3: Usart,
    ram: Ram,
    edges: Vec<PinEdge>,
    /// Last level logged per logical pin (`None` = not configured as an output in this run).
    last_level: [Option<bool>; PIN_COUNT],
    /// Analog input levels injected by the harness (12-bit).
    analog_in: [u16; PIN_COUNT],
    /// Digital input levels the harness schedules over the run ([`SimBoard::schedule_input`]).
    inputs: InputSchedule,
}

impl Default for SimBoard {
    fn default() -> Self {
        Self::new()
    }
}

impl SimBoard {
    /// A board in boot state (see [`SimBoard::reset`]).
    pub fn new() -> Self {
        let mut b = SimBoard {
            clock: VirtualClock::new(),
            gpio: Gpio::new(),
            rcc: Rcc::boot(),
            usart1: Usart::console(),
            usart2: Usart::reset(),
            usart3: Usart::reset(),
            ram: Ram::new(),
            edges: Vec::new(),
            last_level: [None; PIN_COUNT],
            analog_in: [0; PIN_COUNT],
            inputs: InputSchedule::default(),
        };
        b.reset();
        b
    }

    /// Puts the board in the state the hypervisor firmware leaves it in before starting a guest:
    /// registers at RM0440 reset values, then the clock tree at 170 MHz ([`Rcc::boot`]), USART1
    /// as the 115200-baud console ([`Usart::console`]) on PA9/PA10 in AF7 (GPIOA MODER fields
    /// 10, AFRH 7), RAM zeroed, clock at 0, console and edges cleared. Injected inputs (digital
    /// levels and analog values) are kept: they are the harness's stimulus, not board state;
    /// scheduled inputs take their level at time 0.
    pub fn reset(&mut self) {
        self.clock.reset();
        self.gpio.reset_registers();
        self.sync_inputs();
        let pa = &mut self.gpio.ports[0];
        pa.write_field2(gpio::MODER, 9, mode::ALTERNATE);
        pa.write_field2(gpio::MODER, 10, mode::ALTERNATE);
        pa.write(gpio::AFRH, GPIOA_AFRH_USART1);
        self.rcc = Rcc::boot();
        self.usart1 = Usart::console();
        self.usart2 = Usart::reset();
        self.usart3 = Usart::reset();
        self.ram.clear();
        self.edges.clear();
        self.last_level = [None; PIN_COUNT];
    }

    /// Drives a logical pin's input from outside: `Some(level)`, or `None` to release it (then
    /// an input reads its pull). Survives [`SimBoard::reset`].
    pub fn set_input(&mut self, pin: Pin, level: Option<bool>) {
        self.port_mut(pin).set_external(pin.bit(), level);
    }

    /// Drives a logical pin's input to `high` from virtual time `at_ns` (nanoseconds since
    /// [`SimBoard::reset`], the program's start) until the pin's next scheduled level (see
    /// [`InputSchedule`]); before its first scheduled time the pin is not driven. Survives
    /// [`SimBoard::reset`]: every run replays the schedule.
    pub fn schedule_input(&mut self, pin: Pin, high: bool, at_ns: u64) {
        self.inputs.set(pin, high, at_ns);
        self.sync_inputs();
    }

    /// Applies the input schedule at the current virtual time: the HAL calls this before they
    /// look at a pin's input level, so a read sees exactly the level scheduled for its time
    /// (the clock has already advanced by the cycles of the instructions before the call).
    pub fn sync_inputs(&mut self) {
        self.inputs.apply(&mut self.gpio.ports, self.clock.now_ns());
    }

    /// Sets the voltage an `analogRead` of `pin` samples, as a 12-bit value (clamped to 4095).
    /// Survives [`SimBoard::reset`].
    pub fn set_analog(&mut self, pin: Pin, value: u16) {
        self.analog_in[pin.index()] = value.min(4095);
    }

    /// The virtual clock.
    pub fn clock(&self) -> &VirtualClock {
        &self.clock
    }

    /// The GPIO ports.
    pub fn gpio(&self) -> &Gpio {
        &self.gpio
    }

    /// RCC and FLASH_ACR.
    pub fn rcc(&self) -> &Rcc {
        &self.rcc
    }

    /// USART `n` (1, 2 or 3).
    pub fn usart(&self, n: u8) -> Option<&Usart> {
        match n {
            1 => Some(&self.usart1),
            2 => Some(&self.usart2),
            3 => Some(&self.usart3),
            _ => None,
        }
    }

    /// SRAM contents.
    pub fn ram(&self) -> &Ram {
        &self.ram
    }

    /// The console (USART1) transcript since the last reset.
    pub fn console(&self) -> &[u8] {
        &self.usart1.transcript
    }

    /// Level changes of pins configured as outputs, since the last reset, in time order (see
    /// "The pin-edge log" on [`SimBoard`]).
    pub fn edges(&self) -> &[PinEdge] {
        &self.edges
    }

    fn port_mut(&mut self, pin: Pin) -> &mut GpioPort {
        &mut self.gpio.ports[pin.port().0 as usize]
    }

    fn port(&self, pin: Pin) -> &GpioPort {
        &self.gpio.ports[pin.port().0 as usize]
    }

    /// Logs an edge if the level `pin` reads (IDR: ODR for an output, else the injected level or
    /// the pull) differs from the last logged level. Nothing is logged for a pin not yet
    /// configured as an output in this run, nor when it first becomes one at low level.
    fn log_edge(&mut self, pin: Pin) {
        self.sync_inputs();
        let port = self.port(pin);
        let level = port.idr() >> pin.bit() & 1 == 1;
        let last = self.last_level[pin.index()];
        if last.is_none() && port.mode(pin.bit()) != mode::OUTPUT {
            return;
        }
        if last != Some(level) {
            if last.is_some() || level {
                self.edges.push(PinEdge {
                    pin: pin.number(),
                    high: level,
                    at_ns: self.clock.now_ns(),
                });
            }
            self.last_level[pin.index()] = Some(level);
        }
    }

    fn write_level(&mut self, pin: Pin, high: bool) {
        let bit = u32::from(pin.bit());
        let bsrr = if high { 1 << bit } else { 1 << (bit + 16) };
        self.port_mut(pin).write(gpio::BSRR, bsrr);
        self.log_edge(pin);
    }
}

impl Board for SimBoard {
    fn pin_mode(&mut self, pin: Pin, m: PinMode) -> Result<(), HostError> {
        let index = pin.port().0 as usize;
        self.rcc.enable_gpio(index);
        let bit = pin.bit();
        let port = self.port_mut(pin);
        let (moder, pupd) = match m {
            PinMode::Input => (mode::INPUT, pull::NONE),
            PinMode::Output => (mode::OUTPUT, pull::NONE),
            PinMode::InputPullup => (mode::INPUT, pull::UP),
            PinMode::InputPulldown => (mode::INPUT, pull::DOWN),
        };
        if m == PinMode::Output {
            // Push-pull, low speed, as HAL_GPIO_Init with GPIO_SPEED_FREQ_LOW.
            let otyper = port.otyper & !(1 << bit);
            port.write(gpio::OTYPER, otyper);
            port.write_field2(gpio::OSPEEDR, bit, 0b00);
        }
        port.write_field2(gpio::PUPDR, bit, pupd);
        port.write_field2(gpio::MODER, bit, moder);
        self.log_edge(pin);
        Ok(())
    }

    fn digital_write(&mut self, pin: Pin, high: bool) -> Result<(), HostError> {
        self.write_level(pin, high);
        Ok(())
    }

    fn digital_read(&mut self, pin: Pin) -> Result<bool, HostError> {
        self.sync_inputs();
        Ok(self.port(pin).idr() >> pin.bit() & 1 == 1)
    }

    /// No timer/PWM model: duty 0 and 255 drive the pin low/high through BSRR (as Arduino's
    /// `analogWrite` does); other duties leave the pin level unchanged.
    fn analog_write(&mut self, pin: Pin, duty: u8) -> Result<(), HostError> {
        match duty {
            0 => self.write_level(pin, false),
            255 => self.write_level(pin, true),
            _ => {}
        }
        Ok(())
    }

    fn analog_read(&mut self, pin: Pin) -> Result<u16, HostError> {
        Ok(self.analog_in[pin.index()])
    }

    /// Blocking transmit on USART1: each byte advances virtual time by 10 bit-times
    /// (10 × BRR = 14 760 cycles ≈ 86.8 µs at 115200 baud). Error: `HardwareFault` if USART1
    /// is not enabled.
    fn console_write(&mut self, bytes: &[u8]) -> Result<(), HostError> {
        for &b in bytes {
            let cycles = self.usart1.transmit(b).ok_or(HostError::HardwareFault)?;
            self.clock.advance(cycles);
        }
        Ok(())
    }

    fn now_us(&self) -> u64 {
        self.clock.now_us()
    }

    fn delay_us(&mut self, us: u64) {
        self.clock.advance_us(us);
    }

    fn account_cycles(&mut self, cycles: u64) {
        self.clock.advance(cycles);
    }

    fn publish_telemetry(&mut self, record: &TelemetryRecord) {
        self.ram.write(TELEMETRY_ADDR, &record.encode());
    }
}
