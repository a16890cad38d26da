//! Fail-safe states and their transitions, kept in the no-init fail-safe record
//! ([`crate::records`], 0x2000_0080) so they survive resets.
//!
//! | From | Event | To | Reason |
//! |---|---|---|---|
//! | any / no record | power-on (record invalid) | Normal | `PowerOn` |
//! | any | reset by the IWDG (RCC_CSR.IWDGRSTF) | **SafeStop** | `Watchdog` |
//! | any | reset after a HardFault/panic record, < 3 in a row | Degraded | `Fault` |
//! | any | the 3rd fault reset in a row | **SafeStop** | `RepeatedFaults` |
//! | Normal / Degraded | clean reset (pin, software, no new fault) | Normal | `CleanReset` |
//! | SafeStop | clean reset | SafeStop (sticky) | unchanged |
//! | SafeStop / Degraded | user key (PC13) held at reset | Normal, bootloader | `UserKey` |
//! | any | the bootloader activates a new image | Normal | `NewImage` |
//! | Normal | the guest stops with a VM error | Degraded (until the next clean reset) | `VmError` |
//! | Normal | HSE does not start (HSI16 fallback) | Degraded | `ClockFallback` |
//!
//! Behaviour: **Normal** boots the guest (active bank) or the bootloader; **Degraded** does the
//! same, after printing the fault record / reason; **SafeStop** never starts the guest: every
//! logical pin is set to input (outputs released), and only the bootloader runs (an upload that
//! activates a new image returns to Normal at the next reset).

use crate::records;

/// The firmware's operating state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum State {
    /// Everything in order.
    Normal = 0,
    /// Running after a recoverable problem (fault reset, VM error, clock fallback).
    Degraded = 1,
    /// Guest disabled; outputs released; bootloader only.
    SafeStop = 2,
}

impl State {
    fn from_u32(v: u32) -> State {
        match v {
            0 => State::Normal,
            1 => State::Degraded,
            _ => State::SafeStop,
        }
    }

    /// Console name.
    pub const fn name(self) -> &'static str {
        match self {
            State::Normal => "NORMAL",
            State::Degraded => "DEGRADED",
            State::SafeStop => "SAFESTOP",
        }
    }
}

/// Why the state was last set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Reason {
    /// Power-on (no valid record).
    PowerOn = 0,
    /// A reset with no fault.
    CleanReset = 1,
    /// Reset after a HardFault or panic.
    Fault = 2,
    /// Reset by the independent watchdog.
    Watchdog = 3,
    /// Three fault resets in a row.
    RepeatedFaults = 4,
    /// User key held at reset.
    UserKey = 5,
    /// The bootloader activated a new image.
    NewImage = 6,
    /// The guest stopped with a VM error.
    VmError = 7,
    /// HSE failed; running from HSI16.
    ClockFallback = 8,
}

impl Reason {
    /// Console name.
    pub const fn name(self) -> &'static str {
        match self {
            Reason::PowerOn => "power-on",
            Reason::CleanReset => "reset",
            Reason::Fault => "fault",
            Reason::Watchdog => "watchdog",
            Reason::RepeatedFaults => "repeated-faults",
            Reason::UserKey => "user-key",
            Reason::NewImage => "new-image",
            Reason::VmError => "vm-error",
            Reason::ClockFallback => "clock-fallback",
        }
    }
}

/// RCC_CSR.IWDGRSTF.
pub const CSR_IWDGRSTF: u32 = 1 << 29;
/// Faults in a row that lead to SafeStop.
pub const MAX_CONSECUTIVE_FAULTS: u32 = 3;

/// The state at boot, from the previous record, the reset flags (`csr` = RCC_CSR) and whether
/// a new (unreported) fault record is present. Pure: the transition table above.
pub fn on_boot(prev: Option<[u32; 8]>, csr: u32, new_fault: bool) -> (State, Reason, u32) {
    let Some(p) = prev else {
        // No record: power-on — unless the watchdog reset us (record corrupted by a runaway).
        if csr & CSR_IWDGRSTF != 0 {
            return (State::SafeStop, Reason::Watchdog, 0);
        }
        return (State::Normal, Reason::PowerOn, if new_fault { 1 } else { 0 });
    };
    let prev_state = State::from_u32(p[1]);
    let faults = p[3];
    if csr & CSR_IWDGRSTF != 0 {
        (State::SafeStop, Reason::Watchdog, faults)
    } else if new_fault {
        let n = faults.saturating_add(1);
        if n >= MAX_CONSECUTIVE_FAULTS {
            (State::SafeStop, Reason::RepeatedFaults, n)
        } else {
            (State::Degraded, Reason::Fault, n)
        }
    } else if prev_state == State::SafeStop {
        (State::SafeStop, reason_of(p[2]), faults)
    } else {
        (State::Normal, Reason::CleanReset, 0)
    }
}

fn reason_of(v: u32) -> Reason {
    match v {
        0 => Reason::PowerOn,
        1 => Reason::CleanReset,
        2 => Reason::Fault,
        3 => Reason::Watchdog,
        4 => Reason::RepeatedFaults,
        5 => Reason::UserKey,
        6 => Reason::NewImage,
        7 => Reason::VmError,
        _ => Reason::ClockFallback,
    }
}

/// The current state (from the record; SafeStop if the record is unreadable).
pub fn current() -> (State, Reason) {
    records::boot().map_or((State::SafeStop, Reason::PowerOn), |w| {
        (State::from_u32(w[1]), reason_of(w[2]))
    })
}

/// Sets the state and reason, keeping the other fields.
pub fn set(state: State, reason: Reason) {
    let mut w = records::boot().unwrap_or([0; 8]);
    w[1] = state as u32;
    w[2] = reason as u32;
    if state == State::Normal {
        w[3] = 0;
    }
    records::set_boot(w);
}

/// Records the last VM error code.
pub fn set_vm_error(code: u8) {
    let mut w = records::boot().unwrap_or([0; 8]);
    w[6] = u32::from(code);
    records::set_boot(w);
}

/// Writes the boot-time record.
pub fn store_boot(state: State, reason: Reason, faults: u32, csr: u32) {
    let prev = records::boot();
    let boots = prev.map_or(0, |w| w[4]).wrapping_add(1);
    let vm_err = prev.map_or(0, |w| w[6]);
    records::set_boot([0, state as u32, reason as u32, faults, boots, csr, vm_err, 0]);
}
