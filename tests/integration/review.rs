//! Review output of `cutover diff`: every `--format` on the fixture changes of
//! `fixtures/review/<case>/` (snapshots), and the properties each format promises.
//!
//! A case's `input/` holds the plan files of a small repository before and after a change
//! (`before/`, `after/`; stored as `*.in` so that discovery at the repository root does
//! not take them for plans, see `fixtures/README.md`). For each case a temporary git
//! repository is made with the `before` plans committed and the `after` plans in the work
//! tree, and `cutover diff --base HEAD --format F` must match the insta snapshot
//! `expected/F.snap` (exit status, stdout, stderr). `cargo insta review` accepts changes.
//!
//! Besides the snapshots, each case checks that the unified diff applies with `git apply`
//! (in disk mode, on the committed rendered tree), that the JSON document is complete and
//! consistent, that the stat totals add up and that GitHub workflow commands are escaped.

use std::fs;
use std::path::{Path, PathBuf};

use crate::test::Test;
use serde_json::Value;

/// `--format` values, each the name of a snapshot in `expected/`.
const FORMATS: [&str; 5] = ["unified", "markdown", "json", "stat", "github"];

/// GitHub's comment size limit, in characters.
const LIMIT: usize = 65_536;

const MARKER: &str = "<!-- cutover -->";

fn review_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/review")
}

fn is_plan_name(name: &str) -> bool {
    name == "cutover.yaml"
        || (name.ends_with(".cutover.yaml") && name.len() > ".cutover.yaml".len())
}

/// Every file under `dir` (relative, `/`-separated, sorted), skipping hidden folders;
/// empty when `dir` does not exist.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let e = e.expect("folder entry");
            let path = e.path();
            if e.file_type().expect("file type").is_dir() {
                if !e.file_name().to_string_lossy().starts_with('.') {
                    walk(root, &path, out);
                }
            } else {
                let rel = path.strip_prefix(root).expect("inside root");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A test folder whose `git` (run by the binary) reads no user or system configuration.
fn isolated(t: Test) -> Test {
    t.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
}

/// Copies the plans of `fixtures/review/<case>/<side>/` into the test folder, `.in` stripped.
fn put_plans(t: &Test, case: &str, side: &str) {
    let dir = review_dir().join(case).join("input").join(side);
    for rel in files_under(&dir) {
        let target = rel
            .strip_suffix(".in")
            .unwrap_or_else(|| panic!("{}/{rel}: fixture plans must be named *.in", dir.display()));
        let bytes = fs::read(dir.join(&rel)).expect("read fixture plan");
        t.write(target, bytes);
    }
}

/// Deletes every plan file of the test folder.
fn remove_plans(t: &Test) {
    for rel in files_under(&t.path()) {
        let name = rel.rsplit('/').next().expect("file name");
        if is_plan_name(name) {
            fs::remove_file(t.path().join(&rel)).expect("remove plan");
        }
    }
}

/// A git repository with the `before` plans of `case` committed (with their rendered
/// tree when `rendered`), and the `after` plans in the work tree.
fn repo(case: &str, rendered: bool) -> Test {
    assert!(
        review_dir().join(case).join("input/before").is_dir(),
        "no fixture {case}"
    );
    let t = isolated(Test::new().git_init());
    put_plans(&t, case, "before");
    if rendered {
        t.args(["render"]).any_stdout().run();
    }
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "before"]);
    remove_plans(&t);
    put_plans(&t, case, "after");
    t
}

fn expected_code(case: &str) -> i32 {
    if case == "no-change" {
        0
    } else {
        1
    }
}

// ---------------------------------------------------------------- snapshots

fn snapshots(case: &str) {
    let t = repo(case, false);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(review_dir().join(case).join("expected"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_input_file(review_dir().join(case).join("input"));
    settings.bind(|| {
        for format in FORMATS {
            insta_cmd::assert_cmd_snapshot!(
                format,
                t.args(["diff", "--base", "HEAD", "--format", format])
                    .command()
            );
        }
    });
}

// ---------------------------------------------------------------- git apply

/// Disk mode on the committed `before` tree: the unified diff is what `--base HEAD`
/// prints, `git apply` takes it, and afterwards `check` passes and `diff` is empty.
fn applies(case: &str) {
    let t = repo(case, true);
    let base_patch = t
        .args(["diff", "--base", "HEAD"])
        .status(1)
        .any_stdout()
        .run()
        .stdout_bytes
        .clone();
    let tracked_before = t.git(&["ls-files"]);

    if case == "plan-deleted" {
        // No plan is left in the work tree, so disk mode cannot know the orphaned tree;
        // only --base can show the removal.
        t.args(["diff"])
            .status(2)
            .stderr_contains("no plan files (`cutover.yaml` or `*.cutover.yaml`) found")
            .run();
    } else {
        let disk = t.args(["diff"]).status(1).any_stdout().run();
        assert_eq!(
            disk.stdout,
            String::from_utf8_lossy(&base_patch),
            "disk mode on the committed before tree and --base HEAD must print the same diff"
        );
        // Disk mode github annotations are errors (out of date files).
        let gh = t
            .args(["diff", "--format", "github"])
            .status(1)
            .any_stdout()
            .run();
        check_github(&gh.stdout, "error");
        assert_eq!(
            github_files(&gh.stdout),
            unified_paths(&disk.stdout),
            "one annotation per changed file"
        );
    }
    // `diff` wrote nothing: only the plans differ from the commit.
    for line in t
        .git(&["status", "--porcelain", "--untracked-files=all"])
        .lines()
    {
        let path = &line[3..];
        let name = path.rsplit('/').next().unwrap_or(path);
        assert!(is_plan_name(name), "diff changed {path}");
    }
    let patch = t.path().join(".git/review.patch");
    fs::write(&patch, &base_patch).expect("write patch");
    t.git(&["apply", "--whitespace=error-all", ".git/review.patch"]);

    if case == "plan-deleted" {
        for rel in tracked_before.lines() {
            assert!(
                !t.exists(rel),
                "{rel} should have been removed by the patch"
            );
        }
        return;
    }
    t.args(["check"]).stdout_contains("up to date").run();
    t.args(["diff"]).run();
    t.args(["render", "--exit-code"])
        .stdout_contains(", 0 removed")
        .run();
}

// ---------------------------------------------------------------- format properties

/// The path of every `diff --git` header of a unified diff, in order.
fn unified_paths(unified: &str) -> Vec<String> {
    unified
        .lines()
        .filter_map(|l| l.strip_prefix("diff --git a/"))
        .map(|l| l.split(" b/").next().expect("b/ path").to_owned())
        .collect()
}

/// A unified diff split into the diffs of its files.
fn file_diffs(unified: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in unified.split_inclusive('\n') {
        if line.starts_with("diff --git ") || out.is_empty() {
            out.push(String::new());
        }
        out.last_mut().expect("a file").push_str(line);
    }
    out
}

/// Added and removed lines of one file's diff (hunk lines only, not `---`/`+++`).
fn count_lines(file_diff: &str) -> (u64, u64) {
    let (mut plus, mut minus) = (0, 0);
    let mut in_hunks = false;
    for line in file_diff.lines() {
        if line.starts_with("@@ ") {
            in_hunks = true;
        } else if in_hunks && line.starts_with('+') {
            plus += 1;
        } else if in_hunks && line.starts_with('-') {
            minus += 1;
        }
    }
    (plus, minus)
}

#[track_caller]
fn field<'a>(v: &'a Value, key: &str, at: &str) -> &'a Value {
    v.get(key)
        .unwrap_or_else(|| panic!("{at} has no `{key}`: {v}"))
}

fn check_traffic(v: &Value, at: &str) {
    if v.is_null() {
        return;
    }
    for key in ["to", "from", "mirror", "to_host", "from_host", "hosts"] {
        field(v, key, at);
    }
    assert!(v["hosts"].is_array(), "{at}.hosts is not a list");
    for key in ["to", "from"] {
        let x = &v[key];
        assert!(
            x.is_null() || x.as_i64().is_some_and(|p| (0..=100).contains(&p)),
            "{at}.{key} is not a percentage: {x}"
        );
    }
}

/// Checks the JSON document against the unified diff of the same change.
fn check_json(json: &str, unified: &str, base: Option<&str>) -> Value {
    assert!(json.ends_with("}\n"), "JSON output ends with a newline");
    let v: Value = serde_json::from_str(json).expect("diff --format json prints valid JSON");
    for key in [
        "schema",
        "base",
        "changed",
        "summary",
        "files",
        "migrations",
    ] {
        field(&v, key, "the document");
    }
    assert_eq!(v["schema"], 1);
    assert_eq!(v["base"], base.map_or(Value::Null, Value::from));
    let files = v["files"].as_array().expect("files is a list");
    assert_eq!(v["changed"], !files.is_empty());

    let diffs = file_diffs(unified);
    assert_eq!(
        files.len(),
        diffs.len(),
        "one JSON file per unified file diff"
    );
    let (mut ins, mut del) = (0, 0);
    let mut counts = [0u64; 3];
    let mut concatenated = String::new();
    for (i, (f, d)) in files.iter().zip(&diffs).enumerate() {
        let at = format!("files[{i}]");
        for key in ["path", "status", "insertions", "deletions", "diff"] {
            field(f, key, &at);
        }
        let path = f["path"].as_str().expect("path is a string");
        let diff = f["diff"].as_str().expect("diff is a string");
        assert_eq!(diff, d, "{at}.diff is the file's unified diff");
        assert!(diff.starts_with(&format!("diff --git a/{path} b/{path}\n")));
        let status = f["status"].as_str().expect("status is a string");
        let idx = ["added", "modified", "removed"]
            .iter()
            .position(|s| *s == status)
            .unwrap_or_else(|| panic!("{at}.status is {status:?}"));
        counts[idx] += 1;
        match status {
            "added" => assert!(diff.contains("\n--- /dev/null\n"), "{at}: added"),
            "removed" => assert!(diff.contains("\n+++ /dev/null\n"), "{at}: removed"),
            _ => assert!(!diff.contains("/dev/null"), "{at}: modified"),
        }
        let (p, m) = count_lines(diff);
        assert_eq!(f["insertions"], p, "{at}.insertions");
        assert_eq!(f["deletions"], m, "{at}.deletions");
        ins += p;
        del += m;
        concatenated.push_str(diff);
    }
    assert_eq!(
        concatenated, unified,
        "the files' diffs make up the unified diff"
    );
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert!(
        paths.windows(2).all(|w| w[0] < w[1]),
        "files sorted, unique"
    );

    let s = &v["summary"];
    for key in [
        "files",
        "added",
        "modified",
        "removed",
        "insertions",
        "deletions",
    ] {
        field(s, key, "summary");
    }
    assert_eq!(s["files"], files.len());
    assert_eq!(s["added"], counts[0]);
    assert_eq!(s["modified"], counts[1]);
    assert_eq!(s["removed"], counts[2]);
    assert_eq!(s["insertions"], ins);
    assert_eq!(s["deletions"], del);

    check_json_migrations(&v, &paths);
    v
}

/// Checks the `migrations` of a JSON document whose changed files are `paths`.
fn check_json_migrations(v: &Value, paths: &[&str]) {
    let migrations = v["migrations"].as_array().expect("migrations is a list");
    for (i, m) in migrations.iter().enumerate() {
        let at = format!("migrations[{i}]");
        for key in ["folder", "name", "stages"] {
            field(m, key, &at);
        }
        let folder = m["folder"].as_str().expect("folder is a string");
        assert_eq!(
            Some(m["name"].as_str().expect("name")),
            folder.rsplit('/').next()
        );
        assert!(
            paths.iter().any(|p| p.starts_with(&format!("{folder}/"))),
            "{at}: a migration without changed files"
        );
        let stages = m["stages"].as_array().expect("stages is a list");
        assert!(!stages.is_empty(), "{at}.stages is empty");
        for (j, st) in stages.iter().enumerate() {
            let at = format!("{at}.stages[{j}]");
            for key in [
                "stage",
                "number_before",
                "number_after",
                "before",
                "after",
                "changes",
            ] {
                field(st, key, &at);
            }
            assert!(st["stage"].is_string());
            assert!(st["number_before"].is_null() || st["number_before"].is_u64());
            assert!(st["number_after"].is_null() || st["number_after"].is_u64());
            assert!(
                !(st["number_before"].is_null() && st["number_after"].is_null()),
                "{at}: in neither tree"
            );
            check_traffic(&st["before"], &format!("{at}.before"));
            check_traffic(&st["after"], &format!("{at}.after"));
            let changes = st["changes"].as_array().expect("changes is a list");
            assert!(changes.iter().all(Value::is_string));
        }
    }
    // Every changed file belongs to a reviewed migration.
    for p in paths {
        assert!(
            migrations
                .iter()
                .any(|m| p.starts_with(&format!("{}/", m["folder"].as_str().unwrap()))),
            "{p} is in no migration of the review"
        );
    }
}

/// Checks `--format stat` against the JSON files of the same change.
fn check_stat(stat: &str, json: &Value) {
    let files = json["files"].as_array().expect("files");
    if files.is_empty() {
        assert_eq!(stat, "", "no stat output without changes");
        return;
    }
    assert!(stat.ends_with('\n'));
    let lines: Vec<&str> = stat.lines().collect();
    let (total, rows) = lines.split_last().expect("a total line");
    assert_eq!(rows.len(), files.len(), "one stat line per file");
    let most = files
        .iter()
        .map(|f| f["insertions"].as_u64().unwrap() + f["deletions"].as_u64().unwrap())
        .max()
        .unwrap();
    let mut sum = 0;
    for (row, f) in rows.iter().zip(files) {
        let (path, rest) = row.split_once(" | ").unwrap_or_else(|| panic!("{row:?}"));
        assert_eq!(path.trim(), f["path"].as_str().unwrap(), "{row:?}");
        let rest = rest.trim_start();
        let (n, bar) = rest.split_once(' ').unwrap_or((rest, ""));
        let n: u64 = n.parse().unwrap_or_else(|_| panic!("count in {row:?}"));
        let (i, d) = (
            f["insertions"].as_u64().unwrap(),
            f["deletions"].as_u64().unwrap(),
        );
        assert_eq!(n, i + d, "{row:?}");
        let plus = bar.chars().filter(|c| *c == '+').count() as u64;
        let minus = bar.chars().filter(|c| *c == '-').count() as u64;
        assert_eq!(bar.len() as u64, plus + minus, "bar of {row:?}");
        assert!(bar.starts_with('+') || plus == 0, "+ before - in {row:?}");
        if most <= 50 {
            assert_eq!((plus, minus), (i, d), "bar of {row:?}");
        } else {
            assert_eq!((plus > 0, minus > 0), (i > 0, d > 0), "bar of {row:?}");
        }
        sum += n;
    }
    let s = &json["summary"];
    let (n, i, d) = (
        s["files"].as_u64().unwrap(),
        s["insertions"].as_u64().unwrap(),
        s["deletions"].as_u64().unwrap(),
    );
    assert_eq!(sum, i + d, "stat lines add up to the totals");
    let plural = |k: u64, one: &str, many: &str| {
        if k == 1 {
            one.to_owned()
        } else {
            many.to_owned()
        }
    };
    assert_eq!(
        *total,
        format!(
            " {n} {} changed, {i} {}(+), {d} {}(-)",
            plural(n, "file", "files"),
            plural(i, "insertion", "insertions"),
            plural(d, "deletion", "deletions")
        )
    );
}

/// Whether `s` escapes `%` (and, for properties, `:` and `,`) as GitHub wants.
fn escaped(s: &str, property: bool) -> bool {
    let allowed: &[&str] = if property {
        &["%25", "%0D", "%0A", "%3A", "%2C"]
    } else {
        &["%25", "%0D", "%0A"]
    };
    let percent_ok = s
        .match_indices('%')
        .all(|(i, _)| allowed.iter().any(|a| s[i..].starts_with(a)));
    percent_ok && !s.contains('\r') && (!property || !s.contains([':', ',']))
}

/// Checks GitHub workflow commands: `::<level> k=v,k=v::message` per line, escaped.
fn check_github(out: &str, level: &str) {
    assert!(out.is_empty() || out.ends_with('\n'));
    let prefix = format!("::{level} ");
    for line in out.lines() {
        let rest = line
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{line:?} does not start with {prefix:?}"));
        let (props, message) = rest
            .split_once("::")
            .unwrap_or_else(|| panic!("{line:?} has no message"));
        for prop in props.split(',') {
            let (key, value) = prop
                .split_once('=')
                .unwrap_or_else(|| panic!("property {prop:?} of {line:?}"));
            assert!(
                ["file", "line", "col", "endLine", "endColumn", "title"].contains(&key),
                "unknown property {key} in {line:?}"
            );
            assert!(escaped(value, true), "{key} not escaped in {line:?}");
            if ["line", "col"].contains(&key) {
                assert!(value.parse::<u32>().is_ok_and(|n| n > 0), "{line:?}");
            }
        }
        assert!(props.starts_with("file="), "{line:?} names no file");
        assert!(!message.is_empty(), "{line:?}");
        assert!(escaped(message, false), "message not escaped in {line:?}");
    }
}

/// Undoes GitHub's escaping.
fn unescape(s: &str) -> String {
    s.replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

/// The `file=` of each annotation, unescaped.
fn github_files(out: &str) -> Vec<String> {
    out.lines()
        .map(|l| {
            let props = l.split_once(' ').unwrap().1.split_once("::").unwrap().0;
            unescape(
                props
                    .split(',')
                    .next()
                    .unwrap()
                    .strip_prefix("file=")
                    .unwrap(),
            )
        })
        .collect()
}

/// The JSON, stat and github (base mode) properties of one case.
fn formats(case: &str) {
    let t = repo(case, false);
    let code = expected_code(case);
    let unified = t
        .args(["diff", "--base", "HEAD"])
        .status(code)
        .any_stdout()
        .run()
        .stdout
        .clone();
    let json = t
        .args(["diff", "--base", "HEAD", "--format", "json"])
        .status(code)
        .any_stdout()
        .run()
        .stdout
        .clone();
    let v = check_json(&json, &unified, Some("HEAD"));
    let stat = t
        .args(["diff", "--base", "HEAD", "--format", "stat"])
        .status(code)
        .any_stdout()
        .run()
        .stdout
        .clone();
    check_stat(&stat, &v);
    let gh = t
        .args(["diff", "--base", "HEAD", "--format", "github"])
        .status(code)
        .any_stdout()
        .run()
        .stdout
        .clone();
    check_github(&gh, "notice");
    assert_eq!(github_files(&gh), unified_paths(&unified));
    let md = t
        .args(["diff", "--base", "HEAD", "--format", "markdown"])
        .status(code)
        .any_stdout()
        .run()
        .stdout
        .clone();
    check_markdown(&md, &unified);
    if code == 0 {
        assert_eq!(unified, "");
        assert_eq!(gh, "");
    }
}

macro_rules! cases {
    ($($name:ident => $case:literal,)*) => {
        mod snapshot {
            $(#[test] fn $name() { super::snapshots($case) })*
        }
        mod formats {
            $(#[test] fn $name() { super::formats($case) })*
        }
        /// Every case is listed here, and every listed case exists.
        #[test]
        fn every_fixture_case_is_tested() {
            let listed = [$($case),*];
            let mut on_disk: Vec<String> = fs::read_dir(review_dir())
                .expect("read fixtures/review")
                .map(|e| e.expect("entry").path())
                .filter(|p| p.is_dir())
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect();
            on_disk.sort();
            let mut listed: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
            listed.sort();
            assert_eq!(on_disk, listed);
        }
    };
}

cases! {
    weight_change => "weight-change",
    stage_added => "stage-added",
    stage_removed => "stage-removed",
    new_migration => "new-migration",
    plan_deleted => "plan-deleted",
    no_change => "no-change",
    mirror_change => "mirror-change",
    hosts_change => "hosts-change",
    env_promoted => "env-promoted",
    base_weight_change => "base-weight-change",
}

/// `git apply` of the unified diff, for every case with a change.
mod apply {
    #[test]
    fn weight_change() {
        super::applies("weight-change")
    }
    #[test]
    fn stage_added() {
        super::applies("stage-added")
    }
    #[test]
    fn stage_removed() {
        super::applies("stage-removed")
    }
    #[test]
    fn new_migration() {
        super::applies("new-migration")
    }
    #[test]
    fn plan_deleted() {
        super::applies("plan-deleted")
    }
    #[test]
    fn mirror_change() {
        super::applies("mirror-change")
    }
    #[test]
    fn hosts_change() {
        super::applies("hosts-change")
    }
    #[test]
    fn env_promoted() {
        super::applies("env-promoted")
    }
    #[test]
    fn base_weight_change() {
        super::applies("base-weight-change")
    }
}

// ---------------------------------------------------------------- markdown

/// What [`check_markdown`] found.
struct Markdown {
    /// The contents of every fenced block, in order.
    blocks: Vec<String>,
    /// The length of every block's opening fence.
    fences: Vec<usize>,
    /// Migration summary tables shown.
    tables: usize,
    /// The contents of every mermaid chart, in order (each right after its table).
    charts: Vec<String>,
}

/// The opening fence of `line` (its backtick count), if it is one.
fn opening_fence(line: &str) -> Option<usize> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let rest = &line[indent..];
    let n = rest.len() - rest.trim_start_matches('`').len();
    (indent <= 3 && n >= 3 && !rest[n..].contains('`')).then_some(n)
}

/// Whether `line` closes a fence of `n` backticks (CommonMark: up to three spaces of
/// indentation, at least `n` backticks, then only spaces or tabs).
fn closes_fence(line: &str, n: usize) -> bool {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let rest = &line[indent..];
    let ticks = rest.len() - rest.trim_start_matches('`').len();
    indent <= 3 && ticks >= n && rest[ticks..].trim_matches([' ', '\t']).is_empty()
}

/// Unescaped `|` in a table row.
fn cells(row: &str) -> usize {
    let mut n = 0;
    let mut escaped = false;
    for c in row.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => n += 1,
            _ => escaped = false,
        }
        if c != '\\' {
            escaped = false;
        }
    }
    n
}

/// Checks a markdown report against the unified diff of the same change: within the
/// comment limit, the marker first, `<details>` balanced, every fence closed, every
/// fenced block one whole file diff (left out from the end only), tables with rows as
/// wide as their header, and a closing note that counts exactly what was left out.
fn check_markdown(md: &str, unified: &str) -> Markdown {
    // The revision compared with, as the report names it (`--base` reports only).
    let base: Option<String> = md
        .split_once("Compared with <code>")
        .or_else(|| md.split_once("the same manifests as at <code>"))
        .and_then(|(_, rest)| rest.split_once("</code>"))
        .map(|(rev, _)| rev.replace("&amp;", "&"));
    let size = md.chars().count();
    assert!(size <= LIMIT, "markdown is {size} characters, over {LIMIT}");
    assert!(
        md.starts_with(&format!("{MARKER}\n")),
        "starts with the marker"
    );
    assert!(md.ends_with('\n'));
    let diffs = file_diffs(unified);
    let paths = unified_paths(unified);

    let (found, summaries) = scan_markdown(md);

    // Whole file diffs, in order, left out from the end only.
    let shown = found.blocks.len();
    assert!(shown <= diffs.len());
    for (i, b) in found.blocks.iter().enumerate() {
        assert!(
            *b == diffs[i],
            "block {i} is not the whole diff of {}",
            paths[i]
        );
        assert_eq!(
            summaries[i].replace("&amp;", "&"),
            paths[i],
            "summary of block {i}"
        );
    }

    if unified.is_empty() {
        assert_eq!(
            md,
            format!(
                "{MARKER}\n### cutover: no changes\n\n{}\n",
                match &base {
                    Some(b) =>
                        format!("The plans render the same manifests as at <code>{b}</code>."),
                    None => "The generated manifests match the plans.".to_owned(),
                }
            )
        );
        return found;
    }
    let heading = md.lines().nth(1).expect("a heading");
    let words: Vec<&str> = heading.split(' ').collect();
    assert_eq!(words[..2], ["###", "cutover:"], "{heading:?}");
    let files: usize = words[2].parse().expect("file count");
    let migrations: usize = words[5].parse().expect("migration count");
    assert_eq!(files, diffs.len(), "{heading:?}");
    assert!(found.tables <= migrations);

    for c in &found.charts {
        check_chart(c);
    }
    let last = md.lines().last().expect("a last line");
    if shown == diffs.len() && found.tables == migrations && found.charts.len() == migrations {
        assert!(
            !md.contains("Left out"),
            "a note though nothing was left out"
        );
        return found;
    }
    // Every migration of these tests has a chart.
    let note = left_out_note(
        &diffs[shown..],
        migrations - found.tables,
        found.tables - found.charts.len(),
        base.as_deref(),
    );
    assert_eq!(last, note, "the closing note");
    found
}

/// The fenced blocks, fences and tables of a markdown report, and the `<summary>` of each
/// block; checks fences, `<details>` nesting and table widths on the way.
fn scan_markdown(md: &str) -> (Markdown, Vec<String>) {
    let mut found = Markdown {
        blocks: Vec::new(),
        fences: Vec::new(),
        tables: 0,
        charts: Vec::new(),
    };
    let mut fence: Option<usize> = None;
    let mut chart = false;
    let mut block = String::new();
    let mut depth = 0i32;
    let mut summaries: Vec<String> = Vec::new();
    let mut header_cells: Option<usize> = None;
    for line in md.lines() {
        if let Some(n) = fence {
            if closes_fence(line, n) {
                assert_eq!(line, "`".repeat(n), "closing fence as long as the opening");
                if std::mem::take(&mut chart) {
                    found.charts.push(std::mem::take(&mut block));
                } else {
                    found.blocks.push(std::mem::take(&mut block));
                }
                fence = None;
            } else {
                block.push_str(line);
                block.push('\n');
            }
            continue;
        }
        if let Some(n) = opening_fence(line).filter(|_| line == "```mermaid") {
            assert_eq!(depth, 0, "a chart inside <details>");
            assert_eq!(
                found.charts.len() + 1,
                found.tables,
                "one chart after each table, from the first"
            );
            assert!(found.blocks.is_empty(), "a chart after a file diff");
            chart = true;
            fence = Some(n);
            continue;
        }
        if let Some(n) = opening_fence(line) {
            assert_eq!(depth, 1, "a fence outside <details>: {line:?}");
            assert_eq!(&line[n..], "diff", "fences are diff blocks: {line:?}");
            fence = Some(n);
            found.fences.push(n);
            continue;
        }
        match line {
            "<details>" => depth += 1,
            "</details>" => depth -= 1,
            _ => {}
        }
        assert!((0..=1).contains(&depth), "unbalanced <details> at {line:?}");
        if let Some(s) = line.strip_prefix("<summary><code>") {
            summaries.push(s.split("</code>").next().expect("</code>").to_owned());
        }
        if line.starts_with("#### ") {
            found.tables += 1;
        }
        if line.starts_with('|') {
            let n = cells(line);
            match header_cells {
                None => header_cells = Some(n),
                Some(h) => assert_eq!(n, h, "table row {line:?} has {n} cells, header {h}"),
            }
        } else {
            header_cells = None;
        }
    }
    assert_eq!(fence, None, "the report ends inside a code fence");
    assert_eq!(depth, 0, "<details> not closed");
    let opened = md.lines().filter(|l| *l == "<details>").count();
    assert_eq!(opened, md.lines().filter(|l| *l == "</details>").count());
    assert_eq!(found.blocks.len(), opened, "one fenced diff per <details>");

    (found, summaries)
}

/// The closing note of a report that left out `tables_left` summary tables, the charts
/// of `charts_left` migrations and the diffs `left_out`.
fn left_out_note(
    left_out: &[String],
    tables_left: usize,
    charts_left: usize,
    base: Option<&str>,
) -> String {
    let mut note = "**Left out to stay within GitHub's comment size limit:**".to_owned();
    if tables_left > 0 {
        note.push_str(&format!(
            " the summary of {tables_left} migration{};",
            if tables_left == 1 { "" } else { "s" }
        ));
    }
    if charts_left > 0 {
        note.push_str(&format!(
            " the chart of {charts_left} migration{};",
            if charts_left == 1 { "" } else { "s" }
        ));
    }
    let left = left_out.len();
    if left > 0 {
        let (i, d) = left_out
            .iter()
            .map(|d| count_lines(d))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        note.push_str(&format!(
            " the diff of {left} file{} (+{i} −{d});",
            if left == 1 { "" } else { "s" }
        ));
    }
    note.pop();
    note.push_str(&match base {
        Some(b) => format!(". Run <code>cutover diff --base {b}</code> to see everything."),
        None => ". Run <code>cutover diff</code> to see everything.".to_owned(),
    });
    note
}

/// The items of a mermaid list `[a, b, ...]`: quoted strings stay quoted; a comma
/// inside quotes does not split.
fn mermaid_list(list: &str) -> Vec<String> {
    let inner = list
        .strip_prefix('[')
        .and_then(|l| l.strip_suffix(']'))
        .unwrap_or_else(|| panic!("not a list: {list:?}"));
    let mut items = vec![String::new()];
    let mut quoted = false;
    for c in inner.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                items.push(String::new());
                continue;
            }
            _ => {}
        }
        items.last_mut().expect("an item").push(c);
    }
    assert!(!quoted, "an unterminated string in {list:?}");
    items.iter().map(|i| i.trim().to_owned()).collect()
}

/// Checks a chart against mermaid's xychart grammar (the part the report uses): the
/// `xychart-beta` keyword, a quoted title, a band x-axis of quoted labels (no quote
/// inside, mermaid has no escape for one), the y-axis range 0 to 100, and bar and line
/// series of numbers from 0 to 100 as long as the x-axis. CI also parses every chart
/// of the snapshots with mermaid itself (`.ci/mermaid-test.mjs`).
fn check_chart(chart: &str) {
    let lines: Vec<&str> = chart.lines().collect();
    assert_eq!(lines[0], "xychart-beta", "{chart}");
    let title = lines[1].strip_prefix("    title ").expect("a title");
    assert!(
        title.len() >= 2
            && title.starts_with('"')
            && title.ends_with('"')
            && !title[1..title.len() - 1].contains('"'),
        "{title}"
    );
    let labels = mermaid_list(lines[2].strip_prefix("    x-axis ").expect("an x-axis"));
    for l in &labels {
        assert!(
            l.len() >= 2 && l.starts_with('"') && l.ends_with('"') && l.matches('"').count() == 2,
            "label {l:?} is one quoted string"
        );
    }
    assert_eq!(lines[3], "    y-axis \"% to GCPBackend\" 0 --> 100");
    let series: Vec<&str> = lines[4..].to_vec();
    assert!(
        (1..=2).contains(&series.len()),
        "one or two series: {chart}"
    );
    for s in series {
        let (kind, list) = s.trim_start().split_once(' ').expect("a series");
        assert!(kind == "bar" || kind == "line", "{s}");
        let values = mermaid_list(list);
        assert_eq!(values.len(), labels.len(), "{kind} as long as the x-axis");
        for v in values {
            let v: i64 = v.parse().unwrap_or_else(|_| panic!("{v:?} is a number"));
            assert!((0..=100).contains(&v), "{v}");
        }
    }
}

/// A plan of `n` migrations of four stages; the second sends `w`% to `to`.
fn many_migrations(n: usize, w: u32) -> String {
    let mut plan = format!(
        "version: 1\noutput: deploy\ndefaults:\n  namespace: payments\n  \
         stages: [{{mirror: 100}}, {{weight: {w}}}, {{weight: 50}}, {{weight: 100}}]\nmigrations:\n"
    );
    for i in 0..n {
        plan.push_str(&format!(
            "  - name: service-{i:03}\n    from: service-{i:03}-se.example.com\n    \
             to: service-{i:03}-gcp.example.com\n"
        ));
    }
    plan
}

/// A repository with `before` committed and `after` in the work tree, as `cutover.yaml`.
fn plan_change(before: &str, after: &str) -> Test {
    let t = isolated(Test::new().git_init()).file("cutover.yaml", before);
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "before"]);
    t.write("cutover.yaml", after);
    t
}

#[test]
fn markdown_of_a_huge_change_stays_within_the_comment_limit() {
    let t = plan_change(&many_migrations(300, 10), &many_migrations(300, 20));
    let unified = t
        .args(["diff", "--base", "HEAD"])
        .status(1)
        .any_stdout()
        .run()
        .stdout
        .clone();
    assert!(
        unified.chars().count() > 10 * LIMIT,
        "the diff is far over the limit"
    );
    let out = t
        .args(["diff", "--base", "HEAD", "--format", "markdown"])
        .status(1)
        .any_stdout()
        .run();
    let md = check_markdown(&out.stdout, &unified);
    assert!(md.tables > 0, "some summary tables are shown");
    assert!(md.tables < 300, "not all 300 tables fit");
    assert!(
        out.stdout.contains("the summary of"),
        "the note names the tables left out"
    );
}

#[test]
fn markdown_leaves_out_whole_file_diffs_from_the_end() {
    // 60 migrations: every summary table fits, the 240 file diffs do not.
    let t = plan_change(&many_migrations(60, 10), &many_migrations(60, 20));
    let unified = t
        .args(["diff", "--base", "HEAD"])
        .status(1)
        .any_stdout()
        .run()
        .stdout
        .clone();
    assert!(unified.chars().count() > LIMIT);
    let out = t
        .args(["diff", "--base", "HEAD", "--format", "markdown"])
        .status(1)
        .any_stdout()
        .run();
    let md = check_markdown(&out.stdout, &unified);
    assert_eq!(md.tables, 60, "every summary table is shown");
    assert!(!md.blocks.is_empty(), "some file diffs are shown");
    assert!(md.blocks.len() < 240);
    assert!(!out.stdout.contains("the summary of"));
    // The budget is used: the next file's block would not have fitted.
    assert!(
        out.stdout.chars().count() > LIMIT - 5_000,
        "the report uses its room"
    );
}

const SMALL: &str = "\
version: 1
output: deploy
migrations:
  - name: checkout
    namespace: payments
    from: checkout-se.example.com
    to: checkout-gcp.example.com
    stages: [{weight: 10}, {weight: 100}]
";

const VS_10: &str = "deploy/checkout/stages/01-weight-10/virtualservice.yaml";

#[test]
fn markdown_fences_survive_backticks_in_a_hand_edited_file() {
    let t = Test::new().git_folder().file("cutover.yaml", SMALL);
    t.args(["render"])
        .stdout("checkout: 4 written, 0 unchanged, 0 removed (cutover.yaml)\n")
        .run();
    let mut lines: Vec<String> = t.read(VS_10).lines().map(str::to_owned).collect();
    lines.insert(5, "```".to_owned());
    lines.insert(6, "  ````yaml".to_owned());
    lines.push("```".to_owned());
    t.write(VS_10, lines.join("\n") + "\n");
    let unified = t.args(["diff"]).status(1).any_stdout().run().stdout.clone();
    assert!(unified.contains("\n-```\n"), "{unified}");
    let out = t
        .args(["diff", "--format", "markdown"])
        .status(1)
        .any_stdout()
        .run();
    let md = check_markdown(&out.stdout, &unified);
    assert_eq!(md.blocks.len(), 1);
    // CommonMark: no line of the block can close its fence.
    assert!(!md.blocks[0].lines().any(|l| closes_fence(l, md.fences[0])));
}

/// A context line of the diff can close a fence (one space of diff prefix, then
/// backticks): the only way to get one is a template override, since plan values
/// cannot put backticks into the generated files.
#[test]
fn markdown_fence_outgrows_backticks_on_context_lines() {
    let t = repo("mirror-change", false);
    let template = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/virtualservice.yaml.j2"),
    )
    .expect("built-in template");
    t.write(
        "tpl/virtualservice.yaml.j2",
        format!("{template}x-notes: |\n ```\n"),
    );
    let unified = t
        .args(["--templates", "tpl", "diff", "--base", "HEAD"])
        .status(1)
        .any_stdout()
        .run()
        .stdout
        .clone();
    assert!(
        unified.ends_with("\n  ```\n"),
        "a context line of backticks: {unified}"
    );
    let out = t
        .args([
            "--templates",
            "tpl",
            "diff",
            "--base",
            "HEAD",
            "--format",
            "markdown",
        ])
        .status(1)
        .any_stdout()
        .run();
    let md = check_markdown(&out.stdout, &unified);
    assert_eq!(md.fences, [4], "{}", out.stdout);
}

// ---------------------------------------------------------------- --base errors

#[test]
fn base_outside_a_git_repository_is_an_error() {
    let t = Test::new().file("cutover.yaml", SMALL);
    let ceiling = t
        .path()
        .parent()
        .expect("parent")
        .to_string_lossy()
        .into_owned();
    isolated(t)
        .env("GIT_CEILING_DIRECTORIES", &ceiling)
        .args(["diff", "--base", "HEAD"])
        .status(2)
        .stderr_contains("is not inside a git work tree; --base needs one")
        .run();
}

#[test]
fn base_unknown_revision_is_an_error_naming_it() {
    let t = plan_change(SMALL, SMALL);
    t.args(["diff", "--base", "no-such-branch"])
        .status(2)
        .stderr_contains("unknown revision `no-such-branch`")
        .run();
    // A revision that looks like an option is refused, not passed to git.
    t.args(["diff", "--base=--output=x"])
        .status(2)
        .stderr_contains("is not a revision")
        .run();
    assert!(!t.exists("x"));
}

#[test]
fn base_in_a_repository_without_commits_names_the_revision() {
    isolated(Test::new().git_init())
        .file("cutover.yaml", SMALL)
        .args(["diff", "--base", "HEAD"])
        .status(2)
        .stderr_contains("unknown revision `HEAD`")
        .run();
}

#[test]
fn base_plan_invalid_at_the_revision_is_named_rev_colon_path() {
    let bad = SMALL.replace("{weight: 10}", "{wieght: 10}");
    let t = isolated(Test::new().git_init()).file("apps/pay/cutover.yaml", &bad);
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "bad"]);
    let t = t.file("apps/pay/cutover.yaml", SMALL);
    t.args(["diff", "--base", "HEAD"])
        .status(2)
        .stderr_contains("HEAD:apps/pay/cutover.yaml")
        .stderr_contains("unknown field `wieght`")
        .stderr_contains("error: 1 error in plan files")
        .run();
    // With --format github the errors are also annotations on stdout.
    let out = t.args(["diff", "--base", "HEAD", "--format", "github"])
        .status(2)
        .any_stdout()
        .stderr("error: migrations[0].stages[0].wieght: unknown field `wieght`\n --> HEAD:apps/pay/cutover.yaml:8:15\n  |\n8 |     stages: [{wieght: 10}, {weight: 100}]\n  |               ^^^^^^\n  = help: did you mean `weight`?\n\nerror: 1 error in plan files\n")
        .run();
    check_github(&out.stdout, "error");
    assert!(
        out.stdout
            .starts_with("::error file=HEAD%3Aapps/pay/cutover.yaml,line="),
        "{}",
        out.stdout
    );
}

#[test]
fn base_with_a_plan_argument_deleted_since_the_revision_shows_its_removal() {
    let t = repo("plan-deleted", false);
    assert!(!t.exists("apps/payments/cutover.yaml"));
    let out = t
        .args(["diff", "--base", "HEAD", "apps/payments/cutover.yaml"])
        .status(1)
        .any_stdout()
        .run();
    let paths = unified_paths(&out.stdout);
    assert_eq!(paths.len(), 8, "4 stages, 2 files each: {paths:?}");
    assert_eq!(out.stdout.matches("deleted file mode 100644\n").count(), 8);
    assert!(!out.stdout.contains("new file mode"));
    // The same through its folder, and a path that never existed is an error.
    t.args(["diff", "--base", "HEAD", "apps/payments"])
        .status(1)
        .stdout(&out.stdout)
        .run();
    t.args(["diff", "--base", "HEAD", "apps/nothing.cutover.yaml"])
        .status(2)
        .stderr_contains("exists neither in the work tree nor at HEAD")
        .run();
}

// ---------------------------------------------------------------- github

#[test]
fn github_escapes_percent_colon_and_comma_in_properties() {
    let plan = |w: u32| {
        SMALL
            .replace("output: deploy", "output: \"out,v1:50%\"")
            .replace("{weight: 10}", &format!("{{weight: {w}}}"))
    };
    let t = isolated(Test::new().git_init()).file("cutover.yaml", plan(10));
    t.args(["render"])
        .stdout("checkout: 4 written, 0 unchanged, 0 removed (cutover.yaml)\n")
        .run();
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "before"]);
    t.write("cutover.yaml", plan(20));
    for (args, level) in [
        (vec!["diff", "--format", "github"], "error"),
        (
            vec!["diff", "--format", "github", "--base", "HEAD"],
            "notice",
        ),
    ] {
        let out = t.args(args).status(1).any_stdout().run();
        check_github(&out.stdout, level);
        assert!(
            out.stdout
                .contains("file=out%2Cv1%3A50%25/checkout/stages/"),
            "{}",
            out.stdout
        );
        assert!(
            github_files(&out.stdout)
                .iter()
                .all(|f| f.starts_with("out,v1:50%/checkout/stages/")),
            "{}",
            out.stdout
        );
        // Percentages in messages are escaped too.
        assert!(out.stdout.contains("10%25 → 20%25"), "{}", out.stdout);
    }
}

#[test]
fn github_reports_plan_errors_as_annotations_with_line_and_column() {
    let bad = SMALL
        .replace("{weight: 10}", "{wieght: 10}")
        .replace("{weight: 100}", "{weight: 150}");
    let t = Test::new().git_folder().file("cutover.yaml", bad);
    let out = t
        .args(["diff", "--format", "github"])
        .status(2)
        .stderr_contains("error: 2 errors in plan files")
        .any_stdout()
        .run();
    check_github(&out.stdout, "error");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert!(
        lines[0].starts_with("::error file=cutover.yaml,line=8,col="),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(",title=cutover plan%3A migrations[0].stages[0].wieght::"));
    // The hint follows the message on an escaped newline.
    assert!(lines[0].contains("%0A"), "{}", lines[0]);
    assert!(lines[1].starts_with("::error file=cutover.yaml,line=8,col="));
    // Other formats print nothing on stdout for plan errors.
    t.args(["diff", "--format", "json"])
        .status(2)
        .stderr_contains("error: migrations[0].stages[0].wieght: unknown field `wieght`")
        .run();
}

// ---------------------------------------------------------------- stat and json line counts

/// Defect (issue 12): `diff --format stat|json` skipped every changed line starting with
/// `---` or `+++`, taking it for a file header. A hand-edited generated file with a YAML
/// document start (`---`) added: the diff removes that line (`----`), one deletion.
#[test]
fn stat_and_json_count_a_removed_document_start_line() {
    let t = Test::new().git_folder().file("cutover.yaml", SMALL);
    t.args(["render", "-q"]).run();
    let text = t.read(VS_10);
    let (header, body) = text.split_at(text.find("apiVersion:").expect("apiVersion line"));
    t.write(VS_10, format!("{header}---\n{body}"));
    let unified = t
        .args(["diff"])
        .status(1)
        .stdout_contains("\n----\n")
        .run()
        .stdout;
    let json = t
        .args(["diff", "--format", "json"])
        .status(1)
        .any_stdout()
        .run()
        .stdout;
    let v = check_json(&json, &unified, None);
    assert_eq!(v["summary"]["deletions"], 1, "{json}");
    let stat = t
        .args(["diff", "--format", "stat"])
        .status(1)
        .stdout_contains(" 1 file changed, 0 insertions(+), 1 deletion(-)\n")
        .run()
        .stdout;
    check_stat(&stat, &v);
}

/// Defect (issue 12), the other side: an added line whose contents start with `++` (here
/// from a template override) shows as `+++...` in the diff and is one insertion.
#[test]
fn stat_and_json_count_an_added_line_starting_with_plus_plus() {
    let template = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/virtualservice.yaml.j2"),
    )
    .expect("built-in template");
    let t = Test::new()
        .git_folder()
        .file("cutover.yaml", SMALL)
        .file("tpl/virtualservice.yaml.j2", format!("{template}++x: 1\n"));
    let plain = t
        .args(["diff", "--format", "json"])
        .status(1)
        .any_stdout()
        .run()
        .stdout;
    let plain: Value = serde_json::from_str(&plain).expect("JSON");
    let unified = t
        .args(["--templates", "tpl", "diff"])
        .status(1)
        .stdout_contains("\n+++x: 1\n")
        .run()
        .stdout;
    let json = t
        .args(["--templates", "tpl", "diff", "--format", "json"])
        .status(1)
        .any_stdout()
        .run()
        .stdout;
    let v = check_json(&json, &unified, None);
    // One more line in each of the two VirtualService files.
    assert_eq!(
        v["summary"]["insertions"].as_u64(),
        plain["summary"]["insertions"].as_u64().map(|n| n + 2),
        "{json}"
    );
    let stat = t
        .args(["--templates", "tpl", "diff", "--format", "stat"])
        .status(1)
        .any_stdout()
        .run()
        .stdout;
    check_stat(&stat, &v);
}
