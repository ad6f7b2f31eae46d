//! The one way commands get their plans: read the plan, validate it, check its output
//! folder on disk, read the base VirtualServices it names, all under one confinement rule.
//!
//! Plans on disk go through [`Loader::load`] (or [`Loader::load_all`] for many at once);
//! a plan being edited (`promote`, `rollback`) through [`Loader::load_edited`]; a plan
//! read from elsewhere (a git revision) through [`Loader::load_with`].

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::error::{Diagnostic, Diagnostics, Error, Result, Severity};
use crate::git::Revision;
use crate::plan::controllers;
use crate::plan::discover::{self, Survey};
use crate::plan::{parse, Confinement, Plan, MAX_PLAN_BYTES};
use crate::repo;

/// The plans a command works on, and what it must protect: every other plan of their
/// repositories. Naming plans limits what is rendered or reported, never what is
/// protected.
#[derive(Debug, Default)]
pub struct Selection {
    /// The plans named on the command line (or found), fully loaded.
    pub plans: Vec<Plan>,
    /// Every other plan of the same repositories that parses (base files not read).
    pub others: Vec<Plan>,
    /// Per repository root: what a walk over it found.
    pub surveys: Vec<(PathBuf, Survey)>,
    /// Other plans of the repositories that do not parse: their folders cannot be
    /// checked for conflicts (their files stay protected by their headers).
    pub unreadable: Vec<Diagnostic>,
}

/// Loads plans under one [`Confinement`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Loader {
    confinement: Confinement,
}

impl Loader {
    /// A loader applying `confinement`.
    pub fn new(confinement: Confinement) -> Loader {
        Loader { confinement }
    }

    /// The confinement this loader applies.
    pub fn confinement(&self) -> Confinement {
        self.confinement
    }

    /// Reads and validates the plan at `path`, checks its output folder on disk and reads
    /// its base VirtualServices. `file` is how messages name it.
    pub fn load(&self, path: &Path, file: &str) -> Result<Plan> {
        let abs = absolute(path)?;
        let meta = std::fs::metadata(&abs).map_err(|e| read_error(path, e))?;
        if !meta.is_file() {
            return Err(invalid(file, "not a regular file".into()));
        }
        check_size(file, meta.len())?;
        let bytes = std::fs::read(&abs).map_err(|e| read_error(path, e))?;
        self.load_at(&abs, file, &bytes)
    }

    /// The plan file at `path` with new contents `bytes` (an edit not yet written): the
    /// same checks as [`Loader::load`], base VirtualServices read from disk.
    pub fn load_edited(&self, path: &Path, file: &str, bytes: &[u8]) -> Result<Plan> {
        let abs = absolute(path)?;
        check_size(file, bytes.len() as u64)?;
        self.load_at(&abs, file, bytes)
    }

    /// Loads every plan. Problems in all of them are reported together; plans that two
    /// paths name twice are loaded once; two migrations (of any plans) that would write
    /// the same output folder are an error naming both.
    pub fn load_all(&self, paths: &[(PathBuf, String)]) -> Result<Vec<Plan>> {
        let mut plans: Vec<Plan> = Vec::new();
        let mut diags = Vec::new();
        let mut failed = false;
        for (path, file) in paths {
            match self.load(path, file) {
                Ok(plan) => {
                    if !plans.iter().any(|p| p.root == plan.root && p.id == plan.id) {
                        plans.push(plan);
                    }
                }
                Err(Error::Invalid(Diagnostics(d))) => {
                    failed = true;
                    diags.extend(d);
                }
                Err(e) => return Err(e),
            }
        }
        let conflicts = folder_conflicts(&plans, plans.len());
        failed |= !conflicts.is_empty();
        diags.extend(conflicts.into_iter().map(|(_, _, d)| d));
        if failed {
            return Err(Error::Invalid(Diagnostics(diags)));
        }
        Ok(plans)
    }

    /// Loads the plans at `paths` (see [`Loader::load_all`]) and parses every other plan
    /// of their repositories, found by walking each repository (`surveys` already made
    /// are reused). Fails when a migration of a loaded plan writes the folder of any
    /// other plan's migration, whether that plan was named or not, and when its base
    /// VirtualService is one a `Rollout` or `Canary` of the repository names
    /// ([`controllers::refuse_managed`]).
    pub fn load_selection(
        &self,
        paths: &[(PathBuf, String)],
        mut surveys: Vec<(PathBuf, Survey)>,
    ) -> Result<Selection> {
        let plans = self.load_all(paths)?;
        let mut roots: Vec<&Path> = plans.iter().map(|p| p.root.as_path()).collect();
        roots.sort();
        roots.dedup();
        for root in roots {
            if surveys.iter().any(|(r, _)| r == root) {
                continue;
            }
            // A walk from above this repository (plans searched from a folder above it)
            // already saw it.
            let survey = match surveys.iter().find(|(r, _)| root.starts_with(r)) {
                Some((_, above)) => above.within(root),
                None => discover::survey_skipping(root, &current_folders(&plans))?,
            };
            surveys.push((root.to_path_buf(), survey));
        }
        let mut others = Vec::new();
        let mut unreadable = Vec::new();
        // Outside git a plan's folder is its repository: one file can be found from two
        // roots, so plans are told apart by their full path.
        let selected: std::collections::HashSet<PathBuf> =
            plans.iter().map(|p| p.root.join(&p.id)).collect();
        for (root, survey) in &surveys {
            for path in &survey.plans {
                let id = repo::relative(root, path).unwrap_or_default();
                if selected.contains(path) {
                    continue;
                }
                match self.parse_other(path, &id, root) {
                    Ok(plan) => others.push(plan),
                    Err(why) => unreadable.push(
                        Diagnostic::new(Severity::Warning, &id, format!(
                            "this plan does not load ({why}), so the plans named cannot be checked against its output folders; files it generated stay protected by their headers"
                        ))
                        .with_help(format!("run: cutover validate {id}")),
                    ),
                }
            }
        }
        let mut all = plans;
        let selected = all.len();
        all.extend(others);
        let conflicts: Vec<Diagnostic> = folder_conflicts(&all, selected)
            .into_iter()
            .filter(|(p, q, _)| *p < selected || *q < selected)
            .map(|(_, _, d)| d)
            .collect();
        if !conflicts.is_empty() {
            return Err(Error::Invalid(Diagnostics(conflicts)));
        }
        let others = all.split_off(selected);
        controllers::refuse_managed(&all, &others, &surveys)?;
        Ok(Selection {
            plans: all,
            others,
            surveys,
            unreadable,
        })
    }

    /// Parses another plan of the repository, only to know its output folders.
    fn parse_other(&self, path: &Path, id: &str, root: &Path) -> std::result::Result<Plan, String> {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        check_size(id, bytes.len() as u64).map_err(|e| e.to_string())?;
        let mut plan = match self.parse(id, &bytes, path, root) {
            Ok(plan) => plan,
            Err(Error::Invalid(Diagnostics(d))) => {
                let n = d.iter().filter(|d| d.is_error()).count();
                return Err(format!("{n} error{}", if n == 1 { "" } else { "s" }));
            }
            Err(e) => return Err(e.to_string()),
        };
        if let Ok(real) = repo::canonical_existing_prefix(&plan.output) {
            plan.output = real;
        }
        Ok(plan)
    }

    /// Validates plan `bytes` as if they were read from `path` (absolute) in repository
    /// `root`, and reads its base VirtualServices with `read_base` (path relative to the
    /// root → contents, or why they cannot be read). Touches no file itself: the output
    /// folder is not checked on disk. For plans read from a git revision.
    pub fn load_with(
        &self,
        file: &str,
        bytes: &[u8],
        path: &Path,
        root: &Path,
        read_base: impl FnMut(&str) -> std::result::Result<String, String>,
    ) -> Result<Plan> {
        let mut plan = self.parse(file, bytes, path, root)?;
        read_bases(&mut plan, read_base)?;
        Ok(plan)
    }

    /// Loads the plans at `rels` (relative to the root) as they were at git revision
    /// `rev` (their base VirtualServices also read at the revision); plans that did not
    /// exist there are skipped. Messages name them `REV:path`.
    pub fn load_at_revision(&self, rev: &Revision, rels: &[String]) -> Result<Vec<Plan>> {
        let mut plans = Vec::new();
        let mut diags = Vec::new();
        for rel in rels {
            let Some(bytes) = rev.read(rel)? else {
                continue;
            };
            let name = format!("{}:{rel}", rev.rev);
            let read_base = |base: &str| match rev.read(base) {
                Ok(Some(b)) => String::from_utf8(b).map_err(|_| "not UTF-8".to_owned()),
                Ok(None) => Err(format!("does not exist at {}", rev.rev)),
                Err(e) => Err(e.to_string()),
            };
            match self.load_with(&name, &bytes, &rev.root.join(rel), &rev.root, read_base) {
                Ok(p) => plans.push(p),
                Err(Error::Invalid(d)) => diags.extend(d.0),
                Err(e) => return Err(e),
            }
        }
        if !diags.is_empty() {
            return Err(Error::Invalid(Diagnostics(diags)));
        }
        Ok(plans)
    }

    /// Validates plan `bytes` as if they were read from `path` (absolute) in repository
    /// `root`. Touches no file and reads no base VirtualService.
    pub fn parse(&self, file: &str, bytes: &[u8], path: &Path, root: &Path) -> Result<Plan> {
        parse::parse(file, bytes, path, root, self.confinement)
    }

    /// The plan `bytes` of the file at `abs` (an absolute path), in its repository.
    fn load_at(&self, abs: &Path, file: &str, bytes: &[u8]) -> Result<Plan> {
        let dir = abs
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"));
        let dir = dir.canonicalize().map_err(|e| read_error(&dir, e))?;
        let root = repo::find_root(&dir);
        let full = dir.join(abs.file_name().map(PathBuf::from).unwrap_or_default());
        // The plan's path is its identity in generated headers and the command users
        // copy from them: it must be text, on one line.
        match full.to_str() {
            Some(p) if !p.chars().any(char::is_control) => {}
            _ => {
                return Err(invalid(
                    file,
                    "the plan's file path is not UTF-8 or holds control characters; rename it"
                        .into(),
                ))
            }
        }
        let mut plan = self.parse(file, bytes, &full, &root)?;
        check_output_on_disk(&mut plan, self.confinement)?;
        read_bases(&mut plan, |rel| {
            read_base_file(&root, rel, self.confinement)
        })?;
        Ok(plan)
    }
}

/// The folders the migrations of `plans` write (`<output>/<migration>`).
fn current_folders(plans: &[Plan]) -> std::collections::HashSet<PathBuf> {
    plans.iter().flat_map(Plan::migration_dirs).collect()
}

/// Pairs each path with how messages should name it (as given, without a leading `./`).
pub fn named(paths: &[PathBuf]) -> Vec<(PathBuf, String)> {
    paths.iter().map(|p| (p.clone(), display(p))).collect()
}

/// The warnings of every plan.
pub fn warnings(plans: &[Plan]) -> impl Iterator<Item = &Diagnostic> {
    plans.iter().flat_map(|p| p.warnings.iter())
}

fn display(p: &Path) -> String {
    let s = p.display().to_string();
    s.strip_prefix("./").map(str::to_owned).unwrap_or(s)
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| read_error(path, e))
}

fn read_error(path: &Path, source: std::io::Error) -> Error {
    Error::Read {
        path: path.to_path_buf(),
        source,
    }
}

fn invalid(file: &str, msg: String) -> Error {
    Error::Invalid(Diagnostics(vec![Diagnostic::new(
        Severity::Error,
        file,
        msg,
    )]))
}

fn check_size(file: &str, len: u64) -> Result<()> {
    if len > MAX_PLAN_BYTES as u64 {
        return Err(invalid(
            file,
            format!(
                "the plan is {len} bytes; plans larger than {MAX_PLAN_BYTES} bytes are refused"
            ),
        ));
    }
    Ok(())
}

/// Two migrations (of any of `plans`) writing the same output folder, each pair once:
/// the indices of the two plans (earlier, later) and the error. The error is reported on
/// the later plan, unless only the earlier one is among the first `named` plans (the
/// plans a command names come first).
fn folder_conflicts(plans: &[Plan], named: usize) -> Vec<(usize, usize, Diagnostic)> {
    let mut diags = Vec::new();
    let mut folders: HashMap<PathBuf, (usize, usize)> = HashMap::new();
    for (p, plan) in plans.iter().enumerate() {
        for (i, m) in plan.migrations.iter().enumerate() {
            let dir = plan.migration_dir(m);
            let Some(&(q, j)) = folders.get(&dir) else {
                folders.insert(dir, (p, i));
                continue;
            };
            let (at, ai, other, oi) = if p >= named && q < named {
                (q, j, p, i)
            } else {
                (p, i, q, j)
            };
            let (plan, m, other) = (&plans[at], &plans[at].migrations[ai], &plans[other]);
            let mut d = Diagnostic::new(
                Severity::Error,
                &plan.file,
                format!(
                    "migration `{}` writes to {}, which migration `{}` of {} also writes to",
                    m.name,
                    dir.strip_prefix(&plan.root).unwrap_or(&dir).display(),
                    other.migrations[oi].name,
                    other.file
                ),
            )
            .with_field(format!("migrations[{ai}].name"))
            .with_help("give one plan another `output` folder, or rename the migration");
            d.snippet = m.location.clone();
            diags.push((q, p, d));
        }
    }
    diags
}

/// Refuses an output folder that exists, or has an existing ancestor, which resolves
/// (through symlinks) outside the repository; then works on the real folder.
fn check_output_on_disk(plan: &mut Plan, confinement: Confinement) -> Result<()> {
    let invalid = |msg: String| {
        Error::Invalid(Diagnostics(vec![Diagnostic::new(
            Severity::Error,
            &plan.file,
            msg,
        )
        .with_field("output")]))
    };
    let real =
        repo::canonical_existing_prefix(&plan.output).map_err(|e| read_error(&plan.output, e))?;
    if confinement.allow_outside_repo {
        plan.output = real;
        return Ok(());
    }
    if !real.starts_with(&plan.root) {
        return Err(invalid(format!(
            "output folder {} resolves through a symlink to {}, outside the repository {}",
            plan.output.display(),
            real.display(),
            plan.root.display()
        )));
    }
    // Another repository nested inside this one is not this plan's to write.
    let mut dir = real.as_path();
    while dir != plan.root {
        if dir.join(".git").exists() {
            return Err(invalid(format!(
                "output folder {} is inside another git repository ({}); put the plan in that repository",
                plan.output.display(),
                dir.display()
            )));
        }
        match dir.parent() {
            Some(p) => dir = p,
            None => break,
        }
    }
    // Work on the real folder: two plans reaching one folder through different
    // symlinks are then seen to collide.
    plan.output = real;
    Ok(())
}

/// The base VirtualService `rel` (relative to `root`) from disk, kept in the repository
/// unless the confinement allows otherwise.
fn read_base_file(
    root: &Path,
    rel: &str,
    confinement: Confinement,
) -> std::result::Result<String, String> {
    let real = root.join(rel).canonicalize().map_err(|e| e.to_string())?;
    if !real.starts_with(root) && !confinement.allow_outside_repo {
        return Err(format!(
            "resolves to {}, outside the repository",
            real.display()
        ));
    }
    let meta = std::fs::metadata(&real).map_err(|e| e.to_string())?;
    if meta.len() > MAX_PLAN_BYTES as u64 {
        return Err(format!("larger than {MAX_PLAN_BYTES} bytes"));
    }
    std::fs::read_to_string(&real).map_err(|e| e.to_string())
}

/// Reads every base VirtualService file the migrations name with `read` (path relative
/// to the root → contents, or why it cannot be read).
fn read_bases(
    plan: &mut Plan,
    mut read: impl FnMut(&str) -> std::result::Result<String, String>,
) -> Result<()> {
    let mut diags = Vec::new();
    let wanted: BTreeSet<String> = plan
        .migrations
        .iter()
        .filter_map(|m| m.base.clone())
        .collect();
    for rel in wanted {
        match read(&rel) {
            Ok(text) => {
                plan.bases.insert(rel, text);
            }
            Err(why) => {
                let first = plan
                    .migrations
                    .iter()
                    .position(|m| m.base.as_deref() == Some(rel.as_str()))
                    .unwrap_or_default();
                diags.push(
                    Diagnostic::new(
                        Severity::Error,
                        &plan.file,
                        format!("cannot read the base VirtualService {rel}: {why}"),
                    )
                    .with_field(format!("migrations[{first}].base")),
                );
            }
        }
    }
    if diags.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(Diagnostics(diags)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = "version: 1\noutput: ../out\nmigrations:\n  - name: a\n    namespace: n\n    base: ../vs.yaml\n    from: a.example.com\n    to: b.example.com\n    stages: [{weight: 100}]\n";

    /// A repository `repo/` holding the plan, with the base VirtualService beside it.
    fn repo() -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().canonicalize().unwrap().join("repo");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::write(repo.join("cutover.yaml"), PLAN).unwrap();
        std::fs::write(tmp.path().join("vs.yaml"), "kind: VirtualService\n").unwrap();
        (tmp, repo)
    }

    #[test]
    fn the_confinement_is_the_loaders() {
        let (_tmp, repo) = repo();
        let path = repo.join("cutover.yaml");
        let fields = |e: Error| match e {
            Error::Invalid(Diagnostics(d)) => d.into_iter().map(|d| d.field).collect::<Vec<_>>(),
            e => panic!("{e}"),
        };
        let confined = Loader::default().load(&path, "cutover.yaml").unwrap_err();
        assert_eq!(fields(confined), ["output", "migrations[0].base"]);
        let loader = Loader::new(Confinement {
            allow_outside_repo: true,
        });
        let plan = loader.load(&path, "cutover.yaml").unwrap();
        assert_eq!(plan.output, repo.parent().unwrap().join("out"));
        assert_eq!(
            plan.bases.values().next().unwrap(),
            "kind: VirtualService\n"
        );
        // Both at once: a confined parse next to an unconfined one.
        assert!(Plan::parse("p", PLAN.as_bytes(), &path, &repo).is_err());
        assert!(loader.parse("p", PLAN.as_bytes(), &path, &repo).is_ok());
    }

    #[test]
    fn an_edited_plan_is_checked_and_reads_its_bases() {
        let (_tmp, repo) = repo();
        let loader = Loader::new(Confinement {
            allow_outside_repo: true,
        });
        let path = repo.join("cutover.yaml");
        let edited = PLAN.replace("weight: 100", "weight: 50");
        let plan = loader
            .load_edited(&path, "cutover.yaml", edited.as_bytes())
            .unwrap();
        assert_eq!(plan.bases.len(), 1);
        assert_eq!(plan.warnings.len(), 1, "the edit is what is validated");
        let broken = PLAN.replace("weight: 100", "weight: 500");
        assert!(loader
            .load_edited(&path, "cutover.yaml", broken.as_bytes())
            .is_err());
    }

    #[test]
    fn many_plans_report_folder_conflicts() {
        let (_tmp, repo) = repo();
        std::fs::write(repo.join("b.cutover.yaml"), PLAN).unwrap();
        let loader = Loader::new(Confinement {
            allow_outside_repo: true,
        });
        let paths = named(&[repo.join("cutover.yaml"), repo.join("b.cutover.yaml")]);
        let Err(Error::Invalid(Diagnostics(d))) = loader.load_all(&paths) else {
            panic!("two plans writing one folder were accepted");
        };
        assert!(d[0].message.contains("also writes to"), "{}", d[0].message);
        // The same plan named twice is loaded once.
        let twice = named(&[repo.join("cutover.yaml"), repo.join("./cutover.yaml")]);
        assert_eq!(loader.load_all(&twice).unwrap().len(), 1);
    }
}
