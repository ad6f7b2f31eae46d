//! `cutover schema`: the JSON Schema of the plan file, for editors.

use clap::Args;

use crate::cli::{Failure, Output, EXIT_OK};
use crate::plan::schema;

/// Arguments of `schema` (none).
#[derive(Debug, Args)]
pub struct SchemaArgs {}

/// Prints the plan file's JSON Schema, pretty, with a trailing newline: the text of
/// `schemas/plan-v1.schema.json`.
pub(crate) fn run(_args: &SchemaArgs, out: &Output) -> Result<i32, Failure> {
    out.raw(&schema::plan_schema_text(), EXIT_OK)?;
    Ok(EXIT_OK)
}
