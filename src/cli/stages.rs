//! `cutover stages`: each migration's stages as a table.

use clap::Args;

use crate::cli::{load, Failure, Globals, Output, PlanArgs, EXIT_OK};
use crate::review::stages;

/// Arguments of `stages`.
#[derive(Debug, Args)]
pub struct StagesArgs {
    #[command(flatten)]
    plans: PlanArgs,
    /// Also show the VirtualService diff from each stage to the next.
    #[arg(long)]
    between: bool,
}

/// Prints the stage tables (and diffs between stages).
pub(crate) fn run(args: &StagesArgs, g: &Globals, out: &Output) -> Result<i32, Failure> {
    let plans = load(&args.plans.plans, g, out)?.plans;
    let templates = g.templates()?;
    out.diff(&stages::report(&plans, &templates, args.between)?, EXIT_OK)?;
    Ok(EXIT_OK)
}
