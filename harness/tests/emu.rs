//! The `emu` board (virtual STM32G474 on unicorn) with hand-assembled Thumb-2 programs
//! (encoded with `llvm-mc -triple=thumbv7em-none-eabi`; source in the comments).
#![cfg(feature = "emu")]

use std::time::Duration;

use cockpit_harness::emu::{EmuTarget, Firmware, Mcu, Stop};
use cockpit_harness::target::{Budget, PinEdge, RunEnd, Target};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Main program at 0x0800_0100:
/// ```text
///   movw/movt r1, 0x48000800 ; GPIOC
///   movw/movt r0, 0xFFFFDFFF ; MODER: PC6 output
///   str r0, [r1]
///   movs r0, #0x40 ; str r0, [r1, #0x14]   ; ODR PC6 high
///   movs r0, #0    ; str r0, [r1, #0x14]   ; low
///   movw/movt r2, 0x40013800 ; USART1
///   movs r0, #0x0D ; str r0, [r2]          ; CR1 = UE|RE|TE
///   movs r0, #'H'  ; str r0, [r2, #0x28]   ; TDR
///   movs r0, #'i'  ; str r0, [r2, #0x28]
///   movw/movt r3, 0xE000E010 ; SysTick
///   movw r0, #999 ; str r0, [r3, #4]       ; RVR
///   movs r0, #7   ; str r0, [r3]           ; CSR = ENABLE|TICKINT|CLKSOURCE
///   movw/movt r4, 0x20000100
/// wait: ldr r0, [r4] ; cmp r0, #3 ; blt wait
///   movs r0, #0x18 ; movw/movt r1, 0x20026 ; bkpt 0xab   ; SYS_EXIT
///   b .
/// ```
const MAIN: &str = "40f60001c4f600014df6ff70cff6ff700860402048610020486143f60002c4f201020d20106048209062692090624ef21003cef2000340f2e73058600720186040f20014c2f2000420680328fcdb182040f22601c0f20201abbefee7";
/// SysTick handler at 0x0800_0200: `ldr`/`adds`/`str` the word at 0x2000_0100, `bx lr`.
const SYSTICK: &str = "40f20011c2f200010868013008607047";
/// 20 M iterations of `adds r0, #1; cmp r0, r1; bne loop`, then SYS_EXIT.
const LOOP: &str = "40f2000042f60051c0f2311101308842fcd1182040f22601c0f20201abbe";

/// A flash image: vector table (SP = 0x2001_8000, reset = 0x0800_0100, SysTick =
/// 0x0800_0200), `main` at 0x100, `systick` at 0x200.
fn image(main: &str, systick: &str) -> Vec<u8> {
    let mut img = vec![0xFF; 0x400];
    let mut word = |i: usize, v: u32| img[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
    word(0, 0x2001_8000);
    word(1, 0x0800_0101);
    word(15, 0x0800_0201);
    let m = hex(main);
    img[0x100..0x100 + m.len()].copy_from_slice(&m);
    let s = hex(systick);
    img[0x200..0x200 + s.len()].copy_from_slice(&s);
    img
}

fn mcu_run(img: &[u8], cycles: u64) -> (Stop, Vec<u8>, Vec<PinEdge>, u64, u32) {
    let mut flash = vec![0xFF; 512 * 1024].into_boxed_slice();
    flash[..img.len()].copy_from_slice(img);
    // SAFETY: `flash` outlives `mcu`.
    let mut mcu = unsafe { Mcu::new(flash.as_mut_ptr()) }.unwrap();
    mcu.reset_core().unwrap();
    let stop = mcu.run(cycles, |_| false);
    let counter = mcu.read_u32(0x2000_0100).unwrap();
    let p = mcu.periph();
    let out = (
        stop,
        p.usart[0].tx.clone(),
        p.edges.clone(),
        mcu.core().exceptions_taken,
        counter,
    );
    drop(mcu);
    out
}

#[test]
fn gpio_usart_systick_and_semihosting_exit() {
    let (stop, tx, edges, taken, counter) = mcu_run(&image(MAIN, SYSTICK), 10_000_000);
    assert_eq!(stop, Stop::Exit(0x20026), "SYS_EXIT ApplicationExit");
    assert_eq!(tx, b"Hi", "USART1 TDR writes are console bytes");
    assert_eq!(edges.len(), 2);
    assert_eq!(
        (edges[0].pin, edges[0].high),
        (13, true),
        "PC6 = logical pin 13"
    );
    assert_eq!((edges[1].pin, edges[1].high), (13, false));
    assert!(
        edges[0].at_ns <= edges[1].at_ns,
        "time advances per basic block"
    );
    assert!(taken >= 3, "SysTick taken {taken} times");
    assert_eq!(counter, 3, "the handler ran and returned three times");
}

#[test]
fn no_systick_without_tickint_runs_to_cycle_limit() {
    // CSR = 5 (no TICKINT): movs r0, #7 → movs r0, #5 (0x0720 → 0x0520).
    let main = MAIN.replace("0720186040f2", "0520186040f2");
    assert_ne!(main, MAIN);
    let (stop, _, _, taken, counter) = mcu_run(&image(&main, SYSTICK), 200_000);
    assert_eq!(stop, Stop::Cycles);
    assert_eq!((taken, counter), (0, 0));
}

#[test]
fn tight_loop_runs_fast() {
    let t = std::time::Instant::now();
    let (stop, ..) = mcu_run(&image(LOOP, SYSTICK), u64::MAX / 2);
    let s = t.elapsed().as_secs_f64();
    assert_eq!(stop, Stop::Exit(0x20026));
    eprintln!("60 M guest instructions in {s:.3} s = {:.0} MIPS", 60.0 / s);
}

#[test]
fn target_runs_raw_firmware_and_reads_registers() {
    let mut t = EmuTarget::with_firmware(Firmware::Raw(image(MAIN, SYSTICK)));
    assert_eq!(t.info().kind, "emu");
    assert!(
        t.read_core_register("pc".parse().unwrap()).is_err(),
        "no run yet"
    );
    let budget = Budget {
        max_instructions: 1_000_000,
        virtual_time: Duration::from_secs(1),
        wall_timeout: Duration::from_secs(10),
    };
    let r = t.run(&budget).unwrap();
    assert_eq!(r.end, RunEnd::Halted, "semihosting exit of a raw program");
    assert_eq!(t.console(), b"Hi");
    assert_eq!(t.pin_edges().len(), 2);
    assert_eq!(t.read_u32(0x2000_0100).unwrap(), 3);
    assert_eq!(t.read_u32(0x4800_0800).unwrap(), 0xFFFF_DFFF, "GPIOC.MODER");
    assert_eq!(t.read_u32(0xE000_E014).unwrap(), 999, "SYST_RVR");
    assert_eq!(t.read_u32(0x0800_0000).unwrap(), 0x2001_8000, "flash");
    assert!(t.read_u32(0x0800_0002).is_err(), "unaligned");
    assert!(r.virtual_time > Duration::ZERO);
    // Where the program stopped: at its SYS_EXIT (r1 = 0x20026; r4 = the counter's address),
    // on the MSP.
    let reg = |t: &mut EmuTarget, name: &str| t.read_core_register(name.parse().unwrap()).unwrap();
    assert_eq!(
        (reg(&mut t, "R1"), reg(&mut t, "r4")),
        (0x20026, 0x2000_0100)
    );
    assert_eq!(reg(&mut t, "sp"), 0x2001_8000);
    assert_eq!(reg(&mut t, "msp"), reg(&mut t, "sp"));
    let pc = reg(&mut t, "pc");
    assert!((0x0800_0100..0x0800_0200).contains(&pc), "{pc:#x}");
    assert_eq!(reg(&mut t, "xpsr") & (1 << 24), 1 << 24, "Thumb bit");
}

#[test]
fn load_activates_bank_a() {
    let mut t = EmuTarget::with_firmware(Firmware::Raw(image(MAIN, SYSTICK)));
    assert!(t.load(b"not an image").is_err());
    assert_eq!(
        t.read_u32(0x0801_0000).unwrap(),
        0xFFFF_FFFF,
        "bank erased after a rejected image"
    );
}

/// USART1 at BRR = 1476 (8N1, 14 760 cycles a frame), three bytes sent with TXE polling, then
/// TC polled and DWT CYCCNT stored at 0x2000_0100:
/// ```text
///   movw/movt r2, 0x40013800 ; movw r0, #1476 ; str r0, [r2, #0x0C]   ; BRR
///   movs r0, #0x0D ; str r0, [r2]                                  ; CR1 = UE|RE|TE
///   movs r3, #'A' ; movs r4, #0
/// send: ldr r0, [r2, #0x1C] ; tst r0, #0x80 ; beq send               ; TXE
///   str r3, [r2, #0x28] ; adds r3, #1 ; adds r4, #1 ; cmp r4, #3 ; bne send
/// tc: ldr r0, [r2, #0x1C] ; tst r0, #0x40 ; beq tc                   ; TC
///   movw/movt r1, 0xE0001004 ; ldr r0, [r1]                        ; CYCCNT
///   movw/movt r1, 0x20000100 ; str r0, [r1]
///   movs r0, #0x18 ; movw/movt r1, 0x20026 ; bkpt 0xab ; b .       ; SYS_EXIT
/// ```
const PACED_TX: &str = "43f60002c4f2010240f2c450d0600d20106041230024d06910f0800ffbd0936201330134032cf6d1d06910f0400ffbd041f20401cef20001086840f20011c2f200010860182040f22601c0f20201abbefee7";

#[test]
fn usart_tx_is_paced_at_the_line_rate_and_polling_fast_forwards() {
    const FRAME: u64 = 14_760;
    let mut flash = vec![0xFF; 512 * 1024].into_boxed_slice();
    let img = image(PACED_TX, SYSTICK);
    flash[..img.len()].copy_from_slice(&img);
    // SAFETY: `flash` outlives `mcu`.
    let mut mcu = unsafe { Mcu::new(flash.as_mut_ptr()) }.unwrap();
    mcu.reset_core().unwrap();
    assert_eq!(mcu.run(10_000_000, |_| false), Stop::Exit(0x20026));
    let tc_seen = u64::from(mcu.read_u32(0x2000_0100).unwrap());
    let u = &mcu.periph().usart[0];
    assert_eq!(u.tx, b"ABC");
    // 'A' goes straight into the shift register, 'B' and 'C' wait in TDR for the frame before.
    let t0 = u.tx_done[0] - FRAME;
    assert!(t0 < 100, "first byte starts at once: {t0}");
    assert_eq!(u.tx_done, [t0 + FRAME, t0 + 2 * FRAME, t0 + 3 * FRAME]);
    // TC is seen right when the last frame ends (a few instructions later).
    assert!(
        (t0 + 3 * FRAME..t0 + 3 * FRAME + 20).contains(&tc_seen),
        "TC seen at {tc_seen}, last frame ends at {}",
        t0 + 3 * FRAME
    );
    // The TC wait took a handful of ISR reads (each repeated read jumps to the next flag), not
    // the ~5 000 iterations 2 frames of spinning would be.
    assert!(
        u.empty_polls <= 4,
        "{} ISR reads after the last TDR write",
        u.empty_polls
    );
    drop(mcu);
}

/// An exception taken inside an IT block: `cpsid i; li r0, ICSR; li r1, PENDSTSET; str r1,
/// [r0]; movs r5, #0; movs r7, #0; cmp r0, r0; ite eq; msreq PRIMASK, r5; movne r6, #1; li r1,
/// 0x2000_0100; str r7, [r1]; SYS_EXIT`. The `msr` unmasks the pending SysTick between the two
/// instructions of the IT block; the handler (`movs r7, #0x55; bx lr`) must run unconditionally
/// (entry clears EPSR.IT) and the `movne` after the return must still be skipped.
const IT_MAIN: &str = "72b64ef60450cef2000040f20001c0f2004101600025002780420cbf85f31088012640f20011c2f200010f60182040f22601c0f20201abbe";
const IT_SYSTICK: &str = "55277047";

#[test]
fn exception_inside_an_it_block_runs_its_handler_unconditionally() {
    let (stop, _, _, taken, r7) = mcu_run(&image(IT_MAIN, IT_SYSTICK), 1_000_000);
    assert_eq!(stop, Stop::Exit(0x20026));
    assert_eq!(taken, 1, "SysTick taken once");
    assert_eq!(r7, 0x55, "the handler's first instruction ran");
}

// MPU (ARMv7-M PMSAv7). Programs assembled with llvm-mc as above; `li rN, v` below is
// `movw rN, #lo16; movt rN, #hi16`, and `mpu(n, rbar, rasr)` is `li r0, MPU_RBAR; li r1,
// rbar | VALID | n; str r1, [r0]; li r1, rasr; str r1, [r0, #4]`; `ctrl(v)` is `li r0, MPU_CTRL;
// movs r1, #v; str r1, [r0]; dsb; isb`.

/// `li r0, SHCSR; li r1, MEMFAULTENA; str r1, [r0]`.
const MEMFAULTENA: &str = "4ef62450cef2000040f20001c0f201010160";
/// HardFault handler at 0x300: `li r2, GPIOC.ODR; movs r3, #1; str r3, [r2]; bkpt #3` (the
/// store shows that the MPU does not apply in HardFault).
const HARDFAULT: &str = "40f61402c4f600020123136003be";
/// MemManage handler at 0x310: `bkpt #4`.
const MEMMANAGE: &str = "04be";
/// SVCall handler at 0x320: `bx lr`.
const SVCALL: &str = "7047";

/// A flash image: vector table (SP = 0x2001_8000, reset = 0x0800_0101, HardFault, MemManage,
/// SVCall), `main` at 0x100 followed by `b .`, the handlers at 0x300/0x310/0x320.
fn mpu_image(main: &str) -> Vec<u8> {
    let mut img = image(&format!("{main}fee7"), "");
    for (vector, handler, code) in [
        (3, 0x300, HARDFAULT),
        (4, 0x310, MEMMANAGE),
        (11, 0x320, SVCALL),
    ] {
        img[4 * vector..4 * vector + 4]
            .copy_from_slice(&(0x0800_0001u32 + handler as u32).to_le_bytes());
        let c = hex(code);
        img[handler..handler + c.len()].copy_from_slice(&c);
    }
    img
}

/// Runs `img` to its breakpoint; returns the breakpoint number and the MCU's words at `addrs`.
fn mpu_run(img: &[u8], addrs: &[u32]) -> (Stop, Vec<u32>) {
    let mut flash = vec![0xFF; 512 * 1024].into_boxed_slice();
    flash[..img.len()].copy_from_slice(img);
    // SAFETY: `flash` outlives `mcu`.
    let mut mcu = unsafe { Mcu::new(flash.as_mut_ptr()) }.unwrap();
    mcu.reset_core().unwrap();
    let stop = mcu.run(10_000_000, |_| false);
    let words = addrs.iter().map(|&a| mcu.read_u32(a).unwrap()).collect();
    drop(mcu);
    (stop, words)
}

const CFSR: u32 = 0xE000_ED28;
const HFSR: u32 = 0xE000_ED2C;
const MMFAR: u32 = 0xE000_ED34;
const GPIOC_ODR: u32 = 0x4800_0814;

/// Region 0 = 32 B no-access at 0x2000_0100 (PRIVDEFENA: default map elsewhere):
/// `mpu(0, 0x2000_0100, XN | AP 000 | 32 B | EN); ctrl(ENABLE | PRIVDEFENA); li r2, 0x2000_0120;
/// li r3, 0x600D; str r3, [r2]; li r2, 0x2000_0104; str r3, [r2]`.
const PARTIAL: &str = "4ef69c50cef2000040f21011c2f20001016040f20901c1f2000141604ef69450cef2000005210160bff34f8fbff36f8f40f22012c2f2000246f20d03c0f20003136040f20412c2f200021360";

#[test]
fn mpu_violation_escalates_to_hardfault_and_spares_the_rest_of_the_page() {
    let (stop, w) = mpu_run(
        &mpu_image(PARTIAL),
        &[0x2000_0120, 0x2000_0104, CFSR, HFSR, MMFAR, GPIOC_ODR],
    );
    assert_eq!(stop, Stop::Breakpoint(3), "HardFault (MemManage disabled)");
    assert_eq!(w[0], 0x600D, "the store next to the region landed");
    assert_eq!(w[1], 0, "the store into the region did not");
    assert_eq!(w[2], 0x82, "CFSR: MMARVALID | DACCVIOL");
    assert_eq!(w[3], 1 << 30, "HFSR.FORCED");
    assert_eq!(w[4], 0x2000_0104, "MMFAR");
    assert_eq!(w[5], 1, "the HardFault handler ran with the MPU off");
}

#[test]
fn mpu_violation_takes_memmanage_when_enabled() {
    let (stop, w) = mpu_run(
        &mpu_image(&format!("{MEMFAULTENA}{PARTIAL}")),
        &[0x2000_0104, CFSR, HFSR, MMFAR],
    );
    assert_eq!(stop, Stop::Breakpoint(4), "MemManage");
    assert_eq!(w, [0, 0x82, 0, 0x2000_0104]);
}

/// Without PRIVDEFENA only the regions are accessible: `mpu(0, 0x0800_0000, AP 110 (RO) |
/// 512 KiB | EN); mpu(1, 0x2000_0000, XN | AP 011 | 128 KiB | EN); ctrl(ENABLE); li r2,
/// 0x2000_0200; movs r3, #0x40; str r3, [r2]; li r2, GPIOC.ODR; str r3, [r2]`.
const PERIPH: &str = "4ef69c50cef2000040f21001c0f60001016040f22501c0f2006141604ef69c50cef2000040f21101c2f20001016040f22101c1f2003141604ef69450cef2000001210160bff34f8fbff36f8f40f20022c2f200024023136040f61402c4f600021360";

#[test]
fn mpu_without_privdefena_blocks_peripherals() {
    let (stop, w) = mpu_run(&mpu_image(PERIPH), &[0x2000_0200, CFSR, MMFAR, GPIOC_ODR]);
    assert_eq!(stop, Stop::Breakpoint(3));
    assert_eq!(w[0], 0x40, "SRAM region writable");
    assert_eq!(w[1], 0x82);
    assert_eq!(w[2], GPIOC_ODR, "MMFAR");
    assert_eq!(
        w[3], 1,
        "ODR: only the handler's store (not the 0x40 from thread mode)"
    );
}

/// Privileged-only region, then thread mode drops privilege (entered through an SVC return):
/// `MEMFAULTENA; mpu(0, flash RO); mpu(1, 0x2000_0000 128 KiB RW/RW XN); mpu(2, 0x2000_0000,
/// XN | AP 001 (RW/none) | 1 KiB | EN); ctrl(ENABLE); li r2, 0x2000_0000; movs r3, #7; str r3,
/// [r2]; movs r0, #1; msr CONTROL, r0; isb; svc #0; ldr r4, [r2, #4]`.
const UNPRIV: &str = "4ef62450cef2000040f20001c0f2010101604ef69c50cef2000040f21001c0f60001016040f22501c0f2006141604ef69c50cef2000040f21101c2f20001016040f22101c1f2003141604ef69c50cef2000040f21201c2f20001016040f21301c1f2001141604ef69450cef2000001210160bff34f8fbff36f8f40f20002c2f2000207231360012080f31488bff36f8f00df5468";

#[test]
fn mpu_checks_unprivileged_thread_mode() {
    let (stop, w) = mpu_run(&mpu_image(UNPRIV), &[0x2000_0000, CFSR, MMFAR]);
    assert_eq!(stop, Stop::Breakpoint(4), "MemManage");
    assert_eq!(
        w,
        [7, 0x82, 0x2000_0004],
        "privileged store ok, unprivileged load refused"
    );
}

/// Execute from an XN region: `mpu(0, 0x2000_0000, XN | RW | 128 KiB | EN); ctrl(ENABLE |
/// PRIVDEFENA); li r0, 0x2000_0201; bx r0`.
const XN_FETCH: &str = "4ef69c50cef2000040f21001c2f20001016040f22101c1f2003141604ef69450cef2000005210160bff34f8fbff36f8f40f20120c2f200000047";

#[test]
fn mpu_xn_faults_instruction_fetch() {
    let (stop, w) = mpu_run(&mpu_image(XN_FETCH), &[CFSR, MMFAR]);
    assert_eq!(stop, Stop::Breakpoint(3));
    assert_eq!(w, [0x01, 0], "CFSR.IACCVIOL, no MMFAR");
}
