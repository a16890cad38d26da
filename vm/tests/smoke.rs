mod common;
use cockpit_vm::Exit;
use cockpit_vm::isa::Opcode::*;
use common::*;

#[test]
fn add_and_halt() {
    let (vm, _, r) = run(&[i(Push, 0, 2), i(Push, 0, 3), i(Add, 0, 0), i(Halt, 0, 0)]);
    assert_eq!(r, Ok(Exit::Halted));
    assert_eq!(vm.stack(), &[5]);
    assert_eq!(vm.instructions(), 4);
}

#[test]
fn printf_hello() {
    let (_, host, r) = run_with(
        &[i(Push, 0, 42), i(Push, 0, 1), i(Printf, 0, 0), i(Halt, 0, 0)],
        &[b"x=%d\n"],
        Default::default(),
    );
    assert_eq!(r, Ok(Exit::Halted));
    assert_eq!(host.console, b"x=42\n");
}
