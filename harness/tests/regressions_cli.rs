//! End-to-end: `cockpit demo-history` into a temp store, then `cockpit regressions` — the
//! injected regressions are listed with a suspected range containing their commit, the exit
//! status gates (1 while one is unacknowledged, 0 after `regressions ack`, 2 on errors).

#[allow(dead_code)] // not every helper is used here
mod common;

use common::{cockpit, text};
use serde_json::Value;

#[test]
fn regressions_gate_on_the_synthetic_history_until_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let truth = dir.path().join("truth.json");
    let (db_s, truth_s) = (db.to_str().unwrap(), truth.to_str().unwrap());

    let out = cockpit(&[
        "demo-history",
        "--db",
        db_s,
        "--runs",
        "120",
        "--seed",
        "7",
        "--truth",
        truth_s,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("wrote 120 runs"), "{stdout}");
    assert!(stdout.contains("injected steps"), "{stdout}");
    let steps: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&truth).unwrap()).unwrap();
    assert_eq!(steps.len(), 8);

    // The table, exit 1: there are injected regressions.
    let out = cockpit(&["regressions", "--db", db_s]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.contains("unacknowledged regression(s)"), "{table}");

    // JSON with --all: every injected step is found, its range holding the injected run.
    let out = cockpit(&["regressions", "--db", db_s, "--json", "--all"]);
    assert_eq!(out.status.code(), Some(1));
    let found: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    for s in &steps {
        let run = s["run_id"].as_i64().unwrap();
        let hit = found.iter().any(|r| {
            r["test_name"] == s["test_name"]
                && r["metric"] == s["metric"]
                && r["board_kind"] == s["board_kind"]
                && r["last_good"]["run_id"].as_i64().unwrap() < run
                && run <= r["first_bad"]["run_id"].as_i64().unwrap()
                && r["direction"] == s["direction"]
        });
        assert!(hit, "injected step not found: {s}\nfound: {found:#?}");
    }
    let injected_commit = steps[0]["commit"].as_str().unwrap();
    assert!(
        found
            .iter()
            .any(|r| r["first_bad"]["commit"] == injected_commit),
        "the first bad commit is the injected one"
    );

    // Without --all only regressions are listed.
    let out = cockpit(&["regressions", "--db", db_s, "--json"]);
    let regs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!regs.is_empty());
    assert!(regs.iter().all(|r| r["direction"] == "regression"));

    // Acknowledge each: then the gate opens.
    for r in &regs {
        let key = r["key"].as_str().unwrap();
        let out = cockpit(&[
            "regressions",
            "ack",
            key,
            "--who",
            "ci-bot",
            "--why",
            "<script>expected</script>",
            "--db",
            db_s,
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("acknowledged"));
    }
    let out = cockpit(&["regressions", "--db", db_s, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let regs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(regs.iter().all(|r| r["acknowledged"]["who"] == "ci-bot"));
    let out = cockpit(&["regressions", "--db", db_s]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("ci-bot"));

    // Errors: exit 2.
    let out = cockpit(&[
        "regressions",
        "ack",
        "no|such|key|x|1",
        "--who",
        "a",
        "--why",
        "b",
        "--db",
        db_s,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no regression with key"),
        "{}",
        text(&out.stderr)
    );
    let missing = dir.path().join("missing.db");
    let out = cockpit(&["regressions", "--db", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("does not exist"));
}

#[test]
fn a_history_without_steps_passes_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("flat.db");
    let db_s = db.to_str().unwrap();
    let out = cockpit(&[
        "demo-history",
        "--db",
        db_s,
        "--runs",
        "60",
        "--steps",
        "0",
        "--seed",
        "3",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = cockpit(&["regressions", "--db", db_s]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("no regressions"));
}
