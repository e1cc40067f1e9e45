/** ConversationStore on an in-memory persistence with the real server's semantics. */
import { type Conversation, ConversationStore, noSeenMessages } from '../../src/domain/ConversationStore';
import { associationsOf, Keys, RecordKind } from '../../src/domain/records';
import { SEEN_MESSAGES_KEPT } from '../../src/lib/limits';
import { MemoryPersistence } from './support/memoryPersistence';

const CONTACT = '5d76d86b-3bb9-4d5a-b822-c9d86f5d8e4b';

function conversation(overrides: Partial<Conversation> = {}): Conversation {
    return { contactUuid: CONTACT, roomId: 'room-1', visitorToken: 'rapidpro-abc', openedAt: 1000, ...overrides };
}

describe('ConversationStore', () => {
    it('finds a saved conversation by contact and by room, tagged as a conversation', async () => {
        const persistence = new MemoryPersistence();
        const store = new ConversationStore(persistence, persistence);
        await store.save(conversation(), true);
        const byContact = await store.findByContactWithSeen(CONTACT);
        expect(byContact.conversation).toMatchObject({ roomId: 'room-1', record: RecordKind.Conversation });
        expect(byContact.seen).toEqual(noSeenMessages(CONTACT));
        expect(await store.findByRoom('room-1')).toMatchObject({ contactUuid: CONTACT });
        expect(await store.findByRoom('room-2')).toBeUndefined();
    });

    it('updates one record in place (same association array), never a second copy', async () => {
        const persistence = new MemoryPersistence();
        const store = new ConversationStore(persistence, persistence);
        await store.save(conversation(), true);
        await store.save({ ...conversation(), announcedAgentId: 'alice' });
        expect(persistence.dataWith(Keys.room('room-1').getID())).toHaveLength(1);
        expect((await store.findByRoom('room-1'))?.announcedAgentId).toBe('alice');
    });

    it('picks the newest conversation of a contact, outbox items under the same keys notwithstanding', async () => {
        const persistence = new MemoryPersistence();
        const store = new ConversationStore(persistence, persistence);
        await store.save(conversation({ roomId: 'old', openedAt: 1 }), true);
        await store.save(conversation({ roomId: 'new', openedAt: 2 }), true);
        expect((await store.findByContactWithSeen(CONTACT)).conversation?.roomId).toBe('new');
        const item = { record: RecordKind.OutboxItem, kind: 'message', id: 'i1', contactUuid: CONTACT, roomId: 'new', seq: 1 };
        await persistence.createWithAssociations(item, associationsOf.outboxItem(item));
        expect(await store.findByRoomWithLog('new')).toMatchObject({ conversation: { roomId: 'new' } });
    });

    it('reads the untagged records of 0.1.0: conversation, seen ids and outbox items', async () => {
        const persistence = new MemoryPersistence();
        const legacy = { contactUuid: CONTACT, roomId: 'room-1', visitorToken: 't', openedAt: 5 };
        await persistence.createWithAssociations(legacy, associationsOf.conversation(legacy));
        const seen = { record: 'seen-messages', contactUuid: CONTACT, entries: [{ id: 'm1', roomMessageId: 'rm1' }] };
        await persistence.createWithAssociations(seen, associationsOf.seenMessages(CONTACT));
        const item = { kind: 'message', text: 'hi', id: 'i1', contactUuid: CONTACT, roomId: 'room-1', seq: 1, createdAt: 1 };
        await persistence.createWithAssociations(item, associationsOf.outboxItem(item));

        const store = new ConversationStore(persistence, persistence);
        const found = await store.findByContactWithSeen(CONTACT);
        expect(found.conversation).toEqual(legacy);
        expect(found.seen.entries).toEqual([{ id: 'm1', roomMessageId: 'rm1' }]);
        const byRoom = await store.findByRoomWithLog('room-1');
        expect(byRoom).toEqual({ conversation: legacy, log: undefined });

        // Saved again, it carries the tag, still as one record.
        await store.save({ ...found.conversation!, announcedAgentId: 'bob' });
        expect(persistence.dataWith(Keys.contact(CONTACT).getID()).filter((r) => r.roomId)).toEqual([
            { ...legacy, announcedAgentId: 'bob', record: RecordKind.Conversation },
        ]);
    });

    it('de-duplicates seen message ids: one entry per id, the newest last, at most SEEN_MESSAGES_KEPT', async () => {
        const persistence = new MemoryPersistence();
        const store = new ConversationStore(persistence, persistence);
        await store.markMessageSeen(noSeenMessages(CONTACT), 'm1', 'rm1', [0]);
        let seen = (await store.findByContactWithSeen(CONTACT)).seen;
        await store.markMessageSeen(seen, 'm2', 'rm2');
        seen = (await store.findByContactWithSeen(CONTACT)).seen;
        await store.markMessageSeen(seen, 'm1', 'rm1'); // the rest of m1 got in on a retry
        seen = (await store.findByContactWithSeen(CONTACT)).seen;
        expect(seen.entries).toEqual([
            { id: 'm2', roomMessageId: 'rm2' },
            { id: 'm1', roomMessageId: 'rm1' },
        ]);
        expect(persistence.dataWith(Keys.seenMessages(CONTACT).getID())).toHaveLength(1);

        for (let index = 0; index < SEEN_MESSAGES_KEPT + 5; index++) {
            await store.markMessageSeen(seen, `x${index}`);
            seen = (await store.findByContactWithSeen(CONTACT)).seen;
        }
        expect(seen.entries).toHaveLength(SEEN_MESSAGES_KEPT);
        expect(seen.entries[SEEN_MESSAGES_KEPT - 1].id).toBe(`x${SEEN_MESSAGES_KEPT + 4}`);
        expect(seen.entries.some((entry) => entry.id === 'm1')).toBe(false);
    });

    it('a seen-ids record is never taken for a conversation, and forgetting it keeps the conversation', async () => {
        const persistence = new MemoryPersistence();
        const store = new ConversationStore(persistence, persistence);
        await store.markMessageSeen(noSeenMessages(CONTACT), 'm1');
        expect((await store.findByContactWithSeen(CONTACT)).conversation).toBeUndefined();
        await store.save(conversation(), true);
        await store.forgetSeenMessages(CONTACT);
        const found = await store.findByContactWithSeen(CONTACT);
        expect(found.conversation?.roomId).toBe('room-1');
        expect(found.seen.entries).toEqual([]);
    });

    it('remove clears one conversation and leaves a newer one of the same contact and its seen ids', async () => {
        const persistence = new MemoryPersistence();
        const store = new ConversationStore(persistence, persistence);
        await store.save(conversation(), true);
        await store.save({ ...conversation(), roomId: 'room-2', openedAt: 2 }, true);
        await store.markMessageSeen(noSeenMessages(CONTACT), 'm1');
        await store.remove(conversation());
        expect(await store.findByRoom('room-1')).toBeUndefined();
        expect((await store.findByRoom('room-2'))?.roomId).toBe('room-2');
        const found = await store.findByContactWithSeen(CONTACT);
        expect(found.conversation?.roomId).toBe('room-2');
        expect(found.seen.entries.map((entry) => entry.id)).toEqual(['m1']);
    });

    it('sends each edit once, until the chat is forgotten; a 0.1.0 edit record counts too', async () => {
        const persistence = new MemoryPersistence();
        const store = new ConversationStore(persistence, persistence);
        expect(await store.markEditSent(CONTACT, 'msg-1', 111)).toBe(true);
        expect(await store.markEditSent(CONTACT, 'msg-1', 111)).toBe(false);
        expect(await store.markEditSent(CONTACT, 'msg-1', 222)).toBe(true); // edited again
        await store.forgetSentEdits(CONTACT);
        expect(persistence.size).toBe(0);

        await persistence.updateByAssociations(associationsOf.sentEdit(CONTACT, 'msg-2', 5), { messageId: 'msg-2', at: 1 }, true);
        expect(await store.markEditSent(CONTACT, 'msg-2', 5)).toBe(false);
    });

    it('refuses to write when opened read-only', async () => {
        const persistence = new MemoryPersistence();
        await expect(new ConversationStore(persistence).save(conversation())).rejects.toThrow('read-only');
    });
});
