//! `cutover man`: the man page (roff), generated from the command line's definition.

use std::path::PathBuf;

use clap::{Args, CommandFactory};

use crate::cli::{Cli, Failure, Output, EXIT_OK};
use crate::error::Error;

/// Arguments of `man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write the pages into this folder instead (`cutover.1`, and `cutover-COMMAND.1` for
    /// each command, which the main page's SEE ALSO names), e.g. ~/.local/share/man/man1.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Prints the man page of `cutover` (section 1), or writes every page into `--dir`.
pub(crate) fn run(args: &ManArgs, out: &Output) -> Result<i32, Failure> {
    let Some(dir) = &args.dir else {
        out.raw(&page(Cli::command())?, EXIT_OK)?;
        return Ok(EXIT_OK);
    };
    // Built, so that clap's own `help` command, which the main page names, is there too.
    let mut main = Cli::command();
    main.build();
    let mut pages = vec![("cutover.1".to_owned(), page(main.clone())?)];
    for sub in main.get_subcommands().filter(|c| !c.is_hide_set()) {
        let name = format!("cutover-{}", sub.get_name());
        let cmd = sub
            .clone()
            .display_name(name.clone())
            .bin_name(format!("cutover {}", sub.get_name()))
            .version(env!("CARGO_PKG_VERSION"));
        pages.push((format!("{name}.1"), page(cmd)?));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::Write {
        path: dir.clone(),
        source: e,
    })?;
    for (file, text) in &pages {
        let path = dir.join(file);
        std::fs::write(&path, text).map_err(|e| Error::Write { path, source: e })?;
    }
    out.line(
        &format!("wrote {} man pages to {}", pages.len(), dir.display()),
        EXIT_OK,
    )?;
    Ok(EXIT_OK)
}

/// The page of `cmd`, its `.TH` title line first.
fn page(cmd: clap::Command) -> Result<String, Error> {
    let mut roff = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut roff)
        .map_err(|e| Error::Internal(format!("rendering the man page: {e}")))?;
    let roff = String::from_utf8(roff)
        .map_err(|e| Error::Internal(format!("the man page is not UTF-8: {e}")))?;
    Ok(title_first(&roff))
}

/// `roff` with its `.TH` line moved to the top. clap_mangen starts with the definition of
/// an apostrophe string (`.ds Aq`), which the title does not use; whatis indexers and
/// `man` read a page's title from its first line.
fn title_first(roff: &str) -> String {
    let (title, rest): (Vec<&str>, Vec<&str>) = roff
        .split_inclusive('\n')
        .partition(|line| line.starts_with(".TH "));
    title.concat() + &rest.concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_line_comes_first() {
        let text = page(Cli::command()).expect("the page");
        assert!(text.starts_with(".TH cutover 1 "), "{text}");
        assert_eq!(text.matches("\n.TH ").count(), 0);
        assert_eq!(title_first("a\n.TH t 1\nb"), ".TH t 1\na\nb");
    }
}
