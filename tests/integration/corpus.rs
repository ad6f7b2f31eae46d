//! Corpus test: every VirtualService in `fixtures/istio-samples/` (Istio's own samples and
//! test data, copied byte for byte, see its `SOURCES.md`) passes
//! [`cutover::check::istio::virtual_service`], except the documents listed in [`EXPECTED`],
//! which must fail with exactly the listed violations (so the list cannot go stale).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/istio-samples")
}

/// Documents known not to validate: (file relative to the corpus, 1-based document
/// number) → the `path: message` of every violation.
///
/// The corpus's README marks no document as intentionally invalid. These two use
/// `http[].websocketUpgrade`, a field removed from Istio's HTTPRoute API long ago (WebSocket
/// upgrades have been on by default since): it is not in the 1.30 CRD schema, so the API
/// server prunes it (and `kubectl apply`, with its default strict field validation, refuses
/// it). cutover reports fields the schema does not declare, because a silently dropped
/// field (a misspelt `weight`) changes where traffic goes.
const EXPECTED: &[(&str, usize, &[&str])] = &[
    (
        "tests/testdata/config/rule-websocket-route.yaml",
        3,
        &["spec.http[0].websocketUpgrade: unknown field `websocketUpgrade`"],
    ),
    (
        "tests/testdata/config/rule-websocket-route.yaml",
        4,
        &["spec.http[0].websocketUpgrade: unknown field `websocketUpgrade`"],
    ),
];

/// Every YAML file of the corpus, relative to it, sorted.
fn yaml_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(corpus())
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(corpus()).unwrap().to_path_buf())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    files
}

#[test]
fn no_corpus_file_looks_like_a_plan() {
    // `cutover check` and friends search the repository for plan files by name.
    for f in walkdir::WalkDir::new(corpus()) {
        let name = f.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            name != "cutover.yaml" && !name.ends_with(".cutover.yaml"),
            "{name} would be taken for a plan"
        );
    }
}

#[test]
fn istio_samples_validate() {
    let mut results: BTreeMap<(String, usize), Vec<String>> = BTreeMap::new();
    let (mut files, mut others) = (0, 0);
    for rel in yaml_files() {
        files += 1;
        let text = fs::read_to_string(corpus().join(&rel)).unwrap();
        for (i, doc) in serde_yaml::Deserializer::from_str(&text).enumerate() {
            let doc = serde_yaml::Value::deserialize(doc)
                .unwrap_or_else(|e| panic!("{}: {e}", rel.display()));
            let doc = cutover::vs::to_json(doc);
            if doc.get("kind").and_then(|k| k.as_str()) != Some("VirtualService") {
                others += usize::from(!doc.is_null());
                continue;
            }
            let violations = cutover::check::istio::virtual_service(&doc)
                .into_iter()
                .map(|v| format!("{}: {}", v.path, v.message))
                .collect();
            results.insert(
                (rel.to_string_lossy().replace('\\', "/"), i + 1),
                violations,
            );
        }
    }
    // The corpus as copied: 48 files, 56 VirtualServices, 54 other documents.
    assert_eq!(
        (files, results.len(), others),
        (48, 56, 54),
        "the corpus changed"
    );

    let mut problems = Vec::new();
    for ((file, n), violations) in &results {
        let expected: Vec<String> = EXPECTED
            .iter()
            .filter(|(f, d, _)| f == file && d == n)
            .flat_map(|(_, _, v)| v.iter().map(|s| s.to_string()))
            .collect();
        if *violations != expected {
            problems.push(format!(
                "{file} (document {n}):\n  expected {expected:?}\n  got      {violations:?}"
            ));
        }
    }
    for (f, d, _) in EXPECTED {
        assert!(
            results.contains_key(&(f.to_string(), *d)),
            "{f} document {d} is listed in EXPECTED but is not a VirtualService of the corpus"
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
