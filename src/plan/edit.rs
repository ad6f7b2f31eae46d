//! Moving an environment from one stage to another by editing one value of the plan.
//!
//! The plan file is edited in place: only the bytes of the environment's stage name
//! change, so comments, key order, the value's style (see [`replace_value`]), line
//! endings and everything else stay as they were. The edited plan is validated and
//! rendered before anything is written.

use std::path::Path;

use crate::error::{Error, Result};
use crate::git::{line_changed_at, now};
use crate::plan::stage::format_duration;
use crate::plan::{Environment, Loader, Migration, Plan};
use crate::yaml::{self, escape, Span, Written};

/// Which way an environment moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// To a later stage (`promote`).
    Forward,
    /// To an earlier stage (`rollback`).
    Back,
}

/// What was asked for.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// The environment to move.
    pub env: &'a str,
    /// The migration, when the environment is in several.
    pub migration: Option<&'a str>,
    /// The stage to move to (a name, or `first` / `last`); default: the next (or previous) one.
    pub to: Option<&'a str>,
    /// Skip the safety checks (skipping stages, wrong direction, holds).
    pub force: bool,
    /// Promote or roll back.
    pub direction: Direction,
}

/// One migration's environment moving between stages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Move {
    /// The migration.
    pub migration: String,
    /// The stage before.
    pub from: String,
    /// The stage after.
    pub to: String,
}

/// The result of planning a move: the edited plan and what it changes.
#[derive(Debug)]
pub struct Planned {
    /// The whole plan file after the edit.
    pub source: Vec<u8>,
    /// The plan as it will be.
    pub plan: Plan,
    /// Each migration whose environment moves (several when the value is shared through
    /// `defaults`).
    pub moves: Vec<Move>,
    /// The field path of the edited value.
    pub field: String,
    /// Warnings for the user (a hold overridden with `--force`, ...).
    pub warnings: Vec<String>,
}

fn refuse(msg: String) -> Error {
    Error::Refused(msg)
}

/// Plans moving `req.env` in the plan at `path` (named `file` in messages), loading the
/// plan before and after the edit with `loader`.
pub fn plan_move(loader: &Loader, path: &Path, file: &str, req: &Request<'_>) -> Result<Planned> {
    let plan = loader.load(path, file)?;
    let bytes = std::fs::read(path).map_err(|e| Error::Read {
        path: path.to_path_buf(),
        source: e,
    })?;
    let (env, sharing) = choose(&plan, file, req)?;
    let mut warnings = Vec::new();
    let mut moves: Vec<Move> = Vec::new();
    for m in &sharing {
        let to = target(m, &env, req, path, &mut warnings)?;
        if let Some(first) = moves.first().filter(|mv| mv.to != to) {
            return Err(refuse(format!(
                "`{}` is shared through {} by migrations whose next stages differ ({}, {to}); name the stage with --to",
                req.env, env.field, first.to
            )));
        }
        moves.push(Move {
            migration: m.name.clone(),
            from: env.stage.clone(),
            to,
        });
    }
    let Some(target) = moves.first().map(|mv| mv.to.clone()) else {
        return Err(refuse(format!(
            "no migration of {file} has an environment `{}`",
            req.env
        )));
    };

    let source = replace_value(&bytes, env.span, &target)?;
    // The edited plan must be valid and say what was asked, or nothing is written.
    let edited = loader.load_edited(path, file, &source).map_err(|e| {
        refuse(format!(
            "the edited plan would not be valid, so it was left as it was:\n{e}"
        ))
    })?;
    for mv in &moves {
        let now = edited
            .migrations
            .iter()
            .find(|m| m.name == mv.migration)
            .and_then(|m| m.environment(req.env))
            .map(|e| e.stage.clone());
        if now.as_deref() != Some(mv.to.as_str()) {
            return Err(refuse(format!(
                "editing {} did not move {} of {} to {}; the plan was left as it was",
                env.field, req.env, mv.migration, mv.to
            )));
        }
    }
    Ok(Planned {
        source,
        plan: edited,
        moves,
        field: env.field,
        warnings,
    })
}

/// The environment to edit (the value where its stage is written) and every migration
/// that shares that value, so moves with it (`status` asks it which command to suggest).
pub(crate) fn choose<'p>(
    plan: &'p Plan,
    file: &str,
    req: &Request<'_>,
) -> Result<(Environment, Vec<&'p Migration>)> {
    // The migrations that have the environment, and the value they take it from.
    let with_env: Vec<_> = plan
        .migrations
        .iter()
        .filter_map(|m| m.environment(req.env).map(|e| (m, e)))
        .collect();
    let Some(&(first, first_env)) = with_env.first() else {
        return Err(refuse(format!(
            "no migration of {file} has an environment `{}`",
            req.env
        )));
    };
    let (chosen, env) = match req.migration {
        Some(name) => *with_env
            .iter()
            .find(|(m, _)| m.name == name)
            .ok_or_else(|| {
                refuse(format!(
                    "migration `{name}` of {file} has no environment `{}`",
                    req.env
                ))
            })?,
        None => {
            if with_env.iter().any(|(_, o)| o.span != first_env.span) {
                let names: Vec<&str> = with_env.iter().map(|(m, _)| m.name.as_str()).collect();
                return Err(refuse(format!(
                    "environment `{}` is in several migrations ({}); name one with --migration",
                    req.env,
                    names.join(", ")
                )));
            }
            (first, first_env)
        }
    };
    // Everyone sharing the edited value moves with it.
    let sharing: Vec<&Migration> = with_env
        .iter()
        .filter(|(_, e)| e.span == env.span)
        .map(|(m, _)| *m)
        .collect();
    if req.migration.is_some() && sharing.len() > 1 {
        let names: Vec<&str> = sharing.iter().map(|m| m.name.as_str()).collect();
        return Err(refuse(format!(
            "`{}` of {} is set in {} and shared by {}; leave out --migration to move them together, or give {} its own `environments:`",
            req.env,
            chosen.name,
            env.field,
            names.join(", "),
            chosen.name
        )));
    }
    Ok((env.clone(), sharing))
}

/// The stage migration `m`'s environment `env` moves to, after the safety checks
/// (skipping stages, direction, holds); overridden checks are added to `warnings`.
fn target(
    m: &Migration,
    env: &Environment,
    req: &Request<'_>,
    path: &Path,
    warnings: &mut Vec<String>,
) -> Result<String> {
    let current = m
        .stage_index(&env.stage)
        .ok_or_else(|| refuse(format!("migration {} has no stage `{}`", m.name, env.stage)))?;
    let target = target_index(m, env, req, current)?;
    let name = m.stages[target].name.clone();
    if target == current {
        return Err(refuse(format!(
            "{} of {} is already at stage {name}",
            req.env, m.name
        )));
    }
    let (wrong_way, what) = match req.direction {
        Direction::Forward if target < current => (true, "goes backwards; use `cutover rollback`"),
        Direction::Back if target > current => (true, "goes forwards; use `cutover promote`"),
        Direction::Forward if target > current + 1 => (true, "skips stages"),
        _ => (false, ""),
    };
    if wrong_way {
        let msg = format!(
            "moving {} of {} from {} to {name} {what}",
            req.env, m.name, env.stage
        );
        if req.force {
            warnings.push(format!("{msg} (forced)"));
        } else {
            return Err(refuse(format!("{msg}; add --force to do it anyway")));
        }
    }
    if req.direction == Direction::Forward && target > current {
        if let Some(hold) = m.stages[current].hold {
            check_hold(path, &env.span, hold, req, &m.name, &env.stage, warnings)?;
        }
    }
    Ok(name)
}

/// The index of the stage asked for (`--to`), or the next (previous) one.
fn target_index(
    m: &Migration,
    env: &Environment,
    req: &Request<'_>,
    current: usize,
) -> Result<usize> {
    let last = m.stages.len().saturating_sub(1);
    match req.to {
        Some("first") => Ok(0),
        Some("last") => Ok(last),
        Some(name) => m.stage_index(name).ok_or_else(|| {
            let names: Vec<&str> = m.stages.iter().map(|s| s.name.as_str()).collect();
            refuse(format!(
                "migration {} has no stage `{name}`; its stages are: {}",
                m.name,
                names.join(", ")
            ))
        }),
        None => match req.direction {
            Direction::Forward if current == last => Err(refuse(format!(
                "{} of {} is already at the last stage ({})",
                req.env, m.name, env.stage
            ))),
            Direction::Forward => Ok(current + 1),
            Direction::Back if current == 0 => Err(refuse(format!(
                "{} of {} is already at the first stage ({})",
                req.env, m.name, env.stage
            ))),
            Direction::Back => Ok(current - 1),
        },
    }
}

/// Replaces the scalar whose span starts at `span` in the plan `bytes` by `value`.
/// `span` indexes characters of the text after a UTF-8 byte order mark (as the plan's
/// spans do). Only the scalar's own characters change: comments, line endings and a
/// block scalar's header stay.
///
/// The value keeps the old one's style, so that moving back writes the old bytes again:
/// - plain stays plain when that reads back as the same string (plans are YAML 1.2,
///   where `yes` and `off` are strings), else it is double-quoted;
/// - double quotes that the old value needed (`"2"`, `"true"`) may be the ones a move
///   from a plain value wrote: they go when the new value does not need them; double
///   quotes the old value did not need are the author's style and stay;
/// - single quotes stay;
/// - a block scalar (`|-`, `>-`) keeps its header and indentation, the value replacing
///   its content.
pub fn replace_value(bytes: &[u8], span: Span, value: &str) -> Result<Vec<u8>> {
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let text =
        std::str::from_utf8(&bytes[bom..]).map_err(|_| refuse("the plan is not UTF-8".into()))?;
    let old = yaml::scalar_at(text, span.start.index)
        .filter(|s| !s.properties)
        .ok_or_else(|| {
            refuse(
                "the environment's value uses a YAML anchor, alias or tag; write the stage name as a plain value to promote it".into(),
            )
        })?;
    let new = rewritten(&old, value)?;
    let byte_at = |chars: usize| {
        text.char_indices()
            .nth(chars)
            .map_or(text.len(), |(i, _)| i)
    };
    let (start, end) = (byte_at(old.span.start.index), byte_at(old.span.end.index));
    let mut out = Vec::with_capacity(bytes.len() + new.len());
    out.extend_from_slice(&bytes[..bom + start]);
    out.extend_from_slice(new.as_bytes());
    out.extend_from_slice(&bytes[bom + end..]);
    Ok(out)
}

/// `value` written in the style of the scalar `old` (see [`replace_value`]).
fn rewritten(old: &yaml::SourceScalar, value: &str) -> Result<String> {
    // Plans are read as YAML 1.2: `yes` or `off` need no quotes there.
    let in_plan = |v: &str| {
        if escape::is_plain_safe_in_1_2(v) {
            v.to_owned()
        } else {
            escape::double_quoted(v)
        }
    };
    Ok(match old.written {
        Written::Plain => in_plan(value),
        Written::DoubleQuoted if !escape::is_plain_safe_in_1_2(&old.text) => in_plan(value),
        Written::DoubleQuoted => escape::double_quoted(value),
        Written::SingleQuoted => {
            escape::single_quoted(value).unwrap_or_else(|| escape::double_quoted(value))
        }
        Written::Literal | Written::Folded => {
            if !escape::fits_block_line(value) {
                return Err(refuse(format!(
                    "`{value}` cannot be written as the content of the environment's block scalar; write the stage name as a plain value"
                )));
            }
            value.to_owned()
        }
    })
}

fn check_hold(
    path: &Path,
    span: &Span,
    hold: u64,
    req: &Request<'_>,
    migration: &str,
    stage: &str,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let problem = match line_changed_at(path, span.start.line) {
        Ok(Some(at)) => {
            let elapsed = now().saturating_sub(at);
            if elapsed >= hold {
                return Ok(());
            }
            format!(
                "{} of {migration} has been at {stage} for {}; its hold is {} ({} to go)",
                req.env,
                format_duration(elapsed),
                format_duration(hold),
                format_duration(hold - elapsed)
            )
        }
        Ok(None) => format!(
            "{} of {migration} was moved to {stage} in changes not yet committed; its hold of {} has not started",
            req.env,
            format_duration(hold)
        ),
        Err(why) => format!(
            "cannot tell how long {} of {migration} has been at {stage} (hold {}): no git history for the plan ({why})",
            req.env,
            format_duration(hold)
        ),
    };
    if req.force {
        warnings.push(format!("{problem}; promoting anyway (--force)"));
        Ok(())
    } else {
        Err(refuse(format!("{problem}; add --force to promote anyway")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_edited_plan_has_its_base_virtual_services() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir(root.join(".git")).unwrap();
        std::fs::create_dir(root.join("istio")).unwrap();
        std::fs::write(root.join("istio/reviews.yaml"), "kind: VirtualService\n").unwrap();
        std::fs::write(
            root.join("cutover.yaml"),
            "version: 1\noutput: out\nmigrations:\n  - name: reviews\n    namespace: shop\n    base: istio/reviews.yaml\n    from: a.example.com\n    to: b.example.com\n    stages: [{weight: 10}, {weight: 100}]\n    environments: {prod: weight-10}\n",
        )
        .unwrap();
        let req = Request {
            env: "prod",
            migration: None,
            to: None,
            force: false,
            direction: Direction::Forward,
        };
        let planned = plan_move(
            &Loader::default(),
            &root.join("cutover.yaml"),
            "cutover.yaml",
            &req,
        )
        .unwrap();
        assert_eq!(planned.moves[0].to, "weight-100");
        assert_eq!(
            planned
                .plan
                .bases
                .get("istio/reviews.yaml")
                .map(String::as_str),
            Some("kind: VirtualService\n")
        );
    }

    /// The span of the value of the first `key` in the YAML `text` (after a byte order
    /// mark), found by the real parser.
    fn value_span(text: &[u8], key: &str) -> Span {
        fn find(node: &yaml::Node, key: &str) -> Option<Span> {
            match &node.value {
                yaml::Value::Scalar(_) => None,
                yaml::Value::Seq(items) => items.iter().find_map(|n| find(n, key)),
                yaml::Value::Map(entries) => entries.iter().find_map(|(k, v)| {
                    (k.as_str() == Some(key))
                        .then_some(v.span)
                        .or_else(|| find(v, key))
                }),
            }
        }
        let text =
            std::str::from_utf8(text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text)).expect("UTF-8");
        let root = yaml::parse(text)
            .unwrap_or_else(|e| panic!("{text:?}: {e:?}"))
            .expect("a document");
        find(&root, key).unwrap_or_else(|| panic!("no `{key}` in {text:?}"))
    }

    /// `text` with the value of `key` replaced by `value`, as promote does.
    fn set(text: impl AsRef<[u8]>, key: &str, value: &str) -> String {
        let text = text.as_ref();
        let out = replace_value(text, value_span(text, key), value)
            .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(text)));
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn replaces_only_the_value_keeping_its_quotes() {
        assert_eq!(
            set("prod: weight-10 # keep\r\n", "prod", "weight-25"),
            "prod: weight-25 # keep\r\n"
        );
        assert_eq!(set("prod: 'a'\n", "prod", "half"), "prod: 'half'\n");
        assert_eq!(set("prod: \"a\"\n", "prod", "half"), "prod: \"half\"\n");
        assert_eq!(set("prod: 'a'\n", "prod", "it's"), "prod: 'it''s'\n");
        // A name YAML would read as a number gets quoted.
        assert_eq!(set("prod: a\n", "prod", "007"), "prod: \"007\"\n");
        // Character offsets, not bytes, and a byte order mark.
        assert_eq!(set("\u{feff}é: a\n", "é", "b"), "\u{feff}é: b\n");
    }

    /// Defect (issue 13): the parser's span of a quoted value ran to the end of a comment
    /// after it, so the edit deleted the comment.
    #[test]
    fn a_comment_after_a_quoted_value_stays() {
        for (before, after) in [
            (
                "prod: \"weight-10\"   # OPS-123\n",
                "prod: \"weight-50\"   # OPS-123\n",
            ),
            (
                "prod: 'weight-10'   # OPS-123\n",
                "prod: 'weight-50'   # OPS-123\n",
            ),
            (
                "envs: {prod: \"weight-10\" , dev: x} # c\n",
                "envs: {prod: \"weight-50\" , dev: x} # c\n",
            ),
            (
                "envs: {prod: 'weight-10'\n  # between\n  , dev: x}\n",
                "envs: {prod: 'weight-50'\n  # between\n  , dev: x}\n",
            ),
        ] {
            assert_eq!(set(before, "prod", "weight-50"), after);
        }
    }

    /// Every byte outside the value stays, for every layout around it, with spans from
    /// the real parser; moving back gives the bytes back. `@` marks the value.
    #[test]
    fn every_byte_outside_the_value_stays() {
        let cases = [
            // Comments after plain, single- and double-quoted values.
            "prod: @ # c\n",
            "prod: @\t# c 'x' \"y\"\n",
            "prod: '@' # it's\n",
            "prod: \"@\"\t# \"c\"\n",
            // Trailing spaces.
            "prod: @   \nqa: x\n",
            "prod: '@'  \t\n",
            "prod: \"@\"  \n",
            // Block and flow mappings.
            "envs:\n  qa: x\n  prod: @ # c\n  dev: y\n",
            "envs: {qa: x, prod: @}  # c\n",
            "envs: {prod: @   , qa: x}\n",
            "envs: {prod: '@' , qa: x} # c\n",
            "envs: {  # open\n  prod: \"@\"  ,  # first\n  qa: x   # second\n}\n",
            "envs: {qa: x,\n  prod: @\n}\n",
            // Flow sequences around and beside the mapping.
            "m: [{name: a, envs: {prod: @}}] # c\n",
            "m: [ {name: a, envs: {prod: '@' }} ,\n  {name: b} ]\n",
            "m:\n  - stages: [ {w: 1}, {w: 2} ]  # s\n    envs: {prod: @}\n",
            // The end of the file, without a newline.
            "prod: @",
            "prod: @  ",
            "prod: @ # c",
            "prod: '@'",
            "prod: \"@\" # c",
            "envs: {prod: @}",
            "m: [{envs: {prod: \"@\"}}]",
        ];
        for case in cases {
            for eol in ["\n", "\r\n", "\r"] {
                let case = case.replace('\n', eol);
                let before = case.replace('@', "weight-10");
                let after = case.replace('@', "half");
                assert_eq!(set(&before, "prod", "half"), after, "{before:?}");
                assert_eq!(set(&after, "prod", "weight-10"), before, "{after:?}");
            }
        }
    }

    /// Defect (issue 18): quotes a move had to add stayed when moving back, so promote
    /// then rollback changed the plan.
    #[test]
    fn quotes_a_move_needed_go_when_moving_back() {
        let promoted = set("prod: weight-10 # c\n", "prod", "2");
        assert_eq!(promoted, "prod: \"2\" # c\n");
        assert_eq!(set(&promoted, "prod", "weight-10"), "prod: weight-10 # c\n");
        // Quotes the author chose stay, and so do single quotes.
        assert_eq!(set("prod: \"a\"\n", "prod", "b"), "prod: \"b\"\n");
        assert_eq!(set("prod: '2'\n", "prod", "b"), "prod: 'b'\n");
        // A value that needs quotes moved to one that does not, and back.
        assert_eq!(set("prod: \"true\"\n", "prod", "b"), "prod: b\n");
        assert_eq!(set("prod: b\n", "prod", "true"), "prod: \"true\"\n");
        // Plans are YAML 1.2: `yes` and a date are strings there, and need no quotes.
        assert_eq!(set("prod: b\n", "prod", "yes"), "prod: yes\n");
        assert_eq!(set("prod: b\n", "prod", "2001-12-14"), "prod: 2001-12-14\n");
        assert_eq!(set("prod: \"yes\"\n", "prod", "b"), "prod: \"b\"\n");
    }

    /// Defects (issue 18): a block scalar became a plain value, and with CR line endings
    /// the edit joined two lines.
    #[test]
    fn block_scalars_stay_block_scalars_with_any_line_ending() {
        let plan = "envs:\n  prod: >-\n    weight-10\n  dev: |- # c\n    half\n\n  qa: x\n";
        for eol in ["\n", "\r\n", "\r"] {
            let text = plan.replace('\n', eol);
            let want = text.replace("weight-10", "weight-25");
            assert_eq!(set(&text, "prod", "weight-25"), want, "{eol:?}");
            let want = text.replace("half", "2");
            assert_eq!(set(&text, "dev", "2"), want, "{eol:?}");
        }
        // At the end of the file, with spaces after the value, with an indentation
        // indicator.
        assert_eq!(set("prod: |-\n  a", "prod", "b"), "prod: |-\n  b");
        assert_eq!(set("prod: |-\n  a  \n\n", "prod", "b"), "prod: |-\n  b\n\n");
        assert_eq!(set("prod: |2-\n    a\n", "prod", "b"), "prod: |2-\n  b\n");
        let err = replace_value(
            b"prod: |-\n  a\n",
            value_span(b"prod: |-\n  a\n", "prod"),
            " b",
        );
        assert!(err.is_err());
    }

    #[test]
    fn anchors_aliases_and_tags_are_refused() {
        for text in [
            "x: &a weight-10\nprod: *a\n",
            "prod: &a weight-10\n",
            "prod: !!str weight-10\n",
            "prod: &a \"weight-10\" # c\n",
        ] {
            let err = replace_value(text.as_bytes(), value_span(text.as_bytes(), "prod"), "b")
                .unwrap_err();
            assert!(
                err.to_string().contains("anchor, alias or tag"),
                "{text}: {err}"
            );
        }
    }

    /// Properties: promote then rollback gives back the plan's bytes, and promote
    /// changes the one value and nothing else.
    mod round_trip {
        use super::*;
        use proptest::prelude::*;

        #[derive(Clone, Copy, Debug, PartialEq)]
        enum Style {
            Plain,
            Single,
            Double,
            Literal,
            Folded,
        }

        fn style() -> impl Strategy<Value = Style> {
            prop::sample::select(vec![
                Style::Plain,
                Style::Single,
                Style::Double,
                Style::Literal,
                Style::Folded,
            ])
        }

        /// `value` written in `style` after `key: ` (a block scalar's header and content
        /// line), or `None` when the style cannot hold it; the written value's own
        /// characters come last.
        fn written(style: Style, value: &str, indent: &str, eol: &str) -> Option<(String, String)> {
            let (header, text) = match style {
                Style::Plain => (
                    String::new(),
                    Some(value.to_owned()).filter(|_| escape::is_plain_safe_in_1_2(value)),
                ),
                Style::Single => (String::new(), escape::single_quoted(value)),
                Style::Double => (String::new(), Some(escape::double_quoted(value))),
                Style::Literal | Style::Folded => {
                    let h = if style == Style::Literal { "|-" } else { ">-" };
                    (
                        h.to_owned(),
                        Some(value.to_owned()).filter(|_| escape::fits_block_line(value)),
                    )
                }
            };
            let text = text?;
            if header.is_empty() {
                Some((String::new(), text))
            } else {
                Some((format!("{header}{{comment}}{eol}{indent}  "), text))
            }
        }

        /// Names YAML reads as something else, or that need quoting or escaping.
        fn tricky_name() -> impl Strategy<Value = String> {
            prop_oneof![
                "[0-9]{1,4}",
                prop::sample::select(vec![
                    "yes",
                    "no",
                    "null",
                    "~",
                    "true",
                    "False",
                    "on",
                    "off",
                    "y",
                    "n",
                    "NULL",
                    "1e3",
                    "0x1f",
                    ".inf",
                    "-1",
                    "weight-10",
                    "half",
                    "a",
                    "_x",
                    "a: b",
                    "#x",
                    "x #y",
                    "- a",
                    "'q'",
                    "\"d\"",
                    "é日本",
                    "{x}",
                    "[x]",
                    "&a",
                    "*a",
                    "!t",
                    "%x",
                    "@x",
                    "`x",
                    "a,b",
                    "|",
                    ">",
                    "a  ",
                ])
                .prop_map(String::from),
                "[a-z][a-z0-9-]{0,8}",
                r#"[a-zA-Z0-9#:'" é日,{}&*!|>%@`\[\]-]{1,8}"#
                    .prop_filter("no leading space", |s| !s.starts_with(' ')),
            ]
        }

        /// A document with `prod` written in `style` (block or flow mapping), as the
        /// bytes before the value's characters, the value's characters and the bytes
        /// after them.
        fn document(
            a: &str,
            style: Style,
            flow: bool,
            comment: Option<&str>,
            eol: &str,
            bom: bool,
        ) -> Option<(String, String, String)> {
            let (header, text) = written(style, a, "  ", eol)?;
            let note = comment.map(|c| format!("   # {c}")).unwrap_or_default();
            let bom = if bom { "\u{feff}" } else { "" };
            let mut before = format!("{bom}# plan, prod: {a}{eol}version: 1{eol}");
            let tail = format!("{eol}tail: [1, \"two\"]{eol}");
            let after = if header.is_empty() && flow {
                before.push_str(&format!("envs: {{other: {text}, prod: "));
                format!(" , dev: 'y'}}{note}{tail}")
            } else if header.is_empty() {
                before.push_str(&format!("envs:{eol}  other: {text}{eol}  prod: "));
                format!("{note}{eol}  dev: 'y'{tail}")
            } else {
                // A block scalar: the comment goes after its header.
                let header = header.replace("{comment}", &note);
                before.push_str(&format!("envs:{eol}  other: x{eol}  prod: {header}"));
                format!("{eol}  dev: 'y'{tail}")
            };
            Some((before, text, after))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn promote_then_rollback_gives_back_the_bytes(
                a in tricky_name(),
                b in tricky_name(),
                style in style(),
                flow in any::<bool>(),
                comment in proptest::option::of(r#"[a-z #'":]{0,10}"#),
                eol in prop::sample::select(vec!["\n", "\r\n", "\r"]),
                bom in any::<bool>(),
            ) {
                let Some((before, text, after)) =
                    document(&a, style, flow, comment.as_deref(), eol, bom)
                else {
                    return Err(TestCaseError::reject("the style cannot hold the value"));
                };
                let doc = format!("{before}{text}{after}");
                let span = value_span(doc.as_bytes(), "prod");
                prop_assert_eq!(scalar_at_value(&doc, span), a.clone());

                let promoted = String::from_utf8(replace_value(doc.as_bytes(), span, &b)?).unwrap();
                // The one value changed, and nothing else.
                prop_assert!(promoted.len() >= before.len() + after.len());
                prop_assert!(promoted.starts_with(&before), "{:?}", promoted);
                prop_assert!(promoted.ends_with(&after), "{:?}", promoted);
                let span = value_span(promoted.as_bytes(), "prod");
                prop_assert_eq!(scalar_at_value(&promoted, span), b.clone());

                let back = String::from_utf8(replace_value(promoted.as_bytes(), span, &a)?).unwrap();
                // Double quotes the author put around a value that did not need them, moved
                // to one that does, cannot be told from quotes promote wrote: they go.
                let expected = if style == Style::Double
                    && escape::is_plain_safe_in_1_2(&a)
                    && !escape::is_plain_safe_in_1_2(&b)
                {
                    format!("{before}{a}{after}")
                } else {
                    doc
                };
                prop_assert_eq!(back, expected);
            }
        }

        /// Stage names (DNS labels) that YAML reads as numbers, booleans or null, and
        /// ordinary ones.
        const STAGE_NAMES: &[&str] = &[
            "2",
            "007",
            "10",
            "1e3",
            "0x1f",
            "0o17",
            "1e-3",
            "yes",
            "no",
            "on",
            "off",
            "y",
            "n",
            "true",
            "false",
            "null",
            "inf",
            "nan",
            "weight-10",
            "half",
            "a-b",
            "1-2",
        ];

        /// A plan whose stages are `names` (weights 10, 50, 100), with `prod` at stage
        /// `at` written in `style`.
        fn plan(
            names: &[&str],
            at: usize,
            style: Style,
            comment: Option<&str>,
            eol: &str,
        ) -> Option<String> {
            let (header, text) = written(style, names[at], "      ", "\n")?;
            let note = comment.map(|c| format!("  # {c}")).unwrap_or_default();
            let (header, note) = if header.is_empty() {
                (header, note)
            } else {
                (header.replace("{comment}", &note), String::new())
            };
            let stages: String = names
                .iter()
                .zip([10, 50, 100])
                .map(|(n, w)| format!("      - {{name: {}, weight: {w}}}\n", escape::scalar(n)))
                .collect();
            let plan = format!(
                "# prod: {} since monday\nversion: 1\noutput: deploy\nmigrations:\n  - name: checkout\n    namespace: payments\n    from: se.example.com\n    to: gcp.example.com\n    stages:\n{stages}    environments:\n      dev: {}\n      prod: {header}{text}{note}\n      qa: {}\n",
                names[at],
                escape::scalar(names[2]),
                escape::single_quoted(names[0])?,
            );
            Some(plan.replace('\n', eol))
        }

        /// Moves `prod` of the plan at `path` one stage, writes the plan and returns it.
        fn step(path: &Path, direction: Direction) -> Result<Planned> {
            let req = Request {
                env: "prod",
                migration: None,
                to: None,
                force: false,
                direction,
            };
            let planned = plan_move(&Loader::default(), path, "cutover.yaml", &req)?;
            std::fs::write(path, &planned.source).expect("write the plan");
            Ok(planned)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]

            #[test]
            fn plan_promoted_then_rolled_back_is_byte_identical(
                names in prop::sample::subsequence(STAGE_NAMES.to_vec(), 3).prop_shuffle(),
                at in 0..2usize,
                style in style(),
                comment in proptest::option::of(r#"[a-z #'":]{0,10}"#),
                eol in prop::sample::select(vec!["\n", "\r\n", "\r"]),
            ) {
                let Some(plan) = plan(&names, at, style, comment.as_deref(), eol) else {
                    return Err(TestCaseError::reject("the style cannot hold the name"));
                };
                let tmp = tempfile::tempdir().unwrap();
                std::fs::create_dir(tmp.path().join(".git")).unwrap();
                let path = tmp.path().join("cutover.yaml");
                std::fs::write(&path, &plan).unwrap();

                let promoted = step(&path, Direction::Forward)?;
                prop_assert_eq!(&promoted.moves[0].to, names[at + 1]);
                // Only the value's line changed.
                let lines = |t: &[u8]| -> Vec<Vec<u8>> {
                    t.split(|&b| b == b'\n' || b == b'\r').map(<[u8]>::to_vec).collect()
                };
                let (old, new) = (lines(plan.as_bytes()), lines(&promoted.source));
                prop_assert_eq!(old.len(), new.len());
                let changed: Vec<usize> = (0..old.len()).filter(|&i| old[i] != new[i]).collect();
                prop_assert_eq!(changed.len(), 1, "{:?}", String::from_utf8_lossy(&promoted.source));

                let back = step(&path, Direction::Back)?;
                prop_assert_eq!(&back.moves[0].to, names[at]);
                let expected = if style == Style::Double
                    && escape::is_plain_safe_in_1_2(names[at])
                    && !escape::is_plain_safe_in_1_2(names[at + 1])
                {
                    plan.replace(&format!("prod: \"{}\"", names[at]), &format!("prod: {}", names[at]))
                } else {
                    plan
                };
                prop_assert_eq!(String::from_utf8_lossy(&back.source), expected);
            }
        }

        /// The string the real parser reads at `span` of `doc` (a byte order mark skipped).
        fn scalar_at_value(doc: &str, span: Span) -> String {
            let text = doc.strip_prefix('\u{feff}').unwrap_or(doc);
            let root = yaml::parse(text).unwrap().unwrap();
            fn find(n: &yaml::Node, span: Span) -> Option<String> {
                if n.span == span {
                    return n.as_str().map(str::to_owned);
                }
                match &n.value {
                    yaml::Value::Scalar(_) => None,
                    yaml::Value::Seq(items) => items.iter().find_map(|i| find(i, span)),
                    yaml::Value::Map(e) => e
                        .iter()
                        .find_map(|(k, v)| find(k, span).or_else(|| find(v, span))),
                }
            }
            find(&root, span).unwrap_or_else(|| format!("<not a string at {span:?}>"))
        }
    }
}
