//! Dashboard latency over a 1,000,000-metric-row store (issue 4, "Must hold": the test-history
//! API answers at p95 ≤ 50 ms, the regressions page in ≤ 200 ms).
//!
//! `cargo bench -p cockpit-dashboard --bench history` builds (or reuses, cached under the target
//! dir) the store of `support/mod.rs`: 20 tests × 10 metrics × 2 board kinds × 2,500 runs. It
//! opens it with [`cockpit_dashboard::open_pool`] (so the indices of `migrations/` are in
//! place), and requests go through the real [`cockpit_dashboard::router`] with
//! `tower::ServiceExt::oneshot`, body included:
//!
//! 1. a latency survey first: [`HISTORY_SAMPLES`] requests of `/api/tests/{name}` for random
//!    tests and [`REGRESSIONS_SAMPLES`] of `/regressions`, each timed alone, printed as
//!    p50/p95/max against the targets (and written to `cockpit-bench/summary.txt`);
//!    and [`cockpit_dashboard::regress::detect`] called directly with fresh options each time,
//!    so never answered from its memo (the page's cold path);
//! 2. then criterion's own measurement of the same requests (small sample sizes).
//!
//! Set `COCKPIT_BENCH_ENFORCE=1` to make a missed target fail the run.

mod support;

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

const HISTORY_SAMPLES: usize = 200;
const REGRESSIONS_SAMPLES: usize = 20;
const HISTORY_P95_TARGET: Duration = Duration::from_millis(50);
const REGRESSIONS_TARGET: Duration = Duration::from_millis(200);

/// One request through the router; panics on a non-200 answer. Returns the body.
async fn get(app: &Router, uri: &str) -> Bytes {
    let resp = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        status,
        StatusCode::OK,
        "GET {uri}: {}",
        String::from_utf8_lossy(&body[..body.len().min(500)])
    );
    body
}

fn history_uri(rng: &mut support::Rng) -> String {
    let name = support::test_name(rng.below(support::TESTS));
    format!("/api/tests/{}", name.replace('/', "%2F"))
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    // Nearest-rank: the smallest value with at least p % of the samples at or below it.
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

struct Survey {
    p50: Duration,
    p95: Duration,
    max: Duration,
    bytes: usize,
}

fn survey(
    rt: &tokio::runtime::Runtime,
    app: &Router,
    n: usize,
    mut uri: impl FnMut() -> String,
) -> Survey {
    let mut times = Vec::with_capacity(n);
    let mut bytes = 0;
    for _ in 0..n {
        let uri = uri();
        let t = Instant::now();
        let body = rt.block_on(get(app, &uri));
        times.push(t.elapsed());
        bytes = bytes.max(body.len());
    }
    times.sort();
    Survey {
        p50: percentile(&times, 50),
        p95: percentile(&times, 95),
        max: *times.last().unwrap(),
        bytes,
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let path = rt.block_on(support::store());
    let pool = rt
        .block_on(cockpit_dashboard::open_pool(&path))
        .expect("open bench store");
    let rows: i64 = rt
        .block_on(sqlx::query_scalar("SELECT COUNT(*) FROM metrics").fetch_one(&pool))
        .unwrap();
    assert_eq!(
        rows as usize,
        support::metric_rows(),
        "metric rows in {path:?}"
    );
    let app = &cockpit_dashboard::router(pool.clone());
    let pool = &pool;

    // The API answers with one chart per metric for a test that has history.
    let body = rt.block_on(get(app, "/api/tests/bench%2Ftest_00"));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["metrics"].as_array().map(Vec::len),
        Some(support::METRICS),
        "/api/tests/bench/test_00 has a series per metric"
    );

    // Warm up: every test's history once, the regressions page twice (connections, page cache).
    for t in 0..support::TESTS {
        let name = support::test_name(t).replace('/', "%2F");
        rt.block_on(get(app, &format!("/api/tests/{name}")));
    }
    for _ in 0..2 {
        rt.block_on(get(app, "/regressions"));
    }

    let mut rng = support::Rng::new(42);
    let history = survey(&rt, app, HISTORY_SAMPLES, || history_uri(&mut rng));
    let regressions = survey(&rt, app, REGRESSIONS_SAMPLES, || "/regressions".to_owned());
    // The detector itself, never answered from a memo: each call gets its own options (an
    // alpha differing in the 12th decimal, which changes no verdict here).
    let mut k = 0u32;
    let mut detect_times = Vec::with_capacity(REGRESSIONS_SAMPLES);
    let mut found = 0;
    for _ in 0..REGRESSIONS_SAMPLES {
        k += 1;
        let opts = cockpit_dashboard::regress::Options {
            alpha: 0.05 + f64::from(k) * 1e-12,
            ..Default::default()
        };
        let t = Instant::now();
        found = rt
            .block_on(cockpit_dashboard::regress::detect(pool, &opts))
            .unwrap()
            .len();
        detect_times.push(t.elapsed());
    }
    detect_times.sort();
    let detect = Survey {
        p50: percentile(&detect_times, 50),
        p95: percentile(&detect_times, 95),
        max: *detect_times.last().unwrap(),
        bytes: 0,
    };
    let verdict = |ok: bool| if ok { "ok" } else { "OVER TARGET" };
    let history_ok = history.p95 <= HISTORY_P95_TARGET;
    let regressions_ok = regressions.p95 <= REGRESSIONS_TARGET;
    let summary = format!(
        "store: {} metric rows ({} tests x {} metrics x {} boards x {} runs)\n\
         GET /api/tests/{{random}} x{HISTORY_SAMPLES}: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms, \
         body up to {} KiB (target p95 <= {} ms: {})\n\
         GET /regressions x{REGRESSIONS_SAMPLES}: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms, \
         body up to {} KiB (target <= {} ms: {})\n\
         regress::detect cold (no memo) x{REGRESSIONS_SAMPLES}: p50 {:.1} ms, p95 {:.1} ms, \
         max {:.1} ms, {found} regressions/improvements\n",
        support::metric_rows(),
        support::TESTS,
        support::METRICS,
        support::BOARDS.len(),
        support::RUNS_PER_BOARD,
        ms(history.p50),
        ms(history.p95),
        ms(history.max),
        history.bytes / 1024,
        HISTORY_P95_TARGET.as_millis(),
        verdict(history_ok),
        ms(regressions.p50),
        ms(regressions.p95),
        ms(regressions.max),
        regressions.bytes / 1024,
        REGRESSIONS_TARGET.as_millis(),
        verdict(regressions_ok),
        ms(detect.p50),
        ms(detect.p95),
        ms(detect.max),
    );
    eprint!("\n{summary}\n");
    let _ = std::fs::write(
        path.parent().unwrap().join("summary.txt"),
        summary.as_bytes(),
    );
    if std::env::var_os("COCKPIT_BENCH_ENFORCE").is_some_and(|v| v == "1") {
        assert!(history_ok && regressions_ok, "a latency target was missed");
    }

    let mut g = c.benchmark_group("dashboard_1m_rows");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    let mut rng = support::Rng::new(7);
    g.bench_function("api_test_history_random", |b| {
        b.iter(|| rt.block_on(get(app, &history_uri(&mut rng))))
    });
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("regressions_page", |b| {
        b.iter(|| rt.block_on(get(app, "/regressions")))
    });
    g.finish();
}

criterion_group!(history, benches);
criterion_main!(history);
