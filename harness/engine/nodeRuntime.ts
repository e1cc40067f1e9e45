import * as child_process from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { AppManager } from '@rocket.chat/apps-engine/server/AppManager';
import type { IParseAppPackageResult } from '@rocket.chat/apps-engine/server/compiler/IParseAppPackageResult';
import { DenoRuntimeSubprocessController } from '@rocket.chat/apps-engine/server/runtime/deno/AppsEngineDenoRuntime';
import type { IAppStorageItem } from '@rocket.chat/apps-engine/server/storage';

/**
 * Node runtime mode of the rig: Rocket.Chat 8.8+ runs apps in Node 22 by default
 * (packages/apps/src/server/runtime/node/AppsEngineNodeRuntime.ts). The real 1.62
 * DenoRuntimeSubprocessController (JSON-RPC over msgpack on stdio, bridges, timeouts, liveness) is kept;
 * only spawnProcess() differs: it starts harness/engine/node-runtime/main.cjs (built at install time by
 * harness/setup/build-node-runtime.js from the engine's own 1.62 runtime handlers) the way Rocket.Chat's
 * NodeRuntimeSubprocessController does: `node --permission --allow-fs-read=<temp>,<runtime>,<apps-engine>
 * main --subprocess <appId> --spawnId <n>`, environment PATH only, no network restriction.
 */

export type RuntimeBackend = 'deno' | 'node';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const NODE_RUNTIME_MAIN = path.join(__dirname, 'node-runtime', 'main.cjs');

/** Rocket.Chat 8.8's switch: APPS_ENGINE_RUNTIME_BACKEND=deno|node (here the default stays 'deno'). */
export function defaultRuntime(): RuntimeBackend {
    return process.env.APPS_ENGINE_RUNTIME_BACKEND === 'node' ? 'node' : 'deno';
}

/** Node 22 of the npm binary package node-<os>-<cpu> npm installed here (harness/setup/platform.js). */
export function nodeBinary(): string {
    const found = require(path.join(REPO_ROOT, 'harness', 'setup', 'platform.js')).nodeRuntime() as { binary?: string; reason?: string };
    if (!found.binary) {
        throw new Error(`The Node runtime of the rig is not available: ${found.reason}`);
    }
    return found.binary;
}

function appsEngineDir(): string {
    return path.dirname(require.resolve('@rocket.chat/apps-engine/package.json', { paths: [REPO_ROOT] }));
}

/** The protected members of the 1.62 controller that spawnProcess() sets up (private in its .d.ts). */
interface ControllerInternals {
    deno?: child_process.ChildProcess;
    spawnId: number;
    tempFilePath: string;
    state: string;
    appPackage: IParseAppPackageResult;
    messenger: { setReceiver(p: child_process.ChildProcess): void };
    livenessManager: { attach(p: child_process.ChildProcess): void };
    debug(format: string, ...args: unknown[]): void;
    setupListeners(): void;
}

export class NodeRuntimeSubprocessController extends DenoRuntimeSubprocessController {
    public spawnProcess(): void {
        const self = this as unknown as ControllerInternals;
        try {
            const allowedDirs = [self.tempFilePath, path.dirname(NODE_RUNTIME_MAIN), appsEngineDir()];
            const args = [
                '--permission',
                ...allowedDirs.map((dir) => `--allow-fs-read=${dir}`),
                NODE_RUNTIME_MAIN,
                '--subprocess',
                self.appPackage.info.id,
                '--spawnId',
                String(self.spawnId++),
            ];
            self.deno = child_process.spawn(nodeBinary(), args, { env: { PATH: process.env.PATH } });
            // A liveness ping written as the stopped runtime exits fails with EPIPE on stdin; unhandled, it
            // failed a whole test file after its tests passed. The exit itself is handled by the liveness manager.
            self.deno.stdin?.on('error', (error: NodeJS.ErrnoException) => {
                if (error.code !== 'EPIPE') {
                    throw error;
                }
            });
            self.messenger.setReceiver(self.deno);
            self.livenessManager.attach(self.deno);
            self.debug('Started node subprocess %d with %o', self.deno.pid, args);
            self.setupListeners();
        } catch (e) {
            self.state = 'invalid';
            console.error(`Failed to start Node subprocess for app ${this.getAppId()}`, e);
        }
    }
}

function nodeRuntimeFactory(manager: AppManager, appPackage: IParseAppPackageResult, storageItem: IAppStorageItem) {
    return new NodeRuntimeSubprocessController(manager, appPackage, storageItem);
}

/** Points a fresh AppManager's runtime manager at the chosen runtime (call right after `new AppManager`). */
export function selectRuntime(manager: AppManager, runtime: RuntimeBackend): void {
    if (runtime === 'deno') {
        return;
    }
    if (!fs.existsSync(NODE_RUNTIME_MAIN)) {
        throw new Error(`${NODE_RUNTIME_MAIN} is missing: run \`node harness/setup/build-node-runtime.js\` (npm postinstall does)`);
    }
    (manager.getRuntime() as unknown as { runtimeFactory: typeof nodeRuntimeFactory }).runtimeFactory = nodeRuntimeFactory;
}
