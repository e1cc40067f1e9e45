#!/usr/bin/env node
/**
 * Packages a Rocket.Chat app folder with the real `rc-apps package` (@rocket.chat/apps-cli), cached.
 *
 *   node test/engine/setup/package-app.js [appDir] [--force]      (prints the zip path)
 *   require('./package-app').packageApp(appDir, { force }) -> zipPath
 *
 * Why a staging folder: `rc-apps package` type-checks and compiles EVERY .ts file under the app folder
 * (only node_modules, .git and dot-folders are skipped), with its own fixed compiler options
 * (ES2017 lib, `types: ['node']`). At the repository root that includes test/**, sandbox/**, bench/**,
 * whose jest globals and newer APIs fail the app build. So the app's own files are copied into
 * `<appDir>/.build/stage-<pid>` (a dot folder, ignored by the compiler walk of <appDir>), with a
 * node_modules symlink, and packaged there. The zip is the same rc-apps output and lands where
 * rc-apps puts it: `<appDir>/dist/<nameSlug>_<version>.zip`.
 *
 * Staged: app.json, package.json, tsconfig.json, the classFile, the iconFile, i18n/, the assetsFolder,
 * src/, and any other top-level *.ts; extra paths via `include`. Cache key: sha256 of the staged files
 * + rc-apps/apps-engine/typescript versions, stored next to the zip (`dist/.<zip>.sha256`).
 */

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const repoRoot = path.resolve(__dirname, '..', '..', '..');

function walk(dir, out) {
    if (!fs.existsSync(dir)) return out;
    const stat = fs.statSync(dir);
    if (stat.isFile()) {
        out.push(dir);
        return out;
    }
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
        walk(path.join(dir, entry.name), out);
    }
    return out;
}

function appFiles(appDir, include = []) {
    const info = JSON.parse(fs.readFileSync(path.join(appDir, 'app.json'), 'utf8'));
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
        if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !/\.(test|spec)\.ts$/.test(entry.name)) {
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

/** Where rc-apps writes the zip for this app folder. */
function zipPathFor(appDir) {
    const info = JSON.parse(fs.readFileSync(path.join(appDir, 'app.json'), 'utf8'));
    return path.join(appDir, 'dist', `${info.nameSlug}_${info.version}.zip`);
}

/** True when the cached zip matches the current sources. */
function isFresh(appDir, options = {}) {
    const dir = path.resolve(appDir);
    const { files } = appFiles(dir, options.include);
    const zip = zipPathFor(dir);
    const stamp = path.join(path.dirname(zip), `.${path.basename(zip)}.sha256`);
    return fs.existsSync(zip) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === hashFiles(dir, files);
}

function packageApp(appDir, options = {}) {
    const dir = path.resolve(appDir);
    const { info, files } = appFiles(dir, options.include);
    const hash = hashFiles(dir, files);
    const zip = zipPathFor(dir);
    const distDir = path.dirname(zip);
    const stamp = path.join(distDir, `.${path.basename(zip)}.sha256`);
    const fresh = () => fs.existsSync(zip) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === hash;
    if (!options.force && fresh()) {
        return zip;
    }
    fs.mkdirSync(distDir, { recursive: true });
    // Cross-process lock (jest workers may ask for the same app at once).
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
        if (!options.force && fresh()) {
            return zip;
        }
        const stage = path.join(dir, '.build', `stage-${process.pid}`);
        fs.rmSync(stage, { recursive: true, force: true });
        fs.mkdirSync(stage, { recursive: true });
        for (const f of files) {
            fs.mkdirSync(path.dirname(path.join(stage, f)), { recursive: true });
            fs.copyFileSync(path.join(dir, f), path.join(stage, f));
        }
        fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(stage, 'node_modules'), 'dir');
        const rcApps = path.join(repoRoot, 'node_modules', '.bin', 'rc-apps');
        const started = Date.now();
        const res = spawnSync(rcApps, ['package'], {
            cwd: stage,
            encoding: 'utf8',
            env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
        });
        const built = path.join(stage, 'dist', path.basename(zip));
        if (res.status !== 0 || !fs.existsSync(built)) {
            throw new Error(`rc-apps package failed for ${dir} (exit ${res.status}):\n${res.stdout}\n${res.stderr}`);
        }
        const tmp = `${zip}.${process.pid}.tmp`;
        fs.copyFileSync(built, tmp);
        fs.renameSync(tmp, zip);
        fs.writeFileSync(stamp, `${hash}\n`);
        fs.rmSync(stage, { recursive: true, force: true });
        try {
            fs.rmdirSync(path.dirname(stage));
        } catch (_) {
            /* another stage still there */
        }
        if (!options.quiet) {
            process.stderr.write(
                `[package-app] ${info.name} ${info.version} -> ${path.relative(process.cwd(), zip)} (${Date.now() - started} ms)\n`,
            );
        }
        return zip;
    } finally {
        fs.rmSync(lock, { recursive: true, force: true });
    }
}

/** Records that the current sources produced the zip (for zips built by another command, e.g. `npm run package`). */
function writeStamp(appDir, options = {}) {
    const dir = path.resolve(appDir);
    const { files } = appFiles(dir, options.include);
    const zip = zipPathFor(dir);
    fs.writeFileSync(path.join(path.dirname(zip), `.${path.basename(zip)}.sha256`), `${hashFiles(dir, files)}\n`);
}

module.exports = { packageApp, isFresh, zipPathFor, appFiles, writeStamp };

if (require.main === module) {
    const args = process.argv.slice(2);
    const force = args.includes('--force');
    const dir = args.find((a) => !a.startsWith('--')) || process.cwd();
    try {
        console.log(packageApp(dir, { force }));
    } catch (e) {
        console.error(e.message);
        process.exit(1);
    }
}
