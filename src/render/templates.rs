//! The templates: built-in ones compiled into the binary, any of them replaced by a file
//! of the same name from `--templates DIR`; and the values they see.
//!
//! Every printed value goes through a YAML-escaping formatter, so no plan value can add
//! YAML structure.

use std::path::Path;

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::layout;
use crate::plan::stage::Stage;
use crate::plan::{Migration, Plan};
use crate::yaml::escape;

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

pub(crate) const BUILTIN: &[(&str, &str)] = &[
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

    /// Renders template `name` with `ctx`.
    pub(crate) fn render(&self, name: &str, ctx: &Context<'_>) -> Result<String> {
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
pub(crate) struct Context<'a> {
    pub(crate) api_version: &'a str,
    pub(crate) name: &'a str,
    pub(crate) namespace: &'a str,
    pub(crate) hosts: &'a [String],
    pub(crate) gateways: &'a [String],
    pub(crate) from: &'a str,
    pub(crate) to: &'a str,
    pub(crate) migration: &'a str,
    pub(crate) plan: &'a str,
    pub(crate) stage: StageContext<'a>,
    /// Set for environment overlays only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) env: Option<&'a str>,
    /// Set for environment overlays only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) resource: Option<String>,
    /// What a kustomization lists.
    pub(crate) resources: Vec<String>,
    /// The migration's GCPBackend, if any.
    pub(crate) gcp: Option<&'a crate::plan::GcpBackend>,
    /// The migration's verification Job, if any.
    pub(crate) verify: Option<VerifyContext<'a>>,
}

#[derive(Serialize)]
pub(crate) struct VerifyContext<'a> {
    /// The Job's name: `base`, or for a stage's Job `base-<number>-<hash>`.
    pub(crate) name: String,
    /// The plan's `verify.name`.
    pub(crate) base: &'a str,
    pub(crate) image: &'a str,
    /// The URL of the host clients call.
    pub(crate) url: String,
    /// The URL of the GCPBackend host.
    pub(crate) backend_url: String,
    pub(crate) requests: u16,
    pub(crate) wait_seconds: u16,
    pub(crate) request_seconds: u32,
    pub(crate) proxy_seconds: u32,
    pub(crate) deadline_seconds: u32,
    pub(crate) gitops: crate::plan::GitOps,
    /// The stage's folder name, for a stage's Job.
    pub(crate) stage: Option<String>,
    /// The start of the digest of what the stage deploys, for a stage's Job.
    pub(crate) digest: Option<String>,
    pub(crate) every_stage: bool,
}

impl<'a> VerifyContext<'a> {
    /// The context of migration `m`'s Job run by hand (a stage's Job sets `stage` and
    /// `name`).
    fn new(m: &'a Migration, v: &'a crate::plan::VerifyJob) -> VerifyContext<'a> {
        VerifyContext {
            name: v.name.clone(),
            base: &v.name,
            image: &v.image,
            url: v.url(m.hosts.first().unwrap_or(&m.from)),
            backend_url: v.url(&m.to),
            requests: v.requests,
            wait_seconds: v.wait_seconds,
            request_seconds: crate::plan::VerifyJob::REQUEST_SECONDS,
            proxy_seconds: crate::plan::VerifyJob::PROXY_SECONDS,
            deadline_seconds: v.deadline_seconds(),
            gitops: v.gitops,
            stage: None,
            digest: None,
            every_stage: v.every_stage,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct HeaderContext<'a> {
    pub(crate) name: &'a str,
    pub(crate) value: &'a str,
}

#[derive(Serialize)]
pub(crate) struct StageContext<'a> {
    pub(crate) name: &'a str,
    pub(crate) number: usize,
    pub(crate) note: Option<&'a str>,
    pub(crate) to_weight: u8,
    pub(crate) from_weight: u8,
    /// Integral percentages are passed as integers so they print as `10`, not `10.0`.
    pub(crate) mirror: Option<Value>,
    pub(crate) header: Option<HeaderContext<'a>>,
}

/// The values the templates see for stage `index` of migration `m`.
pub(crate) fn context<'a>(
    plan: &'a Plan,
    m: &'a Migration,
    stage: &'a Stage,
    index: usize,
) -> Context<'a> {
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
        resources: layout::stage_resources(
            m.gcp_backend.is_some(),
            m.verify.as_ref().is_some_and(|v| v.every_stage),
        ),
        gcp: m.gcp_backend.as_ref(),
        verify: m.verify.as_ref().map(|v| VerifyContext::new(m, v)),
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
