//! Kustomizations of the user's that point into a generated tree
//! ([`cutover::check::references`]): a stage inserted into the plan renumbers the stage
//! folders after it, so an overlay naming `stages/03-weight-50` breaks while one naming
//! `envs/prod` keeps working. The plan is rendered with the binary; when `kubectl` is
//! installed, `kubectl kustomize` of each overlay fails exactly when the check reports it.

use std::path::{Path, PathBuf};
use std::process::Command;

use cutover::check::references::{broken, find, Broken, Tree};
use cutover::plan::Loader;

use crate::test::Test;
use crate::validators::{run, tool};

/// Four stages: `weight-50` is `stages/03-weight-50`, `weight-100` is `stages/04-weight-100`.
const PLAN: &str = "version: 1
output: deploy/cutover
migrations:
- name: checkout
  namespace: shop
  from: checkout-se.example.com
  to: checkout-gcp.example.com
  stages: [{mirror: 100}, {weight: 10}, {weight: 50}, {weight: 100}]
  environments: {prod: weight-50}
";

/// The user's overlays: (folder, its kustomization).
const OVERLAYS: [(&str, &str); 4] = [
    (
        "overlays/pinned",
        "resources:\n  - ../../deploy/cutover/checkout/stages/03-weight-50\n",
    ),
    (
        "overlays/early",
        "resources: [../../deploy/cutover/checkout/stages/02-weight-10]\n",
    ),
    // kustomize reads a file resource only inside the kustomization's folder: this one is
    // the user's, in the output folder beside the generated trees.
    (
        "deploy/cutover",
        "resources:\n- checkout/stages/04-weight-100/virtualservice.yaml\n",
    ),
    (
        "overlays/prod",
        "resources:\n  - ../../deploy/cutover/checkout/envs/prod\n",
    ),
];

/// The broken references of the repository at `root`, its plan loaded from disk.
fn check(root: &Path) -> Vec<Broken> {
    let plan = Loader::default()
        .load(&root.join("cutover.yaml"), "cutover.yaml")
        .expect("load the plan");
    let trees = Tree::of_plans(&[plan]);
    let found = find(root, &trees).expect("find kustomizations");
    let want: Vec<PathBuf> = OVERLAYS
        .iter()
        .map(|(dir, _)| root.join(dir).join("kustomization.yaml"))
        .collect();
    let mut sorted = want.clone();
    sorted.sort();
    assert_eq!(
        found, sorted,
        "the generated kustomizations are not the user's"
    );
    broken(&found, &trees).expect("read kustomizations")
}

/// Whether `kubectl kustomize` builds each overlay; `None` when kubectl is missing (and
/// not required).
fn builds(root: &Path) -> Option<Vec<(&'static str, bool)>> {
    let kubectl = tool("kubectl")?;
    Some(
        OVERLAYS
            .iter()
            .map(|(dir, _)| {
                let out = run(Command::new(&kubectl).arg("kustomize").arg(root.join(dir)));
                (*dir, out.status.success())
            })
            .collect(),
    )
}

/// The overlays `broken` names, as (folder, hint).
fn reported(root: &Path, b: &[Broken]) -> Vec<(String, Option<String>)> {
    b.iter()
        .map(|b| {
            let dir = b.file.parent().unwrap().strip_prefix(root).unwrap();
            (dir.to_string_lossy().into_owned(), b.hint.clone())
        })
        .collect()
}

#[test]
fn inserting_a_stage_breaks_overlays_that_name_stage_folders() {
    let mut t = Test::new().git_folder().file("cutover.yaml", PLAN);
    for (dir, text) in OVERLAYS {
        t = t.file(&format!("{dir}/kustomization.yaml"), text);
    }
    let root = t.path();
    t.args(["render", "cutover.yaml"])
        .stdout_contains(" 0 removed")
        .run();
    assert_eq!(check(&root), []);
    if let Some(built) = builds(&root) {
        assert!(built.iter().all(|(_, ok)| *ok), "{built:?}");
    }

    t.write(
        "cutover.yaml",
        PLAN.replace("{weight: 10}, ", "{weight: 10}, {weight: 25}, "),
    );
    // render warns about the references the new tree breaks (before writing it)...
    t.args(["render", "cutover.yaml"])
        .any_stdout()
        .stderr_contains(
            "warning: overlays/pinned/kustomization.yaml:2:5: resources[0] \"../../deploy/cutover/checkout/stages/03-weight-50\" points at",
        )
        .stderr_contains("warning: deploy/cutover/kustomization.yaml:2:3: resources[0]")
        .run();
    // ...and check fails on them, with file, line and column, though the tree is current.
    t.args(["check"])
        .status(1)
        .stdout_contains("overlays/pinned/kustomization.yaml:2:5: resources[0] ")
        .stdout_contains(
            "2 references into generated trees point at paths the plans do not produce",
        )
        .run();
    assert!(t.exists("deploy/cutover/checkout/stages/04-weight-50"));
    assert!(!t.exists("deploy/cutover/checkout/stages/03-weight-50"));

    let b = check(&root);
    assert_eq!(
        reported(&root, &b),
        [
            (
                "deploy/cutover".to_owned(),
                Some(
                    "stage weight-100 is now stages/05-weight-100/virtualservice.yaml: write \
                     checkout/stages/05-weight-100/virtualservice.yaml"
                        .to_owned()
                )
            ),
            (
                "overlays/pinned".to_owned(),
                Some(
                    "stage weight-50 is now stages/04-weight-50: write \
                     ../../deploy/cutover/checkout/stages/04-weight-50, or \
                     ../../deploy/cutover/checkout/envs/prod, which follows environment prod \
                     (it runs this stage now) and never moves"
                        .to_owned()
                )
            ),
        ]
    );
    assert_eq!(
        b[1].message(&root),
        format!(
            "overlays/pinned/kustomization.yaml:2:5: resources[0] \
             \"../../deploy/cutover/checkout/stages/03-weight-50\" points at \
             deploy/cutover/checkout/stages/03-weight-50, which the plans do not produce ({})",
            b[1].hint.as_deref().unwrap()
        )
    );
    let Some(built) = builds(&root) else {
        return;
    };
    let broken_dirs: Vec<String> = reported(&root, &b).into_iter().map(|(d, _)| d).collect();
    for (dir, ok) in &built {
        assert_eq!(
            *ok,
            !broken_dirs.iter().any(|d| d == dir),
            "kubectl kustomize {dir}: built {ok}, reported broken {}",
            !ok
        );
    }
    assert!(built.contains(&("overlays/prod", true)), "{built:?}");

    // The hints' paths are the fix: written back, every overlay builds again.
    for b in &b {
        let hint = b.hint.as_deref().unwrap();
        let fixed = hint
            .split(": write ")
            .nth(1)
            .unwrap()
            .split(", or ")
            .next()
            .unwrap();
        let text = std::fs::read_to_string(&b.file)
            .unwrap()
            .replace(&b.entry, fixed);
        std::fs::write(&b.file, text).unwrap();
    }
    assert_eq!(check(&root), []);
    let built = builds(&root).unwrap();
    assert!(built.iter().all(|(_, ok)| *ok), "{built:?}");
}
