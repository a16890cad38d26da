//! The runner: finds plans, runs each on its own board, and judges it.
//!
//! Per plan: build the program (corner 1), load it, run it under the plan's budget, collect the
//! observations, evaluate the checks ([`crate::checks`]). Plans run concurrently on worker
//! threads, each on a fresh board from the caller's factory; results come back to the calling
//! thread one by one as they finish, so the caller can store each at once. Bad input never
//! panics and never stops the other plans: an invalid plan, a missing program or a board
//! failure becomes a result with verdict `error`, and even a panic inside one test is caught
//! and reported the same way.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Instant;

use crate::checks::{self, Observations};
use crate::plan::Plan;
use crate::program::{self, BuildError};
use crate::result::{CheckKind, CheckResult, TestResult, Verdict};
use crate::target::{Target, TargetError, TargetInfo};

/// One test to run: a valid plan, or a plan file that could not be used.
#[derive(Debug)]
pub enum Job {
    /// A valid plan.
    Plan(Box<Plan>),
    /// An invalid plan: reported as an `error` result under `name` (the file stem).
    Invalid {
        /// Test name: the plan file's stem.
        name: String,
        /// Plan file.
        path: PathBuf,
        /// Why it cannot run.
        message: String,
    },
}

impl Job {
    /// Test name: the plan's `name`, or the file stem of an invalid plan.
    pub fn name(&self) -> &str {
        match self {
            Job::Plan(p) => &p.name,
            Job::Invalid { name, .. } => name,
        }
    }
}

/// Plan files under `paths`: files as given, directories searched recursively for `*.toml`
/// (files named `README*` are skipped). Sorted, without duplicates.
/// Errors: a path that does not exist or a directory that cannot be read.
pub fn discover(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else if is_plan_file(&path) {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
        if meta.is_dir() {
            walk(p, &mut out)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
        } else {
            out.push(p.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn is_plan_file(path: &Path) -> bool {
    let readme = path.file_name().is_some_and(|n| {
        n.to_string_lossy()
            .to_ascii_lowercase()
            .starts_with("readme")
    });
    !readme && path.extension().is_some_and(|e| e == "toml")
}

/// Loads every plan file into a [`Job`]. A second plan with an already used name becomes an
/// invalid job naming both files.
pub fn load(files: &[PathBuf]) -> Vec<Job> {
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    files
        .iter()
        .map(|path| match Plan::load(path) {
            Ok(plan) => match seen.get(&plan.name) {
                Some(first) => Job::Invalid {
                    name: plan.name.clone(),
                    path: path.clone(),
                    message: format!(
                        "{}: test name {:?} is already used by {}",
                        path.display(),
                        plan.name,
                        first.display()
                    ),
                },
                None => {
                    seen.insert(plan.name.clone(), path.clone());
                    Job::Plan(Box::new(plan))
                }
            },
            Err(e) => Job::Invalid {
                name: path.file_stem().map_or_else(
                    || path.display().to_string(),
                    |s| s.to_string_lossy().into_owned(),
                ),
                path: path.clone(),
                message: e.to_string(),
            },
        })
        .collect()
}

/// Runs `jobs` on up to `threads` worker threads (at least 1), each test on a new board made by
/// `make_board(i)` (`i` = job index, for board ids). Calls `on_result` on the calling thread
/// for each result as soon as it is ready, in completion order. `board` is the identity used
/// for invalid jobs, which never reach a board.
pub fn run_all<B>(
    jobs: Vec<Job>,
    threads: usize,
    board: &TargetInfo,
    make_board: &B,
    mut on_result: impl FnMut(TestResult),
) where
    B: Fn(usize) -> Box<dyn Target> + Sync,
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

/// Runs one job; a panic anywhere inside becomes an `error` result.
fn run_job(
    job: &Job,
    board: &TargetInfo,
    make_board: impl FnOnce() -> Box<dyn Target>,
) -> TestResult {
    let start = Instant::now();
    match job {
        Job::Invalid {
            name,
            path,
            message,
        } => error_result(name, path, board.clone(), message.clone(), start),
        Job::Plan(plan) => catch_unwind(AssertUnwindSafe(|| {
            let mut target = make_board();
            run_plan(plan, target.as_mut())
        }))
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            error_result(
                &plan.name,
                &plan.path,
                board.clone(),
                format!("internal error (panic): {what}"),
                start,
            )
        }),
    }
}

fn error_result(
    name: &str,
    path: &Path,
    board: TargetInfo,
    message: String,
    start: Instant,
) -> TestResult {
    TestResult {
        test_name: name.to_string(),
        plan_path: path.to_path_buf(),
        board,
        verdict: Verdict::Error,
        failure: Some(message),
        checks: Vec::new(),
        metrics: Vec::new(),
        console: String::new(),
        duration: start.elapsed(),
    }
}

/// Runs one valid plan on `target` and judges it. Never fails: every problem is in the result.
pub fn run_plan(plan: &Plan, target: &mut dyn Target) -> TestResult {
    let start = Instant::now();
    let board = target.info();
    let mut result = TestResult {
        test_name: plan.name.clone(),
        plan_path: plan.path.clone(),
        board: board.clone(),
        verdict: Verdict::Pass,
        failure: None,
        checks: Vec::new(),
        metrics: Vec::new(),
        console: String::new(),
        duration: Default::default(),
    };
    let outcome = judge(plan, target, &mut result);
    result.verdict = match outcome {
        Err(message) => {
            result.failure = Some(message);
            Verdict::Error
        }
        Ok(()) => match checks::first_failure(&result.checks) {
            Some(first) => {
                result.failure = Some(first);
                Verdict::Fail
            }
            None => Verdict::Pass,
        },
    };
    result.duration = start.elapsed();
    result
}

/// Fills `result` with checks, metrics and console; `Err` = the test cannot be judged.
fn judge(plan: &Plan, target: &mut dyn Target, result: &mut TestResult) -> Result<(), String> {
    let compile_check = |expected: String, observed: String, passed: bool| CheckResult {
        kind: CheckKind::Compile,
        name: plan.program.display().to_string(),
        expected,
        observed,
        passed,
    };
    let image = match (program::build(&plan.program), &plan.expect_compile_error) {
        (Err(e @ BuildError::Read { .. }), _) => return Err(e.to_string()),
        (Err(BuildError::Compile { diagnostics }), Some(re)) => {
            let matched = re.is_match(&diagnostics);
            result.checks.push(compile_check(
                format!("a compile error matching /{}/", re.as_str()),
                diagnostics,
                matched,
            ));
            return Ok(());
        }
        (Ok(_), Some(re)) => {
            result.checks.push(compile_check(
                format!("a compile error matching /{}/", re.as_str()),
                "compiled without errors".into(),
                false,
            ));
            return Ok(());
        }
        (Err(e), _) => {
            result
                .checks
                .push(compile_check("a valid image".into(), e.to_string(), false));
            return Ok(());
        }
        (Ok(image), None) => image,
    };
    result.checks.push(compile_check(
        "a valid image".into(),
        format!("{} bytes", image.bytes.len()),
        true,
    ));
    match target.load(&image.bytes) {
        Ok(()) => {}
        Err(e @ TargetError::Image(_)) => {
            result.checks.push(compile_check(
                "the board accepts the image".into(),
                e.to_string(),
                false,
            ));
            return Ok(());
        }
        Err(e) => return Err(format!("loading the image failed: {e}")),
    }
    let report = target
        .run(&plan.budget)
        .map_err(|e| format!("running the program failed: {e}"))?;
    let console = String::from_utf8_lossy(target.console()).into_owned();
    let edges = target.pin_edges().to_vec();
    let registers = plan
        .registers
        .iter()
        .map(|r| target.read_u32(r.address))
        .collect::<Vec<_>>();
    if let Some(e) = registers.iter().find_map(|r| match r {
        Err(e @ TargetError::Board(_)) => Some(e),
        _ => None,
    }) {
        return Err(format!("reading a register failed: {e}"));
    }
    let vm = target
        .vm_state()
        .map_err(|e| format!("reading the VM state failed: {e}"))?;
    let obs = Observations {
        report,
        console,
        edges,
        registers,
        vm,
    };
    let eval = checks::evaluate(plan, &image.info, &obs);
    result.checks.extend(eval.checks);
    result.metrics = eval.metrics;
    result.console = obs.console;
    Ok(())
}
