//! End-to-end tests of the `cockpit` binary: the shipped plans on the `sim` board, a directory of
//! deliberately bad plans, corrupted images made at test time, an unusable result store, and the
//! `compile`/`disasm`/`history`/`list` subcommands.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cockpit_harness::discover::discover;
use cockpit_harness::plan::Plan;
use cockpit_harness::result::Verdict;
use cockpit_harness::store::Store;
use common::{cockpit, repo_path, text};
use serde_json::Value;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Runs `cockpit run PLANS --json --db DB --junit JUNIT`; returns (output, parsed JSON).
fn run_json(plans: &Path, db: &Path, junit: &Path) -> (Output, Value) {
    let out = cockpit(&[
        "run",
        plans.to_str().unwrap(),
        "--json",
        "--db",
        db.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "panic in cockpit:\n{stderr}");
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\n{stderr}", text(&out.stdout)));
    (out, json)
}

/// The stored results of run `run_id` in `db`: (test name, verdict).
fn stored(db: &Path, run_id: i64) -> Vec<(String, Verdict)> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let store = Store::open(db).await.unwrap();
            let run = store.run(run_id).await.unwrap().expect("run is stored");
            assert!(run.summary.is_some(), "run {run_id} was finished");
            let mut rows: Vec<_> = store
                .results(run_id)
                .await
                .unwrap()
                .into_iter()
                .map(|r| (r.test_name, r.verdict))
                .collect();
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            store.close().await;
            rows
        })
}

fn result<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["test_name"] == name)
        .unwrap_or_else(|| panic!("no result for {name} in {json:#}"))
}

#[test]
fn shipped_plans_all_pass_and_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cockpit.db");
    let junit = dir.path().join("junit.xml");
    let (out, json) = run_json(&repo_path("test-plans"), &db, &junit);

    let results = json["results"].as_array().unwrap();
    let plan_files = discover(&[repo_path("test-plans")]).unwrap();
    assert!(plan_files.len() >= 12, "{plan_files:?}");
    // Plans for other board kinds only (the firmware's fault paths: `emu`) are skipped.
    let sim_plans = plan_files
        .iter()
        .filter(|p| Plan::load(p).unwrap().boards.iter().any(|b| b == "sim"))
        .count();
    assert!(sim_plans < plan_files.len(), "some plans are emu-only");
    assert_eq!(
        results.len(),
        sim_plans,
        "one result per plan file for sim: {json:#}"
    );
    for r in results {
        assert_eq!(
            r["verdict"], "pass",
            "{} did not pass: {:#}",
            r["test_name"], r
        );
    }
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(&format!("{} passed, 0 failed, 0 errors", results.len())));

    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"failures="0""#) && xml.contains(r#"errors="0""#),
        "{xml}"
    );
    assert!(xml.contains(r#"<testcase name="blinky""#), "{xml}");

    let run_id = json["run_id"].as_i64().unwrap();
    let rows = stored(&db, run_id);
    assert_eq!(rows.len(), results.len());
    assert!(rows.iter().all(|(_, v)| *v == Verdict::Pass), "{rows:?}");

    let history = cockpit(&[
        "history",
        "blinky",
        "--metric",
        "pin13.pulse_high_ms",
        "--db",
        db.to_str().unwrap(),
    ]);
    assert!(history.status.success(), "{}", text(&history.stderr));
    let table = text(&history.stdout);
    assert!(table.contains("pin13.pulse_high_ms"), "{table}");
    assert!(table.contains("500.000 ms"), "{table}");
    assert!(table.contains("pass"), "{table}");
}

#[test]
fn bad_plans_are_reported_clearly_and_the_good_one_still_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cockpit.db");
    let junit = dir.path().join("junit.xml");
    let (out, json) = run_json(&fixture("bad-plans"), &db, &junit);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));

    let verdict_and_failure = |name: &str| {
        let r = result(&json, name);
        (
            r["verdict"].as_str().unwrap().to_string(),
            r["failure"].as_str().unwrap_or("").to_string(),
        )
    };
    assert_eq!(verdict_and_failure("good"), ("pass".into(), String::new()));

    let (v, f) = verdict_and_failure("unknown_key");
    assert_eq!(v, "error");
    assert!(
        f.contains("unknown_key.toml") && f.contains("colour"),
        "{f}"
    );

    let (v, f) = verdict_and_failure("missing_program");
    assert_eq!(v, "error");
    assert!(f.contains("does_not_exist.c"), "{f}");

    let (v, f) = verdict_and_failure("no_compile");
    assert_eq!(v, "fail");
    assert!(f.contains("broken.c:2:"), "{f}");

    let (v, f) = verdict_and_failure("corrupt_cvbc");
    assert_eq!(v, "fail");
    assert!(f.contains("corrupt.cvbc"), "{f}");

    assert!(text(&out.stderr).contains("1 passed, 2 failed, 2 errors"));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"failures="2""#) && xml.contains(r#"errors="2""#),
        "{xml}"
    );

    let rows = stored(&db, json["run_id"].as_i64().unwrap());
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert!(
        rows.contains(&("good".to_string(), Verdict::Pass)),
        "{rows:?}"
    );

    // A test that never ran (no metrics) still shows in its history, without a value.
    let db = db.to_str().unwrap();
    let history = cockpit(&["history", "no_compile", "--json", "--db", db]);
    assert!(history.status.success(), "{}", text(&history.stderr));
    let rows: Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows:#}");
    assert_eq!(rows[0]["verdict"], "fail");
    assert!(
        rows[0]["metric"].is_null() && rows[0]["value"].is_null(),
        "{rows:#}"
    );
    let history = cockpit(&["history", "no_compile", "--db", db]);
    let table = text(&history.stdout);
    assert!(table.contains("fail") && table.contains("—"), "{table}");
    let history = cockpit(&["history", "no_compile", "--metric", "cycles", "--db", db]);
    assert!(history.status.success(), "{}", text(&history.stderr));
    assert!(text(&history.stdout).is_empty());
    assert!(text(&history.stderr).contains("no stored values"));
}

#[test]
fn table_output_filter_and_unknown_board() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cockpit.db");
    let db = db.to_str().unwrap();
    let plans = fixture("bad-plans");
    let plans = plans.to_str().unwrap();

    let out = cockpit(&["run", plans, "--db", db, "--filter", "go*", "--jobs", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("good") && !stdout.contains("no_compile"),
        "{stdout}"
    );
    assert!(
        stdout.trim_end().ends_with("1 passed, 0 failed, 0 errors"),
        "{stdout}"
    );

    let out = cockpit(&["run", plans, "--db", db, "--filter", "nothing-matches"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no test plans"),
        "{}",
        text(&out.stderr)
    );

    // `probe` is a kind whose boards are named by their hardware-map id (`emu` is available
    // with `--features emu`, so it is not used here).
    for (board, message) in [
        ("probe", "board kind `probe` is not available in this build"),
        ("fpga", "unknown board `fpga`"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_cockpit"))
            .args(["run", plans, "--db", db, "--board", board])
            .env("COCKPIT_BOARDS", "/nonexistent/boards.toml")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains(message), "{}", text(&out.stderr));
    }
}

#[test]
fn tag_selection_and_list() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cockpit.db");
    let db = db.to_str().unwrap();
    let plans = repo_path("test-plans");
    let plans = plans.to_str().unwrap();

    // Only plans tagged `timing` run; every shipped timing plan measures pin edges.
    let out = cockpit(&["run", plans, "--db", db, "--tag", "timing", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["test_name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"blinky"), "{names:?}");
    assert!(!names.contains(&"arithmetic"), "{names:?}");

    // `list` shows boards, tags and descriptions without running, and keeps broken plans visible.
    let out = cockpit(&["list", plans, "--tag", "timing", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), names.len());
    let blinky = listed.iter().find(|e| e["name"] == "blinky").unwrap();
    assert_eq!(blinky["boards"][0], "sim");
    assert!(
        blinky["tags"]
            .as_array()
            .unwrap()
            .contains(&Value::from("timing"))
    );
    assert!(!blinky["description"].as_str().unwrap().is_empty());

    let bad = fixture("bad-plans");
    let out = cockpit(&["list", bad.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a plan that cannot load fails `list`"
    );
    assert!(
        text(&out.stdout).contains("error: "),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn compile_and_disasm() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("good.cvbc");
    let good = fixture("bad-plans/programs/good.c");
    let out = cockpit(&[
        "compile",
        good.to_str().unwrap(),
        "-o",
        image.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(&std::fs::read(&image).unwrap()[..4], b"CVBC");

    for program in [&image, &good] {
        let out = cockpit(&["disasm", program.to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("HALT"), "{}", text(&out.stdout));
    }

    let broken = fixture("bad-plans/programs/broken.c");
    let out = cockpit(&[
        "compile",
        broken.to_str().unwrap(),
        "-o",
        image.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("broken.c:2:"),
        "{}",
        text(&out.stderr)
    );

    let out = cockpit(&[
        "disasm",
        fixture("bad-plans/programs/corrupt.cvbc").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("corrupt.cvbc"),
        "{}",
        text(&out.stderr)
    );
}

/// CRC-32/ISO-HDLC (IEEE): the checksum of CVBC v1 (`vm/README.md`).
fn crc32(bytes: &[u8]) -> u32 {
    crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(bytes)
}

/// Byte offset of the CRC field in the CVBC v1 header.
const CRC_AT: usize = 20;

fn u32_at(image: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(image[at..at + 4].try_into().unwrap())
}

/// Recomputes the CVBC header CRC over the `total size` bytes, with the CRC field as zero.
fn fix_crc(image: &mut [u8]) {
    let total = u32_at(image, 12) as usize;
    image[CRC_AT..CRC_AT + 4].fill(0);
    let crc = crc32(&image[..total]);
    image[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
}

/// (offset, length) of the section of `kind` (1 = code), from the section table at byte 24.
fn section(image: &[u8], kind: u32) -> (usize, usize) {
    let count = u16::from_le_bytes([image[16], image[17]]) as usize;
    (0..count)
        .map(|i| 24 + 12 * i)
        .find(|&at| u32_at(image, at) == kind)
        .map(|at| {
            (
                u32_at(image, at + 4) as usize,
                u32_at(image, at + 8) as usize,
            )
        })
        .expect("section present")
}

#[test]
fn corrupted_images_are_reported_and_the_good_plan_still_passes_and_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good_src = fixture("bad-plans/programs/good.c");
    let good_image = d.join("good.cvbc");
    let out = cockpit(&[
        "compile",
        good_src.to_str().unwrap(),
        "-o",
        good_image.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let good = std::fs::read(&good_image).unwrap();
    // The checksum helper agrees with the compiler's writer.
    let mut check = good.clone();
    fix_crc(&mut check);
    assert_eq!(check, good, "crc32() reproduces the stored CRC");

    let (code_at, code_len) = section(&good, 1);
    assert!(code_len >= 4);
    let mut bad_magic = good.clone();
    bad_magic[..4].copy_from_slice(b"CVBX");
    let mut crc_mismatch = good.clone();
    crc_mismatch[code_at + 2] ^= 0x01; // an immediate of instruction 0, CRC left as it was
    let mut out_of_bounds = good.clone();
    let code_entry = (0..)
        .map(|i| 24 + 12 * i)
        .find(|&at| u32_at(&good, at) == 1)
        .unwrap();
    out_of_bounds[code_entry + 8..code_entry + 12].copy_from_slice(&0x0010_0000u32.to_le_bytes());
    fix_crc(&mut out_of_bounds);
    let mut bad_opcode = good.clone();
    bad_opcode[code_at] = 0xEE; // instruction 0 (the prologue's CALL main): undefined opcode
    fix_crc(&mut bad_opcode);

    let plans = d.join("plans");
    std::fs::create_dir(&plans).unwrap();
    for (name, image) in [
        ("bad_magic", &bad_magic),
        ("crc_mismatch", &crc_mismatch),
        ("out_of_bounds", &out_of_bounds),
        ("bad_opcode", &bad_opcode),
        ("good", &good),
    ] {
        std::fs::write(plans.join(format!("{name}.cvbc")), image).unwrap();
        let checks = if name == "good" {
            "[[console]]\nexact = \"hello from good\\n\"\n[vm]\nglobals = { answer = 42 }\n"
        } else {
            ""
        };
        std::fs::write(
            plans.join(format!("{name}.toml")),
            format!("name = \"{name}\"\nprogram = \"{name}.cvbc\"\n{checks}"),
        )
        .unwrap();
    }

    let db = d.join("cockpit.db");
    let (out, json) = run_json(&plans, &db, &d.join("junit.xml"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let failure = |name: &str| {
        let r = result(&json, name);
        assert_eq!(r["verdict"], "fail", "{r:#}");
        r["failure"].as_str().unwrap().to_string()
    };
    let f = failure("bad_magic");
    assert!(
        f.contains("bad_magic.cvbc") && f.contains("bad magic 43 56 42 58"),
        "{f}"
    );
    let f = failure("crc_mismatch");
    assert!(
        f.contains("crc_mismatch.cvbc") && f.contains("checksum mismatch"),
        "{f}"
    );
    let f = failure("out_of_bounds");
    assert!(
        f.contains("out_of_bounds.cvbc")
            && f.contains("section kind 1")
            && f.contains("length 1048576 exceeds the file"),
        "{f}"
    );
    let f = failure("bad_opcode");
    assert!(
        f.starts_with("vm error: expected NONE, observed INVALID_OPCODE")
            && f.contains("at pc 0 (opcode 0xee)"),
        "{f}"
    );
    assert_eq!(result(&json, "good")["verdict"], "pass");

    let rows = stored(&db, json["run_id"].as_i64().unwrap());
    assert_eq!(
        rows,
        [
            ("bad_magic".to_string(), Verdict::Fail),
            ("bad_opcode".to_string(), Verdict::Fail),
            ("crc_mismatch".to_string(), Verdict::Fail),
            ("good".to_string(), Verdict::Pass),
            ("out_of_bounds".to_string(), Verdict::Fail),
        ]
    );
}

#[test]
fn an_unusable_store_does_not_lose_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("junk.db");
    std::fs::write(
        &db,
        b"this is not sqlite, just a text file that is long enough",
    )
    .unwrap();
    let junit = dir.path().join("junit.xml");
    let plan = fixture("bad-plans/good.toml");
    let args = |json: bool| {
        let mut a = vec![
            "run",
            plan.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ];
        if json {
            a.push("--json");
        }
        a
    };

    let out = cockpit(&args(false));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("good") && stdout.contains("1 passed, 0 failed, 0 errors"),
        "{stdout}"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("junk.db") && stderr.contains("not (all) stored"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains(r#"<testcase name="good""#), "{xml}");

    let out = cockpit(&args(true));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["results"][0]["verdict"], "pass");
    assert_eq!(json["run_id"], Value::Null);
}

#[test]
fn the_run_records_the_git_commit_of_the_plans_repository() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join("plans/programs")).unwrap();
    std::fs::copy(fixture("bad-plans/good.toml"), repo.join("plans/good.toml")).unwrap();
    std::fs::copy(
        fixture("bad-plans/programs/good.c"),
        repo.join("plans/programs/good.c"),
    )
    .unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
        text(&out.stdout).trim().to_string()
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "plans"]);
    let head = git(&["rev-parse", "HEAD"]);

    // Run from a directory that is not in that repository (nor, usually, in any).
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let db = dir.path().join("cockpit.db");
    let out = Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .current_dir(&elsewhere)
        .args(["run", "../repo/plans", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run_id = json["run_id"].as_i64().unwrap();
    let run = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let store = Store::open(&db).await.unwrap();
            let run = store.run(run_id).await.unwrap().unwrap();
            store.close().await;
            run
        });
    assert_eq!(run.info.git_commit.as_deref(), Some(head.as_str()));
    assert_eq!(run.info.commit_message.as_deref(), Some("plans"));
    assert!(!run.info.git_dirty);
}

/// Runs `cockpit ARGS` with `COCKPIT_BOARDS=map`.
fn cockpit_with_map(map: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .args(args)
        .env("COCKPIT_BOARDS", map)
        .output()
        .expect("cockpit binary runs")
}

#[test]
fn boards_lists_the_hardware_map_probes_and_serial_ports() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("boards.toml");

    // No hardware map: says so, still lists what is present, succeeds.
    let out = cockpit_with_map(&map, &["boards"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.starts_with("no hardware map: "), "{stdout}");
    assert!(stdout.contains(map.to_str().unwrap()), "{stdout}");
    assert!(stdout.contains("\ndebug probes: "), "{stdout}");
    assert!(stdout.contains("\nserial ports:"), "{stdout}");

    // Two boards, one whose serial port exists: a board without its probe is not ready (exit 1).
    let port = dir.path().join("ttyFAKE0");
    std::fs::write(&port, "").unwrap();
    std::fs::write(
        &map,
        format!(
            "[[board]]\nid = \"nucleo-1\"\nprobe = \"0483:374b:0670FF\"\n\
             serial_port = \"{}\"\nfixtures = [\"user_key_pc13\"]\n\
             [[board]]\nid = \"weact-1\"\nserial_port = \"/dev/ttyNOPE9\"\n",
            port.display()
        ),
    )
    .unwrap();
    let out = cockpit_with_map(&map, &["boards"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    for needle in [
        "nucleo-1",
        "0483:374b:0670FF",
        "(present)",
        "/dev/ttyNOPE9 (missing)",
        "not ready",
        "user_key_pc13",
    ] {
        assert!(stdout.contains(needle), "{needle} missing in\n{stdout}");
    }
    let out = cockpit_with_map(&map, &["boards", "--json"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["hardware_map"], map.to_str().unwrap());
    let boards = json["boards"].as_array().unwrap();
    assert_eq!(boards.len(), 2);
    assert_eq!(boards[0]["probe"], "0483:374b:0670FF");
    assert_eq!(boards[0]["chip"], "STM32G474RETx");
    assert_eq!(boards[0]["serial_port_status"], "present");
    assert_eq!(boards[1]["serial_port_status"], "missing");
    // No probe is attached here: never "present".
    assert_ne!(boards[0]["probe_status"], "present");
    assert_eq!(boards[0]["ready"], false);

    // A bad map is a command error naming the file, the board and the field.
    std::fs::write(&map, "[[board]]\nid = \"b1\"\nprobe = \"0483\"\n").unwrap();
    let out = cockpit_with_map(&map, &["boards"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("{}: board `b1`: `probe`:", map.display())),
        "{stderr}"
    );
}
