//! Host-side tests of the hypervisor core with a small fake board.

use cockpit_hypervisor::telemetry::{self, RunState};
use cockpit_hypervisor::{
    Board, Limits, LoadError, Outcome, PROGRAM_BANK_ADDR, PROGRAM_BANK_SIZE, Pin, PinMode,
    SliceFlash, TelemetryRecord, VmHost, load, run,
};
use cockpit_vm::isa::{Instruction, Opcode, PUSH_SIGNED};
use cockpit_vm::{ContainerError, CvbcWriter, Host, HostError, Program, Vm, VmError};

/// A board that keeps time in cycles at 170 MHz and records what the hypervisor did.
#[derive(Default)]
struct FakeBoard {
    cycles: u64,
    modes: Vec<(u8, PinMode)>,
    writes: Vec<(u8, bool, u64)>,
    console: Vec<u8>,
    telemetry: Vec<TelemetryRecord>,
    input_high: bool,
}

impl Board for FakeBoard {
    fn pin_mode(&mut self, pin: Pin, mode: PinMode) -> Result<(), HostError> {
        self.modes.push((pin.number(), mode));
        Ok(())
    }
    fn digital_write(&mut self, pin: Pin, high: bool) -> Result<(), HostError> {
        self.writes.push((pin.number(), high, self.now_us()));
        Ok(())
    }
    fn digital_read(&mut self, _pin: Pin) -> Result<bool, HostError> {
        Ok(self.input_high)
    }
    fn analog_write(&mut self, _pin: Pin, _duty: u8) -> Result<(), HostError> {
        Ok(())
    }
    fn analog_read(&mut self, _pin: Pin) -> Result<u16, HostError> {
        Ok(1234)
    }
    fn console_write(&mut self, bytes: &[u8]) -> Result<(), HostError> {
        self.console.extend_from_slice(bytes);
        Ok(())
    }
    fn now_us(&self) -> u64 {
        self.cycles / 170
    }
    fn delay_us(&mut self, us: u64) {
        self.cycles += us * 170;
    }
    fn account_cycles(&mut self, cycles: u64) {
        self.cycles += cycles;
    }
    fn publish_telemetry(&mut self, record: &TelemetryRecord) {
        self.telemetry.push(*record);
    }
}

fn i(op: Opcode, imm: u16) -> Instruction {
    Instruction::new(op, 0, imm)
}

fn image(code: &[Instruction]) -> Vec<u8> {
    CvbcWriter {
        code: code.to_vec(),
        strings: vec![b"hi %d\n".to_vec()],
        name: "test".into(),
        ..Default::default()
    }
    .to_bytes()
}

fn run_code(code: &[Instruction], board: &mut FakeBoard, limits: Limits) -> (Vm, Outcome) {
    let bytes = image(code);
    let program = Program::parse(&bytes).unwrap();
    let mut vm = Vm::new();
    let outcome = run(&mut vm, &program, board, &limits, &mut || true);
    (vm, outcome)
}

const LIMITS: Limits = Limits::new(1_000_000, None);

#[test]
fn hal_calls_reach_the_board_and_cycles_are_accounted() {
    let code = [
        i(Opcode::Push, 13),
        i(Opcode::Push, 1),
        i(Opcode::PinMode, 0),
        i(Opcode::Push, 13),
        i(Opcode::Push, 1),
        i(Opcode::DigitalWrite, 0),
        i(Opcode::Push, 7),
        i(Opcode::Push, 1),
        i(Opcode::Printf, 0),
        i(Opcode::Halt, 0),
    ];
    let mut board = FakeBoard::default();
    let (vm, outcome) = run_code(&code, &mut board, LIMITS);
    assert_eq!(outcome, Outcome::Halted);
    assert_eq!(board.modes, vec![(13, PinMode::Output)]);
    assert_eq!(board.writes.len(), 1);
    assert_eq!((board.writes[0].0, board.writes[0].1), (13, true));
    assert_eq!(board.console, b"hi 7\n");
    // Every modelled cycle reached the board, exactly once.
    assert_eq!(board.cycles, vm.cycles());
    let expected: u64 = code
        .iter()
        .map(|c| u64::from(c.op().unwrap().cycles()))
        .sum();
    assert_eq!(vm.cycles(), expected);
}

#[test]
fn digital_write_needs_output_mode_and_valid_pins() {
    let mut board = FakeBoard::default();
    let (_, outcome) = run_code(
        &[
            i(Opcode::Push, 13),
            i(Opcode::Push, 1),
            i(Opcode::DigitalWrite, 0),
        ],
        &mut board,
        LIMITS,
    );
    let Outcome::Faulted(f) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(f.error, VmError::HardwareFault);
    assert!(board.writes.is_empty());

    let (_, outcome) = run_code(
        &[
            i(Opcode::Push, 17),
            i(Opcode::Push, 1),
            i(Opcode::PinMode, 0),
        ],
        &mut FakeBoard::default(),
        LIMITS,
    );
    assert!(
        matches!(outcome, Outcome::Faulted(f) if f.error == VmError::InvalidArgument && f.pc == 2)
    );

    let (_, outcome) = run_code(
        &[
            i(Opcode::Push, 13),
            i(Opcode::Push, 4),
            i(Opcode::PinMode, 0),
        ],
        &mut FakeBoard::default(),
        LIMITS,
    );
    assert!(matches!(outcome, Outcome::Faulted(f) if f.error == VmError::InvalidArgument));
}

#[test]
fn host_rules_directly() {
    let mut board = FakeBoard {
        input_high: true,
        ..Default::default()
    };
    let mut host = VmHost::new(&mut board, Some(1_000_000), 0);
    assert_eq!(host.digital_read(16), Ok(1));
    assert_eq!(host.analog_read(0), Ok(1234));
    assert_eq!(host.analog_write(13, 10), Err(HostError::HardwareFault));
    host.pin_mode(13, 1).unwrap();
    assert_eq!(host.analog_write(13, 256), Err(HostError::InvalidArgument));
    assert_eq!(host.analog_write(13, 255), Ok(()));
    host.delay_ms(250).unwrap();
    assert_eq!(host.millis(), 250);
    assert_eq!(host.micros(), 250_000);
    // sync_cycles forwards deltas only.
    host.sync_cycles(170);
    host.sync_cycles(340);
    assert_eq!(host.micros(), 250_002);
    // A delay past the deadline (1 s) stops at the deadline.
    assert_eq!(host.delay_ms(5000), Err(HostError::BudgetExceeded));
    assert_eq!(host.micros(), 1_000_000);
    assert_eq!(host.console_write(b"x"), Err(HostError::BudgetExceeded));
}

#[test]
fn instruction_budget_stops_an_endless_loop() {
    let mut board = FakeBoard::default();
    let limits = Limits {
        slice: 1000,
        ..Limits::new(10_500, None)
    };
    let (vm, outcome) = run_code(&[i(Opcode::Jmp, 0)], &mut board, limits);
    let Outcome::Faulted(f) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(f.error, VmError::BudgetExceeded);
    assert_eq!(vm.instructions(), 10_500);
    // Telemetry at the start, after each of the 11 slices, then the final record.
    assert_eq!(board.telemetry.len(), 13);
    let last = board.telemetry.last().unwrap();
    assert_eq!(last.run_state(), Some(RunState::Faulted));
    assert_eq!(last.error_code, u32::from(VmError::BudgetExceeded.code()));
    assert_eq!(last.instructions(), 10_500);
    assert!(telemetry::verify(&last.encode()).is_ok());
    assert_eq!(board.telemetry[0].run_state(), Some(RunState::Running));
}

#[test]
fn time_budget_cuts_a_delay_at_the_deadline() {
    // loop: delay(100); jmp loop
    let code = [i(Opcode::Push, 100), i(Opcode::Delay, 0), i(Opcode::Jmp, 0)];
    let mut board = FakeBoard::default();
    let (_, outcome) = run_code(&code, &mut board, Limits::new(u64::MAX, Some(1_050_000)));
    let Outcome::Faulted(f) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(f.error, VmError::BudgetExceeded);
    assert_eq!(f.pc, 1, "stopped in the DELAY");
    assert_eq!(board.now_us(), 1_050_000);
}

#[test]
fn keep_going_hook_stops_between_slices() {
    let bytes = image(&[i(Opcode::Jmp, 0)]);
    let program = Program::parse(&bytes).unwrap();
    let mut vm = Vm::new();
    let mut board = FakeBoard::default();
    let mut calls = 0;
    let limits = Limits {
        slice: 100,
        ..Limits::new(u64::MAX, None)
    };
    let outcome = run(&mut vm, &program, &mut board, &limits, &mut || {
        calls += 1;
        calls < 3
    });
    assert_eq!(outcome, Outcome::Stopped);
    assert_eq!(vm.instructions(), 300);
    assert_eq!(vm.fault(), None);
    assert_eq!(
        board.telemetry.last().unwrap().run_state(),
        Some(RunState::Running)
    );
}

#[test]
fn faults_are_published_with_pc_and_opcode() {
    let code = [
        i(Opcode::Push, 1),
        i(Opcode::Push, 0),
        i(Opcode::Div, 0),
        i(Opcode::Halt, 0),
    ];
    let mut board = FakeBoard::default();
    let (_, outcome) = run_code(&code, &mut board, LIMITS);
    assert!(matches!(outcome, Outcome::Faulted(f) if f.error == VmError::DivisionByZero));
    let t = board.telemetry.last().unwrap();
    assert_eq!(t.run_state(), Some(RunState::Faulted));
    assert_eq!(
        (t.error_code, t.error_pc, t.last_opcode),
        (6, 2, Opcode::Div as u32)
    );
}

fn bank_with(image: &[u8]) -> Vec<u8> {
    let mut flash = vec![0xFF; 0x1_0000 + PROGRAM_BANK_SIZE];
    flash[0x1_0000..0x1_0000 + image.len()].copy_from_slice(image);
    flash
}

const BASE: u32 = 0x0800_0000;

#[test]
fn loader_finds_cvbc_and_conc_images_in_the_bank() {
    let code = [i(Opcode::Push, 5), i(Opcode::Halt, 0)];
    let flash = bank_with(&image(&code));
    let f = SliceFlash {
        base: BASE,
        bytes: &flash,
    };
    let p = load(&f, PROGRAM_BANK_ADDR).unwrap();
    assert_eq!(p.instruction_count(), 2);

    let conc = cockpit_vm::conc_image(
        &[
            Instruction::new(Opcode::Push, PUSH_SIGNED, 1),
            i(Opcode::Halt, 0),
        ],
        &[b"hello\0"],
    );
    let flash = bank_with(&conc);
    let f = SliceFlash {
        base: BASE,
        bytes: &flash,
    };
    assert_eq!(load(&f, PROGRAM_BANK_ADDR).unwrap().instruction_count(), 2);
}

#[test]
fn loader_rejects_corrupt_erased_and_oversized_images() {
    let mut bytes = image(&[i(Opcode::Halt, 0)]);
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    let flash = bank_with(&bytes);
    let f = SliceFlash {
        base: BASE,
        bytes: &flash,
    };
    let err = load(&f, PROGRAM_BANK_ADDR).unwrap_err();
    assert!(matches!(
        err,
        LoadError::Container(ContainerError::CrcMismatch { .. })
    ));
    assert!(err.to_string().contains("checksum mismatch"), "{err}");

    let flash = bank_with(&[]);
    let f = SliceFlash {
        base: BASE,
        bytes: &flash,
    };
    let err = load(&f, PROGRAM_BANK_ADDR).unwrap_err();
    assert_eq!(
        err,
        LoadError::Container(ContainerError::BadMagic { found: [0xFF; 4] })
    );

    let mut bytes = image(&[i(Opcode::Halt, 0)]);
    bytes[12..16].copy_from_slice(&(PROGRAM_BANK_SIZE as u32 + 4).to_le_bytes());
    let flash = bank_with(&bytes);
    let f = SliceFlash {
        base: BASE,
        bytes: &flash,
    };
    assert!(matches!(
        load(&f, PROGRAM_BANK_ADDR),
        Err(LoadError::TooLarge { .. })
    ));

    let f = SliceFlash {
        base: BASE,
        bytes: &flash[..0x1_0010],
    };
    assert!(matches!(
        load(&f, PROGRAM_BANK_ADDR),
        Err(LoadError::Flash(_))
    ));
}
