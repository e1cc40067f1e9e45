import type { IApiResponse } from '@rocket.chat/apps-engine/definition/api';

import { RapidProClient } from '../../domain/RapidProClient';
import { isRapidProConfigured } from '../../settings/BridgeConfig';
import { BridgeEndpoint, type EndpointContext } from '../BridgeEndpoint';
import { okResponse } from '../responses';

const HEALTH_TIMEOUT_MS = 5000;

/** `GET health`: is the bridge configured and does RapidPro accept its token. */
export class HealthEndpoint extends BridgeEndpoint {
    protected async handleGet(ctx: EndpointContext): Promise<IApiResponse> {
        const version = ctx.services.appVersion();
        if (!isRapidProConfigured(ctx.config)) {
            return okResponse({ status: 'ok', rapidpro: 'not_configured', version });
        }
        const client = new RapidProClient(ctx.http, {
            baseUrl: ctx.config.rapidProUrl,
            token: ctx.config.rapidProToken,
            timeoutMs: Math.min(ctx.config.requestTimeoutMs, HEALTH_TIMEOUT_MS),
        });
        const outcome = await client.checkWorkspace();
        let rapidpro: string;
        if (outcome.kind === 'ok') {
            rapidpro = 'ok';
        } else if (outcome.kind === 'rejected' && (outcome.status === 401 || outcome.status === 403)) {
            rapidpro = 'unauthorized';
        } else {
            rapidpro = 'unreachable';
        }
        return okResponse({ status: 'ok', rapidpro, version });
    }
}
