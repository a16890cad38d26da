//! The `probe` board kind: a real STM32G474 board (NUCLEO-G474RE, WeAct) running the Cockpit
//! firmware, driven through a debug probe (ST-Link) with probe-rs 0.32, behind the same
//! [`crate::target::Target`] trait as `sim` and `emu`.
//!
//! # Use
//! ```no_run
//! use cockpit_harness::probe::{FlashProgressView, ProbeConfig, ProbeTarget, list_probes};
//! use cockpit_harness::target::Target;
//! for p in list_probes() {
//!     println!("{p}"); // "STLink V3 0483:374e:003A00…"
//! }
//! let mut config = ProbeConfig::new("nucleo-1", "firmware.elf");
//! config.selector = Some("0483:374e".parse()?);
//! config.serial_port = Some("/dev/ttyACM0".into());
//! // `progress` sees each flash phase's bytes (erase, program, verify): bars on a terminal,
//! // plain lines in CI logs.
//! let mut view = FlashProgressView::stderr("nucleo-1");
//! let board = ProbeTarget::open(config, &mut |p| view.update(p));
//! view.finish();
//! let mut board = board?;
//! board.load(&std::fs::read("blinky.cvbc")?)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Modules (one concept each)
//! - [`config`]: [`ProbeConfig`] and the per-operation [`Timeouts`].
//! - [`select`]: [`list_probes`], [`ProbeSelector`] (`VID:PID[:serial]`) and [`select()`].
//! - [`link`]: the backend boundary, [`DebugLink`], and its errors ([`LinkError`]: every one is
//!   an infrastructure failure and names the operation).
//! - [`timed`]: [`TimedLink`], a link on its own thread with a timeout per operation.
//! - [`probe_rs_link`]: [`ProbeRsLink`], the link on probe-rs.
//! - [`fake`]: [`fake::ScriptedLink`], a scripted simulated board for tests.
//! - [`image`]: the firmware ELF's flash segments and the flash-skip digest.
//! - [`progress`]: [`FlashProgressView`], flash progress bars (terminal) or lines (CI logs).
//! - [`serial`]: the USART1 transcript capture.
//! - [`target`]: [`ProbeTarget`], the `Target`.
//!
//! # Errors
//! Probe, attach, flash, serial and timeout failures are `TargetError::Board` (infrastructure)
//! with a message naming the operation (`probe flash programming timed out after 60s`);
//! a program the loader rejects is `TargetError::Image`; what the program did is in the
//! `RunReport`, never an error.

pub mod config;
pub mod fake;
pub mod image;
pub mod link;
pub mod probe_rs_link;
pub mod progress;
pub mod select;
pub mod serial;
pub mod target;
pub mod timed;

pub use config::{DEFAULT_CHIP, ProbeConfig, Timeouts};
pub use link::{DebugLink, FlashPhase, FlashProgress, FlashRegion, LinkError, Operation};
pub use probe_rs_link::ProbeRsLink;
pub use progress::FlashProgressView;
pub use select::{ProbeListing, ProbeSelector, SelectError, list_probes, select};
pub use target::{BACKEND, FlashOutcome, ProbeTarget, sync_flash};
pub use timed::TimedLink;
