import type { IApiResponse } from '@rocket.chat/apps-engine/definition/api';

import { HEALTH_TIMEOUT_MS } from '../../lib/limits';
import { BridgeEndpoint, type EndpointContext } from '../BridgeEndpoint';
import { okResponse } from '../responses';

/** `GET health`: is the bridge configured and does RapidPro accept its token. */
export class HealthEndpoint extends BridgeEndpoint {
    protected async handleGet(ctx: EndpointContext): Promise<IApiResponse> {
        const version = ctx.services.appVersion();
        const client = ctx.services.rapidPro.clientFor(ctx.http, ctx.config, { timeoutCapMs: HEALTH_TIMEOUT_MS });
        if (!client) {
            return okResponse({ status: 'ok', rapidpro: 'not_configured', version });
        }
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
