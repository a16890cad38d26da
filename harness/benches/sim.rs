//! `sim` board speed: how much faster than real time the shipped delay-heavy plan runs, and the
//! guest instruction rate of the whole stack (hypervisor + board models) on a compute-bound plan.
//! Run with `cargo bench -p cockpit-harness --bench sim`.
//!
//! Criterion reports throughput in "elements/s"; the elements are **virtual milliseconds** for
//! `blinky_realtime` (so 1000 elem/s = real time, 1 Melem/s = 1000× real time) and **guest
//! instructions** for `recursion_instructions`.

use std::hint::black_box;
use std::path::Path;

use cockpit_harness::sim::SimTarget;
use cockpit_harness::target::{Budget, RunEnd, Target};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Compiles a shipped guest program.
fn image(program: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../test-plans/programs")
        .join(program);
    let source = std::fs::read_to_string(&path).expect("shipped program is readable");
    cockpit_cc::compile(&source, program)
        .expect("shipped program compiles")
        .image
}

fn budget() -> Budget {
    Budget {
        max_instructions: 50_000_000,
        virtual_time: std::time::Duration::from_secs(60),
        wall_timeout: std::time::Duration::from_secs(60),
    }
}

/// Loads `program` and runs it once; returns (virtual ms, instructions) of the run.
fn measure(target: &mut SimTarget, program: &str) -> (u64, u64) {
    target.load(&image(program)).expect("image loads");
    let report = target.run(&budget()).expect("run");
    assert_eq!(report.end, RunEnd::Halted, "{program} must halt normally");
    (report.virtual_time.as_millis() as u64, report.instructions)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("sim");
    for (name, program, per_virtual_ms) in [
        ("blinky_realtime", "blinky.c", true),
        ("recursion_instructions", "recursion.c", false),
    ] {
        let mut target = SimTarget::new();
        let (virtual_ms, instructions) = measure(&mut target, program);
        group.throughput(Throughput::Elements(if per_virtual_ms {
            virtual_ms
        } else {
            instructions
        }));
        group.bench_function(name, |b| {
            b.iter(|| black_box(target.run(&budget()).expect("run")))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
