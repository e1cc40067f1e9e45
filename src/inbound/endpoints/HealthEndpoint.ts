import type { IApiResponse } from '@rocket.chat/apps-engine/definition/api';

import { rapidProState } from '../../domain/rapidProState';
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
        const rapidpro = await rapidProState(ctx.services.rapidPro, ctx.http, ctx.config);
        const version = ctx.services.appVersion();
        if (strict && rapidpro !== 'ok') {
            return errorResponse('degraded', `RapidPro is ${rapidpro.replace('_', ' ')}: replies to contacts wait in the outbox.`, {
                rapidpro,
                version,
            });
        }
        return okResponse({ status: 'ok', rapidpro, version });
    }
}
