//! The run-control record: the budget of the next guest run, written into RAM by a debug probe
//! (or the `emu` board) before the firmware starts the guest, and the firmware's answer — when
//! the guest run started and ended on the firmware's cycle clock — written back into it. Since
//! format 1.1 the record can instead ask the firmware to enter its Oracle bootloader at the next
//! boot ([`BOOTLOADER`]), which a debug probe cannot otherwise do (the firmware enters it with
//! the user key held at reset or with no valid bank).
//!
//! Placement: [`RUNCTL_ADDR`] = `0x2000_00C0`, in the STM32G474 firmware's `NOLOAD`
//! `.cockpit_noinit` block (memory.x reserves `0x2000_00C0..0x2000_0100`, 64 B), between the
//! fail-safe record and the VM snapshot record.
//!
//! Layout ([`WORDS`] = 12 little-endian 32-bit words, [`SIZE`] = 48 bytes):
//!
//! | Word | Offset | Field | Written by | Meaning |
//! |---:|---:|---|---|---|
//! | 0 | 0x00 | `MAGIC` | harness | [`MAGIC`] = `0xC0C4_B0D6` |
//! | 1 | 0x04 | `VERSION` | harness | [`FORMAT_VERSION`] = `0x0001_0001` (major 1, minor 1) |
//! | 2 | 0x08 | `MAX_INSTRUCTIONS_LO` | harness | guest instruction budget, low 32 bits |
//! | 3 | 0x0C | `MAX_INSTRUCTIONS_HI` | harness | … high 32 bits |
//! | 4 | 0x10 | `TIME_LIMIT_US_LO` | harness | board-time budget from the guest's start, µs, low 32 bits (0 = none) |
//! | 5 | 0x14 | `TIME_LIMIT_US_HI` | harness | … high 32 bits |
//! | 6 | 0x18 | `FLAGS` | both | harness writes 0 (a budget) or [`BOOTLOADER`] (minor 1); firmware sets [`TAKEN`], then [`ENDED`] (a budget) |
//! | 7 | 0x1C | `START_CYCLES_LO` | firmware | its cycle clock (core cycles, DWT CYCCNT extended to 64 bits) when the guest started, low 32 bits |
//! | 8 | 0x20 | `START_CYCLES_HI` | firmware | … high 32 bits |
//! | 9 | 0x24 | `END_CYCLES_LO` | firmware | the same clock when the guest run ended (halt, fault, budget), low 32 bits |
//! | 10 | 0x28 | `END_CYCLES_HI` | firmware | … high 32 bits |
//! | 11 | 0x2C | `CHECKSUM` | both | XOR of words 0–10 |
//!
//! # Protocol
//! 1. The harness writes a *request* ([`RunControl::request`]: `FLAGS` = 0, times 0) while the
//!    core is halted after reset (a probe) or before releasing it after power-on (`emu`).
//! 2. When the firmware starts a guest it reads the record ([`RunControl::accept`]): a valid,
//!    untaken request gives the run's [`Limits`]; anything else (garbage after power-on, no
//!    harness, an old record) gives unlimited limits, as on a board without a harness.
//! 3. The firmware *consumes* the request: it writes the record back with [`TAKEN`] and
//!    `START_CYCLES` ([`RunControl::started`]) before the first guest instruction, and with
//!    [`ENDED`] and `END_CYCLES` ([`RunControl::ended`]) after the run loop returns. A taken
//!    record is never applied again, so a watchdog or software reset during a run does not
//!    keep an old budget forever: the guest re-runs unlimited after it, as it would without a
//!    harness. The harness reads the answer to learn that its budget was applied and to measure
//!    board time from the guest's start (`END_CYCLES − START_CYCLES`, pin edges relative to
//!    `START_CYCLES`).
//!
//! # Bootloader request (minor 1)
//! 1. The harness writes [`RunControl::bootloader_request`] (`FLAGS` = [`BOOTLOADER`]; budget
//!    and cycle words 0, ignored) while the core is halted after reset, then resumes it.
//! 2. At boot, before boot selection, the firmware checks the record
//!    ([`RunControl::take_bootloader`]): a valid, untaken bootloader request is consumed —
//!    written back with [`TAKEN`] | [`BOOTLOADER`] — and the firmware enters its Oracle
//!    bootloader on USART1, as with the user key held (the fail-safe state is not changed).
//!    Because it is consumed, the next reset boots the active bank again; the harness reads
//!    `TAKEN` to know the firmware entered the bootloader.
//! 3. A bootloader request never carries a budget: [`RunControl::accept`] ignores it, and a
//!    firmware of minor version 0 rejects its `FLAGS` and boots normally (so it never takes it).

use crate::record::{self, FrameError};
use crate::run::Limits;

/// RAM address of the record.
pub const RUNCTL_ADDR: u32 = 0x2000_00C0;
/// Word 0 of a valid record.
pub const MAGIC: u32 = 0xC0C4_B0D6;
/// Word 1: `major << 16 | minor`.
pub const FORMAT_VERSION: u32 = 0x0001_0001;
/// Number of 32-bit words in the record.
pub const WORDS: usize = 12;
/// Size of the record in bytes.
pub const SIZE: usize = WORDS * 4;
/// `FLAGS` bit 0: the firmware applied the request to a guest run (`START_CYCLES` valid).
pub const TAKEN: u32 = 1 << 0;
/// `FLAGS` bit 1: that guest run has ended (`END_CYCLES` valid).
pub const ENDED: u32 = 1 << 1;
/// `FLAGS` bit 2 (minor 1): a bootloader request — enter the Oracle bootloader at the next boot
/// instead of booting a bank (with [`TAKEN`]: the firmware did).
pub const BOOTLOADER: u32 = 1 << 2;
/// The `FLAGS` values a valid record holds: a budget request, taken, ended; a bootloader
/// request, taken.
const VALID_FLAGS: [u32; 5] = [0, TAKEN, TAKEN | ENDED, BOOTLOADER, BOOTLOADER | TAKEN];

const _: () = assert!(
    SIZE <= 0x40,
    "memory.x reserves 64 B for the run-control record"
);

/// The record's contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunControl {
    /// Guest instruction budget.
    pub max_instructions: u64,
    /// Board-time budget from the guest's start, µs; `None` = unlimited (encoded as 0).
    pub time_limit_us: Option<u64>,
    /// [`TAKEN`], [`ENDED`], [`BOOTLOADER`].
    pub flags: u32,
    /// Firmware cycle clock at the guest's start (valid with [`TAKEN`]).
    pub start_cycles: u64,
    /// Firmware cycle clock at the end of the guest run (valid with [`ENDED`]).
    pub end_cycles: u64,
}

/// Why [`RunControl::decode`] rejected a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunCtlError {
    /// Length, [`MAGIC`], major version or checksum.
    Frame(FrameError),
    /// `FLAGS` has undefined bits or a combination no protocol step writes ([`ENDED`] without
    /// [`TAKEN`], [`BOOTLOADER`] with [`ENDED`]).
    BadFlags(u32),
}

impl From<FrameError> for RunCtlError {
    fn from(e: FrameError) -> Self {
        RunCtlError::Frame(e)
    }
}

fn lo_hi(v: u64) -> [u32; 2] {
    [v as u32, (v >> 32) as u32]
}

fn join(lo: u32, hi: u32) -> u64 {
    u64::from(hi) << 32 | u64::from(lo)
}

impl RunControl {
    /// A harness's request: these budgets, not yet taken. A `time_limit_us` of `Some(0)` is
    /// stored as 0 and so means "none".
    pub const fn request(max_instructions: u64, time_limit_us: Option<u64>) -> Self {
        RunControl {
            max_instructions,
            time_limit_us,
            flags: 0,
            start_cycles: 0,
            end_cycles: 0,
        }
    }

    /// A harness's bootloader request (module docs, "Bootloader request").
    pub const fn bootloader_request() -> Self {
        RunControl {
            flags: BOOTLOADER,
            ..Self::request(0, None)
        }
    }

    /// The firmware's side of step 2: the request to apply, if `words` (the record as found in
    /// RAM) holds a valid budget request that no run has taken yet.
    pub fn accept(words: &[u32]) -> Option<Self> {
        Self::decode(words).ok().filter(|r| r.flags == 0)
    }

    /// The firmware's side of a bootloader request at boot: if `words` holds a valid, untaken
    /// [`BOOTLOADER`] request, the record to store to consume it ([`TAKEN`] | [`BOOTLOADER`]);
    /// the firmware then enters its bootloader. `None`: boot as usual.
    pub fn take_bootloader(words: &[u32]) -> Option<Self> {
        Self::decode(words)
            .ok()
            .filter(|r| r.flags == BOOTLOADER)
            .map(|r| RunControl {
                flags: BOOTLOADER | TAKEN,
                ..r
            })
    }

    /// Whether this is a bootloader request the firmware took (it entered its bootloader).
    pub const fn bootloader_taken(&self) -> bool {
        self.flags == BOOTLOADER | TAKEN
    }

    /// The limits of the run this request asks for (default slice).
    pub const fn limits(&self) -> Limits {
        Limits::new(self.max_instructions, self.time_limit_us)
    }

    /// The record marked taken by a guest run that started at firmware cycle `cycles`.
    pub const fn started(self, cycles: u64) -> Self {
        RunControl {
            flags: TAKEN,
            start_cycles: cycles,
            end_cycles: 0,
            ..self
        }
    }

    /// The record marked ended at firmware cycle `cycles`.
    pub const fn ended(self, cycles: u64) -> Self {
        RunControl {
            flags: TAKEN | ENDED,
            end_cycles: cycles,
            ..self
        }
    }

    /// Whether a guest run took this request.
    pub const fn is_taken(&self) -> bool {
        self.flags & TAKEN != 0
    }

    /// The guest run's length in firmware cycles (`END − START`), once it ended.
    pub const fn run_cycles(&self) -> Option<u64> {
        if self.flags & ENDED != 0 {
            Some(self.end_cycles.saturating_sub(self.start_cycles))
        } else {
            None
        }
    }

    /// The record's words (checksum filled in).
    pub fn encode(&self) -> [u32; WORDS] {
        let [mi_lo, mi_hi] = lo_hi(self.max_instructions);
        let [tl_lo, tl_hi] = lo_hi(self.time_limit_us.unwrap_or(0));
        let [s_lo, s_hi] = lo_hi(self.start_cycles);
        let [e_lo, e_hi] = lo_hi(self.end_cycles);
        let mut w = [
            MAGIC,
            FORMAT_VERSION,
            mi_lo,
            mi_hi,
            tl_lo,
            tl_hi,
            self.flags,
            s_lo,
            s_hi,
            e_lo,
            e_hi,
            0,
        ];
        record::seal(&mut w);
        w
    }

    /// The record as little-endian bytes (as written to RAM).
    pub fn encode_bytes(&self) -> [u8; SIZE] {
        let mut b = [0u8; SIZE];
        for (c, w) in b.chunks_exact_mut(4).zip(self.encode()) {
            c.copy_from_slice(&w.to_le_bytes());
        }
        b
    }

    /// Decodes and verifies a record from its words.
    pub fn decode(w: &[u32]) -> Result<Self, RunCtlError> {
        let w = record::check(w, WORDS, MAGIC, FORMAT_VERSION)?;
        let flags = w[6];
        if !VALID_FLAGS.contains(&flags) {
            return Err(RunCtlError::BadFlags(flags));
        }
        let time_limit_us = join(w[4], w[5]);
        Ok(RunControl {
            max_instructions: join(w[2], w[3]),
            time_limit_us: (time_limit_us != 0).then_some(time_limit_us),
            flags,
            start_cycles: join(w[7], w[8]),
            end_cycles: join(w[9], w[10]),
        })
    }

    /// Decodes a record from little-endian bytes (as read from RAM).
    pub fn decode_bytes(bytes: &[u8]) -> Result<Self, RunCtlError> {
        Self::decode(&record::words::<WORDS>(bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trips_and_gives_its_limits() {
        let r = RunControl::request(100_000, Some(10_000_000));
        let w = r.encode();
        assert_eq!(w[0], MAGIC);
        assert_eq!((w[2], w[3]), (100_000, 0));
        assert_eq!((w[4], w[5]), (10_000_000, 0));
        assert_eq!(RunControl::decode(&w), Ok(r));
        assert_eq!(RunControl::decode_bytes(&r.encode_bytes()), Ok(r));
        assert_eq!(RunControl::accept(&w), Some(r));
        assert_eq!(r.limits(), Limits::new(100_000, Some(10_000_000)));
        let big = RunControl::request(u64::MAX - 1, Some(1 << 40));
        assert_eq!(RunControl::decode(&big.encode()), Ok(big));
        let none = RunControl::request(5, None);
        assert_eq!(
            RunControl::decode(&none.encode()).unwrap().time_limit_us,
            None
        );
        assert_eq!(
            RunControl::decode(&RunControl::request(5, Some(0)).encode())
                .unwrap()
                .time_limit_us,
            None,
            "0 means none"
        );
    }

    #[test]
    fn a_taken_record_is_not_applied_again() {
        let r = RunControl::request(1000, None);
        let started = r.started(12_345);
        assert!(started.is_taken());
        assert_eq!(started.run_cycles(), None);
        assert_eq!(RunControl::accept(&started.encode()), None);
        let ended = started.ended(20_000);
        assert_eq!(RunControl::decode(&ended.encode()), Ok(ended));
        assert_eq!(ended.run_cycles(), Some(7_655));
        assert_eq!(ended.start_cycles, 12_345);
        assert_eq!(RunControl::accept(&ended.encode()), None);
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(RunControl::accept(&[0; WORDS]), None, "power-on RAM");
        assert_eq!(
            RunControl::decode(&[0; WORDS]),
            Err(RunCtlError::Frame(FrameError::BadMagic(0)))
        );
        assert_eq!(
            RunControl::decode(&[0; 3]),
            Err(RunCtlError::Frame(FrameError::TooShort))
        );
        assert_eq!(
            RunControl::decode_bytes(&[0; 8]),
            Err(RunCtlError::Frame(FrameError::TooShort))
        );
        let mut w = RunControl::request(7, None).encode();
        w[2] ^= 1;
        assert!(matches!(
            RunControl::decode(&w),
            Err(RunCtlError::Frame(FrameError::BadChecksum(..)))
        ));
        assert_eq!(RunControl::accept(&w), None);
        let mut w = RunControl::request(7, None).encode();
        w[1] = 0x0002_0000;
        record::seal(&mut w);
        assert_eq!(
            RunControl::decode(&w),
            Err(RunCtlError::Frame(FrameError::BadVersion(0x0002_0000)))
        );
        for flags in [
            ENDED,
            1 << 5,
            BOOTLOADER | ENDED,
            BOOTLOADER | TAKEN | ENDED,
        ] {
            let mut w = RunControl::request(7, None).encode();
            w[6] = flags;
            record::seal(&mut w);
            assert_eq!(RunControl::decode(&w), Err(RunCtlError::BadFlags(flags)));
        }
    }

    #[test]
    fn a_bootloader_request_is_taken_once_and_never_a_budget() {
        let r = RunControl::bootloader_request();
        let w = r.encode();
        assert_eq!(w[1], 0x0001_0001, "minor version 1");
        assert_eq!(w[6], BOOTLOADER);
        assert_eq!(RunControl::decode(&w), Ok(r));
        assert_eq!(RunControl::accept(&w), None, "not a budget");
        assert!(!r.bootloader_taken());
        let taken = RunControl::take_bootloader(&w).expect("an untaken request is taken");
        assert_eq!(taken.flags, BOOTLOADER | TAKEN);
        assert!(taken.bootloader_taken());
        // Stored back, it is consumed: the next boot neither enters the bootloader nor takes a
        // budget from it.
        let stored = taken.encode();
        assert_eq!(RunControl::decode(&stored), Ok(taken));
        assert_eq!(RunControl::take_bootloader(&stored), None);
        assert_eq!(RunControl::accept(&stored), None);
        // A budget request, taken or not, and garbage are no bootloader request.
        let budget = RunControl::request(10, None);
        for words in [
            budget.encode(),
            budget.started(5).encode(),
            budget.started(5).ended(9).encode(),
            [0; WORDS],
        ] {
            assert_eq!(RunControl::take_bootloader(&words), None, "{words:x?}");
        }
        assert!(!budget.started(5).bootloader_taken());
        let mut bad = w;
        bad[2] ^= 1;
        assert_eq!(RunControl::take_bootloader(&bad), None, "checksum");
        // A minor-0 record (an older harness) still decodes.
        let mut old = budget.encode();
        old[1] = 0x0001_0000;
        record::seal(&mut old);
        assert_eq!(RunControl::accept(&old), Some(budget));
    }

    #[test]
    fn layout_fits_the_reserved_block() {
        assert_eq!(SIZE, 48);
        assert_eq!(RUNCTL_ADDR, crate::telemetry::TELEMETRY_ADDR + 0xC0);
        assert!(RUNCTL_ADDR + SIZE as u32 <= crate::vmsnap::VM_SNAPSHOT_ADDR);
    }
}
