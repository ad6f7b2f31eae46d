//! Stage files of a migration with `base:` are the base document's own text, edited only
//! where the stage changes traffic (`yaml::splice`).
//!
//! - the corpus: every VirtualService of `fixtures/istio-samples/` and of the shared
//!   real-world corpus (`../shared/corpus/virtualservices`, when present), every `from`
//!   host, weight stages 0, 10, 50, 100 and a mirror stage: the stage is spliced from the
//!   base's text (never written afresh), except the documents listed in
//!   [`WRITTEN_AFRESH`];
//! - through the binary: a base with comments, quoted YAML 1.1 look-alikes and a flow route
//!   renders to stage files that differ from it only in traffic lines;
//! - YAML 1.1 look-alikes (issue 1): in every class and every place, quoted in a base or
//!   plain, the stage file reads the same to a YAML 1.2 reader (`serde_yaml`) and to YAML
//!   1.1 readers: the resolution rules of the fuzz harness (`examples/fuzz/readers.rs`),
//!   and PyYAML when the CI's Python has it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use cutover::plan::stage::{Stage, StageKind};
use cutover::render::rewrite;
use cutover::vs::{self, VirtualService};
use cutover::yaml::splice;
use serde::Deserialize;
use serde_yaml::Value;

use crate::test::Test;

const TO: &str = "gcp-backend.example.com";
const ISTIO: (u32, u32) = (1, 22);

// ---------------------------------------------------------------------------------------
// The corpus.

/// The corpora: Istio's samples (in the repository) and the shared real-world one (beside
/// the repository, in CI too; skipped when absent).
fn corpora() -> Vec<PathBuf> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = vec![repo.join("fixtures/istio-samples")];
    let shared = repo.join("../shared/corpus/virtualservices");
    if shared.is_dir() {
        out.push(shared);
    } else {
        eprintln!(
            "skipped: the shared corpus ({}) is absent",
            shared.display()
        );
    }
    out
}

/// Corpus documents whose stages are written afresh rather than spliced, with why:
/// (file, 1-based document number).
const WRITTEN_AFRESH: &[(&str, usize, &str)] = &[];

/// (corpus file, its text, 1-based document number, VirtualService) for every
/// VirtualService of the corpora.
fn corpus_virtual_services() -> Vec<(String, String, usize, VirtualService)> {
    let mut out = Vec::new();
    for dir in corpora() {
        let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&dir)
            .into_iter()
            .map(|e| e.unwrap().into_path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        files.sort();
        for path in files {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let rel = path
                .strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let rel = format!("{}/{rel}", dir.file_name().unwrap().to_string_lossy());
            let text = fs::read_to_string(&path).unwrap();
            for (i, doc) in serde_yaml::Deserializer::from_str(&text).enumerate() {
                let doc = Value::deserialize(doc).unwrap_or_else(|e| panic!("{rel}: {e}"));
                if VirtualService::is_one(&doc) {
                    out.push((rel.clone(), text.clone(), i + 1, doc.into()));
                }
            }
            let _ = name;
        }
    }
    out
}

/// The distinct route destination hosts of a VirtualService.
fn destination_hosts(vs: &VirtualService) -> Vec<String> {
    let mut hosts: Vec<String> = Vec::new();
    for kind in vs::ROUTE_KINDS {
        for r in vs.routes(kind) {
            for d in r.destinations().into_iter().flatten() {
                if let Some(h) = d.host() {
                    if !hosts.iter().any(|x| x == h) {
                        hosts.push(h.to_owned());
                    }
                }
            }
        }
    }
    hosts
}

fn stages() -> Vec<Stage> {
    let mut s: Vec<Stage> = [0, 10, 50, 100]
        .map(|w| Stage::unnamed(StageKind::Weight(w)))
        .to_vec();
    s.push(Stage::unnamed(StageKind::Mirror(10.0)));
    s
}

#[test]
fn every_corpus_stage_is_spliced_from_the_base_text() {
    let (mut documents, mut spliced, mut afresh) = (0, 0, Vec::new());
    let mut failed = Vec::new();
    for (file, text, n, base) in corpus_virtual_services() {
        let hosts = destination_hosts(&base);
        if hosts.is_empty() {
            continue;
        }
        documents += 1;
        let listed = WRITTEN_AFRESH.iter().any(|(f, d, _)| *f == file && *d == n);
        let doc_text = splice::document_text(&text, &base);
        for from in &hosts {
            for stage in stages() {
                let Ok(out) = rewrite::stage(&base, from, TO, &stage, ISTIO) else {
                    continue; // refused (a mirror stage of TCP-only routes): rewrite.rs
                };
                let at = format!("{file} (document {n}), from {from}, {}", stage.name);
                let text = doc_text.as_deref().and_then(|t| splice::splice(t, &out));
                match (text, listed) {
                    (Some(text), false) => {
                        let back = vs::documents(&text).unwrap();
                        assert!(vs::identical(&back[0], &out), "{at}");
                        spliced += 1;
                    }
                    (None, true) => afresh.push(at),
                    (Some(_), true) => failed.push(format!("{at}: spliced, but listed")),
                    (None, false) => failed.push(format!("{at}: written afresh")),
                }
            }
        }
    }
    println!(
        "corpus: {documents} VirtualServices with destinations, {spliced} stages spliced, {} written afresh",
        afresh.len()
    );
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert!(documents >= 55, "the corpus shrank: {documents}");
}

#[test]
fn scratch_show_diffs() {
    let only = std::env::var("SHOW").unwrap_or_default();
    for (file, text, n, base) in corpus_virtual_services() {
        if !file.contains(&only) {
            continue;
        }
        let hosts = destination_hosts(&base);
        let Some(doc_text) = splice::document_text(&text, &base) else {
            continue;
        };
        for from in hosts.iter().take(1) {
            for stage in stages() {
                let Ok(out) = rewrite::stage(&base, from, TO, &stage, ISTIO) else {
                    continue;
                };
                let t = splice::splice(&doc_text, &out).unwrap();
                let d = similar::TextDiff::from_lines(&doc_text, &t);
                println!(
                    "===== {file} #{n} {from} {}\n{}",
                    stage.name,
                    d.unified_diff().context_radius(1)
                );
            }
        }
    }
}
