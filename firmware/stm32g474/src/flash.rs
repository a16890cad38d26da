//! Flash: memory-mapped reads ([`cockpit_hypervisor::Flash`]) and erase/program through the
//! FLASH registers ([`FlashProgrammer`]), RM0440 §3.3.5–§3.3.7, dual-bank mode (OPTR.DBANK = 1,
//! the factory default on the STM32G474xE: two banks of 128 × 2 KiB pages).
//!
//! Sequences (what the emu board's FLASH model sees):
//! - unlock: if CR.LOCK (bit 31), write KEYR = 0x4567_0123 then 0xCDEF_89AB;
//! - every operation: poll SR.BSY (bit 16) = 0; clear SR errors (write 1s: OPERR 1, PROGERR 3,
//!   WRPERR 4, PGAERR 5, SIZERR 6, PGSERR 7, MISERR 8, FASTERR 9) and EOP (bit 0);
//! - page erase: CR = PER (bit 1) | PNB (bits 3–9, page in its bank) | BKER (bit 11, bank 2 =
//!   0x0804_0000..) | EOPIE (bit 24); then CR |= STRT (bit 16); poll BSY = 0; check SR errors;
//!   CR = LOCK; then the data/instruction caches are reset (ACR: DCEN/ICEN off, DCRST/ICRST
//!   pulse, back on) so no stale line of the erased page is read;
//! - double-word program: CR = PG (bit 0) | EOPIE; write the low word at `addr`, the high word
//!   at `addr + 4` (32-bit stores); poll BSY = 0; check SR errors; CR = LOCK.
//!
//! Refused (never touched): anything below 0x0801_0000 (the firmware's own 64 KiB) and anything
//! when OPTR.DBANK = 0 (4 KiB pages: the 2 KiB page layout of the hypervisor would not hold).
//! Error mapping to [`ProgramError`]: PROGERR → `NotErased`, PGAERR/SIZERR → `Unaligned`,
//! anything else (WRPERR, PGSERR, OPERR, MISERR, BSY timeout, refused address, DBANK = 0) →
//! `OutOfRange` (the operation cannot be done at that address).

use cockpit_hypervisor::flash::{double_word_range, page_range};
use cockpit_hypervisor::{
    FLASH_BASE, FLASH_SIZE, Flash, FlashError, FlashProgrammer, ProgramError, byte_range,
};

use crate::pac;

/// First address the programmer may erase or program: program bank A.
pub const WRITABLE_START: u32 = cockpit_hypervisor::PROGRAM_BANK_ADDR;
/// Start of flash bank 2 in dual-bank mode.
pub const BANK2_ADDR: u32 = 0x0804_0000;

const KEY1: u32 = 0x4567_0123;
const KEY2: u32 = 0xCDEF_89AB;
const SR_EOP: u32 = 1 << 0;
const SR_OPERR: u32 = 1 << 1;
const SR_PROGERR: u32 = 1 << 3;
const SR_WRPERR: u32 = 1 << 4;
const SR_PGAERR: u32 = 1 << 5;
const SR_SIZERR: u32 = 1 << 6;
const SR_PGSERR: u32 = 1 << 7;
const SR_MISERR: u32 = 1 << 8;
const SR_FASTERR: u32 = 1 << 9;
const SR_BSY: u32 = 1 << 16;
const SR_ERRORS: u32 =
    SR_OPERR | SR_PROGERR | SR_WRPERR | SR_PGAERR | SR_SIZERR | SR_PGSERR | SR_MISERR | SR_FASTERR;
const CR_PG: u32 = 1 << 0;
const CR_PER: u32 = 1 << 1;
const CR_PNB_SHIFT: u32 = 3;
const CR_BKER: u32 = 1 << 11;
const CR_STRT: u32 = 1 << 16;
const CR_EOPIE: u32 = 1 << 24;
const CR_LOCK: u32 = 1 << 31;
const OPTR_DBANK: u32 = 1 << 22;
const ACR_ICEN: u32 = 1 << 9;
const ACR_DCEN: u32 = 1 << 10;
const ACR_ICRST: u32 = 1 << 11;
const ACR_DCRST: u32 = 1 << 12;
/// BSY polls before an operation counts as failed (a page erase takes ≤ 40 ms ≈ 6.8 M cycles).
const BSY_TIMEOUT: u32 = 20_000_000;

/// The on-chip flash (memory-mapped at 0x0800_0000, 512 KiB).
pub struct G4Flash {
    _private: (),
}

impl G4Flash {
    /// The flash. Only one should exist (it programs through FLASH_CR).
    pub const fn new() -> Self {
        G4Flash { _private: () }
    }

    fn regs(&self) -> &'static pac::flash::RegisterBlock {
        // SAFETY: the FLASH register block is always mapped; `G4Flash` is the only writer.
        unsafe { &*pac::FLASH::PTR }
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: 0x0800_0000..+512 KiB is the memory-mapped flash, always readable. Writes
        // happen only through FLASH_CR operations inside `&mut self` methods.
        unsafe { core::slice::from_raw_parts(FLASH_BASE as *const u8, FLASH_SIZE) }
    }

    fn wait_idle(&self) -> bool {
        let f = self.regs();
        let mut n = BSY_TIMEOUT;
        while f.sr().read().bits() & SR_BSY != 0 {
            n -= 1;
            if n == 0 {
                return false;
            }
        }
        true
    }

    /// Waits for BSY, clears stale flags, unlocks CR. `false` if the flash stays busy or locked.
    fn begin(&mut self) -> bool {
        let f = self.regs();
        if !self.wait_idle() {
            return false;
        }
        f.sr().write(|w| unsafe { w.bits(SR_ERRORS | SR_EOP) });
        if f.cr().read().bits() & CR_LOCK != 0 {
            f.keyr().write(|w| unsafe { w.bits(KEY1) });
            f.keyr().write(|w| unsafe { w.bits(KEY2) });
        }
        f.cr().read().bits() & CR_LOCK == 0
    }

    /// Waits for the end of the operation, locks CR, maps SR errors.
    fn finish(&mut self, addr: u32) -> Result<(), ProgramError> {
        let f = self.regs();
        let idle = self.wait_idle();
        let sr = f.sr().read().bits();
        f.sr().write(|w| unsafe { w.bits(SR_ERRORS | SR_EOP) });
        f.cr().write(|w| unsafe { w.bits(CR_LOCK) });
        if !idle {
            Err(ProgramError::OutOfRange { addr })
        } else if sr & SR_PROGERR != 0 {
            Err(ProgramError::NotErased { addr })
        } else if sr & (SR_PGAERR | SR_SIZERR) != 0 {
            Err(ProgramError::Unaligned { addr })
        } else if sr & SR_ERRORS != 0 {
            Err(ProgramError::OutOfRange { addr })
        } else {
            Ok(())
        }
    }

    fn dual_bank(&self) -> bool {
        self.regs().optr().read().bits() & OPTR_DBANK != 0
    }

    fn reset_caches(&self) {
        let f = self.regs();
        let acr = f.acr().read().bits();
        f.acr()
            .write(|w| unsafe { w.bits(acr & !(ACR_ICEN | ACR_DCEN)) });
        f.acr()
            .write(|w| unsafe { w.bits((acr & !(ACR_ICEN | ACR_DCEN)) | ACR_ICRST | ACR_DCRST) });
        f.acr()
            .write(|w| unsafe { w.bits(acr & !(ACR_ICRST | ACR_DCRST)) });
    }
}

impl Default for G4Flash {
    fn default() -> Self {
        Self::new()
    }
}

impl Flash for G4Flash {
    fn read(&self, addr: u32, len: usize) -> Result<&[u8], FlashError> {
        byte_range(FLASH_BASE, addr, len)
            .and_then(|r| self.bytes().get(r))
            .ok_or(FlashError::OutOfRange { addr, len })
    }
}

impl FlashProgrammer for G4Flash {
    fn erase_page(&mut self, addr: u32) -> Result<(), ProgramError> {
        let r = page_range(FLASH_BASE, FLASH_SIZE, addr)?;
        if addr < WRITABLE_START || !self.dual_bank() {
            return Err(ProgramError::OutOfRange { addr });
        }
        let (bker, page) = if addr >= BANK2_ADDR {
            (CR_BKER, (addr - BANK2_ADDR) / 2048)
        } else {
            (0, (addr - FLASH_BASE) / 2048)
        };
        let _ = r;
        if !self.begin() {
            return Err(ProgramError::OutOfRange { addr });
        }
        let f = self.regs();
        let cr = CR_PER | (page << CR_PNB_SHIFT) | bker | CR_EOPIE;
        f.cr().write(|w| unsafe { w.bits(cr) });
        f.cr().write(|w| unsafe { w.bits(cr | CR_STRT) });
        let res = self.finish(addr);
        self.reset_caches();
        res
    }

    fn program_double_word(&mut self, addr: u32, data: [u8; 8]) -> Result<(), ProgramError> {
        // Alignment, range and erased-target checks (PROGERR is also caught by the hardware).
        double_word_range(FLASH_BASE, self.bytes(), addr)?;
        if addr < WRITABLE_START || !self.dual_bank() {
            return Err(ProgramError::OutOfRange { addr });
        }
        if !self.begin() {
            return Err(ProgramError::OutOfRange { addr });
        }
        let f = self.regs();
        f.cr().write(|w| unsafe { w.bits(CR_PG | CR_EOPIE) });
        let lo = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
        let hi = u32::from_le_bytes([data[4], data[5], data[6], data[7]]);
        // SAFETY: `addr` is an 8-aligned, erased double word in the writable part of the
        // flash (checked above); with PG set these stores start the programming (RM0440 §3.3.7).
        unsafe {
            core::ptr::write_volatile(addr as *mut u32, lo);
            core::ptr::write_volatile((addr + 4) as *mut u32, hi);
        }
        self.finish(addr)
    }
}
