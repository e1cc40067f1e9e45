import type { IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import type { ILivechatRoom } from '@rocket.chat/apps-engine/definition/livechat';

import { type Conversation, ConversationStore, contactRecordsOf, type SeenMessages } from '../domain/ConversationStore';

export interface OpenConversation {
    conversation: Conversation;
    room: ILivechatRoom;
    /** Message ids the room already got (read along with the conversation). */
    seen: SeenMessages;
}

/** What the caller read already: the records under the contact key, a read of the room it expects. */
export interface KnownContact {
    records?: object[];
    room?: { id: string; read: Promise<ILivechatRoom | undefined> };
}

/**
 * The contact's conversation if its room is still open. A record whose room was closed behind the
 * bridge's back (say the app was disabled when it closed) is cleared, so the contact is not stuck:
 * posting into a closed room would make Rocket.Chat open a new one.
 */
export async function findOpenConversation(
    read: IRead,
    persis: IPersistence,
    contactUuid: string,
    known: KnownContact = {},
): Promise<OpenConversation | undefined> {
    const store = new ConversationStore(read.getPersistenceReader(), persis);
    const { conversation, seen } = known.records
        ? contactRecordsOf(contactUuid, known.records)
        : await store.findByContactWithSeen(contactUuid);
    if (!conversation) {
        return undefined;
    }
    const early = known.room && known.room.id === conversation.roomId ? await known.room.read : undefined;
    const room = early || ((await read.getRoomReader().getById(conversation.roomId)) as ILivechatRoom | undefined);
    if (room && isRoomOpen(room)) {
        return { conversation, room, seen };
    }
    // Only this stale record: a newer conversation of the contact (saved meanwhile) must stay.
    await store.remove(conversation);
    return undefined;
}

export function isRoomOpen(room: ILivechatRoom): boolean {
    return room.isOpen !== false && !room.closedAt;
}

export function agentName(room: ILivechatRoom | undefined): string | null {
    const agent = room?.servedBy;
    return agent ? agent.name || agent.username || null : null;
}

export function departmentName(room: ILivechatRoom | undefined, conversation?: Conversation): string | null {
    const department = room?.department;
    return (
        (department && (department.name || department.id)) ||
        (conversation && (conversation.departmentName || conversation.departmentId)) ||
        null
    );
}

export function roomStatus(room: ILivechatRoom): 'queued' | 'open' {
    return room.servedBy ? 'open' : 'queued';
}
