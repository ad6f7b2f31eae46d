//! `cutover lint`: validate VirtualService manifests in any files.

use std::path::PathBuf;

use crate::error::Result;

/// The lint report for `paths`, and the number of violations found.
pub fn report(_paths: &[PathBuf]) -> Result<(String, usize)> {
    Ok((String::new(), 0))
}
