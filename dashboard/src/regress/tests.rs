//! Database-level tests of [`detect`] and [`acknowledge`].

use super::*;
use sqlx::sqlite::SqlitePoolOptions;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

async fn pool() -> SqlitePool {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    MIGRATOR.run(&pool).await.unwrap();
    pool
}

/// Stores `values` of `(test, metric)` on board `sim`, one run per value, commit `c<i>`.
async fn fill(pool: &SqlitePool, series: &[(&str, &str, &[f64])]) {
    let n = series.iter().map(|s| s.2.len()).max().unwrap();
    for i in 0..n {
        let run: i64 = sqlx::query_scalar(
            "INSERT INTO runs (started_at_ms, git_commit, host, board_kind, board_id,
                               harness_version, command)
             VALUES (?, ?, 'h', 'sim', 'sim', '0', 'cockpit run') RETURNING id",
        )
        .bind(1_000 * i as i64)
        .bind(format!("c{i}"))
        .fetch_one(pool)
        .await
        .unwrap();
        for (test, metric, values) in series {
            let Some(v) = values.get(i) else { continue };
            let result: i64 = sqlx::query_scalar(
                "INSERT INTO test_results (run_id, test_name, plan_path, board_kind, board_id,
                                           verdict, duration_ms)
                 VALUES (?, ?, 'p.toml', 'sim', 'sim', 'pass', 1.0) RETURNING id",
            )
            .bind(run)
            .bind(test)
            .fetch_one(pool)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO metrics (result_id, name, unit, value) VALUES (?, ?, 'ms', ?)",
            )
            .bind(result)
            .bind(metric)
            .bind(v)
            .execute(pool)
            .await
            .unwrap();
        }
    }
}

#[test]
fn keys_round_trip_with_separators_in_names() {
    let k = make_key("a|b%c", "pin13.pulse_high_ms", "sim", "x|y", 42);
    assert_eq!(k, "a%7Cb%25c|pin13.pulse_high_ms|sim|x%7Cy|42");
    assert_eq!(
        parse_key(&k),
        Some((
            "a|b%c".into(),
            "pin13.pulse_high_ms".into(),
            "sim".into(),
            "x|y".into(),
            42
        ))
    );
    assert_eq!(parse_key("a|b|c|d"), None);
    assert_eq!(parse_key("a|b|c|d|x"), None);
}

#[tokio::test]
async fn detect_finds_a_step_and_acknowledge_silences_it() {
    let pool = pool().await;
    let mut cycles = vec![1000.0; 30];
    cycles.extend(vec![1100.0; 10]);
    let flat = vec![7.0; 40];
    fill(
        &pool,
        &[("blinky", "cycles", &cycles), ("fib", "cycles", &flat)],
    )
    .await;

    let regs = detect(&pool, &Options::default()).await.unwrap();
    assert_eq!(regs.len(), 1, "{regs:?}");
    let r = &regs[0];
    assert_eq!(r.test_name, "blinky");
    assert_eq!(r.direction, Direction::Regression);
    assert_eq!(r.first_bad.commit.as_deref(), Some("c30"));
    assert_eq!(r.last_good.as_ref().unwrap().commit.as_deref(), Some("c29"));
    assert_eq!(r.first_bad.started_at_ms, 30_000);
    assert!((r.effect - 0.1).abs() < 1e-12);
    assert_eq!(
        r.key,
        format!("blinky|cycles|sim|sim|{}", r.first_bad.run_id)
    );
    assert!(r.acknowledged.is_none());
    let json = serde_json::to_value(r).unwrap();
    assert_eq!(json["direction"], "regression");

    assert!(!acknowledge(&pool, "nope", "ann", "x").await.unwrap());
    assert!(
        !acknowledge(&pool, "blinky|cycles|sim|sim|999", "ann", "x")
            .await
            .unwrap()
    );
    assert!(
        acknowledge(&pool, &r.key, "ann", "expected: new feature")
            .await
            .unwrap()
    );
    let regs = detect(&pool, &Options::default()).await.unwrap();
    let ack = regs[0].acknowledged.as_ref().unwrap();
    assert_eq!(
        (ack.who.as_str(), ack.why.as_str()),
        ("ann", "expected: new feature")
    );
    assert!(ack.at_ms > 0);
    // Acknowledging again replaces who/why.
    assert!(acknowledge(&pool, &r.key, "bob", "really").await.unwrap());
    let regs = detect(&pool, &Options::default()).await.unwrap();
    assert_eq!(regs[0].acknowledged.as_ref().unwrap().who, "bob");
}

#[tokio::test]
async fn history_window_and_error_results_are_respected() {
    let pool = pool().await;
    let mut v = vec![5.0; 20];
    v.extend(vec![6.0; 20]);
    fill(&pool, &[("t", "instructions", &v)]).await;
    // Only the newest 10 runs: no change inside them.
    let opts = Options {
        history_runs: 10,
        ..Options::default()
    };
    assert!(detect(&pool, &opts).await.unwrap().is_empty());
    assert_eq!(detect(&pool, &Options::default()).await.unwrap().len(), 1);
    // An empty store is fine.
    let empty = super::tests::pool().await;
    assert!(
        detect(&empty, &Options::default())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_memo_follows_acks_and_new_runs_in_a_file_store() {
    let dir = tempfile::tempdir().unwrap();
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.path().join("memo.db"))
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new().connect_with(opts).await.unwrap();
    MIGRATOR.run(&pool).await.unwrap();
    let mut v = vec![10.0; 20];
    v.extend(vec![12.0; 5]);
    fill(&pool, &[("memo", "instructions", &v)]).await;
    let first = detect(&pool, &Options::default()).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(detect(&pool, &Options::default()).await.unwrap(), first);
    assert!(
        acknowledge(&pool, &first[0].key, "ann", "ok")
            .await
            .unwrap()
    );
    let acked = detect(&pool, &Options::default()).await.unwrap();
    assert_eq!(acked[0].acknowledged.as_ref().unwrap().who, "ann");
    // Another step in new runs shows up at once.
    fill(&pool, &[("memo", "instructions", &[13.0, 13.0])]).await;
    let more = detect(&pool, &Options::default()).await.unwrap();
    assert_eq!(more.len(), 2, "{more:?}");
}
