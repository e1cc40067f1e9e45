import * as fs from 'node:fs';

import type { IAppInfo } from '@rocket.chat/apps-engine/definition/metadata';
import type { AppManager } from '@rocket.chat/apps-engine/server/AppManager';
import { AppPackageParser } from '@rocket.chat/apps-engine/server/compiler/AppPackageParser';
import type { ProxiedApp } from '@rocket.chat/apps-engine/server/ProxiedApp';

import type { RocketChat } from '../rocketchat/RocketChat';
import type { RcUser } from '../rocketchat/types';
import type { EngineHostOptions } from './hostTypes';

/**
 * What Rocket.Chat's install does: parse the zip, create the installing admin, AppManager.load + add
 * with the granted permissions, enabled. `parsed` runs before the app starts (the bridges need its info).
 * Throws with the app's logs when the engine refuses it or it does not enable.
 */
export async function installApp(
    manager: AppManager,
    rc: RocketChat,
    options: EngineHostOptions,
    parsed: (info: IAppInfo, admin: RcUser) => void,
    logText: () => string,
): Promise<ProxiedApp> {
    const zip = typeof options.zip === 'string' ? fs.readFileSync(options.zip) : options.zip;
    const { info } = await new AppPackageParser().unpackageApp(zip);
    // Rocket.Chat grants what the admin accepted on install: the permissions listed in app.json
    // (or the engine's default set when the app lists none).
    const permissionsGranted = options.permissionsGranted ?? (Array.isArray(info.permissions) ? info.permissions : undefined);

    // Cluster instances share one Rocket.Chat: the admin exists once.
    const admin =
        rc.userByUsername('admin') ??
        rc.createUser({ username: 'admin', name: 'Administrator', roles: ['admin', 'user', 'livechat-manager'] });
    parsed(info, admin);
    await manager.load();
    const aff = await manager.add(zip, { enable: true, user: rc.toAppUser(admin) as never, permissionsGranted });
    const problems = [
        aff.hasStorageError() ? aff.getStorageError() : undefined,
        aff.hasAppUserError() ? (aff.getAppUserError() as { message?: string }).message : undefined,
    ].filter(Boolean);
    const app = aff.getApp();
    if (!app || problems.length) {
        throw new Error(`The engine refused the app: ${problems.join('; ') || 'no app returned'}`);
    }
    const status = await app.getStatus();
    if (!['manually_enabled', 'auto_enabled'].includes(String(status))) {
        throw new Error(`The app did not enable (status ${status}). App logs:\n${logText().slice(-4000)}`);
    }
    return app;
}
