//! The firmware's stack high-water mark, measured from outside as a debug probe does it: paint
//! the stack region with a pattern while the core is held in reset (or before the emulator
//! releases it), run, then scan for the lowest word the firmware overwrote.
//!
//! The region is cortex-m-rt's stack: from `_stack_end` (the end of static RAM, lowest
//! address) up to `_stack_start` (the initial MSP), both ELF symbols; the firmware's MPU guard
//! at the bottom is painted too (a debugger's access bypasses the MPU). Memory goes through
//! closures, so the emulator's RAM and a probe's `Core::read`/`write` serve alike.
//!
//! The peak is `_stack_start − address of the lowest non-pattern word`, a lower bound: a stack
//! word that happens to hold [`PAINT`] is not seen as used (1 in 2³² per word).

use crate::result::Metric;
use crate::rtt::ReadMem;
use crate::target::STACK_PEAK_METRIC;

/// The board metric for a stack peak of `bytes` ([`STACK_PEAK_METRIC`], unit `bytes`): what a
/// board that measured it returns from `Target::board_metrics`.
pub fn metrics(bytes: Option<u32>) -> Vec<Metric> {
    bytes
        .map(|b| Metric {
            name: STACK_PEAK_METRIC.into(),
            unit: "bytes".into(),
            value: f64::from(b),
        })
        .into_iter()
        .collect()
}

/// The paint word (little endian in RAM).
pub const PAINT: u32 = 0x5AC4_C0DE;

/// The firmware's stack: `[low, high)`, byte addresses, 4-aligned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackRegion {
    /// Lowest address (`_stack_end`).
    pub low: u32,
    /// One past the highest address: the initial MSP (`_stack_start`).
    pub high: u32,
}

impl StackRegion {
    /// The region from the ELF's `_stack_end` and `_stack_start` symbols. Errors: a symbol is
    /// missing, or they do not form a non-empty 4-aligned range.
    pub fn from_elf(elf: &[u8]) -> Result<Self, String> {
        let sym = |name: &str| {
            crate::elf::symbol(elf, name)
                .ok_or_else(|| format!("the firmware ELF has no `{name}` symbol"))
        };
        let (low, high) = (sym("_stack_end")?, sym("_stack_start")?);
        if low >= high || !low.is_multiple_of(4) || !high.is_multiple_of(4) {
            return Err(format!(
                "stack bounds _stack_end {low:#010x}, _stack_start {high:#010x} are not a \
                 4-aligned range"
            ));
        }
        Ok(StackRegion { low, high })
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        (self.high - self.low) as usize
    }

    /// Whether the region is empty (never, for one made by [`StackRegion::from_elf`]).
    pub fn is_empty(&self) -> bool {
        self.low >= self.high
    }

    /// Fills the region with [`PAINT`] through `write(address, bytes)`, in one call.
    pub fn paint<E>(&self, write: impl FnOnce(u32, &[u8]) -> Result<(), E>) -> Result<(), E> {
        let bytes: Vec<u8> = PAINT.to_le_bytes().repeat(self.len() / 4);
        write(self.low, &bytes)
    }

    /// The most stack the firmware used since [`StackRegion::paint`], in bytes: `high` minus
    /// the lowest word that no longer holds [`PAINT`] (0 if none changed). `None` if the region
    /// cannot be read.
    pub fn peak(&self, mem: &impl ReadMem) -> Option<u32> {
        let bytes = mem.read_mem(self.low, self.len())?;
        let first_used = bytes
            .chunks_exact(4)
            .position(|w| w != PAINT.to_le_bytes())
            .unwrap_or(self.len() / 4);
        Some(self.high - self.low - 4 * first_used as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtt::MemImage;

    #[test]
    fn paint_then_peak_finds_the_deepest_write() {
        let region = StackRegion {
            low: 0x2000_1000,
            high: 0x2000_1100,
        };
        let mut ram = vec![0u8; 0x200];
        let base = 0x2000_1000u32;
        region
            .paint(|addr, b| -> Result<(), ()> {
                let o = (addr - base) as usize;
                ram[o..o + b.len()].copy_from_slice(b);
                Ok(())
            })
            .unwrap();
        assert_eq!(&ram[..4], &PAINT.to_le_bytes());
        assert_eq!(ram[0x100], 0, "nothing painted above the initial MSP");
        let peak = |ram: &[u8]| region.peak(&MemImage::new(&[(base, ram)]));
        assert_eq!(peak(&ram), Some(0), "untouched");
        // The firmware pushed down to 0x2000_10C0 (and left a hole of painted words above).
        ram[0xF0..0x100].fill(0);
        ram[0xC0] = 1;
        assert_eq!(peak(&ram), Some(0x40));
        ram[0] = 0;
        assert_eq!(peak(&ram), Some(0x100), "the whole stack");
        assert_eq!(region.peak(&|_, _| None::<Vec<u8>>), None, "unreadable");
    }

    #[test]
    fn region_from_the_firmware_elf() {
        assert!(StackRegion::from_elf(b"not an elf").is_err());
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../firmware/stm32g474/target/thumbv7em-none-eabihf/release/cockpit-firmware");
        let Ok(elf) = std::fs::read(&path) else {
            eprintln!("skipped: no firmware ELF at {}", path.display());
            return;
        };
        let r = StackRegion::from_elf(&elf).expect("stack symbols");
        assert_eq!(r.high, 0x2001_8000, "top of SRAM1 + SRAM2");
        assert!((0x2000_0300..0x2000_8000).contains(&r.low), "{:#x}", r.low);
    }
}
