//! Compiler diagnostics: positions, severities and plain-text rendering with a caret.

use std::fmt;

/// A byte range `start..end` in the source text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// How serious a diagnostic is. Any [`Severity::Error`] makes the compilation fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The program is accepted, but probably not what was meant.
    Warning,
    /// The program is rejected.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One message about a source position.
///
/// Renders (via `Display`) as `file:line:column: error: message`, followed by the source line
/// with a gutter and a caret (`^`, plus `~` over the rest of the offending token) under the column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file name given to [`crate::compile`].
    pub file: String,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in characters (a tab counts as one).
    pub column: u32,
    /// The message, without position or severity (e.g. `undefined variable 'x'`).
    pub message: String,
    /// Error or warning.
    pub severity: Severity,
    /// The text of the source line the diagnostic points into (without the line break).
    pub source_line: String,
    /// How many characters from `column` on the same line the caret underlines (at least 1).
    pub width: u32,
}

impl Diagnostic {
    /// True for [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.severity, self.message
        )?;
        let number = self.line.to_string();
        let pad = " ".repeat(number.len());
        writeln!(f, " {number} | {}", self.source_line)?;
        // Keep tabs so that the caret lines up under tab-indented code.
        let prefix: String = self
            .source_line
            .chars()
            .take(self.column.saturating_sub(1) as usize)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let tildes = "~".repeat(self.width.saturating_sub(1) as usize);
        write!(f, " {pad} | {prefix}^{tildes}")
    }
}

/// A list of diagnostics, in source order. Returned as the error of [`crate::compile`] (then it
/// contains at least one error, plus any warnings) and as [`crate::Compiled::warnings`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics {
    list: Vec<Diagnostic>,
}

impl Diagnostics {
    /// True if there are no diagnostics at all.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Number of diagnostics (errors and warnings).
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// The diagnostics in source order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.list.iter()
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.list.iter().filter(|d| d.is_error()).count()
    }

    /// True if any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.list.iter().any(Diagnostic::is_error)
    }

    pub(crate) fn from_vec(mut list: Vec<Diagnostic>) -> Self {
        list.sort_by_key(|d| (d.line, d.column));
        Diagnostics { list }
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.list.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "{d}")?;
        }
        let errors = self.error_count();
        let warnings = self.len() - errors;
        if errors > 0 {
            write!(f, "{errors} error{}", if errors == 1 { "" } else { "s" })?;
            if warnings > 0 {
                write!(
                    f,
                    ", {warnings} warning{}",
                    if warnings == 1 { "" } else { "s" }
                )?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// Collects diagnostics while compiling one source text.
pub(crate) struct Reporter<'s> {
    file: String,
    source: &'s str,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
    list: Vec<Diagnostic>,
    errors: usize,
}

/// After this many errors, further errors are dropped (one final note is added).
const MAX_ERRORS: usize = 50;

impl<'s> Reporter<'s> {
    pub fn new(file: &str, source: &'s str) -> Self {
        let mut line_starts = vec![0];
        for (i, b) in source.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i + 1);
            }
        }
        Reporter {
            file: file.to_string(),
            source,
            line_starts,
            list: Vec::new(),
            errors: 0,
        }
    }

    pub fn error(&mut self, span: Span, message: impl Into<String>) {
        if self.errors >= MAX_ERRORS {
            return;
        }
        self.errors += 1;
        if self.errors == MAX_ERRORS {
            let d = self.make(span, Severity::Error, "too many errors; stopping".into());
            self.list.push(d);
            return;
        }
        let d = self.make(span, Severity::Error, message.into());
        self.list.push(d);
    }

    pub fn warning(&mut self, span: Span, message: impl Into<String>) {
        let d = self.make(span, Severity::Warning, message.into());
        self.list.push(d);
    }

    pub fn has_errors(&self) -> bool {
        self.errors > 0
    }

    pub fn into_diagnostics(self) -> Diagnostics {
        Diagnostics::from_vec(self.list)
    }

    fn make(&self, span: Span, severity: Severity, message: String) -> Diagnostic {
        let bytes = self.source.as_bytes();
        let offset = span.start.min(bytes.len());
        let line_idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let line_start = self.line_starts[line_idx];
        let line_end = bytes[line_start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |p| line_start + p);
        let text = String::from_utf8_lossy(&bytes[line_start..line_end]);
        let text = text.strip_suffix('\r').unwrap_or(&text).to_string();
        let column = String::from_utf8_lossy(&bytes[line_start..offset])
            .chars()
            .count() as u32
            + 1;
        let end = span.end.clamp(offset, line_end);
        let width = String::from_utf8_lossy(&bytes[offset..end])
            .chars()
            .count()
            .max(1) as u32;
        Diagnostic {
            file: self.file.clone(),
            line: line_idx as u32 + 1,
            column,
            message,
            severity,
            source_line: text,
            width,
        }
    }
}
