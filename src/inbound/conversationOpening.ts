import type { ILivechatRoom } from '@rocket.chat/apps-engine/definition/livechat';

import { type Conversation, ConversationStore } from '../domain/ConversationStore';
import { stageDrafts } from '../domain/lifecycleStages';
import type { OutboundDraft } from '../domain/outboxItems';
import { errorText } from '../lib/log';
import type { BridgeConfig } from '../settings/BridgeConfig';
import type { EndpointContext } from './BridgeEndpoint';
import { agentName, departmentName } from './openConversation';

/** Notices and contact fields for a room the contact now waits in, in the order the contact should see them. */
export function openingDrafts(
    config: BridgeConfig,
    language: string | undefined,
    room: ILivechatRoom,
    conversation: Conversation,
): OutboundDraft[] {
    const agent = agentName(room) || undefined;
    const department = departmentName(room, conversation) || undefined;
    return agent
        ? stageDrafts(config, 'assigned', { language, variables: { agent, department }, roomField: room.id })
        : stageDrafts(config, 'queued', { language, variables: { department }, roomField: room.id });
}

/**
 * Rocket.Chat put the contact's message into a room the bridge did not open (the contact wrote as
 * their room closed: a real server then opens a new room, routed like any new chat). That room
 * becomes the contact's conversation: associated, a note for its agent, the notice and the fields.
 */
export function adoptRoom(ctx: EndpointContext, previous: Conversation, room: ILivechatRoom): Promise<Conversation> {
    // Under the closed room's lock, shared with its close event: the two never interleave on this instance.
    return ctx.services.roomMutex.run(previous.roomId, () => adopt(ctx, previous, room));
}

async function adopt(ctx: EndpointContext, previous: Conversation, room: ILivechatRoom): Promise<Conversation> {
    const { read, modify, persis, services } = ctx;
    const store = new ConversationStore(read.getPersistenceReader(), persis);
    const closeAlreadyHandled = !(await store.findByRoom(previous.roomId));
    await store.remove(previous); // a no-op when the close event already did it
    const fresh = ((await read.getRoomReader().getById(room.id)) as ILivechatRoom | undefined) || room;
    const conversation: Conversation = {
        ...previous,
        roomId: room.id,
        openedAt: Date.now(),
        departmentId: fresh.department ? fresh.department.id : previous.departmentId,
        departmentName: fresh.department ? fresh.department.name : previous.departmentName,
        announcedAgentId: fresh.servedBy ? fresh.servedBy.id : undefined,
        closeRequestedAt: undefined,
        waitingNoticeAt: undefined,
        outboxBacklog: await services.queue.hasPending(read, previous.contactUuid),
    };
    await store.create(conversation, fresh.createdAt ? new Date(fresh.createdAt).getTime() : conversation.openedAt);
    services.logger.info(`Contact message landed in new room ${room.id} after room ${previous.roomId} closed; the bridge adopted it`);
    const delivery = await services.deliveryContext(read, modify, ctx.http, persis);

    const note = [
        `*RapidPro handoff* · ${previous.contactName || 'the contact'} wrote after their previous chat closed, ` +
            'so Rocket.Chat opened this one. Replies in this room reach the contact through RapidPro.',
    ];
    if (closeAlreadyHandled && ctx.config.closeFlowUuid) {
        // The previous chat's close would hand the contact back to the bot, which now talks over this chat.
        const withdrawn = await services.queue.withdraw(
            delivery,
            previous.contactUuid,
            (item) => item.kind === 'flow_start' && item.roomId === previous.roomId,
        );
        if (withdrawn === 0) {
            note.push(
                ":warning: RapidPro's close flow had already started for this contact: their next replies may go to that flow " +
                    'rather than to this chat.',
            );
        } else if (withdrawn === undefined) {
            // Another instance was sending the contact's calls at that moment: the flow start may be among them.
            note.push(
                ":warning: RapidPro's close flow may be starting for this contact right now: their next replies may go to that " +
                    'flow rather than to this chat.',
            );
        }
    }
    if (previous.handoffSummary) {
        note.push('', previous.handoffSummary);
    }
    try {
        await services.notifier.postNote(ctx, fresh, note.join('\n'));
    } catch (error) {
        services.logger.warn(`Note for the adopted room ${room.id} not posted: ${errorText(error)}`);
    }
    await services.queue.enqueue(
        delivery,
        conversation.contactUuid,
        room.id,
        openingDrafts(ctx.config, conversation.language, fresh, conversation),
        {
            sendNow: false,
        },
    );
    return conversation;
}
