//! One writer at a time per repository.
//!
//! `render`, `promote` and `rollback` take an exclusive advisory lock (flock) before they
//! compare and write. The operating system drops it when the process ends, however it
//! ends, so a killed run never leaves a stale lock behind.
//!
//! In a git repository whose `.git` is a folder, the lock is the file `.git/cutover.lock`
//! (like git's own locks). Anywhere else the repository's root folder itself is locked
//! and no file is made: outside git, and in a linked worktree or a submodule, whose `.git`
//! is a file naming a git folder shared with other work trees (the lock belongs to this
//! work tree, not to the shared folder).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Held locks; released when dropped.
pub struct Locks(#[allow(dead_code)] Vec<File>);

/// What is locked for the repository at `root`: `.git/cutover.lock`, or `root` itself.
pub fn lock_path(root: &Path) -> PathBuf {
    let git = root.join(".git");
    if git.is_dir() {
        git.join("cutover.lock")
    } else {
        root.to_path_buf()
    }
}

/// Opens what [`lock_path`] names: the lock file (made when missing) or the folder.
fn open(path: &Path) -> std::io::Result<File> {
    if path.is_dir() {
        File::open(path)
    } else {
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
    }
}

/// Locks every repository in `roots`, or fails at once naming the one that is busy.
pub fn acquire<'a>(roots: impl IntoIterator<Item = &'a Path>) -> Result<Locks> {
    let mut roots: Vec<&Path> = roots.into_iter().collect();
    roots.sort();
    roots.dedup();
    let mut held = Vec::new();
    for root in roots {
        let path = lock_path(root);
        let file = open(&path).map_err(|e| Error::Write {
            path: path.clone(),
            source: e,
        })?;
        match file.try_lock() {
            Ok(()) => held.push(file),
            Err(TryLockError::WouldBlock) => {
                let lock = if path == root {
                    String::new()
                } else {
                    format!(" (lock {})", path.display())
                };
                return Err(Error::Refused(format!(
                    "another cutover is writing in {}{lock}; wait for it to finish and run again",
                    root.display()
                )));
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::Write { path, source: e });
            }
        }
    }
    Ok(Locks(held))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(root: &Path) -> String {
        acquire([root])
            .err()
            .expect("second lock refused")
            .to_string()
    }

    #[test]
    fn a_second_writer_is_refused_until_the_first_is_done() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join(".git")).unwrap();
        let first = acquire([tmp.path()]).unwrap();
        let err = refused(tmp.path());
        assert!(err.contains("another cutover is writing"), "{err}");
        drop(first);
        acquire([tmp.path()]).unwrap();
        assert!(tmp.path().join(".git/cutover.lock").exists());
    }

    #[test]
    fn outside_git_the_folder_is_locked_and_nothing_is_made() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        std::fs::create_dir(&root).unwrap();
        assert_eq!(
            lock_path(&root),
            root,
            "the folder itself, no file in $TMPDIR"
        );
        let first = acquire([root.as_path()]).unwrap();
        let err = refused(&root);
        assert!(err.contains("another cutover is writing"), "{err}");
        drop(first);
        let again = acquire([root.as_path()]).unwrap();
        drop(again);
        let names = |d: &Path| std::fs::read_dir(d).unwrap().count();
        assert_eq!(names(&root), 0, "nothing made in the repository");
        assert_eq!(names(tmp.path()), 1, "nothing made beside it");
    }

    #[test]
    fn a_linked_worktree_locks_its_own_folder() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join(".git"),
            "gitdir: /elsewhere/.git/worktrees/x\n",
        )
        .unwrap();
        assert_eq!(lock_path(tmp.path()), tmp.path());
        let _first = acquire([tmp.path()]).unwrap();
        assert!(refused(tmp.path()).contains("another cutover is writing"));
    }
}
