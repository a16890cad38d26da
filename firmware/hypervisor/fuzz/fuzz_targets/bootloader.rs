//! Fuzz target: the Oracle device engine (frame decoder + protocol state machine + flash
//! programming) fed arbitrary operations — raw bytes, well-framed arbitrary payloads,
//! structured requests (including chunks of a valid image, so uploads can complete and banks
//! swap), time steps and reboots.
//!
//! Checked: no panic; every output is a sequence of complete, decodable response frames; the
//! flash is never erased or programmed outside the upload target — anything but the bank that
//! boots (recomputed with `boot::select` after every metadata write) and the metadata pages
//! ([`CheckedFlash`] panics otherwise); every program targets an erased double word (the
//! engine never triggers PROGERR); at every reboot, what boots is what booted before unless a
//! metadata write activated another bank (or nothing booted).
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run bootloader -- -max_total_time=660` (README.md).
#![no_main]

use std::sync::OnceLock;

use cockpit_hypervisor::boot::{self, Bank, META_PAGES};
use cockpit_hypervisor::{
    Bootloader, FLASH_BASE, FLASH_SIZE, Flash, FlashError, FlashProgrammer, MemFlash, PAGE_SIZE,
    ProgramError,
};
use cockpit_oracle::device::{
    self, DataPacket, DeviceInfoRequest, FlashProgramRequest, FlashReadRequest, HandshakeRequest,
    Request, RequestKind, ResponseKind,
};
use cockpit_oracle::frame::{self, Decoder};
use cockpit_vm::CvbcWriter;
use cockpit_vm::isa::{Instruction, Opcode};
use libfuzzer_sys::fuzz_target;

struct CheckedFlash {
    bytes: Vec<u8>,
    /// The bank that boots: must never be touched.
    protected: Option<Bank>,
}

impl CheckedFlash {
    fn check(&self, addr: u32, len: usize, what: &str) {
        let end = addr as u64 + len as u64;
        let in_meta = addr >= META_PAGES[0] && end <= META_PAGES[1] as u64 + PAGE_SIZE as u64;
        let bank = Bank::containing(addr).filter(|b| end <= b.addr() as u64 + b.size() as u64);
        match bank {
            Some(b) if Some(b) != self.protected => {}
            _ if in_meta => {}
            _ => panic!(
                "{what} at {addr:#010x}+{len} outside the inactive bank (booting {:?})",
                self.protected
            ),
        }
    }

    fn mem(&mut self) -> MemFlash<'_> {
        MemFlash {
            base: FLASH_BASE,
            bytes: &mut self.bytes,
        }
    }
}

impl Flash for CheckedFlash {
    fn read(&self, addr: u32, len: usize) -> Result<&[u8], FlashError> {
        cockpit_hypervisor::byte_range(FLASH_BASE, addr, len)
            .and_then(|r| self.bytes.get(r))
            .ok_or(FlashError::OutOfRange { addr, len })
    }
}

impl FlashProgrammer for CheckedFlash {
    fn erase_page(&mut self, addr: u32) -> Result<(), ProgramError> {
        self.check(addr, PAGE_SIZE, "erase");
        self.mem().erase_page(addr)
    }

    fn program_double_word(&mut self, addr: u32, data: [u8; 8]) -> Result<(), ProgramError> {
        self.check(addr, 8, "program");
        let r = self.mem().program_double_word(addr, data);
        assert!(
            !matches!(r, Err(ProgramError::NotErased { .. })),
            "PROGERR at {addr:#010x}"
        );
        if addr >= META_PAGES[0] {
            self.protected = boot::select(&*self).bank();
        }
        r
    }
}

fn images() -> &'static [Vec<u8>; 3] {
    static IMAGES: OnceLock<[Vec<u8>; 3]> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let make = |n: usize, tag: u16| {
            let mut code: Vec<Instruction> = (0..n)
                .map(|i| Instruction::new(Opcode::Push, 0, i as u16 ^ tag))
                .collect();
            code.push(Instruction::new(Opcode::Halt, 0, 0));
            CvbcWriter {
                code,
                name: "fuzz".into(),
                ..Default::default()
            }
            .to_bytes()
        };
        let mut bad = make(300, 3);
        bad[100] ^= 0x10;
        [make(20, 1), make(700, 2), bad]
    })
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.byte()?, self.byte()?]))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from(self.u16()?) | u32::from(self.u16()?) << 16)
    }
    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
}

struct Harness {
    bl: Bootloader<CheckedFlash>,
    now: u64,
    seq: u32,
    image: usize,
    offset: usize,
}

impl Harness {
    /// Feeds bytes and checks the output; returns whether a non-error response was seen.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        let mut out = Vec::new();
        self.bl
            .receive(bytes, self.now, &mut |f: &[u8]| out.extend_from_slice(f));
        check_output(&out)
    }

    fn send(&mut self, req: &Request) -> bool {
        let mut p = vec![0u8; 2048];
        let Ok(n) = device::encode_request(req, &mut p) else {
            return false;
        };
        let mut f = vec![0u8; frame::MAX_FRAME];
        let Ok(m) = frame::encode(&p[..n], &mut f) else {
            return false;
        };
        self.feed(&f[..m])
    }
}

/// Decodes every response frame in `out` (panics on a malformed one); true if any response
/// was not an ErrorReport.
fn check_output(out: &[u8]) -> bool {
    let mut d = Decoder::new();
    let mut ok = false;
    for &b in out {
        match d.push(b) {
            None => {}
            Some(Ok(p)) => {
                let r = device::decode_response(p).expect("device response decodes");
                ok |= !matches!(r.response, Some(ResponseKind::Error(_)));
            }
            Some(Err(e)) => panic!("device sent a malformed frame: {e:?}"),
        }
    }
    assert!(!d.in_frame(), "device sent a partial frame");
    ok
}

fn new_flash(setup: u8) -> CheckedFlash {
    let mut bytes = vec![0xFF; FLASH_SIZE];
    let imgs = images();
    let at = |a: u32| (a - FLASH_BASE) as usize;
    if setup & 1 != 0 {
        let a = at(Bank::A.addr());
        bytes[a..a + imgs[0].len()].copy_from_slice(&imgs[0]);
    }
    if setup & 2 != 0 {
        let b = at(Bank::B.addr());
        bytes[b..b + imgs[1].len()].copy_from_slice(&imgs[1]);
    }
    let mut f = CheckedFlash {
        bytes,
        protected: None,
    };
    if setup & 4 != 0 {
        boot::write_active(&mut f, Bank::B).expect("metadata");
    }
    f.protected = boot::select(&f).bank();
    f
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let Some(setup) = input.byte() else { return };
    let mut h = Harness {
        bl: Bootloader::new(new_flash(setup), [7; 12], 0),
        now: 0,
        seq: 0,
        image: 0,
        offset: 0,
    };
    while let Some(op) = input.byte() {
        match op % 8 {
            0 => {
                let n = input.byte().unwrap_or(0) as usize;
                let bytes = input.take(n).to_vec();
                h.feed(&bytes);
            }
            1 => {
                let n = input.u16().unwrap_or(0) as usize % 1100;
                let payload = input.take(n).to_vec();
                let mut f = vec![0u8; frame::MAX_FRAME];
                if let Ok(m) = frame::encode(&payload, &mut f) {
                    h.feed(&f[..m]);
                }
            }
            2 => {
                let dt = u64::from(input.u16().unwrap_or(0));
                h.now += if op & 0x80 != 0 { dt * 16 } else { dt };
                let mut out = Vec::new();
                h.bl.poll(h.now, &mut |f: &[u8]| out.extend_from_slice(f));
                check_output(&out);
            }
            3 => {
                // Reboot: a new engine over the same flash (power kept).
                let flash =
                    std::mem::replace(&mut h.bl, Bootloader::new(new_flash(0), [7; 12], h.now))
                        .into_flash();
                // What boots changes only through a metadata write (checked at every reboot),
                // except that a complete upload may boot when nothing did.
                let mut flash = flash;
                let now = boot::select(&flash).bank();
                assert!(
                    flash.protected.is_none() || now == flash.protected,
                    "boot selection changed from {:?} to {now:?} without an activation",
                    flash.protected
                );
                flash.protected = now;
                h.bl = Bootloader::new(flash, [7; 12], h.now);
                h.seq = 0;
            }
            _ => {
                // A structured request with a chosen sequence id.
                let sel = input.byte().unwrap_or(0);
                let seq = match sel >> 5 {
                    0 => input.u32().unwrap_or(0),
                    1 => h.seq,
                    _ => h.seq.wrapping_add(1),
                };
                let kind = match sel % 8 {
                    0 => Some(RequestKind::Handshake(HandshakeRequest {
                        capabilities: device::bounded_str("flash_program,verify"),
                        max_packet_size: if sel & 8 != 0 {
                            1024
                        } else {
                            input.u16().unwrap_or(0).into()
                        },
                    })),
                    1 => {
                        h.image = input.byte().unwrap_or(0) as usize % 3;
                        h.offset = 0;
                        let total = if sel & 8 != 0 {
                            input.u32().unwrap_or(0)
                        } else {
                            images()[h.image].len() as u32
                        };
                        Some(RequestKind::FlashProgram(FlashProgramRequest {
                            total_data_length: total,
                            verify_after_program: false,
                        }))
                    }
                    2 | 3 => {
                        let img = &images()[h.image];
                        let n = (input.u16().unwrap_or(0) as usize % 1001)
                            .min(img.len().saturating_sub(h.offset));
                        let off = if sel & 8 != 0 {
                            input.u32().unwrap_or(0)
                        } else {
                            h.offset as u32
                        };
                        let chunk = img.get(h.offset..h.offset + n).unwrap_or(&[]);
                        let mut d = DataPacket {
                            offset: off,
                            data: heapless::Vec::new(),
                            data_crc32: cockpit_oracle::crc32(chunk),
                        };
                        let _ = d.data.extend_from_slice(chunk);
                        if sel & 16 != 0 {
                            d.data_crc32 ^= 1;
                        }
                        h.offset += n;
                        Some(RequestKind::Data(d))
                    }
                    4 => Some(RequestKind::FlashProgram(FlashProgramRequest {
                        total_data_length: 0,
                        verify_after_program: true,
                    })),
                    5 => Some(RequestKind::FlashRead(FlashReadRequest {
                        start_address: input.u32().unwrap_or(0),
                        length: input.u16().unwrap_or(0).into(),
                        chunk_sequence: 0,
                        include_checksum: true,
                    })),
                    6 => Some(RequestKind::DeviceInfo(DeviceInfoRequest::default())),
                    _ => None,
                };
                let req = Request {
                    sequence_id: seq,
                    request: kind,
                };
                if h.send(&req) {
                    h.seq = seq;
                }
            }
        }
    }
});
