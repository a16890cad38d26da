//! MPU (ARMv7-M PMSA, 8 regions; PRIVDEFENA keeps the default map for flash and peripherals):
//!
//! | Region | Base | Size | Access | Purpose |
//! |---:|---|---|---|---|
//! | 0 | 0x2000_0000 | 128 KiB, subregions 6–7 off (= 96 KiB) | RW, XN | SRAM1+SRAM2: data never executes |
//! | 1 | 0x1000_0000 | 32 KiB | RW, XN | CCM SRAM: the guest VM state only |
//! | 2 | `_stack_end` rounded up to 32 | 32 B | none | stack guard: a stack overflow faults (HardFault record, or lockup → watchdog → SafeStop) instead of overwriting `.bss` |
//!
//! The guest interpreter runs privileged (the VM is memory-safe Rust operating on its own state
//! in CCM); the MPU adds no-execute on all RAM and the stack guard. Unprivileged execution of the
//! guest step (with a region set that only opens CCM) is not done yet.
//! Registers: MPU_RNR/RBAR/RASR (0xE000_ED98/9C/A0), MPU_CTRL (0xE000_ED94) = ENABLE | PRIVDEFENA.

use cortex_m::peripheral::MPU;

const RASR_ENABLE: u32 = 1;
const AP_RW: u32 = 0b011 << 24;
const AP_NONE: u32 = 0;
const XN: u32 = 1 << 28;
const NORMAL_SRAM: u32 = (1 << 18) | (1 << 17); // S, C (TEX 000): normal, write-through
const fn size(log2: u32) -> u32 {
    (log2 - 1) << 1
}

unsafe extern "C" {
    static _stack_end: u32;
}

/// The stack guard's base address.
pub fn guard_addr() -> u32 {
    let end = core::ptr::addr_of!(_stack_end) as u32;
    (end + 31) & !31
}

/// Programs the regions and enables the MPU.
pub fn init(mpu: &mut MPU) {
    let regions = [
        (0x2000_0000, size(17) | (0b1100_0000 << 8) | AP_RW | XN | NORMAL_SRAM),
        (0x1000_0000, size(15) | AP_RW | XN | NORMAL_SRAM),
        (guard_addr(), size(5) | AP_NONE | XN),
    ];
    // SAFETY: region values per ARMv7-M ARM B3.5; the regions cover RAM only and keep every
    // access the firmware makes legal (except into the guard).
    unsafe {
        mpu.ctrl.write(0);
        for (i, (base, rasr)) in regions.into_iter().enumerate() {
            mpu.rnr.write(i as u32);
            mpu.rbar.write(base);
            mpu.rasr.write(rasr | RASR_ENABLE);
        }
        mpu.ctrl.write(0b101);
    }
    cortex_m::asm::dsb();
    cortex_m::asm::isb();
}
