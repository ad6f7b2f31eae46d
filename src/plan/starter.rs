//! `cutover init`: a commented starter plan.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::plan::{discover, Loader};
use crate::yaml::escape;

/// The values `init` fills in.
#[derive(Clone, Debug)]
pub struct Starter {
    /// The migration name.
    pub name: String,
    /// The namespace.
    pub namespace: String,
    /// The VirtualService's `metadata.name`, when not the migration name.
    pub virtual_service: Option<String>,
    /// The ServiceEntry host.
    pub from: String,
    /// The GCPBackend host.
    pub to: String,
    /// Weight stages, in order.
    pub stages: Vec<u8>,
    /// A first mirror stage, if any.
    pub mirror: Option<f64>,
    /// The output folder.
    pub output: String,
}

impl Default for Starter {
    fn default() -> Self {
        Starter {
            name: "checkout".into(),
            namespace: "payments".into(),
            virtual_service: None,
            from: "cr-service-entry.com".into(),
            to: "cr-gcpbackend.com".into(),
            stages: vec![10, 25, 50, 100],
            mirror: None,
            output: "deploy/cutover".into(),
        }
    }
}

/// The text of a starter plan. Its first line gives editors the plan's JSON Schema
/// ([`crate::plan::schema::modeline`]).
pub fn text(s: &Starter) -> String {
    let q = escape::scalar;
    let mut stages = String::new();
    if let Some(p) = s.mirror {
        stages.push_str(&format!(
            "      - mirror: {}          # copy {}% of requests to the GCPBackend; all are still served by `from`\n",
            crate::plan::stage::Percent(p),
            crate::plan::stage::Percent(p)
        ));
    }
    for (i, w) in s.stages.iter().enumerate() {
        let hold = if i + 1 < s.stages.len() {
            ", hold: 24h"
        } else {
            ""
        };
        stages.push_str(&format!("      - {{weight: {w}{hold}}}\n"));
    }
    format!(
        "{modeline}
# cutover migration plan: moves Cloud Run traffic from an Istio ServiceEntry host to a
# GCPBackend host, one reviewed stage at a time. Reference: the README's \"The plan file\".
version: 1
output: {output}            # generated tree, relative to this file
layout: kustomize             # or: flat
apiVersion: networking.istio.io/v1

migrations:
  - name: {name}             # names the output folder
    namespace: {namespace}
{virtual_service}    from: {from}    # the ServiceEntry host clients call today
    to: {to}        # the GCPBackend host traffic moves to
    # hosts: [{from}]   # spec.hosts (default: [from])
    # gcpBackend: {{service: {name}, region: europe-west1}}   # also render the GCPBackend
    # verify: {{path: /, everyStage: true}}                    # and, in each stage, a Job that checks both hosts answer 200
    stages:                   # in rollout order; check the error rate of requests to `from` between stages
{stages}    environments:             # each environment deploys from <output>/{name}/envs/<env>
      staging: {first}
      prod: {first}
",
        modeline = crate::plan::schema::modeline(),
        output = q(&s.output),
        name = q(&s.name),
        namespace = q(&s.namespace),
        virtual_service = match &s.virtual_service {
            Some(v) => format!("    virtualService: {}   # the VirtualService's metadata.name\n", q(v)),
            None => format!("    # virtualService: {}   # metadata.name (default: the migration name)\n", q(&s.name)),
        },
        from = q(&s.from),
        to = q(&s.to),
        stages = stages,
        first = match s.mirror {
            Some(p) => format!("mirror-{}", crate::plan::stage::Percent(p)).replace('.', "-"),
            None => format!("weight-{}", s.stages.first().copied().unwrap_or(100)),
        },
    )
}

/// Writes the starter plan to `path`, refusing to overwrite anything, and refusing a
/// path the plan search would not find (see [`NewPlan::at`]). The text is validated as a
/// plan (with `loader`'s confinement) before anything is created, so bad values are
/// reported like any plan error; a refused or failed `init` leaves nothing.
pub fn write(loader: &Loader, path: &Path, s: &Starter) -> Result<crate::plan::Plan> {
    let target = NewPlan::at(path, "init")?;
    check_flags(s)?;
    let text = text(s);
    let plan = loader.parse(&target.shown, text.as_bytes(), &target.real, &target.root)?;
    target.create(&text)?;
    Ok(plan)
}

/// A plan file about to be written (by `init` or `import`): a path the plan search finds,
/// where no file is.
#[derive(Debug)]
pub struct NewPlan {
    /// The path as given.
    path: PathBuf,
    /// How messages name it.
    pub shown: String,
    /// The path, absolute (`..` not resolved).
    abs: PathBuf,
    /// Where the plan will be, as the loader will see it: `..` and symlinks resolved as
    /// far as folders exist.
    pub real: PathBuf,
    /// Its repository root.
    pub root: PathBuf,
    /// The command writing it (for messages).
    command: &'static str,
}

impl NewPlan {
    /// Checks `path` for `command`: refuses a path the plan search would not find (so
    /// that `check` sees the plan), and one where a file already is.
    pub fn at(path: &Path, command: &'static str) -> Result<NewPlan> {
        let shown = path.display().to_string();
        let write_error = |e| Error::Write {
            path: path.to_path_buf(),
            source: e,
        };
        let abs = std::path::absolute(path).map_err(write_error)?;
        let dir = abs.parent().unwrap_or(Path::new("/"));
        // Folders that do not exist yet hold no `.git`: the root is the same before and
        // after they are created.
        let real_dir = crate::repo::canonical_existing_prefix(dir).map_err(write_error)?;
        let real = real_dir.join(abs.file_name().unwrap_or_default());
        let root = crate::repo::find_root(&real_dir);
        if let Some(e) = unfound(path, &real, &root) {
            return Err(e);
        }
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(exists(&shown, command));
        }
        Ok(NewPlan {
            path: path.to_path_buf(),
            shown,
            abs,
            real,
            root,
            command,
        })
    }

    /// Creates the file with `text`, and the folders it needs, atomically: the text is
    /// written to a temporary file beside it, flushed, then linked into place only if no
    /// file is there (never over one that appeared meanwhile). A failure leaves nothing.
    pub fn create(&self, text: &str) -> Result<()> {
        let dir = self.abs.parent().unwrap_or(Path::new("/"));
        let created = create_folders(dir)?;
        let written = self.create_file(dir, text);
        if written.is_err() {
            remove_folders(&created);
        }
        written
    }

    fn create_file(&self, dir: &Path, text: &str) -> Result<()> {
        let write_error = |e| Error::Write {
            path: self.path.clone(),
            source: e,
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".cutover-").suffix(".tmp");
        // As any new file: 0666 less the umask (a temporary file is 0600 by default).
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let mut tmp = builder.tempfile_in(dir).map_err(write_error)?;
        std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(write_error)?;
        tmp.as_file().sync_all().map_err(write_error)?;
        match tmp.persist_noclobber(&self.abs) {
            Ok(_) => Ok(()),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(exists(&self.shown, self.command))
            }
            Err(e) => Err(write_error(e.error)),
        }
    }
}

/// The refusal of a plan at `path` (`real` where it will be, in repository `root`) that
/// the plan search, run from the root, would not find (so `check` would never look at
/// it), or `None`.
fn unfound(path: &Path, real: &Path, root: &Path) -> Option<Error> {
    let rel = crate::repo::relative(root, real).unwrap_or_else(|| {
        real.file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    });
    if discover::is_found_at(&rel) {
        return None;
    }
    let head = format!(
        "{} would not be found by cutover's plan search (cutover.yaml or NAME.cutover.yaml, outside hidden folders, target/ and node_modules/)",
        path.display()
    );
    if let Some(folder) = discover::skipped_folder(&rel) {
        return Some(Error::Refused(format!(
            "{head}: it is inside {folder}/, which the search skips; choose a folder outside it"
        )));
    }
    // A folder was named: the plan goes inside it.
    if real.is_dir() {
        let inside = path.join("cutover.yaml");
        return Some(Error::Refused(format!(
            "{head}; it is a folder: use {}",
            inside.display()
        )));
    }
    let file = Path::new(path.file_name().unwrap_or_default());
    let stem = file.file_stem().unwrap_or_default().to_string_lossy();
    let stem = stem.trim_end_matches(".cutover").trim_start_matches('.');
    let mut names = vec![path.with_file_name("cutover.yaml")];
    if !stem.is_empty() && stem != "cutover" {
        names.push(path.with_file_name(format!("{stem}.cutover.yaml")));
    }
    let names: Vec<String> = names.iter().map(|n| n.display().to_string()).collect();
    Some(Error::Refused(format!(
        "{head}; use {}",
        names.join(" or ")
    )))
}

fn exists(shown: &str, command: &str) -> Error {
    Error::Refused(format!(
        "{shown} already exists; cutover {command} never overwrites a file (choose another name, or delete it)"
    ))
}

/// Creates `dir` and its missing ancestors; returns the folders created, outermost first
/// (on an error, those created so far are removed again).
fn create_folders(dir: &Path) -> Result<Vec<PathBuf>> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|a| std::fs::symlink_metadata(a).is_err())
        .collect();
    let mut created = Vec::new();
    for folder in missing.into_iter().rev() {
        match std::fs::create_dir(folder) {
            Ok(()) => created.push(folder.to_path_buf()),
            // Made by someone else meanwhile: not ours to remove.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && folder.is_dir() => {}
            Err(e) => {
                remove_folders(&created);
                return Err(Error::Write {
                    path: dir.to_path_buf(),
                    source: e,
                });
            }
        }
    }
    Ok(created)
}

/// Removes the (empty) folders `create_folders` made, innermost first.
fn remove_folders(created: &[PathBuf]) {
    for folder in created.iter().rev() {
        // Best effort: the write already failed, and that error is the one to report.
        let _ = std::fs::remove_dir(folder);
    }
}

/// Checks the values given on the command line, naming the flag of a bad one.
fn check_flags(s: &Starter) -> Result<()> {
    use crate::plan::names;
    let bad = |flag: &str, value: &str, what: &str| {
        Err(Error::Refused(format!("--{flag}: `{value}` is not {what}")))
    };
    if !names::is_dns1123_label(&s.name) {
        return bad(
            "name",
            &s.name,
            "a DNS-1123 label (lowercase letters, digits and `-`)",
        );
    }
    if !names::is_dns1123_label(&s.namespace) {
        return bad("namespace", &s.namespace, "a DNS-1123 label");
    }
    if let Some(v) = s.virtual_service.as_deref() {
        if !names::is_dns1123_subdomain(v) {
            return bad("virtual-service", v, "a DNS-1123 subdomain");
        }
    }
    if !names::is_host(&s.from) {
        return bad("from", &s.from, "a host name");
    }
    if !names::is_host(&s.to) {
        return bad("to", &s.to, "a host name");
    }
    if s.from.eq_ignore_ascii_case(&s.to) {
        return Err(Error::Refused("--from and --to are the same host".into()));
    }
    if let Some(p) = s.mirror {
        if !(p > 0.0 && p <= 100.0) {
            return bad("mirror", &p.to_string(), "a percentage in (0, 100]");
        }
    }
    Ok(())
}

/// Parses `--stages 10,25,50,100`: weights from 0 to 100, each above the one before.
pub fn parse_stages(s: &str) -> std::result::Result<Vec<u8>, String> {
    let weights = s
        .split(',')
        .map(|p| {
            let p = p.trim();
            if p.is_empty() {
                return Err(
                    "an empty entry; write weights separated by commas, e.g. 10,25,50,100"
                        .to_owned(),
                );
            }
            p.parse::<u8>()
                .ok()
                .filter(|w| *w <= 100)
                .ok_or_else(|| format!("`{p}` is not a weight from 0 to 100"))
        })
        .collect::<std::result::Result<Vec<u8>, String>>()?;
    match weights.windows(2).find(|w| w[1] <= w[0]) {
        Some(w) => Err(format!(
            "`{}` after `{}`: list the weights in rollout order, each above the one before, e.g. 10,25,50,100",
            w[1], w[0]
        )),
        None => Ok(weights),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_plan_is_a_valid_plan() {
        for mirror in [None, Some(10.0), Some(12.5)] {
            let s = Starter {
                mirror,
                ..Starter::default()
            };
            let text = text(&s);
            let plan = crate::plan::Plan::parse(
                "cutover.yaml",
                text.as_bytes(),
                Path::new("/r/cutover.yaml"),
                Path::new("/r"),
            )
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(
                plan.migrations[0].stages.len(),
                4 + usize::from(mirror.is_some())
            );
            assert!(plan.warnings.is_empty());
        }
    }

    #[test]
    fn the_first_line_names_the_schema_for_editors() {
        let text = text(&Starter::default());
        let first = text.lines().next().unwrap_or_default();
        assert_eq!(
            first,
            format!(
                "# yaml-language-server: $schema={}",
                crate::plan::schema::SCHEMA_URL
            )
        );
    }

    #[test]
    fn a_refused_init_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        // Refused by validation: weights decrease.
        let s = Starter {
            stages: vec![10, 5, 100],
            ..Starter::default()
        };
        let path = tmp.path().join("a/b/c/cutover.yaml");
        assert!(write(&Loader::default(), &path, &s).is_err());
        assert!(!tmp.path().join("a").exists());
        // Failing after the folders were made: a file name longer than any allowed.
        let path = tmp
            .path()
            .join("a/b")
            .join(format!("{}.cutover.yaml", "p".repeat(300)));
        assert!(write(&Loader::default(), &path, &Starter::default()).is_err());
        assert!(!tmp.path().join("a").exists());
        // Existing folders stay.
        std::fs::create_dir(tmp.path().join("keep")).unwrap();
        let path = tmp.path().join("keep/new/cutover.yaml");
        assert!(write(&Loader::default(), &path, &s).is_err());
        assert!(tmp.path().join("keep").is_dir());
        assert!(!tmp.path().join("keep/new").exists());
        write(&Loader::default(), &path, &Starter::default()).unwrap();
        assert!(path.is_file());
    }

    /// Defect: `init apps/orders/plan.yaml` wrote a plan that the plan search (so
    /// pre-commit and CI) never finds.
    #[test]
    fn a_path_the_plan_search_would_not_find_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join(".git")).unwrap();
        let refused = |rel: &str| {
            let path = tmp.path().join(rel);
            let err = write(&Loader::default(), &path, &Starter::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("would not be found by cutover's plan search"),
                "{err}"
            );
            assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1, "{rel}");
            err
        };
        let err = refused("apps/orders/plan.yaml");
        let dir = tmp.path().join("apps/orders");
        assert!(err.ends_with(&format!(
            "; use {} or {}",
            dir.join("cutover.yaml").display(),
            dir.join("plan.cutover.yaml").display()
        )));
        let err = refused("cutover.yml");
        assert!(err.ends_with(&format!(
            "; use {}",
            tmp.path().join("cutover.yaml").display()
        )));
        for (rel, folder) in [
            ("node_modules/cutover.yaml", "node_modules/"),
            ("apps/target/x.cutover.yaml", "target/"),
            (".github/cutover.yaml", ".github/"),
        ] {
            assert!(
                refused(rel).contains(&format!("inside {folder}, which")),
                "{rel}"
            );
        }
        // `..` is resolved before the folders are looked at.
        std::fs::create_dir(tmp.path().join("target")).unwrap();
        write(
            &Loader::default(),
            &tmp.path().join("target/../cutover.yaml"),
            &Starter::default(),
        )
        .unwrap();
    }

    #[test]
    fn stages_flag() {
        assert_eq!(parse_stages("10, 25,100").unwrap(), [10, 25, 100]);
        assert!(parse_stages("10,abc").is_err());
        assert!(parse_stages("101").is_err());
    }
}
