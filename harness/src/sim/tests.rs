//! Tests of the `sim` board against RM0440 values, virtual time, console timing, budgets,
//! telemetry and the loader. Images are built with `CvbcWriter` from hand-assembled code.

use std::time::Duration;

use cockpit_hypervisor::pins::Pin;
use cockpit_hypervisor::telemetry::{self, RunState, TELEMETRY_ADDR};
use cockpit_hypervisor::{PROGRAM_BANK_ADDR, PROGRAM_BANK_SIZE};
use cockpit_vm::isa::{Instruction, Opcode, PUSH_HIGH};
use cockpit_vm::{CvbcWriter, VmError};

use super::SimTarget;
use super::clock::cycles_to_ns;
use super::gpio::GpioPort;
use crate::regmap;
use crate::target::{Budget, RunEnd, RunReport, Target, TargetError};

fn i(op: Opcode, imm: u16) -> Instruction {
    Instruction::new(op, 0, imm)
}

/// `PUSH v` for any i32 (two instructions when it does not fit 16 bits unsigned).
fn push(v: i32) -> Vec<Instruction> {
    let u = v as u32;
    if u <= 0xFFFF {
        vec![i(Opcode::Push, u as u16)]
    } else {
        vec![
            i(Opcode::Push, u as u16),
            Instruction::new(Opcode::Push, PUSH_HIGH, (u >> 16) as u16),
        ]
    }
}

fn call(op: Opcode, args: &[i32]) -> Vec<Instruction> {
    let mut v: Vec<Instruction> = args.iter().flat_map(|a| push(*a)).collect();
    v.push(i(op, 0));
    v
}

fn image(code: &[Instruction], strings: &[&[u8]]) -> Vec<u8> {
    CvbcWriter {
        code: code.to_vec(),
        strings: strings.iter().map(|s| s.to_vec()).collect(),
        name: "sim-test".into(),
        ..Default::default()
    }
    .to_bytes()
}

fn budget() -> Budget {
    Budget {
        max_instructions: 10_000_000,
        virtual_time: Duration::from_secs(60),
        wall_timeout: Duration::from_secs(20),
    }
}

fn run_with(code: &[Instruction], strings: &[&[u8]], budget: &Budget) -> (SimTarget, RunReport) {
    let mut t = SimTarget::new();
    t.load(&image(code, strings)).unwrap();
    let r = t.run(budget).unwrap();
    (t, r)
}

fn run(code: &[Instruction]) -> (SimTarget, RunReport) {
    run_with(code, &[], &budget())
}

fn reg(t: &mut SimTarget, name: &str) -> u32 {
    let addr = regmap::resolve(name).unwrap_or_else(|| panic!("no register {name}"));
    t.read_u32(addr).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn halt() -> Instruction {
    i(Opcode::Halt, 0)
}

#[test]
fn gpio_reset_values_are_rm0440() {
    assert_eq!(GpioPort::reset(0).moder, 0xABFF_FFFF);
    assert_eq!(GpioPort::reset(1).moder, 0xFFFF_FEBF);
    for p in 2..7 {
        let port = GpioPort::reset(p);
        assert_eq!(port.moder, 0xFFFF_FFFF);
        assert_eq!((port.pupdr, port.ospeedr), (0, 0));
    }
    assert_eq!(GpioPort::reset(0).pupdr, 0x6400_0000);
    assert_eq!(GpioPort::reset(1).pupdr, 0x0000_0100);
    assert_eq!(GpioPort::reset(0).ospeedr, 0x0C00_0000);
    assert_eq!(GpioPort::reset(1).ospeedr, 0);

    let mut t = SimTarget::new();
    assert_eq!(reg(&mut t, "GPIOB.MODER"), 0xFFFF_FEBF);
    assert_eq!(reg(&mut t, "GPIOC.MODER"), 0xFFFF_FFFF);
    assert_eq!(reg(&mut t, "GPIOG.MODER"), 0xFFFF_FFFF);
    assert_eq!(reg(&mut t, "GPIOA.PUPDR"), 0x6400_0000);
    assert_eq!(reg(&mut t, "GPIOB.PUPDR"), 0x0000_0100);
    assert_eq!(reg(&mut t, "GPIOA.OSPEEDR"), 0x0C00_0000);
    assert_eq!(reg(&mut t, "GPIOC.ODR"), 0);
    assert_eq!(reg(&mut t, "GPIOC.OTYPER"), 0);
    assert_eq!(reg(&mut t, "GPIOC.AFRL"), 0);
    // PA13 (SWDIO) pulled up reads 1 in AF mode; analog pins read 0.
    assert_eq!(reg(&mut t, "GPIOC.IDR"), 0);
}

#[test]
fn boot_state_is_170mhz_hse_pll_and_usart1_console() {
    let mut t = SimTarget::new();
    // PA9/PA10 in AF7 on top of the GPIOA reset value.
    assert_eq!(reg(&mut t, "GPIOA.MODER"), 0xABEB_FFFF);
    assert_eq!(reg(&mut t, "GPIOA.AFRH"), 0x0000_0770);
    let cr = reg(&mut t, "RCC.CR");
    assert_eq!(cr, 0x0303_0500, "HSION|HSIRDY|HSEON|HSERDY|PLLON|PLLRDY");
    let pll = reg(&mut t, "RCC.PLLCFGR");
    assert_eq!(pll & 0b11, 0b11, "PLLSRC = HSE");
    assert_eq!((pll >> 4 & 0xF) + 1, 2, "PLLM = /2");
    assert_eq!(pll >> 8 & 0x7F, 85, "PLLN = 85");
    assert_eq!(pll >> 25 & 0b11, 0, "PLLR = /2");
    assert_eq!(pll >> 24 & 1, 1, "PLLREN");
    assert_eq!(reg(&mut t, "RCC.CFGR") & 0xF, 0xF, "SW = SWS = PLL");
    assert_eq!(reg(&mut t, "RCC.APB2ENR") & (1 << 14), 1 << 14, "USART1EN");
    assert_eq!(reg(&mut t, "RCC.AHB2ENR"), 1, "GPIOAEN only");
    assert_eq!(
        reg(&mut t, "RCC.AHB1ENR"),
        0x0000_0100,
        "FLASHEN (reset value)"
    );
    assert_eq!(
        reg(&mut t, "RCC.APB1ENR1"),
        0x0000_0400,
        "RTCAPBEN (reset value)"
    );
    assert_eq!(
        reg(&mut t, "FLASH.ACR"),
        0x0004_0704,
        "DBG_SWEN | DCEN | ICEN | PRFTEN, 4 wait states"
    );
    assert_eq!(reg(&mut t, "USART1.CR1"), 0x0000_000D, "UE|RE|TE");
    assert_eq!(reg(&mut t, "USART1.BRR"), 1476);
    assert_eq!(reg(&mut t, "USART1.ISR") & 0xC0, 0xC0, "TXE|TC");
    assert_eq!(reg(&mut t, "USART2.CR1"), 0);
    assert_eq!(reg(&mut t, "USART2.ISR"), 0x0000_00C0);
    assert_eq!(reg(&mut t, "DHCSR") & 1, 1, "C_DEBUGEN");
    assert_eq!(reg(&mut t, "DWT.CYCCNT"), 0);
    assert_eq!(t.board().rcc().sysclk_hz(), 170_000_000);
}

#[test]
fn pin_mode_output_sets_moder_and_enables_the_port_clock() {
    let mut code = call(Opcode::PinMode, &[13, 1]);
    code.push(halt());
    let (mut t, r) = run(&code);
    assert_eq!(r.end, RunEnd::Halted);
    let moder = reg(&mut t, "GPIOC.MODER");
    assert_eq!(moder >> 12 & 0b11, 0b01, "MODER6 = output");
    assert_eq!(moder, 0xFFFF_DFFF, "only bits 13:12 changed");
    assert_eq!(reg(&mut t, "RCC.AHB2ENR") & 0b100, 0b100, "GPIOCEN");
    assert_eq!(reg(&mut t, "RCC.AHB2ENR") & 0b010, 0, "GPIOB untouched");
    assert_eq!(reg(&mut t, "GPIOC.OTYPER") & 0x40, 0, "push-pull");
    assert_eq!(reg(&mut t, "GPIOC.OSPEEDR") >> 12 & 0b11, 0, "low speed");
    assert_eq!(reg(&mut t, "GPIOC.PUPDR") >> 12 & 0b11, 0, "no pull");
    assert!(
        t.pin_edges().is_empty(),
        "becoming a low output is not an edge"
    );
}

#[test]
fn digital_write_goes_through_bsrr_into_odr_and_idr_follows() {
    let mut code = call(Opcode::PinMode, &[13, 1]);
    code.extend(call(Opcode::DigitalWrite, &[13, 1]));
    code.push(halt());
    let (mut t, _) = run(&code);
    assert_eq!(reg(&mut t, "GPIOC.ODR"), 0x40);
    assert_eq!(reg(&mut t, "GPIOC.IDR") & 0x40, 0x40);
    assert_eq!(reg(&mut t, "GPIOC.BSRR"), 0, "write-only");

    // HIGH then LOW: the BSRR reset half (bit 22) clears ODR6; other bits keep their level.
    let mut code = call(Opcode::PinMode, &[13, 1]);
    code.extend(call(Opcode::PinMode, &[14, 1]));
    code.extend(call(Opcode::DigitalWrite, &[14, 1]));
    code.extend(call(Opcode::DigitalWrite, &[13, 1]));
    code.extend(call(Opcode::DigitalWrite, &[13, 0]));
    code.push(halt());
    let (mut t, _) = run(&code);
    assert_eq!(reg(&mut t, "GPIOC.ODR"), 0x80, "PC7 still high, PC6 reset");
    assert_eq!(reg(&mut t, "GPIOC.IDR") & 0xC0, 0x80);
    let edges: Vec<(u8, bool)> = t.pin_edges().iter().map(|e| (e.pin, e.high)).collect();
    assert_eq!(edges, vec![(14, true), (13, true), (13, false)]);
}

#[test]
fn input_pullup_sets_pupdr_and_reads_high_until_driven_low() {
    let mut code = call(Opcode::PinMode, &[16, 2]);
    code.extend(call(Opcode::DigitalRead, &[16]));
    code.push(i(Opcode::StoreGlobal, 0));
    code.push(halt());
    let bytes = image(&code, &[]);
    let mut t = SimTarget::new();
    t.load(&bytes).unwrap();
    t.run(&budget()).unwrap();
    let pupdr = reg(&mut t, "GPIOC.PUPDR");
    assert_eq!(pupdr >> 26 & 0b11, 0b01, "PUPDR13 = pull-up");
    assert_eq!(
        reg(&mut t, "GPIOC.MODER") >> 26 & 0b11,
        0b00,
        "MODER13 = input"
    );
    assert_eq!(reg(&mut t, "GPIOC.IDR") >> 13 & 1, 1);
    assert_eq!(t.vm_state().unwrap().globals[0], 1);

    // The user key pressed (active low): the injected level wins over the pull-up.
    t.board_mut().set_input(Pin::new(16).unwrap(), Some(false));
    t.run(&budget()).unwrap();
    assert_eq!(reg(&mut t, "GPIOC.IDR") >> 13 & 1, 0);
    assert_eq!(t.vm_state().unwrap().globals[0], 0);

    // INPUT_PULLDOWN with no stimulus reads 0, PUPDR 10.
    let mut code = call(Opcode::PinMode, &[0, 3]);
    code.extend(call(Opcode::DigitalRead, &[0]));
    code.push(i(Opcode::StoreGlobal, 0));
    code.push(halt());
    let (mut t, _) = run(&code);
    assert_eq!(reg(&mut t, "GPIOA.PUPDR") & 0b11, 0b10);
    assert_eq!(t.vm_state().unwrap().globals[0], 0);
}

#[test]
fn a_scheduled_input_changes_exactly_at_its_virtual_time_in_every_run() {
    use super::board::SimBoard;
    use cockpit_hypervisor::Board;
    use cockpit_hypervisor::pins::PinMode;
    let key = Pin::new(16).unwrap();
    let mut b = SimBoard::new();
    // Pulled down; driven high from reset, low from 500 ms (85 000 000 cycles), high again
    // from 800 ms.
    b.schedule_input(key, true, 0);
    b.schedule_input(key, false, 500_000_000);
    b.schedule_input(key, true, 800_000_000);
    for run in 0..2 {
        b.reset();
        b.pin_mode(key, PinMode::InputPulldown).unwrap();
        let read_at = |b: &mut SimBoard, cycle: u64| {
            b.account_cycles(cycle - b.clock().cycles());
            b.digital_read(key).unwrap()
        };
        assert!(read_at(&mut b, 0), "run {run}: high from reset");
        assert!(
            read_at(&mut b, 84_999_999),
            "run {run}: still high 6 ns before 500 ms"
        );
        assert!(!read_at(&mut b, 85_000_000), "run {run}: low at 500 ms");
        assert!(
            !read_at(&mut b, 135_999_999),
            "run {run}: low just before 800 ms"
        );
        assert!(read_at(&mut b, 136_000_000), "run {run}: high at 800 ms");
    }
    // A pin whose first level comes later is not driven before it: the pull-down reads 0.
    let other = Pin::new(0).unwrap();
    b.schedule_input(other, true, 1_000);
    b.reset();
    b.pin_mode(other, PinMode::InputPulldown).unwrap();
    assert!(!b.digital_read(other).unwrap());
    b.account_cycles(170);
    assert!(b.digital_read(other).unwrap());
}

#[test]
fn analog_read_returns_the_injected_value() {
    let mut code = call(Opcode::AnalogRead, &[4]);
    code.push(i(Opcode::StoreGlobal, 1));
    code.push(halt());
    let mut t = SimTarget::new();
    t.load(&image(&code, &[])).unwrap();
    t.board_mut().set_analog(Pin::new(4).unwrap(), 3000);
    t.run(&budget()).unwrap();
    assert_eq!(t.vm_state().unwrap().globals[1], 3000);
}

/// Blinky as the original's `blinky_basic.c`: pinMode(13, OUTPUT), then 4 × {HIGH, delay 500,
/// LOW, delay 500}.
fn blinky() -> Vec<Instruction> {
    let mut code = call(Opcode::PinMode, &[13, 1]);
    for _ in 0..4 {
        code.extend(call(Opcode::DigitalWrite, &[13, 1]));
        code.extend(call(Opcode::Delay, &[500]));
        code.extend(call(Opcode::DigitalWrite, &[13, 0]));
        code.extend(call(Opcode::Delay, &[500]));
    }
    code.push(halt());
    code
}

#[test]
fn four_seconds_of_delays_take_exact_virtual_time() {
    let code = blinky();
    let (mut t, r) = run(&code);
    assert_eq!(r.end, RunEnd::Halted);
    let insn_cycles: u64 = code
        .iter()
        .map(|c| u64::from(c.op().unwrap().cycles()))
        .sum();
    assert_eq!(insn_cycles, 700);
    // `cycles` counts the interpreter only; the delays are in the virtual time.
    assert_eq!(r.cycles, insn_cycles);
    assert_eq!(
        r.virtual_time,
        Duration::from_nanos(cycles_to_ns(680_000_700))
    );
    assert!(r.virtual_time >= Duration::from_secs(4));
    assert_eq!(r.instructions, code.len() as u64);

    // Edges: the VM charges an instruction before its HAL call runs.
    let mut cycles = 0u64;
    let mut expected = Vec::new();
    let mut stack = Vec::new();
    for c in &code {
        let op = c.op().unwrap();
        cycles += u64::from(op.cycles());
        match op {
            Opcode::Push => stack.push(i32::from(c.imm)),
            Opcode::Delay => cycles += stack.pop().unwrap() as u64 * 170_000,
            Opcode::DigitalWrite => {
                let v = stack.pop().unwrap();
                stack.pop();
                expected.push((13u8, v != 0, cycles_to_ns(cycles)));
            }
            _ => {
                stack.clear();
            }
        }
    }
    let got: Vec<(u8, bool, u64)> = t
        .pin_edges()
        .iter()
        .map(|e| (e.pin, e.high, e.at_ns))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(got.len(), 8);
    // By hand: 6+6+60 (pinMode) + 6+6+40 = 124 cycles = 729 ns; the LOW edge 500 ms + 78 cycles later.
    assert_eq!(got[0].2, 729);
    assert_eq!(got[1].2, cycles_to_ns(124 + 85_000_000 + 78));
    // The core's cycle counter runs through the delays too (board time at 170 MHz).
    assert_eq!(reg(&mut t, "DWT.CYCCNT"), 680_000_700);
}

/// Modelled interpreter cycles of `code` (each instruction executed once).
fn cycles_of(code: &[Instruction]) -> u64 {
    code.iter()
        .map(|c| u64::from(c.op().unwrap().cycles()))
        .sum()
}

/// HIGH, delay 10 ms, `pinMode(13, input_mode)`, delay 100 ms, `pinMode(13, OUTPUT)`, delay
/// 10 ms, LOW; returns the program and the virtual cycle of each of its four level-change
/// points (after HIGH, after the first pinMode, after the second pinMode, after LOW).
fn release_and_retake(input_mode: i32) -> (Vec<Instruction>, [u64; 4]) {
    let parts = [
        [
            call(Opcode::PinMode, &[13, 1]),
            call(Opcode::DigitalWrite, &[13, 1]),
        ]
        .concat(),
        [
            call(Opcode::Delay, &[10]),
            call(Opcode::PinMode, &[13, input_mode]),
        ]
        .concat(),
        [call(Opcode::Delay, &[100]), call(Opcode::PinMode, &[13, 1])].concat(),
        [
            call(Opcode::Delay, &[10]),
            call(Opcode::DigitalWrite, &[13, 0]),
        ]
        .concat(),
    ];
    let delays_ms = [0, 10, 100, 10];
    let mut at = [0u64; 4];
    let mut cycles = 0;
    for (k, part) in parts.iter().enumerate() {
        cycles += cycles_of(part) + delays_ms[k] * 170_000;
        at[k] = cycles;
    }
    let mut code = parts.concat();
    code.push(halt());
    (code, at)
}

#[test]
fn a_pin_released_from_output_logs_the_level_it_reads() {
    // Floating input reads 0: the 10 ms pulse ends at pinMode(INPUT), and pinMode(OUTPUT)
    // drives the ODR level (still 1) again: two 10 ms pulses, not one of 120 ms.
    let (code, at) = release_and_retake(0);
    let (t, r) = run(&code);
    assert_eq!(r.end, RunEnd::Halted);
    let got: Vec<(u8, bool, u64)> = t
        .pin_edges()
        .iter()
        .map(|e| (e.pin, e.high, e.at_ns))
        .collect();
    let want: Vec<(u8, bool, u64)> = at
        .iter()
        .zip([true, false, true, false])
        .map(|(c, high)| (13, high, cycles_to_ns(*c)))
        .collect();
    assert_eq!(got, want);

    // With the pull-up the released pin reads 1: no edge until LOW, one 120 ms pulse.
    let (code, at) = release_and_retake(2);
    let (t, _) = run(&code);
    let got: Vec<(bool, u64)> = t.pin_edges().iter().map(|e| (e.high, e.at_ns)).collect();
    assert_eq!(
        got,
        vec![(true, cycles_to_ns(at[0])), (false, cycles_to_ns(at[3]))]
    );

    // Pull-up, but driven low from outside: the level read is the injected 0.
    let (code, at) = release_and_retake(2);
    let mut t = SimTarget::new();
    t.load(&image(&code, &[])).unwrap();
    t.board_mut().set_input(Pin::new(13).unwrap(), Some(false));
    t.run(&budget()).unwrap();
    let got: Vec<bool> = t.pin_edges().iter().map(|e| e.high).collect();
    assert_eq!(got, vec![true, false, true, false]);
    assert_eq!(t.pin_edges()[1].at_ns, cycles_to_ns(at[1]));

    // A pin that was never an output logs nothing when it becomes an input.
    let mut code = call(Opcode::PinMode, &[14, 2]);
    code.push(halt());
    assert!(run(&code).0.pin_edges().is_empty());
}

#[test]
fn console_bytes_take_ten_bit_times_each() {
    let mut code = call(Opcode::Printf, &[7, 1]);
    code.push(i(Opcode::Micros, 0));
    code.push(i(Opcode::StoreGlobal, 0));
    code.push(halt());
    let (mut t, r) = run_with(&code, &[b"hi %d\n"], &budget());
    assert_eq!(r.end, RunEnd::Halted);
    assert_eq!(t.console(), b"hi 7\n");
    let byte_cycles = 10 * 1476;
    // micros() after PUSH, PUSH, PRINTF (5 bytes on the wire), MICROS.
    let at = 6 + 6 + 120 + 5 * byte_cycles + 20;
    assert_eq!(t.vm_state().unwrap().globals[0], at / 170);
    // Interpreter cycles only (STORE_GLOBAL, HALT after MICROS), not the UART's bit times.
    assert_eq!(r.cycles, 6 + 6 + 120 + 20 + 7 + 4);
    assert_eq!(reg(&mut t, "USART1.TDR"), u32::from(b'\n'));
}

#[test]
fn instruction_budget_ends_in_budget_exceeded() {
    let b = Budget {
        max_instructions: 5_000,
        ..budget()
    };
    let (mut t, r) = run_with(&[i(Opcode::Jmp, 0)], &[], &b);
    let RunEnd::Fault(f) = r.end else {
        panic!("{:?}", r.end)
    };
    assert_eq!(f.error, VmError::BudgetExceeded);
    assert_eq!(r.instructions, 5_000);
    assert_eq!(r.cycles, 5_000 * 5);
    assert_eq!(t.vm_state().unwrap().fault, Some(f));
}

#[test]
fn virtual_time_budget_ends_in_budget_exceeded_at_the_deadline() {
    let mut code = call(Opcode::Delay, &[100]);
    code.push(i(Opcode::Jmp, 0));
    let b = Budget {
        virtual_time: Duration::from_secs(1),
        ..budget()
    };
    let (_, r) = run_with(&code, &[], &b);
    let RunEnd::Fault(f) = r.end else {
        panic!("{:?}", r.end)
    };
    assert_eq!(f.error, VmError::BudgetExceeded);
    assert_eq!(f.pc, 1, "inside DELAY");
    // Nine full 100 ms iterations, then the tenth DELAY (called at `tenth`) waits until the
    // deadline in whole µs: the clock ends at 1 s plus the sub-µs cycles it had then.
    let tenth = 9 * (17_000_000 + cycles_of(&code)) + cycles_of(&code[..2]);
    let end = 170_000_000 + tenth % 170;
    assert_eq!(r.cycles, 9 * cycles_of(&code) + cycles_of(&code[..2]));
    assert_eq!(r.virtual_time, Duration::from_nanos(cycles_to_ns(end)));

    // A compute-only loop is stopped between slices: the first slice boundary at or after
    // 1 ms (170 000 cycles) of 1 000 JMPs each.
    let b = Budget {
        virtual_time: Duration::from_millis(1),
        ..budget()
    };
    let mut t = SimTarget::new();
    t.set_slice(1_000);
    let jmp = [i(Opcode::Jmp, 0)];
    t.load(&image(&jmp, &[])).unwrap();
    let r = t.run(&b).unwrap();
    assert!(matches!(r.end, RunEnd::Fault(f) if f.error == VmError::BudgetExceeded));
    let slice_cycles = 1_000 * cycles_of(&jmp);
    let slices = 170_000_u64.div_ceil(slice_cycles);
    assert_eq!(r.instructions, slices * 1_000);
    assert_eq!(r.cycles, slices * slice_cycles);
    assert_eq!(
        r.virtual_time,
        Duration::from_nanos(cycles_to_ns(slices * slice_cycles))
    );
}

#[test]
fn wall_timeout_is_enforced_between_slices() {
    let b = Budget {
        max_instructions: u64::MAX,
        virtual_time: Duration::from_secs(1_000_000),
        wall_timeout: Duration::from_millis(50),
    };
    let mut t = SimTarget::new();
    t.set_slice(10_000);
    t.load(&image(&[i(Opcode::Jmp, 0)], &[])).unwrap();
    let r = t.run(&b).unwrap();
    assert_eq!(r.end, RunEnd::WallTimeout);
    assert!(r.wall_time >= Duration::from_millis(50));
    assert!(r.instructions > 0);
    assert_eq!(t.vm_state().unwrap().fault, None);
}

fn telemetry_bytes(t: &mut SimTarget) -> Vec<u8> {
    (0..telemetry::WORDS as u32)
        .flat_map(|w| t.read_u32(TELEMETRY_ADDR + 4 * w).unwrap().to_le_bytes())
        .collect()
}

#[test]
fn telemetry_is_readable_at_its_address_with_a_valid_checksum() {
    let (mut t, r) = run(&blinky());
    let rec = telemetry::verify(&telemetry_bytes(&mut t)).unwrap();
    assert_eq!(rec.run_state(), Some(RunState::Halted));
    assert_eq!(rec.instructions(), r.instructions);
    assert_eq!(rec.cycles(), 700, "interpreter cycles only");
    assert_eq!(rec.error_code, 0);
    assert_eq!(reg(&mut t, "TELEMETRY.MAGIC"), 0xFADE_5AFE);
    let words: Vec<u32> = (0..11)
        .map(|w| t.read_u32(TELEMETRY_ADDR + 4 * w).unwrap())
        .collect();
    assert_eq!(
        reg(&mut t, "TELEMETRY.CHECKSUM"),
        words.iter().fold(0, |a, w| a ^ w)
    );

    // A fault is published with its code and pc.
    let mut code = call(Opcode::Div, &[1, 0]);
    code.push(halt());
    let (mut t, _) = run(&code);
    let rec = telemetry::verify(&telemetry_bytes(&mut t)).unwrap();
    assert_eq!(rec.run_state(), Some(RunState::Faulted));
    assert_eq!(rec.error_code, u32::from(VmError::DivisionByZero.code()));
    assert_eq!(rec.error_pc, 2);
    assert_eq!(reg(&mut t, "TELEMETRY.ERROR"), 6);
}

#[test]
fn loader_rejects_corrupt_and_oversized_images() {
    let mut t = SimTarget::new();
    let mut bytes = image(&blinky(), &[]);
    let n = bytes.len();
    bytes[n - 2] ^= 0x01;
    let err = t.load(&bytes).unwrap_err();
    let TargetError::Image(msg) = &err else {
        panic!("{err:?}")
    };
    assert!(msg.contains("checksum mismatch"), "{msg}");
    assert!(matches!(t.run(&budget()), Err(TargetError::NotLoaded)));
    assert_eq!(
        t.read_u32(PROGRAM_BANK_ADDR).unwrap(),
        0xFFFF_FFFF,
        "bank erased"
    );

    let err = t.load(b"NOPE but long enough to be read....").unwrap_err();
    assert!(
        matches!(&err, TargetError::Image(m) if m.contains("bad magic")),
        "{err}"
    );

    let big = vec![0u8; PROGRAM_BANK_SIZE + 1];
    assert!(matches!(t.load(&big), Err(TargetError::Image(m)) if m.contains("program bank")));

    // A good image afterwards loads, and sits at the bank address.
    let good = image(&blinky(), &[]);
    t.load(&good).unwrap();
    assert_eq!(
        t.read_u32(PROGRAM_BANK_ADDR).unwrap().to_le_bytes(),
        *b"CVBC"
    );
}

#[test]
fn original_conc_images_run_too() {
    let code = [i(Opcode::Push, 5), i(Opcode::StoreGlobal, 3), halt()];
    let conc = cockpit_vm::conc_image(&code, &[b"done\0"]);
    let mut t = SimTarget::new();
    t.load(&conc).unwrap();
    let r = t.run(&budget()).unwrap();
    assert_eq!(r.end, RunEnd::Halted);
    assert_eq!(t.vm_state().unwrap().globals[3], 5);
}

#[test]
fn memory_map_errors_and_regions() {
    let mut t = SimTarget::new();
    assert!(matches!(
        t.read_u32(0x4800_0802),
        Err(TargetError::Unaligned { addr: 0x4800_0802 })
    ));
    assert!(matches!(
        t.read_u32(0x3000_0000),
        Err(TargetError::Unmapped { .. })
    ));
    assert!(
        matches!(t.read_u32(0x4800_082C), Err(TargetError::Unmapped { .. })),
        "GPIO reserved"
    );
    assert!(
        matches!(t.read_u32(0x4002_1014), Err(TargetError::Unmapped { .. })),
        "RCC reserved"
    );
    assert_eq!(
        t.read_u32(0x0800_0000).unwrap(),
        0xFFFF_FFFF,
        "erased flash"
    );
    assert_eq!(
        t.read_u32(0x0807_FFFC).unwrap(),
        0xFFFF_FFFF,
        "last flash word"
    );
    assert!(t.read_u32(0x0808_0000).is_err());
    assert_eq!(t.read_u32(0x2001_3FFC).unwrap(), 0, "last SRAM1 word");
    assert_eq!(t.read_u32(0x2001_4000).unwrap(), 0, "SRAM2");
    assert_eq!(t.read_u32(0x1000_7FFC).unwrap(), 0, "CCM");
    assert_eq!(t.read_u32(0x2001_8000).unwrap(), 0, "CCM alias");
    assert!(t.read_u32(0x2002_0000).is_err());
    // Every name in the shared register table is readable on sim.
    for (name, addr) in regmap::all() {
        assert!(t.read_u32(addr).is_ok(), "{name} at {addr:#010x}");
    }
}

#[test]
fn runs_reset_observations_and_targets_run_in_parallel() {
    fn assert_send<T: Send>() {}
    assert_send::<SimTarget>();

    let mut code = call(Opcode::Printf, &[0]);
    code.extend(blinky());
    let img = image(&code, &[b"boot\n"]);
    let mut t = SimTarget::new();
    t.load(&img).unwrap();
    let first = t.run(&budget()).unwrap();
    let second = t.run(&budget()).unwrap();
    assert_eq!(t.console(), b"boot\n", "not accumulated across runs");
    assert_eq!(t.pin_edges().len(), 8);
    assert_eq!(first.cycles, second.cycles);

    let handles: Vec<_> = (0..4)
        .map(|_| {
            let img = img.clone();
            std::thread::spawn(move || {
                let mut t = SimTarget::new();
                assert_eq!(t.info().id, SimTarget::ID);
                assert_eq!(t.info().kind, "sim");
                t.load(&img).unwrap();
                t.run(&budget()).unwrap().cycles
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), first.cycles);
    }
}

// ---------------------------------------------------------------- Oracle bootloader, power loss

mod power_loss {
    use std::time::Duration;

    use cockpit_hypervisor::boot::{self, Bank, BootChoice};
    use cockpit_hypervisor::loopback::Loopback;
    use cockpit_hypervisor::{Bootloader, Flash};
    use cockpit_oracle::client::{Client, Timeouts};
    use cockpit_oracle::crc32;
    use cockpit_vm::CvbcWriter;
    use cockpit_vm::isa::{Instruction, Opcode};

    use crate::sim::SimFlash;

    fn image(n: usize, tag: u16) -> Vec<u8> {
        let mut code: Vec<Instruction> = (0..n)
            .map(|k| Instruction::new(Opcode::Push, 0, k as u16 ^ tag))
            .collect();
        code.push(Instruction::new(Opcode::Halt, 0, 0));
        CvbcWriter {
            code,
            name: format!("power-loss-{tag}"),
            ..Default::default()
        }
        .to_bytes()
    }

    /// Uploads `image` with the host client through a fresh bootloader (a boot) on `flash`,
    /// after arming a power cut after `cut` more flash operations; restores power (the
    /// reboot) and returns the flash, the upload's success, and the operations it took.
    fn upload(flash: SimFlash, image: &[u8], cut: Option<u64>, seed: u64) -> (SimFlash, bool, u64) {
        let mut flash = flash;
        flash.set_cut_seed(seed);
        if let Some(n) = cut {
            flash.arm_power_cut(n);
        }
        let ops0 = flash.ops();
        let timeouts = Timeouts {
            response: Duration::from_millis(20),
            prepare: Duration::from_millis(20),
            verify: Duration::from_millis(20),
            retries: 0,
        };
        let mut client = Client::new(Loopback::new(Bootloader::new(flash, [1; 12], 0)), timeouts);
        let ok = client.upload(image, |_| {}).is_ok();
        let mut flash = client.into_transport().device.into_flash();
        let ops = flash.ops() - ops0;
        flash.restore_power();
        (flash, ok, ops)
    }

    /// CRC-32 of the image `boot::select` boots, `None` for "stays in the bootloader".
    fn booted(flash: &SimFlash) -> Option<(Bank, u32)> {
        match boot::select(flash) {
            BootChoice::Bank {
                bank, addr, len, ..
            } => Some((bank, crc32(flash.read(addr, len).expect("bank readable")))),
            BootChoice::Bootloader => None,
        }
    }

    /// How the old image boots before the upload.
    #[derive(Clone, Copy, PartialEq)]
    enum Setup {
        /// Bank A, no metadata record (A is the default): one metadata write to activate B.
        Plain,
        /// Bank A, metadata page 0 full: the activation erases page 1 first (two operations).
        FullMeta,
        /// Bank A as a fallback: the metadata names the empty bank B, so prepare records A
        /// first (one more metadata write before the erases).
        Fallback,
    }

    fn with_old(old: &[u8], setup: Setup) -> SimFlash {
        let mut f = SimFlash::new();
        f.program(Bank::A.addr(), old).expect("fits");
        match setup {
            Setup::Plain => {}
            Setup::FullMeta => {
                for _ in 0..boot::SLOTS_PER_PAGE {
                    boot::write_active(&mut f, Bank::A).expect("metadata");
                }
            }
            Setup::Fallback => boot::write_active(&mut f, Bank::B).expect("metadata"),
        }
        f
    }

    /// Cuts power at every erase/program step of a full upload of a new image over an old one
    /// (each cut point with three seeds: untouched / erased / half-erased page, program done or
    /// not), reboots, and checks what boots: the old image for every cut before the metadata
    /// write, old or new for a cut during it, the new one after. Returns N.
    fn every_cut_point(setup: Setup) -> u64 {
        let old = image(40, 0x1111);
        let new = image(1100, 0x2222); // 4.5 KiB: 3 pages
        let (old_crc, new_crc) = (crc32(&old), crc32(&new));
        let start = with_old(&old, setup);
        let (flash, ok, n) = upload(start.clone(), &new, None, 0);
        assert!(ok, "uncut upload succeeds");
        assert_eq!(booted(&flash), Some((Bank::B, new_crc)));
        let meta_ops = if setup == Setup::FullMeta { 2 } else { 1 };
        let pre = u64::from(setup == Setup::Fallback);
        let pages = new.len().div_ceil(2048) as u64;
        assert_eq!(n, pre + pages + new.len().div_ceil(8) as u64 + meta_ops);
        let first_meta = n - meta_ops;
        for cut in 0..n {
            // Three seeds where the interrupted operation's outcome matters (page erases and
            // the metadata write), one (varying) for the bank's double-word programs.
            let seeds = if cut < pre + pages || cut >= first_meta {
                0..3
            } else {
                cut..cut + 1
            };
            for seed in seeds {
                let (flash, ok, _) = upload(start.clone(), &new, Some(cut), seed);
                assert!(!ok, "cut {cut}: the upload cannot succeed");
                let got = booted(&flash);
                let allowed: &[Option<(Bank, u32)>] = if cut < first_meta {
                    &[Some((Bank::A, old_crc))]
                } else {
                    &[Some((Bank::A, old_crc)), Some((Bank::B, new_crc))]
                };
                assert!(
                    allowed.contains(&got),
                    "cut during operation {} of {n} (seed {seed}): boots {got:08x?}",
                    cut + 1
                );
                // After the reboot a new upload works and boots the new image.
                if cut % 97 == 0 {
                    let (flash, ok, _) = upload(flash, &new, None, 0);
                    assert!(ok, "upload after the reboot");
                    assert_eq!(booted(&flash).map(|b| b.1), Some(new_crc));
                }
            }
        }
        n
    }

    #[test]
    fn a_power_cut_at_any_step_of_an_upload_leaves_the_old_or_the_new_image_bootable() {
        let n = every_cut_point(Setup::Plain);
        assert_eq!(n, 3 + 566 + 1, "N cut points");
    }

    #[test]
    fn a_power_cut_during_a_metadata_page_switch_leaves_a_bootable_image() {
        let n = every_cut_point(Setup::FullMeta);
        assert_eq!(n, 3 + 566 + 2, "N cut points");
    }

    #[test]
    fn a_power_cut_at_any_step_of_an_upload_over_a_fallback_image_leaves_a_bootable_image() {
        let n = every_cut_point(Setup::Fallback);
        assert_eq!(n, 1 + 3 + 566 + 1, "N cut points");
    }

    #[test]
    fn a_power_cut_during_a_first_upload_never_boots_garbage() {
        let new = image(700, 0x3333);
        let new_crc = crc32(&new);
        let (flash, ok, n) = upload(SimFlash::new(), &new, None, 0);
        assert!(ok);
        assert_eq!(booted(&flash), Some((Bank::B, new_crc)));
        for cut in 0..n {
            for seed in 0..3 {
                let (flash, _, _) = upload(SimFlash::new(), &new, Some(cut), seed);
                let got = booted(&flash);
                assert!(
                    got.is_none() || got == Some((Bank::B, new_crc)),
                    "cut {cut} seed {seed}: {got:08x?}"
                );
            }
        }
    }
}
