//! The HTML pages, rendered server-side with askama templates (`dashboard/templates/`), which
//! HTML-escape every `{{ value }}`. The only unescaped output is the test page's chart data,
//! which is JSON made safe for a `<script type="application/json">` block by [`json_for_html`].

use askama::Template;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Html;

use super::history::TestHistory;
use super::{
    AppState, Failure, Format, HistoryQuery, PageQuery, api, path_segment, query, regress,
};
use crate::db;

const F: Format = Format::Html;

/// Start time as ISO 8601 UTC, e.g. `2026-11-21T21:48:00.123Z`.
pub fn iso_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// Time for people, e.g. `2026-11-21 21:48:00 UTC`.
fn human_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// A duration in milliseconds for people: `850 ms`, `12.3 s`, `4 min 05 s`.
fn human_duration(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        let s = (ms / 1000.0).round() as i64;
        format!("{} min {:02} s", s / 60, s % 60)
    }
}

/// The first 10 characters of a commit hash, or `—`.
fn short_commit(c: Option<&str>) -> String {
    c.map_or_else(|| "—".to_owned(), |c| c.chars().take(10).collect())
}

/// A metric value without needless digits.
fn value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// A summary value (baseline, median) to 3 decimals at most.
fn approx(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 0.01 {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        format!("{v:.3e}")
    }
}

/// Serializes `v` for a `<script type="application/json">` block: `<`, `>` and `&` (which
/// JSON only has inside strings) become `\u003c`, `\u003e`, `\u0026`, so neither `</script>`
/// nor `<!--` can appear; U+2028/9 are escaped too. `JSON.parse` restores them.
pub fn json_for_html<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v)
        .expect("view data serializes")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

fn render(t: &impl Template) -> Result<Html<String>, Failure> {
    t.render().map(Html).map_err(Failure::render)
}

/// The error page behind every HTML failure.
pub fn error_page(status: StatusCode, message: &str) -> Html<String> {
    let page = ErrorPage {
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or(""),
        message,
    };
    Html(page.render().unwrap_or_else(|_| {
        format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        )
    }))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    reason: &'a str,
    message: &'a str,
}

/// A run as a row of the runs table.
struct RunView {
    id: i64,
    time: String,
    commit_short: String,
    commit: String,
    message: String,
    dirty: bool,
    board_kind: String,
    board_id: String,
    passed: i64,
    failed: i64,
    errors: i64,
    infra_errors: i64,
    duration: String,
    status: &'static str,
}

impl From<&db::RunRow> for RunView {
    fn from(r: &db::RunRow) -> RunView {
        RunView {
            id: r.id,
            time: human_time(r.started_at_ms),
            commit_short: short_commit(r.commit.as_deref()),
            commit: r.commit.clone().unwrap_or_default(),
            message: r.commit_message.clone().unwrap_or_default(),
            dirty: r.dirty,
            board_kind: r.board_kind.clone(),
            board_id: r.board_id.clone(),
            passed: r.passed,
            failed: r.failed,
            errors: r.errors,
            infra_errors: r.infra_errors,
            duration: r.finished_at_ms.map_or_else(
                || "unfinished".to_owned(),
                |f| human_duration((f - r.started_at_ms) as f64),
            ),
            status: if r.finished_at_ms.is_none() {
                "running"
            } else if r.errors > 0 {
                "error"
            } else if r.failed > 0 {
                "fail"
            } else {
                "pass"
            },
        }
    }
}

#[derive(Template)]
#[template(path = "runs.html")]
struct RunsPage {
    runs: Vec<RunView>,
    total: i64,
    first: i64,
    last: i64,
    newer: Option<String>,
    older: Option<String>,
}

/// `GET /?limit=&offset=`: the runs, newest first.
pub async fn runs(
    State(state): State<AppState>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Html<String>, Failure> {
    let q = query(F, q)?;
    let page = api::runs_page(&state, F, &q).await?;
    let (limit, offset) = (page.limit, page.offset);
    let link = |offset: i64| {
        if limit == super::RUNS_DEFAULT_LIMIT {
            format!("/?offset={offset}")
        } else {
            format!("/?limit={limit}&offset={offset}")
        }
    };
    render(&RunsPage {
        total: page.total,
        first: offset + 1,
        last: offset + page.runs.len() as i64,
        newer: (offset > 0).then(|| link((offset - limit).max(0))),
        older: (offset + limit < page.total).then(|| link(offset + limit)),
        runs: page.runs.iter().map(RunView::from).collect(),
    })
}

struct CheckView {
    kind: String,
    name: String,
    expected: String,
    observed: String,
    passed: bool,
}

struct MetricView {
    name: String,
    unit: String,
    value: String,
}

struct ResultView {
    id: i64,
    test_name: String,
    test_url: String,
    plan_path: String,
    board: String,
    verdict: String,
    failure: String,
    retried_after: String,
    duration: String,
    console: String,
    failed_checks: Vec<CheckView>,
    checks: Vec<CheckView>,
    metrics: Vec<MetricView>,
}

#[derive(Template)]
#[template(path = "run.html")]
struct RunPage {
    run: RunView,
    host: String,
    harness_version: String,
    command: String,
    finished: String,
    results: Vec<ResultView>,
}

/// `GET /runs/{id}`: one run, each test with its checks, console and metrics.
pub async fn run(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Html<String>, Failure> {
    let d = api::run_detail(&state, F, id).await?;
    let check = |c: &db::CheckRow| CheckView {
        kind: c.kind.clone(),
        name: c.name.clone(),
        expected: c.expected.clone(),
        observed: c.observed.clone(),
        passed: c.passed,
    };
    let results = d
        .results
        .iter()
        .map(|r| ResultView {
            id: r.id,
            test_name: r.test_name.clone(),
            test_url: format!("/tests/{}", path_segment(&r.test_name)),
            plan_path: r.plan_path.clone(),
            board: board_label(r),
            verdict: r.verdict.clone(),
            failure: r.failure.clone().unwrap_or_default(),
            retried_after: r.retried_after.clone().unwrap_or_default(),
            duration: human_duration(r.duration_ms),
            console: r.console.clone(),
            failed_checks: r.checks.iter().filter(|c| !c.passed).map(check).collect(),
            checks: r.checks.iter().map(check).collect(),
            metrics: r
                .metrics
                .iter()
                .map(|m| MetricView {
                    name: m.name.clone(),
                    unit: m.unit.clone(),
                    value: value(m.value),
                })
                .collect(),
        })
        .collect();
    render(&RunPage {
        finished: d
            .run
            .finished_at_ms
            .map_or_else(|| "not finished".to_owned(), human_time),
        run: RunView::from(&d.run),
        host: d.run.host.clone(),
        harness_version: d.harness_version,
        command: d.command,
        results,
    })
}

/// The board a result ran on: `kind/id`, with a real board's probe serial and backend,
/// e.g. `probe/bench-1 (serial 0669FF…, probe-rs 0.32.0)`.
fn board_label(r: &db::ResultDetail) -> String {
    let identity: Vec<String> = r
        .board_serial
        .iter()
        .map(|s| format!("serial {s}"))
        .chain(r.board_backend.iter().cloned())
        .collect();
    if identity.is_empty() {
        format!("{}/{}", r.board_kind, r.board_id)
    } else {
        format!("{}/{} ({})", r.board_kind, r.board_id, identity.join(", "))
    }
}

struct TestRow {
    name: String,
    url: String,
    results: i64,
    last_run_id: i64,
    last_verdict: String,
}

#[derive(Template)]
#[template(path = "tests.html")]
struct TestsPage {
    tests: Vec<TestRow>,
}

/// `GET /tests`: every test in the store.
pub async fn tests(State(state): State<AppState>) -> Result<Html<String>, Failure> {
    let tests = db::tests(&state.pool)
        .await
        .map_err(|e| Failure::db(F, "the tests", e))?;
    render(&TestsPage {
        tests: tests
            .into_iter()
            .map(|t| TestRow {
                url: format!("/tests/{}", path_segment(&t.test_name)),
                name: t.test_name,
                results: t.results,
                last_run_id: t.last_run_id,
                last_verdict: t.last_verdict,
            })
            .collect(),
    })
}

struct ChartView {
    index: usize,
    metric: String,
    unit: String,
    points: usize,
    runs: usize,
    csv_url: String,
}

struct StripCell {
    run_id: i64,
    verdict: String,
    title: String,
}

struct StripView {
    board_kind: String,
    board_id: String,
    results: usize,
    changes: usize,
    rate: String,
    cells: Vec<StripCell>,
}

#[derive(Template)]
#[template(path = "test.html")]
struct TestPage {
    name: String,
    results: usize,
    runs_shown: i64,
    overall_rate: String,
    overall_changes: usize,
    charts: Vec<ChartView>,
    strips: Vec<StripView>,
    data_json: String,
}

fn rate(r: Option<f64>) -> String {
    r.map_or_else(|| "n/a".to_owned(), |r| format!("{:.1} %", r * 100.0))
}

/// `GET /tests/{name}?runs=`: charts per metric, pass/fail strips and flake rates.
pub async fn test(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    q: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Html<String>, Failure> {
    let runs_shown = match &q {
        Ok(Query(h)) => h.runs.unwrap_or(super::HISTORY_DEFAULT_RUNS),
        Err(_) => super::HISTORY_DEFAULT_RUNS,
    };
    let h: TestHistory = api::test_history(&state, F, name, q).await?;
    let seg = path_segment(&h.test_name);
    let charts = h
        .metrics
        .iter()
        .enumerate()
        .map(|(index, m)| ChartView {
            index,
            metric: m.metric.clone(),
            unit: m.unit.clone(),
            points: m.points,
            runs: m.runs.len(),
            csv_url: format!("/api/tests/{seg}/metrics/{}.csv", path_segment(&m.metric)),
        })
        .collect();
    let strips = h
        .flake
        .boards
        .iter()
        .map(|b| StripView {
            board_kind: b.board_kind.clone(),
            board_id: b.board_id.clone(),
            results: b.flake.results,
            changes: b.flake.changes,
            rate: rate(b.flake.rate),
            cells: b
                .verdicts
                .iter()
                .map(|v| StripCell {
                    run_id: v.run_id,
                    verdict: v.verdict.clone(),
                    title: format!(
                        "run {} · {} · {}",
                        v.run_id,
                        short_commit(v.commit.as_deref()),
                        v.verdict
                    ),
                })
                .collect(),
        })
        .collect();
    render(&TestPage {
        name: h.test_name.clone(),
        results: h.runs.len(),
        runs_shown,
        overall_rate: rate(h.flake.overall.rate),
        overall_changes: h.flake.overall.changes,
        charts,
        strips,
        data_json: json_for_html(&h),
    })
}

struct RegressionView {
    key: String,
    test_name: String,
    test_url: String,
    metric: String,
    board_kind: String,
    board_id: String,
    baseline: String,
    current: String,
    effect: String,
    confidence: String,
    method: String,
    last_good_run: Option<i64>,
    last_good_commit: String,
    first_bad_run: i64,
    first_bad_commit: String,
    first_bad_time: String,
    ack_who: String,
    ack_why: String,
    ack_at: String,
}

impl From<&regress::Regression> for RegressionView {
    fn from(r: &regress::Regression) -> RegressionView {
        let ack = r.acknowledged.as_ref();
        RegressionView {
            key: r.key.clone(),
            test_name: r.test_name.clone(),
            test_url: format!("/tests/{}", path_segment(&r.test_name)),
            metric: r.metric.clone(),
            board_kind: r.board_kind.clone(),
            board_id: r.board_id.clone(),
            baseline: format!("{} {}", approx(r.baseline), r.unit),
            current: format!("{} {}", approx(r.current), r.unit),
            effect: format!("{:+.1} %", r.effect * 100.0),
            confidence: format!("{:.1} %", r.confidence * 100.0),
            method: r.method.clone(),
            last_good_run: r.last_good.as_ref().map(|p| p.run_id),
            last_good_commit: short_commit(r.last_good.as_ref().and_then(|p| p.commit.as_deref())),
            first_bad_run: r.first_bad.run_id,
            first_bad_commit: short_commit(r.first_bad.commit.as_deref()),
            first_bad_time: human_time(r.first_bad.started_at_ms),
            ack_who: ack.map(|a| a.who.clone()).unwrap_or_default(),
            ack_why: ack.map(|a| a.why.clone()).unwrap_or_default(),
            ack_at: ack.map(|a| human_time(a.at_ms)).unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "regressions.html")]
struct RegressionsPage {
    open: Vec<RegressionView>,
    improvements: Vec<RegressionView>,
    acknowledged: Vec<RegressionView>,
}

/// `GET /regressions`: unacknowledged regressions (each with an acknowledge form), then
/// improvements, then acknowledged changes.
pub async fn regressions(State(state): State<AppState>) -> Result<Html<String>, Failure> {
    let all = api::detect(&state, F).await?;
    let views = |keep: &dyn Fn(&regress::Regression) -> bool| {
        all.iter()
            .filter(|r| keep(r))
            .map(RegressionView::from)
            .collect()
    };
    let is_regression = |r: &regress::Regression| r.direction == regress::Direction::Regression;
    render(&RegressionsPage {
        open: views(&|r| r.acknowledged.is_none() && is_regression(r)),
        improvements: views(&|r| r.acknowledged.is_none() && !is_regression(r)),
        acknowledged: views(&|r| r.acknowledged.is_some()),
    })
}

struct BoardView {
    board_kind: String,
    board_id: String,
    runs: i64,
    results: i64,
    passed: i64,
    failed: i64,
    errors: i64,
    last_run_id: i64,
    last_run_time: String,
}

#[derive(Template)]
#[template(path = "boards.html")]
struct BoardsPage {
    boards: Vec<BoardView>,
}

/// `GET /boards`: boards seen, with counts and their last run.
pub async fn boards(State(state): State<AppState>) -> Result<Html<String>, Failure> {
    let boards = db::boards(&state.pool)
        .await
        .map_err(|e| Failure::db(F, "the boards", e))?;
    render(&BoardsPage {
        boards: boards
            .into_iter()
            .map(|b| BoardView {
                last_run_time: human_time(b.last_run_at_ms),
                board_kind: b.board_kind,
                board_id: b.board_id,
                runs: b.runs,
                results: b.results,
                passed: b.passed,
                failed: b.failed,
                errors: b.errors,
                last_run_id: b.last_run_id,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_for_html_cannot_close_the_script_block() {
        let s = json_for_html(&serde_json::json!({"a": "</script><!-- & \u{2028}"}));
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["a"], "</script><!-- & \u{2028}");
    }

    #[test]
    fn durations_and_values_read_well() {
        assert_eq!(human_duration(850.4), "850 ms");
        assert_eq!(human_duration(12_345.0), "12.3 s");
        assert_eq!(human_duration(245_000.0), "4 min 05 s");
        assert_eq!(value(1500.0), "1500");
        assert_eq!(value(4000.25), "4000.25");
        assert_eq!(approx(119.919233), "119.919");
        assert_eq!(approx(120.0), "120");
        assert_eq!(short_commit(Some("0123456789abcdef")), "0123456789");
        assert_eq!(iso_time(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
