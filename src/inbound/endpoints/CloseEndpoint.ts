import type { IApiResponse } from '@rocket.chat/apps-engine/definition/api';
import type { ILivechatRoom } from '@rocket.chat/apps-engine/definition/livechat';

import { ConversationStore } from '../../domain/ConversationStore';
import { BridgeEndpoint, type EndpointContext } from '../BridgeEndpoint';
import { findOpenConversation, isRoomOpen } from '../openConversation';
import { parseCloseRequest } from '../payloads/close';
import { errorResponse, okResponse } from '../responses';
import { classifyRefusal, errorText, genericRefusal } from '../serverRefusals';

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
            // Written first: should an agent's close get there before ours, the close event still knows
            // the contact's flow asked (no "closed" notice, no close flow interrupting that flow).
            await new ConversationStore(ctx.read.getPersistenceReader(), ctx.persis).save({
                ...open.conversation,
                closeRequestedAt: Date.now(),
            });
            try {
                // No closer user: Rocket.Chat records the visitor as the one who closed it. A comment is
                // always given, as servers may require one (Livechat_request_comment_when_closing_conversation).
                await ctx.modify
                    .getUpdater()
                    .getLivechatUpdater()
                    .closeRoom(open.room, comment || 'The contact ended the chat (RapidPro).');
            } catch (error) {
                const refusal = classifyRefusal(error);
                if (refusal === 'room_closed') {
                    // An agent closed it between our read and our close (`Error removing inquiry`).
                    const after = (await ctx.read.getRoomReader().getById(open.room.id)) as ILivechatRoom | undefined;
                    return after && !isRoomOpen(after)
                        ? okResponse({ status: 'closed', room_id: open.room.id })
                        : errorResponse('close_refused', 'Rocket.Chat could not close the chat right now; try again.');
                }
                if (refusal === 'tags_required') {
                    return errorResponse(
                        'close_refused',
                        'The department requires closing tags (Omnichannel > Departments > ' +
                            '"Request tag(s) before closing conversation") and has none set: an agent must close this chat.',
                        { room_id: open.room.id },
                    );
                }
                if (refusal === 'comment_required') {
                    return errorResponse('close_refused', 'Rocket.Chat requires a closing comment: send one in "comment".', {
                        room_id: open.room.id,
                    });
                }
                if (refusal === 'other') {
                    ctx.services.logger.warn(`Close refused by Rocket.Chat: ${errorText(error)}`);
                }
                const generic = genericRefusal(error);
                return errorResponse(generic.code, generic.error, { room_id: open.room.id });
            }
            ctx.services.logger.info(`Close: room ${open.room.id} closed at the contact's request`);
            return okResponse({ status: 'closed', room_id: open.room.id });
        });
    }
}
