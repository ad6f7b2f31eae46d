//! `cutover import`: a plan proposed from a repository's own manifests.
//!
//! The repository's YAML files (the walk of [`discover::survey`], less git-ignored files,
//! files cutover generated, Helm charts, and the files kustomizations patch) are read for
//! Istio `ServiceEntry` documents whose `spec.hosts` are Cloud Run hosts
//! ([`cloudrun::Patterns`]). For each such host, the VirtualServices whose routes send to
//! it (destinations matched as Istio reads them, [`vs::HostResolver`]) decide the
//! migration: one VirtualService is its `base`; none, a new VirtualService for the host;
//! several, or one that also sends to another Cloud Run host, a refusal (two migrations
//! cannot both rewrite one VirtualService). [`Import::text`] writes the plan, each value
//! with a comment saying where it came from; what `import` could not know is a
//! placeholder that `validate` refuses by name ([`names::PLACEHOLDERS`]).

pub mod cloudrun;
mod text;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use crate::error::{Error, Result};
use crate::plan::discover;
use crate::plan::names;
use crate::render::header;
use crate::vs::{self, HostResolver, VirtualService};
use crate::{git, repo, yaml};

pub use cloudrun::{Patterns, Url};

/// The stages every proposed migration gets: a plain weighted rollout, checked between
/// steps (no mirror stage: mirroring to Cloud Run is not supported everywhere).
pub const STAGES: [u8; 4] = [10, 25, 50, 100];

/// The output folder the plan names, relative to the plan (as `init`'s).
pub const OUTPUT: &str = "deploy/cutover";

/// What `import` is asked to do.
#[derive(Clone, Debug)]
pub struct Options {
    /// The repository root (canonical).
    pub root: PathBuf,
    /// The folder the plan will be in (absolute; `base` paths are relative to it).
    pub plan_dir: PathBuf,
    /// The files and folders whose ServiceEntries are read (absolute, inside `root`).
    /// VirtualServices and plans are read from the whole repository.
    pub paths: Vec<PathBuf>,
    /// `--to`: the GCPBackend host, with `{service}`, `{namespace}` and `{region}`.
    pub to: Option<String>,
    /// The Cloud Run hosts.
    pub patterns: Patterns,
}

/// Where something is written: a file relative to the repository root, and a line.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Place {
    /// The file, relative to the repository root.
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            f.write_str(&self.file)
        } else {
            write!(f, "{}:{}", self.file, self.line)
        }
    }
}

/// One host of one ServiceEntry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryHost {
    /// Where the host is written.
    pub place: Place,
    /// The ServiceEntry's `metadata.name` (empty when it has none).
    pub name: String,
    /// Its `metadata.namespace`.
    pub namespace: Option<String>,
    /// The host, as written.
    pub host: String,
}

impl EntryHost {
    /// `istio/se.yaml:12 (ServiceEntry cloudrun-orders)`.
    pub fn source(&self) -> String {
        format!("{} (ServiceEntry {})", self.place, self.name)
    }
}

/// One VirtualService document of the repository.
#[derive(Clone, Debug)]
pub struct VsDoc {
    /// Where its `metadata.name` is written (or the document starts).
    pub place: Place,
    /// The file (absolute).
    pub path: PathBuf,
    /// `metadata.name` (empty when it has none).
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: Option<String>,
    /// How many VirtualService documents of its file have its name.
    pub same_name_in_file: usize,
    doc: VirtualService,
}

impl VsDoc {
    /// `istio/vs.yaml:4 (VirtualService orders)`.
    pub fn source(&self) -> String {
        format!("{} (VirtualService {})", self.place, self.name)
    }

    /// Whether a route (HTTP, TCP or TLS) sends to `host`, read in the VirtualService's
    /// namespace, or else in `fallback` (where it would be applied).
    pub fn sends_to(&self, host: &str, fallback: Option<&str>) -> bool {
        let names = HostResolver::new(self.namespace.as_deref().or(fallback).unwrap_or(""));
        vs::ROUTE_KINDS
            .iter()
            .any(|k| self.doc.routes(k).any(|r| r.sends_to(host, &names)))
    }
}

/// A value of the proposed plan and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sourced {
    /// The value (possibly a placeholder).
    pub value: String,
    /// Where it came from, for the comment beside it.
    pub from: String,
}

/// The base of a proposed migration.
#[derive(Clone, Debug)]
pub struct Base {
    /// The file, relative to the plan's folder (as `base` is written).
    pub path: String,
    /// The VirtualService's `metadata.name` (the plan's `virtualService`).
    pub name: String,
    /// Where it is.
    pub source: String,
}

/// One proposed migration.
#[derive(Clone, Debug)]
pub struct Proposal {
    /// The migration's name (a DNS-1123 label, unique in the plan).
    pub name: String,
    /// The ServiceEntry host (`from`) and where it is declared (all its ServiceEntries).
    pub entries: Vec<EntryHost>,
    /// The one VirtualService sending to it, if any.
    pub base: Option<Base>,
    /// The name of the VirtualService to render, without a base.
    pub virtual_service: Option<String>,
    /// `namespace`.
    pub namespace: Sourced,
    /// `to`.
    pub to: Sourced,
    /// What the host's URL says.
    pub url: Url,
    /// The pattern the host matched.
    pub pattern: String,
}

impl Proposal {
    /// The ServiceEntry host: `from`.
    pub fn host(&self) -> &str {
        &self.entries[0].host
    }
}

/// A Cloud Run host left out, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The ServiceEntry host.
    pub entry: EntryHost,
    /// Why (one line).
    pub reason: String,
    /// The VirtualServices concerned, each `file:line (VirtualService name)`.
    pub places: Vec<String>,
}

/// A file or folder not read, and why.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Note {
    /// The file or folder, relative to the repository root.
    pub file: String,
    /// Why it was not read.
    pub why: String,
}

/// What `import` found.
#[derive(Clone, Debug, Default)]
pub struct Import {
    /// The migrations proposed, sorted by ServiceEntry file and host.
    pub proposals: Vec<Proposal>,
    /// Cloud Run hosts not migrated.
    pub refusals: Vec<Refusal>,
    /// ServiceEntry hosts that are not Cloud Run hosts.
    pub others: Vec<EntryHost>,
    /// Files and folders not read.
    pub notes: Vec<Note>,
    /// Plan files that could not be read: the hosts they migrate may be proposed again.
    pub unread_plans: Vec<Note>,
    /// The ServiceEntry and VirtualService documents read.
    pub read: (usize, usize),
}

impl Import {
    /// Whether any Cloud Run host was found (migrated or not).
    pub fn found_cloud_run(&self) -> bool {
        !self.proposals.is_empty() || !self.refusals.is_empty()
    }
}

/// Reads the repository as `opts` says and proposes the migrations.
pub fn scan(opts: &Options) -> Result<Import> {
    let mut import = Import::default();
    let (files, plans) = files(opts, &mut import.notes)?;
    let mut entries = Vec::new();
    let mut docs = Vec::new();
    for path in &files {
        let entries = opts
            .paths
            .iter()
            .any(|p| path.starts_with(p))
            .then_some(&mut entries);
        read_file(opts, path, entries, &mut docs, &mut import.notes);
    }
    import.read = (entries.len(), docs.len());
    let migrated = already_migrated(&plans, &opts.root, &mut import.unread_plans);
    propose(opts, entries, &docs, &migrated, &mut import);
    import.notes.sort();
    import.notes.dedup();
    Ok(import)
}

/// The YAML files to read (sorted) and the plan files met, noting what is skipped: those
/// of the whole repository, and those of `opts.paths` (which may be where the walk of the
/// repository does not go).
fn files(opts: &Options, notes: &mut Vec<Note>) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut yaml = BTreeSet::new();
    let mut kustomizations = BTreeSet::new();
    let mut plans = BTreeSet::new();
    let named = opts.paths.iter().filter(|p| **p != opts.root);
    for p in std::iter::once(&opts.root).chain(named) {
        if p.is_dir() {
            let s = discover::survey(p)?;
            yaml.extend(s.yaml);
            kustomizations.extend(s.kustomizations);
            plans.extend(s.plans);
            continue;
        }
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        if discover::is_plan_name(&name) {
            plans.insert(p.clone());
        } else if discover::is_kustomization_name(&name) {
            kustomizations.insert(p.clone());
        } else {
            yaml.insert(p.clone());
        }
    }
    let ignored = git::ignored_files(&opts.root, yaml.iter().chain(&kustomizations));
    let rel = |p: &Path| repo::display_rel(&opts.root, p);
    let mut patched = HashSet::new();
    for k in kustomizations.iter().filter(|k| !ignored.contains(&rel(k))) {
        if let Some(chart) = discover::chart_folder(&opts.root, k) {
            notes.push(chart_note(&opts.root, chart));
            continue;
        }
        let text = discover::read_small(k).unwrap_or_default();
        if header::plan_of(text.as_bytes()).is_some() {
            continue;
        }
        notes.push(Note {
            file: rel(k),
            why: "a kustomize source: not read (its resources are read where they are)".into(),
        });
        patched.extend(crate::check::references::patch_files(k, &text));
    }
    let mut out = Vec::new();
    for p in yaml {
        let shown = rel(&p);
        if ignored.contains(&shown) {
            continue;
        }
        if let Some(chart) = discover::chart_folder(&opts.root, &p) {
            notes.push(chart_note(&opts.root, chart));
        } else if patched.contains(&p) {
            notes.push(Note {
                file: shown,
                why: "patched by a kustomization (a kustomize source): not read".into(),
            });
        } else {
            out.push(p);
        }
    }
    Ok((out, plans.into_iter().collect()))
}

fn chart_note(root: &Path, chart: &Path) -> Note {
    Note {
        file: format!("{}/", repo::display_rel(root, chart)),
        why: "a Helm chart (Chart.yaml): not read; migrate what it renders by hand".into(),
    }
}

/// Reads the ServiceEntry (when `entries` is given) and VirtualService documents of one
/// file.
fn read_file(
    opts: &Options,
    path: &Path,
    mut entries: Option<&mut Vec<EntryHost>>,
    docs: &mut Vec<VsDoc>,
    notes: &mut Vec<Note>,
) {
    let file = repo::display_rel(&opts.root, path);
    let Some(text) = discover::read_small(path) else {
        notes.push(Note {
            file,
            why: format!("not UTF-8 text, or larger than {}: not read", too_large()),
        });
        return;
    };
    if header::plan_of(text.as_bytes()).is_some()
        || !(text.contains("ServiceEntry") || text.contains(vs::KIND))
    {
        return;
    }
    let parsed = match vs::documents(&text) {
        Ok(d) => d,
        Err(e) => {
            let why = if text.contains("{{") {
                "a template (`{{`), not YAML: not read".to_owned()
            } else {
                format!("not valid YAML ({e}): not read")
            };
            notes.push(Note { file, why });
            return;
        }
    };
    let located = yaml::locate::documents(&text);
    let line = |i: usize, field: &str| {
        located
            .get(i)
            .and_then(|d| yaml::locate::nearest(d, field))
            .map_or(0, |p| p.line)
    };
    let first_doc = docs.len();
    for (i, doc) in parsed.into_iter().enumerate() {
        let istio = doc
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|a| a.starts_with("networking.istio.io/"));
        if !istio {
            continue;
        }
        let meta = |k: &str| {
            doc.get("metadata")
                .and_then(|m| m.get(k))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let (name, namespace) = (meta("name").unwrap_or_default(), meta("namespace"));
        match doc.get("kind").and_then(Value::as_str) {
            Some("ServiceEntry") => {
                let Some(entries) = entries.as_deref_mut() else {
                    continue;
                };
                let hosts = doc
                    .get("spec")
                    .and_then(|s| s.get("hosts"))
                    .and_then(Value::as_sequence);
                for (j, h) in hosts.into_iter().flatten().enumerate() {
                    let Some(host) = h.as_str() else { continue };
                    entries.push(EntryHost {
                        place: Place {
                            file: file.clone(),
                            line: line(i, &format!("spec.hosts[{j}]")),
                        },
                        name: name.clone(),
                        namespace: namespace.clone(),
                        host: host.to_owned(),
                    });
                }
            }
            Some(vs::KIND) => docs.push(VsDoc {
                place: Place {
                    file: file.clone(),
                    line: line(i, "metadata.name"),
                },
                path: path.to_path_buf(),
                name,
                namespace,
                same_name_in_file: 0,
                doc: VirtualService::from(doc),
            }),
            _ => {}
        }
    }
    count_names(&mut docs[first_doc..]);
}

/// Sets how many of the VirtualServices of one file (`mine`) have each one's name.
fn count_names(mine: &mut [VsDoc]) {
    let counts: Vec<usize> = mine
        .iter()
        .map(|d| mine.iter().filter(|o| o.name == d.name).count())
        .collect();
    for (d, n) in mine.iter_mut().zip(counts) {
        d.same_name_in_file = n;
    }
}

/// The size above which a file is not read ([`discover::read_small`]), in words.
fn too_large() -> String {
    format!("{} MiB", crate::plan::MAX_PLAN_BYTES / (1024 * 1024))
}

/// The `from` hosts of the repository's plans, with the plan file and migration: already
/// migrated. A plan is read as YAML, not as a plan: one `import` just wrote, its
/// placeholders not yet filled in, is invalid but names its hosts all the same. A plan
/// that is not YAML is noted in `unread`: its hosts may be proposed again.
fn already_migrated(
    plans: &[PathBuf],
    root: &Path,
    unread: &mut Vec<Note>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for p in plans {
        let file = repo::display_rel(root, p);
        let hosts = discover::read_small(p)
            .ok_or_else(|| format!("unreadable, not UTF-8 text, or larger than {}", too_large()))
            .and_then(|text| plan_hosts(&text));
        match hosts {
            Ok(hosts) => {
                for (host, migration) in hosts {
                    out.entry(host.to_ascii_lowercase())
                        .or_insert_with(|| format!("{file} ({migration})"));
                }
            }
            Err(why) => unread.push(Note {
                file,
                why: format!(
                    "a plan file that could not be read ({why}): the hosts it migrates are not known, and may be proposed again"
                ),
            }),
        }
    }
    out
}

/// The `migrations[*].from` strings of a plan's text, each with `migration NAME` (or
/// `migrations[I]` when it has no name), whether or not the plan is valid.
fn plan_hosts(text: &str) -> std::result::Result<Vec<(String, String)>, String> {
    let doc = yaml::parse(text).map_err(|e| format!("not YAML: {}", e.message))?;
    let get = |node: &yaml::Node, key: &str| match &node.value {
        yaml::Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v.clone()),
        _ => None,
    };
    let migrations = doc.as_ref().and_then(|d| get(d, "migrations"));
    let Some(yaml::Node {
        value: yaml::Value::Seq(list),
        ..
    }) = migrations
    else {
        return Ok(Vec::new());
    };
    Ok(list
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let from = get(m, "from")?.as_str()?.to_owned();
            let name = get(m, "name")
                .and_then(|n| n.as_str().map(|s| format!("migration {s}")))
                .unwrap_or_else(|| format!("migrations[{i}]"));
            Some((from, name))
        })
        .collect())
}

/// Groups the ServiceEntry hosts, and proposes or refuses each Cloud Run host.
fn propose(
    opts: &Options,
    entries: Vec<EntryHost>,
    docs: &[VsDoc],
    migrated: &BTreeMap<String, String>,
    import: &mut Import,
) {
    // Hosts by name (DNS names are case-insensitive), each with every ServiceEntry that
    // declares it, in file order.
    let mut hosts: BTreeMap<String, Vec<EntryHost>> = BTreeMap::new();
    for e in entries {
        hosts
            .entry(e.host.to_ascii_lowercase())
            .or_default()
            .push(e);
    }
    let mut cloud_run: Vec<(Vec<EntryHost>, String)> = Vec::new();
    for (_, group) in hosts {
        match opts.patterns.matching(&group[0].host) {
            Some(p) => cloud_run.push((group, p.to_owned())),
            None => import.others.push(group[0].clone()),
        }
    }
    cloud_run.sort_by(|a, b| (&a.0[0].place, &a.0[0].host).cmp(&(&b.0[0].place, &b.0[0].host)));
    import
        .others
        .sort_by(|a, b| (&a.place, &a.host).cmp(&(&b.place, &b.host)));
    // Which Cloud Run hosts each VirtualService sends to.
    let senders: Vec<Vec<&VsDoc>> = cloud_run
        .iter()
        .map(|(group, _)| senders(group, docs))
        .collect();
    let mut taken: HashSet<String> = HashSet::new();
    for (i, (group, pattern)) in cloud_run.iter().enumerate() {
        let entry = &group[0];
        let refuse = |reason: String, places: Vec<String>| Refusal {
            entry: entry.clone(),
            reason,
            places,
        };
        if let Some(plan) = migrated.get(&entry.host.to_ascii_lowercase()) {
            import
                .refusals
                .push(refuse(format!("already the `from` of {plan}"), Vec::new()));
            continue;
        }
        if let Err(e) = names::plan_destination(&entry.host) {
            import.refusals.push(refuse(
                format!(
                    "{}; a migration's `from` names one host",
                    e.message("host", &entry.host)
                ),
                Vec::new(),
            ));
            continue;
        }
        let found = &senders[i];
        match found.as_slice() {
            [] => {}
            [one] => {
                let shared: Vec<&str> = cloud_run
                    .iter()
                    .zip(&senders)
                    .filter(|((g, _), s)| {
                        g[0].host != entry.host && s.iter().any(|d| std::ptr::eq(*d, *one))
                    })
                    .map(|((g, _), _)| g[0].host.as_str())
                    .collect();
                if let Some(why) =
                    unusable(one, &shared).or_else(|| unusable_path(&opts.plan_dir, &one.path))
                {
                    import.refusals.push(refuse(why, vec![one.source()]));
                    continue;
                }
            }
            several => {
                import.refusals.push(refuse(
                    format!(
                        "{} VirtualServices send to it; cutover migrates one VirtualService per host: merge them, or migrate the host by hand",
                        several.len()
                    ),
                    several.iter().map(|d| d.source()).collect(),
                ));
                continue;
            }
        }
        let proposal = proposal(
            opts,
            group,
            pattern,
            found.first().copied(),
            docs,
            &mut taken,
        );
        import.proposals.push(proposal);
    }
}

/// The VirtualServices that send to the host of `group` (read in each VirtualService's
/// namespace, or else the ServiceEntry's).
fn senders<'d>(group: &[EntryHost], docs: &'d [VsDoc]) -> Vec<&'d VsDoc> {
    let entry = &group[0];
    docs.iter()
        .filter(|d| d.sends_to(&entry.host, entry.namespace.as_deref()))
        .collect()
}

/// Why the one VirtualService sending to a host cannot be its base, if it cannot.
fn unusable(doc: &VsDoc, shared: &[&str]) -> Option<String> {
    if !shared.is_empty() {
        return Some(format!(
            "its VirtualService also sends to the Cloud Run host{} {}; two migrations cannot both rewrite one VirtualService: migrate them together by hand",
            if shared.len() == 1 { "" } else { "s" },
            shared.join(", ")
        ));
    }
    if !names::is_dns1123_subdomain(&doc.name) {
        return Some(
            "its VirtualService has no `metadata.name` that is a DNS-1123 subdomain".into(),
        );
    }
    // A base Istio refuses would be refused by `validate`: said here, with the reason.
    if let Some(v) =
        crate::check::istio::virtual_service(&vs::to_json(doc.doc.as_value().clone())).first()
    {
        return Some(format!(
            "its VirtualService is not one Istio accepts ({}: {}); fix it first",
            v.path, v.message
        ));
    }
    if doc.same_name_in_file > 1 {
        return Some(format!(
            "its file holds {} VirtualServices named `{}`, and a plan's `virtualService` picks one by name",
            doc.same_name_in_file, doc.name
        ));
    }
    None
}

/// Why the file `path` cannot be written as a `base` relative to `plan_dir`, if it cannot:
/// a name that is not UTF-8 (the plan would name another file), or one `validate` refuses
/// (a control character, such as a newline).
fn unusable_path(plan_dir: &Path, path: &Path) -> Option<String> {
    if path.to_str().is_none() {
        return Some(format!(
            "its file's path {} is not UTF-8, which a plan's `base` cannot name: rename the file",
            path.to_string_lossy().escape_debug()
        ));
    }
    let rel = relative_path(plan_dir, path);
    rel.chars().any(char::is_control).then(|| {
        format!(
            "its file's path \"{}\" holds a control character, which `validate` refuses in `base`: rename the file",
            rel.escape_debug()
        )
    })
}

/// The migration proposed for the host of `group`.
fn proposal(
    opts: &Options,
    group: &[EntryHost],
    pattern: &str,
    base: Option<&VsDoc>,
    docs: &[VsDoc],
    taken: &mut HashSet<String>,
) -> Proposal {
    let entry = &group[0];
    let url = Url::parse(&entry.host);
    let namespace = base
        .and_then(|b| b.namespace.as_ref().map(|n| (n, b.source())))
        .or_else(|| {
            group
                .iter()
                .find_map(|e| e.namespace.as_ref().map(|n| (n, e.source())))
        })
        .filter(|(n, _)| names::is_dns1123_label(n))
        .map_or_else(
            || Sourced {
                value: "<namespace>".into(),
                from: "no namespace in the VirtualService or the ServiceEntry".into(),
            },
            |(n, from)| Sourced {
                value: n.clone(),
                from: format!("from: {from}"),
            },
        );
    let name = unique_name(&migration_name(&url, &entry.host), taken);
    let virtual_service = match base {
        Some(_) => None,
        None => Some(free_vs_name(&name, &namespace.value, docs)),
    };
    let to = match &opts.to {
        Some(t) => Sourced {
            value: expand(t, url.service(), Some(&namespace.value), url.region()),
            from: format!("from: --to {t}"),
        },
        None => Sourced {
            value: "<gcp-backend-host>".into(),
            from: "give --to, or write the GCPBackend host".into(),
        },
    };
    Proposal {
        name,
        entries: group.to_vec(),
        base: base.map(|b| Base {
            path: relative_path(&opts.plan_dir, &b.path),
            name: b.name.clone(),
            source: b.source(),
        }),
        virtual_service,
        namespace,
        to,
        url,
        pattern: pattern.to_owned(),
    }
}

/// A DNS-1123 label for the migration: the Cloud Run service name, or the host's first
/// label made one.
fn migration_name(url: &Url, host: &str) -> String {
    if let Some(s) = url.service() {
        return s.to_owned();
    }
    let first = host
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let cleaned: String = first
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let mut cleaned = cleaned.trim_matches('-').to_owned();
    cleaned.truncate(50);
    let cleaned = cleaned.trim_end_matches('-');
    if cleaned.is_empty() {
        "migration".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// `name`, or `name-2`, `name-3`, ... : the first not in `taken`, which it joins.
fn unique_name(name: &str, taken: &mut HashSet<String>) -> String {
    let mut n = 1;
    loop {
        let candidate = if n == 1 {
            name.to_owned()
        } else {
            let suffix = format!("-{n}");
            let keep = name.len().min(63 - suffix.len());
            format!("{}{suffix}", name[..keep].trim_end_matches('-'))
        };
        if taken.insert(candidate.clone()) {
            return candidate;
        }
        n += 1;
    }
}

/// The name of a new VirtualService: `name`, unless a VirtualService of the repository in
/// that namespace has it (`name-cutover`, ...).
fn free_vs_name(name: &str, namespace: &str, docs: &[VsDoc]) -> String {
    let mut taken: HashSet<String> = docs
        .iter()
        .filter(|d| d.namespace.as_deref().is_none_or(|n| n == namespace))
        .map(|d| d.name.clone())
        .collect();
    if !taken.contains(name) {
        return name.to_owned();
    }
    unique_name(&format!("{name}-cutover"), &mut taken)
}

/// The placeholders `--to` may hold.
pub const TO_PLACEHOLDERS: [&str; 3] = ["service", "namespace", "region"];

/// `--to` with `{service}`, `{namespace}` and `{region}` replaced; an unknown value is
/// the placeholder `validate` refuses by name.
pub fn expand(
    template: &str,
    service: Option<&str>,
    namespace: Option<&str>,
    region: Option<&str>,
) -> String {
    template
        .replace("{service}", service.unwrap_or("<cloud-run-service>"))
        .replace("{namespace}", namespace.unwrap_or("<namespace>"))
        .replace("{region}", region.unwrap_or("<region>"))
}

/// Checks a `--to` template: only known `{...}` placeholders, and a host name once they
/// are filled in.
pub fn check_to(template: &str) -> std::result::Result<(), String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| format!("`{template}`: a `{{` without its `}}`"))?;
        let word = &rest[open + 1..open + close];
        if !TO_PLACEHOLDERS.contains(&word) {
            return Err(format!(
                "`{template}`: unknown placeholder `{{{word}}}`; use {{service}}, {{namespace}} or {{region}}"
            ));
        }
        rest = &rest[open + close + 1..];
    }
    let sample = expand(template, Some("orders"), Some("shop"), Some("europe-west1"));
    if sample.contains('}') || !names::is_host(&sample) {
        return Err(format!(
            "`{template}` does not make a host name (with service `orders`, namespace `shop` and region `europe-west1` it is `{sample}`)"
        ));
    }
    Ok(())
}

/// `to` (absolute) relative to the folder `from` (absolute), `/`-separated, `..` where
/// needed.
fn relative_path(from: &Path, to: &Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to_parts: Vec<_> = to.components().collect();
    let common = from
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = vec!["..".to_owned(); from.len() - common];
    parts.extend(
        to_parts[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// The error for a path to read outside the repository of the plan.
pub fn outside(path: &Path, root: &Path) -> Error {
    Error::Import(crate::error::ImportError::Outside {
        path: path.to_path_buf(),
        root: root.to_path_buf(),
    })
}

#[cfg(test)]
mod tests;
