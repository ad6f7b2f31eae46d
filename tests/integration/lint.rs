//! `cutover lint`, run as a binary: exit 0 when every VirtualService is valid, 1 when
//! there are violations (each shown as `FILE:LINE:COLUMN: VirtualService NAME (document N): PATH:
//! MESSAGE`), 2 when a file cannot be read or is not YAML.

use crate::test::{fixtures, Test};

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

/// `cutover lint` with `args`, in `t`'s folder.
fn lint(t: &Test, args: &[&str]) -> Test {
    t.args(std::iter::once("lint").chain(args.iter().copied()))
}

#[test]
fn valid_file_exits_0() {
    let t = Test::new().file("vs.yaml", VALID);
    lint(&t, &["vs.yaml"])
        .stdout("1 VirtualService checked in 1 file: 0 violations\n")
        .run();
}

#[test]
fn violation_exits_1_and_names_file_document_and_path() {
    let bad = VALID
        .replace("weight: 90", "weight: -90")
        .replace("host: cr-gcpbackend.com", "host: cr_gcpbackend.com");
    let t = Test::new().file("apps/vs.yaml", bad).file("ok.yaml", VALID);
    let prefix = "VirtualService cr-gcpbackend-migration (document 1): ";
    // Each violation names the line and column where its field is written.
    let out = lint(&t, &["ok.yaml", "apps/vs.yaml"])
        .status(1)
        .stdout_contains(format!(
            "apps/vs.yaml:{}: {prefix}spec.http[0].route[0].destination.host: destination host `cr_gcpbackend.com` is not a valid DNS name",
            at(&t, "apps/vs.yaml", "host: cr_gcpbackend.com", "cr_")
        ))
        .stdout_contains(format!(
            "apps/vs.yaml:{}: {prefix}spec.http[0].route[1].weight: weight -90 is negative",
            at(&t, "apps/vs.yaml", "weight: -90", "-90")
        ))
        .run();
    assert!(
        out.stdout
            .ends_with("2 VirtualServices checked in 2 files: 2 violations\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn typo_in_a_field_is_reported() {
    let t = Test::new().file("vs.yaml", VALID.replace("weight: 10", "wieght: 10"));
    lint(&t, &["vs.yaml"])
        .status(1)
        .stdout_contains(
            "vs.yaml:13:15: VirtualService cr-gcpbackend-migration (document 1): spec.http[0].route[0].wieght: unknown field `wieght`",
        )
        .run();
}

#[test]
fn bad_yaml_exits_2() {
    let t = Test::new().file("bad.yaml", "kind: VirtualService\nspec: [1\n");
    lint(&t, &["bad.yaml"])
        .status(2)
        .stderr_contains("bad.yaml")
        .stderr_contains("not valid YAML")
        .run();
}

#[test]
fn missing_file_exits_2() {
    lint(&Test::new(), &["nope.yaml"])
        .status(2)
        .stderr_contains("nope.yaml")
        .run();
}

#[test]
fn multi_document_file_skips_other_kinds() {
    let service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: cr-service-entry\nspec:\n  ports:\n  - port: 80\n---\n";
    // A duplicate key is not valid YAML.
    let t = Test::new().file(
        "all.yaml",
        format!(
            "{service}{}",
            VALID.replace("weight: 10\n", "weight: 10\n      weight: 0\n")
        ),
    );
    lint(&t, &["all.yaml"])
        .status(2)
        .stderr_contains("all.yaml")
        .run();

    t.write(
        "all.yaml",
        format!(
            "{service}{}",
            VALID
                .replace("weight: 90", "weight: 0")
                .replace("weight: 10", "weight: 0")
        ),
    );
    lint(&t, &["all.yaml"])
        .status(1)
        .stdout(
            "all.yaml:19:7: VirtualService cr-gcpbackend-migration (document 2): spec.http[0].route: \
             the HTTP route has 2 destinations and their total weight is 0; at least one needs a weight above 0\n\
             1 VirtualService checked in 1 file: 1 violation (1 other document skipped)\n",
        )
        .run();

    t.write(
        "all.yaml",
        format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n---\n{VALID}"),
    );
    lint(&t, &["all.yaml"])
        .stdout("1 VirtualService checked in 1 file: 0 violations (1 other document skipped)\n")
        .run();
}

#[test]
fn istio_samples_lint_clean_but_for_the_known_ones() {
    let files = [
        "samples/bookinfo/networking/virtual-service-all-v1.yaml",
        "samples/tcp-echo/tcp-echo-20-v2.yaml",
        "tests/testdata/config/rule-websocket-route.yaml",
    ];
    let mut t = Test::new();
    for f in files {
        let text = std::fs::read(fixtures().join("istio-samples").join(f)).expect("read sample");
        t = t.file(f, text);
    }
    lint(&t, &files)
        .status(1)
        .stdout(
            "tests/testdata/config/rule-websocket-route.yaml:56:25: VirtualService websocket-route (document 3): spec.http[0].websocketUpgrade: unknown field `websocketUpgrade`\n\
             tests/testdata/config/rule-websocket-route.yaml:79:25: VirtualService websocket-route2 (document 4): spec.http[0].websocketUpgrade: unknown field `websocketUpgrade`\n\
             7 VirtualServices checked in 3 files: 2 violations (2 other documents skipped)\n",
        )
        .run();
}

/// YAML 1.2 reads a plain `012` as the integer 12 (YAML 1.1, as kubectl reads it, as the
/// octal 10), cutover's own reader as the string "012": reported once, with what each
/// reader makes of it and, `exact` being a string field, to quote it. A plain `yes` is a
/// string in YAML 1.2 and a boolean to kubectl: reported too. Quoted, both are strings
/// for every reader.
#[test]
fn plain_scalars_are_read_as_yaml_1_2_and_kubectl_read_them() {
    let with = |exact: &str| {
        VALID.replace(
            "  - route:\n",
            &format!("  - match:\n    - headers:\n        x-id: {{exact: {exact}}}\n    route:\n"),
        )
    };
    let prefix = "VirtualService cr-gcpbackend-migration (document 1): spec.http[0].match[0].headers.x-id.exact";
    let t = Test::new().file("vs.yaml", with("012"));
    lint(&t, &["vs.yaml"])
        .status(1)
        .stdout(format!(
            "vs.yaml:12:23: {prefix}: plain `012` is the string \"012\" to cutover's YAML reader, the integer 12 in YAML 1.2 and the integer 10 in YAML 1.1, as kubectl reads it; the field is a string: quote it, `\"012\"`\n\
             1 VirtualService checked in 1 file: 1 violation\n"
        ))
        .run();
    t.write("vs.yaml", with("yes"));
    lint(&t, &["vs.yaml"])
        .status(1)
        .stdout(format!(
            "vs.yaml:12:23: {prefix}: plain `yes` is the string \"yes\" in YAML 1.2 but the boolean true in YAML 1.1, as kubectl reads it; quote it ('yes') if a string is meant\n\
             1 VirtualService checked in 1 file: 1 violation\n"
        ))
        .run();
    // `00` is the integer 0 for YAML 1.2 and kubectl, the string "00" to cutover's reader.
    t.write("vs.yaml", with("00"));
    lint(&t, &["vs.yaml"])
        .status(1)
        .stdout(format!(
            "vs.yaml:12:23: {prefix}: plain `00` is the string \"00\" to cutover's YAML reader, the integer 0 in YAML 1.2 and the integer 0 in YAML 1.1, as kubectl reads it; the field is a string: quote it, `\"00\"`\n\
             1 VirtualService checked in 1 file: 1 violation\n"
        ))
        .run();
    for quoted in ["'012'", "\"yes\"", "'00'", "v012"] {
        t.write("vs.yaml", with(quoted));
        lint(&t, &["vs.yaml"])
            .stdout("1 VirtualService checked in 1 file: 0 violations\n")
            .run();
    }
}

/// `LINE:COLUMN` of `needle` in file `path` of the test folder: the line holding `line`,
/// the column where `needle` starts on it.
fn at(t: &Test, path: &str, line: &str, needle: &str) -> String {
    let text = t.read(path);
    let (n, l) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(line))
        .unwrap_or_else(|| panic!("{line:?} not in {path}"));
    let col = l.find(needle).expect("needle on its line") + 1;
    format!("{}:{col}", n + 1)
}
