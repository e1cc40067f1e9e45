import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { type BridgeRig, type Contact, startBridge } from './support/rig';

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(4096, 0xa7)]);

describe('agent messages reach the contact through RapidPro', () => {
    let rig: BridgeRig;

    beforeAll(async () => {
        rig = await startBridge({ routing: 'manual', settings: { notice_queued: '-', notice_assigned: '-' } });
    });

    afterAll(async () => {
        await rig?.stop();
    });

    const openChat = () => rig.openChat();

    const sentTo = (contact: Contact) => rig.sim.sent.filter((m) => m.contact === contact.uuid);

    it('sends the reply to messages.json with the contact and the API token', async () => {
        const { contact, roomId } = await openChat();
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'Hello, I am Alice. How can I help?');
        const requests = rig.sim
            .requestsTo('messages.json', 'POST')
            .filter((r) => (r.body as { contact?: string }).contact === contact.uuid);
        expect(requests).toHaveLength(1);
        expect(requests[0].headers.authorization).toBe(`Token ${rig.sim.token}`);
        expect(requests[0].body).toEqual({ contact: contact.uuid, text: 'Hello, I am Alice. How can I help?' });
        expect(sentTo(contact).map((m) => m.text)).toEqual(['Hello, I am Alice. How can I help?']);
    });

    it('turns Rocket.Chat emoji shortcodes into unicode', async () => {
        const { contact, roomId } = await openChat();
        await rig.host.rc.agentSendMessage(roomId, 'alice', 'Great news :smile: :thumbsup: see you at 10:30:00 :heart:');
        expect(sentTo(contact).map((m) => m.text)).toEqual(['Great news 😄 👍 see you at 10:30:00 ❤️']);
    });

    it('sends a file as a RapidPro media attachment, with its text', async () => {
        const { contact, roomId } = await openChat();
        await rig.host.rc.agentSendFile(roomId, 'alice', {
            filename: 'x-ray.png',
            contentType: 'image/png',
            buffer: PNG,
            text: 'Your x-ray',
        });
        expect(rig.sim.media).toHaveLength(1);
        expect(rig.sim.media[0].bytes.equals(PNG)).toBe(true);
        expect(rig.sim.media[0].filename).toBe('x-ray.png');
        const sent = sentTo(contact);
        expect(sent).toHaveLength(1);
        expect(sent[0].attachments).toEqual([rig.sim.media[0].uuid]);
        expect(sent[0].text).toBe('Your x-ray');
    });

    it('sends a file RapidPro will not take as its name and link, and tells the agent', async () => {
        const { contact, roomId } = await openChat();
        const { upload } = await rig.host.rc.agentSendFile(roomId, 'alice', {
            filename: 'referral.docx',
            contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
            buffer: Buffer.from('PK\u0003\u0004 docx bytes'),
        });
        const sent = sentTo(contact);
        expect(sent).toHaveLength(1);
        expect(sent[0].text).toContain('referral.docx');
        expect(sent[0].text).toContain(`/file-upload/${upload._id}/referral.docx`);
        const notices = rig.host.rc.messagesOf(roomId).filter((m) => m.msg.includes('referral.docx') && m.msg.includes('link'));
        expect(notices).toHaveLength(1);
        expect(rig.sim.media).toHaveLength(1); // only the earlier test's image
    });

    it('sends an edited message again, marked as a correction', async () => {
        const { contact, roomId } = await openChat();
        const message = await rig.host.rc.agentSendMessage(roomId, 'alice', 'Take 1 pill a day');
        await rig.host.rc.agentEditMessage(message._id, 'Take 2 pills a day');
        expect(sentTo(contact).map((m) => m.text)).toEqual(['Take 1 pill a day', 'Correction: Take 2 pills a day']);
    });

    it("never forwards the contact's own messages, system messages or the app's notes", async () => {
        const { contact, roomId } = await openChat();
        const before = sentTo(contact).length;
        await rig.call('message', { contact: { uuid: contact.uuid }, text: 'a contact message' });
        await rig.host.rc.systemMessage(roomId, 'livechat_transfer_history', { text: 'transfer' });
        await rig.host.rc.systemMessage(roomId, 'uj', { username: 'alice' });
        expect(sentTo(contact).length).toBe(before);
        const appNotes = rig.host.rc.messagesOf(roomId).filter((m) => m.u.username === 'rapidpro-bridge.bot');
        expect(appNotes.length).toBeGreaterThan(0); // the handoff note was written by the app, and not sent
    });

    it('never forwards messages of rooms the bridge did not open', async () => {
        const visitor = await rig.host.rc.registerGuest({ token: 'widget-visitor-1', name: 'Widget visitor' });
        const room = await rig.host.rc.createLivechatRoom({ visitor, source: { type: 'widget' } });
        await rig.host.rc.takeRoom(room._id, 'alice');
        const before = rig.sim.requests.length;
        await rig.host.rc.agentSendMessage(room._id, 'alice', 'hello widget visitor');
        await rig.flush();
        expect(rig.sim.requests.length).toBe(before);
    });
});

describe('long agent messages on an older RapidPro (640 characters, broadcasts)', () => {
    let rig: BridgeRig;

    beforeAll(async () => {
        rig = await startBridge({
            routing: 'auto',
            sim: { version: '10.1.20' },
            settings: { max_text_length: 640, send_mode: 'broadcasts', notice_assigned: '-' },
        });
    });

    afterAll(async () => {
        await rig?.stop();
    });

    it('splits a long text at whitespace into ordered parts RapidPro accepts, without breaking emoji', async () => {
        const contact = rig.newContact();
        const res = await rig.call('handoff', rig.defaultBody(contact));
        const words = Array.from({ length: 400 }, (_, i) => (i % 7 === 0 ? `word${i}👩‍⚕️` : `word${i}`));
        const text = words.join(' ');
        await rig.host.rc.agentSendMessage(res.body.room_id, 'alice', text);
        await rig.flush();
        const parts = rig.sim.sent.filter((m) => m.contact === contact.uuid).map((m) => m.text as string);
        expect(parts.length).toBeGreaterThan(1);
        expect(rig.sim.requestsTo('broadcasts.json', 'POST').every((r) => r.status === 201)).toBe(true);
        for (const part of parts) {
            expect(Array.from(part).length).toBeLessThanOrEqual(640);
        }
        expect(parts.join(' ').split(' ')).toEqual(words); // in order, no word cut, nothing lost
    });
});
