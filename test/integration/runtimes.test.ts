import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { AppPackageParser } from '@rocket.chat/apps-engine/server/compiler/AppPackageParser';

import { EngineHost, mainAppZip, probeAppZip, REPO_ROOT } from '../../harness/engine';
import { NodeRuntimeSubprocessController, type RuntimeBackend } from '../../harness/engine/nodeRuntime';

/**
 * Rocket.Chat 8.0-8.7 run apps in Deno, 8.8 in Node by default (Deno on request), 8.9+ in Node only.
 * 1. What app code sees differently in the two runtimes (the harness probe app, in both).
 * 2. The packaged RapidPro Bridge (the zip admins deploy) relies on none of it: every require() it makes
 *    is accepted by both runtimes' allow-lists, and it touches no runtime global.
 */

const ENGINE_DIR = path.dirname(require.resolve('@rocket.chat/apps-engine/package.json', { paths: [REPO_ROOT] }));

/** Deno runtime of apps-engine 1.62 (handlers/app/construct.ts): 'node:' stripped, then EXACT names. */
function denoAllowList(): { native: string[]; external: string[] } {
    const source = fs.readFileSync(path.join(ENGINE_DIR, 'deno-runtime', 'handlers', 'app', 'construct.ts'), 'utf8');
    const list = (name: string) => {
        const m = new RegExp(`const ${name} = \\[([^\\]]*)\\]`).exec(source);
        if (!m) {
            throw new Error(`${name} not found in construct.ts`);
        }
        return [...m[1].matchAll(/'([^']+)'/g)].map((x) => x[1]);
    };
    return { native: list('ALLOWED_NATIVE_MODULES'), external: list('ALLOWED_EXTERNAL_MODULES') };
}

/** Node runtime of Rocket.Chat 8.8+ (node-runtime/src/lib/require.ts): 'node:' stripped, then PREFIX match. */
const NODE_ALLOWED: string[] = require('../../harness/setup/node-runtime/allowed-modules.json').node;

function denoAccepts(module: string): boolean {
    const { native, external } = denoAllowList();
    const normalized = module.replace('node:', '');
    return native.includes(normalized) || external.includes(module) || module.startsWith('@rocket.chat/apps-engine');
}

function nodeAccepts(module: string): boolean {
    const normalized = module.replace('node:', '');
    return NODE_ALLOWED.some((mod) => normalized.startsWith(mod));
}

const REQUIRE_CALL = /(?<![\w$.])require\s*\(/g;
const LITERAL_REQUIRE = /(?<![\w$.])require\s*\(\s*(["'`])([^"'`]+)\1\s*\)/g;

/** Problems of a class file that would break it in one of the runtimes (empty = runs in both). */
function runtimeProblems(code: string): string[] {
    const problems: string[] = [];
    const literal = [...code.matchAll(LITERAL_REQUIRE)].map((m) => m[2]);
    const calls = code.match(REQUIRE_CALL)?.length ?? 0;
    if (calls !== literal.length) {
        problems.push(`${calls - literal.length} require() call(s) with a computed name`);
    }
    for (const module of new Set(literal)) {
        if (!denoAccepts(module) || !nodeAccepts(module)) {
            problems.push(
                `require('${module}'): Deno ${denoAccepts(module) ? 'accepts' : 'refuses'}, ` +
                    `Node ${nodeAccepts(module) ? 'accepts' : 'refuses'}`,
            );
        }
    }
    for (const [name, pattern] of [
        ['globalThis', /\bglobalThis\b/],
        ['Deno', /\bDeno\b/],
        ['process', /(?<![\w$.])process\s*\./],
        ['global', /(?<![\w$.])global\s*[.[]/],
        ['console', /(?<![\w$.])console\s*\./],
    ] as const) {
        if (pattern.test(code)) {
            problems.push(`uses ${name}`);
        }
    }
    const exported = new Set([...code.matchAll(/(?<![\w$.])exports\.([\w$]+)\s*=(?!=)/g)].map((m) => m[1]));
    if (exported.size !== 1) {
        problems.push(`exports ${exported.size} names (${[...exported].join(', ')}); the engine takes the first`);
    }
    return problems;
}

describe('the packaged app runs in both app runtimes', () => {
    let info: { permissions: Array<{ name: string }> };
    let classFile: string;

    beforeAll(async () => {
        // What the engine hands the runtime: the class file of the zip admins deploy, as its parser reads it.
        const parsed = await new AppPackageParser().unpackageApp(fs.readFileSync(mainAppZip()));
        info = parsed.info as unknown as typeof info;
        classFile = parsed.files[parsed.info.classFile];
        expect(classFile.length).toBeGreaterThan(1000);
    });

    it('requires only modules both allow-lists accept, uses no runtime global, exports one class', () => {
        const required = [...new Set([...classFile.matchAll(LITERAL_REQUIRE)].map((m) => m[2]))].sort();
        expect(required.length).toBeGreaterThan(0);
        expect(required.filter((m) => !m.startsWith('@rocket.chat/apps-engine/'))).toEqual(['crypto']);
        expect(runtimeProblems(classFile)).toEqual([]);
    });

    it('declares the networking permission (Deno gets --allow-net only with it)', () => {
        expect(info.permissions.map((p) => p.name)).toContain('networking');
    });

    it('catches what would break one runtime (synthetic class files)', () => {
        const ok =
            `"use strict";var c=require("crypto"),n=require('node:crypto'),` +
            `a=require("@rocket.chat/apps-engine/definition/App");class X extends a.App{};exports.X=X;`;
        expect(runtimeProblems(ok)).toEqual([]);
        // A deliberate Node-only import: Node's prefix match takes it, Deno's exact list does not.
        const fsPromises = ok.replace('require("crypto")', 'require("fs/promises")');
        expect(runtimeProblems(fsPromises)).toEqual(["require('fs/promises'): Deno refuses, Node accepts"]);
        expect(runtimeProblems(ok.replace('require("crypto")', "require('child_process')"))).toEqual([
            "require('child_process'): Deno refuses, Node refuses",
        ]);
        expect(runtimeProblems(ok.replace('require("crypto")', 'require(name)'))).toEqual(['1 require() call(s) with a computed name']);
        expect(runtimeProblems(`${ok}globalThis.x=1;process.env.X;console.log(1);`)).toEqual([
            'uses globalThis',
            'uses process',
            'uses console',
        ]);
        expect(runtimeProblems(`${ok}exports.Y=X;`)).toEqual(['exports 2 names (X, Y); the engine takes the first']);
    });
});

describe.each<RuntimeBackend>(['deno', 'node'])('what app code sees in the %s runtime', (runtime) => {
    let host: EngineHost;
    let scratch: string;

    beforeAll(async () => {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'runtime-probe-'));
        host = await EngineHost.start({ zip: probeAppZip(), runtime });
    });

    afterAll(async () => {
        await host?.stop();
        fs.rmSync(scratch, { recursive: true, force: true });
    });

    it('runs the app in that runtime with the differences the app must survive', async () => {
        expect(host.app.getRuntimeController() instanceof NodeRuntimeSubprocessController).toBe(runtime === 'node');
        const writePath = path.join(scratch, 'written.txt');
        const res = await host.callApi({ method: 'POST', path: 'op', body: { op: 'runtime', writePath } });
        expect(res.status).toBe(200);
        const seen = res.body.result;
        // Common ground: the wrapper hides globalThis and Deno; Buffer, crypto and bare-named fs load.
        expect(seen).toMatchObject({
            engine: runtime,
            typeofGlobalThis: 'undefined',
            typeofDeno: 'undefined',
            typeofBuffer: 'function',
            requireFs: 'ok',
            requireNodeCrypto: 'ok',
        });
        expect(seen.requireChildProcess).toContain('Module child_process is not allowed');
        expect(fs.existsSync(writePath)).toBe(false);
        if (runtime === 'node') {
            expect(seen).toMatchObject({ typeofGlobal: 'object', setTimeoutReturns: 'object', requireFsPromises: 'ok' });
            // Allowed by name, denied by Node's permission model (--permission, reads only).
            expect(seen.writeFile).toMatch(/^ERR_ACCESS_DENIED/);
        } else {
            expect(seen).toMatchObject({ typeofGlobal: 'undefined', setTimeoutReturns: 'number' });
            expect(seen.requireFsPromises).toContain('Module fs/promises is not allowed');
            // Deno runs with --allow-read only.
            expect(seen.writeFile).toMatch(/^NotCapable/);
        }
    });
});
