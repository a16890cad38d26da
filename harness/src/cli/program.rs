//! `cockpit compile` and `cockpit disasm`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use cockpit_harness::program::{self, BuildError};
use cockpit_vm::Program;

use super::Outcome;

/// Compiles `source` to `output` (default: `source` with extension `.cvbc`). Diagnostics go to
/// stderr; a compile error is `Ok(false)`.
pub fn compile(source: &Path, output: Option<PathBuf>) -> Outcome {
    let compiled = match program::compile(source) {
        Ok(compiled) => compiled,
        Err(BuildError::Compile { diagnostics }) => {
            eprintln!("{diagnostics}");
            return Ok(false);
        }
        Err(e) => return Err(e.into()),
    };
    if !compiled.warnings.is_empty() {
        eprintln!("{}", compiled.warnings);
    }
    let image = compiled.image;
    let output = output.unwrap_or_else(|| source.with_extension("cvbc"));
    std::fs::write(&output, &image)
        .with_context(|| format!("cannot write {}", output.display()))?;
    eprintln!("wrote {} ({} bytes)", output.display(), image.len());
    Ok(true)
}

/// Prints the listing of `path` (an image, or a source compiled first) to stdout.
pub fn disasm(path: &Path) -> Outcome {
    let image = match program::build(path) {
        Ok(image) => image,
        Err(BuildError::Compile { diagnostics }) => {
            eprintln!("{diagnostics}");
            return Ok(false);
        }
        Err(e) => return Err(e.into()),
    };
    let parsed = Program::parse(&image.bytes)
        .map_err(|e| anyhow::anyhow!("invalid image {}: {e}", path.display()))?;
    let mut listing = String::new();
    cockpit_vm::disasm::write_listing(&parsed, &mut listing)?;
    print!("{listing}");
    Ok(true)
}
