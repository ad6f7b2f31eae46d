#!/usr/bin/env bash
# Full benchmark: cutover against plain file operations at N = 100, 1,000 and 10,000
# migrations, one plan and split over N/10 plans; writes bench/RESULTS.md. See bench/README.md.
#
# Usage: bash bench/run.sh
# Environment:
#   SIZES="100 1000 10000"   the N to measure
#   RUNS_100=10 RUNS_1000=5 RUNS_10000=3          timed runs of (b) (c) (e) (g) per N
#   CREATE_RUNS_100=10 CREATE_RUNS_1000=5 CREATE_RUNS_10000=2   timed runs of (a) (d)
#   CREATE_WARMUP_10000=0    warm-up runs of (a) (d) at N=10000 (1 for the other N)
#   G_RUNS_10000=0           hyperfine runs of (g) at N=10000; 0: the one timed check run
#                            of the diff is the figure (it takes minutes there)
#   RESULTS=bench/RESULTS.md where the table goes ("-" for nowhere)
#   CUTOVER_BENCH_NO_INSTALL=1  never apt-get install hyperfine / time
#   CUTOVER_BENCH_KEEP=1        keep the temporary folder
set -euo pipefail

START=$SECONDS
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZES="${SIZES:-100 1000 10000}"
RESULTS="${RESULTS:-$REPO_ROOT/bench/RESULTS.md}"
log() { printf '[run %4ds] %s\n' "$((SECONDS - START))" "$*" >&2; }

# --- tools ------------------------------------------------------------------------------------
need_pkg() { # need_pkg COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    if [[ -z "${CUTOVER_BENCH_NO_INSTALL:-}" && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "$1 missing: apt-get install $2"
        { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"; } </dev/null >/dev/null 2>&1 || true
    fi
    command -v "$1" >/dev/null 2>&1 || { echo "$1 is required (package $2)" >&2; exit 2; }
}
need_pkg hyperfine hyperfine
need_pkg /usr/bin/time time
TIMEV=/usr/bin/time

# --- build ------------------------------------------------------------------------------------
log "cargo build --release"
(cd "$REPO_ROOT" && cargo build --release --quiet)
BIN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/cutover"
[[ -x "$BIN" ]] || { echo "cutover binary not found after cargo build" >&2; exit 1; }
# The commit the binary was built from (others may commit while the run goes on).
COMMIT="$(git -C "$REPO_ROOT" describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)"
BUILT="$(date -u -r "$BIN" '+%Y-%m-%d %H:%M UTC')"

WORK="$(mktemp -d)"
# The workloads live on a fresh ext4 file system in an image file, mounted through a loop
# device, when this runs as root: deleting the 100,000-file trees of N=10,000 then takes
# seconds instead of minutes on a disk mounted with `discard` (as this machine's is), and
# every run starts from the same empty file system. CUTOVER_BENCH_NO_LOOP=1 (or not being
# root) uses the temporary folder as it is.
IMG="" FSNOTE=""
cleanup() {
    if [[ -n "$IMG" ]]; then
        umount "$WORK/fs" 2>/dev/null || umount -l "$WORK/fs" 2>/dev/null || true
        rm -f "$IMG"
    fi
    rm -rf "$WORK"
}
if [[ -z "${CUTOVER_BENCH_NO_LOOP:-}" && "$(id -u)" == 0 ]] && command -v mkfs.ext4 >/dev/null 2>&1 \
    && command -v mount >/dev/null 2>&1; then
    IMG="$(mktemp "${CUTOVER_BENCH_IMG_DIR:-/var/tmp}/cutover-bench.XXXXXX.img")"
    mkdir -p "$WORK/fs"
    # 16 GiB sparse, one inode per 4 KiB: room for the trees of every N at once.
    if truncate -s 16G "$IMG" && mkfs.ext4 -q -F -i 4096 "$IMG" && mount -o loop "$IMG" "$WORK/fs" 2>/dev/null; then
        FSNOTE="a fresh ext4 file system in a sparse image file on $(df -T "$(dirname "$IMG")" | awk 'NR == 2 { print $2 " (" $1 ")" }'), loop-mounted without \`discard\`"
        log "workloads on $FSNOTE"
    else
        log "could not mount a loop file system; using $WORK as it is"
        rm -f "$IMG"
        IMG=""
    fi
fi
if [[ -n "${CUTOVER_BENCH_KEEP:-}" ]]; then log "keeping $WORK"; else trap cleanup EXIT; fi
BASE="$WORK"
[[ -n "$IMG" ]] && BASE="$WORK/fs"

# Moves a tree out of the way (rename, then sync): the folder is empty for the next run, and
# the 10·N deletes wait until the N is done (on this discard-mounted disk deleting 100,000
# files takes about a minute and slows every file creation that follows it).
cat >"$WORK/away.sh" <<'EOF'
#!/bin/sh
if [ -e "$1" ]; then mv "$1" "$2/$(date +%s%N)"; fi
sync
EOF

# --- workloads --------------------------------------------------------------------------------
head_yaml() { # head_yaml OUTPUT
    cat <<EOF
version: 1
output: $1
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
}
# migrations FIRST LAST FLIP: FLIP=1 swaps from and to, so every VirtualService changes (the
# weights each host gets are flipped); stage names, and so paths, stay the same.
migrations() {
    awk -v a="$1" -v b="$2" -v flip="$3" 'BEGIN { for (i = a; i <= b; i++) {
        se = sprintf("svc-%05d-se.example.com", i); gcp = sprintf("svc-%05d-gcp.example.com", i)
        if (flip) { t = se; se = gcp; gcp = t }
        printf "  - name: svc-%05d\n    from: %s\n    to: %s\n", i, se, gcp } }'
}
# make_repos N DIR: DIR/one (cutover.yaml, N migrations), DIR/split (plans/pNNNN.cutover.yaml,
# 10 migrations each, all writing into deploy/), and the flipped plans in DIR/flip-*.
make_repos() {
    local n="$1" dir="$2" p first
    mkdir -p "$dir/one/.git" "$dir/split/.git" "$dir/split/plans" "$dir/flip-one" "$dir/flip-split" "$dir/trash"
    { head_yaml deploy; migrations 1 "$n" 0; } >"$dir/one/cutover.yaml"
    { head_yaml deploy; migrations 1 "$n" 1; } >"$dir/flip-one/cutover.yaml"
    for ((p = 1; p <= n / 10; p++)); do
        first=$(((p - 1) * 10 + 1))
        { head_yaml ../deploy; migrations "$first" $((first + 9)) 0; } >"$dir/split/plans/p$(printf %05d "$p").cutover.yaml"
        { head_yaml ../deploy; migrations "$first" $((first + 9)) 1; } >"$dir/flip-split/p$(printf %05d "$p").cutover.yaml"
    done
}

# --- measuring --------------------------------------------------------------------------------
# hf CSV [hyperfine args...]: runs hyperfine (no shell: -N), export CSV; shows errors on failure.
hf() {
    local csv="$1"
    shift
    if ! hyperfine -N --style none --export-csv "$csv" "$@" </dev/null >/dev/null 2>"$WORK/hf.err"; then
        cat "$WORK/hf.err" >&2
        echo "hyperfine failed" >&2
        exit 1
    fi
}
# median CSV NAME: median seconds of command NAME.
median() { awk -F, -v n="$2" '$1 == n { printf "%.6f", $4 }' "$1"; }
# peak FILE: peak RSS in MiB from a /usr/bin/time -v report.
peak() { awk -F: '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"; }
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { if (y > 0) printf "%.2f", x / y; else printf "n/a" }'; }
fmt_s() { awk -v x="$1" 'BEGIN { if (x < 1) printf "%.1f ms", x * 1000; else printf "%.2f s", x }'; }
le() { awk -v x="$1" -v y="$2" 'BEGIN { exit !(x != "n/a" && x <= y) }'; }
verdict() { if le "$1" "$2"; then echo met; else echo MISSED; fi; }

declare -A M # M[key] = seconds, MiB, counts; keys like a-one-1000
SHAPES=(one split)
# shellcheck disable=SC2034 # used as ${!t}
TARGET_ARGS_one=cutover.yaml
# shellcheck disable=SC2034
TARGET_ARGS_split=plans

# (f): the pre-commit case, one small plan.
log "(f) one small plan"
F="$BASE/f"
mkdir -p "$F/.git"
{ head_yaml deploy; migrations 1 1 0; } >"$F/cutover.yaml"
"$BIN" --color never render -q "$F/cutover.yaml"
hf "$WORK/f.csv" --warmup 10 --runs 200 -n f "$BIN --color never check $F/cutover.yaml" -n true "true"
M[f]="$(median "$WORK/f.csv" f)"
M[true]="$(median "$WORK/f.csv" true)"

for n in $SIZES; do
    runs_var="RUNS_$n" create_var="CREATE_RUNS_$n" cwarm_var="CREATE_WARMUP_$n"
    def_runs=3 def_create=2 def_cwarm=0
    case "$n" in 100) def_runs=10 def_create=10 def_cwarm=1 ;; 1000) def_runs=5 def_create=5 def_cwarm=1 ;; esac
    runs="${!runs_var:-$def_runs}" create="${!create_var:-$def_create}" cwarm="${!cwarm_var:-$def_cwarm}"
    D="$BASE/n$n"
    log "N=$n: writing plans ($((n / 10)) split plans); runs $runs, (a)/(d) runs $create, warm-up $cwarm"
    make_repos "$n" "$D"
    M[plankib-$n]="$(($(wc -c <"$D/one/cutover.yaml") / 1024))"

    # (a) render into an empty folder, one plan and split; (d) cp -r of a finished tree.
    log "N=$n: (a) render into an empty folder, (d) cp -r"
    args=(--warmup "$cwarm" --runs "$create")
    for s in "${SHAPES[@]}"; do
        t="TARGET_ARGS_$s"
        args+=(--prepare "sh $WORK/away.sh $D/$s/deploy $D/trash"
            -n "a-$s" "$TIMEV -v -o $D/mem-a-$s.txt $BIN --color never render -q $D/$s/${!t}")
    done
    args+=(--prepare "sh $WORK/away.sh $D/copy $D/trash" -n d "cp -r $D/one/deploy $D/copy")
    hf "$D/create.csv" "${args[@]}"
    for s in "${SHAPES[@]}"; do
        M[a-$s-$n]="$(median "$D/create.csv" "a-$s")"
        M[mema-$s-$n]="$(peak "$D/mem-a-$s.txt")"
        t="TARGET_ARGS_$s"
        (cd "$D/$s" && "$BIN" --color never check "${!t}" >/dev/null) \
            || { echo "N=$n $s: check fails after render" >&2; exit 1; }
        M[files-$s-$n]="$(find "$D/$s/deploy" -type f | wc -l)"
        M[kib-$s-$n]="$(($(find "$D/$s/deploy" -type f -exec cat {} + | wc -c) / 1024))"
    done
    M[d-$n]="$(median "$D/create.csv" d)"

    # (b) render with nothing to change, (c) check, (e) read floor.
    log "N=$n: (b) render unchanged, (c) check, (e) find -exec cat"
    args=(--warmup 1 --runs "$runs")
    for s in "${SHAPES[@]}"; do
        t="TARGET_ARGS_$s"
        args+=(-n "b-$s" "$BIN --color never render -q $D/$s/${!t}"
            -n "c-$s" "$BIN --color never check $D/$s/${!t}"
            -n "e-$s" "find $D/$s/deploy -type f -exec cat {} +")
    done
    hf "$D/read.csv" "${args[@]}"
    for s in "${SHAPES[@]}"; do
        for k in b c e; do M[$k-$s-$n]="$(median "$D/read.csv" "$k-$s")"; done
        t="TARGET_ARGS_$s"
        "$TIMEV" -v -o "$D/mem-c-$s.txt" "$BIN" --color never check "$D/$s/${!t}" >/dev/null
        M[memc-$s-$n]="$(peak "$D/mem-c-$s.txt")"
    done

    # (g) diff --format markdown with every VirtualService changed.
    log "N=$n: (g) diff --format markdown, from and to swapped in every migration"
    cp "$D/one/cutover.yaml" "$D/orig-one.yaml"
    cp "$D/flip-one/cutover.yaml" "$D/one/cutover.yaml"
    cp -r "$D/split/plans" "$D/orig-split"
    cp "$D/flip-split/"*.cutover.yaml "$D/split/plans/"
    g_var="G_RUNS_$n"
    g_runs="${!g_var:-$([[ $n == 10000 ]] && echo 0 || echo "$runs")}"
    M[gruns-$n]="$g_runs"
    args=(--warmup 1 --runs "$g_runs" -i)
    for s in "${SHAPES[@]}"; do
        t="TARGET_ARGS_$s"
        rc=0
        t0="$(date +%s.%N)"
        "$BIN" --color never diff --format markdown "$D/$s/${!t}" >"$D/diff-$s.md" || rc=$?
        t1="$(date +%s.%N)"
        [[ $rc == 1 ]] || { echo "N=$n $s: diff exited $rc, expected 1 (changes)" >&2; exit 1; }
        M[g-$s-$n]="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')"
        M[diffkib-$s-$n]="$(($(wc -c <"$D/diff-$s.md") / 1024))"
        # "### cutover: 5000 files in 1000 migrations"
        M[changed-$s-$n]="$(awk '/^### cutover: / { print $3; exit }' "$D/diff-$s.md")"
        args+=(-n "g-$s" "$BIN --color never diff --format markdown $D/$s/${!t}")
    done
    if ((g_runs > 0)); then
        hf "$D/diff.csv" "${args[@]}"
        for s in "${SHAPES[@]}"; do M[g-$s-$n]="$(median "$D/diff.csv" "g-$s")"; done
    fi
    cp "$D/orig-one.yaml" "$D/one/cutover.yaml"
    cp "$D/orig-split/"*.cutover.yaml "$D/split/plans/"

    log "N=$n: deleting the trees"
    t0=$SECONDS
    rm -rf "$D" && sync
    M[rm-$n]=$((SECONDS - t0))
done
TOTAL=$((SECONDS - START))

# --- report -----------------------------------------------------------------------------------
CPU="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
FSTYPE="$(df -T "$BASE" | awk 'NR == 2 { print $2 }')"
[[ -n "$FSNOTE" ]] && FSTYPE="$FSNOTE"
HFV="$(hyperfine --version)"
NOW="$(date -u '+%Y-%m-%d %H:%M UTC')"

table() {
    echo "| N | plans | files | (a) render, empty | (d) \`cp -r\` | a/d | (b) render, no change | (c) check | (e) read floor | b/e | c/e | (g) diff markdown | g/e | peak MiB (a) | peak MiB (c) |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    local n s plans
    for n in $SIZES; do
        for s in "${SHAPES[@]}"; do
            if [[ $s == one ]]; then plans=1; else plans=$((n / 10)); fi
            printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
                "$n" "$plans" "${M[files-$s-$n]}" "$(fmt_s "${M[a-$s-$n]}")" "$(fmt_s "${M[d-$n]}")" \
                "$(ratio "${M[a-$s-$n]}" "${M[d-$n]}")" "$(fmt_s "${M[b-$s-$n]}")" "$(fmt_s "${M[c-$s-$n]}")" \
                "$(fmt_s "${M[e-$s-$n]}")" "$(ratio "${M[b-$s-$n]}" "${M[e-$s-$n]}")" \
                "$(ratio "${M[c-$s-$n]}" "${M[e-$s-$n]}")" "$(fmt_s "${M[g-$s-$n]}")" \
                "$(ratio "${M[g-$s-$n]}" "${M[e-$s-$n]}")" "${M[mema-$s-$n]}" "${M[memc-$s-$n]}"
        done
    done
}
growth() {
    echo "| plans | (a) | (d) | (b) | (c) | (e) | (g) |"
    echo "|---|---|---|---|---|---|---|"
    local s
    for s in "${SHAPES[@]}"; do
        printf '| %s | %s× | %s× | %s× | %s× | %s× | %s× |\n' "$([[ $s == one ]] && echo 1 || echo N/10)" \
            "$(ratio "${M[a-$s-10000]}" "${M[a-$s-1000]}")" "$(ratio "${M[d-10000]}" "${M[d-1000]}")" \
            "$(ratio "${M[b-$s-10000]}" "${M[b-$s-1000]}")" "$(ratio "${M[c-$s-10000]}" "${M[c-$s-1000]}")" \
            "$(ratio "${M[e-$s-10000]}" "${M[e-$s-1000]}")" "$(ratio "${M[g-$s-10000]}" "${M[g-$s-1000]}")"
    done
}
targets() {
    local n s worst
    echo "| target | result | verdict |"
    echo "|---|---|---|"
    for n in $SIZES; do for s in "${SHAPES[@]}"; do
        worst="$(ratio "${M[a-$s-$n]}" "${M[d-$n]}")"
        echo "| render into empty ≤ 1.3× \`cp -r\` (N=$n, $s) | $worst× | $(verdict "$worst" 1.3) |"
    done; done
    for n in $SIZES; do for s in "${SHAPES[@]}"; do
        local rb rc
        rb="$(ratio "${M[b-$s-$n]}" "${M[e-$s-$n]}")" rc="$(ratio "${M[c-$s-$n]}" "${M[e-$s-$n]}")"
        echo "| unchanged render ≤ 1.2× read floor (N=$n, $s) | $rb× | $(verdict "$rb" 1.2) |"
        echo "| check ≤ 1.2× read floor (N=$n, $s) | $rc× | $(verdict "$rc" 1.2) |"
    done; done
    local fms
    fms="$(awk -v x="${M[f]}" 'BEGIN { printf "%.2f", x * 1000 }')"
    echo "| one-plan check ≤ 3 ms | $fms ms (\`true\`: $(fmt_s "${M[true]}")) | $(verdict "$fms" 3) |"
    if [[ " $SIZES " == *" 10000 "* ]]; then
        for s in "${SHAPES[@]}"; do
            echo "| peak memory ≤ 64 MiB at N=10000, (a) $s | ${M[mema-$s-10000]} MiB | $(verdict "${M[mema-$s-10000]}" 64) |"
            echo "| peak memory ≤ 64 MiB at N=10000, (c) $s | ${M[memc-$s-10000]} MiB | $(verdict "${M[memc-$s-10000]}" 64) |"
        done
        if [[ " $SIZES " == *" 1000 "* ]]; then
            for s in "${SHAPES[@]}"; do for k in a b c g; do
                local r
                r="$(ratio "${M[$k-$s-10000]}" "${M[$k-$s-1000]}")"
                echo "| linear growth N=1000→10000 ($k, $s; ≤ 11× counts as linear) | $r× | $(verdict "$r" 11) |"
            done; done
        fi
    fi
}

REPORT="$(
    echo "Machine: $(nproc) CPUs, $CPU, $(uname -srm); workloads on $FSTYPE."
    echo "Date: $NOW. cutover: \`git describe --dirty\` $COMMIT at build time, binary built $BUILT. $HFV. Total run: ${TOTAL} s."
    echo
    echo "Medians. (a)/(d): $(for n in $SIZES; do v="CREATE_RUNS_$n"; w="CREATE_WARMUP_$n"; printf 'N=%s %s runs' "$n" "${!v:-$([[ $n == 100 ]] && echo 10 || { [[ $n == 1000 ]] && echo 5 || echo 2; })}"; printf ' (warm-up %s); ' "${!w:-$([[ $n == 10000 ]] && echo 0 || echo 1)}"; done)(b)(c)(e)(g): $(for n in $SIZES; do v="RUNS_$n"; printf 'N=%s %s runs; ' "$n" "${!v:-$([[ $n == 100 ]] && echo 10 || { [[ $n == 1000 ]] && echo 5 || echo 3; })}"; done)one warm-up$(if [[ "${M[gruns-10000]:-}" == 0 ]]; then echo "; (g) at N=10000: one run, timed with date +%s.%N"; fi)."
    echo
    table
    echo
    echo "(f) \`cutover check\` of a repository holding one 1-migration plan: $(fmt_s "${M[f]}") median of 200 runs; \`true\` (process start): $(fmt_s "${M[true]}")."
    echo
    for n in $SIZES; do
        echo "N=$n: plan $(printf %s "${M[plankib-$n]}") KiB; tree ${M[kib-one-$n]} KiB (one plan), ${M[kib-split-$n]} KiB (split); (g) changes ${M[changed-one-$n]} / ${M[changed-split-$n]} files (every VirtualService; the kustomizations do not depend on the hosts), markdown ${M[diffkib-one-$n]} / ${M[diffkib-split-$n]} KiB; deleting the N's trees afterwards took ${M[rm-$n]} s."
    done
    if [[ " $SIZES " == *" 1000 "* && " $SIZES " == *" 10000 "* ]]; then
        echo
        echo "Growth from N=1000 to N=10000 (median at 10000 / median at 1000; 10× is linear):"
        echo
        growth
    fi
    echo
    targets
)"
printf '\n%s\n' "$REPORT"

if [[ "$RESULTS" != - ]]; then
    # Keep the hand-written sections after the generated one (from the first "## " heading
    # after it, e.g. the criterion figures).
    tail=""
    if [[ -f "$RESULTS" ]]; then
        tail="$(awk '/^<!-- end of bench\/run.sh output -->/ { keep = 1; next } keep' "$RESULTS")"
    fi
    {
        echo "# Benchmark results"
        echo
        echo "Written by \`bash bench/run.sh\` (see bench/README.md for what each column measures)."
        echo
        echo "$REPORT"
        echo
        echo "<!-- end of bench/run.sh output -->"
        [[ -n "$tail" ]] && printf '%s\n' "$tail"
    } >"$RESULTS.tmp"
    mv "$RESULTS.tmp" "$RESULTS"
    log "wrote $RESULTS"
fi
log "done in $((SECONDS - START)) s"
