//! Writing generated files to disk, atomically and all-or-nothing where it can.
//!
//! A [`Stager`] first writes every new content where no reader looks: a file whose folder
//! exists goes to a temporary file beside it; files in folders that do not exist yet go,
//! under their final names, into a temporary copy of the highest missing folder (so a
//! first render of a migration creates its folder with one rename, not one per file).
//! Only when everything is staged and flushed to disk ([`Stager::commit`]) are the
//! temporary files and folders renamed into place, so an error while staging leaves the
//! tree exactly as it was, and a reader (or a crash) sees each file either old or new,
//! never half-written. Temporary names are `.cutover-*.tmp`; the next render deletes any
//! that a killed run left behind. Removed files take their emptied folders with them, up
//! to the plan's output folder.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::sync::compare::{Changeset, Sink, Status};

/// Writes and removes the files of `changes` (computed with their contents kept).
/// `plans` are the plans the changeset was computed for (to know where each output
/// folder ends). A file to write without contents (a changeset computed without them) is
/// an internal error, and nothing is written.
pub fn apply(plans: &[Plan], changes: &Changeset) -> Result<()> {
    let stager = Stager::new();
    for c in changes
        .changes
        .iter()
        .filter(|c| c.status != Status::Removed)
    {
        let contents = c.new.as_deref().ok_or_else(|| {
            Error::Internal(format!(
                "{} is to be written, but its change was computed without contents",
                c.rel
            ))
        })?;
        let output = &plans[c.plan].output;
        stager.stage(
            &c.path,
            contents.as_bytes(),
            c.status == Status::Modified,
            output,
            &|d: &Path| d.is_dir(),
        )?;
    }
    stager.commit(plans, changes)
}

/// Staged writes of one run. Safe to use from several threads; dropping it without
/// [`commit`](Stager::commit) deletes everything it staged.
#[derive(Default)]
pub struct Stager {
    state: Mutex<State>,
    /// Set when new folders must be made for real (see [`Stager::file_by_file`]).
    no_stand_ins: AtomicBool,
}

#[derive(Default)]
struct State {
    /// Temporary file → the file it replaces or creates.
    files: Vec<(PathBuf, PathBuf)>,
    /// Missing folder → the temporary folder standing in for it.
    folders: HashMap<PathBuf, PathBuf>,
    /// Folders made for real (above an output folder that did not exist, or all of them
    /// with [`Stager::file_by_file`]), outermost first.
    made_above: Vec<PathBuf>,
    /// Set once committed: nothing is left to delete on drop.
    committed: bool,
}

/// Distinguishes the temporary names of one process.
static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Stager {
    /// A stager with nothing staged.
    pub fn new() -> Stager {
        Stager::default()
    }

    /// Makes missing folders for real (recorded, and removed again if the run fails) and
    /// stages every file beside its target, instead of standing a temporary folder in for
    /// the highest missing one. Needed when one plan's output folder lies inside another's,
    /// where one stand-in could have to hold another.
    pub fn file_by_file(&self) {
        self.no_stand_ins.store(true, Ordering::Relaxed);
    }

    /// Stages `contents` for `path`, which lies under `output` (a plan's output folder).
    /// `exists` says whether `path` is an existing file (its mode is kept; new files get
    /// 0644), `dir_exists` whether a folder exists (the caller may know from its scan).
    pub fn stage(
        &self,
        path: &Path,
        contents: &[u8],
        exists: bool,
        output: &Path,
        dir_exists: &(dyn Fn(&Path) -> bool + Sync),
    ) -> Result<()> {
        let err = |e: std::io::Error| Error::Write {
            path: path.to_path_buf(),
            source: e,
        };
        let parent = path
            .parent()
            .ok_or_else(|| err(std::io::Error::other("no parent folder")))?;
        // The highest folder from `path` up to `output` that does not exist yet.
        let mut top = None;
        if !exists {
            let mut dir = Some(parent);
            while let Some(d) = dir {
                if dir_exists(d) {
                    break;
                }
                top = Some(d);
                if d == output || !d.starts_with(output) {
                    break;
                }
                dir = d.parent();
            }
        }
        if top.is_some() && self.no_stand_ins.load(Ordering::Relaxed) {
            let mut state = self.lock();
            create_dirs(parent, &mut state.made_above).map_err(err)?;
            top = None;
        }
        match top {
            None => {
                let perms = if exists {
                    Some(fs::metadata(path).map(|m| m.permissions()).map_err(err)?)
                } else {
                    None
                };
                let tmp = self
                    .create_temp_file(parent, contents, perms)
                    .map_err(err)?;
                self.lock().files.push((tmp, path.to_path_buf()));
            }
            Some(top) => {
                let stand_in = self.stand_in(top).map_err(err)?;
                let rel = path.strip_prefix(top).expect("top is an ancestor of path");
                let inside = stand_in.join(rel);
                let mut file = create_inside(&stand_in, &inside).map_err(err)?;
                write_all(&mut file, contents, None).map_err(err)?;
            }
        }
        Ok(())
    }

    /// Makes everything staged durable, renames it into place, then removes the files
    /// `changes` marks as removed (and their emptied folders) and the temporary files a
    /// killed earlier run left (`changes.leftovers`).
    ///
    /// A failure before the first rename leaves the tree as it was. A failure after it (a
    /// rename or removal refused by the file system) stops at once; every file is still
    /// whole, old or new, and the error says how far it got.
    pub fn commit(self, plans: &[Plan], changes: &Changeset) -> Result<()> {
        for leftover in &changes.leftovers {
            remove_leftover(leftover).map_err(|e| Error::Write {
                path: leftover.clone(),
                source: e,
            })?;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let moves: Vec<(PathBuf, PathBuf)> = {
            let mut folders: Vec<(PathBuf, PathBuf)> = state
                .folders
                .iter()
                .map(|(top, tmp)| (tmp.clone(), top.clone()))
                .collect();
            folders.sort();
            state.files.iter().cloned().chain(folders).collect()
        };
        if !moves.is_empty() {
            flush(plans, &moves)?;
        }
        let total = moves.len()
            + changes
                .changes
                .iter()
                .filter(|c| c.status == Status::Removed)
                .count();
        let mut done = 0usize;
        let partial = |done: usize, path: &Path, e: std::io::Error| {
            let source = if done > 0 {
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "{e}; {done} of {total} changes were already made (each file is whole); fix the cause and run `cutover render` again"
                    ),
                )
            } else {
                e
            };
            Error::Write {
                path: path.to_path_buf(),
                source,
            }
        };
        // On failure the stager is dropped uncommitted: what was not renamed yet is deleted.
        for (tmp, target) in &moves {
            if let Err(e) = fs::rename(tmp, target) {
                return Err(partial(done, target, e));
            }
            done += 1;
        }
        state.committed = true;
        for c in changes
            .changes
            .iter()
            .filter(|c| c.status == Status::Removed)
        {
            match fs::remove_file(&c.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(partial(done, &c.path, e)),
            }
            done += 1;
            // A stray (outside the output folder) takes its emptied folders with it, up to
            // the repository root.
            let plan = &plans[c.plan];
            let stop = if c.path.starts_with(&plan.output) {
                &plan.output
            } else {
                &plan.root
            };
            prune_empty_dirs(&c.path, stop);
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The temporary folder standing in for the missing folder `top`, made on first use.
    fn stand_in(&self, top: &Path) -> std::io::Result<PathBuf> {
        let mut state = self.lock();
        if let Some(tmp) = state.folders.get(top) {
            return Ok(tmp.clone());
        }
        let parent = top
            .parent()
            .ok_or_else(|| std::io::Error::other("no parent folder"))?;
        if !parent.is_dir() {
            create_dirs(parent, &mut state.made_above)?;
        }
        let tmp = loop {
            let candidate = temp_name(parent);
            match fs::create_dir(&candidate) {
                Ok(()) => break candidate,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        };
        state.folders.insert(top.to_path_buf(), tmp.clone());
        Ok(tmp)
    }

    /// Writes `contents` to a new temporary file in `dir`, with mode `perms` (0644 when
    /// `None`), and returns its path.
    fn create_temp_file(
        &self,
        dir: &Path,
        contents: &[u8],
        perms: Option<fs::Permissions>,
    ) -> std::io::Result<PathBuf> {
        loop {
            let candidate = temp_name(dir);
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&candidate)
            {
                Ok(mut file) => {
                    if let Err(e) = write_all(&mut file, contents, perms) {
                        drop(file);
                        // Best effort: the write error is the one to report, and a
                        // `.cutover-*.tmp` left behind is deleted by the next render.
                        let _ = fs::remove_file(&candidate);
                        return Err(e);
                    }
                    return Ok(candidate);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for Stager {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if state.committed {
            return;
        }
        // Best effort (a drop cannot fail): the run already failed and says why, and any
        // `.cutover-*.tmp` left behind is deleted by the next render.
        for (tmp, _) in &state.files {
            let _ = fs::remove_file(tmp);
        }
        for tmp in state.folders.values() {
            let _ = fs::remove_dir_all(tmp);
        }
        remove_made(&state.made_above);
    }
}

/// Removes the file or folder an interrupted earlier run left (gone already is fine).
fn remove_leftover(path: &Path) -> std::io::Result<()> {
    let removed = match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) => Err(e),
    };
    match removed {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Creates the new file `path` inside the temporary folder `stand_in`, making the
/// folders between them as needed (the first try tells whether they exist, so no folder
/// list is kept).
fn create_inside(stand_in: &Path, path: &Path) -> std::io::Result<fs::File> {
    let open = || {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
    };
    match open() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut missing = Vec::new();
            let mut dir = path.parent();
            while let Some(d) = dir.filter(|d| *d != stand_in) {
                missing.push(d);
                dir = d.parent();
            }
            for d in missing.into_iter().rev() {
                match fs::create_dir(d) {
                    Ok(()) => {}
                    // Made before, or by another thread just now.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
            }
            open()
        }
        other => other,
    }
}

/// A fresh `.cutover-*.tmp` name in `dir`.
fn temp_name(dir: &Path) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".cutover-{}-{n}.tmp", std::process::id()))
}

/// Writes `contents` to a newly created file and gives it its mode: `perms`, or 0644
/// whatever the umask (generated manifests are ordinary repository files, rw-r--r--, as
/// git checks them out). Off Linux the file is also flushed to disk here.
fn write_all(
    file: &mut fs::File,
    contents: &[u8],
    perms: Option<fs::Permissions>,
) -> std::io::Result<()> {
    file.write_all(contents)?;
    match perms {
        Some(p) => file.set_permissions(p)?,
        None => {
            if umask_strips_0644() {
                file.set_permissions(default_permissions()?)?;
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    file.sync_all()?;
    Ok(())
}

/// Whether files created with mode 0666 end up without some bit of 0644 (a umask such as
/// 077), so that the mode must be set after creation. Read once, from /proc on Linux;
/// elsewhere assumed (which costs one call per file).
fn umask_strips_0644() -> bool {
    static STRIPS: std::sync::LazyLock<bool> = std::sync::LazyLock::new(|| {
        #[cfg(target_os = "linux")]
        {
            // Unreadable: assume the mode must be set (safe, one call per file).
            let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
            let mask = status
                .lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok());
            // Also set the mode when the umask leaves bits beyond 0644 (0666 & !022 is
            // 0644 exactly; a umask of 002 would leave group write).
            mask.is_none_or(|m| 0o666 & !m != 0o644)
        }
        #[cfg(not(target_os = "linux"))]
        {
            true
        }
    });
    *STRIPS
}

/// Replaces the file at `path` by `contents` atomically (temporary file, flush, rename),
/// keeping its mode. Used for the plan file that `promote` edits.
pub fn replace_file(path: &Path, contents: &[u8]) -> Result<()> {
    let abs = std::path::absolute(path).map_err(|e| Error::Write {
        path: path.to_path_buf(),
        source: e,
    })?;
    let path = abs.as_path();
    let err = |e: std::io::Error| Error::Write {
        path: path.to_path_buf(),
        source: e,
    };
    let dir = path
        .parent()
        .ok_or_else(|| err(std::io::Error::other("no parent folder")))?;
    let perms = if path.exists() {
        Some(fs::metadata(path).map(|m| m.permissions()).map_err(err)?)
    } else {
        None
    };
    let stager = Stager::new();
    let tmp = stager.create_temp_file(dir, contents, perms).map_err(err)?;
    let synced = fs::OpenOptions::new()
        .write(true)
        .open(&tmp)
        .and_then(|f| f.sync_all())
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = synced {
        // Best effort: the error above is the one to report.
        let _ = fs::remove_file(&tmp);
        return Err(err(e));
    }
    Ok(())
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
/// the temporary files are gone). Best effort, as part of undoing a failed run: a folder
/// that stays is empty, and git does not record empty folders.
fn remove_made(made: &[PathBuf]) {
    for d in made.iter().rev() {
        let _ = fs::remove_dir(d);
    }
}

/// Makes the staged files durable before they are renamed into place.
#[cfg(target_os = "linux")]
fn flush(plans: &[Plan], moves: &[(PathBuf, PathBuf)]) -> Result<()> {
    // One syncfs per file system rather than one fsync per file: the same guarantee (the
    // data is on disk before any rename), a fraction of the cost for thousands of files.
    use std::os::unix::fs::MetadataExt;
    let mut devices: Vec<u64> = Vec::new();
    let folders = plans
        .iter()
        .map(|p| p.output.as_path())
        .chain(moves.iter().filter_map(|(tmp, _)| tmp.parent()));
    for d in folders {
        let err = |e: std::io::Error| Error::Write {
            path: d.to_path_buf(),
            source: e,
        };
        let meta = match fs::metadata(d) {
            Ok(meta) => meta,
            // An output folder made by this run's commit: its files sit in a stand-in
            // folder, which is flushed through its own parent.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(err(e)),
        };
        if devices.contains(&meta.dev()) {
            continue;
        }
        devices.push(meta.dev());
        let handle = fs::File::open(d).map_err(err)?;
        rustix::fs::syncfs(&handle).map_err(|e| err(e.into()))?;
    }
    Ok(())
}

/// Makes the staged files durable before they are renamed into place (each file was
/// flushed as it was written).
#[cfg(not(target_os = "linux"))]
fn flush(_plans: &[Plan], _moves: &[(PathBuf, PathBuf)]) -> Result<()> {
    Ok(())
}

#[cfg(unix)]
fn default_permissions() -> std::io::Result<fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Ok(fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn default_permissions() -> std::io::Result<fs::Permissions> {
    let mut p = fs::metadata(std::env::temp_dir())?.permissions();
    p.set_readonly(false);
    Ok(p)
}

/// Removes `files` (generated from plans that no longer exist, see
/// [`crate::sync::strays::abandoned`]) and the folders that leaves empty, up to `root`.
/// Stops at the first file that cannot be removed; the error says how many were.
pub fn remove_abandoned(files: &[PathBuf], root: &Path) -> Result<()> {
    for (done, path) in files.iter().enumerate() {
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::Write {
                    path: path.clone(),
                    source: std::io::Error::new(
                        e.kind(),
                        format!("{e}; {done} of {} files were already removed", files.len()),
                    ),
                })
            }
        }
        prune_empty_dirs(path, root);
    }
    Ok(())
}

/// Removes the folders above `file` that became empty, stopping at `stop` or at the first
/// folder that cannot be removed: normally one that is not empty; otherwise an empty
/// folder stays, which changes nothing git records.
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

impl Sink for Stager {
    fn file_by_file(&self) {
        Stager::file_by_file(self);
    }

    fn stage(
        &self,
        path: &Path,
        contents: &[u8],
        exists: bool,
        output: &Path,
        dir_exists: &(dyn Fn(&Path) -> bool + Sync),
    ) -> Result<()> {
        Stager::stage(self, path, contents, exists, output, dir_exists)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_changes() -> Changeset {
        Changeset::default()
    }

    fn write(path: &Path, output: &Path, contents: &[u8]) {
        let stager = Stager::new();
        stager
            .stage(path, contents, path.exists(), output, &|d: &Path| {
                d.is_dir()
            })
            .unwrap();
        stager.commit(&[], &no_changes()).unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn writes_whole_files_and_keeps_mode() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("a");
        let p = out.join("b/file.yaml");
        write(&p, &out, b"one\n");
        assert_eq!(fs::read(&p).unwrap(), b"one\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&p), 0o644);
            fs::set_permissions(&p, fs::Permissions::from_mode(0o664)).unwrap();
            write(&p, &out, b"two\n");
            assert_eq!(fs::read(&p).unwrap(), b"two\n");
            assert_eq!(
                mode(&p),
                0o664,
                "an existing file keeps its mode, umask or not"
            );
        }
        assert_eq!(
            names(p.parent().unwrap()),
            ["file.yaml"],
            "no temporary files left"
        );
        assert_eq!(names(tmp.path()), ["a"]);
    }

    #[test]
    fn new_folders_appear_whole_at_commit() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("keep"), "x").unwrap();
        let stager = Stager::new();
        let a = out.join("m/stages/01-a/virtualservice.yaml");
        let b = out.join("m/stages/02-b/virtualservice.yaml");
        let dir_exists = |d: &Path| d.is_dir();
        stager.stage(&a, b"a\n", false, &out, &dir_exists).unwrap();
        stager.stage(&b, b"b\n", false, &out, &dir_exists).unwrap();
        assert!(!out.join("m").exists(), "nothing visible before commit");
        assert_eq!(names(&out).len(), 2, "one temporary folder beside `keep`");
        stager.commit(&[], &no_changes()).unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"a\n");
        assert_eq!(fs::read(&b).unwrap(), b"b\n");
        assert_eq!(names(&out), ["keep", "m"]);
    }

    #[test]
    fn dropping_a_stager_undoes_everything() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("x/y/out");
        let existing = tmp.path().join("file.yaml");
        fs::write(&existing, "old\n").unwrap();
        let stager = Stager::new();
        let dir_exists = |d: &Path| d.is_dir();
        stager
            .stage(&out.join("m/a.yaml"), b"a\n", false, &out, &dir_exists)
            .unwrap();
        stager
            .stage(&existing, b"new\n", true, tmp.path(), &dir_exists)
            .unwrap();
        // file.yaml, its temporary file, and x/ (made for the stand-in folder of out/)
        assert_eq!(names(tmp.path()).len(), 3, "{:?}", names(tmp.path()));
        assert!(tmp.path().join("x/y").is_dir());
        drop(stager);
        assert_eq!(names(tmp.path()), ["file.yaml"], "folders made are removed");
        assert_eq!(fs::read(&existing).unwrap(), b"old\n");
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
    fn a_file_to_write_without_contents_is_an_internal_error() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.yaml");
        let changes = Changeset {
            changes: vec![crate::sync::compare::Change {
                path: path.clone(),
                rel: "x.yaml".into(),
                status: Status::Added,
                old: None,
                new: None,
                plan: 0,
                reason: None,
            }],
            ..Changeset::default()
        };
        let err = apply(&[], &changes).unwrap_err();
        assert!(matches!(err, Error::Internal(_)), "{err}");
        assert!(!path.exists(), "no empty file written");
    }

    #[test]
    fn a_leftover_that_cannot_be_removed_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        fs::write(&file, "x").unwrap();
        let gone = tmp.path().join(".cutover-1-0.tmp");
        // Under a file: neither a file nor a folder can be removed there.
        let stuck = file.join(".cutover-1-1.tmp");
        let changes = Changeset {
            leftovers: vec![gone, stuck.clone()],
            ..Changeset::default()
        };
        let err = Stager::new().commit(&[], &changes).unwrap_err();
        assert!(
            matches!(&err, Error::Write { path, .. } if *path == stuck),
            "{err}"
        );
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
