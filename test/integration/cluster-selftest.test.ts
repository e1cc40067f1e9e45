import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { type ClusterRig, startClusterBridge } from './support/clusterRig';

/** The cluster rig itself: shared Rocket.Chat and persistence, events on a chosen instance, Agenda claims, kills. */
describe('cluster rig', () => {
    let rig: ClusterRig;

    beforeAll(async () => {
        const started = Date.now();
        rig = await startClusterBridge({
            instances: 3,
            settings: { notice_queued: '-', notice_assigned: '-', notice_closed: '-', request_timeout_ms: 1000 },
        });
        console.log(`cluster of 3 started in ${Date.now() - started} ms`);
    });

    afterAll(async () => {
        await rig?.stop();
    });

    it('runs one app per instance over one Rocket.Chat', async () => {
        expect(rig.cluster.alive()).toEqual([0, 1, 2]);
        expect(await rig.cluster.appStatuses()).toEqual(['manually_enabled', 'manually_enabled', 'manually_enabled']);
        const pids = [0, 1, 2].map((i) => rig.cluster.runtimePid(i));
        expect(new Set(pids).size).toBe(3);
        expect(rig.cluster.rc.users.size).toBeGreaterThan(0);
        expect([...rig.cluster.rc.users.values()].filter((u) => u.type === 'app')).toHaveLength(1);
    });

    it('routes calls and events to the chosen instance; persistence is shared', async () => {
        const { contact, roomId } = await rig.openChat({ on: 1, takeOn: 2 });
        const started = rig.cluster.rc.events.find((e) => e.event === 'IPostLivechatRoomStarted' && e.roomId === roomId);
        expect(started?.instance).toBe(1); // caused by instance 1's createRoom bridge call
        const assigned = rig.cluster.rc.events.find((e) => e.event === 'IPostLivechatAgentAssigned' && e.roomId === roomId);
        expect(assigned?.instance).toBe(2);
        await rig.agentSends(roomId, 'hello from instance 0', { on: 0 });
        await rig.flush();
        expect(rig.textsTo(contact)).toEqual(['hello from instance 0']);
        const sent = rig.cluster.rc.events.filter((e) => e.event === 'IPostMessageSent' && e.roomId === roomId);
        expect(sent.map((e) => e.instance)).toContain(0);
        // the same conversation is visible from another instance (shared persistence)
        const status = await rig.call(`status?contact=${contact.uuid}`, undefined, { on: 2 });
        expect(status.status).toBeLessThan(500);
    });

    it('disables, enables and updates the app on every instance; a crashed runtime is restarted', async () => {
        await rig.cluster.disableApp();
        expect(await rig.cluster.appStatuses()).toEqual(['manually_disabled', 'manually_disabled', 'manually_disabled']);
        for (const on of [0, 1, 2]) {
            expect((await rig.call('health', undefined, { on })).status).toBe(404);
        }
        await rig.cluster.enableApp();
        expect(await rig.cluster.appStatuses()).toEqual(['manually_enabled', 'manually_enabled', 'manually_enabled']);
        await rig.cluster.updateApp();
        expect(await rig.cluster.appStatuses()).toEqual(['manually_enabled', 'manually_enabled', 'manually_enabled']);
        const pid = () => rig.cluster.runtimePid(1);
        const before = pid();
        await rig.cluster.crashRuntime(1);
        expect(pid()).not.toBe(before);
        for (const on of [0, 1, 2]) {
            expect((await rig.call('health', undefined, { on })).status).toBe(200);
        }
        const { contact, roomId } = await rig.openChat({ on: 1 });
        await rig.agentSends(roomId, 'after all that', { on: 1 });
        await rig.flush();
        expect(rig.textsTo(contact)).toEqual(['after all that']);
    });

    it('claims a due job on one instance only; a killed instance keeps its locks for the lock lifetime', async () => {
        const { contact, roomId } = await rig.openChat({ on: 0 });
        rig.sim.failNext(1, { status: 503, path: 'messages.json' });
        await rig.agentSends(roomId, 'retry me', { on: 1 });
        const drains = rig.cluster.pendingJobs().filter((j) => j.name.startsWith('rapidpro-outbox-drain'));
        expect(drains).toHaveLength(1);
        // instance 2 scans first and locks it, then dies before running it
        const job = drains[0];
        const wait = job.nextRunAt!.getTime() - rig.cluster.clock.now().getTime();
        rig.cluster.workers[2].lock(job);
        await rig.cluster.kill(2);
        expect(rig.cluster.alive()).toEqual([0, 1]);
        await rig.cluster.advance(Math.max(0, wait) + 1000);
        expect(rig.textsTo(contact)).toEqual([]); // still locked by the dead instance
        expect(rig.cluster.lockedJobs().map((j) => j._id)).toContain(job._id);
        await rig.cluster.advance(10 * 60 * 1000);
        await rig.cluster.idle();
        expect(rig.textsTo(contact)).toEqual(['retry me']);
        const run = rig.cluster.jobHistory.find((r) => r.jobId === job._id);
        expect([0, 1]).toContain(run?.instance);
        // a call routed to the dead instance is refused by the cluster
        expect(() => rig.cluster.on(2, () => 1)).toThrow(/not running/);
    });
});
