//! The firmware's fault record at `0x2000_0040` (`firmware/stm32g474/src/records.rs`), decoded:
//! 16 LE words — MAGIC `0xFA17_0C0D`, KIND (1 HardFault, 2 panic; bit 8 = reported at a boot),
//! the stacked R0 R1 R2 R3 R12 LR PC xPSR, CFSR, HFSR, MMFAR, BFAR, COUNT, CHECKSUM (XOR of
//! words 0–14). Fault status bits: ARMv7-M ARM §B3.2.15 (CFSR) and §B3.2.16 (HFSR).

use std::fmt;

/// Address of the record.
pub const FAULT_ADDR: u32 = 0x2000_0040;
/// Size of the record in bytes.
pub const SIZE: usize = 64;
const MAGIC: u32 = 0xFA17_0C0D;
const KIND_ACKED: u32 = 1 << 8;

/// CFSR bits: (bit, name). MMFSR = bits 0–7, BFSR = 8–15, UFSR = 16–31.
const CFSR_BITS: [(u32, &str); 19] = [
    (0, "IACCVIOL"),
    (1, "DACCVIOL"),
    (3, "MUNSTKERR"),
    (4, "MSTKERR"),
    (5, "MLSPERR"),
    (7, "MMARVALID"),
    (8, "IBUSERR"),
    (9, "PRECISERR"),
    (10, "IMPRECISERR"),
    (11, "UNSTKERR"),
    (12, "STKERR"),
    (13, "LSPERR"),
    (15, "BFARVALID"),
    (16, "UNDEFINSTR"),
    (17, "INVSTATE"),
    (18, "INVPC"),
    (19, "NOCP"),
    (24, "UNALIGNED"),
    (25, "DIVBYZERO"),
];
/// HFSR bits: (bit, name).
const HFSR_BITS: [(u32, &str); 3] = [(1, "VECTTBL"), (30, "FORCED"), (31, "DEBUGEVT")];

/// A valid fault record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRecord {
    /// `true` for a HardFault, `false` for a Rust panic (then `stacked[0]` is the source line).
    pub hardfault: bool,
    /// Whether the firmware already reported it at a boot (KIND bit 8).
    pub reported: bool,
    /// Stacked R0, R1, R2, R3, R12, LR, PC, xPSR.
    pub stacked: [u32; 8],
    /// Configurable Fault Status Register (`0xE000_ED28`).
    pub cfsr: u32,
    /// HardFault Status Register (`0xE000_ED2C`).
    pub hfsr: u32,
    /// MemManage Fault Address Register (valid with MMARVALID).
    pub mmfar: u32,
    /// BusFault Address Register (valid with BFARVALID).
    pub bfar: u32,
    /// Faults recorded since the record was created.
    pub count: u32,
}

impl FaultRecord {
    /// Decodes the record's 64 bytes; `None` when the magic or checksum is wrong (no fault
    /// since power-on, or RAM garbage).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let w: Vec<u32> = bytes
            .get(..SIZE)?
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let xor = w[..15].iter().fold(0, |a, x| a ^ x);
        if w[0] != MAGIC || w[15] != xor {
            return None;
        }
        let mut stacked = [0; 8];
        stacked.copy_from_slice(&w[2..10]);
        Some(FaultRecord {
            hardfault: w[1] & 0xFF == 1,
            reported: w[1] & KIND_ACKED != 0,
            stacked,
            cfsr: w[10],
            hfsr: w[11],
            mmfar: w[12],
            bfar: w[13],
            count: w[14],
        })
    }

    /// The names of the CFSR and HFSR bits set, e.g. `["PRECISERR", "BFARVALID", "FORCED"]`.
    pub fn status_bits(&self) -> Vec<&'static str> {
        let set = |v: u32, bits: &[(u32, &'static str)]| {
            bits.iter()
                .filter(move |(b, _)| v & (1 << b) != 0)
                .map(|(_, n)| *n)
                .collect::<Vec<_>>()
        };
        let mut names = set(self.cfsr, &CFSR_BITS);
        names.extend(set(self.hfsr, &HFSR_BITS));
        names
    }
}

impl fmt::Display for FaultRecord {
    /// One line: `HardFault #2 at PC 0x08001234 (LR 0x08000F01, xPSR 0x01000000): PRECISERR
    /// BFARVALID FORCED, BFAR 0x40000000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [r0, .., lr, pc, xpsr] = self.stacked;
        if !self.hardfault {
            return write!(f, "panic #{} at source line {r0}", self.count);
        }
        write!(
            f,
            "HardFault #{} at PC {pc:#010x} (LR {lr:#010x}, xPSR {xpsr:#010x}): {}",
            self.count,
            self.status_bits().join(" ")
        )?;
        if self.cfsr & (1 << 7) != 0 {
            write!(f, ", MMFAR {:#010x}", self.mmfar)?;
        }
        if self.cfsr & (1 << 15) != 0 {
            write!(f, ", BFAR {:#010x}", self.bfar)?;
        }
        Ok(())
    }
}

#[cfg(test)]
/// A record as `records::record_fault` writes it.
pub(crate) fn test_record(
    kind: u32,
    pc: u32,
    cfsr: u32,
    hfsr: u32,
    bfar: u32,
    count: u32,
) -> Vec<u8> {
    let mut w = [0u32; 16];
    w[0] = MAGIC;
    w[1] = kind;
    w[2..10].copy_from_slice(&[1, 2, 3, 4, 12, 0x0800_0F01, pc, 0x0100_0000]);
    w[10] = cfsr;
    w[11] = hfsr;
    w[13] = bfar;
    w[14] = count;
    w[15] = w[..15].iter().fold(0, |a, x| a ^ x);
    w.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_bus_fault() {
        let b = test_record(
            1,
            0x0800_1234,
            (1 << 9) | (1 << 15),
            1 << 30,
            0x4000_0000,
            2,
        );
        let f = FaultRecord::decode(&b).expect("valid");
        assert!(f.hardfault && !f.reported);
        assert_eq!(f.stacked[6], 0x0800_1234);
        assert_eq!(f.status_bits(), ["PRECISERR", "BFARVALID", "FORCED"]);
        assert_eq!(
            f.to_string(),
            "HardFault #2 at PC 0x08001234 (LR 0x08000f01, xPSR 0x01000000): PRECISERR \
             BFARVALID FORCED, BFAR 0x40000000"
        );
        let acked = FaultRecord::decode(&test_record(1 | KIND_ACKED, 0, 1 << 16, 0, 0, 3)).unwrap();
        assert!(acked.reported);
        assert_eq!(acked.status_bits(), ["UNDEFINSTR"]);
        let panic = FaultRecord::decode(&test_record(2, 0, 0, 0, 0, 1)).unwrap();
        assert_eq!(panic.to_string(), "panic #1 at source line 1");
    }

    #[test]
    fn rejects_garbage() {
        let mut b = test_record(1, 0x0800_1234, 0, 0, 0, 1);
        b[30] ^= 1;
        assert_eq!(FaultRecord::decode(&b), None);
        assert_eq!(FaultRecord::decode(&[0; SIZE]), None);
        assert_eq!(FaultRecord::decode(&[0; 12]), None);
    }
}
