//! The real-world corpus: VirtualServices from public repositories, one per file, read in
//! place from `../shared/corpus/virtualservices` beside the repository (or the folder
//! `CUTOVER_CORPUS` names); they are never copied into the project (each keeps its
//! licence, listed in the corpus's `SOURCES.md`). Without the folder the test is skipped
//! with a note, unless `CUTOVER_REQUIRE_TOOLS=1` (CI), which requires it.
//!
//! Each VirtualService is migrated through the binary, once per distinct destination host
//! (as `from`), in a fresh repository holding the file as a `base`: a mirror stage, a
//! header canary, a weighted header canary and weights 50 and 100 (weights 10 and 100
//! when only TCP or TLS routes send to `from`). `render` must succeed or refuse with exit
//! 2 (never crash), and a rendered migration must keep invariants checked here on their
//! own terms, not with cutover's code:
//! - `check` passes and a second `render` writes nothing (the output is deterministic);
//! - outside route destinations, mirrors and the inserted canary routes, each stage is
//!   the base (same values, same key order);
//! - the weights of every route with several destinations add up to 100;
//! - at the 100% stage no destination that Istio resolves to `from` keeps a share (a
//!   short name `reviews` in namespace `shop` is `reviews.shop.svc.cluster.local`), and
//!   every `headers` set that a `from` destination carried reaches `to`;
//! - every comment of the base is in every stage file;
//! - no stage has an Istio schema violation its base did not have.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value;

use crate::test::Test;

const TO: &str = "cutover-gcp.example.com";
const CANARY: &str = "x-cutover-canary";

/// The corpus folder, or `None` (after a note) when it is absent and not required.
pub(crate) fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("CUTOVER_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/virtualservices"),
        PathBuf::from,
    );
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        !std::env::var("CUTOVER_REQUIRE_TOOLS").is_ok_and(|v| v == "1"),
        "the real-world corpus {} is missing, and CUTOVER_REQUIRE_TOOLS=1",
        dir.display()
    );
    eprintln!("skipped: no real-world corpus at {}", dir.display());
    None
}

/// Istio's reading of a destination host written in a VirtualService of namespace `ns`.
fn resolve(host: &str, ns: &str) -> String {
    if host.contains('.') || host == "*" || host.parse::<std::net::IpAddr>().is_ok() {
        host.to_owned()
    } else {
        format!("{host}.{ns}.svc.cluster.local")
    }
}

fn routes<'a>(doc: &'a Value, kind: &str) -> impl Iterator<Item = &'a Value> {
    doc["spec"][kind].as_sequence().into_iter().flatten()
}

fn destinations(route: &Value) -> impl Iterator<Item = &Value> {
    route["route"].as_sequence().into_iter().flatten()
}

fn host(dest: &Value) -> Option<&str> {
    dest["destination"]["host"].as_str()
}

/// The distinct destination hosts, as written, in document order, each short one
/// (`reviews`) followed by the name Istio reads it as (`reviews.<ns>.svc.cluster.local`):
/// a plan's `from` may be written either way, and both must move every destination
/// Istio resolves to it.
fn destination_hosts(doc: &Value, ns: &str) -> Vec<String> {
    let mut hosts: Vec<String> = Vec::new();
    for kind in ["http", "tcp", "tls"] {
        for d in routes(doc, kind).flat_map(destinations) {
            let Some(h) = host(d) else { continue };
            for h in [h.to_owned(), resolve(h, ns)] {
                if !hosts.contains(&h) {
                    hosts.push(h);
                }
            }
        }
    }
    hosts
}

/// Whether the route is a canary route this test's header stages inserted.
fn is_canary(route: &Value) -> bool {
    route["match"]
        .as_sequence()
        .is_some_and(|m| !m.is_empty() && m.iter().all(|c| c["headers"].get(CANARY).is_some()))
}

/// The document without canary routes and without every route's traffic fields.
fn untouched(doc: &Value) -> Value {
    let mut doc = doc.clone();
    for kind in ["http", "tcp", "tls"] {
        if let Some(list) = doc["spec"].get_mut(kind).and_then(Value::as_sequence_mut) {
            list.retain(|r| !is_canary(r));
            for r in list.iter_mut().filter_map(Value::as_mapping_mut) {
                for f in [
                    "route",
                    "mirror",
                    "mirrorPercentage",
                    "mirrors",
                    "mirror_percent",
                    "mirrorPercent",
                ] {
                    r.shift_remove(f);
                }
            }
        }
    }
    doc
}

/// The same values with the same key order (serde_yaml's `==` ignores key order).
fn identical(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Mapping(x), Value::Mapping(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| identical(ka, kb) && identical(va, vb))
        }
        (Value::Sequence(x), Value::Sequence(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| identical(a, b))
        }
        _ => a == b,
    }
}

fn violations(doc: &Value) -> Vec<String> {
    cutover::check::istio::virtual_service(&cutover::vs::to_json(doc.clone()))
        .into_iter()
        .map(|v| format!("{}: {}", v.path, v.message))
        .collect()
}

/// The comment lines of `text` (trimmed), in order.
fn comments(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with('#'))
        .collect()
}

struct Case<'a> {
    file: &'a str,
    text: &'a str,
    base: &'a Value,
    ns: &'a str,
    from: &'a str,
}

impl Case<'_> {
    fn plan(&self, http: bool) -> String {
        let stages = if http {
            format!("[{{mirror: 10}}, {{header: {{name: {CANARY}, value: \"yes\"}}}}, {{header: {{name: {CANARY}, value: \"yes\"}}, weight: 10}}, {{weight: 50}}, {{weight: 100}}]")
        } else {
            "[{weight: 10}, {weight: 100}]".to_owned()
        };
        let name = self.base["metadata"]["name"].as_str().unwrap_or("vs");
        format!(
            "version: 1\noutput: out\nistioVersion: \"1.22\"\nmigrations:\n  - name: m\n    namespace: {ns}\n    virtualService: {name:?}\n    base: {file}\n    from: {from:?}\n    to: {TO}\n    stages: {stages}\n",
            ns = self.ns,
            file = self.file,
            from = self.from,
        )
    }

    /// Checks the stage file `text` (weight `w`, `None` for a mirror stage).
    fn check_stage(&self, at: &str, text: &str, w: Option<u64>, found: &mut Found) {
        let doc: Value = serde_yaml::from_str(text).unwrap_or_else(|e| panic!("{at}: {e}"));
        if !identical(&untouched(self.base), &untouched(&doc)) {
            found.add("fields outside traffic changed", at);
        }
        let before = violations(self.base);
        let new: Vec<_> = violations(&doc)
            .into_iter()
            .filter(|v| !before.contains(v))
            .collect();
        if !new.is_empty() {
            found.add("new Istio violations", &format!("{at}: {new:?}"));
        }
        let base_comments = comments(self.text);
        let stage_comments = comments(text);
        if let Some(c) = base_comments.iter().find(|c| !stage_comments.contains(c)) {
            found.add("a comment of the base lost", &format!("{at}: {c}"));
        }
        for kind in ["http", "tcp", "tls"] {
            for (i, r) in routes(&doc, kind).enumerate() {
                let ds: Vec<_> = destinations(r).collect();
                if ds.len() > 1 && w.is_some() {
                    let sum: u64 = ds.iter().filter_map(|d| d["weight"].as_u64()).sum();
                    if sum != 100 {
                        found.add(
                            "weights not adding up to 100",
                            &format!("{at}: spec.{kind}[{i}]"),
                        );
                    }
                }
            }
        }
        if w == Some(100) {
            self.check_complete(at, &doc, found);
        }
    }

    /// At 100%: nothing Istio resolves to `from` keeps a share, and every header set of a
    /// `from` destination reaches `to`.
    fn check_complete(&self, at: &str, doc: &Value, found: &mut Found) {
        let from = resolve(self.from, self.ns);
        for kind in ["http", "tcp", "tls"] {
            for (i, (b, r)) in routes(self.base, kind)
                .zip(routes(doc, kind).filter(|r| !is_canary(r)))
                .enumerate()
            {
                let ds: Vec<_> = destinations(r).collect();
                let lone = ds.len() == 1;
                for d in &ds {
                    let share = if lone {
                        100
                    } else {
                        d["weight"].as_u64().unwrap_or(0)
                    };
                    let resolved = host(d).map(|h| resolve(h, self.ns));
                    if resolved.as_deref() == Some(from.as_str()) && share > 0 {
                        found.add(
                            "a destination Istio resolves to `from` keeps a share at 100%",
                            &format!("{at}: spec.{kind}[{i}]: {:?} keeps {share}", host(d)),
                        );
                    }
                }
                for d in destinations(b) {
                    if host(d).map(|h| resolve(h, self.ns)).as_deref() != Some(from.as_str()) {
                        continue;
                    }
                    // No headers (absent or null) is a header set too.
                    let headers_of = |d: &Value| d.get("headers").filter(|h| !h.is_null()).cloned();
                    let headers = headers_of(d);
                    assert!(
                        ds.iter()
                            .any(|t| host(t) == Some(TO) && headers_of(t) == headers),
                        "{at}: spec.{kind}[{i}]: the headers {headers:?} do not reach `to`"
                    );
                }
            }
        }
    }
}

/// Broken invariants: what → where.
#[derive(Default)]
struct Found(BTreeMap<&'static str, Vec<String>>);

impl Found {
    fn add(&mut self, what: &'static str, at: &str) {
        self.0.entry(what).or_default().push(at.to_owned());
    }
}

/// Outcome counts: (VirtualServices, migrations rendered, migrations refused, stage files
/// checked).
#[derive(Debug, Default, PartialEq)]
struct Counts {
    documents: usize,
    rendered: usize,
    refused: usize,
    stages: usize,
}

#[test]
fn real_world_virtual_services_migrate_with_their_invariants() {
    let Some(dir) = corpus() else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read the corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut counts = Counts::default();
    let mut refusals: BTreeMap<String, String> = BTreeMap::new();
    let mut found = Found::default();
    for path in &files {
        let file = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(path).expect("read");
        let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&text)
            .map(|d| Value::deserialize(d).expect("YAML"))
            .collect();
        let Some(base) = docs.iter().find(|d| d["kind"] == "VirtualService") else {
            continue;
        };
        counts.documents += 1;
        let ns = base["metadata"]["namespace"].as_str().unwrap_or("default");
        let t = Test::new().git_folder().file(&file, &text);
        for from in destination_hosts(base, ns) {
            let case = Case {
                file: &file,
                text: &text,
                base,
                ns,
                from: &from,
            };
            let is_from = |d: &Value| host(d).map(|h| resolve(h, ns)) == Some(resolve(&from, ns));
            let http = routes(base, "http").any(|r| destinations(r).any(is_from));
            t.write("cutover.yaml", case.plan(http));
            let at = format!("{file}, from {from}");
            let out = crate::test::run(t.args(["render"]).command(), "render");
            assert!(!out.stderr.contains("panicked"), "{at}: {}", out.stderr);
            if out.code != 0 {
                assert_eq!(out.code, 2, "{at}: {}", out.stderr);
                refusals.insert(at, out.stderr.lines().next().unwrap_or("").to_owned());
                counts.refused += 1;
                continue;
            }
            counts.rendered += 1;
            t.args(["check"]).any_stdout().run();
            t.args(["render"]).stdout_contains(" 0 written").run();
            let weights: &[Option<u64>] = if http {
                &[None, Some(0), Some(10), Some(50), Some(100)]
            } else {
                &[Some(10), Some(100)]
            };
            let mut folders: Vec<String> = std::fs::read_dir(t.path().join("out/m/stages"))
                .expect("stages")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            folders.sort();
            assert_eq!(folders.len(), weights.len(), "{at}: {folders:?}");
            for (stage, w) in folders.iter().zip(weights) {
                let text = t.read(&format!("out/m/stages/{stage}/virtualservice.yaml"));
                case.check_stage(&format!("{at}, {stage}"), &text, *w, &mut found);
                counts.stages += 1;
            }
            std::fs::remove_dir_all(t.path().join("out")).expect("clean up");
        }
    }
    for (at, why) in &refusals {
        eprintln!("refused: {at}: {why}");
    }
    eprintln!("{counts:?}");
    for (what, places) in &found.0 {
        eprintln!("{what}: {} stage files, e.g. {}", places.len(), places[0]);
    }
    assert!(
        found.0.is_empty(),
        "broken invariants: {:?}",
        found.0.keys().collect::<Vec<_>>()
    );
    // 80 VirtualServices; 166 `from` hosts: 112 as written and 54 short ones' full
    // names; 20 refused, all of 8 bases Istio itself refuses (SNI hosts outside `hosts`,
    // unknown fields, ...) or whose host is no DNS name: 13 hosts as written, 7 full
    // names.
    assert_eq!(
        counts,
        Counts {
            documents: 80,
            rendered: 146,
            refused: 20,
            stages: 664
        }
    );
}
