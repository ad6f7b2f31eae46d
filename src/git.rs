//! Every call to git: files as they were at a revision ([`Revision`], for
//! `cutover diff --base REV` and `check --changed-since REV`), and when a line of a plan
//! last changed on the checked-out branch ([`line_changed_at`], for holds and
//! `cutover status`).
//!
//! Files at a revision are read with `git ls-tree` and `git cat-file` (nothing is checked
//! out), so a review can compare "the plans at REV" with "the plans now" without any
//! generated file being committed. Which of them are plans, and loading them, is
//! [`crate::plan`]'s business.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// A git revision of a repository: where `diff --base` reads the old plans and
/// `check --changed-since` finds what changed.
pub struct Revision {
    /// The work tree root (absolute, canonical).
    pub root: PathBuf,
    /// The revision as the user wrote it.
    pub rev: String,
    /// The commit it names.
    pub commit: String,
}

/// How a git command failed.
enum Failed {
    /// git could not be started.
    Spawn(std::io::Error),
    /// git ran and failed; what it said on stderr, trimmed.
    Exit(String),
}

/// Runs git with `args` in `dir` (the one place git is started): its stdout.
fn run<A: AsRef<OsStr>>(dir: &Path, args: &[A]) -> std::result::Result<Vec<u8>, Failed> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(Failed::Spawn)?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        return Err(Failed::Exit(msg));
    }
    Ok(out.stdout)
}

/// Runs git with `args` in `dir`, writing `input` to its stdin: its stdout.
fn run_with_input(dir: &Path, args: &[&str], input: &[u8]) -> Result<Vec<u8>> {
    run_input(dir, args, input).map_err(|f| base_error(f, args))
}

/// [`run_with_input`], saying how git failed.
fn run_input(dir: &Path, args: &[&str], input: &[u8]) -> std::result::Result<Vec<u8>, Failed> {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(Failed::Spawn)?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| Failed::Exit("no stdin".into()))?;
    // Written on another thread: git may fill its stdout pipe before reading all input.
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().map_err(Failed::Spawn)?;
    let written = writer.join().unwrap_or(Ok(()));
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        return Err(Failed::Exit(msg));
    }
    written.map_err(Failed::Spawn)?;
    Ok(out.stdout)
}

/// The git index (staging area) of a work tree: what the next commit will hold.
pub struct Index {
    /// The work tree root (absolute, canonical).
    pub root: PathBuf,
    /// The repository's git folder (absolute).
    pub git_dir: PathBuf,
    /// Every path in the index, relative to the root, sorted (paths that are not UTF-8
    /// are left out: no plan, template or generated file has one).
    pub paths: Vec<String>,
    /// The paths of symbolic links (a subset of `paths`).
    pub symlinks: Vec<String>,
    /// Whether some entries are left out of the work tree (a sparse checkout).
    pub sparse: bool,
    /// Whether some entries are marked assume-unchanged (their work tree files may differ
    /// without git saying so).
    pub assumed: bool,
}

impl Index {
    /// Reads the index of the work tree around `dir`. Fails when `dir` is not in a git
    /// work tree, and when the index holds unresolved merge conflicts (there is no one
    /// next commit to check then).
    pub fn open(dir: &Path) -> Result<Index> {
        let out =
            git(dir, &["rev-parse", "--show-toplevel", "--absolute-git-dir"]).map_err(|_| {
                Error::Git(format!(
                    "{} is not inside a git work tree; --staged needs one",
                    dir.display()
                ))
            })?;
        let text = String::from_utf8_lossy(&out);
        let mut lines = text.lines();
        let (Some(top), Some(git_dir)) = (lines.next(), lines.next()) else {
            return Err(Error::Git("git rev-parse gave no work tree".into()));
        };
        let root = Path::new(top).canonicalize().map_err(|e| Error::Read {
            path: PathBuf::from(top),
            source: e,
        })?;
        // `-v` tags each entry: `S` is a skip-worktree entry (a sparse checkout), a lower
        // case tag an entry marked assume-unchanged.
        let listing = git(&root, &["ls-files", "--stage", "-v", "-z"])?;
        let mut paths = Vec::new();
        let mut symlinks = Vec::new();
        let mut sparse = false;
        let mut assumed = false;
        let mut conflicted = Vec::new();
        for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
            // `<tag> <mode> <object> <stage>\t<path>`
            let Ok(entry) = std::str::from_utf8(entry) else {
                continue;
            };
            let Some((meta, path)) = entry.split_once('\t') else {
                continue;
            };
            if !meta.ends_with(" 0") {
                conflicted.push(path.to_owned());
                continue;
            }
            let mut fields = meta.split(' ');
            let tag = fields.next().unwrap_or_default();
            sparse |= tag == "S";
            assumed |= tag.chars().any(|c| c.is_ascii_lowercase());
            if fields.next() == Some("120000") {
                symlinks.push(path.to_owned());
            }
            paths.push(path.to_owned());
        }
        if !conflicted.is_empty() {
            conflicted.dedup();
            return Err(Error::Git(format!(
                "the index has unresolved merge conflicts ({}); resolve them first",
                conflicted.join(", ")
            )));
        }
        paths.sort();
        Ok(Index {
            root,
            git_dir: PathBuf::from(git_dir),
            paths,
            symlinks,
            sparse,
            assumed,
        })
    }

    /// Where the work tree differs from the index: `(XY, path)` as `git status
    /// --porcelain` gives them (`Y` the work tree against the index; `??` untracked,
    /// `Y` = `A` added with intent to add), paths relative to the root; ignored files not
    /// listed.
    pub fn work_tree_changes(&self) -> Result<Vec<(String, String)>> {
        self.status(&["--untracked-files=all"])
    }

    /// The ignored files and folders (a folder all ignored is one entry, ending in `/`).
    pub fn ignored(&self) -> Result<Vec<String>> {
        Ok(self
            .status(&["--untracked-files=normal", "--ignored=traditional"])?
            .into_iter()
            .filter(|(code, _)| code == "!!")
            .map(|(_, path)| path)
            .collect())
    }

    fn status(&self, options: &[&str]) -> Result<Vec<(String, String)>> {
        let mut args = vec!["status", "--porcelain=v1", "-z", "--no-renames"];
        args.extend(options);
        let out = git(&self.root, &args)?;
        Ok(out
            .split(|b| *b == 0)
            .filter_map(|e| std::str::from_utf8(e).ok())
            .filter(|e| e.len() > 3)
            .map(|e| (e[..2].to_owned(), e[3..].to_owned()))
            .collect())
    }

    /// The index's files with a line starting with `prefix` (`git grep --cached`), each
    /// with the first such line.
    pub fn grep_lines(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        let pattern = format!("^{}", regex_quote(prefix));
        // `-a`: a file git takes for binary (a `-diff` attribute) is printed like any other.
        let args = [
            "grep", "--cached", "-a", "-z", "-m", "1", "-E", "-e", &pattern,
        ];
        let out = match run(&self.root, &args) {
            Ok(out) => out,
            // git grep exits 1 when nothing matches.
            Err(Failed::Exit(msg)) if msg.is_empty() => return Ok(Vec::new()),
            Err(f) => return Err(base_error(f, &args)),
        };
        // `path\0line\n` per match.
        Ok(out
            .split(|b| *b == b'\n')
            .filter_map(|l| std::str::from_utf8(l).ok())
            .filter_map(|l| l.split_once('\0'))
            .map(|(path, line)| (path.to_owned(), line.to_owned()))
            .collect())
    }

    /// The index's `.yaml` and `.yml` files whose text holds one of `words`
    /// (`git grep --cached -l`), sorted.
    pub fn grep_yaml_files(&self, words: &[&str]) -> Result<Vec<String>> {
        let mut args = vec!["grep", "--cached", "-a", "-l", "-z", "-F"];
        for w in words {
            args.extend(["-e", w]);
        }
        args.extend(["--", "*.yaml", "*.yml"]);
        let out = match run(&self.root, &args) {
            Ok(out) => out,
            Err(Failed::Exit(msg)) if msg.is_empty() => return Ok(Vec::new()),
            Err(f) => return Err(base_error(f, &args)),
        };
        let mut files: Vec<String> = out
            .split(|b| *b == 0)
            .filter_map(|p| std::str::from_utf8(p).ok())
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        files.sort();
        Ok(files)
    }

    /// Writes the index's version of each of `paths` (relative to the root) under the
    /// folder `into`, as `git checkout-index` does for a clean checkout (filters and
    /// line-ending conversion applied).
    pub fn checkout(&self, paths: &[&str], into: &Path) -> Result<()> {
        if paths.is_empty() {
            return Ok(());
        }
        let prefix = format!("--prefix={}/", into.display());
        let mut input = Vec::new();
        for p in paths {
            input.extend_from_slice(p.as_bytes());
            input.push(0);
        }
        run_with_input(
            &self.root,
            &[
                "checkout-index",
                "--stdin",
                "-z",
                "--ignore-skip-worktree-bits",
                &prefix,
            ],
            &input,
        )?;
        Ok(())
    }
}

/// Every file the index of the work tree at `root` tracks, relative to the root; `None`
/// when `root` is not a git work tree git can read.
pub fn tracked_files(root: &Path) -> Option<std::collections::HashSet<String>> {
    let out = run(root, &["ls-files", "-z"]).ok()?;
    Some(
        out.split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect(),
    )
}

/// Which of `paths` (inside the repository at `root`) git ignores, relative to `root`:
/// [`ignored_among`], asked only when there is something to ask (most callers have no
/// path), and nothing outside a git work tree or when git cannot tell.
pub fn ignored_files<'a>(
    root: &Path,
    paths: impl Iterator<Item = &'a std::path::PathBuf>,
) -> std::collections::HashSet<String> {
    if !root.join(".git").exists() {
        return std::collections::HashSet::new();
    }
    let rels: Vec<String> = paths
        .filter_map(|p| crate::repo::relative(root, p))
        .collect();
    if rels.is_empty() {
        return std::collections::HashSet::new();
    }
    ignored_among(root, &rels).unwrap_or_default()
}

/// Which of `paths` (relative to the work tree root `root`) git ignores
/// (`git check-ignore`; a tracked file never is); `None` when git cannot tell (not a work
/// tree, git missing).
pub fn ignored_among(root: &Path, paths: &[String]) -> Option<std::collections::HashSet<String>> {
    let mut input = Vec::new();
    for p in paths {
        input.extend_from_slice(p.as_bytes());
        input.push(0);
    }
    let out = match run_input(root, &["check-ignore", "--stdin", "-z"], &input) {
        Ok(out) => out,
        // Exit 1 with nothing said: none of them is ignored.
        Err(Failed::Exit(msg)) if msg.is_empty() => Vec::new(),
        Err(_) => return None,
    };
    Some(
        out.split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect(),
    )
}

/// `text` as a POSIX extended regular expression matching itself.
fn regex_quote(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\^$.|?*+()[]{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Runs git for `--base`; a failure names the command.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>> {
    run(dir, args).map_err(|f| base_error(f, args))
}

fn base_error(f: Failed, args: &[&str]) -> Error {
    Error::Git(match f {
        Failed::Spawn(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "`git` is not installed or not on PATH; this command needs it".to_owned()
        }
        Failed::Spawn(e) => format!("cannot run git: {e}"),
        Failed::Exit(msg) => format!("git {}: {msg}", args.join(" ")),
    })
}

/// When line `line` (1-based) of the file at `path` last changed on the checked-out
/// branch: the committer time (seconds since the epoch) of the commit of the branch's
/// first-parent history that brought the change, `Ok(None)` when the line has
/// uncommitted changes, or [`Error::Git`] saying why git cannot tell (not a repository,
/// the file not committed, git missing).
///
/// Following first parents (`git blame --first-parent`) dates a line that came in by a
/// merge by the merge commit, not by the branch's commit: when the change reached the
/// branch. Squash and rebase merges make new commits, dated when they were made. A
/// fast-forward leaves no trace: the line is dated by its own commit.
pub fn line_changed_at(path: &Path, line: usize) -> Result<Option<u64>> {
    let path = std::path::absolute(path).map_err(|e| Error::Git(format!("bad path ({e})")))?;
    let dir = path.parent().unwrap_or(Path::new("/"));
    let name = path.file_name().unwrap_or_default();
    let range = format!("-L{line},{line}");
    let args = [
        OsStr::new("blame"),
        OsStr::new("--first-parent"),
        OsStr::new("--porcelain"),
        OsStr::new(&range),
        OsStr::new("--"),
        name,
    ];
    let out = run(dir, &args).map_err(|f| {
        Error::Git(match f {
            Failed::Spawn(e) => format!("cannot run git ({e})"),
            Failed::Exit(msg) if msg.contains("no such path") => {
                "the plan file is not committed yet".to_owned()
            }
            Failed::Exit(msg) if msg.is_empty() => "git blame failed".to_owned(),
            Failed::Exit(msg) => msg,
        })
    })?;
    let text = String::from_utf8_lossy(&out);
    let sha = text.split_whitespace().next().unwrap_or_default();
    // Uncommitted lines are blamed on the all-zero commit.
    if sha.chars().all(|c| c == '0') {
        return Ok(None);
    }
    text.lines()
        .find_map(|l| l.strip_prefix("committer-time "))
        .and_then(|t| t.trim().parse().ok())
        .map(Some)
        .ok_or_else(|| Error::Git("git blame gave no commit time".to_owned()))
}

/// Seconds since the epoch, now. A clock set before 1970 gives 0, so every hold looks
/// just started: promotions wait rather than skip a hold.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Revision {
    /// Opens the repository around `dir` at revision `rev`.
    pub fn open(dir: &Path, rev: &str) -> Result<Revision> {
        if rev.starts_with('-') {
            return Err(Error::Git(format!("`{rev}` is not a revision")));
        }
        let top = git(dir, &["rev-parse", "--show-toplevel"]).map_err(|_| {
            Error::Git(format!(
                "{} is not inside a git work tree; --base needs one",
                dir.display()
            ))
        })?;
        let top = PathBuf::from(String::from_utf8_lossy(&top).trim_end_matches('\n'));
        let root = top.canonicalize().map_err(|e| Error::Read {
            path: top.clone(),
            source: e,
        })?;
        let spec = format!("{rev}^{{commit}}");
        let commit = git(&root, &["rev-parse", "--verify", "--quiet", &spec])
            .map_err(|_| Error::Git(format!("unknown revision `{rev}`")))?;
        Ok(Revision {
            root,
            rev: rev.to_owned(),
            commit: String::from_utf8_lossy(&commit).trim().to_owned(),
        })
    }

    /// Every file at the revision under `dir` (relative to the root; `""` or `.` for
    /// all), as paths relative to the root, sorted.
    pub fn files(&self, dir: &str) -> Result<Vec<String>> {
        let mut args = vec!["ls-tree", "-r", "-z", "--name-only", self.commit.as_str()];
        if !dir.is_empty() && dir != "." {
            args.push("--");
            args.push(dir);
        }
        let out = git(&self.root, &args)?;
        let mut files: Vec<String> = out
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        files.sort();
        Ok(files)
    }

    /// The bytes of `rel` at the revision, or `None` when it did not exist there.
    pub fn read(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        let spec = format!("{}:{rel}", self.commit);
        let exists = ["cat-file", "-e", spec.as_str()];
        match run(&self.root, &exists) {
            Ok(_) => git(&self.root, &["cat-file", "blob", &spec]).map(Some),
            // `cat-file -e` fails exactly when there is no such object.
            Err(Failed::Exit(_)) => Ok(None),
            Err(f) => Err(base_error(f, &exists)),
        }
    }

    /// Every path (relative to the root) that differs between the revision and the work
    /// tree: committed, staged and unstaged changes, and untracked files.
    pub fn changed_paths(&self) -> Result<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        let split = |bytes: Vec<u8>| -> Vec<String> {
            bytes
                .split(|b| *b == 0)
                .filter(|p| !p.is_empty())
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect()
        };
        out.extend(split(git(
            &self.root,
            &["diff", "--name-only", "--no-renames", "-z", &self.commit],
        )?));
        out.extend(split(git(
            &self.root,
            &["ls-files", "--others", "--exclude-standard", "-z"],
        )?));
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// `path` (absolute or relative to the current folder) relative to the root.
    pub fn relative(&self, path: &Path) -> Option<String> {
        crate::repo::relative_from_cwd(&self.root, path)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Runs git in `dir` as a fixed author, every commit dated the same; panics when it
    /// fails. For tests of modules that read git.
    pub(crate) fn git_in(dir: &Path, args: &[&str]) {
        git_at(dir, 1_700_000_000, args);
    }

    /// Runs git in `dir`, every commit it makes dated `secs` since the epoch.
    fn git_at(dir: &Path, secs: u64, args: &[&str]) {
        let date = format!("@{secs} +0000");
        let env = [
            ("GIT_AUTHOR_NAME", "t"),
            ("GIT_AUTHOR_EMAIL", "t@example.com"),
            ("GIT_COMMITTER_NAME", "t"),
            ("GIT_COMMITTER_EMAIL", "t@example.com"),
            ("GIT_COMMITTER_DATE", date.as_str()),
            ("GIT_AUTHOR_DATE", date.as_str()),
            ("GIT_CONFIG_NOSYSTEM", "1"),
        ];
        let ok = Command::new("git")
            .args(args)
            .envs(env)
            .current_dir(dir)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn line_changed_at_reads_blame() {
        let tmp = tempfile::tempdir().unwrap();
        let plan = tmp.path().join("cutover.yaml");
        std::fs::write(&plan, "a\nb\n").unwrap();
        let err = line_changed_at(&plan, 1).unwrap_err();
        assert!(matches!(err, Error::Git(_)), "{err}");
        git_in(tmp.path(), &["init", "-q"]);
        std::fs::write(tmp.path().join("README"), "r\n").unwrap();
        git_in(tmp.path(), &["add", "README"]);
        git_in(
            tmp.path(),
            &["-c", "commit.gpgsign=false", "commit", "-q", "-m", "readme"],
        );
        let err = line_changed_at(&plan, 1).unwrap_err().to_string();
        assert_eq!(err, "the plan file is not committed yet");
        git_in(tmp.path(), &["add", "cutover.yaml"]);
        git_in(
            tmp.path(),
            &["-c", "commit.gpgsign=false", "commit", "-q", "-m", "plan"],
        );
        std::fs::write(&plan, "a\nB\n").unwrap();
        assert_eq!(line_changed_at(&plan, 1).unwrap(), Some(1_700_000_000));
        assert_eq!(line_changed_at(&plan, 2).unwrap(), None);
    }

    /// A line that came in by a merge is dated by the merge commit.
    #[test]
    fn line_changed_at_dates_a_merged_line_by_the_merge() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let plan = dir.join("cutover.yaml");
        let commit = |secs: u64, msg: &str| {
            git_at(dir, secs, &["add", "-A"]);
            git_at(
                dir,
                secs,
                &["-c", "commit.gpgsign=false", "commit", "-q", "-m", msg],
            );
        };
        git_at(dir, 0, &["init", "-q", "-b", "main"]);
        std::fs::write(&plan, "a\nb\n").unwrap();
        commit(1_000, "plan");
        git_at(dir, 0, &["checkout", "-q", "-b", "feature"]);
        std::fs::write(&plan, "a\nB\n").unwrap();
        commit(2_000, "feature");
        git_at(dir, 0, &["checkout", "-q", "main"]);
        std::fs::write(dir.join("README"), "r\n").unwrap();
        commit(3_000, "readme");
        git_at(
            dir,
            4_000,
            &[
                "-c",
                "commit.gpgsign=false",
                "merge",
                "-q",
                "--no-ff",
                "-m",
                "merge",
                "feature",
            ],
        );
        assert_eq!(line_changed_at(&plan, 1).unwrap(), Some(1_000));
        assert_eq!(line_changed_at(&plan, 2).unwrap(), Some(4_000));
    }
}
