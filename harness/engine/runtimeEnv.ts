import * as path from 'node:path';

import type { EngineHostOptions } from './hostTypes';
import { installPermissionHook, setPrintDenials } from './permissionDenials';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

function denoDir(): string {
    return path.dirname(require.resolve('@deno/linux-x64-glibc/package.json', { paths: [REPO_ROOT] }));
}

/** The process environment the engine needs before a host starts: NODE_ENV, the runtime timeout, deno on PATH. */
export function prepareProcess(options: EngineHostOptions): void {
    // The engine skips every permission check when NODE_ENV === 'test' (jest sets it).
    if (!process.env.NODE_ENV || process.env.NODE_ENV === 'test') {
        process.env.NODE_ENV = 'development';
    }
    process.env.APPS_ENGINE_RUNTIME_TIMEOUT = String(options.runtimeTimeoutMs ?? 10000);
    const dd = denoDir();
    if (!(process.env.PATH ?? '').split(path.delimiter).includes(dd)) {
        process.env.PATH = `${dd}${path.delimiter}${process.env.PATH ?? ''}`;
    }
    installPermissionHook();
    setPrintDenials(!!options.logPermissionDenials);
}
