//! Real rendered output checked with third-party validators.
//!
//! Every fixture plan (`fixtures/*/cutover.yaml`) is rendered afresh into a temporary
//! repository, and the result is checked with:
//!   - `yamllint --strict` with the repository's `.yamllint.yaml`;
//!   - `check-jsonschema` against `schemas/istio-virtualservice-v1.schema.json`, on every
//!     VirtualService file;
//!   - `kubectl kustomize` on every stage folder, whose output must be the stage's
//!     `virtualservice.yaml` (both parsed; comments, quoting and key order do not matter).
//!
//! Generated plans with hostile-but-valid values go through the same validators, and
//! `cutover diff` is round-tripped through a real `git apply`.
//!
//! Tools are looked up in `.ci/tools/bin`, `.ci/tools/venv/bin` (see `.ci/install-tools.sh`)
//! and then on `PATH`. A missing tool skips the test with a note on stderr, unless
//! `CUTOVER_REQUIRE_TOOLS=1` is set: then it fails the test.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

// --- tools -----------------------------------------------------------------------------------

/// The first executable `name` in the repository's tool folders, then on `PATH`.
fn find_tool(name: &str) -> Option<PathBuf> {
    let mut dirs = vec![
        repo().join(".ci/tools/bin"),
        repo().join(".ci/tools/venv/bin"),
    ];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

fn tools_required() -> bool {
    std::env::var("CUTOVER_REQUIRE_TOOLS").is_ok_and(|v| v == "1")
}

/// The tool's path; `None` (after a note on stderr) when it is missing and not required.
fn tool(name: &str) -> Option<PathBuf> {
    let found = find_tool(name);
    if found.is_none() {
        assert!(
            !tools_required(),
            "{name} not installed, and CUTOVER_REQUIRE_TOOLS=1 (run .ci/install-tools.sh)"
        );
        eprintln!("skipped: {name} not installed (run .ci/install-tools.sh)");
    }
    found
}

/// Binds the tool's path, or returns from the test when it is missing (see [`tool`]).
macro_rules! tool_or_skip {
    ($name:literal) => {
        match tool($name) {
            Some(p) => p,
            None => return,
        }
    };
}

/// Runs `cmd`, returning its output; panics with everything it printed unless it exits 0.
fn run_ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(std::process::Stdio::null());
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// A `cutover` command run in `dir`, without colour.
fn cutover(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["--color", "never"])
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1");
    cmd
}

/// Runs `cutover` and checks its exit code.
fn cutover_code(dir: &Path, args: &[&str], want: i32) -> Output {
    let out = run(&mut cutover(dir, args));
    assert_eq!(
        out.status.code(),
        Some(want),
        "cutover {args:?} in {}\n--- stdout\n{}\n--- stderr\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

// --- YAML ----------------------------------------------------------------------------------

/// Every non-empty document in `text`.
fn documents(text: &str, what: &str) -> Vec<serde_yaml::Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| {
            serde_yaml::Value::deserialize(d).unwrap_or_else(|e| panic!("{what}: bad YAML: {e}"))
        })
        .filter(|v| !v.is_null())
        .collect()
}

fn read_yaml(path: &Path) -> serde_yaml::Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut docs = documents(&text, &path.display().to_string());
    assert_eq!(docs.len(), 1, "{}: want one document", path.display());
    docs.remove(0)
}

fn str_field<'a>(v: &'a serde_yaml::Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(serde_yaml::Value::as_str)
}

// --- trees ---------------------------------------------------------------------------------

/// A temporary repository (a `.git` folder at its root) holding one rendered plan.
struct Rendered {
    _tmp: tempfile::TempDir,
    /// The generated tree.
    output: PathBuf,
    /// Whether the plan uses the kustomize layout.
    kustomize: bool,
}

fn temp_repo() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical tempdir");
    fs::create_dir(root.join(".git")).expect("mkdir .git");
    (tmp, root)
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("mkdir {}: {e}", to.display()));
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("read_dir entry");
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
        }
    }
}

/// The fixture cases: folders of `fixtures/` holding a `cutover.yaml`.
fn fixture_cases() -> Vec<String> {
    let mut cases: Vec<String> = fs::read_dir(repo().join("fixtures"))
        .expect("fixtures/")
        .map(|e| e.expect("fixtures/ entry").path())
        .filter(|p| p.join("cutover.yaml").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    for known in ["example", "flat", "reference"] {
        assert!(cases.iter().any(|c| c == known), "fixtures/{known} missing");
    }
    cases
}

/// The plan's output folder (relative to the plan) and whether its layout is kustomize.
fn plan_output(plan: &Path) -> (String, bool) {
    let v = read_yaml(plan);
    let output = str_field(&v, "output")
        .unwrap_or_else(|| panic!("{}: no output", plan.display()))
        .to_owned();
    let kustomize = str_field(&v, "layout").is_none_or(|l| l == "kustomize");
    (output, kustomize)
}

/// Copies `fixtures/<case>/` into a temporary repository (at the same relative path, so
/// generated headers match), removes the committed generated tree and renders it afresh.
fn render_fixture(case: &str) -> Rendered {
    let (tmp, root) = temp_repo();
    let dir = root.join("fixtures").join(case);
    copy_dir(&repo().join("fixtures").join(case), &dir);
    let (output, kustomize) = plan_output(&dir.join("cutover.yaml"));
    let output = dir.join(output);
    if output.exists() {
        fs::remove_dir_all(&output).expect("remove committed tree");
    }
    cutover_code(&dir, &["render", "cutover.yaml"], 0);
    assert!(output.is_dir(), "render wrote no {}", output.display());
    Rendered {
        _tmp: tmp,
        output,
        kustomize,
    }
}

/// Writes `plan` as `cutover.yaml` of a temporary repository and renders it.
fn render_plan(plan: &str) -> Rendered {
    let (tmp, root) = temp_repo();
    fs::write(root.join("cutover.yaml"), plan).expect("write plan");
    let (output, kustomize) = plan_output(&root.join("cutover.yaml"));
    cutover_code(&root, &["render", "cutover.yaml"], 0);
    Rendered {
        _tmp: tmp,
        output: root.join(output),
        kustomize,
    }
}

/// Every file under `dir`, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    out.sort();
    out
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    files(dir)
        .into_iter()
        .filter(|p| matches!(p.extension().and_then(OsStr::to_str), Some("yaml" | "yml")))
        .collect()
}

/// The files whose document is a VirtualService.
fn virtualservice_files(dir: &Path) -> Vec<PathBuf> {
    yaml_files(dir)
        .into_iter()
        .filter(|p| str_field(&read_yaml(p), "kind") == Some("VirtualService"))
        .collect()
}

/// The folders holding a kustomization.yaml.
fn stage_folders(dir: &Path) -> Vec<PathBuf> {
    files(dir)
        .into_iter()
        .filter(|p| p.file_name() == Some(OsStr::new("kustomization.yaml")))
        .map(|p| p.parent().unwrap().to_path_buf())
        .collect()
}

// --- validators ------------------------------------------------------------------------------

fn yamllint(yamllint: &Path, tree: &Path) {
    let config = repo().join(".yamllint.yaml");
    let files = yaml_files(tree);
    assert!(!files.is_empty(), "no YAML files in {}", tree.display());
    run_ok(
        Command::new(yamllint)
            .arg("-c")
            .arg(&config)
            .args(["--strict", "-f", "parsable", "--"])
            .args(&files),
    );
}

fn check_schema(check_jsonschema: &Path, tree: &Path) -> usize {
    let schema = repo().join("schemas/istio-virtualservice-v1.schema.json");
    let files = virtualservice_files(tree);
    assert!(
        !files.is_empty(),
        "no VirtualService files in {}",
        tree.display()
    );
    run_ok(
        Command::new(check_jsonschema)
            .arg("--schemafile")
            .arg(&schema)
            .arg("--")
            .args(&files),
    );
    files.len()
}

/// Builds one stage folder with `kubectl kustomize`; its output must be exactly the
/// folder's virtualservice.yaml, as parsed values.
fn kustomize_one(kubectl: &Path, dir: &Path) -> Result<(), String> {
    let out = run(Command::new(kubectl).arg("kustomize").arg(dir));
    if !out.status.success() {
        return Err(format!(
            "kubectl kustomize {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let label = format!("kubectl kustomize {}", dir.display());
    let built = documents(&String::from_utf8_lossy(&out.stdout), &label);
    let want = read_yaml(&dir.join("virtualservice.yaml"));
    if built.len() != 1 {
        return Err(format!("{label}: {} documents, want 1", built.len()));
    }
    if str_field(&built[0], "kind") != Some("VirtualService") {
        return Err(format!("{label}: not a VirtualService"));
    }
    if built[0] != want {
        return Err(format!(
            "{label}: output differs from virtualservice.yaml\n--- virtualservice.yaml\n{}\n--- kubectl kustomize\n{}",
            serde_yaml::to_string(&want).unwrap_or_default(),
            serde_yaml::to_string(&built[0]).unwrap_or_default()
        ));
    }
    Ok(())
}

/// Runs [`kustomize_one`] on every stage folder of `tree` (a few at a time) and returns how
/// many there were.
fn kustomize_stages(kubectl: &Path, tree: &Path, kustomize_layout: bool) -> usize {
    let dirs = stage_folders(tree);
    if kustomize_layout {
        assert!(!dirs.is_empty(), "no stage folders in {}", tree.display());
    } else {
        assert!(
            dirs.is_empty(),
            "flat layout with kustomization files: {dirs:?}"
        );
    }
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4));
    let errors: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let dirs = &dirs;
                s.spawn(move || {
                    dirs.iter()
                        .skip(w)
                        .step_by(workers)
                        .filter_map(|d| kustomize_one(kubectl, d).err())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("kustomize worker"))
            .collect()
    });
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    dirs.len()
}

/// Every validator on one rendered tree; returns (VirtualService files, stage folders).
fn all_validators(r: &Rendered) -> Option<(usize, usize)> {
    let yl = tool("yamllint")?;
    let cj = tool("check-jsonschema")?;
    let kc = tool("kubectl")?;
    yamllint(&yl, &r.output);
    let vs = check_schema(&cj, &r.output);
    let stages = kustomize_stages(&kc, &r.output, r.kustomize);
    Some((vs, stages))
}

// --- fixtures --------------------------------------------------------------------------------

#[test]
fn rendered_fixtures_pass_yamllint() {
    let yl = tool_or_skip!("yamllint");
    for case in fixture_cases() {
        yamllint(&yl, &render_fixture(&case).output);
    }
}

#[test]
fn rendered_fixtures_match_the_istio_schema() {
    let cj = tool_or_skip!("check-jsonschema");
    for case in fixture_cases() {
        check_schema(&cj, &render_fixture(&case).output);
    }
}

#[test]
fn rendered_fixture_stages_build_with_kubectl_kustomize() {
    let kc = tool_or_skip!("kubectl");
    let mut folders = 0;
    for case in fixture_cases() {
        let r = render_fixture(&case);
        folders += kustomize_stages(&kc, &r.output, r.kustomize);
    }
    // fixtures/example alone has 9 stage folders.
    assert!(folders >= 9, "only {folders} stage folders built");
}

// --- hostile but valid plans -------------------------------------------------------------------

/// A wildcard host, a tiny mirror and 101 stages (three-digit stage numbers).
fn long_rollout_plan() -> String {
    let mut plan = String::from(
        "version: 1
output: deploy/out
layout: kustomize
apiVersion: networking.istio.io/v1
migrations:
  - name: hostile
    namespace: ns-1
    virtualService: a.b-c.d
    hosts: [a.example.com, \"*.wild.example.com\"]
    gateways: [mesh, istio-system/gw]
    from: a.example.com
    to: b.example.com
    stages:
      - mirror: 0.001
",
    );
    for w in 1..=99 {
        plan.push_str(&format!("      - weight: {w}\n"));
    }
    plan.push_str("      - weight: 100\n");
    plan
}

#[test]
fn long_rollout_with_wildcard_host_and_tiny_mirror_passes_all_validators() {
    let r = render_plan(&long_rollout_plan());
    let Some((vs, stages)) = all_validators(&r) else {
        return;
    };
    assert_eq!((vs, stages), (101, 101));
    let first = read_yaml(
        &r.output
            .join("hostile/stages/001-mirror-0-001/virtualservice.yaml"),
    );
    let pct = &first["spec"]["http"][0]["mirrorPercentage"]["value"];
    assert_eq!(pct.as_f64(), Some(0.001), "{pct:?}");
    let hosts = &first["spec"]["hosts"];
    assert_eq!(hosts[1].as_str(), Some("*.wild.example.com"), "{hosts:?}");
}

/// Names and hosts that a YAML 1.1 or 1.2 reader would take for booleans, nulls or numbers
/// unless they are quoted, in both layouts' files and every apiVersion.
fn yaml_lookalikes_plan(layout: &str, api: &str) -> String {
    format!(
        r#"version: 1
output: out
layout: {layout}
apiVersion: {api}
migrations:
  - name: "yes"
    namespace: "null"
    virtualService: "1.5"
    hosts: ["1e3", "*.wild.example.com", "0x1F", "true.example.com", "no", "0o17"]
    gateways: ["on", "off/y", "1.0"]
    from: "123"
    to: "1e3"
    stages:
      - {{mirror: 33.3333, name: "007"}}
      - {{weight: 1, name: "n"}}
      - {{weight: 50, name: "0"}}
      - weight: 100
  - name: "1e10"
    namespace: "0123"
    virtualService: "0.0"
    from: "nan"
    to: "inf"
    stages: [{{mirror: 100}}, {{weight: 100}}]
"#
    )
}

#[test]
fn yaml_lookalike_values_pass_all_validators() {
    let cases = [
        ("kustomize", "networking.istio.io/v1", 6),
        ("flat", "networking.istio.io/v1beta1", 0),
        ("kustomize", "networking.istio.io/v1alpha3", 6),
    ];
    for (layout, api, want_stages) in cases {
        let r = render_plan(&yaml_lookalikes_plan(layout, api));
        let Some((vs, stages)) = all_validators(&r) else {
            return;
        };
        assert_eq!((vs, stages), (6, want_stages), "{layout} {api}");
        // The values read back as the strings the plan gave, not as numbers or booleans.
        let file = if layout == "kustomize" {
            "yes/stages/01-007/virtualservice.yaml"
        } else {
            "yes/01-007.yaml"
        };
        let v = read_yaml(&r.output.join(file));
        assert_eq!(v["metadata"]["name"].as_str(), Some("1.5"));
        assert_eq!(v["metadata"]["namespace"].as_str(), Some("null"));
        assert_eq!(v["spec"]["gateways"][0].as_str(), Some("on"));
        assert_eq!(v["spec"]["hosts"][4].as_str(), Some("no"));
        assert_eq!(
            v["spec"]["http"][0]["route"][0]["destination"]["host"].as_str(),
            Some("123")
        );
    }
}

/// Valid names at their maximum lengths: a 253-character VirtualService name and a
/// 255-character host. Their lines are longer than 160 columns, which `.yamllint.yaml`
/// allows for a single unbreakable value.
#[test]
fn maximum_length_names_pass_all_validators() {
    let label = "a".repeat(63);
    let vs = format!("{label}.{label}.{label}.{}", "b".repeat(61));
    let host = format!("{label}.{label}.{label}.{}.com", "c".repeat(59));
    assert_eq!((vs.len(), host.len()), (253, 255));
    let plan = format!(
        "version: 1\noutput: out\nmigrations:\n  - name: {label}\n    namespace: {label}\n    \
         virtualService: {vs}\n    hosts: [\"*.{label}.example.com\"]\n    from: {host}\n    \
         to: b.example.com\n    stages: [{{mirror: 100}}, {{weight: 100}}]\n"
    );
    let r = render_plan(&plan);
    if let Some(counts) = all_validators(&r) {
        assert_eq!(counts, (2, 2));
    }
}

// --- cutover diff through git apply ------------------------------------------------------------

fn git(git: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(git);
    cmd.current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null");
    cmd
}

/// One round trip over all fixtures in a real git repository: delete, edit and add
/// generated files, then `cutover diff > p`, `git apply --check p`, `git apply p`, and
/// `cutover check` must pass and the trees equal the committed ones again.
#[test]
fn diff_of_damaged_fixture_trees_applies_with_git_apply() {
    let git_bin = tool_or_skip!("git");
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical tempdir");
    run_ok(git(&git_bin, &root).args(["init", "-q", "."]));
    copy_dir(&repo().join("fixtures"), &root.join("fixtures"));
    let cases = fixture_cases();
    let committed: Vec<(PathBuf, Vec<u8>)> = cases
        .iter()
        .flat_map(|c| {
            let dir = root.join("fixtures").join(c);
            let (output, _) = plan_output(&dir.join("cutover.yaml"));
            files(&dir.join(output))
        })
        .map(|p| {
            let bytes = fs::read(&p).expect("read committed file");
            (p, bytes)
        })
        .collect();
    cutover_code(&root, &["check"], 0);

    // example: the whole generated tree is gone.
    let example = root.join("fixtures/example");
    let (out, _) = plan_output(&example.join("cutover.yaml"));
    fs::remove_dir_all(example.join(out)).expect("delete example tree");
    // flat: one file edited by hand, one deleted.
    let flat = files(&root.join("fixtures/flat/generated"));
    let edited = fs::read_to_string(&flat[0]).expect("read flat file");
    fs::write(&flat[0], edited.replace("weight: 100", "weight: 99")).expect("edit");
    fs::remove_file(&flat[1]).expect("delete flat file");
    // reference: an orphan, a generated file of a stage the plan does not have.
    let reference = files(&root.join("fixtures/reference/out"));
    let orphan = reference[0].with_file_name("07-weight-70.yaml");
    fs::copy(&reference[0], &orphan).expect("add orphan");
    cutover_code(&root, &["check"], 1);

    let out = cutover_code(&root, &["diff"], 1);
    let patch = root.join("p.patch");
    fs::write(&patch, &out.stdout).expect("write patch");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("deleted file mode"),
        "no deletion in:\n{text}"
    );
    assert!(text.contains("new file mode"), "no addition in:\n{text}");

    run_ok(git(&git_bin, &root).args(["apply", "--check", "p.patch"]));
    run_ok(git(&git_bin, &root).args(["apply", "p.patch"]));
    fs::remove_file(&patch).expect("remove patch");

    cutover_code(&root, &["check"], 0);
    let again = cutover_code(&root, &["diff"], 0);
    assert!(again.stdout.is_empty(), "diff after apply printed output");
    assert!(!orphan.exists(), "orphan survived the patch");
    for (path, bytes) in &committed {
        let now = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            &now == bytes,
            "{} differs from the committed file after git apply",
            path.display()
        );
    }
    let now: usize = cases
        .iter()
        .map(|c| {
            let dir = root.join("fixtures").join(c);
            let (output, _) = plan_output(&dir.join("cutover.yaml"));
            files(&dir.join(output)).len()
        })
        .sum();
    assert_eq!(now, committed.len(), "file count after git apply");
}
