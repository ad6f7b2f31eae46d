//! Installing cutover: the shell completion scripts (`cutover completions SHELL`), the man
//! page (`cutover man`), and the one minimum Rust version that Cargo.toml, README and the
//! example workflows name.
//!
//! The shells and man-page formatters are looked up in `.ci/tools` and on `PATH`; one that
//! is missing skips its check with a note on stderr, also with `CUTOVER_REQUIRE_TOOLS=1`
//! (`.ci/install-tools.sh` does not install them).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::CommandFactory;
use regex::Regex;

use crate::test::{self, Test};
use crate::validators::find_tool;

/// Every shell `cutover completions` takes, with how its script offers a subcommand
/// (`{}`: the subcommand's name).
const SHELLS: [(&str, &str); 5] = [
    ("bash", r"cutover,{}\)"),
    ("zsh", r"'{}:"),
    ("fish", r#"-a "{}" -d"#),
    (
        "powershell",
        r"::new\('{}', '{}', \[CompletionResultType\]::ParameterValue",
    ),
    ("elvish", r"cand {} '"),
];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The names of cutover's subcommands, from its command-line definition.
fn subcommands() -> Vec<String> {
    cutover::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect()
}

/// The subcommands that `text` does not name as `pattern` shows a name (a regex, `{}`
/// standing for the name).
fn unnamed(text: &str, pattern: &str) -> Vec<String> {
    subcommands()
        .into_iter()
        .filter(|name| {
            let named = pattern.replace("{}", &regex::escape(name));
            !Regex::new(&named).expect("regex").is_match(text)
        })
        .collect()
}

/// The tool's path, or `None` after a note on stderr (never required).
fn optional_tool(name: &str) -> Option<PathBuf> {
    let found = find_tool(name);
    if found.is_none() {
        eprintln!(
            "skipped: {name} not installed (optional; .ci/install-tools.sh does not install it)"
        );
    }
    found
}

/// What `cutover completions SHELL` prints, written to a file of `t`.
fn script(t: &Test, shell: &str) -> PathBuf {
    let text = t.args(["completions", shell]).any_stdout().run().stdout;
    let name = format!("cutover.{shell}");
    t.write(&name, text);
    t.path().join(name)
}

/// Runs `tool ARGS` (stdin empty) and fails the test unless it exits 0 with nothing on
/// stderr; returns its stdout.
#[track_caller]
fn quiet_ok(tool: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(tool);
    cmd.args(args).envs(env.iter().copied());
    let what = format!("{} {}", tool.display(), args.join(" "));
    let out = test::run(cmd, &what);
    assert!(
        out.code == 0 && out.stderr.is_empty(),
        "{what} did not accept it\n{}",
        out.context()
    );
    out.stdout
}

#[test]
fn every_shell_s_script_names_every_subcommand() {
    assert!(subcommands().len() >= 14, "{:?}", subcommands());
    let mut wrong = Vec::new();
    for (shell, offered) in SHELLS {
        let text = Test::new()
            .args(["completions", shell])
            .any_stdout()
            .run()
            .stdout;
        if text.trim().is_empty() {
            wrong.push(format!("{shell}: empty script"));
        }
        let missing = unnamed(&text, offered);
        if !missing.is_empty() {
            wrong.push(format!("{shell}: does not offer {missing:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn an_unknown_shell_is_refused() {
    Test::new()
        .args(["completions", "tcsh"])
        .status(2)
        .stderr_contains("invalid value 'tcsh'")
        .stderr_contains("[possible values: bash, elvish, fish, powershell, zsh]")
        .run();
}

/// Sources the bash script and calls its completion function (the one `complete -p
/// cutover` names) as bash would for the command line `words` (the cursor at the end of
/// the last word); prints one candidate a line.
const BASH_COMPLETE: &str = r#"
source "$1" || exit 1
shift
read -ra spec <<<"$(complete -p cutover)"
fn=""
for ((i = 0; i < ${#spec[@]} - 1; i++)); do
    [[ ${spec[i]} == -F ]] && fn=${spec[i + 1]}
done
[[ -n $fn ]] || { echo "complete -p cutover names no function: ${spec[*]}" >&2; exit 1; }
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
"$fn" cutover "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#;

#[test]
fn the_bash_script_parses_and_completes_subcommands_and_flags() {
    let Some(bash) = optional_tool("bash") else {
        return;
    };
    let t = Test::new();
    let file = script(&t, "bash");
    let file = file.to_str().expect("a UTF-8 temporary path");
    quiet_ok(&bash, &["--norc", "--noprofile", "-n", file], &[]);
    let complete = |words: &[&str]| -> Vec<String> {
        let mut args = vec!["--norc", "--noprofile", "-c", BASH_COMPLETE, "bash", file];
        args.extend(words);
        let out = quiet_ok(&bash, &args, &[]);
        out.lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(complete(&["cutover", "ren"]), ["render"]);
    assert_eq!(complete(&["cutover", "s"]), ["status", "stages", "schema"]);
    assert_eq!(complete(&["cutover", "render", "--ex"]), ["--exit-code"]);
    assert_eq!(complete(&["cutover", "completions", "f"]), ["fish"]);
}

#[test]
fn the_zsh_script_parses() {
    let Some(zsh) = optional_tool("zsh") else {
        return;
    };
    let t = Test::new();
    let file = script(&t, "zsh");
    quiet_ok(&zsh, &["-n", file.to_str().expect("UTF-8 path")], &[]);
}

#[test]
fn the_fish_script_parses_and_completes_subcommands() {
    let Some(fish) = optional_tool("fish") else {
        return;
    };
    let t = Test::new();
    let file = script(&t, "fish");
    let file = file.to_str().expect("UTF-8 path");
    quiet_ok(&fish, &["--no-config", "-n", file], &[]);
    // `complete -C LINE` prints fish's candidates for LINE: the word, a tab, its description.
    let line = format!("source {}; complete -C 'cutover ren'", single_quoted(file));
    let out = quiet_ok(&fish, &["--no-config", "-c", &line], &[]);
    let words: Vec<&str> = out
        .lines()
        .map(|l| l.split('\t').next().unwrap_or(l))
        .collect();
    assert_eq!(words, ["render"], "{out}");
}

/// `text` quoted for fish and POSIX shells alike (single quotes; a temporary path holds none).
fn single_quoted(text: &str) -> String {
    assert!(!text.contains('\''), "{text}");
    format!("'{text}'")
}

#[test]
fn the_man_page_starts_with_its_title_and_names_every_subcommand() {
    let page = Test::new().args(["man"]).any_stdout().run().stdout;
    let first = page.lines().next().unwrap_or_default();
    assert!(first.starts_with(".TH cutover 1 "), "{first}");
    // SUBCOMMANDS lists each as cutover-NAME(1), with its summary.
    let missing = unnamed(&page, r"(?m)^cutover\\-{}\(1\)$");
    assert_eq!(missing, Vec::<String>::new(), "the page lacks them");
    // As a pipeline: `cutover man | head -1` ends quietly when head stops reading.
    let t = Test::new();
    let head = test::run(
        {
            let mut sh = Command::new("sh");
            sh.args(["-c", r#""$0" man | head -1"#, test::BIN])
                .current_dir(t.path());
            sh
        },
        "cutover man | head -1",
    );
    assert_eq!(head.stdout, format!("{first}\n"), "{}", head.context());
    assert!(head.stderr.is_empty(), "{}", head.context());
}

/// A subcommand's entry in the formatted page (`\-` is typeset as a hyphen or a minus).
const FORMATTED: &str = r"(?m)^ +cutover[-\x{2010}\x{2212}]{}\(1\)$";

#[test]
fn the_man_page_is_accepted_by_groff_and_man() {
    let groff = optional_tool("groff");
    let man = optional_tool("man");
    if groff.is_none() && man.is_none() {
        return;
    }
    let t = Test::new();
    let page = t.args(["man"]).any_stdout().run().stdout;
    t.write("cutover.1", &page);
    let file = t.path().join("cutover.1");
    let file = file.to_str().expect("UTF-8 path");
    if let Some(groff) = groff {
        // -ww: every warning (an unknown macro, a bad escape) is printed on stderr.
        let text = quiet_ok(&groff, &["-man", "-Tutf8", "-ww", file], &[]);
        let missing = unnamed(&text, FORMATTED);
        assert_eq!(missing, Vec::<String>::new(), "groff's text lacks them");
    }
    if let Some(man) = man {
        let env = [("MANPAGER", "cat"), ("PAGER", "cat"), ("MANWIDTH", "80")];
        let text = quiet_ok(&man, &["-l", file], &env);
        assert!(text.contains("SYNOPSIS"), "{text}");
        let missing = unnamed(&text, FORMATTED);
        assert_eq!(missing, Vec::<String>::new(), "man's text lacks them");
    }
}

/// `cutover man --dir DIR` writes the main page and a page for every command it names
/// (`cutover-render(1)`, ...), each starting with its own title, so no reference dangles.
#[test]
fn man_dir_writes_a_page_for_every_page_the_main_one_names() {
    let t = Test::new();
    let out = t.args(["man", "--dir", "man1"]).any_stdout().run().stdout;
    let main = t.read("man1/cutover.1");
    assert_eq!(main, t.args(["man"]).any_stdout().run().stdout);
    let named = Regex::new(r"cutover\\-([a-z]+)\(1\)").expect("regex");
    let names: Vec<String> = named
        .captures_iter(&main)
        .map(|c| c[1].to_owned())
        .collect();
    assert!(
        names.len() > subcommands().len(),
        "every command and help: {names:?}"
    );
    assert_eq!(
        out,
        format!("wrote {} man pages to man1\n", names.len() + 1)
    );
    for name in names {
        let page = t.read(&format!("man1/cutover-{name}.1"));
        assert!(
            page.starts_with(&format!(".TH cutover-{name} 1 ")),
            "cutover-{name}.1: {}",
            page.lines().next().unwrap_or_default()
        );
        assert!(
            page.contains(&format!("cutover {name}")),
            "cutover-{name}.1 lacks its synopsis"
        );
    }
}

// --- the minimum Rust version ----------------------------------------------------------------

/// Cargo.toml's `rust-version`.
fn rust_version() -> String {
    let manifest = fs::read_to_string(repo().join("Cargo.toml")).expect("read Cargo.toml");
    let line = Regex::new(r#"(?m)^rust-version\s*=\s*"([0-9.]+)"\s*$"#).expect("regex");
    line.captures(&manifest)
        .map(|c| c[1].to_owned())
        .expect("Cargo.toml names a rust-version")
}

/// Each `FILE:LINE: VERSION` of `text` where a line about Rust (rust, rustc, rustup, a
/// toolchain, MSRV) names a version `1.N` other than `msrv` (`msrv.0` is the same).
fn other_rust_versions(file: &str, text: &str, msrv: &str) -> Vec<String> {
    let about_rust = Regex::new(r"(?i)\b(rust|rustc|rustup|toolchain|msrv)\b").expect("regex");
    // Not the tail of a longer version (0.1.0).
    let version = Regex::new(r"(?:^|[^0-9.])(1\.[0-9]+(?:\.[0-9]+)*)").expect("regex");
    let same = [msrv.to_owned(), format!("{msrv}.0")];
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if !about_rust.is_match(line) {
            continue;
        }
        for v in version.captures_iter(line) {
            if !same.iter().any(|s| s == &v[1]) {
                found.push(format!("{file}:{}: {} ({line})", i + 1, &v[1]));
            }
        }
    }
    found
}

/// README and every workflow, README or YAML file under examples/.
fn documents_naming_rust() -> Vec<PathBuf> {
    let mut files = vec![repo().join("README.md")];
    for entry in walkdir::WalkDir::new(repo().join("examples")).sort_by_file_name() {
        let entry = entry.expect("walk examples/");
        let name = entry.file_name().to_string_lossy();
        let kind = [".yml", ".yaml", ".md"]
            .iter()
            .any(|ext| name.ends_with(ext));
        if entry.file_type().is_file() && kind {
            files.push(entry.into_path());
        }
    }
    files
}

#[test]
fn readme_and_the_example_workflows_name_cargo_toml_s_rust_version() {
    let msrv = rust_version();
    let mut wrong = Vec::new();
    for path in documents_naming_rust() {
        let text = fs::read_to_string(&path).expect("read");
        let shown = path
            .strip_prefix(repo())
            .unwrap_or(&path)
            .display()
            .to_string();
        wrong.extend(other_rust_versions(&shown, &text, &msrv));
    }
    assert!(
        wrong.is_empty(),
        "Cargo.toml's rust-version is {msrv}; these name another:\n{}",
        wrong.join("\n")
    );
    let readme = fs::read_to_string(repo().join("README.md")).expect("read README.md");
    assert!(
        readme.contains(&format!("Rust toolchain ({msrv} or newer)")),
        "README names the minimum Rust version {msrv}"
    );
}

#[test]
fn another_rust_version_is_found() {
    let text = "Rust toolchain (1.85 or newer)\nIstio 1.22\nuses: dtolnay/rust-toolchain@1.84.1\n";
    assert_eq!(
        other_rust_versions("f", text, "1.89"),
        [
            "f:1: 1.85 (Rust toolchain (1.85 or newer))",
            "f:3: 1.84.1 (uses: dtolnay/rust-toolchain@1.84.1)",
        ]
    );
    let same = "rust 1.89, rustc 1.89.0; cargo install --locked cutover --version 0.1.0 (Rust)";
    assert!(other_rust_versions("f", same, "1.89").is_empty());
}
