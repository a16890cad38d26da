//! `cockpit demo-history`: the synthetic history generator (issue 4, in progress).

use clap::Args;

use super::Outcome;

/// Arguments of `cockpit demo-history`.
#[derive(Args, Debug)]
pub struct DemoArgs {}

/// Not built yet.
pub fn demo_history(_args: DemoArgs) -> Outcome {
    anyhow::bail!("the synthetic history generator is not built yet")
}
