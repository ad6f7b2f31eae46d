//! Base VirtualServices (`base:`) that once crashed `render`, made it write wrong weights,
//! or made it write stage files that YAML 1.1 and YAML 1.2 readers read differently; with
//! the real binary.
//!
//! - weights beyond Istio's 32 bits: refused, naming the base file and the weight, before
//!   any arithmetic (once a division by zero, once weights 9 / 79 / 12 instead of
//!   0 / 0 / 100, from `total * 100` wrapping in 64 bits);
//! - strings YAML 1.1 or 1.2 reads as another type (`1e400`, `yes`), and U+2028 in a
//!   header value: quoted and escaped as in the base, or written so by cutover;
//! - custom tags (`!`, `!env`, `!foo`): refused.

use crate::test::Test;

const PLAN: &str = "version: 1
output: out
migrations:
  - {name: m, namespace: ns, virtualService: vs, base: vs.yaml, from: a.example.com, to: b.example.com, stages: [{weight: 10}, {weight: 100}]}
";

/// A base VirtualService whose one HTTP route is `route` (a flow sequence).
fn base(route: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: vs, namespace: ns}}
spec:
  hosts: [a.example.com]
  http:
  - route: {route}
"
    )
}

fn with_base(base: &str) -> Test {
    Test::new()
        .git_folder()
        .file("cutover.yaml", PLAN)
        .file("vs.yaml", base)
}

/// `render` and `diff` refuse the base with `message` (and nothing else), and write nothing.
fn refused(base: &str, message: &str) {
    let t = with_base(base);
    let before = t.tree();
    for command in ["render", "diff"] {
        t.args([command, "cutover.yaml"])
            .status(2)
            .stderr(format!("error: base VirtualService vs.yaml: {message}\n"))
            .run();
    }
    assert_eq!(t.tree(), before, "render wrote files");
}

#[test]
fn a_weight_whose_total_times_100_wraps_to_0_is_refused() {
    refused(
        &base("[{destination: {host: a.example.com}, weight: 4611686018427387904}, {destination: {host: c.example.com}, weight: 0}]"),
        "spec.http[0].route[0].weight: 4611686018427387904 is out of range (Istio weights are 32-bit integers, from 0 to 2147483647)",
    );
}

#[test]
fn weights_that_once_rendered_as_9_79_12_are_refused() {
    refused(
        &base("[{destination: {host: a.example.com}, weight: 7}, {destination: {host: c.example.com}, weight: 4611686018427387905}]"),
        "spec.http[0].route[1].weight: 4611686018427387905 is out of range (Istio weights are 32-bit integers, from 0 to 2147483647)",
    );
}

#[test]
fn the_largest_32_bit_weights_render_exactly() {
    let t = with_base(&base("[{destination: {host: a.example.com}, weight: 2147483647}, {destination: {host: c.example.com}, weight: 2147483647}]"));
    t.args(["render", "-q", "cutover.yaml"]).run();
    let stage = t.read("out/m/stages/01-weight-10/virtualservice.yaml");
    // Exact: 5 / 45 / 50 (in the base's flow style).
    let doc: serde_yaml::Value = serde_yaml::from_str(&stage).unwrap();
    let weights: Vec<u64> = doc["spec"]["http"][0]["route"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|d| d["weight"].as_u64().unwrap())
        .collect();
    assert_eq!(weights, [5, 45, 50], "{stage}");
}

#[test]
fn values_yaml_1_1_and_1_2_read_differently_are_written_quoted() {
    let t = with_base(&base(
        r#"[{destination: {host: a.example.com}, weight: 90, headers: {request: {set: {x-sep: "p\u2028q", x-nel: "p\x85q"}}}}, {destination: {host: '1e400'}, weight: 10}]
    match: [{headers: {x-canary: {exact: 'yes'}}}]"#,
    ));
    t.args(["render", "-q", "cutover.yaml"]).run();
    for stage in ["01-weight-10", "02-weight-100"] {
        let text = t.read(&format!("out/m/stages/{stage}/virtualservice.yaml"));
        // The base's quoted scalars stay as written; the headers cutover copies to the
        // new destination are written escaped.
        for fragment in [
            r#"host: '1e400'"#,
            r#"exact: 'yes'"#,
            r#"x-sep: "p\u2028q", x-nel: "p\x85q""#,
            r#"x-sep: "p\u2028q", x-nel: "p\u0085q""#,
        ] {
            assert!(
                text.contains(fragment),
                "{stage} lacks `{fragment}`:\n{text}"
            );
        }
        assert!(
            !text.contains(['\u{85}', '\u{2028}']),
            "{stage} holds a raw separator"
        );
    }
    t.args(["check", "cutover.yaml"]).any_stdout().run();
}

#[test]
fn custom_tags_are_refused() {
    for (route, at, tag) in [
        (
            "[{destination: {host: !env HOST}}]",
            "spec.http[0].route[0].destination.host",
            "!env",
        ),
        (
            "[{destination: {host: a.example.com}, weight: ! 10}]",
            "spec.http[0].route[0].weight",
            "!",
        ),
        (
            "!foo [{destination: {host: a.example.com}}]",
            "spec.http[0].route",
            "!foo",
        ),
    ] {
        let t = with_base(&base(route));
        t.args(["render", "cutover.yaml"])
            .status(2)
            .stderr_contains(format!(
                "error: base VirtualService vs.yaml: {at} has the YAML tag `{tag}`"
            ))
            .stderr_contains("a VirtualService has no meaning for tags; remove it")
            .run();
    }
}

#[test]
fn lint_refuses_weights_beyond_32_bits_in_any_number_form() {
    for weight in ["2147483648", "18446744073709551615", "1e10"] {
        let t = Test::new().file("vs.yaml", base(&format!("[{{destination: {{host: a.example.com}}, weight: {weight}}}, {{destination: {{host: c.example.com}}, weight: 1}}]")));
        t.args(["lint", "vs.yaml"])
            .status(1)
            .stdout_contains("spec.http[0].route[0].weight: weight ")
            .stdout_contains("is larger than 2147483647")
            .run();
    }
}

/// `validate` renders in memory: a base `render` would refuse is refused by `validate` too
/// (it used to say ok and leave the refusal to `render`).
#[test]
fn validate_refuses_the_bases_render_refuses() {
    let t = Test::new()
        .git_folder()
        .file(
            "cutover.yaml",
            "version: 1\noutput: out\nmigrations:\n  - {name: m, namespace: ns, virtualService: vs, base: vs.yaml, from: a.example.com, to: b.example.com, stages: [{weight: 10}, {weight: 100}]}\n",
        )
        .file(
            "vs.yaml",
            "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs, namespace: ns}\nspec:\n  hosts: [a.example.com]\n  http:\n  - route:\n    - {destination: {host: a.example.com}, weight: 4611686018427387904}\n    - {destination: {host: c.example.com}, weight: 0}\n",
        );
    let before = t.tree();
    for cmd in ["validate", "render"] {
        t.args([cmd])
            .status(2)
            .stderr_contains("base VirtualService vs.yaml: spec.http[0].route[0].weight")
            .stderr_contains("out of range")
            .run();
    }
    assert_eq!(before, t.tree());
}

/// Only a TCP route sends to `from`, and Istio mirrors HTTP only: a mirror stage would be
/// the base itself, so `validate` and `render` refuse it (they rendered it silently).
#[test]
fn a_mirror_stage_that_would_mirror_nothing_is_refused() {
    let t = Test::new()
        .git_folder()
        .file(
            "cutover.yaml",
            "version: 1\noutput: out\nmigrations:\n  - {name: db, namespace: shop, virtualService: db, base: db.yaml, from: db-se.example.com, to: db-gcp.example.com, stages: [{mirror: 10}, {weight: 100}]}\n",
        )
        .file(
            "db.yaml",
            "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: db, namespace: shop}\nspec:\n  hosts: [db.example.com]\n  tcp:\n  - match: [{port: 5432}]\n    route: [{destination: {host: db-se.example.com, port: {number: 5432}}}]\n",
        );
    let before = t.tree();
    for cmd in ["validate", "render"] {
        t.args([cmd])
            .status(2)
            .stderr_contains("base VirtualService db.yaml: stage mirror-10: a mirror stage, but no HTTP route sends traffic to `db-se.example.com`")
            .stderr_contains("Istio mirrors HTTP only")
            .run();
    }
    assert_eq!(before, t.tree());
    // Without the mirror stage the TCP route is split as usual.
    t.write(
        "cutover.yaml",
        "version: 1\noutput: out\nmigrations:\n  - {name: db, namespace: shop, virtualService: db, base: db.yaml, from: db-se.example.com, to: db-gcp.example.com, stages: [{weight: 10}, {weight: 100}]}\n",
    );
    t.args(["render"]).any_stdout().run();
}
