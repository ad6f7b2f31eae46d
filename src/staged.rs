//! The next commit as files: a copy of what the git index holds, for `check --staged`
//! (the pre-commit hooks). A check of the work tree sees files that are not part of the
//! commit (untracked generated files, unstaged edits); a check of this copy sees exactly
//! what a clean checkout of the commit will.
//!
//! The copy holds the files cutover reads: every YAML file (plans, generated trees,
//! kustomizations, base VirtualServices), template overrides (`*.j2`), and the base files
//! plans name with other extensions. It lives in a temporary folder inside the
//! repository's git folder (never part of a commit) and is removed when dropped.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::git::Index;
use crate::plan::{discover, Loader};
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

/// Whether cutover may read a file of this name without knowing the plans.
fn read_by_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.ends_with(".yaml")
        || name.ends_with(".yml")
        || name.ends_with(".j2")
        || discover::is_kustomization_name(name)
}

impl Staged {
    /// Copies the index of the work tree around `dir`. `loader` reads the copied plans to
    /// find base files that are not YAML by name.
    pub fn copy(dir: &Path, loader: &Loader) -> Result<Staged> {
        let index = Index::open(dir)?;
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
        let first: Vec<&str> = index
            .paths
            .iter()
            .map(String::as_str)
            .filter(|p| read_by_name(p))
            .collect();
        index.checkout(&first, &copy)?;
        let bases = base_files(&copy, loader)?;
        let more: Vec<&str> = bases
            .iter()
            .map(String::as_str)
            .filter(|b| {
                !read_by_name(b) && index.paths.binary_search_by(|p| p.as_str().cmp(b)).is_ok()
            })
            .collect();
        index.checkout(&more, &copy)?;
        Ok(Staged {
            _dir: tmp,
            copy,
            work_tree: index.root,
        })
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

/// The base files (relative to the root) the plans in the copy name.
fn base_files(copy: &Path, loader: &Loader) -> Result<Vec<String>> {
    let mut bases = Vec::new();
    for path in discover::survey(copy)?.plans {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let id = repo::display_rel(copy, &path);
        // A plan that does not parse is reported by the real load.
        if let Ok(plan) = loader.parse(&id, &bytes, &path, copy) {
            bases.extend(plan.migrations.into_iter().filter_map(|m| m.base));
        }
    }
    bases.sort();
    bases.dedup();
    Ok(bases)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::tests::git_in as git;
    use std::process::Command;

    #[test]
    fn the_copy_holds_what_the_index_holds() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        git(&root, &["init", "-q"]);
        std::fs::write(root.join("staged.yaml"), "a: 1\n").unwrap();
        std::fs::write(root.join("notes.txt"), "not read\n").unwrap();
        git(&root, &["add", "staged.yaml", "notes.txt"]);
        // Unstaged edit, untracked file: neither is part of the next commit.
        std::fs::write(root.join("staged.yaml"), "a: 2\n").unwrap();
        std::fs::write(root.join("untracked.yaml"), "b: 1\n").unwrap();
        let staged = Staged::copy(&root, &Loader::default()).unwrap();
        let copy = staged.root().to_path_buf();
        assert!(copy.starts_with(root.join(".git")));
        assert_eq!(
            std::fs::read_to_string(copy.join("staged.yaml")).unwrap(),
            "a: 1\n"
        );
        assert!(!copy.join("untracked.yaml").exists());
        assert!(!copy.join("notes.txt").exists(), "only files cutover reads");
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
        let err = Staged::copy(tmp.path(), &Loader::default()).err().unwrap();
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
        let err = Staged::copy(&root, &Loader::default()).err().unwrap();
        assert!(
            err.to_string()
                .contains("unresolved merge conflicts (p.yaml)"),
            "{err}"
        );
    }
}
