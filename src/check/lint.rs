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
//!
//! A manifest is checked as YAML 1.2 reads it ([`resolve::yaml12`]: a plain `012` is the
//! integer 12, which the schema refuses where a string belongs, although the YAML reader
//! cutover uses takes it for the string "012"), and every plain scalar that YAML 1.1,
//! as kubectl reads manifests ([`resolve::kubectl`]), reads otherwise is a violation of
//! its own (`exact: yes` is a string in YAML 1.2 and the boolean true to kubectl, which
//! the API server refuses): one file, one meaning, for every reader. A plain scalar that
//! cutover's own reader and YAML 1.2 read differently (`012`, `00`, `0b1`;
//! [`resolve::misread`]) is one violation, whose advice fits its field: a number field
//! (`port.number: 08080`: write `8080`), a string field (`exact: 012`: quote it). `render`
//! refuses a base with one.

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;

use serde_json::Value as Json;

use crate::check::istio;
use crate::error::{Error, Result};
use crate::vs::{self, VirtualService};
use crate::yaml::locate::{self, Plain};
use crate::yaml::resolve;

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
        // Where each violation's field is written, and the plain scalars (best effort:
        // none when the documents do not line up, which they do for any file serde_yaml
        // reads).
        let mut places = locate::documents_and_plain_scalars(&text);
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
            let (starts, plain) = match places.get(i) {
                Some((starts, plain)) => (Some(starts), plain.as_slice()),
                None => (None, &[][..]),
            };
            let mut json = doc.into_json();
            as_yaml_1_2_reads(&mut json, plain);
            let misread = misread(&json, plain);
            // A misread scalar's own message says what its field needs.
            let mut found: Vec<(String, String)> = istio::virtual_service(&json)
                .into_iter()
                .filter(|v| !misread.iter().any(|(path, _)| *path == v.path))
                .map(|v| (v.path, v.message))
                .collect();
            found.extend(misread);
            found.extend(readers_disagree(plain));
            for (path, message) in found {
                violations += 1;
                let at = starts
                    .and_then(|d| locate::nearest(d, &path))
                    .map(|p| format!(":{}:{}", p.line, p.col))
                    .unwrap_or_default();
                let path = if path.is_empty() { "(document)" } else { &path };
                let _ = writeln!(
                    out,
                    "{file}{at}: VirtualService {name} (document {}): {path}: {message}",
                    i + 1
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

/// Gives every plain scalar of `json` (a document as `serde_yaml` read it) the value YAML
/// 1.2 reads: `serde_yaml` takes `012` for the string "012", YAML 1.2 for the integer 12.
fn as_yaml_1_2_reads(json: &mut Json, plain: &[Plain]) {
    for p in plain {
        let want = resolve::yaml12(&p.text).to_json(&p.text);
        if let Some(v) = at_path(json, "", &p.path) {
            if !same_json(v, &want) {
                *v = want;
            }
        }
    }
}

/// Whether two JSON values are the same, numbers compared by value (12 and 12.0).
fn same_json(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_u64() == y.as_u64() && x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

/// The value at `path` ([`locate::documents`]'s names) of `json`, whose own path is `here`.
fn at_path<'a>(json: &'a mut Json, here: &str, path: &str) -> Option<&'a mut Json> {
    if here == path {
        return Some(json);
    }
    // Only a child whose path starts `path` can hold it.
    let leads = |p: &str| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
    };
    match json {
        Json::Object(m) => m.iter_mut().find_map(|(k, v)| {
            let p = if here.is_empty() {
                k.clone()
            } else {
                format!("{here}.{k}")
            };
            if leads(&p) {
                at_path(v, &p, path)
            } else {
                None
            }
        }),
        Json::Array(items) => items.iter_mut().enumerate().find_map(|(i, v)| {
            let p = format!("{here}[{i}]");
            if leads(&p) {
                at_path(v, &p, path)
            } else {
                None
            }
        }),
        _ => None,
    }
}

/// A (path, message) for every plain scalar cutover's YAML reader and YAML 1.2 read
/// differently ([`resolve::misread`]), with advice fitting its field: `json` is the
/// document as YAML 1.2 reads it, and the field is a number field when Istio's schema
/// takes the number there and refuses the string, a string field the other way round.
fn misread(json: &Json, plain: &[Plain]) -> Vec<(String, String)> {
    let refused =
        |json: &Json, path: &str| istio::virtual_service(json).iter().any(|v| v.path == path);
    let mut out = Vec::new();
    for p in plain {
        let Some(m) = resolve::misread(&p.text) else {
            continue;
        };
        let mut as_string = json.clone();
        if let Some(v) = at_path(&mut as_string, "", &p.path) {
            *v = Json::String(p.text.clone());
        }
        let advice = match (
            m.number.as_deref(),
            refused(json, &p.path),
            refused(&as_string, &p.path),
        ) {
            (Some(n), false, true) => format!("the field is a number: write `{n}`"),
            (_, true, false) => format!("the field is a string: quote it, `{}`", m.string),
            _ => m.advice(),
        };
        out.push((p.path.clone(), format!("{}; {advice}", m.readings)));
    }
    out
}

/// A (path, message) for every plain scalar YAML 1.2 and kubectl read differently (those
/// [`misread`] reports left out).
fn readers_disagree(plain: &[Plain]) -> impl Iterator<Item = (String, String)> + '_ {
    plain.iter().filter(|p| resolve::misread(&p.text).is_none()).filter_map(|p| {
        let (v12, v11) = (resolve::yaml12(&p.text), resolve::kubectl(&p.text));
        (!v12.same(&v11)).then(|| {
            (
                p.path.clone(),
                format!(
                    "plain `{}` is {} in YAML 1.2 but {} in YAML 1.1, as kubectl reads it; quote it ('{}') if a string is meant",
                    p.text,
                    v12.describe(&p.text),
                    v11.describe(&p.text),
                    p.text
                ),
            )
        })
    })
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
    fn scalars_cutovers_reader_and_yaml_1_2_read_differently_get_advice_fitting_the_field() {
        let text = VALID
            .replace(
                "{host: reviews}",
                "{host: reviews, port: {number: 08080}}\n      headers: {request: {set: {x-v: 012}}}",
            )
            .replace("hosts: [reviews]", "hosts: [reviews]\n  exportTo: [0b1]");
        let (out, n) = lint(&text);
        assert_eq!(n, 3, "{out}");
        assert_eq!(
            out,
            "vs.yaml:7:14: VirtualService reviews (document 1): spec.exportTo[0]: plain `0b1` is the integer 1 to cutover's YAML reader, the string \"0b1\" in YAML 1.2 and the integer 1 in YAML 1.1, as kubectl reads it; write `\"0b1\"` for a string\n\
             vs.yaml:10:51: VirtualService reviews (document 1): spec.http[0].route[0].destination.port.number: plain `08080` is the string \"08080\" to cutover's YAML reader, the integer 8080 in YAML 1.2 and the float 8080 in YAML 1.1, as kubectl reads it; the field is a number: write `8080`\n\
             vs.yaml:11:38: VirtualService reviews (document 1): spec.http[0].route[0].headers.request.set.x-v: plain `012` is the string \"012\" to cutover's YAML reader, the integer 12 in YAML 1.2 and the integer 10 in YAML 1.1, as kubectl reads it; the field is a string: quote it, `\"012\"`\n\
             1 VirtualService checked in 1 file: 3 violations\n"
        );
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
