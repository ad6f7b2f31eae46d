//! Golden tests: every fixture plan under `fixtures/*/cutover.yaml`, rendered into a
//! fresh repository, must reproduce the committed tree beside it byte for byte.
//!
//! To accept new output after an intended change: `CUTOVER_BLESS=1 cargo test --test golden`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use cutover::render::Templates;
use cutover::workspace;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The fixture cases: folders of `fixtures/` holding a `cutover.yaml`.
fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("cutover.yaml").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 3, "expected fixture cases, found {cases:?}");
    cases
}

/// Every file under `dir`, relative path → contents.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, fs::read(e.path()).unwrap())
        })
        .collect()
}

/// Renders `plan` (absolute path) with the library, as `cutover render` does.
fn render(plan: &Path) {
    let plans = workspace::load(&workspace::named(&[plan.to_path_buf()])).unwrap();
    let templates = Templates::builtin().unwrap();
    let changes = workspace::changes(&plans, &templates).unwrap();
    cutover::write::apply(&plans, &changes).unwrap();
}

#[test]
fn fixture_trees_match_their_plans() {
    let bless = std::env::var_os("CUTOVER_BLESS").is_some();
    for case in cases() {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        if bless {
            render(&case.join("cutover.yaml"));
        }
        // A fresh repository laid out like this one, holding only the plan.
        let repo = tempfile::tempdir().unwrap();
        fs::create_dir(repo.path().join(".git")).unwrap();
        let copy = repo.path().join("fixtures").join(&name);
        fs::create_dir_all(&copy).unwrap();
        fs::copy(case.join("cutover.yaml"), copy.join("cutover.yaml")).unwrap();
        render(&copy.join("cutover.yaml"));

        let want = tree(&case);
        let got = tree(&copy);
        let want_names: Vec<_> = want.keys().collect();
        let got_names: Vec<_> = got.keys().collect();
        assert_eq!(got_names, want_names, "{name}: file lists differ");
        for (path, bytes) in &want {
            assert!(
                got[path] == *bytes,
                "{name}/{path} differs from the committed file:\n--- committed\n{}\n--- rendered\n{}",
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(&got[path])
            );
        }
    }
}

#[test]
fn output_does_not_depend_on_location_or_run() {
    let case = fixtures().join("example");
    let mut trees = Vec::new();
    for _ in 0..2 {
        let repo = tempfile::tempdir().unwrap();
        fs::create_dir(repo.path().join(".git")).unwrap();
        let copy = repo.path().join("fixtures/example");
        fs::create_dir_all(&copy).unwrap();
        fs::copy(case.join("cutover.yaml"), copy.join("cutover.yaml")).unwrap();
        render(&copy.join("cutover.yaml"));
        trees.push(tree(&copy));
    }
    assert_eq!(trees[0], trees[1]);
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
    let file = fixtures().join("reference/out/cr-migration/01-weight-10.yaml");
    let text = fs::read_to_string(file).unwrap();
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
