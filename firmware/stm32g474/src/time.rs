//! Time base: DWT CYCCNT (170 MHz) extended to 64 bits, and SysTick at 1 kHz whose handler keeps
//! the extension current (CYCCNT wraps every 25.3 s) and counts milliseconds.
//!
//! Registers: DEMCR.TRCENA (0xE000_EDFC bit 24), DWT_CTRL.CYCCNTENA (0xE000_1000 bit 0),
//! DWT_CYCCNT (0xE000_1004); SYST_RVR = 169_999, SYST_CVR = 0, SYST_CSR = 0b111 (core clock,
//! TICKINT, ENABLE): the SysTick exception (vector 15) fires every 1 ms.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{DCB, DWT, SYST};
use cortex_m_rt::exception;

use crate::clocks::SYSCLK_HZ;

static mut CYC_HI: u32 = 0;
static mut CYC_LAST: u32 = 0;
/// SysTick interrupts since `init` (1 per ms).
pub static TICKS: AtomicU32 = AtomicU32::new(0);

/// Starts CYCCNT and the 1 kHz SysTick.
pub fn init(dcb: &mut DCB, dwt: &mut DWT, syst: &mut SYST) {
    dcb.enable_trace();
    dwt.enable_cycle_counter();
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(SYSCLK_HZ / 1000 - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// CPU cycles since `init` (64-bit).
pub fn cycles() -> u64 {
    cortex_m::interrupt::free(|_| {
        let now = DWT::cycle_count();
        // SAFETY: only accessed inside this critical section.
        unsafe {
            if now < CYC_LAST {
                CYC_HI = CYC_HI.wrapping_add(1);
            }
            CYC_LAST = now;
            (u64::from(CYC_HI) << 32) | u64::from(now)
        }
    })
}

/// Microseconds since `init`.
pub fn now_us() -> u64 {
    cycles() / u64::from(SYSCLK_HZ / 1_000_000)
}

/// Milliseconds since `init`.
pub fn now_ms() -> u64 {
    cycles() / u64::from(SYSCLK_HZ / 1_000)
}

/// Also preempts the guest step: switches to the firmware MPU configuration to reach the
/// statics.
#[exception]
fn SysTick() {
    crate::mpu::firmware(|| {
        let _ = cycles();
        TICKS.fetch_add(1, Ordering::Relaxed);
    });
}
