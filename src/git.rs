//! Plans as they were at a git revision, for `cutover diff --base REV`.
//!
//! The plans are read with `git ls-tree` and `git cat-file` (nothing is checked out) and
//! rendered in memory, so a review can compare "the plans at REV" with "the plans now"
//! without any generated file being committed.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::plan::discover;
use crate::plan::{Loader, Plan};

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

fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| {
            Error::Git(if e.kind() == std::io::ErrorKind::NotFound {
                "`git` is not installed or not on PATH; --base needs it".to_owned()
            } else {
                format!("cannot run git: {e}")
            })
        })?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        return Err(Error::Git(format!("git {}: {msg}", args.join(" "))));
    }
    Ok(out.stdout)
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

    /// Plan files at the revision under `dir` (relative to the root; `""` for all),
    /// by the same rules as discovery in the work tree.
    pub fn find_plans(&self, dir: &str) -> Result<Vec<String>> {
        let mut args = vec!["ls-tree", "-r", "-z", "--name-only", self.commit.as_str()];
        if !dir.is_empty() && dir != "." {
            args.push("--");
            args.push(dir);
        }
        let out = git(&self.root, &args)?;
        let mut plans: Vec<String> = out
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .filter(|p| {
                let parts: Vec<&str> = p.split('/').collect();
                let (file, dirs) = parts.split_last().expect("non-empty path");
                discover::is_plan_name(file)
                    && dirs
                        .iter()
                        .all(|d| !d.starts_with('.') && *d != "target" && *d != "node_modules")
            })
            .collect();
        plans.sort();
        Ok(plans)
    }

    /// The bytes of `rel` at the revision, or `None` when it did not exist there.
    pub fn read(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        let spec = format!("{}:{rel}", self.commit);
        let exists = Command::new("git")
            .args(["cat-file", "-e", &spec])
            .current_dir(&self.root)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !exists {
            return Ok(None);
        }
        git(&self.root, &["cat-file", "blob", &spec]).map(Some)
    }

    /// Loads the plans at `rels` (relative to the root) as they were at the revision,
    /// with `loader` (their base VirtualServices also read at the revision); plans that
    /// did not exist there are skipped. Messages name them `REV:path`.
    pub fn load(&self, loader: &Loader, rels: &[String]) -> Result<Vec<Plan>> {
        let mut plans = Vec::new();
        let mut diags = Vec::new();
        for rel in rels {
            let Some(bytes) = self.read(rel)? else {
                continue;
            };
            let name = format!("{}:{rel}", self.rev);
            let read_base = |base: &str| match self.read(base) {
                Ok(Some(b)) => String::from_utf8(b).map_err(|_| "not UTF-8".to_owned()),
                Ok(None) => Err(format!("does not exist at {}", self.rev)),
                Err(e) => Err(e.to_string()),
            };
            match loader.load_with(&name, &bytes, &self.root.join(rel), &self.root, read_base) {
                Ok(p) => plans.push(p),
                Err(Error::Invalid(d)) => diags.extend(d.0),
                Err(e) => return Err(e),
            }
        }
        if !diags.is_empty() {
            return Err(Error::Invalid(crate::error::Diagnostics(diags)));
        }
        Ok(plans)
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
        let abs = std::path::absolute(path).ok()?;
        let abs = crate::repo::normalize(&abs)?;
        // The current folder may be reached through a symlink; compare canonical parents.
        let parent = abs.parent()?.canonicalize().ok();
        let abs = match (parent, abs.file_name()) {
            (Some(p), Some(n)) => p.join(n),
            _ => abs,
        };
        crate::repo::relative(&self.root, &abs)
    }
}
