import * as crypto from 'node:crypto';
import * as dns from 'node:dns';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import type { IHttpResponse } from '@rocket.chat/apps-engine/definition/accessors';
import type { IExtraRoomParams } from '@rocket.chat/apps-engine/definition/accessors/ILivechatCreator';
import type { IApi, IApiEndpoint } from '@rocket.chat/apps-engine/definition/api';
import type {
    IDepartment,
    ILivechatMessage,
    ILivechatRoom,
    ILivechatTransferData,
    IVisitor,
    IVisitorExternalIdentifier,
    ResolveVisitorContactData,
} from '@rocket.chat/apps-engine/definition/livechat';
import type { IMessage, IMessageRaw } from '@rocket.chat/apps-engine/definition/messages';
import type { AppInterface } from '@rocket.chat/apps-engine/definition/metadata';
import type { RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';
import type { IRoom, IRoomRaw } from '@rocket.chat/apps-engine/definition/rooms';
import type { IOnetimeSchedule, IProcessor, IRecurringSchedule } from '@rocket.chat/apps-engine/definition/scheduler';
import type { ISetting } from '@rocket.chat/apps-engine/definition/settings';
import type { UIKitIncomingInteraction } from '@rocket.chat/apps-engine/definition/uikit';
import type { IUpload } from '@rocket.chat/apps-engine/definition/uploads';
import type { IUploadDetails } from '@rocket.chat/apps-engine/definition/uploads/IUploadDetails';
import type { IUser, IUserCreationOptions, UserType } from '@rocket.chat/apps-engine/definition/users';
import type { ProxiedApp } from '@rocket.chat/apps-engine/server/ProxiedApp';
import {
    ApiBridge,
    AppActivationBridge,
    AppBridges,
    AppDetailChangesBridge,
    CloudWorkspaceBridge,
    CommandBridge,
    ContactBridge,
    EmailBridge,
    EnvironmentalVariableBridge,
    ExperimentalBridge,
    HttpBridge,
    LivechatBridge,
    MessageBridge,
    ModerationBridge,
    OutboundMessageBridge,
    PersistenceBridge,
    RoleBridge,
    RoomBridge,
    SchedulerBridge,
    ServerSettingBridge,
    UiInteractionBridge,
    UploadBridge,
    UserBridge,
    VideoConferenceBridge,
} from '@rocket.chat/apps-engine/server/bridges';
import type {
    IHttpBridgeRequestInfo,
    IInternalBridge,
    IInternalFederationBridge,
    IListenerBridge,
} from '@rocket.chat/apps-engine/server/bridges';
import { InternalBridge } from '@rocket.chat/apps-engine/server/bridges/InternalBridge';
import { OAuthAppsBridge } from '@rocket.chat/apps-engine/server/bridges/OAuthAppsBridge';
import { ThreadBridge } from '@rocket.chat/apps-engine/server/bridges/ThreadBridge';
import type { GetMessagesOptions, GetRoomsFilters, GetRoomsOptions } from '@rocket.chat/apps-engine/server/bridges/RoomBridge';
import type { ITypingDescriptor } from '@rocket.chat/apps-engine/server/bridges/MessageBridge';
import type { AppApi } from '@rocket.chat/apps-engine/server/managers/AppApi';

import type { Scheduler } from './clock';
import { NotImplementedError, RocketChatError } from './errors';
import { determineFileType } from './rc/RocketChat';
import type { RocketChat, RoomView } from './rc/RocketChat';
import type { RcRoom, RcUser } from './rc/types';
import { clone, randomId } from './util';

const ni = (what: string): never => {
    throw new NotImplementedError(what);
};

type Any = any;

// --------------------------------------------------------------------------- persistence

interface PersistenceRecord {
    _id: string;
    appId: string;
    associations?: Array<{ model: string; id: string }>;
    data: object;
}

/** Mongo document equality: same keys, same order, same values. */
function sameAssociation(a: object, b: object): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}

function plainAssociations(associations: RocketChatAssociationRecord[] | undefined): Array<{ model: string; id: string }> {
    return (associations ?? []).map((a) => JSON.parse(JSON.stringify(a)));
}

/**
 * bridges/persistence.ts: reads/removes by associations match records having ALL the given
 * associations ($all: a subset); updateByAssociations matches the EXACT array (order too), upserts
 * a new record when nothing matches; update(id) is not implemented on the server.
 */
export class MemoryPersistenceBridge extends PersistenceBridge {
    public readonly records = new Map<string, PersistenceRecord>();

    protected async purge(appId: string): Promise<void> {
        for (const [id, r] of this.records) {
            if (r.appId === appId) {
                this.records.delete(id);
            }
        }
    }

    protected async create(data: object, appId: string): Promise<string> {
        if (typeof data !== 'object') {
            throw new Error('Attempted to store an invalid data type, it must be an object.');
        }
        const _id = randomId();
        this.records.set(_id, { _id, appId, data: clone(data) });
        return _id;
    }

    protected async createWithAssociations(data: object, associations: RocketChatAssociationRecord[], appId: string): Promise<string> {
        if (typeof data !== 'object') {
            throw new Error('Attempted to store an invalid data type, it must be an object.');
        }
        const _id = randomId();
        this.records.set(_id, { _id, appId, associations: plainAssociations(associations), data: clone(data) });
        return _id;
    }

    protected async readById(id: string, appId: string): Promise<object> {
        const r = this.records.get(id);
        return (r && r.appId === appId ? clone(r.data) : undefined) as object;
    }

    protected async readByAssociations(associations: RocketChatAssociationRecord[], appId: string): Promise<object[]> {
        return this.matchAll(associations, appId).map((r) => clone(r.data));
    }

    protected async remove(id: string, appId: string): Promise<object | undefined> {
        const r = this.records.get(id);
        if (!r || r.appId !== appId) {
            return undefined;
        }
        this.records.delete(id);
        return r.data;
    }

    protected async removeByAssociations(associations: RocketChatAssociationRecord[], appId: string): Promise<object[] | undefined> {
        const matches = this.matchAll(associations, appId);
        for (const r of matches) {
            this.records.delete(r._id);
        }
        return matches.map((r) => r.data);
    }

    protected async update(id: string, data: object): Promise<string> {
        if (typeof data !== 'object') {
            throw new Error('Attempted to store an invalid data type, it must be an object.');
        }
        throw new Error('Not implemented.');
    }

    protected async updateByAssociations(
        associations: RocketChatAssociationRecord[],
        data: object,
        upsert: boolean,
        appId: string,
    ): Promise<string> {
        if (typeof data !== 'object') {
            throw new Error('Attempted to store an invalid data type, it must be an object.');
        }
        const wanted = plainAssociations(associations);
        const match = [...this.records.values()].find(
            (r) =>
                r.appId === appId &&
                r.associations &&
                r.associations.length === wanted.length &&
                r.associations.every((a, i) => sameAssociation(a, wanted[i])),
        );
        if (match) {
            match.data = clone(data);
            return match._id;
        }
        if (!upsert) {
            return undefined as unknown as string;
        }
        const _id = randomId();
        this.records.set(_id, { _id, appId, associations: wanted, data: clone(data) });
        return _id;
    }

    private matchAll(associations: RocketChatAssociationRecord[], appId: string): PersistenceRecord[] {
        const wanted = plainAssociations(associations);
        return [...this.records.values()].filter(
            (r) => r.appId === appId && wanted.every((w) => (r.associations ?? []).some((a) => sameAssociation(a, w))),
        );
    }
}

// --------------------------------------------------------------------------- users

export class EmulatedUserBridge extends UserBridge {
    constructor(private readonly rc: RocketChat) {
        super();
    }

    protected async getById(id: string): Promise<IUser> {
        return this.rc.toAppUser(this.rc.users.get(id)) as Any;
    }

    protected async getByUsername(username: string): Promise<IUser> {
        return this.rc.toAppUser(this.rc.userByUsername(username)) as Any;
    }

    protected async getAppUser(appId?: string): Promise<IUser | undefined> {
        const user = [...this.rc.users.values()].find((u) => u.appId === appId && u.type === 'app');
        return this.rc.toAppUser(user) as Any;
    }

    protected async getActiveUserCount(): Promise<number> {
        return [...this.rc.users.values()].filter((u) => u.active && u.type === 'user').length;
    }

    protected async getUserUnreadMessageCount(): Promise<number> {
        return 0;
    }

    protected async getUserRoomIds(userId: string): Promise<string[]> {
        return this.rc.rooms.filter((r) => r.servedBy?._id === userId || r.uids?.includes(userId)).map((r) => r._id);
    }

    protected async create(data: Partial<IUser>, appId: string, options?: IUserCreationOptions): Promise<string> {
        const type = (data.type as string) === 'app' ? 'app' : (data.type as string) === 'bot' ? 'bot' : 'user';
        const user = this.rc.createUser({
            username: data.username!,
            name: data.name,
            type,
            roles: data.roles ?? (type === 'app' ? ['app'] : ['user']),
            appId: data.appId ?? (type !== 'user' ? appId : undefined),
            status: (data.status as RcUser['status']) ?? 'online',
            active: data.isEnabled ?? true,
            emails: (data.emails as Any) ?? [],
        });
        void options;
        return user._id;
    }

    protected async remove(user: IUser): Promise<boolean> {
        return this.rc.users.delete(user.id);
    }

    protected async update(user: IUser, updates: Partial<IUser>): Promise<boolean> {
        const existing = this.rc.users.get(user.id);
        if (!existing) {
            throw new Error(`user ${user.id} not found`);
        }
        if (updates.name !== undefined) existing.name = updates.name;
        if (updates.status !== undefined) existing.status = updates.status as RcUser['status'];
        if (updates.customFields !== undefined) existing.customFields = updates.customFields;
        existing._updatedAt = new Date();
        return true;
    }

    protected async deleteUsersCreatedByApp(appId: string, type: UserType.APP | UserType.BOT): Promise<boolean> {
        for (const [id, u] of this.rc.users) {
            if (u.appId === appId && u.type === (type as string)) {
                this.rc.users.delete(id);
            }
        }
        return true;
    }

    protected async deactivate(userId: string): Promise<boolean> {
        const user = this.rc.users.get(userId);
        if (user) {
            user.active = false;
        }
        return !!user;
    }
}

// --------------------------------------------------------------------------- api

export interface RegisteredEndpoint {
    appId: string;
    path: string;
    computedPath: string;
    regex: RegExp;
    keys: string[];
    endpoint: IApiEndpoint;
    api: IApi;
}

/** Express-like path matching (path-to-regexp 0.1: case-insensitive, optional trailing slash, `:param`). */
function compileRoute(path: string): { regex: RegExp; keys: string[] } {
    let routePath = path.trim();
    if (!routePath.startsWith('/')) {
        routePath = `/${routePath}`;
    }
    const keys: string[] = [];
    const pattern = routePath
        .replace(/\/+$/, '')
        .split('/')
        .map((segment) => {
            const m = /^:([A-Za-z0-9_]+)(\?)?$/.exec(segment);
            if (m) {
                keys.push(m[1]);
                return m[2] ? '(?:/([^/]+?))?' : '/([^/]+?)';
            }
            return segment ? `/${segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}` : '';
        })
        .join('');
    return { regex: new RegExp(`^${pattern || ''}/?$`, 'i'), keys };
}

/** bridges/api.ts: one express router per app; every method goes to `executeApi(appId, endpoint.path, request)`. */
export class RouterApiBridge extends ApiBridge {
    public readonly routes: RegisteredEndpoint[] = [];

    protected async registerApi({ api, computedPath, endpoint }: AppApi, appId: string): Promise<void> {
        if (typeof api !== 'object' || typeof endpoint.path !== 'string') {
            throw new Error('Invalid Api parameter provided, it must be a valid IApi object.');
        }
        const { regex, keys } = compileRoute(endpoint.path);
        this.routes.push({ appId, path: endpoint.path, computedPath, regex, keys, endpoint, api });
    }

    protected async unregisterApis(appId: string): Promise<void> {
        for (let i = this.routes.length - 1; i >= 0; i--) {
            if (this.routes[i].appId === appId) {
                this.routes.splice(i, 1);
            }
        }
    }

    /** The route (and decoded params) express would pick for `/api/apps/public/<appId><subPath>`. */
    public match(appId: string, subPath: string): { route: RegisteredEndpoint; params: Record<string, string> } | undefined {
        const path = subPath.startsWith('/') ? subPath : `/${subPath}`;
        for (const route of this.routes) {
            if (route.appId !== appId) {
                continue;
            }
            const m = route.regex.exec(path);
            if (m) {
                const params: Record<string, string> = {};
                route.keys.forEach((k, i) => {
                    if (m[i + 1] !== undefined) {
                        params[k] = decodeURIComponent(m[i + 1]);
                    }
                });
                return { route, params };
            }
        }
        return undefined;
    }
}

// --------------------------------------------------------------------------- http

const isGetOrHead = (method: string): boolean => ['GET', 'HEAD'].includes(method.toUpperCase());
const DEFAULT_HTTP_TIMEOUT = 3 * 60 * 1000;
const JS_CONTENT_TYPES = ['application/json', 'text/javascript', 'application/javascript', 'application/x-javascript'];

const PRIVATE_V4: Array<[string, number]> = [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['224.0.0.0', 4],
    ['240.0.0.0', 4],
];

function ipv4InRange(ip: string, base: string, bits: number): boolean {
    const toInt = (a: string) => a.split('.').reduce((acc, o) => (acc << 8) + Number(o), 0) >>> 0;
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    return (toInt(ip) & mask) === (toInt(base) & mask);
}

async function ssrfAllowed(url: string, allowList: string[]): Promise<boolean> {
    let host: string;
    try {
        const u = new URL(url);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
        host = u.hostname.replace(/^\[|\]$/g, '');
    } catch {
        return false;
    }
    if (allowList.includes(host)) return true;
    let ip = host;
    if (!net.isIP(host)) {
        try {
            ip = (await dns.promises.lookup(host)).address;
        } catch {
            return false;
        }
    }
    if (net.isIPv6(ip)) return !(ip === '::1' || ip === '::' || /^f[cd]/i.test(ip) || /^fe80/i.test(ip) || /^::ffff:/i.test(ip));
    return !PRIVATE_V4.some(([base, bits]) => ipv4InRange(ip, base, bits));
}

export interface HttpCallRecord {
    appId: string;
    method: string;
    url: string;
    headers: Record<string, string>;
    body?: string | Buffer;
    status?: number;
    error?: string;
    ms: number;
}

/**
 * bridges/http.ts (AppHttpBridge) over @rocket.chat/server-fetch, with Node's fetch (undici) in place
 * of node-fetch:
 * - `content` is sent as given: a string, or a Buffer (msgpack carries a Buffer from the Deno runtime
 *   as a Buffer). Any other object (including a plain Uint8Array) is JSON.stringify'd and the
 *   Content-Type forced to application/json (server-fetch parsers.ts);
 * - `data` (when there is no `content`) is sent as JSON with Content-Type application/json;
 * - `params` go to the query string for GET/HEAD or when there is a body, else become a urlencoded body;
 * - `auth: "user:pass"` becomes Basic auth; `timeout` defaults to 3 minutes;
 * - 4xx/5xx are returned (statusCode), network errors and timeouts reject;
 * - the response `content` is the body decoded with `encoding` (utf8), or the raw Buffer when
 *   `encoding: null`; `data` is parsed JSON only for JSON/JavaScript content types, else null;
 * - `ssrfValidation: true` refuses private/loopback addresses (SSRF_Allowlist server setting honoured).
 */
export class FetchHttpBridge extends HttpBridge {
    public readonly calls: HttpCallRecord[] = [];

    constructor(private readonly rc: RocketChat) {
        super();
    }

    protected async call(info: IHttpBridgeRequestInfo): Promise<IHttpResponse> {
        const started = Date.now();
        const url = new URL(info.url);
        const { method } = info;
        const request: Any = info.request || {};
        const headers: Record<string, string> = { ...(request.headers || {}) };
        let content: Any = request.content;
        if (!content && typeof request.data === 'object') {
            content = request.data;
        }
        if (request.auth) {
            if (request.auth.indexOf(':') < 0) {
                throw new Error('auth option should be of the form "username:password"');
            }
            headers.Authorization = `Basic ${Buffer.from(request.auth, 'ascii').toString('base64')}`;
        }
        let paramsForBody: Record<string, string> | undefined;
        if (content || isGetOrHead(method)) {
            if (request.params) {
                for (const key of Object.keys(request.params)) {
                    if (request.params[key]) {
                        url.searchParams.append(key, request.params[key]);
                    }
                }
            }
        } else {
            paramsForBody = request.params;
        }
        if (paramsForBody) {
            const data = new URLSearchParams();
            for (const [key, value] of Object.entries(paramsForBody)) {
                data.append(key, value);
            }
            content = data.toString();
            headers['Content-Type'] = 'application/x-www-form-urlencoded';
        }
        if (isGetOrHead(method)) {
            content = undefined;
        }
        // server-fetch parsers.ts: objects that are not Buffers become JSON, Content-Type forced.
        const contentType = headers['Content-Type'] || headers['content-type'];
        if (
            content != null &&
            typeof content === 'object' &&
            !Buffer.isBuffer(content) &&
            contentType?.toLowerCase() !== 'application/x-www-form-urlencoded'
        ) {
            content = JSON.stringify(content);
            headers['Content-Type'] = 'application/json';
        }
        const record: HttpCallRecord = { appId: info.appId, method: method.toUpperCase(), url: url.href, headers, body: content, ms: 0 };
        this.calls.push(record);
        if (request.ssrfValidation) {
            const allow = String(this.rc.getServerSetting('SSRF_Allowlist') ?? '')
                .split(/[\n,]/)
                .map((s) => s.trim())
                .filter(Boolean);
            if (!(await ssrfAllowed(url.href, allow))) {
                record.error = 'error-ssrf-blocked';
                throw new Error(`The URL ${url.href} is not allowed (SSRF validation)`);
            }
        }
        const timeout = request.timeout || DEFAULT_HTTP_TIMEOUT;
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), timeout);
        try {
            const response = await fetch(url.href, {
                method: method.toUpperCase(),
                headers,
                body: content as Any,
                signal: controller.signal,
                redirect: 'follow',
            });
            const body = Buffer.from(await response.arrayBuffer());
            const result: IHttpResponse = {
                url: info.url,
                method: info.method,
                statusCode: response.status,
                headers: Object.fromEntries(response.headers as Any) as Record<string, string>,
            };
            if (request.encoding === null) {
                result.content = body as Any;
            } else {
                result.content = body.toString((request.encoding || 'utf8') as BufferEncoding);
                const ct = (response.headers.get('content-type') || '').split(';')[0];
                if (JS_CONTENT_TYPES.includes(ct)) {
                    try {
                        result.data = JSON.parse(result.content);
                    } catch {
                        result.data = null;
                    }
                } else {
                    result.data = null;
                }
            }
            record.status = response.status;
            return result;
        } catch (error) {
            const aborted = (error as Error)?.name === 'AbortError';
            record.error = aborted ? `timeout after ${timeout}ms` : String((error as Error)?.message ?? error);
            if (aborted) {
                // node-fetch (used by Rocket.Chat's server-fetch) rejects an aborted request like this.
                const abort = new Error('The user aborted a request.');
                abort.name = 'AbortError';
                throw abort;
            }
            const cause = (error as { cause?: { code?: string; message?: string } }).cause;
            throw new Error(`request to ${url.href} failed, reason: ${cause?.message ?? cause?.code ?? (error as Error).message}`);
        } finally {
            clearTimeout(timer);
            record.ms = Date.now() - started;
        }
    }
}

// --------------------------------------------------------------------------- messages

/** bridges/messages.ts */
export class EmulatedMessageBridge extends MessageBridge {
    constructor(private readonly rc: RocketChat) {
        super();
    }

    protected async create(message: IMessage): Promise<string> {
        const converted = this.rc.fromAppMessage(message as Any);
        // apps/meteor/app/lib/server/methods/sendMessage.ts executeSendMessage: msg.length (UTF-16 code units) > Message_MaxAllowedSize.
        const maxSize = Number(this.rc.getServerSetting('Message_MaxAllowedSize') ?? 0);
        if (converted.msg && converted.msg.length > maxSize) {
            throw new RocketChatError('error-message-size-exceeded', 'Message size exceeds Message_MaxAllowedSize');
        }
        const room = this.rc.roomsById.get(converted.rid!)!;
        const user = converted.u ? this.rc.users.get(converted.u._id) : undefined;
        if (!user) {
            throw new RocketChatError('error-invalid-user', 'Invalid user');
        }
        const sent = this.rc.sendMessage(user, converted, room);
        return sent._id;
    }

    protected async getById(messageId: string): Promise<IMessage> {
        return this.rc.toAppMessage(this.rc.messagesById.get(messageId)) as Any;
    }

    protected async update(message: IMessage): Promise<void> {
        if (!message.editor) {
            throw new Error('Invalid editor assigned to the message for the update.');
        }
        const editor = this.rc.users.get(message.editor.id);
        if (!editor) {
            throw new Error('Invalid editor assigned to the message for the update.');
        }
        const partial = this.rc.fromAppMessage(message as Any, true);
        this.rc.updateMessage({ ...partial, _id: message.id! }, editor);
    }

    protected async notifyUser(): Promise<void> {
        // ephemeral message to one user: nothing to store
    }

    protected async notifyRoom(): Promise<void> {
        // ephemeral message to the room's users: nothing to store
    }

    protected async typing(options: ITypingDescriptor): Promise<void> {
        if (options.scope !== 'room') {
            throw new Error('Unrecognized typing scope provided');
        }
        if (!options.username) {
            throw new Error('Invalid username');
        }
    }

    protected async delete(message: IMessage): Promise<void> {
        if (!message.id) {
            throw new Error('Invalid message id');
        }
        this.rc.messagesById.delete(message.id);
    }

    protected async addReaction(): Promise<void> {
        ni('MessageBridge.addReaction');
    }

    protected async removeReaction(): Promise<void> {
        ni('MessageBridge.removeReaction');
    }
}

// --------------------------------------------------------------------------- rooms

export class EmulatedRoomBridge extends RoomBridge {
    constructor(private readonly rc: RocketChat) {
        super();
    }

    protected async create(room: IRoom, members: string[]): Promise<string> {
        const now = new Date();
        const creator = room.creator ? this.rc.users.get(room.creator.id) : undefined;
        if ((room.type as string) === 'l') {
            ni('RoomBridge.create for livechat rooms (use the LivechatCreator)');
        }
        const rcRoom: RcRoom = {
            _id: randomId(),
            t: room.type as RcRoom['t'],
            name: room.slugifiedName,
            fname: room.displayName,
            ts: now,
            lm: now,
            _updatedAt: now,
            msgs: 0,
            usersCount: members.length,
            u: creator ? { _id: creator._id, username: creator.username, name: creator.name } : undefined,
            usernames: members,
            uids: members.map((m) => this.rc.userByUsername(m)?._id).filter((x): x is string => !!x),
            default: room.isDefault,
            ro: room.isReadOnly,
            customFields: room.customFields,
        };
        this.rc.roomsById.set(rcRoom._id, rcRoom);
        return rcRoom._id;
    }

    protected async getById(roomId: string): Promise<IRoom> {
        return this.rc.toAppRoom(this.rc.roomsById.get(roomId)) as Any;
    }

    protected async getByName(roomName: string): Promise<IRoom> {
        return this.rc.toAppRoom(this.rc.rooms.find((r) => r.name === roomName)) as Any;
    }

    protected async getCreatorById(roomId: string): Promise<IUser | undefined> {
        const room = this.rc.roomsById.get(roomId);
        return room?.u ? (this.rc.toAppUser(this.rc.users.get(room.u._id)) as Any) : undefined;
    }

    protected async getCreatorByName(roomName: string): Promise<IUser | undefined> {
        const room = this.rc.rooms.find((r) => r.name === roomName);
        return room?.u ? (this.rc.toAppUser(this.rc.users.get(room.u._id)) as Any) : undefined;
    }

    protected async getDirectByUsernames(usernames: string[]): Promise<IRoom | undefined> {
        const sorted = [...usernames].sort().join(',');
        return this.rc.toAppRoom(this.rc.rooms.find((r) => r.t === 'd' && [...(r.usernames ?? [])].sort().join(',') === sorted)) as Any;
    }

    protected async getMembers(roomId: string): Promise<IUser[]> {
        const room = this.rc.roomsById.get(roomId);
        if (!room) {
            return [];
        }
        const ids = new Set<string>(room.uids ?? []);
        if (room.servedBy) {
            ids.add(room.servedBy._id);
        }
        return [...ids].map((id) => this.rc.toAppUser(this.rc.users.get(id))).filter(Boolean) as Any;
    }

    protected async getAllRooms(filters: GetRoomsFilters, options: GetRoomsOptions): Promise<IRoomRaw[]> {
        const types = filters.types as string[] | undefined;
        const rooms = this.rc.rooms.filter((r) => !types || types.includes(r.t));
        const skip = options.skip ?? 0;
        return rooms.slice(skip, skip + (options.limit ?? 100)).map((r) => this.rc.toAppRoom(r)) as Any;
    }

    protected async update(room: IRoom): Promise<void> {
        const existing = this.rc.roomsById.get(room.id);
        if (!existing) {
            throw new Error('room not found');
        }
        if (room.displayName !== undefined) existing.fname = room.displayName;
        if (room.customFields !== undefined) existing.customFields = room.customFields;
        existing._updatedAt = new Date();
    }

    protected async createDiscussion(): Promise<string> {
        return ni('RoomBridge.createDiscussion');
    }

    protected async delete(roomId: string): Promise<void> {
        this.rc.roomsById.delete(roomId);
    }

    protected async getModerators(): Promise<IUser[]> {
        return [];
    }

    protected async getOwners(): Promise<IUser[]> {
        return [];
    }

    protected async getLeaders(): Promise<IUser[]> {
        return [];
    }

    protected async getMessages(roomId: string, options: GetMessagesOptions): Promise<IMessageRaw[]> {
        let messages = this.rc.messagesOf(roomId);
        if (!options.showThreadMessages) {
            messages = messages.filter((m) => !m.tmid);
        }
        if (options.sort?.createdAt === 'desc') {
            messages = [...messages].reverse();
        }
        return messages.slice(options.skip ?? 0, (options.skip ?? 0) + (options.limit ?? 100)).map((m) => {
            const app = this.rc.toAppMessage(m)!;
            return { ...app, roomId: m.rid, sender: { _id: m.u._id, username: m.u.username, name: m.u.name } };
        }) as Any;
    }

    protected async removeUsers(): Promise<void> {
        ni('RoomBridge.removeUsers');
    }

    protected async getUnreadByUser(): Promise<IMessageRaw[]> {
        return ni('RoomBridge.getUnreadByUser');
    }

    protected async getUserUnreadMessageCount(): Promise<number> {
        return ni('RoomBridge.getUserUnreadMessageCount');
    }
}

// --------------------------------------------------------------------------- livechat

/** bridges/livechat.ts (AppLivechatBridge) */
export class EmulatedLivechatBridge extends LivechatBridge {
    constructor(
        private readonly rc: RocketChat,
        private readonly appName: (appId: string) => { name?: string; nameSlug?: string },
    ) {
        super();
    }

    protected isOnline(departmentId?: string): boolean {
        return this.rc.online(departmentId);
    }

    protected async isOnlineAsync(departmentId?: string): Promise<boolean> {
        return this.rc.online(departmentId);
    }

    protected async createMessage(message: ILivechatMessage, appId: string): Promise<string> {
        if (!message.token) {
            throw new Error('Invalid token for livechat message');
        }
        const guest = this.rc.fromAppVisitor(message.visitor as Any);
        if (!guest) {
            throw new TypeError("Cannot read properties of undefined (reading '_id')");
        }
        // convertAppMessage(): the message must name an existing room ('Invalid room provided on the message.');
        // if that room is closed, sendMessage() opens a new one.
        const converted = this.rc.fromAppMessage(message as Any);
        const sent = await this.rc.sendVisitorMessage(guest, converted, { type: 'app', id: appId, alias: this.appName(appId).nameSlug });
        return sent._id;
    }

    protected async getMessageById(messageId: string): Promise<ILivechatMessage> {
        return this.rc.toAppMessage(this.rc.messagesById.get(messageId)) as Any;
    }

    /** Rocket.Chat compares the original sender with `message.visitor._id`, which an app visitor never has: always refused. */
    protected async updateMessage(message: ILivechatMessage): Promise<void> {
        const original = message.id ? this.rc.messagesById.get(message.id) : undefined;
        if (!original) {
            return;
        }
        const guest = message.visitor as Any;
        const editOwn = original.u && original.u._id === guest?._id;
        if (!this.rc.options.allowEditing || !editOwn) {
            throw new Error('error-action-not-allowed');
        }
        const partial = this.rc.fromAppMessage(message as Any, true);
        this.rc.updateMessage({ ...partial, _id: original._id }, { _id: guest._id, username: guest.username });
    }

    protected async createVisitor(visitor: IVisitor): Promise<string> {
        const created = await this.registerFromApp(visitor);
        if (!created) {
            throw new Error('Invalid visitor, cannot create');
        }
        return created._id;
    }

    protected async createAndReturnVisitor(visitor: IVisitor): Promise<IVisitor | undefined> {
        return this.rc.toAppVisitor(await this.registerFromApp(visitor)) as Any;
    }

    private registerFromApp(visitor: IVisitor) {
        return this.rc.registerGuest({
            department: visitor.department,
            username: visitor.username,
            name: visitor.name,
            token: visitor.token,
            id: visitor.id,
            ...(visitor.phone?.length && { phone: visitor.phone[0].phoneNumber }),
            ...(visitor.visitorEmails?.length && { email: visitor.visitorEmails[0].address }),
        });
    }

    protected async findVisitors(query: object): Promise<IVisitor[]> {
        const entries = Object.entries(query as Record<string, unknown>);
        return this.rc.visitors
            .filter(
                (v) =>
                    !v.disabled && entries.every(([k, val]) => (v as unknown as Record<string, unknown>)[k === 'id' ? '_id' : k] === val),
            )
            .map((v) => this.rc.toAppVisitor(v)) as Any;
    }

    protected async findVisitorById(id: string): Promise<IVisitor | undefined> {
        const v = this.rc.visitorsById.get(id);
        return this.rc.toAppVisitor(v && !v.disabled ? v : undefined) as Any;
    }

    protected async findVisitorByEmail(email: string): Promise<IVisitor | undefined> {
        const address = email.toLowerCase();
        return this.rc.toAppVisitor(this.rc.visitors.find((v) => v.visitorEmails?.some((e) => e.address === address))) as Any;
    }

    protected async findVisitorByToken(token: string): Promise<IVisitor | undefined> {
        return this.rc.toAppVisitor(this.rc.visitorByToken(token)) as Any;
    }

    protected async findVisitorByPhoneNumber(phoneNumber: string): Promise<IVisitor | undefined> {
        return this.rc.toAppVisitor(this.rc.visitors.find((v) => v.phone?.some((p) => p.phoneNumber === phoneNumber))) as Any;
    }

    protected async resolveVisitor(
        externalId: Omit<IVisitorExternalIdentifier, 'appId'>,
        contactData: ResolveVisitorContactData | undefined,
    ): Promise<IVisitor | undefined> {
        void externalId;
        void contactData;
        return ni('LivechatBridge.resolveVisitor');
    }

    protected async updateVisitorExternalId(): Promise<IVisitor | undefined> {
        return ni('LivechatBridge.updateVisitorExternalId');
    }

    protected async transferVisitor(visitor: IVisitor, transferData: ILivechatTransferData, appId: string): Promise<boolean> {
        if (!visitor) {
            throw new Error('Invalid visitor, cannot transfer');
        }
        const { targetAgent, targetDepartment, currentRoom } = transferData;
        const appUser = [...this.rc.users.values()].find((u) => u.appId === appId && u.type === 'app');
        if (!appUser) {
            throw new Error('Invalid app user, cannot transfer');
        }
        let userId: string | undefined;
        let transferredTo: { _id: string; username: string; name?: string } | undefined;
        if (targetAgent?.id) {
            const agent = this.rc.users.get(targetAgent.id);
            if (!agent?.roles.includes('livechat-agent')) {
                throw new Error('Invalid target agent, cannot transfer');
            }
            userId = agent._id;
            transferredTo = { _id: agent._id, username: agent.username, name: agent.name };
        }
        const room = this.rc.roomsById.get(currentRoom?.id);
        if (!room) {
            throw new Error('error-invalid-room');
        }
        // apps/meteor/app/apps/server/bridges/livechat.ts: LivechatTyped.transfer(convertAppRoom(currentRoom), ...): the app's room object is trusted.
        return this.rc.transfer(
            room,
            {
                userId,
                departmentId: targetDepartment,
                transferredBy: { _id: appUser._id, username: appUser.username, name: appUser.name, type: appUser.type, userType: 'user' },
                transferredTo,
            },
            this.roomView(room, currentRoom as Any),
        );
    }

    protected async createRoom(visitor: IVisitor, agent: IUser, appId: string, extraParams: IExtraRoomParams = {}): Promise<ILivechatRoom> {
        const { source, customFields } = extraParams;
        if (source && (source as { type?: string }).type !== 'app' && this.rc.options.rejectNonAppSource) {
            throw new RocketChatError('error-invalid-source', 'Apps can only create rooms with source type "app"');
        }
        let selected: { agentId: string; username: string } | undefined;
        if (agent?.id) {
            const user = this.rc.users.get(agent.id);
            if (!user) {
                throw new Error(`The agent with id "${agent.id}" was not found.`);
            }
            selected = { agentId: user._id, username: user.username };
        }
        const guest = this.rc.fromAppVisitor(visitor as Any);
        if (!guest?._id) {
            throw new Error('Match error: Expected string, got undefined in field _id');
        }
        const app = this.appName(appId);
        const s = (source || {}) as Record<string, string | undefined>;
        const room = await this.rc.createLivechatRoom({
            visitor: guest,
            agent: selected,
            customFields,
            source: {
                type: 'app',
                id: appId,
                alias: app.name,
                ...(source &&
                    s.type === 'app' && {
                        sidebarIcon: s.sidebarIcon,
                        defaultIcon: s.defaultIcon,
                        label: s.label,
                        destination: s.destination,
                    }),
            },
        });
        return this.rc.toAppRoom(room) as Any;
    }

    /**
     * apps/meteor/app/apps/server/bridges/livechat.ts closeRoom: closeRoom({ room: convertAppRoom(room), ... }):
     * the app's room object is trusted (a stale isOpen passes the open check; see RocketChat.closeRoom).
     */
    protected async closeRoom(room: ILivechatRoom, comment: string, closer: IUser | undefined): Promise<boolean> {
        const rcRoom = this.rc.roomsById.get(room.id);
        const view = this.roomView(rcRoom, room as Any);
        if (!rcRoom || !view.open) {
            throw new Error('error-room-closed');
        }
        const visitor = room.visitor ? this.rc.fromAppVisitor(room.visitor as Any) : undefined;
        await this.rc.closeRoom({
            room: rcRoom,
            view,
            comment,
            ...(closer && { user: { _id: closer.id, username: closer.username } }),
            ...(visitor && { visitor }),
        });
        return true;
    }

    /** apps/meteor/app/apps/server/converters/rooms.ts convertAppRoom: open/departmentId/servedBy as the app passed them. */
    private roomView(rcRoom: RcRoom | undefined, appRoom: Record<string, any> | undefined): RoomView {
        const servedBy = appRoom?.servedBy?.id ? this.rc.users.get(appRoom.servedBy.id) : undefined;
        const departmentId =
            appRoom?.department?.id && this.rc.departments.has(appRoom.department.id) ? (appRoom.department.id as string) : undefined;
        return {
            _id: rcRoom?._id ?? appRoom?.id,
            open: appRoom && typeof appRoom.isOpen !== 'undefined' ? !!appRoom.isOpen : undefined,
            departmentId,
            servedBy: servedBy ? { _id: servedBy._id, username: servedBy.username, ts: undefined as unknown as Date } : undefined,
            ts: appRoom?.createdAt ? new Date(appRoom.createdAt) : rcRoom?.ts,
        };
    }

    protected async countOpenRoomsByAgentId(agentId: string): Promise<number> {
        if (!agentId) {
            throw new Error('Invalid agentId');
        }
        return this.rc.rooms.filter((r) => r.t === 'l' && r.open && r.servedBy?._id === agentId).length;
    }

    protected async findOpenRoomsByAgentId(agentId: string): Promise<ILivechatRoom[]> {
        if (!agentId) {
            throw new Error('Invalid agentId');
        }
        return this.rc.rooms.filter((r) => r.t === 'l' && r.open && r.servedBy?._id === agentId).map((r) => this.rc.toAppRoom(r)) as Any;
    }

    /** LivechatRooms.findOpenByVisitorToken(AndDepartmentId): only OPEN rooms. */
    protected async findRooms(visitor: IVisitor, departmentId: string | null): Promise<ILivechatRoom[]> {
        if (!visitor) {
            return [];
        }
        return this.rc
            .openRoomsOf(visitor.token)
            .filter((r) => !departmentId || r.departmentId === departmentId)
            .map((r) => this.rc.toAppRoom(r)) as Any;
    }

    protected async findDepartmentByIdOrName(value: string): Promise<IDepartment | undefined> {
        return this.rc.toAppDepartment(this.rc.departmentByIdOrName(value)) as Any;
    }

    /** LivechatDepartment.findEnabledWithAgents: enabled and numAgents > 0 (agents need not be online). */
    protected async findDepartmentsEnabledWithAgents(): Promise<IDepartment[]> {
        return [...this.rc.departments.values()].filter((d) => d.enabled && d.numAgents > 0).map((d) => this.rc.toAppDepartment(d)) as Any;
    }

    protected async _fetchLivechatRoomMessages(appId: string, roomId: string): Promise<IMessage[]> {
        return this.rc.messagesOf(roomId).map((m) => this.rc.toAppMessage(m)) as Any;
    }

    /** apps/meteor/app/livechat/server/lib/custom-fields.ts setCustomFields (the engine's LivechatUpdater turns it into `result > 0`). */
    protected async setCustomFields(data: { token: string; key: string; value: string; overwrite: boolean }): Promise<number> {
        return this.rc.setCustomFields(data);
    }
}

// --------------------------------------------------------------------------- uploads

/** bridges/uploads.ts */
export class EmulatedUploadBridge extends UploadBridge {
    constructor(private readonly rc: RocketChat) {
        super();
    }

    protected async getById(id: string): Promise<IUpload> {
        return this.rc.toAppUpload(this.rc.uploads.get(id)) as Any;
    }

    protected async getBuffer(upload: IUpload): Promise<Buffer> {
        const stored = this.rc.uploads.get(upload.id);
        if (!stored) {
            throw new Error('Unknown error');
        }
        return Buffer.from(stored.buffer);
    }

    protected async createUpload(details: IUploadDetails, buffer: Buffer): Promise<IUpload> {
        if (!details.userId && !details.visitorToken) {
            throw new Error('Missing user to perform the upload operation');
        }
        const data = Buffer.isBuffer(buffer) ? buffer : Buffer.from(buffer as Any);
        // apps/meteor/app/apps/server/bridges/uploads.ts: type sniffed from the bytes; FileUpload.ts validateFileUpload on insert.
        this.rc.validateFileUpload({ size: data.length, type: determineFileType(data, details.name) });
        const upload = this.rc.storeUpload(
            {
                name: details.name,
                rid: details.rid,
                userId: details.visitorToken ? undefined : details.userId,
                visitorToken: details.visitorToken,
            },
            data,
        );
        if (details.visitorToken) {
            this.rc.sendFileLivechatMessage(details.rid, details.visitorToken, upload);
        } else {
            const user = this.rc.users.get(details.userId);
            const room = this.rc.roomsById.get(details.rid);
            if (!user || !room) {
                throw new Error('error-invalid-room-or-user');
            }
            this.rc.sendFileMessage(user, room, upload);
        }
        return this.rc.toAppUpload(upload) as Any;
    }
}

// --------------------------------------------------------------------------- settings, env, details, activation

export class EmulatedServerSettingBridge extends ServerSettingBridge {
    constructor(private readonly rc: RocketChat) {
        super();
    }

    private convert(id: string): ISetting | undefined {
        const s = this.rc.settings.get(id);
        if (!s) {
            return undefined;
        }
        return {
            id: s._id,
            type: s.type as Any,
            value: s.value,
            packageValue: s.packageValue,
            public: s.public,
            hidden: s.hidden,
            required: false,
            i18nLabel: s._id,
        };
    }

    protected async getAll(): Promise<ISetting[]> {
        return [...this.rc.settings.keys()].filter((id) => this.rc.settings.get(id)!.public).map((id) => this.convert(id)!);
    }

    protected async getOneById(id: string): Promise<ISetting> {
        return this.convert(id) as ISetting;
    }

    protected async hideGroup(): Promise<void> {
        ni('ServerSettingBridge.hideGroup');
    }

    protected async hideSetting(): Promise<void> {
        ni('ServerSettingBridge.hideSetting');
    }

    protected async isReadableById(id: string): Promise<boolean> {
        return !!this.rc.settings.get(id)?.public;
    }

    protected async updateOne(setting: ISetting): Promise<void> {
        this.rc.setServerSetting(setting.id, setting.value);
    }

    protected async incrementValue(id: string, value: number): Promise<void> {
        this.rc.setServerSetting(id, Number(this.rc.getServerSetting(id) ?? 0) + value);
    }
}

/** bridges/environmental.ts: only a few variables are readable. */
export class EmulatedEnvironmentalVariableBridge extends EnvironmentalVariableBridge {
    private static readonly ALLOWED = ['NODE_ENV', 'ROOT_URL', 'INSTANCE_IP'];

    constructor(private readonly env: Record<string, string | undefined>) {
        super();
    }

    protected async getValueByName(envVarName: string): Promise<string | undefined> {
        return EmulatedEnvironmentalVariableBridge.ALLOWED.includes(envVarName) ? this.env[envVarName] : undefined;
    }

    protected async isReadable(envVarName: string): Promise<boolean> {
        return EmulatedEnvironmentalVariableBridge.ALLOWED.includes(envVarName);
    }

    protected async isSet(envVarName: string): Promise<boolean> {
        return EmulatedEnvironmentalVariableBridge.ALLOWED.includes(envVarName) && this.env[envVarName] !== undefined;
    }
}

export class RecordingDetailChangesBridge extends AppDetailChangesBridge {
    public readonly changes: Array<{ appId: string; setting: ISetting }> = [];

    protected onAppSettingsChange(appId: string, setting: ISetting): void {
        this.changes.push({ appId, setting });
    }
}

export class RecordingActivationBridge extends AppActivationBridge {
    public readonly statuses: Array<{ appId: string; status: string }> = [];

    protected async appAdded(): Promise<void> {
        // nothing to broadcast
    }

    protected async appUpdated(): Promise<void> {
        // nothing to broadcast
    }

    protected async appRemoved(): Promise<void> {
        // nothing to broadcast
    }

    protected async appStatusChanged(app: ProxiedApp, status: Any): Promise<void> {
        this.statuses.push({ appId: app.getID(), status: String(status) });
    }

    protected async actionsChanged(): Promise<void> {
        // nothing to broadcast
    }
}

/** Rocket.Chat's listener bridge turns server events into listener-manager calls; the emulation calls the manager directly. */
export class EmulatedListenerBridge implements IListenerBridge {
    public async messageEvent(int: AppInterface, message: IMessage): Promise<undefined | boolean | IMessage> {
        return ni(`ListenerBridge.messageEvent(${int}) — use host.rc helpers`);
    }

    public async roomEvent(int: AppInterface, room: IRoom): Promise<undefined | boolean | IRoom> {
        return ni(`ListenerBridge.roomEvent(${int})`);
    }

    public async uiKitInteractionEvent(int: AppInterface, action: UIKitIncomingInteraction): Promise<undefined | boolean> {
        void action;
        return ni(`ListenerBridge.uiKitInteractionEvent(${int})`);
    }
}

export class EmulatedInternalBridge extends InternalBridge implements IInternalBridge {
    constructor(
        private readonly rc: RocketChat,
        private readonly publicKey: string,
    ) {
        super();
    }

    protected async getUsernamesOfRoomById(roomId: string): Promise<string[]> {
        return this.getUsernamesOfRoomByIdSync(roomId);
    }

    protected getUsernamesOfRoomByIdSync(roomId: string): string[] {
        const room = this.rc.roomsById.get(roomId);
        if (!room) {
            return [];
        }
        const names = new Set(room.usernames ?? []);
        if (room.servedBy) {
            names.add(room.servedBy.username);
        }
        return [...names];
    }

    protected async getWorkspacePublicKey(): Promise<ISetting> {
        return {
            id: 'Cloud_Workspace_PublicKey',
            type: 'string' as Any,
            packageValue: '',
            value: this.publicKey,
            required: false,
            public: false,
            i18nLabel: '',
        };
    }
}

let keyPair: { publicKey: string; privateKey: string } | undefined;

/**
 * The RSA pair Rocket.Chat keeps for app signing (AppSignatureManager signs with RS512). Generating
 * one takes ~250 ms, so it is cached in the OS temp folder (mode 0600) and shared by test processes.
 */
export function workspaceKeyPair(): { publicKey: string; privateKey: string } {
    if (keyPair) {
        return keyPair;
    }
    const file = path.join(
        os.tmpdir(),
        `rc-engine-host-workspace-key-${typeof process.getuid === 'function' ? process.getuid() : 'u'}.json`,
    );
    try {
        const cached = JSON.parse(fs.readFileSync(file, 'utf8'));
        if (typeof cached.publicKey === 'string' && typeof cached.privateKey === 'string') {
            keyPair = cached as { publicKey: string; privateKey: string };
            return keyPair;
        }
    } catch {
        // not cached yet
    }
    const generated = crypto.generateKeyPairSync('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    keyPair = generated;
    try {
        const tmp = `${file}.${process.pid}`;
        fs.writeFileSync(tmp, JSON.stringify(generated), { mode: 0o600 });
        fs.renameSync(tmp, file);
    } catch {
        // cache is an optimisation only
    }
    return generated;
}

export class EmulatedInternalFederationBridge implements IInternalFederationBridge {
    public async getPrivateKey(): Promise<string | null> {
        return workspaceKeyPair().privateKey;
    }

    public async getPublicKey(): Promise<string | null> {
        return workspaceKeyPair().publicKey;
    }
}

// --------------------------------------------------------------------------- scheduler

/** bridges/scheduler.ts on the in-memory Agenda of clock.ts. */
export class EmulatedSchedulerBridge extends SchedulerBridge {
    constructor(private readonly scheduler: Scheduler) {
        super();
    }

    protected async registerProcessors(processors: IProcessor[] = [], appId: string): Promise<undefined | string[]> {
        const startup: Array<Promise<undefined | string>> = [];
        for (const { id, processor, startupSetting } of processors) {
            this.scheduler.define(id, processor as unknown as (ctx: Record<string, unknown>) => Promise<void>);
            if (!startupSetting) {
                continue;
            }
            if ((startupSetting.type as string) === 'onetime') {
                const s = startupSetting as { when: string | Date; data?: object };
                if (!this.scheduler.pendingJobs().some((j) => j.name === id && j.type === 'normal')) {
                    startup.push(this.scheduleOnce({ id, when: s.when, data: s.data }, appId));
                }
            } else if ((startupSetting.type as string) === 'recurring') {
                const s = startupSetting as { interval: string | number; skipImmediate?: boolean; data?: object };
                startup.push(this.scheduleRecurring({ id, interval: s.interval, skipImmediate: s.skipImmediate, data: s.data }, appId));
            }
        }
        if (startup.length) {
            return (await Promise.all(startup)) as string[];
        }
        return undefined;
    }

    protected async scheduleOnce({ id, when, data }: IOnetimeSchedule, appId: string): Promise<undefined | string> {
        try {
            return this.scheduler.schedule(when, id, { ...(data || {}), appId })._id;
        } catch (e) {
            // Rocket.Chat logs and returns undefined.
            this.scheduler.errors.push(`scheduleOnce(${id}): ${(e as Error).message}`);
            return undefined;
        }
    }

    protected async scheduleRecurring(
        { id, interval, skipImmediate = false, data }: IRecurringSchedule,
        appId: string,
    ): Promise<undefined | string> {
        try {
            return this.scheduler.every(interval, id, { ...(data || {}), appId }, skipImmediate)._id;
        } catch (e) {
            this.scheduler.errors.push(`scheduleRecurring(${id}): ${(e as Error).message}`);
            return undefined;
        }
    }

    /** `<jobId>_<appId>` cancels that job; anything else (`<processor>_<appId>`) cancels by processor name. */
    protected async cancelJob(jobId: string): Promise<void> {
        const head = jobId.split('_')[0];
        if (/^[0-9a-f]{24}$/i.test(head)) {
            this.scheduler.cancel({ _id: head });
        } else {
            this.scheduler.cancel({ name: jobId });
        }
    }

    protected async cancelAllJobs(appId: string): Promise<void> {
        this.scheduler.cancel({ nameSuffix: `_${appId}` });
    }
}

// --------------------------------------------------------------------------- the rest: named "not implemented"

function notImplementedBridge<T extends object>(Base: abstract new () => T, name: string): T {
    const Impl = class extends (Base as unknown as new () => object) {};
    return new Proxy(new Impl(), {
        get(target, prop, receiver) {
            const value = Reflect.get(target, prop, receiver);
            if (value === undefined && typeof prop === 'string' && !['then', 'toJSON', 'constructor', 'inspect'].includes(prop)) {
                return () => ni(`${name}.${prop}`);
            }
            return value;
        },
    }) as T;
}

export interface BridgeSet {
    persistence: MemoryPersistenceBridge;
    user: EmulatedUserBridge;
    api: RouterApiBridge;
    http: FetchHttpBridge;
    message: EmulatedMessageBridge;
    room: EmulatedRoomBridge;
    livechat: EmulatedLivechatBridge;
    upload: EmulatedUploadBridge;
    serverSetting: EmulatedServerSettingBridge;
    env: EmulatedEnvironmentalVariableBridge;
    details: RecordingDetailChangesBridge;
    activation: RecordingActivationBridge;
    listener: EmulatedListenerBridge;
    internal: EmulatedInternalBridge;
    federation: EmulatedInternalFederationBridge;
    scheduler: EmulatedSchedulerBridge;
}

export class EmulatedAppBridges extends AppBridges {
    public readonly b: BridgeSet;
    private readonly others: {
        command: CommandBridge;
        contact: ContactBridge;
        email: EmailBridge;
        ui: UiInteractionBridge;
        cloud: CloudWorkspaceBridge;
        video: VideoConferenceBridge;
        oauth: OAuthAppsBridge;
        moderation: ModerationBridge;
        thread: ThreadBridge;
        role: RoleBridge;
        outbound: OutboundMessageBridge;
        experimental: ExperimentalBridge;
    };

    constructor(
        rc: RocketChat,
        scheduler: Scheduler,
        appName: (appId: string) => { name?: string; nameSlug?: string },
        env: Record<string, string | undefined>,
    ) {
        super();
        this.b = {
            persistence: new MemoryPersistenceBridge(),
            user: new EmulatedUserBridge(rc),
            api: new RouterApiBridge(),
            http: new FetchHttpBridge(rc),
            message: new EmulatedMessageBridge(rc),
            room: new EmulatedRoomBridge(rc),
            livechat: new EmulatedLivechatBridge(rc, appName),
            upload: new EmulatedUploadBridge(rc),
            serverSetting: new EmulatedServerSettingBridge(rc),
            env: new EmulatedEnvironmentalVariableBridge(env),
            details: new RecordingDetailChangesBridge(),
            activation: new RecordingActivationBridge(),
            listener: new EmulatedListenerBridge(),
            internal: new EmulatedInternalBridge(rc, workspaceKeyPair().publicKey),
            federation: new EmulatedInternalFederationBridge(),
            scheduler: new EmulatedSchedulerBridge(scheduler),
        };
        this.others = {
            command: notImplementedBridge(CommandBridge, 'CommandBridge'),
            contact: notImplementedBridge(ContactBridge, 'ContactBridge'),
            email: notImplementedBridge(EmailBridge, 'EmailBridge'),
            ui: notImplementedBridge(UiInteractionBridge, 'UiInteractionBridge'),
            cloud: notImplementedBridge(CloudWorkspaceBridge, 'CloudWorkspaceBridge'),
            video: notImplementedBridge(VideoConferenceBridge, 'VideoConferenceBridge'),
            oauth: notImplementedBridge(OAuthAppsBridge, 'OAuthAppsBridge'),
            moderation: notImplementedBridge(ModerationBridge, 'ModerationBridge'),
            thread: notImplementedBridge(ThreadBridge, 'ThreadBridge'),
            role: notImplementedBridge(RoleBridge, 'RoleBridge'),
            outbound: notImplementedBridge(OutboundMessageBridge, 'OutboundMessageBridge'),
            experimental: notImplementedBridge(ExperimentalBridge, 'ExperimentalBridge'),
        };
    }

    public getCommandBridge() {
        return this.others.command;
    }
    public getContactBridge() {
        return this.others.contact;
    }
    public getApiBridge() {
        return this.b.api;
    }
    public getAppDetailChangesBridge() {
        return this.b.details;
    }
    public getEnvironmentalVariableBridge() {
        return this.b.env;
    }
    public getHttpBridge() {
        return this.b.http;
    }
    public getListenerBridge() {
        return this.b.listener;
    }
    public getLivechatBridge() {
        return this.b.livechat;
    }
    public getMessageBridge() {
        return this.b.message;
    }
    public getPersistenceBridge() {
        return this.b.persistence;
    }
    public getAppActivationBridge() {
        return this.b.activation;
    }
    public getRoomBridge() {
        return this.b.room;
    }
    public getInternalBridge() {
        return this.b.internal;
    }
    public getInternalFederationBridge() {
        return this.b.federation;
    }
    public getServerSettingBridge() {
        return this.b.serverSetting;
    }
    public getUploadBridge() {
        return this.b.upload;
    }
    public getEmailBridge() {
        return this.others.email;
    }
    public getUserBridge() {
        return this.b.user;
    }
    public getUiInteractionBridge() {
        return this.others.ui;
    }
    public getSchedulerBridge() {
        return this.b.scheduler;
    }
    public getCloudWorkspaceBridge() {
        return this.others.cloud;
    }
    public getVideoConferenceBridge() {
        return this.others.video;
    }
    public getOAuthAppsBridge() {
        return this.others.oauth;
    }
    public getModerationBridge() {
        return this.others.moderation;
    }
    public getThreadBridge() {
        return this.others.thread;
    }
    public getRoleBridge() {
        return this.others.role;
    }
    public getOutboundMessageBridge() {
        return this.others.outbound;
    }
    public getExperimentalBridge() {
        return this.others.experimental;
    }
}
