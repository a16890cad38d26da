//! Shared helpers for the integration tests (included with `mod common;`).
#![allow(dead_code)]

use cockpit_vm::isa::{Instruction, Opcode};
use cockpit_vm::testing::TestHost;
use cockpit_vm::{CvbcWriter, Exit, Fault, Program, Vm};

/// Shorthand instruction constructor.
pub fn i(op: Opcode, flags: u8, imm: u16) -> Instruction {
    Instruction::new(op, flags, imm)
}

/// Encodes instructions as raw code bytes.
pub fn code(insns: &[Instruction]) -> Vec<u8> {
    insns.iter().flat_map(|i| i.encode()).collect()
}

/// Builds a CVBC image with the given code and strings.
pub fn image(insns: &[Instruction], strings: &[&[u8]]) -> Vec<u8> {
    CvbcWriter {
        code: insns.to_vec(),
        strings: strings.iter().map(|s| s.to_vec()).collect(),
        name: "test".into(),
        compiler_version: "hand".into(),
        ..Default::default()
    }
    .to_bytes()
}

/// Runs a CVBC program (code + strings) to completion with a budget; returns vm, host, result.
pub fn run_with(
    insns: &[Instruction],
    strings: &[&[u8]],
    host: TestHost,
) -> (Vm, TestHost, Result<Exit, Fault>) {
    let bytes = image(insns, strings);
    let program = Program::parse(&bytes).expect("valid image");
    let mut vm = Vm::new();
    let mut host = host;
    let r = vm.run(&program, &mut host, 1_000_000);
    (vm, host, r)
}

/// Runs raw code without strings.
pub fn run(insns: &[Instruction]) -> (Vm, TestHost, Result<Exit, Fault>) {
    run_with(insns, &[], TestHost::new())
}
