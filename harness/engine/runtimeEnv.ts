import * as path from 'node:path';

import type { EngineHostOptions } from './hostTypes';
import { installPermissionHook, setPrintDenials } from './permissionDenials';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The folder of the @deno/* package npm installed for this os/cpu (harness/setup/platform.js). */
function denoDir(): string {
    const found = require(path.join(REPO_ROOT, 'harness', 'setup', 'platform.js')).deno() as { dir?: string; reason?: string };
    if (!found.dir) {
        throw new Error(`The engine rig needs Deno: ${found.reason}`);
    }
    return found.dir;
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
    quietDenoHmacWarning();
    installPermissionHook();
    setPrintDenials(!!options.logPermissionDenials);
}

/**
 * Deno 2.3.7 (the rig's Deno: the newest 2.3.x npm has for every platform) warns "crypto.Hmac constructor
 * is deprecated" on every createHmac() call, a node-compat slip Rocket.Chat's Deno 2.3.1 does not have;
 * the engine relays it as "Subprocess stderr". Only that line is dropped: any other stderr still shows.
 */
let quieted = false;
function quietDenoHmacWarning(): void {
    if (quieted) {
        return;
    }
    quieted = true;
    const original = console.error;
    const warning = /^\(node:\d+\) \[DEP0181\] DeprecationWarning: crypto\.Hmac constructor is deprecated\.$/;
    console.error = (...args: unknown[]): void => {
        const [label, chunk] = args;
        const lines = typeof chunk === 'string' ? chunk.split('\n').filter((line) => line.trim() !== '') : [];
        if (label === 'Subprocess stderr' && args.length === 2 && lines.length > 0 && lines.every((line) => warning.test(line.trim()))) {
            return;
        }
        original(...args);
    };
}
