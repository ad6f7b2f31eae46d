//! Real rendered output checked with third-party validators.
//!
//! Every golden fixture plan (`fixtures/golden/*/input/cutover.yaml`) is rendered afresh into a temporary
//! repository, and the result is checked with:
//!   - `yamllint --strict` with the repository's `.yamllint.yaml`;
//!   - `check-jsonschema` against `schemas/istio-virtualservice-v1.schema.json`, on every
//!     VirtualService file;
//!   - `kubectl kustomize` on every stage folder, whose output must be the stage's
//!     `virtualservice.yaml` plus what its kustomization lists of the GCPBackend folder and
//!     the stage's verification Job, `verify-job.yaml` (all parsed; comments, quoting and
//!     key order do not matter), on every `gcpbackend` and `verify` (the Job run by hand)
//!     folder, and on every environment folder (`<migration>/envs/<env>/`), whose output must be the
//!     `virtualservice.yaml` of the existing stage folder its one `resources` entry names;
//!   - flat environment files (`<migration>/envs/<env>.yaml`) must be byte copies of a stage
//!     file of their migration (and go through yamllint and the schema like any other).
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

use crate::test::{copy_dir, Test};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

// --- tools -----------------------------------------------------------------------------------

/// The first executable `name` in the repository's tool folders, then on `PATH`.
pub(crate) fn find_tool(name: &str) -> Option<PathBuf> {
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
pub(crate) fn tool(name: &str) -> Option<PathBuf> {
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

pub(crate) fn run(cmd: &mut Command) -> Output {
    cmd.stdin(std::process::Stdio::null());
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// `cutover --color never ARGS` in the subfolder `dir` of `t` (`""`: its root).
fn cutover(t: &Test, dir: &str, args: &[&str]) -> Test {
    t.args(["--color", "never"].iter().chain(args))
        .current_dir(dir)
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
    _repo: Test,
    /// The generated tree.
    output: PathBuf,
    /// Whether the plan uses the kustomize layout.
    kustomize: bool,
}

/// A temporary repository (an empty `.git` folder) and its path.
fn temp_repo() -> (Test, PathBuf) {
    let t = Test::new().git_folder();
    let root = t.path();
    (t, root)
}

/// The golden fixture cases: folders of `fixtures/golden/` holding `input/cutover.yaml`.
fn fixture_cases() -> Vec<String> {
    let mut cases: Vec<String> = fs::read_dir(repo().join(GOLDEN))
        .expect("fixtures/golden/")
        .map(|e| e.expect("fixtures/golden/ entry").path())
        .filter(|p| p.join("input/cutover.yaml").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    for known in ["environments", "example", "flat", "reference"] {
        assert!(cases.iter().any(|c| c == known), "{GOLDEN}/{known} missing");
    }
    cases
}

/// Where the golden fixture cases are, relative to the repository.
const GOLDEN: &str = "fixtures/golden";

/// The generated tree of the golden case in `dir` (`<case>/input/<output>`, `..` resolved).
fn case_output(dir: &Path) -> PathBuf {
    let input = dir.join("input");
    let (output, _) = plan_output(&input.join("cutover.yaml"));
    let mut path = PathBuf::new();
    for c in input.join(output).components() {
        match c {
            std::path::Component::ParentDir => {
                path.pop();
            }
            std::path::Component::CurDir => {}
            c => path.push(c),
        }
    }
    path
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

/// Copies the input of `fixtures/golden/<case>/` into a temporary repository (at the same
/// relative path, so generated headers match) and renders it afresh.
fn render_fixture(case: &str) -> Rendered {
    let (tmp, root) = temp_repo();
    let dir = root.join(GOLDEN).join(case);
    copy_dir(
        &repo().join(GOLDEN).join(case).join("input"),
        &dir.join("input"),
    );
    let (_, kustomize) = plan_output(&dir.join("input/cutover.yaml"));
    let output = case_output(&dir);
    cutover(
        &tmp,
        &format!("{GOLDEN}/{case}/input"),
        &["render", "cutover.yaml"],
    )
    .stdout_contains(" written, 0 unchanged, 0 removed ")
    .run();
    assert!(output.is_dir(), "render wrote no {}", output.display());
    Rendered {
        _repo: tmp,
        output,
        kustomize,
    }
}

/// Writes `plan` as `cutover.yaml` of a temporary repository and renders it.
fn render_plan(plan: &str) -> Rendered {
    let (tmp, root) = temp_repo();
    fs::write(root.join("cutover.yaml"), plan).expect("write plan");
    let (output, kustomize) = plan_output(&root.join("cutover.yaml"));
    cutover(&tmp, "", &["render", "cutover.yaml"])
        .stdout_contains(" written, 0 unchanged, 0 removed ")
        .run();
    Rendered {
        _repo: tmp,
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

/// The path of `p` below `tree`, as strings (`None` when not below it or not UTF-8).
fn rel_components(tree: &Path, p: &Path) -> Option<Vec<String>> {
    p.strip_prefix(tree)
        .ok()?
        .components()
        .map(|c| c.as_os_str().to_str().map(str::to_owned))
        .collect()
}

/// The folders of a tree holding a kustomization.yaml.
struct KustomizeFolders {
    /// Stage folders, `<migration>/stages/<NN>-<stage>`: each has its virtualservice.yaml.
    stages: Vec<PathBuf>,
    /// Environment folders, `<migration>/envs/<env>`: each points at one stage folder.
    envs: Vec<PathBuf>,
    /// Migration-level folders, `<migration>/gcpbackend` and `<migration>/verify` (the Job
    /// run by hand): each holds one resource file (see [`EXTRAS`]).
    extras: Vec<PathBuf>,
}

/// The migration-level kustomize folders: (folder name, its one resource file, its kind).
/// A stage lists `../../gcpbackend`; nothing lists `verify` (it is applied by hand).
const EXTRAS: [(&str, &str, &str); 2] = [
    ("gcpbackend", "gcpbackend.yaml", "GCPBackend"),
    ("verify", "job.yaml", "Job"),
];

fn kustomize_folders(tree: &Path) -> KustomizeFolders {
    let mut folders = KustomizeFolders {
        stages: Vec::new(),
        envs: Vec::new(),
        extras: Vec::new(),
    };
    for file in files(tree) {
        if file.file_name() != Some(OsStr::new("kustomization.yaml")) {
            continue;
        }
        let dir = file.parent().unwrap().to_path_buf();
        let rel = rel_components(tree, &dir).unwrap_or_default();
        match rel
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            [_, "stages", _] => folders.stages.push(dir),
            [_, "envs", _] => folders.envs.push(dir),
            [_, "gcpbackend" | "verify"] => folders.extras.push(dir),
            _ => panic!(
                "{}: a kustomization folder that is neither <migration>/stages/<stage>, \
                 <migration>/envs/<env>, <migration>/gcpbackend nor <migration>/verify",
                dir.display()
            ),
        }
    }
    folders
}

/// The `resources` of a folder's kustomization.yaml (a `Kustomization` with a list of strings).
fn resources(dir: &Path) -> Result<Vec<String>, String> {
    let file = dir.join("kustomization.yaml");
    let k = read_yaml(&file);
    let label = file.display();
    if str_field(&k, "kind") != Some("Kustomization") {
        return Err(format!("{label}: kind is not Kustomization"));
    }
    k.get("resources")
        .and_then(serde_yaml::Value::as_sequence)
        .ok_or_else(|| format!("{label}: no `resources` list"))?
        .iter()
        .map(|r| {
            r.as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("{label}: resource {r:?} is not a string"))
        })
        .collect()
}

/// The one document a migration-level folder (`<migration>/gcpbackend` or
/// `<migration>/verify`) builds to: its kustomization lists exactly its resource file, which
/// holds one document of the expected kind.
fn extra_document(dir: &Path) -> Result<serde_yaml::Value, String> {
    let folder = dir.file_name().and_then(OsStr::to_str).unwrap_or_default();
    let Some((_, file, kind)) = EXTRAS.iter().find(|(f, _, _)| *f == folder) else {
        return Err(format!(
            "{}: not a gcpbackend or verify folder",
            dir.display()
        ));
    };
    let resources = resources(dir)?;
    if resources != [*file] {
        return Err(format!(
            "{}: resources {resources:?}, want exactly [{file:?}]",
            dir.join("kustomization.yaml").display()
        ));
    }
    let path = dir.join(file);
    if !path.is_file() {
        return Err(format!("{}: missing", path.display()));
    }
    let doc = read_yaml(&path);
    if str_field(&doc, "kind") != Some(kind) {
        return Err(format!("{}: kind is not {kind}", path.display()));
    }
    Ok(doc)
}

/// The stage's verification Job (`everyStage`): a file of the stage folder.
const STAGE_JOB: &str = "verify-job.yaml";

/// The one document of a file of a stage folder, which must be of `kind`.
fn stage_file(stage: &Path, file: &str, kind: &str) -> Result<serde_yaml::Value, String> {
    let path = stage.join(file);
    if !path.is_file() {
        return Err(format!("{}: missing", path.display()));
    }
    let doc = read_yaml(&path);
    if str_field(&doc, "kind") != Some(kind) {
        return Err(format!(
            "{}: {file} is not a {kind}",
            stage.join("kustomization.yaml").display()
        ));
    }
    Ok(doc)
}

/// The documents a stage folder must build to: its virtualservice.yaml (listed exactly once)
/// plus the document of the GCPBackend folder when its kustomization lists `../../gcpbackend`,
/// and its own Job when it lists `verify-job.yaml` (a file of the stage folder). Any other
/// resource is an error.
fn stage_documents(stage: &Path) -> Result<Vec<serde_yaml::Value>, String> {
    let label = stage.join("kustomization.yaml");
    let label = label.display();
    let resources = resources(stage)?;
    let migration = stage
        .parent()
        .and_then(Path::parent)
        .expect("<migration>/stages/<stage>");
    let mut docs = Vec::new();
    let mut vs = 0;
    let mut seen = Vec::new();
    for r in &resources {
        if seen.contains(r) {
            return Err(format!("{label}: resource `{r}` listed twice"));
        }
        seen.push(r.clone());
        if r == "virtualservice.yaml" {
            docs.push(stage_file(stage, r, "VirtualService")?);
            vs += 1;
            continue;
        }
        if r == STAGE_JOB {
            docs.push(stage_file(stage, r, "Job")?);
            continue;
        }
        if r != "../../gcpbackend" {
            return Err(format!(
                "{label}: unexpected resource `{r}` (want virtualservice.yaml, \
                 ../../gcpbackend or {STAGE_JOB})"
            ));
        }
        let target = migration.join("gcpbackend");
        let resolved = stage
            .join(r)
            .canonicalize()
            .map_err(|e| format!("{label}: resource `{r}` does not exist ({e})"))?;
        if Some(resolved) != target.canonicalize().ok() {
            return Err(format!(
                "{label}: resource `{r}` does not resolve to {}",
                target.display()
            ));
        }
        docs.push(extra_document(&target)?);
    }
    if vs != 1 {
        return Err(format!(
            "{label}: virtualservice.yaml listed {vs} times, want once"
        ));
    }
    Ok(docs)
}

/// The stage folder an environment folder builds: its kustomization.yaml must have exactly
/// one `resources` entry, a relative path that resolves to an existing stage folder of the
/// same migration (`../../stages/<NN>-<stage>`).
fn env_target(env: &Path, stages: &[PathBuf]) -> Result<PathBuf, String> {
    let file = env.join("kustomization.yaml");
    let k = read_yaml(&file);
    let label = file.display();
    if str_field(&k, "kind") != Some("Kustomization") {
        return Err(format!("{label}: kind is not Kustomization"));
    }
    let resources = k
        .get("resources")
        .and_then(serde_yaml::Value::as_sequence)
        .ok_or_else(|| format!("{label}: no `resources` list"))?;
    let [resource] = resources.as_slice() else {
        return Err(format!(
            "{label}: {} resources, want exactly one (the stage folder)",
            resources.len()
        ));
    };
    let resource = resource
        .as_str()
        .ok_or_else(|| format!("{label}: resource {resource:?} is not a string"))?;
    if Path::new(resource).is_absolute() {
        return Err(format!(
            "{label}: resource `{resource}` is not a relative path"
        ));
    }
    let target = env.join(resource).canonicalize().map_err(|e| {
        format!("{label}: resource `{resource}` does not exist ({e}); the stage must exist")
    })?;
    let migration = env
        .parent()
        .and_then(Path::parent)
        .expect("<migration>/envs/<env>");
    let stages_dir = migration.join("stages").canonicalize().map_err(|e| {
        format!(
            "{}: no stages folder ({e})",
            migration.join("stages").display()
        )
    })?;
    if target.parent() != Some(stages_dir.as_path()) {
        return Err(format!(
            "{label}: resource `{resource}` resolves to {}, not a stage folder of {}",
            target.display(),
            migration.display()
        ));
    }
    let stage = stages
        .iter()
        .find(|s| s.canonicalize().is_ok_and(|s| s == target))
        .ok_or_else(|| {
            format!(
                "{label}: resource `{resource}` resolves to {}, which is not a stage folder \
                 (no kustomization.yaml)",
                target.display()
            )
        })?;
    if !stage.join("virtualservice.yaml").is_file() {
        return Err(format!(
            "{label}: stage folder {} has no virtualservice.yaml",
            stage.display()
        ));
    }
    Ok(stage.clone())
}

/// Flat-layout environment files: `<migration>/envs/<env>.yaml`.
fn flat_env_files(tree: &Path) -> Vec<PathBuf> {
    yaml_files(tree)
        .into_iter()
        .filter(|p| rel_components(tree, p).is_some_and(|c| c.len() == 3 && c[1] == "envs"))
        .collect()
}

/// Each flat environment file must be a byte copy of one stage file of its migration
/// (`<migration>/<NN>-<stage>.yaml`) and a VirtualService, so that the yamllint and schema
/// checks cover it. Returns how many there were.
fn check_flat_envs(tree: &Path) -> Result<usize, String> {
    let envs = flat_env_files(tree);
    let mut errors = Vec::new();
    for env in &envs {
        let migration = env
            .parent()
            .and_then(Path::parent)
            .expect("<migration>/envs");
        let mut stage_files: Vec<PathBuf> = fs::read_dir(migration)
            .unwrap_or_else(|e| panic!("{}: {e}", migration.display()))
            .map(|e| e.expect("read_dir entry").path())
            .filter(|p| p.is_file() && p.extension() == Some(OsStr::new("yaml")))
            .collect();
        stage_files.sort();
        let bytes = fs::read(env).unwrap_or_else(|e| panic!("{}: {e}", env.display()));
        if !stage_files
            .iter()
            .any(|s| fs::read(s).is_ok_and(|b| b == bytes))
        {
            errors.push(format!(
                "{}: not a byte copy of any stage file of {} ({stage_files:?})",
                env.display(),
                migration.display()
            ));
        } else if str_field(&read_yaml(env), "kind") != Some("VirtualService") {
            errors.push(format!("{}: not a VirtualService", env.display()));
        }
    }
    if errors.is_empty() {
        Ok(envs.len())
    } else {
        Err(errors.join("\n"))
    }
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

/// Builds one kustomization folder with `kubectl kustomize`; its output must be exactly the
/// documents `want` (in any order), compared as parsed values, with exactly one
/// VirtualService among them when `want` has one.
fn kustomize_one(kubectl: &Path, dir: &Path, want: &[serde_yaml::Value]) -> Result<(), String> {
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
    let is_vs = |d: &&serde_yaml::Value| str_field(d, "kind") == Some("VirtualService");
    let (built_vs, want_vs) = (
        built.iter().filter(is_vs).count(),
        want.iter().filter(is_vs).count(),
    );
    if built_vs != want_vs {
        return Err(format!(
            "{label}: {built_vs} VirtualServices, want {want_vs}"
        ));
    }
    let show = |docs: &[serde_yaml::Value]| {
        docs.iter()
            .map(|d| serde_yaml::to_string(d).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("---\n")
    };
    let mut left: Vec<&serde_yaml::Value> = built.iter().collect();
    let mut missing = Vec::new();
    for w in want {
        match left.iter().position(|b| *b == w) {
            Some(i) => {
                left.remove(i);
            }
            None => missing.push(w.clone()),
        }
    }
    if !missing.is_empty() || !left.is_empty() {
        let extra: Vec<serde_yaml::Value> = left.into_iter().cloned().collect();
        return Err(format!(
            "{label}: output differs from the folder's files ({} documents built, {} wanted)\n\
             --- wanted, not built\n{}\n--- built, not wanted\n{}",
            built.len(),
            want.len(),
            show(&missing),
            show(&extra)
        ));
    }
    Ok(())
}

/// What [`kustomize_tree`] built.
#[derive(Debug, PartialEq, Eq)]
struct Built {
    stages: usize,
    /// Stage folders that list their own verification Job.
    stage_jobs: usize,
    envs: usize,
    extras: usize,
}

/// Runs `kubectl kustomize` (a few at a time) on every stage folder, whose output must be its
/// own virtualservice.yaml plus the GCPBackend and Job it lists (see [`stage_documents`]); on every environment folder, whose output must be the same as that
/// of the stage folder it points at (see [`env_target`]); and on every `gcpbackend` and
/// `verify` folder, whose output must be its one document (see [`extra_document`]).
fn kustomize_tree(kubectl: &Path, tree: &Path, kustomize_layout: bool) -> Built {
    let KustomizeFolders {
        stages,
        envs,
        extras,
    } = kustomize_folders(tree);
    if kustomize_layout {
        assert!(!stages.is_empty(), "no stage folders in {}", tree.display());
    } else {
        assert!(
            stages.is_empty() && envs.is_empty() && extras.is_empty(),
            "flat layout with kustomization files: {stages:?} {envs:?} {extras:?}"
        );
    }
    let mut errors = Vec::new();
    let mut jobs: Vec<(PathBuf, Vec<serde_yaml::Value>)> = Vec::new();
    let mut stage_jobs = 0;
    for stage in &stages {
        match stage_documents(stage) {
            Ok(docs) => {
                stage_jobs += usize::from(docs.iter().any(|d| str_field(d, "kind") == Some("Job")));
                jobs.push((stage.clone(), docs));
            }
            Err(e) => errors.push(e),
        }
    }
    for env in &envs {
        match env_target(env, &stages).and_then(|stage| stage_documents(&stage)) {
            Ok(docs) => jobs.push((env.clone(), docs)),
            Err(e) => errors.push(e),
        }
    }
    for extra in &extras {
        match extra_document(extra) {
            Ok(doc) => jobs.push((extra.clone(), vec![doc])),
            Err(e) => errors.push(e),
        }
    }
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4));
    errors.extend(std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let jobs = &jobs;
                s.spawn(move || {
                    jobs.iter()
                        .skip(w)
                        .step_by(workers)
                        .filter_map(|(dir, want)| kustomize_one(kubectl, dir, want).err())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("kustomize worker"))
            .collect::<Vec<_>>()
    }));
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    Built {
        stages: stages.len(),
        stage_jobs,
        envs: envs.len(),
        extras: extras.len(),
    }
}

/// What [`all_validators`] checked in one tree.
#[derive(Debug, PartialEq, Eq)]
struct Counts {
    /// VirtualService files (schema-checked), flat environment files included.
    vs: usize,
    /// Stage folders built with `kubectl kustomize`.
    stages: usize,
    /// Environment folders built with `kubectl kustomize`.
    env_folders: usize,
    /// Flat environment files (byte copies of stage files).
    env_files: usize,
    /// `gcpbackend` and `verify` folders built with `kubectl kustomize`.
    extras: usize,
    /// Stage folders that list their own verification Job.
    stage_jobs: usize,
}

fn counts(vs: usize, stages: usize, env_folders: usize, env_files: usize) -> Counts {
    Counts {
        vs,
        stages,
        env_folders,
        env_files,
        extras: 0,
        stage_jobs: 0,
    }
}

/// Every validator on one rendered tree.
fn all_validators(r: &Rendered) -> Option<Counts> {
    let yl = tool("yamllint")?;
    let cj = tool("check-jsonschema")?;
    let kc = tool("kubectl")?;
    yamllint(&yl, &r.output);
    let vs = check_schema(&cj, &r.output);
    let built = kustomize_tree(&kc, &r.output, r.kustomize);
    let env_files = check_flat_envs(&r.output).unwrap_or_else(|e| panic!("{e}"));
    if r.kustomize {
        assert_eq!(env_files, 0, "kustomize layout with flat environment files");
    }
    Some(Counts {
        extras: built.extras,
        stage_jobs: built.stage_jobs,
        ..counts(vs, built.stages, built.envs, env_files)
    })
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
    let (mut folders, mut env_folders, mut extras, mut stage_jobs) = (0, 0, 0, 0);
    for case in fixture_cases() {
        let r = render_fixture(&case);
        let built = kustomize_tree(&kc, &r.output, r.kustomize);
        folders += built.stages;
        env_folders += built.envs;
        extras += built.extras;
        stage_jobs += built.stage_jobs;
    }
    // fixtures/golden/example alone has 9 stage folders; fixtures/golden/environments has 5 environments;
    // fixtures/golden/full-migration has a gcpbackend folder and a Job in each of its 4 stages.
    assert!(folders >= 9, "only {folders} stage folders built");
    assert!(
        env_folders >= 5,
        "only {env_folders} environment folders built"
    );
    assert!(extras >= 1, "only {extras} gcpbackend/verify folders built");
    assert!(stage_jobs >= 4, "only {stage_jobs} stage Jobs built");
}

/// fixtures/golden/full-migration: every stage folder builds to its VirtualService, the GCPBackend
/// and its own verification Job; so does its environment.
#[test]
fn full_migration_stages_build_to_virtualservice_gcpbackend_and_job() {
    let r = render_fixture("full-migration");
    let Some(c) = all_validators(&r) else {
        return;
    };
    assert_eq!(
        c,
        Counts {
            extras: 1,
            stage_jobs: 4,
            ..counts(4, 4, 1, 0)
        }
    );
    let orders = r.output.join("orders");
    assert!(
        !orders.join("verify").exists(),
        "a verify folder with everyStage"
    );
    for stage in kustomize_folders(&r.output).stages {
        let docs = stage_documents(&stage).unwrap_or_else(|e| panic!("{e}"));
        let kinds: Vec<&str> = docs.iter().filter_map(|d| str_field(d, "kind")).collect();
        assert_eq!(
            kinds,
            ["VirtualService", "GCPBackend", "Job"],
            "{}",
            stage.display()
        );
    }
    let env = stage_documents(
        &env_target(
            &orders.join("envs/prod"),
            &kustomize_folders(&r.output).stages,
        )
        .unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.len(), 3);
}

#[test]
fn rendered_fixture_flat_environments_are_stage_file_copies() {
    let mut env_files = 0;
    for case in fixture_cases() {
        let r = render_fixture(&case);
        let n = check_flat_envs(&r.output).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            n == 0 || !r.kustomize,
            "{case}: flat environment files in kustomize layout"
        );
        env_files += n;
    }
    // fixtures/golden/flat has 2 environments.
    assert!(
        env_files >= 2,
        "only {env_files} flat environment files checked"
    );
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
    let Some(c) = all_validators(&r) else {
        return;
    };
    assert_eq!(c, counts(101, 101, 0, 0));
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
    gateways: ["on", "off/y", "1.5e3"]
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
        let Some(c) = all_validators(&r) else {
            return;
        };
        assert_eq!(c, counts(6, want_stages, 0, 0), "{layout} {api}");
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
    if let Some(c) = all_validators(&r) {
        assert_eq!(c, counts(2, 2, 0, 0));
    }
}

// --- GCPBackend and verification Job ------------------------------------------------------------

/// Two migrations with a GCPBackend (with and without project, default and explicit name)
/// and a verification Job (in every stage with the kustomize layout, which the flat one
/// refuses; and run by hand), with environments.
fn extras_plan(layout: &str, api: &str) -> String {
    let every_stage = layout == "kustomize";
    format!(
        r#"version: 1
output: out
layout: {layout}
apiVersion: {api}
defaults:
  namespace: shop
  stages: [{{mirror: 5}}, {{header: {{name: x-canary, value: "on"}}}}, {{header: {{name: x-canary, value: "1"}}, weight: 10}}, {{weight: 100}}]
migrations:
  - name: orders
    from: orders-se.example.com
    to: orders-gcp.example.com
    gcpBackend: {{service: orders, region: europe-west1, project: shop-prod-123}}
    verify: {{scheme: https, port: 8443, path: "/healthz?full=1", everyStage: {every_stage}}}
    environments: {{dev: header-x-canary, prod: mirror-5}}
  - name: "yes"
    from: yes-se.example.com
    to: yes-gcp.example.com
    gcpBackend: {{name: "1.5", service: "null", region: us-central1}}
    verify: {{name: "no"}}
    environments: {{"on": weight-100}}
"#
    )
}

#[test]
fn gcpbackend_and_verify_in_both_layouts_pass_all_validators() {
    for (layout, api) in [
        ("kustomize", "networking.istio.io/v1"),
        ("flat", "networking.istio.io/v1beta1"),
        ("kustomize", "networking.istio.io/v1alpha3"),
    ] {
        let r = render_plan(&extras_plan(layout, api));
        let Some(c) = all_validators(&r) else {
            return;
        };
        let want = if layout == "kustomize" {
            // Two gcpbackend folders and yes/verify; orders' four stages list their Jobs.
            Counts {
                extras: 3,
                stage_jobs: 4,
                ..counts(8, 8, 3, 0)
            }
        } else {
            counts(11, 0, 0, 3)
        };
        assert_eq!(c, want, "{layout} {api}");
        let (gcp, job, orders_job) = if layout == "kustomize" {
            (
                "gcpbackend/gcpbackend.yaml",
                "verify/job.yaml",
                "stages/01-mirror-5/verify-job.yaml",
            )
        } else {
            ("gcpbackend.yaml", "verify-job.yaml", "verify-job.yaml")
        };
        let g = read_yaml(&r.output.join("yes").join(gcp));
        assert_eq!(str_field(&g, "kind"), Some("GCPBackend"));
        assert_eq!(g["metadata"]["name"].as_str(), Some("1.5"));
        assert_eq!(g["spec"]["cloudrun"]["service"].as_str(), Some("null"));
        assert!(g["spec"]["cloudrun"].get("project").is_none(), "{g:?}");
        let j = read_yaml(&r.output.join("yes").join(job));
        assert_eq!(str_field(&j, "kind"), Some("Job"));
        assert_eq!(j["metadata"]["name"].as_str(), Some("no"));
        let j = read_yaml(&r.output.join("orders").join(orders_job));
        let env = |key: &str| {
            j["spec"]["template"]["spec"]["containers"][0]["env"]
                .as_sequence()
                .and_then(|e| e.iter().find(|v| str_field(v, "name") == Some(key)))
                .and_then(|v| str_field(v, "value"))
                .map(str::to_owned)
        };
        assert_eq!(
            env("CLIENT_URL").as_deref(),
            Some("https://orders-se.example.com:8443/healthz?full=1")
        );
        assert_eq!(
            env("BACKEND_URL").as_deref(),
            Some("https://orders-gcp.example.com:8443/healthz?full=1")
        );
        if layout == "kustomize" {
            // `yes` lists its GCPBackend in every stage, but not its Job (no everyStage).
            for stage in kustomize_folders(&r.output).stages {
                let docs = stage_documents(&stage).unwrap_or_else(|e| panic!("{e}"));
                let kinds: Vec<&str> = docs.iter().filter_map(|d| str_field(d, "kind")).collect();
                let want: &[&str] = if stage.starts_with(r.output.join("orders")) {
                    &["VirtualService", "GCPBackend", "Job"]
                } else {
                    &["VirtualService", "GCPBackend"]
                };
                assert_eq!(kinds, want, "{}", stage.display());
            }
        }
    }
}

/// The stage checks reject a resource that is neither the stage's VirtualService, the
/// GCPBackend folder nor the stage's own Job (another folder, a path out of the migration,
/// another stage's Job, the folder of the Job run by hand), the VirtualService or the Job
/// listed twice, a `verify-job.yaml` that is not a Job or is missing, and a gcpbackend
/// folder whose kustomization lists another file.
#[test]
fn stage_checks_reject_unexpected_resources() {
    let r = render_plan(&extras_plan("kustomize", "networking.istio.io/v1"));
    let stage = r.output.join("orders/stages/04-weight-100");
    let kustomization = stage.join("kustomization.yaml");
    let original = fs::read_to_string(&kustomization).expect("read kustomization");
    assert_eq!(stage_documents(&stage).map(|d| d.len()), Ok(3));
    let job = "- verify-job.yaml\n";
    let broken = [
        ("- \"../../elsewhere\"\n", "unexpected resource"),
        ("- virtualservice.yaml\n", "listed twice"),
        ("- verify-job.yaml\n- verify-job.yaml\n", "listed twice"),
        ("- \"../../../yes/verify\"\n", "unexpected resource"),
        ("- \"../../verify\"\n", "unexpected resource"),
        ("- \"./verify-job.yaml\"\n", "unexpected resource"),
        (
            "- \"../01-mirror-5/verify-job.yaml\"\n",
            "unexpected resource",
        ),
    ];
    for (to, want) in broken {
        let text = original.replace(job, to);
        assert_ne!(text, original, "{job}");
        fs::write(&kustomization, text).expect("write kustomization");
        let err = stage_documents(&stage).expect_err(to);
        assert!(err.contains(want), "{to}: {err}");
    }
    fs::write(&kustomization, &original).expect("restore kustomization");
    // A verify-job.yaml that is not a Job, or is missing.
    let job_file = stage.join("verify-job.yaml");
    let job_text = fs::read_to_string(&job_file).expect("read the Job");
    fs::copy(stage.join("virtualservice.yaml"), &job_file).expect("copy");
    let err = stage_documents(&stage).expect_err("a VirtualService as the Job");
    assert!(err.contains("verify-job.yaml is not a Job"), "{err}");
    fs::remove_file(&job_file).expect("remove the Job");
    let err = stage_documents(&stage).expect_err("no Job");
    assert!(err.contains("missing"), "{err}");
    fs::write(&job_file, job_text).expect("restore the Job");
    assert_eq!(stage_documents(&stage).map(|d| d.len()), Ok(3));
    let gcp = r.output.join("orders/gcpbackend/kustomization.yaml");
    let text = fs::read_to_string(&gcp).expect("read kustomization");
    fs::write(&gcp, text.replace("- gcpbackend.yaml", "- other.yaml")).expect("write");
    let err = stage_documents(&stage).expect_err("other.yaml");
    assert!(err.contains("want exactly"), "{err}");
}

// --- environments ------------------------------------------------------------------------------

/// Environments from `defaults` and per migration (replacing the defaults), several on one
/// stage, on the first and the last stage, with names a YAML reader could take for other types.
fn environments_plan(layout: &str, api: &str) -> String {
    format!(
        r#"version: 1
output: out
layout: {layout}
apiVersion: {api}
defaults:
  namespace: "null"
  stages:
    - {{mirror: 0.5, name: "007"}}
    - {{weight: 1, name: "n"}}
    - {{name: half, weight: 50}}
    - weight: 100
  environments: {{dev: weight-100, "on": "007", staging: half}}
migrations:
  - name: "yes"
    from: a-se.example.com
    to: a-gcp.example.com
  - name: ledger
    namespace: finance
    from: ledger-se.example.com
    to: ledger-gcp.example.com
    environments: {{prod: "007", "1": "007", "null": weight-100, staging: n}}
"#
    )
}

/// (migration, environment, stage file or folder name) of [`environments_plan`].
const PLAN_ENVIRONMENTS: [(&str, &str, &str); 7] = [
    ("yes", "dev", "04-weight-100"),
    ("yes", "on", "01-007"),
    ("yes", "staging", "03-half"),
    ("ledger", "1", "01-007"),
    ("ledger", "null", "04-weight-100"),
    ("ledger", "prod", "01-007"),
    ("ledger", "staging", "02-n"),
];

#[test]
fn environments_in_both_layouts_and_every_api_version_pass_all_validators() {
    let apis = [
        "networking.istio.io/v1",
        "networking.istio.io/v1beta1",
        "networking.istio.io/v1alpha3",
    ];
    for layout in ["kustomize", "flat"] {
        for api in apis {
            let r = render_plan(&environments_plan(layout, api));
            let Some(c) = all_validators(&r) else {
                return;
            };
            let want = if layout == "kustomize" {
                counts(8, 8, 7, 0)
            } else {
                counts(15, 0, 0, 7)
            };
            assert_eq!(c, want, "{layout} {api}");
            // Each environment runs the stage the plan gives it.
            for (m, env, stage) in PLAN_ENVIRONMENTS {
                let dir = r.output.join(m);
                let vs = if layout == "kustomize" {
                    let env_dir = dir.join("envs").join(env);
                    let k = read_yaml(&env_dir.join("kustomization.yaml"));
                    let resources = &k["resources"];
                    assert_eq!(
                        resources.as_sequence().map(Vec::len),
                        Some(1),
                        "{m}/{env}: {resources:?}"
                    );
                    assert_eq!(
                        resources[0].as_str(),
                        Some(format!("../../stages/{stage}").as_str()),
                        "{layout} {api} {m}/{env}"
                    );
                    let target = env_target(&env_dir, &kustomize_folders(&r.output).stages)
                        .unwrap_or_else(|e| panic!("{e}"));
                    assert_eq!(target, dir.join("stages").join(stage));
                    target.join("virtualservice.yaml")
                } else {
                    let env_file = dir.join("envs").join(format!("{env}.yaml"));
                    let stage_file = dir.join(format!("{stage}.yaml"));
                    assert!(
                        fs::read(&env_file).expect("env file")
                            == fs::read(&stage_file).expect("stage file"),
                        "{} is not a copy of {}",
                        env_file.display(),
                        stage_file.display()
                    );
                    env_file
                };
                let v = read_yaml(&vs);
                assert_eq!(str_field(&v, "apiVersion"), Some(api), "{}", vs.display());
            }
        }
    }
}

/// The environment checks reject what they are meant to: a stage that does not exist, a
/// resource outside the migration's stages, more than one resource, and a flat environment
/// file that is not a byte copy of a stage file.
#[test]
fn environment_checks_reject_broken_environments() {
    let r = render_plan(&environments_plan("kustomize", "networking.istio.io/v1"));
    let stages = kustomize_folders(&r.output).stages;
    let env_dir = r.output.join("ledger/envs/prod");
    let kustomization = env_dir.join("kustomization.yaml");
    let original = fs::read_to_string(&kustomization).expect("read kustomization");
    assert!(env_target(&env_dir, &stages).is_ok());
    let broken = [
        ("../../stages/09-nope", "does not exist"),
        ("../../../yes/stages/01-007", "not a stage folder of"),
        ("../../stages", "not a stage folder of"),
    ];
    for (resource, want) in broken {
        let text = original.replace("../../stages/01-007", resource);
        assert_ne!(text, original);
        fs::write(&kustomization, text).expect("write kustomization");
        let err = env_target(&env_dir, &stages).expect_err(resource);
        assert!(err.contains(want), "{resource}: {err}");
    }
    let two = original.replace(
        "- \"../../stages/01-007\"",
        "- \"../../stages/01-007\"\n- \"../../stages/02-n\"",
    );
    assert_ne!(two, original);
    fs::write(&kustomization, two).expect("write kustomization");
    let err = env_target(&env_dir, &stages).expect_err("two resources");
    assert!(err.contains("2 resources"), "{err}");

    let r = render_plan(&environments_plan("flat", "networking.istio.io/v1"));
    assert_eq!(check_flat_envs(&r.output), Ok(7));
    let env_file = r.output.join("ledger/envs/prod.yaml");
    let mut bytes = fs::read(&env_file).expect("read env file");
    bytes.extend_from_slice(b"# edited\n");
    fs::write(&env_file, bytes).expect("write env file");
    let err = check_flat_envs(&r.output).expect_err("edited env file");
    assert!(err.contains("not a byte copy"), "{err}");
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
    let t = Test::new();
    let root = t.path();
    run_ok(git(&git_bin, &root).args(["init", "-q", "."]));
    copy_dir(&repo().join("fixtures"), &root.join("fixtures"));
    let cases = fixture_cases();
    let committed: Vec<(PathBuf, Vec<u8>)> = cases
        .iter()
        .flat_map(|c| files(&case_output(&root.join(GOLDEN).join(c))))
        .map(|p| {
            let bytes = fs::read(&p).expect("read committed file");
            (p, bytes)
        })
        .collect();
    cutover(&t, "", &["check"])
        .stdout_contains(" generated files up to date")
        .run();

    // example: the whole generated tree is gone.
    let example = case_output(&root.join(GOLDEN).join("example"));
    fs::remove_dir_all(example).expect("delete example tree");
    // flat: one file edited by hand, one deleted.
    let flat = files(&root.join(GOLDEN).join("flat/expected"));
    let edited = fs::read_to_string(&flat[0]).expect("read flat file");
    fs::write(&flat[0], edited.replace("weight: 100", "weight: 99")).expect("edit");
    fs::remove_file(&flat[1]).expect("delete flat file");
    // reference: an orphan, a generated file of a stage the plan does not have.
    let reference = files(&root.join(GOLDEN).join("reference/expected"));
    let orphan = reference[0].with_file_name("07-weight-70.yaml");
    fs::copy(&reference[0], &orphan).expect("add orphan");
    cutover(&t, "", &["check"])
        .status(1)
        .stdout_contains("files out of date")
        .run();

    let out = cutover(&t, "", &["diff"]).status(1).any_stdout().run();
    let patch = root.join("p.patch");
    fs::write(&patch, &out.stdout_bytes).expect("write patch");
    let text = &out.stdout;
    assert!(
        text.contains("deleted file mode"),
        "no deletion in:\n{text}"
    );
    assert!(text.contains("new file mode"), "no addition in:\n{text}");

    run_ok(git(&git_bin, &root).args(["apply", "--check", "p.patch"]));
    run_ok(git(&git_bin, &root).args(["apply", "p.patch"]));
    fs::remove_file(&patch).expect("remove patch");

    cutover(&t, "", &["check"])
        .stdout_contains(" generated files up to date")
        .run();
    // Nothing left to change: no output.
    cutover(&t, "", &["diff"]).run();
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
        .map(|c| files(&case_output(&root.join(GOLDEN).join(c))).len())
        .sum();
    assert_eq!(now, committed.len(), "file count after git apply");
}
