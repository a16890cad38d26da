//! Verdict checks: judges a run's observations against a plan (corners 2 and 3, and timing).
//!
//! [`evaluate`] is pure: the runner collects [`Observations`] from the board first, then this
//! module turns them into [`CheckResult`]s (expected vs observed, as text) and [`Metric`]s.

use cockpit_hypervisor::failsafe::BootRecord;
use cockpit_hypervisor::fault::FaultRecord;
use cockpit_hypervisor::{FLASH_BASE, PROGRAM_BANK_ADDR};
use cockpit_oracle::client::{ClientError, UploadReport};
use cockpit_oracle::pb::ErrorCode;
use cockpit_vm::VmError;

use crate::plan::{
    ConsoleCheck, FailsafeCheck, FaultRecordCheck, GlobalRef, Measure, Plan, RegisterCheck,
    TimingCheck, VmCheck,
};
use crate::program::ImageInfo;
use crate::records::Records;
use crate::result::{CheckKind, CheckResult, Metric};
use crate::target::{PinEdge, RunReport, TargetError, VmState};
use crate::timing::{self, Stats};

/// Allowed rounding slack when comparing measured durations with a tolerance, in milliseconds.
const TIMING_EPSILON_MS: f64 = 1e-9;
/// Longest transcript excerpt quoted in an observed value, in characters.
const EXCERPT_CHARS: usize = 240;
/// Bytes of context quoted on each side of the first difference found by an `exact` check.
const EXACT_CONTEXT_BYTES: usize = 20;

/// Everything the board reported about one run.
#[derive(Debug)]
pub struct Observations {
    /// How the run ended and what it cost.
    pub report: RunReport,
    /// Console transcript, raw bytes (`exact` compares bytes; the other console checks see it
    /// lossily decoded as UTF-8).
    pub console: Vec<u8>,
    /// Pin output edges, in time order.
    pub edges: Vec<PinEdge>,
    /// One read per [`Plan::registers`] entry, in the same order.
    pub registers: Vec<Result<u32, TargetError>>,
    /// The VM's end state.
    pub vm: VmState,
    /// Everything the board sent on USART1 during the test, raw: what the runner read from the
    /// bootloader port for `[inject]`, then the run's [`crate::target::Target::transcript`].
    pub transcript: Vec<u8>,
    /// The firmware's decoded defmt log ([`crate::target::Target::log`]).
    pub log: Vec<String>,
    /// The firmware's no-init records as the board holds them after the run.
    pub records: Records,
}

/// Checks and metrics of one run.
#[derive(Debug, Default)]
pub struct Evaluation {
    /// Every check, in order: console, transcript, register, fault record, fail-safe record,
    /// VM, timing.
    pub checks: Vec<CheckResult>,
    /// [`run_metrics`], then per timed measurement `<name>` (e.g. `pin13.pulse_high_ms`): its
    /// mean, `<name>_min` and `<name>_max` in ms when there was at least one complete interval,
    /// and always `<name>_count` (0 when there was none).
    pub metrics: Vec<Metric>,
}

/// Judges `obs` against `plan`; `image` gives the symbol table and the setup/loop flag.
pub fn evaluate(plan: &Plan, image: &ImageInfo, obs: &Observations) -> Evaluation {
    let text = String::from_utf8_lossy(&obs.console);
    let mut checks: Vec<CheckResult> = plan
        .console
        .iter()
        .map(|c| console(c, &text, &obs.console))
        .collect();
    let log: String = obs.log.iter().map(|l| format!("{l}\n")).collect();
    for (what, plan_checks, raw) in [
        ("transcript", &plan.transcript, &obs.transcript[..]),
        ("log", &plan.log, log.as_bytes()),
    ] {
        let text = String::from_utf8_lossy(raw);
        checks.extend(plan_checks.iter().map(|c| {
            let mut r = console(c, &text, raw);
            r.name = format!("{what} {}", r.name);
            r
        }));
    }
    checks.extend(
        plan.registers
            .iter()
            .zip(&obs.registers)
            .map(|(c, v)| register(c, v)),
    );
    checks.extend(
        plan.fault_record
            .as_ref()
            .map(|c| fault_record(c, obs.records.fault.as_ref())),
    );
    checks.extend(
        plan.failsafe
            .map(|c| failsafe(c, obs.records.failsafe.as_ref())),
    );
    checks.extend(vm(&plan.vm, image, &obs.vm));
    let mut metrics = run_metrics(&obs.report);
    for t in &plan.timing {
        let intervals = timing::measure(&obs.edges, t.pin, t.measure);
        let stats = Stats::of(&intervals);
        checks.push(timing_check(t, &intervals, stats));
        // Two checks of the same measurement (e.g. with different tolerances) record it once.
        let name = t.metric_name();
        let count_name = format!("{name}_count");
        if !metrics.iter().any(|m| m.name == count_name) {
            if let Some(s) = stats {
                metrics.extend([
                    metric(&name, "ms", s.mean_ms),
                    metric(&format!("{name}_min"), "ms", s.min_ms),
                    metric(&format!("{name}_max"), "ms", s.max_ms),
                ]);
            }
            metrics.push(metric(&count_name, "count", intervals.len() as f64));
        }
    }
    Evaluation { checks, metrics }
}

/// The failure summary of the first failed check, if any: its [`CheckResult`] `Display` line,
/// `register GPIOC.MODER & 0x00003000: expected 0x00001000, observed 0x00000000`.
pub fn first_failure(checks: &[CheckResult]) -> Option<String> {
    checks.iter().find(|c| !c.passed).map(ToString::to_string)
}

fn metric(name: &str, unit: &str, value: f64) -> Metric {
    Metric {
        name: name.to_string(),
        unit: unit.to_string(),
        value,
    }
}

/// The metrics of every run: `instructions` (count), `cycles` (the VM's modelled interpreter
/// cycles), `virtual_ms` (board time) and `wall_ms` (host time).
pub fn run_metrics(r: &RunReport) -> Vec<Metric> {
    vec![
        metric("instructions", "count", r.instructions as f64),
        metric("cycles", "cycles", r.cycles as f64),
        metric("virtual_ms", "ms", r.virtual_time.as_secs_f64() * 1e3),
        metric("wall_ms", "ms", r.wall_time.as_secs_f64() * 1e3),
    ]
}

/// Judges an Oracle bootloader upload (`upload = "oracle"`) as a corner-1 check: the device
/// must accept, activate and read back the image (`expect_error` = `None`), or reject it with
/// that `ErrorReport` code. An accepted upload records `upload_ms` (handshake to verify, ms),
/// `upload_bytes` (image bytes) and `upload_efficiency` (image bytes ÷ the bytes the line could
/// carry in that time at the port's baud rate, 0–1).
pub fn upload_check(
    expect_error: Option<ErrorCode>,
    outcome: &Result<UploadReport, ClientError>,
) -> (CheckResult, Vec<Metric>) {
    let expected = match expect_error {
        None => "the bootloader accepts, activates and reads back the image".to_string(),
        Some(code) => format!(
            "the bootloader rejects the upload with {}",
            code.as_str_name()
        ),
    };
    let (observed, passed, metrics) = match outcome {
        Ok(r) => {
            let mut metrics = vec![
                metric("upload_ms", "ms", r.duration.as_secs_f64() * 1e3),
                metric("upload_bytes", "bytes", r.bytes as f64),
            ];
            metrics.extend(
                r.line_efficiency
                    .map(|e| metric("upload_efficiency", "ratio", e)),
            );
            // The duration is the `upload_ms` metric, not part of the observation: it varies
            // from run to run and board to board, what the device did does not.
            let observed = format!(
                "accepted: {} bytes in {} chunks, {} retries, readback CRC-32 {:08X}",
                r.bytes, r.chunks, r.retries, r.crc32
            );
            (observed, expect_error.is_none(), metrics)
        }
        Err(e) => {
            let code = e.device().and_then(|d| d.code());
            let passed = expect_error.is_some() && code == expect_error;
            (format!("rejected: {e}"), passed, Vec::new())
        }
    };
    let c = check(
        CheckKind::Compile,
        "oracle upload".into(),
        expected,
        observed,
        passed,
    );
    (c, metrics)
}

fn check(
    kind: CheckKind,
    name: String,
    expected: String,
    observed: String,
    passed: bool,
) -> CheckResult {
    CheckResult {
        kind,
        name,
        expected,
        observed,
        passed,
    }
}

/// Quotes `s` (escaped), keeping its last [`EXCERPT_CHARS`] characters.
fn excerpt(s: &str) -> String {
    let n = s.chars().count();
    if n <= EXCERPT_CHARS {
        format!("{s:?}")
    } else {
        let tail: String = s.chars().skip(n - EXCERPT_CHARS).collect();
        format!("…{tail:?}")
    }
}

fn transcript_summary(transcript: &str) -> String {
    if transcript.is_empty() {
        "empty transcript".into()
    } else {
        format!("transcript {}", excerpt(transcript))
    }
}

/// Index of the first byte where `a` and `b` differ (the length of the shorter one if it is a
/// prefix of the other); `None` if they are equal.
fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))
}

/// Quotes the bytes of `text` within [`EXACT_CONTEXT_BYTES`] of offset `at` (widened to whole
/// UTF-8 characters), with `…` where text is cut and `[end]` where it ends.
fn around(text: &[u8], at: usize) -> String {
    let continuation = |i: usize| text.get(i).is_some_and(|b| b & 0xC0 == 0x80);
    let mut start = at.saturating_sub(EXACT_CONTEXT_BYTES).min(text.len());
    while start > 0 && continuation(start) {
        start -= 1;
    }
    let mut end = (at + EXACT_CONTEXT_BYTES).min(text.len());
    while end < text.len() && continuation(end) {
        end += 1;
    }
    format!(
        "{}{:?}{}",
        if start > 0 { "…" } else { "" },
        String::from_utf8_lossy(&text[start..end]),
        if end < text.len() { "…" } else { "[end]" }
    )
}

/// The `exact` check: (observed, passed). On a mismatch the observed text gives the first
/// differing byte offset, its line (from 1) and the text around it on both sides.
fn exact(expected: &str, transcript: &[u8]) -> (String, bool) {
    let want = expected.as_bytes();
    match first_difference(want, transcript) {
        None => (format!("the same {} bytes", transcript.len()), true),
        Some(at) => {
            let line = 1 + transcript[..at].iter().filter(|&&b| b == b'\n').count();
            (
                format!(
                    "differs from byte {at} (line {line}): expected {}, observed {} \
                     ({} bytes expected, {} observed)",
                    around(want, at),
                    around(transcript, at),
                    want.len(),
                    transcript.len()
                ),
                false,
            )
        }
    }
}

fn console(c: &ConsoleCheck, transcript: &str, raw: &[u8]) -> CheckResult {
    let (name, expected, observed, passed) = match c {
        ConsoleCheck::Contains(s) => {
            let ok = transcript.contains(s.as_str());
            (
                format!("contains {s:?}"),
                format!("a transcript containing {s:?}"),
                if ok {
                    "found".into()
                } else {
                    format!("not found in {}", transcript_summary(transcript))
                },
                ok,
            )
        }
        ConsoleCheck::NotContains(s) => {
            let ok = !transcript.contains(s.as_str());
            let line = transcript.lines().find(|l| l.contains(s.as_str()));
            (
                format!("not_contains {s:?}"),
                format!("a transcript without {s:?}"),
                match line {
                    None => "absent".into(),
                    Some(l) => format!("found in line {}", excerpt(l)),
                },
                ok,
            )
        }
        ConsoleCheck::Regex(re) => {
            let m = re.find(transcript);
            (
                format!("regex /{}/", re.as_str()),
                format!("a match of /{}/", re.as_str()),
                match m {
                    Some(m) => format!("matched {}", excerpt(m.as_str())),
                    None => format!("no match in {}", transcript_summary(transcript)),
                },
                m.is_some(),
            )
        }
        ConsoleCheck::Sequence(items) => {
            let lines: Vec<&str> = transcript.lines().collect();
            let mut next_line = 0;
            let mut missing = None;
            for (i, item) in items.iter().enumerate() {
                match lines[next_line..]
                    .iter()
                    .position(|l| l.contains(item.as_str()))
                {
                    Some(p) => next_line += p + 1,
                    None => {
                        missing = Some((i, item));
                        break;
                    }
                }
            }
            (
                format!("sequence {items:?}"),
                format!("lines containing {items:?}, in this order"),
                match missing {
                    None => "all found in order".into(),
                    Some((i, item)) => format!(
                        "item {i} {item:?} not found after line {next_line} of {}; {}",
                        lines.len(),
                        transcript_summary(transcript)
                    ),
                },
                missing.is_none(),
            )
        }
        ConsoleCheck::Exact(s) => {
            let (observed, ok) = exact(s, raw);
            ("exact".into(), format!("{s:?}"), observed, ok)
        }
    };
    check(CheckKind::Console, name, expected, observed, passed)
}

fn register(c: &RegisterCheck, value: &Result<u32, TargetError>) -> CheckResult {
    let mut name = if c.mask == u32::MAX {
        c.label.clone()
    } else {
        format!("{} & {:#010x}", c.label, c.mask)
    };
    if let Some(description) = &c.description {
        name.push_str(&format!(" ({description})"));
    }
    let (observed, passed) = match value {
        Ok(v) => (format!("{:#010x}", v & c.mask), v & c.mask == c.equals),
        Err(e) => (format!("read failed: {e}"), false),
    };
    check(
        CheckKind::Register,
        name,
        format!("{:#010x}", c.equals),
        observed,
        passed,
    )
}

/// `[fault_record]`: one check whose observed value is the whole decoded record.
fn fault_record(c: &FaultRecordCheck, record: Option<&FaultRecord>) -> CheckResult {
    let mut want = vec!["a valid fault record".to_string()];
    want.extend(c.kind.map(|k| format!("kind {}", k.name())));
    if c.pc_in_firmware {
        want.push(format!(
            "pc in the firmware ({FLASH_BASE:#010x}..{PROGRAM_BANK_ADDR:#010x})"
        ));
    }
    let names = |bits: &[(String, u32)]| bits.iter().map(|b| b.0.clone()).collect::<Vec<_>>();
    if !c.cfsr.is_empty() {
        want.push(format!("CFSR {}", names(&c.cfsr).join("|")));
    }
    if !c.hfsr.is_empty() {
        want.push(format!("HFSR {}", names(&c.hfsr).join("|")));
    }
    want.extend(c.count.map(|n| format!("count {n}")));
    let (observed, passed) = match record {
        None => ("no valid fault record".to_string(), false),
        Some(r) => {
            let all = |bits: &[(String, u32)], v: u32| bits.iter().all(|b| v & b.1 == b.1);
            let passed = c.kind.is_none_or(|k| k == r.kind)
                && (!c.pc_in_firmware || (FLASH_BASE..PROGRAM_BANK_ADDR).contains(&r.pc()))
                && all(&c.cfsr, r.cfsr)
                && all(&c.hfsr, r.hfsr)
                && c.count.is_none_or(|n| n == r.count);
            (r.to_string(), passed)
        }
    };
    check(
        CheckKind::Register,
        format!(
            "fault record @{:#010x}",
            cockpit_hypervisor::fault::FAULT_ADDR
        ),
        want.join(", "),
        observed,
        passed,
    )
}

/// A fail-safe record as a report shows it.
pub fn failsafe_text(r: &BootRecord) -> String {
    format!(
        "state {}, reason {}, {} fault reset(s) in a row, boot #{}, RCC_CSR {:#010x}",
        r.state.name(),
        r.reason.name(),
        r.consecutive_faults,
        r.boots,
        r.reset_cause
    )
}

/// `[failsafe]`: state and reason of the fail-safe record.
fn failsafe(c: FailsafeCheck, record: Option<&BootRecord>) -> CheckResult {
    let mut want = Vec::new();
    want.extend(c.state.map(|s| format!("state {}", s.name())));
    want.extend(c.reason.map(|r| format!("reason {}", r.name())));
    let (observed, passed) = match record {
        None => ("no valid fail-safe record".to_string(), false),
        Some(r) => (
            failsafe_text(r),
            c.state.is_none_or(|s| s == r.state) && c.reason.is_none_or(|x| x == r.reason),
        ),
    };
    check(
        CheckKind::Register,
        format!(
            "fail-safe record @{:#010x}",
            cockpit_hypervisor::failsafe::BOOT_ADDR
        ),
        want.join(", "),
        observed,
        passed,
    )
}

fn vm(c: &VmCheck, image: &ImageInfo, state: &VmState) -> Vec<CheckResult> {
    let mut out = Vec::with_capacity(1 + c.globals.len() + usize::from(c.stack.is_some()));
    let observed_error = state.fault.map_or(VmError::None, |f| f.error);
    let (expected, passed) = match c.error {
        Some(e) => (e.name().to_string(), observed_error == e),
        None if image.arduino_loop => (
            "NONE or BUDGET_EXCEEDED (setup/loop image)".to_string(),
            matches!(observed_error, VmError::None | VmError::BudgetExceeded),
        ),
        None => ("NONE".to_string(), observed_error == VmError::None),
    };
    let observed = match state.fault {
        Some(f) => f.to_string(),
        None => "NONE".to_string(),
    };
    out.push(check(
        CheckKind::Vm,
        "error".into(),
        expected,
        observed,
        passed,
    ));
    if let Some(stack) = &c.stack {
        out.push(check(
            CheckKind::Vm,
            "stack".into(),
            format!("{stack:?}"),
            format!("{:?}", state.stack),
            *stack == state.stack,
        ));
    }
    for (global, want) in &c.globals {
        let slot = match global {
            GlobalRef::Index(i) => Ok(*i),
            GlobalRef::Name(n) => image
                .globals
                .iter()
                .find(|(_, name)| name == n)
                .map(|(i, _)| *i)
                .ok_or_else(|| {
                    let known: Vec<&str> = image.globals.iter().map(|(_, n)| n.as_str()).collect();
                    format!(
                        "no global named {n:?} in the image's symbol table (known: {})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    )
                }),
        };
        let (observed, passed) = match slot {
            Ok(i) => match state.globals.get(i) {
                Some(v) => (v.to_string(), v == want),
                None => (format!("slot {i} not reported by the board"), false),
            },
            Err(msg) => (msg, false),
        };
        out.push(check(
            CheckKind::Vm,
            format!("global {global}"),
            want.to_string(),
            observed,
            passed,
        ));
    }
    out
}

fn timing_check(t: &TimingCheck, intervals: &[f64], stats: Option<Stats>) -> CheckResult {
    let what = match t.measure {
        Measure::PulseWidth { high: true } => "high pulses",
        Measure::PulseWidth { high: false } => "low pulses",
        Measure::Period => "periods",
    };
    let mut expected = format!("{what} of {:.3} ± {:.3} ms", t.expect_ms, t.tolerance_ms);
    if let Some(n) = t.count {
        expected = format!("{n} {expected}");
    }
    let Some(s) = stats else {
        return check(
            CheckKind::Timing,
            t.metric_name(),
            expected,
            format!("no complete {what} on pin {}", t.pin),
            false,
        );
    };
    let outside = intervals
        .iter()
        .filter(|&&d| (d - t.expect_ms).abs() > t.tolerance_ms + TIMING_EPSILON_MS)
        .count();
    let count_ok = t.count.is_none_or(|n| n as usize == s.count);
    let mut observed = format!(
        "{} {what}: mean {:.3}, min {:.3}, max {:.3} ms",
        s.count, s.mean_ms, s.min_ms, s.max_ms
    );
    if outside > 0 {
        observed.push_str(&format!(" ({outside} outside tolerance)"));
    }
    check(
        CheckKind::Timing,
        t.metric_name(),
        expected,
        observed,
        outside == 0 && count_ok,
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use cockpit_vm::Fault;

    use super::*;
    use crate::target::RunEnd;

    fn plan(extra: &str) -> Plan {
        Plan::parse(
            &format!("name = \"t\"\nprogram = \"p.c\"\n{extra}"),
            Path::new("t.toml"),
        )
        .unwrap()
    }

    fn obs(console: &str) -> Observations {
        Observations {
            transcript: console.as_bytes().to_vec(),
            log: Vec::new(),
            records: Records::default(),
            report: RunReport {
                end: RunEnd::Halted,
                instructions: 1000,
                cycles: 5000,
                virtual_time: Duration::from_millis(20),
                wall_time: Duration::from_millis(3),
            },
            console: console.as_bytes().to_vec(),
            edges: Vec::new(),
            registers: Vec::new(),
            vm: VmState::default(),
        }
    }

    fn image() -> ImageInfo {
        ImageInfo {
            arduino_loop: false,
            globals: vec![(0, "counter".into()), (1, "state".into())],
        }
    }

    fn results(extra: &str, o: &Observations) -> Vec<CheckResult> {
        evaluate(&plan(extra), &image(), o).checks
    }

    fn passed(extra: &str, o: &Observations) -> Vec<bool> {
        results(extra, o).iter().map(|c| c.passed).collect()
    }

    #[test]
    fn console_kinds() {
        let o = obs("boot\nLED on\nLED off\ncount=3\n");
        let checks = r#"
[[console]]
contains = "LED on"
[[console]]
contains = "LED blue"
[[console]]
not_contains = "panic"
[[console]]
not_contains = "boot"
[[console]]
regex = "^count=\\d+$"
[[console]]
regex = "^LED$"
[[console]]
sequence = ["boot", "LED", "LED", "count"]
[[console]]
sequence = ["LED", "LED", "LED"]
[[console]]
sequence = ["LED on", "boot"]
[[console]]
exact = "boot\nLED on\nLED off\ncount=3\n"
[[console]]
exact = "boot"
"#;
        assert_eq!(
            passed(checks, &o),
            [
                true, false, true, false, true, false, true, false, false, true, false, true
            ]
        );
    }

    #[test]
    fn sequence_items_need_distinct_lines() {
        // "ab" on one line satisfies only one item.
        let r = results("[[console]]\nsequence = [\"a\", \"b\"]\n", &obs("ab\n"));
        assert!(!r[0].passed);
        assert!(r[0].observed.contains("item 1 \"b\""), "{}", r[0].observed);
    }

    #[test]
    fn register_check_reports_masked_value() {
        let mut o = obs("");
        o.registers = vec![
            Ok(0x0000_2abc),
            Ok(0x0000_1abc),
            Err(TargetError::Unmapped { addr: 4 }),
        ];
        let r = results(
            "[[register]]\naddress = 0x48000800\nmask = 0x3000\nequals = 0x1000\n\
             [[register]]\naddress = 0x48000800\nmask = 0x3000\nequals = 0x1000\n\
             [[register]]\naddress = 4\nequals = 0\n",
            &o,
        );
        assert_eq!(r[0].name, "0x48000800 (GPIOC.MODER) & 0x00003000");
        assert!(!r[0].passed);
        assert_eq!(r[0].observed, "0x00002000");
        assert!(r[1].passed);
        assert!(!r[2].passed && r[2].observed.contains("not mapped"));
        assert_eq!(
            first_failure(&r).unwrap(),
            "register 0x48000800 (GPIOC.MODER) & 0x00003000: expected 0x00001000, \
             observed 0x00002000"
        );
    }

    #[test]
    fn default_vm_check_catches_faults() {
        let mut o = obs("");
        o.vm.fault = Some(Fault {
            error: VmError::DivisionByZero,
            pc: 7,
            opcode: 0,
        });
        let r = results("", &o);
        assert_eq!(r.len(), 1);
        assert!(!r[0].passed);
        assert!(
            r[0].observed.contains("DIVISION_BY_ZERO"),
            "{}",
            r[0].observed
        );
        assert_eq!(passed("[vm]\nerror = \"DIVISION_BY_ZERO\"\n", &o), [true]);
    }

    #[test]
    fn setup_loop_images_accept_budget_end_by_default() {
        let mut o = obs("");
        o.vm.fault = Some(Fault {
            error: VmError::BudgetExceeded,
            pc: 0,
            opcode: 0,
        });
        let p = plan("");
        let mut img = image();
        assert!(!evaluate(&p, &img, &o).checks[0].passed);
        img.arduino_loop = true;
        assert!(evaluate(&p, &img, &o).checks[0].passed);
        o.vm.fault = None;
        assert!(evaluate(&p, &img, &o).checks[0].passed);
        // An explicit expectation is exact.
        assert!(
            !evaluate(&plan("[vm]\nerror = \"NONE\"\n"), &img, &{
                let mut o = obs("");
                o.vm.fault = Some(Fault {
                    error: VmError::BudgetExceeded,
                    pc: 0,
                    opcode: 0,
                });
                o
            })
            .checks[0]
                .passed
        );
    }

    #[test]
    fn stack_and_globals() {
        let mut o = obs("");
        o.vm.stack = vec![1, 2];
        o.vm.globals = vec![10, 20, 30];
        let r = results(
            "[vm]\nstack = [1, 2]\nglobals = { counter = 10, state = 21, \"2\" = 30, nope = 1 }\n",
            &o,
        );
        let by_name = |n: &str| r.iter().find(|c| c.name == n).unwrap();
        assert!(by_name("error").passed);
        assert!(by_name("stack").passed);
        assert!(by_name("global counter").passed);
        assert!(!by_name("global state").passed);
        assert!(by_name("global global[2]").passed);
        let nope = by_name("global nope");
        assert!(
            !nope.passed && nope.observed.contains("known: counter, state"),
            "{}",
            nope.observed
        );
    }

    #[test]
    fn timing_checks_and_metrics() {
        let mut o = obs("");
        let ms = 1_000_000;
        for i in 0..4u64 {
            let t = i * 1000 * ms;
            o.edges.push(PinEdge {
                pin: 13,
                high: true,
                at_ns: t,
            });
            o.edges.push(PinEdge {
                pin: 13,
                high: false,
                at_ns: t + 500 * ms + i * 100_000,
            });
        }
        let spec = |count: &str, tol: f64| {
            format!(
                "[[timing]]\npin = 13\nmeasure = \"pulse_width\"\nexpect_ms = 500.0\ntolerance_ms = {tol}\n{count}"
            )
        };
        assert_eq!(passed(&spec("count = 4\n", 1.0), &o), [true, true]);
        assert_eq!(passed(&spec("count = 5\n", 1.0), &o), [true, false]);
        let r = results(&spec("", 0.15), &o);
        assert!(
            !r[1].passed && r[1].observed.contains("2 outside"),
            "{}",
            r[1].observed
        );
        let e = evaluate(&plan(&spec("", 1.0)), &image(), &o);
        let m = |n: &str| e.metrics.iter().find(|m| m.name == n).unwrap().value;
        assert!((m("pin13.pulse_high_ms") - 500.15).abs() < 1e-9);
        assert_eq!(m("pin13.pulse_high_ms_min"), 500.0);
        assert!((m("pin13.pulse_high_ms_max") - 500.3).abs() < 1e-9);
        assert_eq!(m("instructions"), 1000.0);
        assert_eq!(m("virtual_ms"), 20.0);
        let r = results(
            "[[timing]]\npin = 2\nmeasure = \"period\"\nexpect_ms = 1.0\ntolerance_ms = 1.0\n",
            &o,
        );
        assert!(!r[1].passed && r[1].observed.contains("no complete periods"));
    }

    #[test]
    fn log_checks_see_the_decoded_defmt_lines() {
        let mut o = obs("guest output\n");
        o.log = vec![
            "0.011 INFO guest: start".into(),
            "0.025 INFO guest: halted after 90 instructions".into(),
        ];
        let extra = "[[log]]\ncontains = \"INFO guest: halted after 90\"\n\
                     [[log]]\nregex = \"^0\\\\.\\\\d+ INFO guest: start$\"\n\
                     [[log]]\nnot_contains = \"ERROR\"\n\
                     [[log]]\ncontains = \"guest output\"\n";
        let r = results(extra, &o);
        let log: Vec<_> = r.iter().filter(|c| c.name.starts_with("log ")).collect();
        assert_eq!(log.len(), 4, "{r:?}");
        assert_eq!(
            log.iter().map(|c| c.passed).collect::<Vec<_>>(),
            [true, true, true, false],
            "{log:?}"
        );
        o.log.clear();
        let r = results(extra, &o);
        let first = r.iter().find(|c| c.name.starts_with("log ")).unwrap();
        assert!(!first.passed, "no log (sim): {first:?}");
    }

    #[test]
    fn firmware_record_and_transcript_checks() {
        use cockpit_hypervisor::failsafe::{Reason, State};
        use cockpit_hypervisor::fault::FaultKind;
        let extra = "[[transcript]]\ncontains = \"state=DEGRADED\"\n\
                     [fault_record]\nkind = \"HARDFAULT\"\npc = \"firmware\"\n\
                     cfsr = [\"UNDEFINSTR\"]\nhfsr = [\"FORCED\"]\ncount = 1\n\
                     [failsafe]\nstate = \"DEGRADED\"\nreason = \"fault\"\n";
        let record = FaultRecord {
            kind: FaultKind::HardFault,
            acked: true,
            regs: [0, 0, 0, 0, 0, 0x0800_0101, 0x0800_2a4e, 0x0100_0000],
            cfsr: 1 << 16,
            hfsr: 1 << 30,
            mmfar: 0,
            bfar: 0,
            count: 1,
        };
        let boot = BootRecord {
            state: State::Degraded,
            reason: Reason::Fault,
            consecutive_faults: 1,
            boots: 2,
            reset_cause: 1 << 28,
            last_vm_error: 0,
        };
        let mut o = obs("guest only\n");
        o.transcript = b"cockpit-fw state=DEGRADED reason=fault\r\nguest only\n".to_vec();
        o.records = Records {
            fault: Some(record),
            failsafe: Some(boot),
        };
        let by_name = |r: &[CheckResult], prefix: &str| {
            r.iter()
                .find(|c| c.name.starts_with(prefix))
                .unwrap()
                .clone()
        };
        let r = results(extra, &o);
        assert!(by_name(&r, "transcript contains").passed);
        let f = by_name(&r, "fault record @0x20000040");
        assert!(f.passed, "{f}");
        assert!(f.observed.contains("pc=0x08002a4e") && f.observed.contains("(UNDEFINSTR)"));
        assert!(by_name(&r, "fail-safe record @0x20000080").passed);
        // Each key can fail: PC in the program bank, a missing CFSR bit, another count/state.
        for bad in [
            FaultRecord {
                regs: [0, 0, 0, 0, 0, 0, 0x0801_0000, 0],
                ..record
            },
            FaultRecord {
                cfsr: 1 << 9,
                ..record
            },
            FaultRecord { hfsr: 0, ..record },
            FaultRecord { count: 2, ..record },
            FaultRecord {
                kind: FaultKind::Panic,
                ..record
            },
        ] {
            o.records.fault = Some(bad);
            let r = results(extra, &o);
            assert!(!by_name(&r, "fault record").passed, "{bad:?}");
        }
        o.records = Records {
            fault: None,
            failsafe: Some(BootRecord {
                state: State::SafeStop,
                ..boot
            }),
        };
        let r = results(extra, &o);
        assert_eq!(
            by_name(&r, "fault record").observed,
            "no valid fault record"
        );
        let f = by_name(&r, "fail-safe record");
        assert!(!f.passed && f.observed.starts_with("state SAFESTOP"), "{f}");
        o.transcript = b"state=NORMAL".to_vec();
        let r = results(extra, &o);
        assert!(
            !by_name(&r, "transcript").passed,
            "transcript, not the console"
        );
    }

    #[test]
    fn exact_is_byte_exact() {
        let exact = |want: &str, got: &str| {
            results(&format!("[[console]]\nexact = {want:?}\n"), &obs(got))[0].passed
        };
        assert!(exact("a\nb\n", "a\nb\n"));
        assert!(!exact("a\nb", "a\nb\n"), "a trailing newline counts");
        assert!(!exact("a\nb\n", "a\nb"));
        assert!(!exact("a \nb", "a\nb"), "trailing spaces count");
        assert!(exact("", ""));
        assert!(!exact("", "x"));
        // Not UTF-8: compared as bytes, never equal to the decoded replacement character.
        let mut o = obs("");
        o.console = vec![b'a', 0xFF];
        assert!(!results("[[console]]\nexact = \"a\\uFFFD\"\n", &o)[0].passed);
    }

    #[test]
    fn exact_mismatch_names_offset_line_and_both_sides() {
        let want = format!("line one\nline two\n{}tail\n", "x".repeat(40));
        let got = format!("line one\nline TWO\n{}tail\n", "x".repeat(40));
        let r = &results(&format!("[[console]]\nexact = {want:?}\n"), &obs(&got))[0];
        assert!(!r.passed);
        // The full expected text, never cut.
        assert_eq!(r.expected, format!("{want:?}"));
        assert_eq!(
            r.observed,
            "differs from byte 14 (line 2): expected \"line one\\nline two\\nxxxxxxxxxxxxxxxx\"…, \
             observed \"line one\\nline TWO\\nxxxxxxxxxxxxxxxx\"… (63 bytes expected, 63 observed)"
        );
        // One side is a prefix of the other: the shorter one ends at the difference.
        let r = &results(
            "[[console]]\nexact = \"no newline at the end\"\n",
            &obs("no newline at the end\n"),
        )[0];
        assert!(
            r.observed.starts_with(
                "differs from byte 21 (line 1): expected …\"o newline at the end\"[end], \
                 observed …\"o newline at the end\\n\"[end]"
            ),
            "{}",
            r.observed
        );
        // Excerpts widen to whole UTF-8 characters: byte 10 is inside the fourth "€".
        let r = &results(
            &format!("[[console]]\nexact = \"{}!\"\n", "€".repeat(10)),
            &obs(&format!("{}?", "€".repeat(10))),
        )[0];
        assert!(
            r.observed
                .starts_with("differs from byte 30 (line 1): expected …\"€€€€€€€!\"[end]"),
            "{}",
            r.observed
        );
    }

    #[test]
    fn timing_count_metric_is_recorded_even_without_intervals() {
        let spec =
            "[[timing]]\npin = 13\nmeasure = \"period\"\nexpect_ms = 10.0\ntolerance_ms = 1.0\n";
        let names = |o: &Observations| -> Vec<(String, f64)> {
            evaluate(&plan(spec), &image(), o)
                .metrics
                .into_iter()
                .filter(|m| m.name.starts_with("pin13"))
                .map(|m| (m.name, m.value))
                .collect()
        };
        assert_eq!(
            names(&obs("")),
            [("pin13.period_ms_count".to_string(), 0.0)]
        );
        let mut o = obs("");
        o.edges = [0u64, 10, 20]
            .iter()
            .map(|&ms| PinEdge {
                pin: 13,
                high: true,
                at_ns: ms * 1_000_000,
            })
            .flat_map(|e| {
                [
                    e,
                    PinEdge {
                        high: false,
                        at_ns: e.at_ns + 1_000_000,
                        ..e
                    },
                ]
            })
            .collect();
        assert_eq!(
            names(&o),
            [
                ("pin13.period_ms".to_string(), 10.0),
                ("pin13.period_ms_min".to_string(), 10.0),
                ("pin13.period_ms_max".to_string(), 10.0),
                ("pin13.period_ms_count".to_string(), 2.0),
            ]
        );
    }
}
