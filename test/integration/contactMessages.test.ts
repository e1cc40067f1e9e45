import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { startFileServer } from './support/fileServer';
import { type BridgeRig, type Contact, startBridge } from './support/rig';

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2048, 0x9c), Buffer.from([0xff, 0xd9])]);
const PDF = Buffer.from('%PDF-1.4\n% binary \xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF', 'latin1');

describe('message: what the contact writes reaches the agent', () => {
    let rig: BridgeRig;
    let files: Awaited<ReturnType<typeof startFileServer>>;

    beforeAll(async () => {
        rig = await startBridge({ routing: 'manual' });
        files = await startFileServer({
            '/media/photo.jpg': { contentType: 'image/jpeg', body: JPEG },
            '/media/exam.pdf': { contentType: 'application/pdf', body: PDF },
        });
    });

    afterAll(async () => {
        await rig?.stop();
        await files?.close();
    });

    async function handedOver(): Promise<{ contact: Contact; roomId: string }> {
        const contact = rig.newContact();
        const res = await rig.call('handoff', rig.defaultBody(contact));
        expect(res.body.status).toBe('queued');
        return { contact, roomId: res.body.room_id };
    }

    function contactMessages(roomId: string) {
        return rig.host.rc.messagesOf(roomId).filter((m) => m.token && !m.t);
    }

    it("posts the text into the contact's room as the visitor", async () => {
        const { contact, roomId } = await handedOver();
        const res = await rig.call('message', { contact: { uuid: contact.uuid }, text: 'I have had a fever for 3 days 🤒' });
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ status: 'delivered', room_id: roomId });
        const posted = contactMessages(roomId);
        expect(posted.map((m) => m.msg)).toEqual(['I have had a fever for 3 days 🤒']);
        expect(res.body.message_id).toBe(posted[0]._id);
    });

    it('takes the text and attachments from input in the legacy body, uploading the files into the room', async () => {
        const { contact, roomId } = await handedOver();
        const res = await rig.call('message', {
            contact: { uuid: contact.uuid, name: contact.name, urn: contact.urn },
            input: {
                uuid: '0b9b6f0e-7bb4-4d8e-9c8e-2f6f3f7a0001',
                text: 'Here are my exam and a photo',
                attachments: [
                    { content_type: 'application/pdf', url: `${files.url}/media/exam.pdf` },
                    `image/jpeg:${files.url}/media/photo.jpg`,
                ],
            },
        });
        expect(res.status).toBe(200);
        const posted = contactMessages(roomId);
        expect(posted[0].msg).toBe('Here are my exam and a photo');
        const uploads = [...rig.host.rc.uploads.values()].filter((u) => u.rid === roomId);
        expect(uploads.map((u) => u.name).sort()).toEqual(['exam.pdf', 'photo.jpg']);
        expect(uploads.find((u) => u.name === 'exam.pdf')!.buffer.equals(PDF)).toBe(true);
        expect(uploads.find((u) => u.name === 'photo.jpg')!.buffer.equals(JPEG)).toBe(true);
        expect(uploads.every((u) => u.visitorToken === rig.host.rc.room(roomId)!.v!.token)).toBe(true);
    });

    it('posts an attachment that cannot be fetched as its link, never dropping it', async () => {
        const { contact, roomId } = await handedOver();
        const missing = `${files.url}/media/gone.png`;
        const res = await rig.call('message', { contact: { uuid: contact.uuid }, text: 'see this', attachments: [`image/png:${missing}`] });
        expect(res.status).toBe(200);
        expect(res.body.attachments_as_links).toBe(1);
        expect(contactMessages(roomId).map((m) => m.msg)).toEqual(['see this', missing]);
    });

    it('posts a message once when RapidPro retries the webhook with the same message id', async () => {
        const { contact, roomId } = await handedOver();
        const body = { contact: { uuid: contact.uuid }, text: 'only once please', message_id: 'rp-msg-0001' };
        const first = await rig.call('message', body);
        const second = await rig.call('message', body);
        expect(first.body.status).toBe('delivered');
        expect(second.status).toBe(200);
        expect(second.body).toMatchObject({ status: 'duplicate', room_id: roomId, message_id: first.body.message_id });
        const viaHeader = await rig.call(
            'message',
            { contact: { uuid: contact.uuid }, text: 'header id' },
            { headers: { 'Idempotency-Key': 'key-1' } },
        );
        const viaHeaderAgain = await rig.call(
            'message',
            { contact: { uuid: contact.uuid }, text: 'header id' },
            { headers: { 'Idempotency-Key': 'key-1' } },
        );
        expect(viaHeader.body.status).toBe('delivered');
        expect(viaHeaderAgain.body.status).toBe('duplicate');
        const concurrent = await Promise.all(
            Array.from({ length: 5 }, () =>
                rig.call('message', {
                    contact: { uuid: contact.uuid },
                    input: { uuid: 'c1d2e3f4-0000-4000-8000-00000000abcd', text: 'raced' },
                }),
            ),
        );
        expect(concurrent.filter((r) => r.body.status === 'delivered')).toHaveLength(1);
        expect(contactMessages(roomId).map((m) => m.msg)).toEqual(['only once please', 'header id', 'raced']);
    });

    it('answers 404 no_chat for a contact without an open chat, and never opens a room for it', async () => {
        const roomsBefore = rig.host.rc.rooms.length;
        const res = await rig.call('message', { contact: { uuid: rig.newContact().uuid }, text: 'hello?' });
        expect(res.status).toBe(404);
        expect(res.body).toMatchObject({ status: 'no_chat' });
        expect(rig.host.rc.rooms.length).toBe(roomsBefore);
    });

    it('answers no_chat after the agent closed the chat, instead of opening a new room', async () => {
        const { contact, roomId } = await handedOver();
        await rig.host.rc.takeRoom(roomId, 'alice');
        await rig.host.rc.agentClose(roomId, 'alice');
        const roomsBefore = rig.host.rc.rooms.length;
        const res = await rig.call('message', { contact: { uuid: contact.uuid }, text: 'are you there?' });
        expect(res.status).toBe(404);
        expect(res.body.status).toBe('no_chat');
        expect(rig.host.rc.rooms.length).toBe(roomsBefore);
    });

    it('takes the mediator alias sendMessageToAgent with the text in results.clientmessage', async () => {
        const { contact, roomId } = await handedOver();
        const res = await rig.call('sendMessageToAgent', {
            contact: { uuid: contact.uuid, name: contact.name, urn: contact.urn },
            flow: { uuid: 'a1b2c3d4-0000-4000-8000-000000000001', name: 'Chat' },
            results: { clientmessage: { value: 'message through the old mediator', category: 'Has Text' } },
        });
        expect(res.status).toBe(200);
        expect(contactMessages(roomId).map((m) => m.msg)).toEqual(['message through the old mediator']);
    });

    it('refuses a message with neither text nor attachments with a clear 400', async () => {
        const { contact } = await handedOver();
        const res = await rig.call('message', { contact: { uuid: contact.uuid }, text: '   ' });
        expect(res.status).toBe(400);
        expect(res.body.status).toBe('invalid_request');
        expect(res.body.error).toMatch(/text/);
    });
});
