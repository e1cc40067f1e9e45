import type { ChildProcess, SpawnOptions } from 'node:child_process';

/**
 * Ctrl+C in a terminal sends SIGINT to the whole foreground process group, so the app's Deno
 * runtime (a child process the Apps-Engine spawns) would die at once; the engine then restarts it
 * and the orderly shutdown (host.stop(): unload the app) waits on a runtime that is going away.
 * A Rocket.Chat server never shares its terminal with the runtime, so the sandbox starts it in its
 * own process group (`detached`). The engine still kills it on stop, and it exits by itself when
 * the sandbox dies (its stdin, the engine's message pipe, closes).
 *
 * The engine calls `child_process.spawn('deno', ...)` through the module object, so this wraps that
 * one function for 'deno' only. Call before the engine starts an app.
 */
export function runDenoInItsOwnProcessGroup(): void {
    // The real module object (an `import * as` namespace copy would not be seen by the engine).
    const childProcess = require('node:child_process') as {
        spawn: (command: string, args?: readonly string[], options?: SpawnOptions) => ChildProcess;
    };
    const original = childProcess.spawn;
    if ((original as { sandboxDetached?: boolean }).sandboxDetached) {
        return;
    }
    const patched = (command: string, args?: readonly string[], options?: SpawnOptions): ChildProcess =>
        command === 'deno'
            ? original(command, args ?? [], { ...(options ?? {}), detached: true })
            : original(command, args ?? [], options ?? {});
    (patched as { sandboxDetached?: boolean }).sandboxDetached = true;
    childProcess.spawn = patched;
}
