import { IApiResponse } from '@rocket.chat/apps-engine/definition/api';
import { IApp } from '@rocket.chat/apps-engine/definition/IApp';

import { BridgeServices } from '../../BridgeServices';
import { ConversationStore } from '../../domain/ConversationStore';
import { BridgeEndpoint, EndpointContext, headerOf } from '../BridgeEndpoint';
import { ContactRoomPoster } from '../ContactRoomPoster';
import { findOpenConversation } from '../openConversation';
import { parseContactMessageRequest } from '../payloads';
import { errorResponse, okResponse } from '../responses';

/** Fetching attachments stops after this, well inside RapidPro's 15 s webhook timeout. */
const CALL_BUDGET_MS = 10000;

/**
 * `POST message` (and the mediator alias `sendMessageToAgent`, whose text is the flow result
 * `clientmessage`): the contact's text and attachments, posted into their open room as the visitor.
 */
export class MessageEndpoint extends BridgeEndpoint {
    constructor(app: IApp, path: string, services: BridgeServices, private readonly legacyTextResult?: string) {
        super(app, path, services);
    }

    protected async handlePost(ctx: EndpointContext): Promise<IApiResponse> {
        const started = Date.now();
        const parsed = parseContactMessageRequest(ctx.request.content, headerOf(ctx.request, 'idempotency-key'), this.legacyTextResult);
        if (!parsed.ok) {
            return errorResponse(parsed.code, parsed.error);
        }
        const message = parsed.value;
        const contactUuid = message.contact.uuid;
        return ctx.services.contactMutex.run(contactUuid, async () => {
            const open = await findOpenConversation(ctx.read, ctx.persis, contactUuid);
            if (!open) {
                return errorResponse('no_chat', 'The contact has no open chat; hand them over first.');
            }
            const messageId = message.messageId;
            const seen = messageId ? open.seen.entries.filter((entry) => entry.id === messageId)[0] : undefined;
            if (seen) {
                return okResponse({ status: 'duplicate', room_id: open.room.id, message_id: seen.roomMessageId || null });
            }
            const poster = new ContactRoomPoster(ctx.read, ctx.modify, ctx.http, ctx.services.log);
            const posted = await poster.post(open.room, open.room.visitor, message.text, message.attachments, started + CALL_BUDGET_MS);
            const firstId = posted.messageIds[0] || null;
            if (messageId) {
                await new ConversationStore(ctx.read.getPersistenceReader(), ctx.persis).markMessageSeen(open.seen, messageId, firstId || undefined);
            }
            const body: Record<string, unknown> = { status: 'delivered', room_id: open.room.id, message_id: firstId };
            if (posted.attachmentsAsLinks > 0) {
                body.attachments_as_links = posted.attachmentsAsLinks;
            }
            return okResponse(body);
        });
    }
}
