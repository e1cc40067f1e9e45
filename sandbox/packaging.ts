import * as path from 'node:path';

/**
 * Builds dist/<nameSlug>_<version>.zip exactly as `npm run package` does (same script),
 * unless the zip already matches the app's sources. Freshness uses the same hash stamp as the
 * integration tests' globalSetup (dist/.<zip>.sha256), so a zip built by either is reused.
 */

export const REPO_ROOT = path.resolve(__dirname, '..');

// The repository's one packager (plain JS; npm run package, the tests and the benchmark use it too).
const packager = require('../scripts/package-app.js') as {
    packageApp(dir: string, options?: { force?: boolean; quiet?: boolean }): string;
    isFresh(dir: string): boolean;
    zipPathFor(dir: string): string;
};

export interface PackagedApp {
    zip: string;
    /** false when an up-to-date zip was reused */
    built: boolean;
    ms: number;
}

export function ensurePackaged(options: { force?: boolean; log?: (line: string) => void } = {}): PackagedApp {
    const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
    const zip = packager.zipPathFor(REPO_ROOT);
    const started = Date.now();
    if (!options.force && packager.isFresh(REPO_ROOT)) {
        return { zip, built: false, ms: Date.now() - started };
    }
    log('Packaging the app (scripts/package-app.js, as npm run package: rc-apps package + bundle) ...');
    packager.packageApp(REPO_ROOT, { force: true });
    return { zip, built: true, ms: Date.now() - started };
}
