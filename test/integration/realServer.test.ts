import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { RcMessage } from '../../harness/rocketchat/types';
import { startFileServer } from './support/fileServer';
import { type BridgeRig, type Contact, startBridge } from './support/rig';

/**
 * The bridge on a server as strict as a real Rocket.Chat 8.x (Message_MaxAllowedSize, visitor
 * messages into closed rooms, custom field validation, forward and close rules): nothing the
 * contact wrote is lost, and every refusal is a JSON answer with a code.
 */
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(1024, 0x5a), Buffer.from([0xff, 0xd9])]);
const CLOSE_FLOW = '7e1f0a52-9c3d-4b8e-a6f1-2d3c4b5a6f70';
const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF', 'latin1');

describe('on a server as strict as a real Rocket.Chat', () => {
    let rig: BridgeRig;
    let files: Awaited<ReturnType<typeof startFileServer>>;

    beforeAll(async () => {
        rig = await startBridge({
            routing: 'manual',
            settings: { status_field: 'bridge_status', history_on_handoff: true, close_flow_uuid: CLOSE_FLOW },
        });
        files = await startFileServer({
            '/media/photo.jpg': { contentType: 'image/jpeg', body: JPEG },
            '/media/exam.pdf': { contentType: 'application/pdf', body: PDF },
        });
    });

    afterAll(async () => {
        await rig?.stop();
        await files?.close();
    });

    const rc = () => rig.host.rc;
    const appUserId = () => [...rc().users.values()].find((u) => u.type === 'app')!._id;
    const appUserNotes = (roomId: string) =>
        rc()
            .messagesOf(roomId)
            .filter((m) => !m.t && m.u._id === appUserId());
    const contactPosts = (roomId: string) =>
        rc()
            .messagesOf(roomId)
            .filter((m) => !m.t && !!m.token);
    const textsTo = (contact: Contact) => rig.sim.sent.filter((m) => m.contact === contact.uuid).map((m) => m.text);

    /** A long day with the bot and a flow with many results: far over 5000 characters each. */
    function longHandoff(contact: Contact) {
        const seeded = Array.from({ length: 30 }, (_, i) => ({
            direction: (i % 2 ? 'in' : 'out') as 'in' | 'out',
            text: `${i % 2 ? 'Contact' : 'Bot'} line ${i}: ${'symptoms and questions '.repeat(18)}`,
        }));
        rig.sim.seedMessages(contact.uuid, seeded);
        const results: Record<string, unknown> = {};
        for (let i = 0; i < 40; i++) {
            results[`answer_${i}`] = { value: `value ${i} ${'detail '.repeat(30)}`, category: 'Other' };
        }
        return rig.defaultBody(contact, {
            results,
            text: 'I still have a fever after three days',
            attachments: [
                `image/jpeg:${files.url}/media/photo.jpg`,
                { content_type: 'application/pdf', url: `${files.url}/media/exam.pdf` },
            ],
        });
    }

    function checkEverythingArrived(roomId: string, limit: number) {
        const notes = appUserNotes(roomId);
        expect(notes.length).toBeGreaterThan(2);
        expect(notes.every((m) => m.msg.length <= limit)).toBe(true);
        const joined = notes.map((m) => m.msg).join('');
        for (let i = 0; i < 40; i++) {
            expect(joined).toContain(`answer_${i}: value ${i} `);
        }
        for (let i = 0; i < 30; i++) {
            expect(joined).toContain(`line ${i}: `);
        }
        // The summary comes before the transcript, and the transcript in its own order.
        expect(joined.indexOf('answer_39')).toBeLessThan(joined.indexOf('Recent conversation with the bot'));
        expect(joined.indexOf('line 0: ')).toBeLessThan(joined.indexOf('line 29: '));
        // Then the contact's own words: the text, then each file, in order.
        const posts = contactPosts(roomId);
        expect(posts.map((m) => m.msg || m.file?.name)).toEqual(['I still have a fever after three days', 'photo.jpg', 'exam.pdf']);
        const all = rc()
            .messagesOf(roomId)
            .filter((m) => !m.t);
        expect(all.indexOf(posts[0])).toBeGreaterThan(all.indexOf(notes[notes.length - 1]));
    }

    it(
        'splits a summary and a transcript far over 5000 characters ' + 'into ordered notes; the first text and files arrive after them',
        async () => {
            const contact = rig.newContact();
            const body = longHandoff(contact);
            const res = await rig.call('handoff', body);
            expect(res.status).toBe(200);
            expect(res.body.status).toBe('queued');
            checkEverythingArrived(res.body.room_id, 5000);
            expect(rig.host.logText()).not.toContain('error-message-size-exceeded');
        },
    );

    it('the same with the server limit lowered to 300 characters', async () => {
        rc().setServerSetting('Message_MaxAllowedSize', 300);
        try {
            const contact = rig.newContact();
            const res = await rig.call('handoff', longHandoff(contact));
            expect(res.status).toBe(200);
            checkEverythingArrived(res.body.room_id, 300);
            // A bridge notice to the agent is split too.
            await rc().takeRoom(res.body.room_id, 'alice');
            rig.sim.failNext(1, { status: 400, path: 'messages.json', body: { text: ['This field is invalid.'] } });
            await rc().agentSendMessage(res.body.room_id, 'alice', `A reply ${'with many words '.repeat(40)}`);
            await rig.flush();
            const warnings = appUserNotes(res.body.room_id).filter((m) => m.msg.startsWith(':warning:'));
            expect(warnings.length).toBeGreaterThan(0);
            expect(appUserNotes(res.body.room_id).every((m) => m.msg.length <= 300)).toBe(true);
        } finally {
            rc().setServerSetting('Message_MaxAllowedSize', 5000);
        }
    });

    it('a contact message that reaches a room as it closes lands in the new room Rocket.Chat opens, which becomes the chat', async () => {
        const contact = rig.newContact();
        const handoff = await rig.call('handoff', rig.defaultBody(contact));
        const oldRoom = handoff.body.room_id as string;
        await rc().takeRoom(oldRoom, 'alice');
        await rig.flush();

        // The agent closes the chat right between the bridge's check of the room and its post.
        const server = rc() as unknown as { sendVisitorMessage: (...args: unknown[]) => Promise<RcMessage> };
        const original = server.sendVisitorMessage.bind(rc());
        server.sendVisitorMessage = async (...args: unknown[]) => {
            server.sendVisitorMessage = original;
            await rc().closeRoom({ room: rc().room(oldRoom)!, user: { _id: rc().userByUsername('alice')!._id, username: 'alice' } });
            return original(...args);
        };
        const res = await rig.call('message', { contact: { uuid: contact.uuid }, text: 'thanks!', message_id: 'm-thanks' });
        await rig.flush();

        expect(res.status).toBe(200);
        expect(res.body.status).toBe('delivered');
        const newRoom = res.body.room_id as string;
        expect(newRoom).not.toBe(oldRoom);
        expect(contactPosts(newRoom).map((m) => m.msg)).toEqual(['thanks!']);
        expect(contactPosts(oldRoom).map((m) => m.msg)).not.toContain('thanks!');
        const adoptedNotes = appUserNotes(newRoom)
            .map((m) => m.msg)
            .join('\n');
        expect(adoptedNotes).toContain('previous chat closed');
        expect(adoptedNotes).toContain('What the bot collected'); // the handoff's summary again, for this room's agent
        // The closed chat's close flow would hand the contact to the bot while this chat goes on: withdrawn if it
        // had not gone out yet, else this room's agent is warned.
        const closeFlowStarted = rig.sim.flowStarts.some((start) => start.contacts.some((c) => c.uuid === contact.uuid));
        expect(closeFlowStarted ? adoptedNotes.includes('close flow had already started') : true).toBe(true);
        // The new room is the contact's chat now: status, the status field, an agent's reply.
        expect((await rig.call(`status?contact=${contact.uuid}`)).body).toMatchObject({ status: 'queued', room_id: newRoom });
        expect(rig.sim.contacts.get(contact.uuid)!.fields.bridge_status).toBe('queued');
        await rc().takeRoom(newRoom, 'alice');
        await rc().agentSendMessage(newRoom, 'alice', 'Anything else?');
        await rig.flush();
        expect(textsTo(contact)).toContain('Anything else?');
        // RapidPro repeating the call does not post it again.
        const again = await rig.call('message', { contact: { uuid: contact.uuid }, text: 'thanks!', message_id: 'm-thanks' });
        expect(again.body.status).toBe('duplicate');
        expect(contactPosts(newRoom).map((m) => m.msg)).toEqual(['thanks!']);
    });

    it('a file uploaded as the room closes (stored with no message) is posted as its link in the new room', async () => {
        const contact = rig.newContact();
        const handoff = await rig.call('handoff', rig.defaultBody(contact));
        const oldRoom = handoff.body.room_id as string;
        await rc().takeRoom(oldRoom, 'alice');

        const server = rc() as unknown as { sendFileLivechatMessage: (...args: unknown[]) => RcMessage | undefined };
        const original = server.sendFileLivechatMessage.bind(rc());
        server.sendFileLivechatMessage = (...args: unknown[]) => {
            server.sendFileLivechatMessage = original;
            void rc().closeRoom({ room: rc().room(oldRoom)!, user: { _id: rc().userByUsername('alice')!._id, username: 'alice' } });
            return original(...args);
        };
        const res = await rig.call('message', {
            contact: { uuid: contact.uuid },
            attachments: [`image/jpeg:${files.url}/media/photo.jpg`],
        });
        await rig.flush();

        expect(res.status).toBe(200);
        expect(res.body.attachments_as_links).toBe(1);
        const newRoom = res.body.room_id as string;
        expect(newRoom).not.toBe(oldRoom);
        expect(contactPosts(newRoom).map((m) => m.msg)).toEqual([`${files.url}/media/photo.jpg`]);
        expect((await rig.call(`status?contact=${contact.uuid}`)).body.room_id).toBe(newRoom);
    });

    it('a refused contact message is never answered 200, and calling again posts only what is missing', async () => {
        const contact = rig.newContact();
        const handoff = await rig.call('handoff', rig.defaultBody(contact));
        const roomId = handoff.body.room_id as string;
        const server = rc() as unknown as { sendVisitorMessage: (...args: unknown[]) => Promise<RcMessage> };
        const original = server.sendVisitorMessage.bind(rc());
        let calls = 0;
        server.sendVisitorMessage = async (...args: unknown[]) => {
            calls++;
            if (calls === 2) {
                server.sendVisitorMessage = original;
                throw new Error('Omnichannel is disabled [error-omnichannel-is-disabled]');
            }
            return original(...args);
        };
        const body = {
            contact: { uuid: contact.uuid },
            text: 'first words',
            attachments: [{ content_type: 'text/plain', url: 'geo:-23.5,-46.6' }, `application/pdf:${files.url}/media/exam.pdf`],
            message_id: 'm-partial',
        };
        const refused = await rig.call('message', body);
        expect(refused.status).toBe(503);
        expect(refused.body).toMatchObject({ status: 'omnichannel_disabled', room_id: roomId });
        expect(contactPosts(roomId).map((m) => m.msg)).toEqual(['first words']);

        const retried = await rig.call('message', body);
        expect(retried.status).toBe(200);
        expect(retried.body.status).toBe('delivered');
        const posts = contactPosts(roomId);
        expect(posts.map((m) => m.msg || m.file?.name)).toEqual([
            'first words',
            expect.stringContaining('Location: -23.5, -46.6'),
            'exam.pdf',
        ]);
        const third = await rig.call('message', body);
        expect(third.body.status).toBe('duplicate');
        expect(contactPosts(roomId)).toHaveLength(3);
    });

    it('with Omnichannel switched off: handoff and message answer 503 omnichannel_disabled, never 500', async () => {
        const contact = rig.newContact();
        const open = rig.newContact();
        const opened = await rig.call('handoff', rig.defaultBody(open));
        rc().setServerSetting('Livechat_enabled', false);
        try {
            const handoff = await rig.call('handoff', rig.defaultBody(contact));
            expect(handoff.status).toBe(503);
            expect(handoff.body.status).toBe('omnichannel_disabled');
            const message = await rig.call('message', { contact: { uuid: open.uuid }, text: 'hello?', message_id: 'm-off' });
            expect(message.status).toBe(503);
            expect(message.body.status).toBe('omnichannel_disabled');
        } finally {
            rc().setServerSetting('Livechat_enabled', true);
        }
        const later = await rig.call('message', { contact: { uuid: open.uuid }, text: 'hello?', message_id: 'm-off' });
        expect(later.body).toMatchObject({ status: 'delivered', room_id: opened.body.room_id });
        expect(contactPosts(opened.body.room_id).map((m) => m.msg)).toEqual(['hello?']);
    });

    it('a handoff calling again with its first text while the chat is open posts it once', async () => {
        const contact = rig.newContact();
        const body = rig.defaultBody(contact, { text: 'Is anyone there?' });
        const first = await rig.call('handoff', body);
        const second = await rig.call('handoff', body);
        expect(second.body).toMatchObject({ status: 'already_open', room_id: first.body.room_id });
        expect(contactPosts(first.body.room_id).map((m) => m.msg)).toEqual(['Is anyone there?']);
        const other = await rig.call('handoff', rig.defaultBody(contact, { text: 'Hello??' }));
        expect(other.body.status).toBe('already_open');
        expect(contactPosts(first.body.room_id).map((m) => m.msg)).toEqual(['Is anyone there?', 'Hello??']);
    });

    it('two contacts sharing one phone number get a visitor and a chat each; the agent still sees the number', async () => {
        const mother = rig.newContact({ urn: 'whatsapp:5511999990001', name: 'Mother' });
        const child = rig.newContact({ urn: 'whatsapp:5511999990001', name: 'Child' });
        const a = await rig.call('handoff', rig.defaultBody(mother));
        const b = await rig.call('handoff', rig.defaultBody(child));
        expect(a.status).toBe(200);
        expect(b.status).toBe(200);
        expect(b.body.status).toBe('queued');
        expect(b.body.room_id).not.toBe(a.body.room_id);
        const roomA = rc().room(a.body.room_id)!;
        const roomB = rc().room(b.body.room_id)!;
        expect(roomA.v!.token).not.toBe(roomB.v!.token);
        expect(rc().visitorByToken(roomA.v!.token)!.name).toBe('Mother');
        expect(rc().visitorByToken(roomB.v!.token)!.name).toBe('Child');
        expect(
            appUserNotes(b.body.room_id)
                .map((m) => m.msg)
                .join('\n'),
        ).toContain('5511999990001');
        // Each one's messages go to their own room.
        await rig.call('message', { contact: { uuid: child.uuid }, text: 'from the child' });
        expect(contactPosts(b.body.room_id).map((m) => m.msg)).toEqual(['from the child']);
        expect(contactPosts(a.body.room_id)).toHaveLength(0);
    });

    it('an agent taking the room while the handoff posts its notes: notices in order, the status field ends open', async () => {
        const contact = rig.newContact();
        rig.sim.seedMessages(contact.uuid, [{ direction: 'in', text: 'hello bot' }]);
        rig.sim.delayNext(1, 1500, { path: /messages\.json/ }); // the transcript takes a while
        const pending = rig.call('handoff', rig.defaultBody(contact));
        // Once the bridge knows the room (its first notice is queued), and while the transcript is fetched:
        let roomId: string | null = null;
        for (let i = 0; i < 100 && !roomId; i++) {
            await new Promise((resolve) => setTimeout(resolve, 20));
            roomId = (await rig.call(`status?contact=${contact.uuid}`)).body.room_id;
        }
        expect(roomId).not.toBeNull();
        const room = { _id: roomId as string };
        await rc().takeRoom(room._id, 'alice');
        const res = await pending;
        await rig.flush();
        expect(res.body).toMatchObject({ status: 'open', room_id: room._id, agent: 'Alice Agent' });
        const texts = textsTo(contact);
        expect(texts).toHaveLength(2);
        expect(texts[0]).toMatch(/queue/i);
        expect(texts[1]).toContain('Alice Agent');
        expect(rig.sim.contacts.get(contact.uuid)!.fields.bridge_status).toBe('open');
    });

    it('a refused first text of a handoff does not keep its files out; the agent is told; calling again posts the text', async () => {
        const contact = rig.newContact();
        const server = rc() as unknown as { sendVisitorMessage: (...args: unknown[]) => Promise<RcMessage> };
        const original = server.sendVisitorMessage.bind(rc());
        server.sendVisitorMessage = async () => {
            server.sendVisitorMessage = original;
            throw new Error('Message contains bad words [error-message-not-allowed]');
        };
        const body = rig.defaultBody(contact, { text: 'my exam', attachments: [`application/pdf:${files.url}/media/exam.pdf`] });
        const first = await rig.call('handoff', body);
        expect(first.status).toBe(503);
        expect(first.body.status).toBe('not_posted');
        const roomId = first.body.room_id as string;
        expect(contactPosts(roomId).map((m) => m.msg || m.file?.name)).toEqual(['exam.pdf']);
        expect(
            appUserNotes(roomId)
                .map((m) => m.msg)
                .join('\n'),
        ).toContain('Rocket.Chat refused');
        const again = await rig.call('handoff', body);
        expect(again.body).toMatchObject({ status: 'already_open', room_id: roomId });
        expect(contactPosts(roomId).map((m) => m.msg || m.file?.name)).toEqual(['exam.pdf', 'my exam']);
    });

    it('a contact whose family phone another contact holds keeps no phone on later handoffs', async () => {
        const holder = rig.newContact({ urn: 'whatsapp:5511999990077', name: 'Holder' });
        const other = rig.newContact({ urn: 'whatsapp:5511999990077', name: 'Other' });
        await rig.call('handoff', rig.defaultBody(holder));
        const first = await rig.call('handoff', rig.defaultBody(other));
        const token = rc().room(first.body.room_id)!.v!.token;
        await rc().takeRoom(first.body.room_id, 'alice');
        await rc().agentClose(first.body.room_id, 'alice');
        const second = await rig.call('handoff', rig.defaultBody(other));
        expect(rc().room(second.body.room_id)!.v!.token).toBe(token);
        expect(rc().visitorByToken(token)!.phone || []).toEqual([]);
        expect(rc().visitors.filter((v) => v.phone?.some((p) => p.phoneNumber.endsWith('5511999990077')))).toHaveLength(1);
    });

    it('the mediator alias posts a long results.clientmessage whole; over 16,384 characters it is a 400', async () => {
        const contact = rig.newContact();
        const handoff = await rig.call('handoff', rig.defaultBody(contact));
        const long = `${'a long story '.repeat(500)}end`;
        const res = await rig.call('sendMessageToAgent', { contact: { uuid: contact.uuid }, results: { clientmessage: { value: long } } });
        expect(res.status).toBe(200);
        expect(contactPosts(handoff.body.room_id).map((m) => m.msg)).toEqual([long.trim()]);
        const tooLong = await rig.call('sendMessageToAgent', {
            contact: { uuid: contact.uuid },
            results: { clientmessage: { value: 'x'.repeat(16385) } },
        });
        expect(tooLong.status).toBe(400);
        expect(tooLong.body.error).toContain('clientmessage');
    });

    it('Omnichannel off with nobody online: 503 omnichannel_disabled, not no_agents', async () => {
        rc().setServerSetting('Livechat_enabled', false);
        try {
            const res = await rig.call('handoff', rig.defaultBody(rig.newContact(), { department: 'Night shift' }));
            expect(res.status).toBe(503);
            expect(res.body.status).toBe('omnichannel_disabled');
        } finally {
            rc().setServerSetting('Livechat_enabled', true);
        }
    });

    it("with file uploads off (or a file over the server limit) the contact's file is posted as its link, never dropped", async () => {
        const contact = rig.newContact();
        const handoff = await rig.call('handoff', rig.defaultBody(contact));
        const roomId = handoff.body.room_id as string;
        const photo = `${files.url}/media/photo.jpg`;
        rc().setServerSetting('FileUpload_Enabled', false);
        try {
            const off = await rig.call('message', { contact: { uuid: contact.uuid }, attachments: [`image/jpeg:${photo}`] });
            expect(off.body).toMatchObject({ status: 'delivered', attachments_as_links: 1 });
        } finally {
            rc().setServerSetting('FileUpload_Enabled', true);
        }
        rc().setServerSetting('FileUpload_MaxFileSize', 100);
        try {
            const big = await rig.call('message', { contact: { uuid: contact.uuid }, attachments: [`image/jpeg:${photo}`] });
            expect(big.body).toMatchObject({ status: 'delivered', attachments_as_links: 1 });
        } finally {
            rc().setServerSetting('FileUpload_MaxFileSize', 104857600);
        }
        expect(contactPosts(roomId).map((m) => m.msg)).toEqual([photo, photo]);
        expect([...rc().uploads.values()].filter((u) => u.rid === roomId)).toHaveLength(0);
    });
});
