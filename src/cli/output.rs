//! Where a command's output goes: stdout and stderr, coloured or not, and how errors
//! and diagnostics are printed.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use crate::cli::{count, ColorWhen, Failure};
use crate::error::{Diagnostic, Diagnostics, Error};

/// Where output goes, and whether it is coloured.
pub struct Output {
    color_out: bool,
    color_err: bool,
    /// Whether the command writes files (so errors can say that nothing was written).
    writes: bool,
    /// `-v`: print error details.
    pub(crate) verbose: bool,
    /// Warnings and diagnostics are not printed (a first, tentative pass).
    silent: bool,
}

impl Output {
    pub(crate) fn new(when: ColorWhen, writes: bool) -> Output {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let decide = |tty: bool| match when {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => tty && !no_color,
        };
        Output {
            color_out: decide(io::stdout().is_terminal()),
            color_err: decide(io::stderr().is_terminal()),
            writes,
            verbose: false,
            silent: false,
        }
    }

    /// The same output with warnings and diagnostics left out.
    pub(crate) fn quiet(&self) -> Output {
        Output {
            silent: true,
            ..*self
        }
    }

    /// Writes a line to stdout; a closed pipe ends the run quietly with `code`.
    pub(crate) fn line(&self, text: &str, code: i32) -> Result<(), Failure> {
        self.raw(&format!("{text}\n"), code)
    }

    pub(crate) fn raw(&self, text: &str, code: i32) -> Result<(), Failure> {
        self.bytes(text.as_bytes(), code)
    }

    pub(crate) fn bytes(&self, bytes: &[u8], code: i32) -> Result<(), Failure> {
        let mut stdout = io::stdout().lock();
        match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(Failure::BrokenPipe(code)),
            Err(e) => Err(Failure::Error(Error::Write {
                path: PathBuf::from("<stdout>"),
                source: e,
            })),
        }
    }

    pub(crate) fn diff(&self, bytes: &[u8], code: i32) -> Result<(), Failure> {
        if !self.color_out {
            return self.bytes(bytes, code);
        }
        let mut colored = Vec::with_capacity(bytes.len() + bytes.len() / 4);
        for line in bytes.split_inclusive(|b| *b == b'\n') {
            let style: &[u8] = if line.starts_with(b"diff --git")
                || line.starts_with(b"--- ")
                || line.starts_with(b"+++ ")
                || line.starts_with(b"new file mode")
                || line.starts_with(b"deleted file mode")
            {
                b"\x1b[1m"
            } else if line.starts_with(b"@@") {
                b"\x1b[36m"
            } else if line.starts_with(b"+") {
                b"\x1b[32m"
            } else if line.starts_with(b"-") {
                b"\x1b[31m"
            } else {
                b""
            };
            if style.is_empty() {
                colored.extend_from_slice(line);
            } else {
                let body = line.strip_suffix(b"\n").unwrap_or(line);
                colored.extend_from_slice(style);
                colored.extend_from_slice(body);
                colored.extend_from_slice(b"\x1b[0m");
                if line.ends_with(b"\n") {
                    colored.push(b'\n');
                }
            }
        }
        self.bytes(&colored, code)
    }

    pub(crate) fn warning(&self, text: &str) {
        if self.silent {
            return;
        }
        let label = if self.color_err {
            "\x1b[1;33mwarning\x1b[0m"
        } else {
            "warning"
        };
        let _ = writeln!(io::stderr(), "{label}: {text}");
    }

    /// Prints `note: TEXT` on stderr: something worth knowing that is not a problem.
    pub(crate) fn note(&self, text: &str) {
        if self.silent {
            return;
        }
        let label = if self.color_err {
            "\x1b[1;36mnote\x1b[0m"
        } else {
            "note"
        };
        let _ = writeln!(io::stderr(), "{label}: {text}");
    }

    pub(crate) fn diagnostic(&self, d: &Diagnostic) {
        if self.silent {
            return;
        }
        let _ = io::stderr().write_all(format!("{}\n", d.render(self.color_err)).as_bytes());
    }

    pub(crate) fn error(&self, e: &Error) {
        let label = if self.color_err {
            "\x1b[1;31merror\x1b[0m"
        } else {
            "error"
        };
        let mut err = io::stderr().lock();
        match e {
            Error::Invalid(Diagnostics(diags)) => {
                for d in diags {
                    let _ = err.write_all(d.render(self.color_err).as_bytes());
                    let _ = err.write_all(b"\n");
                }
                let n = diags.iter().filter(|d| d.is_error()).count();
                let _ = writeln!(
                    err,
                    "{label}: {} in plan files{}",
                    count(n, "error"),
                    if self.writes {
                        "; nothing was written"
                    } else {
                        ""
                    }
                );
            }
            Error::Conflicts(lines) => {
                for l in lines {
                    let _ = writeln!(err, "{label}: {l}");
                }
                if self.writes {
                    let _ = writeln!(err, "{label}: nothing was written");
                }
            }
            other => {
                let _ = writeln!(err, "{label}: {other}");
            }
        }
        if self.verbose {
            let _ = writeln!(err, "detail: {e:?}");
        }
    }
}
