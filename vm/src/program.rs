//! A validated, borrowed view of a program image: CVBC v1 containers, original CONC (page-63)
//! images, and raw instruction bytes.
//!
//! Everything is checked once in the constructors, so that the accessors and the engine's hot loop
//! only need cheap, infallible-by-construction look-ups (they still never panic on any input).
//! The CVBC v1 layout is documented in `vm/README.md`.

use core::fmt;

use crate::GLOBALS;
use crate::isa::{INSTRUCTION_SIZE, Instruction};

/// CVBC magic, the first four bytes of a CVBC image: ASCII `"CVBC"`.
pub const CVBC_MAGIC: [u8; 4] = *b"CVBC";
/// CONC magic as a little-endian u32 (reference §3.1): `0x434F4E43`, bytes `43 4E 4F 43`.
pub const CONC_MAGIC: u32 = 0x434F_4E43;
/// The CVBC major version this reader understands.
pub const CVBC_VERSION_MAJOR: u16 = 1;
/// The CVBC minor version the writer produces. Readers accept any minor of major 1 (minor
/// versions may only add optional sections, which older readers skip).
pub const CVBC_VERSION_MINOR: u16 = 0;
/// Size of the fixed CVBC header in bytes (before the section table).
pub const CVBC_HEADER_SIZE: usize = 24;
/// Size of one CVBC section-table entry in bytes: `(u32 kind, u32 offset, u32 length)`.
pub const CVBC_SECTION_ENTRY_SIZE: usize = 12;
/// Byte offset of the CRC-32 field in the CVBC header.
pub const CVBC_CRC_OFFSET: usize = 20;
/// Section kind: code (instructions, 4 bytes each). Required.
pub const SECTION_CODE: u32 = 1;
/// Section kind: string table. Optional (absent = no strings).
pub const SECTION_STRINGS: u32 = 2;
/// Section kind: metadata (name, source hash, compiler version, global symbols). Optional.
pub const SECTION_METADATA: u32 = 3;
/// Maximum number of instructions in a program (jump/call immediates are 16-bit).
pub const MAX_INSTRUCTIONS: usize = 65536;
/// Size of the CONC (page-63) header in bytes (reference §3.1).
pub const CONC_HEADER_SIZE: usize = 16;
/// Size of the original compiler image header inside a CONC image (reference §3.1).
pub const CONC_IMAGE_HEADER_SIZE: usize = 8;
/// Maximum number of strings the original loader registers (reference §3.1, §4.7).
pub const CONC_MAX_STRINGS: usize = 32;
/// Maximum string length the original IOController keeps (reference §3.1: "max 127 chars").
pub const CONC_MAX_STRING_LEN: usize = 127;

/// Image flag (CVBC header `flags` bit 0): the program follows the Arduino model (`setup()` once,
/// then `loop()` forever), so running out of budget is its normal end rather than a failure.
pub const FLAG_ARDUINO_LOOP: u32 = 1;

/// CRC-32/ISO-HDLC (IEEE 802.3), used by CVBC.
pub(crate) const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
/// CRC-16/IBM-3740 (= CCITT-FALSE: poly 0x1021, init 0xFFFF), used by CONC (reference §3.1).
pub(crate) const CRC16: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_IBM_3740);

/// Why an image was rejected. Offsets are byte offsets into the image given to the parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerError {
    /// The first four bytes are neither `CVBC` nor the CONC magic.
    BadMagic {
        /// The four bytes found.
        found: [u8; 4],
    },
    /// A CVBC major version this reader does not understand.
    UnsupportedVersion {
        /// Major version in the header.
        major: u16,
        /// Minor version in the header.
        minor: u16,
    },
    /// The stored checksum (CRC-32 for CVBC, CRC-16 for CONC, widened) does not match.
    CrcMismatch {
        /// Checksum stored in the header.
        stored: u32,
        /// Checksum computed over the image.
        computed: u32,
    },
    /// The image is shorter than a header, the section table or its declared size requires.
    Truncated {
        /// Bytes required.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// A header field has an invalid value (e.g. non-zero reserved field, total size smaller
    /// than the header, zero CONC program size or instruction count).
    BadHeader {
        /// Byte offset of the offending field.
        offset: usize,
    },
    /// A section extends past the end of the file (as given by the header's total size).
    SectionOutOfBounds {
        /// Section kind.
        kind: u32,
        /// Declared offset.
        offset: u32,
        /// Declared length.
        length: u32,
        /// File length (the header's total size).
        file_len: usize,
    },
    /// A section kind appears twice.
    DuplicateSection {
        /// Section kind.
        kind: u32,
    },
    /// A required section (code) is missing.
    MissingSection {
        /// Section kind.
        kind: u32,
    },
    /// The code is empty, not a multiple of 4 bytes, or longer than [`MAX_INSTRUCTIONS`].
    BadCode {
        /// Code length in bytes.
        length: usize,
    },
    /// The string table is malformed.
    BadStringTable {
        /// Byte offset of the offending field.
        offset: usize,
    },
    /// The metadata section is malformed (bounds, UTF-8, global index ≥ [`GLOBALS`]).
    BadMetadata {
        /// Byte offset of the offending field.
        offset: usize,
    },
    /// CONC import: the string-table scan of reference §3.1 found no table.
    NoStringTable,
}

impl fmt::Display for ContainerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ContainerError::BadMagic { found } => write!(
                f,
                "bad magic {:02x} {:02x} {:02x} {:02x}: not a CVBC or CONC image",
                found[0], found[1], found[2], found[3]
            ),
            ContainerError::UnsupportedVersion { major, minor } => write!(
                f,
                "unsupported CVBC version {major}.{minor} (this reader supports {CVBC_VERSION_MAJOR}.x)"
            ),
            ContainerError::CrcMismatch { stored, computed } => write!(
                f,
                "checksum mismatch: header says {stored:#010x}, image gives {computed:#010x}"
            ),
            ContainerError::Truncated { needed, available } => write!(
                f,
                "image truncated: {needed} bytes needed, {available} available"
            ),
            ContainerError::BadHeader { offset } => {
                write!(f, "invalid header field at offset {offset}")
            }
            ContainerError::SectionOutOfBounds {
                kind,
                offset,
                length,
                file_len,
            } => write!(
                f,
                "section kind {kind} at offset {offset} length {length} exceeds the file ({file_len} bytes)"
            ),
            ContainerError::DuplicateSection { kind } => {
                write!(f, "section kind {kind} appears more than once")
            }
            ContainerError::MissingSection { kind } => {
                write!(f, "required section kind {kind} is missing")
            }
            ContainerError::BadCode { length } => write!(
                f,
                "bad code section: {length} bytes (must be a non-zero multiple of 4, at most {MAX_INSTRUCTIONS} instructions)"
            ),
            ContainerError::BadStringTable { offset } => {
                write!(f, "malformed string table at offset {offset}")
            }
            ContainerError::BadMetadata { offset } => {
                write!(f, "malformed metadata at offset {offset}")
            }
            ContainerError::NoStringTable => {
                f.write_str("CONC image: no string table found by the loader's scan")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ContainerError {}

/// Where a program came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    /// A CVBC container with this version.
    Cvbc {
        /// Major version.
        major: u16,
        /// Minor version.
        minor: u16,
    },
    /// An original page-63 CONC image (reference §3.1).
    Conc,
    /// Raw instruction bytes ([`Program::from_code`]).
    Raw,
}

/// Which semantics the program expects where the two VMs differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// Cockpit semantics (CVBC and raw code).
    Cockpit,
    /// Original CockpitVM images (CONC): `DELAY` divides its argument by 17000 (reference §4.8).
    Original,
}

/// Program metadata (CVBC metadata section; empty for CONC and raw programs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata<'a> {
    /// Program name (UTF-8).
    pub name: &'a str,
    /// SHA-256 of the source as computed by the compiler (`None` for CONC and raw programs).
    pub source_hash: Option<[u8; 32]>,
    /// Compiler version string (UTF-8).
    pub compiler_version: &'a str,
    /// Encoded global-symbol entries (validated), read by [`Metadata::globals`].
    globals: &'a [u8],
}

impl<'a> Metadata<'a> {
    /// Global symbols as `(global index, name)` pairs, in the order stored.
    pub fn globals(&self) -> Globals<'a> {
        Globals { rest: self.globals }
    }
}

/// Iterator over global symbols: `(index < GLOBALS, name)`.
#[derive(Clone, Debug)]
pub struct Globals<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Globals<'a> {
    type Item = (u8, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let (entry, rest) = global_entry(self.rest)?;
        self.rest = rest;
        Some(entry)
    }
}

/// Decodes one global entry `u8 index, u8 name_len, name` → (entry, rest).
fn global_entry(b: &[u8]) -> Option<((u8, &str), &[u8])> {
    let (&[index, len], rest) = b.split_first_chunk::<2>()?;
    let (name, rest) = rest.split_at_checked(len as usize)?;
    let name = core::str::from_utf8(name).ok()?;
    Some(((index, name), rest))
}

/// Where string `id` lives.
// The CONC variant carries a fixed 32-entry table on purpose: no heap (crate rule).
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug)]
enum Strings<'a> {
    /// No strings.
    None,
    /// CVBC string table: the whole section (entries validated at parse time).
    Cvbc { table: &'a [u8], count: u32 },
    /// CONC: (offset, length) into `image` for each registered string.
    Conc {
        image: &'a [u8],
        entries: [(usize, u8); CONC_MAX_STRINGS],
        count: u8,
    },
}

/// A validated, borrowed program: code, strings, flags and metadata.
///
/// Invariants: the code is a non-empty multiple of 4 bytes with at most [`MAX_INSTRUCTIONS`]
/// instructions; every string entry lies inside the image.
#[derive(Clone, Copy, Debug)]
pub struct Program<'a> {
    code: &'a [[u8; INSTRUCTION_SIZE]],
    strings: Strings<'a>,
    flags: u32,
    format: ImageFormat,
    metadata: Metadata<'a>,
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    b.get(off..)?
        .first_chunk::<2>()
        .map(|c| u16::from_le_bytes(*c))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    b.get(off..)?
        .first_chunk::<4>()
        .map(|c| u32::from_le_bytes(*c))
}

fn words(code: &[u8]) -> Result<&[[u8; INSTRUCTION_SIZE]], ContainerError> {
    let (words, rest) = code.as_chunks::<INSTRUCTION_SIZE>();
    if words.is_empty() || !rest.is_empty() || words.len() > MAX_INSTRUCTIONS {
        return Err(ContainerError::BadCode { length: code.len() });
    }
    Ok(words)
}

const EMPTY_METADATA: Metadata<'static> = Metadata {
    name: "",
    source_hash: None,
    compiler_version: "",
    globals: &[],
};

impl<'a> Program<'a> {
    /// Parses an image, dispatching on its magic: `CVBC` → [`Program::from_cvbc`], CONC
    /// (`43 4E 4F 43`) → [`Program::from_conc`].
    ///
    /// Errors: `Truncated` if shorter than 4 bytes, `BadMagic` for any other magic, and the
    /// errors of the chosen reader.
    pub fn parse(image: &'a [u8]) -> Result<Self, ContainerError> {
        let Some(magic) = image.first_chunk::<4>() else {
            return Err(ContainerError::Truncated {
                needed: 4,
                available: image.len(),
            });
        };
        if *magic == CVBC_MAGIC {
            Self::from_cvbc(image)
        } else if u32::from_le_bytes(*magic) == CONC_MAGIC {
            Self::from_conc(image)
        } else {
            Err(ContainerError::BadMagic { found: *magic })
        }
    }

    /// Wraps raw instruction bytes (no strings, no metadata, flags 0, [`ImageFormat::Raw`],
    /// [`Dialect::Cockpit`]). Error: `BadCode` unless the length is a non-zero multiple of 4 with
    /// at most [`MAX_INSTRUCTIONS`] instructions.
    pub fn from_code(code: &'a [u8]) -> Result<Self, ContainerError> {
        Ok(Program {
            code: words(code)?,
            strings: Strings::None,
            flags: 0,
            format: ImageFormat::Raw,
            metadata: EMPTY_METADATA,
        })
    }

    /// Parses a CVBC v1 container (layout: `vm/README.md`). Bytes after the header's total size
    /// are ignored (e.g. erased flash). Checks, in order: magic, version, header/section-table
    /// size, total size, CRC-32, then each section's bounds and contents.
    pub fn from_cvbc(image: &'a [u8]) -> Result<Self, ContainerError> {
        let available = image.len();
        let truncated = |needed: usize| ContainerError::Truncated { needed, available };
        let Some(header) = image.first_chunk::<CVBC_HEADER_SIZE>() else {
            if let Some(magic) = image.first_chunk::<4>()
                && *magic != CVBC_MAGIC
            {
                return Err(ContainerError::BadMagic { found: *magic });
            }
            return Err(truncated(CVBC_HEADER_SIZE));
        };
        let h = header.as_slice();
        let magic = [header[0], header[1], header[2], header[3]];
        if magic != CVBC_MAGIC {
            return Err(ContainerError::BadMagic { found: magic });
        }
        let major = u16_at(h, 4).unwrap_or(0);
        let minor = u16_at(h, 6).unwrap_or(0);
        if major != CVBC_VERSION_MAJOR {
            return Err(ContainerError::UnsupportedVersion { major, minor });
        }
        let flags = u32_at(h, 8).unwrap_or(0);
        let total = u32_at(h, 12).unwrap_or(0) as usize;
        let section_count = u16_at(h, 16).unwrap_or(0) as usize;
        if u16_at(h, 18) != Some(0) {
            return Err(ContainerError::BadHeader { offset: 18 });
        }
        let stored_crc = u32_at(h, CVBC_CRC_OFFSET).unwrap_or(0);
        let table_end = CVBC_HEADER_SIZE + section_count * CVBC_SECTION_ENTRY_SIZE;
        if available < table_end {
            return Err(truncated(table_end));
        }
        if total < table_end {
            return Err(ContainerError::BadHeader { offset: 12 });
        }
        let Some(file) = image.get(..total) else {
            return Err(truncated(total));
        };
        let mut digest = CRC32.digest();
        digest.update(file.get(..CVBC_CRC_OFFSET).unwrap_or(&[]));
        digest.update(&[0; 4]);
        digest.update(file.get(CVBC_CRC_OFFSET + 4..).unwrap_or(&[]));
        let computed = digest.finalize();
        if computed != stored_crc {
            return Err(ContainerError::CrcMismatch {
                stored: stored_crc,
                computed,
            });
        }

        let mut code: Option<(usize, &[u8])> = None;
        let mut strings: Option<(usize, &[u8])> = None;
        let mut meta: Option<(usize, &[u8])> = None;
        for i in 0..section_count {
            let at = CVBC_HEADER_SIZE + i * CVBC_SECTION_ENTRY_SIZE;
            let kind = u32_at(file, at).unwrap_or(0);
            let offset = u32_at(file, at + 4).unwrap_or(0);
            let length = u32_at(file, at + 8).unwrap_or(0);
            let body = (offset as usize)
                .checked_add(length as usize)
                .and_then(|end| file.get(offset as usize..end))
                .ok_or(ContainerError::SectionOutOfBounds {
                    kind,
                    offset,
                    length,
                    file_len: total,
                })?;
            let slot = match kind {
                SECTION_CODE => &mut code,
                SECTION_STRINGS => &mut strings,
                SECTION_METADATA => &mut meta,
                _ => continue, // unknown kinds are skipped (added by later minor versions)
            };
            if slot.is_some() {
                return Err(ContainerError::DuplicateSection { kind });
            }
            *slot = Some((offset as usize, body));
        }
        let (_, code) = code.ok_or(ContainerError::MissingSection { kind: SECTION_CODE })?;
        let code = words(code)?;
        let strings = match strings {
            Some((at, table)) => parse_string_table(at, table)?,
            None => Strings::None,
        };
        let metadata = match meta {
            Some((at, body)) => parse_metadata(at, body)?,
            None => EMPTY_METADATA,
        };
        Ok(Program {
            code,
            strings,
            flags,
            format: ImageFormat::Cvbc { major, minor },
            metadata,
        })
    }

    /// Imports an original page-63 CONC image, exactly as the original loader (reference §3.1):
    /// 16-byte header (magic `0x434F4E43` LE, u32 program_size ≠ 0, u32 instruction_count ≠ 0,
    /// u16 string_count (unused), u16 CRC-16/CCITT-FALSE over the program_size bytes at offset
    /// 16), then the compiler image: 8-byte header (ignored), instructions, and a string table
    /// located by the loader's scanning heuristic (which can cut programs short, as in the
    /// original). Strings are u32-length-prefixed (length includes the NUL), kept up to the first
    /// NUL and at most 127 bytes, at most 32 of them, without escape processing.
    /// Bytes after the image are ignored. Dialect: [`Dialect::Original`].
    ///
    /// Errors: `Truncated`, `BadMagic`, `BadHeader` (zero program size at 4 / instruction count
    /// at 8), `CrcMismatch`, `NoStringTable`, `BadCode` (the scan leaves no instruction).
    pub fn from_conc(image: &'a [u8]) -> Result<Self, ContainerError> {
        let available = image.len();
        let Some(header) = image.first_chunk::<CONC_HEADER_SIZE>() else {
            return Err(ContainerError::Truncated {
                needed: CONC_HEADER_SIZE,
                available,
            });
        };
        let h = header.as_slice();
        let magic = u32_at(h, 0).unwrap_or(0);
        if magic != CONC_MAGIC {
            return Err(ContainerError::BadMagic {
                found: magic.to_le_bytes(),
            });
        }
        let size = u32_at(h, 4).unwrap_or(0) as usize;
        if size == 0 {
            return Err(ContainerError::BadHeader { offset: 4 });
        }
        if u32_at(h, 8) == Some(0) {
            return Err(ContainerError::BadHeader { offset: 8 });
        }
        let stored = u16_at(h, 14).unwrap_or(0);
        let end = CONC_HEADER_SIZE.saturating_add(size);
        let Some(prog) = image.get(CONC_HEADER_SIZE..end) else {
            return Err(ContainerError::Truncated {
                needed: end,
                available,
            });
        };
        let computed = CRC16.checksum(prog);
        if computed != stored {
            return Err(ContainerError::CrcMismatch {
                stored: stored.into(),
                computed: computed.into(),
            });
        }
        // Scan for the string table (reference §3.1).
        let printable = |b: &u8| matches!(*b, 0x20..=0x7E | b'\t' | b'\n' | b'\r');
        let mut cursor = CONC_IMAGE_HEADER_SIZE;
        let table = loop {
            if cursor.saturating_add(8) >= size {
                return Err(ContainerError::NoStringTable);
            }
            let v = u32_at(prog, cursor).unwrap_or(0);
            if (1..256).contains(&v) {
                let probe = prog.get(cursor + 4..cursor + 4 + (v as usize).min(4));
                if probe.is_some_and(|p| p.iter().all(printable)) {
                    break cursor;
                }
            }
            cursor += 4;
        };
        let code = words(prog.get(CONC_IMAGE_HEADER_SIZE..table).unwrap_or(&[]))?;
        let mut entries = [(0usize, 0u8); CONC_MAX_STRINGS];
        let mut count = 0u8;
        let mut at = table;
        for entry in entries.iter_mut() {
            let Some(len) = u32_at(prog, at) else { break };
            let len = len as usize;
            if len == 0 || len > 256 {
                break;
            }
            let Some(bytes) = prog.get(at + 4..at + 4 + len) else {
                break;
            };
            let kept = bytes
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(len)
                .min(CONC_MAX_STRING_LEN);
            *entry = (CONC_HEADER_SIZE + at + 4, kept as u8);
            count += 1;
            at += 4 + len;
        }
        Ok(Program {
            code,
            strings: Strings::Conc {
                image,
                entries,
                count,
            },
            flags: 0,
            format: ImageFormat::Conc,
            metadata: EMPTY_METADATA,
        })
    }

    /// Number of instructions (≥ 1).
    pub fn instruction_count(&self) -> usize {
        self.code.len()
    }

    /// The instruction at `index`, or `None` past the end.
    pub fn instruction(&self, index: usize) -> Option<Instruction> {
        self.code.get(index).map(|w| Instruction::decode(*w))
    }

    /// The encoded instructions, 4 bytes each.
    pub fn code_words(&self) -> &'a [[u8; INSTRUCTION_SIZE]] {
        self.code
    }

    /// The bytes of string `id` (no terminating NUL), or `None` if the table has no such id.
    pub fn string(&self, id: u16) -> Option<&'a [u8]> {
        match self.strings {
            Strings::None => None,
            Strings::Cvbc { table, count } => {
                if u32::from(id) >= count {
                    return None;
                }
                let at = 4 + 8 * id as usize;
                let off = u32_at(table, at)? as usize;
                let len = u32_at(table, at + 4)? as usize;
                table.get(off..off.checked_add(len)?)
            }
            Strings::Conc {
                image,
                entries,
                count,
            } => {
                if id >= u16::from(count) {
                    return None;
                }
                let (off, len) = *entries.get(id as usize)?;
                image.get(off..off + len as usize)
            }
        }
    }

    /// Number of strings (valid ids are `0..string_count()`).
    pub fn string_count(&self) -> usize {
        match self.strings {
            Strings::None => 0,
            Strings::Cvbc { count, .. } => count as usize,
            Strings::Conc { count, .. } => count as usize,
        }
    }

    /// Image flags (CVBC header; 0 for CONC and raw). See [`FLAG_ARDUINO_LOOP`].
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// Where the program came from.
    pub fn format(&self) -> ImageFormat {
        self.format
    }

    /// Metadata (empty strings and no hash for CONC and raw programs).
    pub fn metadata(&self) -> Metadata<'a> {
        self.metadata
    }

    /// Global symbols `(index, name)` from the metadata.
    pub fn globals(&self) -> Globals<'a> {
        self.metadata.globals()
    }

    /// The semantics the program expects: [`Dialect::Original`] for CONC images, else Cockpit.
    pub fn dialect(&self) -> Dialect {
        match self.format {
            ImageFormat::Conc => Dialect::Original,
            _ => Dialect::Cockpit,
        }
    }
}

/// Validates a CVBC string table at file offset `at`: `u32 count`, `count × (u32 offset,
/// u32 length)` (offsets relative to the section start), then the bytes.
fn parse_string_table(at: usize, table: &[u8]) -> Result<Strings<'_>, ContainerError> {
    let count = u32_at(table, 0).ok_or(ContainerError::BadStringTable { offset: at })?;
    if count > 65536 {
        return Err(ContainerError::BadStringTable { offset: at });
    }
    for i in 0..count as usize {
        let e = 4 + 8 * i;
        let bad = ContainerError::BadStringTable { offset: at + e };
        let off = u32_at(table, e).ok_or(bad)? as usize;
        let len = u32_at(table, e + 4).ok_or(bad)? as usize;
        let end = off.checked_add(len).ok_or(bad)?;
        if end > table.len() {
            return Err(bad);
        }
    }
    Ok(Strings::Cvbc { table, count })
}

/// Validates a CVBC metadata section at file offset `at`: `u16 name_len, name, [u8; 32]
/// source_hash, u16 version_len, version, u16 global_count, global_count × (u8 index,
/// u8 name_len, name)`; strings UTF-8, global index < GLOBALS, nothing after the globals.
fn parse_metadata(at: usize, body: &[u8]) -> Result<Metadata<'_>, ContainerError> {
    let mut pos = 0usize;
    let bad = |pos: usize| ContainerError::BadMetadata { offset: at + pos };
    let text = |pos: &mut usize| -> Result<&str, ContainerError> {
        let len = u16_at(body, *pos).ok_or(bad(*pos))? as usize;
        let bytes = body.get(*pos + 2..*pos + 2 + len).ok_or(bad(*pos))?;
        let s = core::str::from_utf8(bytes).map_err(|_| bad(*pos + 2))?;
        *pos += 2 + len;
        Ok(s)
    };
    let name = text(&mut pos)?;
    let hash = *body
        .get(pos..)
        .and_then(|b| b.first_chunk::<32>())
        .ok_or(bad(pos))?;
    pos += 32;
    let compiler_version = text(&mut pos)?;
    let count = u16_at(body, pos).ok_or(bad(pos))?;
    pos += 2;
    let globals = body.get(pos..).unwrap_or(&[]);
    let mut rest = globals;
    for _ in 0..count {
        let here = pos + (globals.len() - rest.len());
        let ((index, _), next) = global_entry(rest).ok_or(bad(here))?;
        if index as usize >= GLOBALS {
            return Err(bad(here));
        }
        rest = next;
    }
    if !rest.is_empty() {
        return Err(bad(pos + (globals.len() - rest.len())));
    }
    Ok(Metadata {
        name,
        source_hash: Some(hash),
        compiler_version,
        globals,
    })
}
