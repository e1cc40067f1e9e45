import type { IApiResponse } from '@rocket.chat/apps-engine/definition/api';

import { BridgeEndpoint, type EndpointContext } from '../BridgeEndpoint';
import { agentName, departmentName, findOpenConversation, roomStatus } from '../openConversation';
import type { ParseResult } from '../payloads/common';
import { parseContactQuery, parseStatusRequest } from '../payloads/status';
import type { StatusRequest } from '../payloads/types';
import { errorResponse, okResponse } from '../responses';

/** `GET status?contact=<uuid>` or `POST status` with a webhook body: where the contact stands. */
export class StatusEndpoint extends BridgeEndpoint {
    protected handleGet(ctx: EndpointContext): Promise<IApiResponse> {
        return this.answer(ctx, parseContactQuery(ctx.request.query));
    }

    protected handlePost(ctx: EndpointContext): Promise<IApiResponse> {
        return this.answer(ctx, parseStatusRequest(ctx.request.content));
    }

    private async answer(ctx: EndpointContext, parsed: ParseResult<StatusRequest>): Promise<IApiResponse> {
        if (!parsed.ok) {
            return errorResponse(parsed.code, parsed.error);
        }
        const open = await findOpenConversation(ctx.read, ctx.persis, parsed.value.contact.uuid);
        if (!open) {
            return okResponse({ status: 'none', room_id: null, agent: null, department: null });
        }
        return okResponse({
            status: roomStatus(open.room),
            room_id: open.room.id,
            agent: agentName(open.room),
            department: departmentName(open.room, open.conversation),
        });
    }
}
