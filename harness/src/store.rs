//! The result store: every run, test, check and metric in one SQLite file.
//!
//! Schema (repo-root `migrations/`, applied automatically by [`Store::open`]):
//!
//! * `runs` — one row per `cockpit run`: who/what/where ([`RunInfo`]) and, once finished, the
//!   end time and totals ([`Summary`]). `finished_at_ms` stays `NULL` if the run crashed; the tests it
//!   recorded are kept.
//! * `test_results` — one row per test (plan × board), with verdict (`pass`, `fail`, `error`,
//!   `infra_error`), failure summary, wall duration (ms), the console transcript (stored
//!   verbatim), the board's probe serial and backend, and the first attempt's failure of a test
//!   that was retried after an infrastructure failure.
//! * `checks` — the evaluated checks of a result, in plan order (`seq` from 0).
//! * `metrics` — the measurements of a result (`name`, `unit`, `value`).
//!
//! Times are Unix epoch milliseconds (UTC). Queries are the compile-checked `sqlx::query!`
//! macros, checked against a schema DB that `harness/build.rs` builds from `migrations/`.
//!
//! The connection runs in WAL mode with `synchronous=NORMAL`, foreign keys on and a 5 s busy
//! timeout, so a dashboard can read while a run writes, and two runs can share one file.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sqlx::SqlitePool;

use crate::result::{CheckKind, CheckResult, Metric, Summary, TestResult, Verdict};

/// How long a statement waits for another connection's lock before failing with "database is
/// locked".
pub use cockpit_dashboard::BUSY_TIMEOUT;

/// Errors of the result store. Each names the database file and the operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file (or its folder) could not be created or opened.
    #[error("result store {}: cannot open: {source}", path.display())]
    Open {
        /// Database file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: sqlx::Error,
    },
    /// The folder that should hold the database could not be created.
    #[error("result store {}: cannot create its folder: {source}", path.display())]
    CreateDir {
        /// Database file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Applying the schema migrations failed (e.g. the file was made by a newer harness whose
    /// migrations this one lacks, or a migration file was edited after it was applied).
    #[error("result store {}: cannot apply schema migrations: {source}", path.display())]
    Migrate {
        /// Database file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("result store {}: {operation} failed: {source}", path.display())]
    Query {
        /// Database file.
        path: PathBuf,
        /// What was being done, e.g. `record test "blinky" in run 3`.
        operation: String,
        /// Underlying error.
        #[source]
        source: sqlx::Error,
    },
    /// The call's arguments or the stored data are not acceptable.
    #[error("result store {}: {operation}: {reason}", path.display())]
    Invalid {
        /// Database file.
        path: PathBuf,
        /// What was being done.
        operation: String,
        /// Why it was refused.
        reason: String,
    },
}

/// Identity of a run, recorded by [`Store::begin_run`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunInfo {
    /// `git rev-parse HEAD` of the tested tree, if it is a git work tree.
    pub git_commit: Option<String>,
    /// Subject line of that commit (`git log -1 --format=%s`), if known.
    pub commit_message: Option<String>,
    /// Whether the work tree had uncommitted changes.
    pub git_dirty: bool,
    /// Host name of the machine that ran the harness.
    pub host: String,
    /// Board kind of the run (`"sim"`, `"emu"`, `"probe"`); per-test boards are in each result.
    pub board_kind: String,
    /// Board id of the run (`"sim"`, a probe serial, …).
    pub board_id: String,
    /// Version of the harness (`CARGO_PKG_VERSION`, possibly with a git suffix).
    pub harness_version: String,
    /// Start time, Unix epoch milliseconds.
    pub started_at_ms: i64,
    /// The command line that started the run, for the record.
    pub command: String,
}

/// One point of a test's history (see [`Store::history`]): one metric value of one result, or
/// a result that recorded no metric (`metric`, `unit` and `value` all `None`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryRow {
    /// Run that produced the value.
    pub run_id: i64,
    /// Start of that run, Unix epoch milliseconds.
    pub started_at_ms: i64,
    /// Commit the run tested, if known.
    pub git_commit: Option<String>,
    /// Board kind the test ran on.
    pub board_kind: String,
    /// Board id the test ran on.
    pub board_id: String,
    /// The test's verdict in that run: `"pass"`, `"fail"`, `"error"` or `"infra_error"`.
    pub verdict: String,
    /// Metric name, e.g. `cycles` or `pin13.pulse_high_ms`; `None` for a result without metrics.
    pub metric: Option<String>,
    /// Metric unit, e.g. `count`, `cycles`, `ms`; `None` for a result without metrics.
    pub unit: Option<String>,
    /// Metric value in that unit; `None` for a result without metrics.
    pub value: Option<f64>,
}

/// A run as stored: its id, identity and, if it finished, its end time and totals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredRun {
    /// Run id (from [`Store::begin_run`]).
    pub id: i64,
    /// What [`Store::begin_run`] recorded.
    pub info: RunInfo,
    /// End time recorded by [`Store::finish_run`], Unix epoch milliseconds; `None` if the run
    /// never finished (crash, Ctrl-C). Set exactly when `summary` is.
    pub finished_at_ms: Option<i64>,
    /// Totals recorded by [`Store::finish_run`]; `None` if the run never finished.
    pub summary: Option<Summary>,
}

/// A test result as stored (see [`Store::results`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoredResult {
    /// Result id (row of `test_results`).
    pub id: i64,
    /// Run the result belongs to.
    pub run_id: i64,
    /// Test name (the plan's `name`).
    pub test_name: String,
    /// Plan path as recorded (lossily converted to UTF-8).
    pub plan_path: String,
    /// Board kind.
    pub board_kind: String,
    /// Board id.
    pub board_id: String,
    /// The board's debug-probe serial ([`crate::target::TargetInfo::serial`]).
    pub board_serial: Option<String>,
    /// What drove the board, with its version ([`crate::target::TargetInfo::backend`]).
    pub board_backend: Option<String>,
    /// Verdict.
    pub verdict: Verdict,
    /// One-line failure summary, for `fail`/`error`/`infra_error`.
    pub failure: Option<String>,
    /// The first attempt's infrastructure failure, when the test was retried
    /// ([`TestResult::retried_after`]).
    pub retried_after: Option<String>,
    /// Wall-clock duration of the test, milliseconds.
    pub duration_ms: f64,
    /// Console transcript.
    pub console: String,
    /// Checks, in plan order.
    pub checks: Vec<CheckResult>,
    /// Metrics, in recorded order.
    pub metrics: Vec<Metric>,
}

/// An open result store. Cheap to clone (a connection pool handle); safe to share across tasks.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
}

impl Store {
    /// Opens the SQLite database at `path`, creating the file (and its folder) if missing, and
    /// applies any schema migration not yet applied, through `cockpit_dashboard::open_pool` (the
    /// one way the store is opened, safe against concurrent openers). Reopening an up-to-date
    /// file applies none.
    ///
    /// Errors: [`StoreError::CreateDir`], [`StoreError::Open`] (not a database, no permission),
    /// [`StoreError::Migrate`] (e.g. a file written by a newer harness).
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: path.to_owned(),
                source,
            })?;
        }
        let pool = cockpit_dashboard::open_pool(path)
            .await
            .map_err(|e| match e {
                cockpit_dashboard::Error::Migrate { path, source } => {
                    StoreError::Migrate { path, source }
                }
                cockpit_dashboard::Error::Open { path, source } => {
                    StoreError::Open { path, source }
                }
                other => StoreError::Open {
                    path: path.to_owned(),
                    source: sqlx::Error::Configuration(other.to_string().into()),
                },
            })?;
        Ok(Store {
            pool,
            path: path.to_owned(),
        })
    }

    /// The database file this store was opened on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes every connection, checkpointing the WAL. Dropping the store also works, but
    /// leaves the `-wal`/`-shm` files until the next open.
    pub async fn close(self) {
        self.pool.close().await;
    }

    fn query_err(&self, operation: impl Into<String>) -> impl FnOnce(sqlx::Error) -> StoreError {
        let path = self.path.clone();
        let operation = operation.into();
        move |source| StoreError::Query {
            path,
            operation,
            source,
        }
    }

    fn invalid(&self, operation: impl Into<String>, reason: impl Into<String>) -> StoreError {
        StoreError::Invalid {
            path: self.path.clone(),
            operation: operation.into(),
            reason: reason.into(),
        }
    }

    /// Records the start of a run and returns its id (positive, increasing with each run).
    /// Until [`Store::finish_run`] the run counts as unfinished (`finished_at_ms` NULL).
    pub async fn begin_run(&self, info: &RunInfo) -> Result<i64, StoreError> {
        let rec = sqlx::query!(
            r#"INSERT INTO runs (started_at_ms, git_commit, commit_message, git_dirty, host,
                                 board_kind, board_id, harness_version, command)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               RETURNING id AS "id!: i64""#,
            info.started_at_ms,
            info.git_commit,
            info.commit_message,
            info.git_dirty,
            info.host,
            info.board_kind,
            info.board_id,
            info.harness_version,
            info.command,
        )
        .fetch_one(&self.pool)
        .await
        .map_err(self.query_err("begin run"))?;
        Ok(rec.id)
    }

    /// Records one test result of run `run_id` — the result row, its checks (with their plan
    /// order) and its metrics — in one transaction, committed before returning, so a crash
    /// later in the run keeps it. Text (console, failure, check fields) is stored verbatim.
    ///
    /// Errors: [`StoreError::Invalid`] if a metric value is NaN (SQLite cannot store it; nothing
    /// is written), [`StoreError::Query`] if `run_id` does not exist or the write fails (nothing
    /// is written either).
    pub async fn record_test(&self, run_id: i64, result: &TestResult) -> Result<(), StoreError> {
        let operation = format!("record test {:?} in run {run_id}", result.test_name);
        if let Some(m) = result.metrics.iter().find(|m| m.value.is_nan()) {
            return Err(self.invalid(operation, format!("metric {:?} is NaN", m.name)));
        }
        let plan_path = result.plan_path.to_string_lossy();
        let verdict = result.verdict.as_str();
        let duration_ms = result.duration.as_secs_f64() * 1000.0;

        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(self.query_err(operation.clone()))?;
        let rec = sqlx::query!(
            r#"INSERT INTO test_results (run_id, test_name, plan_path, board_kind, board_id,
                                         board_serial, board_backend, verdict, failure,
                                         retried_after, duration_ms, console)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               RETURNING id AS "id!: i64""#,
            run_id,
            result.test_name,
            plan_path,
            result.board.kind,
            result.board.id,
            result.board.serial,
            result.board.backend,
            verdict,
            result.failure,
            result.retried_after,
            duration_ms,
            result.console,
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(self.query_err(operation.clone()))?;
        let result_id = rec.id;

        for (seq, check) in result.checks.iter().enumerate() {
            let seq = seq as i64;
            let kind = check.kind.as_str();
            sqlx::query!(
                "INSERT INTO checks (result_id, seq, kind, name, expected, observed, passed)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
                result_id,
                seq,
                kind,
                check.name,
                check.expected,
                check.observed,
                check.passed,
            )
            .execute(&mut *tx)
            .await
            .map_err(self.query_err(operation.clone()))?;
        }
        for metric in &result.metrics {
            sqlx::query!(
                "INSERT INTO metrics (result_id, name, unit, value) VALUES (?, ?, ?, ?)",
                result_id,
                metric.name,
                metric.unit,
                metric.value,
            )
            .execute(&mut *tx)
            .await
            .map_err(self.query_err(operation.clone()))?;
        }
        tx.commit().await.map_err(self.query_err(operation))?;
        Ok(())
    }

    /// Marks run `run_id` finished at `finished_at_ms` (Unix epoch milliseconds) with its
    /// totals. Calling it again overwrites both.
    ///
    /// Errors: [`StoreError::Invalid`] if there is no such run, [`StoreError::Query`] on a
    /// database error.
    pub async fn finish_run(
        &self,
        run_id: i64,
        finished_at_ms: i64,
        summary: &Summary,
    ) -> Result<(), StoreError> {
        let operation = format!("finish run {run_id}");
        let (passed, failed, errors, infra_errors) = (
            i64::from(summary.passed),
            i64::from(summary.failed),
            i64::from(summary.errors),
            i64::from(summary.infra_errors),
        );
        let done = sqlx::query!(
            "UPDATE runs SET finished_at_ms = ?, passed = ?, failed = ?, errors = ?,
                             infra_errors = ?
             WHERE id = ?",
            finished_at_ms,
            passed,
            failed,
            errors,
            infra_errors,
            run_id,
        )
        .execute(&self.pool)
        .await
        .map_err(self.query_err(operation.clone()))?;
        if done.rows_affected() == 0 {
            return Err(self.invalid(operation, "no such run"));
        }
        Ok(())
    }

    /// The history of test `test_name` over its `limit` newest runs, newest run first (by run
    /// start time, then run id). Only runs with at least one selected row count towards
    /// `limit`, and each contributes all its rows: one per (result, metric), in metric-name
    /// order within a result, and one row without a metric for a result that recorded none (a
    /// compile error, an `error` or `infra_error` before the run), so a run where the test did
    /// not run still shows. `metric` keeps only that metric (results without it do not appear);
    /// `board_kind` keeps only results from that board kind. Unfinished runs are included.
    /// `limit = 0` returns no rows.
    pub async fn history(
        &self,
        test_name: &str,
        metric: Option<&str>,
        board_kind: Option<&str>,
        limit: u32,
    ) -> Result<Vec<HistoryRow>, StoreError> {
        let limit = i64::from(limit);
        let rows = sqlx::query_as!(
            HistoryRow,
            r#"WITH selected AS (
                   SELECT r.id AS run_id, r.started_at_ms, r.git_commit,
                          t.id AS result_id, t.board_kind, t.board_id, t.verdict,
                          m.name AS metric, m.unit, m.value, m.rowid AS metric_row
                   FROM test_results t
                   JOIN runs r ON r.id = t.run_id
                   LEFT JOIN metrics m ON m.result_id = t.id
                   WHERE t.test_name = ?1
                     AND (?2 IS NULL OR m.name = ?2)
                     AND (?3 IS NULL OR t.board_kind = ?3)
               ),
               recent AS (
                   SELECT DISTINCT run_id, started_at_ms FROM selected
                   ORDER BY started_at_ms DESC, run_id DESC
                   LIMIT ?4
               )
               SELECT s.run_id AS "run_id!: i64", s.started_at_ms AS "started_at_ms!: i64",
                      s.git_commit, s.board_kind AS "board_kind!: String",
                      s.board_id AS "board_id!: String", s.verdict AS "verdict!: String",
                      s.metric AS "metric?: String", s.unit AS "unit?: String",
                      s.value AS "value?: f64"
               FROM selected s
               WHERE s.run_id IN (SELECT run_id FROM recent)
               ORDER BY s.started_at_ms DESC, s.run_id DESC, s.result_id DESC, s.metric ASC,
                        s.metric_row ASC"#,
            test_name,
            metric,
            board_kind,
            limit,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(self.query_err(format!("history of test {test_name:?}")))?;
        Ok(rows)
    }

    /// Run `run_id` as stored, or `None` if there is no such run.
    pub async fn run(&self, run_id: i64) -> Result<Option<StoredRun>, StoreError> {
        let operation = format!("read run {run_id}");
        let row = sqlx::query!(
            r#"SELECT id AS "id!: i64", started_at_ms, finished_at_ms, git_commit, commit_message,
                      git_dirty AS "git_dirty: bool", host, board_kind, board_id,
                      harness_version, command, passed, failed, errors, infra_errors
               FROM runs WHERE id = ?"#,
            run_id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(self.query_err(operation.clone()))?;
        let Some(r) = row else { return Ok(None) };
        let count = |n: i64, what: &str| {
            u32::try_from(n).map_err(|_| self.invalid(operation.clone(), format!("{what} = {n}")))
        };
        let summary = match r.finished_at_ms {
            Some(_) => Some(Summary {
                passed: count(r.passed, "passed")?,
                failed: count(r.failed, "failed")?,
                errors: count(r.errors, "errors")?,
                infra_errors: count(r.infra_errors, "infra_errors")?,
            }),
            None => None,
        };
        Ok(Some(StoredRun {
            id: r.id,
            info: RunInfo {
                git_commit: r.git_commit,
                commit_message: r.commit_message,
                git_dirty: r.git_dirty,
                host: r.host,
                board_kind: r.board_kind,
                board_id: r.board_id,
                harness_version: r.harness_version,
                started_at_ms: r.started_at_ms,
                command: r.command,
            },
            finished_at_ms: r.finished_at_ms,
            summary,
        }))
    }

    /// Every test result of run `run_id`, in recording order, with checks and metrics.
    /// Empty if the run has none (or does not exist).
    pub async fn results(&self, run_id: i64) -> Result<Vec<StoredResult>, StoreError> {
        let operation = format!("read results of run {run_id}");
        let rows = sqlx::query!(
            r#"SELECT id AS "id!: i64", run_id, test_name, plan_path, board_kind, board_id,
                      board_serial, board_backend, verdict, failure, retried_after, duration_ms,
                      console
               FROM test_results WHERE run_id = ? ORDER BY id"#,
            run_id
        )
        .fetch_all(&self.pool)
        .await
        .map_err(self.query_err(operation.clone()))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let checks = sqlx::query!(
                r#"SELECT kind, name, expected, observed, passed AS "passed: bool"
                   FROM checks WHERE result_id = ? ORDER BY seq"#,
                r.id
            )
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_err(operation.clone()))?
            .into_iter()
            .map(|c| {
                Ok(CheckResult {
                    kind: parse_kind(&c.kind).ok_or_else(|| {
                        self.invalid(&operation, format!("check kind {:?}", c.kind))
                    })?,
                    name: c.name,
                    expected: c.expected,
                    observed: c.observed,
                    passed: c.passed,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
            let metrics = sqlx::query_as!(
                Metric,
                "SELECT name, unit, value FROM metrics WHERE result_id = ? ORDER BY rowid",
                r.id
            )
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_err(operation.clone()))?;
            let verdict = Verdict::parse(&r.verdict)
                .ok_or_else(|| self.invalid(&operation, format!("verdict {:?}", r.verdict)))?;
            out.push(StoredResult {
                id: r.id,
                run_id: r.run_id,
                test_name: r.test_name,
                plan_path: r.plan_path,
                board_kind: r.board_kind,
                board_id: r.board_id,
                board_serial: r.board_serial,
                board_backend: r.board_backend,
                verdict,
                failure: r.failure,
                retried_after: r.retried_after,
                duration_ms: r.duration_ms,
                console: r.console,
                checks,
                metrics,
            });
        }
        Ok(out)
    }
}

fn parse_kind(s: &str) -> Option<CheckKind> {
    [
        CheckKind::Compile,
        CheckKind::Console,
        CheckKind::Register,
        CheckKind::Vm,
        CheckKind::Timing,
    ]
    .into_iter()
    .find(|k| k.as_str() == s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::TargetInfo;
    use std::time::Duration;

    fn info(started_at_ms: i64, commit: &str, board_kind: &str) -> RunInfo {
        RunInfo {
            git_commit: Some(commit.to_owned()),
            commit_message: Some(format!("subject of {commit}")),
            git_dirty: false,
            host: "ci-host".to_owned(),
            board_kind: board_kind.to_owned(),
            board_id: format!("{board_kind}-0"),
            harness_version: "0.1.0".to_owned(),
            started_at_ms,
            command: "cockpit run test-plans".to_owned(),
        }
    }

    fn result(
        name: &str,
        board_kind: &str,
        verdict: Verdict,
        metrics: &[(&str, f64)],
    ) -> TestResult {
        TestResult {
            test_name: name.to_owned(),
            plan_path: PathBuf::from(format!("test-plans/{name}.toml")),
            board: TargetInfo::new(board_kind, format!("{board_kind}-0")),
            verdict,
            failure: (verdict != Verdict::Pass).then(|| "console: missing \"done\"".to_owned()),
            retried_after: None,
            checks: vec![
                CheckResult {
                    kind: CheckKind::Console,
                    name: "contains \"done\"".to_owned(),
                    expected: "done".to_owned(),
                    observed: "done\n".to_owned(),
                    passed: true,
                },
                CheckResult {
                    kind: CheckKind::Register,
                    name: "GPIOC.MODER & 0x3000".to_owned(),
                    expected: "0x00001000".to_owned(),
                    observed: "0x00000000".to_owned(),
                    passed: verdict == Verdict::Pass,
                },
                CheckResult {
                    kind: CheckKind::Timing,
                    name: "pin 13 pulse_width high".to_owned(),
                    expected: "500 ± 1 ms".to_owned(),
                    observed: "500.000 ms".to_owned(),
                    passed: true,
                },
            ],
            metrics: metrics
                .iter()
                .map(|&(n, v)| Metric {
                    name: n.to_owned(),
                    unit: if n == "cycles" { "cycles" } else { "ms" }.to_owned(),
                    value: v,
                })
                .collect(),
            console: "hello\ndone\n".to_owned(),
            log: Vec::new(),
            fault_record: None,
            duration: Duration::from_micros(12_345),
        }
    }

    async fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("results.db")).await.unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn round_trip_run_with_checks_and_metrics() {
        let (_dir, store) = temp_store().await;
        let mut run_info = info(1_700_000_000_000, "abc123", "sim");
        run_info.git_dirty = true;
        let run = store.begin_run(&run_info).await.unwrap();
        assert!(run > 0);

        let pass = result(
            "blinky",
            "sim",
            Verdict::Pass,
            &[("cycles", 1.5e9), ("virtual_ms", 4000.25)],
        );
        let fail = result("fib", "sim", Verdict::Fail, &[("cycles", 42.0)]);
        let mut error = result("broken", "sim", Verdict::Error, &[]);
        error.checks.clear();
        error.plan_path = PathBuf::from("/abs/plans/broken.toml");
        // A real board whose probe failed twice.
        let mut infra = result("blinky", "probe", Verdict::InfraError, &[]);
        infra.board.serial = Some("066DFF485550755187121723".to_owned());
        infra.board.backend = Some("probe-rs 0.32.0".to_owned());
        infra.failure = Some("opening the board failed: board failure: no probe".to_owned());
        infra.retried_after = Some("attach timed out after 5 s".to_owned());
        for r in [&pass, &fail, &error, &infra] {
            store.record_test(run, r).await.unwrap();
        }
        let summary = Summary {
            passed: 1,
            failed: 1,
            errors: 1,
            infra_errors: 1,
        };
        store
            .finish_run(run, 1_700_000_004_321, &summary)
            .await
            .unwrap();

        let stored = store.run(run).await.unwrap().unwrap();
        assert_eq!(
            stored,
            StoredRun {
                id: run,
                info: run_info,
                finished_at_ms: Some(1_700_000_004_321),
                summary: Some(summary)
            }
        );

        let results = store.results(run).await.unwrap();
        assert_eq!(results.len(), 4);
        for (got, want) in results.iter().zip([&pass, &fail, &error, &infra]) {
            assert_eq!(got.run_id, run);
            assert_eq!(got.test_name, want.test_name);
            assert_eq!(got.plan_path, want.plan_path.to_string_lossy());
            assert_eq!(got.board_kind, want.board.kind);
            assert_eq!(got.board_id, want.board.id);
            assert_eq!(got.board_serial, want.board.serial);
            assert_eq!(got.board_backend, want.board.backend);
            assert_eq!(got.verdict, want.verdict);
            assert_eq!(got.failure, want.failure);
            assert_eq!(got.retried_after, want.retried_after);
            assert_eq!(got.duration_ms, 12.345);
            assert_eq!(got.console, want.console);
            assert_eq!(got.checks, want.checks);
            assert_eq!(got.metrics, want.metrics);
        }
        assert!(store.run(run + 100).await.unwrap().is_none());
        store.close().await;
    }

    #[tokio::test]
    async fn history_is_newest_first_and_filters() {
        let (_dir, store) = temp_store().await;
        // Runs begun out of time order: history follows started_at_ms, not the run id.
        let r1 = store.begin_run(&info(1_000, "c1", "sim")).await.unwrap();
        let r3 = store.begin_run(&info(3_000, "c3", "sim")).await.unwrap();
        let r2 = store.begin_run(&info(2_000, "c2", "probe")).await.unwrap();
        store
            .record_test(
                r1,
                &result(
                    "blinky",
                    "sim",
                    Verdict::Pass,
                    &[("cycles", 100.0), ("virtual_ms", 1.0)],
                ),
            )
            .await
            .unwrap();
        store
            .record_test(
                r2,
                &result(
                    "blinky",
                    "probe",
                    Verdict::Fail,
                    &[("cycles", 200.0), ("virtual_ms", 2.0)],
                ),
            )
            .await
            .unwrap();
        store
            .record_test(
                r3,
                &result(
                    "blinky",
                    "sim",
                    Verdict::Pass,
                    &[("cycles", 300.0), ("virtual_ms", 3.0)],
                ),
            )
            .await
            .unwrap();
        // Another test in the same runs must not leak into blinky's history.
        store
            .record_test(r3, &result("fib", "sim", Verdict::Pass, &[("cycles", 9.0)]))
            .await
            .unwrap();

        let all = store.history("blinky", None, None, 100).await.unwrap();
        let got: Vec<_> = all
            .iter()
            .map(|h| (h.run_id, h.metric.as_deref(), h.value))
            .collect();
        assert_eq!(
            got,
            [
                (r3, Some("cycles"), Some(300.0)),
                (r3, Some("virtual_ms"), Some(3.0)),
                (r2, Some("cycles"), Some(200.0)),
                (r2, Some("virtual_ms"), Some(2.0)),
                (r1, Some("cycles"), Some(100.0)),
                (r1, Some("virtual_ms"), Some(1.0)),
            ]
        );
        assert_eq!(all[0].git_commit.as_deref(), Some("c3"));
        assert_eq!(all[0].started_at_ms, 3_000);
        assert_eq!(all[0].unit.as_deref(), Some("cycles"));
        assert_eq!(all[2].verdict, "fail");
        assert_eq!(all[2].board_kind, "probe");
        assert_eq!(all[2].board_id, "probe-0");

        let cycles = store
            .history("blinky", Some("cycles"), None, 100)
            .await
            .unwrap();
        let got: Vec<_> = cycles.iter().map(|h| (h.run_id, h.value)).collect();
        assert_eq!(
            got,
            [(r3, Some(300.0)), (r2, Some(200.0)), (r1, Some(100.0))]
        );

        let sim = store
            .history("blinky", Some("cycles"), Some("sim"), 100)
            .await
            .unwrap();
        let got: Vec<_> = sim.iter().map(|h| h.run_id).collect();
        assert_eq!(got, [r3, r1]);

        let limited = store
            .history("blinky", Some("cycles"), None, 2)
            .await
            .unwrap();
        let got: Vec<_> = limited.iter().map(|h| h.run_id).collect();
        assert_eq!(got, [r3, r2]);
        // The limit counts runs, not rows: every metric of the two newest runs.
        let limited = store.history("blinky", None, None, 2).await.unwrap();
        let got: Vec<_> = limited
            .iter()
            .map(|h| (h.run_id, h.metric.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (r3, Some("cycles")),
                (r3, Some("virtual_ms")),
                (r2, Some("cycles")),
                (r2, Some("virtual_ms"))
            ]
        );
        // Runs without a selected row do not use up the limit.
        let sim = store
            .history("blinky", Some("cycles"), Some("sim"), 1)
            .await
            .unwrap();
        assert_eq!(sim.iter().map(|h| h.run_id).collect::<Vec<_>>(), [r3]);
        let sim = store.history("blinky", None, Some("sim"), 2).await.unwrap();
        let got: Vec<_> = sim.iter().map(|h| h.run_id).collect();
        assert_eq!(got, [r3, r3, r1, r1]);

        assert!(
            store
                .history("blinky", Some("nope"), None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .history("missing", None, None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .history("blinky", None, Some("emu"), 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .history("blinky", None, None, 0)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn results_without_metrics_are_in_the_history_unless_a_metric_is_asked_for() {
        let (_dir, store) = temp_store().await;
        let r1 = store.begin_run(&info(1_000, "c1", "sim")).await.unwrap();
        let r2 = store.begin_run(&info(2_000, "c2", "probe")).await.unwrap();
        let r3 = store.begin_run(&info(3_000, "c3", "sim")).await.unwrap();
        let measured = result("blinky", "sim", Verdict::Pass, &[("cycles", 100.0)]);
        store.record_test(r1, &measured).await.unwrap();
        let mut broken = result("blinky", "probe", Verdict::InfraError, &[]);
        broken.failure = Some("opening the board failed: no probe".into());
        store.record_test(r2, &broken).await.unwrap();
        let no_compile = result("blinky", "sim", Verdict::Fail, &[]);
        store.record_test(r3, &no_compile).await.unwrap();

        let all = store.history("blinky", None, None, 10).await.unwrap();
        let got: Vec<_> = all
            .iter()
            .map(|h| (h.run_id, h.verdict.as_str(), h.metric.as_deref(), h.value))
            .collect();
        assert_eq!(
            got,
            [
                (r3, "fail", None, None),
                (r2, "infra_error", None, None),
                (r1, "pass", Some("cycles"), Some(100.0)),
            ]
        );
        assert_eq!(
            (all[1].board_id.as_str(), all[1].unit.as_deref()),
            ("probe-0", None)
        );
        // A run whose test recorded no metric counts towards the limit.
        let newest = store.history("blinky", None, None, 1).await.unwrap();
        assert_eq!(newest.iter().map(|h| h.run_id).collect::<Vec<_>>(), [r3]);
        // Asking for a metric keeps only the results that have it.
        let cycles = store
            .history("blinky", Some("cycles"), None, 1)
            .await
            .unwrap();
        assert_eq!(cycles.iter().map(|h| h.run_id).collect::<Vec<_>>(), [r1]);
        let probe = store
            .history("blinky", None, Some("probe"), 10)
            .await
            .unwrap();
        assert_eq!(probe.iter().map(|h| h.run_id).collect::<Vec<_>>(), [r2]);
    }

    #[tokio::test]
    async fn reopening_applies_no_migration_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/folder/results.db");
        let store = Store::open(&path).await.unwrap();
        let run = store.begin_run(&info(5, "c", "sim")).await.unwrap();
        store.close().await;

        for _ in 0..2 {
            let store = Store::open(&path).await.unwrap();
            let applied: Vec<(i64, bool)> =
                sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
                    .fetch_all(&store.pool)
                    .await
                    .unwrap();
            let want: Vec<(i64, bool)> = cockpit_dashboard::MIGRATOR
                .iter()
                .map(|m| (m.version, true))
                .collect();
            assert_eq!(applied, want);
            assert!(
                store.run(run).await.unwrap().is_some(),
                "data survives reopening"
            );
            store.close().await;
        }
    }

    #[tokio::test]
    async fn pragmas_are_set() {
        let (_dir, store) = temp_store().await;
        let mut conn = store.pool.acquire().await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(sync, 1, "NORMAL");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(fk, 1);
        let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(busy, 5000);
    }

    #[tokio::test]
    async fn crash_mid_run_keeps_recorded_tests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.db");
        let run;
        {
            let store = Store::open(&path).await.unwrap();
            run = store.begin_run(&info(10, "c", "sim")).await.unwrap();
            store
                .record_test(
                    run,
                    &result("blinky", "sim", Verdict::Pass, &[("cycles", 1.0)]),
                )
                .await
                .unwrap();
            store
                .record_test(run, &result("fib", "sim", Verdict::Fail, &[]))
                .await
                .unwrap();
            // "Crash": the store is dropped without finish_run or close.
            drop(store);
        }
        let store = Store::open(&path).await.unwrap();
        let stored = store.run(run).await.unwrap().unwrap();
        assert_eq!(stored.summary, None, "never finished");
        assert_eq!(stored.finished_at_ms, None);
        let results = store.results(run).await.unwrap();
        let names: Vec<_> = results.iter().map(|r| r.test_name.as_str()).collect();
        assert_eq!(names, ["blinky", "fib"]);
        assert_eq!(results[0].checks.len(), 3);
        let h = store.history("blinky", None, None, 10).await.unwrap();
        assert_eq!(h.len(), 1, "unfinished runs are in the history");
    }

    #[tokio::test]
    async fn user_text_is_stored_verbatim() {
        let (_dir, store) = temp_store().await;
        let run = store.begin_run(&info(1, "c", "sim")).await.unwrap();
        let nasty = "it's \"quoted\" ''; DROP TABLE runs; --\n<script>alert('x')</script>\r\n\
                     tab\there ünïcödé 🚀 中文 \\ backslash \u{0} nul";
        let mut r = result(nasty, "sim", Verdict::Fail, &[(nasty, -0.5)]);
        r.console = nasty.repeat(3);
        r.failure = Some(nasty.to_owned());
        r.checks[0].name = nasty.to_owned();
        r.checks[0].expected = nasty.to_owned();
        r.checks[0].observed = nasty.to_owned();
        r.plan_path = PathBuf::from(format!("plans/{nasty}.toml"));
        store.record_test(run, &r).await.unwrap();

        let got = &store.results(run).await.unwrap()[0];
        assert_eq!(got.test_name, nasty);
        assert_eq!(got.console, r.console);
        assert_eq!(got.failure.as_deref(), Some(nasty));
        assert_eq!(got.checks, r.checks);
        assert_eq!(got.metrics, r.metrics);
        assert_eq!(got.plan_path, format!("plans/{nasty}.toml"));
        let h = store.history(nasty, Some(nasty), None, 10).await.unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].value, Some(-0.5));
        let runs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM runs")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(runs, 1);
    }

    #[tokio::test]
    async fn bad_input_is_refused_without_partial_writes() {
        let (_dir, store) = temp_store().await;
        // Unknown run: foreign key violation, nothing written.
        let err = store
            .record_test(
                999,
                &result("blinky", "sim", Verdict::Pass, &[("cycles", 1.0)]),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Query { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("results.db") && msg.contains("record test \"blinky\" in run 999"),
            "{msg}"
        );

        let run = store.begin_run(&info(1, "c", "sim")).await.unwrap();
        let err = store
            .record_test(
                run,
                &result("nan", "sim", Verdict::Pass, &[("cycles", f64::NAN)]),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
        assert!(store.results(run).await.unwrap().is_empty());

        let err = store
            .finish_run(run + 1, 2, &Summary::default())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no such run"), "{err}");
        // Infinite values are storable and read back as such.
        store
            .record_test(
                run,
                &result("inf", "sim", Verdict::Pass, &[("cycles", f64::INFINITY)]),
            )
            .await
            .unwrap();
        assert_eq!(
            store.results(run).await.unwrap()[0].metrics[0].value,
            f64::INFINITY
        );
    }

    #[tokio::test]
    async fn concurrent_writers_and_openers_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared.db");
        // Two stores opening the same fresh file at once (two `cockpit run`s).
        let (a, b) = tokio::join!(Store::open(&path), Store::open(&path));
        let (a, b) = (a.unwrap(), b.unwrap());
        let run_a = a.begin_run(&info(1, "a", "sim")).await.unwrap();
        let run_b = b.begin_run(&info(2, "b", "sim")).await.unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..20 {
            let (store, run) = if i % 2 == 0 {
                (a.clone(), run_a)
            } else {
                (b.clone(), run_b)
            };
            tasks.spawn(async move {
                let name = format!("t{i}");
                store
                    .record_test(
                        run,
                        &result(&name, "sim", Verdict::Pass, &[("cycles", f64::from(i))]),
                    )
                    .await
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap().unwrap();
        }
        assert_eq!(a.results(run_a).await.unwrap().len(), 10);
        assert_eq!(a.results(run_b).await.unwrap().len(), 10);
        assert_eq!(
            b.history("t7", Some("cycles"), None, 5).await.unwrap()[0]
                .value
                .unwrap(),
            7.0
        );
    }

    #[tokio::test]
    async fn open_refuses_a_file_that_is_not_a_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.db");
        std::fs::write(
            &path,
            b"this is not sqlite, just a text file that is long enough",
        )
        .unwrap();
        let err = Store::open(&path).await.unwrap_err();
        assert!(err.to_string().contains("junk.db"), "{err}");
    }

    #[tokio::test]
    async fn results_stored_before_the_infra_error_migration_keep_their_checks_and_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("v4.db");
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&db)
            .create_if_missing(true)
            .foreign_keys(true);
        let pool = SqlitePool::connect_with(opts).await.unwrap();
        cockpit_dashboard::MIGRATOR.run_to(4, &pool).await.unwrap();
        for sql in [
            "INSERT INTO runs (id, started_at_ms, host, board_kind, board_id, harness_version,
                               command, finished_at_ms, passed, failed, errors)
             VALUES (7, 1000, 'h', 'sim', 'sim', '0.1.0', 'cockpit run', 2000, 0, 1, 0)",
            "INSERT INTO test_results (id, run_id, test_name, plan_path, board_kind, board_id,
                                       verdict, failure, duration_ms, console)
             VALUES (3, 7, 'blinky', 'p.toml', 'sim', 'sim', 'fail', 'x', 1.5, 'out')",
            "INSERT INTO checks VALUES (3, 0, 'console', 'contains \"x\"', 'x', 'out', 0)",
            "INSERT INTO metrics VALUES (3, 'cycles', 'cycles', 42.0)",
            "INSERT INTO metrics VALUES (3, 'a_later_name', 'ms', 1.0)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;

        let store = Store::open(&db).await.unwrap();
        let results = store.results(7).await.unwrap();
        assert_eq!(results.len(), 1);
        let r = &results[0];
        assert_eq!(
            (r.id, r.verdict, r.console.as_str()),
            (3, Verdict::Fail, "out")
        );
        assert_eq!(
            (r.board_serial.clone(), r.retried_after.clone()),
            (None, None)
        );
        assert_eq!(r.checks.len(), 1);
        assert_eq!(r.checks[0].observed, "out");
        let metrics: Vec<_> = r.metrics.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(metrics, ["cycles", "a_later_name"]);
        let summary = store.run(7).await.unwrap().unwrap().summary.unwrap();
        assert_eq!((summary.failed, summary.infra_errors), (1, 0));
        // Deleting the run still cascades through the rebuilt tables.
        sqlx::query("DELETE FROM runs WHERE id = 7")
            .execute(&store.pool)
            .await
            .unwrap();
        let left: (i64, i64) =
            sqlx::query_as("SELECT (SELECT COUNT(*) FROM checks), (SELECT COUNT(*) FROM metrics)")
                .fetch_one(&store.pool)
                .await
                .unwrap();
        assert_eq!(left, (0, 0));
        store.close().await;
    }
}
