//! `cutover status`: where each environment is in its rollout.

use crate::cli::{load, Failure, Globals, Output, PlanArgs, EXIT_OK};
use crate::review::status;

/// Prints each environment's stage, weights and time there.
pub(crate) fn run(args: &PlanArgs, g: &Globals, out: &Output) -> Result<i32, Failure> {
    let plans = load(&args.plans, g, out)?.plans;
    out.raw(&status::report(&plans), EXIT_OK)?;
    Ok(EXIT_OK)
}
