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
const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF', 'latin1');

describe('on a server as strict as a real Rocket.Chat', () => {
    let rig: BridgeRig;
    let files: Awaited<ReturnType<typeof startFileServer>>;

    beforeAll(async () => {
        rig = await startBridge({ routing: 'manual', settings: { status_field: 'bridge_status', history_on_handoff: true } });
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
        expect(
            appUserNotes(newRoom)
                .map((m) => m.msg)
                .join('\n'),
        ).toContain('previous chat closed');
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
});
