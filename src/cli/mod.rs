//! The command-line interface: argument parsing, output and exit codes.
//!
//! Exit codes follow `git diff --exit-code`: 0 nothing to do, 1 changes (or stale files
//! for `check`), 2 error. Errors found before writing leave every file untouched.

mod check;
mod completions;
mod diff;
mod explain;
mod import;
mod init;
mod lint;
mod man;
mod output;
mod promote;
mod render;
mod schema;
mod stages;
mod status;
mod validate;

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::{Error, Result};
use crate::plan::discover::{self, Survey};
use crate::plan::edit::Direction;
use crate::plan::load::{self, Selection};
use crate::plan::{Confinement, Loader};
use crate::render::Templates;
use crate::review::report;
use crate::staged::Staged;
pub use diff::Format;
pub use output::Output;

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
    Render(render::RenderArgs),
    /// Show what `render` would change (or, with --base, what changed since a git
    /// revision). Exit 0 no change, 1 changes, 2 error.
    Diff(diff::DiffArgs),
    /// Check that generated files match the plans (for pre-commit and CI).
    /// Exit 0 up to date, 1 missing, stale, edited or orphaned files, 2 error.
    Check(check::CheckArgs),
    /// Check the plans, rendered in memory (base VirtualServices and template overrides
    /// included); read and write no generated file.
    Validate(PlanArgs),
    /// Move an environment to the next stage (or --to STAGE) by editing its one line in
    /// the plan, then render and show the change of its VirtualService.
    Promote(promote::MoveArgs),
    /// Move an environment back to the previous stage (or --to STAGE, --to first).
    Rollback(promote::MoveArgs),
    /// Every migration's environments: stage, % to the GCPBackend, hold left and next step,
    /// with a summary per environment (--format text, markdown or json).
    Status(status::StatusArgs),
    /// Check VirtualService manifests (any files) against Istio's schema and rules.
    /// Exit 0 valid, 1 violations, 2 error.
    Lint(lint::LintArgs),
    /// Write a commented starter plan (never overwrites a file) and print what to run next.
    Init(init::InitArgs),
    /// Propose a plan migrating every Cloud Run host of the repository's ServiceEntries
    /// (printed, or --write FILE).
    Import(import::ImportArgs),
    /// Describe each migration's rollout in plain words.
    Explain(PlanArgs),
    /// Print each migration's rollout: stages, weights and mirroring.
    Stages(stages::StagesArgs),
    /// Print the JSON Schema of the plan file (for editors: schemas/plan-v1.schema.json).
    Schema(schema::SchemaArgs),
    /// Print the shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff), or write every page: `cutover man --dir ~/.local/share/man/man1`.
    Man(man::ManArgs),
}

/// The plan files a command works on.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Plan files, or folders to search for plan files. Default: search the current folder.
    #[arg(value_name = "PLAN")]
    pub plans: Vec<PathBuf>,
}

/// The global options every command sees, as values.
pub(crate) struct Globals {
    /// `--templates`.
    templates: Option<PathBuf>,
    /// Loads plans under the `--allow-outside-repo` rule.
    loader: Loader,
}

impl Globals {
    /// The plan loader (with the confinement the command line asked for).
    pub(crate) fn loader(&self) -> &Loader {
        &self.loader
    }

    /// The templates: built-in, with `--templates` overrides.
    pub(crate) fn templates(&self) -> Result<Templates> {
        self.templates_in(None)
    }

    /// [`Globals::templates`], with the overrides read from a copy of the git index.
    pub(crate) fn templates_in(&self, staged: Option<&Staged>) -> Result<Templates> {
        let Some(dir) = &self.templates else {
            return Templates::load(None);
        };
        match staged {
            None => Templates::load(Some(dir)),
            Some(s) => {
                // Outside the work tree, no commit holds them: read where they are.
                let Some(copy) = s.map(dir) else {
                    return Templates::load(Some(dir));
                };
                if !copy.is_dir() {
                    return Err(Error::Git(format!(
                        "--templates {}: no file under it is staged (the commit would not hold the templates); git add them",
                        dir.display()
                    )));
                }
                Templates::load(Some(&copy))
            }
        }
    }
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse_from(help_of_help(std::env::args_os().collect())) {
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

/// `cutover help -h` (help about `help`) is `cutover help`, and `cutover help render -h`
/// is `cutover help render`, as in git and cargo; clap would take `-h` for a subcommand's
/// name and fail.
fn help_of_help(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
    // Every run comes here: the command's definition is built only when help is asked.
    if !args.last().is_some_and(|a| a == "-h" || a == "--help") {
        return args;
    }
    let cmd = Cli::command();
    let is_command =
        |a: &std::ffi::OsString| a == "help" || cmd.get_subcommands().any(|c| a == c.get_name());
    // The subcommand is the first argument that names one: `help [COMMAND...] -h`.
    let first = args.iter().skip(1).position(is_command).map(|i| i + 1);
    if first.is_some_and(|i| args[i] == "help" && i + 1 < args.len()) {
        args.pop();
    }
    args
}

/// Runs a parsed command line and returns the exit code.
pub fn run(cli: &Cli) -> i32 {
    let writes = matches!(
        cli.command,
        Command::Render(_)
            | Command::Promote(_)
            | Command::Rollback(_)
            | Command::Init(_)
            | Command::Import(_)
    );
    let mut out = Output::new(cli.color, writes);
    out.verbose = cli.verbose;
    match execute(cli, &out) {
        Ok(code) => code,
        Err(Failure::BrokenPipe(code)) => code,
        Err(Failure::Error(e)) => {
            out.error(&e);
            if let (Command::Diff(args), Error::Invalid(d)) = (&cli.command, &e) {
                if args.format != Format::Github {
                    return e.exit_code();
                }
                let text: String = d.0.iter().map(report::github_diagnostic).collect();
                // Annotations for the workflow log; stdout may already be closed.
                let _ = out.raw(&text, EXIT_ERROR);
            }
            e.exit_code()
        }
    }
}

/// How a command ends early: an error, or a closed stdout.
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

/// Runs one command.
fn execute(cli: &Cli, out: &Output) -> Result<i32, Failure> {
    if matches!(
        cli.command,
        Command::Diff(_)
            | Command::Validate(_)
            | Command::Stages(_)
            | Command::Render(_)
            | Command::Check(_)
            | Command::Promote(_)
            | Command::Rollback(_)
    ) {
        // These render, and every rendered VirtualService is checked.
        crate::check::istio::warm_up();
    }
    let g = Globals {
        templates: cli.templates.clone(),
        loader: Loader::new(Confinement {
            allow_outside_repo: cli.allow_outside_repo,
        }),
    };
    match &cli.command {
        Command::Render(args) => render::run(args, &g, out),
        Command::Diff(args) => diff::run(args, &g, out),
        Command::Check(args) => check::run(args, &g, out),
        Command::Validate(args) => validate::run(args, &g, out),
        Command::Promote(args) => promote::run(&g, args, Direction::Forward, out),
        Command::Rollback(args) => promote::run(&g, args, Direction::Back, out),
        Command::Status(args) => status::run(args, &g, out),
        Command::Lint(args) => lint::run(args, out),
        Command::Init(args) => init::run(args, &g, out),
        Command::Import(args) => import::run(args, &g, out),
        Command::Explain(args) => explain::run(args, &g, out),
        Command::Stages(args) => stages::run(args, &g, out),
        Command::Schema(args) => schema::run(args, out),
        Command::Completions(args) => completions::run(args, out),
        Command::Man(args) => man::run(args, out),
    }
}

/// Loads the plans named (or found) and every other plan of their repositories (see
/// [`load::Selection`]), printing their warnings.
fn load(args: &[PathBuf], g: &Globals, out: &Output) -> Result<Selection, Failure> {
    load_in(args, None, g, out)
}

/// [`load`], from the work tree or from a copy of the git index (`staged`).
fn load_in(
    args: &[PathBuf],
    staged: Option<&Staged>,
    g: &Globals,
    out: &Output,
) -> Result<Selection, Failure> {
    match load_any(args, staged, g, out)? {
        Loaded::Plans(selection) => Ok(selection),
        Loaded::None { .. } => Err(no_plans().into()),
    }
}

/// What `check` and `render` find: plans, or (no plan named, none found) the repository
/// searched, where a tree of deleted plans may be left.
pub(crate) enum Loaded {
    /// The plans (see [`load`]).
    Plans(Selection),
    /// No plan under the current folder: the repository root and what its walk found.
    None {
        /// The repository root (or its copy).
        root: PathBuf,
        /// What the walk found under the folder searched (the current folder).
        survey: Survey,
    },
}

/// The error for no plan found under the current folder.
pub(crate) fn no_plans() -> Error {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    Error::NoPlans(cwd)
}

/// [`load_in`], or [`Loaded::None`] when no plan is named and none is found.
pub(crate) fn load_any(
    args: &[PathBuf],
    staged: Option<&Staged>,
    g: &Globals,
    out: &Output,
) -> Result<Loaded, Failure> {
    let (paths, mut surveys) = plan_paths(args, staged)?;
    if paths.is_empty() {
        let Some((root, survey)) = surveys.pop() else {
            return Err(no_plans().into());
        };
        return Ok(Loaded::None { root, survey });
    }
    let selection = g.loader.load_selection(&paths, surveys)?;
    for w in load::warnings(&selection.plans).chain(&selection.unreadable) {
        out.diagnostic(w);
    }
    Ok(Loaded::Plans(selection))
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

/// Plan files with how messages name them, and the surveys made to find them.
type Found = (Vec<(PathBuf, String)>, Vec<(PathBuf, Survey)>);

/// The plan files named on the command line (folders searched), or found under the
/// current folder, each with how messages name it; and the survey of the repository
/// made to find them (none when plans are named). With `staged`, the files are the
/// copy's (named as in the work tree).
fn plan_paths(args: &[PathBuf], staged: Option<&Staged>) -> Result<Found, Error> {
    let outside = |p: &Path| {
        Error::Git(format!(
            "{} is not inside the git work tree {}",
            p.display(),
            staged.map_or(Path::new(""), Staged::work_tree).display()
        ))
    };
    let place = |p: &Path| match staged {
        Some(s) => s.map(p).ok_or_else(|| outside(p)),
        None => Ok(p.to_path_buf()),
    };
    if args.is_empty() {
        let read_error = |source| Error::Read {
            path: PathBuf::from("."),
            source,
        };
        let cwd = std::env::current_dir()
            .and_then(|d| d.canonicalize())
            .map_err(read_error)?;
        let here = place(&cwd)?;
        let root = crate::repo::find_root(&here);
        let survey = discover::survey(&root)?;
        let paths: Vec<(PathBuf, String)> = survey
            .plans
            .iter()
            .filter_map(|p| Some((p, p.strip_prefix(&here).ok()?)))
            .map(|(p, rel)| (p.clone(), rel.display().to_string()))
            .collect();
        // No plan: the caller decides, from what lies under the current folder (a tree
        // whose plans were all deleted may be left).
        let survey = if paths.is_empty() {
            survey.within(&here)
        } else {
            survey
        };
        return Ok((paths, vec![(root, survey)]));
    }
    let mut paths = Vec::new();
    for a in args {
        let at = place(a)?;
        if at.is_dir() {
            for p in discover::find_plans(&at)? {
                let shown = a.join(p.strip_prefix(&at).unwrap_or(&p));
                paths.push((p, shown));
            }
        } else {
            paths.push((at, a.clone()));
        }
    }
    let (places, shown): (Vec<PathBuf>, Vec<PathBuf>) = paths.into_iter().unzip();
    let names = load::named(&shown).into_iter().map(|(_, name)| name);
    Ok((places.into_iter().zip(names).collect(), Vec::new()))
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
