//! Timing-regression detection over the result store.
//!
//! Every `(test, metric, board kind, board id)` series is read, oldest run first, bounded to its
//! newest [`Options::max_points`] points, and analysed in Rust ([`analyze::analyze`]):
//!
//! * **Deterministic series** (instruction counts, interpreter cycles, anything whose baseline
//!   has zero variance) flag *any* change, with confidence 1.
//! * **Noisy series**: PELT change points (Killick et al. 2012, [`changepoint`]) over the whole
//!   bounded history, each confirmed by a two-sample test on the raw values — Mann–Whitney U by
//!   default, as LNT does at α = 0.05 with ≥ 4 samples; Welch's t-test optionally ([`stats`]) —
//!   and a minimum relative effect (5 % by default, half CodSpeed's 10 % default threshold);
//!   plus a test of the newest runs against a baseline window for shifts too recent for PELT.
//! * Direction by [`analyze::polarity`]: higher is worse for time, cycles and counts; pulse
//!   widths and periods are timing accuracy, so any change is a regression.
//!
//! Each [`Regression`] carries the suspected commit range (`last_good` … `first_bad`: the
//! change's profile-likelihood location interval), the effect, the confidence `1 − p` and the
//! method. [`acknowledge`] stores who/why/when in `regression_acks` (migration 0002), and
//! [`detect`] fills [`Regression::acknowledged`] from it.
//!
//! Cost: one ordered query over the newest [`Options::history_runs`] runs, then O(K) expected
//! (O(K²) worst case) work per series with `K = max_points`.

pub mod analyze;
pub mod changepoint;
pub mod stats;

use std::collections::HashMap;

use serde::Serialize;
use sqlx::SqlitePool;

pub use analyze::{Polarity, Step, polarity};

/// Which two-sample test confirms a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TwoSampleTest {
    /// Mann–Whitney U (rank-based, robust to outliers and skew). The default.
    MannWhitney,
    /// Welch's unequal-variance t-test.
    Welch,
}

impl TwoSampleTest {
    /// Human-readable name, used in [`Regression::method`].
    pub fn name(self) -> &'static str {
        match self {
            TwoSampleTest::MannWhitney => "Mann–Whitney U",
            TwoSampleTest::Welch => "Welch t-test",
        }
    }
}

/// Detector settings. [`Options::default`] is what `cockpit regressions` and the dashboard use.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Options {
    /// How many of the newest runs are read (default 400: 200 points per series even when runs
    /// alternate between two boards). Older runs are ignored.
    pub history_runs: u32,
    /// At most this many newest points per series are analysed (default 200); bounds the
    /// change-point search.
    pub max_points: usize,
    /// Size of the newest window compared against the baseline (default 5 runs).
    pub newest: usize,
    /// Size of the baseline window, and the most points taken on each side of a change for its
    /// test (default 30).
    pub baseline: usize,
    /// Significance level of the two-sample test (default 0.05).
    pub alpha: f64,
    /// Minimum relative change of medians for a noisy metric, 0.05 = 5 % (default). Deterministic
    /// metrics ignore it.
    pub min_effect: f64,
    /// Minimum change of medians for a noisy metric in units of its noise σ (MAD of first
    /// differences), default 2.0. Together with `alpha` it keeps the false-positive rate per
    /// series low although several tests run on each.
    pub min_sigmas: f64,
    /// PELT penalty per change point, in units of `ln n` noise variances (default 3.0).
    pub penalty: f64,
    /// Minimum number of points in a PELT segment (default 4, so a test has ≥ 4 samples a side).
    pub min_segment: usize,
    /// The confirming two-sample test (default Mann–Whitney U).
    pub test: TwoSampleTest,
    /// 1 − coverage of a change's location interval, i.e. of the suspected commit range
    /// (default 0.01).
    pub location_alpha: f64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            history_runs: 400,
            max_points: 200,
            newest: 5,
            baseline: 30,
            alpha: 0.05,
            min_effect: 0.05,
            min_sigmas: 2.0,
            penalty: 3.0,
            min_segment: 4,
            test: TwoSampleTest::MannWhitney,
            location_alpha: 0.01,
        }
    }
}

/// Whether a change makes things worse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Worse (gates CI unless acknowledged).
    Regression,
    /// Better (reported, never gates).
    Improvement,
}

/// A run at one end of a suspected commit range.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CommitPoint {
    /// Run id.
    pub run_id: i64,
    /// Commit the run tested, if recorded.
    pub commit: Option<String>,
    /// Start of the run, Unix epoch milliseconds.
    pub started_at_ms: i64,
}

/// An acknowledgement: the regression is known and accepted, so it no longer alerts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ack {
    /// Who acknowledged it.
    pub who: String,
    /// Why (free text).
    pub why: String,
    /// When, Unix epoch milliseconds.
    pub at_ms: i64,
}

/// A detected step change in one series.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Regression {
    /// Stable id `test|metric|board_kind|board_id|first_bad_run_id`, each text field with `%`
    /// and `|` percent-escaped (`%25`, `%7C`). Pass it to [`acknowledge`].
    pub key: String,
    /// Test name.
    pub test_name: String,
    /// Metric name, e.g. `cycles`, `pin13.pulse_high_ms`.
    pub metric: String,
    /// Metric unit (of the newest point), e.g. `ms`.
    pub unit: String,
    /// Board kind (`sim`, `emu`, `probe`).
    pub board_kind: String,
    /// Board id.
    pub board_id: String,
    /// Regression or improvement.
    pub direction: Direction,
    /// Median before the change, in `unit`.
    pub baseline: f64,
    /// Median after the change, in `unit`.
    pub current: f64,
    /// Relative change `(current − baseline) / |baseline|`: 0.12 = +12 % (±1 when the
    /// baseline is 0).
    pub effect: f64,
    /// Confidence in `[0, 1]`: `1 − p` of the two-sample test; 1 for deterministic metrics.
    pub confidence: f64,
    /// How it was found, e.g. `PELT change point + Mann–Whitney U`.
    pub method: String,
    /// Last run before the suspected range (surely good); `None` if the change is at the first
    /// analysed point.
    pub last_good: Option<CommitPoint>,
    /// First run surely after the change. The culprit is in `last_good` (exclusive) …
    /// `first_bad` (inclusive).
    pub first_bad: CommitPoint,
    /// The acknowledgement, if any (an ack of this key, or of the same series at a run inside
    /// this suspected range — the estimate may move a little as runs arrive).
    pub acknowledged: Option<Ack>,
}

/// Percent-escapes `%` and `|` so the key splits unambiguously.
fn escape(s: &str) -> String {
    s.replace('%', "%25").replace('|', "%7C")
}

fn unescape(s: &str) -> String {
    s.replace("%7C", "|")
        .replace("%7c", "|")
        .replace("%25", "%")
}

/// The key of a regression in series `(test, metric, kind, id)` whose first bad run is `run_id`.
pub fn make_key(test: &str, metric: &str, kind: &str, id: &str, run_id: i64) -> String {
    format!(
        "{}|{}|{}|{}|{run_id}",
        escape(test),
        escape(metric),
        escape(kind),
        escape(id)
    )
}

/// Splits a key made by [`make_key`]; `None` if it is malformed.
pub fn parse_key(key: &str) -> Option<(String, String, String, String, i64)> {
    let parts: Vec<&str> = key.split('|').collect();
    if parts.len() != 5 {
        return None;
    }
    let run_id = parts[4].parse().ok()?;
    Some((
        unescape(parts[0]),
        unescape(parts[1]),
        unescape(parts[2]),
        unescape(parts[3]),
        run_id,
    ))
}

/// One series as read from the store.
struct SeriesData {
    test_name: String,
    metric: String,
    unit: String,
    board_kind: String,
    board_id: String,
    runs: Vec<i64>,
    values: Vec<f64>,
}

struct AckRow {
    key: String,
    series: String,
    run_id: i64,
    ack: Ack,
}

/// Detects regressions and improvements in every series of the store at `pool` (schema:
/// `migrations/`, including 0002's `regression_acks`).
///
/// Reads the metrics of results with verdict `pass` or `fail` (an `error` result could not be
/// measured) in the newest `opts.history_runs` runs with one query ordered by run, groups them
/// into series, keeps each series' newest `opts.max_points` points and analyses them as
/// described in the [module docs](self). Returns regressions first (newest first bad run
/// first), then improvements; acknowledged ones are included with [`Regression::acknowledged`]
/// set.
///
/// Errors: any database error (e.g. a store without migration 0002).
pub async fn detect(pool: &SqlitePool, opts: &Options) -> Result<Vec<Regression>, sqlx::Error> {
    // Memo: the same store (a file, not `:memory:`), unchanged since the last call with the
    // same options, gives the same answer without re-reading the series.
    let file = pool
        .connect_options()
        .get_filename()
        .to_string_lossy()
        .into_owned();
    let cacheable = !file.is_empty() && !file.contains(":memory:");
    let fp: (Option<i64>, i64, Option<i64>, i64, i64, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT max(id) FROM runs), (SELECT count(*) FROM runs),
                (SELECT max(id) FROM test_results), (SELECT count(*) FROM test_results),
                (SELECT count(*) FROM regression_acks), (SELECT max(at_ms) FROM regression_acks)",
    )
    .fetch_one(pool)
    .await?;
    let fingerprint = format!("{file}\n{fp:?}\n{opts:?}");
    if cacheable
        && let Some((f, cached)) = &*MEMO.lock().unwrap_or_else(|e| e.into_inner())
        && *f == fingerprint
    {
        return Ok(cached.clone());
    }
    let out = detect_uncached(pool, opts).await?;
    if cacheable {
        *MEMO.lock().unwrap_or_else(|e| e.into_inner()) = Some((fingerprint, out.clone()));
    }
    Ok(out)
}

/// The last [`detect`] answer and the store fingerprint (file, newest/count of runs, results
/// and acknowledgements, options) it was computed for.
static MEMO: std::sync::Mutex<Option<(String, Vec<Regression>)>> = std::sync::Mutex::new(None);

async fn detect_uncached(
    pool: &SqlitePool,
    opts: &Options,
) -> Result<Vec<Regression>, sqlx::Error> {
    use sqlx::Row;

    let offset = i64::from(opts.history_runs.max(1)) - 1;
    let min_run: i64 = sqlx::query_scalar("SELECT id FROM runs ORDER BY id DESC LIMIT 1 OFFSET ?")
        .bind(offset)
        .fetch_optional(pool)
        .await?
        .unwrap_or(i64::MIN);

    let mut runs: HashMap<i64, (Option<String>, i64)> = HashMap::new();
    for (id, commit, started) in sqlx::query_as::<_, (i64, Option<String>, i64)>(
        "SELECT id, git_commit, started_at_ms FROM runs WHERE id >= ?",
    )
    .bind(min_run)
    .fetch_all(pool)
    .await?
    {
        runs.insert(id, (commit, started));
    }

    // Results of the window: (test, board) group and run of each.
    struct Group {
        test_name: String,
        board_kind: String,
        board_id: String,
        /// (metric name, series index)
        metrics: Vec<(String, usize)>,
    }
    let mut groups: Vec<Group> = Vec::new();
    let mut group_index: HashMap<(String, String, String), usize> = HashMap::new();
    let mut result_of: HashMap<i64, (usize, i64)> = HashMap::new();
    for (id, run_id, test, kind, board) in sqlx::query_as::<_, (i64, i64, String, String, String)>(
        "SELECT id, run_id, test_name, board_kind, board_id FROM test_results
         WHERE run_id >= ? AND verdict NOT IN ('error', 'infra_error')",
    )
    .bind(min_run)
    .fetch_all(pool)
    .await?
    {
        let key = (test, kind, board);
        let g = match group_index.get(&key) {
            Some(&g) => g,
            None => {
                groups.push(Group {
                    test_name: key.0.clone(),
                    board_kind: key.1.clone(),
                    board_id: key.2.clone(),
                    metrics: Vec::new(),
                });
                group_index.insert(key, groups.len() - 1);
                groups.len() - 1
            }
        };
        result_of.insert(id, (g, run_id));
    }

    // Their metrics, in run order; names borrowed from the rows (no allocation per row).
    let rows = sqlx::query(
        "SELECT m.result_id, m.name, m.unit, m.value
         FROM test_results t JOIN metrics m ON m.result_id = t.id
         WHERE t.run_id >= ? AND t.verdict NOT IN ('error', 'infra_error')
         ORDER BY t.run_id, t.id",
    )
    .bind(min_run)
    .fetch_all(pool)
    .await?;
    let mut series: Vec<SeriesData> = Vec::new();
    for row in &rows {
        let result_id: i64 = row.try_get(0)?;
        let name: &str = row.try_get(1)?;
        let value: f64 = row.try_get(3)?;
        let Some(&(g, run_id)) = result_of.get(&result_id) else {
            continue; // recorded after the results query
        };
        let group = &mut groups[g];
        let i = match group.metrics.iter().find(|(m, _)| m == name) {
            Some(&(_, i)) => i,
            None => {
                let unit: &str = row.try_get(2)?;
                series.push(SeriesData {
                    test_name: group.test_name.clone(),
                    metric: name.to_string(),
                    unit: unit.to_string(),
                    board_kind: group.board_kind.clone(),
                    board_id: group.board_id.clone(),
                    runs: Vec::new(),
                    values: Vec::new(),
                });
                group.metrics.push((name.to_string(), series.len() - 1));
                series.len() - 1
            }
        };
        let s = &mut series[i];
        if s.unit != row.try_get::<&str, _>(2)? {
            s.unit = row.try_get::<&str, _>(2)?.to_string();
        }
        s.runs.push(run_id);
        s.values.push(value);
    }
    drop(rows);

    let acks = load_acks(pool).await?;
    let point = |run_id: i64| {
        let (commit, started) = runs.get(&run_id).cloned().unwrap_or((None, 0));
        CommitPoint {
            run_id,
            commit,
            started_at_ms: started,
        }
    };

    let mut out = Vec::new();
    for s in &series {
        let skip = s.values.len().saturating_sub(opts.max_points);
        let (run_ids, values) = (&s.runs[skip..], &s.values[skip..]);
        for step in analyze::analyze(values, &s.metric, opts) {
            let first_bad = point(run_ids[step.first_bad]);
            let last_good = point(run_ids[step.last_good]);
            let key = make_key(
                &s.test_name,
                &s.metric,
                &s.board_kind,
                &s.board_id,
                first_bad.run_id,
            );
            let prefix = make_key(&s.test_name, &s.metric, &s.board_kind, &s.board_id, 0);
            let prefix = &prefix[..prefix.len() - 1];
            let acknowledged = acks
                .iter()
                .find(|a| {
                    a.key == key
                        || (a.series == prefix
                            && a.run_id > last_good.run_id
                            && a.run_id <= first_bad.run_id)
                })
                .map(|a| a.ack.clone());
            out.push(Regression {
                key,
                test_name: s.test_name.clone(),
                metric: s.metric.clone(),
                unit: s.unit.clone(),
                board_kind: s.board_kind.clone(),
                board_id: s.board_id.clone(),
                direction: step.direction,
                baseline: step.baseline,
                current: step.current,
                effect: step.effect,
                confidence: step.confidence,
                method: step.method,
                last_good: Some(last_good),
                first_bad,
                acknowledged,
            });
        }
    }
    out.sort_by(|a, b| {
        (a.direction == Direction::Improvement)
            .cmp(&(b.direction == Direction::Improvement))
            .then(b.first_bad.run_id.cmp(&a.first_bad.run_id))
            .then_with(|| a.key.cmp(&b.key))
    });
    Ok(out)
}

async fn load_acks(pool: &SqlitePool) -> Result<Vec<AckRow>, sqlx::Error> {
    let rows = sqlx::query_as::<
        _,
        (
            String,
            String,
            String,
            String,
            String,
            i64,
            String,
            String,
            i64,
        ),
    >(
        "SELECT key, test_name, metric, board_kind, board_id, first_bad_run_id, who, why, at_ms
         FROM regression_acks",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(key, test, metric, kind, id, run_id, who, why, at_ms)| {
            let prefix = make_key(&test, &metric, &kind, &id, 0);
            AckRow {
                key,
                series: prefix[..prefix.len() - 1].to_string(),
                run_id,
                ack: Ack { who, why, at_ms },
            }
        })
        .collect())
}

/// Acknowledges the regression `key` (from [`Regression::key`]) as `who` because `why`, now.
/// Acknowledging again replaces the earlier who/why/time.
///
/// Returns `Ok(false)` — and stores nothing — if the key is malformed or names no stored
/// point: the series must have a metric value in the key's run. Errors: database errors.
pub async fn acknowledge(
    pool: &SqlitePool,
    key: &str,
    who: &str,
    why: &str,
) -> Result<bool, sqlx::Error> {
    let Some((test, metric, kind, id, run_id)) = parse_key(key) else {
        return Ok(false);
    };
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM test_results t JOIN metrics m ON m.result_id = t.id
         WHERE t.run_id = ? AND t.test_name = ? AND t.board_kind = ? AND t.board_id = ?
           AND m.name = ?
         LIMIT 1",
    )
    .bind(run_id)
    .bind(&test)
    .bind(&kind)
    .bind(&id)
    .bind(&metric)
    .fetch_optional(pool)
    .await?;
    if found.is_none() {
        return Ok(false);
    }
    let at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    sqlx::query(
        "INSERT INTO regression_acks
            (key, test_name, metric, board_kind, board_id, first_bad_run_id, who, why, at_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET who = excluded.who, why = excluded.why,
                                         at_ms = excluded.at_ms",
    )
    .bind(key)
    .bind(&test)
    .bind(&metric)
    .bind(&kind)
    .bind(&id)
    .bind(run_id)
    .bind(who)
    .bind(why)
    .bind(at_ms)
    .execute(pool)
    .await?;
    Ok(true)
}

#[cfg(test)]
mod tests;
