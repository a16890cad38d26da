//! What a test run produces: verdicts, checks, metrics. Made by the runner, consumed by the
//! store, the reports (table, JSON, JUnit) and, later, the dashboard.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::target::TargetInfo;

/// Outcome of one test (one plan on one board).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check passed.
    Pass,
    /// At least one check failed.
    Fail,
    /// The test could not be judged: invalid plan, unreadable program, a board that cannot do
    /// what the plan asks, a run stopped by the wall-clock timeout.
    Error,
    /// The test could not be judged because the infrastructure failed: probe missing, attach or
    /// flash failed, serial port gone, a per-operation timeout (any `TargetError::Board`). The
    /// runner runs such a test once more on a fresh board (see [`TestResult::retried_after`]);
    /// this verdict means the second attempt failed the same way.
    InfraError,
}

impl Verdict {
    /// Every verdict, in the order the reports count them.
    pub const ALL: [Verdict; 4] = [
        Verdict::Pass,
        Verdict::Fail,
        Verdict::Error,
        Verdict::InfraError,
    ];

    /// `"pass"`, `"fail"`, `"error"` or `"infra_error"`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
            Verdict::InfraError => "infra_error",
        }
    }

    /// The verdict stored as `s` ([`Verdict::as_str`]), if any.
    pub fn parse(s: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Which Golden Triangle corner (or timing) a check belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// Corner 1: the program compiles (or fails to compile as expected).
    Compile,
    /// Corner 2: console output.
    Console,
    /// Corner 3: a register or memory word.
    Register,
    /// Corner 3: the VM end state (error, stack, globals).
    Vm,
    /// Timing of pin edges.
    Timing,
}

impl CheckKind {
    /// `"compile"`, `"console"`, `"register"`, `"vm"` or `"timing"`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Compile => "compile",
            CheckKind::Console => "console",
            CheckKind::Register => "register",
            CheckKind::Vm => "vm",
            CheckKind::Timing => "timing",
        }
    }
}

/// One evaluated check: what was expected, what was observed, and whether they agree.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckResult {
    /// Corner of the check.
    pub kind: CheckKind,
    /// Short label, e.g. `contains "LED on"` or `GPIOC.MODER & 0x3000`.
    pub name: String,
    /// Expected value, as text.
    pub expected: String,
    /// Observed value, as text.
    pub observed: String,
    /// Whether the check passed.
    pub passed: bool,
}

impl std::fmt::Display for CheckResult {
    /// The check in one line, as every report quotes it:
    /// `register GPIOC.MODER & 0x00003000: expected 0x00001000, observed 0x00000000`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: expected {}, observed {}",
            self.kind.as_str(),
            self.name,
            self.expected,
            self.observed
        )
    }
}

/// Verdict counts of a run (reports, the closing line, and the stored run totals).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Tests with verdict `pass`.
    pub passed: u32,
    /// Tests with verdict `fail` (at least one failed check).
    pub failed: u32,
    /// Tests with verdict `error` (could not be judged).
    pub errors: u32,
    /// Tests with verdict `infra_error` (the infrastructure failed twice).
    pub infra_errors: u32,
}

impl Summary {
    /// Counts the verdicts of `results`.
    pub fn of(results: &[TestResult]) -> Summary {
        let mut s = Summary::default();
        for r in results {
            s.add(r.verdict);
        }
        s
    }

    /// Counts one more verdict.
    pub fn add(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::Pass => self.passed += 1,
            Verdict::Fail => self.failed += 1,
            Verdict::Error => self.errors += 1,
            Verdict::InfraError => self.infra_errors += 1,
        }
    }

    /// Whether every test passed.
    pub fn all_passed(&self) -> bool {
        self.failed == 0 && self.errors == 0 && self.infra_errors == 0
    }
}

impl std::fmt::Display for Summary {
    /// `N passed, N failed, N errors`, then `, N infra errors` when there are any.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} errors",
            self.passed, self.failed, self.errors
        )?;
        if self.infra_errors > 0 {
            write!(f, ", {} infra errors", self.infra_errors)?;
        }
        Ok(())
    }
}

/// One measured quantity, kept for history and regression detection.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Metric {
    /// Metric name: `instructions`, `cycles`, `virtual_ms`, `wall_ms`, or a timing measurement
    /// such as `pin13.pulse_high_ms` (with `_min`, `_max` and `_count` companions).
    pub name: String,
    /// Unit: `count`, `cycles`, `ms`.
    pub unit: String,
    /// Value in that unit.
    pub value: f64,
}

/// The result of one test: one plan run on one board.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestResult {
    /// Test name (the plan's `name`).
    pub test_name: String,
    /// Path of the plan file.
    pub plan_path: PathBuf,
    /// Board that ran it.
    pub board: TargetInfo,
    /// The verdict.
    pub verdict: Verdict,
    /// For `fail`/`error`/`infra_error`: why — the first failed check (its `Display` line), or
    /// the error.
    pub failure: Option<String>,
    /// Set when the test ran twice: the infrastructure failure (`infra_error`) of the first
    /// attempt. The verdict and everything else are those of the second attempt.
    pub retried_after: Option<String>,
    /// All evaluated checks, in plan order.
    pub checks: Vec<CheckResult>,
    /// Measurements.
    pub metrics: Vec<Metric>,
    /// Console (USART1) transcript, lossily decoded as UTF-8.
    pub console: String,
    /// The firmware's decoded defmt log ([`crate::target::Target::log`]); empty on boards
    /// without one. Shown with failures, not stored in the result database.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<String>,
    /// The firmware's fault record as the board held it after the run, decoded
    /// (`HARDFAULT #1: pc=… cfsr=0x00010000 (UNDEFINSTR) …`): for results that did not pass,
    /// and for plans that check it (`[fault_record]`); `None` without a valid record. Not
    /// stored in the result database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault_record: Option<String>,
    /// Wall-clock duration of the whole test (compile, load, run, checks).
    #[serde(serialize_with = "serialize_ms")]
    pub duration: Duration,
}

fn serialize_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_displays_as_kind_name_expected_observed() {
        let c = CheckResult {
            kind: CheckKind::Register,
            name: "GPIOC.MODER & 0x00003000".into(),
            expected: "0x00001000".into(),
            observed: "0x00000000".into(),
            passed: false,
        };
        assert_eq!(
            c.to_string(),
            "register GPIOC.MODER & 0x00003000: expected 0x00001000, observed 0x00000000"
        );
    }

    #[test]
    fn verdicts_parse_what_they_store() {
        for v in Verdict::ALL {
            assert_eq!(Verdict::parse(v.as_str()), Some(v));
        }
        assert_eq!(Verdict::InfraError.as_str(), "infra_error");
        assert_eq!(Verdict::parse("infra-error"), None);
    }

    #[test]
    fn summary_counts_verdicts() {
        let mut s = Summary::default();
        for v in [Verdict::Pass, Verdict::Fail, Verdict::Error, Verdict::Pass] {
            s.add(v);
        }
        assert_eq!(s.to_string(), "2 passed, 1 failed, 1 errors");
        assert!(!s.all_passed());
        s.add(Verdict::InfraError);
        assert_eq!(
            s.to_string(),
            "2 passed, 1 failed, 1 errors, 1 infra errors"
        );
        let infra_only = Summary {
            passed: 1,
            infra_errors: 1,
            ..Default::default()
        };
        assert!(!infra_only.all_passed());
        assert!(
            Summary {
                passed: 3,
                ..Default::default()
            }
            .all_passed()
        );
    }
}
