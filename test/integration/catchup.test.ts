import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { type ClusterRig, startClusterBridge } from './support/clusterRig';

const MINUTE = 60 * 1000;

/**
 * Issue 11: agents keep replying while the app cannot hear them (disabled on every instance, being updated, its
 * runtime killed and restarted). Rocket.Chat does not replay the events the app missed; the contact must still
 * get every reply once, in order, once the app is back.
 */
describe('catching up with agent replies the app did not hear (two instances)', () => {
    let rig: ClusterRig;

    beforeAll(async () => {
        rig = await startClusterBridge({
            instances: 2,
            // A call to a dead runtime fails after this (Rocket.Chat: 30 s); keeps the killed-runtime case short.
            runtimeTimeoutMs: 5000,
            settings: { notice_queued: '-', notice_assigned: '-', notice_closed: '-', request_timeout_ms: 2000 },
        });
    });

    afterAll(async () => {
        await rig?.stop();
    });

    /** Sends until the sweep and every drain ran. */
    async function settle(): Promise<void> {
        await rig.flush();
        await rig.cluster.advance(6 * MINUTE); // the periodic sweep
        await rig.flush();
    }

    /**
     * Agent replies from the moment the app stops hearing (`unheardNow`), three at once then one every `gapMs`,
     * events on `on`, not awaited (Rocket.Chat does not wait), until `done` settles. Counts the replies typed while that instance's engine did not hand IPostMessageSent to the app
     * (or its runtime was down): they are the ones the app must catch up with.
     */
    async function replyWhile(
        roomId: string,
        label: string,
        done: Promise<unknown>,
        on: number,
        unheardNow: () => boolean,
        gapMs = 10,
        max = 100,
    ): Promise<{ texts: string[]; unheard: number }> {
        let finished = false;
        void done.finally(() => {
            finished = true;
        });
        // Wait for the moment the app stops hearing, then type three replies at once and go on every gapMs.
        while (!finished && !unheardNow()) {
            await new Promise((resolve) => setTimeout(resolve, 1));
        }
        const texts: string[] = [];
        let unheard = 0;
        const sends: Array<Promise<unknown>> = [];
        for (let i = 1; i <= max && !finished; i++) {
            const text = `${label} ${i}`;
            texts.push(text);
            if (unheardNow()) {
                unheard++;
            }
            sends.push(rig.agentSends(roomId, text, { on }).catch(() => undefined));
            if (i >= 3) {
                await new Promise((resolve) => setTimeout(resolve, gapMs));
            }
        }
        await done;
        await Promise.all(sends);
        return { texts, unheard };
    }

    it('disabled on every instance: the replies typed meanwhile reach the contact once, in order, after enable', async () => {
        const { contact, roomId } = await rig.openChat({ on: 0 });
        await rig.agentSends(roomId, 'before the pause', { on: 0 });
        await rig.flush();
        expect(rig.textsTo(contact)).toEqual(['before the pause']);
        await rig.cluster.disableApp();
        const replies = ['while disabled 1', 'while disabled 2', 'while disabled 3'];
        for (const [i, text] of replies.entries()) {
            await rig.agentSends(roomId, text, { on: i % 2 });
        }
        await rig.cluster.enableApp();
        await rig.agentSends(roomId, 'after enable', { on: 1 });
        await settle();
        expect(rig.textsTo(contact)).toEqual(['before the pause', ...replies, 'after enable']);
    });

    it('updated (the same zip re-installed): the replies typed during the update reach the contact once, in order', async () => {
        const { contact, roomId } = await rig.openChat({ on: 1 });
        await rig.agentSends(roomId, 'before the update', { on: 0 });
        await rig.flush();
        const { texts, unheard } = await replyWhile(
            roomId,
            'during the update',
            rig.cluster.updateApp(undefined, 0),
            0,
            () => !rig.cluster.listening(0),
        );
        expect(unheard).toBeGreaterThan(0); // some replies were typed while the app did not listen (the test's premise)
        await rig.agentSends(roomId, 'after the update', { on: 0 });
        await settle();
        expect(rig.textsTo(contact)).toEqual(['before the update', ...texts, 'after the update']);
    }, 60000);

    it('runtime killed and restarted by the engine: the replies typed meanwhile reach the contact once, in order', async () => {
        const { contact, roomId } = await rig.openChat({ on: 0 });
        await rig.agentSends(roomId, 'before the crash', { on: 1 });
        await rig.flush();
        // From the SIGKILL on, until the engine has restarted the runtime (the first replies may reach the dying process).
        const { texts, unheard } = await replyWhile(roomId, 'during the restart', rig.cluster.crashRuntime(1), 1, () => true);
        expect(unheard).toBeGreaterThan(0); // some replies were typed while the runtime was down or restarting
        await rig.agentSends(roomId, 'after the restart', { on: 1 });
        await settle();
        expect(rig.textsTo(contact)).toEqual(['before the crash', ...texts, 'after the restart']);
    }, 60000);
});
