//! Fail-safe states (Normal, Degraded, SafeStop) and their transitions: the pure logic of the
//! STM32G474 firmware's fail-safe record (`firmware/stm32g474`, no-init RAM at `0x2000_0080`),
//! host-testable. The firmware reads the record and the reset flags, calls [`decide_boot`] at
//! reset and [`BootRecord::on_event`] at run time, and stores the result.
//!
//! | From | Event | To | Reason |
//! |---|---|---|---|
//! | no valid record | power-on | Normal | `PowerOn` |
//! | no valid record | IWDG reset (record corrupted by a runaway) | **SafeStop** | `Watchdog` |
//! | any | reset by the IWDG (RCC_CSR.IWDGRSTF) | **SafeStop** | `Watchdog` |
//! | any | reset after a HardFault/panic record, 1st/2nd in a row | Degraded | `Fault` |
//! | any | the 3rd fault reset in a row | **SafeStop** | `RepeatedFaults` |
//! | Normal / Degraded | clean reset (pin, software, no new fault) | Normal | `CleanReset` |
//! | SafeStop | clean reset | SafeStop (sticky, reason kept) | unchanged |
//! | any | user key (PC13) held at reset | Normal, bootloader | `UserKey` |
//! | any | the bootloader activates a new image | Normal (consecutive faults cleared) | `NewImage` |
//! | Normal / Degraded | the guest stops with a VM error | Degraded | `VmError` |
//! | Normal | HSE does not start (HSI16 fallback) | Degraded | `ClockFallback` |
//!
//! Precedence at reset: user key > watchdog > fault count > clock fallback > previous state.
//!
//! Record layout (8 little-endian `u32`, [`BootRecord::to_words`]): MAGIC, STATE, REASON,
//! CONSECUTIVE_FAULTS, BOOTS, RESET_CAUSE (RCC_CSR), LAST_VM_ERROR, CHECKSUM (XOR of words 0–6).

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
    /// From the record word; unknown values are SafeStop (fail safe).
    pub const fn from_u32(v: u32) -> State {
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
    /// From the record word; unknown values read as `ClockFallback` (the last one).
    pub const fn from_u32(v: u32) -> Reason {
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

/// RCC_CSR.IWDGRSTF (RM0440 §7.4.29).
pub const CSR_IWDGRSTF: u32 = 1 << 29;
/// Fault resets in a row that lead to SafeStop.
pub const MAX_CONSECUTIVE_FAULTS: u32 = 3;
/// Word 0 of a valid fail-safe record.
pub const BOOT_MAGIC: u32 = 0xB007_5AFE;
/// Address of the fail-safe record in the firmware's no-init RAM (after the fault record).
pub const BOOT_ADDR: u32 = crate::fault::FAULT_ADDR + 0x40;

/// The fail-safe record's payload (without magic and checksum).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootRecord {
    /// Current state.
    pub state: State,
    /// Why it was set.
    pub reason: Reason,
    /// Fault resets in a row (cleared by a clean reset into Normal, a new image, the user key).
    pub consecutive_faults: u32,
    /// Boots since the record was created.
    pub boots: u32,
    /// RCC_CSR read at this boot.
    pub reset_cause: u32,
    /// Last VM error code (0 = none).
    pub last_vm_error: u32,
}

/// What the firmware observed at reset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BootInputs {
    /// RCC_CSR before clearing the flags.
    pub csr: u32,
    /// A fault record that no boot has reported yet is present.
    pub new_fault: bool,
    /// The HSE failed and the PLL runs from HSI16.
    pub clock_fallback: bool,
    /// The user key was held at reset.
    pub user_key: bool,
}

/// A run-time event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The bootloader activated a new image (effective at the next reset).
    NewImage,
    /// The guest stopped with this VM error code.
    VmError(u8),
}

impl BootRecord {
    /// The 8 record words, magic and checksum included.
    pub const fn to_words(&self) -> [u32; 8] {
        let mut w = [
            BOOT_MAGIC,
            self.state as u32,
            self.reason as u32,
            self.consecutive_faults,
            self.boots,
            self.reset_cause,
            self.last_vm_error,
            0,
        ];
        w[7] = xor7(&w);
        w
    }

    /// Parses the record words; `None` if the magic or the checksum is wrong.
    pub const fn from_words(w: &[u32; 8]) -> Option<BootRecord> {
        if w[0] != BOOT_MAGIC || w[7] != xor7(w) {
            return None;
        }
        Some(BootRecord {
            state: State::from_u32(w[1]),
            reason: Reason::from_u32(w[2]),
            consecutive_faults: w[3],
            boots: w[4],
            reset_cause: w[5],
            last_vm_error: w[6],
        })
    }

    /// Applies a run-time event (module table).
    #[must_use]
    pub fn on_event(mut self, ev: Event) -> BootRecord {
        match ev {
            Event::NewImage => {
                self.state = State::Normal;
                self.reason = Reason::NewImage;
                self.consecutive_faults = 0;
            }
            Event::VmError(code) => {
                self.last_vm_error = u32::from(code);
                // The guest never runs in SafeStop; should it, SafeStop stays.
                if self.state != State::SafeStop {
                    self.state = State::Degraded;
                    self.reason = Reason::VmError;
                }
            }
        }
        self
    }
}

const fn xor7(w: &[u32; 8]) -> u32 {
    let mut x = 0;
    let mut i = 0;
    while i < 7 {
        x ^= w[i];
        i += 1;
    }
    x
}

/// The state at reset, from the previous record (`None` if invalid), the reset flags and
/// whether a new fault record is present: `(state, reason, consecutive faults)`. The core of
/// [`decide_boot`], without the user key and the clock fallback.
pub fn on_boot(prev: Option<&BootRecord>, csr: u32, new_fault: bool) -> (State, Reason, u32) {
    let watchdog = csr & CSR_IWDGRSTF != 0;
    let Some(p) = prev else {
        return if watchdog {
            (State::SafeStop, Reason::Watchdog, 0)
        } else {
            (State::Normal, Reason::PowerOn, u32::from(new_fault))
        };
    };
    let faults = p.consecutive_faults;
    if watchdog {
        (State::SafeStop, Reason::Watchdog, faults)
    } else if new_fault {
        let n = faults.saturating_add(1);
        if n >= MAX_CONSECUTIVE_FAULTS {
            (State::SafeStop, Reason::RepeatedFaults, n)
        } else {
            (State::Degraded, Reason::Fault, n)
        }
    } else if p.state == State::SafeStop {
        (State::SafeStop, p.reason, faults)
    } else {
        (State::Normal, Reason::CleanReset, 0)
    }
}

/// The record to store at reset (module table, including the user key and the clock
/// fallback): boots incremented, RESET_CAUSE = `inputs.csr`, LAST_VM_ERROR kept.
pub fn decide_boot(prev: Option<&BootRecord>, inputs: &BootInputs) -> BootRecord {
    let (mut state, mut reason, mut faults) = on_boot(prev, inputs.csr, inputs.new_fault);
    if inputs.clock_fallback && state == State::Normal {
        (state, reason) = (State::Degraded, Reason::ClockFallback);
    }
    if inputs.user_key {
        (state, reason, faults) = (State::Normal, Reason::UserKey, 0);
    }
    BootRecord {
        state,
        reason,
        consecutive_faults: faults,
        boots: prev.map_or(0, |p| p.boots).wrapping_add(1),
        reset_cause: inputs.csr,
        last_vm_error: prev.map_or(0, |p| p.last_vm_error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SFTRSTF: u32 = 1 << 28;
    const PINRSTF: u32 = 1 << 26;
    const PORRSTF: u32 = 1 << 27;

    fn rec(state: State, reason: Reason, faults: u32) -> BootRecord {
        BootRecord {
            state,
            reason,
            consecutive_faults: faults,
            boots: 7,
            reset_cause: 0,
            last_vm_error: 0,
        }
    }

    fn boot(prev: Option<BootRecord>, csr: u32, new_fault: bool) -> BootRecord {
        decide_boot(
            prev.as_ref(),
            &BootInputs {
                csr,
                new_fault,
                ..BootInputs::default()
            },
        )
    }

    const ALL_STATES: [State; 3] = [State::Normal, State::Degraded, State::SafeStop];

    #[test]
    fn power_on_without_record_is_normal() {
        let r = boot(None, PORRSTF | PINRSTF, false);
        assert_eq!(
            (r.state, r.reason, r.consecutive_faults),
            (State::Normal, Reason::PowerOn, 0)
        );
        assert_eq!(r.boots, 1);
        assert_eq!(r.reset_cause, PORRSTF | PINRSTF);
    }

    #[test]
    fn watchdog_reset_without_record_is_safestop() {
        let r = boot(None, CSR_IWDGRSTF, false);
        assert_eq!((r.state, r.reason), (State::SafeStop, Reason::Watchdog));
    }

    #[test]
    fn watchdog_reset_is_safestop_from_any_state() {
        for s in ALL_STATES {
            let r = boot(
                Some(rec(s, Reason::CleanReset, 1)),
                CSR_IWDGRSTF | PINRSTF,
                false,
            );
            assert_eq!(
                (r.state, r.reason),
                (State::SafeStop, Reason::Watchdog),
                "{s:?}"
            );
            assert_eq!(r.consecutive_faults, 1);
            // The watchdog wins over a new fault record.
            let r = boot(Some(rec(s, Reason::CleanReset, 0)), CSR_IWDGRSTF, true);
            assert_eq!(r.state, State::SafeStop);
        }
    }

    #[test]
    fn first_and_second_fault_resets_are_degraded() {
        let r1 = boot(
            Some(rec(State::Normal, Reason::CleanReset, 0)),
            SFTRSTF,
            true,
        );
        assert_eq!(
            (r1.state, r1.reason, r1.consecutive_faults),
            (State::Degraded, Reason::Fault, 1)
        );
        let r2 = boot(Some(r1), SFTRSTF, true);
        assert_eq!(
            (r2.state, r2.reason, r2.consecutive_faults),
            (State::Degraded, Reason::Fault, 2)
        );
    }

    #[test]
    fn third_fault_reset_in_a_row_is_safestop() {
        let mut r = boot(None, PORRSTF, false);
        for _ in 0..2 {
            r = boot(Some(r), SFTRSTF, true);
            assert_eq!(r.state, State::Degraded);
        }
        r = boot(Some(r), SFTRSTF, true);
        assert_eq!(
            (r.state, r.reason, r.consecutive_faults),
            (State::SafeStop, Reason::RepeatedFaults, 3)
        );
        // And it stays there on a clean reset.
        let r = boot(Some(r), PINRSTF, false);
        assert_eq!(
            (r.state, r.reason),
            (State::SafeStop, Reason::RepeatedFaults)
        );
    }

    #[test]
    fn fault_without_record_counts_one() {
        let r = boot(None, SFTRSTF, true);
        assert_eq!(
            (r.state, r.reason, r.consecutive_faults),
            (State::Normal, Reason::PowerOn, 1)
        );
    }

    #[test]
    fn clean_reset_clears_faults_and_returns_to_normal() {
        for s in [State::Normal, State::Degraded] {
            let r = boot(Some(rec(s, Reason::Fault, 2)), PINRSTF, false);
            assert_eq!(
                (r.state, r.reason, r.consecutive_faults),
                (State::Normal, Reason::CleanReset, 0)
            );
            assert_eq!(r.boots, 8);
        }
        // Faults not in a row: fault, clean, fault → Degraded with count 1.
        let r = boot(Some(rec(State::Degraded, Reason::Fault, 2)), PINRSTF, false);
        let r = boot(Some(r), SFTRSTF, true);
        assert_eq!((r.state, r.consecutive_faults), (State::Degraded, 1));
    }

    #[test]
    fn safestop_is_sticky_on_clean_reset() {
        let r = boot(
            Some(rec(State::SafeStop, Reason::Watchdog, 0)),
            PINRSTF,
            false,
        );
        assert_eq!((r.state, r.reason), (State::SafeStop, Reason::Watchdog));
    }

    #[test]
    fn user_key_returns_to_normal_from_any_state() {
        for s in ALL_STATES {
            for (csr, fault) in [(PINRSTF, false), (CSR_IWDGRSTF, false), (SFTRSTF, true)] {
                let r = decide_boot(
                    Some(&rec(s, Reason::RepeatedFaults, 3)),
                    &BootInputs {
                        csr,
                        new_fault: fault,
                        clock_fallback: true,
                        user_key: true,
                    },
                );
                assert_eq!(
                    (r.state, r.reason, r.consecutive_faults),
                    (State::Normal, Reason::UserKey, 0)
                );
            }
        }
    }

    #[test]
    fn clock_fallback_degrades_normal_only() {
        let inputs = |csr| BootInputs {
            csr,
            clock_fallback: true,
            ..BootInputs::default()
        };
        let r = decide_boot(None, &inputs(PORRSTF));
        assert_eq!(
            (r.state, r.reason),
            (State::Degraded, Reason::ClockFallback)
        );
        let r = decide_boot(
            Some(&rec(State::Normal, Reason::CleanReset, 0)),
            &inputs(PINRSTF),
        );
        assert_eq!(
            (r.state, r.reason),
            (State::Degraded, Reason::ClockFallback)
        );
        // A fault or SafeStop reason is not overwritten.
        let r = decide_boot(
            Some(&rec(State::Normal, Reason::CleanReset, 0)),
            &BootInputs {
                new_fault: true,
                ..inputs(SFTRSTF)
            },
        );
        assert_eq!((r.state, r.reason), (State::Degraded, Reason::Fault));
        let r = decide_boot(
            Some(&rec(State::SafeStop, Reason::Watchdog, 0)),
            &inputs(PINRSTF),
        );
        assert_eq!((r.state, r.reason), (State::SafeStop, Reason::Watchdog));
    }

    #[test]
    fn new_image_returns_to_normal_from_any_state() {
        for s in ALL_STATES {
            let r = rec(s, Reason::RepeatedFaults, 3).on_event(Event::NewImage);
            assert_eq!(
                (r.state, r.reason, r.consecutive_faults),
                (State::Normal, Reason::NewImage, 0)
            );
            // …and the next clean reset boots Normal.
            let r = boot(Some(r), SFTRSTF, false);
            assert_eq!((r.state, r.reason), (State::Normal, Reason::CleanReset));
        }
    }

    #[test]
    fn vm_error_degrades() {
        for s in [State::Normal, State::Degraded] {
            let r = rec(s, Reason::CleanReset, 0).on_event(Event::VmError(5));
            assert_eq!(
                (r.state, r.reason, r.last_vm_error),
                (State::Degraded, Reason::VmError, 5)
            );
        }
        let r = rec(State::SafeStop, Reason::Watchdog, 0).on_event(Event::VmError(5));
        assert_eq!(
            (r.state, r.reason, r.last_vm_error),
            (State::SafeStop, Reason::Watchdog, 5)
        );
        // Degraded until the next clean reset, which keeps the last error code.
        let r = boot(
            Some(rec(State::Normal, Reason::CleanReset, 0).on_event(Event::VmError(9))),
            PINRSTF,
            false,
        );
        assert_eq!((r.state, r.last_vm_error), (State::Normal, 9));
    }

    #[test]
    fn record_words_round_trip_and_checksum() {
        let r = rec(State::Degraded, Reason::VmError, 2);
        let w = r.to_words();
        assert_eq!(w[0], BOOT_MAGIC);
        assert_eq!(w[7], w[..7].iter().fold(0, |a, b| a ^ b));
        assert_eq!(BootRecord::from_words(&w), Some(r));
        let mut bad = w;
        bad[3] ^= 1;
        assert_eq!(BootRecord::from_words(&bad), None);
        let mut bad = w;
        bad[0] = 0;
        bad[7] = bad[..7].iter().fold(0, |a, b| a ^ b);
        assert_eq!(BootRecord::from_words(&bad), None);
    }

    #[test]
    fn unknown_words_decode_fail_safe() {
        assert_eq!(State::from_u32(3), State::SafeStop);
        assert_eq!(State::from_u32(u32::MAX), State::SafeStop);
        for v in 0..9 {
            assert_eq!(Reason::from_u32(v) as u32, v);
        }
        for s in ALL_STATES {
            assert_eq!(State::from_u32(s as u32), s);
        }
    }
}
