//! `cutover check`: are the generated files what the plans produce?

use std::path::{Path, PathBuf};

use clap::Args;

use crate::check::references::{self, Broken};
use crate::cli::{
    count, load_any, no_plans, Failure, Globals, Loaded, Output, PlanArgs, EXIT_CHANGES, EXIT_OK,
};
use crate::error::Error;
use crate::git::Index;
use crate::git::Revision;
use crate::plan::discover::Survey;
use crate::plan::load::Selection;
use crate::plan::Plan;
use crate::plan::{discover, load};
use crate::render::render_one;
use crate::render::Templates;
use crate::staged::Staged;
use crate::sync::compare::{self, Changeset, Status};
use crate::sync::strays;

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    plans: PlanArgs,
    /// Check only the plans that changed since this git revision, and the plans whose
    /// generated files changed since it (for CI in large repositories).
    #[arg(long, value_name = "REV", conflicts_with = "staged")]
    changed_since: Option<String>,
    /// Check what the next commit holds (the git index: staged plans, templates, base
    /// files and generated files), not the work tree: untracked and unstaged files do
    /// not count. For pre-commit hooks.
    #[arg(long)]
    staged: bool,
}

/// Compares the plans' tree with the disk and lists every file out of date.
pub(crate) fn run(args: &CheckArgs, g: &Globals, out: &Output) -> Result<i32, Failure> {
    if args.staged {
        return check_staged(&args.plans.plans, g, out);
    }
    let mut selection = match load_any(&args.plans.plans, None, g, out)? {
        Loaded::Plans(selection) => selection,
        Loaded::None { root, survey } => return check_abandoned(&root, &survey, None, out),
    };
    if let Some(rev) = &args.changed_since {
        selection.plans = changed_plans(std::mem::take(&mut selection.plans), rev)?;
        if selection.plans.is_empty() {
            out.line(
                &format!("ok: no plan or generated file changed since {rev}"),
                EXIT_OK,
            )?;
            return Ok(EXIT_OK);
        }
    }
    let (plans, changes, refs) = compared(selection, &g.templates()?, compare::Keep::Paths)?;
    check_report(&plans_files(&plans, &changes), &changes, &refs, out)
}

/// Broken references into generated trees, each with the root its message is relative to.
type References = Vec<(PathBuf, Broken)>;

/// The selection's plans, compared with the files (`keep` says what of them is kept),
/// and the kustomization entries that point into their trees at paths they do not produce.
fn compared(
    selection: Selection,
    templates: &Templates,
    keep: compare::Keep<'_>,
) -> Result<(Vec<Plan>, Changeset, References), Failure> {
    let strays = strays::find(&selection)?;
    let refs = references::of_selection(&selection.plans, &selection.surveys)?;
    let plans = selection.plans;
    let changes = compare::compare(&plans, &strays, &|p, m| render_one(p, m, templates), keep)?;
    Ok((plans, changes, refs))
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
    // A plan deleted or moved since leaves its tree: only a check of every plan sees it.
    let plan_gone = changed
        .iter()
        .any(|p| crate::plan::discover::is_found_at(p) && !at.root.join(p).exists());
    if plan_gone {
        return Ok(plans);
    }
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

/// `check --staged`: the check of a copy of the git index, with a hint for each file
/// whose work tree copy is right but not staged.
pub(crate) fn check_staged(plans: &[PathBuf], g: &Globals, out: &Output) -> Result<i32, Failure> {
    let cwd = std::env::current_dir().map_err(|e| Error::Read {
        path: PathBuf::from("."),
        source: e,
    })?;
    let index = Index::open(&cwd)?;
    let changes = index.work_tree_changes()?;
    if let Some(code) = same_as_work_tree(&index, &changes, plans, g, out)? {
        return Ok(code);
    }
    // Added with intent to add (`git add -N`): in the index as an empty placeholder only.
    let intended: Vec<&str> = changes
        .iter()
        .filter(|(code, _)| code.as_bytes()[1] == b'A')
        .map(|(_, path)| path.as_str())
        .collect();
    let named: Vec<String> = plans
        .iter()
        .filter_map(|p| crate::repo::relative_from_cwd(&index.root, p))
        .collect();
    let staged = Staged::copy_index(index, g.loader(), g.templates.as_deref(), &named, &intended)?;
    let selection = match load_any(plans, Some(&staged), g, out)? {
        Loaded::Plans(selection) => selection,
        Loaded::None { root, survey } => {
            return check_abandoned(&root, &survey, Some(&staged), out)
        }
    };
    let templates = g.templates_in(Some(&staged))?;
    let compared = compared(selection, &templates, compare::Keep::Contents)?;
    report_staged(&place_of(&staged), &compared, out)
}

/// Reports a check of the next commit: the files out of date in the index, each said
/// to be right in the work tree but not staged where it is so, with the fix.
fn report_staged(
    place: &Place<'_>,
    (plans, changes, refs): &(Vec<Plan>, Changeset, References),
    out: &Output,
) -> Result<i32, Failure> {
    if changes.is_empty() && report_references(refs, out)? > 0 {
        return Ok(EXIT_CHANGES);
    }
    if changes.is_empty() {
        let files: usize = changes.counts.iter().map(|(_, c)| c.unchanged).sum();
        out.line(
            &format!(
                "ok: {} up to date in the git index (what will be committed)",
                count(files, "generated file")
            ),
            EXIT_OK,
        )?;
        return Ok(EXIT_OK);
    }
    let mut to_add = Vec::new();
    for c in &changes.changes {
        let work = place.unmap(&c.path);
        let on_disk = std::fs::read(&work).ok();
        let staged_only = match &c.new {
            Some(new) => on_disk.as_deref() == Some(new.as_bytes()),
            None => on_disk.is_none(),
        };
        let what = match c.status {
            Status::Added => "missing",
            Status::Modified => "stale",
            Status::Removed => "orphaned",
        };
        let why = if staged_only {
            let output = &plans[c.plan].output;
            to_add.push(if c.path.starts_with(output) {
                output
            } else {
                &c.path
            });
            match c.status {
                Status::Added => "the plan produces it; the work tree has it, but it is not staged",
                Status::Modified => "the work tree has it right, but the staged copy differs",
                Status::Removed => "deleted in the work tree, but the deletion is not staged",
            }
        } else {
            match c.status {
                Status::Added => "the plan produces it, but the git index does not hold it",
                Status::Modified => "the staged copy differs from what the plan produces",
                Status::Removed => c
                    .reason
                    .as_deref()
                    .unwrap_or("staged, but the plan no longer produces it"),
            }
        };
        out.line(&format!("{what}: {}: {why}", c.rel), EXIT_CHANGES)?;
    }
    let fix = if to_add.len() == changes.changes.len() {
        format!("to fix, run: git add -A -- {}", pathspecs(place, &to_add))
    } else {
        format!(
            "to fix, run: cutover render {}, then stage the generated files (git add)",
            plans_files(plans, changes).join(" ")
        )
    };
    out.line(
        &format!(
            "{} out of date in the git index (what will be committed); {fix}",
            count(changes.changes.len(), "file")
        ),
        EXIT_CHANGES,
    )?;
    report_references(refs, out)?;
    Ok(EXIT_CHANGES)
}

/// `check --staged` without a copy, when the work tree holds exactly what the index does
/// for every file cutover reads (no unstaged change or untracked file among them, no
/// base file changed, no ignored file in an output folder): the common case in a
/// pre-commit hook, which stashes unstaged changes. `None`: a copy is needed.
fn same_as_work_tree(
    index: &Index,
    changes: &[(String, String)],
    plans: &[PathBuf],
    g: &Globals,
    out: &Output,
) -> Result<Option<i32>, Failure> {
    if index.sparse || index.assumed {
        return Ok(None);
    }
    let changed: Vec<&str> = changes
        .iter()
        .filter(|(code, _)| code.as_bytes()[1] != b' ' || code == "??")
        .map(|(_, path)| path.as_str())
        .collect();
    let is_link = |p: &str| {
        index.symlinks.iter().any(|l| l == p)
            || index
                .root
                .join(p)
                .symlink_metadata()
                .is_ok_and(|m| m.is_symlink())
    };
    if changed.iter().any(|p| Staged::is_read(p) || is_link(p)) {
        return Ok(None);
    }
    // Ignored files are never committed: any that cutover might read (outside the folders
    // its search skips) rules the work tree out.
    let ignored = index.ignored()?;
    if ignored.iter().any(|p| {
        let folder = p.ends_with('/');
        discover::skipped_folder(&format!("{p}{}", if folder { "x" } else { "" })).is_none()
            && (folder || Staged::is_read(p))
    }) {
        return Ok(None);
    }
    // Read quietly: if a copy is needed after all, its load prints the warnings.
    let quiet = out.quiet();
    let Loaded::Plans(selection) = load_any(plans, None, g, &quiet)? else {
        return Ok(None);
    };
    // What the plans read by path, wherever it is: their output folders (a changed or
    // untracked file of any kind there may keep a folder alive), base files, templates.
    let mut read: Vec<PathBuf> = Vec::new();
    for p in &selection.plans {
        read.push(p.output.clone());
        read.extend(
            p.migrations
                .iter()
                .filter_map(|m| m.base.as_ref())
                .map(|b| p.root.join(b)),
        );
    }
    read.extend(
        g.templates
            .iter()
            .filter_map(|t| std::path::absolute(t).ok()),
    );
    let differs: Vec<&str> = changed
        .iter()
        .copied()
        .chain(ignored.iter().map(|i| i.trim_end_matches('/')))
        .collect();
    let overlaps = |a: &str, b: &str| {
        let within = |x: &str, dir: &str| {
            x == dir || x.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
        };
        within(a, b) || within(b, a)
    };
    let touched = read
        .iter()
        .filter_map(|path| crate::repo::relative(&index.root, path))
        .any(|rel| differs.iter().any(|d| rel == "." || overlaps(&rel, d)));
    if touched {
        return Ok(None);
    }
    for w in load::warnings(&selection.plans).chain(&selection.unreadable) {
        out.diagnostic(w);
    }
    let compared = compared(selection, &g.templates()?, compare::Keep::Contents)?;
    let place = Place {
        root: &index.root,
        work_tree: &index.root,
    };
    report_staged(&place, &compared, out).map(Some)
}

/// Where no plan is left under the current folder: the files generated from plan files
/// that no longer exist (reported as orphaned, exit 1), or nothing to check (an error,
/// except for `--staged`: a commit without plans or generated files is right).
fn check_abandoned(
    root: &Path,
    survey: &Survey,
    staged: Option<&Staged>,
    out: &Output,
) -> Result<i32, Failure> {
    let left = strays::abandoned(root, survey)?;
    if left.is_empty() {
        let at_root = std::env::current_dir()
            .and_then(|d| d.canonicalize())
            .is_ok_and(|d| staged.is_some_and(|s| d == s.work_tree()));
        return match staged {
            // Only the whole repository can be said to hold no plan.
            Some(_) if at_root => {
                out.line(
                    "ok: no plan files and no generated files in the git index (what will be committed)",
                    EXIT_OK,
                )?;
                Ok(EXIT_OK)
            }
            _ => Err(no_plans().into()),
        };
    }
    let mut unstaged = Vec::new();
    for (path, why) in &left {
        let rel = crate::repo::display_rel(root, path);
        let why = match staged {
            Some(s) if !s.unmap(path).exists() => {
                unstaged.push(path);
                "deleted in the work tree, but the deletion is not staged"
            }
            _ => why.as_str(),
        };
        out.line(&format!("orphaned: {rel}: {why}"), EXIT_CHANGES)?;
    }
    let fix = match staged {
        Some(s) if unstaged.len() == left.len() => {
            // Each file's migration folder, as `check --staged` names output folders.
            let folders: Vec<PathBuf> = unstaged
                .iter()
                .map(|p| {
                    crate::repo::relative(root, p)
                        .and_then(|rel| crate::layout::parse(&rel))
                        .map_or_else(|| (*p).clone(), |place| root.join(place.folder))
                })
                .collect();
            format!(
                "git add -A -- {}",
                pathspecs(&place_of(s), &folders.iter().collect::<Vec<_>>())
            )
        }
        _ => "cutover render".to_owned(),
    };
    out.line(
        &format!(
            "{} out of date; to fix, run: {fix}",
            count(left.len(), "file")
        ),
        EXIT_CHANGES,
    )?;
    Ok(EXIT_CHANGES)
}

/// `paths` (in the copy) as git pathspecs for the user's shell: relative to the
/// repository root (`:/path` when the current folder is another), quoted, each once.
fn pathspecs(place: &Place<'_>, paths: &[&PathBuf]) -> String {
    let at_root = std::env::current_dir()
        .and_then(|d| d.canonicalize())
        .is_ok_and(|d| d == place.work_tree);
    let mut specs: Vec<String> = paths
        .iter()
        .map(|p| {
            let rel = crate::repo::display_rel(place.root, p);
            let spec = if at_root { rel } else { format!(":/{rel}") };
            shlex::try_quote(&spec).map_or(spec.clone(), Into::into)
        })
        .collect();
    specs.sort();
    specs.dedup();
    specs.join(" ")
}

/// Where a check of the next commit reads: `root`, a copy of the index (or the work
/// tree itself, when it holds the same), and the work tree.
struct Place<'a> {
    /// The root of the files checked.
    root: &'a Path,
    /// The work tree root.
    work_tree: &'a Path,
}

/// Where a check of the copy `staged` reads.
fn place_of(staged: &Staged) -> Place<'_> {
    Place {
        root: staged.root(),
        work_tree: staged.work_tree(),
    }
}

impl Place<'_> {
    /// The work tree's path for `path` under `root`.
    fn unmap(&self, path: &Path) -> PathBuf {
        path.strip_prefix(self.root)
            .map_or_else(|_| path.to_path_buf(), |rel| self.work_tree.join(rel))
    }
}
/// The files of the plans that have changes, in plan order.
fn plans_files(plans: &[Plan], changes: &Changeset) -> Vec<String> {
    let stale: std::collections::BTreeSet<usize> = changes.changes.iter().map(|c| c.plan).collect();
    stale.into_iter().map(|p| plans[p].file.clone()).collect()
}

/// Prints each broken reference into a generated tree; how many there were.
pub(crate) fn report_references(
    refs: &[(PathBuf, Broken)],
    out: &Output,
) -> Result<usize, Failure> {
    for (root, b) in refs {
        out.line(&b.message(root), EXIT_CHANGES)?;
    }
    if !refs.is_empty() {
        out.line(
            &format!(
                "{} into generated trees {} at paths the plans do not produce; fix the kustomization files named",
                count(refs.len(), "reference"),
                if refs.len() == 1 { "points" } else { "point" }
            ),
            EXIT_CHANGES,
        )?;
    }
    Ok(refs.len())
}

fn check_report(
    stale_plans: &[String],
    changes: &Changeset,
    refs: &[(PathBuf, Broken)],
    out: &Output,
) -> Result<i32, Failure> {
    if changes.is_empty() && refs.is_empty() {
        let files: usize = changes.counts.iter().map(|(_, c)| c.unchanged).sum();
        out.line(
            &format!("ok: {} up to date", count(files, "generated file")),
            EXIT_OK,
        )?;
        return Ok(EXIT_OK);
    }
    if changes.is_empty() {
        report_references(refs, out)?;
        return Ok(EXIT_CHANGES);
    }
    for c in &changes.changes {
        let what = match c.status {
            Status::Added => "missing",
            Status::Modified => "stale",
            Status::Removed => "orphaned",
        };
        let why = match (c.status, &c.reason) {
            (Status::Removed, Some(reason)) => reason.as_str(),
            (Status::Added, _) => "the plan produces it, but it does not exist",
            (Status::Modified, _) => {
                "differs from what the plan produces (stale, or edited by hand)"
            }
            (Status::Removed, None) => "generated earlier, but the plan no longer produces it",
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
    report_references(refs, out)?;
    Ok(EXIT_CHANGES)
}
