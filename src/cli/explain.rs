//! `cutover explain`: each migration's rollout in plain words.

use crate::cli::{load, Failure, Globals, Output, PlanArgs, EXIT_OK};
use crate::review::explain;

/// Prints the rollout of every migration in words.
pub(crate) fn run(args: &PlanArgs, g: &Globals, out: &Output) -> Result<i32, Failure> {
    let plans = load(&args.plans, g, out)?.plans;
    out.raw(&explain::text(&plans), EXIT_OK)?;
    Ok(EXIT_OK)
}
