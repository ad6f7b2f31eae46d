#!/usr/bin/env bash
# Validate the Argo CD and Flux deployment examples (default: examples/gitops):
#   (a) yamllint --strict on every YAML file of the folder;
#   (b) every Argo CD and Flux object in it (found by apiVersion: argoproj.io,
#       *.toolkit.fluxcd.io; not by file name) with check-jsonschema, against a strict JSON
#       schema of its kind that .ci/crd-schema.mjs derives from the @kubernetes-models
#       packages (unknown fields, wrong types, missing required fields and values outside
#       an enum fail);
#   (c) the path each one deploys, an Argo CD Application's spec.source.path (and
#       spec.sources[].path) or a Flux Kustomization's spec.path, read from the repository
#       root (a Kustomization's sourceRef must name a GitRepository of the folder): it must be
#       a folder inside the repository with a kustomization, `kubectl kustomize` must build
#       it, and every built-in Kubernetes object it builds goes through
#       .ci/validate-builtin.sh (kubernetes-validate --strict);
#   (d) every environment folder of the generated trees in the folder
#       (<output>/<migration>/envs/<env>, for each plan found there) is deployed by at least
#       one Argo CD Application and one Flux Kustomization, and each such tree passes
#       .ci/validate-tree.sh.
# Uses the tools from .ci/tools/env.sh (run .ci/install-tools.sh first).
# Exits non-zero if anything fails, after reporting every failure.
#
# Usage: .ci/validate-examples.sh [--root DIR] [FOLDER...]
#   --root DIR  the repository the example paths are read from (default: this repository);
#               FOLDER defaults to DIR/examples/gitops.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENV_SH="$REPO_ROOT/.ci/tools/env.sh"
NODE_MODULES="$REPO_ROOT/.ci/tools/node/node_modules"
YAMLLINT_CONFIG="$REPO_ROOT/.yamllint.yaml"

err() { printf 'validate-examples: %s\n' "$*" >&2; }

root="$REPO_ROOT"
if [[ "${1:-}" == --root ]]; then
    [[ $# -ge 2 ]] || { echo "usage: $0 [--root DIR] [FOLDER...]" >&2; exit 2; }
    root="$(cd "$2" && pwd)"
    shift 2
fi
[[ $# -gt 0 ]] || set -- "$root/examples/gitops"
[[ -f "$ENV_SH" ]] || { err "ERROR: $ENV_SH not found; run .ci/install-tools.sh first"; exit 2; }
# shellcheck source=/dev/null
. "$ENV_SH"
for tool in yamllint check-jsonschema kubectl node python3; do
    command -v "$tool" >/dev/null 2>&1 || { err "ERROR: $tool not found on PATH; run .ci/install-tools.sh"; exit 2; }
done
[[ -d "$NODE_MODULES/typescript" ]] || { err "ERROR: $NODE_MODULES not installed; run .ci/install-tools.sh"; exit 2; }

yaml_files=()
for arg in "$@"; do
    [[ -d "$arg" ]] || { err "ERROR: no such folder: $arg"; exit 2; }
    while IFS= read -r -d '' f; do yaml_files+=("$f"); done \
        < <(find "$arg" -type f \( -name '*.yaml' -o -name '*.yml' \) -print0 | sort -z)
done
[[ ${#yaml_files[@]} -gt 0 ]] || { err "ERROR: no YAML files in: $*"; exit 1; }

failures=0
fail() { err "FAIL: $*"; failures=$((failures + 1)); }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# --- (a) yamllint -------------------------------------------------------------------------------
if ! yamllint --strict -f parsable -c "$YAMLLINT_CONFIG" -- "${yaml_files[@]}" >&2; then
    fail "yamllint reported problems (above)"
fi

# --- read the examples: Argo CD / Flux objects, the paths they deploy, the generated trees --------
# Writes $work/docs/NNNN.yaml (one object each), $work/docs.tsv (file, apiVersion/kind, where),
# $work/targets.tsv (absolute path, who deploys it) and $work/trees.txt (plans' output trees),
# and reports every problem found on the way.
collect_py='
import glob, json, os, sys, yaml
root, work, files = sys.argv[1], sys.argv[2], sys.argv[3:]
failed = 0
def fail(msg):
    global failed
    print("validate-examples: FAIL: %s" % msg, file=sys.stderr)
    failed += 1
def rel(p):
    return os.path.relpath(p, root)
def gitops_group(api):
    group = api.rsplit("/", 1)[0] if "/" in api else ""
    return group == "argoproj.io" or group.endswith(".toolkit.fluxcd.io")

os.makedirs(os.path.join(work, "docs"))
objects = []  # (where, doc)
docs_tsv = []
for path in files:
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f)]
    for n, doc in enumerate(docs, 1):
        if not isinstance(doc, dict) or not isinstance(doc.get("apiVersion"), str) or not gitops_group(doc["apiVersion"]):
            continue
        where = "%s (document %d)" % (rel(path), n) if len(docs) > 1 else rel(path)
        if not isinstance(doc.get("kind"), str):
            fail("%s: no kind" % where)
            continue
        out = os.path.join(work, "docs", "%04d.yaml" % (len(docs_tsv) + 1))
        with open(out, "w") as f:
            yaml.safe_dump(doc, f, sort_keys=False)
        docs_tsv.append((out, "%s/%s" % (doc["apiVersion"], doc["kind"]), where))
        objects.append((where, doc))

def get(doc, *keys):
    for k in keys:
        doc = doc.get(k) if isinstance(doc, dict) else None
    return doc
def meta(doc):
    return get(doc, "metadata", "name"), get(doc, "metadata", "namespace") or "default"

git_repos = {meta(d) for _, d in objects if d["apiVersion"].startswith("source.toolkit.fluxcd.io/") and d["kind"] == "GitRepository"}
targets = []  # (abs path, who, tool)
def target(where, field, p, tool):
    if not isinstance(p, str) or not p:
        fail("%s: %s is missing: give the folder this deploys, <output>/<migration>/envs/<env>" % (where, field))
        return
    if os.path.isabs(p) or "://" in p:
        fail("%s: %s %r is not a path relative to the repository root" % (where, field, p))
        return
    full = os.path.normpath(os.path.join(root, p))
    if os.path.commonpath([full, root]) != root:
        fail("%s: %s %r leaves the repository" % (where, field, p))
    elif not os.path.isdir(full):
        fail("%s: %s %r: no such folder in the repository" % (where, field, p))
    elif not any(os.path.isfile(os.path.join(full, k)) for k in ("kustomization.yaml", "kustomization.yml", "Kustomization")):
        fail("%s: %s %r: the folder has no kustomization.yaml" % (where, field, p))
    else:
        targets.append((full, "%s %s" % (where, field), tool))

for where, d in objects:
    api, kind = d["apiVersion"], d["kind"]
    if api.startswith("argoproj.io/") and kind == "Application":
        sources = get(d, "spec", "sources")
        if isinstance(sources, list) and sources:
            for i, s in enumerate(sources):
                target(where, "spec.sources[%d].path" % i, get(s, "path"), "argocd")
        else:
            target(where, "spec.source.path", get(d, "spec", "source", "path"), "argocd")
    elif api.startswith("kustomize.toolkit.fluxcd.io/") and kind == "Kustomization":
        ref = get(d, "spec", "sourceRef") or {}
        ns = ref.get("namespace") or meta(d)[1]
        if ref.get("kind") != "GitRepository" or (ref.get("name"), ns) not in git_repos:
            fail("%s: spec.sourceRef %r names no GitRepository of the examples (namespace %s)" % (where, ref, ns))
        else:
            target(where, "spec.path", get(d, "spec", "path"), "flux")

# The generated trees of the plans in the examples, and who deploys each environment folder.
trees = []
deployed = {}
for t, _, tool in targets:
    deployed.setdefault(t, set()).add(tool)
plans = sorted({p for p in files if os.path.basename(p) == "cutover.yaml" or p.endswith(".cutover.yaml")})
for plan in plans:
    with open(plan) as f:
        out = (yaml.safe_load(f) or {}).get("output")
    if not isinstance(out, str):
        fail("%s: no output folder" % rel(plan))
        continue
    tree = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(plan)), out))
    if not os.path.isdir(tree):
        fail("%s: its output %s is not rendered (cutover render %s)" % (rel(plan), rel(tree), rel(plan)))
        continue
    trees.append(tree)
    envs = sorted(glob.glob(os.path.join(tree, "*", "envs", "*", "kustomization.yaml")))
    for e in envs:
        env = os.path.dirname(e)
        for tool, name in (("argocd", "Argo CD Application"), ("flux", "Flux Kustomization")):
            if tool not in deployed.get(env, set()):
                fail("%s: no %s deploys this environment folder" % (rel(env), name))
with open(os.path.join(work, "docs.tsv"), "w") as f:
    f.writelines("%s\t%s\t%s\n" % r for r in docs_tsv)
with open(os.path.join(work, "targets.tsv"), "w") as f:
    f.writelines("%s\t%s\n" % (t, who) for t, who, _ in targets)
with open(os.path.join(work, "trees.txt"), "w") as f:
    f.writelines("%s\n" % t for t in trees)
print("%d Argo CD / Flux objects deploying %d folders, %d plans" % (len(docs_tsv), len(deployed), len(plans)))
sys.exit(1 if failed else 0)
'
if ! summary="$(python3 -c "$collect_py" "$root" "$work" "${yaml_files[@]}")"; then
    failures=$((failures + 1))
fi
[[ -f "$work/docs.tsv" ]] || { err "FAILED: could not read the examples"; exit 1; }

# --- (b) Argo CD / Flux objects against the schemas derived from @kubernetes-models ---------------
gvks=()
while IFS= read -r gvk; do gvks+=("$gvk"); done < <(cut -f2 "$work/docs.tsv" | sort -u)
schema_checked=0
if [[ ${#gvks[@]} -eq 0 ]]; then
    fail "no Argo CD or Flux object found in: $*"
elif ! node "$REPO_ROOT/.ci/crd-schema.mjs" "$NODE_MODULES" "$work/schemas" "${gvks[@]}" >/dev/null; then
    fail "could not derive the schemas of ${gvks[*]} (above)"
else
    for gvk in "${gvks[@]}"; do
        docs=()
        while IFS=$'\t' read -r f g _; do [[ "$g" == "$gvk" ]] && docs+=("$f"); done <"$work/docs.tsv"
        if check-jsonschema --schemafile "$work/schemas/${gvk//\//_}.json" -- "${docs[@]}" >"$work/log" 2>&1; then
            schema_checked=$((schema_checked + ${#docs[@]}))
        else
            # Name the example file and document, not the temporary copy.
            python3 -c '
import sys
names = dict(l.rstrip("\n").split("\t")[::2] for l in open(sys.argv[1]))
for line in open(sys.argv[2]):
    for tmp, where in names.items():
        line = line.replace(tmp, where)
    sys.stderr.write("  " + line)
' "$work/docs.tsv" "$work/log"
            fail "$gvk: object(s) do not match the schema derived from @kubernetes-models (above)"
        fi
    done
fi

# --- (c) every deployed path builds, and what it builds is valid -------------------------------
mkdir -p "$work/built"
built=()
built_ok=0
while IFS= read -r path; do
    who="$(awk -F'\t' -v p="$path" '$1 == p { printf "%s%s", sep, $2; sep = "; " }' "$work/targets.tsv")"
    out="$work/built/$(printf '%s' "${path#"$root"/}" | tr '/' '_').yaml"
    if kubectl kustomize "$path" >"$out" 2>"$work/log"; then
        built+=("$out")
        built_ok=$((built_ok + 1))
        echo "  kubectl kustomize ${path#"$root"/}: $(grep -c '^kind:' "$out") objects (deployed by $who)"
    else
        fail "kubectl kustomize ${path#"$root"/} failed (deployed by $who): $(cat "$work/log")"
    fi
done < <(cut -f1 "$work/targets.tsv" | sort -u)
if [[ ${#built[@]} -gt 0 ]] && ! "$REPO_ROOT/.ci/validate-builtin.sh" "${built[@]}"; then
    fail "kubernetes-validate: the objects the examples deploy are not valid (above; files named after the folder built)"
fi

# --- (d) the generated trees of the examples ---------------------------------------------------
trees=()
while IFS= read -r t; do trees+=("$t"); done <"$work/trees.txt"
if [[ ${#trees[@]} -gt 0 ]] && ! "$REPO_ROOT/.ci/validate-tree.sh" "${trees[@]}"; then
    fail "validate-tree: the examples' generated tree(s) ${trees[*]} (above)"
fi

summary="${#yaml_files[@]} YAML files linted; $summary: $schema_checked objects matched their schemas, $built_ok paths built with kubectl kustomize, ${#trees[@]} generated trees validated"
if [[ $failures -gt 0 ]]; then
    err "FAILED ($failures failing check(s)): $summary"
    exit 1
fi
echo "validate-examples: OK: $summary"
