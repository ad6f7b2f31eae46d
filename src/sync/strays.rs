//! Files cutover generated earlier that no current output folder holds: the tree left
//! behind when a plan's `output` changed, a migration was renamed, or a plan file was
//! renamed or deleted. Each still carries its plan's header, which proves it is
//! cutover's: `check` reports it and `render` removes it.
//!
//! Where to look comes from the walk over the repository that found the plans
//! ([`Selection::surveys`]); only the first line of each YAML file outside the current
//! migration folders is read, so a repository whose generated files are all current
//! costs no extra reads.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::layout;
use crate::plan::discover::Survey;
use crate::plan::load::Selection;
use crate::plan::Plan;
use crate::render::header;
use crate::repo;

/// A file generated earlier, outside its plan's current output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stray {
    /// Absolute path.
    pub path: PathBuf,
    /// The plan (index into the plans compared) the file is reported under.
    pub plan: usize,
    /// The migration folder it was generated into (the name at the time).
    pub migration: String,
    /// Why it is no longer wanted, for messages.
    pub reason: String,
}

/// Every stray file of the selected plans: files at a place cutover generates files at
/// (see [`layout::parse`]) whose header names one of the plans but which lie outside
/// that plan's output folder, and files whose header names a plan file that no longer
/// exists in the repository (reported under the first selected plan of that repository).
/// Files under a selected plan's output folder that carry its own header are left to
/// the comparison (they are its orphans).
pub fn find(selection: &Selection) -> Result<Vec<Stray>> {
    let plans = &selection.plans;
    let mut current: Vec<PathBuf> = plans.iter().flat_map(Plan::migration_dirs).collect();
    current.sort();
    current.dedup();
    let current: Vec<&Path> = current.iter().map(PathBuf::as_path).collect();
    let mut strays = Vec::new();
    for (root, survey) in &selection.surveys {
        let Some(first) = plans.iter().position(|p| &p.root == root) else {
            continue;
        };
        if !is_work_tree(root) {
            continue;
        }
        let known = PlanFiles::new(root);
        let outside = |list: &'_ [PathBuf]| {
            let held = repo::first_folder_holding(list, &current);
            list.iter()
                .zip(held)
                .filter(|(_, h)| h.is_none())
                .map(|(p, _)| p.clone())
                .collect::<Vec<_>>()
        };
        let mut candidates = outside(&survey.yaml);
        candidates.extend(outside(&survey.kustomizations));
        for path in &candidates {
            let Some(rel) = repo::relative(root, path) else {
                continue;
            };
            let Some(place) = layout::parse(&rel) else {
                continue;
            };
            let Some(id) = plan_of(path) else {
                continue;
            };
            let migration = place
                .folder
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            let stray = |plan: usize, reason: String| Stray {
                path: path.clone(),
                plan,
                migration: migration.clone(),
                reason,
            };
            if let Some(p) = plans.iter().position(|p| &p.root == root && p.id == id) {
                if !path.starts_with(&plans[p].output) {
                    strays.push(stray(p, stray_reason(&plans[p])));
                }
            } else if !known.exists(&id) && !under_output(path, plans) {
                // Counted apart from the plan it is reported under.
                let mut s = stray(first, gone_reason(&id));
                s.migration = format!("{} (from the deleted plan {id})", s.migration);
                strays.push(s);
            }
        }
    }
    strays.sort_by(|a, b| (a.plan, &a.path).cmp(&(b.plan, &b.path)));
    Ok(strays)
}

/// Where no plan is left in repository `root` (the last one was deleted): the files
/// `survey` found there that cutover generated from a plan file that no longer exists,
/// with why, sorted.
pub fn abandoned(root: &Path, survey: &Survey) -> Result<Vec<(PathBuf, String)>> {
    let mut found = Vec::new();
    if !is_work_tree(root) {
        return Ok(found);
    }
    let known = PlanFiles::new(root);
    for path in survey.yaml.iter().chain(&survey.kustomizations) {
        let at_place = repo::relative(root, path).is_some_and(|rel| layout::parse(&rel).is_some());
        if !at_place {
            continue;
        }
        if let Some(id) = plan_of(path).filter(|id| !known.exists(id)) {
            found.push((path.clone(), gone_reason(&id)));
        }
    }
    found.sort();
    Ok(found)
}

/// Whether the plan files that headers name exist in one repository, asked once each.
pub struct PlanFiles<'a> {
    root: &'a Path,
    /// The files git tracks there, listed on first need.
    tracked: std::sync::OnceLock<Option<std::collections::HashSet<String>>>,
}

impl<'a> PlanFiles<'a> {
    /// The plan files of the repository at `root`.
    pub fn new(root: &'a Path) -> PlanFiles<'a> {
        PlanFiles {
            root,
            tracked: std::sync::OnceLock::new(),
        }
    }

    /// Whether the plan file `id` (as a header names it) exists: files with its header
    /// belong to it. Only a plan surely gone (in a git work tree, not on disk, not in the
    /// index: a sparse checkout leaves tracked files off the disk) leaves files nobody
    /// owns; outside git, or when the disk cannot tell, every plan counts as existing.
    pub fn exists(&self, id: &str) -> bool {
        if !is_work_tree(self.root) {
            return true;
        }
        match self.root.join(id).try_exists() {
            Ok(false) => self
                .tracked
                .get_or_init(|| crate::git::tracked_files(self.root))
                .as_ref()
                .is_some_and(|t| t.contains(id)),
            Ok(true) | Err(_) => true,
        }
    }
}

/// Whether `root` is a git work tree: only there is a plan's identity in a header (its
/// path from the root) certain. Outside git each plan's folder is its own root, so the
/// same identity names plans in many folders, and a folder without a plan says nothing
/// about where a file's plan was.
fn is_work_tree(root: &Path) -> bool {
    root.join(".git").exists()
}

/// The plan a file's header names; `None` for any other file, or one that cannot be
/// read (cutover never wrote a file its user cannot read).
fn plan_of(path: &Path) -> Option<String> {
    header::plan_of(&header::read_head(path).ok()??)
}

fn gone_reason(id: &str) -> String {
    format!("generated from the plan {id}, which no longer exists")
}

fn stray_reason(plan: &Plan) -> String {
    format!(
        "generated from {} earlier, outside its output folder {}",
        plan.id,
        repo::display_rel(&plan.root, &plan.output)
    )
}

/// Whether `path` lies in a selected plan's output folder (the comparison's business).
fn under_output(path: &Path, plans: &[Plan]) -> bool {
    plans.iter().any(|p| path.starts_with(&p.output))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::load::Loader;
    use crate::render::header;
    use std::fs;

    const PLAN: &str = "version: 1\noutput: new\nmigrations:\n  - name: a\n    namespace: n\n    from: a.example.com\n    to: b.example.com\n    stages: [{weight: 100}]\n";

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn finds_files_left_outside_the_output_and_of_plans_gone() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        fs::create_dir(root.join(".git")).unwrap();
        write(&root, "cutover.yaml", PLAN);
        let own = header::block("cutover.yaml");
        let gone = header::block("old.cutover.yaml");
        // The plan's old output folder, a plan file that no longer exists, and files
        // that are not strays: a user's file, a copy off the layout, the current tree.
        write(
            &root,
            "old/a/stages/01-weight-100/virtualservice.yaml",
            &own,
        );
        write(&root, "elsewhere/b/envs/prod.yaml", &gone);
        write(&root, "old/a/stages/01-weight-100/notes.yaml", &own);
        write(
            &root,
            "mine/a/stages/01-weight-100/virtualservice.yaml",
            "kind: x\n",
        );
        write(
            &root,
            "new/a/stages/01-weight-100/virtualservice.yaml",
            &own,
        );
        let paths = crate::plan::load::named(&[root.join("cutover.yaml")]);
        let selection = Loader::default()
            .load_selection(&paths, Vec::new())
            .unwrap();
        let found: Vec<(String, String)> = find(&selection)
            .unwrap()
            .into_iter()
            .map(|s| (repo::display_rel(&root, &s.path), s.reason))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "elsewhere/b/envs/prod.yaml".to_owned(),
                    "generated from the plan old.cutover.yaml, which no longer exists".to_owned()
                ),
                (
                    "old/a/stages/01-weight-100/virtualservice.yaml".to_owned(),
                    "generated from cutover.yaml earlier, outside its output folder new".to_owned()
                ),
            ]
        );
    }
}
