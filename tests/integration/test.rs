//! The `Test` builder for tests that run the `cutover` binary, in the style of casey/just's
//! `tests/test.rs`: set up a folder, name the command and what it must print, then `run`.
//!
//! ```ignore
//! let t = Test::new().file("cutover.yaml", PLAN);
//! t.args(["render", "-q"]).run();                       // exit 0, no stdout, no stderr
//! t.args(["check"]).status(1).stdout_contains("missing: ").run();
//! ```
//!
//! `run` checks the exit status (0 unless set with `status`), stdout and stderr: each must be
//! empty unless the test says what it holds (`stdout`, `stdout_contains`, `stdout_lacks`, ...)
//! or states that it reads stdout itself (`any_stdout`, then `Output::stdout`). A test
//! cannot forget to look at what the binary printed. Output compared with an insta snapshot
//! goes through [`Test::command`] and `insta_cmd::assert_cmd_snapshot!` instead.
//!
//! Every `Test::new` gets its own temporary folder (not a git repository unless `git_init`),
//! which is the binary's working directory. `args` starts a new command in the same folder,
//! so one folder can see several runs. Colour is off (`NO_COLOR=1`; `env_remove` clears it).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_cutover");

/// What a test expects of stdout or stderr. Nothing set: the stream must be empty.
#[derive(Clone, Debug, Default)]
struct Expect {
    exact: Option<String>,
    contains: Vec<String>,
    lacks: Vec<String>,
    any: bool,
}

impl Expect {
    /// The failures of `actual` against this expectation, one line each.
    fn check(&self, stream: &str, actual: &str) -> Vec<String> {
        let mut failures = Vec::new();
        let unset =
            self.exact.is_none() && self.contains.is_empty() && self.lacks.is_empty() && !self.any;
        if unset && !actual.is_empty() {
            failures.push(format!(
                "{stream} is not empty: say what it holds ({stream}, {stream}_contains, ...)"
            ));
        }
        if let Some(exact) = &self.exact {
            if exact != actual {
                failures.push(format!("{stream} differs from\n{exact}"));
            }
        }
        for text in &self.contains {
            if !actual.contains(text.as_str()) {
                failures.push(format!("{stream} lacks {text:?}"));
            }
        }
        for text in &self.lacks {
            if actual.contains(text.as_str()) {
                failures.push(format!("{stream} has {text:?}"));
            }
        }
        failures
    }
}

/// A folder, and one command to run in it with what it must print.
#[must_use = "a Test checks nothing until .run()"]
#[derive(Clone)]
pub struct Test {
    dir: Rc<TempDir>,
    args: Vec<OsString>,
    env: Vec<(String, Option<String>)>,
    umask: Option<u32>,
    dir_in: Option<String>,
    timeout: Option<Duration>,
    status: i32,
    stdout: Expect,
    stderr: Expect,
}

impl Test {
    /// A fresh, empty temporary folder (not a git repository).
    pub fn new() -> Test {
        Test {
            dir: Rc::new(
                tempfile::Builder::new()
                    .prefix("cutover-test-")
                    .tempdir()
                    .expect("create a temporary folder"),
            ),
            args: Vec::new(),
            env: vec![("NO_COLOR".into(), Some("1".into()))],
            umask: None,
            dir_in: None,
            timeout: None,
            status: 0,
            stdout: Expect::default(),
            stderr: Expect::default(),
        }
    }

    // ------------------------------------------------------------ the folder

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

    /// Sets an environment variable for the binary (for this and later commands).
    pub fn env(mut self, key: &str, value: &str) -> Test {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), Some(value.into())));
        self
    }

    /// Removes an environment variable for the binary (for this and later commands).
    pub fn env_remove(mut self, key: &str) -> Test {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), None));
        self
    }

    // ------------------------------------------------------------ the command

    /// A new command in this test's folder, with its environment and default expectations
    /// (exit status 0, nothing on stdout or stderr).
    pub fn args<I, S>(&self, args: I) -> Test
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Test {
            dir: Rc::clone(&self.dir),
            args: args.into_iter().map(Into::into).collect(),
            env: self.env.clone(),
            umask: None,
            dir_in: None,
            timeout: None,
            status: 0,
            stdout: Expect::default(),
            stderr: Expect::default(),
        }
    }

    /// Runs the command under the file mode creation mask `mask` (through `sh`).
    pub fn umask(mut self, mask: u32) -> Test {
        self.umask = Some(mask);
        self
    }

    /// Runs the command in the subfolder `path` of the test folder.
    pub fn current_dir(mut self, path: &str) -> Test {
        self.dir_in = Some(path.to_owned());
        self
    }

    /// Kills the command and fails the test ("hang") when it runs longer than `limit`.
    pub fn timeout(mut self, limit: Duration) -> Test {
        self.timeout = Some(limit);
        self
    }

    /// The exit status the command must end with (default 0).
    pub fn status(mut self, code: i32) -> Test {
        self.status = code;
        self
    }

    /// Stdout must be exactly `text`.
    pub fn stdout(mut self, text: impl Into<String>) -> Test {
        self.stdout.exact = Some(text.into());
        self
    }

    /// Stderr must be exactly `text`.
    pub fn stderr(mut self, text: impl Into<String>) -> Test {
        self.stderr.exact = Some(text.into());
        self
    }

    /// Stdout must contain `text` (may be given several times).
    pub fn stdout_contains(mut self, text: impl Into<String>) -> Test {
        self.stdout.contains.push(text.into());
        self
    }

    /// Stderr must contain `text` (may be given several times).
    pub fn stderr_contains(mut self, text: impl Into<String>) -> Test {
        self.stderr.contains.push(text.into());
        self
    }

    /// Stdout must not contain `text`.
    pub fn stdout_lacks(mut self, text: impl Into<String>) -> Test {
        self.stdout.lacks.push(text.into());
        self
    }

    /// Stderr must not contain `text`.
    pub fn stderr_lacks(mut self, text: impl Into<String>) -> Test {
        self.stderr.lacks.push(text.into());
        self
    }

    /// Stdout may hold anything: the test checks [`Output::stdout`] itself.
    pub fn any_stdout(mut self) -> Test {
        self.stdout.any = true;
        self
    }

    /// The command as a [`Command`] (binary, arguments, folder, environment), for tests that
    /// spawn it themselves or snapshot it with `insta_cmd`.
    pub fn command(&self) -> Command {
        let mut cmd = match self.umask {
            Some(mask) => {
                let mut sh = Command::new("sh");
                sh.arg("-c")
                    .arg(format!("umask {mask:03o}; exec \"$0\" \"$@\""))
                    .arg(BIN);
                sh
            }
            None => Command::new(BIN),
        };
        let dir = match &self.dir_in {
            Some(sub) => self.dir.path().join(sub),
            None => self.dir.path().to_path_buf(),
        };
        cmd.current_dir(dir).args(&self.args);
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd
    }

    /// Runs the command and checks its exit status, stdout and stderr; panics naming every
    /// failed check, with the whole output.
    #[track_caller]
    pub fn run(self) -> Output {
        let shown: Vec<String> = self
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let umask = self
            .umask
            .map(|m| format!(" (umask {m:03o})"))
            .unwrap_or_default();
        let what = format!("cutover {}{umask}", shown.join(" "));
        let out = match self.timeout {
            Some(limit) => run_limited(self.command(), &what, limit),
            None => run(self.command(), &what),
        };
        let mut failures = Vec::new();
        if out.code != self.status {
            failures.push(format!(
                "exit status {}, expected {}",
                out.code, self.status
            ));
        }
        failures.extend(self.stdout.check("stdout", &out.stdout));
        failures.extend(self.stderr.check("stderr", &out.stderr));
        assert!(
            failures.is_empty(),
            "{}\n{}",
            failures.join("\n"),
            out.context()
        );
        out
    }

    // ------------------------------------------------------------ files

    /// The test folder (canonical, so it compares equal to paths the binary prints).
    pub fn path(&self) -> PathBuf {
        self.dir
            .path()
            .canonicalize()
            .expect("canonical test folder")
    }

    /// Writes a file (for changes between runs).
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

    /// Runs `git` in the test folder.
    pub fn git(&self, args: &[&str]) -> String {
        git(self.dir.path(), args)
    }

    /// Every file and symlink under the test folder (skipping `.git`), with its
    /// contents, inode and modification time.
    pub fn tree(&self) -> Tree {
        tree(self.dir.path())
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
    /// How long the run took.
    pub took: Duration,
}

impl Output {
    /// The command and everything it printed, for failure messages.
    pub fn context(&self) -> String {
        format!(
            "command: {}\nexit code: {} (after {:?})\n--- stdout ---\n{}--- stderr ---\n{}",
            self.command, self.code, self.took, self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` (shown as `what` in failure messages) to completion and captures its output;
/// checks nothing.
pub fn run(mut cmd: Command, what: &str) -> Output {
    let start = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {what}: {e}"));
    output(what, out.status, out.stdout, &out.stderr, start.elapsed())
}

/// As [`run`], but a run longer than `limit` is killed and fails the test ("hang").
fn run_limited(mut cmd: Command, what: &str, limit: Duration) -> Output {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {what}: {e}"));
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = read_all(Box::new(child.stdout.take().expect("stdout pipe")));
    let stderr = read_all(Box::new(child.stderr.take().expect("stderr pipe")));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hang: `{what}` still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let stdout = stdout.join().expect("stdout reader");
    let stderr = stderr.join().expect("stderr reader");
    output(what, status, stdout, &stderr, start.elapsed())
}

fn output(
    what: &str,
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: &[u8],
    took: Duration,
) -> Output {
    Output {
        command: what.to_owned(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stdout_bytes: stdout,
        stderr: String::from_utf8_lossy(stderr).into_owned(),
        code: status.code().unwrap_or(-1),
        took,
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

/// One file (or symlink) as seen by [`tree`].
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
pub type Tree = BTreeMap<String, Entry>;

/// Every file, folder and symlink under `root`, skipping `.git`.
pub fn tree(root: &Path) -> Tree {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Tree) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("read folder")
        .map(|e| e.expect("folder entry"))
        .collect();
    entries.sort_by_key(fs::DirEntry::file_name);
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

/// The repository's `fixtures/` folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
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

/// What `cutover render` prints for [`PLAN`] in a fresh folder.
pub const PLAN_RENDERED: &str = "\
checkout: 6 written, 0 unchanged, 0 removed (cutover.yaml)
ledger: 6 written, 0 unchanged, 0 removed (cutover.yaml)
";

/// Asserts two trees are identical, listing the paths that differ.
#[track_caller]
pub fn assert_unchanged(before: &Tree, after: &Tree) {
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys().filter(|k| !before.contains_key(*k)))
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(changed.is_empty(), "changed on disk: {changed:?}");
}
