import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { EngineHost } from '../../harness/engine';
import { type BridgeRig, startBridge } from './support/rig';

const BUDGET = 6; // requests per hour and scope, as the simulator counts them (on the harness clock)

/**
 * At RapidPro's rate limit (issue 13), in the real engine: several contacts' agents write faster
 * than the workspace's budget allows. Every reply arrives once, in its contact's order; no contact
 * waits for another's backlog; paused scopes are not asked again before their Retry-After.
 */
describe('at the rate limit', () => {
    let rig: BridgeRig;
    let host: EngineHost | undefined;

    beforeAll(async () => {
        rig = await startBridge({
            routing: 'manual',
            settings: { notice_queued: '-', notice_assigned: '-', notice_closed: '-', retry_max_age_hours: 24 },
            // The simulator's hour runs on the harness clock, which the scheduled retries move.
            sim: { rateLimitPerHour: BUDGET, now: () => (host ? host.clock.now().getTime() : Date.now()) },
        });
        host = rig.host;
    });

    afterAll(async () => {
        await rig?.stop();
    });

    const pendingDrains = () => rig.host.scheduler.pendingJobs().filter((job) => job.name.startsWith('rapidpro-outbox-drain'));

    /** Moves the harness clock to each scheduled drain in turn and runs it, until none is left. */
    async function runScheduledDrains(max = 200): Promise<number> {
        let runs = 0;
        for (; runs < max; runs++) {
            const next = pendingDrains()
                .map((job) => job.nextRunAt?.getTime() ?? 0)
                .sort((a, b) => a - b)[0];
            if (next === undefined) {
                break;
            }
            await rig.host.clock.advance(Math.max(0, next - rig.host.clock.now().getTime()));
        }
        return runs;
    }

    it('delivers every reply of every contact once, in order, spending no request on a paused scope', async () => {
        const chats = [await rig.openChat(), await rig.openChat(), await rig.openChat()];
        const written = new Map<string, string[]>();
        for (let round = 1; round <= 6; round++) {
            for (const [index, chat] of chats.entries()) {
                const text = `reply ${round} to contact ${index + 1}`;
                written.set(chat.contact.uuid, (written.get(chat.contact.uuid) || []).concat([text]));
                await rig.host.rc.agentSendMessage(chat.roomId, 'alice', text);
            }
        }
        // Both budgets that carry replies (messages.json, then broadcasts.json) are spent: the rest waits.
        expect(rig.sim.sent.length).toBe(2 * BUDGET);
        expect(rig.sim.sent.filter((m) => m.via === 'broadcasts')).toHaveLength(BUDGET);
        // Shared fairly: the contact whose reply met the 429 went on over broadcasts like the others.
        for (const chat of chats) {
            expect(rig.sim.sent.filter((m) => m.contact === chat.contact.uuid).length).toBeGreaterThanOrEqual((2 * BUDGET) / chats.length);
        }

        const runs = await runScheduledDrains();
        expect(runs).toBeLessThan(200);

        for (const chat of chats) {
            const received = rig.sim.sent.filter((m) => m.contact === chat.contact.uuid).map((m) => m.text || '');
            // Merged backlogs are split back on the blank line: nothing lost, nothing twice, in order.
            expect(received.join('\n\n').split('\n\n')).toEqual(written.get(chat.contact.uuid));
        }
        // Only the first call to find each scope spent answered 429; the other contacts did not ask.
        expect(rig.sim.requests.filter((r) => r.status === 429)).toHaveLength(2);
        // Once the budget was back, each contact's waiting replies went as one message.
        expect(rig.sim.sent.length).toBe(2 * BUDGET + chats.length);
        const leftInOutbox = rig.host.persistence().filter((record) => (record.data as { record?: string }).record === 'outbox-item');
        expect(leftInOutbox).toEqual([]);
    });
});
