//! Parse-back checks of rendered manifests.
//!
//! A rendered file is read back with `serde_yaml` (an independent YAML parser from the
//! one that reads plans; VirtualServices through [`crate::vs`]) and compared with what
//! the plan asked for. A template override that drops a host, breaks the weights or
//! injects structure fails here, before any file is written. Which manifest a file is
//! meant to be is said by the caller ([`Extra`]), never guessed from a template name.

use serde::Deserialize;

use crate::plan::stage::Stage;
use crate::plan::{Migration, Plan};
use crate::vs::{to_json, HostResolver, Route, VirtualService};

/// Checks a rendered VirtualService against the plan, migration and stage it was
/// rendered for. Returns what is wrong.
pub fn virtual_service(
    vs: &VirtualService,
    plan: &Plan,
    m: &Migration,
    stage: &Stage,
) -> Result<(), String> {
    expect("kind", vs.kind(), "VirtualService")?;
    expect("apiVersion", vs.api_version(), &plan.api_version)?;
    expect("metadata.name", vs.name(), &m.virtual_service)?;
    expect("metadata.namespace", vs.namespace(), &m.namespace)?;
    let hosts = vs.hosts().ok_or("spec.hosts is not a list of strings")?;
    if hosts != m.hosts {
        return Err(format!(
            "spec.hosts is {hosts:?}, the plan says {:?}",
            m.hosts
        ));
    }
    let gateways = vs
        .gateways()
        .ok_or("spec.gateways is not a list of strings")?;
    if gateways != m.gateways {
        return Err(format!(
            "spec.gateways is {gateways:?}, the plan says {:?}",
            m.gateways
        ));
    }
    // Hosts as Istio reads them: a template may write `reviews` for
    // `reviews.<namespace>.svc.cluster.local`.
    let names = HostResolver::new(&m.namespace);
    let to = names.resolve(&m.to);
    let from = names.resolve(&m.from);
    let routes: Vec<Route<'_>> = vs.http_routes().collect();
    if routes.is_empty() {
        return Err("spec.http has no routes".into());
    }
    for route in &routes {
        check_weights(route)?;
    }
    if let Some((name, value)) = &stage.header {
        let first = routes[0];
        let matched = first.index == 0 && first.matches_header(name, value);
        if !matched || sends(&first, &names) != [(to.clone(), 100)] {
            return Err(format!(
                "stage `{}` needs a first HTTP route sending requests with header {name}: {value} 100% to {}",
                stage.name, m.to
            ));
        }
    }
    // (host as the plan writes it, as Istio reads it, weight)
    let expected = match stage.mirror() {
        Some(_) => vec![(&m.from, from, 100)],
        None => vec![
            (&m.to, to, i64::from(stage.to_weight())),
            (&m.from, from, i64::from(stage.from_weight())),
        ],
    };
    let resolved: Vec<_> = expected.iter().map(|(_, h, w)| (h.clone(), *w)).collect();
    let Some(route) = routes.iter().find(|r| sends(r, &names) == resolved) else {
        return Err(format!(
            "no HTTP route sends {} as stage `{}` requires",
            expected
                .iter()
                .map(|(h, _, w)| format!("{w}% to {h}"))
                .collect::<Vec<_>>()
                .join(" and "),
            stage.name
        ));
    };
    check_mirror(route, m, stage, &names)
}

/// Where a route sends requests: each destination's host as Istio reads it (`names`)
/// and weight (100 when unset, which [`check_weights`] allows only for a lone
/// destination).
fn sends<'a>(route: &Route<'a>, names: &HostResolver) -> Vec<(std::borrow::Cow<'a, str>, i64)> {
    route
        .destinations()
        .into_iter()
        .flatten()
        .map(|d| {
            let host = names.resolve(d.host().unwrap_or_default());
            (host, d.weight().unwrap_or(100))
        })
        .collect()
}

/// The route's mirror is the one the stage asks for, or there is none.
fn check_mirror(
    route: &Route<'_>,
    m: &Migration,
    stage: &Stage,
    names: &HostResolver,
) -> Result<(), String> {
    let mirrored = route.mirrors()
        || route
            .as_value()
            .get("mirrorPercentage")
            .is_some_and(|p| !p.is_null());
    match (
        stage.mirror(),
        route.mirror_host(),
        route.mirror_percentage(),
    ) {
        (None, _, _) if !mirrored => Ok(()),
        (None, _, _) => Err(format!("stage `{}` must not mirror traffic", stage.name)),
        (Some(p), Some(host), Some(pct)) => {
            if !names.same(host, &m.to) {
                expect("mirror.host", Some(host), &m.to)?;
            }
            if pct != p {
                return Err(format!(
                    "mirrorPercentage.value is {pct}, the plan says {p}"
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

/// A route's weights, as cutover renders them: a lone destination has no weight or 100;
/// several have weights in 0..100 that sum to 100.
fn check_weights(route: &Route<'_>) -> Result<(), String> {
    let index = route.index;
    let mut weights = Vec::new();
    for (j, d) in route.destinations().into_iter().flatten().enumerate() {
        if d.weight_value().is_some() && d.weight().is_none() {
            return Err(format!(
                "spec.http[{index}].route[{j}].weight is not an integer"
            ));
        }
        weights.push(d.weight());
    }
    match weights.as_slice() {
        [] | [None | Some(100)] => Ok(()),
        [Some(w)] => Err(format!(
            "spec.http[{index}]: a single destination has weight {w}; the weights must sum to 100"
        )),
        many => {
            let mut sum = 0i64;
            for (j, w) in many.iter().enumerate() {
                match w {
                    Some(w) if (0..=100).contains(w) => sum += w,
                    Some(w) => {
                        return Err(format!(
                            "spec.http[{index}].route[{j}].weight {w} is outside 0..100"
                        ))
                    }
                    None => return Err(format!("spec.http[{index}].route[{j}] has no weight")),
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

/// `got` (a string field, `None` when absent or of another type) is `want`.
fn expect(field: &str, got: Option<&str>, want: &str) -> Result<(), String> {
    match got {
        Some(got) if got == want => Ok(()),
        Some(got) => Err(format!("{field} is {got:?}, the plan says {want:?}")),
        None => Err(format!(
            "{field} is missing or not a string, the plan says {want:?}"
        )),
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
    use std::sync::{LazyLock, Mutex, PoisonError};
    // Bounded: templates that put migration names in kustomizations make every text
    // different, and then remembering only costs memory.
    const MAX: usize = 256;
    type Seen = HashMap<(String, String), Result<(), String>>;
    static SEEN: LazyLock<Mutex<Seen>> = LazyLock::new(Mutex::default);
    let key = (text.to_owned(), file.to_owned());
    // A panic elsewhere while the lock was held cannot leave a wrong verdict behind (an
    // insert is the only write), so a poisoned lock is used as it is.
    let seen = || SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(verdict) = seen().get(&key).cloned() {
        return verdict;
    }
    let verdict = check_kustomization(text, file);
    let mut seen = seen();
    if seen.len() < MAX {
        seen.insert(key, verdict.clone());
    }
    verdict
}

fn check_kustomization(text: &str, file: &str) -> Result<(), String> {
    let k: Kustomization =
        serde_yaml::from_str(text).map_err(|e| format!("not a Kustomization document: {e}"))?;
    expect("kind", Some(&k.kind), "Kustomization")?;
    if !k.resources.iter().any(|r| r == file) {
        return Err(format!("resources does not list {file}"));
    }
    Ok(())
}

/// A manifest beside the VirtualServices: which one a rendered file is meant to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extra<'a> {
    /// The GCPBackend (`gcpbackend.yaml`).
    GcpBackend,
    /// A verification Job (`job.yaml`, `verify-job.yaml`, or a stage's
    /// `verify-job.yaml`), with the name it must have.
    VerifyJob(&'a str),
}

/// Checks a rendered GCPBackend or verification Job (`kind` says which the file is meant
/// to be) against the migration.
pub fn extra(text: &str, kind: Extra<'_>, m: &Migration) -> Result<(), String> {
    let doc: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| format!("not a YAML document: {e}"))?;
    let ns = at(&doc, &["metadata", "namespace"]).and_then(serde_yaml::Value::as_str);
    if ns != Some(m.namespace.as_str()) {
        return Err(format!(
            "metadata.namespace is {ns:?}, the plan says {:?}",
            m.namespace
        ));
    }
    match kind {
        Extra::GcpBackend => gcp_backend(&doc, m),
        Extra::VerifyJob(name) => verify_job(&doc, m, name),
    }
}

/// The value at `path`, if every step is there.
fn at<'a>(doc: &'a serde_yaml::Value, path: &[&str]) -> Option<&'a serde_yaml::Value> {
    path.iter().try_fold(doc, |v, p| v.get(*p))
}

/// The string at `path` (`None`: absent or not a string).
fn string<'a>(doc: &'a serde_yaml::Value, path: &[&str]) -> Option<&'a str> {
    at(doc, path)?.as_str()
}

fn gcp_backend(doc: &serde_yaml::Value, m: &Migration) -> Result<(), String> {
    let g = m.gcp_backend.as_ref().ok_or("no gcpBackend in the plan")?;
    expect("kind", string(doc, &["kind"]), "GCPBackend")?;
    expect("metadata.name", string(doc, &["metadata", "name"]), &g.name)?;
    let cloudrun = at(doc, &["spec", "cloudrun"]).ok_or("no spec.cloudrun")?;
    expect(
        "spec.cloudrun.service",
        string(cloudrun, &["service"]),
        &g.service,
    )?;
    // Every region must be a string: one that is not is an error, never left out.
    let regions: Option<Vec<&str>> = cloudrun
        .get("regions")
        .and_then(serde_yaml::Value::as_sequence)
        .and_then(|r| r.iter().map(serde_yaml::Value::as_str).collect());
    if regions.as_deref() != Some(&[g.region.as_str()][..]) {
        return Err(format!(
            "spec.cloudrun.regions is {}, the plan says [{:?}]",
            describe(cloudrun.get("regions")),
            g.region
        ));
    }
    // A project that is not a string is an error, not an absent project.
    let project = cloudrun.get("project").filter(|p| !p.is_null());
    if project.map(serde_yaml::Value::as_str) != g.project.as_deref().map(Some) {
        return Err(format!(
            "spec.cloudrun.project is {}, the plan says {:?}",
            describe(project),
            g.project
        ));
    }
    Ok(())
}

fn verify_job(doc: &serde_yaml::Value, m: &Migration, name: &str) -> Result<(), String> {
    let v = m.verify.as_ref().ok_or("no verify in the plan")?;
    expect("kind", string(doc, &["kind"]), "Job")?;
    expect("metadata.name", string(doc, &["metadata", "name"]), name)?;
    if name.len() > 63 {
        return Err(format!(
            "metadata.name `{name}` is longer than 63 characters (its pods' job-name label)"
        ));
    }
    // Bounded: a Job a GitOps tool runs at every stage must end, and end once.
    for (field, min) in [("backoffLimit", 0), ("activeDeadlineSeconds", 1)] {
        let value = at(doc, &["spec", field]);
        if value
            .and_then(serde_yaml::Value::as_u64)
            .is_none_or(|n| n < min)
        {
            return Err(format!(
                "spec.{field} is {}, not a number of at least {min}",
                describe(value)
            ));
        }
    }
    let container = at(doc, &["spec", "template", "spec", "containers"])
        .and_then(|c| c.get(0))
        .ok_or("no container")?;
    expect("image", string(container, &["image"]), &v.image)?;
    let env = |key: &str| {
        container
            .get("env")
            .and_then(serde_yaml::Value::as_sequence)
            .and_then(|e| e.iter().find(|x| string(x, &["name"]) == Some(key)))
            .and_then(|x| string(x, &["value"]))
    };
    expect(
        "env CLIENT_URL",
        env("CLIENT_URL"),
        &v.url(m.hosts.first().unwrap_or(&m.from)),
    )?;
    expect("env BACKEND_URL", env("BACKEND_URL"), &v.url(&m.to))?;
    expect("env REQUESTS", env("REQUESTS"), &v.requests.to_string())
}

/// A YAML value for messages, on one line (`absent` when there is none).
fn describe(v: Option<&serde_yaml::Value>) -> String {
    v.map_or_else(|| "absent".to_owned(), |v| to_json(v.clone()).to_string())
}

/// Checks a rendered environment overlay: a `Kustomization` whose only resource is the
/// stage overlay `resource`.
pub fn environment(text: &str, resource: &str) -> Result<(), String> {
    let k: Kustomization =
        serde_yaml::from_str(text).map_err(|e| format!("not a Kustomization document: {e}"))?;
    expect("kind", Some(&k.kind), "Kustomization")?;
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

    fn yaml(text: &str) -> VirtualService {
        VirtualService::parse(text).unwrap()
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
                "weight: 10}",
                "weight: ten}",
                "route[0].weight is not an integer",
            ),
            ("hosts: [f.com]", "hosts: f.com", "spec.hosts is not a list"),
            (
                "name: a",
                "name: [a]",
                "metadata.name is missing or not a string",
            ),
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
    fn hosts_are_read_as_istio_reads_them() {
        let plan = Plan::parse(
            "p",
            b"version: 1\noutput: o\nmigrations:\n- {name: a, namespace: n, hosts: [f.com], from: f.n.svc.cluster.local, to: t, stages: [{mirror: 5}, {weight: 10}]}\n",
            Path::new("/r/p"),
            Path::new("/r"),
        )
        .unwrap();
        let m = &plan.migrations[0];
        // A template may write a host short (`f`) or in full (`t.n.svc.cluster.local`).
        let weighted = GOOD
            .replace("host: t.com}", "host: t.n.svc.cluster.local}")
            .replace("host: f.com}", "host: f}");
        let s = Stage::unnamed(StageKind::Weight(10));
        virtual_service(&yaml(&weighted), &plan, m, &s).unwrap();
        // `f.n` is another host for Istio.
        let err = virtual_service(
            &yaml(&weighted.replace("host: f}", "host: f.n}")),
            &plan,
            m,
            &s,
        )
        .unwrap_err();
        assert_eq!(
            err,
            "no HTTP route sends 10% to t and 90% to f.n.svc.cluster.local as stage `weight-10` requires"
        );
        let mirrored = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: a, namespace: n}\nspec:\n  hosts: [f.com]\n  http:\n  - route:\n    - {destination: {host: f}}\n    mirror: {host: t.n.svc.cluster.local}\n    mirrorPercentage: {value: 5}\n";
        let s = Stage::unnamed(StageKind::Mirror(5.0));
        virtual_service(&yaml(mirrored), &plan, m, &s).unwrap();
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

    fn extra_setup() -> Migration {
        let plan = Plan::parse(
            "p",
            b"version: 1\noutput: o\nmigrations:\n- {name: a, namespace: n, from: f.com, to: t.com, stages: [{weight: 10}], gcpBackend: {name: g, service: s, region: europe-west1}, verify: {name: v, image: 'i:1', requests: 3}}\n",
            Path::new("/r/p"),
            Path::new("/r"),
        )
        .unwrap();
        plan.migrations[0].clone()
    }

    const GCP: &str = "kind: GCPBackend\nmetadata: {name: g, namespace: n}\nspec:\n  cloudrun: {service: s, regions: [europe-west1]}\n";

    #[test]
    fn extras_are_checked_as_what_they_are_meant_to_be() {
        let m = extra_setup();
        extra(GCP, Extra::GcpBackend, &m).unwrap();
        // A GCPBackend where the verification Job is meant to be is not a Job.
        let err = extra(GCP, Extra::VerifyJob("v"), &m).unwrap_err();
        assert!(err.contains("kind is \"GCPBackend\""), "{err}");
        let err = extra(JOB, Extra::GcpBackend, &m).unwrap_err();
        assert!(err.contains("kind is \"Job\""), "{err}");
        extra(JOB, Extra::VerifyJob("v"), &m).unwrap();
    }

    const JOB: &str = "kind: Job\nmetadata: {name: v, namespace: n}\nspec:\n  backoffLimit: 0\n  activeDeadlineSeconds: 300\n  template:\n    spec:\n      containers:\n      - image: 'i:1'\n        env: [{name: CLIENT_URL, value: 'http://f.com/'}, {name: BACKEND_URL, value: 'http://t.com/'}, {name: REQUESTS, value: '3'}]\n";

    #[test]
    fn a_job_must_be_bounded_named_and_check_both_hosts() {
        let m = extra_setup();
        for (from, to, needle) in [
            ("name: v,", "name: w,", "metadata.name"),
            ("  backoffLimit: 0\n", "", "spec.backoffLimit is absent"),
            (
                "activeDeadlineSeconds: 300",
                "activeDeadlineSeconds: '300'",
                "spec.activeDeadlineSeconds",
            ),
            (
                "activeDeadlineSeconds: 300",
                "activeDeadlineSeconds: 0",
                "at least 1",
            ),
            ("http://t.com/", "http://f.com/", "env BACKEND_URL"),
            (
                "{name: CLIENT_URL, value: 'http://f.com/'}, ",
                "",
                "env CLIENT_URL",
            ),
            ("value: '3'", "value: '1'", "env REQUESTS"),
            ("'i:1'", "i", "image"),
        ] {
            let job = JOB.replace(from, to);
            assert_ne!(job, JOB, "{from}");
            let err = extra(&job, Extra::VerifyJob("v"), &m).unwrap_err();
            assert!(err.contains(needle), "{from}: {err}");
        }
        let long = "v".repeat(64);
        let err = extra(
            &JOB.replace("name: v,", &format!("name: {long},")),
            Extra::VerifyJob(&long),
            &m,
        )
        .unwrap_err();
        assert!(err.contains("longer than 63"), "{err}");
    }

    #[test]
    fn gcp_backend_fields_of_the_wrong_type_are_errors() {
        let m = extra_setup();
        for (from, to, needle) in [
            // A region that is not a string is not left out.
            (
                "regions: [europe-west1]",
                "regions: [europe-west1, {x: 1}]",
                "regions is [\"europe-west1\",{\"x\":1}]",
            ),
            (
                "regions: [europe-west1]",
                "regions: europe-west1",
                "regions is \"europe-west1\"",
            ),
            // A project that is not a string is not taken for no project.
            (
                "regions: [europe-west1]}",
                "regions: [europe-west1], project: 42}",
                "project is 42",
            ),
            (
                "regions: [europe-west1]}",
                "regions: [europe-west1], project: p}",
                "project is \"p\"",
            ),
        ] {
            let err = extra(&GCP.replace(from, to), Extra::GcpBackend, &m).unwrap_err();
            assert!(err.contains(needle), "{to}: {err}");
        }
        extra(
            &GCP.replace(
                "regions: [europe-west1]}",
                "regions: [europe-west1], project: ~}",
            ),
            Extra::GcpBackend,
            &m,
        )
        .unwrap();
    }
}
