//! Rendering a plan into the files of its generated tree.
//!
//! Templates ([`templates`]) are minijinja templates, compiled once per run. A migration
//! with a `base` has its stage VirtualServices rewritten from that file instead
//! ([`rewrite`]), each written as the base document's own text edited where the stage
//! differs ([`crate::yaml::splice`]). Every rendered manifest is read back and checked ([`crate::check`])
//! before it can be written; paths come from [`crate::layout`].

pub mod canary;
pub mod header;
pub mod rewrite;
pub mod templates;

use std::path::PathBuf;

use crate::check::readback::{self, Extra};
use crate::error::{Error, Result};
use crate::layout::{self, Kind, Part};
use crate::plan::stage::Stage;
use crate::plan::{GitOps, Layout, Migration, Plan, VerifyJob};
use crate::repo;
use crate::vs::VirtualService;
use crate::yaml;
use templates::{context, Context};
pub use templates::{
    Templates, ENVIRONMENT, GCPBACKEND, KUSTOMIZATION, MAX_TEMPLATE_BYTES, VERIFY_JOB,
    VIRTUALSERVICE,
};

/// One file of the generated tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Absolute path.
    pub path: PathBuf,
    /// Path relative to the repository root, `/`-separated.
    pub rel: String,
    /// The migration it belongs to.
    pub migration: String,
    /// The part of the migration it is (a stage, an environment, ...).
    pub part: Part,
    /// Its manifest, or the kustomization beside it.
    pub kind: Kind,
    /// The full contents, header included.
    pub contents: String,
    /// For a stage's VirtualService rewritten from a base: why it is written afresh
    /// rather than edited from the base's own text ([`crate::yaml::splice`]), so without
    /// the base's comments; `None` when it is edited from the text, or has no base.
    pub afresh: Option<String>,
}

impl GeneratedFile {
    /// The stage's name, when this file is a stage's VirtualService.
    pub fn stage_manifest(&self) -> Option<&str> {
        match &self.part {
            Part::Stage { name, .. } if self.kind == Kind::Manifest => Some(name),
            _ => None,
        }
    }
}

/// Renders every file of migration `m` of `plan`, each checked, sorted by path.
pub fn render_one(plan: &Plan, m: &Migration, templates: &Templates) -> Result<Vec<GeneratedFile>> {
    let mut files = render_migration(plan, m, templates, &header::block(&plan.id))?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Fewest migrations rendered on worker threads; below this, one thread does it all.
pub const PARALLEL_FROM: usize = 8;

/// Renders every file of `plan`, each checked. The result is sorted by path.
pub fn render_plan(plan: &Plan, templates: &Templates) -> Result<Vec<GeneratedFile>> {
    use rayon::prelude::*;
    let head = header::block(&plan.id);
    let one = |m: &Migration| render_migration(plan, m, templates, &head);
    // Migrations are independent: render (and check) them in parallel, unless there are
    // too few to pay for starting the worker threads (the pre-commit case).
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

/// Renders every file of one migration (unsorted).
fn render_migration(
    plan: &Plan,
    m: &Migration,
    templates: &Templates,
    head: &str,
) -> Result<Vec<GeneratedFile>> {
    let mut r = Renderer {
        plan,
        m,
        templates,
        head,
        files: Vec::new(),
    };
    let base = r.base_doc()?;
    for (i, stage) in m.stages.iter().enumerate() {
        r.stage(i, stage, base.as_ref())?;
    }
    r.environments()?;
    r.extras()?;
    Ok(r.files)
}

/// The Istio schema and rules violations of `doc`, as one line; `None` when there are none.
fn istio_violations(doc: VirtualService) -> Option<String> {
    let list: Vec<String> = crate::check::istio::virtual_service(&doc.into_json())
        .iter()
        .map(|v| format!("{}: {}", v.path, v.message))
        .collect();
    (!list.is_empty()).then(|| list.join("; "))
}

/// Refuses a base VirtualService `doc` (a document of `text`) with a plain scalar that
/// cutover's YAML reader and YAML 1.2 read differently (`012`: the string "012" to the
/// one, the integer 12 to the other): its stages would mean one thing to cutover and
/// another to the tools that read them. Each is named by its line, column and path.
fn misread(text: &str, doc: &VirtualService) -> std::result::Result<(), String> {
    use crate::yaml::{locate, resolve};
    let Ok(docs) = crate::vs::documents(text) else {
        return Ok(());
    };
    let places = locate::documents_and_plain_scalars(text);
    let at = docs
        .iter()
        .position(|d| crate::vs::identical(d, doc.as_value()));
    let Some((_, plain)) = at
        .and_then(|i| places.get(i))
        .filter(|_| places.len() == docs.len())
    else {
        return Ok(());
    };
    let found: Vec<String> = plain
        .iter()
        .filter_map(|p| {
            let m = resolve::misread(&p.text)?;
            Some(format!(
                "{}:{}: {}: {}; {}",
                p.pos.line,
                p.pos.col,
                p.path,
                m.readings,
                m.advice()
            ))
        })
        .collect();
    match found.is_empty() {
        true => Ok(()),
        false => Err(found.join("; ")),
    }
}

/// A migration's base VirtualService.
struct Base<'a> {
    /// The file's path, relative to the root.
    file: &'a str,
    /// The document the migration names.
    doc: VirtualService,
    /// Its text ([`yaml::splice::document_text`]), which stage files are edited from;
    /// `None` when it cannot be cut from the file.
    text: Option<String>,
}

/// Renders the files of one migration into `files`.
struct Renderer<'a> {
    plan: &'a Plan,
    m: &'a Migration,
    templates: &'a Templates,
    head: &'a str,
    files: Vec<GeneratedFile>,
}

impl<'a> Renderer<'a> {
    fn path(&self, part: &Part, kind: Kind) -> PathBuf {
        let (plan, m) = (self.plan, self.m);
        layout::path(
            plan.layout,
            &plan.output,
            &m.name,
            part,
            kind,
            m.stages.len(),
        )
    }

    /// Adds a file; `text` gets the generated-file header.
    fn push(&mut self, path: PathBuf, rel: String, part: Part, kind: Kind, text: &str) {
        self.files.push(GeneratedFile {
            path,
            rel,
            migration: self.m.name.clone(),
            part,
            kind,
            contents: format!("{}{text}", self.head),
            afresh: None,
        });
    }

    fn rel(&self, path: &std::path::Path) -> String {
        repo::display_rel(&self.plan.root, path)
    }

    /// The document of the migration's `base` file, checked to be in its namespace.
    fn base_doc(&self) -> Result<Option<Base<'a>>> {
        let m = self.m;
        let Some(rel) = &m.base else { return Ok(None) };
        let error = |message: String| Error::Base {
            file: rel.clone(),
            message,
        };
        let text = self
            .plan
            .bases
            .get(rel)
            .ok_or_else(|| error("was not read".into()))?;
        let doc = VirtualService::pick(text, &m.virtual_service).map_err(error)?;
        misread(text, &doc).map_err(error)?;
        if let Some(ns) = doc.namespace().filter(|ns| *ns != m.namespace) {
            return Err(error(format!(
                "the VirtualService is in namespace `{ns}`, but migration {} says `{}`",
                m.name, m.namespace
            )));
        }
        rewrite::check_base(&doc).map_err(error)?;
        // Said of the base itself: no stage of it could be valid.
        if let Some(list) = istio_violations(doc.clone()) {
            return Err(error(format!(
                "is not a valid Istio VirtualService, so no stage of it would be: {list}; fix the base first"
            )));
        }
        Ok(Some(Base {
            file: rel.as_str(),
            text: yaml::splice::document_text(text, &doc),
            doc,
        }))
    }

    /// Stage `i`: its VirtualService and (kustomize layout) the kustomization beside it.
    fn stage(&mut self, i: usize, stage: &Stage, base: Option<&Base<'_>>) -> Result<()> {
        let ctx = context(self.plan, self.m, stage, i);
        let (vs, afresh) = match base {
            Some(base) => self.rewrite(stage, base)?,
            None => (self.templates.render(VIRTUALSERVICE, &ctx)?, None),
        };
        let part = Part::Stage {
            number: i + 1,
            name: stage.name.clone(),
        };
        let path = self.path(&part, Kind::Manifest);
        let rel = self.rel(&path);
        let origin = match base {
            Some(base) => format!("{} (base)", base.file),
            None => self.templates.origin(VIRTUALSERVICE).to_owned(),
        };
        self.check_virtual_service(&vs, &rel, &origin, stage, base.is_none())?;
        self.push(path, rel, part.clone(), Kind::Manifest, &vs);
        if let Some(file) = self.files.last_mut() {
            file.afresh = afresh;
        }
        if self.plan.layout == Layout::Kustomize {
            self.kustomization(&ctx, &part)?;
        }
        if ctx.verify.as_ref().is_some_and(|v| v.every_stage) {
            self.stage_job(ctx, i, stage, &vs)?;
        }
        Ok(())
    }

    /// Stage `i`'s verification Job. It carries a digest of what the stage deploys (the
    /// Job as the plan gives it, the stage's VirtualService `vs`, the GCPBackend), so
    /// that any change of the stage makes a new Job: under a new name (`gitops: none`), or
    /// under the same name with a changed pod template, which Argo CD's hook and Flux's
    /// `force` replace.
    fn stage_job(&mut self, mut ctx: Context<'_>, i: usize, stage: &Stage, vs: &str) -> Result<()> {
        let (m, count) = (self.m, self.m.stages.len());
        let (Some(v), Some(job)) = (&m.verify, ctx.verify.as_mut()) else {
            return Ok(());
        };
        job.stage = Some(layout::stage_name(i + 1, count, &stage.name));
        let draft = self.templates.render(VERIFY_JOB, &ctx)?;
        let gcp = serde_json::to_string(&m.gcp_backend).unwrap_or_default();
        let digest = digest(&[draft.as_str(), vs, gcp.as_str()]);
        let short = &digest[..VerifyJob::HASH_DIGITS];
        let name = match v.gitops {
            GitOps::None => v.stage_job_name(i + 1, short),
            GitOps::ArgoCd | GitOps::Flux => v.name.clone(),
        };
        if let Some(job) = ctx.verify.as_mut() {
            job.name.clone_from(&name);
            job.digest = Some(short.to_owned());
        }
        let text = self.templates.render(VERIFY_JOB, &ctx)?;
        let part = Part::StageJob {
            number: i + 1,
            name: stage.name.clone(),
        };
        self.checked_extra(&text, part, Extra::VerifyJob(&name))
    }

    /// A stage's VirtualService rewritten from the base document: the base's own text,
    /// edited where the stage differs ([`yaml::splice`]), or when that cannot be done,
    /// the rewritten document written afresh (without the base's comments), with why.
    fn rewrite(&self, stage: &Stage, base: &Base<'_>) -> Result<(String, Option<String>)> {
        let (m, doc) = (self.m, &base.doc);
        let err = |message: String| Error::Base {
            file: base.file.to_owned(),
            message: format!("stage {}: {message}", stage.name),
        };
        let istio = self.plan.istio_version;
        let (from, to, ns) = (m.from.as_str(), m.to.as_str(), m.namespace.as_str());
        let mut out = rewrite::stage(doc, from, to, ns, stage, istio).map_err(err)?;
        canary::insert(&mut out, doc, (from, to), ns, stage, istio).map_err(err)?;
        let weighted = canary::strip(&out, doc, from, ns, stage).map_err(err)?;
        rewrite::check(doc, &weighted, from, to, ns).map_err(err)?;
        let spliced = match base.text.as_deref() {
            Some(text) => yaml::splice::splice(text, &out).map_err(|why| why.to_string()),
            None => Err("its text could not be cut from the file on its own".to_owned()),
        };
        match spliced {
            Ok(text) => Ok((text, None)),
            Err(why) => Ok((out.to_yaml().map_err(err)?, Some(why))),
        }
    }

    /// Reads a rendered VirtualService back: against the plan (when a template made it),
    /// and against Istio's own schema and rules (whatever made it).
    fn check_virtual_service(
        &self,
        vs: &str,
        rel: &str,
        origin: &str,
        stage: &Stage,
        templated: bool,
    ) -> Result<()> {
        let failed = |message: String| Error::Readback {
            path: rel.to_owned(),
            template: origin.to_owned(),
            message,
        };
        // Parsed back once, for both checks.
        let doc =
            VirtualService::parse(vs).map_err(|e| failed(format!("not a YAML document: {e}")))?;
        if templated {
            readback::virtual_service(&doc, self.plan, self.m, stage).map_err(failed)?;
        }
        istio_violations(doc)
            .map(|list| failed(format!("not a valid Istio VirtualService: {list}")))
            .map_or(Ok(()), Err)
    }

    /// The files of each environment: a kustomization pointing at the stage overlay
    /// (kustomize layout), or a copy of the stage's manifest (flat layout).
    fn environments(&mut self) -> Result<()> {
        let (plan, m) = (self.plan, self.m);
        for env in &m.environments {
            let i = m.stage_index(&env.stage).ok_or_else(|| {
                Error::Internal(format!(
                    "environment {} runs stage {}, which migration {} does not have",
                    env.name, env.stage, m.name
                ))
            })?;
            let stage = &m.stages[i];
            let part = Part::Env(env.name.clone());
            let path = self.path(&part, Kind::Manifest);
            let rel = self.rel(&path);
            let text = match plan.layout {
                Layout::Kustomize => self.environment(i, stage, &env.name, &rel)?,
                Layout::Flat => self.stage_text(i, stage)?,
            };
            self.push(path, rel, part, Kind::Manifest, &text);
        }
        Ok(())
    }

    /// An environment's kustomization: the stage folder it runs.
    fn environment(&self, i: usize, stage: &Stage, env: &str, rel: &str) -> Result<String> {
        let mut ctx = context(self.plan, self.m, stage, i);
        ctx.env = Some(env);
        let resource = layout::env_resource(i + 1, self.m.stages.len(), &stage.name);
        ctx.resource = Some(resource.clone());
        let text = self.templates.render(ENVIRONMENT, &ctx)?;
        readback::environment(&text, &resource).map_err(|message| Error::Readback {
            path: rel.to_owned(),
            template: self.templates.origin(ENVIRONMENT).to_owned(),
            message,
        })?;
        Ok(text)
    }

    /// The text (without header) of stage `i`'s rendered VirtualService.
    fn stage_text(&self, i: usize, stage: &Stage) -> Result<String> {
        let part = Part::Stage {
            number: i + 1,
            name: stage.name.clone(),
        };
        self.files
            .iter()
            .find(|f| f.part == part && f.kind == Kind::Manifest)
            .and_then(|f| f.contents.strip_prefix(self.head))
            .map(str::to_owned)
            .ok_or_else(|| Error::Internal(format!("stage {} was not rendered", stage.name)))
    }

    /// Renders the `kustomization.yaml` of `part`'s folder, checks that it lists the
    /// part's manifest, and adds it.
    fn kustomization(&mut self, ctx: &Context<'_>, part: &Part) -> Result<()> {
        let k = self.templates.render(KUSTOMIZATION, ctx)?;
        let path = self.path(part, Kind::Kustomization);
        let rel = self.rel(&path);
        readback::kustomization(&k, layout::manifest_name(part)).map_err(|message| {
            Error::Readback {
                path: rel.clone(),
                template: self.templates.origin(KUSTOMIZATION).to_owned(),
                message,
            }
        })?;
        self.push(path, rel, part.clone(), Kind::Kustomization, &k);
        Ok(())
    }

    /// The migration-level files: the GCPBackend and the verification Job, each in its
    /// own kustomize folder (kustomize layout) or as one file (flat layout).
    fn extras(&mut self) -> Result<()> {
        let m = self.m;
        let extras = [
            (
                m.gcp_backend.is_some(),
                GCPBACKEND,
                Part::GcpBackend,
                Extra::GcpBackend,
            ),
            (
                m.verify.as_ref().is_some_and(|v| !v.every_stage),
                VERIFY_JOB,
                Part::VerifyJob,
                Extra::VerifyJob(m.verify.as_ref().map_or("", |v| v.name.as_str())),
            ),
        ];
        for (wanted, template, part, kind) in extras {
            if wanted {
                self.extra(template, part, kind)?;
            }
        }
        Ok(())
    }

    fn extra(&mut self, template: &str, part: Part, kind: Extra<'_>) -> Result<()> {
        let mut ctx = context(self.plan, self.m, &self.m.stages[0], 0);
        let text = self.templates.render(template, &ctx)?;
        self.checked_extra(&text, part.clone(), kind)?;
        if self.plan.layout == Layout::Kustomize {
            ctx.resources = vec![layout::manifest_name(&part).to_owned()];
            self.kustomization(&ctx, &part)?;
        }
        Ok(())
    }

    /// Reads a rendered GCPBackend or Job back, and adds it.
    fn checked_extra(&mut self, text: &str, part: Part, kind: Extra<'_>) -> Result<()> {
        let path = self.path(&part, Kind::Manifest);
        let rel = self.rel(&path);
        let template = match kind {
            Extra::GcpBackend => GCPBACKEND,
            Extra::VerifyJob(_) => VERIFY_JOB,
        };
        readback::extra(text, kind, self.m).map_err(|message| Error::Readback {
            path: rel.clone(),
            template: self.templates.origin(template).to_owned(),
            message,
        })?;
        self.push(path, rel, part, Kind::Manifest, text);
        Ok(())
    }
}

/// The hex SHA-256 of `parts`, each followed by a NUL byte (so that no two lists of
/// texts run together the same way).
fn digest(parts: &[&str]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    format!("{:x}", h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use templates::BUILTIN;

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
        assert!(err.contains("failed the read-back check"), "{err}");
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
