//! One writer at a time per repository.
//!
//! `render`, `promote` and `rollback` take an exclusive advisory lock (flock) before they
//! compare and write. The operating system drops it when the process ends, however it
//! ends, so a killed run never leaves a stale lock behind. The lock file lives in the
//! repository's `.git` folder (`cutover.lock`, like git's own locks), or for a plan
//! outside git in the system's temporary folder, keyed by the repository path.

use std::collections::hash_map::DefaultHasher;
use std::fs::{File, OpenOptions, TryLockError};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Held locks; released when dropped.
pub struct Locks(#[allow(dead_code)] Vec<File>);

/// The lock file of the repository at `root`.
pub fn lock_path(root: &Path) -> PathBuf {
    let git = root.join(".git");
    if git.is_dir() {
        return git.join("cutover.lock");
    }
    let mut h = DefaultHasher::new();
    root.hash(&mut h);
    std::env::temp_dir().join(format!("cutover-{:016x}.lock", h.finish()))
}

/// Locks every repository in `roots`, or fails at once naming the one that is busy.
pub fn acquire<'a>(roots: impl IntoIterator<Item = &'a Path>) -> Result<Locks> {
    let mut roots: Vec<&Path> = roots.into_iter().collect();
    roots.sort();
    roots.dedup();
    let mut held = Vec::new();
    for root in roots {
        let path = lock_path(root);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::Write {
                path: path.clone(),
                source: e,
            })?;
        match file.try_lock() {
            Ok(()) => held.push(file),
            Err(TryLockError::WouldBlock) => {
                return Err(Error::Refused(format!(
                "another cutover is writing in {} (lock {}); wait for it to finish and run again",
                root.display(),
                path.display()
            )))
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

    #[test]
    fn a_second_writer_is_refused_until_the_first_is_done() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join(".git")).unwrap();
        let first = acquire([tmp.path()]).unwrap();
        let err = acquire([tmp.path()])
            .err()
            .expect("second lock refused")
            .to_string();
        assert!(err.contains("another cutover is writing"), "{err}");
        drop(first);
        acquire([tmp.path()]).unwrap();
        assert!(tmp.path().join(".git/cutover.lock").exists());
    }
}
