import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { AppStatus } from '@rocket.chat/apps-engine/definition/AppStatus';
import type { IAppInfo } from '@rocket.chat/apps-engine/definition/metadata';
import type { IPermission } from '@rocket.chat/apps-engine/definition/permissions/IPermission';
import type { ISetting } from '@rocket.chat/apps-engine/definition/settings';
import { AppManager } from '@rocket.chat/apps-engine/server/AppManager';
import { AppPackageParser } from '@rocket.chat/apps-engine/server/compiler/AppPackageParser';
import type { ILoggerStorageEntry } from '@rocket.chat/apps-engine/server/logging';
import { AppPermissionManager } from '@rocket.chat/apps-engine/server/managers/AppPermissionManager';
import type { ProxiedApp } from '@rocket.chat/apps-engine/server/ProxiedApp';

import { buildApiRequest, expressSend, type HttpReply, notFound } from './apiRequest';
import { EmulatedAppBridges } from './bridges';
import type { BridgeSet, HttpCallRecord } from './bridges';
import { type Clock, type JobRun, Scheduler } from './clock';
import { RocketChat, type RocketChatOptions, type RoutingMode } from './rc/RocketChat';
import { MemoryLogStorage, MemoryMetadataStorage, MemorySourceStorage } from './storage';
import { randomId } from './util';

/**
 * Runs an app .zip in the real Apps-Engine (AppManager + Deno runtime) against the in-memory
 * Rocket.Chat of rc/RocketChat.ts. One host = one AppManager = one app; start as many hosts one
 * after the other as you like (stop() frees the AppManager singleton), not two at once.
 */

export interface EngineHostOptions {
    /** The app package: a Buffer or a path to the .zip (e.g. from packageApp()). */
    zip: Buffer | string;
    /** App settings to set after install, as an admin would (each goes through onSettingUpdated). */
    settings?: Record<string, unknown>;
    /** Omnichannel routing: 'auto' (Auto_Selection, default) or 'manual' (Manual_Selection). */
    routing?: RoutingMode;
    /** Per-call limit of the Deno runtime (APPS_ENGINE_RUNTIME_TIMEOUT), default 10 s (Rocket.Chat: 30 s). */
    runtimeTimeoutMs?: number;
    /** 'manual' (default): jobs run only via host.clock; 'auto': also polled every `pollMs` like Agenda. */
    scheduler?: 'manual' | 'auto';
    pollMs?: number;
    /** Permissions to grant instead of the ones in app.json (e.g. to test a missing permission). */
    permissionsGranted?: IPermission[];
    /** Print the engine's permission-denied messages (default: only recorded in host.permissionDenials). */
    logPermissionDenials?: boolean;
    /** Redact logged request headers like Rocket.Chat 7 does (default true; false = older servers). */
    redactLogs?: boolean;
    /** More Rocket.Chat emulation options (server settings, acceptChatsWithNoAgents, ...). */
    rc?: Omit<RocketChatOptions, 'routing'>;
    /** Environment variables the app may read (Rocket.Chat allows NODE_ENV, ROOT_URL, INSTANCE_IP). */
    env?: Record<string, string>;
}

export interface ApiCall {
    method?: string;
    /** Path below /api/apps/public/<appId>/, may include a query string. */
    path: string;
    headers?: Record<string, string>;
    /** A string is sent as is; anything else is JSON-encoded with content-type application/json. */
    body?: unknown;
    query?: Record<string, string | string[]>;
}

export interface ApiResult<T = any> {
    status: number;
    headers: Record<string, string>;
    /** Parsed JSON when the body is JSON, else the text. */
    body: T;
    raw: string;
    ms: number;
}

export interface PermissionDenial {
    appId: string;
    missing: string[];
    message: string;
}

const REPO_ROOT = path.resolve(__dirname, '..', '..');

function denoDir(): string {
    return path.dirname(require.resolve('@deno/linux-x64-glibc/package.json', { paths: [REPO_ROOT] }));
}

let activeHost: EngineHost | undefined;
const denials: PermissionDenial[] = [];
let permissionHookInstalled = false;
let printDenials = false;

/** Records (and optionally prints) the engine's permission errors; the engine itself only console.errors them. */
function installPermissionHook(): void {
    if (permissionHookInstalled) {
        return;
    }
    permissionHookInstalled = true;
    const original = AppPermissionManager.notifyAboutError.bind(AppPermissionManager);
    (AppPermissionManager as unknown as { notifyAboutError: (err: unknown) => void }).notifyAboutError = (err: unknown) => {
        // PermissionDeniedError keeps only its message: "... as the app (<id>) lacks the following permissions:\n["a", "b"]. ..."
        const message = String((err as Error)?.message ?? err);
        const appId = /as the app \(([^)]+)\)/.exec(message)?.[1] ?? '';
        const list = /permissions:\s*\[([^\]]*)\]/.exec(message)?.[1] ?? '';
        const missing = [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
        denials.push({ appId, missing, message });
        if (printDenials) {
            original(err as Error);
        }
    };
}

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
    private server?: http.Server;
    private baseUrlValue?: string;
    private readonly inflight = new Set<Promise<unknown>>();
    private readonly adminToken = randomId(43);
    private stopped = false;
    private readonly originalNodeEnv = process.env.NODE_ENV;

    private constructor(private readonly options: EngineHostOptions) {
        this.rc = new RocketChat({ ...(options.rc ?? {}), routing: options.routing ?? 'auto' });
        this.logStorage = new MemoryLogStorage(options.redactLogs ?? true);
        this.scheduler = new Scheduler();
        this.clock = this.scheduler.clock;
        this.scheduler.onAfterRun(() => this.rc.idle());
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
        );
        this.bridges = appBridges.b;
        if ((AppManager as unknown as { Instance?: AppManager }).Instance) {
            throw new Error('An AppManager already exists in this process: stop() the previous EngineHost first.');
        }
        this.manager = new AppManager({
            metadataStorage: this.metadataStorage,
            logStorage: this.logStorage,
            bridges: appBridges,
            sourceStorage: new MemorySourceStorage(),
            tempFilePath: this.tempDir,
        });
        this.rc.attach(this.manager);
    }

    /** Installs and enables the app; resolves once it is enabled and its settings are applied. */
    public static async start(options: EngineHostOptions): Promise<EngineHost> {
        if (activeHost && !activeHost.stopped) {
            throw new Error('Another EngineHost is running in this process: stop() it first.');
        }
        // The engine skips every permission check when NODE_ENV === 'test' (jest sets it).
        if (!process.env.NODE_ENV || process.env.NODE_ENV === 'test') {
            process.env.NODE_ENV = 'development';
        }
        process.env.APPS_ENGINE_RUNTIME_TIMEOUT = String(options.runtimeTimeoutMs ?? 10000);
        const dd = denoDir();
        if (!(process.env.PATH ?? '').split(path.delimiter).includes(dd)) {
            process.env.PATH = `${dd}${path.delimiter}${process.env.PATH ?? ''}`;
        }
        installPermissionHook();
        printDenials = !!options.logPermissionDenials;

        const host = new EngineHost(options);
        activeHost = host;
        try {
            await host.install();
        } catch (e) {
            await host.stop().catch(() => undefined);
            throw e;
        }
        return host;
    }

    private async install(): Promise<void> {
        const zip = typeof this.options.zip === 'string' ? fs.readFileSync(this.options.zip) : this.options.zip;
        const parsed = await new AppPackageParser().unpackageApp(zip);
        this.appInfo = parsed.info;
        this.appId = parsed.info.id;
        // Rocket.Chat grants what the admin accepted on install: the permissions listed in app.json
        // (or the engine's default set when the app lists none).
        const permissionsGranted =
            this.options.permissionsGranted ?? (Array.isArray(parsed.info.permissions) ? parsed.info.permissions : undefined);

        this.admin = this.rc.createUser({ username: 'admin', name: 'Administrator', roles: ['admin', 'user', 'livechat-manager'] });
        await this.manager.load();
        const aff = await this.manager.add(zip, {
            enable: true,
            user: this.rc.toAppUser(this.admin) as never,
            permissionsGranted,
        });
        const problems = [
            aff.hasStorageError() ? aff.getStorageError() : undefined,
            aff.hasAppUserError() ? (aff.getAppUserError() as { message?: string }).message : undefined,
        ].filter(Boolean);
        const app = aff.getApp();
        if (!app || problems.length) {
            throw new Error(`The engine refused the app: ${problems.join('; ') || 'no app returned'}`);
        }
        this.app = app;
        const status = await app.getStatus();
        if (!['manually_enabled', 'auto_enabled'].includes(String(status))) {
            const logs = this.logText();
            throw new Error(`The app did not enable (status ${status}). App logs:\n${logs.slice(-4000)}`);
        }
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
    public async callApi<T = any>(call: ApiCall): Promise<ApiResult<T>> {
        const started = Date.now();
        const method = (call.method ?? (call.body !== undefined ? 'POST' : 'GET')).toUpperCase();
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(call.headers ?? {})) {
            headers[k.toLowerCase()] = v;
        }
        let body: Buffer | undefined;
        if (call.body !== undefined) {
            if (typeof call.body === 'string' || Buffer.isBuffer(call.body)) {
                body = Buffer.isBuffer(call.body) ? call.body : Buffer.from(call.body, 'utf8');
            } else {
                body = Buffer.from(JSON.stringify(call.body), 'utf8');
                headers['content-type'] = headers['content-type'] ?? 'application/json';
            }
            headers['content-length'] = String(body.length);
        }
        let target = call.path.startsWith('/') ? call.path : `/${call.path}`;
        if (call.query) {
            const qs = new URLSearchParams();
            for (const [k, v] of Object.entries(call.query)) {
                for (const item of Array.isArray(v) ? v : [v]) {
                    qs.append(k, item);
                }
            }
            target += (target.includes('?') ? '&' : '?') + qs.toString();
        }
        headers.host = headers.host ?? new URL(this.rc.options.siteUrl).host;
        const reply = await this.handleAppRequest(method, target, headers, body);
        const raw = reply.body.toString('utf8');
        let parsed: unknown = raw;
        if (/json/i.test(reply.headers['content-type'] ?? '')) {
            try {
                parsed = JSON.parse(raw);
            } catch {
                parsed = raw;
            }
        }
        return { status: reply.status, headers: reply.headers, body: parsed as T, raw, ms: Date.now() - started };
    }

    /** Shared by callApi and the HTTP front: route, build IApiRequest, executeApi, express-style reply. */
    private async handleAppRequest(
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
            const reply = await work;
            await this.rc.idle();
            return reply;
        } finally {
            this.inflight.delete(work);
        }
    }

    /** Base URL of the app's public API (http://127.0.0.1:<port>/api/apps/public/<appId>) once listening. */
    public get apiBaseUrl(): string {
        if (!this.baseUrlValue) {
            throw new Error('call host.listen() first');
        }
        return `${this.baseUrlValue}/api/apps/public/${this.appId}`;
    }

    /**
     * Serves Rocket.Chat's HTTP surface on 127.0.0.1: /api/apps/public/<appId>/<path> and uploaded files
     * (/file-upload/<id>/<name>, /ufs/GridFS:Uploads/<id>/<name>; protected like FileUpload_ProtectFiles:
     * add ?rc_uid=<admin id>&rc_token=<host.fileToken> or use host.fileUrl()). Site_Url becomes this URL
     * unless a Site_Url was configured. Returns the base URL (http://127.0.0.1:<port>).
     */
    public async listen(port = 0): Promise<string> {
        if (this.server) {
            return this.baseUrlValue!;
        }
        const server = http.createServer((req, res) => {
            void this.serveHttp(req, res).catch((e) => {
                res.statusCode = 500;
                res.end(String(e));
            });
        });
        await new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen(port, '127.0.0.1', () => resolve());
        });
        this.server = server;
        const address = server.address() as AddressInfo;
        this.baseUrlValue = `http://127.0.0.1:${address.port}`;
        if (!this.options.rc?.siteUrl && !this.options.rc?.serverSettings?.Site_Url) {
            this.rc.setServerSetting('Site_Url', this.baseUrlValue);
        }
        return this.baseUrlValue;
    }

    /** Token for protected file URLs (with rc_uid = host.admin._id). */
    public get fileToken(): string {
        return this.adminToken;
    }

    /** An authenticated URL of an uploaded file on the HTTP front. */
    public fileUrl(uploadId: string): string {
        const upload = this.rc.uploads.get(uploadId);
        if (!upload || !this.baseUrlValue) {
            throw new Error('unknown upload or not listening');
        }
        return `${this.baseUrlValue}/file-upload/${upload._id}/${encodeURIComponent(upload.name)}?rc_uid=${this.admin._id}&rc_token=${this.adminToken}`;
    }

    private async serveHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const url = req.url ?? '/';
        const pathname = url.split('?')[0];
        const apiMatch = /^\/api\/apps\/public\/([^/]+)(\/.*)?$/.exec(pathname);
        if (apiMatch) {
            const chunks: Buffer[] = [];
            for await (const chunk of req) {
                chunks.push(chunk as Buffer);
            }
            const body = chunks.length || req.headers['content-length'] ? Buffer.concat(chunks) : undefined;
            let reply: HttpReply;
            if (decodeURIComponent(apiMatch[1]) !== this.appId) {
                reply = notFound();
            } else {
                const rest = apiMatch[2] ?? '/';
                const query = url.includes('?') ? url.slice(url.indexOf('?')) : '';
                reply = await this.handleAppRequest(req.method ?? 'GET', rest + query, req.headers as Record<string, string>, body);
            }
            res.writeHead(reply.status, reply.headers);
            res.end(reply.body);
            return;
        }
        const fileMatch = /^\/(?:file-upload|ufs\/GridFS:Uploads)\/([^/]+)(?:\/.*)?$/.exec(pathname);
        if (fileMatch && (req.method === 'GET' || req.method === 'HEAD')) {
            const upload = this.rc.uploads.get(decodeURIComponent(fileMatch[1]));
            const params = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
            const cookies = Object.fromEntries(
                String(req.headers.cookie ?? '')
                    .split(';')
                    .map((c) => c.trim().split('='))
                    .filter((kv) => kv.length === 2),
            );
            const uid = params.get('rc_uid') ?? cookies.rc_uid ?? req.headers['x-user-id'];
            const token = params.get('rc_token') ?? cookies.rc_token ?? req.headers['x-auth-token'];
            const protectedFiles = !!this.rc.getServerSetting('FileUpload_ProtectFiles');
            if (protectedFiles && !(uid === this.admin._id && token === this.adminToken)) {
                res.writeHead(403);
                res.end();
                return;
            }
            if (!upload) {
                res.writeHead(404);
                res.end();
                return;
            }
            res.writeHead(200, {
                'content-type': upload.type,
                'content-length': String(upload.size),
                'content-disposition': `inline; filename*=UTF-8''${encodeURIComponent(upload.name)}`,
                'last-modified': upload.uploadedAt.toUTCString(),
            });
            res.end(req.method === 'HEAD' ? undefined : upload.buffer);
            return;
        }
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('Not Found');
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

    /** Waits for in-flight calls, events and jobs; unloads the app; kills Deno; closes the HTTP front. */
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
        if (this.server) {
            const server = this.server;
            await new Promise<void>((resolve) => {
                server.close(() => resolve());
                (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
            });
        }
        try {
            await this.manager.unload(true);
        } catch {
            // unloading a half-installed app may fail; the process is killed below anyway
        }
        for (const app of [this.app].filter(Boolean)) {
            try {
                await app.getRuntimeController().stopApp();
            } catch {
                // already stopped
            }
        }
        (AppManager as unknown as { Instance?: AppManager }).Instance = undefined;
        fs.rmSync(this.tempDir, { recursive: true, force: true });
        if (this.originalNodeEnv === undefined) {
            // keep 'development' for other hosts of this process; nothing to restore
        }
        if (activeHost === this) {
            activeHost = undefined;
        }
    }
}
