import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Builds dist/<nameSlug>_<version>.zip exactly as `npm run package` does (it runs that script),
 * unless the zip already matches the app's sources. Freshness uses the same hash stamp as the
 * integration tests' globalSetup (dist/.<zip>.sha256), so a zip built by either is reused.
 */

export const REPO_ROOT = path.resolve(__dirname, '..');

// The harness's packager is plain JS; only its hash helpers are used here.
const stamps = require('../test/engine/setup/package-app.js') as {
    isFresh(dir: string): boolean;
    zipPathFor(dir: string): string;
    writeStamp(dir: string): void;
};

export interface PackagedApp {
    zip: string;
    /** false when an up-to-date zip was reused */
    built: boolean;
    ms: number;
}

export function ensurePackaged(options: { force?: boolean; log?: (line: string) => void } = {}): PackagedApp {
    const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
    const zip = stamps.zipPathFor(REPO_ROOT);
    const started = Date.now();
    if (!options.force && stamps.isFresh(REPO_ROOT)) {
        return { zip, built: false, ms: Date.now() - started };
    }
    log('Packaging the app (npm run package: rc-apps package + bundle) ...');
    const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'package-app.js')], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'inherit', 'inherit'],
        env: process.env,
    });
    if (result.status !== 0 || !fs.existsSync(zip)) {
        throw new Error(`npm run package failed (exit ${result.status ?? result.signal}); see the output above`);
    }
    stamps.writeStamp(REPO_ROOT);
    return { zip, built: true, ms: Date.now() - started };
}
