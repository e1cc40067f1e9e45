#!/usr/bin/env node
/**
 * postinstall step (after precache-deno.js): builds the Node-mode app runtime of the engine rig,
 * harness/engine/node-runtime/main.cjs (gitignored), used when a host runs with `runtime: 'node'`
 * (harness/engine/nodeRuntime.ts).
 *
 * Rocket.Chat 8.8+ runs apps in Node (packages/apps/node-runtime); its handlers are not published on
 * npm, so the rig adapts apps-engine 1.62's own Deno runtime handlers instead: esbuild bundles
 * deno-runtime/main.ts into one CommonJS file for Node 22, with
 *   - the Deno globals it uses provided by setup/node-runtime/deno-shim.js (banner),
 *   - `@std/io`, `@std/streams`, `@std/cli/parse-args` -> the shims of setup/deno-shims/,
 *   - its npm imports (jsonrpc-lite, @msgpack/msgpack, acorn, acorn-walk, astring, stack-trace, uuid) from
 *     the exact versions deno.jsonc pins, read from <apps-engine>/.deno-cache (precache-deno.js filled it),
 *   - apps-engine values required at run time from the installed package (createRequire),
 *   - lib/require.ts -> setup/node-runtime/node-require.js,
 *   - handlers/app/construct.ts adapted to Rocket.Chat's Node runtime (base-runtime construct.ts +
 *     node-runtime/src/lib/require.ts): the eval shell binds (exports, module, require, console,
 *     globalThis = undefined) (+ Deno = undefined, hiding the stand-in), console goes to stderr, `require` strips `node:` and
 *     prefix-matches the allow-list, then Node's own require; no Deno-only Socket._final delay.
 *
 * Needs only node_modules (offline). Idempotent; about a second.
 */

const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const outFile = path.join(root, 'harness', 'engine', 'node-runtime', 'main.cjs');

let engineDir;
let esbuild;
try {
    engineDir = path.dirname(require.resolve('@rocket.chat/apps-engine/package.json', { paths: [root] }));
    esbuild = require(require.resolve('esbuild', { paths: [root] }));
} catch (_e) {
    console.log('[build-node-runtime] apps-engine or esbuild not installed, skipping');
    process.exit(0);
}

// node-<os>-<cpu> declares a `node` bin, which npm links into node_modules/.bin: every npm script would
// then run on it instead of the machine's Node. The harness starts it by its path; the link goes.
const binLink = path.join(root, 'node_modules', '.bin', 'node');
try {
    if (/node-(linux|darwin)-/.test(fs.readlinkSync(binLink))) {
        fs.unlinkSync(binLink);
    }
} catch {
    // no link (another platform, or already removed)
}

// The bundle takes the runtime's npm imports from the Deno cache that precache-deno.js fills; without a
// Deno for this platform there is none, and the rig cannot run here anyway (precache-deno.js said why).
const deno = require('./platform.js').deno();
if (!deno.binary) {
    console.warn(`[build-node-runtime] skipped: ${deno.reason}`);
    process.exit(0);
}

const runtimeDir = path.join(engineDir, 'deno-runtime');
const npmCache = path.join(engineDir, '.deno-cache', 'npm', 'registry.npmjs.org');
const shimDir = path.join(__dirname, 'node-runtime');
const denoShimDir = path.join(__dirname, 'deno-shims');

function fail(msg) {
    console.error(`[build-node-runtime] ${msg}`);
    process.exit(1);
}

// npm packages pinned by deno.jsonc ("acorn": "npm:acorn@8.10.0"), served from the Deno cache.
const pinned = {};
for (const [, name, version] of fs
    .readFileSync(path.join(runtimeDir, 'deno.jsonc'), 'utf8')
    .matchAll(/"([^"]+)":\s*"npm:(?:@?[^@"]+)@([^"]+)"/g)) {
    const dir = path.join(npmCache, name, version);
    if (fs.existsSync(dir)) {
        pinned[name] = dir;
    }
}
for (const name of ['@msgpack/msgpack', 'jsonrpc-lite', 'acorn', 'acorn-walk', 'astring', 'stack-trace', 'uuid']) {
    if (!pinned[name]) {
        fail(`${name} (pinned in deno-runtime/deno.jsonc) is not in ${npmCache}: run node harness/setup/precache-deno.js first`);
    }
}

// The require allow-list of Rocket.Chat's Node runtime (also read by test/integration/runtimes.test.ts).
const ALLOWED = JSON.stringify(require('./node-runtime/allowed-modules.json').node);

const constructTail = `
// ---- Rocket.Chat Node runtime (node-runtime/src/lib/require.ts, base-runtime construct.ts) ----
const RC_NODE_ALLOWED_MODULES = ${ALLOWED};
function buildNodeSandboxRequire(): (module: string) => unknown {
    const nodeRequire = (globalThis as any).__nodeRequire as (m: string) => unknown;
    return (module: string): unknown => {
        const normalized = module.replace('node:', '');
        if (!RC_NODE_ALLOWED_MODULES.some((mod) => normalized.startsWith(mod))) {
            throw new Error(\`Module \${module} is not allowed\`);
        }
        return nodeRequire(normalized);
    };
}
function wrapAppCodeNode(code: string): (require: (module: string) => unknown) => Promise<Record<string, unknown>> {
    // All console methods to stderr: stdout carries the runtime's protocol. \`Deno\` is shadowed only to
    // hide this bundle's Deno stand-in (deno-shim.js): Rocket.Chat's Node runtime has no Deno global.
    return new Function(
        'require',
        \`
        const exports = {};
        const module = { exports };
        const _error = console.error.bind(console);
        const _console = { log: _error, error: _error, debug: _error, info: _error, warn: _error };

        const result = (async (exports,module,require,console,globalThis,Deno) => {
            \${code};
        })(exports,module,require,_console,undefined,undefined);

        return result.then(() => module.exports);\`,
    ) as (require: (module: string) => unknown) => Promise<Record<string, unknown>>;
}
`;

function adaptConstruct(source) {
    const edits = [
        ['prepareEnvironment();', '/* prepareEnvironment(): Deno-only Socket._final delay, not in the Node runtime */'],
        ['const require = buildRequire();', 'const require = buildNodeSandboxRequire();'],
        ['await wrapAppCode(source)(require)', 'await wrapAppCodeNode(source)(require)'],
    ];
    let out = source;
    for (const [from, to] of edits) {
        if (!out.includes(from)) {
            fail(`deno-runtime/handlers/app/construct.ts changed: "${from}" not found (apps-engine upgraded?)`);
        }
        out = out.replace(from, to);
    }
    return out + constructTail;
}

const plugin = {
    name: 'deno-runtime-on-node',
    setup(build) {
        build.onResolve({ filter: /(^|\/)require\.ts$/ }, (args) =>
            args.resolveDir.startsWith(runtimeDir) ? { path: path.join(shimDir, 'node-require.js') } : undefined,
        );
        const std = { '@std/io': 'std-io.js', '@std/streams': 'std-streams.js', '@std/cli/parse-args': 'std-cli-parse-args.js' };
        build.onResolve({ filter: /^@std\// }, (args) => (std[args.path] ? { path: path.join(denoShimDir, std[args.path]) } : undefined));
        // apps-engine values come from the installed package at run time (one copy shared with the app's require).
        build.onResolve({ filter: /^@rocket\.chat\/apps-engine\// }, (args) => ({ path: args.path, namespace: 'apps-engine' }));
        build.onLoad({ filter: /.*/, namespace: 'apps-engine' }, (args) => ({
            contents: `module.exports = globalThis.__nodeRequire(${JSON.stringify(args.path.replace(/\.ts$/, '.js'))});`,
            loader: 'js',
        }));
        // Only a type is imported from ui-kit (MessageBuilder.ts).
        build.onResolve({ filter: /^@rocket\.chat\/ui-kit$/ }, () => ({ path: 'ui-kit', namespace: 'empty' }));
        build.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
        build.onResolve({ filter: /^[@a-z]/ }, (args) => {
            const name = Object.keys(pinned).find((n) => args.path === n || args.path.startsWith(`${n}/`));
            if (!name) {
                return undefined;
            }
            const sub = args.path.slice(name.length);
            return build.resolve(`${pinned[name]}${sub}`, { kind: args.kind, resolveDir: pinned[name] });
        });
        build.onLoad({ filter: /handlers\/app\/construct\.ts$/ }, (args) => ({
            contents: adaptConstruct(fs.readFileSync(args.path, 'utf8')),
            loader: 'ts',
        }));
    },
};

esbuild
    .build({
        entryPoints: [path.join(runtimeDir, 'main.ts')],
        bundle: true,
        platform: 'node',
        target: 'node22',
        format: 'cjs',
        outfile: outFile,
        banner: {
            js: `// Generated by harness/setup/build-node-runtime.js from @rocket.chat/apps-engine/deno-runtime: do not edit.\n${fs
                .readFileSync(path.join(shimDir, 'deno-shim.js'), 'utf8')
                .replaceAll('__APPS_ENGINE_DIR__', JSON.stringify(engineDir))}`,
        },
        define: { __APPS_ENGINE_DIR__: JSON.stringify(engineDir) },
        plugins: [plugin],
        logLevel: 'warning',
        keepNames: true,
    })
    .then(() => {
        console.log(`[build-node-runtime] ${path.relative(root, outFile)} (${fs.statSync(outFile).size} bytes)`);
    })
    .catch((e) => fail(e.message));
