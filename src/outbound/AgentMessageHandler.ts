import type { IHttp, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import type { IMessage } from '@rocket.chat/apps-engine/definition/messages';

import type { BridgeServices } from '../BridgeServices';
import { type Conversation, ConversationStore } from '../domain/ConversationStore';
import { type ForwardLog, hasSentAnyPart } from '../domain/ForwardLog';
import { REMEMBERED_PER_INSTANCE } from '../lib/limits';
import { correctionPrefix } from '../lib/notices';
import { RecentMap } from '../lib/recentMap';
import { agentMessageDrafts, roomMessageDrafts } from './agentDrafts';
import { agentFilesOf } from './agentFiles';
import { filesOf, whyNotForwarded } from './agentMessageFilter';

/** IPostMessageSent and IPostMessageUpdated: what an agent writes in a bridge room goes to the contact. */
export class AgentMessageHandler {
    /** Each bridge room's contact, as last seen here. */
    private readonly contactOfRoom = new RecentMap<string, string>(REMEMBERED_PER_INSTANCE);

    constructor(private readonly services: BridgeServices) {}

    /** Cheap filter the engine calls first, so messages the bridge never forwards skip the rest. */
    shouldHandle(message: IMessage): boolean {
        return !whyNotForwarded(message, this.services.appId());
    }

    onMessageSent(message: IMessage, read: IRead, http: IHttp, persis: IPersistence, modify: IModify): Promise<void> {
        if (!this.shouldHandle(message)) {
            return Promise.resolve();
        }
        const roomId = message.room.id;
        // The room's lock is taken before the first await, so its messages go out in the order sent.
        return this.services.roomMutex.run(roomId, async () => {
            const ctx = await this.services.deliveryContext(read, modify, http, persis);
            // A room's contact never changes: when known here, the drain starts while the conversation is read.
            const knownContact = this.contactOfRoom.get(roomId);
            const early = knownContact ? this.services.queue.begin(ctx, knownContact, roomId) : undefined;
            try {
                const found = await this.bridgeConversation(message, read);
                if (!found || (message.id && found.log && hasSentAnyPart(found.log, message.id))) {
                    return; // not ours, or the catch-up already sent it
                }
                this.contactOfRoom.set(roomId, found.conversation.contactUuid);
                const files = await agentFilesOf(filesOf(message), read);
                const createdAt = message.createdAt ? new Date(message.createdAt).getTime() : Date.now();
                const drafts = message.id
                    ? roomMessageDrafts(message.id, createdAt, message.text, files, ctx.config.maxTextLength)
                    : agentMessageDrafts(message.text, files, ctx.config.maxTextLength);
                const text = message.text || files.map((file) => file.name).join(', ');
                await this.services.replyWindow.sendOrHold(
                    ctx,
                    found.conversation,
                    drafts,
                    { text, agentName: senderName(message) },
                    { sendNow: true, early },
                );
            } finally {
                await early?.abandon(); // nothing when the drain went ahead
            }
        });
    }

    /** An edited agent message is sent again, marked as a correction (the `send_corrections` setting). */
    onMessageUpdated(message: IMessage, read: IRead, http: IHttp, persis: IPersistence, modify: IModify): Promise<void> {
        if (!message.editedAt || !message.id || !this.shouldHandle(message)) {
            return Promise.resolve(); // not an edit: reactions, pins and link previews also update messages
        }
        return this.services.roomMutex.run(message.room.id, () => this.sendCorrection(message, read, http, persis, modify));
    }

    private async sendCorrection(message: IMessage, read: IRead, http: IHttp, persis: IPersistence, modify: IModify): Promise<void> {
        const found = await this.bridgeConversation(message, read);
        if (!found) {
            return;
        }
        const { conversation } = found;
        const ctx = await this.services.deliveryContext(read, modify, http, persis);
        if (!ctx.config.sendCorrections || !message.text?.trim()) {
            return;
        }
        // Rocket.Chat may report the same edit more than once: send each edit once.
        const store = new ConversationStore(read.getPersistenceReader(), persis);
        const editedAt = new Date(message.editedAt as Date).getTime();
        if (!(await store.markEditSent(conversation.contactUuid, message.id as string, editedAt))) {
            return;
        }
        const prefix = correctionPrefix(conversation.language, ctx.config.defaultLanguage);
        const drafts = agentMessageDrafts(message.text, [], ctx.config.maxTextLength, prefix);
        await this.services.replyWindow.sendOrHold(
            ctx,
            conversation,
            drafts,
            { text: `${prefix} ${message.text}`, agentName: senderName(message) },
            { sendNow: true },
        );
    }

    /** The room's conversation and its forward log, from one read. */
    private async bridgeConversation(
        message: IMessage,
        read: IRead,
    ): Promise<{ conversation: Conversation; log?: ForwardLog } | undefined> {
        const store = new ConversationStore(read.getPersistenceReader());
        const { conversation, log } = await store.findByRoomWithLog(message.room.id);
        if (!conversation || conversation.roomId !== message.room.id) {
            return undefined;
        }
        return { conversation, log };
    }
}

function senderName(message: IMessage): string | undefined {
    return message.sender ? message.sender.name || message.sender.username : undefined;
}
