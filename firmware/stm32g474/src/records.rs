//! The no-init RAM block at 0x2000_0000 (memory.x `.cockpit_noinit`; survives resets, not power
//! cycles): the telemetry record, the fault record and the fail-safe (boot) record, each with a
//! magic word and an XOR checksum so that power-on garbage is never taken for a record.
//!
//! **VM snapshot record** @ `0x2000_0100` (101 LE u32, `cockpit_hypervisor::vmsnap`): magic,
//! version, stack depth, stored count, the top 32 stack words, the 64 globals, XOR checksum.
//!
//! **Fault record** @ `0x2000_0040` (16 LE u32, [`FAULT_ADDR`]):
//!
//! | Word | Off | Field |
//! |---:|---:|---|
//! | 0 | 0x00 | MAGIC `0xFA17_0C0D` |
//! | 1 | 0x04 | KIND: 1 HardFault, 2 panic; bit 8 = ACKED (reported at a boot) |
//! | 2–9 | 0x08–0x24 | stacked R0, R1, R2, R3, R12, LR, PC, xPSR (panic: R0 = source line, rest 0) |
//! | 10 | 0x28 | CFSR (0xE000_ED28) |
//! | 11 | 0x2C | HFSR (0xE000_ED2C) |
//! | 12 | 0x30 | MMFAR (0xE000_ED34) |
//! | 13 | 0x34 | BFAR (0xE000_ED38) |
//! | 14 | 0x38 | COUNT: faults recorded since the record was first created |
//! | 15 | 0x3C | CHECKSUM: XOR of words 0–14 |
//!
//! **Fail-safe record** @ `0x2000_0080` (8 LE u32, [`BOOT_ADDR`]):
//!
//! | Word | Off | Field |
//! |---:|---:|---|
//! | 0 | 0x00 | MAGIC `0xB007_5AFE` |
//! | 1 | 0x04 | STATE: 0 Normal, 1 Degraded, 2 SafeStop ([`crate::failsafe::State`]) |
//! | 2 | 0x08 | REASON ([`crate::failsafe::Reason`]) |
//! | 3 | 0x0C | CONSECUTIVE_FAULTS (fault resets in a row) |
//! | 4 | 0x10 | BOOTS since the record was created |
//! | 5 | 0x14 | RESET_CAUSE: RCC_CSR at this boot (reset flags, bits 25–31) |
//! | 6 | 0x18 | LAST_VM_ERROR: `VmError` code of the last guest fault (0 none) |
//! | 7 | 0x1C | CHECKSUM: XOR of words 0–6 |

use cockpit_hypervisor::telemetry::{TelemetryRecord, WORDS};
use cockpit_hypervisor::vmsnap::{self, VmSnapshot};

/// Address of the fault record.
pub const FAULT_ADDR: u32 = 0x2000_0040;
/// Address of the fail-safe record.
pub const BOOT_ADDR: u32 = 0x2000_0080;
/// Fault record magic.
pub const FAULT_MAGIC: u32 = 0xFA17_0C0D;
/// Fail-safe record magic.
pub const BOOT_MAGIC: u32 = 0xB007_5AFE;
/// Fault kinds.
pub const KIND_HARDFAULT: u32 = 1;
/// A Rust panic (should never happen: the hypervisor core has no panics).
pub const KIND_PANIC: u32 = 2;
/// KIND bit: the fault was reported at a boot.
pub const KIND_ACKED: u32 = 1 << 8;

const _: () = assert!(FAULT_ADDR == cockpit_hypervisor::TELEMETRY_ADDR + 0x40);
const _: () = assert!(BOOT_ADDR == FAULT_ADDR + 0x40);

#[used]
#[unsafe(no_mangle)]
#[unsafe(link_section = ".cockpit_telemetry")]
static mut COCKPIT_TELEMETRY: [u32; WORDS] = [0; WORDS];

#[used]
#[unsafe(no_mangle)]
#[unsafe(link_section = ".cockpit_fault")]
static mut COCKPIT_FAULT: [u32; 16] = [0; 16];

#[used]
#[unsafe(no_mangle)]
#[unsafe(link_section = ".cockpit_boot")]
static mut COCKPIT_BOOT: [u32; 8] = [0; 8];

fn xor(words: &[u32]) -> u32 {
    words.iter().fold(0, |a, w| a ^ w)
}

/// Stores the telemetry record at 0x2000_0000 (volatile word writes, checksum last).
pub fn publish_telemetry(r: &TelemetryRecord) {
    let p = core::ptr::addr_of_mut!(COCKPIT_TELEMETRY).cast::<u32>();
    for (i, w) in r.to_words().into_iter().enumerate() {
        // SAFETY: `i < WORDS`; the record is only written from the main thread.
        unsafe { core::ptr::write_volatile(p.add(i), w) };
    }
}

#[used]
#[unsafe(no_mangle)]
#[unsafe(link_section = ".cockpit_vm")]
static mut COCKPIT_VM: [u32; vmsnap::WORDS] = [0; vmsnap::WORDS];

const _: () = assert!(vmsnap::VM_SNAPSHOT_ADDR == BOOT_ADDR + 0x80);

/// Stores the VM snapshot record at 0x2000_0100 (volatile word writes, checksum last).
pub fn publish_vm_snapshot(s: &VmSnapshot) {
    let p = core::ptr::addr_of_mut!(COCKPIT_VM).cast::<u32>();
    for (i, w) in s.encode().into_iter().enumerate() {
        // SAFETY: `i < vmsnap::WORDS`; the record is only written from the main thread.
        unsafe { core::ptr::write_volatile(p.add(i), w) };
    }
}

fn read<const N: usize>(p: *const u32) -> [u32; N] {
    let mut w = [0u32; N];
    for (i, x) in w.iter_mut().enumerate() {
        // SAFETY: `p` is one of the no-init statics, `N` its length.
        *x = unsafe { core::ptr::read_volatile(p.add(i)) };
    }
    w
}

fn write<const N: usize>(p: *mut u32, mut w: [u32; N]) {
    w[N - 1] = xor(&w[..N - 1]);
    for (i, x) in w.iter().enumerate() {
        // SAFETY: as in `read`.
        unsafe { core::ptr::write_volatile(p.add(i), *x) };
    }
}

/// The fault record, if valid.
pub fn fault() -> Option<[u32; 16]> {
    let w: [u32; 16] = read(core::ptr::addr_of!(COCKPIT_FAULT).cast());
    (w[0] == FAULT_MAGIC && w[15] == xor(&w[..15])).then_some(w)
}

/// Records a fault (`regs` = R0, R1, R2, R3, R12, LR, PC, xPSR) with the SCB fault registers.
pub fn record_fault(kind: u32, regs: [u32; 8]) {
    let count = fault().map_or(0, |w| w[14]).wrapping_add(1);
    let scb = |a: u32| unsafe { core::ptr::read_volatile(a as *const u32) };
    let mut w = [0u32; 16];
    w[0] = FAULT_MAGIC;
    w[1] = kind;
    w[2..10].copy_from_slice(&regs);
    w[10] = scb(0xE000_ED28);
    w[11] = scb(0xE000_ED2C);
    w[12] = scb(0xE000_ED34);
    w[13] = scb(0xE000_ED38);
    w[14] = count;
    write(core::ptr::addr_of_mut!(COCKPIT_FAULT).cast(), w);
}

/// Marks the fault record as reported.
pub fn ack_fault() {
    if let Some(mut w) = fault() {
        w[1] |= KIND_ACKED;
        write(core::ptr::addr_of_mut!(COCKPIT_FAULT).cast(), w);
    }
}

/// The fail-safe record, if valid.
pub fn boot() -> Option<[u32; 8]> {
    let w: [u32; 8] = read(core::ptr::addr_of!(COCKPIT_BOOT).cast());
    (w[0] == BOOT_MAGIC && w[7] == xor(&w[..7])).then_some(w)
}

/// Stores the fail-safe record (magic and checksum filled in).
pub fn set_boot(mut w: [u32; 8]) {
    w[0] = BOOT_MAGIC;
    write(core::ptr::addr_of_mut!(COCKPIT_BOOT).cast(), w);
}
