//! Rendering a plan into the files of its generated tree.
//!
//! Templates are minijinja templates, compiled once per run. The built-in ones in
//! `templates/` are compiled into the binary; `--templates DIR` replaces any of them by
//! a file of the same name. Every printed value goes through a YAML-escaping formatter,
//! and every rendered manifest is parsed back and verified before it can be written.

pub mod escape;
pub mod header;
pub mod rewrite;

use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::check::readback::{self, Extra};
use crate::error::{Error, Result};
use crate::plan::stage::Stage;
use crate::plan::{Layout, Migration, Plan};
use crate::repo;
use crate::vs::VirtualService;

/// Name of the VirtualService template.
pub const VIRTUALSERVICE: &str = "virtualservice.yaml.j2";
/// Name of the kustomization template.
pub const KUSTOMIZATION: &str = "kustomization.yaml.j2";
/// Name of the environment kustomization template.
pub const ENVIRONMENT: &str = "environment.yaml.j2";
/// Name of the GCPBackend template.
pub const GCPBACKEND: &str = "gcpbackend.yaml.j2";
/// Name of the verification Job template.
pub const VERIFY_JOB: &str = "verify-job.yaml.j2";

const BUILTIN: &[(&str, &str)] = &[
    (
        VIRTUALSERVICE,
        include_str!("../../templates/virtualservice.yaml.j2"),
    ),
    (
        KUSTOMIZATION,
        include_str!("../../templates/kustomization.yaml.j2"),
    ),
    (
        ENVIRONMENT,
        include_str!("../../templates/environment.yaml.j2"),
    ),
    (
        GCPBACKEND,
        include_str!("../../templates/gcpbackend.yaml.j2"),
    ),
    (
        VERIFY_JOB,
        include_str!("../../templates/verify-job.yaml.j2"),
    ),
];

/// Largest template file accepted from `--templates`.
pub const MAX_TEMPLATE_BYTES: u64 = 256 * 1024;
/// Instructions a template may spend on one file before it is stopped.
const FUEL: u64 = 200_000;

/// The compiled templates for one run.
pub struct Templates {
    env: Environment<'static>,
    /// For each template name: where it came from (`built-in` or a file path), for messages.
    origins: Vec<(&'static str, String)>,
}

impl Templates {
    /// The built-in templates.
    pub fn builtin() -> Result<Templates> {
        Templates::load(None)
    }

    /// The built-in templates, each replaced by `dir/<name>` when that file exists.
    pub fn load(dir: Option<&Path>) -> Result<Templates> {
        let mut env = Environment::new();
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("default delimiters are valid");
        env.set_syntax(syntax);
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::Custom("yaml".into()));
        env.set_formatter(format_value);
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(64);
        // No loader: templates cannot read files; `include` sees only these templates.
        if let Some(dir) = dir {
            if !dir.is_dir() {
                return Err(Error::Template {
                    template: dir.display().to_string(),
                    message: "the --templates folder does not exist or is not a folder".into(),
                });
            }
        }
        let mut origins = Vec::new();
        for (name, source) in BUILTIN {
            let path = dir.map(|d| d.join(name));
            let (text, origin) = match path {
                Some(p) if fs_entry_exists(&p) => {
                    if !p.is_file() {
                        return Err(Error::Template {
                            template: p.display().to_string(),
                            message: "not a regular file (a folder, or a dangling symlink)".into(),
                        });
                    }
                    (read_template(&p)?, p.display().to_string())
                }
                _ => ((*source).to_owned(), format!("{name} (built-in)")),
            };
            env.add_template_owned(*name, text)
                .map_err(|e| template_error(&origin, &e))?;
            origins.push((*name, origin));
        }
        Ok(Templates { env, origins })
    }

    /// Where template `name` came from, for messages.
    pub fn origin<'s>(&'s self, name: &'s str) -> &'s str {
        self.origins
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(name, |(_, o)| o.as_str())
    }

    fn render(&self, name: &str, ctx: &Context<'_>) -> Result<String> {
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|e| template_error(self.origin(name), &e))?;
        tmpl.render(minijinja::value::Serde(ctx))
            .map_err(|e| template_error(self.origin(name), &e))
    }
}

fn fs_entry_exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

fn read_template(path: &Path) -> Result<String> {
    let meta = std::fs::metadata(path).map_err(|e| Error::Read {
        path: path.to_path_buf(),
        source: e,
    })?;
    if meta.len() > MAX_TEMPLATE_BYTES {
        return Err(Error::Template {
            template: path.display().to_string(),
            message: format!("larger than {MAX_TEMPLATE_BYTES} bytes"),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| Error::Read {
        path: path.to_path_buf(),
        source: e,
    })?;
    String::from_utf8(bytes).map_err(|_| Error::Template {
        template: path.display().to_string(),
        message: "not UTF-8 text".into(),
    })
}

fn template_error(origin: &str, e: &minijinja::Error) -> Error {
    let mut message = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    if let Some(line) = e.line() {
        message = format!("line {line}: {message}");
    }
    Error::Template {
        template: origin.to_owned(),
        message,
    }
}

/// Prints values into YAML: strings as escaped scalars, numbers and booleans as such.
/// Lists and mappings must be iterated in the template, never printed whole.
fn format_value(
    out: &mut minijinja::Output<'_>,
    _state: &mut minijinja::State<'_, '_>,
    value: &Value,
) -> std::result::Result<(), minijinja::Error> {
    use minijinja::value::ValueKind;
    let text = if value.is_safe() {
        value.to_string()
    } else {
        match value.kind() {
            ValueKind::String => escape::scalar(value.as_str().unwrap_or_default()),
            ValueKind::Number | ValueKind::Bool => value.to_string(),
            ValueKind::None => "null".to_owned(),
            ValueKind::Undefined => {
                return Err(minijinja::Error::new(
                    minijinja::ErrorKind::UndefinedError,
                    "undefined value printed",
                ))
            }
            other => {
                return Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("cannot print a {other} into YAML; loop over it instead"),
                ))
            }
        }
    };
    out.write_str(&text).map_err(minijinja::Error::from)
}

/// The values a template sees.
#[derive(Serialize)]
struct Context<'a> {
    api_version: &'a str,
    name: &'a str,
    namespace: &'a str,
    hosts: &'a [String],
    gateways: &'a [String],
    from: &'a str,
    to: &'a str,
    migration: &'a str,
    plan: &'a str,
    stage: StageContext<'a>,
    /// Set for environment overlays only.
    #[serde(skip_serializing_if = "Option::is_none")]
    env: Option<&'a str>,
    /// Set for environment overlays only.
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<String>,
    /// What a kustomization lists.
    resources: Vec<String>,
    /// The migration's GCPBackend, if any.
    gcp: Option<&'a crate::plan::GcpBackend>,
    /// The migration's verification Job, if any.
    verify: Option<VerifyContext<'a>>,
}

#[derive(Serialize)]
struct VerifyContext<'a> {
    name: &'a str,
    image: &'a str,
    url: String,
    every_stage: bool,
}

#[derive(Serialize)]
struct HeaderContext<'a> {
    name: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct StageContext<'a> {
    name: &'a str,
    number: usize,
    note: Option<&'a str>,
    to_weight: u8,
    from_weight: u8,
    /// Integral percentages are passed as integers so they print as `10`, not `10.0`.
    mirror: Option<Value>,
    header: Option<HeaderContext<'a>>,
}

/// One file of the generated tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Absolute path.
    pub path: PathBuf,
    /// Path relative to the repository root, `/`-separated.
    pub rel: String,
    /// The migration it belongs to.
    pub migration: String,
    /// The full contents, header included.
    pub contents: String,
}

/// Renders every file of migration `m` of `plan`, each verified, sorted by path.
pub fn render_one(plan: &Plan, m: &Migration, templates: &Templates) -> Result<Vec<GeneratedFile>> {
    let mut files = Vec::new();
    render_migration(plan, m, templates, &header::block(&plan.id), &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Fewest migrations rendered on worker threads; below this, one thread does it all.
pub const PARALLEL_FROM: usize = 8;

/// Renders every file of `plan`, each verified. The result is sorted by path.
pub fn render_plan(plan: &Plan, templates: &Templates) -> Result<Vec<GeneratedFile>> {
    use rayon::prelude::*;
    let head = header::block(&plan.id);
    let one = |m: &Migration| {
        let mut files = Vec::new();
        render_migration(plan, m, templates, &head, &mut files).map(|()| files)
    };
    // Migrations are independent: render (and verify, and validate) them in parallel,
    // unless there are too few to pay for starting the worker threads (the pre-commit case).
    let per_migration: Vec<Result<Vec<GeneratedFile>>> = if plan.migrations.len() < PARALLEL_FROM {
        plan.migrations.iter().map(one).collect()
    } else {
        plan.migrations.par_iter().map(one).collect()
    };
    // The first error in plan order, whatever order the threads finished in.
    let mut files: Vec<GeneratedFile> = Vec::new();
    for r in per_migration {
        files.extend(r?);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn render_migration(
    plan: &Plan,
    m: &Migration,
    templates: &Templates,
    head: &str,
    files: &mut Vec<GeneratedFile>,
) -> Result<()> {
    let base = plan.output.join(&m.name);
    let first = files.len();
    let base_doc = match &m.base {
        Some(rel) => {
            let text = plan.bases.get(rel).ok_or_else(|| Error::Base {
                file: rel.clone(),
                message: "was not read".into(),
            })?;
            let doc =
                VirtualService::pick(text, &m.virtual_service).map_err(|message| Error::Base {
                    file: rel.clone(),
                    message,
                })?;
            if let Some(ns) = doc.namespace().filter(|ns| *ns != m.namespace) {
                return Err(Error::Base {
                    file: rel.clone(),
                    message: format!(
                        "the VirtualService is in namespace `{ns}`, but migration {} says `{}`",
                        m.name, m.namespace
                    ),
                });
            }
            Some((rel, doc))
        }
        None => None,
    };
    for (i, stage) in m.stages.iter().enumerate() {
        let ctx = context(plan, m, stage, i);
        let vs = match &base_doc {
            Some((rel, doc)) => {
                let err = |message: String| Error::Base {
                    file: (*rel).clone(),
                    message: format!("stage {}: {message}", stage.name),
                };
                if stage.header.is_some() {
                    return Err(err(
                        "header canary stages are not supported with `base` yet".to_owned(),
                    ));
                }
                let out =
                    crate::render::rewrite::stage(doc, &m.from, &m.to, stage, plan.istio_version)
                        .map_err(err)?;
                crate::render::rewrite::check(doc, &out, &m.from).map_err(err)?;
                serde_yaml::to_string(&out).map_err(|e| err(e.to_string()))?
            }
            None => templates.render(VIRTUALSERVICE, &ctx)?,
        };
        let dir = stage.dir_name(i, m.stages.len());
        let vs_path = match plan.layout {
            Layout::Kustomize => base.join("stages").join(&dir).join("virtualservice.yaml"),
            Layout::Flat => base.join(format!("{dir}.yaml")),
        };
        let rel = rel_path(plan, &vs_path);
        let origin = match &base_doc {
            Some((base, _)) => format!("{base} (base)"),
            None => templates.origin(VIRTUALSERVICE).to_owned(),
        };
        let failed = |message: String| Error::Verify {
            path: rel.clone(),
            template: origin.clone(),
            message,
        };
        // Parsed back once, for both checks.
        let doc =
            VirtualService::parse(&vs).map_err(|e| failed(format!("not a YAML document: {e}")))?;
        if base_doc.is_none() {
            readback::virtual_service(&doc, plan, m, stage).map_err(failed)?;
        }
        // Istio's own schema and rules, whatever produced the manifest.
        let violations = crate::check::istio::virtual_service(&doc.into_json());
        if !violations.is_empty() {
            let list: Vec<String> = violations
                .iter()
                .map(|v| format!("{}: {}", v.path, v.message))
                .collect();
            return Err(failed(format!(
                "not a valid Istio VirtualService: {}",
                list.join("; ")
            )));
        }
        files.push(GeneratedFile {
            path: vs_path.clone(),
            rel,
            migration: m.name.clone(),
            contents: format!("{head}{vs}"),
        });
        if plan.layout == Layout::Kustomize {
            push_kustomization(
                plan,
                m,
                templates,
                &ctx,
                head,
                &vs_path,
                "virtualservice.yaml",
                files,
            )?;
        }
    }
    let stage_files = files[first..].to_vec();
    render_environments(plan, m, templates, head, &stage_files, files)?;
    render_extras(plan, m, templates, head, files)
}

/// The files of each environment: a kustomization pointing at the stage overlay
/// (kustomize layout), or a copy of the stage's manifest (flat layout).
fn render_environments(
    plan: &Plan,
    m: &Migration,
    templates: &Templates,
    head: &str,
    stage_files: &[GeneratedFile],
    files: &mut Vec<GeneratedFile>,
) -> Result<()> {
    let base = plan.output.join(&m.name).join("envs");
    for env in &m.environments {
        let i = m
            .stage_index(&env.stage)
            .expect("validated: environments name existing stages");
        let stage = &m.stages[i];
        let dir = stage.dir_name(i, m.stages.len());
        match plan.layout {
            Layout::Kustomize => {
                let mut ctx = context(plan, m, stage, i);
                ctx.env = Some(&env.name);
                let resource = format!("../../stages/{dir}");
                ctx.resource = Some(resource.clone());
                let text = templates.render(ENVIRONMENT, &ctx)?;
                let path = base.join(&env.name).join("kustomization.yaml");
                let rel = rel_path(plan, &path);
                readback::environment(&text, &resource).map_err(|message| Error::Verify {
                    path: rel.clone(),
                    template: templates.origin(ENVIRONMENT).to_owned(),
                    message,
                })?;
                files.push(GeneratedFile {
                    path,
                    rel,
                    migration: m.name.clone(),
                    contents: format!("{head}{text}"),
                });
            }
            Layout::Flat => {
                let source = plan.output.join(&m.name).join(format!("{dir}.yaml"));
                let contents = stage_files
                    .iter()
                    .find(|f| f.path == source)
                    .map(|f| f.contents.clone())
                    .expect("the stage was rendered");
                let path = base.join(format!("{}.yaml", env.name));
                files.push(GeneratedFile {
                    rel: rel_path(plan, &path),
                    path,
                    migration: m.name.clone(),
                    contents,
                });
            }
        }
    }
    Ok(())
}

/// Renders the `kustomization.yaml` beside `manifest`, checks that it lists `lists`,
/// and adds it to `files`.
#[allow(clippy::too_many_arguments)]
fn push_kustomization(
    plan: &Plan,
    m: &Migration,
    templates: &Templates,
    ctx: &Context<'_>,
    head: &str,
    manifest: &Path,
    lists: &str,
    files: &mut Vec<GeneratedFile>,
) -> Result<()> {
    let k = templates.render(KUSTOMIZATION, ctx)?;
    let path = manifest.with_file_name("kustomization.yaml");
    let rel = rel_path(plan, &path);
    readback::kustomization(&k, lists).map_err(|message| Error::Verify {
        path: rel.clone(),
        template: templates.origin(KUSTOMIZATION).to_owned(),
        message,
    })?;
    files.push(GeneratedFile {
        path,
        rel,
        migration: m.name.clone(),
        contents: format!("{head}{k}"),
    });
    Ok(())
}

fn rel_path(plan: &Plan, path: &Path) -> String {
    repo::display_rel(&plan.root, path)
}

/// What a stage overlay lists: its VirtualService, and the migration's GCPBackend and
/// (with `everyStage`) verification Job folders.
fn stage_resources(m: &Migration) -> Vec<String> {
    let mut r = vec!["virtualservice.yaml".to_owned()];
    if m.gcp_backend.is_some() {
        r.push("../../gcpbackend".to_owned());
    }
    if m.verify.as_ref().is_some_and(|v| v.every_stage) {
        r.push("../../verify".to_owned());
    }
    r
}

/// The migration-level files: the GCPBackend and the verification Job, each in its own
/// kustomize folder (kustomize layout) or as one file (flat layout).
fn render_extras(
    plan: &Plan,
    m: &Migration,
    templates: &Templates,
    head: &str,
    files: &mut Vec<GeneratedFile>,
) -> Result<()> {
    let base = plan.output.join(&m.name);
    let stage = &m.stages[0];
    let extras = [
        (
            m.gcp_backend.is_some(),
            GCPBACKEND,
            Extra::GcpBackend,
            "gcpbackend",
            "gcpbackend.yaml",
            "gcpbackend.yaml",
        ),
        (
            m.verify.is_some(),
            VERIFY_JOB,
            Extra::VerifyJob,
            "verify",
            "job.yaml",
            "verify-job.yaml",
        ),
    ];
    for (wanted, template, kind, folder, file, flat_file) in extras {
        if !wanted {
            continue;
        }
        let mut ctx = context(plan, m, stage, 0);
        let text = templates.render(template, &ctx)?;
        let path = match plan.layout {
            Layout::Kustomize => base.join(folder).join(file),
            Layout::Flat => base.join(flat_file),
        };
        let rel = rel_path(plan, &path);
        readback::extra(&text, kind, m).map_err(|message| Error::Verify {
            path: rel.clone(),
            template: templates.origin(template).to_owned(),
            message,
        })?;
        files.push(GeneratedFile {
            path: path.clone(),
            rel,
            migration: m.name.clone(),
            contents: format!("{head}{text}"),
        });
        if plan.layout == Layout::Kustomize {
            ctx.resources = vec![file.to_owned()];
            push_kustomization(plan, m, templates, &ctx, head, &path, file, files)?;
        }
    }
    Ok(())
}

fn context<'a>(plan: &'a Plan, m: &'a Migration, stage: &'a Stage, index: usize) -> Context<'a> {
    let mirror = stage.mirror().map(|p| {
        if p.fract() == 0.0 {
            Value::from(p as i64)
        } else {
            Value::from(p)
        }
    });
    Context {
        api_version: &plan.api_version,
        name: &m.virtual_service,
        namespace: &m.namespace,
        hosts: &m.hosts,
        gateways: &m.gateways,
        from: &m.from,
        to: &m.to,
        migration: &m.name,
        plan: &plan.id,
        env: None,
        resource: None,
        resources: stage_resources(m),
        gcp: m.gcp_backend.as_ref(),
        verify: m.verify.as_ref().map(|v| VerifyContext {
            name: &v.name,
            image: &v.image,
            url: v.url(m.hosts.first().unwrap_or(&m.from)),
            every_stage: v.every_stage,
        }),
        stage: StageContext {
            header: stage
                .header
                .as_ref()
                .map(|(name, value)| HeaderContext { name, value }),
            name: &stage.name,
            number: index + 1,
            note: stage.note.as_deref(),
            to_weight: stage.to_weight(),
            from_weight: stage.from_weight(),
            mirror,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(src: &str) -> Plan {
        Plan::parse(
            "p.yaml",
            src.as_bytes(),
            Path::new("/repo/p.yaml"),
            Path::new("/repo"),
        )
        .unwrap()
    }

    const SRC: &str = "version: 1\noutput: out\napiVersion: networking.istio.io/v1alpha3\nmigrations:\n- name: checkout\n  namespace: ns\n  virtualService: cr-gcpbackend-migration\n  from: cr-service-entry.com\n  to: cr-gcpbackend.com\n  stages: [{mirror: 12.5}, {weight: 10}, {weight: 100}]\n";

    #[test]
    fn renders_kustomize_layout() {
        let files = render_plan(&plan(SRC), &Templates::builtin().unwrap()).unwrap();
        let rels: Vec<_> = files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(
            rels,
            [
                "out/checkout/stages/01-mirror-12-5/kustomization.yaml",
                "out/checkout/stages/01-mirror-12-5/virtualservice.yaml",
                "out/checkout/stages/02-weight-10/kustomization.yaml",
                "out/checkout/stages/02-weight-10/virtualservice.yaml",
                "out/checkout/stages/03-weight-100/kustomization.yaml",
                "out/checkout/stages/03-weight-100/virtualservice.yaml",
            ]
        );
        assert!(files[1]
            .contents
            .contains("mirrorPercentage:\n      value: 12.5\n"));
        assert!(files[3].contents.ends_with(
            "  http:\n  - route:\n    - destination:\n        host: cr-gcpbackend.com\n      weight: 10\n    - destination:\n        host: cr-service-entry.com\n      weight: 90\n"
        ));
    }

    #[test]
    fn renders_flat_layout() {
        let src = SRC.replace("output: out\n", "output: out\nlayout: flat\n");
        let files = render_plan(&plan(&src), &Templates::builtin().unwrap()).unwrap();
        assert_eq!(files[0].rel, "out/checkout/01-mirror-12-5.yaml");
        assert_eq!(files.len(), 3);
    }

    #[test]
    fn a_broken_override_names_the_template() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(VIRTUALSERVICE), "kind: {{ nope }}\n").unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        let err = render_plan(&plan(SRC), &t).unwrap_err().to_string();
        assert!(err.contains("virtualservice.yaml.j2"), "{err}");
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn an_override_that_breaks_the_weights_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let bad = BUILTIN[0]
            .1
            .replace("weight: {{ stage.from_weight }}", "weight: 5");
        std::fs::write(dir.path().join(VIRTUALSERVICE), bad).unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        let err = render_plan(&plan(SRC), &t).unwrap_err().to_string();
        assert!(err.contains("failed verification"), "{err}");
        assert!(err.contains("sum"), "{err}");
    }

    #[test]
    fn runaway_templates_are_stopped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(VIRTUALSERVICE),
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        )
        .unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        assert!(render_plan(&plan(SRC), &t).is_err());
    }
}
