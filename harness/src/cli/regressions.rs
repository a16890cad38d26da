//! `cockpit regressions`: the regression report (issue 4, in progress).

use clap::Args;

use super::Outcome;

/// Arguments of `cockpit regressions`.
#[derive(Args, Debug)]
pub struct RegressionsArgs {}

/// Not built yet.
pub fn regressions(_args: RegressionsArgs) -> Outcome {
    anyhow::bail!("the regression report is not built yet")
}
