//! `cockpit history`: a test's stored metric values, newest run first; without `--metric`, a
//! result that recorded no metric (a compile error, an `error` or `infra_error` before the run)
//! shows as a row with its verdict and `—` for metric and value.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use cockpit_harness::store::{HistoryRow, Store};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::text::{short_commit, value_text};
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

/// The metric and value cells of a result without metrics.
const NO_METRIC: &str = "—";

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
            r.metric.clone().unwrap_or_else(|| NO_METRIC.to_owned()),
            match (r.value, &r.unit) {
                (Some(v), Some(unit)) => format!("{} {unit}", value_text(v)),
                _ => NO_METRIC.to_owned(),
            },
        ]);
    }
    t
}
