//! `cockpit demo-history`: fills a result store with a synthetic history
//! ([`cockpit_harness::demo`]) and prints the steps it injected.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use cockpit_harness::demo::{self, DemoConfig};
use cockpit_harness::store::Store;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::{Outcome, store_runtime};

/// Arguments of `cockpit demo-history`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Result database to fill (created if missing; runs are appended).
    #[arg(long, default_value = "cockpit.db")]
    db: PathBuf,
    /// Number of runs (each covers every demo test on sim, emu and probe).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    runs: u32,
    /// RNG seed: the same seed makes the same history.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How many series get an injected step.
    #[arg(long, default_value_t = 8)]
    steps: usize,
    /// Also write the injected steps (ground truth) to this JSON file.
    #[arg(long)]
    truth: Option<PathBuf>,
}

/// Generates and stores the history, prints the injected steps.
pub fn demo_history(args: DemoArgs) -> Outcome {
    let cfg = DemoConfig {
        runs: args.runs as usize,
        seed: args.seed,
        steps_per_history: args.steps,
        ..DemoConfig::default()
    };
    let mut history = demo::generate(&cfg);
    let rt = store_runtime()?;
    rt.block_on(async {
        let store = Store::open(&args.db).await?;
        let written = demo::write(&store, &mut history).await;
        store.close().await;
        written
    })
    .with_context(|| format!("write the demo history into {}", args.db.display()))?;

    let results: usize = history.runs.iter().map(|r| r.results.len()).sum();
    println!(
        "wrote {} runs ({results} test results, {} series) into {}",
        history.runs.len(),
        history.series.len(),
        args.db.display()
    );
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header([
        "run", "commit", "test", "metric", "board", "change", "σ", "kind",
    ]);
    for s in &history.steps {
        t.add_row(vec![
            s.run_id.map_or_else(|| "-".to_string(), |r| r.to_string()),
            s.commit.chars().take(10).collect(),
            s.test_name.clone(),
            s.metric.clone(),
            format!("{}/{}", s.board_kind, s.board_id),
            format!("{:+.1}%", s.relative * 100.0),
            if s.deterministic {
                "exact".to_string()
            } else {
                format!("{:.1}", s.sigmas)
            },
            s.direction.clone(),
        ]);
    }
    println!("injected steps:\n{t}");
    if let Some(path) = &args.truth {
        std::fs::write(path, serde_json::to_string_pretty(&history.steps)?)
            .with_context(|| format!("write {}", path.display()))?;
        println!("ground truth: {}", path.display());
    }
    Ok(true)
}
