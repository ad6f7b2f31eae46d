//! Golden tests: the plan of every `fixtures/golden/<case>/input/`, rendered by the binary
//! in a fresh repository that holds only that input, must reproduce the committed
//! `fixtures/golden/<case>/expected/` byte for byte (the plans say `output: ../expected`).
//!
//! The committed trees are also what `cutover check` verifies at the repository root and what
//! `.ci/validate-tree.sh` checks with yamllint, the Istio schema and kustomize. After an
//! intended change of output, `cargo run -- render` at the repository root rewrites them;
//! review their diff like any other change.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::test::{copy_dir, fixtures, Test};

/// Every file under `dir`, relative path → contents (empty when `dir` does not exist).
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .expect("inside the folder")
                .to_string_lossy()
                .replace('\\', "/");
            (rel, fs::read(e.path()).expect("read file"))
        })
        .collect()
}

/// Renders the input of `fixtures/golden/<name>/` in a fresh repository at the same relative
/// path (so headers name the same plan) and returns the tree it wrote in `expected/`.
fn render(name: &str) -> BTreeMap<String, Vec<u8>> {
    let rel = format!("fixtures/golden/{name}");
    let t = Test::new().git_folder();
    copy_dir(
        &fixtures().join("golden").join(name).join("input"),
        &t.path().join(&rel).join("input"),
    );
    let out = t
        .args(["render", &format!("{rel}/input/cutover.yaml")])
        .stdout_contains(" written, 0 unchanged, 0 removed ")
        .run();
    assert!(!out.stdout.contains(" 0 written"), "{}", out.stdout);
    files(&t.path().join(&rel).join("expected"))
}

#[test]
fn fixture_trees_match_their_plans() {
    let mut cases = 0;
    insta::glob!("../../fixtures/golden", "*/input/cutover.yaml", |plan| {
        let case = plan.parent().and_then(Path::parent).expect("case folder");
        let name = case.file_name().expect("case name").to_string_lossy();
        let want = files(&case.join("expected"));
        let got = render(&name);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{name}: file lists differ (to accept: cargo run -- render, at the repository root)"
        );
        for (path, bytes) in &want {
            assert!(
                got[path] == *bytes,
                "{name}/expected/{path} differs from what render writes (to accept: cargo run \
                 -- render, at the repository root):\n--- committed\n{}\n--- rendered\n{}",
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(&got[path])
            );
        }
        cases += 1;
    });
    assert!(cases >= 6, "expected the golden cases, found {cases}");
}

#[test]
fn output_does_not_depend_on_location_or_run() {
    assert_eq!(render("example"), render("example"));
}

/// The documented 10% stage, as published (namespace placeholder aside).
const DOCUMENTED: &str = "\
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: cr-gcpbackend-migration
  namespace: NAMESPACE
spec:
  hosts:
  - cr-service-entry.com
  http:
  - route:
    - destination:
        host: cr-gcpbackend.com
      weight: 10
    - destination:
        host: cr-service-entry.com
      weight: 90
";

#[test]
fn reference_fixture_reproduces_the_documented_stage() {
    let file = fixtures().join("golden/reference/expected/cr-migration/01-weight-10.yaml");
    let text = fs::read_to_string(file).expect("read the reference stage");
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        body.replace("namespace: payments", "namespace: NAMESPACE"),
        DOCUMENTED
    );
}
