//! The plan checker and the VirtualService checker agree: what `validate` accepts renders
//! (its VirtualServices pass Istio's rules, `check::istio`), and what it refuses either
//! breaks Istio's rules too or breaks one of the few rules a plan adds to them, each named
//! in [`plan_only`]. Both checkers take their host, gateway and name rules from
//! `plan::names`.
//!
//! The property test runs in-process (the [`Loader`], `render_plan`, `check::istio`) on
//! plans whose names, hosts and gateways come from tricky alphabets: digits, dots,
//! wildcards, `/`, `:`, `_`, uppercase, IP addresses, labels of 63 and 64 characters,
//! names over 255. The CLI tests are the inputs that once passed `validate` and then
//! failed `render`, blaming the built-in template; and a tag that did not fit its value,
//! once read as a string.

use std::path::Path;

use cutover::check::istio;
use cutover::plan::Loader;
use cutover::render::{render_plan, Templates};
use cutover::{Diagnostic, Error};
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::test::Test;

/// One label: mostly short ones from a small alphabet (so that hosts collide and overlap),
/// some with uppercase, digits only, characters no label may hold, or too long.
fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        60 => "[a-c0-2]{1,2}",
        2 => "[a-zA-Z0-9-]{1,5}",
        2 => "[0-9]{1,3}",
        1 => "[a-z0-9_*:-]{0,3}",
        1 => Just("a".repeat(63)),
        1 => Just("b".repeat(64)),
    ]
}

/// A dotted name: a few labels, then a suffix from a small set (so that names share
/// suffixes, some of them all digits) or a label.
fn domain() -> impl Strategy<Value = String> {
    let suffix = prop_oneof![
        16 => prop::sample::select(vec!["example.com", "EXAMPLE.com", "svc.cluster.local", "io"])
            .prop_map(str::to_owned),
        1 => prop::sample::select(vec!["1.22", "4", "123"]).prop_map(str::to_owned),
        2 => label(),
    ];
    (prop::collection::vec(label(), 0..3), suffix).prop_map(|(mut labels, suffix)| {
        labels.push(suffix);
        labels.join(".")
    })
}

/// A host as a plan may write one, valid or not.
fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        60 => domain(),
        4 => domain().prop_map(|d| format!("*.{d}")),
        1 => domain().prop_map(|d| format!("*{d}")),
        1 => domain().prop_map(|d| format!("{d}.")),
        2 => any::<[u8; 4]>().prop_map(|b| format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])),
        1 => prop::sample::select(vec!["*", "::1", "fe80::1", "", "01.2.3.4", "a..b", "-a.com"])
            .prop_map(str::to_owned),
        1 => Just(format!("{}.com", vec!["c".repeat(63); 4].join("."))),
    ]
}

/// A gateway reference, valid or not.
fn gateway() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("mesh".to_owned()),
        6 => (label(), label()).prop_map(|(ns, name)| format!("{ns}/{name}")),
        2 => (label(), domain()).prop_map(|(ns, name)| format!("{ns}/{name}")),
        4 => domain(),
        1 => "[a-c1/.]{0,6}",
    ]
}

/// A Kubernetes name, valid or not.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => "[a-z]([a-z0-9-]{0,4}[a-z0-9])?",
        1 => label(),
        1 => domain(),
    ]
}

#[derive(Clone, Debug)]
struct Migration {
    name: String,
    namespace: String,
    virtual_service: Option<String>,
    from: String,
    to: String,
    hosts: Option<Vec<String>>,
    gateways: Option<Vec<String>>,
}

fn migration() -> impl Strategy<Value = Migration> {
    (
        name(),
        name(),
        prop::option::weighted(0.3, domain()),
        host(),
        host(),
        prop::option::weighted(0.6, prop::collection::vec(host(), 1..3)),
        prop::option::weighted(0.6, prop::collection::vec(gateway(), 1..3)),
    )
        .prop_map(
            |(name, namespace, virtual_service, from, to, hosts, gateways)| Migration {
                name,
                namespace,
                virtual_service,
                from,
                to,
                hosts,
                gateways,
            },
        )
}

/// The plan, written as JSON (a YAML document whose strings are all quoted, so every value
/// reaches the checker as the string generated).
fn plan_text(m: &Migration) -> String {
    let mut mig = json!({
        "name": m.name,
        "namespace": m.namespace,
        "from": m.from,
        "to": m.to,
        "stages": [{"mirror": 5}, {"weight": 10}, {"weight": 100}],
    });
    if let Some(vs) = &m.virtual_service {
        mig["virtualService"] = json!(vs);
    }
    if let Some(h) = &m.hosts {
        mig["hosts"] = json!(h);
    }
    if let Some(g) = &m.gateways {
        mig["gateways"] = json!(g);
    }
    let plan = json!({"version": 1, "output": "out", "migrations": [mig]});
    serde_json::to_string_pretty(&plan).expect("JSON")
}

/// The VirtualService the built-in template renders for `m` (its weighted and its
/// mirroring route at once), built without the plan checker: Istio's verdict on the
/// values themselves.
fn virtual_service(m: &Migration) -> Value {
    let mut spec = json!({
        "hosts": m.hosts.clone().unwrap_or_else(|| vec![m.from.clone()]),
        "http": [
            {"route": [
                {"destination": {"host": m.to}, "weight": 10},
                {"destination": {"host": m.from}, "weight": 90},
            ]},
            {"route": [{"destination": {"host": m.from}, "weight": 100}],
             "mirror": {"host": m.to}, "mirrorPercentage": {"value": 5}},
        ],
    });
    if let Some(g) = &m.gateways {
        spec["gateways"] = json!(g);
    }
    json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {
            "name": m.virtual_service.as_deref().unwrap_or(&m.name),
            "namespace": m.namespace,
        },
        "spec": spec,
    })
}

/// Whether `d` is one of the rules a plan adds to Istio's (each explained where it is
/// enforced): the migration name is a DNS-1123 label (it names a folder); `from` and `to`
/// differ, and each names one host without a trailing dot; `hosts` holds no `*`, no IPv6
/// address, no trailing dot, and no two hosts that are the same or overlap without regard
/// to case; no gateway twice.
fn plan_only(d: &Diagnostic) -> bool {
    let m = d.message.as_str();
    (d.field.ends_with(".name") && (m.starts_with("migration name") || m == "must not be empty"))
        || m.starts_with("`to` is the same host as `from`")
        || m.ends_with("is a wildcard, not one host")
        || m.ends_with("ends with a dot")
        || m.ends_with("is an IPv6 address")
        || m == "host `*` is not allowed"
        || m.starts_with("duplicate host")
        || (m.starts_with("host `") && m.contains("` overlaps host `"))
        || m.starts_with("duplicate gateway")
}

fn check(m: &Migration) -> Result<(), TestCaseError> {
    let text = plan_text(m);
    let parsed = Loader::default().parse(
        "plan.yaml",
        text.as_bytes(),
        Path::new("/repo/plan.yaml"),
        Path::new("/repo"),
    );
    let templates = Templates::builtin().expect("the built-in templates compile");
    match parsed {
        Ok(plan) => {
            if let Err(e) = render_plan(&plan, &templates) {
                return Err(TestCaseError::fail(format!(
                    "validate accepts the plan, render refuses it: {e}\n{text}"
                )));
            }
        }
        Err(Error::Invalid(diags)) => {
            let istio = istio::virtual_service(&virtual_service(m));
            if istio.is_empty() {
                let unexplained: Vec<String> = diags
                    .0
                    .iter()
                    .filter(|d| !plan_only(d))
                    .map(|d| format!("{}: {}", d.field, d.message))
                    .collect();
                prop_assert!(
                    unexplained.is_empty(),
                    "validate refuses what Istio accepts, for no rule of a plan's own: {unexplained:?}\n{text}"
                );
            }
        }
        Err(e) => return Err(TestCaseError::fail(format!("{e}\n{text}"))),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// `validate` ok ⇔ `render` ok, and a refusal is Istio's or a plan's own rule.
    #[test]
    fn validate_and_render_agree(m in migration()) {
        check(&m)?;
    }
}

/// A plan with one migration; `field` (a line of YAML) adds to or overrides its fields.
fn plan(field: &str) -> String {
    format!(
        "version: 1
output: out
defaults: {{namespace: ns, from: a.example.com, to: b.example.com}}
migrations:
  - name: m
    {field}
    stages: [{{weight: 10}}, {{weight: 100}}]
"
    )
}

/// `validate` refuses `field` with `message` at line 6, column `col`, and `render` refuses
/// it the same way, writing nothing and blaming no template.
fn refused(field: &str, message: &str, col: usize) {
    let t = Test::new().file("cutover.yaml", plan(field));
    let at = format!(" --> cutover.yaml:6:{col}\n");
    t.args(["validate", "cutover.yaml"])
        .status(2)
        .stderr_contains(message)
        .stderr_contains(&at)
        .run();
    t.args(["render", "cutover.yaml"])
        .status(2)
        .stderr_contains(message)
        .stderr_contains(&at)
        .stderr_lacks("template")
        .run();
    assert!(!t.exists("out"), "render wrote files for a refused plan");
}

#[test]
fn a_gateway_name_with_a_namespace_is_a_label() {
    refused(
        "gateways: [istio-system/edge.gw]",
        "error: migrations[0].gateways[0]: gateway `istio-system/edge.gw`: name `edge.gw` is not a DNS-1123 label",
        16,
    );
}

#[test]
fn a_route_destination_is_not_an_ip_address() {
    refused(
        "from: \"1.2.3.4\"",
        "error: migrations[0].from: host `1.2.3.4` is not a valid DNS name (top-level domain `4` cannot be all digits)",
        11,
    );
}

#[test]
fn a_top_level_domain_is_not_all_digits() {
    refused(
        "to: '1.22'",
        "error: migrations[0].to: host `1.22` is not a valid DNS name (top-level domain `22` cannot be all digits)",
        9,
    );
}

#[test]
fn hosts_do_not_overlap() {
    refused(
        "hosts: [\"*.example.com\", a.example.com]",
        "error: migrations[0].hosts[1]: host `a.example.com` overlaps host `*.example.com`",
        30,
    );
}

#[test]
fn a_tag_must_fit_its_value() {
    refused(
        "to: !!int b.example.com",
        "error: migrations[0].to: the value `b.example.com` does not fit its tag `!!int`: it is not a 64-bit integer",
        9,
    );
}

#[test]
fn a_tag_that_fits_is_read_as_its_type() {
    // `!!str` makes a number a string: `1e5` is a valid host (unquoted, the float 100000).
    let t = Test::new().file("cutover.yaml", plan("hosts: [!!str 1e5]"));
    t.args(["validate", "cutover.yaml"])
        .stdout_contains("ok: 1 plan valid")
        .run();
    // `!!int` on an integer is an integer: not a host.
    let t = Test::new().file("cutover.yaml", plan("to: !!int 10"));
    t.args(["validate", "cutover.yaml"])
        .status(2)
        .stderr_contains("error: migrations[0].to: expected a string, found an integer")
        .run();
}
