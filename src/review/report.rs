//! Output formats of `cutover diff`: unified, markdown (pull-request comments), JSON
//! (bots), stat, and GitHub Actions workflow commands.

use serde::Serialize;

use crate::error::Diagnostic;
use crate::layout::{self, Part};
use crate::plan::stage::Percent;
use crate::review::diff::{self, FileChange, LineCounts};
use crate::review::traffic::{
    self, pct, EnvReview, MigrationReview, StageChange, StageReview, Traffic,
};
use crate::sync::compare::Status;

/// GitHub's limit on the body of an issue or pull-request comment, in characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// The hidden first line of a markdown report, so a bot can find and update its comment.
pub const MARKER: &str = "<!-- cutover -->";

/// What a report is about.
pub struct Report<'a> {
    /// Changed files, sorted by path.
    pub files: &'a [FileChange],
    /// The traffic facts of every changed migration.
    pub migrations: &'a [MigrationReview],
    /// The git revision compared with, for `--base` reports.
    pub rev: Option<&'a str>,
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Added => "added",
        Status::Modified => "modified",
        Status::Removed => "removed",
    }
}

fn stats(f: &FileChange) -> (Vec<u8>, LineCounts) {
    diff::counted_file_diff(f)
}

/// `git diff --stat`-like lines, one per file, and a total line.
pub fn stat(r: &Report<'_>) -> String {
    let rows: Vec<(&str, LineCounts)> = r
        .files
        .iter()
        .map(|f| (f.rel.as_str(), stats(f).1))
        .collect();
    let width = rows
        .iter()
        .map(|(p, _)| p.chars().count())
        .max()
        .unwrap_or(0);
    let most = rows
        .iter()
        .map(|(_, s)| s.insertions + s.deletions)
        .max()
        .unwrap_or(0);
    let count_width = most.to_string().len();
    const BAR: usize = 50;
    let mut out = String::new();
    let (mut ins, mut del) = (0, 0);
    for (path, s) in &rows {
        let total = s.insertions + s.deletions;
        let (plus, minus) = if most > BAR {
            // Scale, but never hide a side that has changes.
            let p = (s.insertions * BAR).div_ceil(most);
            let m = (s.deletions * BAR).div_ceil(most);
            (p, m)
        } else {
            (s.insertions, s.deletions)
        };
        out.push_str(&format!(
            " {path:<width$} | {total:>count_width$} {}{}\n",
            "+".repeat(plus),
            "-".repeat(minus)
        ));
        ins += s.insertions;
        del += s.deletions;
    }
    let n = rows.len();
    out.push_str(&format!(
        " {n} file{} changed, {ins} insertion{}(+), {del} deletion{}(-)\n",
        if n == 1 { "" } else { "s" },
        if ins == 1 { "" } else { "s" },
        if del == 1 { "" } else { "s" },
    ));
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    /// Version of this schema; bumped on incompatible changes.
    schema: u32,
    /// The `--base` revision (the key is part of the JSON schema).
    base: Option<&'a str>,
    changed: bool,
    summary: JsonSummary,
    files: Vec<JsonFile<'a>>,
    migrations: &'a [MigrationReview],
}

#[derive(Serialize)]
struct JsonSummary {
    files: usize,
    added: usize,
    modified: usize,
    removed: usize,
    insertions: usize,
    deletions: usize,
}

#[derive(Serialize)]
struct JsonFile<'a> {
    path: &'a str,
    status: &'static str,
    insertions: usize,
    deletions: usize,
    diff: String,
}

/// The report as one JSON document (schema 1, documented in the README).
pub fn json(r: &Report<'_>) -> String {
    let files: Vec<JsonFile<'_>> = r
        .files
        .iter()
        .map(|f| {
            let (d, s) = stats(f);
            JsonFile {
                path: &f.rel,
                status: status_word(f.status),
                insertions: s.insertions,
                deletions: s.deletions,
                diff: String::from_utf8_lossy(&d).into_owned(),
            }
        })
        .collect();
    let count = |st: Status| r.files.iter().filter(|f| f.status == st).count();
    let summary = JsonSummary {
        files: files.len(),
        added: count(Status::Added),
        modified: count(Status::Modified),
        removed: count(Status::Removed),
        insertions: files.iter().map(|f| f.insertions).sum(),
        deletions: files.iter().map(|f| f.deletions).sum(),
    };
    let doc = JsonReport {
        schema: 1,
        base: r.rev,
        changed: !r.files.is_empty(),
        summary,
        files,
        migrations: r.migrations,
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("the report serializes");
    s.push('\n');
    s
}

/// Escapes text for a markdown table cell or paragraph.
pub(crate) fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '|' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for HTML (inside `<summary>` and `<code>`).
fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn cell<T: PartialEq>(before: Option<T>, after: Option<T>, show: impl Fn(&T) -> String) -> String {
    match (before, after) {
        (Some(b), Some(a)) if b == a => show(&a),
        (Some(b), Some(a)) => format!("{} → {}", show(&b), show(&a)),
        (None, Some(a)) => show(&a),
        (Some(b), None) => {
            let b = show(&b);
            if b == "—" {
                b
            } else {
                format!("~~{b}~~")
            }
        }
        (None, None) => "—".to_owned(),
    }
}

fn mirror_cell(s: &StageReview) -> String {
    let get = |t: &Option<Traffic>| t.as_ref().map(|t| t.mirror);
    let show = |m: &Option<f64>| m.map_or_else(|| "—".to_owned(), |p| format!("{}%", Percent(p)));
    cell(get(&s.before), get(&s.after), show)
}

fn table(m: &MigrationReview) -> String {
    let pick = |f: fn(&Traffic) -> Option<String>| {
        m.stages
            .iter()
            .flat_map(|s| s.after.iter().chain(s.before.iter()))
            .find_map(f)
            .unwrap_or_else(|| "?".to_owned())
    };
    let to_host = pick(|t| t.to_host.clone());
    let from_host = pick(|t| t.from_host.clone());
    let mut out = format!(
        "#### {} <sub>{}</sub>\n\n| # | stage | GCPBackend ({}) | ServiceEntry ({}) | mirror | change |\n|---:|---|---:|---:|---:|---|\n",
        md(&m.name),
        html(&m.folder),
        md(&to_host),
        md(&from_host)
    );
    for s in &m.stages {
        let number = cell(s.number_before, s.number_after, |n| n.to_string());
        let to = cell(
            s.before.as_ref().map(|t| t.to),
            s.after.as_ref().map(|t| t.to),
            |p| pct(*p),
        );
        let from = cell(
            s.before.as_ref().map(|t| t.from),
            s.after.as_ref().map(|t| t.from),
            |p| pct(*p),
        );
        let change = if s.changes.is_empty() {
            "—".to_owned()
        } else {
            format!("**{}**", md(&traffic::describe(&s.changes)))
        };
        out.push_str(&format!(
            "| {number} | {} | {to} | {from} | {} | {change} |\n",
            md(&s.stage),
            mirror_cell(s)
        ));
    }
    out.push('\n');
    for (stage, note) in m
        .stages
        .iter()
        .filter_map(|s| Some((&s.stage, s.note.as_deref()?)))
    {
        out.push_str(&format!("> **{}**: {}\n", md(stage), md(note)));
    }
    if m.stages.iter().any(|s| s.note.is_some()) {
        out.push('\n');
    }
    if !m.environments.is_empty() {
        out.push_str("Environments:");
        for (i, e) in m.environments.iter().enumerate() {
            let show = |s: &Option<String>| s.as_deref().map_or_else(|| "(none)".to_owned(), md);
            out.push_str(&format!(
                "{} **{}** {} → {}",
                if i == 0 { "" } else { ";" },
                md(&e.env),
                show(&e.before),
                show(&e.after)
            ));
        }
        out.push_str("\n\n");
    }
    out
}

fn fence_for(text: &str) -> String {
    let longest = text
        .lines()
        .map(|l| l.trim_start().chars().take_while(|c| *c == '`').count())
        .max()
        .unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

fn details(f: &FileChange) -> (String, LineCounts) {
    let (d, s) = stats(f);
    let text = String::from_utf8_lossy(&d);
    let fence = fence_for(&text);
    let body = format!(
        "<details>\n<summary><code>{}</code> — {} (+{} −{})</summary>\n\n{fence}diff\n{}{}{fence}\n\n</details>\n\n",
        html(&f.rel),
        status_word(f.status),
        s.insertions,
        s.deletions,
        text,
        if text.ends_with('\n') { "" } else { "\n" },
    );
    (body, s)
}

/// Escapes text for a quoted string of a mermaid diagram. Mermaid has no escape inside
/// quotes, but turns entity codes (`#quot;`, `#35;`) into characters when it draws, for
/// every diagram type; `#` itself is escaped so that text never reads as a code.
/// Backticks are escaped too, so the chart never closes its markdown fence.
fn mermaid_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '`' => out.push_str("#96;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The x-axis label of a stage: its number after the change and its name, whether it
/// was added or removed (a removed stage has no number), the environments on it after
/// the change, and, in parentheses, those that were on it before and moved.
fn chart_label(m: &MigrationReview, s: &StageReview) -> String {
    let mut label = match s.number_after {
        Some(n) if s.number_before.is_none() => format!("{n} {} (added)", s.stage),
        Some(n) => format!("{n} {}", s.stage),
        None => format!("{} (removed)", s.stage),
    };
    let name_before = s
        .changes
        .iter()
        .find_map(|c| match c {
            StageChange::RenamedFrom(old) => Some(old.as_str()),
            _ => None,
        })
        .unwrap_or(&s.stage);
    let after: Vec<&str> = m
        .standing
        .iter()
        .filter(|e| s.number_after.is_some() && e.after.as_deref() == Some(s.stage.as_str()))
        .map(|e| e.env.as_str())
        .collect();
    let before: Vec<&str> = m
        .standing
        .iter()
        .filter(|e| s.number_before.is_some() && e.before.as_deref() == Some(name_before))
        .filter(|e| !after.contains(&e.env.as_str()))
        .map(|e| e.env.as_str())
        .collect();
    if !after.is_empty() {
        label.push_str(&format!(": {}", after.join(", ")));
    }
    if !before.is_empty() {
        label.push_str(&format!(" ({} before)", before.join(", ")));
    }
    label
}

/// The GCPBackend's share at each stage on one side of the change, `None` when the
/// migration has no stage on that side. A stage missing on that side, or whose share
/// cannot be read, is drawn at the share of the stage before it (0 before the first):
/// the share the rollout holds at that point.
fn chart_series(
    m: &MigrationReview,
    exists: fn(&StageReview) -> bool,
    traffic: fn(&StageReview) -> Option<&Traffic>,
) -> Option<Vec<i64>> {
    if !m.stages.iter().any(exists) {
        return None;
    }
    let mut last = 0;
    Some(
        m.stages
            .iter()
            .map(|s| {
                if let Some(to) = traffic(s).and_then(|t| t.to) {
                    last = to;
                }
                last
            })
            .collect(),
    )
}

/// A mermaid `xychart-beta` of the share of requests sent to the GCPBackend at each
/// stage, bars before the change and a line after, with a caption below the fence;
/// `None` when no share can be read on either side.
fn chart(m: &MigrationReview) -> Option<String> {
    let known = |t: &Option<Traffic>| t.as_ref().is_some_and(|t| t.to.is_some());
    if !m.stages.iter().any(|s| known(&s.before) || known(&s.after)) {
        return None;
    }
    let before = chart_series(m, |s| s.number_before.is_some(), |s| s.before.as_ref());
    let after = chart_series(m, |s| s.number_after.is_some(), |s| s.after.as_ref());
    let list = |v: &[i64]| {
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let labels: Vec<String> = m
        .stages
        .iter()
        .map(|s| format!("\"{}\"", mermaid_text(&chart_label(m, s))))
        .collect();
    let mut out = format!(
        "```mermaid\nxychart-beta\n    title \"{}: % of requests to the GCPBackend\"\n    x-axis [{}]\n    y-axis \"% to GCPBackend\" 0 --> 100\n",
        mermaid_text(&m.name),
        labels.join(", ")
    );
    if let Some(v) = &before {
        out.push_str(&format!("    bar [{}]\n", list(v)));
    }
    if let Some(v) = &after {
        out.push_str(&format!("    line [{}]\n", list(v)));
    }
    out.push_str("```\n\n");
    out.push_str(match (&before, &after) {
        (Some(_), Some(_)) => "<sub>Bars: before the change; line: after.",
        (None, _) => "<sub>Line: after the change (the migration is new).",
        (_, None) => "<sub>Bars: before the change (the migration is removed).",
    });
    if !m.standing.is_empty() {
        out.push_str(
            " Each stage is labelled with the environments on it after the change, and in parentheses those on it before.",
        );
    }
    out.push_str("</sub>\n\n");
    Some(out)
}

/// What fits in a comment's budget: how many tables (from the start), how many of
/// those tables' charts, and how many file blocks.
struct Fit {
    tables: usize,
    charts: usize,
    files: usize,
}

/// Fills `budget` characters by priority: tables (the facts), then charts (a few hundred
/// characters each), then file diffs (the longest, and what the pull request's own diff
/// shows); each kind from the start, stopping at the first that does not fit, so what
/// is left out is always a tail.
fn fit(tables: &[String], charts: &[Option<String>], files: &[String], budget: usize) -> Fit {
    let chars = |s: &str| s.chars().count();
    let mut used = 0;
    let mut take = |items: &mut dyn Iterator<Item = usize>| {
        let mut n = 0;
        for len in items {
            if used + len > budget {
                break;
            }
            used += len;
            n += 1;
        }
        n
    };
    let tables_kept = take(&mut tables.iter().map(|t| chars(t)));
    let charts_kept = take(
        &mut charts[..tables_kept]
            .iter()
            .map(|c| c.as_deref().map_or(0, chars)),
    );
    let files_kept = take(&mut files.iter().map(|f| chars(f)));
    Fit {
        tables: tables_kept,
        charts: charts_kept,
        files: files_kept,
    }
}

/// The closing note of a comment that left something out.
fn left_out_note(r: &Report<'_>, tables: usize, charts: usize, files: &[LineCounts]) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut note = String::from("**Left out to stay within GitHub's comment size limit:**");
    if tables > 0 {
        note.push_str(&format!(
            " the summary of {tables} migration{};",
            plural(tables)
        ));
    }
    if charts > 0 {
        note.push_str(&format!(
            " the chart of {charts} migration{};",
            plural(charts)
        ));
    }
    if !files.is_empty() {
        let ins: usize = files.iter().map(|s| s.insertions).sum();
        let del: usize = files.iter().map(|s| s.deletions).sum();
        note.push_str(&format!(
            " the diff of {} file{} (+{ins} −{del});",
            files.len(),
            plural(files.len())
        ));
    }
    note.pop();
    let command = match r.rev {
        Some(base) => format!("cutover diff --base {base}"),
        None => "cutover diff".to_owned(),
    };
    note.push_str(&format!(
        ". Run <code>{}</code> to see everything.\n",
        html(&command)
    ));
    note
}

/// A pull-request comment: a hidden marker, per changed migration a summary table and a
/// mermaid chart of the GCPBackend's share at each stage before and after, then each
/// file's diff in a collapsed `<details>` block. It stays within `limit` characters:
/// file blocks are left out from the end first, then charts, then tables (see [`fit`]),
/// and a closing note says what was left out.
pub fn markdown(r: &Report<'_>, limit: usize) -> String {
    let mut out = String::new();
    out.push_str(MARKER);
    out.push('\n');
    if r.files.is_empty() {
        match r.rev {
            Some(rev) => out.push_str(&format!(
                "### cutover: no changes\n\nThe plans render the same manifests as at <code>{}</code>.\n",
                html(rev)
            )),
            None => out.push_str(
                "### cutover: no changes\n\nThe generated manifests match the plans.\n",
            ),
        }
        return out;
    }
    let n = r.files.len();
    out.push_str(&format!(
        "### cutover: {} file{} in {} migration{}\n\n",
        n,
        if n == 1 { "" } else { "s" },
        r.migrations.len(),
        if r.migrations.len() == 1 { "" } else { "s" }
    ));
    if let Some(rev) = r.rev {
        out.push_str(&format!("Compared with <code>{}</code>.\n\n", html(rev)));
    }
    // Room kept for the closing note, which names the revision (escaped) once.
    let reserve = 400 + r.rev.map_or(0, |rev| html(rev).chars().count());
    let budget = limit.saturating_sub(reserve + out.chars().count());
    let tables: Vec<String> = r.migrations.iter().map(table).collect();
    let charts: Vec<Option<String>> = r.migrations.iter().map(chart).collect();
    let (files, counts): (Vec<String>, Vec<LineCounts>) = r.files.iter().map(details).unzip();
    let kept = fit(&tables, &charts, &files, budget);
    for (i, t) in tables.iter().take(kept.tables).enumerate() {
        out.push_str(t);
        if let Some(c) = charts[i].as_deref().filter(|_| i < kept.charts) {
            out.push_str(c);
        }
    }
    for f in files.iter().take(kept.files) {
        out.push_str(f);
    }
    let charts_left_out = charts[..kept.tables]
        .iter()
        .skip(kept.charts)
        .filter(|c| c.is_some())
        .count();
    if kept.tables < tables.len() || charts_left_out > 0 || kept.files < files.len() {
        out.push_str(&left_out_note(
            r,
            tables.len() - kept.tables,
            charts_left_out,
            &counts[kept.files..],
        ));
    }
    out
}

/// Escapes a GitHub workflow command's message.
pub fn github_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a GitHub workflow command's property value.
pub fn github_property(s: &str) -> String {
    github_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// What the review knows about one changed file.
enum Facts<'a> {
    /// The file belongs to a stage with these changes (not empty).
    Stage(&'a [StageChange]),
    /// The file is an environment's, and the environment moved.
    Env(&'a EnvReview),
}

impl Facts<'_> {
    /// Whether the stage of a removed file lives on elsewhere (renamed or renumbered).
    fn moved(&self) -> bool {
        matches!(self, Facts::Stage(c) if c.iter().any(StageChange::is_move))
    }

    /// The facts in words, or `None` when the status already says it all.
    fn words(&self) -> Option<String> {
        match self {
            Facts::Stage([StageChange::Added | StageChange::Removed]) => None,
            Facts::Stage(c) => Some(traffic::describe(c)),
            Facts::Env(e) => Some(format!(
                "{}: {} → {}",
                e.env,
                e.before.as_deref().unwrap_or("(none)"),
                e.after.as_deref().unwrap_or("(none)")
            )),
        }
    }
}

/// The review's facts about the file at `rel`.
fn facts<'a>(r: &Report<'a>, rel: &str) -> Option<Facts<'a>> {
    let place = layout::parse(rel)?;
    let m = r.migrations.iter().find(|m| m.folder == place.folder)?;
    match &place.part {
        Part::Stage { name, .. } => {
            let s = m.stages.iter().find(|s| &s.stage == name)?;
            (!s.changes.is_empty()).then_some(Facts::Stage(&s.changes))
        }
        Part::Env(env) => m
            .environments
            .iter()
            .find(|e| &e.env == env)
            .map(Facts::Env),
        Part::GcpBackend | Part::VerifyJob | Part::StageJob { .. } => None,
    }
}

/// GitHub Actions workflow commands: an annotation per changed file, on its first
/// changed line. Out-of-date files are errors; changes against a base revision (what a
/// pull request changes) are notices.
pub fn github(r: &Report<'_>) -> String {
    let level = if r.rev.is_some() { "notice" } else { "error" };
    let mut out = String::new();
    for f in r.files {
        let line = diff::first_changed_line(f);
        let facts = facts(r, &f.rel);
        let removed_but_moved =
            f.status == Status::Removed && facts.as_ref().is_some_and(Facts::moved);
        let what = match (r.rev, f.status) {
            (Some(_), Status::Added) => "added",
            (Some(_), Status::Removed) if removed_but_moved => "moved",
            (Some(_), Status::Removed) => "removed",
            (Some(_), Status::Modified) => "changed",
            (None, Status::Added) => "missing: the plan produces this file; run `cutover render`",
            (None, Status::Removed) if removed_but_moved => {
                "moved: the plan now writes this stage elsewhere; run `cutover render`"
            }
            (None, Status::Removed) => {
                "orphaned: the plan no longer produces this file; run `cutover render`"
            }
            (None, Status::Modified) => {
                "stale: differs from what the plan produces; run `cutover render`"
            }
        };
        let message = match facts.as_ref().and_then(Facts::words) {
            Some(c) => format!("{what} ({c})"),
            None => what.to_owned(),
        };
        out.push_str(&format!(
            "::{level} file={},line={line},title={}::{}\n",
            github_property(&f.rel),
            github_property("cutover"),
            github_data(&message)
        ));
    }
    out
}

/// A plan diagnostic as a GitHub workflow command.
pub fn github_diagnostic(d: &Diagnostic) -> String {
    let level = if d.is_error() { "error" } else { "warning" };
    let mut props = format!("file={}", github_property(&d.file));
    if let Some(s) = &d.snippet {
        props.push_str(&format!(",line={},col={}", s.line, s.col));
    }
    let title = if d.field.is_empty() {
        "cutover plan".to_owned()
    } else {
        format!("cutover plan: {}", d.field)
    };
    props.push_str(&format!(",title={}", github_property(&title)));
    let mut message = d.message.clone();
    if let Some(h) = &d.help {
        message.push_str(&format!("\n{h}"));
    }
    format!("::{level} {props}::{}\n", github_data(&message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(rel: &str, status: Status, old: Option<&str>, new: Option<&str>) -> FileChange {
        FileChange {
            rel: rel.into(),
            status,
            old: old.map(|s| s.as_bytes().to_vec()),
            new: new.map(|s| s.as_bytes().to_vec()),
        }
    }

    #[test]
    fn github_escaping() {
        assert_eq!(github_data("50% done\nnext\r"), "50%25 done%0Anext%0D");
        assert_eq!(github_property("a:b,c"), "a%3Ab%2Cc");
    }

    #[test]
    fn stat_lines_and_total() {
        let files = [
            change("a.yaml", Status::Added, None, Some("x\ny\n")),
            change("bb.yaml", Status::Modified, Some("x\n"), Some("y\n")),
        ];
        let r = Report {
            files: &files,
            migrations: &[],
            rev: None,
        };
        assert_eq!(
            stat(&r),
            " a.yaml  | 2 ++\n bb.yaml | 2 +-\n 2 files changed, 3 insertions(+), 1 deletion(-)\n"
        );
    }

    #[test]
    fn stat_counts_a_removed_yaml_document_marker() {
        let files = [change(
            "a.yaml",
            Status::Modified,
            Some("---\nx: 1\n"),
            Some("x: 1\n"),
        )];
        let r = Report {
            files: &files,
            migrations: &[],
            rev: None,
        };
        assert_eq!(
            stat(&r),
            " a.yaml | 1 -\n 1 file changed, 0 insertions(+), 1 deletion(-)\n"
        );
    }

    #[test]
    fn github_messages_come_from_the_review_not_its_words() {
        // An environment whose name reads like a stage change is not a moved stage.
        let files = [
            change("o/m/envs/renamed.yaml", Status::Removed, Some("x\n"), None),
            change("o/m/01-a.yaml", Status::Removed, Some("x\n"), None),
            change("o/m/02-a.yaml", Status::Added, None, Some("x\n")),
        ];
        let stage = StageReview {
            stage: "a".into(),
            number_before: Some(1),
            number_after: Some(2),
            before: None,
            after: None,
            changes: vec![StageChange::Renumbered {
                before: 1,
                after: 2,
            }],
            note: None,
        };
        let migrations = [MigrationReview {
            folder: "o/m".into(),
            name: "m".into(),
            stages: vec![stage],
            environments: vec![EnvReview {
                env: "renamed".into(),
                before: Some("a".into()),
                after: None,
            }],
            standing: Vec::new(),
        }];
        let r = Report {
            files: &files,
            migrations: &migrations,
            rev: Some("main"),
        };
        assert_eq!(
            github(&r),
            "::notice file=o/m/envs/renamed.yaml,line=1,title=cutover::removed (renamed: a → (none))\n\
             ::notice file=o/m/01-a.yaml,line=1,title=cutover::moved (renumbered 1 → 2)\n\
             ::notice file=o/m/02-a.yaml,line=1,title=cutover::added (renumbered 1 → 2)\n"
        );
    }

    fn weights(to: i64) -> Option<Traffic> {
        Some(Traffic {
            to: Some(to),
            from: Some(100 - to),
            mirror: None,
            to_host: Some("t.com".into()),
            from_host: Some("f.com".into()),
            hosts: vec!["f.com".into()],
        })
    }

    fn stage(name: &str, before: Option<(usize, i64)>, after: Option<(usize, i64)>) -> StageReview {
        StageReview {
            stage: name.into(),
            number_before: before.map(|b| b.0),
            number_after: after.map(|a| a.0),
            before: before.and_then(|b| weights(b.1)),
            after: after.and_then(|a| weights(a.1)),
            changes: Vec::new(),
            note: None,
        }
    }

    #[test]
    fn mermaid_text_escapes_quotes_and_entity_codes() {
        assert_eq!(
            mermaid_text("a\"b #quot; <c> & `d`\ne"),
            "a#quot;b #35;quot; #lt;c#gt; #amp; #96;d#96; e"
        );
        assert_eq!(mermaid_text("weight-10 · prod"), "weight-10 · prod");
    }

    #[test]
    fn chart_draws_both_sides_and_where_environments_stand() {
        let mut renamed = stage("weight-30", Some((3, 25)), Some((3, 30)));
        renamed.changes = vec![StageChange::RenamedFrom("weight-25".into())];
        let m = MigrationReview {
            folder: "o/we\"ird".into(),
            name: "we\"ird".into(),
            stages: vec![
                stage("gone", Some((1, 5)), None),
                stage("weight-10", Some((2, 10)), Some((1, 10))),
                stage("new", None, Some((2, 20))),
                renamed,
            ],
            environments: Vec::new(),
            standing: vec![
                EnvReview {
                    env: "dev".into(),
                    before: Some("weight-25".into()),
                    after: Some("weight-30".into()),
                },
                EnvReview {
                    env: "prod".into(),
                    before: Some("weight-10".into()),
                    after: Some("new".into()),
                },
            ],
        };
        let c = chart(&m).expect("a chart");
        assert_eq!(
            c.lines().take(7).collect::<Vec<_>>(),
            [
                "```mermaid",
                "xychart-beta",
                "    title \"we#quot;ird: % of requests to the GCPBackend\"",
                "    x-axis [\"gone (removed)\", \"1 weight-10 (prod before)\", \"2 new (added): prod\", \"3 weight-30: dev\"]",
                "    y-axis \"% to GCPBackend\" 0 --> 100",
                // The stage missing before is drawn at the share before it.
                "    bar [5, 10, 10, 25]",
                // And the removed stage after, at 0: nothing before it.
                "    line [0, 10, 20, 30]",
            ]
        );
        assert!(c.contains("environments on it after the change"));
        // No share known on either side: no chart.
        let mut unknown = m.clone();
        for s in &mut unknown.stages {
            for t in [&mut s.before, &mut s.after].into_iter().flatten() {
                t.to = None;
            }
        }
        assert_eq!(chart(&unknown), None);
    }

    #[test]
    fn file_diffs_are_left_out_before_charts_and_charts_before_tables() {
        let t = |n: usize| "t".repeat(n);
        let tables = [t(100), t(100)];
        let charts = [Some(t(50)), None, Some(t(50))][..2].to_vec();
        let files = [t(30), t(30)];
        let kept = |budget| {
            let f = fit(&tables, &charts, &files, budget);
            (f.tables, f.charts, f.files)
        };
        assert_eq!(kept(1000), (2, 2, 2));
        assert_eq!(kept(280), (2, 2, 1));
        // The second migration has no chart: it costs nothing.
        assert_eq!(kept(250), (2, 2, 0));
        // No room for the first chart: none is shown; a file diff that fits still is.
        assert_eq!(kept(249), (2, 0, 1));
        assert_eq!(kept(199), (1, 1, 1));
        assert_eq!(kept(99), (0, 0, 2));
    }

    #[test]
    fn markdown_leaves_out_charts_before_tables() {
        let files = [change("o/m/01-a.yaml", Status::Added, None, Some("x\n"))];
        let migrations = [MigrationReview {
            folder: "o/m".into(),
            name: "m".into(),
            stages: vec![stage("a", None, Some((1, 10)))],
            environments: Vec::new(),
            standing: Vec::new(),
        }];
        let r = Report {
            files: &files,
            migrations: &migrations,
            rev: Some("main"),
        };
        let full = markdown(&r, GITHUB_COMMENT_LIMIT);
        assert!(full.contains("```mermaid\n") && !full.contains("Left out"));
        let chart_len = chart(&migrations[0]).unwrap().chars().count();
        let short = markdown(&r, full.chars().count() + 400 - chart_len - 1);
        assert!(
            short.contains("#### m") && !short.contains("mermaid"),
            "{short}"
        );
        assert!(
            short.contains("the chart of 1 migration; the diff of 1 file (+1 −0)."),
            "{short}"
        );
    }

    #[test]
    fn markdown_fences_outgrow_backticks_in_the_diff() {
        assert_eq!(fence_for("a\n```\nb"), "````");
        assert_eq!(fence_for("plain"), "```");
    }

    /// The closing note names the revision: a long one (escaped, longer still) must not
    /// push the comment over the limit, whatever size the files are.
    #[test]
    fn markdown_respects_the_limit_with_a_long_revision() {
        let rev = format!("feature/{}", "a&b<".repeat(60));
        for lines in [50, 150, 200, 250] {
            let body = "line\n".repeat(lines);
            let files: Vec<_> = (0..300)
                .map(|i| change(&format!("f{i:03}.yaml"), Status::Added, None, Some(&body)))
                .collect();
            let r = Report {
                files: &files,
                migrations: &[],
                rev: Some(&rev),
            };
            let md = markdown(&r, GITHUB_COMMENT_LIMIT);
            let n = md.chars().count();
            assert!(n <= GITHUB_COMMENT_LIMIT, "{lines} lines: {n}");
        }
    }

    #[test]
    fn markdown_respects_the_limit_at_file_boundaries() {
        let big = "line\n".repeat(200);
        let files: Vec<_> = (0..300)
            .map(|i| change(&format!("f{i:03}.yaml"), Status::Added, None, Some(&big)))
            .collect();
        let r = Report {
            files: &files,
            migrations: &[],
            rev: None,
        };
        let md = markdown(&r, GITHUB_COMMENT_LIMIT);
        assert!(md.chars().count() <= GITHUB_COMMENT_LIMIT);
        assert!(md.starts_with(MARKER));
        assert_eq!(
            md.matches("<details>").count(),
            md.matches("</details>").count()
        );
        assert_eq!(md.matches("```diff").count(), md.matches("\n```\n").count());
        assert!(
            md.contains("Left out to stay within"),
            "{}",
            &md[md.len() - 300..]
        );
    }
}
