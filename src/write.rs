//! Applying a [`Changeset`] to disk, one file at a time, each atomically.
//!
//! New contents go to a temporary file in the target's folder, are flushed to disk, and
//! are renamed over the target, so a reader (or a crash) sees the old file or the new
//! one, never a mix. Removed files take their emptied folders with them, up to the
//! plan's output folder.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::tree::{Changeset, Status};

/// Writes and removes the files of `changes`. `plans` are the plans the changeset was
/// computed for (to know where each output folder ends).
pub fn apply(plans: &[Plan], changes: &Changeset) -> Result<()> {
    for c in changes
        .changes
        .iter()
        .filter(|c| c.status != Status::Removed)
    {
        let contents = c.new.as_deref().unwrap_or_default();
        write_atomic(&c.path, contents.as_bytes())?;
    }
    for c in changes
        .changes
        .iter()
        .filter(|c| c.status == Status::Removed)
    {
        match fs::remove_file(&c.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::Write {
                    path: c.path.clone(),
                    source: e,
                })
            }
        }
        prune_empty_dirs(&c.path, &plans[c.plan].output);
    }
    Ok(())
}

/// Replaces `path` with `contents` atomically (temporary file, fsync, rename).
/// A new file gets mode 0644 (less the umask); an existing file keeps its mode.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let err = |e: std::io::Error| Error::Write {
        path: path.to_path_buf(),
        source: e,
    };
    let dir = path
        .parent()
        .ok_or_else(|| err(std::io::Error::other("no parent folder")))?;
    fs::create_dir_all(dir).map_err(err)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".cutover-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(contents).map_err(err)?;
    let perms = match fs::metadata(path) {
        Ok(meta) => meta.permissions(),
        Err(_) => default_permissions(),
    };
    fs::set_permissions(tmp.path(), perms).map_err(err)?;
    tmp.as_file().sync_data().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(unix)]
fn default_permissions() -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    // Generated manifests are ordinary repository files: rw-r--r--, as git checks them out.
    fs::Permissions::from_mode(0o644)
}

#[cfg(not(unix))]
fn default_permissions() -> fs::Permissions {
    let mut p = fs::metadata(std::env::temp_dir())
        .map(|m| m.permissions())
        .expect("the temporary folder exists");
    p.set_readonly(false);
    p
}

/// Removes the folders above `file` that became empty, stopping at `stop`.
fn prune_empty_dirs(file: &Path, stop: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == stop || !d.starts_with(stop) {
            break;
        }
        if fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_atomically_and_keeps_mode() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("a/b/file.yaml");
        write_atomic(&p, b"one\n").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o644
            );
            fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
            write_atomic(&p, b"two\n").unwrap();
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let leftovers: Vec<_> = fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary files are left behind");
    }

    #[test]
    fn prunes_only_below_the_output_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let f = out.join("m/stages/01-x/file");
        fs::create_dir_all(f.parent().unwrap()).unwrap();
        fs::write(out.join("m/keep"), "x").unwrap();
        prune_empty_dirs(&f, &out);
        assert!(!out.join("m/stages").exists());
        assert!(out.join("m/keep").exists());
        assert!(out.exists());
    }
}
