//! The VirtualService model: the one reader of Istio VirtualServices, for rendering,
//! rewriting a `base`, reviewing and checking.
//!
//! A [`VirtualService`] is the parsed YAML document itself (a `serde_yaml::Value`, whose
//! mappings keep their key order) with typed accessors over it. Nothing is copied into
//! structs, so a rewrite writes back every field cutover does not know, in its place.
//!
//! - [`documents`] is the one parser (text to YAML documents);
//! - [`VirtualService`], [`Route`] and [`Destination`] read the fields cutover uses;
//!   [`Route::weights`] reads weights as Istio does;
//! - [`HostResolver`] reads destination hosts as Istio does (`reviews` is
//!   `reviews.<namespace>.svc.cluster.local`): every comparison of a route's hosts with a
//!   plan's `from` or `to` goes through it;
//! - [`to_json`] hands a document to the Istio checks (`check::istio`),
//!   which walk JSON because their schema is a JSON Schema;
//! - [`VirtualService::to_yaml`] writes a document back as YAML that reads the same in
//!   YAML 1.1 and YAML 1.2 readers.
//!
//! Accessors are lenient: a field that is absent, `null` or of another type reads as
//! absent, and a list with one entry of the wrong type reads as absent as a whole (never
//! as the entries that happen to fit). Reporting wrong types is the job of
//! the Istio checks (`check::istio`), which every rendered manifest goes through.

use std::borrow::Cow;
use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use serde_yaml::{Mapping, Value};

use crate::yaml::escape;

/// The `kind` of a VirtualService.
pub const KIND: &str = "VirtualService";

/// The route lists of `spec`, in document order: HTTP, TCP and TLS routes.
pub const ROUTE_KINDS: [&str; 3] = ["http", "tcp", "tls"];

/// The fields of a route that say where its traffic goes: its destinations and its
/// mirrors (`mirrorPercent` and `mirror_percent` are older spellings of
/// `mirrorPercentage`). A stage rewrites these and nothing else.
pub const TRAFFIC_FIELDS: [&str; 6] = [
    "route",
    "mirror",
    "mirrors",
    "mirrorPercentage",
    "mirrorPercent",
    "mirror_percent",
];

/// The largest weight Istio accepts. A destination's `weight` is an `int32` in Istio's API
/// (`HTTPRouteDestination` and `RouteDestination`; `format: int32` in the vendored
/// schema), and istiod refuses negative weights: a weight is an integer from 0 to
/// `i32::MAX`.
pub const MAX_WEIGHT: u64 = 2_147_483_647;

/// The cluster domain Istio appends to a short host name, after `.<namespace>.svc.`
/// (istiod's default `cluster.local`).
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// Destination hosts as Istio reads them in one VirtualService (istiod's
/// `ResolveShortnameToFQDN`): a host without any `.` (`reviews`) is a Kubernetes service
/// of the VirtualService's namespace, `reviews.<namespace>.svc.cluster.local`; `*`, IP
/// addresses and every host with a dot are taken as written (`reviews.shop` is not
/// expanded, although Kubernetes DNS would find it). Hosts are then compared as text.
///
/// The one place cutover matches a route's destinations (and mirrors) against a plan's
/// `from` and `to`: rewriting a base, reading back rendered stages, reviewing traffic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostResolver {
    namespace: String,
}

impl HostResolver {
    /// Hosts of a VirtualService in `namespace`.
    pub fn new(namespace: &str) -> HostResolver {
        HostResolver {
            namespace: namespace.to_owned(),
        }
    }

    /// Hosts of `vs`: in its `metadata.namespace`, or else in `namespace` (the namespace
    /// it is applied to: the migration's).
    pub fn of(vs: &VirtualService, namespace: &str) -> HostResolver {
        HostResolver::new(vs.namespace().unwrap_or(namespace))
    }

    /// The namespace short hosts are read in.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// `host` as Istio reads it: `reviews` is `reviews.<namespace>.svc.cluster.local`;
    /// anything else is as written.
    pub fn resolve<'h>(&self, host: &'h str) -> Cow<'h, str> {
        let short = !host.is_empty()
            && host != "*"
            && !host.contains('.')
            && host.parse::<std::net::IpAddr>().is_err();
        if !short {
            return Cow::Borrowed(host);
        }
        // As istiod: no namespace, no namespace label.
        let ns = if self.namespace.is_empty() {
            String::new()
        } else {
            format!(".{}", self.namespace)
        };
        Cow::Owned(format!("{host}{ns}.svc.{CLUSTER_DOMAIN}"))
    }

    /// Whether Istio reads `a` and `b` as the same host.
    pub fn same(&self, a: &str, b: &str) -> bool {
        a == b || self.resolve(a) == self.resolve(b)
    }

    /// When `host` is not `target` for Istio but is for Kubernetes DNS: a host with a dot,
    /// which Istio takes as written, that a pod's DNS search path completes to `target`
    /// (`reviews.shop` or `reviews.shop.svc` for `reviews.shop.svc.cluster.local`).
    /// Returns `target` as Istio reads it, the host to write instead.
    pub fn unexpanded(&self, host: &str, target: &str) -> Option<String> {
        let target = self.resolve(target);
        if self.same(host, &target) || !host.contains('.') {
            return None;
        }
        let rest = target.strip_prefix(host)?;
        let searched = [
            format!(".svc.{CLUSTER_DOMAIN}"),
            format!(".{CLUSTER_DOMAIN}"),
        ];
        searched
            .iter()
            .any(|s| s == rest)
            .then(|| target.into_owned())
    }
}

/// A YAML text that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("document {document}: {source}")]
pub struct ParseError {
    /// The 1-based number of the document that does not parse.
    pub document: usize,
    /// What the parser says.
    #[source]
    pub source: serde_yaml::Error,
}

/// The YAML documents of `text`, in order. An empty document (a stray `---`, or only
/// comments) is `null`; an empty text is one `null` document.
pub fn documents(text: &str) -> Result<Vec<Value>, ParseError> {
    serde_yaml::Deserializer::from_str(text)
        .enumerate()
        .map(|(i, doc)| {
            Value::deserialize(doc).map_err(|source| ParseError {
                document: i + 1,
                source,
            })
        })
        .collect()
}

/// A YAML value as JSON. Non-string keys become their YAML text (`80`, `true`); tags are
/// dropped; non-finite floats (`.nan`, `.inf`), which JSON cannot hold, become strings so
/// the schema reports them as having the wrong type.
pub fn to_json(v: Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Json::from(i)
            } else if let Some(u) = n.as_u64() {
                Json::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map_or_else(|| Json::String(n.to_string()), Json::Number)
            }
        }
        Value::String(s) => Json::String(s),
        Value::Sequence(items) => Json::Array(items.into_iter().map(to_json).collect()),
        Value::Mapping(m) => Json::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::String(s) => s,
                        other => serde_yaml::to_string(&other)
                            .map(|s| s.trim_end().to_owned())
                            .unwrap_or_default(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Value::Tagged(t) => to_json(t.value),
    }
}

/// The first YAML tag of a document, in document order: where it is (a path such as
/// `spec.http[0].route[0].destination.host`) and the tag. The standard tags (`!!str`,
/// `!!int`, ...) are applied when the YAML is read and never kept, so this finds the
/// others: `!env`, `!foo`, the non-specific `!`.
pub fn find_tag(v: &Value) -> Option<(String, String)> {
    // serde_yaml shows the non-specific tag `!` as `!!` (which is no tag by itself).
    fn name(t: &serde_yaml::value::Tag) -> String {
        match t.to_string() {
            s if s == "!!" => "!".to_owned(),
            s => s,
        }
    }
    fn walk(v: &Value, path: &str) -> Option<(String, String)> {
        let at = |p: &str| {
            if p.is_empty() {
                "the document".to_owned()
            } else {
                p.to_owned()
            }
        };
        match v {
            Value::Tagged(t) => Some((at(path), name(&t.tag))),
            Value::Sequence(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| walk(item, &format!("{path}[{i}]"))),
            Value::Mapping(m) => m.iter().find_map(|(k, v)| {
                if let Value::Tagged(t) = k {
                    return Some((format!("a key of {}", at(path)), name(&t.tag)));
                }
                let key = k.as_str().map_or_else(|| brief(k), str::to_owned);
                let p = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                walk(k, &p).or_else(|| walk(v, &p))
            }),
            _ => None,
        }
    }
    walk(v, "")
}

/// Whether `f` holds for a scalar of `v` (keys included).
fn any_scalar(v: &Value, f: &dyn Fn(&Value) -> bool) -> bool {
    match v {
        Value::Sequence(items) => items.iter().any(|i| any_scalar(i, f)),
        Value::Mapping(m) => m.iter().any(|(k, v)| any_scalar(k, f) || any_scalar(v, f)),
        Value::Tagged(t) => any_scalar(&t.value, f),
        v => f(v),
    }
}

/// `v` with every scalar that [`portable_scalar`] rewrites replaced by the placeholder
/// `marker` + its index in `texts`, where its text goes.
fn mark(v: Value, marker: &str, texts: &mut Vec<String>) -> Value {
    match v {
        Value::Sequence(items) => {
            Value::Sequence(items.into_iter().map(|i| mark(i, marker, texts)).collect())
        }
        Value::Mapping(m) => Value::Mapping(
            m.into_iter()
                .map(|(k, v)| (mark(k, marker, texts), mark(v, marker, texts)))
                .collect(),
        ),
        v => match portable_scalar(&v) {
            Some(text) => {
                texts.push(text);
                Value::String(format!("{marker}{}", texts.len() - 1))
            }
            None => v,
        },
    }
}

/// The text a scalar must be written as, when `serde_yaml` writes it in a way YAML 1.1
/// and YAML 1.2 read differently (see [`VirtualService::to_yaml`]); `None` otherwise.
pub(crate) fn portable_scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s)
            if s.contains(['\u{85}', '\u{2028}', '\u{2029}'])
                || (maybe_not_a_string(s) && written_plain(s)) =>
        {
            Some(escape::double_quoted(s))
        }
        Value::Number(n) if n.is_f64() => {
            let text = serde_yaml::to_string(n).ok()?;
            let (mantissa, exponent) = text.trim_end().split_once(['e', 'E'])?;
            let point = if mantissa.contains('.') { "" } else { ".0" };
            let sign = if exponent.starts_with(['-', '+']) {
                ""
            } else {
                "+"
            };
            (!point.is_empty() || !sign.is_empty())
                .then(|| format!("{mantissa}{point}e{sign}{exponent}"))
        }
        _ => None,
    }
}

/// Whether `serde_yaml` writes the string `s` as a plain scalar (no quotes).
fn written_plain(s: &str) -> bool {
    serde_yaml::to_string(s).is_ok_and(|t| t.strip_suffix('\n') == Some(s))
}

/// Whether a plain scalar `s` may read as something other than a string in YAML 1.1 or
/// YAML 1.2: a superset of their nulls, booleans, numbers ([`number_like`]) and
/// timestamps, and YAML 1.1's `<<` and `=`. A string that did not need its quotes reads
/// the same with them.
pub(crate) fn maybe_not_a_string(s: &str) -> bool {
    const WORDS: [&str; 12] = [
        "", "~", "y", "yes", "n", "no", "true", "false", "on", "off", "null", "<<",
    ];
    let lower = s.to_ascii_lowercase();
    let unsigned = lower.strip_prefix(['+', '-']).unwrap_or(&lower);
    WORDS.contains(&lower.as_str())
        || s == "="
        || unsigned == ".inf"
        || unsigned == ".nan"
        || number_like(unsigned)
        || timestamp_like(&lower)
}

/// Whether an unsigned, lowercased `s` has the form of a YAML 1.1 or 1.2 number: a
/// superset of their integers (base 2, 8, 10, 16 and YAML 1.1's base 60, with `_`) and
/// floats (`1.`, `.5`, `1e400`, YAML 1.1's `1.2.3` and `1:20.5`).
fn number_like(s: &str) -> bool {
    let digits = |t: &str, more: &str| t.chars().all(|c| c.is_ascii_digit() || more.contains(c));
    if let Some(rest) = ["0x", "0o", "0b"].iter().find_map(|p| s.strip_prefix(p)) {
        return !rest.is_empty() && rest.chars().all(|c| c.is_ascii_hexdigit() || c == '_');
    }
    let (mantissa, exponent) = s.split_once('e').unwrap_or((s, "0"));
    let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    let (int, fraction) = match mantissa.split_once('.') {
        Some((int, fraction)) => (int, Some(fraction)),
        None => (mantissa, None),
    };
    let int_ok = if int.is_empty() {
        fraction.is_some()
    } else {
        int.starts_with(|c: char| c.is_ascii_digit()) && digits(int, "_:")
    };
    // A number has a digit: YAML 1.1's float pattern admits a lone `.`, which no reader
    // takes for a number (and `exportTo: ["."]` is common).
    int_ok
        && mantissa.contains(|c: char| c.is_ascii_digit())
        && fraction.is_none_or(|f| digits(f, "._"))
        && !exponent.is_empty()
        && digits(exponent, "")
}

/// Whether a lowercased `s` has the form of a YAML 1.1 timestamp (`2001-12-14`,
/// `2001-12-14t21:59:43.10-05:00`, `2001-12-14 21:59:43.10 -5`), or a superset of it.
fn timestamp_like(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 6
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5].is_ascii_digit()
        && s.chars()
            .all(|c| c.is_ascii_digit() || "-:.tz+ \t".contains(c))
}

/// Whether two values are the same, key order included (`==` on mappings ignores the
/// order of their keys).
pub fn identical(a: &Value, b: &Value) -> bool {
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
        (Value::Tagged(x), Value::Tagged(y)) => x.tag == y.tag && identical(&x.value, &y.value),
        _ => a == b,
    }
}

/// The strings of a list value; `None` unless it is a list of strings only.
fn strings(v: Option<&Value>) -> Option<Vec<&str>> {
    v?.as_sequence()?.iter().map(Value::as_str).collect()
}

/// The value at `key` of a mapping value, unless it is absent or `null`.
fn present<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|v| !v.is_null())
}

/// A VirtualService document: a YAML value read through typed accessors. Its `kind` is not
/// checked on construction (the checks report a wrong one); [`VirtualService::is_one`]
/// tells documents apart.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct VirtualService(Value);

impl From<Value> for VirtualService {
    fn from(doc: Value) -> Self {
        VirtualService(doc)
    }
}

impl Deref for VirtualService {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.0
    }
}

impl DerefMut for VirtualService {
    fn deref_mut(&mut self) -> &mut Value {
        &mut self.0
    }
}

impl VirtualService {
    /// The one YAML document of `text`, whatever its `kind` (a rendered manifest).
    pub fn parse(text: &str) -> Result<VirtualService, String> {
        let mut docs = documents(text).map_err(|e| e.to_string())?;
        match docs.len() {
            1 => Ok(VirtualService(docs.remove(0))),
            n => Err(format!("{n} YAML documents where one was expected")),
        }
    }

    /// The VirtualService called `name` among the documents of a (possibly
    /// multi-document) YAML text; other kinds of documents are skipped.
    pub fn pick(text: &str, name: &str) -> Result<VirtualService, String> {
        let mut found = Vec::new();
        let mut names = Vec::new();
        for doc in documents(text).map_err(|e| e.to_string())? {
            if !VirtualService::is_one(&doc) {
                continue;
            }
            let vs = VirtualService(doc);
            match vs.name().unwrap_or_default() {
                n if n == name => found.push(vs),
                n => names.push(n.to_owned()),
            }
        }
        match (found.pop(), found.len()) {
            (Some(vs), 0) => Ok(vs),
            (None, _) if names.is_empty() => Err("holds no VirtualService".to_owned()),
            (None, _) => Err(format!(
                "holds no VirtualService named `{name}` (it has: {}); set the migration's `virtualService`",
                names.join(", ")
            )),
            (Some(_), n) => Err(format!("holds {} VirtualServices named `{name}`", n + 1)),
        }
    }

    /// Whether a document is a VirtualService (`kind: VirtualService`).
    pub fn is_one(doc: &Value) -> bool {
        doc.get("kind").and_then(Value::as_str) == Some(KIND)
    }

    /// The document.
    pub fn as_value(&self) -> &Value {
        &self.0
    }

    /// The document as JSON, for the Istio checks (`check::istio`).
    pub fn into_json(self) -> Json {
        to_json(self.0)
    }

    /// The document as YAML text that reads the same in YAML 1.1 readers (client-go,
    /// so kubectl and Argo CD) and YAML 1.2 readers. Refuses a document with a tag
    /// ([`find_tag`]): no reader of a VirtualService knows what it means.
    ///
    /// The text is `serde_yaml`'s, except for the scalars it writes in a way the two
    /// versions read differently, which have no option there: a string it writes plain
    /// that YAML 1.1 or 1.2 reads as a number, boolean or null (`1e400`, `yes`, `1_000`,
    /// `10.0.0.1`), or that holds a character only YAML 1.1 takes for a line break
    /// (U+0085, U+2028, U+2029), is written double-quoted and escaped
    /// ([`escape::double_quoted`]); a float written without a `.` or without an
    /// exponent sign (`1e100`, YAML 1.1's string) gets both (`1.0e+100`).
    pub fn to_yaml(&self) -> Result<String, String> {
        if let Some((at, tag)) = find_tag(&self.0) {
            return Err(format!(
                "{at} has the YAML tag `{tag}`, which cannot be written"
            ));
        }
        let text = serde_yaml::to_string(&self.0).map_err(|e| e.to_string())?;
        if !any_scalar(&self.0, &|v| portable_scalar(v).is_some()) {
            return Ok(text);
        }
        // Written again with a plain placeholder in place of each such scalar, which is
        // then replaced by the scalar's text. The placeholders' common prefix occurs
        // nowhere in the first text, so every occurrence of it is a placeholder.
        let mut marker = String::from("cutoverscalar");
        while text.contains(&marker) {
            marker.push('x');
        }
        let mut texts = Vec::new();
        let marked = mark(self.0.clone(), &marker, &mut texts);
        let marked = serde_yaml::to_string(&marked).map_err(|e| e.to_string())?;
        let mut out = String::with_capacity(marked.len());
        let mut rest = marked.as_str();
        let mut placed = 0;
        while let Some(at) = rest.find(&marker) {
            out.push_str(&rest[..at]);
            let after = &rest[at + marker.len()..];
            let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let scalar = after[..digits]
                .parse::<usize>()
                .ok()
                .and_then(|i| texts.get(i))
                .ok_or("a placeholder of the YAML writer was lost")?;
            out.push_str(scalar);
            placed += 1;
            rest = &after[digits..];
        }
        out.push_str(rest);
        if placed != texts.len() {
            return Err("a placeholder of the YAML writer was lost".to_owned());
        }
        Ok(out)
    }

    /// `kind`.
    pub fn kind(&self) -> Option<&str> {
        self.0.get("kind")?.as_str()
    }

    /// `apiVersion`.
    pub fn api_version(&self) -> Option<&str> {
        self.0.get("apiVersion")?.as_str()
    }

    /// `metadata.name`.
    pub fn name(&self) -> Option<&str> {
        self.0.get("metadata")?.get("name")?.as_str()
    }

    /// `metadata.namespace`.
    pub fn namespace(&self) -> Option<&str> {
        self.0.get("metadata")?.get("namespace")?.as_str()
    }

    /// `spec`, when it is a mapping.
    pub fn spec(&self) -> Option<&Mapping> {
        self.0.get("spec")?.as_mapping()
    }

    /// `spec.hosts` (absent: empty).
    pub fn hosts(&self) -> Option<Vec<&str>> {
        self.spec_list("hosts")
    }

    /// `spec.gateways` (absent: empty).
    pub fn gateways(&self) -> Option<Vec<&str>> {
        self.spec_list("gateways")
    }

    fn spec_list(&self, key: &str) -> Option<Vec<&str>> {
        match self.0.get("spec").and_then(|s| present(s, key)) {
            None => Some(Vec::new()),
            v => strings(v),
        }
    }

    /// The routes of `spec.<kind>` (`http`, `tcp` or `tls`, see [`ROUTE_KINDS`]) that are
    /// mappings, with their positions in the list.
    pub fn routes(&self, kind: &str) -> impl DoubleEndedIterator<Item = Route<'_>> {
        self.0
            .get("spec")
            .and_then(|s| s.get(kind))
            .and_then(Value::as_sequence)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_mapping())
            .map(|(index, value)| Route { index, value })
    }

    /// The HTTP routes (`spec.http`).
    pub fn http_routes(&self) -> impl DoubleEndedIterator<Item = Route<'_>> {
        self.routes("http")
    }

    /// The mutable list `spec.<kind>`, for rewriting.
    pub fn routes_mut(&mut self, kind: &str) -> Option<&mut Vec<Value>> {
        self.0.get_mut("spec")?.get_mut(kind)?.as_sequence_mut()
    }

    /// The document without any route's [`TRAFFIC_FIELDS`], the other keys in their
    /// order: what a stage must leave as it was.
    pub fn without_traffic(&self) -> Value {
        let mut doc = self.0.clone();
        for kind in ROUTE_KINDS {
            let routes = doc
                .get_mut("spec")
                .and_then(|s| s.get_mut(kind))
                .and_then(Value::as_sequence_mut);
            for r in routes
                .into_iter()
                .flatten()
                .filter_map(Value::as_mapping_mut)
            {
                for field in TRAFFIC_FIELDS {
                    r.shift_remove(field);
                }
            }
        }
        doc
    }
}

/// One HTTP, TCP or TLS route of a VirtualService.
#[derive(Clone, Copy, Debug)]
pub struct Route<'a> {
    /// Its position in its list (`spec.http[index]`).
    pub index: usize,
    value: &'a Value,
}

impl<'a> Route<'a> {
    /// A route read from its value (a mapping), at `index` in its list.
    pub fn new(index: usize, value: &'a Value) -> Route<'a> {
        Route { index, value }
    }

    /// The route's value.
    pub fn as_value(&self) -> &'a Value {
        self.value
    }

    /// `route`: its destinations, or `None` when it has no `route` list (a redirect,
    /// direct response or delegate).
    pub fn destinations(
        &self,
    ) -> Option<impl ExactSizeIterator<Item = Destination<'a>> + Clone + 'a> {
        let list = self.value.get("route")?.as_sequence()?;
        Some(list.iter().map(Destination))
    }

    /// Whether one of its destinations is `host`, as Istio reads hosts (`names`).
    pub fn sends_to(&self, host: &str, names: &HostResolver) -> bool {
        self.destinations()
            .is_some_and(|mut ds| ds.any(|d| d.is(host, names)))
    }

    /// Istio's reading of the destinations' weights, in order: a lone destination
    /// receives all traffic whatever its weight says (100); with several, an unset
    /// weight is 0. Refuses a weight Istio refuses ([`Destination::istio_weight`]), so
    /// every weight is at most [`MAX_WEIGHT`].
    pub fn weights(&self) -> Result<Vec<u64>, String> {
        let Some(dests) = self.destinations() else {
            return Ok(Vec::new());
        };
        let lone = dests.len() == 1;
        dests
            .enumerate()
            .map(|(i, d)| match d.istio_weight() {
                Err(e) => Err(format!("route[{i}].{e}")),
                Ok(_) if lone => Ok(100),
                Ok(w) => Ok(w.unwrap_or(0)),
            })
            .collect()
    }

    /// `mirror.host`.
    pub fn mirror_host(&self) -> Option<&'a str> {
        self.value.get("mirror")?.get("host")?.as_str()
    }

    /// The hosts it mirrors to: `mirror.host` and every `mirrors[].destination.host`, in
    /// order, with their places (`mirror`, `mirrors[1]`).
    pub fn mirror_hosts(&self) -> Vec<(String, &'a str)> {
        let mut out: Vec<(String, &'a str)> = self
            .mirror_host()
            .map(|h| ("mirror".to_owned(), h))
            .into_iter()
            .collect();
        let list = self.value.get("mirrors").and_then(Value::as_sequence);
        for (k, m) in list.into_iter().flatten().enumerate() {
            if let Some(h) = m
                .get("destination")
                .and_then(|d| d.get("host"))
                .and_then(Value::as_str)
            {
                out.push((format!("mirrors[{k}]"), h));
            }
        }
        out
    }

    /// `mirrorPercentage.value`.
    pub fn mirror_percentage(&self) -> Option<f64> {
        self.value.get("mirrorPercentage")?.get("value")?.as_f64()
    }

    /// Whether the route mirrors at all (`mirror`, or `mirrors` from Istio 1.19).
    pub fn mirrors(&self) -> bool {
        present(self.value, "mirror").is_some() || present(self.value, "mirrors").is_some()
    }

    /// Whether any `match` entry requires header `name` to be exactly `value`.
    pub fn matches_header(&self, name: &str, value: &str) -> bool {
        self.value
            .get("match")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .any(|m| {
                m.get("headers")
                    .and_then(|h| h.get(name))
                    .and_then(|h| h.get("exact"))
                    .and_then(Value::as_str)
                    == Some(value)
            })
    }
}

/// One entry of a route's `route` list: a destination and its weight.
#[derive(Clone, Copy, Debug)]
pub struct Destination<'a>(&'a Value);

impl<'a> Destination<'a> {
    /// A destination read from its value.
    pub fn new(value: &'a Value) -> Destination<'a> {
        Destination(value)
    }

    /// `destination.host`.
    pub fn host(&self) -> Option<&'a str> {
        self.0.get("destination")?.get("host")?.as_str()
    }

    /// Whether its host is `host`, as Istio reads hosts (`names`).
    pub fn is(&self, host: &str, names: &HostResolver) -> bool {
        self.host().is_some_and(|h| names.same(h, host))
    }

    /// `headers`, unless absent or `null` (no headers).
    pub fn headers(&self) -> Option<&'a Value> {
        present(self.0, "headers")
    }

    /// `destination.subset`.
    pub fn subset(&self) -> Option<&'a str> {
        self.0.get("destination")?.get("subset")?.as_str()
    }

    /// `weight`, when it is an integer.
    pub fn weight(&self) -> Option<i64> {
        self.weight_value()?.as_i64()
    }

    /// `weight` as written, unless absent or `null`.
    pub fn weight_value(&self) -> Option<&'a Value> {
        present(self.0, "weight")
    }

    /// `weight` as Istio reads it: `None` when unset, an integer from 0 to
    /// [`MAX_WEIGHT`] otherwise. Anything else is refused, with a message that starts
    /// with `weight: ` and says why.
    pub fn istio_weight(&self) -> Result<Option<u64>, String> {
        let Some(v) = self.weight_value() else {
            return Ok(None);
        };
        let why = match v.as_u64() {
            Some(w) if w <= MAX_WEIGHT => return Ok(Some(w)),
            Some(_) => "is out of range",
            None => "is not a non-negative integer",
        };
        Err(format!(
            "weight: {} {why} (Istio weights are 32-bit integers, from 0 to {MAX_WEIGHT})",
            brief(v)
        ))
    }
}

/// A value as a short YAML text, for messages.
fn brief(v: &Value) -> String {
    match v {
        Value::Mapping(_) => "a mapping".to_owned(),
        Value::Sequence(_) => "a list".to_owned(),
        v => serde_yaml::to_string(v).map_or_else(|_| "?".to_owned(), |s| s.trim_end().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VS: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop, labels: {app: x}}
spec:
  hosts: [reviews.example.com]
  gateways: [mesh]
  http:
  - match: [{headers: {x-canary: {exact: 'yes'}}}]
    route: [{destination: {host: gcp.example.com}}]
  - redirect: {uri: /new}
  - route:
    - {destination: {host: se.example.com, subset: v1}, weight: 90}
    - {destination: {host: gcp.example.com}, weight: 10, headers: {request: {set: {a: b}}}}
    mirror: {host: shadow.example.com}
    mirrorPercentage: {value: 12.5}
  tcp:
  - route: [{destination: {host: db.example.com}, weight: 7}]
";

    fn vs() -> VirtualService {
        VirtualService::parse(VS).unwrap()
    }

    #[test]
    fn reads_the_fields_cutover_uses() {
        let v = vs();
        assert_eq!(v.kind(), Some(KIND));
        assert_eq!(v.api_version(), Some("networking.istio.io/v1"));
        assert_eq!((v.name(), v.namespace()), (Some("reviews"), Some("shop")));
        assert_eq!(v.hosts(), Some(vec!["reviews.example.com"]));
        assert_eq!(v.gateways(), Some(vec!["mesh"]));
        let http: Vec<Route> = v.http_routes().collect();
        assert_eq!(http.len(), 3);
        assert!(http[0].matches_header("x-canary", "yes"));
        assert!(!http[0].matches_header("x-canary", "no"));
        assert!(http[1].destinations().is_none());
        let last = http[2];
        assert_eq!(last.index, 2);
        let dests: Vec<_> = last
            .destinations()
            .unwrap()
            .map(|d| (d.host(), d.subset(), d.weight()))
            .collect();
        assert_eq!(
            dests,
            [
                (Some("se.example.com"), Some("v1"), Some(90)),
                (Some("gcp.example.com"), None, Some(10))
            ]
        );
        let names = HostResolver::of(&v, "other");
        assert!(last.sends_to("se.example.com", &names) && !last.sends_to("x", &names));
        assert_eq!(last.mirror_host(), Some("shadow.example.com"));
        assert_eq!(last.mirror_percentage(), Some(12.5));
        assert!(last.mirrors() && !http[0].mirrors());
        assert_eq!(v.routes("tcp").count(), 1);
        assert_eq!(v.routes("tls").count(), 0);
    }

    #[test]
    fn hosts_resolve_as_istio_reads_them() {
        let shop = HostResolver::new("shop");
        assert_eq!(shop.resolve("reviews"), "reviews.shop.svc.cluster.local");
        // Taken as written: a host with a dot, `*`, IP addresses, the empty host.
        for host in [
            "reviews.shop",
            "reviews.shop.svc",
            "reviews.example.com",
            "*.example.com",
            "*",
            "10.0.0.1",
            "::1",
            "fe80::1",
            "",
        ] {
            assert_eq!(shop.resolve(host), host, "{host}");
        }
        // As istiod, with no namespace.
        assert_eq!(
            HostResolver::new("").resolve("reviews"),
            "reviews.svc.cluster.local"
        );
        assert!(shop.same("reviews", "reviews.shop.svc.cluster.local"));
        assert!(shop.same("reviews.shop.svc.cluster.local", "reviews"));
        assert!(!shop.same("reviews", "reviews.shop"));
        assert!(!HostResolver::new("other").same("reviews", "reviews.shop.svc.cluster.local"));
        // The namespace is the VirtualService's, else the one given.
        assert_eq!(HostResolver::of(&vs(), "other"), shop);
        let bare = VirtualService::parse("spec: {}").unwrap();
        assert_eq!(HostResolver::of(&bare, "other").namespace(), "other");
    }

    #[test]
    fn hosts_kubernetes_dns_completes_but_istio_does_not() {
        let shop = HostResolver::new("shop");
        let fqdn = "reviews.shop.svc.cluster.local";
        for target in [fqdn, "reviews"] {
            assert_eq!(
                shop.unexpanded("reviews.shop", target).as_deref(),
                Some(fqdn)
            );
            assert_eq!(
                shop.unexpanded("reviews.shop.svc", target).as_deref(),
                Some(fqdn)
            );
            for host in [
                "reviews",
                fqdn,
                "reviews.other",
                "views.shop",
                "reviews.shop.svc.cluster",
            ] {
                assert_eq!(shop.unexpanded(host, target), None, "{host}");
            }
        }
        assert_eq!(shop.unexpanded("a.example", "a.example.com"), None);
    }

    #[test]
    fn mirror_hosts_are_read_from_mirror_and_mirrors() {
        let v = VirtualService::parse(
            "spec: {http: [{mirror: {host: a}, mirrors: [{destination: {host: b}}, {percentage: {value: 1}}, {destination: {host: c}}]}]}",
        )
        .unwrap();
        let r = v.http_routes().next().unwrap();
        assert_eq!(
            r.mirror_hosts(),
            [
                ("mirror".to_owned(), "a"),
                ("mirrors[0]".to_owned(), "b"),
                ("mirrors[2]".to_owned(), "c")
            ]
        );
    }

    #[test]
    fn wrong_types_read_as_absent_never_in_part() {
        let v = VirtualService::parse(
            "kind: VirtualService\nmetadata: {name: 5}\nspec: {hosts: [a, 5], gateways: ~}\n",
        )
        .unwrap();
        assert_eq!(v.name(), None);
        assert_eq!(v.hosts(), None);
        assert_eq!(v.gateways(), Some(vec![]));
        assert_eq!(VirtualService::from(Value::Null).hosts(), Some(vec![]));
    }

    #[test]
    fn weights_as_istio_reads_them() {
        let weights = |route: &str| {
            let v =
                VirtualService::parse(&format!("spec: {{http: [{{route: {route}}}]}}")).unwrap();
            let r = v.http_routes().next().unwrap();
            r.weights()
        };
        assert_eq!(weights("[{weight: 7}]"), Ok(vec![100]));
        assert_eq!(weights("[{}]"), Ok(vec![100]));
        assert_eq!(weights("[{weight: 60}, {}]"), Ok(vec![60, 0]));
        assert_eq!(weights("[{weight: 60}, {weight: ~}]"), Ok(vec![60, 0]));
        assert!(weights("[{weight: '10'}, {}]")
            .unwrap_err()
            .contains("not a non-negative integer"));
        assert!(weights("[{weight: -1}, {}]").is_err());
        // Istio's weights are 32-bit.
        assert_eq!(i64::try_from(MAX_WEIGHT), Ok(i64::from(i32::MAX)));
        assert_eq!(
            weights("[{weight: 2147483647}, {}]"),
            Ok(vec![MAX_WEIGHT, 0])
        );
        for big in ["2147483648", "4611686018427387904", "18446744073709551615"] {
            let e = weights(&format!("[{{weight: {big}}}, {{}}]")).unwrap_err();
            assert_eq!(
                e,
                format!("route[0].weight: {big} is out of range (Istio weights are 32-bit integers, from 0 to 2147483647)")
            );
            // A lone destination too: Istio refuses the VirtualService.
            assert!(weights(&format!("[{{weight: {big}}}]")).is_err());
        }
        let e = weights("[{}, {weight: '10'}]").unwrap_err();
        assert!(e.starts_with("route[1].weight: '10' is not"), "{e}");
    }

    fn yaml_of(doc: &str) -> String {
        VirtualService::parse(doc).unwrap().to_yaml().unwrap()
    }

    #[test]
    fn to_yaml_is_serde_yaml_for_ordinary_documents() {
        let v = VirtualService::parse(&VS.replace("'yes'", "canary")).unwrap();
        assert_eq!(v.to_yaml().unwrap(), serde_yaml::to_string(&v).unwrap());
        // serde_yaml writes `'yes'` plain, which YAML 1.1 reads as a boolean.
        assert!(vs().to_yaml().unwrap().contains("exact: \"yes\"\n"));
        let odd = "a: ['10', 'true', '', 5s, 1password.com, '*.x', x: z, \"a\\tb\", \"a\\nb\", 12.5, 1.0, .inf, 7]\n";
        let v = VirtualService::parse(odd).unwrap();
        assert_eq!(v.to_yaml().unwrap(), serde_yaml::to_string(&v).unwrap());
    }

    #[test]
    fn to_yaml_quotes_what_yaml_1_1_or_1_2_reads_as_another_type() {
        for s in [
            "1e400",
            "yes",
            "Y",
            "n",
            "On",
            "off",
            "1_000",
            "1:20",
            "10.0.0.1",
            "2001-12-14",
            "2001-12-14t21:59:43.10-05:00",
            "12:30",
            "0X1F",
            "1.2.3",
            "<<",
            "=",
            "0b1_0",
        ] {
            let text = yaml_of(&format!("a: '{s}'\nb: ['{s}']\n'{s}': c\n"));
            let q = crate::yaml::escape::double_quoted(s);
            assert_eq!(text, format!("a: {q}\nb:\n- {q}\n{q}: c\n"), "{s}");
            // And reads back as the same string.
            assert_eq!(documents(&text).unwrap()[0]["a"], Value::String(s.into()));
        }
        // Strings no version reads as anything else stay plain.
        for s in [
            "5s",
            "100ms",
            "0.5s",
            "1password.com",
            "a1e400",
            "v1",
            "yes-no",
            "_1",
            ".",
            "12e",
            "3a4a40dd-3875-11e9-8e1d-42010a9c0fd1",
        ] {
            assert_eq!(yaml_of(&format!("a: '{s}'\n")), format!("a: {s}\n"), "{s}");
        }
    }

    #[test]
    fn to_yaml_escapes_what_only_yaml_1_1_takes_for_line_breaks() {
        for (input, written) in [
            ("p\\u2028q", "\"p\\u2028q\""),
            ("p\\u2029 q", "\"p\\u2029 q\""),
            ("p\\x85q", "\"p\\u0085q\""),
            ("a\\nb\\u2028c", "\"a\\nb\\u2028c\""),
        ] {
            let text = yaml_of(&format!("h: {{x-a: \"{input}\"}}\n"));
            assert_eq!(text, format!("h:\n  x-a: {written}\n"), "{input}");
            let back = &documents(&text).unwrap()[0]["h"]["x-a"];
            assert_eq!(back, &documents(&format!("\"{input}\"")).unwrap()[0]);
        }
    }

    #[test]
    fn to_yaml_writes_floats_yaml_1_1_reads_as_floats() {
        assert_eq!(
            yaml_of("a: [1e100, 1e-7, 1.5e16, 12.5, -2e20]\n"),
            "a:\n- 1.0e+100\n- 1.0e-7\n- 1.5e+16\n- 12.5\n- -2.0e+20\n"
        );
        let back = documents(&yaml_of("a: [1e100, 1e-7, 1.5e16]\n")).unwrap();
        assert_eq!(back[0]["a"], documents("[1e100, 1e-7, 1.5e16]").unwrap()[0]);
    }

    #[test]
    fn to_yaml_placeholders_never_meet_the_documents_own_text() {
        // A document that holds the placeholders' prefix, and scalars to replace.
        let doc = "a: cutoverscalar0\nb: 'yes'\ncutoverscalarx1: 'on'\nc: cutoverscalarxx\n";
        assert_eq!(
            yaml_of(doc),
            "a: cutoverscalar0\nb: \"yes\"\ncutoverscalarx1: \"on\"\nc: cutoverscalarxx\n"
        );
    }

    #[test]
    fn tags_are_found_and_never_written() {
        for (doc, at, tag) in [
            ("spec: {hosts: [!env X]}", "spec.hosts[0]", "!env"),
            ("spec: {a: ! 10}", "spec.a", "!"),
            ("spec: !foo {b: 1}", "spec", "!foo"),
            ("!foo {b: 1}", "the document", "!foo"),
            ("spec: {!k a: 1}", "a key of spec", "!k"),
        ] {
            let v = VirtualService::parse(doc).unwrap();
            let (path, found) = find_tag(&v).unwrap();
            assert_eq!(path, at, "{doc}");
            assert_eq!(found, tag, "{doc}");
            let e = v.to_yaml().unwrap_err();
            assert!(e.contains("has the YAML tag"), "{doc}: {e}");
        }
        // Standard tags are applied on reading, and gone.
        let v = VirtualService::parse("a: !!str 10\nb: !!int 7\n").unwrap();
        assert_eq!(find_tag(&v), None);
        assert_eq!(v.to_yaml().unwrap(), "a: '10'\nb: 7\n");
    }

    #[test]
    fn parses_documents() {
        assert_eq!(documents("").unwrap(), [Value::Null]);
        assert_eq!(documents("a: 1\n---\n").unwrap().len(), 2);
        let e = documents("a: 1\n---\nb: [1\n").unwrap_err();
        assert_eq!(e.document, 2);
        assert!(e.to_string().starts_with("document 2: "), "{e}");
        assert!(VirtualService::parse("a: 1\n---\nb: 2\n")
            .unwrap_err()
            .contains("2 YAML documents"));
    }

    #[test]
    fn picks_by_name_from_several_documents() {
        let text = "kind: Service\nmetadata: {name: x}\n---\nkind: VirtualService\nmetadata: {name: a}\nspec: {}\n---\nkind: VirtualService\nmetadata: {name: b}\nspec: {}\n";
        let b = VirtualService::pick(text, "b").unwrap();
        assert_eq!(b.name(), Some("b"));
        assert!(VirtualService::pick(text, "c")
            .unwrap_err()
            .contains("it has: a, b"));
        assert!(VirtualService::pick("kind: Service\n", "a")
            .unwrap_err()
            .contains("no VirtualService"));
        let twice = format!("{text}---\nkind: VirtualService\nmetadata: {{name: b}}\n");
        assert_eq!(
            VirtualService::pick(&twice, "b").unwrap_err(),
            "holds 2 VirtualServices named `b`"
        );
        assert!(VirtualService::pick("a: [1\n", "a")
            .unwrap_err()
            .starts_with("document 1: "));
    }

    #[test]
    fn without_traffic_keeps_everything_else_in_order() {
        let stripped = vs().without_traffic();
        let keys = |v: &Value| -> Vec<String> {
            v.as_mapping()
                .unwrap()
                .keys()
                .map(|k| k.as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(keys(&stripped["spec"]["http"][0]), ["match"]);
        assert_eq!(keys(&stripped["spec"]["http"][1]), ["redirect"]);
        assert!(stripped["spec"]["http"][2].as_mapping().unwrap().is_empty());
        assert_eq!(keys(&stripped["metadata"]), ["name", "namespace", "labels"]);
    }

    #[test]
    fn identical_minds_key_order() {
        let a: Value = serde_yaml::from_str("{a: 1, b: [{c: 2, d: 3}]}").unwrap();
        let b: Value = serde_yaml::from_str("{a: 1, b: [{d: 3, c: 2}]}").unwrap();
        assert_eq!(a, b);
        assert!(identical(&a, &a.clone()) && !identical(&a, &b));
    }

    #[test]
    fn yaml_to_json() {
        let y: Value =
            serde_yaml::from_str("{a: 1, b: 1.5, 80: x, c: [true, ~], d: .nan}").unwrap();
        assert_eq!(
            to_json(y),
            serde_json::json!({"a": 1, "b": 1.5, "80": "x", "c": [true, null], "d": ".nan"})
        );
    }
}
