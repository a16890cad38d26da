//! A/B program banks, the boot metadata record and boot selection.
//!
//! Layout (STM32G474xE, 512 KiB in dual-bank mode, 2 KiB pages; RM0440 §3.3.1):
//!
//! | What | Address | Size |
//! |---|---|---|
//! | bank A ([`Bank::A`], = [`crate::PROGRAM_BANK_ADDR`]) | `0x0801_0000` | 192 KiB (rest of flash bank 1) |
//! | bank B ([`Bank::B`]) | `0x0804_0000` | 192 KiB (start of flash bank 2) |
//! | unused | `0x0807_0000` | 60 KiB |
//! | metadata page 0 / page 1 ([`META_PAGES`]) | `0x0807_F000` / `0x0807_F800` | 2 × 2 KiB (last two pages) |
//!
//! **Metadata record** (one 64-bit double word, [`Record`]): low word
//! `w0 = MAGIC | (generation << 9) | (bank << 8)` (bank 0 = A, 1 = B; generation 1..2^23),
//! high word `w1 = !w0`, both little-endian. A record is valid iff `w0 & 0xFF == 0xB7` and
//! `w1 == !w0`. The valid record with the highest generation in either page names the active
//! bank; no valid record means bank A.
//!
//! **Why every power cut leaves a bootable state.** Activating a bank is ONE double-word
//! program of a new record (generation + 1) into an erased slot: a double word is ECC-protected
//! and either fully programmed or not at all (RM0440 §3.3.7), so after a cut either the old or
//! the new record is the newest. Records are appended to the current page; when it is full the
//! *other* page is erased first and the record goes to its slot 0 — the current page, holding
//! the newest valid record, is never erased. An interrupted erase only sets bits to 1 (an erase
//! drives cells towards `0xFF`); a record whose `w0` gains 1-bits would need its complement
//! `w1` to lose the matching ones, so a half-erased record is either unchanged or invalid —
//! never a different valid record. The image of the new bank is written (and verified:
//! CRC-32, `Program::parse`) before its record, and [`select`] still checks the container of
//! the bank it picks, falling back to the other bank.

use cockpit_vm::Program;
use cockpit_vm::program::CVBC_HEADER_SIZE;

use crate::board::Flash;
use crate::flash::{DOUBLE_WORD, FlashProgrammer, PAGE_SIZE, ProgramError};
use crate::loader::{self, PROGRAM_BANK_ADDR, PROGRAM_BANK_SIZE};

/// Address of bank B: `0x0804_0000`, the start of flash bank 2 (RM0440 §3.3.1).
pub const BANK_B_ADDR: u32 = 0x0804_0000;

/// Addresses of the two metadata pages (used ping-pong): the last two 2 KiB pages of flash.
pub const META_PAGES: [u32; 2] = [0x0807_F000, 0x0807_F800];

/// Record slots per metadata page: 2048 / 8 = 256.
pub const SLOTS_PER_PAGE: usize = PAGE_SIZE / DOUBLE_WORD;

/// Low byte of a record's first word.
pub const MAGIC: u8 = 0xB7;

/// Largest generation a record can hold (23 bits). Far beyond the flash endurance: each
/// activation erases a 192 KiB bank, rated 10 k cycles (RM0440 / datasheet), i.e. ≈ 20 k
/// activations per device; at the maximum the generation saturates.
pub const MAX_GENERATION: u32 = (1 << 23) - 1;

/// One of the two 192 KiB program banks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bank {
    /// `0x0801_0000` ([`crate::PROGRAM_BANK_ADDR`]), what the direct `load` path writes.
    A,
    /// `0x0804_0000` ([`BANK_B_ADDR`]).
    B,
}

impl Bank {
    /// Both banks, A first.
    pub const ALL: [Bank; 2] = [Bank::A, Bank::B];

    /// First byte address of the bank.
    pub const fn addr(self) -> u32 {
        match self {
            Bank::A => PROGRAM_BANK_ADDR,
            Bank::B => BANK_B_ADDR,
        }
    }

    /// Size of either bank, bytes: 192 KiB ([`crate::PROGRAM_BANK_SIZE`]).
    pub const fn size(self) -> usize {
        PROGRAM_BANK_SIZE
    }

    /// The other bank.
    pub const fn other(self) -> Bank {
        match self {
            Bank::A => Bank::B,
            Bank::B => Bank::A,
        }
    }

    /// The bank containing the byte at `addr`, if any.
    pub fn containing(addr: u32) -> Option<Bank> {
        Bank::ALL
            .into_iter()
            .find(|b| addr >= b.addr() && addr - b.addr() < b.size() as u32)
    }
}

/// A boot metadata record (module docs for the encoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// The active bank.
    pub bank: Bank,
    /// Generation, 1..=[`MAX_GENERATION`]; the newest record wins.
    pub generation: u32,
}

impl Record {
    /// The double word programmed into a slot.
    pub fn encode(&self) -> [u8; 8] {
        let bank = match self.bank {
            Bank::A => 0,
            Bank::B => 1,
        };
        let w0 = u32::from(MAGIC) | (bank << 8) | ((self.generation & MAX_GENERATION) << 9);
        let mut out = [0u8; 8];
        out[..4].copy_from_slice(&w0.to_le_bytes());
        out[4..].copy_from_slice(&(!w0).to_le_bytes());
        out
    }

    /// Decodes a slot; `None` unless it is a valid record (erased, garbage and half-erased
    /// records are all invalid).
    pub fn decode(dw: &[u8]) -> Option<Record> {
        let w0 = u32::from_le_bytes(dw.get(0..4)?.try_into().ok()?);
        let w1 = u32::from_le_bytes(dw.get(4..8)?.try_into().ok()?);
        if w0 & 0xFF != u32::from(MAGIC) || w1 != !w0 {
            return None;
        }
        let bank = if w0 & 0x100 == 0 { Bank::A } else { Bank::B };
        Some(Record {
            bank,
            generation: w0 >> 9,
        })
    }
}

/// Where the newest valid record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetaState {
    /// The record.
    pub record: Record,
    /// Index into [`META_PAGES`].
    pub page: usize,
    /// Slot in the page, 0..[`SLOTS_PER_PAGE`].
    pub slot: usize,
}

fn slot_addr(page: usize, slot: usize) -> Option<u32> {
    let base = *META_PAGES.get(page)?;
    Some(base + (slot * DOUBLE_WORD) as u32)
}

fn read_slot<F: Flash + ?Sized>(flash: &F, page: usize, slot: usize) -> Option<&[u8]> {
    flash.read(slot_addr(page, slot)?, DOUBLE_WORD).ok()
}

/// Scans both metadata pages for the newest valid record (highest generation; on a tie the
/// later page/slot). `None` if there is none (fresh device: bank A is the active bank).
pub fn read_meta<F: Flash + ?Sized>(flash: &F) -> Option<MetaState> {
    let mut best: Option<MetaState> = None;
    for page in 0..META_PAGES.len() {
        for slot in 0..SLOTS_PER_PAGE {
            let Some(record) = read_slot(flash, page, slot).and_then(Record::decode) else {
                continue;
            };
            if best.is_none_or(|b| record.generation >= b.record.generation) {
                best = Some(MetaState { record, page, slot });
            }
        }
    }
    best
}

/// The bank the metadata names active ([`Bank::A`] when there is no valid record).
pub fn active_bank<F: Flash + ?Sized>(flash: &F) -> Bank {
    read_meta(flash).map_or(Bank::A, |m| m.record.bank)
}

/// Makes `bank` the active bank with ONE double-word program of a new record (module docs):
/// into the next erased slot after the newest record in its page, or, if that page is full,
/// into slot 0 of the other page after erasing it (an erase that never touches the page holding
/// the newest record). Number of flash operations: 1, or 2 every 256 activations.
///
/// Errors: the [`ProgramError`] of the erase or program (the previous record then still
/// decides, or — if the program completed before a power cut — the new one).
pub fn write_active<F: FlashProgrammer + ?Sized>(
    flash: &mut F,
    bank: Bank,
) -> Result<(), ProgramError> {
    let current = read_meta(flash);
    let generation = current.map_or(1, |m| (m.record.generation + 1).min(MAX_GENERATION));
    let record = Record { bank, generation }.encode();
    let (page, first) = current.map_or((0, 0), |m| (m.page, m.slot + 1));
    let erased =
        |f: &F, slot| read_slot(f, page, slot).is_some_and(|dw| dw.iter().all(|&b| b == 0xFF));
    if let Some(slot) = (first..SLOTS_PER_PAGE).find(|&s| erased(flash, s)) {
        let addr = slot_addr(page, slot).ok_or(ProgramError::OutOfRange { addr: 0 })?;
        return flash.program_double_word(addr, record);
    }
    // Page full: switch to the other page (or, with no valid record anywhere, reuse page 0).
    let next = if current.is_some() { 1 - page } else { page };
    let base = *META_PAGES
        .get(next)
        .ok_or(ProgramError::OutOfRange { addr: 0 })?;
    flash.erase_page(base)?;
    flash.program_double_word(base, record)
}

/// Size in bytes of the valid image in `bank`, or `None` if the bank holds no image that
/// [`loader::load`] accepts (container parses, checksum good, fits the bank).
pub fn valid_image_len<F: Flash + ?Sized>(flash: &F, bank: Bank) -> Option<usize> {
    let _program: Program<'_> = loader::load(flash, bank.addr()).ok()?;
    let head = flash.read(bank.addr(), CVBC_HEADER_SIZE).ok()?;
    loader::image_size(head)
}

/// What [`select`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootChoice {
    /// Boot the image in `bank`.
    Bank {
        /// The bank.
        bank: Bank,
        /// Its address ([`Bank::addr`]).
        addr: u32,
        /// Image size from its header, bytes.
        len: usize,
        /// True if the metadata names the other bank (which holds no valid image).
        fallback: bool,
    },
    /// No bank holds a valid image: stay in the bootloader.
    Bootloader,
}

impl BootChoice {
    /// The chosen bank, if any.
    pub fn bank(&self) -> Option<Bank> {
        match self {
            BootChoice::Bank { bank, .. } => Some(*bank),
            BootChoice::Bootloader => None,
        }
    }
}

/// Boot selection: the active bank (per the newest metadata record, else A) if it holds a
/// valid image, else the other bank if it does, else [`BootChoice::Bootloader`].
/// Reads flash only; never fails or panics, whatever the flash holds.
pub fn select<F: Flash + ?Sized>(flash: &F) -> BootChoice {
    let active = active_bank(flash);
    for (bank, fallback) in [(active, false), (active.other(), true)] {
        if let Some(len) = valid_image_len(flash, bank) {
            return BootChoice::Bank {
                bank,
                addr: bank.addr(),
                len,
                fallback,
            };
        }
    }
    BootChoice::Bootloader
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        assert_eq!(Bank::A.addr() as usize + Bank::A.size(), 0x0804_0000);
        assert_eq!(Bank::B.addr() as usize + Bank::B.size(), 0x0807_0000);
        let end = crate::FLASH_BASE as usize + crate::FLASH_SIZE;
        assert_eq!(META_PAGES[1] as usize + PAGE_SIZE, end);
        assert_eq!(META_PAGES[0] as usize + PAGE_SIZE, META_PAGES[1] as usize);
        assert_eq!(Bank::containing(0x0803_FFFF), Some(Bank::A));
        assert_eq!(Bank::containing(0x0804_0000), Some(Bank::B));
        assert_eq!(Bank::containing(0x0807_0000), None);
        assert_eq!(Bank::containing(0x0800_0000), None);
    }

    #[test]
    fn records_round_trip_and_reject_erased_and_half_erased() {
        let r = Record {
            bank: Bank::B,
            generation: 77,
        };
        assert_eq!(Record::decode(&r.encode()), Some(r));
        assert_eq!(Record::decode(&[0xFF; 8]), None);
        assert_eq!(Record::decode(&[0; 8]), None);
        // Any set of extra 1-bits (a partial erase) invalidates or keeps the record.
        let dw = u64::from_le_bytes(r.encode());
        for bit in 0..64 {
            let m = dw | (1 << bit);
            let d = Record::decode(&m.to_le_bytes());
            assert!(d.is_none() || m == dw, "bit {bit}");
        }
        for mask in [
            0x0000_0000_FFFF_0000u64,
            0x00FF_0000_0000_FF00,
            0x0F0F_0F0F_0F0F_0F0F,
        ] {
            let m = dw | mask;
            assert!(m == dw || Record::decode(&m.to_le_bytes()).is_none());
        }
    }
}
