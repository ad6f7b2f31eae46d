//! `cutover stages`: each migration's rollout as a table, and optionally the
//! VirtualService diff from each stage to the next, for reviewing a new plan.

use crate::error::Result;
use crate::layout::{self, Part};
use crate::plan::stage::{format_duration, Percent};
use crate::plan::{Migration, Plan};
use crate::render::{self, GeneratedFile, Templates};
use crate::review::diff;

/// The rollout tables of every migration of `plans`; with `between`, each followed by
/// the diff of its VirtualService from one stage to the next.
pub fn report(plans: &[Plan], templates: &Templates, between: bool) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for plan in plans {
        let files = if between {
            render::render_plan(plan, templates)?
        } else {
            Vec::new()
        };
        for m in &plan.migrations {
            if !out.is_empty() {
                out.push(b'\n');
            }
            out.extend_from_slice(summary(plan, m).as_bytes());
            if between {
                stage_diffs(&mut out, m, &files);
            }
        }
    }
    Ok(out)
}

/// A migration's heading, its stage table, then holds, notes and environments.
fn summary(plan: &Plan, m: &Migration) -> String {
    let mut out = format!(
        "{} ({}, namespace {})\n  from: {}\n  to:   {}\n",
        m.name, plan.file, m.namespace, m.from, m.to
    );
    out.push_str(&table(m));
    for s in m
        .stages
        .iter()
        .filter(|s| s.note.is_some() || s.hold.is_some())
    {
        let mut what = Vec::new();
        if let Some(h) = s.hold {
            what.push(format!("hold {}", format_duration(h)));
        }
        if let Some(n) = &s.note {
            what.push(n.clone());
        }
        out.push_str(&format!("  {}: {}\n", s.name, what.join("; ")));
    }
    if !m.environments.is_empty() {
        let envs: Vec<String> = m
            .environments
            .iter()
            .map(|e| format!("{} at {}", e.name, e.stage))
            .collect();
        out.push_str(&format!("  environments: {}\n", envs.join(", ")));
    }
    out
}

/// The stage table: number, name, weights and mirror, in aligned columns.
fn table(m: &Migration) -> String {
    let rows: Vec<[String; 5]> = m
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            [
                (i + 1).to_string(),
                s.name.clone(),
                format!("{}%", s.to_weight()),
                format!("{}%", s.from_weight()),
                s.mirror()
                    .map_or_else(|| "-".to_owned(), |p| format!("{}%", Percent(p))),
            ]
        })
        .collect();
    let head = ["#", "stage", "to", "from", "mirror"];
    let widths: Vec<usize> = (0..5)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([head[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 5]| {
        format!(
            "  {:>w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {:>w4$}\n",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
            w4 = widths[4]
        )
    };
    let mut out = line(head);
    for r in &rows {
        out.push_str(&line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
    }
    out
}

/// The diff of migration `m`'s VirtualService from each stage to the next, from the
/// plan's rendered `files`.
fn stage_diffs(out: &mut Vec<u8>, m: &Migration, files: &[GeneratedFile]) {
    let manifests: Vec<_> = files
        .iter()
        .filter(|f| f.migration == m.name)
        .filter(|f| f.stage_manifest().is_some())
        .collect();
    let name = |f: &GeneratedFile| match &f.part {
        Part::Stage { number, name } => layout::stage_name(*number, m.stages.len(), name),
        _ => String::new(),
    };
    for pair in manifests.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        out.extend_from_slice(
            format!(
                "\n--- {} stage {}\n+++ {} stage {}\n",
                m.name,
                name(a),
                m.name,
                name(b)
            )
            .as_bytes(),
        );
        out.extend_from_slice(&diff::hunks(a.contents.as_bytes(), b.contents.as_bytes()));
    }
}
