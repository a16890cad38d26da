//! Cross-board comparison for `cockpit run --board sim,emu`: the observations of one plan on
//! several board kinds, and every one that differs.
//!
//! Compared per test (same plan path and test name) between the first board kind that ran it
//! and each other one: the verdict, the guest console, each check's observed value (matched by
//! kind and name: console, register, VM error/stack/globals; a timing check by whether it
//! passed, its measurements being metrics), the guest instruction
//! count, and timing metrics (names with a `.`, e.g. `pin13.pulse_high_ms`) within
//! [`TIMING_TOLERANCE`] (relative) or [`TIMING_SLACK_MS`] (absolute), whichever is larger.
//! Board time, cycles and wall time are not compared: boards boot differently.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::result::{CheckKind, TestResult};

/// Relative tolerance for timing metrics.
pub const TIMING_TOLERANCE: f64 = 0.05;
/// Absolute tolerance for timing metrics in `ms`.
pub const TIMING_SLACK_MS: f64 = 1.0;

/// One observation that differs between board kinds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Difference {
    /// The test.
    pub test_name: String,
    /// Its plan.
    pub plan_path: PathBuf,
    /// What differs, e.g. `verdict`, `console`, `vm global x`, `metric pin13.period_ms`.
    pub what: String,
    /// (board kind, observed value) for each board compared.
    pub observed: Vec<(String, String)>,
}

/// Observations of one result, keyed by what they are.
fn observations(r: &TestResult) -> BTreeMap<String, (String, Option<f64>)> {
    let mut o = BTreeMap::new();
    o.insert("verdict".into(), (r.verdict.as_str().to_string(), None));
    o.insert("console".into(), (format!("{:?}", r.console), None));
    for c in &r.checks {
        // A passed timing check's measured values are compared as its metrics (with the
        // tolerance); its text would differ by microseconds between boards.
        let observed = if c.kind == CheckKind::Timing && c.passed {
            "passed".to_string()
        } else {
            c.observed.clone()
        };
        o.insert(format!("{} {}", c.kind.as_str(), c.name), (observed, None));
    }
    for m in &r.metrics {
        if m.name == "instructions" {
            o.insert("metric instructions".into(), (format!("{}", m.value), None));
        } else if m.name.contains('.') {
            o.insert(
                format!("metric {}", m.name),
                (format!("{} {}", m.value, m.unit), Some(m.value)),
            );
        }
    }
    o
}

fn same(a: &(String, Option<f64>), b: &(String, Option<f64>)) -> bool {
    match (a.1, b.1) {
        (Some(x), Some(y)) => {
            (x - y).abs() <= (TIMING_TOLERANCE * x.abs().max(y.abs())).max(TIMING_SLACK_MS)
        }
        _ => a.0 == b.0,
    }
}

/// The differences between results of the same tests on different board kinds (results of a
/// test that ran on one kind only are not compared), in plan/test order.
pub fn differences(results: &[TestResult]) -> Vec<Difference> {
    let mut by_test: BTreeMap<(&PathBuf, &str), Vec<&TestResult>> = BTreeMap::new();
    for r in results {
        by_test
            .entry((&r.plan_path, r.test_name.as_str()))
            .or_default()
            .push(r);
    }
    let mut out = Vec::new();
    for ((plan, name), rs) in by_test {
        let Some((first, others)) = rs.split_first() else {
            continue;
        };
        let base = observations(first);
        for other in others {
            let obs = observations(other);
            let keys: std::collections::BTreeSet<&String> = base.keys().chain(obs.keys()).collect();
            for k in keys {
                let (a, b) = (base.get(k), obs.get(k));
                let differs = match (a, b) {
                    (Some(a), Some(b)) => !same(a, b),
                    _ => true,
                };
                if differs {
                    let show = |v: Option<&(String, Option<f64>)>| {
                        v.map_or_else(|| "(not observed)".to_string(), |v| v.0.clone())
                    };
                    out.push(Difference {
                        test_name: name.to_string(),
                        plan_path: plan.clone(),
                        what: k.clone(),
                        observed: vec![
                            (first.board.kind.clone(), show(a)),
                            (other.board.kind.clone(), show(b)),
                        ],
                    });
                }
            }
        }
    }
    out
}

/// The differences as text: `test: what: sim=…; emu=…` lines (values cut at 80 characters).
pub fn render(diffs: &[Difference]) -> String {
    let cut = |s: &str| {
        if s.chars().count() > 80 {
            format!("{}…", s.chars().take(80).collect::<String>())
        } else {
            s.to_string()
        }
    };
    let mut s = format!("differences between board kinds ({}):", diffs.len());
    if diffs.is_empty() {
        s.push_str(" none");
    }
    for d in diffs {
        let vals: Vec<String> = d
            .observed
            .iter()
            .map(|(b, v)| format!("{b}={}", cut(v)))
            .collect();
        s.push_str(&format!(
            "\n  {}: {}: {}",
            d.test_name,
            d.what,
            vals.join("; ")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{CheckResult, Metric, Verdict};
    use crate::target::TargetInfo;
    use std::time::Duration;

    fn result(kind: &str, console: &str, global: &str, pulse: f64) -> TestResult {
        TestResult {
            test_name: "t".into(),
            plan_path: "p.toml".into(),
            board: TargetInfo::new(kind, kind),
            verdict: Verdict::Pass,
            failure: None,
            retried_after: None,
            checks: vec![
                CheckResult {
                    kind: CheckKind::Vm,
                    name: "global x".into(),
                    expected: "1".into(),
                    observed: global.into(),
                    passed: true,
                },
                CheckResult {
                    kind: CheckKind::Timing,
                    name: "pin13.pulse_high_ms".into(),
                    expected: "100 ms ± 5".into(),
                    observed: format!("1 high pulses: mean {pulse:.3} ms"),
                    passed: (pulse - 100.0).abs() <= 5.0,
                },
            ],
            metrics: vec![
                Metric {
                    name: "pin13.pulse_high_ms".into(),
                    unit: "ms".into(),
                    value: pulse,
                },
                Metric {
                    name: "wall_ms".into(),
                    unit: "ms".into(),
                    value: pulse * 7.0,
                },
            ],
            console: console.into(),
            log: Vec::new(),
            fault_record: None,
            duration: Duration::ZERO,
        }
    }

    #[test]
    fn reports_only_what_differs() {
        let same = [
            result("sim", "hi\n", "1", 100.0),
            result("emu", "hi\n", "1", 100.9),
        ];
        assert!(differences(&same).is_empty(), "{:?}", differences(&same));
        let diff = [
            result("sim", "hi\n", "1", 100.0),
            result("emu", "ho\n", "2", 120.0),
        ];
        let d = differences(&diff);
        let what: Vec<&str> = d.iter().map(|d| d.what.as_str()).collect();
        assert_eq!(
            what,
            [
                "console",
                "metric pin13.pulse_high_ms",
                "timing pin13.pulse_high_ms",
                "vm global x"
            ]
        );
        assert_eq!(
            d[2].observed,
            [
                ("sim".to_string(), "passed".to_string()),
                (
                    "emu".to_string(),
                    "1 high pulses: mean 120.000 ms".to_string()
                )
            ]
        );
        assert_eq!(d[3].observed[1], ("emu".to_string(), "2".to_string()));
        assert!(render(&d).contains("t: vm global x: sim=1; emu=2"));
    }
}
