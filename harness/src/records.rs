//! The firmware's RAM records as a board that runs the firmware (`emu`, `probe`) reads them
//! after a run: the telemetry record (`cockpit_hypervisor::telemetry`, `0x2000_0000`) gives how
//! the guest ended, the VM snapshot record (`cockpit_hypervisor::vmsnap`, `0x2000_0100`) its
//! operand stack and globals; the fault record (`cockpit_hypervisor::fault`, `0x2000_0040`)
//! and the fail-safe record (`cockpit_hypervisor::failsafe`, `0x2000_0080`) what the firmware
//! itself went through ([`Records`], read through any board's [`Target::read_u32`]). The
//! run-control record (`cockpit_hypervisor::runctl`) carries the budget to the firmware, which
//! ends the guest there itself; [`BOOT_MARGIN`] is the boards' safety net beyond it.

use std::time::Duration;

use cockpit_hypervisor::failsafe::{self, BootRecord};
use cockpit_hypervisor::fault::{self, FaultRecord};
use cockpit_hypervisor::telemetry::{RunState, TelemetryRecord};
use cockpit_hypervisor::vmsnap::VmSnapshot;
use cockpit_vm::{Fault, VmError};

use crate::target::{Target, TargetError, VmState};

/// Board time the firmware gets beyond the plan's `virtual_time` before the board stops it (a
/// safety net: the firmware ends the guest at its budget itself). It covers the boot before the
/// guest starts (≈ 10 ms) and the run loop's check granularity (the time budget is checked at
/// HAL calls and between slices of 1 M instructions: ≈ 0.2 s of emulated interpreter time on
/// `emu`, less on a real board).
pub const BOOT_MARGIN: Duration = Duration::from_secs(1);

/// The VM fault a telemetry record reports (ERROR, ERROR_PC, OPCODE); an unknown ERROR code is
/// reported as `BUDGET_EXCEEDED`.
pub fn telemetry_fault(t: &TelemetryRecord) -> Fault {
    Fault {
        error: VmError::from_code(t.error_code as u8).unwrap_or(VmError::BudgetExceeded),
        pc: t.error_pc,
        opcode: t.last_opcode as u8,
    }
}

/// The `BUDGET_EXCEEDED` fault of a run the harness stopped at its budget, at the telemetry's
/// PC/OPCODE (0 without a record), as `sim` reports it.
pub fn budget_fault(t: Option<&TelemetryRecord>) -> Fault {
    Fault {
        error: VmError::BudgetExceeded,
        pc: t.map_or(0, |t| t.pc),
        opcode: t.map_or(0, |t| t.last_opcode as u8),
    }
}

/// Whether the record says the guest stopped (halted or faulted).
pub fn stopped(t: &TelemetryRecord) -> bool {
    matches!(t.run_state(), Some(RunState::Halted | RunState::Faulted))
}

/// The VM end state from the last run's records: the fault from the telemetry (ERROR ≠ 0), else
/// `harness_fault` (the harness's budget stop); the stack and globals from the snapshot, used
/// only when the telemetry says the guest stopped (a run stopped from outside leaves the start
/// snapshot). A stack deeper than `vmsnap::STACK_WORDS` is its top `STACK_WORDS` entries.
pub fn vm_state(
    tel: Option<&TelemetryRecord>,
    snap: Option<&VmSnapshot>,
    harness_fault: Option<Fault>,
) -> VmState {
    let fault = tel
        .filter(|t| t.error_code != 0)
        .map(telemetry_fault)
        .or(harness_fault);
    let snap = snap.filter(|_| tel.is_some_and(stopped));
    VmState {
        fault,
        stack: snap.map_or_else(Vec::new, |v| v.stack().to_vec()),
        globals: snap.map_or_else(Vec::new, |v| v.globals.to_vec()),
    }
}

/// The firmware's no-init records, decoded (`None`: no valid record, or a board without
/// firmware).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Records {
    /// The fault record (`cockpit_hypervisor::fault::FAULT_ADDR`).
    pub fault: Option<FaultRecord>,
    /// The fail-safe record (`cockpit_hypervisor::failsafe::BOOT_ADDR`).
    pub failsafe: Option<BootRecord>,
}

/// The firmware's fault and fail-safe records, read word by word through
/// [`Target::read_u32`] (as a probe would read them) and decoded; a board that does not map
/// their addresses has none. Errors: other read failures.
pub fn read_records(target: &mut dyn Target) -> Result<Records, TargetError> {
    fn words<const N: usize>(
        target: &mut dyn Target,
        addr: u32,
    ) -> Result<Option<[u32; N]>, TargetError> {
        let mut w = [0u32; N];
        for (i, x) in w.iter_mut().enumerate() {
            match target.read_u32(addr + 4 * i as u32) {
                Ok(v) => *x = v,
                Err(TargetError::Unmapped { .. }) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        Ok(Some(w))
    }
    Ok(Records {
        fault: words(target, fault::FAULT_ADDR)?.and_then(|w| FaultRecord::from_words(&w)),
        failsafe: words(target, failsafe::BOOT_ADDR)?.and_then(|w| BootRecord::from_words(&w)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_state_uses_the_snapshot_only_after_a_stop() {
        let mut globals = [0i32; cockpit_vm::GLOBALS];
        globals[1] = 7;
        let snap = VmSnapshot::new(&[1, 2, 3], &globals);
        let halted = TelemetryRecord::new(RunState::Halted, 4, 0, 10, 20, 0, 0);
        let s = vm_state(Some(&halted), Some(&snap), None);
        assert_eq!(
            (s.fault, s.stack.as_slice(), s.globals[1]),
            (None, &[1, 2, 3][..], 7)
        );
        let running = TelemetryRecord::new(RunState::Running, 4, 0x10, 10, 20, 0, 0);
        let stop = budget_fault(Some(&running));
        let s = vm_state(Some(&running), Some(&snap), Some(stop));
        assert_eq!(s.fault, Some(stop));
        assert_eq!((stop.pc, stop.opcode), (4, 0x10));
        assert!(s.stack.is_empty() && s.globals.is_empty());
        let faulted = TelemetryRecord::new(RunState::Faulted, 9, 0x06, 3, 4, 3, 9);
        let f = vm_state(Some(&faulted), None, None).fault.expect("fault");
        assert_eq!(
            (f.error, f.pc, f.opcode),
            (VmError::from_code(3).unwrap(), 9, 0x06)
        );
        assert!(!stopped(&running) && stopped(&faulted));
    }
}
