#!/usr/bin/env node
/**
 * The one packager of the repository: `npm run package`, the integration tests (jest globalSetup and
 * harness/engine/packageApp.ts), the sandbox, the benchmark and `npm run deploy` all use it.
 *
 *   node scripts/package-app.js                    builds dist/<nameSlug>_<version>.zip of the app (always)
 *   node scripts/package-app.js <appDir> [--force] packages another app folder (a fixture), cached
 *   require('./scripts/package-app.js').packageApp(appDir, { force, quiet }) -> zip path (cached)
 *
 * Why a staging folder: `rc-apps package` (apps-cli 1.9) type-checks and compiles EVERY .ts file under
 * the folder it runs in (only node_modules, .git and dot-folders are skipped), with its own fixed compiler
 * options. At the repository root that would include test/**, harness/**, sandbox/**, bench/**. So only
 * the app's own files are copied into `<appDir>/.build/stage-<pid>` (a dot folder), with a node_modules
 * symlink, and packaged there. Staged: app.json, the classFile, the iconFile, i18n/, the assetsFolder,
 * src/, any other top-level *.ts, and package.json + tsconfig.json.
 *
 * An app with npm `dependencies` (the RapidPro Bridge: zod, emojibase-data) is bundled afterwards: rc-apps
 * ships no npm dependency, so esbuild bundles the compiled files and those packages into the class file,
 * as the Apps-Engine's Deno runtime expects. Its staged package.json only names the engine range (rc-apps
 * copies it into app.json's requiredApiVersion) and its tsconfig.json is not staged.
 *
 * rc-apps's compiler (@rocket.chat/apps-compiler 0.1.7) is patched (patches/, applied on install) to add
 * `skipLibCheck`: it no longer type-checks the engine's and Node's declaration files on every build, which
 * took a third of the time. The zip it writes is byte for byte the same (only .packagedby's time differs).
 *
 * Cache: sha256 of the app's files + rc-apps/apps-engine/typescript versions, stored next to the zip
 * (`dist/.<zip>.sha256`). A cross-process lock (`dist/.package.lock`) and an atomic rename make it safe
 * to run from several jest workers, the sandbox and the benchmark at once.
 */

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const repoRoot = path.resolve(__dirname, '..');

function walk(target, out) {
    if (!fs.existsSync(target)) return out;
    if (fs.statSync(target).isFile()) {
        out.push(target);
        return out;
    }
    for (const entry of fs.readdirSync(target, { withFileTypes: true })) {
        if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
        walk(path.join(target, entry.name), out);
    }
    return out;
}

function readJson(file) {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** The app's files (relative paths, sorted) and its app.json. */
function appFiles(appDir, include = []) {
    const info = readJson(path.join(appDir, 'app.json'));
    const candidates = [
        'app.json',
        'package.json',
        'tsconfig.json',
        info.classFile,
        info.iconFile,
        'i18n',
        'src',
        info.assetsFolder,
        ...include,
    ].filter(Boolean);
    for (const entry of fs.readdirSync(appDir, { withFileTypes: true })) {
        const isSource = entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !/\.(test|spec)\.ts$/.test(entry.name);
        if (entry.isFile() && isSource) {
            candidates.push(entry.name);
        }
    }
    const files = new Set();
    for (const c of candidates) {
        for (const f of walk(path.join(appDir, c), [])) {
            files.add(path.relative(appDir, f));
        }
    }
    return { info, files: [...files].sort() };
}

/** True when the app has npm dependencies that must be bundled into the class file. */
function needsBundle(appDir) {
    const pkgFile = path.join(appDir, 'package.json');
    return fs.existsSync(pkgFile) && Object.keys(readJson(pkgFile).dependencies || {}).length > 0;
}

function versionOf(pkg) {
    try {
        return require(require.resolve(`${pkg}/package.json`, { paths: [repoRoot] })).version;
    } catch (_e) {
        return 'missing';
    }
}

function hashFiles(appDir, files) {
    const h = crypto.createHash('sha256');
    h.update(['@rocket.chat/apps-cli', '@rocket.chat/apps-engine', 'typescript'].map(versionOf).join('|'));
    for (const f of files) {
        h.update(`\0${f}\0`);
        h.update(fs.readFileSync(path.join(appDir, f)));
    }
    return h.digest('hex');
}

function sleep(ms) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Where the zip of this app folder goes: `<appDir>/dist/<nameSlug>_<version>.zip`. */
function zipPathFor(appDir) {
    const info = readJson(path.join(appDir, 'app.json'));
    return path.join(appDir, 'dist', `${info.nameSlug}_${info.version}.zip`);
}

function stampPathFor(zip) {
    return path.join(path.dirname(zip), `.${path.basename(zip)}.sha256`);
}

/** True when the zip was built from the current sources. */
function isFresh(appDir, options = {}) {
    const dir = path.resolve(appDir);
    const { files } = appFiles(dir, options.include);
    const zip = zipPathFor(dir);
    const stamp = stampPathFor(zip);
    return fs.existsSync(zip) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === hashFiles(dir, files);
}

/** Cross-process lock: a folder, stale after 5 minutes. */
function withLock(distDir, fn) {
    const lock = path.join(distDir, '.package.lock');
    const deadline = Date.now() + 180000;
    for (;;) {
        try {
            fs.mkdirSync(lock);
            break;
        } catch (e) {
            if (e.code !== 'EEXIST') throw e;
            try {
                if (Date.now() - fs.statSync(lock).mtimeMs > 300000) fs.rmSync(lock, { recursive: true, force: true });
            } catch (_) {
                /* gone meanwhile */
            }
            if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
            sleep(200);
        }
    }
    try {
        return fn();
    } finally {
        fs.rmSync(lock, { recursive: true, force: true });
    }
}

function stageSources(dir, files, stage, bundled) {
    fs.rmSync(stage, { recursive: true, force: true });
    fs.mkdirSync(stage, { recursive: true });
    for (const f of files) {
        if (bundled && (f === 'package.json' || f === 'tsconfig.json')) continue;
        fs.mkdirSync(path.dirname(path.join(stage, f)), { recursive: true });
        fs.copyFileSync(path.join(dir, f), path.join(stage, f));
    }
    if (bundled) {
        const pkg = readJson(path.join(dir, 'package.json'));
        // rc-apps copies this version range into app.json's requiredApiVersion: the engine we test on and newer.
        const engine = `^${pkg.devDependencies['@rocket.chat/apps-engine'].replace(/^[^0-9]*/, '')}`;
        const staged = { name: pkg.name, version: pkg.version, private: true, devDependencies: { '@rocket.chat/apps-engine': engine } };
        fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(staged, null, 2));
    }
    // rc-apps resolves typescript and the engine definitions from the app folder.
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(stage, 'node_modules'), 'dir');
}

function runRcApps(dir, stage, bundled, quiet) {
    const rcApps = path.join(repoRoot, 'node_modules', '.bin', 'rc-apps');
    const env = bundled ? { ...process.env, NODE_ENV: 'production' } : { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' };
    const res = spawnSync(rcApps, ['package'], {
        cwd: stage,
        encoding: 'utf8',
        stdio: quiet ? 'pipe' : ['ignore', 'inherit', 'inherit'],
        env,
    });
    if (res.status !== 0) {
        throw new Error(`rc-apps package failed for ${dir} (exit ${res.status}):\n${res.stdout || ''}\n${res.stderr || ''}`);
    }
}

/**
 * Packages an app folder (cached unless `force`) and returns the zip path. Synchronous: the bundling
 * step (esbuild plugins are async-only) runs in a child process (`--bundle <stage>`).
 */
function packageApp(appDir, options = {}) {
    const dir = path.resolve(appDir);
    const { info, files } = appFiles(dir, options.include);
    const hash = hashFiles(dir, files);
    const zip = zipPathFor(dir);
    const distDir = path.dirname(zip);
    const stamp = stampPathFor(zip);
    const fresh = () => fs.existsSync(zip) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === hash;
    if (!options.force && fresh()) {
        return zip;
    }
    fs.mkdirSync(distDir, { recursive: true });
    return withLock(distDir, () => {
        if (!options.force && fresh()) {
            return zip;
        }
        const bundled = needsBundle(dir);
        const stage = path.join(dir, '.build', `stage-${process.pid}`);
        const started = Date.now();
        try {
            stageSources(dir, files, stage, bundled);
            runRcApps(dir, stage, bundled, options.quiet);
            const built = path.join(stage, 'dist', path.basename(zip));
            if (!fs.existsSync(built)) {
                throw new Error(`rc-apps package wrote no ${path.basename(zip)} for ${dir}`);
            }
            if (bundled) {
                const res = spawnSync(process.execPath, [__filename, '--bundle', stage], { encoding: 'utf8' });
                if (res.status !== 0) {
                    throw new Error(`bundling failed for ${dir} (exit ${res.status}):\n${res.stdout}\n${res.stderr}`);
                }
            }
            const tmp = `${zip}.${process.pid}.tmp`;
            fs.copyFileSync(built, tmp);
            fs.renameSync(tmp, zip); // atomic: a reader never sees half a zip
            fs.writeFileSync(stamp, `${hash}\n`);
        } finally {
            fs.rmSync(stage, { recursive: true, force: true });
            try {
                fs.rmdirSync(path.dirname(stage));
            } catch (_) {
                /* another stage still there */
            }
        }
        if (!options.quiet) {
            const kb = (fs.statSync(zip).size / 1024).toFixed(0);
            const where = path.relative(process.cwd(), zip);
            process.stderr.write(`[package-app] ${info.name} ${info.version} -> ${where} (${kb} KiB, ${Date.now() - started} ms)\n`);
        }
        return zip;
    });
}

/**
 * Replaces the compiled .js files of the rc-apps zip in `<stage>/dist` by one esbuild bundle of the class
 * file with its npm dependencies (in place).
 */
async function bundleStage(stage) {
    const AdmZip = require('adm-zip');
    const esbuild = require('esbuild');
    const info = readJson(path.join(stage, 'app.json'));
    const zipPath = path.join(stage, 'dist', `${info.nameSlug}_${info.version}.zip`);
    const built = new AdmZip(zipPath);
    const classFile = info.classFile.replace(/\.ts$/, '.js');
    const files = {};
    for (const entry of built.getEntries()) {
        if (!entry.isDirectory && entry.entryName.endsWith('.js')) {
            files[path.posix.normalize(entry.entryName)] = entry.getData().toString('utf8');
        }
    }
    const result = await esbuild.build({
        write: false,
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: ['es2017'],
        minifyWhitespace: true,
        minifySyntax: true,
        legalComments: 'none',
        external: ['@rocket.chat/apps-engine', '@rocket.chat/apps-engine/*', 'crypto', 'buffer', 'path', 'url'],
        stdin: { contents: files[classFile], sourcefile: classFile, resolveDir: repoRoot, loader: 'js' },
        plugins: [
            {
                name: 'compiled-app-files',
                setup(build) {
                    // Relative imports come from the compiled files in the zip; packages from node_modules.
                    build.onResolve({ filter: /^\.\.?\// }, (args) => {
                        const base = args.namespace === 'app' ? path.posix.dirname(args.importer) : path.posix.dirname(classFile);
                        const candidate = path.posix.normalize(path.posix.join(base, args.path));
                        for (const name of [candidate, `${candidate}.js`, `${candidate}/index.js`]) {
                            if (files[name] !== undefined) {
                                return { path: name, namespace: 'app' };
                            }
                        }
                        if (args.namespace === 'app' || args.importer === classFile || args.importer === '<stdin>') {
                            return { errors: [{ text: `${args.path} is not in the compiled app` }] };
                        }
                        return undefined;
                    });
                    build.onLoad({ filter: /.*/, namespace: 'app' }, (args) => ({
                        contents: files[args.path],
                        loader: 'js',
                        resolveDir: repoRoot,
                    }));
                },
            },
        ],
    });
    const code = result.outputFiles[0].text;
    const out = new AdmZip();
    for (const entry of built.getEntries()) {
        const name = entry.entryName;
        if (entry.isDirectory || name.endsWith('.js') || name === 'package.json') {
            continue; // compiled files are replaced by the bundle; package.json is only rc-apps' need
        }
        out.addFile(name, entry.getData());
    }
    out.addFile(classFile, Buffer.from(code, 'utf8'));
    out.writeZip(zipPath);
    console.log(`class file bundle ${(code.length / 1024).toFixed(0)} KiB`);
}

module.exports = { packageApp, isFresh, zipPathFor, appFiles, REPO_ROOT: repoRoot };

if (require.main === module) {
    const args = process.argv.slice(2);
    if (args[0] === '--bundle') {
        bundleStage(args[1]).catch((error) => {
            console.error(error?.stack ? error.stack : error);
            process.exit(1);
        });
    } else if (args.includes('--if-stale')) {
        // npm test: the main app and the harness's fixture apps, each only when its sources changed.
        try {
            for (const fixture of ['trivial-app', 'probe-app']) {
                packageApp(path.join(repoRoot, 'harness', 'fixtures', fixture), { quiet: true });
            }
            if (!isFresh(repoRoot)) {
                packageApp(repoRoot, { quiet: true });
            }
        } catch (e) {
            console.error(e.message);
            process.exit(1);
        }
    } else {
        const dir = args.find((a) => !a.startsWith('--'));
        try {
            // `npm run package` (no folder) always builds the app; a fixture folder is packaged when stale.
            const zip = packageApp(dir || repoRoot, { force: !dir || args.includes('--force') });
            console.log(`Packaged ${path.relative(process.cwd(), zip)}`);
        } catch (e) {
            console.error(e.message);
            process.exit(1);
        }
    }
}
