//! Engine semantics: every opcode and every error path.
mod common;

use cockpit_vm::isa::Opcode::{self, *};
use cockpit_vm::isa::{CYCLE_COST, PUSH_HIGH, PUSH_SIGNED, RET_VALUE};
use cockpit_vm::testing::TestHost;
use cockpit_vm::{
    ARRAY_LEN, ARRAYS, CALL_DEPTH, Exit, Fault, GLOBALS, Instruction, Program, STACK_SIZE, Vm,
    VmError, conc_image,
};
use common::*;

fn halt() -> Instruction {
    i(Halt, 0, 0)
}

fn push(v: u16) -> Instruction {
    i(Push, 0, v)
}

fn push_i(v: i32) -> [Instruction; 2] {
    [
        i(Push, 0, (v as u32 & 0xFFFF) as u16),
        i(Push, PUSH_HIGH, (v as u32 >> 16) as u16),
    ]
}

/// Runs `a op b` and returns the single result.
fn binary(op: Opcode, a: i32, b: i32) -> Result<i32, Fault> {
    let mut p = Vec::new();
    p.extend(push_i(a));
    p.extend(push_i(b));
    p.push(i(op, 0, 0));
    p.push(halt());
    let (vm, _, r) = run(&p);
    r.map(|e| {
        assert_eq!(e, Exit::Halted);
        assert_eq!(vm.stack().len(), 1);
        vm.stack()[0]
    })
}

fn fault_of(insns: &[Instruction]) -> Fault {
    let (vm, _, r) = run(insns);
    let f = r.expect_err("expected a fault");
    assert_eq!(vm.fault(), Some(f));
    assert!(vm.is_stopped());
    f
}

#[test]
fn vm_state_is_small_and_fixed_size() {
    assert!(
        core::mem::size_of::<Vm>() <= 8192,
        "{}",
        core::mem::size_of::<Vm>()
    );
}

#[test]
fn push_zero_extends_sign_extends_and_builds_high_halves() {
    let (vm, _, r) = run(&[
        push(0xFFFF),
        i(Push, PUSH_SIGNED, 0xFFFF),
        i(Push, PUSH_SIGNED, 0x7FFF),
        push(0x5678),
        i(Push, PUSH_HIGH, 0x1234),
        push(0xFFFF),
        i(Push, PUSH_HIGH | PUSH_SIGNED, 0x8000),
        halt(),
    ]);
    assert_eq!(r, Ok(Exit::Halted));
    assert_eq!(
        vm.stack(),
        &[65535, -1, 32767, 0x1234_5678, 0x8000_FFFFu32 as i32]
    );
}

#[test]
fn push_high_needs_an_operand() {
    let f = fault_of(&[i(Push, PUSH_HIGH, 1)]);
    assert_eq!(
        (f.error, f.pc, f.opcode),
        (VmError::StackUnderflow, 0, 0x01)
    );
}

#[test]
fn pop_discards_and_underflows() {
    let (vm, _, r) = run(&[push(1), push(2), i(Pop, 0, 0), halt()]);
    assert_eq!(r, Ok(Exit::Halted));
    assert_eq!(vm.stack(), &[1]);
    let f = fault_of(&[i(Pop, 0, 0)]);
    assert_eq!(f.error, VmError::StackUnderflow);
}

#[test]
fn arithmetic_wraps() {
    assert_eq!(binary(Add, i32::MAX, 1), Ok(i32::MIN));
    assert_eq!(binary(Sub, i32::MIN, 1), Ok(i32::MAX));
    assert_eq!(binary(Sub, 5, 10), Ok(-5));
    assert_eq!(binary(Mul, 200, 300), Ok(60000));
    assert_eq!(binary(Mul, 0x10000, 0x10000), Ok(0));
}

#[test]
fn signed_division_truncates_and_wraps() {
    assert_eq!(binary(Div, -7, 2), Ok(-3));
    assert_eq!(binary(Mod, -7, 2), Ok(-1));
    assert_eq!(binary(Div, 84, 7), Ok(12));
    assert_eq!(binary(Mod, 17, 5), Ok(2));
    assert_eq!(binary(Div, i32::MIN, -1), Ok(i32::MIN));
    assert_eq!(binary(Mod, i32::MIN, -1), Ok(0));
}

#[test]
fn unsigned_division() {
    assert_eq!(binary(DivU, -2, 2), Ok(0x7FFF_FFFF));
    assert_eq!(binary(ModU, -1, 10), Ok(5)); // 4294967295 % 10
    assert_eq!(binary(DivU, 7, 2), Ok(3));
}

#[test]
fn division_by_zero_faults_for_all_four() {
    for op in [Div, Mod, DivU, ModU] {
        let f = binary(op, 1, 0).unwrap_err();
        assert_eq!(f.error, VmError::DivisionByZero, "{op:?}");
        assert_eq!(f.pc, 4);
        assert_eq!(f.opcode, op as u8);
    }
}

#[test]
fn binary_ops_underflow_with_one_operand() {
    for op in [
        Add, Sub, Mul, Div, Mod, DivU, ModU, Eq, Ne, Lt, Gt, Le, Ge, EqS, NeS, LtS, GtS, LeS, GeS,
        And, Or, BitAnd, BitOr, BitXor, Shl, Shr, ShrU,
    ] {
        let f = fault_of(&[push(1), i(op, 0, 0), halt()]);
        assert_eq!(
            (f.error, f.pc, f.opcode),
            (VmError::StackUnderflow, 1, op as u8)
        );
    }
    for op in [Not, BitNot] {
        let f = fault_of(&[i(op, 0, 0)]);
        assert_eq!(f.error, VmError::StackUnderflow);
    }
}

#[test]
fn unsigned_comparisons() {
    assert_eq!(binary(Eq, 3, 3), Ok(1));
    assert_eq!(binary(Eq, 3, 4), Ok(0));
    assert_eq!(binary(Ne, 3, 4), Ok(1));
    assert_eq!(binary(Ne, -1, -1), Ok(0));
    assert_eq!(binary(Lt, -1, 1), Ok(0)); // 0xFFFFFFFF < 1 unsigned: false
    assert_eq!(binary(Lt, 1, -1), Ok(1));
    assert_eq!(binary(Gt, -1, 1), Ok(1));
    assert_eq!(binary(Le, 2, 2), Ok(1));
    assert_eq!(binary(Le, -2, 2), Ok(0));
    assert_eq!(binary(Ge, 2, 3), Ok(0));
    assert_eq!(binary(Ge, -2, 3), Ok(1));
}

#[test]
fn signed_comparisons() {
    assert_eq!(binary(EqS, -5, -5), Ok(1));
    assert_eq!(binary(NeS, -5, -5), Ok(0));
    assert_eq!(binary(LtS, -1, 1), Ok(1));
    assert_eq!(binary(LtS, 1, -1), Ok(0));
    assert_eq!(binary(GtS, 1, -1), Ok(1));
    assert_eq!(binary(GtS, -1, -1), Ok(0));
    assert_eq!(binary(LeS, -1, -1), Ok(1));
    assert_eq!(binary(LeS, 0, -1), Ok(0));
    assert_eq!(binary(GeS, -1, 0), Ok(0));
    assert_eq!(binary(GeS, 0, -1), Ok(1));
}

#[test]
fn logical_ops() {
    assert_eq!(binary(And, 5, -3), Ok(1));
    assert_eq!(binary(And, 5, 0), Ok(0));
    assert_eq!(binary(Or, 0, 7), Ok(1));
    assert_eq!(binary(Or, 0, 0), Ok(0));
    let (vm, _, _) = run(&[push(0), i(Not, 0, 0), push(9), i(Not, 0, 0), halt()]);
    assert_eq!(vm.stack(), &[1, 0]);
}

#[test]
fn bitwise_ops_and_shifts() {
    assert_eq!(binary(BitAnd, 0b1100, 0b1010), Ok(0b1000));
    assert_eq!(binary(BitOr, 0b1100, 0b1010), Ok(0b1110));
    assert_eq!(binary(BitXor, 0b1100, 0b1010), Ok(0b0110));
    assert_eq!(binary(Shl, 1, 31), Ok(i32::MIN));
    assert_eq!(binary(Shl, 1, 33), Ok(2)); // count masked to 0..31
    assert_eq!(binary(Shr, -16, 2), Ok(-4)); // arithmetic
    assert_eq!(binary(Shr, -1, 63), Ok(-1));
    assert_eq!(binary(ShrU, -16, 28), Ok(0xF));
    assert_eq!(binary(ShrU, -1, 32), Ok(-1)); // 32 & 31 = 0
    let (vm, _, _) = run(&[push(0), i(BitNot, 0, 0), halt()]);
    assert_eq!(vm.stack(), &[-1]);
}

#[test]
fn jumps_are_absolute_and_validated() {
    // JMP over a PUSH 1.
    let (vm, _, r) = run(&[i(Jmp, 0, 2), push(1), push(2), halt()]);
    assert_eq!(r, Ok(Exit::Halted));
    assert_eq!(vm.stack(), &[2]);
    // JMP_TRUE taken / not taken, JMP_FALSE taken / not taken.
    let (vm, _, _) = run(&[push(1), i(JmpTrue, 0, 3), push(7), push(8), halt()]);
    assert_eq!(vm.stack(), &[8]);
    let (vm, _, _) = run(&[push(0), i(JmpTrue, 0, 3), push(7), push(8), halt()]);
    assert_eq!(vm.stack(), &[7, 8]);
    let (vm, _, _) = run(&[push(0), i(JmpFalse, 0, 3), push(7), push(8), halt()]);
    assert_eq!(vm.stack(), &[8]);
    let (vm, _, _) = run(&[push(5), i(JmpFalse, 0, 3), push(7), push(8), halt()]);
    assert_eq!(vm.stack(), &[7, 8]);
    // Invalid targets.
    for insns in [
        vec![i(Jmp, 0, 2), halt()],
        vec![push(1), i(JmpTrue, 0, 9), halt()],
        vec![push(0), i(JmpFalse, 0, 3), halt()],
    ] {
        let f = fault_of(&insns);
        assert_eq!(f.error, VmError::InvalidJump);
        assert_eq!(f.opcode, insns[f.pc as usize].opcode);
    }
    // An untaken jump to a bad target is fine.
    let (_, _, r) = run(&[push(0), i(JmpTrue, 0, 999), halt()]);
    assert_eq!(r, Ok(Exit::Halted));
    // Conditional jumps underflow.
    assert_eq!(fault_of(&[i(JmpTrue, 0, 0)]).error, VmError::StackUnderflow);
    assert_eq!(
        fault_of(&[i(JmpFalse, 0, 0)]).error,
        VmError::StackUnderflow
    );
}

#[test]
fn running_past_the_end_fails() {
    let f = fault_of(&[push(1)]);
    assert_eq!((f.error, f.pc, f.opcode), (VmError::ExecutionFailed, 1, 0));
}

#[test]
fn undefined_opcodes_fault() {
    for op in [0x0C, 0x15, 0x1B, 0x2C, 0x33, 0x43, 0x57, 0x67, 0xFF] {
        let insn = Instruction {
            opcode: op,
            flags: 0,
            imm: 0,
        };
        let f = fault_of(&[push(1), insn]);
        assert_eq!((f.error, f.pc, f.opcode), (VmError::InvalidOpcode, 1, op));
    }
}

#[test]
fn call_ret_with_frames_arguments_and_return_values() {
    // main: push 10, push 32, CALL add(2) -> 42; store global 0; halt
    // add: LOAD_LOCAL 0 + LOAD_LOCAL 1; RET value
    let (vm, _, r) = run(&[
        push(99), // stays below the frame
        push(10),
        push(32),
        i(Call, 2, 6),
        i(StoreGlobal, 0, 0),
        halt(),
        i(LoadLocal, 0, 0),
        i(LoadLocal, 0, 1),
        i(Add, 0, 0),
        i(Ret, RET_VALUE, 0),
    ]);
    assert_eq!(r, Ok(Exit::Halted));
    assert_eq!(vm.globals()[0], 42);
    assert_eq!(vm.stack(), &[99]);
    assert_eq!(vm.call_depth(), 0);
}

#[test]
fn ret_without_value_drops_the_frame() {
    let (vm, _, r) = run(&[
        push(1),
        i(Call, 1, 3),
        halt(),
        push(5),
        push(6),
        i(Ret, 0, 0),
    ]);
    assert_eq!(r, Ok(Exit::Halted));
    assert!(vm.stack().is_empty());
}

#[test]
fn ret_at_top_level_halts_normally() {
    let (vm, _, r) = run(&[push(7), i(Ret, RET_VALUE, 0), push(1)]);
    assert_eq!(r, Ok(Exit::Halted));
    assert_eq!(vm.stack(), &[7]);
    assert_eq!(vm.pc(), 1);
    let (_, _, r) = run(&[i(Ret, 0, 0)]);
    assert_eq!(r, Ok(Exit::Halted));
}

#[test]
fn ret_value_with_empty_frame_underflows() {
    let f = fault_of(&[i(Call, 0, 2), halt(), i(Ret, RET_VALUE, 0)]);
    assert_eq!((f.error, f.pc), (VmError::StackUnderflow, 2));
}

#[test]
fn callee_cannot_pop_below_its_frame() {
    // The caller's value 5 is below the callee's frame (argc 0).
    let f = fault_of(&[push(5), i(Call, 0, 3), halt(), i(Pop, 0, 0), i(Ret, 0, 0)]);
    assert_eq!((f.error, f.pc), (VmError::StackUnderflow, 3));
    let f = fault_of(&[push(5), i(Call, 0, 3), halt(), push(1), i(Add, 0, 0)]);
    assert_eq!((f.error, f.pc), (VmError::StackUnderflow, 4));
}

#[test]
fn call_errors() {
    // argc larger than the stack.
    let f = fault_of(&[push(1), i(Call, 2, 0)]);
    assert_eq!(
        (f.error, f.pc, f.opcode),
        (VmError::StackUnderflow, 1, 0x08)
    );
    // bad target
    let f = fault_of(&[i(Call, 0, 5), halt()]);
    assert_eq!(f.error, VmError::InvalidJump);
    // infinite recursion: depth over CALL_DEPTH
    let (vm, _, r) = run(&[i(Call, 0, 0)]);
    let f = r.unwrap_err();
    assert_eq!(f.error, VmError::StackOverflow);
    assert_eq!(vm.call_depth(), CALL_DEPTH);
}

#[test]
fn locals_address_the_frame() {
    // top level: frame base 0
    let (vm, _, r) = run(&[
        push(1),
        push(2),
        i(LoadLocal, 0, 0),
        push(9),
        i(StoreLocal, 0, 1),
        halt(),
    ]);
    assert_eq!(r, Ok(Exit::Halted));
    assert_eq!(vm.stack(), &[1, 9, 1]);
    // slot must exist below sp
    let f = fault_of(&[push(1), i(LoadLocal, 0, 1)]);
    assert_eq!((f.error, f.pc), (VmError::MemoryBounds, 1));
    let f = fault_of(&[push(1), push(2), i(StoreLocal, 0, 1)]);
    assert_eq!(f.error, VmError::MemoryBounds); // after popping 2, slot 1 is gone
    let f = fault_of(&[i(StoreLocal, 0, 0)]);
    assert_eq!(f.error, VmError::StackUnderflow);
    // in a callee, slot 0 is the first argument, not the caller's bottom
    let (vm, _, _) = run(&[
        push(100),
        push(7),
        i(Call, 1, 4),
        halt(),
        i(LoadLocal, 0, 0),
        i(Ret, RET_VALUE, 0),
    ]);
    assert_eq!(vm.stack(), &[100, 7]);
}

#[test]
fn globals_load_store_and_bounds() {
    let (vm, _, r) = run(&[
        push(5),
        i(StoreGlobal, 0, 63),
        i(LoadGlobal, 0, 63),
        i(LoadGlobal, 0, 1),
        halt(),
    ]);
    assert_eq!(r, Ok(Exit::Halted));
    assert_eq!(vm.stack(), &[5, 0]);
    assert_eq!(vm.globals()[63], 5);
    assert_eq!(
        fault_of(&[i(LoadGlobal, 0, GLOBALS as u16)]).error,
        VmError::MemoryBounds
    );
    assert_eq!(
        fault_of(&[push(1), i(StoreGlobal, 0, 64)]).error,
        VmError::MemoryBounds
    );
    assert_eq!(
        fault_of(&[i(StoreGlobal, 0, 0)]).error,
        VmError::StackUnderflow
    );
}

#[test]
fn arrays_create_load_store() {
    let (vm, _, r) = run(&[
        push(3),
        i(CreateArray, 0, 15),
        push(42), // value
        push(2),  // index
        i(StoreArray, 0, 15),
        push(2),
        i(LoadArray, 0, 15),
        push(0),
        i(LoadArray, 0, 15),
        halt(),
    ]);
    assert_eq!(r, Ok(Exit::Halted));
    assert_eq!(vm.stack(), &[42, 0]);
    assert_eq!(vm.array(15), Some(&[0, 0, 42][..]));
    assert_eq!(vm.array(0), None);
    assert_eq!(vm.array(ARRAYS), None);
}

#[test]
fn array_errors() {
    let create = |size: u16, id: u16| [push(size), i(CreateArray, 0, id)];
    // size 0, size 65, id 16, created twice
    assert_eq!(fault_of(&create(0, 0)).error, VmError::MemoryBounds);
    assert_eq!(
        fault_of(&create(ARRAY_LEN as u16 + 1, 0)).error,
        VmError::MemoryBounds
    );
    assert_eq!(
        fault_of(&create(1, ARRAYS as u16)).error,
        VmError::MemoryBounds
    );
    let mut twice = create(1, 0).to_vec();
    twice.extend(create(1, 0));
    let f = fault_of(&twice);
    assert_eq!((f.error, f.pc), (VmError::MemoryBounds, 3));
    // negative size
    assert_eq!(
        fault_of(&[i(Push, PUSH_SIGNED, 0xFFFF), i(CreateArray, 0, 0)]).error,
        VmError::MemoryBounds
    );
    // index out of range, negative, array not created
    let mut p = create(4, 1).to_vec();
    p.extend([push(4), i(LoadArray, 0, 1)]);
    assert_eq!(fault_of(&p).error, VmError::MemoryBounds);
    let mut p = create(4, 1).to_vec();
    p.extend([push(1), i(Push, PUSH_SIGNED, 0xFFFF), i(StoreArray, 0, 1)]);
    assert_eq!(fault_of(&p).error, VmError::MemoryBounds);
    assert_eq!(
        fault_of(&[push(0), i(LoadArray, 0, 2)]).error,
        VmError::MemoryBounds
    );
    assert_eq!(
        fault_of(&[push(0), push(0), i(StoreArray, 0, 99)]).error,
        VmError::MemoryBounds
    );
    // underflows
    assert_eq!(
        fault_of(&[i(CreateArray, 0, 0)]).error,
        VmError::StackUnderflow
    );
    assert_eq!(
        fault_of(&[i(LoadArray, 0, 0)]).error,
        VmError::StackUnderflow
    );
    assert_eq!(
        fault_of(&[push(0), i(StoreArray, 0, 0)]).error,
        VmError::StackUnderflow
    );
}

#[test]
fn operand_stack_overflows_at_capacity() {
    let mut p = vec![push(1); STACK_SIZE];
    p.push(halt());
    let (vm, _, r) = run(&p);
    assert_eq!(r, Ok(Exit::Halted));
    assert_eq!(vm.stack().len(), STACK_SIZE);
    let mut p = vec![push(1); STACK_SIZE + 1];
    p.push(halt());
    let f = fault_of(&p);
    assert_eq!((f.error, f.pc), (VmError::StackOverflow, STACK_SIZE as u32));
}

#[test]
fn hal_calls_reach_the_host_with_time() {
    let (_, host, r) = run(&[
        push(13),
        push(1),
        i(PinMode, 0, 0),
        push(13),
        push(1),
        i(DigitalWrite, 0, 0),
        push(500),
        i(Delay, 0, 0),
        push(13),
        push(0),
        i(DigitalWrite, 0, 0),
        push(3),
        push(200),
        i(AnalogWrite, 0, 0),
        halt(),
    ]);
    assert_eq!(r, Ok(Exit::Halted));
    assert_eq!(host.pin_modes.get(&13), Some(&1));
    assert_eq!(host.digital_writes.len(), 2);
    assert_eq!(
        (host.digital_writes[0].pin, host.digital_writes[0].value),
        (13, 1)
    );
    assert_eq!(host.digital_writes[0].at_ms, 0);
    assert_eq!(host.digital_writes[1].value, 0);
    assert_eq!(host.digital_writes[1].at_ms, 500);
    assert_eq!(host.analog_writes[0].pin, 3);
    assert_eq!(host.analog_writes[0].value, 200);
}

#[test]
fn reads_push_host_values() {
    let mut host = TestHost::new();
    host.digital_inputs.insert(16, 7);
    host.analog_inputs.insert(2, 4095);
    let (vm, _, r) = run_with(
        &[
            push(16),
            i(DigitalRead, 0, 0),
            push(15),
            i(DigitalRead, 0, 0),
            push(2),
            i(AnalogRead, 0, 0),
            halt(),
        ],
        &[],
        host,
    );
    assert_eq!(r, Ok(Exit::Halted));
    assert_eq!(vm.stack(), &[1, 0, 4095]);
}

#[test]
fn millis_and_micros_follow_the_virtual_clock() {
    let (vm, host, r) = run(&[
        push(1500),
        i(Delay, 0, 0),
        i(Millis, 0, 0),
        i(Micros, 0, 0),
        halt(),
    ]);
    assert_eq!(r, Ok(Exit::Halted));
    assert_eq!(vm.stack()[0], 1500);
    // 1.5 s of delay plus a few cycles at 170 MHz (less than 1 µs)
    assert_eq!(vm.stack()[1], 1_500_000);
    assert_eq!(host.cycles, vm.cycles());
}

#[test]
fn hal_errors_map_to_vm_errors() {
    let cases: [(&[Instruction], VmError); 9] = [
        (
            &[push(17), push(1), i(PinMode, 0, 0)],
            VmError::InvalidArgument,
        ),
        (
            &[push(1), push(4), i(PinMode, 0, 0)],
            VmError::InvalidArgument,
        ),
        (
            &[push(99), push(1), i(DigitalWrite, 0, 0)],
            VmError::InvalidArgument,
        ),
        (&[push(99), i(DigitalRead, 0, 0)], VmError::InvalidArgument),
        (
            &[push(1), push(256), i(AnalogWrite, 0, 0)],
            VmError::InvalidArgument,
        ),
        (&[push(99), i(AnalogRead, 0, 0)], VmError::InvalidArgument),
        (
            &[i(Push, PUSH_SIGNED, 0xFFFF), i(Delay, 0, 0)],
            VmError::InvalidArgument,
        ),
        (&[push(1), i(PinMode, 0, 0)], VmError::StackUnderflow),
        (&[i(Delay, 0, 0)], VmError::StackUnderflow),
    ];
    for (insns, error) in cases {
        let f = fault_of(insns);
        assert_eq!(f.error, error, "{insns:?}");
        assert_eq!(f.pc as usize, insns.len() - 1);
    }
    for op in [DigitalWrite, AnalogWrite] {
        assert_eq!(
            fault_of(&[push(1), i(op, 0, 0)]).error,
            VmError::StackUnderflow
        );
    }
    for op in [DigitalRead, AnalogRead] {
        assert_eq!(fault_of(&[i(op, 0, 0)]).error, VmError::StackUnderflow);
    }
}

#[test]
fn delay_past_the_virtual_deadline_is_budget_exceeded() {
    let mut host = TestHost::new();
    host.deadline_ms = Some(1000);
    let (_, host, r) = run_with(
        &[push(600), i(Delay, 0, 0), push(600), i(Delay, 0, 0), halt()],
        &[],
        host,
    );
    let f = r.unwrap_err();
    assert_eq!((f.error, f.pc), (VmError::BudgetExceeded, 3));
    assert_eq!(host.now_ms(), 1000);
}

#[test]
fn stack_overflow_on_hal_push() {
    let mut p = vec![push(1); STACK_SIZE];
    p.push(i(Millis, 0, 0));
    assert_eq!(fault_of(&p).error, VmError::StackOverflow);
}

fn printf(strings: &[&[u8]], args: &[i32], fmt_id: u16) -> (TestHost, Result<Exit, Fault>) {
    let mut p = Vec::new();
    for a in args {
        p.extend(push_i(*a));
    }
    p.extend(push_i(args.len() as i32));
    p.push(i(Printf, 0, fmt_id));
    p.push(halt());
    let (vm, host, r) = run_with(&p, strings, TestHost::new());
    if r.is_ok() {
        assert!(vm.stack().is_empty(), "printf pops argc and the arguments");
    }
    (host, r)
}

#[test]
fn printf_conversions() {
    let (host, r) = printf(
        &[b"d=%d i=%i u=%u x=%x X=%X c=%c s=%s %%\n", b"str"],
        &[-42, 7, -1, 255, 0xABCD, b'Z' as i32, 1],
        0,
    );
    assert_eq!(r, Ok(Exit::Halted));
    assert_eq!(
        host.console_text(),
        "d=-42 i=7 u=4294967295 x=ff X=ABCD c=Z s=str %\n"
    );
    let (host, _) = printf(&[b"%d %d %x"], &[i32::MIN, 0, i32::MIN], 0);
    assert_eq!(host.console_text(), "-2147483648 0 80000000");
    let (host, _) = printf(&[b"Hello World"], &[], 0);
    assert_eq!(host.console, b"Hello World");
    let (host, _) = printf(&[b""], &[], 0);
    assert!(host.console.is_empty());
}

#[test]
fn printf_keeps_backslashes_literal() {
    let (host, _) = printf(&[b"a\\nb"], &[], 0);
    assert_eq!(host.console, b"a\\nb");
}

/// (strings, arguments, format id, expected error)
type PrintfCase<'a> = (&'a [&'a [u8]], &'a [i32], u16, VmError);

#[test]
fn printf_errors_produce_no_output() {
    let cases: [PrintfCase; 8] = [
        (&[b"ok %d"], &[], 0, VmError::PrintfError), // missing argument
        (&[b"ok %d"], &[1, 2], 0, VmError::PrintfError), // unused argument
        (&[b"ok %q"], &[1], 0, VmError::PrintfError), // unknown conversion
        (&[b"ok %"], &[], 0, VmError::PrintfError),  // dangling %
        (&[b"ok %s"], &[5], 0, VmError::UnknownString), // %s with unknown id
        (&[b"ok %s"], &[-1], 0, VmError::UnknownString), // %s with negative id
        (&[b"ok"], &[], 1, VmError::UnknownString),  // unknown format id
        (&[b"ok %d %d"], &[1, 2, 3], 0, VmError::PrintfError), // extra
    ];
    for (strings, args, id, error) in cases {
        let (host, r) = printf(strings, args, id);
        assert_eq!(r.unwrap_err().error, error, "{strings:?} {args:?}");
        assert!(host.console.is_empty(), "{strings:?}");
    }
    // argc out of range and not enough stack for the arguments
    let (_, _, r) = run_with(&[push(17), i(Printf, 0, 0)], &[b"x"], TestHost::new());
    assert_eq!(r.unwrap_err().error, VmError::PrintfError);
    let (_, _, r) = run_with(
        &[i(Push, PUSH_SIGNED, 0xFFFF), i(Printf, 0, 0)],
        &[b"x"],
        TestHost::new(),
    );
    assert_eq!(r.unwrap_err().error, VmError::PrintfError);
    let (_, _, r) = run_with(&[push(2), i(Printf, 0, 0)], &[b"%d%d"], TestHost::new());
    assert_eq!(r.unwrap_err().error, VmError::StackUnderflow);
    let (_, _, r) = run_with(&[i(Printf, 0, 0)], &[b"x"], TestHost::new());
    assert_eq!(r.unwrap_err().error, VmError::StackUnderflow);
}

#[test]
fn printf_accepts_sixteen_arguments() {
    let args: Vec<i32> = (0..16).collect();
    let (host, r) = printf(&[b"%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d"], &args, 0);
    assert_eq!(r, Ok(Exit::Halted));
    assert_eq!(host.console_text(), "0123456789101112131415");
}

#[test]
fn budget_yields_and_resumes() {
    let p = [
        i(LoadGlobal, 0, 0),
        push(1),
        i(Add, 0, 0),
        i(StoreGlobal, 0, 0),
        i(Jmp, 0, 0),
    ];
    let bytes = code(&p);
    let program = Program::from_code(&bytes).unwrap();
    let mut vm = Vm::new();
    let mut host = TestHost::new();
    assert_eq!(vm.run(&program, &mut host, 10), Ok(Exit::Yielded));
    assert_eq!(vm.instructions(), 10);
    assert_eq!(vm.globals()[0], 2);
    assert_eq!(vm.pc(), 0);
    assert_eq!(vm.run(&program, &mut host, 0), Ok(Exit::Yielded));
    assert_eq!(vm.instructions(), 10);
    assert_eq!(vm.run(&program, &mut host, 12), Ok(Exit::Yielded));
    assert_eq!(vm.globals()[0], 4);
    assert_eq!(vm.pc(), 2);
    assert!(!vm.is_stopped());
    // The caller's budget runs out: stop_with records a fault at the current pc and opcode.
    let f = vm.stop_with(VmError::BudgetExceeded);
    assert_eq!(
        f,
        Fault {
            error: VmError::BudgetExceeded,
            pc: 2,
            opcode: Add as u8
        }
    );
    assert_eq!(vm.run(&program, &mut host, 100), Err(f));
    assert_eq!(vm.instructions(), 22);
    // The first fault is kept.
    assert_eq!(vm.stop_with(VmError::HardwareFault), f);
    vm.reset();
    assert!(!vm.is_stopped());
    assert_eq!((vm.pc(), vm.instructions(), vm.cycles()), (0, 0, 0));
    assert_eq!(vm.globals()[0], 0);
}

#[test]
fn after_halt_or_fault_run_repeats_the_result_without_executing() {
    let bytes = code(&[push(1), halt()]);
    let program = Program::from_code(&bytes).unwrap();
    let mut vm = Vm::new();
    let mut host = TestHost::new();
    assert_eq!(vm.run(&program, &mut host, 100), Ok(Exit::Halted));
    assert_eq!(vm.run(&program, &mut host, 100), Ok(Exit::Halted));
    assert_eq!(vm.instructions(), 2);
    assert_eq!(vm.stack(), &[1]);

    let bytes = code(&[push(1), i(Pop, 0, 0), i(Pop, 0, 0)]);
    let program = Program::from_code(&bytes).unwrap();
    let mut vm = Vm::new();
    let f = vm.run(&program, &mut host, 100).unwrap_err();
    assert_eq!(vm.run(&program, &mut host, 100), Err(f));
    assert_eq!(vm.instructions(), 3);
}

#[test]
fn cycles_follow_the_table_and_are_synced() {
    let p = [push(1), push(2), i(Add, 0, 0), i(Millis, 0, 0), halt()];
    let (vm, host, _) = run(&p);
    let expected: u64 = p.iter().map(|i| CYCLE_COST[i.opcode as usize] as u64).sum();
    assert_eq!(vm.cycles(), expected);
    assert_eq!(host.cycles, expected);
    assert_eq!(host.sync_calls, 2); // before MILLIS and before returning
}

#[test]
fn conc_images_divide_delay_by_17000() {
    // delay(500) as the original compiler emitted it: 500 * 16960 = 8_480_000 -> 498 ms.
    let v: i32 = 500 * 16960;
    let p = [
        i(Push, 0, (v & 0xFFFF) as u16),
        i(Push, PUSH_HIGH, (v >> 16) as u16),
        i(Delay, 0, 0),
        push(1),
        i(DigitalRead, 0, 0),
        i(Pop, 0, 0),
        push(0),
        i(Printf, 0, 0),
        halt(),
    ];
    let image = conc_image(&p, &[b"done\\n"]);
    let program = Program::parse(&image).unwrap();
    let mut vm = Vm::new();
    let mut host = TestHost::new();
    assert_eq!(vm.run(&program, &mut host, 1000), Ok(Exit::Halted));
    assert_eq!(host.delay_us, 498_000);
    assert_eq!(host.console, b"done\\n");
}
