//! Finding plan files when none are named on the command line.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::git::Revision;
use crate::plan::MAX_PLAN_BYTES;

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
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Read {
        path: dir.to_path_buf(),
        source: e,
    })?;
    walk(entries, dir, true, skip, &mut found);
    // Folders were read in name order, so the lists are in path order already (what lies
    // under a folder is one run, see `within`); sorting them checks it at linear cost.
    found.plans.sort();
    found.kustomizations.sort();
    found.yaml.sort();
    Ok(found)
}

/// Records what the folder `dir` (being read by `entries`) holds, then its folders'
/// contents, in name order. Symbolic links are not followed; a folder or entry that
/// cannot be read is passed over (it holds nothing cutover could have written). Folders
/// are checked before they are opened (`walkdir`'s filter opens every folder it skips).
fn walk(
    entries: std::fs::ReadDir,
    dir: &Path,
    top: bool,
    skip: &HashSet<PathBuf>,
    found: &mut Survey,
) {
    let mut children: Vec<(std::ffi::OsString, std::fs::FileType)> = entries
        .flatten()
        .filter_map(|e| Some((e.file_name(), e.file_type().ok()?)))
        .collect();
    // Below the top, a folder holding `.git` (a folder, or the file of a linked worktree
    // or a submodule) is another repository: its plans and files are its own.
    if !top && children.iter().any(|(name, _)| name == ".git") {
        return;
    }
    children.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, file_type) in children {
        let text = name.to_string_lossy();
        let path = dir.join(&name);
        if file_type.is_dir() {
            if !is_searched_folder(&text) || skip.contains(&path) {
                continue;
            }
            if let Ok(entries) = std::fs::read_dir(&path) {
                walk(entries, &path, false, skip, found);
            }
            continue;
        }
        if !file_type.is_file() {
            continue;
        }
        let list = if is_plan_name(&text) {
            &mut found.plans
        } else if is_kustomization_name(&text) {
            &mut found.kustomizations
        } else if text.ends_with(".yaml") || text.ends_with(".yml") {
            &mut found.yaml
        } else {
            continue;
        };
        list.push(path);
    }
}

/// The text of the file at `path`, unless it cannot be read, is larger than a plan may
/// be, or is not UTF-8: how the repository's manifests are read when cutover looks into
/// them (controllers naming a base, `import`).
pub fn read_small(path: &Path) -> Option<String> {
    use std::io::Read;
    // Room for a typical manifest: one read takes it whole, the next says it ended.
    let mut bytes = Vec::with_capacity(16 * 1024);
    std::fs::File::open(path)
        .ok()?
        .take(MAX_PLAN_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    if bytes.len() > MAX_PLAN_BYTES {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// The file that makes a folder a Helm chart.
pub const CHART: &str = "Chart.yaml";

/// The Helm chart (a folder holding [`CHART`]) inside `root` that `path` lies in, the
/// innermost one; `root` itself counts.
pub fn chart_folder<'p>(root: &Path, path: &'p Path) -> Option<&'p Path> {
    path.ancestors()
        .skip(1)
        .take_while(|d| d.starts_with(root))
        .find(|d| d.join(CHART).is_file())
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
