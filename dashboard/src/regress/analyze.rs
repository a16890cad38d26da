//! Regression analysis of one series of values (pure, no database): deterministic-change
//! detection, PELT change points validated by a two-sample test, and the newest-window test.

use serde::Serialize;

use super::changepoint::Segmenter;
use super::stats;
use super::{Direction, Options, TwoSampleTest};

/// Which way a metric gets worse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Polarity {
    /// Time, cycles, instruction counts, sizes: an increase is a regression.
    HigherIsWorse,
    /// Efficiencies and throughputs: a decrease is a regression.
    LowerIsWorse,
    /// Timing accuracy (pulse widths, periods): any significant change is a regression.
    AnyChange,
}

/// The polarity of a metric by name: `pin<N>.pulse_*` and `pin<N>.period_ms*` (with their
/// `_min`/`_max`/`_count` companions) are [`Polarity::AnyChange`]; names ending in `efficiency`
/// or containing `throughput` are [`Polarity::LowerIsWorse`]; everything else (`instructions`,
/// `cycles`, `virtual_ms`, `wall_ms`, `upload_ms`, …) is [`Polarity::HigherIsWorse`].
pub fn polarity(metric: &str) -> Polarity {
    if metric.starts_with("pin") && (metric.contains(".pulse_") || metric.contains(".period_ms")) {
        Polarity::AnyChange
    } else if metric.ends_with("efficiency") || metric.contains("throughput") {
        Polarity::LowerIsWorse
    } else {
        Polarity::HigherIsWorse
    }
}

/// One detected step in a series, by point index (see [`analyze`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// Index of the last point that is surely before the change.
    pub last_good: usize,
    /// Index of the first point that is surely after it (`> last_good`); the change happened at
    /// one of `last_good + 1 ..= first_bad`.
    pub first_bad: usize,
    /// Regression or improvement (see [`polarity`]).
    pub direction: Direction,
    /// Median before the change (in the metric's unit).
    pub baseline: f64,
    /// Median after the change.
    pub current: f64,
    /// Relative change `(current − baseline) / |baseline|` (±1 when the baseline is 0).
    pub effect: f64,
    /// `1 − p` of the two-sample test (1 for deterministic series).
    pub confidence: f64,
    /// How it was found, for the report.
    pub method: String,
}

/// Relative change from `before` to `after`; ±1 (or 0) when `before` is 0.
pub fn relative(before: f64, after: f64) -> f64 {
    if before != 0.0 {
        (after - before) / before.abs()
    } else if after == 0.0 {
        0.0
    } else {
        (after - before).signum()
    }
}

fn direction_of(metric: &str, effect: f64) -> Direction {
    match polarity(metric) {
        Polarity::AnyChange => Direction::Regression,
        Polarity::HigherIsWorse if effect > 0.0 => Direction::Regression,
        Polarity::LowerIsWorse if effect < 0.0 => Direction::Regression,
        _ => Direction::Improvement,
    }
}

/// Whether `values` is a deterministic series: at least 80 % of consecutive values are equal,
/// or the baseline window (the `opts.baseline` points before the newest `opts.newest`, at least
/// 4) has zero variance.
pub fn is_deterministic(values: &[f64], opts: &Options) -> bool {
    let n = values.len();
    if n < 2 {
        return true;
    }
    let equal = values.windows(2).filter(|w| w[0] == w[1]).count();
    if equal as f64 >= 0.8 * (n - 1) as f64 {
        return true;
    }
    let end = n.saturating_sub(opts.newest);
    let start = end.saturating_sub(opts.baseline);
    end - start >= 4 && values[start..end].iter().all(|&v| v == values[start])
}

/// Finds the steps in `values` (one series, oldest first, already bounded to the newest
/// `opts.max_points`) of metric `metric`:
///
/// 1. **Deterministic series** ([`is_deterministic`]): every change of value that holds (the
///    next value is the same, or it is the newest point) after a value that held is a step,
///    confidence 1 — instruction counts and interpreter cycles flag *any* change.
/// 2. **Noisy series**: isolated outliers are damped with a Hampel filter (±3 points, 3 robust
///    σ); the noise σ is the MAD of first differences; PELT finds change points with penalty
///    `opts.penalty · ln n` per change and segments of at least `opts.min_segment` points. Each
///    change is kept if the two-sample test (`opts.test`, on the raw values of the adjacent
///    segments, at most `opts.baseline` points each side) has `p < opts.alpha` and the
///    change of medians is at least `opts.min_effect` (relative) and `opts.min_sigmas` noise σ
///    (absolute — a noise-aware floor like LNT's 2.576 σ band, so a metric with 6 % noise is
///    not flagged for a 5 % wobble).
/// 3. **Newest window**: if no kept change lies in the tail, the newest `opts.newest` points
///    are tested against the `opts.baseline` before them; a significant shift passing the same
///    floors is localised by the best single split.
///
/// A step whose change has since been undone (the newest segment's median is no longer at
/// least `opts.min_effect` away from the step's baseline in the step's direction) is dropped,
/// and so is the later step that undid it (back to within `opts.min_effect / 2` of its
/// baseline).
/// Steps are returned oldest first.
pub fn analyze(values: &[f64], metric: &str, opts: &Options) -> Vec<Step> {
    let n = values.len();
    if n < 2 || values.iter().any(|v| !v.is_finite()) {
        return Vec::new();
    }
    if is_deterministic(values, opts) {
        return deterministic_steps(values, metric);
    }
    let filtered = stats::hampel(values, 3, 3.0);
    let mut sigma = stats::noise_sigma(&filtered);
    if sigma <= 0.0 {
        sigma = stats::mean_var(&filtered).1.sqrt();
    }
    if sigma <= 0.0 || !sigma.is_finite() {
        return deterministic_steps(values, metric);
    }
    let noise_floor = opts.min_sigmas * sigma;
    let seg = Segmenter::new(&filtered, sigma);
    let min_seg = opts.min_segment.max(2);
    let cps = seg.pelt(opts.penalty * (n as f64).ln(), min_seg);
    let loc_threshold = chi2_1_quantile(1.0 - opts.location_alpha);
    let current_level = stats::median(&values[cps.last().copied().unwrap_or(0)..]);

    let mut steps = Vec::new();
    let mut undone_baselines: Vec<f64> = Vec::new();
    for (k, &tau) in cps.iter().enumerate() {
        let a = if k == 0 { 0 } else { cps[k - 1] };
        let b = cps.get(k + 1).copied().unwrap_or(n);
        let before = &values[a.max(tau.saturating_sub(opts.baseline))..tau];
        let after = &values[tau..b.min(tau + opts.baseline)];
        let Some(p) = two_sample_p(opts.test, before, after) else {
            continue;
        };
        let (mb, ma) = (stats::median(before), stats::median(after));
        let effect = relative(mb, ma);
        if p >= opts.alpha || effect.abs() < opts.min_effect || (ma - mb).abs() < noise_floor {
            continue;
        }
        if undone(mb, effect, current_level, opts.min_effect) {
            undone_baselines.push(mb);
            continue;
        }
        if undone_baselines
            .iter()
            .any(|&b| relative(b, ma).abs() < opts.min_effect / 2.0)
        {
            continue;
        }
        let (lo, hi) = seg.location_interval(a, tau, b, loc_threshold);
        steps.push(Step {
            last_good: lo - 1,
            first_bad: hi,
            direction: direction_of(metric, effect),
            baseline: mb,
            current: ma,
            effect,
            confidence: 1.0 - p,
            method: format!("PELT change point + {}", opts.test.name()),
        });
    }

    // Newest window, unless a kept change already explains the tail. Its baseline starts no
    // earlier than the last kept change, so it is compared with the level that change set and
    // a kept change is never reported a second time.
    let tail_start = n.saturating_sub(opts.newest + min_seg);
    let tail_explained = steps.iter().any(|s| s.first_bad >= tail_start);
    let new_start = n.saturating_sub(opts.newest);
    let last_kept = steps.last().map_or(0, |s| s.first_bad);
    let base_start = new_start.saturating_sub(opts.baseline).max(last_kept);
    if !tail_explained && opts.newest > 0 && new_start.saturating_sub(base_start) >= 4 {
        let base = &values[base_start..new_start];
        let new = &values[new_start..];
        if let Some(p) = two_sample_p(opts.test, base, new) {
            let (mb, mn) = (stats::median(base), stats::median(new));
            let effect = relative(mb, mn);
            if p < opts.alpha && effect.abs() >= opts.min_effect && (mn - mb).abs() >= noise_floor {
                let lo_s = new_start.saturating_sub(min_seg).max(base_start + 1);
                let tau = seg.best_split(base_start, n, lo_s, n - 1);
                let (lo, hi) = seg.location_interval(base_start, tau, n, loc_threshold);
                steps.push(Step {
                    last_good: lo - 1,
                    first_bad: hi,
                    direction: direction_of(metric, effect),
                    baseline: mb,
                    current: mn,
                    effect,
                    confidence: 1.0 - p,
                    method: format!(
                        "{}, newest {} vs baseline {}",
                        opts.test.name(),
                        new.len(),
                        base.len()
                    ),
                });
            }
        }
    }
    steps
}

/// Whether a step from `baseline` by `effect` has been undone by the current level.
fn undone(baseline: f64, effect: f64, current_level: f64, min_effect: f64) -> bool {
    let now = relative(baseline, current_level);
    now.signum() != effect.signum() || now.abs() < min_effect.min(effect.abs()) / 2.0
}

fn deterministic_steps(values: &[f64], metric: &str) -> Vec<Step> {
    let n = values.len();
    let current_level = values[n - 1];
    let mut steps = Vec::new();
    let mut undone_baselines: Vec<f64> = Vec::new();
    for i in 1..n {
        let (prev, v) = (values[i - 1], values[i]);
        if v == prev {
            continue;
        }
        let holds = i == n - 1 || values[i + 1] == v;
        let held = i == 1 || values[i - 2] == prev;
        if !(holds && held) {
            continue;
        }
        let effect = relative(prev, v);
        // Undone: the value is back where it was, or moved the other way since.
        let now = relative(prev, current_level);
        if now == 0.0 || now.signum() != effect.signum() {
            undone_baselines.push(prev);
            continue;
        }
        // The fix of an earlier, undone change is no news either.
        if undone_baselines.contains(&v) {
            continue;
        }
        steps.push(Step {
            last_good: i - 1,
            first_bad: i,
            direction: direction_of(metric, effect),
            baseline: prev,
            current: v,
            effect,
            confidence: 1.0,
            method: "deterministic: any change".to_string(),
        });
    }
    steps
}

fn two_sample_p(test: TwoSampleTest, a: &[f64], b: &[f64]) -> Option<f64> {
    match test {
        TwoSampleTest::MannWhitney => stats::mann_whitney(a, b).map(|r| r.p),
        TwoSampleTest::Welch => stats::welch(a, b).map(|r| r.p),
    }
}

fn chi2_1_quantile(q: f64) -> f64 {
    use statrs::distribution::{ChiSquared, ContinuousCDF};
    ChiSquared::new(1.0)
        .map(|d| d.inverse_cdf(q.clamp(0.5, 0.999_999)))
        .unwrap_or(6.63)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(i: usize) -> f64 {
        let x = (i as f64 * 78.233).sin() * 43_758.545_3;
        2.0 * (x - x.floor()) - 1.0
    }

    #[test]
    fn polarity_by_name() {
        assert_eq!(polarity("cycles"), Polarity::HigherIsWorse);
        assert_eq!(polarity("wall_ms"), Polarity::HigherIsWorse);
        assert_eq!(polarity("pin13.pulse_high_ms"), Polarity::AnyChange);
        assert_eq!(polarity("pin5.period_ms_max"), Polarity::AnyChange);
        assert_eq!(polarity("upload_efficiency"), Polarity::LowerIsWorse);
    }

    #[test]
    fn deterministic_metric_flags_any_change() {
        let opts = Options::default();
        let mut v = vec![1000.0; 50];
        v.push(1001.0); // +0.1 %, newest run only
        let s = analyze(&v, "instructions", &opts);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!((s[0].last_good, s[0].first_bad), (49, 50));
        assert_eq!(s[0].direction, Direction::Regression);
        assert_eq!(s[0].confidence, 1.0);
        // An improvement, then unchanged.
        let mut v = vec![1000.0; 30];
        v.extend(vec![900.0; 20]);
        let s = analyze(&v, "cycles", &opts);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].direction, Direction::Improvement);
        assert!((s[0].effect + 0.1).abs() < 1e-12);
        // A one-run blip that went back, and a change that was reverted: nothing.
        let mut v = vec![1000.0; 30];
        v[10] = 1200.0;
        v[20] = 1100.0;
        v[21] = 1100.0;
        assert!(analyze(&v, "cycles", &opts).is_empty());
        // Zero-variance baseline on a metric with another name is deterministic too.
        let mut v = vec![5.0; 40];
        v.push(5.5);
        assert_eq!(analyze(&v, "virtual_ms", &opts).len(), 1);
        // Any change on a pulse width is a regression, whichever the sign.
        let mut v = vec![10.0; 40];
        v.push(9.0);
        let s = analyze(&v, "pin13.pulse_high_ms", &opts);
        assert_eq!(s[0].direction, Direction::Regression);
        assert!(s[0].effect < 0.0);
    }

    #[test]
    fn noisy_step_is_found_and_localised() {
        let opts = Options::default();
        // σ ≈ 0.58 around 20; +20 % step at 120 (≈ 7σ); one outlier.
        let mut v: Vec<f64> = (0..200)
            .map(|i| if i < 120 { 20.0 } else { 24.0 } + noise(i))
            .collect();
        v[50] = 60.0;
        let s = analyze(&v, "wall_ms", &opts);
        assert_eq!(s.len(), 1, "{s:?}");
        assert!(s[0].last_good < 120 && s[0].first_bad >= 120, "{s:?}");
        assert_eq!(s[0].direction, Direction::Regression);
        assert!((s[0].effect - 0.2).abs() < 0.05);
        assert!(s[0].confidence > 0.99);
        assert!(s[0].method.contains("PELT"));
    }

    #[test]
    fn small_or_insignificant_changes_are_not_flagged() {
        let opts = Options::default();
        // 2 % step: significant but below the 5 % floor.
        let v: Vec<f64> = (0..200)
            .map(|i| if i < 100 { 100.0 } else { 102.0 } + 0.1 * noise(i))
            .collect();
        assert!(analyze(&v, "wall_ms", &opts).is_empty());
        // Pure noise with a few outliers.
        let mut v: Vec<f64> = (0..200).map(|i| 10.0 + noise(i)).collect();
        v[30] = 30.0;
        v[150] = 0.5;
        assert!(analyze(&v, "wall_ms", &opts).is_empty());
    }

    #[test]
    fn newest_window_catches_a_recent_shift() {
        let opts = Options::default();
        let mut v: Vec<f64> = (0..100).map(|i| 10.0 + 0.3 * noise(i)).collect();
        v.extend((100..105).map(|i| 13.0 + 0.3 * noise(i)));
        let s = analyze(&v, "wall_ms", &opts);
        assert_eq!(s.len(), 1, "{s:?}");
        assert!(s[0].last_good < 100 && s[0].first_bad >= 100, "{s:?}");
        assert!(s[0].effect > 0.25);
    }

    #[test]
    fn a_step_inside_the_newest_windows_baseline_is_reported_once() {
        // The step (run 189 of 200) lies in the baseline of the newest-window test (the 30
        // runs before the newest 5), which must therefore not report it a second time.
        let opts = Options::default();
        let v: Vec<f64> = (0..200)
            .map(|i| if i < 189 { 15.0 } else { 17.5 } + 0.3 * noise(i))
            .collect();
        let s = analyze(&v, "wall_ms", &opts);
        assert_eq!(s.len(), 1, "{s:?}");
        assert!(s[0].last_good < 189 && s[0].first_bad >= 189, "{s:?}");
    }

    #[test]
    fn welch_can_replace_mann_whitney() {
        let opts = Options {
            test: TwoSampleTest::Welch,
            ..Options::default()
        };
        let v: Vec<f64> = (0..120)
            .map(|i| if i < 60 { 50.0 } else { 40.0 } + noise(i))
            .collect();
        let s = analyze(&v, "wall_ms", &opts);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].direction, Direction::Improvement);
        assert!(s[0].method.contains("Welch"));
    }
}
