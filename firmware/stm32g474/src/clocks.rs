//! Clock tree: 170 MHz SYSCLK from the board profile's HSE through the main PLL (RM0440 §7).
//!
//! Derivation (RM0440 §7.2.3 PLL, §7.4.4 RCC_PLLCFGR; limits from the STM32G474 datasheet):
//! - PLL input = HSE / PLLM = **4 MHz** (must be 2.66–16 MHz ✓): WeAct 8 MHz / 2, NUCLEO-G474RE
//!   24 MHz / 6 ([`crate::profile::PLL_HSE`], `const`-asserted)
//! - VCO = 4 MHz × PLLN 85 = **340 MHz** (must be 96–344 MHz ✓; PLLN 8–127 ✓)
//! - SYSCLK = PLLR output = 340 / PLLR 2 = **170 MHz** (≤ 170 MHz in range 1 boost ✓)
//! - AHB = APB1 = APB2 = 170 MHz (prescalers /1; ≤ 170 MHz ✓), so PCLK2 (USART1) = PCLK1
//!   (LPUART1) = 170 MHz.
//! - Voltage: range 1 **boost** (PWR_CR1.VOS = 01, PWR_CR5.R1MODE = 0) is required above
//!   150 MHz (RM0440 §6.1.5).
//! - Flash wait states (RM0440 §3.3.3, Table 9): range 1 boost, 136 < HCLK ≤ 170 MHz → **4 WS**
//!   (LATENCY = 4), set *before* raising the clock and read back.
//! - Switch order for boost mode (RM0440 §6.1.5 / §7.2.7): AHB prescaler /2 first, R1MODE = 0,
//!   switch SW to PLL, wait ≥ 1 µs, then AHB /1, so HCLK never steps by more than 2×.
//!
//! If the HSE does not become ready within [`HSE_TIMEOUT`] polls, the PLL is fed from HSI16 with
//! PLLM = /4 (again 4 MHz in, the same 340 MHz VCO and 170 MHz out) and [`ClockSource::Hsi16`]
//! is returned: the firmware then runs Degraded (a crystal fault, baud rate still exact).

use cockpit_hypervisor::clocks as hv;

use crate::pac;

/// Core clock after [`init`], Hz.
pub const SYSCLK_HZ: u32 = hv::SYSCLK_HZ;

/// Poll iterations waited for HSERDY before falling back to HSI16.
const HSE_TIMEOUT: u32 = 200_000;
/// Poll iterations for the other ready bits (PLLRDY, SWS, VOSF); they do not fail on a good chip.
const READY_TIMEOUT: u32 = 1_000_000;

/// Which oscillator feeds the PLL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockSource {
    /// The board's crystal (normal).
    Hse,
    /// Internal 16 MHz RC (HSE failed to start).
    Hsi16,
}

// RCC_CR bits
const CR_HSION: u32 = 1 << 8;
const CR_HSIRDY: u32 = 1 << 10;
const CR_HSEON: u32 = 1 << 16;
const CR_HSERDY: u32 = 1 << 17;
const CR_PLLON: u32 = 1 << 24;
const CR_PLLRDY: u32 = 1 << 25;
// RCC_PLLCFGR: cockpit_hypervisor::clocks::Pll::pllcfgr
// RCC_CFGR fields
const CFGR_SW_MASK: u32 = 0b11;
const CFGR_SW_PLL: u32 = 0b11;
const CFGR_SWS_SHIFT: u32 = 2;
const CFGR_HPRE_MASK: u32 = 0b1111 << 4;
const CFGR_HPRE_DIV2: u32 = 0b1000 << 4;
const CFGR_PPRE_MASK: u32 = (0b111 << 8) | (0b111 << 11);
// RCC_APB1ENR1.PWREN
const APB1ENR1_PWREN: u32 = 1 << 28;
// PWR
const PWR_CR1_VOS_MASK: u32 = 0b11 << 9;
const PWR_CR1_VOS_RANGE1: u32 = 0b01 << 9;
const PWR_SR2_VOSF: u32 = 1 << 10;
const PWR_CR5_R1MODE: u32 = 1 << 8;
// FLASH_ACR
const ACR_LATENCY_MASK: u32 = 0b1111;
const ACR_LATENCY_4WS: u32 = hv::FLASH_LATENCY;
const ACR_PRFTEN: u32 = 1 << 8;
const ACR_ICEN: u32 = 1 << 9;
const ACR_DCEN: u32 = 1 << 10;

fn wait(mut ready: impl FnMut() -> bool, mut polls: u32) -> bool {
    while polls > 0 {
        if ready() {
            return true;
        }
        polls -= 1;
    }
    false
}

/// Configures PWR, FLASH and RCC for 170 MHz (module docs). Register order (what the emu board
/// must model): RCC_APB1ENR1.PWREN → PWR_CR1.VOS (range 1) + poll PWR_SR2.VOSF = 0 → FLASH_ACR
/// (LATENCY 4, PRFTEN, ICEN, DCEN; read back) → RCC_CR.HSEON + poll HSERDY (fallback: HSION +
/// HSIRDY) → RCC_PLLCFGR → RCC_CR.PLLON + poll PLLRDY → RCC_CFGR HPRE=/2 → PWR_CR5.R1MODE = 0 →
/// RCC_CFGR SW = PLL + poll SWS = PLL → ~1 µs → RCC_CFGR HPRE = /1, PPRE1 = PPRE2 = /1.
pub fn init(rcc: &pac::RCC, pwr: &pac::PWR, flash: &pac::FLASH) -> ClockSource {
    // SAFETY (all `bits` writes below): the values are valid field encodings per RM0440 §7.4.
    // 1. PWR clock, voltage range 1.
    rcc.apb1enr1()
        .modify(|r, w| unsafe { w.bits(r.bits() | APB1ENR1_PWREN) });
    let _ = rcc.apb1enr1().read().bits(); // RM0440 §7.2.17: delay after enabling a clock
    pwr.cr1()
        .modify(|r, w| unsafe { w.bits((r.bits() & !PWR_CR1_VOS_MASK) | PWR_CR1_VOS_RANGE1) });
    wait(
        || pwr.sr2().read().bits() & PWR_SR2_VOSF == 0,
        READY_TIMEOUT,
    );

    // 2. Flash wait states before the clock goes up.
    flash.acr().modify(|r, w| unsafe {
        w.bits((r.bits() & !ACR_LATENCY_MASK) | ACR_LATENCY_4WS | ACR_PRFTEN | ACR_ICEN | ACR_DCEN)
    });
    wait(
        || flash.acr().read().bits() & ACR_LATENCY_MASK == ACR_LATENCY_4WS,
        READY_TIMEOUT,
    );

    // 3. Oscillator: HSE, else HSI16.
    rcc.cr()
        .modify(|r, w| unsafe { w.bits(r.bits() | CR_HSEON) });
    let source = if wait(|| rcc.cr().read().bits() & CR_HSERDY != 0, HSE_TIMEOUT) {
        ClockSource::Hse
    } else {
        rcc.cr()
            .modify(|r, w| unsafe { w.bits((r.bits() & !CR_HSEON) | CR_HSION) });
        wait(|| rcc.cr().read().bits() & CR_HSIRDY != 0, READY_TIMEOUT);
        ClockSource::Hsi16
    };

    // 4. PLL: off, configure, on.
    rcc.cr()
        .modify(|r, w| unsafe { w.bits(r.bits() & !CR_PLLON) });
    wait(|| rcc.cr().read().bits() & CR_PLLRDY == 0, READY_TIMEOUT);
    // PLL settings and their RM0440 limits are `const`-checked in cockpit_hypervisor::clocks.
    let pllcfgr = match source {
        ClockSource::Hse => crate::profile::PLL_HSE.pllcfgr(),
        ClockSource::Hsi16 => hv::PLL_HSI16.pllcfgr(),
    };
    rcc.pllcfgr().write(|w| unsafe { w.bits(pllcfgr) });
    rcc.cr()
        .modify(|r, w| unsafe { w.bits(r.bits() | CR_PLLON) });
    wait(|| rcc.cr().read().bits() & CR_PLLRDY != 0, READY_TIMEOUT);

    // 5. Boost mode and the switch, with HCLK = SYSCLK/2 across it.
    rcc.cfgr().modify(|r, w| unsafe {
        w.bits((r.bits() & !(CFGR_HPRE_MASK | CFGR_PPRE_MASK)) | CFGR_HPRE_DIV2)
    });
    pwr.cr5()
        .modify(|r, w| unsafe { w.bits(r.bits() & !PWR_CR5_R1MODE) });
    rcc.cfgr()
        .modify(|r, w| unsafe { w.bits((r.bits() & !CFGR_SW_MASK) | CFGR_SW_PLL) });
    wait(
        || (rcc.cfgr().read().bits() >> CFGR_SWS_SHIFT) & 0b11 == CFGR_SW_PLL,
        READY_TIMEOUT,
    );
    cortex_m::asm::delay(200); // ≥ 1 µs at 85 MHz HCLK
    rcc.cfgr()
        .modify(|r, w| unsafe { w.bits(r.bits() & !CFGR_HPRE_MASK) });
    source
}
