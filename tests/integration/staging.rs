//! How `render` stages its writes, with the real binary (see `src/sync/apply.rs`, `Stager`):
//! files in existing folders go through a `.cutover-<pid>-<n>.tmp` file renamed over
//! the target; files in new folders are written inside a `.cutover-<pid>-<n>.tmp`
//! folder that stands in for the highest missing folder and is renamed into place at
//! the end. These tests check what is visible from outside:
//!
//! - the temporary files and folders a killed run left (in the output folder and in its
//!   parent) are deleted by the next render, and nothing else is;
//! - a render leaves no temporary entry behind, gives new files mode 0644 whatever the
//!   umask, and creates folders as `mkdir` would (mode 0777 less the umask);
//! - adding a migration leaves the existing migrations' files and folders untouched,
//!   and a refused render touches nothing at all, folder mtimes included;
//! - an existing generated file keeps its mode when its contents change.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::test::{assert_unchanged, Test, Tree, PLAN, PLAN_RENDERED};

/// A third migration, appended to [`PLAN`].
const REFUNDS: &str = "  - name: refunds
    from: refunds-se.example.com
    to: refunds-gcp.example.com
";

const VS_10: &str = "deploy/checkout/stages/02-weight-10/virtualservice.yaml";
const VS_100: &str = "deploy/checkout/stages/03-weight-100/virtualservice.yaml";

/// [`PLAN`] with the `refunds` migration added.
fn plan_with_refunds() -> String {
    format!("{PLAN}{REFUNDS}")
}

/// A repository (an empty `.git` folder, so the writer lock lives inside it) with
/// [`PLAN`] at its root.
fn repo() -> Test {
    Test::new().git_folder().file("cutover.yaml", PLAN)
}

/// Lets a rewrite show up in mtimes even on coarse-grained file systems.
fn pause() {
    std::thread::sleep(Duration::from_millis(20));
}

/// Whether a name is one of cutover's temporary names.
fn is_tmp(name: &str) -> bool {
    name.starts_with(".cutover-") && name.ends_with(".tmp")
}

/// Every path under `root` (`.git` included), relative and `/`-separated, folders
/// ending in `/`; symlinks are listed, not followed.
fn all_paths(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read folder") {
            let entry = entry.expect("folder entry");
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .expect("inside root")
                .to_string_lossy()
                .replace('\\', "/");
            if entry.file_type().expect("file type").is_dir() {
                out.push(format!("{rel}/"));
                stack.push(path);
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

/// The entries of `root` (at any depth) whose name starts with `.cutover-`.
fn cutover_entries(root: &Path) -> Vec<String> {
    all_paths(root)
        .into_iter()
        .filter(|p| {
            p.trim_end_matches('/')
                .rsplit('/')
                .next()
                .is_some_and(|name| name.starts_with(".cutover-"))
        })
        .collect()
}

/// The entries of `root` (at any depth) with one of cutover's temporary names.
fn tmp_entries(root: &Path) -> Vec<String> {
    all_paths(root)
        .into_iter()
        .filter(|p| {
            p.trim_end_matches('/')
                .rsplit('/')
                .next()
                .is_some_and(is_tmp)
        })
        .collect()
}

/// The entries of `snap` under `prefix`.
fn under(snap: &Tree, prefix: &str) -> Tree {
    snap.iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

// ---------------------------------------------------------------- leftovers of killed runs

#[test]
fn leftover_of_a_killed_first_render_is_deleted() {
    // A first render killed before its final rename leaves its stand-in for `deploy/`
    // beside it, in the output folder's parent (here the repository root).
    let t = repo()
        .file(
            ".cutover-999-0.tmp/checkout/stages/02-weight-10/virtualservice.yaml",
            "half-written",
        )
        .file(".cutover-999-1.tmp", "a temporary file of a killed run")
        // The user's own files with similar names are not cutover's.
        .file(".cutover-notes", "mine")
        .file(".cutover-999-2.tmp.bak", "mine too")
        .file(".keep/notes.txt", "mine as well");
    assert!(!t.exists("deploy"));
    t.args(["render"])
        .stdout_contains("checkout: 6 written, 0 unchanged, 0 removed (cutover.yaml)")
        .stdout_contains("ledger: 6 written, 0 unchanged, 0 removed (cutover.yaml)")
        .run();
    assert!(!t.exists(".cutover-999-0.tmp"), "leftover folder kept");
    assert!(!t.exists(".cutover-999-1.tmp"), "leftover file kept");
    assert_eq!(tmp_entries(&t.path()), Vec::<String>::new());
    assert_eq!(t.read(".cutover-notes"), "mine");
    assert_eq!(t.read(".cutover-999-2.tmp.bak"), "mine too");
    assert_eq!(t.read(".keep/notes.txt"), "mine as well");
    assert!(t.read(VS_10).starts_with("# Generated by cutover"));
    t.args(["check"])
        .stdout("ok: 12 generated files up to date\n")
        .run();
}

#[test]
fn leftovers_in_and_beside_the_output_folder_are_deleted_and_user_files_kept() {
    let t = repo();
    t.args(["render"]).stdout(PLAN_RENDERED).run();
    // What a run killed at various moments leaves behind:
    let leftovers = [
        // its stand-in for the output folder, in the output folder's parent;
        ".cutover-999-0.tmp/checkout/stages/02-weight-10/virtualservice.yaml",
        // a stand-in for a new migration's folder, in the output folder;
        "deploy/.cutover-999-1.tmp/stages/01-mirror-100/virtualservice.yaml",
        // a stand-in for a new stage folder, inside a migration;
        "deploy/checkout/stages/.cutover-999-2.tmp/virtualservice.yaml",
        // temporary files beside the files they were to replace;
        "deploy/checkout/stages/02-weight-10/.cutover-999-3.tmp",
        "deploy/.cutover-999-4.tmp",
    ];
    for path in leftovers {
        t.write(path, "half-written");
    }
    // The user's own hidden files and folders, some with names close to cutover's.
    let mine = [
        "deploy/.keep/notes.txt",
        "deploy/.keep/.cutover-1-1.tmp",
        "deploy/.cutover-notes",
        "deploy/checkout/.cutover-999-5.tmp.orig",
        ".cutover-notes",
    ];
    for path in mine {
        t.write(path, format!("mine: {path}"));
    }
    // The temporary file or folder each leftover path lies in.
    let tops: Vec<String> = leftovers
        .iter()
        .map(|path| {
            let end = path
                .split('/')
                .scan(0, |len, part| {
                    *len += part.len() + 1;
                    Some((*len - 1, part))
                })
                .find(|(_, part)| is_tmp(part))
                .expect("a temporary name in the path")
                .0;
            path[..end].to_owned()
        })
        .collect();
    let before = t.tree();
    pause();

    // Nothing of the plan changed: the render writes nothing, but still cleans up.
    t.args(["render"])
        .stdout(
            "checkout: 0 written, 6 unchanged, 0 removed (cutover.yaml)\n\
         ledger: 0 written, 6 unchanged, 0 removed (cutover.yaml)\n",
        )
        .run();
    for top in &tops {
        assert!(!t.exists(top), "leftover {top} was not deleted");
    }
    // Only `deploy/.keep/.cutover-1-1.tmp` is left: inside a user's hidden folder,
    // which cutover never looks into.
    assert_eq!(
        tmp_entries(&t.path()),
        ["deploy/.keep/.cutover-1-1.tmp"],
        "temporary entries left"
    );
    for path in mine {
        assert_eq!(t.read(path), format!("mine: {path}"), "{path} was changed");
    }
    // Everything but the leftovers (and the folders they were deleted from) is as it was.
    let after = t.tree();
    let expected: Vec<&String> = before
        .keys()
        .filter(|k| {
            let k = k.trim_end_matches('/');
            !tops
                .iter()
                .any(|top| k == top || k.starts_with(&format!("{top}/")))
        })
        .collect();
    assert_eq!(after.keys().collect::<Vec<_>>(), expected);
    for (k, v) in &after {
        let folder_of_a_leftover = [
            "deploy/",
            "deploy/checkout/stages/",
            "deploy/checkout/stages/02-weight-10/",
        ];
        if !folder_of_a_leftover.contains(&k.as_str()) {
            assert_eq!(Some(v), before.get(k), "{k} was changed");
        }
    }
    t.args(["check"])
        .stdout("ok: 12 generated files up to date\n")
        .run();
}

#[cfg(unix)]
#[test]
fn a_symlink_named_like_a_leftover_is_not_followed() {
    // A `.cutover-*.tmp` name beside the output folder that is a symlink to a user's
    // folder: cutover never made it, and whatever it does with the link, it must never
    // delete what the link points to.
    let t = repo().file("precious/data.txt", "keep me");
    std::os::unix::fs::symlink("precious", t.path().join(".cutover-999-0.tmp"))
        .expect("create symlink");
    t.args(["render"]).stdout(PLAN_RENDERED).run();
    assert_eq!(t.read("precious/data.txt"), "keep me");
    t.args(["check"])
        .stdout("ok: 12 generated files up to date\n")
        .run();
}

#[test]
fn leftover_beside_a_deeper_output_folder_is_deleted() {
    // With `output: gitops/cutover`, a killed first render leaves its stand-in for
    // `gitops/cutover/` in `gitops/`.
    let t = Test::new()
        .git_folder()
        .file(
            "cutover.yaml",
            PLAN.replace("output: deploy", "output: gitops/cutover"),
        )
        .file(
            ".cutover-999-0.tmp/cutover/checkout/stages/x",
            "half-written",
        )
        .file(
            "gitops/.cutover-999-1.tmp/checkout/stages/x",
            "half-written",
        )
        .file("gitops/README.md", "mine");
    t.args(["render"])
        .stdout_contains("checkout: 6 written")
        .run();
    assert!(!t.exists("gitops/.cutover-999-1.tmp"), "leftover kept");
    assert_eq!(t.read("gitops/README.md"), "mine");
    assert!(t.exists("gitops/cutover/checkout/stages/02-weight-10/virtualservice.yaml"));
    // Only the output folder's parent is looked at, not the folders above it.
    assert_eq!(tmp_entries(&t.path()), [".cutover-999-0.tmp/"]);
    t.args(["check"])
        .stdout("ok: 12 generated files up to date\n")
        .run();
}

#[cfg(unix)]
#[test]
fn first_render_into_a_deeper_missing_output_folder_follows_the_umask() {
    // `gitops/` (made above the stand-in) and `gitops/cutover/` (the stand-in renamed)
    // are made like any folder.
    for mask in [0o022, 0o077] {
        let t = Test::new().git_folder().file(
            "cutover.yaml",
            PLAN.replace("output: deploy", "output: gitops/cutover"),
        );
        t.args(["render"]).umask(mask).stdout(PLAN_RENDERED).run();
        assert_eq!(mode(&t.path().join("gitops")), 0o777 & !mask);
        assert_eq!(assert_modes(&t, "gitops/cutover", mask), 12);
        assert_eq!(cutover_entries(&t.path()), Vec::<String>::new());
    }
}

// ---------------------------------------------------------------- modes and no temporary entries

/// The umask this test process (and so the binary run without `sh`) has.
#[cfg(unix)]
fn current_umask() -> u32 {
    let out = Command::new("sh")
        .args(["-c", "umask"])
        .output()
        .expect("run sh");
    let text = String::from_utf8_lossy(&out.stdout);
    u32::from_str_radix(text.trim(), 8).unwrap_or_else(|e| panic!("umask {text:?}: {e}"))
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Asserts every file under `t/dir` has mode 0644 and every folder (`dir` itself
/// included) `0777 & !mask`; returns how many files there are.
#[cfg(unix)]
#[track_caller]
fn assert_modes(t: &Test, dir: &str, mask: u32) -> usize {
    let root = t.path();
    let folder = 0o777 & !mask;
    let mut wrong = Vec::new();
    if mode(&root.join(dir)) != folder {
        wrong.push(format!("{dir}/: {:o}", mode(&root.join(dir))));
    }
    let mut files = 0;
    for rel in all_paths(&root.join(dir)) {
        let path = root.join(dir).join(rel.trim_end_matches('/'));
        let (m, want) = if rel.ends_with('/') {
            (mode(&path), folder)
        } else {
            files += 1;
            (mode(&path), 0o644)
        };
        if m != want {
            wrong.push(format!("{dir}/{rel}: {m:o}, want {want:o}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "umask {mask:03o}: wrong modes: {wrong:#?}"
    );
    files
}

/// A first render (no output folder yet) under `mask`: no `.cutover-*` entry anywhere
/// afterwards, files 0644, folders as `mkdir` makes them.
#[cfg(unix)]
fn first_render_under(mask: u32) {
    let t = repo();
    assert!(!t.exists("deploy"));
    t.args(["render"]).umask(mask).stdout(PLAN_RENDERED).run();
    assert_eq!(
        cutover_entries(&t.path()),
        Vec::<String>::new(),
        "umask {mask:03o}"
    );
    assert_eq!(assert_modes(&t, "deploy", mask), 12);
    // A new migration (a stand-in folder inside `deploy/`) and a missing file in an
    // existing folder (a temporary file beside it) follow the same rules.
    t.write("cutover.yaml", plan_with_refunds());
    fs::remove_file(t.path().join(VS_10)).expect("remove a generated file");
    t.args(["render"])
        .umask(mask)
        .stdout_contains("checkout: 1 written, 5 unchanged")
        .stdout_contains("refunds: 6 written")
        .run();
    assert_eq!(
        cutover_entries(&t.path()),
        Vec::<String>::new(),
        "umask {mask:03o}"
    );
    assert_eq!(assert_modes(&t, "deploy", mask), 18);
    t.args(["check"])
        .umask(mask)
        .stdout("ok: 18 generated files up to date\n")
        .run();
}

#[cfg(unix)]
#[test]
fn first_render_under_umask_022() {
    first_render_under(0o022);
    // Spelled out: the folders are 0755, not the 0700 of a private temporary folder.
    let t = repo();
    t.args(["render"]).umask(0o022).stdout(PLAN_RENDERED).run();
    assert_eq!(mode(&t.path().join("deploy")), 0o755);
    assert_eq!(mode(&t.path().join("deploy/checkout/stages")), 0o755);
    assert_eq!(mode(&t.path().join(VS_10)), 0o644);
}

#[cfg(unix)]
#[test]
fn first_render_under_umask_077() {
    first_render_under(0o077);
}

#[cfg(unix)]
#[test]
fn first_render_under_umask_002() {
    // 0666 & !002 is 0664: the file mode must still be set to 0644.
    first_render_under(0o002);
}

#[cfg(unix)]
#[test]
fn first_render_under_the_default_umask() {
    let mask = current_umask();
    let t = repo();
    t.args(["render"]).stdout(PLAN_RENDERED).run();
    assert_eq!(cutover_entries(&t.path()), Vec::<String>::new());
    assert_eq!(assert_modes(&t, "deploy", mask), 12);
    t.args(["check"])
        .stdout("ok: 12 generated files up to date\n")
        .run();
}

// ---------------------------------------------------------------- new migrations, refusals

#[test]
fn adding_a_migration_leaves_the_existing_ones_untouched() {
    let t = repo();
    t.args(["render"]).stdout(PLAN_RENDERED).run();
    let before = t.tree();
    pause();
    t.write("cutover.yaml", plan_with_refunds());
    t.args(["render"])
        .stdout(
            "checkout: 0 written, 6 unchanged, 0 removed (cutover.yaml)\n\
         ledger: 0 written, 6 unchanged, 0 removed (cutover.yaml)\n\
         refunds: 6 written, 0 unchanged, 0 removed (cutover.yaml)\n",
        )
        .run();
    let after = t.tree();
    // Same contents, inodes and mtimes, folders included.
    for migration in ["deploy/checkout/", "deploy/ledger/"] {
        let old = under(&before, migration);
        assert_eq!(
            old.len(),
            11,
            "{migration}: itself, stages/, 3 stage folders, 6 files"
        );
        assert_unchanged(&old, &under(&after, migration));
    }
    let new = under(&after, "deploy/refunds/");
    assert_eq!(
        new.keys()
            .filter(|k| !k.ends_with('/'))
            .map(String::as_str)
            .collect::<Vec<_>>(),
        [
            "deploy/refunds/stages/01-mirror-100/kustomization.yaml",
            "deploy/refunds/stages/01-mirror-100/virtualservice.yaml",
            "deploy/refunds/stages/02-weight-10/kustomization.yaml",
            "deploy/refunds/stages/02-weight-10/virtualservice.yaml",
            "deploy/refunds/stages/03-weight-100/kustomization.yaml",
            "deploy/refunds/stages/03-weight-100/virtualservice.yaml",
        ]
    );
    assert_eq!(cutover_entries(&t.path()), Vec::<String>::new());
    t.args(["check"])
        .stdout("ok: 18 generated files up to date\n")
        .run();
}

#[test]
fn refused_render_with_a_new_migration_touches_nothing() {
    let t = repo();
    t.args(["render"]).stdout(PLAN_RENDERED).run();
    // A user's file without cutover's header where a generated file goes...
    t.write(VS_10, "# my own notes, not generated\nkind: Nothing\n");
    // ...and, in the same plan, a brand new migration and changes to another one (which
    // must not be staged either: not even a temporary file made and deleted again).
    t.write(
        "cutover.yaml",
        plan_with_refunds().replace("ledger-gcp.", "ledger-gcp2."),
    );
    let before = t.tree();
    let root_mtime = fs::metadata(t.path()).and_then(|m| m.modified()).unwrap();
    pause();
    t.args(["render"])
        .status(2)
        .stderr_contains(VS_10)
        .stderr_contains("nothing was written")
        .run();
    assert_unchanged(&before, &t.tree());
    assert_eq!(
        fs::metadata(t.path()).and_then(|m| m.modified()).unwrap(),
        root_mtime,
        "the repository root (the output folder's parent) was changed"
    );
    assert!(!t.exists("deploy/refunds"), "the new migration was written");
    assert_eq!(cutover_entries(&t.path()), Vec::<String>::new());
    assert_eq!(
        t.read(VS_10),
        "# my own notes, not generated\nkind: Nothing\n"
    );
}

#[test]
fn refused_first_render_touches_nothing() {
    // No output folder yet, but a user's file sits where a generated folder goes: the
    // stand-in for `deploy/` must not even be made and deleted again.
    let t = repo().file("deploy/ledger", "a file where a folder goes\n");
    let before = t.tree();
    let root_mtime = fs::metadata(t.path()).and_then(|m| m.modified()).unwrap();
    pause();
    t.args(["render"])
        .status(2)
        .stderr_contains("deploy/ledger")
        .run();
    assert_unchanged(&before, &t.tree());
    assert_eq!(
        fs::metadata(t.path()).and_then(|m| m.modified()).unwrap(),
        root_mtime
    );
    assert!(!t.exists("deploy/checkout"));
}

// ---------------------------------------------------------------- modes of existing files

#[cfg(unix)]
#[test]
fn an_existing_file_keeps_its_mode_when_rewritten() {
    use std::os::unix::fs::PermissionsExt;
    let t = repo();
    t.args(["render"]).stdout(PLAN_RENDERED).run();
    fs::set_permissions(t.path().join(VS_10), fs::Permissions::from_mode(0o664))
        .expect("chmod 0664");
    fs::set_permissions(t.path().join(VS_100), fs::Permissions::from_mode(0o600))
        .expect("chmod 0600");

    // New contents for both files (the `to` host of `checkout` changes).
    t.write(
        "cutover.yaml",
        PLAN.replace("checkout-gcp.", "checkout-gcp2."),
    );
    t.args(["render"])
        .stdout_contains("checkout: 3 written, 3 unchanged")
        .run();
    assert!(t.read(VS_10).contains("checkout-gcp2.example.com"));
    assert!(t.read(VS_100).contains("checkout-gcp2.example.com"));
    assert_eq!(mode(&t.path().join(VS_10)), 0o664);
    assert_eq!(mode(&t.path().join(VS_100)), 0o600);

    // And again under a umask that would strip group write from a new file.
    t.write(
        "cutover.yaml",
        PLAN.replace("checkout-gcp.", "checkout-gcp3."),
    );
    t.args(["render"])
        .umask(0o077)
        .stdout_contains("checkout: 3 written, 3 unchanged")
        .run();
    assert!(t.read(VS_10).contains("checkout-gcp3.example.com"));
    assert_eq!(mode(&t.path().join(VS_10)), 0o664);
    assert_eq!(mode(&t.path().join(VS_100)), 0o600);
    // The files that were not rewritten keep 0644.
    assert_eq!(
        mode(
            &t.path()
                .join("deploy/checkout/stages/01-mirror-100/kustomization.yaml")
        ),
        0o644
    );
    assert_eq!(cutover_entries(&t.path()), Vec::<String>::new());
    t.args(["check"])
        .stdout("ok: 12 generated files up to date\n")
        .run();
}

/// Defect (issue 12): outside a git repository the writer lock is a file in the system
/// temporary folder, and every run left its `cutover-*.lock` there for ever.
#[test]
fn render_outside_git_leaves_nothing_in_the_temporary_folder() {
    let tmpdir = tempfile::tempdir().expect("a temporary folder for TMPDIR");
    let tmp = tmpdir.path().to_string_lossy().into_owned();
    let t = Test::new().file("cutover.yaml", PLAN).env("TMPDIR", &tmp);
    assert!(
        !t.exists(".git"),
        "the test folder must not be a repository"
    );
    t.args(["render"]).stdout(PLAN_RENDERED).run();
    t.args(["render", "-q"]).run();
    let left: Vec<String> = fs::read_dir(tmpdir.path())
        .expect("read TMPDIR")
        .map(|e| {
            e.expect("folder entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(left, Vec::<String>::new(), "left in TMPDIR");
}
