//! Which plans a command works on: plan discovery plus the `--filter` and `--tag` selections
//! shared by `cockpit run` and `cockpit list`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use cockpit_harness::discover::{self, Job};

/// Test selection options.
#[derive(Args, Debug, Default)]
pub struct Selection {
    /// Only tests whose name contains this text, or matches it as a glob (`gpio_*`).
    #[arg(long)]
    filter: Option<String>,
    /// Only plans with this tag (repeatable: a plan with any of the tags is selected). Plans that
    /// could not be read are always kept, so that their errors are reported.
    #[arg(long = "tag")]
    tags: Vec<String>,
}

impl Selection {
    /// Finds the plans under `paths` (files or directories) and keeps the selected ones, in
    /// path order. Errors: a path that does not exist or cannot be read; an invalid glob.
    pub fn jobs(&self, paths: &[PathBuf]) -> anyhow::Result<Vec<Job>> {
        let files = discover::discover(paths).context("finding plans")?;
        let glob = match self.filter.as_deref() {
            Some(p) if p.contains(['*', '?', '[']) => Some(
                glob::Pattern::new(p).with_context(|| format!("invalid --filter glob {p:?}"))?,
            ),
            _ => None,
        };
        let name_matches = |name: &str| match (&glob, &self.filter) {
            (Some(g), _) => g.matches(name),
            (None, Some(s)) => name.contains(s.as_str()),
            (None, None) => true,
        };
        let tag_matches = |job: &Job| match job {
            Job::Plan(plan) => {
                self.tags.is_empty() || plan.tags.iter().any(|t| self.tags.contains(t))
            }
            Job::Invalid { .. } => true,
        };
        Ok(discover::load(&files)
            .into_iter()
            .filter(|job| name_matches(job.name()) && tag_matches(job))
            .collect())
    }

    /// The selection in words, for "no plans" messages: `""`, ` matching "x"`, ` tagged gpio`.
    pub fn describe(&self) -> String {
        let mut text = String::new();
        if let Some(f) = &self.filter {
            text.push_str(&format!(" matching {f:?}"));
        }
        if !self.tags.is_empty() {
            text.push_str(&format!(" tagged {}", self.tags.join(" or ")));
        }
        text
    }
}
