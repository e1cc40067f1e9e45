import { parseInterval } from './intervals';
import { objectId } from './util';

export { parseInterval };

/**
 * Emulation of Rocket.Chat's app scheduler (apps/meteor/app/apps/server/bridges/scheduler.ts on
 * top of Agenda) with a controllable clock:
 *
 * - one-time jobs ('normal'): run once when due; removed after the processor succeeded; a failed job
 *   stays in the collection with failCount/failReason and is never run again (no retry);
 * - recurring jobs ('single', from `every`): one per processor name, rescheduled after each run;
 * - the processor gets the job data minus `appId`, plus `jobId`;
 * - due jobs run one at a time (Agenda `defaultConcurrency: 1`), in due order.
 *
 * Time: `clock.now()` = real time + offset. `advance(ms)` moves the offset and runs what is due;
 * `runDue()` runs what is due now. In 'auto' mode a timer also polls like Agenda's processEvery.
 */

export interface ScheduledJob {
    _id: string;
    name: string;
    type: 'normal' | 'single';
    data: Record<string, unknown>;
    nextRunAt: Date | null;
    repeatInterval?: number;
    lastRunAt?: Date;
    lastFinishedAt?: Date;
    failedAt?: Date;
    failReason?: string;
    failCount: number;
    runCount: number;
    /** Agenda's claim: set when an instance locks the job, cleared when its run ends (cluster mode). */
    lockedAt?: Date | null;
    /** Which cluster instance holds the lock (harness bookkeeping, not an Agenda field). */
    lockedBy?: number;
}

export interface JobRun {
    jobId: string;
    name: string;
    ok: boolean;
    error?: string;
    ms: number;
    /** Cluster mode: the instance that ran it. */
    instance?: number;
}

export type ProcessorFn = (jobContext: Record<string, unknown>) => Promise<void>;

/** Error text of whatever the engine rejects with (Error, or a JsonRpcError whose data carries the app's message). */
export function describeError(error: unknown): string {
    const e = error as { message?: string; data?: { message?: string } } | undefined;
    if (e?.data?.message) {
        return e.data.message;
    }
    return e?.message ?? String(error);
}

/** What a clock drives: the due jobs of one scheduler, or of every instance of a cluster. */
export interface ClockOwner {
    runDue(): Promise<JobRun[]>;
    pendingJobs(): ScheduledJob[];
}

export class Clock {
    private offsetMs = 0;

    constructor(private readonly scheduler: ClockOwner) {}

    /** Current emulated time (real time + offset). */
    public now(): Date {
        return new Date(Date.now() + this.offsetMs);
    }

    public get offset(): number {
        return this.offsetMs;
    }

    /** Moves time forward and runs (awaiting completion) every job that became due. */
    public async advance(ms: number): Promise<JobRun[]> {
        if (ms < 0) {
            throw new Error('time only moves forward');
        }
        this.offsetMs += ms;
        return this.scheduler.runDue();
    }

    /** Runs every job due now, awaiting completion. */
    public runDue(): Promise<JobRun[]> {
        return this.scheduler.runDue();
    }

    /** Moves time to the next pending job and runs it (and anything else due by then). */
    public async runNext(): Promise<JobRun[]> {
        const next = this.scheduler.pendingJobs()[0];
        if (!next?.nextRunAt) {
            return [];
        }
        const gap = next.nextRunAt.getTime() - this.now().getTime();
        return this.advance(Math.max(0, gap));
    }
}

/** The job collection and clock several schedulers share (cluster mode: one MongoDB, one Agenda collection). */
export interface SharedJobs {
    jobs: Map<string, ScheduledJob>;
    clock: Clock;
    history: JobRun[];
    errors: string[];
}

export class Scheduler {
    public readonly clock: Clock;
    public readonly jobs: Map<string, ScheduledJob>;
    public readonly history: JobRun[];
    /** Errors Rocket.Chat would only log (e.g. an unparseable `when`). */
    public readonly errors: string[];
    protected readonly processors = new Map<string, ProcessorFn>();
    private running: Promise<JobRun[]> | null = null;
    private timer: NodeJS.Timeout | null = null;
    private afterRun: () => Promise<void> = async () => undefined;

    constructor(shared?: SharedJobs) {
        this.clock = shared?.clock ?? new Clock(this);
        this.jobs = shared?.jobs ?? new Map();
        this.history = shared?.history ?? [];
        this.errors = shared?.errors ?? [];
    }

    /** Called after each job (the host waits for events the job caused). */
    public onAfterRun(fn: () => Promise<void>): void {
        this.afterRun = fn;
    }

    public define(name: string, fn: ProcessorFn): void {
        this.processors.set(name, fn);
    }

    public isDefined(name: string): boolean {
        return this.processors.has(name);
    }

    public resolveWhen(when: unknown): Date {
        if (when instanceof Date) {
            return when;
        }
        if (typeof when === 'number') {
            return new Date(when);
        }
        if (typeof when === 'string') {
            const text = when.trim().toLowerCase();
            if (text === 'now') {
                return this.clock.now();
            }
            const rel = /^in\s+(.+)$/.exec(text);
            if (rel) {
                return new Date(this.clock.now().getTime() + parseInterval(rel[1]));
            }
            const parsed = Date.parse(when);
            if (!Number.isNaN(parsed)) {
                return new Date(parsed);
            }
            return new Date(this.clock.now().getTime() + parseInterval(text));
        }
        throw new Error(`invalid "when": ${String(when)}`);
    }

    /** Agenda schedule(): a new 'normal' job each call. */
    public schedule(when: unknown, name: string, data: Record<string, unknown>): ScheduledJob {
        const job: ScheduledJob = {
            _id: objectId(),
            name,
            type: 'normal',
            data,
            nextRunAt: this.resolveWhen(when),
            failCount: 0,
            runCount: 0,
        };
        this.jobs.set(job._id, job);
        return job;
    }

    /** Agenda every(): one 'single' job per name, updated in place. */
    public every(interval: string | number, name: string, data: Record<string, unknown>, skipImmediate: boolean): ScheduledJob {
        const ms = parseInterval(interval);
        const existing = [...this.jobs.values()].find((j) => j.type === 'single' && j.name === name);
        const now = this.clock.now();
        const nextRunAt = skipImmediate ? new Date(now.getTime() + ms) : now;
        if (existing) {
            existing.data = data;
            existing.repeatInterval = ms;
            existing.nextRunAt = nextRunAt;
            return existing;
        }
        const job: ScheduledJob = { _id: objectId(), name, type: 'single', data, nextRunAt, repeatInterval: ms, failCount: 0, runCount: 0 };
        this.jobs.set(job._id, job);
        return job;
    }

    public cancel(filter: { _id?: string; name?: string; nameSuffix?: string }): number {
        let n = 0;
        for (const job of [...this.jobs.values()]) {
            if (
                (filter._id !== undefined && job._id === filter._id) ||
                (filter.name !== undefined && job.name === filter.name) ||
                (filter.nameSuffix !== undefined && job.name.endsWith(filter.nameSuffix))
            ) {
                this.jobs.delete(job._id);
                n++;
            }
        }
        return n;
    }

    /** Jobs still waiting to run, soonest first. */
    public pendingJobs(): ScheduledJob[] {
        return [...this.jobs.values()].filter((j) => j.nextRunAt).sort((a, b) => a.nextRunAt!.getTime() - b.nextRunAt!.getTime());
    }

    /** Jobs whose processor failed (kept, never retried). */
    public failedJobs(): ScheduledJob[] {
        return [...this.jobs.values()].filter((j) => j.failCount > 0 && !j.nextRunAt);
    }

    public async runDue(): Promise<JobRun[]> {
        while (this.running) {
            await this.running;
        }
        this.running = this.runDueNow();
        try {
            return await this.running;
        } finally {
            this.running = null;
        }
    }

    private async runDueNow(): Promise<JobRun[]> {
        const runs: JobRun[] = [];
        // Keep going while jobs are due: a job may schedule another one that is already due.
        for (let guard = 0; guard < 10000; guard++) {
            const now = this.clock.now().getTime();
            const job = this.pendingJobs().find((j) => j.nextRunAt!.getTime() <= now && this.processors.has(j.name));
            if (!job) {
                break;
            }
            runs.push(await this.runJob(job));
        }
        return runs;
    }

    private async runJob(job: ScheduledJob): Promise<JobRun> {
        const processor = this.processors.get(job.name)!;
        const started = Date.now();
        job.lastRunAt = this.clock.now();
        job.runCount++;
        if (job.type === 'single' && job.repeatInterval) {
            job.nextRunAt = new Date(job.lastRunAt.getTime() + job.repeatInterval);
        } else {
            job.nextRunAt = null;
        }
        const data: Record<string, unknown> = { ...job.data };
        delete data.appId;
        data.jobId = job._id;
        let run: JobRun;
        try {
            await processor(data);
            job.lastFinishedAt = this.clock.now();
            if (job.type === 'normal') {
                this.jobs.delete(job._id);
            }
            run = { jobId: job._id, name: job.name, ok: true, ms: Date.now() - started };
        } catch (error) {
            job.failCount++;
            job.failedAt = this.clock.now();
            job.failReason = describeError(error);
            run = { jobId: job._id, name: job.name, ok: false, error: job.failReason, ms: Date.now() - started };
        }
        await this.afterRun();
        this.history.push(run);
        return run;
    }

    /** 'auto' mode: poll for due jobs like Agenda's processEvery (the sandbox uses this). */
    public startPolling(everyMs: number): void {
        this.stopPolling();
        this.timer = setInterval(() => {
            void this.runDue().catch((e) => this.errors.push(String(e)));
        }, everyMs);
        this.timer.unref();
    }

    public stopPolling(): void {
        if (this.timer) {
            clearInterval(this.timer);
            this.timer = null;
        }
    }

    /** Waits for a run in progress (used on shutdown). */
    public async drain(): Promise<void> {
        while (this.running) {
            await this.running;
        }
    }
}
