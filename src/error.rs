//! Errors and diagnostics.
//!
//! [`Diagnostic`] is one located problem in a plan (file, field path, line and column,
//! with a source snippet); [`Error`] is every way a cutover run can fail.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::yaml::Span;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The plan cannot be used; nothing is written.
    Error,
    /// The plan is usable, but probably not what was meant.
    Warning,
}

/// The source line a diagnostic points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snippet {
    /// 1-based line number.
    pub line: usize,
    /// The line's text, without its line ending.
    pub text: String,
    /// 1-based column the marker starts at (in characters).
    pub col: usize,
    /// How many characters to underline (at least 1).
    pub width: usize,
}

/// One problem found in a plan file, with its location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The plan file, as the user named it.
    pub file: String,
    /// The field path, e.g. `migrations[0].stages[2].weight`; empty for the whole file.
    pub field: String,
    /// The source location, when the parser gives one.
    pub snippet: Option<Snippet>,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is something useful to say.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with no source location.
    pub fn new(severity: Severity, file: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            file: file.into(),
            field: String::new(),
            snippet: None,
            message: message.into(),
            help: None,
        }
    }

    /// Points the diagnostic at `span` of `source`.
    pub fn with_span(mut self, source: &str, span: Span) -> Self {
        self.snippet = snippet(source, span);
        self
    }

    /// Sets the field path.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }

    /// Adds a hint on how to fix the problem.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Whether this is an error (as opposed to a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic rustc-style, with ANSI colours when `color` is set.
    pub fn render(&self, color: bool) -> String {
        let (label, style) = match self.severity {
            Severity::Error => ("error", "\x1b[1;31m"),
            Severity::Warning => ("warning", "\x1b[1;33m"),
        };
        let paint = |s: &str, code: &str| {
            if color {
                format!("{code}{s}\x1b[0m")
            } else {
                s.to_owned()
            }
        };
        let mut out = String::new();
        out.push_str(&paint(label, style));
        out.push_str(": ");
        if !self.field.is_empty() {
            out.push_str(&self.field);
            out.push_str(": ");
        }
        out.push_str(&self.message);
        out.push('\n');
        match &self.snippet {
            Some(s) => {
                let gutter = s.line.to_string().len();
                let blue = "\x1b[1;34m";
                out.push_str(&format!(
                    "{}{} {}:{}:{}\n",
                    " ".repeat(gutter),
                    paint("-->", blue),
                    self.file,
                    s.line,
                    s.col
                ));
                out.push_str(&format!("{} {}\n", " ".repeat(gutter), paint("|", blue)));
                out.push_str(&format!(
                    "{} {} {}\n",
                    paint(&s.line.to_string(), blue),
                    paint("|", blue),
                    s.text
                ));
                // Tabs keep their width so the caret lines up under them.
                let pad: String = s
                    .text
                    .chars()
                    .take(s.col.saturating_sub(1))
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                out.push_str(&format!(
                    "{} {} {}{}\n",
                    " ".repeat(gutter),
                    paint("|", blue),
                    pad,
                    paint(&"^".repeat(s.width.max(1)), style)
                ));
                if let Some(help) = &self.help {
                    out.push_str(&format!("{} = help: {help}\n", " ".repeat(gutter)));
                }
            }
            None => {
                out.push_str(&format!("  --> {}\n", self.file));
                if let Some(help) = &self.help {
                    out.push_str(&format!("  = help: {help}\n"));
                }
            }
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

/// Builds the snippet for `span`: the start line, underlined to the span's end on that line.
pub fn snippet(source: &str, span: Span) -> Option<Snippet> {
    if span.start.line == 0 {
        return None;
    }
    snippet_of_line(source.lines().nth(span.start.line - 1).unwrap_or(""), span)
}

/// Where each line of a source starts, so that snippets for many spans (one per
/// migration of a large plan) cost a lookup each rather than a scan from the top.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes the lines of `source` (split as [`str::lines`] splits them).
    pub fn new(source: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            source
                .bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    /// The same as [`snippet`]`(source, span)`, where `self` indexes `source`.
    pub fn snippet(&self, source: &str, span: Span) -> Option<Snippet> {
        if span.start.line == 0 {
            return None;
        }
        let text = match self.starts.get(span.start.line - 1) {
            Some(&start) if start < source.len() => {
                let end = self
                    .starts
                    .get(span.start.line)
                    .map_or(source.len(), |next| next - 1);
                let line = source.get(start..end).unwrap_or("");
                line.strip_suffix('\r').unwrap_or(line)
            }
            _ => "",
        };
        snippet_of_line(text, span)
    }
}

fn snippet_of_line(text: &str, span: Span) -> Option<Snippet> {
    let text: String = text
        .chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect();
    let len = text.chars().count();
    let width = if span.end.line == span.start.line && span.end.col > span.start.col {
        span.end.col - span.start.col
    } else {
        len.saturating_sub(span.start.col - 1).max(1)
    };
    // Long lines are cut so a hostile plan cannot flood the terminal.
    const MAX: usize = 200;
    let (text, col, width) = if len > MAX {
        let start = span.start.col.saturating_sub(40).max(1);
        let cut: String = text.chars().skip(start - 1).take(MAX).collect();
        (cut, span.start.col - start + 1, width.min(MAX - 40))
    } else {
        (text, span.start.col, width)
    };
    Some(Snippet {
        line: span.start.line,
        text: text.trim_end_matches('\r').to_owned(),
        col,
        width: width.min(80),
    })
}

/// A set of diagnostics, at least one of them an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(&d.render(false))?;
        }
        Ok(())
    }
}

/// Every way a cutover run can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One or more plans are invalid; each diagnostic names the file and field.
    #[error("{0}")]
    Invalid(Diagnostics),

    /// No plan was named and none was found under the search folder.
    #[error("no plan files (`cutover.yaml` or `*.cutover.yaml`) found under {0}")]
    NoPlans(PathBuf),

    /// A file or folder could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// What was being read.
        path: PathBuf,
        /// Why it failed.
        source: io::Error,
    },

    /// A file or folder could not be written, renamed or removed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// What was being written.
        path: PathBuf,
        /// Why it failed.
        source: io::Error,
    },

    /// A template could not be loaded, compiled or rendered.
    #[error("template {template}: {message}")]
    Template {
        /// The template's name or file.
        template: String,
        /// The template engine's explanation, with line when known.
        message: String,
    },

    /// A base VirtualService cannot be migrated as the plan asks.
    #[error("base VirtualService {file}: {message}")]
    Base {
        /// The base file, relative to the repository root.
        file: String,
        /// What is wrong.
        message: String,
    },

    /// A rendered manifest did not parse back to what the plan asked for.
    #[error("rendered {path} (template {template}) failed the read-back check: {message}")]
    Readback {
        /// The file that would have been written, relative to the repository root.
        path: String,
        /// The template that produced it.
        template: String,
        /// What did not match.
        message: String,
    },

    /// `git` is missing, or a repository or revision could not be read (`--base`).
    #[error("{0}")]
    Git(String),

    /// A promotion or rollback that the rules refuse (skipping stages, a hold not yet
    /// elapsed, ...); the plan is left as it was.
    #[error("{0}")]
    Refused(String),

    /// Files cutover may not touch stand where the plans want to write.
    #[error("{}", .0.join("\n"))]
    Conflicts(Vec<String>),

    /// `cutover import` cannot run as asked.
    #[error("{0}")]
    Import(ImportError),

    /// A broken invariant: a bug in cutover, never the user's input.
    #[error("internal error: {0} (a bug in cutover; please report it)")]
    Internal(String),
}

/// Why `cutover import` cannot run as asked.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A path to read lies outside the repository the plan is for.
    #[error("{} is outside the repository {} that the plan is for; run cutover import inside it", .path.display(), .root.display())]
    Outside {
        /// The path as given.
        path: PathBuf,
        /// The repository root.
        root: PathBuf,
    },
    /// A path to read does not exist.
    #[error("{}: no such file or folder", .0.display())]
    Missing(PathBuf),
    /// `--to` is not a host name template.
    #[error("--to {0}")]
    To(String),
    /// A `--host-pattern` is not a glob.
    #[error("{0}")]
    HostPattern(String),
}

impl Error {
    /// The process exit code for this error (always 2: "error", as opposed to 1: "changes").
    pub fn exit_code(&self) -> i32 {
        2
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Pos, Span};

    #[test]
    fn renders_rustc_style_snippet() {
        let src = "version: 1\nmigrations:\n  - weight: 150\n";
        let span = Span {
            start: Pos {
                line: 3,
                col: 13,
                index: 0,
            },
            end: Pos {
                line: 3,
                col: 16,
                index: 0,
            },
        };
        let d = Diagnostic::new(
            Severity::Error,
            "plan.yaml",
            "weight must be between 0 and 100",
        )
        .with_field("migrations[0].weight")
        .with_span(src, span)
        .with_help("use a whole number from 0 to 100");
        assert_eq!(
            d.to_string(),
            "error: migrations[0].weight: weight must be between 0 and 100\n \
             --> plan.yaml:3:13\n  |\n3 |   - weight: 150\n  |             ^^^\n  = help: use a whole number from 0 to 100\n"
        );
    }

    #[test]
    fn line_index_gives_the_same_snippets() {
        let source = "a: 1\r\nbb: [x, y]\n\nlast: z";
        let index = LineIndex::new(source);
        for line in 0..7 {
            for col in 1..5 {
                let at = |col| Pos {
                    line,
                    col,
                    index: 0,
                };
                let span = Span {
                    start: at(col),
                    end: at(col + 2),
                };
                assert_eq!(
                    index.snippet(source, span),
                    snippet(source, span),
                    "{line}:{col}"
                );
            }
        }
    }

    #[test]
    fn snippet_handles_out_of_range_lines() {
        let span = Span {
            start: Pos {
                line: 9,
                col: 1,
                index: 0,
            },
            end: Pos {
                line: 9,
                col: 1,
                index: 0,
            },
        };
        let s = snippet("a\n", span).unwrap();
        assert_eq!(s.text, "");
    }
}
