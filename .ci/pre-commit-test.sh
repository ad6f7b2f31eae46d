#!/usr/bin/env bash
# End-to-end test of .pre-commit-hooks.yaml with the real pre-commit framework.
#
#   bash .ci/pre-commit-test.sh
#
# 1. Installs the pinned pre-commit (PyPI) into .ci/tools/venv through .ci/install-tools.sh.
# 2. Snapshots this checkout's WORKING TREE (tracked files plus untracked, not ignored ones,
#    so uncommitted edits are tested too) into a throwaway git repository at
#    .ci/tools/pre-commit-src with one commit made with fixed author, committer and dates:
#    the same tree always gives the same commit id. That repository and commit are the
#    `repo:` and `rev:` of the test's .pre-commit-config.yaml, the way a user would name a
#    tag of this repository.
# 3. In a new git repository under a temporary folder, with the example plan at
#    apps/cutover.yaml, asserts:
#      (a) without the generated tree, `pre-commit run cutover-check` fails naming a missing file;
#      (b) `pre-commit run cutover-render` fails (it wrote files) and the tree then exists;
#      (c) after `git add -A`, both hooks pass (and a commit through the installed hook succeeds);
#      (d) a hand-edited generated file makes cutover-check fail again (stale);
#      (e) with `pre-commit install`, a real `git commit` of a changed plan whose tree was not
#          re-rendered is blocked; after staging what the render hook wrote, it goes through;
#      (f) a commit of a changed plan whose tree was rendered but not staged is blocked.
#    and that a commit touching no YAML file skips both hooks.
#
# pre-commit builds cutover with `cargo install --path .` (language: rust) once per
# (repo, rev): a minute or two on 2 cores. To make reruns fast, PRE_COMMIT_HOME defaults to
# .ci/tools/pre-commit-home (kept between runs; the environment is reused while the working
# tree is unchanged) and CARGO_TARGET_DIR to the repository's own target/ (cargo install
# --path honours it, so only cutover itself is compiled again: the dependencies are those
# `cargo build --release` built there, on a fresh clone too).
# Override either through the environment; `rm -rf .ci/tools/pre-commit-*` starts afresh.
# Needs: cargo on PATH, git, python3 (for the venv), and crates.io (pre-commit's
# cargo install does not pass --locked, so it resolves dependencies from the registry).
# Set CUTOVER_KEEP_TMP=1 to keep the temporary repository for inspection.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$REPO_ROOT/.ci/tools"
SRC="$TOOLS/pre-commit-src"
PLAN_FIXTURE="$REPO_ROOT/fixtures/golden/example/input/cutover.yaml"

export PRE_COMMIT_HOME="${PRE_COMMIT_HOME:-$TOOLS/pre-commit-home}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
export PRE_COMMIT_COLOR=never NO_COLOR=1
# Run as a plain user would: not from inside another repository's hook, no stray git settings.
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES \
    GIT_PREFIX GIT_COMMON_DIR PRE_COMMIT SKIP PRE_COMMIT_ALLOW_NO_CONFIG

T0=$EPOCHREALTIME
TIMINGS=()
log() { printf '[pre-commit-test] %s\n' "$*"; }
die() {
    printf '[pre-commit-test] FAIL: %s\n' "$*" >&2
    exit 1
}
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
section() { printf '\n--- [%ss] %s\n' "$(elapsed "$T0")" "$*"; }

# run CMD...: runs it, keeping its combined output in $out and its exit status in $rc, and
# prints both with the time taken (also recorded for the summary).
out='' rc=0 secs=0
run() {
    local t=$EPOCHREALTIME
    set +e
    out="$("$@" 2>&1)"
    rc=$?
    set -e
    secs="$(elapsed "$t")"
    TIMINGS+=("$(printf '%6ss  %s' "$secs" "$*")")
    printf '$ %s    # exit %d, %ss\n' "$*" "$rc" "$secs"
    [[ -z "$out" ]] || sed 's/^/  | /' <<<"$out"
}
expect_rc() { # expect_rc N WHAT
    [[ "$rc" -eq "$1" ]] || die "$2: expected exit $1, got $rc"
}
expect_fail() { # expect_fail WHAT
    [[ "$rc" -ne 0 ]] || die "$1: expected a failure, got exit 0"
}
expect_out() { # expect_out REGEX WHAT
    grep -qE -- "$1" <<<"$out" || die "$2: output does not match /$1/"
}
reject_out() { # reject_out REGEX WHAT
    ! grep -qE -- "$1" <<<"$out" || die "$2: output unexpectedly matches /$1/"
}
pass() { printf '  ok: %s\n' "$*"; }

# --- tools ---------------------------------------------------------------------------------
section "tools"
command -v git >/dev/null || die "git not found"
command -v cargo >/dev/null || die "cargo not found on PATH (pre-commit's language: rust needs it)"
[[ -f "$PLAN_FIXTURE" ]] || die "missing $PLAN_FIXTURE"
bash "$REPO_ROOT/.ci/install-tools.sh" </dev/null >/dev/null || die ".ci/install-tools.sh failed"
PRE_COMMIT="$TOOLS/venv/bin/pre-commit"
[[ -x "$PRE_COMMIT" ]] || die "$PRE_COMMIT missing after .ci/install-tools.sh"
log "$("$PRE_COMMIT" --version), $(cargo --version), $(git --version)"
log "PRE_COMMIT_HOME=$PRE_COMMIT_HOME"
log "CARGO_TARGET_DIR=$CARGO_TARGET_DIR"

# A throwaway global git configuration: identity, branch name, no signing, no hooksPath.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/cutover-pre-commit-test.XXXXXX")"
if [[ -n "${CUTOVER_KEEP_TMP:-}" ]]; then
    trap 'log "kept $WORK"' EXIT
else
    trap 'rm -rf "$WORK"' EXIT
fi
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$WORK/gitconfig"
git config --global user.name "cutover pre-commit test"
git config --global user.email "pre-commit-test@cutover.invalid"
git config --global init.defaultBranch main
git config --global commit.gpgsign false
git config --global advice.detachedHead false

# --- the hook repository: a snapshot of this working tree ---------------------------------
section "hook repository (snapshot of the working tree)"
if ! git -C "$REPO_ROOT" cat-file -e HEAD:.pre-commit-hooks.yaml 2>/dev/null; then
    log "note: HEAD of $REPO_ROOT has no .pre-commit-hooks.yaml yet; testing the working tree,"
    log "      which is what this script always does (a 'repo: $REPO_ROOT' with 'rev: HEAD'"
    log "      would only work once .pre-commit-hooks.yaml is committed)"
fi
[[ -f "$REPO_ROOT/.pre-commit-hooks.yaml" ]] || die "$REPO_ROOT/.pre-commit-hooks.yaml does not exist"

rm -rf "$SRC"
mkdir -p "$SRC"
# Tracked files and untracked files that are not ignored; files deleted in the work tree are skipped.
git -C "$REPO_ROOT" ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do
        if [[ -e "$REPO_ROOT/$f" || -L "$REPO_ROOT/$f" ]]; then printf '%s\0' "$f"; fi
    done \
    | sort -zu \
    | tar -C "$REPO_ROOT" --null --no-recursion -T - -cf - \
    | tar -C "$SRC" -xf -
(
    cd "$SRC"
    export GIT_AUTHOR_NAME=snapshot GIT_AUTHOR_EMAIL=snapshot@cutover.invalid \
        GIT_COMMITTER_NAME=snapshot GIT_COMMITTER_EMAIL=snapshot@cutover.invalid \
        GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" GIT_COMMITTER_DATE="2000-01-01T00:00:00Z"
    git init -q
    git add -A
    git commit -q --no-verify -m "snapshot of the cutover working tree"
)
REV="$(git -C "$SRC" rev-parse HEAD)"
git -C "$SRC" cat-file -e HEAD:.pre-commit-hooks.yaml || die "snapshot lacks .pre-commit-hooks.yaml"
log "repo: $SRC"
log "rev:  $REV ($(git -C "$SRC" ls-files | wc -l) files; checkout HEAD is $(git -C "$REPO_ROOT" rev-parse --short HEAD)$(
    [[ -z "$(git -C "$REPO_ROOT" status --porcelain)" ]] || printf ' plus uncommitted changes'
))"
"$PRE_COMMIT" validate-manifest "$SRC/.pre-commit-hooks.yaml" || die "pre-commit rejects .pre-commit-hooks.yaml"
pass "pre-commit validate-manifest .pre-commit-hooks.yaml"

# --- the GitOps repository under test ------------------------------------------------------
section "test repository"
G="$WORK/gitops"
mkdir -p "$G/apps"
cd "$G"
git init -q
# The fixture writes to ../expected (its golden tree); here the plan's output is deploy/cutover.
sed 's|^output: [^ ]*|output: deploy/cutover|' "$PLAN_FIXTURE" >apps/cutover.yaml
grep -q '^output: deploy/cutover ' apps/cutover.yaml || die "could not set the output of apps/cutover.yaml"
cat >.pre-commit-config.yaml <<EOF
repos:
  - repo: $SRC
    rev: $REV
    hooks:
      - id: cutover-check
      - id: cutover-render
EOF
printf 'A GitOps repository using cutover.\n' >README.md
"$PRE_COMMIT" validate-config .pre-commit-config.yaml || die "pre-commit rejects the test config"
git add -A
git commit -q -m "plan, pre-commit config"
log "$G: $(git ls-files | tr '\n' ' ')"
TREE=apps/deploy/cutover # the plan's `output: deploy/cutover`, relative to apps/
[[ ! -e "$TREE" ]] || die "$TREE exists before rendering"

section "install the hook environment (pre-commit runs cargo install --path .)"
# pre-commit's store: db.db maps (repo, rev) to a clone; an installed environment leaves an
# .install_state_v* file in the clone's rustenv-* folder.
cached="$("$TOOLS/venv/bin/python" - "$PRE_COMMIT_HOME/db.db" "$SRC" "$REV" <<'EOF'
import glob, os, sqlite3, sys
db, repo, rev = sys.argv[1:]
path = None
if os.path.exists(db):
    with sqlite3.connect(db) as c:
        row = c.execute("SELECT path FROM repos WHERE repo = ? AND ref = ?", (repo, rev)).fetchone()
        path = row and row[0]
print("yes" if path and glob.glob(os.path.join(path, "rustenv-*", ".install_state_v*")) else "no")
EOF
)"
log "environment for this (repo, rev) already installed in PRE_COMMIT_HOME: $cached"
run "$PRE_COMMIT" install-hooks
expect_rc 0 "pre-commit install-hooks"
if [[ -x "$CARGO_TARGET_DIR/release/cutover" ]]; then
    log "cargo install used CARGO_TARGET_DIR: $CARGO_TARGET_DIR/release/cutover exists"
fi
INSTALL_SECS="$secs"

section "(a) tree missing: cutover-check fails and names a missing file"
run "$PRE_COMMIT" run cutover-check --all-files
expect_rc 1 "(a) pre-commit run cutover-check"
expect_out '^cutover check\.+Failed' "(a)"
expect_out "^missing: $TREE/checkout/stages/01-mirror-100/kustomization\.yaml" "(a)"
expect_out 'out of date in the git index .*to fix, run: cutover render' "(a)"
reject_out '^error' "(a) cutover must report stale files, not an error"
pass "(a) cutover-check failed and named missing files"

section "(b) cutover-render fails because it wrote the tree; the tree then exists"
run "$PRE_COMMIT" run cutover-render --all-files
expect_rc 1 "(b) pre-commit run cutover-render"
expect_out '^cutover render\.+Failed' "(b)"
expect_out 'exit code: 1' "(b) render --exit-code must exit 1 after writing"
expect_out '^checkout: [0-9]+ written, 0 unchanged, 0 removed \(apps/cutover\.yaml\)' "(b)"
for f in checkout/stages/01-mirror-100/kustomization.yaml checkout/stages/05-weight-100/virtualservice.yaml \
    ledger/stages/01-mirror-12-5/virtualservice.yaml; do
    [[ -f "$TREE/$f" ]] || die "(b) $TREE/$f was not written (tree: $(find "$TREE" -type f 2>/dev/null | sort | tr '\n' ' '))"
done
n_files="$(find "$TREE" -type f | wc -l)"
[[ "$n_files" -gt 0 ]] || die "(b) no files under $TREE"
find "$TREE" -type f | sort | sed 's/^/  + /'
pass "(b) cutover-render failed (exit 1) and wrote $n_files files under $TREE"

section "(c) after git add -A, both hooks pass; a commit through the installed hook succeeds"
git add -A
run "$PRE_COMMIT" run --all-files
expect_rc 0 "(c) pre-commit run --all-files"
expect_out '^cutover check\.+Passed' "(c)"
expect_out '^cutover render\.+Passed' "(c)"
run "$PRE_COMMIT" install
expect_rc 0 "pre-commit install"
[[ -x .git/hooks/pre-commit ]] || die "pre-commit install wrote no .git/hooks/pre-commit"
run git commit -m "render the cutover tree"
expect_rc 0 "(c) git commit of plan and rendered tree"
expect_out '^cutover check\.+Passed' "(c) the installed hook must run"
[[ -z "$(git status --porcelain)" ]] || die "(c) work tree not clean after commit: $(git status --porcelain)"
pass "(c) both hooks passed; commit $(git rev-parse --short HEAD) went through the hook"

section "(d) a hand-edited generated file makes cutover-check fail"
EDITED="$TREE/checkout/stages/02-weight-10/virtualservice.yaml"
grep -q 'weight: 10$' "$EDITED" || die "(d) $EDITED has no 'weight: 10' line to edit"
sed -i 's/weight: 10$/weight: 15/' "$EDITED"
git diff --stat | sed 's/^/  /'
# Not staged, the edit is not part of the commit: the hook judges the index.
run "$PRE_COMMIT" run cutover-check --all-files
expect_rc 0 "(d) an unstaged edit is not what will be committed"
git add "$EDITED"
run "$PRE_COMMIT" run cutover-check --all-files
expect_rc 1 "(d) pre-commit run cutover-check"
expect_out '^cutover check\.+Failed' "(d)"
expect_out "^stale: $EDITED" "(d)"
reject_out '^error' "(d)"
git reset -q -- "$EDITED"
git checkout -q -- "$EDITED"
run "$PRE_COMMIT" run cutover-check --all-files
expect_rc 0 "(d) after restoring $EDITED"
pass "(d) the staged edit was reported as stale; restoring the file made the check pass"

section "(e) git commit of a changed plan without re-rendering is blocked"
HEAD_BEFORE="$(git rev-parse HEAD)"
grep -q '^    - weight: 25$' apps/cutover.yaml || die "(e) the plan has no '    - weight: 25' stage to change"
sed -i 's/^    - weight: 25$/    - weight: 30/' apps/cutover.yaml
git add apps/cutover.yaml
git diff --cached --stat | sed 's/^/  /'
run git commit -m "checkout and ledger: 30% instead of 25%"
expect_fail "(e) git commit with a stale tree"
expect_out '^cutover check\.+Failed' "(e)"
expect_out "^(missing|stale|orphaned): $TREE/checkout/stages/03-weight-" "(e)"
expect_out '^cutover render\.+Failed' "(e)"
[[ "$(git rev-parse HEAD)" == "$HEAD_BEFORE" ]] || die "(e) the commit was made despite the failing hook"
pass "(e) the commit was blocked; HEAD is still $(git rev-parse --short HEAD)"
# The render hook has fixed the tree in the work tree; staging it lets the commit through.
git status --short | sed 's/^/  /'
[[ -f "$TREE/checkout/stages/03-weight-30/virtualservice.yaml" ]] || die "(e) the render hook did not write 03-weight-30"
git add -A
run git commit -m "checkout and ledger: 30% instead of 25%"
expect_rc 0 "(e) git commit after staging the re-rendered tree"
expect_out '^cutover check\.+Passed' "(e)"
[[ "$(git rev-parse HEAD)" != "$HEAD_BEFORE" ]] || die "(e) no commit was made"
pass "(e) after staging the re-rendered tree the commit went through ($(git rev-parse --short HEAD))"

section "(f) a plan committed without its rendered (but unstaged) files is blocked"
# The tree is rendered by hand, the plan alone is staged: the new files are untracked,
# which pre-commit leaves in place. The hook must judge the commit, not the work tree.
HEAD_BEFORE="$(git rev-parse HEAD)"
sed -i 's/^    - weight: 30$/    - weight: 35/' apps/cutover.yaml
HOOK_BIN="$(find "$PRE_COMMIT_HOME" -path '*/bin/cutover' -type f | head -n 1)"
[[ -x "$HOOK_BIN" ]] || die "(f) no cutover binary in the hook environment under $PRE_COMMIT_HOME"
"$HOOK_BIN" render apps/cutover.yaml >/dev/null || die "(f) $HOOK_BIN render failed"
git add apps/cutover.yaml
run git commit -m "checkout and ledger: 35%"
expect_fail "(f) git commit without the generated files"
expect_out '^cutover check\.+Failed' "(f)"
expect_out "^missing: $TREE/checkout/stages/03-weight-35/virtualservice\.yaml: .*not staged" "(f)"
# The render also deleted the old stage's files; pre-commit stashes that unstaged deletion
# (restoring the files while the hook runs), so the fix named is render and stage.
expect_out "^orphaned: $TREE/checkout/stages/03-weight-30/virtualservice\.yaml: staged, but the plan no longer produces it" "(f)"
expect_out 'out of date in the git index .*to fix, run: ' "(f)"
[[ "$(git rev-parse HEAD)" == "$HEAD_BEFORE" ]] || die "(f) the commit was made without the generated files"
git add -A
run git commit -m "checkout and ledger: 35%"
expect_rc 0 "(f) git commit after git add -A"
pass "(f) the commit without the generated files was blocked; staging them let it through"

section "files filter: a commit touching no YAML file skips both hooks"
printf 'More notes.\n' >>README.md
git add README.md
run git commit -m "notes"
expect_rc 0 "commit of README.md"
expect_out '^cutover check\.+\(no files to check\)Skipped' "files filter"
expect_out '^cutover render\.+\(no files to check\)Skipped' "files filter"
pass "both hooks skipped for a README-only commit"

section "timings"
printf '  %s\n' "${TIMINGS[@]}"
printf '  hook environment install: %ss (already cached: %s); total: %ss\n' \
    "$INSTALL_SECS" "$cached" "$(elapsed "$T0")"
echo
echo "pre-commit hooks: all assertions passed"
