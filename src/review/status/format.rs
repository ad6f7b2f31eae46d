//! Output formats of `cutover status`: `text` (aligned columns, grouped by plan),
//! `markdown` (tables for a pull-request comment or a wiki) and `json` (schema 1,
//! documented in the README).

use serde::Serialize;

use super::{Fleet, HoldLeft, Next, Position, Row, Since, Summary};
use crate::plan::stage::{format_duration, Percent};
use crate::review::report::md;

/// The hidden first line of the markdown report, so a bot can find and update it.
pub const MARKER: &str = "<!-- cutover status -->";

/// The version of the JSON document; bumped on incompatible changes.
pub const JSON_SCHEMA: u32 = 1;

/// The cells of a row after the plan: migration, namespace, environment, stage, to and
/// hold left; `none` fills the cells that do not apply.
fn cells(r: &Row, none: &str) -> [String; 6] {
    let Some(p) = &r.position else {
        return [
            r.migration.clone(),
            r.namespace.clone(),
            none.to_owned(),
            none.to_owned(),
            none.to_owned(),
            none.to_owned(),
        ];
    };
    [
        r.migration.clone(),
        r.namespace.clone(),
        p.environment.clone(),
        format!("{}/{} {}", p.number, r.stages, p.stage),
        share(p),
        hold_left(p.hold_left, none),
    ]
}

/// % to `to`; a mirror stage adds its mirror %.
fn share(p: &Position) -> String {
    match p.mirror {
        Some(m) => format!("{}% (mirror {}%)", p.to, Percent(m)),
        None => format!("{}%", p.to),
    }
}

fn hold_left(h: HoldLeft, none: &str) -> String {
    match h {
        HoldLeft::NoHold => none.to_owned(),
        HoldLeft::Unknown => "unknown".to_owned(),
        HoldLeft::Left(s) => format_duration(s),
    }
}

/// The next step in words; `promote` formats a promotion from its command and stage.
fn next(p: &Position, promote: &dyn Fn(&str, &str) -> String) -> String {
    match &p.next {
        Next::Promote { stage, command } => promote(command, stage),
        Next::Edit { stage, field } => format!("set {field} to {stage} in the plan"),
        Next::Wait(s) => format!("wait {}", format_duration(*s)),
        Next::Done => "done".to_owned(),
        Next::Unknown => format!(
            "unknown ({})",
            p.since.unknown_reason().unwrap_or("no git history")
        ),
    }
}

/// `s` as a markdown code span that holds in a table cell: a fence longer than any run
/// of backticks inside, `|` escaped (GitHub's tables split cells before reading spans).
fn md_code(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{}{pad}{fence}", s.replace('|', "\\|"))
}

/// A stage's note, and the migrations of its plan with an environment at that stage.
struct Note<'a> {
    plan: &'a str,
    stage: &'a str,
    note: &'a str,
    migrations: Vec<&'a str>,
}

impl Note<'_> {
    /// `weight-10 (checkout, ledger)`.
    fn title(&self) -> String {
        format!("{} ({})", self.stage, self.migrations.join(", "))
    }
}

/// The notes of the stages environments are at, in row order: one per plan, stage and
/// note text, naming the migrations there.
fn notes(f: &Fleet) -> Vec<Note<'_>> {
    let mut out: Vec<Note<'_>> = Vec::new();
    for r in &f.rows {
        let Some(p) = &r.position else { continue };
        let Some(note) = &p.note else { continue };
        let same = |n: &&mut Note<'_>| n.plan == r.plan && n.stage == p.stage && n.note == note;
        match out.iter_mut().find(|n| same(n)) {
            Some(n) if n.migrations.last() == Some(&r.migration.as_str()) => {}
            Some(n) => n.migrations.push(&r.migration),
            None => out.push(Note {
                plan: &r.plan,
                stage: &p.stage,
                note,
                migrations: vec![&r.migration],
            }),
        }
    }
    out
}

/// The per-environment and total lines of the summary, without markup.
fn summary_lines(s: &Summary) -> Vec<(String, String)> {
    let mut lines: Vec<(String, String)> = s
        .environments
        .iter()
        .map(|e| {
            (
                e.environment.clone(),
                format!(
                    "{} of {} fully on GCPBackend",
                    e.fully_on_to,
                    plural(e.services, "service")
                ),
            )
        })
        .collect();
    if s.rollouts > 0 {
        lines.push((
            "total".to_owned(),
            format!(
                "{} of {} fully on GCPBackend; {} of {} in all their environments",
                s.fully_on_to,
                plural(s.rollouts, "service environment"),
                s.services_fully_on_to,
                plural(s.services - s.without_environments, "service"),
            ),
        ));
    }
    lines
}

/// `n word`, with an `s` unless `n` is 1.
fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// How many services and plans, and how many have no environments.
fn count_line(s: &Summary) -> String {
    let mut line = format!(
        "{} in {}",
        plural(s.services, "service"),
        plural(s.plans, "plan")
    );
    match s.without_environments {
        0 => {}
        n if n == s.services => line.push_str("; no migration has environments"),
        1 => line.push_str("; 1 has no environments"),
        n => line.push_str(&format!("; {n} have no environments")),
    }
    line
}

/// The report as aligned columns: one table per plan (the columns line up across
/// plans), the notes of the stages environments are at, then the summary.
pub fn text(f: &Fleet) -> String {
    const HEADER: [&str; 7] = [
        "migration",
        "namespace",
        "env",
        "stage",
        "to",
        "hold left",
        "next",
    ];
    let promote = |command: &str, stage: &str| format!("{command} → {stage}");
    let rows: Vec<(&str, [String; 7])> = f
        .rows
        .iter()
        .map(|r| {
            let [m, ns, env, stage, to, hold] = cells(r, "-");
            let next = r
                .position
                .as_ref()
                .map_or_else(|| "-".to_owned(), |p| next(p, &promote));
            (r.plan.as_str(), [m, ns, env, stage, to, hold, next])
        })
        .collect();
    let mut widths = HEADER.map(|h| h.chars().count());
    for (_, c) in &rows {
        for (w, cell) in widths.iter_mut().zip(c) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 7]| -> String {
        let mut l = String::new();
        for (cell, w) in cells.iter().zip(widths) {
            l.push_str(&format!("  {cell:<w$}"));
        }
        format!("{}\n", l.trim_end())
    };
    let mut out = String::new();
    let notes = notes(f);
    for (i, (plan, c)) in rows.iter().enumerate() {
        if i == 0 || rows[i - 1].0 != *plan {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&format!("{plan}\n"));
            out.push_str(&line(&HEADER.map(str::to_owned)));
        }
        out.push_str(&line(c));
        if rows.get(i + 1).is_none_or(|(p, _)| p != plan) {
            for n in notes.iter().filter(|n| n.plan == *plan) {
                out.push_str(&format!("  note on {}: {}\n", n.title(), n.note));
            }
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    let lines = summary_lines(&f.summary);
    let label = lines.iter().map(|(l, _)| l.chars().count() + 1).max();
    for (l, text) in &lines {
        let w = label.unwrap_or(0);
        out.push_str(&format!("{:<w$} {text}\n", format!("{l}:")));
    }
    out.push_str(&count_line(&f.summary));
    out.push('\n');
    out
}

/// The report as markdown: a heading with the totals, a table of every row, a table of
/// the summary per environment, then the notes. Every value is escaped.
pub fn markdown(f: &Fleet) -> String {
    let s = &f.summary;
    let mut out = format!(
        "{MARKER}\n### cutover status: {} of {} fully on GCPBackend\n\n",
        s.fully_on_to,
        plural(s.rollouts, "service environment")
    );
    if !f.rows.is_empty() {
        out.push_str("| plan | migration | namespace | environment | stage | to (GCPBackend) | hold left | next |\n");
        out.push_str("|---|---|---|---|---|---:|---:|---|\n");
        let promote = |command: &str, stage: &str| format!("{} → {}", md_code(command), md(stage));
        for r in &f.rows {
            let mut line = format!("| {} |", md(&r.plan));
            for c in cells(r, "—") {
                line.push_str(&format!(" {} |", md(&c)));
            }
            let next = match &r.position {
                None => "—".to_owned(),
                Some(
                    p @ Position {
                        next: Next::Promote { .. },
                        ..
                    },
                ) => next(p, &promote),
                Some(p) => md(&next(p, &|_, _| String::new())),
            };
            out.push_str(&format!("{line} {next} |\n"));
        }
        out.push('\n');
    }
    if !s.environments.is_empty() {
        out.push_str("| environment | fully on GCPBackend |\n|---|---:|\n");
        for e in &s.environments {
            out.push_str(&format!(
                "| {} | {} of {} |\n",
                md(&e.environment),
                e.fully_on_to,
                e.services
            ));
        }
        out.push_str(&format!(
            "| **total** | {} of {} |\n\n",
            s.fully_on_to, s.rollouts
        ));
    }
    out.push_str(&format!("{}.", md(&count_line(s))));
    if s.rollouts > 0 {
        out.push_str(&format!(
            " {} of {} fully on GCPBackend in all their environments.",
            s.services_fully_on_to,
            plural(s.services - s.without_environments, "service")
        ));
    }
    out.push_str("\n\n");
    for n in notes(f) {
        out.push_str(&format!("> **{}**: {}\n", md(&n.title()), md(n.note)));
    }
    // One final newline.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    schema: u32,
    summary: JsonSummary<'a>,
    rows: Vec<JsonRow<'a>>,
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    plans: usize,
    services: usize,
    without_environments: usize,
    environments: Vec<JsonEnv<'a>>,
    total: JsonTotal,
}

#[derive(Serialize)]
struct JsonEnv<'a> {
    environment: &'a str,
    services: usize,
    fully_on_to: usize,
}

#[derive(Serialize)]
struct JsonTotal {
    rollouts: usize,
    fully_on_to: usize,
    services_fully_on_to: usize,
}

#[derive(Serialize)]
struct JsonRow<'a> {
    plan: &'a str,
    migration: &'a str,
    namespace: &'a str,
    environment: Option<&'a str>,
    stage: Option<JsonStage<'a>>,
    to: Option<u8>,
    mirror: Option<f64>,
    fully_on_to: Option<bool>,
    hold: Option<u64>,
    since: Option<u64>,
    history: Option<&'static str>,
    hold_left: Option<u64>,
    next: Option<JsonNext<'a>>,
    note: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonStage<'a> {
    number: usize,
    of: usize,
    name: &'a str,
}

#[derive(Serialize)]
struct JsonNext<'a> {
    action: &'static str,
    stage: Option<&'a str>,
    command: Option<&'a str>,
    field: Option<&'a str>,
    wait: Option<u64>,
}

fn json_row(r: &Row) -> JsonRow<'_> {
    let p = r.position.as_ref();
    JsonRow {
        plan: &r.plan,
        migration: &r.migration,
        namespace: &r.namespace,
        environment: p.map(|p| p.environment.as_str()),
        stage: p.map(|p| JsonStage {
            number: p.number,
            of: r.stages,
            name: &p.stage,
        }),
        to: p.map(|p| p.to),
        mirror: p.and_then(|p| p.mirror),
        fully_on_to: p.map(Position::fully_on_to),
        hold: p.and_then(|p| p.hold),
        since: p.and_then(|p| match p.since {
            Since::At(at) => Some(at),
            _ => None,
        }),
        history: p.map(|p| match p.since {
            Since::At(_) => "committed",
            Since::Uncommitted => "not committed",
            Since::NoHistory => "no git history",
        }),
        hold_left: p.and_then(|p| match p.hold_left {
            HoldLeft::Left(s) => Some(s),
            _ => None,
        }),
        next: p.map(|p| match &p.next {
            Next::Promote { stage, command } => JsonNext {
                action: "promote",
                stage: Some(stage),
                command: Some(command),
                field: None,
                wait: None,
            },
            Next::Edit { stage, field } => JsonNext {
                action: "edit",
                stage: Some(stage),
                command: None,
                field: Some(field),
                wait: None,
            },
            Next::Wait(s) => JsonNext {
                action: "wait",
                stage: None,
                command: None,
                field: None,
                wait: Some(*s),
            },
            Next::Done | Next::Unknown => JsonNext {
                action: if p.next == Next::Done {
                    "done"
                } else {
                    "unknown"
                },
                stage: None,
                command: None,
                field: None,
                wait: None,
            },
        }),
        note: p.and_then(|p| p.note.as_deref()),
    }
}

/// The report as one JSON document (schema [`JSON_SCHEMA`], documented in the README):
/// keys in a fixed order, rows in the report's order.
pub fn json(f: &Fleet) -> String {
    let s = &f.summary;
    let doc = JsonReport {
        schema: JSON_SCHEMA,
        summary: JsonSummary {
            plans: s.plans,
            services: s.services,
            without_environments: s.without_environments,
            environments: s
                .environments
                .iter()
                .map(|e| JsonEnv {
                    environment: &e.environment,
                    services: e.services,
                    fully_on_to: e.fully_on_to,
                })
                .collect(),
            total: JsonTotal {
                rollouts: s.rollouts,
                fully_on_to: s.fully_on_to,
                services_fully_on_to: s.services_fully_on_to,
            },
        },
        rows: f.rows.iter().map(json_row).collect(),
    };
    let mut out = serde_json::to_string_pretty(&doc).expect("the report serializes");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::status::tests::{all_at, plan, BARE, SHARED};
    use crate::review::status::{fleet, Since};

    fn sample() -> Fleet {
        let plans = [plan("b/cutover.yaml", SHARED), plan("a/cutover.yaml", BARE)];
        // prod's weight-10 holds 1h: 20 minutes of it passed.
        fleet(&plans, &mut all_at(Since::At(1_000_000)), 1_000_000 + 1200)
    }

    #[test]
    fn text_is_one_aligned_table_per_plan_then_the_summary() {
        assert_eq!(
            text(&sample()),
            "\
a/cutover.yaml
  migration  namespace  env      stage           to               hold left  next
  legacy     old        -        -               -                -          -

b/cutover.yaml
  migration  namespace  env      stage           to               hold left  next
  checkout   payments   prod     2/3 weight-10   10%              40m        wait 40m
  checkout   payments   staging  3/3 weight-100  100%             23h 40m    wait 23h 40m
  ledger     payments   prod     2/3 weight-10   10%              40m        wait 40m
  ledger     payments   staging  3/3 weight-100  100%             23h 40m    wait 23h 40m
  search     payments   prod     1/3 mirror-50   0% (mirror 50%)  -          cutover promote b/cutover.yaml --env prod --migration search → weight-10
  note on weight-10 (checkout, ledger): watch 5xx

prod:    0 of 3 services fully on GCPBackend
staging: 2 of 2 services fully on GCPBackend
total:   2 of 5 service environments fully on GCPBackend; 0 of 3 services in all their environments
4 services in 2 plans; 1 has no environments
"
        );
    }

    #[test]
    fn text_says_when_no_migration_has_environments() {
        let f = fleet(
            &[plan("cutover.yaml", BARE)],
            &mut all_at(Since::NoHistory),
            0,
        );
        assert!(text(&f).ends_with(
            "  legacy     old        -    -      -   -          -\n\n1 service in 1 plan; no migration has environments\n"
        ));
    }

    /// The cells of a markdown table row: split at `|` not escaped by a backslash.
    pub(crate) fn table_cells(line: &str) -> Vec<String> {
        let inner = line
            .strip_prefix('|')
            .and_then(|l| l.strip_suffix('|'))
            .unwrap_or_else(|| panic!("not a table row: {line}"));
        let mut cells = vec![String::new()];
        let mut escaped = false;
        for c in inner.chars() {
            match c {
                '|' if !escaped => cells.push(String::new()),
                c => cells.last_mut().expect("a cell").push(c),
            }
            escaped = c == '\\' && !escaped;
        }
        cells.iter().map(|c| c.trim().to_owned()).collect()
    }

    #[test]
    fn markdown_tables_have_as_many_cells_in_every_row() {
        let hostile = SHARED.replace("note: watch 5xx", "note: \"a | b `c` <d> *e*\"");
        let plans = [plan("x|y_z/cutover.yaml", &hostile)];
        let m = markdown(&fleet(&plans, &mut all_at(Since::At(0)), 86_400 * 9));
        assert!(m.starts_with("<!-- cutover status -->\n### cutover status: 2 of 5 service environments fully on GCPBackend\n"));
        let mut tables = 0;
        let mut columns = None;
        for line in m.lines() {
            if line.starts_with('|') {
                let n = table_cells(line).len();
                assert_eq!(*columns.get_or_insert(n), n, "{line}\n{m}");
            } else {
                tables += usize::from(columns.is_some());
                columns = None;
            }
        }
        assert_eq!(tables, 2, "{m}");
        assert!(m.contains(
            "| x\\|y\\_z/cutover.yaml | search | payments | prod | 1/3 mirror-50 | 0% (mirror 50%) | — | `cutover promote 'x\\|y_z/cutover.yaml' --env prod --migration search` → weight-10 |"
        ), "{m}");
        assert!(m.ends_with(" 0 of 3 services fully on GCPBackend in all their environments.\n\n> **weight-10 (checkout, ledger)**: a \\| b \\`c\\` &lt;d&gt; \\*e\\*\n"), "{m}");
    }

    #[test]
    fn markdown_escapes_every_cell() {
        // Plans keep names to DNS labels; the report escapes whatever it is given.
        let mut f = sample();
        let r = &mut f.rows[1];
        r.migration = "a|b".to_owned();
        r.namespace = "*ns*".to_owned();
        let p = r.position.as_mut().expect("position");
        p.environment = "<env>".to_owned();
        p.stage = "s_1".to_owned();
        let m = markdown(&f);
        assert!(
            m.contains("| b/cutover.yaml | a\\|b | \\*ns\\* | &lt;env&gt; | 2/3 s\\_1 | 10% | 40m | wait 40m |\n"),
            "{m}"
        );
    }

    #[test]
    fn markdown_code_spans_hold_backticks_and_pipes() {
        assert_eq!(md_code("a b"), "`a b`");
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("`a``"), "``` `a`` ```");
        assert_eq!(md_code("a|b\nc"), "`a\\|b c`");
    }

    #[test]
    fn json_is_schema_1_with_every_field_in_a_fixed_order() {
        let doc: serde_json::Value = serde_json::from_str(&json(&sample())).expect("JSON");
        assert_eq!(doc["schema"], 1);
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v.as_object().expect("object").keys().cloned().collect()
        };
        assert_eq!(keys(&doc), ["schema", "summary", "rows"]);
        assert_eq!(
            keys(&doc["summary"]),
            [
                "plans",
                "services",
                "without_environments",
                "environments",
                "total"
            ]
        );
        let rows = doc["rows"].as_array().expect("rows");
        assert_eq!(rows.len(), 6);
        for r in rows {
            assert_eq!(
                keys(r),
                [
                    "plan",
                    "migration",
                    "namespace",
                    "environment",
                    "stage",
                    "to",
                    "mirror",
                    "fully_on_to",
                    "hold",
                    "since",
                    "history",
                    "hold_left",
                    "next",
                    "note"
                ]
            );
        }
        assert_eq!(
            rows[0],
            serde_json::json!({
                "plan": "a/cutover.yaml", "migration": "legacy", "namespace": "old",
                "environment": null, "stage": null, "to": null, "mirror": null,
                "fully_on_to": null, "hold": null, "since": null, "history": null,
                "hold_left": null, "next": null, "note": null
            })
        );
        assert_eq!(
            rows[1],
            serde_json::json!({
                "plan": "b/cutover.yaml", "migration": "checkout", "namespace": "payments",
                "environment": "prod", "stage": {"number": 2, "of": 3, "name": "weight-10"},
                "to": 10, "mirror": null, "fully_on_to": false, "hold": 3600,
                "since": 1_000_000, "history": "committed", "hold_left": 2400,
                "next": {"action": "wait", "stage": null, "command": null, "field": null, "wait": 2400},
                "note": "watch 5xx"
            })
        );
        assert_eq!(
            rows[5]["next"],
            serde_json::json!({
                "action": "promote", "stage": "weight-10",
                "command": "cutover promote b/cutover.yaml --env prod --migration search",
                "field": null, "wait": null
            })
        );
        assert_eq!(rows[5]["mirror"], 50.0);
        assert_eq!(
            doc["summary"],
            serde_json::json!({
                "plans": 2, "services": 4, "without_environments": 1,
                "environments": [
                    {"environment": "prod", "services": 3, "fully_on_to": 0},
                    {"environment": "staging", "services": 2, "fully_on_to": 2}
                ],
                "total": {"rollouts": 5, "fully_on_to": 2, "services_fully_on_to": 0}
            })
        );
    }

    #[test]
    fn json_says_why_the_history_is_unknown() {
        let plans = [plan("cutover.yaml", SHARED)];
        for (since, history) in [
            (Since::Uncommitted, "not committed"),
            (Since::NoHistory, "no git history"),
        ] {
            let doc: serde_json::Value =
                serde_json::from_str(&json(&fleet(&plans, &mut all_at(since), 0))).expect("JSON");
            let prod = &doc["rows"][0];
            assert_eq!(prod["history"], history);
            assert_eq!(prod["since"], serde_json::Value::Null);
            assert_eq!(prod["hold_left"], serde_json::Value::Null);
            assert_eq!(prod["next"]["action"], "unknown");
        }
    }
}
