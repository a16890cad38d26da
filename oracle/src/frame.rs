//! Frame codec of the Oracle bootloader (source: reference §2.2).
//!
//! `0x7E | LEN_hi LEN_lo | escaped payload | CRC_hi CRC_lo | 0x7F`
//!
//! - LEN: number of **unescaped** payload bytes, big-endian, 0..=[`MAX_PAYLOAD`] (1024).
//! - Escaping applies only to payload bytes 0x7D/0x7E/0x7F: sent as 0x7D, byte ^ 0x20. LEN and
//!   CRC bytes are never escaped (the decoder is position-based for them).
//! - CRC: CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no xorout; the `crc`
//!   crate's `CRC_16_IBM_3740`) over the two LEN bytes followed by the unescaped payload,
//!   transmitted big-endian.
//!
//! [`encode`] writes one frame; [`Decoder`] is a streaming, heap-free decoder with a fixed
//! 1024-byte buffer that resynchronises on garbage.

pub use crate::limits::MAX_PAYLOAD;

/// Start-of-frame marker.
pub const START: u8 = 0x7E;
/// End-of-frame marker.
pub const END: u8 = 0x7F;
/// Escape byte: the next byte is sent XOR [`ESCAPE_XOR`].
pub const ESCAPE: u8 = 0x7D;
/// XOR applied to an escaped payload byte.
pub const ESCAPE_XOR: u8 = 0x20;
/// Bytes of framing around the payload (start, 2 LEN, 2 CRC, end).
pub const OVERHEAD: usize = 6;
/// Worst-case encoded frame size: every payload byte escaped, bytes (2054).
pub const MAX_FRAME: usize = 2 * MAX_PAYLOAD + OVERHEAD;

/// CRC-16/CCITT-FALSE engine (reference §2.2; check value of "123456789" = 0x29B1).
pub const CRC16: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_IBM_3740);

/// Errors of [`encode`] and [`Decoder::push`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "std", derive(thiserror::Error))]
pub enum FrameError {
    /// LEN (or the payload handed to [`encode`]) exceeds [`MAX_PAYLOAD`]; `len` in bytes. The
    /// decoder reports this as soon as the LEN bytes arrive.
    #[cfg_attr(feature = "std", error("payload length {len} exceeds 1024"))]
    PayloadTooLarge {
        /// Claimed / given payload length, bytes.
        len: usize,
    },
    /// The byte after the CRC was not 0x7F (`got`). If `got` is 0x7E it starts a new frame.
    #[cfg_attr(feature = "std", error("bad end marker 0x{got:02X}"))]
    BadEnd {
        /// The byte found where 0x7F was expected.
        got: u8,
    },
    /// CRC mismatch: `expected` is the CRC carried by the frame, `computed` the CRC of the
    /// received LEN + payload.
    #[cfg_attr(
        feature = "std",
        error("frame CRC mismatch: frame carries 0x{expected:04X}, computed 0x{computed:04X}")
    )]
    CrcMismatch {
        /// CRC-16 carried in the frame.
        expected: u16,
        /// CRC-16 computed over the received LEN bytes and unescaped payload.
        computed: u16,
    },
    /// A raw 0x7E arrived inside the payload: the frame was cut short. The 0x7E starts a new
    /// frame (it is not lost).
    #[cfg_attr(feature = "std", error("frame interrupted by a new start marker"))]
    Interrupted,
    /// Inside the payload: 0x7D followed by a byte other than 0x5D/0x5E/0x5F, or a raw 0x7F.
    #[cfg_attr(feature = "std", error("invalid escape sequence (byte 0x{got:02X})"))]
    InvalidEscape {
        /// The offending byte.
        got: u8,
    },
    /// [`encode`]: the output buffer is too small; sizes in bytes.
    #[cfg_attr(
        feature = "std",
        error("output buffer too small: need {needed}, have {available}")
    )]
    BufferTooSmall {
        /// Bytes the frame needs.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
}

/// CRC-16 of a frame with `payload`: over the big-endian LEN bytes, then the payload.
/// `payload.len()` must be ≤ [`MAX_PAYLOAD`] (longer payloads are not valid frames anyway).
pub fn crc16(payload: &[u8]) -> u16 {
    let mut digest = CRC16.digest();
    digest.update(&(payload.len() as u16).to_be_bytes());
    digest.update(payload);
    digest.finalize()
}

/// Encoded frame size for `payload`, bytes: 6 + payload length + one per escaped byte.
pub fn encoded_len(payload: &[u8]) -> usize {
    OVERHEAD + payload.len() + payload.iter().filter(|&&b| needs_escape(b)).count()
}

fn needs_escape(b: u8) -> bool {
    matches!(b, ESCAPE | START | END)
}

/// Encodes `payload` (≤ 1024 bytes) as one frame into `out`; returns the frame length in bytes.
///
/// Errors: [`FrameError::PayloadTooLarge`] if `payload` exceeds [`MAX_PAYLOAD`];
/// [`FrameError::BufferTooSmall`] if `out` is shorter than [`encoded_len`] (nothing useful is
/// written then). `out.len() >= MAX_FRAME` always suffices.
pub fn encode(payload: &[u8], out: &mut [u8]) -> Result<usize, FrameError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(FrameError::PayloadTooLarge { len: payload.len() });
    }
    let needed = encoded_len(payload);
    if out.len() < needed {
        return Err(FrameError::BufferTooSmall {
            needed,
            available: out.len(),
        });
    }
    let len = (payload.len() as u16).to_be_bytes();
    out[0] = START;
    out[1] = len[0];
    out[2] = len[1];
    let mut i = 3;
    for &b in payload {
        if needs_escape(b) {
            out[i] = ESCAPE;
            out[i + 1] = b ^ ESCAPE_XOR;
            i += 2;
        } else {
            out[i] = b;
            i += 1;
        }
    }
    let crc = crc16(payload).to_be_bytes();
    out[i] = crc[0];
    out[i + 1] = crc[1];
    out[i + 2] = END;
    Ok(i + 3)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    LenHi,
    LenLo,
    Payload,
    Escape,
    CrcHi,
    CrcLo,
    End,
}

/// Streaming frame decoder: feed bytes one at a time with [`push`](Self::push).
///
/// Fixed memory (a 1024-byte payload buffer), no heap, never panics. Behaviour:
/// - outside a frame every byte other than 0x7E is dropped (counted in
///   [`discarded`](Self::discarded));
/// - LEN > 1024 is rejected as soon as the LEN bytes arrive ([`FrameError::PayloadTooLarge`]);
/// - after any error the decoder is idle again, except that a 0x7E which caused the error
///   (inside the payload or in place of the end marker) already starts the next frame;
/// - timeouts are the caller's job: check [`in_frame`](Self::in_frame) and call
///   [`reset`](Self::reset) after 500 ms without a byte (`limits::FRAME_TIMEOUT_MS`).
#[derive(Clone)]
pub struct Decoder {
    buf: [u8; MAX_PAYLOAD],
    state: State,
    len: usize,
    pos: usize,
    crc: u16,
    discarded: u32,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Decoder")
            .field("state", &self.state)
            .field("len", &self.len)
            .field("pos", &self.pos)
            .field("discarded", &self.discarded)
            .finish()
    }
}

impl Decoder {
    /// An idle decoder.
    pub const fn new() -> Self {
        Self {
            buf: [0; MAX_PAYLOAD],
            state: State::Idle,
            len: 0,
            pos: 0,
            crc: 0,
            discarded: 0,
        }
    }

    /// True while a frame has started (0x7E seen) and not yet completed or failed.
    pub fn in_frame(&self) -> bool {
        self.state != State::Idle
    }

    /// Drops any partial frame (used for the per-frame timeout). Does not touch
    /// [`discarded`](Self::discarded).
    pub fn reset(&mut self) {
        self.state = State::Idle;
        self.pos = 0;
        self.len = 0;
    }

    /// Bytes dropped outside frames since creation (wrapping counter), for diagnostics.
    pub fn discarded(&self) -> u32 {
        self.discarded
    }

    fn start(&mut self) {
        self.state = State::LenHi;
        self.pos = 0;
        self.len = 0;
    }

    fn fail(&mut self, err: FrameError, restart: bool) -> Option<Result<&[u8], FrameError>> {
        if restart {
            self.start();
        } else {
            self.reset();
        }
        Some(Err(err))
    }

    /// Feeds one byte. Returns `None` while no frame is complete, `Some(Ok(payload))` with the
    /// unescaped payload (valid until the next call) when a frame with a good CRC ends, or
    /// `Some(Err(_))` when a frame is rejected ([`FrameError::PayloadTooLarge`],
    /// [`FrameError::BadEnd`], [`FrameError::CrcMismatch`], [`FrameError::Interrupted`],
    /// [`FrameError::InvalidEscape`]).
    pub fn push(&mut self, byte: u8) -> Option<Result<&[u8], FrameError>> {
        match self.state {
            State::Idle => {
                if byte == START {
                    self.start();
                } else {
                    self.discarded = self.discarded.wrapping_add(1);
                }
                None
            }
            State::LenHi => {
                self.len = usize::from(byte) << 8;
                self.state = State::LenLo;
                None
            }
            State::LenLo => {
                self.len |= usize::from(byte);
                if self.len > MAX_PAYLOAD {
                    let len = self.len;
                    return self.fail(FrameError::PayloadTooLarge { len }, false);
                }
                self.state = if self.len == 0 {
                    State::CrcHi
                } else {
                    State::Payload
                };
                None
            }
            State::Payload => match byte {
                START => self.fail(FrameError::Interrupted, true),
                ESCAPE => {
                    self.state = State::Escape;
                    None
                }
                END => self.fail(FrameError::InvalidEscape { got: byte }, false),
                b => self.store(b),
            },
            State::Escape => match byte {
                START => self.fail(FrameError::Interrupted, true),
                0x5D..=0x5F => self.store(byte ^ ESCAPE_XOR),
                got => self.fail(FrameError::InvalidEscape { got }, false),
            },
            State::CrcHi => {
                self.crc = u16::from(byte) << 8;
                self.state = State::CrcLo;
                None
            }
            State::CrcLo => {
                self.crc |= u16::from(byte);
                self.state = State::End;
                None
            }
            State::End => {
                if byte != END {
                    return self.fail(FrameError::BadEnd { got: byte }, byte == START);
                }
                self.state = State::Idle;
                let payload = self.buf.get(..self.len)?;
                let computed = crc16(payload);
                if computed != self.crc {
                    return Some(Err(FrameError::CrcMismatch {
                        expected: self.crc,
                        computed,
                    }));
                }
                Some(Ok(payload))
            }
        }
    }

    fn store(&mut self, b: u8) -> Option<Result<&[u8], FrameError>> {
        // `pos < len <= MAX_PAYLOAD` holds here; `get_mut` keeps this panic-free regardless.
        if let Some(slot) = self.buf.get_mut(self.pos) {
            *slot = b;
        }
        self.pos += 1;
        self.state = if self.pos >= self.len {
            State::CrcHi
        } else {
            State::Payload
        };
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(payload: &[u8]) -> ([u8; MAX_FRAME], usize) {
        let mut out = [0u8; MAX_FRAME];
        let n = encode(payload, &mut out).unwrap();
        (out, n)
    }

    /// Feeds all bytes, expecting exactly one event at the end.
    fn decode_one(bytes: &[u8]) -> Result<([u8; MAX_PAYLOAD], usize), FrameError> {
        let mut d = Decoder::new();
        let (last, init) = bytes.split_last().unwrap();
        for &b in init {
            assert!(d.push(b).is_none());
        }
        match d.push(*last) {
            Some(Ok(p)) => {
                let mut buf = [0; MAX_PAYLOAD];
                buf[..p.len()].copy_from_slice(p);
                Ok((buf, p.len()))
            }
            Some(Err(e)) => Err(e),
            None => panic!("no event"),
        }
    }

    const HANDSHAKE_PAYLOAD: &[u8] =
        b"\x10\x01\x1a\x28\x0a\x23flash_program,verify,error_recovery\x10\x80\x02";

    #[test]
    fn crc_check_values() {
        assert_eq!(CRC16.checksum(b"123456789"), 0x29B1);
        assert_eq!(crate::crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn vector_empty() {
        let (out, n) = enc(&[]);
        assert_eq!(&out[..n], &[0x7e, 0x00, 0x00, 0x1d, 0x0f, 0x7f]);
        assert_eq!(decode_one(&out[..n]).unwrap().1, 0);
    }

    #[test]
    fn vector_handshake() {
        assert_eq!(HANDSHAKE_PAYLOAD.len(), 44);
        let (out, n) = enc(HANDSHAKE_PAYLOAD);
        let mut want = [0u8; 50];
        want[..3].copy_from_slice(&[0x7e, 0x00, 0x2c]);
        want[3..47].copy_from_slice(HANDSHAKE_PAYLOAD);
        want[47..].copy_from_slice(&[0x46, 0x55, 0x7f]);
        assert_eq!(&out[..n], &want[..]);
        let (buf, len) = decode_one(&want).unwrap();
        assert_eq!(&buf[..len], HANDSHAKE_PAYLOAD);
    }

    #[test]
    fn vector_prepare_verify_ack() {
        let cases: [(&[u8], &[u8]); 3] = [
            (
                &[0x10, 0x02, 0x2a, 0x03, 0x08, 0x80, 0x02],
                &[
                    0x7e, 0x00, 0x07, 0x10, 0x02, 0x2a, 0x03, 0x08, 0x80, 0x02, 0x24, 0xec, 0x7f,
                ],
            ),
            (
                &[0x10, 0x04, 0x2a, 0x05, 0x08, 0x80, 0x02, 0x10, 0x01],
                &[
                    0x7e, 0x00, 0x09, 0x10, 0x04, 0x2a, 0x05, 0x08, 0x80, 0x02, 0x10, 0x01, 0xd1,
                    0x0c, 0x7f,
                ],
            ),
            (
                &[0x10, 0x02, 0x2a, 0x02, 0x08, 0x01],
                &[
                    0x7e, 0x00, 0x06, 0x10, 0x02, 0x2a, 0x02, 0x08, 0x01, 0x66, 0x11, 0x7f,
                ],
            ),
        ];
        for (payload, frame) in cases {
            let (out, n) = enc(payload);
            assert_eq!(&out[..n], frame);
            let (buf, len) = decode_one(frame).unwrap();
            assert_eq!(&buf[..len], payload);
        }
    }

    /// The DataPacket vector: bytes 0x00..=0xFF, sequence id 3, offset omitted.
    pub(crate) fn data_vector_payload() -> ([u8; 270], u32) {
        let data: [u8; 256] = core::array::from_fn(|i| i as u8);
        let crc = crate::crc32(&data);
        let mut p = [0u8; 270];
        // seq 3, field 4 (LEN 265 = 0x89 0x02), data field 2 (LEN 256 = 0x80 0x02), crc field 3.
        p[..7].copy_from_slice(&[0x10, 0x03, 0x22, 0x89, 0x02, 0x12, 0x80]);
        p[7] = 0x02;
        p[8..264].copy_from_slice(&data);
        p[264] = 0x18;
        p[265..270].copy_from_slice(&[0xf3, 0x98, 0x96, 0xc8, 0x02]);
        (p, crc)
    }

    #[test]
    fn vector_data_packet() {
        let (payload, crc) = data_vector_payload();
        assert_eq!(crc, 0x2905_8C73);
        assert_eq!(crc16(&payload), 0x5CAF);
        let (out, n) = enc(&payload);
        assert_eq!(n, 279);
        assert_eq!(&out[..3], &[0x7e, 0x01, 0x0e]);
        assert_eq!(&out[n - 3..n], &[0x5c, 0xaf, 0x7f]);
        // 0x7D, 0x7E, 0x7F escaped in place.
        let at = 3 + 8 + 0x7d;
        assert_eq!(
            &out[at..at + 7],
            &[0x7d, 0x5d, 0x7d, 0x5e, 0x7d, 0x5f, 0x80]
        );
        let (buf, len) = decode_one(&out[..n]).unwrap();
        assert_eq!(&buf[..len], &payload[..]);
    }

    #[test]
    fn escape_round_trip() {
        let payload = [0x7d, 0x7e, 0x7f, 0x7d, 0x00, 0x7e];
        let (out, n) = enc(&payload);
        assert_eq!(n, OVERHEAD + 6 + 5);
        assert_eq!(
            &out[3..14],
            &[
                0x7d, 0x5d, 0x7d, 0x5e, 0x7d, 0x5f, 0x7d, 0x5d, 0x00, 0x7d, 0x5e
            ]
        );
        let (buf, len) = decode_one(&out[..n]).unwrap();
        assert_eq!(&buf[..len], &payload);
        let all = [0x7eu8; MAX_PAYLOAD];
        let (out, n) = enc(&all);
        assert_eq!(n, MAX_FRAME);
        let (buf, len) = decode_one(&out[..n]).unwrap();
        assert_eq!(&buf[..len], &all[..]);
    }

    #[test]
    fn encode_errors() {
        let big = [0u8; MAX_PAYLOAD + 1];
        let mut out = [0u8; MAX_FRAME + 8];
        assert_eq!(
            encode(&big, &mut out),
            Err(FrameError::PayloadTooLarge { len: 1025 })
        );
        let mut small = [0u8; 8];
        assert_eq!(
            encode(&[0x7e, 1], &mut small),
            Err(FrameError::BufferTooSmall {
                needed: 9,
                available: 8
            })
        );
    }

    #[test]
    fn resync_after_garbage() {
        let (frame, n) = enc(&[1, 2, 3]);
        let mut d = Decoder::new();
        for b in b"hello world\r\n\x7f\x00\xff" {
            assert!(d.push(*b).is_none());
        }
        assert!(!d.in_frame());
        assert_eq!(d.discarded(), 16);
        let mut got = None;
        for &b in &frame[..n] {
            if let Some(r) = d.push(b) {
                got = Some(r.map(|p| p.len()));
            }
        }
        assert_eq!(got, Some(Ok(3)));
    }

    #[test]
    fn errors_and_recovery() {
        let (good, n) = enc(&[0x10, 0x01]);
        let good = &good[..n];
        // Oversize LEN rejected at the LEN bytes.
        let mut d = Decoder::new();
        assert!(d.push(0x7e).is_none());
        assert!(d.push(0x04).is_none());
        assert_eq!(
            d.push(0x01),
            Some(Err(FrameError::PayloadTooLarge { len: 1025 }))
        );
        assert!(!d.in_frame());
        // Bad end marker.
        let mut bad = [0u8; 16];
        bad[..n].copy_from_slice(good);
        bad[n - 1] = 0x00;
        assert_eq!(decode_one(&bad[..n]), Err(FrameError::BadEnd { got: 0 }));
        // CRC mismatch (original corruption: CRC high byte inverted).
        bad[..n].copy_from_slice(good);
        bad[n - 3] ^= 0xff;
        let computed = crc16(&[0x10, 0x01]);
        assert_eq!(
            decode_one(&bad[..n]),
            Err(FrameError::CrcMismatch {
                expected: computed ^ 0xff00,
                computed
            })
        );
        // Invalid escape and raw 0x7F in the payload.
        assert_eq!(
            decode_one(&[0x7e, 0, 2, 0x7d, 0x41]),
            Err(FrameError::InvalidEscape { got: 0x41 })
        );
        assert_eq!(
            decode_one(&[0x7e, 0, 2, 0x7f]),
            Err(FrameError::InvalidEscape { got: 0x7f })
        );
    }

    #[test]
    fn start_marker_inside_frame_is_not_lost() {
        let (good, n) = enc(&[0x10, 0x01]);
        // A partial frame (LEN 0x20, 2 payload bytes), then a complete frame.
        for prefix in [
            &[0x7e, 0x00, 0x20, 1, 2][..],
            &[0x7e, 0x00, 0x20, 1, 0x7d][..],
        ] {
            let mut d = Decoder::new();
            for &b in prefix {
                assert!(d.push(b).is_none());
            }
            assert_eq!(d.push(good[0]), Some(Err(FrameError::Interrupted)));
            assert!(d.in_frame());
            let mut ok = false;
            for &b in &good[1..n] {
                if let Some(r) = d.push(b) {
                    ok = r.is_ok();
                }
            }
            assert!(ok);
        }
        // 0x7E in place of the end marker starts the next frame.
        let mut d = Decoder::new();
        for &b in &good[..n - 1] {
            assert!(d.push(b).is_none());
        }
        assert_eq!(d.push(0x7e), Some(Err(FrameError::BadEnd { got: 0x7e })));
        let events: usize = good[1..n]
            .iter()
            .filter(|&&b| matches!(d.push(b), Some(Ok(_))))
            .count();
        assert_eq!(events, 1);
        // reset() drops a partial frame.
        let mut d = Decoder::new();
        d.push(0x7e);
        d.push(0x00);
        assert!(d.in_frame());
        d.reset();
        assert!(!d.in_frame());
    }

    #[test]
    fn lenient_positions_for_len_and_crc() {
        // LEN 0x7E (126) and CRC bytes are never escaped.
        let payload = [0x55u8; 0x7e];
        let (out, n) = enc(&payload);
        assert_eq!(out[2], 0x7e);
        let (buf, len) = decode_one(&out[..n]).unwrap();
        assert_eq!(&buf[..len], &payload[..]);
    }
}
