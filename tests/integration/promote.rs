//! `cutover promote`, `cutover rollback` and `cutover status`: the plan is edited in
//! place (only the bytes of one environment's stage name change), refusals leave the
//! plan and the tree untouched, holds are measured from git history.
//!
//! Every test runs the binary in its own temporary folder (see `support`); tests that
//! need git history make that folder a real repository and commit with dates in the past.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::test::{assert_unchanged, Test};

/// Four stages; `weight-10` holds for 24h, `half` for 2d.
const STAGES: &str = "[{mirror: 100}, {weight: 10}, {name: half, weight: 50}, {weight: 100}]";

/// A plan with `environments` in the migration (block mapping, plain values).
fn plan_with_envs(envs: &str) -> String {
    format!(
        "\
version: 1
output: deploy
migrations:
  - name: checkout
    namespace: payments
    from: se.example.com
    to: gcp.example.com
    stages: {STAGES}
    environments:
{envs}"
    )
}

/// The plan used by the hold tests: `weight-10` holds 24h, `half` 2d, with a note.
const HOLD_PLAN: &str = "\
version: 1
output: deploy
defaults:
  namespace: payments
  stages:
    - mirror: 100
    - {weight: 10, hold: 24h, note: \"watch 5xx on the ServiceEntry host\"}
    - {name: half, weight: 50, hold: 2d}
    - weight: 100
migrations:
  - name: checkout
    from: se.example.com
    to: gcp.example.com
    environments:
      dev: weight-100
      staging: half
      prod: weight-10
";

/// Two migrations sharing `defaults.environments`, and a third with its own.
const SHARED_PLAN: &str = "\
version: 1
output: deploy
defaults:
  namespace: payments
  stages: [{mirror: 100}, {weight: 10}, {name: half, weight: 50}, {weight: 100}]
  environments:
    staging: half
    prod: weight-10
migrations:
  - name: checkout
    from: checkout-se.example.com
    to: checkout-gcp.example.com
  - name: ledger
    from: ledger-se.example.com
    to: ledger-gcp.example.com
  - name: search
    from: search-se.example.com
    to: search-gcp.example.com
    environments: {prod: mirror-100}
";

/// Seconds since the epoch.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Runs git in the test folder with author and committer dates `secs_ago` seconds ago
/// (for every commit it makes); its stdout.
fn git_ago(test: &Test, secs_ago: u64, args: &[&str]) -> String {
    let date = format!("@{} +0000", now() - secs_ago);
    let out = Command::new("git")
        .current_dir(test.path())
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", test.path())
        .env("GIT_COMMITTER_DATE", &date)
        .env("GIT_AUTHOR_DATE", &date)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `git add -A` and a commit whose author and committer dates are `secs_ago` seconds ago.
fn commit_ago(test: &Test, secs_ago: u64) {
    git_ago(test, secs_ago, &["add", "-A"]);
    git_ago(test, secs_ago, &["commit", "-q", "-m", "plan"]);
}

/// The plan bytes with `from` replaced by `to` at its first occurrence at or after
/// `marker`, which must be on exactly one line of the plan. Computed without cutover.
#[track_caller]
fn expected_edit(old: &[u8], marker: &str, from: &str, to: &str) -> Vec<u8> {
    let marker = marker.as_bytes();
    let mut starts = Vec::new();
    let mut line_start = 0;
    for line in old.split(|&b| b == b'\n') {
        if let Some(i) = find(line, marker) {
            starts.push(line_start + i);
        }
        line_start += line.len() + 1;
    }
    assert_eq!(
        starts.len(),
        1,
        "marker {:?} must be on exactly one line",
        String::from_utf8_lossy(marker)
    );
    let at = starts[0]
        + find(&old[starts[0]..], from.as_bytes())
            .unwrap_or_else(|| panic!("{from:?} not found after the marker"));
    let mut out = old[..at].to_vec();
    out.extend_from_slice(to.as_bytes());
    out.extend_from_slice(&old[at + from.len()..]);
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn crlf(s: &str) -> String {
    s.replace('\n', "\r\n")
}

fn read_bytes(test: &Test, path: &str) -> Vec<u8> {
    std::fs::read(test.path().join(path)).expect("read file")
}

// ---------------------------------------------------------------------------------------
// 1. Byte-for-byte edits
// ---------------------------------------------------------------------------------------

/// One edit: the plan, the command, and where the value is (`marker` on its line, the
/// value's old text and the new text as it must be written).
struct Edit {
    name: String,
    plan: Vec<u8>,
    args: Vec<&'static str>,
    marker: &'static str,
    from: &'static str,
    /// Acceptable new texts (a plain value that must be quoted may get either quote).
    to: Vec<&'static str>,
}

fn edit(
    name: impl Into<String>,
    plan: impl Into<Vec<u8>>,
    args: &[&'static str],
    marker: &'static str,
    from: &'static str,
    to: &'static str,
) -> Edit {
    Edit {
        name: name.into(),
        plan: plan.into(),
        args: args.to_vec(),
        marker,
        from,
        to: vec![to],
    }
}

const PROMOTE_PROD: &[&str] = &["promote", "cutover.yaml", "--env", "prod"];
const PROMOTE_STAGING: &[&str] = &["promote", "cutover.yaml", "--env", "staging"];
const ROLLBACK_STAGING: &[&str] = &["rollback", "cutover.yaml", "--env", "staging"];

/// A plan with comments on the value's line and between lines, and blank lines.
fn commented_plan() -> String {
    format!(
        "\
# Cutover plan; prod: weight-10 is mentioned in this comment too.

version: 1
output: deploy   # generated tree

migrations:
  # the only migration
  - name: checkout
    namespace: payments
    from: se.example.com
    to: gcp.example.com
    stages: {STAGES}

    environments:   # where each env runs
      # staging goes first

      staging: half   # since monday

      # prod: careful
      prod: weight-10 # prod: weight-10 was approved
"
    )
}

/// A plan with non-ASCII text (comments and a stage note) before the value.
fn non_ascii_plan() -> String {
    "\
# Migration de l'équipe paiements — région 日本
version: 1
output: deploy
migrations:
  - name: checkout # caisse — 日本語
    namespace: payments
    from: se.example.com
    to: gcp.example.com
    stages:
      - mirror: 100
      - {weight: 10, note: \"surveiller les 5xx — 日本 ✓\"}
      - {name: half, weight: 50}
      - weight: 100
    environments: {staging: half, # étape — 日本
      prod: weight-10}  # déjà validé ✓
"
    .to_owned()
}

/// Every plan style an edit must keep byte for byte.
fn edits() -> Vec<Edit> {
    let mut all = style_edits();
    all.extend(comment_edits());
    all.extend(encoding_edits());
    all.extend(quoting_edits());
    all.extend(layout_edits());
    all
}

/// Block and flow mappings, quoted keys and values.
fn style_edits() -> Vec<Edit> {
    vec![
        edit(
            "block mapping, plain value",
            plan_with_envs("      staging: half\n      prod: weight-10\n"),
            PROMOTE_PROD,
            "prod: ",
            "weight-10",
            "half",
        ),
        edit(
            "block mapping, single-quoted value",
            plan_with_envs("      staging: 'half'\n      prod: 'weight-10'\n"),
            PROMOTE_PROD,
            "prod: ",
            "'weight-10'",
            "'half'",
        ),
        edit(
            "block mapping, double-quoted value",
            plan_with_envs("      staging: \"half\"\n      prod: \"weight-10\"\n"),
            PROMOTE_PROD,
            "prod: ",
            "\"weight-10\"",
            "\"half\"",
        ),
        edit(
            "block mapping, rollback of a single-quoted value",
            plan_with_envs("      staging: 'half'\n      prod: 'weight-10'\n"),
            ROLLBACK_STAGING,
            "staging: ",
            "'half'",
            "'weight-10'",
        ),
        edit(
            "quoted key",
            plan_with_envs("      \"prod\": weight-10\n"),
            PROMOTE_PROD,
            "\"prod\": ",
            "weight-10",
            "half",
        ),
        edit(
            "flow mapping, first key",
            plan_with_envs("").replace(
                "    environments:\n",
                "    environments: {staging: half, prod: weight-10}\n",
            ),
            PROMOTE_STAGING,
            "staging: ",
            "half",
            "weight-100",
        ),
        edit(
            "flow mapping, last key before `}`",
            plan_with_envs("").replace(
                "    environments:\n",
                "    environments: {staging: half, prod: weight-10}\n",
            ),
            PROMOTE_PROD,
            "prod: ",
            "weight-10",
            "half",
        ),
        edit(
            "flow mapping, same value earlier on the line",
            plan_with_envs("").replace(
                "    environments:\n",
                "    environments: {staging: weight-10, prod: weight-10}\n",
            ),
            PROMOTE_PROD,
            "prod: ",
            "weight-10",
            "half",
        ),
        edit(
            "flow mapping, quoted values",
            plan_with_envs("").replace(
                "    environments:\n",
                "    environments: {staging: 'half', prod: \"weight-10\"}\n",
            ),
            PROMOTE_PROD,
            "prod: ",
            "\"weight-10\"",
            "\"half\"",
        ),
        edit(
            "flow mapping in defaults",
            format!(
                "version: 1\noutput: deploy\ndefaults:\n  namespace: payments\n  stages: {STAGES}\n  environments: {{staging: half, prod: weight-10}}\nmigrations:\n  - name: checkout\n    from: se.example.com\n    to: gcp.example.com\n"
            ),
            PROMOTE_PROD,
            "prod: ",
            "weight-10",
            "half",
        ),
    ]
}

/// Comments after quoted values (issue 13: the parser's span of a quoted value ran to
/// the end of the comment after it, and the edit deleted the comment).
fn comment_edits() -> Vec<Edit> {
    vec![
        edit(
            "double-quoted value with a comment after it (issue 13)",
            plan_with_envs("      prod: \"weight-10\"   # OPS-123\n"),
            PROMOTE_PROD,
            "prod: ",
            "\"weight-10\"",
            "\"half\"",
        ),
        edit(
            "single-quoted value with a comment after it",
            plan_with_envs("      staging: 'half' # OPS-9\n      prod: 'weight-10'\t# OPS-123\n"),
            PROMOTE_PROD,
            "prod: ",
            "'weight-10'",
            "'half'",
        ),
        edit(
            "flow mapping, quoted value with spaces before the comma",
            plan_with_envs("").replace(
                "    environments:\n",
                "    environments: {prod: \"weight-10\"   , staging: half} # OPS-123\n",
            ),
            PROMOTE_PROD,
            "prod: ",
            "\"weight-10\"",
            "\"half\"",
        ),
    ]
}

/// Comments, line endings, byte order marks, non-ASCII text.
fn encoding_edits() -> Vec<Edit> {
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(crlf(&non_ascii_plan()).as_bytes());
    let mut bom_lf = b"\xEF\xBB\xBF".to_vec();
    bom_lf.extend_from_slice(plan_with_envs("      prod: weight-10\n").as_bytes());
    vec![
        edit(
            "comments on the line and between lines, blank lines",
            commented_plan(),
            PROMOTE_PROD,
            "prod: weight-10 #",
            "weight-10",
            "half",
        ),
        edit(
            "CRLF line endings",
            crlf(&commented_plan()),
            PROMOTE_PROD,
            "prod: weight-10 #",
            "weight-10",
            "half",
        ),
        edit(
            "CRLF, rollback",
            crlf(&commented_plan()),
            ROLLBACK_STAGING,
            "staging: half",
            "half",
            "weight-10",
        ),
        edit(
            "UTF-8 byte order mark",
            bom_lf,
            PROMOTE_PROD,
            "prod: ",
            "weight-10",
            "half",
        ),
        edit(
            "non-ASCII comments and note before the value (multi-line flow mapping)",
            non_ascii_plan(),
            PROMOTE_PROD,
            "prod: ",
            "weight-10",
            "half",
        ),
        edit(
            "byte order mark, CRLF and non-ASCII together",
            bom,
            PROMOTE_PROD,
            "prod: ",
            "weight-10",
            "half",
        ),
        edit(
            "no newline at the end of the file",
            plan_with_envs("      prod: weight-10"),
            PROMOTE_PROD,
            "prod: ",
            "weight-10",
            "half",
        ),
        edit(
            "double-quoted value over two lines",
            plan_with_envs("      prod: \"weight-\\\n        10\"\n"),
            PROMOTE_PROD,
            "prod: ",
            "\"weight-\\\n        10\"",
            "\"half\"",
        ),
    ]
}

/// One layout around the value: a name, `environments:` and what follows it, the
/// command, the marker on the value's line, the value's text before and after.
type Layout = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
    &'static str,
);

/// Trailing spaces, comments after every kind of value, flow mappings, the end of the
/// file without a newline.
const LAYOUTS: &[Layout] = &[
    (
        "plain value, trailing spaces",
        "\n      prod: weight-10   \n      staging: half\n",
        PROMOTE_PROD,
        "prod: ",
        "weight-10",
        "half",
    ),
    (
        "single-quoted value, trailing spaces",
        "\n      prod: 'weight-10'  \t\n",
        PROMOTE_PROD,
        "prod: ",
        "'weight-10'",
        "'half'",
    ),
    (
        "double-quoted value, trailing spaces",
        "\n      prod: \"weight-10\"  \n",
        PROMOTE_PROD,
        "prod: ",
        "\"weight-10\"",
        "\"half\"",
    ),
    (
        "plain value, comment after a tab",
        "\n      prod: weight-10\t# OPS-123 'x' \"y\"\n",
        PROMOTE_PROD,
        "prod: ",
        "weight-10",
        "half",
    ),
    (
        "double-quoted value, comment",
        "\n      prod: \"weight-10\" # OPS-123 \"quoted\"\n",
        PROMOTE_PROD,
        "prod: ",
        "\"weight-10\"",
        "\"half\"",
    ),
    (
        "single-quoted value, comment, rollback",
        "\n      staging: 'half' # it's 'half'\n",
        ROLLBACK_STAGING,
        "staging: ",
        "'half'",
        "'weight-10'",
    ),
    (
        "flow mapping, plain value, spaces before the comma and a comment",
        " {prod: weight-10   , staging: half}   # OPS-1\n",
        PROMOTE_PROD,
        "prod: ",
        "weight-10",
        "half",
    ),
    (
        "flow mapping, single-quoted value before `}`, comment",
        " {staging: half, prod: 'weight-10'} # c\n",
        PROMOTE_PROD,
        "prod: ",
        "'weight-10'",
        "'half'",
    ),
    (
        "flow mapping over lines, comments between entries",
        " {   # envs\n      prod: \"weight-10\"  ,  # first\n      staging: half   # second\n    }\n",
        PROMOTE_PROD,
        "prod: ",
        "\"weight-10\"",
        "\"half\"",
    ),
    (
        "plain value at the end of the file, trailing spaces, no newline",
        "\n      prod: weight-10  ",
        PROMOTE_PROD,
        "prod: ",
        "weight-10",
        "half",
    ),
    (
        "plain value and comment at the end of the file, no newline",
        "\n      prod: weight-10 # last",
        PROMOTE_PROD,
        "prod: ",
        "weight-10",
        "half",
    ),
    (
        "single-quoted value at the end of the file, no newline",
        "\n      prod: 'weight-10'",
        PROMOTE_PROD,
        "prod: ",
        "'weight-10'",
        "'half'",
    ),
    (
        "double-quoted value and comment at the end of the file, no newline",
        "\n      prod: \"weight-10\"\t# last",
        PROMOTE_PROD,
        "prod: ",
        "\"weight-10\"",
        "\"half\"",
    ),
    (
        "flow mapping at the end of the file, no newline",
        " {staging: half, prod: weight-10}",
        PROMOTE_PROD,
        "prod: ",
        "weight-10",
        "half",
    ),
];

/// [`LAYOUTS`], and flow sequences (`migrations` as a flow sequence of flow mappings,
/// `stages` with spaces and a comment), in LF and CRLF files.
fn layout_edits() -> Vec<Edit> {
    let mut all = Vec::new();
    for (eol, eol_name) in [("\n", "LF"), ("\r\n", "CRLF")] {
        for (name, envs, args, marker, from, to) in LAYOUTS {
            // `environments:` followed by `envs` (the rest of its line and the lines after).
            let plan = plan_with_envs("")
                .replace("    environments:\n", &format!("    environments:{envs}"))
                .replace('\n', eol);
            all.push(edit(
                format!("{name} ({eol_name})"),
                plan,
                args,
                marker,
                from,
                to,
            ));
        }
        let flow_seq = format!(
            "version: 1{eol}output: deploy{eol}migrations: [{{name: checkout, namespace: payments, from: se.example.com, to: gcp.example.com,{eol}    stages: {STAGES},{eol}    environments: {{staging: half, prod: weight-10}}}}] # one migration{eol}"
        );
        let stages = plan_with_envs("      staging: half\n      prod: weight-10\n")
            .replace("stages: [", "stages: [  ")
            .replace(']', "  ]  # flow")
            .replace('\n', eol);
        all.extend([
            edit(
                format!("migrations as a flow sequence of flow mappings ({eol_name})"),
                flow_seq.clone(),
                PROMOTE_PROD,
                "prod: ",
                "weight-10",
                "half",
            ),
            edit(
                format!("flow sequence at the end of the file, no newline ({eol_name})"),
                flow_seq.trim_end().to_owned(),
                PROMOTE_PROD,
                "prod: ",
                "weight-10",
                "half",
            ),
            edit(
                format!("stages as a flow sequence with spaces and a comment ({eol_name})"),
                stages,
                ROLLBACK_STAGING,
                "staging: ",
                "half",
                "weight-10",
            ),
        ]);
    }
    all
}

/// Shared defaults, and values that need (or keep) quotes.
fn quoting_edits() -> Vec<Edit> {
    let quoting = "\
version: 1
output: deploy
migrations:
  - name: checkout
    namespace: payments
    from: se.example.com
    to: gcp.example.com
    stages:
      - weight: 10
      - {name: \"007\", weight: 20}
      - {name: \"true\", weight: 30}
      - {name: \"1e3\", weight: 40}
      - {name: \"null\", weight: 50}
      - weight: 100
    environments:
      a: weight-10
      b: '007'
      c: \"true\"
      d: '1e3'
      e: weight-100
";
    vec![
        edit(
            "shared defaults environment: one edit moves every migration",
            SHARED_PLAN,
            &["promote", "cutover.yaml", "--env", "staging"],
            "staging: ",
            "half",
            "weight-100",
        ),
        edit(
            "migration's own environments override defaults",
            SHARED_PLAN,
            &[
                "promote",
                "cutover.yaml",
                "--env",
                "prod",
                "--migration",
                "search",
            ],
            "{prod: mirror-100}",
            "mirror-100",
            "weight-10",
        ),
        Edit {
            to: vec!["\"007\"", "'007'"],
            ..edit(
                "plain value to a name YAML reads as a number gets quoted",
                quoting,
                &["promote", "cutover.yaml", "--env", "a"],
                "      a: ",
                "weight-10",
                "",
            )
        },
        edit(
            "single-quoted `007` to `true` stays single-quoted",
            quoting,
            &["promote", "cutover.yaml", "--env", "b"],
            "      b: ",
            "'007'",
            "'true'",
        ),
        edit(
            "double-quoted `true` to `1e3` stays double-quoted",
            quoting,
            &["promote", "cutover.yaml", "--env", "c"],
            "      c: ",
            "\"true\"",
            "\"1e3\"",
        ),
        edit(
            "single-quoted `1e3` to `null`",
            quoting,
            &["promote", "cutover.yaml", "--env", "d"],
            "      d: ",
            "'1e3'",
            "'null'",
        ),
        Edit {
            to: vec!["\"null\"", "'null'"],
            ..edit(
                "plain value rolled back to `null` gets quoted",
                quoting,
                &["rollback", "cutover.yaml", "--env", "e"],
                "      e: ",
                "weight-100",
                "",
            )
        },
    ]
}

#[test]
fn promote_edits_only_the_value_bytes_in_every_plan_style() {
    let mut failures = Vec::new();
    for case in edits() {
        let test = Test::new().file("cutover.yaml", &case.plan);
        test.args(["render", "cutover.yaml"]).any_stdout().run();
        test.args(&case.args).any_stdout().run();
        let after = read_bytes(&test, "cutover.yaml");
        let expected: Vec<Vec<u8>> = case
            .to
            .iter()
            .map(|to| expected_edit(&case.plan, case.marker, case.from, to))
            .collect();
        if !expected.contains(&after) {
            failures.push(format!(
                "{}: plan after the edit differs\n--- expected ---\n{}\n--- actual ---\n{}",
                case.name,
                String::from_utf8_lossy(&expected[0]),
                String::from_utf8_lossy(&after)
            ));
            continue;
        }
        test.args(["check", "cutover.yaml"]).any_stdout().run();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn shared_defaults_environment_moves_every_migration_sharing_it() {
    let test = Test::new().file("cutover.yaml", SHARED_PLAN);
    test.args(["render"])
        .stdout(
            "checkout: 10 written, 0 unchanged, 0 removed (cutover.yaml)\n\
             ledger: 10 written, 0 unchanged, 0 removed (cutover.yaml)\n\
             search: 9 written, 0 unchanged, 0 removed (cutover.yaml)\n",
        )
        .run();
    test.args(["promote", "cutover.yaml", "--env", "staging"])
        .stdout_contains(
            "checkout: staging promoted from half to weight-100 (defaults.environments.staging in cutover.yaml)",
        )
        .stdout_contains(
            "ledger: staging promoted from half to weight-100 (defaults.environments.staging in cutover.yaml)",
        )
        .run();
    for m in ["checkout", "ledger"] {
        assert!(
            test.read(&format!("deploy/{m}/envs/staging/kustomization.yaml"))
                .contains("../../stages/04-weight-100"),
            "{m} staging not moved"
        );
    }
    test.args(["check"])
        .stdout("ok: 29 generated files up to date\n")
        .run();
}

/// Promotes `env` of `plan`, expecting the plan to read `promoted` after, then rolls it
/// back, expecting the plan's bytes as they were; `check` agrees after each move.
#[track_caller]
fn promote_and_roll_back(plan: &[u8], env: &str, promoted: &[u8]) {
    let test = Test::new().file("cutover.yaml", plan);
    test.args(["render"]).any_stdout().run();
    test.args(["promote", "cutover.yaml", "--env", env])
        .stdout_contains(format!("checkout: {env} promoted from"))
        .run();
    assert_eq!(
        String::from_utf8_lossy(&read_bytes(&test, "cutover.yaml")),
        String::from_utf8_lossy(promoted),
        "after promote"
    );
    test.args(["check"]).stdout_contains("up to date").run();
    test.args(["rollback", "cutover.yaml", "--env", env])
        .stdout_contains(format!("checkout: {env} rolled back from"))
        .run();
    assert_eq!(
        String::from_utf8_lossy(&read_bytes(&test, "cutover.yaml")),
        String::from_utf8_lossy(plan),
        "after rollback"
    );
    test.args(["check"]).stdout_contains("up to date").run();
}

/// Defect (issue 18): a block scalar value became a plain value.
#[test]
fn block_scalar_value_is_edited_in_place() {
    let plan =
        plan_with_envs("      prod: >-\n        weight-10\n      dev: |- # c\n        half\n");
    let promoted = plan.replace("weight-10\n      dev", "half\n      dev");
    promote_and_roll_back(plan.as_bytes(), "prod", promoted.as_bytes());
    let promoted = plan.replace("        half\n", "        weight-100\n");
    promote_and_roll_back(plan.as_bytes(), "dev", promoted.as_bytes());
}

/// Defect (issue 18): with a stage named `"2"`, `prod: weight-10` became `prod: "2"` and
/// rolled back to `prod: "weight-10"`.
#[test]
fn quotes_a_promotion_needed_go_on_rollback() {
    let plan = plan_with_envs("      prod: weight-10 # OPS-123\n")
        .replace("{name: half, weight: 50}", "{name: \"2\", weight: 50}");
    let promoted = plan.replace("prod: weight-10", "prod: \"2\"");
    promote_and_roll_back(plan.as_bytes(), "prod", promoted.as_bytes());
    // Quotes the author wrote stay.
    let plan = plan.replace("prod: weight-10", "prod: 'weight-10'");
    let promoted = plan.replace("prod: 'weight-10'", "prod: '2'");
    promote_and_roll_back(plan.as_bytes(), "prod", promoted.as_bytes());
}

/// Defect (issue 18): with CR line endings, editing a block scalar joined two lines and
/// the edited plan was refused as invalid.
#[test]
fn block_scalar_with_cr_crlf_and_lf_line_endings() {
    let plan = plan_with_envs("      prod: |-\n        weight-10\n      qa: half\n");
    for eol in ["\r", "\r\n", "\n"] {
        let plan = plan.replace('\n', eol);
        let promoted = plan.replace("weight-10", "half");
        promote_and_roll_back(plan.as_bytes(), "prod", promoted.as_bytes());
    }
}

/// Defect (issue 13): `promote` deleted a comment after a quoted value (the parser's span
/// of a quoted scalar ran to the end of the comment).
#[test]
fn a_comment_after_a_quoted_value_survives_promote_and_rollback() {
    let plan = plan_with_envs("      prod: \"weight-10\"   # OPS-123\n");
    let promoted = plan.replace("\"weight-10\"", "\"half\"");
    promote_and_roll_back(plan.as_bytes(), "prod", promoted.as_bytes());
}

// ---------------------------------------------------------------------------------------
// 2. Refusals change nothing
// ---------------------------------------------------------------------------------------

/// Runs `args` in `test` (rendered already), expecting exit 2, `message` on stderr, and
/// no change to any file.
#[track_caller]
fn assert_refused(test: &mut Test, args: &[&str], message: &str) {
    let plan = read_bytes(test, "cutover.yaml");
    let before = test.tree();
    // Nothing on stdout: the Test checks that by default.
    test.args(args).status(2).stderr_contains(message).run();
    assert_eq!(read_bytes(test, "cutover.yaml"), plan, "plan changed");
    assert_unchanged(&before, &test.tree());
}

fn rendered(plan: &str) -> Test {
    let test = Test::new().file("cutover.yaml", plan);
    test.args(["render"]).any_stdout().run();
    test
}

#[test]
fn refuses_to_promote_past_the_last_stage() {
    let mut test = rendered(&plan_with_envs("      prod: weight-100\n"));
    assert_refused(
        &mut test,
        &["promote", "cutover.yaml", "--env", "prod"],
        "prod of checkout is already at the last stage (weight-100)",
    );
}

#[test]
fn refuses_to_skip_stages_without_force() {
    let mut test = rendered(&plan_with_envs("      prod: weight-10\n"));
    assert_refused(
        &mut test,
        &[
            "promote",
            "cutover.yaml",
            "--env",
            "prod",
            "--to",
            "weight-100",
        ],
        "moving prod of checkout from weight-10 to weight-100 skips stages; add --force",
    );
    assert_refused(
        &mut test,
        &["promote", "cutover.yaml", "--env", "prod", "--to", "last"],
        "skips stages",
    );
}

#[test]
fn refuses_to_go_backwards_with_promote_or_forwards_with_rollback() {
    let mut test = rendered(&plan_with_envs("      prod: weight-10\n"));
    assert_refused(
        &mut test,
        &[
            "promote",
            "cutover.yaml",
            "--env",
            "prod",
            "--to",
            "mirror-100",
        ],
        "goes backwards; use `cutover rollback`",
    );
    assert_refused(
        &mut test,
        &["rollback", "cutover.yaml", "--env", "prod", "--to", "half"],
        "goes forwards; use `cutover promote`",
    );
    assert_refused(
        &mut test,
        &[
            "promote",
            "cutover.yaml",
            "--env",
            "prod",
            "--to",
            "weight-10",
        ],
        "already at stage weight-10",
    );
}

#[test]
fn refuses_to_roll_back_before_the_first_stage() {
    let mut test = rendered(&plan_with_envs("      prod: mirror-100\n"));
    assert_refused(
        &mut test,
        &["rollback", "cutover.yaml", "--env", "prod"],
        "prod of checkout is already at the first stage (mirror-100)",
    );
}

#[test]
fn refuses_unknown_environment_and_unknown_stage() {
    let mut test = rendered(&plan_with_envs("      prod: weight-10\n"));
    assert_refused(
        &mut test,
        &["promote", "cutover.yaml", "--env", "qa"],
        "no migration of cutover.yaml has an environment `qa`",
    );
    assert_refused(
        &mut test,
        &["promote", "cutover.yaml", "--env", "prod", "--to", "weight-25"],
        "migration checkout has no stage `weight-25`; its stages are: mirror-100, weight-10, half, weight-100",
    );
    assert_refused(
        &mut test,
        &[
            "promote",
            "cutover.yaml",
            "--env",
            "prod",
            "--migration",
            "ledger",
        ],
        "migration `ledger` of cutover.yaml has no environment `prod`",
    );
}

#[test]
fn refuses_an_environment_of_several_migrations_without_migration() {
    let mut test = rendered(SHARED_PLAN);
    assert_refused(
        &mut test,
        &["promote", "cutover.yaml", "--env", "prod"],
        "environment `prod` is in several migrations (checkout, ledger, search); name one with --migration",
    );
}

#[test]
fn refuses_migration_for_a_shared_defaults_environment() {
    let mut test = rendered(SHARED_PLAN);
    assert_refused(
        &mut test,
        &[
            "promote",
            "cutover.yaml",
            "--env",
            "prod",
            "--migration",
            "checkout",
        ],
        "`prod` of checkout is set in defaults.environments.prod and shared by checkout, ledger; leave out --migration",
    );
}

#[test]
fn refuses_when_a_user_file_is_in_the_way_of_the_render() {
    let mut test = rendered(&plan_with_envs("      prod: weight-10\n"));
    test.write(
        "deploy/checkout/envs/prod/kustomization.yaml",
        "# mine, written by hand\nresources: [../../stages/02-weight-10]\n",
    );
    assert_refused(
        &mut test,
        &["promote", "cutover.yaml", "--env", "prod"],
        "deploy/checkout/envs/prod/kustomization.yaml",
    );
}

#[test]
fn refuses_a_shared_move_that_one_migration_cannot_make() {
    // `prod` is shared through defaults by two migrations with different stages.
    let plan = "\
version: 1
output: deploy
defaults:
  namespace: payments
  stages: [{mirror: 100}, {weight: 10}, {name: half, weight: 50}, {weight: 100}]
  environments: {prod: weight-10}
migrations:
  - name: checkout
    from: checkout-se.example.com
    to: checkout-gcp.example.com
  - name: ledger
    from: ledger-se.example.com
    to: ledger-gcp.example.com
    stages: [{weight: 10}, {weight: 25}, {weight: 100}]
";
    let mut test = rendered(plan);
    // The next stages differ (half / weight-25).
    assert_refused(
        &mut test,
        &["promote", "cutover.yaml", "--env", "prod"],
        "`prod` is shared through defaults.environments.prod by migrations whose next stages differ (half, weight-25); name the stage with --to",
    );
    // The named stage does not exist in one of them: the edited plan would be invalid.
    assert_refused(
        &mut test,
        &["promote", "cutover.yaml", "--env", "prod", "--to", "half"],
        "migration ledger has no stage `half`",
    );
}

#[test]
fn refuses_an_edit_that_would_make_the_plan_invalid() {
    // The value is anchored and aliased by another migration that lacks the next stage;
    // replacing the anchored value would break (or move) the alias.
    let plan = "\
version: 1
output: deploy
defaults:
  namespace: payments
  stages: [{mirror: 100}, {weight: 10}, {name: half, weight: 50}, {weight: 100}]
migrations:
  - name: checkout
    from: checkout-se.example.com
    to: checkout-gcp.example.com
    environments: {prod: &p weight-10}
  - name: ledger
    from: ledger-se.example.com
    to: ledger-gcp.example.com
    stages: [{weight: 10}, {weight: 25}, {weight: 100}]
    environments: {prod: *p}
";
    let mut test = rendered(plan);
    assert_refused(
        &mut test,
        &[
            "promote",
            "cutover.yaml",
            "--env",
            "prod",
            "--migration",
            "checkout",
        ],
        // Editing the anchored value would break the alias that shares it.
        "uses a YAML anchor, alias or tag",
    );
}

#[test]
fn refuses_an_invalid_plan_without_editing_it() {
    let plan = plan_with_envs("      prod: weight-10\n      qa: weight-25\n");
    let mut test = Test::new().file("cutover.yaml", &plan);
    assert_refused(
        &mut test,
        &["promote", "cutover.yaml", "--env", "prod"],
        "environment `qa` runs stage `weight-25`, which migration checkout does not have",
    );
}

// ---------------------------------------------------------------------------------------
// 3. --force
// ---------------------------------------------------------------------------------------

#[test]
fn force_skips_stages_with_a_warning() {
    let plan = plan_with_envs("      prod: mirror-100\n");
    let test = rendered(&plan);
    test.args([
        "promote",
        "cutover.yaml",
        "--env",
        "prod",
        "--to",
        "last",
        "--force",
    ])
    .stderr_contains(
        "warning: moving prod of checkout from mirror-100 to weight-100 skips stages (forced)",
    )
    .stdout_contains("checkout: prod promoted from mirror-100 to weight-100")
    .run();
    assert_eq!(
        read_bytes(&test, "cutover.yaml"),
        expected_edit(plan.as_bytes(), "prod: ", "mirror-100", "weight-100")
    );
    test.args(["check"])
        .stdout("ok: 9 generated files up to date\n")
        .run();
}

#[test]
fn force_goes_backwards_with_promote() {
    let plan = plan_with_envs("      prod: weight-100\n");
    let test = rendered(&plan);
    test.args([
        "promote",
        "cutover.yaml",
        "--env",
        "prod",
        "--to",
        "weight-10",
        "--force",
    ])
    .stderr_contains("warning: moving prod of checkout from weight-100 to weight-10")
    .stderr_contains("goes backwards")
    .stdout_contains("checkout: prod promoted from weight-100 to weight-10")
    .run();
    assert_eq!(
        read_bytes(&test, "cutover.yaml"),
        expected_edit(plan.as_bytes(), "prod: ", "weight-100", "weight-10")
    );
    test.args(["check"])
        .stdout("ok: 9 generated files up to date\n")
        .run();
}

#[test]
fn rollback_to_first() {
    let plan = plan_with_envs("      prod: half\n");
    let test = rendered(&plan);
    test.args(["rollback", "cutover.yaml", "--env", "prod", "--to", "first"])
        .stdout_contains("checkout: prod rolled back from half to mirror-100")
        .run();
    assert_eq!(
        read_bytes(&test, "cutover.yaml"),
        expected_edit(plan.as_bytes(), "prod: ", "half", "mirror-100")
    );
}

// ---------------------------------------------------------------------------------------
// 3b. Without PLAN: the one plan that has the environment
// ---------------------------------------------------------------------------------------

/// Three plans: `apps/a` (checkout: prod, staging), `apps/b` (ledger: prod), `web`
/// (search: dev), rendered.
fn three_plans() -> Test {
    let test = Test::new()
        .git_folder()
        .file(
            "apps/a/cutover.yaml",
            plan_with_envs("      staging: half\n      prod: weight-10\n"),
        )
        .file(
            "apps/b/cutover.yaml",
            plan_with_envs("      prod: mirror-100\n").replace("name: checkout", "name: ledger"),
        )
        .file(
            "web/search.cutover.yaml",
            plan_with_envs("      dev: half\n").replace("name: checkout", "name: search"),
        );
    test.args(["render"]).any_stdout().run();
    test
}

/// Defect: `promote` and `rollback` needed PLAN while every other command finds plans.
#[test]
fn promote_and_rollback_without_plan_find_the_plan_with_the_environment() {
    let test = three_plans();
    test.args(["promote", "--env", "staging"])
        .stdout_contains(
            "checkout: staging promoted from half to weight-100 (migrations[0].environments.staging in apps/a/cutover.yaml)\n",
        )
        .run();
    test.args(["rollback", "--env", "dev"])
        .stdout_contains(
            "search: dev rolled back from half to weight-10 (migrations[0].environments.dev in web/search.cutover.yaml)\n",
        )
        .run();
    // --migration picks among plans that share an environment name.
    test.args(["promote", "--env", "prod", "--migration", "ledger"])
        .stdout_contains(
            "ledger: prod promoted from mirror-100 to weight-10 (migrations[0].environments.prod in apps/b/cutover.yaml)\n",
        )
        .run();
    // The search starts at the current folder: under apps/a only checkout has prod.
    test.args(["promote", "--env", "prod"])
        .current_dir("apps/a")
        .stdout_contains("checkout: prod promoted from weight-10 to half (migrations[0].environments.prod in cutover.yaml)\n")
        .run();
    test.args(["check"])
        .stdout("ok: 28 generated files up to date\n")
        .run();
    assert!(test
        .read("web/search.cutover.yaml")
        .contains("      dev: weight-10\n"));
}

#[test]
fn promote_without_plan_refuses_no_plan_or_several_plans_and_writes_nothing() {
    let test = three_plans();
    let before = test.tree();
    for (args, message) in [
        (
            &["promote", "--env", "qa"][..],
            "no plan under the current folder has an environment `qa` (searched: apps/a/cutover.yaml, apps/b/cutover.yaml, web/search.cutover.yaml)",
        ),
        (
            &["rollback", "--env", "dev", "--migration", "checkout"][..],
            "no plan under the current folder has a migration `checkout` with an environment `dev` (searched: apps/a/cutover.yaml, apps/b/cutover.yaml, web/search.cutover.yaml)",
        ),
        (
            &["promote", "--env", "prod"][..],
            "2 plans under the current folder have an environment `prod`: apps/a/cutover.yaml (migration checkout), apps/b/cutover.yaml (migration ledger); name one, as in `cutover promote apps/a/cutover.yaml --env prod`",
        ),
        (
            &["rollback", "--env", "prod", "--to", "first"][..],
            "2 plans under the current folder have an environment `prod`: apps/a/cutover.yaml (migration checkout), apps/b/cutover.yaml (migration ledger); name one, as in `cutover rollback apps/a/cutover.yaml --env prod`",
        ),
    ] {
        test.args(args).status(2).stderr_contains(message).run();
        assert_unchanged(&before, &test.tree());
    }
    // Several migrations of one plan: that plan is the one, and it asks for --migration.
    let mut test = rendered(SHARED_PLAN);
    assert_refused(
        &mut test,
        &["promote", "--env", "prod"],
        "environment `prod` is in several migrations (checkout, ledger, search); name one with --migration",
    );
    // No plan at all under the folder.
    let test = Test::new().git_folder().file("README", "");
    test.args(["promote", "--env", "prod"])
        .status(2)
        .stderr_contains("no plan files (`cutover.yaml` or `*.cutover.yaml`) found under")
        .run();
}

// ---------------------------------------------------------------------------------------
// 4. Holds
// ---------------------------------------------------------------------------------------

fn hold_repo(secs_ago: u64) -> Test {
    let test = Test::new().git_init().file("cutover.yaml", HOLD_PLAN);
    test.args(["render"])
        .stdout("checkout: 11 written, 0 unchanged, 0 removed (cutover.yaml)\n")
        .run();
    commit_ago(&test, secs_ago);
    test
}

#[test]
fn hold_elapsed_allows_promote() {
    let test = hold_repo(3 * 86_400);
    test.args(["promote", "cutover.yaml", "--env", "prod"])
        .stdout_contains("checkout: prod promoted from weight-10 to half")
        .run();
    assert_eq!(
        read_bytes(&test, "cutover.yaml"),
        expected_edit(HOLD_PLAN.as_bytes(), "prod: ", "weight-10", "half")
    );
}

#[test]
fn hold_not_elapsed_refuses_and_says_how_long() {
    let test = hold_repo(3600);
    let before = test.tree();
    let out = test
        .args(["promote", "cutover.yaml", "--env", "prod"])
        .status(2)
        .stderr_contains("prod of checkout has been at weight-10 for 1h")
        .stderr_contains("its hold is 1d (")
        .stderr_contains(" to go); add --force to promote anyway")
        .run();
    assert!(
        out.stderr.contains("(23h to go)") || out.stderr.contains("(22h 59m to go)"),
        "{}",
        out.stderr
    );
    assert_unchanged(&before, &test.tree());
    assert_eq!(test.git(&["status", "--porcelain"]), "");

    // --force moves it, with a warning.
    test.args(["promote", "cutover.yaml", "--env", "prod", "--force"])
        .stderr_contains("warning: prod of checkout has been at weight-10 for 1h")
        .stderr_contains("promoting anyway (--force)")
        .stdout_contains("checkout: prod promoted from weight-10 to half")
        .run();
    assert_eq!(
        read_bytes(&test, "cutover.yaml"),
        expected_edit(HOLD_PLAN.as_bytes(), "prod: ", "weight-10", "half")
    );
}

/// `HOLD_PLAN` written with a byte order mark, CRLF and non-ASCII lines before the
/// environments, so that a wrong line number for `git blame` would show.
fn hold_plan_variants() -> Vec<(&'static str, Vec<u8>)> {
    let non_ascii = HOLD_PLAN.replace(
        "    environments:\n",
        "    # étapes — 日本\n    # ✓ validé\n    environments:\n",
    );
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(crlf(&non_ascii).as_bytes());
    vec![
        ("LF", HOLD_PLAN.as_bytes().to_vec()),
        ("non-ASCII", non_ascii.into_bytes()),
        ("BOM, CRLF, non-ASCII", bom),
    ]
}

fn replace_bytes(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).expect("UTF-8");
    assert!(text.contains(from));
    text.replace(from, to).into_bytes()
}

#[test]
fn hold_counts_from_the_last_change_of_the_env_line() {
    for (name, plan) in hold_plan_variants() {
        // Committed 3 days ago with prod at mirror-100; moved to weight-10 1 hour ago.
        let test = Test::new().git_init().file(
            "cutover.yaml",
            replace_bytes(&plan, "prod: weight-10", "prod: mirror-100"),
        );
        commit_ago(&test, 3 * 86_400);
        test.write("cutover.yaml", &plan);
        commit_ago(&test, 3600);
        // A later commit of other lines (the line before and after too) does not restart it.
        let later = replace_bytes(&plan, "staging: half", "staging: half # on track");
        let later = replace_bytes(&later, "dev: weight-100", "dev: weight-100 # done");
        test.write("cutover.yaml", &later);
        commit_ago(&test, 60);
        test.args(["promote", "cutover.yaml", "--env", "prod"])
            .status(2)
            .stderr_contains("prod of checkout has been at weight-10 for 1h")
            .run();

        // And a plan whose prod line changed 3 days ago, others 1 minute ago, promotes.
        let test = Test::new().git_init().file("cutover.yaml", &plan);
        commit_ago(&test, 3 * 86_400);
        test.write("cutover.yaml", &later);
        commit_ago(&test, 60);
        test.args(["promote", "cutover.yaml", "--env", "prod"])
            .any_stdout()
            .run();
        assert_eq!(
            read_bytes(&test, "cutover.yaml"),
            expected_edit(&later, "prod: ", "weight-10", "half"),
            "{name}"
        );
    }
}

/// How a promotion made on a branch reaches the main branch.
#[derive(Clone, Copy, Debug)]
enum Landing {
    /// `git merge --no-ff`: a merge commit.
    Merge,
    /// `git merge --squash` and a commit.
    Squash,
    /// `git rebase` onto the main branch, then a fast-forward.
    Rebase,
    /// `git merge --ff-only`: the branch's own commits, no new one.
    FastForward,
}

/// A repository where `prod` was moved to weight-10 (hold 24h) on a branch 3 days ago,
/// and the branch reached the main branch an hour ago by `landing`. The main branch is
/// checked out.
fn landed_promotion(landing: Landing) -> Test {
    let test = Test::new().git_init().file(
        "cutover.yaml",
        HOLD_PLAN.replace("prod: weight-10", "prod: mirror-100"),
    );
    test.args(["render"]).any_stdout().run();
    commit_ago(&test, 5 * 86_400);
    let main = git_ago(&test, 0, &["symbolic-ref", "--short", "HEAD"]);
    let main = main.trim();
    git_ago(&test, 0, &["checkout", "-q", "-b", "feature"]);
    test.write("cutover.yaml", HOLD_PLAN);
    test.args(["render"]).any_stdout().run();
    commit_ago(&test, 3 * 86_400);
    git_ago(&test, 0, &["checkout", "-q", main]);
    if !matches!(landing, Landing::FastForward) {
        // The main branch moved on meanwhile (another file).
        test.write("README", "payments\n");
        commit_ago(&test, 2 * 86_400);
    }
    let hour = 3600;
    match landing {
        Landing::Merge => {
            git_ago(
                &test,
                hour,
                &["merge", "-q", "--no-ff", "-m", "merge", "feature"],
            );
        }
        Landing::Squash => {
            git_ago(&test, hour, &["merge", "-q", "--squash", "feature"]);
            git_ago(&test, hour, &["commit", "-q", "-m", "squashed"]);
        }
        Landing::Rebase => {
            git_ago(&test, hour, &["rebase", "-q", main, "feature"]);
            git_ago(&test, hour, &["checkout", "-q", main]);
            git_ago(&test, hour, &["merge", "-q", "--ff-only", "feature"]);
        }
        Landing::FastForward => {
            git_ago(&test, hour, &["merge", "-q", "--ff-only", "feature"]);
        }
    }
    assert_eq!(test.git(&["status", "--porcelain"]), "", "{landing:?}");
    test
}

/// The cells of the `status` row of `env` (columns are two or more spaces apart):
/// migration, namespace, env, stage, to, hold left, next.
fn status_row(test: &Test, env: &str) -> Vec<String> {
    let out = test.args(["status"]).any_stdout().run();
    row_of(&out.stdout, env)
}

/// The cells of the row of `env` in `status` output `text`.
fn row_of(text: &str, env: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .find(|cells| cells.get(2).is_some_and(|e| e == env))
        .unwrap_or_else(|| panic!("no row for {env}:\n{text}"))
}

/// How long ago, by `status --format json`, the value of `env` changed (its `since`).
fn status_since_ago(test: &Test, env: &str) -> u64 {
    let out = test.args(["status", "--format", "json"]).any_stdout().run();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    let row = doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["environment"] == env)
        .unwrap_or_else(|| panic!("no row for {env}:\n{}", out.stdout));
    now() - row["since"].as_u64().expect("since")
}

/// Defect: a hold counted from the branch's commit, so a promotion committed on a branch
/// three days ago and merged an hour ago showed its 24h hold as done. It counts from
/// when the line reached the branch: the merge commit, the squashed commit, the rebased
/// commit.
#[test]
fn hold_counts_from_when_the_change_reached_the_branch() {
    for landing in [Landing::Merge, Landing::Squash, Landing::Rebase] {
        let test = landed_promotion(landing);
        let prod = status_row(&test, "prod");
        assert_eq!(prod[3], "2/4 weight-10", "{landing:?}");
        // 1h ago, or a little more on a slow run.
        let ago = status_since_ago(&test, "prod");
        assert!((3600..3660).contains(&ago), "{landing:?}: {ago}");
        assert!(
            ["23h", "22h 59m"].contains(&prod[5].as_str()),
            "{landing:?}: {prod:?}"
        );
        assert_eq!(prod[6], format!("wait {}", prod[5]), "{landing:?}");
        let before = test.tree();
        test.args(["promote", "--env", "prod"])
            .status(2)
            .stderr_contains("prod of checkout has been at weight-10 for 1h")
            .stderr_contains("its hold is 1d (")
            .run();
        assert_unchanged(&before, &test.tree());
        assert_eq!(test.git(&["status", "--porcelain"]), "", "{landing:?}");
    }
}

/// A fast-forward leaves no trace of when the branch arrived: the line is dated by its
/// own commit (as the README says), so the hold counts from 3 days ago.
#[test]
fn hold_after_a_fast_forward_counts_from_the_branch_commit() {
    let test = landed_promotion(Landing::FastForward);
    let ago = status_since_ago(&test, "prod");
    assert!((3 * 86_400..3 * 86_400 + 60).contains(&ago), "{ago}");
    let prod = status_row(&test, "prod");
    assert_eq!(
        prod[5..],
        ["0s", "cutover promote cutover.yaml --env prod → half"]
    );
    test.args(["promote", "--env", "prod"])
        .stdout_contains("checkout: prod promoted from weight-10 to half")
        .run();
}

#[test]
fn hold_without_git_history_is_refused() {
    // Not a git repository at all.
    let test = Test::new().file("cutover.yaml", HOLD_PLAN);
    test.args(["render"])
        .stdout("checkout: 11 written, 0 unchanged, 0 removed (cutover.yaml)\n")
        .run();
    let before = test.tree();
    test.args(["promote", "cutover.yaml", "--env", "prod"])
        .status(2)
        .stderr_contains(
            "cannot tell how long prod of checkout has been at weight-10 (hold 1d): no git history for the plan",
        )
        .run();
    assert_unchanged(&before, &test.tree());

    // --force: moved, with a warning.
    test.args(["promote", "cutover.yaml", "--env", "prod", "--force"])
        .stderr_contains("warning: cannot tell how long")
        .stderr_contains("promoting anyway (--force)")
            .stdout_contains("checkout: prod promoted from weight-10 to half (migrations[0].environments.prod in cutover.yaml)")
            .run();
}

#[test]
fn hold_with_plan_not_committed_is_refused() {
    // A git repository with a commit, but the plan was never added.
    let test = Test::new()
        .git_init()
        .file("README", "hello\n")
        .file("cutover.yaml", HOLD_PLAN);
    test.git(&["add", "README"]);
    test.git(&["commit", "-q", "-m", "readme"]);
    let before = test.tree();
    test.args(["promote", "cutover.yaml", "--env", "prod"])
        .status(2)
        .stderr_contains(
            "cannot tell how long prod of checkout has been at weight-10 (hold 1d): no git history for the plan",
        )
        .run();
    assert_unchanged(&before, &test.tree());
}

#[test]
fn hold_with_uncommitted_change_of_the_line_is_refused() {
    let test = hold_repo(3 * 86_400);
    // The env line was edited (a comment added) and not committed.
    let edited = HOLD_PLAN.replace("prod: weight-10", "prod: weight-10 # go");
    test.write("cutover.yaml", &edited);
    let before = test.tree();
    test.args(["promote", "cutover.yaml", "--env", "prod"])
        .status(2)
        .stderr_contains(
            "prod of checkout was moved to weight-10 in changes not yet committed; its hold of 1d has not started",
        )
        .run();
    assert_unchanged(&before, &test.tree());

    // An uncommitted change of another line does not matter.
    let other = HOLD_PLAN.replace("dev: weight-100", "dev: weight-100 # done");
    test.write("cutover.yaml", &other);
    test.args(["promote", "cutover.yaml", "--env", "prod"])
        .stdout_contains("checkout: prod promoted from weight-10 to half (migrations[0].environments.prod in cutover.yaml)")
        .run();
    assert_eq!(
        read_bytes(&test, "cutover.yaml"),
        expected_edit(other.as_bytes(), "prod: ", "weight-10", "half")
    );
}

#[test]
fn hold_does_not_block_rollback() {
    let test = hold_repo(3600);
    // staging is at half (hold 2d), committed an hour ago.
    test.args(["rollback", "cutover.yaml", "--env", "staging"])
        .stdout_contains("checkout: staging rolled back from half to weight-10")
        .run();
    // Nor promoting an environment whose stage has no hold (mirror-100).
    let test = Test::new().git_init().file(
        "cutover.yaml",
        HOLD_PLAN.replace("prod: weight-10", "prod: mirror-100"),
    );
    commit_ago(&test, 60);
    test.args(["promote", "cutover.yaml", "--env", "prod"])
        .stdout_contains("checkout: prod promoted from mirror-100 to weight-10 (migrations[0].environments.prod in cutover.yaml)")
        .run();
}

// ---------------------------------------------------------------------------------------
// 5. Output
// ---------------------------------------------------------------------------------------

#[test]
fn promote_prints_the_move_and_the_virtualservice_diff() {
    let test = rendered(&plan_with_envs("      prod: weight-10\n"));
    test.args(["promote", "cutover.yaml", "--env", "prod"])
        .stdout_contains(
            "checkout: prod promoted from weight-10 to half (migrations[0].environments.prod in cutover.yaml)\n",
        )
        .stdout_contains("--- checkout prod (stage weight-10)\n+++ checkout prod (stage half)\n")
        .stdout_contains("\n-      weight: 10\n+      weight: 50\n")
        .stdout_contains("\n-      weight: 90\n+      weight: 50\n")
        .run();

    test.args(["rollback", "cutover.yaml", "--env", "prod"])
        .stdout_contains(
            "checkout: prod rolled back from half to weight-10 (migrations[0].environments.prod in cutover.yaml)\n",
        )
        .stdout_contains("\n-      weight: 50\n+      weight: 10\n")
        .run();
}

#[test]
fn promote_from_a_mirror_stage_shows_the_mirror_going() {
    let test = rendered(&plan_with_envs("      prod: mirror-100\n"));
    test.args(["promote", "cutover.yaml", "--env", "prod"])
        .stdout_contains("checkout: prod promoted from mirror-100 to weight-10")
        .stdout_contains("-    mirror:")
        .stdout_contains("+      weight: 10")
        .run();
}

#[test]
fn promote_names_a_plan_in_a_subfolder_by_its_path() {
    let test = Test::new().file(
        "apps/payments/cutover.yaml",
        plan_with_envs("      prod: weight-10\n"),
    );
    test.args(["render"])
        .stdout("checkout: 9 written, 0 unchanged, 0 removed (apps/payments/cutover.yaml)\n")
        .run();
    test.args(["promote", "apps/payments/cutover.yaml", "--env", "prod"])
        .stdout_contains(
            "checkout: prod promoted from weight-10 to half (migrations[0].environments.prod in apps/payments/cutover.yaml)",
        )
        .run();
    assert!(test
        .read("apps/payments/deploy/checkout/envs/prod/kustomization.yaml")
        .contains("../../stages/03-half"));
    test.args(["check"])
        .stdout("ok: 9 generated files up to date\n")
        .run();
}

// ---------------------------------------------------------------------------------------
// 6. status
// ---------------------------------------------------------------------------------------

#[test]
fn status_with_git_history() {
    let test = hold_repo(3600);
    let out = test
        .args(["status"])
        .stdout_contains(
            "cutover.yaml\n  migration  namespace  env      stage           to    hold left",
        )
        .stdout_contains("  note on weight-10 (checkout): watch 5xx on the ServiceEntry host\n")
        .stdout_contains("prod:    0 of 1 service fully on GCPBackend\n")
        .stdout_contains("dev:     1 of 1 service fully on GCPBackend\n")
        .stdout_contains("1 service in 1 plan\n")
        .run();
    let prod = row_of(&out.stdout, "prod");
    assert_eq!(
        prod[..5],
        ["checkout", "payments", "prod", "2/4 weight-10", "10%"]
    );
    // 23h left, or 22h 59m on a slow run.
    assert!(["23h", "22h 59m"].contains(&prod[5].as_str()), "{prod:?}");
    assert_eq!(prod[6], format!("wait {}", prod[5]));
    let ago = status_since_ago(&test, "prod");
    assert!((3600..3660).contains(&ago), "{ago}");
    let staging = row_of(&out.stdout, "staging");
    assert_eq!(staging[3..5], ["3/4 half", "50%"]);
    assert!(
        ["1d 23h", "1d 22h"].contains(&staging[5].as_str()),
        "{staging:?}"
    );
    let dev = row_of(&out.stdout, "dev");
    assert_eq!(dev[3..], ["4/4 weight-100", "100%", "-", "done"]);

    // Three days later the holds are done: promote is next.
    let test = hold_repo(3 * 86_400);
    let out = test
        .args(["status", "cutover.yaml"])
        .stdout_lacks("wait")
        .any_stdout()
        .run();
    assert_eq!(
        row_of(&out.stdout, "prod")[5..],
        ["0s", "cutover promote cutover.yaml --env prod → half"]
    );
    assert_eq!(
        row_of(&out.stdout, "staging")[5..],
        [
            "0s",
            "cutover promote cutover.yaml --env staging → weight-100"
        ]
    );
}

#[test]
fn status_without_git_and_with_uncommitted_changes() {
    let test = Test::new().file("cutover.yaml", HOLD_PLAN);
    let out = test
        .args(["status"])
        .stdout_lacks("wait")
        .any_stdout()
        .run();
    assert_eq!(
        row_of(&out.stdout, "prod")[3..],
        [
            "2/4 weight-10",
            "10%",
            "unknown",
            "unknown (no git history)"
        ]
    );
    // No hold on dev's stage: nothing to know.
    assert_eq!(row_of(&out.stdout, "dev")[5..], ["-", "done"]);

    let test = hold_repo(3 * 86_400);
    test.args(["promote", "cutover.yaml", "--env", "prod"])
        .stdout_contains("checkout: prod promoted from weight-10 to half (migrations[0].environments.prod in cutover.yaml)")
        .run();
    let out = test.args(["status"]).any_stdout().run();
    assert_eq!(
        row_of(&out.stdout, "prod")[3..],
        ["3/4 half", "50%", "unknown", "unknown (not committed)"]
    );
    assert_eq!(
        row_of(&out.stdout, "staging")[5..],
        [
            "0s",
            "cutover promote cutover.yaml --env staging → weight-100"
        ]
    );
}

#[test]
fn status_of_a_mirror_stage_and_several_plans() {
    let test = Test::new()
        .file("a/cutover.yaml", plan_with_envs("      prod: mirror-100\n"))
        .file(
            "b/cutover.yaml",
            plan_with_envs("      qa: half\n").replace("name: checkout", "name: ledger"),
        );
    let out = test
        .args(["status", "b/cutover.yaml", "a/cutover.yaml"])
        .any_stdout()
        .run();
    // Sorted by plan whatever the order named.
    let a = out.stdout.find("a/cutover.yaml\n").expect("a's table");
    let b = out.stdout.find("\nb/cutover.yaml\n").expect("b's table");
    assert!(a < b, "{}", out.stdout);
    assert_eq!(
        row_of(&out.stdout, "prod"),
        [
            "checkout",
            "payments",
            "prod",
            "1/4 mirror-100",
            "0% (mirror 100%)",
            "-",
            "cutover promote a/cutover.yaml --env prod → weight-10"
        ]
    );
    assert_eq!(
        row_of(&out.stdout, "qa")[..4],
        ["ledger", "payments", "qa", "3/4 half"]
    );
    assert!(
        out.stdout.ends_with("2 services in 2 plans\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn status_of_a_plan_without_environments_says_so() {
    let plan = plan_with_envs("").replace("    environments:\n", "");
    let test = Test::new().file("cutover.yaml", plan);
    test.args(["status"])
        .stdout(
            "\
cutover.yaml
  migration  namespace  env  stage  to  hold left  next
  checkout   payments   -    -      -   -          -

1 service in 1 plan; no migration has environments
",
        )
        .run();
}

// ---------------------------------------------------------------------------------------
// 7. kustomize environment folders
// ---------------------------------------------------------------------------------------

#[test]
fn promote_points_the_env_kustomization_at_the_new_stage() {
    let test = rendered(SHARED_PLAN);
    let prod = |t: &Test, m: &str| t.read(&format!("deploy/{m}/envs/prod/kustomization.yaml"));
    assert!(prod(&test, "checkout").contains("\"../../stages/02-weight-10\""));
    assert!(prod(&test, "search").contains("\"../../stages/01-mirror-100\""));
    test.args([
        "promote",
        "cutover.yaml",
        "--env",
        "prod",
        "--migration",
        "search",
    ])
    .stdout_contains(
        "search: prod promoted from mirror-100 to weight-10 (migrations[2].environments.prod in cutover.yaml)",
    )
    .run();
    let search = prod(&test, "search");
    assert!(search.contains("../../stages/02-weight-10"), "{search}");
    assert!(!search.contains("01-mirror-100"), "{search}");
    // The others did not move.
    assert!(prod(&test, "checkout").contains("../../stages/02-weight-10"));
    assert!(prod(&test, "ledger").contains("../../stages/02-weight-10"));

    test.args(["promote", "cutover.yaml", "--env", "staging"])
        .stdout_contains("checkout: staging promoted from half to weight-100 (defaults.environments.staging in cutover.yaml)")
        .run();
    for m in ["checkout", "ledger"] {
        let k = test.read(&format!("deploy/{m}/envs/staging/kustomization.yaml"));
        assert!(k.contains("../../stages/04-weight-100"), "{m}: {k}");
        assert!(
            k.starts_with("# Generated by cutover from cutover.yaml"),
            "{k}"
        );
    }
    test.args(["check"])
        .stdout("ok: 29 generated files up to date\n")
        .run();
}

/// The lines of `before` and `after` that differ (both must have as many lines).
fn changed_lines(before: &str, after: &str) -> Vec<(String, String)> {
    assert_eq!(
        before.lines().count(),
        after.lines().count(),
        "line count changed"
    );
    before
        .lines()
        .zip(after.lines())
        .filter(|(b, a)| b != a)
        .map(|(b, a)| (b.to_owned(), a.to_owned()))
        .collect()
}

/// Defect (issue 12): `promote` and `rollback` re-read the edited plan without its `base`
/// files, so they failed on every plan with `base:` ("base VirtualService ...: was not
/// read"). The plan is fixtures/golden/base-routes (prod at weight-10).
#[test]
fn promote_and_rollback_work_on_a_plan_with_a_base() {
    let test = Test::new().git_folder();
    crate::test::copy_dir(
        &crate::test::fixtures().join("golden/base-routes/input"),
        &test.path(),
    );
    let plan = test
        .read("cutover.yaml")
        .replace("output: ../expected", "output: generated");
    test.write("cutover.yaml", &plan);
    test.args(["render", "-q"]).run();

    test.args(["promote", "cutover.yaml", "--env", "prod"])
        .stdout_contains("reviews: prod promoted from weight-10 to weight-25")
        .run();
    let promoted = test.read("cutover.yaml");
    assert_eq!(
        changed_lines(&plan, &promoted),
        [(
            "      prod: weight-10".to_owned(),
            "      prod: weight-25".to_owned()
        )]
    );
    test.args(["check"]).stdout_contains("up to date").run();

    test.args(["rollback", "cutover.yaml", "--env", "prod"])
        .stdout_contains("reviews: prod rolled back from weight-25 to weight-10")
        .run();
    let rolled_back = test.read("cutover.yaml");
    assert_eq!(changed_lines(&promoted, &rolled_back).len(), 1);
    assert_eq!(rolled_back, plan);
    test.args(["check"]).stdout_contains("up to date").run();
}

#[test]
fn a_plan_in_a_missing_folder_is_reported_with_the_real_reason() {
    // The reason used to be replaced by "no such plan file" whatever went wrong.
    let test = Test::new().git_folder();
    test.args(["promote", "apps/missing/cutover.yaml", "--env", "prod"])
        .status(2)
        .stderr("error: cannot read apps/missing/cutover.yaml: No such file or directory (os error 2)\n")
        .run();
    test.write("apps/cutover.yaml", "");
    test.args(["promote", "apps/cutover.yaml/nested.yaml", "--env", "prod"])
        .status(2)
        .stderr_contains("cannot read apps/cutover.yaml/nested.yaml: Not a directory")
        .run();
}

/// Defect: a plan named on the command line was not judged against the other plans: a
/// second plan writing the same migration folder was not seen.
#[test]
fn promote_refuses_a_plan_that_writes_another_plans_folder() {
    let test = rendered(&plan_with_envs("      prod: weight-10\n"));
    let test = test.file(
        "second.cutover.yaml",
        plan_with_envs("      prod: weight-10\n"),
    );
    let before = test.tree();
    test.args(["promote", "cutover.yaml", "--env", "prod"])
        .status(2)
        .stderr_contains("which migration `checkout` of second.cutover.yaml also writes to")
        .run();
    assert_eq!(before, test.tree(), "nothing may change");
}
