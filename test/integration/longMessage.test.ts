import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { type BridgeRig, startBridge } from './support/rig';

/**
 * A message cut into more than a thousand parts, the first of which fails: every part still goes
 * out once and in order, over several scheduler jobs (each job sends for a few seconds only).
 */
describe('a very long agent message with a failure on its first part', () => {
    let rig: BridgeRig;

    beforeAll(async () => {
        rig = await startBridge({ routing: 'manual', settings: { notice_queued: '-', notice_assigned: '-', max_text_length: 20 } });
    });

    afterAll(async () => {
        await rig?.stop();
    });

    it('delivers 1,010 parts once and in order', async () => {
        const { contact, roomId } = await rig.openChat();
        const words = Array.from({ length: 1010 }, (_, i) => `part-${String(i).padStart(4, '0')}-of-1010`);
        rig.sim.failNext(1, { status: 503, path: 'messages.json' });
        await rig.host.rc.agentSendMessage(roomId, 'alice', words.join(' '));
        for (let i = 0; i < 200; i++) {
            const due = rig.host.scheduler.pendingJobs().filter((job) => job.name.startsWith('rapidpro-outbox-drain'));
            if (due.length === 0) {
                break;
            }
            await rig.host.clock.advance(Math.max(0, due[0].nextRunAt!.getTime() - rig.host.clock.now().getTime()));
        }
        const sent = rig.sim.sent.filter((m) => m.contact === contact.uuid).map((m) => m.text);
        expect(sent).toEqual(words);
    }, 120000);
});
