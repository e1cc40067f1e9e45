import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';

import { type BridgeRig, type Contact, SECRET, startBridge } from './support/rig';

const MINUTE = 60 * 1000;

/**
 * The admin's view inside Rocket.Chat: `/rapidpro` answers privately with the bridge's state, the
 * serving agent gets their chat's, everyone else a refusal; `/rapidpro flush` sends what waits; and
 * waiting replies go out within a minute after RapidPro recovers, not at their next backoff.
 */
describe('/rapidpro and recovery after an outage', () => {
    let rig: BridgeRig;
    let channelId: string;

    beforeAll(async () => {
        rig = await startBridge({
            routing: 'manual',
            settings: { notice_queued: '-', notice_assigned: '-', notice_closed: '-', request_timeout_ms: 1000 },
        });
        rig.host.rc.createUser({ username: 'dave', name: 'Dave', roles: ['user'] });
        channelId = rig.host.rc.createChannel('general', ['admin', 'alice', 'bob', 'dave'])._id;
    });

    afterEach(async () => {
        rig.sim.setDown(false);
        await rig.host.executeSlashCommand('admin', channelId, '/rapidpro flush'); // the next test starts with an empty outbox
    });

    afterAll(async () => {
        await rig?.stop();
    });

    const textsTo = (contact: Contact) => rig.sim.sent.filter((m) => m.contact === contact.uuid).map((m) => m.text);
    /** What the user saw privately after typing the command in the room. */
    async function command(username: string, roomId: string, text: string): Promise<string> {
        const before = rig.host.rc.ephemeralFor(username).length;
        await rig.host.executeSlashCommand(username, roomId, text);
        const answers = rig.host.rc.ephemeralFor(username).slice(before);
        expect(answers).toHaveLength(1);
        expect(answers[0].rid).toBe(roomId);
        return answers[0].msg;
    }
    const pendingDrains = () => rig.host.scheduler.pendingJobs().filter((job) => job.name.startsWith('rapidpro-outbox-drain'));
    const nextDrainIn = () => Math.min(...pendingDrains().map((job) => job.nextRunAt!.getTime())) - rig.host.clock.now().getTime();

    it("answers an admin privately with the bridge's state, and shows no secret", async () => {
        const messagesBefore = rig.host.rc.messagesOf(channelId).length;
        const text = await command('admin', channelId, '/rapidpro');
        expect(text).toContain('Configured: yes');
        expect(text).toContain('RapidPro: reachable, token accepted');
        expect(text).toContain('Replies waiting: none');
        expect(text).toContain('Not delivered in the last 24 h: 0');
        expect(rig.host.rc.messagesOf(channelId)).toHaveLength(messagesBefore); // nothing posted in the room
        for (const other of ['alice', 'bob', 'dave']) {
            expect(rig.host.rc.ephemeralFor(other)).toEqual([]);
        }
        for (const secret of [rig.sim.token, SECRET]) {
            expect(text).not.toContain(secret);
            expect(rig.host.logText()).not.toContain(secret);
        }
        expect(rig.host.permissionDenials).toEqual([]);
    });

    it('shows the admin what waits and what failed; flush sends it as soon as RapidPro answers', async () => {
        const { contact, roomId } = await rig.openChat();
        rig.sim.failNext(1, { status: 400, path: 'messages.json', body: { text: ['This field is invalid.'] } });
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'refused by RapidPro');
        rig.sim.setDown(true);
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'first while down');
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'second while down');

        const down = await command('admin', channelId, '/rapidpro');
        expect(down).toContain('RapidPro: NOT reachable');
        expect(down).toContain('Replies waiting: 2');
        expect(down).toMatch(/oldest: queued \d+ s ago/);
        expect(down).toMatch(/next try: in \d+ s/);
        expect(down).toContain('last error: RapidPro could not be reached');
        expect(down).toContain('Not delivered in the last 24 h: 1');
        expect(down).toContain('This field is invalid.');

        const stillDown = await command('admin', channelId, '/rapidpro flush');
        expect(stillDown).toContain('Tried 1 waiting call now.'); // the head of the contact's queue; the rest waits behind it
        expect(stillDown).toContain('Replies waiting: 2');
        expect(textsTo(contact)).toEqual([]);

        rig.sim.setDown(false);
        const flushed = await command('admin', channelId, '/rapidpro flush');
        expect(flushed).toBe('Tried 1 waiting call now. Every reply has been delivered.');
        // Both waited (a backlog): they go as one message, in order (coalesce_backlog, on by default).
        expect(textsTo(contact)).toEqual(['first while down\n\nsecond while down']);
        expect(await command('admin', channelId, '/rapidpro')).toContain('Replies waiting: none');
    });

    it("gives the serving agent their chat's state in that chat, and refuses everyone else", async () => {
        const mine = await rig.openChat('alice');
        const theirs = await rig.openChat('bob');
        rig.sim.setDown(true);
        await rig.host.rc.agentSendMessage(theirs.roomId, 'bob', 'waits for RapidPro');

        const own = await command('alice', mine.roomId, '/rapidpro');
        expect(own).toContain(`This chat with ${mine.contact.name}`);
        expect(own).toContain('RapidPro: NOT reachable');
        expect(own).toContain('Replies waiting: none'); // bob's chat is not hers to see
        expect(own).not.toContain('24 h');
        expect(await command('bob', theirs.roomId, '/rapidpro')).toContain('Replies waiting: 1');

        const refusal = /is for administrators/;
        expect(await command('bob', mine.roomId, '/rapidpro')).toMatch(refusal); // not the agent of this chat
        expect(await command('alice', channelId, '/rapidpro')).toMatch(refusal); // not a chat of the bridge
        expect(await command('dave', channelId, '/rapidpro flush')).toMatch(refusal);
        expect(await command('alice', theirs.roomId, '/rapidpro flush')).toMatch(refusal);
        expect(textsTo(theirs.contact)).toEqual([]);

        rig.sim.setDown(false);
        expect(await command('alice', mine.roomId, '/rapidpro flush')).toMatch(/Nothing was waiting/); // her chat only
        expect(textsTo(theirs.contact)).toEqual([]);
        expect(await command('bob', theirs.roomId, '/rapidpro flush')).toContain('Every reply has been delivered');
        expect(textsTo(theirs.contact)).toEqual(['waits for RapidPro']);
    });

    it('sends waiting replies within a minute after RapidPro recovers, not at their next backoff', async () => {
        const { contact, roomId } = await rig.openChat();
        rig.sim.setDown(true);
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'sent during the outage');
        // Retries while RapidPro stays down, until the next one is more than 5 minutes away.
        for (let i = 0; i < 15 && nextDrainIn() < 5 * MINUTE; i++) {
            await rig.host.clock.advance(Math.max(0, nextDrainIn()));
        }
        expect(nextDrainIn()).toBeGreaterThan(5 * MINUTE);
        await rig.host.clock.advance(MINUTE); // the probe sees RapidPro down
        expect(textsTo(contact)).toEqual([]);

        rig.sim.setDown(false);
        await rig.host.clock.advance(MINUTE);
        expect(textsTo(contact)).toEqual(['sent during the outage']);
        expect(nextDrainIn()).toBeGreaterThan(3 * MINUTE); // the backoff's own retry had not come yet
    });

    it('still answers after the admin disables and enables the app again', async () => {
        await rig.host.disableApp();
        await rig.host.enableApp();
        expect(await rig.host.appStatus()).toBe('manually_enabled');
        expect(await command('admin', channelId, '/rapidpro')).toContain('Configured: yes');
    });

    it('keeps the backoff of a call that fails while RapidPro itself answers (no retry every 30 s)', async () => {
        const { contact, roomId } = await rig.openChat();
        rig.sim.failNext(30, { status: 503, path: 'messages.json' });
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'the messages endpoint is failing');
        for (let i = 0; i < 15 && nextDrainIn() < 3 * MINUTE; i++) {
            await rig.host.clock.advance(Math.max(0, nextDrainIn()));
        }
        const tries = rig.sim.requestsTo('messages.json', 'POST').length;
        expect(nextDrainIn()).toBeGreaterThan(3 * MINUTE);
        await rig.host.clock.advance(2 * MINUTE);
        expect(rig.sim.requestsTo('messages.json', 'POST')).toHaveLength(tries);
        expect(textsTo(contact)).toEqual([]);
        rig.sim.reset();
    });
});
