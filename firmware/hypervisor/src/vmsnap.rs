//! The VM snapshot record: the guest VM's operand stack and globals, published by the run loop
//! when the guest starts and when it stops (halt, fault, budget), so that a debug probe (or the
//! `emu` board) can check a program's end state without a console.
//!
//! Placement: [`VM_SNAPSHOT_ADDR`] = `0x2000_0100`, right after the telemetry, fault and
//! fail-safe records in the STM32G474 firmware's `NOLOAD` `.cockpit_noinit` block (memory.x
//! reserves `0x2000_0100..0x2000_0300`, 512 B, for it).
//!
//! Layout ([`WORDS`] = 101 little-endian 32-bit words, [`SIZE`] = 404 bytes):
//!
//! | Word | Offset | Field | Meaning |
//! |---:|---:|---|---|
//! | 0 | 0x000 | `MAGIC` | [`MAGIC`] = `0x5EA7_0C4B` |
//! | 1 | 0x004 | `VERSION` | [`FORMAT_VERSION`] = `0x0001_0000` (major 1, minor 0) |
//! | 2 | 0x008 | `DEPTH` | operand stack depth (entries) |
//! | 3 | 0x00C | `STORED` | stack words stored = min(`DEPTH`, [`STACK_WORDS`]) |
//! | 4–35 | 0x010–0x08C | `STACK` | the top `STORED` stack entries, bottom → top; rest 0 |
//! | 36–99 | 0x090–0x18C | `GLOBALS` | the 64 globals (`i32`), index order |
//! | 100 | 0x190 | `CHECKSUM` | XOR of words 0–99 |
//!
//! When `DEPTH` > [`STACK_WORDS`], only the top [`STACK_WORDS`] entries are in the record
//! ([`VmSnapshot::is_complete`] is false).

use cockpit_vm::{GLOBALS, Vm};

use crate::record::{self, FrameError};

/// RAM address of the record.
pub const VM_SNAPSHOT_ADDR: u32 = 0x2000_0100;
/// Word 0 of a valid record.
pub const MAGIC: u32 = 0x5EA7_0C4B;
/// Word 1: `major << 16 | minor`.
pub const FORMAT_VERSION: u32 = 0x0001_0000;
/// Operand stack entries the record holds (the top ones).
pub const STACK_WORDS: usize = 32;
const HEADER: usize = 4;
const GLOBALS_AT: usize = HEADER + STACK_WORDS;
/// Number of 32-bit words in the record.
pub const WORDS: usize = GLOBALS_AT + GLOBALS + 1;
/// Size of the record in bytes.
pub const SIZE: usize = WORDS * 4;

const _: () = assert!(SIZE <= 0x200, "memory.x reserves 512 B for the VM snapshot");

/// The VM's stack and globals at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmSnapshot {
    /// Operand stack depth.
    pub depth: u32,
    /// Stack entries stored (≤ [`STACK_WORDS`]).
    pub stored: u32,
    /// The top `stored` entries, bottom → top, then zeros.
    pub stack: [i32; STACK_WORDS],
    /// All globals.
    pub globals: [i32; GLOBALS],
}

/// Why [`VmSnapshot::decode`] rejected a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotError {
    /// Fewer than [`WORDS`] words / [`SIZE`] bytes.
    TooShort,
    /// Word 0 is not [`MAGIC`].
    BadMagic(u32),
    /// Another major version.
    BadVersion(u32),
    /// `STORED` is not min(`DEPTH`, [`STACK_WORDS`]).
    BadDepth {
        /// `DEPTH`.
        depth: u32,
        /// `STORED`.
        stored: u32,
    },
    /// Checksum mismatch: (stored, computed).
    BadChecksum(u32, u32),
}

impl VmSnapshot {
    /// The snapshot of `vm` now.
    pub fn of(vm: &Vm) -> Self {
        Self::new(vm.stack(), vm.globals())
    }

    /// A snapshot of an operand stack (bottom → top) and the globals.
    pub fn new(stack: &[i32], globals: &[i32; GLOBALS]) -> Self {
        let stored = stack.len().min(STACK_WORDS);
        let mut s = [0i32; STACK_WORDS];
        s[..stored].copy_from_slice(&stack[stack.len() - stored..]);
        VmSnapshot {
            depth: stack.len() as u32,
            stored: stored as u32,
            stack: s,
            globals: *globals,
        }
    }

    /// The stored stack entries, bottom → top.
    pub fn stack(&self) -> &[i32] {
        &self.stack[..(self.stored as usize).min(STACK_WORDS)]
    }

    /// Whether the whole stack is in the record.
    pub fn is_complete(&self) -> bool {
        self.stored == self.depth
    }

    /// The record's words (checksum filled in).
    pub fn encode(&self) -> [u32; WORDS] {
        let mut w = [0u32; WORDS];
        w[0] = MAGIC;
        w[1] = FORMAT_VERSION;
        w[2] = self.depth;
        w[3] = self.stored;
        for (d, s) in w[HEADER..GLOBALS_AT].iter_mut().zip(self.stack) {
            *d = s as u32;
        }
        for (d, g) in w[GLOBALS_AT..WORDS - 1].iter_mut().zip(self.globals) {
            *d = g as u32;
        }
        record::seal(&mut w);
        w
    }

    /// Decodes and verifies a record from its words.
    pub fn decode(w: &[u32]) -> Result<Self, SnapshotError> {
        let w = record::check(w, WORDS, MAGIC, FORMAT_VERSION)?;
        let (depth, stored) = (w[2], w[3]);
        if stored != depth.min(STACK_WORDS as u32) {
            return Err(SnapshotError::BadDepth { depth, stored });
        }
        let mut stack = [0i32; STACK_WORDS];
        for (d, s) in stack.iter_mut().zip(&w[HEADER..GLOBALS_AT]) {
            *d = *s as i32;
        }
        let mut globals = [0i32; GLOBALS];
        for (d, g) in globals.iter_mut().zip(&w[GLOBALS_AT..WORDS - 1]) {
            *d = *g as i32;
        }
        Ok(VmSnapshot {
            depth,
            stored,
            stack,
            globals,
        })
    }

    /// Decodes a record from little-endian bytes (as read from RAM).
    pub fn decode_bytes(bytes: &[u8]) -> Result<Self, SnapshotError> {
        Self::decode(&record::words::<WORDS>(bytes)?)
    }
}

impl From<FrameError> for SnapshotError {
    fn from(e: FrameError) -> Self {
        match e {
            FrameError::TooShort => SnapshotError::TooShort,
            FrameError::BadMagic(m) => SnapshotError::BadMagic(m),
            FrameError::BadVersion(v) => SnapshotError::BadVersion(v),
            FrameError::BadChecksum(s, c) => SnapshotError::BadChecksum(s, c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn globals() -> [i32; GLOBALS] {
        let mut g = [0i32; GLOBALS];
        for (i, x) in g.iter_mut().enumerate() {
            *x = i as i32 * 7 - 100;
        }
        g
    }

    #[test]
    fn round_trip_words_and_bytes() {
        let s = VmSnapshot::new(&[1, -2, 3], &globals());
        assert!(s.is_complete());
        let w = s.encode();
        assert_eq!(VmSnapshot::decode(&w), Ok(s));
        let bytes: [u8; SIZE] = {
            let mut b = [0u8; SIZE];
            for (c, x) in b.chunks_exact_mut(4).zip(w) {
                c.copy_from_slice(&x.to_le_bytes());
            }
            b
        };
        let d = VmSnapshot::decode_bytes(&bytes).unwrap();
        assert_eq!(d.stack(), &[1, -2, 3]);
        assert_eq!(d.globals, globals());
    }

    #[test]
    fn deep_stack_keeps_the_top_entries() {
        let stack: [i32; 40] = core::array::from_fn(|i| i as i32);
        let s = VmSnapshot::new(&stack, &[0; GLOBALS]);
        assert_eq!((s.depth, s.stored), (40, STACK_WORDS as u32));
        assert!(!s.is_complete());
        assert_eq!(s.stack()[0], 8);
        assert_eq!(s.stack()[STACK_WORDS - 1], 39);
        assert_eq!(VmSnapshot::decode(&s.encode()), Ok(s));
    }

    #[test]
    fn rejects_garbage() {
        let mut w = VmSnapshot::new(&[], &[0; GLOBALS]).encode();
        assert_eq!(VmSnapshot::decode(&w[..5]), Err(SnapshotError::TooShort));
        assert_eq!(
            VmSnapshot::decode_bytes(&[0; 8]),
            Err(SnapshotError::TooShort)
        );
        w[40] ^= 1;
        assert!(matches!(
            VmSnapshot::decode(&w),
            Err(SnapshotError::BadChecksum(..))
        ));
        w[40] ^= 1;
        w[1] = 0x0002_0000;
        assert_eq!(
            VmSnapshot::decode(&w),
            Err(SnapshotError::BadVersion(0x0002_0000))
        );
        assert_eq!(
            VmSnapshot::decode(&[0u32; WORDS]),
            Err(SnapshotError::BadMagic(0))
        );
        let mut w = VmSnapshot::new(&[5], &[0; GLOBALS]).encode();
        w[3] = 0;
        record::seal(&mut w);
        assert_eq!(
            VmSnapshot::decode(&w),
            Err(SnapshotError::BadDepth {
                depth: 1,
                stored: 0
            })
        );
    }

    #[test]
    fn layout_fits_the_reserved_block() {
        assert_eq!(WORDS, 101);
        const { assert!(SIZE <= 0x200) };
        assert_eq!(VM_SNAPSHOT_ADDR, crate::TELEMETRY_ADDR + 0x100);
    }
}
