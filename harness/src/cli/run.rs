//! `cockpit run`: find plans, run them on the chosen board kind, store and report the results.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::Args;
use cockpit_harness::bench::{SIMULATED, TestBoard};
use cockpit_harness::boards::HardwareMap;
use cockpit_harness::compare;
use cockpit_harness::discover::Job;
use cockpit_harness::report;
use cockpit_harness::result::{Summary, TestResult};
use cockpit_harness::runner;
use cockpit_harness::store::{RunInfo, Store, StoreError};
use indicatif::{ProgressBar, ProgressStyle};

use super::select::Selection;

// The cross-board comparison (`--board sim,emu`).
use super::{Outcome, store_runtime};

/// Arguments of `cockpit run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Plan files or directories (searched recursively for `*.toml` plans, skipping READMEs,
    /// `Cargo.toml`, `target/` and hidden entries, not following symlinked directories).
    #[arg(default_value = "test-plans")]
    paths: Vec<PathBuf>,
    /// Board: `sim`, `emu` (with the `emu` cargo feature), or a board id of the hardware map
    /// (`COCKPIT_BOARDS` or `./boards.toml`); several separated by commas (`sim,emu`) run every
    /// plan on each and report the observations that differ.
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

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `git rev-parse HEAD` of the repository holding `dir`, that commit's subject line
/// (`git log -1 --format=%s`), and whether `git status --porcelain` is non-empty there;
/// `(None, None, false)` if `dir` is not in a git work tree (or git is missing).
fn git_state(dir: &Path) -> (Option<String>, Option<String>, bool) {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "HEAD"]) {
        Some(commit) => (
            Some(commit),
            git(&["log", "-1", "--format=%s"]),
            git(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty()),
        ),
        None => (None, None, false),
    }
}

/// Runs the plans; `Ok(true)` iff every selected test passed. The report (table or JSON, and
/// the JUnit file) is always produced; a result store that cannot be opened or written does not
/// stop the run, but is an `Err` (exit 2) after the report.
pub fn run(args: RunArgs) -> Outcome {
    let names: Vec<String> = args
        .board
        .split(',')
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect();
    if names.is_empty() {
        bail!("no board given");
    }
    // The hardware map is read only when a name is not a simulated kind.
    let map = match names.iter().all(|n| SIMULATED.contains(&n.as_str())) {
        true => None,
        false => HardwareMap::load_located()?,
    };
    let mut boards = Vec::new();
    for name in &names {
        boards.push(TestBoard::named(name, map.as_ref()).map_err(anyhow::Error::msg)?);
    }
    let mut per_board: Vec<Vec<Job>> = Vec::new();
    let mut first_path: Option<PathBuf> = None;
    for (name, board) in names.iter().zip(&boards) {
        let mut jobs = args.selection.jobs(&args.paths)?;
        let before = jobs.len();
        jobs.retain(|j| match j {
            Job::Plan(p) => board.applies_to(p),
            Job::Invalid { .. } => true,
        });
        if jobs.len() < before {
            eprintln!(
                "skipping {} plan(s) not for board `{name}`",
                before - jobs.len(),
            );
        }
        if first_path.is_none() {
            first_path = jobs.first().map(|j| j.path().to_path_buf());
        }
        per_board.push(jobs);
    }
    let Some(first_path) = first_path else {
        bail!(
            "no test plans to run in {}{}",
            args.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            args.selection.describe()
        );
    };
    let threads = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);

    // The plans' repository, which need not be the current directory.
    let plan_dir = match first_path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (git_commit, commit_message, git_dirty) = git_state(&plan_dir);
    let rt = store_runtime()?;
    let mut store_errors: Vec<StoreError> = Vec::new();
    let store = match rt.block_on(Store::open(&args.db)) {
        Ok(s) => Some(s),
        Err(e) => {
            store_errors.push(e);
            None
        }
    };
    let mut results: Vec<TestResult> = Vec::new();
    // One stored run per board: (run id, board id).
    let mut runs: Vec<(i64, String)> = Vec::new();
    for (test_board, jobs) in boards.iter().zip(per_board) {
        if jobs.is_empty() {
            continue;
        }
        let board = test_board.info();
        // A real board is ours for the whole run; tests on it run one at a time.
        let _lock = test_board
            .lock(|| eprintln!("board `{}` is in use; waiting for it", board.id))
            .with_context(|| format!("cannot lock board `{}`", board.id))?;
        let threads = if test_board.parallel() { threads } else { 1 };
        let info = RunInfo {
            git_commit: git_commit.clone(),
            commit_message: commit_message.clone(),
            git_dirty,
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            board_kind: board.kind.clone(),
            board_id: board.id.clone(),
            harness_version: env!("CARGO_PKG_VERSION").to_string(),
            started_at_ms: now_ms(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
        };
        let run_id = match &store {
            Some(store) => match rt.block_on(store.begin_run(&info)) {
                Ok(id) => Some(id),
                Err(e) => {
                    store_errors.push(e);
                    None
                }
            },
            None => None,
        };
        let progress = ProgressBar::new(jobs.len() as u64).with_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
                .expect("static template is valid")
                .progress_chars("=> "),
        );
        runner::run_all(jobs, threads, &board, &|_| test_board.open(), |result| {
            progress.set_message(format!("{} {}", result.test_name, result.verdict.as_str()));
            progress.inc(1);
            if let (Some(store), Some(run_id)) = (&store, run_id)
                && let Err(e) = rt.block_on(store.record_test(run_id, &result))
            {
                store_errors.push(e);
            }
            results.push(result);
        });
        progress.finish_and_clear();
        if let Some(id) = run_id {
            runs.push((id, board.id.clone()));
        }
    }
    // Plan, test, then the boards in the order given (the first is the comparison base).
    let pos = |id: &str| boards.iter().position(|b| b.info().id == id);
    results.sort_by(|a, b| {
        (&a.plan_path, &a.test_name, pos(&a.board.id)).cmp(&(
            &b.plan_path,
            &b.test_name,
            pos(&b.board.id),
        ))
    });
    let summary = Summary::of(&results);
    let diffs = (boards.len() > 1).then(|| compare::differences(&results));

    // Report first: nothing the store does can lose it.
    let run_id = runs.first().map(|(id, _)| *id);
    if let Some(path) = &args.junit {
        let xml = report::junit(&results).context("rendering JUnit XML")?;
        std::fs::write(path, xml).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.json {
        let mut json = report::json(&results);
        json["run_id"] = run_id.into();
        if boards.len() > 1 {
            json["run_ids"] = runs.iter().map(|(id, _)| *id).collect::<Vec<_>>().into();
        }
        if let Some(d) = &diffs {
            json["differences"] = serde_json::to_value(d)?;
        }
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!("{}", report::table(&results));
        let details = report::failure_details(&results);
        if !details.is_empty() {
            println!("\n{details}");
        }
        if let Some(d) = &diffs {
            println!("\n{}", compare::render(d));
        }
    }
    // The closing line, on stdout unless stdout carries JSON.
    if args.json {
        eprintln!("{summary}");
    } else {
        println!("{summary}");
    }

    if let Some(store) = store {
        for (run_id, id) in &runs {
            let mut s = Summary::default();
            for r in results.iter().filter(|r| &r.board.id == id) {
                s.add(r.verdict);
            }
            if let Err(e) = rt.block_on(store.finish_run(*run_id, now_ms(), &s)) {
                store_errors.push(e);
            }
        }
        rt.block_on(store.close());
        if store_errors.is_empty() {
            for (run_id, _) in &runs {
                eprintln!("run {run_id} stored in {}", args.db.display());
            }
        }
    }
    if !store_errors.is_empty() {
        for e in &store_errors[1..] {
            eprintln!("error: {e}");
        }
        return Err(
            anyhow::Error::new(store_errors.swap_remove(0)).context(format!(
                "the results were reported but not (all) stored in {}",
                args.db.display()
            )),
        );
    }
    Ok(summary.all_passed())
}
