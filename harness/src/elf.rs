//! Symbols of the firmware ELF, read with the `object` crate (the boards that run the firmware
//! find their RAM structures by symbol: `_SEGGER_RTT`, cortex-m-rt's `_stack_start`/`_stack_end`).

use object::{Object, ObjectSymbol};

/// The value (address) of the symbol `name` in an ELF file's symbol table; `None` if the bytes
/// are not an ELF file, the symbol is absent or its value does not fit 32 bits.
pub fn symbol(elf: &[u8], name: &str) -> Option<u32> {
    let file = object::File::parse(elf).ok()?;
    let sym = file.symbol_by_name(name)?;
    u32::try_from(sym.address()).ok()
}
