//! `cutover explain`: the rollout in plain words.

use std::collections::HashMap;

use crate::error::{Diagnostic, Severity};
use crate::plan::stage::{format_duration, Percent, Stage, StageKind};
use crate::plan::{GitOps, Migration, Plan};
use crate::vs::{self, HostResolver, VirtualService, ROUTE_KINDS};
use crate::yaml::{locate, Pos, Span};

/// A short plain-language description of every migration of `plans`.
pub fn text(plans: &[Plan]) -> String {
    let mut out = String::new();
    for plan in plans {
        for m in &plan.migrations {
            if !out.is_empty() {
                out.push('\n');
            }
            migration(&mut out, plan, m);
        }
    }
    out
}

/// One migration: what moves where, through which backend, each stage, the checks
/// before each promotion, and where the environments are.
fn migration(out: &mut String, plan: &Plan, m: &Migration) {
    out.push_str(&format!(
        "Migration {} ({}, namespace {}): moves the traffic that clients send to {} from the ServiceEntry host {} to the GCPBackend host {}, in {} stage{}.\n",
        m.name,
        plan.file,
        m.namespace,
        m.hosts.join(", "),
        m.from,
        m.to,
        m.stages.len(),
        if m.stages.len() == 1 { "" } else { "s" }
    ));
    if let Some(g) = &m.gcp_backend {
        out.push_str(&format!(
            "  The GCPBackend {} points at the Cloud Run service {} in {}{}; the mesh adds the IAM token, so applications send none.\n",
            g.name,
            g.service,
            g.region,
            g.project.as_deref().map(|p| format!(" (project {p})")).unwrap_or_default()
        ));
    }
    if let Some(base) = &m.base {
        out.push_str(&format!(
            "  Each stage rewrites the existing VirtualService in {base}: only routes that send to {} change.\n",
            m.from
        ));
    }
    for (i, s) in m.stages.iter().enumerate() {
        stage(out, m, i, s);
    }
    out.push_str(&format!(
        "  Before each promotion: the error rate of requests to {} must stay at zero, and the GCPBackend's answers must be as expected{}.\n",
        m.from,
        if m.verify.is_some() {
            " (the verification Job must succeed: HTTP 200 with no token in the request)"
        } else {
            ""
        }
    ));
    if let Some(v) = &m.verify {
        out.push_str(&format!(
            "  The verification Job sends {} requests to {} (through the VirtualService) and {} to {} (the GCPBackend directly), from inside the mesh with no Authorization header, and fails unless every answer is HTTP 200; {}.\n",
            v.requests,
            v.url(m.hosts.first().unwrap_or(&m.from)),
            v.requests,
            v.url(&m.to),
            match (v.every_stage, v.gitops) {
                (false, _) => "run it by hand (verify/job.yaml) when you want a check",
                (true, GitOps::None) => "every stage has a Job of its own, run once when the stage is applied and again whenever what the stage deploys changes",
                (true, GitOps::ArgoCd) => "every stage has a Job of its own, an Argo CD PostSync hook run after every sync",
                (true, GitOps::Flux) => "every stage has a Job of its own, which Flux replaces and runs again whenever what the stage deploys changes",
            }
        ));
    }
    if m.stages
        .iter()
        .any(|s| matches!(s.kind, StageKind::Mirror(_)))
    {
        out.push_str(&mirroring(m));
    }
    if !m.environments.is_empty() {
        let envs: Vec<String> = m
            .environments
            .iter()
            .map(|e| format!("{} is at {}", e.name, e.stage))
            .collect();
        out.push_str(&format!(
            "  Environments: {}. `cutover promote {} --env ENV` moves one to its next stage.\n",
            envs.join(", "),
            plan.file
        ));
    }
    match m.stages.last() {
        Some(s) if s.to_weight() < 100 => out.push_str("  The last stage does not send all traffic to the GCPBackend: the migration never completes.\n"),
        Some(last) => out.push_str(&format!(
            "  Once every environment runs {} and has held there, the migration is done: the ServiceEntry for {}, its DestinationRule and any token code left in the applications can go, and so can this migration in the plan (`cutover render` then removes its tree).\n",
            last.name, m.from
        )),
        None => {}
    }
}

/// What happens to mirrored requests, and what to watch before relying on a mirror stage.
fn mirroring(m: &Migration) -> String {
    format!(
        "  Mirroring: the copies go out without waiting for their answers (fire and forget), with the Host/Authority header suffixed -shadow ({}-shadow); each mirrored request is served twice, so only requests that are safe to repeat should be mirrored (a write would happen on both hosts). Mirroring to Cloud Run destinations is not supported everywhere (Google's network services API says so of its own mirror policy): before relying on a mirror stage, check that {} receives the copies (its request count) and answers them without errors.\n",
        m.to, m.to
    )
}

/// [`mirror_warning`] for every migration of `plan` that has one.
pub fn mirror_warnings(plan: &Plan) -> impl Iterator<Item = Diagnostic> + '_ {
    plan.migrations
        .iter()
        .enumerate()
        .filter_map(|(i, m)| mirror_warning(plan, i, m))
}

/// `validate`'s warning for a migration with mirror stages: what happens to mirrored
/// requests and what to watch (`explain` says it at length).
fn mirror_warning(plan: &Plan, index: usize, m: &Migration) -> Option<Diagnostic> {
    let stage = m
        .stages
        .iter()
        .find(|s| matches!(s.kind, StageKind::Mirror(_)))?;
    let mut d = Diagnostic::new(
        Severity::Warning,
        &plan.file,
        format!(
            "stage {} mirrors requests to {}: the copies are sent without waiting for answers, with the Host header suffixed -shadow, and served twice (mirror only requests safe to repeat); mirroring to Cloud Run is not supported everywhere, so check that {} receives the copies",
            stage.name, m.to, m.to
        ),
    )
    .with_field(format!("migrations[{index}]"))
    .with_help(format!(
        "`cutover explain {}` says what to watch at each stage",
        plan.file
    ));
    d.snippet.clone_from(&m.location);
    Some(d)
}

/// Every warning `validate` gives about `plan` beyond the plan's own ([`mirror_warnings`]
/// and [`base_warnings`]); `init` says them too.
pub fn warnings(plan: &Plan) -> impl Iterator<Item = Diagnostic> + '_ {
    mirror_warnings(plan).chain(base_warnings(plan))
}

/// `validate`'s warnings about the base VirtualService of each migration with `base`,
/// each naming the base file and the place in it:
///
/// - a destination host with a dot that Kubernetes DNS completes to `from` but Istio
///   takes as written (`reviews.shop` for `reviews.shop.svc.cluster.local`): it is not
///   `from`, so its share never moves;
/// - an HTTP route that mirrors to `from`: every stage keeps the mirror, so `from`
///   still receives copies after the 100% stage.
///
/// A base that cannot be read gives none (rendering reports it).
pub fn base_warnings(plan: &Plan) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for m in &plan.migrations {
        let Some((rel, text)) = m
            .base
            .as_ref()
            .and_then(|rel| Some((rel, plan.bases.get(rel)?)))
        else {
            continue;
        };
        let Ok(docs) = vs::documents(text) else {
            continue;
        };
        let Some(n) = docs.iter().position(|d| {
            VirtualService::is_one(d)
                && d.get("metadata")
                    .and_then(|x| x.get("name"))
                    .and_then(|x| x.as_str())
                    == Some(m.virtual_service.as_str())
        }) else {
            continue;
        };
        let places = locate::documents(text);
        let at = BaseFile {
            rel,
            text,
            places: places.get(n).filter(|_| places.len() == docs.len()),
            migration: m,
        };
        let base = VirtualService::from(docs[n].clone());
        host_warnings(&base, &at, &mut out);
    }
    out
}

/// A base file being warned about, and where its VirtualService's fields are written.
struct BaseFile<'a> {
    rel: &'a str,
    text: &'a str,
    places: Option<&'a HashMap<String, Pos>>,
    migration: &'a Migration,
}

impl BaseFile<'_> {
    /// A warning about `host` at `path` of the base.
    fn warning(&self, path: &str, field: String, host: &str, message: String) -> Diagnostic {
        let mut d = Diagnostic::new(Severity::Warning, self.rel, message).with_field(field);
        if let Some(start) = self.places.and_then(|p| locate::nearest(p, path)) {
            let width = host.chars().count();
            let end = Pos {
                col: start.col + width,
                index: start.index + width,
                ..start
            };
            d = d.with_span(self.text, Span { start, end });
        }
        d
    }
}

/// The warnings of [`base_warnings`] for one base VirtualService.
fn host_warnings(base: &VirtualService, at: &BaseFile<'_>, out: &mut Vec<Diagnostic>) {
    let from = &at.migration.from;
    let names = HostResolver::of(base, &at.migration.namespace);
    for kind in ROUTE_KINDS {
        for route in base.routes(kind) {
            let i = route.index;
            for (j, d) in route.destinations().into_iter().flatten().enumerate() {
                let Some(host) = d.host() else { continue };
                if let Some(fqdn) = names.unexpanded(host, from) {
                    out.push(at.warning(
                        &format!("spec.{kind}[{i}].route[{j}].destination.host"),
                        format!("spec.{kind}[{i}].route[{j}]"),
                        host,
                        format!("Istio does not expand `{host}`; it is not `from` and keeps its share; write `{fqdn}` if it is meant to move"),
                    ).with_help(format!(
                        "migration {} moves `from` {} (namespace {}); Istio reads a host without a dot, `name`, as `name.<namespace>.svc.cluster.local`, and every other host as written",
                        at.migration.name, from, at.migration.namespace
                    )));
                }
            }
            if kind != "http" {
                continue;
            }
            for (place, host) in route.mirror_hosts() {
                if names.same(host, from) {
                    let path = match place.as_str() {
                        "mirror" => format!("spec.http[{i}].mirror.host"),
                        p => format!("spec.http[{i}].{p}.destination.host"),
                    };
                    out.push(at.warning(
                        &path,
                        format!("spec.http[{i}]"),
                        host,
                        format!("the route mirrors to `{host}`, which is `from` (`{place}`): every stage keeps this mirror, so `from` still receives copies of the requests after the 100% stage; remove the mirror from the base if `from` is to go"),
                    ));
                }
            }
        }
    }
}

/// One numbered line for stage `i` (0-based): where requests go, its hold and its note.
fn stage(out: &mut String, m: &Migration, i: usize, s: &Stage) {
    out.push_str(&format!("  {}. {}: {}.", i + 1, s.name, routing(m, s)));
    if let Some(h) = s.hold {
        out.push_str(&format!(
            " Stay at least {} before promoting.",
            format_duration(h)
        ));
    }
    if let Some(n) = &s.note {
        let stop = if n.ends_with(['.', '!', '?']) {
            ""
        } else {
            "."
        };
        out.push_str(&format!(" Note: {n}{stop}"));
    }
    out.push('\n');
}

/// The requests a header canary stage sends to `to`, in words: with a base, only those
/// its routes send to `from`.
fn canaries(m: &Migration, h: &str, v: &str) -> String {
    if m.base.is_some() {
        format!(
            "requests with the header {h}: {v} that a route sends to {}",
            m.from
        )
    } else {
        format!("requests with the header {h}: {v}")
    }
}

/// Where the requests of stage `s` go, in words.
fn routing(m: &Migration, s: &Stage) -> String {
    match (s.kind, &s.header) {
        (StageKind::Mirror(p), _) => format!(
            "every request is still served by {}; {}% of them are also copied to {} and its answers are discarded",
            m.from,
            Percent(p),
            m.to
        ),
        (StageKind::Weight(0), Some((h, v))) => format!(
            "{} go to {}; all others still go to {}",
            canaries(m, h, v),
            m.to,
            m.from
        ),
        (StageKind::Weight(w), Some((h, v))) => format!(
            "{} go to {}; of the others, {w}% go to {} and {}% to {}",
            canaries(m, h, v),
            m.to,
            m.to,
            100 - w,
            m.from
        ),
        (StageKind::Weight(100), None) => format!("every request goes to {}", m.to),
        (StageKind::Weight(0), None) => format!("every request goes to {}", m.from),
        (StageKind::Weight(w), None) => format!(
            "{w}% of requests go to {} and {}% to {}",
            m.to,
            100 - w,
            m.from
        ),
    }
}
