//! Helpers shared by the end-to-end tests of the `cockpit` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `rel` relative to the repository root.
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// Runs the `cockpit` binary with `args` and waits for it.
pub fn cockpit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .args(args)
        .output()
        .expect("cockpit binary runs")
}

/// Output bytes as text (lossy UTF-8).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
