//! Reading a plan's YAML into a [`Plan`]: every error is collected with its field path
//! and source location.
//!
//! [`Ctx`] holds what every reader needs (the source, the diagnostics so far, the plan's
//! place in the repository); the readers are split by the part of the plan they read:
//! [`top`] the top-level keys, [`fields`] one mapping of migration fields (a migration or
//! `defaults`), [`migration`] a complete migration, [`stages`] the rollout stages,
//! [`extras`] `gcpBackend` and `verify`.

mod extras;
mod fields;
mod migration;
mod stages;
mod top;

use std::path::{Path, PathBuf};

use crate::error::{Diagnostic, Diagnostics, Error, LineIndex, Result, Severity};
use crate::plan::names;
use crate::plan::Confinement;
use crate::plan::{Layout, Plan};
use crate::yaml::{self, Node, Pos, Resolved, Span, Value};

/// The keys each mapping of a plan takes, which the plan's JSON Schema must list too
/// (its test, in `plan::schema`).
#[cfg(test)]
pub(crate) use self::{
    extras::{GCP_KEYS, VERIFY_KEYS},
    fields::MIGRATION_KEYS,
    stages::{HEADER_KEYS, STAGE_KEYS},
    top::TOP_KEYS,
};

/// Validates plan `bytes` as if they were read from `path` (absolute) in repository
/// `root`; `confinement` says whether `output` and `base` may leave the repository.
pub(crate) fn parse(
    file: &str,
    bytes: &[u8],
    path: &Path,
    root: &Path,
    confinement: Confinement,
) -> Result<Plan> {
    let mut cx = Ctx {
        file,
        source: "",
        lines: LineIndex::new(""),
        diags: Vec::new(),
        path: path.to_path_buf(),
        dir: path.parent().unwrap_or(root).to_path_buf(),
        root: root.to_path_buf(),
        confinement,
        layout: None,
    };
    let source = match decode(bytes) {
        Ok(s) => s,
        Err(d) => return Err(cx.fail_with(*d)),
    };
    cx.source = source;
    cx.lines = LineIndex::new(source);
    let root_node = match yaml::parse(source) {
        Ok(Some(node)) => node,
        Ok(None) => {
            let d = Diagnostic::new(Severity::Error, file, "the plan file is empty")
                .with_help("start from `cutover.yaml` in the README's worked example");
            return Err(cx.fail_with(d));
        }
        Err(e) => {
            let mut d = Diagnostic::new(Severity::Error, file, e.message).with_field(e.path);
            if let Some(span) = e.span {
                d = d.with_span(source, clamp_to_text(source, span));
            }
            if let Some(help) = tab_help(source, &d) {
                d = d.with_help(help);
            }
            return Err(cx.fail_with(d));
        }
    };
    let plan = cx.plan(&root_node);
    if cx.diags.iter().any(Diagnostic::is_error) {
        // Errors in file order; warnings are noise next to errors.
        let mut errors: Vec<Diagnostic> =
            cx.diags.into_iter().filter(Diagnostic::is_error).collect();
        errors.sort_by_key(|d| d.snippet.as_ref().map(|s| (s.line, s.col)));
        // A bad value in `defaults` is found once per migration that inherits it.
        errors.dedup();
        return Err(Error::Invalid(Diagnostics(errors)));
    }
    let Some(mut plan) = plan else {
        // Every reader that gives up reports an error first; this is a safety net.
        return Err(Error::Invalid(Diagnostics(vec![Diagnostic::new(
            Severity::Error,
            file,
            "the plan is incomplete",
        )])));
    };
    plan.warnings = cx.diags;
    Ok(plan)
}

/// Checks encoding: strips a UTF-8 byte order mark and refuses other bytes than UTF-8.
fn decode(bytes: &[u8]) -> std::result::Result<&str, Box<Diagnostic>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
            let col = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
            let line_end = bytes[line_start..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(bytes.len(), |p| line_start + p);
            let text = String::from_utf8_lossy(&bytes[line_start..line_end]).into_owned();
            let pos = Pos {
                line: 1,
                col,
                index: 0,
            };
            let snippet = crate::error::snippet(
                &text,
                Span {
                    start: pos,
                    end: pos,
                },
            )
            .map(|mut s| {
                s.line = line;
                s
            });
            Err(Box::new(Diagnostic {
                snippet,
                ..Diagnostic::new(
                Severity::Error,
                "",
                format!(
                    "the file is not UTF-8 text: invalid byte 0x{:02X} at line {line}, column {col}",
                    bytes[e.valid_up_to()]
                ),
            )
            .with_help("save the plan as UTF-8")
            }))
        }
    }
}

/// Moves a span that points past the end of the text (errors at end of input) to the
/// end of the last non-blank line, so the snippet shows something.
fn clamp_to_text(source: &str, span: Span) -> Span {
    let lines: Vec<&str> = source.lines().collect();
    if span.start.line == 0 {
        return span;
    }
    if span.start.line <= lines.len() && !lines[span.start.line - 1].trim().is_empty() {
        return span;
    }
    match lines.iter().rposition(|l| !l.trim().is_empty()) {
        Some(i) if i < span.start.line => {
            let col = lines[i].chars().count() + 1;
            let pos = Pos {
                line: i + 1,
                col,
                index: 0,
            };
            Span {
                start: pos,
                end: pos,
            }
        }
        _ => span,
    }
}

/// The state of one plan's reading.
/// A hint for a YAML syntax error caused by a tab in the indentation: the first line,
/// from the error's on, indented with one.
fn tab_help(source: &str, d: &Diagnostic) -> Option<String> {
    let from = d.snippet.as_ref().map_or(1, |s| s.line);
    let tabbed = |line: &str| {
        line.chars()
            .take_while(|c| c.is_whitespace())
            .any(|c| c == '\t')
    };
    let (i, _) = source
        .lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| tabbed(l))
        .filter(|(i, _)| *i + 1 == from || d.message.contains("tab"))?;
    Some(format!(
        "line {} is indented with a tab: indent with spaces (YAML does not allow tabs there)",
        i + 1
    ))
}

struct Ctx<'a> {
    file: &'a str,
    source: &'a str,
    /// Line starts of `source`, for the snippet kept with every migration.
    lines: LineIndex,
    diags: Vec<Diagnostic>,
    /// The plan file (absolute), its folder and the repository root, for paths in the plan.
    path: PathBuf,
    dir: PathBuf,
    root: PathBuf,
    /// Whether `output` and `base` may leave the repository.
    confinement: Confinement,
    /// The plan's layout, once read (what a migration may ask of it depends on it).
    layout: Option<Layout>,
}

impl Ctx<'_> {
    fn unconfined(&self) -> bool {
        self.confinement.allow_outside_repo
    }

    fn fail_with(&mut self, mut d: Diagnostic) -> Error {
        d.file = self.file.to_owned();
        self.diags.push(d);
        Error::Invalid(Diagnostics(std::mem::take(&mut self.diags)))
    }

    fn report(
        &mut self,
        severity: Severity,
        field: &str,
        span: Span,
        msg: String,
    ) -> &mut Diagnostic {
        let d = Diagnostic::new(severity, self.file, msg)
            .with_field(field)
            .with_span(self.source, span);
        self.diags.push(d);
        self.diags.last_mut().expect("just pushed")
    }

    fn error(&mut self, field: &str, span: Span, msg: impl Into<String>) -> &mut Diagnostic {
        self.report(Severity::Error, field, span, msg.into())
    }

    fn warn(&mut self, field: &str, span: Span, msg: impl Into<String>) -> &mut Diagnostic {
        self.report(Severity::Warning, field, span, msg.into())
    }

    fn help(d: &mut Diagnostic, help: impl Into<String>) {
        d.help = Some(help.into());
    }

    /// The entries of a mapping with known keys; reports unknown keys with a suggestion.
    fn mapping<'n>(
        &mut self,
        node: &'n Node,
        field: &str,
        known: &[&'static str],
    ) -> Option<Vec<(&'static str, &'n Node)>> {
        let Value::Map(entries) = &node.value else {
            let found = node.type_name();
            self.error(
                field,
                node.span,
                format!("expected a mapping, found {found}"),
            );
            return None;
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let Some(key) = k.as_str() else {
                let found = k.type_name();
                self.error(
                    field,
                    k.span,
                    format!("keys must be strings, found {found}"),
                );
                continue;
            };
            match known.iter().find(|n| **n == key) {
                Some(name) => out.push((*name, v)),
                None => {
                    let path = join(field, key);
                    let shown = truncate(key);
                    let d = self.error(&path, k.span, format!("unknown field `{shown}`"));
                    match names::suggest(key, known) {
                        Some(s) => Self::help(d, format!("did you mean `{s}`?")),
                        None => Self::help(d, format!("known fields here: {}", known.join(", "))),
                    }
                }
            }
        }
        Some(out)
    }

    fn string(&mut self, node: &Node, field: &str) -> Option<String> {
        match node.resolve() {
            Some(Resolved::Str(s)) => {
                if s.is_empty() {
                    self.error(field, node.span, "must not be empty");
                    None
                } else if let Some(p) = names::placeholder_in(s) {
                    let d = self.error(
                        field,
                        node.span,
                        format!(
                            "`{}` is a placeholder left by `cutover import`: replace it with {}",
                            p.token, p.replace_with
                        ),
                    );
                    Self::help(
                        d,
                        "fill in every `<...>` value `cutover import` could not know",
                    );
                    None
                } else {
                    Some(s.to_owned())
                }
            }
            Some(r) => {
                let found = r.type_name();
                let d = self.error(
                    field,
                    node.span,
                    format!("expected a string, found {found}"),
                );
                if !matches!(r, Resolved::Null) {
                    Self::help(d, "quote the value to make it a string");
                }
                None
            }
            None => {
                let found = node.type_name();
                self.error(
                    field,
                    node.span,
                    format!("expected a string, found {found}"),
                );
                None
            }
        }
    }

    /// `true` or `false`.
    fn boolean(&mut self, node: &Node, field: &str) -> Option<bool> {
        if let Some(Resolved::Bool(b)) = node.resolve() {
            return Some(b);
        }
        let found = node.type_name();
        self.error(
            field,
            node.span,
            format!("expected true or false, found {found}"),
        );
        None
    }

    fn string_list(&mut self, node: &Node, field: &str) -> Option<Vec<(String, Span)>> {
        let Value::Seq(items) = &node.value else {
            let found = node.type_name();
            let d = self.error(field, node.span, format!("expected a list, found {found}"));
            Self::help(d, "write a list, e.g. `[a.example.com]`");
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.string(item, &format!("{field}[{i}]")) {
                Some(s) => out.push((s, item.span)),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// A string that passes `valid`; otherwise an error `what(value)` with `help`.
    fn checked(
        &mut self,
        node: &Node,
        field: &str,
        valid: impl Fn(&str) -> bool,
        what: impl Fn(&str) -> String,
        help: &str,
    ) -> Option<String> {
        let s = self.string(node, field)?;
        if valid(&s) {
            return Some(s);
        }
        let d = self.error(field, node.span, what(&truncate(&s)));
        Self::help(d, help);
        None
    }
}

/// The value of `key` among a mapping's entries.
fn lookup<'n>(entries: &[(&'static str, &'n Node)], key: &str) -> Option<&'n Node> {
    entries.iter().find(|(n, _)| *n == key).map(|(_, v)| *v)
}

const LABEL_HELP: &str =
    "use 1 to 63 lowercase letters, digits and `-`, starting and ending with a letter or digit";

fn join(field: &str, key: &str) -> String {
    if field.is_empty() {
        key.to_owned()
    } else {
        format!("{field}.{key}")
    }
}

/// Shortens long values in messages so hostile input cannot flood the terminal.
fn truncate(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if clean.chars().count() > 80 {
        format!("{}…", clean.chars().take(80).collect::<String>())
    } else {
        clean
    }
}

fn describe(v: &Node) -> String {
    match v.resolve() {
        Some(Resolved::Str(s)) => format!("`{}`", truncate(s)),
        _ => v.type_name().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Layout;

    fn parse(src: &str) -> Result<Plan> {
        Plan::parse(
            "plan.yaml",
            src.as_bytes(),
            Path::new("/repo/plan.yaml"),
            Path::new("/repo"),
        )
    }

    fn errors(src: &str) -> Vec<Diagnostic> {
        match parse(src) {
            Err(Error::Invalid(Diagnostics(d))) => d.into_iter().filter(|d| d.is_error()).collect(),
            Ok(_) => panic!("plan was accepted:\n{src}"),
            Err(e) => panic!("unexpected error {e}"),
        }
    }

    const GOOD: &str = "\
version: 1
output: deploy/cutover
defaults:
  namespace: payments
  stages: [{mirror: 100}, {weight: 10}, {weight: 50}, {weight: 100}]
migrations:
  - name: checkout
    from: cr-service-entry.com
    to: cr-gcpbackend.com
  - name: billing
    namespace: billing
    virtualService: billing-vs
    hosts: [billing.example.com]
    gateways: [mesh]
    from: billing-se.example.com
    to: billing-gcp.example.com
    stages:
      - {mirror: 12.5}
      - {name: half, weight: 50}
      - weight: 100
";

    #[test]
    fn parses_a_full_plan() {
        let plan = parse(GOOD).unwrap();
        assert_eq!(plan.id, "plan.yaml");
        assert_eq!(plan.output, PathBuf::from("/repo/deploy/cutover"));
        assert_eq!(plan.layout, Layout::Kustomize);
        assert_eq!(plan.api_version, "networking.istio.io/v1");
        assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
        let [checkout, billing] = &plan.migrations[..] else {
            panic!()
        };
        assert_eq!(checkout.namespace, "payments");
        assert_eq!(checkout.virtual_service, "checkout");
        assert_eq!(checkout.hosts, vec!["cr-service-entry.com"]);
        assert_eq!(checkout.stages.len(), 4);
        assert_eq!(checkout.stages[0].name, "mirror-100");
        assert_eq!(billing.namespace, "billing");
        assert_eq!(billing.virtual_service, "billing-vs");
        assert_eq!(billing.gateways, vec!["mesh"]);
        let names: Vec<_> = billing.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["mirror-12-5", "half", "weight-100"]);
    }

    #[test]
    fn reports_every_error_with_field_and_line() {
        let src = "\
version: 1
output: out
migrations:
  - name: Checkout
    namespace: payments
    from: a.example.com
    to: a.example.com
    stages:
      - weight: 150
      - wieght: 10
      - mirror: 0
";
        let errs = errors(src);
        let got: Vec<_> = errs
            .iter()
            .map(|d| {
                (
                    d.field.as_str(),
                    d.snippet.as_ref().map(|s| (s.line, s.col)),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("migrations[0].name", Some((4, 11))),
                ("migrations[0].to", Some((7, 9))),
                ("migrations[0].stages[0].weight", Some((9, 17))),
                ("migrations[0].stages[1].wieght", Some((10, 9))),
                ("migrations[0].stages[2].mirror", Some((11, 17))),
            ]
        );
        assert_eq!(errs[3].help.as_deref(), Some("did you mean `weight`?"));
    }

    #[test]
    fn rejects_decreasing_weights_and_duplicate_names() {
        let errs = errors(
            "version: 1\noutput: o\nmigrations:\n- name: a\n  namespace: n\n  from: a.com\n  to: b.com\n  stages: [{weight: 50}, {weight: 10}, {weight: 10}, {weight: 10}]\n",
        );
        let msgs: Vec<_> = errs.iter().map(|d| d.message.as_str()).collect();
        assert!(msgs[0].contains("must not decrease"), "{msgs:?}");
        assert!(
            msgs.iter()
                .any(|m| m.contains("duplicate stage name `weight-10`")),
            "{msgs:?}"
        );
    }

    #[test]
    fn mirror_precision_is_bounded() {
        let src = |m: &str| {
            format!("version: 1\noutput: o\nmigrations:\n- name: a\n  namespace: n\n  from: a.com\n  to: b.com\n  stages: [{{mirror: {m}}}, {{weight: 100}}]\n")
        };
        assert!(parse(&src("0.0001")).is_ok());
        let errs = errors(&src("1e-300"));
        assert!(
            errs[0].message.contains("more than 4 decimal places"),
            "{}",
            errs[0].message
        );
        assert!(!errors(&src("12.34567"))[0].message.is_empty());
    }

    #[test]
    fn mirror_after_weight_is_a_decrease() {
        let errs = errors(
            "version: 1\noutput: o\nmigrations:\n- name: a\n  namespace: n\n  from: a.com\n  to: b.com\n  stages: [{weight: 10}, {mirror: 10}]\n",
        );
        assert!(
            errs[0].message.contains("mirror stage sends 0%"),
            "{}",
            errs[0].message
        );
    }

    #[test]
    fn numbers_as_strings_and_strings_as_numbers() {
        let errs = errors(
            "version: 1\noutput: o\nmigrations:\n- name: a\n  namespace: 123\n  from: a.com\n  to: b.com\n  stages: [{weight: '10'}]\n",
        );
        assert_eq!(errs[0].field, "migrations[0].namespace");
        assert_eq!(errs[0].message, "expected a string, found an integer");
        assert_eq!(
            errs[1].message,
            "expected an integer from 0 to 100, found a string"
        );
    }

    #[test]
    fn output_must_stay_in_the_repository() {
        for out in ["../elsewhere", "/etc", "a/../../x", ".git/x", "a/../.git"] {
            let errs = errors(&format!("version: 1\noutput: {out}\nmigrations: []\n"));
            assert_eq!(errs[0].field, "output", "{out}");
        }
    }

    #[test]
    fn warns_when_the_last_stage_is_below_100() {
        let plan = parse(
            "version: 1\noutput: o\nmigrations:\n- name: a\n  namespace: n\n  from: a.com\n  to: b.com\n  stages: [{weight: 50}]\n",
        )
        .unwrap();
        assert_eq!(plan.warnings.len(), 1);
        assert!(plan.warnings[0].message.contains("never completes"));
    }

    #[test]
    fn missing_fields_and_bad_top_level() {
        let errs = errors("version: 2\nlayout: tree\napiVersion: v9\nmigrations:\n- name: a\n");
        let fields: Vec<_> = errs.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(
            errs[4].message,
            "missing required fields `namespace`, `from`, `to`, `stages`"
        );
        assert_eq!(
            fields,
            ["output", "version", "layout", "apiVersion", "migrations[0]",]
        );
    }

    #[test]
    fn encoding_and_empty_files() {
        assert!(errors("")[0].message.contains("empty"));
        let mut bad = b"version: 1\noutput: \xff\n".to_vec();
        let e = match Plan::parse("p", &bad, Path::new("/r/p"), Path::new("/r")) {
            Err(Error::Invalid(Diagnostics(d))) => d,
            _ => panic!(),
        };
        assert!(
            e[0].message.contains("line 2, column 9"),
            "{}",
            e[0].message
        );
        bad = b"\xEF\xBB\xBFversion: 1\noutput: o\nmigrations: []\n".to_vec();
        assert!(Plan::parse("p", &bad, Path::new("/r/p"), Path::new("/r")).is_ok());
    }
}
