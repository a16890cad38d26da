//! Hand-assembled benchmark programs, shared by `benches/engine.rs` and `tests/bench_programs.rs` (via `#[path]`).
#![allow(dead_code)]

use cockpit_vm::isa::Opcode::{self, *};
use cockpit_vm::isa::{Instruction, PUSH_SIGNED, RET_VALUE};

/// One assembler item: an instruction with a literal or label immediate, or a label.
pub enum Item {
    Op(Opcode, u8, u16),
    To(Opcode, u8, &'static str),
    Label(&'static str),
}
use Item::*;

/// Resolves labels and encodes.
pub fn asm(items: &[Item]) -> Vec<u8> {
    let mut labels = std::collections::HashMap::new();
    let mut n = 0u16;
    for item in items {
        match item {
            Label(l) => {
                labels.insert(*l, n);
            }
            _ => n += 1,
        }
    }
    let mut out = Vec::new();
    for item in items {
        let insn = match item {
            Label(_) => continue,
            Op(op, f, imm) => Instruction::new(*op, *f, *imm),
            To(op, f, l) => Instruction::new(*op, *f, labels[l]),
        };
        out.extend_from_slice(&insn.encode());
    }
    out
}

/// `LOAD_GLOBAL 0; PUSH 1; ADD; STORE_GLOBAL 0; JMP 0` — runs forever.
pub fn global_increment() -> Vec<u8> {
    asm(&[
        Label("top"),
        Op(LoadGlobal, 0, 0),
        Op(Push, 0, 1),
        Op(Add, 0, 0),
        Op(StoreGlobal, 0, 0),
        To(Jmp, 0, "top"),
    ])
}

/// fib(n) recursive through CALL/RET frames; result in global 0, then HALT.
pub fn fib(n: u16) -> Vec<u8> {
    asm(&[
        Op(Push, 0, n),
        To(Call, 1, "fib"),
        Op(StoreGlobal, 0, 0),
        Op(Halt, 0, 0),
        Label("fib"),
        Op(LoadLocal, 0, 0),
        Op(Push, 0, 2),
        Op(LtS, 0, 0),
        To(JmpFalse, 0, "rec"),
        Op(LoadLocal, 0, 0),
        Op(Ret, RET_VALUE, 0),
        Label("rec"),
        Op(LoadLocal, 0, 0),
        Op(Push, 0, 1),
        Op(Sub, 0, 0),
        To(Call, 1, "fib"),
        Op(LoadLocal, 0, 0),
        Op(Push, 0, 2),
        Op(Sub, 0, 0),
        To(Call, 1, "fib"),
        Op(Add, 0, 0),
        Op(Ret, RET_VALUE, 0),
    ])
}

/// Sieve of Eratosthenes for primes < 64 in array 0 (64 words), repeated forever.
/// After each pass: global 1 = number of primes found (18), global 2 = passes completed.
/// Globals: 0 = i, 1 = count, 2 = passes, 3 = k/j.
pub fn sieve() -> Vec<u8> {
    asm(&[
        Op(Push, 0, 64),
        Op(CreateArray, 0, 0),
        Label("pass"),
        // clear: for k in 0..64 { a[k] = 0 }
        Op(Push, 0, 0),
        Op(StoreGlobal, 0, 3),
        Label("clear"),
        Op(LoadGlobal, 0, 3),
        Op(Push, 0, 64),
        Op(LtS, 0, 0),
        To(JmpFalse, 0, "cleared"),
        Op(Push, 0, 0),
        Op(LoadGlobal, 0, 3),
        Op(StoreArray, 0, 0),
        Op(LoadGlobal, 0, 3),
        Op(Push, 0, 1),
        Op(Add, 0, 0),
        Op(StoreGlobal, 0, 3),
        To(Jmp, 0, "clear"),
        Label("cleared"),
        Op(Push, 0, 0),
        Op(StoreGlobal, 0, 1),
        Op(Push, 0, 2),
        Op(StoreGlobal, 0, 0),
        Label("outer"),
        Op(LoadGlobal, 0, 0),
        Op(Push, 0, 64),
        Op(LtS, 0, 0),
        To(JmpFalse, 0, "done"),
        Op(LoadGlobal, 0, 0),
        Op(LoadArray, 0, 0),
        To(JmpTrue, 0, "next"),
        // prime: count += 1; j = i * i
        Op(LoadGlobal, 0, 1),
        Op(Push, 0, 1),
        Op(Add, 0, 0),
        Op(StoreGlobal, 0, 1),
        Op(LoadGlobal, 0, 0),
        Op(LoadGlobal, 0, 0),
        Op(Mul, 0, 0),
        Op(StoreGlobal, 0, 3),
        Label("inner"),
        Op(LoadGlobal, 0, 3),
        Op(Push, 0, 64),
        Op(LtS, 0, 0),
        To(JmpFalse, 0, "next"),
        Op(Push, 0, 1),
        Op(LoadGlobal, 0, 3),
        Op(StoreArray, 0, 0),
        Op(LoadGlobal, 0, 3),
        Op(LoadGlobal, 0, 0),
        Op(Add, 0, 0),
        Op(StoreGlobal, 0, 3),
        To(Jmp, 0, "inner"),
        Label("next"),
        Op(LoadGlobal, 0, 0),
        Op(Push, 0, 1),
        Op(Add, 0, 0),
        Op(StoreGlobal, 0, 0),
        To(Jmp, 0, "outer"),
        Label("done"),
        Op(LoadGlobal, 0, 2),
        Op(Push, PUSH_SIGNED, 0xFFFF), // -1
        Op(Sub, 0, 0),
        Op(StoreGlobal, 0, 2),
        To(Jmp, 0, "pass"),
    ])
}
