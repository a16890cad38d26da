//! Program bank A on a byte copy of the whole flash: the direct `load` every firmware-running
//! board shares (`emu` on its flash buffer, `probe` on an in-memory copy it then writes to the
//! board).

use cockpit_hypervisor::boot::{self, Bank};
use cockpit_hypervisor::flash::MemFlash;
use cockpit_hypervisor::{FLASH_BASE, PROGRAM_BANK_ADDR, PROGRAM_BANK_SIZE, load};

use crate::target::TargetError;

/// Erases bank A (`PROGRAM_BANK_ADDR`, `PROGRAM_BANK_SIZE` bytes), writes `image` there,
/// validates it with the hypervisor's loader and makes bank A the active bank with
/// `boot::write_active` (unless it already is), exactly as the `sim` board's direct load.
///
/// `flash`: the 512 KiB flash contents from `FLASH_BASE`; its boot metadata pages must hold the
/// board's current metadata. Errors: `Image` when the image is larger than the bank or the loader
/// rejects it (bank A is then left erased); `Board` when the metadata cannot be written.
pub fn install_bank_a(flash: &mut [u8], image: &[u8]) -> Result<(), TargetError> {
    let bank = (PROGRAM_BANK_ADDR - FLASH_BASE) as usize;
    let region = flash
        .get_mut(bank..bank + PROGRAM_BANK_SIZE)
        .ok_or_else(|| TargetError::Board("flash copy smaller than the program bank".into()))?;
    region.fill(0xFF);
    if image.len() > PROGRAM_BANK_SIZE {
        return Err(TargetError::Image(format!(
            "image of {} bytes exceeds the {PROGRAM_BANK_SIZE}-byte program bank at {PROGRAM_BANK_ADDR:#010x}",
            image.len()
        )));
    }
    region[..image.len()].copy_from_slice(image);
    let mut f = MemFlash {
        base: FLASH_BASE,
        bytes: flash,
    };
    if let Err(e) = load(&f, PROGRAM_BANK_ADDR) {
        f.bytes[bank..bank + PROGRAM_BANK_SIZE].fill(0xFF);
        return Err(TargetError::Image(e.to_string()));
    }
    if boot::active_bank(&f) != Bank::A {
        boot::write_active(&mut f, Bank::A)
            .map_err(|e| TargetError::Board(format!("boot metadata: {e}")))?;
    }
    Ok(())
}
