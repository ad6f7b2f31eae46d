//! `cutover status`: where every migration's environments are in their rollouts, what
//! is next for each, and how far the whole fleet is (the model; the formats are in
//! [`format`]).
//!
//! The time an environment has been at its stage comes from git (see [`Since`]) and the
//! clock; both are passed in as values ([`fleet`]'s `since` and `now`), so the report of
//! a given history and time is always the same.

pub mod format;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::git::line_changed_at;
use crate::plan::{edit, Environment, Migration, Plan};

/// When an environment's stage value last changed, as far as git can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Since {
    /// The committer time (seconds since the epoch) of the commit that brought the line
    /// into the branch's first-parent history.
    At(u64),
    /// The line has changes that are not committed: its hold has not started.
    Uncommitted,
    /// No history: no repository, the plan not committed, or git missing.
    NoHistory,
}

impl Since {
    /// When line `line` (1-based) of the file at `path` last changed, read with
    /// `git blame --first-parent` (see [`line_changed_at`]).
    pub fn from_git(path: &Path, line: usize) -> Since {
        match line_changed_at(path, line) {
            Ok(Some(at)) => Since::At(at),
            Ok(None) => Since::Uncommitted,
            Err(_) => Since::NoHistory,
        }
    }

    /// Why the time is unknown, in words; `None` when it is known.
    pub fn unknown_reason(self) -> Option<&'static str> {
        match self {
            Since::At(_) => None,
            Since::Uncommitted => Some("not committed"),
            Since::NoHistory => Some("no git history"),
        }
    }
}

/// How much of a stage's hold is left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldLeft {
    /// The stage has no hold.
    NoHold,
    /// The stage has a hold, but git cannot tell since when the environment is there.
    Unknown,
    /// Seconds left (0: the hold has passed).
    Left(u64),
}

/// What to do next with an environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Promote it: `command` moves it to `stage`.
    Promote {
        /// The next stage.
        stage: String,
        /// The command line that does it.
        command: String,
    },
    /// Edit the plan: set `field` to `stage`. `promote` cannot move this value: it is
    /// shared by several migrations through `defaults`, and another migration sets the
    /// same environment in a value of its own.
    Edit {
        /// The next stage.
        stage: String,
        /// The field path of the value, e.g. `defaults.environments.prod`.
        field: String,
    },
    /// Wait this many seconds for the hold to pass.
    Wait(u64),
    /// Nothing: the environment is at the last stage and its hold (if any) has passed.
    Done,
    /// The stage has a hold whose start git cannot tell.
    Unknown,
}

/// Where one environment is.
#[derive(Clone, Debug, PartialEq)]
pub struct Position {
    /// The environment's name.
    pub environment: String,
    /// The stage's number (1-based) in the rollout.
    pub number: usize,
    /// The stage's name.
    pub stage: String,
    /// % of requests the stage sends to `to` (the GCPBackend).
    pub to: u8,
    /// % of requests the stage mirrors to `to`, for a mirror stage.
    pub mirror: Option<f64>,
    /// The stage's hold, in seconds.
    pub hold: Option<u64>,
    /// When the environment's value last changed.
    pub since: Since,
    /// How much of the hold is left.
    pub hold_left: HoldLeft,
    /// What to do next.
    pub next: Next,
    /// The stage's note.
    pub note: Option<String>,
}

impl Position {
    /// Whether the stage sends every request to `to`.
    pub fn fully_on_to(&self) -> bool {
        self.to == 100
    }
}

/// One row of the report: a migration and one of its environments, or a migration
/// without environments (`position` is `None`: which stage it runs is not in the plan).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The plan file, as named in messages.
    pub plan: String,
    /// The migration's name.
    pub migration: String,
    /// The migration's namespace.
    pub namespace: String,
    /// The number of stages of the migration.
    pub stages: usize,
    /// Where the environment is.
    pub position: Option<Position>,
}

impl Row {
    /// The environment's name, when the migration has environments.
    pub fn environment(&self) -> Option<&str> {
        self.position.as_ref().map(|p| p.environment.as_str())
    }

    /// What rows are sorted by: plan, migration, environment.
    fn key(&self) -> (&str, &str, Option<&str>) {
        (&self.plan, &self.migration, self.environment())
    }
}

/// How many services one environment has, and how many are fully on `to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvSummary {
    /// The environment's name.
    pub environment: String,
    /// Migrations (services) that have the environment.
    pub services: usize,
    /// Of those, the ones whose environment sends every request to `to`.
    pub fully_on_to: usize,
}

/// The fleet in figures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Per environment, sorted by name.
    pub environments: Vec<EnvSummary>,
    /// Plan files.
    pub plans: usize,
    /// Migrations (services).
    pub services: usize,
    /// Migrations without environments.
    pub without_environments: usize,
    /// Environments of every migration (the rows with an environment).
    pub rollouts: usize,
    /// Of those, the ones that send every request to `to`.
    pub fully_on_to: usize,
    /// Migrations with environments whose every environment sends every request to `to`.
    pub services_fully_on_to: usize,
}

/// The report: rows sorted by plan, migration and environment, and the summary.
#[derive(Clone, Debug, PartialEq)]
pub struct Fleet {
    /// One per migration and environment.
    pub rows: Vec<Row>,
    /// The figures.
    pub summary: Summary,
}

/// The report of `plans` at time `now` (seconds since the epoch); `since` tells when an
/// environment's value last changed (in the CLI: [`git_history`]).
pub fn fleet(
    plans: &[Plan],
    since: &mut dyn FnMut(&Plan, &Environment) -> Since,
    now: u64,
) -> Fleet {
    let mut rows = Vec::new();
    for plan in plans {
        for m in &plan.migrations {
            let base = Row {
                plan: plan.file.clone(),
                migration: m.name.clone(),
                namespace: m.namespace.clone(),
                stages: m.stages.len(),
                position: None,
            };
            if m.environments.is_empty() {
                rows.push(base);
                continue;
            }
            for env in &m.environments {
                let position = position(plan, m, env, since(plan, env), now);
                rows.push(Row {
                    position,
                    ..base.clone()
                });
            }
        }
    }
    rows.sort_by(|a, b| a.key().cmp(&b.key()));
    let mut summary = summarize(&rows);
    summary.plans = plans.len();
    Fleet { rows, summary }
}

/// `since` for [`fleet`] from git: `git blame` of the environment's line, once per line.
pub fn git_history() -> impl FnMut(&Plan, &Environment) -> Since {
    let mut seen: HashMap<(String, usize), Since> = HashMap::new();
    move |plan, env| {
        let line = env.span.start.line;
        *seen
            .entry((plan.id.clone(), line))
            .or_insert_with(|| Since::from_git(&plan.root.join(&plan.id), line))
    }
}

/// Where environment `env` of migration `m` is; `None` if its stage is unknown (a
/// validated plan always knows it).
fn position(
    plan: &Plan,
    m: &Migration,
    env: &Environment,
    since: Since,
    now: u64,
) -> Option<Position> {
    let i = m.stage_index(&env.stage)?;
    let s = &m.stages[i];
    let hold_left = match (s.hold, since) {
        (None, _) => HoldLeft::NoHold,
        (Some(h), Since::At(at)) => HoldLeft::Left(h.saturating_sub(now.saturating_sub(at))),
        (Some(_), _) => HoldLeft::Unknown,
    };
    let next = match (hold_left, m.stages.get(i + 1)) {
        (HoldLeft::Unknown, _) => Next::Unknown,
        (HoldLeft::Left(left), _) if left > 0 => Next::Wait(left),
        (_, None) => Next::Done,
        (_, Some(next)) => match promote_command(plan, m, env) {
            Some(command) => Next::Promote {
                stage: next.name.clone(),
                command,
            },
            None => Next::Edit {
                stage: next.name.clone(),
                field: env.field.clone(),
            },
        },
    };
    Some(Position {
        environment: env.name.clone(),
        number: i + 1,
        stage: s.name.clone(),
        to: s.to_weight(),
        mirror: s.mirror(),
        hold: s.hold,
        since,
        hold_left,
        next,
        note: s.note.clone(),
    })
}

/// `cutover promote PLAN --env ENV`, with `--migration NAME` when `promote` needs it to
/// move `m`'s value. `None` when `promote` cannot move it: the same choice `promote`
/// makes ([`edit::choose`]), so the command shown is one `promote` accepts.
fn promote_command(plan: &Plan, m: &Migration, env: &Environment) -> Option<String> {
    let quote = |s: &str| shlex::try_quote(s).map_or_else(|_| s.to_owned(), Into::into);
    let request = |migration| edit::Request {
        env: &env.name,
        migration,
        to: None,
        force: false,
        direction: edit::Direction::Forward,
    };
    let moves_m = |migration| {
        edit::choose(plan, &plan.file, &request(migration))
            .is_ok_and(|(_, sharing)| sharing.iter().any(|s| s.name == m.name))
    };
    let mut command = format!("cutover promote {} --env {}", quote(&plan.file), env.name);
    if !moves_m(None) {
        if !moves_m(Some(&m.name)) {
            return None;
        }
        command.push_str(&format!(" --migration {}", quote(&m.name)));
    }
    Some(command)
}

/// The figures of `rows`.
fn summarize(rows: &[Row]) -> Summary {
    let mut envs: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    // Per migration (plan, name): whether every environment is fully on `to`.
    let mut services: BTreeMap<(&str, &str), Option<bool>> = BTreeMap::new();
    let mut s = Summary::default();
    for r in rows {
        let service = services.entry((&r.plan, &r.migration)).or_insert(None);
        let Some(p) = &r.position else {
            continue;
        };
        let full = p.fully_on_to();
        let e = envs.entry(&p.environment).or_default();
        e.0 += 1;
        e.1 += usize::from(full);
        s.rollouts += 1;
        s.fully_on_to += usize::from(full);
        *service = Some(service.unwrap_or(true) && full);
    }
    s.services = services.len();
    s.without_environments = services.values().filter(|v| v.is_none()).count();
    s.services_fully_on_to = services.values().filter(|v| **v == Some(true)).count();
    s.environments = envs
        .into_iter()
        .map(|(name, (services, fully_on_to))| EnvSummary {
            environment: name.to_owned(),
            services,
            fully_on_to,
        })
        .collect();
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Two migrations sharing `defaults.environments` (`weight-10` holds 1h, the last
    /// stage 1d), and a third with its own `prod`.
    pub(crate) const SHARED: &str = "\
version: 1
output: deploy
defaults:
  namespace: payments
  stages:
    - mirror: 50
    - {weight: 10, hold: 1h, note: watch 5xx}
    - {weight: 100, hold: 1d}
  environments:
    staging: weight-100
    prod: weight-10
migrations:
  - name: ledger
    from: ledger-se.example.com
    to: ledger-gcp.example.com
  - name: checkout
    from: checkout-se.example.com
    to: checkout-gcp.example.com
  - name: search
    from: search-se.example.com
    to: search-gcp.example.com
    environments: {prod: mirror-50}
";

    /// One migration without environments.
    pub(crate) const BARE: &str = "\
version: 1
output: deploy
migrations:
  - name: legacy
    namespace: old
    from: se.example.com
    to: gcp.example.com
    stages: [{weight: 50}, {weight: 100}]
";

    pub(crate) fn plan(file: &str, text: &str) -> Plan {
        let path = Path::new("/r").join(file);
        Plan::parse(file, text.as_bytes(), &path, Path::new("/r")).expect("valid plan")
    }

    /// Every value changed at `at`.
    pub(crate) fn all_at(at: Since) -> impl FnMut(&Plan, &Environment) -> Since {
        move |_, _| at
    }

    fn row<'f>(f: &'f Fleet, migration: &str, env: &str) -> &'f Position {
        f.rows
            .iter()
            .find(|r| r.migration == migration && r.environment() == Some(env))
            .and_then(|r| r.position.as_ref())
            .expect("row")
    }

    #[test]
    fn rows_are_sorted_by_plan_migration_and_environment() {
        let plans = [plan("z/cutover.yaml", SHARED), plan("a/cutover.yaml", BARE)];
        let f = fleet(&plans, &mut all_at(Since::At(0)), 10);
        let keys: Vec<(&str, &str, Option<&str>)> = f.rows.iter().map(Row::key).collect();
        assert_eq!(
            keys,
            [
                ("a/cutover.yaml", "legacy", None),
                ("z/cutover.yaml", "checkout", Some("prod")),
                ("z/cutover.yaml", "checkout", Some("staging")),
                ("z/cutover.yaml", "ledger", Some("prod")),
                ("z/cutover.yaml", "ledger", Some("staging")),
                ("z/cutover.yaml", "search", Some("prod")),
            ]
        );
        assert_eq!(f.rows[0].namespace, "old");
        assert_eq!(f.rows[0].stages, 2);
        assert_eq!(f.rows[0].position, None);
    }

    #[test]
    fn hold_left_and_next_step_follow_the_clock() {
        let plans = [plan("cutover.yaml", SHARED)];
        let at = 1_000_000;
        let hour = 3600;
        let promote_prod = Next::Edit {
            stage: "weight-100".to_owned(),
            field: "defaults.environments.prod".to_owned(),
        };
        for (now, left, next) in [
            // A clock behind the commit: the whole hold is left.
            (at - 5, HoldLeft::Left(hour), Next::Wait(hour)),
            (at, HoldLeft::Left(hour), Next::Wait(hour)),
            (at + 1, HoldLeft::Left(hour - 1), Next::Wait(hour - 1)),
            (at + hour - 1, HoldLeft::Left(1), Next::Wait(1)),
            (at + hour, HoldLeft::Left(0), promote_prod.clone()),
            (at + 9 * hour, HoldLeft::Left(0), promote_prod.clone()),
        ] {
            let f = fleet(&plans, &mut all_at(Since::At(at)), now);
            let p = row(&f, "checkout", "prod");
            assert_eq!((p.hold_left, &p.next), (left, &next), "now {now}");
            assert_eq!(p.since, Since::At(at));
        }
        // The last stage: a wait while its hold lasts, then done.
        let f = fleet(&plans, &mut all_at(Since::At(at)), at + hour);
        let staging = row(&f, "checkout", "staging");
        assert_eq!(staging.hold_left, HoldLeft::Left(23 * hour));
        assert_eq!(staging.next, Next::Wait(23 * hour));
        let f = fleet(&plans, &mut all_at(Since::At(at)), at + 24 * hour);
        assert_eq!(row(&f, "checkout", "staging").next, Next::Done);
        // A stage without a hold: promote at once, whatever git says.
        for since in [Since::At(at), Since::Uncommitted, Since::NoHistory] {
            let f = fleet(&plans, &mut all_at(since), at);
            let p = row(&f, "search", "prod");
            assert_eq!(p.hold_left, HoldLeft::NoHold);
            assert!(matches!(&p.next, Next::Promote { stage, .. } if stage == "weight-10"));
        }
        // A hold whose start git cannot tell.
        for since in [Since::Uncommitted, Since::NoHistory] {
            let f = fleet(&plans, &mut all_at(since), at);
            let p = row(&f, "checkout", "prod");
            assert_eq!((p.hold_left, &p.next), (HoldLeft::Unknown, &Next::Unknown));
            assert_eq!(row(&f, "checkout", "staging").next, Next::Unknown);
        }
    }

    #[test]
    fn positions_carry_the_stage() {
        let plans = [plan("cutover.yaml", SHARED)];
        let f = fleet(&plans, &mut all_at(Since::NoHistory), 0);
        let search = row(&f, "search", "prod");
        assert_eq!(
            (
                search.number,
                search.stage.as_str(),
                search.to,
                search.mirror
            ),
            (1, "mirror-50", 0, Some(50.0))
        );
        assert_eq!((search.hold, search.note.as_deref()), (None, None));
        let ledger = row(&f, "ledger", "prod");
        assert_eq!((ledger.number, ledger.to, ledger.mirror), (2, 10, None));
        assert_eq!(
            (ledger.hold, ledger.note.as_deref()),
            (Some(3600), Some("watch 5xx"))
        );
        assert!(row(&f, "ledger", "staging").fully_on_to());
        assert!(!ledger.fully_on_to());
    }

    #[test]
    fn the_promote_command_is_the_one_promote_accepts() {
        let command = |f: &Fleet, m: &str, env: &str| match &row(f, m, env).next {
            Next::Promote { command, .. } => command.clone(),
            other => panic!("{other:?}"),
        };
        let done = Since::At(0);
        let now = 10 * 86_400;
        // Shared through defaults, and set by a migration of its own: promote refuses
        // --migration on the shared value and needs it for the migration's own.
        let f = fleet(&[plan("cutover.yaml", SHARED)], &mut all_at(done), now);
        assert_eq!(
            command(&f, "search", "prod"),
            "cutover promote cutover.yaml --env prod --migration search"
        );
        for m in ["checkout", "ledger"] {
            assert_eq!(
                row(&f, m, "prod").next,
                Next::Edit {
                    stage: "weight-100".to_owned(),
                    field: "defaults.environments.prod".to_owned()
                }
            );
        }
        // Shared only: no --migration.
        let alone = SHARED.replace("    environments: {prod: mirror-50}\n", "");
        let f = fleet(&[plan("cutover.yaml", &alone)], &mut all_at(done), now);
        for m in ["checkout", "ledger", "search"] {
            assert_eq!(
                command(&f, m, "prod"),
                "cutover promote cutover.yaml --env prod"
            );
        }
        // The only migration with the environment; a plan path that needs quoting.
        let own = SHARED.replace(
            "    environments: {prod: mirror-50}\n",
            "    environments: {qa: mirror-50}\n",
        );
        let f = fleet(&[plan("team a/cutover.yaml", &own)], &mut all_at(done), now);
        assert_eq!(
            command(&f, "search", "qa"),
            "cutover promote 'team a/cutover.yaml' --env qa"
        );
    }

    #[test]
    fn the_summary_counts_services_per_environment() {
        let plans = [plan("b/cutover.yaml", SHARED), plan("a/cutover.yaml", BARE)];
        let f = fleet(&plans, &mut all_at(Since::NoHistory), 0);
        let env = |name: &str, services, fully_on_to| EnvSummary {
            environment: name.to_owned(),
            services,
            fully_on_to,
        };
        assert_eq!(
            f.summary,
            Summary {
                environments: vec![env("prod", 3, 0), env("staging", 2, 2)],
                plans: 2,
                services: 4,
                without_environments: 1,
                rollouts: 5,
                fully_on_to: 2,
                services_fully_on_to: 0,
            }
        );
        // Every environment of checkout and ledger at the last stage.
        let done = SHARED.replace("    prod: weight-10\n", "    prod: weight-100\n");
        let f = fleet(
            &[plan("cutover.yaml", &done)],
            &mut all_at(Since::NoHistory),
            0,
        );
        assert_eq!(f.summary.services_fully_on_to, 2);
        assert_eq!(f.summary.fully_on_to, 4);
        assert_eq!(f.summary.environments[0], env("prod", 3, 2));
    }

    #[test]
    fn git_history_outside_a_repository_is_no_history() {
        // /r is not a repository.
        let plans = [plan("cutover.yaml", SHARED)];
        let mut history = git_history();
        let f = fleet(&plans, &mut history, 0);
        assert!(f
            .rows
            .iter()
            .filter_map(|r| r.position.as_ref())
            .all(|p| p.since == Since::NoHistory));
        assert_eq!(Since::NoHistory.unknown_reason(), Some("no git history"));
        assert_eq!(Since::Uncommitted.unknown_reason(), Some("not committed"));
        assert_eq!(Since::At(1).unknown_reason(), None);
    }
}
