//! Migration plans: reading, validating and resolving a plan file (format version 1).
//!
//! Validation never stops at the first problem: every error in the file is collected,
//! each with its field path (`migrations[0].stages[2].weight`) and source location.

pub mod discover;
pub mod edit;
pub mod names;
pub mod stage;
pub mod starter;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Diagnostic, Diagnostics, Error, Result, Severity, Snippet};
use crate::plan::stage::{Percent, Stage, StageKind};
use crate::repo;
use crate::yaml::{self, Node, Pos, Resolved, Span, Value};

/// The `--allow-outside-repo` switch: when set, `output` and `base` paths may leave the
/// repository (absolute paths, `..`, symlinks); everything else still applies.
pub static ALLOW_OUTSIDE_REPO: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

fn unconfined() -> bool {
    ALLOW_OUTSIDE_REPO.load(std::sync::atomic::Ordering::Relaxed)
}

/// Largest plan file cutover reads.
pub const MAX_PLAN_BYTES: usize = 8 * 1024 * 1024;

/// The `apiVersion`s a VirtualService may be rendered with.
pub const API_VERSIONS: [&str; 3] = [
    "networking.istio.io/v1",
    "networking.istio.io/v1beta1",
    "networking.istio.io/v1alpha3",
];

const TOP_KEYS: &[&str] = &[
    "version",
    "output",
    "layout",
    "apiVersion",
    "istioVersion",
    "defaults",
    "migrations",
];
const MIGRATION_KEYS: &[&str] = &[
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
    "gcpBackend",
    "verify",
];
const STAGE_KEYS: &[&str] = &["name", "weight", "mirror", "header", "hold", "note"];
const GCP_KEYS: &[&str] = &["name", "service", "region", "project"];
const VERIFY_KEYS: &[&str] = &["name", "scheme", "port", "path", "image", "everyStage"];

/// How generated files are laid out under the output folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `<migration>/stages/<NN>-<stage>/{virtualservice,kustomization}.yaml`.
    Kustomize,
    /// `<migration>/<NN>-<stage>.yaml`.
    Flat,
}

/// One ServiceEntry → GCPBackend migration.
#[derive(Clone, Debug, PartialEq)]
pub struct Migration {
    /// DNS-1123 label; names the output folder.
    pub name: String,
    /// Namespace of the VirtualService.
    pub namespace: String,
    /// `metadata.name` of the VirtualService.
    pub virtual_service: String,
    /// `spec.hosts`.
    pub hosts: Vec<String>,
    /// `spec.gateways` (omitted when empty).
    pub gateways: Vec<String>,
    /// The ServiceEntry host traffic leaves.
    pub from: String,
    /// The GCPBackend host traffic moves to.
    pub to: String,
    /// Stages in rollout order (at least one).
    pub stages: Vec<Stage>,
    /// Environments and the stage each one runs, sorted by environment name.
    pub environments: Vec<Environment>,
    /// The existing VirtualService to rewrite, as a path relative to the repository root.
    pub base: Option<String>,
    /// The GCPBackend resource to render beside the stages.
    pub gcp_backend: Option<GcpBackend>,
    /// The verification Job to render.
    pub verify: Option<Verify>,
    /// Where the migration's `name` is written, for messages about the migration as a whole.
    pub location: Option<Snippet>,
}

/// A GCPBackend (Cloud Service Mesh, Preview API) for the migration's Cloud Run service.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct GcpBackend {
    /// `metadata.name`; default: the migration name.
    pub name: String,
    /// The Cloud Run service name.
    pub service: String,
    /// Its region (exactly one).
    pub region: String,
    /// The project, when not the cluster's own.
    pub project: Option<String>,
}

/// A Kubernetes Job that calls the service from inside the mesh and fails unless the
/// answer is HTTP 200 (with no Authorization header: the mesh adds the token).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Verify {
    /// The Job's name; default `<migration>-verify`.
    pub name: String,
    /// `http` (default) or `https`.
    pub scheme: String,
    /// Port, when not the scheme's default.
    pub port: Option<u16>,
    /// Request path, starting with `/`; default `/`.
    pub path: String,
    /// Container image; default `curlimages/curl`.
    pub image: String,
    /// Include the Job in every stage overlay.
    pub every_stage: bool,
}

impl Verify {
    /// The URL the Job requests, for the migration's first host.
    pub fn url(&self, host: &str) -> String {
        match self.port {
            Some(p) => format!("{}://{host}:{p}{}", self.scheme, self.path),
            None => format!("{}://{host}{}", self.scheme, self.path),
        }
    }
}

/// An environment of a migration and the stage it runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Environment {
    /// The environment's name (a DNS-1123 label).
    pub name: String,
    /// The name of the stage it runs.
    pub stage: String,
    /// Where the stage name is written in the plan (what `promote` edits).
    pub span: Span,
    /// The field path of that value, e.g. `defaults.environments.prod`.
    pub field: String,
}

impl Migration {
    /// The position (0-based) of stage `name`.
    pub fn stage_index(&self, name: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.name == name)
    }

    /// The environment called `name`.
    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }
}

/// A validated plan, with its location in the repository resolved.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The plan file as the user named it (used in messages).
    pub file: String,
    /// The repository root (absolute).
    pub root: PathBuf,
    /// The plan's path relative to the root, `/`-separated: its identity in file headers.
    pub id: String,
    /// The output folder (absolute, normalised, inside `root`).
    pub output: PathBuf,
    /// File layout.
    pub layout: Layout,
    /// VirtualService `apiVersion`.
    pub api_version: String,
    /// The migrations, in file order.
    pub migrations: Vec<Migration>,
    /// The Istio version the output is for, as (major, minor); default 1.22.
    pub istio_version: (u32, u32),
    /// The contents of the base VirtualService files the migrations name, by their path
    /// relative to the root (read by [`Plan::load`], or from git for `diff --base`).
    pub bases: std::collections::BTreeMap<String, String>,
    /// Warnings found while validating.
    pub warnings: Vec<Diagnostic>,
}

impl Plan {
    /// Reads and validates the plan at `path`. `file` is how messages name it.
    pub fn load(path: &Path, file: &str) -> Result<Plan> {
        let invalid = |msg: String| {
            Error::Invalid(Diagnostics(vec![Diagnostic::new(
                Severity::Error,
                file,
                msg,
            )]))
        };
        let abs = std::path::absolute(path).map_err(|e| Error::Read {
            path: path.to_path_buf(),
            source: e,
        })?;
        let meta = std::fs::metadata(&abs).map_err(|e| Error::Read {
            path: path.to_path_buf(),
            source: e,
        })?;
        if !meta.is_file() {
            return Err(invalid("not a regular file".into()));
        }
        if meta.len() > MAX_PLAN_BYTES as u64 {
            return Err(invalid(format!(
                "the plan is {} bytes; plans larger than {MAX_PLAN_BYTES} bytes are refused",
                meta.len()
            )));
        }
        let bytes = std::fs::read(&abs).map_err(|e| Error::Read {
            path: path.to_path_buf(),
            source: e,
        })?;
        let dir = abs
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"));
        let dir = dir.canonicalize().map_err(|e| Error::Read {
            path: dir.clone(),
            source: e,
        })?;
        let root = repo::find_root(&dir);
        let name = abs.file_name().map(PathBuf::from).unwrap_or_default();
        let full = dir.join(name);
        // The plan's path is its identity in generated headers and the command users
        // copy from them: it must be text, on one line.
        match full.to_str() {
            Some(p) if !p.chars().any(char::is_control) => {}
            _ => {
                return Err(invalid(
                    "the plan's file path is not UTF-8 or holds control characters; rename it"
                        .into(),
                ))
            }
        }
        let mut plan = Plan::parse(file, &bytes, &full, &root)?;
        plan.check_output_on_disk()?;
        plan.read_bases(|rel| {
            let path = plan_root_join(&root, rel);
            let real = path.canonicalize().map_err(|e| e.to_string())?;
            if !real.starts_with(&root) && !unconfined() {
                return Err(format!(
                    "resolves to {}, outside the repository",
                    real.display()
                ));
            }
            let meta = std::fs::metadata(&real).map_err(|e| e.to_string())?;
            if meta.len() > MAX_PLAN_BYTES as u64 {
                return Err(format!("larger than {MAX_PLAN_BYTES} bytes"));
            }
            std::fs::read_to_string(&real).map_err(|e| e.to_string())
        })?;
        Ok(plan)
    }

    /// Validates plan `bytes` as if they were read from `path` (absolute) in repository `root`.
    /// Touches no file: the symlink check of the output folder is done by [`Plan::load`].
    pub fn parse(file: &str, bytes: &[u8], path: &Path, root: &Path) -> Result<Plan> {
        let mut cx = Ctx {
            file,
            source: "",
            lines: crate::error::LineIndex::new(""),
            diags: Vec::new(),
            dir: path.parent().unwrap_or(root).to_path_buf(),
            root: root.to_path_buf(),
        };
        let source = match decode(bytes) {
            Ok(s) => s,
            Err(d) => return Err(cx.fail_with(*d)),
        };
        cx.source = source;
        cx.lines = crate::error::LineIndex::new(source);
        let root_node = match yaml::parse(source) {
            Ok(Some(node)) => node,
            Ok(None) => {
                let d = Diagnostic::new(Severity::Error, file, "the plan file is empty")
                    .with_help("start from `cutover.yaml` in the README's worked example");
                return Err(cx.fail_with(d));
            }
            Err(e) => {
                let mut d = Diagnostic::new(Severity::Error, file, e.message).with_field(e.path);
                if let Some(span) = e.span {
                    d = d.with_span(source, clamp_to_text(source, span));
                }
                return Err(cx.fail_with(d));
            }
        };
        let dir = path.parent().unwrap_or(root);
        let plan = cx.plan(&root_node, dir, root, path);
        if cx.diags.iter().any(Diagnostic::is_error) {
            // Errors in file order; warnings are noise next to errors.
            let mut errors: Vec<Diagnostic> =
                cx.diags.into_iter().filter(Diagnostic::is_error).collect();
            errors.sort_by_key(|d| d.snippet.as_ref().map(|s| (s.line, s.col)));
            // A bad value in `defaults` is found once per migration that inherits it.
            errors.dedup();
            return Err(Error::Invalid(Diagnostics(errors)));
        }
        let mut plan = plan.expect("a plan without errors is complete");
        plan.warnings = cx.diags;
        Ok(plan)
    }

    /// Reads every base VirtualService file the migrations name with `read` (path
    /// relative to the root → contents, or why it cannot be read).
    pub fn read_bases(
        &mut self,
        mut read: impl FnMut(&str) -> std::result::Result<String, String>,
    ) -> Result<()> {
        let mut diags = Vec::new();
        let wanted: std::collections::BTreeSet<String> = self
            .migrations
            .iter()
            .filter_map(|m| m.base.clone())
            .collect();
        for rel in wanted {
            match read(&rel) {
                Ok(text) => {
                    self.bases.insert(rel, text);
                }
                Err(why) => {
                    let users: Vec<usize> = self
                        .migrations
                        .iter()
                        .enumerate()
                        .filter(|(_, m)| m.base.as_deref() == Some(rel.as_str()))
                        .map(|(i, _)| i)
                        .collect();
                    diags.push(
                        Diagnostic::new(
                            Severity::Error,
                            &self.file,
                            format!("cannot read the base VirtualService {rel}: {why}"),
                        )
                        .with_field(format!("migrations[{}].base", users[0])),
                    );
                }
            }
        }
        if diags.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(Diagnostics(diags)))
        }
    }

    /// Refuses an output folder that exists, or has an existing ancestor, which resolves
    /// (through symlinks) outside the repository.
    fn check_output_on_disk(&mut self) -> Result<()> {
        let invalid = |msg: String| {
            Error::Invalid(Diagnostics(vec![Diagnostic::new(
                Severity::Error,
                &self.file,
                msg,
            )
            .with_field("output")]))
        };
        let real = repo::canonical_existing_prefix(&self.output).map_err(|e| Error::Read {
            path: self.output.clone(),
            source: e,
        })?;
        if unconfined() {
            self.output = real;
            return Ok(());
        }
        if !real.starts_with(&self.root) {
            return Err(invalid(format!(
                "output folder {} resolves through a symlink to {}, outside the repository {}",
                self.output.display(),
                real.display(),
                self.root.display()
            )));
        }
        // Another repository nested inside this one is not this plan's to write.
        let mut dir = real.as_path();
        while dir != self.root {
            if dir.join(".git").exists() {
                return Err(invalid(format!(
                    "output folder {} is inside another git repository ({}); put the plan in that repository",
                    self.output.display(),
                    dir.display()
                )));
            }
            match dir.parent() {
                Some(p) => dir = p,
                None => break,
            }
        }
        // Work on the real folder: two plans reaching one folder through different
        // symlinks are then seen to collide.
        self.output = real;
        Ok(())
    }
}

fn plan_root_join(root: &Path, rel: &str) -> PathBuf {
    root.join(rel)
}

/// Checks encoding: strips a UTF-8 byte order mark and refuses other bytes than UTF-8.
fn decode(bytes: &[u8]) -> std::result::Result<&str, Box<Diagnostic>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
            let col = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
            let line_end = bytes[line_start..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(bytes.len(), |p| line_start + p);
            let text = String::from_utf8_lossy(&bytes[line_start..line_end]).into_owned();
            let pos = Pos {
                line: 1,
                col,
                index: 0,
            };
            let snippet = crate::error::snippet(
                &text,
                Span {
                    start: pos,
                    end: pos,
                },
            )
            .map(|mut s| {
                s.line = line;
                s
            });
            Err(Box::new(Diagnostic {
                snippet,
                ..Diagnostic::new(
                Severity::Error,
                "",
                format!(
                    "the file is not UTF-8 text: invalid byte 0x{:02X} at line {line}, column {col}",
                    bytes[e.valid_up_to()]
                ),
            )
            .with_help("save the plan as UTF-8")
            }))
        }
    }
}

/// Moves a span that points past the end of the text (errors at end of input) to the
/// end of the last non-blank line, so the snippet shows something.
fn clamp_to_text(source: &str, span: Span) -> Span {
    let lines: Vec<&str> = source.lines().collect();
    if span.start.line == 0 {
        return span;
    }
    if span.start.line <= lines.len() && !lines[span.start.line - 1].trim().is_empty() {
        return span;
    }
    match lines.iter().rposition(|l| !l.trim().is_empty()) {
        Some(i) if i < span.start.line => {
            let col = lines[i].chars().count() + 1;
            let pos = Pos {
                line: i + 1,
                col,
                index: 0,
            };
            Span {
                start: pos,
                end: pos,
            }
        }
        _ => span,
    }
}

/// A migration's fields as written in one mapping (`defaults` or one migration).
#[derive(Clone, Default)]
struct Fields {
    /// Keys present, valid or not (so a bad value is not also reported as missing).
    present: Vec<&'static str>,
    name: Option<(String, Span)>,
    namespace: Option<(String, Span)>,
    virtual_service: Option<(String, Span)>,
    hosts: Option<Vec<String>>,
    gateways: Option<Vec<String>>,
    from: Option<(String, Span)>,
    to: Option<(String, Span)>,
    /// The stages with the field path and span of the list they came from.
    stages: Option<(Vec<Stage>, String, Span)>,
    /// Environments, as written (stage names checked once the stages are known).
    environments: Option<Vec<Environment>>,
    /// The base VirtualService path, relative to the root.
    base: Option<String>,
    /// `gcpBackend`, with `name` possibly left to default.
    gcp_backend: Option<(Option<String>, GcpBackend)>,
    /// `verify`, with `name` possibly left to default.
    verify: Option<(Option<String>, Verify)>,
}

impl Fields {
    fn has(&self, key: &str) -> bool {
        self.present.contains(&key)
    }

    /// Fills every field this mapping did not set from `defaults`.
    fn inherit(mut self, defaults: &Fields) -> Fields {
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
        take!(gcp_backend, "gcpBackend");
        take!(verify, "verify");
        self
    }
}

struct Ctx<'a> {
    file: &'a str,
    source: &'a str,
    /// Line starts of `source`, for the snippet kept with every migration.
    lines: crate::error::LineIndex,
    diags: Vec<Diagnostic>,
    /// The plan's folder and the repository root, for paths in the plan.
    dir: PathBuf,
    root: PathBuf,
}

impl<'a> Ctx<'a> {
    fn fail_with(&mut self, mut d: Diagnostic) -> Error {
        d.file = self.file.to_owned();
        self.diags.push(d);
        Error::Invalid(Diagnostics(std::mem::take(&mut self.diags)))
    }

    fn report(
        &mut self,
        severity: Severity,
        field: &str,
        span: Span,
        msg: String,
    ) -> &mut Diagnostic {
        let d = Diagnostic::new(severity, self.file, msg)
            .with_field(field)
            .with_span(self.source, span);
        self.diags.push(d);
        self.diags.last_mut().expect("just pushed")
    }

    fn error(&mut self, field: &str, span: Span, msg: impl Into<String>) -> &mut Diagnostic {
        self.report(Severity::Error, field, span, msg.into())
    }

    fn warn(&mut self, field: &str, span: Span, msg: impl Into<String>) -> &mut Diagnostic {
        self.report(Severity::Warning, field, span, msg.into())
    }

    fn help(d: &mut Diagnostic, help: impl Into<String>) {
        d.help = Some(help.into());
    }

    /// The entries of a mapping with known keys; reports unknown keys with a suggestion.
    fn mapping<'n>(
        &mut self,
        node: &'n Node,
        field: &str,
        known: &[&'static str],
    ) -> Option<Vec<(&'static str, &'n Node)>> {
        let Value::Map(entries) = &node.value else {
            let found = node.type_name();
            self.error(
                field,
                node.span,
                format!("expected a mapping, found {found}"),
            );
            return None;
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let Some(key) = k.as_str() else {
                let found = k.type_name();
                self.error(
                    field,
                    k.span,
                    format!("keys must be strings, found {found}"),
                );
                continue;
            };
            match known.iter().find(|n| **n == key) {
                Some(name) => out.push((*name, v)),
                None => {
                    let path = join(field, key);
                    let shown = truncate(key);
                    let d = self.error(&path, k.span, format!("unknown field `{shown}`"));
                    match names::suggest(key, known) {
                        Some(s) => Self::help(d, format!("did you mean `{s}`?")),
                        None => Self::help(d, format!("known fields here: {}", known.join(", "))),
                    }
                }
            }
        }
        Some(out)
    }

    fn string(&mut self, node: &Node, field: &str) -> Option<String> {
        match node.resolve() {
            Some(Resolved::Str(s)) => {
                if s.is_empty() {
                    self.error(field, node.span, "must not be empty");
                    None
                } else {
                    Some(s.to_owned())
                }
            }
            Some(r) => {
                let found = r.type_name();
                let d = self.error(
                    field,
                    node.span,
                    format!("expected a string, found {found}"),
                );
                if !matches!(r, Resolved::Null) {
                    Self::help(d, "quote the value to make it a string");
                }
                None
            }
            None => {
                let found = node.type_name();
                self.error(
                    field,
                    node.span,
                    format!("expected a string, found {found}"),
                );
                None
            }
        }
    }

    fn string_list(&mut self, node: &Node, field: &str) -> Option<Vec<(String, Span)>> {
        let Value::Seq(items) = &node.value else {
            let found = node.type_name();
            let d = self.error(field, node.span, format!("expected a list, found {found}"));
            Self::help(d, "write a list, e.g. `[a.example.com]`");
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.string(item, &format!("{field}[{i}]")) {
                Some(s) => out.push((s, item.span)),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn plan(&mut self, node: &Node, dir: &Path, root: &Path, path: &Path) -> Option<Plan> {
        let entries = self.mapping(node, "", TOP_KEYS)?;
        let get = |k: &str| entries.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);

        match get("version") {
            None => {
                let d = self.error("version", node.span, "missing required field `version`");
                Self::help(d, "add `version: 1` at the top of the plan");
            }
            Some(v) => match v.resolve() {
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
            },
        }

        let output = match get("output") {
            None => {
                let d = self.error("output", node.span, "missing required field `output`");
                Self::help(
                    d,
                    "add the folder for generated files, relative to the plan, e.g. `output: deploy/cutover`",
                );
                None
            }
            Some(v) => self.output(v, dir, root),
        };

        let layout = match get("layout") {
            None => Some(Layout::Kustomize),
            Some(v) => match v.as_str() {
                Some("kustomize") => Some(Layout::Kustomize),
                Some("flat") => Some(Layout::Flat),
                _ => {
                    let shown = describe(v);
                    let d = self.error("layout", v.span, format!("unknown layout {shown}"));
                    Self::help(d, "use `kustomize` or `flat`");
                    None
                }
            },
        };

        let api_version = match get("apiVersion") {
            None => Some(API_VERSIONS[0].to_owned()),
            Some(v) => match v.as_str() {
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
            },
        };

        let istio_version = match get("istioVersion") {
            None => Some((1, 22)),
            Some(v) => {
                let text = match v.resolve() {
                    Some(Resolved::Str(s)) => Some(s.to_owned()),
                    Some(Resolved::Float(_)) => None,
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
                    Self::help(d, "quote it: `istioVersion: \"1.22\"` (unquoted, 1.20 would read as the number 1.2)");
                }
                parsed
            }
        };

        let defaults = match get("defaults") {
            None => Fields::default(),
            Some(v) if v.is_null() => Fields::default(),
            Some(v) => {
                let fields = self.fields(v, "defaults", MIGRATION_KEYS);
                if let Some((_, span)) = &fields.name {
                    let d = self.error("defaults.name", *span, "`name` cannot have a default");
                    Self::help(d, "every migration names itself");
                }
                fields
            }
        };

        let mut migrations = Vec::new();
        match get("migrations") {
            None => {
                let d = self.error(
                    "migrations",
                    node.span,
                    "missing required field `migrations`",
                );
                Self::help(d, "list the migrations under `migrations:`");
            }
            Some(v) => match &v.value {
                Value::Seq(items) => {
                    if items.is_empty() {
                        self.warn(
                            "migrations",
                            v.span,
                            "the plan has no migrations; `render` will remove the files it generated earlier",
                        );
                    }
                    migrations.reserve_exact(items.len());
                    let mut seen: HashMap<String, usize> = HashMap::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        let field = format!("migrations[{i}]");
                        let m = self.migration(item, &field, &defaults);
                        if let Some(m) = m {
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
                    }
                }
                _ => {
                    let found = v.type_name();
                    self.error(
                        "migrations",
                        v.span,
                        format!("expected a list, found {found}"),
                    );
                }
            },
        }

        let id = repo::display_rel(root, path);
        Some(Plan {
            file: self.file.to_owned(),
            root: root.to_path_buf(),
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

    fn output(&mut self, v: &Node, dir: &Path, root: &Path) -> Option<PathBuf> {
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
        if rel.is_absolute() && !unconfined() {
            let d = self.error(
                "output",
                v.span,
                format!("output `{s}` is an absolute path"),
            );
            Self::help(d, "write it relative to the plan file");
            return None;
        }
        let joined = repo::normalize(&dir.join(rel));
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
            Some(p) if p.starts_with(root) || unconfined() => Some(p),
            _ => {
                let d = self.error(
                    "output",
                    v.span,
                    format!("output `{s}` leaves the repository {}", root.display()),
                );
                Self::help(
                    d,
                    "generated files must stay inside the repository that holds the plan",
                );
                None
            }
        }
    }

    /// Reads one mapping of migration fields, reporting bad values.
    fn fields(&mut self, node: &Node, field: &str, known: &[&'static str]) -> Fields {
        let mut f = Fields::default();
        let Some(entries) = self.mapping(node, field, known) else {
            return f;
        };
        for (key, v) in entries {
            f.present.push(key);
            let path = join(field, key);
            match key {
                "name" => {
                    if let Some(s) = self.string(v, &path) {
                        if names::is_dns1123_label(&s) {
                            f.name = Some((s, v.span));
                        } else {
                            let d = self.error(
                                &path,
                                v.span,
                                format!(
                                    "migration name `{}` is not a DNS-1123 label",
                                    truncate(&s)
                                ),
                            );
                            Self::help(d, LABEL_HELP);
                        }
                    }
                }
                "namespace" => {
                    if let Some(s) = self.string(v, &path) {
                        if names::is_dns1123_label(&s) {
                            f.namespace = Some((s, v.span));
                        } else {
                            let d = self.error(
                                &path,
                                v.span,
                                format!("namespace `{}` is not a DNS-1123 label", truncate(&s)),
                            );
                            Self::help(d, LABEL_HELP);
                        }
                    }
                }
                "virtualService" => {
                    if let Some(s) = self.string(v, &path) {
                        if names::is_dns1123_subdomain(&s) {
                            f.virtual_service = Some((s, v.span));
                        } else {
                            let d = self.error(
                                &path,
                                v.span,
                                format!(
                                    "VirtualService name `{}` is not a DNS-1123 subdomain",
                                    truncate(&s)
                                ),
                            );
                            Self::help(
                                d,
                                "use lowercase letters, digits, `-` and `.`, at most 253 characters",
                            );
                        }
                    }
                }
                "from" | "to" => {
                    if let Some(s) = self.string(v, &path) {
                        if names::is_host(&s) {
                            let slot = if key == "from" {
                                &mut f.from
                            } else {
                                &mut f.to
                            };
                            *slot = Some((s, v.span));
                        } else {
                            let d = self.error(
                                &path,
                                v.span,
                                format!("`{}` is not a valid host name", truncate(&s)),
                            );
                            Self::help(d, HOST_HELP);
                        }
                    }
                }
                "hosts" => {
                    if let Some(list) = self.string_list(v, &path) {
                        let mut ok = true;
                        if list.is_empty() {
                            let d = self.error(&path, v.span, "`hosts` must not be empty");
                            Self::help(d, "leave `hosts` out to use `[from]`");
                            ok = false;
                        }
                        for (i, (h, span)) in list.iter().enumerate() {
                            let p = format!("{path}[{i}]");
                            if !names::is_wildcard_host(h) {
                                let d = self.error(
                                    &p,
                                    *span,
                                    format!("`{}` is not a valid host name", truncate(h)),
                                );
                                Self::help(
                                    d,
                                    format!("{HOST_HELP}; a leading `*.` wildcard is allowed"),
                                );
                                ok = false;
                            } else if list[..i].iter().any(|(o, _)| o.eq_ignore_ascii_case(h)) {
                                self.error(&p, *span, format!("duplicate host `{h}`"));
                                ok = false;
                            }
                        }
                        if ok {
                            f.hosts = Some(list.into_iter().map(|(h, _)| h).collect());
                        }
                    }
                }
                "gateways" => {
                    if let Some(list) = self.string_list(v, &path) {
                        let mut ok = true;
                        for (i, (g, span)) in list.iter().enumerate() {
                            let p = format!("{path}[{i}]");
                            if !names::is_gateway(g) {
                                let d = self.error(
                                    &p,
                                    *span,
                                    format!("`{}` is not a gateway reference", truncate(g)),
                                );
                                Self::help(d, "use `mesh`, `<name>` or `<namespace>/<name>`");
                                ok = false;
                            } else if list[..i].iter().any(|(o, _)| o == g) {
                                self.error(&p, *span, format!("duplicate gateway `{g}`"));
                                ok = false;
                            }
                        }
                        if ok {
                            f.gateways = Some(list.into_iter().map(|(g, _)| g).collect());
                        }
                    }
                }
                "stages" => {
                    if let Some(stages) = self.stages(v, &path) {
                        f.stages = Some((stages, path.clone(), v.span));
                    }
                }
                "environments" => f.environments = self.environments(v, &path),
                "base" => f.base = self.base(v, &path),
                "gcpBackend" => f.gcp_backend = self.gcp_backend(v, &path),
                "verify" => f.verify = self.verify(v, &path),
                _ => unreachable!("mapping() only returns known keys"),
            }
        }
        f
    }

    fn migration(&mut self, node: &Node, field: &str, defaults: &Fields) -> Option<Migration> {
        let own = self.fields(node, field, MIGRATION_KEYS);
        if !matches!(node.value, Value::Map(_)) {
            return None;
        }
        let f = own.inherit(defaults);
        let mut complete = true;
        let missing: Vec<&str> = ["name", "namespace", "from", "to", "stages"]
            .into_iter()
            .filter(|k| !f.has(k))
            .collect();
        if !missing.is_empty() {
            let list = missing
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let what = if missing.len() == 1 {
                "field"
            } else {
                "fields"
            };
            let d = self.error(field, node.span, format!("missing required {what} {list}"));
            if missing != ["name"] {
                Self::help(
                    d,
                    "set them in the migration, or in `defaults` (all but `name`)",
                );
            }
            complete = false;
        }
        if let (Some((from, _)), Some((to, span))) = (&f.from, &f.to) {
            if from.eq_ignore_ascii_case(to) {
                let d = self.error(
                    &join(field, "to"),
                    *span,
                    format!("`to` is the same host as `from` ({from})"),
                );
                Self::help(
                    d,
                    "`from` is the ServiceEntry host, `to` the GCPBackend host",
                );
                complete = false;
            }
        }
        let (stages, stages_field, stages_span) = f.stages.clone()?;
        if let Some(last) = stages.last() {
            if last.to_weight() < 100 {
                let d = self.warn(
                    &stages_field,
                    stages_span,
                    format!(
                        "the last stage of migration {} sends {}% to `to`; the migration never completes",
                        f.name.as_ref().map_or(field, |(n, _)| n.as_str()),
                        last.to_weight()
                    ),
                );
                Self::help(d, "end the rollout with `weight: 100`");
            }
        }
        if f.base.is_some() {
            if let Some(s) = stages.iter().find(|s| s.header.is_some()) {
                let d = self.error(
                    &stages_field,
                    stages_span,
                    format!(
                        "stage `{}` is a header canary, which is not supported with `base` yet",
                        s.name
                    ),
                );
                Self::help(d, "drop the header stage, or the `base`");
                complete = false;
            }
        }
        let mut environments = f.environments.clone().unwrap_or_default();
        for env in &environments {
            if !stages.iter().any(|s| s.name == env.stage) {
                let names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
                let migration = f.name.as_ref().map_or(field, |(n, _)| n.as_str());
                let d = self.error(
                    &env.field,
                    env.span,
                    format!(
                        "environment `{}` runs stage `{}`, which migration {migration} does not have",
                        env.name, env.stage
                    ),
                );
                Self::help(d, format!("its stages are: {}", names.join(", ")));
                complete = false;
            }
        }
        environments.sort_by(|a, b| a.name.cmp(&b.name));
        if !complete {
            return None;
        }
        let (name, name_at) = f.name?;
        let gcp_backend = f.gcp_backend.clone().map(|(n, mut g)| {
            g.name = n.unwrap_or_else(|| name.clone());
            g
        });
        let verify = f.verify.clone().map(|(n, mut v)| {
            v.name = n.unwrap_or_else(|| format!("{name}-verify"));
            v
        });
        if let Some(v) = &verify {
            if v.name.len() > 63 {
                self.error(
                    &join(field, "verify"),
                    name_at,
                    format!(
                        "the Job name `{}` is longer than 63 characters; set `verify.name`",
                        v.name
                    ),
                );
                return None;
            }
        }
        let location = self.lines.snippet(self.source, name_at);
        let (from, _) = f.from?;
        let (to, _) = f.to?;
        let (namespace, _) = f.namespace?;
        Some(Migration {
            virtual_service: f.virtual_service.map_or_else(|| name.clone(), |(v, _)| v),
            hosts: f.hosts.unwrap_or_else(|| vec![from.clone()]),
            gateways: f.gateways.unwrap_or_default(),
            name,
            namespace,
            from,
            to,
            stages,
            environments,
            base: f.base.clone(),
            gcp_backend,
            verify,
            location,
        })
    }

    fn gcp_backend(&mut self, v: &Node, field: &str) -> Option<(Option<String>, GcpBackend)> {
        let entries = self.mapping(v, field, GCP_KEYS)?;
        let get = |k: &str| entries.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        let mut ok = true;
        let mut name = None;
        if let Some(n) = get("name") {
            let path = join(field, "name");
            match self.string(n, &path) {
                Some(s) if names::is_dns1123_subdomain(&s) => name = Some(s),
                Some(s) => {
                    let d = self.error(
                        &path,
                        n.span,
                        format!("`{}` is not a DNS-1123 subdomain", truncate(&s)),
                    );
                    Self::help(d, "use lowercase letters, digits, `-` and `.`");
                    ok = false;
                }
                None => ok = false,
            }
        }
        let service = match get("service") {
            None => {
                self.error(
                    field,
                    v.span,
                    "missing required field `service` (the Cloud Run service name)",
                );
                ok = false;
                None
            }
            Some(n) => {
                let path = join(field, "service");
                let s = self.string(n, &path);
                match s {
                    Some(s) if is_cloud_run_service(&s) => Some(s),
                    Some(s) => {
                        let d = self.error(
                            &path,
                            n.span,
                            format!("`{}` is not a Cloud Run service name", truncate(&s)),
                        );
                        Self::help(d, "1 to 49 lowercase letters, digits and `-`, starting with a letter and not ending with `-`");
                        ok = false;
                        None
                    }
                    None => {
                        ok = false;
                        None
                    }
                }
            }
        };
        let region = match get("region") {
            None => {
                let d = self.error(field, v.span, "missing required field `region`");
                Self::help(
                    d,
                    "the Cloud Run service's region, e.g. `region: europe-west1` (exactly one)",
                );
                ok = false;
                None
            }
            Some(n) if matches!(n.value, Value::Seq(_)) => {
                let d = self.error(
                    &join(field, "region"),
                    n.span,
                    "a GCPBackend takes exactly one region",
                );
                Self::help(d, "write a single region: `region: europe-west1`");
                ok = false;
                None
            }
            Some(n) => {
                let path = join(field, "region");
                match self.string(n, &path) {
                    Some(s) if is_region(&s) => Some(s),
                    Some(s) => {
                        let d = self.error(
                            &path,
                            n.span,
                            format!("`{}` is not a Google Cloud region", truncate(&s)),
                        );
                        Self::help(d, "e.g. `europe-west1`, `us-central1`");
                        ok = false;
                        None
                    }
                    None => {
                        ok = false;
                        None
                    }
                }
            }
        };
        let mut project = None;
        if let Some(n) = get("project") {
            let path = join(field, "project");
            match self.string(n, &path) {
                Some(s) if is_project(&s) => project = Some(s),
                Some(s) => {
                    let d = self.error(
                        &path,
                        n.span,
                        format!("`{}` is not a Google Cloud project ID", truncate(&s)),
                    );
                    Self::help(
                        d,
                        "6 to 30 lowercase letters, digits and `-`, starting with a letter",
                    );
                    ok = false;
                }
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        Some((
            name,
            GcpBackend {
                name: String::new(),
                service: service?,
                region: region?,
                project,
            },
        ))
    }

    fn verify(&mut self, v: &Node, field: &str) -> Option<(Option<String>, Verify)> {
        let entries = self.mapping(v, field, VERIFY_KEYS)?;
        let get = |k: &str| entries.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        let mut ok = true;
        let mut out = Verify {
            name: String::new(),
            scheme: "http".to_owned(),
            port: None,
            path: "/".to_owned(),
            image: "curlimages/curl".to_owned(),
            every_stage: false,
        };
        let mut name = None;
        if let Some(n) = get("name") {
            let path = join(field, "name");
            match self.string(n, &path) {
                Some(s) if names::is_dns1123_label(&s) => name = Some(s),
                Some(s) => {
                    let d = self.error(
                        &path,
                        n.span,
                        format!("`{}` is not a DNS-1123 label", truncate(&s)),
                    );
                    Self::help(d, LABEL_HELP);
                    ok = false;
                }
                None => ok = false,
            }
        }
        if let Some(n) = get("scheme") {
            let path = join(field, "scheme");
            match self.string(n, &path).as_deref() {
                Some(s @ ("http" | "https")) => out.scheme = s.to_owned(),
                Some(s) => {
                    let d = self.error(&path, n.span, format!("unknown scheme `{}`", truncate(s)));
                    Self::help(d, "use `http` or `https`");
                    ok = false;
                }
                None => ok = false,
            }
        }
        if let Some(n) = get("port") {
            match n.resolve() {
                Some(Resolved::Int(p)) if (1..=65535).contains(&p) => out.port = Some(p as u16),
                Some(Resolved::Int(p)) => {
                    self.error(
                        &join(field, "port"),
                        n.span,
                        format!("port {p} is outside 1..65535"),
                    );
                    ok = false;
                }
                _ => {
                    let found = n.type_name();
                    self.error(
                        &join(field, "port"),
                        n.span,
                        format!("expected a port from 1 to 65535, found {found}"),
                    );
                    ok = false;
                }
            }
        }
        if let Some(n) = get("path") {
            let path = join(field, "path");
            match self.string(n, &path) {
                Some(s)
                    if s.starts_with('/')
                        && !s.chars().any(|c| c.is_whitespace() || c.is_control()) =>
                {
                    out.path = s
                }
                Some(s) => {
                    let d = self.error(
                        &path,
                        n.span,
                        format!(
                            "request path `{}` must start with `/` and hold no spaces",
                            truncate(&s)
                        ),
                    );
                    Self::help(d, "e.g. `/healthz`; percent-encode anything else");
                    ok = false;
                }
                None => ok = false,
            }
        }
        if let Some(n) = get("image") {
            let path = join(field, "image");
            match self.string(n, &path) {
                Some(s) if !s.chars().any(|c| c.is_whitespace() || c.is_control()) => out.image = s,
                Some(_) => {
                    self.error(&path, n.span, "an image reference holds no spaces");
                    ok = false;
                }
                None => ok = false,
            }
        }
        if let Some(n) = get("everyStage") {
            match n.resolve() {
                Some(Resolved::Bool(b)) => out.every_stage = b,
                _ => {
                    let found = n.type_name();
                    self.error(
                        &join(field, "everyStage"),
                        n.span,
                        format!("expected true or false, found {found}"),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some((name, out))
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
            Some(p) if (p.starts_with(&self.root) || unconfined()) && p != self.root => {
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

    fn stages(&mut self, node: &Node, field: &str) -> Option<Vec<Stage>> {
        let Value::Seq(items) = &node.value else {
            let found = node.type_name();
            let d = self.error(
                field,
                node.span,
                format!("expected a list of stages, found {found}"),
            );
            Self::help(
                d,
                "e.g. `stages: [{mirror: 100}, {weight: 10}, {weight: 100}]`",
            );
            return None;
        };
        if items.is_empty() {
            let d = self.error(field, node.span, "a migration needs at least one stage");
            Self::help(d, "e.g. `stages: [{weight: 10}, {weight: 100}]`");
            return None;
        }
        let mut stages: Vec<Stage> = Vec::new();
        let mut ok = true;
        // (to-weight, index) of the previous valid stage
        let mut prev: Option<(u8, usize)> = None;
        for (i, item) in items.iter().enumerate() {
            let path = format!("{field}[{i}]");
            match self.stage(item, &path) {
                Some((stage, name_span, value_span)) => {
                    if let Some((w, j)) = prev {
                        if stage.to_weight() < w {
                            let what = match stage.kind {
                                StageKind::Mirror(_) => format!(
                                    "a mirror stage sends 0% to `to`, but {field}[{j}] already sends {w}%"
                                ),
                                StageKind::Weight(now) => format!(
                                    "weights must not decrease: {now}% after {w}% in {field}[{j}]"
                                ),
                            };
                            let key = if stage.mirror().is_some() {
                                "mirror"
                            } else {
                                "weight"
                            };
                            let d = self.error(&join(&path, key), value_span, what);
                            Self::help(d, "list stages in rollout order; `cutover` moves traffic forward only");
                            ok = false;
                        }
                    }
                    if let Some(j) = stages.iter().position(|s| s.name == stage.name) {
                        let d = self.error(
                            &join(&path, "name"),
                            name_span,
                            format!("duplicate stage name `{}`", stage.name),
                        );
                        Self::help(
                            d,
                            format!(
                                "{field}[{j}] has the same name; give one of them its own `name:`"
                            ),
                        );
                        ok = false;
                    }
                    prev = Some((stage.to_weight(), i));
                    stages.push(stage);
                }
                None => ok = false,
            }
        }
        ok.then_some(stages)
    }

    /// One stage, with the span of its name (or the whole stage) and of its value.
    fn stage(&mut self, node: &Node, field: &str) -> Option<(Stage, Span, Span)> {
        let errors_before = self.diags.len();
        let entries = match &node.value {
            Value::Map(_) => self.mapping(node, field, STAGE_KEYS)?,
            _ => {
                let found = node.type_name();
                let d = self.error(
                    field,
                    node.span,
                    format!("expected a stage mapping, found {found}"),
                );
                Self::help(d, "write `{weight: 10}` or `{mirror: 100}`");
                return None;
            }
        };
        let get = |k: &str| entries.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        let weight = get("weight");
        let mirror = get("mirror");
        let header = match get("header") {
            None => None,
            Some(h) => Some((self.header(h, &join(field, "header"))?, h.span)),
        };
        if let (Some(_), Some(m)) = (&header, mirror) {
            let d = self.error(field, m.span, "a header canary stage cannot also mirror");
            Self::help(
                d,
                "use `{header: ..., weight: 10}` or a separate mirror stage",
            );
            return None;
        }
        let (kind, value_span) = match (weight, mirror) {
            (None, None) if header.is_some() => (
                StageKind::Weight(0),
                header.as_ref().map(|h| h.1).unwrap_or(node.span),
            ),
            (Some(_), Some(m)) => {
                let d = self.error(
                    field,
                    m.span,
                    "a stage sets either `weight` or `mirror`, not both",
                );
                Self::help(d, "mirror first in its own stage, then shift weight");
                return None;
            }
            (None, None) if self.diags.len() > errors_before => {
                // An unknown key (a misspelt `weight`, say) was reported already.
                return None;
            }
            (None, None) => {
                let d = self.error(field, node.span, "a stage needs `weight` or `mirror`");
                Self::help(d, "e.g. `{weight: 10}` or `{mirror: 100}`");
                return None;
            }
            (Some(w), None) => (self.weight(w, &join(field, "weight"))?, w.span),
            (None, Some(m)) => (self.mirror(m, &join(field, "mirror"))?, m.span),
        };
        let mut stage = Stage::unnamed(kind);
        if let Some(((name, value), _)) = header {
            stage.name = match kind {
                StageKind::Weight(0) => format!("header-{name}"),
                StageKind::Weight(w) => format!("header-{name}-{w}"),
                StageKind::Mirror(_) => unreachable!("refused above"),
            };
            if stage.name.len() > 50 {
                stage.name = match kind {
                    StageKind::Weight(w) if w > 0 => format!("header-{w}"),
                    _ => "header".to_owned(),
                };
            }
            stage.header = Some((name, value));
        }
        if let Some(h) = get("hold") {
            let path = join(field, "hold");
            if let Some(Resolved::Int(n)) = h.resolve() {
                let d = self.error(&path, h.span, format!("hold {n} has no unit"));
                Self::help(
                    d,
                    format!("write a number and a unit, e.g. `{n}s`, `24h` or `2d`"),
                );
                return None;
            }
            let text = self.string(h, &path)?;
            match crate::plan::stage::parse_duration(&text) {
                Some(secs) => stage.hold = Some(secs),
                None => {
                    let d = self.error(
                        &path,
                        h.span,
                        format!("hold `{}` is not a duration", truncate(&text)),
                    );
                    Self::help(
                        d,
                        "write a number and a unit: `90s`, `30m`, `24h`, `2d` or `1h30m`",
                    );
                    return None;
                }
            }
        }
        if let Some(n) = get("note") {
            stage.note = Some(self.string(n, &join(field, "note"))?);
        }
        let mut name_span = node.span;
        if let Some(n) = get("name") {
            let path = join(field, "name");
            let name = self.string(n, &path)?;
            if !names::is_dns1123_label(&name) || name.len() > 50 {
                let d = self.error(
                    &path,
                    n.span,
                    format!(
                        "stage name `{}` is not a DNS-1123 label of at most 50 characters",
                        truncate(&name)
                    ),
                );
                Self::help(d, LABEL_HELP);
                return None;
            }
            stage.name = name;
            name_span = n.span;
        }
        Some((stage, name_span, value_span))
    }

    /// `header: {name: x-canary, value: "true"}`.
    fn header(&mut self, v: &Node, field: &str) -> Option<(String, String)> {
        let entries = self.mapping(v, field, &["name", "value"])?;
        let get = |k: &str| entries.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        let (Some(n), Some(val)) = (get("name"), get("value")) else {
            let d = self.error(field, v.span, "a header canary needs `name` and `value`");
            Self::help(d, "e.g. `header: {name: x-canary, value: \"true\"}`");
            return None;
        };
        let name = self.string(n, &join(field, "name"))?;
        if !is_header_name(&name) {
            let d = self.error(
                &join(field, "name"),
                n.span,
                format!("`{}` is not a lowercase HTTP header name", truncate(&name)),
            );
            Self::help(
                d,
                "Istio matches lowercase header names: letters, digits and `-`, e.g. `x-canary`",
            );
            return None;
        }
        let value = match val.resolve() {
            Some(Resolved::Str(s)) if !s.is_empty() && !s.chars().any(char::is_control) => {
                s.to_owned()
            }
            Some(Resolved::Bool(_) | Resolved::Int(_) | Resolved::Float(_)) => {
                let d = self.error(
                    &join(field, "value"),
                    val.span,
                    format!("expected a string, found {}", val.type_name()),
                );
                Self::help(d, "quote it: `value: \"true\"`");
                return None;
            }
            _ => {
                self.error(
                    &join(field, "value"),
                    val.span,
                    "the header value must be a non-empty string without control characters",
                );
                return None;
            }
        };
        Some((name, value))
    }

    fn weight(&mut self, v: &Node, field: &str) -> Option<StageKind> {
        match v.resolve() {
            Some(Resolved::Int(w)) if (0..=100).contains(&w) => Some(StageKind::Weight(w as u8)),
            Some(Resolved::Int(w)) => {
                let d = self.error(field, v.span, format!("weight {w} is outside 0..100"));
                Self::help(d, "a weight is the percentage of requests sent to `to`");
                None
            }
            Some(Resolved::Float(w)) => {
                let d = self.error(
                    field,
                    v.span,
                    format!("weight {} is not a whole number", Percent(w)),
                );
                Self::help(d, "Istio weights are integers from 0 to 100");
                None
            }
            _ => {
                let found = v.type_name();
                let d = self.error(
                    field,
                    v.span,
                    format!("expected an integer from 0 to 100, found {found}"),
                );
                if matches!(v.resolve(), Some(Resolved::Str(_))) {
                    Self::help(d, "remove the quotes: `weight: 10`");
                }
                None
            }
        }
    }

    fn mirror(&mut self, v: &Node, field: &str) -> Option<StageKind> {
        let p = match v.resolve() {
            Some(Resolved::Int(p)) => p as f64,
            Some(Resolved::Float(p)) => p,
            _ => {
                let found = v.type_name();
                let d = self.error(
                    field,
                    v.span,
                    format!("expected a percentage, found {found}"),
                );
                Self::help(
                    d,
                    "write a number greater than 0 and at most 100, e.g. `mirror: 10`",
                );
                return None;
            }
        };
        if !(p > 0.0 && p <= 100.0) {
            let d = self.error(
                field,
                v.span,
                format!("mirror percentage {} is outside (0, 100]", Percent(p)),
            );
            Self::help(
                d,
                "mirror a share of requests greater than 0% and at most 100%",
            );
            return None;
        }
        let text = Percent(p).to_string();
        if text.split_once('.').is_some_and(|(_, frac)| frac.len() > 4) {
            let d = self.error(
                field,
                v.span,
                format!("mirror percentage {text} has more than 4 decimal places"),
            );
            Self::help(d, "the smallest step is 0.0001%");
            return None;
        }
        Some(StageKind::Mirror(p))
    }
}

/// A Cloud Run service name: 1 to 49 lowercase letters, digits and `-`, starting with a
/// letter and not ending with `-`.
pub fn is_cloud_run_service(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 49
        && b[0].is_ascii_lowercase()
        && b[b.len() - 1] != b'-'
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// A Google Cloud region: `europe-west1`, `us-central1`, `northamerica-northeast2`.
pub fn is_region(s: &str) -> bool {
    let Some((area, rest)) = s.split_once('-') else {
        return false;
    };
    let digits = rest.trim_start_matches(|c: char| c.is_ascii_lowercase());
    !area.is_empty()
        && area.bytes().all(|c| c.is_ascii_lowercase())
        && digits.len() < rest.len()
        && !digits.is_empty()
        && digits.bytes().all(|c| c.is_ascii_digit())
}

/// A Google Cloud project ID: 6 to 30 lowercase letters, digits and `-`, starting with a
/// letter and not ending with `-`.
pub fn is_project(s: &str) -> bool {
    let b = s.as_bytes();
    (6..=30).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b[b.len() - 1] != b'-'
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// A lowercase HTTP header name as Istio matches it.
pub fn is_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !s.starts_with('-')
}

const LABEL_HELP: &str =
    "use 1 to 63 lowercase letters, digits and `-`, starting and ending with a letter or digit";
const HOST_HELP: &str = "use a DNS name: labels of letters, digits and `-`, separated by dots";

fn join(field: &str, key: &str) -> String {
    if field.is_empty() {
        key.to_owned()
    } else {
        format!("{field}.{key}")
    }
}

/// Shortens long values in messages so hostile input cannot flood the terminal.
fn truncate(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if clean.chars().count() > 80 {
        format!("{}…", clean.chars().take(80).collect::<String>())
    } else {
        clean
    }
}

fn describe(v: &Node) -> String {
    match v.resolve() {
        Some(Resolved::Str(s)) => format!("`{}`", truncate(s)),
        _ => v.type_name().to_owned(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<Plan> {
        Plan::parse(
            "plan.yaml",
            src.as_bytes(),
            Path::new("/repo/plan.yaml"),
            Path::new("/repo"),
        )
    }

    fn errors(src: &str) -> Vec<Diagnostic> {
        match parse(src) {
            Err(Error::Invalid(Diagnostics(d))) => d.into_iter().filter(|d| d.is_error()).collect(),
            Ok(_) => panic!("plan was accepted:\n{src}"),
            Err(e) => panic!("unexpected error {e}"),
        }
    }

    const GOOD: &str = "\
version: 1
output: deploy/cutover
defaults:
  namespace: payments
  stages: [{mirror: 100}, {weight: 10}, {weight: 50}, {weight: 100}]
migrations:
  - name: checkout
    from: cr-service-entry.com
    to: cr-gcpbackend.com
  - name: billing
    namespace: billing
    virtualService: billing-vs
    hosts: [billing.example.com]
    gateways: [mesh]
    from: billing-se.example.com
    to: billing-gcp.example.com
    stages:
      - {mirror: 12.5}
      - {name: half, weight: 50}
      - weight: 100
";

    #[test]
    fn parses_a_full_plan() {
        let plan = parse(GOOD).unwrap();
        assert_eq!(plan.id, "plan.yaml");
        assert_eq!(plan.output, PathBuf::from("/repo/deploy/cutover"));
        assert_eq!(plan.layout, Layout::Kustomize);
        assert_eq!(plan.api_version, "networking.istio.io/v1");
        assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
        let [checkout, billing] = &plan.migrations[..] else {
            panic!()
        };
        assert_eq!(checkout.namespace, "payments");
        assert_eq!(checkout.virtual_service, "checkout");
        assert_eq!(checkout.hosts, vec!["cr-service-entry.com"]);
        assert_eq!(checkout.stages.len(), 4);
        assert_eq!(checkout.stages[0].name, "mirror-100");
        assert_eq!(billing.namespace, "billing");
        assert_eq!(billing.virtual_service, "billing-vs");
        assert_eq!(billing.gateways, vec!["mesh"]);
        let names: Vec<_> = billing.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["mirror-12-5", "half", "weight-100"]);
    }

    #[test]
    fn reports_every_error_with_field_and_line() {
        let src = "\
version: 1
output: out
migrations:
  - name: Checkout
    namespace: payments
    from: a.example.com
    to: a.example.com
    stages:
      - weight: 150
      - wieght: 10
      - mirror: 0
";
        let errs = errors(src);
        let got: Vec<_> = errs
            .iter()
            .map(|d| {
                (
                    d.field.as_str(),
                    d.snippet.as_ref().map(|s| (s.line, s.col)),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("migrations[0].name", Some((4, 11))),
                ("migrations[0].to", Some((7, 9))),
                ("migrations[0].stages[0].weight", Some((9, 17))),
                ("migrations[0].stages[1].wieght", Some((10, 9))),
                ("migrations[0].stages[2].mirror", Some((11, 17))),
            ]
        );
        assert_eq!(errs[3].help.as_deref(), Some("did you mean `weight`?"));
    }

    #[test]
    fn rejects_decreasing_weights_and_duplicate_names() {
        let errs = errors(
            "version: 1\noutput: o\nmigrations:\n- name: a\n  namespace: n\n  from: a.com\n  to: b.com\n  stages: [{weight: 50}, {weight: 10}, {weight: 10}, {weight: 10}]\n",
        );
        let msgs: Vec<_> = errs.iter().map(|d| d.message.as_str()).collect();
        assert!(msgs[0].contains("must not decrease"), "{msgs:?}");
        assert!(
            msgs.iter()
                .any(|m| m.contains("duplicate stage name `weight-10`")),
            "{msgs:?}"
        );
    }

    #[test]
    fn mirror_precision_is_bounded() {
        let src = |m: &str| {
            format!("version: 1\noutput: o\nmigrations:\n- name: a\n  namespace: n\n  from: a.com\n  to: b.com\n  stages: [{{mirror: {m}}}, {{weight: 100}}]\n")
        };
        assert!(parse(&src("0.0001")).is_ok());
        let errs = errors(&src("1e-300"));
        assert!(
            errs[0].message.contains("more than 4 decimal places"),
            "{}",
            errs[0].message
        );
        assert!(!errors(&src("12.34567"))[0].message.is_empty());
    }

    #[test]
    fn mirror_after_weight_is_a_decrease() {
        let errs = errors(
            "version: 1\noutput: o\nmigrations:\n- name: a\n  namespace: n\n  from: a.com\n  to: b.com\n  stages: [{weight: 10}, {mirror: 10}]\n",
        );
        assert!(
            errs[0].message.contains("mirror stage sends 0%"),
            "{}",
            errs[0].message
        );
    }

    #[test]
    fn numbers_as_strings_and_strings_as_numbers() {
        let errs = errors(
            "version: 1\noutput: o\nmigrations:\n- name: a\n  namespace: 123\n  from: a.com\n  to: b.com\n  stages: [{weight: '10'}]\n",
        );
        assert_eq!(errs[0].field, "migrations[0].namespace");
        assert_eq!(errs[0].message, "expected a string, found an integer");
        assert_eq!(
            errs[1].message,
            "expected an integer from 0 to 100, found a string"
        );
    }

    #[test]
    fn output_must_stay_in_the_repository() {
        for out in ["../elsewhere", "/etc", "a/../../x", ".git/x", "a/../.git"] {
            let errs = errors(&format!("version: 1\noutput: {out}\nmigrations: []\n"));
            assert_eq!(errs[0].field, "output", "{out}");
        }
    }

    #[test]
    fn warns_when_the_last_stage_is_below_100() {
        let plan = parse(
            "version: 1\noutput: o\nmigrations:\n- name: a\n  namespace: n\n  from: a.com\n  to: b.com\n  stages: [{weight: 50}]\n",
        )
        .unwrap();
        assert_eq!(plan.warnings.len(), 1);
        assert!(plan.warnings[0].message.contains("never completes"));
    }

    #[test]
    fn missing_fields_and_bad_top_level() {
        let errs = errors("version: 2\nlayout: tree\napiVersion: v9\nmigrations:\n- name: a\n");
        let fields: Vec<_> = errs.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(
            errs[4].message,
            "missing required fields `namespace`, `from`, `to`, `stages`"
        );
        assert_eq!(
            fields,
            ["output", "version", "layout", "apiVersion", "migrations[0]",]
        );
    }

    #[test]
    fn encoding_and_empty_files() {
        assert!(errors("")[0].message.contains("empty"));
        let mut bad = b"version: 1\noutput: \xff\n".to_vec();
        let e = match Plan::parse("p", &bad, Path::new("/r/p"), Path::new("/r")) {
            Err(Error::Invalid(Diagnostics(d))) => d,
            _ => panic!(),
        };
        assert!(
            e[0].message.contains("line 2, column 9"),
            "{}",
            e[0].message
        );
        bad = b"\xEF\xBB\xBFversion: 1\noutput: o\nmigrations: []\n".to_vec();
        assert!(Plan::parse("p", &bad, Path::new("/r/p"), Path::new("/r")).is_ok());
    }
}
