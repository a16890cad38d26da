//! Read queries over the result store (schema in the repo-root `migrations/`).
//!
//! Every function takes the pool and returns plain, `Serialize` rows; the web layer turns them
//! into pages and JSON. Queries are runtime-checked `sqlx::query_as` with `FromRow` structs, so
//! the crate builds without a schema database; `tests/` run each one against a real migrated
//! store.
//!
//! "Run order" everywhere is the run id: ids are assigned by `cockpit run` as runs start, so
//! they increase with time on one store, and ordering by them uses the `(test_name, run_id)`
//! indices.

use serde::Serialize;
use sqlx::{FromRow, SqlitePool};

/// One row of the runs list (`/`, `/api/runs`).
#[derive(Clone, Debug, PartialEq, Serialize, FromRow)]
pub struct RunRow {
    /// Run id.
    pub id: i64,
    /// Start, Unix epoch milliseconds (UTC).
    pub started_at_ms: i64,
    /// End, Unix epoch milliseconds; `None` while running or if the run crashed.
    pub finished_at_ms: Option<i64>,
    /// Tested commit (`git rev-parse HEAD`), if known.
    pub commit: Option<String>,
    /// Subject line of that commit, if known.
    pub commit_message: Option<String>,
    /// Whether the work tree had uncommitted changes.
    pub dirty: bool,
    /// Host that ran the harness.
    pub host: String,
    /// Board kind of the run (`sim`, `emu`, `probe`).
    pub board_kind: String,
    /// Board id of the run.
    pub board_id: String,
    /// Passed tests: the totals recorded at the end of a finished run, else counted from the
    /// results recorded so far.
    pub passed: i64,
    /// Failed tests (same rule).
    pub failed: i64,
    /// Tests with an `error` or `infra_error` verdict (same rule).
    pub errors: i64,
    /// Of `errors`, those with an `infra_error` verdict: the board or its connection failed
    /// underneath the test, twice (same rule).
    pub infra_errors: i64,
}

/// A run with everything `/runs/{id}` shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunDetail {
    /// The run's row, as in the list.
    #[serde(flatten)]
    pub run: RunRow,
    /// Harness version that recorded the run.
    pub harness_version: String,
    /// Command line that started the run.
    pub command: String,
    /// Its test results, in recording order.
    pub results: Vec<ResultDetail>,
}

/// One test result of a run, with its checks and metrics.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResultDetail {
    /// Result id.
    pub id: i64,
    /// Test name (the plan's `name`).
    pub test_name: String,
    /// Plan file as recorded.
    pub plan_path: String,
    /// Board kind the test ran on.
    pub board_kind: String,
    /// Board id the test ran on.
    pub board_id: String,
    /// Serial number of a real board's debug probe; `None` for `sim` and `emu`.
    pub board_serial: Option<String>,
    /// What drove a real board, with its version (`probe-rs 0.32.0`); `None` for `sim`/`emu`.
    pub board_backend: Option<String>,
    /// `pass`, `fail`, `error` or `infra_error`.
    pub verdict: String,
    /// One-line failure summary (for `fail`/`error`/`infra_error`).
    pub failure: Option<String>,
    /// The first attempt's infrastructure failure when the test was run a second time after
    /// an `infra_error`; `None` when it ran once.
    pub retried_after: Option<String>,
    /// Wall-clock duration, milliseconds.
    pub duration_ms: f64,
    /// Console transcript, verbatim.
    pub console: String,
    /// Checks in plan order.
    pub checks: Vec<CheckRow>,
    /// Metrics in recorded order.
    pub metrics: Vec<MetricRow>,
}

#[derive(FromRow)]
struct ResultRow {
    id: i64,
    test_name: String,
    plan_path: String,
    board_kind: String,
    board_id: String,
    board_serial: Option<String>,
    board_backend: Option<String>,
    verdict: String,
    failure: Option<String>,
    retried_after: Option<String>,
    duration_ms: f64,
    console: String,
}

/// One evaluated check.
#[derive(Clone, Debug, PartialEq, Serialize, FromRow)]
pub struct CheckRow {
    /// Result the check belongs to.
    #[serde(skip)]
    pub result_id: i64,
    /// `compile`, `console`, `register`, `vm` or `timing`.
    pub kind: String,
    /// What was checked.
    pub name: String,
    /// Expected value, as text.
    pub expected: String,
    /// Observed value, as text.
    pub observed: String,
    /// Whether it held.
    pub passed: bool,
}

/// One measurement of a result.
#[derive(Clone, Debug, PartialEq, Serialize, FromRow)]
pub struct MetricRow {
    /// Result the metric belongs to.
    #[serde(skip)]
    pub result_id: i64,
    /// Metric name, e.g. `cycles`.
    pub name: String,
    /// Unit, e.g. `cycles`, `ms`.
    pub unit: String,
    /// Value.
    pub value: f64,
}

/// The columns of [`RunRow`], over `runs r` (a macro so queries stay `&'static str`).
macro_rules! run_columns {
    () => {
        "r.id, r.started_at_ms, r.finished_at_ms, r.git_commit AS \"commit\",
       r.commit_message, r.git_dirty AS dirty, r.host, r.board_kind, r.board_id,
       CASE WHEN r.finished_at_ms IS NOT NULL THEN r.passed
            ELSE (SELECT COUNT(*) FROM test_results t WHERE t.run_id = r.id AND t.verdict = 'pass') END AS passed,
       CASE WHEN r.finished_at_ms IS NOT NULL THEN r.failed
            ELSE (SELECT COUNT(*) FROM test_results t WHERE t.run_id = r.id AND t.verdict = 'fail') END AS failed,
       CASE WHEN r.finished_at_ms IS NOT NULL THEN r.errors + r.infra_errors
            ELSE (SELECT COUNT(*) FROM test_results t
                  WHERE t.run_id = r.id AND t.verdict IN ('error', 'infra_error')) END AS errors,
       CASE WHEN r.finished_at_ms IS NOT NULL THEN r.infra_errors
            ELSE (SELECT COUNT(*) FROM test_results t
                  WHERE t.run_id = r.id AND t.verdict = 'infra_error') END AS infra_errors"
    };
}

/// Number of runs in the store.
pub async fn count_runs(pool: &SqlitePool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM runs")
        .fetch_one(pool)
        .await
}

/// A page of runs, newest first (by run id), skipping `offset` and returning at most `limit`.
pub async fn runs(pool: &SqlitePool, limit: i64, offset: i64) -> Result<Vec<RunRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        run_columns!(),
        " FROM runs r ORDER BY r.id DESC LIMIT ? OFFSET ?"
    ))
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
}

/// Run `id` with its results, checks and metrics; `None` if there is no such run.
pub async fn run_detail(pool: &SqlitePool, id: i64) -> Result<Option<RunDetail>, sqlx::Error> {
    #[derive(FromRow)]
    struct Extra {
        harness_version: String,
        command: String,
    }
    let Some(run) = sqlx::query_as::<_, RunRow>(concat!(
        "SELECT ",
        run_columns!(),
        " FROM runs r WHERE r.id = ?"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let extra: Extra = sqlx::query_as("SELECT harness_version, command FROM runs WHERE id = ?")
        .bind(id)
        .fetch_one(pool)
        .await?;
    let rows: Vec<ResultRow> = sqlx::query_as(
        "SELECT id, test_name, plan_path, board_kind, board_id, board_serial, board_backend,
                verdict, failure, retried_after, duration_ms, console
         FROM test_results WHERE run_id = ? ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let checks: Vec<CheckRow> = sqlx::query_as(
        "SELECT c.result_id, c.kind, c.name, c.expected, c.observed, c.passed
         FROM checks c JOIN test_results t ON t.id = c.result_id
         WHERE t.run_id = ? ORDER BY c.result_id, c.seq",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let metrics: Vec<MetricRow> = sqlx::query_as(
        "SELECT m.result_id, m.name, m.unit, m.value
         FROM metrics m JOIN test_results t ON t.id = m.result_id
         WHERE t.run_id = ? ORDER BY m.result_id, m.rowid",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let results = rows
        .into_iter()
        .map(|r| ResultDetail {
            checks: checks
                .iter()
                .filter(|c| c.result_id == r.id)
                .cloned()
                .collect(),
            metrics: metrics
                .iter()
                .filter(|m| m.result_id == r.id)
                .cloned()
                .collect(),
            id: r.id,
            test_name: r.test_name,
            plan_path: r.plan_path,
            board_kind: r.board_kind,
            board_id: r.board_id,
            board_serial: r.board_serial,
            board_backend: r.board_backend,
            verdict: r.verdict,
            failure: r.failure,
            retried_after: r.retried_after,
            duration_ms: r.duration_ms,
            console: r.console,
        })
        .collect();
    Ok(Some(RunDetail {
        run,
        harness_version: extra.harness_version,
        command: extra.command,
        results,
    }))
}

/// One result of a test in its history (`/tests/{name}`), oldest run first.
#[derive(Clone, Debug, PartialEq, Serialize, FromRow)]
pub struct TestRun {
    /// Result id.
    #[serde(skip)]
    pub result_id: i64,
    /// Run id.
    pub run_id: i64,
    /// Start of the run, Unix epoch milliseconds.
    pub started_at_ms: i64,
    /// Commit the run tested.
    pub commit: Option<String>,
    /// Subject line of that commit.
    pub commit_message: Option<String>,
    /// Board kind.
    pub board_kind: String,
    /// Board id.
    pub board_id: String,
    /// `pass`, `fail` or `error`.
    pub verdict: String,
    /// Wall-clock duration, milliseconds.
    pub duration_ms: f64,
}

/// The newest `limit` runs of test `name` (by run id) with the test's results in them, oldest
/// first, and the metrics of those results (`result_id`, in recorded order).
pub async fn test_history(
    pool: &SqlitePool,
    name: &str,
    limit: i64,
) -> Result<(Vec<TestRun>, Vec<MetricRow>), sqlx::Error> {
    // The oldest run id among the newest `limit` runs of the test; everything from there on.
    let since: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(run_id) FROM (SELECT DISTINCT run_id FROM test_results
                                  WHERE test_name = ? ORDER BY run_id DESC LIMIT ?)",
    )
    .bind(name)
    .bind(limit)
    .fetch_one(pool)
    .await?;
    let Some(since) = since else {
        return Ok((Vec::new(), Vec::new()));
    };
    let runs: Vec<TestRun> = sqlx::query_as(
        "SELECT t.id AS result_id, t.run_id, r.started_at_ms, r.git_commit AS \"commit\",
                r.commit_message, t.board_kind, t.board_id, t.verdict, t.duration_ms
         FROM test_results t JOIN runs r ON r.id = t.run_id
         WHERE t.test_name = ? AND t.run_id >= ?
         ORDER BY t.run_id, t.id",
    )
    .bind(name)
    .bind(since)
    .fetch_all(pool)
    .await?;
    let metrics: Vec<MetricRow> = sqlx::query_as(
        "SELECT m.result_id, m.name, m.unit, m.value
         FROM test_results t JOIN metrics m ON m.result_id = t.id
         WHERE t.test_name = ? AND t.run_id >= ?
         ORDER BY t.run_id, t.id, m.rowid",
    )
    .bind(name)
    .bind(since)
    .fetch_all(pool)
    .await?;
    Ok((runs, metrics))
}

/// One point of a metric's full history (the CSV export), oldest run first.
#[derive(Clone, Debug, PartialEq, Serialize, FromRow)]
pub struct MetricPoint {
    /// Run id.
    pub run_id: i64,
    /// Start of the run, Unix epoch milliseconds.
    pub started_at_ms: i64,
    /// Commit the run tested.
    pub commit: Option<String>,
    /// Board kind.
    pub board_kind: String,
    /// Board id.
    pub board_id: String,
    /// Value.
    pub value: f64,
    /// Unit.
    pub unit: String,
}

/// Every value of metric `metric` of test `test`, oldest run first (then result, then record
/// order).
pub async fn metric_history(
    pool: &SqlitePool,
    test: &str,
    metric: &str,
) -> Result<Vec<MetricPoint>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.run_id, r.started_at_ms, r.git_commit AS \"commit\", t.board_kind, t.board_id,
                m.value, m.unit
         FROM test_results t
         JOIN runs r ON r.id = t.run_id
         JOIN metrics m ON m.result_id = t.id
         WHERE t.test_name = ? AND m.name = ?
         ORDER BY t.run_id, t.id, m.rowid",
    )
    .bind(test)
    .bind(metric)
    .fetch_all(pool)
    .await
}

/// Whether any result of test `name` exists.
pub async fn test_exists(pool: &SqlitePool, name: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM test_results WHERE test_name = ?)")
        .bind(name)
        .fetch_one(pool)
        .await
}

/// One test of the store (`/tests`).
#[derive(Clone, Debug, PartialEq, Serialize, FromRow)]
pub struct TestSummary {
    /// Test name.
    pub test_name: String,
    /// Number of results recorded.
    pub results: i64,
    /// Newest run that recorded it.
    pub last_run_id: i64,
    /// Verdict in that run (of its last result there).
    pub last_verdict: String,
}

/// Every test name in the store, alphabetically, with its result count and latest verdict.
pub async fn tests(pool: &SqlitePool) -> Result<Vec<TestSummary>, sqlx::Error> {
    sqlx::query_as(
        "SELECT g.test_name, g.results, g.last_run_id,
                (SELECT verdict FROM test_results x WHERE x.test_name = g.test_name
                 ORDER BY x.run_id DESC, x.id DESC LIMIT 1) AS last_verdict
         FROM (SELECT test_name, COUNT(*) AS results, MAX(run_id) AS last_run_id
               FROM test_results GROUP BY test_name) g
         ORDER BY g.test_name",
    )
    .fetch_all(pool)
    .await
}

/// A board seen in the store (`/boards`, `/api/boards`).
#[derive(Clone, Debug, PartialEq, Serialize, FromRow)]
pub struct BoardRow {
    /// Board kind (`sim`, `emu`, `probe`).
    pub board_kind: String,
    /// Board id (`sim`, a probe serial, …).
    pub board_id: String,
    /// Runs in which the board ran at least one test.
    pub runs: i64,
    /// Test results recorded on the board.
    pub results: i64,
    /// Results that passed.
    pub passed: i64,
    /// Results that failed.
    pub failed: i64,
    /// Results with an `error` or `infra_error` verdict.
    pub errors: i64,
    /// Newest run on the board.
    pub last_run_id: i64,
    /// Start of that run, Unix epoch milliseconds.
    pub last_run_at_ms: i64,
}

/// Every (board kind, board id) that ran a test, by kind then id.
pub async fn boards(pool: &SqlitePool) -> Result<Vec<BoardRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT g.board_kind, g.board_id, g.runs, g.results, g.passed, g.failed, g.errors,
                g.last_run_id, r.started_at_ms AS last_run_at_ms
         FROM (SELECT board_kind, board_id, COUNT(DISTINCT run_id) AS runs, COUNT(*) AS results,
                      SUM(verdict = 'pass') AS passed, SUM(verdict = 'fail') AS failed,
                      SUM(verdict IN ('error', 'infra_error')) AS errors,
                      MAX(run_id) AS last_run_id
               FROM test_results GROUP BY board_kind, board_id) g
         JOIN runs r ON r.id = g.last_run_id
         ORDER BY g.board_kind, g.board_id",
    )
    .fetch_all(pool)
    .await
}
