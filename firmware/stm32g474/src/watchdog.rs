//! Independent watchdog (RM0440 §42): LSI ≈ 32 kHz / 64 = 500 Hz, reload 1000 → **2 s**.
//!
//! Start sequence: KR = 0xCCCC (start; turns on the LSI), KR = 0x5555 (unlock PR/RLR),
//! PR = 4 (/64), RLR = 1000, poll SR (PVU bit 0, RVU bit 1, WVU bit 2) = 0 (bounded), KR = 0xAAAA.
//! Feed: KR = 0xAAAA. Also sets DBGMCU_APB1FZR1.DBG_IWDG_STOP (0xE004_2008 bit 12) so a probe
//! halting the core does not reset it. Once started it cannot be stopped (until reset).

use crate::pac;

/// Watchdog timeout, ms (nominal LSI).
pub const TIMEOUT_MS: u32 = 2000;
/// IWDG prescaler divider (/64: 2 ms per count at the 32 kHz LSI).
const PRESCALER: u32 = 64;
const _: () = assert!(hv::iwdg_timeout_ms(PRESCALER, TIMEOUT_MS / 2) == TIMEOUT_MS);

use cockpit_hypervisor::clocks as hv;
const DBGMCU_APB1FZR1: *mut u32 = 0xE004_2008 as *mut u32;

fn regs() -> &'static pac::iwdg::RegisterBlock {
    // SAFETY: the IWDG block is always mapped.
    unsafe { &*pac::IWDG::PTR }
}

/// Starts the watchdog (module docs).
pub fn start() {
    // SAFETY: DBGMCU_APB1FZR1 is a plain read/write register; bit 12 only affects debug halt.
    unsafe {
        let v = core::ptr::read_volatile(DBGMCU_APB1FZR1);
        core::ptr::write_volatile(DBGMCU_APB1FZR1, v | (1 << 12));
    }
    let w = regs();
    w.kr().write(|x| unsafe { x.bits(0xCCCC as _) });
    w.kr().write(|x| unsafe { x.bits(0x5555 as _) });
    w.pr()
        .write(|x| unsafe { x.bits(hv::iwdg_pr(PRESCALER) as _) });
    w.rlr().write(|x| unsafe { x.bits((TIMEOUT_MS / 2) as _) });
    let mut n = 1_000_000u32;
    while u32::from(w.sr().read().bits()) & 0b111 != 0 && n > 0 {
        n -= 1;
    }
    feed();
}

/// Reloads the counter.
pub fn feed() {
    regs().kr().write(|x| unsafe { x.bits(0xAAAA as _) });
}
