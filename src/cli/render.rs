//! `cutover render`: write the generated tree.

use clap::Args;

use crate::check::references;
use crate::cli::check::check_staged;
use crate::cli::{load, Failure, Globals, Output, PlanArgs, EXIT_CHANGES, EXIT_OK};
use crate::render::render_one;
use crate::sync::{apply, compare, lock, strays};

/// Arguments of `render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    plans: PlanArgs,
    /// Print nothing on success.
    #[arg(short, long)]
    quiet: bool,
    /// Exit 1 when files were written or removed (for pre-commit hooks, as formatters do).
    #[arg(long)]
    exit_code: bool,
    /// Then check what the next commit holds (the git index; see `check --staged`): exit 1
    /// when the render changed files, or when the index does not hold what the plans
    /// produce (for the pre-commit hook).
    #[arg(long)]
    staged: bool,
}

/// Renders the plans and applies the difference to the disk.
pub(crate) fn run(args: &RenderArgs, g: &Globals, out: &Output) -> Result<i32, Failure> {
    let selection = load(&args.plans.plans, g, out)?;
    let strays = strays::find(&selection)?;
    let refs = references::of_selection(&selection.plans, &selection.surveys)?;
    for (root, b) in &refs {
        out.warning(&b.message(root));
    }
    let plans = selection.plans;
    let templates = g.templates()?;
    let _lock = lock::acquire(plans.iter().map(|p| p.root.as_path()))?;
    let stager = apply::Stager::new();
    let changes = compare::compare(
        &plans,
        &strays,
        &|p, m| render_one(p, m, &templates),
        compare::Keep::Stage(&stager),
    )?;
    stager.commit(&plans, &changes)?;
    let code = if (args.exit_code || args.staged) && !changes.is_empty() {
        EXIT_CHANGES
    } else {
        EXIT_OK
    };
    if !args.quiet {
        for ((p, migration), c) in &changes.counts {
            out.line(
                &format!(
                    "{migration}: {} written, {} unchanged, {} removed ({})",
                    c.written, c.unchanged, c.removed, plans[*p].file
                ),
                code,
            )?;
        }
    }
    if args.staged && code == EXIT_OK {
        return check_staged(&args.plans.plans, g, out);
    }
    if args.staged {
        out.line(
            "the generated files changed: stage them (git add) and commit again",
            code,
        )?;
    }
    Ok(code)
}
