import type { IHttp } from '@rocket.chat/apps-engine/definition/accessors';

import { type BridgeConfig, isRapidProConfigured } from '../settings/BridgeConfig';
import { RapidProClient } from './RapidProClient';

export interface ClientOptions {
    /** A shorter time limit than request_timeout_ms, for calls someone waits on (health, history). */
    timeoutCapMs?: number;
}

/**
 * The one place RapidPro clients are made, from the settings: which workspace, which token, which
 * time limit. (A future "several workspaces" feature picks the workspace here.)
 */
export class RapidProClientFactory {
    /** A client of the configured workspace, or undefined while rapidpro_url or rapidpro_token is empty. */
    clientFor(http: IHttp, config: BridgeConfig, options: ClientOptions = {}): RapidProClient | undefined {
        if (!isRapidProConfigured(config)) {
            return undefined;
        }
        const cap = options.timeoutCapMs;
        return new RapidProClient(http, {
            baseUrl: config.rapidProUrl,
            token: config.rapidProToken,
            timeoutMs: cap !== undefined ? Math.min(config.requestTimeoutMs, cap) : config.requestTimeoutMs,
        });
    }
}
