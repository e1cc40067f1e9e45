#!/usr/bin/env node
/**
 * postinstall step (after patch-package): makes the Apps-Engine's Deno runtime runnable offline.
 *
 * 1. Copies the shims of harness/setup/deno-shims/ into
 *    node_modules/@rocket.chat/apps-engine/deno-runtime/shims/ (the patched deno.jsonc maps
 *    `@std/io`, `@std/streams`, `@std/cli/parse-args` and the AppsEngineException source import there;
 *    jsr.io is unreachable and the npm package lacks the .ts sources).
 * 2. Pre-caches the runtime's npm dependencies into <apps-engine>/.deno-cache, the DENO_DIR the engine
 *    uses with `deno run --cached-only`. Deno 2 refuses TypeScript under node_modules, so main.ts is
 *    reached through a symlink in a temp folder (as the engine itself does).
 * 3. Smoke-checks that the whole module graph loads with --cached-only (main.ts exits 1001 when started
 *    without --subprocess, after every import has been resolved).
 *
 * Needs only the npm registry. Idempotent; ~1 s when already cached.
 */

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..', '..');

function fail(msg) {
    console.error(`[precache-deno] ${msg}`);
    process.exit(1);
}

let engineDir;
try {
    engineDir = path.dirname(require.resolve('@rocket.chat/apps-engine/package.json', { paths: [root] }));
} catch (_e) {
    // Production-only installs (no devDependencies) have nothing to do here.
    console.log('[precache-deno] apps-engine not installed, skipping');
    process.exit(0);
}
// The @deno/* package npm picked for this os/cpu (optionalDependencies; harness/setup/platform.js).
const found = require('./platform.js').deno();
if (!found.binary) {
    // Not fatal for npm install: the integration tests fail later with the same reason, never pass.
    console.warn(`[precache-deno] skipped: ${found.reason}. The engine rig (integration tests, npm start) cannot run here.`);
    process.exit(0);
}

const runtimeDir = path.join(engineDir, 'deno-runtime');
const config = path.join(runtimeDir, 'deno.jsonc');
if (!/\.\/shims\/std-io\.js/.test(fs.readFileSync(config, 'utf8'))) {
    fail(`${config} is not patched; did patch-package run (patches/@rocket.chat+apps-engine+*.patch)?`);
}

// 1. shims
const shimSrc = path.join(__dirname, 'deno-shims');
const shimDst = path.join(runtimeDir, 'shims');
fs.mkdirSync(shimDst, { recursive: true });
for (const f of fs.readdirSync(shimSrc)) {
    fs.copyFileSync(path.join(shimSrc, f), path.join(shimDst, f));
}

// 2. cache
const deno = found.binary;
try {
    fs.chmodSync(deno, 0o755);
} catch (_e) {
    /* read-only install: keep going */
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-deno-precache-'));
const linked = path.join(tmp, 'deno-runtime');
fs.symlinkSync(runtimeDir, linked, 'dir');
const env = {
    ...process.env,
    DENO_DIR: path.join(engineDir, '.deno-cache'),
    DENO_TLS_CA_STORE: 'system,mozilla',
    DENO_NO_UPDATE_CHECK: '1',
    NO_COLOR: '1',
};
try {
    const install = spawnSync(deno, ['install', `--config=${config}`, '--entrypoint', path.join(linked, 'main.ts')], {
        env,
        encoding: 'utf8',
    });
    if (install.status !== 0) {
        fail(`deno install failed (${install.status}):\n${install.stdout}\n${install.stderr}`);
    }

    // 3. smoke check, offline, with the read permissions the engine grants
    const run = spawnSync(
        deno,
        [
            'run',
            '--cached-only',
            `--config=${config}`,
            `--allow-read=${engineDir},${path.dirname(path.dirname(engineDir))},${tmp}`,
            path.join(linked, 'main.ts'),
        ],
        { env, encoding: 'utf8', timeout: 60000 },
    );
    // 1001 & 0xff = 233: the wrapper's "not started with --subprocess" exit, reached only after all imports loaded.
    if (run.status !== 233) {
        fail(`the Deno runtime does not load offline (exit ${run.status}):\n${run.stderr}`);
    }
} finally {
    fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`[precache-deno] Deno runtime (${found.pkg}) cached in ${path.relative(root, env.DENO_DIR)}`);
