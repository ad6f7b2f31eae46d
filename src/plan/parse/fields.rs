//! One mapping of migration fields (a migration, or `defaults`), read key by key.

use std::path::Path;

use super::{join, truncate, Ctx, LABEL_HELP};
use crate::plan::names;
use crate::plan::stage::Stage;
use crate::plan::{Environment, GcpBackend, VerifyJob};
use crate::repo;
use crate::yaml::{Node, Span, Value};

/// The keys of a migration (and of `defaults`).
pub(crate) const MIGRATION_KEYS: &[&str] = &[
    "name",
    "namespace",
    "virtualService",
    "hosts",
    "gateways",
    "from",
    "to",
    "stages",
    "environments",
    "base",
    "allowManagedBase",
    "gcpBackend",
    "verify",
];

/// A migration's fields as written in one mapping (`defaults` or one migration).
#[derive(Clone, Default)]
pub(super) struct Fields {
    /// Keys present, valid or not (so a bad value is not also reported as missing).
    pub present: Vec<&'static str>,
    pub name: Option<(String, Span)>,
    pub namespace: Option<(String, Span)>,
    pub virtual_service: Option<(String, Span)>,
    pub hosts: Option<Vec<String>>,
    pub gateways: Option<Vec<String>>,
    pub from: Option<(String, Span)>,
    pub to: Option<(String, Span)>,
    /// The stages with the field path and span of the list they came from.
    pub stages: Option<(Vec<Stage>, String, Span)>,
    /// Environments, as written (stage names checked once the stages are known).
    pub environments: Option<Vec<Environment>>,
    /// The base VirtualService path, relative to the root.
    pub base: Option<String>,
    /// `allowManagedBase`: the base may be a VirtualService another controller names.
    pub allow_managed_base: Option<bool>,
    /// `gcpBackend`, with `name` possibly left to default.
    pub gcp_backend: Option<(Option<String>, GcpBackend)>,
    /// `verify`, with `name` (and where it is written) possibly left to default.
    pub verify: Option<(Option<(String, Span)>, VerifyJob)>,
}

impl Fields {
    pub fn has(&self, key: &str) -> bool {
        self.present.contains(&key)
    }

    /// Fills every field this mapping did not set from `defaults`.
    pub fn inherit(mut self, defaults: &Fields) -> Fields {
        macro_rules! take {
            ($field:ident, $key:literal) => {
                if !self.has($key) {
                    self.$field = defaults.$field.clone();
                    if defaults.has($key) {
                        self.present.push($key);
                    }
                }
            };
        }
        take!(namespace, "namespace");
        take!(virtual_service, "virtualService");
        take!(hosts, "hosts");
        take!(gateways, "gateways");
        take!(from, "from");
        take!(to, "to");
        take!(stages, "stages");
        take!(environments, "environments");
        take!(base, "base");
        take!(allow_managed_base, "allowManagedBase");
        take!(gcp_backend, "gcpBackend");
        take!(verify, "verify");
        self
    }
}

impl Ctx<'_> {
    /// Reads one mapping of migration fields, reporting bad values.
    pub(super) fn fields(&mut self, node: &Node, field: &str, known: &[&'static str]) -> Fields {
        let mut f = Fields::default();
        let Some(entries) = self.mapping(node, field, known) else {
            return f;
        };
        for (key, v) in entries {
            f.present.push(key);
            self.field(&mut f, key, v, &join(field, key));
        }
        f
    }

    /// Reads the value of `key` into `f`.
    fn field(&mut self, f: &mut Fields, key: &str, v: &Node, path: &str) {
        let with_span = |s: Option<String>| s.map(|s| (s, v.span));
        match key {
            "name" => {
                f.name = with_span(self.checked(
                    v,
                    path,
                    names::is_dns1123_label,
                    |s| format!("migration name `{s}` is not a DNS-1123 label"),
                    LABEL_HELP,
                ));
            }
            "namespace" => {
                f.namespace = with_span(self.checked(
                    v,
                    path,
                    names::is_dns1123_label,
                    |s| format!("namespace `{s}` is not a DNS-1123 label"),
                    LABEL_HELP,
                ));
            }
            "virtualService" => {
                f.virtual_service = with_span(self.checked(
                    v,
                    path,
                    names::is_dns1123_subdomain,
                    |s| format!("VirtualService name `{s}` is not a DNS-1123 subdomain"),
                    "use lowercase letters, digits, `-` and `.`, at most 253 characters",
                ));
            }
            "from" => f.from = with_span(self.host(v, path)),
            "to" => f.to = with_span(self.host(v, path)),
            "hosts" => f.hosts = self.hosts(v, path),
            "gateways" => f.gateways = self.gateways(v, path),
            "stages" => {
                f.stages = self
                    .stages(v, path)
                    .map(|stages| (stages, path.to_owned(), v.span));
            }
            "environments" => f.environments = self.environments(v, path),
            "base" => f.base = self.base(v, path),
            "allowManagedBase" => f.allow_managed_base = self.boolean(v, path),
            "gcpBackend" => f.gcp_backend = self.gcp_backend(v, path),
            "verify" => f.verify = self.verify(v, path),
            // mapping() only returns the known keys.
            _ => {}
        }
    }

    /// `from` or `to`: one host name, a route destination.
    fn host(&mut self, v: &Node, path: &str) -> Option<String> {
        let h = self.string(v, path)?;
        match names::plan_destination(&h) {
            Ok(()) => Some(h),
            Err(e) => {
                let d = self.error(path, v.span, e.message("host", &truncate(&h)));
                Self::help(d, e.help());
                None
            }
        }
    }

    /// `hosts`: a non-empty list of host names (wildcards allowed), no two overlapping.
    fn hosts(&mut self, v: &Node, path: &str) -> Option<Vec<String>> {
        let list = self.string_list(v, path)?;
        let mut ok = true;
        if list.is_empty() {
            let d = self.error(path, v.span, "`hosts` must not be empty");
            Self::help(d, "leave `hosts` out to use `[from]`");
            ok = false;
        }
        for (i, (h, span)) in list.iter().enumerate() {
            let p = format!("{path}[{i}]");
            if let Err(e) = names::plan_host(h) {
                let d = self.error(&p, *span, e.message("host", &truncate(h)));
                Self::help(d, e.help());
                ok = false;
            } else if let Some((why, help)) = overlap(&list[..i], h) {
                let d = self.error(&p, *span, why);
                if let Some(help) = help {
                    Self::help(d, help);
                }
                ok = false;
            }
        }
        ok.then(|| list.into_iter().map(|(h, _)| h).collect())
    }

    /// `gateways`: a list of distinct gateway references.
    fn gateways(&mut self, v: &Node, path: &str) -> Option<Vec<String>> {
        let list = self.string_list(v, path)?;
        let mut ok = true;
        for (i, (g, span)) in list.iter().enumerate() {
            let p = format!("{path}[{i}]");
            if let Err(why) = names::gateway(g) {
                let d = self.error(&p, *span, format!("gateway `{}`: {why}", truncate(g)));
                Self::help(
                    d,
                    "use `mesh`, `<name>` or `<namespace>/<name>`: lowercase letters, digits and `-`",
                );
                ok = false;
            } else if list[..i].iter().any(|(o, _)| o == g) {
                self.error(&p, *span, format!("duplicate gateway `{g}`"));
                ok = false;
            }
        }
        ok.then(|| list.into_iter().map(|(g, _)| g).collect())
    }

    /// A base VirtualService path: relative to the plan, inside the repository.
    fn base(&mut self, v: &Node, field: &str) -> Option<String> {
        let s = self.string(v, field)?;
        let rel = Path::new(&s);
        if rel.is_absolute() || s.chars().any(char::is_control) {
            let d = self.error(
                field,
                v.span,
                format!("base `{}` must be a relative path", truncate(&s)),
            );
            Self::help(d, "write it relative to the plan file");
            return None;
        }
        match repo::normalize(&self.dir.join(rel)) {
            Some(p) if (p.starts_with(&self.root) || self.unconfined()) && p != self.root => {
                Some(repo::display_rel(&self.root, &p))
            }
            _ => {
                let d = self.error(
                    field,
                    v.span,
                    format!("base `{}` leaves the repository", truncate(&s)),
                );
                Self::help(
                    d,
                    "the base VirtualService must be a file inside the repository",
                );
                None
            }
        }
    }

    /// `environments`: environment name → the stage it runs (checked against the stages later).
    fn environments(&mut self, node: &Node, field: &str) -> Option<Vec<Environment>> {
        let Value::Map(entries) = &node.value else {
            let found = node.type_name();
            let d = self.error(
                field,
                node.span,
                format!("expected a mapping of environment to stage, found {found}"),
            );
            Self::help(d, "e.g. `environments: {staging: half, prod: weight-10}`");
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (k, v) in entries {
            let Some(env) = k.as_str() else {
                let found = k.type_name();
                self.error(
                    field,
                    k.span,
                    format!("environment names must be strings, found {found}"),
                );
                ok = false;
                continue;
            };
            let path = join(field, env);
            if !names::is_dns1123_label(env) {
                let d = self.error(
                    &path,
                    k.span,
                    format!(
                        "environment name `{}` is not a DNS-1123 label",
                        truncate(env)
                    ),
                );
                Self::help(d, LABEL_HELP);
                ok = false;
                continue;
            }
            match self.string(v, &path) {
                Some(stage) => out.push(Environment {
                    name: env.to_owned(),
                    stage,
                    span: v.span,
                    field: path,
                }),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }
}

/// Why host `h` cannot follow the valid hosts of `earlier` in a plan's `hosts`, with help:
/// a duplicate, or an overlap by Istio's host matching. Compared without regard to case,
/// which is stricter than Istio (it compares text) because DNS names are case-insensitive.
fn overlap(earlier: &[(String, Span)], h: &str) -> Option<(String, Option<&'static str>)> {
    let lower = h.to_ascii_lowercase();
    let valid = earlier.iter().filter(|(o, _)| names::plan_host(o).is_ok());
    valid.map(|(o, _)| o).find_map(|o| {
        if o.eq_ignore_ascii_case(h) {
            Some((format!("duplicate host `{}`", truncate(h)), None))
        } else if names::host_matches(&o.to_ascii_lowercase(), &lower) {
            let why = format!("host `{}` overlaps host `{}`", truncate(h), truncate(o));
            Some((
                why,
                Some("Istio refuses a VirtualService whose hosts overlap; keep the wider one"),
            ))
        } else {
            None
        }
    })
}
