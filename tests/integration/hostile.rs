//! Hostile inputs: every file of `fixtures/hostile/` (and a few generated in the test) is
//! copied into a fresh repository as `cutover.yaml`, then `cutover validate` and
//! `cutover render` run on it with a 10 s guard (a run still going after that is killed
//! and the test fails with "hang").
//!
//! Every run must end with the expected exit code (2 for refused input, 0 for input that
//! is legitimately valid), print no panic ("panicked", "internal error"), keep stderr
//! under 64 KiB, name the field path or template where one applies, and write nothing
//! outside the plan's output folder; a run that exits 2 writes nothing at all.
//!
//! The repository sits two folders down a scratch folder (`<scratch>/work/repo`, with a
//! `.git` folder) so that `../../etc` and symlinks out of the repository land in the
//! scratch folder, which is snapshotted whole (only the repository's `.git`, where the
//! writer lock lives, is left out).
//!
//! Also here: a property test mutating `fixtures/golden/example/input/cutover.yaml` (bytes flipped,
//! YAML-significant text inserted, lines deleted or duplicated): `Plan::parse` never
//! panics, and every plan that parses renders without panicking.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use cutover::plan::Plan;
use cutover::render::render_plan;
use cutover::Templates;
use proptest::prelude::*;

use crate::test::Test;

const HANG: Duration = Duration::from_secs(10);
const MAX_STDERR: usize = 64 * 1024;

fn corpus(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/hostile")
        .join(name);
    fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// A VirtualService that would be a valid `base` (for the cases that try to read one
/// from outside the repository).
const BASE_VS: &str = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: checkout
  namespace: payments
spec:
  hosts: [checkout-se.example.com]
  http:
  - route:
    - destination:
        host: checkout-se.example.com
";

/// The repository inside the scratch folder, with a `.git` folder.
const REPO: &str = "work/repo";

/// The scratch folder of one case.
struct Scratch {
    /// Runs the binary in the repository.
    test: Test,
    /// The scratch folder (canonical).
    top: PathBuf,
    /// The repository: `<top>/work/repo`, holding `.git/`.
    repo: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        let test = Test::new();
        let top = test.path();
        let repo = top.join(REPO);
        fs::create_dir_all(repo.join(".git")).expect("create repo");
        // Targets outside the repository for `..` and symlinks to reach.
        fs::create_dir_all(top.join("outside")).unwrap();
        fs::write(top.join("outside/vs.yaml"), BASE_VS).unwrap();
        fs::write(top.join("work/outside-vs.yaml"), BASE_VS).unwrap();
        Scratch { test, top, repo }
    }
}

/// What is on disk: path → (kind, fingerprint). Files up to 1 MiB are compared by
/// contents; bigger ones by size, inode and modification time.
type Tree = BTreeMap<PathBuf, String>;

fn snapshot(top: &Path, skip: &Path) -> Tree {
    let mut out = Tree::new();
    let mut stack = vec![top.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path == skip {
                continue;
            }
            let meta = fs::symlink_metadata(&path).expect("lstat");
            let ft = meta.file_type();
            let print = if ft.is_symlink() {
                format!("link {}", fs::read_link(&path).unwrap().display())
            } else if ft.is_dir() {
                stack.push(path.clone());
                "dir".to_string()
            } else if meta.len() <= 1 << 20 {
                format!("file {:?}", fs::read(&path).unwrap())
            } else {
                use std::os::unix::fs::MetadataExt;
                let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                format!("big {} {} {:?}", meta.len(), meta.ino(), mtime)
            };
            out.insert(path, print);
        }
    }
    out
}

/// One hostile case.
struct Case {
    name: &'static str,
    plan: Vec<u8>,
    /// Extra setup in the scratch folder before the runs.
    setup: Option<fn(&Scratch)>,
    /// A template override (corpus file) installed as `tmpl/virtualservice.yaml.j2`.
    template: Option<&'static str>,
    validate_code: i32,
    render_code: i32,
    /// Text stderr must hold (field paths, template names) when a run exits 2.
    expect: &'static [&'static str],
}

impl Case {
    fn new(name: &'static str) -> Case {
        Case::bytes(name, corpus(name))
    }

    fn bytes(name: &'static str, plan: Vec<u8>) -> Case {
        Case {
            name,
            plan,
            setup: None,
            template: None,
            validate_code: 2,
            render_code: 2,
            expect: &[],
        }
    }

    /// Valid input: both commands exit 0.
    fn valid(mut self) -> Case {
        self.validate_code = 0;
        self.render_code = 0;
        self
    }

    fn expect(mut self, expect: &'static [&'static str]) -> Case {
        self.expect = expect;
        self
    }

    fn setup(mut self, f: fn(&Scratch)) -> Case {
        self.setup = Some(f);
        self
    }

    /// A plan that is valid, with a hostile template override: `validate` (which renders
    /// in memory) and `render` both refuse it, with the same message.
    fn template(mut self, file: &'static str) -> Case {
        self.template = Some(file);
        self
    }

    fn run(self) {
        let s = Scratch::new();
        let plan_path = s.repo.join("cutover.yaml");
        fs::write(&plan_path, &self.plan).expect("write plan");
        self.finish(s);
    }

    /// Like [`Case::run`], but the plan is written by `write` (for inputs too big to keep).
    fn run_generated(self, write: impl FnOnce(&Path)) {
        let s = Scratch::new();
        write(&s.repo.join("cutover.yaml"));
        self.finish(s);
    }

    fn finish(self, s: Scratch) {
        if let Some(f) = self.setup {
            f(&s);
        }
        let mut global: Vec<&str> = Vec::new();
        if let Some(t) = self.template {
            let dir = s.repo.join("tmpl");
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("virtualservice.yaml.j2"), corpus(t)).unwrap();
            global = vec!["--templates", "tmpl"];
        }
        let skip = s.repo.join(".git");
        let out_dir = s.repo.join("out");
        for (cmd, code) in [
            ("validate", self.validate_code),
            ("render", self.render_code),
        ] {
            let before = snapshot(&s.top, &skip);
            let mut args = global.clone();
            args.push(cmd);
            let mut run = s
                .test
                .args(&args)
                .current_dir(REPO)
                .timeout(HANG)
                .status(code);
            run = if code == 2 {
                // An error, and nothing on stdout.
                self.expect
                    .iter()
                    .fold(run.stderr_contains("error"), |run, want| {
                        run.stderr_contains(*want)
                    })
            } else if cmd == "validate" {
                run.stdout_contains("ok: ")
            } else {
                run.stdout_contains(" written, ")
            };
            let r = run.run();
            let after = snapshot(&s.top, &skip);
            let ctx = format!(
                "case {}: `cutover {}` exit {} in {:?}\n--- stdout ---\n{}\n--- stderr ({} bytes) ---\n{}",
                self.name,
                args.join(" "),
                r.code,
                r.took,
                clip(&r.stdout),
                r.stderr.len(),
                clip(&r.stderr)
            );
            for bad in ["panicked", "internal error", "RUST_BACKTRACE"] {
                assert!(!r.stderr.contains(bad), "panic text {bad:?}\n{ctx}");
            }
            // Diagnostics quote plan text: control characters from the input must not
            // reach the terminal (colour is off, so no escape sequence is legitimate).
            let raw = r
                .stderr
                .chars()
                .find(|c| c.is_control() && *c != '\n' && *c != '\t');
            assert!(
                raw.is_none(),
                "stderr holds control character {raw:?}\n{ctx}"
            );
            assert!(
                r.stderr.len() < MAX_STDERR,
                "stderr is {} bytes\n{ctx}",
                r.stderr.len()
            );
            // What changed, anywhere in the scratch folder.
            let mut changed: Vec<&PathBuf> = Vec::new();
            for (p, v) in &after {
                if before.get(p) != Some(v) {
                    changed.push(p);
                }
            }
            let removed: Vec<&PathBuf> =
                before.keys().filter(|p| !after.contains_key(*p)).collect();
            assert!(removed.is_empty(), "removed {removed:?}\n{ctx}");
            if code == 2 || cmd == "validate" {
                assert!(changed.is_empty(), "wrote {changed:?}\n{ctx}");
            } else {
                let outside: Vec<_> = changed
                    .iter()
                    .filter(|p| !p.starts_with(&out_dir))
                    .collect();
                assert!(
                    outside.is_empty(),
                    "wrote outside {}: {outside:?}\n{ctx}",
                    out_dir.display()
                );
                assert!(!changed.is_empty(), "a valid plan rendered nothing\n{ctx}");
            }
        }
        if self.render_code == 0 {
            let mut check = global;
            check.push("check");
            s.test
                .args(&check)
                .current_dir(REPO)
                .timeout(HANG)
                .stdout_contains(" up to date")
                .run();
        }
    }
}

fn clip(s: &str) -> String {
    if s.len() <= 4000 {
        return s.to_string();
    }
    let mut end = 4000;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes in all)", &s[..end], s.len())
}

/// A valid plan with a field set to `value` (for the generated cases).
fn plan_with(field: &str, value: &str) -> String {
    let plan = String::from_utf8(corpus("valid.yaml.in")).unwrap();
    let line = plan
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{field}:")))
        .expect("field in valid.yaml.in")
        .to_string();
    let indent = &line[..line.len() - line.trim_start().len()];
    plan.replace(&line, &format!("{indent}{field}: {value}"))
}

// ---- bytes and encodings ----

#[test]
fn random_bytes() {
    // 4 KiB from a fixed-seed LCG (see fixtures/hostile/random-4k.bin; seed 0x2545F4914F6CDD1D).
    Case::new("random-4k.bin").expect(&["cutover.yaml"]).run();
}

#[test]
fn nul_bytes() {
    Case::new("nul-bytes.yaml.in")
        .expect(&["cutover.yaml"])
        .run();
}

#[test]
fn control_characters_in_values() {
    Case::new("control-chars.yaml.in")
        .expect(&["cutover.yaml"])
        .run();
}

#[test]
fn utf8_bom_is_accepted() {
    Case::new("bom.yaml.in").valid().run();
}

#[test]
fn crlf_is_accepted() {
    Case::new("crlf.yaml.in").valid().run();
}

#[test]
fn empty_file() {
    Case::new("empty.yaml.in").expect(&["empty"]).run();
}

#[test]
fn whitespace_only() {
    Case::new("whitespace-only.yaml.in")
        .expect(&["empty"])
        .run();
}

#[test]
fn comments_only() {
    Case::new("comments-only.yaml.in").expect(&["empty"]).run();
}

#[test]
fn multi_document() {
    Case::new("multi-document.yaml.in")
        .expect(&["document"])
        .run();
}

// ---- resource exhaustion ----

#[test]
fn deep_nesting() {
    // The YAML parser's own recursion limit (flow collections) is reached before the
    // reader's 64-level limit; either way the file is refused with a position.
    Case::new("deep-nesting.yaml.in")
        .expect(&["cutover.yaml:1:"])
        .run();
}

#[test]
fn alias_bomb() {
    Case::new("alias-bomb.yaml.in")
        .expect(&["alias bomb"])
        .run();
}

#[test]
fn file_of_100_mb() {
    // Generated here, not committed. It must be refused on its size without being
    // parsed; the 10 s hang guard is the only timing bound.
    Case::bytes("100 MB plan", Vec::new())
        .expect(&["larger than", "bytes"])
        .run_generated(|path| {
            let mut f = std::io::BufWriter::new(fs::File::create(path).unwrap());
            f.write_all(&corpus("valid.yaml.in")).unwrap();
            let line = format!("# {}\n", "x".repeat(1021));
            for _ in 0..(100 << 20) / line.len() {
                f.write_all(line.as_bytes()).unwrap();
            }
            f.flush().unwrap();
            assert!(fs::metadata(path).unwrap().len() >= 100 << 20);
        });
}

#[test]
fn string_value_of_1_mib_on_one_line() {
    // Generated here: a 1 MiB host name on one line. The message must name the field
    // without echoing the whole line (stderr stays under 64 KiB).
    let value = format!("{}.example.com", "a".repeat(1 << 20));
    Case::bytes("1 MiB value", plan_with("from", &value).into_bytes())
        .expect(&["migrations[0].from"])
        .run();
}

// ---- YAML features plans do not use ----

#[test]
fn tag_binary() {
    Case::new("tag-binary.yaml.in")
        .expect(&["migrations[0].from", "tag"])
        .run();
}

#[test]
fn tag_custom() {
    Case::new("tag-custom.yaml.in")
        .expect(&["migrations[0].to", "tag"])
        .run();
}

#[test]
fn tag_python_object() {
    Case::new("tag-python.yaml.in")
        .expect(&["migrations[0].namespace", "tag"])
        .run();
}

#[test]
fn duplicate_keys() {
    Case::new("duplicate-keys.yaml.in")
        .expect(&["migrations[0].from", "duplicate key"])
        .run();
}

// ---- types ----

#[test]
fn quoted_weight_is_a_string() {
    Case::new("weight-quoted.yaml.in")
        .expect(&["migrations[0].stages[0].weight"])
        .run();
}

#[test]
fn quoted_number_namespace_is_a_string() {
    Case::new("namespace-quoted-number.yaml.in").valid().run();
}

#[test]
fn unquoted_number_namespace_is_not_a_string() {
    Case::new("namespace-number.yaml.in")
        .expect(&["migrations[0].namespace"])
        .run();
}

#[test]
fn version_as_float() {
    Case::new("version-float.yaml.in")
        .expect(&["version"])
        .run();
}

// ---- hosts that try to add YAML structure or template syntax ----

#[test]
fn host_with_newline() {
    Case::new("host-newline.yaml.in")
        .expect(&["migrations[0].from"])
        .run();
}

#[test]
fn host_with_quotes() {
    Case::new("host-quotes.yaml.in")
        .expect(&["migrations[0].to"])
        .run();
}

#[test]
fn host_with_template_syntax() {
    Case::new("host-template.yaml.in")
        .expect(&["migrations[0].hosts[0]"])
        .run();
}

#[test]
fn host_with_colon_space() {
    Case::new("host-colon.yaml.in")
        .expect(&["migrations[0].hosts[0]"])
        .run();
}

#[test]
fn host_with_hash() {
    Case::new("host-hash.yaml.in")
        .expect(&["migrations[0].to"])
        .run();
}

// ---- paths ----

#[test]
fn stage_name_with_dotdot() {
    Case::new("stage-name-dotdot.yaml.in")
        .expect(&["migrations[0].stages[0].name"])
        .run();
}

#[test]
fn output_climbing_out() {
    Case::new("output-dotdot.yaml.in").expect(&["output"]).run();
}

#[test]
fn output_absolute() {
    Case::new("output-absolute.yaml.in")
        .expect(&["output"])
        .run();
}

#[test]
fn output_through_symlink_outside() {
    Case::new("output-symlink.yaml.in")
        .setup(|s| std::os::unix::fs::symlink(s.top.join("outside"), s.repo.join("link")).unwrap())
        .expect(&["output"])
        .run();
}

#[test]
fn base_climbing_out() {
    Case::new("base-dotdot.yaml.in")
        .expect(&["migrations[0].base"])
        .run();
}

#[test]
fn base_through_symlink_outside() {
    Case::new("base-symlink.yaml.in")
        .setup(|s| {
            std::os::unix::fs::symlink(s.top.join("outside/vs.yaml"), s.repo.join("vs-link.yaml"))
                .unwrap()
        })
        .expect(&["migrations[0].base", "outside"])
        .run();
}

// ---- template overrides ----

#[test]
fn template_include_etc_passwd() {
    Case::new("valid.yaml.in")
        .template("template-include-etc-passwd.j2.in")
        .expect(&["tmpl/virtualservice.yaml.j2", "line 3"])
        .run();
}

#[test]
fn template_huge_range() {
    Case::new("valid.yaml.in")
        .template("template-range-huge.j2.in")
        .expect(&["tmpl/virtualservice.yaml.j2", "line 4"])
        .run();
}

#[test]
fn template_macro_recursion() {
    Case::new("valid.yaml.in")
        .template("template-macro-recursion.j2.in")
        .expect(&["tmpl/virtualservice.yaml.j2", "line 1"])
        .run();
}

#[test]
fn template_safe_value_with_yaml_structure_fails_the_read_back_check() {
    // The header value `true: yes` is a valid plan value; printed `|safe` it turns the
    // header match into a nested mapping, which the read-back check refuses.
    Case::new("header-structure.yaml.in")
        .template("template-safe-header.j2.in")
        .expect(&["tmpl/virtualservice.yaml.j2", "read-back check"])
        .run();
}

// ---- property: mutated plans never panic ----

const SIGNIFICANT: &[&str] = &[
    ":",
    ": ",
    "- ",
    "-",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a ",
    "*a",
    "<<: *a",
    "!",
    "!!str ",
    "|",
    ">",
    "#",
    "'",
    "\"",
    "\n",
    "  ",
    "\t",
    "---\n",
    "...\n",
    "? ",
    "%YAML 1.2\n",
    "@",
    "`",
    "\\",
    "\0",
    "\u{feff}",
    "\r\n",
    "~",
    "null",
    "1e999",
    "0x10",
    ".inf",
    "\u{85}",
    "\u{2028}",
];

#[derive(Clone, Debug)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    Insert(prop::sample::Index, &'static str),
    DeleteLine(prop::sample::Index),
    DuplicateLine(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (
            any::<prop::sample::Index>(),
            prop::sample::select(SIGNIFICANT)
        )
            .prop_map(|(i, s)| Mutation::Insert(i, s)),
        any::<prop::sample::Index>().prop_map(Mutation::DeleteLine),
        any::<prop::sample::Index>().prop_map(Mutation::DuplicateLine),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        match m {
            Mutation::Flip(i, bit) if !bytes.is_empty() => {
                let i = i.index(bytes.len());
                bytes[i] ^= 1 << bit;
            }
            Mutation::Insert(i, s) => {
                let i = i.index(bytes.len() + 1);
                bytes.splice(i..i, s.bytes());
            }
            Mutation::DeleteLine(i) | Mutation::DuplicateLine(i) => {
                let mut lines: Vec<Vec<u8>> = bytes
                    .split_inclusive(|&b| b == b'\n')
                    .map(<[u8]>::to_vec)
                    .collect();
                if lines.is_empty() {
                    continue;
                }
                let i = i.index(lines.len());
                if matches!(m, Mutation::DeleteLine(_)) {
                    lines.remove(i);
                } else {
                    let l = lines[i].clone();
                    lines.insert(i, l);
                }
                bytes = lines.concat();
            }
            Mutation::Flip(..) => {}
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mutated_plans_never_panic(mutations in prop::collection::vec(mutation(), 1..8)) {
        let original = fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/example/input/cutover.yaml"))
            .expect("example plan");
        let bytes = apply(original, &mutations);
        let path = Path::new("/repo/apps/cutover.yaml");
        if let Ok(plan) = Plan::parse("cutover.yaml", &bytes, path, Path::new("/repo")) {
            let templates = Templates::builtin().expect("built-in templates");
            // Errors are fine (a mutation may make a manifest fail the read-back check); panics are not.
            let _ = render_plan(&plan, &templates);
        }
    }
}
