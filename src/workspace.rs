//! The whole job for a set of plans: load them all, render them all, compare with disk.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Diagnostic, Diagnostics, Error, Result, Severity};
use crate::plan::Plan;
use crate::render::{self, GeneratedFile, Templates};
use crate::review::diff::{self, Tree};
use crate::sync::compare::{self, Changeset};

/// Loads every plan. Problems in all of them are reported together; plans that two
/// files name twice are loaded once; two migrations (of any plans) that would write
/// the same output folder are an error naming both.
pub fn load(paths: &[(PathBuf, String)]) -> Result<Vec<Plan>> {
    let mut plans: Vec<Plan> = Vec::new();
    let mut diags = Vec::new();
    let mut failed = false;
    for (path, file) in paths {
        match Plan::load(path, file) {
            Ok(plan) => {
                if !plans.iter().any(|p| p.root == plan.root && p.id == plan.id) {
                    plans.push(plan);
                }
            }
            Err(Error::Invalid(Diagnostics(d))) => {
                failed = true;
                diags.extend(d);
            }
            Err(e) => return Err(e),
        }
    }
    let mut folders: HashMap<PathBuf, (usize, usize)> = HashMap::new();
    for (p, plan) in plans.iter().enumerate() {
        for (i, m) in plan.migrations.iter().enumerate() {
            let dir = plan.output.join(&m.name);
            if let Some(&(q, j)) = folders.get(&dir) {
                failed = true;
                let other = &plans[q];
                diags.push(
                    Diagnostic::new(
                        Severity::Error,
                        &plan.file,
                        format!(
                            "migration `{}` writes to {}, which migration `{}` of {} also writes to",
                            m.name,
                            dir.strip_prefix(&plan.root).unwrap_or(&dir).display(),
                            other.migrations[j].name,
                            other.file
                        ),
                    )
                    .with_field(format!("migrations[{i}].name"))
                    .with_help("give one plan another `output` folder, or rename the migration"),
                );
                if let Some(d) = diags.last_mut() {
                    d.snippet = m.location.clone();
                }
            } else {
                folders.insert(dir, (p, i));
            }
        }
    }
    if failed {
        return Err(Error::Invalid(Diagnostics(diags)));
    }
    Ok(plans)
}

/// Renders every plan (`result[i]` belongs to `plans[i]`).
pub fn render_all(plans: &[Plan], templates: &Templates) -> Result<Vec<Vec<GeneratedFile>>> {
    plans
        .iter()
        .map(|p| render::render_plan(p, templates))
        .collect()
}

/// Renders every plan and compares the result with the disk, migration by migration
/// (see [`compare::stream`]): the changes carry no contents.
pub fn changes(
    plans: &[Plan],
    templates: &Templates,
    keep: compare::Keep<'_>,
) -> Result<Changeset> {
    compare::stream(plans, templates, keep)
}

/// Every file the plans produce, path relative to its repository root → contents.
pub fn tree_of(rendered: &[Vec<GeneratedFile>]) -> Tree {
    rendered
        .iter()
        .flatten()
        .map(|f| (f.rel.clone(), f.contents.clone().into_bytes()))
        .collect()
}

/// The tree on disk and the tree the plans want (only the files the plans own or want).
pub fn disk_trees(plans: &[Plan], templates: &Templates) -> Result<(Tree, Tree)> {
    let rendered = render_all(plans, templates)?;
    let changes = compare::compare(plans, &rendered)?;
    diff::trees_of(&changes, tree_of(&rendered))
}

/// The warnings of every plan.
pub fn warnings(plans: &[Plan]) -> impl Iterator<Item = &Diagnostic> {
    plans.iter().flat_map(|p| p.warnings.iter())
}

/// Pairs each path with how messages should name it (as given).
pub fn named(paths: &[PathBuf]) -> Vec<(PathBuf, String)> {
    paths.iter().map(|p| (p.clone(), display(p))).collect()
}

fn display(p: &Path) -> String {
    let s = p.display().to_string();
    s.strip_prefix("./").map(str::to_owned).unwrap_or(s)
}
