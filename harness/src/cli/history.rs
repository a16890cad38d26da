//! `cockpit history`: a test's stored metric values, newest run first.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use cockpit_harness::store::{HistoryRow, Store};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::{Outcome, store_runtime};

/// Arguments of `cockpit history`.
#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// Test name (the plan's `name`).
    test: String,
    /// Only this metric (e.g. `cycles`, `pin13.pulse_high_ms`); default: all.
    #[arg(long)]
    metric: Option<String>,
    /// Only results from this board kind (`sim`, `emu`, `probe`).
    #[arg(long)]
    board: Option<String>,
    /// At most this many runs (the newest ones), each with all its selected metrics.
    #[arg(long, default_value_t = 20)]
    limit: u32,
    /// Result database.
    #[arg(long, default_value = "cockpit.db")]
    db: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Prints the history table (or JSON). No stored rows is not an error.
pub fn history(args: HistoryArgs) -> Outcome {
    if !args.db.exists() {
        anyhow::bail!(
            "result database {} does not exist (run `cockpit run` first)",
            args.db.display()
        );
    }
    let rt = store_runtime()?;
    let rows = rt
        .block_on(async {
            let store = Store::open(&args.db).await?;
            let rows = store
                .history(
                    &args.test,
                    args.metric.as_deref(),
                    args.board.as_deref(),
                    args.limit,
                )
                .await;
            store.close().await;
            rows
        })
        .with_context(|| format!("history of {}", args.test))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if rows.is_empty() {
        eprintln!(
            "no stored values for test {:?} in {}",
            args.test,
            args.db.display()
        );
    } else {
        println!("{}", table(&rows));
    }
    Ok(true)
}

fn table(rows: &[HistoryRow]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header([
        "run",
        "started (UTC)",
        "commit",
        "board",
        "verdict",
        "metric",
        "value",
    ]);
    for r in rows {
        let started = chrono::DateTime::from_timestamp_millis(r.started_at_ms).map_or_else(
            || r.started_at_ms.to_string(),
            |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
        );
        t.add_row(vec![
            r.run_id.to_string(),
            started,
            short_commit(r.git_commit.as_deref()),
            r.board_id.clone(),
            r.verdict.clone(),
            r.metric.clone(),
            format!("{} {}", value_text(r.value), r.unit),
        ]);
    }
    t
}

/// The first 10 characters of a commit id (whatever text was stored), or `-` when unknown.
fn short_commit(commit: Option<&str>) -> String {
    commit.map_or_else(|| "-".to_string(), |c| c.chars().take(10).collect())
}

/// Whole numbers as integers, others to three decimals.
fn value_text(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_commit_cuts_characters_not_bytes() {
        assert_eq!(short_commit(None), "-");
        assert_eq!(short_commit(Some("0123456789abcdef")), "0123456789");
        assert_eq!(short_commit(Some("abc")), "abc");
        // Multi-byte text (a hand-edited database, an odd VCS): byte 10 is inside "é".
        assert_eq!(short_commit(Some("ééééééééééé")), "éééééééééé");
        assert_eq!(short_commit(Some("123456789é0")), "123456789é");
    }
}
