//! Change-point detection: PELT for a change in mean of Gaussian noise, with a minimum segment
//! length, and a profile-likelihood interval for each change's location.
//!
//! **Method.** Pruned Exact Linear Time (Killick, Fearnhead & Eckley 2012, "Optimal detection of
//! changepoints with a linear computational cost", JASA 107(500):1590–1598). It minimises
//! `Σ_segments C(segment) + β · #changes` exactly, where `C` is the sum of squared deviations from
//! the segment mean divided by the noise variance (−2 log-likelihood of a Gaussian mean model
//! up to a constant). Pruning drops candidate last-change positions that can never be optimal
//! again (valid since this cost satisfies the condition with `K = 0`), so the expected cost is
//! linear in the series length; the worst case is quadratic, which is why the detector bounds
//! the series to its newest points. No maintained crate offers PELT (the `changepoint` crate is
//! Bayesian online detection with Gaussian priors, which mislocates steps around outliers), so
//! this is our own implementation.
//!
//! **Location interval.** For a change at `τ` between its neighbouring changes `a` and `b`,
//! every `s ∈ (a, b)` whose two-segment cost exceeds the best by at most a χ²₁ quantile is a
//! plausible location (a profile-likelihood confidence set, Hinkley 1970, "Inference about the
//! change-point in a sequence of random variables", Biometrika 57(1)). The suspected commit
//! range spans it.

/// Prefix sums of a series for O(1) segment costs.
#[derive(Debug, Clone)]
pub struct Segmenter {
    s1: Vec<f64>,
    s2: Vec<f64>,
    inv_var: f64,
}

impl Segmenter {
    /// Prepares `y` with noise standard deviation `sigma` (> 0).
    pub fn new(y: &[f64], sigma: f64) -> Segmenter {
        let mut s1 = Vec::with_capacity(y.len() + 1);
        let mut s2 = Vec::with_capacity(y.len() + 1);
        s1.push(0.0);
        s2.push(0.0);
        // Centre on the first value to keep the sums well conditioned.
        let c = y.first().copied().unwrap_or(0.0);
        for &v in y {
            let d = v - c;
            s1.push(s1.last().unwrap() + d);
            s2.push(s2.last().unwrap() + d * d);
        }
        Segmenter {
            s1,
            s2,
            inv_var: 1.0 / (sigma * sigma),
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.s1.len() - 1
    }

    /// Whether the series is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cost of the segment `y[s..t]` (`s < t`): squared deviations from its mean over σ².
    pub fn cost(&self, s: usize, t: usize) -> f64 {
        let n = (t - s) as f64;
        let a = self.s1[t] - self.s1[s];
        let b = self.s2[t] - self.s2[s];
        ((b - a * a / n) * self.inv_var).max(0.0)
    }

    /// Mean of `y[s..t]` relative to the first value (only differences are meaningful).
    fn rel_mean(&self, s: usize, t: usize) -> f64 {
        (self.s1[t] - self.s1[s]) / (t - s) as f64
    }

    /// The optimal change points (indices where a new segment starts, increasing, each in
    /// `min_seg ..= n − min_seg`) under penalty `penalty` per change, by PELT.
    pub fn pelt(&self, penalty: f64, min_seg: usize) -> Vec<usize> {
        let n = self.len();
        let m = min_seg.max(1);
        if n < 2 * m {
            return Vec::new();
        }
        let mut f = vec![f64::INFINITY; n + 1];
        let mut prev = vec![0usize; n + 1];
        f[0] = -penalty;
        let mut cands: Vec<usize> = Vec::new();
        for t in m..=n {
            let s_new = t - m;
            if f[s_new].is_finite() {
                cands.push(s_new);
            }
            let mut best = f64::INFINITY;
            let mut arg = 0;
            for &s in &cands {
                let v = f[s] + self.cost(s, t) + penalty;
                if v < best {
                    best = v;
                    arg = s;
                }
            }
            f[t] = best;
            prev[t] = arg;
            cands.retain(|&s| f[s] + self.cost(s, t) <= best);
        }
        let mut cps = Vec::new();
        let mut t = n;
        while t > 0 {
            let s = prev[t];
            if s > 0 {
                cps.push(s);
            }
            t = s;
        }
        cps.reverse();
        cps
    }

    /// The plausible locations of the change at `tau` between segments `[a, tau)` and
    /// `[tau, b)`: the smallest and largest `s` in `a+1 ..= b−1` whose two-segment cost is within
    /// `threshold` of the best one. Always contains `tau`.
    pub fn location_interval(
        &self,
        a: usize,
        tau: usize,
        b: usize,
        threshold: f64,
    ) -> (usize, usize) {
        let best = self.cost(a, tau) + self.cost(tau, b);
        let mut lo = tau;
        let mut hi = tau;
        for s in a + 1..b {
            let c = self.cost(a, s) + self.cost(s, b);
            if c - best <= threshold {
                lo = lo.min(s);
                hi = hi.max(s);
            }
        }
        (lo, hi)
    }

    /// The single best split `s ∈ lo ..= hi` of `y[a..b]` (largest cost reduction), for
    /// localising a shift found by a window test.
    pub fn best_split(&self, a: usize, b: usize, lo: usize, hi: usize) -> usize {
        let mut best = f64::INFINITY;
        let mut arg = lo;
        for s in lo.max(a + 1)..=hi.min(b - 1) {
            let c = self.cost(a, s) + self.cost(s, b);
            if c < best {
                best = c;
                arg = s;
            }
        }
        arg
    }

    /// Difference of segment means `mean(y[t1..t2]) − mean(y[s1..s2])`.
    pub fn mean_shift(&self, s1: usize, s2: usize, t1: usize, t2: usize) -> f64 {
        self.rel_mean(t1, t2) - self.rel_mean(s1, s2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-noise in [-1, 1] (no RNG dependency in unit tests).
    fn noise(i: usize) -> f64 {
        let x = (i as f64 * 12.9898).sin() * 43_758.545_3;
        2.0 * (x - x.floor()) - 1.0
    }

    #[test]
    fn finds_synthetic_steps_at_the_right_place() {
        // Steps at 60 (+3σ) and 140 (−4σ), σ ≈ 0.58 (uniform noise on [-1, 1]).
        let y: Vec<f64> = (0..200)
            .map(|i| {
                let level = if i < 60 {
                    100.0
                } else if i < 140 {
                    101.75
                } else {
                    99.4
                };
                level + noise(i)
            })
            .collect();
        let seg = Segmenter::new(&y, 0.58);
        let cps = seg.pelt(3.0 * (200f64).ln(), 4);
        assert_eq!(cps, vec![60, 140]);
        let (lo, hi) = seg.location_interval(0, 60, 140, 6.63);
        assert!(lo <= 60 && hi >= 60 && hi - lo <= 6, "{lo}..{hi}");
        assert!(seg.mean_shift(0, 60, 60, 140) > 1.5);
    }

    #[test]
    fn no_change_in_pure_noise() {
        let y: Vec<f64> = (0..200).map(|i| 50.0 + noise(i)).collect();
        let seg = Segmenter::new(&y, 0.58);
        assert!(seg.pelt(3.0 * (200f64).ln(), 4).is_empty());
    }

    #[test]
    fn short_series_and_min_segment() {
        let seg = Segmenter::new(&[1.0, 1.0, 5.0], 0.1);
        assert!(seg.pelt(1.0, 2).is_empty(), "needs 2 × min_seg points");
        let y = [1.0, 1.0, 1.0, 1.0, 9.0, 9.0, 9.0, 9.0];
        let seg = Segmenter::new(&y, 0.1);
        assert_eq!(seg.pelt(10.0, 4), vec![4]);
        assert_eq!(seg.best_split(0, 8, 1, 7), 4);
    }
}
