#!/usr/bin/env bash
# Runs the verification Job's own shell script, as cutover renders it (the `sh -c` command
# of a stage's verify-job.yaml, with the Job's environment), against stub HTTP servers on
# 127.0.0.1 standing in for the pod's Istio proxy (port 15021 /healthz/ready, port 15020
# /quitquitquit) and for the two hosts it checks (CLIENT_URL and BACKEND_URL pointed at
# stub ports, keeping the plan's path). Cases:
#   - every answer 200: exit 0, every request logged, the proxy stopped (also when nothing
#     listens on 15020);
#   - the proxy gets ready after a few tries: the script waits for it;
#   - the backend answers 503 to one request: exit 1, that request named;
#   - the backend refuses connections: exit 1, every request logged with HTTP 000;
#   - no proxy, or one that never gets ready: exit 1 after PROXY_SECONDS seconds, saying the
#     pod is not in the mesh, no request sent;
#   - no request carries an Authorization header, and the path (which holds `$(false)`,
#     and brackets and braces that curl would otherwise expand) reaches the servers as the
#     plan wrote it, once per request.
# Each case runs with `sh`, and with `busybox sh` (the shell of the curl image) when it is
# installed. Needs curl, python3 with PyYAML (.ci/tools/env.sh) and ports 15020 and 15021
# of localhost free.
#
# Usage: .ci/verify-job-test.sh
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
err() { printf 'verify-job-test: %s\n' "$*" >&2; }

if [[ -f "$REPO_ROOT/.ci/tools/env.sh" ]]; then
    # shellcheck source=/dev/null
    . "$REPO_ROOT/.ci/tools/env.sh"
fi
for tool in cargo curl python3; do
    command -v "$tool" >/dev/null 2>&1 || { err "ERROR: $tool not found on PATH"; exit 2; }
done
python3 -c 'import yaml' 2>/dev/null || { err "ERROR: python3 has no PyYAML; run .ci/install-tools.sh"; exit 2; }
shells=(sh)
if command -v busybox >/dev/null 2>&1; then
    shells+=("busybox sh")
else
    err "note: busybox not installed; the script runs with sh only"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/.git" "$work/home"
cat >"$work/cutover.yaml" <<'EOF'
version: 1
output: deploy
migrations:
  - name: orders
    namespace: shop
    from: orders-se.example.com
    to: orders-gcp.example.com
    verify: {path: "/healthz?full=1&x=$(false)&ids=[1,2]&f={a,b}", everyStage: true, requests: 3, waitSeconds: 0}
    stages: [{weight: 10}, {weight: 100}]
EOF
(cd "$work" && cargo run --release --locked --quiet --manifest-path "$REPO_ROOT/Cargo.toml" -- render cutover.yaml >/dev/null)
job="$work/deploy/orders/stages/02-weight-100/verify-job.yaml"
[[ -f "$job" ]] || { err "ERROR: render wrote no $job"; exit 1; }

HOME="$work/home" python3 - "$job" "${shells[@]}" <<'EOF'
import http.server, os, socket, subprocess, sys, threading, time, urllib.parse
import yaml

job_file, shells = sys.argv[1], sys.argv[2:]
with open(job_file) as f:
    job = yaml.safe_load(f)
container = job["spec"]["template"]["spec"]["containers"][0]
command = container["command"]
if command[:2] != ["sh", "-c"] or len(command) != 3:
    sys.exit("verify-job-test: FAIL: the Job's command is not `sh -c SCRIPT`: %r" % (command,))
script = command[2]
job_env = {e["name"]: str(e["value"]) for e in container["env"]}
requests = int(job_env["REQUESTS"])
stage = job_env["STAGE"]
url = urllib.parse.urlsplit(job_env["CLIENT_URL"])
path = url.path + ("?" + url.query if url.query else "")
if "$(false)" not in path or "[1,2]" not in path or "{a,b}" not in path:
    sys.exit("verify-job-test: FAIL: the plan's path %r did not reach CLIENT_URL" % path)

PROXY, QUIT = 15021, 15020


def ports_free():
    """Fails clearly when something holds the proxy's ports."""
    for port in (PROXY, QUIT):
        for host in ("127.0.0.1", "::1"):
            try:
                with socket.create_connection((host, port), timeout=1):
                    pass
            except OSError:
                continue
            sys.exit("verify-job-test: FAIL: port %d is taken (something answers on %s:%d); "
                     "the Job's script calls the proxy there: free it and run again" % (port, host, port))
        s = socket.socket()
        # As the stubs do: a connection of an earlier run waiting out TIME_WAIT is no owner.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            sys.exit("verify-job-test: FAIL: port %d is taken (%s); free it and run again" % (port, e))
        finally:
            s.close()


class Stub:
    """An HTTP server on 127.0.0.1 that records every request and answers
    `answer(method, path, n)` (n: 1-based number of the request)."""

    def __init__(self, port, answer):
        self.requests = []
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def reply(self):
                stub.requests.append((self.command, self.path, dict(self.headers.items())))
                code = answer(self.command, self.path, len(stub.requests))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_HEAD = reply

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def closed_port():
    """A port of 127.0.0.1 that nothing listens on (connections are refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ok(method, path, n):
    return 200


def ready_after(tries):
    return lambda method, path, n: 200 if n > tries else 503


failures = []
seen_headers = []
runs = []


def case(shell, name, proxy=ok, quit=True, backend=ok, backend_up=True, proxy_seconds=None):
    """Runs the script once with the stubs asked for; returns what happened."""
    stubs = {}
    try:
        if proxy is not None:
            stubs["proxy"] = Stub(PROXY, proxy)
        if quit:
            stubs["quit"] = Stub(QUIT, ok)
        stubs["client"] = Stub(0, ok)
        backend_port = closed_port()
        if backend_up:
            stubs["backend"] = Stub(0, backend)
            backend_port = stubs["backend"].port
        env = dict(job_env)
        env.update({
            "PATH": os.environ["PATH"],
            "HOME": os.environ["HOME"],
            "CURL_HOME": os.environ["HOME"],
            "WAIT_SECONDS": "0",
            "CLIENT_URL": "http://127.0.0.1:%d%s" % (stubs["client"].port, path),
            "BACKEND_URL": "http://127.0.0.1:%d%s" % (backend_port, path),
        })
        if proxy_seconds is not None:
            env["PROXY_SECONDS"] = str(proxy_seconds)
        start = time.monotonic()
        p = subprocess.run(shell.split() + ["-c", script], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=120)
        took = time.monotonic() - start
    finally:
        for s in stubs.values():
            s.close()
    got = {k: s.requests for k, s in stubs.items()}
    for reqs in got.values():
        seen_headers.extend(h for _, _, h in reqs)
    label = "%s: %s" % (shell, name)
    runs.append(label)
    out = p.stdout

    def check(cond, what):
        if not cond:
            failures.append("%s: %s\n--- exit %d after %.1fs, stdout:\n%s--- stderr:\n%s--- requests: %r"
                            % (label, what, p.returncode, took, out, p.stderr,
                               {k: [(m, q) for m, q, _ in v] for k, v in got.items()}))
    check(out.startswith("cutover verify, stage %s (%s)\n" % (stage, job_env["STAGE_DIGEST"])),
          "no first line naming the stage and its digest")
    return p.returncode, out, took, got, env, check


def lines(who, url, codes):
    return ["%s %s request %d/%d: GET %s -> HTTP %s"
            % ("ok  " if c == "200" else "FAIL", who, i, requests, url, c)
            for i, c in enumerate(codes, 1)]


def logged(out, want):
    """Every line of `want` is a line of `out`; a failed request's line may go on with
    curl's exit code."""
    got = out.splitlines()
    return all(any(l == w or l.startswith(w + " (curl exit ") for l in got) for w in want)


def quit_called(got):
    return [(m, q) for m, q, _ in got.get("quit", [])] == [("POST", "/quitquitquit")]


def gets(got, who):
    return [(m, q) for m, q, _ in got.get(who, [])] == [("GET", path)] * requests


ports_free()
for shell in shells:
    rc, out, _, got, env, check = case(shell, "all 200")
    check(rc == 0, "exit %d, want 0" % rc)
    check(logged(out, lines("client", env["CLIENT_URL"], ["200"] * requests)
                 + lines("gcpbackend", env["BACKEND_URL"], ["200"] * requests)
                 + ["ok: all %d requests answered HTTP 200" % (2 * requests)]),
          "not every request logged as ok")
    check(gets(got, "client") and gets(got, "backend"),
          "not %d GETs of %r to each host" % (requests, path))
    check(got["proxy"] and all(q == "/healthz/ready" for _, q, _ in got["proxy"]), "proxy readiness not asked")
    check(quit_called(got), "quitquitquit not called once")

    rc, out, _, got, env, check = case(shell, "all 200, nothing on 15020", quit=False)
    check(rc == 0, "exit %d, want 0 (stopping the proxy may fail)" % rc)

    rc, out, _, got, env, check = case(shell, "proxy ready at the third try", proxy=ready_after(2),
                                       proxy_seconds=5)
    check(rc == 0, "exit %d, want 0" % rc)
    check(len(got["proxy"]) == 3, "%d readiness tries, want 3" % len(got["proxy"]))
    check(gets(got, "client") and gets(got, "backend"), "requests missing")

    fail_at = 2
    rc, out, _, got, env, check = case(shell, "backend 503 once",
                                       backend=lambda m, q, n: 503 if n == fail_at else 200)
    codes = ["503" if i == fail_at else "200" for i in range(1, requests + 1)]
    check(rc == 1, "exit %d, want 1" % rc)
    check(logged(out, lines("gcpbackend", env["BACKEND_URL"], codes)
                 + lines("client", env["CLIENT_URL"], ["200"] * requests)
                 + ["FAIL: 1 of %d requests did not answer HTTP 200" % (2 * requests)]),
          "request %d not named as failed" % fail_at)
    check(gets(got, "backend"), "did not send every request after the failure")
    check(quit_called(got), "quitquitquit not called once")

    rc, out, _, got, env, check = case(shell, "backend refuses connections", backend_up=False)
    check(rc == 1, "exit %d, want 1" % rc)
    check(logged(out, lines("gcpbackend", env["BACKEND_URL"], ["000"] * requests)
                 + ["FAIL: %d of %d requests did not answer HTTP 200" % (requests, 2 * requests)]),
          "refused requests not logged as HTTP 000")
    check(gets(got, "client"), "client requests missing")
    check(quit_called(got), "quitquitquit not called once")

    for name, proxy in [("no proxy", None), ("proxy never ready", ready_after(10 ** 6))]:
        rc, out, took, got, env, check = case(shell, name, proxy=proxy, proxy_seconds=2)
        check(rc == 1, "exit %d, want 1" % rc)
        check("FAIL: no Istio proxy ready after 2s: this pod is not in the mesh" in out,
              "no `not in the mesh` message")
        check(took < 15, "took %.1fs with PROXY_SECONDS=2" % took)
        check(not got["client"] and not got.get("backend"), "requests sent without a proxy")
        if proxy is not None:
            check(2 <= len(got["proxy"]) <= 4, "%d readiness tries in 2s" % len(got["proxy"]))
        check(quit_called(got), "quitquitquit not called once")

auth = [h for h in seen_headers if any(k.lower() in ("authorization", "proxy-authorization") for k in h)]
if auth:
    failures.append("requests carried an Authorization header: %r" % auth)
if not seen_headers:
    failures.append("the stubs received no request at all")
if failures:
    for f in failures:
        print("verify-job-test: FAIL: " + f, file=sys.stderr)
    sys.exit(1)
print("verify-job-test: OK: %d runs of the Job's script (%d cases with each of: %s), %d requests seen, "
      "none with an Authorization header" % (len(runs), len(runs) // len(shells), ", ".join(shells), len(seen_headers)))
EOF
