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

/// A plan moving `from` to `gcp.example.com` in namespace `shop` with stages 10% and
/// 100%, the base `vs.yaml` (VirtualService `reviews`).
fn shop_plan(from: &str) -> String {
    format!(
        "version: 1\noutput: out\nmigrations:\n  - {{name: m, namespace: shop, virtualService: reviews, base: vs.yaml, from: {from}, to: gcp.example.com, stages: [{{weight: 10}}, {{weight: 100}}]}}\n"
    )
}

/// A base VirtualService `reviews` in namespace `shop` whose HTTP route is `route` (the
/// lines under `- `, indented by 4).
fn shop_base(route: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: reviews\n  namespace: shop\nspec:\n  hosts: [reviews.example.com]\n  http:\n  - {route}"
    )
}

/// The destinations of the first HTTP route of a stage file, as (host, `x-sub` header,
/// weight).
fn stage_dests(t: &Test, stage: &str) -> Vec<(String, Option<String>, u64)> {
    let text = t.read(&format!("out/m/stages/{stage}/virtualservice.yaml"));
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    doc["spec"]["http"][0]["route"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["destination"]["host"].as_str().unwrap().to_owned(),
                d["headers"]["request"]["set"]["x-sub"]
                    .as_str()
                    .map(str::to_owned),
                d["weight"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn dests(list: &[(&str, Option<&str>, u64)]) -> Vec<(String, Option<String>, u64)> {
    list.iter()
        .map(|(h, x, w)| (h.to_string(), x.map(str::to_owned), *w))
        .collect()
}

/// Two subsets of `from` set different headers: the traffic of each reaches `to` with its
/// own headers (it once reached `to` with the first subset's only, losing `x-sub: b`).
#[test]
fn every_header_set_of_from_reaches_to() {
    let t = Test::new()
        .git_folder()
        .file("cutover.yaml", shop_plan("se.example.com"))
        .file(
            "vs.yaml",
            shop_base(
                "route:\n    - destination: {host: se.example.com, subset: a}\n      headers: {request: {set: {x-sub: a}}}\n      weight: 50\n    - destination: {host: se.example.com, subset: b}\n      headers: {request: {set: {x-sub: b}}}\n      weight: 50\n",
            ),
        );
    t.args(["render", "-q", "cutover.yaml"]).run();
    assert_eq!(
        stage_dests(&t, "02-weight-100"),
        dests(&[
            ("gcp.example.com", Some("a"), 50),
            ("se.example.com", Some("a"), 0),
            ("gcp.example.com", Some("b"), 50),
            ("se.example.com", Some("b"), 0),
        ])
    );
    assert_eq!(
        stage_dests(&t, "01-weight-10"),
        dests(&[
            ("gcp.example.com", Some("a"), 5),
            ("se.example.com", Some("a"), 45),
            ("gcp.example.com", Some("b"), 5),
            ("se.example.com", Some("b"), 45),
        ])
    );
    t.args(["check", "cutover.yaml"]).any_stdout().run();
}

/// Istio reads the destination `reviews` of a VirtualService in namespace `shop` as
/// `reviews.shop.svc.cluster.local`: with that `from`, it is rewritten like one (it was
/// left alone, and the base refused as not sending to `from`). `stages` and `diff` read
/// its share as `from`'s.
#[test]
fn a_short_destination_host_is_from() {
    let base = shop_base(
        "route:\n    - destination: {host: reviews, subset: v1}\n      weight: 70\n    - destination: {host: reviews.shop.svc.cluster.local, subset: v2}\n      weight: 20\n    - destination: {host: ratings.example.com}\n      weight: 10\n",
    );
    for from in ["reviews.shop.svc.cluster.local", "reviews"] {
        let t = Test::new()
            .git_folder()
            .file("cutover.yaml", shop_plan(from))
            .file("vs.yaml", &base);
        t.args(["render", "-q", "cutover.yaml"]).run();
        assert_eq!(
            stage_dests(&t, "02-weight-100"),
            dests(&[
                ("gcp.example.com", None, 90),
                ("reviews", None, 0),
                ("reviews.shop.svc.cluster.local", None, 0),
                ("ratings.example.com", None, 10),
            ]),
            "from {from}"
        );
        t.args(["check", "cutover.yaml"]).any_stdout().run();
        // The review reads every destination of `from` as `from`'s: 9% and 81% at 10%.
        t.write(
            "cutover.yaml",
            shop_plan(from).replace("{weight: 10}", "{weight: 50}"),
        );
        let out = t
            .args(["diff", "--format", "json"])
            .status(1)
            .any_stdout()
            .run();
        let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let stage = json["migrations"][0]["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["stage"] == "weight-50")
            .unwrap_or_else(|| panic!("{}", out.stdout));
        assert_eq!(
            (&stage["after"]["to"], &stage["after"]["from"]),
            (&serde_json::json!(45), &serde_json::json!(45)),
            "{}",
            out.stdout
        );
    }
}

/// `reviews.shop` is not expanded by Istio: it is not `from`, keeps its share, and
/// `validate` says so, naming the base file, the route and the destination.
#[test]
fn validate_warns_of_a_host_istio_does_not_expand() {
    let t = Test::new()
        .git_folder()
        .file("cutover.yaml", shop_plan("reviews.shop.svc.cluster.local"))
        .file(
            "vs.yaml",
            shop_base(
                "route:\n    - destination: {host: reviews}\n      weight: 80\n    - destination: {host: reviews.shop}\n      weight: 20\n",
            ),
        );
    t.args(["validate", "cutover.yaml"])
        .stdout("ok: 1 plan valid (1 migration, 2 stages)\n")
        .stderr(
            "warning: spec.http[0].route[1]: Istio does not expand `reviews.shop`; it is not `from` and keeps its share; write `reviews.shop.svc.cluster.local` if it is meant to move
  --> vs.yaml:12:27
   |
12 |     - destination: {host: reviews.shop}
   |                           ^^^^^^^^^^^^
   = help: migration m moves `from` reviews.shop.svc.cluster.local (namespace shop); Istio reads a host without a dot, `name`, as `name.<namespace>.svc.cluster.local`, and every other host as written

",
        )
        .run();
    t.args(["render", "-q", "cutover.yaml"]).run();
    assert_eq!(
        stage_dests(&t, "02-weight-100"),
        dests(&[
            ("gcp.example.com", None, 80),
            ("reviews", None, 0),
            ("reviews.shop", None, 20),
        ])
    );
    // With only `reviews.shop`, no route sends to `from`: the error names the host.
    t.write(
        "vs.yaml",
        shop_base("route:\n    - destination: {host: reviews.shop}\n"),
    );
    t.args(["validate", "cutover.yaml"])
        .status(2)
        .stderr_contains("no route sends traffic to `reviews.shop.svc.cluster.local` (Istio does not expand `reviews.shop`, a host with a dot: write `reviews.shop.svc.cluster.local` to move its traffic)")
        .run();
}

/// A base route that mirrors to `from` still mirrors to it after the 100% stage:
/// `validate` says so, naming the base file, the route and the host.
#[test]
fn validate_warns_of_a_base_mirror_to_from() {
    let t = Test::new()
        .git_folder()
        .file("cutover.yaml", shop_plan("reviews.shop.svc.cluster.local"))
        .file(
            "vs.yaml",
            shop_base(
                "route:\n    - destination: {host: reviews.shop.svc.cluster.local, subset: v1}\n    mirror: {host: reviews, subset: v2}\n    mirrorPercentage: {value: 5}\n  - route:\n    - destination: {host: ratings.example.com}\n    mirrors:\n    - destination: {host: reviews.shop.svc.cluster.local}\n",
            ),
        );
    t.args(["validate", "cutover.yaml"])
        .stdout("ok: 1 plan valid (1 migration, 2 stages)\n")
        .stderr_contains(
            "warning: spec.http[0]: the route mirrors to `reviews`, which is `from` (`mirror`): every stage keeps this mirror, so `from` still receives copies of the requests after the 100% stage; remove the mirror from the base if `from` is to go\n  --> vs.yaml:11:20\n",
        )
        .stderr_contains(
            "warning: spec.http[1]: the route mirrors to `reviews.shop.svc.cluster.local`, which is `from` (`mirrors[0]`)",
        )
        .run();
    // Said by `validate` only.
    t.args(["render", "-q", "cutover.yaml"]).run();
}

/// A base that Istio itself refuses is named as the problem (not the stage rendered from it).
#[test]
fn a_base_istio_refuses_is_said_to_be_the_problem() {
    let t = Test::new()
        .git_folder()
        .file(
            "cutover.yaml",
            "version: 1\noutput: out\nmigrations:\n  - {name: db, namespace: shop, base: db.yaml, from: db-se.example.com, to: db-gcp.example.com, stages: [{weight: 100}]}\n",
        )
        .file(
            "db.yaml",
            "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: db, namespace: shop}\nspec:\n  hosts: db.example.com\n  http:\n  - route: [{destination: {host: db-se.example.com}}]\n",
        );
    let before = t.tree();
    for cmd in ["validate", "render"] {
        t.args([cmd])
            .status(2)
            .stderr_contains("base VirtualService db.yaml: is not a valid Istio VirtualService, so no stage of it would be: spec.hosts: \"db.example.com\" is not of type \"array\"; fix the base first")
            .run();
    }
    assert_eq!(before, t.tree());
}

/// A stage that cannot be edited from the base's text is written afresh, without the
/// base's comments: `render` says so, once per migration, naming the stages and why.
#[test]
fn stages_written_afresh_are_noted_once_per_migration() {
    let t = with_base(
        "# Kept by hand.
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: ns}
spec:
  hosts: [a.example.com]
  http:
  - match: [{uri: {prefix: /a}}]
    route: &r [{destination: {host: a.example.com}}]
  - route: *r
",
    );
    t.args(["render", "cutover.yaml"])
        .stdout("m: 4 written, 0 unchanged, 0 removed (cutover.yaml)\n")
        .stderr("note: migration m: stages weight-10, weight-100 of base vs.yaml are written afresh (the base's comments are not kept): an alias repeats a node the stage changes\n")
        .run();
    t.args(["render", "-q", "cutover.yaml"]).run();
    // A base the stages are edited from: nothing to say.
    let t = with_base(&base("[{destination: {host: a.example.com}}]"));
    t.args(["render", "cutover.yaml"])
        .stdout("m: 4 written, 0 unchanged, 0 removed (cutover.yaml)\n")
        .run();
}

/// A plain scalar cutover's YAML reader and YAML 1.2 read differently (`08080`: the
/// string "08080" to the one, the integer 8080 to the other) is refused as the base's,
/// by line, column and path, with what each reader makes of it; by `validate` and `check`
/// too.
#[test]
fn plain_scalars_the_readers_disagree_on_are_refused_in_the_base() {
    let message = "7:64: spec.http[0].route[0].destination.port.number: plain `08080` is the string \"08080\" to cutover's YAML reader, the integer 8080 in YAML 1.2 and the float 8080 in YAML 1.1, as kubectl reads it; write `8080` for a number or `\"08080\"` for a string";
    let text = base("[{destination: {host: a.example.com, port: {number: 08080}}}]");
    refused(&text, message);
    let t = with_base(&text);
    for command in ["validate", "check"] {
        t.args([command, "cutover.yaml"])
            .status(2)
            .stderr(format!("error: base VirtualService vs.yaml: {message}\n"))
            .run();
    }
}
