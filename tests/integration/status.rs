//! `cutover status` over a repository of several plans: every `--format` as an insta
//! snapshot (`fixtures/status/<case>/expected/<format>.snap`), the JSON document read
//! back against the fields the README documents, and the markdown tables checked to
//! have as many cells in every row.
//!
//! A case's `input/` holds plan files stored as `*.in` (so that discovery at the
//! repository root does not take them for plans, see `fixtures/README.md`). The history
//! is made here, with fixed commit dates so that no output depends on the clock: every
//! plan committed in 2001 (holds long passed), one promotion committed in 2100 (its
//! whole hold is left, whatever the clock says before then), one left uncommitted.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::test::Test;

/// `--format` values, each the name of a snapshot in `expected/`.
const FORMATS: [&str; 3] = ["text", "markdown", "json"];

/// A commit date long ago, and one far ahead (2001-01-01, 2100-01-01, UTC).
const PAST: &str = "@978307200 +0000";
const FUTURE: &str = "@4102444800 +0000";

fn case_dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/status")
        .join(case)
}

/// Copies the `*.in` files under `dir` into the test folder (same relative paths, `.in`
/// stripped).
fn put_plans(t: &Test, dir: &Path, rel: &Path) {
    let mut entries: Vec<_> = fs::read_dir(dir.join(rel))
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let sub = rel.join(&name);
        if path.is_dir() {
            put_plans(t, dir, &sub);
        } else {
            let target = sub.to_string_lossy().replace('\\', "/");
            let target = target
                .strip_suffix(".in")
                .unwrap_or_else(|| panic!("{}: fixture plans must be named *.in", path.display()));
            t.write(target, fs::read(&path).expect("read fixture"));
        }
    }
}

/// `git add -A` and a commit dated `date`, in a git that reads no user configuration.
fn commit_at(t: &Test, date: &str, message: &str) {
    for args in [&["add", "-A"][..], &["commit", "-q", "-m", message]] {
        let out = Command::new("git")
            .current_dir(t.path())
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_DATE", date)
            .env("GIT_COMMITTER_DATE", date)
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The fleet repository: the plans of `fixtures/status/fleet` committed in 2001;
/// payments' `staging` (shared by checkout and ledger) promoted to its last stage in a
/// commit of 2100; orders' `staging` promoted and not committed.
fn fleet() -> Test {
    let t = Test::new()
        .git_init()
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    put_plans(&t, &case_dir("fleet").join("input"), Path::new(""));
    commit_at(&t, PAST, "plans");
    t.args(["promote", "apps/payments/cutover.yaml", "--env", "staging"])
        .stdout_contains("checkout: staging promoted from half to weight-100")
        .stdout_contains("ledger: staging promoted from half to weight-100")
        .run();
    commit_at(&t, FUTURE, "promote staging");
    t.args([
        "promote",
        "apps/orders/orders.cutover.yaml",
        "--env",
        "staging",
    ])
    .stdout_contains("orders: staging promoted from header-x-canary to weight-25")
    .run();
    t
}

#[test]
fn every_format_matches_its_snapshot() {
    let t = fleet();
    let dir = case_dir("fleet");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir.join("expected"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_input_file(dir.join("input"));
    settings.bind(|| {
        for format in FORMATS {
            insta_cmd::assert_cmd_snapshot!(
                format,
                t.args(["status", "--format", format]).command()
            );
        }
    });
}

#[test]
fn text_is_the_default_format() {
    let t = fleet();
    let text = t
        .args(["status", "--format", "text"])
        .any_stdout()
        .run()
        .stdout;
    t.args(["status"]).stdout(text).run();
}

/// The keys of `v`, and of every object inside it, as paths (`rows.next.action`); array
/// items share their array's path.
fn key_paths(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, item) in map {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                out.push(path.clone());
                key_paths(item, &path, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                key_paths(item, at, out);
            }
        }
        _ => {}
    }
}

/// The example document of `status --format json` in the README.
fn readme_example() -> Value {
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("read README.md");
    let start = readme
        .find("<!-- status-json -->")
        .expect("the README marks the status JSON example");
    let rest = &readme[start..];
    let body = rest
        .find("```json\n")
        .map(|i| &rest[i + 8..])
        .expect("a json block");
    let body = &body[..body.find("```").expect("the block ends")];
    serde_json::from_str(body).expect("the README example is JSON")
}

#[test]
fn json_has_the_fields_the_readme_documents() {
    let t = fleet();
    let out = t.args(["status", "--format", "json"]).any_stdout().run();
    let doc: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let example = readme_example();
    let paths = |v: &Value| {
        let mut p = Vec::new();
        key_paths(v, "", &mut p);
        p.sort();
        p.dedup();
        p
    };
    assert_eq!(
        paths(&doc),
        paths(&example),
        "README example and output differ in keys"
    );
    assert_eq!(doc["schema"], 1);

    // The figures agree with the rows.
    let rows = doc["rows"].as_array().expect("rows");
    let with_env: Vec<&Value> = rows
        .iter()
        .filter(|r| !r["environment"].is_null())
        .collect();
    let total = &doc["summary"]["total"];
    assert_eq!(total["rollouts"], with_env.len());
    let full = with_env.iter().filter(|r| r["fully_on_to"] == true).count();
    assert_eq!(total["fully_on_to"], full);
    for e in doc["summary"]["environments"]
        .as_array()
        .expect("environments")
    {
        let of_env: Vec<&&Value> = with_env
            .iter()
            .filter(|r| r["environment"] == e["environment"])
            .collect();
        assert_eq!(e["services"], of_env.len());
        assert_eq!(
            e["fully_on_to"],
            of_env.iter().filter(|r| r["fully_on_to"] == true).count()
        );
    }
    assert_eq!(doc["summary"]["plans"], 3);
    assert_eq!(doc["summary"]["services"], 5);
    assert_eq!(doc["summary"]["without_environments"], 1);

    // Sorted by plan, migration, environment (a migration without any first: none).
    let keys: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
            (s(&r["plan"]), s(&r["migration"]), s(&r["environment"]))
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);

    // Each row's facts hang together.
    for r in rows {
        let next = &r["next"];
        match next["action"].as_str() {
            Some("promote") => {
                assert!(next["command"]
                    .as_str()
                    .expect("command")
                    .starts_with("cutover promote "));
                assert!(next["stage"].is_string());
                assert!(r["hold_left"] == 0 || r["hold"].is_null(), "{r}");
            }
            Some("wait") => {
                assert_eq!(next["wait"], r["hold_left"], "{r}");
                assert!(r["hold_left"].as_u64().expect("hold left") > 0);
            }
            Some("edit") => assert!(next["field"].is_string(), "{r}"),
            Some("done") => assert_eq!(r["stage"]["number"], r["stage"]["of"], "{r}"),
            Some("unknown") => assert_ne!(r["history"], "committed", "{r}"),
            None => assert!(r["environment"].is_null() && next.is_null(), "{r}"),
            Some(other) => panic!("unknown action {other}"),
        }
        if let Some(to) = r["to"].as_u64() {
            assert_eq!(r["fully_on_to"], to == 100, "{r}");
        }
    }
    // The clock plays no part: the commit of 2100 leaves the whole hold.
    let staging = rows
        .iter()
        .find(|r| r["migration"] == "checkout" && r["environment"] == "staging")
        .expect("checkout staging");
    assert_eq!(staging["since"], 4_102_444_800u64);
    assert_eq!(staging["hold_left"], 86_400);
}

/// The cells of a markdown table row: split at `|` not escaped by a backslash.
fn table_cells(line: &str) -> Vec<String> {
    let inner = line
        .strip_prefix('|')
        .and_then(|l| l.strip_suffix('|'))
        .unwrap_or_else(|| panic!("not a table row: {line}"));
    let mut cells = vec![String::new()];
    let mut escaped = false;
    for c in inner.chars() {
        if c == '|' && !escaped {
            cells.push(String::new());
        } else {
            cells.last_mut().expect("a cell").push(c);
        }
        escaped = c == '\\' && !escaped;
    }
    cells
}

#[test]
fn markdown_is_valid_tables() {
    let t = fleet();
    let md = t
        .args(["status", "--format", "markdown"])
        .any_stdout()
        .run()
        .stdout;
    let mut tables: Vec<Vec<&str>> = Vec::new();
    let mut in_table = false;
    for line in md.lines() {
        if line.starts_with('|') {
            if !in_table {
                tables.push(Vec::new());
            }
            tables.last_mut().expect("a table").push(line);
        }
        in_table = line.starts_with('|');
    }
    assert_eq!(tables.len(), 2, "{md}");
    for table in &tables {
        let columns = table_cells(table[0]).len();
        for line in table {
            assert_eq!(table_cells(line).len(), columns, "{line}\n{md}");
        }
        // The delimiter row: one `---` (aligned or not) per column.
        assert!(
            table_cells(table[1]).iter().all(|c| c
                .trim()
                .trim_start_matches(':')
                .trim_end_matches(':')
                == "---"),
            "{}",
            table[1]
        );
    }
    // One row per migration and environment, under the header and the delimiter.
    let json: Value = serde_json::from_str(
        &t.args(["status", "--format", "json"])
            .any_stdout()
            .run()
            .stdout,
    )
    .expect("JSON");
    assert_eq!(
        tables[0].len() - 2,
        json["rows"].as_array().expect("rows").len()
    );
    // The note's `|` and `*` are escaped, not markup.
    assert!(
        md.contains("watch 5xx \\| p99 on the \\*ServiceEntry\\* host"),
        "{md}"
    );
}

#[test]
fn plans_named_or_under_the_current_folder() {
    let t = fleet();
    // From a subfolder: its plans only, named from there.
    let out = t
        .args(["status", "--format", "json"])
        .current_dir("apps")
        .any_stdout()
        .run();
    let doc: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let plans: Vec<&str> = doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["plan"].as_str().expect("plan"))
        .collect();
    assert!(plans.contains(&"payments/cutover.yaml"), "{plans:?}");
    assert!(plans.contains(&"orders/orders.cutover.yaml"), "{plans:?}");
    assert_eq!(doc["summary"]["plans"], 2);
    // Named: that plan only; the command names it as given.
    t.args(["status", "legacy/cutover.yaml"])
        .stdout(
            "\
legacy/cutover.yaml
  migration  namespace  env  stage  to  hold left  next
  billing    finance    -    -      -   -          -

1 service in 1 plan; no migration has environments
",
        )
        .run();
}

#[test]
fn an_unknown_format_is_a_usage_error() {
    let t = fleet();
    t.args(["status", "--format", "yaml"])
        .status(2)
        .stderr_contains("invalid value 'yaml' for '--format <FORMAT>'")
        .stderr_contains("[possible values: text, markdown, json]")
        .run();
}
