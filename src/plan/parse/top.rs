//! The top level of a plan: `version`, `output`, `layout`, `apiVersion`, `istioVersion`,
//! `defaults` and the list of `migrations`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::fields::{Fields, MIGRATION_KEYS};
use super::{describe, lookup, Ctx};
use crate::plan::{Layout, Migration, Plan, API_VERSIONS};
use crate::repo;
use crate::yaml::{Node, Resolved, Span, Value};

/// The keys of a plan's top level.
pub(crate) const TOP_KEYS: &[&str] = &[
    "version",
    "output",
    "layout",
    "apiVersion",
    "istioVersion",
    "defaults",
    "migrations",
];

impl Ctx<'_> {
    /// The whole plan, or `None` when a required part is missing or invalid (reported).
    pub(super) fn plan(&mut self, node: &Node) -> Option<Plan> {
        let entries = self.mapping(node, "", TOP_KEYS)?;
        let get = |k: &str| lookup(&entries, k);
        self.version(node, get("version"));
        let output = self.output_field(node, get("output"));
        let layout = self.layout(get("layout"));
        self.layout = layout;
        let api_version = self.api_version(get("apiVersion"));
        let istio_version = self.istio_version(get("istioVersion"));
        let defaults = self.defaults(get("defaults"));
        let migrations = self.migrations(node, get("migrations"), &defaults);
        let id = repo::display_rel(&self.root, &self.path);
        Some(Plan {
            file: self.file.to_owned(),
            root: self.root.clone(),
            id,
            output: output?,
            layout: layout?,
            api_version: api_version?,
            migrations,
            istio_version: istio_version?,
            bases: Default::default(),
            warnings: Vec::new(),
        })
    }

    fn version(&mut self, node: &Node, v: Option<&Node>) {
        let Some(v) = v else {
            let d = self.error("version", node.span, "missing required field `version`");
            Self::help(d, "add `version: 1` at the top of the plan");
            return;
        };
        match v.resolve() {
            Some(Resolved::Int(1)) => {}
            Some(Resolved::Int(n)) => {
                let d = self.error(
                    "version",
                    v.span,
                    format!("unsupported plan format version {n}"),
                );
                Self::help(d, "this cutover reads version 1");
            }
            _ => {
                let found = v.type_name();
                let d = self.error(
                    "version",
                    v.span,
                    format!("expected an integer, found {found}"),
                );
                Self::help(d, "write `version: 1`");
            }
        }
    }

    fn output_field(&mut self, node: &Node, v: Option<&Node>) -> Option<PathBuf> {
        let Some(v) = v else {
            let d = self.error("output", node.span, "missing required field `output`");
            Self::help(
                d,
                "add the folder for generated files, relative to the plan, e.g. `output: deploy/cutover`",
            );
            return None;
        };
        self.output(v)
    }

    /// The output folder, resolved against the plan's folder and kept in the repository
    /// (lexically; the [`crate::plan::Loader`] checks symlinks on disk).
    fn output(&mut self, v: &Node) -> Option<PathBuf> {
        let s = self.string(v, "output")?;
        let rel = Path::new(&s);
        if s.chars().any(|c| c.is_control() || c == '"' || c == '\\') {
            let d = self.error(
                "output",
                v.span,
                "the output path contains control characters, `\"` or `\\`",
            );
            Self::help(d, "diffs name these paths; keep them to plain characters");
            return None;
        }
        if rel.is_absolute() && !self.unconfined() {
            let d = self.error(
                "output",
                v.span,
                format!("output `{s}` is an absolute path"),
            );
            Self::help(d, "write it relative to the plan file");
            return None;
        }
        let root = &self.root;
        let joined = repo::normalize(&self.dir.join(rel));
        match joined {
            Some(p)
                if p.starts_with(root)
                    && p.strip_prefix(root)
                        .is_ok_and(|r| r.components().any(|c| c.as_os_str() == ".git")) =>
            {
                self.error(
                    "output",
                    v.span,
                    format!("output `{s}` is inside the repository's .git folder"),
                );
                None
            }
            Some(p) if p.starts_with(root) || self.unconfined() => Some(p),
            _ => {
                let msg = format!("output `{s}` leaves the repository {}", root.display());
                let d = self.error("output", v.span, msg);
                Self::help(
                    d,
                    "generated files must stay inside the repository that holds the plan",
                );
                None
            }
        }
    }

    fn layout(&mut self, v: Option<&Node>) -> Option<Layout> {
        let Some(v) = v else {
            return Some(Layout::Kustomize);
        };
        match v.as_str() {
            Some("kustomize") => Some(Layout::Kustomize),
            Some("flat") => Some(Layout::Flat),
            _ => {
                let shown = describe(v);
                let d = self.error("layout", v.span, format!("unknown layout {shown}"));
                Self::help(d, "use `kustomize` or `flat`");
                None
            }
        }
    }

    fn api_version(&mut self, v: Option<&Node>) -> Option<String> {
        let Some(v) = v else {
            return Some(API_VERSIONS[0].to_owned());
        };
        match v.as_str() {
            Some(s) if API_VERSIONS.contains(&s) => Some(s.to_owned()),
            _ => {
                let shown = describe(v);
                let d = self.error(
                    "apiVersion",
                    v.span,
                    format!("unsupported VirtualService apiVersion {shown}"),
                );
                Self::help(d, format!("use one of {}", API_VERSIONS.join(", ")));
                None
            }
        }
    }

    fn istio_version(&mut self, v: Option<&Node>) -> Option<(u32, u32)> {
        let Some(v) = v else {
            return Some((1, 22));
        };
        let text = match v.resolve() {
            Some(Resolved::Str(s)) => Some(s.to_owned()),
            _ => None,
        };
        let parsed = text.as_deref().and_then(|t| {
            let mut parts = t.split('.');
            let major = parts.next()?.parse().ok()?;
            let minor = parts.next()?.parse().ok()?;
            match parts.next() {
                None => Some((major, minor)),
                Some(patch) => patch.parse::<u32>().ok().map(|_| (major, minor)),
            }
        });
        if parsed.is_none() {
            let d = self.error(
                "istioVersion",
                v.span,
                "expected an Istio version as a quoted string, e.g. \"1.22\"",
            );
            Self::help(
                d,
                "quote it: `istioVersion: \"1.22\"` (unquoted, 1.20 would read as the number 1.2)",
            );
        }
        parsed
    }

    fn defaults(&mut self, v: Option<&Node>) -> Fields {
        let Some(v) = v.filter(|v| !v.is_null()) else {
            return Fields::default();
        };
        let fields = self.fields(v, "defaults", MIGRATION_KEYS);
        if let Some((_, span)) = &fields.name {
            let d = self.error("defaults.name", *span, "`name` cannot have a default");
            Self::help(d, "every migration names itself");
        }
        fields
    }

    /// The valid migrations, in file order (invalid ones are reported and left out).
    fn migrations(&mut self, node: &Node, v: Option<&Node>, defaults: &Fields) -> Vec<Migration> {
        let Some(v) = v else {
            let d = self.error(
                "migrations",
                node.span,
                "missing required field `migrations`",
            );
            Self::help(d, "list the migrations under `migrations:`");
            return Vec::new();
        };
        let Value::Seq(items) = &v.value else {
            let found = v.type_name();
            self.error(
                "migrations",
                v.span,
                format!("expected a list, found {found}"),
            );
            return Vec::new();
        };
        if items.is_empty() {
            self.warn(
                "migrations",
                v.span,
                "the plan has no migrations; `render` will remove the files it generated earlier",
            );
        }
        let mut migrations = Vec::with_capacity(items.len());
        let mut seen: HashMap<String, usize> = HashMap::with_capacity(items.len());
        let mut jobs: HashMap<(String, String), usize> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            let field = format!("migrations[{i}]");
            let Some(m) = self.migration(item, &field, defaults) else {
                continue;
            };
            self.distinct_job(&mut jobs, i, item, &m);
            if let Some(first) = seen.get(&m.name) {
                let span = name_span(item).unwrap_or(item.span);
                let d = self.error(
                    &format!("{field}.name"),
                    span,
                    format!("duplicate migration name `{}`", m.name),
                );
                Self::help(
                    d,
                    format!("migrations[{first}] already uses it; each migration needs its own output folder"),
                );
            } else {
                seen.insert(m.name.clone(), i);
            }
            migrations.push(m);
        }
        migrations
    }
}

impl Ctx<'_> {
    /// Two migrations in one namespace may not give their verification Jobs one name
    /// (a `defaults.verify.name`, say): they would be one object. Stage Jobs named after
    /// their content (`everyStage` with `gitops: none`) differ anyway.
    fn distinct_job(
        &mut self,
        jobs: &mut HashMap<(String, String), usize>,
        i: usize,
        item: &Node,
        m: &Migration,
    ) {
        let Some(v) = m.verify.as_ref() else { return };
        if v.every_stage && v.gitops == crate::plan::GitOps::None {
            return;
        }
        let key = (m.namespace.clone(), v.name.clone());
        if let Some(first) = jobs.get(&key) {
            let d = self.error(
                &format!("migrations[{i}].verify.name"),
                name_span(item).unwrap_or(item.span),
                format!(
                    "the verification Job `{}` in namespace `{}` is also migrations[{first}]'s",
                    v.name, m.namespace
                ),
            );
            Self::help(d, "give each migration's `verify.name` a name of its own");
        } else {
            jobs.insert(key, i);
        }
    }
}

fn name_span(node: &Node) -> Option<Span> {
    let Value::Map(entries) = &node.value else {
        return None;
    };
    entries
        .iter()
        .find(|(k, _)| k.as_str() == Some("name"))
        .map(|(_, v)| v.span)
}
