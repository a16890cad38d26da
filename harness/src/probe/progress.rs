//! Flash progress for people: [`FlashProgressView`] shows the [`FlashProgress`] events of
//! [`super::ProbeTarget::open`] on stderr — one indicatif bar per phase (erase, program,
//! verify: bytes, rate, time left) on a terminal, plain lines when stderr is not one (CI logs)
//! — and a summary line per finished phase in both cases:
//! ``board `nucleo-1`: flash program 47.81 KiB in 1.20 s (39.84 KiB/s)``.
//!
//! [`PhaseTracker`] is the part without drawing. probe-rs announces every phase with its total
//! before any work (`FlashProgress` with `done` = 0), then reports each phase's bytes; a phase
//! starts with its first bytes (its time counts from the event before them: the announcement,
//! or the previous phase's last bytes), ends when its bytes reach the total or the flash write
//! is over, and phases may interleave.

use std::fmt;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{BinaryBytes, MultiProgress, ProgressBar, ProgressStyle};

use super::link::{FlashPhase, FlashProgress};

/// A finished phase: its bytes and how long it took.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PhaseSummary {
    /// The phase.
    pub phase: FlashPhase,
    /// Bytes done.
    pub bytes: u64,
    /// From its first event to its end.
    pub elapsed: Duration,
}

impl PhaseSummary {
    /// Bytes per second; `None` when no time passed.
    pub fn rate(&self) -> Option<f64> {
        let s = self.elapsed.as_secs_f64();
        (s > 0.0).then(|| self.bytes as f64 / s)
    }
}

impl fmt::Display for PhaseSummary {
    /// `program 47.81 KiB in 1.20 s (39.84 KiB/s)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} in {:.2} s",
            self.phase,
            BinaryBytes(self.bytes),
            self.elapsed.as_secs_f64()
        )?;
        match self.rate() {
            Some(r) => write!(f, " ({}/s)", BinaryBytes(r as u64)),
            None => Ok(()),
        }
    }
}

/// What an event changed, for display.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Change {
    /// A phase's first bytes were done (`total` bytes in it, if known).
    Started {
        /// The phase.
        phase: FlashPhase,
        /// Its bytes, if known.
        total: Option<u64>,
    },
    /// A started phase advanced.
    Advanced {
        /// The phase.
        phase: FlashPhase,
        /// Bytes done.
        done: u64,
        /// Its bytes, if known.
        total: Option<u64>,
    },
    /// A started phase ended.
    Finished(PhaseSummary),
}

/// One phase as seen so far.
#[derive(Clone, Copy, Debug)]
struct Phase {
    phase: FlashPhase,
    done: u64,
    total: Option<u64>,
    /// When it started (`None`: announced only).
    since: Option<Instant>,
    /// It ended (later events of it change nothing).
    ended: bool,
}

impl Phase {
    /// Marks it ended at `now` and returns its summary.
    fn end(&mut self, since: Instant, now: Instant) -> Change {
        self.ended = true;
        Change::Finished(PhaseSummary {
            phase: self.phase,
            bytes: self.done,
            elapsed: now.saturating_duration_since(since),
        })
    }
}

/// Turns [`FlashProgress`] events into [`Change`]s (module docs).
#[derive(Debug, Default)]
pub struct PhaseTracker {
    /// In order of first appearance.
    phases: Vec<Phase>,
    last_event: Option<Instant>,
}

impl PhaseTracker {
    /// The changes event `p`, seen at `now`, makes: its phase's start (its first bytes), its
    /// progress, and its end when `done` reaches a known `total`. An announcement (`done` = 0)
    /// only records the total.
    pub fn update(&mut self, p: FlashProgress, now: Instant) -> Vec<Change> {
        let previous = self.last_event.replace(now);
        let i = match self.phases.iter().position(|s| s.phase == p.phase) {
            Some(i) => i,
            None => {
                self.phases.push(Phase {
                    phase: p.phase,
                    done: 0,
                    total: None,
                    since: None,
                    ended: false,
                });
                self.phases.len() - 1
            }
        };
        let s = &mut self.phases[i];
        s.total = p.total.or(s.total);
        if s.ended || p.done == 0 {
            return Vec::new();
        }
        let mut changes = Vec::new();
        let since = *s.since.get_or_insert_with(|| {
            changes.push(Change::Started {
                phase: p.phase,
                total: s.total,
            });
            previous.unwrap_or(now)
        });
        s.done = p.done;
        changes.push(Change::Advanced {
            phase: p.phase,
            done: s.done,
            total: s.total,
        });
        if s.total.is_some_and(|t| s.done >= t) {
            changes.push(s.end(since, now));
        }
        changes
    }

    /// Ends, at `now`, every phase that started and has not ended (the flash write is over).
    pub fn finish(&mut self, now: Instant) -> Vec<Change> {
        self.phases
            .iter_mut()
            .filter(|s| !s.ended)
            .filter_map(|s| s.since.map(|since| s.end(since, now)))
            .collect()
    }
}

/// Flash progress of board `board` on stderr (module docs).
#[derive(Debug)]
pub struct FlashProgressView {
    board: String,
    /// The bars' area when stderr is a terminal, else `None` (plain lines).
    bars: Option<MultiProgress>,
    tracker: PhaseTracker,
    running: Vec<(FlashPhase, ProgressBar)>,
}

impl FlashProgressView {
    /// A view for board `board`: bars when stderr is a terminal, else plain lines.
    pub fn stderr(board: &str) -> Self {
        FlashProgressView {
            board: board.to_string(),
            bars: std::io::stderr().is_terminal().then(MultiProgress::new),
            tracker: PhaseTracker::default(),
            running: Vec::new(),
        }
    }

    /// Shows event `p`.
    pub fn update(&mut self, p: FlashProgress) {
        for c in self.tracker.update(p, Instant::now()) {
            self.show(c);
        }
    }

    /// Ends the display (call it after the flash write, whether it succeeded or not).
    pub fn finish(mut self) {
        for c in self.tracker.finish(Instant::now()) {
            self.show(c);
        }
    }

    /// A line above the bars (terminal) or on stderr.
    fn line(&self, text: String) {
        let line = format!("board `{}`: flash {text}", self.board);
        match &self.bars {
            Some(m) if m.println(&line).is_ok() => {}
            _ => eprintln!("{line}"),
        }
    }

    fn show(&mut self, c: Change) {
        match c {
            Change::Started { phase, total } => match &self.bars {
                Some(m) => {
                    let style = ProgressStyle::with_template(
                        "{prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {eta}",
                    )
                    .expect("static template is valid")
                    .progress_chars("=> ");
                    let bar = m.add(
                        ProgressBar::new(total.unwrap_or(0))
                            .with_style(style)
                            .with_prefix(format!("board `{}`: flash {phase:<7}", self.board)),
                    );
                    self.running.push((phase, bar));
                }
                None => self.line(format!("{phase}…")),
            },
            Change::Advanced { phase, done, total } => {
                if let Some((_, bar)) = self.running.iter().find(|(p, _)| *p == phase) {
                    if let Some(t) = total {
                        bar.set_length(t);
                    }
                    bar.set_position(done);
                }
            }
            Change::Finished(summary) => {
                if let Some(i) = self.running.iter().position(|(p, _)| *p == summary.phase) {
                    let (_, bar) = self.running.remove(i);
                    bar.finish_and_clear();
                    if let Some(m) = &self.bars {
                        m.remove(&bar);
                    }
                }
                self.line(summary.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(phase: FlashPhase, done: u64, total: Option<u64>) -> FlashProgress {
        FlashProgress { phase, done, total }
    }

    #[test]
    fn events_become_phases_with_bytes_and_durations() {
        use FlashPhase::{Erase, Program, Verify};
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let summary = |phase, bytes, ms| {
            Change::Finished(PhaseSummary {
                phase,
                bytes,
                elapsed: Duration::from_millis(ms),
            })
        };
        let mut t = PhaseTracker::default();
        // probe-rs announces every phase first: nothing to show yet.
        for (phase, total) in [(Erase, 4096), (Program, 3000), (Verify, 3000)] {
            assert_eq!(t.update(event(phase, 0, Some(total)), at(0)), []);
        }
        // Erase starts with its first bytes (timed from the announcement) and ends at its total.
        assert_eq!(
            t.update(event(Erase, 2048, None), at(100)),
            [
                Change::Started {
                    phase: Erase,
                    total: Some(4096)
                },
                Change::Advanced {
                    phase: Erase,
                    done: 2048,
                    total: Some(4096)
                }
            ]
        );
        assert_eq!(
            t.update(event(Erase, 4096, None), at(200)),
            [
                Change::Advanced {
                    phase: Erase,
                    done: 4096,
                    total: Some(4096)
                },
                summary(Erase, 4096, 200)
            ]
        );
        // A late event of an ended phase changes nothing.
        assert_eq!(t.update(event(Erase, 4096, Some(4096)), at(250)), []);
        // Program is timed from the event before its first bytes (erase's last, at 250 ms).
        assert_eq!(t.update(event(Program, 1000, None), at(500)).len(), 2);
        let changes = t.update(event(Program, 3000, None), at(1450));
        assert_eq!(changes.last(), Some(&summary(Program, 3000, 1200)));
        // The write ends with verify half done: finish reports what it did, once.
        t.update(event(Verify, 1500, None), at(1500));
        assert_eq!(t.finish(at(1650)), [summary(Verify, 1500, 200)]);
        assert_eq!(t.finish(at(1700)), []);
        // A phase only announced never shows.
        let mut t = PhaseTracker::default();
        t.update(event(Verify, 0, Some(10)), at(0));
        assert_eq!(t.finish(at(5)), []);
    }

    #[test]
    fn a_summary_names_phase_bytes_time_and_rate() {
        let s = PhaseSummary {
            phase: FlashPhase::Program,
            bytes: 48_960,
            elapsed: Duration::from_millis(1200),
        };
        assert_eq!(s.rate(), Some(40_800.0));
        assert_eq!(s.to_string(), "program 47.81 KiB in 1.20 s (39.84 KiB/s)");
        let instant = PhaseSummary {
            elapsed: Duration::ZERO,
            ..s
        };
        assert_eq!(instant.rate(), None);
        assert_eq!(instant.to_string(), "program 47.81 KiB in 0.00 s");
    }
}
