//! `cutover diff`: what `render` would change, or what changed since a git revision.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::check::references;
use crate::cli::{load, Failure, Globals, Output, PlanArgs, EXIT_CHANGES, EXIT_OK};
use crate::error::{Error, Result};
use crate::git::Revision;
use crate::plan::{discover, Plan};
use crate::render::render_one;
use crate::render::{GeneratedFile, Templates};
use crate::review::diff::{self, Tree};
use crate::review::{report, traffic};
use crate::sync::{compare, strays};

/// Arguments of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    plans: PlanArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Unified)]
    pub(crate) format: Format,
    /// Compare the plans as they were at this git revision with the plans in the
    /// work tree, both rendered in memory (generated files need not be committed).
    #[arg(long = "base", value_name = "REV")]
    rev: Option<String>,
}

/// Output formats of `diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A git-style unified diff that `git apply` accepts.
    Unified,
    /// A pull-request comment: summary tables, then collapsed per-file diffs.
    Markdown,
    /// One JSON document for bots (schema in the README).
    Json,
    /// One line per file with +/- counts, and a total.
    Stat,
    /// GitHub Actions workflow commands (annotations).
    Github,
}

/// Prints the difference between the disk (or the plans at `--base`) and the plans.
pub(crate) fn run(args: &DiffArgs, g: &Globals, out: &Output) -> Result<i32, Failure> {
    if let Some(rev) = &args.rev {
        return diff_rev(g, &args.plans.plans, rev, args.format, out);
    }
    let selection = load(&args.plans.plans, g, out)?;
    let strays = strays::find(&selection)?;
    let refs = references::of_selection(&selection.plans, &selection.surveys)?;
    for (root, b) in &refs {
        out.warning(&b.message(root));
    }
    let plans = selection.plans;
    let templates = g.templates()?;
    let mut changes = compare::compare(
        &plans,
        &strays,
        &|p, m| render_one(p, m, &templates),
        compare::Keep::Contents,
    )?;
    let wanted = tree_of(&std::mem::take(&mut changes.rendered));
    let (old, new) = diff::trees_of(&changes, wanted)?;
    print_diff(&old, &new, None, (&plans, &plans), args.format, out)
}

/// Every file the plans produce, path relative to its repository root -> contents.
fn tree_of(files: &[GeneratedFile]) -> Tree {
    files
        .iter()
        .map(|f| (f.rel.clone(), f.contents.clone().into_bytes()))
        .collect()
}

/// Renders every plan in memory, for comparing two sets of plans without the disk.
fn render_all(plans: &[Plan], templates: &Templates) -> Result<Tree> {
    let mut tree = Tree::new();
    for plan in plans {
        let files = crate::render::render_plan(plan, templates)?;
        tree.extend(tree_of(&files));
    }
    Ok(tree)
}

/// `diff --base REV`: the plans at REV against the plans in the work tree.
fn diff_rev(
    g: &Globals,
    args: &[PathBuf],
    rev: &str,
    format: Format,
    out: &Output,
) -> Result<i32, Failure> {
    let cwd = std::env::current_dir().map_err(|e| Error::Read {
        path: PathBuf::from("."),
        source: e,
    })?;
    let at = Revision::open(&cwd, rev)?;
    // Plan paths relative to the root, at REV (`rels`) and in the work tree (`now`).
    let mut rels: Vec<String> = Vec::new();
    let mut now: Vec<PathBuf> = Vec::new();
    let scopes: Vec<PathBuf> = if args.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.to_vec()
    };
    for a in &scopes {
        let rel = at.relative(a).ok_or_else(|| {
            Error::Git(format!(
                "{} is outside the repository {}",
                a.display(),
                at.root.display()
            ))
        })?;
        if a.is_dir() {
            rels.extend(discover::at_revision(&at, &rel)?);
            match discover::find_plans(a) {
                Ok(found) => now.extend(found),
                Err(Error::NoPlans(_)) => {}
                Err(e) => return Err(e.into()),
            }
        } else if a.exists() {
            rels.push(rel);
            now.push(a.clone());
        } else if at.read(&rel)?.is_some() {
            // A plan deleted since REV: everything it generated goes.
            rels.push(rel);
        } else {
            let then = discover::at_revision(&at, &rel)?;
            if then.is_empty() {
                return Err(Error::Git(format!(
                    "{} exists neither in the work tree nor at {rev}",
                    a.display()
                ))
                .into());
            }
            rels.extend(then);
        }
    }
    rels.sort();
    rels.dedup();
    let old_plans = g.loader().load_at_revision(&at, &rels)?;
    let new_plans = g.loader().load_all(&crate::plan::load::named(&now))?;
    for w in crate::plan::load::warnings(&new_plans) {
        out.diagnostic(w);
    }
    let templates = g.templates()?;
    let old = render_all(&old_plans, &templates)?;
    let new = render_all(&new_plans, &templates)?;
    print_diff(&old, &new, Some(rev), (&old_plans, &new_plans), format, out)
}

/// Prints the change from `old` to `new` in `format`; `plans` are the plans each side was
/// rendered from (old, new).
fn print_diff(
    old: &Tree,
    new: &Tree,
    rev: Option<&str>,
    plans: (&[Plan], &[Plan]),
    format: Format,
    out: &Output,
) -> Result<i32, Failure> {
    let files = diff::between(old, new);
    let code = if files.is_empty() {
        EXIT_OK
    } else {
        EXIT_CHANGES
    };
    let moves = (traffic::Moves::of(plans.0), traffic::Moves::of(plans.1));
    let mut migrations = traffic::review(old, new, &files, (&moves.0, &moves.1));
    traffic::attach_notes(&mut migrations, plans.1);
    let r = report::Report {
        files: &files,
        migrations: &migrations,
        rev,
    };
    match format {
        Format::Unified => {
            for f in &files {
                out.diff(&diff::file_diff(f), code)?;
            }
        }
        Format::Markdown => out.raw(&report::markdown(&r, report::GITHUB_COMMENT_LIMIT), code)?,
        Format::Json => out.raw(&report::json(&r), code)?,
        Format::Stat => {
            if !files.is_empty() {
                out.raw(&report::stat(&r), code)?;
            }
        }
        Format::Github => out.raw(&report::github(&r), code)?,
    }
    Ok(code)
}
