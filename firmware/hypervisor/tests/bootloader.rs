//! The Oracle device engine, rule by rule (contract: `oracle/README.md`, reference §2.2–2.4).

mod common;

use cockpit_hypervisor::boot::{self, BANK_B_ADDR, Bank, BootChoice, META_PAGES};
use cockpit_hypervisor::{FLASH_BASE, FLASH_SIZE, PAGE_SIZE, PROGRAM_BANK_ADDR, load_boot};
use cockpit_oracle::{crc32, limits, pb};
use common::*;
use pb::{ErrorCode as E, ResultCode as R};
use prost::Message;

fn with_a(image: &[u8]) -> VecFlash {
    let mut f = VecFlash::new();
    f.put(PROGRAM_BANK_ADDR, image);
    f
}

#[test]
fn handshake_response_and_target_bank() {
    let mut d = Dev::new(VecFlash::new());
    assert_eq!(d.bl.booted_bank(), None);
    let h = d.handshake();
    assert_eq!(h.bootloader_version, limits::BOOTLOADER_VERSION);
    assert!(h.bootloader_version.starts_with("Cockpit-"));
    assert_eq!(
        h.supported_capabilities,
        "flash_program,verify,dual_bank,chunked,flash_read,device_info"
    );
    assert_eq!(h.flash_page_size, 2048);
    assert_eq!(
        h.target_flash_address, BANK_B_ADDR,
        "fresh device: metadata says A, so B"
    );

    let mut d = Dev::new(with_a(&image(10, 1)));
    assert_eq!(d.bl.booted_bank(), Some(Bank::A));
    assert_eq!(d.handshake().target_flash_address, BANK_B_ADDR);
}

#[test]
fn handshake_rejections() {
    let mut d = Dev::new(VecFlash::new());
    let r = d.req(1, handshake("verify,chunked", 256));
    let m = assert_report(&r, E::CommFramingError, R::ErrorInvalidRequest, 1);
    assert!(m.contains("flash_program"), "{m}");
    let r = d.req(1, handshake("flash_program", 1025));
    assert_report(&r, E::ResourceExhaustion, R::ErrorResourceExhaustion, 1);
    assert!(!d.bl.in_session());
    // Any id starts a session; 1024 is allowed.
    let r = d.req(77, handshake("xx,flash_program,yy", 1024));
    assert!(matches!(r.response, Some(pb::ResponseKind::Handshake(_))));
    assert_eq!(r.sequence_id, 77);
    assert!(d.bl.in_session());
}

#[test]
fn sequence_rules_and_retransmission() {
    let img = image(200, 2);
    let mut d = Dev::new(VecFlash::new());
    // No session.
    let r = d.req(1, prepare(8));
    assert_eq!(
        assert_report(&r, E::InvalidSequence, R::ErrorInvalidRequest, 1),
        "no session"
    );
    d.seq = 9;
    d.handshake(); // id 10
    // Wrong ids: skipping ahead, stale.
    let r = d.req(12, prepare(8));
    let m = assert_report(&r, E::InvalidSequence, R::ErrorInvalidRequest, 12);
    assert!(m.contains("expected 11"), "{m}");
    let r = d.req(9, prepare(8));
    assert_report(&r, E::InvalidSequence, R::ErrorInvalidRequest, 9);
    // A rejected request does not advance the id.
    let r = d.req(11, prepare(0));
    assert_report(&r, E::CommFramingError, R::ErrorInvalidRequest, 11);
    assert_ack(&d.req(11, prepare(img.len() as u32)));
    // Retransmission of the prepare: same bytes back, no second erase.
    let ops = d.bl.flash().ops;
    let again = pb::BootloaderRequest::new(11, prepare(img.len() as u32)).encode_to_vec();
    let first_bytes = d.feed_raw(&frame(&again));
    assert_eq!(d.bl.flash().ops, ops, "retransmission must not act again");
    assert_eq!(
        decode_frames(&first_bytes)[0].sequence_id,
        11,
        "cached response echoes the id"
    );
    // The first chunk, then its retransmission: not programmed twice (would be PROGERR) and
    // the offset did not advance twice.
    let c0 = data(0, &img[..100]);
    let req0 = frame(&pb::BootloaderRequest::new(12, c0.clone()).encode_to_vec());
    let a = d.feed_raw(&req0);
    let b = d.feed_raw(&req0);
    assert_eq!(
        a, b,
        "retransmission answered byte-identically from the cache"
    );
    assert_ack(&decode_frames(&a)[0]);
    // Same id, different content: not a retransmission.
    let r = d.req(12, data(100, &img[100..200]));
    assert_report(&r, E::InvalidSequence, R::ErrorInvalidRequest, 12);
    assert_ack(&d.req(13, data(100, &img[100..])));
    let r = d.req(14, verify(img.len() as u32));
    assert!(
        matches!(r.response, Some(pb::ResponseKind::FlashResult(_))),
        "{r:?}"
    );
    // Retransmitted verify: the cached FlashProgramResponse, no second activation.
    let r2 = d.req(14, verify(img.len() as u32));
    assert_eq!(r, r2);
    assert_eq!(d.bl.activations(), 1);
}

#[test]
fn frame_level_errors_get_reports_with_id_0() {
    let mut d = Dev::new(VecFlash::new());
    let hs = pb::BootloaderRequest::new(1, handshake("flash_program", 256)).encode_to_vec();
    // Bad CRC (high byte inverted, as the original error injector).
    let mut f = frame(&hs);
    let n = f.len();
    f[n - 3] ^= 0xFF;
    let r = d.feed(&f);
    assert_report(&r[0], E::CommCrcMismatch, R::ErrorCommunication, 0);
    // Bad end marker.
    let mut f = frame(&hs);
    let n = f.len();
    f[n - 1] = 0x00;
    assert_report(
        &d.feed(&f)[0],
        E::CommFramingError,
        R::ErrorCommunication,
        0,
    );
    // Oversize LEN (1025): rejected as soon as LEN arrives.
    let r = d.feed(&[0x7E, 0x04, 0x01]);
    assert_report(&r[0], E::CommFramingError, R::ErrorCommunication, 0);
    assert!(d.feed(&[0u8; 16]).is_empty(), "bytes after it are dropped");
    // Undecodable protobuf (truncated handshake).
    let r = d.payload(&hs[..20]);
    let m = assert_report(&r, E::CommFramingError, R::ErrorCommunication, 0);
    assert_eq!(m, "protobuf decode failed");
    // Garbage outside frames: silently dropped.
    assert!(d.feed(b"hello world\r\n\x00\x7F\x7D").is_empty());
    // Still works.
    d.handshake();
}

#[test]
fn invalid_requests_get_error_invalid_request() {
    let mut d = Dev::new(VecFlash::new());
    d.handshake();
    // Empty oneof.
    let r = d.payload(
        &pb::BootloaderRequest {
            sequence_id: 2,
            request: None,
        }
        .encode_to_vec(),
    );
    assert_report(&r, E::CommFramingError, R::ErrorInvalidRequest, 2);
    // Unknown oneof member (field 15).
    let mut p = pb::BootloaderRequest {
        sequence_id: 2,
        request: None,
    }
    .encode_to_vec();
    p.extend_from_slice(&[0x7A, 0x02, 0x08, 0x01]);
    assert_report(
        &d.payload(&p),
        E::CommFramingError,
        R::ErrorInvalidRequest,
        2,
    );
    // Recovery.
    let r = d.req(
        2,
        pb::RequestKind::Recovery(pb::ErrorRecoveryRequest { action: 1 }),
    );
    assert_report(&r, E::CommFramingError, R::ErrorInvalidRequest, 2);
    // Data / verify with no upload.
    let r = d.req(2, data(0, &[1, 2, 3]));
    assert_report(&r, E::InvalidSequence, R::ErrorInvalidRequest, 2);
    let r = d.req(2, verify(3));
    assert_report(&r, E::InvalidSequence, R::ErrorInvalidRequest, 2);
}

#[test]
fn prepare_bounds_and_erased_pages() {
    let mut f = VecFlash::new();
    // Marker in the page after a 3000-byte upload's two pages, in bank B.
    f.put(BANK_B_ADDR + 2 * PAGE_SIZE as u32, &[0x55; 8]);
    f.put(BANK_B_ADDR + 2 * PAGE_SIZE as u32 - 8, &[0x66; 8]);
    let mut d = Dev::new(f);
    d.handshake();
    let r = d.next(prepare(0));
    assert_report(&r, E::CommFramingError, R::ErrorInvalidRequest, 2);
    let r = d.next(prepare(192 * 1024 + 1));
    assert_report(&r, E::ResourceExhaustion, R::ErrorResourceExhaustion, 2);
    assert_ack(&d.next(prepare(3000)));
    let fl = d.bl.flash();
    assert_eq!(
        fl.get(BANK_B_ADDR + 2 * PAGE_SIZE as u32 - 8, 8),
        &[0xFF; 8]
    );
    assert_eq!(
        fl.get(BANK_B_ADDR + 2 * PAGE_SIZE as u32, 8),
        &[0x55; 8],
        "only covering pages"
    );
    assert_eq!(fl.ops, 2);
    assert_ack(&d.next(prepare(192 * 1024)));
    assert_eq!(d.bl.flash().ops, 2 + 96);
}

#[test]
fn chunk_rules() {
    let img = image(100, 3);
    let mut d = Dev::new(VecFlash::new());
    d.handshake();
    assert_ack(&d.next(prepare(img.len() as u32)));
    // Wrong offset.
    let r = d.next(data(5, &img[..10]));
    let m = assert_report(&r, E::InvalidSequence, R::ErrorInvalidRequest, 3);
    assert!(m.contains("expected 0"), "{m}");
    // CRC mismatch.
    let mut bad = data(0, &img[..10]);
    if let pb::RequestKind::Data(p) = &mut bad {
        p.data_crc32 ^= 1;
    }
    assert_report(&d.next(bad), E::DataCrcMismatch, R::ErrorDataCorruption, 3);
    // Odd-sized chunks (staging of partial double words).
    assert_ack(&d.next(data(0, &img[..13])));
    assert_ack(&d.next(data(13, &img[13..20])));
    // Overrun.
    let mut long = img[20..].to_vec();
    long.push(0);
    let r = d.next(data(20, &long));
    assert_report(&r, E::ResourceExhaustion, R::ErrorResourceExhaustion, 5);
    // Verify before the end.
    let r = d.next(verify(img.len() as u32));
    let m = assert_report(&r, E::InvalidSequence, R::ErrorInvalidRequest, 5);
    assert!(m.contains(&format!("20 of {}", img.len())), "{m}");
    assert_ack(&d.next(data(20, &img[20..])));
    let r = d.next(verify(img.len() as u32));
    let Some(pb::ResponseKind::FlashResult(f)) = r.response else {
        panic!("{r:?}")
    };
    let crc = crc32(&img);
    assert_eq!(f.bytes_programmed as usize, img.len().next_multiple_of(8));
    assert_eq!(f.actual_data_length as usize, img.len());
    assert_eq!(f.verification_hash, crc.to_be_bytes());
    assert_eq!(f.flash_crc32, crc);
    assert!(f.hardware_verify_passed);
    assert_eq!(f.flash_sample, img[..64]);
    assert_eq!(d.bl.flash().get(BANK_B_ADDR, img.len()), &img[..]);
    // After verify: no upload.
    let r = d.next(data(0, &img[..8]));
    assert_report(&r, E::InvalidSequence, R::ErrorInvalidRequest, 7);
}

#[test]
fn uploads_alternate_banks_and_boot_follows_the_metadata() {
    let a = image(50, 10);
    let mut d = Dev::new(with_a(&a));
    let imgs: Vec<Vec<u8>> = (0..5).map(|i| image(200 + i * 37, 20 + i as u32)).collect();
    let mut expect = Bank::B;
    for img in &imgs {
        assert_eq!(d.bl.target_bank(), expect);
        let r = d.upload(img, 1000);
        assert!(
            matches!(r.response, Some(pb::ResponseKind::FlashResult(_))),
            "{r:?}"
        );
        assert_eq!(d.bl.booted_bank(), Some(expect));
        let choice = boot::select(d.bl.flash());
        assert_eq!(
            choice,
            BootChoice::Bank {
                bank: expect,
                addr: expect.addr(),
                len: img.len(),
                fallback: false
            }
        );
        let (bank, program) = load_boot(d.bl.flash()).unwrap();
        assert_eq!(bank, expect);
        assert_eq!(
            program.code_words().len(),
            200 + (imgs.iter().position(|i| i == img).unwrap()) * 37
        );
        // A reboot sees the same.
        let flash = std::mem::replace(
            &mut d.bl,
            cockpit_hypervisor::Bootloader::new(VecFlash::new(), UID, 0),
        )
        .into_flash();
        d = Dev::new(flash);
        expect = expect.other();
    }
}

#[test]
fn corrupt_image_is_rejected_and_the_previous_bank_still_boots() {
    let a = image(64, 5);
    let mut d = Dev::new(with_a(&a));
    // A CVBC image with one flipped byte (container CRC fails).
    let mut bad = image(500, 6);
    bad[200] ^= 0x40;
    let r = d.upload(&bad, 700);
    let m = assert_report(&r, E::FlashVerifyFailed, R::ErrorDataCorruption, d.seq + 1);
    assert!(m.contains("CVBC"), "{m}");
    assert_eq!(d.bl.booted_bank(), Some(Bank::A));
    assert_eq!(boot::select(d.bl.flash()).bank(), Some(Bank::A));
    // Random bytes too.
    let junk: Vec<u8> = (0..777u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let r = d.upload(&junk, 1000);
    assert_report(&r, E::FlashVerifyFailed, R::ErrorDataCorruption, d.seq + 1);
    // The upload is cancelled: verify again needs a new prepare. Still A.
    let r = d.req(d.seq + 1, verify(junk.len() as u32));
    let m = assert_report(&r, E::InvalidSequence, R::ErrorInvalidRequest, d.seq + 1);
    assert_eq!(m, "no upload prepared");
    let flash = d.bl.into_flash();
    assert_eq!(boot::select(&flash).bank(), Some(Bank::A));
    assert_eq!(boot::active_bank(&flash), Bank::A);
}

#[test]
fn boot_falls_back_to_the_other_valid_bank_else_stays_in_the_bootloader() {
    let mut f = VecFlash::new();
    assert_eq!(boot::select(&f), BootChoice::Bootloader);
    let b = image(40, 7);
    f.put(BANK_B_ADDR, &b);
    assert_eq!(
        boot::select(&f),
        BootChoice::Bank {
            bank: Bank::B,
            addr: BANK_B_ADDR,
            len: b.len(),
            fallback: true
        }
    );
    boot::write_active(&mut f, Bank::B).unwrap();
    assert_eq!(boot::select(&f).bank(), Some(Bank::B));
    let a = image(41, 8);
    f.put(PROGRAM_BANK_ADDR, &a);
    assert_eq!(boot::select(&f).bank(), Some(Bank::B), "metadata wins");
    // Corrupt B: A boots (fallback).
    let at = (BANK_B_ADDR - FLASH_BASE) as usize + 30;
    f.bytes[at] ^= 1;
    assert!(matches!(
        boot::select(&f),
        BootChoice::Bank {
            bank: Bank::A,
            fallback: true,
            ..
        }
    ));
    f.bytes[(PROGRAM_BANK_ADDR - FLASH_BASE) as usize + 30] ^= 1;
    assert_eq!(boot::select(&f), BootChoice::Bootloader);
    assert!(load_boot(&f).is_err());
}

#[test]
fn metadata_pages_ping_pong() {
    let mut f = VecFlash::new();
    for i in 0..1000u32 {
        let bank = if i % 3 == 0 { Bank::A } else { Bank::B };
        boot::write_active(&mut f, bank).unwrap();
        let m = boot::read_meta(&f).unwrap();
        assert_eq!(m.record.bank, bank);
        assert_eq!(m.record.generation, i + 1);
        assert_eq!(m.page, (i as usize / 256) % 2);
    }
    // 1000 programs + 3 erases (pages 1, 0, 1 at the switches).
    assert_eq!(f.ops, 1003);
    // Records outside the metadata pages are never written.
    let meta = (META_PAGES[0] - FLASH_BASE) as usize;
    assert!(f.bytes[..meta].iter().all(|&b| b == 0xFF));
    assert_eq!(f.bytes.len(), FLASH_SIZE);
}

#[test]
fn session_timeout_fires_on_poll() {
    let mut d = Dev::new(VecFlash::new());
    d.handshake();
    assert_ack(&d.next(prepare(100)));
    assert_eq!(d.bl.next_deadline(), Some(30_000));
    assert!(d.poll(29_999).is_empty());
    assert!(d.bl.in_session());
    // A valid request refreshes the session.
    d.now = 20_000;
    assert!(matches!(
        d.next(pb::RequestKind::DeviceInfo(pb::DeviceInfoRequest::default()))
            .response,
        Some(pb::ResponseKind::DeviceInfo(_))
    ));
    assert!(d.poll(49_999).is_empty());
    assert!(d.bl.in_session());
    // A retransmission of it (same id and bytes, answered from the cache) refreshes it too.
    d.now = 40_000;
    let again = d.req(
        d.seq,
        pb::RequestKind::DeviceInfo(pb::DeviceInfoRequest::default()),
    );
    assert!(matches!(
        again.response,
        Some(pb::ResponseKind::DeviceInfo(_))
    ));
    assert_eq!(d.bl.next_deadline(), Some(70_000));
    assert!(d.poll(69_999).is_empty());
    assert!(d.bl.in_session());
    // A rejected one does not.
    d.now = 65_000;
    let r = d.req(d.seq + 5, prepare(8));
    assert_report(&r, E::InvalidSequence, R::ErrorInvalidRequest, d.seq + 5);
    assert!(d.poll(70_000).is_empty(), "session expiry is silent");
    assert!(!d.bl.in_session(), "fired by poll alone, with no byte");
    assert_eq!(d.bl.next_deadline(), None);
    let r = d.req(d.seq + 1, data(0, &[1; 8]));
    assert_eq!(
        assert_report(&r, E::InvalidSequence, R::ErrorInvalidRequest, d.seq + 1),
        "no session"
    );
    // A new handshake works, and the abandoned upload is gone.
    d.handshake();
    let r = d.next(data(0, &[1; 8]));
    assert_report(&r, E::InvalidSequence, R::ErrorInvalidRequest, d.seq + 1);
}

#[test]
fn partial_frame_timeout_does_not_lose_the_next_start_byte() {
    let mut d = Dev::new(VecFlash::new());
    // 7E 00 20 then silence: COMM_TIMEOUT at 500 ms, fired by poll.
    assert!(d.feed(&[0x7E, 0x00, 0x20]).is_empty());
    assert_eq!(d.bl.next_deadline(), Some(500));
    assert!(d.poll(499).is_empty());
    let r = d.poll(500);
    assert_eq!(r.len(), 1);
    assert_report(&r[0], E::CommTimeout, R::ErrorCommunication, 0);
    assert!(d.poll(5_000).is_empty(), "reported once");
    // Partial frame, then a whole handshake frame 600 ms later with no poll in between: the
    // timeout fires before the 0x7E is decoded, so the handshake is answered.
    d.now = 10_000;
    assert!(d.feed(&[0x7E, 0x00, 0x20, 0x01]).is_empty());
    d.now = 10_600;
    let hs = frame(&pb::BootloaderRequest::new(1, handshake("flash_program", 256)).encode_to_vec());
    let r = d.feed(&hs);
    assert_eq!(r.len(), 2, "{r:?}");
    assert_report(&r[0], E::CommTimeout, R::ErrorCommunication, 0);
    assert!(matches!(
        r[1].response,
        Some(pb::ResponseKind::Handshake(_))
    ));
    // Partial frame followed at once by a frame: interrupted (framing error), then answered.
    let mut bytes = vec![0x7E, 0x00, 0x20, 0x01];
    let hs2 =
        frame(&pb::BootloaderRequest::new(2, handshake("flash_program", 256)).encode_to_vec());
    bytes.extend_from_slice(&hs2);
    let r = d.feed(&bytes);
    assert_eq!(r.len(), 2, "{r:?}");
    assert_report(&r[0], E::CommFramingError, R::ErrorCommunication, 0);
    assert_eq!(r[1].sequence_id, 2);
    // Slow bytes (< 500 ms apart) do not time out.
    let hs3 =
        frame(&pb::BootloaderRequest::new(3, handshake("flash_program", 256)).encode_to_vec());
    let mut got = Vec::new();
    for &b in &hs3 {
        d.now += 499;
        got.extend(d.poll(d.now));
        got.extend(d.feed(&[b]));
    }
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].sequence_id, 3);
}

#[test]
fn flash_read_and_device_info() {
    let a = image(100, 9);
    let mut d = Dev::new(with_a(&a));
    d.handshake();
    let read = |d: &mut Dev, addr: u32, len: u32| {
        d.next(pb::RequestKind::FlashRead(pb::FlashReadRequest {
            start_address: addr,
            length: len,
            chunk_sequence: 4,
            include_checksum: true,
        }))
    };
    let r = read(&mut d, PROGRAM_BANK_ADDR, 256);
    let Some(pb::ResponseKind::FlashRead(f)) = r.response else {
        panic!("{r:?}")
    };
    assert_eq!(f.flash_data, a[..256]);
    assert_eq!(
        (
            f.actual_length,
            f.read_address,
            f.chunk_sequence,
            f.has_more_chunks
        ),
        (256, PROGRAM_BANK_ADDR, 4, false)
    );
    assert_eq!(f.data_crc32, crc32(&a[..256]));
    // Any flash address, up to the last byte.
    let end = FLASH_BASE + FLASH_SIZE as u32;
    assert!(matches!(
        read(&mut d, end - 4, 4).response,
        Some(pb::ResponseKind::FlashRead(_))
    ));
    assert!(matches!(
        read(&mut d, FLASH_BASE, 1).response,
        Some(pb::ResponseKind::FlashRead(_))
    ));
    let s = d.seq + 1;
    assert_report(
        &read(&mut d, end - 4, 5),
        E::InvalidSequence,
        R::ErrorInvalidRequest,
        s,
    );
    assert_report(
        &read(&mut d, 0x2000_0000, 4),
        E::InvalidSequence,
        R::ErrorInvalidRequest,
        s,
    );
    assert_report(
        &read(&mut d, FLASH_BASE, 0),
        E::ResourceExhaustion,
        R::ErrorResourceExhaustion,
        s,
    );
    assert_report(
        &read(&mut d, FLASH_BASE, 257),
        E::ResourceExhaustion,
        R::ErrorResourceExhaustion,
        s,
    );

    let r = d.next(pb::RequestKind::DeviceInfo(pb::DeviceInfoRequest {
        include_memory_layout: true,
        include_device_id: true,
    }));
    let Some(pb::ResponseKind::DeviceInfo(i)) = r.response else {
        panic!("{r:?}")
    };
    assert_eq!(i.device_model, "STM32G474RE");
    assert_eq!(i.bootloader_version, limits::BOOTLOADER_VERSION);
    assert_eq!((i.flash_total_size, i.flash_page_size), (512 * 1024, 2048));
    assert_eq!(i.unique_device_id, UID);
    assert_eq!(i.bootloader_region_end, PROGRAM_BANK_ADDR);
    assert_eq!(
        (i.hypervisor_region_start, i.hypervisor_region_end),
        (FLASH_BASE, PROGRAM_BANK_ADDR)
    );
    assert_eq!(
        (i.bytecode_region_start, i.bytecode_region_end),
        (PROGRAM_BANK_ADDR, BANK_B_ADDR)
    );
    assert_eq!(i.test_page_address, BANK_B_ADDR, "the upload target");
}

/// Reference §2.2 vectors, and the original Python `--flash` flow (§2.9.1): ids 1–4,
/// capabilities "flash_program,verify,error_recovery", max_packet_size 256, ONE DataPacket
/// with the offset omitted, verify expecting a FlashProgramResponse with the BE CRC-32.
#[test]
fn original_single_packet_flow_with_the_reference_vectors() {
    let mut d = Dev::new(VecFlash::new());
    let mut hs = vec![0x7e, 0x00, 0x2c, 0x10, 0x01, 0x1a, 0x28, 0x0a, 0x23];
    hs.extend_from_slice(b"flash_program,verify,error_recovery");
    hs.extend_from_slice(&[0x10, 0x80, 0x02, 0x46, 0x55, 0x7f]);
    let r = d.feed(&hs);
    let Some(pb::ResponseKind::Handshake(h)) = &r[0].response else {
        panic!("{r:?}")
    };
    assert_eq!((r[0].sequence_id, h.flash_page_size), (1, 2048));
    // prepare(256) → the ACK vector, byte for byte.
    let ack = d.feed_raw(&[
        0x7e, 0x00, 0x07, 0x10, 0x02, 0x2a, 0x03, 0x08, 0x80, 0x02, 0x24, 0xec, 0x7f,
    ]);
    assert_eq!(
        ack,
        [
            0x7e, 0x00, 0x06, 0x10, 0x02, 0x2a, 0x02, 0x08, 0x01, 0x66, 0x11, 0x7f
        ]
    );
    // The data packet with bytes 0x00..=0xFF, offset omitted: payload 270 B, frame 279 B, CRC
    // 0x5CAF, data_crc32 0x29058C73.
    let mut p = vec![0x10, 0x03, 0x22, 0x89, 0x02, 0x12, 0x80, 0x02];
    p.extend((0..=255u8).collect::<Vec<_>>());
    p.extend_from_slice(&[0x18, 0xf3, 0x98, 0x96, 0xc8, 0x02]);
    assert_eq!(p.len(), 270);
    let f = frame(&p);
    assert_eq!(
        (f.len(), &f[1..3], &f[f.len() - 3..f.len() - 1]),
        (279, &[0x01, 0x0e][..], &[0x5c, 0xaf][..])
    );
    let r = d.feed(&f);
    assert_ack(&r[0]);
    assert_eq!(r[0].sequence_id, 3);
    assert_eq!(
        d.bl.flash().get(BANK_B_ADDR, 256),
        (0..=255u8).collect::<Vec<_>>()
    );
    // verify vector: 0..255 is not a program container → FLASH_VERIFY_FAILED, nothing activated.
    let r = d.feed(&[
        0x7e, 0x00, 0x09, 0x10, 0x04, 0x2a, 0x05, 0x08, 0x80, 0x02, 0x10, 0x01, 0xd1, 0x0c, 0x7f,
    ]);
    assert_report(&r[0], E::FlashVerifyFailed, R::ErrorDataCorruption, 4);
    assert_eq!(boot::select(d.bl.flash()), BootChoice::Bootloader);

    // The same flow with a real (CONC, original page-63 format) image succeeds.
    let conc = cockpit_vm::writer::conc_image(
        &[
            cockpit_vm::isa::Instruction::new(cockpit_vm::isa::Opcode::Push, 0, 300),
            cockpit_vm::isa::Instruction::new(cockpit_vm::isa::Opcode::Halt, 0, 0),
        ],
        &[b"line a\\n"],
    );
    for img in [conc, image(200, 11)] {
        let mut d = Dev::new(VecFlash::new());
        let r = d.req(1, handshake(limits::ORIGINAL_CLIENT_CAPABILITIES, 256));
        assert!(matches!(r.response, Some(pb::ResponseKind::Handshake(_))));
        assert_ack(&d.req(2, prepare(img.len() as u32)));
        let mut dp = pb::BootloaderRequest::new(3, data(0, &img)).encode_to_vec();
        // seq (10 03), data (22 + varint length), then field 2 (12): offset 0 is not on the wire.
        let len_bytes = if dp[3] & 0x80 != 0 { 2 } else { 1 };
        assert_eq!(
            (dp[2], dp[3 + len_bytes]),
            (0x22, 0x12),
            "offset 0 is omitted on the wire"
        );
        assert_ack(&d.payload(&dp));
        dp.clear();
        let r = d.req(4, verify(img.len() as u32));
        let Some(pb::ResponseKind::FlashResult(f)) = r.response else {
            panic!("{r:?}")
        };
        assert_eq!(f.verification_hash, crc32(&img).to_be_bytes());
        assert_eq!(f.bytes_programmed as usize, img.len().next_multiple_of(8));
        assert_eq!(boot::select(d.bl.flash()).bank(), Some(Bank::B));
    }
}

#[test]
fn a_handshake_is_always_processed_and_cancels_the_upload() {
    let mut d = Dev::new(VecFlash::new());
    let hs =
        frame(&pb::BootloaderRequest::new(5, handshake("flash_program", 1024)).encode_to_vec());
    assert_eq!(d.feed(&hs).len(), 1);
    assert_ack(&d.req(6, prepare(64)));
    assert_ack(&d.req(7, data(0, &[0xAB; 16])));
    // The same handshake frame again (even with the last id) restarts the session at 5.
    let r = d.feed(&hs);
    assert!(matches!(
        r[0].response,
        Some(pb::ResponseKind::Handshake(_))
    ));
    let r = d.req(6, data(16, &[0xAB; 16]));
    assert_eq!(
        assert_report(&r, E::InvalidSequence, R::ErrorInvalidRequest, 6),
        "no upload prepared"
    );
    // Retransmitting the handshake when it is the last accepted request is harmless too.
    assert_eq!(d.feed(&hs).len(), 1);
    assert_ack(&d.req(6, prepare(64)));
}

/// Found by the fuzzer: B boots only as a fallback (the metadata names A, which is empty). An
/// upload to A that is complete but never verified must not make A boot at the next reset:
/// prepare first records B as the active bank.
#[test]
fn an_unverified_upload_never_boots_even_when_the_booting_bank_is_a_fallback() {
    let mut f = VecFlash::new();
    let b = image(60, 12);
    f.put(BANK_B_ADDR, &b);
    assert!(matches!(
        boot::select(&f),
        BootChoice::Bank {
            bank: Bank::B,
            fallback: true,
            ..
        }
    ));
    let mut d = Dev::new(f);
    assert_eq!(d.bl.target_bank(), Bank::A);
    // An image whose length is a multiple of 8: complete in flash without the verify's flush.
    let a = (80..)
        .map(|n| image(n, 13))
        .find(|i| i.len() % 8 == 0)
        .unwrap();
    d.handshake();
    assert_ack(&d.next(prepare(a.len() as u32)));
    assert_ack(&d.next(data(0, &a)));
    // No verify: reset.
    let flash = d.bl.into_flash();
    assert_eq!(
        flash.get(PROGRAM_BANK_ADDR, a.len()),
        &a[..],
        "A is complete and valid"
    );
    assert_eq!(boot::active_bank(&flash), Bank::B);
    assert_eq!(
        boot::select(&flash),
        BootChoice::Bank {
            bank: Bank::B,
            addr: BANK_B_ADDR,
            len: b.len(),
            fallback: false
        }
    );
}
