//! `cutover status`: where each environment is in its rollout, and since when.

use crate::git::{line_changed_at, now};
use crate::plan::stage::{format_duration, Percent};
use crate::plan::Plan;

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
            let mut rows = vec![[
                "env".to_owned(),
                "stage".to_owned(),
                "to".to_owned(),
                "from".to_owned(),
                "mirror".to_owned(),
                "since".to_owned(),
                "hold".to_owned(),
            ]];
            for env in &m.environments {
                let i = m.stage_index(&env.stage).expect("validated");
                let s = &m.stages[i];
                let changed = line_changed_at(&path, env.span.start.line);
                let since = match &changed {
                    Ok(Some(at)) => format!("{} ago", format_duration(now.saturating_sub(*at))),
                    Ok(None) => "not committed".to_owned(),
                    Err(_) => "no git history".to_owned(),
                };
                let hold = match (s.hold, &changed) {
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
                };
                rows.push([
                    env.name.clone(),
                    format!("{}/{} {}", i + 1, m.stages.len(), s.name),
                    format!("{}%", s.to_weight()),
                    format!("{}%", s.from_weight()),
                    s.mirror()
                        .map_or_else(|| "-".to_owned(), |p| format!("{}%", Percent(p))),
                    since,
                    hold,
                ]);
            }
            let widths: Vec<usize> = (0..7)
                .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
                .collect();
            for r in &rows {
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
            for s in m.stages.iter().filter(|s| s.note.is_some()) {
                out.push_str(&format!(
                    "  note on {}: {}\n",
                    s.name,
                    s.note.as_deref().unwrap_or_default()
                ));
            }
        }
    }
    if out.is_empty() {
        out.push_str("no migration has environments\n");
    }
    out
}
