import { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

/** One open chat the bridge handed over: the link between a RapidPro contact and a livechat room. */
export interface Conversation {
    contactUuid: string;
    roomId: string;
    visitorId?: string;
    visitorToken: string;
    contactName?: string;
    language?: string;
    departmentId?: string;
    departmentName?: string;
    openedAt: number;
    /** The agent the contact was last told about, so the "agent assigned" notice goes out once. */
    announcedAgentId?: string;
}

/** A handoff in progress for a contact, so concurrent calls on other instances do not open a second room. */
export interface HandoffClaim {
    contactUuid: string;
    nonce: string;
    at: number;
}

function misc(key: string): RocketChatAssociationRecord {
    return new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, key);
}

/**
 * Conversation records live in app persistence under two keys, the contact and the room, so both
 * directions of traffic find them with one read. Rocket.Chat updates by the exact association array
 * (order included) and reads by a subset, so every record keeps one fixed array for its lifetime.
 */
export class ConversationStore {
    constructor(private readonly reader: IPersistenceRead, private readonly writer?: IPersistence) {}

    static contactKey(contactUuid: string): RocketChatAssociationRecord {
        return misc(`conversation:contact:${contactUuid}`);
    }

    static roomKey(roomId: string): RocketChatAssociationRecord {
        return misc(`conversation:room:${roomId}`);
    }

    private static associations(conversation: Conversation): RocketChatAssociationRecord[] {
        return [ConversationStore.contactKey(conversation.contactUuid), ConversationStore.roomKey(conversation.roomId)];
    }

    private persistence(): IPersistence {
        if (!this.writer) {
            throw new Error('ConversationStore was opened read-only');
        }
        return this.writer;
    }

    async findByContact(contactUuid: string): Promise<Conversation | undefined> {
        const records = await this.reader.readByAssociation(ConversationStore.contactKey(contactUuid)) as Conversation[];
        return newest(records);
    }

    async findByRoom(roomId: string): Promise<Conversation | undefined> {
        const records = await this.reader.readByAssociation(ConversationStore.roomKey(roomId)) as Conversation[];
        return newest(records);
    }

    async save(conversation: Conversation): Promise<void> {
        await this.persistence().updateByAssociations(ConversationStore.associations(conversation), conversation, true);
    }

    async remove(conversation: Conversation): Promise<void> {
        await this.persistence().removeByAssociations(ConversationStore.associations(conversation));
    }

    /** Removes every record of the contact (also a stale one whose room was closed behind our back). */
    async removeContact(contactUuid: string): Promise<void> {
        await this.persistence().removeByAssociation(ConversationStore.contactKey(contactUuid));
    }

    // Handoff claims: written before a room is created, read back to see who came first.

    private static claimKey(contactUuid: string): RocketChatAssociationRecord {
        return misc(`handoff-claim:${contactUuid}`);
    }

    async addClaim(claim: HandoffClaim): Promise<void> {
        await this.persistence().createWithAssociations(claim, [ConversationStore.claimKey(claim.contactUuid), misc(`handoff-claim-nonce:${claim.nonce}`)]);
    }

    async readClaims(contactUuid: string): Promise<HandoffClaim[]> {
        return await this.reader.readByAssociation(ConversationStore.claimKey(contactUuid)) as HandoffClaim[];
    }

    async removeClaim(claim: HandoffClaim): Promise<void> {
        await this.persistence().removeByAssociations([ConversationStore.claimKey(claim.contactUuid), misc(`handoff-claim-nonce:${claim.nonce}`)]);
    }

    // Message ids already posted, so a webhook retried by RapidPro does not post twice.

    private static seenKey(contactUuid: string, messageId: string): RocketChatAssociationRecord {
        return misc(`seen:${contactUuid}:${messageId}`);
    }

    private static seenContactKey(contactUuid: string): RocketChatAssociationRecord {
        return misc(`seen:${contactUuid}`);
    }

    async findSeenMessage(contactUuid: string, messageId: string): Promise<{ messageId: string; roomMessageId?: string } | undefined> {
        const records = await this.reader.readByAssociation(ConversationStore.seenKey(contactUuid, messageId)) as Array<{ messageId: string; roomMessageId?: string }>;
        return records[0];
    }

    async markMessageSeen(contactUuid: string, messageId: string, roomMessageId?: string): Promise<void> {
        await this.persistence().updateByAssociations(
            [ConversationStore.seenContactKey(contactUuid), ConversationStore.seenKey(contactUuid, messageId)],
            { messageId, roomMessageId, at: Date.now() },
            true,
        );
    }

    async forgetSeenMessages(contactUuid: string): Promise<void> {
        await this.persistence().removeByAssociation(ConversationStore.seenContactKey(contactUuid));
    }
}

function newest(records: Conversation[] | undefined): Conversation | undefined {
    if (!records || records.length === 0) {
        return undefined;
    }
    return records.reduce((a, b) => (b.openedAt > a.openedAt ? b : a));
}
