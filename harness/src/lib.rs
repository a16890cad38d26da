//! Cockpit harness: runs test plans on boards and judges them on the Golden Triangle.
//!
//! Data flow: plan → target (board) → observations → verdict → store → report.

pub mod regmap;
pub mod result;
pub mod sim;
pub mod target;
