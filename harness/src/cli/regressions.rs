//! `cockpit regressions`: the timing-regression report over the result store, and
//! `cockpit regressions ack KEY --who NAME --why TEXT`.
//!
//! Detection is `cockpit_dashboard::regress::detect` with its default options (the same list
//! as the dashboard's `/regressions` page). Exit status: 1 when an unacknowledged regression
//! exists (a CI gate), 0 otherwise, 2 on errors (no database, a bad key).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use cockpit_dashboard::regress::{self, CommitPoint, Direction, Options, Regression};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::text::{short_commit, value_text};
use super::{Outcome, store_runtime};

/// Arguments of `cockpit regressions`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RegressionsArgs {
    #[command(subcommand)]
    command: Option<RegressionsCommand>,
    /// Result database.
    #[arg(long, default_value = "cockpit.db", global = true)]
    db: PathBuf,
    /// Print JSON (an array of regressions) instead of a table.
    #[arg(long)]
    json: bool,
    /// Also list improvements (regressions, acknowledged or not, are always listed).
    #[arg(long)]
    all: bool,
}

/// Subcommands of `cockpit regressions`.
#[derive(Subcommand, Debug)]
enum RegressionsCommand {
    /// Acknowledge a regression so it stops alerting (stored with who, why and when).
    Ack {
        /// The regression's key, as printed by `cockpit regressions` (the `key` column / field).
        key: String,
        /// Who acknowledges it.
        #[arg(long)]
        who: String,
        /// Why it is accepted.
        #[arg(long)]
        why: String,
    },
}

/// Prints the list (or acknowledges one); see the module docs for the exit status.
pub fn regressions(args: RegressionsArgs) -> Outcome {
    if !args.db.exists() {
        anyhow::bail!(
            "result database {} does not exist (run `cockpit run` first)",
            args.db.display()
        );
    }
    let rt = store_runtime()?;
    match args.command {
        Some(RegressionsCommand::Ack { key, who, why }) => {
            if who.trim().is_empty() || why.trim().is_empty() {
                anyhow::bail!("--who and --why must not be empty");
            }
            let found = rt
                .block_on(async {
                    let pool = cockpit_dashboard::open_pool(&args.db).await?;
                    let found = regress::acknowledge(&pool, &key, &who, &why).await;
                    pool.close().await;
                    anyhow::Ok(found?)
                })
                .with_context(|| format!("acknowledge {key:?} in {}", args.db.display()))?;
            if !found {
                anyhow::bail!(
                    "no regression with key {key:?} in {} (copy the key from `cockpit regressions`)",
                    args.db.display()
                );
            }
            println!("acknowledged {key} ({who}: {why})");
            Ok(true)
        }
        None => {
            let all = rt
                .block_on(async {
                    let pool = cockpit_dashboard::open_pool(&args.db).await?;
                    let list = regress::detect(&pool, &Options::default()).await;
                    pool.close().await;
                    anyhow::Ok(list?)
                })
                .with_context(|| format!("regressions in {}", args.db.display()))?;
            let gate = all
                .iter()
                .filter(|r| r.direction == Direction::Regression && r.acknowledged.is_none())
                .count();
            let shown: Vec<&Regression> = all
                .iter()
                .filter(|r| args.all || r.direction == Direction::Regression)
                .collect();
            if args.json {
                println!("{}", serde_json::to_string_pretty(&shown)?);
            } else if shown.is_empty() {
                println!("no regressions in {}", args.db.display());
            } else {
                println!("{}", table(&shown));
                let acked = shown
                    .iter()
                    .filter(|r| r.direction == Direction::Regression)
                    .count()
                    - gate;
                println!("{gate} unacknowledged regression(s), {acked} acknowledged");
            }
            Ok(gate == 0)
        }
    }
}

fn table(rows: &[&Regression]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header([
        "test",
        "metric",
        "board",
        "baseline → current",
        "effect",
        "confidence",
        "commits (last good..first bad)",
        "ack",
        "key",
    ]);
    for r in rows {
        let kind = match r.direction {
            Direction::Regression => "",
            Direction::Improvement => " (improvement)",
        };
        t.add_row(vec![
            r.test_name.clone(),
            r.metric.clone(),
            format!("{}/{}", r.board_kind, r.board_id),
            format!(
                "{} → {} {}",
                value_text(r.baseline),
                value_text(r.current),
                r.unit
            ),
            format!("{:+.1}%{kind}", r.effect * 100.0),
            format!("{:.3}", r.confidence),
            range_text(r.last_good.as_ref(), &r.first_bad),
            r.acknowledged
                .as_ref()
                .map_or_else(|| "-".to_string(), |a| format!("{}: {}", a.who, a.why)),
            r.key.clone(),
        ]);
    }
    t
}

/// `abc1234567 (run 3)..def4567890 (run 7)`: commits cut to 10 characters, `-` when unknown.
fn range_text(last_good: Option<&CommitPoint>, first_bad: &CommitPoint) -> String {
    let point =
        |p: &CommitPoint| format!("{} (run {})", short_commit(p.commit.as_deref()), p.run_id);
    match last_good {
        Some(g) => format!("{}..{}", point(g), point(first_bad)),
        None => format!("..{}", point(first_bad)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_text_cuts_commits() {
        let a = CommitPoint {
            run_id: 3,
            commit: Some("0123456789abcdef".into()),
            started_at_ms: 0,
        };
        let b = CommitPoint {
            run_id: 7,
            commit: None,
            started_at_ms: 0,
        };
        assert_eq!(range_text(Some(&a), &b), "0123456789 (run 3)..- (run 7)");
        assert_eq!(range_text(None, &a), "..0123456789 (run 3)");
    }
}
