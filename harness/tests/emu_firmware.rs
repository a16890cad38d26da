//! The `emu` board booting the real firmware ELF (skipped with a note when it is not built,
//! except under CI, where `.ci/run` builds it and a missing ELF is a failure): boot banner on
//! USART1, a shipped program run to HALT through the firmware; the firmware's bootloader on the
//! USART1 pseudo-terminal (upload, reboot, run; bytes kept while it answers); the HardFault plan's
//! decoded fault record; the NUCLEO-G474RE profile's ELF (console on LPUART1) running a program
//! (skipped when that ELF is not built: CI only type-checks that profile). (`tests/plans.rs` runs
//! every shipped plan on `emu`, `watchdog_hang` included.)
#![cfg(feature = "emu")]

use std::time::Duration;

use cockpit_harness::emu::{EmuTarget, Firmware, Mcu, Stop};
use cockpit_harness::target::{Budget, Target};
use cockpit_hypervisor::runctl::{self, RUNCTL_ADDR};

fn elf() -> Option<Firmware> {
    match Firmware::from_env() {
        Firmware::Elf(p) if p.exists() => Some(Firmware::Elf(p)),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "firmware ELF not built (run firmware/setup-toolchain.sh and firmware/stm32g474/build.sh)"
            );
            eprintln!("firmware ELF not built: skipped");
            None
        }
    }
}

#[test]
fn firmware_boots_and_prints_on_usart1() {
    let Some(fw) = elf() else { return };
    let mut t = EmuTarget::with_firmware(fw);
    // No guest image: boot selection would stay in the bootloader; load needs a valid image,
    // so this only checks what the firmware prints when nothing is loaded.
    let budget = Budget {
        max_instructions: 1_000_000,
        virtual_time: Duration::from_millis(200),
        wall_timeout: Duration::from_secs(10),
    };
    let r = t.run(&budget);
    assert!(
        matches!(r, Err(cockpit_harness::target::TargetError::NotLoaded)),
        "{r:?}"
    );
    eprintln!("transcript: {:?}", String::from_utf8_lossy(t.transcript()));
    eprintln!(
        "semihosting: {:?}",
        String::from_utf8_lossy(t.semihosting())
    );
    eprintln!(
        "unmodelled: {:x?}",
        t.periph()
            .map(|p| p.unmodelled.iter().take(10).collect::<Vec<_>>())
    );
}

/// The `firmware/stm32g474/build.sh --board nucleo` ELF, if built.
fn nucleo_elf() -> Option<Firmware> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(cockpit_harness::boards::NUCLEO_FIRMWARE);
    if p.exists() {
        Some(Firmware::Elf(p))
    } else {
        eprintln!("NUCLEO-G474RE firmware ELF not built (build.sh --board nucleo): skipped");
        None
    }
}

#[test]
fn the_nucleo_profile_runs_a_program_with_its_console_on_lpuart1() {
    let Some(fw) = nucleo_elf() else { return };
    let mut t = EmuTarget::with_firmware(fw);
    let budget = Budget {
        max_instructions: 10_000_000,
        virtual_time: Duration::from_secs(5),
        wall_timeout: Duration::from_secs(20),
    };
    let r = run_program(&mut t, "arithmetic.c", &budget);
    let transcript = String::from_utf8_lossy(t.transcript()).into_owned();
    assert_eq!(
        r.end,
        cockpit_harness::target::RunEnd::Halted,
        "{transcript}"
    );
    assert!(transcript.contains("cockpit-fw"), "{transcript}");
    assert!(t.console().starts_with(b"neg=-42 quot=-3 rem=-1\n"));
    let p = t.periph().expect("the MCU's peripherals");
    let lp = &p.usart[cockpit_harness::emu::Periph::LPUART1];
    // Everything went out on LPUART1 at 115200 Bd (BRR = 256 × 170 MHz / 115200), nothing on
    // USART1; RCC_APB1ENR2.LPUART1EN and PA2/PA3 in AF12.
    assert!(!lp.tx.is_empty() && p.usart[0].tx.is_empty());
    assert_eq!(lp.regs[3], 377_778, "LPUART1.BRR");
    assert_eq!(lp.frame_cycles(), 14_760, "8N1 frame at 115200 Bd, 170 MHz");
    assert_eq!(p.unmodelled, [], "every register access was modelled");
    let afrl = t.read_u32(0x4800_0020).expect("GPIOA.AFRL");
    assert_eq!(afrl >> 8 & 0xFF, 0xCC, "PA2/PA3 in AF12: {afrl:#x}");
    let apb1enr2 = t.read_u32(0x4002_105C).expect("RCC.APB1ENR2");
    assert_eq!(apb1enr2 & 1, 1, "LPUART1EN");
    let log = t.log();
    assert!(
        log.iter().any(|l| l.contains("board nucleo")),
        "defmt boot line names the profile: {log:?}"
    );
    assert!(log.iter().any(|l| l.contains("HSE 24000000 Hz")), "{log:?}");
}

#[test]
fn firmware_runs_a_shipped_program() {
    let Some(fw) = elf() else { return };
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../test-plans/programs/arithmetic.c");
    let image = cockpit_harness::program::build(&src).expect("builds");
    let mut t = EmuTarget::with_firmware(fw);
    t.load(&image.bytes).expect("loads");
    let budget = Budget {
        max_instructions: 10_000_000,
        virtual_time: Duration::from_secs(5),
        wall_timeout: Duration::from_secs(20),
    };
    let r = t.run(&budget).expect("runs");
    let transcript = String::from_utf8_lossy(t.transcript()).into_owned();
    eprintln!("run: {r:?}\ntranscript: {transcript:?}");
    assert!(transcript.contains("cockpit-fw"), "boot banner on USART1");
    assert!(transcript.contains("guest: halted"), "{transcript}");
    // The console is the guest's output only, as on `sim`.
    assert!(
        t.console().starts_with(b"neg=-42 quot=-3 rem=-1\n")
            && t.console().ends_with(b"divchain=24 unary=15\n"),
        "{:?}",
        String::from_utf8_lossy(t.console())
    );
    assert_eq!(r.end, cockpit_harness::target::RunEnd::Halted);
    // The firmware's stack peak (painted at power-on, scanned after the run): more than the
    // reset handler's frame, far less than the 93 KiB region.
    let m = t.board_metrics();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].name, cockpit_harness::target::STACK_PEAK_METRIC);
    eprintln!("firmware stack peak: {} bytes", m[0].value);
    assert!((256.0..16384.0).contains(&m[0].value), "{}", m[0].value);
    // The firmware's defmt log, decoded from its RTT buffer in RAM.
    let log = t.log();
    eprintln!("defmt log:\n{}", log.join("\n"));
    let has = |s: &str| log.iter().any(|l| l.contains(s));
    assert!(has("INFO boot: cockpit-fw"), "{log:?}");
    assert!(
        has("INFO runctl: budget 10000000 instructions, 5000000 us"),
        "{log:?}"
    );
    assert!(has("INFO guest: halted after 90 instructions"), "{log:?}");
    assert_eq!(
        t.read_u32(0x2000_0008).unwrap(),
        2,
        "telemetry STATE = halted"
    );
    eprintln!(
        "unmodelled: {:x?}",
        t.periph()
            .map(|p| p.unmodelled.iter().take(10).collect::<Vec<_>>())
    );
}

/// A small program's image.
fn image(name: &str) -> Vec<u8> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../test-plans/programs")
        .join(name);
    cockpit_harness::program::build(&src).expect("builds").bytes
}

#[test]
fn firmware_bootloader_on_a_pty_uploads_and_the_image_boots() {
    use cockpit_oracle::client::Client;
    let Some(fw) = elf() else { return };
    let mut t = EmuTarget::with_firmware(fw);
    let port = t.bootloader_port().expect("bootloader session");
    assert!(port.starts_with("/dev/"), "{port}");
    let baud = cockpit_oracle::limits::DEFAULT_BAUD;
    let mut client = Client::open(&port, baud, cockpit_harness::runner::client_timeouts(baud))
        .expect("opens the pty");
    let info = client.device_info().expect("DeviceInfo from the firmware");
    eprintln!("device info: {info:?}");
    let image = image("previous_image.c");
    let report = client.upload(&image, |_| {}).expect("uploaded");
    eprintln!(
        "upload: {} bytes in {:?}, efficiency {:?}",
        report.bytes, report.duration, report.line_efficiency
    );
    assert_eq!(report.bytes, image.len());
    drop(client);
    // The session's register reads reach the running MCU.
    assert_eq!(t.read_u32(0x1FFF_7590).unwrap(), 0x0045_0042, "UID word 0");
    // The firmware entered its bootloader through the run-control request (as on a probe
    // board) and consumed it, so the next reset boots the bank again.
    let flags = t.read_u32(RUNCTL_ADDR + 0x18).unwrap();
    assert_eq!(flags, runctl::BOOTLOADER | runctl::TAKEN, "{flags:#x}");
    t.reboot().expect("reboot");
    let transcript = String::from_utf8_lossy(t.transcript()).into_owned();
    assert!(
        transcript.contains("bootloader requested (run-control): bootloader on USART1"),
        "{transcript}"
    );
    assert!(!transcript.contains("user key held"), "{transcript}");
    // The firmware's FLASH driver wrote bank A and activated it.
    let budget = Budget {
        max_instructions: 1_000_000,
        virtual_time: Duration::from_secs(2),
        wall_timeout: Duration::from_secs(20),
    };
    let r = t.run(&budget).expect("runs the uploaded image");
    assert_eq!(r.end, cockpit_harness::target::RunEnd::Halted);
    assert_eq!(t.console(), b"previous image still boots\n");
    let transcript = String::from_utf8_lossy(t.transcript()).into_owned();
    assert!(transcript.contains("reason=reset"), "{transcript}");
}

#[test]
fn a_bootloader_request_enters_the_bootloader_instead_of_a_guest_that_never_ends() {
    use cockpit_oracle::client::Client;
    let Some(fw) = elf() else { return };
    let mut t = EmuTarget::with_firmware(fw);
    // A valid bank whose guest loops forever (HAL calls keep the watchdog fed): only the
    // request can bring the firmware into its bootloader.
    t.load(&image("setup_loop.c")).expect("loads");
    let port = t.bootloader_port().expect("bootloader session");
    let baud = cockpit_oracle::limits::DEFAULT_BAUD;
    let mut client = Client::open(&port, baud, cockpit_harness::runner::client_timeouts(baud))
        .expect("opens the pty");
    client.device_info().expect("the bootloader answers");
    drop(client);
    t.reboot().expect("reboot");
    let transcript = String::from_utf8_lossy(t.transcript()).into_owned();
    assert!(!transcript.contains("guest: running"), "{transcript}");
}

#[test]
fn the_user_key_held_at_reset_enters_the_bootloader_instead_of_the_guest() {
    let Some(fw) = elf() else { return };
    let mut t = EmuTarget::with_firmware(fw);
    t.load(&image("previous_image.c")).expect("loads");
    t.drive_input(
        cockpit_hypervisor::pins::USER_KEY.number(),
        cockpit_harness::emu::USER_KEY_PRESSED_HIGH,
        Duration::ZERO,
    )
    .expect("PC13");
    // The firmware then idles in its bootloader until the wall-clock timeout: its boot lines
    // come within milliseconds of board time.
    let budget = Budget {
        max_instructions: 1_000_000,
        virtual_time: Duration::from_millis(300),
        wall_timeout: Duration::from_secs(3),
    };
    t.run(&budget).expect("runs");
    let transcript = String::from_utf8_lossy(t.transcript()).into_owned();
    assert!(
        transcript.contains("user key held: bootloader on USART1"),
        "{transcript}"
    );
    assert!(!transcript.contains("guest: running"), "{transcript}");
    assert!(t.console().is_empty());
}

/// Builds `test-plans/programs/<name>` and runs it on `t` with `budget`.
fn run_program(
    t: &mut dyn Target,
    name: &str,
    budget: &Budget,
) -> cockpit_harness::target::RunReport {
    t.load(&image(name)).expect("loads");
    t.run(budget).expect("runs")
}

#[test]
fn budgets_reach_the_firmware_and_end_the_guest_exactly_as_on_sim() {
    let Some(fw) = elf() else { return };
    use cockpit_harness::sim::SimTarget;
    use cockpit_harness::target::RunEnd;
    use cockpit_vm::VmError;
    let budget_fault = |r: &cockpit_harness::target::RunReport| matches!(r.end, RunEnd::Fault(f) if f.error == VmError::BudgetExceeded);
    // Instruction budget: the firmware stops the guest at exactly 100 000 instructions (not at
    // the next 1 M-instruction slice) and leaves its end state in the VM snapshot record.
    let budget = Budget {
        max_instructions: 100_000,
        virtual_time: Duration::from_secs(10),
        wall_timeout: Duration::from_secs(20),
    };
    let mut emu = EmuTarget::with_firmware(fw.clone());
    let mut sim = SimTarget::new();
    let (re, rs) = (
        run_program(&mut emu, "infinite_loop.c", &budget),
        run_program(&mut sim, "infinite_loop.c", &budget),
    );
    assert!(budget_fault(&re) && budget_fault(&rs), "{re:?} {rs:?}");
    assert_eq!(re.instructions, 100_000);
    assert_eq!(re.instructions, rs.instructions);
    let (ve, vs) = (emu.vm_state().unwrap(), sim.vm_state().unwrap());
    assert_eq!(ve.fault, vs.fault, "same error, pc and opcode");
    assert_eq!(ve.globals, vs.globals, "end state (spins) as on sim");
    assert!(ve.globals[0] > 1000, "spins = {}", ve.globals[0]);
    // Board-time budget, from the guest's start: 11 loop() runs of 100 ms fit into 1050 ms.
    let budget = Budget {
        max_instructions: u64::MAX,
        virtual_time: Duration::from_millis(1050),
        wall_timeout: Duration::from_secs(20),
    };
    let mut emu = EmuTarget::with_firmware(fw);
    let re = run_program(&mut emu, "setup_loop.c", &budget);
    assert!(budget_fault(&re), "{re:?}");
    assert_eq!(&emu.vm_state().unwrap().globals[..2], [11, 1]);
    let ms = re.virtual_time.as_secs_f64() * 1e3;
    assert!(
        (1050.0..1051.0).contains(&ms),
        "virtual time {ms} ms from the guest's start"
    );
    // Pin edges are timed from the guest's start too: the first rising edge of PC7 comes
    // right after setup()'s 11-byte line (≈ 1 ms), not after the firmware's boot.
    let first = emu.pin_edges()[0];
    assert_eq!((first.pin, first.high), (14, true));
    assert!(first.at_ns < 2_000_000, "first edge at {} ns", first.at_ns);
}

/// Runs `test-plans/<name>` on an `emu` board through the runner.
fn run_shipped_plan(fw: Firmware, name: &str) -> cockpit_harness::result::TestResult {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../test-plans")
        .join(name);
    let plan = cockpit_harness::plan::Plan::load(&path).expect("plan loads");
    let mut t = EmuTarget::with_firmware(fw);
    let board = t.info();
    let r = cockpit_harness::runner::run_plan(&plan, &board, || Ok(&mut t as &mut dyn Target));
    for c in &r.checks {
        eprintln!("{} {c}", if c.passed { "ok  " } else { "FAIL" });
    }
    r
}

#[test]
fn fault_hardfault_plan_shows_the_decoded_record_and_degraded() {
    use cockpit_harness::result::Verdict;
    let Some(fw) = elf() else { return };
    let r = run_shipped_plan(fw, "fault_hardfault.toml");
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.failure);
    let record = r
        .fault_record
        .expect("a plan with [fault_record] shows the record");
    assert!(
        record.starts_with("HARDFAULT #1: pc=0x080")
            && record.contains("cfsr=0x00010000 (UNDEFINSTR) hfsr=0x40000000 (FORCED)"),
        "{record}"
    );
}

#[test]
fn firmware_bootloader_keeps_bytes_that_arrive_while_it_answers() {
    // partial_frame_timeout sends a partial frame and a handshake at once: the firmware answers
    // the first with COMM_FRAMING_ERROR while the handshake's bytes arrive. Without its receive
    // buffer they overrun RDR (ORE) during the blocking transmit and the handshake is lost.
    use cockpit_oracle::client::Client;
    use cockpit_oracle::scenario::{self, Outcome, ScenarioConfig, WallClock};
    let Some(fw) = elf() else { return };
    let mut t = EmuTarget::with_firmware(fw);
    let port = t.bootloader_port().expect("bootloader session");
    let baud = cockpit_oracle::limits::DEFAULT_BAUD;
    let mut client = Client::open(&port, baud, cockpit_harness::runner::client_timeouts(baud))
        .expect("opens the pty");
    let cfg = ScenarioConfig::new(image("previous_image.c"), image("after_fault.c"));
    let r = scenario::run(
        "partial_frame_timeout",
        &mut client,
        &mut WallClock::default(),
        &cfg,
    )
    .expect("known scenario");
    drop(client);
    t.reboot().expect("reboot");
    assert_eq!(r.outcome, Outcome::Pass, "{}", r.message);
}

/// `!CKPT:MPU` (test command, bootloader console): a write to the fail-safe record from
/// inside the MPU's guest configuration, as an interpreter bug driven by guest input would do.
/// The MPU must stop it (HardFault, escalated from the MPU violation), the fault record must
/// name it (kind MEMMANAGE, CFSR = DACCVIOL | MMARVALID, MMFAR = the record's address), the
/// record must keep its contents, and the firmware must come back Degraded.
#[test]
fn mpu_stops_a_guest_configuration_write_to_the_failsafe_record() {
    let Some(Firmware::Elf(path)) = elf() else {
        return;
    };
    let mut flash = vec![0xFF; cockpit_hypervisor::FLASH_SIZE].into_boxed_slice();
    let hv = (cockpit_hypervisor::PROGRAM_BANK_ADDR - cockpit_hypervisor::FLASH_BASE) as usize;
    let elf = std::fs::read(&path).expect("ELF readable");
    cockpit_harness::emu::target::load_elf("firmware", &elf, &mut flash[..hv]).expect("ELF loads");
    // SAFETY: `flash` outlives `mcu`.
    let mut mcu = unsafe { Mcu::new(flash.as_mut_ptr()) }.expect("emulator");
    mcu.periph_mut().idle_polls = 100_000;
    mcu.reset_core().expect("reset");
    let second = cockpit_harness::emu::periph::CPU_HZ;
    assert_eq!(
        mcu.run(second, |_| false),
        Stop::Idle,
        "boots into the bootloader"
    );
    let now = mcu.periph().cycles;
    mcu.periph_mut().usart[0].receive(b"!CKPT:MPU\n", now);
    let stop = mcu.run(second, |_| false);
    let transcript = String::from_utf8_lossy(&mcu.periph().usart[0].tx).into_owned();
    eprintln!("{stop:?}\n{transcript}");
    assert_eq!(stop, Stop::Idle, "back in the bootloader after one reset");
    assert_eq!(mcu.core().resets.len(), 1);
    let fault_line = transcript
        .lines()
        .find(|l| l.starts_with("FAULT "))
        .expect("fault record reported at the second boot");
    assert!(
        fault_line.starts_with("FAULT MEMMANAGE #1:")
            && fault_line.contains("cfsr=0x00000082")
            && fault_line.contains("hfsr=0x40000000")
            && fault_line.contains("mmfar=0x20000080"),
        "{fault_line}"
    );
    assert!(
        transcript.contains("state=DEGRADED reason=fault"),
        "{transcript}"
    );
    use cockpit_hypervisor::failsafe::{BOOT_ADDR, BootRecord, State};
    use cockpit_hypervisor::fault::{FAULT_ADDR, FaultKind, FaultRecord};
    let words = |addr: u32| -> [u32; 16] {
        std::array::from_fn(|i| mcu.read_u32(addr + 4 * i as u32).expect("SRAM"))
    };
    let fault = FaultRecord::from_words(&words(FAULT_ADDR)).expect("valid fault record");
    assert_eq!(fault.kind, FaultKind::MemManage);
    assert_eq!(
        (fault.cfsr, fault.mmfar),
        (0x82, BOOT_ADDR),
        "DACCVIOL|MMARVALID"
    );
    // The fail-safe record is intact (magic, checksum) and counts both boots.
    let boot: [u32; 8] = words(BOOT_ADDR)[..8].try_into().expect("8 words");
    let rec = BootRecord::from_words(&boot).expect("valid fail-safe record");
    assert_eq!((rec.state, rec.boots), (State::Degraded, 2), "{rec:?}");
}

/// A scheduled input reaches the guest at its board time on both boards: a program mirrors
/// PC13 (pin 16, pulled up) onto PC7 (pin 14) in a tight loop while the plan's schedule pulls
/// PC13 low at 2 ms and releases it (high) at 3 ms of board time from the guest's start. The
/// mirror's edges land at those times plus one loop iteration (a few µs), never before.
#[test]
fn scheduled_inputs_change_at_their_board_time_on_sim_and_emu() {
    let Some(fw) = elf() else { return };
    use cockpit_harness::sim::SimTarget;
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("mirror.c");
    std::fs::write(
        &src,
        "void main() {\n    pinMode(14, OUTPUT);\n    pinMode(16, INPUT_PULLUP);\n    \
         while (1) {\n        digitalWrite(14, digitalRead(16));\n    }\n}\n",
    )
    .expect("writes");
    let image = cockpit_harness::program::build(&src).expect("builds").bytes;
    let budget = Budget {
        max_instructions: u64::MAX,
        virtual_time: Duration::from_millis(4),
        wall_timeout: Duration::from_secs(60),
    };
    let mut emu = EmuTarget::with_firmware(fw);
    let mut sim = SimTarget::new();
    for t in [&mut emu as &mut dyn Target, &mut sim] {
        let kind = t.info().kind;
        t.load(&image).expect("loads");
        t.drive_input(16, true, Duration::ZERO).expect("idle high");
        t.drive_input(16, false, Duration::from_millis(2))
            .expect("press");
        t.drive_input(16, true, Duration::from_millis(3))
            .expect("release");
        let started = std::time::Instant::now();
        t.run(&budget).expect("runs");
        let edges: Vec<_> = t.pin_edges().iter().filter(|e| e.pin == 14).collect();
        eprintln!("{kind}: {edges:?} in {:?}", started.elapsed());
        let levels: Vec<_> = edges.iter().map(|e| e.high).collect();
        assert_eq!(levels, [true, false, true], "{kind}: {edges:?}");
        assert!(
            edges[0].at_ns < 100_000,
            "{kind}: idle level from the start"
        );
        for (edge, at_ns) in edges[1..].iter().zip([2_000_000, 3_000_000]) {
            assert!(
                (at_ns..at_ns + 20_000).contains(&edge.at_ns),
                "{kind}: mirrored at {} ns, scheduled at {at_ns} ns",
                edge.at_ns
            );
        }
    }
}
