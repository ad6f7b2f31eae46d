//! The parts of a migration beyond the VirtualService: the GCPBackend, header canary
//! stages, and the `init` and `explain` commands (the verification Job: `verify.rs`).
//!
//! Every test runs the binary in its own temporary folder (a repository root: it has a
//! `.git` folder) and reads back what it wrote, parsed as YAML.

use crate::test::Test;
use serde_yaml::Value;

/// A temporary repository holding `plan` as `cutover.yaml`.
pub(crate) fn repo_with(plan: &str) -> Test {
    Test::new().git_folder().file("cutover.yaml", plan)
}

/// Renders `plan` in a temporary repository; the test folder is returned for reading.
pub(crate) fn rendered(plan: &str) -> Test {
    let t = repo_with(plan);
    t.args(["render", "cutover.yaml"]).any_stdout().run();
    t
}

/// The one YAML document of a file of the test folder.
pub(crate) fn yaml(t: &Test, path: &str) -> Value {
    let text = t.read(path);
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}\n{text}"))
}

/// The `resources` of a kustomization.yaml, as strings.
pub(crate) fn resources(t: &Test, path: &str) -> Vec<String> {
    yaml(t, path)["resources"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{path}: no resources"))
        .iter()
        .map(|r| r.as_str().expect("resource is a string").to_owned())
        .collect()
}

/// `(host, weight)` of each destination of an HTTP route.
fn route(r: &Value) -> Vec<(String, i64)> {
    r["route"]
        .as_sequence()
        .unwrap_or_else(|| panic!("no route in {r:?}"))
        .iter()
        .map(|d| {
            (
                d["destination"]["host"].as_str().expect("host").to_owned(),
                d["weight"].as_i64().expect("weight"),
            )
        })
        .collect()
}

fn dest(host: &str, weight: i64) -> (String, i64) {
    (host.to_owned(), weight)
}

// --- GCPBackend ----------------------------------------------------------------------------

const GCP_PLAN: &str = r#"version: 1
output: deploy
defaults:
  namespace: shop
  stages: [{weight: 10}, {weight: 100}]
migrations:
  - name: orders
    from: orders-se.example.com
    to: orders-gcp.example.com
    gcpBackend: {service: orders-svc, region: europe-west1, project: shop-prod-123}
  - name: ledger
    from: ledger-se.example.com
    to: ledger-gcp.example.com
    gcpBackend:
      name: ledger-backend.v1
      service: ledger
      region: us-central1
  - name: plain
    from: plain-se.example.com
    to: plain-gcp.example.com
"#;

#[test]
fn gcpbackend_is_rendered_with_and_without_project() {
    let t = rendered(GCP_PLAN);

    let g = yaml(&t, "deploy/orders/gcpbackend/gcpbackend.yaml");
    assert_eq!(g["apiVersion"].as_str(), Some("networking.gke.io/v1"));
    assert_eq!(g["kind"].as_str(), Some("GCPBackend"));
    // The name defaults to the migration name.
    assert_eq!(g["metadata"]["name"].as_str(), Some("orders"));
    assert_eq!(g["metadata"]["namespace"].as_str(), Some("shop"));
    let run = &g["spec"]["cloudrun"];
    assert_eq!(run["service"].as_str(), Some("orders-svc"));
    assert_eq!(
        run["regions"],
        serde_yaml::from_str::<Value>("[europe-west1]").unwrap()
    );
    assert_eq!(run["project"].as_str(), Some("shop-prod-123"));

    let g = yaml(&t, "deploy/ledger/gcpbackend/gcpbackend.yaml");
    assert_eq!(g["metadata"]["name"].as_str(), Some("ledger-backend.v1"));
    let run = &g["spec"]["cloudrun"];
    assert_eq!(run["service"].as_str(), Some("ledger"));
    assert_eq!(
        run["regions"],
        serde_yaml::from_str::<Value>("[us-central1]").unwrap()
    );
    assert!(run.get("project").is_none(), "project without one: {run:?}");
    assert!(
        !t.read("deploy/ledger/gcpbackend/gcpbackend.yaml")
            .contains("project"),
        "the file mentions a project"
    );

    for m in ["orders", "ledger"] {
        assert_eq!(
            resources(&t, &format!("deploy/{m}/gcpbackend/kustomization.yaml")),
            ["gcpbackend.yaml"]
        );
        for stage in ["01-weight-10", "02-weight-100"] {
            assert_eq!(
                resources(&t, &format!("deploy/{m}/stages/{stage}/kustomization.yaml")),
                ["virtualservice.yaml", "../../gcpbackend"],
                "{m}/{stage}"
            );
        }
    }
    // A migration without gcpBackend gets neither the folder nor the resource.
    assert!(!t.exists("deploy/plain/gcpbackend"));
    assert_eq!(
        resources(&t, "deploy/plain/stages/01-weight-10/kustomization.yaml"),
        ["virtualservice.yaml"]
    );
    assert!(!t.exists("deploy/orders/verify"));

    let t = t;
    t.args(["check"])
        .stdout("ok: 16 generated files up to date\n")
        .run();
}

#[test]
fn flat_layout_writes_gcpbackend_and_job_beside_the_stages() {
    let plan = r#"version: 1
output: out
layout: flat
migrations:
  - name: orders
    namespace: shop
    from: orders-se.example.com
    to: orders-gcp.example.com
    gcpBackend: {service: orders, region: europe-west1}
    verify: {}
    stages: [{weight: 10}, {weight: 100}]
"#;
    let t = rendered(plan);
    let g = yaml(&t, "out/orders/gcpbackend.yaml");
    assert_eq!(g["kind"].as_str(), Some("GCPBackend"));
    assert_eq!(g["metadata"]["name"].as_str(), Some("orders"));
    // The Job run by hand (the flat layout refuses `everyStage`: verify.rs).
    let job = yaml(&t, "out/orders/verify-job.yaml");
    assert_eq!(job["kind"].as_str(), Some("Job"));
    assert_eq!(job["metadata"]["name"].as_str(), Some("orders-verify"));
    let env = &job["spec"]["template"]["spec"]["containers"][0]["env"];
    let var = |key: &str| {
        env.as_sequence()
            .and_then(|e| e.iter().find(|v| v["name"].as_str() == Some(key)))
            .and_then(|v| v["value"].as_str())
            .unwrap_or_else(|| panic!("no {key} in {env:?}"))
            .to_owned()
    };
    assert_eq!(var("CLIENT_URL"), "http://orders-se.example.com/");
    assert_eq!(var("BACKEND_URL"), "http://orders-gcp.example.com/");
    assert_eq!(var("STAGE"), "run by hand");
    for gone in [
        "out/orders/gcpbackend",
        "out/orders/verify",
        "out/orders/stages",
    ] {
        assert!(!t.exists(gone), "{gone} exists in the flat layout");
    }
    let mut names: Vec<String> = std::fs::read_dir(t.path().join("out/orders"))
        .expect("read out/orders")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "01-weight-10.yaml",
            "02-weight-100.yaml",
            "gcpbackend.yaml",
            "verify-job.yaml"
        ]
    );
    let t = t;
    t.args(["check"])
        .stdout("ok: 4 generated files up to date\n")
        .run();
}

// --- header canary -------------------------------------------------------------------------

const HEADER_PLAN: &str = r#"version: 1
output: deploy
migrations:
  - name: orders
    namespace: shop
    from: orders-se.example.com
    to: orders-gcp.example.com
    stages:
      - header: {name: x-canary, value: "true"}
      - {header: {name: x-canary, value: "true"}, weight: 10}
      - {name: testers-25, header: {name: x-team, value: "qa 1"}, weight: 25}
      - weight: 100
"#;

#[test]
fn header_canary_stages_route_matching_requests_to_the_new_host() {
    let t = rendered(HEADER_PLAN);
    let (to, from) = ("orders-gcp.example.com", "orders-se.example.com");
    // (stage folder, header, value, main route weight to `to`)
    let cases = [
        ("01-header-x-canary", "x-canary", "true", 0),
        ("02-header-x-canary-10", "x-canary", "true", 10),
        ("03-testers-25", "x-team", "qa 1", 25),
    ];
    for (stage, header, value, w) in cases {
        let vs = yaml(
            &t,
            &format!("deploy/orders/stages/{stage}/virtualservice.yaml"),
        );
        let http = vs["spec"]["http"].as_sequence().expect("http routes");
        assert_eq!(http.len(), 2, "{stage}: {http:?}");
        // First route: the header matches exactly, and all of it goes to `to`.
        let matches = http[0]["match"].as_sequence().expect("match");
        assert_eq!(matches.len(), 1, "{stage}");
        let m = matches[0]["headers"]
            .as_mapping()
            .expect("headers match")
            .clone();
        assert_eq!(m.len(), 1, "{stage}: {m:?}");
        assert_eq!(m[header]["exact"].as_str(), Some(value), "{stage}: {m:?}");
        assert_eq!(route(&http[0]), [dest(to, 100)], "{stage}");
        // Second route: everyone else, split by the stage's weight.
        assert!(
            http[1].get("match").is_none(),
            "{stage}: main route matches"
        );
        assert_eq!(
            route(&http[1]),
            [dest(to, w), dest(from, 100 - w)],
            "{stage}"
        );
    }
    // A plain weight stage after them has no header route.
    let vs = yaml(&t, "deploy/orders/stages/04-weight-100/virtualservice.yaml");
    let http = vs["spec"]["http"].as_sequence().expect("http routes");
    assert_eq!(http.len(), 1);
    assert!(http[0].get("match").is_none());
}

#[test]
fn header_canary_default_stage_names() {
    let t = rendered(HEADER_PLAN);
    for dir in [
        "deploy/orders/stages/01-header-x-canary",
        "deploy/orders/stages/02-header-x-canary-10",
        "deploy/orders/stages/03-testers-25",
        "deploy/orders/stages/04-weight-100",
    ] {
        assert!(t.exists(dir), "{dir} missing");
    }
    // The names are the ones environments and `stages` use.
    t.write(
        "cutover.yaml",
        format!(
            "{HEADER_PLAN}    environments: {{dev: header-x-canary-10, prod: header-x-canary}}\n"
        ),
    );
    t.args(["validate", "cutover.yaml"])
        .stdout("ok: 1 plan valid (1 migration, 4 stages)\n")
        .run();
    t.args(["render", "cutover.yaml"])
        .stdout("orders: 2 written, 8 unchanged, 0 removed (cutover.yaml)\n")
        .run();
    assert_eq!(
        resources(&t, "deploy/orders/envs/prod/kustomization.yaml"),
        ["../../stages/01-header-x-canary"]
    );
    assert_eq!(
        resources(&t, "deploy/orders/envs/dev/kustomization.yaml"),
        ["../../stages/02-header-x-canary-10"]
    );
}

/// A header canary with `base`: a canary route before each route that sends to `from`
/// (the `/admin` route to another host is left alone), with that route's conditions plus
/// the header; validate, render and check agree.
#[test]
fn header_canary_with_base_goes_before_each_route_to_from() {
    let plan = r#"version: 1
output: generated
migrations:
  - name: orders
    namespace: shop
    base: istio/orders.yaml
    from: orders-se.example.com
    to: orders-gcp.example.com
    stages:
      - header: {name: x-canary, value: "true"}
      - weight: 100
"#;
    let base = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: orders, namespace: shop}\nspec:\n  hosts: [orders.example.com]\n  http:\n  - name: admin\n    match: [{uri: {prefix: /admin}}]\n    route: [{destination: {host: admin.example.com}}]\n  - name: api\n    match: [{uri: {prefix: /api}}, {uri: {prefix: /v2}}]\n    route: [{destination: {host: orders-se.example.com}}]\n  tcp:\n  - route: [{destination: {host: orders-se.example.com}}]\n";
    let t = repo_with(plan).file("istio/orders.yaml", base);
    t.args(["validate", "cutover.yaml"]).any_stdout().run();
    t.args(["render", "cutover.yaml"]).any_stdout().run();
    t.args(["check", "cutover.yaml"]).any_stdout().run();
    let text = t.read("generated/orders/stages/01-header-x-canary/virtualservice.yaml");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("YAML");
    let http = doc["spec"]["http"].as_sequence().expect("http routes");
    let names: Vec<_> = http.iter().map(|r| r["name"].as_str()).collect();
    assert_eq!(
        names,
        [Some("admin"), Some("api-header-x-canary"), Some("api")],
        "{text}"
    );
    let canary: serde_yaml::Value = serde_yaml::from_str(
        "- {headers: {x-canary: {exact: 'true'}}, uri: {prefix: /api}}\n- {headers: {x-canary: {exact: 'true'}}, uri: {prefix: /v2}}",
    )
    .expect("YAML");
    assert_eq!(http[1]["match"], canary, "{text}");
    assert_eq!(
        http[1]["route"][0]["destination"]["host"],
        "orders-gcp.example.com"
    );
    assert_eq!(http[1]["route"][0]["weight"], 100);
    // Everyone else stays on `from`.
    assert_eq!(http[2]["route"][0]["weight"], 0);
    assert_eq!(http[2]["route"][1]["weight"], 100);
    assert_eq!(doc["spec"]["tcp"][0]["route"][1]["weight"], 100);
}

/// A header canary needs an HTTP route to `from`: TCP and TLS routes have no headers.
/// A route whose conditions all exclude the canary's value (`withoutHeaders`, another
/// value) cannot get a canary either.
#[test]
fn header_canary_with_base_is_refused_where_it_cannot_match() {
    let plan = "version: 1\noutput: generated\nmigrations:\n  - {name: db, namespace: shop, base: db.yaml, from: db-se.example.com, to: db-gcp.example.com, stages: [{header: {name: x-canary, value: \"true\"}}, {weight: 100}]}\n";
    for (routes, message) in [
        (
            "  tcp:\n  - route: [{destination: {host: db-se.example.com}}]\n",
            "a header canary stage, but no HTTP route sends traffic to `db-se.example.com`",
        ),
        (
            "  http:\n  - match: [{withoutHeaders: {x-canary: {exact: \"true\"}}}]\n    route: [{destination: {host: db-se.example.com}}]\n",
            "spec.http[0]: no match condition of the route can match a request with header `x-canary`",
        ),
        (
            "  http:\n  - match: [{headers: {x-canary: {exact: beta}}}]\n    route: [{destination: {host: db-se.example.com}}]\n",
            "spec.http[0]: no match condition of the route can match a request with header `x-canary`",
        ),
    ] {
        let base = format!("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: db, namespace: shop}}\nspec:\n  hosts: [db.example.com]\n{routes}");
        let t = repo_with(plan).file("db.yaml", &base);
        let before = t.tree();
        for cmd in ["validate", "render"] {
            t.args([cmd, "cutover.yaml"])
                .status(2)
                .stderr_contains("base VirtualService db.yaml: stage header-x-canary: ")
                .stderr_contains(message)
                .run();
        }
        assert_eq!(t.tree(), before, "files were written");
    }
}

// --- init ----------------------------------------------------------------------------------

#[test]
fn init_writes_a_plan_that_validate_accepts() {
    let t = Test::new().git_folder();
    t.args(["init"])
        .stdout_contains("wrote cutover.yaml")
        .stdout_contains("cutover explain cutover.yaml")
        .run();
    assert!(t.exists("cutover.yaml"));
    t.args(["validate", "cutover.yaml"])
        .stdout("ok: 1 plan valid (1 migration, 4 stages)\n")
        .run();
    t.args(["render", "cutover.yaml"])
        .stdout("checkout: 10 written, 0 unchanged, 0 removed (cutover.yaml)\n")
        .run();
    t.args(["check"])
        .stdout("ok: 10 generated files up to date\n")
        .run();
    assert!(t.exists("deploy/cutover/checkout/stages/01-weight-10/virtualservice.yaml"));
}

#[test]
fn init_with_options_writes_them_into_the_plan() {
    // init does not create the plan's folder.
    let t = Test::new().git_folder().file("apps/orders/README", "");
    t.args([
        "init",
        "apps/orders/orders.cutover.yaml",
        "--name",
        "orders",
        "--namespace",
        "shop",
        "--from",
        "orders-se.example.com",
        "--to",
        "orders-gcp.example.com",
        "--stages",
        "5, 50,100",
        "--mirror",
        "12.5",
        "--output",
        "overlays/cutover",
    ])
    .stdout_contains("apps/orders/orders.cutover.yaml")
    // What validate would say about the plan, said when it is written.
    .stderr_contains("warning: migrations[0]: stage mirror-12-5 mirrors requests")
    .run();
    t.args(["validate", "apps/orders/orders.cutover.yaml"])
        .stdout("ok: 1 plan valid (1 migration, 4 stages)\n")
        .stderr_contains(
            "warning: migrations[0]: stage mirror-12-5 mirrors requests to orders-gcp.example.com",
        )
        .run();
    let plan = yaml(&t, "apps/orders/orders.cutover.yaml");
    assert_eq!(plan["output"].as_str(), Some("overlays/cutover"));
    let m = &plan["migrations"][0];
    assert_eq!(m["name"].as_str(), Some("orders"));
    assert_eq!(m["namespace"].as_str(), Some("shop"));
    assert_eq!(m["from"].as_str(), Some("orders-se.example.com"));
    assert_eq!(m["to"].as_str(), Some("orders-gcp.example.com"));
    let stages = m["stages"].as_sequence().expect("stages");
    assert_eq!(stages.len(), 4);
    assert_eq!(stages[0]["mirror"].as_f64(), Some(12.5));
    let weights: Vec<Option<i64>> = stages[1..].iter().map(|s| s["weight"].as_i64()).collect();
    assert_eq!(weights, [Some(5), Some(50), Some(100)]);
    t.args(["render", "apps/orders/orders.cutover.yaml"])
        .stdout("orders: 10 written, 0 unchanged, 0 removed (apps/orders/orders.cutover.yaml)\n")
        .run();
    assert!(t.exists("apps/orders/overlays/cutover/orders/stages/01-mirror-12-5"));
}

#[test]
fn init_never_overwrites_a_file() {
    let original = b"# my own plan\r\nversion: 1\n\xff not even UTF-8\n".to_vec();
    let t = Test::new().git_folder().file("cutover.yaml", &original);
    let before = t.tree();
    t.args(["init"])
        .status(2)
        .stderr_contains("already exists")
        .run();
    t.args(["init", "cutover.yaml", "--name", "other"])
        .status(2)
        .stderr_contains("already exists")
        .run();
    assert_eq!(t.tree(), before, "init changed the folder");
    assert_eq!(
        std::fs::read(t.path().join("cutover.yaml")).unwrap(),
        original
    );
}

#[test]
fn init_refuses_a_bad_name_naming_the_flag_and_writes_nothing() {
    for bad in ["Bad_Name", "has space", "-lead"] {
        let t = Test::new().git_folder();
        t.args(["init".to_owned(), format!("--name={bad}")])
            .status(2)
            .stderr_contains(format!("--name: `{bad}` is not a DNS-1123 label"))
            .run();
        assert!(!t.exists("cutover.yaml"), "{bad}: a plan was written");
    }
    let t = Test::new().git_folder();
    t.args(["init", "--namespace", "Shop"])
        .status(2)
        .stderr_contains("--namespace: `Shop`")
        .run();
    assert!(!t.exists("cutover.yaml"));
    let t = Test::new().git_folder();
    t.args(["init", "--from", "a.com", "--to", "A.com"])
        .status(2)
        .stderr_contains("--from and --to are the same host")
        .run();
    assert!(!t.exists("cutover.yaml"));
}

#[test]
fn init_refuses_bad_stages() {
    for bad in ["10,abc", "10,150", "", "10,,50", "-5"] {
        let t = Test::new().git_folder();
        // The error names the stages.
        t.args(["init".to_owned(), format!("--stages={bad}")])
            .status(2)
            .stderr_contains("stages")
            .run();
        assert!(!t.exists("cutover.yaml"), "{bad:?}: a plan was written");
    }
}

/// Defect (issue 12): a refused `init` left the folders it had created for its file.
#[test]
fn refused_init_leaves_no_folder() {
    let t = Test::new().git_folder();
    // Refused by the plan's own validation (the flags pass their checks).
    t.args(["init", "a/b/c/cutover.yaml", "--mirror", "12.34567"])
        .status(2)
        .stderr_contains("more than 4 decimal places")
        .stderr_contains("nothing was written")
        .run();
    assert!(!t.exists("a"), "a refused init left a/");
    // Refused at the flag.
    t.args(["init", "a/b/c/cutover.yaml", "--stages", "10,5,100"])
        .status(2)
        .stderr("error: --stages: `5` after `10`: list the weights in rollout order, each above the one before, e.g. 10,25,50,100\n")
        .run();
    assert!(!t.exists("a"), "a refused init left a/");
}

// --- explain -------------------------------------------------------------------------------

const EXPLAIN_PLAN: &str = r#"version: 1
output: deploy
migrations:
  - name: orders
    namespace: shop
    from: orders-se.example.com
    to: orders-gcp.example.com
    gcpBackend: {service: orders-run, region: europe-west1, project: shop-prod-123}
    verify: {path: /healthz}
    stages:
      - {mirror: 12.5, hold: 1h30m, note: "compare the answers"}
      - {header: {name: x-canary, value: "true"}, weight: 10, note: "testers and 10% of users"}
      - {weight: 25, hold: 2d}
      - weight: 100
    environments: {staging: weight-25, prod: mirror-12-5}
"#;

#[test]
fn explain_describes_stages_holds_notes_checks_and_environments() {
    let t = repo_with(EXPLAIN_PLAN);
    t.args(["explain", "cutover.yaml"])
        .stdout_contains("Migration orders")
        .stdout_contains("orders-se.example.com")
        .stdout_contains("orders-gcp.example.com")
        .stdout_contains("4 stages")
        // Each stage and its percentages.
        .stdout_contains("mirror-12-5")
        .stdout_contains("12.5%")
        .stdout_contains("header-x-canary-10")
        .stdout_contains("x-canary: true")
        .stdout_contains("10% go to orders-gcp.example.com and 90% to orders-se.example.com")
        .stdout_contains("weight-25")
        .stdout_contains("25% of requests go to orders-gcp.example.com and 75%")
        .stdout_contains("weight-100: every request goes to orders-gcp.example.com")
        // Holds and notes.
        .stdout_contains("1h 30m")
        .stdout_contains("2d")
        .stdout_contains("compare the answers")
        .stdout_contains("testers and 10% of users")
        // The checks before promoting, and the verification Job.
        .stdout_contains("error rate")
        .stdout_contains("verification Job")
        // The GCPBackend.
        .stdout_contains("orders-run")
        .stdout_contains("europe-west1")
        .stdout_contains("shop-prod-123")
        // Environments.
        .stdout_contains("prod is at mirror-12-5")
        .stdout_contains("staging is at weight-25")
        // What mirroring does, and what can be cleaned up at the end.
        .stdout_contains("with the Host/Authority header suffixed -shadow (orders-gcp.example.com-shadow)")
        .stdout_contains("safe to repeat")
        .stdout_contains("check that orders-gcp.example.com receives the copies")
        .stdout_contains("Once every environment runs weight-100 and has held there, the migration is done: the ServiceEntry for orders-se.example.com, its DestinationRule")
        .run();
}

#[test]
fn explain_without_verify_or_environments_says_neither() {
    let plan = r#"version: 1
output: deploy
migrations:
  - name: plain
    namespace: shop
    from: plain-se.example.com
    to: plain-gcp.example.com
    stages: [{weight: 50}, {weight: 100}]
"#;
    let t = repo_with(plan);
    t.args(["explain", "cutover.yaml"])
        .stdout_contains("50% of requests go to plain-gcp.example.com and 50%")
        .stdout_contains("error rate")
        .stdout_lacks("verification Job")
        .stdout_lacks("Environments")
        .stdout_lacks("GCPBackend plain")
        .stdout_lacks("Mirroring")
        .stdout_contains("the migration is done")
        .run();
}

#[test]
fn explain_covers_every_plan_given_and_discovers_plans() {
    let second = EXPLAIN_PLAN
        .replace("name: orders", "name: ledger")
        .replace("output: deploy", "output: deploy2");
    let t = repo_with(EXPLAIN_PLAN).file("other/b.cutover.yaml", second);
    for args in [
        vec!["explain", "cutover.yaml", "other/b.cutover.yaml"],
        vec!["explain"],
    ] {
        t.args(args.clone())
            .stdout_contains("Migration orders")
            .stdout_contains("Migration ledger")
            .run();
    }
}

#[test]
fn explain_of_an_invalid_plan_fails_like_validate() {
    let t = repo_with(&EXPLAIN_PLAN.replace("weight: 25", "weight: 250"));
    t.args(["explain", "cutover.yaml"])
        .status(2)
        .stderr_contains("weight 250 is outside 0..100")
        .run();
}
