import { describe, expect, it } from '@jest/globals';

import { AGENDA_DEFAULTS, AgendaWorker } from '../../harness/engine/agendaWorker';
import { Clock, type JobRun, type ScheduledJob, type SharedJobs } from '../../harness/engine/clock';

/** The cluster's Agenda emulation on its own: claims, per-name concurrency, locks of a dead instance. */
describe('AgendaWorker (one instance of a cluster over shared jobs)', () => {
    function setup(n = 2) {
        const shared: SharedJobs = {
            jobs: new Map<string, ScheduledJob>(),
            clock: undefined as unknown as Clock,
            history: [] as JobRun[],
            errors: [],
        };
        const workers: AgendaWorker[] = [];
        const owner = {
            runDue: async () => [] as JobRun[],
            pendingJobs: () => [...shared.jobs.values()].filter((j) => j.nextRunAt),
        };
        shared.clock = new Clock(owner);
        for (let i = 0; i < n; i++) {
            workers.push(new AgendaWorker(i, shared, AGENDA_DEFAULTS, (fn) => fn()));
        }
        return { shared, workers };
    }

    it('the first scan locks every due job; one job of a name runs at a time per instance', async () => {
        const { shared, workers } = setup();
        const order: string[] = [];
        let release: () => void = () => undefined;
        const gate = new Promise<void>((resolve) => {
            release = resolve;
        });
        for (const w of workers) {
            w.define('drain', async (ctx) => {
                order.push(`${w.instance}:${ctx.n}:start`);
                if (ctx.n === 1) {
                    await gate;
                }
                order.push(`${w.instance}:${ctx.n}:end`);
            });
        }
        // saved by nobody in particular, due in 10 s (beyond processEvery: no lock on the fly)
        const due = new Date(shared.clock.now().getTime() + 10000);
        workers[0].schedule(due, 'drain', { n: 1 });
        workers[0].schedule(new Date(due.getTime() + 1), 'drain', { n: 2 });
        expect([...shared.jobs.values()].every((j) => !j.lockedAt)).toBe(true);
        await shared.clock.advance(10000);
        expect(workers[1].scan()).toBe(2);
        expect(workers[0].scan()).toBe(0);
        expect(workers[1].process()).toBe(1); // concurrency 1: n=2 waits behind n=1
        expect(workers[1].process()).toBe(0);
        release();
        await workers[1].runDue();
        expect(order).toEqual(['1:1:start', '1:1:end', '1:2:start', '1:2:end']);
        expect(shared.jobs.size).toBe(0); // one-time jobs deleted after success
    });

    it('locks a job due before the next scan for the instance that saved it', () => {
        const { workers } = setup();
        for (const w of workers) {
            w.define('drain', async () => undefined);
        }
        const job = workers[1].schedule('now', 'drain', {});
        expect(job.lockedBy).toBe(1);
        expect(workers[0].scan()).toBe(0);
    });

    it("a dead instance's locks expire after the lock lifetime; a one-time job it had started is not run again", async () => {
        const { shared, workers } = setup();
        const runs: string[] = [];
        for (const w of workers) {
            w.define('drain', async (ctx) => {
                runs.push(`${w.instance}:${ctx.n}`);
                if (ctx.n === 1) {
                    await new Promise(() => undefined); // hangs: the instance dies mid-run
                }
            });
        }
        workers[0].schedule('now', 'drain', { n: 1 });
        workers[0].schedule('now', 'drain', { n: 2 });
        expect(workers[0].process()).toBe(1);
        workers[0].kill();
        await shared.clock.advance(60000);
        expect(workers[1].scan()).toBe(0); // still locked by the dead instance
        await shared.clock.advance(10 * 60 * 1000);
        expect(workers[1].scan()).toBe(2); // both re-locked after the lifetime
        await workers[1].runDue();
        expect(runs).toEqual(['0:1', '1:2']); // n=1 had started (nextRunAt null): Agenda does not run it again
    });
});
