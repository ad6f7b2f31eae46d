//! Crash safety and the writer lock, with the real binary.
//!
//! - `render_killed_at_random_moments_leaves_only_whole_files`: a plan of 300 migrations ×
//!   5 stages is changed and rendered again and again, each render killed with SIGKILL
//!   after a random delay. After every kill, each generated file must be exactly what the
//!   old plan or the new plan produces (never partial), and a full render, `check` and a
//!   search for `.cutover-*.tmp` must then find everything in order. Bounded to ~40 s.
//! - `concurrent_renders_are_serialised`: a second render started while a first one runs
//!   either succeeds or is refused with "another cutover is writing".
//! - `the_lock_does_not_dirty_the_repository`: in a real `git init` repository, `git
//!   status` after a render lists only the plan and the generated files.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::test::Test;

/// Any single run taking longer than this is a hang.
const HANG: Duration = Duration::from_secs(60);
/// The kill loop stops starting iterations after this long.
const BUDGET: Duration = Duration::from_secs(40);
const MIGRATIONS: usize = 300;

/// A tiny deterministic generator (Knuth's MMIX LCG); no dependency needed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The plan variants the loop cycles through: 10% first step, 20% first step, and an
/// extra 90% stage (which renumbers the last stage).
fn plan(variant: usize) -> String {
    let stages = match variant % 3 {
        0 => "[{mirror: 50}, {weight: 10}, {weight: 50}, {weight: 75}, {weight: 100}]",
        1 => "[{mirror: 50}, {weight: 20}, {weight: 50}, {weight: 75}, {weight: 100}]",
        _ => {
            "[{mirror: 50}, {weight: 10}, {weight: 50}, {weight: 75}, {weight: 90}, {weight: 100}]"
        }
    };
    let mut s = format!(
        "version: 1\noutput: out\ndefaults:\n  namespace: payments\n  stages: {stages}\nmigrations:\n"
    );
    for i in 0..MIGRATIONS {
        s.push_str(&format!(
            "  - name: m{i:03}\n    from: m{i:03}-se.example.com\n    to: m{i:03}-gcp.example.com\n"
        ));
    }
    s
}

/// Path relative to the repository root → contents.
type Tree = BTreeMap<String, Vec<u8>>;

/// What the plan at `repo/cutover.yaml` produces: rendered by the binary in a scratch
/// repository.
fn expected(repo: &Path) -> Tree {
    let plan = fs::read(repo.join("cutover.yaml")).expect("read the plan");
    let (scratch, root) = temp_repo();
    scratch.write("cutover.yaml", plan);
    scratch.args(["render", "-q"]).timeout(HANG).run();
    disk(&root).0
}

fn is_tmp(name: &str) -> bool {
    name.starts_with(".cutover-") && name.ends_with(".tmp")
}

/// Every file of the repository but the plan and `.git`, and the temporary files among them.
fn disk(repo: &Path) -> (Tree, Vec<PathBuf>) {
    let mut files = Tree::new();
    let mut tmps = Vec::new();
    let mut stack = vec![repo.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read_dir") {
            let entry = entry.expect("entry");
            let path = entry.path();
            let ft = entry.file_type().expect("file type");
            let name = entry.file_name().to_string_lossy().into_owned();
            // A temporary file, or a temporary folder standing in for a new one.
            if is_tmp(&name) {
                tmps.push(path);
                continue;
            }
            if ft.is_dir() {
                if path != repo.join(".git") {
                    stack.push(path);
                }
                continue;
            }
            let rel = path
                .strip_prefix(repo)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel == "cutover.yaml" {
                continue;
            }
            files.insert(rel, fs::read(&path).expect("read generated file"));
        }
    }
    (files, tmps)
}

struct Done {
    code: Option<i32>,
    signal: Option<i32>,
    stderr: String,
}

/// Starts `cutover ARGS` in `t`'s folder, without waiting.
fn spawn(t: &Test, args: &[&str]) -> Child {
    t.args(args)
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cutover")
}

/// Waits for `child`, killing it (and failing) after [`HANG`].
fn finish(mut child: Child, what: &str) -> Done {
    let start = Instant::now();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hang: {what} still running after {HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Done {
        code: status.code(),
        signal: status.signal(),
        stderr: reader.join().unwrap(),
    }
}

/// `cutover render -q`, which must succeed silently.
#[track_caller]
fn render(t: &Test) {
    t.args(["render", "-q"]).timeout(HANG).run();
}

/// `cutover check`, which must find everything up to date.
#[track_caller]
fn check(t: &Test) {
    t.args(["check"])
        .timeout(HANG)
        .stdout_contains(" generated files up to date\n")
        .run();
}

/// A repository (an empty `.git` folder) and its path.
fn temp_repo() -> (Test, PathBuf) {
    let t = Test::new().git_folder();
    let root = t.path();
    (t, root)
}

/// Checks that every file of `files` is the old or the new one (never partial); returns how
/// many are only in the old tree's state and how many only in the new one's.
fn old_or_new(files: &Tree, old: &Tree, new: &Tree, at: &str) -> (usize, usize) {
    let (mut as_old, mut as_new) = (0usize, 0usize);
    for (rel, bytes) in files {
        let o = old.get(rel) == Some(bytes);
        let n = new.get(rel) == Some(bytes);
        assert!(
            o || n,
            "{at}: {rel} is neither the old nor the new file (old: {}, new: {}, {} bytes on disk)",
            old.contains_key(rel),
            new.contains_key(rel),
            bytes.len()
        );
        if o && !n {
            as_old += 1;
        }
        if n && !o {
            as_new += 1;
        }
    }
    (as_old, as_new)
}

#[test]
fn render_killed_at_random_moments_leaves_only_whole_files() {
    let started = Instant::now();
    let (t, repo) = temp_repo();
    let mut trees: Vec<Option<Tree>> = vec![None, None, None];
    let mut tree_of = |variant: usize, repo: &Path| -> Tree {
        let slot = &mut trees[variant % 3];
        slot.get_or_insert_with(|| expected(repo)).clone()
    };

    fs::write(repo.join("cutover.yaml"), plan(0)).unwrap();
    let mut old = tree_of(0, &repo);
    let started_render = Instant::now();
    render(&t);
    let first_render = started_render.elapsed();
    assert_eq!(
        disk(&repo).0,
        old,
        "the first render wrote what the plan produces"
    );

    // Kill anywhere in a render: most of its time is spent before the first rename
    // (load, render, verify, stage, syncfs), so the delay spans a whole render.
    // The renames take a small part of it, so the delays close in on the moment renames
    // happen: a kill that left only old files raises the lower bound, a run that got to
    // the end lowers the upper one (and the range widens again when they cross).
    let window = first_render.max(Duration::from_millis(150)).as_millis() as u64;
    let (mut lo, mut hi) = (0u64, window);
    let mut rng = Lcg(0x5eed_c0de_2024_0001);
    let mut stats = Vec::new();
    let mut last = Duration::ZERO;
    for i in 0..30usize {
        if started.elapsed() + last > BUDGET {
            break;
        }
        let iter_start = Instant::now();
        let variant = i + 1;
        fs::write(repo.join("cutover.yaml"), plan(variant)).unwrap();
        let new = tree_of(variant, &repo);

        let delay = Duration::from_millis(lo + rng.below(hi - lo + 1));
        let mut child = spawn(&t, &["render", "-q"]);
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL on Unix
        let done = finish(child, "killed render");
        assert!(
            done.code == Some(0) || done.signal == Some(9),
            "iteration {i}: render neither finished nor was killed: {:?} {:?}\n{}",
            done.code,
            done.signal,
            done.stderr
        );

        let (files, tmps) = disk(&repo);
        let (as_old, as_new) = old_or_new(
            &files,
            &old,
            &new,
            &format!("iteration {i} (killed after {delay:?})"),
        );
        let differing = old.iter().filter(|(k, v)| new.get(*k) != Some(*v)).count()
            + new.keys().filter(|k| !old.contains_key(*k)).count();
        let state = match (as_old, as_new) {
            (_, 0) => "old",
            (0, _) => "new",
            _ => "mixed",
        };
        let ms = delay.as_millis() as u64;
        match state {
            "old" => lo = ms,
            "new" => hi = ms,
            _ => {}
        }
        if lo >= hi {
            lo /= 2;
            hi = (hi * 2).max(lo + 150);
        }

        render(&t);
        check(&t);
        let (files, tmps_after) = disk(&repo);
        assert!(
            tmps_after.is_empty(),
            "iteration {i}: temporary files remain after a full render: {tmps_after:?}"
        );
        assert!(
            files == new,
            "iteration {i}: the full render did not give the new tree"
        );
        stats.push(format!(
            "#{i}: killed after {delay:?} ({}): {state} ({as_old} old-only, {as_new} new-only of {differing} changing), {} tmp left; iteration {:?}",
            if done.signal.is_some() { "SIGKILL" } else { "had finished" },
            tmps.len(),
            iter_start.elapsed()
        ));
        last = iter_start.elapsed();
        old = new;
    }
    eprintln!(
        "crash test: first render {first_render:?}, {} iterations in {:?}\n{}",
        stats.len(),
        started.elapsed(),
        stats.join("\n")
    );
    assert!(stats.len() >= 2, "too few iterations ran to mean anything");
}

#[test]
fn concurrent_renders_are_serialised() {
    let (t, repo) = temp_repo();
    let mut refused = 0;
    for variant in 0..2 {
        fs::write(repo.join("cutover.yaml"), plan(variant)).unwrap();
        let first = spawn(&t, &["render", "-q"]);
        let second = spawn(&t, &["render", "-q"]);
        let results = [
            finish(first, "first render"),
            finish(second, "second render"),
        ];
        for d in &results {
            match d.code {
                Some(0) => {}
                Some(2) if d.stderr.contains("another cutover is writing") => refused += 1,
                _ => panic!(
                    "a concurrent render ended with {:?} (signal {:?}):\n{}",
                    d.code, d.signal, d.stderr
                ),
            }
        }
        assert!(
            results.iter().any(|d| d.code == Some(0)),
            "neither render succeeded"
        );
        check(&t);
        assert!(disk(&repo).1.is_empty(), "temporary files remain");
    }
    eprintln!("concurrent renders: {refused} of 4 runs refused by the lock");
}

#[test]
fn the_lock_does_not_dirty_the_repository() {
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("skipped: git not found");
        return;
    }
    let small = "version: 1\noutput: out\nmigrations:\n  - name: checkout\n    namespace: payments\n    from: checkout-se.example.com\n    to: checkout-gcp.example.com\n    stages: [{weight: 10}, {weight: 100}]\n";
    let t = Test::new().git_init().file("cutover.yaml", small);
    let repo = t.path();
    render(&t);

    let status = t.git(&["status", "--porcelain", "--untracked-files=all"]);
    let mut got: Vec<&str> = status.lines().collect();
    got.sort_unstable();
    let generated = expected(&repo);
    let mut want: Vec<String> = generated.keys().map(|k| format!("?? {k}")).collect();
    want.push("?? cutover.yaml".into());
    want.sort();
    assert_eq!(got, want, "git status after render");
    assert!(
        repo.join(".git/cutover.lock").exists(),
        "the lock file lives in .git"
    );

    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "render"]);
    render(&t);
    assert_eq!(
        t.git(&[
            "status",
            "--porcelain",
            "--untracked-files=all",
            "--ignored"
        ]),
        "",
        "a second render leaves the work tree clean"
    );
}
