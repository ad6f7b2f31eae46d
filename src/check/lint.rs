//! `cutover lint`: check VirtualService manifests in any files.
//!
//! Each file may hold several YAML documents; those that are not `kind: VirtualService`
//! (Services, Gateways, DestinationRules, ...) are skipped and counted. Every
//! VirtualService is checked by [`crate::check::istio::virtual_service`], and the report has
//! one line per violation:
//!
//! ```text
//! FILE:LINE:COLUMN: VirtualService NAME (document N): PATH: MESSAGE
//! ```
//!
//! (LINE:COLUMN: where PATH is written, or the nearest field above it that is), then a
//! summary line. A file that cannot be read or is not valid YAML is an error.

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;

use crate::check::istio;
use crate::error::{Error, Result};
use crate::vs::{self, VirtualService};
use crate::yaml::locate;

/// The lint report for `paths`, and the number of violations found.
pub fn report(paths: &[PathBuf]) -> Result<(String, usize)> {
    let mut out = String::new();
    let mut checked = 0usize;
    let mut skipped = 0usize;
    let mut violations = 0usize;
    for path in paths {
        let read_error = |source| Error::Read {
            path: path.clone(),
            source,
        };
        let text = std::fs::read_to_string(path).map_err(read_error)?;
        let file = path.display();
        let docs = vs::documents(&text).map_err(|e| {
            read_error(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not valid YAML: {e}"),
            ))
        })?;
        // Where each violation's field is written (best effort: none when the
        // documents do not line up, which they do for any file serde_yaml reads).
        let mut places = locate::documents(&text);
        if places.len() != docs.len() {
            places.clear();
        }
        for (i, doc) in docs.into_iter().enumerate() {
            if doc.is_null() {
                continue; // an empty document (a stray `---`, or only comments)
            }
            if !VirtualService::is_one(&doc) {
                skipped += 1;
                continue;
            }
            checked += 1;
            let doc = VirtualService::from(doc);
            let name = doc.name().unwrap_or("<unnamed>").to_owned();
            for v in istio::virtual_service(&doc.into_json()) {
                violations += 1;
                let path = if v.path.is_empty() {
                    "(document)"
                } else {
                    &v.path
                };
                let at = places
                    .get(i)
                    .and_then(|d| locate::nearest(d, &v.path))
                    .map(|p| format!(":{}:{}", p.line, p.col))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{file}{at}: VirtualService {name} (document {}): {path}: {}",
                    i + 1,
                    v.message
                );
            }
        }
    }
    let _ = write!(
        out,
        "{} checked in {}: {}",
        plural(checked, "VirtualService", "VirtualServices"),
        plural(paths.len(), "file", "files"),
        plural(violations, "violation", "violations"),
    );
    if skipped > 0 {
        let _ = write!(
            out,
            " ({} skipped)",
            plural(skipped, "other document", "other documents")
        );
    }
    out.push('\n');
    Ok((out, violations))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lint(text: &str) -> (String, usize) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vs.yaml");
        std::fs::write(&path, text).unwrap();
        let (out, n) = report(std::slice::from_ref(&path)).unwrap();
        (out.replace(&path.display().to_string(), "vs.yaml"), n)
    }

    const VALID: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
";

    #[test]
    fn valid_file() {
        let (out, n) = lint(VALID);
        assert_eq!(n, 0);
        assert_eq!(out, "1 VirtualService checked in 1 file: 0 violations\n");
    }

    #[test]
    fn violations_are_listed_with_document_numbers() {
        let text = format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: reviews}}\n---\n{}",
            VALID.replace("{host: reviews}", "{host: reviews}\n      weight: -5")
        );
        let (out, n) = lint(&text);
        assert_eq!(n, 1, "{out}");
        assert_eq!(
            out,
            "vs.yaml:14:15: VirtualService reviews (document 2): spec.http[0].route[0].weight: weight -5 is negative\n\
             1 VirtualService checked in 1 file: 1 violation (1 other document skipped)\n"
        );
    }

    #[test]
    fn empty_documents_are_ignored() {
        let (out, n) = lint(&format!("---\n# nothing\n---\n{VALID}---\n"));
        assert_eq!(n, 0);
        assert_eq!(out, "1 VirtualService checked in 1 file: 0 violations\n");
    }

    #[test]
    fn bad_yaml_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.yaml");
        std::fs::write(&path, "a: [1\n").unwrap();
        let e = report(&[path]).unwrap_err();
        assert!(e.to_string().contains("not valid YAML"), "{e}");
        let e = report(&[dir.path().join("missing.yaml")]).unwrap_err();
        assert!(matches!(e, Error::Read { .. }), "{e}");
    }
}
