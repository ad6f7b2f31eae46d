//! Kustomizations elsewhere in the repository that point into a generated tree at a path
//! the plans do not produce.
//!
//! Inserting a stage renumbers the stage folders after it (`03-weight-50` becomes
//! `04-weight-50`); removing or renaming a stage takes its folder away. A kustomization
//! outside the generated tree that lists the old folder (`resources:
//! [../../out/checkout/stages/03-weight-50]`) then fails `kustomize build`, and nothing in
//! the generated tree shows it. [`broken`] finds such entries, at the line and column the
//! YAML reader gives, with a hint when the stage only moved.
//!
//! `<output>/<migration>/envs/<env>` (flat layout: `envs/<env>.yaml`) never moves: its
//! contents follow the environment's stage. It is the path to deploy from.
//!
//! ```no_run
//! # fn main() -> cutover::Result<()> {
//! # let plans: Vec<cutover::Plan> = Vec::new();
//! # let root = std::path::Path::new("/repo");
//! use cutover::check::references::{broken, find, Tree};
//! let trees = Tree::of_plans(&plans);
//! for b in broken(&find(root, &trees)?, &trees)? {
//!     println!("{}", b.message(root));
//! }
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::layout::{self, Kind, Part};
use crate::plan::discover::{self, Survey};
use crate::plan::{Layout, Migration, Plan};
use crate::repo;
use crate::yaml::{self, Node, Value};

/// The file names kustomize reads as a kustomization.
pub const KUSTOMIZATION_NAMES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The fields whose entries are paths: lists of paths, and lists of mappings whose `path`
/// is one.
const PATH_LISTS: [&str; 4] = ["resources", "components", "bases", "patchesStrategicMerge"];
const PATH_FIELDS: [&str; 2] = ["patches", "patchesJson6902"];

/// One migration's generated folder (`<output>/<migration>`) and every path the plans
/// produce in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tree {
    /// `<output>/<migration>`, absolute and normalized.
    dir: PathBuf,
    layout: Layout,
    /// Stage names, in rollout order.
    stages: Vec<String>,
    /// Each environment and the index of the stage it runs.
    envs: Vec<(String, usize)>,
    /// Files and the folders holding them, relative to `dir` (`dir` itself is the empty path).
    produced: BTreeSet<PathBuf>,
}

impl Tree {
    /// The tree migration `m` of `plan` produces, from the plan alone (nothing is rendered
    /// or read): the same paths `render` writes.
    pub fn of_migration(plan: &Plan, m: &Migration) -> Tree {
        let count = m.stages.len();
        let stages: Vec<String> = m.stages.iter().map(|s| s.name.clone()).collect();
        let envs = m
            .environments
            .iter()
            .filter_map(|e| Some((e.name.clone(), m.stage_index(&e.stage)?)))
            .collect();
        let mut parts: Vec<Part> = stages
            .iter()
            .enumerate()
            .map(|(i, name)| Part::Stage {
                number: i + 1,
                name: name.clone(),
            })
            .collect();
        parts.extend(m.environments.iter().map(|e| Part::Env(e.name.clone())));
        if m.gcp_backend.is_some() {
            parts.push(Part::GcpBackend);
        }
        match &m.verify {
            Some(v) if v.every_stage => {
                parts.extend(stages.iter().enumerate().map(|(i, name)| Part::StageJob {
                    number: i + 1,
                    name: name.clone(),
                }));
            }
            Some(_) => parts.push(Part::VerifyJob),
            None => {}
        }
        let mut produced = BTreeSet::new();
        for part in &parts {
            let folder = plan.layout == Layout::Kustomize
                && !matches!(part, Part::Env(_) | Part::StageJob { .. });
            let kinds: &[Kind] = if folder {
                &[Kind::Manifest, Kind::Kustomization]
            } else {
                &[Kind::Manifest]
            };
            for &kind in kinds {
                let mut rel = layout::file(plan.layout, part, kind, count);
                produced.insert(rel.clone());
                while rel.pop() {
                    produced.insert(rel.clone());
                }
            }
        }
        let dir = plan.migration_dir(m);
        Tree {
            dir: repo::normalize(&dir).unwrap_or(dir),
            layout: plan.layout,
            stages,
            envs,
            produced,
        }
    }

    /// The trees of every migration of `plans`.
    pub fn of_plans(plans: &[Plan]) -> Vec<Tree> {
        plans
            .iter()
            .flat_map(|p| p.migrations.iter().map(move |m| Tree::of_migration(p, m)))
            .collect()
    }

    /// `<output>/<migration>`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the plans produce `path` (absolute): one of the tree's files, or a folder
    /// holding some.
    pub fn produces(&self, path: &Path) -> bool {
        path.strip_prefix(&self.dir)
            .is_ok_and(|rel| self.produced.contains(rel))
    }

    /// Whether `path` is at a place cutover generates files at in this tree (now or with
    /// another plan): such files are cutover's, compared with the plan by `check`.
    fn owns(&self, path: &Path) -> bool {
        path.starts_with(&self.dir)
            && self
                .dir
                .parent()
                .and_then(|output| layout::parse_in(output, path))
                .is_some()
    }

    /// Why `target` (inside the tree, not produced) is missing, and what to write instead.
    fn hint(&self, target: &Path, entry: &str) -> Option<String> {
        let output = self.dir.parent()?;
        let (place, folder) = layout::parse_in(output, target)
            .map(|p| (p, false))
            .or_else(|| {
                layout::parse_in(output, &target.join("kustomization.yaml")).map(|p| (p, true))
            })?;
        let old = target.strip_prefix(&self.dir).ok()?;
        match &place.part {
            Part::Stage { name, .. } => match self.stages.iter().position(|s| s == name) {
                Some(i) => self.moved_stage(i, place.kind, folder, old, entry),
                None => Some(self.gone(&format!("stage {name}"))),
            },
            Part::Env(env) if !self.envs.iter().any(|(e, _)| e == env) => {
                Some(self.gone(&format!("environment {env}")))
            }
            _ => None,
        }
    }

    /// Stage `i` lives at another path now (another number, or wider numbers).
    fn moved_stage(
        &self,
        i: usize,
        kind: Kind,
        folder: bool,
        old: &Path,
        entry: &str,
    ) -> Option<String> {
        let name = &self.stages[i];
        let part = Part::Stage {
            number: i + 1,
            name: name.clone(),
        };
        let mut new = layout::file(self.layout, &part, kind, self.stages.len());
        if folder {
            new.pop();
        }
        if !self.produced.contains(&new) || new == old {
            return None;
        }
        let mut hint = format!("stage {name} is now {}", slashed(&new));
        if let Some(fixed) = rewrite(entry, old, &new) {
            hint.push_str(&format!(": write {fixed}"));
        }
        // An environment's path is a folder (kustomize) or a manifest (flat): offered only
        // where the entry names the same kind of thing.
        let same_kind = folder || self.layout == Layout::Flat;
        if let Some((env, _)) = self
            .envs
            .iter()
            .find(|(_, s)| *s == i)
            .filter(|_| same_kind)
        {
            let env_path = self.env_path(env);
            let written = rewrite(entry, old, &env_path).unwrap_or_else(|| slashed(&env_path));
            hint.push_str(&format!(
                ", or {written}, which follows environment {env} (it runs this stage now) and never moves"
            ));
        }
        Some(hint)
    }

    /// `what` is no longer in the plan; the environments' paths are the stable ones.
    fn gone(&self, what: &str) -> String {
        let envs: Vec<String> = self
            .envs
            .iter()
            .map(|(e, _)| slashed(&self.env_path(e)))
            .collect();
        if envs.is_empty() {
            format!("{what} is no longer in the plan")
        } else {
            format!(
                "{what} is no longer in the plan; an environment's path ({}) follows its stage and never moves",
                envs.join(", ")
            )
        }
    }

    /// An environment's path in the tree: its folder (kustomize) or file (flat).
    fn env_path(&self, env: &str) -> PathBuf {
        let mut p = layout::file(self.layout, &Part::Env(env.to_owned()), Kind::Manifest, 0);
        if self.layout == Layout::Kustomize {
            p.pop();
        }
        p
    }
}

/// A kustomization entry pointing into a generated tree at a path the plans do not produce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// The kustomization file, as given.
    pub file: PathBuf,
    /// 1-based line of the entry's scalar.
    pub line: usize,
    /// 1-based column (in characters) of the entry's scalar.
    pub column: usize,
    /// Where the entry is in the file: `resources[2]`, `patches[0].path`.
    pub field: String,
    /// The entry as written (after YAML unescaping).
    pub entry: String,
    /// Where it resolves: absolute, `.` and `..` resolved lexically.
    pub target: PathBuf,
    /// What changed and what to write instead, when known: the stage's new path, or the
    /// environment path that follows it.
    pub hint: Option<String>,
}

impl Broken {
    /// One line for people: `file:line:column: field "entry": ...`, paths relative to `root`.
    pub fn message(&self, root: &Path) -> String {
        let mut m = format!(
            "{}:{}:{}: {} {:?} points at {}, which the plans do not produce",
            repo::display_rel(root, &self.file),
            self.line,
            self.column,
            self.field,
            self.entry,
            repo::display_rel(root, &self.target),
        );
        if let Some(hint) = &self.hint {
            m.push_str(" (");
            m.push_str(hint);
            m.push(')');
        }
        m
    }
}

/// The broken entries of `kustomizations` (absolute paths of kustomization files) against
/// `trees`, sorted by file, then position.
///
/// An entry (of `resources`, `components`, `bases`, `patchesStrategicMerge`, or the `path`
/// of `patches` and `patchesJson6902`) is broken when it resolves, from its file's folder,
/// inside some tree to a path that no tree produces (neither a file nor a folder holding
/// one). Entries outside every tree and remote entries (URLs, `github.com/...`) are not
/// cutover's business. A file that is not UTF-8 or not valid YAML is skipped, and so is a
/// file at a place cutover generates in a tree (`check` compares those with the plan).
/// Fails only when a file cannot be read.
pub fn broken(kustomizations: &[PathBuf], trees: &[Tree]) -> Result<Vec<Broken>> {
    let mut out = Vec::new();
    if trees.is_empty() {
        return Ok(out);
    }
    for file in kustomizations {
        let bytes = fs::read(file).map_err(|e| Error::Read {
            path: file.clone(),
            source: e,
        })?;
        if let Ok(source) = String::from_utf8(bytes) {
            out.extend(broken_in(file, &source, trees));
        }
    }
    out.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    Ok(out)
}

/// [`broken`] for one kustomization file whose text is `source`: pure.
pub fn broken_in(file: &Path, source: &str, trees: &[Tree]) -> Vec<Broken> {
    if trees.iter().any(|t| t.owns(file)) {
        return Vec::new();
    }
    let (Some(folder), Ok(Some(root))) = (file.parent(), yaml::parse(source)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (field, node, entry) in entries(&root) {
        if is_remote(entry) {
            continue;
        }
        let Some(target) = repo::normalize(&folder.join(entry)) else {
            continue;
        };
        let inside: Vec<&Tree> = trees
            .iter()
            .filter(|t| target.starts_with(&t.dir))
            .collect();
        let hint = if inside.is_empty() {
            // Outside every current tree but in a plan's output folder, where a migration
            // renamed or removed had its tree: broken once that is gone.
            let gone = trees
                .iter()
                .filter_map(|t| t.dir.parent())
                .any(|output| target.starts_with(output) && generated_shape(output, &target));
            if !gone || target.exists() {
                continue;
            }
            Some("no plan produces it now: was the migration renamed or removed?".to_owned())
        } else {
            let output = inside.iter().filter_map(|t| t.dir.parent()).next();
            if inside.iter().any(|t| t.produces(&target))
                || (target.exists() && !output.is_some_and(|o| generated_shape(o, &target)))
            {
                // Produced, or a file or folder of the user's own inside the tree.
                continue;
            }
            // With nested output folders, the innermost tree knows best.
            let tree = inside.iter().max_by_key(|t| t.dir.components().count());
            tree.and_then(|t| t.hint(&target, entry))
        };
        out.push(Broken {
            file: file.to_path_buf(),
            line: node.span.start.line,
            column: node.span.start.col,
            field,
            entry: entry.to_owned(),
            hint,
            target,
        });
    }
    out
}

/// The local files a kustomization (the file `file`, whose text is `source`) patches:
/// the entries of `patchesStrategicMerge` and the `path` of `patches` and
/// `patchesJson6902`, resolved from its folder. A patch is part of an object, not one.
pub fn patch_files(file: &Path, source: &str) -> Vec<PathBuf> {
    let (Some(folder), Ok(Some(root))) = (file.parent(), yaml::parse(source)) else {
        return Vec::new();
    };
    entries(&root)
        .into_iter()
        .filter(|(field, _, entry)| field.starts_with("patches") && !is_remote(entry))
        .filter_map(|(_, _, entry)| repo::normalize(&folder.join(entry)))
        .collect()
}

/// Every kustomization file under `root` (see [`KUSTOMIZATION_NAMES`]), sorted, except
/// those at places cutover generates in `trees`: the walk of [`discover::survey`] (hidden
/// folders, `target` and `node_modules` skipped, symbolic links not followed).
pub fn find(root: &Path, trees: &[Tree]) -> Result<Vec<PathBuf>> {
    Ok(select(&discover::survey(root)?.kustomizations, trees))
}

/// The kustomization files of `found` that are not at places cutover generates in `trees`.
pub fn select(found: &[PathBuf], trees: &[Tree]) -> Vec<PathBuf> {
    let dirs: Vec<&Path> = trees.iter().map(Tree::dir).collect();
    select_outside(found, dirs)
}

/// [`select`] with the trees' folders (`<output>/<migration>`) only: what lies in a
/// generated migration folder is cutover's (compared with the plans file by file), so only
/// kustomizations outside them are read.
fn select_outside(found: &[PathBuf], mut dirs: Vec<&Path>) -> Vec<PathBuf> {
    // A generated tree holds half the kustomizations of a large repository: matched in
    // one pass over both, sorted.
    dirs.sort();
    dirs.dedup();
    let mut found = found.to_vec();
    found.sort();
    let held = repo::first_folder_holding(&found, &dirs);
    found
        .into_iter()
        .zip(held)
        .filter(|(_, h)| h.is_none())
        .map(|(p, _)| p)
        .collect()
}

/// The broken references into the trees of `plans` from every kustomization file of the
/// repositories `surveys` walked, with the root each message is relative to.
pub fn of_selection(
    plans: &[Plan],
    surveys: &[(PathBuf, Survey)],
) -> Result<Vec<(PathBuf, Broken)>> {
    let dirs: Vec<PathBuf> = plans
        .iter()
        .flat_map(Plan::migration_dirs)
        .map(|d| repo::normalize(&d).unwrap_or(d))
        .collect();
    let mut files = Vec::new();
    // Only the repositories of the plans: a folder searched from above a repository
    // holds no reference the plans can break.
    for (root, survey) in surveys
        .iter()
        .filter(|(r, _)| plans.iter().any(|p| &p.root == r))
    {
        let dirs = dirs.iter().map(PathBuf::as_path).collect();
        let found = select_outside(&survey.kustomizations, dirs);
        files.extend(found.into_iter().map(|f| (root, f)));
    }
    if files.is_empty() {
        // The common case: no kustomization of the user's own; no tree is worked out.
        return Ok(Vec::new());
    }
    let trees = Tree::of_plans(plans);
    let mut out = Vec::new();
    for (root, file) in files {
        out.extend(
            broken(std::slice::from_ref(&file), &trees)?
                .into_iter()
                .map(|b| (root.clone(), b)),
        );
    }
    Ok(out)
}

/// Whether `path` is, under the output folder `output`, a file cutover generates there or
/// a folder holding one's kustomization (see [`layout::parse_in`]).
fn generated_shape(output: &Path, path: &Path) -> bool {
    layout::parse_in(output, path).is_some()
        || layout::parse_in(output, &path.join("kustomization.yaml")).is_some()
}

/// The path entries of a kustomization: (field, the entry's node, its text).
fn entries(root: &Node) -> Vec<(String, &Node, &str)> {
    let mut out = Vec::new();
    let Value::Map(pairs) = &root.value else {
        return out;
    };
    for (key, value) in pairs {
        let (Some(key), Value::Seq(items)) = (key.as_str(), &value.value) else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            if PATH_LISTS.contains(&key) {
                if let Some(s) = item.as_str() {
                    out.push((format!("{key}[{i}]"), item, s));
                }
            } else if PATH_FIELDS.contains(&key) {
                let Value::Map(fields) = &item.value else {
                    continue;
                };
                for (k, v) in fields {
                    if let (Some("path"), Some(s)) = (k.as_str(), v.as_str()) {
                        out.push((format!("{key}[{i}].path"), v, s));
                    }
                }
            }
        }
    }
    out
}

/// Entries kustomize fetches, and inline patches (`patchesStrategicMerge` takes both
/// paths and patches): not paths of this repository.
fn is_remote(entry: &str) -> bool {
    const HOSTS: [&str; 3] = ["github.com/", "gitlab.com/", "bitbucket.org/"];
    entry.is_empty()
        || entry.contains("://")
        || entry.contains("?ref=")
        || entry.contains("?version=")
        || entry.starts_with("git@")
        || entry.starts_with("git::")
        || HOSTS.iter().any(|h| entry.starts_with(h))
        || entry.contains('\n')
        || entry.trim_start().starts_with('{')
}

/// `entry` (which named `old`, relative to the tree) rewritten to name `new` instead, when
/// it ends with `old` as written.
fn rewrite(entry: &str, old: &Path, new: &Path) -> Option<String> {
    let prefix = entry.trim_end_matches('/').strip_suffix(&slashed(old))?;
    (prefix.is_empty() || prefix.ends_with('/')).then(|| format!("{prefix}{}", slashed(new)))
}

/// A relative path with `/` separators.
fn slashed(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{render_plan, Templates};

    /// Four stages; `weight-50` is stage 3.
    const BEFORE: &str = "version: 1
output: out
migrations:
- name: checkout
  namespace: ns
  from: a.example.com
  to: b.example.com
  stages: [{mirror: 100}, {weight: 10}, {weight: 50}, {weight: 100}]
  environments: {prod: weight-50, dev: weight-100}
";

    /// `weight-25` inserted: `weight-50` is stage 4 now.
    fn after() -> String {
        BEFORE.replace("{weight: 10}, ", "{weight: 10}, {weight: 25}, ")
    }

    fn plan_in(root: &Path, src: &str) -> Plan {
        Plan::parse(
            "cutover.yaml",
            src.as_bytes(),
            &root.join("cutover.yaml"),
            root,
        )
        .unwrap()
    }

    fn trees(src: &str) -> Vec<Tree> {
        Tree::of_plans(&[plan_in(Path::new("/repo"), src)])
    }

    /// The broken entries of kustomization `rel` (under `/repo`) holding `source`, against
    /// the plan after the insertion.
    fn check(rel: &str, source: &str) -> Vec<Broken> {
        broken_in(&Path::new("/repo").join(rel), source, &trees(&after()))
    }

    /// The entry's position, checked against the text: `text` is written there.
    fn assert_at(source: &str, b: &Broken, text: &str) {
        let line = source.lines().nth(b.line - 1).unwrap();
        let from: String = line.chars().skip(b.column - 1).collect();
        assert!(from.starts_with(text), "{}:{}: {line:?}", b.line, b.column);
    }

    #[test]
    fn a_renumbered_stage_folder_is_broken_and_the_hint_names_its_new_place() {
        let src = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - namespace.yaml
  - ../../out/checkout/stages/03-weight-50
  - ../../out/checkout/envs/prod
  - ../../out/checkout/stages/04-weight-50/
";
        let b = check("deploy/prod/kustomization.yaml", src);
        assert_eq!(b.len(), 1, "{b:#?}");
        let b = &b[0];
        assert_eq!(b.file, Path::new("/repo/deploy/prod/kustomization.yaml"));
        assert_eq!((b.line, b.column), (5, 5));
        assert_at(src, b, "../../out/checkout/stages/03-weight-50");
        assert_eq!(b.field, "resources[1]");
        assert_eq!(b.entry, "../../out/checkout/stages/03-weight-50");
        assert_eq!(
            b.target,
            Path::new("/repo/out/checkout/stages/03-weight-50")
        );
        assert_eq!(
            b.hint.as_deref(),
            Some(
                "stage weight-50 is now stages/04-weight-50: write \
                 ../../out/checkout/stages/04-weight-50, or ../../out/checkout/envs/prod, \
                 which follows environment prod (it runs this stage now) and never moves"
            )
        );
        assert_eq!(
            b.message(Path::new("/repo")),
            format!(
                "deploy/prod/kustomization.yaml:5:5: resources[1] \"../../out/checkout/stages/03-weight-50\" \
                 points at out/checkout/stages/03-weight-50, which the plans do not produce ({})",
                b.hint.as_deref().unwrap()
            )
        );
        // Before the insertion, the same file is fine.
        let before = trees(BEFORE);
        let file = Path::new("/repo/deploy/prod/kustomization.yaml");
        let src_before = src.replace("04-weight-50/", "03-weight-50/");
        assert_eq!(broken_in(file, &src_before, &before), []);
    }

    #[test]
    fn components_and_bases_in_flow_and_block_sequences() {
        let src = "components: [../../out/checkout/stages/01-mirror-100, '../../out/checkout/stages/04-weight-100']
bases:
- ../../out/checkout/stages/05-weight-100
- \"../../out/checkout/stages/02-weight-25\"
";
        let b = check("deploy/dev/kustomization.yaml", src);
        let got: Vec<_> = b
            .iter()
            .map(|b| (b.field.as_str(), b.line, b.column))
            .collect();
        assert_eq!(got, [("components[1]", 1, 55), ("bases[1]", 4, 3)]);
        // A quoted scalar starts at its quote.
        assert_at(src, &b[0], "'../../out/checkout/stages/04-weight-100'");
        assert_at(src, &b[1], "\"../../out/checkout/stages/02-weight-25\"");
        assert_eq!(
            b[0].hint.as_deref(),
            Some(
                "stage weight-100 is now stages/05-weight-100: write \
                 ../../out/checkout/stages/05-weight-100, or ../../out/checkout/envs/dev, \
                 which follows environment dev (it runs this stage now) and never moves"
            )
        );
        // weight-25 is stage 3, and no environment runs it.
        assert_eq!(
            b[1].hint.as_deref(),
            Some("stage weight-25 is now stages/03-weight-25: write ../../out/checkout/stages/03-weight-25")
        );
    }

    #[test]
    fn file_entries_and_folder_entries() {
        let src = "resources:
- checkout/stages/03-weight-50/virtualservice.yaml
- checkout/stages/04-weight-50/virtualservice.yaml
- checkout/stages/04-weight-50/missing.yaml
- checkout/stages
- checkout
- checkout/envs/prod/kustomization.yaml
";
        // A kustomization of the user's own in the output folder, beside the trees.
        let b = check("out/kustomization.yaml", src);
        let got: Vec<_> = b
            .iter()
            .map(|b| (b.field.as_str(), b.hint.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "resources[0]",
                    Some(
                        "stage weight-50 is now stages/04-weight-50/virtualservice.yaml: write \
                         checkout/stages/04-weight-50/virtualservice.yaml"
                    )
                ),
                ("resources[2]", None),
            ]
        );
        assert_eq!(
            b[1].target,
            Path::new("/repo/out/checkout/stages/04-weight-50/missing.yaml")
        );
    }

    #[test]
    fn parent_folders_are_resolved_lexically() {
        let src = "resources:
- ../../out/other/../checkout/./stages/03-weight-50
- ../../out/x/../checkout/envs/prod
- ../../../../../../etc
- /repo/out/checkout/stages/03-weight-50
";
        let b = check("deploy/prod/kustomization.yaml", src);
        let got: Vec<_> = b
            .iter()
            .map(|b| (b.field.as_str(), b.target.clone()))
            .collect();
        let target = PathBuf::from("/repo/out/checkout/stages/03-weight-50");
        assert_eq!(
            got,
            [("resources[0]", target.clone()), ("resources[3]", target)]
        );
        assert!(b[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("write ../../out/other/../checkout/./stages/04-weight-50,"));
        assert!(b[1]
            .hint
            .as_deref()
            .unwrap()
            .contains("write /repo/out/checkout/stages/04-weight-50,"));
    }

    #[test]
    fn remote_entries_are_ignored() {
        // A kustomization of the user's own inside the migration folder: every entry
        // resolves inside the tree unless it is remote.
        let src = "resources:
- github.com/org/repo//deploy?ref=v1.2.0
- https://example.com/manifests/vs.yaml
- git@github.com:org/repo.git//deploy
- git::https://gitlab.com/org/repo.git//x
- gitlab.com/org/repo/base
- ./base?ref=main
- stages/03-weight-50
patchesStrategicMerge:
- |
  apiVersion: v1
  kind: ConfigMap
- '{\"apiVersion\": \"v1\"}'
";
        let b = check("out/checkout/kustomization.yaml", src);
        let got: Vec<_> = b.iter().map(|b| b.field.as_str()).collect();
        assert_eq!(got, ["resources[6]"]);
    }

    #[test]
    fn entries_outside_every_tree_count_only_when_gone_and_shaped_like_one() {
        // Nothing exists under /repo: an entry shaped like a generated path that is gone
        // (a migration renamed, an output moved) is broken; `../base` is not cutover's.
        let src = "resources:
- ../base
- ../../out/payments/envs/prod
- ../../out/checkout-old/stages/03-weight-50
";
        let b = check("deploy/prod/kustomization.yaml", src);
        let got: Vec<_> = b.iter().map(|b| b.field.as_str()).collect();
        assert_eq!(got, ["resources[1]", "resources[2]"]);
        assert!(b[1]
            .hint
            .as_deref()
            .unwrap()
            .starts_with("no plan produces it now"));
        // On disk, they are someone's: left alone.
        let tmp = tempfile::tempdir().unwrap();
        for dir in [
            "out/payments/envs/prod",
            "out/checkout-old/stages/03-weight-50",
        ] {
            std::fs::create_dir_all(tmp.path().join(dir)).unwrap();
        }
        let file = tmp.path().join("deploy/prod/kustomization.yaml");
        assert_eq!(broken_in(&file, src, &[]), []);
    }

    #[test]
    fn patch_paths_are_checked() {
        let src = "patches:
  - path: ../../out/checkout/stages/03-weight-50/virtualservice.yaml
    target: {kind: VirtualService}
  - patch: |-
      - op: replace
        path: /spec/hosts/0
        value: x
  - {path: ../../out/checkout/stages/04-weight-50/virtualservice.yaml}
patchesStrategicMerge:
  - ../../out/checkout/gcpbackend/gcpbackend.yaml
patchesJson6902:
  - target: {kind: Job, name: verify}
    path: ../../out/checkout/verify/job.yaml
";
        let b = check("deploy/prod/kustomization.yaml", src);
        let got: Vec<_> = b
            .iter()
            .map(|b| (b.field.as_str(), b.line, b.column, b.hint.is_some()))
            .collect();
        assert_eq!(
            got,
            [
                ("patches[0].path", 2, 11, true),
                ("patchesStrategicMerge[0]", 10, 5, false),
                ("patchesJson6902[0].path", 13, 11, false),
            ]
        );
        for b in &b {
            assert_at(src, b, &b.entry);
        }
    }

    #[test]
    fn a_stage_no_longer_in_the_plan_points_at_the_environments() {
        let gone = after()
            .replace("{weight: 50}, ", "")
            .replace("prod: weight-50", "prod: weight-25");
        let src =
            "resources: [../out/checkout/stages/03-weight-50, ../out/checkout/envs/staging]\n";
        let b = broken_in(
            Path::new("/repo/deploy/kustomization.yaml"),
            src,
            &trees(&gone),
        );
        let hints: Vec<_> = b.iter().map(|b| b.hint.as_deref().unwrap()).collect();
        assert_eq!(
            hints,
            [
                "stage weight-50 is no longer in the plan; an environment's path \
                 (envs/dev, envs/prod) follows its stage and never moves",
                "environment staging is no longer in the plan; an environment's path \
                 (envs/dev, envs/prod) follows its stage and never moves",
            ]
        );
    }

    #[test]
    fn flat_layout_stage_files() {
        let flat = after().replace("output: out\n", "output: out\nlayout: flat\n");
        let src = "resources:\n- ../out/checkout/03-weight-50.yaml\n- ../out/checkout/envs/prod.yaml\n- ../out/checkout/envs/prod\n";
        let b = broken_in(
            Path::new("/repo/deploy/kustomization.yaml"),
            src,
            &trees(&flat),
        );
        let got: Vec<_> = b
            .iter()
            .map(|b| (b.field.as_str(), b.hint.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "resources[0]",
                    Some(
                        "stage weight-50 is now 04-weight-50.yaml: write ../out/checkout/04-weight-50.yaml, \
                         or ../out/checkout/envs/prod.yaml, which follows environment prod \
                         (it runs this stage now) and never moves"
                    )
                ),
                ("resources[2]", None),
            ]
        );
    }

    #[test]
    fn files_cutover_generates_are_not_judged() {
        let t = trees(&after());
        let src = "resources:\n- ../../stages/03-weight-50\n";
        for rel in [
            "out/checkout/envs/prod/kustomization.yaml",
            "out/checkout/stages/09-weight-90/kustomization.yaml",
        ] {
            assert_eq!(
                broken_in(&Path::new("/repo").join(rel), src, &t),
                [],
                "{rel}"
            );
        }
    }

    #[test]
    fn unreadable_kustomizations_are_skipped() {
        let file = Path::new("/repo/deploy/kustomization.yaml");
        let t = trees(&after());
        for src in [
            "",
            "# only a comment\n",
            "resources: [../../out/checkout/stages/03-weight-50",
            "- ../out/checkout/stages/03-weight-50\n",
            "resources: 3\n",
            "resources: [1, null, {a: b}, [x], true]\n",
            "patches: [x, {path: 3}, {path: [a]}]\n",
            "resources: [a]\n---\nresources: [../out/checkout/stages/03-weight-50]\n",
            "resources: !!binary aGVsbG8=\n",
            "resources: [a, a]\nresources: [b]\n",
            "\u{feff}\t\0",
        ] {
            assert_eq!(broken_in(file, src, &t), [], "{src:?}");
        }
        assert_eq!(broken_in(Path::new("/"), "resources: [x]", &t), []);
    }

    #[test]
    fn anchors_and_aliases_report_the_written_node() {
        let src = "resources:\n- &s ../out/checkout/stages/03-weight-50\ncomponents:\n- *s\n";
        let b = check("deploy/kustomization.yaml", src);
        let got: Vec<_> = b
            .iter()
            .map(|b| (b.field.as_str(), b.line, b.column))
            .collect();
        assert_eq!(got, [("resources[0]", 2, 3), ("components[0]", 4, 3)]);
    }

    /// The tree a plan describes is exactly the files `render` writes and their folders.
    #[test]
    fn trees_are_what_render_writes() {
        let full = after().replace(
            "  environments:",
            "  gcpBackend: {service: checkout, region: europe-west1}\n  verify: {path: /healthz, everyStage: true}\n  environments:",
        );
        let flat = full
            .replace("output: out\n", "output: out\nlayout: flat\n")
            .replace(", everyStage: true", "");
        let by_hand = full.replace(", everyStage: true", "");
        let templates = Templates::builtin().unwrap();
        for src in [BEFORE.to_owned(), after(), full, flat, by_hand] {
            let plan = plan_in(Path::new("/repo"), &src);
            let tree = Tree::of_plans(std::slice::from_ref(&plan)).remove(0);
            assert_eq!(tree.dir(), Path::new("/repo/out/checkout"));
            let mut want = BTreeSet::new();
            for f in render_plan(&plan, &templates).unwrap() {
                let mut rel = f.path.strip_prefix(tree.dir()).unwrap().to_path_buf();
                assert!(tree.produces(&f.path), "{}", f.rel);
                want.insert(rel.clone());
                while rel.pop() {
                    want.insert(rel.clone());
                }
            }
            assert_eq!(tree.produced, want, "{src}");
        }
    }

    #[test]
    fn finds_kustomizations_and_reads_them() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let t = Tree::of_plans(&[plan_in(&root, &after())]);
        let bad = "resources: [../../out/checkout/stages/03-weight-50]\n";
        for (rel, text) in [
            ("a/b/kustomization.yaml", bad),
            (
                "c/Kustomization",
                "resources: [../out/checkout/envs/prod]\n",
            ),
            ("d/kustomization.yml", "{"),
            ("e/other.yaml", bad),
            (".git/x/kustomization.yaml", bad),
            ("out/.cutover-1234.tmp/kustomization.yaml", bad),
            ("out/checkout/envs/prod/kustomization.yaml", bad),
            ("out/kustomization.yaml", "resources: [checkout/envs/dev]\n"),
        ] {
            let path = root.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        fs::write(root.join("f-kustomization.yaml"), [0xff, 0xfe]).unwrap();
        fs::create_dir_all(root.join("f")).unwrap();
        fs::write(root.join("f/kustomization.yaml"), [0xff, 0xfe]).unwrap();
        let found = find(&root, &t).unwrap();
        let rels: Vec<_> = found.iter().map(|p| repo::display_rel(&root, p)).collect();
        assert_eq!(
            rels,
            [
                "a/b/kustomization.yaml",
                "c/Kustomization",
                "d/kustomization.yml",
                "f/kustomization.yaml",
                "out/kustomization.yaml",
            ]
        );
        let b = broken(&found, &t).unwrap();
        let got: Vec<_> = b.iter().map(|b| b.message(&root)).collect();
        assert_eq!(got.len(), 1, "{got:#?}");
        assert!(
            got[0].starts_with("a/b/kustomization.yaml:1:13: resources[0] "),
            "{got:#?}"
        );
        assert_eq!(broken(&found, &[]).unwrap(), []);
        let missing = broken(&[root.join("nope/kustomization.yaml")], &t).unwrap_err();
        assert!(matches!(missing, Error::Read { .. }), "{missing}");
    }
}
