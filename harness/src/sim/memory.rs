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

use cockpit_hypervisor::{FLASH_BASE, FLASH_SIZE, Flash, FlashError};

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

    /// Erases `len` bytes at `addr` to `0xFF`. Errors: out of range.
    pub fn erase(&mut self, addr: u32, len: usize) -> Result<(), FlashError> {
        self.slice_mut(addr, len)?.fill(0xFF);
        Ok(())
    }

    /// Writes `data` at `addr` (no erase-before-write rule is modelled). Errors: out of range.
    pub fn program(&mut self, addr: u32, data: &[u8]) -> Result<(), FlashError> {
        self.slice_mut(addr, data.len())?.copy_from_slice(data);
        Ok(())
    }

    fn slice_mut(&mut self, addr: u32, len: usize) -> Result<&mut [u8], FlashError> {
        let err = FlashError::OutOfRange { addr, len };
        let start = addr.checked_sub(FLASH_BASE).ok_or(err)? as usize;
        let end = start.checked_add(len).ok_or(err)?;
        self.bytes.get_mut(start..end).ok_or(err)
    }
}

impl Flash for SimFlash {
    fn read(&self, addr: u32, len: usize) -> Result<&[u8], FlashError> {
        let err = FlashError::OutOfRange { addr, len };
        let start = addr.checked_sub(FLASH_BASE).ok_or(err)? as usize;
        let end = start.checked_add(len).ok_or(err)?;
        self.bytes.get(start..end).ok_or(err)
    }
}

/// SRAM1, SRAM2 and CCM SRAM contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ram {
    sram1: Vec<u8>,
    sram2: Vec<u8>,
    ccm: Vec<u8>,
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
            sram1: vec![0; SRAM1_SIZE],
            sram2: vec![0; SRAM2_SIZE],
            ccm: vec![0; CCM_SIZE],
        }
    }

    /// Zeroes all RAM.
    pub fn clear(&mut self) {
        self.sram1.fill(0);
        self.sram2.fill(0);
        self.ccm.fill(0);
    }

    fn locate(&self, addr: u32) -> Option<(&[u8], usize)> {
        let regions: [(u32, &[u8]); 4] = [
            (SRAM1_BASE, &self.sram1),
            (SRAM2_BASE, &self.sram2),
            (CCM_BASE, &self.ccm),
            (CCM_ALIAS, &self.ccm),
        ];
        regions.into_iter().find_map(|(base, mem)| {
            let off = addr.checked_sub(base)? as usize;
            (off < mem.len()).then_some((mem, off))
        })
    }

    /// The word at a 4-aligned RAM address, or `None` outside RAM.
    pub fn read_u32(&self, addr: u32) -> Option<u32> {
        let (mem, off) = self.locate(addr)?;
        let b = mem.get(off..off + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Writes bytes at a RAM address; returns `false` (writing nothing) if they do not fit in one
    /// region.
    pub fn write(&mut self, addr: u32, data: &[u8]) -> bool {
        let regions: [(u32, &mut Vec<u8>); 3] = [
            (SRAM1_BASE, &mut self.sram1),
            (SRAM2_BASE, &mut self.sram2),
            (CCM_BASE, &mut self.ccm),
        ];
        for (base, mem) in regions {
            if let Some(off) = addr.checked_sub(base).map(|o| o as usize)
                && let Some(dst) = off
                    .checked_add(data.len())
                    .and_then(|end| mem.get_mut(off..end))
            {
                dst.copy_from_slice(data);
                return true;
            }
        }
        false
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
        return Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    }
    if let Some(w) = board.ram().read_u32(addr) {
        return Some(w);
    }
    let gpio_end = GPIOA_BASE + GPIO_PORTS as u32 * GPIO_STRIDE;
    match addr {
        a if (GPIOA_BASE..gpio_end).contains(&a) => {
            let port = ((a - GPIOA_BASE) / GPIO_STRIDE) as usize;
            board.gpio().ports[port].read((a - GPIOA_BASE) % GPIO_STRIDE)
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
