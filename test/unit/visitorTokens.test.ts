/** Visitor tokens: derived from the contact uuid under a per-installation key kept in persistence. */
import { createHmac } from 'node:crypto';

import { associationsOf, Keys, RecordKind } from '../../src/domain/records';
import { VisitorTokens } from '../../src/domain/VisitorTokens';
import { MemoryPersistence } from './support/memoryPersistence';

const CONTACT = '5d76d86b-3bb9-4d5a-b822-c9d86f5d8e4b';
const OTHER = '0b6f6f3c-2b8e-4f4e-9d6a-3c1f0f9a7e21';

function token(key: string, contactUuid: string): string {
    return `rapidpro-${createHmac('sha256', key).update(contactUuid).digest('hex').slice(0, 40)}`;
}

describe('VisitorTokens', () => {
    it('gives a contact the same token on every instance of one installation', async () => {
        const persistence = new MemoryPersistence();
        const first = await new VisitorTokens().tokenFor(CONTACT, persistence, persistence);
        const second = await new VisitorTokens().tokenFor(CONTACT, persistence, persistence);
        expect(second).toBe(first);
        expect(first).toMatch(/^rapidpro-[0-9a-f]{40}$/);
        expect(await new VisitorTokens().tokenFor(OTHER, persistence, persistence)).not.toBe(first);
        expect(persistence.dataWith(Keys.visitorTokenKey().getID())).toEqual([
            { record: RecordKind.VisitorTokenKey, key: expect.stringMatching(/^[0-9a-f]{64}$/), at: expect.any(Number) },
        ]);
    });

    it('is not guessable from the uuid: another installation (another key) gets another token', async () => {
        const here = new MemoryPersistence();
        const there = new MemoryPersistence();
        const a = await new VisitorTokens().tokenFor(CONTACT, here, here);
        const b = await new VisitorTokens().tokenFor(CONTACT, there, there);
        expect(a).not.toBe(b);
        expect(a).not.toContain(CONTACT.replace(/-/g, '').slice(0, 8));
        expect(a).not.toBe(token('', CONTACT));
        const [stored] = here.dataWith(Keys.visitorTokenKey().getID());
        expect(a).toBe(token(String(stored.key), CONTACT)); // only the key makes it
    });

    it('agrees on one key when two instances create one at the same moment (the oldest wins)', async () => {
        const persistence = new MemoryPersistence();
        const [a, b] = await Promise.all([
            new VisitorTokens().tokenFor(CONTACT, persistence, persistence),
            new VisitorTokens().tokenFor(CONTACT, persistence, persistence),
        ]);
        expect(persistence.dataWith(Keys.visitorTokenKey().getID())).toHaveLength(2);
        expect(a).toBe(b);
        expect(await new VisitorTokens().tokenFor(CONTACT, persistence, persistence)).toBe(a);
    });

    it('uses the oldest key whatever order persistence returns them in', async () => {
        const persistence = new MemoryPersistence();
        const newer = { record: RecordKind.VisitorTokenKey, key: 'b'.repeat(64), at: 2 };
        const older = { record: RecordKind.VisitorTokenKey, key: 'c'.repeat(64), at: 1 };
        await persistence.createWithAssociations(newer, associationsOf.visitorTokenKey());
        await persistence.createWithAssociations(older, associationsOf.visitorTokenKey());
        expect(await new VisitorTokens().tokenFor(CONTACT, persistence, persistence)).toBe(token(older.key, CONTACT));
    });

    it('reads the key for the whole instance once, concurrent first calls included', async () => {
        const persistence = new MemoryPersistence();
        const tokens = new VisitorTokens();
        await Promise.all([CONTACT, OTHER, CONTACT].map((contact) => tokens.tokenFor(contact, persistence, persistence)));
        expect(persistence.writes.filter((w) => w.op === 'create')).toHaveLength(1);
    });

    it('keeps the key a 0.1.0 installation made (stored without a kind tag): visitors keep their tokens', async () => {
        const persistence = new MemoryPersistence();
        const key = 'a'.repeat(64);
        await persistence.createWithAssociations({ key, at: 1 }, associationsOf.visitorTokenKey());
        expect(await new VisitorTokens().tokenFor(CONTACT, persistence, persistence)).toBe(token(key, CONTACT));
        expect(persistence.size).toBe(1);
    });
});
