//! The plan file's JSON Schema (`cutover schema`, committed as
//! `schemas/plan-v1.schema.json`, for editors): the committed file is what the command
//! prints; every plan of the repository, README's plans and `init`'s starter plans
//! validate against it; and representative mistakes are refused by it, as by the parser.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::test::Test;

/// The committed schema, from the repository root.
const SCHEMA_FILE: &str = "schemas/plan-v1.schema.json";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The committed schema, compiled.
fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&read(&root().join(SCHEMA_FILE))).expect("JSON");
    jsonschema::draft7::new(&schema).expect("the schema compiles")
}

/// A plan's YAML as the JSON value a schema validator sees.
fn json_of(yaml: &str) -> Value {
    serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("YAML: {e}\n{yaml}"))
}

/// The schema's complaints about `plan`, one line each: `instance path: message`.
fn errors(v: &jsonschema::Validator, plan: &Value) -> Vec<String> {
    v.iter_errors(plan)
        .map(|e| format!("{}: {e}", e.instance_path().as_str()))
        .collect()
}

#[test]
fn the_committed_schema_is_what_cutover_schema_prints() {
    let printed = Test::new().args(["schema"]).any_stdout().run().stdout;
    let committed = read(&root().join(SCHEMA_FILE));
    assert!(
        printed == committed,
        "{SCHEMA_FILE} differs from what `cutover schema` prints; regenerate it with:\n  cargo run -- schema > {SCHEMA_FILE}"
    );
    let schema: Value = serde_json::from_str(&printed).expect("JSON");
    assert!(
        jsonschema::meta::is_valid(&schema),
        "a valid draft-07 schema"
    );
}

/// The plan files of the repository (as the plan search names them), outside `target/`
/// and hidden folders.
fn repository_plans() -> Vec<PathBuf> {
    let root = root();
    let mut plans: Vec<PathBuf> = walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0 || !(name.starts_with('.') || name == "target")
        })
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name == "cutover.yaml" || name.ends_with(".cutover.yaml")
        })
        .collect();
    plans.sort();
    plans
}

/// The yaml blocks of README's section `heading`.
fn readme_yaml(heading: &str) -> Vec<String> {
    let readme = read(&root().join("README.md"));
    let start = readme
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README has {heading}"));
    let section = &readme[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 4)];
    section
        .split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split_once("\n```").map(|(body, _)| format!("{body}\n")))
        .collect()
}

#[test]
fn every_plan_of_the_repository_and_readme_validates() {
    let v = validator();
    let plans = repository_plans();
    let golden = plans
        .iter()
        .filter(|p| p.starts_with(root().join("fixtures/golden")))
        .count();
    assert!(golden >= 6, "the golden plans: {plans:?}");
    for p in &plans {
        let errs = errors(&v, &json_of(&read(p)));
        assert!(errs.is_empty(), "{}:\n{}", p.display(), errs.join("\n"));
    }
    let worked = readme_yaml("## Worked example");
    let format = readme_yaml("## The plan file (format version 1)");
    for (what, plan) in [
        ("the worked example's plan", &worked[0]),
        ("the plan file's example", &format[0]),
    ] {
        let errs = errors(&v, &json_of(plan));
        assert!(
            errs.is_empty(),
            "README, {what}:\n{}\n{plan}",
            errs.join("\n")
        );
    }
    // The worked example's bad.yaml (its last block) is refused.
    let bad = worked.last().expect("bad.yaml");
    assert!(bad.contains("wieght") && !errors(&v, &json_of(bad)).is_empty());
}

#[test]
fn init_writes_a_plan_that_names_the_schema_and_validates() {
    let v = validator();
    for extra in [&[][..], &["--mirror", "12.5", "--stages", "0,100"][..]] {
        let t = Test::new().git_folder();
        let mut run = t.args(["init"].iter().chain(extra)).any_stdout();
        if !extra.is_empty() {
            run = run.stderr_contains("mirrors requests");
        }
        run.run();
        let text = t.read("cutover.yaml");
        let first = text.lines().next().unwrap_or_default();
        let url = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("the first line names the schema: {first}"));
        assert_eq!(url, cutover::plan::schema::SCHEMA_URL);
        assert!(url.ends_with(&format!("/{SCHEMA_FILE}")), "{url}");
        let errs = errors(&v, &json_of(&text));
        assert!(errs.is_empty(), "{}\n{text}", errs.join("\n"));
    }
    // README's Editor support shows the line of this version.
    let readme = read(&root().join("README.md"));
    assert!(readme.contains(&format!("\n{}\n", cutover::plan::schema::modeline())));
}

/// Whether the parser refuses `plan`.
fn parser_refuses(plan: &Value) -> bool {
    let text = serde_yaml::to_string(plan).expect("YAML");
    cutover::plan::Plan::parse(
        "cutover.yaml",
        text.as_bytes(),
        Path::new("/repo/cutover.yaml"),
        Path::new("/repo"),
    )
    .is_err()
}

#[test]
fn representative_mistakes_are_refused() {
    let v = validator();
    let mut good = json_of(&read(
        &root().join("fixtures/golden/full-migration/input/cutover.yaml"),
    ));
    // Its output folder is the fixture's, outside the temporary repository.
    good["output"] = json!("deploy/cutover");
    assert!(errors(&v, &good).is_empty());
    assert!(!parser_refuses(&good));
    // (what, JSON pointer of the value to set, value, the instance path of an error)
    let cases = [
        ("unknown top-level key", "/outptu", json!("x"), ""),
        (
            "unknown key in a migration",
            "/migrations/0/namesapce",
            json!("x"),
            "/migrations/0",
        ),
        (
            "unknown key in a stage",
            "/migrations/0/stages/2/wieght",
            json!(60),
            "/migrations/0/stages/2",
        ),
        (
            "unknown key in verify",
            "/migrations/0/verify/everystage",
            json!(true),
            "/migrations/0/verify",
        ),
        (
            "unknown key in defaults",
            "/defaults",
            json!({"name": "x"}),
            "/defaults",
        ),
        (
            "weight above 100",
            "/migrations/0/stages/2/weight",
            json!(150),
            "/migrations/0/stages/2",
        ),
        ("unknown layout", "/layout", json!("tree"), "/layout"),
    ];
    for (what, pointer, value, at) in cases {
        let mut plan = good.clone();
        let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
        plan.pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .unwrap_or_else(|| panic!("{what}: no mapping at {parent}"))
            .insert(key.to_owned(), value);
        let errs = errors(&v, &plan);
        assert!(
            errs.iter().any(|e| e.starts_with(&format!("{at}: "))),
            "{what}: the schema must refuse it at `{at}`; errors: {errs:?}"
        );
        assert!(parser_refuses(&plan), "{what}: the parser refuses it too");
    }
}
