#!/usr/bin/env bash
# Tests the GitHub Action (action.yml) without GitHub, from .ci/run after action-validator:
#   1. action-validator refuses broken copies of action.yml and of the example workflow
#      (an unknown key, an input without its required description, a step whose `uses:`
#      is not a reference), so that its passes mean something;
#   2. every `uses:` of both files is owner/repo[/path]@ref, ./path or docker://image
#      (action-validator 0.6 accepts any string there), and broken references are refused;
#      GitHub's actions at their Node 24 majors; action.yml, the example workflow and the
#      READMEs name Cargo.toml's version;
#   3. the comment step's actions/github-script script against a stub GitHub
#      (.ci/action-comment-test.mjs);
#   4. the whole action, step by step (.ci/action-run.py runs its `run:` scripts with bash,
#      as GitHub's runner does), on small git repositories holding a plan: a rendered
#      change, a stale tree, no change, a plan in a subfolder, a base branch that moved on
#      since the branch point, plans invalid at the base only or on both sides, a
#      multi-line `plans`, a push without a base, a broken cached binary, and hostile
#      inputs; the outputs `changed` and `stale`, the cache key, the files the steps write
#      (comment, job summary, PATH) and the comment the stub GitHub ends up with are checked.
# `cargo` is a stand-in that records its arguments and installs the debug build
# (target/debug/cutover, built by `cargo test`; CUTOVER_BIN overrides), so the install
# step's arguments are checked without building a release. Needs .ci/tools (install-tools.sh).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$PWD"
# shellcheck source=/dev/null
source .ci/tools/env.sh
# ACTION: the action to test (another copy, to see this test fail on a broken one).
ACTION="$(realpath "${ACTION:-action.yml}")"
CUTOVER_BIN="$(realpath "${CUTOVER_BIN:-target/debug/cutover}")"
[[ -x "$CUTOVER_BIN" ]] || { echo "no cutover binary at $CUTOVER_BIN (run cargo build)" >&2; exit 1; }

WORK="$(mktemp -d)"
trap '[[ -n "${KEEP:-}" ]] || rm -rf "$WORK"' EXIT
pass=0
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
ok() { pass=$((pass + 1)); printf 'ok - %s\n' "$*"; }

# --- 1. action-validator on broken copies -----------------------------------------------
# action-validator takes a file for an action when its name ends in action.yml.
broken() { # broken NAME SOURCE PYTHON-EXPRESSION-ON-s: writes $WORK/broken/NAME/<file name of SOURCE>
    mkdir -p "$WORK/broken/$1"
    python3 - "$2" "$WORK/broken/$1/$(basename "$2")" "$3" <<'EOF'
import sys
src, dst, expr = sys.argv[1:]
s = open(src).read()
t = eval(expr)
assert t != s, "the edit changed nothing: " + expr
open(dst, "w").write(t)
EOF
    echo "$WORK/broken/$1/$(basename "$2")"
}
refused() { # refused FILE WHAT
    if action-validator "$1" >"$WORK/av.out" 2>&1; then fail "action-validator accepted $2"; fi
    grep -q '"errors"' "$WORK/av.out" || fail "action-validator failed without errors on $2: $(head -c 300 "$WORK/av.out")"
    ok "action-validator refuses $2"
}
action-validator "$ACTION" >/dev/null || fail "action-validator refuses $ACTION"
refused "$(broken key "$ACTION" 's.replace("branding:\n", "brandin:\n", 1)')" "action.yml with an unknown key"
refused "$(broken desc "$ACTION" 's.replace("    description: The folder the cutover commands run in (the repository root by default).\n", "", 1)')" \
    "action.yml with an input without its description"
refused "$(broken uses "$ACTION" 's.replace("uses: actions/cache@v5", "uses: {action: actions/cache}", 1)')" \
    "action.yml with a uses: that is not a string"
refused "$(broken wkey examples/github-actions/cutover.yml 's.replace("runs-on:", "run-on:", 1)')" \
    "the example workflow with an unknown key"
refused "$(broken wuses examples/github-actions/cutover.yml 's.replace("uses: actions/checkout@v5", "uses:", 1)')" \
    "the example workflow with an empty uses:"

# --- 2. uses: references ----------------------------------------------------------------------
check_uses() { # check_uses FILE...: every uses: of steps is a well-formed reference
    python3 - "$@" <<'EOF'
import re, sys, yaml
REF = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[^@\s]+)?@[A-Za-z0-9_./-]+|\./\S*|docker://\S+")
bad = []
for path in sys.argv[1:]:
    doc = yaml.safe_load(open(path))
    steps = list(doc.get("runs", {}).get("steps", []))
    for job in (doc.get("jobs") or {}).values():
        steps += job.get("steps", [])
        if "uses" in job:
            steps.append(job)
    for step in steps:
        if "uses" in step and not (isinstance(step["uses"], str) and REF.fullmatch(step["uses"])):
            bad.append(f"{path}: uses: {step['uses']!r} is not owner/repo[/path]@ref, ./path or docker://image")
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
}
check_uses "$ACTION" examples/github-actions/cutover.yml || fail "uses: references"
ok "every uses: of action.yml and the example workflow is a reference"
for bad_ref in "actions/cache" "actions/cache@" "cache@v4" "actions/cache@v4 --x"; do
    f="$(broken "ref-${bad_ref//[^a-z0-9]/_}" "$ACTION" "s.replace(\"uses: actions/cache@v5\", \"uses: $bad_ref\", 1)")"
    if check_uses "$f" 2>/dev/null; then fail "the uses: check accepted '$bad_ref'"; fi
done
f="$(broken wref examples/github-actions/cutover.yml 's.replace("uses: cutover-dev/cutover@v0.1.0", "uses: cutover-dev/cutover", 1)')"
if check_uses "$f" 2>/dev/null; then fail "the uses: check accepted the workflow's action without @ref"; fi
ok "the uses: check refuses references without @ref, or without owner"
# GitHub's own actions at their Node 24 majors (Node 20 actions are deprecated on runners),
# in action.yml, the example workflow and the READMEs.
python3 - "$ACTION" examples/github-actions/cutover.yml README.md examples/github-actions/README.md <<'EOF' ||
import re, sys
NODE24 = {"actions/checkout": 5, "actions/github-script": 8, "actions/cache": 5}
old = [f"{path}: {m.group(0)} (Node 24: @v{NODE24[m.group(1)]})"
       for path in sys.argv[1:]
       for m in re.finditer(r"(actions/(?:checkout|github-script|cache))@v([0-9]+)", open(path).read())
       if int(m.group(2)) < NODE24[m.group(1)]]
for o in old:
    print(o, file=sys.stderr)
sys.exit(1 if old else 0)
EOF
    fail "actions before their Node 24 majors"
ok "actions/checkout, actions/github-script and actions/cache at their Node 24 majors"

# --- 2b. one release version ---------------------------------------------------------------
# A release bumps them together (README, Releasing): action.yml's `version` default, the
# example workflow's `version:` and its `uses: …@vX.Y.Z`, and the same in the READMEs,
# all equal to Cargo.toml's version.
python3 - "$ACTION" examples/github-actions/cutover.yml <<'EOF' || fail "release versions"
import re, sys, tomllib, yaml
version = tomllib.load(open("Cargo.toml", "rb"))["package"]["version"]
action, example = sys.argv[1:]
found = [(f"{action}: the version input's default", yaml.safe_load(open(action))["inputs"]["version"]["default"])]
for job in yaml.safe_load(open(example))["jobs"].values():
    for step in job["steps"]:
        m = re.fullmatch(r"cutover-dev/cutover@v(.*)", step.get("uses", ""))
        if m:
            found.append((f"{example}: uses: {step['uses']}", m.group(1)))
            found.append((f"{example}: version:", step.get("with", {}).get("version")))
if len(found) != 3:
    sys.exit(f"{example}: no step uses cutover-dev/cutover@v…")
for doc in ("README.md", "examples/github-actions/README.md"):
    text = open(doc).read()
    found += [(f"{doc}: cutover-dev/cutover@v{v}", v) for v in re.findall(r"cutover-dev/cutover@v([0-9][^\s`]*)", text)]
    found += [(f"{doc}: version: \"{v}\"", v) for v in re.findall(r"^\s*version: \"([^\"]*)\"", text, re.M)]
wrong = [f"{where} is {v!r}" for where, v in found if v != version]
for w in wrong:
    print(f"Cargo.toml's version is {version}, but {w}", file=sys.stderr)
sys.exit(1 if wrong else 0)
EOF
ok "action.yml's version default, the example's version: and @v tag, and the READMEs name Cargo.toml's version"

# --- 3. the comment script ----------------------------------------------------------------
python3 -c '
import sys, yaml
steps = yaml.safe_load(open(sys.argv[1]))["runs"]["steps"]
(script,) = [s["with"]["script"] for s in steps if s.get("id") == "comment"]
sys.stdout.write(script)' "$ACTION" >"$WORK/comment.js"
node .ci/action-comment-test.mjs "$WORK/comment.js"
ok "the comment script against a stub GitHub"

# --- 4. the whole action on git repositories ------------------------------------------------
mkdir -p "$WORK/bin"
cat >"$WORK/bin/cargo" <<EOF
#!/usr/bin/env bash
# Stand-in for cargo install: records the arguments, installs $CUTOVER_BIN into --root.
printf '%s\n' "\$*" >>"\$CARGO_LOG"
root=""
while [[ \$# -gt 0 ]]; do [[ "\$1" == --root ]] && root="\$2"; shift; done
[[ -n "\$root" ]] || { echo "no --root" >&2; exit 1; }
mkdir -p "\$root/bin" && cp "$CUTOVER_BIN" "\$root/bin/cutover"
EOF
chmod +x "$WORK/bin/cargo"
# The runs see git, bash, node and python, and no cutover but what the action installs.
for tool in git node python3 bash; do ln -sf "$(command -v "$tool")" "$WORK/bin/$tool"; done
BASE_PATH="$WORK/bin:/usr/bin:/bin"

plan() { # plan WEIGHT: a plan of one migration with environments
    cat <<EOF
version: 1
output: deploy
defaults:
  namespace: shop
migrations:
  - name: checkout
    from: checkout-se.example.com
    to: checkout-gcp.example.com
    stages: [{mirror: 100}, {weight: 10}, {weight: $1}, {weight: 100}]
    environments: {staging: weight-$1, prod: weight-10}
EOF
}

new_repo() { # new_repo DIR [SUBDIR]: a rendered plan committed on main, origin/main at it
    local dir="$1" sub="${2:-.}"
    mkdir -p "$dir/$sub"
    git -C "$dir" init -q -b main
    plan 50 >"$dir/$sub/cutover.yaml"
    (cd "$dir/$sub" && "$CUTOVER_BIN" render >/dev/null)
    git -C "$dir" add -A
    git -C "$dir" -c user.name=ci -c user.email=ci@example.invalid commit -q -m base
    git -C "$dir" update-ref refs/remotes/origin/main HEAD
}

# run_action NAME REPO [--input k=v | --github k=v | --cache-hit x]...: runs the action;
# leaves $R (the result JSON), $STATE (the stub GitHub), $TEMP (RUNNER_TEMP), $STATUS.
run_action() {
    local name="$1" repo="$2"
    shift 2
    TEMP="$WORK/$name/temp"
    mkdir -p "$TEMP" "$WORK/$name/home"
    R="$WORK/$name/result.json"
    STATE="$WORK/$name/github.json"
    [[ -f "$STATE" ]] || echo '{"comments": []}' >"$STATE"
    echo '{"pull_request": {"number": 7, "head": {"repo": {"full_name": "owner/repo"}}}}' >"$WORK/$name/event.json"
    STATUS=0
    env -i PATH="$BASE_PATH" HOME="$WORK/$name/home" CARGO_LOG="$WORK/$name/cargo.log" ImageOS=ubuntu24 \
        STUB_STATE="$STATE" STUB_EVENT="$WORK/$name/event.json" GITHUB_REPOSITORY=owner/repo \
        python3 .ci/action-run.py "$ACTION" --workspace "$repo" --temp "$TEMP" --result "$R" \
        --github-script "node $REPO/.ci/action-github-script.mjs" \
        --github event.pull_request.number=7 "$@" >"$WORK/$name/log" 2>&1 || STATUS=$?
}
# j EXPR: a value of the result JSON ($R) or, with --state, of the stub GitHub.
j() {
    local file="$R"
    if [[ "$1" == --state ]]; then file="$STATE"; shift; fi
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$file" "$1"
}
expect() { # expect WHAT ACTUAL WANTED
    [[ "$2" == "$3" ]] || { cat "$WORK/$NAME/log" >&2; fail "$NAME: $1 is '$2', want '$3'"; }
}

# A change rendered and committed: changed, not stale, one comment created, then updated.
NAME=change
new_repo "$WORK/r1"
plan 40 >"$WORK/r1/cutover.yaml"
(cd "$WORK/r1" && "$CUTOVER_BIN" render >/dev/null)
run_action change "$WORK/r1" --github base_ref=main
expect "exit status" "$STATUS" 0
expect "changed" "$(j 'd["outputs"]["changed"]')" true
expect "stale" "$(j 'd["outputs"]["stale"]')" false
comment="$(j 'd["outputs"]["comment-file"]')"
expect "comment file" "$comment" "$TEMP/cutover-comment.md"
expect "comment's first line" "$(head -n 1 "$comment")" "<!-- cutover -->"
grep -q '^```mermaid$' "$comment" || fail "change: no chart in the comment"
grep -q '"3 weight-40: staging"' "$comment" || fail "change: the chart does not mark staging"
expect "comments on the pull request" "$(j --state 'len(d["comments"])')" 1
expect "the comment's body" "$(j --state 'd["comments"][0]["body"] == open("'"$comment"'").read()')" True
expect "job summary" "$(cmp -s "$comment" "$TEMP/step-summary.md" && echo same)" same
expect "cargo install" "$(cat "$WORK/change/cargo.log")" \
    "install --locked cutover --version =0.1.0 --root $WORK/change/home/.cache/cutover-action/0.1.0"
expect "GITHUB_PATH" "$(cat "$TEMP/github-path")" "$WORK/change/home/.cache/cutover-action/0.1.0/bin"
expect "cache key" "$(j 'd["with"]["cache"]["key"]')" "cutover-Linux-X64-ubuntu24-0.1.0"
ok "a rendered change: changed=true stale=false, comment created with its chart, job summary, install"
# The next push: the same comment is updated, the cached binary is used.
plan 30 >"$WORK/r1/cutover.yaml"
(cd "$WORK/r1" && "$CUTOVER_BIN" render >/dev/null)
rm -f "$WORK/change/cargo.log" "$TEMP/step-summary.md"
run_action change "$WORK/r1" --github base_ref=main --cache-hit true
expect "exit status" "$STATUS" 0
expect "comments on the pull request" "$(j --state 'len(d["comments"])')" 1
expect "calls" "$(j --state '[c[0] for c in d["calls"] if c[0] not in ("list", "user")]')" "['update']"
grep -q 'weight-30' "$(j 'd["outputs"]["comment-file"]')" || fail "change: the updated comment is not the new one"
[[ ! -e "$WORK/change/cargo.log" ]] || fail "change: cargo ran despite the cache hit"
ok "the next push updates the same comment; a cache hit installs nothing"
# A restored binary that does not run (built on another image): installed again, forced.
printf '#!/bin/sh\nexit 127\n' >"$WORK/change/home/.cache/cutover-action/0.1.0/bin/cutover"
rm -f "$TEMP/github-path"
run_action change "$WORK/r1" --github base_ref=main --cache-hit true
expect "exit status" "$STATUS" 0
expect "cargo install" "$(cat "$WORK/change/cargo.log")" \
    "install --locked --force cutover --version =0.1.0 --root $WORK/change/home/.cache/cutover-action/0.1.0"
grep -q '::warning title=cutover action::cutover 0.1.0 restored from the cache does not run' "$WORK/change/log" ||
    fail "change: no warning on a broken cached binary"
expect "changed" "$(j 'd["outputs"]["changed"]')" true
ok "the runner image is in the cache key; a restored binary that does not run is installed again"

# A plan changed without rendering: stale; the comment is still posted, then the action fails.
NAME=stale
new_repo "$WORK/r2"
plan 40 >"$WORK/r2/cutover.yaml"
run_action stale "$WORK/r2" --github base_ref=main
expect "exit status" "$STATUS" 1
expect "stale" "$(j 'd["outputs"]["stale"]')" true
expect "changed" "$(j 'd["outputs"]["changed"]')" true
expect "failed step" "$(j 'd["failed"]')" fail
expect "comment step" "$(j 'd["outcomes"]["comment"]')" success
expect "comments on the pull request" "$(j --state 'len(d["comments"])')" 1
grep -q '::error file=deploy/checkout' "$WORK/stale/log" || fail "stale: no annotation"
rm -f "$STATE"
run_action stale "$WORK/r2" --github base_ref=main --input fail-on-stale=false --input comment=false
expect "exit status with fail-on-stale=false" "$STATUS" 0
expect "stale" "$(j 'd["outputs"]["stale"]')" true
expect "comment step with comment=false" "$(j 'd["outcomes"]["comment"]')" skipped
expect "comments with comment=false" "$(j --state 'len(d["comments"])')" 0
ok "a stale tree: stale=true, annotated, comment first, then fails (or not, with fail-on-stale=false)"

# No change: changed=false, no comment created.
NAME=same
new_repo "$WORK/r3"
run_action same "$WORK/r3" --github base_ref=main
expect "exit status" "$STATUS" 0
expect "changed" "$(j 'd["outputs"]["changed"]')" false
expect "stale" "$(j 'd["outputs"]["stale"]')" false
expect "comments on the pull request" "$(j --state 'len(d["comments"])')" 0
grep -q 'cutover: no changes' "$TEMP/cutover-comment.md" || fail "same: the comment file does not say no change"
ok "no change: changed=false, no comment created"

# A plan in a subfolder, named by `plans`, in `working-directory`; a broken plan beside it
# is not searched. The base given as an input.
NAME=subdir
new_repo "$WORK/r4" gitops/apps
mkdir -p "$WORK/r4/gitops/other"
echo 'version: 1' >"$WORK/r4/gitops/other/cutover.yaml"
plan 40 >"$WORK/r4/gitops/apps/cutover.yaml"
# (render warns about the broken plan beside it)
(cd "$WORK/r4/gitops/apps" && "$CUTOVER_BIN" render >/dev/null 2>&1)
run_action subdir "$WORK/r4" --input working-directory=gitops --input plans="apps/cutover.yaml apps" --input base=main
expect "exit status" "$STATUS" 0
expect "changed" "$(j 'd["outputs"]["changed"]')" true
expect "stale" "$(j 'd["outputs"]["stale"]')" false
grep -q "Compared with <code>$(git -C "$WORK/r4" rev-parse --short main)</code>" "$TEMP/cutover-comment.md" ||
    fail "subdir: not compared with origin/main's commit"
ok "plans and working-directory: only the named plans, base from the input"

# The base branch gained a migration after the pull request branched off: the comment
# compares with the merge base, so that migration does not show as removed by the PR.
NAME=behind
new_repo "$WORK/r9"
git -C "$WORK/r9" checkout -q -b pr
plan 40 >"$WORK/r9/cutover.yaml"
(cd "$WORK/r9" && "$CUTOVER_BIN" render >/dev/null)
git -C "$WORK/r9" add -A
git -C "$WORK/r9" -c user.name=ci -c user.email=ci@example.invalid commit -q -m "the pull request"
git -C "$WORK/r9" checkout -q main
{ plan 50; cat <<EOF
  - name: payments
    from: payments-se.example.com
    to: payments-gcp.example.com
    stages: [{mirror: 100}, {weight: 100}]
EOF
} >"$WORK/r9/cutover.yaml"
(cd "$WORK/r9" && "$CUTOVER_BIN" render >/dev/null)
git -C "$WORK/r9" add -A
git -C "$WORK/r9" -c user.name=ci -c user.email=ci@example.invalid commit -q -m "payments, merged meanwhile"
git -C "$WORK/r9" update-ref refs/remotes/origin/main HEAD
git -C "$WORK/r9" checkout -q pr
run_action behind "$WORK/r9" --github base_ref=main
expect "exit status" "$STATUS" 0
expect "changed" "$(j 'd["outputs"]["changed"]')" true
expect "stale" "$(j 'd["outputs"]["stale"]')" false
grep -q "Compared with <code>$(git -C "$WORK/r9" rev-parse --short main~1)</code>" "$TEMP/cutover-comment.md" ||
    fail "behind: not compared with the merge base"
grep -q 'weight-40' "$TEMP/cutover-comment.md" || fail "behind: the pull request's change is not in the comment"
if grep -q payments "$TEMP/cutover-comment.md"; then fail "behind: the base branch's new migration shows in the comment"; fi
ok "a base branch that moved on: compared with the merge base, its new migration not shown"
# No merge base (unrelated histories): compared with the base's tip, with a warning.
git -C "$WORK/r9" checkout -q --orphan unrelated
git -C "$WORK/r9" -c user.name=ci -c user.email=ci@example.invalid commit -q -m unrelated
git -C "$WORK/r9" checkout -q pr
run_action behind "$WORK/r9" --input base=unrelated --input comment=false
expect "exit status without a merge base" "$STATUS" 0
grep -q '::warning title=cutover action::no merge base of unrelated and HEAD' "$WORK/behind/log" ||
    fail "behind: no warning without a merge base"
grep -q '<code>unrelated</code>' "$TEMP/cutover-comment.md" || fail "behind: not compared with the tip"
ok "no merge base: compared with the base's tip, with a warning"

# The base revision's plan is invalid and the pull request fixes it: `diff --base` fails,
# the plans of the checkout are valid, so the comment says the base could not be read
# (with cutover's error) and the check decides.
NAME=badbase
new_repo "$WORK/r10"
plan 50 | sed 's/weight: 50}/weight: 150}/' >"$WORK/r10/cutover.yaml"
git -C "$WORK/r10" -c user.name=ci -c user.email=ci@example.invalid commit -q -am "an invalid weight"
git -C "$WORK/r10" update-ref refs/remotes/origin/main HEAD
plan 40 >"$WORK/r10/cutover.yaml"
(cd "$WORK/r10" && "$CUTOVER_BIN" render >/dev/null)
run_action badbase "$WORK/r10" --github base_ref=main
expect "exit status" "$STATUS" 0
expect "changed" "$(j 'd["outputs"]["changed"]')" true
expect "stale" "$(j 'd["outputs"]["stale"]')" false
comment="$TEMP/cutover-comment.md"
grep -q "cutover: the plans at <code>$(git -C "$WORK/r10" rev-parse --short main)</code> could not be read" "$comment" ||
    fail "badbase: the comment does not say the base could not be read"
python3 - "$comment" <<'EOF' || fail "badbase: cutover's error is not in a code block: $(cat "$comment")"
import re, sys
assert re.search(r"\n```\nerror: migrations\[0\]\.stages\[2\]\.weight: weight 150 is outside 0\.\.100\n(.*\n)*```\n$",
                 open(sys.argv[1]).read())
EOF
expect "comments on the pull request" "$(j --state 'len(d["comments"])')" 1
# The same with the tree not rendered: the check's verdict (stale) fails the action.
plan 30 >"$WORK/r10/cutover.yaml"
run_action badbase "$WORK/r10" --github base_ref=main
expect "exit status when stale" "$STATUS" 1
expect "failed step when stale" "$(j 'd["failed"]')" fail
expect "comment step when stale" "$(j 'd["outcomes"]["comment"]')" success
ok "an invalid plan at the base only: the comment says so with cutover's error, the check decides"

# Invalid on both sides: the comparison step fails (seen without the annotate and check
# steps, which fail first on an invalid plan in the action).
NAME=badboth
mkdir -p "$WORK/badboth"
python3 - "$ACTION" "$WORK/badboth/action.yml" <<'EOF'
import sys, yaml
a = yaml.safe_load(open(sys.argv[1]))
a["runs"]["steps"] = [s for s in a["runs"]["steps"] if s.get("id") not in ("annotate", "check")]
yaml.safe_dump(a, open(sys.argv[2], "w"), sort_keys=False)
EOF
plan 50 | sed 's/weight: 50}/weight: 150}/' >"$WORK/r10/cutover.yaml"
ACTION="$WORK/badboth/action.yml" run_action badboth "$WORK/r10" --github base_ref=main
expect "exit status" "$STATUS" 1
expect "failed step" "$(j 'd["failed"]')" diff
expect "comment-file" "$(j 'd["outputs"]["comment-file"]')" ""
expect "comments on the pull request" "$(j --state 'len(d["comments"])')" 0
grep -q 'weight 150 is outside' "$WORK/badboth/log" || fail "badboth: cutover's error is not in the log"
ok "an invalid plan on both sides: the comparison step fails, no comment"

# A multi-line `plans` (a `plans: |` block): every plan named is checked, not only the
# first line's; the second plan was changed without rendering.
NAME=lines
new_repo "$WORK/r8" a
mkdir -p "$WORK/r8/b"
plan 50 >"$WORK/r8/b/cutover.yaml"
(cd "$WORK/r8/b" && "$CUTOVER_BIN" render >/dev/null)
git -C "$WORK/r8" add -A
git -C "$WORK/r8" -c user.name=ci -c user.email=ci@example.invalid commit -q -m b
git -C "$WORK/r8" update-ref refs/remotes/origin/main HEAD
plan 40 >"$WORK/r8/b/cutover.yaml"
run_action lines "$WORK/r8" --github base_ref=main --input plans=$'a/cutover.yaml\n  b/cutover.yaml\n'
expect "exit status" "$STATUS" 1
expect "stale" "$(j 'd["outputs"]["stale"]')" true
expect "changed" "$(j 'd["outputs"]["changed"]')" true
expect "failed step" "$(j 'd["failed"]')" fail
grep -q '::error file=b/deploy/checkout' "$WORK/lines/log" || fail "lines: the second plan's files are not annotated"
ok "a multi-line plans input: every line's plan is annotated, checked and compared"

# A push: no base, so no comparison and no comment; the check still runs.
NAME=push
new_repo "$WORK/r5"
run_action push "$WORK/r5"
expect "exit status" "$STATUS" 0
expect "changed" "$(j 'd["outputs"]["changed"]')" ""
expect "stale" "$(j 'd["outputs"]["stale"]')" false
expect "comment step" "$(j 'd["outcomes"]["comment"]')" skipped
ok "a push without base: stale=false, changed empty, no comment"

# version: source builds the action's own checkout.
NAME=source
new_repo "$WORK/r6"
run_action source "$WORK/r6" --input version=source
expect "exit status" "$STATUS" 0
expect "cargo install" "$(cat "$WORK/source/cargo.log")" "install --locked --path $(dirname "$ACTION") --root $TEMP/cutover-action/source"
ok "version: source installs from the action's checkout"

# Hostile inputs reach the commands as words, never as shell code or options.
NAME=hostile
new_repo "$WORK/r7"
# shellcheck disable=SC2016
for case in 'annotate plans=$(touch injected-1) `touch injected-2`;touch injected-3' 'annotate plans=--help' \
    'install version=0.1.0;touch injected-4' 'diff base=main$(touch injected-5)' \
    'annotate working-directory=$(touch injected-6)'; do
    rm -rf "$WORK/hostile"
    run_action hostile "$WORK/r7" --github base_ref=main --input "${case#* }"
    expect "exit status for ${case#* }" "$STATUS" 1
    expect "failed step for ${case#* }" "$(j 'd["failed"]')" "${case%% *}"
done
found="$(find "$WORK" "$REPO" -name 'injected-*' 2>/dev/null)"
[[ -z "$found" ]] || fail "hostile: an input ran as code: $found"
ok "hostile plans, version, base and working-directory fail without running anything"

echo "action test: $pass passed, 0 failed"
