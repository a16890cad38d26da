//! The flash-skip check: is the firmware image ([`crate::elf::FirmwareImage`]) already on the
//! board?
//!
//! # Method
//! The image is every `PT_LOAD` program header with file bytes whose physical (load) address
//! lies in flash, i.e. what probe-rs's ELF loader programs: `.vector_table`, `.text`, `.rodata`
//! and the load image of `.data`. Its digest is SHA-256 over, per segment in address order,
//! the address (u32 LE), the length (u32 LE) and the bytes. The board's digest is the same
//! hash over the same address ranges read back through the probe. Equal digests → the board
//! already runs this firmware and flashing is skipped; anything else (other bytes, erased or
//! partly written flash) → flash. Bytes outside the segments (erased padding up to the sector
//! end) are not compared: they do not affect what runs.
//!
//! Reading back the ranges costs what a verify pass costs (≈ 47 KiB for the current firmware),
//! far less than an erase + program, and it wears nothing.

use sha2::{Digest, Sha256};

use super::link::{DebugLink, FlashRegion, LinkError};

/// SHA-256 of a set of flash regions (module docs).
pub type ImageDigest = [u8; 32];

/// Hashes `regions` as the module docs say.
pub fn digest(regions: &[FlashRegion]) -> ImageDigest {
    let mut h = Sha256::new();
    for r in regions {
        h.update(r.addr.to_le_bytes());
        h.update((r.data.len() as u32).to_le_bytes());
        h.update(&r.data);
    }
    h.finalize().into()
}

/// Reads the address ranges of `regions` back from the board and hashes them the same way.
/// Errors: the link's read error.
pub fn board_digest(
    link: &mut dyn DebugLink,
    regions: &[FlashRegion],
) -> Result<ImageDigest, LinkError> {
    let back = regions
        .iter()
        .map(|r| {
            Ok(FlashRegion {
                addr: r.addr,
                data: link.read_memory(r.addr, r.data.len())?,
            })
        })
        .collect::<Result<Vec<_>, LinkError>>()?;
    Ok(digest(&back))
}
