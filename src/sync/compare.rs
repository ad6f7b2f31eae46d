//! Comparing the tree the plans want with the files on disk.
//!
//! Each plan's output folder is walked once; files the plans want are read only where
//! they already exist. The result is the list of files to add, modify and remove, plus
//! every reason the change may not be made (a file cutover did not generate in the way,
//! a symlink, two plans claiming one path). Nothing here writes: `render` hands a
//! [`Sink`] (the apply step's stager) that receives new contents as they are
//! found, so the tree's contents are never all held in memory.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

use walkdir::WalkDir;

use crate::error::{Error, Result};
use crate::layout;
use crate::plan::{Migration, Plan};
use crate::render::header::{self, Owner};
use crate::render::{GeneratedFile, PARALLEL_FROM};
use crate::repo;
use crate::sync::strays::{PlanFiles, Stray};

/// What happens to one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// The plan wants a file that does not exist.
    Added,
    /// The file exists with other contents (stale, or edited by hand).
    Modified,
    /// cutover generated the file earlier; the plan no longer produces it.
    Removed,
}

/// One file that differs from what the plans want.
#[derive(Clone, Debug)]
pub struct Change {
    /// Absolute path.
    pub path: PathBuf,
    /// Path relative to the repository root, `/`-separated.
    pub rel: String,
    /// Added, modified or removed.
    pub status: Status,
    /// Current contents (`None` when added).
    pub old: Option<Vec<u8>>,
    /// Wanted contents (`None` when removed).
    pub new: Option<String>,
    /// Index of the plan the file belongs to.
    pub plan: usize,
    /// For a file removed from outside the plan's output folder (a [`Stray`]): why.
    pub reason: Option<String>,
}

/// Per-migration counts, for the one-line summaries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Files to write (added or modified).
    pub written: usize,
    /// Files already as wanted.
    pub unchanged: usize,
    /// Files to remove.
    pub removed: usize,
}

/// The difference between the plans and the disk.
#[derive(Debug, Default)]
pub struct Changeset {
    /// Files to change, sorted by plan, then path.
    pub changes: Vec<Change>,
    /// Counts per (plan index, migration), in plan order.
    pub counts: Vec<((usize, String), Counts)>,
    /// Temporary files an interrupted earlier run left in the output folders; `render`
    /// (which holds the repository's lock) deletes them.
    pub leftovers: Vec<PathBuf>,
    /// With [`Keep::Contents`]: every rendered file, by plan, then path.
    pub rendered: Vec<GeneratedFile>,
}

impl Changeset {
    /// Whether the disk already matches the plans.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.counts.iter().all(|(_, c)| c.written == 0)
    }
}

/// What is on disk under one output folder. Paths are relative to the output folder
/// (the folder itself is the empty path) and stored at their exact size: at monorepo
/// scale this is most of what `check` keeps in memory.
#[derive(Default)]
struct Existing {
    /// The output folder.
    root: PathBuf,
    /// Regular files, each marked once a plan wants it.
    files: HashMap<Box<Path>, AtomicBool>,
    /// Folders (the output folder itself included when it exists).
    dirs: HashSet<Box<Path>>,
    /// Temporary files and folders of an interrupted earlier run (`.cutover-*.tmp`),
    /// absolute.
    leftovers: Vec<PathBuf>,
    /// Paths that are not regular files or folders (symlinks, sockets...), which cutover
    /// never writes through.
    special: HashMap<Box<Path>, &'static str>,
}

impl Existing {
    fn rel<'p>(&self, path: &'p Path) -> Option<&'p Path> {
        path.strip_prefix(&self.root).ok()
    }

    fn is_file(&self, path: &Path) -> bool {
        self.rel(path).is_some_and(|r| self.files.contains_key(r))
    }

    /// Marks the file at `path` as wanted; whether it exists.
    fn want(&self, path: &Path) -> bool {
        match self.rel(path).and_then(|r| self.files.get(r)) {
            Some(mark) => {
                mark.store(true, AtomicOrdering::Relaxed);
                true
            }
            None => false,
        }
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.rel(path).is_some_and(|r| self.dirs.contains(r))
    }

    fn special(&self, path: &Path) -> Option<&'static str> {
        self.rel(path).and_then(|r| self.special.get(r).copied())
    }

    /// Every regular file no plan wanted, absolute.
    fn unwanted(&self) -> impl Iterator<Item = PathBuf> + '_ {
        self.files
            .iter()
            .filter(|(_, mark)| !mark.load(AtomicOrdering::Relaxed))
            .map(|(r, _)| self.root.join(r))
    }
}

fn scan(dir: &Path, repo_root: &Path) -> Result<Existing> {
    let mut out = Existing {
        root: dir.to_path_buf(),
        ..Existing::default()
    };
    // A killed first render leaves its temporary copy of the output folder beside it.
    // Looked for only where cutover may write: inside the repository, or beside an output
    // folder that `--allow-outside-repo` let out of it (never above the repository root).
    let parent = dir
        .parent()
        .filter(|p| p.starts_with(repo_root) || !dir.starts_with(repo_root));
    if let Some(Ok(entries)) = parent.map(fs::read_dir) {
        for entry in entries.flatten() {
            let plain = entry
                .file_type()
                .is_ok_and(|ft| ft.is_file() || ft.is_dir());
            if plain && is_leftover(&entry.file_name().to_string_lossy()) {
                out.leftovers.push(entry.path());
            }
        }
    }
    let mut walker = WalkDir::new(dir).follow_links(false).into_iter();
    while let Some(entry) = walker.next() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                if e.io_error().map(|io| io.kind()) == Some(std::io::ErrorKind::NotFound)
                    && e.depth() == 0
                {
                    return Ok(out);
                }
                let path = e.path().unwrap_or(dir).to_path_buf();
                return Err(Error::Read {
                    path,
                    source: e
                        .into_io_error()
                        .unwrap_or_else(|| std::io::Error::other("walk failed")),
                });
            }
        };
        let ft = entry.file_type();
        let name = entry.file_name().to_string_lossy();
        if entry.depth() > 0 && name.starts_with('.') {
            if is_leftover(&name) && (ft.is_file() || ft.is_dir()) {
                if ft.is_dir() {
                    walker.skip_current_dir();
                }
                out.leftovers.push(entry.into_path());
            } else if ft.is_dir() {
                // Hidden folders are never cutover's.
                walker.skip_current_dir();
            }
            continue;
        }
        let rel: Box<Path> = entry
            .path()
            .strip_prefix(dir)
            .unwrap_or(entry.path())
            .into();
        if ft.is_file() {
            out.files.insert(rel, AtomicBool::new(false));
        } else if ft.is_dir() {
            out.dirs.insert(rel);
        } else if ft.is_symlink() {
            out.special.insert(rel, "a symlink");
        } else {
            out.special.insert(rel, "not a regular file");
        }
    }
    Ok(out)
}

/// What [`compare`] keeps of the files that differ from the disk.
pub enum Keep<'a> {
    /// Paths and statuses only (`check`).
    Paths,
    /// Old and new contents of each change, and every rendered file in
    /// [`Changeset::rendered`] (`diff`, `promote`).
    Contents,
    /// New contents are handed to the sink as they are found (`render`); only removed
    /// files are listed in the changes, the counts say how many files were staged.
    Stage(&'a dyn Sink),
}

/// Where [`compare`] gets each migration's rendered files (`render::render_one` with the
/// run's templates): called once per migration, on worker threads when there are enough.
pub type Render<'a> = dyn Fn(&Plan, &Migration) -> Result<Vec<GeneratedFile>> + Sync + 'a;

/// Compares each migration's files with the disk as soon as `render` gives them, so that
/// memory holds the paths of the tree, never its contents (unless [`Keep::Contents`] asks
/// for them). Migrations are rendered on worker threads when there are enough of them.
///
/// Fails, naming every offending path, when a change would overwrite a file cutover did
/// not generate for that plan, write through a symlink, or when two plans claim the same
/// path. With [`Keep::Stage`], what was staged is deleted when the stager is dropped.
///
/// `strays` (see [`crate::sync::strays::find`]) are files generated earlier outside the
/// plans' output folders: they are listed as removals.
pub fn compare(
    plans: &[Plan],
    strays: &[Stray],
    render: &Render<'_>,
    keep: Keep<'_>,
) -> Result<Changeset> {
    use rayon::prelude::*;
    let scanned = scan_outputs(plans)?;
    let nested = outputs_nest(plans);
    let known = known(plans);
    let jobs: Vec<(usize, &Migration)> = plans
        .iter()
        .enumerate()
        .flat_map(|(p, plan)| plan.migrations.iter().map(move |m| (p, m)))
        .collect();
    let run = |&(p, m): &(usize, &Migration), keep: &Keep<'_>| -> Result<Outcome> {
        let plan = &plans[p];
        let files = render(plan, m)?;
        let existing = &scanned[&plan.output];
        let mut out = Outcome::new(p);
        out.keep_contents = matches!(keep, Keep::Contents);
        for f in &files {
            if let Err(e) = out.compare_file(plan, f, existing, keep, &known) {
                // Reported after render errors and conflicts, as if compared later.
                out.error = Some(e);
                break;
            }
        }
        out.want(files.iter().map(|f| f.path.clone()), nested);
        if out.keep_contents {
            out.rendered = files;
        }
        Ok(out)
    };
    // Outcomes in job order.
    let run_all = |indices: &[usize], keep: &Keep<'_>| -> Vec<(usize, Result<Outcome>)> {
        let one = |&i: &usize| (i, run(&jobs[i], keep));
        if indices.len() < PARALLEL_FROM {
            indices.iter().map(one).collect()
        } else {
            indices.par_iter().map(one).collect()
        }
    };
    let all: Vec<usize> = (0..jobs.len()).collect();
    let Keep::Stage(_) = keep else {
        let outcomes = run_all(&all, &keep);
        return finish(plans, strays, &known, scanned, ordered(outcomes)?);
    };

    // Writing. A render refused because of what is on disk must leave the disk untouched
    // (not even a temporary file made and deleted again), and only migrations with
    // something on disk can be refused that way: those are compared first without writing.
    // Migrations without a folder yet are rendered and staged in one go (a render error
    // there deletes what was staged; see the README's "All or nothing").
    let on_disk = |&(p, m): &(usize, &Migration)| {
        let plan = &plans[p];
        let existing = &scanned[&plan.output];
        nested || existing.is_file(&plan.output) || existing.special(&plan.output).is_some() || {
            let dir = plan.migration_dir(m);
            existing.is_dir(&dir) || existing.is_file(&dir) || existing.special(&dir).is_some()
        }
    };
    let (present, absent): (Vec<usize>, Vec<usize>) = all.iter().partition(|&&i| on_disk(&jobs[i]));
    if nested {
        // Stand-in folders could end up inside one another; write file by file.
        if let Keep::Stage(stager) = &keep {
            stager.file_by_file();
        }
    }
    let first = run_all(&present, &Keep::Paths);
    if refused(plans, &first) {
        let mut outcomes = first;
        outcomes.extend(run_all(&absent, &Keep::Paths));
        outcomes.sort_by_key(|(i, _)| *i);
        return finish(plans, strays, &known, scanned, ordered(outcomes)?);
    }
    // Nothing stands in the way: stage what changed (rendered again), and the rest.
    let mut outcomes = Vec::new();
    let mut to_stage = absent;
    for (i, r) in first {
        let o = r?;
        if o.counts.values().any(|c| c.written > 0) {
            to_stage.push(i);
        } else {
            outcomes.push((i, Ok(o)));
        }
    }
    to_stage.sort_unstable();
    outcomes.extend(run_all(&to_stage, &keep));
    outcomes.sort_by_key(|(i, _)| *i);
    finish(plans, strays, &known, scanned, ordered(outcomes)?)
}

/// Whether a first comparison (without writing) found a reason to refuse the change.
fn refused(plans: &[Plan], first: &[(usize, Result<Outcome>)]) -> bool {
    first.iter().any(|(_, r)| {
        r.as_ref().map_or(true, |o| {
            !o.problems.is_empty() || !o.conflicts.is_empty() || o.error.is_some()
        })
    }) || {
        let outcomes: Vec<&Outcome> = first.iter().filter_map(|(_, r)| r.as_ref().ok()).collect();
        !conflicts(plans, &outcomes).is_empty()
    }
}

/// Whether the plan files headers name exist, for each repository of `plans`.
fn known(plans: &[Plan]) -> Known<'_> {
    plans
        .iter()
        .map(|p| (p.root.as_path(), PlanFiles::new(&p.root)))
        .collect()
}

/// The outcomes in job order, or the first job's error.
fn ordered(outcomes: Vec<(usize, Result<Outcome>)>) -> Result<Vec<Outcome>> {
    outcomes.into_iter().map(|(_, r)| r).collect()
}

/// Whether one plan's output folder lies inside another's: only then can two plans
/// want one path, or one want a file where another wants a folder (plans that share an
/// output folder write disjoint migration folders, checked when they are loaded).
fn outputs_nest(plans: &[Plan]) -> bool {
    let mut outputs: Vec<&Path> = plans.iter().map(|p| p.output.as_path()).collect();
    outputs.sort();
    outputs.dedup();
    // Sorted, a folder comes right before the first folder inside it.
    outputs.windows(2).any(|w| w[1].starts_with(w[0]))
}

/// Each distinct output folder, scanned once.
fn scan_outputs(plans: &[Plan]) -> Result<HashMap<PathBuf, Existing>> {
    let mut scanned = HashMap::new();
    for plan in plans {
        if !scanned.contains_key(&plan.output) {
            scanned.insert(plan.output.clone(), scan(&plan.output, &plan.root)?);
        }
    }
    Ok(scanned)
}

/// What comparing some of a plan's files found.
struct Outcome {
    plan: usize,
    /// Whether changes keep old and new contents.
    keep_contents: bool,
    /// Every path compared, when plans' output folders nest (see [`outputs_nest`]).
    wanted: Vec<PathBuf>,
    /// Paths wanted as a file where a folder is wanted too.
    conflicts: Vec<PathBuf>,
    /// The first file that could not be read.
    error: Option<Error>,
    changes: Vec<Change>,
    counts: HashMap<String, Counts>,
    /// Reasons a change may not be made, with the path they are about.
    problems: Vec<(PathBuf, String)>,
    /// The rendered files, with [`Keep::Contents`].
    rendered: Vec<GeneratedFile>,
}

impl Outcome {
    fn new(plan: usize) -> Outcome {
        Outcome {
            plan,
            keep_contents: false,
            wanted: Vec::new(),
            conflicts: Vec::new(),
            error: None,
            changes: Vec::new(),
            counts: HashMap::new(),
            problems: Vec::new(),
            rendered: Vec::new(),
        }
    }

    /// Records the paths of the compared files: all of them when output folders nest
    /// (for [`finish`] to compare across plans), otherwise only the conflicts among them.
    fn want(&mut self, paths: impl Iterator<Item = PathBuf>, nested: bool) {
        let paths: Vec<PathBuf> = paths.collect();
        if nested {
            self.wanted = paths;
            return;
        }
        let set: HashSet<&Path> = paths.iter().map(PathBuf::as_path).collect();
        for path in &paths {
            if let Some(d) = path.ancestors().skip(1).find(|d| set.contains(d)) {
                self.conflicts.push(d.to_path_buf());
            }
        }
    }

    /// Compares one rendered file with the disk.
    fn compare_file(
        &mut self,
        plan: &Plan,
        f: &GeneratedFile,
        existing: &Existing,
        keep: &Keep<'_>,
        known: &Known<'_>,
    ) -> Result<()> {
        let counts = match self.counts.get_mut(&f.migration) {
            Some(c) => c,
            None => self.counts.entry(f.migration.clone()).or_default(),
        };
        // Never write through a symlink or over something that is not a file.
        if let Some(what) = blocked(&f.path, &plan.output, &plan.root, existing) {
            self.problems.push((
                f.path.clone(),
                format!(
                    "{}: {what} is in the way; cutover does not write through symlinks or replace anything but its own files",
                    f.rel
                ),
            ));
            return Ok(());
        }
        let old = if existing.want(&f.path) {
            let old = fs::read(&f.path).map_err(|e| Error::Read {
                path: f.path.clone(),
                source: e,
            })?;
            if same_text(&old, &f.contents) {
                counts.unchanged += 1;
                return Ok(());
            }
            let problem = overwrite_problem(plan, f, &old, known);
            if let Some(problem) = problem {
                self.problems.push((f.path.clone(), problem));
                return Ok(());
            }
            Some(old)
        } else {
            None
        };
        counts.written += 1;
        let status = if old.is_some() {
            Status::Modified
        } else {
            Status::Added
        };
        if let Keep::Stage(stager) = keep {
            // Staged only while the run can still succeed: after a problem, nothing will
            // be written.
            if self.problems.is_empty() {
                stager.stage(
                    &f.path,
                    f.contents.as_bytes(),
                    old.is_some(),
                    &plan.output,
                    &|d: &Path| existing.is_dir(d),
                )?;
            }
        }
        if matches!(keep, Keep::Stage(_)) {
            // The stager holds what to write; the counts say how much.
            return Ok(());
        }
        let (old, new) = if self.keep_contents {
            (old, Some(f.contents.clone()))
        } else {
            (None, None)
        };
        self.changes.push(Change {
            path: f.path.clone(),
            rel: f.rel.clone(),
            status,
            old,
            new,
            plan: self.plan,
            reason: None,
        });
        Ok(())
    }
}

/// Whether the file holding `old` is `new`, byte for byte or with every line ending in
/// CRLF: git converts line endings on checkout (`core.autocrlf`, `eol=crlf`), and the
/// file a plan produces, checked out that way, is still that file.
fn same_text(old: &[u8], new: &str) -> bool {
    if old == new.as_bytes() {
        return true;
    }
    let lines = new.bytes().filter(|b| *b == b'\n').count();
    old.len() == new.len() + lines
        && !new.contains('\r')
        && old
            .split(|b| *b == b'\n')
            .zip(new.split('\n'))
            .all(|(o, n)| {
                // Every line but the last ends in `\r` in `old`.
                o.strip_suffix(b"\r").unwrap_or(o) == n.as_bytes()
            })
        && old
            .split(|b| *b == b'\n')
            .rev()
            .skip(1)
            .all(|line| line.ends_with(b"\r"))
}

/// Why `f` may not replace the file holding `old`, if it may not: a file cutover did not
/// generate, or generated from another existing plan (or in another work tree).
fn overwrite_problem(
    plan: &Plan,
    f: &GeneratedFile,
    old: &[u8],
    known: &Known<'_>,
) -> Option<String> {
    let own_line = header::first_line(&plan.id);
    match header::owner(old, &own_line) {
        Owner::This => None,
        Owner::Other(id) if id.ends_with(&format!("/{}", plan.id)) || plan.id.ends_with(&format!("/{id}")) => Some(format!(
            "{}: its header names the plan `{id}`, but this run names the plan `{}` (from {}); run cutover inside the git work tree the files were generated in",
            f.rel,
            plan.id,
            plan.root.display()
        )),
        Owner::Other(id)
            if header::plan_id(id).is_some_and(|id| !plan_exists(known, &plan.root, &id)) =>
        {
            // Generated from a plan file that was renamed or deleted: nobody's now.
            None
        }
        Owner::Other(id) => Some(format!(
            "{}: generated from another plan ({id}), but {} wants it too; two plans cannot share an output path",
            f.rel, plan.file
        )),
        Owner::User => Some(format!(
            "{}: exists, and is not a file cutover generated from {} (no matching header); cutover will not overwrite it. Move it away, or delete it if it is an old copy",
            f.rel, plan.id
        )),
    }
}

/// Paths two plans want, and paths wanted as a file where a folder is wanted too: the
/// conflicts among the outcomes, sorted.
fn conflicts(plans: &[Plan], outcomes: &[&Outcome]) -> Vec<String> {
    let mut problems = Vec::new();

    // Which plan wants which path; two plans wanting one path is an error.
    let total: usize = outcomes.iter().map(|o| o.wanted.len()).sum();
    let mut wanted: HashMap<&Path, usize> = HashMap::with_capacity(total);
    for o in outcomes {
        let plan = &plans[o.plan];
        for path in &o.wanted {
            if let Some(&q) = wanted.get(path.as_path()) {
                problems.push(format!(
                    "{}: wanted by two plans, {} and {}",
                    repo::display_rel(&plan.root, path),
                    plans[q].file,
                    plan.file
                ));
            } else {
                wanted.insert(path, o.plan);
            }
        }
    }
    for o in outcomes {
        let plan = &plans[o.plan];
        for d in &o.conflicts {
            problems.push(format!(
                "{}: {} wants a file where {} wants a folder",
                repo::display_rel(&plan.root, d),
                plan.file,
                plan.file
            ));
        }
    }
    // A path one plan wants as a file and another (or the same) as a folder.
    for (path, &p) in &wanted {
        let mut dir = path.parent();
        while let Some(d) = dir {
            if let Some(&q) = wanted.get(d) {
                problems.push(format!(
                    "{}: {} wants a file where {} wants a folder",
                    repo::display_rel(&plans[q].root, d),
                    plans[q].file,
                    plans[p].file
                ));
                break;
            }
            if d == plans[p].root {
                break;
            }
            dir = d.parent();
        }
    }
    problems.sort();
    problems
}

/// Puts the outcomes together: conflicts between plans, problems, orphans, counts.
fn finish(
    plans: &[Plan],
    strays: &[Stray],
    known: &Known<'_>,
    scanned: HashMap<PathBuf, Existing>,
    mut outcomes: Vec<Outcome>,
) -> Result<Changeset> {
    let mut changes: Vec<Change> = outcomes
        .iter_mut()
        .flat_map(|o| std::mem::take(&mut o.changes))
        .collect();
    let problems = conflicts(plans, &outcomes.iter().collect::<Vec<_>>());
    if !problems.is_empty() {
        return Err(Error::Conflicts(problems));
    }
    if let Some(e) = outcomes.iter_mut().find_map(|o| o.error.take()) {
        return Err(e);
    }
    let unwanted = unwanted_in_layout(&scanned)?;
    refuse_problems(&outcomes)?;
    let mut counts = Tally::new(plans, &outcomes);
    orphans(plans, known, &unwanted, &mut counts, &mut changes)?;
    for stray in strays {
        counts.entry(stray.plan, &stray.migration).removed += 1;
        changes.push(Change {
            rel: repo::display_rel(&plans[stray.plan].root, &stray.path),
            status: Status::Removed,
            old: Some(read(&stray.path)?),
            new: None,
            plan: stray.plan,
            reason: Some(stray.reason.clone()),
            path: stray.path.clone(),
        });
    }
    changes.sort_by(|a, b| (a.plan, &a.path).cmp(&(b.plan, &b.path)));
    let mut leftovers: Vec<PathBuf> = scanned.into_values().flat_map(|e| e.leftovers).collect();
    leftovers.sort();
    leftovers.dedup();
    // Plans in order, each plan's files by path (outcomes are per migration).
    let mut rendered: Vec<(usize, GeneratedFile)> = outcomes
        .iter_mut()
        .flat_map(|o| {
            std::mem::take(&mut o.rendered)
                .into_iter()
                .map(|f| (o.plan, f))
        })
        .collect();
    rendered.sort_by(|a, b| (a.0, &a.1.path).cmp(&(b.0, &b.1.path)));
    Ok(Changeset {
        changes,
        leftovers,
        rendered: rendered.into_iter().map(|(_, f)| f).collect(),
        counts: counts.into_list(),
    })
}

/// Per output folder: files no plan wants, with their first bytes.
type Unwanted<'a> = HashMap<&'a Path, Vec<(PathBuf, Vec<u8>)>>;

/// Per output folder (plans may share one): the files no plan wants that sit where
/// cutover generates files, with their first bytes. Found once, however many plans.
fn unwanted_in_layout(scanned: &HashMap<PathBuf, Existing>) -> Result<Unwanted<'_>> {
    let mut unwanted = HashMap::new();
    let mut outputs: Vec<(&PathBuf, &Existing)> = scanned.iter().collect();
    outputs.sort_by(|a, b| a.0.cmp(b.0));
    for (output, existing) in outputs {
        let mut list = Vec::new();
        for path in existing.unwanted() {
            if !in_layout(&path, output) {
                continue;
            }
            if let Some(head) = header::read_head(&path)? {
                list.push((path, head));
            }
        }
        unwanted.insert(output.as_path(), list);
    }
    Ok(unwanted)
}

/// Refuses the change when any outcome found a problem: all of them, in plan order, then
/// path order.
fn refuse_problems(outcomes: &[Outcome]) -> Result<()> {
    let mut found: Vec<(usize, &PathBuf, &String)> = outcomes
        .iter()
        .flat_map(|o| {
            o.problems
                .iter()
                .map(move |(path, text)| (o.plan, path, text))
        })
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    found.sort();
    Err(Error::Conflicts(
        found.into_iter().map(|(_, _, text)| text.clone()).collect(),
    ))
}

/// Counts per migration, kept in plan order.
struct Tally<'p> {
    /// Per plan: migration name -> position.
    orders: Vec<HashMap<&'p str, usize>>,
    counts: BTreeMap<(usize, usize, String), Counts>,
}

impl<'p> Tally<'p> {
    /// Every migration of every plan (with zero counts), plus what the outcomes counted.
    fn new(plans: &'p [Plan], outcomes: &[Outcome]) -> Tally<'p> {
        let orders = plans
            .iter()
            .map(|plan| {
                plan.migrations
                    .iter()
                    .enumerate()
                    .map(|(i, m)| (m.name.as_str(), i))
                    .collect()
            })
            .collect();
        let mut tally = Tally {
            orders,
            counts: BTreeMap::new(),
        };
        for (p, plan) in plans.iter().enumerate() {
            for m in &plan.migrations {
                tally.entry(p, &m.name);
            }
        }
        for o in outcomes {
            for (name, c) in &o.counts {
                let entry = tally.entry(o.plan, name);
                entry.written += c.written;
                entry.unchanged += c.unchanged;
            }
        }
        tally
    }

    /// The counts of plan `p`'s migration `name` (one the plan no longer has sorts last).
    fn entry(&mut self, p: usize, name: &str) -> &mut Counts {
        let position = self.orders[p].get(name).copied().unwrap_or(usize::MAX);
        self.counts
            .entry((p, position, name.to_owned()))
            .or_default()
    }

    fn into_list(self) -> Vec<((usize, String), Counts)> {
        self.counts
            .into_iter()
            .map(|((p, _, name), c)| ((p, name), c))
            .collect()
    }
}

/// Files each plan generated earlier that it no longer wants: listed as removals. Files
/// whose header names a plan file that no longer exists (the plan was renamed or
/// deleted) are removed too, under the first plan with that output folder. Refused when
/// a plan's migration folder holds files another existing plan generated (two plans
/// writing one folder, whatever plans this run names).
fn orphans(
    plans: &[Plan],
    known: &Known<'_>,
    unwanted: &Unwanted<'_>,
    counts: &mut Tally<'_>,
    changes: &mut Vec<Change>,
) -> Result<()> {
    let mut taken: HashSet<&Path> = HashSet::new();
    let mut problems = Vec::new();
    for (p, plan) in plans.iter().enumerate() {
        let own_line = header::first_line(&plan.id);
        for (path, head) in unwanted.get(plan.output.as_path()).into_iter().flatten() {
            let migration = layout::parse_in(&plan.output, path)
                .map(|place| place.folder)
                .unwrap_or_default();
            match header::owner(head, &own_line) {
                Owner::This => {}
                Owner::User => continue,
                Owner::Other(written) => {
                    let Some(id) = header::plan_id(written) else {
                        continue;
                    };
                    if plan_exists(known, &plan.root, &id) {
                        if plan.migrations.iter().any(|m| m.name == migration) {
                            problems.push(format!(
                                "{}: generated from the plan {id}, in the folder of migration `{migration}` of {}; two plans cannot write one migration folder",
                                repo::display_rel(&plan.root, path),
                                plan.file
                            ));
                        }
                        continue;
                    }
                }
            }
            if !taken.insert(path.as_path()) {
                continue;
            }
            counts.entry(p, &migration).removed += 1;
            changes.push(Change {
                path: path.clone(),
                rel: repo::display_rel(&plan.root, path),
                status: Status::Removed,
                old: Some(read(path)?),
                new: None,
                plan: p,
                reason: None,
            });
        }
    }
    if !problems.is_empty() {
        problems.sort();
        return Err(Error::Conflicts(problems));
    }
    Ok(())
}

/// Per repository root: whether the plan files headers name exist there.
type Known<'a> = HashMap<&'a Path, PlanFiles<'a>>;

/// Whether the plan file `id` (as a header names it) exists in repository `root` (see
/// [`PlanFiles::exists`]). Asked only for files another plan's header claims.
fn plan_exists(known: &Known<'_>, root: &Path, id: &str) -> bool {
    known.get(root).is_none_or(|k| k.exists(id))
}
fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| Error::Read {
        path: path.to_path_buf(),
        source: e,
    })
}

/// Whether `path` has a place cutover generates files at under `output` (see
/// [`layout`]). Only such files are ever removed as orphans, so a user's copy of a
/// generated file kept elsewhere in the folder is left alone.
fn in_layout(path: &Path, output: &Path) -> bool {
    layout::parse_in(output, path).is_some()
}

/// Whether a file name is one of cutover's temporary files (`.cutover-XXXXXX.tmp`).
fn is_leftover(name: &str) -> bool {
    name.starts_with(".cutover-") && name.ends_with(".tmp")
}

/// What stands in the way of writing `path`: a folder or special file at `path`, or a
/// symlink, file or special file where one of the folders from `output` down to it goes.
fn blocked(path: &Path, output: &Path, root: &Path, existing: &Existing) -> Option<String> {
    let show = |p: &Path| repo::display_rel(root, p);
    if existing.is_dir(path) {
        return Some(format!("{} (a folder)", show(path)));
    }
    let mut cur = Some(path);
    while let Some(p) = cur {
        if let Some(what) = existing.special(p) {
            return Some(format!("{} ({what})", show(p)));
        }
        if p != path && existing.is_file(p) {
            return Some(format!("{} (a file where a folder goes)", show(p)));
        }
        if p == output {
            break;
        }
        cur = p.parent();
    }
    None
}

/// Receives the new contents of files that differ from the disk, as [`compare`] finds
/// them (the apply step's stager implements it).
pub trait Sink: Sync {
    /// Asks for files to be staged one by one (output folders nest, so a stand-in folder
    /// could end up inside another).
    fn file_by_file(&self);
    /// Stages `contents` for `path` (`exists`: it replaces a file); `dir_exists` tells
    /// which folders under `output` exist.
    fn stage(
        &self,
        path: &Path,
        contents: &[u8],
        exists: bool,
        output: &Path,
        dir_exists: &(dyn Fn(&Path) -> bool + Sync),
    ) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::same_text;

    #[test]
    fn a_file_checked_out_with_crlf_is_the_same_text() {
        let new = "a: 1\nb: 2\n";
        assert!(same_text(b"a: 1\nb: 2\n", new));
        assert!(same_text(b"a: 1\r\nb: 2\r\n", new));
        assert!(
            !same_text(b"a: 1\r\nb: 2\n", new),
            "mixed endings are an edit"
        );
        assert!(!same_text(b"a: 1\r\nb: 3\r\n", new));
        assert!(!same_text(b"a: 1\r\r\nb: 2\r\n", new));
        assert!(same_text(b"a\r\nb", "a\nb"), "no final line ending");
        assert!(!same_text(b"a\r\nb\r", "a\nb"));
    }
}
