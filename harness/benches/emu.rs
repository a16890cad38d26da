//! Guest MIPS of the `emu` board on a tight loop (`cargo bench -p cockpit-harness --features
//! emu --bench emu`): 1 M iterations of `adds r0, #1; cmp r0, r1; bne loop` = 3 M guest
//! instructions per iteration of the benchmark; criterion's throughput is in guest
//! instructions ("elements") per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use cockpit_harness::emu::{Mcu, Stop};

/// `movw r0,#0; movw/movt r1,#N; loop: adds r0,#1; cmp r0,r1; bne loop; movs r0,#0x18;
/// movw/movt r1,#0x20026; bkpt 0xab` with N = 1_000_000 (0x000F_4240).
fn program() -> Vec<u8> {
    let mut img = vec![0xFF; 0x200];
    img[..4].copy_from_slice(&0x2001_8000u32.to_le_bytes());
    img[4..8].copy_from_slice(&0x0800_0101u32.to_le_bytes());
    // movw r1, #0x4240 = 44 f2 40 21; movt r1, #0x000f = c0 f2 0f 01.
    let code: &[u8] = &[
        0x40, 0xf2, 0x00, 0x00, 0x44, 0xf2, 0x40, 0x21, 0xc0, 0xf2, 0x0f, 0x01, 0x01, 0x30, 0x88,
        0x42, 0xfc, 0xd1, 0x18, 0x20, 0x40, 0xf2, 0x26, 0x01, 0xc0, 0xf2, 0x02, 0x01, 0xab, 0xbe,
    ];
    img[0x100..0x100 + code.len()].copy_from_slice(code);
    img
}

fn bench(c: &mut Criterion) {
    let img = program();
    let mut flash = vec![0xFF; 512 * 1024].into_boxed_slice();
    flash[..img.len()].copy_from_slice(&img);
    let mut g = c.benchmark_group("emu");
    g.throughput(Throughput::Elements(3_000_000));
    g.sample_size(20);
    g.bench_function("tight_loop_3M_instructions", |b| {
        // SAFETY: `flash` outlives every `Mcu` made here.
        let mut mcu = unsafe { Mcu::new(flash.as_mut_ptr()) }.unwrap();
        b.iter(|| {
            mcu.reset_core().unwrap();
            assert_eq!(mcu.run(u64::MAX / 2, |_| false), Stop::Exit(0x20026));
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
