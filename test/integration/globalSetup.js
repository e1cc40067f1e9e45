/**
 * jest globalSetup of the `integration` project: packages the apps the integration tests load.
 *
 * 1. test/fixtures/trivial-app and test/engine/fixtures/probe-app with the staging packager
 *    (test/engine/setup/package-app.js), cached.
 * 2. The main app with `npm run package` at the repository root -> dist/<nameSlug>_<version>.zip,
 *    only when its sources changed since the last successful packaging (hash stamp in dist/).
 *    No app.json at the root yet: skipped. Packaging failure: the output is written to
 *    dist/.package-error.txt and mainAppZip() (test/engine/packageApp.ts) throws it in the tests that
 *    need the main app, so the harness's own self-test still runs.
 *
 * RAPIDPRO_SKIP_PACKAGE=1 skips step 2 (use the zip that is there).
 */

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..', '..');
const packager = require('../engine/setup/package-app.js');

module.exports = async function globalSetup() {
    packager.packageApp(path.join(root, 'test', 'fixtures', 'trivial-app'), { quiet: true });
    packager.packageApp(path.join(root, 'test', 'engine', 'fixtures', 'probe-app'), { quiet: true });

    if (!fs.existsSync(path.join(root, 'app.json'))) {
        process.stderr.write('\n[globalSetup] no app.json at the repository root yet: main app not packaged\n');
        return;
    }
    if (process.env.RAPIDPRO_SKIP_PACKAGE === '1') {
        return;
    }
    const zip = packager.zipPathFor(root);
    const errorFile = path.join(path.dirname(zip), '.package-error.txt');
    if (packager.isFresh(root)) {
        return;
    }
    const started = Date.now();
    const res = spawnSync('npm', ['run', 'package', '--silent'], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
        timeout: 300000,
    });
    fs.mkdirSync(path.dirname(zip), { recursive: true });
    if (res.status !== 0 || !fs.existsSync(zip)) {
        const text =
            `npm run package failed (exit ${res.status}) — the main app zip is missing or stale.\n` +
            `Note: a bare \`rc-apps package\` at the repository root also type-checks test/**, sandbox/**, bench/** ` +
            `(every .ts outside node_modules and dot-folders); \`node test/engine/setup/package-app.js\` packages ` +
            `only the app's own files.\n\n${res.stdout || ''}\n${res.stderr || ''}`;
        fs.writeFileSync(errorFile, text);
        process.stderr.write(`\n[globalSetup] ${text.split('\n')[0]} (details in ${path.relative(root, errorFile)})\n`);
        return;
    }
    fs.rmSync(errorFile, { force: true });
    packager.writeStamp(root);
    process.stderr.write(`\n[globalSetup] packaged the main app -> ${path.relative(root, zip)} (${Date.now() - started} ms)\n`);
};
