//! Comparing the tree the plans want with the files on disk.
//!
//! Each plan's output folder is walked once; files the plans want are read only where
//! they already exist. The result is the list of files to add, modify and remove, plus
//! every reason the change may not be made (a file cutover did not generate in the way,
//! a symlink, two plans claiming one path). Nothing here writes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::error::{Error, Result};
use crate::header::{self, Owner};
use crate::plan::Plan;
use crate::render::GeneratedFile;
use crate::repo;

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
}

impl Changeset {
    /// Whether the disk already matches the plans.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// What is on disk under one output folder.
#[derive(Default)]
struct Existing {
    /// Regular files.
    files: Vec<PathBuf>,
    /// The same, for lookups.
    file_set: HashSet<PathBuf>,
    /// Folders.
    dirs: HashSet<PathBuf>,
    /// Temporary files of an interrupted earlier run (`.cutover-*.tmp`).
    leftovers: Vec<PathBuf>,
    /// Paths that are not regular files or folders (symlinks, sockets...), and folders
    /// reached only through a symlink, which cutover never writes through.
    special: HashMap<PathBuf, &'static str>,
}

fn scan(dir: &Path) -> Result<Existing> {
    let mut out = Existing::default();
    let walker = WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0 || !name.starts_with('.') || is_leftover(&name)
        });
    for entry in walker {
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
        if ft.is_file() && is_leftover(&entry.file_name().to_string_lossy()) {
            out.leftovers.push(entry.into_path());
        } else if ft.is_file() {
            out.file_set.insert(entry.path().to_path_buf());
            out.files.push(entry.into_path());
        } else if ft.is_dir() {
            out.dirs.insert(entry.into_path());
        } else if ft.is_symlink() {
            out.special.insert(entry.into_path(), "a symlink");
        } else {
            out.special.insert(entry.into_path(), "not a regular file");
        }
    }
    Ok(out)
}

/// Compares the rendered files of every plan (`rendered[i]` belongs to `plans[i]`)
/// with the disk. Fails, naming every offending path, when a change would overwrite a
/// file cutover did not generate for that plan, write through a symlink, or when two
/// plans claim the same path.
pub fn compare(plans: &[Plan], rendered: &[Vec<GeneratedFile>]) -> Result<Changeset> {
    let mut problems = Vec::new();

    // Which plan wants which path; two plans wanting one path is an error.
    let mut wanted: HashMap<&Path, usize> = HashMap::new();
    for (p, files) in rendered.iter().enumerate() {
        for f in files {
            if let Some(&q) = wanted.get(f.path.as_path()) {
                problems.push(format!(
                    "{}: wanted by two plans, {} and {}",
                    f.rel, plans[q].file, plans[p].file
                ));
            } else {
                wanted.insert(&f.path, p);
            }
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
    if !problems.is_empty() {
        problems.sort();
        return Err(Error::Conflicts(problems));
    }

    let mut changes = Vec::new();
    let mut counts: BTreeMap<(usize, usize, String), Counts> = BTreeMap::new();
    let mut scanned: HashMap<PathBuf, Existing> = HashMap::new();
    // Per output folder (plans may share one): the files no plan wants that sit where
    // cutover generates files, with their first bytes. Found once, however many plans.
    let mut unwanted: HashMap<PathBuf, Vec<(PathBuf, Vec<u8>)>> = HashMap::new();
    for (p, plan) in plans.iter().enumerate() {
        if !scanned.contains_key(&plan.output) {
            let existing = scan(&plan.output)?;
            let mut found = Vec::new();
            for path in &existing.files {
                if wanted.contains_key(path.as_path()) || !in_layout(path, &plan.output) {
                    continue;
                }
                if let Some(head) = read_head(path)? {
                    found.push((path.clone(), head));
                }
            }
            unwanted.insert(plan.output.clone(), found);
            scanned.insert(plan.output.clone(), existing);
        }
        let existing = &scanned[&plan.output];
        let own_line = header::first_line(&plan.id);
        let order: HashMap<&str, usize> = plan
            .migrations
            .iter()
            .enumerate()
            .map(|(i, m)| (m.name.as_str(), i))
            .collect();
        for m in &plan.migrations {
            counts
                .entry((p, order[m.name.as_str()], m.name.clone()))
                .or_default();
        }
        for f in &rendered[p] {
            let key = (p, order[f.migration.as_str()], f.migration.clone());
            // Never write through a symlink or over something that is not a file.
            if let Some(what) = blocked(&f.path, &plan.output, &plan.root, existing) {
                problems.push(format!(
                    "{}: {what} is in the way; cutover does not write through symlinks or replace anything but its own files",
                    f.rel
                ));
                continue;
            }
            if !existing.file_set.contains(&f.path) {
                counts.entry(key).or_default().written += 1;
                changes.push(change(f, p, Status::Added, None));
                continue;
            }
            let old = fs::read(&f.path).map_err(|e| Error::Read {
                path: f.path.clone(),
                source: e,
            })?;
            if old == f.contents.as_bytes() {
                counts.entry(key).or_default().unchanged += 1;
                continue;
            }
            match header::owner(&old, &own_line) {
                Owner::This => {
                    counts.entry(key).or_default().written += 1;
                    changes.push(change(f, p, Status::Modified, Some(old)));
                }
                Owner::Other(id) if id.ends_with(&format!("/{}", plan.id)) || plan.id.ends_with(&format!("/{id}")) => {
                    problems.push(format!(
                        "{}: its header names the plan `{id}`, but this run names the plan `{}` (from {}); run cutover inside the git work tree the files were generated in",
                        f.rel,
                        plan.id,
                        plan.root.display()
                    ))
                }
                Owner::Other(id) => problems.push(format!(
                    "{}: generated from another plan ({id}), but {} wants it too; two plans cannot share an output path",
                    f.rel, plan.file
                )),
                Owner::User => problems.push(format!(
                    "{}: exists, and is not a file cutover generated from {} (no matching header); cutover will not overwrite it. Move it away, or delete it if it is an old copy",
                    f.rel, plan.id
                )),
            }
        }

        // Files this plan generated earlier that it no longer wants.
        for (path, head) in &unwanted[&plan.output] {
            if header::owner(head, &own_line) != Owner::This {
                continue;
            }
            let old = fs::read(path).map_err(|e| Error::Read {
                path: path.clone(),
                source: e,
            })?;
            let migration = path
                .strip_prefix(&plan.output)
                .ok()
                .and_then(|r| r.components().next())
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .unwrap_or_default();
            let idx = order.get(migration.as_str()).copied().unwrap_or(usize::MAX);
            counts
                .entry((p, idx, migration.clone()))
                .or_default()
                .removed += 1;
            changes.push(Change {
                path: path.clone(),
                rel: repo::display_rel(&plan.root, path),
                status: Status::Removed,
                old: Some(old),
                new: None,
                plan: p,
            });
        }
    }
    if !problems.is_empty() {
        return Err(Error::Conflicts(problems));
    }
    changes.sort_by(|a, b| (a.plan, &a.path).cmp(&(b.plan, &b.path)));
    let mut leftovers: Vec<PathBuf> = scanned.into_values().flat_map(|e| e.leftovers).collect();
    leftovers.sort();
    Ok(Changeset {
        changes,
        leftovers,
        counts: counts
            .into_iter()
            .map(|((p, _, name), c)| ((p, name), c))
            .collect(),
    })
}

/// Whether `path` has a place cutover generates files at under `output`:
/// `<migration>/stages/<NN>-<stage>/{virtualservice,kustomization}.yaml`,
/// `<migration>/<NN>-<stage>.yaml`, `<migration>/envs/<env>/kustomization.yaml` or
/// `<migration>/envs/<env>.yaml`. Only such files are ever removed as orphans, so a
/// user's copy of a generated file kept elsewhere in the folder is left alone.
fn in_layout(path: &Path, output: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(output) else {
        return false;
    };
    let parts: Vec<&str> = rel.iter().filter_map(|c| c.to_str()).collect();
    let numbered = |s: &str| {
        s.split_once('-').is_some_and(|(n, rest)| {
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && !rest.is_empty()
        })
    };
    let yaml_stem = |f: &str| f.strip_suffix(".yaml").map(str::to_owned);
    match parts.as_slice() {
        [_, "stages", stage, "virtualservice.yaml" | "kustomization.yaml"] => numbered(stage),
        [_, "envs", env, "kustomization.yaml"] => crate::names::is_dns1123_label(env),
        [_, "envs", file] => yaml_stem(file).is_some_and(|e| crate::names::is_dns1123_label(&e)),
        [_, "gcpbackend", "gcpbackend.yaml" | "kustomization.yaml"]
        | [_, "verify", "job.yaml" | "kustomization.yaml"]
        | [_, "gcpbackend.yaml" | "verify-job.yaml"] => true,
        [_, file] => file.strip_suffix(".yaml").is_some_and(numbered),
        _ => false,
    }
}

/// Whether a file name is one of cutover's temporary files (`.cutover-XXXXXX.tmp`).
fn is_leftover(name: &str) -> bool {
    name.starts_with(".cutover-") && name.ends_with(".tmp")
}

/// The first bytes of a file: enough to read its header line.
fn read_head(path: &Path) -> Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; 1024];
    let mut file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::Read {
                path: path.to_path_buf(),
                source: e,
            })
        }
    };
    let n = file.read(&mut buf).map_err(|e| Error::Read {
        path: path.to_path_buf(),
        source: e,
    })?;
    buf.truncate(n);
    Ok(Some(buf))
}

/// What stands in the way of writing `path`: a folder or special file at `path`, or a
/// symlink, file or special file where one of the folders from `output` down to it goes.
fn blocked(path: &Path, output: &Path, root: &Path, existing: &Existing) -> Option<String> {
    let show = |p: &Path| repo::display_rel(root, p);
    if existing.dirs.contains(path) {
        return Some(format!("{} (a folder)", show(path)));
    }
    let mut cur = Some(path);
    while let Some(p) = cur {
        if let Some(what) = existing.special.get(p) {
            return Some(format!("{} ({what})", show(p)));
        }
        if p != path && existing.file_set.contains(p) {
            return Some(format!("{} (a file where a folder goes)", show(p)));
        }
        if p == output {
            break;
        }
        cur = p.parent();
    }
    None
}

fn change(f: &GeneratedFile, plan: usize, status: Status, old: Option<Vec<u8>>) -> Change {
    Change {
        path: f.path.clone(),
        rel: f.rel.clone(),
        status,
        old,
        new: Some(f.contents.clone()),
        plan,
    }
}
