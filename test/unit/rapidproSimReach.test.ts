/**
 * The simulator's side of "what reached the contact": a contact's closed customer-care window, messages failed on
 * demand, `GET messages.json?folder=failed&after=` with paging, and request counts per endpoint.
 */
import { type RapidProSimulator, startRapidProSimulator } from '../../harness/rapidpro-sim/simulator';

const CONTACT = '5d76d86b-3bb9-4d5a-b822-c9d86f5d8e4b';
const OTHER = 'a1f0c7a2-62a4-4a0d-9c1e-3b5f7f2d9e10';

// biome-ignore lint/suspicious/noExplicitAny: tests read the JSON bodies they expect
async function api(sim: RapidProSimulator, path: string, payload?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(path.startsWith('http') ? path : sim.url + path, {
        method: payload === undefined ? 'GET' : 'POST',
        headers: { Authorization: `Token ${sim.token}`, 'Content-Type': 'application/json' },
        body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    return { status: res.status, body: await res.json() };
}

const send = (sim: RapidProSimulator, contact: string, text: string) => api(sim, '/api/v2/messages.json', { contact, text });

describe('rapidpro-sim: what reached the contact', () => {
    let sim: RapidProSimulator;
    beforeEach(async () => {
        sim = await startRapidProSimulator({ failDelayMs: 5, pageSize: 2 });
    });
    afterEach(() => sim.close());

    it('a closed window on WhatsApp: 201 queued, then failed; other channels and open windows go through', async () => {
        sim.closeWindow(CONTACT, 'whatsapp:5511999990000');
        sim.closeWindow(OTHER, 'telegram:12345');
        const refused = await send(sim, CONTACT, 'too late');
        expect(refused.status).toBe(201);
        expect(refused.body.status).toBe('queued');
        expect(refused.body.urn).toBe('whatsapp:5511999990000');
        const telegram = await send(sim, OTHER, 'no window on telegram');
        await sim.waitFor((s) => s.messages.some((m) => m.uuid === refused.body.uuid && m.status === 'failed'));
        expect(sim.messages.find((m) => m.uuid === telegram.body.uuid)?.status).toBe('queued');

        sim.openWindow(CONTACT);
        const later = await send(sim, CONTACT, 'the contact wrote again');
        await new Promise((resolve) => setTimeout(resolve, 30));
        expect(sim.messages.find((m) => m.uuid === later.body.uuid)?.status).toBe('queued');
    });

    it('fails a message by uuid or the next ones on demand', async () => {
        const first = await send(sim, CONTACT, 'one');
        expect(sim.failMessage(first.body.uuid)).toBe(true);
        expect(sim.failMessage('00000000-0000-4000-8000-000000000000')).toBe(false);
        sim.failNextMessages(1);
        const second = await send(sim, CONTACT, 'two');
        const third = await send(sim, CONTACT, 'three');
        await sim.waitFor((s) => s.messages.find((m) => m.uuid === second.body.uuid)?.status === 'failed');
        expect(sim.messages.find((m) => m.uuid === third.body.uuid)?.status).toBe('queued');
    });

    it('lists failed messages created after a time, newest first, in pages, and counts requests', async () => {
        const before = await send(sim, CONTACT, 'old');
        sim.failMessage(before.body.uuid);
        await new Promise((resolve) => setTimeout(resolve, 5));
        const after = new Date().toISOString();
        const uuids: string[] = [];
        for (const text of ['a', 'b', 'c']) {
            const sent = await send(sim, CONTACT, text);
            sim.failMessage(sent.body.uuid);
            uuids.push(sent.body.uuid);
        }
        await send(sim, CONTACT, 'fine');
        const page1 = await api(sim, `/api/v2/messages.json?folder=failed&after=${after}`);
        expect(page1.body.results.map((m: { text: string }) => m.text)).toEqual(['c', 'b']);
        expect(page1.body.next).toContain('cursor=');
        const page2 = await api(sim, page1.body.next);
        expect(page2.body.results.map((m: { uuid: string }) => m.uuid)).toEqual([uuids[0]]);
        expect(page2.body.next).toBeNull();
        expect(sim.requestCounts()).toEqual({ 'POST messages': 5, 'GET messages': 2 });
    });
});
