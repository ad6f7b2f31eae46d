//! `cutover lint`: check VirtualServices in any files against Istio's schema and rules.

use std::path::PathBuf;

use clap::Args;

use crate::check::lint;
use crate::cli::{Failure, Output, EXIT_CHANGES, EXIT_OK};

/// Arguments of `lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Files holding VirtualServices (other documents in them are skipped).
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

/// Lists the violations in the files; exit 1 when there are any.
pub(crate) fn run(args: &LintArgs, out: &Output) -> Result<i32, Failure> {
    let (text, violations) = lint::report(&args.files)?;
    let code = if violations == 0 {
        EXIT_OK
    } else {
        EXIT_CHANGES
    };
    out.raw(&text, code)?;
    Ok(code)
}
