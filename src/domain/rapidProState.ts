import type { IHttp } from '@rocket.chat/apps-engine/definition/accessors';

import { HEALTH_TIMEOUT_MS } from '../lib/limits';
import type { BridgeConfig } from '../settings/BridgeConfig';
import type { RapidProClientFactory } from './RapidProClientFactory';

export type RapidProState = 'ok' | 'unauthorized' | 'unreachable' | 'not_configured';

/**
 * Does RapidPro answer and accept the token: one cheap GET (workspace.json), at most HEALTH_TIMEOUT_MS.
 * Used by `GET health`, the admin's `/rapidpro` and the outbox's recovery probe.
 */
export async function rapidProState(clients: RapidProClientFactory, http: IHttp, config: BridgeConfig): Promise<RapidProState> {
    const client = clients.clientFor(http, config, { timeoutCapMs: HEALTH_TIMEOUT_MS });
    if (!client) {
        return 'not_configured';
    }
    const outcome = await client.checkWorkspace();
    if (outcome.kind === 'ok') {
        return 'ok';
    }
    return outcome.kind === 'rejected' && (outcome.status === 401 || outcome.status === 403) ? 'unauthorized' : 'unreachable';
}
