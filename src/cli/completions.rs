//! `cutover completions SHELL`: the shell completion script, generated from the command
//! line's definition (so it offers every command and flag the binary has).

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::{Cli, Failure, Output, EXIT_OK};

/// Arguments of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Prints the completion script for `args.shell`.
pub(crate) fn run(args: &CompletionsArgs, out: &Output) -> Result<i32, Failure> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "cutover", &mut script);
    out.bytes(&script, EXIT_OK)?;
    Ok(EXIT_OK)
}
