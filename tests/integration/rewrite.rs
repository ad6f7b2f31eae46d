//! Tests of [`cutover::render::rewrite`], the migration of an existing VirtualService (`base:`):
//!
//! - the corpus: every route destination host of every VirtualService in
//!   `fixtures/istio-samples/` taken as `from`, rewritten for a mirror stage and a range of
//!   weight stages, passes [`rewrite::check`] and [`istio::virtual_service`];
//! - properties of random base VirtualServices (shares, rounding, untouched fields,
//!   determinism, validity);
//! - a table of edge cases (weights not adding up to 100, an existing `to`, several `from`
//!   subsets, zero weights), `from` destinations with different `headers`, and short hosts
//!   (`reviews` for `reviews.<namespace>.svc.cluster.local`).
//!
//! Every rewritten stage is checked independently of `rewrite::check` by [`verify`], which
//! recomputes the exact shares of the README's "Migrating an existing VirtualService",
//! reading hosts as Istio does ([`fqdn`], written here independently of the model's).

use std::fs;
use std::path::{Path, PathBuf};

use cutover::check::istio;
use cutover::plan::stage::{Stage, StageKind};
use cutover::render::rewrite;
use cutover::vs::{to_json, VirtualService, ROUTE_KINDS, TRAFFIC_FIELDS};
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::json;
use serde_yaml::{Mapping, Value};

const TO: &str = "gcp-backend.example.com";
/// The route kinds (`spec` lists whose entries have a `route`) and the mirror fields of an
/// HTTP route, read from the vendored Istio schema rather than copied from the rewrite, so
/// that a kind or a field the rewrite does not know fails these tests.
struct SchemaFields {
    kinds: Vec<String>,
    mirror: Vec<String>,
}

fn schema_fields() -> &'static SchemaFields {
    static FIELDS: std::sync::OnceLock<SchemaFields> = std::sync::OnceLock::new();
    FIELDS.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("schemas/istio-virtualservice-v1.schema.json");
        let schema: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).expect("read the Istio schema"))
                .expect("the Istio schema is JSON");
        let spec = &schema["properties"]["spec"]["properties"];
        let kinds: Vec<String> = spec
            .as_object()
            .expect("spec properties")
            .iter()
            .filter(|(_, v)| v["items"]["properties"].get("route").is_some())
            .map(|(k, _)| k.clone())
            .collect();
        let mut mirror: Vec<String> = spec["http"]["items"]["properties"]
            .as_object()
            .expect("HTTPRoute properties")
            .keys()
            .filter(|k| k.starts_with("mirror"))
            .cloned()
            .collect();
        mirror.sort();
        assert_eq!(kinds, ["http", "tcp", "tls"], "route kinds of the schema");
        assert!(mirror.len() >= 4, "mirror fields of the schema: {mirror:?}");
        SchemaFields { kinds, mirror }
    })
}

/// The model's lists of route kinds and traffic fields (what a rewrite may change) cover
/// everything the schema has: a new kind or mirror field in Istio fails here.
#[test]
fn the_model_knows_every_route_kind_and_mirror_field_of_the_schema() {
    assert_eq!(kinds().collect::<Vec<_>>(), ROUTE_KINDS);
    for field in std::iter::once("route").chain(mirror_fields()) {
        assert!(
            TRAFFIC_FIELDS.contains(&field),
            "vs::TRAFFIC_FIELDS lacks `{field}`"
        );
    }
}

/// Route kinds, from the schema.
fn kinds() -> impl Iterator<Item = &'static str> {
    schema_fields().kinds.iter().map(String::as_str)
}

/// The mirror fields of an HTTP route (`mirror`, `mirrors`, `mirrorPercentage`, ...), from
/// the schema.
fn mirror_fields() -> impl Iterator<Item = &'static str> {
    schema_fields().mirror.iter().map(String::as_str)
}
const ISTIO: (u32, u32) = (1, 22);

fn yaml(s: &str) -> Value {
    serde_yaml::from_str(s).unwrap()
}

fn weight(w: u8) -> Stage {
    Stage::unnamed(StageKind::Weight(w))
}

fn mirror(p: f64) -> Stage {
    Stage::unnamed(StageKind::Mirror(p))
}

fn host_of(d: &Value) -> Option<&str> {
    d.get("destination")?.get("host")?.as_str()
}

/// The namespace short hosts of a base without `metadata.namespace` are read in: the
/// migration's, as `render` passes it.
const NS: &str = "default";

/// `host` as Istio reads it in namespace `ns` (istiod's `ResolveShortnameToFQDN`): a host
/// without a dot is a service of the namespace; `*`, IP addresses and hosts with a dot
/// are taken as written.
fn fqdn(host: &str, ns: &str) -> String {
    if host.is_empty()
        || host == "*"
        || host.contains('.')
        || host.parse::<std::net::IpAddr>().is_ok()
    {
        return host.to_owned();
    }
    if ns.is_empty() {
        format!("{host}.svc.cluster.local")
    } else {
        format!("{host}.{ns}.svc.cluster.local")
    }
}

/// The namespace a document's short hosts are read in: its own, else [`NS`].
fn ns_of(doc: &Value) -> &str {
    doc["metadata"]["namespace"].as_str().unwrap_or(NS)
}

/// Whether destination `d` is `host`, as Istio reads hosts in namespace `ns`.
fn is_host(d: &Value, host: &str, ns: &str) -> bool {
    host_of(d).is_some_and(|h| fqdn(h, ns) == fqdn(host, ns))
}

fn sends_to(route: &Value, host: &str, ns: &str) -> bool {
    route
        .get("route")
        .and_then(Value::as_sequence)
        .is_some_and(|ds| ds.iter().any(|d| is_host(d, host, ns)))
}

/// `headers` of a destination, unless absent or `null`.
fn headers_of(d: &Value) -> Option<&Value> {
    d.get("headers").filter(|h| !h.is_null())
}

/// Whether two destinations' headers are the same set (key order included).
fn same_headers(a: Option<&Value>, b: Option<&Value>) -> bool {
    let text = |v: &Value| serde_yaml::to_string(v).unwrap();
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => text(a) == text(b),
        _ => false,
    }
}

/// The violations of a document, as `path: message` with route destination indices
/// replaced by `*` (a weight stage inserts a destination, shifting the later ones).
fn violations(doc: &Value) -> Vec<String> {
    let mut out: Vec<String> = istio::virtual_service(&to_json(doc.clone()))
        .into_iter()
        .map(|v| {
            let mut path = String::new();
            let mut rest = v.path.as_str();
            while let Some(i) = rest.find("route[") {
                path.push_str(&rest[..i + 6]);
                rest = &rest[i + 6..];
                let end = rest.find(']').unwrap_or(0);
                path.push('*');
                rest = &rest[end..];
            }
            path.push_str(rest);
            format!("{path}: {}", v.message)
        })
        .collect();
    out.sort();
    out
}

/// `d` without its `weight`.
fn unweighted(d: &Value) -> Value {
    let mut d = d.clone();
    if let Some(m) = d.as_mapping_mut() {
        m.remove("weight");
    }
    d
}

/// The weights `rewrite` reads: an unset weight is 100 for a lone destination, else 0.
fn base_weights(dests: &[Value]) -> Vec<u64> {
    dests
        .iter()
        .map(|d| match d.get("weight") {
            // A lone destination receives all traffic, whatever its weight says.
            _ if dests.len() == 1 => 100,
            None | Some(Value::Null) => 0,
            Some(w) => w.as_u64().expect("an integer weight"),
        })
        .collect()
}

/// The document with every route's destinations and mirrors removed.
fn strip(doc: &Value) -> Value {
    let mut d = doc.clone();
    if let Some(spec) = d.get_mut("spec").and_then(Value::as_mapping_mut) {
        for kind in kinds() {
            let Some(routes) = spec.get_mut(kind).and_then(Value::as_sequence_mut) else {
                continue;
            };
            for r in routes.iter_mut().filter_map(Value::as_mapping_mut) {
                for k in std::iter::once("route").chain(mirror_fields()) {
                    r.remove(k);
                }
            }
        }
    }
    d
}

/// The destinations a weight stage `w` should give a base route, each without its weight
/// and with its exact share as a numerator over `total weight * 100`: the `from`
/// destinations grouped by `headers` (first appearance first), each group's moved share
/// on a `to` destination with its headers: the base's own (not also `from`), or a new one
/// before the group's first `from` destination.
fn expected_split(base: &[Value], from: &str, w: u64, ns: &str) -> Vec<(Value, u64)> {
    let weights = base_weights(base);
    let is_from = |d: &Value| is_host(d, from, ns);
    let mut sets: Vec<(Option<&Value>, u64)> = Vec::new();
    for (d, wt) in base.iter().zip(&weights).filter(|(d, _)| is_from(d)) {
        match sets
            .iter_mut()
            .find(|(h, _)| same_headers(*h, headers_of(d)))
        {
            Some(set) => set.1 += wt * w * 100,
            None => sets.push((headers_of(d), wt * w * 100)),
        }
    }
    let takes: Vec<Option<usize>> = sets
        .iter()
        .map(|(h, _)| {
            base.iter().position(|d| {
                !is_from(d)
                    && is_host(d, TO, ns)
                    && d["destination"].as_mapping().is_some_and(|m| m.len() == 1)
                    && same_headers(headers_of(d), *h)
            })
        })
        .collect();
    let mut placed = vec![false; sets.len()];
    let mut expected: Vec<(Value, u64)> = Vec::new();
    for (j, (d, wt)) in base.iter().zip(&weights).enumerate() {
        if !is_from(d) {
            let moved: u64 = (0..sets.len())
                .filter(|&s| takes[s] == Some(j))
                .map(|s| sets[s].1)
                .sum();
            expected.push((unweighted(d), wt * 100 * 100 + moved));
            continue;
        }
        let s = sets
            .iter()
            .position(|(h, _)| same_headers(*h, headers_of(d)))
            .unwrap();
        if takes[s].is_none() && !placed[s] {
            placed[s] = true;
            let mut m = Mapping::new();
            m.insert("destination".into(), yaml(&format!("{{host: {TO}}}")));
            if let Some(h) = sets[s].0 {
                m.insert("headers".into(), h.clone());
            }
            expected.push((Value::Mapping(m), sets[s].1));
        }
        expected.push((unweighted(d), wt * (100 - w) * 100));
    }
    expected
}

/// Checks one rewritten weight-stage route against its base: the destinations are the
/// base's with the `to` destinations of [`expected_split`], every header set of the
/// `from` destinations reaches a `to` destination, and every weight is the floor or
/// ceiling of its exact share, rounded by the largest-remainder rule, adding up to 100.
fn verify_split(base: &[Value], out: &[Value], from: &str, w: u64, ns: &str, at: &str) {
    let total: u64 = base_weights(base).iter().sum();
    assert!(total > 0, "{at}: the base's weights add up to 0");
    let denom = total * 100;
    let expected = expected_split(base, from, w, ns);
    assert_eq!(
        expected.iter().map(|(_, n)| n).sum::<u64>(),
        100 * denom,
        "{at}: test bug"
    );
    assert_eq!(
        out.iter().map(unweighted).collect::<Vec<_>>(),
        expected.iter().map(|(d, _)| d.clone()).collect::<Vec<_>>(),
        "{at}: destinations"
    );
    for d in base.iter().filter(|d| is_host(d, from, ns)) {
        assert!(
            out.iter().any(|o| is_host(o, TO, ns)
                && !is_host(o, from, ns)
                && same_headers(headers_of(o), headers_of(d))),
            "{at}: the headers {:?} of a `from` destination reach no `to` destination",
            headers_of(d)
        );
    }
    let got: Vec<u64> = out
        .iter()
        .map(|d| {
            d.get("weight")
                .and_then(Value::as_u64)
                .unwrap_or_else(|| panic!("{at}: {d:?} has no integer weight"))
        })
        .collect();
    assert_eq!(got.iter().sum::<u64>(), 100, "{at}: weights {got:?}");
    let mut up = Vec::new();
    for (i, ((_, numer), &g)) in expected.iter().zip(&got).enumerate() {
        let floor = numer / denom;
        let ceil = floor + u64::from(numer % denom != 0);
        assert!(
            (floor..=ceil).contains(&g),
            "{at}: destination {i} has weight {g}, its exact share is {numer}/{denom} ({:.4}); weights {got:?}",
            *numer as f64 / denom as f64
        );
        up.push(g > floor);
    }
    // Largest remainder first, earlier destinations first on ties.
    for i in 0..expected.len() {
        for j in 0..expected.len() {
            let (ri, rj) = (expected[i].1 % denom, expected[j].1 % denom);
            if up[i] && !up[j] && rj > 0 {
                assert!(
                    ri > rj || (ri == rj && i < j),
                    "{at}: destination {i} (remainder {ri}) was rounded up before {j} (remainder {rj}); weights {got:?}"
                );
            }
        }
    }
}

/// Checks a rewritten stage against its base (see the README).
fn verify(base: &Value, out: &Value, from: &str, stage: &Stage, istio: (u32, u32)) {
    let ns = ns_of(base);
    assert_eq!(
        strip(base),
        strip(out),
        "fields outside destinations and mirrors changed"
    );
    for kind in kinds() {
        let b = base["spec"][kind]
            .as_sequence()
            .cloned()
            .unwrap_or_default();
        let o = out["spec"][kind].as_sequence().cloned().unwrap_or_default();
        assert_eq!(b.len(), o.len());
        for (i, (br, or)) in b.iter().zip(&o).enumerate() {
            let at = format!("spec.{kind}[{i}]");
            if !sends_to(br, from, ns) {
                assert_eq!(br, or, "{at} does not send to `from` but changed");
                continue;
            }
            match stage.kind {
                StageKind::Weight(w) => {
                    for k in mirror_fields() {
                        assert_eq!(br.get(k), or.get(k), "{at}.{k}");
                    }
                    verify_split(
                        br["route"].as_sequence().unwrap(),
                        or["route"].as_sequence().unwrap(),
                        from,
                        u64::from(w),
                        ns,
                        &at,
                    );
                }
                StageKind::Mirror(_) if kind != "http" => {
                    assert_eq!(br, or, "{at}: {kind} routes are not touched by mirrors");
                }
                StageKind::Mirror(p) => verify_mirror(br, or, p, istio, &at),
            }
        }
    }
}

fn verify_mirror(br: &Value, or: &Value, p: f64, istio: (u32, u32), at: &str) {
    assert_eq!(br["route"], or["route"], "{at}: destinations changed");
    let keys = |v: &Value| -> Vec<String> {
        v.as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect()
    };
    let pct = |v: &Value| v["value"].as_f64();
    if br.get("mirror").is_none() && br.get("mirrors").is_none() {
        assert_eq!(or["mirror"], yaml(&format!("{{host: {TO}}}")), "{at}");
        assert_eq!(pct(&or["mirrorPercentage"]), Some(p), "{at}");
        let mut want = keys(br);
        want.retain(|k| k != "mirrorPercentage");
        want.extend(["mirror".to_owned(), "mirrorPercentage".to_owned()]);
        assert_eq!(keys(or), want, "{at}: mirror goes after the other fields");
        return;
    }
    assert!(istio >= (1, 19), "{at}: a second mirror before 1.19");
    assert!(or.get("mirror").is_none(), "{at}: both mirror and mirrors");
    assert!(or.get("mirrorPercentage").is_none(), "{at}");
    let mirrors = or["mirrors"].as_sequence().expect("mirrors");
    let mut old = br
        .get("mirrors")
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_default();
    if let Some(m) = br.get("mirror") {
        let mut e = Mapping::new();
        e.insert("destination".into(), m.clone());
        let old_pct = br
            .get("mirrorPercentage")
            .and_then(|p| p.get("value"))
            .or_else(|| br.get("mirrorPercent"));
        if let Some(v) = old_pct {
            let mut pm = Mapping::new();
            pm.insert("value".into(), v.clone());
            e.insert("percentage".into(), Value::Mapping(pm));
        }
        old.insert(0, Value::Mapping(e));
    }
    assert_eq!(&mirrors[..mirrors.len() - 1], &old[..], "{at}: old mirrors");
    let new = mirrors.last().unwrap();
    assert_eq!(new["destination"], yaml(&format!("{{host: {TO}}}")), "{at}");
    assert_eq!(pct(&new["percentage"]), Some(p), "{at}");
}

// ---------------------------------------------------------------------------------------
// The corpus.

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/istio-samples")
}

/// (file relative to the corpus, 1-based document number, VirtualService) for every
/// VirtualService of the corpus, in file order.
fn corpus_virtual_services() -> Vec<(String, usize, VirtualService)> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(corpus())
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().to_path_buf())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let rel = path
            .strip_prefix(corpus())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = fs::read_to_string(&path).unwrap();
        for (i, doc) in serde_yaml::Deserializer::from_str(&text).enumerate() {
            let doc = Value::deserialize(doc).unwrap_or_else(|e| panic!("{rel}: {e}"));
            if doc.get("kind").and_then(Value::as_str) == Some("VirtualService") {
                out.push((rel.clone(), i + 1, doc.into()));
            }
        }
    }
    out
}

/// The distinct route destination hosts of a VirtualService, in document order, each
/// short one (`reviews`) followed by the name Istio reads it as
/// (`reviews.<namespace>.svc.cluster.local`), as a plan's `from` may write either.
fn destination_hosts(doc: &Value) -> Vec<String> {
    let mut hosts: Vec<String> = Vec::new();
    for kind in kinds() {
        for r in doc["spec"][kind].as_sequence().into_iter().flatten() {
            for d in r["route"].as_sequence().into_iter().flatten() {
                let Some(h) = host_of(d) else { continue };
                for h in [h.to_owned(), fqdn(h, ns_of(doc))] {
                    if !hosts.contains(&h) {
                        hosts.push(h);
                    }
                }
            }
        }
    }
    hosts
}

/// Whether an HTTP route of `doc` sends to `host`.
fn http_sends_to(doc: &Value, host: &str) -> bool {
    doc["spec"]["http"]
        .as_sequence()
        .into_iter()
        .flatten()
        .any(|r| sends_to(r, host, ns_of(doc)))
}

/// The invariants of a 100% stage: no destination that is `from`, however it is written
/// (`reviews` or `reviews.<namespace>.svc.cluster.local`), keeps a share, and every header
/// set of the base's `from` destinations reaches a `to` destination.
fn verify_all_moved(base: &Value, out: &Value, from: &str, at: &str) {
    let ns = ns_of(base);
    for kind in kinds() {
        let routes = base["spec"][kind].as_sequence().into_iter().flatten();
        for (i, br) in routes.enumerate() {
            if !sends_to(br, from, ns) {
                continue;
            }
            let or = &out["spec"][kind][i];
            let dests = or["route"].as_sequence().unwrap();
            for d in dests.iter().filter(|d| is_host(d, from, ns)) {
                assert_eq!(
                    d["weight"].as_u64(),
                    Some(0),
                    "{at}: spec.{kind}[{i}]: `from` destination {d:?} keeps a share at 100%"
                );
            }
            for d in br["route"].as_sequence().unwrap() {
                if !is_host(d, from, ns) {
                    continue;
                }
                assert!(
                    dests.iter().any(|o| is_host(o, TO, ns)
                        && !is_host(o, from, ns)
                        && same_headers(headers_of(o), headers_of(d))),
                    "{at}: spec.{kind}[{i}]: the headers {:?} of `from` are lost at 100%",
                    headers_of(d)
                );
            }
        }
    }
}

fn corpus_stages() -> Vec<Stage> {
    let mut s = vec![mirror(10.0)];
    s.extend([0, 1, 10, 33, 50, 99, 100].map(weight));
    s
}

#[test]
fn every_corpus_destination_can_be_migrated() {
    let stages = corpus_stages();
    let (mut documents, mut hosts, mut rewrites, mut invalid_before) = (0, 0, 0, 0);
    let mut refused_mirrors = 0;
    for (file, n, base) in corpus_virtual_services() {
        let targets = destination_hosts(&base);
        if targets.is_empty() {
            continue;
        }
        documents += 1;
        let before = violations(&base);
        invalid_before += usize::from(!before.is_empty());
        for from in &targets {
            hosts += 1;
            for stage in &stages {
                let at = format!("{file} (document {n}), from {from}, {}", stage.name);
                let result = rewrite::stage(&base, from, TO, NS, stage, ISTIO);
                if matches!(stage.kind, StageKind::Mirror(_)) && !http_sends_to(&base, from) {
                    // Only TCP/TLS routes send there, which Istio does not mirror.
                    let err = result.expect_err(&at);
                    assert!(err.contains("Istio mirrors HTTP only"), "{at}: {err}");
                    refused_mirrors += 1;
                    continue;
                }
                let out = result.unwrap_or_else(|e| panic!("{at}: {e}"));
                rewrite::check(&base, &out, from, TO, NS).unwrap_or_else(|e| panic!("{at}: {e}"));
                verify(&base, &out, from, stage, ISTIO);
                if matches!(stage.kind, StageKind::Weight(100)) {
                    verify_all_moved(&base, &out, from, &at);
                }
                let after = violations(&out);
                let new: Vec<_> = after.iter().filter(|v| !before.contains(v)).collect();
                assert!(new.is_empty(), "{at}: new violations {new:?}");
                assert!(after.len() <= before.len(), "{at}: {before:?} -> {after:?}");
                // Deterministic.
                assert_eq!(
                    rewrite::stage(&base, from, TO, NS, stage, ISTIO).unwrap(),
                    out,
                    "{at}"
                );
                rewrites += 1;
            }
        }
    }
    println!(
        "corpus: {documents} VirtualServices with destinations ({invalid_before} invalid before rewriting), {hosts} `from` hosts, {rewrites} rewrites, {refused_mirrors} mirror stages refused (TCP/TLS only)"
    );
    // 56 VirtualServices in the corpus, one without route destinations; 2 invalid ones
    // (`websocketUpgrade`, see tests/corpus.rs); 60 destination hosts, 37 of them short
    // (`reviews`), each also tried as Istio reads it (`reviews.default.svc.cluster.local`);
    // 10 `from` hosts (8 as written, 2 short ones' full names) only TCP or TLS routes
    // send to.
    assert_eq!(
        (documents, invalid_before, hosts, rewrites, refused_mirrors),
        (55, 2, 97, 766, 10),
        "the corpus changed"
    );
}

#[test]
fn corpus_routes_that_already_mirror_need_istio_1_19() {
    let mut refused = 0;
    for (file, n, base) in corpus_virtual_services() {
        for r in base["spec"]["http"].as_sequence().into_iter().flatten() {
            if r.get("mirror").is_none() && r.get("mirrors").is_none() {
                continue;
            }
            for d in r["route"].as_sequence().into_iter().flatten() {
                let from = host_of(d).unwrap();
                let at = format!("{file} (document {n}), from {from}");
                let err = rewrite::stage(&base, from, TO, NS, &mirror(10.0), (1, 18)).unwrap_err();
                assert!(err.contains("already mirrors"), "{at}: {err}");
                refused += 1;
                // Weight stages do not mirror, so 1.18 is fine for them.
                let out = rewrite::stage(&base, from, TO, NS, &weight(10), (1, 18)).unwrap();
                rewrite::check(&base, &out, from, TO, NS).unwrap_or_else(|e| panic!("{at}: {e}"));
                // From 1.19 the mirror moves into `mirrors`.
                let out = rewrite::stage(&base, from, TO, NS, &mirror(10.0), (1, 19)).unwrap();
                verify(&base, &out, from, &mirror(10.0), (1, 19));
                assert_eq!(violations(&out), Vec::<String>::new(), "{at}");
            }
        }
    }
    println!("corpus: {refused} mirroring routes refused a second mirror at Istio 1.18");
    assert!(refused >= 2, "{refused}");
}

// ---------------------------------------------------------------------------------------
// Properties of random base VirtualServices.

/// `from` of the generated bases (in namespace `shop`), which also send to it as
/// `legacy` (Istio's reading of a short host: the same service), and to `legacy.shop`
/// (taken as written: another host).
const FROM: &str = "legacy.shop.svc.cluster.local";

#[derive(Clone, Copy, Debug)]
enum Dest {
    From,
    Other1,
    Other2,
    FromSubset,
    FromShort,
    NotExpanded,
    To,
}

#[derive(Clone, Debug)]
struct GenRoute {
    name: bool,
    matches: bool,
    timeout: bool,
    retries: bool,
    headers: bool,
    dests: Vec<(Dest, Option<u32>)>,
    /// 0: none, 1: `mirror`, 2: `mirror` + `mirrorPercentage`, 3: `mirrors`.
    mirror: u8,
}

fn gen_route() -> impl Strategy<Value = GenRoute> {
    let dest = prop::sample::select(vec![
        Dest::From,
        Dest::Other1,
        Dest::Other2,
        Dest::FromSubset,
        Dest::FromShort,
        Dest::NotExpanded,
        Dest::To,
    ]);
    (
        any::<(bool, bool, bool, bool, bool)>(),
        prop::collection::vec((dest, 0u32..=100), 1..=4),
        any::<bool>(),
        prop_oneof![4 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8)],
    )
        .prop_map(
            |((name, matches, timeout, retries, headers), d, omit, mirror)| {
                let mut dests: Vec<(Dest, Option<u32>)> =
                    d.into_iter().map(|(d, w)| (d, Some(w))).collect();
                if dests.len() == 1 {
                    // A lone destination: its weight is often left out; 0 is avoided (see
                    // `a_lone_destination_with_weight_0`).
                    dests[0].1 = if omit {
                        None
                    } else {
                        Some(dests[0].1.unwrap().max(1))
                    };
                } else if dests.iter().all(|(_, w)| *w == Some(0)) {
                    dests[0].1 = Some(1);
                }
                GenRoute {
                    name,
                    matches,
                    timeout,
                    retries,
                    headers,
                    dests,
                    mirror,
                }
            },
        )
}

fn dest_json(d: Dest, w: Option<u32>, headers: bool, port: u32) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    let destination = match d {
        Dest::From => json!({"host": FROM}),
        Dest::FromSubset => json!({"host": FROM, "subset": "v2", "port": {"number": port}}),
        Dest::Other1 => json!({"host": "other1.example.com"}),
        Dest::Other2 => json!({"host": "other2.shop.svc.cluster.local", "subset": "stable"}),
        Dest::FromShort => json!({"host": "legacy", "subset": "v3"}),
        Dest::NotExpanded => json!({"host": "legacy.shop"}),
        Dest::To => json!({"host": TO}),
    };
    m.insert("destination".into(), destination);
    // Header sets: one per kind of `from` destination; `to` has the first one's.
    let set = match d {
        Dest::From | Dest::To => Some("From"),
        Dest::FromSubset => Some("FromSubset"),
        Dest::FromShort => Some("FromShort"),
        _ => None,
    };
    if let Some(set) = set.filter(|_| headers) {
        m.insert(
            "headers".into(),
            json!({"request": {"set": {"x-route": set}}}),
        );
    }
    if let Some(w) = w {
        m.insert("weight".into(), json!(w));
    }
    serde_json::Value::Object(m)
}

#[derive(Clone, Debug)]
struct GenVs {
    hosts: Vec<&'static str>,
    gateways: Vec<&'static str>,
    http: Vec<GenRoute>,
    redirect: bool,
    tcp: Vec<Vec<(Dest, Option<u32>)>>,
}

fn gen_vs() -> impl Strategy<Value = GenVs> {
    let tcp_dests = prop::collection::vec(
        (
            prop::sample::select(vec![Dest::From, Dest::Other1, Dest::FromShort]),
            1u32..=100,
        ),
        1..=3,
    )
    .prop_map(|d| d.into_iter().map(|(d, w)| (d, Some(w))).collect::<Vec<_>>());
    (
        prop::sample::subsequence(
            vec![
                "reviews.example.com",
                "reviews",
                "*.shop.example.org",
                "api.shop.svc.cluster.local",
            ],
            1..=4,
        ),
        prop::sample::subsequence(
            vec!["mesh", "istio-system/public-gateway", "shop-gateway"],
            0..=2,
        ),
        prop::collection::vec(gen_route(), 1..=4),
        any::<bool>(),
        prop::collection::vec(tcp_dests, 0..=2),
        any::<bool>(),
    )
        .prop_map(|(hosts, gateways, mut http, redirect, mut tcp, hundred)| {
            if hundred {
                // Half the bases have weights adding up to 100 everywhere (so that
                // `rewrite::check` runs on mirror stages too).
                for dests in http.iter_mut().map(|r| &mut r.dests).chain(tcp.iter_mut()) {
                    to_100(dests);
                }
            }
            GenVs {
                hosts,
                gateways,
                http,
                redirect,
                tcp,
            }
        })
}

/// Makes the weights add up to 100: each one capped at what is left, the last one the rest.
fn to_100(dests: &mut [(Dest, Option<u32>)]) {
    if let [(_, w)] = dests {
        *w = w.map(|_| 100);
        return;
    }
    let mut rest = 100;
    let last = dests.len() - 1;
    for (_, w) in &mut dests[..last] {
        let x = w.unwrap_or(0).min(rest);
        *w = Some(x);
        rest -= x;
    }
    dests[last].1 = Some(rest);
}

fn build(vs: &GenVs) -> VirtualService {
    let mut spec = serde_json::Map::new();
    spec.insert("hosts".into(), json!(vs.hosts));
    if !vs.gateways.is_empty() {
        spec.insert("gateways".into(), json!(vs.gateways));
    }
    let mut http = Vec::new();
    for (i, r) in vs.http.iter().enumerate() {
        let mut m = serde_json::Map::new();
        if r.name {
            m.insert("name".into(), json!(format!("route-{i}")));
        }
        if r.matches {
            m.insert(
                "match".into(),
                json!([{"uri": {"prefix": format!("/v{i}")}}]),
            );
        }
        let dests: Vec<_> = r
            .dests
            .iter()
            .map(|&(d, w)| dest_json(d, w, r.headers, 8080))
            .collect();
        m.insert("route".into(), json!(dests));
        if r.timeout {
            m.insert("timeout".into(), json!("5s"));
        }
        if r.retries {
            m.insert(
                "retries".into(),
                json!({"attempts": 3, "perTryTimeout": "2s"}),
            );
        }
        match r.mirror {
            1 => {
                m.insert("mirror".into(), json!({"host": "shadow.example.com"}));
            }
            2 => {
                m.insert(
                    "mirror".into(),
                    json!({"host": "shadow.example.com", "subset": "v1"}),
                );
                m.insert("mirrorPercentage".into(), json!({"value": 12.5}));
            }
            3 => {
                m.insert(
                    "mirrors".into(),
                    json!([{"destination": {"host": "shadow.example.com"}, "percentage": {"value": 5}}]),
                );
            }
            _ => {}
        }
        http.push(serde_json::Value::Object(m));
    }
    if vs.redirect {
        http.insert(
            http.len() / 2,
            json!({"match": [{"uri": {"prefix": "/old"}}], "redirect": {"uri": "/new"}}),
        );
    }
    spec.insert("http".into(), json!(http));
    if !vs.tcp.is_empty() {
        let tcp: Vec<_> = vs
            .tcp
            .iter()
            .enumerate()
            .map(|(i, ds)| {
                let port = 5432 + i as u32;
                let dests: Vec<_> = ds
                    .iter()
                    .map(|&(d, w)| dest_json(d, w, false, port))
                    .collect();
                json!({"match": [{"port": port}], "route": dests})
            })
            .collect();
        spec.insert("tcp".into(), json!(tcp));
    }
    let doc = json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "reviews", "namespace": "shop", "labels": {"app": "reviews"}},
        "spec": spec,
    });
    serde_yaml::to_value(&doc).unwrap().into()
}

fn gen_stage() -> impl Strategy<Value = Stage> {
    prop_oneof![
        3 => (0u8..=100).prop_map(weight),
        1 => (1_000u32..=1_000_000).prop_map(|p| mirror(f64::from(p) / 10_000.0)),
    ]
}

fn any_route_sends_to_from(base: &Value) -> bool {
    kinds().any(|k| {
        base["spec"][k]
            .as_sequence()
            .into_iter()
            .flatten()
            .any(|r| sends_to(r, FROM, ns_of(base)))
    })
}

fn any_http_route_sends_to_from(base: &Value) -> bool {
    base["spec"]["http"]
        .as_sequence()
        .into_iter()
        .flatten()
        .any(|r| sends_to(r, FROM, ns_of(base)))
}

fn any_mirroring_route_sends_to_from(base: &Value) -> bool {
    base["spec"]["http"]
        .as_sequence()
        .into_iter()
        .flatten()
        .any(|r| {
            sends_to(r, FROM, ns_of(base))
                && (r.get("mirror").is_some() || r.get("mirrors").is_some())
        })
}

/// Whether every route that sends to `from` has integer weights adding up to 100 (see
/// `a_mirror_stage_of_weights_not_adding_up_to_100`).
fn from_routes_add_up_to_100(base: &Value) -> bool {
    kinds().all(|k| {
        base["spec"][k]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter(|r| sends_to(r, FROM, ns_of(base)))
            .all(|r| {
                let ds = r["route"].as_sequence().unwrap();
                ds.len() == 1
                    || ds
                        .iter()
                        .map(|d| d.get("weight").and_then(Value::as_u64))
                        .sum::<Option<u64>>()
                        == Some(100)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bases_rewrite_exactly(
        vs in gen_vs(),
        stage in gen_stage(),
        old_istio in any::<bool>(),
    ) {
        let base = build(&vs);
        let istio = if old_istio { (1, 18) } else { ISTIO };
        let before = violations(&base);
        prop_assert_eq!(&before, &Vec::<String>::new(), "the generator made an invalid base");
        let result = rewrite::stage(&base, FROM, TO, NS, &stage, istio);
        if !any_route_sends_to_from(&base) {
            let err = result.unwrap_err();
            prop_assert!(err.contains("no route sends traffic"), "{}", err);
            return Ok(());
        }
        if matches!(stage.kind, StageKind::Mirror(_)) && !any_http_route_sends_to_from(&base) {
            // Istio mirrors HTTP only: the stage would be the base itself.
            let err = result.unwrap_err();
            prop_assert!(err.contains("Istio mirrors HTTP only"), "{}", err);
            return Ok(());
        }
        if matches!(stage.kind, StageKind::Mirror(_))
            && istio < (1, 19)
            && any_mirroring_route_sends_to_from(&base)
        {
            let err = result.unwrap_err();
            prop_assert!(err.contains("already mirrors"), "{}", err);
            return Ok(());
        }
        let out = result.map_err(TestCaseError::fail)?;
        verify(&base, &out, FROM, &stage, istio);
        if matches!(stage.kind, StageKind::Weight(_)) || from_routes_add_up_to_100(&base) {
            rewrite::check(&base, &out, FROM, TO, NS).map_err(TestCaseError::fail)?;
        }
        prop_assert_eq!(violations(&out), Vec::<String>::new());
        // Deterministic, down to the bytes.
        let again = rewrite::stage(&base, FROM, TO, NS, &stage, istio).unwrap();
        prop_assert_eq!(serde_yaml::to_string(&again).unwrap(), serde_yaml::to_string(&out).unwrap());
        prop_assert_eq!(again, out);
    }
}

// ---------------------------------------------------------------------------------------
// Edge cases.

/// A VirtualService with one HTTP route whose destinations are `route` (YAML flow).
fn one_route(route: &str) -> VirtualService {
    VirtualService::from(yaml(&format!(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: reviews, namespace: shop}}
spec:
  hosts: [reviews.example.com]
  http:
  - route: {route}
"
    )))
}

/// (host, subset, weight) of every destination of the first HTTP route.
fn weights_of(doc: &Value) -> Vec<(String, Option<String>, u64)> {
    doc["spec"]["http"][0]["route"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|d| {
            (
                host_of(d).unwrap().to_owned(),
                d["destination"]
                    .get("subset")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                d["weight"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn rewritten(base: &VirtualService, stage: &Stage) -> Result<VirtualService, String> {
    let out = rewrite::stage(base, "se.example.com", TO, NS, stage, ISTIO)?;
    rewrite::check(base, &out, "se.example.com", TO, NS)?;
    verify(base, &out, "se.example.com", stage, ISTIO);
    assert_eq!(violations(&out), violations(base), "new violations");
    Ok(out)
}

/// `from` and another host of the weight edge cases.
const SE_HOST: &str = "se.example.com";
const OTHER_HOST: &str = "other.example.com";

/// A weight edge case's expected destinations (host, subset, weight), or error.
type Expected = Result<&'static [(&'static str, Option<&'static str>, u64)], &'static str>;

/// Weight edge cases: what, the route's destinations, the stage's weight, the result.
const WEIGHT_CASES: &[(&str, &str, u8, Expected)] = &[
    (
        "weights adding up to 1050",
        "[{destination: {host: se.example.com}, weight: 550}, {destination: {host: other.example.com}, weight: 500}]",
        10,
        // Exact: 5.238, 47.143, 47.619; the point left goes to the largest remainder.
        Ok(&[(TO, None, 5), (SE_HOST, None, 47), (OTHER_HOST, None, 48)]),
    ),
    (
        "weights adding up to 99",
        "[{destination: {host: se.example.com}, weight: 49}, {destination: {host: other.example.com}, weight: 50}]",
        50,
        // Exact: 24.747, 24.747, 50.505; a tie goes to the earlier destination.
        Ok(&[(TO, None, 25), (SE_HOST, None, 25), (OTHER_HOST, None, 50)]),
    ),
    (
        "a three-way tie",
        "[{destination: {host: se.example.com}, weight: 1}, {destination: {host: other.example.com}, weight: 1}, {destination: {host: third.example.com}, weight: 1}]",
        0,
        Ok(&[(TO, None, 0), (SE_HOST, None, 34), (OTHER_HOST, None, 33), ("third.example.com", None, 33)]),
    ),
    (
        "the route already splits to `to` (after `from`)",
        "[{destination: {host: se.example.com}, weight: 70}, {destination: {host: gcp-backend.example.com}, weight: 30}]",
        50,
        Ok(&[(SE_HOST, None, 35), (TO, None, 65)]),
    ),
    (
        "the route already splits to a subset of `to`, which keeps its own share",
        "[{destination: {host: se.example.com}, weight: 70}, {destination: {host: gcp-backend.example.com, subset: gcp}, weight: 30}]",
        50,
        Ok(&[(TO, None, 35), (SE_HOST, None, 35), (TO, Some("gcp"), 30)]),
    ),
    (
        "the route already splits to `to` (before `from`)",
        "[{destination: {host: gcp-backend.example.com}, weight: 30}, {destination: {host: se.example.com}, weight: 70}]",
        10,
        Ok(&[(TO, None, 37), (SE_HOST, None, 63)]),
    ),
    (
        "the route already sends everything to `to`",
        "[{destination: {host: gcp-backend.example.com}, weight: 100}, {destination: {host: se.example.com}, weight: 0}]",
        50,
        Ok(&[(TO, None, 100), (SE_HOST, None, 0)]),
    ),
    (
        "total weight 0",
        "[{destination: {host: se.example.com}, weight: 0}, {destination: {host: other.example.com}, weight: 0}]",
        10,
        Err("add up to 0"),
    ),
    (
        "total weight 0, weights unset",
        "[{destination: {host: se.example.com}}, {destination: {host: other.example.com}}]",
        10,
        Err("add up to 0"),
    ),
    (
        "several `from` destinations with different subsets",
        "[{destination: {host: se.example.com, subset: v1}, weight: 50, headers: {request: {set: {x-v: '1'}}}}, {destination: {host: other.example.com}, weight: 20}, {destination: {host: se.example.com, subset: v2, port: {number: 8080}}, weight: 30}]",
        10,
        // Two header sets (`x-v: '1'` and none): a `to` destination for each.
        Ok(&[(TO, None, 5), (SE_HOST, Some("v1"), 45), (OTHER_HOST, None, 20), (TO, None, 3), (SE_HOST, Some("v2"), 27)]),
    ),
    (
        "several `from` destinations, rounding",
        "[{destination: {host: se.example.com, subset: v1}, weight: 33}, {destination: {host: se.example.com, subset: v2}, weight: 33}, {destination: {host: other.example.com}, weight: 34}]",
        33,
        // Exact: 21.78, 22.11, 22.11, 34.
        Ok(&[(TO, None, 22), (SE_HOST, Some("v1"), 22), (SE_HOST, Some("v2"), 22), (OTHER_HOST, None, 34)]),
    ),
    (
        "a `from` destination with weight 0 and others",
        "[{destination: {host: se.example.com}, weight: 0}, {destination: {host: other.example.com}, weight: 100}]",
        50,
        Ok(&[(TO, None, 0), (SE_HOST, None, 0), (OTHER_HOST, None, 100)]),
    ),
    (
        "an unset weight next to set ones counts as 0",
        "[{destination: {host: se.example.com}, weight: 60}, {destination: {host: other.example.com}}]",
        50,
        Ok(&[(TO, None, 50), (SE_HOST, None, 50), (OTHER_HOST, None, 0)]),
    ),
    (
        "a lone destination without a weight",
        "[{destination: {host: se.example.com}}]",
        33,
        Ok(&[(TO, None, 33), (SE_HOST, None, 67)]),
    ),
    (
        "a lone destination with a weight that is not 100",
        "[{destination: {host: se.example.com}, weight: 7}]",
        1,
        Ok(&[(TO, None, 1), (SE_HOST, None, 99)]),
    ),
    (
        "a weight that is a string",
        "[{destination: {host: se.example.com}, weight: '10'}, {destination: {host: other.example.com}, weight: 90}]",
        10,
        Err("not a non-negative integer"),
    ),
    (
        "a negative weight",
        "[{destination: {host: se.example.com}, weight: -10}, {destination: {host: other.example.com}, weight: 90}]",
        10,
        Err("not a non-negative integer"),
    ),
];

#[test]
fn weight_edge_cases() {
    for (what, route, w, expected) in WEIGHT_CASES {
        let base = one_route(route);
        let got = rewritten(&base, &weight(*w));
        match (expected, got) {
            (Ok(want), Ok(out)) => {
                let want: Vec<_> = want
                    .iter()
                    .map(|(h, s, w)| (h.to_string(), s.map(str::to_owned), *w))
                    .collect();
                assert_eq!(weights_of(&out), want, "{what}");
            }
            (Err(want), Err(e)) => {
                assert!(e.contains(want), "{what}: {e}");
                assert!(e.starts_with("spec.http[0]: "), "{what}: {e}");
            }
            (want, got) => panic!("{what}: expected {want:?}, got {got:?}"),
        }
    }
}

/// Each header set of the `from` destinations reaches `to` on a `to` destination of its
/// own, placed before the set's first `from` destination (it once reached `to` with the
/// first `from` destination's headers only: the traffic of subset v2 lost `x-sub: b`).
#[test]
fn every_header_set_of_from_reaches_to() {
    let base = one_route(
        "[{destination: {host: other.example.com}, weight: 10}, {destination: {host: se.example.com, subset: v1, port: {number: 443}}, weight: 45, headers: {request: {set: {x-sub: a}}}}, {destination: {host: se.example.com, subset: v2}, weight: 45, headers: {request: {set: {x-sub: b}}}}]",
    );
    let out = rewritten(&base, &weight(50)).unwrap();
    // Exact: 10 / 22.5 / 22.5 / 22.5 / 22.5; the two points left go to the earliest ties.
    assert_eq!(
        out["spec"]["http"][0]["route"],
        yaml(
            "[{destination: {host: other.example.com}, weight: 10},
              {destination: {host: gcp-backend.example.com}, headers: {request: {set: {x-sub: a}}}, weight: 23},
              {destination: {host: se.example.com, subset: v1, port: {number: 443}}, weight: 23, headers: {request: {set: {x-sub: a}}}},
              {destination: {host: gcp-backend.example.com}, headers: {request: {set: {x-sub: b}}}, weight: 22},
              {destination: {host: se.example.com, subset: v2}, weight: 22, headers: {request: {set: {x-sub: b}}}}]"
        )
    );
    let out = rewritten(&base, &weight(100)).unwrap();
    let to: Vec<_> = out["spec"]["http"][0]["route"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|d| host_of(d) == Some(TO))
        .map(|d| {
            (
                d["headers"]["request"]["set"]["x-sub"].as_str().unwrap(),
                d["weight"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(to, [("a", 45), ("b", 45)]);
}

/// Header sets are compared as values: the same headers (and no headers) are one set, and
/// an existing `to` destination takes the share of the set whose headers it has, only.
#[test]
fn header_sets_and_existing_to_destinations() {
    // (what, the route, its destinations at 50%: host, `x-a` header, weight)
    type Want = &'static [(&'static str, Option<&'static str>, u64)];
    let cases: [(&str, &str, Want); 4] = [
        (
            "the same headers twice, and none",
            "[{destination: {host: se.example.com, subset: v1}, weight: 40, headers: {request: {set: {x-a: b}}}}, {destination: {host: se.example.com}, weight: 20}, {destination: {host: se.example.com, subset: v2}, weight: 40, headers: {request: {set: {x-a: b}}}}]",
            &[(TO, Some("b"), 40), (SE_HOST, Some("b"), 20), (TO, None, 10), (SE_HOST, None, 10), (SE_HOST, Some("b"), 20)],
        ),
        (
            "an existing `to` without headers takes the share of the set without headers",
            "[{destination: {host: se.example.com}, weight: 50}, {destination: {host: gcp-backend.example.com}, weight: 10}, {destination: {host: se.example.com, subset: v2}, weight: 40, headers: {request: {set: {x-a: b}}}}]",
            &[(SE_HOST, None, 25), (TO, None, 35), (TO, Some("b"), 20), (SE_HOST, Some("b"), 20)],
        ),
        (
            "an existing `to` with other headers takes no share",
            "[{destination: {host: gcp-backend.example.com}, weight: 10, headers: {request: {set: {x-a: c}}}}, {destination: {host: se.example.com}, weight: 90}]",
            &[(TO, Some("c"), 10), (TO, None, 45), (SE_HOST, None, 45)],
        ),
        (
            "an existing `to` with the set's headers takes it",
            "[{destination: {host: gcp-backend.example.com}, weight: 10, headers: {request: {set: {x-a: b}}}}, {destination: {host: se.example.com}, weight: 90, headers: {request: {set: {x-a: b}}}}]",
            &[(TO, Some("b"), 55), (SE_HOST, Some("b"), 45)],
        ),
    ];
    for (what, route, want) in cases {
        let base = one_route(route);
        let out = rewritten(&base, &weight(50)).unwrap_or_else(|e| panic!("{what}: {e}"));
        let got: Vec<(String, Option<String>, u64)> = out["spec"]["http"][0]["route"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    host_of(d).unwrap().to_owned(),
                    d["headers"]["request"]["set"]["x-a"]
                        .as_str()
                        .map(str::to_owned),
                    d["weight"].as_u64().unwrap(),
                )
            })
            .collect();
        let want: Vec<_> = want
            .iter()
            .map(|(h, x, w)| (h.to_string(), x.map(str::to_owned), *w))
            .collect();
        assert_eq!(got, want, "{what}");
    }
}

/// Istio reads a destination host without a dot in the VirtualService's namespace
/// (`reviews` in `shop` is `reviews.shop.svc.cluster.local`), so such a destination is
/// `from` (or `to`) when the plan writes the full name, and the other way round; a host
/// with a dot (`reviews.shop`) is taken as written and is not.
#[test]
fn short_hosts_are_read_in_the_namespace() {
    let fq = "reviews.shop.svc.cluster.local";
    let base = one_route(
        "[{destination: {host: reviews, subset: v1}, weight: 60}, {destination: {host: reviews.shop.svc.cluster.local, subset: v2}, weight: 30}, {destination: {host: reviews.shop}, weight: 10}]",
    );
    for from in [fq, "reviews"] {
        let out = rewrite::stage(&base, from, TO, NS, &weight(100), ISTIO).unwrap();
        rewrite::check(&base, &out, from, TO, NS).unwrap();
        verify(&base, &out, from, &weight(100), ISTIO);
        assert_eq!(
            weights_of(&out),
            [
                (TO.to_owned(), None, 90),
                ("reviews".to_owned(), Some("v1".to_owned()), 0),
                (fq.to_owned(), Some("v2".to_owned()), 0),
                ("reviews.shop".to_owned(), None, 10)
            ],
            "from {from}"
        );
    }
    // In another namespace `reviews` is another service.
    let other = VirtualService::from(yaml(
        &serde_yaml::to_string(&*base)
            .unwrap()
            .replace("namespace: shop", "namespace: books"),
    ));
    let to_share = |out: &Value| -> u64 {
        weights_of(out)
            .iter()
            .filter(|(h, ..)| h == TO)
            .map(|(.., w)| w)
            .sum()
    };
    let out = rewrite::stage(&other, fq, TO, NS, &weight(100), ISTIO).unwrap();
    assert_eq!(to_share(&out), 30, "{out:?}");
    // Without `metadata.namespace`, short hosts are read in the namespace given.
    let mut bare = base.clone();
    bare["metadata"]
        .as_mapping_mut()
        .unwrap()
        .remove("namespace");
    let out = rewrite::stage(&bare, fq, TO, "shop", &weight(100), ISTIO).unwrap();
    assert_eq!(to_share(&out), 90);
    let out = rewrite::stage(&bare, fq, TO, "books", &weight(100), ISTIO).unwrap();
    assert_eq!(to_share(&out), 30);
    // `to` too: an existing short `to` destination takes the share.
    let base = one_route(
        "[{destination: {host: gcp}, weight: 10}, {destination: {host: se.example.com}, weight: 90}]",
    );
    let out = rewrite::stage(
        &base,
        "se.example.com",
        "gcp.shop.svc.cluster.local",
        NS,
        &weight(50),
        ISTIO,
    )
    .unwrap();
    assert_eq!(
        out["spec"]["http"][0]["route"],
        yaml("[{destination: {host: gcp}, weight: 55}, {destination: {host: se.example.com}, weight: 45}]")
    );
}

#[test]
fn tcp_and_tls_routes_are_split_but_not_mirrored() {
    let base: VirtualService = yaml(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: shop}
spec:
  hosts: [db.example.com]
  tcp:
  - match: [{port: 5432}]
    route: [{destination: {host: se.example.com, port: {number: 5432}}, weight: 90}, {destination: {host: other.example.com}, weight: 10}]
  tls:
  - match: [{port: 443, sniHosts: [db.example.com]}]
    route: [{destination: {host: se.example.com, port: {number: 443}}}]
",
    )
    .into();
    for w in [0, 1, 33, 50, 99, 100] {
        rewritten(&base, &weight(w)).unwrap();
    }
    let out = rewritten(&base, &weight(25)).unwrap();
    assert_eq!(
        out["spec"]["tls"][0]["route"],
        yaml("[{destination: {host: gcp-backend.example.com}, weight: 25}, {destination: {host: se.example.com, port: {number: 443}}, weight: 75}]")
    );
    // Istio mirrors HTTP only: a mirror stage would leave the base as it is, and is refused.
    let err = rewritten(&base, &mirror(50.0)).unwrap_err();
    assert!(err.contains("Istio mirrors HTTP only"), "{err}");
}

#[test]
fn mirror_stages() {
    let base = one_route(
        "[{destination: {host: se.example.com}, weight: 80}, {destination: {host: other.example.com}, weight: 20}]",
    );
    for p in [0.0001, 0.1, 12.5, 33.3333, 99.9999, 100.0] {
        let out = rewritten(&base, &mirror(p)).unwrap();
        assert_eq!(
            out["spec"]["http"][0]["mirrorPercentage"]["value"].as_f64(),
            Some(p)
        );
    }
    // A whole percentage is written as an integer.
    let out = rewritten(&base, &mirror(100.0)).unwrap();
    assert_eq!(
        out["spec"]["http"][0]["mirrorPercentage"],
        yaml("{value: 100}")
    );

    // An existing mirror with the deprecated `mirrorPercent`, then a second mirror.
    let mut legacy = base.clone();
    legacy["spec"]["http"][0].as_mapping_mut().unwrap().extend([
        ("mirror".into(), yaml("{host: shadow.example.com}")),
        ("mirrorPercent".into(), yaml("50")),
    ]);
    let err =
        rewrite::stage(&legacy, "se.example.com", TO, NS, &mirror(10.0), (1, 18)).unwrap_err();
    assert!(err.contains("already mirrors"), "{err}");
    assert!(err.starts_with("spec.http[0]: "), "{err}");
    let out = rewrite::stage(&legacy, "se.example.com", TO, NS, &mirror(10.0), (1, 19)).unwrap();
    assert_eq!(
        out["spec"]["http"][0]["mirrors"],
        yaml("[{destination: {host: shadow.example.com}, percentage: {value: 50}}, {destination: {host: gcp-backend.example.com}, percentage: {value: 10}}]")
    );
    assert!(out["spec"]["http"][0].get("mirrorPercent").is_none());
    assert_eq!(violations(&out), Vec::<String>::new());
    let mut two = out.clone();
    let out = rewrite::stage(&two, "se.example.com", TO, NS, &mirror(20.0), (1, 19)).unwrap();
    assert_eq!(
        out["spec"]["http"][0]["mirrors"]
            .as_sequence()
            .unwrap()
            .len(),
        3
    );
    // A route that mirrors but does not send to `from` is left alone, even before 1.19.
    two["spec"]["http"][0]["route"] = yaml("[{destination: {host: other.example.com}}]");
    two["spec"]["http"]
        .as_sequence_mut()
        .unwrap()
        .push(yaml("{route: [{destination: {host: se.example.com}}]}"));
    let out = rewrite::stage(&two, "se.example.com", TO, NS, &mirror(20.0), (1, 18)).unwrap();
    verify(&two, &out, "se.example.com", &mirror(20.0), (1, 18));
}

#[test]
fn delegate_redirect_and_direct_response_routes_are_not_touched() {
    let base: VirtualService = yaml(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews.example.com]
  http:
  - match: [{uri: {prefix: /old}}]
    redirect: {uri: /new}
  - match: [{uri: {prefix: /gone}}]
    directResponse: {status: 410}
  - route: [{destination: {host: se.example.com}}]
",
    )
    .into();
    for stage in corpus_stages() {
        let out = rewritten(&base, &stage).unwrap();
        assert_eq!(out["spec"]["http"][0], base["spec"]["http"][0]);
        assert_eq!(out["spec"]["http"][1], base["spec"]["http"][1]);
    }
    let err = rewrite::stage(&base, "nope.example.com", TO, NS, &weight(10), ISTIO).unwrap_err();
    assert!(err.contains("no route sends traffic"), "{err}");
}

/// Istio does not require weights to add up to 100 (`validate` accepts 49/50), and a
/// mirror stage does not change them, yet `check` refuses the mirror stage of such a
/// route, so `render` fails for a valid base.
#[test]
fn a_mirror_stage_of_weights_not_adding_up_to_100() {
    let mut failed = Vec::new();
    for route in [
        "[{destination: {host: se.example.com}, weight: 49}, {destination: {host: other.example.com}, weight: 50}]",
        "[{destination: {host: se.example.com}, weight: 550}, {destination: {host: other.example.com}, weight: 500}]",
        "[{destination: {host: se.example.com}, weight: 100}, {destination: {host: other.example.com}}]",
    ] {
        let base = one_route(route);
        assert_eq!(violations(&base), Vec::<String>::new());
        if let Err(e) = rewritten(&base, &mirror(10.0)) {
            failed.push(format!("{route}: {e}"));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

/// Istio sends all traffic to a lone destination whatever its weight, and `validate`
/// accepts `weight: 0` there, but `rewrite` treats the route as having no traffic.
#[test]
fn a_lone_destination_with_weight_0() {
    let base = one_route("[{destination: {host: se.example.com}, weight: 0}]");
    assert_eq!(violations(&base), Vec::<String>::new());
    let out = rewritten(&base, &weight(10)).unwrap();
    assert_eq!(
        weights_of(&out),
        [
            (TO.to_owned(), None, 10),
            ("se.example.com".to_owned(), None, 90)
        ]
    );
}

/// [`verify`] itself notices wrong weights, a wrong `to` destination and changed fields.
#[test]
fn verify_rejects_tampered_output() {
    let base = one_route(
        "[{destination: {host: se.example.com}, weight: 80}, {destination: {host: other.example.com}, weight: 20}]",
    );
    let good = rewritten(&base, &weight(25)).unwrap();
    type Tamper = fn(&mut Value);
    let tamper: [(&str, Tamper); 4] = [
        ("floor/ceil", |d| {
            d["spec"]["http"][0]["route"][0]["weight"] = yaml("21");
            d["spec"]["http"][0]["route"][1]["weight"] = yaml("59");
        }),
        ("other destination", |d| {
            d["spec"]["http"][0]["route"][2]["weight"] = yaml("21");
            d["spec"]["http"][0]["route"][1]["weight"] = yaml("59");
        }),
        ("to subset", |d| {
            d["spec"]["http"][0]["route"][0]["destination"]["subset"] = yaml("v1");
        }),
        ("other field", |d| {
            d["spec"]["http"][0]
                .as_mapping_mut()
                .unwrap()
                .insert("timeout".into(), yaml("1s"));
        }),
    ];
    for (what, f) in tamper {
        let mut bad = good.clone();
        f(&mut bad);
        let caught = std::panic::catch_unwind(|| {
            verify(&base, &bad, "se.example.com", &weight(25), ISTIO);
        });
        assert!(caught.is_err(), "{what} not caught");
    }
    let base = one_route(
        "[{destination: {host: se.example.com}, weight: 1}, {destination: {host: other.example.com}, weight: 1}, {destination: {host: third.example.com}, weight: 1}]",
    );
    let mut bad = rewritten(&base, &weight(0)).unwrap();
    // 0 / 34 / 33 / 33 is right (ties: earlier first); 0 / 33 / 33 / 34 is not.
    bad["spec"]["http"][0]["route"][1]["weight"] = yaml("33");
    bad["spec"]["http"][0]["route"][3]["weight"] = yaml("34");
    let caught = std::panic::catch_unwind(|| {
        verify(&base, &bad, "se.example.com", &weight(0), ISTIO);
    });
    assert!(caught.is_err(), "tie order not caught");
}
