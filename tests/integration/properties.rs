//! Property tests: for any valid plan the output parses as YAML, carries exactly the
//! plan's values, and every route's weights sum to 100; no input makes the plan reader
//! or renderer panic.

use std::collections::BTreeSet;
use std::path::Path;

use cutover::plan::{Layout, Plan};
use cutover::render::{render_plan, Templates};
use proptest::prelude::*;
use serde_yaml::{Mapping, Value};

fn label() -> impl Strategy<Value = String> {
    "[a-z]([a-z0-9-]{0,12}[a-z0-9])?"
}

fn host() -> impl Strategy<Value = String> {
    prop::collection::vec(label(), 1..4).prop_map(|l| l.join("."))
}

#[derive(Debug, Clone)]
struct GenStage {
    name: Option<String>,
    mirror: Option<f64>,
    weight: Option<u8>,
}

fn stages() -> impl Strategy<Value = Vec<GenStage>> {
    (
        prop::collection::btree_set(1u32..=1000, 0..3),
        prop::collection::btree_set(0u8..=100, 1..6),
        any::<bool>(),
    )
        .prop_map(
            |(mirrors, weights, named): (BTreeSet<u32>, BTreeSet<u8>, bool)| {
                let mut out: Vec<GenStage> = mirrors
                    .into_iter()
                    .map(|m| GenStage {
                        name: None,
                        mirror: Some(m as f64 / 10.0),
                        weight: None,
                    })
                    .collect();
                out.extend(weights.into_iter().map(|w| GenStage {
                    name: None,
                    mirror: None,
                    weight: Some(w),
                }));
                if named {
                    for (i, s) in out.iter_mut().enumerate() {
                        s.name = Some(format!("step-{i}"));
                    }
                }
                out
            },
        )
}

#[derive(Debug, Clone)]
struct GenMigration {
    namespace: String,
    hosts: Option<Vec<String>>,
    gateways: Option<Vec<String>>,
    from: String,
    to: String,
    stages: Vec<GenStage>,
}

fn migration() -> impl Strategy<Value = GenMigration> {
    (
        label(),
        prop::option::of(prop::collection::btree_set(host(), 1..3)),
        prop::option::of(prop::sample::subsequence(
            vec!["mesh", "istio-system/gw", "edge"],
            1..3,
        )),
        host(),
        host(),
        stages(),
    )
        .prop_map(
            |(namespace, hosts, gateways, from, to, stages)| GenMigration {
                namespace,
                hosts: hosts.map(|h| h.into_iter().collect()),
                gateways: gateways.map(|g| g.into_iter().map(str::to_owned).collect()),
                // Suffixes keep `from` and `to` distinct.
                from: format!("{from}.from"),
                to: format!("{to}.to"),
                stages,
            },
        )
}

fn plan_text(migrations: &[GenMigration], flat: bool, api: &str) -> String {
    let mut root = Mapping::new();
    root.insert("version".into(), 1.into());
    root.insert("output".into(), "out".into());
    root.insert(
        "layout".into(),
        (if flat { "flat" } else { "kustomize" }).into(),
    );
    root.insert("apiVersion".into(), api.into());
    let mut list = Vec::new();
    for (i, m) in migrations.iter().enumerate() {
        let mut map = Mapping::new();
        map.insert("name".into(), format!("m{i}").into());
        map.insert("namespace".into(), m.namespace.clone().into());
        if let Some(h) = &m.hosts {
            map.insert("hosts".into(), h.clone().into());
        }
        if let Some(g) = &m.gateways {
            map.insert("gateways".into(), g.clone().into());
        }
        map.insert("from".into(), m.from.clone().into());
        map.insert("to".into(), m.to.clone().into());
        let stages: Vec<Value> = m
            .stages
            .iter()
            .map(|s| {
                let mut st = Mapping::new();
                if let Some(n) = &s.name {
                    st.insert("name".into(), n.clone().into());
                }
                if let Some(p) = s.mirror {
                    st.insert("mirror".into(), p.into());
                }
                if let Some(w) = s.weight {
                    st.insert("weight".into(), u64::from(w).into());
                }
                Value::Mapping(st)
            })
            .collect();
        map.insert("stages".into(), stages.into());
        list.push(Value::Mapping(map));
    }
    root.insert("migrations".into(), list.into());
    serde_yaml::to_string(&root).unwrap()
}

fn parse(text: &[u8]) -> cutover::Result<Plan> {
    Plan::parse(
        "plan.yaml",
        text,
        Path::new("/repo/plan.yaml"),
        Path::new("/repo"),
    )
}

fn weights_sum_to_100(doc: &Value) -> Result<(), String> {
    let http = doc["spec"]["http"].as_sequence().ok_or("no spec.http")?;
    for route in http {
        let dests = route["route"].as_sequence().ok_or("no route")?;
        let sum: i64 = dests
            .iter()
            .map(|d| {
                d["weight"]
                    .as_i64()
                    .unwrap_or(if dests.len() == 1 { 100 } else { -1000 })
            })
            .sum();
        if sum != 100 {
            return Err(format!("weights sum to {sum}"));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn valid_plans_render_to_valid_manifests(
        migrations in prop::collection::vec(migration(), 1..4),
        flat in any::<bool>(),
        api in prop::sample::select(vec![
            "networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3",
        ]),
    ) {
        let text = plan_text(&migrations, flat, api);
        let plan = parse(text.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(plan.layout, if flat { Layout::Flat } else { Layout::Kustomize });
        let files = render_plan(&plan, &Templates::builtin().unwrap()).unwrap();
        let expected_files: usize = migrations.iter().map(|m| m.stages.len()).sum::<usize>()
            * if flat { 1 } else { 2 };
        prop_assert_eq!(files.len(), expected_files);
        for f in files.iter().filter(|f| !f.rel.ends_with("kustomization.yaml")) {
            let doc: Value = serde_yaml::from_str(&f.contents).unwrap();
            prop_assert_eq!(doc["apiVersion"].as_str(), Some(api));
            weights_sum_to_100(&doc).map_err(TestCaseError::fail)?;
            let i: usize = f.migration[1..].parse().unwrap();
            let m = &migrations[i];
            prop_assert_eq!(doc["metadata"]["namespace"].as_str(), Some(m.namespace.as_str()));
            let hosts: Vec<String> = serde_yaml::from_value(doc["spec"]["hosts"].clone()).unwrap();
            let want = m.hosts.clone().unwrap_or_else(|| vec![m.from.clone()]);
            prop_assert_eq!(hosts, want);
        }
        // Same plan, same bytes.
        let again = render_plan(&parse(text.as_bytes()).unwrap(), &Templates::builtin().unwrap()).unwrap();
        prop_assert_eq!(files, again);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "(version|output|migrations|stages|weight|mirror|name|from|to|[-:{}\\[\\],&*!|>'\" \n\t#0-9a-z.])*") {
        let _ = parse(text.as_bytes());
    }

    #[test]
    fn any_string_in_any_field_is_refused_or_round_trips(
        value in any::<String>(),
        field in prop::sample::select(vec!["namespace", "from", "to", "name", "virtualService", "hosts", "gateways", "output", "stage-name"]),
    ) {
        let mut map = Mapping::new();
        map.insert("name".into(), "m".into());
        map.insert("namespace".into(), "ns".into());
        map.insert("from".into(), "a.example.com".into());
        map.insert("to".into(), "b.example.com".into());
        let mut stage = Mapping::new();
        stage.insert("weight".into(), 100.into());
        let mut root = Mapping::new();
        root.insert("version".into(), 1.into());
        root.insert("output".into(), "out".into());
        match field {
            "hosts" | "gateways" => { map.insert(field.into(), vec![value.clone()].into()); }
            "output" => { root.insert("output".into(), value.clone().into()); }
            "stage-name" => { stage.insert("name".into(), value.clone().into()); }
            f => { map.insert(f.into(), value.clone().into()); }
        }
        map.insert("stages".into(), vec![Value::Mapping(stage)].into());
        root.insert("migrations".into(), vec![Value::Mapping(map)].into());
        let text = serde_yaml::to_string(&root).unwrap();
        if let Ok(plan) = parse(text.as_bytes()) {
            // Accepted: rendering verifies that every value parses back unchanged.
            render_plan(&plan, &Templates::builtin().unwrap())
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        }
    }
}
