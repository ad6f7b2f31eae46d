//! A base VirtualService that an Argo Rollouts `Rollout` or a Flagger `Canary` of the
//! repository names (`cutover::plan::controllers`): `validate`, `render` and `check`
//! refuse the migration (exit 2, naming the plan's field, the base and the object's file,
//! writing nothing) unless it sets `allowManagedBase: true`. The repository is a real
//! git repository: files git ignores are not read.

use crate::test::{assert_unchanged, Test};

/// One migration of the VirtualService `reviews` (namespace `shop`) in `base/vs.yaml`.
const PLAN: &str = "version: 1
output: deploy
migrations:
  - name: reviews
    namespace: shop
    base: base/vs.yaml
    from: reviews-se.example.com
    to: reviews-gcp.example.com
    stages: [{weight: 10}, {weight: 100}]
";

const BASE: &str = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: shop
spec:
  hosts: [reviews-se.example.com]
  http:
  - route:
    - destination:
        host: reviews-se.example.com
";

/// A canary Rollout routing through the VirtualService `{vs}` (line 15 names it).
fn rollout(vs: &str) -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata: {{name: reviews-canary, namespace: shop}}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: reviews
  namespace: shop
spec:
  strategy:
    canary:
      trafficRouting:
        istio:
          virtualService: {{name: {vs}}}
"
    )
}

/// A Flagger Canary of the Deployment `reviews`: Flagger generates the VirtualService
/// `reviews` in its namespace.
const CANARY: &str = "apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: reviews
  namespace: shop
spec:
  targetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: reviews
  service:
    port: 9080
";

/// A git repository holding the plan, its base and `extra` files, all committed.
fn repo(plan: &str, extra: &[(&str, &str)]) -> Test {
    let mut t = Test::new()
        .git_init()
        .file("cutover.yaml", plan)
        .file("base/vs.yaml", BASE);
    for (path, text) in extra {
        t = t.file(path, text);
    }
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "start"]);
    t
}

/// Every command that loads the plans refuses it with `message`, and writes nothing.
fn refused(t: &Test, message: &[&str]) {
    let before = t.tree();
    for cmd in [
        &["validate"][..],
        &["render"],
        &["check"],
        &["check", "--staged"],
        &["render", "--staged"],
    ] {
        let mut run = t
            .args(cmd)
            .status(2)
            .stderr_contains("error: migrations[0].base: the VirtualService `reviews` in base `base/vs.yaml` is managed by ")
            .stderr_contains("--> cutover.yaml");
        for m in message {
            run = run.stderr_contains(*m);
        }
        run.run();
        assert_unchanged(&before, &t.tree());
    }
}

#[test]
fn a_rollout_routing_through_the_base_is_refused() {
    let t = repo(PLAN, &[("rollouts/reviews.yaml", &rollout("reviews"))]);
    refused(
        &t,
        &[
            "Rollout `reviews` (rollouts/reviews.yaml:15): Argo Rollouts and cutover's stages would both set its weights",
            "help: migrate the Rollout first, or set `allowManagedBase: true` on the migration",
        ],
    );
    // `name.namespace`, as Argo Rollouts reads it.
    t.write("rollouts/reviews.yaml", rollout("reviews.shop"));
    t.args(["validate"])
        .status(2)
        .stderr_contains("(rollouts/reviews.yaml:15)")
        .run();
}

#[test]
fn a_canary_generating_the_base_is_refused() {
    let t = repo(PLAN, &[("canaries/reviews.yaml", CANARY)]);
    refused(
        &t,
        &["Canary `reviews` (canaries/reviews.yaml:10): Flagger and cutover's stages would both set its weights"],
    );
}

#[test]
fn the_opt_out_renders() {
    let allowed = PLAN.replace(
        "    base: base/vs.yaml\n",
        "    base: base/vs.yaml\n    allowManagedBase: true\n",
    );
    let t = repo(&allowed, &[("rollouts/reviews.yaml", &rollout("reviews"))]);
    t.args(["validate"])
        .stdout("ok: 1 plan valid (1 migration, 2 stages)\n")
        .run();
    t.args(["render"])
        .stdout("reviews: 4 written, 0 unchanged, 0 removed (cutover.yaml)\n")
        .run();
    t.args(["check"]).stdout_contains("ok").run();
    // From `defaults`, as every migration field but `name`.
    let defaults = PLAN.replace(
        "migrations:\n",
        "defaults:\n  allowManagedBase: true\nmigrations:\n",
    );
    t.write("cutover.yaml", defaults);
    t.args(["validate"])
        .stdout_contains("ok: 1 plan valid")
        .run();
    // Only a boolean.
    t.write(
        "cutover.yaml",
        PLAN.replace("    base:", "    allowManagedBase: yes\n    base:"),
    );
    t.args(["validate"])
        .status(2)
        .stderr_contains("migrations[0].allowManagedBase: expected true or false, found a string")
        .run();
}

#[test]
fn an_ignored_rollout_is_not_read() {
    let t = repo(
        PLAN,
        &[
            (".gitignore", "/scratch/\n"),
            ("scratch/reviews.yaml", &rollout("reviews")),
        ],
    );
    t.args(["validate"])
        .stdout("ok: 1 plan valid (1 migration, 2 stages)\n")
        .run();
    t.args(["render"]).any_stdout().run();
    // Not ignored any more: it counts, committed or not.
    t.write(".gitignore", "");
    t.args(["validate"])
        .status(2)
        .stderr_contains("(scratch/reviews.yaml:15)")
        .run();
}

#[test]
fn objects_naming_other_virtual_services_and_templated_charts_are_fine() {
    let other_namespace = CANARY.replace("namespace: shop", "namespace: books");
    let t = repo(
        PLAN,
        &[
            ("rollouts/ratings.yaml", &rollout("ratings")),
            ("rollouts/elsewhere.yaml", &rollout("reviews.books")),
            ("canaries/reviews.yaml", &other_namespace),
            // A Helm chart's template naming its VirtualService from values: only known once
            // rendered.
            (
                "charts/reviews/Chart.yaml",
                "apiVersion: v2\nname: reviews\nversion: 1.0.0\n",
            ),
            (
                "charts/reviews/templates/rollout.yaml",
                &rollout("{{ .Values.virtualService }}"),
            ),
            // Not Argo's: another group's `Rollout`.
            (
                "other/rollout.yaml",
                &rollout("reviews").replace("argoproj.io/v1alpha1", "example.com/v1"),
            ),
        ],
    );
    t.args(["validate"])
        .stdout("ok: 1 plan valid (1 migration, 2 stages)\n")
        .run();
    t.args(["render"]).any_stdout().run();
    t.args(["check", "--staged"]).status(1).any_stdout().run();
}

#[test]
fn check_staged_reads_the_rollouts_of_the_next_commit() {
    let t = repo(PLAN, &[("rollouts/reviews.yaml", &rollout("reviews"))]);
    // Deleted from the work tree, not from the index: the next commit still holds it.
    std::fs::remove_file(t.path().join("rollouts/reviews.yaml")).expect("remove the Rollout");
    t.args(["validate"])
        .stdout_contains("ok: 1 plan valid")
        .run();
    t.args(["check", "--staged"])
        .status(2)
        .stderr_contains("managed by Rollout `reviews` (rollouts/reviews.yaml:15)")
        .run();
    // Staged too: the next commit does not hold it.
    t.git(&["rm", "-q", "--cached", "rollouts/reviews.yaml"]);
    t.args(["check", "--staged"])
        .status(1)
        .any_stdout()
        .stderr_lacks("managed by")
        .run();
}

/// A Helm chart's template written as literal YAML deploys the Rollout as written: it is read.
#[test]
fn a_literal_chart_template_rollout_is_refused() {
    let t = repo(
        PLAN,
        &[
            (
                "charts/reviews/Chart.yaml",
                "apiVersion: v2\nname: reviews\nversion: 1.0.0\n",
            ),
            ("charts/reviews/templates/rollout.yaml", &rollout("reviews")),
        ],
    );
    for args in [&["validate"][..], &["check", "--staged"]] {
        t.args(args)
            .status(2)
            .stderr_contains(
                "managed by Rollout `reviews` (charts/reviews/templates/rollout.yaml:15)",
            )
            .run();
    }
}
