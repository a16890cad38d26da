//! The firmware image as flashed: the ELF's loadable flash segments, and the flash-skip check.
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

use object::elf;
use object::read::elf::{ElfFile32, ProgramHeader};
use sha2::{Digest, Sha256};

use super::link::{DebugLink, FlashRegion, LinkError};
use cockpit_hypervisor::{FLASH_BASE, PROGRAM_BANK_ADDR};

/// SHA-256 of a set of flash regions (module docs).
pub type ImageDigest = [u8; 32];

/// The firmware's flash contents, from its ELF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirmwareImage {
    /// Loadable segments in flash, in address order.
    pub regions: Vec<FlashRegion>,
}

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

impl FirmwareImage {
    /// The flash segments of an ELF32 little-endian file (`name` is used in errors). Errors: not
    /// such an ELF, no loadable flash segment, or a segment reaching into the program banks
    /// (at `PROGRAM_BANK_ADDR`), which the firmware must never overwrite.
    pub fn from_elf(name: &str, bytes: &[u8]) -> Result<Self, String> {
        let file = ElfFile32::<object::Endianness>::parse(bytes)
            .map_err(|e| format!("{name}: not a 32-bit ELF: {e}"))?;
        let endian = file.endian();
        let mut regions = Vec::new();
        for ph in file.elf_program_headers() {
            if ph.p_type(endian) != elf::PT_LOAD || ph.p_filesz(endian) == 0 {
                continue;
            }
            let addr = ph.p_paddr(endian);
            if !(FLASH_BASE..PROGRAM_BANK_ADDR).contains(&addr) {
                continue;
            }
            let data = ph
                .data(endian, bytes)
                .map_err(|_| format!("{name}: segment at {addr:#010x} lies outside the file"))?;
            if u64::from(addr) + data.len() as u64 > u64::from(PROGRAM_BANK_ADDR) {
                return Err(format!(
                    "{name}: segment at {addr:#010x} ({} bytes) reaches into the program bank at \
                     {PROGRAM_BANK_ADDR:#010x}",
                    data.len()
                ));
            }
            regions.push(FlashRegion {
                addr,
                data: data.to_vec(),
            });
        }
        if regions.is_empty() {
            return Err(format!("{name}: no loadable segment in flash"));
        }
        regions.sort_by_key(|r| r.addr);
        Ok(FirmwareImage { regions })
    }

    /// The image's digest.
    pub fn digest(&self) -> ImageDigest {
        digest(&self.regions)
    }

    /// Bytes in the image.
    pub fn byte_count(&self) -> usize {
        self.regions.iter().map(|r| r.data.len()).sum()
    }
}
