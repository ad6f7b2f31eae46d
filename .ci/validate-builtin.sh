#!/usr/bin/env bash
# Validate every object of a built-in Kubernetes kind in the given YAML files (each may hold
# several documents) with `kubernetes-validate --strict` (PyPI; unknown fields fail), once for
# each Kubernetes minor version from K8S_OLDEST to K8S_NEWEST.
#
# Built-in: an apiVersion whose group is the core group (`v1`), a group without a dot
# (`apps`, `batch`, ...), or one of the groups the Kubernetes schemas of kubernetes-validate
# declare (`networking.k8s.io`, `rbac.authorization.k8s.io`, ...). Every other object is a
# custom resource (Istio's VirtualService, GKE's GCPBackend, a kustomize Kustomization) and is
# skipped here: those are checked by their own schemas. Objects are found by apiVersion and
# kind, never by file name. A document that is not a Kubernetes object (no apiVersion or kind)
# fails, as does a built-in kind that kubernetes-validate has no schema for (a misspelt kind
# or version: the tool itself only warns).
#
# The versions: every minor from 1.29 to 1.37. 1.37 is the newest minor kubernetes-validate
# 1.37.0 ships schemas for. Kubernetes releases about three minors a year and managed
# offerings keep a minor for up to about two years (GKE's extended channel), so six or seven
# minors are in use at any time; 1.29 adds a margin for clusters behind on upgrades. Every
# minor in between is checked, not only the two ends, so that a field missing from any one of
# them fails. Raise both ends with the kubernetes-validate pin in .ci/install-tools.sh.
#
# Uses the tools from .ci/tools/env.sh (run .ci/install-tools.sh first).
# Usage: .ci/validate-builtin.sh FILE...
set -euo pipefail

K8S_OLDEST=29 # 1.29
K8S_NEWEST=37 # 1.37

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENV_SH="$REPO_ROOT/.ci/tools/env.sh"

err() { printf 'validate-builtin: %s\n' "$*" >&2; }

if [[ $# -eq 0 ]]; then
    echo "usage: $0 FILE..." >&2
    exit 2
fi
[[ -f "$ENV_SH" ]] || { err "ERROR: $ENV_SH not found; run .ci/install-tools.sh first"; exit 2; }
# shellcheck source=/dev/null
. "$ENV_SH"
for tool in kubernetes-validate python3; do
    command -v "$tool" >/dev/null 2>&1 || { err "ERROR: $tool not found on PATH; run .ci/install-tools.sh"; exit 2; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Split the built-in objects into one file each ($work/docs/NNNN.yaml); the index maps each
# back to its file and document number. Fails on a document that is not an object.
# shellcheck disable=SC2016 # Python source: "$defs" is a JSON key, not a shell expansion
split_py='
import json, os, sys, yaml
import importlib_resources
work, newest, files = sys.argv[1], sys.argv[2], sys.argv[3:]
schemas = importlib_resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")
with schemas.joinpath("v1.%s.0-local-strict" % newest, "_definitions.json").open() as f:
    defs = json.load(f)["$defs"]
groups = {g["group"] for d in defs.values() for g in d.get("x-kubernetes-group-version-kind", [])}
os.makedirs(os.path.join(work, "docs"))
index, skipped, bad = [], {}, 0
for path in files:
    with open(path) as f:
        docs = list(yaml.safe_load_all(f))
    for n, doc in enumerate(docs, 1):
        if doc is None:
            continue
        where = "%s (document %d)" % (path, n) if len(docs) > 1 else path
        if not isinstance(doc, dict) or not isinstance(doc.get("apiVersion"), str) or not isinstance(doc.get("kind"), str):
            print("validate-builtin: FAIL: %s: not a Kubernetes object (no apiVersion and kind)" % where, file=sys.stderr)
            bad += 1
            continue
        api = doc["apiVersion"]
        group = api.rsplit("/", 1)[0] if "/" in api else ""
        if "." in group and group not in groups:
            key = "%s %s" % (api, doc["kind"])
            skipped[key] = skipped.get(key, 0) + 1
            continue
        out = os.path.join(work, "docs", "%04d.yaml" % (len(index) + 1))
        with open(out, "w") as f:
            yaml.safe_dump(doc, f, sort_keys=False)
        name = (doc.get("metadata") or {}).get("name", "?") if isinstance(doc.get("metadata"), dict) else "?"
        index.append((out, where, "%s/%s" % (doc["kind"].lower(), name)))
with open(os.path.join(work, "index.json"), "w") as f:
    json.dump(index, f)
print("%d built-in objects; skipped as custom resources: %s" % (
    len(index), ", ".join("%s (%d)" % kv for kv in sorted(skipped.items())) or "none"))
sys.exit(1 if bad else 0)
'
# Reads kubernetes-validate output for one version: every object must have passed, against
# exactly that version; any other line (ERROR, WARN: no schema, FATAL) is a failure.
verdict_py='
import json, re, sys
work, version, log_path = sys.argv[1], sys.argv[2], sys.argv[3]
index = json.load(open(work + "/index.json"))
where = {out: w for out, w, _ in index}
passed, failed = {}, 0
line_re = re.compile(r"^INFO (\S+) passed for resource \S+ against version (\S+)$")
for line in open(log_path).read().splitlines():
    m = line_re.match(line)
    if m and m.group(1) in where and m.group(2) == version:
        passed[m.group(1)] = passed.get(m.group(1), 0) + 1
        continue
    for out, w in where.items():
        line = line.replace(out, w)
    print("validate-builtin: FAIL: Kubernetes %s: %s" % (version, line), file=sys.stderr)
    failed += 1
for out, w, obj in index:
    if passed.get(out) != 1 and not failed:
        print("validate-builtin: FAIL: Kubernetes %s: %s: %s was not reported as validated" % (version, w, obj), file=sys.stderr)
        failed += 1
sys.exit(1 if failed else 0)
'

failures=0
if ! summary="$(python3 -c "$split_py" "$work" "$K8S_NEWEST" "$@")"; then
    failures=$((failures + 1))
fi
count="$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$work/index.json" 2>/dev/null || echo 0)"
if [[ "$count" -gt 0 ]]; then
    docs=()
    while IFS= read -r -d '' f; do docs+=("$f"); done < <(find "$work/docs" -name '*.yaml' -print0 | sort -z)
    for ((minor = K8S_OLDEST; minor <= K8S_NEWEST; minor++)); do
        # Exit status 1 or 2 on a failure; a missing schema is only a WARN line, with status 0.
        kubernetes-validate --strict -k "1.$minor" "${docs[@]}" >"$work/log" 2>&1 || true
        if ! python3 -c "$verdict_py" "$work" "1.$minor" "$work/log"; then
            failures=$((failures + 1))
        fi
    done
fi

if [[ $failures -gt 0 ]]; then
    err "FAILED: $summary"
    exit 1
fi
echo "validate-builtin: OK: $summary, each valid (kubernetes-validate --strict) for Kubernetes 1.$K8S_OLDEST to 1.$K8S_NEWEST"
