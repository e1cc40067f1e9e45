import type { IApiResponse } from '@rocket.chat/apps-engine/definition/api';
import type { IApp } from '@rocket.chat/apps-engine/definition/IApp';
import type { ILivechatRoom } from '@rocket.chat/apps-engine/definition/livechat';

import type { BridgeServices } from '../../BridgeServices';
import { BridgeEndpoint, type EndpointContext, headerOf } from '../BridgeEndpoint';
import { postContactWords } from '../contactWords';
import { findOpenConversation, type KnownContact } from '../openConversation';
import { ContactClaims } from '../../domain/ContactClaims';
import { CLAIM_WAIT_MS, REMEMBERED_PER_INSTANCE, WEBHOOK_CALL_BUDGET_MS } from '../../lib/limits';
import { errorText } from '../../lib/log';
import { urnScheme } from '../../lib/reach';
import { RecentMap } from '../../lib/recentMap';
import { parseContactMessageRequest } from '../payloads/message';
import type { ContactMessageRequest } from '../payloads/types';
import { errorResponse, okResponse } from '../responses';
import { notPostedResponse } from '../serverRefusals';

/**
 * `POST message` (and the mediator alias `sendMessageToAgent`, whose text is the flow result
 * `clientmessage`): the contact's text and attachments, posted into their open room as the visitor.
 */
export class MessageEndpoint extends BridgeEndpoint {
    /** Each contact's room as last seen here, to read it while the claim is taken. */
    private readonly lastRoomOf = new RecentMap<string, string>(REMEMBERED_PER_INSTANCE);

    constructor(
        app: IApp,
        path: string,
        services: BridgeServices,
        private readonly legacyTextResult?: string,
    ) {
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
            // The room this contact wrote into last time is read meanwhile: usually it is still theirs.
            const room = this.prefetchRoom(ctx, contactUuid);
            if (!message.messageId) {
                return this.postWords(ctx, message, started, { room });
            }
            // RapidPro may deliver one webhook to two instances at once: the claim makes the second
            // wait for the first, then find the message id among those already posted (`duplicate`).
            const claims = new ContactClaims(ctx.read.getPersistenceReader(), ctx.persis);
            const held = await claims.acquire(contactUuid, 'inbound', started + CLAIM_WAIT_MS);
            if (!held) {
                return errorResponse(
                    'contact_busy',
                    'Another call for this contact is being processed on another server right now; nothing was posted. Try again.',
                );
            }
            try {
                // The read that confirmed the claim found the conversation and seen ids too.
                return await this.postWords(ctx, message, started, { records: held.records, room });
            } finally {
                await claims
                    .release(held.claim)
                    .catch((error) => ctx.services.logger.warn(`Message claim not released: ${errorText(error)}`));
            }
        });
    }

    private prefetchRoom(ctx: EndpointContext, contactUuid: string): KnownContact['room'] {
        const roomId = this.lastRoomOf.get(contactUuid);
        if (!roomId) {
            return undefined;
        }
        const read = (ctx.read.getRoomReader().getById(roomId) as Promise<ILivechatRoom | undefined>).catch(() => undefined);
        return { id: roomId, read };
    }

    private async postWords(
        ctx: EndpointContext,
        message: ContactMessageRequest,
        started: number,
        known: KnownContact,
    ): Promise<IApiResponse> {
        const contactUuid = message.contact.uuid;
        {
            // The room is checked right before posting: a closed one would make Rocket.Chat open a new one.
            const open = await findOpenConversation(ctx.read, ctx.persis, contactUuid, known);
            if (!open) {
                this.lastRoomOf.delete(contactUuid);
                return errorResponse('no_chat', 'The contact has no open chat; hand them over first.');
            }
            const result = await postContactWords(ctx, open, open.room.visitor, message, started + WEBHOOK_CALL_BUDGET_MS);
            this.lastRoomOf.set(contactUuid, result.room.id);
            if (result.kind === 'duplicate') {
                return okResponse({ status: 'duplicate', room_id: result.room.id, message_id: result.roomMessageId });
            }
            // The contact wrote: their window is open again, and what was held goes out first.
            await ctx.services.replyWindow.contactWrote(
                await ctx.services.deliveryContext(ctx.read, ctx.modify, ctx.http, ctx.persis),
                result.room.id,
                urnScheme(message.contact.urn),
                result.conversation,
            );
            if (result.kind === 'failed') {
                return notPostedResponse(result.error, result.room.id, !!message.messageId);
            }
            ctx.services.logger.debug(`Message: the contact's message is in room ${result.room.id}`);
            const body: Record<string, unknown> = { status: 'delivered', room_id: result.room.id, message_id: result.firstMessageId };
            if (result.attachmentsAsLinks > 0) {
                body.attachments_as_links = result.attachmentsAsLinks;
            }
            return okResponse(body);
        }
    }
}
