// Derive a strict JSON Schema (draft 2020-12) for custom resources from the TypeScript
// declarations of the @kubernetes-models packages installed by .ci/install-tools.sh.
//
// Those packages are generated from the Go API types of Argo CD and Flux; they ship
// compiled validators and `.d.ts` declarations, but no JSON Schema, and their validators
// accept fields they do not know. This reads the declarations with the TypeScript
// compiler and writes, per kind, a schema in which every object lists its properties,
// its required ones and `additionalProperties: false` (a map, `{[key: string]: T}`, gets
// `additionalProperties: T`), so a misspelt field fails as it would under
// `kubectl apply --validate=strict`. Types, required fields and enums (string literal
// unions) are kept. An interface with no members (RawExtension, apiextensions JSON) is
// free-form. `null` is refused where the declaration does not allow it.
//
// Usage: node .ci/crd-schema.mjs NODE_MODULES OUT_DIR APIVERSION/KIND...
//   e.g. argoproj.io/v1alpha1/Application kustomize.toolkit.fluxcd.io/v1/Kustomization
// writes OUT_DIR/<group>_<version>_<kind>.json for each, and exits 1 naming any kind no
// package declares, or a type it cannot translate (an unresolved import among them).
// `node .ci/crd-schema.mjs --check NODE_MODULES` only loads the compiler and prints its version.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

const args = process.argv.slice(2);
const check = args[0] === "--check";
if (check) args.shift();
const [nodeModules, outDir, ...gvks] = args;
if (!nodeModules || (!check && (!outDir || gvks.length === 0))) {
    console.error("usage: node crd-schema.mjs NODE_MODULES OUT_DIR APIVERSION/KIND...\n       node crd-schema.mjs --check NODE_MODULES");
    process.exit(2);
}
// NODE_MODULES must be a folder named node_modules: the packages' imports of each other
// are resolved the way Node.js resolves them.
const ts = createRequire(import.meta.url)(path.resolve(nodeModules, "typescript"));
if (check) {
    console.log(`typescript ${ts.version}`);
    process.exit(0);
}
const PACKAGES = ["@kubernetes-models/argo-cd", "@kubernetes-models/flux-cd"];

function fail(msg) {
    console.error(`crd-schema: ${msg}`);
    process.exit(1);
}

// Each APIVERSION/KIND to the declaration file <package>/<group>/<version>/<Kind>.d.ts.
const wanted = gvks.map((gvk) => {
    const parts = gvk.split("/");
    if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9.-]+$/.test(p))) {
        fail(`not GROUP/VERSION/KIND: ${gvk}`);
    }
    const [group, version, kind] = parts;
    const file = PACKAGES.map((p) => path.resolve(nodeModules, p, group, version, `${kind}.d.ts`)).find((f) =>
        fs.existsSync(f),
    );
    if (!file) {
        fail(`no declaration for ${gvk} in ${PACKAGES.join(", ")} (looked for <package>/${group}/${version}/${kind}.d.ts)`);
    }
    return { group, version, kind, file };
});

const program = ts.createProgram(
    wanted.map((w) => w.file),
    {
        noEmit: true,
        strict: true,
        skipLibCheck: true,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        types: [],
    },
);
const checker = program.getTypeChecker();

function translate(rootType, where) {
    const defs = {};
    const names = new Map(); // type -> name in $defs
    const used = new Set();
    const inlining = new Set();

    function defName(type) {
        let base = (type.aliasSymbol || type.symbol)?.getName() || "Object";
        // The packages name each type twice: IFoo and IComGithub...Foo; the shorter is enough
        // unless it is taken.
        base = base.replace(/^I(?=[A-Z])/, "");
        let name = base;
        for (let i = 2; used.has(name); i++) name = `${base}${i}`;
        used.add(name);
        return name;
    }

    function walk(type, at) {
        if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) {
            if (type.intrinsicName === "error") fail(`${where}: ${at}: unresolved type (a package missing?)`);
            return {};
        }
        if (type.isUnion()) {
            const members = type.types.filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
            if (members.length === 0) fail(`${where}: ${at}: only undefined/null`);
            if (members.every((t) => t.flags & ts.TypeFlags.BooleanLiteral)) return { type: "boolean" };
            if (members.every((t) => t.isStringLiteral() || t.isNumberLiteral())) {
                return { enum: members.map((t) => t.value) };
            }
            if (members.length === 1) return walk(members[0], at);
            return { anyOf: members.map((t) => walk(t, at)) };
        }
        if (type.flags & ts.TypeFlags.String) return { type: "string" };
        if (type.flags & ts.TypeFlags.Number) return { type: "number" };
        if (type.flags & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) return { type: "boolean" };
        if (type.isStringLiteral() || type.isNumberLiteral()) return { const: type.value };
        if (checker.isTupleType(type)) fail(`${where}: ${at}: a tuple type has no JSON Schema here`);
        if (checker.isArrayType(type)) {
            return { type: "array", items: walk(checker.getTypeArguments(type)[0], `${at}[]`) };
        }
        if (type.flags & ts.TypeFlags.Object) {
            if (type.getCallSignatures().length || type.getConstructSignatures().length) {
                fail(`${where}: ${at}: a function type is not data`);
            }
            if (type.symbol?.getName() === "__type") {
                // An anonymous type literal (a map such as labels): inline it.
                if (inlining.has(type)) fail(`${where}: ${at}: recursive anonymous type`);
                inlining.add(type);
                const inline = objectSchema(type, at);
                inlining.delete(type);
                return inline;
            }
            if (!names.has(type)) {
                const name = defName(type);
                names.set(type, name);
                defs[name] = objectSchema(type, at);
            }
            return { $ref: `#/$defs/${names.get(type)}` };
        }
        fail(`${where}: ${at}: cannot translate type ${checker.typeToString(type)}`);
    }

    function objectSchema(type, at) {
        const props = checker.getPropertiesOfType(type);
        const indexes = checker.getIndexInfosOfType(type);
        if (props.length === 0 && indexes.length === 0) return {}; // RawExtension, JSON: any value
        const schema = { type: "object" };
        if (props.length) {
            schema.properties = {};
            const required = [];
            for (const p of props) {
                const decl = p.valueDeclaration || p.declarations?.[0];
                const pt = checker.getTypeOfSymbolAtLocation(p, decl);
                schema.properties[p.getName()] = walk(pt, `${at}.${p.getName()}`);
                if (!(p.flags & ts.SymbolFlags.Optional)) required.push(p.getName());
            }
            if (required.length) schema.required = required;
        }
        if (indexes.length > 1 || (indexes.length && !(indexes[0].keyType.flags & ts.TypeFlags.String))) {
            fail(`${where}: ${at}: only one index signature, keyed by string, is supported`);
        }
        schema.additionalProperties = indexes.length ? walk(indexes[0].type, `${at}[*]`) : false;
        return schema;
    }

    const root = walk(rootType, "");
    return { ...root, $defs: defs };
}

fs.mkdirSync(outDir, { recursive: true });
for (const w of wanted) {
    const source = program.getSourceFile(w.file);
    const where = `${w.group}/${w.version}/${w.kind}`;
    const iface = source?.statements.find((s) => ts.isInterfaceDeclaration(s) && s.name.text === `I${w.kind}`);
    if (!iface) fail(`${where}: no interface I${w.kind} in ${w.file}`);
    const body = translate(checker.getTypeAtLocation(iface.name), where);
    const schema = {
        $schema: "https://json-schema.org/draft/2020-12/schema",
        title: `${w.kind} (${w.group}/${w.version})`,
        $comment: `Derived by .ci/crd-schema.mjs from ${path.relative(path.resolve(nodeModules), w.file)}`,
        ...body,
    };
    const out = path.join(outDir, `${w.group}_${w.version}_${w.kind}.json`);
    fs.writeFileSync(out, JSON.stringify(schema, null, 2) + "\n");
    console.log(out);
}
