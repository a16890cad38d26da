//! `cockpit run`: find plans, run them on the chosen board kind, store and report the results.

use std::path::PathBuf;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::Args;
use cockpit_harness::discover::Job;
use cockpit_harness::plan::BOARD_KINDS;
use cockpit_harness::report::{self, Summary};
use cockpit_harness::result::TestResult;
use cockpit_harness::runner;
use cockpit_harness::sim::SimTarget;
use cockpit_harness::store::{RunInfo, RunSummary, Store};
use cockpit_harness::target::{Target, TargetInfo};
use indicatif::{ProgressBar, ProgressStyle};

use super::select::Selection;
use super::{Outcome, store_runtime};

/// Arguments of `cockpit run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Plan files or directories (searched recursively for `*.toml`, skipping READMEs).
    #[arg(default_value = "test-plans")]
    paths: Vec<PathBuf>,
    /// Board kind: `sim` (`emu` and `probe` are planned).
    #[arg(long, default_value = "sim")]
    board: String,
    /// Result database (SQLite; created if missing).
    #[arg(long, default_value = "cockpit.db")]
    db: PathBuf,
    /// Also write a JUnit XML report to this file.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Print the results as JSON on stdout instead of the table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    selection: Selection,
    /// Tests run at once; default: the available parallelism.
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
}

/// A source of fresh boards of one kind.
type BoardFactory = Box<dyn Fn(usize) -> Box<dyn Target> + Sync>;

/// The factory for board kind `kind`. Errors: an unknown kind, or one not available yet.
fn board_factory(kind: &str) -> anyhow::Result<BoardFactory> {
    match kind {
        "sim" => Ok(Box::new(|_| Box::new(SimTarget::new()))),
        k if BOARD_KINDS.contains(&k) => {
            bail!("board kind `{k}` is not available yet (available: sim)")
        }
        k => bail!(
            "unknown board kind `{k}` (known: {}; available: sim)",
            BOARD_KINDS.join(", ")
        ),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `git rev-parse HEAD` and whether `git status --porcelain` is non-empty, if git works here.
fn git_state() -> (Option<String>, bool) {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "HEAD"]) {
        Some(commit) => (
            Some(commit),
            git(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty()),
        ),
        None => (None, false),
    }
}

/// Runs the plans; `Ok(true)` iff every selected test passed and every result was stored.
pub fn run(args: RunArgs) -> Outcome {
    let make_board = board_factory(&args.board)?;
    let mut jobs = args.selection.jobs(&args.paths)?;
    let before = jobs.len();
    jobs.retain(|j| match j {
        Job::Plan(p) => p.boards.contains(&args.board),
        Job::Invalid { .. } => true,
    });
    if jobs.len() < before {
        eprintln!(
            "skipping {} plan(s) not for board kind `{}`",
            before - jobs.len(),
            args.board
        );
    }
    if jobs.is_empty() {
        bail!(
            "no test plans to run in {}{}",
            args.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            args.selection.describe()
        );
    }
    let threads = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);

    let rt = store_runtime()?;
    let store = rt.block_on(Store::open(&args.db))?;
    let (git_commit, git_dirty) = git_state();
    let info = RunInfo {
        git_commit,
        git_dirty,
        host: gethostname::gethostname().to_string_lossy().into_owned(),
        board_kind: args.board.clone(),
        board_id: args.board.clone(),
        harness_version: env!("CARGO_PKG_VERSION").to_string(),
        started_at_ms: now_ms(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let run_id = rt.block_on(store.begin_run(&info))?;

    let progress = ProgressBar::new(jobs.len() as u64).with_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
            .expect("static template is valid")
            .progress_chars("=> "),
    );
    let board = TargetInfo {
        kind: args.board.clone(),
        id: args.board.clone(),
    };
    let mut results: Vec<TestResult> = Vec::with_capacity(jobs.len());
    let mut store_errors = Vec::new();
    runner::run_all(jobs, threads, &board, &make_board, |result| {
        progress.set_message(format!("{} {}", result.test_name, result.verdict.as_str()));
        progress.inc(1);
        if let Err(e) = rt.block_on(store.record_test(run_id, &result)) {
            store_errors.push(e);
        }
        results.push(result);
    });
    progress.finish_and_clear();
    results.sort_by(|a, b| (&a.plan_path, &a.test_name).cmp(&(&b.plan_path, &b.test_name)));

    let summary = Summary::of(&results);
    rt.block_on(store.finish_run(
        run_id,
        &RunSummary {
            finished_at_ms: now_ms(),
            passed: summary.passed,
            failed: summary.failed,
            errors: summary.errors,
        },
    ))?;
    rt.block_on(store.close());

    if let Some(path) = &args.junit {
        let xml = report::junit(&results).context("rendering JUnit XML")?;
        std::fs::write(path, xml).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.json {
        let mut json = report::json(&results);
        json["run_id"] = run_id.into();
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!("{}", report::table(&results));
        let details = report::failure_details(&results);
        if !details.is_empty() {
            println!("\n{details}");
        }
    }
    for e in &store_errors {
        eprintln!("error: {e}");
    }
    eprintln!("run {run_id} stored in {}", args.db.display());
    // The closing line, on stdout unless stdout carries JSON.
    if args.json {
        eprintln!("{summary}");
    } else {
        println!("{summary}");
    }
    Ok(summary.all_passed() && store_errors.is_empty())
}
