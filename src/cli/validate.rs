//! `cutover validate`: check the plans, without the generated tree.

use crate::cli::{count, load, plural, Failure, Globals, Output, PlanArgs, EXIT_OK};
use crate::render::render_plan;

/// Loads (and so validates) the plans, renders them in memory (so a base VirtualService
/// or a template override that `render` would refuse is refused here too), and says how
/// much they hold. No generated file is read or written.
pub(crate) fn run(args: &PlanArgs, g: &Globals, out: &Output) -> Result<i32, Failure> {
    let plans = load(&args.plans, g, out)?.plans;
    let templates = g.templates()?;
    for plan in &plans {
        render_plan(plan, &templates)?;
    }
    // Said by `validate` only: other commands would repeat it on every run.
    for w in plans.iter().flat_map(crate::review::explain::warnings) {
        out.diagnostic(&w);
    }
    let migrations: usize = plans.iter().map(|p| p.migrations.len()).sum();
    let stages: usize = plans
        .iter()
        .flat_map(|p| &p.migrations)
        .map(|m| m.stages.len())
        .sum();
    out.line(
        &format!(
            "ok: {} valid ({migrations} migration{}, {stages} stage{})",
            count(plans.len(), "plan"),
            plural(migrations),
            plural(stages)
        ),
        EXIT_OK,
    )?;
    Ok(EXIT_OK)
}
