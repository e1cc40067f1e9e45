/**
 * What reached the contact (issue 12): the customer-care window (replies held, the agent told, the
 * re-engagement flow started once, released in order when the contact writes), and failures RapidPro
 * reports later, told once in the right room by a watcher whose calls to RapidPro stay bounded.
 *
 * The app's clock is real time (the runtime process), so a contact's last message is moved into the
 * past by editing the stored conversation; the watcher's job runs when the harness clock advances.
 */
import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { type BridgeRig, type Contact, startBridge } from './support/rig';

const HOUR = 3600 * 1000;
const WATCH_INTERVAL = 10 * 60 * 1000;
const REENGAGE_FLOW = '0b7f2c1e-8f6d-4a9e-9c55-4a7f0d3e2b11';

type Data = Record<string, unknown>;

/** Moves the contact's last message `ms` into the past, as if they had not written since. */
function age(rig: BridgeRig, contact: Contact, ms: number): void {
    const conversations = rig.host
        .persistence()
        .map((record) => record.data as Data)
        .filter((data) => data.record === 'conversation' && data.contactUuid === contact.uuid);
    expect(conversations).toHaveLength(1);
    conversations[0].lastInboundAt = (conversations[0].lastInboundAt as number) - ms;
}

function heldOf(rig: BridgeRig, contact: Contact): Data[] {
    return rig.host
        .persistence()
        .map((record) => record.data as Data)
        .filter((data) => data.record === 'held-reply' && data.contactUuid === contact.uuid);
}

const notes = (rig: BridgeRig, roomId: string, part: string) =>
    rig.host.rc.messagesOf(roomId).filter((m) => m.u?.username !== 'alice' && m.msg.includes(part));

const sentTexts = (rig: BridgeRig, contact: Contact) => rig.sim.sent.filter((m) => m.contact === contact.uuid).map((m) => m.text);

const contactWrites = (rig: BridgeRig, contact: Contact, text: string) =>
    rig.call('message', rig.defaultBody(contact, { text, message_id: randomUUID() }));

describe('the customer-care window', () => {
    let rig: BridgeRig;

    beforeAll(async () => {
        rig = await startBridge({
            settings: { notice_queued: '-', notice_assigned: '-', notice_closed: '-', reengage_flow_uuid: REENGAGE_FLOW },
        });
    });

    afterAll(async () => {
        await rig?.stop();
    });

    it('a reply inside the window goes out at once', async () => {
        const { contact, roomId } = await rig.openChat();
        age(rig, contact, 23 * HOUR);
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'Still within the day');
        expect(sentTexts(rig, contact)).toEqual(['Still within the day']);
        expect(notes(rig, roomId, 'Not sent yet')).toHaveLength(0);
        expect(heldOf(rig, contact)).toHaveLength(0);
    });

    it('after the window: held, the agent told once, the flow started once, released in order before a newer reply', async () => {
        const { contact, roomId } = await rig.openChat();
        age(rig, contact, 26 * HOUR);
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'Your results are ready');
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'Please call the clinic');
        await rig.flush();
        expect(sentTexts(rig, contact)).toEqual([]);
        expect(heldOf(rig, contact).map((held) => held.text)).toEqual(['Your results are ready', 'Please call the clinic']);

        const told = notes(rig, roomId, 'Not sent yet');
        expect(told).toHaveLength(1);
        expect(told[0].msg).toContain('WhatsApp takes replies only within 24 h');
        expect(told[0].msg).toContain('last wrote 26 h ago');
        const starts = rig.sim.flowStarts.filter((start) => start.contacts.some((c) => c.uuid === contact.uuid));
        expect(starts).toHaveLength(1);
        expect(starts[0].flow.uuid).toBe(REENGAGE_FLOW);
        expect(starts[0].params).toEqual({ room_id: roomId, agent: 'Alice Agent', department: null, waiting: 1 });

        const answer = await contactWrites(rig, contact, 'Hi, I am back');
        expect(answer.status).toBe(200);
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'Welcome back');
        await rig.flush();
        expect(sentTexts(rig, contact)).toEqual(['Your results are ready', 'Please call the clinic', 'Welcome back']);
        expect(heldOf(rig, contact)).toHaveLength(0);
        expect(notes(rig, roomId, 'the 2 held replies went out')).toHaveLength(1);
        expect(rig.sim.flowStarts.filter((start) => start.contacts.some((c) => c.uuid === contact.uuid))).toHaveLength(1);
    });

    it('channels without a window and window_hours 0 never hold', async () => {
        const telegram = rig.newContact({ urn: 'telegram:4455667' });
        const opened = await rig.call('handoff', rig.defaultBody(telegram));
        await rig.host.rc.takeRoom(opened.body.room_id, 'alice');
        age(rig, telegram, 72 * HOUR);
        await rig.host.rc.agentSendMessage(opened.body.room_id, 'alice', 'Telegram has no window');
        expect(sentTexts(rig, telegram)).toEqual(['Telegram has no window']);

        const { contact, roomId } = await rig.openChat();
        age(rig, contact, 72 * HOUR);
        await rig.host.updateSetting('window_hours', 0);
        try {
            await rig.host.rc.agentSendMessage(roomId, 'alice', 'The admin turned holding off');
        } finally {
            await rig.host.updateSetting('window_hours', 24);
        }
        expect(sentTexts(rig, contact)).toEqual(['The admin turned holding off']);
    });

    it('closing the chat with replies held tells the agent what was not delivered', async () => {
        const { contact, roomId } = await rig.openChat();
        age(rig, contact, 30 * HOUR);
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'Take the pills twice a day');
        await rig.host.rc.agentClose(roomId, 'alice');
        await rig.flush();
        const closing = notes(rig, roomId, 'The chat closed with a reply not delivered');
        expect(closing).toHaveLength(1);
        expect(closing[0].msg).toContain('"Take the pills twice a day"');
        expect(heldOf(rig, contact)).toHaveLength(0);
        expect(sentTexts(rig, contact)).toEqual([]);
    });

    it('a reply held past retry_max_age_hours is reported to the agent, not dropped silently', async () => {
        const { contact, roomId } = await rig.openChat();
        age(rig, contact, 30 * HOUR);
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'Are you still there?');
        const [held] = heldOf(rig, contact);
        held.heldAt = (held.heldAt as number) - 25 * HOUR;
        await rig.flush(WATCH_INTERVAL);
        const expired = notes(rig, roomId, 'was given up');
        expect(expired).toHaveLength(1);
        expect(expired[0].msg).toContain('"Are you still there?"');
        expect(heldOf(rig, contact)).toHaveLength(0);
    });
});

describe('failures RapidPro reports later', () => {
    let rig: BridgeRig;

    beforeAll(async () => {
        rig = await startBridge({ settings: { notice_queued: '-', notice_assigned: '-' }, sim: { failDelayMs: 5 } });
    });

    afterAll(async () => {
        await rig?.stop();
    });

    it('a message RapidPro marks failed gets exactly one note, in its room, also when the watcher runs twice', async () => {
        const a = await rig.openChat();
        const b = await rig.openChat();
        await rig.host.rc.agentSendMessage(a.roomId, 'alice', 'Your appointment is on Monday at 9');
        await rig.host.rc.agentSendMessage(b.roomId, 'alice', 'All good on your side');
        const sent = rig.sim.sent.find((m) => m.contact === a.contact.uuid);
        expect(rig.sim.failMessage(sent?.uuid as string)).toBe(true);

        await rig.flush(WATCH_INTERVAL);
        await rig.flush(WATCH_INTERVAL);
        const failed = notes(rig, a.roomId, 'RapidPro reports this message as failed');
        expect(failed).toHaveLength(1);
        expect(failed[0].msg).toContain('"Your appointment is on Monday at 9"');
        expect(notes(rig, b.roomId, 'failed')).toHaveLength(0);
    });

    it('a WhatsApp window RapidPro closed on its side: the failure is reported', async () => {
        const { contact, roomId } = await rig.openChat();
        rig.sim.closeWindow(contact.uuid, contact.urn);
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'Sent but refused by WhatsApp');
        await rig.sim.waitFor((sim) => sim.messages.some((m) => m.text === 'Sent but refused by WhatsApp' && m.status === 'failed'));
        await rig.flush(WATCH_INTERVAL);
        expect(notes(rig, roomId, '"Sent but refused by WhatsApp"')).toHaveLength(1);
    });
});

describe("the watcher's cost with many open rooms", () => {
    let rig: BridgeRig;
    const rooms: Array<{ contact: Contact; roomId: string }> = [];

    beforeAll(async () => {
        rig = await startBridge({ settings: { notice_queued: '-', notice_assigned: '-' }, sim: { pageSize: 50 } });
        for (let i = 0; i < 200; i++) {
            const contact = rig.newContact();
            const opened = await rig.call('handoff', rig.defaultBody(contact));
            rooms.push({ contact, roomId: opened.body.room_id });
        }
    }, 120000);

    afterAll(async () => {
        await rig?.stop();
    });

    const listCalls = () => rig.sim.requestsTo('messages.json', 'GET').length;

    it('makes no call while nothing was sent, one per run once replies went out, and reads a bounded number of pages', async () => {
        await rig.flush(WATCH_INTERVAL);
        await rig.flush(WATCH_INTERVAL);
        expect(listCalls()).toBe(0);

        for (const { roomId } of rooms) {
            await rig.host.rc.takeRoom(roomId, 'alice');
            await rig.host.rc.agentSendMessage(roomId, 'alice', `Reply for ${roomId}`);
        }
        expect(rig.sim.sent).toHaveLength(200);
        await rig.flush(WATCH_INTERVAL);
        expect(listCalls()).toBe(1);

        // The bot's failures fill RapidPro's failed folder too: 400 of them, 8 pages of 50.
        const bot = randomUUID();
        rig.sim.seedMessages(
            bot,
            Array.from({ length: 400 }, (_, i) => ({ direction: 'out' as const, status: 'failed', text: `bot ${i}` })),
        );
        const ours = rig.sim.sent[0];
        rig.sim.failMessage(ours.uuid);
        const before = listCalls();
        await rig.flush(WATCH_INTERVAL);
        expect(listCalls() - before).toBe(3); // the page limit of one run
        for (let run = 0; run < 3; run++) {
            await rig.flush(WATCH_INTERVAL);
        }
        expect(listCalls() - before).toBeLessThanOrEqual(12);
        const room = rooms.find((r) => r.contact.uuid === ours.contact) as { roomId: string };
        expect(notes(rig, room.roomId, 'RapidPro reports this message as failed')).toHaveLength(1);
    }, 120000);
});
