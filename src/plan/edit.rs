//! Moving an environment from one stage to another by editing one value of the plan.
//!
//! The plan file is edited in place: only the bytes of the environment's stage name
//! change, so comments, key order, quoting, line endings and everything else stay as
//! they were. The edited plan is validated and rendered before anything is written.

use std::path::Path;

use crate::error::{Error, Result};
use crate::git::{line_changed_at, now};
use crate::plan::stage::format_duration;
use crate::plan::{Environment, Loader, Migration, Plan};
use crate::yaml::escape;
use crate::yaml::Span;

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
/// that shares that value, so moves with it.
fn choose<'p>(
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

/// Replaces the scalar at `span` of the plan `bytes` by `value`, keeping its quoting
/// style. `span` indexes characters of the text after a UTF-8 byte order mark.
pub fn replace_value(bytes: &[u8], span: Span, value: &str) -> Result<Vec<u8>> {
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let text =
        std::str::from_utf8(&bytes[bom..]).map_err(|_| refuse("the plan is not UTF-8".into()))?;
    let byte_at = |chars: usize| {
        text.char_indices()
            .nth(chars)
            .map_or(text.len(), |(i, _)| i)
    };
    let (mut start, mut end) = (byte_at(span.start.index), byte_at(span.end.index));
    let mut old = &text[start..end];
    if old.starts_with('&') || old.starts_with('*') || old.starts_with('!') {
        return Err(refuse(
            "the environment's value uses a YAML anchor, alias or tag; write the stage name as a plain value to promote it".into(),
        ));
    }
    // A block scalar (`prod: >-` then the name on the next line): its span starts at the
    // text and runs into the next line's indentation. Replace from the indicator to the
    // end of the text by a plain value.
    let before = text[..start].trim_end();
    let indicator = before
        .rfind(|c: char| !matches!(c, '|' | '>' | '+' | '-' | '0'..='9'))
        .map_or(0, |i| i + 1);
    let block = text[..start].ends_with(char::is_whitespace)
        && text[before.len()..start].contains('\n')
        && before[indicator..].starts_with(['|', '>']);
    if block {
        start = indicator;
        end = start + text[start..end].trim_end().len();
        old = &text[start..end];
    }
    let new = if block {
        escape::scalar(value)
    } else if old.starts_with('\'') {
        format!("'{}'", value.replace('\'', "''"))
    } else if old.starts_with('"') {
        escape::double_quoted(value)
    } else {
        escape::scalar(value)
    };
    let mut out = Vec::with_capacity(bytes.len() + new.len());
    out.extend_from_slice(&bytes[..bom + start]);
    out.extend_from_slice(new.as_bytes());
    out.extend_from_slice(&bytes[bom + end..]);
    Ok(out)
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
    use crate::yaml::Pos;

    fn span(start: usize, end: usize) -> Span {
        Span {
            start: Pos {
                line: 1,
                col: 1,
                index: start,
            },
            end: Pos {
                line: 1,
                col: 1,
                index: end,
            },
        }
    }

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

    #[test]
    fn replaces_only_the_value_keeping_its_quotes() {
        assert_eq!(
            replace_value(b"prod: weight-10 # keep\r\n", span(6, 15), "weight-25").unwrap(),
            b"prod: weight-25 # keep\r\n"
        );
        assert_eq!(
            replace_value(b"prod: 'a'\n", span(6, 9), "half").unwrap(),
            b"prod: 'half'\n"
        );
        assert_eq!(
            replace_value(b"prod: \"a\"\n", span(6, 9), "half").unwrap(),
            b"prod: \"half\"\n"
        );
        // A name YAML would read as a number gets quoted.
        assert_eq!(
            replace_value(b"prod: a\n", span(6, 7), "007").unwrap(),
            b"prod: \"007\"\n"
        );
        // A block scalar becomes a plain value; the next key is kept.
        let text = "envs:\n  prod: >-\n    weight-10\n  dev: |-\n    half\n";
        assert_eq!(
            replace_value(text.as_bytes(), span(21, 33), "half").unwrap(),
            b"envs:\n  prod: half\n  dev: |-\n    half\n"
        );
        // Character offsets, not bytes, and a byte order mark.
        assert_eq!(
            replace_value("\u{feff}é: a\n".as_bytes(), span(3, 4), "b").unwrap(),
            "\u{feff}é: b\n".as_bytes()
        );
    }
}
