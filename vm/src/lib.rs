//! CockpitVM: the bytecode virtual machine that runs guest programs on the Cockpit hypervisor.
//!
//! `#![no_std]`, no heap, no panics on any input. See `vm/README.md` for the ISA and the CVBC
//! container format.
#![no_std]

#[cfg(feature = "std")]
extern crate std;

pub mod disasm;
pub mod engine;
pub mod error;
pub mod host;
pub mod isa;
pub mod program;
#[cfg(feature = "std")]
pub mod testing;
#[cfg(feature = "std")]
pub mod writer;

pub use engine::{Exit, Vm};
pub use error::{Fault, VmError};
pub use host::{Host, HostError};
pub use isa::{Instruction, Opcode};
pub use program::{ContainerError, Dialect, FLAG_ARDUINO_LOOP, ImageFormat, Metadata, Program};
#[cfg(feature = "std")]
pub use writer::{CvbcWriter, conc_image};

/// Operand stack capacity, in 32-bit words.
pub const STACK_SIZE: usize = 256;
/// Maximum call depth (frames on the call stack).
pub const CALL_DEPTH: usize = 64;
/// Number of global variable slots.
pub const GLOBALS: usize = 64;
/// Number of arrays a program can create.
pub const ARRAYS: usize = 16;
/// Maximum length of one array, in 32-bit words.
pub const ARRAY_LEN: usize = 64;
