/** Record kinds: every record is tagged; the untagged records of 0.1.0 are recognised by their shape. */
import { associationsOf, Keys, RecordKind, recordKindOf } from '../../src/domain/records';

describe('recordKindOf', () => {
    it('reads the tag of the records this version writes', () => {
        for (const kind of Object.values(RecordKind)) {
            expect(recordKindOf({ record: kind })).toBe(kind);
        }
        expect(recordKindOf({ record: 'something-else', roomId: 'r', openedAt: 1 })).toBeUndefined();
        expect(recordKindOf(undefined)).toBeUndefined();
    });

    it('recognises the shapes 0.1.0 wrote without a tag', () => {
        expect(recordKindOf({ contactUuid: 'c', roomId: 'r', visitorToken: 't', openedAt: 1 })).toBe(RecordKind.Conversation);
        expect(recordKindOf({ record: 'seen-messages', contactUuid: 'c', entries: [] })).toBe(RecordKind.SeenMessages);
        expect(recordKindOf({ kind: 'message', contactUuid: 'c', roomId: 'r', id: 'i', seq: 1 })).toBe(RecordKind.OutboxItem);
        expect(recordKindOf({ kind: 'flow_start', contactUuid: 'c', seq: 1 })).toBe(RecordKind.OutboxItem);
        expect(recordKindOf({ contactUuid: 'c', nonce: 'n', at: 1 })).toBe(RecordKind.HandoffClaim);
        expect(recordKindOf({ key: 'k', at: 1 })).toBe(RecordKind.VisitorTokenKey);
        expect(recordKindOf({ messageId: 'm', at: 1 })).toBe(RecordKind.SentEdit);
        expect(recordKindOf({ something: 'else' })).toBeUndefined();
    });

    it('never takes an outbox item for a conversation (both carry the room key)', () => {
        expect(recordKindOf({ kind: 'message', contactUuid: 'c', roomId: 'r', openedAt: 1, seq: 1 })).toBe(RecordKind.OutboxItem);
    });
});

describe('association keys', () => {
    it('keeps the keys 0.1.0 wrote, so its records are found after an upgrade', () => {
        expect(Keys.contact('c').getID()).toBe('conversation:contact:c');
        expect(Keys.room('r').getID()).toBe('conversation:room:r');
        expect(Keys.seenMessages('c').getID()).toBe('seen-messages:c');
        expect(Keys.handoffClaims('c').getID()).toBe('handoff-claim:c');
        expect(Keys.handoffClaim('n').getID()).toBe('handoff-claim-nonce:n');
        expect(Keys.sentEdits('c').getID()).toBe('edits:c');
        expect(Keys.sentEdit('m', 5).getID()).toBe('edit:m:5');
        expect(Keys.outbox().getID()).toBe('outbox');
        expect(Keys.contactOutbox('c').getID()).toBe('outbox:c');
        expect(Keys.outboxItem('i').getID()).toBe('outbox-item:i');
        expect(Keys.visitorTokenKey().getID()).toBe('visitor-token-key');
    });

    it('gives each kind one fixed array (updates match it exactly, order included)', () => {
        const ids = (keys: Array<{ getID(): string }>) => keys.map((key) => key.getID());
        expect(ids(associationsOf.conversation({ contactUuid: 'c', roomId: 'r' }))).toEqual([
            'conversation:contact:c',
            'conversation:room:r',
        ]);
        expect(ids(associationsOf.seenMessages('c'))).toEqual(['conversation:contact:c', 'seen-messages:c']);
        expect(ids(associationsOf.outboxItem({ id: 'i', contactUuid: 'c', roomId: 'r' }))).toEqual([
            'outbox',
            'outbox:c',
            'outbox-item:i',
            'conversation:room:r',
        ]);
        expect(ids(associationsOf.outboxItem({ id: 'i', contactUuid: 'c' }))).toEqual(['outbox', 'outbox:c', 'outbox-item:i']);
    });
});
