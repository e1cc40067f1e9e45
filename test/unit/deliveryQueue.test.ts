/**
 * The outbox without the engine: DeliveryQueue objects (one per "instance") on one in-memory
 * persistence with the real server's semantics, RapidPro behind a scripted IHttp, a hand-moved clock.
 */
import type { OutboundDraft, RoomCatchUp } from '../../src/domain/DeliveryQueue';
import { type ForwardLog, ForwardLogs, newForwardLog } from '../../src/domain/ForwardLog';
import { associationsOf, Keys, RecordKind } from '../../src/domain/records';
import { CLAIM_TTL_MS } from '../../src/lib/limits';
import { deliveryContext, FakeRapidPro, outboxFixture, testConfig } from './support/fakes';

const CONTACT = '5d76d86b-3bb9-4d5a-b822-c9d86f5d8e4b';
const OTHER = '0b6f6f3c-2b8e-4f4e-9d6a-3c1f0f9a7e21';
const ROOM = 'room-1';

function texts(...parts: string[]): OutboundDraft[] {
    return parts.map((text) => ({ kind: 'message', text, summary: `the message "${text}"` }));
}

function setup() {
    const fixture = outboxFixture();
    const ctx = (config = testConfig()) => deliveryContext(fixture.persistence, fixture.rapidPro, fixture.scheduler, config);
    const outbox = (contact = CONTACT) => fixture.outbox(contact);
    return { ...fixture, ctx, outbox };
}

describe('DeliveryQueue', () => {
    it('writes each call before trying it, sends in order and removes what RapidPro took', async () => {
        const t = setup();
        const queue = t.instance();
        await queue.enqueue(t.ctx(), CONTACT, ROOM, texts('one', 'two', 'three'));
        expect(t.rapidPro.texts()).toEqual(['one', 'two', 'three']);
        expect(t.rapidPro.requests.every((r) => r.body?.contact === CONTACT)).toBe(true);
        expect(t.outbox()).toEqual([]);
        // Created (3), then removed (3): nothing was sent before it was stored.
        const ops = t.persistence.writes.filter((w) => w.keys.indexOf('outbox') >= 0).map((w) => w.op);
        expect(ops.slice(0, 3)).toEqual(['create', 'create', 'create']);
        expect(ops.filter((op) => op === 'remove')).toHaveLength(3);
    });

    it('leaves a webhook call to a job: nothing sent, a drain scheduled now for the contact', async () => {
        const t = setup();
        await t.instance().enqueue(t.ctx(), CONTACT, ROOM, texts('hello'), { sendNow: false });
        expect(t.rapidPro.requests).toEqual([]);
        expect(t.outbox()).toHaveLength(1);
        expect(t.scheduler.drains()).toEqual([{ contactUuid: CONTACT, when: t.clock.value }]);
    });

    it('keeps the order by seq across a failed first part: part 2 never overtakes part 1', async () => {
        const t = setup();
        const queue = t.instance();
        t.rapidPro.answer(FakeRapidPro.status(503));
        await queue.enqueue(t.ctx(), CONTACT, ROOM, texts('part 1', 'part 2'));
        expect(t.rapidPro.texts()).toEqual(['part 1']);
        const waiting = t.outbox().sort((a, b) => Number(a.seq) - Number(b.seq));
        expect(waiting.map((item) => item.text)).toEqual(['part 1', 'part 2']);
        expect(waiting[0].attempts).toBe(1);
        expect(waiting[0].lastError).toContain('503');
        // No claim is left behind: whichever instance runs the job may send it.
        expect(t.persistence.dataWith(Keys.handoffClaims(CONTACT).getID())).toEqual([]);
        const [job] = t.scheduler.drains();
        expect(job.when).toBe(waiting[0].nextAttemptAt);
        expect(t.logger.at('warn').join('\n')).toMatch(/retrying in \d+ s/);

        // A fresh agent message of the same contact queues behind the waiting part.
        await queue.enqueue(t.ctx(), CONTACT, ROOM, texts('later'));
        expect(t.rapidPro.texts()).toEqual(['part 1']);

        t.clock.value = job.when;
        await queue.drain(t.ctx(), CONTACT, { dueBy: job.when });
        expect(t.rapidPro.texts()).toEqual(['part 1', 'part 1', 'part 2', 'later']);
        expect(t.outbox()).toEqual([]);
    });

    it("does not hold up other contacts while one contact's head item waits", async () => {
        const t = setup();
        const queue = t.instance();
        t.rapidPro.answer(new Error('connect ECONNREFUSED'));
        await queue.enqueue(t.ctx(), CONTACT, ROOM, texts('stuck'));
        await queue.enqueue(t.ctx(), OTHER, 'room-2', texts('free'));
        expect(t.rapidPro.texts()).toEqual(['stuck', 'free']);
        expect(t.outbox(OTHER)).toEqual([]);
        expect(t.outbox(CONTACT)).toHaveLength(1);
    });

    it("leaves the contact's calls to the instance that is sending them, which sends each once", async () => {
        const t = setup();
        const a = t.instance();
        const b = t.instance();
        await a.enqueue(t.ctx(), CONTACT, ROOM, texts('only once'), { sendNow: false });
        let answer!: () => void;
        t.rapidPro.answer(
            new Promise((resolve) => {
                answer = () => resolve(FakeRapidPro.status(201, { uuid: 'x' }));
            }),
        );
        const sending = a.drain(t.ctx(), CONTACT); // A holds the send claim and waits for RapidPro
        await new Promise((resolve) => setTimeout(resolve, 10));
        expect(t.rapidPro.requests).toHaveLength(1);

        await b.enqueue(t.ctx(), CONTACT, ROOM, texts('from b')); // B, on another instance, finds the claim held
        expect(t.rapidPro.requests).toHaveLength(1);
        // B looks again a moment later, by a job.
        const retry = t.scheduler.drains().pop()!;
        expect(retry.when).toBeGreaterThan(t.clock.value);
        expect(retry.when).toBeLessThanOrEqual(t.clock.value + 2000);

        answer();
        await sending;
        t.clock.value = retry.when;
        await b.drain(t.ctx(), CONTACT, { dueBy: retry.when });
        expect(t.rapidPro.texts()).toEqual(['only once', 'from b']);
        expect(t.outbox()).toEqual([]);
    });

    it('takes over from an instance that stopped holding the claim, and asks RapidPro before sending its call again', async () => {
        const t = setup();
        const b = t.instance();
        await t.instance().enqueue(t.ctx(), CONTACT, ROOM, texts('in flight', 'next'), { sendNow: false });
        // An instance staked its claim, sent "in flight" (RapidPro has it) and stopped before writing it down.
        const dead = { record: RecordKind.HandoffClaim, contactUuid: CONTACT, purpose: 'send', nonce: 'dead', at: t.clock.value };
        await t.persistence.createWithAssociations(dead, [
            Keys.handoffClaims(CONTACT),
            Keys.contactOutbox(CONTACT),
            Keys.handoffClaim('dead'),
        ]);
        t.rapidPro.listed = [{ direction: 'out', text: 'in flight' }];

        await b.drain(t.ctx(), CONTACT);
        expect(t.rapidPro.texts()).toEqual([]); // still held

        t.clock.advance(CLAIM_TTL_MS);
        await b.drain(t.ctx(), CONTACT, { dueBy: t.clock.value });
        expect(t.rapidPro.texts()).toEqual(['next']);
        expect(t.rapidPro.requests.filter((r) => r.method === 'get')).toHaveLength(1);
        expect(t.outbox()).toEqual([]);
        expect(t.persistence.dataWith(Keys.handoffClaims(CONTACT).getID())).toEqual([]);
    });

    describe('a drain started before the conversation is read (begin)', () => {
        it('sends with the claim it staked early, writes the item first, and leaves no claim behind', async () => {
            const t = setup();
            const queue = t.instance();
            const early = queue.begin(t.ctx(), CONTACT, ROOM);
            expect(early).toBeDefined();
            await queue.enqueue(t.ctx(), CONTACT, ROOM, texts('early'), { sendNow: true, early });
            expect(t.rapidPro.texts()).toEqual(['early']);
            const ops = t.persistence.writes.map((w) => `${w.op}:${w.keys.indexOf('outbox') >= 0 ? 'item' : w.keys[0]}`);
            expect(ops.indexOf('create:item')).toBeGreaterThan(ops.findIndex((op) => op.startsWith('create:misc:handoff-claim')));
            expect(t.outbox()).toEqual([]);
            expect(t.persistence.dataWith(Keys.handoffClaims(CONTACT).getID())).toEqual([]);
        });

        it('gives the lock and the claim back when abandoned: the next reply of the contact goes at once', async () => {
            const t = setup();
            const queue = t.instance();
            const early = queue.begin(t.ctx(), CONTACT, ROOM);
            expect(queue.begin(t.ctx(), CONTACT, ROOM)).toBeUndefined(); // the contact is busy here
            await early?.abandon();
            await early?.abandon(); // twice is once
            expect(t.persistence.dataWith(Keys.handoffClaims(CONTACT).getID())).toEqual([]);
            await queue.enqueue(t.ctx(), CONTACT, ROOM, texts('after'));
            expect(t.rapidPro.texts()).toEqual(['after']);
            expect(t.scheduler.drains()).toEqual([]); // no step back for a claim of its own
        });

        it("keeps the contact's order: a reply queued here meanwhile waits, and what happened first goes first", async () => {
            const t = setup();
            const queue = t.instance();
            const at = (text: string, when: number): OutboundDraft => ({ kind: 'message', text, at: when, summary: text });
            const early = queue.begin(t.ctx(), CONTACT, ROOM);
            // Another of the contact's calls (a later moment) is queued while the early drain holds the contact.
            const later = queue.enqueue(t.ctx(), CONTACT, 'room-2', [at('second', t.clock.value - 5)]);
            await queue.enqueue(t.ctx(), CONTACT, ROOM, [at('first', t.clock.value - 10)], { sendNow: true, early });
            await later;
            expect(t.rapidPro.texts()).toEqual(['first', 'second']);
            expect(t.outbox()).toEqual([]);
        });

        it('steps back like any drain when another instance holds the contact: its reply stays queued for a job', async () => {
            const t = setup();
            const other = { record: RecordKind.HandoffClaim, contactUuid: CONTACT, purpose: 'send', nonce: 'other', at: t.clock.value };
            await t.persistence.createWithAssociations(other, [
                Keys.handoffClaims(CONTACT),
                Keys.contactOutbox(CONTACT),
                Keys.handoffClaim('other'),
            ]);
            const queue = t.instance();
            const early = queue.begin(t.ctx(), CONTACT, ROOM);
            await queue.enqueue(t.ctx(), CONTACT, ROOM, texts('waits'), { sendNow: true, early });
            expect(t.rapidPro.texts()).toEqual([]);
            expect(t.outbox().map((item) => item.text)).toEqual(['waits']);
            expect(t.scheduler.drains()).toHaveLength(1);
            expect(t.persistence.dataWith(Keys.handoffClaims(CONTACT).getID()).map((claim) => claim.nonce)).toEqual(['other']);
        });
    });

    it('gives up past retry_max_age_hours: the agent is told, the admin reads an error, the next item goes', async () => {
        const t = setup();
        const queue = t.instance();
        const config = testConfig({ retry_max_age_hours: 1 });
        t.rapidPro.answer(FakeRapidPro.status(502));
        await queue.enqueue(t.ctx(config), CONTACT, ROOM, texts('old', 'new'));
        expect(t.notifier.notices).toEqual([]);

        t.clock.advance(3600 * 1000);
        t.rapidPro.answer(FakeRapidPro.status(502));
        await queue.drain(t.ctx(config), CONTACT);
        expect(t.rapidPro.texts()).toEqual(['old', 'old', 'new']);
        expect(t.notifier.notices).toHaveLength(1);
        expect(t.notifier.notices[0]).toEqual({ roomId: ROOM, text: expect.stringContaining('gave up: the message "old"') });
        expect(t.logger.at('error').join('\n')).toContain('gave up');
        expect(t.outbox()).toEqual([]);
    });

    it('does not retry a refusal (400): the agent and the admin are told, later items still go', async () => {
        const t = setup();
        t.rapidPro.answer(FakeRapidPro.status(400, { fields: ['unknown field'] }));
        await t.instance().enqueue(t.ctx(), CONTACT, ROOM, texts('refused', 'next'));
        expect(t.rapidPro.texts()).toEqual(['refused', 'next']);
        expect(t.notifier.notices.map((n) => n.text)).toEqual([expect.stringMatching(/^Not delivered to the contact: .*unknown field/)]);
        expect(t.logger.at('error')).toHaveLength(1);
        expect(t.scheduler.jobs).toEqual([]);
    });

    it('logs the token refusal as an error and never the token, a text or a URL', async () => {
        const t = setup();
        t.rapidPro.answer(FakeRapidPro.status(403, { detail: 'Invalid token' }));
        await t.instance().enqueue(t.ctx(), CONTACT, ROOM, texts('private words'));
        t.rapidPro.answer(new Error('error sending request for url (https://rapidpro.example.org/api/v2/messages.json)'));
        await t.instance().enqueue(t.ctx(), CONTACT, ROOM, texts('more private words'));
        expect(t.logger.at('error').join('\n')).toContain('rejected the API token');
        const everything = t.logger.lines.map((line) => line.message).join('\n');
        expect(everything).not.toContain('secret-token');
        expect(everything).not.toContain('private words');
        expect(everything).toContain('could not be reached');
        expect(everything).not.toMatch(/https?:/);
    });

    it('uploads a file once: a retry after the message failed sends the stored media uuid', async () => {
        const t = setup();
        const queue = t.instance();
        const ctx = deliveryContextWithUpload(t);
        const file = { uploadId: 'u1', name: 'scan.pdf', contentType: 'application/pdf' };
        let fail!: () => void;
        const slowFailure = new Promise<ReturnType<typeof FakeRapidPro.status>>((resolve) => {
            fail = () => resolve(FakeRapidPro.status(500));
        });
        t.rapidPro.answer(FakeRapidPro.status(201, { uuid: 'media-1' }), slowFailure);
        const sending = queue.enqueue(ctx, CONTACT, ROOM, [{ kind: 'message', file, summary: 'the file' }]);
        await new Promise((resolve) => setTimeout(resolve, 20));
        // Saved before the message goes: an instance stopping now leaves no second upload to do.
        expect(t.rapidPro.requests.map((r) => r.path)).toEqual(['media.json', 'messages.json']);
        expect(t.outbox()[0].mediaUuid).toBe('media-1');
        fail();
        await sending;
        expect(t.outbox()[0]).toMatchObject({ mediaUuid: 'media-1', attempts: 1 });

        t.clock.value = t.scheduler.drains()[0].when;
        await queue.drain(ctx, CONTACT);
        expect(t.rapidPro.requests.map((r) => r.path)).toEqual(['media.json', 'messages.json', 'messages.json']);
        expect(t.rapidPro.requests[2].body).toEqual({ contact: CONTACT, attachments: ['media-1'] });
    });

    it('sends the calls a 0.1.0 installation left in its outbox (records without a kind tag)', async () => {
        const t = setup();
        const now = t.clock.value;
        const legacy = {
            kind: 'contact_fields',
            fields: { status: 'open' },
            summary: 'the contact status field',
            id: `${now * 1000}-abcd`,
            contactUuid: CONTACT,
            roomId: ROOM,
            seq: now * 1000,
            createdAt: now,
            attempts: 2,
            nextAttemptAt: now,
        };
        await t.persistence.createWithAssociations(legacy, associationsOf.outboxItem(legacy));
        expect(await t.instance().hasPending(t.ctx().read, CONTACT)).toBe(true);
        await t.instance().drain(t.ctx(), CONTACT);
        expect(t.rapidPro.requests).toEqual([
            { method: 'post', path: `contacts.json?uuid=${CONTACT}`, body: { fields: { status: 'open' } } },
        ]);
        expect(t.outbox()).toEqual([]);
    });

    it('tags every item it writes', async () => {
        const t = setup();
        await t.instance().enqueue(t.ctx(), CONTACT, ROOM, texts('a', 'b'), { sendNow: false });
        expect(t.persistence.dataWith(Keys.outbox().getID()).map((item) => item.record)).toEqual([
            RecordKind.OutboxItem,
            RecordKind.OutboxItem,
        ]);
    });

    describe('agent messages across instances (forward log, close marker, catch-up)', () => {
        const reply = (messageId: string, at: number, text: string): OutboundDraft => ({
            kind: 'message',
            text,
            at,
            source: { messageId, part: 0, parts: 1 },
            summary: `the message "${text}"`,
        });
        const logOf = (t: ReturnType<typeof setup>) =>
            t.persistence.dataWith(Keys.forwardLog(ROOM).getID())[0] as unknown as ForwardLog | undefined;

        it('sends a part once when the event and the catch-up both queued it, and writes it down', async () => {
            const t = setup();
            await ForwardLogs.create(t.persistence, newForwardLog(CONTACT, ROOM, t.clock.value - 60000));
            const queue = t.instance();
            await queue.enqueue(t.ctx(), CONTACT, ROOM, [reply('m1', t.clock.value - 10, 'hello')], { sendNow: false });
            await queue.enqueue(t.ctx(), CONTACT, ROOM, [reply('m1', t.clock.value - 10, 'hello')], { sendNow: false });
            await queue.drain(t.ctx(), CONTACT);
            expect(t.rapidPro.texts()).toEqual(['hello']);
            expect(t.outbox()).toEqual([]);
            expect(logOf(t)?.sent).toEqual(['m1#0']);
            // A copy written even later (a slow event on another instance) is dropped too.
            await queue.enqueue(t.ctx(), CONTACT, ROOM, [reply('m1', t.clock.value - 10, 'hello')]);
            expect(t.rapidPro.texts()).toEqual(['hello']);
        });

        it("orders by when things happened: a reply whose event came late still goes before the room's close", async () => {
            const t = setup();
            await ForwardLogs.create(t.persistence, newForwardLog(CONTACT, ROOM, t.clock.value - 60000));
            const queue = t.instance();
            const closedAt = t.clock.value - 100;
            const close: OutboundDraft[] = [
                { kind: 'room_closed', closedAt, at: closedAt, summary: 'the end of the chat' },
                { kind: 'message', text: 'Chat closed.', at: closedAt, summary: 'the closed notice' },
            ];
            await queue.enqueue(t.ctx(), CONTACT, ROOM, close, { sendNow: false });
            await queue.enqueue(t.ctx(), CONTACT, ROOM, [reply('m9', closedAt - 1, 'last words')], { sendNow: false });
            await queue.drain(t.ctx(), CONTACT);
            expect(t.rapidPro.texts()).toEqual(['last words', 'Chat closed.']);
            expect(logOf(t)).toMatchObject({ closedAt, sent: ['m9#0'] }); // kept as a tombstone
        });

        it('never sends a reply that was given up (forgo), and writes it down so no catch-up sends it', async () => {
            const t = setup();
            await ForwardLogs.create(t.persistence, newForwardLog(CONTACT, ROOM, t.clock.value - 60000));
            await t
                .instance()
                .enqueue(t.ctx(), CONTACT, ROOM, [
                    { kind: 'forgo', at: t.clock.value - 5, source: { messageId: 'held', part: 0, parts: 1 }, summary: 'held' },
                ]);
            expect(t.rapidPro.requests).toEqual([]);
            expect(logOf(t)?.sent).toEqual(['held#0']);
            expect(t.outbox()).toEqual([]);
        });

        it('queues the messages the catch-up found first, in the room order, then what came after them', async () => {
            const t = setup();
            await ForwardLogs.create(t.persistence, newForwardLog(CONTACT, ROOM, t.clock.value - 60000));
            const queue = t.instance();
            const now = t.clock.value;
            const seen: Array<Set<string>> = [];
            const prefetchedRooms: Array<string | undefined> = [];
            const catchUp: RoomCatchUp = {
                prefetch: (_ctx, roomId) => ({ roomId, limit: 10, messages: Promise.resolve([]) }),
                missed: async (_ctx, _log, waiting, options) => {
                    prefetchedRooms.push(options?.prefetched?.roomId);
                    seen.push(new Set(waiting));
                    // Two messages of the same millisecond: the room's order decides.
                    return waiting.has('late')
                        ? { drafts: [reply('b', now - 50, 'second'), reply('a', now - 50, 'first')], order: ['a', 'b', 'late'] }
                        : { drafts: [], order: [] };
                },
            };
            queue.useCatchUp(catchUp);
            await queue.enqueue(t.ctx(), CONTACT, ROOM, [reply('late', now - 10, 'third')]);
            expect(t.rapidPro.texts()).toEqual(['first', 'second', 'third']);
            expect(seen[0].has('late')).toBe(true); // what already waits is never caught up again
            expect(prefetchedRooms[0]).toBe(ROOM); // the event's room was read while the claim was staked
        });
    });
});

function deliveryContextWithUpload(t: ReturnType<typeof setup>) {
    return deliveryContext(t.persistence, t.rapidPro, t.scheduler, testConfig(), { u1: Buffer.from('%PDF-1.4') });
}
