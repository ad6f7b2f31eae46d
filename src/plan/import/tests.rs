use std::fs;

use super::*;

/// A repository under a temporary folder, with `files` (path, text).
fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let path = tmp.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    tmp
}

fn options(root: &Path, plan_dir: &str, to: Option<&str>, extra: &[&str]) -> Options {
    let root = root.canonicalize().unwrap();
    let extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
    Options {
        plan_dir: root.join(plan_dir),
        paths: vec![root.clone()],
        root,
        to: to.map(str::to_owned),
        patterns: Patterns::new(&extra).unwrap(),
    }
}

fn entry(name: &str, ns: Option<&str>, hosts: &[&str]) -> String {
    let ns = ns.map_or(String::new(), |n| format!("  namespace: {n}\n"));
    let hosts: Vec<String> = hosts.iter().map(|h| format!("  - {h}\n")).collect();
    format!(
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: {name}\n{ns}spec:\n  hosts:\n{}  resolution: DNS\n",
        hosts.concat()
    )
}

fn virtual_service(name: &str, ns: Option<&str>, dests: &[&str]) -> String {
    let ns = ns.map_or(String::new(), |n| format!("  namespace: {n}\n"));
    let routes: Vec<String> = dests
        .iter()
        .map(|d| format!("  - route:\n    - destination:\n        host: {d}\n"))
        .collect();
    format!(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: {name}\n{ns}spec:\n  hosts: [{name}.example.com]\n  http:\n{}",
        routes.concat()
    )
}

const ORDERS: &str = "orders-123456789012.europe-west1.run.app";
const BILLING: &str = "billing-123456789012.europe-west1.run.app";

#[test]
fn one_virtual_service_is_the_base_relative_to_the_plan() {
    let se = entry("cr", Some("shop"), &[ORDERS]);
    let vs = format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: x}}\n---\n{}",
        virtual_service("orders-vs", None, &[ORDERS])
    );
    let tmp = repo(&[("istio/se.yaml", &se), ("apps/orders/vs.yaml", &vs)]);
    let found = scan(&options(
        tmp.path(),
        "plans",
        Some("{service}.gcp.internal"),
        &[],
    ))
    .unwrap();
    let [p] = &found.proposals[..] else {
        panic!("{found:?}")
    };
    let base = p.base.as_ref().unwrap();
    assert_eq!(base.path, "../apps/orders/vs.yaml");
    assert_eq!(base.name, "orders-vs");
    assert_eq!(
        base.source,
        "apps/orders/vs.yaml:8 (VirtualService orders-vs)"
    );
    // No namespace in the VirtualService: the ServiceEntry's.
    assert_eq!(p.namespace.value, "shop");
    assert_eq!(p.namespace.from, "from: istio/se.yaml:8 (ServiceEntry cr)");
    assert_eq!(p.to.value, "orders.gcp.internal");
    assert_eq!(p.name, "orders");
}

#[test]
fn short_hosts_are_read_in_the_virtual_service_namespace() {
    let se = entry(
        "ledger",
        Some("finance"),
        &["ledger.finance.svc.cluster.local"],
    );
    let tmp = repo(&[
        ("se.yaml", &se),
        (
            "a.yaml",
            &virtual_service("ledger", Some("finance"), &["ledger"]),
        ),
        // Another namespace's `ledger` is another host.
        (
            "b.yaml",
            &virtual_service("other", Some("books"), &["ledger"]),
        ),
    ]);
    let found = scan(&options(tmp.path(), "", None, &["*.cluster.local"])).unwrap();
    let [p] = &found.proposals[..] else {
        panic!("{found:?}")
    };
    assert_eq!(p.base.as_ref().unwrap().path, "a.yaml");
    assert_eq!(p.url, Url::Other);
    // Without the pattern, the host is not a Cloud Run host.
    let found = scan(&options(tmp.path(), "", None, &[])).unwrap();
    assert!(!found.found_cloud_run());
    assert_eq!(found.others.len(), 1);
}

#[test]
fn several_senders_a_shared_virtual_service_and_bad_hosts_are_refused() {
    let tmp = repo(&[
        (
            "se.yaml",
            &entry(
                "cr",
                Some("shop"),
                &[ORDERS, BILLING, "'*.run.app'", "pay-1.europe-west1.run.app"],
            ),
        ),
        (
            "a.yaml",
            &virtual_service("a", Some("shop"), &[ORDERS, BILLING]),
        ),
        (
            "b.yaml",
            &virtual_service("b", Some("shop"), &["pay-1.europe-west1.run.app"]),
        ),
        (
            "c.yaml",
            &virtual_service("c", Some("shop"), &["pay-1.europe-west1.run.app"]),
        ),
    ]);
    let found = scan(&options(tmp.path(), "", None, &[])).unwrap();
    assert!(found.proposals.is_empty(), "{:?}", found.proposals);
    let reasons: Vec<(&str, &str, usize)> = found
        .refusals
        .iter()
        .map(|r| (r.entry.host.as_str(), r.reason.as_str(), r.places.len()))
        .collect();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(reasons[0]
        .1
        .contains(&format!("also sends to the Cloud Run host {BILLING}")));
    assert!(reasons[1]
        .1
        .contains(&format!("also sends to the Cloud Run host {ORDERS}")));
    assert_eq!(reasons[2].0, "*.run.app");
    assert!(reasons[2].1.contains("wildcard"), "{}", reasons[2].1);
    assert_eq!(
        reasons[3].1.split(';').next(),
        Some("2 VirtualServices send to it")
    );
    assert_eq!(
        found.refusals[3].places,
        ["b.yaml:4 (VirtualService b)", "c.yaml:4 (VirtualService c)"]
    );
}

#[test]
fn without_a_virtual_service_a_new_one_is_named_and_names_stay_unique() {
    let tmp = repo(&[
        (
            "se.yaml",
            &entry(
                "cr",
                None,
                &[
                    ORDERS,
                    "orders-123456789012.us-east1.run.app",
                    "hello-abc123xyz-uc.a.run.app",
                ],
            ),
        ),
        // A VirtualService named `orders` that sends elsewhere.
        (
            "vs.yaml",
            &virtual_service("orders", None, &["elsewhere.example.com"]),
        ),
    ]);
    let found = scan(&options(
        tmp.path(),
        "",
        Some("{service}-{region}.{namespace}.internal"),
        &[],
    ))
    .unwrap();
    let got: Vec<(&str, Option<&str>, &str, &str)> = found
        .proposals
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.virtual_service.as_deref(),
                p.namespace.value.as_str(),
                p.to.value.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "orders",
                Some("orders-cutover"),
                "<namespace>",
                "orders-europe-west1.<namespace>.internal"
            ),
            (
                "orders-2",
                Some("orders-2"),
                "<namespace>",
                "orders-us-east1.<namespace>.internal"
            ),
            (
                "hello",
                Some("hello"),
                "<namespace>",
                "hello-<region>.<namespace>.internal"
            ),
        ]
    );
}

#[test]
fn skipped_sources_are_noted_and_not_read() {
    let vs = virtual_service("orders", Some("shop"), &[ORDERS]);
    let tmp = repo(&[
        (".gitignore", "ignored/\n"),
        ("se.yaml", &entry("cr", Some("shop"), &[ORDERS])),
        ("apps/vs.yaml", &vs),
        ("ignored/vs.yaml", &vs),
        ("chart/Chart.yaml", "name: c\n"),
        ("chart/templates/vs.yaml", &vs),
        (
            "k/kustomization.yaml",
            "patches:\n- path: patch.yaml\npatchesStrategicMerge:\n- other.yaml\n",
        ),
        ("k/patch.yaml", &vs),
        ("k/other.yaml", &vs),
        (
            "t/vs.yaml",
            "kind: VirtualService\nspec: {{ .Values }}: [\n",
        ),
        (
            "generated/vs.yaml",
            &format!("{}{vs}", header::block("cutover.yaml")),
        ),
    ]);
    std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(tmp.path())
        .status()
        .unwrap();
    let found = scan(&options(tmp.path(), "", None, &[])).unwrap();
    assert_eq!(found.proposals.len(), 1, "{:?}", found.refusals);
    assert_eq!(
        found.proposals[0].base.as_ref().unwrap().path,
        "apps/vs.yaml"
    );
    let notes: Vec<String> = found
        .notes
        .iter()
        .map(|n| format!("{}: {}", n.file, n.why))
        .collect();
    assert_eq!(notes.len(), 5, "{notes:#?}");
    for (note, start) in notes.iter().zip([
        "chart/: a Helm chart",
        "k/kustomization.yaml: a kustomize source",
        "k/other.yaml: patched by a kustomization",
        "k/patch.yaml: patched by a kustomization",
        "t/vs.yaml: a template",
    ]) {
        assert!(note.starts_with(start), "{note}");
    }
}

#[test]
fn the_plan_text_escapes_every_value_and_comment() {
    // A host no plan takes, in a file whose name breaks lines: refused, in comments.
    let evil = "\"evil\\n  injected: x.run.app\"";
    let tmp = repo(&[
        (
            "se\nx: 1.yaml",
            &entry("cr\n#", Some("shop"), &[evil, ORDERS]),
        ),
        (
            "vs.yaml",
            &virtual_service("orders", Some("shop"), &[ORDERS]),
        ),
    ]);
    let found = scan(&options(
        tmp.path(),
        "",
        Some("{service}.gcp.internal"),
        &[],
    ))
    .unwrap();
    assert_eq!(found.refusals.len(), 1);
    let text = found.text(&["*.run.app".into()]);
    let plan = crate::plan::Plan::parse(
        "cutover.yaml",
        text.as_bytes(),
        &tmp.path().join("cutover.yaml"),
        tmp.path(),
    )
    .unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(plan.migrations.len(), 1);
    assert_eq!(plan.migrations[0].from, ORDERS);
    assert!(!text.contains("\ninjected"), "{text}");
    let top: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let keys: Vec<&str> = top
        .as_mapping()
        .unwrap()
        .keys()
        .filter_map(|k| k.as_str())
        .collect();
    assert_eq!(keys, ["version", "output", "defaults", "migrations"]);
}

#[test]
fn placeholders_are_refused_by_validate_by_name() {
    let tmp = repo(&[(
        "se.yaml",
        &entry("cr", None, &["hello-abc123xyz-uc.a.run.app"]),
    )]);
    let found = scan(&options(tmp.path(), "", None, &[])).unwrap();
    let text = found.text(&["*.run.app".into()]);
    let Err(Error::Invalid(d)) = crate::plan::Plan::parse(
        "cutover.yaml",
        text.as_bytes(),
        &tmp.path().join("cutover.yaml"),
        tmp.path(),
    ) else {
        panic!("accepted:\n{text}")
    };
    let got: Vec<(&str, bool)> =
        d.0.iter()
            .map(|d| {
                (
                    d.field.as_str(),
                    d.message.contains("a placeholder left by `cutover import`"),
                )
            })
            .collect();
    assert_eq!(
        got,
        [
            ("migrations[0].namespace", true),
            ("migrations[0].to", true),
            ("migrations[0].gcpBackend.region", true),
        ]
    );
}

#[test]
fn to_templates() {
    assert_eq!(
        expand("{service}.{region}.x", Some("a"), None, None),
        "a.<region>.x"
    );
    assert!(check_to("{service}.gcp.internal").is_ok());
    assert!(check_to("gcp.{namespace}.svc.cluster.local").is_ok());
    assert!(check_to("{svc}.x")
        .unwrap_err()
        .contains("unknown placeholder `{svc}`"));
    assert!(check_to("{service.x").unwrap_err().contains("without"));
    assert!(check_to("bad host!")
        .unwrap_err()
        .contains("does not make a host name"));
}

#[test]
fn hosts_of_plans_that_do_not_load_are_already_migrated() {
    // A plan as `import` writes it: placeholders left, so it does not load as a plan.
    let tmp = repo(&[(
        "se.yaml",
        &entry(
            "cr",
            None,
            &[ORDERS, BILLING, "reports-1.us-central1.run.app"],
        ),
    )]);
    let first = scan(&options(tmp.path(), "", None, &[])).unwrap();
    assert_eq!(first.proposals.len(), 3);
    let text = first.text(&["*.run.app".into()]);
    assert!(text.contains("<gcp-backend-host>"), "{text}");
    fs::write(tmp.path().join("cutover.yaml"), &text).unwrap();
    // Another plan names a host without a name; one is not YAML at all.
    fs::write(
        tmp.path().join("a.cutover.yaml"),
        format!(
            "migrations:\n  - from: {}\n    to: <x>\n",
            BILLING.to_uppercase()
        ),
    )
    .unwrap();
    fs::write(tmp.path().join("b.cutover.yaml"), "migrations: [\n").unwrap();
    let again = scan(&options(tmp.path(), "", None, &[])).unwrap();
    assert!(again.proposals.is_empty(), "{:?}", again.proposals);
    let reasons: Vec<(&str, &str)> = again
        .refusals
        .iter()
        .map(|r| (r.entry.host.as_str(), r.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (
                ORDERS,
                "already the `from` of cutover.yaml (migration orders)"
            ),
            (
                BILLING,
                "already the `from` of a.cutover.yaml (migrations[0])"
            ),
            (
                "reports-1.us-central1.run.app",
                "already the `from` of cutover.yaml (migration reports)"
            ),
        ]
    );
    let [unread] = &again.unread_plans[..] else {
        panic!("{:?}", again.unread_plans)
    };
    assert_eq!(unread.file, "b.cutover.yaml");
    assert!(
        unread
            .why
            .starts_with("a plan file that could not be read (not YAML: "),
        "{}",
        unread.why
    );
    assert!(again
        .text(&[])
        .contains("\n# - b.cutover.yaml: a plan file that could not be read"));
}

#[test]
fn paths_limit_the_service_entries_only() {
    let tmp = repo(&[
        (
            "mesh/se.yaml",
            &entry("cr", Some("ext"), &[ORDERS, BILLING]),
        ),
        (
            "other/se.yaml",
            &entry("cr2", Some("ext"), &["reports-1.us-central1.run.app"]),
        ),
        (
            "apps/vs.yaml",
            &virtual_service("orders", Some("shop"), &[ORDERS]),
        ),
        (
            "plans/cutover.yaml",
            &format!("migrations:\n  - name: billing\n    from: {BILLING}\n"),
        ),
    ]);
    let mut opts = options(tmp.path(), "mesh", None, &[]);
    opts.paths = vec![opts.root.join("mesh")];
    let found = scan(&opts).unwrap();
    // The VirtualService outside the path is the base, its namespace the migration's.
    let [p] = &found.proposals[..] else {
        panic!("{found:?}")
    };
    assert_eq!(p.host(), ORDERS);
    assert_eq!(p.base.as_ref().unwrap().path, "../apps/vs.yaml");
    assert_eq!(p.namespace.value, "shop");
    // The plan outside the path is read; the ServiceEntry outside it is not.
    let [r] = &found.refusals[..] else {
        panic!("{found:?}")
    };
    assert_eq!(r.entry.host, BILLING);
    assert!(r.reason.contains("plans/cutover.yaml"), "{}", r.reason);
    assert!(found.others.is_empty());
    assert_eq!(found.read.0, 2);
}

#[test]
fn a_base_file_name_validate_refuses_is_not_proposed() {
    let tmp = repo(&[
        (
            "se.yaml",
            &entry(
                "cr",
                Some("ext"),
                &[ORDERS, "9lives-123456789012.europe-west1.run.app"],
            ),
        ),
        (
            "a\nb/vs\t.yaml",
            &virtual_service("orders", Some("shop"), &[ORDERS]),
        ),
    ]);
    let found = scan(&options(tmp.path(), "", None, &[])).unwrap();
    let [r] = &found.refusals[..] else {
        panic!("{found:?}")
    };
    assert_eq!(r.entry.host, ORDERS);
    assert_eq!(
        r.reason,
        "its file's path \"a\\nb/vs\\t.yaml\" holds a control character, which `validate` refuses in `base`: rename the file"
    );
    assert_eq!(r.places, ["a\nb/vs\t.yaml:4 (VirtualService orders)"]);
    // A run.app host whose service part Cloud Run does not allow is said to be one.
    let text = found.text(&["*.run.app".into()]);
    assert!(
        text.contains("      service: \"<cloud-run-service>\"    # the host's service part `9lives` is not a service name Cloud Run allows: write the Cloud Run service's name\n"),
        "{text}"
    );
    assert!(!text.contains("not a run.app URL"), "{text}");
    assert!(text.contains("\n# - orders-123456789012.europe-west1.run.app (se.yaml:8 (ServiceEntry cr)): its file's path"), "{text}");
}
