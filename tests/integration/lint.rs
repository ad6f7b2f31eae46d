//! `cutover lint`, run as a binary: exit 0 when every VirtualService is valid, 1 when
//! there are violations (each shown as `FILE: VirtualService NAME (document N): PATH:
//! MESSAGE`), 2 when a file cannot be read or is not YAML.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

const VALID: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: cr-gcpbackend-migration
  namespace: payments
spec:
  hosts:
  - cr-service-entry.com
  http:
  - route:
    - destination:
        host: cr-gcpbackend.com
      weight: 10
    - destination:
        host: cr-service-entry.com
      weight: 90
";

/// Runs `cutover lint ARGS...` in `dir`.
fn lint(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cutover"))
        .arg("lint")
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run cutover")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn valid_file_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("vs.yaml"), VALID).unwrap();
    let o = lint(dir.path(), &["vs.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        stdout(&o),
        "1 VirtualService checked in 1 file: 0 violations\n"
    );
}

#[test]
fn violation_exits_1_and_names_file_document_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let bad = VALID
        .replace("weight: 90", "weight: -90")
        .replace("host: cr-gcpbackend.com", "host: cr_gcpbackend.com");
    fs::create_dir(dir.path().join("apps")).unwrap();
    fs::write(dir.path().join("apps/vs.yaml"), bad).unwrap();
    fs::write(dir.path().join("ok.yaml"), VALID).unwrap();
    let o = lint(dir.path(), &["ok.yaml", "apps/vs.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    let prefix = "apps/vs.yaml: VirtualService cr-gcpbackend-migration (document 1): ";
    assert!(
        out.contains(&format!(
            "{prefix}spec.http[0].route[0].destination.host: destination host `cr_gcpbackend.com` is not a valid DNS name"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{prefix}spec.http[0].route[1].weight: weight -90 is negative"
        )),
        "{out}"
    );
    assert!(
        out.ends_with("2 VirtualServices checked in 2 files: 2 violations\n"),
        "{out}"
    );
}

#[test]
fn typo_in_a_field_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("vs.yaml"),
        VALID.replace("weight: 10", "wieght: 10"),
    )
    .unwrap();
    let o = lint(dir.path(), &["vs.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains(
            "vs.yaml: VirtualService cr-gcpbackend-migration (document 1): spec.http[0].route[0].wieght: unknown field `wieght`"
        ),
        "{}",
        stdout(&o)
    );
}

#[test]
fn bad_yaml_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("bad.yaml"),
        "kind: VirtualService\nspec: [1\n",
    )
    .unwrap();
    let o = lint(dir.path(), &["bad.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("bad.yaml"), "{}", stderr(&o));
    assert!(stderr(&o).contains("not valid YAML"), "{}", stderr(&o));
}

#[test]
fn missing_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = lint(dir.path(), &["nope.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nope.yaml"), "{}", stderr(&o));
}

#[test]
fn multi_document_file_skips_other_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: cr-service-entry\nspec:\n  ports:\n  - port: 80\n---\n{}",
        VALID.replace("weight: 10\n", "weight: 10\n      weight: 0\n")
    );
    fs::write(dir.path().join("all.yaml"), &text).unwrap();
    let o = lint(dir.path(), &["all.yaml"]);
    // A duplicate key is not valid YAML.
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));

    let text = format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: cr-service-entry\nspec:\n  ports:\n  - port: 80\n---\n{}",
        VALID.replace("weight: 90", "weight: 0").replace("weight: 10", "weight: 0")
    );
    fs::write(dir.path().join("all.yaml"), &text).unwrap();
    let o = lint(dir.path(), &["all.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert_eq!(
        stdout(&o),
        "all.yaml: VirtualService cr-gcpbackend-migration (document 2): spec.http[0].route: \
         the HTTP route has 2 destinations and their total weight is 0; at least one needs a weight above 0\n\
         1 VirtualService checked in 1 file: 1 violation (1 other document skipped)\n"
    );

    fs::write(
        dir.path().join("all.yaml"),
        format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n---\n{VALID}"),
    )
    .unwrap();
    let o = lint(dir.path(), &["all.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(
        stdout(&o),
        "1 VirtualService checked in 1 file: 0 violations (1 other document skipped)\n"
    );
}

#[test]
fn istio_samples_lint_clean_but_for_the_known_ones() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/istio-samples");
    let o = lint(
        &corpus,
        &[
            "samples/bookinfo/networking/virtual-service-all-v1.yaml",
            "samples/tcp-echo/tcp-echo-20-v2.yaml",
            "tests/testdata/config/rule-websocket-route.yaml",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert_eq!(
        stdout(&o),
        "tests/testdata/config/rule-websocket-route.yaml: VirtualService websocket-route (document 3): spec.http[0].websocketUpgrade: unknown field `websocketUpgrade`\n\
         tests/testdata/config/rule-websocket-route.yaml: VirtualService websocket-route2 (document 4): spec.http[0].websocketUpgrade: unknown field `websocketUpgrade`\n\
         7 VirtualServices checked in 3 files: 2 violations (2 other documents skipped)\n"
    );
}
