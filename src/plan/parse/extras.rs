//! What a migration may render beside its stages: `gcpBackend` and `verify`.

use super::{join, lookup, Ctx, LABEL_HELP};
use crate::plan::names;
use crate::plan::{GcpBackend, GitOps, Layout, VerifyJob};
use crate::yaml::{Node, Resolved, Span, Value};

/// The keys of `gcpBackend`.
pub(crate) const GCP_KEYS: &[&str] = &["name", "service", "region", "project"];
/// The keys of `verify`.
pub(crate) const VERIFY_KEYS: &[&str] = &[
    "name",
    "scheme",
    "port",
    "path",
    "image",
    "everyStage",
    "requests",
    "waitSeconds",
    "gitops",
];

impl Ctx<'_> {
    /// `gcpBackend`, with its `name` if set (it defaults to the migration's).
    pub(super) fn gcp_backend(
        &mut self,
        v: &Node,
        field: &str,
    ) -> Option<(Option<String>, GcpBackend)> {
        let entries = self.mapping(v, field, GCP_KEYS)?;
        let get = |k: &str| lookup(&entries, k);
        let mut ok = true;
        let mut name = None;
        if let Some(n) = get("name") {
            name = self.checked(
                n,
                &join(field, "name"),
                names::is_dns1123_subdomain,
                |s| format!("`{s}` is not a DNS-1123 subdomain"),
                "use lowercase letters, digits, `-` and `.`",
            );
            ok &= name.is_some();
        }
        let service = self.gcp_service(v, field, get("service"));
        let region = self.gcp_region(v, field, get("region"));
        let mut project = None;
        if let Some(n) = get("project") {
            project = self.checked(
                n,
                &join(field, "project"),
                names::is_project,
                |s| format!("`{s}` is not a Google Cloud project ID"),
                "6 to 30 lowercase letters, digits and `-`, starting with a letter",
            );
            ok &= project.is_some();
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

    /// `gcpBackend.service`: the Cloud Run service name (required).
    fn gcp_service(&mut self, v: &Node, field: &str, n: Option<&Node>) -> Option<String> {
        let Some(n) = n else {
            self.error(
                field,
                v.span,
                "missing required field `service` (the Cloud Run service name)",
            );
            return None;
        };
        self.checked(
            n,
            &join(field, "service"),
            names::is_cloud_run_service,
            |s| format!("`{s}` is not a Cloud Run service name"),
            "1 to 49 lowercase letters, digits and `-`, starting with a letter and not ending with `-`",
        )
    }

    /// `gcpBackend.region`: exactly one region (required).
    fn gcp_region(&mut self, v: &Node, field: &str, n: Option<&Node>) -> Option<String> {
        let Some(n) = n else {
            let d = self.error(field, v.span, "missing required field `region`");
            Self::help(
                d,
                "the Cloud Run service's region, e.g. `region: europe-west1` (exactly one)",
            );
            return None;
        };
        if matches!(n.value, Value::Seq(_)) {
            let d = self.error(
                &join(field, "region"),
                n.span,
                "a GCPBackend takes exactly one region",
            );
            Self::help(d, "write a single region: `region: europe-west1`");
            return None;
        }
        self.checked(
            n,
            &join(field, "region"),
            names::is_region,
            |s| format!("`{s}` is not a Google Cloud region"),
            "e.g. `europe-west1`, `us-central1`",
        )
    }

    /// `verify`, with its `name` and where it is written, if set (it defaults to
    /// `<migration>-verify`).
    pub(super) fn verify(
        &mut self,
        v: &Node,
        field: &str,
    ) -> Option<(Option<(String, Span)>, VerifyJob)> {
        let entries = self.mapping(v, field, VERIFY_KEYS)?;
        let get = |k: &str| lookup(&entries, k);
        let mut ok = true;
        let mut out = VerifyJob {
            name: String::new(),
            scheme: "http".to_owned(),
            port: None,
            path: "/".to_owned(),
            image: VerifyJob::DEFAULT_IMAGE.to_owned(),
            every_stage: false,
            requests: VerifyJob::DEFAULT_REQUESTS,
            wait_seconds: VerifyJob::DEFAULT_WAIT_SECONDS,
            gitops: GitOps::None,
        };
        let mut name = None;
        if let Some(n) = get("name") {
            name = self
                .checked(
                    n,
                    &join(field, "name"),
                    names::is_dns1123_label,
                    |s| format!("`{s}` is not a DNS-1123 label"),
                    LABEL_HELP,
                )
                .map(|s| (s, n.span));
            ok &= name.is_some();
        }
        if let Some(n) = get("scheme") {
            let scheme = self.checked(
                n,
                &join(field, "scheme"),
                |s| matches!(s, "http" | "https"),
                |s| format!("unknown scheme `{s}`"),
                "use `http` or `https`",
            );
            ok &= set(&mut out.scheme, scheme);
        }
        if let Some(n) = get("port") {
            ok &= set(&mut out.port, self.verify_port(n, field).map(Some));
        }
        if let Some(n) = get("path") {
            ok &= set(&mut out.path, self.request_path(n, field));
        }
        if let Some(n) = get("image") {
            ok &= set(&mut out.image, self.image(n, field));
        }
        if let Some(n) = get("everyStage") {
            ok &= set(&mut out.every_stage, self.every_stage(n, field));
        }
        if let Some(n) = get("requests") {
            let max = VerifyJob::MAX_REQUESTS;
            ok &= set(
                &mut out.requests,
                self.count(n, &join(field, "requests"), 1, max),
            );
        }
        if let Some(n) = get("waitSeconds") {
            let max = VerifyJob::MAX_WAIT_SECONDS;
            ok &= set(
                &mut out.wait_seconds,
                self.count(n, &join(field, "waitSeconds"), 0, max),
            );
        }
        if let Some(n) = get("gitops") {
            ok &= set(&mut out.gitops, self.gitops(n, field));
        }
        ok.then_some((name, out))
    }

    fn verify_port(&mut self, n: &Node, field: &str) -> Option<u16> {
        match n.resolve() {
            Some(Resolved::Int(p)) if (1..=65535).contains(&p) => u16::try_from(p).ok(),
            Some(Resolved::Int(p)) => {
                self.error(
                    &join(field, "port"),
                    n.span,
                    format!("port {p} is outside 1..65535"),
                );
                None
            }
            _ => {
                let found = n.type_name();
                self.error(
                    &join(field, "port"),
                    n.span,
                    format!("expected a port from 1 to 65535, found {found}"),
                );
                None
            }
        }
    }

    /// `verify.path`: starts with `/`, no spaces.
    fn request_path(&mut self, n: &Node, field: &str) -> Option<String> {
        self.checked(
            n,
            &join(field, "path"),
            |s| s.starts_with('/') && !s.chars().any(|c| c.is_whitespace() || c.is_control()),
            |s| format!("request path `{s}` must start with `/` and hold no spaces"),
            "e.g. `/healthz`; percent-encode anything else",
        )
    }

    /// `verify.image`: a container image reference, pinned by tag or digest.
    fn image(&mut self, n: &Node, field: &str) -> Option<String> {
        let path = join(field, "image");
        let s = self.string(n, &path)?;
        if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            self.error(&path, n.span, "an image reference holds no spaces");
            return None;
        }
        if !names::is_image_reference(&s) {
            let d = self.error(&path, n.span, format!("`{s}` is not an image reference"));
            Self::help(
                d,
                "its repository path is lowercase letters, digits, `.`, `_` and `-` (after an optional `registry.host[:port]/`), e.g. `curlimages/curl:8.11.1`",
            );
            return None;
        }
        if !names::is_pinned_image(&s) {
            let d = self.error(
                &path,
                n.span,
                format!("image `{s}` is not pinned to a tag or a digest"),
            );
            Self::help(
                d,
                format!(
                    "a GitOps tool applies the Job again at every stage: name a version, e.g. `{}` or `IMAGE@sha256:DIGEST` (not `latest`)",
                    VerifyJob::DEFAULT_IMAGE
                ),
            );
            return None;
        }
        Some(s)
    }

    /// An integer in `min..=max` at `path`.
    fn count(&mut self, n: &Node, path: &str, min: u16, max: u16) -> Option<u16> {
        match n.resolve() {
            Some(Resolved::Int(i)) if (i64::from(min)..=i64::from(max)).contains(&i) => {
                u16::try_from(i).ok()
            }
            Some(Resolved::Int(i)) => {
                self.error(path, n.span, format!("{i} is outside {min}..{max}"));
                None
            }
            _ => {
                let found = n.type_name();
                self.error(
                    path,
                    n.span,
                    format!("expected an integer from {min} to {max}, found {found}"),
                );
                None
            }
        }
    }

    /// `verify.gitops`: `none`, `argocd` or `flux`.
    fn gitops(&mut self, n: &Node, field: &str) -> Option<GitOps> {
        let s = self.string(n, &join(field, "gitops"))?;
        let found = GitOps::NAMES.iter().find(|(k, _)| *k == s).map(|(_, g)| *g);
        if found.is_none() {
            let d = self.error(
                &join(field, "gitops"),
                n.span,
                format!("unknown GitOps tool `{s}`"),
            );
            Self::help(
                d,
                "use `argocd` (a PostSync hook), `flux`, or `none` (a plain Job both can run)",
            );
        }
        found
    }

    fn every_stage(&mut self, n: &Node, field: &str) -> Option<bool> {
        let path = join(field, "everyStage");
        let every = self.boolean(n, &path)?;
        if every && self.layout == Some(Layout::Flat) {
            let d = self.error(
                &path,
                n.span,
                "the flat layout has no stage overlay to put a Job in",
            );
            Self::help(
                d,
                "use `layout: kustomize`, or leave `everyStage` out and apply verify-job.yaml by hand",
            );
            return None;
        }
        Some(every)
    }
}

/// Stores a valid `value` in `slot`; whether there was one.
fn set<T>(slot: &mut T, value: Option<T>) -> bool {
    match value {
        Some(v) => {
            *slot = v;
            true
        }
        None => false,
    }
}
