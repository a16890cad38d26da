//! The telemetry record: a fixed block of little-endian 32-bit words in RAM that a debug probe
//! (or the `sim` board's `read_u32`) reads to learn the VM's progress without a console.
//!
//! Placement: [`TELEMETRY_ADDR`] = `0x2000_0000`, the start of SRAM1 (RM0440 §2.2 memory map). The
//! STM32G474 firmware reserves it as a `NOLOAD` section so that it survives a reset and is not
//! zeroed by the startup code. This replaces the original's `0x2000_7F00` block (reference §7.1),
//! which on the G474 sat in the middle of unreserved RAM.
//!
//! Layout ([`WORDS`] = 12 words, [`SIZE`] = 48 bytes), word index → meaning:
//!
//! | Word | Offset | Field | Meaning |
//! |---:|---:|---|---|
//! | 0 | 0x00 | `MAGIC` | [`MAGIC`] = `0xFADE_5AFE` |
//! | 1 | 0x04 | `VERSION` | [`FORMAT_VERSION`] = `0x0001_0000` (major 1, minor 0) |
//! | 2 | 0x08 | `STATE` | [`RunState`]: 0 idle, 1 running, 2 halted, 3 faulted |
//! | 3 | 0x0C | `PC` | instruction index of the next (or faulting) instruction |
//! | 4 | 0x10 | `OPCODE` | opcode byte at `PC` (the faulting opcode when faulted; 0 past the end) |
//! | 5 | 0x14 | `INSTRUCTIONS_LO` | guest instructions executed, low 32 bits |
//! | 6 | 0x18 | `INSTRUCTIONS_HI` | … high 32 bits |
//! | 7 | 0x1C | `CYCLES_LO` | modelled interpreter cycles (VM cost model), low 32 bits |
//! | 8 | 0x20 | `CYCLES_HI` | … high 32 bits |
//! | 9 | 0x24 | `ERROR` | last `VmError` code (0 = none) |
//! | 10 | 0x28 | `ERROR_PC` | instruction index of the fault (0 when none) |
//! | 11 | 0x2C | `CHECKSUM` | XOR of words 0–10 |

/// RAM address of the record (start of SRAM1).
pub const TELEMETRY_ADDR: u32 = 0x2000_0000;
/// Word 0 of a valid record.
pub const MAGIC: u32 = 0xFADE_5AFE;
/// Word 1: the record format, `major << 16 | minor`.
pub const FORMAT_VERSION: u32 = 0x0001_0000;
/// Number of 32-bit words in the record.
pub const WORDS: usize = 12;
/// Size of the record in bytes.
pub const SIZE: usize = WORDS * 4;

/// Field names and byte offsets from [`TELEMETRY_ADDR`], as used by `TELEMETRY.<field>` register
/// names in the harness.
pub const FIELDS: [(&str, u32); WORDS] = [
    ("MAGIC", 0x00),
    ("VERSION", 0x04),
    ("STATE", 0x08),
    ("PC", 0x0C),
    ("OPCODE", 0x10),
    ("INSTRUCTIONS_LO", 0x14),
    ("INSTRUCTIONS_HI", 0x18),
    ("CYCLES_LO", 0x1C),
    ("CYCLES_HI", 0x20),
    ("ERROR", 0x24),
    ("ERROR_PC", 0x28),
    ("CHECKSUM", 0x2C),
];

/// The VM's state as published in word 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum RunState {
    /// 0: no run has started.
    Idle = 0,
    /// 1: a run is in progress (or was stopped from outside, e.g. a wall-clock timeout).
    Running = 1,
    /// 2: the program halted normally.
    Halted = 2,
    /// 3: the program stopped with an error.
    Faulted = 3,
}

impl RunState {
    /// The state for a word value, if defined.
    pub const fn from_u32(v: u32) -> Option<RunState> {
        match v {
            0 => Some(RunState::Idle),
            1 => Some(RunState::Running),
            2 => Some(RunState::Halted),
            3 => Some(RunState::Faulted),
            _ => None,
        }
    }
}

/// One telemetry record, word for word as stored in RAM (`#[repr(C)]`, all `u32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(C)]
pub struct TelemetryRecord {
    /// [`MAGIC`].
    pub magic: u32,
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// A [`RunState`] value.
    pub state: u32,
    /// Program counter (instruction index).
    pub pc: u32,
    /// Opcode byte at `pc`, or of the faulting instruction.
    pub last_opcode: u32,
    /// Instructions executed, low word.
    pub instructions_lo: u32,
    /// Instructions executed, high word.
    pub instructions_hi: u32,
    /// Modelled interpreter cycles, low word.
    pub cycles_lo: u32,
    /// Modelled interpreter cycles, high word.
    pub cycles_hi: u32,
    /// Last `VmError` code.
    pub error_code: u32,
    /// Instruction index of the fault.
    pub error_pc: u32,
    /// XOR of the eleven preceding words.
    pub checksum: u32,
}

/// Why [`verify`] rejected a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TelemetryError {
    /// Fewer than [`SIZE`] bytes.
    TooShort,
    /// Word 0 is not [`MAGIC`]; carries the word read.
    BadMagic(u32),
    /// Word 1 has another major version; carries the word read.
    BadVersion(u32),
    /// Word 11 is not the XOR of words 0–10; carries (stored, computed).
    BadChecksum(u32, u32),
}

impl core::fmt::Display for TelemetryError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TelemetryError::TooShort => write!(f, "telemetry record shorter than {SIZE} bytes"),
            TelemetryError::BadMagic(m) => {
                write!(f, "telemetry magic {m:#010x}, expected {MAGIC:#010x}")
            }
            TelemetryError::BadVersion(v) => {
                write!(
                    f,
                    "telemetry format {v:#010x}, expected {FORMAT_VERSION:#010x}"
                )
            }
            TelemetryError::BadChecksum(s, c) => {
                write!(f, "telemetry checksum {s:#010x}, computed {c:#010x}")
            }
        }
    }
}

/// XOR of words 0–10.
pub const fn checksum(words: &[u32; WORDS]) -> u32 {
    let mut x = 0;
    let mut i = 0;
    while i < WORDS - 1 {
        x ^= words[i];
        i += 1;
    }
    x
}

impl TelemetryRecord {
    /// Builds a record with magic, version and checksum filled in.
    /// `instructions` and `cycles` are split into low/high words.
    pub const fn new(
        state: RunState,
        pc: u32,
        last_opcode: u8,
        instructions: u64,
        cycles: u64,
        error_code: u8,
        error_pc: u32,
    ) -> Self {
        let mut r = TelemetryRecord {
            magic: MAGIC,
            version: FORMAT_VERSION,
            state: state as u32,
            pc,
            last_opcode: last_opcode as u32,
            instructions_lo: instructions as u32,
            instructions_hi: (instructions >> 32) as u32,
            cycles_lo: cycles as u32,
            cycles_hi: (cycles >> 32) as u32,
            error_code: error_code as u32,
            error_pc,
            checksum: 0,
        };
        r.checksum = checksum(&r.to_words());
        r
    }

    /// The record as its twelve words, in RAM order.
    pub const fn to_words(&self) -> [u32; WORDS] {
        [
            self.magic,
            self.version,
            self.state,
            self.pc,
            self.last_opcode,
            self.instructions_lo,
            self.instructions_hi,
            self.cycles_lo,
            self.cycles_hi,
            self.error_code,
            self.error_pc,
            self.checksum,
        ]
    }

    /// The record from its twelve words (no validation).
    pub const fn from_words(w: &[u32; WORDS]) -> Self {
        TelemetryRecord {
            magic: w[0],
            version: w[1],
            state: w[2],
            pc: w[3],
            last_opcode: w[4],
            instructions_lo: w[5],
            instructions_hi: w[6],
            cycles_lo: w[7],
            cycles_hi: w[8],
            error_code: w[9],
            error_pc: w[10],
            checksum: w[11],
        }
    }

    /// The 48 bytes as stored in RAM (little-endian words).
    pub fn encode(&self) -> [u8; SIZE] {
        let mut out = [0u8; SIZE];
        for (chunk, w) in out.chunks_exact_mut(4).zip(self.to_words()) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// Decodes 48 bytes (no validation; see [`verify`]).
    pub fn decode(bytes: &[u8; SIZE]) -> Self {
        let mut w = [0u32; WORDS];
        for (word, chunk) in w.iter_mut().zip(bytes.chunks_exact(4)) {
            *word = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        Self::from_words(&w)
    }

    /// Instructions executed (words 5–6).
    pub const fn instructions(&self) -> u64 {
        (self.instructions_hi as u64) << 32 | self.instructions_lo as u64
    }

    /// Modelled interpreter cycles (words 7–8).
    pub const fn cycles(&self) -> u64 {
        (self.cycles_hi as u64) << 32 | self.cycles_lo as u64
    }

    /// The state word, if it is a defined [`RunState`].
    pub const fn run_state(&self) -> Option<RunState> {
        RunState::from_u32(self.state)
    }
}

/// Decodes and validates a record read from RAM: length, magic, major version and checksum.
/// Extra bytes after the first [`SIZE`] are ignored.
pub fn verify(bytes: &[u8]) -> Result<TelemetryRecord, TelemetryError> {
    let Some(head) = bytes.get(..SIZE) else {
        return Err(TelemetryError::TooShort);
    };
    let mut buf = [0u8; SIZE];
    buf.copy_from_slice(head);
    let r = TelemetryRecord::decode(&buf);
    if r.magic != MAGIC {
        return Err(TelemetryError::BadMagic(r.magic));
    }
    if r.version >> 16 != FORMAT_VERSION >> 16 {
        return Err(TelemetryError::BadVersion(r.version));
    }
    let computed = checksum(&r.to_words());
    if computed != r.checksum {
        return Err(TelemetryError::BadChecksum(r.checksum, computed));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_twelve_le_words_with_xor_checksum() {
        assert_eq!(core::mem::size_of::<TelemetryRecord>(), SIZE);
        let r = TelemetryRecord::new(RunState::Faulted, 7, 0x06, 0x1_0000_0002, 99, 6, 7);
        let b = r.encode();
        assert_eq!(&b[0..4], &[0xFE, 0x5A, 0xDE, 0xFA]);
        assert_eq!(u32::from_le_bytes(b[8..12].try_into().unwrap()), 3);
        assert_eq!(u32::from_le_bytes(b[20..24].try_into().unwrap()), 2);
        assert_eq!(u32::from_le_bytes(b[24..28].try_into().unwrap()), 1);
        let w = r.to_words();
        assert_eq!(w[11], w[..11].iter().fold(0, |a, x| a ^ x));
        let back = verify(&b).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.instructions(), 0x1_0000_0002);
        assert_eq!(back.run_state(), Some(RunState::Faulted));
        for (i, (_, off)) in FIELDS.iter().enumerate() {
            assert_eq!(*off as usize, i * 4);
        }
    }

    #[test]
    fn verify_rejects_corruption() {
        let r = TelemetryRecord::new(RunState::Halted, 1, 0, 5, 50, 0, 0);
        let mut b = r.encode();
        b[12] ^= 1;
        assert!(matches!(verify(&b), Err(TelemetryError::BadChecksum(..))));
        let mut b = r.encode();
        b[0] = 0;
        assert!(matches!(verify(&b), Err(TelemetryError::BadMagic(_))));
        assert_eq!(verify(&b[..40]), Err(TelemetryError::TooShort));
        assert!(matches!(
            verify(&[0u8; SIZE]),
            Err(TelemetryError::BadMagic(0))
        ));
    }
}
