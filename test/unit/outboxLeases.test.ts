/** Leases on outbox items: which of several instances sends an item (read, write, read back). */
import { OutboxLeases } from '../../src/domain/OutboxLeases';
import type { OutboxItem } from '../../src/domain/outboxItems';
import { OutboxStore } from '../../src/domain/OutboxStore';
import { LEASE_MS } from '../../src/lib/limits';
import { FakeClock } from './support/fakes';
import { MemoryPersistence } from './support/memoryPersistence';

const CONTACT = '5d76d86b-3bb9-4d5a-b822-c9d86f5d8e4b';

async function setup() {
    const persistence = new MemoryPersistence();
    const clock = new FakeClock();
    const store = new OutboxStore(clock.now);
    const [item] = await store.create(persistence, CONTACT, 'room-1', [{ kind: 'message', text: 'hi', summary: 'hi' }]);
    const instance = () => new OutboxLeases(new OutboxStore(clock.now));
    const stored = async () => (await store.byId(persistence, item.id)) as OutboxItem;
    return { persistence, clock, store, item, instance, stored };
}

describe('OutboxLeases', () => {
    it('leases a free item to the instance that asks, for LEASE_MS, in persistence', async () => {
        const t = await setup();
        const a = t.instance();
        expect(await a.take(t.persistence, t.persistence, { ...t.item }, t.clock.value)).toBe(true);
        expect(await t.stored()).toMatchObject({ leaseOwner: a.owner, leaseUntil: t.clock.value + LEASE_MS });
        expect(OutboxLeases.isFree(await t.stored(), t.clock.value)).toBe(false);
    });

    it('refuses an item another instance holds, and says until when', async () => {
        const t = await setup();
        const a = t.instance();
        const b = t.instance();
        await a.take(t.persistence, t.persistence, { ...t.item }, t.clock.value);
        t.clock.advance(LEASE_MS - 1);
        const seenByB = { ...t.item };
        expect(await b.take(t.persistence, t.persistence, seenByB, t.clock.value)).toBe(false);
        expect(seenByB.leaseUntil).toBe(t.clock.value + 1);
        expect((await t.stored()).leaseOwner).toBe(a.owner);
    });

    it('takes over an expired lease', async () => {
        const t = await setup();
        const a = t.instance();
        const b = t.instance();
        await a.take(t.persistence, t.persistence, { ...t.item }, t.clock.value);
        t.clock.advance(LEASE_MS);
        expect(await b.take(t.persistence, t.persistence, { ...t.item }, t.clock.value)).toBe(true);
        expect((await t.stored()).leaseOwner).toBe(b.owner);
    });

    it('refuses an item that was sent (removed) since the drain read it', async () => {
        const t = await setup();
        await t.store.remove(t.persistence, t.item);
        expect(await t.instance().take(t.persistence, t.persistence, { ...t.item }, t.clock.value)).toBe(false);
        expect(t.persistence.size).toBe(0); // and nothing was written back
    });

    it('lets the last writer win when two instances lease at the same moment: only one believes it holds it', async () => {
        const t = await setup();
        const a = t.instance();
        const b = t.instance();
        const results = await Promise.all([
            a.take(t.persistence, t.persistence, { ...t.item }, t.clock.value),
            b.take(t.persistence, t.persistence, { ...t.item }, t.clock.value),
        ]);
        expect(results.filter((held) => held)).toHaveLength(1);
        const holder = results[0] ? a : b;
        expect((await t.stored()).leaseOwner).toBe(holder.owner);
    });

    it('releases only the leases this instance holds', async () => {
        const t = await setup();
        const [other] = await t.store.create(t.persistence, CONTACT, 'room-1', [{ kind: 'message', text: 'b', summary: 'b' }]);
        const a = t.instance();
        const b = t.instance();
        const mine = { ...t.item };
        const theirs = { ...other };
        await a.take(t.persistence, t.persistence, mine, t.clock.value);
        await b.take(t.persistence, t.persistence, theirs, t.clock.value);
        await a.releaseOwn(t.persistence, [mine, theirs]);
        expect((await t.stored()).leaseOwner).toBeUndefined();
        expect((await t.store.byId(t.persistence, other.id))?.leaseOwner).toBe(b.owner);
    });
});
