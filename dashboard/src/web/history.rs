//! A test's history as the test page and `/api/tests/{name}` show it: its results over runs,
//! the pass/fail strip and flake rate per board, and one chart series per (metric, board).
//!
//! **Flake rate.** For one board (kind + id), take the test's results on that board in run
//! order; a *change* is a result whose verdict differs from the previous result's. The flake
//! rate is `changes / (results − 1)`: the share of runs, among those with a previous run, where
//! the verdict flipped. A test that always passes (or always fails) has rate 0; one that
//! alternates pass/fail has rate 1. The overall rate pools the boards (sum of changes over sum
//! of `results − 1`), so verdicts are never compared across boards. Fewer than two results
//! give no rate (`null`).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::db::{MetricRow, TestRun};

/// How the flake rate is defined (also in the JSON, so a reader of the API sees it).
pub const FLAKE_DEFINITION: &str = "per board, in run order: changes = results whose verdict \
     differs from the previous result's; rate = changes / (results - 1); overall pools the boards";

/// Everything the test page plots, oldest run first.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestHistory {
    /// Test name.
    pub test_name: String,
    /// The test's results, one per (run, board), oldest run first.
    pub runs: Vec<TestRun>,
    /// Flake rates.
    pub flake: Flakiness,
    /// One chart per metric, by metric name.
    pub metrics: Vec<MetricSeries>,
}

/// Flake rates of a test, overall and per board.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Flakiness {
    /// [`FLAKE_DEFINITION`].
    pub definition: &'static str,
    /// Pooled over boards.
    pub overall: FlakeRate,
    /// Per board, by kind then id, with its verdict strip.
    pub boards: Vec<BoardFlake>,
}

/// Verdict changes among consecutive results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlakeRate {
    /// Results considered.
    pub results: usize,
    /// Results whose verdict differs from the previous result's.
    pub changes: usize,
    /// `changes / (results - 1)`; `None` with fewer than two results.
    pub rate: Option<f64>,
}

impl FlakeRate {
    fn new(results: usize, changes: usize) -> FlakeRate {
        FlakeRate {
            results,
            changes,
            rate: (results >= 2).then(|| changes as f64 / (results - 1) as f64),
        }
    }
}

/// One board's verdicts over runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BoardFlake {
    /// Board kind.
    pub board_kind: String,
    /// Board id.
    pub board_id: String,
    /// Flake rate on this board.
    #[serde(flatten)]
    pub flake: FlakeRate,
    /// The pass/fail strip: one cell per result, oldest first.
    pub verdicts: Vec<VerdictCell>,
}

/// One cell of a pass/fail strip.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VerdictCell {
    /// Run id.
    pub run_id: i64,
    /// Commit of the run.
    pub commit: Option<String>,
    /// `pass`, `fail` or `error`.
    pub verdict: String,
}

/// One metric over runs: the x axis (runs, in order) and one series per board, aligned with it
/// (`null` where the board has no value in that run). This is what the chart plots.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricSeries {
    /// Metric name.
    pub metric: String,
    /// Unit (of the newest value).
    pub unit: String,
    /// x axis: run ids in run order (x = index).
    pub runs: Vec<i64>,
    /// Commit of each run on the x axis.
    pub commits: Vec<Option<String>>,
    /// Start of each run on the x axis, Unix epoch milliseconds.
    pub started_at_ms: Vec<i64>,
    /// One series per board, by kind then id.
    pub series: Vec<BoardSeries>,
    /// Number of non-null values over all series (the chart's point count).
    pub points: usize,
}

/// One board's values of a metric, aligned with [`MetricSeries::runs`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BoardSeries {
    /// Board kind.
    pub board_kind: String,
    /// Board id.
    pub board_id: String,
    /// Value per x, `None` where the board has none (the last value if a run has several).
    pub values: Vec<Option<f64>>,
}

/// Builds the history from the rows of [`crate::db::test_history`].
pub fn build(test_name: &str, runs: Vec<TestRun>, metrics: Vec<MetricRow>) -> TestHistory {
    // Flake rates and strips, per board.
    let mut by_board: BTreeMap<(String, String), Vec<&TestRun>> = BTreeMap::new();
    for r in &runs {
        by_board
            .entry((r.board_kind.clone(), r.board_id.clone()))
            .or_default()
            .push(r);
    }
    let (mut total_results, mut total_changes, mut total_pairs) = (0, 0, 0);
    let boards = by_board
        .into_iter()
        .map(|((board_kind, board_id), rs)| {
            let changes = rs
                .windows(2)
                .filter(|w| w[0].verdict != w[1].verdict)
                .count();
            total_results += rs.len();
            total_changes += changes;
            total_pairs += rs.len().saturating_sub(1);
            BoardFlake {
                board_kind,
                board_id,
                flake: FlakeRate::new(rs.len(), changes),
                verdicts: rs
                    .iter()
                    .map(|r| VerdictCell {
                        run_id: r.run_id,
                        commit: r.commit.clone(),
                        verdict: r.verdict.clone(),
                    })
                    .collect(),
            }
        })
        .collect();
    let overall = FlakeRate {
        results: total_results,
        changes: total_changes,
        rate: (total_pairs > 0).then(|| total_changes as f64 / total_pairs as f64),
    };

    // Metric series.
    let result_of: HashMap<i64, &TestRun> = runs.iter().map(|r| (r.result_id, r)).collect();
    let mut by_metric: BTreeMap<&str, Vec<(&TestRun, &MetricRow)>> = BTreeMap::new();
    for m in &metrics {
        if let Some(r) = result_of.get(&m.result_id) {
            by_metric.entry(&m.name).or_default().push((r, m));
        }
    }
    let metrics = by_metric
        .into_iter()
        .map(|(name, points)| {
            let mut xs: BTreeMap<i64, (Option<String>, i64)> = BTreeMap::new();
            let mut boards: BTreeMap<(&str, &str), ()> = BTreeMap::new();
            for (r, _) in &points {
                xs.insert(r.run_id, (r.commit.clone(), r.started_at_ms));
                boards.insert((&r.board_kind, &r.board_id), ());
            }
            let x_of: HashMap<i64, usize> = xs.keys().enumerate().map(|(i, &id)| (id, i)).collect();
            let board_idx: HashMap<(&str, &str), usize> =
                boards.keys().enumerate().map(|(i, &b)| (b, i)).collect();
            let mut series: Vec<BoardSeries> = boards
                .keys()
                .map(|&(kind, id)| BoardSeries {
                    board_kind: kind.to_owned(),
                    board_id: id.to_owned(),
                    values: vec![None; xs.len()],
                })
                .collect();
            let mut unit = String::new();
            for (r, m) in &points {
                let b = board_idx[&(r.board_kind.as_str(), r.board_id.as_str())];
                series[b].values[x_of[&r.run_id]] = Some(m.value);
                unit.clone_from(&m.unit);
            }
            let points = series
                .iter()
                .map(|s| s.values.iter().flatten().count())
                .sum();
            let (commits, started_at_ms) = xs.values().cloned().unzip();
            MetricSeries {
                metric: name.to_owned(),
                unit,
                runs: xs.keys().copied().collect(),
                commits,
                started_at_ms,
                series,
                points,
            }
        })
        .collect();

    TestHistory {
        test_name: test_name.to_owned(),
        runs,
        flake: Flakiness {
            definition: FLAKE_DEFINITION,
            overall,
            boards,
        },
        metrics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(result_id: i64, run_id: i64, board: &str, verdict: &str) -> TestRun {
        TestRun {
            result_id,
            run_id,
            started_at_ms: run_id * 1000,
            commit: Some(format!("c{run_id}")),
            commit_message: None,
            board_kind: "sim".into(),
            board_id: board.into(),
            verdict: verdict.into(),
            duration_ms: 1.0,
        }
    }

    fn metric(result_id: i64, name: &str, value: f64) -> MetricRow {
        MetricRow {
            result_id,
            name: name.into(),
            unit: "cycles".into(),
            value,
        }
    }

    #[test]
    fn flake_rate_counts_verdict_changes_per_board() {
        let runs = vec![
            run(1, 1, "a", "pass"),
            run(2, 1, "b", "fail"),
            run(3, 2, "a", "fail"),
            run(4, 2, "b", "fail"),
            run(5, 3, "a", "pass"),
            run(6, 3, "b", "fail"),
            run(7, 4, "a", "pass"),
        ];
        let h = build("t", runs, vec![]);
        // a: pass fail pass pass → 2 changes of 3; b: fail fail fail → 0 of 2.
        assert_eq!(h.flake.boards[0].flake, FlakeRate::new(4, 2));
        assert_eq!(h.flake.boards[1].flake, FlakeRate::new(3, 0));
        assert_eq!(h.flake.overall.changes, 2);
        assert_eq!(h.flake.overall.rate, Some(2.0 / 5.0));
        assert_eq!(h.flake.boards[0].verdicts.len(), 4);
    }

    #[test]
    fn single_result_has_no_rate() {
        let h = build("t", vec![run(1, 1, "a", "pass")], vec![]);
        assert_eq!(h.flake.overall.rate, None);
        assert_eq!(h.flake.boards[0].flake.rate, None);
    }

    #[test]
    fn series_align_boards_on_runs() {
        let runs = vec![
            run(1, 10, "a", "pass"),
            run(2, 11, "a", "pass"),
            run(3, 11, "b", "pass"),
            run(4, 12, "b", "pass"),
        ];
        let metrics = vec![
            metric(1, "cycles", 100.0),
            metric(2, "cycles", 110.0),
            metric(3, "cycles", 120.0),
            metric(4, "cycles", 130.0),
            metric(4, "ms", 1.5),
        ];
        let h = build("t", runs, metrics);
        assert_eq!(h.metrics.len(), 2);
        let c = &h.metrics[0];
        assert_eq!(c.metric, "cycles");
        assert_eq!(c.runs, vec![10, 11, 12]);
        assert_eq!(c.series[0].values, vec![Some(100.0), Some(110.0), None]);
        assert_eq!(c.series[1].values, vec![None, Some(120.0), Some(130.0)]);
        assert_eq!(c.points, 4);
        assert_eq!(h.metrics[1].runs, vec![12]);
        assert_eq!(h.metrics[1].points, 1);
    }
}
