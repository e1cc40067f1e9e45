import type { IApiResponse } from '@rocket.chat/apps-engine/definition/api';

import { HEALTH_TIMEOUT_MS } from '../../lib/limits';
import { BridgeEndpoint, type EndpointContext } from '../BridgeEndpoint';
import { errorResponse, okResponse } from '../responses';

/**
 * `GET health`: is the bridge configured and does RapidPro accept its token. Always 200 (the bridge
 * answers, whatever RapidPro does); `?strict=1` makes it 503 unless RapidPro is ok, for monitors that
 * only look at the status code.
 */
export class HealthEndpoint extends BridgeEndpoint {
    protected async handleGet(ctx: EndpointContext): Promise<IApiResponse> {
        const strict = /^(1|true|yes)$/i.test(String(ctx.request.query?.strict || ''));
        const rapidpro = await this.rapidProState(ctx);
        const version = ctx.services.appVersion();
        if (strict && rapidpro !== 'ok') {
            return errorResponse('degraded', `RapidPro is ${rapidpro.replace('_', ' ')}: replies to contacts wait in the outbox.`, {
                rapidpro,
                version,
            });
        }
        return okResponse({ status: 'ok', rapidpro, version });
    }

    private async rapidProState(ctx: EndpointContext): Promise<'ok' | 'unauthorized' | 'unreachable' | 'not_configured'> {
        const client = ctx.services.rapidPro.clientFor(ctx.http, ctx.config, { timeoutCapMs: HEALTH_TIMEOUT_MS });
        if (!client) {
            return 'not_configured';
        }
        const outcome = await client.checkWorkspace();
        if (outcome.kind === 'ok') {
            return 'ok';
        }
        return outcome.kind === 'rejected' && (outcome.status === 401 || outcome.status === 403) ? 'unauthorized' : 'unreachable';
    }
}
