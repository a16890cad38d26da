//! `cockpit-cc`: the ArduinoC compiler for CockpitVM. Source text in, CVBC image out.
//!
//! ```
//! let out = cockpit_cc::compile("void setup() { printf(\"hi %d\\n\", 6 * 7); } void loop() {}", "hi.ino")
//!     .expect("compiles");
//! assert!(out.instructions > 0);
//! assert_eq!(&out.image[..4], b"CVBC");
//! ```
//!
//! # Language
//! ArduinoC with C semantics: `int`/`long` (32-bit signed), `unsigned [int|long]` (32-bit
//! unsigned), `bool`, `byte`/`unsigned char`, `char`, `short`, `void`, `const`; globals, global
//! arrays (`int a[N] = {…};`, N ≤ 64, ≤ 16 arrays), functions with parameters and prototypes,
//! block-scoped locals; `if`/`else`, `while`, `do`/`while`, `for`, `break`, `continue`,
//! `return`; every C operator except pointers, `sizeof` and member access, with C precedence,
//! associativity and signedness (see the crate README in `vm/cc/README.md`). Built-ins:
//! `pinMode`, `digitalWrite`, `digitalRead`, `analogWrite`, `analogRead`, `delay`, `millis`,
//! `micros`, `printf`, and the constants `HIGH LOW INPUT OUTPUT INPUT_PULLUP INPUT_PULLDOWN
//! LED_BUILTIN true false`.
//!
//! # Program model
//! If `main()` is defined it is called once, then the program halts (its return value, if any,
//! is left on the operand stack). Otherwise `setup()` is called once and `loop()` forever, and
//! the image has [`cockpit_vm::FLAG_ARDUINO_LOOP`]. Global initializers (constant expressions)
//! run first.

mod ast;
mod codegen;
mod diag;
mod lexer;
mod parser;

use sha2::{Digest, Sha256};

pub use diag::{Diagnostic, Diagnostics, Severity};

/// A successful compilation.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The CVBC v1 image (see `cockpit_vm::CvbcWriter`): code, string table, and metadata
    /// (name = file stem, SHA-256 of the source, compiler version, global symbol table).
    pub image: Vec<u8>,
    /// Number of instructions in the code section.
    pub instructions: usize,
    /// Warnings (the compilation succeeded despite them); empty if none.
    pub warnings: Diagnostics,
}

/// Compiles ArduinoC `source` to a CVBC image.
///
/// `file_name` is used in diagnostics and, without directories and extension, as the program
/// name in the image metadata.
///
/// # Errors
/// Returns all diagnostics (at least one error, plus any warnings) if the program is rejected:
/// syntax errors, undefined or redeclared names, type errors (void values, wrong argument
/// counts, printf format mismatches), non-constant global initializers, exceeded VM limits
/// (64 globals, 16 arrays of ≤ 64 elements, 65536 instructions), or a missing entry point.
/// Never panics, whatever the input.
pub fn compile(source: &str, file_name: &str) -> Result<Compiled, Diagnostics> {
    // The parser and code generator recurse over the (depth-limited) syntax tree. Run them on
    // a thread with a known, generous stack so that the limits hold whatever the caller's
    // stack size is (rustc does the same); fall back to the current thread if none can be made.
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("cockpit-cc".into())
            .stack_size(COMPILER_STACK)
            .spawn_scoped(scope, || compile_on_this_thread(source, file_name));
        match worker {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => compile_on_this_thread(source, file_name),
        }
    })
}

/// Stack size of the compiler thread, in bytes.
const COMPILER_STACK: usize = 32 << 20;

fn compile_on_this_thread(source: &str, file_name: &str) -> Result<Compiled, Diagnostics> {
    let mut rep = diag::Reporter::new(file_name, source);
    let tokens = lexer::lex(source, &mut rep);
    let items = parser::Parser::new(tokens, &mut rep).parse_program();
    let output = codegen::Gen::new(&mut rep).program(&items);
    let output = match output {
        Some(o) if !rep.has_errors() => o,
        _ => return Err(rep.into_diagnostics()),
    };
    let name = std::path::Path::new(file_name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let writer = cockpit_vm::CvbcWriter {
        code: output.code,
        strings: output.strings,
        name,
        source_hash: Sha256::digest(source.as_bytes()).into(),
        compiler_version: env!("CARGO_PKG_VERSION").to_string(),
        flags: if output.arduino_loop {
            cockpit_vm::FLAG_ARDUINO_LOOP
        } else {
            0
        },
        globals: output.globals,
    };
    Ok(Compiled {
        image: writer.to_bytes(),
        instructions: writer.code.len(),
        warnings: rep.into_diagnostics(),
    })
}
