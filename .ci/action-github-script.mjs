// Runs an actions/github-script script against a stub `github` client, for
// .ci/action-test.sh.
//
// As a module: runScript(scriptText, { comments, event, repository, env, failWrites, token })
// resolves to { comments, calls, infos, warnings, error }. The script gets the arguments
// github-script gives it (require, github, context, core); `github` keeps the issue's
// comments in memory: rest.issues.listComments (paginated by per_page and page, as the
// REST API), createComment (as the token's user), updateComment, paginate (pages until
// one comes back short), and rest.users.getAuthenticated. token: the token's user,
// { login, type }; a Bot (the default, github-actions[bot]: a GITHUB_TOKEN) cannot call
// getAuthenticated (403, as on GitHub), a User (a personal access token) gets its login.
// failWrites: an HTTP status that createComment and updateComment fail with (a
// read-only token gets 403).
//
// As a command: node .ci/action-github-script.mjs SCRIPT_FILE, with STUB_STATE (a JSON
// file { comments, failWrites, token }, rewritten with the result) and STUB_EVENT (the event
// payload) in the environment, and GITHUB_REPOSITORY; exits 1 when the script throws.
import fs from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;

function httpError(status, message) {
  const e = new Error(message);
  e.status = status;
  return e;
}

const GITHUB_TOKEN_USER = { login: "github-actions[bot]", type: "Bot" };

export async function runScript(
  script,
  { comments = [], event, repository = "owner/repo", env = {}, failWrites = null, token = GITHUB_TOKEN_USER },
) {
  const [owner, repo] = repository.split("/");
  const state = { comments: comments.map((c) => ({ ...c })), calls: [], infos: [], warnings: [], error: null };
  let nextId = Math.max(1000, ...state.comments.map((c) => c.id + 1));
  const check = (o, r, n) => {
    if (o !== owner || r !== repo || n !== event.pull_request.number) {
      throw httpError(404, `no issue ${o}/${r}#${n}`);
    }
  };
  const issues = {
    async listComments({ owner: o, repo: r, issue_number, per_page = 30, page = 1 }) {
      check(o, r, issue_number);
      state.calls.push(["list", page]);
      return { data: state.comments.slice((page - 1) * per_page, page * per_page).map((c) => ({ ...c })) };
    },
    async createComment({ owner: o, repo: r, issue_number, body }) {
      check(o, r, issue_number);
      if (failWrites) throw httpError(failWrites, "Resource not accessible by integration");
      const c = { id: nextId++, body, user: { ...token } };
      c.html_url = `https://example.invalid/${owner}/${repo}/pull/${issue_number}#issuecomment-${c.id}`;
      state.comments.push(c);
      state.calls.push(["create", c.id]);
      return { data: { ...c } };
    },
    async updateComment({ owner: o, repo: r, comment_id, body }) {
      if (o !== owner || r !== repo) throw httpError(404, "no such repository");
      if (failWrites) throw httpError(failWrites, "Resource not accessible by integration");
      const c = state.comments.find((x) => x.id === comment_id);
      if (!c) throw httpError(404, `no comment ${comment_id}`);
      c.body = body;
      state.calls.push(["update", comment_id]);
      return { data: { ...c } };
    },
  };
  const users = {
    async getAuthenticated() {
      state.calls.push(["user"]);
      if (token.type === "Bot") throw httpError(403, "Resource not accessible by integration");
      return { data: { login: token.login, type: token.type } };
    },
  };
  const github = {
    rest: { issues, users },
    async paginate(method, params) {
      const all = [];
      const perPage = params.per_page || 30;
      for (let page = 1; ; page++) {
        const { data } = await method({ ...params, page });
        all.push(...data);
        if (data.length < perPage) return all;
      }
    },
  };
  const context = { repo: { owner, repo }, payload: event };
  const core = {
    info: (m) => state.infos.push(String(m)),
    debug: (m) => state.infos.push(`debug: ${m}`),
    warning: (m) => state.warnings.push(String(m)),
  };
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    await new AsyncFunction("require", "github", "context", "core", script)(
      createRequire(import.meta.url), github, context, core);
  } catch (e) {
    state.error = { message: e.message, status: e.status };
  } finally {
    for (const k of Object.keys(env)) {
      if (k in saved) process.env[k] = saved[k];
      else delete process.env[k];
    }
  }
  return state;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const script = fs.readFileSync(process.argv[2], "utf8");
  const stateFile = process.env.STUB_STATE;
  const stub = JSON.parse(fs.readFileSync(stateFile, "utf8"));
  const event = JSON.parse(fs.readFileSync(process.env.STUB_EVENT, "utf8"));
  const result = await runScript(script, {
    comments: stub.comments || [],
    event,
    repository: process.env.GITHUB_REPOSITORY,
    failWrites: stub.failWrites || null,
    token: stub.token || undefined,
  });
  for (const m of result.infos) console.log(m);
  for (const m of result.warnings) console.log(`::warning::${m}`);
  fs.writeFileSync(stateFile, JSON.stringify({ ...stub, ...result }, null, 1));
  if (result.error) {
    console.error(`::error::${result.error.message}`);
    process.exit(1);
  }
}
