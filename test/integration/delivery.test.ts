import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';

import { type BridgeRig, type Contact, startBridge } from './support/rig';

const MINUTE = 60 * 1000;

/**
 * Nothing lost, nothing doubled, in order: agent messages while RapidPro fails in the ways it does
 * (5xx bursts, 429 with Retry-After, down for a while, 400), with the scheduler's virtual clock.
 */
describe('delivery guarantees when RapidPro misbehaves', () => {
    let rig: BridgeRig;

    beforeAll(async () => {
        rig = await startBridge({
            routing: 'manual',
            settings: { notice_queued: '-', notice_assigned: '-', notice_closed: '-', retry_max_age_hours: 2, request_timeout_ms: 1000 },
        });
    });

    afterEach(async () => {
        rig.sim.setDown(false);
        await runScheduledDrains(); // deliver what a test left behind: the next one starts with an empty outbox
    });

    afterAll(async () => {
        await rig?.stop();
    });

    const openChat = () => rig.openChat();

    const textsTo = (contact: Contact) => rig.sim.sent.filter((m) => m.contact === contact.uuid).map((m) => m.text);
    const attemptsFor = (contact: Contact) =>
        rig.sim.requestsTo('messages.json', 'POST').filter((r) => (r.body as { contact?: string } | undefined)?.contact === contact.uuid);
    const bridgeNotes = (roomId: string) =>
        rig.host.rc
            .messagesOf(roomId)
            .filter((m) => m.u.username === 'rapidpro-bridge.bot')
            .map((m) => m.msg);

    const pendingDrains = () => rig.host.scheduler.pendingJobs().filter((job) => job.name.startsWith('rapidpro-outbox-drain'));

    /**
     * Moves the virtual clock to each scheduled retry in turn and runs it, until none is left
     * (bounded). Only the outbox's own jobs move time, so the clock stays close to the app's.
     */
    async function runScheduledDrains(max = 40): Promise<number> {
        let runs = 0;
        for (; runs < max; runs++) {
            const next = pendingDrains()
                .map((job) => job.nextRunAt!.getTime())
                .sort((a, b) => a - b)[0];
            if (next === undefined) {
                break;
            }
            await rig.host.clock.advance(Math.max(0, next - rig.host.clock.now().getTime()));
        }
        return runs;
    }
    const runRetries = runScheduledDrains;

    it('retries through a burst of 5xx and delivers once', async () => {
        const { contact, roomId } = await openChat();
        rig.sim.failNext(3, { status: 503, path: 'messages.json' });
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'Your results are normal.');
        expect(textsTo(contact)).toEqual([]);
        await runRetries();
        expect(textsTo(contact)).toEqual(['Your results are normal.']);
        expect(attemptsFor(contact).map((r) => r.status)).toEqual([503, 503, 503, 201]);
        expect(bridgeNotes(roomId).filter((n) => /Not delivered|gave up/.test(n))).toEqual([]);
    });

    it('waits as long as a 429 Retry-After asks before trying again', async () => {
        const { contact, roomId } = await openChat();
        rig.sim.failNext(1, { status: 429, retryAfter: 120, path: 'messages.json' });
        // The bridge carries the reply over broadcasts.json while messages.json is paused: that is throttled too.
        rig.sim.failNext(1, { status: 429, retryAfter: 120, path: 'broadcasts.json' });
        const before = Date.now();
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'Please hold on.');
        const retries = pendingDrains();
        expect(retries).toHaveLength(1);
        expect(retries[0].nextRunAt!.getTime() - before).toBeGreaterThanOrEqual(120 * 1000);
        expect(retries[0].nextRunAt!.getTime() - Date.now()).toBeLessThan(130 * 1000);
        expect(attemptsFor(contact)).toHaveLength(1);
        await runRetries();
        expect(textsTo(contact)).toEqual(['Please hold on.']);
        expect(attemptsFor(contact).map((r) => r.status)).toEqual([429, 201]);
    });

    it('keeps 20 messages while RapidPro is down and delivers them once, in order, when it is back', async () => {
        const { contact, roomId } = await openChat();
        rig.sim.setDown(true);
        const texts = Array.from({ length: 20 }, (_, i) => `message ${i + 1} of 20`);
        for (const text of texts) {
            await rig.host.rc.agentSendMessage(roomId, 'alice', text);
        }
        await runScheduledDrains(3); // a few retries while it is still down
        expect(textsTo(contact)).toEqual([]);
        rig.sim.setDown(false);
        await runRetries();
        // They waited: one RapidPro message carries them all, in order (coalesce_backlog).
        expect(textsTo(contact)).toEqual([texts.join('\n\n')]);
        // Nothing waits (the key also finds the room's forward log, which stays while the chat is open).
        const outbox = rig.host
            .persistence()
            .filter((record) => (record.associations || []).some((a) => a.id === `outbox:${contact.uuid}`))
            .filter((record) => (record.data as { record?: string }).record !== 'forward-log');
        expect(outbox).toEqual([]);
    });

    it("does not hold up other contacts while one contact's message waits for a retry", async () => {
        const first = await openChat();
        const second = await openChat();
        rig.sim.failNext(1, { status: 502, path: 'messages.json' });
        await rig.host.rc.agentSendMessage(first.roomId, 'alice', 'to the first contact');
        await rig.host.rc.agentSendMessage(second.roomId, 'alice', 'to the second contact');
        expect(textsTo(second.contact)).toEqual(['to the second contact']);
        expect(textsTo(first.contact)).toEqual([]);
        await rig.host.rc.agentSendMessage(first.roomId, 'alice', 'and a second one to the first');
        expect(textsTo(first.contact)).toEqual([]); // waits behind the first message
        await runRetries();
        // The second waited behind the first: they go together (coalesce_backlog).
        expect(textsTo(first.contact)).toEqual(['to the first contact\n\nand a second one to the first']);
    });

    it('does not retry what RapidPro rejects (400) and tells the agent why; later messages still go', async () => {
        const { contact, roomId } = await openChat();
        rig.sim.failNext(1, { status: 400, path: 'messages.json', body: { text: ['This field is invalid.'] } });
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'a message RapidPro refuses');
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'the next one');
        await runScheduledDrains();
        expect(attemptsFor(contact).map((r) => r.status)).toEqual([400, 201]);
        expect(textsTo(contact)).toEqual(['the next one']);
        const notes = bridgeNotes(roomId).filter((n) => n.includes('Not delivered'));
        expect(notes).toHaveLength(1);
        expect(notes[0]).toContain('This field is invalid.');
        expect(notes[0]).toContain('a message RapidPro refuses');
    });

    it('names the cause when RapidPro refuses the token', async () => {
        const { roomId } = await openChat();
        await rig.host.updateSetting('rapidpro_token', 'revoked-token');
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'hello?');
        await rig.host.updateSetting('rapidpro_token', rig.sim.token);
        expect(bridgeNotes(roomId).filter((n) => /rejected the API token/.test(n))).toHaveLength(1);
    });

    it('gives up after retry_max_age_hours and tells the agent the message was not delivered', async () => {
        const { contact, roomId } = await openChat();
        rig.sim.setDown(true);
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'lost in the storm');
        const attempts = await runScheduledDrains();
        expect(attempts).toBeGreaterThan(5); // backoff: many tries over two hours, not a busy loop
        expect(attempts).toBeLessThan(40);
        const notes = bridgeNotes(roomId).filter((n) => n.includes('gave up'));
        expect(notes).toHaveLength(1);
        expect(notes[0]).toContain('lost in the storm');
        expect(pendingDrains()).toHaveLength(0);
        rig.sim.setDown(false);
        await rig.host.clock.advance(60 * MINUTE);
        expect(textsTo(contact)).toEqual([]);
    });

    it("keeps a new chat's messages behind the previous chat's calls that still wait", async () => {
        const { contact, roomId } = await openChat();
        await rig.host.updateSetting('notice_closed', 'Goodbye');
        rig.sim.failNext(1, { status: 503, path: 'messages.json' });
        await rig.host.rc.agentClose(roomId, 'alice');
        const again = await rig.call('handoff', rig.defaultBody(contact));
        expect(again.body.status).toBe('queued');
        await rig.host.rc.takeRoom(again.body.room_id, 'bob');
        await rig.host.rc.agentSendMessage(again.body.room_id, 'bob', 'Hello again, I am Bob');
        expect(textsTo(contact)).toEqual([]);
        await runRetries();
        expect(textsTo(contact)).toEqual(['Goodbye', 'Hello again, I am Bob']);
        await rig.host.updateSetting('notice_closed', '-');
    });

    it('still delivers when the retry job was lost (an instance stopped): the periodic sweep picks it up', async () => {
        const { contact, roomId } = await openChat();
        rig.sim.failNext(1, { status: 503, path: 'messages.json' });
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'do not lose me');
        const lost = pendingDrains();
        expect(lost).toHaveLength(1);
        rig.host.scheduler.cancel({ _id: lost[0]._id });
        expect(pendingDrains()).toHaveLength(0);
        expect(await rig.waitForBackoff(contact.uuid)).toBe(1);
        const sweep = rig.host.scheduler.pendingJobs().find((job) => job.name.startsWith('rapidpro-outbox-sweep'))!;
        await rig.host.clock.advance(Math.max(0, sweep.nextRunAt!.getTime() - rig.host.clock.now().getTime()));
        expect(textsTo(contact)).toEqual(['do not lose me']);
    });

    it('sends the contact fields and the close notice after the last agent message, in order', async () => {
        const { contact, roomId } = await openChat();
        await rig.host.updateSetting('notice_closed', 'Goodbye');
        rig.sim.failNext(2, { status: 500, path: 'messages.json' });
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'last words');
        await rig.host.rc.agentClose(roomId, 'alice');
        await runRetries();
        expect(textsTo(contact)).toEqual(['last words', 'Goodbye']);
        await rig.host.updateSetting('notice_closed', '-');
    });
});
