//! MPU (ARMv7-M PMSAv7, 8 regions; ARM DDI0403E §B3.5, PM0214 §4.2): two configurations.
//!
//! - **Firmware** (after [`init`]; the HAL callbacks, interrupt handlers, the bootloader):
//!   MPU_CTRL = ENABLE | PRIVDEFENA — the default memory map, plus no-execute on all RAM and
//!   the stack guard.
//! - **Guest** (inside [`guest`], around `cockpit_hypervisor::run`): MPU_CTRL = ENABLE only, so
//!   privileged code may touch nothing but the enabled regions: flash read/execute, the VM
//!   state in CCM, and the stack. Every firmware static (the no-init records, `.data`, `.bss`,
//!   `.uninit`) and every peripheral is out of reach of the interpreter; an access faults (→
//!   HardFault, escalated; see `main.rs`). Each HAL callback, the run loop's `keep_going` and
//!   the SysTick handler switch back to the firmware configuration for their duration with
//!   [`firmware`].
//!
//! | Region | Base | Size | Access | Enabled |
//! |---:|---|---|---|---|
//! | 0 | 0x2000_0000 | 128 KiB; subregions 6–7 off (= SRAM 96 KiB); guest: subregion 0 off too (= 0x2000_4000..0x2001_8000) | RW, XN | always |
//! | 1 | 0x1000_0000 | 32 KiB | RW, XN | always (CCM: the guest VM state) |
//! | 2 | `_stack_end` rounded up to 32 | 32 B | none, XN | always (stack guard) |
//! | 3 | 0x0800_0000 | 512 KiB | RO (privileged and unprivileged), executable | guest only |
//!
//! Subregion 0 of region 0 (16 KiB at 0x2000_0000) holds every firmware static: memory.x
//! asserts `_stack_end` ≤ 0x2000_4000, so the guest configuration leaves exactly the stack
//! (0x2000_4000..0x2001_8000, 80 KiB) writable in SRAM. The stack is shared with the firmware
//! frames that called the guest step (`main`, `run_guest`): those stay reachable.
//! The PPB (0xE000_0000..0xE00F_FFFF: SCB, NVIC, MPU, SysTick, DWT) is always accessible to
//! privileged code. The HardFault handler runs with the MPU off (HFNMIENA = 0).
//! Registers: MPU_CTRL 0xE000_ED94, MPU_RNR/RBAR/RASR 0xE000_ED98/9C/A0 (RBAR with VALID
//! selects the region).

use cortex_m::peripheral::MPU;

const RASR_ENABLE: u32 = 1;
const AP_RW: u32 = 0b011 << 24;
const AP_RO: u32 = 0b110 << 24;
const AP_NONE: u32 = 0;
const XN: u32 = 1 << 28;
const NORMAL_SRAM: u32 = (1 << 18) | (1 << 17); // S, C (TEX 000): normal, write-through
const NORMAL_FLASH: u32 = 1 << 17; // C (TEX 000, S 0): normal, write-through
const fn size(log2: u32) -> u32 {
    (log2 - 1) << 1
}
/// Subregion disable bits (SRD, RASR bits 15:8).
const fn srd(bits: u32) -> u32 {
    bits << 8
}

const CTRL_ENABLE: u32 = 1;
const CTRL_PRIVDEFENA: u32 = 1 << 2;
const RBAR_VALID: u32 = 1 << 4;

const SRAM_BASE: u32 = 0x2000_0000;
/// Region 0, firmware configuration: all of SRAM1 + SRAM2.
const SRAM_FIRMWARE: u32 = size(17) | srd(0b1100_0000) | AP_RW | XN | NORMAL_SRAM | RASR_ENABLE;
/// Region 0, guest configuration: SRAM above the 16 KiB of firmware statics (the stack).
const SRAM_GUEST: u32 = size(17) | srd(0b1100_0001) | AP_RW | XN | NORMAL_SRAM | RASR_ENABLE;
const FLASH_BASE: u32 = 0x0800_0000;
/// Region 3, guest configuration: all flash, read-only, executable.
const FLASH_GUEST: u32 = size(19) | AP_RO | NORMAL_FLASH | RASR_ENABLE;

unsafe extern "C" {
    static _stack_end: u32;
}

/// The stack guard's base address.
pub fn guard_addr() -> u32 {
    let end = core::ptr::addr_of!(_stack_end) as u32;
    (end + 31) & !31
}

/// Programs the regions and enables the MPU in the firmware configuration.
pub fn init(mpu: &mut MPU) {
    let regions = [
        (SRAM_BASE, SRAM_FIRMWARE),
        (
            0x1000_0000,
            size(15) | AP_RW | XN | NORMAL_SRAM | RASR_ENABLE,
        ),
        (guard_addr(), size(5) | AP_NONE | XN | RASR_ENABLE),
        (FLASH_BASE, FLASH_GUEST & !RASR_ENABLE),
    ];
    // Interrupts off: a handler calling `firmware` must not see the half-programmed MPU.
    cortex_m::interrupt::free(|_| {
        // SAFETY: region values per ARMv7-M ARM B3.5; in the firmware configuration the
        // regions keep every access the firmware makes legal (except into the guard).
        unsafe {
            mpu.ctrl.write(0);
            for (i, (base, rasr)) in regions.into_iter().enumerate() {
                mpu.rnr.write(i as u32);
                mpu.rbar.write(base);
                mpu.rasr.write(rasr);
            }
            mpu.ctrl.write(CTRL_ENABLE | CTRL_PRIVDEFENA);
        }
        barrier();
    });
}

fn regs() -> &'static cortex_m::peripheral::mpu::RegisterBlock {
    // SAFETY: the MPU registers are always mapped; only this module writes them after `init`.
    unsafe { &*MPU::PTR }
}

fn barrier() {
    cortex_m::asm::dsb();
    cortex_m::asm::isb();
}

/// Writes region `n`'s RBAR (with VALID, which selects the region) and RASR.
fn set_region(n: u32, base: u32, rasr: u32) {
    let m = regs();
    // SAFETY: values per ARMv7-M ARM B3.5.8/B3.5.9; the callers keep the running code's flash
    // and stack accessible at every step.
    unsafe {
        m.rbar.write(base | RBAR_VALID | n);
        m.rasr.write(rasr);
    }
}

#[inline(never)]
fn enter_guest() {
    set_region(0, SRAM_BASE, SRAM_GUEST);
    set_region(3, FLASH_BASE, FLASH_GUEST);
    // SAFETY: flash (region 3) and the stack (region 0) stay accessible.
    unsafe { regs().ctrl.write(CTRL_ENABLE) };
    barrier();
}

#[inline(never)]
fn leave_guest() {
    // SAFETY: PRIVDEFENA first: from here on the default map covers everything again.
    unsafe { regs().ctrl.write(CTRL_ENABLE | CTRL_PRIVDEFENA) };
    set_region(0, SRAM_BASE, SRAM_FIRMWARE);
    set_region(3, FLASH_BASE, FLASH_GUEST & !RASR_ENABLE);
    barrier();
}

/// Runs `f` (the guest step) in the guest configuration, then restores the firmware one.
pub fn guest<R>(f: impl FnOnce() -> R) -> R {
    enter_guest();
    let r = f();
    leave_guest();
    r
}

/// Runs `f` in the firmware configuration: from inside [`guest`] (HAL callbacks, interrupt
/// handlers) it switches there and back; otherwise (firmware configuration, or the MPU not
/// enabled yet) it just calls `f`.
pub fn firmware<R>(f: impl FnOnce() -> R) -> R {
    if regs().ctrl.read() != CTRL_ENABLE {
        return f();
    }
    leave_guest();
    let r = f();
    enter_guest();
    r
}
