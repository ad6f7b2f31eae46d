#!/usr/bin/env bash
# Validate one or more generated output trees (or single YAML files):
#   (a) yamllint --strict -c .yamllint.yaml on every *.yaml / *.yml file;
#   (b) check-jsonschema against schemas/istio-virtualservice-v1.schema.json on every
#       file whose content has a top-level `kind: VirtualService` line;
#   (c) `kubectl kustomize DIR` on every folder holding a kustomization.yaml, checking that
#       the output is exactly one VirtualService document equal (as parsed YAML, so comments,
#       key order and quoting do not matter) to that folder's virtualservice.yaml.
#       An environment folder (<migration>/envs/<env>/, a kustomization folder whose parent
#       is named `envs`) must instead list exactly one resource, a relative path resolving to
#       an existing stage folder of the same migration (<migration>/stages/<NN>-<stage>/, with
#       a kustomization.yaml and a virtualservice.yaml), and its output must equal (parsed)
#       that stage's virtualservice.yaml.
#       Any other kustomization folder without a virtualservice.yaml is only built.
#   (d) a flat-layout environment file (<migration>/envs/<env>.yaml, a YAML file directly in
#       a folder named `envs`) must be byte-identical to a stage file of its migration
#       (<migration>/*.yaml); it is linted and schema-checked by (a) and (b) like the others.
# Uses the tools from .ci/tools/env.sh (run .ci/install-tools.sh first).
# Exits non-zero if anything fails, after reporting every failure.
#
# Usage: .ci/validate-tree.sh DIR_OR_FILE...
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENV_SH="$REPO_ROOT/.ci/tools/env.sh"
YAMLLINT_CONFIG="$REPO_ROOT/.yamllint.yaml"
SCHEMA="$REPO_ROOT/schemas/istio-virtualservice-v1.schema.json"

err() { printf 'validate-tree: %s\n' "$*" >&2; }

if [[ $# -eq 0 ]]; then
    echo "usage: $0 DIR_OR_FILE..." >&2
    exit 2
fi
[[ -f "$ENV_SH" ]] || { err "ERROR: $ENV_SH not found; run .ci/install-tools.sh first"; exit 2; }
# shellcheck source=/dev/null
. "$ENV_SH"
for tool in yamllint check-jsonschema kubectl python3; do
    command -v "$tool" >/dev/null 2>&1 || { err "ERROR: $tool not found on PATH; run .ci/install-tools.sh"; exit 2; }
done
[[ -f "$YAMLLINT_CONFIG" ]] || { err "ERROR: $YAMLLINT_CONFIG missing"; exit 2; }
[[ -f "$SCHEMA" ]] || { err "ERROR: $SCHEMA missing"; exit 2; }

# --- collect files and kustomization folders -----------------------------------------------
yaml_files=()
kust_dirs=()
for arg in "$@"; do
    if [[ -d "$arg" ]]; then
        while IFS= read -r -d '' f; do yaml_files+=("$f"); done \
            < <(find "$arg" -type f \( -name '*.yaml' -o -name '*.yml' \) -print0 | sort -z)
        while IFS= read -r -d '' f; do kust_dirs+=("$(dirname "$f")"); done \
            < <(find "$arg" -type f \( -name kustomization.yaml -o -name kustomization.yml -o -name Kustomization \) -print0 | sort -z)
    elif [[ -f "$arg" ]]; then
        yaml_files+=("$arg")
    else
        err "ERROR: no such file or directory: $arg"
        exit 2
    fi
done
if [[ ${#yaml_files[@]} -eq 0 ]]; then
    err "ERROR: no *.yaml or *.yml files found in: $*"
    exit 1
fi

failures=0
fail() { err "FAIL: $*"; failures=$((failures + 1)); }

# --- (a) yamllint ----------------------------------------------------------------------------
if ! yamllint --strict -f parsable -c "$YAMLLINT_CONFIG" -- "${yaml_files[@]}" >&2; then
    fail "yamllint reported problems (above)"
fi

# --- (b) JSON schema on VirtualService files ---------------------------------------------------
vs_files=()
for f in "${yaml_files[@]}"; do
    if grep -Eq '^kind:[[:space:]]*["'\'']?VirtualService["'\'']?[[:space:]]*(#.*)?$' "$f"; then
        vs_files+=("$f")
    fi
done
if [[ ${#vs_files[@]} -gt 0 ]]; then
    if ! check-jsonschema --schemafile "$SCHEMA" -- "${vs_files[@]}" >&2; then
        fail "check-jsonschema: VirtualService file(s) do not match $(basename "$SCHEMA") (above)"
    fi
fi

# --- (c) kubectl kustomize, output compared with virtualservice.yaml ----------------------------
compare_py='
import sys, yaml
built_path, vs_path, label = sys.argv[1], sys.argv[2], sys.argv[3]
with open(built_path) as f:
    built = [d for d in yaml.safe_load_all(f) if d is not None]
with open(vs_path) as f:
    want = [d for d in yaml.safe_load_all(f) if d is not None]
def fail(msg):
    print("validate-tree: FAIL: %s: %s" % (label, msg), file=sys.stderr)
    sys.exit(1)
if len(built) != 1:
    fail("kubectl kustomize produced %d documents, want exactly 1" % len(built))
if len(want) != 1:
    fail("virtualservice.yaml holds %d documents, want exactly 1" % len(want))
built, want = built[0], want[0]
if not isinstance(built, dict) or built.get("kind") != "VirtualService":
    fail("kubectl kustomize output is not a VirtualService (kind=%r)" % (built.get("kind") if isinstance(built, dict) else type(built).__name__))
if built != want:
    a = yaml.safe_dump(want, sort_keys=True).splitlines()
    b = yaml.safe_dump(built, sort_keys=True).splitlines()
    import difflib
    diff = "\n".join(difflib.unified_diff(a, b, "virtualservice.yaml (parsed)", "kubectl kustomize (parsed)", lineterm=""))
    fail("kubectl kustomize output differs from virtualservice.yaml:\n" + diff)
'
# Prints the stage folder an environment folder points at, or reports why it does not.
env_target_py='
import os, sys, yaml
env_dir = sys.argv[1]
def fail(msg):
    print("validate-tree: FAIL: %s: %s" % (env_dir, msg), file=sys.stderr)
    sys.exit(1)
kfile = next((os.path.join(env_dir, n) for n in ("kustomization.yaml", "kustomization.yml", "Kustomization")
              if os.path.isfile(os.path.join(env_dir, n))), None)
if kfile is None:
    fail("no kustomization file")
with open(kfile) as f:
    docs = [d for d in yaml.safe_load_all(f) if d is not None]
if len(docs) != 1 or not isinstance(docs[0], dict) or docs[0].get("kind") != "Kustomization":
    fail("%s is not one Kustomization document" % os.path.basename(kfile))
res = docs[0].get("resources")
if not isinstance(res, list) or len(res) != 1 or not isinstance(res[0], str):
    fail("resources must be exactly one path (the stage folder), found %r" % (res,))
r = res[0]
if os.path.isabs(r) or "://" in r:
    fail("resource %r is not a relative path" % r)
target = os.path.realpath(os.path.join(env_dir, r))
migration = os.path.dirname(os.path.dirname(os.path.realpath(env_dir)))
stages = os.path.join(migration, "stages")
if os.path.dirname(target) != stages:
    fail("resource %r resolves to %s, not a stage folder of %s" % (r, target, migration))
if not os.path.isdir(target):
    fail("resource %r: stage folder %s does not exist" % (r, target))
if not os.path.isfile(os.path.join(target, "kustomization.yaml")):
    fail("resource %r: %s has no kustomization.yaml, not a stage folder" % (r, target))
if not os.path.isfile(os.path.join(target, "virtualservice.yaml")):
    fail("resource %r: stage folder %s has no virtualservice.yaml" % (r, target))
print(target)
'
built_tmp="$(mktemp)"
kust_err="$(mktemp)"
trap 'rm -f "$built_tmp" "$kust_err"' EXIT
kust_compared=0
env_checked=0
env_compared=0
for d in ${kust_dirs[@]+"${kust_dirs[@]}"}; do
    if [[ "$(basename "$(dirname "$d")")" == envs ]]; then
        # An environment folder: built, and compared with the stage folder it points at.
        env_checked=$((env_checked + 1))
        if ! target="$(python3 -c "$env_target_py" "$d")"; then
            failures=$((failures + 1))
            continue
        fi
        if ! kubectl kustomize "$d" >"$built_tmp" 2>"$kust_err"; then
            fail "kubectl kustomize $d failed: $(cat "$kust_err")"
            continue
        fi
        if python3 -c "$compare_py" "$built_tmp" "$target/virtualservice.yaml" "$d (env -> $target)"; then
            env_compared=$((env_compared + 1))
        else
            failures=$((failures + 1))
        fi
        continue
    fi
    if ! kubectl kustomize "$d" >"$built_tmp" 2>"$kust_err"; then
        fail "kubectl kustomize $d failed: $(cat "$kust_err")"
        continue
    fi
    if [[ -f "$d/virtualservice.yaml" ]]; then
        if python3 -c "$compare_py" "$built_tmp" "$d/virtualservice.yaml" "$d"; then
            kust_compared=$((kust_compared + 1))
        else
            failures=$((failures + 1))
        fi
    else
        err "note: $d has no virtualservice.yaml; built only, not compared"
    fi
done

# --- (d) flat environment files are byte copies of a stage file -----------------------------
env_files=0
for f in "${yaml_files[@]}"; do
    [[ "$(basename "$(dirname "$f")")" == envs ]] || continue
    env_files=$((env_files + 1))
    migration_dir="$(dirname "$(dirname "$f")")"
    copied=""
    for s in "$migration_dir"/*.yaml; do
        if [[ -f "$s" ]] && cmp -s -- "$f" "$s"; then
            copied="$s"
            break
        fi
    done
    [[ -n "$copied" ]] || fail "$f: not a byte copy of any stage file ($migration_dir/*.yaml)"
done

summary="${#yaml_files[@]} YAML files linted, ${#vs_files[@]} VirtualService files schema-checked, ${#kust_dirs[@]} kustomize folders checked with kubectl kustomize ($kust_compared matched their virtualservice.yaml), $env_checked env folders checked ($env_compared matched their stage's virtualservice.yaml), $env_files flat env files checked against their stage files"
if [[ $failures -gt 0 ]]; then
    err "FAILED ($failures failing check(s)): $summary"
    exit 1
fi
echo "validate-tree: OK: $summary"
