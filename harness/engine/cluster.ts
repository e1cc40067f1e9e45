import { AsyncLocalStorage } from 'node:async_hooks';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

import { AppStatus } from '@rocket.chat/apps-engine/definition/AppStatus';
import { AppManager } from '@rocket.chat/apps-engine/server/AppManager';

import { RocketChat } from '../rocketchat/RocketChat';
import type { EventRecord } from '../rocketchat/events';
import { AGENDA_DEFAULTS, AgendaWorker } from './agendaWorker';
import type { HttpCallRecord, PersistenceRecord } from './bridges';
import { Clock, type ClockOwner, type JobRun, type ScheduledJob, type SharedJobs } from './clock';
import { EngineHost } from './EngineHost';
import type { ApiCall, ApiResult, EngineHostOptions } from './hostTypes';

/**
 * Several Rocket.Chat instances over one MongoDB, each running its own copy of the app: N EngineHosts (each its
 * own AppManager and runtime process) over ONE emulated Rocket.Chat (rooms, messages, visitors, users, server
 * settings), ONE app persistence and ONE Agenda job collection with Agenda's locking (agendaWorker.ts). A webhook
 * lands on the instance the balancer picks; a Rocket.Chat event fires on the instance where the action happened
 * (a bridge call of instance i, or `cluster.on(i, ...)`), else on the instance the `events` policy picks.
 * App settings, status and updates are applied on every instance, as Rocket.Chat's AppServerListener does on
 * the instances that did not take the admin's call (apps/meteor/ee/server/apps/communication/websockets.ts).
 *
 *   const cluster = await Cluster.start({ instances: 3, zip: mainAppZip(), settings: {...} });
 *   await cluster.callApi({ path: 'handoff', ... }, { on: 1 });
 *   await cluster.on(2, () => cluster.rc.agentSendMessage(roomId, 'alice', 'hi'));
 *   await cluster.kill(1); await cluster.advance(11 * 60 * 1000);
 */

/** An instance index, or 'round-robin' over the live instances. */
export type Target = number | 'round-robin';

export interface ClusterOptions extends Omit<EngineHostOptions, 'member' | 'scheduler' | 'pollMs'> {
    /** How many instances (2-3 are sensible on two cores). */
    instances: number;
    /** Which instance a callApi without `on` lands on (default 'round-robin', like a balancer). */
    http?: Target;
    /** Which instance an event with no instance of origin fires on (default 'round-robin'). */
    events?: Target | ((record: EventRecord) => number);
    /**
     * How due jobs are claimed at runDue/advance: 'scan' (default, Agenda: the first instance to scan locks
     * everything due; the first scanner rotates each round) or 'spread' (one job to each instance in turn, as
     * when jobs fall due between the instances' scans).
     */
    claim?: 'scan' | 'spread';
    /** 'manual' (default): jobs run only on runDue/advance; 'auto': each instance also scans every pollMs. */
    scheduler?: 'manual' | 'auto';
    pollMs?: number;
    /** Agenda defaultLockLifetime (default 10 min). */
    lockLifetimeMs?: number;
    /** Agenda processEvery (default 5 s): a job due before the next scan is locked early. */
    processEveryMs?: number;
}

interface RuntimeInternals {
    deno?: ChildProcess;
    getProcessState(): string;
    livenessManager: { getRuntimeData(): { restartCount: number } };
}

export class Cluster implements ClockOwner {
    public readonly rc: RocketChat;
    public readonly clock: Clock;
    /** The one Agenda collection (rocketchat_apps_scheduler). */
    public readonly shared: SharedJobs;
    /** The one app persistence collection. */
    public readonly persistenceRecords = new Map<string, PersistenceRecord>();
    public readonly hosts: EngineHost[] = [];
    public readonly workers: AgendaWorker[] = [];

    private readonly context = new AsyncLocalStorage<number>();
    private httpTurn = 0;
    private eventTurn = 0;
    private scanTurn = 0;

    private constructor(private readonly options: ClusterOptions) {
        this.rc = new RocketChat({ ...(options.rc ?? {}), routing: options.routing ?? 'auto' });
        this.clock = new Clock(this);
        this.shared = { jobs: new Map(), clock: this.clock, history: [], errors: [] };
        this.rc.dispatcher = (record, call) => this.dispatch(record, call);
    }

    /** Starts the instances (the first alone, so the app user is created once; then the others in parallel). */
    public static async start(options: ClusterOptions): Promise<Cluster> {
        if (options.instances < 1) {
            throw new Error('a cluster needs at least one instance');
        }
        const cluster = new Cluster(options);
        const agenda = {
            lockLifetimeMs: options.lockLifetimeMs ?? AGENDA_DEFAULTS.lockLifetimeMs,
            processEveryMs: options.processEveryMs ?? AGENDA_DEFAULTS.processEveryMs,
        };
        for (let i = 0; i < options.instances; i++) {
            cluster.workers.push(new AgendaWorker(i, cluster.shared, agenda, (fn) => cluster.context.run(i, fn)));
        }
        const startOne = async (index: number): Promise<void> => {
            const host = await cluster.context.run(index, () =>
                EngineHost.start({
                    ...options,
                    scheduler: 'manual',
                    member: {
                        index,
                        rc: cluster.rc,
                        scheduler: cluster.workers[index],
                        persistence: cluster.persistenceRecords,
                        inContext: (fn) => cluster.context.run(index, fn),
                    },
                }),
            );
            cluster.hosts[index] = host;
        };
        try {
            await startOne(0);
            const rest = await Promise.allSettled(Array.from({ length: options.instances - 1 }, (_, k) => startOne(k + 1)));
            const failed = rest.find((r): r is PromiseRejectedResult => r.status === 'rejected');
            if (failed) {
                throw failed.reason;
            }
        } catch (error) {
            await cluster.stop().catch(() => undefined);
            throw error;
        }
        cluster.keepSingletonAlive();
        if (options.scheduler === 'auto') {
            for (const worker of cluster.workers) {
                worker.startPolling(options.pollMs ?? 1000);
            }
        }
        return cluster;
    }

    // ------------------------------------------------------------------ instances

    public get size(): number {
        return this.hosts.length;
    }

    public instance(index: number): EngineHost {
        const host = this.hosts[index];
        if (!host) {
            throw new Error(`no instance ${index} (the cluster has ${this.hosts.length})`);
        }
        return host;
    }

    /** Indexes of the instances still running. */
    public alive(): number[] {
        return this.hosts.map((host, i) => (host.isStopped ? -1 : i)).filter((i) => i >= 0);
    }

    public get appId(): string {
        return this.instance(0).appId;
    }

    /** Runs `fn` as an action on instance `index`: the Rocket.Chat events it causes fire there. */
    public on<T>(index: number, fn: () => T): T {
        this.mustBeAlive(index);
        return this.context.run(index, fn);
    }

    /** The instance the current code runs on (inside `on`, a bridge call, an API call or a job), if any. */
    public currentInstance(): number | undefined {
        return this.context.getStore();
    }

    // ------------------------------------------------------------------ HTTP

    /** An app endpoint call through the balancer: to instance `on`, else by the `http` policy. */
    // biome-ignore lint/suspicious/noExplicitAny: the default body type of ApiResult (tests read the JSON they expect)
    public callApi<T = any>(call: ApiCall, route: { on?: Target } = {}): Promise<ApiResult<T>> {
        const index = this.pick(route.on ?? this.options.http ?? 'round-robin', 'http');
        return this.context.run(index, () => this.instance(index).callApi<T>(call));
    }

    // ------------------------------------------------------------------ jobs & time

    /** Every job of the shared collection still waiting to run, soonest first. */
    public pendingJobs(): ScheduledJob[] {
        return [...this.shared.jobs.values()]
            .filter((j) => j.nextRunAt)
            .sort((a, b) => (a.nextRunAt as Date).getTime() - (b.nextRunAt as Date).getTime());
    }

    /** Jobs held locked (by a live or a dead instance). */
    public lockedJobs(): ScheduledJob[] {
        return [...this.shared.jobs.values()].filter((j) => j.lockedAt);
    }

    /** Every job run so far, with the instance that ran it. */
    public get jobHistory(): JobRun[] {
        return this.shared.history;
    }

    /**
     * Runs what is due on the live instances, Agenda-style (claim policy, one job per name per instance at a
     * time, instances in parallel), round after round until nothing more starts; then waits for the events.
     */
    public async runDue(): Promise<JobRun[]> {
        const before = this.shared.history.length;
        for (let round = 0; round < 10000; round++) {
            this.claim();
            let started = 0;
            for (const i of this.alive()) {
                started += this.workers[i].process();
            }
            const inFlight = this.alive().flatMap((i) => this.workers[i].inFlight());
            if (!started && inFlight.length === 0) {
                break;
            }
            await Promise.all(inFlight);
            await this.rc.idle();
        }
        await this.rc.idle();
        return this.shared.history.slice(before);
    }

    /** Moves the shared virtual clock and runs what became due. */
    public advance(ms: number): Promise<JobRun[]> {
        return this.clock.advance(ms);
    }

    /** Waits until no app event, API call or job is in flight on a live instance. */
    public async idle(): Promise<void> {
        for (let i = 0; i < 100; i++) {
            await this.rc.idle();
            const runs = this.alive().flatMap((k) => this.workers[k].inFlight());
            if (runs.length === 0) {
                break;
            }
            await Promise.all(runs);
        }
        await this.rc.idle();
    }

    // ------------------------------------------------------------------ failures

    /**
     * Kills instance `index` abruptly: its runtime process is SIGKILLed (no restart), its calls and events in
     * flight are lost (a call in flight answers 502 from the balancer), its Agenda stops with its locks held
     * until the lock lifetime passes. The others go on.
     */
    public async kill(index: number): Promise<void> {
        this.workers[index].kill();
        await this.instance(index).kill();
        this.keepSingletonAlive();
    }

    /**
     * Kills instance `index`'s runtime process (SIGKILL) and waits until the engine restarted it (LivenessManager:
     * exit -> restartApp: new process, initialize, onEnable). The instance stays up; its runtime memory is lost,
     * calls in flight on the old process time out.
     */
    public async crashRuntime(index: number, timeoutMs = 30000): Promise<void> {
        const host = this.instance(index);
        const controller = host.manager.getOneById(host.appId)?.getRuntimeController() as unknown as RuntimeInternals;
        const old = controller.deno;
        if (!old?.pid) {
            throw new Error(`instance ${index} has no runtime process`);
        }
        // restartCount grows once restartApp() has finished (the state reads 'ready' for a moment before that).
        const restarts = controller.livenessManager.getRuntimeData().restartCount;
        // The engine writes the next calls into the dead process's stdin: EPIPE on a stream with no error listener,
        // which would fail the jest test as an uncaught error. The requests themselves still time out.
        old.stdin?.on('error', () => undefined);
        old.kill('SIGKILL');
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
            if (controller.livenessManager.getRuntimeData().restartCount > restarts && controller.getProcessState() === 'ready') {
                return;
            }
            await new Promise((resolve) => setTimeout(resolve, 50));
        }
        throw new Error(`instance ${index}: the runtime was not restarted within ${timeoutMs} ms`);
    }

    // ------------------------------------------------------------------ administration (all instances)

    /** An admin changes a setting on `origin`; the other instances apply it too (AppServerListener.onAppSettingUpdated). */
    public async updateSetting(id: string, value: unknown, origin = this.alive()[0]): Promise<void> {
        await this.instance(origin).updateSetting(id, value);
        for (const i of this.alive().filter((k) => k !== origin)) {
            const host = this.instance(i);
            await host.updateSetting(id, value);
        }
    }

    /** Disables the app on `origin` (changeStatus); the others follow (AppServerListener.onAppStatusUpdated: disable). */
    public async disableApp(origin = this.alive()[0]): Promise<void> {
        await this.idle();
        await this.instance(origin).disableApp();
        await Promise.all(
            this.alive()
                .filter((k) => k !== origin)
                .map((i) => this.instance(i).manager.disable(this.appId, AppStatus.MANUALLY_DISABLED, true)),
        );
    }

    /** Enables the app on `origin`; the others follow (AppServerListener.onAppStatusUpdated: enable). */
    public async enableApp(origin = this.alive()[0]): Promise<void> {
        await this.instance(origin).manager.changeStatus(this.appId, AppStatus.MANUALLY_ENABLED);
        await Promise.all(
            this.alive()
                .filter((k) => k !== origin)
                .map((i) => this.instance(i).manager.enable(this.appId)),
        );
        await this.idle();
    }

    /**
     * Updates the app (re-install of a package, by default the same zip) on `origin` (AppManager.update); the
     * others reload it from storage (AppServerListener.onAppUpdated: updateAndStartupLocal).
     */
    public async updateApp(zip?: Buffer | string, origin = this.alive()[0]): Promise<void> {
        const source = zip ?? this.options.zip;
        const buffer = typeof source === 'string' ? fs.readFileSync(source) : source;
        await this.idle();
        const host = this.instance(origin);
        const permissions = host.manager.getOneById(this.appId)?.getStorageItem().permissionsGranted;
        const aff = await host.manager.update(buffer, permissions as NonNullable<typeof permissions>);
        if (!aff.getApp()) {
            throw new Error('the engine refused the update');
        }
        await Promise.all(
            this.alive()
                .filter((k) => k !== origin)
                .map(async (i) => {
                    const manager = this.instance(i).manager;
                    const stored = await manager.getStorage().retrieveOne(this.appId);
                    if (!stored) {
                        throw new Error(`instance ${i} has no stored app`);
                    }
                    await manager.updateAndStartupLocal(stored, buffer);
                }),
        );
        await this.idle();
    }

    /** The pid of instance `index`'s app runtime process (undefined when it has none). */
    public runtimePid(index: number): number | undefined {
        const host = this.instance(index);
        const controller = host.manager.getOneById(host.appId)?.getRuntimeController() as unknown as RuntimeInternals | undefined;
        return controller?.deno?.pid;
    }

    /** Whether instance `index`'s engine hands `event` to the app right now (listeners registered, not blocked). */
    public listening(index: number, event = 'IPostMessageSent'): boolean {
        const host = this.hosts[index];
        if (!host || host.isStopped) {
            return false;
        }
        const listeners = (host.manager.getListenerManager() as unknown as { listeners: Map<string, string[]> }).listeners;
        return !!listeners.get(event)?.includes(this.appId);
    }

    /** The app's status on each instance (undefined for a dead one). */
    public async appStatuses(): Promise<Array<string | undefined>> {
        return Promise.all(
            this.hosts.map(async (host) => (host.isStopped ? undefined : String(await host.manager.getOneById(host.appId)?.getStatus()))),
        );
    }

    // ------------------------------------------------------------------ diagnostics

    /** Outbound HTTP calls of every instance, each with its instance. */
    public get httpCalls(): Array<HttpCallRecord & { instance: number }> {
        return this.hosts.flatMap((host, instance) => host.httpCalls.map((call) => ({ ...call, instance })));
    }

    /** Raw persistence records of the app. */
    public persistence(): PersistenceRecord[] {
        return [...this.persistenceRecords.values()].filter((r) => r.appId === this.appId);
    }

    /** All app logs of every instance as one text. */
    public logText(): string {
        return this.hosts.map((host, i) => `--- instance ${i}\n${host.logText()}`).join('\n');
    }

    // ------------------------------------------------------------------ shutdown

    public async stop(): Promise<void> {
        for (const worker of this.workers) {
            worker.stopPolling();
        }
        await Promise.all(this.hosts.filter(Boolean).map((host) => host.stop().catch(() => undefined)));
        this.keepSingletonAlive();
    }

    // ------------------------------------------------------------------ internals

    private mustBeAlive(index: number): void {
        if (this.instance(index).isStopped) {
            throw new Error(`instance ${index} is not running`);
        }
    }

    private pick(target: Target, turn: 'http' | 'event'): number {
        const live = this.alive();
        if (live.length === 0) {
            throw new Error('no instance is running');
        }
        if (typeof target === 'number') {
            this.mustBeAlive(target);
            return target;
        }
        const n = turn === 'http' ? this.httpTurn++ : this.eventTurn++;
        return live[n % live.length];
    }

    /** Claims what is due for the live instances by the claim policy. */
    private claim(): void {
        const live = this.alive();
        if (live.length === 0) {
            return;
        }
        if (this.options.claim === 'spread') {
            let k = this.scanTurn++;
            for (;;) {
                const worker = this.workers[live[k % live.length]];
                const next = worker.lockableNow()[0];
                if (!next) {
                    break;
                }
                worker.lock(next);
                k++;
            }
            return;
        }
        const first = this.scanTurn++ % live.length;
        for (let k = 0; k < live.length; k++) {
            this.workers[live[(first + k) % live.length]].scan();
        }
    }

    private dispatch(record: EventRecord, call: (manager: AppManager) => Promise<unknown>): Promise<unknown> {
        const origin = this.context.getStore();
        let index: number;
        if (origin !== undefined) {
            if (this.hosts[origin]?.isStopped) {
                return Promise.resolve(); // caused by an instance that has died since: lost with it
            }
            index = origin;
        } else {
            const policy = this.options.events ?? 'round-robin';
            index = typeof policy === 'function' ? policy(record) : this.pick(policy, 'event');
        }
        record.instance = index;
        const host = this.instance(index);
        if (host.isStopped) {
            return Promise.resolve();
        }
        return Promise.race([this.context.run(index, () => call(host.manager)), host.whenKilled()]);
    }

    /** AppManager.Instance must be a live instance's manager (getPermissionsByAppId reads it). */
    private keepSingletonAlive(): void {
        const singleton = AppManager as unknown as { Instance?: AppManager };
        const live = this.alive();
        singleton.Instance = live.length ? this.hosts[live[0]].manager : undefined;
    }
}
