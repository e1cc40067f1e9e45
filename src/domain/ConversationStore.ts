import type { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
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
    /** When the contact was last told they wait for an agent (transfer to a queue), to tell it once. */
    waitingNoticeAt?: number;
    /**
     * Calls of an earlier chat were still waiting for RapidPro when this chat opened: this chat's
     * messages then always queue behind the contact's whole outbox (see DeliveryQueue).
     */
    outboxBacklog?: boolean;
}

/** Message ids the contact's room already got, newest last, kept in one record per contact. */
export interface SeenMessages {
    record: 'seen-messages';
    contactUuid: string;
    entries: SeenMessage[];
}

export interface SeenMessage {
    id: string;
    roomMessageId?: string;
    /** Items of the message (text, each attachment) already in the room, when not all of them got there. */
    posted?: number;
}

/** Enough to cover RapidPro's webhook retries (a few, seconds apart) with room to spare. */
const SEEN_KEPT = 200;

function isConversation(record: object): record is Conversation {
    const candidate = record as Partial<Conversation> & { kind?: unknown; record?: unknown };
    return (
        typeof candidate.roomId === 'string' &&
        typeof candidate.openedAt === 'number' &&
        candidate.kind === undefined &&
        candidate.record === undefined
    );
}

function isSeenMessages(record: object): record is SeenMessages {
    return (record as Partial<SeenMessages>).record === 'seen-messages';
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
    constructor(
        private readonly reader: IPersistenceRead,
        private readonly writer?: IPersistence,
    ) {}

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
        return (await this.findByContactWithSeen(contactUuid)).conversation;
    }

    /** The conversation and the message ids already posted, in one read (both carry the contact key). */
    async findByContactWithSeen(contactUuid: string): Promise<{ conversation?: Conversation; seen: SeenMessages }> {
        const records = await this.reader.readByAssociation(ConversationStore.contactKey(contactUuid));
        const seen = records.filter(isSeenMessages)[0];
        return {
            conversation: newest(records.filter(isConversation)),
            seen: seen || { record: 'seen-messages', contactUuid, entries: [] },
        };
    }

    async findByRoom(roomId: string): Promise<Conversation | undefined> {
        return (await this.findByRoomWithOutbox(roomId)).conversation;
    }

    /**
     * The room's conversation and how many of its calls wait in the outbox, in one read: outbox
     * items carry the room key too (see DeliveryQueue).
     */
    async findByRoomWithOutbox(roomId: string): Promise<{ conversation?: Conversation; pendingCalls: number }> {
        const records = await this.reader.readByAssociation(ConversationStore.roomKey(roomId));
        return {
            conversation: newest(records.filter(isConversation)),
            pendingCalls: records.filter((record) => (record as { kind?: unknown }).kind !== undefined).length,
        };
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
        await this.persistence().createWithAssociations(claim, [
            ConversationStore.claimKey(claim.contactUuid),
            misc(`handoff-claim-nonce:${claim.nonce}`),
        ]);
    }

    async readClaims(contactUuid: string): Promise<HandoffClaim[]> {
        return (await this.reader.readByAssociation(ConversationStore.claimKey(contactUuid))) as HandoffClaim[];
    }

    async removeClaim(claim: HandoffClaim): Promise<void> {
        await this.persistence().removeByAssociations([
            ConversationStore.claimKey(claim.contactUuid),
            misc(`handoff-claim-nonce:${claim.nonce}`),
        ]);
    }

    // Message ids already posted, so a webhook retried by RapidPro does not post twice.

    private static seenKey(contactUuid: string): RocketChatAssociationRecord {
        return misc(`seen-messages:${contactUuid}`);
    }

    /** `posted`: how many items of the message are in the room, when a refusal stopped the rest. */
    async markMessageSeen(seen: SeenMessages, messageId: string, roomMessageId?: string, posted?: number): Promise<void> {
        const entry: SeenMessage = posted === undefined ? { id: messageId, roomMessageId } : { id: messageId, roomMessageId, posted };
        const entries = seen.entries
            .filter((other) => other.id !== messageId)
            .concat([entry])
            .slice(-SEEN_KEPT);
        const record: SeenMessages = { record: 'seen-messages', contactUuid: seen.contactUuid, entries };
        await this.persistence().updateByAssociations(
            [ConversationStore.contactKey(seen.contactUuid), ConversationStore.seenKey(seen.contactUuid)],
            record,
            true,
        );
    }

    async forgetSeenMessages(contactUuid: string): Promise<void> {
        await this.persistence().removeByAssociation(ConversationStore.seenKey(contactUuid));
    }
}

function newest(records: Conversation[]): Conversation | undefined {
    if (records.length === 0) {
        return undefined;
    }
    return records.reduce((a, b) => (b.openedAt > a.openedAt ? b : a));
}
