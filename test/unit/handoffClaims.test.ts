/** Handoff claims across instances: a handoff goes ahead only when its claim is the only live one. */
import { HandoffClaims } from '../../src/domain/HandoffClaims';
import { associationsOf, Keys } from '../../src/domain/records';
import { CLAIM_TTL_MS } from '../../src/lib/limits';
import { FakeClock } from './support/fakes';
import { MemoryPersistence } from './support/memoryPersistence';

const CONTACT = '5d76d86b-3bb9-4d5a-b822-c9d86f5d8e4b';
const OTHER = '0b6f6f3c-2b8e-4f4e-9d6a-3c1f0f9a7e21';

function setup() {
    const persistence = new MemoryPersistence();
    const clock = new FakeClock();
    const instance = () => new HandoffClaims(persistence, persistence, clock.now);
    return { persistence, clock, instance };
}

describe('HandoffClaims', () => {
    it('lets a lone handoff go ahead, and release removes its claim', async () => {
        const t = setup();
        const claims = t.instance();
        const claim = await claims.stake(CONTACT);
        expect(await claims.isOnlyLive(claim)).toBe(true);
        await claims.release(claim);
        expect(t.persistence.dataWith(Keys.handoffClaims(CONTACT).getID())).toEqual([]);
    });

    it('stops both of two simultaneous handoffs of one contact on two instances (never two rooms)', async () => {
        const t = setup();
        const a = t.instance();
        const b = t.instance();
        const [claimA, claimB] = await Promise.all([a.stake(CONTACT), b.stake(CONTACT)]);
        expect(claimA.nonce).not.toBe(claimB.nonce);
        expect(await a.isOnlyLive(claimA)).toBe(false);
        expect(await b.isOnlyLive(claimB)).toBe(false);

        // B steps back and releases: only B's claim goes; A's still blocks, and a retry of B goes ahead after A's.
        await b.release(claimB);
        expect(await a.isOnlyLive(claimA)).toBe(true);
        const retry = await b.stake(CONTACT);
        expect(await b.isOnlyLive(retry)).toBe(false);
        await a.release(claimA);
        expect(await b.isOnlyLive(retry)).toBe(true);
    });

    it('lets a stale claim (a handoff that died half way) expire after CLAIM_TTL_MS', async () => {
        const t = setup();
        await t.instance().stake(CONTACT); // never released
        t.clock.advance(CLAIM_TTL_MS - 1);
        const early = await t.instance().stake(CONTACT);
        expect(await t.instance().isOnlyLive(early)).toBe(false);
        t.clock.advance(1);
        // The dead claim no longer counts; the early one is still live for a later handoff.
        const later = await t.instance().stake(CONTACT);
        await t.instance().release(early);
        expect(await t.instance().isOnlyLive(later)).toBe(true);
    });

    it("never blocks on another contact's claim", async () => {
        const t = setup();
        await t.instance().stake(OTHER);
        const mine = await t.instance().stake(CONTACT);
        expect(await t.instance().isOnlyLive(mine)).toBe(true);
    });

    it('counts a claim written by 0.1.0 (no kind tag) during an upgrade', async () => {
        const t = setup();
        const legacy = { contactUuid: CONTACT, nonce: 'legacy', at: t.clock.value };
        await t.persistence.createWithAssociations(legacy, associationsOf.handoffClaim(legacy));
        const claims = t.instance();
        const mine = await claims.stake(CONTACT);
        expect(await claims.isOnlyLive(mine)).toBe(false);
    });
});
