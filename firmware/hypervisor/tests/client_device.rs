//! Property: the std host client (`cockpit_oracle::client::Client`) and the device engine agree
//! on random images of random sizes, over an in-memory loopback line.
//!
//! - a valid CVBC image (random code and string sizes, up to ≈ 40 KiB) uploads: the client's
//!   checks pass (verification hash, flash CRC, readback CRC), the target bank holds exactly
//!   the image, and `boot::select` now boots it;
//! - random bytes, or a valid image with one corrupted byte, are rejected with
//!   FLASH_VERIFY_FAILED and the previously booting image still boots.

mod common;

use std::time::Duration;

use cockpit_hypervisor::boot::{self, BootChoice};
use cockpit_hypervisor::loopback::Loopback;
use cockpit_hypervisor::{Bootloader, Flash};
use cockpit_oracle::client::{Client, ClientError, Timeouts};
use cockpit_oracle::{crc32, pb};
use cockpit_vm::CvbcWriter;
use cockpit_vm::isa::Instruction;
use common::{UID, VecFlash};
use proptest::prelude::*;

fn client(flash: VecFlash) -> Client<Loopback<VecFlash>> {
    let t = Duration::from_millis(50);
    Client::new(
        Loopback::new(Bootloader::new(flash, UID, 0)),
        Timeouts {
            response: t,
            prepare: t,
            verify: t,
            retries: 1,
        },
    )
}

fn booted_crc(flash: &VecFlash) -> Option<u32> {
    match boot::select(flash) {
        BootChoice::Bank { addr, len, .. } => Some(crc32(flash.get(addr, len))),
        BootChoice::Bootloader => None,
    }
}

#[derive(Debug, Clone)]
enum Case {
    Valid(Vec<u8>),
    Junk(Vec<u8>),
    Corrupted(Vec<u8>),
}

fn cvbc() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(any::<[u8; 4]>(), 1..10_000),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..8),
    )
        .prop_map(|(code, strings)| {
            CvbcWriter {
                code: code.into_iter().map(Instruction::decode).collect(),
                strings,
                name: "prop".into(),
                ..Default::default()
            }
            .to_bytes()
        })
}

fn case() -> impl Strategy<Value = Case> {
    prop_oneof![
        3 => cvbc().prop_map(Case::Valid),
        1 => prop::collection::vec(any::<u8>(), 1..20_000).prop_map(Case::Junk),
        1 => (cvbc(), any::<prop::sample::Index>(), 1..=255u8).prop_map(|(mut img, at, x)| {
            let i = at.index(img.len());
            img[i] ^= x;
            Case::Corrupted(img)
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn client_and_device_agree(cases in prop::collection::vec(case(), 1..4)) {
        let mut c = client(VecFlash::new());
        let mut expect_boot: Option<u32> = None;
        for case in cases {
            let (img, valid) = match &case {
                Case::Valid(i) => (i.clone(), true),
                Case::Junk(i) | Case::Corrupted(i) => (i.clone(), false),
            };
            // Random bytes that happen to parse would be valid; the container CRC makes that
            // practically impossible, but decide from the container, not from the case.
            let valid = valid || cockpit_vm::Program::parse(&img).is_ok();
            let target = c.transport_mut().device.target_bank();
            let r = c.upload(&img, |_| {});
            match r {
                Ok(report) => {
                    prop_assert!(valid, "device accepted an invalid image");
                    prop_assert_eq!(report.crc32, crc32(&img));
                    prop_assert_eq!(report.target_address, target.addr());
                    let dev = &c.transport_mut().device;
                    prop_assert_eq!(dev.flash().get(target.addr(), img.len()), &img[..]);
                    prop_assert_eq!(dev.booted_bank(), Some(target));
                    expect_boot = Some(crc32(&img));
                }
                Err(ClientError::Device(e)) => {
                    prop_assert!(!valid, "device rejected a valid image: {}", e);
                    prop_assert_eq!(e.code(), Some(pb::ErrorCode::FlashVerifyFailed));
                    prop_assert_eq!(e.result, pb::ResultCode::ErrorDataCorruption as i32);
                    // The bank holds the received bytes (hardware verify passed) but is not active.
                    let dev = &c.transport_mut().device;
                    prop_assert_eq!(dev.flash().get(target.addr(), img.len()), &img[..]);
                    prop_assert_eq!(dev.target_bank(), target);
                }
                Err(e) => prop_assert!(false, "transport-level failure: {}", e),
            }
            prop_assert_eq!(booted_crc(c.transport_mut().device.flash()), expect_boot);
        }
        // A reboot boots the same image.
        let flash = c.transport_mut().device.flash().clone();
        let d = Bootloader::new(flash, UID, 0);
        prop_assert_eq!(booted_crc(d.flash()), expect_boot);
    }
}

/// The original Python client's `--flash` flow through the std client (`upload_original`).
#[test]
fn original_flash_flow_through_the_client() {
    let img = common::image(150, 42);
    let mut c = client(VecFlash::new());
    let f = c.upload_original(&img).expect("original flow");
    assert_eq!(f.verification_hash, crc32(&img).to_be_bytes());
    assert_eq!(f.actual_data_length as usize, img.len());
    let flash = c.transport_mut().device.flash();
    assert_eq!(booted_crc(flash), Some(crc32(&img)));
    // And a second time (ids restart at 1: a new session).
    let img2 = common::image(160, 43);
    c.upload_original(&img2).expect("second original flow");
    assert_eq!(
        booted_crc(c.transport_mut().device.flash()),
        Some(crc32(&img2))
    );
    let _ = c
        .transport_mut()
        .device
        .flash()
        .read(0x0801_0000, 4)
        .unwrap();
}
