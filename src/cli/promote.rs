//! `cutover promote` and `cutover rollback`: move an environment to another stage by
//! editing its one line in the plan, then render.

use std::io;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::cli::{Failure, Globals, Output, EXIT_OK};
use crate::error::Error;
use crate::plan::edit::{self, Direction};
use crate::plan::load;
use crate::render::render_one;
use crate::review::diff;
use crate::sync::{apply, compare, lock};

/// The repository the plan file at `plan` lives in (its folder, resolved).
fn plan_repository(plan: &Path) -> Result<PathBuf, Error> {
    let read_error = |source: io::Error| Error::Read {
        path: plan.to_path_buf(),
        source,
    };
    let abs = std::path::absolute(plan).map_err(read_error)?;
    // Fails as reading the plan would: "No such file or directory", "Permission denied"...
    std::fs::metadata(&abs).map_err(read_error)?;
    let dir = abs.parent().unwrap_or(Path::new("/"));
    let dir = dir.canonicalize().map_err(read_error)?;
    Ok(crate::repo::find_root(&dir))
}

/// What `promote` and `rollback` move.
#[derive(Debug, Args)]
pub struct MoveArgs {
    /// The plan file to edit. Default: the one plan under the current folder that has
    /// the environment (and the migration, with --migration).
    #[arg(value_name = "PLAN")]
    pub plan: Option<PathBuf>,
    /// The environment to move.
    #[arg(long, value_name = "ENV")]
    pub env: String,
    /// The migration, when several have the environment.
    #[arg(long, value_name = "NAME")]
    pub migration: Option<String>,
    /// The stage to move to: a stage name, `first` or `last`.
    #[arg(long, value_name = "STAGE")]
    pub to: Option<String>,
    /// Move even if it skips stages, goes the other way, or a hold has not elapsed.
    #[arg(long)]
    pub force: bool,
}

/// `promote` / `rollback`: edit the plan, render, show the environment's change.
pub(crate) fn run(
    g: &Globals,
    args: &MoveArgs,
    direction: Direction,
    out: &Output,
) -> Result<i32, Failure> {
    let (plan, file) = match &args.plan {
        Some(plan) => load::named(std::slice::from_ref(plan))
            .pop()
            .unwrap_or_else(|| (plan.clone(), String::new())),
        None => find_plan(g, args, direction)?,
    };
    let req = edit::Request {
        env: &args.env,
        migration: args.migration.as_deref(),
        to: args.to.as_deref(),
        force: args.force,
        direction,
    };
    // The lock is the plan's repository's; the plan is edited as plan_move reads it.
    let _lock = lock::acquire([plan_repository(&plan)?.as_path()])?;
    // A move changes no output folder, so the plan on disk tells whether it writes into
    // another plan's folder: refused then, as render would.
    g.loader()
        .load_selection(&[(plan.clone(), file.clone())], Vec::new())?;
    let planned = edit::plan_move(g.loader(), &plan, &file, &req)?;
    let templates = g.templates()?;
    let plans = vec![planned.plan];
    let changes = compare::compare(
        &plans,
        &[],
        &|p, m| render_one(p, m, &templates),
        compare::Keep::Contents,
    )?;
    // Everything is checked; now the plan, then the tree.
    apply::replace_file(&plan, &planned.source)?;
    apply::apply(&plans, &changes)?;
    for w in &planned.warnings {
        out.warning(w);
    }
    let verb = match direction {
        Direction::Forward => "promoted",
        Direction::Back => "rolled back",
    };
    for mv in &planned.moves {
        out.line(
            &format!(
                "{}: {} {verb} from {} to {} ({} in {})",
                mv.migration, args.env, mv.from, mv.to, planned.field, file
            ),
            EXIT_OK,
        )?;
        let manifest = |stage: &str| {
            changes
                .rendered
                .iter()
                .find(|f| f.migration == mv.migration && f.stage_manifest() == Some(stage))
        };
        if let (Some(a), Some(b)) = (manifest(&mv.from), manifest(&mv.to)) {
            let mut text = format!(
                "--- {} {} (stage {})\n+++ {} {} (stage {})\n",
                mv.migration, args.env, mv.from, mv.migration, args.env, mv.to
            )
            .into_bytes();
            text.extend_from_slice(&diff::hunks(a.contents.as_bytes(), b.contents.as_bytes()));
            out.diff(&text, EXIT_OK)?;
        }
    }
    Ok(EXIT_OK)
}

/// The one plan found under the current folder (as `cli::plan_paths` finds plans) that
/// has environment `--env` in a migration (`--migration`, when given). None, or several:
/// refused, naming the plans searched or the candidates. Reads the plans only.
fn find_plan(
    g: &Globals,
    args: &MoveArgs,
    direction: Direction,
) -> Result<(PathBuf, String), Error> {
    let (paths, _) = super::plan_paths(&[], None)?;
    if paths.is_empty() {
        return Err(super::no_plans());
    }
    let plans = g.loader().load_all(&paths)?;
    let what = match &args.migration {
        Some(m) => format!("a migration `{m}` with an environment `{}`", args.env),
        None => format!("an environment `{}`", args.env),
    };
    let mut found: Vec<(&PathBuf, &str, Vec<&str>)> = Vec::new();
    for (path, file) in &paths {
        let Some(plan) = plans.iter().find(|p| &p.file == file) else {
            continue;
        };
        let migrations: Vec<&str> = plan
            .migrations
            .iter()
            .filter(|m| args.migration.as_ref().is_none_or(|n| &m.name == n))
            .filter(|m| m.environment(&args.env).is_some())
            .map(|m| m.name.as_str())
            .collect();
        if !migrations.is_empty() {
            found.push((path, file, migrations));
        }
    }
    match found.as_slice() {
        [(path, file, _)] => Ok(((*path).clone(), (*file).to_owned())),
        [] => {
            let searched: Vec<&str> = paths.iter().map(|(_, f)| f.as_str()).collect();
            Err(Error::Refused(format!(
                "no plan under the current folder has {what} (searched: {})",
                searched.join(", ")
            )))
        }
        several => {
            let listed: Vec<String> = several
                .iter()
                .map(|(_, file, ms)| {
                    let s = if ms.len() == 1 { "" } else { "s" };
                    format!("{file} (migration{s} {})", ms.join(", "))
                })
                .collect();
            let verb = match direction {
                Direction::Forward => "promote",
                Direction::Back => "rollback",
            };
            Err(Error::Refused(format!(
                "{} plans under the current folder have {what}: {}; name one, as in `cutover {verb} {} --env {}`",
                several.len(),
                listed.join(", "),
                several[0].1,
                args.env
            )))
        }
    }
}
