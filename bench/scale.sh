#!/usr/bin/env bash
# Scale benchmark: how long cutover takes on a large plan, next to plain file copying and
# reading of the same tree. See bench/README.md.
#
# Usage: bash bench/scale.sh [N]          (N migrations x 5 stages; default 1000)
# Environment:
#   N=...                  same as the argument
#   RUNS=5                 timed runs per command (one untimed warm-up run first)
#   CUTOVER_BENCH_NO_INSTALL=1   never try to apt-get install hyperfine
#   CUTOVER_BENCH_NO_PIN=1       skip the one-core (taskset -c 0) round
#   CUTOVER_BENCH_KEEP=1         keep the temporary folder and print its path
#   CUTOVER_BENCH_TIMER=loop     time with the bash loop even when hyperfine is installed
set -euo pipefail

N="${1:-${N:-1000}}"
RUNS="${RUNS:-5}"
[[ "$N" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [N]  (N: a positive number of migrations)" >&2; exit 2; }
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive number" >&2; exit 2; }

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf '[scale] %s\n' "$*" >&2; }

# --- hyperfine (optional) -------------------------------------------------------------------
if ! command -v hyperfine >/dev/null 2>&1 && [[ -z "${CUTOVER_BENCH_NO_INSTALL:-}" ]] \
    && [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "hyperfine missing: installing it with apt-get"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine; } </dev/null >/dev/null 2>&1; then
        log "apt-get install hyperfine failed; timing with a bash loop instead"
    fi
fi
use_hyperfine() { [[ "${CUTOVER_BENCH_TIMER:-}" != loop ]] && command -v hyperfine >/dev/null 2>&1; }
if use_hyperfine; then
    TIMER="hyperfine ($(hyperfine --version))"
else
    TIMER="bash loop (date +%s.%N), median of $RUNS"
fi

# --- build ----------------------------------------------------------------------------------
log "cargo build --release"
(cd "$REPO_ROOT" && cargo build --release --quiet)
BIN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/cutover"
[[ -x "$BIN" ]] || { echo "cutover binary not found after cargo build" >&2; exit 1; }

# --- plan -----------------------------------------------------------------------------------
WORK="$(mktemp -d)"
if [[ -n "${CUTOVER_BENCH_KEEP:-}" ]]; then
    log "keeping $WORK"
else
    trap 'rm -rf "$WORK"' EXIT
fi
REPO="$WORK/repo"
TREE="$REPO/deploy"
COPY="$WORK/copy"
mkdir -p "$REPO/.git"
{
    cat <<'EOF'
version: 1
output: deploy
layout: kustomize
apiVersion: networking.istio.io/v1
defaults:
  namespace: bench
  gateways: [mesh]
  stages:
    - mirror: 100
    - weight: 10
    - weight: 25
    - weight: 50
    - weight: 100
migrations:
EOF
    for ((i = 1; i <= N; i++)); do
        printf '  - name: svc-%05d\n    from: svc-%05d-se.example.com\n    to: svc-%05d-gcp.example.com\n' "$i" "$i" "$i"
    done
} >"$REPO/cutover.yaml"

# Sanity: the commands measured below do what their labels say.
(cd "$REPO" && "$BIN" --color never render -q cutover.yaml)
(cd "$REPO" && "$BIN" --color never check cutover.yaml >/dev/null) \
    || { echo "cutover check failed on a freshly rendered tree" >&2; exit 1; }
FILES="$(find "$TREE" -type f | wc -l)"
SIZE="$(( $(find "$TREE" -type f -exec cat {} + | wc -c) / 1024 ))"
PLAN_KB="$(( $(wc -c <"$REPO/cutover.yaml") / 1024 ))"

# --- timing ---------------------------------------------------------------------------------
# median_of PREPARE COMMAND [PIN...]: median wall time in seconds of COMMAND (bash -c),
# PREPARE run untimed before each run, one warm-up run first.
median_of() {
    local prepare="$1" cmd="$2"
    shift 2
    local pin=("$@")
    if use_hyperfine; then
        local csv="$WORK/hf.csv"
        local hf=(hyperfine --style none --warmup 1 --runs "$RUNS" --export-csv "$csv")
        [[ -n "$prepare" ]] && hf+=(--prepare "$prepare")
        # hyperfine's advice (warm-up, outliers) goes to a file, shown only if it fails.
        if ! ${pin[@]+"${pin[@]}"} "${hf[@]}" "$cmd" </dev/null >/dev/null 2>"$WORK/hf.err"; then
            cat "$WORK/hf.err" >&2
            echo "hyperfine failed on: $cmd" >&2
            return 1
        fi
        # command,mean,stddev,median,user,system,min,max
        awk -F, 'NR == 2 { printf "%.4f\n", $4 }' "$csv"
    else
        local times=() t0 t1 i
        for ((i = 0; i <= RUNS; i++)); do
            [[ -n "$prepare" ]] && bash -c "$prepare"
            t0="$(date +%s.%N)"
            ${pin[@]+"${pin[@]}"} bash -c "$cmd" </dev/null >/dev/null
            t1="$(date +%s.%N)"
            ((i == 0)) || times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }')")
        done
        printf '%s\n' "${times[@]}" | sort -g | awk '{ v[NR] = $1 } END {
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.4f\n", m }'
    fi
}

q() { printf '%q' "$1"; }

round() {
    local title="$1"
    shift
    local pin=("$@")
    local a b c d e
    a="$(median_of "rm -rf $(q "$TREE")" \
        "cd $(q "$REPO") && $(q "$BIN") render -q cutover.yaml" ${pin[@]+"${pin[@]}"})"
    # (a) leaves the tree rendered, so (b) and (c) find it up to date.
    b="$(median_of "" "cd $(q "$REPO") && $(q "$BIN") render -q cutover.yaml" ${pin[@]+"${pin[@]}"})"
    c="$(median_of "" "cd $(q "$REPO") && $(q "$BIN") check cutover.yaml" ${pin[@]+"${pin[@]}"})"
    d="$(median_of "rm -rf $(q "$COPY")" "cp -r $(q "$TREE") $(q "$COPY")" ${pin[@]+"${pin[@]}"})"
    e="$(median_of "" "find $(q "$TREE") -type f -exec cat {} + >/dev/null" ${pin[@]+"${pin[@]}"})"
    echo "$title"
    printf '  (a) cutover render, empty folder       %9.4f s\n' "$a"
    printf '  (b) cutover render, nothing to change  %9.4f s\n' "$b"
    printf '  (c) cutover check, up to date          %9.4f s\n' "$c"
    printf '  (d) cp -r of the tree (baseline)       %9.4f s\n' "$d"
    printf '  (e) find -exec cat of the tree         %9.4f s\n' "$e"
    awk -v a="$a" -v b="$b" -v c="$c" -v d="$d" -v e="$e" 'function r(x, y) { return y > 0 ? sprintf("%.1f", x / y) : "n/a" }
        BEGIN { printf "  ratios: a/d = %s   b/e = %s   c/e = %s\n", r(a, d), r(b, e), r(c, e) }'
}

echo "cutover scale benchmark: N=$N migrations x 5 stages, kustomize layout"
echo "  plan $PLAN_KB KiB; tree $FILES files, $SIZE KiB of content; $(nproc 2>/dev/null || echo '?') CPUs; timer: $TIMER"
echo "  medians of $RUNS runs after one warm-up; binary $BIN"
round "all CPUs:"
if [[ -z "${CUTOVER_BENCH_NO_PIN:-}" ]] && command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null; then
    round "one core (taskset -c 0):" taskset -c 0
else
    echo "one core: skipped (taskset not available or CUTOVER_BENCH_NO_PIN set)"
fi
