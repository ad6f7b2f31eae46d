//! `cutover man`: the man page (roff), generated from the command line's definition.

use clap::{Args, CommandFactory};

use crate::cli::{Cli, Failure, Output, EXIT_OK};
use crate::error::Error;

/// Arguments of `man` (none).
#[derive(Debug, Args)]
pub struct ManArgs {}

/// Prints the man page of `cutover` (section 1).
pub(crate) fn run(_args: &ManArgs, out: &Output) -> Result<i32, Failure> {
    out.raw(&page()?, EXIT_OK)?;
    Ok(EXIT_OK)
}

/// The page, its `.TH` title line first.
fn page() -> Result<String, Error> {
    let mut roff = Vec::new();
    clap_mangen::Man::new(Cli::command())
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
        let text = page().expect("the page");
        assert!(text.starts_with(".TH cutover 1 "), "{text}");
        assert_eq!(text.matches("\n.TH ").count(), 0);
        assert_eq!(title_first("a\n.TH t 1\nb"), ".TH t 1\na\nb");
    }
}
