import type { IPermission } from '@rocket.chat/apps-engine/definition/permissions/IPermission';

import type { RocketChat, RocketChatOptions, RoutingMode } from '../rocketchat/RocketChat';
import type { PersistenceRecord } from './bridges/persistence';
import type { Scheduler } from './clock';
import type { RuntimeBackend } from './nodeRuntime';

export interface EngineHostOptions {
    /** The app package: a Buffer or a path to the .zip (e.g. from packageApp()). */
    zip: Buffer | string;
    /** App settings to set after install, as an admin would (each goes through onSettingUpdated). */
    settings?: Record<string, unknown>;
    /** Omnichannel routing: 'auto' (Auto_Selection, default) or 'manual' (Manual_Selection). */
    routing?: RoutingMode;
    /**
     * The app runtime: 'deno' (Rocket.Chat 8.0-8.7) or 'node' (8.8+ default; see nodeRuntime.ts).
     * Default: process.env.APPS_ENGINE_RUNTIME_BACKEND when it is 'node', else 'deno'.
     */
    runtime?: RuntimeBackend;
    /** Per-call limit of the app runtime (APPS_ENGINE_RUNTIME_TIMEOUT), default 10 s (Rocket.Chat: 30 s). */
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
    /** Set by harness/engine/cluster.ts only: this host is one instance of a cluster. */
    member?: ClusterMemberSpec;
}

/** What a cluster instance shares with the others (one database, one Rocket.Chat) and how it runs. */
export interface ClusterMemberSpec {
    index: number;
    rc: RocketChat;
    /** This instance's Agenda (an AgendaWorker over the shared job collection). */
    scheduler: Scheduler;
    persistence: Map<string, PersistenceRecord>;
    /** Runs a call in this instance's context: events it causes fire on this instance. */
    inContext: <T>(fn: () => T) => T;
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

// biome-ignore lint/suspicious/noExplicitAny: tests read fields of the JSON bodies they expect without declaring each shape
export interface ApiResult<T = any> {
    status: number;
    headers: Record<string, string>;
    /** Parsed JSON when the body is JSON, else the text. */
    body: T;
    raw: string;
    ms: number;
}
