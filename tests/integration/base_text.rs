//! Stage files of a migration with `base:` are the base document's own text, edited only
//! where the stage changes traffic (`yaml::splice`).
//!
//! - the corpus: every VirtualService of `fixtures/istio-samples/` and of the shared
//!   real-world corpus (`../shared/corpus/virtualservices`, see `real_world.rs`), every `from`
//!   host, weight stages 0, 10, 50, 100 and a mirror stage: the stage is spliced from the
//!   base's text (never written afresh), except the documents listed in
//!   [`WRITTEN_AFRESH`];
//! - through the binary: a base with comments, quoted YAML 1.1 look-alikes, plain ones and
//!   a flow route renders to stage files that differ from it only in traffic lines and the
//!   plain look-alikes, now quoted, and that kubectl (when installed) reads as cutover does;
//! - YAML 1.1 look-alikes (issue 1): in every class and every place, quoted in a base or
//!   plain, the stage file reads the same to a YAML 1.2 reader (`serde_yaml`) and to YAML
//!   1.1 readers: the resolution rules of the fuzz harness (`examples/fuzz/readers.rs`),
//!   and PyYAML when the CI's Python has it;
//! - what the splice cannot do (an edit under an anchor an alias repeats) is written
//!   afresh, as before.
//!
//! Python with PyYAML and kubectl are looked up as in `validators.rs`: missing, their check
//! is skipped with a note, unless `CUTOVER_REQUIRE_TOOLS=1`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use cutover::plan::stage::{Stage, StageKind};
use cutover::render::{canary, rewrite};
use cutover::vs::{self, VirtualService};
use cutover::yaml::splice;
use serde::Deserialize;
use serde_yaml::Value;

use crate::test::Test;

const TO: &str = "gcp-backend.example.com";
const ISTIO: (u32, u32) = (1, 22);

// ---------------------------------------------------------------------------------------
// The corpus.

/// The corpora: Istio's samples (in the repository) and the real-world one (beside the
/// repository: [`crate::real_world::corpus`], required in CI).
fn corpora() -> Vec<PathBuf> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = vec![repo.join("fixtures/istio-samples")];
    out.extend(crate::real_world::corpus());
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
    s.push(Stage {
        name: "header-x-canary-10".into(),
        header: Some(("x-canary".into(), "true".into())),
        ..Stage::unnamed(StageKind::Weight(10))
    });
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
                let ns = base.namespace().unwrap_or("default");
                let Ok(mut out) = rewrite::stage(&base, from, TO, ns, &stage, ISTIO) else {
                    continue; // refused (a mirror stage of TCP-only routes): rewrite.rs
                };
                if canary::insert(&mut out, &base, (from, TO), ns, &stage, ISTIO).is_err() {
                    continue; // refused (a header canary of TCP-only routes)
                }
                let at = format!("{file} (document {n}), from {from}, {}", stage.name);
                let text = doc_text
                    .as_deref()
                    .and_then(|t| splice::splice(t, &out).ok());
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

// ---------------------------------------------------------------------------------------
// Through the binary.

const PAYMENTS_PLAN: &str = "version: 1
output: out
migrations:
  - name: payments
    namespace: shop
    virtualService: payments
    base: istio/payments.yaml
    from: a.example.com
    to: b.example.com
    stages: [{mirror: 20}, {weight: 10}, {weight: 50}, {weight: 100}]
";

/// A base as people write them: comments (above the document, inline, between routes and
/// inside a route list), quoted values YAML 1.1 would read as other types and two plain
/// ones (`no`, a date: strings to YAML 1.2 only), a flow route, and another document
/// before it.
const PAYMENTS: &str = "# The payments Service.
apiVersion: v1
kind: Service
metadata: {name: payments, namespace: shop}
---
# Payments API: kept by hand, not generated.
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: payments
  namespace: shop  # owned by team-payments
  labels:
    app: payments
    canary: \"on\"
    version: '012'
    released: \"2001-12-14\"
    zone: no
  annotations:
    since: 2001-12-14
spec:
  hosts: [payments.example.com]
  http:
  # Card payments, by header.
  - match:
    - headers:
        x-canary:
          exact: \"yes\"
        x-ratio:
          exact: '1e3'
    route: [{destination: {host: a.example.com}}]
  # Everything else.
  - route:
    # The ServiceEntry first.
    - destination:
        host: a.example.com  # the ServiceEntry
      weight: 90
    # A backend the migration leaves alone.
    - destination:
        host: c.example.com
      weight: 10
";

/// The lines of `after` that are not in `before`, and those of `before` not in `after`.
fn line_diff(before: &str, after: &str) -> (Vec<String>, Vec<String>) {
    let diff = similar::TextDiff::from_lines(before, after);
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for change in diff.iter_all_changes() {
        let line = change.value().trim_end().to_owned();
        match change.tag() {
            similar::ChangeTag::Insert => added.push(line),
            similar::ChangeTag::Delete => removed.push(line),
            similar::ChangeTag::Equal => {}
        }
    }
    (added, removed)
}

#[test]
fn stage_files_differ_from_the_base_only_in_traffic_lines() {
    let t = Test::new()
        .git_folder()
        .file("cutover.yaml", PAYMENTS_PLAN)
        .file("istio/payments.yaml", PAYMENTS);
    t.args(["render", "-q", "cutover.yaml"]).run();
    // The plain look-alikes are quoted, as YAML 1.2 reads them.
    let base = PAYMENTS[PAYMENTS.find("# Payments API").unwrap()..]
        .replace("zone: no\n", "zone: \"no\"\n")
        .replace("since: 2001-12-14\n", "since: \"2001-12-14\"\n");
    let base = base.as_str();
    let kubectl = crate::validators::tool("kubectl");
    let traffic = |l: &str| {
        let l = l.trim_start().trim_start_matches("- ");
        [
            "weight: ",
            "host: ",
            "destination:",
            "route: [",
            "mirror:",
            "mirrorPercentage:",
            "value: 20",
        ]
        .iter()
        .any(|p| l.starts_with(p))
    };
    for stage in [
        "01-mirror-20",
        "02-weight-10",
        "03-weight-50",
        "04-weight-100",
    ] {
        let text = t.read(&format!("out/payments/stages/{stage}/virtualservice.yaml"));
        let body = text
            .strip_prefix("# Generated by cutover from cutover.yaml; do not edit.\n")
            .and_then(|t| t.split_once('\n'))
            .map(|(_, body)| body)
            .unwrap_or_else(|| panic!("{stage}: no header:\n{text}"));
        let (added, removed) = line_diff(base, body);
        assert!(!added.is_empty(), "{stage}: nothing changed");
        for line in added.iter().chain(&removed) {
            assert!(traffic(line), "{stage}: `{line}` changed:\n{text}");
        }
        // Every other line (comments included) is the base's, in its order.
        let others = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| !traffic(l))
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(others(body), others(base), "{stage}");
        if let Some(kubectl) = &kubectl {
            assert_eq!(
                kubectl_reading(kubectl, &text),
                vs::to_json(vs::documents(&text).unwrap().remove(0)),
                "kubectl reads {stage} otherwise"
            );
        }
    }
    let stage = t.read("out/payments/stages/02-weight-10/virtualservice.yaml");
    assert!(
        stage.contains("    route: [{destination: {host: b.example.com}, weight: 10}, {destination: {host: a.example.com}, weight: 90}]\n"),
        "{stage}"
    );
    assert!(stage.contains("    # The ServiceEntry first.\n    - destination:\n        host: b.example.com\n      weight: 9\n    - destination:\n        host: a.example.com  # the ServiceEntry\n      weight: 81\n"), "{stage}");
    t.args(["check", "cutover.yaml"]).any_stdout().run();
}

/// How kubectl (client-go's YAML reader, YAML 1.1 rules) reads a manifest, as JSON: with
/// `annotate --local`, which needs no cluster (`create --dry-run=client` asks the server
/// for the kind), the annotation it adds removed again.
fn kubectl_reading(kubectl: &Path, text: &str) -> serde_json::Value {
    let mut child = Command::new(kubectl)
        .args([
            "annotate",
            "--local",
            "-f",
            "-",
            "-o",
            "json",
            "cutover.test/read=1",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kubectl: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut read: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let annotations = read["metadata"]["annotations"].as_object_mut().unwrap();
    annotations.remove("cutover.test/read");
    if annotations.is_empty() {
        read["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("annotations");
    }
    read
}

// ---------------------------------------------------------------------------------------
// YAML 1.1 look-alikes.

/// The YAML 1.1 and 1.2 resolution rules of the fuzz harness (independent of cutover's).
#[allow(dead_code)]
#[path = "../../examples/fuzz/readers.rs"]
mod readers;

/// Plain scalars a YAML 1.1 reader may read otherwise than a YAML 1.2 reader (booleans,
/// nulls, timestamps, integers in bases 2, 8, 16 and 60, floats, the merge and value
/// keys, a dotted quad), and some both read alike.
const LOOKALIKES: &[&str] = &[
    "y",
    "Y",
    "yes",
    "Yes",
    "n",
    "N",
    "no",
    "NO",
    "on",
    "On",
    "off",
    "OFF",
    "true",
    "False",
    "TRUE",
    "null",
    "Null",
    "~",
    "",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "2001-12-14 21:59:43.10 -5",
    "0x1F",
    "012",
    "0o12",
    "0b101",
    "1e3",
    "1E3",
    "1_000",
    "1.5",
    ".inf",
    "-.inf",
    ".nan",
    "1:20",
    "190:20:30.15",
    "=",
    "<<",
    "10.0.0.1",
    "+12",
    "-0",
    "7",
];

/// Where a look-alike goes in a base, and how it is written there.
#[derive(Clone, Copy, Debug)]
enum Place {
    Label,
    Annotation,
    LabelKey,
    Exact,
    HeaderValue,
    HeaderKey,
}

#[derive(Clone, Copy, Debug)]
enum Written {
    Plain,
    Single,
    Double,
}

const PLACES: [Place; 6] = [
    Place::Label,
    Place::Annotation,
    Place::LabelKey,
    Place::Exact,
    Place::HeaderValue,
    Place::HeaderKey,
];
const WRITTEN: [Written; 3] = [Written::Plain, Written::Single, Written::Double];

fn written(s: &str, how: Written) -> String {
    match how {
        Written::Plain => s.to_owned(),
        Written::Single => format!("'{s}'"),
        Written::Double => format!("\"{s}\""),
    }
}

/// Whether a plain `s` reads as a string to YAML 1.2 (so it may stand where Istio wants
/// one); a plain empty key cannot be written.
fn fits(s: &str, place: Place, how: Written) -> bool {
    let plain_string = matches!(
        serde_yaml::from_str::<Value>(&format!("k: {s}\n")).map(|v| v["k"].clone()),
        Ok(Value::String(_))
    );
    match (place, how) {
        (_, Written::Single | Written::Double) => true,
        (Place::LabelKey | Place::HeaderKey, Written::Plain) => !s.is_empty() && !s.contains(": "),
        // Not a plain value cutover's reader and YAML 1.2 read differently (`012`): a
        // base with one is refused.
        (_, Written::Plain) if cutover::yaml::resolve::misread(s).is_some() => false,
        (Place::Label | Place::Annotation, Written::Plain) => true,
        (Place::Exact | Place::HeaderValue, Written::Plain) => plain_string,
    }
}

/// A base with each look-alike `(value, place, how)`, and the plan to render it.
fn lookalike_base(cases: &[(&str, Place, Written)]) -> String {
    let (mut labels, mut annotations, mut exact, mut headers) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, &(s, place, how)) in cases.iter().enumerate() {
        let w = written(s, how);
        match place {
            Place::Label => labels.push(format!("l{i}: {w}")),
            Place::LabelKey => labels.push(format!("{w}: k{i}")),
            Place::Annotation => annotations.push(format!("a{i}: {w}")),
            Place::Exact => exact.push(format!("x-h{i}: {{exact: {w}}}")),
            Place::HeaderValue => headers.push(format!("x-s{i}: {w}")),
            Place::HeaderKey => headers.push(format!("{w}: v{i}")),
        }
    }
    let block = |entries: &[String], indent: &str| -> String {
        if entries.is_empty() {
            " {}".to_owned()
        } else {
            entries.iter().map(|e| format!("\n{indent}{e}")).collect()
        }
    };
    format!(
        "# A base with look-alikes.
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: vs
  namespace: ns
  labels:{}
  annotations:{}
spec:
  hosts: [a.example.com]
  http:
  - match:
    - headers:{}
    route:
    - destination:
        host: a.example.com
      headers:
        request:
          set:{}
",
        block(&labels, "    "),
        block(&annotations, "    "),
        block(&exact, "        "),
        block(&headers, "            "),
    )
}

/// The stage files `render` writes from `base` (in process), for `stages` (plan text).
fn render_base(base: &str, stages: &str) -> Vec<String> {
    let plan_text = format!(
        "version: 1\noutput: out\nmigrations:\n- {{name: m, namespace: ns, virtualService: vs, base: vs.yaml, from: a.example.com, to: b.example.com, stages: {stages}}}\n"
    );
    let mut plan = cutover::Plan::parse(
        "cutover.yaml",
        plan_text.as_bytes(),
        Path::new("/repo/cutover.yaml"),
        Path::new("/repo"),
    )
    .unwrap();
    plan.bases.insert("vs.yaml".to_owned(), base.to_owned());
    let templates = cutover::Templates::builtin().unwrap();
    let files =
        cutover::render::render_plan(&plan, &templates).unwrap_or_else(|e| panic!("{e}\n{base}"));
    files
        .into_iter()
        .filter(|f| f.stage_manifest().is_some())
        .map(|f| f.contents)
        .collect()
}

/// What the YAML 1.1 rules make differently of a stage file, and the look-alikes written
/// quoted in the base that the stage does not write as they were.
fn lookalike_problems(base: &str, stage: &str) -> Vec<String> {
    let mut out = readers::disagreements(stage).unwrap_or_else(|e| vec![e]);
    if !stage.contains("# A base with look-alikes.") {
        out.push("written afresh".to_owned());
    }
    for line in base.lines().filter(|l| l.contains(['\'', '"'])) {
        if !stage.lines().any(|s| s == line) {
            out.push(format!("`{line}` is not kept"));
        }
    }
    out
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 96, ..Default::default() })]

    /// Issue 1: look-alikes of every class, quoted or plain, in labels, annotations,
    /// header matches and header values and as keys: the stage file reads the same to
    /// YAML 1.1 and 1.2 rules, and the quoted ones stay as written.
    #[test]
    fn lookalikes_read_the_same_in_yaml_1_1_and_1_2(
        picks in proptest::collection::vec((0..LOOKALIKES.len(), 0..PLACES.len(), 0..WRITTEN.len()), 1..8),
        stage in proptest::sample::select(vec!["[{weight: 10}]", "[{weight: 0}]", "[{weight: 100}]", "[{mirror: 5}]"]),
    ) {
        let mut cases: Vec<(&str, Place, Written)> = Vec::new();
        for (s, p, w) in picks {
            let case = (LOOKALIKES[s], PLACES[p], WRITTEN[w]);
            let key = matches!(case.1, Place::LabelKey | Place::HeaderKey);
            let clash = key && cases.iter().any(|c| c.0 == case.0 && std::mem::discriminant(&c.1) == std::mem::discriminant(&case.1));
            if fits(case.0, case.1, case.2) && !clash {
                cases.push(case);
            }
        }
        let base = lookalike_base(&cases);
        // Plain keys YAML 1.2 reads alike (`null` and `~`) clash too.
        proptest::prop_assume!(vs::documents(&base).is_ok());
        for text in render_base(&base, stage) {
            let problems = lookalike_problems(&base, &text);
            proptest::prop_assert!(problems.is_empty(), "{:?}\n{}\n{}", problems, base, text);
        }
    }
}

/// Every look-alike in every place, written every way, in bases rendered through every
/// stage kind: the stage files read the same to the YAML 1.1 rules, and to PyYAML (the
/// reference YAML 1.1 reader) as to `serde_yaml` (YAML 1.2).
#[test]
fn every_lookalike_reads_the_same_to_pyyaml() {
    let mut texts = Vec::new();
    for how in WRITTEN {
        for place in PLACES {
            let mut keys: Vec<Value> = Vec::new();
            let cases: Vec<(&str, Place, Written)> = LOOKALIKES
                .iter()
                .filter(|s| fits(s, place, how))
                // One of the plain keys YAML 1.2 reads alike (`true`, `TRUE`).
                .filter(|s| {
                    let key = matches!(how, Written::Plain)
                        && matches!(place, Place::LabelKey | Place::HeaderKey);
                    if !key {
                        return true;
                    }
                    // Read by serde_yaml and by cutover's core-schema reader (`012` and
                    // `+12` are one key to it).
                    let read: Value = serde_yaml::from_str(&format!("{s}: x")).unwrap();
                    let core = cutover::yaml::parse(&format!("{s}: x")).unwrap().unwrap();
                    let cutover::yaml::Value::Map(entries) = &core.value else {
                        unreachable!()
                    };
                    let core = Value::from(format!("{:?}", entries[0].0.resolve()));
                    let fresh = !keys.contains(&read) && !keys.contains(&core);
                    keys.extend([read, core]);
                    fresh
                })
                .map(|s| (*s, place, how))
                .collect();
            let base = lookalike_base(&cases);
            for text in render_base(&base, "[{mirror: 5}, {weight: 10}, {weight: 100}]") {
                let problems = lookalike_problems(&base, &text);
                assert!(problems.is_empty(), "{problems:?}\n{base}\n{text}");
                texts.push(text);
            }
        }
    }
    let Some(python) = pyyaml() else { return };
    // Mappings are read as lists of pairs: Python's dictionaries take `0` and `false` for
    // one key.
    let script = r#"
import json, math, sys, yaml
def plain(o):
    if isinstance(o, dict):
        return {"pairs": o["pairs"]}
    if isinstance(o, list):
        return [plain(v) for v in o]
    if isinstance(o, float) and math.isinf(o):
        return ".inf" if o > 0 else "-.inf"
    if isinstance(o, float) and math.isnan(o):
        return ".nan"
    if o is None or isinstance(o, (str, bool, int, float)):
        return o
    return {"python": repr(o)}
class Loader(yaml.SafeLoader):
    pass
def pairs(loader, node):
    loader.flatten_mapping(node)
    return {"pairs": [[plain(loader.construct_object(k, deep=True)), plain(loader.construct_object(v, deep=True))] for k, v in node.value]}
Loader.add_constructor("tag:yaml.org,2002:map", pairs)
print(json.dumps([plain(yaml.load(t, Loader=Loader)) for t in json.load(sys.stdin)]))
"#;
    let mut child = Command::new(&python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input = serde_json::to_string(&texts).unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "PyYAML failed");
    let read: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(read.len(), texts.len());
    for (text, py) in texts.iter().zip(read) {
        let doc = vs::documents(text).unwrap().remove(0);
        assert_eq!(pairs(&doc), py, "PyYAML reads otherwise:\n{text}");
    }
    println!("PyYAML read {} stage files as serde_yaml does", texts.len());
}

/// A YAML value as the PyYAML script writes it: mappings as `{"pairs": [[key, value]...]}`,
/// non-finite floats as `.inf`, `-.inf`, `.nan`.
fn pairs(v: &Value) -> serde_json::Value {
    use serde_json::json;
    match v {
        Value::Null => json!(null),
        Value::Bool(b) => json!(b),
        Value::String(s) => json!(s),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), ..) => json!(i),
            (_, Some(u), _) => json!(u),
            (.., Some(f)) if f.is_finite() => json!(f),
            _ => json!(n.to_string()),
        },
        Value::Sequence(items) => items.iter().map(pairs).collect(),
        Value::Mapping(m) => {
            json!({"pairs": m.iter().map(|(k, v)| json!([pairs(k), pairs(v)])).collect::<Vec<_>>()})
        }
        Value::Tagged(t) => pairs(&t.value),
    }
}

/// The Python of the CI's tools (or on `PATH`) that has PyYAML; `None` (after a note)
/// when there is none and `CUTOVER_REQUIRE_TOOLS=1` is not set.
fn pyyaml() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/tools/venv/bin/python3");
    let found = [venv, PathBuf::from("python3")].into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import yaml"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        assert!(
            std::env::var("CUTOVER_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "no Python with PyYAML, and CUTOVER_REQUIRE_TOOLS=1 (run .ci/install-tools.sh)"
        );
        eprintln!("skipped: no Python with PyYAML (run .ci/install-tools.sh)");
    }
    found
}

/// A stage the splice cannot make (an edit under an anchor an alias repeats) is the
/// rewritten document written afresh: correct, without the base's comments.
#[test]
fn what_cannot_be_spliced_is_written_afresh() {
    let base = "# A comment the stage loses.
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: ns}
spec:
  hosts: [a.example.com]
  http:
  - match: [{uri: {prefix: /a}}]
    route: &r [{destination: {host: a.example.com}}]
  - route: *r
";
    for text in render_base(base, "[{weight: 10}]") {
        assert!(
            !text.contains("# A comment") && !text.contains('&'),
            "{text}"
        );
        let doc: VirtualService = vs::documents(&text).unwrap().remove(0).into();
        let weights: Vec<Vec<u64>> = doc.http_routes().map(|r| r.weights().unwrap()).collect();
        assert_eq!(weights, [[10, 90], [10, 90]]);
    }
}
