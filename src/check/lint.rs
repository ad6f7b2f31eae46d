//! `cutover lint`: validate VirtualService manifests in any files.
//!
//! Each file may hold several YAML documents; those that are not `kind: VirtualService`
//! (Services, Gateways, DestinationRules, ...) are skipped and counted. Every
//! VirtualService is checked by [`crate::check::istio::virtual_service`], and the report has
//! one line per violation:
//!
//! ```text
//! FILE: VirtualService NAME (document N): PATH: MESSAGE
//! ```
//!
//! then a summary line. A file that cannot be read or is not valid YAML is an error.

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value as Json;
use serde_yaml::Value as Yaml;

use crate::check::istio;
use crate::error::{Error, Result};

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
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let file = path.display();
        for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
            let doc = Yaml::deserialize(doc).map_err(|e| {
                read_error(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("not valid YAML: {e}"),
                ))
            })?;
            if doc.is_null() {
                continue; // an empty document (a stray `---`, or only comments)
            }
            let doc = to_json(doc);
            if doc.get("kind").and_then(Json::as_str) != Some("VirtualService") {
                skipped += 1;
                continue;
            }
            checked += 1;
            let name = doc
                .pointer("/metadata/name")
                .and_then(Json::as_str)
                .unwrap_or("<unnamed>");
            for v in istio::virtual_service(&doc) {
                violations += 1;
                let path = if v.path.is_empty() {
                    "(document)"
                } else {
                    &v.path
                };
                let _ = writeln!(
                    out,
                    "{file}: VirtualService {name} (document {}): {path}: {}",
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

/// A YAML value as JSON. Non-string keys become their YAML text (`80`, `true`); tags are
/// dropped; non-finite floats (`.nan`, `.inf`), which JSON cannot hold, become strings so
/// the schema reports them as having the wrong type.
pub fn to_json(v: Yaml) -> Json {
    match v {
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => Json::Bool(b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                Json::from(i)
            } else if let Some(u) = n.as_u64() {
                Json::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map_or_else(|| Json::String(n.to_string()), Json::Number)
            }
        }
        Yaml::String(s) => Json::String(s),
        Yaml::Sequence(items) => Json::Array(items.into_iter().map(to_json).collect()),
        Yaml::Mapping(m) => Json::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s,
                        other => serde_yaml::to_string(&other)
                            .map(|s| s.trim_end().to_owned())
                            .unwrap_or_default(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Yaml::Tagged(t) => to_json(t.value),
    }
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
            "vs.yaml: VirtualService reviews (document 2): spec.http[0].route[0].weight: weight -5 is negative\n\
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

    #[test]
    fn yaml_to_json() {
        let y: Yaml = serde_yaml::from_str("{a: 1, b: 1.5, 80: x, c: [true, ~], d: .nan}").unwrap();
        assert_eq!(
            to_json(y),
            serde_json::json!({"a": 1, "b": 1.5, "80": "x", "c": [true, null], "d": ".nan"})
        );
    }
}
