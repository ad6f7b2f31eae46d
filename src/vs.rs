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
//! - [`to_json`] hands a document to the Istio checks (`check::istio`),
//!   which walk JSON because their schema is a JSON Schema.
//!
//! Accessors are lenient: a field that is absent, `null` or of another type reads as
//! absent, and a list with one entry of the wrong type reads as absent as a whole (never
//! as the entries that happen to fit). Reporting wrong types is the job of
//! the Istio checks (`check::istio`), which every rendered manifest goes through.

use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use serde_yaml::{Mapping, Value};

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

    /// The document, given back.
    pub fn into_value(self) -> Value {
        self.0
    }

    /// The document as JSON, for the Istio checks (`check::istio`).
    pub fn into_json(self) -> Json {
        to_json(self.0)
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

    /// Whether one of its destinations is `host`.
    pub fn sends_to(&self, host: &str) -> bool {
        self.destinations()
            .is_some_and(|mut ds| ds.any(|d| d.host() == Some(host)))
    }

    /// Istio's reading of the destinations' weights, in order: a lone destination
    /// receives all traffic whatever its weight says (100); with several, an unset
    /// weight is 0. Refuses a weight that is not a non-negative integer.
    pub fn weights(&self) -> Result<Vec<u64>, String> {
        let Some(dests) = self.destinations() else {
            return Ok(Vec::new());
        };
        let lone = dests.len() == 1;
        dests
            .map(|d| match d.weight_value() {
                _ if lone => Ok(100),
                None => Ok(0),
                Some(v) => v
                    .as_u64()
                    .ok_or_else(|| format!("weight {v:?} is not a non-negative integer")),
            })
            .collect()
    }

    /// `mirror.host`.
    pub fn mirror_host(&self) -> Option<&'a str> {
        self.value.get("mirror")?.get("host")?.as_str()
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
        assert!(last.sends_to("se.example.com") && !last.sends_to("x"));
        assert_eq!(last.mirror_host(), Some("shadow.example.com"));
        assert_eq!(last.mirror_percentage(), Some(12.5));
        assert!(last.mirrors() && !http[0].mirrors());
        assert_eq!(v.routes("tcp").count(), 1);
        assert_eq!(v.routes("tls").count(), 0);
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
