//! The benchmark programs compute what they claim (so the benchmark measures real work).
use cockpit_vm::testing::TestHost;
use cockpit_vm::{Exit, Program, Vm};

#[path = "../benches/support/programs.rs"]
mod programs;

#[test]
fn fib_computes_fibonacci() {
    for (n, f) in [(0, 0), (1, 1), (2, 1), (10, 55), (20, 6765)] {
        let bytes = programs::fib(n);
        let p = Program::from_code(&bytes).unwrap();
        let mut vm = Vm::new();
        assert_eq!(vm.run(&p, &mut TestHost::new(), u64::MAX), Ok(Exit::Halted));
        assert_eq!(vm.globals()[0], f, "fib({n})");
        assert_eq!(vm.stack(), &[] as &[i32]);
    }
}

#[test]
fn sieve_finds_18_primes_below_64_every_pass() {
    let bytes = programs::sieve();
    let p = Program::from_code(&bytes).unwrap();
    let mut vm = Vm::new();
    let mut host = TestHost::new();
    while vm.globals()[2] < 3 {
        assert_eq!(vm.run(&p, &mut host, 1), Ok(Exit::Yielded)); // stop right after the pass
    }
    assert_eq!(vm.globals()[1], 18);
    let a = vm.array(0).unwrap();
    let primes: Vec<usize> = (2..64).filter(|&k| a[k] == 0).collect();
    assert_eq!(primes.len(), 18);
    assert_eq!(&primes[..5], &[2, 3, 5, 7, 11]);
}

#[test]
fn global_increment_counts() {
    let bytes = programs::global_increment();
    let p = Program::from_code(&bytes).unwrap();
    let mut vm = Vm::new();
    assert_eq!(vm.run(&p, &mut TestHost::new(), 5000), Ok(Exit::Yielded));
    assert_eq!(vm.globals()[0], 1000);
}
