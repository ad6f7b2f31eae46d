#!/usr/bin/env bash
# Validate one or more generated output trees (or single YAML files):
#   (a) yamllint --strict -c .yamllint.yaml on every *.yaml / *.yml file;
#   (b) check-jsonschema against schemas/istio-virtualservice-v1.schema.json on every
#       file whose content has a top-level `kind: VirtualService` line (only those: the
#       GCPBackend and Job files are linted and built, not schema-checked);
#   (c) `kubectl kustomize DIR` on every folder holding a kustomization.yaml, comparing its
#       output (as parsed YAML, so comments, key order, quoting and document order do not
#       matter) with the documents the folder's files say it must build to:
#       - a stage folder (<migration>/stages/<NN>-<stage>/): exactly one VirtualService,
#         equal to its virtualservice.yaml, plus exactly the GCPBackend when its
#         kustomization lists `../../gcpbackend` (-> gcpbackend/gcpbackend.yaml) and the
#         stage's own verification Job when it lists `verify-job.yaml` (a file of the stage
#         folder holding one Job); any other resource (`../../verify` included), or one
#         listed twice, is a failure;
#       - a migration-level folder (<migration>/gcpbackend/, <migration>/verify/: the Job
#         run by hand, listed by no stage): its kustomization lists exactly its one file
#         (gcpbackend.yaml, a GCPBackend; job.yaml, a Job), and it builds to that one document;
#       - an environment folder (<migration>/envs/<env>/, a kustomization folder whose parent
#         is named `envs`) must list exactly one resource, a relative path resolving to an
#         existing stage folder of the same migration (with a kustomization.yaml and a
#         virtualservice.yaml), and must build to the same documents as that stage;
#       - any other folder with a virtualservice.yaml must build to exactly that
#         VirtualService; one without is only built.
#   (d) a flat-layout environment file (<migration>/envs/<env>.yaml, a YAML file directly in
#       a folder named `envs`) must be byte-identical to a stage file of its migration
#       (<migration>/*.yaml); it is linted and schema-checked by (a) and (b) like the others.
#   (e) every document of a built-in Kubernetes kind (found by apiVersion, such as the
#       batch/v1 verification Job) through `kubernetes-validate --strict` for each supported
#       Kubernetes version, by .ci/validate-builtin.sh.
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

# --- (c) kubectl kustomize, output compared with the folder's files ----------------------------
compare_py='
import os, sys, yaml, difflib
built_path, folder, label = sys.argv[1], sys.argv[2], sys.argv[3]
def fail(msg):
    print("validate-tree: FAIL: %s: %s" % (label, msg), file=sys.stderr)
    sys.exit(1)
def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]
def one(path, kind):
    docs = load(path)
    if len(docs) != 1:
        fail("%s holds %d documents, want exactly 1" % (path, len(docs)))
    if not isinstance(docs[0], dict) or docs[0].get("kind") != kind:
        fail("%s is not a %s" % (path, kind))
    return docs[0]
def resources(d):
    k = os.path.join(d, "kustomization.yaml")
    docs = load(k)
    if len(docs) != 1 or not isinstance(docs[0], dict) or docs[0].get("kind") != "Kustomization":
        fail("%s is not one Kustomization document" % k)
    res = docs[0].get("resources")
    if not isinstance(res, list) or not all(isinstance(r, str) for r in res):
        fail("%s: resources must be a list of paths, found %r" % (k, res))
    return res
EXTRAS = {"gcpbackend": ("gcpbackend.yaml", "GCPBackend"), "verify": ("job.yaml", "Job")}
def extra(d):
    name = os.path.basename(os.path.normpath(d))
    fname, kind = EXTRAS[name]
    res = resources(d)
    if res != [fname]:
        fail("%s/kustomization.yaml: resources %r, want exactly [%r]" % (d, res, fname))
    return one(os.path.join(d, fname), kind)
folder = os.path.normpath(folder)
parent = os.path.basename(os.path.dirname(folder))
if parent == "stages":
    # A stage folder: its virtualservice.yaml (listed once), the one document of the
    # GCPBackend folder when it lists ../../gcpbackend, and its own Job when it lists
    # verify-job.yaml (a file of the stage folder; verify/ is run by hand, listed by none).
    migration = os.path.dirname(os.path.dirname(os.path.realpath(folder)))
    want, seen = [], set()
    for r in resources(folder):
        if r in seen:
            fail("%s/kustomization.yaml: resource %r listed twice" % (folder, r))
        seen.add(r)
        if r in ("virtualservice.yaml", "verify-job.yaml"):
            path = os.path.join(folder, r)
            if not os.path.isfile(path):
                fail("%s/kustomization.yaml: resource %r is not a file of the stage folder" % (folder, r))
            want.append(one(path, "VirtualService" if r == "virtualservice.yaml" else "Job"))
        elif r == "../../gcpbackend":
            target = os.path.realpath(os.path.join(folder, r))
            if target != os.path.join(migration, "gcpbackend") or not os.path.isdir(target):
                fail("%s/kustomization.yaml: resource %r does not resolve to a folder of %s" % (folder, r, migration))
            want.append(extra(target))
        else:
            fail("%s/kustomization.yaml: unexpected resource %r (want virtualservice.yaml, ../../gcpbackend or verify-job.yaml)" % (folder, r))
    if "virtualservice.yaml" not in seen:
        fail("%s/kustomization.yaml does not list virtualservice.yaml" % folder)
elif os.path.basename(folder) in EXTRAS:
    want = [extra(folder)]
else:
    want = [one(os.path.join(folder, "virtualservice.yaml"), "VirtualService")]
built = load(built_path)
def n_vs(docs):
    return sum(1 for d in docs if isinstance(d, dict) and d.get("kind") == "VirtualService")
if n_vs(built) != n_vs(want):
    fail("kubectl kustomize produced %d VirtualServices, want %d" % (n_vs(built), n_vs(want)))
left = list(built)
missing = []
for w in want:
    if w in left:
        left.remove(w)
    else:
        missing.append(w)
if missing or left:
    a = yaml.safe_dump_all(missing, sort_keys=True).splitlines()
    b = yaml.safe_dump_all(left, sort_keys=True).splitlines()
    diff = "\n".join(difflib.unified_diff(a, b, "files (parsed), not built", "kubectl kustomize (parsed), not in files", lineterm=""))
    fail("kubectl kustomize built %d documents, want %d; they differ:\n%s" % (len(built), len(want), diff))
print(len(want))
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
extra_compared=0
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
        if python3 -c "$compare_py" "$built_tmp" "$target" "$d (env -> $target)" >/dev/null; then
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
    case "$(basename "$d")" in
        gcpbackend | verify) is_extra=1 ;;
        *) is_extra=0 ;;
    esac
    if [[ $is_extra -eq 1 || "$(basename "$(dirname "$d")")" == stages || -f "$d/virtualservice.yaml" ]]; then
        if python3 -c "$compare_py" "$built_tmp" "$d" "$d" >/dev/null; then
            if [[ $is_extra -eq 1 ]]; then
                extra_compared=$((extra_compared + 1))
            else
                kust_compared=$((kust_compared + 1))
            fi
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

# --- (e) built-in Kubernetes objects: kubernetes-validate --strict --------------------------------
if ! "$REPO_ROOT/.ci/validate-builtin.sh" "${yaml_files[@]}"; then
    fail "kubernetes-validate: built-in Kubernetes object(s) invalid (above)"
fi

summary="${#yaml_files[@]} YAML files linted, ${#vs_files[@]} VirtualService files schema-checked, ${#kust_dirs[@]} kustomize folders checked with kubectl kustomize ($kust_compared stage folders matched their virtualservice.yaml and listed gcpbackend/verify documents, $extra_compared gcpbackend/verify folders matched their one document), $env_checked env folders checked ($env_compared matched their stage's documents), $env_files flat env files checked against their stage files"
if [[ $failures -gt 0 ]]; then
    err "FAILED ($failures failing check(s)): $summary"
    exit 1
fi
echo "validate-tree: OK: $summary"
