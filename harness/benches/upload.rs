//! Oracle upload efficiency: the time to upload a 32 KiB image at 115200 baud through the `sim`
//! board's USART1 pseudo-terminal (handshake → prepare → 33 chunks → verify; the readback is not
//! timed), against the line-rate limit of 32768 B ÷ 11520 B/s ≈ 2.84 s. Efficiency = limit ÷
//! measured time, printed after the criterion figures. Run with
//! `cargo bench -p cockpit-harness --bench upload` (10 samples of one upload, under a minute);
//! with `--features emu` also through the `emu` board's USART1 pseudo-terminal into the
//! firmware's own bootloader (`oracle/emu_upload_32k_115200`).

use std::time::Duration;

use cockpit_harness::sim::SimFlash;
use cockpit_harness::sim::serial::{DEFAULT_BAUD, SerialLink};
use cockpit_oracle::client::{Client, Timeouts};
use cockpit_vm::{CvbcWriter, Instruction, Opcode};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

/// Image size, bytes.
const IMAGE_LEN: usize = 32 * 1024;

/// A valid CVBC image of exactly [`IMAGE_LEN`] bytes: half code, the rest one string of
/// pseudo-random bytes (so frames carry realistic escape overhead).
fn image() -> Vec<u8> {
    let writer = |string_len: usize| {
        let mut x: u32 = 7;
        CvbcWriter {
            code: vec![Instruction::new(Opcode::Halt, 0, 0); IMAGE_LEN / 8],
            strings: vec![
                (0..string_len)
                    .map(|_| {
                        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        (x >> 24) as u8
                    })
                    .collect(),
            ],
            name: "upload-bench".into(),
            ..Default::default()
        }
        .to_bytes()
    };
    let overhead = writer(0).len();
    let image = writer(IMAGE_LEN - overhead);
    assert_eq!(
        image.len(),
        IMAGE_LEN,
        "string length adds bytes one to one"
    );
    image
}

/// Uploads [`image`] through the bootloader at `port`, one upload per sample, and prints the
/// efficiency against the line-rate limit.
fn upload_group(c: &mut Criterion, name: &str, port: &str) {
    let image = image();
    let mut client = Client::open(port, DEFAULT_BAUD, Timeouts::default()).expect("open");
    let mut timed = Vec::new();
    let mut group = c.benchmark_group("oracle");
    // One upload per sample (flat sampling): 10 uploads of ≈ 3 s.
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Bytes(IMAGE_LEN as u64));
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let r = client.upload(&image, |_| {}).expect("upload succeeds");
                    timed.push(r.duration);
                    r.duration
                })
                .sum()
        })
    });
    group.finish();
    let limit = IMAGE_LEN as f64 / (f64::from(DEFAULT_BAUD) / 10.0);
    let mean = timed.iter().sum::<Duration>().as_secs_f64() / timed.len() as f64;
    let best = timed.iter().min().map_or(0.0, Duration::as_secs_f64);
    println!(
        "oracle/{name}: line-rate limit {limit:.3} s, mean {mean:.3} s over {} uploads \
         → efficiency {:.1}% (best {:.1}%)",
        timed.len(),
        100.0 * limit / mean,
        100.0 * limit / best
    );
}

fn bench(c: &mut Criterion) {
    let link = SerialLink::open(&mut SimFlash::new(), DEFAULT_BAUD).expect("pty");
    upload_group(c, "upload_32k_115200", link.path());
    // With `--features emu`: the same upload into the firmware's own bootloader and FLASH
    // driver on the `emu` board (board time paced to wall time), if the firmware ELF is built.
    #[cfg(feature = "emu")]
    {
        use cockpit_harness::emu::{EmuTarget, Firmware};
        use cockpit_harness::target::Target;
        match Firmware::from_env() {
            Firmware::Elf(p) if p.exists() => {
                let mut t = EmuTarget::with_firmware(Firmware::Elf(p));
                let port = t.bootloader_port().expect("emu bootloader session");
                upload_group(c, "emu_upload_32k_115200", &port);
                t.reboot().expect("reboot");
            }
            _ => println!("oracle/emu_upload_32k_115200: firmware ELF not built, skipped"),
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
