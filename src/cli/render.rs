//! `cutover render`: write the generated tree.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use clap::Args;

use crate::check::references;
use crate::cli::check::check_staged;
use crate::cli::{
    count, load_any, no_plans, Failure, Globals, Loaded, Output, PlanArgs, EXIT_CHANGES, EXIT_OK,
};
use crate::plan::discover::Survey;
use crate::plan::{Migration, Plan};
use crate::render::{render_one, GeneratedFile};
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
    let selection = match load_any(&args.plans.plans, None, g, out)? {
        Loaded::Plans(selection) => selection,
        Loaded::None { root, survey } => return render_abandoned(args, &root, &survey, g, out),
    };
    let refs = references::of_selection(&selection.plans, &selection.surveys)?;
    for (root, b) in &refs {
        out.warning(&b.message(root));
    }
    let templates = g.templates()?;
    let _lock = lock::acquire(selection.plans.iter().map(|p| p.root.as_path()))?;
    let strays = strays::find(&selection)?;
    let plans = selection.plans;
    let stager = apply::Stager::new();
    // Notes on stages written afresh, by (plan file, migration): a migration may be
    // rendered twice, and on worker threads.
    let afresh: Mutex<HashMap<(String, String), String>> = Mutex::default();
    let render = |p: &Plan, m: &Migration| {
        let files = render_one(p, m, &templates)?;
        if let Some(note) = afresh_note(m, &files) {
            let mut notes = afresh.lock().unwrap_or_else(PoisonError::into_inner);
            notes.insert((p.file.clone(), m.name.clone()), note);
        }
        Ok(files)
    };
    let changes = compare::compare(&plans, &strays, &render, compare::Keep::Stage(&stager))?;
    stager.commit(&plans, &changes)?;
    let mut afresh = afresh.into_inner().unwrap_or_else(PoisonError::into_inner);
    if !args.quiet {
        for p in &plans {
            for m in &p.migrations {
                if let Some(note) = afresh.remove(&(p.file.clone(), m.name.clone())) {
                    out.note(&note);
                }
            }
        }
    }
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
    finish(args, code, g, out)
}

/// The note on migration `m`'s stages written afresh rather than edited from its base's
/// text (`files`: its rendered files), with why; `None` when there are none.
fn afresh_note(m: &Migration, files: &[GeneratedFile]) -> Option<String> {
    let (mut stages, mut why): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    for f in files {
        if let (Some(stage), Some(reason)) = (f.stage_manifest(), f.afresh.as_deref()) {
            stages.push(stage);
            if !why.contains(&reason) {
                why.push(reason);
            }
        }
    }
    let base = m.base.as_deref()?;
    let (which, are) = match stages.len() {
        0 => return None,
        1 => ("stage", "is"),
        _ => ("stages", "are"),
    };
    Some(format!(
        "migration {}: {which} {} of base {base} {are} written afresh (the base's comments are not kept): {}",
        m.name,
        stages.join(", "),
        why.join("; ")
    ))
}

/// With `--staged`: the verdict on the git index when nothing changed, or a reminder to
/// stage what did.
fn finish(args: &RenderArgs, code: i32, g: &Globals, out: &Output) -> Result<i32, Failure> {
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

/// Where no plan is left under the current folder: removes the files generated from
/// plan files that no longer exist (and the folders that leaves empty).
fn render_abandoned(
    args: &RenderArgs,
    root: &Path,
    survey: &Survey,
    g: &Globals,
    out: &Output,
) -> Result<i32, Failure> {
    let _lock = lock::acquire([root])?;
    let left: Vec<PathBuf> = strays::abandoned(root, survey)?
        .into_iter()
        .map(|(path, _)| path)
        .collect();
    if left.is_empty() {
        return if args.staged {
            check_staged(&args.plans.plans, g, out)
        } else {
            Err(no_plans().into())
        };
    }
    apply::remove_abandoned(&left, root)?;
    let code = if args.exit_code || args.staged {
        EXIT_CHANGES
    } else {
        EXIT_OK
    };
    if !args.quiet {
        out.line(
            &format!(
                "{} removed: generated from plan files that no longer exist",
                count(left.len(), "file")
            ),
            code,
        )?;
    }
    finish(args, code, g, out)
}
