//! The no-init RAM block at 0x2000_0000 (memory.x `.cockpit_noinit`; survives resets, not power
//! cycles): the telemetry record, the fault record and the fail-safe (boot) record, each with a
//! magic word and an XOR checksum so that power-on garbage is never taken for a record.
//!
//! **Run-control record** @ `0x2000_00C0` (12 LE u32, `cockpit_hypervisor::runctl`): written by
//! a probe (or the emu board) before the guest starts — MAGIC, VERSION, MAX_INSTRUCTIONS lo/hi,
//! TIME_LIMIT_US lo/hi (0 = none), FLAGS, START_CYCLES lo/hi, END_CYCLES lo/hi, XOR checksum.
//! [`run_control_request`] finds a valid untaken request for the next guest run,
//! [`start_run_control`] consumes it (FLAGS.TAKEN + START_CYCLES) right before the guest's first
//! instruction, [`end_run_control`] adds FLAGS.ENDED + END_CYCLES. A bootloader request
//! (FLAGS.BOOTLOADER, format 1.1) is consumed at boot by [`take_bootloader_request`].
//!
//! **VM snapshot record** @ `0x2000_0100` (101 LE u32, `cockpit_hypervisor::vmsnap`): magic,
//! version, stack depth, stored count, the top 32 stack words, the 64 globals, XOR checksum.
//!
//! **Fault record** @ `0x2000_0040` (16 LE u32): layout, checksum and decoding in
//! `cockpit_hypervisor::fault` (shared with the harness, which reads it by address).
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

use cockpit_hypervisor::failsafe::{BOOT_ADDR, BootRecord};
use cockpit_hypervisor::fault::{self, FAULT_ADDR, FaultKind, FaultRecord};
use cockpit_hypervisor::runctl::{self, RunControl};
use cockpit_hypervisor::telemetry::{TelemetryRecord, WORDS};
use cockpit_hypervisor::vmsnap::{self, VmSnapshot};

const _: () = assert!(FAULT_ADDR == cockpit_hypervisor::TELEMETRY_ADDR + 0x40);
const _: () = assert!(BOOT_ADDR == FAULT_ADDR + 0x40);

#[used]
#[unsafe(no_mangle)]
#[unsafe(link_section = ".cockpit_telemetry")]
static mut COCKPIT_TELEMETRY: [u32; WORDS] = [0; WORDS];

#[used]
#[unsafe(no_mangle)]
#[unsafe(link_section = ".cockpit_fault")]
static mut COCKPIT_FAULT: [u32; fault::WORDS] = [0; fault::WORDS];

#[used]
#[unsafe(no_mangle)]
#[unsafe(link_section = ".cockpit_boot")]
static mut COCKPIT_BOOT: [u32; 8] = [0; 8];

/// Volatile word writes of `words` to the no-init record at `p` (checksum last).
fn store<const N: usize>(p: *mut u32, words: [u32; N]) {
    for (i, w) in words.into_iter().enumerate() {
        // SAFETY: `p` is one of the no-init statics, `N` its length; the records are written
        // from the main thread, or from a fault handler that never returns.
        unsafe { core::ptr::write_volatile(p.add(i), w) };
    }
}

fn read<const N: usize>(p: *const u32) -> [u32; N] {
    let mut w = [0u32; N];
    for (i, x) in w.iter_mut().enumerate() {
        // SAFETY: as in `store`.
        *x = unsafe { core::ptr::read_volatile(p.add(i)) };
    }
    w
}

/// Stores the telemetry record at 0x2000_0000.
pub fn publish_telemetry(r: &TelemetryRecord) {
    store::<WORDS>(
        core::ptr::addr_of_mut!(COCKPIT_TELEMETRY).cast(),
        r.to_words(),
    );
}

#[used]
#[unsafe(no_mangle)]
#[unsafe(link_section = ".cockpit_vm")]
static mut COCKPIT_VM: [u32; vmsnap::WORDS] = [0; vmsnap::WORDS];

const _: () = assert!(vmsnap::VM_SNAPSHOT_ADDR == BOOT_ADDR + 0x80);

#[used]
#[unsafe(no_mangle)]
#[unsafe(link_section = ".cockpit_runctl")]
static mut COCKPIT_RUNCTL: [u32; runctl::WORDS] = [0; runctl::WORDS];

const _: () = assert!(runctl::RUNCTL_ADDR == BOOT_ADDR + 0x40);

fn store_run_control(r: &RunControl) {
    store::<{ runctl::WORDS }>(core::ptr::addr_of_mut!(COCKPIT_RUNCTL).cast(), r.encode());
}

/// The run-control request a harness left for the next guest run, if valid and not taken yet.
pub fn run_control_request() -> Option<RunControl> {
    let w: [u32; runctl::WORDS] = read(core::ptr::addr_of!(COCKPIT_RUNCTL).cast());
    RunControl::accept(&w)
}

/// Whether a harness asked for the Oracle bootloader at this boot (a run-control bootloader
/// request); consumes the request (FLAGS.TAKEN), so the next reset boots normally.
pub fn take_bootloader_request() -> bool {
    let w: [u32; runctl::WORDS] = read(core::ptr::addr_of!(COCKPIT_RUNCTL).cast());
    match RunControl::take_bootloader(&w) {
        Some(taken) => {
            store_run_control(&taken);
            true
        }
        None => false,
    }
}

/// Consumes request `r`: marks it taken by a guest run starting at firmware cycle `now`, so a
/// reset during the run does not apply it again. Returns the stored record.
pub fn start_run_control(r: RunControl, now: u64) -> RunControl {
    let started = r.started(now);
    store_run_control(&started);
    started
}

/// Marks the taken request `r` ended at firmware cycle `now`.
pub fn end_run_control(r: RunControl, now: u64) {
    store_run_control(&r.ended(now));
}

/// Stores the VM snapshot record at 0x2000_0100.
pub fn publish_vm_snapshot(s: &VmSnapshot) {
    store::<{ vmsnap::WORDS }>(core::ptr::addr_of_mut!(COCKPIT_VM).cast(), s.encode());
}

/// The fault record, if valid.
pub fn fault() -> Option<FaultRecord> {
    FaultRecord::from_words(&read(core::ptr::addr_of!(COCKPIT_FAULT).cast()))
}

/// CFSR (`0xE000_ED28`, ARMv7-M B3.2.15): the fault status the HardFault handler classifies.
pub fn cfsr() -> u32 {
    // SAFETY: CFSR is always readable; reading has no side effect.
    unsafe { core::ptr::read_volatile(0xE000_ED28 as *const u32) }
}

/// Records a fault (`regs` = R0, R1, R2, R3, R12, LR, PC, xPSR) with the SCB fault registers.
pub fn record_fault(kind: FaultKind, regs: [u32; 8]) {
    // SAFETY: the SCB fault status/address registers are always readable.
    let scb = |a: u32| unsafe { core::ptr::read_volatile(a as *const u32) };
    let r = FaultRecord {
        kind,
        acked: false,
        regs,
        cfsr: scb(0xE000_ED28),
        hfsr: scb(0xE000_ED2C),
        mmfar: scb(0xE000_ED34),
        bfar: scb(0xE000_ED38),
        count: fault().map_or(0, |r| r.count).wrapping_add(1),
    };
    store(core::ptr::addr_of_mut!(COCKPIT_FAULT).cast(), r.to_words());
}

/// Marks the fault record as reported.
pub fn ack_fault() {
    if let Some(r) = fault() {
        let acked = FaultRecord { acked: true, ..r };
        store(
            core::ptr::addr_of_mut!(COCKPIT_FAULT).cast(),
            acked.to_words(),
        );
    }
}

/// The fail-safe record, if valid.
pub fn boot() -> Option<BootRecord> {
    BootRecord::from_words(&read(core::ptr::addr_of!(COCKPIT_BOOT).cast()))
}

/// Stores the fail-safe record.
pub fn set_boot(r: &BootRecord) {
    store(core::ptr::addr_of_mut!(COCKPIT_BOOT).cast(), r.to_words());
}
