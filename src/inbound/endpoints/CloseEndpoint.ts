import { IApiResponse } from '@rocket.chat/apps-engine/definition/api';

import { BridgeEndpoint, EndpointContext } from '../BridgeEndpoint';
import { findOpenConversation } from '../openConversation';
import { parseCloseRequest } from '../payloads';
import { errorResponse, okResponse } from '../responses';

/** `POST close`: the contact ended the chat. The room-closed event does the rest (fields, cleanup). */
export class CloseEndpoint extends BridgeEndpoint {
    protected async handlePost(ctx: EndpointContext): Promise<IApiResponse> {
        const parsed = parseCloseRequest(ctx.request.content);
        if (!parsed.ok) {
            return errorResponse(parsed.code, parsed.error);
        }
        const { contact, comment } = parsed.value;
        return ctx.services.contactMutex.run(contact.uuid, async () => {
            const open = await findOpenConversation(ctx.read, ctx.persis, contact.uuid);
            if (!open) {
                return errorResponse('no_chat', 'The contact has no open chat.');
            }
            // No closer user: Rocket.Chat records the visitor as the one who closed it.
            await ctx.modify.getUpdater().getLivechatUpdater().closeRoom(open.room, comment || 'The contact ended the chat (RapidPro).');
            return okResponse({ status: 'closed', room_id: open.room.id });
        });
    }
}
