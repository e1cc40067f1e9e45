import type { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';

import { SEEN_MESSAGES_KEPT } from '../lib/limits';
import { type ForwardLog, ForwardLogs, isForwardLog, newForwardLog } from './ForwardLog';
import { associationsOf, isRecordOf, Keys, RecordKind } from './records';

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
    /** What the agent saw first (the flow's results), posted again if Rocket.Chat moves the chat to a new room. */
    handoffSummary?: string;
    /** The contact's flow asked to close the chat (POST close): no closed notice, no close flow. */
    closeRequestedAt?: number;
    /** When the contact was last told they wait for an agent (transfer to a queue), to tell it once. */
    waitingNoticeAt?: number;
    /**
     * Calls of an earlier chat were still waiting for RapidPro when this chat opened: this chat's
     * messages then always queue behind the contact's whole outbox (see DeliveryQueue).
     */
    outboxBacklog?: boolean;
    /** The scheme of the contact's URN (`whatsapp`, `tel`, ...): whether a customer-care window applies. */
    urnScheme?: string;
    /** When the contact last wrote (handoff, message): the start of the customer-care window. */
    lastInboundAt?: number;
    /** When a reply was last held (the window had closed): replies read the held ones only after that. */
    heldAt?: number;
}

/** Message ids the contact's room already got, newest last, kept in one record per contact. */
export interface SeenMessages {
    record: typeof RecordKind.SeenMessages;
    contactUuid: string;
    entries: SeenMessage[];
}

export interface SeenMessage {
    id: string;
    roomMessageId?: string;
    /** Indexes of the message's items (the text, each attachment) in a room, when not all of them got there. */
    done?: number[];
}

const isConversation = isRecordOf<Conversation>(RecordKind.Conversation);
const isSeenMessages = isRecordOf<SeenMessages>(RecordKind.SeenMessages);

export function noSeenMessages(contactUuid: string): SeenMessages {
    return { record: RecordKind.SeenMessages, contactUuid, entries: [] };
}

/** The conversation and seen ids among the records read by the contact key (`Keys.contact`). */
export function contactRecordsOf(contactUuid: string, records: object[]): { conversation?: Conversation; seen: SeenMessages } {
    return {
        conversation: newest(records.filter(isConversation)),
        seen: records.filter(isSeenMessages)[0] || noSeenMessages(contactUuid),
    };
}

/**
 * Conversation records live in app persistence under two keys, the contact and the room, so both
 * directions of traffic find them with one read. Next to them: the message ids already posted
 * (under the contact key too) and the corrections already sent.
 */
export class ConversationStore {
    constructor(
        private readonly reader: IPersistenceRead,
        private readonly writer?: IPersistence,
    ) {}

    private persistence(): IPersistence {
        if (!this.writer) {
            throw new Error('ConversationStore was opened read-only');
        }
        return this.writer;
    }

    /** The conversation and the message ids already posted, in one read (both carry the contact key). */
    async findByContactWithSeen(contactUuid: string): Promise<{ conversation?: Conversation; seen: SeenMessages }> {
        return contactRecordsOf(contactUuid, await this.reader.readByAssociation(Keys.contact(contactUuid)));
    }

    async findByRoom(roomId: string): Promise<Conversation | undefined> {
        return (await this.findByRoomWithLog(roomId)).conversation;
    }

    /** The room's conversation and forward log, in one read: the log carries the room key too. */
    async findByRoomWithLog(roomId: string): Promise<{ conversation?: Conversation; log?: ForwardLog }> {
        const records = await this.reader.readByAssociation(Keys.room(roomId));
        return { conversation: newest(records.filter(isConversation)), log: records.filter(isForwardLog)[0] };
    }

    /**
     * A new chat: its record, and the forward log its room's agent messages are checked against
     * (`since`: the room's creation; nothing written before the handover is ever forwarded).
     */
    async create(conversation: Conversation, since: number): Promise<void> {
        await this.save(conversation, true);
        await ForwardLogs.create(
            this.persistence(),
            newForwardLog(conversation.contactUuid, conversation.roomId, since, conversation.visitorId),
        );
    }

    /**
     * Writes the conversation's new state. Only `create` makes a record: an update never brings back
     * a conversation that a close on another instance just removed.
     */
    async save(conversation: Conversation, upsert = false): Promise<void> {
        const record = { ...conversation, record: RecordKind.Conversation };
        await this.persistence().updateByAssociations(associationsOf.conversation(conversation), record, upsert);
    }

    async remove(conversation: Conversation): Promise<void> {
        await this.persistence().removeByAssociations(associationsOf.conversation(conversation));
    }

    // Message ids already posted, so a webhook retried by RapidPro does not post twice.

    /** `done`: which items of the message are in a room, when a refusal kept the others out. */
    async markMessageSeen(seen: SeenMessages, messageId: string, roomMessageId?: string, done?: number[]): Promise<void> {
        const entry: SeenMessage = done === undefined ? { id: messageId, roomMessageId } : { id: messageId, roomMessageId, done };
        const entries = seen.entries
            .filter((other) => other.id !== messageId)
            .concat([entry])
            .slice(-SEEN_MESSAGES_KEPT);
        const record: SeenMessages = { record: RecordKind.SeenMessages, contactUuid: seen.contactUuid, entries };
        await this.persistence().updateByAssociations(associationsOf.seenMessages(seen.contactUuid), record, true);
    }

    async forgetSeenMessages(contactUuid: string): Promise<void> {
        await this.persistence().removeByAssociation(Keys.seenMessages(contactUuid));
    }

    // Corrections: Rocket.Chat may report the same edit more than once; each is sent once.

    /** Records the edit as sent; false when it was already (nothing written then). */
    async markEditSent(contactUuid: string, messageId: string, editedAt: number): Promise<boolean> {
        const seen = await this.reader.readByAssociation(Keys.sentEdit(messageId, editedAt));
        if (seen.length > 0) {
            return false;
        }
        const record = { record: RecordKind.SentEdit, messageId, at: Date.now() };
        await this.persistence().updateByAssociations(associationsOf.sentEdit(contactUuid, messageId, editedAt), record, true);
        return true;
    }

    async forgetSentEdits(contactUuid: string): Promise<void> {
        await this.persistence().removeByAssociation(Keys.sentEdits(contactUuid));
    }
}

function newest(records: Conversation[]): Conversation | undefined {
    if (records.length === 0) {
        return undefined;
    }
    return records.reduce((a, b) => (b.openedAt > a.openedAt ? b : a));
}
