//! CVBC v1 container and CONC import: round trips and every rejection.
mod common;

use cockpit_vm::isa::Opcode::*;
use cockpit_vm::program::{
    CVBC_CRC_OFFSET, CVBC_HEADER_SIZE, SECTION_CODE, SECTION_METADATA, SECTION_STRINGS,
};
use cockpit_vm::{
    ContainerError, CvbcWriter, Dialect, FLAG_ARDUINO_LOOP, ImageFormat, Instruction, Program,
    conc_image,
};
use common::*;

fn crc32(b: &[u8]) -> u32 {
    crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(b)
}

/// Recomputes the CRC after a deliberate edit, so that the edit itself is what gets tested.
fn fix_crc(bytes: &mut [u8]) {
    bytes[CVBC_CRC_OFFSET..CVBC_CRC_OFFSET + 4].fill(0);
    let c = crc32(bytes);
    bytes[CVBC_CRC_OFFSET..CVBC_CRC_OFFSET + 4].copy_from_slice(&c.to_le_bytes());
}

fn writer() -> CvbcWriter {
    CvbcWriter {
        code: vec![i(Push, 0, 500), i(Printf, 0, 1), i(Jmp, 0, 0)],
        strings: vec![b"first".to_vec(), b"".to_vec(), b"with \0 nul\n".to_vec()],
        name: "blink".into(),
        source_hash: [0xAB; 32],
        compiler_version: "cockpit-cc 0.1.0".into(),
        flags: FLAG_ARDUINO_LOOP,
        globals: vec![(0, "counter".into()), (63, "last".into())],
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// (kind, offset, length) of section `n`.
fn section(b: &[u8], n: usize) -> (u32, u32, u32) {
    let at = CVBC_HEADER_SIZE + 12 * n;
    (u32_at(b, at), u32_at(b, at + 4), u32_at(b, at + 8))
}

#[test]
fn cvbc_round_trip() {
    let w = writer();
    let bytes = w.to_bytes();
    assert_eq!(&bytes[..4], b"CVBC");
    assert_eq!(u32_at(&bytes, 12) as usize, bytes.len());
    let p = Program::parse(&bytes).unwrap();
    assert_eq!(p.format(), ImageFormat::Cvbc { major: 1, minor: 0 });
    assert_eq!(p.dialect(), Dialect::Cockpit);
    assert_eq!(p.flags(), FLAG_ARDUINO_LOOP);
    assert_eq!(p.instruction_count(), 3);
    for (n, insn) in w.code.iter().enumerate() {
        assert_eq!(p.instruction(n), Some(*insn));
    }
    assert_eq!(p.instruction(3), None);
    assert_eq!(p.string_count(), 3);
    assert_eq!(p.string(0), Some(&b"first"[..]));
    assert_eq!(p.string(1), Some(&b""[..]));
    assert_eq!(p.string(2), Some(&b"with \0 nul\n"[..]));
    assert_eq!(p.string(3), None);
    assert_eq!(p.string(u16::MAX), None);
    let m = p.metadata();
    assert_eq!(m.name, "blink");
    assert_eq!(m.source_hash, Some([0xAB; 32]));
    assert_eq!(m.compiler_version, "cockpit-cc 0.1.0");
    let globals: Vec<_> = p.globals().collect();
    assert_eq!(globals, vec![(0, "counter"), (63, "last")]);
    assert_eq!(m.globals().count(), 2);
}

#[test]
fn cvbc_layout_is_as_documented() {
    let bytes = writer().to_bytes();
    assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 1);
    assert_eq!(u16::from_le_bytes([bytes[6], bytes[7]]), 0);
    assert_eq!(u32_at(&bytes, 8), FLAG_ARDUINO_LOOP);
    assert_eq!(u16::from_le_bytes([bytes[16], bytes[17]]), 3);
    assert_eq!(u16::from_le_bytes([bytes[18], bytes[19]]), 0);
    let mut zeroed = bytes.clone();
    zeroed[20..24].fill(0);
    assert_eq!(u32_at(&bytes, 20), crc32(&zeroed));
    let (kind, off, len) = section(&bytes, 0);
    assert_eq!((kind, len), (SECTION_CODE, 12));
    assert_eq!(
        &bytes[off as usize..off as usize + 4],
        &[0x01, 0x00, 0xF4, 0x01]
    );
    assert_eq!(section(&bytes, 1).0, SECTION_STRINGS);
    assert_eq!(section(&bytes, 2).0, SECTION_METADATA);
    let (_, soff, _) = section(&bytes, 1);
    assert_eq!(u32_at(&bytes, soff as usize), 3); // string count
}

#[test]
fn minimal_image_without_strings_and_metadata_sections() {
    let w = CvbcWriter {
        code: vec![i(Halt, 0, 0)],
        ..Default::default()
    };
    let bytes = w.to_bytes();
    let p = Program::from_cvbc(&bytes).unwrap();
    assert_eq!(p.string_count(), 0);
    assert_eq!(p.metadata().name, "");
    assert_eq!(p.metadata().source_hash, Some([0; 32]));
}

#[test]
fn trailing_bytes_after_total_size_are_ignored() {
    let mut bytes = writer().to_bytes();
    bytes.extend_from_slice(&[0xFF; 100]); // erased flash
    let p = Program::parse(&bytes).unwrap();
    assert_eq!(p.instruction_count(), 3);
}

#[test]
fn rejects_bad_magic() {
    let mut bytes = writer().to_bytes();
    bytes[0] = b'X';
    assert_eq!(
        Program::parse(&bytes).unwrap_err(),
        ContainerError::BadMagic { found: *b"XVBC" }
    );
    assert!(matches!(
        Program::from_cvbc(&bytes),
        Err(ContainerError::BadMagic { .. })
    ));
    assert!(matches!(
        Program::from_conc(&bytes),
        Err(ContainerError::BadMagic { .. })
    ));
    assert!(matches!(
        Program::from_cvbc(b"ELF"),
        Err(ContainerError::Truncated {
            needed: 24,
            available: 3
        })
    ));
}

#[test]
fn rejects_unsupported_version() {
    let mut bytes = writer().to_bytes();
    bytes[4] = 2;
    bytes[6] = 7;
    fix_crc(&mut bytes);
    assert_eq!(
        Program::parse(&bytes).unwrap_err(),
        ContainerError::UnsupportedVersion { major: 2, minor: 7 }
    );
    // A newer minor of major 1 is accepted.
    let mut bytes = writer().to_bytes();
    bytes[6] = 3;
    fix_crc(&mut bytes);
    assert_eq!(
        Program::parse(&bytes).unwrap().format(),
        ImageFormat::Cvbc { major: 1, minor: 3 }
    );
}

#[test]
fn rejects_crc_mismatch_on_any_flipped_byte() {
    let good = writer().to_bytes();
    let stored = u32_at(&good, 20);
    for at in 24..good.len() {
        let mut bytes = good.clone();
        bytes[at] ^= 0x01;
        match Program::parse(&bytes) {
            Err(ContainerError::CrcMismatch {
                stored: s,
                computed,
            }) => {
                assert_eq!(s, stored);
                assert_ne!(computed, stored);
            }
            other => panic!("flip at {at}: {other:?}"),
        }
    }
    let mut bytes = good.clone();
    bytes[21] ^= 0x80;
    assert!(matches!(
        Program::parse(&bytes),
        Err(ContainerError::CrcMismatch { .. })
    ));
}

#[test]
fn rejects_truncation_at_every_length() {
    let good = writer().to_bytes();
    for len in 0..good.len() {
        match Program::parse(&good[..len]) {
            Err(ContainerError::Truncated { needed, available }) => {
                assert_eq!(available, len);
                assert!(needed > len, "len {len}: needed {needed}");
            }
            other => panic!("len {len}: {other:?}"),
        }
    }
}

#[test]
fn rejects_sections_out_of_bounds() {
    let good = writer().to_bytes();
    let file_len = good.len();
    // strings section offset past the end
    let mut bytes = good.clone();
    let at = CVBC_HEADER_SIZE + 12 + 4;
    bytes[at..at + 4].copy_from_slice(&(file_len as u32 - 2).to_le_bytes());
    fix_crc(&mut bytes);
    let (_, _, length) = section(&bytes, 1);
    assert_eq!(
        Program::parse(&bytes).unwrap_err(),
        ContainerError::SectionOutOfBounds {
            kind: SECTION_STRINGS,
            offset: file_len as u32 - 2,
            length,
            file_len,
        }
    );
    // length overflowing u32 arithmetic
    let mut bytes = good.clone();
    let at = CVBC_HEADER_SIZE + 8;
    bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    fix_crc(&mut bytes);
    assert!(matches!(
        Program::parse(&bytes),
        Err(ContainerError::SectionOutOfBounds {
            kind: SECTION_CODE,
            ..
        })
    ));
}

#[test]
fn rejects_missing_and_duplicate_sections() {
    let good = writer().to_bytes();
    // turn the code section into an unknown kind (skipped) -> code missing
    let mut bytes = good.clone();
    bytes[CVBC_HEADER_SIZE..CVBC_HEADER_SIZE + 4].copy_from_slice(&99u32.to_le_bytes());
    fix_crc(&mut bytes);
    assert_eq!(
        Program::parse(&bytes).unwrap_err(),
        ContainerError::MissingSection { kind: SECTION_CODE }
    );
    // metadata kind -> strings kind: duplicate
    let mut bytes = good.clone();
    let at = CVBC_HEADER_SIZE + 24;
    bytes[at..at + 4].copy_from_slice(&SECTION_STRINGS.to_le_bytes());
    fix_crc(&mut bytes);
    assert_eq!(
        Program::parse(&bytes).unwrap_err(),
        ContainerError::DuplicateSection {
            kind: SECTION_STRINGS
        }
    );
}

#[test]
fn rejects_bad_header_fields() {
    let good = writer().to_bytes();
    let mut bytes = good.clone();
    bytes[18] = 1; // reserved
    fix_crc(&mut bytes);
    assert_eq!(
        Program::parse(&bytes).unwrap_err(),
        ContainerError::BadHeader { offset: 18 }
    );
    let mut bytes = good.clone();
    bytes[12..16].copy_from_slice(&10u32.to_le_bytes()); // total smaller than the header
    fix_crc(&mut bytes);
    assert_eq!(
        Program::parse(&bytes).unwrap_err(),
        ContainerError::BadHeader { offset: 12 }
    );
}

#[test]
fn rejects_bad_code_lengths() {
    for len in [0u32, 6] {
        let mut bytes = writer().to_bytes();
        let at = CVBC_HEADER_SIZE + 8;
        bytes[at..at + 4].copy_from_slice(&len.to_le_bytes());
        fix_crc(&mut bytes);
        assert_eq!(
            Program::parse(&bytes).unwrap_err(),
            ContainerError::BadCode {
                length: len as usize
            }
        );
    }
    assert_eq!(
        Program::from_code(&[]).unwrap_err(),
        ContainerError::BadCode { length: 0 }
    );
    assert_eq!(
        Program::from_code(&[0; 5]).unwrap_err(),
        ContainerError::BadCode { length: 5 }
    );
    let big = vec![0u8; 4 * 65537];
    assert!(Program::from_code(&big).is_err());
    assert!(Program::from_code(&big[..4 * 65536]).is_ok());
}

#[test]
fn rejects_bad_string_tables() {
    let good = writer().to_bytes();
    let (_, soff, slen) = section(&good, 1);
    let soff = soff as usize;
    // entry 1 length past the section
    let mut bytes = good.clone();
    let entry = soff + 4 + 8;
    bytes[entry + 4..entry + 8].copy_from_slice(&slen.to_le_bytes());
    fix_crc(&mut bytes);
    assert_eq!(
        Program::parse(&bytes).unwrap_err(),
        ContainerError::BadStringTable { offset: entry }
    );
    // count larger than the entries present
    let mut bytes = good.clone();
    bytes[soff..soff + 4].copy_from_slice(&1000u32.to_le_bytes());
    fix_crc(&mut bytes);
    assert!(matches!(
        Program::parse(&bytes),
        Err(ContainerError::BadStringTable { .. })
    ));
}

#[test]
fn rejects_bad_metadata() {
    let good = writer().to_bytes();
    let (_, moff, _) = section(&good, 2);
    let moff = moff as usize;
    // name length too long
    let mut bytes = good.clone();
    bytes[moff..moff + 2].copy_from_slice(&0xFFFFu16.to_le_bytes());
    fix_crc(&mut bytes);
    assert_eq!(
        Program::parse(&bytes).unwrap_err(),
        ContainerError::BadMetadata { offset: moff }
    );
    // invalid UTF-8 in the name
    let mut bytes = good.clone();
    bytes[moff + 2] = 0xFF;
    fix_crc(&mut bytes);
    assert_eq!(
        Program::parse(&bytes).unwrap_err(),
        ContainerError::BadMetadata { offset: moff + 2 }
    );
    // global index >= GLOBALS
    let w = CvbcWriter {
        globals: vec![(64, "x".into())],
        ..writer()
    };
    assert!(matches!(
        Program::parse(&w.to_bytes()),
        Err(ContainerError::BadMetadata { .. })
    ));
}

#[test]
fn errors_display_clear_messages() {
    let e = ContainerError::CrcMismatch {
        stored: 1,
        computed: 2,
    };
    assert_eq!(
        e.to_string(),
        "checksum mismatch: header says 0x00000001, image gives 0x00000002"
    );
    let e = ContainerError::Truncated {
        needed: 24,
        available: 3,
    };
    assert_eq!(
        e.to_string(),
        "image truncated: 24 bytes needed, 3 available"
    );
    assert!(
        ContainerError::BadMagic { found: *b"ABCD" }
            .to_string()
            .contains("41 42 43 44")
    );
}

// ---------- CONC (original page-63 image, reference §3.1) ----------

fn crc16(b: &[u8]) -> u16 {
    // CRC-16/CCITT-FALSE = binascii.crc_hqx(data, 0xFFFF); check value for "123456789" is 0x29B1.
    crc::Crc::<u16>::new(&crc::CRC_16_IBM_3740).checksum(b)
}

/// Hand-built CONC image, independent of `conc_image`.
fn hand_conc() -> Vec<u8> {
    let code: [[u8; 4]; 4] = [
        [0x01, 0x00, 0x0D, 0x00], // PUSH 13
        [0x01, 0x00, 0x00, 0x00], // PUSH 0 (argc)  (01 00 00 00 = 1, next byte 0x18 is not printable)
        [0x18, 0x00, 0x00, 0x00], // PRINTF #0
        [0x00, 0x00, 0x00, 0x00], // HALT
    ];
    let mut image = vec![4, 0, 2, 0, 0, 0, 0, 0]; // compiler header (ignored)
    for w in code {
        image.extend_from_slice(&w);
    }
    image.extend_from_slice(&6u32.to_le_bytes());
    image.extend_from_slice(b"Hi\\n!\0");
    image.extend_from_slice(&4u32.to_le_bytes());
    image.extend_from_slice(b"abc\0");
    let mut out = Vec::new();
    out.extend_from_slice(&[0x43, 0x4E, 0x4F, 0x43]);
    out.extend_from_slice(&(image.len() as u32).to_le_bytes());
    out.extend_from_slice(&4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&crc16(&image).to_le_bytes());
    out.extend_from_slice(&image);
    out
}

#[test]
fn crc16_is_ccitt_false() {
    assert_eq!(crc16(b"123456789"), 0x29B1);
}

#[test]
fn conc_hand_built_image_imports() {
    let bytes = hand_conc();
    let p = Program::parse(&bytes).unwrap();
    assert_eq!(p.format(), ImageFormat::Conc);
    assert_eq!(p.dialect(), Dialect::Original);
    assert_eq!(p.flags(), 0);
    assert_eq!(p.instruction_count(), 4);
    assert_eq!(p.instruction(2), Some(Instruction::new(Printf, 0, 0)));
    assert_eq!(p.string_count(), 2);
    assert_eq!(p.string(0), Some(&b"Hi\\n!"[..])); // literal backslash kept, NUL dropped
    assert_eq!(p.string(1), Some(&b"abc"[..]));
    assert_eq!(p.string(2), None);
    assert_eq!(p.metadata().source_hash, None);
    assert_eq!(p.globals().count(), 0);
}

#[test]
fn conc_writer_matches_the_hand_built_image() {
    let code = [
        i(Push, 0, 13),
        i(Push, 0, 0),
        i(Printf, 0, 0),
        i(Halt, 0, 0),
    ];
    let mut expected = hand_conc();
    let bytes = conc_image(&code, &[b"Hi\\n!", b"abc"]);
    // conc_image writes the real counts in the compiler header; the hand image has 4, 2 too.
    assert_eq!(bytes, expected);
    expected.extend_from_slice(&[0xFF; 64]); // rest of the flash page
    assert_eq!(Program::parse(&expected).unwrap().instruction_count(), 4);
}

#[test]
fn conc_rejections() {
    let good = hand_conc();
    // CRC mismatch
    let mut bytes = good.clone();
    *bytes.last_mut().unwrap() ^= 1;
    let stored = u16::from_le_bytes([good[14], good[15]]) as u32;
    assert!(matches!(
        Program::parse(&bytes),
        Err(ContainerError::CrcMismatch { stored: s, .. }) if s == stored
    ));
    // truncation at every length
    for len in 4..good.len() {
        assert!(
            matches!(
                Program::parse(&good[..len]),
                Err(ContainerError::Truncated { available, .. }) if available == len
            ),
            "len {len}"
        );
    }
    // zero program size / instruction count
    let mut bytes = good.clone();
    bytes[4..8].fill(0);
    assert_eq!(
        Program::parse(&bytes).unwrap_err(),
        ContainerError::BadHeader { offset: 4 }
    );
    let mut bytes = good.clone();
    bytes[8..12].fill(0);
    assert_eq!(
        Program::parse(&bytes).unwrap_err(),
        ContainerError::BadHeader { offset: 8 }
    );
    // no string table: a program without strings cannot be imported (as in the original)
    let bytes = conc_image(&[i(Push, 0, 300), i(Halt, 0, 0)], &[]);
    assert_eq!(
        Program::parse(&bytes).unwrap_err(),
        ContainerError::NoStringTable
    );
}

#[test]
fn conc_scan_pitfall_is_reproduced() {
    // PUSH 0 followed by STORE_GLOBAL (0x51 = 'Q') reads as a 1-byte printable string:
    // the original loader cuts the program there (reference §3.1).
    let code = [
        i(Push, 0, 5),
        i(Push, 0, 0),
        i(StoreGlobal, 0, 0),
        i(Halt, 0, 0),
    ];
    let bytes = conc_image(&code, &[b"s"]);
    let p = Program::parse(&bytes).unwrap();
    assert_eq!(p.instruction_count(), 1);
    assert_eq!(p.string(0), Some(&b"Q"[..]));
    // With nothing before it, no instruction is left at all.
    let bytes = conc_image(&code[1..], &[b"s"]);
    assert_eq!(
        Program::parse(&bytes).unwrap_err(),
        ContainerError::BadCode { length: 0 }
    );
}

#[test]
fn conc_keeps_at_most_32_strings_of_127_bytes() {
    let long = [b'x'; 200];
    let many: Vec<&[u8]> = (0..40).map(|_| &long[..]).collect();
    let bytes = conc_image(&[i(Push, 0, 300), i(Halt, 0, 0)], &many);
    let p = Program::parse(&bytes).unwrap();
    assert_eq!(p.string_count(), 32);
    assert_eq!(p.string(31).unwrap().len(), 127);
    assert_eq!(p.string(32), None);
}
