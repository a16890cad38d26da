//! `cockpit serve`: the dashboard server (issue 4, in progress).

use clap::Args;

use super::Outcome;

/// Arguments of `cockpit serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {}

/// Not built yet.
pub fn serve(_args: ServeArgs) -> Outcome {
    anyhow::bail!("the dashboard server is not built yet")
}
