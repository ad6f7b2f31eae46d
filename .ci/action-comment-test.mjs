// The comment step of action.yml (its actions/github-script script, extracted by
// .ci/action-test.sh) against a stub GitHub: it updates the bot's own marked comment (or,
// with a personal access token, its user's), creates one when there is none and the
// rollout changed, never edits another person's comment, and on a fork's read-only token
// warns instead of failing.
//
//   node .ci/action-comment-test.mjs SCRIPT_FILE
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runScript } from "./action-github-script.mjs";

const script = fs.readFileSync(process.argv[2], "utf8");
const marker = "<!-- cutover -->";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cutover-comment-"));
const commentFile = path.join(dir, "comment.md");
const newBody = `${marker}\n### cutover: 2 files in 1 migration\n`;
fs.writeFileSync(commentFile, newBody);

const bot = { login: "github-actions[bot]", type: "Bot" };
const otherBot = { login: "renovate[bot]", type: "Bot" };
const person = { login: "someone", type: "User" };
const event = (fork = false) => ({
  pull_request: { number: 7, head: { repo: { full_name: fork ? "fork/repo" : "owner/repo" } } },
});
const pat = { login: "ci-user", type: "User" };
const run = (comments, { changed = "true", fork = false, failWrites = null, file = commentFile, token } = {}) =>
  runScript(script, {
    comments,
    event: event(fork),
    repository: "owner/repo",
    env: { COMMENT_FILE: file, CHANGED: changed },
    failWrites,
    token,
  });
const writes = (r) => r.calls.filter(([kind]) => kind !== "list" && kind !== "user");

const cases = {
  async "creates a comment when there is none and the rollout changed"() {
    const r = await run([]);
    assert.equal(r.error, null);
    assert.deepEqual(writes(r), [["create", 1000]]);
    assert.equal(r.comments[0].body, newBody);
  },
  async "posts nothing when there is none and nothing changed"() {
    const r = await run([], { changed: "false" });
    assert.equal(r.error, null);
    assert.deepEqual(writes(r), []);
    assert.match(r.infos.join("\n"), /no comment posted/);
  },
  async "updates the bot's own marked comment, also when nothing changed any more"() {
    for (const changed of ["true", "false"]) {
      const comments = [
        { id: 1, body: `${marker}\nquoted by a person`, user: person },
        { id: 2, body: "a bot's comment without the marker", user: bot },
        { id: 3, body: `${marker}\nold`, user: bot },
        { id: 4, body: `> ${marker}\na person quoting it`, user: person },
      ];
      const r = await run(comments, { changed });
      assert.equal(r.error, null);
      assert.deepEqual(writes(r), [["update", 3]]);
      assert.equal(r.comments.find((c) => c.id === 3).body, newBody);
      for (const c of comments.filter((c) => c.id !== 3)) {
        assert.deepEqual(r.comments.find((x) => x.id === c.id), c, "other comments untouched");
      }
    }
  },
  async "never edits a person's comment, even one starting with the marker"() {
    const comments = [{ id: 5, body: `${marker}\nwritten by hand`, user: person }];
    const r = await run(comments);
    assert.deepEqual(writes(r), [["create", 1000]]);
    assert.equal(r.comments[0].body, `${marker}\nwritten by hand`);
    const quiet = await run(comments, { changed: "false" });
    assert.deepEqual(writes(quiet), []);
  },
  async "any bot's marked comment is the one (the marker is cutover's)"() {
    const r = await run([{ id: 6, body: `${marker}\nold`, user: otherBot }]);
    assert.deepEqual(writes(r), [["update", 6]]);
  },
  async "a GITHUB_TOKEN cannot read its user: that is ignored, bots' comments are found"() {
    const r = await run([{ id: 3, body: `${marker}\nold`, user: bot }]);
    assert.equal(r.error, null);
    assert.deepEqual(r.calls.filter(([k]) => k === "user"), [["user"]], "the user was asked for");
    assert.deepEqual(writes(r), [["update", 3]]);
  },
  async "with a personal access token: created as its user, then updated on the next push"() {
    const first = await run([], { token: pat });
    assert.equal(first.error, null);
    assert.deepEqual(writes(first), [["create", 1000]]);
    assert.deepEqual(first.comments[0].user, pat);
    const next = await run(first.comments, { token: pat, changed: "false" });
    assert.equal(next.error, null);
    assert.deepEqual(writes(next), [["update", 1000]]);
    assert.equal(next.comments.length, 1);
  },
  async "with a personal access token: its user's marked comment, never another person's"() {
    const comments = [
      { id: 1, body: `${marker}\nwritten by hand`, user: person },
      { id: 2, body: "ci-user without the marker", user: pat },
      { id: 3, body: `${marker}\nold`, user: pat },
    ];
    const r = await run(comments, { token: pat });
    assert.deepEqual(writes(r), [["update", 3]]);
    assert.deepEqual(r.comments.find((c) => c.id === 1), comments[0]);
    assert.deepEqual(r.comments.find((c) => c.id === 2), comments[1]);
    const alone = await run([comments[0]], { token: pat });
    assert.deepEqual(writes(alone), [["create", 1000]]);
    assert.deepEqual(alone.comments.find((c) => c.id === 1), comments[0]);
  },
  async "finds its comment on a later page"() {
    const many = Array.from({ length: 150 }, (_, i) => ({ id: 10 + i, body: `comment ${i}`, user: person }));
    many.push({ id: 500, body: `${marker}\nold`, user: bot });
    const r = await run(many);
    assert.deepEqual(r.calls.filter(([k]) => k === "list"), [["list", 1], ["list", 2]]);
    assert.deepEqual(writes(r), [["update", 500]]);
  },
  async "adds the marker to a body without it"() {
    const file = path.join(dir, "plain.md");
    fs.writeFileSync(file, "plain\n");
    const r = await run([], { file });
    assert.equal(r.comments[0].body, `${marker}\nplain\n`);
  },
  async "warns instead of failing on a fork's read-only token"() {
    const r = await run([], { fork: true, failWrites: 403 });
    assert.equal(r.error, null);
    assert.match(r.warnings.join("\n"), /fork/);
  },
  async "fails on a read-only token in the repository itself"() {
    const r = await run([], { failWrites: 403 });
    assert.equal(r.error?.status, 403);
  },
};

let passed = 0;
let failed = 0;
for (const [name, test] of Object.entries(cases)) {
  try {
    await test();
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}\n${e.stack}`);
  }
}
fs.rmSync(dir, { recursive: true, force: true });
console.log(`comment script: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
