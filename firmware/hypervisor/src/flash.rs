//! Flash programming: the [`FlashProgrammer`] trait with the STM32G474's rules (RM0440 §3.3.6
//! page erase, §3.3.7 programming), the shared range/alignment checks every implementation uses,
//! and [`MemFlash`], a programmable flash over a mutable byte slice (tests, fuzzing, host tools).
//!
//! Rules (dual-bank mode, DBANK = 1, RM0440 §3.3.1 and §3.3.7):
//! - the erase unit is one 2 KiB page ([`PAGE_SIZE`]); an erased byte reads `0xFF`;
//! - the program unit is one 64-bit double word ([`DOUBLE_WORD`] bytes) at an 8-aligned
//!   address, and only into a double word that is fully erased: programming a double word that
//!   is not all `0xFF` sets PROGERR in FLASH_SR and writes nothing ([`ProgramError::NotErased`]);
//! - each double word carries its own 8-bit ECC, so a programmed double word is either entirely
//!   written or not at all: this is what makes a single double-word program usable as an atomic
//!   commit (see [`crate::boot`]).

use crate::board::{Flash, byte_range};

/// Flash page size in dual-bank mode, bytes: 2048 (RM0440 §3.3.1). The erase unit.
pub const PAGE_SIZE: usize = 2048;

/// Programming unit, bytes: one 64-bit double word (RM0440 §3.3.7).
pub const DOUBLE_WORD: usize = 8;

/// Why an erase or a program operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgramError {
    /// The page / double word at `addr` is not inside the flash.
    OutOfRange {
        /// Requested address.
        addr: u32,
    },
    /// `addr` is not page-aligned (erase) or not 8-aligned (program): PGAERR (RM0440 §3.7.5).
    Unaligned {
        /// Requested address.
        addr: u32,
    },
    /// The target double word at `addr` is not erased: PROGERR (RM0440 §3.3.7); nothing written.
    NotErased {
        /// Address of the double word.
        addr: u32,
    },
    /// The supply was cut (simulation only: the `sim` flash's power-loss injection). Every
    /// operation fails this way until the simulated device reboots.
    PowerLost,
}

impl core::fmt::Display for ProgramError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ProgramError::OutOfRange { addr } => {
                write!(f, "flash address {addr:#010x} is out of range")
            }
            ProgramError::Unaligned { addr } => {
                write!(f, "flash address {addr:#010x} is misaligned")
            }
            ProgramError::NotErased { addr } => {
                write!(f, "double word at {addr:#010x} is not erased (PROGERR)")
            }
            ProgramError::PowerLost => write!(f, "power lost"),
        }
    }
}

/// Erase and program access to flash, with RM0440 semantics (module docs).
///
/// Implementations: the `sim` board's `SimFlash` (with power-loss injection), [`MemFlash`], and
/// later the STM32G474 firmware's FLASH_CR driver (issue 5).
pub trait FlashProgrammer: Flash {
    /// Erases the 2 KiB page starting at `addr` to `0xFF` (RM0440 §3.3.6, page erase).
    /// Errors: [`ProgramError::Unaligned`] unless `addr` is page-aligned relative to the flash
    /// base, [`ProgramError::OutOfRange`], [`ProgramError::PowerLost`].
    fn erase_page(&mut self, addr: u32) -> Result<(), ProgramError>;

    /// Programs the double word `data` at the 8-aligned `addr` (RM0440 §3.3.7).
    /// Errors: [`ProgramError::Unaligned`], [`ProgramError::OutOfRange`],
    /// [`ProgramError::NotErased`] if any of the 8 target bytes is not `0xFF` (nothing is
    /// written), [`ProgramError::PowerLost`].
    fn program_double_word(&mut self, addr: u32, data: [u8; 8]) -> Result<(), ProgramError>;
}

/// Indices into a flash's contents (`size` bytes from address `base`) of the page at `addr`.
/// Errors: [`ProgramError::Unaligned`] unless `addr - base` is a multiple of [`PAGE_SIZE`],
/// [`ProgramError::OutOfRange`] unless the whole page is inside. The one check every
/// [`FlashProgrammer`] uses for erases.
pub fn page_range(
    base: u32,
    size: usize,
    addr: u32,
) -> Result<core::ops::Range<usize>, ProgramError> {
    let r = byte_range(base, addr, PAGE_SIZE)
        .filter(|r| r.end <= size)
        .ok_or(ProgramError::OutOfRange { addr })?;
    if !r.start.is_multiple_of(PAGE_SIZE) {
        return Err(ProgramError::Unaligned { addr });
    }
    Ok(r)
}

/// Indices of the double word at `addr` in `bytes` (the contents of a flash starting at
/// `base`), after checking alignment, range and the erased state of the target.
/// Errors: [`ProgramError::Unaligned`], [`ProgramError::OutOfRange`],
/// [`ProgramError::NotErased`]. The one check every [`FlashProgrammer`] uses for programs.
pub fn double_word_range(
    base: u32,
    bytes: &[u8],
    addr: u32,
) -> Result<core::ops::Range<usize>, ProgramError> {
    let r = byte_range(base, addr, DOUBLE_WORD)
        .filter(|r| r.end <= bytes.len())
        .ok_or(ProgramError::OutOfRange { addr })?;
    if !r.start.is_multiple_of(DOUBLE_WORD) {
        return Err(ProgramError::Unaligned { addr });
    }
    match bytes.get(r.clone()) {
        Some(dw) if dw.iter().all(|&b| b == 0xFF) => Ok(r),
        Some(_) => Err(ProgramError::NotErased { addr }),
        None => Err(ProgramError::OutOfRange { addr }),
    }
}

/// A programmable flash over a mutable byte slice whose first byte is at address `base`, with
/// the RM0440 rules of [`FlashProgrammer`] and no power-loss model. `base` must be page-aligned
/// for page numbers to match the device's; `bytes.len()` should be a multiple of [`PAGE_SIZE`].
#[derive(Debug)]
pub struct MemFlash<'a> {
    /// Address of `bytes[0]`.
    pub base: u32,
    /// The flash contents.
    pub bytes: &'a mut [u8],
}

impl Flash for MemFlash<'_> {
    fn read(&self, addr: u32, len: usize) -> Result<&[u8], crate::FlashError> {
        byte_range(self.base, addr, len)
            .and_then(|r| self.bytes.get(r))
            .ok_or(crate::FlashError::OutOfRange { addr, len })
    }
}

impl FlashProgrammer for MemFlash<'_> {
    fn erase_page(&mut self, addr: u32) -> Result<(), ProgramError> {
        let r = page_range(self.base, self.bytes.len(), addr)?;
        if let Some(page) = self.bytes.get_mut(r) {
            page.fill(0xFF);
        }
        Ok(())
    }

    fn program_double_word(&mut self, addr: u32, data: [u8; 8]) -> Result<(), ProgramError> {
        let r = double_word_range(self.base, self.bytes, addr)?;
        if let Some(dw) = self.bytes.get_mut(r) {
            dw.copy_from_slice(&data);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rm0440_rules() {
        let mut bytes = [0xFFu8; 2 * PAGE_SIZE];
        let mut f = MemFlash {
            base: 0x0800_0000,
            bytes: &mut bytes,
        };
        f.program_double_word(0x0800_0008, [1; 8]).unwrap();
        assert_eq!(f.read(0x0800_0008, 8).unwrap(), &[1; 8]);
        assert_eq!(
            f.program_double_word(0x0800_0008, [0; 8]),
            Err(ProgramError::NotErased { addr: 0x0800_0008 }),
            "PROGERR: not erased"
        );
        assert_eq!(f.read(0x0800_0008, 8).unwrap(), &[1; 8], "nothing written");
        assert_eq!(
            f.program_double_word(0x0800_0004, [0; 8]),
            Err(ProgramError::Unaligned { addr: 0x0800_0004 })
        );
        assert_eq!(
            f.program_double_word(0x0800_1000, [0; 8]),
            Err(ProgramError::OutOfRange { addr: 0x0800_1000 })
        );
        assert_eq!(
            f.program_double_word(0x07FF_FFF8, [0; 8]),
            Err(ProgramError::OutOfRange { addr: 0x07FF_FFF8 })
        );
        assert_eq!(
            f.erase_page(0x0800_0400),
            Err(ProgramError::Unaligned { addr: 0x0800_0400 })
        );
        assert_eq!(
            f.erase_page(0x0800_1000),
            Err(ProgramError::OutOfRange { addr: 0x0800_1000 })
        );
        f.program_double_word(0x0800_0800, [2; 8]).unwrap();
        f.erase_page(0x0800_0000).unwrap();
        assert_eq!(f.read(0x0800_0008, 8).unwrap(), &[0xFF; 8]);
        assert_eq!(f.read(0x0800_0800, 8).unwrap(), &[2; 8], "other page kept");
        f.program_double_word(0x0800_0008, [0; 8]).unwrap();
    }
}
