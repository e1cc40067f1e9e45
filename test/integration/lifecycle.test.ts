import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { type BridgeRig, type Contact, startBridge } from './support/rig';

const CLOSE_FLOW = '0f3c4b7e-2d1a-4c3b-9a8e-7d6c5b4a3f21';

describe('the chat lifecycle, told to the contact and mirrored in RapidPro', () => {
    let rig: BridgeRig;

    beforeAll(async () => {
        rig = await startBridge({
            routing: 'manual',
            settings: { status_field: 'bridge_status', room_field: 'bridge_room', close_flow_uuid: CLOSE_FLOW },
        });
    });

    afterAll(async () => {
        await rig?.stop();
    });

    const textsTo = (contact: Contact) => rig.sim.sent.filter((m) => m.contact === contact.uuid).map((m) => m.text);
    const fieldsOf = (contact: Contact) => rig.sim.contacts.get(contact.uuid)?.fields || {};

    async function handOver(contact: Contact, extra: Record<string, unknown> = {}): Promise<string> {
        const res = await rig.call('handoff', rig.defaultBody(contact, extra));
        expect(res.status).toBe(200);
        await rig.flush();
        return res.body.room_id;
    }

    it('queued, agent assigned (named), closed by the agent: notices, fields and the close flow', async () => {
        const contact = rig.newContact();
        const roomId = await handOver(contact);
        expect(fieldsOf(contact)).toMatchObject({ bridge_status: 'queued', bridge_room: roomId });
        // No department named: Rocket.Chat routes the room to its required department (the first with agents online).
        expect((await rig.call(`status?contact=${contact.uuid}`)).body).toEqual({
            status: 'queued',
            room_id: roomId,
            agent: null,
            department: 'General',
        });

        await rig.host.rc.takeRoom(roomId, 'alice');
        expect(fieldsOf(contact).bridge_status).toBe('open');
        expect((await rig.call(`status?contact=${contact.uuid}`)).body).toMatchObject({
            status: 'open',
            room_id: roomId,
            agent: 'Alice Agent',
        });

        await rig.host.rc.agentSendMessage(roomId, 'alice', 'Hi!');
        await rig.host.rc.agentClose(roomId, 'alice', 'resolved');
        await rig.flush();

        const texts = textsTo(contact);
        expect(texts).toHaveLength(4);
        expect(texts[0]).toMatch(/queue/i);
        expect(texts[1]).toContain('Alice Agent');
        expect(texts[2]).toBe('Hi!');
        expect(texts[3]).toMatch(/ended/);
        expect(fieldsOf(contact)).toMatchObject({ bridge_status: 'closed' });
        expect(fieldsOf(contact).bridge_room || null).toBeNull();

        const start = rig.sim.flowStarts.filter((s) => s.contacts.some((c) => c.uuid === contact.uuid));
        expect(start).toHaveLength(1);
        expect(start[0].flow.uuid).toBe(CLOSE_FLOW);
        expect(start[0].params).toMatchObject({ room_id: roomId, closed_by: 'alice', agent: 'Alice Agent', department: null });
        expect(typeof start[0].params!.duration_seconds).toBe('number');

        expect((await rig.call(`status?contact=${contact.uuid}`)).body.status).toBe('none');
        const next = await rig.call('handoff', rig.defaultBody(contact));
        expect(next.body.status).toBe('queued');
        expect(next.body.room_id).not.toBe(roomId);
    });

    it("speaks the contact's language: Portuguese and Spanish built-in notices", async () => {
        const maria = rig.newContact({ language: 'por' });
        const roomPt = await handOver(maria);
        await rig.host.rc.takeRoom(roomPt, 'alice');
        await rig.host.rc.agentClose(roomPt, 'alice');
        await rig.flush();
        const pt = textsTo(maria);
        expect(pt[0]).toContain('fila');
        expect(pt[1]).toContain('Alice Agent entrou na conversa');
        expect(pt[2]).toContain('encerrada');

        const jose = rig.newContact({ language: 'spa' });
        await handOver(jose);
        expect(textsTo(jose)[0]).toContain('cola');
    });

    it('POST close ends the chat as the contact: no closing notice, no close flow, status closed', async () => {
        const contact = rig.newContact();
        const roomId = await handOver(contact);
        await rig.host.rc.takeRoom(roomId, 'alice');
        const startsBefore = rig.sim.flowStarts.length;
        const res = await rig.call('close', rig.defaultBody(contact));
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ status: 'closed', room_id: roomId });
        await rig.flush();
        const room = rig.host.rc.room(roomId)!;
        expect(room.open).toBeFalsy();
        expect(textsTo(contact).some((t) => /ended/.test(t || ''))).toBe(false);
        expect(rig.sim.flowStarts.length).toBe(startsBefore);
        expect(fieldsOf(contact).bridge_status).toBe('closed');
        const again = await rig.call('close', rig.defaultBody(contact));
        expect(again.status).toBe(404);
        expect(again.body.status).toBe('no_chat');
    });

    it('POST transfer moves the chat to another department and tells the contact', async () => {
        const contact = rig.newContact();
        const roomId = await handOver(contact);
        await rig.host.rc.takeRoom(roomId, 'alice');
        const res = await rig.call('transfer', rig.defaultBody(contact, { department: 'Cardiology' }));
        expect(res.status).toBe(200);
        // Manual routing: the chat waits in Cardiology's queue until someone there takes it.
        expect(res.body).toEqual({ status: 'queued', room_id: roomId, department: 'Cardiology', agent: null });
        await rig.flush();
        expect(fieldsOf(contact).bridge_status).toBe('queued');
        expect(rig.host.rc.room(roomId)!.departmentId).toBe(rig.host.rc.departmentByIdOrName('Cardiology')!._id);
        expect(textsTo(contact).some((t) => /transferred to Cardiology/.test(t || ''))).toBe(true);
        expect((await rig.call(`status?contact=${contact.uuid}`)).body.department).toBe('Cardiology');
    });

    it('POST transfer refuses with no_agents / unknown_department / no_chat and moves nothing', async () => {
        const contact = rig.newContact();
        const roomId = await handOver(contact);
        const departmentBefore = rig.host.rc.room(roomId)!.departmentId;
        const noAgents = await rig.call('transfer', rig.defaultBody(contact, { department: 'Night shift' }));
        expect(noAgents.status).toBe(503);
        expect(noAgents.body.status).toBe('no_agents');
        const unknown = await rig.call('transfer', rig.defaultBody(contact, { department: 'Nowhere' }));
        expect(unknown.status).toBe(404);
        expect(unknown.body.status).toBe('unknown_department');
        expect(rig.host.rc.room(roomId)!.departmentId).toBe(departmentBefore);
        const nobody = await rig.call('transfer', rig.defaultBody(rig.newContact(), { department: 'Cardiology' }));
        expect(nobody.status).toBe(404);
        expect(nobody.body.status).toBe('no_chat');
    });

    it('tells the contact when an agent forwards the chat to a colleague', async () => {
        const contact = rig.newContact();
        const roomId = await handOver(contact);
        await rig.host.rc.takeRoom(roomId, 'alice');
        await rig.host.rc.agentTransfer(roomId, { agent: 'bob' }, 'alice');
        await rig.flush();
        const texts = textsTo(contact);
        expect(texts.filter((t) => /Dr Bob/.test(t || ''))).toHaveLength(1);
    });

    it('GET status also works as POST with a webhook body, and for unknown contacts', async () => {
        const unknown = await rig.call('status', rig.defaultBody(rig.newContact()));
        expect(unknown.status).toBe(200);
        expect(unknown.body).toEqual({ status: 'none', room_id: null, agent: null, department: null });
        const bad = await rig.call('status?contact=not-a-uuid');
        expect(bad.status).toBe(400);
        expect(bad.body.status).toBe('invalid_request');
    });

    it('GET departments lists enabled departments and whether someone is online', async () => {
        const res = await rig.call('departments');
        expect(res.status).toBe(200);
        const byName = Object.fromEntries(res.body.departments.map((d: { name: string; online: boolean; id: string }) => [d.name, d]));
        expect(byName.General.online).toBe(true);
        expect(byName.Cardiology.online).toBe(true);
        expect(byName['Night shift'].online).toBe(false);
        expect(byName.General.id).toBe(rig.host.rc.departmentByIdOrName('General')!._id);
    });
});

describe('notices the admin changed', () => {
    let rig: BridgeRig;

    beforeAll(async () => {
        rig = await startBridge({
            routing: 'manual',
            settings: {
                notice_queued: '-',
                notice_assigned: '{"eng": "You are now talking to {agent} ({department}).", "por": "Agora você fala com {agent}."}',
                notice_closed: 'Bye from {agent}!',
            },
        });
    });

    afterAll(async () => {
        await rig?.stop();
    });

    it('turns a notice off with "-", uses per-language overrides and one text for all languages', async () => {
        const en = rig.newContact();
        const pt = rig.newContact({ language: 'por' });
        for (const contact of [en, pt]) {
            const res = await rig.call('handoff', rig.defaultBody(contact, { department: 'General' }));
            await rig.host.rc.takeRoom(res.body.room_id, 'alice');
            await rig.host.rc.agentClose(res.body.room_id, 'alice');
        }
        await rig.flush();
        const texts = (c: Contact) => rig.sim.sent.filter((m) => m.contact === c.uuid).map((m) => m.text);
        expect(texts(en)).toEqual(['You are now talking to Alice Agent (General).', 'Bye from Alice Agent!']);
        expect(texts(pt)).toEqual(['Agora você fala com Alice Agent.', 'Bye from Alice Agent!']);
    });
});
