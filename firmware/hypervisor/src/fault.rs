//! The STM32G474 firmware's fault record: what its HardFault and panic handlers store in no-init
//! RAM before resetting, and what the next boot reports (`FAULT HARDFAULT #n: …`). The layout and
//! its decoding live here so the firmware (which writes it) and the harness (which reads it by
//! address through a board's memory reads) share one definition.
//!
//! Record @ [`FAULT_ADDR`] (16 little-endian `u32`, [`FaultRecord::to_words`]):
//!
//! | Word | Off | Field |
//! |---:|---:|---|
//! | 0 | 0x00 | MAGIC [`FAULT_MAGIC`] |
//! | 1 | 0x04 | KIND: 1 HardFault, 2 panic, 3 MPU violation (a HardFault with CFSR.MMFSR ≠ 0: MemManage escalated); bit 8 = ACKED (reported at a boot) |
//! | 2–9 | 0x08–0x24 | stacked R0, R1, R2, R3, R12, LR, PC, xPSR (panic: R0 = source line, rest 0) |
//! | 10 | 0x28 | CFSR (`0xE000_ED28`) |
//! | 11 | 0x2C | HFSR (`0xE000_ED2C`) |
//! | 12 | 0x30 | MMFAR (`0xE000_ED34`) |
//! | 13 | 0x34 | BFAR (`0xE000_ED38`) |
//! | 14 | 0x38 | COUNT: faults recorded since the record was first created |
//! | 15 | 0x3C | CHECKSUM: XOR of words 0–14 |
//!
//! CFSR and HFSR bit names: ARMv7-M Architecture Reference Manual B3.2.15 and B3.2.16
//! (`udf` → CFSR.UNDEFINSTR, escalated to HardFault → HFSR.FORCED).

use core::fmt;

/// Address of the fault record (no-init SRAM1, after the telemetry record).
pub const FAULT_ADDR: u32 = crate::telemetry::TELEMETRY_ADDR + 0x40;
/// Word 0 of a valid fault record.
pub const FAULT_MAGIC: u32 = 0xFA17_0C0D;
/// Words in the record.
pub const WORDS: usize = 16;
/// KIND bit: the fault was reported at a boot.
pub const KIND_ACKED: u32 = 1 << 8;

/// What stored the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// The HardFault handler (registers from the exception frame).
    HardFault,
    /// The panic handler (R0 = source line).
    Panic,
    /// The HardFault handler for an MPU violation (MemManage escalated: CFSR.MMFSR ≠ 0, MMFAR
    /// valid when CFSR.MMARVALID).
    MemManage,
    /// A KIND value this version does not know.
    Unknown(u8),
}

impl FaultKind {
    /// The KIND word's low byte.
    pub const fn code(self) -> u32 {
        match self {
            FaultKind::HardFault => 1,
            FaultKind::Panic => 2,
            FaultKind::MemManage => 3,
            FaultKind::Unknown(c) => c as u32,
        }
    }

    /// From the KIND word's low byte.
    pub const fn from_code(code: u8) -> FaultKind {
        match code {
            1 => FaultKind::HardFault,
            2 => FaultKind::Panic,
            3 => FaultKind::MemManage,
            c => FaultKind::Unknown(c),
        }
    }

    /// The kind a HardFault handler records for this CFSR: [`FaultKind::MemManage`] when any
    /// MMFSR bit (7:0) is set, else [`FaultKind::HardFault`].
    pub const fn of_hardfault(cfsr: u32) -> FaultKind {
        if cfsr & 0xFF != 0 {
            FaultKind::MemManage
        } else {
            FaultKind::HardFault
        }
    }

    /// Console and plan name: `HARDFAULT`, `PANIC`, `MEMMANAGE`, `UNKNOWN`.
    pub const fn name(self) -> &'static str {
        match self {
            FaultKind::HardFault => "HARDFAULT",
            FaultKind::Panic => "PANIC",
            FaultKind::MemManage => "MEMMANAGE",
            FaultKind::Unknown(_) => "UNKNOWN",
        }
    }
}

/// CFSR bits (MMFSR, BFSR, UFSR) by name: ARMv7-M ARM B3.2.15.
pub const CFSR_BITS: [(&str, u32); 19] = [
    ("IACCVIOL", 1 << 0),
    ("DACCVIOL", 1 << 1),
    ("MUNSTKERR", 1 << 3),
    ("MSTKERR", 1 << 4),
    ("MLSPERR", 1 << 5),
    ("MMARVALID", 1 << 7),
    ("IBUSERR", 1 << 8),
    ("PRECISERR", 1 << 9),
    ("IMPRECISERR", 1 << 10),
    ("UNSTKERR", 1 << 11),
    ("STKERR", 1 << 12),
    ("LSPERR", 1 << 13),
    ("BFARVALID", 1 << 15),
    ("UNDEFINSTR", 1 << 16),
    ("INVSTATE", 1 << 17),
    ("INVPC", 1 << 18),
    ("NOCP", 1 << 19),
    ("UNALIGNED", 1 << 24),
    ("DIVBYZERO", 1 << 25),
];

/// HFSR bits by name: ARMv7-M ARM B3.2.16.
pub const HFSR_BITS: [(&str, u32); 3] = [
    ("VECTTBL", 1 << 1),
    ("FORCED", 1 << 30),
    ("DEBUGEVT", 1 << 31),
];

/// The mask of the bit called `name` in `table` ([`CFSR_BITS`], [`HFSR_BITS`]), if any.
pub fn bit_named(table: &[(&str, u32)], name: &str) -> Option<u32> {
    table
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, m)| m)
}

/// `value` with its set bits named from `table`: `0x00010000 (UNDEFINSTR)`; bits without a name
/// are only in the hex value.
#[derive(Clone, Copy, Debug)]
pub struct Flags<'a>(pub u32, pub &'a [(&'a str, u32)]);

impl fmt::Display for Flags<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0)?;
        let mut names = self.1.iter().filter(|(_, m)| self.0 & m != 0);
        if let Some((first, _)) = names.next() {
            write!(f, " ({first}")?;
            for (n, _) in names {
                write!(f, "|{n}")?;
            }
            write!(f, ")")?;
        }
        Ok(())
    }
}

/// A fault record's payload (without magic and checksum).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultRecord {
    /// What stored it.
    pub kind: FaultKind,
    /// Reported at a boot already (KIND bit 8).
    pub acked: bool,
    /// Stacked R0, R1, R2, R3, R12, LR, PC, xPSR (panic: R0 = source line, rest 0).
    pub regs: [u32; 8],
    /// CFSR at the fault.
    pub cfsr: u32,
    /// HFSR at the fault.
    pub hfsr: u32,
    /// MMFAR at the fault.
    pub mmfar: u32,
    /// BFAR at the fault.
    pub bfar: u32,
    /// Faults recorded since the record was first created.
    pub count: u32,
}

impl FaultRecord {
    /// The stacked PC: the faulting instruction for a HardFault.
    pub const fn pc(&self) -> u32 {
        self.regs[6]
    }

    /// The stacked LR.
    pub const fn lr(&self) -> u32 {
        self.regs[5]
    }

    /// The 16 record words, magic and checksum included.
    pub fn to_words(&self) -> [u32; WORDS] {
        let mut w = [0u32; WORDS];
        w[0] = FAULT_MAGIC;
        w[1] = self.kind.code() | if self.acked { KIND_ACKED } else { 0 };
        w[2..10].copy_from_slice(&self.regs);
        w[10] = self.cfsr;
        w[11] = self.hfsr;
        w[12] = self.mmfar;
        w[13] = self.bfar;
        w[14] = self.count;
        w[15] = checksum(&w);
        w
    }

    /// The record in `w`, `None` unless the magic and the checksum match (power-on garbage, or
    /// no fault recorded).
    pub fn from_words(w: &[u32; WORDS]) -> Option<FaultRecord> {
        if w[0] != FAULT_MAGIC || w[15] != checksum(w) {
            return None;
        }
        let mut regs = [0u32; 8];
        regs.copy_from_slice(&w[2..10]);
        Some(FaultRecord {
            kind: FaultKind::from_code(w[1] as u8),
            acked: w[1] & KIND_ACKED != 0,
            regs,
            cfsr: w[10],
            hfsr: w[11],
            mmfar: w[12],
            bfar: w[13],
            count: w[14],
        })
    }
}

/// XOR of words 0–14.
fn checksum(w: &[u32; WORDS]) -> u32 {
    w[..WORDS - 1].iter().fold(0, |a, x| a ^ x)
}

/// `HARDFAULT #1: pc=0x08001234 lr=… xpsr=… r0=… r1=… r2=… r3=… r12=… cfsr=0x00010000
/// (UNDEFINSTR) hfsr=0x40000000 (FORCED) mmfar=… bfar=…` (the firmware's `FAULT` line after
/// `FAULT `).
impl fmt::Display for FaultRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.regs;
        write!(
            f,
            "{} #{}: pc={:#010x} lr={:#010x} xpsr={:#010x} r0={:#010x} r1={:#010x} r2={:#010x} \
             r3={:#010x} r12={:#010x} cfsr={} hfsr={} mmfar={:#010x} bfar={:#010x}",
            self.kind.name(),
            self.count,
            r[6],
            r[5],
            r[7],
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            Flags(self.cfsr, &CFSR_BITS),
            Flags(self.hfsr, &HFSR_BITS),
            self.mmfar,
            self.bfar
        )
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::*;

    fn sample() -> FaultRecord {
        FaultRecord {
            kind: FaultKind::HardFault,
            acked: false,
            regs: [1, 2, 3, 4, 12, 0x0800_0101, 0x0800_1234, 0x0100_0000],
            cfsr: 1 << 16,
            hfsr: 1 << 30,
            mmfar: 0,
            bfar: 0,
            count: 1,
        }
    }

    #[test]
    fn round_trips_and_rejects_garbage() {
        let r = sample();
        let w = r.to_words();
        assert_eq!(w[0], FAULT_MAGIC);
        assert_eq!(w[8], 0x0800_1234, "PC is word 8");
        assert_eq!(FaultRecord::from_words(&w), Some(r));
        let acked = FaultRecord { acked: true, ..r };
        assert_eq!(acked.to_words()[1], 1 | KIND_ACKED);
        let mut bad = w;
        bad[8] ^= 1;
        assert_eq!(FaultRecord::from_words(&bad), None, "checksum");
        assert_eq!(FaultRecord::from_words(&[0; WORDS]), None, "no magic");
    }

    #[test]
    fn mpu_violations_are_their_own_kind() {
        let dacc = bit_named(&CFSR_BITS, "DACCVIOL").unwrap() | 1 << 7;
        assert_eq!(FaultKind::of_hardfault(dacc), FaultKind::MemManage);
        assert_eq!(FaultKind::of_hardfault(1), FaultKind::MemManage, "IACCVIOL");
        assert_eq!(FaultKind::of_hardfault(1 << 16), FaultKind::HardFault);
        let r = FaultRecord {
            kind: FaultKind::MemManage,
            cfsr: dacc,
            mmfar: 0x2000_0080,
            ..sample()
        };
        assert_eq!(FaultRecord::from_words(&r.to_words()), Some(r));
        let s = r.to_string();
        assert!(s.starts_with("MEMMANAGE #1:"), "{s}");
        assert!(s.contains("cfsr=0x00000082 (DACCVIOL|MMARVALID)"), "{s}");
        assert!(s.contains("mmfar=0x20000080"), "{s}");
    }

    #[test]
    fn displays_as_the_firmware_line_with_named_bits() {
        let s = sample().to_string();
        assert!(
            s.starts_with(
                "HARDFAULT #1: pc=0x08001234 lr=0x08000101 xpsr=0x01000000 r0=0x00000001"
            ),
            "{s}"
        );
        assert!(
            s.contains("cfsr=0x00010000 (UNDEFINSTR) hfsr=0x40000000 (FORCED) mmfar=0x00000000"),
            "{s}"
        );
        assert_eq!(
            Flags(1 << 9 | 1 << 15 | 1 << 20, &CFSR_BITS).to_string(),
            "0x00108200 (PRECISERR|BFARVALID)"
        );
        assert_eq!(Flags(0, &HFSR_BITS).to_string(), "0x00000000");
        assert_eq!(bit_named(&CFSR_BITS, "undefinstr"), Some(1 << 16));
        assert_eq!(bit_named(&HFSR_BITS, "NOPE"), None);
    }
}
