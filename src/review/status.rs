//! `cutover status`: where each environment is in its rollout, and since when.

use std::path::Path;

use crate::error::Result;
use crate::git::{line_changed_at, now};
use crate::plan::stage::{format_duration, Percent};
use crate::plan::{Environment, Migration, Plan};

/// One table per migration that has environments: environment, stage, weights, mirror,
/// how long the environment has been at that stage (from git), and its hold.
pub fn report(plans: &[Plan]) -> String {
    let now = now();
    let mut out = String::new();
    for plan in plans {
        let path = plan.root.join(&plan.id);
        for m in plan
            .migrations
            .iter()
            .filter(|m| !m.environments.is_empty())
        {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!(
                "{} ({}, {} stages)\n",
                m.name,
                plan.file,
                m.stages.len()
            ));
            let mut rows =
                vec![["env", "stage", "to", "from", "mirror", "since", "hold"].map(str::to_owned)];
            rows.extend(m.environments.iter().map(|env| row(&path, m, env, now)));
            out.push_str(&aligned(&rows));
            for s in &m.stages {
                if let Some(note) = &s.note {
                    out.push_str(&format!("  note on {}: {note}\n", s.name));
                }
            }
        }
    }
    if out.is_empty() {
        out.push_str("no migration has environments\n");
    }
    out
}

/// The row of environment `env` of migration `m`, whose plan is at `path`.
fn row(path: &Path, m: &Migration, env: &Environment, now: u64) -> [String; 7] {
    let i = m.stage_index(&env.stage).expect("validated");
    let s = &m.stages[i];
    let changed = line_changed_at(path, env.span.start.line);
    [
        env.name.clone(),
        format!("{}/{} {}", i + 1, m.stages.len(), s.name),
        format!("{}%", s.to_weight()),
        format!("{}%", s.from_weight()),
        s.mirror()
            .map_or_else(|| "-".to_owned(), |p| format!("{}%", Percent(p))),
        since(&changed, now),
        hold(s.hold, &changed, now),
    ]
}

/// How long ago the environment's line changed. Any reason git cannot tell (no
/// repository, the plan not committed, git missing) shows as "no git history".
fn since(changed: &Result<Option<u64>>, now: u64) -> String {
    match changed {
        Ok(Some(at)) => format!("{} ago", format_duration(now.saturating_sub(*at))),
        Ok(None) => "not committed".to_owned(),
        Err(_) => "no git history".to_owned(),
    }
}

/// The stage's hold and how much of it is left.
fn hold(hold: Option<u64>, changed: &Result<Option<u64>>, now: u64) -> String {
    match (hold, changed) {
        (None, _) => "-".to_owned(),
        (Some(h), Ok(Some(at))) => {
            let elapsed = now.saturating_sub(*at);
            if elapsed >= h {
                format!("{} (done)", format_duration(h))
            } else {
                format!(
                    "{} ({} left)",
                    format_duration(h),
                    format_duration(h - elapsed)
                )
            }
        }
        (Some(h), _) => format!("{} (not started)", format_duration(h)),
    }
}

/// The rows as aligned columns (weights and mirror to the right), one line each.
fn aligned(rows: &[[String; 7]]) -> String {
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::from(" ");
        for (c, cell) in r.iter().enumerate() {
            let w = widths[c];
            if (2..5).contains(&c) {
                line.push_str(&format!(" {cell:>w$}"));
            } else {
                line.push_str(&format!(" {cell:<w$}"));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
