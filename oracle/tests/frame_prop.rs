//! Property tests of the frame codec (reference §2.2) and the device decoder.

use cockpit_oracle::{device, frame};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// encode → decode round-trips any payload ≤ 1024 bytes, fed in arbitrary pieces after
    /// arbitrary garbage without a start marker.
    #[test]
    fn round_trip_with_garbage_and_splits(
        payload in proptest::collection::vec(any::<u8>(), 0..=1024),
        garbage in proptest::collection::vec(any::<u8>().prop_filter("no start marker", |b| *b != 0x7E), 0..64),
        splits in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut out = vec![0u8; frame::MAX_FRAME];
        let n = frame::encode(&payload, &mut out).unwrap();
        let mut stream = garbage.clone();
        stream.extend_from_slice(&out[..n]);
        let mut cuts: Vec<usize> = splits.iter().map(|s| s % (stream.len() + 1)).collect();
        cuts.sort_unstable();
        let mut d = frame::Decoder::new();
        let mut got = Vec::new();
        let mut prev = 0;
        for cut in cuts.into_iter().chain([stream.len()]) {
            for &b in &stream[prev..cut] {
                if let Some(r) = d.push(b) {
                    got.push(r.map(<[u8]>::to_vec));
                }
            }
            prev = cut;
        }
        prop_assert_eq!(got, vec![Ok(payload)]);
        prop_assert!(!d.in_frame());
    }

    /// The decoder never panics and a valid frame after any junk is still received (after a
    /// reset, as the device's frame timeout would do).
    #[test]
    fn arbitrary_bytes_never_panic(junk in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let mut d = frame::Decoder::new();
        for &b in &junk {
            let _ = d.push(b);
        }
        d.reset();
        let mut out = [0u8; 16];
        let n = frame::encode(&[1, 2, 3], &mut out).unwrap();
        let ok = out[..n].iter().filter(|&&b| matches!(d.push(b), Some(Ok(_)))).count();
        prop_assert_eq!(ok, 1);
    }

    /// The device's protobuf decoder never panics on arbitrary payloads.
    #[test]
    fn device_decode_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..1100)) {
        let _ = device::decode_request(&payload);
        let _ = device::decode_response(&payload);
    }
}
