//! Fail-safe states, kept in the no-init fail-safe record ([`crate::records`], 0x2000_0080) so
//! they survive resets. The transition logic (table, precedence, record layout) is the pure,
//! host-tested [`cockpit_hypervisor::failsafe`]; this module only reads and writes the record.
//!
//! Behaviour: **Normal** boots the guest (active bank) or the bootloader; **Degraded** does the
//! same, after printing the fault record / reason; **SafeStop** never starts the guest: every
//! logical pin is set to input (outputs released), and only the bootloader runs (an upload that
//! activates a new image returns to Normal at the next reset).

pub use cockpit_hypervisor::failsafe::{BootInputs, BootRecord, Event, Reason, State, decide_boot};

use crate::records;

/// The stored record, if valid.
pub fn load() -> Option<BootRecord> {
    records::boot()
}

/// Stores the record.
pub fn store(r: &BootRecord) {
    records::set_boot(r);
}

/// The current state (SafeStop if the record is unreadable).
pub fn current() -> (State, Reason) {
    load().map_or((State::SafeStop, Reason::PowerOn), |r| (r.state, r.reason))
}

/// Applies a run-time event to the stored record and returns the new one. An unreadable record
/// is rebuilt from SafeStop, so an event can only leave it as safe as the table allows.
pub fn apply(ev: Event) -> BootRecord {
    let prev = load().unwrap_or(BootRecord {
        state: State::SafeStop,
        reason: Reason::PowerOn,
        consecutive_faults: 0,
        boots: 0,
        reset_cause: 0,
        last_vm_error: 0,
    });
    let r = prev.on_event(ev);
    store(&r);
    if (r.state, r.reason) != (prev.state, prev.reason) {
        defmt::info!(
            "failsafe: {=str} -> {=str} ({=str})",
            prev.state.name(),
            r.state.name(),
            r.reason.name()
        );
    }
    r
}
