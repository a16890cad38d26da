//! Disassembler listings.
mod common;

use cockpit_vm::disasm::write_listing;
use cockpit_vm::isa::Opcode::*;
use cockpit_vm::isa::{PUSH_HIGH, PUSH_SIGNED, RET_VALUE};
use cockpit_vm::{CvbcWriter, FLAG_ARDUINO_LOOP, Instruction, Program, conc_image};
use common::*;

fn listing(p: &Program<'_>) -> String {
    let mut s = String::new();
    write_listing(p, &mut s).unwrap();
    s
}

#[test]
fn cvbc_listing_shows_header_operands_and_strings() {
    let bytes = CvbcWriter {
        code: vec![
            i(Push, 0, 500),
            i(Push, PUSH_SIGNED, 0xFFFF),
            i(Push, PUSH_HIGH, 0x1234),
            i(Jmp, 0, 0),
            i(Call, 2, 7),
            i(Printf, 0, 0),
            i(Ret, RET_VALUE, 0),
            Instruction {
                opcode: 0xEE,
                flags: 1,
                imm: 2,
            },
            i(Printf, 0, 9),
        ],
        strings: vec![b"Hi \"you\"\n\x01".to_vec()],
        name: "blink".into(),
        compiler_version: "cc 1".into(),
        flags: FLAG_ARDUINO_LOOP,
        globals: vec![(3, "led".into())],
        ..Default::default()
    }
    .to_bytes();
    let p = Program::parse(&bytes).unwrap();
    let text = listing(&p);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("; format CVBC 1.0  name \"blink\"  flags 0x00000001 (arduino-loop)"),
        "{text}"
    );
    assert!(
        lines[1].contains("9 instructions, 1 strings, compiler \"cc 1\""),
        "{text}"
    );
    assert!(text.contains("; global 3 = led"));
    assert!(text.contains("0000  PUSH      500\n"), "{text}");
    assert!(
        text.contains("0001  PUSH      -1        ; signed\n"),
        "{text}"
    );
    assert!(
        text.contains("0002  PUSH      0x1234    ; high half\n"),
        "{text}"
    );
    assert!(text.contains("0003  JMP       -> 0000\n"), "{text}");
    assert!(
        text.contains("0004  CALL      0007      ; argc 2\n"),
        "{text}"
    );
    assert!(
        text.contains("0005  PRINTF    #0        ; \"Hi \\\"you\\\"\\n\\x01\"\n"),
        "{text}"
    );
    assert!(text.contains("0006  RET       value\n"), "{text}");
    assert!(
        text.contains("0007  .word     0xee 0x01 0x0002  ; undefined opcode\n"),
        "{text}"
    );
    assert!(
        text.contains("0008  PRINTF    #9        ; <unknown string>\n"),
        "{text}"
    );
    assert!(
        text.ends_with("; strings\n#0  \"Hi \\\"you\\\"\\n\\x01\"\n"),
        "{text}"
    );
}

#[test]
fn raw_and_conc_listings() {
    let raw = code(&[i(Halt, 0, 0)]);
    let text = listing(&Program::from_code(&raw).unwrap());
    assert!(text.starts_with("; format raw"));
    assert!(text.contains("0000  HALT\n"));
    assert!(!text.contains("; strings"));
    let conc = conc_image(&[i(Push, 0, 300), i(Halt, 0, 0)], &[b"line a\\n"]);
    let text = listing(&Program::parse(&conc).unwrap());
    assert!(text.starts_with("; format CONC (original)"));
    assert!(text.contains("#0  \"line a\\\\n\""), "{text}");
}
