//! Measures the regression detector (`cockpit_dashboard::regress::analyze`) on many synthetic
//! histories from `cockpit_harness::demo` with known injected steps, and asserts floors on the
//! true- and false-positive rates.
//!
//! * True positive: an injected step for which the detector reports a step on that series whose
//!   suspected range (`last_good` exclusive … `first_bad` inclusive) contains the injected run.
//! * False positive rate: the share of series *without* an injected step that get any flag.
//!
//! Run with `--nocapture` to see the figures.

use cockpit_dashboard::regress::{Direction, Options, analyze::analyze};
use cockpit_harness::demo::{DemoConfig, generate, series_values};

#[derive(Default)]
struct Tally {
    steps: usize,
    found: usize,
    right_direction: usize,
    range_width_sum: usize,
}

impl Tally {
    fn tpr(&self) -> f64 {
        self.found as f64 / self.steps.max(1) as f64
    }
}

#[test]
fn detector_true_and_false_positive_rates() {
    let opts = Options::default();
    let histories = 60;
    let mut noisy = Tally::default();
    let mut exact = Tally::default();
    let (mut null_series, mut null_flagged, mut extra_flags) = (0usize, 0usize, 0usize);

    for seed in 0..histories {
        let cfg = DemoConfig {
            runs: 200,
            seed: 1_000 + seed,
            ..DemoConfig::default()
        };
        let h = generate(&cfg);
        let values = series_values(&h);
        for (i, (test, metric, kind, id)) in h.series.iter().enumerate() {
            let points = &values[i];
            let skip = points.len().saturating_sub(opts.max_points);
            let points = &points[skip..];
            let v: Vec<f64> = points.iter().map(|p| p.1).collect();
            let found = analyze(&v, metric, &opts);
            let truth = h.steps.iter().find(|s| {
                &s.test_name == test
                    && &s.metric == metric
                    && &s.board_kind == kind
                    && &s.board_id == id
            });
            match truth {
                None => {
                    null_series += 1;
                    if !found.is_empty() {
                        null_flagged += 1;
                        eprintln!(
                            "false positive: seed {} {test} {metric} {kind}: {found:?}",
                            cfg.seed
                        );
                    }
                }
                Some(s) => {
                    let tally = if s.deterministic {
                        &mut exact
                    } else {
                        &mut noisy
                    };
                    tally.steps += 1;
                    let hit = found.iter().find(|f| {
                        points[f.last_good].0 < s.run_index && s.run_index <= points[f.first_bad].0
                    });
                    extra_flags += found.len() - usize::from(hit.is_some());
                    if let Some(f) = hit {
                        tally.found += 1;
                        tally.range_width_sum += points[f.first_bad].0 - points[f.last_good].0;
                        let want = if s.direction == "regression" {
                            Direction::Regression
                        } else {
                            Direction::Improvement
                        };
                        if f.direction == want {
                            tally.right_direction += 1;
                        } else {
                            eprintln!("wrong direction: seed {} {s:?}: {f:?}", cfg.seed);
                        }
                    } else {
                        eprintln!("missed: seed {} {s:?}: found {found:?}", cfg.seed);
                    }
                }
            }
        }
    }
    let fpr = null_flagged as f64 / null_series.max(1) as f64;
    println!(
        "regression detector on {histories} synthetic histories × 200 runs (demo generator: \
         noisy CV 0.3–6 %, 1 % outliers ×1.3–2.5, 2 % failed / 0.5 % error verdicts; defaults: \
         Mann–Whitney α = {}, min effect {} , PELT penalty {}·ln n):",
        opts.alpha, opts.min_effect, opts.penalty
    );
    println!(
        "  noisy steps (≥ 3σ and ≥ 10 %): TPR {:.3} ({}/{}), direction right {}/{}, mean range {:.2} runs",
        noisy.tpr(),
        noisy.found,
        noisy.steps,
        noisy.right_direction,
        noisy.found,
        noisy.range_width_sum as f64 / noisy.found.max(1) as f64
    );
    println!(
        "  deterministic steps (1–15 %): TPR {:.3} ({}/{}), direction right {}/{}, mean range {:.2} runs",
        exact.tpr(),
        exact.found,
        exact.steps,
        exact.right_direction,
        exact.found,
        exact.range_width_sum as f64 / exact.found.max(1) as f64
    );
    println!("  FPR (series without a step flagged): {fpr:.4} ({null_flagged}/{null_series})");
    println!("  extra flags on series with a step: {extra_flags}");
    assert!(
        noisy.steps > 100 && exact.steps > 100,
        "enough steps measured"
    );
    assert!(noisy.tpr() >= 0.9, "noisy TPR {}", noisy.tpr());
    assert!(exact.tpr() >= 0.99, "deterministic TPR {}", exact.tpr());
    assert!(noisy.right_direction as f64 >= 0.98 * noisy.found as f64);
    assert_eq!(exact.right_direction, exact.found);
    assert!(fpr <= 0.05, "FPR {fpr}");
}
