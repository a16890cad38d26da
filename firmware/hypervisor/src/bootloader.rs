//! The Oracle bootloader's device engine: a bounded state machine fed UART bytes with a
//! timestamp and polled with the time, answering every request with one response frame.
//!
//! Protocol contract: `oracle/README.md` (the "protocol" section), based on reference §2.2–2.4
//! and §2.10; improvements over the original (§2.4, §2.8): an `ErrorReport` for every rejected
//! request instead of silence, chunked uploads (`DataPacket.offset`) up to the bank size,
//! retransmission answered from a cache, timeouts evaluated by [`Bootloader::poll`] as time
//! passes (not lazily on the next byte), and A/B banks with one atomic activation
//! ([`crate::boot`]).
//!
//! ```text
//!            Handshake (any id)            Prepare(len)                DataPacket(offset)…        Verify
//! no session ─────────────────▶ session ───────────────▶ receiving ───────────────────▶ complete ─────▶ activated
//!     ▲      30 s without a valid request          erase pages of the        program double words      CRC-32, parse,
//!     └──────────────────────────────────          inactive bank             (stage a partial tail)    1 metadata write
//! ```
//!
//! Memory: fixed (≈ 4.5 KiB: frame decoder 1 KiB, decoded request 1.1 KiB, cached response
//! 0.6 KiB, transmit buffer); no heap; no panics on any input (fuzzed: `fuzz/`).

use cockpit_oracle::device::{
    self, Acknowledgment, DeviceInfoResponse, FlashProgramResponse, FlashReadResponse,
    HandshakeResponse, Reject, Request, RequestKind, Response, ResponseKind,
};
use cockpit_oracle::frame::Decoder;
use cockpit_oracle::limits;
use cockpit_vm::Program;

use crate::boot::{self, Bank};
use crate::flash::{DOUBLE_WORD, FlashProgrammer, PAGE_SIZE};
use crate::{FLASH_BASE, FLASH_SIZE};

/// Where response frames go (the UART transmitter). Implemented for every `FnMut(&[u8])`.
pub trait Tx {
    /// Sends one complete frame (blocking on a real UART).
    fn send(&mut self, frame: &[u8]);
}

impl<T: FnMut(&[u8])> Tx for T {
    fn send(&mut self, frame: &[u8]) {
        self(frame)
    }
}

/// `DeviceInfoResponse.hardware_revision`: 1 (the STM32G474 target of issue 5).
pub const HARDWARE_REVISION: u32 = 1;

/// End of the region reserved for the bootloader and the hypervisor (`0x0800_0000..`): the
/// program banks start here.
pub const RESERVED_END: u32 = crate::PROGRAM_BANK_ADDR;

static CRC32: &crc::Crc<u32> = &cockpit_oracle::CRC32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Session {
    /// Sequence id of the last accepted request.
    last_id: u32,
    /// CRC-32 and length of that request's frame payload (retransmission = same id and bytes).
    last_crc: u32,
    last_len: usize,
    /// Time of the last valid request, ms.
    last_ms: u64,
}

#[derive(Clone)]
struct Upload {
    /// `total_data_length` of the prepare, bytes.
    total: u32,
    /// Bytes received (and programmed or staged) so far.
    received: u32,
    /// CRC-32 of the received bytes.
    digest: crc::Digest<'static, u32>,
    /// Bytes not yet programmed (received % 8 of them), padded with 0xFF on verify.
    stage: [u8; DOUBLE_WORD],
    stage_len: usize,
}

impl Upload {
    /// Bytes programmed into flash so far (multiple of 8).
    fn programmed(&self) -> u32 {
        self.received - self.stage_len as u32
    }
}

/// The protocol state and the flash, without the frame buffers (split so that handlers can
/// borrow the decoded request while changing the state).
struct Core<F> {
    flash: F,
    uid: [u8; 12],
    session: Option<Session>,
    upload: Option<Upload>,
    /// The bank that boots (None: none valid), and the bank uploads go to.
    booted: Option<Bank>,
    target: Bank,
    activations: u32,
}

/// The Oracle device engine over a flash `F` (see the module docs and `oracle/README.md`).
///
/// Drive it with [`receive`](Self::receive) / [`feed`](Self::feed) for every byte from USART1
/// (with the current time in milliseconds) and [`poll`](Self::poll) whenever time passes
/// (at least every [`limits::FRAME_TIMEOUT_MS`] / [`next_deadline`](Self::next_deadline)); both
/// send response frames to a [`Tx`].
pub struct Bootloader<F: FlashProgrammer> {
    decoder: Decoder,
    request: Request,
    cached: Response,
    tx: [u8; device::RESPONSE_FRAME_MAX],
    last_byte_ms: u64,
    core: Core<F>,
}

impl<F: FlashProgrammer> core::fmt::Debug for Bootloader<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Bootloader")
            .field("decoder", &self.decoder)
            .field("session", &self.core.session)
            .field("uploading", &self.core.upload.is_some())
            .field("booted", &self.core.booted)
            .field("target", &self.core.target)
            .finish()
    }
}

impl<F: FlashProgrammer> Bootloader<F> {
    /// A bootloader after reset at time `now_ms`: no session, no partial frame. Runs
    /// [`boot::select`] to learn which bank boots; uploads go to the other one (to the bank the
    /// metadata does not name when no bank is valid: B on a fresh device). `uid` is the 96-bit
    /// unique device ID (RM0440 §48.1, `0x1FFF_7590`) reported by DeviceInfo.
    pub fn new(flash: F, uid: [u8; 12], now_ms: u64) -> Self {
        let mut core = Core {
            flash,
            uid,
            session: None,
            upload: None,
            booted: None,
            target: Bank::B,
            activations: 0,
        };
        core.reselect();
        Bootloader {
            decoder: Decoder::new(),
            request: Request::default(),
            cached: Response::default(),
            tx: [0; device::RESPONSE_FRAME_MAX],
            last_byte_ms: now_ms,
            core,
        }
    }

    /// The flash.
    pub fn flash(&self) -> &F {
        &self.core.flash
    }

    /// The flash, mutably (e.g. to arm a simulated power cut).
    pub fn flash_mut(&mut self) -> &mut F {
        &mut self.core.flash
    }

    /// Gives the flash back (e.g. to "reboot" with a new `Bootloader`).
    pub fn into_flash(self) -> F {
        self.core.flash
    }

    /// The bank uploads are written to (the inactive bank; `HandshakeResponse.target_flash_address`).
    pub fn target_bank(&self) -> Bank {
        self.core.target
    }

    /// The bank that boots now (`None`: no valid image, the device stays in the bootloader).
    pub fn booted_bank(&self) -> Option<Bank> {
        self.core.booted
    }

    /// True while a session is open (a handshake was accepted less than 30 s of inactivity ago).
    pub fn in_session(&self) -> bool {
        self.core.session.is_some()
    }

    /// Number of images activated since creation.
    pub fn activations(&self) -> u32 {
        self.core.activations
    }

    /// The next time, ms, at which [`poll`](Self::poll) has a timeout to fire (partial frame
    /// after 500 ms without a byte, session after 30 s without a valid request), if any.
    pub fn next_deadline(&self) -> Option<u64> {
        let frame = self.decoder.in_frame().then(|| {
            self.last_byte_ms
                .saturating_add(u64::from(limits::FRAME_TIMEOUT_MS))
        });
        let session = self.core.session.map(|s| {
            s.last_ms
                .saturating_add(u64::from(limits::SESSION_TIMEOUT_MS))
        });
        match (frame, session) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Fires the timeouts due at `now_ms` (milliseconds, monotonic; a time earlier than the last
    /// one counts as no time passing):
    /// - a partial frame with no byte for ≥ 500 ms ([`limits::FRAME_TIMEOUT_MS`]) is dropped and
    ///   answered with `ErrorReport{COMM_TIMEOUT}` (sequence id 0);
    /// - a session with no valid request for ≥ 30 s ([`limits::SESSION_TIMEOUT_MS`]) ends (an
    ///   unfinished upload is abandoned; the next non-handshake request gets
    ///   `INVALID_SEQUENCE` "no session").
    pub fn poll(&mut self, now_ms: u64, tx: &mut impl Tx) {
        if self.decoder.in_frame()
            && now_ms.saturating_sub(self.last_byte_ms) >= u64::from(limits::FRAME_TIMEOUT_MS)
        {
            self.decoder.reset();
            self.send_reject(Reject::PartialFrameTimeout, 0, tx);
        }
        if let Some(s) = self.core.session
            && now_ms.saturating_sub(s.last_ms) >= u64::from(limits::SESSION_TIMEOUT_MS)
        {
            self.core.session = None;
            self.core.upload = None;
        }
    }

    /// Feeds bytes received at `now_ms` (see [`feed`](Self::feed)).
    pub fn receive(&mut self, bytes: &[u8], now_ms: u64, tx: &mut impl Tx) {
        for &b in bytes {
            self.feed(b, now_ms, tx);
        }
    }

    /// Feeds one byte received at `now_ms`: first fires due timeouts ([`poll`](Self::poll)) so
    /// a stale partial frame never swallows this byte, then decodes it; a completed frame is
    /// handled at once (flash work included) and answered through `tx`.
    pub fn feed(&mut self, byte: u8, now_ms: u64, tx: &mut impl Tx) {
        self.poll(now_ms, tx);
        self.last_byte_ms = now_ms;
        let outcome = match self.decoder.push(byte) {
            None => return,
            Some(Err(e)) => Err(e),
            Some(Ok(payload)) => {
                let crc = CRC32.checksum(payload);
                let len = payload.len();
                Ok(device::decode_request_into(payload, &mut self.request).map(|()| (crc, len)))
            }
        };
        match outcome {
            Err(e) => self.send_reject(Reject::Frame(e), 0, tx),
            Ok(Err(_)) => self.send_reject(Reject::ProtobufDecode, 0, tx),
            Ok(Ok((crc, len))) => self.on_request(crc, len, now_ms, tx),
        }
    }

    fn on_request(&mut self, crc: u32, len: usize, now_ms: u64, tx: &mut impl Tx) {
        let id = self.request.sequence_id;
        let session = self.core.session;
        let is_handshake = matches!(self.request.request, Some(RequestKind::Handshake(_)));
        if let Some(s) = session
            && !is_handshake
            && s.last_id == id
            && s.last_crc == crc
            && s.last_len == len
        {
            // Retransmission: answer from the cache without acting again.
            if let Some(s) = self.core.session.as_mut() {
                s.last_ms = now_ms;
            }
            self.send_cached(tx);
            return;
        }
        match self.core.handle(&self.request) {
            Ok(body) => {
                self.core.session = Some(Session {
                    last_id: id,
                    last_crc: crc,
                    last_len: len,
                    last_ms: now_ms,
                });
                self.cached = device::ok_response(id, body);
                self.send_cached(tx);
            }
            Err(reject) => self.send_reject(reject, id, tx),
        }
    }

    fn send_cached(&mut self, tx: &mut impl Tx) {
        if let Ok(n) = device::encode_response_frame(&self.cached, &mut self.tx)
            && let Some(frame) = self.tx.get(..n)
        {
            tx.send(frame);
        }
    }

    fn send_reject(&mut self, reject: Reject, id: u32, tx: &mut impl Tx) {
        let response = reject.response(id);
        if let Ok(n) = device::encode_response_frame(&response, &mut self.tx)
            && let Some(frame) = self.tx.get(..n)
        {
            tx.send(frame);
        }
    }
}

impl<F: FlashProgrammer> Core<F> {
    /// Recomputes the booted and target banks from flash ([`boot::select`]).
    fn reselect(&mut self) {
        self.booted = boot::select(&self.flash).bank();
        self.target = match self.booted {
            Some(b) => b.other(),
            None => boot::active_bank(&self.flash).other(),
        };
    }

    /// Handles a decoded request that is not a retransmission. `Ok(body)` = accepted (the caller
    /// records the sequence id and caches the response).
    fn handle(&mut self, req: &Request) -> Result<ResponseKind, Reject> {
        if let Some(RequestKind::Handshake(h)) = &req.request {
            return self.handshake(h);
        }
        let Some(session) = self.session else {
            return Err(Reject::NoSession);
        };
        let expected = session.last_id.wrapping_add(1);
        if req.sequence_id != expected {
            return Err(Reject::WrongSequence { expected });
        }
        match &req.request {
            None => Err(Reject::UnknownRequest),
            Some(RequestKind::Handshake(h)) => self.handshake(h),
            Some(RequestKind::Recovery(_)) => Err(Reject::RecoveryUnsupported),
            Some(RequestKind::FlashProgram(p)) if !p.verify_after_program => {
                self.prepare(p.total_data_length)
            }
            Some(RequestKind::FlashProgram(_)) => self.verify(),
            Some(RequestKind::Data(d)) => self.data(d.offset, &d.data, d.data_crc32),
            Some(RequestKind::FlashRead(r)) => {
                self.read(r.start_address, r.length, r.chunk_sequence)
            }
            Some(RequestKind::DeviceInfo(_)) => Ok(self.device_info()),
        }
    }

    fn handshake(&mut self, h: &device::HandshakeRequest) -> Result<ResponseKind, Reject> {
        if !h.capabilities.contains(limits::REQUIRED_CAPABILITY) {
            return Err(Reject::MissingCapability);
        }
        if h.max_packet_size as usize > limits::MAX_PAYLOAD {
            return Err(Reject::PacketSizeTooLarge);
        }
        // A new session (the caller records its id): any unfinished upload is abandoned.
        self.session = None;
        self.upload = None;
        Ok(ResponseKind::Handshake(HandshakeResponse {
            bootloader_version: device::bounded_str(limits::BOOTLOADER_VERSION),
            supported_capabilities: device::bounded_str(limits::DEVICE_CAPABILITIES),
            flash_page_size: limits::FLASH_PAGE_SIZE,
            target_flash_address: self.target.addr(),
        }))
    }

    fn ack() -> ResponseKind {
        ResponseKind::Ack(Acknowledgment {
            success: true,
            message: Default::default(),
        })
    }

    fn prepare(&mut self, total: u32) -> Result<ResponseKind, Reject> {
        if total == 0 {
            return Err(Reject::EmptyImage);
        }
        if total > limits::BANK_SIZE || total as usize > self.target.size() {
            return Err(Reject::ImageTooLarge);
        }
        self.upload = None;
        // If the booting bank is only a fallback (the metadata names the target bank, which
        // holds no valid image), name it first: otherwise a complete image written to the
        // target would boot at the next reset without ever being verified and activated.
        if let Some(booted) = self.booted
            && boot::active_bank(&self.flash) != booted
        {
            boot::write_active(&mut self.flash, booted).map_err(|_| Reject::FlashWrite)?;
        }
        let pages = (total as usize).div_ceil(PAGE_SIZE);
        for page in 0..pages {
            let addr = self.target.addr() + (page * PAGE_SIZE) as u32;
            self.flash
                .erase_page(addr)
                .map_err(|_| Reject::FlashErase)?;
        }
        self.upload = Some(Upload {
            total,
            received: 0,
            digest: CRC32.digest(),
            stage: [0xFF; DOUBLE_WORD],
            stage_len: 0,
        });
        Ok(Self::ack())
    }

    fn data(&mut self, offset: u32, data: &[u8], crc: u32) -> Result<ResponseKind, Reject> {
        let Some(up) = self.upload.as_mut() else {
            return Err(Reject::NoUpload);
        };
        if offset != up.received {
            return Err(Reject::OffsetMismatch {
                expected: up.received,
            });
        }
        let fits = u32::try_from(data.len())
            .ok()
            .and_then(|n| up.received.checked_add(n))
            .is_some_and(|end| end <= up.total);
        if !fits {
            return Err(Reject::DataOverrun);
        }
        if CRC32.checksum(data) != crc {
            return Err(Reject::DataCrc);
        }
        let base = self.target.addr();
        for &b in data {
            if let Some(slot) = up.stage.get_mut(up.stage_len) {
                *slot = b;
            }
            up.stage_len += 1;
            up.received += 1;
            if up.stage_len == DOUBLE_WORD {
                let addr = base + up.programmed();
                let stage = up.stage;
                up.stage = [0xFF; DOUBLE_WORD];
                up.stage_len = 0;
                if program_checked(&mut self.flash, addr, stage).is_err() {
                    // The bank is in an unknown state: the upload must start again.
                    self.upload = None;
                    return Err(Reject::FlashWrite);
                }
            }
        }
        up.digest.update(data);
        Ok(Self::ack())
    }

    fn verify(&mut self) -> Result<ResponseKind, Reject> {
        let Some(up) = self.upload.as_mut() else {
            return Err(Reject::NoUpload);
        };
        if up.received != up.total {
            return Err(Reject::Incomplete {
                received: up.received,
                total: up.total,
            });
        }
        let base = self.target.addr();
        if up.stage_len > 0 {
            // Flush the partial tail padded with 0xFF (erased value).
            let addr = base + up.programmed();
            let stage = up.stage;
            up.stage = [0xFF; DOUBLE_WORD];
            up.stage_len = 0;
            if program_checked(&mut self.flash, addr, stage).is_err() {
                self.upload = None;
                return Err(Reject::FlashWrite);
            }
        }
        let total = up.total;
        let want = up.digest.clone().finalize();
        let Ok(bytes) = self.flash.read(base, total as usize) else {
            return Err(Reject::FlashWrite);
        };
        let flash_crc = CRC32.checksum(bytes);
        let check = if flash_crc != want {
            Err(Reject::FlashMismatch)
        } else if Program::parse(bytes).is_err() {
            Err(Reject::InvalidImage)
        } else {
            Ok(())
        };
        if let Err(reject) = check {
            // The upload is cancelled (a new prepare is needed); the active bank is unchanged.
            self.upload = None;
            return Err(reject);
        }
        let mut sample = heapless::Vec::new();
        let _ = sample.extend_from_slice(bytes.get(..bytes.len().min(64)).unwrap_or(&[]));
        // The one atomic step: from here on the new bank boots.
        boot::write_active(&mut self.flash, self.target).map_err(|_| Reject::FlashWrite)?;
        self.upload = None;
        self.activations = self.activations.wrapping_add(1);
        self.reselect();
        let mut hash = heapless::Vec::new();
        let _ = hash.extend_from_slice(&flash_crc.to_be_bytes());
        Ok(ResponseKind::FlashResult(FlashProgramResponse {
            bytes_programmed: total.div_ceil(DOUBLE_WORD as u32) * DOUBLE_WORD as u32,
            actual_data_length: total,
            verification_hash: hash,
            flash_crc32: flash_crc,
            flash_sample: sample,
            hardware_verify_passed: true,
        }))
    }

    fn read(&mut self, addr: u32, len: u32, chunk: u32) -> Result<ResponseKind, Reject> {
        if len == 0 || len as usize > limits::MAX_READ {
            return Err(Reject::ReadTooLong);
        }
        let Ok(bytes) = self.flash.read(addr, len as usize) else {
            return Err(Reject::ReadOutOfRange);
        };
        let mut data = heapless::Vec::new();
        data.extend_from_slice(bytes)
            .map_err(|_| Reject::ReadTooLong)?;
        Ok(ResponseKind::FlashRead(FlashReadResponse {
            flash_data: data,
            actual_length: len,
            data_crc32: CRC32.checksum(bytes),
            read_address: addr,
            chunk_sequence: chunk,
            has_more_chunks: false,
        }))
    }

    fn device_info(&self) -> ResponseKind {
        let mut uid = heapless::Vec::new();
        let _ = uid.extend_from_slice(&self.uid);
        let running = self.booted.unwrap_or(self.target.other());
        ResponseKind::DeviceInfo(DeviceInfoResponse {
            device_model: device::bounded_str(limits::DEVICE_MODEL),
            bootloader_version: device::bounded_str(limits::BOOTLOADER_VERSION),
            flash_total_size: FLASH_SIZE as u32,
            flash_page_size: limits::FLASH_PAGE_SIZE,
            bootloader_region_end: RESERVED_END,
            hypervisor_region_start: FLASH_BASE,
            hypervisor_region_end: RESERVED_END,
            bytecode_region_start: running.addr(),
            bytecode_region_end: running.addr() + running.size() as u32,
            test_page_address: self.target.addr(),
            unique_device_id: uid,
            hardware_revision: HARDWARE_REVISION,
        })
    }
}

/// Programs one double word and reads it back (as the original, reference §2.5).
fn program_checked<F: FlashProgrammer>(flash: &mut F, addr: u32, dw: [u8; 8]) -> Result<(), ()> {
    flash.program_double_word(addr, dw).map_err(|_| ())?;
    match flash.read(addr, DOUBLE_WORD) {
        Ok(back) if back == dw => Ok(()),
        _ => Err(()),
    }
}
