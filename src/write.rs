//! Applying a [`Changeset`] to disk, atomically per file and all-or-nothing where it can.
//!
//! Every new content is first written to a temporary file in its target's folder. Only
//! when all of them are written and flushed to disk are they renamed over their targets,
//! so an error while writing leaves every file as it was, and a reader (or a crash) sees
//! each file either old or new, never a mix. Removed files take their emptied folders
//! with them, up to the plan's output folder.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::TempPath;

use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::tree::{Changeset, Status};

/// Writes and removes the files of `changes`. `plans` are the plans the changeset was
/// computed for (to know where each output folder ends).
///
/// Until the first rename, any failure leaves the tree exactly as it was (temporary
/// files and the folders made for them are removed). A failure after that (a rename or
/// removal refused by the file system) stops at once; every file is still whole, old or
/// new, and the error says how far it got.
pub fn apply(plans: &[Plan], changes: &Changeset) -> Result<()> {
    // Temporary files of a run that was killed before it could rename or delete them.
    for leftover in &changes.leftovers {
        let _ = fs::remove_file(leftover);
    }
    let mut made = Folders::default();
    let mut staged: Vec<(TempPath, &Path)> = Vec::new();
    let writes = changes
        .changes
        .iter()
        .filter(|c| c.status != Status::Removed);
    for c in writes {
        let contents = c.new.as_deref().unwrap_or_default();
        let exists = c.status == Status::Modified;
        match stage(&c.path, contents.as_bytes(), exists, &mut made) {
            Ok(tmp) => staged.push((tmp, &c.path)),
            Err(e) => {
                drop(staged);
                remove_made(&made.created);
                return Err(e);
            }
        }
    }
    if let Err(e) = flush(plans, staged.iter().map(|(t, _)| t.as_ref())) {
        drop(staged);
        remove_made(&made.created);
        return Err(e);
    }
    let total = changes.changes.len();
    let mut done = 0usize;
    let partial = |done: usize, e: Error| {
        match e {
        Error::Write { path, source } if done > 0 => Error::Write {
            path,
            source: std::io::Error::new(
                source.kind(),
                format!(
                    "{source}; {done} of {total} changes were already made (each file is whole); fix the cause and run `cutover render` again"
                ),
            ),
        },
        other => other,
    }
    };
    let mut pending = staged.into_iter();
    for (tmp, target) in pending.by_ref() {
        if let Err(e) = tmp.persist(target) {
            return Err(partial(
                done,
                Error::Write {
                    path: target.to_path_buf(),
                    source: e.error,
                },
            ));
        }
        done += 1;
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
                return Err(partial(
                    done,
                    Error::Write {
                        path: c.path.clone(),
                        source: e,
                    },
                ))
            }
        }
        done += 1;
        prune_empty_dirs(&c.path, &plans[c.plan].output);
    }
    Ok(())
}

/// The folders a run has made sure of.
#[derive(Default)]
struct Folders {
    /// Folders known to exist (checked or created).
    known: HashSet<PathBuf>,
    /// Folders this run created, outermost first.
    created: Vec<PathBuf>,
}

/// Replaces the file at `path` by `contents` atomically (temporary file, flush, rename),
/// keeping its mode. Used for the plan file that `promote` edits.
pub fn replace_file(path: &Path, contents: &[u8]) -> Result<()> {
    let abs = std::path::absolute(path).map_err(|e| Error::Write {
        path: path.to_path_buf(),
        source: e,
    })?;
    let path = abs.as_path();
    let mut made = Folders::default();
    let tmp = stage(path, contents, path.exists(), &mut made)?;
    let file = fs::OpenOptions::new()
        .write(true)
        .open(&tmp)
        .and_then(|f| f.sync_all());
    file.map_err(|e| Error::Write {
        path: path.to_path_buf(),
        source: e,
    })?;
    tmp.persist(path).map_err(|e| Error::Write {
        path: path.to_path_buf(),
        source: e.error,
    })
}

/// Writes `contents` to a closed temporary file beside `path`, with `path`'s future mode
/// (an existing file's mode, or 0644). Folders it creates are recorded in `made`.
/// The temporary file is deleted if it is dropped without being persisted.
fn stage(path: &Path, contents: &[u8], exists: bool, made: &mut Folders) -> Result<TempPath> {
    let err = |e: std::io::Error| Error::Write {
        path: path.to_path_buf(),
        source: e,
    };
    let dir = path
        .parent()
        .ok_or_else(|| err(std::io::Error::other("no parent folder")))?;
    if !made.known.contains(dir) {
        create_dirs(dir, &mut made.created).map_err(err)?;
        made.known.insert(dir.to_path_buf());
    }
    let perms = if exists {
        fs::metadata(path).map(|m| m.permissions()).map_err(err)?
    } else {
        default_permissions()
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".cutover-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(contents).map_err(err)?;
    // Set after creation: the mode given at creation would be reduced by the umask.
    fs::set_permissions(tmp.path(), perms).map_err(err)?;
    Ok(tmp.into_temp_path())
}

/// Creates `dir` and its missing parents, recording each folder created (outermost first).
fn create_dirs(dir: &Path, made: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.is_dir() {
            break;
        }
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    for d in missing.into_iter().rev() {
        match fs::create_dir(&d) {
            Ok(()) => made.push(d),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Removes the folders this run created, innermost first (they are empty again once
/// the temporary files are gone).
fn remove_made(made: &[PathBuf]) {
    for d in made.iter().rev() {
        let _ = fs::remove_dir(d);
    }
}

/// Makes the staged files durable before they are renamed into place.
#[cfg(target_os = "linux")]
fn flush<'a>(plans: &[Plan], staged: impl Iterator<Item = &'a Path>) -> Result<()> {
    // One syncfs per file system rather than one fsync per file: the same guarantee (the
    // data is on disk before any rename), a fraction of the cost for thousands of files.
    use std::os::unix::fs::MetadataExt;
    if staged.count() == 0 {
        return Ok(());
    }
    let mut devices: Vec<u64> = Vec::new();
    for d in plans
        .iter()
        .map(|p| p.output.as_path())
        .filter(|d| d.exists())
    {
        let err = |e: std::io::Error| Error::Write {
            path: d.to_path_buf(),
            source: e,
        };
        let dev = fs::metadata(d).map_err(err)?.dev();
        if devices.contains(&dev) {
            continue;
        }
        devices.push(dev);
        let handle = fs::File::open(d).map_err(err)?;
        rustix::fs::syncfs(&handle).map_err(|e| err(e.into()))?;
    }
    Ok(())
}

/// Makes the staged files durable before they are renamed into place.
#[cfg(not(target_os = "linux"))]
fn flush<'a>(_plans: &[Plan], staged: impl Iterator<Item = &'a Path>) -> Result<()> {
    for f in staged {
        let file = fs::OpenOptions::new().write(true).open(f);
        file.and_then(|f| f.sync_all()).map_err(|e| Error::Write {
            path: f.to_path_buf(),
            source: e,
        })?;
    }
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

    fn write(path: &Path, contents: &[u8]) {
        let mut made = Folders::default();
        let tmp = stage(path, contents, path.exists(), &mut made).unwrap();
        tmp.persist(path).unwrap();
    }

    #[test]
    fn writes_whole_files_and_keeps_mode() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("a/b/file.yaml");
        write(&p, b"one\n");
        assert_eq!(fs::read(&p).unwrap(), b"one\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&p), 0o644);
            fs::set_permissions(&p, fs::Permissions::from_mode(0o664)).unwrap();
            write(&p, b"two\n");
            assert_eq!(
                mode(&p),
                0o664,
                "an existing file keeps its mode, umask or not"
            );
        }
        let leftovers: Vec<_> = fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary files are left behind");
    }

    #[test]
    fn records_and_removes_only_the_folders_it_made() {
        let tmp = tempfile::tempdir().unwrap();
        let mine = tmp.path().join("user-empty");
        fs::create_dir(&mine).unwrap();
        let mut made = Vec::new();
        create_dirs(&mine.join("x/y"), &mut made).unwrap();
        assert_eq!(made, [mine.join("x"), mine.join("x/y")]);
        remove_made(&made);
        assert!(mine.is_dir(), "a folder that existed before is kept");
        assert!(!mine.join("x").exists());
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
