//! Properties: parsing and running never panic, on any bytes.
mod common;

use cockpit_vm::testing::TestHost;
use cockpit_vm::{CvbcWriter, Instruction, Program, Vm, conc_image};
use proptest::prelude::*;

/// Runs a program with a small budget in slices; must never panic, and must stay stopped after
/// a halt or fault.
fn exercise(program: &Program<'_>) {
    let mut vm = Vm::new();
    let mut host = TestHost::new();
    host.deadline_ms = Some(10_000);
    let mut last = None;
    for _ in 0..4 {
        let r = vm.run(program, &mut host, 500);
        if let Some(prev) = last
            && vm.is_stopped()
        {
            assert_eq!(r, prev);
        }
        if vm.is_stopped() {
            last = Some(r);
        }
        assert!(vm.stack().len() <= cockpit_vm::STACK_SIZE);
        assert!(vm.call_depth() <= cockpit_vm::CALL_DEPTH);
    }
    let mut listing = String::new();
    cockpit_vm::disasm::write_listing(program, &mut listing).unwrap();
    assert!(listing.lines().count() >= program.instruction_count());
}

/// Instructions biased towards defined opcodes and small immediates, so runs go somewhere.
fn insn() -> impl Strategy<Value = Instruction> {
    let ops: Vec<u8> = cockpit_vm::Opcode::ALL.iter().map(|o| *o as u8).collect();
    (
        prop_oneof![9 => proptest::sample::select(ops), 1 => any::<u8>()],
        prop_oneof![3 => 0u8..4, 1 => any::<u8>()],
        prop_oneof![3 => 0u16..40, 1 => any::<u16>()],
    )
        .prop_map(|(opcode, flags, imm)| Instruction { opcode, flags, imm })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(p) = Program::parse(&bytes) {
            exercise(&p);
        }
    }

    #[test]
    fn parse_never_panics_on_corrupted_valid_images(
        code in proptest::collection::vec(insn(), 1..30),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
        conc in any::<bool>(),
    ) {
        let mut bytes = if conc {
            conc_image(&code, &[b"%d %s", b"x"])
        } else {
            CvbcWriter {
                code: code.clone(),
                strings: vec![b"%d %s".to_vec(), b"x".to_vec()],
                globals: vec![(1, "g".into())],
                ..Default::default()
            }
            .to_bytes()
        };
        for (at, v) in edits {
            let n = bytes.len();
            bytes[at % n] = v;
        }
        let n = bytes.len();
        bytes.truncate(n - cut % 8);
        if let Ok(p) = Program::parse(&bytes) {
            exercise(&p);
        }
        // Same content with the CRC made valid again, so that the structure checks are reached.
        if !conc && bytes.len() >= 24 {
            bytes[20..24].fill(0);
            let c = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&bytes);
            bytes[20..24].copy_from_slice(&c.to_le_bytes());
            if let Ok(p) = Program::parse(&bytes) {
                exercise(&p);
            }
        }
    }

    #[test]
    fn run_never_panics_on_arbitrary_code(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(p) = Program::from_code(&bytes) {
            exercise(&p);
        }
    }

    #[test]
    fn run_never_panics_on_plausible_code(code in proptest::collection::vec(insn(), 1..60)) {
        let bytes = CvbcWriter {
            code,
            strings: vec![b"v=%d %u %x %c %s\n".to_vec(), b"%s".to_vec(), b"%%".to_vec()],
            ..Default::default()
        }
        .to_bytes();
        let p = Program::parse(&bytes).unwrap();
        exercise(&p);
    }
}
