//! The firmware ELF, read with the `object` crate: its symbols (the boards that run the firmware
//! find their RAM structures by symbol: `_SEGGER_RTT`, cortex-m-rt's `_stack_start`/`_stack_end`)
//! and its flash image ([`FirmwareImage`]: what `emu` places in its flash and a probe programs).

use cockpit_hypervisor::{FLASH_BASE, PROGRAM_BANK_ADDR};
use object::elf;
use object::read::elf::{ElfFile32, ProgramHeader};
use object::{Object, ObjectSymbol};

/// The value (address) of the symbol `name` in an ELF file's symbol table; `None` if the bytes
/// are not an ELF file, the symbol is absent or its value does not fit 32 bits.
pub fn symbol(elf: &[u8], name: &str) -> Option<u32> {
    let file = object::File::parse(elf).ok()?;
    let sym = file.symbol_by_name(name)?;
    u32::try_from(sym.address()).ok()
}

/// Bytes to place in flash at `addr` (a byte address in `0x0800_0000..0x0808_0000`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlashRegion {
    /// Start address.
    pub addr: u32,
    /// Contents.
    pub data: Vec<u8>,
}

/// The firmware's flash contents, from its ELF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirmwareImage {
    /// Loadable segments in flash, in address order.
    pub regions: Vec<FlashRegion>,
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

    /// Bytes in the image.
    pub fn byte_count(&self) -> usize {
        self.regions.iter().map(|r| r.data.len()).sum()
    }
}
