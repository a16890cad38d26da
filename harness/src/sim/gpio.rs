//! GPIO ports A–G: register files with RM0440 reset values and write semantics (RM0440 §9.4),
//! plus externally driven input levels (the harness's stimulus) and their schedule over board
//! time ([`InputSchedule`], shared by the `sim` and `emu` boards).

use cockpit_hypervisor::pins::{PIN_COUNT, Pin};

use crate::regmap::{GPIO_PORTS, gpio};

/// MODER field values (2 bits per pin).
pub mod mode {
    /// 00: input.
    pub const INPUT: u32 = 0b00;
    /// 01: general-purpose output.
    pub const OUTPUT: u32 = 0b01;
    /// 10: alternate function.
    pub const ALTERNATE: u32 = 0b10;
    /// 11: analog (reset state of most pins).
    pub const ANALOG: u32 = 0b11;
}

/// PUPDR field values (2 bits per pin).
pub mod pull {
    /// 00: no pull.
    pub const NONE: u32 = 0b00;
    /// 01: pull-up.
    pub const UP: u32 = 0b01;
    /// 10: pull-down.
    pub const DOWN: u32 = 0b10;
}

/// One GPIO port's registers (RM0440 §9.4) and the levels driven onto its pins from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpioPort {
    /// GPIOx_MODER.
    pub moder: u32,
    /// GPIOx_OTYPER (bits 0–15).
    pub otyper: u32,
    /// GPIOx_OSPEEDR.
    pub ospeedr: u32,
    /// GPIOx_PUPDR.
    pub pupdr: u32,
    /// GPIOx_ODR (bits 0–15).
    pub odr: u32,
    /// GPIOx_LCKR.
    pub lckr: u32,
    /// GPIOx_AFRL.
    pub afrl: u32,
    /// GPIOx_AFRH.
    pub afrh: u32,
    /// Pins with an externally driven level (bit mask); not a register, survives resets.
    pub ext_mask: u16,
    /// The externally driven levels (bit = high), valid where `ext_mask` is set.
    pub ext_level: u16,
}

impl GpioPort {
    /// Port `index` (0 = A) in its RM0440 reset state (§9.4): MODER 0xABFF_FFFF (A),
    /// 0xFFFF_FEBF (B), 0xFFFF_FFFF (others: all analog); OSPEEDR 0x0C00_0000 (A), 0 (others);
    /// PUPDR 0x6400_0000 (A), 0x0000_0100 (B), 0 (others); the rest 0. The debug pins
    /// (PA13/PA14/PA15, PB3/PB4) are in alternate-function mode after reset.
    pub const fn reset(index: usize) -> Self {
        let (moder, ospeedr, pupdr) = match index {
            0 => (0xABFF_FFFF, 0x0C00_0000, 0x6400_0000),
            1 => (0xFFFF_FEBF, 0x0000_0000, 0x0000_0100),
            _ => (0xFFFF_FFFF, 0x0000_0000, 0x0000_0000),
        };
        GpioPort {
            moder,
            otyper: 0,
            ospeedr,
            pupdr,
            odr: 0,
            lckr: 0,
            afrl: 0,
            afrh: 0,
            ext_mask: 0,
            ext_level: 0,
        }
    }

    /// Resets the registers, keeping the external levels.
    pub fn reset_registers(&mut self, index: usize) {
        let (mask, level) = (self.ext_mask, self.ext_level);
        *self = Self::reset(index);
        self.ext_mask = mask;
        self.ext_level = level;
    }

    /// The MODER field (a [`mode`] value) of pin `bit` (0–15, as [`Pin::bit`] gives).
    ///
    /// [`Pin::bit`]: cockpit_hypervisor::Pin::bit
    pub const fn mode(&self, bit: u8) -> u32 {
        (self.moder >> (2 * bit)) & 0b11
    }

    /// The PUPDR field (a [`pull`] value) of pin `bit` (0–15).
    pub const fn pull(&self, bit: u8) -> u32 {
        (self.pupdr >> (2 * bit)) & 0b11
    }

    /// GPIOx_IDR as the port computes it: output pins read their ODR level (push-pull); input
    /// and alternate-function pins read the externally driven level, else their pull (pull-up
    /// 1, pull-down 0, floating modelled as 0); analog pins read 0 (the Schmitt trigger is off,
    /// RM0440 §9.3.12).
    pub fn idr(&self) -> u32 {
        let mut idr = 0;
        for bit in 0..16u8 {
            let level = match self.mode(bit) {
                mode::OUTPUT => self.odr >> bit & 1 == 1,
                mode::ANALOG => false,
                _ if self.ext_mask >> bit & 1 == 1 => self.ext_level >> bit & 1 == 1,
                _ => self.pull(bit) == pull::UP,
            };
            idr |= u32::from(level) << bit;
        }
        idr
    }

    /// Reads the register at `offset`; BSRR and BRR are write-only and read 0 (RM0440 §9.4.7,
    /// §9.4.11). `None` for an offset that is not a GPIO register.
    pub fn read(&self, offset: u32) -> Option<u32> {
        Some(match offset {
            gpio::MODER => self.moder,
            gpio::OTYPER => self.otyper,
            gpio::OSPEEDR => self.ospeedr,
            gpio::PUPDR => self.pupdr,
            gpio::IDR => self.idr(),
            gpio::ODR => self.odr,
            o if gpio::WRITE_ONLY.contains(&o) => 0,
            gpio::LCKR => self.lckr,
            gpio::AFRL => self.afrl,
            gpio::AFRH => self.afrh,
            _ => return None,
        })
    }

    /// Writes the register at `offset` with the hardware's semantics: BSRR sets ODR bits 0–15
    /// and resets bits 16–31 (set wins when both are given); BRR resets; IDR is read-only;
    /// reserved bits of OTYPER/ODR (16–31) stay 0. Register locking (LCKR) is not modelled.
    /// Returns `false` for an offset that is not a GPIO register.
    pub fn write(&mut self, offset: u32, value: u32) -> bool {
        match offset {
            gpio::MODER => self.moder = value,
            gpio::OTYPER => self.otyper = value & 0xFFFF,
            gpio::OSPEEDR => self.ospeedr = value,
            gpio::PUPDR => self.pupdr = value,
            gpio::IDR => {}
            gpio::ODR => self.odr = value & 0xFFFF,
            gpio::BSRR => {
                let set = value & 0xFFFF;
                let reset = value >> 16;
                self.odr = (self.odr & !reset | set) & 0xFFFF;
            }
            gpio::LCKR => self.lckr = value & 0x1_FFFF,
            gpio::AFRL => self.afrl = value,
            gpio::AFRH => self.afrh = value,
            gpio::BRR => self.odr &= !(value & 0xFFFF),
            _ => return false,
        }
        true
    }

    /// Read-modify-writes the 2-bit field of pin `bit` (0–15) in the register at `offset`
    /// (MODER, OSPEEDR or PUPDR) to the low 2 bits of `field`. Does nothing for an offset that
    /// is not a GPIO register.
    pub fn write_field2(&mut self, offset: u32, bit: u8, field: u32) {
        if let Some(old) = self.read(offset) {
            let shift = 2 * u32::from(bit);
            self.write(offset, old & !(0b11 << shift) | (field & 0b11) << shift);
        }
    }

    /// Drives pin `bit` (0–15) from outside (`Some(level)`, `true` = high) or releases it
    /// (`None`).
    pub fn set_external(&mut self, bit: u8, level: Option<bool>) {
        let m = 1u16 << bit;
        match level {
            Some(high) => {
                self.ext_mask |= m;
                if high {
                    self.ext_level |= m;
                } else {
                    self.ext_level &= !m;
                }
            }
            None => {
                self.ext_mask &= !m;
                self.ext_level &= !m;
            }
        }
    }
}

/// All seven ports, A–G.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gpio {
    /// Ports by index (0 = A).
    pub ports: [GpioPort; GPIO_PORTS],
}

impl Default for Gpio {
    fn default() -> Self {
        Self::new()
    }
}

impl Gpio {
    /// All ports in reset state.
    pub fn new() -> Self {
        Gpio {
            ports: std::array::from_fn(GpioPort::reset),
        }
    }

    /// Resets all registers, keeping external levels.
    pub fn reset_registers(&mut self) {
        for (i, p) in self.ports.iter_mut().enumerate() {
            p.reset_registers(i);
        }
    }
}

/// The harness's input stimulus over time: levels driven onto logical pins from outside, each
/// from a board time (nanoseconds from the guest program's start; 0 = from reset) until the
/// pin's next entry. Boards apply it to their ports ([`InputSchedule::apply`]) before the
/// firmware or the HAL reads an input, so a read sees the level scheduled for its time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InputSchedule {
    /// `(at_ns, pin, high)`, sorted by time.
    entries: Vec<(u64, Pin, bool)>,
}

impl InputSchedule {
    /// Drives `pin` to `high` from board time `at_ns` on; replaces an entry of the same pin and
    /// time.
    pub fn set(&mut self, pin: Pin, high: bool, at_ns: u64) {
        self.entries.retain(|&(t, p, _)| (t, p) != (at_ns, pin));
        let i = self.entries.partition_point(|&(t, _, _)| t <= at_ns);
        self.entries.insert(i, (at_ns, pin, high));
    }

    /// Whether some level changes after time 0 (a board then needs the guest's start time).
    pub fn is_timed(&self) -> bool {
        self.entries.last().is_some_and(|&(t, _, _)| t > 0)
    }

    /// Sets the external level of every scheduled pin in `ports` (indexed as
    /// [`Gpio::ports`]) to its level at board time `now_ns`: its latest entry at or before
    /// `now_ns`, or not driven (its pull) before its first entry. Pins without entries are left
    /// as they are.
    pub fn apply(&self, ports: &mut [GpioPort], now_ns: u64) {
        if self.entries.is_empty() {
            return;
        }
        let mut level: [Option<Option<bool>>; PIN_COUNT] = [None; PIN_COUNT];
        for &(t, pin, high) in &self.entries {
            let l = &mut level[pin.index()];
            if t <= now_ns {
                *l = Some(Some(high));
            } else if l.is_none() {
                *l = Some(None);
            }
        }
        for (n, l) in level.into_iter().enumerate() {
            let (Some(l), Ok(pin)) = (l, Pin::new(n as i32)) else {
                continue;
            };
            if let Some(port) = ports.get_mut(usize::from(pin.port().0)) {
                port.set_external(pin.bit(), l);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_schedule_applies_the_level_of_each_time() {
        let key = Pin::new(16).expect("PC13");
        let other = Pin::new(3).expect("pin 3");
        let mut s = InputSchedule::default();
        assert!(!s.is_timed());
        s.set(key, false, 800);
        s.set(key, true, 0);
        s.set(key, true, 500);
        s.set(key, false, 500); // replaces the level at 500
        s.set(other, true, 600);
        assert!(s.is_timed());
        let mut g = Gpio::new();
        let bit = |g: &Gpio, p: Pin| {
            let port = &g.ports[usize::from(p.port().0)];
            (port.ext_mask >> p.bit() & 1, port.ext_level >> p.bit() & 1)
        };
        for (now, key_level, other_level) in [
            (0, (1, 1), (0, 0)),
            (499, (1, 1), (0, 0)),
            (500, (1, 0), (0, 0)),
            (600, (1, 0), (1, 1)),
            (799, (1, 0), (1, 1)),
            (800, (1, 0), (1, 1)),
            (100, (1, 1), (0, 0)), // back in time (a new run): not driven before 600
        ] {
            s.apply(&mut g.ports, now);
            assert_eq!(bit(&g, key), key_level, "key at {now}");
            assert_eq!(bit(&g, other), other_level, "pin 3 at {now}");
        }
        s.set(key, true, 800);
        s.apply(&mut g.ports, 800);
        assert_eq!(bit(&g, key), (1, 1), "800 replaced: high");
    }

    #[test]
    fn bsrr_set_wins_and_brr_resets() {
        let mut p = GpioPort::reset(2);
        p.write(gpio::BSRR, 1 << 6);
        assert_eq!(p.odr, 0x40);
        p.write(gpio::BSRR, 1 << 22);
        assert_eq!(p.odr, 0);
        p.write(gpio::BSRR, 1 << 6 | 1 << 22);
        assert_eq!(p.odr, 0x40, "set wins over reset");
        p.write(gpio::BRR, 1 << 6);
        assert_eq!(p.odr, 0);
        assert_eq!(p.read(gpio::BSRR), Some(0));
        assert_eq!(p.read(0x2C), None);
    }

    #[test]
    fn idr_follows_mode() {
        let mut p = GpioPort::reset(2);
        assert_eq!(p.idr(), 0, "analog pins read 0");
        p.write_field2(gpio::MODER, 13, mode::INPUT);
        p.write_field2(gpio::PUPDR, 13, pull::UP);
        assert_eq!(p.idr(), 1 << 13);
        p.set_external(13, Some(false));
        assert_eq!(p.idr(), 0, "driven low overrides the pull-up");
        p.set_external(13, None);
        p.write_field2(gpio::PUPDR, 13, pull::DOWN);
        assert_eq!(p.idr(), 0);
        p.write_field2(gpio::MODER, 6, mode::OUTPUT);
        p.write(gpio::ODR, 1 << 6);
        assert_eq!(p.idr(), 1 << 6);
    }
}
