//! Finding plan files when none are named on the command line.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::error::{Error, Result};
use crate::git::Revision;

/// Folders never searched, besides hidden ones.
const SKIP: &[&str] = &["target", "node_modules"];

/// Whether `name` is a plan file name: `cutover.yaml` or `*.cutover.yaml`.
pub fn is_plan_name(name: &str) -> bool {
    name == "cutover.yaml"
        || (name.ends_with(".cutover.yaml") && name.len() > ".cutover.yaml".len())
}

/// Whether the plan search looks inside a folder named `name`: not a hidden folder
/// (`.git` among them), `target` or `node_modules`.
pub fn is_searched_folder(name: &str) -> bool {
    !name.starts_with('.') && !SKIP.contains(&name)
}

/// The first folder of `rel` (a `/`-separated path below the folder a search starts
/// from, its last part the file) that the plan search skips, if any.
pub fn skipped_folder(rel: &str) -> Option<&str> {
    let mut parts: Vec<&str> = rel.split('/').collect();
    parts.pop();
    parts
        .into_iter()
        .find(|d| !d.is_empty() && *d != "." && !is_searched_folder(d))
}

/// Whether a search from a folder finds the file at `rel` below it (`/`-separated):
/// its name is a plan name and no folder on the way is skipped.
pub fn is_found_at(rel: &str) -> bool {
    let file = rel.rsplit('/').next().unwrap_or(rel);
    is_plan_name(file) && skipped_folder(rel).is_none()
}

/// Every plan file under `dir`, sorted, skipping the folders [`is_searched_folder`]
/// rules out. Symlinks are not followed.
pub fn find_plans(dir: &Path) -> Result<Vec<PathBuf>> {
    let plans = survey(dir)?.plans;
    if plans.is_empty() {
        let shown = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        return Err(Error::NoPlans(shown));
    }
    Ok(plans)
}

/// What one walk over a folder (a repository) finds: the files that decide what cutover
/// may touch there.
#[derive(Debug, Default)]
pub struct Survey {
    /// Plan files, sorted.
    pub plans: Vec<PathBuf>,
    /// Kustomization files (`kustomization.yaml`, `kustomization.yml`, `Kustomization`),
    /// sorted: they may point into generated trees.
    pub kustomizations: Vec<PathBuf>,
    /// Every other `.yaml` / `.yml` file, sorted: where files generated earlier may be.
    pub yaml: Vec<PathBuf>,
}

impl Survey {
    /// What the same walk found under `dir`.
    pub fn within(&self, dir: &Path) -> Survey {
        let under = |list: &[PathBuf]| {
            let start = list.partition_point(|p| p.as_path() < dir);
            list[start..]
                .iter()
                .take_while(|p| p.starts_with(dir))
                .cloned()
                .collect()
        };
        Survey {
            plans: under(&self.plans),
            kustomizations: under(&self.kustomizations),
            yaml: under(&self.yaml),
        }
    }
}

/// Whether `name` is a kustomization file's name.
pub fn is_kustomization_name(name: &str) -> bool {
    matches!(
        name,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    )
}

/// Walks `dir` once by the rules of [`find_plans`] (hidden folders, `target` and
/// `node_modules` skipped, and folders holding `.git`: other repositories; symlinks not
/// followed; folders that cannot be read skipped) and sorts what it finds.
pub fn survey(dir: &Path) -> Result<Survey> {
    survey_skipping(dir, &HashSet::new())
}

/// [`survey`], not entering the folders in `skip` (the current migration folders of plans
/// already loaded: what is in them is compared with those plans, file by file).
pub fn survey_skipping(dir: &Path, skip: &HashSet<PathBuf>) -> Result<Survey> {
    let mut found = Survey::default();
    let mut walker = WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0
                || !e.file_type().is_dir()
                || name == ".git"
                || (is_searched_folder(&name) && !skip.contains(e.path()))
        });
    while let Some(entry) = walker.next() {
        let entry = match entry {
            Ok(entry) => entry,
            // A folder the user cannot read holds nothing cutover could have written.
            Err(e) if e.depth() > 0 => continue,
            Err(e) => {
                return Err(Error::Read {
                    path: e.path().unwrap_or(dir).to_path_buf(),
                    source: e
                        .into_io_error()
                        .unwrap_or_else(|| std::io::Error::other("walk failed")),
                })
            }
        };
        let name = entry.file_name().to_string_lossy();
        if name == ".git" {
            // Never into a `.git` folder (a folder is entered as it is yielded).
            if entry.file_type().is_dir() {
                walker.skip_current_dir();
            }
            // Below the top, `.git` (a folder, or the file of a linked worktree or a
            // submodule) makes its folder another repository: its plans and files are
            // its own. Seen early (names sort after few characters), it ends that folder.
            if let (true, Some(other)) = (entry.depth() > 1, entry.path().parent()) {
                for list in [&mut found.plans, &mut found.kustomizations, &mut found.yaml] {
                    list.retain(|p| !p.starts_with(other));
                }
                walker.skip_current_dir();
            }
            continue;
        }
        if !entry.file_type().is_file() {
            continue;
        }
        let list = if is_plan_name(&name) {
            &mut found.plans
        } else if is_kustomization_name(&name) {
            &mut found.kustomizations
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            &mut found.yaml
        } else {
            continue;
        };
        list.push(entry.into_path());
    }
    // In path order, so that what lies under a folder is one run (see `within`).
    found.plans.sort();
    found.kustomizations.sort();
    found.yaml.sort();
    Ok(found)
}

/// Plan files at git revision `rev` under `dir` (relative to the root; `""` or `.` for
/// all), by the same rules as [`find_plans`] in the work tree.
pub fn at_revision(rev: &Revision, dir: &str) -> Result<Vec<String>> {
    let mut plans = rev.files(dir)?;
    plans.retain(|p| is_found_at(p));
    Ok(plans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn finds_plans_and_skips_hidden_and_build_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for p in [
            "cutover.yaml",
            "apps/b.cutover.yaml",
            "apps/a/cutover.yaml",
            ".git/cutover.yaml",
            ".hidden/x.cutover.yaml",
            "target/cutover.yaml",
            "apps/not-a-plan.yaml",
            "apps/.cutover.yaml",
        ] {
            let path = root.join(p);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "").unwrap();
        }
        let found: Vec<_> = find_plans(root)
            .unwrap()
            .into_iter()
            .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            found,
            ["apps/a/cutover.yaml", "apps/b.cutover.yaml", "cutover.yaml"]
        );
    }

    #[test]
    fn is_found_at_follows_the_search_rules() {
        for found in [
            "cutover.yaml",
            "apps/orders/cutover.yaml",
            "apps/orders/plan.cutover.yaml",
            "./apps/cutover.yaml",
        ] {
            assert!(is_found_at(found), "{found}");
        }
        for (missed, skipped) in [
            ("apps/orders/plan.yaml", None),
            ("apps/.cutover.yaml", None),
            ("cutover.yml", None),
            ("apps/node_modules/cutover.yaml", Some("node_modules")),
            ("target/x.cutover.yaml", Some("target")),
            (".github/cutover.yaml", Some(".github")),
            ("a/.hidden/b/plan.yaml", Some(".hidden")),
        ] {
            assert!(!is_found_at(missed), "{missed}");
            assert_eq!(skipped_folder(missed), skipped, "{missed}");
        }
    }

    #[test]
    fn other_repositories_are_not_searched() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for p in [
            ".git/config",
            "cutover.yaml",
            "apps/-early/x.yaml",
            "apps/.git/HEAD",
            "apps/cutover.yaml",
            "wt/.git",
            "wt/cutover.yaml",
            "zz/a.yaml",
        ] {
            let path = root.join(p);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "").unwrap();
        }
        let found = survey(root).unwrap();
        let rel = |list: &[PathBuf]| -> Vec<String> {
            list.iter()
                .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(rel(&found.plans), ["cutover.yaml"]);
        assert_eq!(rel(&found.yaml), ["zz/a.yaml"]);
        // Searched from inside, a nested repository is the search's own.
        assert_eq!(
            rel(&survey(&root.join("apps")).unwrap().plans),
            ["apps/cutover.yaml"]
        );
    }

    #[test]
    fn no_plans_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(matches!(find_plans(tmp.path()), Err(Error::NoPlans(_))));
    }
}
