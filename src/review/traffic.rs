//! The traffic facts a change moves, for reviewers: per migration and stage, what share
//! of requests goes to the GCPBackend (`to`) and the ServiceEntry (`from`) host, and
//! what is mirrored, before and after. Manifests are compared as YAML documents, not
//! as lines.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use serde_yaml::Value;

use crate::layout::{self, Kind, Part};
use crate::plan::stage::Percent;
use crate::review::diff::{FileChange, Tree};
use crate::vs::{HostResolver, Route, VirtualService};

/// What one stage's VirtualService does with traffic.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Traffic {
    /// Percentage of requests served by the `to` host (the GCPBackend).
    pub to: Option<i64>,
    /// Percentage of requests served by the `from` host (the ServiceEntry).
    pub from: Option<i64>,
    /// Percentage of requests mirrored to `to`, for mirror stages.
    pub mirror: Option<f64>,
    /// The GCPBackend host.
    pub to_host: Option<String>,
    /// The ServiceEntry host.
    pub from_host: Option<String>,
    /// `spec.hosts`.
    pub hosts: Vec<String>,
}

/// Reads the traffic facts of a VirtualService rendered by cutover (the `to`
/// destination first, or a single `from` destination with a mirror). `None` when the
/// bytes are not a VirtualService. Shares are Istio's reading of the weights
/// ([`crate::vs::Route::weights`]); weights Istio would refuse leave them unknown.
pub fn traffic(bytes: &[u8]) -> Option<Traffic> {
    traffic_between(bytes, None)
}

/// What a migration moves: from host `from` to host `to`, in `namespace` (where the
/// short hosts of a VirtualService without one are read, [`HostResolver::of`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move<'a> {
    /// The ServiceEntry host.
    pub from: &'a str,
    /// The GCPBackend host.
    pub to: &'a str,
    /// The migration's namespace.
    pub namespace: &'a str,
}

/// [`traffic`], for a migration's [`Move`], when known: the route read is then the last
/// HTTP route that sends (or mirrors) to either host (a header canary's route comes
/// before the weighted one), and each one's share adds up the weights of its
/// destinations (a migrated `base` may hold other routes, last among them, other
/// destinations beside the two, and one `to` destination per header set). Hosts are
/// compared as Istio reads them ([`HostResolver`]: `reviews` is `from` when `from` is
/// `reviews.<namespace>.svc.cluster.local`).
pub fn traffic_between(bytes: &[u8], moves: Option<Move<'_>>) -> Option<Traffic> {
    let vs = VirtualService::parse(std::str::from_utf8(bytes).ok()?).ok()?;
    if !VirtualService::is_one(&vs) {
        return None;
    }
    vs.get("spec")?;
    let hosts = vs
        .hosts()
        .unwrap_or_default()
        .into_iter()
        .map(str::to_owned)
        .collect();
    match moves.and_then(|m| shares_of(&vs, m)) {
        Some(t) => Some(Traffic { hosts, ..t }),
        None => last_route(&vs, hosts),
    }
}

/// The shares of `from` and `to` in the last HTTP route that sends or mirrors to either
/// (`hosts` left empty: the caller's).
fn shares_of(vs: &VirtualService, m: Move<'_>) -> Option<Traffic> {
    let (from, to) = (m.from, m.to);
    let names = HostResolver::of(vs, m.namespace);
    // The last route that sends to `from` (a stage keeps `from` in every route it
    // rewrites, at weight 0 when done); else the last that sends or mirrors to `to`. A base
    // may end with its own route to `to`, which says nothing about the stage.
    let route = vs
        .http_routes()
        .rev()
        .find(|r| r.sends_to(from, &names))
        .or_else(|| {
            vs.http_routes()
                .rev()
                .find(|r| mirror_to(r, to, &names).is_some() || r.sends_to(to, &names))
        })?;
    let weights = route.weights().ok();
    let total: u64 = weights.iter().flatten().sum();
    let share = |host: &str| -> Option<i64> {
        let w = weights.as_ref()?;
        let sum: u64 = route
            .destinations()
            .into_iter()
            .flatten()
            .zip(w)
            .filter(|(d, _)| d.is(host, &names))
            .map(|(_, w)| *w)
            .sum();
        let pct = sum
            .saturating_mul(100)
            .saturating_add(total / 2)
            .checked_div(total)
            .unwrap_or(0);
        i64::try_from(pct).ok()
    };
    Some(Traffic {
        to: share(to),
        from: share(from),
        mirror: mirror_to(&route, to, &names),
        to_host: Some(to.to_owned()),
        from_host: Some(from.to_owned()),
        hosts: Vec::new(),
    })
}

/// The percentage of its requests `route` mirrors to `to` (`mirror` with
/// `mirrorPercentage`, or an entry of `mirrors` with its `percentage`; 100 when not
/// given), or `None`: mirrors to other hosts do not count.
fn mirror_to(route: &Route<'_>, to: &str, names: &HostResolver) -> Option<f64> {
    let pct = |v: Option<&Value>| {
        v.and_then(|p| p.get("value"))
            .and_then(Value::as_f64)
            .unwrap_or(100.0)
    };
    if route.mirror_host().is_some_and(|h| names.same(h, to)) {
        return Some(route.mirror_percentage().unwrap_or(100.0));
    }
    let mirrors = route.as_value().get("mirrors")?.as_sequence()?;
    mirrors.iter().find_map(|m| {
        let host = m.get("destination")?.get("host")?.as_str()?;
        names.same(host, to).then(|| pct(m.get("percentage")))
    })
}

/// The traffic of the last HTTP route with destinations (routes that match on headers,
/// if any, come before it): how cutover's own templates write a stage.
fn last_route(vs: &VirtualService, hosts: Vec<String>) -> Option<Traffic> {
    let route = vs
        .http_routes()
        .rev()
        .find(|r| r.destinations().is_some())?;
    let weights = route.weights().ok();
    // (host, share in percent; `None`: unknown)
    let dests: Vec<(String, Option<i64>)> = route
        .destinations()
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, d)| {
            let share = weights.as_ref().and_then(|w| w.get(i).copied());
            Some((
                d.host()?.to_owned(),
                share.and_then(|w| i64::try_from(w).ok()),
            ))
        })
        .collect();
    let mirror_host = route.mirror_host().map(str::to_owned);
    let mirror = mirror_host
        .as_ref()
        .map(|_| route.mirror_percentage().unwrap_or(100.0));
    let t = match (dests.as_slice(), &mirror_host) {
        ([(from, w)], Some(to)) => Traffic {
            to: w.map(|w| 100 - w),
            from: *w,
            mirror,
            to_host: Some(to.clone()),
            from_host: Some(from.clone()),
            hosts,
        },
        ([(to, tw), (from, fw)], _) => Traffic {
            to: *tw,
            from: *fw,
            mirror,
            to_host: Some(to.clone()),
            from_host: Some(from.clone()),
            hosts,
        },
        _ => Traffic {
            to: None,
            from: None,
            mirror,
            to_host: mirror_host,
            from_host: None,
            hosts,
        },
    };
    Some(t)
}

/// One stage of a changed migration, before and after.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageReview {
    /// The stage's name (its folder or file name without the number).
    pub stage: String,
    /// Its 1-based position before the change (`None`: it did not exist).
    pub number_before: Option<usize>,
    /// Its 1-based position after the change (`None`: it was removed).
    pub number_after: Option<usize>,
    /// Traffic before (`None`: absent, or not a VirtualService).
    pub before: Option<Traffic>,
    /// Traffic after.
    pub after: Option<Traffic>,
    /// What changed (shown as `added`, `weight 10% → 25%`, ...); empty when nothing did.
    pub changes: Vec<StageChange>,
    /// The stage's `note` in the plan, when the plan is at hand.
    pub note: Option<String>,
}

/// One thing that changed about a stage. Shown (and serialized) as words:
/// `added`, `renamed from weight-10`, `weight 10% → 25%`, ...
#[derive(Clone, Debug, PartialEq)]
pub enum StageChange {
    /// The stage is new.
    Added,
    /// The stage is gone.
    Removed,
    /// The stage at the same position had another name.
    RenamedFrom(String),
    /// The stage moved in the rollout order (1-based positions).
    Renumbered {
        /// Position before.
        before: usize,
        /// Position after.
        after: usize,
    },
    /// The share of requests sent to the `to` host.
    Weight {
        /// Percentage before (`None`: unknown).
        before: Option<i64>,
        /// Percentage after.
        after: Option<i64>,
    },
    /// The mirrored percentage changed.
    Mirror {
        /// Percentage before.
        before: f64,
        /// Percentage after.
        after: f64,
    },
    /// Mirroring started, at this percentage.
    MirrorAdded(f64),
    /// Mirroring stopped.
    MirrorRemoved,
    /// The GCPBackend host.
    ToHost {
        /// Before (`None`: unknown).
        before: Option<String>,
        /// After.
        after: Option<String>,
    },
    /// The ServiceEntry host.
    FromHost {
        /// Before (`None`: unknown).
        before: Option<String>,
        /// After.
        after: Option<String>,
    },
    /// `spec.hosts`.
    Hosts {
        /// Before.
        before: Vec<String>,
        /// After.
        after: Vec<String>,
    },
    /// The manifest did not read as a VirtualService before; it does now.
    WasInvalid,
    /// Files of the stage changed in ways none of the above describes.
    OtherFields,
}

impl StageChange {
    /// Whether the stage moved (renamed or renumbered), so its old files are not simply gone.
    pub fn is_move(&self) -> bool {
        matches!(
            self,
            StageChange::RenamedFrom(_) | StageChange::Renumbered { .. }
        )
    }
}

impl std::fmt::Display for StageChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = |h: &Option<String>| h.clone().unwrap_or_else(|| "?".to_owned());
        match self {
            StageChange::Added => f.write_str("added"),
            StageChange::Removed => f.write_str("removed"),
            StageChange::RenamedFrom(old) => write!(f, "renamed from {old}"),
            StageChange::Renumbered { before, after } => write!(f, "renumbered {before} → {after}"),
            StageChange::Weight { before, after } => {
                write!(f, "weight {} → {}", pct(*before), pct(*after))
            }
            StageChange::Mirror { before, after } => {
                write!(f, "mirror {}% → {}%", Percent(*before), Percent(*after))
            }
            StageChange::MirrorAdded(p) => write!(f, "mirror {}% added", Percent(*p)),
            StageChange::MirrorRemoved => f.write_str("mirror removed"),
            StageChange::ToHost { before, after } => {
                write!(f, "`to` host {} → {}", host(before), host(after))
            }
            StageChange::FromHost { before, after } => {
                write!(f, "`from` host {} → {}", host(before), host(after))
            }
            StageChange::Hosts { before, after } => {
                write!(f, "hosts [{}] → [{}]", before.join(", "), after.join(", "))
            }
            StageChange::WasInvalid => f.write_str("was not a valid VirtualService"),
            StageChange::OtherFields => f.write_str("other fields changed"),
        }
    }
}

impl Serialize for StageChange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The changes of a stage in words, `; `-separated.
pub fn describe(changes: &[StageChange]) -> String {
    changes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A migration with at least one changed file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MigrationReview {
    /// The migration folder, relative to the repository root.
    pub folder: String,
    /// The migration's name (the folder's last component).
    pub name: String,
    /// Every stage, before and after, in rollout order.
    pub stages: Vec<StageReview>,
    /// Environments whose stage changed (or that were added or removed).
    pub environments: Vec<EnvReview>,
    /// Every environment of the migration, where it stands before and after (moved or
    /// not), sorted by name; for the markdown chart, not part of the JSON document.
    #[serde(skip)]
    pub standing: Vec<EnvReview>,
}

/// An environment that moved between stages.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EnvReview {
    /// The environment's name.
    pub env: String,
    /// The stage it ran before (`None`: it did not exist).
    pub before: Option<String>,
    /// The stage it runs after (`None`: it was removed).
    pub after: Option<String>,
}

/// Where an environment file sits: its migration folder and environment name.
fn locate_env(rel: &str) -> Option<(String, String)> {
    let place = layout::parse(rel)?;
    match place.part {
        Part::Env(env) => Some((place.folder, env)),
        _ => None,
    }
}

/// Every environment of the migration in `folder`, where it stands before and after.
fn standing(old: &Tree, new: &Tree, folder: &str) -> Vec<EnvReview> {
    // env -> (its file in the old tree, its file in the new tree)
    let mut files: BTreeMap<String, (Option<&str>, Option<&str>)> = BTreeMap::new();
    let prefix = format!("{folder}/");
    for (side, tree) in [old, new].into_iter().enumerate() {
        for rel in tree.range(prefix.clone()..).map(|(rel, _)| rel) {
            if !rel.starts_with(&prefix) {
                break;
            }
            let Some((f, env)) = locate_env(rel) else {
                continue;
            };
            if f == folder {
                let entry = files.entry(env).or_default();
                if side == 0 {
                    entry.0 = Some(rel);
                } else {
                    entry.1 = Some(rel);
                }
            }
        }
    }
    files
        .into_iter()
        .map(|(env, (in_old, in_new))| EnvReview {
            before: in_old.and_then(|rel| env_stage(old, folder, rel)),
            after: in_new.and_then(|rel| env_stage(new, folder, rel)),
            env,
        })
        .collect()
}

/// The stage an environment file points at: the `resources` entry of a kustomization
/// (`../../stages/<NN>-<stage>`), or for a flat copy, the stage file with the same bytes.
fn env_stage(tree: &Tree, folder: &str, rel: &str) -> Option<String> {
    let bytes = tree.get(rel)?;
    if rel.ends_with("/kustomization.yaml") {
        let doc: Value = serde_yaml::from_slice(bytes).ok()?;
        let res = doc.get("resources")?.as_sequence()?.first()?.as_str()?;
        return layout::stage_of_resource(res).map(|(_, name)| name);
    }
    stages_of(tree, folder)
        .into_iter()
        .find(|(_, side)| side.manifest == Some(bytes.as_slice()))
        .map(|(name, _)| name)
}

/// Where a stage file sits: its migration folder, stage number and stage name, and
/// whether it is the stage's VirtualService (not its kustomization).
fn locate(rel: &str) -> Option<(String, usize, String, bool)> {
    let place = layout::parse(rel)?;
    let is_manifest = place.kind == Kind::Manifest;
    match place.part {
        Part::Stage { number, name } => Some((place.folder, number, name, is_manifest)),
        _ => None,
    }
}

/// One stage's files in one tree.
#[derive(Default)]
struct Side<'a> {
    number: Option<usize>,
    manifest: Option<&'a [u8]>,
    files: Vec<(&'a str, &'a [u8])>,
}

fn stages_of<'a>(tree: &'a Tree, folder: &str) -> BTreeMap<String, Side<'a>> {
    let prefix = format!("{folder}/");
    let mut out: BTreeMap<String, Side<'a>> = BTreeMap::new();
    for (rel, bytes) in tree.range(prefix.clone()..) {
        if !rel.starts_with(&prefix) {
            break;
        }
        let Some((f, num, name, is_manifest)) = locate(rel) else {
            continue;
        };
        if f != folder {
            continue;
        }
        let side = out.entry(name).or_default();
        side.number = Some(num);
        side.files.push((rel, bytes));
        if is_manifest {
            side.manifest = Some(bytes);
        }
    }
    out
}

/// The hosts each migration folder moves traffic between (`from`, `to`, and the
/// migration's namespace: see [`Move`]), by folder as the review names it, from the
/// plans of one side of a review.
#[derive(Debug, Default)]
pub struct Moves(HashMap<String, (String, String, String)>);

impl Moves {
    /// The moves of every migration of `plans`.
    pub fn of(plans: &[crate::plan::Plan]) -> Moves {
        Moves(
            plans
                .iter()
                .flat_map(|p| {
                    p.migrations.iter().map(move |m| {
                        let folder = crate::repo::display_rel(&p.root, &p.migration_dir(m));
                        let hosts = (m.from.clone(), m.to.clone(), m.namespace.clone());
                        (folder, hosts)
                    })
                })
                .collect(),
        )
    }

    fn get(&self, folder: &str) -> Option<Move<'_>> {
        self.0.get(folder).map(|(from, to, namespace)| Move {
            from,
            to,
            namespace,
        })
    }
}

/// Reviews every migration folder touched by `changed`, comparing `old` and `new`; the
/// traffic of each side is read for the hosts its plans move between (`moves`: old, new).
pub fn review(
    old: &Tree,
    new: &Tree,
    changed: &[FileChange],
    moves: (&Moves, &Moves),
) -> Vec<MigrationReview> {
    let folders: BTreeSet<String> = changed
        .iter()
        .filter_map(|c| {
            locate(&c.rel)
                .map(|(f, ..)| f)
                .or_else(|| locate_env(&c.rel).map(|(f, _)| f))
        })
        .collect();
    // Environment files by migration folder, in `changed` order (found once, not once
    // per folder).
    let mut env_files: HashMap<String, Vec<(String, &str)>> = HashMap::new();
    for c in changed {
        if let Some((f, env)) = locate_env(&c.rel) {
            env_files.entry(f).or_default().push((env, c.rel.as_str()));
        }
    }
    folders
        .into_iter()
        .map(|folder| {
            let before = stages_of(old, &folder);
            let after = stages_of(new, &folder);
            let hosts = (moves.0.get(&folder), moves.1.get(&folder));
            let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
            // A stage that vanished and one that appeared at the same position are one
            // stage renamed (default names follow the weight: weight-25 → weight-30).
            let renamed: Vec<(&String, &String)> = before
                .iter()
                .filter(|(n, _)| !after.contains_key(*n))
                .filter_map(|(old_name, b)| {
                    after
                        .iter()
                        .find(|(n, a)| !before.contains_key(*n) && a.number == b.number)
                        .map(|(new_name, _)| (old_name, new_name))
                })
                .collect();
            let mut stages: Vec<StageReview> = names
                .into_iter()
                .filter(|n| !renamed.iter().any(|(old, new)| old == n || new == n))
                .map(|name| stage_review(name, before.get(name), after.get(name), hosts))
                .collect();
            for (old_name, new_name) in renamed {
                let mut r =
                    stage_review(new_name, before.get(old_name), after.get(new_name), hosts);
                r.changes
                    .insert(0, StageChange::RenamedFrom(old_name.clone()));
                stages.push(r);
            }
            // Rollout order; a removed stage stands at its old position, before the
            // stage that now holds that number.
            stages.sort_by_key(|s| {
                (
                    s.number_after.or(s.number_before).unwrap_or(usize::MAX),
                    s.number_after.is_some(),
                )
            });
            let name = folder.rsplit('/').next().unwrap_or(&folder).to_owned();
            let envs = env_files
                .get(&folder)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let environments = envs
                .iter()
                .map(|(env, _)| {
                    // The first file of that environment (as before: one per env).
                    let rel = envs
                        .iter()
                        .find(|(e, _)| e == env)
                        .map_or("", |(_, rel)| *rel);
                    EnvReview {
                        before: env_stage(old, &folder, rel),
                        after: env_stage(new, &folder, rel),
                        env: env.clone(),
                    }
                })
                .filter(|e| e.before != e.after)
                .collect();
            MigrationReview {
                standing: standing(old, new, &folder),
                folder,
                name,
                stages,
                environments,
            }
        })
        .collect()
}

/// The hosts a migration moves between, on each side of a review (old, new).
type Hosts<'a> = (Option<Move<'a>>, Option<Move<'a>>);

fn stage_review(
    name: &str,
    before: Option<&Side<'_>>,
    after: Option<&Side<'_>>,
    hosts: Hosts<'_>,
) -> StageReview {
    let t_before = before
        .and_then(|s| s.manifest)
        .and_then(|b| traffic_between(b, hosts.0));
    let t_after = after
        .and_then(|s| s.manifest)
        .and_then(|b| traffic_between(b, hosts.1));
    let mut changes = Vec::new();
    match (before, after) {
        (None, Some(_)) => changes.push(StageChange::Added),
        (Some(_), None) => changes.push(StageChange::Removed),
        (Some(b), Some(a)) => {
            if b.number != a.number {
                changes.push(StageChange::Renumbered {
                    before: b.number.unwrap_or(0),
                    after: a.number.unwrap_or(0),
                });
            }
            match (&t_before, &t_after) {
                (Some(x), Some(y)) => traffic_changes(x, y, &mut changes),
                (None, Some(_)) if b.manifest.is_some() => changes.push(StageChange::WasInvalid),
                _ => {}
            }
            let same_files = b.files.len() == a.files.len()
                && b.files.iter().zip(&a.files).all(|(x, y)| x.1 == y.1);
            if changes.is_empty() && !same_files && b.number == a.number {
                changes.push(StageChange::OtherFields);
            }
        }
        (None, None) => {}
    }
    StageReview {
        note: None,
        stage: name.to_owned(),
        number_before: before.and_then(|s| s.number),
        number_after: after.and_then(|s| s.number),
        before: t_before,
        after: t_after,
        changes,
    }
}

fn traffic_changes(b: &Traffic, a: &Traffic, out: &mut Vec<StageChange>) {
    if b.to != a.to {
        out.push(StageChange::Weight {
            before: b.to,
            after: a.to,
        });
    }
    match (b.mirror, a.mirror) {
        (Some(x), Some(y)) if x != y => out.push(StageChange::Mirror {
            before: x,
            after: y,
        }),
        (None, Some(y)) => out.push(StageChange::MirrorAdded(y)),
        (Some(_), None) => out.push(StageChange::MirrorRemoved),
        _ => {}
    }
    if b.to_host != a.to_host {
        out.push(StageChange::ToHost {
            before: b.to_host.clone(),
            after: a.to_host.clone(),
        });
    }
    if b.from_host != a.from_host {
        out.push(StageChange::FromHost {
            before: b.from_host.clone(),
            after: a.from_host.clone(),
        });
    }
    if b.hosts != a.hosts {
        out.push(StageChange::Hosts {
            before: b.hosts.clone(),
            after: a.hosts.clone(),
        });
    }
}

/// Fills in each stage's `note` from the plans that produce the reviewed folders.
pub fn attach_notes(reviews: &mut [MigrationReview], plans: &[crate::plan::Plan]) {
    if reviews.is_empty() {
        return;
    }
    let mut by_folder: HashMap<String, Vec<&crate::plan::Migration>> = HashMap::new();
    for plan in plans {
        for m in &plan.migrations {
            let folder = crate::repo::display_rel(&plan.root, &plan.migration_dir(m));
            by_folder.entry(folder).or_default().push(m);
        }
    }
    for r in reviews {
        for m in by_folder.get(&r.folder).into_iter().flatten() {
            for s in &mut r.stages {
                s.note = m
                    .stages
                    .iter()
                    .find(|st| st.name == s.stage)
                    .and_then(|st| st.note.clone());
            }
        }
    }
}

/// A percentage for tables: `25%`, or `?` when unknown.
pub fn pct(p: Option<i64>) -> String {
    p.map_or_else(|| "?".to_owned(), |p| format!("{p}%"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const W10: &str = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: a, namespace: n}\nspec:\n  hosts: [f.com]\n  http:\n  - route:\n    - {destination: {host: t.com}, weight: 10}\n    - {destination: {host: f.com}, weight: 90}\n";
    const M5: &str = "kind: VirtualService\nspec:\n  hosts: [f.com]\n  http:\n  - route:\n    - {destination: {host: f.com}, weight: 100}\n    mirror: {host: t.com}\n    mirrorPercentage: {value: 5}\n";

    #[test]
    fn reads_weight_and_mirror_stages() {
        let t = traffic(W10.as_bytes()).unwrap();
        assert_eq!((t.to, t.from, t.mirror), (Some(10), Some(90), None));
        assert_eq!(t.to_host.as_deref(), Some("t.com"));
        let m = traffic(M5.as_bytes()).unwrap();
        assert_eq!((m.to, m.from, m.mirror), (Some(0), Some(100), Some(5.0)));
        assert!(traffic(b"kind: Kustomization\n").is_none());
        assert!(traffic(b"\xff not yaml [").is_none());
    }

    #[test]
    fn reads_weights_as_istio_does() {
        // An unset weight next to a set one is 0, not unknown.
        let unset = W10.replace(", weight: 90}", "}");
        let t = traffic(unset.as_bytes()).unwrap();
        assert_eq!((t.to, t.from), (Some(10), Some(0)));
        // A lone destination receives everything, whatever its weight says.
        let m = traffic(M5.replace("weight: 100", "weight: 30").as_bytes()).unwrap();
        assert_eq!((m.to, m.from), (Some(0), Some(100)));
        // A weight Istio refuses leaves the shares unknown.
        let bad = traffic(W10.replace("weight: 90", "weight: -90").as_bytes()).unwrap();
        assert_eq!((bad.to, bad.from), (None, None));
        assert_eq!(bad.to_host.as_deref(), Some("t.com"));
    }

    #[test]
    fn shares_add_up_every_destination_of_a_host_as_istio_reads_it() {
        // A rewritten base at 30%: a `to` destination per header set, `from` written
        // short (`f`) and in full, another host, and `f.n` (not `from`: not expanded).
        let vs = "kind: VirtualService\nmetadata: {name: a, namespace: n}\nspec:\n  hosts: [f.com]\n  http:\n  - route:\n    - {destination: {host: t.com}, headers: {request: {set: {x: a}}}, weight: 12}\n    - {destination: {host: f, subset: a}, headers: {request: {set: {x: a}}}, weight: 28}\n    - {destination: {host: t.com}, headers: {request: {set: {x: b}}}, weight: 12}\n    - {destination: {host: f.n.svc.cluster.local, subset: b}, headers: {request: {set: {x: b}}}, weight: 28}\n    - {destination: {host: f.n}, weight: 20}\n";
        let m = Move {
            from: "f.n.svc.cluster.local",
            to: "t.com",
            namespace: "other",
        };
        let t = traffic_between(vs.as_bytes(), Some(m)).unwrap();
        assert_eq!((t.to, t.from), (Some(24), Some(56)));
        // Short hosts are read in the VirtualService's namespace, else the migration's.
        let bare = vs.replace("metadata: {name: a, namespace: n}", "metadata: {name: a}");
        let t = traffic_between(bare.as_bytes(), Some(m)).unwrap();
        assert_eq!((t.to, t.from), (Some(24), Some(28)));
        let here = Move {
            namespace: "n",
            ..m
        };
        let t = traffic_between(bare.as_bytes(), Some(here)).unwrap();
        assert_eq!((t.to, t.from), (Some(24), Some(56)));
        // `from` written short finds the full name too.
        let short = Move { from: "f", ..here };
        let t = traffic_between(vs.as_bytes(), Some(short)).unwrap();
        assert_eq!((t.to, t.from), (Some(24), Some(56)));
    }

    #[test]
    fn a_base_route_to_to_or_a_mirror_elsewhere_is_not_the_stage() {
        let m = Move {
            from: "f.com",
            to: "t.com",
            namespace: "n",
        };
        // The base's last route already sends to `to` only: the stage is the route to `from`.
        let vs = format!("{W10}  - match: [{{uri: {{prefix: /beta}}}}]\n    route: [{{destination: {{host: t.com}}}}]\n");
        let t = traffic_between(vs.as_bytes(), Some(m)).unwrap();
        assert_eq!((t.to, t.from, t.mirror), (Some(10), Some(90), None));
        // A mirror to another host is no mirror to `to`; one in `mirrors` is.
        let audit = W10.replace(
            "  - route:\n",
            "  - mirror: {host: audit.com}\n    route:\n",
        );
        let t = traffic_between(audit.as_bytes(), Some(m)).unwrap();
        assert_eq!(t.mirror, None);
        let both = W10.replace(
            "  - route:\n",
            "  - mirrors: [{destination: {host: audit.com}}, {destination: {host: t.com}, percentage: {value: 20}}]\n    route:\n",
        );
        let t = traffic_between(both.as_bytes(), Some(m)).unwrap();
        assert_eq!(t.mirror, Some(20.0));
    }

    #[test]
    fn locates_stage_files_in_both_layouts() {
        assert_eq!(
            locate("d/out/checkout/stages/02-weight-10/virtualservice.yaml"),
            Some(("d/out/checkout".into(), 2, "weight-10".into(), true))
        );
        assert_eq!(
            locate("out/checkout/stages/02-half/kustomization.yaml"),
            Some(("out/checkout".into(), 2, "half".into(), false))
        );
        assert_eq!(
            locate("out/search/003-mirror-0-5.yaml"),
            Some(("out/search".into(), 3, "mirror-0-5".into(), true))
        );
        assert_eq!(locate("README.md"), None);
        assert_eq!(locate("out/x/notes.yaml"), None);
    }

    #[test]
    fn a_stage_replaced_at_the_same_position_is_a_rename() {
        let tree = |files: &[(&str, &str)]| -> Tree {
            files
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect()
        };
        let w30 = W10
            .replace("weight: 10}", "weight: 30}")
            .replace("weight: 90}", "weight: 70}");
        let old = tree(&[("o/m/01-weight-10.yaml", W10)]);
        let new = tree(&[("o/m/01-weight-30.yaml", &w30)]);
        let r = review(
            &old,
            &new,
            &crate::review::diff::between(&old, &new),
            (&Moves::default(), &Moves::default()),
        );
        assert_eq!(r[0].stages.len(), 1);
        assert_eq!(r[0].stages[0].stage, "weight-30");
        assert_eq!(
            describe(&r[0].stages[0].changes),
            "renamed from weight-10; weight 10% → 30%"
        );
    }

    #[test]
    fn reviews_weight_changes_additions_and_renumbering() {
        let tree = |files: &[(&str, &str)]| -> Tree {
            files
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect()
        };
        let old = tree(&[
            ("o/m/01-weight-10.yaml", W10),
            ("o/m/02-weight-50.yaml", W10),
        ]);
        let w25 = W10
            .replace("weight: 10}", "weight: 25}")
            .replace("weight: 90}", "weight: 75}");
        let new = tree(&[
            ("o/m/01-weight-10.yaml", &w25),
            ("o/m/02-weight-25.yaml", &w25),
            ("o/m/03-weight-50.yaml", W10),
        ]);
        let changed = crate::review::diff::between(&old, &new);
        let r = review(&old, &new, &changed, (&Moves::default(), &Moves::default()));
        assert_eq!(r.len(), 1);
        let rows: Vec<_> = r[0]
            .stages
            .iter()
            .map(|s| (s.stage.as_str(), describe(&s.changes)))
            .collect();
        assert_eq!(
            rows,
            [
                ("weight-10", "weight 10% → 25%".to_owned()),
                ("weight-25", "added".to_owned()),
                ("weight-50", "renumbered 2 → 3".to_owned()),
            ]
        );
    }
}
