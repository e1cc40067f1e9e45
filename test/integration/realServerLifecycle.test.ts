import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { type BridgeRig, type Contact, DEFAULT_DEPARTMENTS, startBridge } from './support/rig';

/**
 * The chat's lifecycle on a server with the real rules for custom fields, forwards and closes:
 * the status field follows the room, the contact hears what matches, refusals have codes.
 */
const DEPARTMENTS = [
    ...DEFAULT_DEPARTMENTS,
    { name: 'Weekend', agents: [{ username: 'dave', name: 'Dave', online: false }], allowReceiveForwardOffline: true },
    { name: 'Audited', agents: [{ username: 'erin', name: 'Erin', online: true }], requestTagBeforeClosingChat: true, chatClosingTags: [] },
];

function lifecycleSuite(routing: 'manual' | 'auto') {
    describe(`lifecycle on a strict server (${routing} routing)`, () => {
        let rig: BridgeRig;

        beforeAll(async () => {
            rig = await startBridge({
                routing,
                departments: DEPARTMENTS,
                settings: { status_field: 'bridge_status', close_flow_uuid: '3c2b1a09-8f7e-4d6c-9b5a-0e1f2a3b4c5d' },
            });
        });

        afterAll(async () => {
            await rig?.stop();
        });

        const rc = () => rig.host.rc;
        const textsTo = (contact: Contact) => rig.sim.sent.filter((m) => m.contact === contact.uuid).map((m) => m.text);
        const statusField = (contact: Contact) => rig.sim.contacts.get(contact.uuid)?.fields.bridge_status;

        /** A chat in General, served by alice. */
        async function servedChat(department = 'General'): Promise<{ contact: Contact; roomId: string }> {
            const contact = rig.newContact();
            const res = await rig.call('handoff', rig.defaultBody(contact, { department }));
            expect(res.status).toBe(200);
            if (routing === 'manual') {
                const agent = DEPARTMENTS.find((d) => d.name === department)!.agents[0].username;
                await rc().takeRoom(res.body.room_id, agent);
            }
            await rig.flush();
            expect(rc().room(res.body.room_id)!.servedBy).toBeDefined();
            return { contact, roomId: res.body.room_id };
        }

        it('transfer to a department with nobody online: 503 no_agents, the room stays as it was', async () => {
            const { contact, roomId } = await servedChat();
            const before = { ...rc().room(roomId)! };
            const res = await rig.call('transfer', { contact: { uuid: contact.uuid }, department: 'Night shift' });
            expect(res.status).toBe(503);
            expect(res.body.status).toBe('no_agents');
            const after = rc().room(roomId)!;
            expect(after.departmentId).toBe(before.departmentId);
            expect(after.servedBy?._id).toBe(before.servedBy?._id);
        });

        it("transfer to the room's own department: 200 unchanged, nothing moves", async () => {
            const { contact, roomId } = await servedChat();
            const res = await rig.call('transfer', { contact: { uuid: contact.uuid }, department: 'General' });
            expect(res.status).toBe(200);
            expect(res.body).toMatchObject({ status: 'unchanged', room_id: roomId, department: 'General', agent: 'Alice Agent' });
        });

        it('transfer to a department that takes forwards while offline: 200 queued, the contact waits, status queued', async () => {
            const { contact, roomId } = await servedChat();
            expect(statusField(contact)).toBe('open');
            const res = await rig.call('transfer', { contact: { uuid: contact.uuid }, department: 'Weekend' });
            await rig.flush();
            expect(res.status).toBe(200);
            expect(res.body).toMatchObject({ status: 'queued', room_id: roomId, department: 'Weekend', agent: null });
            expect(rc().room(roomId)!.servedBy).toBeUndefined();
            expect(statusField(contact)).toBe('queued');
            expect(textsTo(contact).slice(-1)[0]).toContain('Weekend');
            expect((await rig.call(`status?contact=${contact.uuid}`)).body).toMatchObject({ status: 'queued', department: 'Weekend' });
        });

        it('an agent forwarding the chat back to a queue: status queued and one waiting notice; the next agent is announced', async () => {
            const { contact, roomId } = await servedChat();
            const told = textsTo(contact).length;
            if (routing === 'manual') {
                await rc().agentTransfer(roomId, { department: 'Cardiology' }, 'alice');
            } else {
                rc().setAgentOnline('dave', false);
                await rc().agentTransfer(roomId, { department: 'Weekend' }, 'alice');
            }
            await rig.flush();
            expect(rc().room(roomId)!.servedBy).toBeUndefined();
            expect(statusField(contact)).toBe('queued');
            const notices = textsTo(contact).slice(told);
            expect(notices).toHaveLength(1);
            expect(notices[0]).toMatch(routing === 'manual' ? /Cardiology/ : /Weekend/);

            const next = routing === 'manual' ? 'bob' : 'dave';
            if (routing === 'auto') {
                rc().setAgentOnline('dave', true);
            }
            await rc().takeRoom(roomId, next);
            await rig.flush();
            expect(statusField(contact)).toBe('open');
            expect(textsTo(contact).slice(-1)[0]).toContain(routing === 'manual' ? 'Dr Bob' : 'Dave');
            if (routing === 'auto') {
                rc().setAgentOnline('dave', false);
            }
        });

        it("close racing an agent's close answers 200 closed, never 500", async () => {
            const { contact, roomId } = await servedChat();
            const server = rc() as unknown as { closeRoom: (params: unknown) => Promise<void> };
            const original = server.closeRoom.bind(rc());
            server.closeRoom = async (params: unknown) => {
                server.closeRoom = original;
                await original({ room: rc().room(roomId)!, user: { _id: rc().userByUsername('alice')!._id, username: 'alice' } });
                return original(params);
            };
            const res = await rig.call('close', { contact: { uuid: contact.uuid } });
            expect(res.status).toBe(200);
            expect(res.body).toMatchObject({ status: 'closed', room_id: roomId });
            await rig.flush();
            // The contact's flow asked to close: no "closed" notice and no close flow interrupting that flow.
            expect(textsTo(contact).some((text) => /ended/i.test(text || ''))).toBe(false);
            expect(rig.sim.flowStarts.some((start) => start.contacts.some((c) => c.uuid === contact.uuid))).toBe(false);
            expect(statusField(contact)).toBe('closed');
            const again = await rig.call('close', { contact: { uuid: contact.uuid } });
            expect(again.status).toBe(404);
            expect(again.body.status).toBe('no_chat');
        });

        it('close in a department that requires closing tags it does not have: 409 close_refused, the chat stays open', async () => {
            const { contact, roomId } = await servedChat('Audited');
            const res = await rig.call('close', { contact: { uuid: contact.uuid } });
            expect(res.status).toBe(409);
            expect(res.body).toMatchObject({ status: 'close_refused', room_id: roomId });
            expect(rc().room(roomId)!.open).toBe(true);
        });
    });
}

lifecycleSuite('manual');
lifecycleSuite('auto');

describe('custom fields and jobs on a strict server', () => {
    let rig: BridgeRig;

    beforeAll(async () => {
        rig = await startBridge({ routing: 'manual' });
        rig.host.rc.addCustomField({ id: 'patient_id', scope: 'visitor' });
        rig.host.rc.addCustomField({ id: 'ward', scope: 'room' });
        rig.host.rc.addCustomField({ id: 'age', scope: 'visitor', regexp: '^[0-9]+$' });
    });

    afterAll(async () => {
        await rig?.stop();
    });

    it(
        'an undefined custom field next to defined ones: the defined ' + 'ones are saved, the agent is told, the first text arrives',
        async () => {
            const contact = rig.newContact();
            const res = await rig.call(
                'handoff',
                rig.defaultBody(contact, {
                    fields: { patient_id: 'P-991', ward: 'Pediatrics', not_defined: 'x', age: 'eleven' },
                    text: 'My son has a rash',
                }),
            );
            expect(res.status).toBe(200);
            const room = rig.host.rc.room(res.body.room_id)!;
            const visitor = rig.host.rc.visitorByToken(room.v!.token)!;
            expect(visitor.livechatData).toMatchObject({ patient_id: 'P-991' });
            expect(visitor.livechatData?.age).toBeUndefined();
            expect(room.livechatData).toMatchObject({ ward: 'Pediatrics' });
            const messages = rig.host.rc.messagesOf(room._id).filter((m) => !m.t);
            const warning = messages.find((m) => m.msg.startsWith(':warning:'))!;
            expect(warning.msg).toContain('"not_defined"');
            expect(warning.msg).toContain('"age"');
            expect(warning.msg).not.toContain('patient_id');
            expect(messages.filter((m) => m.token).map((m) => m.msg)).toEqual(['My son has a rash']);
        },
    );

    it(
        'a retry job that fell due while the app was disabled is ' + 'dropped by the server; the sweep still delivers the reply once',
        async () => {
            const { contact, roomId } = await rig.openChat();
            rig.sim.setDown(true);
            await rig.host.rc.agentSendMessage(roomId, 'alice', 'Reply sent during the outage');
            await rig.flush();
            expect(rig.sim.sent.filter((m) => m.contact === contact.uuid && m.text === 'Reply sent during the outage')).toHaveLength(0);
            await rig.host.disableApp();
            await rig.flush(60 * 60 * 1000); // every retry due in this hour is consumed without running
            rig.sim.setDown(false);
            await rig.host.enableApp();
            expect(rig.host.scheduler.pendingJobs().filter((job) => job.name.startsWith('rapidpro-outbox-drain'))).toHaveLength(0);
            expect(await rig.waitForBackoff(contact.uuid)).toBe(1);
            await rig.flush(10 * 60 * 1000); // the next sweep
            expect(rig.sim.sent.filter((m) => m.contact === contact.uuid && m.text === 'Reply sent during the outage')).toHaveLength(1);
        },
    );
});
