//! Synthetic result history for demos and for measuring the regression detector
//! (`cockpit demo-history`).
//!
//! [`generate`] makes `runs` runs (each covering every demo test on the three board kinds `sim`,
//! `emu` and `probe`), oldest first, one hour apart, with fake 40-hex commit ids (about one run
//! in four re-tests the previous commit). Each series `(test, metric, board)` is either
//!
//! * **deterministic** — `instructions` and `cycles` everywhere, `virtual_ms` and pin timings on
//!   `sim`/`emu`: a constant that changes only at an injected step; or
//! * **noisy** — Gaussian noise with a per-series coefficient of variation (`wall_ms` 2–6 %,
//!   `upload_ms` 2–4 %, `virtual_ms`/pin timings on `probe` 0.3–1 %), plus outliers: each point
//!   with probability 1 % is multiplied by U(1.3, 2.5) (a host hiccup).
//!
//! About `steps_per_history` series get one step at a random commit in the middle 20–95 % of
//! the history: noisy series by ±(10–30 %), at least 3 σ; deterministic ones by ±(1–15 %). A
//! third are improvements (for pulse widths, where any change is a regression, the sign is
//! random). Results are flaky: 2 % fail (metrics kept), 0.5 % are errors (no metrics). The
//! ground truth is [`DemoHistory::steps`].

use std::path::PathBuf;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use serde::Serialize;

use crate::result::{CheckKind, CheckResult, Metric, Summary, TestResult, Verdict};
use crate::store::{RunInfo, Store, StoreError};
use crate::target::TargetInfo;

/// Generator settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DemoConfig {
    /// Number of runs (default 200).
    pub runs: usize,
    /// RNG seed; the same seed gives the same history (default 1).
    pub seed: u64,
    /// How many series get an injected step (default 8).
    pub steps_per_history: usize,
    /// Start time of the first run, Unix epoch milliseconds (default 2026-01-01T00:00Z).
    pub start_ms: i64,
}

impl Default for DemoConfig {
    fn default() -> DemoConfig {
        DemoConfig {
            runs: 200,
            seed: 1,
            steps_per_history: 8,
            start_ms: 1_767_225_600_000,
        }
    }
}

/// One injected step: the ground truth for measuring the detector.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InjectedStep {
    /// Test name.
    pub test_name: String,
    /// Metric name.
    pub metric: String,
    /// Board kind.
    pub board_kind: String,
    /// Board id.
    pub board_id: String,
    /// Index (0-based, oldest first) of the first run with the new level.
    pub run_index: usize,
    /// Run id in the store, once written ([`write`]); `None` before.
    pub run_id: Option<i64>,
    /// The commit that introduced the step (40 hex digits).
    pub commit: String,
    /// Relative change of the level, 0.12 = +12 %.
    pub relative: f64,
    /// The change in noise standard deviations (infinite for a deterministic series).
    pub sigmas: f64,
    /// Whether the series is deterministic.
    pub deterministic: bool,
    /// `"regression"` or `"improvement"`, by the metric's polarity.
    pub direction: String,
}

/// One generated run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DemoRun {
    /// What [`Store::begin_run`] records.
    pub info: RunInfo,
    /// Its test results, one per (test, board).
    pub results: Vec<TestResult>,
}

/// A generated history with its ground truth.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DemoHistory {
    /// The runs, oldest first.
    pub runs: Vec<DemoRun>,
    /// The injected steps.
    pub steps: Vec<InjectedStep>,
    /// Every series `(test, metric, board_kind, board_id)` in the history.
    pub series: Vec<(String, String, String, String)>,
}

/// Boards: (kind, id).
const BOARDS: [(&str, &str); 3] = [
    ("sim", "sim"),
    ("emu", "emu"),
    ("probe", "0483:374e:0039003B3432"),
];

/// A demo metric: (name, unit, typical value).
type MetricSpec = (&'static str, &'static str, f64);

/// Tests and their metrics.
const TESTS: &[(&str, &[MetricSpec])] = &[
    (
        "blinky",
        &[
            ("instructions", "count", 48_211.0),
            ("cycles", "cycles", 301_544.0),
            ("virtual_ms", "ms", 2_000.0),
            ("wall_ms", "ms", 38.0),
            ("pin13.pulse_high_ms", "ms", 500.0),
            ("pin13.period_ms", "ms", 1_000.0),
        ],
    ),
    (
        "recursion",
        &[
            ("instructions", "count", 912_004.0),
            ("cycles", "cycles", 5_120_331.0),
            ("virtual_ms", "ms", 31.0),
            ("wall_ms", "ms", 95.0),
        ],
    ),
    (
        "printf_formats",
        &[
            ("instructions", "count", 120_870.0),
            ("cycles", "cycles", 822_301.0),
            ("wall_ms", "ms", 22.0),
        ],
    ),
    (
        "gpio_io",
        &[
            ("pin5.pulse_low_ms", "ms", 20.0),
            ("virtual_ms", "ms", 120.0),
            ("wall_ms", "ms", 14.0),
        ],
    ),
    (
        "oracle_blinky",
        &[("upload_ms", "ms", 410.0), ("wall_ms", "ms", 460.0)],
    ),
];

/// Noise model of a series: `None` = deterministic, else the coefficient of variation range.
fn noise_cv(metric: &str, board_kind: &str) -> Option<(f64, f64)> {
    match metric {
        "instructions" | "cycles" => None,
        "wall_ms" => Some((0.02, 0.06)),
        "upload_ms" => Some((0.02, 0.04)),
        _ if board_kind == "probe" => Some((0.003, 0.01)),
        _ => None,
    }
}

/// Commit subject lines of the fake history.
const SUBJECTS: &[&str] = &[
    "vm: tighten the dispatch loop",
    "cc: fold constant comparisons",
    "hal: debounce gpio reads",
    "oracle: retry a lost chunk sooner",
    "sim: model flash wait states",
    "printf: shorter integer formatting",
    "runtime: bigger default stack",
    "ci: bump the toolchain",
];

/// A subject for a commit id, stable per commit.
fn subject_of(commit: &str) -> usize {
    usize::from_str_radix(&commit[..4], 16).unwrap_or(0) % SUBJECTS.len()
}

fn commit_id(rng: &mut StdRng) -> String {
    (0..40)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap())
        .collect()
}

struct SeriesModel {
    test: &'static str,
    metric: &'static str,
    unit: &'static str,
    kind: &'static str,
    id: &'static str,
    level: f64,
    cv: Option<f64>,
    step: Option<(usize, f64)>,
}

/// Generates a history (see the module docs). Deterministic for a given config.
pub fn generate(cfg: &DemoConfig) -> DemoHistory {
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let n = cfg.runs;

    // Commits: a new one for ~3 runs in 4.
    let mut commits: Vec<String> = Vec::with_capacity(n);
    for i in 0..n {
        if i == 0 || rng.random_bool(0.75) {
            commits.push(commit_id(&mut rng));
        } else {
            let prev = commits[i - 1].clone();
            commits.push(prev);
        }
    }

    let mut models: Vec<SeriesModel> = Vec::new();
    for (test, metrics) in TESTS {
        for (kind, id) in BOARDS {
            for &(metric, unit, typical) in *metrics {
                let cv = noise_cv(metric, kind).map(|(lo, hi)| rng.random_range(lo..hi));
                // Boards differ a little in their level (real boards are slower than the sim).
                let level = if metric == "wall_ms" || metric == "upload_ms" {
                    typical * rng.random_range(0.8..1.6)
                } else {
                    typical
                };
                models.push(SeriesModel {
                    test,
                    metric,
                    unit,
                    kind,
                    id,
                    level,
                    cv,
                    step: None,
                });
            }
        }
    }

    // Injected steps at commit boundaries (the first run of a commit).
    let mut steps = Vec::new();
    let lo = (n / 5).max(1);
    let hi = (n * 19 / 20).max(lo + 1);
    let mut chosen: Vec<usize> = Vec::new();
    while chosen.len() < cfg.steps_per_history.min(models.len()) && n >= 20 {
        let s = rng.random_range(0..models.len());
        if chosen.contains(&s) {
            continue;
        }
        chosen.push(s);
        let mut at = rng.random_range(lo..hi);
        while at > 0 && commits[at] == commits[at - 1] {
            at -= 1;
        }
        let m = &mut models[s];
        let improvement = rng.random_bool(1.0 / 3.0);
        let rel = match m.cv {
            Some(cv) => rng.random_range(0.10..0.30_f64).max(3.0 * cv),
            None => rng.random_range(0.01..0.15),
        };
        let rel = if improvement { -rel } else { rel };
        let direction = match cockpit_dashboard::regress::polarity(m.metric) {
            cockpit_dashboard::regress::Polarity::AnyChange => "regression",
            cockpit_dashboard::regress::Polarity::HigherIsWorse if rel > 0.0 => "regression",
            cockpit_dashboard::regress::Polarity::LowerIsWorse if rel < 0.0 => "regression",
            _ => "improvement",
        };
        m.step = Some((at, rel));
        steps.push(InjectedStep {
            test_name: m.test.to_string(),
            metric: m.metric.to_string(),
            board_kind: m.kind.to_string(),
            board_id: m.id.to_string(),
            run_index: at,
            run_id: None,
            commit: commits[at].clone(),
            relative: rel,
            sigmas: m.cv.map_or(f64::INFINITY, |cv| rel.abs() / cv),
            deterministic: m.cv.is_none(),
            direction: direction.to_string(),
        });
    }
    steps.sort_by_key(|s| s.run_index);

    let std_normal = Normal::new(0.0, 1.0).expect("valid normal");
    let mut runs = Vec::with_capacity(n);
    for (i, commit) in commits.iter().enumerate() {
        let started = cfg.start_ms + i as i64 * 3_600_000;
        let mut results: Vec<TestResult> = Vec::new();
        for (test, _) in TESTS {
            for (kind, id) in BOARDS {
                let roll: f64 = rng.random();
                let verdict = if roll < 0.005 {
                    Verdict::Error
                } else if roll < 0.025 {
                    Verdict::Fail
                } else {
                    Verdict::Pass
                };
                let mut metrics = Vec::new();
                for m in models
                    .iter()
                    .filter(|m| m.test == *test && m.kind == kind && m.id == id)
                {
                    let mut level = m.level;
                    if let Some((at, rel)) = m.step
                        && i >= at
                    {
                        level *= 1.0 + rel;
                    }
                    let mut value = match m.cv {
                        None => level,
                        Some(cv) => level * (1.0 + cv * std_normal.sample(&mut rng)),
                    };
                    if m.cv.is_some() && rng.random_bool(0.01) {
                        value *= rng.random_range(1.3..2.5);
                    }
                    if m.unit == "count" || m.unit == "cycles" {
                        value = value.round();
                    }
                    metrics.push(Metric {
                        name: m.metric.to_string(),
                        unit: m.unit.to_string(),
                        value: value.max(0.0),
                    });
                }
                if verdict == Verdict::Error {
                    metrics.clear();
                }
                let wall = metrics
                    .iter()
                    .find(|m| m.name == "wall_ms")
                    .map_or(1.0, |m| m.value);
                let check = CheckResult {
                    kind: CheckKind::Console,
                    name: "contains \"done\"".to_string(),
                    expected: "done".to_string(),
                    observed: if verdict == Verdict::Pass {
                        "done".to_string()
                    } else {
                        "tim".to_string()
                    },
                    passed: verdict == Verdict::Pass,
                };
                results.push(TestResult {
                    test_name: test.to_string(),
                    plan_path: PathBuf::from(format!("test-plans/{test}.toml")),
                    board: TargetInfo::new(kind, id),
                    verdict,
                    failure: match verdict {
                        Verdict::Pass => None,
                        Verdict::Fail => Some(check.to_string()),
                        Verdict::Error | Verdict::InfraError => {
                            Some("board did not answer (demo flake)".to_string())
                        }
                    },
                    retried_after: None,
                    checks: if verdict == Verdict::Error {
                        Vec::new()
                    } else {
                        vec![check]
                    },
                    metrics,
                    console: if verdict == Verdict::Error {
                        String::new()
                    } else {
                        format!("{test}: running\ndone\n")
                    },
                    log: Vec::new(),
                    fault_record: None,
                    duration: Duration::from_secs_f64(wall / 1000.0),
                });
            }
        }
        runs.push(DemoRun {
            info: RunInfo {
                git_commit: Some(commit.clone()),
                commit_message: Some(SUBJECTS[subject_of(commit)].to_string()),
                git_dirty: false,
                host: "demo-host".to_string(),
                board_kind: "mixed".to_string(),
                board_id: "sim+emu+probe".to_string(),
                harness_version: env!("CARGO_PKG_VERSION").to_string(),
                started_at_ms: started,
                command: format!("cockpit demo-history --seed {}", cfg.seed),
            },
            results,
        });
    }
    let series = models
        .iter()
        .map(|m| {
            (
                m.test.to_string(),
                m.metric.to_string(),
                m.kind.to_string(),
                m.id.to_string(),
            )
        })
        .collect();
    DemoHistory {
        runs,
        steps,
        series,
    }
}

/// Writes `history` into `store` (one run after the other, each finished 30 s after its
/// start) and fills each step's [`InjectedStep::run_id`]. Returns the run ids, oldest first.
///
/// Errors: the first [`StoreError`] of [`Store::begin_run`], [`Store::record_test`] or
/// [`Store::finish_run`].
pub async fn write(store: &Store, history: &mut DemoHistory) -> Result<Vec<i64>, StoreError> {
    let mut ids = Vec::with_capacity(history.runs.len());
    for run in &history.runs {
        let id = store.begin_run(&run.info).await?;
        for r in &run.results {
            store.record_test(id, r).await?;
        }
        store
            .finish_run(
                id,
                run.info.started_at_ms + 30_000,
                &Summary::of(&run.results),
            )
            .await?;
        ids.push(id);
    }
    for s in &mut history.steps {
        s.run_id = ids.get(s.run_index).copied();
    }
    Ok(ids)
}

/// The values of every series of `history`, as `(run index, value)` oldest first, in the order
/// of [`DemoHistory::series`] — what the detector reads back from a store (results with verdict
/// `error` have no metrics).
pub fn series_values(history: &DemoHistory) -> Vec<Vec<(usize, f64)>> {
    let mut out = vec![Vec::new(); history.series.len()];
    let index: std::collections::HashMap<(&str, &str, &str, &str), usize> = history
        .series
        .iter()
        .enumerate()
        .map(|(i, (t, m, k, b))| ((t.as_str(), m.as_str(), k.as_str(), b.as_str()), i))
        .collect();
    for (ri, run) in history.runs.iter().enumerate() {
        for r in &run.results {
            for m in &r.metrics {
                let key = (
                    r.test_name.as_str(),
                    m.name.as_str(),
                    r.board.kind.as_str(),
                    r.board.id.as_str(),
                );
                if let Some(&i) = index.get(&key) {
                    out[i].push((ri, m.value));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_history_and_sane_shape() {
        let cfg = DemoConfig {
            runs: 60,
            ..DemoConfig::default()
        };
        let a = generate(&cfg);
        assert_eq!(a, generate(&cfg));
        assert_ne!(
            a,
            generate(&DemoConfig {
                seed: 2,
                ..cfg.clone()
            })
        );
        assert_eq!(a.runs.len(), 60);
        assert_eq!(a.steps.len(), 8);
        for s in &a.steps {
            assert_eq!(s.commit.len(), 40);
            assert!(s.commit.chars().all(|c| c.is_ascii_hexdigit()));
            assert_eq!(
                a.runs[s.run_index].info.git_commit.as_deref(),
                Some(&*s.commit)
            );
            assert_ne!(
                a.runs[s.run_index - 1].info.git_commit.as_deref(),
                Some(&*s.commit),
                "a step starts at a new commit"
            );
            if !s.deterministic {
                assert!(s.relative.abs() >= 0.1 && s.sigmas >= 3.0 - 1e-9, "{s:?}");
            }
        }
        let values = series_values(&a);
        assert_eq!(values.len(), a.series.len());
        assert!(values.iter().all(|v| v.len() > 50));
    }
}
