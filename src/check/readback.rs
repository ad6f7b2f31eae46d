//! Parse-back checks of rendered manifests.
//!
//! A rendered file is read back with `serde_yaml` (an independent YAML parser from the
//! one that reads plans) and compared with what the plan asked for. A template override
//! that drops a host, breaks the weights or injects structure fails here, before any
//! file is written.

use serde::Deserialize;

use crate::plan::stage::Stage;
use crate::plan::{Migration, Plan};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VirtualService {
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: Spec,
}

#[derive(Deserialize)]
struct Metadata {
    name: String,
    namespace: String,
}

#[derive(Deserialize)]
struct Spec {
    hosts: Vec<String>,
    #[serde(default)]
    gateways: Vec<String>,
    #[serde(default)]
    http: Vec<HttpRoute>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HttpRoute {
    #[serde(default, rename = "match")]
    matches: Vec<Match>,
    #[serde(default)]
    route: Vec<RouteDestination>,
    mirror: Option<Destination>,
    mirror_percentage: Option<Percentage>,
}

#[derive(Deserialize)]
struct Match {
    #[serde(default)]
    headers: std::collections::BTreeMap<String, StringMatch>,
}

#[derive(Deserialize)]
struct StringMatch {
    exact: Option<String>,
}

#[derive(Deserialize)]
struct RouteDestination {
    destination: Destination,
    weight: Option<i64>,
}

#[derive(Deserialize)]
struct Destination {
    host: String,
}

#[derive(Deserialize)]
struct Percentage {
    value: f64,
}

/// Checks a rendered VirtualService (parsed) against the plan, migration and stage it was
/// rendered for. Returns what is wrong.
pub fn virtual_service(
    doc: &serde_yaml::Value,
    plan: &Plan,
    m: &Migration,
    stage: &Stage,
) -> Result<(), String> {
    use serde::Deserialize;
    let vs = VirtualService::deserialize(doc)
        .map_err(|e| format!("not a VirtualService document: {e}"))?;
    expect("kind", &vs.kind, "VirtualService")?;
    expect("apiVersion", &vs.api_version, &plan.api_version)?;
    expect("metadata.name", &vs.metadata.name, &m.virtual_service)?;
    expect("metadata.namespace", &vs.metadata.namespace, &m.namespace)?;
    if vs.spec.hosts != m.hosts {
        return Err(format!(
            "spec.hosts is {:?}, the plan says {:?}",
            vs.spec.hosts, m.hosts
        ));
    }
    if vs.spec.gateways != m.gateways {
        return Err(format!(
            "spec.gateways is {:?}, the plan says {:?}",
            vs.spec.gateways, m.gateways
        ));
    }
    if vs.spec.http.is_empty() {
        return Err("spec.http has no routes".into());
    }
    for (i, route) in vs.spec.http.iter().enumerate() {
        check_weights(i, route)?;
    }
    if let Some((name, value)) = &stage.header {
        let first = vs.spec.http.first().ok_or("no HTTP route")?;
        let dests: Vec<(&str, i64)> = first
            .route
            .iter()
            .map(|d| (d.destination.host.as_str(), d.weight.unwrap_or(100)))
            .collect();
        let matched = first.matches.iter().any(|m| {
            m.headers
                .get(name)
                .and_then(|h| h.exact.as_deref())
                .is_some_and(|v| v == value)
        });
        if !matched || dests != [(m.to.as_str(), 100)] {
            return Err(format!(
                "stage `{}` needs a first HTTP route sending requests with header {name}: {value} 100% to {}",
                stage.name, m.to
            ));
        }
    }
    let expected: Vec<(&str, i64)> = match stage.mirror() {
        Some(_) => vec![(m.from.as_str(), 100)],
        None => vec![
            (m.to.as_str(), i64::from(stage.to_weight())),
            (m.from.as_str(), i64::from(stage.from_weight())),
        ],
    };
    let found = vs.spec.http.iter().find(|r| {
        let got: Vec<(&str, i64)> = r
            .route
            .iter()
            .map(|d| (d.destination.host.as_str(), d.weight.unwrap_or(100)))
            .collect();
        got == expected
    });
    let Some(route) = found else {
        return Err(format!(
            "no HTTP route sends {} as stage `{}` requires",
            expected
                .iter()
                .map(|(h, w)| format!("{w}% to {h}"))
                .collect::<Vec<_>>()
                .join(" and "),
            stage.name
        ));
    };
    match (stage.mirror(), &route.mirror, &route.mirror_percentage) {
        (None, None, None) => Ok(()),
        (None, _, _) => Err(format!("stage `{}` must not mirror traffic", stage.name)),
        (Some(p), Some(dest), Some(pct)) => {
            expect("mirror.host", &dest.host, &m.to)?;
            if pct.value != p {
                return Err(format!(
                    "mirrorPercentage.value is {}, the plan says {p}",
                    pct.value
                ));
            }
            Ok(())
        }
        (Some(_), _, _) => Err(format!(
            "stage `{}` must mirror to {} with mirrorPercentage",
            stage.name, m.to
        )),
    }
}

fn check_weights(index: usize, route: &HttpRoute) -> Result<(), String> {
    match route.route.as_slice() {
        [] => Ok(()),
        [only] => match only.weight {
            None | Some(100) => Ok(()),
            Some(w) => Err(format!(
                "spec.http[{index}]: a single destination has weight {w}; the weights must sum to 100"
            )),
        },
        many => {
            let mut sum = 0i64;
            for (j, d) in many.iter().enumerate() {
                match d.weight {
                    Some(w) if (0..=100).contains(&w) => sum += w,
                    Some(w) => {
                        return Err(format!(
                            "spec.http[{index}].route[{j}].weight {w} is outside 0..100"
                        ))
                    }
                    None => {
                        return Err(format!(
                            "spec.http[{index}].route[{j}] has no weight"
                        ))
                    }
                }
            }
            if sum == 100 {
                Ok(())
            } else {
                Err(format!(
                    "spec.http[{index}]: the weights sum to {sum}, not 100"
                ))
            }
        }
    }
}

fn expect(field: &str, got: &str, want: &str) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{field} is {got:?}, the plan says {want:?}"))
    }
}

#[derive(Deserialize)]
struct Kustomization {
    kind: String,
    resources: Vec<String>,
}

/// Checks a rendered kustomization: a `Kustomization` whose resources include `file`.
///
/// The built-in template gives every stage of every migration the same text, so the
/// verdict for a text already checked is remembered (a pure function of its arguments).
pub fn kustomization(text: &str, file: &str) -> Result<(), String> {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    // Bounded: templates that put migration names in kustomizations make every text
    // different, and then remembering only costs memory.
    const MAX: usize = 256;
    type Seen = HashMap<(String, String), Result<(), String>>;
    static SEEN: LazyLock<Mutex<Seen>> = LazyLock::new(Mutex::default);
    let key = (text.to_owned(), file.to_owned());
    if let Some(verdict) = SEEN.lock().ok().and_then(|s| s.get(&key).cloned()) {
        return verdict;
    }
    let verdict = check_kustomization(text, file);
    if let Ok(mut seen) = SEEN.lock() {
        if seen.len() < MAX {
            seen.insert(key, verdict.clone());
        }
    }
    verdict
}

fn check_kustomization(text: &str, file: &str) -> Result<(), String> {
    let k: Kustomization =
        serde_yaml::from_str(text).map_err(|e| format!("not a Kustomization document: {e}"))?;
    expect("kind", &k.kind, "Kustomization")?;
    if !k.resources.iter().any(|r| r == file) {
        return Err(format!("resources does not list {file}"));
    }
    Ok(())
}

/// Checks a rendered GCPBackend or verification Job against the migration.
pub fn extra(text: &str, template: &str, m: &Migration) -> Result<(), String> {
    let doc: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| format!("not a YAML document: {e}"))?;
    let s = |path: &[&str]| -> Option<String> {
        let mut v = &doc;
        for p in path {
            v = v.get(*p)?;
        }
        v.as_str().map(str::to_owned)
    };
    let ns = s(&["metadata", "namespace"]);
    if ns.as_deref() != Some(m.namespace.as_str()) {
        return Err(format!(
            "metadata.namespace is {ns:?}, the plan says {:?}",
            m.namespace
        ));
    }
    if template == crate::render::GCPBACKEND {
        let g = m.gcp_backend.as_ref().ok_or("no gcpBackend in the plan")?;
        expect("kind", &s(&["kind"]).unwrap_or_default(), "GCPBackend")?;
        expect(
            "metadata.name",
            &s(&["metadata", "name"]).unwrap_or_default(),
            &g.name,
        )?;
        let cloudrun = doc
            .get("spec")
            .and_then(|v| v.get("cloudrun"))
            .ok_or("no spec.cloudrun")?;
        expect(
            "spec.cloudrun.service",
            cloudrun
                .get("service")
                .and_then(|v| v.as_str())
                .unwrap_or_default(),
            &g.service,
        )?;
        let regions: Vec<&str> = cloudrun
            .get("regions")
            .and_then(|v| v.as_sequence())
            .map(|r| r.iter().filter_map(|x| x.as_str()).collect())
            .unwrap_or_default();
        if regions != [g.region.as_str()] {
            return Err(format!(
                "spec.cloudrun.regions is {regions:?}, the plan says [{:?}]",
                g.region
            ));
        }
        let project = cloudrun.get("project").and_then(|v| v.as_str());
        if project != g.project.as_deref() {
            return Err(format!(
                "spec.cloudrun.project is {project:?}, the plan says {:?}",
                g.project
            ));
        }
    } else {
        let v = m.verify.as_ref().ok_or("no verify in the plan")?;
        expect("kind", &s(&["kind"]).unwrap_or_default(), "Job")?;
        expect(
            "metadata.name",
            &s(&["metadata", "name"]).unwrap_or_default(),
            &v.name,
        )?;
        let url = v.url(m.hosts.first().unwrap_or(&m.from));
        let container = doc
            .get("spec")
            .and_then(|x| x.get("template"))
            .and_then(|x| x.get("spec"))
            .and_then(|x| x.get("containers"))
            .and_then(|x| x.get(0))
            .ok_or("no container")?;
        expect(
            "image",
            container
                .get("image")
                .and_then(|x| x.as_str())
                .unwrap_or_default(),
            &v.image,
        )?;
        let env_url = container
            .get("env")
            .and_then(|e| e.as_sequence())
            .and_then(|e| {
                e.iter()
                    .find(|x| x.get("name").and_then(|n| n.as_str()) == Some("URL"))
            })
            .and_then(|x| x.get("value"))
            .and_then(|x| x.as_str())
            .unwrap_or_default();
        expect("env URL", env_url, &url)?;
    }
    Ok(())
}

/// Checks a rendered environment overlay: a `Kustomization` whose only resource is the
/// stage overlay `resource`.
pub fn environment(text: &str, resource: &str) -> Result<(), String> {
    let k: Kustomization =
        serde_yaml::from_str(text).map_err(|e| format!("not a Kustomization document: {e}"))?;
    expect("kind", &k.kind, "Kustomization")?;
    if k.resources != [resource] {
        return Err(format!(
            "resources is {:?}; the environment must point at exactly {resource:?}",
            k.resources
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::stage::StageKind;
    use std::path::Path;

    fn setup() -> (Plan, Migration) {
        let plan = Plan::parse(
            "p",
            b"version: 1\noutput: o\nmigrations:\n- {name: a, namespace: n, from: f.com, to: t.com, stages: [{weight: 10}]}\n",
            Path::new("/r/p"),
            Path::new("/r"),
        )
        .unwrap();
        let m = plan.migrations[0].clone();
        (plan, m)
    }

    fn yaml(text: &str) -> serde_yaml::Value {
        serde_yaml::from_str(text).unwrap()
    }

    const GOOD: &str = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: a, namespace: n}\nspec:\n  hosts: [f.com]\n  http:\n  - route:\n    - {destination: {host: t.com}, weight: 10}\n    - {destination: {host: f.com}, weight: 90}\n";

    #[test]
    fn accepts_the_expected_split() {
        let (plan, m) = setup();
        let s = Stage::unnamed(StageKind::Weight(10));
        virtual_service(&yaml(GOOD), &plan, &m, &s).unwrap();
    }

    #[test]
    fn rejects_wrong_values() {
        let (plan, m) = setup();
        let s = Stage::unnamed(StageKind::Weight(10));
        for (from, to, needle) in [
            ("weight: 90", "weight: 80", "sum to 90"),
            ("name: a", "name: b", "metadata.name"),
            ("hosts: [f.com]", "hosts: [f.com, x.com]", "spec.hosts"),
            (
                "host: t.com}, weight: 10",
                "host: x.com}, weight: 10",
                "no HTTP route",
            ),
            ("kind: VirtualService", "kind: Service", "kind"),
            (
                "weight: 90}",
                "weight: 90}\n    mirror: {host: t.com}",
                "must not mirror",
            ),
        ] {
            let text = GOOD.replace(from, to);
            let err = virtual_service(&yaml(&text), &plan, &m, &s).unwrap_err();
            assert!(err.contains(needle), "{to}: {err}");
        }
    }

    #[test]
    fn checks_mirror_stages() {
        let (plan, m) = setup();
        let s = Stage::unnamed(StageKind::Mirror(10.0));
        let text = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: a, namespace: n}\nspec:\n  hosts: [f.com]\n  http:\n  - route:\n    - {destination: {host: f.com}, weight: 100}\n    mirror: {host: t.com}\n    mirrorPercentage: {value: 10}\n";
        virtual_service(&yaml(text), &plan, &m, &s).unwrap();
        let err = virtual_service(
            &yaml(&text.replace("value: 10", "value: 20")),
            &plan,
            &m,
            &s,
        )
        .unwrap_err();
        assert!(err.contains("mirrorPercentage"), "{err}");
    }

    #[test]
    fn kustomization_lists_the_stage() {
        kustomization(
            "kind: Kustomization\nresources:\n- virtualservice.yaml\n",
            "virtualservice.yaml",
        )
        .unwrap();
        assert!(kustomization(
            "kind: Kustomization\nresources: []\n",
            "virtualservice.yaml"
        )
        .is_err());
    }
}
