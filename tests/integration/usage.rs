//! Every folder of `fixtures/usage/<case>/` is one command line and what it must print:
//! `input/args` holds the arguments (one per line), any other file of `input/` is copied
//! into the temporary repository the command runs in (a folder with `.git`), and
//! `expected/run.snap` is the exit status, stdout and stderr (an insta snapshot), and
//! `expected/files.snap` every file the command wrote, with its text.
//!
//! These are the messages of the command line itself (flags, `help`, `init`), where a
//! plan fixture does not fit. A new case needs only its `input/`.

use std::fs;
use std::path::Path;

use crate::test::Test;

/// The case's temporary repository, with its input files (not `args`).
fn setup(case: &Path) -> (Test, Vec<String>) {
    let mut test = Test::new().git_folder();
    let mut args = Vec::new();
    for e in fs::read_dir(case.join("input")).expect("read the case's input folder") {
        let e = e.expect("folder entry");
        let name = e.file_name().to_string_lossy().into_owned();
        let text = fs::read_to_string(e.path()).expect("read an input file");
        if name == "args" {
            args = text.lines().map(str::to_owned).collect();
        } else {
            test = test.file(&name, text);
        }
    }
    (test, args)
}

#[test]
fn usage_cases_print_what_they_must() {
    insta::glob!("../../fixtures/usage", "*/input/args", |args_file| {
        let case = args_file
            .parent()
            .and_then(Path::parent)
            .expect("case folder");
        let (test, mut args) = setup(case);
        args.splice(0..0, ["--color".to_owned(), "never".to_owned()]);
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(case.join("expected"));
        settings.set_prepend_module_to_snapshot(false);
        settings.remove_snapshot_suffix();
        settings.set_input_file(args_file);
        settings.bind(|| {
            insta_cmd::assert_cmd_snapshot!("run", test.args(&args).command());
            // What the command wrote: each new file, with its text.
            let written: Vec<String> = test
                .tree()
                .into_keys()
                .filter(|p| !case.join("input").join(p).exists())
                .map(|p| match fs::read_to_string(test.path().join(&p)) {
                    Ok(text) => format!("== {p}\n{text}"),
                    Err(_) => format!("== {p}/"),
                })
                .collect();
            insta::assert_snapshot!("files", written.join("\n"));
        });
    });
}
