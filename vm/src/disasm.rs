//! Disassembler: a human-readable listing of a [`Program`] (no_std, writes to any
//! [`core::fmt::Write`]).

use core::fmt::{self, Write};

use crate::isa::{Instruction, Opcode, PUSH_HIGH, PUSH_SIGNED, RET_VALUE};
use crate::program::{FLAG_ARDUINO_LOOP, ImageFormat, Program};

/// Writes a listing of `program` to `out`:
///
/// ```text
/// ; format CVBC 1.0  name "blink"  flags 0x00000001 (arduino-loop)
/// ; 5 instructions, 1 strings, compiler "cockpit-cc 0.1.0"
/// 0000  PUSH      500
/// 0001  PUSH      -1        ; signed
/// 0002  PUSH      0x1234    ; high half
/// 0003  JMP       -> 0000
/// 0004  CALL      0000      ; argc 2
/// 0005  PRINTF    #0        ; "Hello\n"
/// ; strings
/// #0  "Hello\n"
/// ```
///
/// Undefined opcodes are shown as `.word 0xOO 0xFF 0xIIII`. Strings are escaped (`\n`, `\t`,
/// `\r`, `\\`, `\"`, other non-printable bytes as `\xHH`).
pub fn write_listing(program: &Program<'_>, out: &mut impl Write) -> fmt::Result {
    match program.format() {
        ImageFormat::Cvbc { major, minor } => write!(out, "; format CVBC {major}.{minor}")?,
        ImageFormat::Conc => out.write_str("; format CONC (original)")?,
        ImageFormat::Raw => out.write_str("; format raw")?,
    }
    let meta = program.metadata();
    write!(out, "  name \"")?;
    write_escaped(out, meta.name.as_bytes())?;
    write!(out, "\"  flags {:#010x}", program.flags())?;
    if program.flags() & FLAG_ARDUINO_LOOP != 0 {
        out.write_str(" (arduino-loop)")?;
    }
    writeln!(
        out,
        "\n; {} instructions, {} strings, compiler \"{}\"",
        program.instruction_count(),
        program.string_count(),
        meta.compiler_version
    )?;
    if let Some(hash) = meta.source_hash {
        out.write_str("; source sha256 ")?;
        for b in hash {
            write!(out, "{b:02x}")?;
        }
        out.write_char('\n')?;
    }
    for (index, name) in program.globals() {
        writeln!(out, "; global {index} = {name}")?;
    }
    for index in 0..program.instruction_count() {
        if let Some(insn) = program.instruction(index) {
            write!(out, "{index:04}  ")?;
            write_instruction(program, insn, out)?;
            out.write_char('\n')?;
        }
    }
    if program.string_count() > 0 {
        out.write_str("; strings\n")?;
        for id in 0..program.string_count() {
            let Ok(id) = u16::try_from(id) else { break };
            write!(out, "#{id}  \"")?;
            write_escaped(out, program.string(id).unwrap_or(&[]))?;
            out.write_str("\"\n")?;
        }
    }
    Ok(())
}

/// Writes one instruction (mnemonic, operand, comment), without the index or newline.
pub fn write_instruction(
    program: &Program<'_>,
    insn: Instruction,
    out: &mut impl Write,
) -> fmt::Result {
    let Some(op) = insn.op() else {
        return write!(
            out,
            ".word     {:#04x} {:#04x} {:#06x}  ; undefined opcode",
            insn.opcode, insn.flags, insn.imm
        );
    };
    let m = op.mnemonic();
    match op {
        Opcode::Push => {
            if insn.flags & PUSH_HIGH != 0 {
                write!(out, "{m:<9} {:#06x}    ; high half", insn.imm)
            } else if insn.flags & PUSH_SIGNED != 0 {
                write!(out, "{m:<9} {:<9} ; signed", insn.imm as i16)
            } else {
                write!(out, "{m:<9} {}", insn.imm)
            }
        }
        Opcode::Jmp | Opcode::JmpTrue | Opcode::JmpFalse => {
            write!(out, "{m:<9} -> {:04}", insn.imm)
        }
        Opcode::Call => write!(out, "{m:<9} {:04}      ; argc {}", insn.imm, insn.flags),
        Opcode::Ret => {
            if insn.flags & RET_VALUE != 0 {
                write!(out, "{m:<9} value")
            } else {
                write!(out, "{m}")
            }
        }
        Opcode::Printf => {
            write!(out, "{m:<9} #{:<8} ; ", insn.imm)?;
            match program.string(insn.imm) {
                Some(s) => {
                    out.write_char('"')?;
                    write_escaped(out, s)?;
                    out.write_char('"')
                }
                None => out.write_str("<unknown string>"),
            }
        }
        Opcode::LoadGlobal
        | Opcode::StoreGlobal
        | Opcode::LoadLocal
        | Opcode::StoreLocal
        | Opcode::LoadArray
        | Opcode::StoreArray
        | Opcode::CreateArray => write!(out, "{m:<9} {}", insn.imm),
        _ => {
            out.write_str(m)?;
            if insn.imm != 0 || insn.flags != 0 {
                write!(out, "  ; flags {:#04x} imm {}", insn.flags, insn.imm)?;
            }
            Ok(())
        }
    }
}

/// Writes bytes as an escaped string body (no quotes).
pub fn write_escaped(out: &mut impl Write, bytes: &[u8]) -> fmt::Result {
    for &b in bytes {
        match b {
            b'\n' => out.write_str("\\n")?,
            b'\t' => out.write_str("\\t")?,
            b'\r' => out.write_str("\\r")?,
            b'\\' => out.write_str("\\\\")?,
            b'"' => out.write_str("\\\"")?,
            0x20..=0x7E => out.write_char(b as char)?,
            _ => write!(out, "\\x{b:02x}")?,
        }
    }
    Ok(())
}
