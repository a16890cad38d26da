//! Reports of a run's results: a terminal table, JSON, and JUnit XML.

use comfy_table::{Cell, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestRerun, TestSuite};

use crate::result::{Summary, TestResult, Verdict};

/// Longest first-failure text shown in a table cell, in characters.
const TABLE_FAILURE_CHARS: usize = 80;

/// The value of metric `name` in `r`, if recorded.
fn metric(r: &TestResult, name: &str) -> Option<f64> {
    r.metrics.iter().find(|m| m.name == name).map(|m| m.value)
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// Summary table: test, board, verdict, instructions, virtual ms, wall ms, first failure.
/// Only the first line of a failure is shown, cut to a readable length. A retried test's
/// verdict reads `pass (retried)` (or `fail`, … `(retried)`).
pub fn table(results: &[TestResult]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header([
            "test",
            "board",
            "verdict",
            "instructions",
            "virtual ms",
            "wall ms",
            "first failure",
        ]);
    for r in results {
        let color = match r.verdict {
            Verdict::Pass => Color::Green,
            Verdict::Fail => Color::Red,
            Verdict::Error => Color::Yellow,
            Verdict::InfraError => Color::Magenta,
        };
        let num = |name: &str, decimals: usize| {
            metric(r, name).map_or_else(String::new, |v| format!("{v:.decimals$}"))
        };
        let failure = r
            .failure
            .as_deref()
            .and_then(|f| f.lines().next())
            .map(|f| truncate(f, TABLE_FAILURE_CHARS))
            .unwrap_or_default();
        t.add_row(vec![
            Cell::new(&r.test_name),
            Cell::new(&r.board.id),
            Cell::new(verdict_text(r)).fg(color),
            Cell::new(num("instructions", 0)),
            Cell::new(num("virtual_ms", 1)),
            Cell::new(num("wall_ms", 2)),
            Cell::new(failure),
        ]);
    }
    t
}

/// The verdict, with ` (retried)` for a test run twice after an infrastructure failure.
fn verdict_text(r: &TestResult) -> String {
    match r.retried_after {
        Some(_) => format!("{} (retried)", r.verdict.as_str()),
        None => r.verdict.as_str().to_string(),
    }
}

/// Lines of a failed test's defmt log shown by [`failure_details`] (the last ones).
pub const LOG_LINES: usize = 20;

/// Details of every test that did not pass or was retried, for below the table: each failed
/// check with expected vs observed, or the error message, the end of a failed test's firmware
/// log ([`LOG_LINES`]), the board's decoded fault record if it holds one, and the first
/// attempt's infrastructure failure of a retried test. Empty when all passed at the first
/// attempt.
pub fn failure_details(results: &[TestResult]) -> String {
    let mut out = String::new();
    for r in results
        .iter()
        .filter(|r| r.verdict != Verdict::Pass || r.retried_after.is_some())
    {
        out.push_str(&format!(
            "{} [{}] {}:\n",
            r.test_name,
            verdict_text(r),
            r.plan_path.display()
        ));
        if let Some(first) = &r.retried_after {
            out.push_str(&format!("    first attempt: infra_error: {first}\n"));
        }
        let failed: Vec<_> = r.checks.iter().filter(|c| !c.passed).collect();
        if failed.is_empty() {
            for line in r.failure.as_deref().unwrap_or("").lines() {
                out.push_str(&format!("    {line}\n"));
            }
        }
        for c in failed {
            out.push_str(&format!("  - {}\n", c.to_string().replace('\n', "\n    ")));
        }
        if !r.log.is_empty() && r.verdict != Verdict::Pass {
            let shown = r.log.len().min(LOG_LINES);
            out.push_str(&format!(
                "    defmt log (last {shown} of {} lines):\n",
                r.log.len()
            ));
            for line in &r.log[r.log.len() - shown..] {
                out.push_str(&format!("      {line}\n"));
            }
        }
        if let Some(record) = &r.fault_record {
            out.push_str(&format!("  fault record: {record}\n"));
        }
    }
    out
}

/// Machine-readable report: `{"summary": {passed, failed, errors, infra_errors}, "results":
/// [TestResult…]}` (the CLI adds `"run_id"`).
pub fn json(results: &[TestResult]) -> serde_json::Value {
    serde_json::json!({
        "summary": Summary::of(results),
        "results": results,
    })
}

/// JUnit XML: one suite per board kind, one case per test. `fail` is a `<failure>`, `error` and
/// `infra_error` an `<error>` (of type `infra_error` for the latter); failed checks become the
/// text (expected vs observed), the console transcript the case's system-out, the firmware's
/// defmt log its system-err, and the metrics
/// its properties. A retried test also gets a `<flakyFailure>`/`<flakyError>` rerun element
/// (passed at the second attempt) or a `<rerunError>` (failed again) holding the first attempt's
/// failure. Errors: XML serialisation failure.
pub fn junit(results: &[TestResult]) -> Result<String, quick_junit::SerializeError> {
    let mut report = Report::new("cockpit");
    let mut kinds: Vec<&str> = results.iter().map(|r| r.board.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    for kind in kinds {
        let mut suite = TestSuite::new(format!("cockpit.{kind}"));
        for r in results.iter().filter(|r| r.board.kind == kind) {
            suite.add_test_case(junit_case(r));
        }
        report.add_test_suite(suite);
    }
    report.to_string()
}

fn junit_case(r: &TestResult) -> TestCase {
    let mut status = match r.verdict {
        Verdict::Pass => TestCaseStatus::success(),
        Verdict::Fail | Verdict::Error | Verdict::InfraError => {
            let kind = if r.verdict == Verdict::Fail {
                NonSuccessKind::Failure
            } else {
                NonSuccessKind::Error
            };
            let mut status = TestCaseStatus::non_success(kind);
            if r.verdict == Verdict::InfraError {
                status.set_type(Verdict::InfraError.as_str());
            }
            if let Some(f) = &r.failure {
                status.set_message(f.lines().next().unwrap_or_default());
            }
            let failed: Vec<String> = r
                .checks
                .iter()
                .filter(|c| !c.passed)
                .map(ToString::to_string)
                .collect();
            let mut description = if failed.is_empty() {
                r.failure.clone().unwrap_or_default()
            } else {
                failed.join("\n")
            };
            if let Some(record) = &r.fault_record {
                description.push_str(&format!("\nfault record: {record}"));
            }
            status.set_description(description);
            status
        }
    };
    if let Some(first) = &r.retried_after {
        let mut rerun = TestRerun::new(NonSuccessKind::Error);
        rerun
            .set_type(Verdict::InfraError.as_str())
            .set_message(first.lines().next().unwrap_or_default())
            .set_description(first.as_str());
        status.add_rerun(rerun);
    }
    let mut case = TestCase::new(&r.test_name, status);
    case.set_classname(format!("cockpit.{}", r.board.kind))
        .set_time(r.duration);
    if !r.console.is_empty() {
        case.set_system_out(&r.console);
    }
    if !r.log.is_empty() {
        case.set_system_err(r.log.join("\n"));
    }
    case.add_properties(
        r.metrics
            .iter()
            .map(|m| quick_junit::Property::new(&m.name, m.value.to_string())),
    );
    case
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::result::{CheckKind, CheckResult, Metric};
    use crate::target::TargetInfo;

    fn result(name: &str, verdict: Verdict) -> TestResult {
        TestResult {
            test_name: name.into(),
            plan_path: PathBuf::from(format!("{name}.toml")),
            board: TargetInfo::new("sim", "sim"),
            verdict,
            failure: (verdict != Verdict::Pass)
                .then(|| "register: expected 1, observed 0 (X)".into()),
            retried_after: None,
            checks: vec![CheckResult {
                kind: CheckKind::Register,
                name: "GPIOC.ODR".into(),
                expected: "0x00000001".into(),
                observed: "0x00000000".into(),
                passed: verdict == Verdict::Pass,
            }],
            metrics: vec![Metric {
                name: "instructions".into(),
                unit: "count".into(),
                value: 1234.0,
            }],
            console: "hello <world> & co\n".into(),
            log: Vec::new(),
            fault_record: None,
            duration: Duration::from_millis(5),
        }
    }

    fn sample() -> Vec<TestResult> {
        vec![
            result("blinky", Verdict::Pass),
            result("broken", Verdict::Fail),
            result("bad", Verdict::Error),
        ]
    }

    #[test]
    fn table_has_a_row_per_test() {
        let text = table(&sample()).to_string();
        for needle in ["blinky", "broken", "bad", "1234", "register: expected 1"] {
            assert!(text.contains(needle), "{needle} missing in\n{text}");
        }
    }

    #[test]
    fn a_decoded_fault_record_is_shown_with_the_failure() {
        let mut r = result("crashy", Verdict::Fail);
        r.fault_record = Some("HARDFAULT #1: pc=0x08002a4e cfsr=0x00010000 (UNDEFINSTR)".into());
        let d = failure_details(std::slice::from_ref(&r));
        assert!(
            d.contains(
                "  fault record: HARDFAULT #1: pc=0x08002a4e cfsr=0x00010000 (UNDEFINSTR)\n"
            ),
            "{d}"
        );
        let xml = junit(&[r]).unwrap();
        assert!(xml.contains("fault record: HARDFAULT #1"), "{xml}");
        let json = json(&sample()).to_string();
        assert!(!json.contains("fault_record"), "absent when None: {json}");
    }

    #[test]
    fn failure_details_list_failed_checks_and_errors() {
        let d = failure_details(&sample());
        assert!(!d.contains("blinky"), "{d}");
        assert!(d.contains("broken [fail]"), "{d}");
        assert!(
            d.contains("  - register GPIOC.ODR: expected 0x00000001, observed 0x00000000\n"),
            "{d}"
        );
        assert!(d.contains("bad [error]"), "{d}");
        assert!(failure_details(&sample()[..1]).is_empty());
    }

    #[test]
    fn a_failed_test_shows_the_end_of_its_defmt_log() {
        let mut results = sample();
        let log: Vec<String> = (0..25).map(|i| format!("0.{i:03} INFO line {i}")).collect();
        results[0].log = log.clone();
        results[1].log = log;
        let d = failure_details(&results);
        assert!(
            !d.contains("blinky"),
            "a passed test's log is not shown: {d}"
        );
        assert!(d.contains("    defmt log (last 20 of 25 lines):\n"), "{d}");
        assert!(
            d.contains("      0.005 INFO line 5\n") && d.contains("line 24\n"),
            "{d}"
        );
        assert!(!d.contains("line 4\n"), "{d}");
        let xml = junit(&results).unwrap();
        assert!(xml.contains("<system-err>0.000 INFO line 0"), "{xml}");
        assert_eq!(
            json(&results)["results"][1]["log"][24],
            "0.024 INFO line 24"
        );
        assert!(
            json(&results)["results"][2].get("log").is_none(),
            "empty: left out"
        );
    }

    #[test]
    fn json_round_trips() {
        let v = json(&sample());
        assert_eq!(v["summary"]["failed"], 1);
        assert_eq!(v["results"][0]["test_name"], "blinky");
        assert_eq!(v["results"][1]["verdict"], "fail");
        assert_eq!(v["results"][0]["metrics"][0]["value"], 1234.0);
    }

    #[test]
    fn junit_has_failures_and_escaped_console() {
        let xml = junit(&sample()).unwrap();
        assert!(xml.contains(r#"tests="3""#), "{xml}");
        assert!(xml.contains(r#"failures="1""#), "{xml}");
        assert!(xml.contains(r#"errors="1""#), "{xml}");
        assert!(
            xml.contains("register GPIOC.ODR: expected 0x00000001, observed 0x00000000"),
            "{xml}"
        );
        assert!(xml.contains("hello &lt;world&gt; &amp; co"), "{xml}");
    }

    #[test]
    fn infra_errors_and_retries_are_reported_as_such() {
        let mut flaky = result("flaky", Verdict::Pass);
        flaky.retried_after = Some("attach failed: probe not found".into());
        let mut infra = result("offline", Verdict::InfraError);
        infra.checks.clear();
        infra.failure = Some("opening the board failed: no probe".into());
        infra.retried_after = infra.failure.clone();
        let results = [flaky, infra];

        let text = table(&results).to_string();
        assert!(text.contains("pass (retried)"), "{text}");
        assert!(text.contains("infra_error (retried)"), "{text}");
        let d = failure_details(&results);
        assert!(d.contains("flaky [pass (retried)]"), "{d}");
        assert!(
            d.contains("    first attempt: infra_error: attach failed: probe not found\n"),
            "{d}"
        );
        assert!(d.contains("offline [infra_error (retried)]"), "{d}");
        assert_eq!(json(&results)["summary"]["infra_errors"], 1);

        let xml = junit(&results).unwrap();
        assert!(xml.contains(r#"errors="1""#), "{xml}");
        assert!(
            xml.contains(
                r#"<flakyError message="attach failed: probe not found" type="infra_error">"#
            ),
            "{xml}"
        );
        assert!(
            xml.contains(
                r#"<error message="opening the board failed: no probe" type="infra_error">"#
            ),
            "{xml}"
        );
        assert!(xml.contains("<rerunError"), "{xml}");
    }
}
