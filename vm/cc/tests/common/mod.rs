//! Shared helpers for the compiler's integration tests: compile, run on the VM engine with a
//! `TestHost`, and inspect the result.
#![allow(dead_code)]

use cockpit_cc::{Compiled, Diagnostics, compile};
use cockpit_vm::testing::TestHost;
use cockpit_vm::{Exit, Fault, Program, Vm};

/// Instruction budget used by [`run`] when none is given.
pub const BUDGET: u64 = 2_000_000;

/// The outcome of running a compiled program.
pub struct Run {
    pub compiled: Compiled,
    pub vm: Vm,
    pub host: TestHost,
    pub exit: Result<Exit, Fault>,
}

impl Run {
    /// Console output as text.
    pub fn console(&self) -> String {
        self.host.console_text()
    }

    /// The value of a global variable, found by name in the image's symbol table.
    pub fn global(&self, name: &str) -> i32 {
        let program = Program::parse(&self.compiled.image).expect("image parses");
        let (index, _) = program
            .metadata()
            .globals()
            .find(|(_, n)| *n == name)
            .unwrap_or_else(|| panic!("no global named {name}"));
        self.vm.globals()[index as usize]
    }
}

/// Compiles `src`, panicking with the rendered diagnostics on failure.
pub fn compile_ok(src: &str) -> Compiled {
    match compile(src, "test.ino") {
        Ok(c) => c,
        Err(d) => panic!("compile failed:\n{d}\nsource:\n{src}"),
    }
}

/// Compiles `src`, expecting failure; returns the diagnostics.
pub fn compile_err(src: &str) -> Diagnostics {
    match compile(src, "test.ino") {
        Ok(_) => panic!("expected a compile error for:\n{src}"),
        Err(d) => d,
    }
}

/// Compiles and runs `src` for at most `budget` instructions.
pub fn run_with(src: &str, budget: u64) -> Run {
    let compiled = compile_ok(src);
    let mut vm = Vm::new();
    let mut host = TestHost::new();
    let exit = {
        let program = Program::parse(&compiled.image).expect("image parses");
        vm.run(&program, &mut host, budget)
    };
    Run {
        compiled,
        vm,
        host,
        exit,
    }
}

/// Compiles and runs `src` (default budget) and asserts that it halts without a fault.
pub fn run(src: &str) -> Run {
    let r = run_with(src, BUDGET);
    assert_eq!(
        r.exit,
        Ok(Exit::Halted),
        "program did not halt; console so far:\n{}\nsource:\n{src}",
        r.console()
    );
    r
}

/// Runs `src` and returns its console output (asserting a clean halt).
pub fn output(src: &str) -> String {
    run(src).console()
}

/// Runs `int main() { <body> }` with extra global `decls` and returns the console output.
pub fn main_output(decls: &str, body: &str) -> String {
    output(&format!("{decls}\nint main() {{\n{body}\n}}\n"))
}

/// Evaluates the `int` expression `expr` inside `main` and returns the printed value.
pub fn eval(expr: &str) -> i32 {
    let out = main_output("", &format!("printf(\"%d\", {expr}); return 0;"));
    out.parse()
        .unwrap_or_else(|_| panic!("bad output {out:?} for {expr}"))
}

/// Like [`eval`], printed as unsigned.
pub fn eval_u(expr: &str) -> u32 {
    let out = main_output("", &format!("printf(\"%u\", {expr}); return 0;"));
    out.parse()
        .unwrap_or_else(|_| panic!("bad output {out:?} for {expr}"))
}
