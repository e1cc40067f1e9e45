/**
 * The admin's "not delivered in the last 24 h" and the outbox recovery's reads: counted per hour,
 * old hours dropped, waiting items brought forward only when nobody is sending them.
 */
import { DeliveryFailures } from '../../src/domain/DeliveryFailures';
import { OutboxRecovery } from '../../src/domain/OutboxRecovery';
import { OutboxStore } from '../../src/domain/OutboxStore';
import { MemoryPersistence } from './support/memoryPersistence';

const HOUR = 3600 * 1000;

describe('DeliveryFailures', () => {
    it('counts the failures of the last 24 hours and remembers the newest reason', async () => {
        let now = Date.UTC(2026, 0, 10, 8, 30);
        const failures = new DeliveryFailures(() => now);
        const db = new MemoryPersistence();
        await failures.record(db, db, 'RapidPro refused: invalid contact');
        now += 10 * 60 * 1000;
        await failures.record(db, db, 'gave up after 12 attempts: timeout');
        now += 3 * HOUR;
        await failures.record(db, db, 'RapidPro refused: flow not found');
        const tally = await failures.lastDay(db);
        expect(tally.count).toBe(3);
        expect(tally.lastReason).toBe('RapidPro refused: flow not found');
        expect(tally.lastAt).toBe(now);

        now += 22 * HOUR; // the first two are now more than 24 h old
        expect((await failures.lastDay(db)).count).toBe(1);
        await failures.record(db, db, 'again');
        expect((await failures.lastDay(db)).count).toBe(2);
        // the hour of the first two was removed, not kept forever
        expect(db.size).toBeLessThanOrEqual(2);
    });

    it('never throws into the delivery that failed', async () => {
        const broken = {
            readByAssociation: async () => {
                throw new Error('db down');
            },
        };
        await expect(new DeliveryFailures().record(broken as never, broken as never, 'x')).resolves.toBeUndefined();
    });
});

describe('OutboxRecovery', () => {
    it('summarises what waits and makes the waiting items due now', async () => {
        let now = 1_000_000;
        const db = new MemoryPersistence();
        const store = new OutboxStore(() => now);
        const [a] = await store.create(db, 'contact-a', 'room-a', [{ kind: 'message', text: 'one', summary: 'one' }]);
        const [b] = await store.create(db, 'contact-b', 'room-b', [{ kind: 'message', text: 'two', summary: 'two' }]);
        const [c] = await store.create(db, 'contact-c', 'room-c', [{ kind: 'message', text: 'three', summary: 'three' }]);
        now += 1000;
        await store.save(db, { ...a, attempts: 4, nextAttemptAt: now + 10 * 60 * 1000, lastError: 'RapidPro answered HTTP 503' });
        await store.save(db, { ...b, attempts: 2, nextAttemptAt: now + 60 * 1000 });
        const [d] = await store.create(db, 'contact-d', 'room-d', [{ kind: 'message', text: 'four', summary: 'four' }]);
        // A 429: its reason reads like any other, the flag tells; it waits for budget, a probe would only spend more.
        await store.save(db, { ...d, attempts: 1, nextAttemptAt: now + 30 * 1000, lastError: 'rate limited', throttled: true });
        const recovery = new OutboxRecovery(() => now);

        const all = await recovery.view(db);
        expect(all.count).toBe(4);
        expect(all.oldestAt).toBe(1_000_000);
        expect(all.nextTryAt).toBe(c.nextAttemptAt); // c is due already
        expect((await recovery.view(db, 'room-a')).lastError).toBe('RapidPro answered HTTP 503');
        expect((await recovery.waitingAfterFailure(db)).map((item) => item.contactUuid).sort()).toEqual(['contact-a', 'contact-b']);

        const moved = await recovery.makeDue(db, db);
        // The admin's retry moves the throttled one too; c was due already.
        expect(moved.items).toBe(3);
        expect(moved.contacts.sort()).toEqual(['contact-a', 'contact-b', 'contact-d']);
        expect((await store.byId(db, a.id))?.nextAttemptAt).toBe(now);
        expect((await store.byId(db, a.id))?.attempts).toBe(4);
    });

    it('remembers across calls whether the probe saw RapidPro down', async () => {
        const db = new MemoryPersistence();
        const recovery = new OutboxRecovery();
        expect(await recovery.probeSawDown(db)).toBe(false);
        await recovery.rememberProbe(db, true);
        expect(await new OutboxRecovery().probeSawDown(db)).toBe(true);
        await recovery.rememberProbe(db, false);
        expect(await recovery.probeSawDown(db)).toBe(false);
    });
});
