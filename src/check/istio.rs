//! Checks of VirtualService manifests against Istio's CRD schema and Istio's own
//! semantic rules (`cutover lint`, and every manifest `render` produces). Documents come
//! in as JSON ([`crate::vs::to_json`]): the schema is a JSON Schema.
//!
//! Three layers, all reported at once:
//!
//! - the object itself: `apiVersion` (one of the served `networking.istio.io` versions),
//!   `kind`, `metadata.name` (a DNS-1123 subdomain) and `metadata.namespace` (a DNS-1123
//!   label);
//! - `spec` against the OpenAPI schema of Istio's VirtualService CRD
//!   (`schemas/istio-virtualservice-v1.schema.json`, compiled once). Two adjustments make a
//!   JSON Schema validator judge it as the Kubernetes API server does: `nullable: true`
//!   admits `null`, and objects with declared `properties` reject fields they do not declare
//!   (the API server prunes those, and `kubectl` refuses them with strict field validation,
//!   its default), so a typo such as `wieght` is reported instead of silently dropped;
//! - the rules istiod's validating webhook enforces and the schema cannot express
//!   (`pkg/config/validation` in istio/istio): route / redirect / directResponse conflicts,
//!   weights, destinations, durations, mirroring, fault injection, hosts, gateways, exportTo,
//!   TLS and TCP routes. Istio does not require weights to add up to 100 (since 1.15), so
//!   neither does this module. The host and gateway rules are those of
//!   [`crate::plan::names`], which the plan checker uses too.

use std::collections::HashSet;
use std::sync::LazyLock;

use serde_json::{Map, Value};

use crate::plan::names::{
    self, host_matches, is_dns1123_label, is_dns1123_subdomain, is_label_any_case, subset_of,
};
use crate::vs::MAX_WEIGHT;

/// One problem in a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Where, as a path into the document (`spec.http[0].route[1].weight`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// The `apiVersion`s Istio serves for VirtualService.
pub const API_VERSIONS: [&str; 3] = [
    "networking.istio.io/v1",
    "networking.istio.io/v1beta1",
    "networking.istio.io/v1alpha3",
];

/// `properties.spec` of the vendored CRD schema, without its descriptions (prepared by
/// `build.rs` from `schemas/istio-virtualservice-v1.schema.json`).
const SPEC: &str = include_str!(concat!(env!("OUT_DIR"), "/spec.schema.json"));

/// The `spec` schema, adjusted (see the module docs), parsed once.
static SPEC_SCHEMA: LazyLock<Value> = LazyLock::new(|| {
    let mut spec: Value = serde_json::from_str(SPEC).expect("the prepared schema is JSON");
    adjust(&mut spec);
    spec
});

/// Starts compiling the schema on another thread, so that the work overlaps reading and
/// rendering the plans (a one-plan `check` spends about half its time on it otherwise).
pub fn warm_up() {
    let _ = std::thread::Builder::new()
        .name("schema".into())
        .spawn(|| LazyLock::force(&SPEC_VALIDATOR));
}

/// The compiled `spec` schema (draft 7), built on first use.
static SPEC_VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    jsonschema::draft7::options()
        .should_validate_formats(false)
        .build(&SPEC_SCHEMA)
        .expect("the vendored schema compiles")
});

/// Rewrites the OpenAPI keywords a draft-7 validator does not know into their draft-7
/// meaning: `nullable: true` adds `null` to `type`; an object schema with `properties`
/// and no `additionalProperties` (and no `x-kubernetes-preserve-unknown-fields`) gets
/// `additionalProperties: false`.
fn adjust(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if obj.get("nullable") == Some(&Value::Bool(true)) {
        if let Some(Value::String(t)) = obj.get("type") {
            let t = Value::String(t.clone());
            obj.insert("type".into(), Value::Array(vec![t, "null".into()]));
        }
    }
    if obj.contains_key("properties")
        && !obj.contains_key("additionalProperties")
        && obj.get("x-kubernetes-preserve-unknown-fields") != Some(&Value::Bool(true))
    {
        obj.insert("additionalProperties".into(), Value::Bool(false));
    }
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        props.values_mut().for_each(adjust);
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(sub) = obj.get_mut(key) {
            adjust(sub);
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(subs)) = obj.get_mut(key) {
            subs.iter_mut().for_each(adjust);
        }
    }
}

/// Every violation in `doc`, a whole VirtualService object (apiVersion, kind, metadata,
/// spec).
pub fn virtual_service(doc: &Value) -> Vec<Violation> {
    let mut v = Checker::default();
    let Some(obj) = doc.as_object() else {
        v.push("", "a VirtualService must be a mapping");
        return v.out;
    };
    match obj.get("apiVersion") {
        Some(Value::String(a)) if API_VERSIONS.contains(&a.as_str()) => {}
        Some(Value::String(a)) => v.push(
            "apiVersion",
            format!(
                "unsupported apiVersion `{a}`; expected one of {}",
                API_VERSIONS.join(", ")
            ),
        ),
        Some(_) => v.push("apiVersion", "apiVersion must be a string"),
        None => v.push("apiVersion", "missing required field `apiVersion`"),
    }
    match obj.get("kind") {
        Some(Value::String(k)) if k == "VirtualService" => {}
        Some(k) => v.push("kind", format!("kind is {k}, expected `VirtualService`")),
        None => v.push("kind", "missing required field `kind`"),
    }
    let mut namespace = None;
    match obj.get("metadata") {
        Some(Value::Object(meta)) => {
            match meta.get("name") {
                Some(Value::String(n)) if is_dns1123_subdomain(n) => {}
                Some(Value::String(n)) => v.push(
                    "metadata.name",
                    format!("`{n}` is not a DNS-1123 subdomain (lowercase letters, digits, `-` and `.`, at most 253 characters)"),
                ),
                Some(_) => v.push("metadata.name", "metadata.name must be a string"),
                None => v.push("metadata.name", "missing required field `name`"),
            }
            match meta.get("namespace") {
                None | Some(Value::Null) => {}
                Some(Value::String(n)) if is_dns1123_label(n) => namespace = Some(n.as_str()),
                Some(Value::String(n)) => v.push(
                    "metadata.namespace",
                    format!("`{n}` is not a DNS-1123 label (lowercase letters, digits and `-`, at most 63 characters)"),
                ),
                Some(_) => v.push("metadata.namespace", "metadata.namespace must be a string"),
            }
        }
        Some(_) => v.push("metadata", "metadata must be a mapping"),
        None => v.push("metadata", "missing required field `metadata`"),
    }
    match obj.get("spec") {
        Some(spec) => {
            v.schema(spec);
            if let Some(spec) = spec.as_object() {
                v.spec(spec, namespace);
            }
        }
        None => v.push("spec", "missing required field `spec`"),
    }
    v.out
}

/// Collects violations.
#[derive(Default)]
struct Checker {
    out: Vec<Violation>,
}

impl Checker {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.out.push(Violation {
            path: path.into(),
            message: message.into(),
        });
    }

    /// `spec` against the CRD schema.
    fn schema(&mut self, spec: &Value) {
        for e in SPEC_VALIDATOR.iter_errors(spec) {
            let path = dotted(spec, e.instance_path().as_str());
            match e.kind() {
                jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                    for field in unexpected {
                        self.push(join(&path, field), format!("unknown field `{field}`"));
                    }
                }
                jsonschema::error::ValidationErrorKind::Required { property } => {
                    let name = property
                        .as_str()
                        .map_or(property.to_string(), str::to_owned);
                    self.push(path, format!("missing required field `{name}`"));
                }
                jsonschema::error::ValidationErrorKind::OneOfMultipleValid { .. } => {
                    let fields = exclusive_fields(e.schema_path().as_str(), e.instance());
                    self.push(
                        path,
                        format!("only one of {} may be set", fields.join(", ")),
                    );
                }
                _ => {
                    let mut msg = e.to_string();
                    if msg.chars().count() > 200 {
                        msg = msg.chars().take(200).collect::<String>() + "…";
                    }
                    self.push(path, msg);
                }
            }
        }
    }

    /// Istio's semantic rules for `spec`.
    fn spec(&mut self, spec: &Map<String, Value>, namespace: Option<&str>) {
        let hosts: Vec<&str> = strings(spec.get("hosts"));
        let gateways: Vec<&str> = strings(spec.get("gateways"));
        // No hosts: a delegate VirtualService. (Hosts of the wrong type are the schema's.)
        let delegate = match present(spec, "hosts") {
            None => true,
            Some(Value::Array(a)) => a.is_empty(),
            Some(_) => false,
        };
        let mesh = gateways.is_empty() || gateways.contains(&"mesh");
        self.hosts(&hosts, mesh);
        for (i, g) in gateways.iter().enumerate() {
            if let Err(why) = names::gateway(g) {
                self.push(
                    format!("spec.gateways[{i}]"),
                    format!("gateway `{g}`: {why}"),
                );
            }
        }
        if let Some(Value::Array(export)) = present(spec, "exportTo") {
            self.export_to(export, namespace);
        }
        let http = array(spec, "http");
        let tcp = array(spec, "tcp");
        let tls = array(spec, "tls");
        if delegate {
            self.delegate_lists(&gateways, tcp, tls);
        } else if http.is_empty() && tcp.is_empty() && tls.is_empty() {
            self.push(
                "spec",
                "at least one of http, tcp or tls routes is required",
            );
        }
        for (i, r) in http.iter().enumerate() {
            if let Some(r) = r.as_object() {
                self.http_route(&format!("spec.http[{i}]"), r, delegate);
            }
        }
        for (i, r) in tcp.iter().enumerate() {
            if let Some(r) = r.as_object() {
                let path = format!("spec.tcp[{i}]");
                self.l4_route(&path, r, "TCP");
            }
        }
        for (i, r) in tls.iter().enumerate() {
            if let Some(r) = r.as_object() {
                self.tls_route(&format!("spec.tls[{i}]"), r, &hosts);
            }
        }
    }

    /// `spec.hosts`: each a host name (or `*` off the mesh), no two overlapping.
    fn hosts(&mut self, hosts: &[&str], mesh: bool) {
        for (i, h) in hosts.iter().enumerate() {
            if let Err(e) = names::virtual_service_host(h, mesh) {
                self.push(format!("spec.hosts[{i}]"), e.message("host", h));
            }
        }
        for i in 0..hosts.len() {
            for j in i + 1..hosts.len() {
                if host_matches(hosts[i], hosts[j]) {
                    let what = if hosts[i] == hosts[j] {
                        format!("duplicate host `{}`", hosts[j])
                    } else {
                        format!("host `{}` overlaps host `{}`", hosts[j], hosts[i])
                    };
                    self.push(format!("spec.hosts[{j}]"), what);
                }
            }
        }
    }

    /// A delegate VirtualService (no hosts) has HTTP routes only and no gateways.
    fn delegate_lists(&mut self, gateways: &[&str], tcp: &[Value], tls: &[Value]) {
        if !gateways.is_empty() {
            self.push(
                "spec.gateways",
                "a delegate VirtualService (no hosts) must not have gateways",
            );
        }
        if !tcp.is_empty() {
            self.push(
                "spec.tcp",
                "a delegate VirtualService (no hosts) must not have tcp routes",
            );
        }
        if !tls.is_empty() {
            self.push(
                "spec.tls",
                "a delegate VirtualService (no hosts) must not have tls routes",
            );
        }
    }

    /// A TLS route: matches with SNI hosts among the VirtualService's hosts, and
    /// destinations.
    fn tls_route(&mut self, path: &str, r: &Map<String, Value>, hosts: &[&str]) {
        let matches = array(r, "match");
        if matches.is_empty() {
            self.push(
                format!("{path}.match"),
                "a TLS route needs at least one match with sniHosts",
            );
        }
        for (j, m) in matches.iter().enumerate() {
            let Some(m) = m.as_object() else { continue };
            let sni = strings(m.get("sniHosts"));
            if sni.is_empty() {
                self.push(
                    format!("{path}.match[{j}].sniHosts"),
                    "a TLS match needs at least one SNI host",
                );
            }
            for (k, s) in sni.iter().enumerate() {
                let p = format!("{path}.match[{j}].sniHosts[{k}]");
                if let Err(e) = names::wildcard_domain(s) {
                    if !names::is_ip(s) {
                        self.push(p, e.message("SNI host", s));
                    }
                } else if !hosts.iter().any(|h| subset_of(s, h)) {
                    self.push(
                        p,
                        format!(
                            "SNI host `{s}` is not a subset of any of the VirtualService hosts"
                        ),
                    );
                }
            }
        }
        self.l4_route(path, r, "TLS");
    }

    fn export_to(&mut self, export: &[Value], namespace: Option<&str>) {
        let mut seen = HashSet::new();
        let mut public = false;
        let mut count = 0;
        for (i, e) in export.iter().enumerate() {
            let Some(e) = e.as_str() else { continue };
            let path = format!("spec.exportTo[{i}]");
            count += 1;
            public |= e == "*";
            let key = if e == "." {
                namespace.unwrap_or(".")
            } else {
                e
            };
            if !seen.insert(key) {
                if e == "." || Some(e) == namespace {
                    self.push(
                        path,
                        format!("duplicate exportTo entry `{e}` (`.` is the VirtualService's own namespace)"),
                    );
                } else {
                    self.push(path, format!("duplicate exportTo entry `{e}`"));
                }
                continue;
            }
            if e != "." && e != "*" && !is_dns1123_label(e) {
                self.push(
                    path,
                    format!(
                        "exportTo entry `{e}` must be `.`, `*` or a namespace (a DNS-1123 label)"
                    ),
                );
            }
        }
        if public && count > 1 {
            self.push(
                "spec.exportTo",
                "`*` (exported to all namespaces) cannot be combined with other exportTo entries",
            );
        }
    }

    /// An HTTP route: what it does, its destinations, mirrors, durations and faults.
    fn http_route(&mut self, path: &str, r: &Map<String, Value>, in_delegate_vs: bool) {
        self.http_action(path, r, in_delegate_vs);
        self.destinations(path, r, "HTTP");
        self.mirroring(path, r);
        self.http_durations(path, r);
        if let Some(Value::Object(f)) = present(r, "fault") {
            self.fault(&format!("{path}.fault"), f);
        }
    }

    /// Exactly one of route, redirect, directResponse or delegate, and none of the
    /// fields that cannot go with it.
    fn http_action(&mut self, path: &str, r: &Map<String, Value>, in_delegate_vs: bool) {
        let route = present(r, "route").filter(|v| v.as_array().is_some_and(|a| !a.is_empty()));
        let redirect = present(r, "redirect");
        let direct = present(r, "directResponse");
        let delegate = present(r, "delegate");
        let fault = present(r, "fault");
        let rewrite = present(r, "rewrite");

        if route.is_none() && redirect.is_none() && direct.is_none() && delegate.is_none() {
            self.push(
                path,
                "an HTTP route needs one of route, redirect, directResponse or delegate",
            );
        }
        if redirect.is_some() {
            self.conflicts(
                path,
                "redirect",
                &[
                    ("route", route.is_some()),
                    ("fault", fault.is_some()),
                    ("rewrite", rewrite.is_some()),
                    ("directResponse", direct.is_some()),
                ],
            );
        }
        if direct.is_some() {
            self.conflicts(
                path,
                "directResponse",
                &[
                    ("route", route.is_some()),
                    ("fault", fault.is_some()),
                    ("rewrite", rewrite.is_some()),
                ],
            );
        }
        if delegate.is_some() {
            if in_delegate_vs {
                self.push(
                    format!("{path}.delegate"),
                    "a delegate VirtualService (no hosts) cannot delegate again",
                );
            }
            self.conflicts(
                path,
                "delegate",
                &[("route", route.is_some()), ("redirect", redirect.is_some())],
            );
        }
    }

    /// `field` of the route at `path` is set: each of `others` that is set too is a
    /// violation.
    fn conflicts(&mut self, path: &str, field: &str, others: &[(&str, bool)]) {
        for (other, set) in others {
            if *set {
                self.push(
                    format!("{path}.{field}"),
                    format!("{field} cannot be used together with {other}"),
                );
            }
        }
    }

    /// `mirror` or `mirrors` (not both), their destinations and percentages.
    fn mirroring(&mut self, path: &str, r: &Map<String, Value>) {
        let mirror = present(r, "mirror");
        if mirror.is_some() && present(r, "mirrors").is_some() {
            self.push(
                format!("{path}.mirrors"),
                "mirror and mirrors cannot both be set",
            );
        }
        if let Some(Value::Object(d)) = mirror {
            self.destination(&format!("{path}.mirror"), d);
        }
        if let Some(p) = present(r, "mirrorPercentage") {
            self.percentage(&format!("{path}.mirrorPercentage.value"), p);
        }
        for key in ["mirrorPercent", "mirror_percent"] {
            if let Some(n) = present(r, key).and_then(Value::as_i64) {
                if n > 100 {
                    self.push(
                        format!("{path}.{key}"),
                        format!("{key} {n} is more than 100"),
                    );
                }
            }
        }
        for (i, m) in array(r, "mirrors").iter().enumerate() {
            let Some(m) = m.as_object() else { continue };
            let p = format!("{path}.mirrors[{i}]");
            if let Some(Value::Object(d)) = present(m, "destination") {
                self.destination(&format!("{p}.destination"), d);
            }
            if let Some(pc) = present(m, "percentage") {
                self.percentage(&format!("{p}.percentage.value"), pc);
            }
        }
    }

    /// `timeout`, `retries` and `corsPolicy.maxAge`.
    fn http_durations(&mut self, path: &str, r: &Map<String, Value>) {
        if let Some(t) = present(r, "timeout") {
            self.duration(&format!("{path}.timeout"), t, Precision::Millis);
        }
        if let Some(Value::Object(retries)) = present(r, "retries") {
            let p = format!("{path}.retries");
            if let Some(a) = present(retries, "attempts").and_then(Value::as_i64) {
                if a < 0 {
                    self.push(format!("{p}.attempts"), format!("attempts {a} is negative"));
                }
            }
            for key in ["perTryTimeout", "backoff"] {
                if let Some(t) = present(retries, key) {
                    self.duration(&format!("{p}.{key}"), t, Precision::Millis);
                }
            }
        }
        if let Some(Value::Object(cors)) = present(r, "corsPolicy") {
            if let Some(t) = present(cors, "maxAge") {
                self.duration(&format!("{path}.corsPolicy.maxAge"), t, Precision::Seconds);
            }
        }
    }

    /// Fault injection at `path`: an abort or a delay, with valid durations and
    /// percentages.
    fn fault(&mut self, p: &str, f: &Map<String, Value>) {
        let abort = present(f, "abort");
        let delay = present(f, "delay");
        if abort.is_none() && delay.is_none() {
            self.push(p, "fault injection needs abort or delay");
        }
        if let Some(Value::Object(d)) = delay {
            if let Some(t) = present(d, "fixedDelay") {
                self.duration(&format!("{p}.delay.fixedDelay"), t, Precision::Millis);
            }
            if let Some(pc) = present(d, "percentage") {
                self.percentage(&format!("{p}.delay.percentage.value"), pc);
            }
            if let Some(n) = present(d, "percent").and_then(Value::as_i64) {
                if !(0..=100).contains(&n) {
                    self.push(
                        format!("{p}.delay.percent"),
                        format!("percent {n} is outside 0..100"),
                    );
                }
            }
        }
        if let Some(Value::Object(a)) = abort {
            if let Some(pc) = present(a, "percentage") {
                self.percentage(&format!("{p}.abort.percentage.value"), pc);
            }
        }
    }

    /// TCP and TLS routes: at least one route, with valid destinations.
    fn l4_route(&mut self, path: &str, r: &Map<String, Value>, kind: &str) {
        if array(r, "route").is_empty() {
            self.push(
                format!("{path}.route"),
                format!("a {kind} route needs at least one route destination"),
            );
        }
        self.destinations(path, r, kind);
    }

    /// `route[]` of an HTTP, TCP or TLS route: destinations and weights.
    fn destinations(&mut self, path: &str, r: &Map<String, Value>, kind: &str) {
        let routes = array(r, "route");
        let mut total: i128 = 0;
        for (i, rd) in routes.iter().enumerate() {
            let p = format!("{path}.route[{i}]");
            let Some(rd) = rd.as_object() else {
                if rd.is_null() {
                    self.push(p, "a route destination may not be null");
                }
                continue;
            };
            if let Some(Value::Object(d)) = present(rd, "destination") {
                self.destination(&format!("{p}.destination"), d);
            }
            // Not an integer: the schema says so.
            if let Some(w) = present(rd, "weight").and_then(integer) {
                if w < 0 {
                    self.push(format!("{p}.weight"), format!("weight {w} is negative"));
                } else if w > i128::from(MAX_WEIGHT) {
                    self.push(
                        format!("{p}.weight"),
                        format!("weight {w} is larger than {MAX_WEIGHT}: Istio weights are 32-bit integers"),
                    );
                } else {
                    total += w;
                }
            }
        }
        if routes.len() > 1 && total == 0 {
            self.push(
                format!("{path}.route"),
                format!("the {kind} route has {} destinations and their total weight is 0; at least one needs a weight above 0", routes.len()),
            );
        }
    }

    /// A `destination` (route, mirror or mirrors entry).
    fn destination(&mut self, path: &str, d: &Map<String, Value>) {
        // Missing or of the wrong type: the schema reports it.
        if let Some(Value::String(h)) = present(d, "host") {
            if let Err(e) = names::destination_host(h) {
                self.push(format!("{path}.host"), e.message("destination host", h));
            }
        }
        if let Some(Value::String(s)) = present(d, "subset") {
            if !is_label_any_case(s) {
                self.push(
                    format!("{path}.subset"),
                    format!("subset `{s}` is not a DNS-1123 label (letters, digits and `-`, at most 63 characters)"),
                );
            }
        }
        if let Some(Value::Object(port)) = present(d, "port") {
            if let Some(n) = present(port, "number").and_then(Value::as_i64) {
                if !(1..=65535).contains(&n) {
                    self.push(
                        format!("{path}.port.number"),
                        format!("port {n} is outside 1..65535"),
                    );
                }
            }
        }
    }

    /// A `{value: P}` percentage: P in 0..100.
    fn percentage(&mut self, path: &str, p: &Value) {
        if let Some(n) = p.get("value").and_then(Value::as_f64) {
            if !(0.0..=100.0).contains(&n) {
                self.push(path, format!("percentage {n} is outside 0..100"));
            }
        }
    }

    /// A Go-style duration string, at least 1ms, at the given precision.
    fn duration(&mut self, path: &str, v: &Value, precision: Precision) {
        let Some(s) = v.as_str() else { return };
        match parse_duration(s) {
            None => self.push(
                path,
                format!("`{s}` is not a duration (a number and a unit: `500ms`, `1.5s`, `1m30s`)"),
            ),
            Some(ns) if ns < 1_000_000 => {
                self.push(path, format!("duration `{s}` is shorter than 1ms"));
            }
            Some(ns) => match precision {
                Precision::Millis if ns % 1_000_000 != 0 => {
                    self.push(
                        path,
                        format!("duration `{s}` is finer than milliseconds, which Istio does not support"),
                    );
                }
                Precision::Seconds if ns % 1_000_000_000 != 0 => {
                    self.push(
                        path,
                        format!("duration `{s}` is finer than seconds; maxAge is accurate only to seconds"),
                    );
                }
                _ => {}
            },
        }
    }
}

#[derive(Clone, Copy)]
enum Precision {
    Millis,
    Seconds,
}

/// The value of `key`, unless it is absent or `null`.
/// The value of a JSON number that is an integer, of any size: `1e10` and `10.0` are
/// integers to a JSON Schema (and to Istio's JSON reader); `1.5` is not. Floats beyond
/// `i128` saturate, which keeps them out of any range checked here.
fn integer(v: &Value) -> Option<i128> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i128::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Some(i128::from(u));
    }
    let f = n.as_f64()?;
    // `as` saturates (and the value is whole): exact for everything in range.
    (f.fract() == 0.0).then_some(f as i128)
}

fn present<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).filter(|v| !v.is_null())
}

/// The array at `key`, or an empty slice.
fn array<'a>(m: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    m.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The strings of an array value (others are left to the schema).
fn strings(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Joins a field name to a dotted path.
fn join(path: &str, field: &str) -> String {
    let plain = !field.is_empty()
        && field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !field.starts_with(|c: char| c.is_ascii_digit() || c == '-');
    if plain {
        if path.is_empty() {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        }
    } else {
        format!(
            "{path}[{}]",
            serde_json::to_string(field).unwrap_or_default()
        )
    }
}

/// The dotted path (`spec.http[0].route[1].weight`) of a JSON pointer into `spec`.
fn dotted(spec: &Value, pointer: &str) -> String {
    let mut path = String::from("spec");
    let mut at = Some(spec);
    for raw in pointer.split('/').skip(1) {
        let seg = raw.replace("~1", "/").replace("~0", "~");
        match at {
            Some(Value::Array(a)) => {
                let i: usize = seg.parse().unwrap_or(usize::MAX);
                path.push_str(&format!("[{seg}]"));
                at = a.get(i);
            }
            other => {
                path = join(&path, &seg);
                at = other.and_then(|v| v.get(&seg));
            }
        }
    }
    path
}

/// For a `oneOf` that more than one branch matched: the fields of `instance` named by the
/// `required` of its branches (the mutually exclusive fields that are set).
fn exclusive_fields(schema_path: &str, instance: &Value) -> Vec<String> {
    let set = |name: &str| instance.get(name).is_some();
    let mut fields: Vec<String> = SPEC_SCHEMA
        .pointer(schema_path)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|b| b.get("required").and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .filter(|f| set(f))
        .map(|f| format!("`{f}`"))
        .collect();
    fields.dedup();
    if fields.is_empty() {
        fields.push("the alternatives".into());
    }
    fields
}

/// Parses a Go duration (`time.ParseDuration`: `300ms`, `1.5h`, `2h45m`, `0`) into
/// nanoseconds. Negative durations parse to negative values.
pub fn parse_duration(s: &str) -> Option<i128> {
    let (neg, mut rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(r) = rest.strip_prefix('.') {
            let frac_len = r.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &r[..frac_len];
            rest = &r[frac_len..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        let unit: i128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        let int: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().ok().filter(|n: &i128| *n < 1 << 63)?
        };
        let mut frac: i128 = 0;
        let mut scale: i128 = 1;
        for d in frac_part.bytes().take(30) {
            frac = frac * 10 + i128::from(d - b'0');
            scale *= 10;
        }
        total = total
            .checked_add(int.checked_mul(unit)?)?
            .checked_add(frac * unit / scale)?;
        if total >= 1 << 63 {
            return None;
        }
    }
    Some(if neg { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A valid VirtualService with `spec` replaced.
    fn vs(spec: Value) -> Value {
        json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": "reviews", "namespace": "default"},
            "spec": spec,
        })
    }

    /// A valid VirtualService whose only HTTP route is `route`.
    fn http(route: Value) -> Value {
        vs(json!({"hosts": ["reviews"], "http": [route]}))
    }

    fn dest(host: &str) -> Value {
        json!({"destination": {"host": host}})
    }

    fn ok(doc: Value) {
        let v = virtual_service(&doc);
        assert!(
            v.is_empty(),
            "expected no violations, got {v:#?}\nin {doc:#}"
        );
    }

    /// Asserts a violation at `path` whose message contains `msg`.
    fn bad(doc: Value, path: &str, msg: &str) {
        let v = virtual_service(&doc);
        assert!(
            v.iter().any(|x| x.path == path && x.message.contains(msg)),
            "expected `{path}: …{msg}…`, got {v:#?}\nin {doc:#}"
        );
    }

    #[test]
    fn minimal_and_reference_documents_are_valid() {
        ok(http(json!({"route": [dest("reviews")]})));
        ok(http(json!({"route": [
            {"destination": {"host": "cr-gcpbackend.com"}, "weight": 10},
            {"destination": {"host": "cr-service-entry.com"}, "weight": 90},
        ]})));
    }

    #[test]
    fn api_version() {
        for a in API_VERSIONS {
            let mut d = http(json!({"route": [dest("a")]}));
            d["apiVersion"] = json!(a);
            ok(d);
        }
        let mut d = http(json!({"route": [dest("a")]}));
        d["apiVersion"] = json!("networking.istio.io/v2");
        bad(d.clone(), "apiVersion", "unsupported apiVersion");
        d.as_object_mut().unwrap().remove("apiVersion");
        bad(d, "apiVersion", "missing");
    }

    #[test]
    fn kind() {
        let mut d = http(json!({"route": [dest("a")]}));
        d["kind"] = json!("DestinationRule");
        bad(d, "kind", "expected `VirtualService`");
    }

    #[test]
    fn metadata_name_and_namespace() {
        let mut d = http(json!({"route": [dest("a")]}));
        d["metadata"] = json!({"name": "a.b-c"});
        ok(d.clone());
        d["metadata"] = json!({"name": "Reviews"});
        bad(d.clone(), "metadata.name", "DNS-1123 subdomain");
        d["metadata"] = json!({});
        bad(d.clone(), "metadata.name", "missing");
        d["metadata"] = json!({"name": "a", "namespace": "a.b"});
        bad(d, "metadata.namespace", "DNS-1123 label");
    }

    #[test]
    fn schema_errors_have_dotted_paths() {
        bad(
            http(json!({"route": [dest("a"), {"destination": {"host": "b"}, "weight": "10"}]})),
            "spec.http[0].route[1].weight",
            "is not of type \"integer\"",
        );
        bad(
            http(json!({"route": [{"destination": {"subset": "v1"}}]})),
            "spec.http[0].route[0].destination",
            "missing required field `host`",
        );
        bad(
            http(json!({"route": [{"destination": {"host": "a"}, "wieght": 10}]})),
            "spec.http[0].route[0].wieght",
            "unknown field `wieght`",
        );
        bad(
            http(json!({"match": [{"uri": {"exact": "/a", "prefix": "/"}}], "route": [dest("a")]})),
            "spec.http[0].match[0].uri",
            "only one of `exact`, `prefix` may be set",
        );
        bad(
            vs(json!({"hosts": "reviews", "http": []})),
            "spec.hosts",
            "is not of type \"array\"",
        );
        // Header names are keys, not fields: any name is accepted, odd ones are quoted in paths.
        ok(http(
            json!({"route": [dest("a")], "headers": {"request": {"set": {"x-a.b": "1"}}}}),
        ));
        bad(
            http(json!({"route": [dest("a")], "headers": {"request": {"set": {"x-a.b": 1}}}})),
            "spec.http[0].headers.request.set[\"x-a.b\"]",
            "is not of type \"string\"",
        );
    }

    #[test]
    fn nullable_fields_accept_null() {
        ok(http(json!({"route": [dest("a")], "mirrorPercent": null})));
        ok(http(
            json!({"route": [dest("a")], "retries": {"attempts": 1, "retryRemoteLocalities": null}}),
        ));
        bad(
            http(json!({"route": [dest("a")], "timeout": null, "name": 1})),
            "spec.http[0].name",
            "not of type",
        );
    }

    #[test]
    fn http_route_needs_an_action() {
        ok(http(json!({"redirect": {"uri": "/x"}})));
        ok(http(json!({"directResponse": {"status": 503}})));
        ok(http(json!({"delegate": {"name": "reviews-delegate"}})));
        bad(
            http(json!({"name": "x"})),
            "spec.http[0]",
            "needs one of route",
        );
        bad(
            http(json!({"route": []})),
            "spec.http[0]",
            "needs one of route",
        );
    }

    #[test]
    fn redirect_conflicts() {
        for (other, value) in [
            ("route", json!([dest("a")])),
            ("fault", json!({"abort": {"httpStatus": 500}})),
            ("rewrite", json!({"uri": "/"})),
            ("directResponse", json!({"status": 200})),
        ] {
            let mut r = json!({"redirect": {"uri": "/x"}});
            r[other] = value;
            bad(
                http(r),
                "spec.http[0].redirect",
                &format!("together with {other}"),
            );
        }
    }

    #[test]
    fn direct_response_conflicts() {
        ok(http(
            json!({"directResponse": {"status": 200, "body": {"string": "hi"}}}),
        ));
        for (other, value) in [
            ("route", json!([dest("a")])),
            ("fault", json!({"abort": {"httpStatus": 500}})),
            ("rewrite", json!({"uri": "/"})),
        ] {
            let mut r = json!({"directResponse": {"status": 200}});
            r[other] = value;
            bad(
                http(r),
                "spec.http[0].directResponse",
                &format!("together with {other}"),
            );
        }
        // With a redirect, it is reported once, on the redirect.
        let v = virtual_service(&http(
            json!({"directResponse": {"status": 200}, "redirect": {"uri": "/"}}),
        ));
        assert_eq!(v.len(), 1, "{v:#?}");
    }

    #[test]
    fn mirror_and_mirrors() {
        ok(http(
            json!({"route": [dest("a")], "mirror": {"host": "b"}, "mirrorPercentage": {"value": 12.5}}),
        ));
        ok(http(
            json!({"route": [dest("a")], "mirrors": [{"destination": {"host": "b"}, "percentage": {"value": 100}}]}),
        ));
        bad(
            http(
                json!({"route": [dest("a")], "mirror": {"host": "b"}, "mirrors": [{"destination": {"host": "c"}}]}),
            ),
            "spec.http[0].mirrors",
            "cannot both be set",
        );
        bad(
            http(json!({"route": [dest("a")], "mirror": {"host": "*"}})),
            "spec.http[0].mirror.host",
            "`*`",
        );
    }

    #[test]
    fn mirror_percentages() {
        ok(http(
            json!({"route": [dest("a")], "mirror": {"host": "b"}, "mirrorPercentage": {"value": 0}}),
        ));
        bad(
            http(
                json!({"route": [dest("a")], "mirror": {"host": "b"}, "mirrorPercentage": {"value": 100.5}}),
            ),
            "spec.http[0].mirrorPercentage.value",
            "outside 0..100",
        );
        bad(
            http(
                json!({"route": [dest("a")], "mirror": {"host": "b"}, "mirrorPercentage": {"value": -1}}),
            ),
            "spec.http[0].mirrorPercentage.value",
            "outside 0..100",
        );
        bad(
            http(
                json!({"route": [dest("a")], "mirrors": [{"destination": {"host": "b"}, "percentage": {"value": 101}}]}),
            ),
            "spec.http[0].mirrors[0].percentage.value",
            "outside 0..100",
        );
        ok(http(
            json!({"route": [dest("a")], "mirror": {"host": "b"}, "mirrorPercent": 100}),
        ));
        bad(
            http(json!({"route": [dest("a")], "mirror": {"host": "b"}, "mirrorPercent": 101})),
            "spec.http[0].mirrorPercent",
            "more than 100",
        );
    }

    #[test]
    fn weights() {
        // Weights need not add up to 100 (Istio 1.15+).
        ok(http(json!({"route": [
            {"destination": {"host": "a"}, "weight": 550},
            {"destination": {"host": "b"}, "weight": 500},
        ]})));
        ok(http(
            json!({"route": [{"destination": {"host": "a"}, "weight": 0}]}),
        ));
        ok(http(json!({"route": [
            {"destination": {"host": "a"}, "weight": 100},
            {"destination": {"host": "b"}, "weight": 0},
        ]})));
        bad(
            http(json!({"route": [{"destination": {"host": "a"}, "weight": -1}]})),
            "spec.http[0].route[0].weight",
            "negative",
        );
        // Weights are 32-bit, whatever JSON number holds a larger one.
        ok(http(
            json!({"route": [{"destination": {"host": "a"}, "weight": 2_147_483_647}]}),
        ));
        ok(http(json!({"route": [
            {"destination": {"host": "a"}, "weight": 10.0},
            {"destination": {"host": "b"}, "weight": 0},
        ]})));
        for big in [
            json!(2_147_483_648_u64),
            json!(9_223_372_036_854_775_808_u64),
            json!(u64::MAX),
            json!(1e10),
            json!(1e300),
        ] {
            bad(
                http(json!({"route": [{"destination": {"host": "a"}, "weight": big}]})),
                "spec.http[0].route[0].weight",
                "larger than 2147483647",
            );
        }
        bad(
            http(json!({"route": [{"destination": {"host": "a"}, "weight": -1.0}]})),
            "spec.http[0].route[0].weight",
            "negative",
        );
        bad(
            http(json!({"route": [dest("a"), dest("b")]})),
            "spec.http[0].route",
            "total weight is 0",
        );
        bad(
            vs(json!({"hosts": ["a"], "tcp": [{"route": [
                {"destination": {"host": "a"}, "weight": 0},
                {"destination": {"host": "b"}, "weight": 0},
            ]}]})),
            "spec.tcp[0].route",
            "total weight is 0",
        );
    }

    #[test]
    fn destinations() {
        ok(http(
            json!({"route": [{"destination": {"host": "reviews.default.svc.cluster.local", "subset": "v1", "port": {"number": 9080}}}]}),
        ));
        ok(http(json!({"route": [dest("*.example.com")]})));
        bad(
            http(json!({"route": [dest("*")]})),
            "spec.http[0].route[0].destination.host",
            "`*` is not allowed",
        );
        bad(
            http(json!({"route": [dest("")]})),
            "spec.http[0].route[0].destination.host",
            "empty",
        );
        bad(
            http(json!({"route": [dest("a_b.com")]})),
            "spec.http[0].route[0].destination.host",
            "not a valid DNS name",
        );
        bad(
            http(json!({"route": [dest("a.*.com")]})),
            "spec.http[0].route[0].destination.host",
            "not a valid DNS name",
        );
        bad(
            http(json!({"route": [dest("10.0.0.1")]})),
            "spec.http[0].route[0].destination.host",
            "all digits",
        );
        bad(
            http(json!({"route": [{"destination": {"host": "a", "subset": "v_1"}}]})),
            "spec.http[0].route[0].destination.subset",
            "DNS-1123 label",
        );
        for port in [0, 65536] {
            bad(
                http(json!({"route": [{"destination": {"host": "a", "port": {"number": port}}}]})),
                "spec.http[0].route[0].destination.port.number",
                "outside 1..65535",
            );
        }
        ok(http(
            json!({"route": [{"destination": {"host": "a", "port": {"number": 65535}}}]}),
        ));
    }

    #[test]
    fn durations() {
        for (field, route) in [
            ("timeout", json!({"route": [dest("a")], "timeout": "D"})),
            (
                "retries.perTryTimeout",
                json!({"route": [dest("a")], "retries": {"attempts": 2, "perTryTimeout": "D"}}),
            ),
            (
                "retries.backoff",
                json!({"route": [dest("a")], "retries": {"attempts": 2, "backoff": "D"}}),
            ),
            (
                "fault.delay.fixedDelay",
                json!({"route": [dest("a")], "fault": {"delay": {"fixedDelay": "D"}}}),
            ),
            (
                "corsPolicy.maxAge",
                json!({"route": [dest("a")], "corsPolicy": {"maxAge": "D"}}),
            ),
        ] {
            let with = |d: &str| {
                http(
                    serde_json::from_str(&route.to_string().replace("\"D\"", &format!("{d:?}")))
                        .unwrap(),
                )
            };
            for good in ["1s", "1m30s", "2h", "10s"] {
                ok(with(good));
            }
            let path = format!("spec.http[0].{field}");
            bad(with("10"), &path, "not a duration");
            bad(with("soon"), &path, "not a duration");
            bad(with("0s"), &path, "shorter than 1ms");
            bad(with("-1s"), &path, "shorter than 1ms");
            bad(with("500us"), &path, "shorter than 1ms");
        }
        ok(http(json!({"route": [dest("a")], "timeout": "500ms"})));
        ok(http(json!({"route": [dest("a")], "timeout": "1.5s"})));
        bad(
            http(json!({"route": [dest("a")], "timeout": "1500us"})),
            "spec.http[0].timeout",
            "finer than milliseconds",
        );
        bad(
            http(json!({"route": [dest("a")], "corsPolicy": {"maxAge": "1.5s"}})),
            "spec.http[0].corsPolicy.maxAge",
            "finer than seconds",
        );
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("0"), Some(0));
        assert_eq!(parse_duration("1s"), Some(1_000_000_000));
        assert_eq!(parse_duration("500ms"), Some(500_000_000));
        assert_eq!(parse_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_duration(".5s"), Some(500_000_000));
        assert_eq!(parse_duration("1m30s"), Some(90_000_000_000));
        assert_eq!(parse_duration("1h0.5m"), Some(3_630_000_000_000));
        assert_eq!(parse_duration("3µs"), Some(3_000));
        assert_eq!(parse_duration("-2ns"), Some(-2));
        for bad in [
            "",
            "1",
            "s",
            ".s",
            "1x",
            "1s2",
            "1 s",
            "-",
            "99999999999999999999h",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn retries() {
        ok(http(
            json!({"route": [dest("a")], "retries": {"attempts": 0}}),
        ));
        bad(
            http(json!({"route": [dest("a")], "retries": {"attempts": -1}})),
            "spec.http[0].retries.attempts",
            "negative",
        );
    }

    #[test]
    fn fault() {
        ok(http(
            json!({"route": [dest("a")], "fault": {"abort": {"httpStatus": 500, "percentage": {"value": 100}}}}),
        ));
        ok(http(
            json!({"route": [dest("a")], "fault": {"delay": {"fixedDelay": "7s", "percentage": {"value": 0.1}}}}),
        ));
        bad(
            http(json!({"route": [dest("a")], "fault": {}})),
            "spec.http[0].fault",
            "needs abort or delay",
        );
        bad(
            http(
                json!({"route": [dest("a")], "fault": {"abort": {"httpStatus": 500, "percentage": {"value": 150}}}}),
            ),
            "spec.http[0].fault.abort.percentage.value",
            "outside 0..100",
        );
        bad(
            http(
                json!({"route": [dest("a")], "fault": {"delay": {"fixedDelay": "1s", "percentage": {"value": -5}}}}),
            ),
            "spec.http[0].fault.delay.percentage.value",
            "outside 0..100",
        );
        bad(
            http(
                json!({"route": [dest("a")], "fault": {"delay": {"fixedDelay": "1s", "percent": 101}}}),
            ),
            "spec.http[0].fault.delay.percent",
            "outside 0..100",
        );
    }

    #[test]
    fn hosts() {
        let route = json!([{"route": [dest("a")]}]);
        ok(vs(
            json!({"hosts": ["*.example.com", "reviews", "10.1.2.3", "::1", "a.example.com."], "http": route}),
        ));
        ok(vs(
            json!({"hosts": ["*"], "gateways": ["istio-system/ingress"], "http": route}),
        ));
        bad(
            vs(json!({"hosts": ["a_b"], "http": route})),
            "spec.hosts[0]",
            "not a valid DNS name",
        );
        bad(
            vs(json!({"hosts": ["a", "a"], "http": route})),
            "spec.hosts[1]",
            "duplicate host",
        );
        bad(
            vs(json!({"hosts": ["*.example.com", "a.example.com"], "http": route})),
            "spec.hosts[1]",
            "overlaps",
        );
        bad(
            vs(json!({"hosts": ["*"], "http": route})),
            "spec.hosts[0]",
            "bound to the mesh",
        );
        bad(
            vs(json!({"hosts": ["*"], "gateways": ["mesh", "gw"], "http": route})),
            "spec.hosts[0]",
            "bound to the mesh",
        );
    }

    #[test]
    fn routes_required() {
        ok(vs(json!({"hosts": ["a"], "tcp": [{"route": [dest("a")]}]})));
        bad(
            vs(json!({"hosts": ["a"]})),
            "spec",
            "at least one of http, tcp or tls",
        );
        bad(
            vs(json!({"hosts": ["a"], "http": []})),
            "spec",
            "at least one of http, tcp or tls",
        );
    }

    #[test]
    fn delegate_virtual_services() {
        ok(vs(json!({"http": [{"route": [dest("a")]}]})));
        // A delegate VirtualService with no routes is not reported for having none.
        ok(vs(json!({})));
        bad(
            vs(json!({"gateways": ["gw"], "http": [{"route": [dest("a")]}]})),
            "spec.gateways",
            "delegate",
        );
        bad(
            vs(json!({"tcp": [{"route": [dest("a")]}]})),
            "spec.tcp",
            "delegate",
        );
        bad(
            vs(json!({"http": [{"delegate": {"name": "b"}}]})),
            "spec.http[0].delegate",
            "cannot delegate again",
        );
        bad(
            http(json!({"delegate": {"name": "b"}, "route": [dest("a")]})),
            "spec.http[0].delegate",
            "together with route",
        );
    }

    #[test]
    fn tls_routes() {
        ok(vs(
            json!({"hosts": ["*.example.com"], "tls": [{"match": [{"port": 443, "sniHosts": ["a.example.com"]}], "route": [dest("a")]}]}),
        ));
        bad(
            vs(json!({"hosts": ["a.example.com"], "tls": [{"route": [dest("a")]}]})),
            "spec.tls[0].match",
            "sniHosts",
        );
        bad(
            vs(
                json!({"hosts": ["a.example.com"], "tls": [{"match": [{"port": 443}], "route": [dest("a")]}]}),
            ),
            "spec.tls[0].match[0].sniHosts",
            "at least one SNI host",
        );
        bad(
            vs(
                json!({"hosts": ["a.example.com"], "tls": [{"match": [{"sniHosts": ["b.example.com"]}], "route": [dest("a")]}]}),
            ),
            "spec.tls[0].match[0].sniHosts[0]",
            "not a subset",
        );
        bad(
            vs(
                json!({"hosts": ["a.example.com"], "tls": [{"match": [{"sniHosts": ["a.example.com"]}]}]}),
            ),
            "spec.tls[0].route",
            "at least one route destination",
        );
    }

    #[test]
    fn tcp_routes() {
        bad(
            vs(json!({"hosts": ["a"], "tcp": [{"match": [{"port": 27017}]}]})),
            "spec.tcp[0].route",
            "a TCP route needs at least one route destination",
        );
    }

    #[test]
    fn export_to() {
        let route = json!([{"route": [dest("a")]}]);
        ok(vs(
            json!({"hosts": ["a"], "exportTo": ["."], "http": route}),
        ));
        ok(vs(
            json!({"hosts": ["a"], "exportTo": ["*"], "http": route}),
        ));
        ok(vs(
            json!({"hosts": ["a"], "exportTo": [".", "istio-system"], "http": route}),
        ));
        bad(
            vs(json!({"hosts": ["a"], "exportTo": ["b", "b"], "http": route})),
            "spec.exportTo[1]",
            "duplicate",
        );
        bad(
            vs(json!({"hosts": ["a"], "exportTo": [".", "default"], "http": route})),
            "spec.exportTo[1]",
            "own namespace",
        );
        bad(
            vs(json!({"hosts": ["a"], "exportTo": ["~"], "http": route})),
            "spec.exportTo[0]",
            "must be `.`, `*` or a namespace",
        );
        bad(
            vs(json!({"hosts": ["a"], "exportTo": ["Foo"], "http": route})),
            "spec.exportTo[0]",
            "must be",
        );
        bad(
            vs(json!({"hosts": ["a"], "exportTo": ["*", "."], "http": route})),
            "spec.exportTo",
            "cannot be combined",
        );
    }

    #[test]
    fn gateways() {
        let route = json!([{"route": [dest("a")]}]);
        ok(vs(
            json!({"hosts": ["a"], "gateways": ["mesh", "bookinfo-gateway", "istio-system/ingress", "gw.ns"], "http": route}),
        ));
        bad(
            vs(json!({"hosts": ["a"], "gateways": ["a/b/c"], "http": route})),
            "spec.gateways[0]",
            "name `b/c`",
        );
        bad(
            vs(json!({"hosts": ["a"], "gateways": ["/gw"], "http": route})),
            "spec.gateways[0]",
            "cannot be empty",
        );
        bad(
            vs(json!({"hosts": ["a"], "gateways": ["Gateway"], "http": route})),
            "spec.gateways[0]",
            "must be `mesh`",
        );
    }

    #[test]
    fn host_overlap_follows_istio() {
        assert!(host_matches("*", "a.com"));
        assert!(host_matches("*.a.com", "*.b.a.com"));
        assert!(!host_matches("*.a.com", "a.com"));
        assert!(!host_matches("a.com", "b.com"));
        assert!(subset_of("a.b.com", "*.b.com"));
        assert!(!subset_of("*.b.com", "a.b.com"));
    }

    #[test]
    fn not_a_mapping() {
        bad(json!([1]), "", "mapping");
        bad(
            json!({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "a"}}),
            "spec",
            "missing",
        );
    }
}
