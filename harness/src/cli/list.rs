//! `cockpit list`: the selected plans with their boards, tags and description, without running
//! anything (libtest's `--list`).

use std::path::PathBuf;

use clap::Args;
use cockpit_harness::discover::Job;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;

use super::Outcome;
use super::select::Selection;

/// Arguments of `cockpit list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// Plan files or directories (searched recursively for `*.toml` plans, skipping READMEs,
    /// `Cargo.toml`, `target/` and hidden entries, not following symlinked directories).
    #[arg(default_value = "test-plans")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    selection: Selection,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// One listed plan.
#[derive(Serialize)]
struct Entry<'a> {
    name: &'a str,
    path: String,
    boards: &'a [String],
    tags: &'a [String],
    description: &'a str,
    /// Why the plan cannot run, for plans that failed to load.
    error: Option<&'a str>,
}

impl<'a> From<&'a Job> for Entry<'a> {
    fn from(job: &'a Job) -> Self {
        match job {
            Job::Plan(p) => Entry {
                name: &p.name,
                path: p.path.display().to_string(),
                boards: &p.boards,
                tags: &p.tags,
                description: &p.description,
                error: None,
            },
            Job::Invalid {
                name,
                path,
                message,
            } => Entry {
                name,
                path: path.display().to_string(),
                boards: &[],
                tags: &[],
                description: "",
                error: Some(message),
            },
        }
    }
}

/// Lists the plans; `Ok(false)` when a plan could not be loaded.
pub fn list(args: ListArgs) -> Outcome {
    let jobs = args.selection.jobs(&args.paths)?;
    let entries: Vec<Entry> = jobs.iter().map(Entry::from).collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else {
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED);
        table.set_header(["test", "boards", "tags", "description"]);
        for e in &entries {
            let description = e
                .error
                .map_or(e.description.to_string(), |m| format!("error: {m}"));
            table.add_row([
                e.name.to_string(),
                e.boards.join(", "),
                e.tags.join(", "),
                description,
            ]);
        }
        println!("{table}");
        println!("{} plan(s)", entries.len());
    }
    Ok(entries.iter().all(|e| e.error.is_none()))
}
