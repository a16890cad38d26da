//! The dashboard in a real browser: headless Debian Chromium driven through ChromeDriver
//! (WebDriver, `fantoccini`).
//!
//! The test seeds a temporary store with SQL (five runs of `blinky` with known metric values on
//! two boards, plus another test), serves [`cockpit_dashboard::router`] on 127.0.0.1 (port 0),
//! then in Chromium: loads the runs page, follows a run's link, follows the test's link, waits
//! for cockpit.js to draw the uPlot charts and checks each chart's point count
//! (`data-rendered-points`, the non-null values handed to uPlot, see `dashboard/README.md`
//! "For browser tests") against the seeded data, that every chart has a drawn canvas, and that
//! the browser logged no console error. Screenshots go to
//! `$CARGO_TARGET_TMPDIR/browser/{runs,test}-page.png`.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian `chromium chromium-driver`,
//! installed by `.ci/run`; override with `COCKPIT_CHROMIUM` / `COCKPIT_CHROMEDRIVER`). Without
//! them the test fails under CI (`CI` set) and is skipped with a note otherwise. Nothing but
//! 127.0.0.1 is contacted: Chromium runs with background networking, sync, component updates
//! and QUIC off, on a fresh profile.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long any one wait (page, element, chart) may take; Chromium is slow to start on a
/// loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(60);

/// The seeded history of `blinky`: (board kind, cycles, virtual_ms, pulse_ms or none) per run,
/// in run order. Runs 1–5; `other_test` runs alongside in every run.
const BLINKY: [(&str, f64, f64, Option<f64>); 5] = [
    ("sim", 1000.0, 10.0, Some(0.5)),
    ("emu", 1040.0, 10.5, None),
    ("sim", 1010.0, 10.1, Some(0.5)),
    ("emu", 1050.0, 10.4, None),
    ("sim", 1200.0, 12.0, Some(0.6)),
];

/// Expected chart points per metric of `blinky`: cycles and virtual_ms in every run, the pulse
/// width only on the sim runs.
fn expected_points() -> Vec<(&'static str, usize)> {
    vec![
        ("cycles", BLINKY.len()),
        (
            "pin13.pulse_high_ms",
            BLINKY.iter().filter(|r| r.3.is_some()).count(),
        ),
        ("virtual_ms", BLINKY.len()),
    ]
}

fn tool(env: &str, default: &str) -> Option<PathBuf> {
    let p = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    p.is_file().then_some(p)
}

/// Kills the child (ChromeDriver) when the test ends, however it ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free port on 127.0.0.1 (bound, read, released) for ChromeDriver, which needs a number.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts ChromeDriver on 127.0.0.1 and waits until it accepts connections.
fn start_chromedriver(driver: &Path, log: &Path) -> (KillOnDrop, u16) {
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .arg(format!("--log-path={}", log.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
    let guard = KillOnDrop(child);
    let start = Instant::now();
    while std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(
            start.elapsed() < WAIT,
            "chromedriver did not listen on 127.0.0.1:{port} within {WAIT:?} (log: {})",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (guard, port)
}

/// ChromeDriver's `POST /session/{id}/se/log {"type": "browser"}`: the browser console
/// entries since the last call (needs `goog:loggingPrefs`).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

/// Console entries of level SEVERE (errors, uncaught exceptions, failed loads) seen so far.
async fn console_errors(c: &Client, seen: &mut Vec<String>) {
    let log = c.issue_cmd(BrowserLog).await.expect("read the browser log");
    let entries = log.as_array().cloned().unwrap_or_default();
    for e in entries {
        if e["level"] == "SEVERE" {
            seen.push(e["message"].as_str().unwrap_or_default().to_owned());
        }
    }
}

async fn seed(pool: &sqlx::SqlitePool) {
    let t0 = 1_763_000_000_000i64;
    for (i, (board, cycles, vms, pulse)) in BLINKY.iter().enumerate() {
        let run = i as i64 + 1;
        let started = t0 + run * 3_600_000;
        sqlx::query(
            "INSERT INTO runs (id, started_at_ms, finished_at_ms, git_commit, commit_message,
                               git_dirty, host, board_kind, board_id, harness_version, command,
                               passed, failed, errors)
             VALUES (?, ?, ?, ?, ?, 0, 'ci-host', ?, ?, '0.1.0', 'cockpit run test-plans', 2, 0, 0)",
        )
        .bind(run)
        .bind(started)
        .bind(started + 42_000)
        .bind(format!("{:08x}{}", 0xc0de_0000u32 + run as u32, "5".repeat(32)))
        .bind(format!("commit number {run}"))
        .bind(*board)
        .bind(format!("{board}-1"))
        .execute(pool)
        .await
        .unwrap();
        for (k, test) in ["blinky", "other_test"].into_iter().enumerate() {
            let result = run * 10 + k as i64;
            sqlx::query(
                "INSERT INTO test_results (id, run_id, test_name, plan_path, board_kind, board_id,
                                           verdict, failure, duration_ms, console)
                 VALUES (?, ?, ?, ?, ?, ?, 'pass', NULL, 1234.5, 'boot\nLED on\n')",
            )
            .bind(result)
            .bind(run)
            .bind(test)
            .bind(format!("test-plans/{test}.toml"))
            .bind(*board)
            .bind(format!("{board}-1"))
            .execute(pool)
            .await
            .unwrap();
            let mut metrics = vec![("cycles", "cycles", *cycles), ("virtual_ms", "ms", *vms)];
            if let Some(p) = pulse {
                metrics.push(("pin13.pulse_high_ms", "ms", *p));
            }
            if test == "other_test" {
                metrics.truncate(1);
            }
            for (name, unit, value) in metrics {
                sqlx::query(
                    "INSERT INTO metrics (result_id, name, unit, value) VALUES (?, ?, ?, ?)",
                )
                .bind(result)
                .bind(name)
                .bind(unit)
                .bind(value)
                .execute(pool)
                .await
                .unwrap();
            }
        }
    }
}

fn save_png(path: &Path, png: &[u8]) {
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000,
        "screenshot is not a PNG ({} bytes)",
        png.len()
    );
    std::fs::write(path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

/// Waits until `js` (an expression) is truthy in the page.
async fn wait_for_js(c: &Client, js: &str, what: &str) {
    let start = Instant::now();
    loop {
        let v = c
            .execute(&format!("return !!({js});"), vec![])
            .await
            .unwrap();
        if v == Value::Bool(true) {
            return;
        }
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn scenario(c: &Client, base: &str, shots: &Path) {
    let mut errors = Vec::new();
    console_errors(c, &mut errors).await; // drop anything logged before the first page

    // Runs page: the five runs, newest first.
    c.goto(base).await.unwrap();
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("table#runs a.run-link"))
        .await
        .expect("runs table on /");
    let runs = c.find_all(Locator::Css("a.run-link")).await.unwrap();
    assert_eq!(runs.len(), BLINKY.len(), "runs listed on /");
    save_png(&shots.join("runs-page.png"), &c.screenshot().await.unwrap());

    // The console channel works: a probe error logged now is read back (then discarded), so an
    // empty error list at the end means no errors, not a deaf log.
    c.execute("console.error('cockpit-browser-test-probe');", vec![])
        .await
        .unwrap();
    let mut probe = Vec::new();
    console_errors(c, &mut probe).await;
    assert!(
        probe
            .iter()
            .any(|e| e.contains("cockpit-browser-test-probe")),
        "browser console log readable through chromedriver: {probe:?}"
    );
    errors.extend(
        probe
            .into_iter()
            .filter(|e| !e.contains("cockpit-browser-test-probe")),
    );

    // Run page of the newest run (first row), then the test link.
    assert_eq!(runs[0].text().await.unwrap(), format!("#{}", BLINKY.len()));
    runs[0].click().await.unwrap();
    let link = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(
            "//a[contains(@class,'test-link') and normalize-space(.)='blinky']",
        ))
        .await
        .expect("link to blinky on the run page");
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with(&format!("/runs/{}", BLINKY.len())),
        "on the run page"
    );
    link.click().await.unwrap();

    // Test page: wait for cockpit.js to have drawn every chart.
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("h1#test-name"))
        .await
        .expect("test page");
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/tests/blinky")
    );
    let expected = expected_points();
    wait_for_js(
        c,
        &format!(
            "document.body.getAttribute('data-charts-ready') === '{}'",
            expected.len()
        ),
        "the charts to render (body[data-charts-ready])",
    )
    .await;
    let charts = c
        .execute(
            "return Array.from(document.querySelectorAll('div.chart')).map(function (d) {
               var cv = d.querySelector('canvas');
               return { metric: d.getAttribute('data-metric'),
                        ready: d.getAttribute('data-ready'),
                        server_points: d.getAttribute('data-points'),
                        rendered_points: d.getAttribute('data-rendered-points'),
                        board_colors: d.getAttribute('data-board-colors'),
                        canvas_w: cv ? cv.width : 0, canvas_h: cv ? cv.height : 0,
                        legend: d.querySelectorAll('.u-legend .u-series').length };
             });",
            vec![],
        )
        .await
        .unwrap();
    let charts = charts.as_array().expect("chart list");
    let got: Vec<(String, usize)> = charts
        .iter()
        .map(|ch| {
            let metric = ch["metric"].as_str().unwrap_or_default().to_owned();
            assert_eq!(ch["ready"], "true", "chart {metric} drawn");
            assert!(
                ch["canvas_w"].as_u64() > Some(100) && ch["canvas_h"].as_u64() > Some(100),
                "chart {metric} has a drawn canvas: {ch}"
            );
            // The run column plus one series per board (sim, emu), or one for a sim-only metric.
            assert!(
                ch["legend"].as_u64() >= Some(2),
                "chart {metric} legend: {ch}"
            );
            let rendered: usize = ch["rendered_points"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("chart {metric} has data-rendered-points: {ch}"));
            assert_eq!(
                ch["server_points"].as_str(),
                Some(rendered.to_string().as_str()),
                "chart {metric}: points drawn = points the server sent"
            );
            (metric, rendered)
        })
        .collect();
    // A board has one colour across all charts of the page.
    let mut board_colors: std::collections::BTreeMap<String, String> = Default::default();
    for ch in charts {
        let colors: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(ch["board_colors"].as_str().unwrap_or("null"))
                .unwrap_or_else(|e| panic!("chart has data-board-colors: {ch}: {e}"));
        for (board, color) in colors {
            let color = color.as_str().unwrap_or_default().to_owned();
            let first = board_colors
                .entry(board.clone())
                .or_insert_with(|| color.clone());
            assert_eq!(
                *first, color,
                "board {board} keeps its colour across charts"
            );
        }
    }
    assert!(board_colors.len() >= 2, "boards seen: {board_colors:?}");
    let distinct: std::collections::BTreeSet<_> = board_colors.values().collect();
    assert_eq!(
        distinct.len(),
        board_colors.len(),
        "boards have distinct colours"
    );
    let mut got = got;
    got.sort();
    let want: Vec<(String, usize)> = expected.iter().map(|(m, n)| (m.to_string(), *n)).collect();
    assert_eq!(got, want, "charts of blinky and their point counts");

    save_png(&shots.join("test-page.png"), &c.screenshot().await.unwrap());

    console_errors(c, &mut errors).await;
    // A missing favicon is the browser's own request, not the dashboard's.
    errors.retain(|e| !e.contains("favicon.ico"));
    assert!(errors.is_empty(), "browser console errors: {errors:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_page_to_test_chart_in_chromium() {
    let (Some(chromium), Some(driver)) = (
        tool("COCKPIT_CHROMIUM", "/usr/bin/chromium"),
        tool("COCKPIT_CHROMEDRIVER", "/usr/bin/chromedriver"),
    ) else {
        let msg = "browser test needs Debian's chromium and chromium-driver \
                   (/usr/bin/chromium, /usr/bin/chromedriver; `apt-get install chromium chromium-driver`, \
                   as .ci/run does)";
        if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
            panic!("{msg}: missing under CI");
        }
        eprintln!("SKIPPED: {msg}");
        return;
    };

    let dir = tempfile::tempdir().unwrap();
    let pool = cockpit_dashboard::open_pool(&dir.path().join("results.db"))
        .await
        .unwrap();
    seed(&pool).await;

    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, cockpit_dashboard::router(pool))
            .await
            .unwrap()
    });

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&shots).unwrap();
    let (_driver, port) = start_chromedriver(&driver, &shots.join("chromedriver.log"));

    let profile = dir.path().join("chromium-profile");
    let mut caps = Capabilities::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1400",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("WebDriver session with headless chromium");

    // Always end the session (it quits Chromium), then report the scenario's outcome.
    let outcome = tokio::spawn({
        let client = client.clone();
        let base = format!("http://{addr}/");
        async move { scenario(&client, &base, &shots).await }
    })
    .await;
    let _ = client.close().await;
    server.abort();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
