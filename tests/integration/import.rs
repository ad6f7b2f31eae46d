//! `cutover import`: a plan proposed from a whole repository.
//!
//! - `fixtures/import/repository/`: a synthetic repository (`input/`, with the extra
//!   arguments in `input/args`) holding Cloud Run ServiceEntries with deterministic and
//!   hash-based URLs, a VirtualService in a file with a Service and a DestinationRule, one
//!   sending to a short host name, a host no VirtualService reaches, one two reach, a
//!   ServiceEntry that is not Cloud Run's, a kustomization with a patch and a Helm chart;
//!   `expected/run.snap` is what `import` prints. The proposed plan, placeholders filled
//!   in as a user would, validates and renders, each stage its base with only traffic
//!   changed.
//! - A repository of deterministic URLs only: `--to` gives a plan `validate` accepts as
//!   written; without `--to`, `validate` names the placeholder.
//! - The real-world corpus (see `real_world.rs`) with a ServiceEntry for every destination
//!   host: import never crashes, and no plan it writes is accepted with a `from` that no
//!   route of its base sends to.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value;

use crate::test::{copy_dir, fixtures, Test};

const TO: &str = "{service}.gcp.internal";

/// The fixture repository in a fresh git repository, and its extra arguments.
fn fixture() -> (Test, Vec<String>) {
    let case = fixtures().join("import/repository");
    let t = Test::new().git_init();
    copy_dir(&case.join("input"), &t.path());
    std::fs::remove_file(t.path().join("args")).expect("remove args");
    let args = std::fs::read_to_string(case.join("input/args"))
        .expect("read args")
        .lines()
        .map(str::to_owned)
        .collect();
    (t, args)
}

#[test]
fn the_fixture_repository_is_proposed_as_the_snapshot_says() {
    let (t, extra) = fixture();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(fixtures().join("import/repository/expected"));
    settings.set_prepend_module_to_snapshot(false);
    settings.remove_snapshot_suffix();
    let mut args = vec!["import".to_owned()];
    args.extend(extra);
    settings.bind(|| {
        insta_cmd::assert_cmd_snapshot!("run", t.args(&args).command());
    });
}

/// The base document of `file` named `name`.
fn document(text: &str, name: &str) -> Value {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).expect("YAML"))
        .find(|d| d["kind"] == "VirtualService" && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no VirtualService {name}"))
}

/// `doc` without the fields that say where traffic goes.
fn untouched(doc: &Value) -> Value {
    let mut doc = doc.clone();
    for kind in ["http", "tcp", "tls"] {
        if let Some(list) = doc["spec"].get_mut(kind).and_then(Value::as_sequence_mut) {
            for r in list.iter_mut().filter_map(Value::as_mapping_mut) {
                r.shift_remove("route");
            }
        }
    }
    doc
}

/// Checks that every stage of migration `name` is the base document with only its routes'
/// destinations changed, and that the `to` host got the stage's weight somewhere.
fn stages_keep_the_base(t: &Test, name: &str, base_file: &str, vs: &str, to: &str) {
    let base = document(&t.read(base_file), vs);
    let dir = t.path().join(format!("deploy/cutover/{name}/stages"));
    let mut stages: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("stages")
        .map(|e| e.expect("entry").path())
        .collect();
    stages.sort();
    assert_eq!(stages.len(), 4, "{stages:?}");
    for (stage, weight) in stages.iter().zip([10, 25, 50, 100]) {
        let text = std::fs::read_to_string(stage.join("virtualservice.yaml")).expect("stage");
        let doc: Value = serde_yaml::from_str(&text).expect("stage YAML");
        assert_eq!(untouched(&doc), untouched(&base), "{}", stage.display());
        let to_weight = doc["spec"]["http"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|r| r["route"].as_sequence().into_iter().flatten())
            .find(|d| d["destination"]["host"] == to)
            .map(|d| d["weight"].as_u64().unwrap_or(100));
        assert_eq!(to_weight, Some(weight), "{}", stage.display());
    }
}

#[test]
fn the_fixture_plan_validates_and_renders_once_placeholders_are_filled() {
    let (t, extra) = fixture();
    let mut args = vec!["import".to_owned(), "--to".into(), TO.into()];
    args.extend(extra);
    args.extend(["--write".into(), "cutover.yaml".into()]);
    t.args(&args)
        .stderr_contains(
            "note: wrote cutover.yaml: 4 migrations proposed, 1 Cloud Run host not migrated",
        )
        .stderr_contains("warning: payments-123456789012.europe-west1.run.app")
        .run();
    // What import could not know is refused by name, at its place.
    t.args(["validate"])
        .status(2)
        .stderr_contains("error: migrations[0].to: `<cloud-run-service>` is a placeholder left by `cutover import`: replace it with the Cloud Run service's name")
        .stderr_contains("error: migrations[2].gcpBackend.region: `<region>` is a placeholder left by `cutover import`")
        .stderr_contains(" --> cutover.yaml:")
        .stderr_contains("error: 4 errors in plan files")
        .run();
    let plan = t.read("cutover.yaml");
    let filled = plan
        .replace(
            "\"<cloud-run-service>.gcp.internal\"",
            "ledger.gcp.internal",
        )
        .replace("\"<cloud-run-service>\"", "ledger")
        .replace("\"<region>\"", "europe-west4");
    t.write("cutover.yaml", &filled);
    t.args(["validate"])
        .stdout("ok: 1 plan valid (4 migrations, 16 stages)\n")
        .run();
    t.args(["render", "-q"]).run();
    t.args(["check"])
        .stdout("ok: 40 generated files up to date\n")
        .run();
    // The base in a file with a Service and a DestinationRule, and one sending to a short
    // host name (`ledger` in namespace finance).
    stages_keep_the_base(
        &t,
        "orders",
        "apps/orders/orders.yaml",
        "orders",
        "orders.gcp.internal",
    );
    stages_keep_the_base(
        &t,
        "ledger",
        "apps/finance/ledger.yaml",
        "ledger",
        "ledger.gcp.internal",
    );
    // Never over a file.
    let before = t.read("cutover.yaml");
    t.args(["import", "--write", "cutover.yaml"])
        .status(2)
        .stderr_contains(
            "error: cutover.yaml already exists; cutover import never overwrites a file",
        )
        .run();
    assert_eq!(t.read("cutover.yaml"), before);
}

const SE: &str = "\
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: cloudrun
  namespace: shop
spec:
  hosts:
  - orders-123456789012.europe-west1.run.app
  - reports-123456789012.us-central1.run.app
  resolution: DNS
";

const VS: &str = "\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {ports: [{port: 80}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: orders
  namespace: shop
spec:
  hosts: [orders.example.com]
  http:
  - match: [{uri: {prefix: /api}}]
    route:
    - destination: {host: orders-123456789012.europe-west1.run.app}
    timeout: 3s
  - route:
    - destination: {host: web}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: orders, namespace: shop}
spec: {host: orders-123456789012.europe-west1.run.app}
";

fn clean_repository() -> Test {
    Test::new()
        .git_init()
        .file("mesh/cloudrun.yaml", SE)
        .file("apps/orders.yaml", VS)
}

#[test]
fn with_to_the_plan_is_valid_as_written_and_renders() {
    let t = clean_repository();
    t.args(["import", "--to", TO, "--write", "apps/cutover.yaml"])
        .stderr_contains(
            "note: wrote apps/cutover.yaml: 2 migrations proposed, 0 Cloud Run hosts not migrated",
        )
        .run();
    let plan = t.read("apps/cutover.yaml");
    assert!(
        plan.contains("    base: orders.yaml    # the one VirtualService"),
        "{plan}"
    );
    assert!(
        plan.contains("    hosts: [reports-123456789012.us-central1.run.app]"),
        "{plan}"
    );
    t.args(["validate"])
        .stdout("ok: 1 plan valid (2 migrations, 8 stages)\n")
        .run();
    t.args(["render"])
        .stdout("orders: 10 written, 0 unchanged, 0 removed (apps/cutover.yaml)\nreports: 10 written, 0 unchanged, 0 removed (apps/cutover.yaml)\n")
        .run();
    let t2 = t
        .args(["check"])
        .stdout("ok: 20 generated files up to date\n");
    t2.run();
    let base = document(VS, "orders");
    let stage = t.read("apps/deploy/cutover/orders/stages/01-weight-10/virtualservice.yaml");
    let doc: Value = serde_yaml::from_str(&stage).expect("stage");
    assert_eq!(untouched(&doc), untouched(&base));
    assert_eq!(
        doc["spec"]["http"][0]["route"][0]["destination"]["host"],
        "orders.gcp.internal"
    );
    assert_eq!(doc["spec"]["http"][0]["route"][0]["weight"], 10);
    assert_eq!(doc["spec"]["http"][1], base["spec"]["http"][1]);
}

#[test]
fn without_to_validate_names_the_placeholder() {
    let t = clean_repository();
    t.args(["import", "--write", "cutover.yaml"])
        .stderr_contains("note: wrote cutover.yaml")
        .run();
    t.args(["validate"])
        .status(2)
        .stderr_contains("error: migrations[0].to: `<gcp-backend-host>` is a placeholder left by `cutover import`: replace it with the GCPBackend host traffic moves to")
        .stderr_contains("error: migrations[1].to: `<gcp-backend-host>`")
        .stderr_contains("error: 2 errors in plan files")
        .run();
    t.args(["render"])
        .status(2)
        .stderr_contains("nothing was written")
        .run();
    assert!(!t.exists("deploy"));
}

#[test]
fn refusals_of_the_command_line() {
    let t = clean_repository();
    t.args(["import", "--to", "{svc}.x"])
        .status(2)
        .stderr_contains("error: --to `{svc}.x`: unknown placeholder `{svc}`")
        .run();
    t.args(["import", "--host-pattern", "["])
        .status(2)
        .stderr_contains("error: --host-pattern `[`")
        .run();
    t.args(["import", "--write", "plan.yaml"])
        .status(2)
        .stderr_contains("would not be found by cutover's plan search")
        .run();
    t.args(["import", "/"])
        .status(2)
        .stderr_contains("is outside the repository")
        .run();
    t.args(["import", "nowhere"])
        .status(2)
        .stderr_contains("error: nowhere: no such file or folder")
        .run();
    assert!(!t.exists("cutover.yaml") && !t.exists("plan.yaml"));
}

#[test]
fn no_cloud_run_host_is_said_and_writes_nothing() {
    let t = Test::new()
        .git_init()
        .file("se.yaml", SE.replace(".run.app", ".example.com"));
    t.args(["import", "--write", "cutover.yaml"])
        .stderr("note: no ServiceEntry with a Cloud Run host (*.run.app) among 2 ServiceEntry hosts read; no plan written\n")
        .run();
    assert!(!t.exists("cutover.yaml"));
    // A pattern makes them Cloud Run hosts; one file named reads only it.
    t.args(["import", "--host-pattern", "*.example.com", "se.yaml"])
        .stdout_contains("  - name: orders-123456789012    # from the host's first label")
        .stderr_contains("note: 2 migrations proposed")
        .run();
}

/// Istio's reading of a destination host written in a VirtualService of namespace `ns`.
fn resolve(host: &str, ns: &str) -> String {
    if host.contains('.') || host == "*" || host.parse::<std::net::IpAddr>().is_ok() {
        host.to_owned()
    } else {
        format!("{host}.{ns}.svc.cluster.local")
    }
}

/// The hosts the routes (HTTP, TCP, TLS) of `doc` send to, as Istio reads them.
fn sent_to(doc: &Value, ns: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for kind in ["http", "tcp", "tls"] {
        for r in doc["spec"][kind].as_sequence().into_iter().flatten() {
            for d in r["route"].as_sequence().into_iter().flatten() {
                if let Some(h) = d["destination"]["host"].as_str() {
                    out.insert(resolve(h, ns));
                }
            }
        }
    }
    out
}

/// Fills in the placeholders as a user would.
fn fill(plan: &str) -> String {
    plan.replace("\"<cloud-run-service>.gcp.internal\"", "svc.gcp.internal")
        .replace("\"<cloud-run-service>\"", "svc")
        .replace("\"<region>\"", "europe-west1")
        .replace("\"<namespace>\"", "default")
}

#[test]
fn real_world_repositories_import_without_a_wrong_from() {
    let Some(dir) = crate::real_world::corpus() else {
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read the corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let t = Test::new().git_init();
    // One ServiceEntry per distinct destination host, as Istio resolves it (a file without
    // a namespace is read in `default`, the ServiceEntries' namespace).
    let mut hosts = BTreeSet::new();
    for path in &files {
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(path).expect("read");
        t.write(&format!("corpus/{name}"), &text);
        for doc in
            serde_yaml::Deserializer::from_str(&text).filter_map(|d| Value::deserialize(d).ok())
        {
            if doc["kind"] == "VirtualService" {
                let ns = doc["metadata"]["namespace"].as_str().unwrap_or("default");
                hosts.extend(sent_to(&doc, ns));
            }
        }
    }
    let entries: Vec<String> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            format!("apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{name: se-{i}, namespace: default}}\nspec:\n  hosts: [{}]\n", serde_json::to_string(h).expect("JSON"))
        })
        .collect();
    t.write("mesh/entries.yaml", entries.join("---\n"));
    let out = t
        .args([
            "import",
            "--host-pattern",
            "*",
            "--to",
            TO,
            "--write",
            "cutover.yaml",
        ])
        .stderr_contains("note: wrote cutover.yaml")
        .run();
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    t.write("cutover.yaml", fill(&t.read("cutover.yaml")));
    let out = crate::test::run(t.args(["validate"]).command(), "validate");
    assert!(out.code == 0 || out.code == 2, "{}", out.stderr);
    let plan: Value = serde_yaml::from_str(&t.read("cutover.yaml")).expect("plan");
    let migrations = plan["migrations"]
        .as_sequence()
        .cloned()
        .unwrap_or_default();
    let (mut based, mut new) = (0, 0);
    for m in &migrations {
        let from = m["from"].as_str().expect("from");
        let Some(base) = m["base"].as_str() else {
            new += 1;
            continue;
        };
        based += 1;
        let doc = document(&t.read(base), m["virtualService"].as_str().expect("name"));
        let ns = doc["metadata"]["namespace"].as_str().unwrap_or("default");
        assert!(
            sent_to(&doc, ns).contains(from),
            "{base}: no route sends to `from` {from} (namespace {ns})"
        );
        assert_eq!(m["namespace"].as_str(), Some(ns), "{base}");
    }
    eprintln!(
        "{} hosts, {} migrations ({based} with a base, {new} new), validate exit {}",
        hosts.len(),
        migrations.len(),
        out.code
    );
    assert!(based > 20, "too few migrations with a base: {based}");
    assert!(Path::new(&t.path().join("cutover.yaml")).is_file());
}

#[test]
fn from_a_subfolder_or_with_a_path_the_whole_repository_is_read() {
    // The ServiceEntries in mesh/, the VirtualService sending to orders in apps/.
    let t = clean_repository();
    for (dir, args, base) in [
        ("mesh", vec!["import"], "\"../apps/orders.yaml\""),
        (".", vec!["import", "mesh"], "apps/orders.yaml"),
    ] {
        t.args(&args)
            .current_dir(dir)
            .stdout_contains(format!(
                "    base: {base}    # the one VirtualService that sends to the host: apps/orders.yaml:"
            ))
            .stdout_contains("    namespace: shop    # from: apps/orders.yaml:")
            .stderr_contains("note: 2 migrations proposed")
            .run();
    }
    // A plan outside the path is read too: its host is not proposed again.
    t.write(
        "plans/cutover.yaml",
        "migrations:\n  - name: orders\n    from: orders-123456789012.europe-west1.run.app\n",
    );
    t.args(["import", "mesh"])
        .stdout_lacks("  - name: orders ")
        .stderr_contains(
            "not migrated: already the `from` of plans/cutover.yaml (migration orders)",
        )
        .stderr_contains("note: 1 migration proposed")
        .run();
}

#[test]
fn a_second_import_finds_the_first_plan_and_writes_nothing() {
    let t = clean_repository();
    t.args(["import", "--write", "cutover.yaml"])
        .stderr_contains("note: wrote cutover.yaml: 2 migrations proposed")
        .run();
    // The plan's placeholders are not filled in: it does not load, yet names its hosts.
    t.args(["validate"])
        .status(2)
        .stderr_contains("placeholder left by `cutover import`")
        .run();
    t.args(["import", "--write", "apps/cutover.yaml"])
        .stderr("warning: orders-123456789012.europe-west1.run.app (mesh/cloudrun.yaml:8 (ServiceEntry cloudrun)) not migrated: already the `from` of cutover.yaml (migration orders)\n\
warning: reports-123456789012.us-central1.run.app (mesh/cloudrun.yaml:9 (ServiceEntry cloudrun)) not migrated: already the `from` of cutover.yaml (migration reports)\n\
note: no migration to propose: 2 Cloud Run hosts not migrated (see the warnings); apps/cutover.yaml not written\n")
        .run();
    assert!(!t.exists("apps/cutover.yaml"));
    // A plan that is not YAML is named: its hosts may be proposed again.
    t.write("broken.cutover.yaml", "migrations: [\n");
    t.args(["import"])
        .stderr_contains(
            "warning: broken.cutover.yaml: a plan file that could not be read (not YAML: ",
        )
        .stdout_contains("migrations: []")
        .run();
}

#[test]
fn write_stays_inside_the_repository() {
    let t = Test::new()
        .file("repo/mesh/cloudrun.yaml", SE)
        .file("elsewhere/keep", "");
    std::fs::create_dir_all(t.path().join("repo/.git")).expect("create .git");
    std::os::unix::fs::symlink("../elsewhere", t.path().join("repo/link")).expect("symlink");
    let outside = t.path().join("elsewhere/cutover.yaml");
    let outside = outside.to_str().expect("UTF-8");
    for file in [
        outside,
        "../elsewhere/cutover.yaml",
        "link/cutover.yaml",
        "link",
        "../elsewhere/plan.yaml",
    ] {
        t.args(["import", "--write", file])
            .current_dir("repo")
            .status(2)
            .stderr_contains(format!("error: --write {file}: "))
            .stderr_contains("is outside the repository ")
            .stderr_contains("(--allow-outside-repo lets it write elsewhere)")
            .stderr_lacks("use ")
            .run();
    }
    assert!(!t.exists("elsewhere/cutover.yaml") && !t.exists("elsewhere/plan.yaml"));
    // The hint for a name the plan search would not find names a file inside.
    t.args(["import", "--write", "plans/plan.yaml"])
        .current_dir("repo")
        .status(2)
        .stderr_contains("; use plans/cutover.yaml or plans/plan.cutover.yaml\n")
        .run();
    t.args([
        "--allow-outside-repo",
        "import",
        "--write",
        "link/cutover.yaml",
    ])
    .current_dir("repo")
    .stderr_contains("note: wrote link/cutover.yaml: 2 migrations proposed")
    .run();
    assert!(t.exists("elsewhere/cutover.yaml"));
}
