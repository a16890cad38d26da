//! Program loader: finds and validates the guest image in the program bank of flash.

use cockpit_vm::program::{CONC_HEADER_SIZE, CONC_MAGIC, CVBC_HEADER_SIZE, CVBC_MAGIC};
use cockpit_vm::{ContainerError, Program};

use crate::board::{Flash, FlashError};

/// Flash address of the program bank: `0x0801_0000`. The first 64 KiB of flash
/// (`0x0800_0000..0x0801_0000`) are reserved for the hypervisor and the bootloader.
pub const PROGRAM_BANK_ADDR: u32 = 0x0801_0000;
/// Size of the program bank: 192 KiB (`0x0801_0000..0x0804_0000`): the rest of bank 1 of the
/// STM32G474's 512 KiB flash in dual-bank mode (bank 1 `0x0800_0000..0x0804_0000`, bank 2
/// `0x0804_0000..0x0808_0000`, 256 KiB each; RM0440 §3.3.1).
pub const PROGRAM_BANK_SIZE: usize = 192 * 1024;

/// Why [`load`] found no runnable program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// Reading the header or the image went outside flash.
    Flash(FlashError),
    /// The header declares an image larger than the program bank.
    TooLarge {
        /// Declared total size in bytes.
        size: usize,
        /// [`PROGRAM_BANK_SIZE`].
        max: usize,
    },
    /// The container rejected the image (bad magic, CRC, sections, …).
    Container(ContainerError),
    /// [`load_boot`]: neither bank holds a valid image (the device stays in the bootloader).
    NoBootableBank,
}

impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LoadError::Flash(e) => e.fmt(f),
            LoadError::TooLarge { size, max } => {
                write!(
                    f,
                    "image of {size} bytes exceeds the {max}-byte program bank"
                )
            }
            LoadError::Container(e) => e.fmt(f),
            LoadError::NoBootableBank => write!(f, "no program bank holds a valid image"),
        }
    }
}

impl From<FlashError> for LoadError {
    fn from(e: FlashError) -> Self {
        LoadError::Flash(e)
    }
}

impl From<ContainerError> for LoadError {
    fn from(e: ContainerError) -> Self {
        LoadError::Container(e)
    }
}

/// Total size in bytes of the image whose first bytes are `head` (at least
/// [`CVBC_HEADER_SIZE`] bytes): CVBC header offset 12 (u32 LE total size), or 16 + CONC
/// `program_size` (offset 4). `None` for an unknown magic.
pub fn image_size(head: &[u8]) -> Option<usize> {
    let u32_at = |at: usize| {
        head.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    match head.get(..4)? {
        m if m == CVBC_MAGIC => u32_at(12),
        m if m == CONC_MAGIC.to_le_bytes() => u32_at(4).map(|n| n.saturating_add(CONC_HEADER_SIZE)),
        _ => None,
    }
}

/// Loads the program at flash address `addr` (normally [`PROGRAM_BANK_ADDR`]): reads the header
/// to learn the image size, borrows the whole image from flash and validates it with
/// [`Program::parse`] (CVBC, or an original CONC page-63 image).
///
/// Errors: [`LoadError::Flash`] if the header or image is outside flash, [`LoadError::TooLarge`]
/// if the declared size exceeds [`PROGRAM_BANK_SIZE`], [`LoadError::Container`] with the
/// container's reason otherwise (an erased bank gives `BadMagic { found: [ff, ff, ff, ff] }`).
pub fn load<F: Flash + ?Sized>(flash: &F, addr: u32) -> Result<Program<'_>, LoadError> {
    let head = flash.read(addr, CVBC_HEADER_SIZE)?;
    let Some(size) = image_size(head) else {
        // Unknown magic: let the container produce its message.
        return Err(Program::parse(head).err().map_or(
            LoadError::Container(ContainerError::BadMagic { found: [0; 4] }),
            LoadError::Container,
        ));
    };
    if size > PROGRAM_BANK_SIZE {
        return Err(LoadError::TooLarge {
            size,
            max: PROGRAM_BANK_SIZE,
        });
    }
    // A size smaller than the header is the container's to reject (BadHeader / Truncated).
    let image = flash.read(addr, size.max(CVBC_HEADER_SIZE))?;
    Ok(Program::parse(image)?)
}

/// Loads the image [`crate::boot::select`] chooses: the active bank's if valid, else the other
/// bank's. Returns the bank and the validated program (borrowed from flash).
/// Errors: [`LoadError::NoBootableBank`] when neither bank holds a valid image.
pub fn load_boot<F: Flash + ?Sized>(
    flash: &F,
) -> Result<(crate::boot::Bank, Program<'_>), LoadError> {
    let bank = crate::boot::select(flash)
        .bank()
        .ok_or(LoadError::NoBootableBank)?;
    Ok((bank, load(flash, bank.addr())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_bank_is_the_rest_of_flash_bank_1() {
        // Dual-bank mode (RM0440 §3.3.1): bank 2 starts at FLASH_BASE + FLASH_SIZE / 2.
        let bank2 = crate::FLASH_BASE as usize + crate::FLASH_SIZE / 2;
        assert_eq!(bank2, 0x0804_0000);
        assert_eq!(PROGRAM_BANK_ADDR as usize + PROGRAM_BANK_SIZE, bank2);
    }
}
