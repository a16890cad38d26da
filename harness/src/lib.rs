//! Cockpit harness: runs test plans on boards and judges them on the Golden Triangle.
//!
//! Data flow: plan → target (board) → observations → verdict → store → report.
//!
//! * [`discover`]: finding plan files and loading them into [`discover::Job`]s.
//! * [`plan`]: test plan files (TOML) → validated [`plan::Plan`]s.
//! * [`program`]: corner 1, the plan's program → a loadable image.
//! * [`target`]: the board trait; [`sim`] is the simulated board, `emu` (feature `emu`) the
//!   emulated one, [`probe`] a real board through a debug probe. Shared by the boards that run
//!   the firmware: [`bank`] (direct program load), [`records`] (telemetry and VM snapshot),
//!   [`transcript`] (the guest's part of USART1), [`corereg`] (core registers by name).
//! * [`boards`]: the hardware map (`boards.toml`) of real boards; [`bench`]: picking a board
//!   by name (`sim`, `emu`, a map id), opening it, and a real board's lock.
//! * [`runner`]: runs plans on boards, in parallel, into [`result::TestResult`]s.
//! * [`checks`] and [`timing`]: judge a run's observations (corners 2 and 3, pin timing).
//! * [`compare`]: observations that differ between board kinds (`--board sim,emu`).
//! * [`rtt`]: the firmware's defmt log over RTT, read from target memory and decoded;
//!   [`stack_peak`]: the firmware's stack high-water mark (paint, run, scan); [`elf`]: its
//!   symbols.
//! * [`store`]: the SQLite result store; [`report`]: table, JSON and JUnit reports.
//! * [`demo`]: a synthetic result history (`cockpit demo-history`).

pub mod bank;
pub mod bench;
pub mod boards;
pub mod checks;
pub mod compare;
pub mod corereg;
pub mod demo;
pub mod discover;
pub mod elf;
#[cfg(feature = "emu")]
pub mod emu;
pub mod plan;
pub mod probe;
pub mod program;
pub mod pty;
pub mod records;
pub mod regmap;
pub mod report;
pub mod result;
pub mod rtt;
pub mod runner;
pub mod sim;
pub mod stack_peak;
pub mod store;
pub mod target;
pub mod timing;
pub mod transcript;
