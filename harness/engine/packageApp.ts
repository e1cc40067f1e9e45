import * as fs from 'node:fs';
import * as path from 'node:path';

// The repository's one packager (scripts/package-app.js) is plain JS so that npm scripts and jest's
// globalSetup can use it without ts-node.
const packager = require('../../scripts/package-app.js') as {
    packageApp(dir: string, options?: { force?: boolean; include?: string[]; quiet?: boolean }): string;
    isFresh(dir: string, options?: { include?: string[] }): boolean;
    zipPathFor(dir: string): string;
};

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const TRIVIAL_APP_DIR = path.join(REPO_ROOT, 'harness', 'fixtures', 'trivial-app');
export const PROBE_APP_DIR = path.join(REPO_ROOT, 'harness', 'fixtures', 'probe-app');

/**
 * Packages an app folder with the real `rc-apps package` (once; cached by a hash of the sources) and
 * returns the zip path (`<dir>/dist/<nameSlug>_<version>.zip`). See scripts/package-app.js.
 */
export function packageApp(dir: string, options: { force?: boolean; include?: string[]; quiet?: boolean } = {}): string {
    return packager.packageApp(dir, options);
}

/** Where the packager puts the zip of an app folder (whether or not it exists yet). */
export function zipPathFor(dir: string): string {
    return packager.zipPathFor(dir);
}

/** The harness's probe app (every bridge the RapidPro Bridge uses, called from app code). */
export function probeAppZip(): string {
    return packageApp(PROBE_APP_DIR);
}

/** The packaged trivial fixture app. */
export function trivialAppZip(): string {
    return packageApp(TRIVIAL_APP_DIR);
}

/**
 * The main app's zip, as produced by `npm run package` (jest's integration globalSetup builds it).
 * Throws the packaging output when the last packaging failed, or when there is no zip.
 */
export function mainAppZip(): string {
    const zip = zipPathFor(REPO_ROOT);
    const errorFile = path.join(path.dirname(zip), '.package-error.txt');
    if (fs.existsSync(errorFile)) {
        throw new Error(fs.readFileSync(errorFile, 'utf8'));
    }
    if (!fs.existsSync(zip)) {
        throw new Error(`${zip} does not exist: run \`npm run package\` (jest's integration globalSetup does it)`);
    }
    return zip;
}
