//! The firmware's defmt log over RTT, read from target RAM and decoded against the ELF.
//!
//! The firmware (`firmware/stm32g474`, `defmt-rtt` 1.3) keeps a SEGGER RTT control block at the
//! ELF symbol `_SEGGER_RTT` in SRAM; up-channel 0 carries defmt frames (rzcobs-encoded, as the
//! ELF's `_defmt_encoding_` symbol says). This module finds the control block (symbol, else a
//! scan of SRAM/CCM for `"SEGGER RTT"`), reads up-channel 0's unread bytes (`RdOff..WrOff`)
//! through a read-memory function — so the same code serves the emulator's RAM snapshot and, later,
//! a probe's `read_8` — and decodes them with `defmt-decoder` (`Table::parse`, stream decoder).
//!
//! # Use from `EmuTarget` (after a run)
//! ```ignore
//! // `elf` = the firmware ELF bytes; `sram` = the 96 KiB SRAM snapshot at 0x2000_0000,
//! // `ccm` = the 32 KiB CCM snapshot at 0x1000_0000.
//! let mem = rtt::MemImage::new(&[(0x2000_0000, &sram[..]), (0x1000_0000, &ccm[..])]);
//! let log: Vec<String> = rtt::decode_rtt(&elf, |a, n| mem.read(a, n))?;
//! // each line: "<timestamp ms> <LEVEL> <message>", e.g. "0.001 INFO clock: HSE 8 MHz -> PLL 170 MHz"
//! ```
//! The firmware never reads RTT down-channels and runs `defmt-rtt` in non-blocking mode, so
//! nothing needs to be written back: with no host reading during the run, `RdOff` stays 0 and
//! the buffer (1 KiB) holds the first KiB of the log (later frames are dropped when it is full).
//! A live reader (probe) should poll, decode the bytes and write `RdOff = WrOff` back.

use std::fmt;

use defmt_decoder::{DecodeError, Table};

/// Start of SRAM1 (SRAM1 + SRAM2 = 96 KiB).
pub const SRAM_BASE: u32 = 0x2000_0000;
/// Regions scanned for the control block when the ELF has no `_SEGGER_RTT` symbol.
pub const SCAN_REGIONS: [(u32, usize); 2] = [(SRAM_BASE, 96 * 1024), (0x1000_0000, 32 * 1024)];
/// The control block's ID string (16 bytes, NUL-padded).
pub const RTT_ID: &[u8] = b"SEGGER RTT\0";
/// Largest ring buffer accepted as plausible.
const MAX_BUFFER: u32 = 1 << 20;

/// Reads `len` bytes of target memory at `addr`; `None` if unmapped or unreadable.
pub trait ReadMem {
    /// The bytes, exactly `len` of them, or `None`.
    fn read_mem(&self, addr: u32, len: usize) -> Option<Vec<u8>>;
}

impl<F: Fn(u32, usize) -> Option<Vec<u8>>> ReadMem for F {
    fn read_mem(&self, addr: u32, len: usize) -> Option<Vec<u8>> {
        self(addr, len)
    }
}

/// Target memory as a few `(base address, bytes)` regions (e.g. an emulator's RAM snapshot).
#[derive(Clone, Debug, Default)]
pub struct MemImage<'a> {
    regions: Vec<(u32, &'a [u8])>,
}

impl<'a> MemImage<'a> {
    /// The regions (may not overlap).
    pub fn new(regions: &[(u32, &'a [u8])]) -> Self {
        Self {
            regions: regions.to_vec(),
        }
    }

    /// `len` bytes at `addr` if they lie within one region.
    pub fn read(&self, addr: u32, len: usize) -> Option<Vec<u8>> {
        self.regions.iter().find_map(|&(base, bytes)| {
            let off = usize::try_from(addr.checked_sub(base)?).ok()?;
            bytes.get(off..off.checked_add(len)?).map(<[u8]>::to_vec)
        })
    }
}

impl ReadMem for MemImage<'_> {
    fn read_mem(&self, addr: u32, len: usize) -> Option<Vec<u8>> {
        self.read(addr, len)
    }
}

/// What went wrong reading or decoding the RTT log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RttError {
    /// The ELF could not be parsed as a defmt table.
    Elf(String),
    /// The ELF has no `.defmt` section (the firmware does not use defmt).
    NoDefmt,
    /// No control block: no `_SEGGER_RTT` symbol and no `"SEGGER RTT"` in the scanned RAM.
    NotFound,
    /// The control block at this address is not plausible (why).
    BadControlBlock(u32, String),
    /// Target memory could not be read.
    Read {
        /// Address.
        addr: u32,
        /// Length.
        len: usize,
    },
}

impl fmt::Display for RttError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RttError::Elf(e) => write!(f, "defmt table: {e}"),
            RttError::NoDefmt => write!(f, "the ELF has no .defmt section"),
            RttError::NotFound => write!(f, "no RTT control block (_SEGGER_RTT) found"),
            RttError::BadControlBlock(a, why) => write!(f, "RTT control block at {a:#010x}: {why}"),
            RttError::Read { addr, len } => write!(f, "cannot read {len} bytes at {addr:#010x}"),
        }
    }
}

impl std::error::Error for RttError {}

/// Finds the control block: the ELF's `_SEGGER_RTT` symbol, else a scan of [`SCAN_REGIONS`].
pub fn find_control_block(elf: &[u8], mem: &impl ReadMem) -> Result<u32, RttError> {
    if let Some(a) = crate::elf::symbol(elf, "_SEGGER_RTT") {
        return Ok(a);
    }
    // 4 KiB chunks (overlapping by the ID length), so a partly readable region still works.
    const CHUNK: usize = 4096;
    for (base, len) in SCAN_REGIONS {
        for off in (0..len).step_by(CHUNK) {
            let n = (CHUNK + RTT_ID.len() - 1).min(len - off);
            let Some(bytes) = mem.read_mem(base + off as u32, n) else {
                continue;
            };
            if let Some(p) = bytes.windows(RTT_ID.len()).position(|w| w == RTT_ID) {
                return Ok(base + (off + p) as u32);
            }
        }
    }
    Err(RttError::NotFound)
}

/// One up-channel's descriptor and its unread bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpChannel {
    /// Address of the ring buffer.
    pub buffer: u32,
    /// Its size.
    pub size: u32,
    /// Write offset (target side).
    pub wr: u32,
    /// Read offset (host side).
    pub rd: u32,
    /// Flags (mode in bits 0–1: 0 skip, 1 trim, 2 block).
    pub flags: u32,
    /// The unread bytes, `rd..wr` (wrapping).
    pub data: Vec<u8>,
}

/// Reads up-channel `channel` of the control block at `cb`.
///
/// Layout (SEGGER RTT): `char id[16]; i32 max_up; i32 max_down;` then `max_up` up-buffer
/// descriptors of 24 bytes `{ name*, buffer*, size, wr_off, rd_off, flags }`.
pub fn read_up_channel(mem: &impl ReadMem, cb: u32, channel: u32) -> Result<UpChannel, RttError> {
    let read = |addr: u32, len: usize| mem.read_mem(addr, len).ok_or(RttError::Read { addr, len });
    let word = |b: &[u8], i: usize| {
        u32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
    };
    let bad = |why: String| RttError::BadControlBlock(cb, why);
    let head = read(cb, 24)?;
    if !head.starts_with(b"SEGGER RTT") {
        return Err(bad("no \"SEGGER RTT\" ID (not initialised yet?)".into()));
    }
    let max_up = word(&head, 4);
    if max_up == 0 || max_up > 16 || channel >= max_up {
        return Err(bad(format!("{max_up} up-channels, wanted #{channel}")));
    }
    let d = read(cb + 24 + 24 * channel, 24)?;
    let (buffer, size, wr, rd, flags) = (
        word(&d, 1),
        word(&d, 2),
        word(&d, 3),
        word(&d, 4),
        word(&d, 5),
    );
    if buffer == 0 || size == 0 || size > MAX_BUFFER || wr >= size || rd >= size {
        return Err(bad(format!(
            "up-channel {channel}: buffer {buffer:#010x} size {size} wr {wr} rd {rd}"
        )));
    }
    let ring = read(buffer, size as usize)?;
    let (rd_u, wr_u) = (rd as usize, wr as usize);
    let data = if wr_u >= rd_u {
        ring[rd_u..wr_u].to_vec()
    } else {
        [&ring[rd_u..], &ring[..wr_u]].concat()
    };
    Ok(UpChannel {
        buffer,
        size,
        wr,
        rd,
        flags,
        data,
    })
}

/// The defmt table of a firmware ELF.
pub fn defmt_table(elf: &[u8]) -> Result<Table, RttError> {
    Table::parse(elf)
        .map_err(|e| RttError::Elf(format!("{e:#}")))?
        .ok_or(RttError::NoDefmt)
}

/// Decodes a defmt byte stream into lines `"<timestamp> <LEVEL> <message>"`. Malformed frames
/// become a `"<malformed defmt frame>"` line (rzcobs resynchronises at the next frame; with the
/// raw encoding the rest of the stream is dropped); a truncated last frame is ignored.
pub fn decode_frames(table: &Table, bytes: &[u8]) -> Vec<String> {
    let mut dec = table.new_stream_decoder();
    dec.received(bytes);
    let mut out = Vec::new();
    // Every successful or malformed decode consumes ≥ 1 byte, so this bound is never reached
    // except by a decoder that stops making progress.
    for _ in 0..=bytes.len() {
        match dec.decode() {
            Ok(frame) => out.push(frame.display(false).to_string()),
            Err(DecodeError::UnexpectedEof) => break,
            Err(DecodeError::Malformed) => {
                out.push("<malformed defmt frame>".into());
                if table.encoding().can_recover() {
                    continue;
                }
                break;
            }
        }
    }
    out
}

/// The firmware's defmt log: finds the RTT control block (ELF symbol or RAM scan), reads
/// up-channel 0's unread bytes through `read_mem` and decodes them against the ELF.
pub fn decode_rtt(
    elf: &[u8],
    read_mem: impl Fn(u32, usize) -> Option<Vec<u8>>,
) -> Result<Vec<String>, RttError> {
    let table = defmt_table(elf)?;
    let cb = find_control_block(elf, &read_mem)?;
    let up = read_up_channel(&read_mem, cb, 0)?;
    Ok(decode_frames(&table, &up.data))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF32 (ARM, little endian) with a `.defmt` section whose symbols are the given
    /// defmt JSON strings (index = position + 1), the `_defmt_version_`/`_defmt_encoding_`
    /// symbols, and `_SEGGER_RTT` at `rtt` if given: what defmt + defmt-rtt link into the
    /// firmware, without the code.
    fn fake_elf(entries: &[&str], encoding: &str, rtt: Option<u32>) -> Vec<u8> {
        let mut strtab = vec![0u8];
        let mut syms: Vec<[u8; 16]> = vec![[0; 16]];
        let mut sym = |name: &str, value: u32, shndx: u16| {
            let mut s = [0u8; 16];
            s[0..4].copy_from_slice(&(strtab.len() as u32).to_le_bytes());
            s[4..8].copy_from_slice(&value.to_le_bytes());
            s[12] = (1 << 4) | 1; // GLOBAL OBJECT
            s[14..16].copy_from_slice(&shndx.to_le_bytes());
            strtab.extend_from_slice(name.as_bytes());
            strtab.push(0);
            syms.push(s);
        };
        for (i, e) in entries.iter().enumerate() {
            sym(e, i as u32 + 1, 1);
        }
        sym("_defmt_version_ = 4", 0, 0xFFF1);
        sym(&format!("_defmt_encoding_ = {encoding}"), 0, 0xFFF1);
        if let Some(a) = rtt {
            sym("_SEGGER_RTT", a, 0xFFF1);
        }
        let shstr = b"\0.defmt\0.symtab\0.strtab\0.shstrtab\0".to_vec();
        let defmt = vec![0u8; entries.len() + 1];
        let symtab: Vec<u8> = syms.concat();
        let mut body = Vec::new();
        let mut offs = Vec::new();
        for part in [&defmt, &symtab, &strtab, &shstr] {
            offs.push(52 + body.len());
            body.extend_from_slice(part);
            while body.len() % 4 != 0 {
                body.push(0);
            }
        }
        let shoff = 52 + body.len();
        let mut elf = vec![0x7F, b'E', b'L', b'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let h16 = |e: &mut Vec<u8>, v: u16| e.extend_from_slice(&v.to_le_bytes());
        let h32 = |e: &mut Vec<u8>, v: u32| e.extend_from_slice(&v.to_le_bytes());
        h16(&mut elf, 2); // ET_EXEC
        h16(&mut elf, 40); // EM_ARM
        h32(&mut elf, 1);
        h32(&mut elf, 0); // entry
        h32(&mut elf, 0); // phoff
        h32(&mut elf, shoff as u32);
        h32(&mut elf, 0x0500_0400); // EABI5, hard float
        for v in [52u16, 0, 0, 40, 5, 4] {
            h16(&mut elf, v); // ehsize, phentsize, phnum, shentsize, shnum, shstrndx
        }
        elf.extend_from_slice(&body);
        // name, type, flags, addr, offset, size, link, info, addralign, entsize
        let secs: [[u32; 10]; 5] = [
            [0; 10],
            [1, 1, 0, 0, offs[0] as u32, defmt.len() as u32, 0, 0, 1, 0],
            [8, 2, 0, 0, offs[1] as u32, symtab.len() as u32, 3, 1, 4, 16],
            [16, 3, 0, 0, offs[2] as u32, strtab.len() as u32, 0, 0, 1, 0],
            [24, 3, 0, 0, offs[3] as u32, shstr.len() as u32, 0, 0, 1, 0],
        ];
        for s in secs {
            for v in s {
                h32(&mut elf, v);
            }
        }
        elf
    }

    fn entry(tag: &str, data: &str, n: u32) -> String {
        format!(
            r#"{{"package":"cockpit-firmware","tag":"{tag}","data":"{data}","disambiguator":"{n}","crate_name":"cockpit_firmware"}}"#
        )
    }

    /// The firmware's log statements (a subset, same format strings).
    fn firmware_entries() -> Vec<String> {
        vec![
            entry("defmt_timestamp", "{=u64:ms}", 1),
            entry("defmt_info", "clock: HSE 8 MHz -> PLL 170 MHz", 2),
            entry(
                "defmt_info",
                "failsafe: {=str} -> {=str} ({=str}), faults in a row {=u32}, boot #{=u32}",
                3,
            ),
            entry(
                "defmt_error",
                "guest: VM error {=str} ({=u8}) at pc {=u32} opcode {=u8:#04x}",
                4,
            ),
        ]
    }

    /// Raw-encoded frames as defmt-rtt writes them: u16 index, the u64 timestamp, the arguments
    /// (`{=str}` = u32 length + bytes).
    fn raw_stream() -> Vec<u8> {
        let mut b = Vec::new();
        let s = |b: &mut Vec<u8>, t: &str| {
            b.extend_from_slice(&(t.len() as u32).to_le_bytes());
            b.extend_from_slice(t.as_bytes());
        };
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&1u64.to_le_bytes());
        b.extend_from_slice(&3u16.to_le_bytes());
        b.extend_from_slice(&2u64.to_le_bytes());
        s(&mut b, "none");
        s(&mut b, "NORMAL");
        s(&mut b, "power-on");
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&4u16.to_le_bytes());
        b.extend_from_slice(&1234u64.to_le_bytes());
        s(&mut b, "StackOverflow");
        b.push(3);
        b.extend_from_slice(&17u32.to_le_bytes());
        b.push(0x10);
        b
    }

    const EXPECTED: [&str; 3] = [
        "0.001 INFO clock: HSE 8 MHz -> PLL 170 MHz",
        "0.002 INFO failsafe: none -> NORMAL (power-on), faults in a row 0, boot #1",
        "1.234 ERROR guest: VM error StackOverflow (3) at pc 17 opcode 0x10",
    ];

    /// Target RAM with a defmt-rtt control block at `cb` whose up-channel 0 (1 KiB buffer at
    /// `cb + 0x100`) holds `data` starting at `rd`.
    fn fake_ram(cb: u32, data: &[u8], rd: u32) -> Vec<u8> {
        let mut ram = vec![0u8; 0x2000];
        let o = (cb - SRAM_BASE) as usize;
        let put = |ram: &mut Vec<u8>, at: usize, v: u32| {
            ram[at..at + 4].copy_from_slice(&v.to_le_bytes())
        };
        ram[o..o + 16].copy_from_slice(b"SEGGER RTT\0\0\0\0\0\0");
        put(&mut ram, o + 16, 1); // max up
        put(&mut ram, o + 20, 0); // max down
        let buf = cb + 0x100;
        let size = 1024u32;
        put(&mut ram, o + 24, 0); // name
        put(&mut ram, o + 28, buf);
        put(&mut ram, o + 32, size);
        put(&mut ram, o + 36, (rd + data.len() as u32) % size); // wr
        put(&mut ram, o + 40, rd);
        put(&mut ram, o + 44, 0); // flags: non-blocking skip
        for (i, &b) in data.iter().enumerate() {
            ram[(buf - SRAM_BASE) as usize + (rd as usize + i) % size as usize] = b;
        }
        ram
    }

    #[test]
    fn decodes_a_recorded_raw_stream_in_any_chunking() {
        let entries = firmware_entries();
        let refs: Vec<&str> = entries.iter().map(String::as_str).collect();
        let elf = fake_elf(&refs, "raw", None);
        let table = defmt_table(&elf).expect("table");
        let bytes = raw_stream();
        assert_eq!(decode_frames(&table, &bytes), EXPECTED);
        // A truncated last frame is left for later, not reported.
        assert_eq!(
            decode_frames(&table, &bytes[..bytes.len() - 3]),
            EXPECTED[..2]
        );
        // Chunked feeding through one stream decoder.
        let mut dec = table.new_stream_decoder();
        let mut got = Vec::new();
        for c in bytes.chunks(5) {
            dec.received(c);
            while let Ok(f) = dec.decode() {
                got.push(f.display(false).to_string());
            }
        }
        assert_eq!(got, EXPECTED);
    }

    #[test]
    fn decode_rtt_via_symbol_and_via_scan_with_wrapped_ring() {
        let entries = firmware_entries();
        let refs: Vec<&str> = entries.iter().map(String::as_str).collect();
        let cb = 0x2000_0108;
        let bytes = raw_stream();
        for (rtt_sym, rd) in [(Some(cb), 0), (None, 0), (Some(cb), 1000)] {
            let elf = fake_elf(&refs, "raw", rtt_sym);
            assert_eq!(crate::elf::symbol(&elf, "_SEGGER_RTT"), rtt_sym);
            let ram = fake_ram(cb, &bytes, rd);
            let mem = MemImage::new(&[(SRAM_BASE, &ram[..])]);
            let lines = decode_rtt(&elf, |a, n| mem.read(a, n)).expect("decode");
            assert_eq!(lines, EXPECTED, "symbol {rtt_sym:?} rd {rd}");
            let up = read_up_channel(&mem, cb, 0).unwrap();
            assert_eq!((up.size, up.rd, up.data.len()), (1024, rd, bytes.len()));
        }
    }

    #[test]
    fn errors() {
        let entries = firmware_entries();
        let refs: Vec<&str> = entries.iter().map(String::as_str).collect();
        let elf = fake_elf(&refs, "raw", None);
        let empty = vec![0u8; 0x2000];
        let mem = MemImage::new(&[(SRAM_BASE, &empty[..])]);
        assert_eq!(
            decode_rtt(&elf, |a, n| mem.read(a, n)),
            Err(RttError::NotFound)
        );
        let elf = fake_elf(&refs, "raw", Some(0x2000_0100));
        assert!(matches!(
            decode_rtt(&elf, |a, n| mem.read(a, n)),
            Err(RttError::BadControlBlock(0x2000_0100, _))
        ));
        assert_eq!(
            decode_rtt(&elf, |_, _| None),
            Err(RttError::Read {
                addr: 0x2000_0100,
                len: 24
            })
        );
        assert!(matches!(
            decode_rtt(b"not an elf", |_, _| None),
            Err(RttError::Elf(_))
        ));
    }

    /// The real firmware ELF, if built (`firmware/stm32g474/build.sh`): the table parses, it
    /// uses rzcobs and has the `_SEGGER_RTT` symbol in SRAM.
    #[test]
    fn real_firmware_elf_has_a_defmt_table_and_rtt_block() {
        let path = crate::boards::default_firmware();
        let Ok(elf) = std::fs::read(&path) else {
            eprintln!("skipped: no firmware ELF at {}", path.display());
            return;
        };
        let table = defmt_table(&elf).expect("defmt table");
        assert!(!table.is_empty());
        let cb = crate::elf::symbol(&elf, "_SEGGER_RTT").expect("_SEGGER_RTT");
        assert!((SRAM_BASE..SRAM_BASE + 96 * 1024).contains(&cb), "{cb:#x}");
    }
}
