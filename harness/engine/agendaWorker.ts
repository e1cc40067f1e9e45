import { describeError, type JobRun, type ProcessorFn, type ScheduledJob, Scheduler, type SharedJobs } from './clock';

/**
 * One Rocket.Chat instance's Agenda over the job collection all instances share (cluster mode).
 * Rocket.Chat: apps/meteor/app/apps/server/bridges/scheduler.ts (`new Agenda({..., defaultConcurrency: 1})`,
 * one-time jobs cancelled after success); Agenda: packages/agenda/src/Agenda.ts and Job.ts (defaultLockLifetime
 * 10 min, processEvery 5 s). What is emulated, on the virtual clock:
 *
 * - a scan locks EVERY job of a name this instance defined that is unlocked and due before the next scan
 *   (lockLimit 0), or whose lock is older than the lock lifetime (`_findAndLockNextJob`): the first instance
 *   to scan takes all that is due;
 * - a job saved due before the next scan is locked at once by the instance that saved it (`_lockOnTheFly`);
 * - per instance, one job of a given name runs at a time (defaultConcurrency: 1), soonest first; jobs of other
 *   names run alongside;
 * - a run sets lastRunAt and nextRunAt (null for one-time jobs) first, then calls the processor; after it the
 *   job is unlocked (lockedAt null); a one-time job that succeeded is deleted; a failed one stays, never rerun;
 * - a locked job whose lock expired before it started is dropped from the local queue (`_runOrRetry`);
 * - a killed instance saves nothing more: its locks stay until the lock lifetime passes; a one-time job it had
 *   started has nextRunAt null, so whoever re-locks it later does not run it (Agenda's `_jobProcessing` skips a
 *   job without nextRunAt). Real Agenda may then keep that job at the head of its queue and stall the
 *   instance's other jobs; that stall is NOT emulated (the job is just lost).
 */

export interface AgendaOptions {
    /** Agenda defaultLockLifetime (10 min). */
    lockLifetimeMs: number;
    /** Agenda processEvery (5 s): how far ahead a scan locks. */
    processEveryMs: number;
}

export const AGENDA_DEFAULTS: AgendaOptions = { lockLifetimeMs: 10 * 60 * 1000, processEveryMs: 5000 };

export class AgendaWorker extends Scheduler {
    /** Locked by this instance, not started yet (Agenda's `_jobQueue`). */
    private readonly queue: ScheduledJob[] = [];
    /** Names with a run in progress here (concurrency 1 per name). */
    private readonly runningNames = new Set<string>();
    private readonly runs = new Set<Promise<void>>();
    private alive = true;
    private killedResolve: () => void = () => undefined;
    private readonly killed = new Promise<void>((resolve) => {
        this.killedResolve = resolve;
    });
    private pollTimer: NodeJS.Timeout | null = null;

    constructor(
        public readonly instance: number,
        shared: SharedJobs,
        private readonly options: AgendaOptions,
        /** Runs a call in this instance's context (events it causes fire on this instance). */
        private readonly inContext: <T>(fn: () => Promise<T>) => Promise<T>,
    ) {
        super(shared);
    }

    public get isAlive(): boolean {
        return this.alive;
    }

    /** Agenda schedule(): saved, then locked on the fly by this instance when due before its next scan. */
    public override schedule(when: unknown, name: string, data: Record<string, unknown>): ScheduledJob {
        const job = super.schedule(when, name, data);
        const now = this.clock.now().getTime();
        if (this.alive && this.processors.has(name) && job.nextRunAt && job.nextRunAt.getTime() < now + this.options.processEveryMs) {
            this.lock(job);
        }
        return job;
    }

    /** One scan: lock what Agenda's `_findAndLockNextJob` query matches, for every name defined here. */
    public scan(): number {
        if (!this.alive) {
            return 0;
        }
        const now = this.clock.now().getTime();
        const horizon = now + this.options.processEveryMs;
        const deadline = now - this.options.lockLifetimeMs;
        const lockable = [...this.jobs.values()]
            .filter((job) => this.processors.has(job.name))
            .filter(
                (job) =>
                    (!job.lockedAt && job.nextRunAt && job.nextRunAt.getTime() <= horizon) ||
                    (job.lockedAt && job.lockedAt.getTime() <= deadline),
            )
            .sort((a, b) => (a.nextRunAt?.getTime() ?? 0) - (b.nextRunAt?.getTime() ?? 0));
        for (const job of lockable) {
            this.lock(job);
        }
        return lockable.length;
    }

    /** Locks one job for this instance (the cluster's 'spread' claim uses it job by job). */
    public lock(job: ScheduledJob): void {
        job.lockedAt = this.clock.now();
        job.lockedBy = this.instance;
        const at = this.queue.findIndex((queued) => queued._id === job._id);
        if (at >= 0) {
            this.queue.splice(at, 1);
        }
        this.queue.push(job);
    }

    /** Jobs due, unlocked (or lock expired) that this instance could lock now. */
    public lockableNow(): ScheduledJob[] {
        const now = this.clock.now().getTime();
        const deadline = now - this.options.lockLifetimeMs;
        return [...this.jobs.values()]
            .filter((job) => this.processors.has(job.name))
            .filter(
                (job) =>
                    (!job.lockedAt && job.nextRunAt && job.nextRunAt.getTime() <= now) ||
                    (job.lockedAt && job.lockedAt.getTime() <= deadline),
            )
            .sort((a, b) => (a.nextRunAt?.getTime() ?? 0) - (b.nextRunAt?.getTime() ?? 0));
    }

    /** Starts every locked job that may run now (one per name); answers how many started. */
    public process(): number {
        if (!this.alive) {
            return 0;
        }
        let started = 0;
        const now = this.clock.now().getTime();
        const deadline = now - this.options.lockLifetimeMs;
        this.queue.sort((a, b) => (a.nextRunAt?.getTime() ?? 0) - (b.nextRunAt?.getTime() ?? 0));
        for (const job of [...this.queue]) {
            if (!this.jobs.has(job._id) || job.lockedBy !== this.instance) {
                this.dequeue(job); // cancelled, or re-locked elsewhere after our lock expired
                continue;
            }
            if (this.runningNames.has(job.name) || !job.nextRunAt || job.nextRunAt.getTime() > now) {
                continue;
            }
            if (job.lockedAt && job.lockedAt.getTime() < deadline) {
                this.dequeue(job); // Agenda `_runOrRetry`: lock expired before the run, freed for anyone
                continue;
            }
            this.dequeue(job);
            this.start(job);
            started++;
        }
        return started;
    }

    /** Runs in progress here (the cluster awaits them; a kill resolves them at once). */
    public inFlight(): Promise<void>[] {
        return [...this.runs];
    }

    /** Whether a run of this name is in progress here. */
    public isRunning(name?: string): boolean {
        return name ? this.runningNames.has(name) : this.runningNames.size > 0;
    }

    /** Jobs this instance holds locked and has not started. */
    public lockedHere(): ScheduledJob[] {
        return [...this.queue];
    }

    /** This instance alone: scan, run what is due, until nothing more starts (cluster.runDue coordinates all). */
    public override async runDue(): Promise<JobRun[]> {
        const before = this.history.length;
        for (let guard = 0; guard < 10000 && this.alive; guard++) {
            this.scan();
            const started = this.process();
            const pending = this.inFlight();
            if (!started && pending.length === 0) {
                break;
            }
            await Promise.race([Promise.all(pending), this.killed]);
        }
        return this.history.slice(before);
    }

    /** 'auto' mode: scan and start due jobs every `everyMs`, like Agenda's processEvery timer. */
    public override startPolling(everyMs: number): void {
        this.stopPolling();
        this.pollTimer = setInterval(() => {
            this.scan();
            this.process();
        }, everyMs);
        this.pollTimer.unref();
    }

    public override stopPolling(): void {
        if (this.pollTimer) {
            clearInterval(this.pollTimer);
            this.pollTimer = null;
        }
    }

    public override async drain(): Promise<void> {
        while (this.alive && this.runs.size) {
            await Promise.race([Promise.all([...this.runs]), this.killed]);
        }
    }

    /** The instance died: nothing more is locked, started or saved; its locks stay as they are. */
    public kill(): void {
        this.alive = false;
        this.stopPolling();
        this.queue.length = 0;
        this.killedResolve();
    }

    private dequeue(job: ScheduledJob): void {
        const at = this.queue.indexOf(job);
        if (at >= 0) {
            this.queue.splice(at, 1);
        }
    }

    private start(job: ScheduledJob): void {
        const processor = this.processors.get(job.name) as ProcessorFn;
        this.runningNames.add(job.name);
        const startedMs = Date.now();
        job.lastRunAt = this.clock.now();
        job.runCount++;
        job.nextRunAt = job.type === 'single' && job.repeatInterval ? new Date(job.lastRunAt.getTime() + job.repeatInterval) : null;
        const data: Record<string, unknown> = { ...job.data };
        delete data.appId;
        data.jobId = job._id;
        const run = (async () => {
            let error: unknown;
            let ok = true;
            try {
                await Promise.race([this.inContext(() => processor(data)), this.killed]);
            } catch (e) {
                ok = false;
                error = e;
            }
            if (!this.alive) {
                return; // the process died mid-run: nothing is saved, the lock stays
            }
            if (ok) {
                job.lastFinishedAt = this.clock.now();
                if (job.type === 'normal') {
                    this.jobs.delete(job._id);
                }
            } else {
                job.failCount++;
                job.failedAt = this.clock.now();
                job.lastFinishedAt = job.failedAt;
                job.failReason = describeError(error);
            }
            job.lockedAt = null;
            job.lockedBy = undefined;
            const record: JobRun = { jobId: job._id, name: job.name, ok, ms: Date.now() - startedMs };
            if (!ok) {
                record.error = job.failReason;
            }
            this.history.push({ ...record, instance: this.instance });
        })().finally(() => {
            this.runningNames.delete(job.name);
            this.runs.delete(run);
        });
        this.runs.add(run);
    }
}
