//! Every folder of `fixtures/invalid/` holds a plan that breaks one validation rule
//! (`plan.yaml`, plus other plans for rules that need two) and the exact message
//! cutover prints for it (`expected.stderr`).
//!
//! Each case is copied into its own temporary folder (so the repository root is that
//! folder, whatever the working directory of the test run), then:
//! - `cutover --color never validate <args>` must exit 2 and print `expected.stderr`
//!   byte for byte. The temporary folder's path, which messages about the repository
//!   print, is replaced by `[REPO]`.
//! - `cutover --color never render <args>` must exit 2 and create, change or remove
//!   no file.
//!
//! The plan arguments are `plan.yaml`, or the lines of an `args` file when there is one.
//! With `CUTOVER_BLESS=1`, `expected.stderr` files are (re)written instead of compared.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use support::Test;

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/invalid");
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

/// The plan arguments of a case: the lines of `args`, or `plan.yaml`.
fn plan_args(case: &Path) -> Vec<String> {
    match fs::read_to_string(case.join("args")) {
        Ok(text) => text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        Err(_) => vec!["plan.yaml".to_owned()],
    }
}

/// A temporary folder holding a copy of the case's files (not `expected.stderr`).
fn setup(case: &Path) -> Test {
    let mut test = Test::new();
    for e in fs::read_dir(case).expect("read case folder") {
        let e = e.expect("folder entry");
        let name = e.file_name().to_string_lossy().into_owned();
        if name == "expected.stderr" || name == "args" {
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

fn name(case: &Path) -> String {
    case.file_name()
        .expect("case name")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn plan_files_are_never_discovered() {
    // Invalid plans must not be picked up by `cutover` run without arguments in the
    // repository (discovery looks for `cutover.yaml` and `*.cutover.yaml`).
    for case in cases() {
        for e in fs::read_dir(&case).expect("read case folder") {
            let file = e.expect("folder entry").file_name();
            let file = file.to_string_lossy();
            assert!(
                file != "cutover.yaml" && !file.ends_with(".cutover.yaml"),
                "{}/{file} would be discovered as a plan; name it plan.yaml",
                case.display()
            );
        }
        assert!(
            case.join("plan.yaml").is_file(),
            "{}: missing plan.yaml",
            case.display()
        );
    }
}

#[test]
fn validate_prints_the_expected_diagnostics() {
    let bless = std::env::var_os("CUTOVER_BLESS").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    for case in cases() {
        let mut test = setup(&case);
        let mut args = vec!["--color".to_owned(), "never".into(), "validate".into()];
        args.extend(plan_args(&case));
        let out = test.run_with(&args);
        let repo = test.path().display().to_string();
        let stderr = out.stderr.replace(&repo, "[REPO]");
        let expected_path = case.join("expected.stderr");

        if out.code != 2 {
            failures.push(format!(
                "{}: exit code {}, expected 2\n{stderr}",
                name(&case),
                out.code
            ));
            continue;
        }
        if !out.stdout.is_empty() {
            failures.push(format!(
                "{}: validate printed to stdout:\n{}",
                name(&case),
                out.stdout
            ));
        }
        if bless {
            fs::write(&expected_path, &stderr).expect("write expected.stderr");
            continue;
        }
        match fs::read(&expected_path) {
            Ok(expected) if expected == stderr.as_bytes() => {}
            Ok(expected) => failures.push(format!(
                "{}: stderr differs from {}\n--- expected ---\n{}--- actual ---\n{stderr}",
                name(&case),
                expected_path.display(),
                String::from_utf8_lossy(&expected)
            )),
            Err(e) => failures.push(format!(
                "{}: cannot read {}: {e} (run with CUTOVER_BLESS=1 to create it)",
                name(&case),
                expected_path.display()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn render_of_an_invalid_plan_writes_nothing() {
    let mut failures = Vec::new();
    for case in cases() {
        let mut test = setup(&case);
        let before = test.snapshot();
        let mut args = vec!["--color".to_owned(), "never".into(), "render".into()];
        args.extend(plan_args(&case));
        let out = test.run_with(&args);
        if out.code != 2 {
            failures.push(format!(
                "{}: render exit code {}, expected 2\n{}",
                name(&case),
                out.code,
                out.stderr
            ));
        }
        if !out.stderr.contains("nothing was written") {
            failures.push(format!(
                "{}: render does not say that nothing was written:\n{}",
                name(&case),
                out.stderr
            ));
        }
        let after = test.snapshot();
        if before != after {
            let changed: Vec<_> = before
                .keys()
                .chain(after.keys())
                .filter(|k| before.get(*k) != after.get(*k))
                .collect();
            failures.push(format!(
                "{}: render changed the folder: {changed:?}",
                name(&case)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
