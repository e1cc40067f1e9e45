/**
 * The outbox at RapidPro's rate limit (issue 13): a 429 pauses its scope for every contact (and
 * every instance), replies go over broadcasts while messages.json is paused, waiting replies go
 * as one message and waiting field updates as one, contacts take turns while the budget is short.
 */
import type { DeliveryQueue, OutboundDraft } from '../../src/domain/DeliveryQueue';
import { BACKLOG_WAIT_MS, MERGE_SEPARATOR } from '../../src/domain/backlogPlan';
import { Keys, RecordKind } from '../../src/domain/records';
import { CLAIM_TTL_MS, SCOPE_PAUSE_CACHE_MS } from '../../src/lib/limits';
import { deliveryContext, type FakeClock, FakeRapidPro, outboxFixture, testConfig } from './support/fakes';

const A = '5d76d86b-3bb9-4d5a-b822-c9d86f5d8e4b';
const B = '0b6f6f3c-2b8e-4f4e-9d6a-3c1f0f9a7e21';
const ROOM = 'room-1';

let messageCounter = 0;

/** Agent replies (with their source in the room), written one millisecond apart, the last one now. */
function replies(clock: FakeClock, ...texts: string[]): OutboundDraft[] {
    return texts.map((text) => {
        clock.advance(1);
        return {
            kind: 'message',
            text,
            summary: `the message "${text}"`,
            at: clock.value,
            source: { messageId: `msg-${++messageCounter}`, part: 0, parts: 1 },
        };
    });
}

function throttled(seconds: number) {
    return FakeRapidPro.status(
        429,
        { detail: `Request was throttled. Expected available in ${seconds} seconds.` },
        { 'Retry-After': String(seconds) },
    );
}

function setup() {
    const fixture = outboxFixture();
    const { persistence, rapidPro, scheduler, clock } = fixture;
    const ctx = (overrides: Record<string, unknown> = {}) => deliveryContext(persistence, rapidPro, scheduler, testConfig(overrides));
    const outbox = (contact = A) => fixture.outbox(contact);
    const posts = (endpoint: string) => rapidPro.requests.filter((r) => r.method === 'post' && r.path.indexOf(endpoint) === 0);
    /** Runs the contact's last scheduled drain at its time. */
    const runJob = async (queue: DeliveryQueue, contact: string, config: Record<string, unknown> = {}) => {
        const job = scheduler
            .drains()
            .filter((d) => d.contactUuid === contact)
            .pop();
        if (!job) {
            throw new Error('no drain scheduled');
        }
        clock.value = Math.max(clock.value, job.when);
        await queue.drain(ctx(config), contact, { dueBy: job.when });
    };
    return { ...fixture, ctx, outbox, posts, runJob };
}

describe('at the rate limit: scope pause', () => {
    it('pauses a throttled scope for every contact until Retry-After, spending no request on it; other scopes go on', async () => {
        const t = setup();
        const queue = t.instance();
        const config = { send_mode: 'broadcasts' }; // no other endpoint for replies: they wait
        t.rapidPro.answer(throttled(30));
        await queue.enqueue(t.ctx(config), A, ROOM, replies(t.clock, 'to A'));
        expect(t.posts('broadcasts.json')).toHaveLength(1);
        const until = t.clock.value + 30000;

        await queue.enqueue(t.ctx(config), B, 'room-2', replies(t.clock, 'to B'));
        t.clock.advance(1);
        await queue.enqueue(t.ctx(config), B, 'room-2', [{ kind: 'contact_fields', fields: { bridge_status: 'open' }, summary: 'status' }]);
        expect(t.posts('broadcasts.json')).toHaveLength(1); // B did not ask: the scope is paused
        expect(t.posts('contacts.json')).toHaveLength(0); // behind B's waiting reply (order per contact)
        const [waiting] = t.outbox(B).filter((item) => item.kind === 'message');
        expect(waiting.attempts).toBe(0); // waiting for the scope is no failed attempt
        expect(waiting.nextAttemptAt).toBe(until);
        const job = t.scheduler
            .drains()
            .filter((d) => d.contactUuid === B)
            .pop()!;
        expect(job.when).toBeGreaterThanOrEqual(until);

        // Another contact's field update spends another scope: it goes at once.
        await queue.enqueue(t.ctx(config), 'c-3', 'room-3', [
            { kind: 'contact_fields', fields: { bridge_status: 'open' }, summary: 'status' },
        ]);
        expect(t.posts('contacts.json')).toHaveLength(1);

        // The pause over, B's reply and field update go, in order.
        await t.runJob(queue, B, config);
        expect(t.posts('broadcasts.json').map((r) => r.body?.text)).toEqual(['to A', 'to B']);
        expect(t.posts('contacts.json')).toHaveLength(2);
        expect(t.outbox(B)).toEqual([]);
    });

    it('shares the pause with the other instances through one record, read at most every few seconds', async () => {
        const t = setup();
        const a = t.instance();
        const b = t.instance();
        const config = { send_mode: 'broadcasts' };
        await b.enqueue(t.ctx(config), B, 'room-2', replies(t.clock, 'early')); // b has read the pauses: none
        t.rapidPro.answer(throttled(60));
        await a.enqueue(t.ctx(config), A, ROOM, replies(t.clock, 'to A'));
        const records = t.persistence.dataWith('scope-pause:v2');
        expect(records).toEqual([{ record: RecordKind.ScopePause, scope: 'v2', until: t.clock.value + 60000 }]);

        t.clock.advance(SCOPE_PAUSE_CACHE_MS);
        const reads = jest.spyOn(t.persistence, 'readByAssociation');
        const pauseReads = () => reads.mock.calls.filter(([key]) => key.getID() === 'scope-pauses').length;
        await b.enqueue(t.ctx(config), B, 'room-2', replies(t.clock, 'to B'));
        expect(t.posts('broadcasts.json').map((r) => r.body?.text)).toEqual(['early', 'to A']); // b learnt it: no request
        expect(pauseReads()).toBe(1);
        await b.enqueue(t.ctx(config), B, 'room-2', replies(t.clock, 'again'));
        expect(pauseReads()).toBe(1); // cached
    });

    it('carries replies over broadcasts.json while messages.json is paused, the throttled one first', async () => {
        const t = setup();
        const queue = t.instance();
        t.rapidPro.answer(throttled(30));
        await queue.enqueue(t.ctx(), A, ROOM, replies(t.clock, 'first', 'second'));
        // The 429 paused messages.json; the same reply went at once over broadcasts, then the next one.
        expect(t.posts('messages.json').map((r) => r.body?.text)).toEqual(['first']);
        expect(t.posts('broadcasts.json').map((r) => r.body)).toEqual([
            { contacts: [A], text: 'first' },
            { contacts: [A], text: 'second' },
        ]);
        await queue.enqueue(t.ctx(), B, 'room-2', replies(t.clock, 'to B'));
        expect(t.posts('broadcasts.json').map((r) => r.body?.text)).toEqual(['first', 'second', 'to B']);
        expect(t.posts('messages.json')).toHaveLength(1); // nobody asked the paused scope again
        expect(t.outbox(A)).toEqual([]);
        expect(t.outbox(B)).toEqual([]);

        // Both spent: replies wait, behind the head (order per contact), and go as one when the budget is back.
        t.rapidPro.answer(throttled(30));
        await queue.enqueue(t.ctx(), B, 'room-2', replies(t.clock, 'one'));
        await queue.enqueue(t.ctx(), B, 'room-2', replies(t.clock, 'two'));
        expect(t.posts('broadcasts.json')).toHaveLength(4);
        await t.runJob(queue, B);
        expect(t.posts('messages.json').map((r) => r.body?.text)).toEqual(['first', `one${MERGE_SEPARATOR}two`]);
        expect(t.outbox(B)).toEqual([]);
    });

    it('lifts a pause once RapidPro takes a call of the scope (a scheduler whose clock is ahead ran the retry)', async () => {
        const t = setup();
        const queue = t.instance();
        const config = { send_mode: 'broadcasts' };
        t.rapidPro.answer(throttled(30));
        await queue.enqueue(t.ctx(config), A, ROOM, replies(t.clock, 'to A'));
        const job = t.scheduler.drains().pop()!;
        await queue.drain(t.ctx(config), A, { dueBy: job.when }); // this instance's clock is still before the pause's end
        expect(t.posts('broadcasts.json').map((r) => r.body?.text)).toEqual(['to A', 'to A']);
        await queue.enqueue(t.ctx(config), B, 'room-2', replies(t.clock, 'to B'));
        expect(t.posts('broadcasts.json').map((r) => r.body?.text)).toEqual(['to A', 'to A', 'to B']);
    });

    it('switched off (scope_pause false), each contact learns the 429 on its own', async () => {
        const t = setup();
        const queue = t.instance();
        const config = { scope_pause: false };
        t.rapidPro.answer(throttled(30), throttled(30));
        await queue.enqueue(t.ctx(config), A, ROOM, replies(t.clock, 'to A'));
        await queue.enqueue(t.ctx(config), B, 'room-2', replies(t.clock, 'to B'));
        expect(t.posts('messages.json')).toHaveLength(2);
        expect(t.posts('broadcasts.json')).toHaveLength(0);
        expect(t.persistence.dataWith('scope-pause:')).toEqual([]);
    });

    it('lets contacts take turns while a scope is under pressure: one request per drain, then behind the others', async () => {
        const t = setup();
        const queue = t.instance();
        const config = { coalesce_backlog: false, send_mode: 'broadcasts' };
        t.rapidPro.answer(throttled(5));
        await queue.enqueue(t.ctx(config), A, ROOM, replies(t.clock, 'a1', 'a2', 'a3'));
        t.clock.advance(5000);
        await t.runJob(queue, A, config);
        expect(t.posts('broadcasts.json').map((r) => r.body?.text)).toEqual(['a1', 'a1']);
        const next = t.scheduler.drains().pop()!;
        expect(next).toEqual({ contactUuid: A, when: t.clock.value }); // now, behind the jobs already due
        expect(t.outbox()).toHaveLength(2);
    });
});

describe('at the rate limit: coalescing a backlog', () => {
    it("sends a contact's waiting replies as one message, records every part in the forward log, removes them after", async () => {
        const t = setup();
        const queue = t.instance();
        t.rapidPro.answer(FakeRapidPro.status(503));
        const drafts = replies(t.clock, 'one', 'two', 'three');
        await queue.enqueue(t.ctx(), A, ROOM, drafts);
        expect(t.rapidPro.texts()).toEqual(['one']); // not waiting yet: the head went alone
        await queue.enqueue(t.ctx(), A, ROOM, replies(t.clock, 'four'));
        await t.runJob(queue, A);
        expect(t.rapidPro.texts()).toEqual(['one', ['one', 'two', 'three', 'four'].join(MERGE_SEPARATOR)]);
        expect(t.outbox()).toEqual([]);
        const [log] = t.persistence.dataWith(`forward-log:${ROOM}`) as Array<{ sent: string[] }>;
        expect(log.sent).toEqual(drafts.map((d) => `${d.source!.messageId}#0`).concat([`msg-${messageCounter}#0`]));
    });

    it('keeps every merged item while RapidPro has not taken the merged message', async () => {
        const t = setup();
        const queue = t.instance();
        t.rapidPro.answer(FakeRapidPro.status(503), FakeRapidPro.status(503));
        await queue.enqueue(t.ctx(), A, ROOM, replies(t.clock, 'one', 'two'));
        await t.runJob(queue, A);
        expect(t.rapidPro.texts()).toEqual(['one', `one${MERGE_SEPARATOR}two`]);
        expect(t.outbox()).toHaveLength(2);
        expect(t.persistence.dataWith(`forward-log:${ROOM}`)).toEqual([]);
        await t.runJob(queue, A);
        expect(t.rapidPro.texts().pop()).toBe(`one${MERGE_SEPARATOR}two`);
        expect(t.outbox()).toEqual([]);
    });

    it('sends each part on its own when RapidPro refuses the merged message', async () => {
        const t = setup();
        const queue = t.instance();
        t.rapidPro.answer(
            FakeRapidPro.status(503),
            FakeRapidPro.status(400, { text: ['Ensure this field has no more than 4096 characters.'] }),
        );
        await queue.enqueue(t.ctx(), A, ROOM, replies(t.clock, 'one', 'two'));
        await t.runJob(queue, A);
        expect(t.rapidPro.texts()).toEqual(['one', `one${MERGE_SEPARATOR}two`, 'one', 'two']);
        expect(t.notifier.notices).toEqual([]);
        expect(t.outbox()).toEqual([]);
    });

    it('sends a lone reply alone and at once, and merges nothing with coalesce_backlog off', async () => {
        const t = setup();
        const queue = t.instance();
        await queue.enqueue(t.ctx(), A, ROOM, replies(t.clock, 'alone'));
        expect(t.rapidPro.texts()).toEqual(['alone']);

        t.rapidPro.answer(FakeRapidPro.status(503));
        const config = { coalesce_backlog: false };
        await queue.enqueue(t.ctx(config), A, ROOM, replies(t.clock, 'one', 'two'));
        await t.runJob(queue, A, config);
        expect(t.rapidPro.texts()).toEqual(['alone', 'one', 'one', 'two']);
    });

    it("collapses a contact's waiting field updates into one request with the last value of each field", async () => {
        const t = setup();
        const queue = t.instance();
        t.rapidPro.answer(FakeRapidPro.status(503));
        await queue.enqueue(t.ctx(), A, ROOM, [
            { kind: 'contact_fields', fields: { bridge_status: 'queued', bridge_room: ROOM }, summary: 'queued' },
            { kind: 'contact_fields', fields: { bridge_status: 'open' }, summary: 'open' },
        ]);
        await queue.enqueue(t.ctx(), A, ROOM, [
            { kind: 'contact_fields', fields: { bridge_status: 'closed', bridge_room: null }, summary: 'closed' },
        ]);
        await t.runJob(queue, A);
        const bodies = t.posts('contacts.json').map((r) => r.body);
        expect(bodies).toEqual([
            { fields: { bridge_status: 'queued', bridge_room: ROOM } }, // not waiting yet: alone
            { fields: { bridge_status: 'closed', bridge_room: null } },
        ]);
        expect(t.outbox()).toEqual([]);
    });

    it('sends field updates queued together while nothing waits one by one', async () => {
        const t = setup();
        await t.instance().enqueue(t.ctx(), A, ROOM, [
            { kind: 'contact_fields', fields: { bridge_status: 'queued' }, summary: 'queued' },
            { kind: 'contact_fields', fields: { bridge_status: 'open' }, summary: 'open' },
        ]);
        expect(t.posts('contacts.json')).toHaveLength(2);
        expect(t.outbox()).toEqual([]);
    });

    it("after a stop between the merged send and the removals, takes RapidPro's copy as sent: nothing twice", async () => {
        const t = setup();
        const b = t.instance();
        const drafts = replies(t.clock, 'one', 'two', 'three');
        await t.instance().enqueue(t.ctx(), A, ROOM, drafts, { sendNow: false });
        t.clock.advance(BACKLOG_WAIT_MS);
        // An instance merged "one" and "two" (RapidPro took them) and stopped before removing them.
        const dead = { record: RecordKind.HandoffClaim, contactUuid: A, purpose: 'send', nonce: 'dead', at: t.clock.value };
        await t.persistence.createWithAssociations(dead, [Keys.handoffClaims(A), Keys.contactOutbox(A), Keys.handoffClaim('dead')]);
        t.rapidPro.listed = [{ direction: 'out', text: `one${MERGE_SEPARATOR}two` }];
        t.clock.advance(CLAIM_TTL_MS);
        await b.drain(t.ctx(), A, { dueBy: t.clock.value });
        expect(t.rapidPro.texts()).toEqual(['three']);
        expect(t.outbox()).toEqual([]);
        const [log] = t.persistence.dataWith(`forward-log:${ROOM}`) as Array<{ sent: string[] }>;
        expect(log.sent).toEqual(drafts.map((d) => `${d.source?.messageId}#0`));
    });
});
