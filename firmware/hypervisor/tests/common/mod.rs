//! Shared helpers of the bootloader tests: an owned flash, images, and a device driver that
//! feeds frames and decodes the response frames.
#![allow(dead_code)]

use cockpit_hypervisor::{
    Bootloader, FLASH_BASE, FLASH_SIZE, Flash, FlashError, FlashProgrammer, MemFlash, ProgramError,
};
use cockpit_oracle::frame::{self, Decoder};
use cockpit_oracle::pb;
use cockpit_vm::CvbcWriter;
use cockpit_vm::isa::{Instruction, Opcode};
use prost::Message;

/// 512 KiB of flash at `FLASH_BASE`, with the RM0440 rules of [`MemFlash`], counting operations.
#[derive(Clone, Debug)]
pub struct VecFlash {
    pub bytes: Vec<u8>,
    pub ops: u32,
}

impl VecFlash {
    pub fn new() -> Self {
        VecFlash {
            bytes: vec![0xFF; FLASH_SIZE],
            ops: 0,
        }
    }

    /// Writes `image` at `addr` without any rule (a pre-loaded bank).
    pub fn put(&mut self, addr: u32, image: &[u8]) {
        let at = (addr - FLASH_BASE) as usize;
        self.bytes[at..at + image.len()].copy_from_slice(image);
    }

    pub fn get(&self, addr: u32, len: usize) -> &[u8] {
        self.read(addr, len).unwrap()
    }
}

impl Flash for VecFlash {
    fn read(&self, addr: u32, len: usize) -> Result<&[u8], FlashError> {
        cockpit_hypervisor::byte_range(FLASH_BASE, addr, len)
            .and_then(|r| self.bytes.get(r))
            .ok_or(FlashError::OutOfRange { addr, len })
    }
}

impl FlashProgrammer for VecFlash {
    fn erase_page(&mut self, addr: u32) -> Result<(), ProgramError> {
        self.ops += 1;
        MemFlash {
            base: FLASH_BASE,
            bytes: &mut self.bytes,
        }
        .erase_page(addr)
    }

    fn program_double_word(&mut self, addr: u32, data: [u8; 8]) -> Result<(), ProgramError> {
        self.ops += 1;
        MemFlash {
            base: FLASH_BASE,
            bytes: &mut self.bytes,
        }
        .program_double_word(addr, data)
    }
}

/// A valid CVBC image with `n` instructions (last one HALT) and a name derived from `tag`.
pub fn image(n: usize, tag: u32) -> Vec<u8> {
    let mut code: Vec<Instruction> = (0..n.saturating_sub(1))
        .map(|i| Instruction::new(Opcode::Push, 0, (i as u32 ^ tag) as u16))
        .collect();
    code.push(Instruction::new(Opcode::Halt, 0, 0));
    CvbcWriter {
        code,
        strings: vec![b"x=%d\n".to_vec()],
        name: format!("img{tag}"),
        ..Default::default()
    }
    .to_bytes()
}

pub const UID: [u8; 12] = [
    0x20, 0x00, 0x47, 0x00, 0x12, 0x51, 0x33, 0x30, 0x34, 0x38, 0x39, 0x36,
];

/// A bootloader over a flash, in virtual time, collecting its output.
pub struct Dev {
    pub bl: Bootloader<VecFlash>,
    pub now: u64,
    pub seq: u32,
}

pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0; frame::MAX_FRAME];
    let n = frame::encode(payload, &mut out).unwrap();
    out.truncate(n);
    out
}

pub fn decode_frames(bytes: &[u8]) -> Vec<pb::BootloaderResponse> {
    let mut d = Decoder::new();
    let mut out = Vec::new();
    for &b in bytes {
        match d.push(b) {
            None => {}
            Some(Ok(p)) => out.push(pb::BootloaderResponse::decode(p).expect("response decodes")),
            Some(Err(e)) => panic!("device sent a bad frame: {e:?}"),
        }
    }
    assert!(!d.in_frame(), "partial response frame");
    out
}

impl Dev {
    pub fn new(flash: VecFlash) -> Self {
        Dev {
            bl: Bootloader::new(flash, UID, 0),
            now: 0,
            seq: 0,
        }
    }

    /// Feeds raw bytes at the current time; returns the responses sent.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<pb::BootloaderResponse> {
        let mut out = Vec::new();
        self.bl
            .receive(bytes, self.now, &mut |f: &[u8]| out.extend_from_slice(f));
        decode_frames(&out)
    }

    /// Feeds raw bytes, returning the raw response bytes.
    pub fn feed_raw(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.bl
            .receive(bytes, self.now, &mut |f: &[u8]| out.extend_from_slice(f));
        out
    }

    /// Polls at time `t`; returns the responses sent.
    pub fn poll(&mut self, t: u64) -> Vec<pb::BootloaderResponse> {
        self.now = t;
        let mut out = Vec::new();
        self.bl.poll(t, &mut |f: &[u8]| out.extend_from_slice(f));
        decode_frames(&out)
    }

    /// Sends a request payload framed; expects exactly one response.
    pub fn payload(&mut self, payload: &[u8]) -> pb::BootloaderResponse {
        let mut r = self.feed(&frame(payload));
        assert_eq!(r.len(), 1, "one response expected: {r:?}");
        r.remove(0)
    }

    /// Sends `kind` with id `seq`; expects exactly one response.
    pub fn req(&mut self, seq: u32, kind: pb::RequestKind) -> pb::BootloaderResponse {
        self.payload(&pb::BootloaderRequest::new(seq, kind).encode_to_vec())
    }

    /// Sends `kind` with the next id (accepted requests advance it).
    pub fn next(&mut self, kind: pb::RequestKind) -> pb::BootloaderResponse {
        let r = self.req(self.seq + 1, kind);
        if !matches!(r.response, Some(pb::ResponseKind::Error(_))) {
            self.seq += 1;
        }
        r
    }

    pub fn handshake(&mut self) -> pb::HandshakeResponse {
        let r = self.req(self.seq + 1, handshake("flash_program,verify", 1024));
        self.seq += 1;
        match r.response {
            Some(pb::ResponseKind::Handshake(h)) => h,
            other => panic!("handshake: {other:?}"),
        }
    }

    /// Handshake, prepare, chunks of `chunk` bytes, verify: the verify response.
    pub fn upload(&mut self, image: &[u8], chunk: usize) -> pb::BootloaderResponse {
        self.handshake();
        assert_ack(&self.next(prepare(image.len() as u32)));
        for (i, c) in image.chunks(chunk).enumerate() {
            assert_ack(&self.next(data((i * chunk) as u32, c)));
        }
        self.next(verify(image.len() as u32))
    }
}

pub fn handshake(caps: &str, max: u32) -> pb::RequestKind {
    pb::RequestKind::Handshake(pb::HandshakeRequest {
        capabilities: caps.into(),
        max_packet_size: max,
    })
}

pub fn prepare(total: u32) -> pb::RequestKind {
    pb::RequestKind::FlashProgram(pb::FlashProgramRequest {
        total_data_length: total,
        verify_after_program: false,
    })
}

pub fn verify(total: u32) -> pb::RequestKind {
    pb::RequestKind::FlashProgram(pb::FlashProgramRequest {
        total_data_length: total,
        verify_after_program: true,
    })
}

pub fn data(offset: u32, bytes: &[u8]) -> pb::RequestKind {
    pb::RequestKind::Data(pb::DataPacket {
        offset,
        data: bytes.to_vec(),
        data_crc32: cockpit_oracle::crc32(bytes),
    })
}

pub fn assert_ack(r: &pb::BootloaderResponse) {
    assert!(
        matches!(&r.response, Some(pb::ResponseKind::Ack(a)) if a.success) && r.result == 0,
        "expected Ack, got {r:?}"
    );
}

/// Asserts an ErrorReport with `code`, `result` and failed id `failed`; returns the message.
pub fn assert_report(
    r: &pb::BootloaderResponse,
    code: pb::ErrorCode,
    result: pb::ResultCode,
    failed: u32,
) -> String {
    let Some(pb::ResponseKind::Error(e)) = &r.response else {
        panic!("expected ErrorReport {code:?}, got {r:?}");
    };
    assert_eq!(
        (e.error_code, r.result, e.failed_sequence_id, r.sequence_id),
        (code as i32, result as i32, failed, failed),
        "{e:?}"
    );
    e.diagnostic_message.clone()
}
