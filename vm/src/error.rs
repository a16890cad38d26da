//! VM error codes and the fault record.
//!
//! Codes 0–11 are the original CockpitVM's `vm_error_t` (reference §4.6); 12 and up are new.

use core::fmt;

/// A VM error code. The numeric values are stable: they appear in telemetry, the store and plans.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum VmError {
    /// 0: no error.
    None = 0,
    /// 1: operand stack full, or call depth over [`crate::CALL_DEPTH`].
    StackOverflow = 1,
    /// 2: pop from an empty operand stack (or below the current frame).
    StackUnderflow = 2,
    /// 3: stack corruption (kept for code compatibility; the engine has no canary to corrupt).
    StackCorruption = 3,
    /// 4: jump or call target outside the program.
    InvalidJump = 4,
    /// 5: undefined opcode.
    InvalidOpcode = 5,
    /// 6: `DIV`/`MOD` by zero.
    DivisionByZero = 6,
    /// 7: global, local, array index or array id out of bounds, or array not created.
    MemoryBounds = 7,
    /// 8: printf format error: unknown conversion, missing argument or too many arguments.
    PrintfError = 8,
    /// 9: the board reported a hardware fault.
    HardwareFault = 9,
    /// 10: no program loaded.
    ProgramNotLoaded = 10,
    /// 11: execution failed for another reason (e.g. the pc ran past the last instruction).
    ExecutionFailed = 11,
    /// 12: the caller-given budget (instructions or virtual time) ran out.
    BudgetExceeded = 12,
    /// 13: a HAL argument out of range (pin, pin mode, negative delay).
    InvalidArgument = 13,
    /// 14: a string id that the program's string table does not have.
    UnknownString = 14,
}

impl VmError {
    /// Every code, in numeric order.
    pub const ALL: [VmError; 15] = [
        VmError::None,
        VmError::StackOverflow,
        VmError::StackUnderflow,
        VmError::StackCorruption,
        VmError::InvalidJump,
        VmError::InvalidOpcode,
        VmError::DivisionByZero,
        VmError::MemoryBounds,
        VmError::PrintfError,
        VmError::HardwareFault,
        VmError::ProgramNotLoaded,
        VmError::ExecutionFailed,
        VmError::BudgetExceeded,
        VmError::InvalidArgument,
        VmError::UnknownString,
    ];

    /// The numeric code.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The error for a numeric code, if defined.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(code as usize).copied()
    }

    /// The upper-snake-case name used in plans, the store and telemetry (`"DIVISION_BY_ZERO"`).
    pub const fn name(self) -> &'static str {
        match self {
            VmError::None => "NONE",
            VmError::StackOverflow => "STACK_OVERFLOW",
            VmError::StackUnderflow => "STACK_UNDERFLOW",
            VmError::StackCorruption => "STACK_CORRUPTION",
            VmError::InvalidJump => "INVALID_JUMP",
            VmError::InvalidOpcode => "INVALID_OPCODE",
            VmError::DivisionByZero => "DIVISION_BY_ZERO",
            VmError::MemoryBounds => "MEMORY_BOUNDS",
            VmError::PrintfError => "PRINTF_ERROR",
            VmError::HardwareFault => "HARDWARE_FAULT",
            VmError::ProgramNotLoaded => "PROGRAM_NOT_LOADED",
            VmError::ExecutionFailed => "EXECUTION_FAILED",
            VmError::BudgetExceeded => "BUDGET_EXCEEDED",
            VmError::InvalidArgument => "INVALID_ARGUMENT",
            VmError::UnknownString => "UNKNOWN_STRING",
        }
    }

    /// Parses a name as written by [`VmError::name`], case-insensitively.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|e| e.name().eq_ignore_ascii_case(name))
    }

    /// A human description (the original's strings for 0–11).
    pub const fn description(self) -> &'static str {
        match self {
            VmError::None => "No error",
            VmError::StackOverflow => "Stack overflow",
            VmError::StackUnderflow => "Stack underflow",
            VmError::StackCorruption => "Stack corruption detected",
            VmError::InvalidJump => "Invalid jump address",
            VmError::InvalidOpcode => "Invalid opcode",
            VmError::DivisionByZero => "Division by zero",
            VmError::MemoryBounds => "Memory bounds violation",
            VmError::PrintfError => "Printf formatting error",
            VmError::HardwareFault => "Hardware fault",
            VmError::ProgramNotLoaded => "Program not loaded",
            VmError::ExecutionFailed => "Execution failed",
            VmError::BudgetExceeded => "Budget exceeded",
            VmError::InvalidArgument => "Invalid argument",
            VmError::UnknownString => "Unknown string id",
        }
    }
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.name(),
            self.code(),
            self.description()
        )
    }
}

/// Where and why execution stopped with an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The error code.
    pub error: VmError,
    /// Instruction index of the faulting instruction.
    pub pc: u32,
    /// Opcode byte of the faulting instruction (0 if the pc was outside the program).
    pub opcode: u8,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at pc {} (opcode {:#04x}",
            self.error, self.pc, self.opcode
        )?;
        if let Some(op) = crate::isa::Opcode::from_u8(self.opcode) {
            write!(f, " {}", op.mnemonic())?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_names_round_trip() {
        for (i, e) in VmError::ALL.iter().enumerate() {
            assert_eq!(e.code() as usize, i);
            assert_eq!(VmError::from_code(i as u8), Some(*e));
            assert_eq!(VmError::from_name(&e.name().to_ascii_lowercase()), Some(*e));
        }
        assert_eq!(VmError::DivisionByZero.code(), 6);
        assert_eq!(VmError::BudgetExceeded.code(), 12);
        assert_eq!(VmError::from_code(15), None);
    }
}
