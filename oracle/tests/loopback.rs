//! The client and every scenario against a minimal in-memory device that follows the
//! `README.md` contract (built from the crate's `device` types and `Reject` table), in virtual
//! time. This is a test double, not the device engine (that lives in `firmware/hypervisor`).

use std::{cell::RefCell, collections::VecDeque, io, rc::Rc, time::Duration};

use cockpit_oracle::{
    client::{Client, ClientError, Timeouts, Transport},
    crc32,
    device::{self, Reject, RequestKind, ResponseKind},
    frame, limits,
    scenario::{self, Bench, Outcome, ScenarioConfig},
};

const BANK: [u32; 2] = [0x0802_0000, 0x0805_0000];

struct Dev {
    decoder: frame::Decoder,
    out: VecDeque<u8>,
    now: u64,
    last_byte: u64,
    last_valid: u64,
    session: bool,
    last_seq: u32,
    cache: Vec<u8>,
    banks: [Vec<u8>; 2],
    /// Metadata: active bank and length of each bank's committed image.
    active: Option<usize>,
    committed: [usize; 2],
    upload: Option<(u32, u32)>,
    drop_next: u32,
    ops_left: Option<u32>,
    powered: bool,
    booted: Option<u32>,
}

impl Dev {
    fn new() -> Self {
        Self {
            decoder: frame::Decoder::new(),
            out: VecDeque::new(),
            now: 0,
            last_byte: 0,
            last_valid: 0,
            session: false,
            last_seq: 0,
            cache: Vec::new(),
            banks: [
                vec![0xFF; limits::BANK_SIZE as usize],
                vec![0xFF; limits::BANK_SIZE as usize],
            ],
            active: None,
            committed: [0, 0],
            upload: None,
            drop_next: 0,
            ops_left: None,
            powered: true,
            booted: None,
        }
    }

    fn target(&self) -> usize {
        match self.active {
            Some(0) => 1,
            _ => 0,
        }
    }

    /// One flash operation; false = power was cut.
    fn flash_op(&mut self) -> bool {
        match &mut self.ops_left {
            Some(0) => {
                self.powered = false;
                false
            }
            Some(n) => {
                *n -= 1;
                true
            }
            None => true,
        }
    }

    fn send(&mut self, r: &device::Response) -> Vec<u8> {
        let mut buf = [0u8; device::RESPONSE_FRAME_MAX];
        let n = device::encode_response_frame(r, &mut buf).unwrap();
        if self.drop_next > 0 {
            self.drop_next -= 1;
        } else {
            self.out.extend(&buf[..n]);
        }
        buf[..n].to_vec()
    }

    fn tick(&mut self) {
        if self.powered
            && self.decoder.in_frame()
            && self.now - self.last_byte > u64::from(limits::FRAME_TIMEOUT_MS)
        {
            self.decoder.reset();
            self.send(&Reject::PartialFrameTimeout.response(0));
        }
    }

    fn push(&mut self, b: u8) {
        if !self.powered {
            return;
        }
        self.tick();
        self.last_byte = self.now;
        let resp = match self.decoder.push(b) {
            None => return,
            Some(Err(e)) => Reject::Frame(e).response(0),
            Some(Ok(p)) => match device::decode_request(p) {
                Err(_) => Reject::ProtobufDecode.response(0),
                Ok(req) => {
                    if self.session
                        && self.now - self.last_valid > u64::from(limits::SESSION_TIMEOUT_MS)
                    {
                        self.session = false;
                    }
                    let seq = req.sequence_id;
                    let is_handshake = matches!(req.request, Some(RequestKind::Handshake(_)));
                    if !is_handshake && self.session && seq == self.last_seq {
                        if self.drop_next > 0 {
                            self.drop_next -= 1;
                        } else {
                            let cached = self.cache.clone();
                            self.out.extend(cached);
                        }
                        return;
                    }
                    match self.handle(req) {
                        Ok(r) => {
                            self.last_seq = seq;
                            self.last_valid = self.now;
                            if !self.powered {
                                return;
                            }
                            self.cache = self.send(&r);
                            return;
                        }
                        Err(rej) => rej.response(seq),
                    }
                }
            },
        };
        if self.powered {
            self.send(&resp);
        }
    }

    fn handle(&mut self, req: device::Request) -> Result<device::Response, Reject> {
        let seq = req.sequence_id;
        let kind = req.request.ok_or(Reject::UnknownRequest);
        if let Ok(RequestKind::Handshake(h)) = &kind {
            if !h.capabilities.contains(limits::REQUIRED_CAPABILITY) {
                return Err(Reject::MissingCapability);
            }
            if h.max_packet_size > 1024 {
                return Err(Reject::PacketSizeTooLarge);
            }
            self.session = true;
            self.upload = None;
            return Ok(device::ok_response(
                seq,
                ResponseKind::Handshake(device::HandshakeResponse {
                    bootloader_version: device::bounded_str(limits::BOOTLOADER_VERSION),
                    supported_capabilities: device::bounded_str(limits::DEVICE_CAPABILITIES),
                    flash_page_size: limits::FLASH_PAGE_SIZE,
                    target_flash_address: BANK[self.target()],
                }),
            ));
        }
        if !self.session {
            return Err(Reject::NoSession);
        }
        if seq != self.last_seq.wrapping_add(1) {
            return Err(Reject::WrongSequence {
                expected: self.last_seq.wrapping_add(1),
            });
        }
        let ack = || {
            device::ok_response(
                seq,
                ResponseKind::Ack(device::Acknowledgment {
                    success: true,
                    message: Default::default(),
                }),
            )
        };
        let t = self.target();
        match kind? {
            RequestKind::Handshake(_) => unreachable!(),
            RequestKind::Recovery(_) => Err(Reject::RecoveryUnsupported),
            RequestKind::FlashProgram(f) if !f.verify_after_program => {
                if f.total_data_length == 0 {
                    return Err(Reject::EmptyImage);
                }
                if f.total_data_length > limits::BANK_SIZE {
                    return Err(Reject::ImageTooLarge);
                }
                for _ in 0..f.total_data_length.div_ceil(limits::FLASH_PAGE_SIZE) {
                    if !self.flash_op() {
                        return Ok(ack());
                    }
                }
                self.banks[t][..f.total_data_length as usize].fill(0xFF);
                self.upload = Some((f.total_data_length, 0));
                Ok(ack())
            }
            RequestKind::Data(d) => {
                let (total, got) = self.upload.ok_or(Reject::NoUpload)?;
                if d.offset != got {
                    return Err(Reject::OffsetMismatch { expected: got });
                }
                if got as usize + d.data.len() > total as usize {
                    return Err(Reject::DataOverrun);
                }
                if crc32(&d.data) != d.data_crc32 {
                    return Err(Reject::DataCrc);
                }
                if !self.flash_op() {
                    return Ok(ack());
                }
                self.banks[t][got as usize..got as usize + d.data.len()].copy_from_slice(&d.data);
                self.upload = Some((total, got + d.data.len() as u32));
                Ok(ack())
            }
            RequestKind::FlashProgram(_) => {
                let (total, got) = self.upload.ok_or(Reject::NoUpload)?;
                if got != total {
                    return Err(Reject::Incomplete {
                        received: got,
                        total,
                    });
                }
                let img = self.banks[t][..total as usize].to_vec();
                if !img.starts_with(b"CVBC") {
                    self.upload = None;
                    return Err(Reject::InvalidImage);
                }
                let crc = crc32(&img);
                if !self.flash_op() {
                    return Ok(ack());
                }
                self.active = Some(t);
                self.committed[t] = total as usize;
                self.upload = None;
                let mut hash = heapless::Vec::new();
                hash.extend_from_slice(&crc.to_be_bytes()).unwrap();
                Ok(device::ok_response(
                    seq,
                    ResponseKind::FlashResult(device::FlashProgramResponse {
                        bytes_programmed: total.div_ceil(8) * 8,
                        actual_data_length: total,
                        verification_hash: hash,
                        flash_crc32: crc,
                        flash_sample: heapless::Vec::from_slice(&img[..img.len().min(64)]).unwrap(),
                        hardware_verify_passed: true,
                    }),
                ))
            }
            RequestKind::FlashRead(r) => {
                if r.length == 0 || r.length as usize > limits::MAX_READ {
                    return Err(Reject::ReadTooLong);
                }
                let bank = BANK.iter().position(|&b| {
                    r.start_address >= b && r.start_address + r.length <= b + limits::BANK_SIZE
                });
                let Some(i) = bank else {
                    return Err(Reject::ReadOutOfRange);
                };
                let off = (r.start_address - BANK[i]) as usize;
                let data = &self.banks[i][off..off + r.length as usize];
                Ok(device::ok_response(
                    seq,
                    ResponseKind::FlashRead(device::FlashReadResponse {
                        flash_data: heapless::Vec::from_slice(data).unwrap(),
                        actual_length: r.length,
                        data_crc32: crc32(data),
                        read_address: r.start_address,
                        chunk_sequence: r.chunk_sequence,
                        has_more_chunks: false,
                    }),
                ))
            }
            RequestKind::DeviceInfo(_) => Ok(device::ok_response(
                seq,
                ResponseKind::DeviceInfo(device::DeviceInfoResponse {
                    device_model: device::bounded_str(limits::DEVICE_MODEL),
                    bootloader_version: device::bounded_str(limits::BOOTLOADER_VERSION),
                    flash_total_size: 512 * 1024,
                    flash_page_size: limits::FLASH_PAGE_SIZE,
                    unique_device_id: heapless::Vec::from_slice(&[7; 12]).unwrap(),
                    ..Default::default()
                }),
            )),
        }
    }
}

#[derive(Clone)]
struct Sim(Rc<RefCell<Dev>>);

impl Transport for Sim {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut d = self.0.borrow_mut();
        for &b in bytes {
            d.push(b);
        }
        Ok(())
    }
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let mut d = self.0.borrow_mut();
        let n = buf.len().min(d.out.len());
        if n == 0 {
            // Nothing will come without further input: let the (virtual) timeout pass at once.
            drop(d);
            std::thread::sleep(timeout.min(Duration::from_millis(1)));
            return Ok(0);
        }
        for (slot, b) in buf.iter_mut().zip(d.out.drain(..n)) {
            *slot = b;
        }
        Ok(n)
    }
    fn discard_input(&mut self) -> io::Result<()> {
        self.0.borrow_mut().out.clear();
        Ok(())
    }
}

impl Bench for Sim {
    fn wait(&mut self, d: Duration) {
        let mut dev = self.0.borrow_mut();
        dev.now += d.as_millis() as u64;
        dev.tick();
    }
    fn now(&self) -> Duration {
        Duration::from_millis(self.0.borrow().now)
    }
    fn arm_power_cut(&mut self, after_flash_ops: u32) -> bool {
        self.0.borrow_mut().ops_left = Some(after_flash_ops);
        true
    }
    fn reboot(&mut self) {
        let mut d = self.0.borrow_mut();
        d.powered = true;
        d.ops_left = None;
        d.session = false;
        d.upload = None;
        d.decoder.reset();
        d.out.clear();
        d.booted = d.active.map(|a| crc32(&d.banks[a][..d.committed[a]]));
    }
    fn booted_image_crc32(&mut self) -> Option<u32> {
        self.0.borrow().booted
    }
}

fn fast() -> Timeouts {
    Timeouts {
        response: Duration::from_millis(30),
        prepare: Duration::from_millis(30),
        verify: Duration::from_millis(30),
        retries: 3,
    }
}

fn setup() -> (Sim, Client<Sim>) {
    let sim = Sim(Rc::new(RefCell::new(Dev::new())));
    let client = Client::new(sim.clone(), fast());
    (sim, client)
}

fn image(len: usize, seed: u8) -> Vec<u8> {
    let mut v: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    v[..4].copy_from_slice(b"CVBC");
    v
}

#[test]
fn upload_chunked_with_readback() {
    let (_sim, mut c) = setup();
    let img = image(32 * 1024, 1);
    let mut calls = 0;
    let r = c.upload(&img, |_| calls += 1).unwrap();
    assert_eq!(r.bytes, img.len());
    assert_eq!(r.chunk_size, 1000);
    assert_eq!(r.chunks, 33);
    assert_eq!(calls, 34);
    assert_eq!(r.crc32, crc32(&img));
    assert_eq!(r.target_address, BANK[0]);
    // The next upload goes to the other bank.
    let r2 = c.upload(&image(5000, 2), |_| {}).unwrap();
    assert_eq!(r2.target_address, BANK[1]);
}

#[test]
fn lost_responses_are_retried_with_the_same_id() {
    let (sim, mut c) = setup();
    c.handshake().unwrap();
    c.prepare(2000).unwrap();
    sim.0.borrow_mut().drop_next = 2;
    c.send_chunk(0, &[1; 1000]).unwrap();
    assert_eq!(c.retries(), 2);
    // The device acted once: the next chunk at offset 1000 is accepted.
    c.send_chunk(1000, &[2; 1000]).unwrap();
    sim.0.borrow_mut().drop_next = 10;
    match c.send_chunk(2000, &[3; 1]) {
        Err(ClientError::Timeout {
            request: "data",
            attempts: 4,
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn device_errors_carry_the_report() {
    let (_sim, mut c) = setup();
    c.handshake().unwrap();
    c.prepare(100).unwrap();
    let e = c.send_chunk(5, &[0; 10]).unwrap_err();
    let d = e.device().unwrap();
    assert_eq!(
        d.code(),
        Some(cockpit_oracle::pb::ErrorCode::InvalidSequence)
    );
    assert_eq!(d.failed_sequence_id, 3);
    assert_eq!(d.diagnostic_message, "offset mismatch, expected 0");
    // The rejected id was not consumed.
    c.send_chunk(0, &[0; 100]).unwrap();
    // A corrupt image is refused at verify.
    let e = c.verify(100).unwrap_err();
    assert_eq!(
        e.device().unwrap().code(),
        Some(cockpit_oracle::pb::ErrorCode::FlashVerifyFailed)
    );
}

#[test]
fn original_flow_and_info() {
    let (_sim, mut c) = setup();
    let img = image(256, 9);
    let f = c.upload_original(&img).unwrap();
    assert_eq!(f.verification_hash, crc32(&img).to_be_bytes());
    assert_eq!(c.last_sequence_id(), 4);
    assert!(matches!(
        c.upload_original(&image(1011, 0)),
        Err(ClientError::ImageSize { .. })
    ));
    let info = c.device_info().unwrap();
    assert_eq!(info.device_model, "STM32G474RE");
    assert_eq!(c.flash_read(BANK[0], 256).unwrap(), img);
}

fn cfg() -> ScenarioConfig {
    let mut cfg = ScenarioConfig::new(image(3000, 1), image(2500, 2));
    cfg.garbage_bytes = 2048;
    cfg
}

#[test]
fn every_scenario_passes_against_the_contract() {
    for spec in scenario::CATALOGUE {
        let (mut sim, mut c) = setup();
        let r = scenario::run(spec.name, &mut c, &mut sim, &cfg()).unwrap();
        assert_eq!(
            r.outcome,
            Outcome::Pass,
            "{}",
            serde_json::to_string_pretty(&r).unwrap()
        );
    }
    let (mut sim, mut c) = setup();
    assert!(scenario::run("nope", &mut c, &mut sim, &cfg()).is_err());
}

#[test]
fn power_loss_at_every_cut_point() {
    // prepare(2500) = 2 erases, 3 chunks, 1 metadata write.
    for cut in 0..8 {
        let (mut sim, mut c) = setup();
        let mut cfg = cfg();
        cfg.power_cut_after_ops = cut;
        let r = scenario::run("power_loss_during_programming", &mut c, &mut sim, &cfg).unwrap();
        assert_eq!(r.outcome, Outcome::Pass, "cut {cut}: {r:#?}");
    }
}

#[test]
fn scenarios_fail_against_a_silent_device() {
    // A device that never reports errors (the original firmware) fails the CRC scenario.
    let (mut sim, mut c) = setup();
    sim.0.borrow_mut().drop_next = 1;
    let r = scenario::run("crc_frame_corruption", &mut c, &mut sim, &cfg()).unwrap();
    assert_eq!(r.outcome, Outcome::Fail);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["outcome"], "fail");
}

/// `Client::open` by path on a pseudo-terminal, as on `/dev/ttyUSB0`.
#[test]
fn serial_port_by_path_on_a_pty() {
    use std::io::{Read, Write};
    let (mut master, slave) = serialport::TTYPort::pair().unwrap();
    let path = serialport::SerialPort::name(&slave).unwrap();
    serialport::SerialPort::set_timeout(&mut master, Duration::from_millis(20)).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let device = std::thread::spawn(move || {
        let mut dev = Dev::new();
        let mut buf = [0u8; 1024];
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            match master.read(&mut buf) {
                Ok(n) => {
                    for &b in &buf[..n] {
                        dev.push(b);
                    }
                    let out: Vec<u8> = dev.out.drain(..).collect();
                    master.write_all(&out).unwrap();
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
                Err(_) => break,
            }
        }
    });
    let mut c = Client::open(&path, 115_200, Timeouts::default()).unwrap();
    let img = image(4000, 3);
    let r = c.upload(&img, |_| {}).unwrap();
    assert_eq!(r.bytes, 4000);
    assert_eq!(r.baud, Some(115_200));
    assert!(r.line_efficiency.is_some());
    drop(c);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    device.join().unwrap();
    drop(slave);
}
