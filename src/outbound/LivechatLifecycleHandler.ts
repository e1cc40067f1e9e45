import type { IHttp, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import type {
    IDepartment,
    ILivechatEventContext,
    ILivechatRoom,
    ILivechatTransferEventContext,
} from '@rocket.chat/apps-engine/definition/livechat';
import type { IUser } from '@rocket.chat/apps-engine/definition/users';

import type { BridgeServices } from '../BridgeServices';
import { ConversationStore } from '../domain/ConversationStore';
import { stageDrafts } from '../domain/lifecycleStages';
import type { OutboundDraft } from '../domain/outboxItems';
import { CLOSE_REQUEST_WINDOW_MS, WAITING_NOTICE_WINDOW_MS } from '../lib/limits';

function nameOfUser(user: IUser | undefined): string | undefined {
    return user ? user.name || user.username : undefined;
}

function isDepartment(target: IUser | IDepartment): target is IDepartment {
    return !(target as IUser).username;
}

/**
 * The chat's lifecycle told to the contact in their language (agent assigned, transferred, closed),
 * mirrored in the optional contact fields, and on close the optional flow that hands the contact
 * back to the bot.
 */
export class LivechatLifecycleHandler {
    constructor(private readonly services: BridgeServices) {}

    // Each handler runs under the room's lock (shared with agent messages), so events of one room
    // update the conversation one at a time and their notices keep the order of the events.

    onAgentAssigned(context: ILivechatEventContext, read: IRead, http: IHttp, persis: IPersistence, modify?: IModify): Promise<void> {
        if (!modify || !context.room || !context.agent) {
            return Promise.resolve();
        }
        return this.services.roomMutex.run(context.room.id, () => this.announceAgent(context, read, http, persis, modify));
    }

    private async announceAgent(
        context: ILivechatEventContext,
        read: IRead,
        http: IHttp,
        persis: IPersistence,
        modify: IModify,
    ): Promise<void> {
        const store = new ConversationStore(read.getPersistenceReader(), persis);
        const conversation = await store.findByRoom(context.room.id);
        if (!conversation || conversation.announcedAgentId === context.agent.id) {
            return; // not ours, or the contact already heard about this agent
        }
        await store.save({ ...conversation, announcedAgentId: context.agent.id });
        const ctx = await this.services.deliveryContext(read, modify, http, persis);
        this.services.logger.info(`Lifecycle: an agent took room ${conversation.roomId}`);
        const drafts = stageDrafts(ctx.config, 'assigned', {
            language: conversation.language,
            variables: { agent: nameOfUser(context.agent), department: conversation.departmentName },
        });
        await this.services.queue.enqueue(ctx, conversation.contactUuid, conversation.roomId, drafts);
    }

    onRoomTransferred(
        context: ILivechatTransferEventContext,
        read: IRead,
        http: IHttp,
        persis: IPersistence,
        modify: IModify,
    ): Promise<void> {
        if (!context.room) {
            return Promise.resolve();
        }
        return this.services.roomMutex.run(context.room.id, () => this.announceTransfer(context, read, http, persis, modify));
    }

    private async announceTransfer(
        context: ILivechatTransferEventContext,
        read: IRead,
        http: IHttp,
        persis: IPersistence,
        modify: IModify,
    ): Promise<void> {
        const store = new ConversationStore(read.getPersistenceReader(), persis);
        const conversation = await store.findByRoom(context.room.id);
        if (!conversation) {
            return;
        }
        const target = context.to;
        const toDepartment = target && isDepartment(target) ? target : undefined;
        if (!toDepartment) {
            // A chat forwarded to another agent: Rocket.Chat also reports that agent's assignment
            // (in either order, at the same time), and that event tells the contact who joined.
            return;
        }
        // The event's room may still show the agent who lost it: where the room stands is read again.
        const room = (await read.getRoomReader().getById(context.room.id)) as ILivechatRoom | undefined;
        const waiting = !!room && !room.servedBy && room.isOpen !== false && !room.closedAt;
        await store.save({
            ...conversation,
            departmentId: toDepartment.id,
            departmentName: toDepartment.name || toDepartment.id,
            // Back in a queue: whoever takes it next is announced, even the same agent again.
            announcedAgentId: waiting ? undefined : conversation.announcedAgentId,
            waitingNoticeAt: waiting ? Date.now() : conversation.waitingNoticeAt,
        });
        const ctx = await this.services.deliveryContext(read, modify, http, persis);
        this.services.logger.info(`Lifecycle: room ${conversation.roomId} moved to department ${toDepartment.id}`);
        const drafts = stageDrafts(ctx.config, waiting ? 'transferred_to_queue' : 'transferred', {
            language: conversation.language,
            variables: { department: toDepartment.name || toDepartment.id },
        });
        await this.services.queue.enqueue(ctx, conversation.contactUuid, conversation.roomId, drafts);
    }

    /** The agent left the chat and it waits for another (returned to the queue, or forwarded to a queue). */
    onAgentUnassigned(context: ILivechatEventContext, read: IRead, http: IHttp, persis: IPersistence, modify?: IModify): Promise<void> {
        if (!modify || !context.room) {
            return Promise.resolve();
        }
        return this.services.roomMutex.run(context.room.id, () => this.announceWaiting(context, read, http, persis, modify));
    }

    private async announceWaiting(
        context: ILivechatEventContext,
        read: IRead,
        http: IHttp,
        persis: IPersistence,
        modify: IModify,
    ): Promise<void> {
        const store = new ConversationStore(read.getPersistenceReader(), persis);
        const conversation = await store.findByRoom(context.room.id);
        if (!conversation) {
            return;
        }
        // Also fired when an agent hands the chat to another agent: only a room left with nobody counts.
        const room = (await read.getRoomReader().getById(context.room.id)) as ILivechatRoom | undefined;
        if (!room || room.servedBy || room.isOpen === false || room.closedAt) {
            return;
        }
        const toldJustNow =
            conversation.waitingNoticeAt !== undefined && Date.now() - conversation.waitingNoticeAt < WAITING_NOTICE_WINDOW_MS;
        if (conversation.announcedAgentId === undefined && toldJustNow) {
            return; // the transfer to a queue already told the contact and set the field
        }
        await store.save({ ...conversation, announcedAgentId: undefined, waitingNoticeAt: Date.now() });
        const ctx = await this.services.deliveryContext(read, modify, http, persis);
        this.services.logger.info(`Lifecycle: room ${conversation.roomId} waits for an agent again`);
        const drafts = stageDrafts(ctx.config, 'queued', {
            language: conversation.language,
            variables: { department: conversation.departmentName },
            notify: !toldJustNow,
        });
        await this.services.queue.enqueue(ctx, conversation.contactUuid, conversation.roomId, drafts);
    }

    onRoomClosed(room: ILivechatRoom, read: IRead, http: IHttp, persis: IPersistence, modify?: IModify): Promise<void> {
        if (!modify || !room) {
            return Promise.resolve();
        }
        return this.services.roomMutex.run(room.id, () => this.wrapUp(room, read, http, persis, modify));
    }

    private async wrapUp(room: ILivechatRoom, read: IRead, http: IHttp, persis: IPersistence, modify: IModify): Promise<void> {
        const store = new ConversationStore(read.getPersistenceReader(), persis);
        const conversation = await store.findByRoom(room.id);
        if (!conversation) {
            return;
        }
        const ctx = await this.services.deliveryContext(read, modify, http, persis);
        const { config } = ctx;
        // When the contact's flow closed the chat (POST close), the bot already has the contact.
        // The contact's flow asked (POST close), even when an agent's close got there first.
        const askedByContact =
            conversation.closeRequestedAt !== undefined && Date.now() - conversation.closeRequestedAt < CLOSE_REQUEST_WINDOW_MS;
        const closedByContact = room.closer === 'visitor' || askedByContact;
        const closedAt = room.closedAt ? new Date(room.closedAt).getTime() : Date.now();
        // Ordered at the close: the agent's messages written before it go first, even those whose
        // event comes late or on another instance (the marker makes the drain read the room up to it).
        const marker: OutboundDraft = { kind: 'room_closed', closedAt, at: closedAt, summary: 'the end of the chat' };
        const notices: OutboundDraft[] = stageDrafts(config, 'closed', {
            language: conversation.language,
            variables: { agent: nameOfUser(room.servedBy), department: conversation.departmentName },
            notify: !closedByContact,
            roomField: '', // cleared
        });
        if (config.closeFlowUuid && !closedByContact) {
            notices.push({
                kind: 'flow_start',
                flowUuid: config.closeFlowUuid,
                params: {
                    room_id: room.id,
                    closed_by: room.closer === 'user' ? room.closedBy?.username || 'agent' : room.closer || 'agent',
                    agent: nameOfUser(room.servedBy) || null,
                    department: conversation.departmentName || conversation.departmentId || null,
                    duration_seconds: Math.max(0, Math.round((closedAt - conversation.openedAt) / 1000)),
                },
                summary: 'the flow start after closing',
            });
        }
        // Forget the chat before its notices go out, so a handoff right after the close opens a new
        // room; the conversation record last, as a new chat can start as soon as it is gone.
        // Replies held for the contact's window never went out: the agent is told, in the room, now.
        await this.services.replyWindow.chatClosed(ctx, conversation);
        await store.forgetSeenMessages(conversation.contactUuid);
        await store.forgetSentEdits(conversation.contactUuid);
        await store.remove(conversation);
        this.services.logger.info(`Lifecycle: room ${room.id} closed (by ${room.closer || 'agent'}); the bridge forgot it`);
        const drafts: OutboundDraft[] = [marker, ...notices.map((draft) => ({ ...draft, at: closedAt }))];
        await this.services.queue.enqueue(ctx, conversation.contactUuid, conversation.roomId, drafts);
    }
}
