//! The dashboard router against a temp store filled by direct SQL inserts: every page and
//! endpoint, pagination, CSV, bad requests (4xx, never 500), database errors (500), escaping of
//! user-controlled text, assets and acknowledgements.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use sqlx::SqlitePool;
use tower::ServiceExt;

use cockpit_dashboard::{open_pool, regress, router};

const T0: i64 = 1_763_700_000_000;

struct Store {
    _dir: tempfile::TempDir,
    pool: SqlitePool,
}

async fn store() -> Store {
    let dir = tempfile::tempdir().unwrap();
    let pool = open_pool(&dir.path().join("cockpit.db")).await.unwrap();
    Store { _dir: dir, pool }
}

#[allow(clippy::too_many_arguments)]
async fn insert_run(
    pool: &SqlitePool,
    started: i64,
    commit: Option<&str>,
    message: Option<&str>,
    board_kind: &str,
    board_id: &str,
    finished: Option<i64>,
    (passed, failed, errors): (i64, i64, i64),
) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO runs (started_at_ms, finished_at_ms, git_commit, commit_message, git_dirty,
                           host, board_kind, board_id, harness_version, command,
                           passed, failed, errors)
         VALUES (?, ?, ?, ?, 0, 'ci-host', ?, ?, '0.1.0', 'cockpit run test-plans', ?, ?, ?)
         RETURNING id",
    )
    .bind(started)
    .bind(finished)
    .bind(commit)
    .bind(message)
    .bind(board_kind)
    .bind(board_id)
    .bind(passed)
    .bind(failed)
    .bind(errors)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[allow(clippy::too_many_arguments)]
async fn insert_result(
    pool: &SqlitePool,
    run: i64,
    test: &str,
    board_kind: &str,
    board_id: &str,
    verdict: &str,
    failure: Option<&str>,
    console: &str,
) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO test_results (run_id, test_name, plan_path, board_kind, board_id, verdict,
                                   failure, duration_ms, console)
         VALUES (?, ?, 'test-plans/x.toml', ?, ?, ?, ?, 12.5, ?) RETURNING id",
    )
    .bind(run)
    .bind(test)
    .bind(board_kind)
    .bind(board_id)
    .bind(verdict)
    .bind(failure)
    .bind(console)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[allow(clippy::too_many_arguments)]
async fn insert_check(
    pool: &SqlitePool,
    result: i64,
    seq: i64,
    kind: &str,
    name: &str,
    expected: &str,
    observed: &str,
    passed: bool,
) {
    sqlx::query(
        "INSERT INTO checks (result_id, seq, kind, name, expected, observed, passed)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(result)
    .bind(seq)
    .bind(kind)
    .bind(name)
    .bind(expected)
    .bind(observed)
    .bind(passed)
    .execute(pool)
    .await
    .unwrap();
}

async fn insert_metric(pool: &SqlitePool, result: i64, name: &str, unit: &str, value: f64) {
    sqlx::query("INSERT INTO metrics (result_id, name, unit, value) VALUES (?, ?, ?, ?)")
        .bind(result)
        .bind(name)
        .bind(unit)
        .bind(value)
        .execute(pool)
        .await
        .unwrap();
}

/// Three runs of `blinky` and `fib` on sim, the second one failing with a register check,
/// plus a third board on the last run.
async fn sample(pool: &SqlitePool) -> Vec<i64> {
    let mut runs = Vec::new();
    for i in 0..3i64 {
        let fail = i == 1;
        let run = insert_run(
            pool,
            T0 + i * 60_000,
            Some(&format!("{i}abcdef0123456789abcdef0123456789abcdef")),
            Some(&format!("commit number {i}")),
            "sim",
            "sim",
            Some(T0 + i * 60_000 + 4_321),
            (if fail { 1 } else { 2 }, u8::from(fail).into(), 0),
        )
        .await;
        runs.push(run);
        let verdict = if fail { "fail" } else { "pass" };
        let b = insert_result(
            pool,
            run,
            "blinky",
            "sim",
            "sim",
            verdict,
            fail.then_some("register: GPIOC.MODER & 0x3000 = 0x00000000, expected 0x00001000"),
            "hello\ndone\n",
        )
        .await;
        insert_check(
            pool,
            b,
            0,
            "console",
            "contains \"done\"",
            "done",
            "done\n",
            true,
        )
        .await;
        insert_check(
            pool,
            b,
            1,
            "register",
            "GPIOC.MODER & 0x3000",
            "0x00001000",
            if fail { "0x00000000" } else { "0x00001000" },
            !fail,
        )
        .await;
        insert_metric(pool, b, "cycles", "cycles", 1000.0 + i as f64).await;
        insert_metric(pool, b, "virtual_ms", "ms", 4000.25).await;
        let f = insert_result(pool, run, "fib", "sim", "sim", "pass", None, "55\n").await;
        insert_metric(pool, f, "instructions", "count", 42.0).await;
    }
    // The last run also ran blinky on an emulator board.
    let e = insert_result(pool, runs[2], "blinky", "emu", "emu-7", "pass", None, "").await;
    insert_metric(pool, e, "cycles", "cycles", 990.0).await;
    runs
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

async fn get(app: &Router, uri: &str) -> (StatusCode, HeaderMap, String) {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn get_json(app: &Router, uri: &str) -> (StatusCode, Value) {
    let (status, headers, body) = get(app, uri).await;
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/json",
        "{uri}: {body}"
    );
    (status, serde_json::from_str(&body).unwrap())
}

async fn ok_html(app: &Router, uri: &str) -> String {
    let (status, headers, body) = get(app, uri).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{uri}"
    );
    body
}

#[tokio::test]
async fn runs_page_and_api_list_runs_newest_first() {
    let s = store().await;
    let runs = sample(&s.pool).await;
    let app = router(s.pool.clone());

    let body = ok_html(&app, "/").await;
    assert!(body.contains("2abcdef012"), "short commit");
    assert!(body.contains("commit number 2"));
    assert!(body.contains("href=\"/runs/3\""));
    assert!(body.contains("4.3 s"), "duration");
    assert!(body.find("/runs/3").unwrap() < body.find("/runs/1\"").unwrap());
    assert!(body.contains("status-fail"));

    let (status, v) = get_json(&app, "/api/runs").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["total"], 3);
    let ids: Vec<i64> = v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![runs[2], runs[1], runs[0]]);
    assert_eq!(v["runs"][1]["failed"], 1);
    assert_eq!(v["runs"][1]["passed"], 1);
    assert_eq!(v["runs"][0]["commit_message"], "commit number 2");
    assert_eq!(v["runs"][0]["board_kind"], "sim");
}

#[tokio::test]
async fn runs_are_paginated() {
    let s = store().await;
    for i in 0..7 {
        insert_run(&s.pool, T0 + i, None, None, "sim", "sim", None, (0, 0, 0)).await;
    }
    let app = router(s.pool.clone());
    let (_, v) = get_json(&app, "/api/runs?limit=3&offset=3").await;
    let ids: Vec<i64> = v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![4, 3, 2]);
    assert_eq!(
        (v["limit"].as_i64(), v["offset"].as_i64()),
        (Some(3), Some(3))
    );
    let (_, v) = get_json(&app, "/api/runs?limit=3&offset=6").await;
    assert_eq!(v["runs"].as_array().unwrap().len(), 1);
    let (_, v) = get_json(&app, "/api/runs?offset=100").await;
    assert_eq!(v["runs"].as_array().unwrap().len(), 0);

    let body = ok_html(&app, "/?limit=3&offset=3").await;
    assert!(body.contains("Runs 4–6 of 7"));
    assert!(body.contains("href=\"/?limit=3&#38;offset=0\""), "{body}");
    assert!(body.contains("href=\"/?limit=3&#38;offset=6\""));
    let first = ok_html(&app, "/?limit=3").await;
    assert!(!first.contains("id=\"newer\""));
    assert!(first.contains("id=\"older\""));
    // Unfinished runs show as such, with counts from their results so far.
    assert!(first.contains("unfinished"));
}

#[tokio::test]
async fn run_page_shows_tests_checks_console_and_metrics() {
    let s = store().await;
    let runs = sample(&s.pool).await;
    let app = router(s.pool.clone());

    let body = ok_html(&app, &format!("/runs/{}", runs[1])).await;
    assert!(body.contains("1abcdef0123456789abcdef0123456789abcdef"));
    assert!(body.contains("commit number 1"));
    assert!(body.contains("register: GPIOC.MODER &#38; 0x3000 = 0x00000000"));
    assert!(body.contains("failed-checks"));
    assert!(body.contains("<pre>0x00001000</pre></td><td><pre>0x00000000</pre>"));
    assert!(body.contains("<pre class=\"console-text\">hello\ndone\n</pre>"));
    assert!(body.contains("<td>cycles</td><td class=\"num\">1001</td>"));
    assert!(body.contains("href=\"/tests/blinky\""));
    assert!(body.contains("cockpit run test-plans"));

    let (status, v) = get_json(&app, &format!("/api/runs/{}", runs[1])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["id"], runs[1]);
    assert_eq!(v["harness_version"], "0.1.0");
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["test_name"], "blinky");
    assert_eq!(results[0]["verdict"], "fail");
    assert_eq!(results[0]["checks"][1]["observed"], "0x00000000");
    assert_eq!(results[0]["checks"][1]["passed"], false);
    assert_eq!(results[0]["metrics"][0]["name"], "cycles");
    assert_eq!(results[0]["metrics"][0]["value"], 1001.0);
    assert_eq!(results[1]["console"], "55\n");
}

#[tokio::test]
async fn run_page_shows_the_board_identity_infra_errors_and_retries() {
    let s = store().await;
    let run = insert_run(
        &s.pool,
        T0,
        None,
        None,
        "probe",
        "bench-1",
        Some(T0 + 9_000),
        (1, 0, 0),
    )
    .await;
    sqlx::query("UPDATE runs SET infra_errors = 1 WHERE id = ?")
        .bind(run)
        .execute(&s.pool)
        .await
        .unwrap();
    let retried = insert_result(&s.pool, run, "blinky", "probe", "bench-1", "pass", None, "").await;
    let broken = insert_result(
        &s.pool,
        run,
        "fib",
        "probe",
        "bench-1",
        "infra_error",
        Some("opening the board failed: board failure: no probe matches 0483:374b"),
        "",
    )
    .await;
    for (id, retry) in [
        (
            retried,
            "running the program failed: board failure: probe vanished",
        ),
        (
            broken,
            "opening the board failed: board failure: no probe matches 0483:374b",
        ),
    ] {
        sqlx::query(
            "UPDATE test_results SET board_serial = '0669FF3433', board_backend = 'probe-rs 0.32.0',
                                     retried_after = ? WHERE id = ?",
        )
        .bind(retry)
        .bind(id)
        .execute(&s.pool)
        .await
        .unwrap();
    }
    let app = router(s.pool.clone());

    let body = ok_html(&app, &format!("/runs/{run}")).await;
    assert!(
        body.contains(
            "<span class=\"board\">probe/bench-1 (serial 0669FF3433, probe-rs 0.32.0)</span>"
        ),
        "{body}"
    );
    assert!(body.contains(
        "<p class=\"retried\">Retried after: running the program failed: board failure: \
         probe vanished</p>"
    ));
    assert!(body.contains("<section class=\"result verdict-infra_error\""));
    assert!(body.contains("<span class=\"badge infra_error\">infra_error</span>"));
    assert!(body.contains("1 errors</span> <span class=\"error infra-errors\">(1 infrastructure)"));

    let (status, v) = get_json(&app, &format!("/api/runs/{run}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (v["errors"].clone(), v["infra_errors"].clone()),
        (1.into(), 1.into())
    );
    let results = v["results"].as_array().unwrap();
    assert_eq!(results[0]["board_serial"], "0669FF3433");
    assert_eq!(results[0]["board_backend"], "probe-rs 0.32.0");
    assert_eq!(
        results[0]["retried_after"],
        "running the program failed: board failure: probe vanished"
    );
    assert_eq!(results[1]["verdict"], "infra_error");

    // A simulated board has no serial nor backend; a test run once has no retry.
    let s = store().await;
    let runs = sample(&s.pool).await;
    let app = router(s.pool.clone());
    let body = ok_html(&app, &format!("/runs/{}", runs[0])).await;
    assert!(body.contains("<span class=\"board\">sim/sim</span>"));
    assert!(!body.contains("Retried after") && !body.contains("infrastructure)"));
    let (_, v) = get_json(&app, &format!("/api/runs/{}", runs[0])).await;
    assert_eq!(v["infra_errors"], 0);
    assert!(
        v["results"][0]["board_serial"].is_null() && v["results"][0]["retried_after"].is_null()
    );
}

#[tokio::test]
async fn test_page_and_api_give_chart_series_and_flake_rate() {
    let s = store().await;
    let runs = sample(&s.pool).await;
    let app = router(s.pool.clone());

    let body = ok_html(&app, "/tests/blinky").await;
    assert!(body.contains("<h1 id=\"test-name\">blinky</h1>"));
    assert!(body.contains("id=\"chart-0\""));
    assert!(body.contains("data-metric=\"cycles\""));
    // cycles: 3 sim points + 1 emu point.
    assert!(body.contains("data-points=\"4\""));
    assert!(body.contains("id=\"chart-1\""));
    assert!(body.contains("/assets/uPlot.iife.min.js"));
    assert!(body.contains("href=\"/api/tests/blinky/metrics/cycles.csv\""));
    // sim: pass fail pass → 2 changes in 2 transitions; emu: one run.
    assert!(
        body.contains("id=\"flake-rate\">100.0 %</strong>"),
        "{body}"
    );
    assert!(body.contains("class=\"cell fail\" href=\"/runs/2\""));
    assert!(body.contains("<script type=\"application/json\" id=\"history-data\">{"));

    let (status, v) = get_json(&app, "/api/tests/blinky").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["test_name"], "blinky");
    assert_eq!(v["runs"].as_array().unwrap().len(), 4);
    assert_eq!(v["flake"]["overall"]["changes"], 2);
    assert_eq!(v["flake"]["overall"]["rate"], 1.0);
    let cycles = &v["metrics"][0];
    assert_eq!(cycles["metric"], "cycles");
    assert_eq!(cycles["unit"], "cycles");
    assert_eq!(cycles["runs"], serde_json::json!(runs));
    assert_eq!(cycles["points"], 4);
    assert_eq!(cycles["series"][0]["board_kind"], "emu");
    assert_eq!(
        cycles["series"][0]["values"],
        serde_json::json!([null, null, 990.0])
    );
    assert_eq!(
        cycles["series"][1]["values"],
        serde_json::json!([1000.0, 1001.0, 1002.0])
    );
    assert_eq!(v["metrics"][1]["metric"], "virtual_ms");

    // ?runs= keeps the newest runs only.
    let (_, v) = get_json(&app, "/api/tests/blinky?runs=2").await;
    assert_eq!(v["metrics"][0]["runs"], serde_json::json!(&runs[1..]));

    let body = ok_html(&app, "/tests").await;
    assert!(body.contains("href=\"/tests/blinky\""));
    assert!(body.contains("href=\"/tests/fib\""));
    let (_, v) = get_json(&app, "/api/tests").await;
    assert_eq!(v[0]["test_name"], "blinky");
    assert_eq!(v[0]["results"], 4);
    assert_eq!(v[1]["last_verdict"], "pass");
}

#[tokio::test]
async fn metric_history_exports_as_csv() {
    let s = store().await;
    sample(&s.pool).await;
    let app = router(s.pool.clone());
    let (status, headers, body) = get(&app, "/api/tests/blinky/metrics/cycles.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert!(
        headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("blinky-cycles.csv")
    );
    let mut rdr = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        rdr.headers().unwrap(),
        vec![
            "run_id",
            "started_at",
            "commit",
            "board_kind",
            "board_id",
            "value",
            "unit"
        ]
    );
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows[0],
        vec![
            "1",
            "2025-11-21T04:40:00.000Z",
            "0abcdef0123456789abcdef0123456789abcdef",
            "sim",
            "sim",
            "1000",
            "cycles"
        ]
    );
    assert_eq!(
        (&rows[3][3], &rows[3][4], &rows[3][5]),
        ("emu", "emu-7", "990")
    );
    // A metric name with a dot.
    let (status, _, body) = get(&app, "/api/tests/blinky/metrics/virtual_ms.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(",4000.25,ms"));
}

#[tokio::test]
async fn boards_page_and_api() {
    let s = store().await;
    sample(&s.pool).await;
    let app = router(s.pool.clone());
    let body = ok_html(&app, "/boards").await;
    assert!(body.contains("<code>emu-7</code>"));
    assert!(body.contains("href=\"/runs/3\""));
    let (status, v) = get_json(&app, "/api/boards").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["board_kind"], "emu");
    assert_eq!(v[1]["board_kind"], "sim");
    assert_eq!(v[1]["runs"], 3);
    assert_eq!(v[1]["results"], 6);
    assert_eq!(v[1]["failed"], 1);
    assert_eq!(v[1]["passed"], 5);
    assert_eq!(v[1]["last_run_id"], 3);
}

#[tokio::test]
async fn empty_store_pages_render() {
    let s = store().await;
    let app = router(s.pool.clone());
    for uri in ["/", "/tests", "/boards", "/regressions"] {
        let body = ok_html(&app, uri).await;
        assert!(body.contains("class=\"empty\""), "{uri}");
    }
    let (_, v) = get_json(&app, "/api/runs").await;
    assert_eq!(v["total"], 0);
    let (_, v) = get_json(&app, "/api/regressions").await;
    assert_eq!(v["regressions"], serde_json::json!([]));
}

#[tokio::test]
async fn bad_requests_get_a_4xx_with_a_message() {
    let s = store().await;
    sample(&s.pool).await;
    let app = router(s.pool.clone());
    let json_cases = [
        ("/api/runs/abc", StatusCode::BAD_REQUEST, "positive integer"),
        ("/api/runs/-3", StatusCode::BAD_REQUEST, "positive integer"),
        (
            "/api/runs/99999999999999999999",
            StatusCode::BAD_REQUEST,
            "positive integer",
        ),
        ("/api/runs/999", StatusCode::NOT_FOUND, "no run with id 999"),
        (
            "/api/runs?limit=0",
            StatusCode::BAD_REQUEST,
            "between 1 and 500",
        ),
        (
            "/api/runs?limit=501",
            StatusCode::BAD_REQUEST,
            "between 1 and 500",
        ),
        ("/api/runs?limit=ten", StatusCode::BAD_REQUEST, "limit"),
        ("/api/runs?offset=-1", StatusCode::BAD_REQUEST, "offset"),
        ("/api/runs?page=2", StatusCode::BAD_REQUEST, "page"),
        (
            "/api/tests/nope",
            StatusCode::NOT_FOUND,
            "no test named \\\"nope\\\"",
        ),
        (
            "/api/tests/blinky?runs=0",
            StatusCode::BAD_REQUEST,
            "runs must be",
        ),
        ("/api/tests/blinky?runs=x", StatusCode::BAD_REQUEST, "runs"),
        (
            "/api/tests/blinky/metrics/nope.csv",
            StatusCode::NOT_FOUND,
            "has no metric",
        ),
        (
            "/api/tests/nope/metrics/cycles.csv",
            StatusCode::NOT_FOUND,
            "no test named",
        ),
        (
            "/api/tests/blinky/metrics/cycles",
            StatusCode::NOT_FOUND,
            ".csv",
        ),
        ("/api/nothing", StatusCode::NOT_FOUND, "no such page"),
    ];
    for (uri, status, message) in json_cases {
        let (got, headers, body) = get(&app, uri).await;
        assert_eq!(got, status, "{uri}: {body}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{uri}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], status.as_u16());
        assert!(body.contains(message), "{uri}: {body}");
    }
    let html_cases = [
        ("/runs/abc", StatusCode::BAD_REQUEST, "positive integer"),
        ("/runs/0", StatusCode::BAD_REQUEST, "positive integer"),
        ("/runs/42", StatusCode::NOT_FOUND, "no run with id 42"),
        ("/?limit=1000", StatusCode::BAD_REQUEST, "between 1 and 500"),
        ("/?offset=x", StatusCode::BAD_REQUEST, "offset"),
        (
            "/tests/nope",
            StatusCode::NOT_FOUND,
            "no test named &#34;nope&#34;",
        ),
        (
            "/tests/blinky?runs=-1",
            StatusCode::BAD_REQUEST,
            "runs must be",
        ),
        ("/nothing", StatusCode::NOT_FOUND, "no such page"),
        ("/assets/nope.js", StatusCode::NOT_FOUND, "no such asset"),
    ];
    for (uri, status, message) in html_cases {
        let (got, headers, body) = get(&app, uri).await;
        assert_eq!(got, status, "{uri}: {body}");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{uri}"
        );
        assert!(body.contains(message), "{uri}: {body}");
        assert!(body.contains("id=\"error-message\""), "{uri}");
    }
}

#[tokio::test]
async fn a_database_error_is_a_500() {
    let s = store().await;
    sample(&s.pool).await;
    sqlx::query("DROP TABLE checks")
        .execute(&s.pool)
        .await
        .unwrap();
    let app = router(s.pool.clone());
    let (status, v) = get_json(&app, "/api/runs/1").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(v["error"].as_str().unwrap().contains("database error"));
    let (status, _, body) = get(&app, "/runs/1").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("database error"));
}

#[tokio::test]
async fn assets_are_embedded_with_cache_headers() {
    let s = store().await;
    let app = router(s.pool.clone());
    let (status, headers, body) = get(&app, "/assets/uPlot.iife.min.js").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert!(
        headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    assert!(body.contains("uPlot"));
    assert!(body.len() > 40_000);
    let etag = headers[header::ETAG].clone();
    let (status, _, body) = send(
        &app,
        Request::get("/assets/uPlot.iife.min.js")
            .header(header::IF_NONE_MATCH, etag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    for (file, ty) in [
        ("uPlot.min.css", "text/css; charset=utf-8"),
        ("cockpit.js", "text/javascript; charset=utf-8"),
        ("cockpit.css", "text/css; charset=utf-8"),
    ] {
        let (status, headers, _) = get(&app, &format!("/assets/{file}")).await;
        assert_eq!(status, StatusCode::OK, "{file}");
        assert_eq!(headers[header::CONTENT_TYPE], ty, "{file}");
    }
    // Pages allow only same-origin scripts.
    let (_, headers, _) = get(&app, "/").await;
    assert!(
        headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
}

/// A series of `blinky`-like results whose `cycles` step up by 20 % at run `step` (1-based).
async fn stepped_series(pool: &SqlitePool, test: &str, board_id: &str, n: i64, step: i64) {
    for i in 1..=n {
        let run = insert_run(
            pool,
            T0 + i * 60_000,
            Some(&format!("{i:040x}")),
            Some("work"),
            "sim",
            board_id,
            Some(T0 + i * 60_000 + 1000),
            (1, 0, 0),
        )
        .await;
        let r = insert_result(pool, run, test, "sim", board_id, "pass", None, "ok\n").await;
        let base = if i >= step { 1200.0 } else { 1000.0 };
        let noise = [0.0, 3.0, -2.0, 1.0, -4.0, 2.0][(i % 6) as usize];
        insert_metric(pool, r, "cycles", "cycles", base + noise).await;
    }
}

#[tokio::test]
async fn regressions_are_listed_and_acknowledged() {
    let s = store().await;
    stepped_series(&s.pool, "blinky", "sim", 40, 31).await;
    let app = router(s.pool.clone());

    let (status, v) = get_json(&app, "/api/regressions").await;
    assert_eq!(status, StatusCode::OK);
    let regs = v["regressions"].as_array().unwrap();
    let reg = regs
        .iter()
        .find(|r| r["test_name"] == "blinky" && r["direction"] == "regression")
        .unwrap_or_else(|| panic!("a 20 % step is detected: {v}"));
    assert!(v["unacknowledged"].as_u64().unwrap() >= 1);
    let key = reg["key"].as_str().unwrap().to_owned();

    let body = ok_html(&app, "/regressions").await;
    assert!(body.contains("id=\"open-regressions\""));
    assert!(body.contains("action=\"/api/regressions/ack\""));
    assert!(body.contains("href=\"/tests/blinky\""));

    let post = |ct: &str, body: String| {
        Request::post("/api/regressions/ack")
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from(body))
            .unwrap()
    };
    // Bad acknowledgements.
    let (status, _, body) = send(
        &app,
        post(
            "application/json",
            serde_json::json!({"key": key, "who": " ", "why": "x"}).to_string(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("who must not be empty"));
    let (status, _, body) = send(&app, post("application/json", "{".into())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _, _) = send(&app, post("text/plain", "key=a".into())).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _, body) = send(
        &app,
        post(
            "application/json",
            serde_json::json!({"key": "nope|x|y|z|1", "who": "a", "why": "b"}).to_string(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _, _) = get(&app, "/api/regressions/ack").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    // The form of the page: a redirect back.
    let form = serde_urlencoded::to_string([
        ("key", key.as_str()),
        ("who", "ana"),
        ("why", "expected: new feature"),
    ])
    .unwrap();
    let (status, headers, _) = send(&app, post("application/x-www-form-urlencoded", form)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/regressions");
    let (_, v) = get_json(&app, "/api/regressions").await;
    let reg = v["regressions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == key.as_str())
        .unwrap();
    assert_eq!(reg["acknowledged"]["who"], "ana");
    let body = ok_html(&app, "/regressions").await;
    assert!(body.contains("id=\"acknowledged-regressions\""));
    assert!(body.contains("expected: new feature"));

    // JSON acknowledgement answers JSON.
    let (status, _, body) = send(
        &app,
        post(
            "application/json",
            serde_json::json!({"key": key, "who": "bo", "why": "still fine"}).to_string(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["acknowledged"], true);
}

const XSS: &str = "<script>alert(1)</script>\"'&";
const XSS_ESCAPED: &str = "&#60;script&#62;alert(1)&#60;/script&#62;&#34;&#39;&#38;";

fn assert_escaped(uri: &str, body: &str) {
    assert!(
        !body.contains("<script>alert"),
        "{uri}: raw payload in the page"
    );
    assert!(!body.contains("alert(1)</script>"), "{uri}: raw payload");
    assert!(
        body.contains(XSS_ESCAPED),
        "{uri}: escaped payload missing: {body}"
    );
}

#[tokio::test]
async fn user_text_is_escaped_on_every_page() {
    let s = store().await;
    let pool = &s.pool;
    // The payload in test name, board id, commit message, commit, failure, console, check
    // fields, metric name and unit, plan path-free fields of the run (host, command).
    let mut last = 0;
    for i in 1..=40i64 {
        let run = insert_run(
            pool,
            T0 + i * 60_000,
            Some(&format!("{XSS}{i}")),
            Some(XSS),
            "sim",
            XSS,
            Some(T0 + i * 60_000 + 1000),
            (0, 1, 0),
        )
        .await;
        let r = insert_result(pool, run, XSS, "sim", XSS, "fail", Some(XSS), XSS).await;
        insert_check(pool, r, 0, "console", XSS, XSS, XSS, false).await;
        let value = if i > 30 {
            1300.0
        } else {
            1000.0 + (i % 3) as f64
        };
        insert_metric(pool, r, XSS, XSS, value).await;
        last = run;
    }
    sqlx::query("UPDATE runs SET host = ?, command = ?")
        .bind(XSS)
        .bind(XSS)
        .execute(pool)
        .await
        .unwrap();
    let app = router(s.pool.clone());

    // Acknowledge the detected step with the payload as who and why.
    let (_, v) = get_json(&app, "/api/regressions").await;
    let regs = v["regressions"].as_array().unwrap().clone();
    assert!(!regs.is_empty(), "the step is detected: {v}");
    assert_eq!(regs[0]["test_name"], XSS);
    let body = ok_html(&app, "/regressions").await;
    assert_escaped("/regressions (open)", &body);
    let key = regs[0]["key"].as_str().unwrap();
    assert!(
        regress::acknowledge(pool, key, XSS, XSS).await.unwrap(),
        "ack {key}"
    );

    let test_url = format!("/tests/{}", cockpit_dashboard::web::path_segment(XSS));
    for uri in [
        "/".to_owned(),
        format!("/runs/{last}"),
        "/tests".to_owned(),
        test_url.clone(),
        "/regressions".to_owned(),
        "/boards".to_owned(),
    ] {
        let body = ok_html(&app, &uri).await;
        assert_escaped(&uri, &body);
    }
    // The run page links the test by its percent-encoded name.
    let run_page = ok_html(&app, &format!("/runs/{last}")).await;
    assert!(run_page.contains(&format!("href=\"{test_url}\"")));
    // The chart data block can neither close the script element nor open a comment.
    let test_page = ok_html(&app, &test_url).await;
    let start = test_page.find("id=\"history-data\">").unwrap();
    let block = &test_page[start..test_page[start..].find("</script>").unwrap() + start];
    assert!(!block.contains("<!--"));
    assert!(block.contains("\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"));
    // An unknown name in an error page is escaped too.
    let (status, _, body) = get(&app, "/tests/%3Cscript%3Ealert(1)%3C%2Fscript%3E%22%27%26x").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.contains("<script>alert"));
    // JSON answers carry the text verbatim (JSON-escaped by serde).
    let (_, v) = get_json(&app, &format!("/api/runs/{last}")).await;
    assert_eq!(v["results"][0]["console"], XSS);
    assert_eq!(v["commit_message"], XSS);
    // The CSV export quotes it as CSV.
    let (status, _, body) = get(
        &app,
        &format!(
            "{}/metrics/{}.csv",
            test_url.replace("/tests/", "/api/tests/"),
            cockpit_dashboard::web::path_segment(XSS)
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut rdr = csv::Reader::from_reader(body.as_bytes());
    let first = rdr.records().next().unwrap().unwrap();
    assert_eq!(&first[4], XSS);
    assert_eq!(&first[6], XSS);
}
