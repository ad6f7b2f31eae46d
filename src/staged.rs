//! The next commit as files: a copy of what the git index holds, for `check --staged`
//! (the pre-commit hooks). A check of the work tree sees files that are not part of the
//! commit (untracked generated files, unstaged edits); a check of this copy sees exactly
//! what a clean checkout of the commit will.
//!
//! The copy holds the files cutover reads: plans, kustomizations, files with a cutover
//! header (found with `git grep --cached`), symbolic links, the `--templates` folder,
//! and the base files and output folders the plans name (with a base, the YAML files that
//! may name its VirtualService: `plan::controllers`); not the rest of the repository.
//! It lives in a temporary folder inside the repository's git folder (never part of a
//! commit) and is removed when dropped (copies a killed run left are removed an hour
//! later).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::git::Index;
use crate::plan::{controllers, discover, Loader};
use crate::render::header;
use crate::repo;

/// A copy of the index's files cutover reads.
pub struct Staged {
    /// The temporary folder; removed on drop.
    _dir: tempfile::TempDir,
    /// The copy's root (canonical): the repository root's stand-in.
    copy: PathBuf,
    /// The work tree root (canonical).
    work_tree: PathBuf,
}

/// Whether cutover reads a file of this name whatever the plans say (plans, and
/// kustomizations, which may point into generated trees).
fn read_by_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    discover::is_plan_name(name) || discover::is_kustomization_name(name)
}

/// Copies left by a run that was killed are removed after this long (a copy lives as
/// long as one check).
const STALE: std::time::Duration = std::time::Duration::from_secs(3600);

impl Staged {
    /// Copies the index of the work tree around `dir`: plans, kustomizations, symbolic
    /// links, files with a cutover header, the files under `templates` (the `--templates`
    /// folder, when given), then the base files and output folders the copied plans name.
    /// `loader` reads the copied plans.
    pub fn copy(dir: &Path, loader: &Loader, templates: Option<&Path>) -> Result<Staged> {
        Staged::copy_index(Index::open(dir)?, loader, templates, &[], &[])
    }

    /// [`Staged::copy`] of an index already read, with the plan files named on the command
    /// line (`named`, relative to the root: copied whatever their name) and the entries
    /// added with intent to add (`intended`: not copied, the commit will not hold them).
    pub fn copy_index(
        index: Index,
        loader: &Loader,
        templates: Option<&Path>,
        named: &[String],
        intended: &[&str],
    ) -> Result<Staged> {
        remove_stale_copies(&index.git_dir);
        let tmp = tempfile::Builder::new()
            .prefix("cutover-staged-")
            .tempdir_in(&index.git_dir)
            .map_err(|e| Error::Write {
                path: index.git_dir.clone(),
                source: e,
            })?;
        let copy = tmp.path().canonicalize().map_err(|e| Error::Read {
            path: tmp.path().to_path_buf(),
            source: e,
        })?;
        // Marks the copy as a repository root for plans found in it.
        std::fs::create_dir(copy.join(".git")).map_err(|e| Error::Write {
            path: copy.join(".git"),
            source: e,
        })?;
        let templates = templates.and_then(|t| repo::relative_from_cwd(&index.root, t));
        // Generated files, and the plans their headers name (whatever their file names).
        let generated = index.grep_lines(header::PREFIX)?;
        let owners: Vec<String> = generated
            .iter()
            .filter_map(|(_, line)| header::plan_of(line.as_bytes()))
            .collect();
        let in_index = |p: &str| index.paths.binary_search_by(|q| q.as_str().cmp(p)).is_ok();
        let mut first: Vec<&str> = index
            .paths
            .iter()
            .map(String::as_str)
            .filter(|p| read_by_name(p) || templates.as_deref().is_some_and(|t| under(p, t)))
            .chain(index.symlinks.iter().map(String::as_str))
            .chain(generated.iter().map(|(p, _)| p.as_str()))
            .chain(
                named
                    .iter()
                    .chain(&owners)
                    .map(String::as_str)
                    .filter(|p| in_index(p)),
            )
            .filter(|p| !intended.contains(p))
            .collect();
        first.sort_unstable();
        first.dedup();
        index.checkout(&first, &copy)?;
        let extra: Vec<&str> = named.iter().chain(&owners).map(String::as_str).collect();
        let (bases, outputs) = named_by_plans(&copy, loader, &extra)?;
        // With a base, the files that may name its VirtualService, and the charts whose
        // templates are passed over (see `plan::controllers`).
        let claiming = if bases.is_empty() {
            Vec::new()
        } else {
            index.grep_yaml_files(&controllers::GROUPS)?
        };
        let chart = |p: &str| !claiming.is_empty() && p.rsplit('/').next() == Some(discover::CHART);
        let listed =
            |list: &[String], p: &str| list.binary_search_by(|b| b.as_str().cmp(p)).is_ok();
        let more: Vec<&str> = index
            .paths
            .iter()
            .map(String::as_str)
            .filter(|p| first.binary_search(p).is_err() && !intended.contains(p))
            .filter(|p| {
                listed(&bases, p)
                    || listed(&claiming, p)
                    || chart(p)
                    || outputs.iter().any(|o| under(p, o))
            })
            .collect();
        index.checkout(&more, &copy)?;
        Ok(Staged {
            _dir: tmp,
            copy,
            work_tree: index.root,
        })
    }

    /// Whether cutover would read the index path `path` whatever the plans say: a plan,
    /// a kustomization, a YAML file (generated ones among them) or a template.
    pub fn is_read(path: &str) -> bool {
        read_by_name(path) || [".yaml", ".yml", ".j2"].iter().any(|e| path.ends_with(e))
    }

    /// The copy's root.
    pub fn root(&self) -> &Path {
        &self.copy
    }

    /// The work tree root the copy is of.
    pub fn work_tree(&self) -> &Path {
        &self.work_tree
    }

    /// Where `path` (absolute or relative to the current folder, inside the work tree)
    /// is in the copy; `None` outside the work tree.
    pub fn map(&self, path: &Path) -> Option<PathBuf> {
        let rel = repo::relative_from_cwd(&self.work_tree, path)?;
        Some(if rel == "." {
            self.copy.clone()
        } else {
            self.copy.join(rel)
        })
    }

    /// The work tree's path for `path` in the copy (unchanged when not in the copy).
    pub fn unmap(&self, path: &Path) -> PathBuf {
        path.strip_prefix(&self.copy)
            .map_or_else(|_| path.to_path_buf(), |rel| self.work_tree.join(rel))
    }
}

/// Whether the index path `path` lies under the folder `dir` (both relative to the root).
fn under(path: &str, dir: &str) -> bool {
    dir == "."
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Removes the copies of runs that were killed (older than [`STALE`]); best effort.
fn remove_stale_copies(git_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(git_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE);
        if old
            && entry
                .file_name()
                .to_string_lossy()
                .starts_with("cutover-staged-")
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The base files and the output folders (relative to the root, sorted) the plans in
/// the copy name: the plans the search finds, and `extra` (relative to the root).
fn named_by_plans(
    copy: &Path,
    loader: &Loader,
    extra: &[&str],
) -> Result<(Vec<String>, Vec<String>)> {
    let mut bases = Vec::new();
    let mut outputs = Vec::new();
    let mut plans = discover::survey(copy)?.plans;
    plans.extend(extra.iter().map(|rel| copy.join(rel)));
    plans.sort();
    plans.dedup();
    for path in plans {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let id = repo::display_rel(copy, &path);
        // A plan that does not parse is reported by the real load.
        if let Ok(plan) = loader.parse(&id, &bytes, &path, copy) {
            outputs.extend(repo::relative(copy, &plan.output));
            bases.extend(plan.migrations.into_iter().filter_map(|m| m.base));
        }
    }
    bases.sort();
    bases.dedup();
    outputs.sort();
    outputs.dedup();
    Ok((bases, outputs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::tests::git_in as git;
    use std::process::Command;

    #[cfg(unix)]
    #[test]
    fn the_copy_holds_what_the_index_holds() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        git(&root, &["init", "-q"]);
        let write = |rel: &str, text: &str| {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("cutover.yaml", "a: 1\n");
        write("notes.yaml", "not read\n");
        write("old/a/envs/prod.yaml", &header::block("gone.cutover.yaml"));
        write("tpl/virtualservice.yaml.j2", "x\n");
        std::os::unix::fs::symlink("old", root.join("link")).unwrap();
        git(&root, &["add", "."]);
        // Unstaged edit, untracked file: neither is part of the next commit.
        write("cutover.yaml", "a: 2\n");
        write("b.cutover.yaml", "b: 1\n");
        let staged = Staged::copy(&root, &Loader::default(), Some(&root.join("tpl"))).unwrap();
        let copy = staged.root().to_path_buf();
        assert!(copy.starts_with(root.join(".git")));
        let read = |rel: &str| std::fs::read_to_string(copy.join(rel)).ok();
        assert_eq!(read("cutover.yaml").as_deref(), Some("a: 1\n"));
        assert_eq!(read("b.cutover.yaml"), None, "untracked");
        assert_eq!(read("notes.yaml"), None, "only files cutover reads");
        assert!(read("old/a/envs/prod.yaml").is_some(), "a generated file");
        assert!(read("tpl/virtualservice.yaml.j2").is_some(), "a template");
        assert!(read("link/a/envs/prod.yaml").is_some(), "a symbolic link");
        assert_eq!(
            staged.map(&root.join("x/y.yaml")),
            Some(copy.join("x/y.yaml"))
        );
        assert_eq!(staged.unmap(&copy.join("x/y.yaml")), root.join("x/y.yaml"));
        drop(staged);
        assert!(!copy.exists(), "the copy is removed when dropped");
    }

    #[test]
    fn merge_conflicts_and_no_repository_are_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let err = Staged::copy(tmp.path(), &Loader::default(), None)
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("not inside a git work tree"),
            "{err}"
        );
        let root = tmp.path().canonicalize().unwrap();
        git(&root, &["init", "-q", "-b", "main"]);
        std::fs::write(root.join("p.yaml"), "a: 0\n").unwrap();
        git(&root, &["add", "."]);
        git(&root, &["commit", "-qm", "base"]);
        git(&root, &["checkout", "-qb", "other"]);
        std::fs::write(root.join("p.yaml"), "a: 1\n").unwrap();
        git(&root, &["commit", "-qam", "other"]);
        git(&root, &["checkout", "-q", "main"]);
        std::fs::write(root.join("p.yaml"), "a: 2\n").unwrap();
        git(&root, &["commit", "-qam", "main"]);
        let _ = Command::new("git")
            .args(["merge", "other"])
            .current_dir(&root)
            .output();
        let err = Staged::copy(&root, &Loader::default(), None).err().unwrap();
        assert!(
            err.to_string()
                .contains("unresolved merge conflicts (p.yaml)"),
            "{err}"
        );
    }
}
