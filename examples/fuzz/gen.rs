//! The three generator families, a third of the cases each (case `i` is family `i % 3`):
//!
//! 0. byte-level mutations of real plans (the fixtures' golden, invalid and hostile
//!    plans, with the files beside them);
//! 1. structure-aware plans: YAML written here, field by field, from ordinary,
//!    borderline and tricky values, in varying styles (block, flow, quoting, block
//!    scalars, tags, CRLF and CR line endings, a BOM);
//! 2. real-world VirtualServices (fixtures/istio-samples/, and a shared corpus when
//!    present) mutated and used as a migration's `base:`.
//!
//! Case `i` of seed `s` depends on nothing else, so runs are reproducible whatever the
//! number of threads.

use std::fs;
use std::path::{Path, PathBuf};

use cutover::plan::stage::{default_name, StageKind};
use cutover::vs::{documents, ROUTE_KINDS};
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde_yaml::{Mapping, Value};

use crate::case::{Case, PLAN};
use crate::pools::*;

pub type Rng = Xoshiro256PlusPlus;

/// The generator families.
pub const FAMILIES: [&str; 3] = ["plan-bytes", "plan-structure", "base"];

/// The inputs the generators start from.
pub struct Seeds {
    /// Real plans with the files beside them.
    pub plans: Vec<Case>,
    /// The real plans that are valid as they are.
    pub valid: Vec<Case>,
    /// Real-world VirtualServices (documents with at least one route destination).
    pub bases: Vec<Value>,
    /// Where they came from, for the report.
    pub sources: Vec<String>,
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A plan folder's files as a case: `plan` becomes the case's plan.
fn case_from_dir(dir: &Path, plan: &str) -> Option<Case> {
    let mut case = Case::plan(fs::read(dir.join(plan)).ok()?);
    for p in files_under(dir) {
        let rel = p.strip_prefix(dir).ok()?.to_string_lossy().into_owned();
        if rel != plan && rel != "args" {
            case.files.push((rel, fs::read(&p).ok()?));
        }
    }
    Some(case)
}

impl Seeds {
    /// Reads the fixtures of the repository at `repo`, and the VirtualServices of every
    /// folder of `corpora` that exists.
    pub fn load(repo: &Path, corpora: &[PathBuf]) -> Seeds {
        let fx = repo.join("fixtures");
        let mut plans = Vec::new();
        let mut sources = Vec::new();
        for group in ["golden", "invalid"] {
            let plan = if group == "golden" { PLAN } else { "plan.yaml" };
            let before = plans.len();
            let mut dirs: Vec<PathBuf> = fs::read_dir(fx.join(group))
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path().join("input"))
                .collect();
            dirs.sort();
            plans.extend(dirs.iter().filter_map(|d| case_from_dir(d, plan)));
            sources.push(format!(
                "{} plans of fixtures/{group}",
                plans.len() - before
            ));
        }
        let before = plans.len();
        for p in files_under(&fx.join("hostile")) {
            let name = p.to_string_lossy();
            if name.ends_with(".yaml.in") || name.ends_with(".bin") {
                if let Ok(b) = fs::read(&p) {
                    plans.push(Case::plan(b));
                }
            }
        }
        sources.push(format!(
            "{} plans of fixtures/hostile",
            plans.len() - before
        ));
        let mut bases = Vec::new();
        let dirs = std::iter::once(fx.join("istio-samples")).chain(corpora.iter().cloned());
        for dir in dirs {
            let before = bases.len();
            for p in files_under(&dir) {
                let yaml = p.extension().is_some_and(|e| e == "yaml" || e == "yml");
                let Some(text) = yaml.then(|| fs::read_to_string(&p).ok()).flatten() else {
                    continue;
                };
                for doc in documents(&text).unwrap_or_default() {
                    if doc.get("kind").and_then(Value::as_str) == Some("VirtualService")
                        && !destinations(&doc).is_empty()
                    {
                        bases.push(doc);
                    }
                }
            }
            if dir.exists() {
                sources.push(format!(
                    "{} VirtualServices of {}",
                    bases.len() - before,
                    dir.display()
                ));
            }
        }
        let valid: Vec<Case> = plans.iter().filter(|c| is_valid(c)).cloned().collect();
        sources.insert(3, format!("{} of these plans valid", valid.len()));
        Seeds {
            plans,
            valid,
            bases,
            sources,
        }
    }
}

/// Whether the plan of `case` (with its base files) loads.
fn is_valid(case: &Case) -> bool {
    let mut found = Vec::new();
    crate::oracles::load(case, case.plan_bytes(), &mut found).is_some()
}

/// The random generator of case `index` of run `seed`.
pub fn rng_for(seed: u64, index: u64) -> Rng {
    // SplitMix64 of the pair: well-spread, independent streams per case.
    let mut z = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    Rng::seed_from_u64(z ^ (z >> 31))
}

/// Case `index` of run `seed`, and its family.
pub fn case(seeds: &Seeds, seed: u64, index: u64, only: Option<usize>) -> (usize, Case) {
    let mut rng = rng_for(seed, index);
    let family = only.unwrap_or((index % 3) as usize);
    let case = match family {
        0 => mutated_plan(&mut rng, seeds),
        1 => Case::plan(structured_plan(&mut rng)),
        _ => base_case(&mut rng, seeds),
    };
    (family, case)
}

fn pick<'a>(rng: &mut Rng, list: &[&'a str]) -> &'a str {
    list.choose(rng).copied().unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Family 0: byte-level mutations of real plans.

fn mutated_plan(rng: &mut Rng, seeds: &Seeds) -> Case {
    // Half of the cases start from a valid plan (few seeds, but the ones that reach the
    // renderer), the other half from the invalid and hostile ones.
    let pool = if rng.random_bool(0.5) {
        &seeds.valid
    } else {
        &seeds.plans
    };
    let Some(mut case) = pool.choose(rng).or(seeds.plans.first()).cloned() else {
        return Case::plan(Vec::new());
    };
    // Mostly one or two mutations: more rarely leave anything valid.
    let n = [1, 1, 1, 1, 2, 2, 3, 4, 6]
        .choose(rng)
        .copied()
        .unwrap_or(1);
    for _ in 0..n {
        havoc(rng, &mut case.files[0].1, seeds);
    }
    if case.files.len() > 1 && rng.random_bool(0.2) {
        let k = rng.random_range(1..case.files.len());
        havoc(rng, &mut case.files[k].1, seeds);
    }
    case
}

/// Line `n` (0-based) of `b` as a byte range, newline excluded.
fn line_range(b: &[u8], n: usize) -> Option<(usize, usize)> {
    let mut start = 0;
    for (i, line) in b.split(|&c| c == b'\n').enumerate() {
        if i == n {
            return Some((start, start + line.len()));
        }
        start += line.len() + 1;
    }
    None
}

/// One random byte-level mutation of `b`.
pub fn havoc(rng: &mut Rng, b: &mut Vec<u8>, seeds: &Seeds) {
    let len = b.len();
    let at = |rng: &mut Rng| {
        if len == 0 {
            0
        } else {
            rng.random_range(0..=len)
        }
    };
    match rng.random_range(0..11) {
        0 if len > 0 => {
            let i = rng.random_range(0..len);
            b[i] ^= 1 << rng.random_range(0..8);
        }
        1 if len > 0 => {
            let i = rng.random_range(0..len);
            b[i] = *b":-'\"#&*!|>{}[],%@` \t\n\r0\xff"
                .choose(rng)
                .unwrap_or(&b' ');
        }
        2 if len > 0 => {
            let i = rng.random_range(0..len);
            let n = rng.random_range(1..=16).min(len - i);
            b.drain(i..i + n);
        }
        3 | 4 => {
            let i = at(rng);
            let token = pick(rng, TOKENS).as_bytes().to_vec();
            b.splice(i..i, token);
        }
        5 if len > 0 => {
            let i = rng.random_range(0..len);
            let n = rng.random_range(1..=32).min(len - i);
            let chunk = b[i..i + n].to_vec();
            let j = at(rng);
            b.splice(j..j, chunk);
        }
        6 | 7 => {
            // A value replaced: the text after the first `: ` of a line.
            let lines = b.iter().filter(|&&c| c == b'\n').count() + 1;
            let Some((s, e)) = line_range(b, rng.random_range(0..lines)) else {
                return;
            };
            let Some(colon) = b[s..e].windows(2).position(|w| w == b": ") else {
                return;
            };
            let value = match rng.random_range(0..4) {
                0 => pick(rng, BORDER_HOSTS),
                1 => pick(rng, BORDER_STAGE_NAMES),
                2 => pick(rng, BORDER_GATEWAYS),
                _ => pick(rng, TRICKY),
            };
            let styled = styled_scalar(rng, value, false);
            b.splice(s + colon + 2..e, styled.into_bytes());
        }
        8 => {
            // A line of another seed plan spliced in.
            let Some(other) = seeds.plans.choose(rng) else {
                return;
            };
            let o = other.plan_bytes();
            let lines = o.iter().filter(|&&c| c == b'\n').count() + 1;
            if let Some((s, e)) = line_range(o, rng.random_range(0..lines)) {
                let mut line = o[s..e].to_vec();
                line.push(b'\n');
                let n = b.iter().filter(|&&c| c == b'\n').count() + 1;
                let (ls, _) = line_range(b, rng.random_range(0..n)).unwrap_or((0, 0));
                b.splice(ls..ls, line);
            }
        }
        9 => {
            let text = String::from_utf8_lossy(b).replace("\r\n", "\n");
            let nl = ["\r\n", "\r", "\n"].choose(rng).copied().unwrap_or("\n");
            *b = text.replace('\n', nl).into_bytes();
        }
        _ => {
            // Indentation of a line changed.
            let lines = b.iter().filter(|&&c| c == b'\n').count() + 1;
            if let Some((s, _)) = line_range(b, rng.random_range(0..lines)) {
                if rng.random_bool(0.5) {
                    b.splice(s..s, b"  ".iter().copied());
                } else if b.get(s) == Some(&b' ') {
                    b.remove(s);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Family 1: structure-aware plans.

/// A YAML node to write.
#[derive(Clone, Debug)]
enum Y {
    /// A string, in a style chosen when written.
    Str(String),
    /// Written exactly as given (numbers, pre-styled scalars).
    Raw(String),
    Seq(Vec<Y>),
    Map(Vec<(String, Y)>),
}

fn s(v: &str) -> Y {
    Y::Str(v.to_owned())
}

/// Separates a block scalar's indicator from its text until the indentation is known.
const BLOCK: char = '\u{F8FF}';

/// `s` as a YAML scalar in a random style (flow context: no block scalars).
fn styled_scalar(rng: &mut Rng, s: &str, block_ok: bool) -> String {
    let simple = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '/' | '*'));
    let tag = if rng.random_bool(0.004) {
        format!(
            "{} ",
            pick(
                rng,
                &["!!str", "!!int", "!!float", "!!bool", "!!null", "!env", "!", "!!binary"]
            )
        )
    } else {
        String::new()
    };
    let roll = rng.random_range(0..100);
    let body = if simple && roll < 65 || (!simple && roll < 8) {
        s.to_owned()
    } else if roll < 75 && !s.chars().any(|c| c.is_control() || c > '\u{7e}') {
        format!("'{}'", s.replace('\'', "''"))
    } else if roll < 94 || !block_ok || s.is_empty() || s.trim() != s || s.contains(['\n', '\r']) {
        serde_json::to_string(s).unwrap_or_default()
    } else {
        // Block scalar: the caller's line ends here; indentation is fixed up in `emit`.
        format!("{}{BLOCK}{s}", pick(rng, &["|", "|-", ">", ">-", "|+"]))
    };
    format!("{tag}{body}")
}

struct Emitter<'r> {
    rng: &'r mut Rng,
    out: String,
}

impl Emitter<'_> {
    fn scalar(&mut self, v: &Y, indent: usize, block_ok: bool) -> String {
        let text = match v {
            Y::Str(s) => styled_scalar(self.rng, s, block_ok),
            Y::Raw(r) => r.clone(),
            _ => self.flow(v),
        };
        // A block scalar: indicator, then the text on the next line, indented.
        match text.split_once(BLOCK) {
            Some((ind, body)) if block_ok && !ind.contains('"') => {
                format!("{ind}\n{}{body}", " ".repeat(indent + 2))
            }
            _ => text,
        }
    }

    fn flow(&mut self, v: &Y) -> String {
        match v {
            Y::Seq(items) => {
                let parts: Vec<String> = items.iter().map(|i| self.flow(i)).collect();
                format!("[{}]", parts.join(", "))
            }
            Y::Map(entries) => {
                let parts: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", self.flow(v)))
                    .collect();
                format!("{{{}}}", parts.join(", "))
            }
            other => self.scalar(other, 0, false),
        }
    }

    /// Writes `v` as the value after `key:` (the key already written).
    fn value(&mut self, v: &Y, indent: usize) {
        match v {
            Y::Seq(items) if !items.is_empty() && self.rng.random_bool(0.75) => {
                self.out.push('\n');
                for item in items {
                    self.out.push_str(&" ".repeat(indent + 2));
                    self.out.push('-');
                    match item {
                        Y::Map(entries) if !entries.is_empty() => {
                            self.out.push(' ');
                            self.entries(entries, indent + 4, true);
                        }
                        other => {
                            self.out.push(' ');
                            let t = self.scalar(other, indent + 2, true);
                            self.out.push_str(&t);
                            self.out.push('\n');
                        }
                    }
                }
            }
            Y::Map(entries) if !entries.is_empty() && self.rng.random_bool(0.8) => {
                self.out.push('\n');
                self.entries(entries, indent + 2, false);
            }
            other => {
                self.out.push(' ');
                let t = self.scalar(other, indent, true);
                self.out.push_str(&t);
                self.out.push('\n');
            }
        }
    }

    fn entries(&mut self, entries: &[(String, Y)], indent: usize, first_inline: bool) {
        for (i, (k, v)) in entries.iter().enumerate() {
            if !(i == 0 && first_inline) {
                self.out.push_str(&" ".repeat(indent));
            }
            self.out.push_str(k);
            self.out.push(':');
            self.value(v, indent);
        }
    }
}

/// How often a field takes a borderline or tricky value instead of an ordinary one.
fn odd(rng: &mut Rng, t: f64, ordinary: &[&str], border: &[&str]) -> Y {
    if rng.random_bool(t) {
        if rng.random_bool(0.8) {
            s(pick(rng, border))
        } else {
            s(pick(rng, TRICKY))
        }
    } else {
        s(pick(rng, ordinary))
    }
}

/// Written as given: an ordinary or (with probability `t`) a borderline text.
fn raw<'a>(rng: &mut Rng, t: f64, ordinary: &[&'a str], border: &[&'a str]) -> &'a str {
    if rng.random_bool(t) {
        pick(rng, border)
    } else {
        pick(rng, ordinary)
    }
}

/// One to three different values (a list in which a repeat would be an error).
fn distinct(rng: &mut Rng, t: f64, ordinary: &[&str], border: &[&str]) -> Vec<Y> {
    let mut out: Vec<String> = Vec::new();
    for _ in 0..rng.random_range(1..=3) {
        if let Y::Str(v) = odd(rng, t, ordinary, border) {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out.into_iter().map(Y::Str).collect()
}

/// A generated stage list and the stage names an environment may run.
fn stages(rng: &mut Rng, t: f64, header_ok: bool) -> (Y, Vec<String>) {
    let mut list = Vec::new();
    let mut names = Vec::new();
    let mirrors = rng.random_range(0..=2);
    for _ in 0..mirrors {
        let m = if rng.random_bool(t) {
            pick(rng, BORDER_MIRRORS)
        } else {
            pick(rng, MIRRORS)
        };
        list.push((
            vec![("mirror".to_owned(), Y::Raw(m.to_owned()))],
            m.parse::<f64>().ok().map(StageKind::Mirror),
        ));
    }
    let mut weights: Vec<u8> = (0..rng.random_range(1..=4))
        .map(|_| rng.random_range(0..=100))
        .collect();
    if rng.random_bool(0.7) {
        weights.push(100);
    }
    weights.sort_unstable();
    weights.dedup();
    if rng.random_bool(t) {
        weights.reverse();
    }
    for w in weights {
        let raw = if rng.random_bool(t / 2.0) {
            pick(
                rng,
                &[
                    "10.0", "\"10\"", "101", "-1", "!!int 10", "1e1", "0x0A", "012",
                ],
            )
            .to_owned()
        } else {
            w.to_string()
        };
        let mut e = vec![("weight".to_owned(), Y::Raw(raw))];
        if header_ok && rng.random_bool(0.08) {
            let value = if rng.random_bool(0.3) {
                pick(rng, TRICKY)
            } else {
                pick(rng, &["beta", "canary-users", "1"])
            };
            e.push((
                "header".to_owned(),
                Y::Map(vec![
                    (
                        "name".to_owned(),
                        odd(rng, t, HEADER_NAMES, BORDER_HEADER_NAMES),
                    ),
                    ("value".to_owned(), s(value)),
                ]),
            ));
        }
        list.push((e, Some(StageKind::Weight(w))));
    }
    let mut out = Vec::new();
    for (mut e, kind) in list {
        let named = if rng.random_bool(0.1 + t) {
            pick(rng, BORDER_STAGE_NAMES)
        } else {
            pick(rng, STAGE_NAMES)
        };
        let name = if rng.random_bool(0.4) && !names.iter().any(|n| n == named) {
            e.push(("name".to_owned(), s(named)));
            Some(named.to_owned())
        } else {
            kind.map(default_name)
        };
        if rng.random_bool(0.1) {
            e.push(("hold".to_owned(), odd(rng, t, HOLDS, BORDER_HOLDS)));
        }
        if rng.random_bool(0.1) {
            e.push(("note".to_owned(), s(pick(rng, TRICKY))));
        }
        if rng.random_bool(0.5) {
            e.reverse();
        }
        names.extend(name);
        out.push(Y::Map(e));
    }
    (Y::Seq(out), names)
}

fn environments(rng: &mut Rng, t: f64, names: &[String]) -> Option<Y> {
    if names.is_empty() || rng.random_bool(0.5) {
        return None;
    }
    let mut envs = Vec::new();
    for env in ["prod", "staging", "dev"]
        .iter()
        .take(rng.random_range(1..=3))
    {
        let env = if rng.random_bool(t) {
            pick(rng, BORDER_NAMES)
        } else {
            env
        };
        let stage = names.choose(rng).cloned().unwrap_or_default();
        envs.push((env.to_owned(), Y::Str(stage)));
    }
    Some(Y::Map(envs))
}

fn migration(rng: &mut Rng, t: f64, i: usize, base: Option<(&str, &str, &str)>) -> Y {
    let mut e: Vec<(String, Y)> = Vec::new();
    let name = if rng.random_bool(t) {
        pick(rng, BORDER_NAMES).to_owned()
    } else {
        format!(
            "{}{}",
            pick(rng, NAMES),
            if i > 0 { i.to_string() } else { String::new() }
        )
    };
    e.push(("name".into(), Y::Str(name)));
    e.push(("namespace".into(), odd(rng, t, NAMES, BORDER_NAMES)));
    if rng.random_bool(0.3) {
        e.push(("virtualService".into(), odd(rng, t, NAMES, BORDER_NAMES)));
    }
    if rng.random_bool(0.3) {
        let hosts = distinct(rng, t, HOSTS, BORDER_HOSTS);
        e.push(("hosts".into(), Y::Seq(hosts)));
    }
    if rng.random_bool(0.3) {
        let gws = distinct(rng, t, GATEWAYS, BORDER_GATEWAYS);
        e.push(("gateways".into(), Y::Seq(gws)));
    }
    let from = odd(rng, t, HOSTS, BORDER_HOSTS);
    let to = odd(
        rng,
        t,
        &["gcp.example.com", "cr-backend.example.com"],
        BORDER_HOSTS,
    );
    e.push(("from".into(), from));
    e.push(("to".into(), to));
    let (stage_list, names) = stages(rng, t, true);
    e.push(("stages".into(), stage_list));
    if let Some(envs) = environments(rng, t, &names) {
        e.push(("environments".into(), envs));
    }
    if rng.random_bool(0.15) {
        e.push((
            "gcpBackend".into(),
            Y::Map(vec![
                ("service".into(), odd(rng, t, NAMES, BORDER_NAMES)),
                (
                    "region".into(),
                    odd(
                        rng,
                        t,
                        &["europe-west1", "us-central1"],
                        &["EU", "", "europe-west1 "],
                    ),
                ),
            ]),
        ));
    }
    if rng.random_bool(0.15) {
        e.push((
            "verify".into(),
            Y::Map(vec![
                (
                    "path".into(),
                    odd(
                        rng,
                        t,
                        &["/", "/healthz"],
                        &["/a b", "/\u{2028}", "healthz", "/?q=yes"],
                    ),
                ),
                (
                    "port".into(),
                    Y::Raw(raw(rng, t, &["8080", "443"], &["0", "65536", "\"80\"", "0x50"]).into()),
                ),
            ]),
        ));
    }
    if let Some((file, from, vs)) = base {
        e.retain(|(k, _)| !matches!(k.as_str(), "from" | "virtualService"));
        e.push(("base".into(), s(file)));
        e.push(("from".into(), s(from)));
        e.push(("virtualService".into(), s(vs)));
    }
    if rng.random_bool(0.3) {
        let n = e.len();
        e.swap(rng.random_range(0..n), rng.random_range(0..n));
    }
    Y::Map(e)
}

/// The top of a plan; `migrations` the list.
fn plan_top(rng: &mut Rng, t: f64, migrations: Vec<Y>) -> Vec<(String, Y)> {
    let mut top = vec![
        (
            "version".to_owned(),
            Y::Raw(
                raw(
                    rng,
                    t,
                    &["1"],
                    &["\"1\"", "2", "1.0", "!!int 1", "0x1", "01"],
                )
                .into(),
            ),
        ),
        (
            "output".into(),
            odd(rng, t, &["out", "deploy/traffic"], OUTPUTS),
        ),
    ];
    if rng.random_bool(0.2) {
        top.push((
            "layout".into(),
            odd(rng, t, &["flat", "kustomize"], &["Flat", "flat "]),
        ));
    }
    if rng.random_bool(0.2) {
        top.push((
            "apiVersion".into(),
            odd(rng, t, API_VERSIONS, BORDER_API_VERSIONS),
        ));
    }
    if rng.random_bool(0.3) {
        top.push((
            "istioVersion".into(),
            Y::Raw(raw(rng, t, ISTIO_VERSIONS, BORDER_ISTIO_VERSIONS).into()),
        ));
    }
    if rng.random_bool(0.15) {
        top.push((
            "defaults".into(),
            Y::Map(vec![("namespace".into(), odd(rng, t, NAMES, BORDER_NAMES))]),
        ));
    }
    top.push(("migrations".into(), Y::Seq(migrations)));
    top
}

/// Writes `top` as a YAML document, with random line endings and BOM.
fn emit(rng: &mut Rng, top: &[(String, Y)]) -> Vec<u8> {
    let mut e = Emitter {
        rng,
        out: String::new(),
    };
    e.entries(top, 0, false);
    let mut text = e.out;
    match e.rng.random_range(0..100) {
        0..=7 => text = text.replace('\n', "\r\n"),
        8..=10 => text = text.replace('\n', "\r"),
        _ => {}
    }
    if e.rng.random_bool(0.02) {
        text.insert(0, '\u{feff}');
    }
    text.into_bytes()
}

/// A generated plan (family 1).
pub fn structured_plan(rng: &mut Rng) -> Vec<u8> {
    let t = *[0.0, 0.0, 0.03, 0.1, 0.3].choose(rng).unwrap_or(&0.0);
    let n = rng.random_range(1..=3);
    let migrations = (0..n).map(|i| migration(rng, t, i, None)).collect();
    let top = plan_top(rng, t, migrations);
    emit(rng, &top)
}

// ---------------------------------------------------------------------------------------
// Family 2: mutated real-world VirtualServices as `base:`.

/// (route kind, route index, destination index, host) of every route destination.
fn destinations(doc: &Value) -> Vec<(&'static str, usize, usize, String)> {
    let mut out = Vec::new();
    for kind in ROUTE_KINDS {
        let routes = doc
            .get("spec")
            .and_then(|s| s.get(kind))
            .and_then(Value::as_sequence);
        for (r, route) in routes.into_iter().flatten().enumerate() {
            let dests = route.get("route").and_then(Value::as_sequence);
            for (d, dest) in dests.into_iter().flatten().enumerate() {
                if let Some(h) = dest
                    .get("destination")
                    .and_then(|x| x.get("host"))
                    .and_then(Value::as_str)
                {
                    out.push((kind, r, d, h.to_owned()));
                }
            }
        }
    }
    out
}

fn route_mut<'a>(doc: &'a mut Value, kind: &str, r: usize) -> Option<&'a mut Mapping> {
    doc.get_mut("spec")?
        .get_mut(kind)?
        .get_mut(r)?
        .as_mapping_mut()
}

fn key(k: &str) -> Value {
    Value::String(k.to_owned())
}

fn weight_value(rng: &mut Rng) -> Option<Value> {
    Some(match rng.random_range(0..10) {
        0 => return None,
        1 => Value::Null,
        2 => Value::String("10".into()),
        3 => serde_yaml::from_str("10.5").unwrap_or(Value::Null),
        _ => {
            let w = *BASE_WEIGHTS.choose(rng).unwrap_or(&0);
            serde_yaml::from_str(&w.to_string()).unwrap_or(Value::Null)
        }
    })
}

/// One structural mutation of a base VirtualService whose traffic leaves `from`.
fn mutate_base(rng: &mut Rng, doc: &mut Value, from: &str, to: &str) {
    let dests = destinations(doc);
    let Some((kind, r, d, _)) = dests.choose(rng).cloned() else {
        return;
    };
    let from_dests: Vec<_> = dests.iter().filter(|x| x.3 == from).cloned().collect();
    let (fk, fr, fd, _) = from_dests
        .choose(rng)
        .cloned()
        .unwrap_or((kind, r, d, String::new()));
    match rng.random_range(0..8) {
        0 | 1 => {
            let w = weight_value(rng);
            if let Some(dest) = dest_mut(doc, fk, fr, fd) {
                match w {
                    Some(w) => dest.insert(key("weight"), w),
                    None => dest.shift_remove("weight"),
                };
            }
        }
        2 => {
            let host = match rng.random_range(0..4) {
                0 => from,
                1 => to,
                2 => pick(rng, BORDER_HOSTS),
                _ => "other.example.com",
            };
            let dest = new_destination(rng, host);
            if let Some(list) = dest_list_mut(doc, fk, fr) {
                let at = rng.random_range(0..=list.len());
                list.insert(at, dest);
            }
        }
        3 => {
            if let Some(list) = dest_list_mut(doc, kind, r).filter(|l| l.len() > 1) {
                list.remove(d);
            }
        }
        4 => {
            // A tricky host on a destination that is not `from`.
            let value = Value::String(pick(rng, TRICKY).to_owned());
            if let Some(dest) = dest_mut(doc, kind, r, d)
                .and_then(|x| x.get_mut("destination"))
                .and_then(Value::as_mapping_mut)
                .filter(|x| x.get("host").and_then(Value::as_str) != Some(from))
            {
                dest.insert(key("host"), value);
            }
        }
        5 => {
            // Headers with a tricky value on a `from` destination (copied to `to`).
            let text = format!(
                "request: {{set: {{x-a: {}}}}}",
                serde_json::to_string(pick(rng, TRICKY)).unwrap_or_default()
            );
            let headers: Value = serde_yaml::from_str(&text).unwrap_or(Value::Null);
            if let Some(dest) = dest_mut(doc, fk, fr, fd) {
                dest.insert(key("headers"), headers);
            }
        }
        6 => {
            if let Some(route) = route_mut(doc, fk, fr) {
                let mirror: Value =
                    serde_yaml::from_str("{host: shadow.example.com}").unwrap_or(Value::Null);
                let pct: Value = serde_yaml::from_str("{value: 5}").unwrap_or(Value::Null);
                route.insert(key("mirror"), mirror);
                route.insert(key("mirrorPercentage"), pct);
            }
        }
        _ => {
            if let Some(route) = route_mut(doc, kind, r) {
                route.insert(key("name"), Value::String(pick(rng, TRICKY).to_owned()));
            }
        }
    }
}

/// The destination list of route `r` of `kind`.
fn dest_list_mut<'a>(doc: &'a mut Value, kind: &str, r: usize) -> Option<&'a mut Vec<Value>> {
    route_mut(doc, kind, r)?.get_mut("route")?.as_sequence_mut()
}

/// Destination `d` of route `r` of `kind`.
fn dest_mut<'a>(doc: &'a mut Value, kind: &str, r: usize, d: usize) -> Option<&'a mut Mapping> {
    dest_list_mut(doc, kind, r)?.get_mut(d)?.as_mapping_mut()
}

/// A destination for `host`, maybe with a subset and a weight.
fn new_destination(rng: &mut Rng, host: &str) -> Value {
    let mut dest = Mapping::new();
    let mut inner = Mapping::new();
    inner.insert(key("host"), key(host));
    if rng.random_bool(0.3) {
        inner.insert(key("subset"), key("v9"));
    }
    dest.insert(key("destination"), Value::Mapping(inner));
    if let Some(w) = weight_value(rng) {
        dest.insert(key("weight"), w);
    }
    Value::Mapping(dest)
}

/// Inserts a custom or standard tag before the value of a random `key: value` line.
fn tag_a_value(rng: &mut Rng, text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let candidates: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].contains(": ") && !lines[i].trim_end().ends_with(':'))
        .collect();
    let Some(&i) = candidates.choose(rng) else {
        return text.to_owned();
    };
    let tag = pick(rng, &["!env", "!foo", "!", "!!str", "!!int", "!!binary"]);
    let mut out = String::new();
    for (j, line) in lines.iter().enumerate() {
        if j == i {
            out.push_str(&line.replacen(": ", &format!(": {tag} "), 1));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// A mutated real-world VirtualService as the base of a generated migration (family 2).
fn base_case(rng: &mut Rng, seeds: &Seeds) -> Case {
    let Some(mut doc) = seeds.bases.choose(rng).cloned() else {
        return Case::plan(structured_plan(rng));
    };
    let hosts: Vec<String> = destinations(&doc).into_iter().map(|d| d.3).collect();
    let from = hosts.choose(rng).cloned().unwrap_or_default();
    let to = match rng.random_range(0..20) {
        0 | 1 => hosts.choose(rng).cloned().unwrap_or_default(),
        2 => pick(rng, BORDER_HOSTS).to_owned(),
        _ => "gcp-backend.example.com".to_owned(),
    };
    for _ in 0..rng.random_range(0..=4) {
        mutate_base(rng, &mut doc, &from, &to);
    }
    let meta = doc.get("metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("vs")
        .to_owned();
    let ns = meta
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
        .unwrap_or("default")
        .to_owned();
    let mut text = serde_yaml::to_string(&doc).unwrap_or_default();
    if rng.random_bool(0.1) {
        text = tag_a_value(rng, &text);
    }
    let mut base = text.into_bytes();
    if rng.random_bool(0.1) {
        havoc(rng, &mut base, seeds);
    }
    let t = *[0.0, 0.0, 0.0, 0.03].choose(rng).unwrap_or(&0.0);
    let mut m = migration(rng, t, 0, Some(("vs.yaml", &from, &name)));
    if let Y::Map(entries) = &mut m {
        for (k, v) in entries.iter_mut() {
            match k.as_str() {
                "namespace" => *v = Y::Str(ns.clone()),
                "to" => *v = Y::Str(to.clone()),
                _ => {}
            }
        }
    }
    let top = plan_top(rng, t, vec![m]);
    Case {
        files: vec![
            (PLAN.to_owned(), emit(rng, &top)),
            ("vs.yaml".to_owned(), base),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeds() -> Seeds {
        Seeds::load(Path::new(env!("CARGO_MANIFEST_DIR")), &[])
    }

    #[test]
    fn cases_depend_only_on_seed_and_index() {
        let seeds = seeds();
        assert!(
            seeds.plans.len() > 50 && seeds.bases.len() > 20,
            "{:?}",
            seeds.sources
        );
        for i in 0..30 {
            assert_eq!(case(&seeds, 7, i, None), case(&seeds, 7, i, None));
        }
        assert_ne!(case(&seeds, 7, 1, None), case(&seeds, 8, 1, None));
    }

    #[test]
    fn structured_plans_are_mostly_valid_yaml() {
        let mut rng = rng_for(1, 1);
        let parsed = (0..200)
            .filter(|_| {
                let p = structured_plan(&mut rng);
                serde_yaml::from_slice::<Value>(&p).is_ok()
            })
            .count();
        assert!(parsed > 150, "{parsed} of 200 parse");
    }
}
