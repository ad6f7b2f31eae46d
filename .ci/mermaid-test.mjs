// Parses the mermaid charts of `cutover diff --format markdown` with mermaid itself.
//
//   node .ci/mermaid-test.mjs NODE_MODULES [SNAPSHOT...]
//
// NODE_MODULES holds mermaid (its browser bundle, dist/mermaid.min.js, which brings every
// dependency with it) and happy-dom (the DOM that mermaid's sanitizer needs outside a
// browser), as .ci/install-tools.sh installs them. Every ```mermaid block of the given
// markdown snapshots (by default fixtures/review/*/expected/markdown.snap, which the test
// suite holds equal to the binary's output) must parse as an xychart whose bar and line
// series are as long as its x-axis (mermaid itself cuts a longer series short without a
// word, so the lengths are read from what the parser hands its database). Charts that
// must fail are checked too, so that a parser which accepts anything cannot pass.
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";

const [modules, ...args] = process.argv.slice(2);
if (!modules) {
  console.error("usage: node .ci/mermaid-test.mjs NODE_MODULES [SNAPSHOT...]");
  process.exit(2);
}
const { Window } = await import(path.resolve(modules, "happy-dom/lib/index.js"));
const window = new Window();
globalThis.window = window;
globalThis.document = window.document;
const bundle = path.resolve(modules, "mermaid/dist/mermaid.min.js");
vm.runInThisContext(fs.readFileSync(bundle, "utf8"), { filename: bundle });
const { mermaid } = globalThis;
const version = JSON.parse(fs.readFileSync(path.resolve(modules, "mermaid/package.json"), "utf8")).version;

// What the parser hands the xychart database: the x-axis categories and each series.
const seen = { categories: null, series: [] };
await mermaid.parse("xychart-beta\n  x-axis [a]\n  bar [1]\n");
const { db } = await mermaid.mermaidAPI.getDiagramFromText("xychart-beta\n  x-axis [a]\n  bar [1]\n");
for (const [name, kind] of [["setBarData", "bar"], ["setLineData", "line"]]) {
  const real = db[name].bind(db);
  db[name] = (title, data) => {
    seen.series.push({ kind, length: data.length });
    return real(title, data);
  };
}
const realBand = db.setXAxisBand.bind(db);
db.setXAxisBand = (categories) => {
  seen.categories = categories.map((c) => c.text);
  return realBand(categories);
};

/** Parses `text`; returns a list of problems (empty when it is a sound xychart). */
async function problems(text) {
  seen.categories = null;
  seen.series = [];
  try {
    const { diagramType } = await mermaid.parse(text);
    if (diagramType !== "xychart") return [`parsed as ${diagramType}, not xychart`];
    // Once more on a cleared record: getDiagramFromText resets the database and runs
    // the parser's actions against it.
    seen.categories = null;
    seen.series = [];
    await mermaid.mermaidAPI.getDiagramFromText(text);
  } catch (e) {
    return [String(e.message || e).split("\n").slice(0, 4).join(" | ")];
  }
  const out = [];
  if (!seen.categories) out.push("no band x-axis");
  if (seen.series.length === 0) out.push("no series");
  for (const s of seen.series) {
    if (seen.categories && s.length !== seen.categories.length) {
      out.push(`${s.kind} has ${s.length} values for ${seen.categories.length} x-axis labels`);
    }
  }
  return out;
}

function charts(markdown) {
  return [...markdown.matchAll(/^```mermaid\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

let snapshots = args;
if (snapshots.length === 0) {
  const dir = "fixtures/review";
  snapshots = fs
    .readdirSync(dir)
    .sort()
    .map((c) => path.join(dir, c, "expected/markdown.snap"))
    .filter((f) => fs.existsSync(f));
}

let failed = 0;
let parsed = 0;
for (const file of snapshots) {
  for (const [i, chart] of charts(fs.readFileSync(file, "utf8")).entries()) {
    const p = await problems(chart);
    parsed++;
    if (p.length) {
      failed++;
      console.error(`FAIL ${file} chart ${i + 1}: ${p.join("; ")}\n${chart}`);
    }
  }
}
if (parsed === 0) {
  console.error("no mermaid chart found in " + snapshots.join(" "));
  failed++;
}

// The escapes the report uses parse; the mistakes they prevent do not.
const head = 'xychart-beta\n    title "m"\n    y-axis "% to GCPBackend" 0 --> 100\n';
const cases = [
  [true, 'x-axis ["1 we#quot;ird #35;x #lt;b#gt; #amp; #96;", "2 b: prod (dev before)"]\n    bar [0, 10]\n    line [5, 100]'],
  [false, 'x-axis ["1 we"ird", "2 b"]\n    bar [0, 10]'],
  [false, 'x-axis ["1 a", "2 b"]\n    bar [0, 10, 20]'],
  [false, 'x-axis ["1 a", "2 b"]\n    line [0]'],
  [false, 'x-axis ["1 a", "2 b"\n    bar [0, 10]'],
  [false, 'x-axis ["1 a", "2 b"]\n    bar [0, ten]'],
];
for (const [ok, body] of cases) {
  const text = head + "    " + body + "\n";
  const p = await problems(text);
  parsed++;
  if (ok !== (p.length === 0)) {
    failed++;
    console.error(`FAIL: expected ${ok ? "a sound chart" : "a problem"}, got ${p.length ? p.join("; ") : "none"}\n${text}`);
  }
}

await window.happyDOM.close();
console.log(`mermaid ${version}, ${parsed} charts`);
console.log(`charts: ${parsed - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
