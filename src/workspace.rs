//! The whole job for a set of plans: render them all, compare with disk (plans come
//! from [`crate::plan::Loader`]).

use crate::error::Result;
use crate::plan::Plan;
use crate::render::{self, GeneratedFile, Templates};
use crate::review::diff::{self, Tree};
use crate::sync::compare::{self, Changeset};

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
    Ok(diff::trees_of(&changes, tree_of(&rendered)))
}
