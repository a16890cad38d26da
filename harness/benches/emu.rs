//! `emu` board speed (`cargo bench -p cockpit-harness --features emu --bench emu`):
//!
//! - `tight_loop_3M_instructions`: Cortex-M4 MIPS on 1 M iterations of `adds r0, #1; cmp r0,
//!   r1; bne loop` (throughput in guest Thumb instructions, "elements", per second);
//! - `mpu_switch_10k`: 10 000 round trips between two MPU configurations (as the firmware's
//!   guest/firmware switch: MPU_CTRL = ENABLE, a store, MPU_CTRL = ENABLE | PRIVDEFENA), each
//!   of which changes unicorn page permissions (throughput in round trips per second);
//! - `boot_to_ready`: the firmware ELF from reset to the end of its `guest: running` line on
//!   USART1 (the guest's start); the board time of that moment is printed (deterministic);
//! - `plan_blinky` on `emu` and on `sim`: one whole run of `test-plans/programs/blinky.c`
//!   (4 s of board time) through the `Target` trait, load included.
//!
//! The firmware benchmarks need the firmware ELF (`firmware/stm32g474/build.sh`, or
//! `COCKPIT_FIRMWARE_ELF`) and are skipped with a note without it.

use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use cockpit_harness::bank::install_bank_a;
use cockpit_harness::emu::periph::CPU_HZ;
use cockpit_harness::emu::target::load_elf;
use cockpit_harness::emu::{EmuTarget, Firmware, Mcu, Stop};
use cockpit_harness::sim::SimTarget;
use cockpit_harness::target::{Budget, RunEnd, Target};

/// `movw r0,#0; movw/movt r1,#N; loop: adds r0,#1; cmp r0,r1; bne loop; movs r0,#0x18;
/// movw/movt r1,#0x20026; bkpt 0xab` with N = 1_000_000 (0x000F_4240).
const TIGHT_LOOP: &[u8] = &[
    // movw r1, #0x4240 = 44 f2 40 21; movt r1, #0x000f = c0 f2 0f 01.
    0x40, 0xf2, 0x00, 0x00, 0x44, 0xf2, 0x40, 0x21, 0xc0, 0xf2, 0x0f, 0x01, 0x01, 0x30, 0x88, 0x42,
    0xfc, 0xd1, 0x18, 0x20, 0x40, 0xf2, 0x26, 0x01, 0xc0, 0xf2, 0x02, 0x01, 0xab, 0xbe,
];

/// `mpu(0, 0x0800_0000, RO | 512 KiB | EN); mpu(1, 0x2000_0000, XN | RW | 128 KiB | EN);
/// li r4, MPU_CTRL; li r5, 0x2000_0100; li r6, 10000; ctrl = 5; loop: ctrl = 1 (str r1, [r4];
/// dsb; isb); str r6, [r5]; ctrl = 5; subs r6, #1; bne loop; SYS_EXIT` (assembled with
/// llvm-mc; `li` = movw/movt, `mpu(n, rbar, rasr)` = stores to MPU_RBAR (with VALID) and
/// MPU_RASR).
const MPU_SWITCH: &str = "4ef69c50cef2000040f21001c0f60001016040f22501c0f2006141604ef69c50cef2000040f21101c2f20001016040f22101c1f2003141604ef69454cef2000440f20015c2f2000542f21076c0f2000605212160bff34f8fbff36f8f01212160bff34f8fbff36f8f2e6005212160bff34f8fbff36f8f013ef0d1182040f22601c0f20201abbe";

/// 512 KiB of erased flash with a vector table (SP = 0x2001_8000, reset = 0x0800_0101) and
/// `code` at 0x100.
fn flash_with(code: &[u8]) -> Box<[u8]> {
    let mut flash = vec![0xFF; 512 * 1024].into_boxed_slice();
    flash[..4].copy_from_slice(&0x2001_8000u32.to_le_bytes());
    flash[4..8].copy_from_slice(&0x0800_0101u32.to_le_bytes());
    flash[0x100..0x100 + code.len()].copy_from_slice(code);
    flash
}

fn bench(c: &mut Criterion) {
    let switch: Vec<u8> = (0..MPU_SWITCH.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&MPU_SWITCH[i..i + 2], 16).unwrap())
        .collect();
    let mut g = c.benchmark_group("emu");
    g.sample_size(20);
    for (name, code, elements) in [
        ("tight_loop_3M_instructions", TIGHT_LOOP, 3_000_000),
        ("mpu_switch_10k", &switch[..], 10_000),
    ] {
        let mut flash = flash_with(code);
        g.throughput(Throughput::Elements(elements));
        g.bench_function(name, |b| {
            // SAFETY: `flash` outlives every `Mcu` made here.
            let mut mcu = unsafe { Mcu::new(flash.as_mut_ptr()) }.unwrap();
            b.iter(|| {
                mcu.reset_core().unwrap();
                assert_eq!(mcu.run(u64::MAX / 2, |_| false), Stop::Exit(0x20026));
            });
        });
    }
    g.finish();
}

/// A shipped guest program's image.
fn guest(program: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../test-plans/programs")
        .join(program);
    cockpit_harness::program::build(&path)
        .expect("shipped program builds")
        .bytes
}

/// The firmware ELF's bytes, if built.
fn firmware_elf() -> Option<Vec<u8>> {
    let Firmware::Elf(path) = Firmware::from_env() else {
        return None;
    };
    let elf = std::fs::read(&path).ok();
    if elf.is_none() {
        eprintln!(
            "no firmware ELF at {}: firmware benchmarks skipped",
            path.display()
        );
    }
    elf
}

/// The line that ends the firmware's boot: the guest starts right after it.
const READY: &[u8] = b"guest: running\r\n";

fn boot_to_ready(c: &mut Criterion, elf: &[u8]) {
    let mut flash = vec![0xFF; 512 * 1024].into_boxed_slice();
    load_elf("firmware", elf, &mut flash[..0x1_0000]).expect("firmware loads");
    install_bank_a(&mut flash, &guest("blinky.c")).expect("guest installs");
    let boot = |flash: &mut [u8]| -> u64 {
        // SAFETY: `flash` outlives the `Mcu` made and dropped here.
        let mut mcu = unsafe { Mcu::new(flash.as_mut_ptr()) }.unwrap();
        mcu.reset_core().unwrap();
        let ready = |m: &Mcu| {
            m.periph().usart[0]
                .tx
                .windows(READY.len())
                .any(|w| w == READY)
        };
        assert_eq!(
            mcu.run(CPU_HZ, ready),
            Stop::Predicate,
            "the firmware boots"
        );
        let u = &mcu.periph().usart[0];
        let end = u.tx.windows(READY.len()).position(|w| w == READY).unwrap() + READY.len();
        u.tx_done[end - 1]
    };
    let cycles = boot(&mut flash);
    eprintln!(
        "boot_to_ready: reset → end of `guest: running` = {cycles} cycles = {:.3} ms of board time",
        cycles as f64 * 1e3 / CPU_HZ as f64
    );
    let mut g = c.benchmark_group("emu");
    g.sample_size(20);
    g.bench_function("boot_to_ready", |b| b.iter(|| boot(&mut flash)));
    g.finish();
}

fn plan_blinky(c: &mut Criterion) {
    let budget = Budget {
        max_instructions: 10_000_000,
        virtual_time: Duration::from_secs(6),
        wall_timeout: Duration::from_secs(60),
    };
    let image = guest("blinky.c");
    let mut g = c.benchmark_group("plan_blinky");
    g.sample_size(10);
    let boards: [(&str, Box<dyn Target>); 2] = [
        ("emu", Box::new(EmuTarget::new())),
        ("sim", Box::new(SimTarget::new())),
    ];
    for (kind, mut t) in boards {
        g.bench_function(kind, |b| {
            b.iter(|| {
                t.load(&image).expect("loads");
                let r = t.run(&budget).expect("runs");
                assert_eq!(r.end, RunEnd::Halted);
            })
        });
    }
    g.finish();
}

fn firmware_benches(c: &mut Criterion) {
    let Some(elf) = firmware_elf() else { return };
    boot_to_ready(c, &elf);
    plan_blinky(c);
}

criterion_group!(benches, bench, firmware_benches);
criterion_main!(benches);
