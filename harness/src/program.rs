//! Corner 1: turns a plan's program file into a loadable image.
//!
//! `.c` and `.ino` sources are compiled with `cockpit-cc`; anything else (`.cvbc`, original CONC
//! images) is read as an image. Either way the image is parsed once with the VM's container
//! reader, which rejects corrupt images before they reach a board and yields the facts the
//! checks need ([`ImageInfo`]).

use std::path::{Path, PathBuf};

use cockpit_cc::Compiled;
use cockpit_vm::{FLAG_ARDUINO_LOOP, Program};

/// A program ready to load on a board.
#[derive(Clone, Debug)]
pub struct Image {
    /// Image bytes (CVBC, or an original CONC image).
    pub bytes: Vec<u8>,
    /// Facts read from the image.
    pub info: ImageInfo,
}

/// What the checks need to know about an image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageInfo {
    /// A setup/loop program: the budget ending it is its normal end.
    pub arduino_loop: bool,
    /// Global symbols `(slot index, name)` from the image's symbol table (empty for CONC).
    pub globals: Vec<(usize, String)>,
}

impl ImageInfo {
    /// Facts of a parsed program.
    pub fn of(program: &Program<'_>) -> ImageInfo {
        ImageInfo {
            arduino_loop: program.flags() & FLAG_ARDUINO_LOOP != 0,
            globals: program
                .globals()
                .map(|(i, name)| (usize::from(i), name.to_string()))
                .collect(),
        }
    }
}

/// Why a program could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The program file could not be read (the test cannot be judged).
    #[error("cannot read program {}: {source}", path.display())]
    Read {
        /// Program file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The source did not compile; `diagnostics` is the rendered `file:line:col` + caret text.
    #[error("{diagnostics}")]
    Compile {
        /// Rendered compiler diagnostics.
        diagnostics: String,
    },
    /// The image (given or compiled) is not a valid CVBC/CONC image.
    #[error("invalid image {}: {message}", path.display())]
    Image {
        /// Program file.
        path: PathBuf,
        /// The container reader's message.
        message: String,
    },
}

/// Whether `path` names a source file that must be compiled (`.c`, `.ino`).
pub fn is_source(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("c") || e.eq_ignore_ascii_case("ino"))
}

/// Compiles the source at `path` (image, instruction count, warnings). Errors: `Read`,
/// `Compile`.
pub fn compile(path: &Path) -> Result<Compiled, BuildError> {
    let source = std::fs::read_to_string(path).map_err(|source| BuildError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file_name = path.display().to_string();
    cockpit_cc::compile(&source, &file_name).map_err(|d| BuildError::Compile {
        diagnostics: d.to_string().trim_end().to_string(),
    })
}

/// Builds the program at `path`: compiles sources, reads images, and validates the result.
/// Errors: `Read` (unreadable file), `Compile`, `Image` (corrupt or unsupported image).
pub fn build(path: &Path) -> Result<Image, BuildError> {
    let bytes = if is_source(path) {
        compile(path)?.image
    } else {
        std::fs::read(path).map_err(|source| BuildError::Read {
            path: path.to_path_buf(),
            source,
        })?
    };
    let info = Program::parse(&bytes)
        .map(|p| ImageInfo::of(&p))
        .map_err(|e| BuildError::Image {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    Ok(Image { bytes, info })
}
