//! The rollout stages of a migration: each one a weight, a mirror or a header canary,
//! in an order that never moves traffic back.

use super::{join, lookup, truncate, Ctx, LABEL_HELP};
use crate::plan::names;
use crate::plan::stage::{parse_duration, Percent, Stage, StageKind};
use crate::yaml::{Node, Resolved, Span, Style, Value};

/// The keys of a stage.
pub(crate) const STAGE_KEYS: &[&str] = &["name", "weight", "mirror", "header", "hold", "note"];
/// The keys of a stage's `header`.
pub(crate) const HEADER_KEYS: &[&str] = &["name", "value"];

impl Ctx<'_> {
    /// The list of stages, each valid and none moving traffic back.
    pub(super) fn stages(&mut self, node: &Node, field: &str) -> Option<Vec<Stage>> {
        let Value::Seq(items) = &node.value else {
            let found = node.type_name();
            let d = self.error(
                field,
                node.span,
                format!("expected a list of stages, found {found}"),
            );
            Self::help(
                d,
                "e.g. `stages: [{mirror: 100}, {weight: 10}, {weight: 100}]`",
            );
            return None;
        };
        if items.is_empty() {
            let d = self.error(field, node.span, "a migration needs at least one stage");
            Self::help(d, "e.g. `stages: [{weight: 10}, {weight: 100}]`");
            return None;
        }
        let mut stages: Vec<Stage> = Vec::new();
        let mut ok = true;
        // (to-weight, index) of the previous valid stage
        let mut prev: Option<(u8, usize)> = None;
        for (i, item) in items.iter().enumerate() {
            let path = format!("{field}[{i}]");
            let Some((stage, name_span, value_span)) = self.stage(item, &path) else {
                ok = false;
                continue;
            };
            if let Some((w, j)) = prev {
                ok &= self.forward_only(&stage, w, field, j, &path, value_span);
            }
            if let Some(j) = stages.iter().position(|s| s.name == stage.name) {
                let d = self.error(
                    &join(&path, "name"),
                    name_span,
                    format!("duplicate stage name `{}`", stage.name),
                );
                Self::help(
                    d,
                    format!("{field}[{j}] has the same name; give one of them its own `name:`"),
                );
                ok = false;
            }
            prev = Some((stage.to_weight(), i));
            stages.push(stage);
        }
        ok.then_some(stages)
    }

    /// Reports `stage` (at `path`) sending less to `to` than the previous valid stage,
    /// `{field}[j]`, which sends `w`%.
    fn forward_only(
        &mut self,
        stage: &Stage,
        w: u8,
        field: &str,
        j: usize,
        path: &str,
        value_span: Span,
    ) -> bool {
        if stage.to_weight() >= w {
            return true;
        }
        let what = match stage.kind {
            StageKind::Mirror(_) => {
                format!("a mirror stage sends 0% to `to`, but {field}[{j}] already sends {w}%")
            }
            StageKind::Weight(now) => {
                format!("weights must not decrease: {now}% after {w}% in {field}[{j}]")
            }
        };
        let key = if stage.mirror().is_some() {
            "mirror"
        } else {
            "weight"
        };
        let d = self.error(&join(path, key), value_span, what);
        Self::help(
            d,
            "list stages in rollout order; `cutover` moves traffic forward only",
        );
        false
    }

    /// One stage, with the span of its name (or the whole stage) and of its value.
    fn stage(&mut self, node: &Node, field: &str) -> Option<(Stage, Span, Span)> {
        let errors_before = self.diags.len();
        let entries = match &node.value {
            Value::Map(_) => self.mapping(node, field, STAGE_KEYS)?,
            _ => {
                let found = node.type_name();
                let d = self.error(
                    field,
                    node.span,
                    format!("expected a stage mapping, found {found}"),
                );
                Self::help(d, "write `{weight: 10}` or `{mirror: 100}`");
                return None;
            }
        };
        let get = |k: &str| lookup(&entries, k);
        let header = match get("header") {
            None => None,
            Some(h) => Some((self.header(h, &join(field, "header"))?, h.span)),
        };
        let (kind, value_span) = self.stage_kind(
            node,
            field,
            (get("weight"), get("mirror"), header.as_ref().map(|h| h.1)),
            errors_before,
        )?;
        let mut stage = Stage::unnamed(kind);
        if let Some((header, _)) = header {
            with_header(&mut stage, header);
        }
        if let Some(h) = get("hold") {
            stage.hold = Some(self.hold(h, &join(field, "hold"))?);
        }
        if let Some(n) = get("note") {
            stage.note = Some(self.string(n, &join(field, "note"))?);
        }
        let mut name_span = node.span;
        if let Some(n) = get("name") {
            stage.name = self.stage_name(n, &join(field, "name"))?;
            name_span = n.span;
        }
        Some((stage, name_span, value_span))
    }

    /// What a stage does, from its `weight`, `mirror` and the span of its `header` (if
    /// valid), with the span of the value that says it.
    fn stage_kind(
        &mut self,
        node: &Node,
        field: &str,
        (weight, mirror, header): (Option<&Node>, Option<&Node>, Option<Span>),
        errors_before: usize,
    ) -> Option<(StageKind, Span)> {
        if let (Some(_), Some(m)) = (header, mirror) {
            let d = self.error(field, m.span, "a header canary stage cannot also mirror");
            Self::help(
                d,
                "use `{header: ..., weight: 10}` or a separate mirror stage",
            );
            return None;
        }
        match (weight, mirror) {
            (None, None) if header.is_some() => {
                Some((StageKind::Weight(0), header.unwrap_or(node.span)))
            }
            (Some(_), Some(m)) => {
                let d = self.error(
                    field,
                    m.span,
                    "a stage sets either `weight` or `mirror`, not both",
                );
                Self::help(d, "mirror first in its own stage, then shift weight");
                None
            }
            (None, None) if self.diags.len() > errors_before => {
                // An unknown key (a misspelt `weight`, say) was reported already.
                None
            }
            (None, None) => {
                let d = self.error(field, node.span, "a stage needs `weight` or `mirror`");
                Self::help(d, "e.g. `{weight: 10}` or `{mirror: 100}`");
                None
            }
            (Some(w), None) => Some((self.weight(w, &join(field, "weight"))?, w.span)),
            (None, Some(m)) => Some((self.mirror(m, &join(field, "mirror"))?, m.span)),
        }
    }

    /// `hold`: a duration with a unit, in seconds.
    fn hold(&mut self, h: &Node, path: &str) -> Option<u64> {
        if let Some(Resolved::Int(n)) = h.resolve() {
            let d = self.error(path, h.span, format!("hold {n} has no unit"));
            Self::help(
                d,
                format!("write a number and a unit, e.g. `{n}s`, `24h` or `2d`"),
            );
            return None;
        }
        let text = self.string(h, path)?;
        let secs = parse_duration(&text);
        if secs.is_none() {
            let d = self.error(
                path,
                h.span,
                format!("hold `{}` is not a duration", truncate(&text)),
            );
            Self::help(
                d,
                "write a number and a unit: `90s`, `30m`, `24h`, `2d` or `1h30m`",
            );
        }
        secs
    }

    /// A stage's own `name`.
    fn stage_name(&mut self, n: &Node, path: &str) -> Option<String> {
        let name = self.string(n, path)?;
        if !names::is_dns1123_label(&name) || name.len() > 50 {
            let d = self.error(
                path,
                n.span,
                format!(
                    "stage name `{}` is not a DNS-1123 label of at most 50 characters",
                    truncate(&name)
                ),
            );
            Self::help(d, LABEL_HELP);
            return None;
        }
        Some(name)
    }

    /// `header: {name: x-canary, value: "true"}`.
    fn header(&mut self, v: &Node, field: &str) -> Option<(String, String)> {
        let entries = self.mapping(v, field, HEADER_KEYS)?;
        let get = |k: &str| lookup(&entries, k);
        let (Some(n), Some(val)) = (get("name"), get("value")) else {
            let d = self.error(field, v.span, "a header canary needs `name` and `value`");
            Self::help(d, "e.g. `header: {name: x-canary, value: \"true\"}`");
            return None;
        };
        let name = self.string(n, &join(field, "name"))?;
        if !names::is_header_name(&name) {
            let d = self.error(
                &join(field, "name"),
                n.span,
                format!("`{}` is not a lowercase HTTP header name", truncate(&name)),
            );
            Self::help(
                d,
                "Istio matches lowercase header names: letters, digits and `-`, e.g. `x-canary`",
            );
            return None;
        }
        let value = match val.resolve() {
            Some(Resolved::Str(s)) if !s.is_empty() && !s.chars().any(char::is_control) => {
                s.to_owned()
            }
            Some(Resolved::Bool(_) | Resolved::Int(_) | Resolved::Float(_)) => {
                let d = self.error(
                    &join(field, "value"),
                    val.span,
                    format!("expected a string, found {}", val.type_name()),
                );
                Self::help(d, "quote it: `value: \"true\"`");
                return None;
            }
            _ => {
                self.error(
                    &join(field, "value"),
                    val.span,
                    "the header value must be a non-empty string without control characters",
                );
                return None;
            }
        };
        Some((name, value))
    }

    fn weight(&mut self, v: &Node, field: &str) -> Option<StageKind> {
        match v.resolve() {
            Some(Resolved::Int(w)) if (0..=100).contains(&w) => Some(StageKind::Weight(w as u8)),
            Some(Resolved::Int(w)) => {
                let d = self.error(field, v.span, format!("weight {w} is outside 0..100"));
                Self::help(d, "a weight is the percentage of requests sent to `to`");
                None
            }
            Some(Resolved::Float(w)) => {
                let d = self.error(
                    field,
                    v.span,
                    format!("weight {} is not a whole number", Percent(w)),
                );
                Self::help(d, "Istio weights are integers from 0 to 100");
                None
            }
            _ => {
                let found = v.type_name();
                let d = self.error(
                    field,
                    v.span,
                    format!("expected an integer from 0 to 100, found {found}"),
                );
                if let Some(help) = weight_help(v) {
                    Self::help(d, help);
                }
                None
            }
        }
    }

    fn mirror(&mut self, v: &Node, field: &str) -> Option<StageKind> {
        let p = match v.resolve() {
            Some(Resolved::Int(p)) => p as f64,
            Some(Resolved::Float(p)) => p,
            _ => {
                let found = v.type_name();
                let d = self.error(
                    field,
                    v.span,
                    format!("expected a percentage, found {found}"),
                );
                Self::help(
                    d,
                    "write a number greater than 0 and at most 100, e.g. `mirror: 10`",
                );
                return None;
            }
        };
        if !(p > 0.0 && p <= 100.0) {
            let d = self.error(
                field,
                v.span,
                format!("mirror percentage {} is outside (0, 100]", Percent(p)),
            );
            Self::help(
                d,
                "mirror a share of requests greater than 0% and at most 100%",
            );
            return None;
        }
        let text = Percent(p).to_string();
        if text.split_once('.').is_some_and(|(_, frac)| frac.len() > 4) {
            let d = self.error(
                field,
                v.span,
                format!("mirror percentage {text} has more than 4 decimal places"),
            );
            Self::help(d, "the smallest step is 0.0001%");
            return None;
        }
        Some(StageKind::Mirror(p))
    }
}

/// Names a header canary stage after its header, and gives it the header to match.
fn with_header(stage: &mut Stage, (name, value): (String, String)) {
    stage.name = match stage.kind {
        StageKind::Weight(0) => format!("header-{name}"),
        StageKind::Weight(w) => format!("header-{name}-{w}"),
        // Refused by stage_kind: a header stage never mirrors.
        StageKind::Mirror(_) => "header".to_owned(),
    };
    if stage.name.len() > 50 {
        stage.name = match stage.kind {
            StageKind::Weight(w) if w > 0 => format!("header-{w}"),
            _ => "header".to_owned(),
        };
    }
    stage.header = Some((name, value));
}

/// A hint for a weight written as a string: the quotes around a number, or a `%` sign.
fn weight_help(v: &Node) -> Option<String> {
    let Value::Scalar(s) = &v.value else {
        return None;
    };
    let text = s.text.trim();
    let number = |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit());
    match text.strip_suffix('%') {
        Some(n) if number(n.trim_end()) => Some(format!(
            "write the percentage without `%`: `weight: {}`",
            n.trim_end()
        )),
        _ if s.style == Style::Quoted && number(text) => {
            Some(format!("remove the quotes: `weight: {text}`"))
        }
        _ => None,
    }
}
