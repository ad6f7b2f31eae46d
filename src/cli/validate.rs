//! `cutover validate`: check the plans only.

use crate::cli::{count, load, plural, Failure, Globals, Output, PlanArgs, EXIT_OK};

/// Loads (and so validates) the plans and says how much they hold.
pub(crate) fn run(args: &PlanArgs, g: &Globals, out: &Output) -> Result<i32, Failure> {
    let plans = load(&args.plans, g, out)?;
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
