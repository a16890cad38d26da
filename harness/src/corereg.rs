//! Cortex-M4 core registers by name (corner 3 on boards with a CPU: `probe` and `emu`):
//! `R0`–`R15` (aliases `SP` = R13, `LR` = R14, `PC` = R15), `xPSR`, `MSP`, `PSP`.
//! Source: ARMv7-M Architecture Reference Manual §B1.4 (ARM DDI 0403E); the DCRSR REGSEL numbers
//! (§C1.6.3) are the ones probe-rs uses as `RegisterId`s.

use std::fmt;
use std::str::FromStr;

/// One core register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CoreRegister {
    /// General-purpose register `R0`–`R15` (the index, 0–15; 13 = SP, 14 = LR, 15 = PC).
    R(u8),
    /// Combined program status register.
    Xpsr,
    /// Main stack pointer.
    Msp,
    /// Process stack pointer.
    Psp,
}

impl CoreRegister {
    /// Every register, in DCRSR REGSEL order.
    pub fn all() -> impl Iterator<Item = CoreRegister> {
        (0..16).map(CoreRegister::R).chain([
            CoreRegister::Xpsr,
            CoreRegister::Msp,
            CoreRegister::Psp,
        ])
    }

    /// The DCRSR REGSEL number (ARMv7-M §C1.6.3): R0–R15 = 0–15, xPSR = 16, MSP = 17, PSP = 18.
    pub fn regsel(self) -> u16 {
        match self {
            CoreRegister::R(n) => u16::from(n),
            CoreRegister::Xpsr => 16,
            CoreRegister::Msp => 17,
            CoreRegister::Psp => 18,
        }
    }
}

impl fmt::Display for CoreRegister {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoreRegister::R(n) => write!(f, "R{n}"),
            CoreRegister::Xpsr => f.write_str("xPSR"),
            CoreRegister::Msp => f.write_str("MSP"),
            CoreRegister::Psp => f.write_str("PSP"),
        }
    }
}

/// A name that is not a core register.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a core register (R0–R15, SP, LR, PC, xPSR, MSP, PSP)")]
pub struct UnknownRegister(pub String);

impl FromStr for CoreRegister {
    type Err = UnknownRegister;

    /// Case-insensitive: `r0`…`r15`, `sp`, `lr`, `pc`, `xpsr` (also `psr`), `msp`, `psp`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let u = s.trim().to_ascii_uppercase();
        let reg = match u.as_str() {
            "SP" => CoreRegister::R(13),
            "LR" => CoreRegister::R(14),
            "PC" => CoreRegister::R(15),
            "XPSR" | "PSR" => CoreRegister::Xpsr,
            "MSP" => CoreRegister::Msp,
            "PSP" => CoreRegister::Psp,
            _ => match u.strip_prefix('R').map(str::parse::<u8>) {
                Some(Ok(n)) if n < 16 && !u[1..].starts_with('+') => CoreRegister::R(n),
                _ => return Err(UnknownRegister(s.to_string())),
            },
        };
        Ok(reg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print() {
        assert_eq!("r0".parse(), Ok(CoreRegister::R(0)));
        assert_eq!("R15".parse(), Ok(CoreRegister::R(15)));
        assert_eq!("sp".parse(), Ok(CoreRegister::R(13)));
        assert_eq!("LR".parse(), Ok(CoreRegister::R(14)));
        assert_eq!("pc".parse(), Ok(CoreRegister::R(15)));
        assert_eq!("xPSR".parse(), Ok(CoreRegister::Xpsr));
        assert_eq!("msp".parse(), Ok(CoreRegister::Msp));
        assert_eq!("PSP".parse(), Ok(CoreRegister::Psp));
        for bad in ["R16", "R", "R-1", "R+1", "GPIOC.MODER", ""] {
            assert_eq!(
                bad.parse::<CoreRegister>(),
                Err(UnknownRegister(bad.into())),
                "{bad}"
            );
        }
        let names: Vec<String> = CoreRegister::all().map(|r| r.to_string()).collect();
        assert_eq!(names.len(), 19);
        assert_eq!((names[0].as_str(), names[16].as_str()), ("R0", "xPSR"));
        for r in CoreRegister::all() {
            assert_eq!(r.to_string().parse(), Ok(r));
        }
        let sel: Vec<u16> = CoreRegister::all().map(CoreRegister::regsel).collect();
        assert_eq!(sel, (0..19).collect::<Vec<u16>>());
    }
}
