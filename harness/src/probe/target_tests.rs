//! `ProbeTarget` through the `DebugLink` boundary with the scripted fake board.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cockpit_hypervisor::boot::{self, BootChoice};
use cockpit_hypervisor::fault::{FAULT_ADDR, FaultKind, FaultRecord};
use cockpit_hypervisor::flash::MemFlash;
use cockpit_hypervisor::runctl::{self, RUNCTL_ADDR, RunControl};
use cockpit_hypervisor::telemetry::{RunState, TELEMETRY_ADDR, TelemetryRecord};
use cockpit_hypervisor::vmsnap::{VM_SNAPSHOT_ADDR, VmSnapshot};
use cockpit_hypervisor::{FLASH_BASE, PROGRAM_BANK_ADDR};
use cockpit_vm::{CvbcWriter, Instruction, Opcode, VmError};

use super::*;
use crate::probe::Timeouts;
use crate::probe::fake::{ScriptedLink, Step};
use crate::probe::link::Operation;
use crate::regmap;

const RTT_BLOCK: u32 = 0x2000_0400;
/// The test ELF's stack: `_stack_end`..`_stack_start` (4 KiB below the end of SRAM).
const STACK: (u32, u32) = (0x2001_7000, 0x2001_8000);

/// A minimal ELF32 (ARM, little endian): one `PT_LOAD` segment per `(paddr, bytes)` and a
/// `.symtab` with `_SEGGER_RTT` at [`RTT_BLOCK`] and the [`STACK`] bounds, what the linker
/// makes of the firmware.
fn elf(segments: &[(u32, &[u8])]) -> Vec<u8> {
    let le16 = |v: u16| v.to_le_bytes();
    let le32 = |v: u32| v.to_le_bytes();
    let phoff = 52u32;
    let mut data_off = phoff + 32 * segments.len() as u32;
    let mut ph = Vec::new();
    let mut body = Vec::new();
    for (paddr, bytes) in segments {
        let n = bytes.len() as u32;
        for v in [1, data_off, *paddr, *paddr, n, n, 5, 4] {
            ph.extend_from_slice(&le32(v)); // type, offset, vaddr, paddr, filesz, memsz, flags, align
        }
        body.extend_from_slice(bytes);
        data_off += n;
    }
    while body.len() % 4 != 0 {
        body.push(0);
    }
    let mut strtab = vec![0u8];
    let shstr = b"\0.symtab\0.strtab\0.shstrtab\0".to_vec();
    let mut symtab = vec![0u8; 16];
    for (name, value) in [
        ("_SEGGER_RTT", RTT_BLOCK),
        ("_stack_end", STACK.0),
        ("_stack_start", STACK.1),
    ] {
        symtab.extend_from_slice(&le32(strtab.len() as u32));
        symtab.extend_from_slice(&le32(value));
        symtab.extend_from_slice(&le32(0));
        symtab.extend_from_slice(&[0x11, 0, 1, 0]); // GLOBAL OBJECT, defined in section 1
        strtab.extend_from_slice(name.as_bytes());
        strtab.push(0);
    }
    let base = 52 + ph.len() + body.len();
    let (sym_off, str_off) = (base, base + symtab.len());
    let shstr_off = str_off + strtab.len();
    let shoff = (shstr_off + shstr.len()).next_multiple_of(4);
    let mut e = vec![0x7F, b'E', b'L', b'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    e.extend_from_slice(&le16(2)); // ET_EXEC
    e.extend_from_slice(&le16(40)); // EM_ARM
    e.extend_from_slice(&le32(1));
    e.extend_from_slice(&le32(0x0800_0101)); // entry
    e.extend_from_slice(&le32(phoff));
    e.extend_from_slice(&le32(shoff as u32));
    e.extend_from_slice(&le32(0x0500_0400));
    for v in [52, 32, segments.len() as u16, 40, 4, 3] {
        e.extend_from_slice(&le16(v));
    }
    e.extend_from_slice(&ph);
    e.extend_from_slice(&body);
    e.extend_from_slice(&symtab);
    e.extend_from_slice(&strtab);
    e.extend_from_slice(&shstr);
    e.resize(shoff, 0);
    let sections: [[u32; 10]; 4] = [
        [0; 10],
        [1, 2, 0, 0, sym_off as u32, symtab.len() as u32, 2, 1, 4, 16],
        [9, 3, 0, 0, str_off as u32, strtab.len() as u32, 0, 0, 1, 0],
        [
            17,
            3,
            0,
            0,
            shstr_off as u32,
            shstr.len() as u32,
            0,
            0,
            1,
            0,
        ],
    ];
    for s in sections {
        for v in s {
            e.extend_from_slice(&le32(v));
        }
    }
    e
}

fn firmware_file(dir: &Path, name: &str, segments: &[(u32, &[u8])]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, elf(segments)).unwrap();
    path
}

fn config(firmware: PathBuf) -> ProbeConfig {
    let mut c = ProbeConfig::new("bench-1", firmware);
    c.poll_interval = Duration::from_millis(1);
    c.boot_margin = Duration::from_millis(10);
    c
}

const VECTORS: [u8; 8] = [0x00, 0x80, 0x01, 0x20, 0x01, 0x01, 0x00, 0x08];
const TEXT: &[u8] = b"cockpit firmware text";

fn open(link: &ScriptedLink, firmware: PathBuf) -> Result<ProbeTarget, TargetError> {
    ProbeTarget::with_link(
        config(firmware),
        Some("FAKE0".into()),
        Box::new(link.clone()),
        None,
        &mut |_| {},
    )
}

/// A temporary folder with a minimal firmware ELF (its vector table only) and a fresh board.
fn setup() -> (tempfile::TempDir, PathBuf, ScriptedLink) {
    let dir = tempfile::tempdir().unwrap();
    let fw = firmware_file(dir.path(), "fw", &[(0x0800_0000, &VECTORS)]);
    (dir, fw, ScriptedLink::new())
}

fn program() -> Vec<u8> {
    CvbcWriter {
        code: vec![Instruction::new(Opcode::Halt, 0, 0)],
        ..Default::default()
    }
    .to_bytes()
}

#[test]
fn firmware_is_flashed_once_then_skipped_by_digest() {
    let dir = tempfile::tempdir().unwrap();
    let fw = firmware_file(
        dir.path(),
        "fw",
        &[(0x0800_0000, &VECTORS), (0x0800_0200, TEXT)],
    );
    let link = ScriptedLink::new();
    let mut seen = Vec::new();
    let t = ProbeTarget::with_link(
        config(fw.clone()),
        Some("FAKE0".into()),
        Box::new(link.clone()),
        None,
        &mut |p| seen.push(p),
    )
    .unwrap();
    assert_eq!(t.firmware_flash(), FlashOutcome::Written);
    assert_eq!(t.firmware().byte_count(), VECTORS.len() + TEXT.len());
    assert_eq!(seen.last().map(|p| (p.done, p.total)), Some((29, Some(29))));
    {
        let b = link.board();
        assert_eq!(&b.flash[0x200..0x200 + TEXT.len()], TEXT);
        assert_eq!(b.calls_of("write_flash"), 1);
    }
    // Same image: read back, equal, nothing written.
    let t = open(&link, fw).unwrap();
    assert_eq!(t.firmware_flash(), FlashOutcome::Skipped);
    assert_eq!(link.board().calls_of("write_flash"), 1);
    // One byte changed: flashed again.
    let fw2 = firmware_file(
        dir.path(),
        "fw2",
        &[
            (0x0800_0000, &VECTORS),
            (0x0800_0200, b"cockpit firmware tExt"),
        ],
    );
    assert_eq!(
        open(&link, fw2).unwrap().firmware_flash(),
        FlashOutcome::Written
    );
    assert_eq!(link.board().calls_of("write_flash"), 2);
}

#[test]
fn flash_read_failure_and_bad_firmware_are_board_errors() {
    let (dir, fw, link) = setup();
    link.board()
        .fail
        .insert(Operation::Access, "USB transfer error".into());
    let e = open(&link, fw).unwrap_err();
    assert!(
        matches!(&e, TargetError::Board(m) if m == "probe memory/register access failed: USB transfer error"),
        "{e}"
    );
    assert_eq!(link.board().calls_of("write_flash"), 0);
    let link = ScriptedLink::new();
    let e = open(&link, dir.path().join("missing"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("firmware ELF") && e.contains("missing"), "{e}");
    let bank = firmware_file(dir.path(), "bank", &[(PROGRAM_BANK_ADDR - 4, &VECTORS)]);
    let e = open(&link, bank).unwrap_err().to_string();
    assert!(e.contains("reaches into the program bank"), "{e}");
    let ram_only = firmware_file(dir.path(), "ram", &[(0x2000_0000, &VECTORS)]);
    let e = open(&link, ram_only).unwrap_err().to_string();
    assert!(e.contains("no loadable segment in flash"), "{e}");
}

#[test]
fn each_operation_has_its_own_timeout() {
    let (_dir, fw, _) = setup();
    let timeouts = Timeouts {
        attach: Duration::from_millis(50),
        flash: Duration::from_millis(50),
        control: Duration::from_millis(50),
        access: Duration::from_millis(500),
        rtt: Duration::from_millis(50),
    };
    // Attach: the backend never finishes opening.
    let e = TimedLink::open(timeouts.clone(), || {
        std::thread::sleep(Duration::from_secs(2));
        Ok(Box::new(ScriptedLink::new()) as Box<dyn DebugLink>)
    })
    .unwrap_err();
    assert_eq!(
        e,
        LinkError::Timeout {
            op: Operation::Attach,
            after: Duration::from_millis(50)
        }
    );
    // A target on a timed link to `link` (flashing the firmware on open).
    let open_timed = |link: &ScriptedLink| {
        let l = link.clone();
        let timed = TimedLink::open(timeouts.clone(), move || {
            Ok(Box::new(l) as Box<dyn DebugLink>)
        })
        .unwrap();
        ProbeTarget::with_link(config(fw.clone()), None, Box::new(timed), None, &mut |_| {})
    };
    // Flash: a slow erase.
    let link = ScriptedLink::new();
    link.board()
        .delay
        .insert(Operation::Flash, Duration::from_secs(2));
    assert_eq!(
        open_timed(&link).unwrap_err().to_string(),
        "board failure: probe flash programming timed out after 50ms"
    );
    // Control, during a run; after a timeout the link is lost.
    let link = ScriptedLink::new();
    let mut t = open_timed(&link).unwrap();
    t.load(&program()).unwrap();
    link.board()
        .delay
        .insert(Operation::Control, Duration::from_secs(2));
    let e = t.run(&budget()).unwrap_err().to_string();
    assert!(
        e.ends_with("probe core control (reset/run/halt) timed out after 50ms"),
        "{e}"
    );
    let e = t.read_u32(regmap::DWT_CYCCNT).unwrap_err().to_string();
    assert!(e.contains("unusable: an earlier core control"), "{e}");
    // RTT: the firmware's ELF names a control block, the read hangs.
    let link = ScriptedLink::new();
    let mut t = open_timed(&link).unwrap();
    t.load(&program()).unwrap();
    link.board()
        .delay
        .insert(Operation::Rtt, Duration::from_secs(2));
    let e = t.run(&budget()).unwrap_err().to_string();
    assert!(e.ends_with("probe RTT read timed out after 50ms"), "{e}");
}

fn budget() -> Budget {
    Budget {
        max_instructions: 1_000,
        virtual_time: Duration::from_secs(5),
        wall_timeout: Duration::from_secs(5),
    }
}

/// A fake board with the firmware flashed and [`program`] loaded.
fn loaded() -> (ScriptedLink, ProbeTarget, tempfile::TempDir) {
    let (dir, fw, link) = setup();
    let mut t = open(&link, fw).unwrap();
    t.load(&program()).unwrap();
    (link, t, dir)
}

fn write(at: usize, addr: u32, bytes: Vec<u8>) -> (usize, Step) {
    (at, Step::Write { addr, bytes })
}

/// The firmware ending the guest run at poll `at`: the telemetry record in `state`, and the
/// run-control record marked ended after 170,000 cycles (1 ms at 170 MHz).
fn guest_end(at: usize, state: RunState, instructions: u64, error: u8) -> [(usize, Step); 2] {
    let ctl = RunControl::request(1_000, Some(5_000_000))
        .started(100)
        .ended(170_100);
    [
        write(at, TELEMETRY_ADDR, telemetry(state, instructions, error)),
        write(at, RUNCTL_ADDR, ctl.encode_bytes().to_vec()),
    ]
}

fn telemetry(state: RunState, instructions: u64, error: u8) -> Vec<u8> {
    TelemetryRecord::new(state, 5, 0x10, instructions, 10 * instructions, error, 5)
        .encode()
        .to_vec()
}

#[test]
fn load_writes_bank_a_like_sim_and_skips_an_identical_image() {
    let (link, mut t, _dir) = loaded();
    {
        let mut b = link.board();
        let f = MemFlash {
            base: FLASH_BASE,
            bytes: &mut b.flash,
        };
        let BootChoice::Bank { bank, addr, .. } = boot::select(&f) else {
            panic!("bank A not bootable");
        };
        assert_eq!((bank, addr), (boot::Bank::A, PROGRAM_BANK_ADDR));
        assert_eq!(b.calls_of("write_flash 0x08010000"), 1);
    }
    t.load(&program()).unwrap();
    assert_eq!(link.board().calls_of("write_flash 0x08010000"), 1);
    let e = t.load(b"not a program").unwrap_err();
    assert!(matches!(e, TargetError::Image(_)), "{e}");
    assert_eq!(link.board().calls_of("write_flash"), 2);
}

#[test]
fn run_on_an_empty_board_is_not_loaded() {
    let (_dir, fw, link) = setup();
    let mut t = open(&link, fw).unwrap();
    assert!(matches!(t.run(&budget()), Err(TargetError::NotLoaded)));
    assert_eq!(link.board().calls_of("resume"), 0);
}

#[test]
fn run_polls_telemetry_to_halted_and_reads_the_end_state() {
    let (link, mut t, _dir) = loaded();
    let mut globals = [0i32; cockpit_vm::GLOBALS];
    globals[0] = 42;
    let snap: Vec<u8> = VmSnapshot::new(&[7, 8], &globals)
        .encode()
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    let gpioc_moder = regmap::resolve("GPIOC.MODER").unwrap();
    {
        let mut b = link.board();
        // A stale record from an earlier run must not end this one at once.
        b.ram[..48].copy_from_slice(&telemetry(RunState::Halted, 1, 0));
        b.script = vec![
            write(1, TELEMETRY_ADDR, telemetry(RunState::Running, 10, 0)),
            (2, Step::Rtt(b"\x01\x02".to_vec())),
            write(3, VM_SNAPSHOT_ADDR, snap),
            write(3, gpioc_moder, 0x1000u32.to_le_bytes().to_vec()),
            (9, Step::Rtt(b"late".to_vec())),
            write(2, STACK.1 - 0x40, vec![0; 0x40]),
        ];
        b.script.extend(guest_end(3, RunState::Halted, 42, 0));
        b.core[15] = 0x0800_1234;
        b.core[16] = 0x6100_0000;
    }
    let r = t.run(&budget()).unwrap();
    assert_eq!(r.end, RunEnd::Halted);
    assert_eq!((r.instructions, r.cycles), (42, 420));
    assert_eq!(r.virtual_time, Duration::from_millis(1));
    assert_eq!(link.board().polls, 3);
    assert_eq!(
        t.rtt_bytes(),
        b"\x01\x02",
        "RTT polled during the run, read once more after it"
    );
    assert_eq!(t.log(), ["(no defmt log: the ELF has no .defmt section)"]);
    // The stack was painted after the reset; the script used its top 0x40 bytes.
    assert_eq!(t.board_metrics()[0].value, 64.0);
    let vm = t.vm_state().unwrap();
    assert_eq!((vm.fault, vm.stack, vm.globals[0]), (None, vec![7, 8], 42));
    assert_eq!(t.read_u32(gpioc_moder).unwrap(), 0x1000);
    assert_eq!(
        t.read_u32(TELEMETRY_ADDR + 8).unwrap(),
        RunState::Halted as u32
    );
    assert!(matches!(
        t.read_u32(0x2000_0002),
        Err(TargetError::Unaligned { .. })
    ));
    assert!(matches!(
        t.read_u32(0x3000_0000),
        Err(TargetError::Unmapped { .. })
    ));
    assert!(
        matches!(t.read_u32(0x4002_4000), Err(TargetError::Board(_))),
        "mapped, but the fake has no such register"
    );
    assert_eq!(
        t.read_core_register("pc".parse().unwrap()).unwrap(),
        0x0800_1234
    );
    assert_eq!(
        t.read_core_register(CoreRegister::Xpsr).unwrap(),
        0x6100_0000
    );
    assert!(t.hardfault().is_none());
    let calls = link.board().calls.clone();
    let order: Vec<&str> = calls
        .iter()
        .map(String::as_str)
        .filter(|c| ["reset_and_halt", "resume", "halt"].contains(c))
        .collect();
    assert_eq!(order, ["reset_and_halt", "resume", "halt"]);
}

#[test]
fn guest_faults_are_results_and_probe_failures_are_errors() {
    let (link, mut t, _dir) = loaded();
    link.board().script = guest_end(2, RunState::Faulted, 9, 3).to_vec();
    let r = t.run(&budget()).unwrap();
    let RunEnd::Fault(f) = r.end else {
        panic!("{:?}", r.end)
    };
    assert_eq!(
        (f.error, f.pc, f.opcode),
        (VmError::from_code(3).unwrap(), 5, 0x10)
    );
    assert_eq!(t.vm_state().unwrap().fault, Some(f));
    // The probe failing mid-run is an infrastructure error, not a verdict.
    link.board().script = vec![(1, Step::Rtt(vec![1]))];
    link.board()
        .fail
        .insert(Operation::Rtt, "RTT block corrupt".into());
    let e = t.run(&budget()).unwrap_err();
    assert!(
        matches!(&e, TargetError::Board(m) if m.contains("RTT read failed: RTT block corrupt")),
        "{e}"
    );
}

#[test]
fn the_budget_goes_to_the_firmware_with_a_safety_net_and_a_wall_clock() {
    let (link, mut t, _dir) = loaded();
    // The firmware applies the budget and ends the guest with BUDGET_EXCEEDED (code 10).
    let code = VmError::BudgetExceeded.code();
    link.board().script = guest_end(2, RunState::Faulted, 1_000, code).to_vec();
    let r = t.run(&budget()).unwrap();
    let RunEnd::Fault(f) = r.end else {
        panic!("{:?}", r.end)
    };
    assert_eq!((f.error, f.pc), (VmError::BudgetExceeded, 5));
    assert_eq!(
        r.virtual_time,
        Duration::from_millis(1),
        "the firmware's cycles"
    );
    assert_eq!(t.vm_state().unwrap().fault, Some(f));
    // A guest the firmware never ends: the request is in RAM, the harness stops the core at
    // virtual_time + boot_margin (10 ms in these tests), without a VM end state.
    link.board().script.clear();
    let short = Budget {
        virtual_time: Duration::from_millis(20),
        ..budget()
    };
    let r = t.run(&short).unwrap();
    assert!(matches!(r.end, RunEnd::Fault(f) if f.error == VmError::BudgetExceeded && f.pc == 0));
    assert!(
        r.virtual_time >= Duration::from_millis(30),
        "{:?}",
        r.virtual_time
    );
    assert!(t.vm_state().unwrap().stack.is_empty());
    let ram = link.board().ram[0xC0..0xC0 + 48].to_vec();
    let request = RunControl::decode_bytes(&ram).unwrap();
    assert_eq!(request, RunControl::request(1_000, Some(20_000)));
    let wall = Budget {
        wall_timeout: Duration::from_millis(20),
        ..budget()
    };
    assert_eq!(t.run(&wall).unwrap().end, RunEnd::WallTimeout);
}

/// A HardFault record (UNDEFINSTR, FORCED) at `pc`, as the firmware's handler stores it.
fn fault_record(acked: bool, pc: u32, count: u32) -> Vec<u8> {
    FaultRecord {
        kind: FaultKind::HardFault,
        acked,
        regs: [0, 0, 0, 0, 0, 0x0800_0101, pc, 0x0100_0000],
        cfsr: 1 << 16,
        hfsr: 1 << 30,
        mmfar: 0,
        bfar: 0,
        count,
    }
    .to_words()
    .iter()
    .flat_map(|w| w.to_le_bytes())
    .collect()
}

#[test]
fn a_hardfault_during_the_run_is_decoded() {
    let (link, mut t, _dir) = loaded();
    {
        let mut b = link.board();
        let old = fault_record(true, 0x0800_0100, 1);
        b.ram[0x40..0x80].copy_from_slice(&old);
        b.script = vec![write(1, FAULT_ADDR, fault_record(false, 0x0800_2000, 2))];
        b.script.extend(guest_end(2, RunState::Halted, 3, 0));
    }
    t.run(&budget()).unwrap();
    let f = t.hardfault().expect("new fault record");
    assert_eq!(f.count, 2);
    assert_eq!((f.pc(), f.cfsr), (0x0800_2000, 1 << 16));
    assert!(
        f.to_string().starts_with("HARDFAULT #2: pc=0x08002000"),
        "{f}"
    );
    // A record left from before the run is not reported again.
    link.board().script = guest_end(1, RunState::Halted, 3, 0).to_vec();
    t.run(&budget()).unwrap();
    assert!(t.hardfault().is_none());
}

#[test]
fn console_is_the_guest_part_of_the_usart1_transcript() {
    let (_dir, fw, link) = setup();
    let transcript = b"\r\ncockpit-fw 0.1.0\r\nguest: running\r\nhello\r\nguest: halted after 3 instructions\r\n";
    let mut opens = 0;
    let serial: SerialOpener = Box::new(move || {
        opens += 1;
        if opens > 1 {
            return Err(std::io::Error::other("/dev/ttyACM0: gone"));
        }
        Ok(Box::new(Cursor::new(transcript.to_vec())) as Box<dyn std::io::Read + Send>)
    });
    let mut t = ProbeTarget::with_link(
        config(fw),
        None,
        Box::new(link.clone()),
        Some(serial),
        &mut |_| {},
    )
    .unwrap();
    t.load(&program()).unwrap();
    link.board().script = guest_end(3, RunState::Halted, 3, 0).to_vec();
    t.run(&budget()).unwrap();
    assert_eq!(t.transcript(), transcript);
    assert_eq!(t.console(), b"hello");
    let e = t.run(&budget()).unwrap_err().to_string();
    assert!(e.contains("USART1 serial port: /dev/ttyACM0: gone"), "{e}");
    let info = t.info();
    assert_eq!((info.kind.as_str(), info.id.as_str()), ("probe", "bench-1"));
    assert_eq!(
        (info.serial, info.backend.as_deref()),
        (None, Some(BACKEND))
    );
    assert!(matches!(
        t.drive_input(13, true, Duration::ZERO),
        Err(TargetError::Unsupported(_))
    ));
}

/// The run-control record in the fake board's RAM.
fn run_control_in_ram(link: &ScriptedLink) -> Vec<u8> {
    let off = (RUNCTL_ADDR - 0x2000_0000) as usize;
    link.board().ram[off..off + runctl::SIZE].to_vec()
}

#[test]
fn bootloader_entry_is_a_run_control_request_and_reboot_clears_it() {
    let (dir, fw, link) = setup();
    let mut c = config(fw);
    c.serial_port = Some("/dev/ttyACM7".into());
    let mut t = ProbeTarget::with_link(c, None, Box::new(link.clone()), None, &mut |_| {}).unwrap();
    // Not in the bootloader: reboot does nothing.
    t.reboot().unwrap();
    assert_eq!(link.board().calls_of("reset_and_halt"), 0);
    // The firmware takes the request at its second poll after the resume.
    let request = RunControl::bootloader_request().encode_bytes();
    let taken = RunControl::take_bootloader(&RunControl::bootloader_request().encode())
        .unwrap()
        .encode_bytes();
    link.board().script = vec![write(2, RUNCTL_ADDR, taken.to_vec())];
    link.board().calls.clear();
    assert_eq!(t.bootloader_port().unwrap(), "/dev/ttyACM7");
    let calls = link.board().calls.clone();
    assert_eq!(
        calls[..3],
        ["reset_and_halt", "write 0x200000c0+48", "resume"],
        "the request is written while the core is halted after reset"
    );
    assert_eq!(link.board().calls_of("read 0x200000c0+48"), 2, "{calls:?}");
    assert_eq!(run_control_in_ram(&link), taken);
    assert_ne!(request, taken);
    // Reboot: reset, clear the record, run the active bank.
    link.board().calls.clear();
    t.reboot().unwrap();
    assert_eq!(
        link.board().calls,
        ["reset_and_halt", "write 0x200000c0+48", "resume"]
    );
    assert_eq!(run_control_in_ram(&link), [0; runctl::SIZE]);
    assert!(!link.board().halted);
    t.reboot().unwrap();
    assert_eq!(link.board().calls_of("reset_and_halt"), 1, "once only");

    // A firmware that never takes the request (older than format 1.1): a Board error.
    link.board().script.clear();
    let e = t.bootloader_port().unwrap_err();
    assert!(
        matches!(&e, TargetError::Board(m) if m.contains("did not take the bootloader request")),
        "{e}"
    );
    assert_eq!(
        run_control_in_ram(&link),
        request,
        "the request was written"
    );

    // No serial port in the hardware map: a Board error before touching the probe.
    let mut t = open(
        &link,
        firmware_file(dir.path(), "fw2", &[(0x0800_0000, &VECTORS)]),
    )
    .unwrap();
    link.board().calls.clear();
    let e = t.bootloader_port().unwrap_err();
    assert!(
        matches!(&e, TargetError::Board(m) if m.contains("board `bench-1` has no serial_port")),
        "{e}"
    );
    assert!(link.board().calls.is_empty(), "{:?}", link.board().calls);
}

/// The firmware ELF (`COCKPIT_FIRMWARE_ELF`, else the build script's output); `None` (skip)
/// when it is not built, except under CI, where `.ci/run` builds it first.
fn firmware_elf() -> Option<PathBuf> {
    let path = crate::boards::default_firmware();
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "firmware ELF not built: {}",
        path.display()
    );
    eprintln!("firmware ELF not built: skipped");
    None
}

/// One defmt frame as defmt-rtt sends it with the firmware's rzcobs encoding: the index, the
/// `{=u64:ms}` timestamp, no arguments; rzcobs-encoded and 0-terminated.
fn frame(index: usize, ms: u64) -> Vec<u8> {
    let mut raw = (index as u16).to_le_bytes().to_vec();
    raw.extend_from_slice(&ms.to_le_bytes());
    let mut out = rzcobs::encode(&raw);
    out.push(0);
    out
}

#[test]
fn real_firmware_flashes_below_the_banks_and_its_rtt_log_decodes() {
    let Some(path) = firmware_elf() else { return };
    let link = ScriptedLink::new();
    let mut t = open(&link, path.clone()).unwrap();
    assert_eq!(t.firmware_flash(), FlashOutcome::Written);
    let fw = t.firmware();
    let end = fw
        .regions
        .last()
        .map(|r| r.addr as usize + r.data.len())
        .unwrap();
    assert_eq!(fw.regions[0].addr, FLASH_BASE, "vector table first");
    assert!(end <= PROGRAM_BANK_ADDR as usize, "{end:#x}");
    let cb = t.rtt_block.expect("_SEGGER_RTT in the ELF");
    assert!((0x2000_0000..0x2001_8000).contains(&cb), "{cb:#x}");
    // Find the index of the firmware's `guest: start` statement in its defmt table.
    let table = rtt::defmt_table(&std::fs::read(&path).unwrap()).unwrap();
    let start = table
        .indices()
        .find(|&i| rtt::decode_frames(&table, &frame(i, 0)) == ["0.000 INFO guest: start"])
        .expect("`guest: start` in the table");
    // The frames arrive split across two RTT polls.
    let stream = [frame(start, 2), frame(start, 1500)].concat();
    t.load(&program()).unwrap();
    link.board().script = vec![
        (1, Step::Rtt(stream[..5].to_vec())),
        (2, Step::Rtt(stream[5..].to_vec())),
    ];
    link.board()
        .script
        .extend(guest_end(3, RunState::Halted, 3, 0));
    t.run(&budget()).unwrap();
    assert_eq!(t.rtt_bytes(), stream);
    assert_eq!(
        t.log(),
        ["0.002 INFO guest: start", "1.500 INFO guest: start"]
    );
    let metrics = t.board_metrics();
    assert_eq!(metrics.len(), 1, "the ELF names its stack");
    assert_eq!(
        (metrics[0].name.as_str(), metrics[0].value),
        (crate::target::STACK_PEAK_METRIC, 0.0),
        "painted, and the scripted board never touches it"
    );
    // Opening the same board again finds the firmware in place.
    assert_eq!(
        open(&link, path).unwrap().firmware_flash(),
        FlashOutcome::Skipped
    );
}
