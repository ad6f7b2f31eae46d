//! Base VirtualServices that another controller manages.
//!
//! A migration with `base` rewrites an existing VirtualService's routes stage by stage.
//! When an Argo Rollouts `Rollout` of the same repository routes its canary through that
//! VirtualService (`spec.strategy.canary.trafficRouting.istio.virtualService.name`, or
//! an entry of `virtualServices`), or a Flagger `Canary` generates it (Flagger's Istio
//! router owns the VirtualService named `spec.service.name`, by default
//! `spec.targetRef.name`, in the Canary's namespace), the controller and the stages would
//! both set its weights, each undoing the other. [`refuse_managed`] refuses such a
//! migration unless it sets `allowManagedBase: true`.
//!
//! The repository's YAML files are those the plan search walks ([`Survey::yaml`]), less
//! the folders the plans generate and the files git ignores. The scan runs only for plans
//! with such a migration, and parses a file only when its text names `argoproj.io` and
//! `Rollout`, or `flagger.app` and `Canary`. Files that are not YAML are passed over: that
//! is most Helm chart templates (`{{ ... }}` in a value), whose objects only exist once the
//! chart is rendered; a template written as literal YAML is read like any file (the
//! controller it declares is deployed as written).

use std::path::{Path, PathBuf};

use serde_yaml::Value;

use crate::error::{Diagnostic, Diagnostics, Error, Result, Severity};
use crate::plan::discover::{self, Survey};
use crate::plan::{Migration, Plan};
use crate::{git, repo, vs, yaml};

/// A controller that may set a VirtualService's weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Controller {
    /// An Argo Rollouts `Rollout` (`argoproj.io/*`).
    ArgoRollouts,
    /// A Flagger `Canary` (`flagger.app/*`).
    Flagger,
}

impl Controller {
    /// The kind of the object that names the VirtualService.
    pub fn kind(self) -> &'static str {
        match self {
            Controller::ArgoRollouts => "Rollout",
            Controller::Flagger => "Canary",
        }
    }

    /// The controller's name.
    pub fn name(self) -> &'static str {
        match self {
            Controller::ArgoRollouts => "Argo Rollouts",
            Controller::Flagger => "Flagger",
        }
    }
}

/// One VirtualService a `Rollout` or `Canary` names, read from one document of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// Which controller.
    pub controller: Controller,
    /// The `Rollout`'s or `Canary`'s `metadata.name` (empty when it has none).
    pub owner: String,
    /// The VirtualService's name.
    pub virtual_service: String,
    /// The VirtualService's namespace, when the object says (`None`: any namespace).
    pub namespace: Option<String>,
    /// The document of the file (0-based).
    pub document: usize,
    /// Where in that document the name is given, e.g.
    /// `spec.strategy.canary.trafficRouting.istio.virtualService.name`.
    pub field: String,
}

impl Claim {
    /// Whether this claim names the VirtualService `name` in namespace `namespace`.
    pub fn names(&self, name: &str, namespace: &str) -> bool {
        self.virtual_service == name && self.namespace.as_deref().is_none_or(|n| n == namespace)
    }
}

/// The API groups of the objects read: a file whose text holds neither is not parsed.
pub const GROUPS: [&str; 2] = ["argoproj.io", "flagger.app"];

/// Whether the text may hold a `Rollout` or a `Canary`: the test every file passes before
/// it is parsed (its group and its kind; Argo CD's `argocd.argoproj.io` annotations alone
/// do not make a file worth parsing).
pub fn may_claim(text: &str) -> bool {
    (text.contains(GROUPS[0]) && text.contains("Rollout"))
        || (text.contains(GROUPS[1]) && text.contains("Canary"))
}

/// The VirtualServices the `Rollout`s and `Canary`s of a YAML file's `text` name. Nothing
/// for a text that is not YAML (most templates with `{{ }}` actions are not; in one that
/// is, a templated name is a mapping or a `{{ }}` string, which names no VirtualService).
pub fn claims(text: &str) -> Vec<Claim> {
    if !may_claim(text) {
        return Vec::new();
    }
    let Ok(docs) = vs::documents(text) else {
        return Vec::new();
    };
    docs.iter()
        .enumerate()
        .flat_map(|(i, doc)| {
            // `kind: List` (what `kubectl get -o yaml` writes): the objects are its items.
            match doc.get("items").and_then(Value::as_sequence) {
                Some(items) if doc.get("kind").and_then(Value::as_str) == Some("List") => items
                    .iter()
                    .enumerate()
                    .flat_map(|(k, item)| {
                        document_claims(item, i).into_iter().map(move |mut c| {
                            c.field = format!("items[{k}].{}", c.field);
                            c
                        })
                    })
                    .collect(),
                _ => document_claims(doc, i),
            }
        })
        .collect()
}

/// The claims of one document.
fn document_claims(doc: &Value, document: usize) -> Vec<Claim> {
    let text = |v: &Value, path: &[&str]| -> Option<String> {
        let mut v = v;
        for key in path {
            v = v.get(key)?;
        }
        v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
    };
    let api = text(doc, &["apiVersion"]).unwrap_or_default();
    let kind = text(doc, &["kind"]).unwrap_or_default();
    let owner = text(doc, &["metadata", "name"]).unwrap_or_default();
    let own_namespace = text(doc, &["metadata", "namespace"]);
    let claim = |controller, name: String, namespace: Option<String>, field: String| Claim {
        controller,
        owner: owner.clone(),
        virtual_service: name,
        namespace,
        document,
        field,
    };
    if api.starts_with("argoproj.io/") && kind == "Rollout" {
        let istio = ["spec", "strategy", "canary", "trafficRouting", "istio"];
        let Some(istio_v) = istio.iter().try_fold(doc, |v, k| v.get(k)) else {
            return Vec::new();
        };
        let at = istio.join(".");
        let mut names = Vec::new();
        if let Some(name) = text(istio_v, &["virtualService", "name"]) {
            names.push((name, format!("{at}.virtualService.name")));
        }
        if let Some(list) = istio_v.get("virtualServices").and_then(Value::as_sequence) {
            for (i, entry) in list.iter().enumerate() {
                if let Some(name) = text(entry, &["name"]) {
                    names.push((name, format!("{at}.virtualServices[{i}].name")));
                }
            }
        }
        return names
            .into_iter()
            .map(|(written, field)| {
                let (name, namespace) = argo_reference(&written);
                let namespace = namespace.or_else(|| own_namespace.clone());
                claim(Controller::ArgoRollouts, name, namespace, field)
            })
            .collect();
    }
    if api.starts_with("flagger.app/") && kind == "Canary" {
        // Flagger's Istio router only: another provider routes with other objects.
        if text(doc, &["spec", "provider"]).is_some_and(|p| p != "istio") {
            return Vec::new();
        }
        let named = text(doc, &["spec", "service", "name"])
            .map(|n| (n, "spec.service.name"))
            .or_else(|| {
                text(doc, &["spec", "targetRef", "name"]).map(|n| (n, "spec.targetRef.name"))
            });
        return named
            .map(|(name, field)| {
                claim(
                    Controller::Flagger,
                    name,
                    own_namespace.clone(),
                    field.to_owned(),
                )
            })
            .into_iter()
            .collect();
    }
    Vec::new()
}

/// A VirtualService as a Rollout names it: `name`, or `name.namespace` (Argo Rollouts
/// reads the first two `.`-separated parts so).
fn argo_reference(written: &str) -> (String, Option<String>) {
    let mut parts = written.split('.');
    let name = parts.next().unwrap_or_default().to_owned();
    let namespace = parts.next().filter(|n| !n.is_empty()).map(str::to_owned);
    (name, namespace)
}

/// A file of the repository with the claims in it.
struct Found {
    /// The file (absolute).
    path: PathBuf,
    /// Its text (for the line of a claim).
    text: String,
    claims: Vec<Claim>,
}

/// Refuses every migration of `plans` with a `base` (and no `allowManagedBase: true`)
/// whose VirtualService a `Rollout` or `Canary` of its repository names. `surveys` are
/// the walks of the plans' repositories (by root); the folders the migrations of `plans`
/// and `others` write are not read. Scans nothing when no migration has such a base.
pub fn refuse_managed(
    plans: &[Plan],
    others: &[Plan],
    surveys: &[(PathBuf, Survey)],
) -> Result<()> {
    let checked = |m: &Migration| m.base.is_some() && !m.allow_managed_base;
    let mut roots: Vec<&Path> = plans
        .iter()
        .filter(|p| p.migrations.iter().any(checked))
        .map(|p| p.root.as_path())
        .collect();
    if roots.is_empty() {
        return Ok(());
    }
    roots.sort();
    roots.dedup();
    let mut generated: Vec<PathBuf> = plans
        .iter()
        .chain(others)
        .flat_map(Plan::migration_dirs)
        .collect();
    generated.sort();
    generated.dedup();
    let generated: Vec<&Path> = generated.iter().map(PathBuf::as_path).collect();
    let mut diags = Vec::new();
    for root in roots {
        let Some((_, survey)) = surveys.iter().find(|(r, _)| r == root) else {
            continue;
        };
        let held = repo::first_folder_holding(&survey.yaml, &generated);
        let files: Vec<&PathBuf> = survey
            .yaml
            .iter()
            .zip(held)
            .filter(|(_, h)| h.is_none())
            .map(|(p, _)| p)
            .collect();
        let checked_here: Vec<(&Plan, usize, &Migration)> = plans
            .iter()
            .filter(|p| p.root == root)
            .flat_map(|p| p.migrations.iter().enumerate().map(move |(i, m)| (p, i, m)))
            .filter(|(_, _, m)| checked(m))
            .collect();
        let wanted = |c: &Claim| {
            checked_here
                .iter()
                .any(|(_, _, m)| c.names(&m.virtual_service, &m.namespace))
        };
        let found = scan(root, &files, &wanted);
        if found.is_empty() {
            continue;
        }
        for (plan, i, m) in checked_here {
            diags.extend(refusal(plan, i, m, &found));
        }
    }
    if diags.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(Diagnostics(diags)))
    }
}

/// The files among `yaml` (files of the repository at `root`) with claims that are
/// `wanted`, less the files git ignores (asked of git only for
/// such files: most scans find none).
fn scan(root: &Path, yaml: &[&PathBuf], wanted: &(dyn Fn(&Claim) -> bool + Sync)) -> Vec<Found> {
    use rayon::prelude::*;
    let mut found: Vec<Found> = yaml
        .par_iter()
        .filter_map(|path| {
            let text = discover::read_small(path)?;
            let mut claims = claims(&text);
            claims.retain(|c| wanted(c));
            (!claims.is_empty()).then(|| Found {
                path: (*path).clone(),
                text,
                claims,
            })
        })
        .collect();
    let ignored = git::ignored_files(root, found.iter().map(|f| &f.path));
    found.retain(|f| repo::relative(root, &f.path).is_none_or(|r| !ignored.contains(&r)));
    found
}

/// The error for migration `i` of `plan` when a claim of `found` names its VirtualService.
fn refusal(plan: &Plan, i: usize, m: &Migration, found: &[Found]) -> Option<Diagnostic> {
    let base = m.base.as_deref()?;
    let mut owners = found.iter().flat_map(|f| {
        f.claims
            .iter()
            .filter(|c| c.names(&m.virtual_service, &m.namespace))
            .map(move |c| (f, c))
    });
    let (file, first) = owners.next()?;
    let more = owners.count();
    let controller = first.controller;
    let also = match more {
        0 => String::new(),
        1 => " (and 1 more)".to_owned(),
        n => format!(" (and {n} more)"),
    };
    let message = format!(
        "the VirtualService `{}` in base `{base}` is managed by {} `{}` ({}){also}: {} and cutover's stages would both set its weights",
        m.virtual_service,
        controller.kind(),
        first.owner,
        place(&plan.root, file, first),
        controller.name(),
    );
    Some(
        Diagnostic::new(Severity::Error, &plan.file, message)
            .with_field(format!("migrations[{i}].base"))
            .with_help(format!(
                "migrate the {kind} first, or set `allowManagedBase: true` on the migration if you know the {kind} no longer routes it",
                kind = controller.kind()
            )),
    )
}

/// Where a claim is written: `path:line` (relative to the root), or the document's
/// number when the line cannot be found.
fn place(root: &Path, file: &Found, claim: &Claim) -> String {
    let rel = repo::display_rel(root, &file.path);
    let docs = yaml::locate::documents(&file.text);
    match docs
        .get(claim.document)
        .and_then(|d| yaml::locate::nearest(d, &claim.field))
    {
        Some(pos) => format!("{rel}:{}", pos.line),
        None => format!("{rel}, document {}", claim.document + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The files among `found`, relative to `root`.
    fn names_of(root: &Path, found: &[Found]) -> HashSet<String> {
        found
            .iter()
            .filter_map(|f| repo::relative(root, &f.path))
            .collect()
    }

    const ROLLOUT: &str = "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: reviews\n  namespace: shop\nspec:\n  strategy:\n    canary:\n      trafficRouting:\n        istio:\n          virtualService:\n            name: reviews-vs\n";

    fn one(text: &str) -> Claim {
        let mut all = claims(text);
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0)
    }

    #[test]
    fn the_items_of_a_list_are_read() {
        let item: String = ROLLOUT.lines().map(|l| format!("  {l}\n")).collect();
        let list = format!(
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n-{}",
            &item[1..]
        );
        let c = one(&list);
        assert_eq!(c.virtual_service, "reviews-vs");
        assert_eq!(
            c.field,
            "items[1].spec.strategy.canary.trafficRouting.istio.virtualService.name"
        );
    }

    #[test]
    fn a_rollout_names_its_virtual_service() {
        let c = one(ROLLOUT);
        assert_eq!(c.controller, Controller::ArgoRollouts);
        assert_eq!(c.owner, "reviews");
        assert_eq!(c.virtual_service, "reviews-vs");
        assert_eq!(c.namespace.as_deref(), Some("shop"));
        assert_eq!(
            c.field,
            "spec.strategy.canary.trafficRouting.istio.virtualService.name"
        );
        assert!(c.names("reviews-vs", "shop"));
        // Another namespace, or another name, is not this claim's.
        assert!(!c.names("reviews-vs", "other"));
        assert!(!c.names("reviews", "shop"));
    }

    #[test]
    fn a_rollout_may_name_several_virtual_services_and_their_namespaces() {
        let text = "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec:\n  strategy:\n    canary:\n      trafficRouting:\n        istio:\n          virtualServices:\n          - name: first\n          - name: second.payments\n            routes: [primary]\n";
        let all = claims(text);
        let named: Vec<(&str, Option<&str>, &str)> = all
            .iter()
            .map(|c| {
                (
                    c.virtual_service.as_str(),
                    c.namespace.as_deref(),
                    c.field.as_str(),
                )
            })
            .collect();
        assert_eq!(
            named,
            [
                (
                    "first",
                    None,
                    "spec.strategy.canary.trafficRouting.istio.virtualServices[0].name"
                ),
                (
                    "second",
                    Some("payments"),
                    "spec.strategy.canary.trafficRouting.istio.virtualServices[1].name"
                ),
            ]
        );
        // No namespace anywhere: any namespace.
        assert!(all[0].names("first", "shop"));
        // `name.namespace` wins over the Rollout's own namespace.
        let other = ROLLOUT.replace("name: reviews-vs", "name: reviews-vs.payments");
        let c = one(&other);
        assert!(c.names("reviews-vs", "payments"));
        assert!(!c.names("reviews-vs", "shop"));
    }

    #[test]
    fn a_canary_names_its_service_or_its_target() {
        let target = "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata:\n  name: podinfo\n  namespace: test\nspec:\n  targetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: podinfo-deploy\n  service:\n    port: 9898\n";
        let c = one(target);
        assert_eq!(c.controller, Controller::Flagger);
        assert_eq!(
            (c.virtual_service.as_str(), c.field.as_str()),
            ("podinfo-deploy", "spec.targetRef.name")
        );
        assert!(c.names("podinfo-deploy", "test"));
        assert!(!c.names("podinfo-deploy", "prod"));
        let service = target.replace(
            "    port: 9898\n",
            "    name: podinfo-svc\n    port: 9898\n",
        );
        let c = one(&service);
        assert_eq!(
            (c.virtual_service.as_str(), c.field.as_str()),
            ("podinfo-svc", "spec.service.name")
        );
        // Another provider than Istio generates no VirtualService.
        let nginx = service.replace("spec:\n", "spec:\n  provider: nginx\n");
        assert_eq!(claims(&nginx), []);
        let istio = service.replace("spec:\n", "spec:\n  provider: istio\n");
        assert_eq!(one(&istio).virtual_service, "podinfo-svc");
    }

    #[test]
    fn other_documents_files_and_templates_claim_nothing() {
        let multi =
            format!("apiVersion: v1\nkind: Service\nmetadata: {{name: reviews}}\n---\n{ROLLOUT}");
        assert_eq!(one(&multi).document, 1);
        for text in [
            // Not YAML.
            "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nspec: [\n",
            // A Helm template, which is not YAML.
            "{{- if .Values.rollout }}\napiVersion: argoproj.io/v1alpha1\nkind: Rollout\nspec:\n  strategy:\n    canary:\n      trafficRouting:\n        istio:\n          virtualService: {name: reviews-vs}\n{{- end }}\n",
            // Another kind of the group, a blue-green Rollout.
            "apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nspec:\n  metrics: [{name: x, provider: {prometheus: {query: '{{args.service}}'}}}]\n",
            "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nspec: {strategy: {blueGreen: {activeService: a}}}\n",
            // The kind, but not the group.
            "apiVersion: example.com/v1\nkind: Canary\nspec: {targetRef: {name: reviews}}\n",
            "",
        ] {
            assert_eq!(claims(text), [], "{text}");
        }
        // Argo CD's annotations are not worth parsing.
        assert!(!may_claim(
            "kind: Service\nmetadata: {annotations: {argocd.argoproj.io/sync-wave: '1'}}\n"
        ));
        // A `{{` inside a value (an analysis argument) is no reason to pass a file over.
        let analysis = format!("{ROLLOUT}---\napiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nspec:\n  args: [{{name: x, value: '{{{{args.service}}}}'}}]\n");
        assert_eq!(one(&analysis).virtual_service, "reviews-vs");
    }

    #[test]
    fn literal_chart_templates_are_read_and_templated_ones_passed_over() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for (rel, text) in [
            ("charts/app/Chart.yaml", "name: app\n"),
            ("charts/app/templates/rollout.yaml", ROLLOUT),
            (
                "charts/app/templates/templated.yaml",
                "{{- if .Values.rollout }}\napiVersion: argoproj.io/v1alpha1\nkind: Rollout\n{{- end }}\n",
            ),
            ("plain/templates/rollout.yaml", ROLLOUT),
            ("deploy/rollout.yaml", ROLLOUT),
            ("deploy/other.yaml", "kind: Service\n"),
            ("deploy/broken.yaml", "argoproj.io: [\n"),
        ] {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let yaml: Vec<PathBuf> = [
            "charts/app/templates/rollout.yaml",
            "charts/app/templates/templated.yaml",
            "deploy/broken.yaml",
            "deploy/other.yaml",
            "deploy/rollout.yaml",
            "plain/templates/rollout.yaml",
        ]
        .iter()
        .map(|r| root.join(r))
        .collect();
        let found = scan(root, &yaml.iter().collect::<Vec<_>>(), &|_| true);
        assert_eq!(
            names_of(root, &found),
            HashSet::from([
                "charts/app/templates/rollout.yaml".to_owned(),
                "deploy/rollout.yaml".to_owned(),
                "plain/templates/rollout.yaml".to_owned()
            ])
        );
        let deploy = found
            .iter()
            .find(|f| f.path.ends_with("deploy/rollout.yaml"))
            .unwrap();
        assert_eq!(
            place(root, deploy, &deploy.claims[0]),
            "deploy/rollout.yaml:12"
        );
    }
}
