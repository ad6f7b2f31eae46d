//! What must hold for every input, checked in-process through the library:
//!
//! - the plan loads through `plan::Loader` (base files read from the case) and is either
//!   invalid or valid; a valid plan carries no tag that does not fit its value;
//! - a valid plan renders (`render::render_plan`): `validate` ok ⇒ `render` ok, except
//!   for a base VirtualService the plan cannot migrate (an error about the base, or a
//!   base that is itself not a valid VirtualService);
//! - it renders byte-identically twice;
//! - every rendered file re-parses, reads the same to a YAML 1.1 and a YAML 1.2 reader
//!   ([`crate::readers`]), and its VirtualServices pass `check::istio::virtual_service`;
//! - every rewritten base route (and a header canary stage's canary route before it, at
//!   100%) has the exact largest-remainder weights
//!   ([`crate::shares`]), and no base weight Istio refuses (over 2^31 − 1) is accepted;
//! - promote then rollback (the one-value edit, `plan::edit::replace_value`) gives back
//!   the plan's bytes, and the edited plan is valid and says what was asked.
//!
//! No panic and no case over 2 s are checked by the caller, around [`run`].

use std::path::Path;

use cutover::check::istio;
use cutover::error::{Diagnostics, Error};
use cutover::layout::{Kind, Part};
use cutover::plan::edit::replace_value;
use cutover::plan::stage::StageKind;
use cutover::plan::{Loader, Migration, Plan};
use cutover::render::{render_plan, GeneratedFile, Templates};
use cutover::vs::{documents, to_json, Destination, VirtualService, ROUTE_KINDS};
use cutover::yaml::escape;
use serde_yaml::Value;

use crate::case::{Case, PLAN};
use crate::readers;
use crate::shares;

/// Where the plan is taken to live: `/fuzz/plan/cutover.yaml` in repository `/fuzz` (no
/// file is touched: the loader reads bases through the case).
const ROOT: &str = "/fuzz";
const PLAN_DIR: &str = "plan";

/// A broken promise: which oracle, and what it saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The oracle's name.
    pub oracle: &'static str,
    /// What it saw, for people.
    pub message: String,
}

impl Finding {
    fn new(oracle: &'static str, message: impl Into<String>) -> Finding {
        Finding {
            oracle,
            message: message.into(),
        }
    }

    /// What findings are deduplicated by: the oracle and the message with values
    /// (anything quoted, numbers) blanked out.
    pub fn key(&self) -> String {
        format!("{}: {}", self.oracle, normalize(&self.message))
    }
}

/// The message with quoted text and digit runs replaced, so that one bug found through
/// many values counts once.
pub fn normalize(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' | '"' => {
                out.push(c);
                out.push('…');
                for d in chars.by_ref() {
                    if d == c {
                        break;
                    }
                }
                out.push(c);
            }
            c if c.is_ascii_digit() => {
                out.push('N');
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// What one run did, for the statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The plan was valid.
    pub valid: bool,
    /// It rendered.
    pub rendered: bool,
}

/// Runs every oracle on `case`.
pub fn run(case: &Case, templates: &Templates) -> (Outcome, Vec<Finding>) {
    let mut out = Vec::new();
    let mut outcome = Outcome::default();
    let Some(plan) = load(case, case.plan_bytes(), &mut out) else {
        return (outcome, out);
    };
    outcome.valid = true;
    for tag in readers::misfit_tags(&String::from_utf8_lossy(case.plan_bytes())) {
        out.push(Finding::new(
            "tags",
            format!("validate accepts a tag that does not fit its value: {tag}"),
        ));
    }
    let first = render_plan(&plan, templates);
    let second = render_plan(&plan, templates);
    let same = match (&first, &second) {
        (Ok(a), Ok(b)) => a == b,
        (Err(a), Err(b)) => a.to_string() == b.to_string(),
        _ => false,
    };
    if !same {
        out.push(Finding::new(
            "deterministic",
            "rendering the plan twice gives different results",
        ));
    }
    match first {
        Ok(files) => {
            outcome.rendered = true;
            for f in &files {
                check_file(f, &mut out);
            }
            for m in &plan.migrations {
                check_shares(&plan, m, &files, &mut out);
            }
        }
        Err(e) => render_failed(&plan, &e, &mut out),
    }
    promote_rollback(case, &plan, &mut out);
    (outcome, out)
}

/// The plan `bytes` loaded as the case's plan; `None` when it is invalid (or another
/// error, reported).
pub fn load(case: &Case, bytes: &[u8], out: &mut Vec<Finding>) -> Option<Plan> {
    let root = Path::new(ROOT);
    let path = root.join(PLAN_DIR).join(PLAN);
    let read_base = |rel: &str| {
        let inside = rel
            .strip_prefix(PLAN_DIR)
            .and_then(|r| r.strip_prefix('/'))
            .ok_or_else(|| "does not exist".to_owned())?;
        let bytes = case
            .file(inside)
            .filter(|_| inside != PLAN)
            .ok_or_else(|| "does not exist".to_owned())?;
        String::from_utf8(bytes.to_vec()).map_err(|_| "not UTF-8".to_owned())
    };
    match Loader::default().load_with(PLAN, bytes, &path, root, read_base) {
        Ok(plan) => Some(plan),
        Err(Error::Invalid(Diagnostics(d))) if !d.is_empty() => None,
        Err(e) => {
            out.push(Finding::new(
                "load",
                format!("loading a plan fails with no diagnostic: {e}"),
            ));
            None
        }
    }
}

/// A valid plan that does not render: a finding unless the base is to blame.
fn render_failed(plan: &Plan, e: &Error, out: &mut Vec<Finding>) {
    match e {
        // The plan cannot migrate this base (no route to `from`, weights Istio refuses,
        // another namespace...): the user's file, reported as such.
        Error::Base { .. } => {}
        Error::Readback {
            template, message, ..
        } if template.ends_with("(base)") => {
            if plan
                .migrations
                .iter()
                .filter_map(|m| base_doc(plan, m))
                .any(|b| !istio::virtual_service(&b.into_json()).is_empty())
            {
                return; // the base itself is not a valid VirtualService
            }
            for m in violations(message) {
                out.push(Finding::new(
                    "base-valid-stage-invalid",
                    format!("a valid base VirtualService renders an invalid stage: {m}"),
                ));
            }
        }
        Error::Readback {
            template, message, ..
        } => {
            for m in violations(message) {
                out.push(Finding::new(
                    "validate-render",
                    format!("validate ok, render fails: template {template}: {m}"),
                ));
            }
        }
        Error::Internal(m) => out.push(Finding::new("internal", m.clone())),
        e => out.push(Finding::new(
            "validate-render",
            format!("validate ok, render fails: {e}"),
        )),
    }
}

/// A read-back message split into its Istio violations (one finding each).
fn violations(message: &str) -> Vec<String> {
    const PREFIX: &str = "not a valid Istio VirtualService: ";
    match message.strip_prefix(PREFIX) {
        Some(list) => list.split("; ").map(|v| format!("{PREFIX}{v}")).collect(),
        None => vec![message.to_owned()],
    }
}

fn base_doc(plan: &Plan, m: &Migration) -> Option<VirtualService> {
    let text = plan.bases.get(m.base.as_ref()?)?;
    VirtualService::pick(text, &m.virtual_service).ok()
}

/// A rendered file re-parses, reads the same in YAML 1.1 and 1.2, and its
/// VirtualServices pass cutover's own checker.
fn check_file(f: &GeneratedFile, out: &mut Vec<Finding>) {
    let docs = match documents(&f.contents) {
        Ok(d) => d,
        Err(e) => {
            out.push(Finding::new(
                "reparse",
                format!("a rendered file does not parse back: {e}"),
            ));
            return;
        }
    };
    match readers::disagreements(&f.contents) {
        Ok(list) => out.extend(
            list.into_iter()
                .map(|d| Finding::new("yaml-1.1-1.2", format!("rendered file: {d}"))),
        ),
        Err(e) => out.push(Finding::new(
            "reparse",
            format!("a rendered file is not YAML 1.2: {e}"),
        )),
    }
    for doc in docs {
        if doc.get("kind").and_then(Value::as_str) != Some("VirtualService") {
            continue;
        }
        for v in istio::virtual_service(&to_json(doc)) {
            out.push(Finding::new(
                "istio-check",
                format!(
                    "a rendered VirtualService fails the check: {}: {}",
                    v.path, v.message
                ),
            ));
        }
    }
}

/// A base route's destinations ([`shares::Dest`]), hosts read in namespace `ns`; `None`
/// when a weight is not a non-negative integer (the rewrite refuses those).
fn read_weights(route: &Value, ns: &str) -> Option<Vec<shares::Dest>> {
    let dests = route.get("route")?.as_sequence()?;
    let lone = dests.len() == 1;
    dests
        .iter()
        .map(|d| {
            let host = Destination::new(d).host().map(str::to_owned);
            let weight = match d.get("weight") {
                _ if lone => 100,
                None | Some(Value::Null) => 0,
                Some(v) => v.as_u64()?,
            };
            let headers = d
                .get("headers")
                .filter(|h| !h.is_null())
                .and_then(|h| serde_yaml::to_string(h).ok());
            let plain = d
                .get("destination")
                .and_then(Value::as_mapping)
                .is_some_and(|m| m.len() == 1);
            Some(shares::Dest {
                name: host.as_deref().map(|h| shares::fqdn(h, ns)),
                host,
                headers,
                weight,
                plain,
            })
        })
        .collect()
}

/// Every weight stage of a base migration has the exact shares in every rewritten route.
fn check_shares(plan: &Plan, m: &Migration, files: &[GeneratedFile], out: &mut Vec<Finding>) {
    let Some(base) = base_doc(plan, m) else {
        return;
    };
    for (i, stage) in m.stages.iter().enumerate() {
        let StageKind::Weight(w) = stage.kind else {
            continue;
        };
        let Some(file) = files.iter().find(|f| {
            f.migration == m.name
                && f.kind == Kind::Manifest
                && matches!(&f.part, Part::Stage { number, .. } if *number == i + 1)
        }) else {
            out.push(Finding::new(
                "shares",
                "a stage of a base migration has no file",
            ));
            return;
        };
        let Some(doc) = documents(&file.contents)
            .ok()
            .and_then(|d| d.into_iter().next())
        else {
            return; // reported by check_file
        };
        let ns = base.namespace().unwrap_or(&m.namespace);
        let (from, to) = (shares::fqdn(&m.from, ns), shares::fqdn(&m.to, ns));
        for kind in ROUTE_KINDS {
            let routes = base
                .spec()
                .and_then(|s| s.get(kind))
                .and_then(Value::as_sequence);
            // A header canary stage puts a canary route before each HTTP route to `from`.
            let mut canaries = 0;
            for (r, route) in routes.into_iter().flatten().enumerate() {
                let Some(dests) = read_weights(route, ns) else {
                    continue;
                };
                if !dests
                    .iter()
                    .any(|d| d.name.as_deref() == Some(from.as_str()))
                {
                    continue;
                }
                if stage.header.is_some() && kind == "http" {
                    canaries += 1;
                    let canary = &doc["spec"][kind][r + canaries - 1]["route"];
                    compare(
                        canary,
                        &dests,
                        (m, &from, &to, 100),
                        &format!("the canary route before spec.{kind}[{r}]"),
                        out,
                    );
                }
                let r = if kind == "http" { r + canaries } else { r };
                if let Some(big) = dests
                    .iter()
                    .map(|d| d.weight)
                    .find(|&w| w > shares::ISTIO_MAX_WEIGHT)
                {
                    out.push(Finding::new(
                        "shares",
                        format!("a base weight Istio refuses ({big}, over 2^31-1) is accepted"),
                    ));
                }
                compare(
                    &doc["spec"][kind][r]["route"],
                    &dests,
                    (m, &from, &to, w),
                    &format!("spec.{kind}[{r}]"),
                    out,
                );
            }
        }
    }
}

/// Compares a rendered route list with the exact largest-remainder shares of the base
/// route's `dests` at weight `w`; `from` and `to` as Istio reads them.
fn compare(
    got: &Value,
    dests: &[shares::Dest],
    (m, from, to, w): (&Migration, &str, &str, u8),
    at: &str,
    out: &mut Vec<Finding>,
) {
    let Some(want) = shares::expected(dests, from, to, &m.to, w) else {
        return;
    };
    let got: Option<Vec<(Option<String>, u64)>> = got.as_sequence().map(|ds| {
        ds.iter()
            .map(|d| {
                let h = Destination::new(d).host().map(str::to_owned);
                (
                    h,
                    d.get("weight").and_then(Value::as_u64).unwrap_or(u64::MAX),
                )
            })
            .collect()
    });
    if got.as_ref() != Some(&want) {
        out.push(Finding::new(
            "shares",
            format!(
                "{at} at weight {w}: rendered {} but the exact largest-remainder shares are {}",
                show_weights(got.as_deref().unwrap_or_default()),
                show_weights(&want)
            ),
        ));
    }
}

fn show_weights(list: &[(Option<String>, u64)]) -> String {
    let parts: Vec<String> = list
        .iter()
        .map(|(h, w)| format!("{}={w}", h.as_deref().unwrap_or("?")))
        .collect();
    format!("`{}`", parts.join(" "))
}

/// Promote then rollback (or rollback then promote, from the last stage) of each
/// environment gives back the plan's bytes.
fn promote_rollback(case: &Case, plan: &Plan, out: &mut Vec<Finding>) {
    let bytes = case.plan_bytes();
    let mut seen = Vec::new();
    for m in &plan.migrations {
        for env in &m.environments {
            if seen.contains(&env.span) || seen.len() >= 3 {
                continue;
            }
            seen.push(env.span);
            let Some(cur) = m.stage_index(&env.stage) else {
                continue;
            };
            let there = if cur + 1 < m.stages.len() {
                cur + 1
            } else if cur > 0 {
                cur - 1
            } else {
                continue;
            };
            let target = &m.stages[there].name;
            // Refused (anchors, tags, not UTF-8): nothing is edited, nothing to check.
            let Ok(edited) = replace_value(bytes, env.span, target) else {
                continue;
            };
            let mut ignored = Vec::new();
            let Some(moved) = load(case, &edited, &mut ignored) else {
                out.push(Finding::new(
                    "promote-rollback",
                    "moving an environment to another stage gives an invalid plan",
                ));
                continue;
            };
            let Some(now) = moved
                .migrations
                .iter()
                .find(|x| x.name == m.name)
                .and_then(|x| x.environment(&env.name))
            else {
                out.push(Finding::new(
                    "promote-rollback",
                    "the edited plan lost the environment",
                ));
                continue;
            };
            if &now.stage != target {
                out.push(Finding::new(
                    "promote-rollback",
                    "the edited plan does not run the stage asked for",
                ));
                continue;
            }
            let Ok(back) = replace_value(&edited, now.span, &env.stage) else {
                out.push(Finding::new("promote-rollback", "the move back is refused"));
                continue;
            };
            if back != bytes && !documented_requote(bytes, env.span, &env.stage, target) {
                let text = |b: &[u8]| {
                    String::from_utf8_lossy(b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b))
                        .into_owned()
                };
                let before = readers::style_at(&text(bytes), env.span.start.index);
                let after = readers::style_at(&text(&back), env.span.start.index);
                out.push(Finding::new(
                    "promote-rollback",
                    format!(
                        "moving to another stage and back does not give back the plan's bytes: a {} value comes back {}",
                        before.unwrap_or("?"),
                        after.unwrap_or("changed")
                    ),
                ));
            }
        }
    }
}

/// The one case promote documents as not giving back the bytes: double quotes the author
/// put around a name that does not need them, moved to a name that does (`"half"` to
/// `"2"`), cannot be told from quotes promote added, and go on the way back.
fn documented_requote(bytes: &[u8], span: cutover::yaml::Span, from: &str, to: &str) -> bool {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes));
    let written = text
        .ok()
        .and_then(|t| cutover::yaml::scalar_at(t, span.start.index))
        .map(|s| s.written);
    written == Some(cutover::yaml::Written::DoubleQuoted)
        && escape::is_plain_safe_in_1_2(from)
        && !escape::is_plain_safe_in_1_2(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_values_away() {
        assert_eq!(
            normalize("spec.hosts[12]: `1.22` is \"bad\" at 3"),
            "spec.hosts[N]: `…` is \"…\" at N"
        );
    }

    #[test]
    fn a_clean_plan_has_no_findings() {
        let plan = "version: 1\noutput: out\nmigrations:\n  - name: m\n    namespace: ns\n    from: a.example.com\n    to: b.example.com\n    stages: [{mirror: 5}, {weight: 10}, {weight: 100}]\n    environments: {prod: weight-10}\n";
        let (outcome, found) = run(&Case::plan(plan.into()), &Templates::builtin().unwrap());
        assert!(outcome.rendered);
        assert_eq!(found, []);
    }
}
