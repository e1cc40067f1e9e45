import type { ILivechatRoom, IVisitor } from '@rocket.chat/apps-engine/definition/livechat';

import { type Conversation, ConversationStore, type SeenMessages } from '../domain/ConversationStore';
import type { EndpointContext } from './BridgeEndpoint';
import { ContactRoomPoster, contactItems, type PostedContactMessage } from './ContactRoomPoster';
import { adoptRoom } from './conversationOpening';
import { errorText } from '../lib/log';
import type { InboundAttachment } from './payloads/types';

export interface ContactWords {
    /** De-duplication id (Idempotency-Key, message_id, input.uuid); without one a retry posts again. */
    messageId?: string;
    text: string;
    attachments: InboundAttachment[];
}

export type ContactWordsResult =
    | { kind: 'duplicate'; room: ILivechatRoom; roomMessageId: string | null }
    | {
          kind: 'posted' | 'failed';
          room: ILivechatRoom;
          conversation: Conversation;
          firstMessageId: string | null;
          attachmentsAsLinks: number;
          /** Set when kind is 'failed': the refusal that stopped the rest (what came before is in the room). */
          error?: unknown;
      };

/**
 * Puts what the contact wrote into their room, exactly once per message id: a call repeated after
 * a refusal posts only what did not get in. Where Rocket.Chat opened a new room for it, that room
 * becomes the contact's conversation.
 */
export async function postContactWords(
    ctx: EndpointContext,
    open: { conversation: Conversation; room: ILivechatRoom; seen: SeenMessages },
    visitor: IVisitor,
    words: ContactWords,
    deadline: number,
    options: { isolate?: boolean } = {},
): Promise<ContactWordsResult> {
    const { logger } = ctx.services;
    const items = contactItems(words.text, words.attachments);
    const earlier = words.messageId ? open.seen.entries.filter((entry) => entry.id === words.messageId)[0] : undefined;
    if (earlier && (earlier.done === undefined || items.every((_, index) => earlier.done?.includes(index)))) {
        return { kind: 'duplicate', room: open.room, roomMessageId: earlier.roomMessageId || null };
    }
    const before = earlier?.done || [];
    const poster = new ContactRoomPoster(ctx.read, ctx.modify, ctx.http, logger);
    const posted = await poster.post(open.room, visitor, items, deadline, { done: before, isolate: options.isolate });
    const firstMessageId = posted.messageIds[0] || earlier?.roomMessageId || null;
    const record = () =>
        words.messageId && posted.done.length > before.length
            ? recordSeen(ctx, open.seen, words.messageId, firstMessageId, posted)
            : undefined;
    // Where the last text landed is read while the message id is recorded: neither needs the other.
    await Promise.all([posted.landed, record()]);

    let conversation = open.conversation;
    if (posted.movedTo) {
        try {
            conversation = await adoptRoom(ctx, conversation, posted.movedTo);
        } catch (error) {
            // Agents' replies in that room would not reach the contact.
            logger.error(`Room ${posted.movedTo.id} not adopted: ${errorText(error)}`);
        }
        // The old room's close clears its seen ids, maybe after the record above: written again for the new room.
        await record();
    }
    if (posted.error) {
        const missing = items.length - posted.done.length;
        logger.warn(
            `Contact message refused by Rocket.Chat in room ${posted.room.id} ` +
                `(${missing} of ${items.length} parts missing): ${errorText(posted.error)}`,
        );
        await ctx.services.notifier.notifyAgent(
            ctx,
            posted.room.id,
            `Rocket.Chat refused ${missing === items.length ? 'a message' : `${missing} of ${items.length} parts of a message`} ` +
                'the contact sent; RapidPro was told, and the flow may send it again.',
        );
    }
    return {
        kind: posted.error ? 'failed' : 'posted',
        room: posted.room,
        conversation,
        firstMessageId,
        attachmentsAsLinks: posted.attachmentsAsLinks,
        error: posted.error,
    };
}

/** Records the message id as posted (with the items done, when not all got in). Never rejects. */
async function recordSeen(
    ctx: EndpointContext,
    seen: SeenMessages,
    messageId: string,
    firstMessageId: string | null,
    posted: PostedContactMessage,
): Promise<void> {
    try {
        const store = new ConversationStore(ctx.read.getPersistenceReader(), ctx.persis);
        await store.markMessageSeen(seen, messageId, firstMessageId || undefined, posted.error ? posted.done : undefined);
    } catch (error) {
        // The words are in the room; only a repeated call could post them twice.
        ctx.services.logger.warn(`Message id not recorded in room ${posted.room.id}: ${errorText(error)}`);
    }
}
