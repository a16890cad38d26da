//! The runner: runs each plan ([`Job`], from [`crate::discover`]) on its own board, and judges it.
//!
//! Per plan: build the program (corner 1) with no board — a plan that corner 1 alone judges
//! (`expect_compile_error`, a compile error, an invalid image) never opens one — then open the
//! board, load the program (or, with `upload = "oracle"`, upload it
//! through the board's bootloader and reboot), send the plan's `[inject]` command to the
//! firmware's bootloader and reboot, drive the plan's inputs, run it under the plan's budget,
//! collect the observations (the firmware's fault and fail-safe records included), evaluate
//! the checks ([`crate::checks`]). A result that does not pass shows the board's decoded fault
//! record, if it holds one ([`TestResult::fault_record`]). A run
//! stopped by the wall-clock timeout cannot be judged: its verdict is `error`. Plans run concurrently on worker
//! threads, each on a fresh board from the caller's factory; results come back to the calling
//! thread one by one as they finish, so the caller can store each at once. Bad input never
//! panics and never stops the other plans: an invalid plan or a missing program becomes a
//! result with verdict `error`, and even a panic inside one test is caught and reported the
//! same way.
//!
//! Infrastructure failures are kept apart from test failures: a board that cannot be made or
//! fails underneath the test (any [`TargetError::Board`]: probe missing, attach or flash failed,
//! a per-operation timeout; or the bootloader's serial port failing) gives `infra_error`, and
//! [`run_job`] then runs the test once more on a fresh board, recording the first failure in
//! [`TestResult::retried_after`]. A failed check (`fail`) or any other `error` is never retried.

use std::io::{Read, Write};
use std::ops::DerefMut;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cockpit_oracle::client::{Client, ClientError, Timeouts};
use cockpit_oracle::limits;

use crate::checks::{self, Observations};
use crate::discover::Job;
use crate::plan::{Inject, OracleUpload, Plan, Upload};
use crate::program::{self, BuildError, Image, ImageInfo};
use crate::records;
use crate::result::{CheckKind, CheckResult, Metric, TestResult, Verdict};
use crate::target::{RunEnd, Target, TargetError, TargetInfo};

/// Runs `jobs` on up to `threads` worker threads (at least 1), each test through [`run_job`]
/// on new boards made by `make_board(i)` (`i` = job index). Calls `on_result` on the calling
/// thread for each result as soon as it is ready, in completion order. `board` is the identity
/// used for tests that never reach a board.
pub fn run_all<B>(
    jobs: Vec<Job>,
    threads: usize,
    board: &TargetInfo,
    make_board: &B,
    mut on_result: impl FnMut(TestResult),
) where
    B: Fn(usize) -> Result<Box<dyn Target>, TargetError> + Sync,
{
    let queue = Mutex::new(jobs.into_iter().enumerate());
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            let tx = tx.clone();
            let queue = &queue;
            s.spawn(move || {
                loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                    let Some((i, job)) = next else { break };
                    let result = run_job(&job, board, || make_board(i));
                    if tx.send(result).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for result in rx {
            on_result(result);
        }
    });
}

/// Runs one job on a board from `make_board` (`board` is the identity recorded if the board
/// cannot be made). An `infra_error` is retried once on a second board from `make_board`: the
/// result is the second attempt's, with the first attempt's failure in
/// [`TestResult::retried_after`] and the duration of both. A panic anywhere inside becomes an
/// `error` result.
pub fn run_job(
    job: &Job,
    board: &TargetInfo,
    make_board: impl Fn() -> Result<Box<dyn Target>, TargetError>,
) -> TestResult {
    let first = attempt(job, board, &make_board);
    if first.verdict != Verdict::InfraError {
        return first;
    }
    let mut second = attempt(job, board, &make_board);
    second.duration += first.duration;
    second.retried_after = first.failure;
    second
}

/// One attempt of [`run_job`].
fn attempt(
    job: &Job,
    board: &TargetInfo,
    make_board: &impl Fn() -> Result<Box<dyn Target>, TargetError>,
) -> TestResult {
    let start = Instant::now();
    match job {
        Job::Invalid {
            name,
            path,
            message,
        } => unjudged_result(
            name,
            path,
            board.clone(),
            Unjudged::Error(message.clone()),
            start,
        ),
        Job::Plan(plan) => catch_unwind(AssertUnwindSafe(|| run_plan(plan, board, make_board)))
            .unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                unjudged_result(
                    &plan.name,
                    &plan.path,
                    board.clone(),
                    Unjudged::Error(format!("internal error (panic): {what}")),
                    start,
                )
            }),
    }
}

fn unjudged_result(
    name: &str,
    path: &Path,
    board: TargetInfo,
    why: Unjudged,
    start: Instant,
) -> TestResult {
    let (verdict, failure) = why.verdict_and_message();
    TestResult {
        test_name: name.to_string(),
        plan_path: path.to_path_buf(),
        board,
        verdict,
        failure,
        retried_after: None,
        checks: Vec::new(),
        metrics: Vec::new(),
        console: String::new(),
        log: Vec::new(),
        fault_record: None,
        duration: start.elapsed(),
    }
}

/// Runs one valid plan and judges it. Never fails: every problem is in the result.
///
/// The program is built first, with no board (corner 1); `make_board` is called only when
/// something must run, so a plan judged by corner 1 alone (`expect_compile_error`, a program
/// that does not compile or is not a valid image) never opens (nor waits for) a board.
/// `board`: the identity recorded when no board is made (or it cannot be made); a board made
/// records its own [`Target::info`]. A board that cannot be made gives `infra_error` for a
/// [`TargetError::Board`], `error` otherwise.
pub fn run_plan<T: DerefMut<Target = dyn Target>>(
    plan: &Plan,
    board: &TargetInfo,
    make_board: impl FnOnce() -> Result<T, TargetError>,
) -> TestResult {
    let start = Instant::now();
    let mut result = TestResult {
        test_name: plan.name.clone(),
        plan_path: plan.path.clone(),
        board: board.clone(),
        verdict: Verdict::Pass,
        failure: None,
        retried_after: None,
        checks: Vec::new(),
        metrics: Vec::new(),
        console: String::new(),
        log: Vec::new(),
        fault_record: None,
        duration: Default::default(),
    };
    let outcome = build_program(plan, &mut result).and_then(|image| match image {
        None => Ok(()),
        Some(image) => {
            let mut target =
                make_board().map_err(|e| Unjudged::from_target("opening the board failed", e))?;
            result.board = target.info();
            judge(plan, &image, &mut *target, &mut result)
        }
    });
    result.verdict = match outcome {
        Err(unjudged) => {
            let (verdict, message) = unjudged.verdict_and_message();
            result.failure = message;
            verdict
        }
        Ok(()) => match checks::first_failure(&result.checks) {
            Some(first) => {
                result.failure = Some(first);
                Verdict::Fail
            }
            None => Verdict::Pass,
        },
    };
    if result.verdict == Verdict::Pass && plan.fault_record.is_none() {
        result.fault_record = None;
    }
    result.duration = start.elapsed();
    result
}

/// Why a test cannot be judged.
#[derive(Debug)]
enum Unjudged {
    /// Verdict `error`: the plan, its program or the board kind is at fault.
    Error(String),
    /// Verdict `infra_error`: the board or its connection failed underneath the test.
    Infra(String),
}

impl Unjudged {
    /// `context: e`, an infrastructure failure when `e` is [`TargetError::Board`].
    fn from_target(context: &str, e: TargetError) -> Unjudged {
        match e {
            TargetError::Board(_) => Unjudged::Infra(format!("{context}: {e}")),
            _ => Unjudged::Error(format!("{context}: {e}")),
        }
    }

    fn verdict_and_message(self) -> (Verdict, Option<String>) {
        match self {
            Unjudged::Error(m) => (Verdict::Error, Some(m)),
            Unjudged::Infra(m) => (Verdict::InfraError, Some(m)),
        }
    }
}

impl From<String> for Unjudged {
    fn from(message: String) -> Unjudged {
        Unjudged::Error(message)
    }
}

/// A corner-1 check on `plan`'s program.
fn compile_check(plan: &Plan, expected: String, observed: String, passed: bool) -> CheckResult {
    CheckResult {
        kind: CheckKind::Compile,
        name: plan.program.display().to_string(),
        expected,
        observed,
        passed,
    }
}

/// Corner 1: builds `plan`'s program and records its check in `result`. `Ok(Some(image))`:
/// the image to run; `Ok(None)`: corner 1 alone judges the test (an expected or unexpected
/// compile error, an invalid image); `Err`: the program cannot be read.
fn build_program(plan: &Plan, result: &mut TestResult) -> Result<Option<Image>, Unjudged> {
    let compile_check =
        |expected, observed, passed| compile_check(plan, expected, observed, passed);
    let image = match (program::build(&plan.program), &plan.expect_compile_error) {
        (Err(e @ BuildError::Read { .. }), _) => return Err(e.to_string().into()),
        (Err(BuildError::Compile { diagnostics }), Some(re)) => {
            let matched = re.is_match(&diagnostics);
            result.checks.push(compile_check(
                format!("a compile error matching /{}/", re.as_str()),
                diagnostics,
                matched,
            ));
            return Ok(None);
        }
        (Ok(_), Some(re)) => {
            result.checks.push(compile_check(
                format!("a compile error matching /{}/", re.as_str()),
                "compiled without errors".into(),
                false,
            ));
            return Ok(None);
        }
        (Err(BuildError::Image { message, .. }), _) => {
            result.checks.push(compile_check(
                "a valid image".into(),
                format!("invalid image: {message}"),
                false,
            ));
            return Ok(None);
        }
        (Err(BuildError::Compile { diagnostics }), None) => {
            result
                .checks
                .push(compile_check("a valid image".into(), diagnostics, false));
            return Ok(None);
        }
        (Ok(image), None) => image,
    };
    result.checks.push(compile_check(
        "a valid image".into(),
        format!("{} bytes", image.bytes.len()),
        true,
    ));
    Ok(Some(image))
}

/// Runs `image` of `plan` on `target` and fills `result` with the checks, metrics and console;
/// `Err` = the test cannot be judged.
fn judge(
    plan: &Plan,
    image: &Image,
    target: &mut dyn Target,
    result: &mut TestResult,
) -> Result<(), Unjudged> {
    // What boots: the plan's program, or the preloaded one after an expected rejection.
    let mut booted = image.info.clone();
    match &plan.upload {
        Upload::Direct => match target.load(&image.bytes) {
            Ok(()) => {}
            Err(e @ TargetError::Image(_)) => {
                result.checks.push(compile_check(
                    plan,
                    "the board accepts the image".into(),
                    e.to_string(),
                    false,
                ));
                return Ok(());
            }
            Err(e) => return Err(Unjudged::from_target("loading the image failed", e)),
        },
        Upload::Oracle(oracle) => {
            let mut bytes = image.bytes.clone();
            if let Some(c) = plan.corrupt {
                c.apply(&mut bytes);
            }
            let (check, metrics, previous) = oracle_upload(oracle, &bytes, target)?;
            if oracle.expect_error.is_some() {
                booted = previous.unwrap_or_default();
            }
            let accepted = check.passed;
            result.checks.push(check);
            result.metrics.extend(metrics);
            if !accepted {
                return Ok(());
            }
        }
    }
    let session = match &plan.inject {
        Some(inject) => send_inject(inject, target)?,
        None => Vec::new(),
    };
    for input in &plan.inputs {
        target
            .drive_input(input.pin, input.high, input.at)
            .map_err(|e| {
                let at_ms = input.at.as_secs_f64() * 1e3;
                let what = format!("driving input pin {} at {at_ms} ms failed", input.pin);
                Unjudged::from_target(&what, e)
            })?;
    }
    let report = target
        .run(&plan.budget)
        .map_err(|e| Unjudged::from_target("running the program failed", e))?;
    if report.end == RunEnd::WallTimeout {
        // Keep what the run produced, for the record; the checks are not judged.
        result.console = String::from_utf8_lossy(target.console()).into_owned();
        result.metrics.extend(checks::run_metrics(&report));
        result.metrics.extend(target.board_metrics());
        result.log = target.log().to_vec();
        return Err(Unjudged::Error(format!(
            "wall-clock timeout: the run was stopped after {:?}, over the {:?} of \
             budget.timeout_s ({} instructions, {:.3} virtual ms)",
            report.wall_time,
            plan.budget.wall_timeout,
            report.instructions,
            report.virtual_time.as_secs_f64() * 1e3
        )));
    }
    let console = target.console().to_vec();
    let edges = target.pin_edges().to_vec();
    let mut registers = plan
        .registers
        .iter()
        .map(|r| r.source.read(target))
        .collect::<Vec<_>>();
    // A board failure is infrastructure; a register the board cannot read at all (a core
    // register on a board without a CPU) is a plan/board mismatch, never a failed check.
    if let Some(i) = registers
        .iter()
        .position(|r| matches!(r, Err(TargetError::Board(_) | TargetError::Unsupported(_))))
        && let Err(e) = registers.swap_remove(i)
    {
        return Err(Unjudged::from_target("reading a register failed", e));
    }
    let vm = target
        .vm_state()
        .map_err(|e| Unjudged::from_target("reading the VM state failed", e))?;
    let records = records::read_records(target)
        .map_err(|e| Unjudged::from_target("reading the firmware's records failed", e))?;
    result.fault_record = records.fault.map(|r| r.to_string());
    let obs = Observations {
        report,
        console,
        edges,
        registers,
        vm,
        transcript: [session.as_slice(), target.transcript()].concat(),
        log: target.log().to_vec(),
        records,
    };
    let eval = checks::evaluate(plan, &booted, &obs);
    result.checks.extend(eval.checks);
    result.metrics.extend(eval.metrics);
    result.metrics.extend(target.board_metrics());
    result.console = String::from_utf8_lossy(&obs.console).into_owned();
    result.log = obs.log;
    Ok(())
}

/// `[inject]`: resets the board into its bootloader, sends the command line on its serial port
/// (again every [`Inject::RESEND`] until the board answers), reads until the board has printed
/// `until` (or `timeout`, or the port closes), and reboots the board. Returns what the board
/// sent. `Err`: the board has no bootloader or `until` never came (`error`); the board or the
/// port failed (`infra_error`).
fn send_inject(inject: &Inject, target: &mut dyn Target) -> Result<Vec<u8>, Unjudged> {
    let port = target
        .bootloader_port()
        .map_err(|e| Unjudged::from_target("[inject]: entering the bootloader failed", e))?;
    let sent = exchange(&port, inject);
    target
        .reboot()
        .map_err(|e| Unjudged::from_target("[inject]: rebooting failed", e))?;
    let seen =
        sent.map_err(|e| Unjudged::Infra(format!("[inject]: bootloader port {port}: {e}")))?;
    if !contains(&seen, inject.until.as_bytes()) {
        return Err(Unjudged::Error(format!(
            "[inject]: the board did not print {:?} within {:?} of {:?}; it sent {:?}",
            inject.until,
            inject.timeout,
            inject.command,
            String::from_utf8_lossy(&seen)
        )));
    }
    Ok(seen)
}

/// Whether `hay` contains `needle`.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// How long the line must stay quiet after `until` before [`send_inject`] stops reading.
const QUIET: Duration = Duration::from_millis(100);

/// The serial side of [`send_inject`]: what the board sent until `until` and [`QUIET`]
/// after it (or the timeout, or the port closing because the board reset).
fn exchange(port: &str, inject: &Inject) -> std::io::Result<Vec<u8>> {
    let mut p = serialport::new(port, limits::DEFAULT_BAUD)
        .timeout(Duration::from_millis(20))
        .open()
        .map_err(std::io::Error::from)?;
    let line = format!("{}\n", inject.command);
    let start = Instant::now();
    let mut next_send = start;
    let mut seen = Vec::new();
    let mut buf = [0u8; 512];
    // After `until`, the rest of what the board sends until the line is quiet.
    let mut quiet_since: Option<Instant> = None;
    while start.elapsed() < inject.timeout && quiet_since.is_none_or(|q| q.elapsed() < QUIET) {
        let answered = contains(&seen, inject.until.as_bytes());
        if !answered && Instant::now() >= next_send {
            p.write_all(line.as_bytes())?;
            next_send += Inject::RESEND;
        }
        match p.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                seen.extend_from_slice(&buf[..n]);
                quiet_since = None;
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            // The line went away: the board reset (its bootloader session ended).
            Err(_) => break,
        }
        if quiet_since.is_none() && contains(&seen, inject.until.as_bytes()) {
            quiet_since = Some(Instant::now());
        }
    }
    Ok(seen)
}

/// The client's per-frame timeouts for a line at `baud` bit/s: the defaults (1 s response,
/// 5 s prepare and verify, 3 retries) plus the time a largest request and its response occupy
/// the line (2 × 1034 bytes × 10 bit-times), so slow lines do not time out mid-frame.
pub fn client_timeouts(baud: u32) -> Timeouts {
    let line = Duration::from_secs_f64(2.0 * 1034.0 * 10.0 / f64::from(baud.max(1)));
    let d = Timeouts::default();
    Timeouts {
        response: d.response + line,
        prepare: d.prepare + line,
        verify: d.verify + line,
        retries: d.retries,
    }
}

/// Delivers `image` through the board's Oracle bootloader (`upload = "oracle"`): loads the
/// `preload` program directly first, enters the bootloader, uploads with the `cockpit_oracle`
/// client at 115200 baud (chunks, retries, readback) and reboots, so the next run boots what
/// the bootloader left active. Returns the judged upload ([`checks::upload_check`]) and the
/// facts of the preloaded image, if any. `Err` = the test cannot be judged: the preload does
/// not build or load, the board has no bootloader (`error`); the board fails, the serial port
/// cannot be opened or used (`infra_error`).
fn oracle_upload(
    oracle: &OracleUpload,
    image: &[u8],
    target: &mut dyn Target,
) -> Result<(CheckResult, Vec<Metric>, Option<ImageInfo>), Unjudged> {
    let previous = match &oracle.preload {
        None => None,
        Some(path) => {
            let pre = program::build(path).map_err(|e| format!("preload: {e}"))?;
            target.load(&pre.bytes).map_err(|e| {
                Unjudged::from_target(&format!("loading the preload {} failed", path.display()), e)
            })?;
            Some(pre.info)
        }
    };
    let port = target
        .bootloader_port()
        .map_err(|e| Unjudged::from_target("entering the bootloader failed", e))?;
    let outcome = Client::open(
        &port,
        limits::DEFAULT_BAUD,
        client_timeouts(limits::DEFAULT_BAUD),
    )
    .and_then(|mut client| client.upload(image, |_| {}));
    target
        .reboot()
        .map_err(|e| Unjudged::from_target("rebooting after the upload failed", e))?;
    if let Err(e @ (ClientError::Serial(_) | ClientError::Io(_))) = &outcome {
        return Err(Unjudged::Infra(format!("bootloader port {port}: {e}")));
    }
    let (check, metrics) = checks::upload_check(oracle.expect_error, &outcome);
    Ok((check, metrics, previous))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::time::Duration;

    use cockpit_vm::{CvbcWriter, FLAG_ARDUINO_LOOP, Fault, Instruction, Opcode, VmError};

    use super::*;
    use crate::discover::{discover, load};
    use crate::target::{Budget, PinEdge, RunEnd, RunReport, VmState};

    /// A board that replays canned observations.
    #[derive(Default)]
    struct FakeTarget {
        loaded: bool,
        console: Vec<u8>,
        edges: Vec<PinEdge>,
        registers: HashMap<u32, u32>,
        vm: VmState,
        end: Option<RunEnd>,
        panic_on_run: bool,
        /// `run` fails with `TargetError::Board(this)`.
        board_failure: Option<String>,
        budget_seen: Option<Budget>,
        inputs: Vec<(u8, bool, Duration)>,
        wall_time: Duration,
        board_metrics: Vec<Metric>,
    }

    impl Target for FakeTarget {
        fn info(&self) -> TargetInfo {
            TargetInfo::new("sim", "fake-0")
        }
        fn drive_input(&mut self, pin: u8, high: bool, at: Duration) -> Result<(), TargetError> {
            if pin > 16 {
                return Err(TargetError::Board(format!("no pin {pin}")));
            }
            self.inputs.push((pin, high, at));
            Ok(())
        }
        fn load(&mut self, image: &[u8]) -> Result<(), TargetError> {
            if image.len() > 4096 {
                return Err(TargetError::Image("too large".into()));
            }
            self.loaded = true;
            Ok(())
        }
        fn run(&mut self, budget: &Budget) -> Result<RunReport, TargetError> {
            assert!(!self.panic_on_run, "simulated board bug");
            if let Some(why) = &self.board_failure {
                return Err(TargetError::Board(why.clone()));
            }
            if !self.loaded {
                return Err(TargetError::NotLoaded);
            }
            self.budget_seen = Some(budget.clone());
            Ok(RunReport {
                end: self.end.unwrap_or(RunEnd::Halted),
                instructions: 42,
                cycles: 420,
                virtual_time: Duration::from_millis(7),
                wall_time: self.wall_time,
            })
        }
        fn console(&self) -> &[u8] {
            &self.console
        }
        fn pin_edges(&self) -> &[PinEdge] {
            &self.edges
        }
        fn read_u32(&mut self, addr: u32) -> Result<u32, TargetError> {
            self.registers
                .get(&addr)
                .copied()
                .ok_or(TargetError::Unmapped { addr })
        }
        fn vm_state(&mut self) -> Result<VmState, TargetError> {
            Ok(self.vm.clone())
        }
        fn board_metrics(&self) -> Vec<Metric> {
            self.board_metrics.clone()
        }
    }

    /// A temporary directory with a HALT-only CVBC image `prog.cvbc` (global 0 = `counter`).
    fn fixture(flags: u32) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let image = CvbcWriter {
            code: vec![Instruction::new(Opcode::Halt, 0, 0)],
            flags,
            globals: vec![(0, "counter".into())],
            ..Default::default()
        }
        .to_bytes();
        std::fs::write(dir.path().join("prog.cvbc"), image).unwrap();
        dir
    }

    fn plan_in(dir: &Path, file: &str, body: &str) -> PathBuf {
        let path = dir.join(file);
        std::fs::write(&path, body).unwrap();
        path
    }

    fn run_one(dir: &Path, body: &str, target: &mut FakeTarget) -> TestResult {
        let path = plan_in(dir, "t.toml", body);
        run_plan(&Plan::load(&path).unwrap(), &target.info(), || {
            Ok(target as &mut dyn Target)
        })
    }

    #[test]
    fn passing_plan_records_checks_and_metrics() {
        let dir = fixture(0);
        let mut t = FakeTarget {
            console: b"hello\n".to_vec(),
            registers: HashMap::from([(0x4800_0800, 0x1000)]),
            vm: VmState {
                globals: vec![10, 0],
                ..Default::default()
            },
            board_metrics: vec![Metric {
                name: crate::target::STACK_PEAK_METRIC.into(),
                unit: "bytes".into(),
                value: 1234.0,
            }],
            ..Default::default()
        };
        let r = run_one(
            dir.path(),
            "name = \"ok\"\nprogram = \"prog.cvbc\"\n[budget]\nvirtual_ms = 50\n\
             [[console]]\ncontains = \"hello\"\n\
             [[register]]\nname = \"GPIOC.MODER\"\nmask = 0x3000\nequals = 0x1000\n\
             [vm]\nglobals = { counter = 10 }\n",
            &mut t,
        );
        assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.failure);
        let kinds: Vec<_> = r.checks.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [
                CheckKind::Compile,
                CheckKind::Console,
                CheckKind::Register,
                CheckKind::Vm,
                CheckKind::Vm
            ]
        );
        assert_eq!(r.console, "hello\n");
        assert_eq!(r.metrics[0].name, "instructions");
        assert_eq!(r.metrics[0].value, 42.0);
        let last = r.metrics.last().unwrap();
        assert_eq!(
            (last.name.as_str(), last.value),
            ("firmware_stack_peak_bytes", 1234.0),
            "the board's own metrics are stored with the run's"
        );
        assert_eq!(
            t.budget_seen.unwrap().virtual_time,
            Duration::from_millis(50)
        );
    }

    #[test]
    fn failing_check_fails_with_expected_vs_observed() {
        let dir = fixture(0);
        let mut t = FakeTarget {
            registers: HashMap::from([(0x4800_0800, 0)]),
            ..Default::default()
        };
        let r = run_one(
            dir.path(),
            "name = \"f\"\nprogram = \"prog.cvbc\"\n\
             [[register]]\nname = \"GPIOC.MODER\"\nmask = 0x3000\nequals = 0x1000\n",
            &mut t,
        );
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(
            r.failure.unwrap(),
            "register GPIOC.MODER & 0x00003000: expected 0x00001000, observed 0x00000000"
        );
    }

    #[test]
    fn wall_clock_timeout_is_an_error_naming_the_durations() {
        let dir = fixture(0);
        let mut t = FakeTarget {
            end: Some(RunEnd::WallTimeout),
            wall_time: Duration::from_micros(1_500_250),
            console: b"partial".to_vec(),
            ..Default::default()
        };
        let r = run_one(
            dir.path(),
            "name = \"t\"\nprogram = \"prog.cvbc\"\n[budget]\ntimeout_s = 1.5\n\
             [[console]]\ncontains = \"partial\"\n",
            &mut t,
        );
        assert_eq!(r.verdict, Verdict::Error);
        let failure = r.failure.unwrap();
        assert!(
            failure.starts_with(
                "wall-clock timeout: the run was stopped after 1.50025s, over the 1.5s"
            ),
            "{failure}"
        );
        // Only corner 1 was judged; what the run produced is kept.
        assert_eq!(r.checks.len(), 1);
        assert_eq!(r.console, "partial");
        assert_eq!(r.metrics[0].name, "instructions");
    }

    #[test]
    fn inputs_are_driven_before_the_run() {
        let dir = fixture(0);
        let mut t = FakeTarget::default();
        let r = run_one(
            dir.path(),
            "name = \"i\"\nprogram = \"prog.cvbc\"\n\
             [[input]]\npin = 16\nlevel = \"low\"\n[[input]]\npin = 2\nlevel = \"high\"\n\
             [[input]]\npin = 16\nlevel = \"high\"\nat_ms = 2.5\n",
            &mut t,
        );
        assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.failure);
        assert_eq!(
            t.inputs,
            [
                (16, false, Duration::ZERO),
                (2, true, Duration::ZERO),
                (16, true, Duration::from_micros(2500))
            ]
        );
    }

    #[test]
    fn unexpected_fault_fails_by_default_but_budget_end_of_loop_image_passes() {
        let fault = |error| VmState {
            fault: Some(Fault {
                error,
                pc: 3,
                opcode: 0,
            }),
            ..Default::default()
        };
        let body = "name = \"v\"\nprogram = \"prog.cvbc\"\n";
        let dir = fixture(0);
        let mut t = FakeTarget {
            vm: fault(VmError::DivisionByZero),
            ..Default::default()
        };
        let r = run_one(dir.path(), body, &mut t);
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(r.failure.unwrap().contains("DIVISION_BY_ZERO"));

        let dir = fixture(FLAG_ARDUINO_LOOP);
        let mut t = FakeTarget {
            vm: fault(VmError::BudgetExceeded),
            ..Default::default()
        };
        assert_eq!(run_one(dir.path(), body, &mut t).verdict, Verdict::Pass);
    }

    #[test]
    fn corrupt_image_fails_corner_one_and_missing_program_is_an_error() {
        let dir = fixture(0);
        let mut image = std::fs::read(dir.path().join("prog.cvbc")).unwrap();
        let last = image.len() - 1;
        image[last] ^= 0xff;
        std::fs::write(dir.path().join("bad.cvbc"), image).unwrap();
        let r = run_one(
            dir.path(),
            "name = \"c\"\nprogram = \"bad.cvbc\"\n",
            &mut FakeTarget::default(),
        );
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(r.checks.len(), 1);
        assert!(r.failure.unwrap().contains("bad.cvbc"));

        let r = run_one(
            dir.path(),
            "name = \"m\"\nprogram = \"nope.cvbc\"\n",
            &mut FakeTarget::default(),
        );
        assert_eq!(r.verdict, Verdict::Error);
        assert!(r.failure.unwrap().contains("nope.cvbc"));
    }

    #[test]
    fn oracle_upload_on_a_board_without_bootloader_is_an_error() {
        let dir = fixture(0);
        let r = run_one(
            dir.path(),
            "name = \"o\"\nprogram = \"prog.cvbc\"\nupload = \"oracle\"\n",
            &mut FakeTarget::default(),
        );
        assert_eq!(r.verdict, Verdict::Error);
        let failure = r.failure.unwrap();
        assert!(
            failure.contains("entering the bootloader failed")
                && failure.contains("board kind `sim` has no serial bootloader"),
            "{failure}"
        );
    }

    #[test]
    fn a_core_register_on_a_board_without_a_cpu_is_an_error_not_a_failed_check() {
        let dir = fixture(0);
        // The plan names emu, but this board (kind sim) cannot read core registers.
        let r = run_one(
            dir.path(),
            "name = \"c\"\nprogram = \"prog.cvbc\"\nboards = [\"emu\"]\n\
             [[register]]\nname = \"MSP\"\nequals = 0\n",
            &mut FakeTarget::default(),
        );
        assert_eq!(r.verdict, Verdict::Error);
        let failure = r.failure.unwrap();
        assert!(
            failure.contains("reading a register failed")
                && failure.contains("board kind `sim` has no core register MSP"),
            "{failure}"
        );
    }

    #[test]
    fn board_rejection_of_an_image_fails_corner_one() {
        let dir = fixture(0);
        std::fs::write(dir.path().join("big.cvbc"), {
            CvbcWriter {
                code: vec![Instruction::new(Opcode::Halt, 0, 0); 2000],
                ..Default::default()
            }
            .to_bytes()
        })
        .unwrap();
        let r = run_one(
            dir.path(),
            "name = \"b\"\nprogram = \"big.cvbc\"\n",
            &mut FakeTarget::default(),
        );
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(r.failure.unwrap().contains("too large"));
    }

    #[test]
    fn run_all_survives_invalid_plans_and_panics() {
        let dir = fixture(0);
        let good = plan_in(
            dir.path(),
            "a.toml",
            "name = \"a\"\nprogram = \"prog.cvbc\"\n",
        );
        let bad = plan_in(
            dir.path(),
            "b.toml",
            "name = \"b\"\nprogram = \"prog.cvbc\"\nwat = 1\n",
        );
        let dup = plan_in(
            dir.path(),
            "c.toml",
            "name = \"a\"\nprogram = \"prog.cvbc\"\n",
        );
        let boom = plan_in(
            dir.path(),
            "d.toml",
            "name = \"d\"\nprogram = \"prog.cvbc\"\n",
        );
        plan_in(dir.path(), "README.toml", "not a plan");
        let files = discover(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(files, [good, bad, dup, boom]);
        let jobs = load(&files);
        let board = TargetInfo::new("sim", "sim");
        let make = |i: usize| -> Result<Box<dyn Target>, TargetError> {
            Ok(Box::new(FakeTarget {
                panic_on_run: i == 3,
                ..Default::default()
            }))
        };
        let mut results = Vec::new();
        run_all(jobs, 3, &board, &make, |r| results.push(r));
        results.sort_by(|a, b| a.plan_path.cmp(&b.plan_path));
        let verdicts: Vec<_> = results
            .iter()
            .map(|r| (r.test_name.as_str(), r.verdict))
            .collect();
        assert_eq!(
            verdicts,
            [
                ("a", Verdict::Pass),
                ("b", Verdict::Error),
                ("a", Verdict::Error),
                ("d", Verdict::Error)
            ]
        );
        assert!(results[1].failure.as_ref().unwrap().contains("wat"));
        assert!(
            results[2]
                .failure
                .as_ref()
                .unwrap()
                .contains("already used")
        );
        assert!(
            results[3]
                .failure
                .as_ref()
                .unwrap()
                .contains("simulated board bug")
        );
    }

    #[test]
    fn sources_are_compiled_and_expect_error_inverts_corner_one() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("ok.c"),
            "int counter = 0;\nint main() { counter = 5; return 0; }\n",
        )
        .unwrap();
        std::fs::write(d.join("bad.c"), "int main() { return nope; }\n").unwrap();
        let mut t = FakeTarget {
            vm: VmState {
                globals: vec![5],
                ..Default::default()
            },
            ..Default::default()
        };
        let r = run_one(
            d,
            "name = \"ok\"\nprogram = \"ok.c\"\n[vm]\nglobals = { counter = 5 }\n",
            &mut t,
        );
        assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.failure);

        let r = run_one(
            d,
            "name = \"bad\"\nprogram = \"bad.c\"\n",
            &mut FakeTarget::default(),
        );
        assert_eq!(r.verdict, Verdict::Fail);
        let failure = r.failure.unwrap();
        assert!(failure.contains("bad.c:1:"), "{failure}");

        let expect = |re: &str| {
            run_one(
                d,
                &format!(
                    "name = \"x\"\nprogram = \"{}\"\nexpect_compile_error = \"{re}\"\n",
                    "bad.c"
                ),
                &mut FakeTarget::default(),
            )
        };
        assert_eq!(expect("nope").verdict, Verdict::Pass);
        assert_eq!(expect("something else").verdict, Verdict::Fail);
        let r = run_one(
            d,
            "name = \"y\"\nprogram = \"ok.c\"\nexpect_compile_error = \"x\"\n",
            &mut FakeTarget::default(),
        );
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(r.failure.unwrap().contains("compiled without errors"));
        assert!(t.budget_seen.is_some());
    }

    /// Runs `body` through [`run_job`] on boards from `make(n)` (`n` = boards made so far);
    /// returns the result and how many boards were made.
    fn run_counted(
        body: &str,
        make: impl Fn(usize) -> Result<Box<dyn Target>, TargetError>,
    ) -> (TestResult, usize) {
        let dir = fixture(0);
        let path = plan_in(dir.path(), "t.toml", body);
        let job = Job::Plan(Box::new(Plan::load(&path).unwrap()));
        let made = std::sync::atomic::AtomicUsize::new(0);
        let result = run_job(&job, &TargetInfo::new("probe", "bench-1"), || {
            make(made.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
        });
        (result, made.into_inner())
    }

    #[test]
    fn an_infrastructure_failure_is_retried_once_and_the_retry_recorded() {
        let flaky = |n: usize| -> Result<Box<dyn Target>, TargetError> {
            Ok(Box::new(FakeTarget {
                board_failure: (n == 0).then(|| "probe 0483:374b vanished".to_string()),
                ..Default::default()
            }))
        };
        let (r, made) = run_counted("name = \"f\"\nprogram = \"prog.cvbc\"\n", flaky);
        assert_eq!(made, 2);
        assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.failure);
        assert_eq!(r.failure, None);
        assert_eq!(
            r.retried_after.as_deref(),
            Some("running the program failed: board failure: probe 0483:374b vanished")
        );

        // Failing twice: `infra_error`, with both failures on the result.
        let broken = |_| -> Result<Box<dyn Target>, TargetError> {
            Err(TargetError::Board("no probe matches 0483:374b".into()))
        };
        let (r, made) = run_counted("name = \"b\"\nprogram = \"prog.cvbc\"\n", broken);
        assert_eq!(made, 2);
        assert_eq!(r.verdict, Verdict::InfraError);
        let why = "opening the board failed: board failure: no probe matches 0483:374b";
        assert_eq!(r.failure.as_deref(), Some(why));
        assert_eq!(r.retried_after.as_deref(), Some(why));
    }

    #[test]
    fn the_program_is_built_before_a_board_is_made() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.c"), "int main() { return nope; }\n").unwrap();
        std::fs::write(dir.path().join("ok.c"), "int main() { return 0; }\n").unwrap();
        let job = |body: &str| {
            let path = plan_in(dir.path(), "t.toml", body);
            Job::Plan(Box::new(Plan::load(&path).unwrap()))
        };
        let bench = TargetInfo {
            serial: Some("0669FF".into()),
            backend: Some("probe-rs 0.32".into()),
            ..TargetInfo::new("probe", "bench-1")
        };
        let made = std::sync::atomic::AtomicUsize::new(0);
        let unplugged = || -> Result<Box<dyn Target>, TargetError> {
            made.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Err(TargetError::Board("no probe matches 0483:374b".into()))
        };
        let made_so_far = || made.load(std::sync::atomic::Ordering::SeqCst);

        // Corner 1 alone judges these: no board is made, the bench's identity is recorded.
        let expected = job("name = \"c\"\nprogram = \"bad.c\"\nexpect_compile_error = \"nope\"\n");
        let r = run_job(&expected, &bench, unplugged);
        assert_eq!(
            (r.verdict, made_so_far()),
            (Verdict::Pass, 0),
            "{:?}",
            r.failure
        );
        assert_eq!((&r.board, &r.retried_after), (&bench, &None));
        let r = run_job(
            &job("name = \"c\"\nprogram = \"bad.c\"\n"),
            &bench,
            unplugged,
        );
        assert_eq!((r.verdict, made_so_far()), (Verdict::Fail, 0));
        let r = run_job(
            &job("name = \"c\"\nprogram = \"missing.c\"\n"),
            &bench,
            unplugged,
        );
        assert_eq!((r.verdict, made_so_far()), (Verdict::Error, 0));

        // A program that must run needs the board: `infra_error` after one retry.
        let r = run_job(
            &job("name = \"r\"\nprogram = \"ok.c\"\n"),
            &bench,
            unplugged,
        );
        assert_eq!((r.verdict, made_so_far()), (Verdict::InfraError, 2));
        assert_eq!(r.board, bench);
        assert!(r.checks[0].passed, "corner 1 is judged: {:?}", r.checks);
        let why = "opening the board failed: board failure: no probe matches 0483:374b";
        assert_eq!(r.retried_after.as_deref(), Some(why));

        // A board that is made records its own identity.
        let r = run_job(&job("name = \"r\"\nprogram = \"ok.c\"\n"), &bench, || {
            Ok(Box::new(FakeTarget::default()) as Box<dyn Target>)
        });
        assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.failure);
        assert_eq!(r.board, TargetInfo::new("sim", "fake-0"));
    }

    #[test]
    fn failed_checks_and_other_errors_are_not_retried() {
        let fake = |_| -> Result<Box<dyn Target>, TargetError> {
            Ok(Box::new(FakeTarget {
                registers: HashMap::from([(0x4800_0800, 0)]),
                ..Default::default()
            }))
        };
        let (r, made) = run_counted(
            "name = \"f\"\nprogram = \"prog.cvbc\"\n\
             [[register]]\nname = \"GPIOC.MODER\"\nmask = 0x3000\nequals = 0x1000\n",
            fake,
        );
        assert_eq!((r.verdict, made, r.retried_after), (Verdict::Fail, 1, None));

        // A board kind that cannot do what the plan asks is the plan's problem: `error`.
        let unsupported = |_| -> Result<Box<dyn Target>, TargetError> {
            Err(TargetError::Unsupported("no such board kind here".into()))
        };
        let (r, made) = run_counted("name = \"u\"\nprogram = \"prog.cvbc\"\n", unsupported);
        assert_eq!(
            (r.verdict, made, r.retried_after),
            (Verdict::Error, 1, None)
        );
    }
}
