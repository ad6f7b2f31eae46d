//! `cutover status`: where every migration's environments are, what is next for each,
//! and how far the fleet is.

use clap::{Args, ValueEnum};

use crate::cli::{load, Failure, Globals, Output, PlanArgs, EXIT_OK};
use crate::git::now;
use crate::review::status::{self, format};

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    plans: PlanArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatusFormat::Text)]
    format: StatusFormat,
}

/// Output formats of `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// Aligned columns, one table per plan, then the summary.
    Text,
    /// Tables for a pull-request comment or a wiki page.
    Markdown,
    /// One JSON document for scripts (schema in the README).
    Json,
}

/// Prints one row per migration and environment, and the summary.
pub(crate) fn run(args: &StatusArgs, g: &Globals, out: &Output) -> Result<i32, Failure> {
    let plans = load(&args.plans.plans, g, out)?.plans;
    let fleet = status::fleet(&plans, &mut status::git_history(), now());
    let text = match args.format {
        StatusFormat::Text => format::text(&fleet),
        StatusFormat::Markdown => format::markdown(&fleet),
        StatusFormat::Json => format::json(&fleet),
    };
    out.raw(&text, EXIT_OK)?;
    Ok(EXIT_OK)
}
