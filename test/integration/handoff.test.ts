import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { type BridgeRig, startBridge } from './support/rig';

const LEGACY_BODY = (uuid: string) => ({
    channel: { uuid: '9a8b001e-a913-486c-80f4-1356e23f582e', name: 'WhatsApp' },
    contact: { uuid, name: 'Maria Silva', urn: 'whatsapp:5511987654321', language: 'por' },
    flow: { uuid: 'f8ffbe01-4c8a-4f4d-9f28-02a6b3a5b8d3', name: 'Triagem', revision: 12 },
    input: {
        uuid: '5c0a7e4c-1a7a-4d0d-8d52-3e3f1c2b9a10',
        text: 'Preciso falar com um médico',
        type: 'msg',
        created_on: '2026-11-20T10:12:13.123456Z',
        urn: { scheme: 'whatsapp', path: '5511987654321', display: '' },
        attachments: [],
        channel: { uuid: '9a8b001e-a913-486c-80f4-1356e23f582e', name: 'WhatsApp' },
    },
    path: [
        {
            node_uuid: '1f5f9fa0-1c0b-4c0e-8b0e-111111111111',
            arrived_on: '2026-11-20T10:12:13.123456Z',
            exit_uuid: '2f5f9fa0-1c0b-4c0e-8b0e-222222222222',
        },
    ],
    results: {
        symptom: {
            name: 'Symptom',
            value: 'dor no peito',
            category: 'Chest',
            node_uuid: '3f5f9fa0-1c0b-4c0e-8b0e-333333333333',
            input: 'dor no peito',
            created_on: '2026-11-20T10:11:00Z',
        },
    },
    run: { uuid: '6a7f0c52-5e3b-4d27-9f8b-6e6c2d1d3f44', created_on: '2026-11-20T10:10:00Z' },
});

describe('handoff: a RapidPro flow hands a contact over to a human (manual routing)', () => {
    let rig: BridgeRig;

    beforeAll(async () => {
        rig = await startBridge({ routing: 'manual' });
        rig.host.rc.addCustomField({ id: 'clinic', scope: 'room' });
        rig.host.rc.addCustomField({ id: 'priority', scope: 'visitor' });
    });

    afterAll(async () => {
        await rig?.stop();
    });

    it("opens a queued room from RapidPro's default webhook body and tells the contact they are queued", async () => {
        const contact = rig.newContact();
        const res = await rig.call('handoff', rig.defaultBody(contact));
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ status: 'queued', agent: null });
        const room = rig.host.rc.room(res.body.room_id)!;
        expect(room.open).toBe(true);
        expect(room.source).toMatchObject({ type: 'app', id: rig.host.appId });
        const visitor = rig.host.rc.visitorByToken(room.v!.token)!;
        expect(visitor.name).toBe(contact.name);
        expect(visitor.phone![0].phoneNumber).toBe(`+${contact.urn.split(':')[1]}`);

        await rig.flush();
        const sent = rig.sim.sent.filter((m) => m.contact === contact.uuid);
        expect(sent).toHaveLength(1);
        expect(sent[0].text).toMatch(/queue/i);
    });

    it('shows the agent what the bot collected before they answer', async () => {
        const contact = rig.newContact();
        const res = await rig.call(
            'handoff',
            rig.defaultBody(contact, {
                results: { symptom: { value: 'chest pain', category: 'Chest' }, age: { value: '54', category: 'All Responses' } },
                fields: { clinic: 'North', priority: 2 },
            }),
        );
        const notes = rig.host.rc.messagesOf(res.body.room_id).filter((m) => !m.t);
        const summary = notes[0].msg;
        expect(summary).toContain('Triage');
        expect(summary).toContain('chest pain');
        expect(summary).toContain('(Chest)');
        expect(summary).toContain('54');
        expect(summary).toContain('clinic: North');
        expect(summary).toContain('priority: 2');
        // Saved as Omnichannel custom fields (defined by the admin), each in its scope.
        const room = rig.host.rc.room(res.body.room_id)!;
        expect(room.livechatData).toMatchObject({ clinic: 'North' });
        expect(rig.host.rc.visitorByToken(room.v!.token)!.livechatData).toMatchObject({ priority: '2' });
    });

    it('accepts the legacy/resthook body unchanged, posts the optional first text as the contact', async () => {
        const contact = rig.newContact();
        const res = await rig.call('handoff', { ...LEGACY_BODY(contact.uuid), text: 'Olá, preciso de ajuda' });
        expect(res.status).toBe(200);
        expect(res.body.status).toBe('queued');
        const visitorMessages = rig.host.rc.messagesOf(res.body.room_id).filter((m) => m.token && !m.t);
        expect(visitorMessages.map((m) => m.msg)).toEqual(['Olá, preciso de ajuda']);
        await rig.flush();
        const notice = rig.sim.sent.filter((m) => m.contact === contact.uuid)[0];
        expect(notice.text).toMatch(/fila/); // Portuguese: the contact's language from the legacy body
    });

    it('returns the same room when the contact is handed over again, without a second room', async () => {
        const contact = rig.newContact();
        const first = await rig.call('handoff', rig.defaultBody(contact));
        const again = await rig.call('handoff', rig.defaultBody(contact));
        expect(again.status).toBe(200);
        expect(again.body).toMatchObject({ status: 'already_open', room_id: first.body.room_id });
        const token = rig.host.rc.room(first.body.room_id)!.v!.token;
        expect(rig.host.rc.openRoomsOf(token)).toHaveLength(1);
    });

    it('opens one room for 20 concurrent handoffs of the same contact', async () => {
        const contact = rig.newContact();
        const results = await Promise.all(Array.from({ length: 20 }, () => rig.call('handoff', rig.defaultBody(contact))));
        expect(results.every((r) => r.status === 200)).toBe(true);
        const roomIds = new Set(results.map((r) => r.body.room_id));
        expect(roomIds.size).toBe(1);
        expect(results.filter((r) => r.body.status === 'queued')).toHaveLength(1);
        expect(results.filter((r) => r.body.status === 'already_open')).toHaveLength(19);
        const rooms = rig.host.rc.rooms.filter((room) => room.v && room.v.token === rig.host.rc.room([...roomIds][0] as string)!.v!.token);
        expect(rooms).toHaveLength(1);
    });

    it('answers 503 no_agents and creates nothing when nobody is online in the department', async () => {
        const contact = rig.newContact();
        const roomsBefore = rig.host.rc.rooms.length;
        const res = await rig.call('handoff', rig.defaultBody(contact, { department: 'Night shift' }));
        expect(res.status).toBe(503);
        expect(res.body).toMatchObject({ status: 'no_agents' });
        expect(typeof res.body.error).toBe('string');
        expect(rig.host.rc.rooms.length).toBe(roomsBefore);
        const status = await rig.call(`status?contact=${contact.uuid}`);
        expect(status.body.status).toBe('none');
    });

    it('answers 404 unknown_department for a department that does not exist', async () => {
        const res = await rig.call('handoff', rig.defaultBody(rig.newContact(), { department: 'Astrology' }));
        expect(res.status).toBe(404);
        expect(res.body).toMatchObject({ status: 'unknown_department' });
    });

    it('routes to the named department, by name or id', async () => {
        const byName = await rig.call('handoff', rig.defaultBody(rig.newContact(), { department: 'Cardiology' }));
        expect(byName.body).toMatchObject({ status: 'queued', department: 'Cardiology' });
        const cardiology = rig.host.rc.departmentByIdOrName('Cardiology')!;
        const byId = await rig.call('handoff', rig.defaultBody(rig.newContact(), { department: cardiology._id }));
        expect(byId.body).toMatchObject({ status: 'queued', department: 'Cardiology' });
        expect(rig.host.rc.room(byId.body.room_id)!.departmentId).toBe(cardiology._id);
    });

    it('keeps one visitor per contact across chats', async () => {
        const contact = rig.newContact();
        const first = await rig.call('handoff', rig.defaultBody(contact));
        await rig.host.rc.takeRoom(first.body.room_id, 'alice');
        await rig.host.rc.agentClose(first.body.room_id, 'alice');
        const second = await rig.call('handoff', rig.defaultBody(contact));
        expect(second.body.status).toBe('queued');
        expect(second.body.room_id).not.toBe(first.body.room_id);
        expect(rig.host.rc.room(second.body.room_id)!.v!.token).toBe(rig.host.rc.room(first.body.room_id)!.v!.token);
        const token = rig.host.rc.room(first.body.room_id)!.v!.token;
        expect(token).not.toContain(contact.uuid); // the token is a credential: not the guessable contact uuid
        expect(rig.host.rc.visitors.filter((v) => v.token === token)).toHaveLength(1);
    });

    it('takes the mediator alias registerClient as handoff', async () => {
        const res = await rig.call('registerClient', rig.defaultBody(rig.newContact()));
        expect(res.status).toBe(200);
        expect(res.body.status).toBe('queued');
    });

    it('posts the recent bot conversation for the agent when asked', async () => {
        const contact = rig.newContact();
        rig.sim.seedMessages(contact.uuid, [
            { direction: 'out', text: 'Hi! What brings you here?', flow: { uuid: 'a1b2c3d4-0000-4000-8000-000000000001', name: 'Triage' } },
            { direction: 'in', text: 'My child has a fever' },
            { direction: 'out', text: 'Thank you. You are in the queue.' }, // sent through the API: the bridge's notice
        ]);
        const res = await rig.call('handoff', rig.defaultBody(contact, { history: true }));
        const notes = rig.host.rc
            .messagesOf(res.body.room_id)
            .map((m) => m.msg)
            .join('\n');
        const bot = notes.indexOf('Bot: Hi! What brings you here?');
        const said = notes.indexOf('Contact: My child has a fever');
        expect(bot).toBeGreaterThan(-1);
        expect(said).toBeGreaterThan(bot); // oldest first
        expect(notes).toContain('Via the bridge (an agent or a notice): Thank you. You are in the queue.');
        expect(notes).not.toContain('Bot: Thank you.');
    });
});

describe('handoff with automatic routing', () => {
    let rig: BridgeRig;

    beforeAll(async () => {
        rig = await startBridge({ routing: 'auto', settings: { status_field: 'bridge_status', room_field: 'bridge_room' } });
    });

    afterAll(async () => {
        await rig?.stop();
    });

    it('answers open with the agent and tells the contact who joined, once', async () => {
        const contact = rig.newContact();
        const res = await rig.call('handoff', rig.defaultBody(contact, { department: 'Cardiology' }));
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ status: 'open', department: 'Cardiology', agent: 'Dr Bob' });
        await rig.flush();
        const texts = rig.sim.sent.filter((m) => m.contact === contact.uuid).map((m) => m.text);
        expect(texts).toEqual([expect.stringContaining('Dr Bob')]);
        expect(rig.sim.contacts.get(contact.uuid)!.fields).toMatchObject({ bridge_status: 'open', bridge_room: res.body.room_id });
    });
});
