#!/usr/bin/env node
/**
 * `npm run package`: builds the deployable zip with `rc-apps package`, then bundles the app and its
 * npm dependencies into the class file, as the Apps-Engine's Deno runtime expects.
 *
 * Why the extra steps: rc-apps (apps-cli 1.9) compiles every .ts file under the folder it runs in
 * (tests and sandbox included) and ships no npm dependency. So the app's own files are staged in
 * .build/app-<pid> first, and after rc-apps wrote its zip, esbuild bundles the compiled files with zod
 * and emojibase-data into one file. The result is dist/<nameSlug>_<version>.zip.
 */
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const AdmZip = require('adm-zip');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
// One staging folder per run, so two packagings at once (tests, sandbox, bench) do not collide.
const stage = path.join(root, '.build', `app-${process.pid}`);
const APP_FILES = ['app.json', 'RapidProBridgeApp.ts', 'icon.png', 'src', 'i18n'];

function stageSources() {
    fs.rmSync(stage, { recursive: true, force: true });
    fs.mkdirSync(stage, { recursive: true });
    for (const entry of APP_FILES) {
        fs.cpSync(path.join(root, entry), path.join(stage, entry), { recursive: true });
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    // rc-apps copies this version range into app.json's requiredApiVersion: the engine we test on and newer.
    const engine = `^${pkg.devDependencies['@rocket.chat/apps-engine'].replace(/^[^0-9]*/, '')}`;
    const stagedPackage = { name: pkg.name, version: pkg.version, private: true, devDependencies: { '@rocket.chat/apps-engine': engine } };
    fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(stagedPackage, null, 2));
    // rc-apps resolves typescript and the engine definitions from the app folder.
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(stage, 'node_modules'), 'dir');
}

function runRcApps() {
    const cli = path.join(root, 'node_modules', '.bin', 'rc-apps');
    execFileSync(cli, ['package'], {
        cwd: stage,
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, NODE_ENV: 'production' },
    });
    const info = JSON.parse(fs.readFileSync(path.join(stage, 'app.json'), 'utf8'));
    return { info, zipPath: path.join(stage, 'dist', `${info.nameSlug}_${info.version}.zip`) };
}

async function bundle(zip, classFile) {
    const files = {};
    for (const entry of zip.getEntries()) {
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
        stdin: { contents: files[classFile], sourcefile: classFile, resolveDir: root, loader: 'js' },
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
                        resolveDir: root,
                    }));
                },
            },
        ],
    });
    return result.outputFiles[0].text;
}

async function main() {
    stageSources();
    const { info, zipPath } = runRcApps();
    const built = new AdmZip(zipPath);
    const classFile = info.classFile.replace(/\.ts$/, '.js');
    const code = await bundle(built, classFile);

    const out = new AdmZip();
    for (const entry of built.getEntries()) {
        const name = entry.entryName;
        if (entry.isDirectory || name.endsWith('.js') || name === 'package.json') {
            continue; // compiled files are replaced by the bundle; package.json is only rc-apps' need
        }
        out.addFile(name, entry.getData());
    }
    out.addFile(classFile, Buffer.from(code, 'utf8'));
    fs.mkdirSync(path.join(root, 'dist'), { recursive: true });
    const target = path.join(root, 'dist', path.basename(zipPath));
    const partial = `${target}.${process.pid}.tmp`;
    out.writeZip(partial);
    fs.renameSync(partial, target); // atomic: a reader never sees half a zip
    fs.rmSync(stage, { recursive: true, force: true });
    const kb = (fs.statSync(target).size / 1024).toFixed(0);
    console.log(`Packaged ${path.relative(root, target)} (${kb} KiB, class file bundle ${(code.length / 1024).toFixed(0)} KiB)`);
}

main().catch((error) => {
    fs.rmSync(stage, { recursive: true, force: true });
    console.error(error?.message ? error.message : error);
    process.exit(1);
});
