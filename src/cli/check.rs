//! `cutover check`: are the generated files what the plans produce?

use std::path::PathBuf;

use clap::Args;

use crate::cli::{count, load, Failure, Globals, Output, PlanArgs, EXIT_CHANGES, EXIT_OK};
use crate::error::Error;
use crate::git::Revision;
use crate::plan::Plan;
use crate::render::render_one;
use crate::sync::compare::{self, Changeset, Status};

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    plans: PlanArgs,
    /// Check only the plans that changed since this git revision, and the plans whose
    /// generated files changed since it (for CI in large repositories).
    #[arg(long, value_name = "REV")]
    changed_since: Option<String>,
}

/// Compares the plans' tree with the disk and lists every file out of date.
pub(crate) fn run(args: &CheckArgs, g: &Globals, out: &Output) -> Result<i32, Failure> {
    let mut plans = load(&args.plans.plans, g, out)?;
    if let Some(rev) = &args.changed_since {
        plans = changed_plans(plans, rev)?;
        if plans.is_empty() {
            out.line(
                &format!("ok: no plan or generated file changed since {rev}"),
                EXIT_OK,
            )?;
            return Ok(EXIT_OK);
        }
    }
    let templates = g.templates()?;
    let changes = compare::compare(
        &plans,
        &|p, m| render_one(p, m, &templates),
        compare::Keep::Paths,
    )?;
    check_report(&plans_files(&plans, &changes), &changes, out)
}

/// The plans whose file, base file or output folder holds a path changed since `rev`.
fn changed_plans(plans: Vec<Plan>, rev: &str) -> Result<Vec<Plan>, Failure> {
    let cwd = std::env::current_dir().map_err(|e| Error::Read {
        path: PathBuf::from("."),
        source: e,
    })?;
    let at = Revision::open(&cwd, rev)?;
    let changed = at.changed_paths()?;
    let touched = |prefix: &str| {
        if prefix == "." {
            return !changed.is_empty();
        }
        let dir = format!("{prefix}/");
        // `changed` is sorted: the first path at or after the prefix tells.
        let i = changed.partition_point(|p| p.as_str() < dir.as_str());
        changed.get(i).is_some_and(|p| p.starts_with(&dir))
    };
    let is_changed = |path: &str| changed.binary_search_by(|p| p.as_str().cmp(path)).is_ok();
    Ok(plans
        .into_iter()
        .filter(|p| {
            if p.root != at.root {
                return true;
            }
            let output = crate::repo::display_rel(&p.root, &p.output);
            is_changed(&p.id)
                || touched(&output)
                || p.migrations
                    .iter()
                    .any(|m| m.base.as_deref().is_some_and(is_changed))
        })
        .collect())
}

/// The files of the plans that have changes, in plan order.
fn plans_files(plans: &[Plan], changes: &Changeset) -> Vec<String> {
    let stale: std::collections::BTreeSet<usize> = changes.changes.iter().map(|c| c.plan).collect();
    stale.into_iter().map(|p| plans[p].file.clone()).collect()
}

fn check_report(stale_plans: &[String], changes: &Changeset, out: &Output) -> Result<i32, Failure> {
    if changes.is_empty() {
        let files: usize = changes.counts.iter().map(|(_, c)| c.unchanged).sum();
        out.line(
            &format!("ok: {} up to date", count(files, "generated file")),
            EXIT_OK,
        )?;
        return Ok(EXIT_OK);
    }
    for c in &changes.changes {
        let what = match c.status {
            Status::Added => "missing",
            Status::Modified => "stale",
            Status::Removed => "orphaned",
        };
        let why = match c.status {
            Status::Added => "the plan produces it, but it does not exist",
            Status::Modified => "differs from what the plan produces (stale, or edited by hand)",
            Status::Removed => "generated earlier, but the plan no longer produces it",
        };
        out.line(&format!("{what}: {}: {why}", c.rel), EXIT_CHANGES)?;
    }
    out.line(
        &format!(
            "{} out of date; to fix, run: cutover render {}",
            count(changes.changes.len(), "file"),
            stale_plans.join(" ")
        ),
        EXIT_CHANGES,
    )?;
    Ok(EXIT_CHANGES)
}
