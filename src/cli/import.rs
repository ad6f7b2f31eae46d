//! `cutover import`: propose a plan for every Cloud Run host the repository's
//! ServiceEntries declare.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::cli::{count, Failure, Globals, Output, EXIT_OK};
use crate::error::{Error, ImportError};
use crate::plan::import::{self, Options, Patterns};
use crate::plan::starter::NewPlan;

/// Arguments of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files and folders to read. Default: the current folder.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// The GCPBackend host of every migration; `{service}`, `{namespace}` and `{region}`
    /// are replaced by each one's. Without it, `to` is a placeholder `validate` refuses.
    #[arg(long, value_name = "TEMPLATE")]
    to: Option<String>,
    /// Write the plan to FILE (`cutover.yaml` or `NAME.cutover.yaml`; never over a file)
    /// instead of printing it.
    #[arg(long, value_name = "FILE")]
    write: Option<PathBuf>,
    /// Also take ServiceEntry hosts matching GLOB for Cloud Run hosts, besides
    /// `*.run.app` (`*` matches dots too; repeatable).
    #[arg(long = "host-pattern", value_name = "GLOB")]
    host_patterns: Vec<String>,
}

/// Scans the repository, then prints the plan or writes it.
pub(crate) fn run(args: &ImportArgs, g: &Globals, out: &Output) -> Result<i32, Failure> {
    if let Some(to) = &args.to {
        import::check_to(to).map_err(|e| Error::Import(ImportError::To(e)))?;
    }
    let patterns = Patterns::new(&args.host_patterns)
        .map_err(|e| Error::Import(ImportError::HostPattern(e)))?;
    let cwd = std::env::current_dir()
        .and_then(|d| d.canonicalize())
        .map_err(|e| Error::Read {
            path: PathBuf::from("."),
            source: e,
        })?;
    let root = crate::repo::find_root(&cwd);
    let unconfined = g.loader().confinement().allow_outside_repo;
    let target = args
        .write
        .as_deref()
        .map(|f| target(f, &root, unconfined))
        .transpose()?;
    let plan_dir = match &target {
        Some(t) => t.real.parent().unwrap_or(&root).to_path_buf(),
        None => cwd.clone(),
    };
    let opts = Options {
        paths: paths(&args.paths, &cwd, &root)?,
        root,
        plan_dir,
        to: args.to.clone(),
        patterns,
    };
    let found = import::scan(&opts)?;
    for n in &found.notes {
        out.note(&format!("{}: {}", n.file, n.why));
    }
    for n in &found.unread_plans {
        out.warning(&format!("{}: {}", n.file, n.why));
    }
    for r in &found.refusals {
        out.warning(&format!(
            "{} ({}) not migrated: {}{}",
            r.entry.host,
            r.entry.source(),
            r.reason,
            if r.places.is_empty() {
                String::new()
            } else {
                format!(": {}", r.places.join(", "))
            }
        ));
    }
    let written = opts.patterns.written();
    if !found.found_cloud_run() {
        out.note(&format!(
            "no ServiceEntry with a Cloud Run host ({}) among {} ServiceEntry hosts read; no plan written",
            written.join(", "),
            found.others.len()
        ));
        return Ok(EXIT_OK);
    }
    if let (true, Some(t)) = (found.proposals.is_empty(), &target) {
        out.note(&format!(
            "no migration to propose: {} not migrated (see the warnings); {} not written",
            count(found.refusals.len(), "Cloud Run host"),
            t.shown
        ));
        return Ok(EXIT_OK);
    }
    let text = found.text(written);
    let summary = format!(
        "{} proposed, {} not migrated",
        count(found.proposals.len(), "migration"),
        count(found.refusals.len(), "Cloud Run host"),
    );
    match &target {
        None => out.raw(&text, EXIT_OK)?,
        Some(t) => {
            t.create(&text)?;
            out.note(&format!(
                "wrote {f}: {summary}\nnext:\n  cutover validate {f}   # names every placeholder left to fill in\n  cutover diff {f}       # the files it will write",
                f = t.shown
            ));
            return Ok(EXIT_OK);
        }
    }
    out.note(&summary);
    Ok(EXIT_OK)
}

/// The paths to read, absolute and real, each inside `root`.
fn paths(args: &[PathBuf], cwd: &Path, root: &Path) -> Result<Vec<PathBuf>, Error> {
    if args.is_empty() {
        return Ok(vec![cwd.to_path_buf()]);
    }
    args.iter()
        .map(|p| {
            let real = p
                .canonicalize()
                .map_err(|_| Error::Import(ImportError::Missing(p.clone())))?;
            if real.starts_with(root) {
                Ok(real)
            } else {
                Err(import::outside(p, root))
            }
        })
        .collect()
}

/// The plan file `--write` names: inside the repository `root` (the real path, symlinks
/// resolved, and not in a repository nested in it), unless `unconfined`
/// (`--allow-outside-repo`); refused before any other check, so that no hint names a path
/// outside.
fn target(file: &Path, root: &Path, unconfined: bool) -> Result<NewPlan, Error> {
    let outside = |why: String| {
        Error::Refused(format!(
            "--write {}: {why}; cutover import writes the plan inside the repository it reads (--allow-outside-repo lets it write elsewhere)",
            file.display()
        ))
    };
    if !unconfined {
        let real = std::path::absolute(file)
            .and_then(|a| crate::repo::canonical_existing_prefix(&a))
            .map_err(|e| Error::Write {
                path: file.to_path_buf(),
                source: e,
            })?;
        match crate::repo::normalize(&real) {
            Some(r) if r.starts_with(root) && r != root => {}
            Some(r) => {
                return Err(outside(format!(
                    "{} is outside the repository {}",
                    r.display(),
                    root.display()
                )))
            }
            None => {
                return Err(outside(format!(
                    "outside the repository {}",
                    root.display()
                )))
            }
        }
    }
    let t = NewPlan::at(file, "import")?;
    if !unconfined && t.root != root {
        return Err(outside(format!(
            "it is in the git repository {}, nested in {}",
            t.root.display(),
            root.display()
        )));
    }
    Ok(t)
}
