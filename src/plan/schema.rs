//! The plan file format as a JSON Schema, for editors that complete and check plans while
//! they are typed (yaml-language-server: VS Code's YAML extension, JetBrains IDEs).
//! `cutover schema` prints it; `schemas/plan-v1.schema.json` is its committed copy.
//!
//! The types here describe the file, key by key, and exist only for their schema: they
//! are never built (the plan cutover works with is [`crate::plan::Plan`], read by the
//! hand-written parser in `parse/`, whose key lists a test compares with this schema).
//! `Option` marks a key that may be left out. The schema is looser than the parser where
//! JSON Schema cannot say a rule: required fields that `defaults` may supply, rules across
//! fields (weights that never decrease, stage names that are unique, environments that
//! name a stage of their migration), paths that must stay inside the repository, and the
//! finer points of host names.

// Described, never built: only their schema is used.
#![allow(dead_code)]

use schemars::generate::SchemaSettings;
use schemars::transform::{transform_subschemas, Transform};
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::Value;

use crate::plan::{GitOps, API_VERSIONS};

/// Where the schema of this version is published: the committed file at the release's
/// tag, which an editor fetches from the plan's first line (see [`modeline`]). The
/// repository's raw-file address, derived from Cargo.toml's `repository`
/// (`https://github.com/OWNER/REPO`).
pub const SCHEMA_URL: &str = const_format::concatcp!(
    const_format::str_replace!(
        env!("CARGO_PKG_REPOSITORY"),
        "https://github.com/",
        "https://raw.githubusercontent.com/"
    ),
    "/v",
    env!("CARGO_PKG_VERSION"),
    "/schemas/plan-v1.schema.json"
);

/// The first line `cutover init` writes: yaml-language-server reads the schema's address
/// from it.
pub fn modeline() -> String {
    format!("# yaml-language-server: $schema={SCHEMA_URL}")
}

/// The JSON Schema (draft-07, which yaml-language-server and check-jsonschema both read)
/// of a plan file.
pub fn plan_schema() -> Value {
    let mut settings = SchemaSettings::draft07();
    // Before draft-07's own transforms, which move what sits beside a `$ref`.
    settings.transforms.insert(0, Box::new(ForEditors));
    let schema = settings
        .into_generator()
        .into_root_schema_for::<PlanFile>()
        .to_value();
    let Value::Object(mut body) = schema else {
        return schema;
    };
    // What the file is first, then what it holds.
    let mut out = serde_json::Map::new();
    out.insert(
        "$schema".into(),
        body.shift_remove("$schema").unwrap_or_default(),
    );
    out.insert("$id".into(), SCHEMA_URL.into());
    for key in ["title", "description"] {
        if let Some(v) = body.shift_remove(key) {
            out.insert(key.into(), v);
        }
    }
    out.extend(body);
    Value::Object(out)
}

/// [`plan_schema`] as pretty JSON with a trailing newline: the text of
/// `schemas/plan-v1.schema.json`.
pub fn plan_schema_text() -> String {
    format!("{:#}\n", plan_schema())
}

// Value rules, as patterns. Each is looser than the parser's (names.rs), never stricter:
// a test runs the parser's own examples through both.

/// A DNS-1123 label (with `maxLength` 63).
const LABEL: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// A DNS-1123 subdomain: dot-separated labels (with `maxLength` 253).
const SUBDOMAIN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// One host: DNS labels of letters, digits and `-`, no wildcard, no trailing dot.
const HOST: &str =
    r"^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$";
/// A host of `hosts`: like [`HOST`], and the first label may be a wildcard (`*`, `*foo`,
/// `*-foo`).
const HOSTS_ENTRY: &str = r"^(\*|\*-?[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?|[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$";
/// `mesh`, a gateway name (a DNS-1123 subdomain) or `<namespace>/<name>`.
const GATEWAY: &str = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9]*[a-z0-9])?|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$";
/// A duration: numbers with units `s`, `m`, `h`, `d`.
const DURATION: &str = r"^([0-9]+[smhd])+$";
/// `MAJOR.MINOR`, or `MAJOR.MINOR.PATCH`.
const ISTIO_VERSION: &str = r"^[0-9]+\.[0-9]+(\.[0-9]+)?$";
/// A lowercase HTTP header name.
const HEADER_NAME: &str = r"^[a-z0-9][-a-z0-9]*$";
/// A Cloud Run service name: 1 to 49 characters, starting with a letter, not ending with `-`.
const CLOUD_RUN_SERVICE: &str = r"^[a-z]([-a-z0-9]*[a-z0-9])?$";
/// A Google Cloud region.
const REGION: &str = r"^[a-z]+-[a-z]+[0-9]+$";
/// A Google Cloud project ID: 6 to 30 characters, starting with a letter, not ending with `-`.
const PROJECT: &str = r"^[a-z][-a-z0-9]*[a-z0-9]$";
/// An image pinned by digest, or by a tag (not `latest`).
const PINNED_IMAGE: &str =
    r"^([^\s@]+@sha256:[0-9a-f]{64}|[^\s@]*[^\s@/]:[A-Za-z0-9_][-A-Za-z0-9_.]{0,127})$";
/// A request path: `/`, then no spaces.
const REQUEST_PATH: &str = r"^/\S*$";

/// A cutover migration plan (`cutover.yaml`, `*.cutover.yaml`), format version 1: the
/// migrations of Cloud Run traffic from an Istio ServiceEntry host to a GCPBackend host,
/// each rendered as one VirtualService per rollout stage. `cutover validate` checks what
/// this schema cannot: fields `defaults` must supply, weights that never decrease, unique
/// stage names, environments that name a stage of their migration, paths inside the
/// repository.
#[derive(JsonSchema)]
#[schemars(title = "cutover plan", rename_all = "camelCase", deny_unknown_fields)]
struct PlanFile {
    /// The plan format version: 1.
    version: FormatVersion,
    /// Folder for the generated tree, relative to this plan file; it must stay inside the
    /// repository.
    #[schemars(length(min = 1))]
    output: String,
    /// File layout of the generated tree: `kustomize` (a kustomization per stage and
    /// environment, the default) or `flat` (one file per stage).
    layout: Option<Layout>,
    /// The VirtualService `apiVersion` (default `networking.istio.io/v1`, for Istio 1.22
    /// and newer).
    api_version: Option<ApiVersion>,
    /// The Istio version the output is for, as a quoted string `"MAJOR.MINOR"` (default
    /// `"1.22"`): unquoted, `1.20` would be the number 1.2.
    #[schemars(pattern(ISTIO_VERSION), extend("default" = "1.22"))]
    istio_version: Option<String>,
    /// Any migration field but `name`: a migration that does not set a field takes it
    /// from here.
    defaults: Option<Defaults>,
    /// The migrations (an empty list makes `render` remove what the plan generated).
    migrations: Vec<Migration>,
}

/// The plan format version.
struct FormatVersion;

impl JsonSchema for FormatVersion {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FormatVersion".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "integer", "const": 1})
    }
}

/// How generated files are laid out.
#[derive(JsonSchema)]
#[schemars(inline, rename_all = "lowercase", extend("default" = "kustomize"))]
enum Layout {
    Kustomize,
    Flat,
}

/// A VirtualService `apiVersion` cutover renders ([`API_VERSIONS`]).
struct ApiVersion;

impl JsonSchema for ApiVersion {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ApiVersion".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "enum": API_VERSIONS, "default": API_VERSIONS[0]})
    }
}

/// One migration: a VirtualService moved from the `from` host to the `to` host in stages.
/// `namespace`, `from`, `to` and `stages` are required, here or in `defaults`.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
struct Migration {
    /// The migration's name: a DNS-1123 label (lowercase letters, digits and `-`, at most
    /// 63), unique in the plan; it names the output folder.
    name: Label,
    #[serde(flatten)]
    fields: MigrationFields,
}

/// Fields every migration takes unless it sets them itself (any migration field but
/// `name`). Left empty (`defaults:` alone), it sets nothing.
#[derive(JsonSchema)]
#[schemars(
    rename_all = "camelCase",
    deny_unknown_fields,
    extend("type" = ["object", "null"])
)]
struct Defaults {
    #[serde(flatten)]
    fields: MigrationFields,
}

/// The fields of a migration but `name` (also what `defaults` takes).
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase")]
struct MigrationFields {
    /// The VirtualService's namespace: a DNS-1123 label.
    namespace: Option<Label>,
    /// The VirtualService's `metadata.name`, a DNS-1123 subdomain (default: the migration
    /// name).
    virtual_service: Option<Subdomain>,
    /// `spec.hosts` (default: `[from]`): host names, a leading wildcard label allowed
    /// (`*.example.com`), or IPv4 addresses; no two the same or overlapping.
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    hosts: Option<Vec<HostsEntry>>,
    /// `spec.gateways`: `mesh`, `<name>` (a DNS-1123 subdomain) or `<namespace>/<name>`,
    /// each once.
    #[schemars(extend("uniqueItems" = true))]
    gateways: Option<Vec<Gateway>>,
    /// The ServiceEntry host traffic leaves: one DNS name (no wildcard, no IP address).
    from: Option<Host>,
    /// The GCPBackend host traffic moves to: one DNS name, not the `from` host.
    to: Option<Host>,
    /// The rollout, in order (at least one stage); the share sent to `to` never
    /// decreases from one stage to the next, so mirror stages come first.
    #[schemars(length(min = 1))]
    stages: Option<Vec<Stage>>,
    /// Environment name (a DNS-1123 label) → the name of the stage it runs; `promote`
    /// and `rollback` edit it. A migration that sets it replaces the whole mapping from
    /// `defaults`.
    environments: Option<Environments>,
    /// An existing VirtualService to migrate route by route: a YAML file, relative to
    /// this plan, inside the repository (the VirtualService named `virtualService` in it
    /// is used). Not with a header canary stage.
    #[schemars(length(min = 1))]
    base: Option<String>,
    /// Render from `base` even when an Argo Rollouts `Rollout` or a Flagger `Canary` of the
    /// repository names its VirtualService (refused otherwise: the controller and the
    /// stages would both set its weights). Default false.
    allow_managed_base: Option<bool>,
    /// Also render a GCPBackend for the Cloud Run service.
    gcp_backend: Option<GcpBackend>,
    /// Also render a Job that checks, from inside the mesh, that both hosts answer 200.
    verify: Option<Verify>,
}

/// A stage of the rollout: a `weight` stage, a `mirror` stage or a `header` canary
/// (with or without a `weight`).
#[derive(JsonSchema)]
#[schemars(untagged, transform = one_of)]
enum Stage {
    Weight(WeightStage),
    Mirror(MirrorStage),
    Header(HeaderStage),
}

/// A weight stage: `weight`% of requests go to `to`, the rest to `from`.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
struct WeightStage {
    /// The percentage of requests sent to `to`: an integer from 0 to 100.
    weight: Weight,
    #[serde(flatten)]
    common: StageFields,
}

/// A mirror stage: every request is served by `from`, and `mirror`% of them are also
/// sent to `to`, whose answers are discarded.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
struct MirrorStage {
    /// The percentage of requests mirrored to `to`: greater than 0, at most 100, with at
    /// most 4 decimal places.
    #[schemars(extend("exclusiveMinimum" = 0, "maximum" = 100))]
    mirror: f64,
    #[serde(flatten)]
    common: StageFields,
}

/// A header canary: requests whose header has exactly the value go to `to`; with a
/// `weight`, the others are split as in a weight stage, without one they stay on `from`.
/// Not with `base`.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
struct HeaderStage {
    /// The header to match.
    header: Header,
    /// The percentage of the other requests sent to `to`: an integer from 0 to 100
    /// (default 0).
    weight: Option<Weight>,
    #[serde(flatten)]
    common: StageFields,
}

/// What every stage may add.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase")]
struct StageFields {
    /// The stage's name: a DNS-1123 label of at most 50 characters, unique in the
    /// migration (default: `weight-10`, `mirror-12-5`, `header-x-canary-10`).
    name: Option<StageName>,
    /// The least time an environment stays at this stage before `promote` moves it on:
    /// numbers with units, e.g. `90s`, `30m`, `24h`, `2d`, `1h30m`.
    #[schemars(pattern(DURATION))]
    hold: Option<String>,
    /// A note for reviewers (shown by `stages`, `status` and the review).
    #[schemars(length(min = 1))]
    note: Option<String>,
}

/// A header canary's match.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
struct Header {
    /// The header name, lowercase (letters, digits and `-`), e.g. `x-canary`.
    #[schemars(pattern(HEADER_NAME), length(max = 64))]
    name: String,
    /// The exact value to match, a string: quote `"true"` or `"1"`.
    #[schemars(length(min = 1))]
    value: String,
}

/// A GCPBackend for the migration's Cloud Run service.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
struct GcpBackend {
    /// The GCPBackend's `metadata.name`, a DNS-1123 subdomain (default: the migration
    /// name).
    name: Option<Subdomain>,
    /// The Cloud Run service name: 1 to 49 lowercase letters, digits and `-`, starting
    /// with a letter and not ending with `-`.
    #[schemars(pattern(CLOUD_RUN_SERVICE), length(max = 49))]
    service: String,
    /// The Cloud Run service's region, exactly one, e.g. `europe-west1`.
    #[schemars(pattern(REGION))]
    region: String,
    /// The Google Cloud project, when not the cluster's own: 6 to 30 lowercase letters,
    /// digits and `-`, starting with a letter.
    #[schemars(pattern(PROJECT), length(min = 6, max = 30))]
    project: Option<String>,
}

/// A Job that calls both hosts from inside the mesh and fails unless every answer is 200.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
struct Verify {
    /// The Job's name, a DNS-1123 label (default: `<migration>-verify`); with
    /// `everyStage`, the start of each stage's Job name.
    name: Option<Label>,
    /// `http` (default) or `https`.
    scheme: Option<Scheme>,
    /// The port, when not the scheme's default.
    #[schemars(range(min = 1, max = 65535))]
    port: Option<u16>,
    /// The request path, starting with `/` (default `/`).
    #[schemars(pattern(REQUEST_PATH), extend("default" = "/"))]
    path: Option<String>,
    /// The container image, pinned by tag or digest (not `latest`).
    #[schemars(
        pattern(PINNED_IMAGE),
        extend("not" = {"pattern": ":latest$"}, "default" = crate::plan::VerifyJob::DEFAULT_IMAGE)
    )]
    image: Option<String>,
    /// A Job of its own in every stage overlay (kustomize layout only).
    #[schemars(extend("default" = false))]
    every_stage: Option<bool>,
    /// Requests sent to each host: 1 to 100 (default 10).
    #[schemars(range(min = 1, max = 100), extend("default" = crate::plan::VerifyJob::DEFAULT_REQUESTS))]
    requests: Option<u16>,
    /// Seconds to wait, once the pod's proxy is ready, before the first request: 0 to
    /// 600 (default 10).
    #[schemars(range(min = 0, max = 600), extend("default" = crate::plan::VerifyJob::DEFAULT_WAIT_SECONDS))]
    wait_seconds: Option<u16>,
    /// How a GitOps tool runs the Job: `none` (a plain Job, the default), `argocd` (a
    /// PostSync hook) or `flux`.
    gitops: Option<GitOpsName>,
}

/// `http` or `https`.
#[derive(JsonSchema)]
#[schemars(inline, rename_all = "lowercase", extend("default" = "http"))]
enum Scheme {
    Http,
    Https,
}

/// A GitOps tool's name ([`GitOps::NAMES`]).
struct GitOpsName;

impl JsonSchema for GitOpsName {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "GitOps".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = GitOps::NAMES.iter().map(|(n, _)| *n).collect();
        json_schema!({"type": "string", "enum": names, "default": names[0]})
    }
}

/// Environment name → stage name.
struct Environments;

impl JsonSchema for Environments {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Environments".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "propertyNames": generator.subschema_for::<Label>(),
            "additionalProperties": generator.subschema_for::<StageName>(),
        })
    }
}

/// A DNS-1123 label.
#[derive(JsonSchema)]
#[schemars(inline)]
struct Label(#[schemars(pattern(LABEL), length(max = 63))] String);

/// A stage name: a DNS-1123 label of at most 50 characters.
#[derive(JsonSchema)]
#[schemars(inline)]
struct StageName(#[schemars(pattern(LABEL), length(max = 50))] String);

/// A DNS-1123 subdomain.
#[derive(JsonSchema)]
#[schemars(inline)]
struct Subdomain(#[schemars(pattern(SUBDOMAIN), length(max = 253))] String);

/// One host name.
#[derive(JsonSchema)]
#[schemars(inline)]
struct Host(#[schemars(pattern(HOST), length(max = 255))] String);

/// An entry of `hosts`.
#[derive(JsonSchema)]
#[schemars(inline)]
struct HostsEntry(#[schemars(pattern(HOSTS_ENTRY), length(max = 255))] String);

/// A gateway reference.
#[derive(JsonSchema)]
#[schemars(inline)]
struct Gateway(#[schemars(pattern(GATEWAY), length(max = 253))] String);

/// A weight: an integer from 0 to 100.
#[derive(JsonSchema)]
#[schemars(inline)]
struct Weight(#[schemars(range(min = 0, max = 100))] u8);

/// Makes the generated schema read well in an editor and say no more than the plan:
/// - leaves out the `null` that `Option` adds to a property: a plan leaves out a key it
///   does not set (the parser refuses `key: null`); `defaults` left empty is null, and
///   says so in its own definition;
/// - drops the `format` of Rust's integer and float widths (`uint8`, `double`), which are
///   no JSON Schema formats;
/// - writes each description as one paragraph (doc comments wrap at 90 columns; editors
///   show the line breaks).
#[derive(Clone)]
struct ForEditors;

impl Transform for ForEditors {
    fn transform(&mut self, schema: &mut Schema) {
        if let Some(Value::Object(props)) = schema.get_mut("properties") {
            props.values_mut().for_each(absent_not_null);
        }
        if schema
            .get("format")
            .and_then(Value::as_str)
            .is_some_and(|f| RUST_FORMATS.contains(&f))
        {
            schema.remove("format");
        }
        if let Some(Value::String(d)) = schema.get_mut("description") {
            *d = d
                .split("\n\n")
                .map(|p| p.replace('\n', " "))
                .collect::<Vec<_>>()
                .join("\n\n");
        }
        transform_subschemas(self, schema);
    }
}

/// The `format`s schemars gives Rust's number types.
const RUST_FORMATS: [&str; 10] = [
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float", "double",
];

/// A property's schema without the `null` `Option` added to it.
fn absent_not_null(prop: &mut Value) {
    let Value::Object(map) = prop else {
        return;
    };
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if let [only] = &types[..] {
            let only = only.clone();
            map.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(values)) = map.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    let is_null = |v: &Value| v.get("type").is_some_and(|t| t == "null");
    let nullable = map
        .get("anyOf")
        .and_then(Value::as_array)
        .filter(|a| a.len() == 2 && a.iter().any(is_null))
        .and_then(|a| a.iter().find(|v| !is_null(v)))
        .cloned();
    if let Some(Value::Object(kept)) = nullable {
        map.shift_remove("anyOf");
        for (k, v) in kept {
            map.entry(k).or_insert(v);
        }
    }
}

/// A stage is exactly one of its kinds (`oneOf`; schemars writes an untagged enum as
/// `anyOf`).
fn one_of(schema: &mut Schema) {
    if let Some(kinds) = schema.remove("anyOf") {
        schema.insert("oneOf".into(), kinds);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;
    use std::sync::LazyLock;

    use proptest::prelude::*;

    use super::*;
    use crate::plan::{names, parse, stage, Plan};

    fn set(keys: &[&str]) -> BTreeSet<String> {
        keys.iter().map(|k| (*k).to_owned()).collect()
    }

    /// The property names of the object schema at `pointer`.
    fn keys(schema: &Value, pointer: &str) -> BTreeSet<String> {
        let props = schema
            .pointer(&format!("{pointer}/properties"))
            .and_then(Value::as_object)
            .unwrap_or_else(|| panic!("no properties at {pointer}"));
        props.keys().cloned().collect()
    }

    /// The schema of definition `name`.
    fn def(name: &str) -> String {
        format!("/definitions/{name}")
    }

    #[test]
    fn every_level_has_the_keys_the_parser_takes() {
        let s = plan_schema();
        assert_eq!(keys(&s, ""), set(parse::TOP_KEYS), "top level");
        assert_eq!(
            keys(&s, &def("Migration")),
            set(parse::MIGRATION_KEYS),
            "a migration"
        );
        let mut defaults = set(parse::MIGRATION_KEYS);
        defaults.remove("name");
        assert_eq!(keys(&s, &def("Defaults")), defaults, "defaults");
        // A stage's keys: those of its kinds together.
        let kinds = s
            .pointer("/definitions/Stage/oneOf")
            .and_then(Value::as_array)
            .expect("a stage is one of its kinds");
        let stage: BTreeSet<String> = kinds
            .iter()
            .filter_map(|k| k["$ref"].as_str()?.strip_prefix('#').map(str::to_owned))
            .flat_map(|kind| keys(&s, &kind))
            .collect();
        assert_eq!(kinds.len(), 3);
        assert_eq!(stage, set(parse::STAGE_KEYS), "a stage");
        assert_eq!(keys(&s, &def("Header")), set(parse::HEADER_KEYS), "header");
        assert_eq!(
            keys(&s, &def("GcpBackend")),
            set(parse::GCP_KEYS),
            "gcpBackend"
        );
        assert_eq!(keys(&s, &def("Verify")), set(parse::VERIFY_KEYS), "verify");
    }

    /// Every mapping refuses keys it does not list, as the parser does.
    #[test]
    fn every_mapping_refuses_unknown_keys() {
        fn walk(v: &Value, at: &str, seen: &mut usize) {
            match v {
                Value::Object(map) => {
                    if map.contains_key("properties") {
                        assert_eq!(map.get("additionalProperties"), Some(&false.into()), "{at}");
                        *seen += 1;
                    }
                    for (k, child) in map {
                        walk(child, &format!("{at}/{k}"), seen);
                    }
                }
                Value::Array(items) => {
                    for (i, child) in items.iter().enumerate() {
                        walk(child, &format!("{at}/{i}"), seen);
                    }
                }
                _ => {}
            }
        }
        let mut seen = 0;
        walk(&plan_schema(), "", &mut seen);
        // The plan, a migration, defaults, three kinds of stage, header, gcpBackend, verify.
        assert_eq!(seen, 9);
    }

    #[test]
    fn it_is_a_draft_07_schema() {
        let s = plan_schema();
        assert_eq!(s["$schema"], "http://json-schema.org/draft-07/schema#");
        assert_eq!(s["$id"], SCHEMA_URL);
        assert!(jsonschema::meta::is_valid(&s));
        assert!(plan_schema_text().ends_with("}\n"));
        assert!(modeline().ends_with("/schemas/plan-v1.schema.json"));
    }

    #[test]
    fn the_schema_url_is_the_repository_s_raw_file_at_the_version_tag() {
        let repository = env!("CARGO_PKG_REPOSITORY");
        let owner_repo = repository
            .strip_prefix("https://github.com/")
            .expect("Cargo.toml's repository is a GitHub address");
        assert_eq!(
            SCHEMA_URL,
            format!(
                "https://raw.githubusercontent.com/{owner_repo}/v{}/schemas/plan-v1.schema.json",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert!(!owner_repo.ends_with('/') && !owner_repo.ends_with(".git"));
    }

    fn plan(extra: &str) -> String {
        format!(
            "version: 1\noutput: o\n{extra}\nmigrations:\n- name: a\n  namespace: n\n  from: a.com\n  to: b.com\n  stages: [{{weight: 100}}]\n"
        )
    }

    fn parses(text: &str) -> bool {
        Plan::parse("p", text.as_bytes(), Path::new("/r/p"), Path::new("/r")).is_ok()
    }

    /// Each value of a closed set the schema offers is one the parser takes.
    #[test]
    fn the_parser_takes_every_value_the_schema_offers() {
        let s = plan_schema();
        let values = |pointer: &str| -> Vec<String> {
            s.pointer(&format!("{pointer}/enum"))
                .and_then(Value::as_array)
                .unwrap_or_else(|| panic!("no enum at {pointer}"))
                .iter()
                .map(|v| v.as_str().expect("a string").to_owned())
                .collect()
        };
        let checks = [
            ("/properties/layout", "layout: {}"),
            ("/properties/apiVersion", "apiVersion: {}"),
            (
                "/definitions/Verify/properties/scheme",
                "defaults: {{verify: {{scheme: {}}}}}",
            ),
            (
                "/definitions/Verify/properties/gitops",
                "defaults: {{verify: {{gitops: {}}}}}",
            ),
        ];
        for (pointer, line) in checks {
            let all = values(pointer);
            assert!(all.len() >= 2, "{pointer}");
            for v in all {
                let text = plan(&line.replace("{}", &v).replace("{{", "{").replace("}}", "}"));
                assert!(parses(&text), "{pointer}: {v}\n{text}");
            }
        }
        let default = |pointer: &str| s.pointer(&format!("{pointer}/default")).cloned();
        let istio = default("/properties/istioVersion").expect("a default");
        assert!(parses(&plan(&format!("istioVersion: {istio}"))));
        assert!(!parses(&plan("layout: tree")));
    }

    /// A parser's check of one value.
    type Check = fn(&str) -> bool;

    /// The value rules of the schema (each reference-free), compiled, with the parser's
    /// own check: where the parser takes a value, the schema must too (it may take more).
    static RULES: LazyLock<Vec<(&str, Check, jsonschema::Validator)>> = LazyLock::new(|| {
        let checks: [(&str, Check); 12] = [
            (
                "/definitions/Migration/properties/name",
                names::is_dns1123_label,
            ),
            (
                "/definitions/Migration/properties/virtualService",
                names::is_dns1123_subdomain,
            ),
            ("/definitions/Migration/properties/from", names::is_host),
            ("/definitions/Migration/properties/hosts/items", |h| {
                names::plan_host(h).is_ok()
            }),
            ("/definitions/Migration/properties/gateways/items", |g| {
                names::gateway(g).is_ok()
            }),
            ("/definitions/WeightStage/properties/name", |n| {
                names::is_dns1123_label(n) && n.len() <= 50
            }),
            ("/definitions/WeightStage/properties/hold", |d| {
                stage::parse_duration(d).is_some()
            }),
            ("/definitions/Header/properties/name", names::is_header_name),
            (
                "/definitions/GcpBackend/properties/service",
                names::is_cloud_run_service,
            ),
            (
                "/definitions/GcpBackend/properties/region",
                names::is_region,
            ),
            (
                "/definitions/GcpBackend/properties/project",
                names::is_project,
            ),
            (
                "/definitions/Verify/properties/image",
                names::is_pinned_image,
            ),
        ];
        let s = plan_schema();
        checks
            .into_iter()
            .map(|(pointer, check)| {
                let sub = s
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("no schema at {pointer}"));
                (
                    pointer,
                    check,
                    jsonschema::draft7::new(sub).expect("the rule compiles"),
                )
            })
            .collect()
    });

    /// The rules that refuse `s` although the parser takes it.
    fn stricter(s: &str) -> Vec<&'static str> {
        RULES
            .iter()
            .filter(|(_, check, rule)| check(s) && !rule.is_valid(&Value::from(s)))
            .map(|(pointer, _, _)| *pointer)
            .collect()
    }

    #[test]
    fn the_schema_takes_the_parsers_examples() {
        let digest = format!("curlimages/curl@sha256:{}", "a".repeat(64));
        let long = "a".repeat(63);
        let examples = [
            "a",
            "checkout",
            "a-1",
            "0",
            &long,
            "a.b",
            "payments.svc",
            "A.example.com",
            "cr-service-entry.com",
            "*.example.com",
            "*-x.example.com",
            "*x.example.com",
            "10.0.0.1",
            "mesh",
            "istio-system/gw",
            "gw.example.com",
            "24h",
            "1h30m",
            "2d",
            "90s",
            "x-canary",
            "europe-west1",
            "us-central1",
            "northamerica-northeast2",
            "shop-prod-123",
            "curlimages/curl:8.11.1",
            "registry.example.com:5000/tools/curl:v1",
            "curl:8",
            &digest,
        ];
        for e in examples {
            assert_eq!(stricter(e), Vec::<&str>::new(), "{e:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Random names, hosts, durations and images: the schema never refuses one the
        /// parser takes.
        #[test]
        fn the_schema_is_never_stricter_than_the_parser(
            s in "[*]?[a-zA-Z0-9.:/@_-]{0,12}|[a-z0-9-]{0,70}|[a-z0-9.-]{0,80}|[0-9smhd]{0,6}|[a-z]{1,5}-[a-z]{1,5}[0-9]{1,2}|[a-z]{1,8}(:[a-zA-Z0-9_.-]{0,5}|@sha256:[0-9a-f]{64})"
        ) {
            prop_assert_eq!(stricter(&s), Vec::<&str>::new(), "{:?}", s);
        }
    }
}
