//! Image writers (host only, feature `std`): the CVBC v1 container and the original CONC
//! page-63 image (for tests of the importer). Layouts: `vm/README.md` and reference §3.1.

use std::string::String;
use std::vec::Vec;

use crate::isa::Instruction;
use crate::program::{
    CONC_MAGIC, CRC16, CRC32, CVBC_CRC_OFFSET, CVBC_HEADER_SIZE, CVBC_MAGIC,
    CVBC_SECTION_ENTRY_SIZE, CVBC_VERSION_MAJOR, CVBC_VERSION_MINOR, SECTION_CODE,
    SECTION_METADATA, SECTION_STRINGS,
};

/// Builds a CVBC v1 image. Fill the fields, then call [`CvbcWriter::to_bytes`].
///
/// Limits the writer does not check (the reader rejects violations): at most 65536
/// instructions, names/version ≤ 65535 bytes, global names ≤ 255 bytes, global index < 64.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CvbcWriter {
    /// The instructions.
    pub code: Vec<Instruction>,
    /// String table; string id = position. Raw bytes, no NUL needed.
    pub strings: Vec<Vec<u8>>,
    /// Program name.
    pub name: String,
    /// SHA-256 of the source (computed by the compiler).
    pub source_hash: [u8; 32],
    /// Compiler version string.
    pub compiler_version: String,
    /// Image flags, e.g. [`crate::program::FLAG_ARDUINO_LOOP`].
    pub flags: u32,
    /// Global symbols: (global index, name).
    pub globals: Vec<(u8, String)>,
}

fn pad4(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
}

fn text16(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

impl CvbcWriter {
    /// Encodes the container: header, section table (code, strings, metadata), sections
    /// 4-byte aligned, CRC-32 (IEEE) over the whole file with the CRC field as zero.
    pub fn to_bytes(&self) -> Vec<u8> {
        let code: Vec<u8> = self.code.iter().flat_map(|i| i.encode()).collect();

        let mut strings = Vec::new();
        strings.extend_from_slice(&(self.strings.len() as u32).to_le_bytes());
        let mut offset = 4 + 8 * self.strings.len();
        for s in &self.strings {
            strings.extend_from_slice(&(offset as u32).to_le_bytes());
            strings.extend_from_slice(&(s.len() as u32).to_le_bytes());
            offset += s.len();
        }
        for s in &self.strings {
            strings.extend_from_slice(s);
        }

        let mut meta = Vec::new();
        text16(&mut meta, &self.name);
        meta.extend_from_slice(&self.source_hash);
        text16(&mut meta, &self.compiler_version);
        meta.extend_from_slice(&(self.globals.len() as u16).to_le_bytes());
        for (index, name) in &self.globals {
            meta.push(*index);
            meta.push(name.len() as u8);
            meta.extend_from_slice(name.as_bytes());
        }

        let sections: [(u32, &[u8]); 3] = [
            (SECTION_CODE, &code),
            (SECTION_STRINGS, &strings),
            (SECTION_METADATA, &meta),
        ];
        let mut out = Vec::new();
        out.extend_from_slice(&CVBC_MAGIC);
        out.extend_from_slice(&CVBC_VERSION_MAJOR.to_le_bytes());
        out.extend_from_slice(&CVBC_VERSION_MINOR.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes()); // total size, patched below
        out.extend_from_slice(&(sections.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes()); // CRC, patched below
        debug_assert_eq!(out.len(), CVBC_HEADER_SIZE);
        let mut at = CVBC_HEADER_SIZE + sections.len() * CVBC_SECTION_ENTRY_SIZE;
        for (kind, body) in &sections {
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&(at as u32).to_le_bytes());
            out.extend_from_slice(&(body.len() as u32).to_le_bytes());
            at += body.len().next_multiple_of(4);
        }
        for (_, body) in &sections {
            out.extend_from_slice(body);
            pad4(&mut out);
        }
        let total = out.len() as u32;
        out[12..16].copy_from_slice(&total.to_le_bytes());
        let crc = CRC32.checksum(&out);
        out[CVBC_CRC_OFFSET..CVBC_CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
        out
    }
}

/// Encodes an original page-63 CONC image (reference §3.1): 16-byte header (magic, program
/// size, instruction count, string count, CRC-16/CCITT-FALSE of the image) followed by the
/// compiler image: 8-byte header (u16 instruction count, u16 string count, 4 zero bytes),
/// the instructions, then each string as u32 LE length (including the NUL) + bytes + NUL.
///
/// Note that the original loader finds the string table by scanning, so a program without
/// strings, or whose instructions look like a table entry, is not imported as written.
pub fn conc_image(code: &[Instruction], strings: &[&[u8]]) -> Vec<u8> {
    let mut image = Vec::new();
    image.extend_from_slice(&(code.len() as u16).to_le_bytes());
    image.extend_from_slice(&(strings.len() as u16).to_le_bytes());
    image.extend_from_slice(&[0; 4]);
    for i in code {
        image.extend_from_slice(&i.encode());
    }
    for s in strings {
        image.extend_from_slice(&(s.len() as u32 + 1).to_le_bytes());
        image.extend_from_slice(s);
        image.push(0);
    }
    let mut out = Vec::with_capacity(16 + image.len());
    out.extend_from_slice(&CONC_MAGIC.to_le_bytes());
    out.extend_from_slice(&(image.len() as u32).to_le_bytes());
    out.extend_from_slice(&(code.len() as u32).to_le_bytes());
    out.extend_from_slice(&(strings.len() as u16).to_le_bytes());
    out.extend_from_slice(&CRC16.checksum(&image).to_le_bytes());
    out.extend_from_slice(&image);
    out
}
