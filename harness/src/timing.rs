//! Timing measurement on pin output edges: pulse widths and periods.
//!
//! Only complete intervals count: a pulse needs both its starting and its ending edge, a period
//! two consecutive rising edges. Edges that do not change the level (repeated writes of the same
//! value) are ignored.

use crate::plan::Measure;
use crate::target::PinEdge;

/// Summary of a set of measured intervals, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Number of complete intervals.
    pub count: usize,
    /// Mean duration.
    pub mean_ms: f64,
    /// Shortest duration.
    pub min_ms: f64,
    /// Longest duration.
    pub max_ms: f64,
}

impl Stats {
    /// Statistics of `intervals_ms`; `None` when empty.
    pub fn of(intervals_ms: &[f64]) -> Option<Stats> {
        if intervals_ms.is_empty() {
            return None;
        }
        let sum: f64 = intervals_ms.iter().sum();
        Some(Stats {
            count: intervals_ms.len(),
            mean_ms: sum / intervals_ms.len() as f64,
            min_ms: intervals_ms.iter().copied().fold(f64::INFINITY, f64::min),
            max_ms: intervals_ms
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max),
        })
    }
}

/// Durations, in milliseconds, of every complete interval of `measure` on `pin`, in time order.
/// `edges` must be in time order (as [`crate::target::Target::pin_edges`] returns them).
pub fn measure(edges: &[PinEdge], pin: u8, measure: Measure) -> Vec<f64> {
    let transitions = level_changes(edges, pin);
    let ns_to_ms = |ns: u64| ns as f64 / 1e6;
    match measure {
        Measure::PulseWidth { high } => transitions
            .windows(2)
            .filter(|w| w[0].high == high)
            .map(|w| ns_to_ms(w[1].at_ns - w[0].at_ns))
            .collect(),
        Measure::Period => {
            let rising: Vec<u64> = transitions
                .iter()
                .filter(|e| e.high)
                .map(|e| e.at_ns)
                .collect();
            rising.windows(2).map(|w| ns_to_ms(w[1] - w[0])).collect()
        }
    }
}

/// The edges of `pin` that actually change its level. The level before the first edge is
/// unknown, so the first edge always counts as a change.
fn level_changes(edges: &[PinEdge], pin: u8) -> Vec<PinEdge> {
    let mut out: Vec<PinEdge> = Vec::new();
    for e in edges.iter().filter(|e| e.pin == pin) {
        if out.last().is_none_or(|last| last.high != e.high) {
            out.push(*e);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn edge(pin: u8, high: bool, at_ms: u64) -> PinEdge {
        PinEdge {
            pin,
            high,
            at_ns: at_ms * MS,
        }
    }

    /// A square wave on `pin`: `n` high pulses of `high_ms`, separated by `low_ms`, from t = 0.
    fn square(pin: u8, n: u64, high_ms: u64, low_ms: u64) -> Vec<PinEdge> {
        (0..n)
            .flat_map(|i| {
                let t = i * (high_ms + low_ms);
                [edge(pin, true, t), edge(pin, false, t + high_ms)]
            })
            .collect()
    }

    #[test]
    fn pulses_and_periods_of_a_square_wave() {
        let edges = square(13, 4, 500, 300);
        assert_eq!(
            measure(&edges, 13, Measure::PulseWidth { high: true }),
            [500.0; 4]
        );
        assert_eq!(
            measure(&edges, 13, Measure::PulseWidth { high: false }),
            [300.0; 3]
        );
        assert_eq!(measure(&edges, 13, Measure::Period), [800.0; 3]);
    }

    #[test]
    fn incomplete_pulses_and_other_pins_are_ignored() {
        let mut edges = vec![edge(13, false, 0), edge(5, true, 1)];
        edges.extend([edge(13, true, 10), edge(13, false, 30), edge(13, true, 50)]);
        edges.push(edge(5, false, 60));
        assert_eq!(
            measure(&edges, 13, Measure::PulseWidth { high: true }),
            [20.0]
        );
        assert_eq!(
            measure(&edges, 13, Measure::PulseWidth { high: false }),
            [10.0, 20.0]
        );
        assert_eq!(measure(&edges, 13, Measure::Period), [40.0]);
        assert_eq!(
            measure(&edges, 5, Measure::PulseWidth { high: true }),
            [59.0]
        );
        assert!(measure(&edges, 7, Measure::Period).is_empty());
    }

    #[test]
    fn repeated_levels_do_not_split_pulses() {
        let edges = [
            edge(1, true, 0),
            edge(1, true, 5),
            edge(1, false, 10),
            edge(1, false, 12),
            edge(1, true, 20),
        ];
        assert_eq!(
            measure(&edges, 1, Measure::PulseWidth { high: true }),
            [10.0]
        );
        assert_eq!(measure(&edges, 1, Measure::Period), [20.0]);
    }

    #[test]
    fn sub_millisecond_resolution() {
        let edges = [
            PinEdge {
                pin: 2,
                high: true,
                at_ns: 1_000,
            },
            PinEdge {
                pin: 2,
                high: false,
                at_ns: 251_000,
            },
        ];
        assert_eq!(
            measure(&edges, 2, Measure::PulseWidth { high: true }),
            [0.25]
        );
    }

    #[test]
    fn stats_summarise_intervals() {
        assert_eq!(Stats::of(&[]), None);
        let s = Stats::of(&[1.0, 2.0, 6.0]).unwrap();
        assert_eq!((s.count, s.mean_ms, s.min_ms, s.max_ms), (3, 3.0, 1.0, 6.0));
    }
}
