export type { ApiCall, ApiResult, EngineHostOptions } from './hostTypes';
export type { PermissionDenial } from './permissionDenials';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { AppStatus } from '@rocket.chat/apps-engine/definition/AppStatus';
import type { IAppInfo } from '@rocket.chat/apps-engine/definition/metadata';
import type { ISetting } from '@rocket.chat/apps-engine/definition/settings';
import { SlashCommandContext } from '@rocket.chat/apps-engine/definition/slashcommands';
import { AppManager } from '@rocket.chat/apps-engine/server/AppManager';
import type { ILoggerStorageEntry } from '@rocket.chat/apps-engine/server/logging';
import type { ProxiedApp } from '@rocket.chat/apps-engine/server/ProxiedApp';

import { buildApiRequest, expressSend, type HttpReply, notFound } from './apiRequest';
import type { ApiCall, ApiResult, EngineHostOptions } from './hostTypes';
import { decodeApiReply, encodeApiCall, HttpFront } from './httpFront';
import { denials, type PermissionDenial } from './permissionDenials';
import { installApp } from './installApp';
import { defaultRuntime, selectRuntime } from './nodeRuntime';
import { prepareProcess } from './runtimeEnv';
import { EmulatedAppBridges } from './bridges';
import type { BridgeSet, HttpCallRecord } from './bridges';
import { type Clock, type JobRun, Scheduler } from './clock';
import { RocketChat } from '../rocketchat/RocketChat';
import { MemoryLogStorage, MemoryMetadataStorage, MemorySourceStorage } from './storage';
import { randomId } from './util';

/**
 * Runs an app .zip in the real Apps-Engine (AppManager + Deno runtime, or Node: nodeRuntime.ts) against the in-memory
 * Rocket.Chat of harness/rocketchat. One host = one AppManager = one app; start as many hosts one
 * after the other as you like (stop() frees the AppManager singleton), not two at once, except as the
 * instances of a Cluster (cluster.ts), which share one Rocket.Chat, one app persistence and one job collection.
 */

let activeHost: EngineHost | undefined;

export class EngineHost {
    public readonly rc: RocketChat;
    public readonly clock: Clock;
    public readonly scheduler: Scheduler;
    public readonly manager: AppManager;
    public readonly bridges: BridgeSet;
    public appId = '';
    public appInfo!: IAppInfo;
    public app!: ProxiedApp;
    /** The admin that installed the app (also used for settings updates). */
    public admin!: ReturnType<RocketChat['createUser']>;

    private readonly logStorage: MemoryLogStorage;
    private readonly metadataStorage = new MemoryMetadataStorage();
    private readonly tempDir: string;
    private readonly front: HttpFront;
    private readonly inflight = new Set<Promise<unknown>>();
    private readonly adminToken = randomId(43);
    private stopped = false;
    private killedResolve: () => void = () => undefined;
    /** Resolves when the instance is killed (cluster mode): calls in flight there get no answer. */
    private readonly killed = new Promise<void>((resolve) => {
        this.killedResolve = resolve;
    });

    private constructor(private readonly options: EngineHostOptions) {
        const member = options.member;
        this.rc = member?.rc ?? new RocketChat({ ...(options.rc ?? {}), routing: options.routing ?? 'auto' });
        this.logStorage = new MemoryLogStorage(options.redactLogs ?? true);
        this.scheduler = member?.scheduler ?? new Scheduler();
        this.clock = this.scheduler.clock;
        if (!member) {
            // A cluster waits for events once per round over all instances instead (cluster.ts).
            this.scheduler.onAfterRun(() => this.rc.idle());
        }
        this.tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-engine-host-'));
        const appBridges = new EmulatedAppBridges(
            this.rc,
            this.scheduler,
            () => ({ name: this.appInfo?.name, nameSlug: this.appInfo?.nameSlug }),
            {
                NODE_ENV: 'production',
                ROOT_URL: this.rc.options.siteUrl,
                ...(options.env ?? {}),
            },
            member ? { persistence: member.persistence, inContext: member.inContext } : {},
        );
        this.bridges = appBridges.b;
        const singleton = AppManager as unknown as { Instance?: AppManager };
        const previous = singleton.Instance;
        if (previous && !member) {
            throw new Error('An AppManager already exists in this process: stop() the previous EngineHost first.');
        }
        // The constructor refuses a second AppManager; besides it, only getPermissionsByAppId reads
        // AppManager.Instance (every instance grants the same permissions): the cluster keeps it on a live one.
        singleton.Instance = undefined;
        try {
            this.manager = new AppManager({
                metadataStorage: this.metadataStorage,
                logStorage: this.logStorage,
                bridges: appBridges,
                sourceStorage: new MemorySourceStorage(),
                tempFilePath: this.tempDir,
            });
        } finally {
            if (previous) {
                singleton.Instance = previous;
            }
        }
        selectRuntime(this.manager, options.runtime ?? defaultRuntime());
        if (!member) {
            this.rc.attach(this.manager);
        }
        this.front = new HttpFront(this, !!(options.rc?.siteUrl || options.rc?.serverSettings?.Site_Url));
    }

    /** Installs and enables the app; resolves once it is enabled and its settings are applied. */
    public static async start(options: EngineHostOptions): Promise<EngineHost> {
        if (activeHost && !activeHost.stopped) {
            throw new Error('Another EngineHost is running in this process: stop() it first.');
        }
        prepareProcess(options);

        const host = new EngineHost(options);
        if (!options.member) {
            activeHost = host;
        }
        try {
            await host.install();
        } catch (e) {
            await host.stop().catch(() => undefined);
            throw e;
        }
        return host;
    }

    private async install(): Promise<void> {
        const parsed = (info: IAppInfo, admin: EngineHost['admin']) => {
            this.appInfo = info;
            this.appId = info.id;
            this.admin = admin;
        };
        this.app = await installApp(this.manager, this.rc, this.options, parsed, () => this.logText());
        for (const [id, value] of Object.entries(this.options.settings ?? {})) {
            await this.updateSetting(id, value);
        }
        if (this.options.scheduler === 'auto') {
            this.scheduler.startPolling(this.options.pollMs ?? 1000);
        }
    }

    // ------------------------------------------------------------------ app API

    /**
     * Calls an app endpoint the way Rocket.Chat's REST layer does (see apiRequest.ts), without a socket.
     * Resolves after the response AND every app event the call caused have been handled.
     */
    // biome-ignore lint/suspicious/noExplicitAny: the default body type of ApiResult (tests read the JSON they expect)
    public async callApi<T = any>(call: ApiCall): Promise<ApiResult<T>> {
        const started = Date.now();
        const { method, target, headers, body } = encodeApiCall(call, new URL(this.rc.options.siteUrl).host);
        const reply = await this.handleAppRequest(method, target, headers, body);
        return decodeApiReply<T>(reply, started);
    }

    /** Shared by callApi and the HTTP front: route, build IApiRequest, executeApi, express-style reply. */
    public async handleAppRequest(
        method: string,
        target: string,
        headers: Record<string, string>,
        body: Buffer | undefined,
    ): Promise<HttpReply> {
        const pathOnly = target.split('?')[0];
        const match = this.bridges.api.match(this.appId, pathOnly);
        if (!match) {
            return notFound();
        }
        const built = buildApiRequest(method, target, headers, body);
        if (built.early) {
            return built.early;
        }
        built.request.params = match.params;
        const work = (async (): Promise<HttpReply> => {
            try {
                const response = await this.manager.getApiManager().executeApi(this.appId, match.route.path, built.request as never);
                return expressSend(built.request.method, response.status, response.headers, response.content, headers);
            } catch (error) {
                return expressSend(built.request.method, 500, undefined, String((error as Error)?.message ?? error), headers);
            }
        })();
        this.inflight.add(work);
        try {
            // A killed instance never answers: the balancer in front of it answers 502.
            const reply = await Promise.race([work, this.killed.then(() => expressSend(method, 502, undefined, 'Bad Gateway', headers))]);
            await this.rc.idle();
            return reply;
        } finally {
            this.inflight.delete(work);
        }
    }

    /** Base URL of the app's public API (http://127.0.0.1:<port>/api/apps/public/<appId>) once listening. */
    public get apiBaseUrl(): string {
        if (!this.front.baseUrl) {
            throw new Error('call host.listen() first');
        }
        return `${this.front.baseUrl}/api/apps/public/${this.appId}`;
    }

    /**
     * Serves Rocket.Chat's HTTP surface on 127.0.0.1 (see httpFront.ts): /api/apps/public/<appId>/<path> and
     * uploaded files (protected like FileUpload_ProtectFiles: add ?rc_uid=<admin id>&rc_token=<host.fileToken>
     * or use host.fileUrl()). Site_Url becomes this URL unless a Site_Url was configured. Returns the base URL.
     */
    public listen(port = 0): Promise<string> {
        return this.front.listen(port);
    }

    /** Token for protected file URLs (with rc_uid = host.admin._id). */
    public get fileToken(): string {
        return this.adminToken;
    }

    /** An authenticated URL of an uploaded file on the HTTP front. */
    public fileUrl(uploadId: string): string {
        const upload = this.rc.uploads.get(uploadId);
        if (!upload || !this.front.baseUrl) {
            throw new Error('unknown upload or not listening');
        }
        const auth = `rc_uid=${this.admin._id}&rc_token=${this.adminToken}`;
        return `${this.front.baseUrl}/file-upload/${upload._id}/${encodeURIComponent(upload.name)}?${auth}`;
    }

    // ------------------------------------------------------------------ slash commands

    /**
     * A user types `/command args` in a room. Follows apps/meteor/app/apps/server/bridges/commands.ts
     * (_appCommandExecutor): user and room converted for the app, the arguments split on blanks (quotes
     * not parsed), the engine's AppSlashCommandManager.executeCommand. Resolves after the app's executor
     * and the events it caused; what the app told the user privately is in `host.rc.ephemeralFor(username)`.
     */
    public async executeSlashCommand(username: string, roomId: string, text: string): Promise<void> {
        const [name, ...args] = text.trim().replace(/^\//, '').split(/\s+/);
        const registered = this.bridges.command.commands.get(name.toLowerCase());
        if (!registered) {
            throw new Error(
                `No slash command /${name} is registered (registered: ${[...this.bridges.command.commands.keys()].join(', ')})`,
            );
        }
        if (registered.permission) {
            // slashCommands.run checks hasPermission(user, command.permission, rid): no permission table here.
            throw new Error(`/${name} declares the permission "${registered.permission}": not emulated`);
        }
        const user = this.rc.toAppUser(this.rc.userByUsername(username));
        const room = this.rc.toAppRoom(this.rc.roomsById.get(roomId));
        if (!user || !room) {
            throw new Error(`unknown user ${username} or room ${roomId}`);
        }
        const context = new SlashCommandContext(Object.freeze(user), Object.freeze(room), Object.freeze(args.filter(Boolean)) as string[]);
        await this.manager.getCommandManager().executeCommand(name, context);
        await this.rc.idle();
    }

    // ------------------------------------------------------------------ settings

    /** The app's settings as stored (id -> setting). */
    public settings(): Record<string, ISetting> {
        return this.app.getStorageItem().settings;
    }

    /**
     * What Rocket.Chat's POST /api/apps/:id/settings does: AppSettingsManager.updateAppSetting
     * (onPreSettingUpdate, persist, onSettingUpdated).
     */
    public async updateSetting(id: string, value: unknown): Promise<void> {
        const current = this.settings()[id];
        if (!current) {
            throw new Error(`The app has no setting "${id}" (has: ${Object.keys(this.settings()).join(', ')})`);
        }
        await this.manager.getSettingsManager().updateAppSetting(this.appId, { ...current, value } as ISetting);
        await this.rc.idle();
    }

    // ------------------------------------------------------------------ app status

    /**
     * Disables the app the way the admin UI does (AppManager.changeStatus(id, MANUALLY_DISABLED), as
     * Rocket.Chat's apps REST endpoint calls it): onDisable runs, its endpoints answer 404, its listeners
     * stop firing; scheduled jobs are kept, and a job falling due meanwhile is consumed without running
     * (E/managers/AppSchedulerManager wrapProcessor: disabled status -> return).
     */
    public async disableApp(): Promise<void> {
        await this.rc.idle();
        await this.manager.changeStatus(this.appId, AppStatus.MANUALLY_DISABLED);
    }

    /** Enables the app again (AppManager.changeStatus(id, MANUALLY_ENABLED)). */
    public async enableApp(): Promise<void> {
        await this.manager.changeStatus(this.appId, AppStatus.MANUALLY_ENABLED);
        await this.rc.idle();
    }

    /** The app's current status (e.g. 'manually_enabled', 'manually_disabled'). */
    public async appStatus(): Promise<string> {
        return String(await this.app.getStatus());
    }

    // ------------------------------------------------------------------ logs & diagnostics

    /** Every log entry the app produced (one per engine call, with the app's logger lines in `entries`). */
    public get logs(): ILoggerStorageEntry[] {
        return this.logStorage.entries;
    }

    /** All log entries as one JSON text: handy for `expect(host.logText()).not.toContain(secret)`. */
    public logText(): string {
        return this.logStorage.entries.map((e) => JSON.stringify(e)).join('\n');
    }

    /** Outbound HTTP calls the app made through IHttp (URL, headers, body, status). */
    public get httpCalls(): HttpCallRecord[] {
        return this.bridges.http.calls;
    }

    /** Accessor calls the engine refused because app.json lacks the permission. */
    public get permissionDenials(): PermissionDenial[] {
        return denials.filter((d) => d.appId === this.appId);
    }

    /** Raw persistence records of the app (data + associations). */
    public persistence(): Array<{ _id: string; associations?: Array<{ model: string; id: string }>; data: object }> {
        return [...this.bridges.persistence.records.values()].filter((r) => r.appId === this.appId);
    }

    /** Runs every due job now (shortcut for host.clock.runDue()). */
    public runDueJobs(): Promise<JobRun[]> {
        return this.clock.runDue();
    }

    // ------------------------------------------------------------------ shutdown

    /** Whether kill() or stop() ended this host. */
    public get isStopped(): boolean {
        return this.stopped;
    }

    /**
     * Cluster mode: the instance dies at once. Its runtime process is SIGKILLed with no restart (the engine's
     * LivenessManager restarts only a process it did not stop), calls in flight get no answer, nothing is
     * awaited or unloaded.
     */
    public async kill(): Promise<void> {
        if (this.stopped) {
            return;
        }
        this.stopped = true;
        this.killedResolve();
        this.scheduler.stopPolling();
        const controller = this.manager.getOneById(this.appId)?.getRuntimeController();
        // A call still being written to the dying process must not surface as an uncaught EPIPE in the test.
        (controller as unknown as { deno?: { stdin?: NodeJS.EventEmitter } } | undefined)?.deno?.stdin?.on('error', () => undefined);
        await controller?.stopApp().catch(() => undefined);
        await this.front.close().catch(() => undefined);
        this.releaseSingleton();
        fs.rmSync(this.tempDir, { recursive: true, force: true });
    }

    /** A promise that resolves when this host is killed (to race calls in flight against). */
    public whenKilled(): Promise<void> {
        return this.killed;
    }

    private releaseSingleton(): void {
        const singleton = AppManager as unknown as { Instance?: AppManager };
        if (!this.options.member || singleton.Instance === this.manager) {
            singleton.Instance = undefined;
        }
    }

    /** Waits for in-flight calls, events and jobs; unloads the app; kills its runtime process; closes the HTTP front. */
    public async stop(): Promise<void> {
        if (this.stopped) {
            return;
        }
        this.stopped = true;
        this.scheduler.stopPolling();
        const settle = Promise.all([...this.inflight].map((p) => p.catch(() => undefined)))
            .then(() => this.scheduler.drain())
            .then(() => this.rc.idle());
        await Promise.race([settle, new Promise((r) => setTimeout(r, 15000).unref())]);
        await this.front.close();
        try {
            await this.manager.unload(true);
        } catch {
            // unloading a half-installed app may fail; the process is killed below anyway
        }
        // kill the runtime process (already stopped when the app never started)
        await this.app
            ?.getRuntimeController()
            .stopApp()
            .catch(() => undefined);
        this.releaseSingleton();
        fs.rmSync(this.tempDir, { recursive: true, force: true });
        if (activeHost === this) {
            activeHost = undefined;
        }
    }
}
