//! Host client for the Oracle bootloader (feature `std`).
//!
//! [`Client`] speaks the protocol of `README.md` over any [`Transport`]: a serial port opened by
//! path ([`Client::open`], serialport 4.10, works on `/dev/ttyUSB0` and on pseudo-terminals) or
//! any `Read + Write` stream ([`Stream`], for tests). Every request is sent with a per-frame
//! response timeout and bounded retries; a retry retransmits the **same** frame with the same
//! sequence id, so the device answers it from its cache instead of acting twice.

use std::{
    boxed::Box,
    format,
    io::{self, Read, Write},
    string::{String, ToString},
    time::{Duration, Instant},
    vec,
    vec::Vec,
};

use prost::Message;
use serde::Serialize;

use crate::{
    crc32,
    frame::{self, Decoder, FrameError},
    limits, pb,
};

/// Capabilities the Cockpit client announces in its handshake.
pub const CLIENT_CAPABILITIES: &str = "flash_program,verify,chunked,flash_read,device_info";

/// A byte pipe to the device.
pub trait Transport {
    /// Writes all of `bytes` (and flushes).
    fn send(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Reads available bytes into `buf`, waiting at most `timeout`; `Ok(0)` when nothing arrived.
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize>;
    /// Drops unread input (stale responses) before a request is sent. Default: nothing.
    fn discard_input(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Box<dyn serialport::SerialPort> {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_all(bytes)?;
        self.flush()
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        self.set_timeout(timeout.max(Duration::from_millis(1)))?;
        match self.read(buf) {
            Ok(n) => Ok(n),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                Ok(0)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(e),
        }
    }

    fn discard_input(&mut self) -> io::Result<()> {
        self.clear(serialport::ClearBuffer::Input)
            .map_err(io::Error::from)
    }
}

/// Adapts any `Read + Write` stream. `recv` polls every millisecond until data arrives or the
/// timeout passes; `Ok(0)`, `WouldBlock` and `TimedOut` from `read` count as "nothing yet".
#[derive(Debug)]
pub struct Stream<S>(pub S);

impl<S: Read + Write> Transport for Stream<S> {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes)?;
        self.0.flush()
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.0.read(buf) {
                Ok(n) if n > 0 => return Ok(n),
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(e),
            }
            if Instant::now() >= deadline {
                return Ok(0);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Response timeouts and retry budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Timeouts {
    /// Wait for the response to an ordinary request (handshake, data, read, info). Default 1 s.
    pub response: Duration,
    /// Wait for the prepare response (the device erases up to 96 pages). Default 5 s.
    pub prepare: Duration,
    /// Wait for the verify response (flush, CRC, container check, metadata write). Default 5 s.
    pub verify: Duration,
    /// Retransmissions after the first attempt. Default 3.
    pub retries: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            response: Duration::from_secs(1),
            prepare: Duration::from_secs(5),
            verify: Duration::from_secs(5),
            retries: 3,
        }
    }
}

/// An `ErrorReport` received from the device, with the request it answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceError {
    /// The client operation ("handshake", "prepare", "data", ...).
    pub request: &'static str,
    /// `BootloaderResponse.result` (a `pb::ResultCode` value).
    pub result: i32,
    /// `ErrorReport.error_code` (a `pb::ErrorCode` value).
    pub error_code: i32,
    /// `ErrorReport.diagnostic_message`.
    pub diagnostic_message: String,
    /// `ErrorReport.failed_sequence_id` (0 for frame-level errors).
    pub failed_sequence_id: u32,
}

impl DeviceError {
    fn from_response(request: &'static str, r: &pb::BootloaderResponse) -> Option<Self> {
        match &r.response {
            Some(pb::ResponseKind::Error(e)) => Some(Self {
                request,
                result: r.result,
                error_code: e.error_code,
                diagnostic_message: e.diagnostic_message.clone(),
                failed_sequence_id: e.failed_sequence_id,
            }),
            _ => None,
        }
    }

    /// The error code as the enum (`None` for values this version does not know).
    pub fn code(&self) -> Option<pb::ErrorCode> {
        pb::ErrorCode::try_from(self.error_code).ok()
    }

    /// True for reports about a frame whose sequence id the device could not know (CRC, framing,
    /// partial-frame timeout, undecodable payload).
    pub fn is_frame_level(&self) -> bool {
        self.failed_sequence_id == 0
            && matches!(
                self.code(),
                Some(
                    pb::ErrorCode::CommCrcMismatch
                        | pb::ErrorCode::CommFramingError
                        | pb::ErrorCode::CommTimeout
                )
            )
    }
}

impl std::fmt::Display for DeviceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = self.code().map_or_else(
            || self.error_code.to_string(),
            |c| c.as_str_name().to_string(),
        );
        let result = pb::ResultCode::try_from(self.result)
            .map_or_else(|_| self.result.to_string(), |c| c.as_str_name().to_string());
        write!(
            f,
            "{}: device error {code} ({result}) for sequence id {}: {}",
            self.request, self.failed_sequence_id, self.diagnostic_message
        )
    }
}

/// Client errors.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Opening or configuring the serial port failed.
    #[error("serial port: {0}")]
    Serial(#[from] serialport::Error),
    /// Reading or writing the transport failed.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    /// No (valid) response to `request` after `attempts` transmissions.
    #[error("{request}: no response after {attempts} attempt(s)")]
    Timeout {
        /// The operation.
        request: &'static str,
        /// Transmissions made (1 + retries).
        attempts: u32,
    },
    /// The response frame was damaged (and retries, if any, were exhausted).
    #[error("{request}: bad response frame after {attempts} attempt(s): {error}")]
    Frame {
        /// The operation.
        request: &'static str,
        /// Transmissions made.
        attempts: u32,
        /// What was wrong with the frame.
        error: FrameError,
    },
    /// The response payload is not a `BootloaderResponse`.
    #[error("{request}: undecodable response: {error}")]
    Decode {
        /// The operation.
        request: &'static str,
        /// prost's error.
        error: prost::DecodeError,
    },
    /// The device answered with an `ErrorReport`.
    #[error("{0}")]
    Device(DeviceError),
    /// The device answered with the wrong response type or a failed acknowledgment.
    #[error("{request}: unexpected response: {got}")]
    Unexpected {
        /// The operation.
        request: &'static str,
        /// Debug rendering of what arrived.
        got: String,
    },
    /// A check on the device's answer failed (hash, CRC, length, readback).
    #[error("verification failed: {0}")]
    Verification(String),
    /// The image does not fit (empty, larger than the bank, or too large for one packet).
    #[error("image of {len} bytes is outside 1..={max}")]
    ImageSize {
        /// Image length, bytes.
        len: usize,
        /// Largest accepted length, bytes.
        max: usize,
    },
}

impl ClientError {
    /// The device's `ErrorReport`, if this is one.
    pub fn device(&self) -> Option<&DeviceError> {
        match self {
            ClientError::Device(d) => Some(d),
            _ => None,
        }
    }
}

/// What the handshake returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandshakeInfo {
    /// `bootloader_version`, e.g. "Cockpit-0.1.0".
    pub bootloader_version: String,
    /// `supported_capabilities`, comma-separated.
    pub capabilities: String,
    /// `flash_page_size`, bytes.
    pub flash_page_size: u32,
    /// `target_flash_address`: the bank the next upload is written to.
    pub target_flash_address: u32,
    /// The `max_packet_size` the client announced (frame payload bytes).
    pub max_packet_size: u32,
}

/// `DeviceInfoResponse` (addresses in bytes, sizes in bytes).
pub type DeviceInfo = pb::DeviceInfoResponse;

/// Progress of [`Client::upload`], reported after prepare and after every chunk.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct UploadProgress {
    /// Image bytes acknowledged by the device.
    pub bytes_sent: usize,
    /// Image length, bytes.
    pub total: usize,
    /// Data chunks acknowledged.
    pub chunks_sent: usize,
    /// Retransmissions so far in this upload.
    pub retries: u32,
    /// Time since the upload started.
    pub elapsed: Duration,
}

/// Result of a successful [`Client::upload`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UploadReport {
    /// Image length, bytes.
    pub bytes: usize,
    /// Data chunks sent.
    pub chunks: usize,
    /// Data bytes per chunk.
    pub chunk_size: usize,
    /// Retransmissions during the upload (handshake to verify).
    pub retries: u32,
    /// Handshake to verify response.
    pub duration: Duration,
    /// The readback (flash_read + CRC comparison).
    pub readback_duration: Duration,
    /// Bank the image was written to (now active).
    pub target_address: u32,
    /// CRC-32/IEEE of the image (= the device's `flash_crc32` and the readback CRC).
    pub crc32: u32,
    /// Bytes written to the line during handshake..verify (frames incl. escapes).
    pub wire_bytes_sent: u64,
    /// Bytes read from the line during handshake..verify.
    pub wire_bytes_received: u64,
    /// Line rate used for the efficiency figure, bit/s (None for transports without one).
    pub baud: Option<u32>,
    /// `bytes / (duration × baud / 10)`: payload efficiency against the 8N1 line-rate limit.
    pub line_efficiency: Option<f64>,
}

/// Client for one device. `T` is the byte transport (a serial port by default).
pub struct Client<T: Transport = Box<dyn serialport::SerialPort>> {
    transport: T,
    timeouts: Timeouts,
    baud: Option<u32>,
    decoder: Box<Decoder>,
    rx: Vec<u8>,
    rx_pos: usize,
    last_seq: u32,
    session: Option<HandshakeInfo>,
    retries: u32,
    ignored: u64,
    wire_tx: u64,
    wire_rx: u64,
}

impl<T: Transport> std::fmt::Debug for Client<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("timeouts", &self.timeouts)
            .field("baud", &self.baud)
            .field("last_seq", &self.last_seq)
            .field("session", &self.session)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl Client<Box<dyn serialport::SerialPort>> {
    /// Opens the serial device at `path` (e.g. `/dev/ttyUSB0` or a pseudo-terminal) at `baud`
    /// bit/s, 8N1, no flow control. Errors: [`ClientError::Serial`].
    pub fn open(path: &str, baud: u32, timeouts: Timeouts) -> Result<Self, ClientError> {
        let port = serialport::new(path, baud)
            .data_bits(serialport::DataBits::Eight)
            .parity(serialport::Parity::None)
            .stop_bits(serialport::StopBits::One)
            .flow_control(serialport::FlowControl::None)
            .timeout(timeouts.response)
            .open()?;
        let mut c = Client::new(port, timeouts);
        c.baud = Some(baud);
        Ok(c)
    }
}

impl<S: Read + Write> Client<Stream<S>> {
    /// A client over a `Read + Write` stream (tests, sockets).
    pub fn from_stream(stream: S, timeouts: Timeouts) -> Self {
        Client::new(Stream(stream), timeouts)
    }
}

type Frame = Result<Vec<u8>, FrameError>;

impl<T: Transport> Client<T> {
    /// A client over `transport`.
    pub fn new(transport: T, timeouts: Timeouts) -> Self {
        Self {
            transport,
            timeouts,
            baud: None,
            decoder: Box::new(Decoder::new()),
            rx: Vec::new(),
            rx_pos: 0,
            last_seq: 0,
            session: None,
            retries: 0,
            ignored: 0,
            wire_tx: 0,
            wire_rx: 0,
        }
    }

    /// Sets the line rate used for efficiency figures (bit/s).
    pub fn set_baud(&mut self, baud: Option<u32>) {
        self.baud = baud;
    }

    /// The timeouts in use (mutable).
    pub fn timeouts_mut(&mut self) -> &mut Timeouts {
        &mut self.timeouts
    }

    /// The transport (for fault injection and simulator hooks).
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Ends the client and returns its transport (e.g. to take a simulated device back).
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// The current session's handshake, if any.
    pub fn session(&self) -> Option<&HandshakeInfo> {
        self.session.as_ref()
    }

    /// Forgets the session (e.g. after a device reset); the next operation starts with a
    /// handshake.
    pub fn reset_session(&mut self) {
        self.session = None;
    }

    /// The sequence id of the last request the device accepted.
    pub fn last_sequence_id(&self) -> u32 {
        self.last_seq
    }

    /// Overrides the last accepted sequence id (the next request uses `id + 1`).
    pub fn set_last_sequence_id(&mut self, id: u32) {
        self.last_seq = id;
    }

    /// Total retransmissions since the client was created.
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// Responses ignored because they answered another sequence id.
    pub fn ignored_responses(&self) -> u64 {
        self.ignored
    }

    /// Bytes written and read on the line so far.
    pub fn wire_bytes(&self) -> (u64, u64) {
        (self.wire_tx, self.wire_rx)
    }

    // ------------------------------------------------------------------ raw access

    /// Writes `bytes` unchanged (fault injection: garbage, partial or corrupted frames).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.transport.send(bytes)?;
        self.wire_tx += bytes.len() as u64;
        Ok(())
    }

    /// Frames `payload` (reference §2.2). Errors: [`FrameError::PayloadTooLarge`] as
    /// [`ClientError::Frame`].
    pub fn frame(payload: &[u8]) -> Result<Vec<u8>, ClientError> {
        let mut out = vec![0u8; frame::MAX_FRAME];
        let n = frame::encode(payload, &mut out).map_err(|error| ClientError::Frame {
            request: "encode",
            attempts: 0,
            error,
        })?;
        out.truncate(n);
        Ok(out)
    }

    /// Encodes, frames and sends `req` as is (no sequence bookkeeping, no wait).
    pub fn send_request(&mut self, req: &pb::BootloaderRequest) -> Result<(), ClientError> {
        let frame = Self::frame(&req.encode_to_vec())?;
        self.send_raw(&frame)
    }

    /// Drops unread input, including a partially received frame.
    pub fn discard_input(&mut self) -> Result<(), ClientError> {
        self.transport.discard_input()?;
        self.rx.clear();
        self.rx_pos = 0;
        self.decoder.reset();
        Ok(())
    }

    fn next_frame(&mut self, deadline: Instant) -> io::Result<Option<Frame>> {
        loop {
            while self.rx_pos < self.rx.len() {
                let b = self.rx[self.rx_pos];
                self.rx_pos += 1;
                if let Some(r) = self.decoder.push(b) {
                    return Ok(Some(r.map(<[u8]>::to_vec)));
                }
            }
            self.rx.clear();
            self.rx_pos = 0;
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let mut buf = [0u8; 1024];
            let n = self.transport.recv(&mut buf, deadline - now)?;
            self.wire_rx += n as u64;
            self.rx.extend_from_slice(&buf[..n]);
        }
    }

    /// Waits up to `timeout` for the next response frame and decodes it (whatever its sequence
    /// id). Errors: [`ClientError::Timeout`], [`ClientError::Frame`], [`ClientError::Decode`].
    pub fn read_response(
        &mut self,
        timeout: Duration,
    ) -> Result<pb::BootloaderResponse, ClientError> {
        let request = "read_response";
        match self.next_frame(Instant::now() + timeout)? {
            None => Err(ClientError::Timeout {
                request,
                attempts: 1,
            }),
            Some(Err(error)) => Err(ClientError::Frame {
                request,
                attempts: 1,
                error,
            }),
            Some(Ok(p)) => pb::BootloaderResponse::decode(&p[..])
                .map_err(|error| ClientError::Decode { request, error }),
        }
    }

    /// Sends `kind` with sequence id `last + 1` and waits for its response, retransmitting the
    /// same frame up to `retries` times on timeout, damaged response, or a frame-level
    /// `ErrorReport` (the request itself was damaged). Responses to other ids are ignored.
    /// On success the sequence id is accepted; an `ErrorReport` for this id is returned as
    /// [`ClientError::Device`] and does not advance the id (the device did not accept it).
    pub fn transact(
        &mut self,
        request: &'static str,
        kind: pb::RequestKind,
        timeout: Duration,
    ) -> Result<pb::BootloaderResponse, ClientError> {
        let seq = self.last_seq.wrapping_add(1);
        let frame = Self::frame(&pb::BootloaderRequest::new(seq, kind).encode_to_vec())?;
        let mut attempts = 0;
        loop {
            attempts += 1;
            self.discard_input()?;
            self.send_raw(&frame)?;
            let deadline = Instant::now() + timeout;
            let err = loop {
                match self.next_frame(deadline)? {
                    None => break ClientError::Timeout { request, attempts },
                    Some(Err(error)) => {
                        break ClientError::Frame {
                            request,
                            attempts,
                            error,
                        };
                    }
                    Some(Ok(p)) => match pb::BootloaderResponse::decode(&p[..]) {
                        Err(error) => break ClientError::Decode { request, error },
                        Ok(resp) if resp.sequence_id == seq => {
                            if let Some(e) = DeviceError::from_response(request, &resp) {
                                if !e.is_frame_level() {
                                    return Err(ClientError::Device(e));
                                }
                                break ClientError::Device(e);
                            }
                            self.last_seq = seq;
                            return Ok(resp);
                        }
                        Ok(resp) => match DeviceError::from_response(request, &resp) {
                            Some(e) if e.is_frame_level() => break ClientError::Device(e),
                            _ => self.ignored += 1,
                        },
                    },
                }
            };
            if attempts > self.timeouts.retries {
                if matches!(err, ClientError::Timeout { .. }) {
                    self.session = None;
                }
                return Err(err);
            }
            self.retries += 1;
        }
    }

    fn expect_ack(request: &'static str, r: pb::BootloaderResponse) -> Result<(), ClientError> {
        match r.response {
            Some(pb::ResponseKind::Ack(a)) if a.success => Ok(()),
            other => Err(ClientError::Unexpected {
                request,
                got: format!("{other:?}"),
            }),
        }
    }

    // ------------------------------------------------------------------ operations

    /// Starts a session with the Cockpit capabilities and `max_packet_size` 1024.
    pub fn handshake(&mut self) -> Result<HandshakeInfo, ClientError> {
        self.handshake_with(CLIENT_CAPABILITIES, limits::MAX_PAYLOAD as u32)
    }

    /// Starts a session announcing `capabilities` (≤ 64 bytes) and `max_packet_size` (≤ 1024).
    pub fn handshake_with(
        &mut self,
        capabilities: &str,
        max_packet_size: u32,
    ) -> Result<HandshakeInfo, ClientError> {
        let kind = pb::RequestKind::Handshake(pb::HandshakeRequest {
            capabilities: capabilities.into(),
            max_packet_size,
        });
        let r = self.transact("handshake", kind, self.timeouts.response)?;
        match r.response {
            Some(pb::ResponseKind::Handshake(h)) => {
                let info = HandshakeInfo {
                    bootloader_version: h.bootloader_version,
                    capabilities: h.supported_capabilities,
                    flash_page_size: h.flash_page_size,
                    target_flash_address: h.target_flash_address,
                    max_packet_size,
                };
                self.session = Some(info.clone());
                Ok(info)
            }
            other => Err(ClientError::Unexpected {
                request: "handshake",
                got: format!("{other:?}"),
            }),
        }
    }

    fn ensure_session(&mut self) -> Result<HandshakeInfo, ClientError> {
        match &self.session {
            Some(s) => Ok(s.clone()),
            None => self.handshake(),
        }
    }

    /// Prepare: announces `total` image bytes; the device erases the target bank.
    pub fn prepare(&mut self, total: u32) -> Result<(), ClientError> {
        let kind = pb::RequestKind::FlashProgram(pb::FlashProgramRequest {
            total_data_length: total,
            verify_after_program: false,
        });
        let r = self.transact("prepare", kind, self.timeouts.prepare)?;
        Self::expect_ack("prepare", r)
    }

    /// Sends one DataPacket with `offset` (bytes already sent) and its CRC-32.
    pub fn send_chunk(&mut self, offset: u32, data: &[u8]) -> Result<(), ClientError> {
        let kind = pb::RequestKind::Data(pb::DataPacket {
            offset,
            data: data.to_vec(),
            data_crc32: crc32(data),
        });
        let r = self.transact("data", kind, self.timeouts.response)?;
        Self::expect_ack("data", r)
    }

    /// Verify: the device checks and activates the image of `total` bytes.
    pub fn verify(&mut self, total: u32) -> Result<pb::FlashProgramResponse, ClientError> {
        let kind = pb::RequestKind::FlashProgram(pb::FlashProgramRequest {
            total_data_length: total,
            verify_after_program: true,
        });
        let r = self.transact("verify", kind, self.timeouts.verify)?;
        match r.response {
            Some(pb::ResponseKind::FlashResult(f)) => Ok(f),
            other => Err(ClientError::Unexpected {
                request: "verify",
                got: format!("{other:?}"),
            }),
        }
    }

    /// DeviceInfo (memory layout and UID); starts a session first if there is none.
    pub fn device_info(&mut self) -> Result<DeviceInfo, ClientError> {
        self.ensure_session()?;
        let kind = pb::RequestKind::DeviceInfo(pb::DeviceInfoRequest {
            include_memory_layout: true,
            include_device_id: true,
        });
        let r = self.transact("device_info", kind, self.timeouts.response)?;
        match r.response {
            Some(pb::ResponseKind::DeviceInfo(d)) => Ok(d),
            other => Err(ClientError::Unexpected {
                request: "device_info",
                got: format!("{other:?}"),
            }),
        }
    }

    /// Reads `len` bytes of flash from `address` in requests of ≤ 256 bytes, checking each
    /// chunk's length, address and `data_crc32`; starts a session first if there is none.
    pub fn flash_read(&mut self, address: u32, len: usize) -> Result<Vec<u8>, ClientError> {
        self.ensure_session()?;
        let mut out = Vec::with_capacity(len);
        for (i, start) in (0..len).step_by(limits::MAX_READ).enumerate() {
            let n = (len - start).min(limits::MAX_READ);
            let addr = address.wrapping_add(start as u32);
            let kind = pb::RequestKind::FlashRead(pb::FlashReadRequest {
                start_address: addr,
                length: n as u32,
                chunk_sequence: i as u32,
                include_checksum: true,
            });
            let r = self.transact("flash_read", kind, self.timeouts.response)?;
            let Some(pb::ResponseKind::FlashRead(f)) = r.response else {
                return Err(ClientError::Unexpected {
                    request: "flash_read",
                    got: format!("{:?}", r.response),
                });
            };
            if f.flash_data.len() != n || f.actual_length as usize != n || f.read_address != addr {
                return Err(ClientError::Verification(format!(
                    "flash_read 0x{addr:08X}+{n}: got {} bytes ({} claimed) from 0x{:08X}",
                    f.flash_data.len(),
                    f.actual_length,
                    f.read_address
                )));
            }
            if crc32(&f.flash_data) != f.data_crc32 {
                return Err(ClientError::Verification(format!(
                    "flash_read 0x{addr:08X}+{n}: data_crc32 mismatch"
                )));
            }
            out.extend_from_slice(&f.flash_data);
        }
        Ok(out)
    }

    fn check_verify(
        f: &pb::FlashProgramResponse,
        image: &[u8],
        strict_v2: bool,
    ) -> Result<(), ClientError> {
        let crc = crc32(image);
        let want_hash = crc.to_be_bytes();
        if f.verification_hash.get(..4) != Some(&want_hash[..]) {
            return Err(ClientError::Verification(format!(
                "verification_hash {:02X?} is not the big-endian CRC-32 {crc:08X}",
                f.verification_hash
            )));
        }
        if f.actual_data_length as usize != image.len() {
            return Err(ClientError::Verification(format!(
                "actual_data_length {} != image length {}",
                f.actual_data_length,
                image.len()
            )));
        }
        if strict_v2 && (f.flash_crc32 != crc || !f.hardware_verify_passed) {
            return Err(ClientError::Verification(format!(
                "flash_crc32 {:08X} (want {crc:08X}), hardware_verify_passed {}",
                f.flash_crc32, f.hardware_verify_passed
            )));
        }
        Ok(())
    }

    /// Uploads `image` (1..=192 KiB) in chunks: handshake → prepare(len) → DataPackets with
    /// `offset` (chunk size = [`limits::max_chunk_len`] of the announced max packet size, 1000
    /// bytes) → verify (checks `verification_hash`, `flash_crc32`, `actual_data_length`,
    /// `hardware_verify_passed`) → readback of the written bank with [`flash_read`]
    /// (Self::flash_read) and CRC-32 comparison. `progress` is called after prepare and after
    /// every chunk.
    pub fn upload(
        &mut self,
        image: &[u8],
        mut progress: impl FnMut(UploadProgress),
    ) -> Result<UploadReport, ClientError> {
        if image.is_empty() || image.len() > limits::BANK_SIZE as usize {
            return Err(ClientError::ImageSize {
                len: image.len(),
                max: limits::BANK_SIZE as usize,
            });
        }
        let start = Instant::now();
        let retries0 = self.retries;
        let (tx0, rx0) = self.wire_bytes();
        let info = self.handshake()?;
        let chunk_size = limits::max_chunk_len(info.max_packet_size as usize);
        let total = image.len() as u32;
        self.prepare(total)?;
        let mut report = |bytes_sent, chunks_sent, retries| {
            progress(UploadProgress {
                bytes_sent,
                total: image.len(),
                chunks_sent,
                retries,
                elapsed: start.elapsed(),
            })
        };
        report(0, 0, self.retries - retries0);
        let mut chunks = 0;
        for (i, chunk) in image.chunks(chunk_size).enumerate() {
            let offset = i * chunk_size;
            self.send_chunk(offset as u32, chunk)?;
            chunks += 1;
            report(offset + chunk.len(), chunks, self.retries - retries0);
        }
        let f = self.verify(total)?;
        Self::check_verify(&f, image, true)?;
        let duration = start.elapsed();
        let (tx1, rx1) = self.wire_bytes();
        let retries = self.retries - retries0;

        let rb_start = Instant::now();
        let back = self.flash_read(info.target_flash_address, image.len())?;
        let crc = crc32(image);
        if crc32(&back) != crc {
            return Err(ClientError::Verification(format!(
                "readback of 0x{:08X}+{}: CRC-32 {:08X}, image {crc:08X}",
                info.target_flash_address,
                image.len(),
                crc32(&back)
            )));
        }
        let line_efficiency = self
            .baud
            .map(|b| image.len() as f64 / (duration.as_secs_f64() * f64::from(b) / 10.0));
        Ok(UploadReport {
            bytes: image.len(),
            chunks,
            chunk_size,
            retries,
            duration,
            readback_duration: rb_start.elapsed(),
            target_address: info.target_flash_address,
            crc32: crc,
            wire_bytes_sent: tx1 - tx0,
            wire_bytes_received: rx1 - rx0,
            baud: self.baud,
            line_efficiency,
        })
    }

    /// The original Python client's `--flash` flow (reference §2.9), byte for byte: sequence ids
    /// 1–4, handshake with capabilities "flash_program,verify,error_recovery" and
    /// `max_packet_size` 256, prepare(len), ONE DataPacket with the offset omitted (0) and the
    /// whole image, verify expecting a FlashProgramResponse whose `verification_hash` is the
    /// big-endian CRC-32 of the image. The image must fit one 1024-byte payload (≤ 1010 bytes).
    pub fn upload_original(
        &mut self,
        image: &[u8],
    ) -> Result<pb::FlashProgramResponse, ClientError> {
        let data = pb::BootloaderRequest::new(
            3,
            pb::RequestKind::Data(pb::DataPacket {
                offset: 0,
                data: image.to_vec(),
                data_crc32: crc32(image),
            }),
        );
        if image.is_empty() || data.encoded_len() > limits::MAX_PAYLOAD {
            return Err(ClientError::ImageSize {
                len: image.len(),
                max: 1010,
            });
        }
        self.last_seq = 0;
        self.handshake_with(
            limits::ORIGINAL_CLIENT_CAPABILITIES,
            limits::ORIGINAL_MAX_PACKET_SIZE,
        )?;
        self.prepare(image.len() as u32)?;
        self.send_chunk(0, image)?;
        let f = self.verify(image.len() as u32)?;
        Self::check_verify(&f, image, false)?;
        Ok(f)
    }
}
