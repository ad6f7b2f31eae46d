//! Every folder of `fixtures/invalid/` is one case: `input/` holds a plan that breaks one
//! validation rule (`plan.yaml`, plus other plans for rules that need two, and an `args`
//! file when the plan arguments are not just `plan.yaml`), `expected/validate.snap` the
//! exit status and exact output of `cutover validate` for it (an insta snapshot).
//!
//! Each case is copied into its own temporary folder (so the repository root is that
//! folder, whatever the working directory of the test run), then:
//! - `cutover --color never validate <args>` must match the snapshot: exit 2, nothing on
//!   stdout, the diagnostics on stderr. The temporary folder's path, which messages about
//!   the repository print, is shown as `[REPO]`.
//! - `cutover --color never render <args>` must exit 2 and create, change or remove
//!   no file.
//!
//! A new case needs only its `input/`: `cargo test` writes `expected/validate.snap.new`,
//! and `cargo insta review` accepts it (as it accepts any changed message).

use std::fs;
use std::path::{Path, PathBuf};

use crate::test::{fixtures, Test};

fn cases() -> Vec<PathBuf> {
    let root = fixtures().join("invalid");
    let mut cases: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("read {}: {e}", root.display()))
        .map(|e| e.expect("folder entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 30,
        "expected a folder per validation rule in {}, found {}",
        root.display(),
        cases.len()
    );
    cases
}

/// The plan arguments of a case: the lines of `input/args`, or `plan.yaml`.
fn plan_args(case: &Path) -> Vec<String> {
    match fs::read_to_string(case.join("input/args")) {
        Ok(text) => text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        Err(_) => vec!["plan.yaml".to_owned()],
    }
}

/// A temporary folder holding a copy of the case's `input/` files (not `args`).
fn setup(case: &Path) -> Test {
    let mut test = Test::new();
    for e in fs::read_dir(case.join("input")).expect("read the case's input folder") {
        let e = e.expect("folder entry");
        let name = e.file_name().to_string_lossy().into_owned();
        if name == "args" {
            continue;
        }
        assert!(
            e.file_type().expect("file type").is_file(),
            "{}: cases hold files only",
            e.path().display()
        );
        test = test.file(&name, fs::read(e.path()).expect("read fixture file"));
    }
    test
}

/// `text` as a regular expression that matches exactly it (for an insta filter).
fn literal(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let meta = "\\.+*?()|[]{}^$#&-~".contains(c);
            meta.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

#[test]
fn plan_files_are_never_discovered() {
    // Invalid plans must not be picked up by `cutover` run without arguments in the
    // repository (discovery looks for `cutover.yaml` and `*.cutover.yaml`).
    for case in cases() {
        for e in fs::read_dir(case.join("input")).expect("read the case's input folder") {
            let file = e.expect("folder entry").file_name();
            let file = file.to_string_lossy();
            assert!(
                file != "cutover.yaml" && !file.ends_with(".cutover.yaml"),
                "{}/input/{file} would be discovered as a plan; name it plan.yaml",
                case.display()
            );
        }
        assert!(
            case.join("input/plan.yaml").is_file(),
            "{}: missing input/plan.yaml",
            case.display()
        );
    }
}

#[test]
fn validate_prints_the_expected_diagnostics() {
    insta::glob!("../../fixtures/invalid", "*/input/plan.yaml", |plan| {
        let case = plan.parent().and_then(Path::parent).expect("case folder");
        let test = setup(case);
        let mut args = vec!["--color".to_owned(), "never".into(), "validate".into()];
        args.extend(plan_args(case));
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(case.join("expected"));
        settings.set_prepend_module_to_snapshot(false);
        settings.remove_snapshot_suffix();
        settings.add_filter(&literal(&test.path().display().to_string()), "[REPO]");
        settings.bind(|| {
            insta_cmd::assert_cmd_snapshot!("validate", test.args(&args).command());
        });
    });
}

#[test]
fn render_of_an_invalid_plan_writes_nothing() {
    for case in cases() {
        let test = setup(&case);
        let before = test.tree();
        let mut args = vec!["--color".to_owned(), "never".into(), "render".into()];
        args.extend(plan_args(&case));
        test.args(&args)
            .status(2)
            .stderr_contains("nothing was written")
            .run();
        crate::test::assert_unchanged(&before, &test.tree());
    }
}
