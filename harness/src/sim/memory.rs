//! The simulated STM32G474 memory map (RM0440 §2.2) for `read_u32`: flash, SRAM1/SRAM2/CCM SRAM
//! and the modelled peripheral registers; plus the flash and RAM stores themselves.
//!
//! | Region | Address | Size | Contents |
//! |---|---|---|---|
//! | Flash | `0x0800_0000` | 512 KiB | erased (`0xFF`); the image at `PROGRAM_BANK_ADDR` `0x0801_0000` |
//! | SRAM1 | `0x2000_0000` | 80 KiB | zero; telemetry record at `TELEMETRY_ADDR` `0x2000_0000` |
//! | SRAM2 | `0x2001_4000` | 16 KiB | zero |
//! | CCM SRAM | `0x1000_0000` (alias `0x2001_8000`) | 32 KiB | zero |
//! | GPIOA…GPIOG | `0x4800_0000` + n × `0x400` | 11 registers each | see [`super::gpio`] |
//! | RCC | `0x4002_1000` | modelled registers | see [`super::rcc`] |
//! | FLASH_ACR | `0x4002_2000` | 1 register | |
//! | USART1/2/3 | `0x4001_3800` / `0x4000_4400` / `0x4000_4800` | 12 registers each | see [`super::usart`] |
//! | DWT_CTRL, DWT_CYCCNT | `0xE000_1000`, `0xE000_1004` | | CYCCNT = virtual cycles mod 2^32 |
//! | DHCSR, DEMCR | `0xE000_EDF0`, `0xE000_EDFC` | | debugger attached (C_DEBUGEN), TRCENA |
//!
//! Everything else, including unmodelled registers inside a peripheral block, is `Unmapped`.

use std::ops::Range;

use cockpit_hypervisor::{FLASH_BASE, FLASH_SIZE, Flash, FlashError, byte_range};

use super::board::SimBoard;
use crate::regmap::{
    DEMCR, DHCSR, DWT_CTRL, DWT_CYCCNT, FLASH_R_BASE, GPIO_PORTS, GPIO_STRIDE, GPIOA_BASE,
    RCC_BASE, USART1_BASE, USART2_BASE, USART3_BASE,
};
use crate::target::TargetError;

/// SRAM1 base (RM0440 §2.2): `0x2000_0000`.
pub const SRAM1_BASE: u32 = 0x2000_0000;
/// SRAM1 size: 80 KiB.
pub const SRAM1_SIZE: usize = 80 * 1024;
/// SRAM2 base: `0x2001_4000`.
pub const SRAM2_BASE: u32 = 0x2001_4000;
/// SRAM2 size: 16 KiB.
pub const SRAM2_SIZE: usize = 16 * 1024;
/// CCM SRAM base (code/ICode alias): `0x1000_0000`.
pub const CCM_BASE: u32 = 0x1000_0000;
/// CCM SRAM alias in the SRAM region, after SRAM2: `0x2001_8000`.
pub const CCM_ALIAS: u32 = 0x2001_8000;
/// CCM SRAM size: 32 KiB.
pub const CCM_SIZE: usize = 32 * 1024;
/// DWT_CTRL value: NUMCOMP = 4 (bits 31:28), CYCCNTENA = 1.
pub const DWT_CTRL_VALUE: u32 = 0x4000_0001;
/// DHCSR value: C_DEBUGEN = 1 (a debugger is attached: the harness).
pub const DHCSR_VALUE: u32 = 0x0000_0001;
/// DEMCR value: TRCENA = 1 (bit 24; enables DWT).
pub const DEMCR_VALUE: u32 = 0x0100_0000;

/// 512 KiB of flash at `0x0800_0000`, erased to `0xFF`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimFlash {
    bytes: Vec<u8>,
}

impl Default for SimFlash {
    fn default() -> Self {
        Self::new()
    }
}

impl SimFlash {
    /// Fully erased flash.
    pub fn new() -> Self {
        SimFlash {
            bytes: vec![0xFF; FLASH_SIZE],
        }
    }

    /// Erases `len` bytes at `addr` to `0xFF`. Errors: [`FlashError::OutOfRange`] unless the
    /// whole range is inside the flash (then nothing is erased).
    pub fn erase(&mut self, addr: u32, len: usize) -> Result<(), FlashError> {
        self.slice_mut(addr, len)?.fill(0xFF);
        Ok(())
    }

    /// Writes `data` at `addr` (no erase-before-write rule is modelled). Errors:
    /// [`FlashError::OutOfRange`] unless the whole range is inside the flash (then nothing is
    /// written).
    pub fn program(&mut self, addr: u32, data: &[u8]) -> Result<(), FlashError> {
        self.slice_mut(addr, data.len())?.copy_from_slice(data);
        Ok(())
    }

    fn slice_mut(&mut self, addr: u32, len: usize) -> Result<&mut [u8], FlashError> {
        byte_range(FLASH_BASE, addr, len)
            .and_then(|r| self.bytes.get_mut(r))
            .ok_or(FlashError::OutOfRange { addr, len })
    }
}

impl Flash for SimFlash {
    fn read(&self, addr: u32, len: usize) -> Result<&[u8], FlashError> {
        byte_range(FLASH_BASE, addr, len)
            .and_then(|r| self.bytes.get(r))
            .ok_or(FlashError::OutOfRange { addr, len })
    }
}

/// The RAM regions: (base address, offset in [`Ram`]'s store, size in bytes). The store holds
/// SRAM1, SRAM2 and CCM SRAM back to back, as they appear from `0x2000_0000`; CCM SRAM is
/// reachable at both of its addresses.
const REGIONS: [(u32, usize, usize); 4] = [
    (SRAM1_BASE, 0, SRAM1_SIZE),
    (SRAM2_BASE, SRAM1_SIZE, SRAM2_SIZE),
    (CCM_BASE, SRAM1_SIZE + SRAM2_SIZE, CCM_SIZE),
    (CCM_ALIAS, SRAM1_SIZE + SRAM2_SIZE, CCM_SIZE),
];

/// SRAM1, SRAM2 and CCM SRAM contents (see [`REGIONS`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ram {
    store: Vec<u8>,
}

impl Default for Ram {
    fn default() -> Self {
        Self::new()
    }
}

impl Ram {
    /// Zeroed RAM.
    pub fn new() -> Self {
        Ram {
            store: vec![0; SRAM1_SIZE + SRAM2_SIZE + CCM_SIZE],
        }
    }

    /// Zeroes all RAM.
    pub fn clear(&mut self) {
        self.store.fill(0);
    }

    /// Indices into the store of the `len` bytes at `addr`, if they lie inside one region.
    fn locate(addr: u32, len: usize) -> Option<Range<usize>> {
        REGIONS.iter().find_map(|&(base, at, size)| {
            let r = byte_range(base, addr, len)?;
            (r.end <= size).then(|| at + r.start..at + r.end)
        })
    }

    /// The little-endian word at RAM address `addr` (any alignment), or `None` unless its four
    /// bytes lie inside one region.
    pub fn read_u32(&self, addr: u32) -> Option<u32> {
        let b = self.store.get(Self::locate(addr, 4)?)?;
        Some(u32::from_le_bytes(b.try_into().ok()?))
    }

    /// Writes `data` at RAM address `addr`; returns `false` (writing nothing) unless all of it
    /// lies inside one region.
    pub fn write(&mut self, addr: u32, data: &[u8]) -> bool {
        match Self::locate(addr, data.len()).and_then(|r| self.store.get_mut(r)) {
            Some(dst) => {
                dst.copy_from_slice(data);
                true
            }
            None => false,
        }
    }
}

/// Reads the 32-bit word at `addr` from the board's memory map (see the module table).
/// Errors: `Unaligned` unless 4-aligned, `Unmapped` outside every modelled region/register.
pub fn read_u32(board: &SimBoard, flash: &SimFlash, addr: u32) -> Result<u32, TargetError> {
    if !addr.is_multiple_of(4) {
        return Err(TargetError::Unaligned { addr });
    }
    read_mapped(board, flash, addr).ok_or(TargetError::Unmapped { addr })
}

fn read_mapped(board: &SimBoard, flash: &SimFlash, addr: u32) -> Option<u32> {
    if let Ok(b) = flash.read(addr, 4) {
        return b.try_into().ok().map(u32::from_le_bytes);
    }
    if let Some(w) = board.ram().read_u32(addr) {
        return Some(w);
    }
    let gpio_end = GPIOA_BASE + GPIO_PORTS as u32 * GPIO_STRIDE;
    match addr {
        a if (GPIOA_BASE..gpio_end).contains(&a) => {
            let port = ((a - GPIOA_BASE) / GPIO_STRIDE) as usize;
            board
                .gpio()
                .ports
                .get(port)?
                .read((a - GPIOA_BASE) % GPIO_STRIDE)
        }
        a if (RCC_BASE..RCC_BASE + 0x400).contains(&a) => board.rcc().read(a - RCC_BASE),
        FLASH_R_BASE => Some(board.rcc().flash_acr),
        a if (USART1_BASE..USART1_BASE + 0x400).contains(&a) => {
            board.usart(1)?.read(a - USART1_BASE)
        }
        a if (USART2_BASE..USART2_BASE + 0x400).contains(&a) => {
            board.usart(2)?.read(a - USART2_BASE)
        }
        a if (USART3_BASE..USART3_BASE + 0x400).contains(&a) => {
            board.usart(3)?.read(a - USART3_BASE)
        }
        DWT_CTRL => Some(DWT_CTRL_VALUE),
        DWT_CYCCNT => Some(board.clock().cycles() as u32),
        DHCSR => Some(DHCSR_VALUE),
        DEMCR => Some(DEMCR_VALUE),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ccm_reads_and_writes_agree_at_both_addresses() {
        let mut ram = Ram::new();
        assert!(ram.write(CCM_ALIAS + 8, &0xDEAD_BEEF_u32.to_le_bytes()));
        assert_eq!(ram.read_u32(CCM_BASE + 8), Some(0xDEAD_BEEF));
        assert_eq!(ram.read_u32(CCM_ALIAS + 8), Some(0xDEAD_BEEF));
        assert!(ram.write(CCM_BASE + 12, &[1, 2, 3, 4]));
        assert_eq!(ram.read_u32(CCM_ALIAS + 12), Some(0x0403_0201));
        let last = CCM_ALIAS + CCM_SIZE as u32 - 4;
        assert!(ram.write(last, &[7; 4]));
        assert_eq!(
            ram.read_u32(CCM_BASE + CCM_SIZE as u32 - 4),
            Some(0x0707_0707)
        );
    }

    #[test]
    fn ram_accesses_stay_inside_one_region() {
        let mut ram = Ram::new();
        assert!(ram.write(SRAM2_BASE, &[9; 4]));
        assert_eq!(ram.read_u32(SRAM2_BASE), Some(0x0909_0909));
        assert_eq!(ram.read_u32(SRAM1_BASE + SRAM1_SIZE as u32 - 4), Some(0));
        assert!(!ram.write(SRAM2_BASE - 2, &[1; 4]), "straddles SRAM1/SRAM2");
        assert!(
            !ram.write(CCM_BASE + CCM_SIZE as u32 - 2, &[1; 4]),
            "past CCM"
        );
        assert_eq!(ram.read_u32(CCM_ALIAS + CCM_SIZE as u32), None);
        assert_eq!(ram.read_u32(CCM_BASE - 4), None);
        assert!(!ram.write(u32::MAX, &[1; 4]));
        assert_eq!(ram.read_u32(u32::MAX - 1), None);
        ram.clear();
        assert_eq!(ram.read_u32(SRAM2_BASE), Some(0));
    }

    #[test]
    fn flash_reads_and_writes_share_one_range_check() {
        let mut f = SimFlash::new();
        f.program(FLASH_BASE + 4, &[1, 2]).unwrap();
        assert_eq!(f.read(FLASH_BASE + 4, 2), Ok(&[1u8, 2][..]));
        let end = FLASH_BASE + FLASH_SIZE as u32;
        let out = |addr, len| FlashError::OutOfRange { addr, len };
        assert_eq!(f.program(end - 1, &[0; 2]), Err(out(end - 1, 2)));
        assert_eq!(f.read(end - 1, 2), Err(out(end - 1, 2)));
        assert_eq!(f.erase(FLASH_BASE - 1, 1), Err(out(FLASH_BASE - 1, 1)));
        f.erase(FLASH_BASE, 8).unwrap();
        assert_eq!(f.read(FLASH_BASE + 4, 2), Ok(&[0xFFu8, 0xFF][..]));
    }
}
