import { AppPermissionManager } from '@rocket.chat/apps-engine/server/managers/AppPermissionManager';

export interface PermissionDenial {
    appId: string;
    missing: string[];
    message: string;
}

export const denials: PermissionDenial[] = [];
let permissionHookInstalled = false;
let printDenials = false;

/** Whether the engine's permission-denied messages are printed as well as recorded. */
export function setPrintDenials(value: boolean): void {
    printDenials = value;
}

/** Records (and optionally prints) the engine's permission errors; the engine itself only console.errors them. */
export function installPermissionHook(): void {
    if (permissionHookInstalled) {
        return;
    }
    permissionHookInstalled = true;
    const original = AppPermissionManager.notifyAboutError.bind(AppPermissionManager);
    (AppPermissionManager as unknown as { notifyAboutError: (err: unknown) => void }).notifyAboutError = (err: unknown) => {
        // PermissionDeniedError keeps only its message: "... as the app (<id>) lacks the following permissions:\n["a", "b"]. ..."
        const message = String((err as Error)?.message ?? err);
        const appId = /as the app \(([^)]+)\)/.exec(message)?.[1] ?? '';
        const list = /permissions:\s*\[([^\]]*)\]/.exec(message)?.[1] ?? '';
        const missing = [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
        denials.push({ appId, missing, message });
        if (printDenials) {
            original(err as Error);
        }
    };
}
