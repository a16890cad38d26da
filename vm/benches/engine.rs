//! Engine throughput (instructions/second) on three hand-assembled programs:
//! fib(25) recursive via CALL/RET, a repeated sieve of Eratosthenes on an array, and the
//! global-increment loop. Run with `cargo bench -p cockpit-vm`.

use std::hint::black_box;
use std::time::Instant;

use cockpit_vm::testing::TestHost;
use cockpit_vm::{Exit, Program, Vm};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "support/programs.rs"]
mod programs;

/// Instructions per `run` call for the endless programs.
const SLICE: u64 = 10_000_000;

fn bench(c: &mut Criterion) {
    let mut host = TestHost::new();
    let mut vm = Box::new(Vm::new());

    // fib(25): count the instructions once.
    let fib = programs::fib(25);
    let fib = Program::from_code(&fib).unwrap();
    assert_eq!(vm.run(&fib, &mut host, u64::MAX), Ok(Exit::Halted));
    assert_eq!(vm.globals()[0], 75025);
    let fib_insns = vm.instructions();

    let sieve = programs::sieve();
    let sieve = Program::from_code(&sieve).unwrap();
    let inc = programs::global_increment();
    let inc = Program::from_code(&inc).unwrap();

    // A plain wall-clock figure first (also printed when criterion filters are used).
    for (name, program, budget) in [
        ("fib25", &fib, u64::MAX),
        ("sieve64", &sieve, 50_000_000),
        ("global_increment", &inc, 100_000_000),
    ] {
        vm.reset();
        let t = Instant::now();
        let r = vm.run(program, &mut host, budget);
        let s = t.elapsed().as_secs_f64();
        assert!(r.is_ok());
        eprintln!(
            "{name}: {} instructions in {:.3} s = {:.1} M instructions/s",
            vm.instructions(),
            s,
            vm.instructions() as f64 / s / 1e6
        );
    }

    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(fib_insns));
    g.bench_function("fib25", |b| {
        b.iter(|| {
            vm.reset();
            black_box(vm.run(black_box(&fib), &mut host, u64::MAX)).ok();
        })
    });
    g.throughput(Throughput::Elements(SLICE));
    vm.reset();
    g.bench_function("sieve64", |b| {
        b.iter(|| black_box(vm.run(black_box(&sieve), &mut host, SLICE)).ok())
    });
    vm.reset();
    g.bench_function("global_increment", |b| {
        b.iter(|| black_box(vm.run(black_box(&inc), &mut host, SLICE)).ok())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
