/** Claims across instances: work on a contact goes ahead only when its claim is the only live one. */
import { ContactClaims } from '../../src/domain/ContactClaims';
import { associationsOf, Keys } from '../../src/domain/records';
import { CLAIM_TTL_MS } from '../../src/lib/limits';
import { FakeClock } from './support/fakes';
import { MemoryPersistence } from './support/memoryPersistence';

const CONTACT = '5d76d86b-3bb9-4d5a-b822-c9d86f5d8e4b';
const OTHER = '0b6f6f3c-2b8e-4f4e-9d6a-3c1f0f9a7e21';

function setup() {
    const persistence = new MemoryPersistence();
    const clock = new FakeClock();
    const instance = () => new ContactClaims(persistence, persistence, clock.now);
    return { persistence, clock, instance };
}

describe('ContactClaims', () => {
    it('lets a lone handoff go ahead, and release removes its claim', async () => {
        const t = setup();
        const claims = t.instance();
        const claim = await claims.stake(CONTACT, 'inbound');
        expect((await claims.check(claim)).onlyLive).toBe(true);
        await claims.release(claim);
        expect(t.persistence.dataWith(Keys.handoffClaims(CONTACT).getID())).toEqual([]);
    });

    it('stops both of two simultaneous handoffs of one contact on two instances (never two rooms)', async () => {
        const t = setup();
        const a = t.instance();
        const b = t.instance();
        const [claimA, claimB] = await Promise.all([a.stake(CONTACT, 'inbound'), b.stake(CONTACT, 'inbound')]);
        expect(claimA.nonce).not.toBe(claimB.nonce);
        expect((await a.check(claimA)).onlyLive).toBe(false);
        expect((await b.check(claimB)).onlyLive).toBe(false);

        // B steps back and releases: only B's claim goes; A's still blocks, and a retry of B goes ahead after A's.
        await b.release(claimB);
        expect((await a.check(claimA)).onlyLive).toBe(true);
        const retry = await b.stake(CONTACT, 'inbound');
        expect((await b.check(retry)).onlyLive).toBe(false);
        await a.release(claimA);
        expect((await b.check(retry)).onlyLive).toBe(true);
    });

    it('lets a stale claim (a handoff that died half way) expire after CLAIM_TTL_MS', async () => {
        const t = setup();
        await t.instance().stake(CONTACT, 'inbound'); // never released
        t.clock.advance(CLAIM_TTL_MS - 1);
        const early = await t.instance().stake(CONTACT, 'inbound');
        expect((await t.instance().check(early)).onlyLive).toBe(false);
        t.clock.advance(1);
        // The dead claim no longer counts; the early one is still live for a later handoff.
        const later = await t.instance().stake(CONTACT, 'inbound');
        await t.instance().release(early);
        expect((await t.instance().check(later)).onlyLive).toBe(true);
    });

    it("never blocks on another contact's claim", async () => {
        const t = setup();
        await t.instance().stake(OTHER, 'inbound');
        const mine = await t.instance().stake(CONTACT, 'inbound');
        expect((await t.instance().check(mine)).onlyLive).toBe(true);
    });

    it("finds the contact's conversation with the claims, and misses a 0.1.0 claim (stored under the claims key only)", async () => {
        const t = setup();
        const conversation = { record: 'conversation', contactUuid: CONTACT, roomId: 'room-1', visitorToken: 't', openedAt: 1 };
        await t.persistence.createWithAssociations(conversation, associationsOf.conversation(conversation));
        const legacy = { contactUuid: CONTACT, nonce: 'legacy', at: t.clock.value };
        await t.persistence.createWithAssociations(legacy, associationsOf.handoffClaim(legacy));
        const held = await t.instance().acquire(CONTACT, 'inbound', t.clock.value);
        // The upgrade's one gap (README, "Upgrade"): the read that confirms the claim is the conversation's.
        expect(held).toBeDefined();
        expect(held?.records).toContainEqual(conversation);
    });

    it('keeps the two purposes apart: sending the outbox never waits for a webhook call, nor the reverse', async () => {
        const t = setup();
        await t.instance().stake(CONTACT, 'inbound');
        const sending = await t.instance().stake(CONTACT, 'send');
        expect((await t.instance().check(sending)).onlyLive).toBe(true);
    });

    it('lets exactly one of many instances racing for a contact hold it at a time, and every one gets its turn', async () => {
        const t = setup();
        let holders = 0;
        let most = 0;
        const turns: number[] = [];
        await Promise.all(
            [0, 1, 2, 3, 4].map(async (instance) => {
                const claims = t.instance();
                const held = await claims.acquire(CONTACT, 'inbound', t.clock.value + 60000);
                expect(held).toBeDefined();
                holders++;
                most = Math.max(most, holders);
                await new Promise((resolve) => setTimeout(resolve, 5));
                holders--;
                turns.push(instance);
                await claims.release(held!.claim);
            }),
        );
        expect(most).toBe(1);
        expect(turns.sort()).toEqual([0, 1, 2, 3, 4]);
        expect(t.persistence.dataWith(Keys.handoffClaims(CONTACT).getID())).toEqual([]);
    });

    it('gives up at the deadline while another instance holds the contact, leaving no claim behind', async () => {
        const t = setup();
        await t.instance().stake(CONTACT, 'inbound'); // held elsewhere
        const claims = t.instance();
        expect(await claims.acquire(CONTACT, 'inbound', t.clock.value + 10)).toBeUndefined();
        expect(t.persistence.dataWith(Keys.handoffClaims(CONTACT).getID())).toHaveLength(1);
    });
});
