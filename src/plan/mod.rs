//! Migration plans: what a plan says (the types here), how it is read and validated
//! (`parse/`), and how commands get their plans ([`load`]: the one loader, which also
//! reads the base VirtualServices and applies the confinement rule).
//!
//! Validation never stops at the first problem: every error in the file is collected,
//! each with its field path (`migrations[0].stages[2].weight`) and source location.

pub mod controllers;
pub mod discover;
pub mod edit;
pub mod import;
pub mod load;
pub mod names;
mod parse;
pub mod schema;
pub mod stage;
pub mod starter;

use std::path::{Path, PathBuf};

pub use crate::plan::load::Loader;

use crate::error::{Diagnostic, Result, Snippet};
use crate::plan::stage::Stage;
use crate::yaml::Span;

/// Largest plan file cutover reads.
pub const MAX_PLAN_BYTES: usize = 8 * 1024 * 1024;

/// The `apiVersion`s a VirtualService may be rendered with.
pub const API_VERSIONS: [&str; 3] = [
    "networking.istio.io/v1",
    "networking.istio.io/v1beta1",
    "networking.istio.io/v1alpha3",
];

/// What a plan may reach outside its repository.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Confinement {
    /// `--allow-outside-repo`: `output` and `base` paths may leave the repository
    /// (absolute paths, `..`, symlinks); every other check still applies.
    pub allow_outside_repo: bool,
}

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
    /// `allowManagedBase`: the base VirtualService may be one an Argo Rollouts `Rollout`
    /// or a Flagger `Canary` of the repository names ([`controllers`] refuses it
    /// otherwise).
    pub allow_managed_base: bool,
    /// The GCPBackend resource to render beside the stages.
    pub gcp_backend: Option<GcpBackend>,
    /// The verification Job to render.
    pub verify: Option<VerifyJob>,
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

/// A Kubernetes Job that calls, from inside the mesh, both the host clients call (through
/// the VirtualService) and the GCPBackend host, and fails unless every answer is HTTP 200
/// (with no Authorization header: the mesh adds the token).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct VerifyJob {
    /// The Job's name (with `everyStage`, the start of each stage's Job name); default
    /// `<migration>-verify`.
    pub name: String,
    /// `http` (default) or `https`.
    pub scheme: String,
    /// Port, when not the scheme's default.
    pub port: Option<u16>,
    /// Request path, starting with `/`; default `/`.
    pub path: String,
    /// Container image, pinned by tag or digest; default [`VerifyJob::DEFAULT_IMAGE`].
    pub image: String,
    /// A Job of its own in every stage overlay.
    pub every_stage: bool,
    /// Requests sent to each of the two hosts.
    pub requests: u16,
    /// Seconds to wait, once the pod's proxy is ready, before the first request.
    pub wait_seconds: u16,
    /// How a GitOps tool is told about the Job.
    pub gitops: GitOps,
}

/// Which GitOps tool the verification Job is annotated for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GitOps {
    /// A plain Job: works under Argo CD (a sync wave after the VirtualService) and Flux.
    None,
    /// An Argo CD `PostSync` hook, deleted before its next run.
    ArgoCd,
    /// Flux recreates it when a field that Kubernetes keeps immutable changes.
    Flux,
}

impl GitOps {
    /// The plan's spelling.
    pub const NAMES: [(&'static str, GitOps); 3] = [
        ("none", GitOps::None),
        ("argocd", GitOps::ArgoCd),
        ("flux", GitOps::Flux),
    ];
}

impl VerifyJob {
    /// The image used when the plan names none: curl, pinned by tag.
    pub const DEFAULT_IMAGE: &'static str = "curlimages/curl:8.11.1";
    /// Requests per host when the plan gives no number.
    pub const DEFAULT_REQUESTS: u16 = 10;
    /// Most requests per host.
    pub const MAX_REQUESTS: u16 = 100;
    /// Seconds to wait for routes when the plan gives no number.
    pub const DEFAULT_WAIT_SECONDS: u16 = 10;
    /// Longest wait.
    pub const MAX_WAIT_SECONDS: u16 = 600;
    /// Seconds one request may take (`curl --max-time`).
    pub const REQUEST_SECONDS: u32 = 10;
    /// Seconds the pod's proxy has to become ready.
    pub const PROXY_SECONDS: u32 = 60;
    /// Hex digits of the content hash in a stage's Job name.
    pub const HASH_DIGITS: usize = 8;

    /// The URL the Job requests on `host`.
    pub fn url(&self, host: &str) -> String {
        match self.port {
            Some(p) => format!("{}://{host}:{p}{}", self.scheme, self.path),
            None => format!("{}://{host}{}", self.scheme, self.path),
        }
    }

    /// `activeDeadlineSeconds`: the proxy's start, the wait, every request at its
    /// longest, and a minute to spare (the script's own bounds end it first).
    pub fn deadline_seconds(&self) -> u32 {
        Self::PROXY_SECONDS
            + u32::from(self.wait_seconds)
            + 2 * u32::from(self.requests) * Self::REQUEST_SECONDS
            + 60
    }

    /// The name of stage `number`'s Job: `<name>-<number>-<hash>`, where `hash` starts
    /// the hex digest of the Job's own text, so that a changed Job is a new object.
    pub fn stage_job_name(&self, number: usize, digest: &str) -> String {
        let hash = digest.get(..Self::HASH_DIGITS).unwrap_or(digest);
        format!("{}-{number}-{hash}", self.name)
    }

    /// The longest `name` that keeps every Job name of a migration with `stages` stages
    /// within 63 characters: with `everyStage` and `gitops: none`, each stage's Job adds
    /// `-<number>-<hash>` to it.
    pub fn max_name_len(&self, stages: usize) -> usize {
        if self.every_stage && self.gitops == GitOps::None {
            63 - 2 - Self::HASH_DIGITS - stages.to_string().len()
        } else {
            63
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
    /// relative to the root (read by the [`Loader`], from disk or from a git revision).
    pub bases: std::collections::BTreeMap<String, String>,
    /// Warnings found while validating.
    pub warnings: Vec<Diagnostic>,
}

impl Plan {
    /// The folder migration `m` writes: `<output>/<name>`.
    pub fn migration_dir(&self, m: &Migration) -> PathBuf {
        self.output.join(&m.name)
    }

    /// The folders the plan's migrations write, in plan order.
    pub fn migration_dirs(&self) -> impl Iterator<Item = PathBuf> + '_ {
        self.migrations.iter().map(|m| self.migration_dir(m))
    }

    /// Validates plan `bytes` as if they were read from `path` (absolute) in repository
    /// `root`, with `output` and `base` confined to the repository. Touches no file: the
    /// [`Loader`] does the checks on disk and reads the base VirtualServices.
    pub fn parse(file: &str, bytes: &[u8], path: &Path, root: &Path) -> Result<Plan> {
        Loader::default().parse(file, bytes, path, root)
    }
}
