//! The plan `import` proposes, as text: every value escaped as a YAML scalar
//! ([`escape::scalar`]), every comment kept on its line ([`escape::comment`]).

use std::fmt::Write as _;

use super::{Import, Proposal, Url, OUTPUT, STAGES};
use crate::yaml::escape;

impl Import {
    /// The plan file's text. `patterns` are the Cloud Run host patterns, as written.
    pub fn text(&self, patterns: &[String]) -> String {
        let c = |s: &str| escape::comment(s);
        let stages: Vec<String> = STAGES.iter().map(|w| format!("{{weight: {w}}}")).collect();
        let steps: Vec<String> = STAGES.iter().map(|w| format!("{w}%")).collect();
        let mut out = format!(
            "{modeline}
# Migration plan proposed by `cutover import` from the repository's ServiceEntries whose
# hosts are Cloud Run hosts, matching: {patterns}
# Review every value: the comment beside it says where it came from. `cutover validate`
# refuses every `<...>` placeholder until it is replaced. Every migration moves {steps}
# of requests to the GCPBackend, one reviewed stage at a time: check the error rate of
# requests to `from` between stages (`cutover explain`).
version: 1
output: {output}            # the generated tree, relative to this file
defaults:
  stages: [{stages}]
",
            modeline = crate::plan::schema::modeline(),
            patterns = c(&patterns.join(", ")),
            steps = steps.join(", "),
            output = escape::scalar(OUTPUT),
            stages = stages.join(", "),
        );
        if self.proposals.is_empty() {
            out.push_str("migrations: []\n");
        } else {
            out.push_str("migrations:\n");
        }
        for p in &self.proposals {
            migration(&mut out, p);
        }
        self.closing(&mut out);
        out
    }

    /// The closing comments: hosts not migrated, hosts that are not Cloud Run hosts, and
    /// what was not read.
    fn closing(&self, out: &mut String) {
        let c = |s: &str| escape::comment(s);
        if !self.refusals.is_empty() {
            out.push_str("\n# Cloud Run hosts not migrated:\n");
            for r in &self.refusals {
                let _ = writeln!(
                    out,
                    "# - {} ({}): {}",
                    c(&r.entry.host),
                    c(&r.entry.source()),
                    c(&r.reason)
                );
                for place in &r.places {
                    let _ = writeln!(out, "#     {}", c(place));
                }
            }
        }
        if !self.others.is_empty() {
            out.push_str(
                "\n# ServiceEntry hosts that are not Cloud Run hosts (not migrated; `--host-pattern` adds hosts):\n",
            );
            for e in &self.others {
                let _ = writeln!(out, "# - {} ({})", c(&e.host), c(&e.source()));
            }
        }
        if !self.notes.is_empty() || !self.unread_plans.is_empty() {
            out.push_str("\n# Not read:\n");
            for n in self.unread_plans.iter().chain(&self.notes) {
                let _ = writeln!(out, "# - {}: {}", c(&n.file), c(&n.why));
            }
        }
    }
}

/// One migration's entry.
fn migration(out: &mut String, p: &Proposal) {
    let q = |s: &str| escape::scalar(s);
    let c = |s: &str| escape::comment(s);
    let host = p.host();
    let entry = &p.entries[0];
    let _ = writeln!(out, "  # {}: matches {}", c(host), c(&p.pattern));
    let name_from = match p.url.service() {
        Some(_) => "the Cloud Run service name in the host",
        None => "the host's first label",
    };
    let _ = writeln!(out, "  - name: {}    # from {name_from}", q(&p.name));
    let _ = writeln!(
        out,
        "    namespace: {}    # {}",
        q(&p.namespace.value),
        c(&p.namespace.from)
    );
    match (&p.base, &p.virtual_service) {
        (Some(b), _) => {
            let _ = writeln!(
                out,
                "    base: {}    # the one VirtualService that sends to the host: {}",
                q(&b.path),
                c(&b.source)
            );
            let _ = writeln!(out, "    virtualService: {}", q(&b.name));
        }
        (None, vs) => {
            let _ = writeln!(
                out,
                "    # No VirtualService sends to the host: cutover renders a new one for it."
            );
            if let Some(vs) = vs {
                let _ = writeln!(out, "    virtualService: {}", q(vs));
            }
            let _ = writeln!(
                out,
                "    hosts: [{}]    # the host clients call: the ServiceEntry host",
                q(host)
            );
        }
    }
    let _ = writeln!(
        out,
        "    from: {}    # from: {}",
        q(host),
        c(&entry.source())
    );
    for also in &p.entries[1..] {
        let _ = writeln!(out, "    # also declared by {}", c(&also.source()));
    }
    let _ = writeln!(out, "    to: {}    # {}", q(&p.to.value), c(&p.to.from));
    gcp_backend(out, p);
}

/// The `gcpBackend` of a migration, from what the host's URL says.
fn gcp_backend(out: &mut String, p: &Proposal) {
    let q = |s: &str| escape::scalar(s);
    let (service, service_from) = match (&p.url, p.url.service()) {
        (_, Some(s)) => (s, format!("from the host: {}", p.url.describe())),
        (Url::BadService { service }, None) => (
            "<cloud-run-service>",
            format!("the host's service part `{service}` is not a service name Cloud Run allows: write the Cloud Run service's name"),
        ),
        (_, None) => (
            "<cloud-run-service>",
            "the host is not a run.app URL: write the Cloud Run service's name".to_owned(),
        ),
    };
    let (region, region_from) = match p.url.region() {
        Some(r) => (r, "from the host".to_owned()),
        None => (
            "<region>",
            format!("the host does not say: {}", p.url.describe()),
        ),
    };
    let _ = writeln!(out, "    gcpBackend:");
    let _ = writeln!(
        out,
        "      service: {}    # {}",
        q(service),
        escape::comment(&service_from)
    );
    let _ = writeln!(
        out,
        "      region: {}    # {}",
        q(region),
        escape::comment(&region_from)
    );
    if let Url::Deterministic { project_number, .. } = &p.url {
        let _ = writeln!(
            out,
            "      # project number {} (from the host); `project` takes the project ID",
            escape::comment(project_number)
        );
    }
}
