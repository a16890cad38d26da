//! Logical pins and pin modes: the original CockpitVM's STM32G474 pin map
//! (reference §6.2, `platform/stm32g4/stm32g4_gpio.c`).
//!
//! | Logical | Port pin | Use |
//! |---|---|---|
//! | 0–7 | PA0–PA7 | |
//! | 8–12 | PB0–PB4 | |
//! | 13 | PC6 | on-board LED (active high) |
//! | 14, 15 | PC7, PC8 | |
//! | 16 | PC13 | user key |

use cockpit_vm::HostError;

/// Number of logical pins (0–16).
pub const PIN_COUNT: usize = 17;

/// The logical pin of the on-board LED (PC6).
pub const LED: Pin = Pin(13);
/// The logical pin of the user key (PC13).
pub const USER_KEY: Pin = Pin(16);

/// A GPIO port letter, as an index: 0 = A … 6 = G (RM0440 §9: ports A–G on the STM32G474).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Port(pub u8);

impl Port {
    /// The port letter (`'A'`…`'G'`).
    pub const fn letter(self) -> char {
        (b'A' + self.0) as char
    }
}

/// A validated logical pin number (0–16).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pin(u8);

/// The logical pin map: `(port index, bit)` per logical pin.
const MAP: [(u8, u8); PIN_COUNT] = [
    (0, 0),
    (0, 1),
    (0, 2),
    (0, 3),
    (0, 4),
    (0, 5),
    (0, 6),
    (0, 7),
    (1, 0),
    (1, 1),
    (1, 2),
    (1, 3),
    (1, 4),
    (2, 6),
    (2, 7),
    (2, 8),
    (2, 13),
];

impl Pin {
    /// Validates a guest pin number. Errors: [`HostError::InvalidArgument`] outside 0–16.
    pub const fn new(pin: i32) -> Result<Pin, HostError> {
        if pin >= 0 && pin < PIN_COUNT as i32 {
            Ok(Pin(pin as u8))
        } else {
            Err(HostError::InvalidArgument)
        }
    }

    /// The logical number (0–16).
    pub const fn number(self) -> u8 {
        self.0
    }

    /// The index into per-pin tables (`0..PIN_COUNT`).
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The GPIO port of this pin.
    pub const fn port(self) -> Port {
        Port(MAP[self.0 as usize].0)
    }

    /// The bit (0–15) of this pin within its port's registers.
    pub const fn bit(self) -> u8 {
        MAP[self.0 as usize].1
    }
}

/// Arduino pin modes, numbered as the guest passes them to `pinMode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PinMode {
    /// 0: input, floating (MODER 00, PUPDR 00).
    Input = 0,
    /// 1: push-pull output, no pull, low speed (MODER 01, OTYPER 0, OSPEEDR 00, PUPDR 00).
    Output = 1,
    /// 2: input with pull-up (MODER 00, PUPDR 01).
    InputPullup = 2,
    /// 3: input with pull-down (MODER 00, PUPDR 10).
    InputPulldown = 3,
}

impl PinMode {
    /// Validates a guest mode number. Errors: [`HostError::InvalidArgument`] outside 0–3.
    pub const fn from_i32(mode: i32) -> Result<PinMode, HostError> {
        match mode {
            0 => Ok(PinMode::Input),
            1 => Ok(PinMode::Output),
            2 => Ok(PinMode::InputPullup),
            3 => Ok(PinMode::InputPulldown),
            _ => Err(HostError::InvalidArgument),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_matches_the_original() {
        let p = |n| Pin::new(n).unwrap();
        assert_eq!((p(0).port(), p(0).bit()), (Port(0), 0));
        assert_eq!((p(7).port(), p(7).bit()), (Port(0), 7));
        assert_eq!((p(8).port(), p(8).bit()), (Port(1), 0));
        assert_eq!((p(12).port(), p(12).bit()), (Port(1), 4));
        assert_eq!((LED.port().letter(), LED.bit()), ('C', 6));
        assert_eq!((p(14).port(), p(14).bit()), (Port(2), 7));
        assert_eq!((p(15).port(), p(15).bit()), (Port(2), 8));
        assert_eq!((USER_KEY.port(), USER_KEY.bit()), (Port(2), 13));
    }

    #[test]
    fn invalid_pins_and_modes_are_invalid_arguments() {
        assert_eq!(Pin::new(17), Err(HostError::InvalidArgument));
        assert_eq!(Pin::new(-1), Err(HostError::InvalidArgument));
        assert_eq!(PinMode::from_i32(4), Err(HostError::InvalidArgument));
        assert_eq!(PinMode::from_i32(-1), Err(HostError::InvalidArgument));
        assert_eq!(PinMode::from_i32(2), Ok(PinMode::InputPullup));
    }
}
