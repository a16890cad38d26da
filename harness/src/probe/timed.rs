//! [`TimedLink`]: per-operation timeouts around a blocking [`DebugLink`].
//!
//! probe-rs is synchronous: a probe that stops answering (USB unplugged, a wedged ST-Link) can
//! block a call indefinitely. `TimedLink` owns the backend on its own thread, sends it one
//! operation at a time and waits at most the operation's timeout ([`Timeouts::of`]). A timeout
//! is reported as [`LinkError::Timeout`] naming the operation; since the stuck call still holds
//! the probe, every later call then fails with [`LinkError::Lost`] (the board is reopened by
//! making a new target).

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Instant;

use super::config::Timeouts;
use super::link::{DebugLink, FlashProgress, FlashRegion, LinkError, Operation};
use crate::corereg::CoreRegister;

type Job = Box<dyn FnOnce(&mut dyn DebugLink) + Send>;

enum Reply<R> {
    Progress(FlashProgress),
    Done(Result<R, LinkError>),
}

/// A [`DebugLink`] on its own thread, each call bounded by its timeout.
pub struct TimedLink {
    jobs: mpsc::Sender<Job>,
    timeouts: Timeouts,
    lost: Option<Operation>,
}

impl std::fmt::Debug for TimedLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimedLink")
            .field("timeouts", &self.timeouts)
            .field("lost", &self.lost)
            .finish_non_exhaustive()
    }
}

fn thread_ended(op: Operation) -> LinkError {
    LinkError::failed(op, "the probe thread ended (a panic in the backend?)")
}

impl TimedLink {
    /// Starts the link thread and creates the backend there with `open` (select the probe,
    /// attach), waiting at most `timeouts.attach`. Errors: `open`'s error, or
    /// [`LinkError::Timeout`] of [`Operation::Attach`].
    pub fn open<F>(timeouts: Timeouts, open: F) -> Result<Self, LinkError>
    where
        F: FnOnce() -> Result<Box<dyn DebugLink>, LinkError> + Send + 'static,
    {
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (opened_tx, opened) = mpsc::channel();
        thread::Builder::new()
            .name("cockpit-probe".into())
            .spawn(move || {
                let mut link = match open() {
                    Ok(link) => {
                        let _ = opened_tx.send(Ok(()));
                        link
                    }
                    Err(e) => {
                        let _ = opened_tx.send(Err(e));
                        return;
                    }
                };
                for job in job_rx {
                    job(link.as_mut());
                }
            })
            .map_err(|e| LinkError::failed(Operation::Attach, e))?;
        match opened.recv_timeout(timeouts.attach) {
            Ok(Ok(())) => Ok(TimedLink {
                jobs,
                timeouts,
                lost: None,
            }),
            Ok(Err(e)) => Err(e),
            Err(RecvTimeoutError::Timeout) => Err(LinkError::Timeout {
                op: Operation::Attach,
                after: timeouts.attach,
            }),
            Err(RecvTimeoutError::Disconnected) => Err(thread_ended(Operation::Attach)),
        }
    }

    /// The timeouts in force.
    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    /// Runs `f` on the link thread within `op`'s timeout, passing its progress reports to
    /// `progress` on this thread.
    fn call<R, F>(
        &mut self,
        op: Operation,
        f: F,
        progress: &mut dyn FnMut(FlashProgress),
    ) -> Result<R, LinkError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn DebugLink, &mut dyn FnMut(FlashProgress)) -> Result<R, LinkError>
            + Send
            + 'static,
    {
        if let Some(op) = self.lost {
            return Err(LinkError::Lost { op });
        }
        let (tx, rx) = mpsc::channel();
        let job: Job = Box::new(move |link| {
            let progress_tx = tx.clone();
            let r = f(link, &mut |p| {
                let _ = progress_tx.send(Reply::Progress(p));
            });
            let _ = tx.send(Reply::Done(r));
        });
        self.jobs.send(job).map_err(|_| thread_ended(op))?;
        let after = self.timeouts.of(op);
        let deadline = Instant::now() + after;
        loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(Reply::Progress(p)) => progress(p),
                Ok(Reply::Done(r)) => return r,
                Err(RecvTimeoutError::Timeout) => {
                    self.lost = Some(op);
                    return Err(LinkError::Timeout { op, after });
                }
                Err(RecvTimeoutError::Disconnected) => return Err(thread_ended(op)),
            }
        }
    }

    fn simple<R, F>(&mut self, op: Operation, f: F) -> Result<R, LinkError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn DebugLink) -> Result<R, LinkError> + Send + 'static,
    {
        self.call(op, move |link, _| f(link), &mut |_| {})
    }
}

impl DebugLink for TimedLink {
    fn reset_and_halt(&mut self) -> Result<(), LinkError> {
        self.simple(Operation::Control, |l| l.reset_and_halt())
    }

    fn resume(&mut self) -> Result<(), LinkError> {
        self.simple(Operation::Control, |l| l.resume())
    }

    fn halt(&mut self) -> Result<(), LinkError> {
        self.simple(Operation::Control, |l| l.halt())
    }

    fn read_memory(&mut self, addr: u32, len: usize) -> Result<Vec<u8>, LinkError> {
        self.simple(Operation::Access, move |l| l.read_memory(addr, len))
    }

    fn write_memory(&mut self, addr: u32, data: &[u8]) -> Result<(), LinkError> {
        let data = data.to_vec();
        self.simple(Operation::Access, move |l| l.write_memory(addr, &data))
    }

    fn read_u32(&mut self, addr: u32) -> Result<u32, LinkError> {
        self.simple(Operation::Access, move |l| l.read_u32(addr))
    }

    fn read_core_register(&mut self, reg: CoreRegister) -> Result<u32, LinkError> {
        self.simple(Operation::Access, move |l| l.read_core_register(reg))
    }

    fn write_flash(
        &mut self,
        regions: &[FlashRegion],
        progress: &mut dyn FnMut(FlashProgress),
    ) -> Result<(), LinkError> {
        let regions = regions.to_vec();
        self.call(
            Operation::Flash,
            move |l, p| l.write_flash(&regions, p),
            progress,
        )
    }

    fn rtt_read(&mut self, control_block: u32, channel: usize) -> Result<Vec<u8>, LinkError> {
        self.simple(Operation::Rtt, move |l| l.rtt_read(control_block, channel))
    }
}
