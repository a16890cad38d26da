//! The run loop: executes the guest in slices, publishes telemetry, enforces budgets.

use cockpit_vm::{Exit, Fault, Program, Vm, VmError};

use crate::board::Board;
use crate::host::VmHost;
use crate::telemetry::{RunState, TelemetryRecord};
use crate::vmsnap::VmSnapshot;

/// Default number of guest instructions per slice (between telemetry updates and `keep_going`
/// checks): 1 M, about 6–20 ms of modelled 170 MHz CPU time.
pub const DEFAULT_SLICE: u32 = 1_000_000;

/// Limits of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Guest instructions executed in total (counted by the VM from its reset).
    pub max_instructions: u64,
    /// Board time from program start, in µs; `None` = unlimited.
    pub time_limit_us: Option<u64>,
    /// Instructions per slice (≥ 1; 0 is treated as 1).
    pub slice: u32,
}

impl Limits {
    /// Limits with [`DEFAULT_SLICE`].
    pub const fn new(max_instructions: u64, time_limit_us: Option<u64>) -> Self {
        Limits {
            max_instructions,
            time_limit_us,
            slice: DEFAULT_SLICE,
        }
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The program halted normally.
    Halted,
    /// The VM stopped with an error, including `BUDGET_EXCEEDED` for an exhausted instruction or
    /// board-time budget.
    Faulted(Fault),
    /// The `keep_going` hook returned `false` between two slices (e.g. a wall-clock timeout);
    /// the VM is left as it was, resumable.
    Stopped,
}

/// The telemetry record describing the VM now.
pub fn snapshot(vm: &Vm, program: &Program<'_>, state: RunState) -> TelemetryRecord {
    let fault = vm.fault();
    let pc = vm.pc();
    let opcode = match fault {
        Some(f) => f.opcode,
        None => program
            .instruction(pc as usize)
            .map_or(0, |insn| insn.opcode),
    };
    let (error, error_pc) = fault.map_or((0, 0), |f| (f.error.code(), f.pc));
    TelemetryRecord::new(
        state,
        pc,
        opcode,
        vm.instructions(),
        vm.cycles(),
        error,
        error_pc,
    )
}

/// Runs `program` on `vm` (not reset here: call `vm.reset()` first for a fresh run) until it
/// halts, faults, exhausts `limits`, or `keep_going` returns `false` between slices.
///
/// Each slice executes at most `limits.slice` instructions; the telemetry record is published on
/// the board before the first slice, after every slice and at the end; the VM snapshot record
/// ([`VmSnapshot`]: stack and globals) before the first slice and when the guest stops, each
/// time *before* the telemetry record, whose STATE is what an observer polls: once it reads
/// halted or faulted, the snapshot is complete. Budgets: when the VM's instruction count reaches
/// `limits.max_instructions`, or board time reaches `time_limit_us` after the start, the VM is
/// stopped with `BUDGET_EXCEEDED` ([`Vm::stop_with`]). Board time is checked precisely at HAL
/// calls (see [`VmHost`]) and otherwise between slices, so a compute-only stretch can overrun the
/// time budget by at most one slice.
pub fn run<B: Board>(
    vm: &mut Vm,
    program: &Program<'_>,
    board: &mut B,
    limits: &Limits,
    keep_going: &mut dyn FnMut() -> bool,
) -> Outcome {
    let start = board.clock_us();
    let deadline = limits.time_limit_us.map(|t| start.saturating_add(t));
    let mut host = VmHost::new(board, deadline, vm.cycles());
    let slice = u64::from(limits.slice.max(1));
    host.board().publish_vm_snapshot(&VmSnapshot::of(vm));
    host.board()
        .publish_telemetry(&snapshot(vm, program, RunState::Running));
    loop {
        let done = vm.instructions();
        if done >= limits.max_instructions || host.past_deadline() {
            let fault = vm.stop_with(VmError::BudgetExceeded);
            host.board().publish_vm_snapshot(&VmSnapshot::of(vm));
            host.board()
                .publish_telemetry(&snapshot(vm, program, RunState::Faulted));
            return Outcome::Faulted(fault);
        }
        let n = slice.min(limits.max_instructions - done);
        match vm.run(program, &mut host, n) {
            Ok(Exit::Halted) => {
                host.board().publish_vm_snapshot(&VmSnapshot::of(vm));
                host.board()
                    .publish_telemetry(&snapshot(vm, program, RunState::Halted));
                return Outcome::Halted;
            }
            Ok(Exit::Yielded) => {
                host.board()
                    .publish_telemetry(&snapshot(vm, program, RunState::Running));
                if !keep_going() {
                    return Outcome::Stopped;
                }
            }
            Err(fault) => {
                host.board().publish_vm_snapshot(&VmSnapshot::of(vm));
                host.board()
                    .publish_telemetry(&snapshot(vm, program, RunState::Faulted));
                return Outcome::Faulted(fault);
            }
        }
    }
}
