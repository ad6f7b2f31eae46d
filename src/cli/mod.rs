//! The command-line interface: argument parsing, output and exit codes.
//!
//! Exit codes follow `git diff --exit-code`: 0 nothing to do, 1 changes (or stale files
//! for `check`), 2 error. Errors found before writing leave every file untouched.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::{Diagnostic, Diagnostics, Error};
use crate::git::Revision;
use crate::plan::discover;
use crate::plan::edit::{self, Direction};
use crate::plan::{Confinement, Loader, Plan};
use crate::render::Templates;
use crate::review::diff::{self, Tree};
use crate::review::report;
use crate::review::stages;
use crate::review::status;
use crate::review::traffic;
use crate::sync::apply;
use crate::sync::compare::{Changeset, Status};
use crate::workspace;

/// Exit code: success, nothing to change.
pub const EXIT_OK: i32 = 0;
/// Exit code: `diff` found changes, `check` found files out of date.
pub const EXIT_CHANGES: i32 = 1;
/// Exit code: invalid plan, refused write, I/O or usage error.
pub const EXIT_ERROR: i32 = 2;

/// Staged ServiceEntry → GCPBackend traffic migrations for GitOps repositories.
///
/// Reads migration plans and renders one Istio VirtualService per rollout stage into the
/// repository, shows what would change as a unified diff, and checks that committed
/// manifests match their plans.
#[derive(Debug, Parser)]
#[command(name = "cutover", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 nothing to change, 1 changes or stale files (diff, check), 2 error.\n\
Without PLAN arguments, plan files (cutover.yaml, *.cutover.yaml) are searched under the current folder."
)]
pub struct Cli {
    /// When to colour output. `auto` colours terminals unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, global = true)]
    pub color: ColorWhen,

    /// Folder of template overrides: a file named like a built-in template
    /// (virtualservice.yaml.j2, kustomization.yaml.j2, environment.yaml.j2, gcpbackend.yaml.j2,
    /// verify-job.yaml.j2) replaces it.
    #[arg(long, value_name = "DIR", global = true)]
    pub templates: Option<PathBuf>,

    /// Let `output` and `base` paths leave the repository (absolute paths, `..`, symlinks
    /// to outside). Off by default: plans from pull requests must not write elsewhere.
    #[arg(long, global = true)]
    pub allow_outside_repo: bool,

    /// Say more: on errors, the full error detail (set RUST_BACKTRACE=1 for a backtrace
    /// of an internal error).
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// When to use ANSI colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// On terminals, unless NO_COLOR is set to a non-empty value.
    Auto,
    /// Always, even when piped or when NO_COLOR is set.
    Always,
    /// Never.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the generated tree: new and changed files, and remove files the plans no
    /// longer produce. Unchanged files are not touched.
    Render {
        #[command(flatten)]
        plans: PlanArgs,
        /// Print nothing on success.
        #[arg(short, long)]
        quiet: bool,
        /// Exit 1 when files were written or removed (for pre-commit hooks, as formatters do).
        #[arg(long)]
        exit_code: bool,
    },
    /// Show what `render` would change (or, with --base, what changed since a git
    /// revision). Exit 0 no change, 1 changes, 2 error.
    Diff {
        #[command(flatten)]
        plans: PlanArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Unified)]
        format: Format,
        /// Compare the plans as they were at this git revision with the plans in the
        /// work tree, both rendered in memory (generated files need not be committed).
        #[arg(long, value_name = "REV")]
        base: Option<String>,
    },
    /// Check that generated files match the plans (for pre-commit and CI).
    /// Exit 0 up to date, 1 missing, stale, edited or orphaned files, 2 error.
    Check {
        #[command(flatten)]
        plans: PlanArgs,
        /// Check only the plans that changed since this git revision, and the plans whose
        /// generated files changed since it (for CI in large repositories).
        #[arg(long, value_name = "REV")]
        changed_since: Option<String>,
    },
    /// Check the plans only; read and write no generated file.
    Validate {
        #[command(flatten)]
        plans: PlanArgs,
    },
    /// Move an environment to the next stage (or --to STAGE) by editing its one line in
    /// the plan, then render and show the change of its VirtualService.
    Promote {
        #[command(flatten)]
        args: MoveArgs,
    },
    /// Move an environment back to the previous stage (or --to STAGE, --to first).
    Rollback {
        #[command(flatten)]
        args: MoveArgs,
    },
    /// For each migration, each environment's stage, weights, and how long it has been there.
    Status {
        #[command(flatten)]
        plans: PlanArgs,
    },
    /// Validate VirtualService manifests (any files) against Istio's schema and rules.
    /// Exit 0 valid, 1 violations, 2 error.
    Lint {
        /// Files holding VirtualServices (other documents in them are skipped).
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
    },
    /// Write a commented starter plan (never overwrites a file) and print what to run next.
    Init {
        /// Where to write it.
        #[arg(value_name = "FILE", default_value = "cutover.yaml")]
        file: PathBuf,
        /// The migration name.
        #[arg(long, default_value = "checkout")]
        name: String,
        /// The namespace.
        #[arg(long, default_value = "payments")]
        namespace: String,
        /// The ServiceEntry host.
        #[arg(long, default_value = "cr-service-entry.com")]
        from: String,
        /// The GCPBackend host.
        #[arg(long, default_value = "cr-gcpbackend.com")]
        to: String,
        /// Weight stages, comma-separated.
        #[arg(long, default_value = "10,25,50,100")]
        stages: String,
        /// Start with a mirror stage of this percentage.
        #[arg(long, value_name = "PERCENT")]
        mirror: Option<f64>,
        /// The output folder, relative to the plan.
        #[arg(long, default_value = "deploy/cutover")]
        output: String,
    },
    /// Describe each migration's rollout in plain words.
    Explain {
        #[command(flatten)]
        plans: PlanArgs,
    },
    /// Print each migration's rollout: stages, weights and mirroring.
    Stages {
        #[command(flatten)]
        plans: PlanArgs,
        /// Also show the VirtualService diff from each stage to the next.
        #[arg(long)]
        between: bool,
    },
}

/// Output formats of `diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A git-style unified diff that `git apply` accepts.
    Unified,
    /// A pull-request comment: summary tables, then collapsed per-file diffs.
    Markdown,
    /// One JSON document for bots (schema in the README).
    Json,
    /// One line per file with +/- counts, and a total.
    Stat,
    /// GitHub Actions workflow commands (annotations).
    Github,
}

/// What `promote` and `rollback` move.
#[derive(Debug, Args)]
pub struct MoveArgs {
    /// The plan file to edit.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// The environment to move.
    #[arg(long, value_name = "ENV")]
    pub env: String,
    /// The migration, when several have the environment.
    #[arg(long, value_name = "NAME")]
    pub migration: Option<String>,
    /// The stage to move to: a stage name, `first` or `last`.
    #[arg(long, value_name = "STAGE")]
    pub to: Option<String>,
    /// Move even if it skips stages, goes the other way, or a hold has not elapsed.
    #[arg(long)]
    pub force: bool,
}

/// The plan files a command works on.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Plan files, or folders to search for plan files. Default: search the current folder.
    #[arg(value_name = "PLAN")]
    pub plans: Vec<PathBuf>,
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
        }
    };
    // An internal error (a bug) is reported in one line, not as a panic dump; the
    // backtrace is printed only when RUST_BACKTRACE asks for it.
    std::panic::set_hook(Box::new(|info| {
        let backtrace = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");
        eprintln!("error: internal error in cutover (please report it): {info}");
        if backtrace {
            eprintln!("{}", std::backtrace::Backtrace::force_capture());
        }
    }));
    match std::panic::catch_unwind(|| run(&cli)) {
        Ok(code) => code,
        Err(_) => EXIT_ERROR,
    }
}

/// Runs a parsed command line and returns the exit code.
pub fn run(cli: &Cli) -> i32 {
    let loader = Loader::new(Confinement {
        allow_outside_repo: cli.allow_outside_repo,
    });
    let writes = matches!(
        cli.command,
        Command::Render { .. }
            | Command::Promote { .. }
            | Command::Rollback { .. }
            | Command::Init { .. }
    );
    let mut out = Output::new(cli.color, writes);
    out.verbose = cli.verbose;
    match execute(cli, &loader, &out) {
        Ok(code) => code,
        Err(Failure::BrokenPipe(code)) => code,
        Err(Failure::Error(e)) => {
            out.error(&e);
            if let (
                Command::Diff {
                    format: Format::Github,
                    ..
                },
                Error::Invalid(d),
            ) = (&cli.command, &e)
            {
                let text: String = d.0.iter().map(report::github_diagnostic).collect();
                let _ = out.raw(&text, EXIT_ERROR);
            }
            e.exit_code()
        }
    }
}

pub(crate) enum Failure {
    Error(Error),
    /// stdout was closed by the reader: stop quietly with this code.
    BrokenPipe(i32),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Error(e)
    }
}

fn execute(cli: &Cli, loader: &Loader, out: &Output) -> Result<i32, Failure> {
    if matches!(
        cli.command,
        Command::Diff { .. }
            | Command::Stages { .. }
            | Command::Render { .. }
            | Command::Check { .. }
            | Command::Promote { .. }
            | Command::Rollback { .. }
    ) {
        // These render, and every rendered VirtualService is validated.
        crate::check::istio::warm_up();
    }
    match &cli.command {
        Command::Diff {
            plans,
            format,
            base: Some(rev),
        } => diff_base(cli, loader, &plans.plans, rev, *format, out),
        Command::Diff {
            plans,
            format,
            base: None,
        } => {
            let plans = load(loader, &plans.plans, out)?;
            let templates = Templates::load(cli.templates.as_deref())?;
            let (old, new) = workspace::disk_trees(&plans, &templates)?;
            print_diff(&old, &new, None, &plans, *format, out)
        }
        Command::Validate { plans } => {
            let plans = load(loader, &plans.plans, out)?;
            let migrations: usize = plans.iter().map(|p| p.migrations.len()).sum();
            let stages: usize = plans
                .iter()
                .flat_map(|p| &p.migrations)
                .map(|m| m.stages.len())
                .sum();
            out.line(
                &format!(
                    "ok: {} valid ({migrations} migration{}, {stages} stage{})",
                    count(plans.len(), "plan"),
                    plural(migrations),
                    plural(stages)
                ),
                EXIT_OK,
            )?;
            Ok(EXIT_OK)
        }
        Command::Stages { plans, between } => {
            let plans = load(loader, &plans.plans, out)?;
            let templates = Templates::load(cli.templates.as_deref())?;
            out.diff(&stages::report(&plans, &templates, *between)?, EXIT_OK)?;
            Ok(EXIT_OK)
        }
        Command::Render {
            plans,
            quiet,
            exit_code,
        } => {
            let plans = load(loader, &plans.plans, out)?;
            let templates = Templates::load(cli.templates.as_deref())?;
            let _lock = crate::sync::lock::acquire(plans.iter().map(|p| p.root.as_path()))?;
            let stager = apply::Stager::new();
            let changes = workspace::changes(
                &plans,
                &templates,
                crate::sync::compare::Keep::Stage(&stager),
            )?;
            stager.commit(&plans, &changes)?;
            let code = if *exit_code && !changes.is_empty() {
                EXIT_CHANGES
            } else {
                EXIT_OK
            };
            if !quiet {
                for ((p, migration), c) in &changes.counts {
                    out.line(
                        &format!(
                            "{migration}: {} written, {} unchanged, {} removed ({})",
                            c.written, c.unchanged, c.removed, plans[*p].file
                        ),
                        code,
                    )?;
                }
            }
            Ok(code)
        }
        Command::Init {
            file,
            name,
            namespace,
            from,
            to,
            stages,
            mirror,
            output,
        } => {
            let starter = crate::plan::starter::Starter {
                name: name.clone(),
                namespace: namespace.clone(),
                from: from.clone(),
                to: to.clone(),
                stages: crate::plan::starter::parse_stages(stages)
                    .map_err(|e| Error::Refused(format!("--stages: {e}")))?,
                mirror: *mirror,
                output: output.clone(),
            };
            crate::plan::starter::write(loader, file, &starter)?;
            let f = file.display();
            out.line(
                &format!(
                    "wrote {f}\nnext:\n  cutover explain {f}    # what the rollout does\n  cutover diff {f}       # the files it will write\n  cutover render {f}     # write them, then commit the plan and the tree"
                ),
                EXIT_OK,
            )?;
            Ok(EXIT_OK)
        }
        Command::Explain { plans } => {
            let plans = load(loader, &plans.plans, out)?;
            out.raw(&crate::review::explain::text(&plans), EXIT_OK)?;
            Ok(EXIT_OK)
        }
        Command::Lint { files } => {
            let (text, violations) = crate::check::lint::report(files)?;
            let code = if violations == 0 {
                EXIT_OK
            } else {
                EXIT_CHANGES
            };
            out.raw(&text, code)?;
            Ok(code)
        }
        Command::Promote { args } => move_env(cli, loader, args, Direction::Forward, out),
        Command::Rollback { args } => move_env(cli, loader, args, Direction::Back, out),
        Command::Status { plans } => {
            let plans = load(loader, &plans.plans, out)?;
            out.raw(&status::report(&plans), EXIT_OK)?;
            Ok(EXIT_OK)
        }
        Command::Check {
            plans,
            changed_since,
        } => {
            let mut plans = load(loader, &plans.plans, out)?;
            if let Some(rev) = changed_since {
                plans = changed_plans(plans, rev)?;
                if plans.is_empty() {
                    out.line(
                        &format!("ok: no plan or generated file changed since {rev}"),
                        EXIT_OK,
                    )?;
                    return Ok(EXIT_OK);
                }
            }
            let templates = Templates::load(cli.templates.as_deref())?;
            let changes =
                workspace::changes(&plans, &templates, crate::sync::compare::Keep::Paths)?;
            check_report(&plans_files(&plans, &changes), &changes, out)
        }
    }
}

/// `promote` / `rollback`: edit the plan, render, show the environment's change.
fn move_env(
    cli: &Cli,
    loader: &Loader,
    args: &MoveArgs,
    direction: Direction,
    out: &Output,
) -> Result<i32, Failure> {
    let file = crate::plan::load::named(std::slice::from_ref(&args.plan))
        .pop()
        .map(|(_, f)| f)
        .unwrap_or_default();
    let req = edit::Request {
        env: &args.env,
        migration: args.migration.as_deref(),
        to: args.to.as_deref(),
        force: args.force,
        direction,
    };
    // The lock is the plan's repository's; the plan itself is read once, by plan_move.
    let dir = std::path::absolute(&args.plan)
        .ok()
        .and_then(|p| p.parent().and_then(|d| d.canonicalize().ok()))
        .ok_or_else(|| Error::Read {
            path: args.plan.clone(),
            source: io::Error::new(io::ErrorKind::NotFound, "no such plan file"),
        })?;
    let _lock = crate::sync::lock::acquire([crate::repo::find_root(&dir).as_path()])?;
    let planned = edit::plan_move(loader, &args.plan, &file, &req)?;
    let templates = Templates::load(cli.templates.as_deref())?;
    let plans = vec![planned.plan];
    let rendered = workspace::render_all(&plans, &templates)?;
    let changes = crate::sync::compare::compare(&plans, &rendered)?;
    // Everything is checked; now the plan, then the tree.
    apply::replace_file(&args.plan, &planned.source)?;
    apply::apply(&plans, &changes)?;
    for w in &planned.warnings {
        out.warning(w);
    }
    let verb = match direction {
        Direction::Forward => "promoted",
        Direction::Back => "rolled back",
    };
    for mv in &planned.moves {
        out.line(
            &format!(
                "{}: {} {verb} from {} to {} ({} in {})",
                mv.migration, args.env, mv.from, mv.to, planned.field, file
            ),
            EXIT_OK,
        )?;
        let manifest = |stage: &str| {
            rendered[0].iter().find(|f| {
                f.migration == mv.migration
                    && traffic::locate(&f.rel)
                        .is_some_and(|(_, _, name, is_vs)| is_vs && name == stage)
            })
        };
        if let (Some(a), Some(b)) = (manifest(&mv.from), manifest(&mv.to)) {
            let mut text = format!(
                "--- {} {} (stage {})\n+++ {} {} (stage {})\n",
                mv.migration, args.env, mv.from, mv.migration, args.env, mv.to
            )
            .into_bytes();
            text.extend_from_slice(&diff::hunks(a.contents.as_bytes(), b.contents.as_bytes()));
            out.diff(&text, EXIT_OK)?;
        }
    }
    Ok(EXIT_OK)
}

/// The plans whose file, base file or output folder holds a path changed since `rev`.
fn changed_plans(plans: Vec<Plan>, rev: &str) -> Result<Vec<Plan>, Failure> {
    let cwd = std::env::current_dir().map_err(|e| Error::Read {
        path: PathBuf::from("."),
        source: e,
    })?;
    let base = Revision::open(&cwd, rev)?;
    let changed = base.changed_paths()?;
    let touched = |prefix: &str| {
        if prefix == "." {
            return !changed.is_empty();
        }
        let dir = format!("{prefix}/");
        // `changed` is sorted: the first path at or after the prefix tells.
        let i = changed.partition_point(|p| p.as_str() < dir.as_str());
        changed.get(i).is_some_and(|p| p.starts_with(&dir))
    };
    let is_changed = |path: &str| changed.binary_search_by(|p| p.as_str().cmp(path)).is_ok();
    Ok(plans
        .into_iter()
        .filter(|p| {
            if p.root != base.root {
                return true;
            }
            let output = crate::repo::display_rel(&p.root, &p.output);
            is_changed(&p.id)
                || touched(&output)
                || p.migrations
                    .iter()
                    .any(|m| m.base.as_deref().is_some_and(is_changed))
        })
        .collect())
}

/// Loads the plans named (or found), printing their warnings.
fn load(loader: &Loader, args: &[PathBuf], out: &Output) -> Result<Vec<Plan>, Failure> {
    let paths = plan_paths(args)?;
    let plans = loader.load_all(&crate::plan::load::named(&paths))?;
    for w in crate::plan::load::warnings(&plans) {
        out.diagnostic(w);
    }
    Ok(plans)
}

/// `diff --base REV`: the plans at REV against the plans in the work tree.
fn diff_base(
    cli: &Cli,
    loader: &Loader,
    args: &[PathBuf],
    rev: &str,
    format: Format,
    out: &Output,
) -> Result<i32, Failure> {
    let cwd = std::env::current_dir().map_err(|e| Error::Read {
        path: PathBuf::from("."),
        source: e,
    })?;
    let base = Revision::open(&cwd, rev)?;
    // Plan paths relative to the root, at REV (`rels`) and in the work tree (`now`).
    let mut rels: Vec<String> = Vec::new();
    let mut now: Vec<PathBuf> = Vec::new();
    let scopes: Vec<PathBuf> = if args.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.to_vec()
    };
    for a in &scopes {
        let rel = base.relative(a).ok_or_else(|| {
            Error::Git(format!(
                "{} is outside the repository {}",
                a.display(),
                base.root.display()
            ))
        })?;
        if a.is_dir() {
            rels.extend(base.find_plans(&rel)?);
            match discover::find_plans(a) {
                Ok(found) => now.extend(found),
                Err(Error::NoPlans(_)) => {}
                Err(e) => return Err(e.into()),
            }
        } else if a.exists() {
            rels.push(rel);
            now.push(a.clone());
        } else if base.read(&rel)?.is_some() {
            // A plan deleted since REV: everything it generated goes.
            rels.push(rel);
        } else {
            let then = base.find_plans(&rel)?;
            if then.is_empty() {
                return Err(Error::Git(format!(
                    "{} exists neither in the work tree nor at {rev}",
                    a.display()
                ))
                .into());
            }
            rels.extend(then);
        }
    }
    rels.sort();
    rels.dedup();
    let old_plans = base.load(loader, &rels)?;
    let new_plans = loader.load_all(&crate::plan::load::named(&now))?;
    for w in crate::plan::load::warnings(&new_plans) {
        out.diagnostic(w);
    }
    let templates = Templates::load(cli.templates.as_deref())?;
    let old = workspace::tree_of(&workspace::render_all(&old_plans, &templates)?);
    let new = workspace::tree_of(&workspace::render_all(&new_plans, &templates)?);
    print_diff(&old, &new, Some(rev), &new_plans, format, out)
}

fn print_diff(
    old: &Tree,
    new: &Tree,
    base: Option<&str>,
    plans: &[Plan],
    format: Format,
    out: &Output,
) -> Result<i32, Failure> {
    let files = diff::between(old, new);
    let code = if files.is_empty() {
        EXIT_OK
    } else {
        EXIT_CHANGES
    };
    let mut migrations = traffic::review(old, new, &files);
    traffic::attach_notes(&mut migrations, plans);
    let r = report::Report {
        files: &files,
        migrations: &migrations,
        base,
    };
    match format {
        Format::Unified => {
            for f in &files {
                out.diff(&diff::file_diff(f), code)?;
            }
        }
        Format::Markdown => out.raw(&report::markdown(&r, report::GITHUB_COMMENT_LIMIT), code)?,
        Format::Json => out.raw(&report::json(&r), code)?,
        Format::Stat => {
            if !files.is_empty() {
                out.raw(&report::stat(&r), code)?;
            }
        }
        Format::Github => out.raw(&report::github(&r), code)?,
    }
    Ok(code)
}

/// The files of the plans that have changes, in plan order.
fn plans_files(plans: &[Plan], changes: &Changeset) -> Vec<String> {
    let stale: std::collections::BTreeSet<usize> = changes.changes.iter().map(|c| c.plan).collect();
    stale.into_iter().map(|p| plans[p].file.clone()).collect()
}

fn check_report(stale_plans: &[String], changes: &Changeset, out: &Output) -> Result<i32, Failure> {
    if changes.is_empty() {
        let files: usize = changes.counts.iter().map(|(_, c)| c.unchanged).sum();
        out.line(
            &format!("ok: {} up to date", count(files, "generated file")),
            EXIT_OK,
        )?;
        return Ok(EXIT_OK);
    }
    for c in &changes.changes {
        let what = match c.status {
            Status::Added => "missing",
            Status::Modified => "stale",
            Status::Removed => "orphaned",
        };
        let why = match c.status {
            Status::Added => "the plan produces it, but it does not exist",
            Status::Modified => "differs from what the plan produces (stale, or edited by hand)",
            Status::Removed => "generated earlier, but the plan no longer produces it",
        };
        out.line(&format!("{what}: {}: {why}", c.rel), EXIT_CHANGES)?;
    }
    out.line(
        &format!(
            "{} out of date; to fix, run: cutover render {}",
            count(changes.changes.len(), "file"),
            stale_plans.join(" ")
        ),
        EXIT_CHANGES,
    )?;
    Ok(EXIT_CHANGES)
}

fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", plural(n))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The plan files named on the command line (folders searched), or found under `.`.
fn plan_paths(args: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    if args.is_empty() {
        return discover::find_plans(Path::new("."));
    }
    let mut paths = Vec::new();
    for a in args {
        if a.is_dir() {
            paths.extend(discover::find_plans(a)?);
        } else {
            paths.push(a.clone());
        }
    }
    Ok(paths)
}

/// Where output goes, and whether it is coloured.
pub(crate) struct Output {
    color_out: bool,
    color_err: bool,
    /// Whether the command writes files (so errors can say that nothing was written).
    writes: bool,
    /// `-v`: print error details.
    verbose: bool,
}

impl Output {
    fn new(when: ColorWhen, writes: bool) -> Output {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let decide = |tty: bool| match when {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => tty && !no_color,
        };
        Output {
            color_out: decide(io::stdout().is_terminal()),
            color_err: decide(io::stderr().is_terminal()),
            writes,
            verbose: false,
        }
    }

    /// Writes a line to stdout; a closed pipe ends the run quietly with `code`.
    pub(crate) fn line(&self, text: &str, code: i32) -> Result<(), Failure> {
        self.raw(&format!("{text}\n"), code)
    }

    pub(crate) fn raw(&self, text: &str, code: i32) -> Result<(), Failure> {
        self.bytes(text.as_bytes(), code)
    }

    fn bytes(&self, bytes: &[u8], code: i32) -> Result<(), Failure> {
        let mut stdout = io::stdout().lock();
        match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(Failure::BrokenPipe(code)),
            Err(e) => Err(Failure::Error(Error::Write {
                path: PathBuf::from("<stdout>"),
                source: e,
            })),
        }
    }

    pub(crate) fn diff(&self, bytes: &[u8], code: i32) -> Result<(), Failure> {
        if !self.color_out {
            return self.bytes(bytes, code);
        }
        let mut colored = Vec::with_capacity(bytes.len() + bytes.len() / 4);
        for line in bytes.split_inclusive(|b| *b == b'\n') {
            let style: &[u8] = if line.starts_with(b"diff --git")
                || line.starts_with(b"--- ")
                || line.starts_with(b"+++ ")
                || line.starts_with(b"new file mode")
                || line.starts_with(b"deleted file mode")
            {
                b"\x1b[1m"
            } else if line.starts_with(b"@@") {
                b"\x1b[36m"
            } else if line.starts_with(b"+") {
                b"\x1b[32m"
            } else if line.starts_with(b"-") {
                b"\x1b[31m"
            } else {
                b""
            };
            if style.is_empty() {
                colored.extend_from_slice(line);
            } else {
                let body = line.strip_suffix(b"\n").unwrap_or(line);
                colored.extend_from_slice(style);
                colored.extend_from_slice(body);
                colored.extend_from_slice(b"\x1b[0m");
                if line.ends_with(b"\n") {
                    colored.push(b'\n');
                }
            }
        }
        self.bytes(&colored, code)
    }

    fn warning(&self, text: &str) {
        let label = if self.color_err {
            "\x1b[1;33mwarning\x1b[0m"
        } else {
            "warning"
        };
        let _ = writeln!(io::stderr(), "{label}: {text}");
    }

    fn diagnostic(&self, d: &Diagnostic) {
        let _ = io::stderr().write_all(format!("{}\n", d.render(self.color_err)).as_bytes());
    }

    fn error(&self, e: &Error) {
        let label = if self.color_err {
            "\x1b[1;31merror\x1b[0m"
        } else {
            "error"
        };
        let mut err = io::stderr().lock();
        match e {
            Error::Invalid(Diagnostics(diags)) => {
                for d in diags {
                    let _ = err.write_all(d.render(self.color_err).as_bytes());
                    let _ = err.write_all(b"\n");
                }
                let n = diags.iter().filter(|d| d.is_error()).count();
                let _ = writeln!(
                    err,
                    "{label}: {} in plan files{}",
                    count(n, "error"),
                    if self.writes {
                        "; nothing was written"
                    } else {
                        ""
                    }
                );
            }
            Error::Conflicts(lines) => {
                for l in lines {
                    let _ = writeln!(err, "{label}: {l}");
                }
                if self.writes {
                    let _ = writeln!(err, "{label}: nothing was written");
                }
            }
            other => {
                let _ = writeln!(err, "{label}: {other}");
            }
        }
        if self.verbose {
            let _ = writeln!(err, "detail: {e:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
