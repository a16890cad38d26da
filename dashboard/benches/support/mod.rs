//! Synthetic 1,000,000-metric-row result store for the dashboard benchmarks.
//!
//! Shape: [`TESTS`] tests × [`METRICS`] metrics × [`BOARDS`] board kinds × [`RUNS_PER_BOARD`] runs
//! = 1,000,000 `metrics` rows (100,000 `test_results`, 5,000 `runs`). Every commit is run once on
//! each board kind, like a CI that tests on `sim` and `emu`. Values are noisy around a per-series
//! level, with a few step changes (regressions and improvements) so the regression views have
//! something to find, and ~2 % failing results.
//!
//! Generation takes a few seconds in release (multi-row `INSERT`s in one transaction, with the
//! schema's indices in place as the harness would have them); the file is cached under the
//! target dir, keyed by a hash of the migrations and [`GENERATOR_VERSION`], so later runs reuse it.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Instant;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Sqlite};

pub const TESTS: usize = 20;
pub const METRICS: usize = 10;
pub const BOARDS: [&str; 2] = ["sim", "emu"];
pub const RUNS_PER_BOARD: usize = 2_500;
/// Bump when the generated data changes, to invalidate cached files.
const GENERATOR_VERSION: u32 = 2;

/// Metric names and units, as the harness records them.
pub const METRIC_NAMES: [(&str, &str); METRICS] = [
    ("instructions", "count"),
    ("cycles", "cycles"),
    ("virtual_ms", "ms"),
    ("wall_ms", "ms"),
    ("boot_ms", "ms"),
    ("flash_bytes", "count"),
    ("stack_bytes", "count"),
    ("pin13.pulse_high_ms", "ms"),
    ("uart.latency_ms", "ms"),
    ("irq.latency_cycles", "cycles"),
];

pub fn test_name(i: usize) -> String {
    format!("bench/test_{i:02}")
}

pub const fn metric_rows() -> usize {
    TESTS * METRICS * BOARDS.len() * RUNS_PER_BOARD
}

/// Small deterministic PRNG (xorshift64*), so the data and the request mix repeat across runs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// Roughly normal (Irwin–Hall with 4 terms), mean 0, sd 1.
    pub fn normal(&mut self) -> f64 {
        let s: f64 = (0..4).map(|_| self.unit()).sum();
        (s - 2.0) * (3.0f64).sqrt()
    }
}

fn migrations_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations")
}

fn cache_key() -> u64 {
    let mut h = DefaultHasher::new();
    GENERATOR_VERSION.hash(&mut h);
    metric_rows().hash(&mut h);
    let mut files: Vec<_> = std::fs::read_dir(migrations_dir())
        .expect("migrations dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    for f in files {
        f.file_name().hash(&mut h);
        std::fs::read(&f).expect("read migration").hash(&mut h);
    }
    h.finish()
}

/// Target dir for cached files: `CARGO_TARGET_DIR`, else the workspace `target/`.
fn cache_dir() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("cockpit-bench");
    std::fs::create_dir_all(&dir).expect("create bench cache dir");
    dir
}

/// Path of the 1M-row store, generated on first use.
pub async fn store() -> PathBuf {
    let path = cache_dir().join(format!("history-1m-{:016x}.db", cache_key()));
    if path.exists() {
        eprintln!("bench store: reusing {}", path.display());
        return path;
    }
    let tmp = path.with_extension("db.partial");
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", tmp.display()));
    }
    let t0 = Instant::now();
    generate(&tmp).await;
    std::fs::rename(&tmp, &path).expect("move generated store into place");
    eprintln!(
        "bench store: generated {} metric rows in {:.1} s -> {}",
        metric_rows(),
        t0.elapsed().as_secs_f64(),
        path.display()
    );
    path
}

/// Fills a new store at `path` (the schema from `migrations/`, then the synthetic history).
pub async fn generate(path: &Path) {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .expect("open bench store");
    sqlx::migrate::Migrator::new(migrations_dir())
        .await
        .expect("read migrations")
        .run(&pool)
        .await
        .expect("apply migrations");

    let mut rng = Rng::new(0x0C0C_4917);
    // Per (test, metric, board) level and noise; a step change at a per-series commit for some.
    let series = TESTS * METRICS * BOARDS.len();
    let mut level = Vec::with_capacity(series);
    let mut noise = Vec::with_capacity(series);
    let mut step_at = Vec::with_capacity(series);
    let mut step = Vec::with_capacity(series);
    for s in 0..series {
        let metric = (s / BOARDS.len()) % METRICS;
        let base = 10f64.powf(1.0 + 5.0 * rng.unit());
        level.push(base);
        // instructions/flash/stack are deterministic (no noise); timings are noisy.
        noise.push(match metric {
            0 | 5 | 6 => 0.0,
            _ => 0.01 + 0.04 * rng.unit(),
        });
        if rng.below(8) == 0 {
            step_at.push(RUNS_PER_BOARD / 4 + rng.below(RUNS_PER_BOARD * 3 / 4));
            step.push(if rng.below(2) == 0 { 1.15 } else { 0.9 });
        } else {
            step_at.push(usize::MAX);
            step.push(1.0);
        }
    }

    let mut tx = pool.begin().await.expect("begin");
    let t0 = 1_700_000_000_000i64;
    let mut run_id = 0i64;
    let mut result_id = 0i64;
    let mut results: Vec<(i64, i64, usize, usize, bool, f64)> = Vec::with_capacity(TESTS);
    let mut metrics: Vec<(i64, usize, f64)> = Vec::with_capacity(TESTS * METRICS);
    for commit in 0..RUNS_PER_BOARD {
        let sha = format!(
            "{:016x}{:016x}{:08x}",
            rng.next_u64(),
            rng.next_u64(),
            rng.next_u64() as u32
        );
        for (b, board) in BOARDS.iter().enumerate() {
            run_id += 1;
            results.clear();
            metrics.clear();
            let mut failed = 0;
            for t in 0..TESTS {
                result_id += 1;
                let fail = rng.below(50) == 0;
                failed += i64::from(fail);
                results.push((result_id, run_id, t, b, fail, 5.0 + 100.0 * rng.unit()));
                for m in 0..METRICS {
                    let s = (t * METRICS + m) * BOARDS.len() + b;
                    let mut v = level[s] * (1.0 + noise[s] * rng.normal());
                    if commit >= step_at[s] {
                        v *= step[s];
                    }
                    if noise[s] > 0.0 && rng.below(200) == 0 {
                        v *= 1.5; // outlier
                    }
                    if noise[s] == 0.0 {
                        v = v.round();
                    }
                    metrics.push((result_id, m, v));
                }
            }
            let started = t0 + run_id * 60_000;
            sqlx::query(
                "INSERT INTO runs (id, started_at_ms, finished_at_ms, git_commit, git_dirty, host,
                                   board_kind, board_id, harness_version, command,
                                   passed, failed, errors)
                 VALUES (?, ?, ?, ?, 0, 'bench-host', ?, ?, '0.1.0', 'cockpit run test-plans', ?, ?, 0)",
            )
            .bind(run_id)
            .bind(started)
            .bind(started + 45_000)
            .bind(&sha)
            .bind(*board)
            .bind(format!("{board}-0"))
            .bind(TESTS as i64 - failed)
            .bind(failed)
            .execute(&mut *tx)
            .await
            .expect("insert run");

            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO test_results (id, run_id, test_name, plan_path, board_kind, board_id,
                                           verdict, failure, duration_ms, console) ",
            );
            qb.push_values(&results, |mut row, &(id, run, t, b, fail, dur)| {
                row.push_bind(id)
                    .push_bind(run)
                    .push_bind(test_name(t))
                    .push_bind(format!("test-plans/bench/test_{t:02}.toml"))
                    .push_bind(BOARDS[b])
                    .push_bind(format!("{}-0", BOARDS[b]))
                    .push_bind(if fail { "fail" } else { "pass" })
                    .push_bind(fail.then_some("console: expected \"OK\", observed \"ERR\""))
                    .push_bind(dur)
                    .push_bind("boot\nOK\n");
            });
            qb.build().execute(&mut *tx).await.expect("insert results");

            let mut qb: QueryBuilder<Sqlite> =
                QueryBuilder::new("INSERT INTO metrics (result_id, name, unit, value) ");
            qb.push_values(&metrics, |mut row, &(id, m, v)| {
                row.push_bind(id)
                    .push_bind(METRIC_NAMES[m].0)
                    .push_bind(METRIC_NAMES[m].1)
                    .push_bind(v);
            });
            qb.build().execute(&mut *tx).await.expect("insert metrics");
        }
    }
    tx.commit().await.expect("commit");
    // Fold the WAL into the file so the cached store is one self-contained file.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await
        .expect("checkpoint");
    pool.close().await;
}
