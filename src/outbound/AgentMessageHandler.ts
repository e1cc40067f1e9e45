import { IHttp, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import { IMessage } from '@rocket.chat/apps-engine/definition/messages';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

import { BridgeServices } from '../BridgeServices';
import { Conversation, ConversationStore } from '../domain/ConversationStore';
import { AgentFile } from '../domain/DeliveryQueue';
import { contentTypeFromName } from '../lib/media';
import { correctionPrefix } from '../lib/notices';
import { agentMessageDrafts } from './agentDrafts';
import { filesOf, whyNotForwarded } from './agentMessageFilter';

/** IPostMessageSent and IPostMessageUpdated: what an agent writes in a bridge room goes to the contact. */
export class AgentMessageHandler {
    constructor(private readonly services: BridgeServices) {}

    async onMessageSent(message: IMessage, read: IRead, http: IHttp, persis: IPersistence, modify: IModify): Promise<void> {
        const conversation = await this.bridgeConversation(message, read);
        if (!conversation) {
            return;
        }
        const ctx = await this.services.deliveryContext(read, modify, http, persis);
        const files = await this.agentFiles(message, read);
        const drafts = agentMessageDrafts(message.text, files, ctx.config.maxTextLength);
        await this.services.queue.enqueue(ctx, conversation.contactUuid, conversation.roomId, drafts);
    }

    /** An edited agent message is sent again, marked as a correction (the `send_corrections` setting). */
    async onMessageUpdated(message: IMessage, read: IRead, http: IHttp, persis: IPersistence, modify: IModify): Promise<void> {
        if (!message.editedAt || !message.id) {
            return; // not an edit: reactions, pins and link previews also update messages
        }
        const conversation = await this.bridgeConversation(message, read);
        if (!conversation) {
            return;
        }
        const ctx = await this.services.deliveryContext(read, modify, http, persis);
        if (!ctx.config.sendCorrections || !(message.text && message.text.trim())) {
            return;
        }
        // Rocket.Chat may report the same edit more than once: send each edit once.
        const editKey = [
            new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `edits:${conversation.contactUuid}`),
            new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, `edit:${message.id}:${new Date(message.editedAt).getTime()}`),
        ];
        const seen = await read.getPersistenceReader().readByAssociation(editKey[1]);
        if (seen.length > 0) {
            return;
        }
        await persis.updateByAssociations(editKey, { messageId: message.id, at: Date.now() }, true);
        const prefix = correctionPrefix(conversation.language, ctx.config.defaultLanguage);
        const drafts = agentMessageDrafts(message.text, [], ctx.config.maxTextLength, prefix);
        await this.services.queue.enqueue(ctx, conversation.contactUuid, conversation.roomId, drafts);
    }

    private async bridgeConversation(message: IMessage, read: IRead): Promise<Conversation | undefined> {
        if (whyNotForwarded(message, this.services.appId())) {
            return undefined;
        }
        const store = new ConversationStore(read.getPersistenceReader());
        const conversation = await store.findByRoom(message.room.id);
        return conversation && conversation.roomId === message.room.id ? conversation : undefined;
    }

    private async agentFiles(message: IMessage, read: IRead): Promise<AgentFile[]> {
        const files = filesOf(message);
        if (files.length === 0) {
            return [];
        }
        let siteUrl = '';
        try {
            siteUrl = String(await read.getEnvironmentReader().getServerSettings().getValueById('Site_Url') || '').replace(/\/+$/, '');
        } catch (error) {
            siteUrl = '';
        }
        return files.map((file) => ({
            uploadId: file.id,
            name: file.name,
            contentType: file.type || contentTypeFromName(file.name),
            link: `${siteUrl}/file-upload/${file.id}/${encodeURIComponent(file.name)}`,
        }));
    }
}
