/**
 * jest globalSetup of the `integration` project: packages the apps the integration tests load, with the
 * repository's one packager (scripts/package-app.js, cached by a hash of each app's sources).
 *
 * 1. harness/fixtures/trivial-app and harness/fixtures/probe-app.
 * 2. The main app (what `npm run package` builds) -> dist/<nameSlug>_<version>.zip, only when its
 *    sources changed since the last successful packaging (hash stamp in dist/).
 *    No app.json at the root yet: skipped. Packaging failure: the output is written to
 *    dist/.package-error.txt and mainAppZip() (harness/engine/packageApp.ts) throws it in the tests that
 *    need the main app, so the harness's own self-test still runs.
 *
 * RAPIDPRO_SKIP_PACKAGE=1 skips step 2 (use the zip that is there).
 */

const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const packager = require('../../scripts/package-app.js');

module.exports = async function globalSetup() {
    packager.packageApp(path.join(root, 'harness', 'fixtures', 'trivial-app'), { quiet: true });
    packager.packageApp(path.join(root, 'harness', 'fixtures', 'probe-app'), { quiet: true });

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
    try {
        packager.packageApp(root, { quiet: true });
    } catch (error) {
        fs.mkdirSync(path.dirname(zip), { recursive: true });
        const text = `packaging the app failed — the main app zip is missing or stale.\n\n${error.message}`;
        fs.writeFileSync(errorFile, text);
        process.stderr.write(`\n[globalSetup] ${text.split('\n')[0]} (details in ${path.relative(root, errorFile)})\n`);
        return;
    }
    fs.rmSync(errorFile, { force: true });
    process.stderr.write(`\n[globalSetup] packaged the main app -> ${path.relative(root, zip)} (${Date.now() - started} ms)\n`);
};
