//! Two-sample tests and robust summaries used by the regression detector.
//!
//! * [`mann_whitney`]: the Mann–Whitney U (Wilcoxon rank-sum) test, two-sided, with mid-ranks for
//!   ties. Exact null distribution for small samples without ties, otherwise the normal
//!   approximation with tie and continuity corrections (Mann & Whitney 1947; Hollander, Wolfe &
//!   Chicken, *Nonparametric Statistical Methods*, 3rd ed., §4.1). This is the test LNT uses at
//!   α = 0.05 once both sides have ≥ 4 samples.
//! * [`welch`]: Welch's unequal-variance t-test with the Welch–Satterthwaite degrees of freedom
//!   (Welch 1947), two-sided.
//!
//! Distribution functions come from `statrs`, never hand-rolled.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Largest `n1 × n2` for which [`mann_whitney`] uses the exact null distribution (when there are
/// no ties); the table costs `O(n1 · n2²)` time.
pub const EXACT_MW_MAX_PRODUCT: usize = 400;

/// Result of a two-sample test.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct TestOutcome {
    /// The statistic: `U` of the first sample for Mann–Whitney, `t` (first minus second) for
    /// Welch.
    pub statistic: f64,
    /// Two-sided p-value in `[0, 1]`.
    pub p: f64,
    /// Degrees of freedom (Welch only; `NaN` for Mann–Whitney).
    pub df: f64,
}

/// Two-sided Mann–Whitney U test of `a` against `b`.
///
/// `statistic` is `U_a` = the number of pairs `(x ∈ a, y ∈ b)` with `x > y`, ties counting ½
/// (so `U_a + U_b = n_a · n_b`). `None` if a sample is empty or a value is NaN.
///
/// The p-value is exact (a recursion over the number of arrangements) when there are no ties
/// and `n_a · n_b ≤` [`EXACT_MW_MAX_PRODUCT`]; otherwise it uses the normal approximation with
/// the tie-corrected variance and a continuity correction of ½. If every value is equal the
/// p-value is 1.
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<TestOutcome> {
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 || a.iter().chain(b).any(|v| v.is_nan()) {
        return None;
    }
    // Pool, sort and give mid-ranks to ties.
    let mut pooled: Vec<(f64, bool)> = a
        .iter()
        .map(|&v| (v, true))
        .chain(b.iter().map(|&v| (v, false)))
        .collect();
    pooled.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = pooled.len();
    let mut rank_sum_a = 0.0;
    let mut tie_term = 0.0; // Σ (t³ − t) over tie groups
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && pooled[j].0 == pooled[i].0 {
            j += 1;
        }
        let mid_rank = (i + 1 + j) as f64 / 2.0; // ranks i+1 ..= j
        let in_a = pooled[i..j].iter().filter(|p| p.1).count();
        rank_sum_a += mid_rank * in_a as f64;
        let t = (j - i) as f64;
        tie_term += t * t * t - t;
        i = j;
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let u = rank_sum_a - n1f * (n1f + 1.0) / 2.0;
    let mean = n1f * n2f / 2.0;
    if tie_term == 0.0 && n1 * n2 <= EXACT_MW_MAX_PRODUCT {
        return Some(TestOutcome {
            statistic: u,
            p: exact_mw_p(n1, n2, u),
            df: f64::NAN,
        });
    }
    let nf = n as f64;
    let var = n1f * n2f / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)));
    if var <= 0.0 {
        return Some(TestOutcome {
            statistic: u,
            p: 1.0,
            df: f64::NAN,
        });
    }
    let z = ((u - mean).abs() - 0.5).max(0.0) / var.sqrt();
    let p = (2.0 * (1.0 - std_normal().cdf(z))).clamp(0.0, 1.0);
    Some(TestOutcome {
        statistic: u,
        p,
        df: f64::NAN,
    })
}

fn std_normal() -> Normal {
    Normal::standard()
}

/// Exact two-sided p-value of `U` for sample sizes `n1`, `n2` without ties: `2 · P(U ≤ min(u,
/// n1·n2 − u))`, capped at 1. Counts arrangements with the recursion
/// `f(m, n, u) = f(m−1, n, u−n) + f(m, n−1, u)` (Mann & Whitney 1947).
fn exact_mw_p(n1: usize, n2: usize, u: f64) -> f64 {
    let max_u = n1 * n2;
    // f[n][u] for the current m, built up over m = 0..=n1.
    let mut prev: Vec<Vec<f64>> = (0..=n2)
        .map(|_| {
            let mut v = vec![0.0; max_u + 1];
            v[0] = 1.0;
            v
        })
        .collect();
    for m in 1..=n1 {
        let mut cur: Vec<Vec<f64>> = vec![vec![0.0; max_u + 1]; n2 + 1];
        cur[0][0] = 1.0; // n = 0: only U = 0
        for n in 1..=n2 {
            for uu in 0..=m * n {
                let from_m = if uu >= n { prev[n][uu - n] } else { 0.0 };
                cur[n][uu] = from_m + cur[n - 1][uu];
            }
        }
        prev = cur;
    }
    let counts = &prev[n2];
    let total: f64 = counts.iter().sum();
    let lo = u.min(max_u as f64 - u);
    let tail: f64 = counts
        .iter()
        .enumerate()
        .take_while(|(k, _)| (*k as f64) <= lo + 1e-9)
        .map(|(_, c)| c)
        .sum();
    (2.0 * tail / total).min(1.0)
}

/// Two-sided Welch t-test of `a` against `b`: `t = (mean_a − mean_b) / √(s²_a/n_a + s²_b/n_b)`
/// with Welch–Satterthwaite degrees of freedom; the p-value from Student's t in `statrs`.
///
/// `None` if a sample has fewer than 2 values or a value is not finite. If both variances are
/// zero, `p` is 1 for equal means and 0 otherwise (with `t = ±∞`, `df = NaN`).
pub fn welch(a: &[f64], b: &[f64]) -> Option<TestOutcome> {
    if a.len() < 2 || b.len() < 2 || a.iter().chain(b).any(|v| !v.is_finite()) {
        return None;
    }
    let (ma, va) = mean_var(a);
    let (mb, vb) = mean_var(b);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (qa, qb) = (va / na, vb / nb);
    let se2 = qa + qb;
    if se2 == 0.0 {
        let equal = ma == mb;
        return Some(TestOutcome {
            statistic: if equal {
                0.0
            } else {
                f64::INFINITY.copysign(ma - mb)
            },
            p: if equal { 1.0 } else { 0.0 },
            df: f64::NAN,
        });
    }
    let t = (ma - mb) / se2.sqrt();
    let df = se2 * se2 / (qa * qa / (na - 1.0) + qb * qb / (nb - 1.0));
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    let p = (2.0 * (1.0 - dist.cdf(t.abs()))).clamp(0.0, 1.0);
    Some(TestOutcome {
        statistic: t,
        p,
        df,
    })
}

/// Mean and unbiased sample variance (`n − 1` denominator; 0 for one value).
pub fn mean_var(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    if x.len() < 2 {
        return (mean, 0.0);
    }
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

/// Median (mean of the two middle values for an even count). `NaN` for an empty slice.
pub fn median(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median absolute deviation from the median (unscaled). `NaN` for an empty slice.
pub fn mad(x: &[f64]) -> f64 {
    let m = median(x);
    let dev: Vec<f64> = x.iter().map(|v| (v - m).abs()).collect();
    median(&dev)
}

/// Robust estimate of the noise standard deviation of a series that may contain steps: the MAD
/// of the first differences, scaled by `1 / (Φ⁻¹(¾) · √2)` so that it is consistent for Gaussian
/// noise; a step only moves one difference (Fryzlewicz 2014, *Wild binary segmentation*, §4).
/// 0 for fewer than 3 values.
pub fn noise_sigma(x: &[f64]) -> f64 {
    if x.len() < 3 {
        return 0.0;
    }
    let diffs: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
    mad(&diffs) / (0.674_489_750_196_081_7 * std::f64::consts::SQRT_2)
}

/// Hampel filter: each value further than `k` robust standard deviations (1.4826 · MAD) from the
/// median of its `±half` neighbourhood is replaced by that median. Removes isolated outliers
/// while keeping steps (a running median preserves edges). Used only to make change-point
/// segmentation robust; the tests run on the raw values.
pub fn hampel(x: &[f64], half: usize, k: f64) -> Vec<f64> {
    let n = x.len();
    let mut out = x.to_vec();
    for i in 0..n {
        let lo = i.saturating_sub(half);
        let hi = (i + half + 1).min(n);
        let window = &x[lo..hi];
        let med = median(window);
        let scale = 1.4826 * mad(window);
        if (x[i] - med).abs() > k * scale && scale > 0.0 {
            out[i] = med;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn mann_whitney_exact_small_samples() {
        // No overlap, 4 vs 4: U = 16 (or 0), exact two-sided p = 2 / C(8,4) = 2/70.
        let r = mann_whitney(&[5.0, 6.0, 7.0, 8.0], &[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(r.statistic, 16.0);
        assert!(close(r.p, 2.0 / 70.0, 1e-12), "{}", r.p);
        // 3 vs 3 separated: p = 2/20 = 0.1 (cannot reach α = 0.05: why LNT wants ≥ 4 samples).
        let r = mann_whitney(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert_eq!(r.statistic, 0.0);
        assert!(close(r.p, 0.1, 1e-12));
        // Textbook example (scipy.stats.mannwhitneyu docs, Conover): males vs females,
        // U1 = 17, exact two-sided p = 0.1111 (method="exact").
        let males = [19.0, 22.0, 16.0, 29.0, 24.0];
        let females = [20.0, 11.0, 17.0, 12.0];
        let r = mann_whitney(&males, &females).unwrap();
        assert_eq!(r.statistic, 17.0);
        assert!(close(r.p, 0.111_111, 1e-5), "{}", r.p);
    }

    #[test]
    fn mann_whitney_normal_approximation_with_ties() {
        // a = [1,2,2,3], b = [2,3,3,4,5]: mid-ranks 1, 3, 3, 6 → R_a = 13, U_a = 3; tie groups
        // of 3 and 3 → σ² = 20/12 · (10 − 48/72) = 15.556; z = (|3 − 10| − ½)/σ = 1.648,
        // p = 0.0994 (R: wilcox.test(a, b, exact = FALSE, correct = TRUE)).
        let a = [1.0, 2.0, 2.0, 3.0];
        let b = [2.0, 3.0, 3.0, 4.0, 5.0];
        let r = mann_whitney(&a, &b).unwrap();
        assert_eq!(r.statistic, 3.0);
        assert!(close(r.p, 0.0994, 5e-4), "{}", r.p);
        // Symmetric: U_b = n_a·n_b − U_a, same p.
        let r2 = mann_whitney(&b, &a).unwrap();
        assert_eq!(r2.statistic, 17.0);
        assert!(close(r2.p, r.p, 1e-12));
        // Large separated samples: tiny p.
        let lo: Vec<f64> = (0..40).map(f64::from).collect();
        let hi: Vec<f64> = (100..140).map(f64::from).collect();
        let r = mann_whitney(&lo, &hi).unwrap();
        assert_eq!(r.statistic, 0.0);
        assert!(r.p < 1e-10);
        // All equal: p = 1.
        let r = mann_whitney(&[3.0; 10], &[3.0; 30]).unwrap();
        assert_eq!(r.p, 1.0);
        assert!(mann_whitney(&[], &[1.0]).is_none());
        assert!(mann_whitney(&[f64::NAN], &[1.0]).is_none());
    }

    #[test]
    fn welch_matches_textbook_values() {
        // Welch (1947)-style worked example, verified with R's t.test(a, b) (var.equal = FALSE):
        // a = 27.5 21.0 19.0 23.6 17.0 17.9 16.9 20.1 21.9 22.6 23.1 19.6 19.0 21.7 21.4
        // b = 27.1 22.0 20.8 23.4 23.4 23.5 25.8 22.0 24.8 20.2 21.9 22.1 22.9 20.5 24.4
        // t = -2.46, df = 24.98, p = 0.021 (Wikipedia, "Welch's t-test", example 1).
        let a = [
            27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7,
            21.4,
        ];
        let b = [
            27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5,
            24.4,
        ];
        let r = welch(&a, &b).unwrap();
        assert!(close(r.statistic, -2.46, 0.005), "t = {}", r.statistic);
        assert!(close(r.df, 24.98, 0.01), "df = {}", r.df);
        assert!(close(r.p, 0.021, 0.001), "p = {}", r.p);
        // Example 2 (unequal sizes and variances): t = -1.57, df = 9.91, p = 0.149.
        let a = [17.2, 20.9, 22.6, 18.1, 21.7, 21.4, 23.5, 24.2, 14.7, 21.8];
        let b = [
            21.5, 22.8, 21.0, 23.0, 21.6, 23.6, 22.5, 20.7, 23.4, 21.8, 20.7, 21.7, 21.5, 22.5,
            23.6, 21.5, 22.5, 23.5, 21.5, 21.8,
        ];
        let r = welch(&a, &b).unwrap();
        assert!(close(r.statistic, -1.57, 0.005), "t = {}", r.statistic);
        assert!(close(r.df, 9.91, 0.01), "df = {}", r.df);
        assert!(close(r.p, 0.149, 0.001), "p = {}", r.p);
        // Zero variance on both sides.
        assert_eq!(welch(&[1.0, 1.0], &[1.0, 1.0]).unwrap().p, 1.0);
        assert_eq!(welch(&[1.0, 1.0], &[2.0, 2.0]).unwrap().p, 0.0);
        assert!(welch(&[1.0], &[1.0, 2.0]).is_none());
    }

    #[test]
    fn robust_summaries() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        assert_eq!(mad(&[1.0, 1.0, 2.0, 2.0, 4.0, 6.0, 9.0]), 1.0);
        // A step does not inflate the difference-based noise estimate.
        let mut x = vec![10.0; 50];
        x.extend(vec![20.0; 50]);
        assert_eq!(noise_sigma(&x), 0.0);
        // Hampel removes an isolated spike and keeps a step.
        let mut y: Vec<f64> = (0..30).map(|i| 10.0 + f64::from(i % 3) * 0.1).collect();
        y.extend((0..30).map(|i| 20.0 + f64::from(i % 3) * 0.1));
        y[10] = 100.0;
        let f = hampel(&y, 3, 3.0);
        assert!(f[10] < 11.0);
        assert!(f[29] < 11.0 && f[30] > 19.0, "edge kept");
    }
}
