//! A small builder for tests that run the `cutover` binary, in the style of
//! casey/just's `tests/test.rs`:
//!
//! ```ignore
//! Test::new()
//!     .file("cutover.yaml", PLAN)
//!     .args(["render"])
//!     .run()
//!     .expect_code(0)
//!     .stdout_contains("written");
//! ```
//!
//! Every test gets its own temporary folder, which is the binary's working directory.
//! Colour is off unless a test asks for it (`NO_COLOR=1` is set; `.env_remove` clears it).

#![allow(dead_code)] // each test crate uses a different part of this module

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_cutover");

/// One run of the binary in a temporary folder.
pub struct Test {
    dir: TempDir,
    args: Vec<OsString>,
    env: Vec<(String, Option<String>)>,
}

impl Test {
    /// A fresh, empty temporary folder (not a git repository).
    pub fn new() -> Test {
        Test {
            dir: tempfile::Builder::new()
                .prefix("cutover-test-")
                .tempdir()
                .expect("create a temporary folder"),
            args: Vec::new(),
            env: vec![("NO_COLOR".into(), Some("1".into()))],
        }
    }

    /// Makes the folder a real git repository (`git init -q`, with a committer identity).
    pub fn git_init(self) -> Test {
        self.git(&["init", "-q"]);
        self.git(&["config", "user.email", "test@example.com"]);
        self.git(&["config", "user.name", "test"]);
        self.git(&["config", "commit.gpgsign", "false"]);
        self
    }

    /// Creates an empty `.git` folder: enough for cutover to treat the folder as a repository root.
    pub fn git_folder(self) -> Test {
        fs::create_dir_all(self.path().join(".git")).expect("create .git");
        self
    }

    /// Writes `contents` to `path` (relative to the test folder), creating parent folders.
    pub fn file(self, path: &str, contents: impl AsRef<[u8]>) -> Test {
        self.write(path, contents);
        self
    }

    /// Replaces the arguments for the next [`Test::run`].
    pub fn args<I, S>(mut self, args: I) -> Test
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Sets an environment variable for the binary.
    pub fn env(mut self, key: &str, value: &str) -> Test {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), Some(value.into())));
        self
    }

    /// Removes an environment variable for the binary.
    pub fn env_remove(mut self, key: &str) -> Test {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), None));
        self
    }

    /// The test folder (canonical, so it compares equal to paths the binary prints).
    pub fn path(&self) -> PathBuf {
        self.dir
            .path()
            .canonicalize()
            .expect("canonical test folder")
    }

    /// Writes a file without consuming the builder (for changes between runs).
    pub fn write(&self, path: &str, contents: impl AsRef<[u8]>) {
        let p = self.dir.path().join(path);
        fs::create_dir_all(p.parent().expect("parent")).expect("create folders");
        fs::write(&p, contents).expect("write file");
    }

    /// Reads a file of the test folder.
    pub fn read(&self, path: &str) -> String {
        fs::read_to_string(self.dir.path().join(path))
            .unwrap_or_else(|e| panic!("read {path}: {e}"))
    }

    /// Whether `path` exists in the test folder (symlinks are not followed).
    pub fn exists(&self, path: &str) -> bool {
        self.dir.path().join(path).symlink_metadata().is_ok()
    }

    /// A command for the binary, with this test's folder and environment.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(self.dir.path()).args(&self.args);
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd
    }

    /// Runs the binary with the current arguments; the builder can be run again.
    pub fn run(&self) -> Output {
        run(self.command(), &self.args)
    }

    /// Sets the arguments and runs (shorthand for a second run in the same folder).
    pub fn run_with<I, S>(&mut self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args = args.into_iter().map(Into::into).collect();
        self.run()
    }

    /// Runs `git` in the test folder.
    pub fn git(&self, args: &[&str]) -> String {
        git(self.dir.path(), args)
    }

    /// Every file and symlink under the test folder (skipping `.git`), with its
    /// contents, inode and modification time.
    pub fn snapshot(&self) -> Snapshot {
        snapshot(self.dir.path())
    }
}

impl Default for Test {
    fn default() -> Self {
        Test::new()
    }
}

/// What one run printed and returned.
#[derive(Debug)]
pub struct Output {
    /// What was run, for failure messages.
    pub command: String,
    /// Standard output.
    pub stdout: String,
    /// Standard output, byte for byte.
    pub stdout_bytes: Vec<u8>,
    /// Standard error.
    pub stderr: String,
    /// Exit code (`-1` when killed by a signal).
    pub code: i32,
}

impl Output {
    fn context(&self) -> String {
        format!(
            "command: {}\nexit code: {}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Output {
        assert_eq!(self.code, code, "unexpected exit code\n{}", self.context());
        self
    }

    /// Asserts that stdout contains `text`.
    #[track_caller]
    pub fn stdout_contains(&self, text: &str) -> &Output {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}\n{}",
            self.context()
        );
        self
    }

    /// Asserts that stdout does not contain `text`.
    #[track_caller]
    pub fn stdout_lacks(&self, text: &str) -> &Output {
        assert!(
            !self.stdout.contains(text),
            "stdout has {text:?}\n{}",
            self.context()
        );
        self
    }

    /// Asserts that stderr contains `text`.
    #[track_caller]
    pub fn stderr_contains(&self, text: &str) -> &Output {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}\n{}",
            self.context()
        );
        self
    }

    /// Asserts that stderr does not contain `text`.
    #[track_caller]
    pub fn stderr_lacks(&self, text: &str) -> &Output {
        assert!(
            !self.stderr.contains(text),
            "stderr has {text:?}\n{}",
            self.context()
        );
        self
    }

    /// Asserts that stdout is exactly `text`.
    #[track_caller]
    pub fn stdout_is(&self, text: &str) -> &Output {
        assert_eq!(self.stdout, text, "stdout differs\n{}", self.context());
        self
    }

    /// Asserts that stderr is exactly `text`.
    #[track_caller]
    pub fn stderr_is(&self, text: &str) -> &Output {
        assert_eq!(self.stderr, text, "stderr differs\n{}", self.context());
        self
    }
}

/// Runs `cmd` to completion and captures its output.
pub fn run(mut cmd: Command, args: &[OsString]) -> Output {
    let shown: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .expect("run the cutover binary");
    Output {
        command: format!("cutover {}", shown.join(" ")),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stdout_bytes: out.stdout.clone(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// Runs `git` in `dir`, failing the test when it fails; returns its stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {} failed:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One file (or symlink) as seen by [`snapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Contents (the link target for symlinks).
    pub bytes: Vec<u8>,
    /// Inode number (0 off Unix).
    pub ino: u64,
    /// Modification time.
    pub mtime: std::time::SystemTime,
}

/// Files under a folder, by `/`-separated relative path. Folders appear with empty contents.
pub type Snapshot = BTreeMap<String, Entry>;

/// Every file, folder and symlink under `root`, skipping `.git`.
pub fn snapshot(root: &Path) -> Snapshot {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Snapshot) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("read folder")
        .map(|e| e.expect("folder entry"))
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let rel = path
            .strip_prefix(root)
            .expect("inside root")
            .to_string_lossy()
            .replace('\\', "/");
        if rel == ".git" {
            continue;
        }
        let meta = fs::symlink_metadata(&path).expect("metadata");
        let bytes = if meta.file_type().is_symlink() {
            fs::read_link(&path)
                .expect("read link")
                .to_string_lossy()
                .into_owned()
                .into_bytes()
        } else if meta.is_file() {
            fs::read(&path).expect("read file")
        } else {
            Vec::new()
        };
        #[cfg(unix)]
        let ino = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let ino = 0;
        let is_dir = meta.is_dir();
        out.insert(
            if is_dir { format!("{rel}/") } else { rel },
            Entry {
                bytes,
                ino,
                mtime: meta.modified().expect("mtime"),
            },
        );
        if is_dir {
            walk(root, &path, out);
        }
    }
}

/// Copies the folder `from` into `to` (files and folders only).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create folder");
    for e in fs::read_dir(from).expect("read folder") {
        let e = e.expect("folder entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            fs::copy(e.path(), &target).expect("copy file");
        }
    }
}

/// A plan of two migrations of three stages each (kustomize layout: 12 files), shared by
/// the CLI test files.
pub const PLAN: &str = "\
version: 1
output: deploy
defaults:
  namespace: payments
  stages: [{mirror: 100}, {weight: 10}, {weight: 100}]
migrations:
  - name: checkout
    from: checkout-se.example.com
    to: checkout-gcp.example.com
  - name: ledger
    from: ledger-se.example.com
    to: ledger-gcp.example.com
";

/// Asserts two snapshots are identical, listing the paths that differ.
#[track_caller]
pub fn assert_unchanged(before: &Snapshot, after: &Snapshot) {
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys().filter(|k| !before.contains_key(*k)))
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(changed.is_empty(), "changed on disk: {changed:?}");
}
