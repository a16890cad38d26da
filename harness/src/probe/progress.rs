//! A terminal rendering of flash progress ([`FlashProgress`]) with indicatif, for the CLI: one
//! bar per phase (erase, program, verify), in bytes.

use indicatif::{ProgressBar, ProgressStyle};

use super::link::{FlashPhase, FlashProgress};

/// A callback for [`super::ProbeTarget::open`] that draws the phases on stderr, e.g.
/// `program [=====>    ] 24.0 KiB/46.8 KiB`. A phase whose total is unknown shows a spinner.
pub fn progress_bars() -> impl FnMut(FlashProgress) {
    let style = ProgressStyle::with_template("{prefix:>8} [{bar:30}] {bytes}/{total_bytes}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    let mut bars: Vec<(FlashPhase, ProgressBar)> = Vec::new();
    move |p: FlashProgress| {
        let bar = match bars.iter().find(|(ph, _)| *ph == p.phase) {
            Some((_, b)) => b.clone(),
            None => {
                let b = ProgressBar::new(0)
                    .with_style(style.clone())
                    .with_prefix(match p.phase {
                        FlashPhase::Erase => "erase",
                        FlashPhase::Program => "program",
                        FlashPhase::Verify => "verify",
                    });
                bars.push((p.phase, b.clone()));
                b
            }
        };
        if let Some(total) = p.total {
            bar.set_length(total);
        }
        bar.set_position(p.done);
        if p.total.is_some_and(|t| p.done >= t) {
            bar.finish();
        }
    }
}
