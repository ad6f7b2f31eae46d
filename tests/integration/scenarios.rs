//! Scenarios: cutover driven in real git repositories the way people work with them
//! (branches, merges, rebases, reverts, cherry-picks, pre-commit hooks), each step's
//! verdict compared with the truth.
//!
//! The truth for "is this commit right" is a clean checkout: the commit is cloned into a
//! fresh folder (nothing untracked, nothing unstaged) and `cutover check` runs there; the
//! commit is right when that exits 0. Every scenario asserts the exit status and the key
//! line of what the binary printed, and that its verdict (exit 0 or not; for a hook, whether
//! the commit went through) equals the truth at the commit concerned.
//!
//! [`Repo`] is the git repository of one scenario: fixed names, e-mail addresses and dates
//! (each command one minute after the last, from 2020-01-01, or from a time set with
//! [`Repo::at`] where a hold is measured against the real clock), no global or system git
//! configuration, `main` as the first branch, no signing. The pre-commit scenarios run the
//! real framework (found as the validators find their tools: skipped when it is missing,
//! unless `CUTOVER_REQUIRE_TOOLS=1`).

use std::cell::Cell;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml::{Mapping, Value};
use tempfile::TempDir;

use crate::test::{assert_unchanged, run, tree, Output, BIN};
use crate::validators::tool;

/// 2020-01-01T00:00:00Z: the first commit's date (holds of a day are long over).
const START: u64 = 1_577_836_800;

/// Environment variables a surrounding git command or hook may set; none may leak in.
const LEAKS: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_PREFIX",
    "GIT_COMMON_DIR",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_EXEC_PATH",
    "PRE_COMMIT",
    "PRE_COMMIT_ALLOW_NO_CONFIG",
    "SKIP",
];

/// The git repository of one scenario, in its own temporary folder (beside it: the clones
/// the truth is read from, `HOME` and `PRE_COMMIT_HOME`).
#[must_use = "a Repo is a scenario's repository: run commands in it"]
pub struct Repo {
    _tmp: TempDir,
    root: PathBuf,
    clock: Cell<u64>,
    clones: Cell<u32>,
    scratch: Cell<u32>,
}

impl Repo {
    /// A new repository (`git init`) with nothing committed.
    pub fn new() -> Repo {
        let tmp = tempfile::Builder::new()
            .prefix("cutover-scenario-")
            .tempdir()
            .expect("create a temporary folder");
        let base = tmp
            .path()
            .canonicalize()
            .expect("canonical temporary folder");
        let root = base.join("repo");
        for dir in [&root, &base.join("home"), &base.join("clones")] {
            fs::create_dir_all(dir).expect("create folder");
        }
        let repo = Repo {
            _tmp: tmp,
            root,
            clock: Cell::new(START),
            clones: Cell::new(0),
            scratch: Cell::new(0),
        };
        repo.git(&["init", "-q"]);
        repo
    }

    /// Dates the following git commands from `secs` (seconds since the epoch) on.
    pub fn at(&self, secs: u64) -> &Repo {
        self.clock.set(secs);
        self
    }

    /// The work tree's root (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn base(&self) -> &Path {
        self.root
            .parent()
            .expect("the repository has a parent folder")
    }

    /// `program` run in `dir` with the scenario's environment: git identity and dates,
    /// configuration, `HOME`, `PRE_COMMIT_HOME`, no colour.
    fn command(&self, program: impl AsRef<OsStr>, dir: &Path) -> Command {
        let now = self.clock.get();
        self.clock.set(now + 60);
        let date = format!("{now} +0000");
        let mut cmd = Command::new(program);
        cmd.current_dir(dir);
        for key in LEAKS {
            cmd.env_remove(key);
        }
        let config = [
            ("init.defaultBranch", "main"),
            ("commit.gpgsign", "false"),
            ("tag.gpgsign", "false"),
            ("advice.detachedHead", "false"),
            ("core.autocrlf", "false"),
            ("merge.conflictStyle", "merge"),
        ];
        cmd.env("GIT_CONFIG_COUNT", config.len().to_string());
        for (i, (key, value)) in config.iter().enumerate() {
            cmd.env(format!("GIT_CONFIG_KEY_{i}"), key)
                .env(format!("GIT_CONFIG_VALUE_{i}"), value);
        }
        cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Ada Author")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Carl Committer")
            .env("GIT_COMMITTER_EMAIL", "carl@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .env("GIT_EDITOR", "true")
            .env("GIT_MERGE_AUTOEDIT", "no")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("HOME", self.base().join("home"))
            .env("PRE_COMMIT_HOME", self.base().join("pre-commit-home"))
            .env("PRE_COMMIT_COLOR", "never")
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs `git args` at the root; fails the test unless it exits 0; returns its stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let out = self.git_run(args);
        assert_eq!(out.code, 0, "git failed\n{}", out.context());
        out.stdout
    }

    /// Runs `git args` at the root, whatever it returns.
    pub fn git_run(&self, args: &[&str]) -> Output {
        let mut cmd = self.command("git", &self.root);
        cmd.args(args);
        run(cmd, &format!("git {}", args.join(" ")))
    }

    /// Runs any program at the root with the scenario's environment.
    pub fn run_at_root(&self, program: &Path, args: &[&str]) -> Output {
        let mut cmd = self.command(program, &self.root);
        cmd.args(args);
        run(cmd, &format!("{} {}", program.display(), args.join(" ")))
    }

    /// Runs the binary under test at the root.
    pub fn cutover<const N: usize>(&self, args: [&str; N]) -> Output {
        self.cutover_in(".", args)
    }

    /// Runs the binary under test in the subfolder `sub` of the root.
    pub fn cutover_in<const N: usize>(&self, sub: &str, args: [&str; N]) -> Output {
        let mut cmd = self.command(BIN, &self.root.join(sub));
        cmd.args(args);
        run(cmd, &format!("(in {sub}) cutover {}", args.join(" ")))
    }

    /// Writes a file of the work tree (creating its folders).
    pub fn write(&self, path: &str, contents: impl AsRef<[u8]>) -> &Repo {
        let p = self.root.join(path);
        fs::create_dir_all(p.parent().expect("parent folder")).expect("create folders");
        fs::write(&p, contents).expect("write file");
        self
    }

    /// Replaces the one occurrence of `from` by `to` in a file of the work tree.
    #[track_caller]
    pub fn edit(&self, path: &str, from: &str, to: &str) -> &Repo {
        let text = self.read(path);
        assert_eq!(
            text.matches(from).count(),
            1,
            "{path} must hold {from:?} once:\n{text}"
        );
        self.write(path, text.replacen(from, to, 1))
    }

    /// Reads a file of the work tree.
    pub fn read(&self, path: &str) -> String {
        fs::read_to_string(self.root.join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
    }

    /// Whether `path` exists in the work tree.
    pub fn exists(&self, path: &str) -> bool {
        self.root.join(path).symlink_metadata().is_ok()
    }

    /// The files under the folder `dir` of the work tree, relative to the root, sorted.
    pub fn files(&self, dir: &str) -> Vec<String> {
        tree(&self.root.join(dir))
            .into_keys()
            .filter(|k| !k.ends_with('/'))
            .map(|k| format!("{dir}/{k}"))
            .collect()
    }

    /// Stages everything (`git add -A`) and commits it, hooks skipped; returns the commit.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.commit_index(message)
    }

    /// Commits what is staged, hooks skipped; returns the commit.
    pub fn commit_index(&self, message: &str) -> String {
        self.git(&["commit", "-q", "--no-verify", "-m", message]);
        self.head()
    }

    /// `git commit -m message` of what is staged, through the installed hooks.
    pub fn try_commit(&self, message: &str) -> Output {
        self.git_run(&["commit", "-m", message])
    }

    /// What `git commit` would record now (the index, on top of HEAD), as a commit on a
    /// scratch branch of its own; work tree, index and HEAD untouched.
    pub fn would_commit(&self) -> String {
        let tree = self.git(&["write-tree"]);
        let head = self.head();
        let sha = self.git(&[
            "commit-tree",
            tree.trim(),
            "-p",
            &head,
            "-m",
            "would commit",
        ]);
        let n = self.scratch.get() + 1;
        self.scratch.set(n);
        self.git(&["branch", &format!("scratch/would-{n}"), sha.trim()]);
        sha.trim().to_owned()
    }

    /// Creates the branch `name` at HEAD and switches to it.
    pub fn branch(&self, name: &str) -> &Repo {
        self.git(&["switch", "-q", "-c", name]);
        self
    }

    /// Switches to the branch `name`.
    pub fn switch(&self, name: &str) -> &Repo {
        self.git(&["switch", "-q", name]);
        self
    }

    /// `git merge --no-ff --no-edit branch`, whatever it returns (a conflict exits 1).
    pub fn merge(&self, branch: &str) -> Output {
        self.git_run(&["merge", "--no-ff", "--no-edit", branch])
    }

    /// The commit HEAD names.
    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// `cutover check` in a clean checkout of `rev` (a fresh clone).
    pub fn truth(&self, rev: &str) -> Output {
        let sha = self.git(&["rev-parse", "--verify", &format!("{rev}^{{commit}}")]);
        let n = self.clones.get() + 1;
        self.clones.set(n);
        let dest = self.base().join("clones").join(n.to_string());
        let mut clone = self.command("git", self.base());
        clone.args([
            OsStr::new("clone"),
            OsStr::new("-q"),
            OsStr::new("--no-checkout"),
        ]);
        clone.arg(&self.root).arg(&dest);
        let out = run(clone, "git clone");
        assert_eq!(out.code, 0, "{}", out.context());
        let mut checkout = self.command("git", &dest);
        checkout.args(["checkout", "-q", "--detach", sha.trim()]);
        let out = run(checkout, "git checkout");
        assert_eq!(out.code, 0, "{}", out.context());
        let mut check = self.command(BIN, &dest);
        check.arg("check");
        let out = run(check, &format!("cutover check (clean checkout of {rev})"));
        assert!(
            matches!(out.code, 0..=2),
            "the truth must be a verdict or an error\n{}",
            out.context()
        );
        out
    }

    /// Whether the commit `rev` is right: `cutover check` exits 0 in a clean checkout.
    pub fn truth_at(&self, rev: &str) -> bool {
        self.truth(rev).code == 0
    }

    /// Asserts that `verdict` (exit 0: right) agrees with the truth at `rev`.
    #[track_caller]
    pub fn agrees(&self, verdict: &Output, rev: &str) {
        let truth = self.truth(rev);
        assert_eq!(
            verdict.code == 0,
            truth.code == 0,
            "the verdict disagrees with the truth at {rev}\n{}\n--- truth ---\n{}",
            verdict.context(),
            truth.context()
        );
    }
}

/// Asserts the exit status of `out` and that stdout or stderr holds each of `texts`.
#[track_caller]
fn expect(out: Output, code: i32, texts: &[&str]) -> Output {
    let all = format!("{}{}", out.stdout, out.stderr);
    let lacking: Vec<&&str> = texts.iter().filter(|t| !all.contains(**t)).collect();
    assert!(
        out.code == code && lacking.is_empty(),
        "expected exit {code} and output holding {lacking:?}\n{}",
        out.context()
    );
    out
}

/// As [`expect`], with owned texts.
#[track_caller]
fn expect_all(out: Output, code: i32, texts: &[String]) -> Output {
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    expect(out, code, &texts)
}

/// The words of the command after "to fix, run: " in what `out` printed.
#[track_caller]
fn fix(out: &Output) -> Vec<String> {
    let all = format!("{}{}", out.stdout, out.stderr);
    let line = all
        .lines()
        .find_map(|l| l.split_once("to fix, run: ").map(|(_, fix)| fix.to_owned()))
        .unwrap_or_else(|| panic!("no fix\n{}", out.context()));
    shlex::split(&line).unwrap_or_else(|| panic!("not a shell command: {line}"))
}

/// A second migration, appended to the starter plan: two stages, no environments.
const LEDGER: &str = "  - name: ledger
    namespace: finance
    from: ledger-service-entry.example.com
    to: ledger-gcpbackend.example.com
    stages:
      - {weight: 10, hold: 24h}
      - {weight: 100}
";

/// The starter plan's generated tree (`output: deploy/cutover`, one migration, four
/// stages, two environments).
const TREE: &str = "deploy/cutover";

/// A repository holding the starter plan (`cutover init`) and its rendered tree, committed.
fn started() -> Repo {
    let r = Repo::new();
    expect(r.cutover(["init"]), 0, &["wrote cutover.yaml"]);
    expect(
        r.cutover(["render"]),
        0,
        &["checkout: 10 written, 0 unchanged, 0 removed (cutover.yaml)"],
    );
    let first = r.commit("checkout: starter plan and its tree");
    expect(
        r.cutover(["check"]),
        0,
        &["ok: 10 generated files up to date"],
    );
    assert!(r.truth_at(&first));
    r
}

/// Appends [`LEDGER`] to the plan `path`.
fn add_ledger(r: &Repo, path: &str) {
    let plan = r.read(path);
    r.write(path, format!("{plan}{LEDGER}"));
}

// --- two plans, one folder -------------------------------------------------------------------

/// A second plan whose migration writes the starter plan's folder.
fn second_plan(r: &Repo) {
    let second = r
        .read("cutover.yaml")
        .replace("to: cr-gcpbackend.com ", "to: orders-gcpbackend.com ");
    r.write("second.cutover.yaml", second);
}

#[test]
fn two_plans_writing_one_folder_are_refused_whichever_is_named() {
    // The first plan rendered and committed; the second one added.
    let r = started();
    second_plan(&r);
    let before = tree(r.root());
    let check = expect(
        r.cutover(["check", "cutover.yaml"]),
        2,
        &[
            "error: migrations[0].name: migration `checkout` writes to deploy/cutover/checkout, which migration `checkout` of second.cutover.yaml also writes to",
            "--> cutover.yaml:10:",
        ],
    );
    assert!(!check.stdout.contains("ok"), "{}", check.context());
    expect(
        r.cutover(["render", "second.cutover.yaml"]),
        2,
        &[
            "error: migrations[0].name: migration `checkout` writes to deploy/cutover/checkout, which migration `checkout` of cutover.yaml also writes to",
            "--> second.cutover.yaml:10:",
        ],
    );
    assert_unchanged(&before, &tree(r.root()));
    let both = r.commit("orders: a second plan, same folder");
    r.agrees(&check, &both);
    assert!(!r.truth_at(&both));

    // Neither plan rendered yet: naming the second one writes nothing either.
    let r = Repo::new();
    expect(r.cutover(["init"]), 0, &["wrote cutover.yaml"]);
    second_plan(&r);
    let both = r.commit("two plans, one folder");
    let before = tree(r.root());
    expect(
        r.cutover(["render", "second.cutover.yaml"]),
        2,
        &["which migration `checkout` of cutover.yaml also writes to"],
    );
    assert_unchanged(&before, &tree(r.root()));
    let check = expect(
        r.cutover(["check", "second.cutover.yaml"]),
        2,
        &["which migration `checkout` of cutover.yaml also writes to"],
    );
    r.agrees(&check, &both);
}

// --- trees left behind -----------------------------------------------------------------------

/// `check` names each of `files` as `orphaned` with `why`, exits 1 and agrees with the truth
/// at HEAD; then a full `render` prints `rendered` and removes them.
#[track_caller]
fn left_behind(r: &Repo, files: &[String], why: &str, rendered: &[&str]) {
    let orphans: Vec<String> = files
        .iter()
        .map(|f| format!("orphaned: {f}: {why}\n"))
        .collect();
    let check = expect_all(r.cutover(["check"]), 1, &orphans);
    r.agrees(&check, &r.head());
    expect(r.cutover(["render"]), 0, rendered);
    for f in files {
        assert!(!r.exists(f), "{f} is still there after render");
    }
}

/// `check` passes, and agrees with the truth at a commit of everything.
#[track_caller]
fn commit_is_right(r: &Repo, message: &str, files: usize) {
    let sha = r.commit(message);
    let ok = format!("ok: {files} generated files up to date");
    r.agrees(&expect(r.cutover(["check"]), 0, &[&ok]), &sha);
}

#[test]
fn changed_output_leaves_the_old_tree_until_render() {
    let r = started();
    let old = r.files(TREE);
    assert_eq!(old.len(), 10);
    r.edit(
        "cutover.yaml",
        "output: deploy/cutover ",
        "output: manifests/cutover ",
    );
    r.commit("checkout: the tree moves to manifests/");
    left_behind(
        &r,
        &old,
        "generated from cutover.yaml earlier, outside its output folder manifests/cutover",
        &["checkout: 10 written, 0 unchanged, 10 removed (cutover.yaml)"],
    );
    assert!(
        !r.exists("deploy"),
        "render leaves the emptied folder deploy/"
    );
    assert_eq!(r.files("manifests/cutover").len(), 10);
    commit_is_right(&r, "checkout: tree in manifests/", 10);
}

#[test]
fn renamed_migration_leaves_its_folder_until_render() {
    let r = started();
    let old = r.files("deploy/cutover/checkout");
    r.edit("cutover.yaml", "name: checkout ", "name: orders   ");
    r.commit("checkout is called orders now");
    left_behind(
        &r,
        &old,
        "generated earlier, but the plan no longer produces it",
        &[
            "orders: 10 written, 0 unchanged, 0 removed (cutover.yaml)",
            "checkout: 0 written, 0 unchanged, 10 removed (cutover.yaml)",
        ],
    );
    assert!(!r.exists("deploy/cutover/checkout"));
    commit_is_right(&r, "orders: tree", 10);
}

#[test]
fn renamed_plan_takes_over_its_tree() {
    let r = started();
    let files = r.files(TREE);
    r.git(&["mv", "cutover.yaml", "payments.cutover.yaml"]);
    let renamed = r.commit_index("the plan is payments.cutover.yaml");
    let stale: Vec<String> = files
        .iter()
        .map(|f| format!("stale: {f}: differs from what the plan produces"))
        .chain(["to fix, run: cutover render payments.cutover.yaml".to_owned()])
        .collect();
    let check = expect_all(r.cutover(["check"]), 1, &stale);
    r.agrees(&check, &renamed);
    expect(
        r.cutover(["render"]),
        0,
        &["checkout: 10 written, 0 unchanged, 0 removed (payments.cutover.yaml)"],
    );
    let vs = r.read("deploy/cutover/checkout/stages/01-weight-10/virtualservice.yaml");
    assert!(vs.starts_with("# Generated by cutover from payments.cutover.yaml; do not edit.\n"));
    commit_is_right(&r, "payments: tree", 10);
}

#[test]
fn moved_plan_leaves_its_tree_behind() {
    let r = started();
    let old = r.files(TREE);
    fs::create_dir_all(r.root().join("apps/payments")).expect("create folder");
    r.git(&["mv", "cutover.yaml", "apps/payments/cutover.yaml"]);
    r.commit_index("the plan moves to apps/payments");
    left_behind(
        &r,
        &old,
        "generated from the plan cutover.yaml, which no longer exists",
        &["checkout: 10 written, 0 unchanged, 0 removed (apps/payments/cutover.yaml)",
            "checkout (from the deleted plan cutover.yaml): 0 written, 0 unchanged, 10 removed (apps/payments/cutover.yaml)"],
    );
    assert!(!r.exists("deploy"));
    assert_eq!(r.files("apps/payments/deploy/cutover").len(), 10);
    commit_is_right(&r, "payments: tree beside its plan", 10);
}

#[test]
fn deleted_plan_leaves_its_tree_until_a_full_render() {
    let r = started();
    let orders = r
        .read("cutover.yaml")
        .replace("output: deploy/cutover ", "output: deploy/orders ")
        .replace("name: checkout ", "name: orders   ");
    r.write("orders.cutover.yaml", orders);
    expect(
        r.cutover(["render"]),
        0,
        &["orders: 10 written, 0 unchanged, 0 removed (orders.cutover.yaml)"],
    );
    commit_is_right(&r, "orders: plan and tree", 20);
    let old = r.files("deploy/orders");
    r.git(&["rm", "-q", "orders.cutover.yaml"]);
    r.commit_index("orders: done, plan deleted");
    left_behind(
        &r,
        &old,
        "generated from the plan orders.cutover.yaml, which no longer exists",
        &[
            "checkout: 0 written, 10 unchanged, 0 removed (cutover.yaml)",
            "orders (from the deleted plan orders.cutover.yaml): 0 written, 0 unchanged, 10 removed (cutover.yaml)",
        ],
    );
    assert!(!r.exists("deploy/orders"));
    assert!(r.exists(TREE));
    commit_is_right(&r, "orders: tree removed", 10);
}

/// The end of a migration: its only plan deleted. The tree is reported and removed like any
/// plan's; then a commit without plans or generated files is right for `check --staged`.
#[test]
fn deleting_the_last_plan_leaves_its_tree_until_render() {
    let r = started();
    let old = r.files(TREE);
    r.git(&["rm", "-q", "cutover.yaml"]);
    r.commit_index("checkout: done, plan deleted");
    let orphans: Vec<String> = old
        .iter()
        .map(|f| {
            format!("orphaned: {f}: generated from the plan cutover.yaml, which no longer exists\n")
        })
        .collect();
    let check = expect_all(r.cutover(["check"]), 1, &orphans);
    r.agrees(&check, &r.head());
    expect_all(r.cutover(["check", "--staged"]), 1, &orphans);
    expect(
        r.cutover(["render"]),
        0,
        &["10 files removed: generated from plan files that no longer exist"],
    );
    assert!(!r.exists("deploy"), "emptied folders are removed too");
    // Removed in the work tree, not staged: the commit would still hold them.
    let staged = expect(
        r.cutover(["check", "--staged"]),
        1,
        &[
            "deleted in the work tree, but the deletion is not staged",
            "to fix, run: git add -A -- deploy/cutover/checkout",
        ],
    );
    let words = fix(&staged);
    let words: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    r.git(&words);
    expect(
        r.cutover(["check", "--staged"]),
        0,
        &["ok: no plan files and no generated files in the git index"],
    );
    // The work-tree check has nothing to check: an error, as before.
    expect(r.cutover(["check"]), 2, &["no plan files"]);
}

// --- branches --------------------------------------------------------------------------------

#[test]
fn merge_of_independent_changes_is_right() {
    let r = started();
    add_ledger(&r, "cutover.yaml");
    expect(
        r.cutover(["render"]),
        0,
        &["ledger: 4 written, 0 unchanged, 0 removed"],
    );
    commit_is_right(&r, "ledger: plan and tree", 14);
    r.branch("promote-staging");
    expect(
        r.cutover([
            "promote",
            "cutover.yaml",
            "--env",
            "staging",
            "--migration",
            "checkout",
        ]),
        0,
        &["checkout: staging promoted from weight-10 to weight-25"],
    );
    commit_is_right(&r, "checkout: staging to weight-25", 14);
    r.switch("main");
    r.edit(
        "cutover.yaml",
        "to: ledger-gcpbackend.example.com",
        "to: ledger-gcpbackend-v2.example.com",
    );
    expect(
        r.cutover(["render"]),
        0,
        &["ledger: 2 written, 2 unchanged, 0 removed"],
    );
    commit_is_right(&r, "ledger: v2 backend", 14);
    expect(r.merge("promote-staging"), 0, &[]);
    let check = expect(
        r.cutover(["check"]),
        0,
        &["ok: 14 generated files up to date"],
    );
    r.agrees(&check, "HEAD");
    assert!(r
        .read("deploy/cutover/checkout/envs/staging/kustomization.yaml")
        .contains("../../stages/02-weight-25"));
}

/// A branch adding a migration, and `main` changing what every migration renders
/// (`apiVersion`): both trees merge without a conflict, the result is stale.
fn diverged() -> Repo {
    let r = started();
    r.branch("ledger");
    add_ledger(&r, "cutover.yaml");
    expect(
        r.cutover(["render"]),
        0,
        &["ledger: 4 written, 0 unchanged, 0 removed"],
    );
    commit_is_right(&r, "ledger: plan and tree", 14);
    r.switch("main");
    r.edit(
        "cutover.yaml",
        "apiVersion: networking.istio.io/v1\n",
        "apiVersion: networking.istio.io/v1beta1\n",
    );
    expect(
        r.cutover(["render"]),
        0,
        &["checkout: 4 written, 6 unchanged, 0 removed"],
    );
    commit_is_right(&r, "VirtualServices as v1beta1", 10);
    r
}

const LEDGER_VS: [&str; 2] = [
    "stale: deploy/cutover/ledger/stages/01-weight-10/virtualservice.yaml: differs from what the plan produces",
    "stale: deploy/cutover/ledger/stages/02-weight-100/virtualservice.yaml: differs from what the plan produces",
];

#[test]
fn merge_without_conflicts_can_still_be_stale() {
    let r = diverged();
    expect(r.merge("ledger"), 0, &[]);
    let check = expect(r.cutover(["check"]), 1, &LEDGER_VS);
    r.agrees(&check, "HEAD");
    expect(
        r.cutover(["render"]),
        0,
        &["ledger: 2 written, 2 unchanged, 0 removed"],
    );
    commit_is_right(&r, "ledger: re-rendered after the merge", 14);
}

#[test]
fn rebase_with_check_stops_at_the_stale_commit() {
    let r = diverged();
    r.switch("ledger");
    let exec = format!("'{BIN}' check");
    let rebase = expect(
        r.git_run(&["rebase", "-x", &exec, "main"]),
        1,
        &[LEDGER_VS[0], "to fix, run: cutover render cutover.yaml"],
    );
    // The rebased commit is made before the check runs: HEAD is the stale commit.
    r.agrees(&rebase, "HEAD");
    expect(
        r.cutover(["render"]),
        0,
        &["ledger: 2 written, 2 unchanged, 0 removed"],
    );
    r.git(&["commit", "-q", "--no-verify", "-a", "--amend", "--no-edit"]);
    r.git(&["rebase", "--continue"]);
    let check = expect(
        r.cutover(["check"]),
        0,
        &["ok: 14 generated files up to date"],
    );
    r.agrees(&check, "HEAD");
    // Fails the test unless the branch is now on top of main.
    r.git(&["merge-base", "--is-ancestor", "main", "HEAD"]);
}

/// A promotion as users type it: no PLAN (the plan is found by its environment), and the
/// plan's comment after a quoted value kept.
#[test]
fn promote_without_plan_keeps_the_comment_after_a_quoted_value() {
    let r = started();
    r.edit(
        "cutover.yaml",
        "staging: weight-10",
        "staging: \"weight-10\"   # OPS-123",
    );
    commit_is_right(&r, "checkout: staging ticket", 10);
    expect(
        r.cutover(["promote", "--env", "staging"]),
        0,
        &["checkout: staging promoted from weight-10 to weight-25"],
    );
    assert!(
        r.read("cutover.yaml")
            .contains("staging: \"weight-25\"   # OPS-123\n"),
        "{}",
        r.read("cutover.yaml")
    );
    commit_is_right(&r, "checkout: staging to weight-25", 10);
}

#[test]
fn revert_of_a_promotion() {
    let r = started();
    expect(
        r.cutover(["promote", "cutover.yaml", "--env", "staging"]),
        0,
        &["checkout: staging promoted from weight-10 to weight-25"],
    );
    commit_is_right(&r, "checkout: staging to weight-25", 10);
    // The promotion commit holds the plan and the tree: its revert restores both.
    r.git(&["revert", "--no-edit", "HEAD"]);
    let check = expect(
        r.cutover(["check"]),
        0,
        &["ok: 10 generated files up to date"],
    );
    r.agrees(&check, "HEAD");
    let staging = "deploy/cutover/checkout/envs/staging/kustomization.yaml";
    assert!(r.read(staging).contains("../../stages/01-weight-10"));

    // Promoted by hand, the plan and the tree in two commits: reverting the plan's commit
    // leaves the tree promoted.
    r.edit("cutover.yaml", "staging: weight-10", "staging: weight-50");
    let promotion = r.commit("checkout: staging to weight-50");
    expect(
        r.cutover(["render"]),
        0,
        &["checkout: 1 written, 9 unchanged, 0 removed"],
    );
    commit_is_right(&r, "checkout: render", 10);
    r.git(&["revert", "--no-edit", &promotion]);
    assert!(r.read("cutover.yaml").contains("staging: weight-10"));
    let check = expect(
        r.cutover(["check"]),
        1,
        &[&format!(
            "stale: {staging}: differs from what the plan produces"
        )],
    );
    r.agrees(&check, "HEAD");
    expect(
        r.cutover(["render"]),
        0,
        &["checkout: 1 written, 9 unchanged, 0 removed"],
    );
    commit_is_right(&r, "checkout: render the revert", 10);
    assert!(r.read(staging).contains("../../stages/01-weight-10"));
}

#[test]
fn cherry_pick_of_a_plan_change_without_its_tree() {
    let r = started();
    r.branch("more-stages");
    r.edit(
        "cutover.yaml",
        "      - {weight: 50, hold: 24h}\n",
        "      - {weight: 50, hold: 24h}\n      - {weight: 75, hold: 24h}\n",
    );
    let plan_only = r.commit("checkout: a 75% stage");
    expect(
        r.cutover(["render"]),
        0,
        &["checkout: 4 written, 8 unchanged, 2 removed"],
    );
    let tree_only = r.commit("checkout: render");
    r.switch("main");
    r.git(&["cherry-pick", &plan_only]);
    let check = expect(
        r.cutover(["check"]),
        1,
        &[
            "missing: deploy/cutover/checkout/stages/04-weight-75/virtualservice.yaml",
            "orphaned: deploy/cutover/checkout/stages/04-weight-100/virtualservice.yaml",
        ],
    );
    r.agrees(&check, "HEAD");
    r.git(&["cherry-pick", &tree_only]);
    let check = expect(
        r.cutover(["check"]),
        0,
        &["ok: 12 generated files up to date"],
    );
    r.agrees(&check, "HEAD");
}

#[test]
fn merge_conflict_in_the_index_is_an_error_for_check_staged() {
    let r = started();
    r.branch("staging-25");
    r.edit("cutover.yaml", "staging: weight-10", "staging: weight-25");
    expect(r.cutover(["render"]), 0, &["checkout: 1 written"]);
    commit_is_right(&r, "checkout: staging to weight-25", 10);
    r.switch("main");
    r.edit("cutover.yaml", "staging: weight-10", "staging: weight-50");
    expect(r.cutover(["render"]), 0, &["checkout: 1 written"]);
    commit_is_right(&r, "checkout: staging to weight-50", 10);
    expect(
        r.merge("staging-25"),
        1,
        &["CONFLICT (content): Merge conflict in cutover.yaml"],
    );
    let staged = expect(
        r.cutover(["check", "--staged"]),
        2,
        &["error: the index has unresolved merge conflicts (cutover.yaml, deploy/cutover/checkout/envs/staging/kustomization.yaml); resolve them first"],
    );
    assert!(staged.stdout.is_empty(), "{}", staged.context());
    // The work tree's plan holds the conflict markers: an error with its place.
    expect(r.cutover(["check"]), 2, &["--> cutover.yaml:"]);
    // Resolved in the plan only; the tree follows from it.
    r.git(&["checkout", "--theirs", "cutover.yaml"]);
    expect(
        r.cutover(["render"]),
        0,
        &["checkout: 1 written, 9 unchanged, 0 removed"],
    );
    r.git(&["add", "-A"]);
    let staged = expect(
        r.cutover(["check", "--staged"]),
        0,
        &["ok: 10 generated files up to date in the git index"],
    );
    r.git(&["commit", "-q", "--no-verify", "--no-edit"]);
    r.agrees(&staged, "HEAD");
}

// --- subfolders ------------------------------------------------------------------------------

#[test]
fn check_from_a_subfolder() {
    let r = Repo::new();
    expect(
        r.cutover(["init", "apps/payments/cutover.yaml"]),
        0,
        &["wrote apps/payments/cutover.yaml"],
    );
    expect(
        r.cutover(["init", "apps/orders/cutover.yaml", "--name", "orders"]),
        0,
        &[],
    );
    expect(
        r.cutover(["render"]),
        0,
        &["checkout: 10 written", "orders: 10 written"],
    );
    commit_is_right(&r, "payments and orders", 20);
    let vs = "apps/payments/deploy/cutover/checkout/stages/02-weight-25/virtualservice.yaml";
    r.edit(vs, "weight: 25\n", "weight: 30\n");
    let edited = r.commit("payments: 30% by hand");
    let stale = format!("stale: {vs}: differs from what the plan produces");
    for sub in ["apps/payments", "apps"] {
        let check = expect(r.cutover_in(sub, ["check"]), 1, &[&stale]);
        r.agrees(&check, &edited);
    }
    expect(
        r.cutover_in("apps/payments", ["check"]),
        1,
        &["1 file out of date; to fix, run: cutover render cutover.yaml"],
    );
    // A subfolder's check speaks for the plans under it only.
    expect(
        r.cutover_in("apps/orders", ["check"]),
        0,
        &["ok: 10 generated files up to date"],
    );
    // Inside a plan's tree no plan is found: an error, not a verdict.
    let inside = expect(
        r.cutover_in("apps/payments/deploy/cutover/checkout", ["check"]),
        2,
        &["no plan files (`cutover.yaml` or `*.cutover.yaml`) found under"],
    );
    assert!(inside.stdout.is_empty());

    // check --staged from a subfolder: the hint's pathspecs work from there.
    expect(r.cutover(["render"]), 0, &["checkout: 1 written"]);
    r.git(&["reset", "-q"]);
    let hint = expect(
        r.cutover_in("apps/payments", ["check", "--staged"]),
        1,
        &[&format!(
            "stale: {vs}: the work tree has it right, but the staged copy differs"
        )],
    );
    let words = fix(&hint);
    assert_eq!(
        words,
        ["git", "add", "-A", "--", ":/apps/payments/deploy/cutover"]
    );
    let mut add = r.command("git", &r.root().join("apps/payments"));
    add.args(&words[1..]);
    assert_eq!(run(add, "git add").code, 0);
    let staged = expect(
        r.cutover_in("apps/payments", ["check", "--staged"]),
        0,
        &["ok: 10 generated files up to date in the git index"],
    );
    r.commit_index("payments: back to the plan");
    r.agrees(&staged, "HEAD");
}

// --- pre-commit --------------------------------------------------------------------------------

/// A `.pre-commit-config.yaml` running the hooks `ids` of this repository's
/// `.pre-commit-hooks.yaml` as `repo: local` hooks: the same entry (with the binary under
/// test for `cutover`) and settings, `language: system` (no hook environment to build).
fn local_hooks(ids: &[&str]) -> String {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml");
    let text = fs::read_to_string(&manifest).expect("read .pre-commit-hooks.yaml");
    let hooks: Vec<Mapping> = serde_yaml::from_str(&text).expect("parse .pre-commit-hooks.yaml");
    let bin = shlex::try_quote(BIN).expect("quotable binary path");
    let local: Vec<Value> = ids
        .iter()
        .map(|id| {
            let mut hook = hooks
                .iter()
                .find(|h| h.get("id").and_then(Value::as_str) == Some(*id))
                .unwrap_or_else(|| panic!("no hook {id}"))
                .clone();
            let entry = hook.get("entry").and_then(Value::as_str).expect("entry");
            let args = entry.strip_prefix("cutover ").expect("entry runs cutover");
            hook.insert("entry".into(), format!("{bin} {args}").into());
            hook.insert("language".into(), "system".into());
            hook.remove("description");
            Value::Mapping(hook)
        })
        .collect();
    let mut repo = Mapping::new();
    repo.insert("repo".into(), "local".into());
    repo.insert("hooks".into(), Value::Sequence(local));
    let mut config = Mapping::new();
    config.insert("repos".into(), Value::Sequence(vec![Value::Mapping(repo)]));
    serde_yaml::to_string(&config).expect("write the config")
}

/// The starter repository with the hooks `ids` installed by the real pre-commit; `None`
/// (the scenario is skipped) without pre-commit.
fn with_hooks(ids: &[&str]) -> Option<Repo> {
    let pre_commit = tool("pre-commit")?;
    let r = started();
    r.write(".pre-commit-config.yaml", local_hooks(ids));
    r.commit("pre-commit hooks");
    expect(
        r.run_at_root(&pre_commit, &["install"]),
        0,
        &["pre-commit installed"],
    );
    Some(r)
}

/// `git commit` through the hooks: blocked when the commit would be wrong, and the other way
/// round. Returns the output of `git commit`.
#[track_caller]
fn commit_through_hooks(r: &Repo, message: &str, goes_through: bool, texts: &[&str]) -> Output {
    let would = r.would_commit();
    let before = r.head();
    let out = expect(r.try_commit(message), i32::from(!goes_through), texts);
    r.agrees(&out, &would);
    if goes_through {
        assert_eq!(
            r.git(&["rev-parse", "HEAD^{tree}"]),
            r.git(&["rev-parse", &format!("{would}^{{tree}}")])
        );
    } else {
        assert_eq!(r.head(), before, "the commit was made");
    }
    out
}

const HAND_EDITED: &str = "deploy/cutover/checkout/stages/01-weight-10/virtualservice.yaml";

#[test]
fn pre_commit_check_hook_judges_the_commit() {
    let Some(r) = with_hooks(&["cutover-check"]) else {
        return;
    };
    // A new migration rendered, only the plan staged: the commit would lack its tree.
    add_ledger(&r, "cutover.yaml");
    expect(
        r.cutover(["render"]),
        0,
        &["ledger: 4 written, 0 unchanged, 0 removed"],
    );
    r.git(&["add", "cutover.yaml"]);
    let blocked = commit_through_hooks(
        &r,
        "ledger",
        false,
        &[
            "cutover check",
            "Failed",
            "missing: deploy/cutover/ledger/stages/01-weight-10/virtualservice.yaml: the plan produces it; the work tree has it, but it is not staged",
            "to fix, run: git add -A -- deploy/cutover",
        ],
    );
    let words = fix(&blocked);
    let words: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    r.git(&words);
    commit_through_hooks(&r, "ledger", true, &["cutover check", "Passed"]);

    // An unstaged hand edit is not part of a commit of other files: not blocked.
    r.edit(HAND_EDITED, "weight: 10\n", "weight: 15\n");
    r.write("config/app.yaml", "replicas: 2\n");
    r.git(&["add", "config/app.yaml"]);
    commit_through_hooks(&r, "app config", true, &["cutover check", "Passed"]);
    assert!(
        r.read(HAND_EDITED).contains("weight: 15\n"),
        "pre-commit lost the unstaged edit"
    );
    // Staged, it is.
    r.git(&["add", HAND_EDITED]);
    commit_through_hooks(
        &r,
        "hand edit",
        false,
        &[&format!(
            "stale: {HAND_EDITED}: the staged copy differs from what the plan produces"
        )],
    );
    r.git(&["checkout", "HEAD", "--", HAND_EDITED]);
}

#[test]
fn pre_commit_render_hook_judges_the_commit() {
    let Some(r) = with_hooks(&["cutover-render"]) else {
        return;
    };
    // Only the plan staged, nothing rendered: the hook renders, and blocks.
    add_ledger(&r, "cutover.yaml");
    r.git(&["add", "cutover.yaml"]);
    commit_through_hooks(
        &r,
        "ledger",
        false,
        &[
            "cutover render",
            "Failed",
            "ledger: 4 written, 0 unchanged, 0 removed (cutover.yaml)",
            "the generated files changed: stage them (git add) and commit again",
        ],
    );
    assert!(r.exists("deploy/cutover/ledger/stages/01-weight-10/virtualservice.yaml"));
    // Again without staging what it wrote: nothing to render, still not in the commit.
    commit_through_hooks(
        &r,
        "ledger",
        false,
        &[
            "ledger: 0 written, 4 unchanged, 0 removed (cutover.yaml)",
            "missing: deploy/cutover/ledger/stages/01-weight-10/virtualservice.yaml: the plan produces it; the work tree has it, but it is not staged",
        ],
    );
    r.git(&["add", "-A"]);
    commit_through_hooks(&r, "ledger", true, &["cutover render", "Passed"]);

    // An unstaged hand edit: pre-commit sets it aside, the commit of other files is right,
    // and the edit is back afterwards.
    r.edit(HAND_EDITED, "weight: 10\n", "weight: 15\n");
    r.write("config/app.yaml", "replicas: 2\n");
    r.git(&["add", "config/app.yaml"]);
    commit_through_hooks(&r, "app config", true, &["cutover render", "Passed"]);
    assert!(
        r.read(HAND_EDITED).contains("weight: 15\n"),
        "pre-commit lost the unstaged edit"
    );
    // Staged: the hook restores the file in the work tree and blocks.
    r.git(&["add", HAND_EDITED]);
    commit_through_hooks(
        &r,
        "hand edit",
        false,
        &["checkout: 1 written, 9 unchanged, 0 removed (cutover.yaml)"],
    );
    assert!(r.read(HAND_EDITED).contains("weight: 10\n"));
}

// --- init, holds, references -----------------------------------------------------------------

#[test]
fn init_refuses_a_plan_the_search_would_not_find() {
    let r = Repo::new();
    let refused = expect(
        r.cutover(["init", "apps/orders/plan.yaml"]),
        2,
        &[
            "error: apps/orders/plan.yaml would not be found by cutover's plan search",
            "use apps/orders/cutover.yaml or apps/orders/plan.cutover.yaml",
        ],
    );
    assert!(refused.stdout.is_empty());
    assert!(!r.exists("apps"), "init wrote something");
    expect(
        r.cutover(["init", "apps/orders/plan.cutover.yaml"]),
        0,
        &["wrote apps/orders/plan.cutover.yaml"],
    );
    expect(
        r.cutover(["render"]),
        0,
        &["checkout: 10 written, 0 unchanged, 0 removed (apps/orders/plan.cutover.yaml)"],
    );
    commit_is_right(&r, "orders: plan and tree", 10);
    // The search finds it: a change not rendered is seen.
    r.edit(
        "apps/orders/plan.cutover.yaml",
        "staging: weight-10",
        "staging: weight-25",
    );
    let sha = r.commit("orders: staging to weight-25, not rendered");
    let check = expect(
        r.cutover(["check"]),
        1,
        &["stale: apps/orders/deploy/cutover/checkout/envs/staging/kustomization.yaml"],
    );
    r.agrees(&check, &sha);
}

/// Seconds since the epoch, now.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs()
}

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

#[test]
fn hold_counts_from_the_merge_of_a_promotion() {
    let now = now();
    let r = Repo::new();
    r.at(now - 10 * DAY);
    expect(r.cutover(["init"]), 0, &["wrote cutover.yaml"]);
    expect(r.cutover(["render"]), 0, &["checkout: 10 written"]);
    r.commit("checkout: starter plan and tree");
    // Promoted on a branch three days ago, merged an hour ago.
    r.branch("promote-staging").at(now - 3 * DAY);
    expect(
        r.cutover(["promote", "--env", "staging"]),
        0,
        &["checkout: staging promoted from weight-10 to weight-25"],
    );
    commit_is_right(&r, "checkout: staging to weight-25", 10);
    r.switch("main").at(now - HOUR);
    expect(r.merge("promote-staging"), 0, &[]);
    // Seconds pass while the test runs: "1h" stays, the time left changes.
    let status = expect(r.cutover(["status"]), 0, &[]);
    let staging = status
        .stdout
        .lines()
        .find(|l| l.split_whitespace().nth(2) == Some("staging"))
        .expect("staging");
    assert!(
        staging.contains(" 2/4 weight-25 ")
            && (staging.contains(" 23h ") || staging.contains(" 22h 59m "))
            && staging.contains(" wait "),
        "{}",
        status.context()
    );
    // Dated by the merge: an hour ago.
    let json = expect(r.cutover(["status", "--format", "json"]), 0, &[]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let since = doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|row| row["environment"] == "staging")
        .and_then(|row| row["since"].as_u64())
        .expect("staging's since");
    assert!(
        (HOUR..HOUR + 60).contains(&(now - since)),
        "{}",
        json.context()
    );
    let before = tree(r.root());
    expect(
        r.cutover(["promote", "--env", "staging"]),
        2,
        &[
            "error: staging of checkout has been at weight-25 for 1h; its hold is 1d (",
            "to go); add --force to promote anyway",
        ],
    );
    assert_unchanged(&before, &tree(r.root()));
    r.agrees(
        &expect(
            r.cutover(["check"]),
            0,
            &["ok: 10 generated files up to date"],
        ),
        "HEAD",
    );

    // A fast-forward keeps the branch's commit date: the hold looks done (see the README).
    r.git(&["reset", "-q", "--hard", "HEAD~1"]);
    r.git(&["merge", "-q", "--ff-only", "promote-staging"]);
    expect(
        r.cutover(["promote", "--env", "staging"]),
        0,
        &["checkout: staging promoted from weight-25 to weight-50"],
    );
    commit_is_right(&r, "checkout: staging to weight-50", 10);
}

#[test]
fn kustomization_pointing_at_a_renumbered_stage_is_reported() {
    let r = started();
    let pinned = "overlays/pinned/kustomization.yaml";
    r.write(
        pinned,
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../deploy/cutover/checkout/stages/02-weight-25\n",
    );
    r.write(
        "overlays/prod/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../deploy/cutover/checkout/envs/prod\n",
    );
    commit_is_right(
        &r,
        "overlays: pinned to 25%, prod follows its environment",
        10,
    );
    // A 5% stage first: every stage folder is renumbered.
    r.edit(
        "cutover.yaml",
        "      - {weight: 10, hold: 24h}\n",
        "      - {weight: 5, hold: 24h}\n      - {weight: 10, hold: 24h}\n",
    );
    let broken = format!(
        "{pinned}:4:5: resources[0] \"../../deploy/cutover/checkout/stages/02-weight-25\" points at deploy/cutover/checkout/stages/02-weight-25, which the plans do not produce (stage weight-25 is now stages/03-weight-25: write ../../deploy/cutover/checkout/stages/03-weight-25"
    );
    let render = expect(
        r.cutover(["render"]),
        0,
        &[
            "checkout: 12 written, 0 unchanged, 8 removed",
            &format!("warning: {broken}"),
        ],
    );
    assert!(
        !render.stderr.contains("overlays/prod"),
        "{}",
        render.context()
    );
    r.git(&["add", "-A"]);
    let staged = expect(r.cutover(["check", "--staged"]), 1, &[&broken]);
    let sha = r.commit_index("checkout: a 5% stage first");
    r.agrees(&staged, &sha);
    let check = expect(
        r.cutover(["check"]),
        1,
        &[
            &broken,
            "1 reference into generated trees points at paths the plans do not produce",
        ],
    );
    assert!(
        !check.stdout.contains("overlays/prod"),
        "{}",
        check.context()
    );
    r.agrees(&check, &sha);
    r.edit(pinned, "stages/02-weight-25", "stages/03-weight-25");
    commit_is_right(&r, "overlays: pinned to 25% again", 12);
}

// --- other repositories and odd trees: never another's files ------------------------------

/// A repository nested in this one (or a linked worktree, a submodule) is another
/// repository: its plans and generated files are its own, even with the same plan name.
#[test]
fn a_nested_repository_is_left_alone() {
    let r = started();
    let inner = Repo::new();
    expect(inner.cutover(["init"]), 0, &["wrote cutover.yaml"]);
    // The inner repository sits inside the outer one (ignored there).
    let nested = r.root().join("vendor-repo");
    fs::rename(inner.root(), &nested).expect("move the inner repository in");
    r.write(".gitignore", "vendor-repo/\n");
    r.commit("ignore the nested repository");
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .current_dir(&nested)
            .output()
            .expect("run cutover");
        assert!(out.status.success(), "{out:?}");
    };
    run(&["render"]);
    let inner_files = r.files("vendor-repo/deploy/cutover");
    assert_eq!(inner_files.len(), 10);
    for out in [r.cutover(["render", "cutover.yaml"]), r.cutover(["render"])] {
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(r.files("vendor-repo/deploy/cutover"), inner_files);
    }
    expect(
        r.cutover(["check"]),
        0,
        &["ok: 10 generated files up to date"],
    );
}

/// A folder without a plan, outside git: nothing there says a file's plan is gone, so
/// nothing is reported or removed (the generated tree of the plan one folder up).
#[test]
fn outside_git_a_folder_without_a_plan_removes_nothing() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let plan =
        fs::read_to_string(crate::test::fixtures().join("golden/example/input/cutover.yaml"))
            .expect("read the example plan")
            .replace("output: ../expected", "output: out");
    fs::write(dir.path().join("cutover.yaml"), plan).expect("write the plan");
    let cutover = |sub: &str, args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .current_dir(dir.path().join(sub))
            .output()
            .expect("run cutover")
    };
    assert!(cutover("", &["render", "-q"]).status.success());
    let before = tree(dir.path());
    for args in [&["check"][..], &["render"]] {
        let out = cutover("out", args);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("no plan files"));
    }
    assert_unchanged(&before, &tree(dir.path()));
}

/// The commit as git holds it: an output folder reached through a symbolic link, and a
/// sparse checkout that leaves the generated tree out of the work tree.
#[cfg(unix)]
#[test]
fn check_staged_follows_symlinks_and_sparse_checkouts() {
    let r = Repo::new();
    fs::create_dir_all(r.root().join("clusters/prod")).expect("create folder");
    std::os::unix::fs::symlink("clusters/prod", r.root().join("deploy")).expect("symlink");
    expect(r.cutover(["init"]), 0, &["wrote cutover.yaml"]);
    expect(r.cutover(["render"]), 0, &["10 written"]);
    let sha = r.commit("plan and tree, through a symlink");
    let ok = "ok: 10 generated files up to date in the git index";
    r.agrees(&expect(r.cutover(["check", "--staged"]), 0, &[ok]), &sha);
    // Without the tree in the work tree, the index still holds it.
    r.git(&["sparse-checkout", "set", "--no-cone", "/*", "!/clusters/"]);
    assert!(!r.exists("clusters/prod/cutover/checkout/envs/prod/kustomization.yaml"));
    expect(r.cutover(["check", "--staged"]), 0, &[ok]);
}

/// `check --changed-since` after a commit that deletes one of two plans: the deleted
/// plan's tree is still there, so the commit is not right.
#[test]
fn changed_since_sees_a_deleted_plans_tree() {
    let r = started();
    second_plan_elsewhere(&r);
    expect(r.cutover(["render"]), 0, &["orders: 10 written"]);
    let base = r.commit("orders: plan and tree");
    r.git(&["rm", "-q", "orders.cutover.yaml"]);
    let deleted = r.commit_index("orders: plan deleted");
    let check = expect(
        r.cutover(["check", "--changed-since", &base]),
        1,
        &["generated from the plan orders.cutover.yaml, which no longer exists"],
    );
    r.agrees(&check, &deleted);
}

/// A second plan with its own output and migration (`orders`).
fn second_plan_elsewhere(r: &Repo) {
    let orders = r
        .read("cutover.yaml")
        .replace("output: deploy/cutover ", "output: deploy/orders ")
        .replace("name: checkout ", "name: orders   ");
    r.write("orders.cutover.yaml", orders);
}

/// A user's own file kept inside a migration folder may be referenced; a reference into
/// the folder of a renamed migration is broken once render removed it.
#[test]
fn references_to_user_files_and_to_renamed_migrations() {
    let r = started();
    r.write(
        "deploy/cutover/checkout/extra/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\n",
    );
    r.write(
        "overlays/prod/kustomization.yaml",
        "resources:\n  - ../../deploy/cutover/checkout/extra/cm.yaml\n  - ../../deploy/cutover/checkout/stages/02-weight-25\n",
    );
    expect(
        r.cutover(["check"]),
        0,
        &["ok: 10 generated files up to date"],
    );
    r.edit("cutover.yaml", "name: checkout ", "name: payments ");
    expect(r.cutover(["render"]), 0, &["payments: 10 written"]);
    let check = expect(
        r.cutover(["check"]),
        1,
        &[
            "overlays/prod/kustomization.yaml:3:5: resources[1] \"../../deploy/cutover/checkout/stages/02-weight-25\"",
            "no plan produces it now",
        ],
    );
    assert!(!check.stdout.contains("extra/cm.yaml"), "{}", check.stdout);
}

// --- check --staged against the commit, whatever the work tree holds ------------------------

/// `check --staged`'s verdict equals the truth of the commit the index would make.
#[track_caller]
fn staged_agrees(r: &Repo, code: i32, texts: &[&str]) -> Output {
    let verdict = expect(r.cutover(["check", "--staged"]), code, texts);
    let would = r.would_commit();
    r.agrees(&verdict, &would);
    verdict
}

/// Files the commit will not hold never make the verdict: an ignored base file, an
/// entry added with intent to add, a file marked assume-unchanged; and an unrelated
/// untracked file (which makes a copy of the index) changes nothing.
#[test]
fn check_staged_judges_what_the_commit_holds() {
    let r = started();
    // An untracked YAML file elsewhere: the index is copied, the verdict is the same.
    r.write("notes.yaml", "a: 1\n");
    staged_agrees(
        &r,
        0,
        &["ok: 10 generated files up to date in the git index"],
    );
    // A kustomization of the user's own pointing at files cutover has nothing to do with.
    r.write("crds/00-crds.yaml", "kind: List\n");
    r.write(
        "deploy/kustomization.yaml",
        "resources:\n  - ../crds/00-crds.yaml\n  - cutover/checkout/envs/prod\n",
    );
    r.git(&["add", "crds", "deploy/kustomization.yaml"]);
    staged_agrees(
        &r,
        0,
        &["ok: 10 generated files up to date in the git index"],
    );
    r.commit("crds and a kustomization");

    // Generated files added with intent to add are not in the commit: missing, not an error.
    let prod = "deploy/cutover/checkout/envs/prod/kustomization.yaml";
    r.git(&["rm", "-q", "--cached", prod]);
    r.git(&["add", "-N", prod]);
    staged_agrees(&r, 1, &[&format!("missing: {prod}")]);
    r.git(&["add", prod]);

    // A generated file staged wrong, then marked assume-unchanged with the right bytes back
    // in the work tree: git status says nothing, the commit is still wrong.
    let good = r.read(prod);
    r.write(prod, format!("{good}# tampered\n"));
    r.git(&["add", prod]);
    r.write(prod, &good);
    r.git(&["update-index", "--assume-unchanged", prod]);
    staged_agrees(&r, 1, &[&format!("stale: {prod}")]);
    r.git(&["update-index", "--no-assume-unchanged", prod]);
    r.git(&["add", prod]);

    // A base file that is ignored: there in the work tree, never in a commit.
    r.write(".gitignore", "vendor/\n");
    r.write(
        "vendor/vs.yaml",
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: checkout\n  namespace: payments\nspec:\n  hosts: [cr-service-entry.com]\n  http:\n  - route:\n    - destination:\n        host: cr-service-entry.com\n",
    );
    r.edit(
        "cutover.yaml",
        "    namespace: payments\n",
        "    namespace: payments\n    base: vendor/vs.yaml\n",
    );
    expect(r.cutover(["render"]), 0, &["checkout:"]);
    r.git(&["add", "-A"]);
    staged_agrees(&r, 2, &["vendor/vs.yaml"]);
}

/// A plan named on the command line with a name the search does not find, checked
/// through a copy of the index (an untracked file makes one).
#[test]
fn check_staged_of_a_named_plan_with_another_name() {
    let r = Repo::new();
    expect(
        r.cutover(["init", "deploy/plan.cutover.yaml"]),
        0,
        &["wrote"],
    );
    fs::rename(
        r.root().join("deploy/plan.cutover.yaml"),
        r.root().join("deploy/plan.yaml"),
    )
    .expect("rename the plan");
    expect(
        r.cutover(["render", "deploy/plan.yaml"]),
        0,
        &["10 written"],
    );
    r.commit("a plan named plan.yaml");
    r.write("notes.yaml", "a: 1\n");
    expect(
        r.cutover(["check", "--staged", "deploy/plan.yaml"]),
        0,
        &["ok: 10 generated files up to date in the git index"],
    );
}

/// A sparse checkout leaves the plan off the disk: its tree is not left behind.
#[test]
fn a_plan_left_out_by_a_sparse_checkout_keeps_its_tree() {
    let r = Repo::new();
    fs::create_dir_all(r.root().join("apps/pay")).expect("create folder");
    expect(
        r.cutover_in("apps/pay", ["init", "--output", "../../deploy"]),
        0,
        &["wrote"],
    );
    expect(r.cutover_in("apps/pay", ["render"]), 0, &["10 written"]);
    r.commit("plan and tree");
    r.git(&["sparse-checkout", "set", "--no-cone", "/deploy/"]);
    assert!(!r.exists("apps/pay/cutover.yaml"));
    let before = tree(r.root());
    let out = r.cutover_in("deploy", ["render"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_unchanged(&before, &tree(r.root()));
}

/// Line endings converted on checkout (`eol=crlf`, as `core.autocrlf` does on Windows):
/// the generated files are still the plan's, in the work tree, the index and a clone.
#[test]
fn crlf_checkouts_are_up_to_date() {
    let r = started();
    r.write(".gitattributes", "*.yaml text eol=crlf\n");
    // Checked out again, every YAML file ends its lines in CRLF.
    fs::remove_dir_all(r.root().join(TREE)).expect("remove the tree");
    r.git(&["checkout", "--", TREE]);
    r.git(&["add", ".gitattributes"]);
    let prod = format!("{TREE}/checkout/envs/prod/kustomization.yaml");
    assert!(r.read(&prod).contains("\r\n"), "not checked out with CRLF");
    let sha = r.commit("line endings");
    let ok = "ok: 10 generated files up to date";
    r.agrees(&expect(r.cutover(["check"]), 0, &[ok]), &sha);
    expect(r.cutover(["check", "--staged"]), 0, &[ok]);
    r.write("notes.yaml", "a: 1\n");
    expect(r.cutover(["check", "--staged"]), 0, &[ok]);
    expect(r.cutover(["render"]), 0, &["0 written, 10 unchanged"]);
    // An edit is still an edit.
    r.edit(&prod, "weight-10", "weight-25");
    expect(r.cutover(["check"]), 1, &[&format!("stale: {prod}")]);
}

/// What the plans read by path decides too: an ignored (hidden) output folder, an
/// untracked file keeping a renamed migration's old folder alive, generated files git
/// takes for binary.
#[test]
fn check_staged_sees_what_the_plans_read_by_path() {
    // An output folder git ignores: the commit holds no generated file.
    let r = Repo::new();
    r.write("README.md", "gitops\n");
    r.commit("start");
    expect(r.cutover(["init", "--output", ".deploy"]), 0, &["wrote"]);
    expect(r.cutover(["render"]), 0, &["10 written"]);
    r.write(".gitignore", ".deploy/\n");
    r.git(&["add", "-A"]);
    staged_agrees(
        &r,
        1,
        &["missing: .deploy/checkout/envs/prod/kustomization.yaml"],
    );

    // A migration renamed; an untracked note keeps its old stage folder on disk, where a
    // kustomization still points.
    let r = started();
    r.write(
        "overlays/prod/kustomization.yaml",
        "resources:\n  - ../../deploy/cutover/checkout/stages/02-weight-25\n",
    );
    r.commit("an overlay pinned to a stage");
    r.write(
        "deploy/cutover/checkout/stages/02-weight-25/notes.txt",
        "mine\n",
    );
    r.edit("cutover.yaml", "name: checkout ", "name: payments ");
    expect(r.cutover(["render"]), 0, &["payments: 10 written"]);
    r.git(&["add", "-A", "cutover.yaml", "deploy/cutover/payments"]);
    r.git(&["add", "-u"]);
    staged_agrees(&r, 1, &["no plan produces it now"]);

    // Generated files with a -diff attribute (git grep calls them binary).
    let r = started();
    r.write(".gitattributes", "*.yaml -diff\n");
    r.commit("yaml is binary to diff");
    r.edit(
        "cutover.yaml",
        "output: deploy/cutover ",
        "output: deploy/moved ",
    );
    expect(r.cutover(["render"]), 0, &["10 written"]);
    r.git(&["add", "cutover.yaml", "deploy/moved"]);
    staged_agrees(
        &r,
        1,
        &["orphaned: deploy/cutover/checkout/stages/01-weight-10/virtualservice.yaml"],
    );
}
