#!/usr/bin/env python3
"""Runs a composite action's steps locally, as GitHub's runner would, for .ci/action-test.sh.

    action-run.py ACTION_YML --workspace DIR --temp DIR --result FILE
                  [--input NAME=VALUE]... [--github KEY=VALUE]... [--cache-hit true|false]
                  [--github-script COMMAND]

Steps run in order. `if:` conditions are evaluated (the subset of the expression language
the action uses: `a == 'x'`, `a != 'x'`, a bare value for truthiness, joined by `&&`);
a step whose condition is false is skipped, and after a failed step the rest are skipped
(the default `success()`). `run:` steps run with `bash --noprofile --norc -eo pipefail`
(what `shell: bash` means on GitHub) in `working-directory` under the workspace, with
the step's `env:` evaluated, GITHUB_OUTPUT, GITHUB_PATH, GITHUB_STEP_SUMMARY,
GITHUB_ACTION_PATH and RUNNER_TEMP set, and earlier GITHUB_PATH lines put first on PATH.
A `run:` text holding an expression is refused: inputs reach scripts through `env:` only.
The `env` context of expressions is empty, as in an action run by a workflow without
`env:`: it holds what a workflow, job or step declares, never the runner's environment
(ImageOS and the like). `uses:` steps: actions/cache only reports `--cache-hit`; actions/github-script runs its
script through COMMAND (script file as last argument, the step's env and
GITHUB_TOKEN set). Any other `uses:` is refused. The result file gets the action's
outputs, every step's outcome and outputs, and each `uses:` step's evaluated `with:`, as JSON. Exit 0 when the action succeeded,
1 when a step failed.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def lookup(ctx, path):
    """The value of a context path like inputs.plans or steps.diff.outputs.changed ('' when absent)."""
    head, _, rest = path.partition(".")
    if head not in ("inputs", "steps", "github", "runner", "env"):
        sys.exit(f"action-run: unsupported context in expression: {path}")
    value = ctx[head]
    if head == "steps":
        step, _, rest = rest.partition(".")
        value = value.get(step, {})
    for part in rest.split(".") if rest else []:
        value = value.get(part, "") if isinstance(value, dict) else ""
    if value is None or value is False:
        return ""
    return value if isinstance(value, str) else json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def substitute(ctx, text):
    return EXPR.sub(lambda m: lookup(ctx, m.group(1)), str(text))


def condition(ctx, text):
    """Evaluates an `if:` of the supported subset."""
    text = str(text).strip()
    m = EXPR.fullmatch(text)
    if m:
        text = m.group(1)
    result = True
    for term in text.split("&&"):
        term = term.strip()
        m = re.fullmatch(r"([\w.-]+)\s*(==|!=)\s*'([^']*)'", term)
        if m:
            left, op, lit = m.groups()
            equal = lookup(ctx, left) == lit
            result = result and (equal if op == "==" else not equal)
        elif re.fullmatch(r"[\w.-]+", term):
            result = result and lookup(ctx, term) not in ("", "false", "0")
        else:
            sys.exit(f"action-run: unsupported condition: {term}")
    return result


def read_outputs(path):
    """name=value lines and name<<DELIM heredocs, as GitHub reads GITHUB_OUTPUT."""
    out = {}
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            value = []
            while i < len(lines) and lines[i] != delim:
                value.append(lines[i])
                i += 1
            i += 1
            out[name] = "\n".join(value)
        else:
            name, _, value = line.partition("=")
            out[name] = value
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("action")
    ap.add_argument("--workspace", required=True)
    ap.add_argument("--temp", required=True)
    ap.add_argument("--result", required=True)
    ap.add_argument("--input", action="append", default=[])
    ap.add_argument("--github", action="append", default=[])
    ap.add_argument("--cache-hit", default="false")
    ap.add_argument("--github-script")
    args = ap.parse_args()

    with open(args.action, encoding="utf-8") as f:
        action = yaml.safe_load(f)
    if action["runs"]["using"] != "composite":
        sys.exit("action-run: not a composite action")
    given = dict(kv.split("=", 1) for kv in args.input)
    unknown = set(given) - set(action.get("inputs", {}))
    if unknown:
        sys.exit(f"action-run: unknown inputs {sorted(unknown)}")
    github = {}
    for kv in args.github:
        key, value = kv.split("=", 1)
        node = github
        *parents, last = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    ctx = {"github": github, "runner": {"temp": args.temp, "os": "Linux", "arch": "X64"}, "steps": {}, "inputs": {}, "env": {}}
    for name, spec in action.get("inputs", {}).items():
        ctx["inputs"][name] = given[name] if name in given else substitute(ctx, spec.get("default", ""))

    action_path = os.path.dirname(os.path.abspath(args.action))
    path_file = os.path.join(args.temp, "github-path")
    summary = os.path.join(args.temp, "step-summary.md")
    for f in (path_file, summary):
        open(f, "a").close()
    failed = None
    outcomes = {}
    withs = {}
    for index, step in enumerate(action["runs"]["steps"]):
        sid = step.get("id", f"step{index}")
        if failed is not None or ("if" in step and not condition(ctx, step["if"])):
            outcomes[sid] = "skipped"
            continue
        env = dict(os.environ)
        extra = [l for l in open(path_file, encoding="utf-8").read().splitlines() if l]
        env["PATH"] = os.pathsep.join(list(reversed(extra)) + [env.get("PATH", "")])
        output_file = tempfile.NamedTemporaryFile(dir=args.temp, prefix="output-", delete=False).name
        env.update(
            GITHUB_OUTPUT=output_file,
            GITHUB_PATH=path_file,
            GITHUB_STEP_SUMMARY=summary,
            GITHUB_ACTION_PATH=action_path,
            GITHUB_WORKSPACE=args.workspace,
            RUNNER_TEMP=args.temp,
        )
        for name, value in (step.get("env") or {}).items():
            env[name] = substitute(ctx, value)
        cwd = os.path.normpath(os.path.join(args.workspace, substitute(ctx, step.get("working-directory", "."))))
        if not os.path.isdir(cwd):
            print(f"action-run: step {sid}: no working directory {cwd}", file=sys.stderr)
            code = 1
        elif "run" in step:
            if EXPR.search(step["run"]):
                sys.exit(f"action-run: step {sid}: an expression inside run: (pass it through env:)")
            if step.get("shell") != "bash":
                sys.exit(f"action-run: step {sid}: shell must be bash")
            script = os.path.join(args.temp, f"step-{sid}.sh")
            with open(script, "w", encoding="utf-8") as f:
                f.write(step["run"])
            code = subprocess.call(["bash", "--noprofile", "--norc", "-eo", "pipefail", script], cwd=cwd, env=env)
        else:
            uses = step["uses"]
            with_ = {k: substitute(ctx, v) for k, v in (step.get("with") or {}).items()}
            withs[sid] = with_
            if uses.startswith("actions/cache@"):
                with open(output_file, "w") as f:
                    f.write(f"cache-hit={args.cache_hit}\n")
                code = 0
            elif uses.startswith("actions/github-script@"):
                if not args.github_script:
                    sys.exit("action-run: a github-script step needs --github-script")
                script = os.path.join(args.temp, f"step-{sid}.js")
                with open(script, "w", encoding="utf-8") as f:
                    f.write(with_["script"])
                env["GITHUB_TOKEN"] = with_.get("github-token", "")
                code = subprocess.call(args.github_script.split() + [script], cwd=args.workspace, env=env)
            else:
                sys.exit(f"action-run: step {sid}: no stand-in for uses: {uses}")
        ctx["steps"][sid] = {"outputs": read_outputs(output_file), "outcome": "success" if code == 0 else "failure"}
        outcomes[sid] = ctx["steps"][sid]["outcome"]
        os.unlink(output_file)
        if code != 0:
            failed = sid
            print(f"action-run: step {sid} failed (exit {code})", file=sys.stderr)
    outputs = {name: substitute(ctx, spec["value"]) for name, spec in action.get("outputs", {}).items()}
    with open(args.result, "w", encoding="utf-8") as f:
        json.dump({"outputs": outputs, "outcomes": outcomes, "failed": failed,
                   "steps": {k: v["outputs"] for k, v in ctx["steps"].items()}, "with": withs}, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
