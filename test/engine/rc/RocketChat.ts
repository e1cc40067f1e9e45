import type { AppManager } from '@rocket.chat/apps-engine/server/AppManager';

import { RocketChatError } from '../errors';
import { clone, compact, randomId, sha256, tick } from '../util';
import type {
    RcCustomField,
    RcDepartment,
    RcDepartmentAgent,
    RcInquiry,
    RcMessage,
    RcMessageFile,
    RcOmnichannelSource,
    RcRoom,
    RcSetting,
    RcUpload,
    RcUser,
    RcVisitor,
} from './types';

/**
 * In-memory Rocket.Chat: the data and the Omnichannel logic the bridges delegate to, plus the
 * "agent UI" helpers tests use. The logic follows Rocket.Chat 7.x server code (file references in
 * test/engine/NOTES.md); documents are kept in Rocket.Chat's shape and converted for the app by the
 * converters at the end of this file, like apps/meteor/app/apps/server/converters does.
 *
 * Events: Rocket.Chat fires app events without waiting (`void Apps.self?.triggerEvent(...)`). Here
 * every event is dispatched through the engine's listener manager methods that await the app, and
 * tracked; `idle()` resolves when every event (and the events those caused) has been handled. The
 * host awaits `idle()` after each API call / agent action, so tests are deterministic while the app
 * still never waits for its own events inside a bridge call (as on a real server).
 */

export type RoutingMode = 'auto' | 'manual';

export interface RocketChatOptions {
    /** 'auto' = Auto_Selection (assign an online agent at creation); 'manual' = Manual_Selection (queue until taken). */
    routing?: RoutingMode;
    /** Site_Url server setting. The HTTP front replaces the default with its own URL on listen(). */
    siteUrl?: string;
    /** Livechat_accept_chats_with_no_agents (default false, as in Rocket.Chat). */
    acceptChatsWithNoAgents?: boolean;
    /** Reject `createRoom(..., {source: {type: <not 'app'>}})` as newer servers do (default true). */
    rejectNonAppSource?: boolean;
    /** Message_AllowEditing (default true). */
    allowEditing?: boolean;
    /** Extra server settings (id -> value). */
    serverSettings?: Record<string, unknown>;
    /**
     * Simulated database round trip (ms) between a lookup and the write that depends on it
     * (visitor registration, room creation). Gives concurrent requests the same race window they
     * have on a real server. Default 2.
     */
    dbLatencyMs?: number;
    /**
     * Enterprise omnichannel module present (default false = Community Edition). Only with it does
     * createRoom store `customFields` (unvalidated) as room.customFields
     * (apps/meteor/ee/app/livechat-enterprise/server/hooks/beforeNewRoom.ts).
     */
    enterprise?: boolean;
    /**
     * Newest servers: a unique partial index allows one open room per visitor token, so a second
     * createRoom for a token with an open room fails with a duplicate-key error (L/Helper.ts
     * prepareLivechatRoom). Default false = 8.x (no such index).
     */
    singleOpenRoomPerVisitor?: boolean;
}

export interface AgentSpec {
    username: string;
    name?: string;
    online?: boolean;
    id?: string;
    email?: string;
    language?: string;
}

export interface DepartmentSpec {
    id?: string;
    name: string;
    enabled?: boolean;
    email?: string;
    description?: string;
    agents?: AgentSpec[];
    fallbackForwardDepartment?: string;
    /** Default true (Rocket.Chat's department form default). */
    showOnRegistration?: boolean;
    allowReceiveForwardOffline?: boolean;
    requestTagBeforeClosingChat?: boolean;
    chatClosingTags?: string[];
}

/** A livechat custom field definition (Omnichannel > Custom Fields). */
export interface CustomFieldSpec {
    id: string;
    label?: string;
    scope: 'visitor' | 'room';
    regexp?: string;
    /** Default 'visible'. */
    visibility?: string;
    required?: boolean;
}

export interface FileSpec {
    filename: string;
    contentType?: string;
    buffer: Buffer;
    description?: string;
    /** Text sent along with the file (Rocket.Chat's msgData.msg). */
    text?: string;
}

export interface EventRecord {
    event: string;
    roomId?: string;
    messageId?: string;
    at: Date;
}

export interface EventError {
    event: string;
    error: unknown;
}

type SelectedAgent = { agentId: string; username: string };
/** The room as a caller passed it (the bridges convert the app's room object instead of re-reading it). */
export type RoomView = Pick<RcRoom, '_id' | 'open' | 'departmentId' | 'servedBy'> & Partial<Pick<RcRoom, 'ts' | 'v'>>;
type TransferredBy = { _id: string; username: string; name?: string; type?: string; userType: 'user' | 'agent' | 'visitor' };
interface TransferData {
    userId?: string;
    departmentId?: string;
    transferredBy: TransferredBy;
    transferredTo?: { _id: string; username: string; name?: string };
    comment?: string;
}

const MESSAGE_EVENT_METHODS: Record<string, string> = {
    IPostMessageSent: 'executePostMessageSent',
    IPostSystemMessageSent: 'executePostSystemMessageSent',
    IPostMessageUpdated: 'executePostMessageUpdated',
    IPostMessageDeleted: 'executePostMessageDelete',
};

export class RocketChat {
    public readonly options: Required<Omit<RocketChatOptions, 'serverSettings'>>;

    public readonly users = new Map<string, RcUser>();
    public readonly departments = new Map<string, RcDepartment>();
    public readonly departmentAgents: RcDepartmentAgent[] = [];
    public readonly visitorsById = new Map<string, RcVisitor>();
    public readonly roomsById = new Map<string, RcRoom>();
    public readonly inquiries = new Map<string, RcInquiry>();
    public readonly messagesById = new Map<string, RcMessage>();
    public readonly uploads = new Map<string, RcUpload>();
    public readonly settings = new Map<string, RcSetting>();
    public readonly customFields = new Map<string, RcCustomField>();

    /** Every app event dispatched, in order. */
    public readonly events: EventRecord[] = [];
    /** Errors thrown by the app while handling events (Rocket.Chat only logs these). */
    public readonly eventErrors: EventError[] = [];

    private manager?: AppManager;
    private readonly pending = new Set<Promise<void>>();
    private guestCounter = 0;

    constructor(options: RocketChatOptions = {}) {
        this.options = {
            routing: options.routing ?? 'auto',
            siteUrl: options.siteUrl ?? 'http://localhost:3000',
            acceptChatsWithNoAgents: options.acceptChatsWithNoAgents ?? false,
            rejectNonAppSource: options.rejectNonAppSource ?? true,
            allowEditing: options.allowEditing ?? true,
            dbLatencyMs: options.dbLatencyMs ?? 2,
            enterprise: options.enterprise ?? false,
            singleOpenRoomPerVisitor: options.singleOpenRoomPerVisitor ?? false,
        };
        const defaults: Array<[string, RcSetting['type'], unknown, boolean]> = [
            ['Site_Url', 'string', this.options.siteUrl, true],
            ['Site_Name', 'string', 'Rocket.Chat', true],
            ['Language', 'string', 'en', true],
            ['Livechat_enabled', 'boolean', true, true],
            ['Livechat_Routing_Method', 'select', this.options.routing === 'auto' ? 'Auto_Selection' : 'Manual_Selection', false],
            ['Livechat_accept_chats_with_no_agents', 'boolean', this.options.acceptChatsWithNoAgents, false],
            ['Message_AllowEditing', 'boolean', this.options.allowEditing, true],
            // apps/meteor/server/settings/message.ts
            ['Message_MaxAllowedSize', 'int', 5000, true],
            // apps/meteor/server/settings/omnichannel.ts
            ['Livechat_request_comment_when_closing_conversation', 'boolean', false, true],
            // apps/meteor/server/settings/file-upload.ts
            ['FileUpload_Enabled', 'boolean', true, true],
            ['FileUpload_MaxFileSize', 'int', 104857600, true],
            ['FileUpload_MediaTypeWhiteList', 'string', '', true],
            ['FileUpload_MediaTypeBlackList', 'string', 'image/svg+xml', true],
            ['FileUpload_ProtectFiles', 'boolean', true, true],
            ['uniqueID', 'string', randomId(), false],
        ];
        for (const [id, type, value, isPublic] of defaults) {
            this.settings.set(id, { _id: id, type, value, packageValue: value, public: isPublic });
        }
        for (const [id, value] of Object.entries(options.serverSettings ?? {})) {
            this.setServerSetting(id, value);
        }
    }

    // ------------------------------------------------------------------ wiring

    /** Called by the host once the AppManager exists. */
    public attach(manager: AppManager): void {
        this.manager = manager;
    }

    /** Resolves when every app event dispatched so far (and those they caused) has been handled. */
    public async idle(): Promise<void> {
        while (this.pending.size) {
            await Promise.all([...this.pending]);
        }
    }

    public setServerSetting(id: string, value: unknown): void {
        const existing = this.settings.get(id);
        if (existing) {
            existing.value = value;
        } else {
            this.settings.set(id, {
                _id: id,
                type: typeof value === 'boolean' ? 'boolean' : typeof value === 'number' ? 'int' : 'string',
                value,
                packageValue: value,
                public: true,
            });
        }
        if (id === 'Livechat_Routing_Method') {
            this.options.routing = value === 'Manual_Selection' ? 'manual' : 'auto';
        }
        if (id === 'Livechat_accept_chats_with_no_agents') {
            this.options.acceptChatsWithNoAgents = !!value;
        }
        if (id === 'Message_AllowEditing') {
            this.options.allowEditing = !!value;
        }
        if (id === 'Site_Url') {
            this.options.siteUrl = String(value);
        }
    }

    public getServerSetting(id: string): unknown {
        return this.settings.get(id)?.value;
    }

    // ------------------------------------------------------------------ read helpers for tests

    public get rooms(): RcRoom[] {
        return [...this.roomsById.values()];
    }

    public get visitors(): RcVisitor[] {
        return [...this.visitorsById.values()];
    }

    public room(roomId: string): RcRoom | undefined {
        return this.roomsById.get(roomId);
    }

    /** All messages of a room in order, system messages (with `t`) included. */
    public messagesOf(roomId: string): RcMessage[] {
        return [...this.messagesById.values()].filter((m) => m.rid === roomId);
    }

    public visitorByToken(token: string): RcVisitor | undefined {
        return [...this.visitorsById.values()].find((v) => v.token === token && !v.disabled);
    }

    public openRoomsOf(token: string): RcRoom[] {
        return this.rooms.filter((r) => r.t === 'l' && r.open && r.v?.token === token);
    }

    public userByUsername(username: string): RcUser | undefined {
        return [...this.users.values()].find((u) => u.username === username);
    }

    public departmentByIdOrName(value: string): RcDepartment | undefined {
        return this.departments.get(value) ?? [...this.departments.values()].find((d) => d.name === value);
    }

    public inquiryOf(roomId: string): RcInquiry | undefined {
        return this.inquiries.get(roomId);
    }

    // ------------------------------------------------------------------ users / agents / departments

    public createUser(data: Partial<RcUser> & { username: string }): RcUser {
        if (this.userByUsername(data.username)) {
            throw new RocketChatError('error-field-unavailable', `${data.username} is already in use :(`);
        }
        const now = new Date();
        const user: RcUser = {
            _id: data._id ?? randomId(),
            username: data.username,
            name: data.name ?? data.username,
            type: data.type ?? 'user',
            roles: data.roles ?? ['user'],
            active: data.active ?? true,
            status: data.status ?? 'online',
            statusConnection: data.statusConnection ?? data.status ?? 'online',
            statusLivechat: data.statusLivechat,
            emails: data.emails ?? [],
            appId: data.appId,
            utcOffset: data.utcOffset ?? 0,
            createdAt: now,
            _updatedAt: now,
            lastLogin: data.lastLogin,
            customFields: data.customFields,
            settings: data.settings,
        };
        this.users.set(user._id, user);
        return user;
    }

    /** Creates (or updates) a livechat agent user. */
    public addAgent(spec: AgentSpec): RcUser {
        const existing = this.userByUsername(spec.username);
        const online = spec.online ?? true;
        if (existing) {
            if (!existing.roles.includes('livechat-agent')) {
                existing.roles.push('livechat-agent');
            }
            if (spec.name) {
                existing.name = spec.name;
            }
            if (spec.online !== undefined) {
                this.setAgentOnline(spec.username, online);
            }
            return existing;
        }
        return this.createUser({
            _id: spec.id,
            username: spec.username,
            name: spec.name ?? spec.username,
            roles: ['user', 'livechat-agent'],
            status: online ? 'online' : 'offline',
            statusLivechat: online ? 'available' : 'not-available',
            emails: spec.email ? [{ address: spec.email, verified: true }] : [],
            settings: spec.language ? { preferences: { language: spec.language } } : undefined,
        });
    }

    /** Agent goes online+available (or offline). Like Rocket.Chat CE, queued chats are not re-routed automatically. */
    public setAgentOnline(username: string, online: boolean): void {
        const user = this.mustUser(username);
        user.status = online ? 'online' : 'offline';
        user.statusConnection = user.status;
        user.statusLivechat = online ? 'available' : 'not-available';
        user._updatedAt = new Date();
    }

    public addDepartment(spec: DepartmentSpec): RcDepartment {
        const id = spec.id ?? randomId();
        if (this.departments.has(id)) {
            throw new Error(`department ${id} exists`);
        }
        const department: RcDepartment = {
            _id: id,
            name: spec.name,
            enabled: spec.enabled ?? true,
            email: spec.email ?? '',
            description: spec.description,
            numAgents: 0,
            showOnRegistration: spec.showOnRegistration ?? true,
            showOnOfflineForm: true,
            _updatedAt: new Date(),
            fallbackForwardDepartment: spec.fallbackForwardDepartment,
            ...(spec.allowReceiveForwardOffline !== undefined && { allowReceiveForwardOffline: spec.allowReceiveForwardOffline }),
            ...(spec.requestTagBeforeClosingChat !== undefined && { requestTagBeforeClosingChat: spec.requestTagBeforeClosingChat }),
            ...(spec.chatClosingTags !== undefined && { chatClosingTags: [...spec.chatClosingTags] }),
        };
        this.departments.set(id, department);
        for (const agentSpec of spec.agents ?? []) {
            this.addAgentToDepartment(id, agentSpec);
        }
        return department;
    }

    /** Changes department fields after creation (as the admin's department form would). */
    public updateDepartment(idOrName: string, changes: Partial<Omit<RcDepartment, '_id' | 'numAgents'>>): RcDepartment {
        const department = this.departmentByIdOrName(idOrName);
        if (!department) {
            throw new Error(`unknown department ${idOrName}`);
        }
        Object.assign(department, changes, { _updatedAt: new Date() });
        return department;
    }

    /** Defines a livechat custom field (Omnichannel > Custom Fields); LivechatCustomField documents. */
    public addCustomField(spec: CustomFieldSpec): RcCustomField {
        const field: RcCustomField = compact({
            _id: spec.id,
            label: spec.label ?? spec.id,
            scope: spec.scope,
            visibility: spec.visibility ?? 'visible',
            regexp: spec.regexp,
            required: spec.required ?? false,
        });
        this.customFields.set(field._id, field);
        return field;
    }

    public addAgentToDepartment(departmentId: string, agentSpec: AgentSpec): RcUser {
        const department = this.departments.get(departmentId);
        if (!department) {
            throw new Error(`unknown department ${departmentId}`);
        }
        const agent = this.addAgent(agentSpec);
        if (!this.departmentAgents.some((da) => da.departmentId === departmentId && da.agentId === agent._id)) {
            this.departmentAgents.push({ agentId: agent._id, username: agent.username, departmentId, count: 0, order: 0 });
            department.numAgents = this.departmentAgents.filter((da) => da.departmentId === departmentId).length;
        }
        return agent;
    }

    public setDepartmentEnabled(idOrName: string, enabled: boolean): void {
        const department = this.departmentByIdOrName(idOrName);
        if (!department) {
            throw new Error(`unknown department ${idOrName}`);
        }
        department.enabled = enabled;
        department._updatedAt = new Date();
    }

    public isAgentOnline(user: RcUser | undefined): boolean {
        return (
            !!user &&
            user.active &&
            user.roles.includes('livechat-agent') &&
            user.status !== 'offline' &&
            user.statusLivechat === 'available'
        );
    }

    /** service-status.ts checkOnlineAgents */
    public checkOnlineAgents(departmentId?: string, agentId?: string): boolean {
        if (agentId) {
            return this.isAgentOnline(this.users.get(agentId));
        }
        if (departmentId) {
            const online = this.departmentAgents.some(
                (da) => da.departmentId === departmentId && this.isAgentOnline(this.users.get(da.agentId)),
            );
            if (online) {
                return true;
            }
            const fallback = this.departments.get(departmentId)?.fallbackForwardDepartment;
            return fallback ? this.checkOnlineAgents(fallback) : false;
        }
        return [...this.users.values()].some((u) => this.isAgentOnline(u));
    }

    /** service-status.ts online() — what LivechatRead.isOnline answers. */
    public online(departmentId?: string): boolean {
        if (this.options.acceptChatsWithNoAgents) {
            return true;
        }
        return this.checkOnlineAgents(departmentId);
    }

    public onlineAgents(departmentId?: string): RcUser[] {
        const agents = departmentId
            ? this.departmentAgents.filter((da) => da.departmentId === departmentId).map((da) => this.users.get(da.agentId))
            : [...this.users.values()];
        return agents.filter((u): u is RcUser => this.isAgentOnline(u));
    }

    // ------------------------------------------------------------------ visitors

    /**
     * Visitors.registerGuest (livechat/server/lib/Visitors.ts): update the visitor with this token,
     * else match by phone, then e-mail, else create `guest-N`. There is no unique index on token: two
     * concurrent registrations of a new token both create a visitor (a DB round trip sits between the
     * lookup and the insert here too).
     */
    /** One simulated DB round trip (see RocketChatOptions.dbLatencyMs). */
    private roundTrip(): Promise<void> {
        const ms = this.options.dbLatencyMs;
        return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : tick();
    }

    public async registerGuest(data: {
        token?: string;
        id?: string;
        name?: string;
        username?: string;
        department?: string;
        email?: string;
        phone?: string;
        status?: string;
    }): Promise<RcVisitor> {
        if (typeof data.token !== 'string') {
            throw new RocketChatError(`Match error: Expected string, got ${typeof data.token}`);
        }
        const token = data.token;
        const existing = this.visitorByToken(token);
        let departmentId: string | undefined;
        if (data.department && existing?.department !== data.department) {
            const dep = this.departmentByIdOrName(data.department);
            if (!dep) {
                // packages/omni-core/src/visitor/create.ts registerGuest: throw new Error('error-invalid-department').
                throw new Error('error-invalid-department');
            }
            departmentId = dep._id;
        }
        await this.roundTrip();
        const now = new Date();
        const email = data.email?.trim().toLowerCase();
        // packages/omni-core/src/visitor/create.ts: token, else phone (the stored token is KEPT), else e-mail (token replaced).
        let target = existing;
        let matchedBy: 'token' | 'phone' | 'email' | undefined = target ? 'token' : undefined;
        if (!target && data.phone) {
            target = this.visitors.find((v) => v.phone?.some((p) => p.phoneNumber === data.phone));
            matchedBy = target ? 'phone' : undefined;
        }
        if (!target && email) {
            target = this.visitors.find((v) => v.visitorEmails?.some((e) => e.address === email));
            matchedBy = target ? 'email' : undefined;
        }
        if (target) {
            if (matchedBy === 'email') {
                target.token = token;
            }
            if (data.name) {
                target.name = data.name;
            }
            if (departmentId) {
                target.department = departmentId;
            }
            if (data.phone) {
                target.phone = [{ phoneNumber: data.phone }];
            }
            if (email) {
                target.visitorEmails = [{ address: email }];
            }
            target.status = data.status ?? target.status;
            target._updatedAt = now;
            return target;
        }
        const visitor: RcVisitor = compact({
            _id: data.id || randomId(),
            username: data.username || `guest-${++this.guestCounter}`,
            name: data.name,
            token,
            department: departmentId,
            phone: data.phone ? [{ phoneNumber: data.phone }] : undefined,
            visitorEmails: email ? [{ address: email }] : undefined,
            status: data.status ?? 'online',
            ts: now,
            _updatedAt: now,
        });
        this.visitorsById.set(visitor._id, visitor);
        return visitor;
    }

    /**
     * apps/meteor/app/livechat/server/lib/custom-fields.ts setCustomFields (what LivechatBridge.setCustomFields
     * returns): the key must be a defined custom field, the value must match its regexp; scope 'room' writes
     * livechatData of the visitor's OPEN rooms, else the visitor's livechatData. Returns MongoDB's
     * modifiedCount: 0 when overwrite is false and the key is already set (even to ''), when nothing
     * matches the token, or when the value is unchanged. (Contacts, which newer servers also update, are
     * not emulated.)
     */
    public setCustomFields(data: { token: string; key: string; value: string; overwrite: boolean }): number {
        const { token, key, value, overwrite } = data;
        const field = this.customFields.get(key);
        if (!field) {
            throw new Error('invalid-custom-field');
        }
        if (field.regexp !== undefined && field.regexp !== '' && !new RegExp(field.regexp).test(value)) {
            // The server throws i18n.t('error-invalid-custom-field-value', { field: key }); the code is kept in the text here.
            throw new RocketChatError('error-invalid-custom-field-value', `Invalid value for ${key} field`);
        }
        const isSet = (livechatData?: Record<string, unknown>) => !!livechatData && typeof livechatData[key] !== 'undefined';
        if (field.scope === 'room') {
            // LivechatRooms.updateDataByToken: query { 'v.token': token, open: true }, updateMany.
            const rooms = this.openRoomsOf(token);
            if (!overwrite) {
                if (!rooms.length) {
                    return 0;
                }
                if (isSet(rooms[0].livechatData)) {
                    return 0;
                }
            }
            let modified = 0;
            for (const room of rooms) {
                if (!room.livechatData || room.livechatData[key] !== value) {
                    room.livechatData = { ...(room.livechatData ?? {}), [key]: value };
                    room._updatedAt = new Date();
                    modified++;
                }
            }
            return modified;
        }
        // LivechatVisitors.updateLivechatDataByToken: query { token }, updateOne.
        const visitor = this.visitors.find((v) => v.token === token);
        if (!visitor) {
            return 0;
        }
        if (!overwrite && isSet(visitor.livechatData)) {
            return 0;
        }
        if (visitor.livechatData && visitor.livechatData[key] === value) {
            return 0;
        }
        visitor.livechatData = { ...(visitor.livechatData ?? {}), [key]: value };
        visitor._updatedAt = new Date();
        return 1;
    }

    // ------------------------------------------------------------------ rooms (QueueManager / RoutingManager)

    /**
     * rooms.ts createRoom + QueueManager.requestRoom. Never looks for an existing open room of the
     * visitor (Rocket.Chat does not either).
     */
    public async createLivechatRoom(params: {
        visitor: RcVisitor;
        source: RcOmnichannelSource;
        agent?: SelectedAgent;
        customFields?: Record<string, unknown>;
        message?: string;
    }): Promise<RcRoom> {
        // apps/meteor/app/livechat/server/lib/rooms.ts createRoom: Livechat_enabled first.
        if (!this.getServerSetting('Livechat_enabled')) {
            throw new RocketChatError('error-omnichannel-is-disabled');
        }
        const guest = { ...params.visitor };
        const agent = params.agent;
        // apps/meteor/app/livechat/server/lib/rooms.ts + departmentsLib.ts getRequiredDepartment: no agent and no
        // department -> the first enabled department with agents, shown on registration, with an agent online.
        if (!agent && !guest.department) {
            const required = this.requiredDepartment();
            if (required) {
                guest.department = required._id;
            }
        }
        const department = guest.department ? this.departmentWithOnlineAgents(guest.department) : undefined;
        if (!this.options.acceptChatsWithNoAgents) {
            if (!agent && guest.department && !department) {
                throw new RocketChatError('no-agent-online', 'Sorry, no online agents');
            }
            if (!agent && !guest.department && !this.checkOnlineAgents()) {
                throw new RocketChatError('no-agent-online', 'Sorry, no online agents');
            }
        }
        await this.roundTrip();
        if (this.options.singleOpenRoomPerVisitor && this.openRoomsOf(guest.token).length) {
            // L/Helper.ts prepareLivechatRoom (newest): unique partial index on open rooms per visitor token.
            throw new Error(
                `E11000 duplicate key error collection: rocketchat.rocketchat_room index: v.token_1 dup key: { v.token: ${JSON.stringify(guest.token)} }`,
            );
        }
        const now = new Date();
        const rid = randomId();
        const room: RcRoom = compact({
            _id: rid,
            t: 'l' as const,
            msgs: 0,
            usersCount: 1,
            lm: now,
            fname: guest.name || guest.username,
            ts: now,
            _updatedAt: now,
            departmentId: department ?? guest.department,
            v: { _id: guest._id, username: guest.username, token: guest.token, status: guest.status || 'online' },
            open: true,
            waitingResponse: true,
            source: params.source,
            queuedAt: now,
            // ee/app/livechat-enterprise/server/hooks/beforeNewRoom.ts: only the Enterprise module stores them (unvalidated).
            customFields: this.options.enterprise && params.customFields ? params.customFields : undefined,
        });
        this.roomsById.set(rid, room);
        const status = this.inquiryStatusFor(agent);
        const inquiry: RcInquiry = compact({
            _id: randomId(),
            rid,
            status,
            department: room.departmentId,
            v: { ...room.v! },
            ts: now,
            defaultAgent: status === 'queued' ? agent : undefined,
        });
        this.inquiries.set(rid, inquiry);
        this.saveSystemMessage(
            'livechat-started',
            rid,
            '',
            { _id: guest._id, username: guest.username },
            { groupable: false, token: guest.token },
        );
        this.fire('IPostLivechatRoomStarted', () => this.toAppRoom(room), { roomId: rid });
        if (inquiry.status === 'ready') {
            await this.delegateInquiry(inquiry, agent);
        }
        return room;
    }

    private inquiryStatusFor(agent?: SelectedAgent): RcInquiry['status'] {
        if (agent && this.users.get(agent.agentId)?.roles.includes('bot')) {
            return 'ready';
        }
        if (this.options.routing === 'auto') {
            return 'ready';
        }
        return 'queued';
    }

    /** departmentsLib.ts getRequiredDepartment(): first enabled department with agents, showOnRegistration, one agent online. */
    public requiredDepartment(): RcDepartment | undefined {
        return [...this.departments.values()].find(
            (d) =>
                d.enabled &&
                d.numAgents > 0 &&
                d.showOnRegistration &&
                this.departmentAgents.some((da) => da.departmentId === d._id && this.isAgentOnline(this.users.get(da.agentId))),
        );
    }

    /** QueueManager getDepartment(): the department if it has online agents, else its fallback chain. */
    private departmentWithOnlineAgents(departmentId: string): string | undefined {
        if (this.departmentAgents.some((da) => da.departmentId === departmentId && this.isAgentOnline(this.users.get(da.agentId)))) {
            return departmentId;
        }
        const fallback = this.departments.get(departmentId)?.fallbackForwardDepartment;
        return fallback ? this.departmentWithOnlineAgents(fallback) : undefined;
    }

    /** Auto_Selection getNextAgent: the online agent (of the department) with the fewest routed chats. */
    private nextAgent(departmentId?: string): SelectedAgent | undefined {
        if (departmentId) {
            const candidates = this.departmentAgents
                .filter((da) => da.departmentId === departmentId && this.isAgentOnline(this.users.get(da.agentId)))
                .sort((a, b) => a.count - b.count || a.order - b.order || a.username.localeCompare(b.username));
            const chosen = candidates[0];
            if (!chosen) {
                return undefined;
            }
            chosen.count++;
            return { agentId: chosen.agentId, username: chosen.username };
        }
        const counts = new Map<string, number>();
        for (const r of this.roomsById.values()) {
            if (r.open && r.servedBy) {
                counts.set(r.servedBy._id, (counts.get(r.servedBy._id) ?? 0) + 1);
            }
        }
        const chosen = this.onlineAgents().sort(
            (a, b) => (counts.get(a._id) ?? 0) - (counts.get(b._id) ?? 0) || a.username.localeCompare(b.username),
        )[0];
        return chosen ? { agentId: chosen._id, username: chosen.username } : undefined;
    }

    /** RoutingManager.delegateInquiry */
    private async delegateInquiry(
        inquiry: RcInquiry,
        agent?: SelectedAgent,
        options: { forwardingTo?: string } = {},
    ): Promise<RcRoom | undefined> {
        let selected = agent;
        if (!selected || !this.isAgentOnline(this.users.get(selected.agentId))) {
            selected = this.nextAgent(options.forwardingTo ?? inquiry.department);
        }
        const room = this.roomsById.get(inquiry.rid);
        if (!selected || !room) {
            return room;
        }
        return this.takeInquiry(inquiry, selected, room);
    }

    /** RoutingManager.takeInquiry + assignAgent */
    private takeInquiry(inquiry: RcInquiry, agent: SelectedAgent, room: RcRoom): RcRoom {
        if (!room.open) {
            return room;
        }
        if (room.servedBy && room.servedBy._id === agent.agentId) {
            return room;
        }
        inquiry.status = 'taken';
        delete inquiry.defaultAgent;
        const user = this.users.get(agent.agentId);
        if (!user) {
            throw new Error('error-user-not-found');
        }
        room.servedBy = { _id: user._id, username: user.username, ts: new Date() };
        room.usersCount++;
        room._updatedAt = new Date();
        this.saveSystemMessage('command', room._id, 'connected', user);
        this.saveSystemMessage('uj', room._id, '', user);
        this.fire('IPostLivechatAgentAssigned', () => ({ room: this.toAppRoom(room), agent: this.toAppUser(user) }), { roomId: room._id });
        return room;
    }

    /** Helper.removeAgentFromSubscription: the agent leaves ('ul') and IPostLivechatAgentUnassigned fires. */
    private removeAgent(room: RcRoom, agentId: string): void {
        const user = this.users.get(agentId);
        if (!user) {
            return;
        }
        this.saveSystemMessage('ul', room._id, user.username, user);
        const snapshot = this.toAppRoom(room);
        this.fire('IPostLivechatAgentUnassigned', () => ({ room: snapshot, agent: this.toAppUser(user) }), { roomId: room._id });
    }

    /** Agent UI: take a queued chat (Manual_Selection), or assign an unserved one. */
    public async takeRoom(roomId: string, agentUsername: string): Promise<RcRoom> {
        const room = this.mustRoom(roomId);
        const agent = this.mustUser(agentUsername);
        const inquiry = this.inquiries.get(roomId);
        if (!room.open || !inquiry) {
            throw new RocketChatError('error-room-closed');
        }
        if (inquiry.status === 'taken') {
            throw new RocketChatError('error-not-allowed', 'Inquiry already taken');
        }
        if (!this.isAgentOnline(agent)) {
            throw new RocketChatError('error-agent-status-service-offline', 'Agent status is offline or Omnichannel service is not active');
        }
        this.takeInquiry(inquiry, { agentId: agent._id, username: agent.username }, room);
        await this.idle();
        return room;
    }

    /**
     * transfer.ts transfer + RoutingManager.transferRoom (forwardRoomToDepartment / forwardRoomToAgent).
     * `view` is the room as the caller sees it: LivechatBridge.transferVisitor converts the app's room object
     * (convertAppRoom) instead of re-reading it, so `open`, `departmentId` and `servedBy` come from the app.
     */
    public async transfer(room: RcRoom, transferData: TransferData, view: RoomView = room): Promise<boolean> {
        if (transferData.departmentId) {
            // apps/meteor/app/livechat/server/lib/transfer.ts: unknown department -> error-invalid-department.
            if (!this.departments.get(transferData.departmentId)) {
                throw new Error('error-invalid-department');
            }
            return this.forwardRoomToDepartment(room, transferData, view);
        }
        if (transferData.userId) {
            return this.forwardRoomToAgent(room, transferData, view);
        }
        return false;
    }

    /** apps/meteor/app/livechat/server/lib/Helper.ts forwardRoomToDepartment (8.x). */
    private async forwardRoomToDepartment(room: RcRoom, transferData: TransferData, view: RoomView): Promise<boolean> {
        // Helper.ts: a room that is not open (as passed) -> false.
        if (!view.open) {
            return false;
        }
        const departmentId = transferData.departmentId!;
        const oldServedBy = view.servedBy ? { ...view.servedBy } : undefined;
        const oldDepartmentId = view.departmentId;
        const inquiry = this.inquiries.get(room._id);
        if (!inquiry) {
            throw new Error('error-transferring-inquiry');
        }
        if (oldDepartmentId === departmentId) {
            throw new Error('error-forwarding-chat-same-department');
        }
        let agent: SelectedAgent | undefined;
        if (transferData.userId) {
            const user = this.users.get(transferData.userId);
            if (!this.isAgentOnline(user)) {
                throw new Error('error-user-is-offline');
            }
            if (!this.departmentAgents.some((da) => da.departmentId === departmentId && da.agentId === transferData.userId)) {
                throw new Error('error-user-not-belong-to-department');
            }
            agent = { agentId: user!._id, username: user!.username };
        }
        const target = this.departments.get(departmentId)!;
        await tick();
        // Helper.ts: manual routing, or a target that allowReceiveForwardOffline with nobody online -> the target's
        // queue (RoutingManager.unassignAgent(inquiry, departmentId, true)), no online check.
        if (this.options.routing === 'manual' || (target.allowReceiveForwardOffline && !this.checkOnlineAgents(departmentId))) {
            this.saveTransferHistory(room, transferData, oldDepartmentId);
            return this.unassignAgent(room, inquiry, departmentId);
        }
        // Fake the department to forward the inquiry; delegateInquiry with nobody online changes nothing.
        const previousInquiryDepartment = inquiry.department;
        inquiry.department = departmentId;
        const taken = await this.delegateInquiry(inquiry, agent, { forwardingTo: departmentId });
        const servedBy = taken?.servedBy;
        if (oldServedBy && servedBy && oldServedBy._id === servedBy._id) {
            inquiry.department = previousInquiryDepartment;
            if (target.fallbackForwardDepartment) {
                // Helper.ts: 'livechat:onTransferFailure' has no handler on CE, callbacks.run returns the room -> true, nothing moved.
                return true;
            }
            throw new Error('error-no-agents-online-in-department');
        }
        this.saveTransferHistory(room, transferData, oldDepartmentId);
        if (oldServedBy && (!servedBy || servedBy._id !== oldServedBy._id)) {
            this.removeAgent(room, oldServedBy._id);
        }
        this.updateChatDepartment(room, departmentId, oldDepartmentId);
        return true;
    }

    /**
     * apps/meteor/app/livechat/server/lib/RoutingManager.ts unassignAgent(inquiry, departmentId, shouldQueue=true):
     * re-reads the room (closed -> false), switches the department (IPostLivechatRoomTransferred, converted while
     * the room may still show the old agent), removes the agent (IPostLivechatAgentUnassigned), queues the inquiry.
     */
    private unassignAgent(room: RcRoom, inquiry: RcInquiry, departmentId: string): boolean {
        if (!room.open) {
            return false;
        }
        if (departmentId !== inquiry.department) {
            this.updateChatDepartment(room, departmentId, inquiry.department ?? room.departmentId);
        }
        const servedBy = room.servedBy;
        if (servedBy) {
            delete room.servedBy;
            room._updatedAt = new Date();
            this.removeAgent(room, servedBy._id);
        }
        inquiry.status = 'queued';
        return true;
    }

    /** apps/meteor/app/livechat/server/lib/Helper.ts forwardRoomToAgent. */
    private async forwardRoomToAgent(room: RcRoom, transferData: TransferData, view: RoomView): Promise<boolean> {
        if (!view.open) {
            return false;
        }
        const agentId = transferData.userId!;
        const user = this.users.get(agentId);
        if (!this.isAgentOnline(user)) {
            throw new Error('error-user-is-offline');
        }
        const inquiry = this.inquiries.get(room._id);
        if (!inquiry) {
            throw new Error('error-invalid-inquiry');
        }
        const oldServedBy = view.servedBy ? { ...view.servedBy } : undefined;
        if (oldServedBy && oldServedBy._id === agentId) {
            throw new Error('error-selected-agent-room-agent-are-same');
        }
        await tick();
        this.takeInquiry(inquiry, { agentId, username: user!.username }, room);
        this.saveTransferHistory(room, transferData);
        if (oldServedBy) {
            this.removeAgent(room, oldServedBy._id);
        }
        const from = oldServedBy?._id;
        this.fire(
            'IPostLivechatRoomTransferred',
            () => ({
                type: 'agent',
                room: this.toAppRoom(room),
                from: from ? this.toAppUser(this.users.get(from)) : undefined,
                to: this.toAppUser(user),
            }),
            { roomId: room._id },
        );
        return true;
    }

    /** Helper.updateChatDepartment: fires IPostLivechatRoomTransferred (department). */
    private updateChatDepartment(room: RcRoom, newDepartmentId: string, oldDepartmentId?: string): void {
        room.departmentId = newDepartmentId;
        room._updatedAt = new Date();
        const inquiry = this.inquiries.get(room._id);
        if (inquiry) {
            inquiry.department = newDepartmentId;
        }
        this.fire(
            'IPostLivechatRoomTransferred',
            () => ({
                type: 'department',
                room: this.toAppRoom(room),
                from: oldDepartmentId ? this.toAppDepartment(this.departments.get(oldDepartmentId)) : undefined,
                to: this.toAppDepartment(this.departments.get(newDepartmentId)),
            }),
            { roomId: room._id },
        );
    }

    private saveTransferHistory(
        room: RcRoom,
        transferData: TransferData,
        previousDepartment: string | undefined = room.departmentId,
    ): void {
        const { transferredBy, transferredTo, departmentId, comment } = transferData;
        this.saveSystemMessage(
            'livechat_transfer_history',
            room._id,
            '',
            { _id: transferredBy._id, username: transferredBy.username },
            {
                ...(transferredBy.userType === 'visitor' && { token: room.v?.token }),
                transferData: compact({
                    transferredBy,
                    ts: new Date(),
                    scope: departmentId ? 'department' : 'agent',
                    comment,
                    previousDepartment,
                    nextDepartment: departmentId ? clone(this.departments.get(departmentId)) : undefined,
                    transferredTo,
                }),
            },
        );
    }

    /**
     * apps/meteor/app/livechat/server/lib/closeRoom.ts: checks run on the room AS PASSED (`view`; the bridge
     * converts the app's room object): not open -> error-room-closed; Livechat_request_comment_when_closing_conversation
     * and an empty comment -> error-comment-is-required; resolveChatTags (department's chatClosingTags added; with
     * requestTagBeforeClosingChat an app close needs some, else error-tags-must-be-assigned-before-closing-chat).
     * Then the transaction: the inquiry must still exist (a room already closed in the DB -> "Error removing inquiry",
     * nothing changed). closer 'user' when a user is given, else 'visitor'. A closed room loses its `open` flag.
     */
    public async closeRoom(params: {
        room: RcRoom;
        view?: RoomView;
        comment?: string;
        user?: { _id: string; username?: string };
        visitor?: RcVisitor;
        options?: { clientAction?: boolean; tags?: string[] };
    }): Promise<void> {
        const view = params.view ?? params.room;
        if (!view || params.room.t !== 'l' || !view.open) {
            throw new Error('error-room-closed');
        }
        if (this.getServerSetting('Livechat_request_comment_when_closing_conversation') && !params.comment?.trim()) {
            throw new Error('error-comment-is-required');
        }
        const tags = this.resolveChatTags(view, params.room.tags, params.options ?? {});
        await tick();
        const room = params.room;
        const now = new Date();
        let closedBy: { _id: string; username?: string };
        let closer: 'user' | 'visitor';
        if (params.user) {
            closer = 'user';
            closedBy = { _id: params.user._id || '', username: params.user.username };
        } else if (params.visitor) {
            closer = 'visitor';
            closedBy = { _id: params.visitor._id, username: params.visitor.username };
        } else {
            throw new Error('Error: Please provide details of the user or visitor who closed the room');
        }
        // LivechatInquiry.removeByRoomId must delete exactly one inquiry (transaction aborted otherwise).
        if (!this.inquiries.has(room._id)) {
            throw new Error('Error removing inquiry');
        }
        if (!room.open) {
            throw new Error('Error closing room');
        }
        this.inquiries.delete(room._id);
        room.closer = closer;
        room.closedBy = closedBy;
        room.closedAt = now;
        room.chatDuration = (now.getTime() - (view.ts ?? room.ts).getTime()) / 1000;
        if (view.servedBy?.ts) {
            room.serviceTimeDuration = (now.getTime() - new Date(view.servedBy.ts).getTime()) / 1000 || undefined;
        }
        if (tags.length) {
            room.tags = tags;
        }
        room.closeComment = params.comment;
        delete room.open;
        room._updatedAt = now;
        this.saveSystemMessage('livechat-close', room._id, params.comment ?? '', closedBy, {
            groupable: false,
            // closeRoom.ts afterRoomClosed: the token is added whenever a visitor is passed (the bridge always passes one).
            ...(params.visitor && { token: params.visitor.token }),
        });
        const snapshot = () => this.toAppRoom(room);
        this.fire('ILivechatRoomClosedHandler', snapshot, { roomId: room._id });
        this.fire('IPostLivechatRoomClosed', snapshot, { roomId: room._id });
    }

    /** closeRoom.ts resolveChatTags */
    private resolveChatTags(
        view: RoomView,
        roomTagsStored: string[] | undefined,
        options: { clientAction?: boolean; tags?: string[] },
    ): string[] {
        const unique = (...lists: Array<string[] | undefined>) => [...new Set(lists.flatMap((l) => l ?? []))];
        const roomTags = unique(options.tags, roomTagsStored);
        const department = view.departmentId ? this.departments.get(view.departmentId) : undefined;
        if (!department) {
            return roomTags;
        }
        const withDepartmentTags = unique(roomTags, department.chatClosingTags);
        if (!department.requestTagBeforeClosingChat) {
            return withDepartmentTags;
        }
        const checkRoomTags = !options.clientAction || roomTags.length > 0;
        const checkDepartmentTags = !!department.chatClosingTags && department.chatClosingTags.length > 0;
        if (!checkRoomTags || !checkDepartmentTags) {
            throw new Error('error-tags-must-be-assigned-before-closing-chat');
        }
        return withDepartmentTags;
    }

    // ------------------------------------------------------------------ messages

    /**
     * functions/sendMessage.ts: stores the message and fires IPostMessageSent (IPostSystemMessageSent when
     * it has a type) for every message, whoever wrote it (agents, visitors, the app itself).
     */
    public sendMessage(
        user: { _id: string; username: string; name?: string },
        message: Partial<RcMessage>,
        room: RcRoom,
        options: { event?: 'IPostMessageSent' | 'IPostSystemMessageSent' | 'none' } = {},
    ): RcMessage {
        const now = new Date();
        const stored: RcMessage = compact({
            ...message,
            _id: message._id || randomId(),
            rid: room._id,
            msg: typeof message.msg === 'string' ? message.msg : '',
            ts: message.ts ?? now,
            _updatedAt: now,
            u: compact({ _id: user._id, username: user.username, name: user.name }),
        }) as RcMessage;
        if (this.messagesById.has(stored._id)) {
            return this.messagesById.get(stored._id)!;
        }
        this.messagesById.set(stored._id, stored);
        room.msgs++;
        room.lm = now;
        room._updatedAt = now;
        if (room.t === 'l' && !stored.t) {
            if (stored.token) {
                room.waitingResponse = true;
                if (room.v) {
                    (room.v as Record<string, unknown>).lastMessageTs = now;
                }
            } else if (room.servedBy && stored.u._id === room.servedBy._id) {
                room.waitingResponse = false;
                room.responseBy = {
                    _id: stored.u._id,
                    username: stored.u.username,
                    lastMessageTs: now,
                    firstResponseTs: room.responseBy?.firstResponseTs ?? now,
                };
            }
        }
        const event = options.event ?? (stored.t ? 'IPostSystemMessageSent' : 'IPostMessageSent');
        if (event !== 'none') {
            this.fire(event, () => this.toAppMessage(stored), { roomId: room._id, messageId: stored._id });
        }
        return stored;
    }

    /** Message.saveSystemMessage: Rocket.Chat inserts these directly, no app event. */
    public saveSystemMessage(
        type: string,
        rid: string,
        msg: string,
        user: { _id: string; username?: string; name?: string },
        extra: Record<string, unknown> = {},
    ): RcMessage {
        const room = this.roomsById.get(rid);
        const now = new Date();
        const message: RcMessage = {
            ...extra,
            _id: randomId(),
            t: type,
            rid,
            msg,
            ts: now,
            _updatedAt: now,
            u: compact({ _id: user._id, username: user.username ?? '', name: user.name }),
        };
        this.messagesById.set(message._id, message);
        if (room) {
            room.msgs++;
            room.lm = now;
        }
        return message;
    }

    /**
     * livechat/server/lib/messages.ts sendMessage + rooms.ts getRoom: a visitor message goes to
     * `message.rid`; if that room is closed or does not exist, a NEW room is created for the visitor.
     */
    public async sendVisitorMessage(
        guest: RcVisitor,
        message: Partial<RcMessage>,
        source: RcOmnichannelSource,
    ): Promise<RcMessage & { newRoom: boolean }> {
        // apps/meteor/app/livechat/server/lib/rooms.ts getRoom: Livechat_enabled first, open room or not.
        if (!this.getServerSetting('Livechat_enabled')) {
            throw new RocketChatError('error-omnichannel-is-disabled');
        }
        let room = message.rid ? this.roomsById.get(message.rid) : undefined;
        let newRoom = false;
        if (!room?.open) {
            room = await this.createLivechatRoom({ visitor: guest, source, message: message.msg });
            newRoom = true;
        } else if (room.v?.token !== guest.token) {
            throw new RocketChatError('cannot-access-room');
        }
        const toSend = { ...message, rid: room._id, token: guest.token };
        if (guest.name) {
            toSend.alias = guest.name;
        }
        const stored = this.sendMessage({ _id: guest._id, username: guest.username, name: guest.name }, toSend, room);
        return Object.assign(stored, { newRoom });
    }

    /** functions/updateMessage.ts: sets editedAt/editedBy and fires IPostMessageUpdated. */
    public updateMessage(message: Partial<RcMessage> & { _id: string }, editor: { _id: string; username: string }): RcMessage {
        const original = this.messagesById.get(message._id);
        if (!original) {
            throw new Error(`message ${message._id} not found`);
        }
        const now = new Date();
        for (const [key, value] of Object.entries(message)) {
            if (value !== undefined && !['_id', 'rid', 'u', 'ts'].includes(key)) {
                (original as Record<string, unknown>)[key] = value;
            }
        }
        original.editedAt = now;
        original.editedBy = { _id: editor._id, username: editor.username };
        original._updatedAt = now;
        this.fire('IPostMessageUpdated', () => this.toAppMessage(original), { roomId: original.rid, messageId: original._id });
        return original;
    }

    // ------------------------------------------------------------------ uploads

    /**
     * apps/meteor/app/file-upload/server/lib/FileUpload.ts validateFileUpload (run by the store's filter before the
     * file is kept): FileUpload_Enabled, FileUpload_MaxFileSize (-1 = no limit), then the media type lists
     * (apps/meteor/app/utils/lib/restrictions.ts fileUploadIsValidContentTypeFromSettings). `type` is the sniffed type.
     */
    public validateFileUpload(file: { size: number; type: string }): void {
        if (!this.getServerSetting('FileUpload_Enabled')) {
            throw new RocketChatError('error-file-upload-disabled', 'File uploads are disabled');
        }
        const maxFileSize = parseInt(String(this.getServerSetting('FileUpload_MaxFileSize') ?? ''), 10);
        if (maxFileSize > -1 && (file.size || 0) > maxFileSize) {
            throw new RocketChatError('error-file-too-large', `File exceeds allowed size of ${formatFileSize(maxFileSize)}.`);
        }
        if (
            !isValidContentType(
                file.type,
                String(this.getServerSetting('FileUpload_MediaTypeWhiteList') ?? ''),
                String(this.getServerSetting('FileUpload_MediaTypeBlackList') ?? ''),
            )
        ) {
            throw new RocketChatError('error-invalid-file-type', 'File type is not accepted.');
        }
    }

    /** Stores a file (FileUpload store). `uploadedAt` etc. as Rocket.Chat's Uploads collection has them. */
    public storeUpload(
        details: { name: string; rid: string; userId?: string; visitorToken?: string; type?: string; description?: string },
        buffer: Buffer,
    ): RcUpload {
        const id = randomId();
        const now = new Date();
        const type = details.type || determineFileType(buffer, details.name);
        const extension = details.name.includes('.') ? details.name.split('.').pop()!.toLowerCase() : '';
        const upload: RcUpload = compact({
            _id: id,
            name: details.name,
            type,
            size: buffer.length,
            extension,
            description: details.description,
            rid: details.rid,
            userId: details.userId,
            visitorToken: details.visitorToken,
            store: 'GridFS:Uploads' as const,
            complete: true,
            uploading: false,
            progress: 1,
            etag: sha256(buffer).slice(0, 17),
            path: `/ufs/GridFS:Uploads/${id}/${encodeURI(details.name)}`,
            token: randomId(10),
            url: `${this.options.siteUrl.replace(/\/$/, '')}/ufs/GridFS:Uploads/${id}/${encodeURI(details.name)}`,
            uploadedAt: now,
            _updatedAt: now,
            buffer: Buffer.from(buffer),
        });
        this.uploads.set(id, upload);
        return upload;
    }

    /** The attachment Rocket.Chat builds for a file message (sendFileMessage / sendFileLivechatMessage). */
    public fileAttachment(file: RcUpload): { file: RcMessageFile; attachment: Record<string, unknown> } {
        const fileUrl = `/file-upload/${file._id}/${encodeURI(file.name)}`;
        const attachment: Record<string, unknown> = compact({
            title: file.name,
            type: 'file',
            description: file.description,
            title_link: fileUrl,
            title_link_download: true,
        });
        if (/^image\/.+/.test(file.type)) {
            Object.assign(attachment, { image_url: fileUrl, image_type: file.type, image_size: file.size });
        } else if (/^audio\/.+/.test(file.type)) {
            Object.assign(attachment, { audio_url: fileUrl, audio_type: file.type, audio_size: file.size });
        } else if (/^video\/.+/.test(file.type)) {
            Object.assign(attachment, { video_url: fileUrl, video_type: file.type, video_size: file.size });
        }
        return { file: { _id: file._id, name: file.name, type: file.type, size: file.size }, attachment };
    }

    /** sendFileMessage: a user's file message. */
    public sendFileMessage(user: RcUser, room: RcRoom, file: RcUpload, msgData: { msg?: string } = {}): RcMessage {
        const { file: f, attachment } = this.fileAttachment(file);
        return this.sendMessage(
            user,
            {
                msg: msgData.msg ?? '',
                file: { _id: f._id, name: f.name, type: f.type },
                files: [f],
                attachments: [attachment],
                groupable: false,
            },
            room,
        );
    }

    /** sendFileLivechatMessage: silently does nothing (returns undefined) unless the room is open and belongs to the token. */
    public sendFileLivechatMessage(
        roomId: string,
        visitorToken: string,
        file: RcUpload,
        msgData: { msg?: string } = {},
    ): RcMessage | undefined {
        const visitor = this.visitorByToken(visitorToken);
        const room = this.roomsById.get(roomId);
        if (!visitor || !room?.open || room.v?.token !== visitorToken) {
            return undefined;
        }
        const { file: f, attachment } = this.fileAttachment(file);
        return this.sendMessage(
            { _id: visitor._id, username: visitor.username, name: visitor.name },
            {
                msg: msgData.msg ?? '',
                file: { _id: f._id, name: f.name, type: f.type },
                files: [{ _id: f._id, name: f.name, type: f.type }],
                attachments: [attachment],
                groupable: false,
                token: visitorToken,
                ...(visitor.name && { alias: visitor.name }),
            },
            room,
        );
    }

    // ------------------------------------------------------------------ agent UI helpers (tests)

    /** An agent types a message in the livechat UI. */
    public async agentSendMessage(roomId: string, username: string, text: string): Promise<RcMessage> {
        const room = this.mustRoom(roomId);
        const user = this.mustUser(username);
        this.assertAgentCanWrite(room, user);
        const message = this.sendMessage(user, { msg: text }, room);
        await this.idle();
        return message;
    }

    /** An agent sends a file (with optional description/text) in the livechat UI. */
    public async agentSendFile(roomId: string, username: string, file: FileSpec): Promise<{ message: RcMessage; upload: RcUpload }> {
        const room = this.mustRoom(roomId);
        const user = this.mustUser(username);
        this.assertAgentCanWrite(room, user);
        this.validateFileUpload({ size: file.buffer.length, type: file.contentType || determineFileType(file.buffer, file.filename) });
        const upload = this.storeUpload(
            { name: file.filename, rid: roomId, userId: user._id, type: file.contentType, description: file.description },
            file.buffer,
        );
        const message = this.sendFileMessage(user, room, upload, { msg: file.text });
        await this.idle();
        return { message, upload };
    }

    /** An agent edits one of their messages. */
    public async agentEditMessage(messageId: string, newText: string, editorUsername?: string): Promise<RcMessage> {
        const original = this.messagesById.get(messageId);
        if (!original) {
            throw new Error(`message ${messageId} not found`);
        }
        if (!this.options.allowEditing) {
            throw new RocketChatError('error-action-not-allowed', 'Message editing not allowed');
        }
        const editor = editorUsername ? this.mustUser(editorUsername) : this.users.get(original.u._id);
        if (!editor) {
            throw new Error('editor not found');
        }
        const updated = this.updateMessage({ _id: messageId, msg: newText }, editor);
        await this.idle();
        return updated;
    }

    /**
     * An agent (or manager) forwards the chat to a department (id or name) or to an agent (username).
     * A string target is a department when one has that id/name, else an agent username.
     */
    public async agentTransfer(
        roomId: string,
        target: string | { department?: string; agent?: string },
        byUsername?: string,
    ): Promise<boolean> {
        const to = typeof target === 'string' ? (this.departmentByIdOrName(target) ? { department: target } : { agent: target }) : target;
        const room = this.mustRoom(roomId);
        const by = byUsername ? this.mustUser(byUsername) : room.servedBy ? this.users.get(room.servedBy._id) : undefined;
        if (!by) {
            throw new Error('no transferring user: pass byUsername');
        }
        const transferredBy: TransferredBy = {
            _id: by._id,
            username: by.username,
            name: by.name,
            userType: room.servedBy?._id === by._id ? 'agent' : 'user',
        };
        const data: TransferData = { transferredBy };
        if (to.department) {
            const dep = this.departmentByIdOrName(to.department);
            if (!dep) {
                throw new Error('error-invalid-department');
            }
            data.departmentId = dep._id;
        }
        if (to.agent) {
            const agent = this.mustUser(to.agent);
            data.userId = agent._id;
            data.transferredTo = { _id: agent._id, username: agent.username, name: agent.name };
        }
        const result = await this.transfer(room, data);
        await this.idle();
        return result;
    }

    /** An agent closes the chat from the livechat UI. */
    public async agentClose(roomId: string, username: string, comment?: string, tags?: string[]): Promise<void> {
        const room = this.mustRoom(roomId);
        const user = this.mustUser(username);
        await this.closeRoom({ room, comment, user: { _id: user._id, username: user.username }, options: { clientAction: true, tags } });
        await this.idle();
    }

    /**
     * Injects a typed (system) message, e.g. 'uj', 'livechat_video_call', 'command'. By default it is
     * delivered as IPostMessageSent, the way older servers and integrations deliver typed messages, so
     * tests can check the app ignores it; pass `event: 'IPostSystemMessageSent'` for current servers.
     */
    public async systemMessage(
        roomId: string,
        type: string,
        options: { text?: string; username?: string; event?: 'IPostMessageSent' | 'IPostSystemMessageSent' | 'none' } = {},
    ): Promise<RcMessage> {
        const room = this.mustRoom(roomId);
        const user = options.username
            ? this.mustUser(options.username)
            : room.servedBy
              ? this.users.get(room.servedBy._id)!
              : { _id: 'rocket.cat', username: 'rocket.cat', name: 'Rocket.Cat' };
        const message = this.sendMessage(user, { msg: options.text ?? '', t: type }, room, { event: options.event ?? 'IPostMessageSent' });
        await this.idle();
        return message;
    }

    /** The visitor writes from the livechat widget (same path as the app's livechat messages). */
    public async visitorSendMessage(token: string, roomId: string | undefined, text: string): Promise<RcMessage & { newRoom: boolean }> {
        const visitor = this.visitorByToken(token);
        if (!visitor) {
            throw new RocketChatError('invalid-token');
        }
        const message = await this.sendVisitorMessage(visitor, { rid: roomId, msg: text }, { type: 'widget' });
        await this.idle();
        return message;
    }

    private assertAgentCanWrite(room: RcRoom, user: RcUser): void {
        if (room.t === 'l') {
            if (!room.open) {
                throw new RocketChatError('error-room-closed', 'Room is closed');
            }
            if (room.servedBy?._id !== user._id && !user.roles.includes('livechat-manager') && !user.roles.includes('admin')) {
                throw new RocketChatError('error-not-allowed', `${user.username} is not serving room ${room._id}`);
            }
        }
    }

    public mustRoom(roomId: string): RcRoom {
        const room = this.roomsById.get(roomId);
        if (!room) {
            throw new Error(`room ${roomId} not found`);
        }
        return room;
    }

    public mustUser(usernameOrId: string): RcUser {
        const user = this.userByUsername(usernameOrId) ?? this.users.get(usernameOrId);
        if (!user) {
            throw new Error(`user ${usernameOrId} not found`);
        }
        return user;
    }

    // ------------------------------------------------------------------ event dispatch

    /**
     * Dispatches an app event through the engine's listener manager, tracked for `idle()`. The payload
     * is built right away (Rocket.Chat converts at trigger time), the app call is not awaited here.
     */
    public fire(event: string, payload: () => unknown, meta: { roomId?: string; messageId?: string } = {}): Promise<void> {
        const manager = this.manager;
        if (!manager) {
            return Promise.resolve();
        }
        let data: unknown;
        try {
            data = payload();
        } catch (error) {
            this.eventErrors.push({ event, error });
            return Promise.resolve();
        }
        this.events.push({ event, ...meta, at: new Date() });
        const listenerManager = manager.getListenerManager() as unknown as Record<string, (d: unknown) => Promise<unknown>> & {
            executeListener(i: string, d: unknown): Promise<unknown>;
        };
        const promise = (async () => {
            try {
                const method = MESSAGE_EVENT_METHODS[event];
                if (method) {
                    // executeListener() does not await these (fire-and-forget); the private executors do.
                    await listenerManager[method].call(listenerManager, data);
                } else {
                    await listenerManager.executeListener(event, data);
                }
            } catch (error) {
                this.eventErrors.push({ event, error });
            }
        })();
        this.pending.add(promise);
        void promise.then(() => this.pending.delete(promise));
        return promise;
    }

    // ------------------------------------------------------------------ converters (Rocket.Chat -> Apps-Engine shape)

    public toAppUser(user: RcUser | undefined): Record<string, unknown> | undefined {
        if (!user) {
            return undefined;
        }
        return {
            id: user._id,
            username: user.username,
            emails: user.emails,
            type: user.type,
            isEnabled: user.active,
            name: user.name,
            roles: user.roles,
            status: user.status,
            statusConnection: user.statusConnection,
            utcOffset: user.utcOffset,
            createdAt: user.createdAt,
            updatedAt: user._updatedAt,
            lastLoginAt: user.lastLogin,
            appId: user.appId,
            customFields: user.customFields,
            settings: { preferences: { ...(user.settings?.preferences?.language && { language: user.settings.preferences.language }) } },
        };
    }

    /** users converter convertToApp() applied to a message's `u` (visitor senders are not users). */
    private lookupToAppUser(u: { _id: string; username: string; name?: string }): Record<string, unknown> {
        return {
            id: u._id,
            username: u.username,
            name: u.name,
            type: 'unknown',
            statusConnection: 'undefined',
            settings: { preferences: {} },
        };
    }

    public toAppVisitor(visitor: RcVisitor | undefined): Record<string, unknown> | undefined {
        if (!visitor) {
            return undefined;
        }
        return compact({
            id: visitor._id,
            username: visitor.username,
            name: visitor.name,
            department: visitor.department,
            updatedAt: visitor._updatedAt,
            token: visitor.token,
            phone: visitor.phone,
            visitorEmails: visitor.visitorEmails,
            livechatData: visitor.livechatData,
            status: visitor.status,
            activity: visitor.activity,
        });
    }

    /**
     * apps/meteor/app/apps/server/converters/departments.ts convertDepartment (transformMappedData): mapped fields,
     * everything else (allowReceiveForwardOffline, fallbackForwardDepartment, ...) under `_unmappedProperties_`.
     */
    public toAppDepartment(department: RcDepartment | undefined): Record<string, unknown> | undefined {
        if (!department) {
            return undefined;
        }
        const mapped = new Set([
            '_id',
            'name',
            'email',
            '_updatedAt',
            'enabled',
            'numAgents',
            'showOnOfflineForm',
            'description',
            'requestTagBeforeClosingChat',
            'chatClosingTags',
            'showOnRegistration',
        ]);
        const unmapped = Object.fromEntries(Object.entries(department).filter(([k, v]) => !mapped.has(k) && v !== undefined));
        return compact({
            _unmappedProperties_: Object.keys(unmapped).length ? clone(unmapped) : undefined,
            id: department._id,
            name: department.name,
            email: department.email,
            updatedAt: department._updatedAt,
            enabled: department.enabled,
            numberOfAgents: department.numAgents,
            showOnOfflineForm: department.showOnOfflineForm,
            showOnRegistration: department.showOnRegistration,
            description: department.description,
            requestTagBeforeClosingChat: department.requestTagBeforeClosingChat,
            chatClosingTags: department.chatClosingTags,
        });
    }

    public toAppRoom(room: RcRoom | undefined): Record<string, unknown> | undefined {
        if (!room) {
            return undefined;
        }
        const types: Record<string, string> = { c: 'c', p: 'p', d: 'd', l: 'l' };
        const out: Record<string, unknown> = compact({
            id: room._id,
            displayName: room.fname,
            slugifiedName: room.name,
            type: types[room.t],
            creator: room.u ? this.toAppUser(this.users.get(room.u._id)) : undefined,
            userIds: room.uids,
            usernames: room.usernames,
            messageCount: room.msgs,
            createdAt: room.ts,
            updatedAt: room._updatedAt,
            lastModifiedAt: room.lm,
            customFields: room.customFields,
            isDefault: !!room.default,
            isReadOnly: !!room.ro,
            displaySystemMessages: room.sysMes === undefined ? true : room.sysMes,
            description: room.description,
        });
        if (room.t === 'l') {
            Object.assign(
                out,
                compact({
                    visitor: room.v
                        ? (this.toAppVisitor(this.visitorsById.get(room.v._id)) ?? {
                              id: room.v._id,
                              username: room.v.username,
                              token: room.v.token,
                              status: room.v.status,
                          })
                        : undefined,
                    visitorChannelInfo: room.v
                        ? compact({ lastMessageTs: (room.v as Record<string, unknown>).lastMessageTs as Date | undefined })
                        : undefined,
                    department: room.departmentId ? this.toAppDepartment(this.departments.get(room.departmentId)) : undefined,
                    servedBy: room.servedBy ? this.toAppUser(this.users.get(room.servedBy._id)) : undefined,
                    responseBy: room.responseBy ? this.toAppUser(this.users.get(room.responseBy._id)) : undefined,
                    closedBy: room.closedBy
                        ? room.closer === 'user'
                            ? this.toAppUser(this.users.get(room.closedBy._id))
                            : this.toAppVisitor(this.visitorsById.get(room.closedBy._id))
                        : undefined,
                    closer: room.closer,
                    closedAt: room.closedAt,
                    isOpen: room.open,
                    isWaitingResponse: room.waitingResponse,
                    source: room.source,
                    livechatData: room.livechatData,
                }),
            );
        }
        return clone(out);
    }

    private toAppAttachment(a: Record<string, unknown>): Record<string, unknown> {
        const { title, title_link, title_link_download, author_name, author_link, author_icon, ts, ...rest } = a;
        const map: Record<string, string> = {
            message_link: 'timestampLink',
            thumb_url: 'thumbnailUrl',
            image_dimensions: 'imageDimensions',
            image_preview: 'imagePreview',
            image_url: 'imageUrl',
            image_type: 'imageType',
            image_size: 'imageSize',
            audio_url: 'audioUrl',
            audio_type: 'audioType',
            audio_size: 'audioSize',
            video_url: 'videoUrl',
            video_type: 'videoType',
            video_size: 'videoSize',
            button_alignment: 'actionButtonsAlignment',
        };
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(rest)) {
            out[map[k] ?? k] = v;
        }
        if (title !== undefined || title_link !== undefined) {
            out.title = compact({ value: title, link: title_link, displayDownloadLink: title_link_download });
        }
        if (author_name !== undefined || author_link !== undefined || author_icon !== undefined) {
            out.author = compact({ name: author_name, link: author_link, icon: author_icon });
        }
        if (ts !== undefined) {
            out.timestamp = new Date(ts as string);
        }
        return out;
    }

    /** messages converter convertMessage(): sender is the user (or the visitor lookup for visitor messages). */
    public toAppMessage(message: RcMessage | undefined): Record<string, unknown> | undefined {
        if (!message) {
            return undefined;
        }
        const known = new Set([
            '_id',
            'tmid',
            'reactions',
            'parseUrls',
            'msg',
            'ts',
            '_updatedAt',
            'editedAt',
            'emoji',
            'avatar',
            'alias',
            'file',
            'customFields',
            'groupable',
            'token',
            'blocks',
            't',
            'rid',
            'editedBy',
            'attachments',
            'u',
        ]);
        const unmapped: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(message)) {
            if (!known.has(k)) {
                unmapped[k] = v;
            }
        }
        const sender = message.token
            ? this.lookupToAppUser(message.u)
            : (this.toAppUser(this.users.get(message.u._id)) ?? this.lookupToAppUser(message.u));
        return clone(
            compact({
                id: message._id,
                threadId: message.tmid,
                parseUrls: message.parseUrls,
                text: message.msg,
                createdAt: message.ts,
                updatedAt: message._updatedAt,
                editedAt: message.editedAt,
                emoji: message.emoji,
                avatarUrl: message.avatar,
                alias: message.alias,
                file: message.file,
                customFields: message.customFields,
                groupable: message.groupable,
                token: message.token,
                blocks: message.blocks,
                type: message.t,
                room: this.toAppRoom(this.roomsById.get(message.rid)),
                editor: message.editedBy ? this.toAppUser(this.users.get(message.editedBy._id)) : undefined,
                attachments: message.attachments ? message.attachments.map((a) => this.toAppAttachment(a)) : undefined,
                sender,
                _unmappedProperties_: Object.keys(unmapped).length ? unmapped : undefined,
            }),
        );
    }

    public toAppUpload(upload: RcUpload | undefined): Record<string, unknown> | undefined {
        if (!upload) {
            return undefined;
        }
        const visitor = upload.visitorToken ? this.visitorByToken(upload.visitorToken) : undefined;
        return clone(
            compact({
                id: upload._id,
                name: upload.name,
                size: upload.size,
                type: upload.type,
                extension: upload.extension,
                etag: upload.etag,
                path: upload.path,
                token: upload.token,
                url: upload.url,
                progress: upload.progress,
                uploading: upload.uploading,
                complete: upload.complete,
                updatedAt: upload._updatedAt,
                uploadedAt: upload.uploadedAt,
                store: upload.store,
                description: upload.description,
                room: this.toAppRoom(this.roomsById.get(upload.rid)),
                user: upload.userId ? this.toAppUser(this.users.get(upload.userId)) : undefined,
                visitor: this.toAppVisitor(visitor),
            }),
        );
    }

    // ------------------------------------------------------------------ converters (Apps-Engine -> Rocket.Chat shape)

    /** messages converter convertAppMessage(): needs an existing room; `file`/`files` set by the app are ignored. */
    public fromAppMessage(message: Record<string, any>, isPartial = false): Partial<RcMessage> {
        const roomId = message.room?.id as string | undefined;
        const room = roomId ? this.roomsById.get(roomId) : undefined;
        if (!room && !isPartial) {
            throw new Error('Invalid room provided on the message.');
        }
        let u: RcMessage['u'] | undefined;
        if (message.sender?.id) {
            const user = this.users.get(message.sender.id);
            u = user
                ? compact({ _id: user._id, username: user.username, name: user.name })
                : compact({ _id: message.sender.id, username: message.sender.username, name: message.sender.name });
        }
        const attachments = Array.isArray(message.attachments)
            ? message.attachments.map((a: Record<string, any>) => fromAppAttachment(a))
            : undefined;
        const out: Partial<RcMessage> = compact({
            _id: message.id ?? (isPartial ? undefined : randomId()),
            ...('threadId' in message && { tmid: message.threadId }),
            rid: room?._id,
            u,
            msg: message.text,
            ts: message.createdAt ?? (isPartial ? undefined : new Date()),
            ...('emoji' in message && { emoji: message.emoji }),
            ...('avatarUrl' in message && { avatar: message.avatarUrl }),
            ...('alias' in message && { alias: message.alias }),
            ...('customFields' in message && { customFields: message.customFields }),
            ...('groupable' in message && { groupable: message.groupable }),
            ...(attachments && { attachments }),
            ...('parseUrls' in message && { parseUrls: message.parseUrls }),
            ...('blocks' in message && { blocks: message.blocks }),
            ...('token' in message && { token: message.token }),
        });
        if (!isPartial && message._unmappedProperties_) {
            Object.assign(out, message._unmappedProperties_);
        }
        return out;
    }

    /** visitors converter convertAppVisitor() */
    public fromAppVisitor(visitor: Record<string, any> | undefined): RcVisitor | undefined {
        if (!visitor) {
            return undefined;
        }
        return compact({
            _id: visitor.id,
            username: visitor.username,
            name: visitor.name,
            token: visitor.token,
            phone: visitor.phone,
            livechatData: visitor.livechatData,
            status: visitor.status || 'online',
            ...(visitor.visitorEmails && { visitorEmails: visitor.visitorEmails }),
            ...(visitor.department && { department: visitor.department }),
            ts: new Date(),
            _updatedAt: new Date(),
        }) as RcVisitor;
    }
}

function fromAppAttachment(attachment: Record<string, any>): Record<string, unknown> {
    const out = compact({
        collapsed: attachment.collapsed,
        color: attachment.color,
        text: attachment.text,
        ts: attachment.timestamp ? new Date(attachment.timestamp).toJSON() : attachment.timestamp,
        message_link: attachment.timestampLink,
        thumb_url: attachment.thumbnailUrl,
        author_name: attachment.author ? attachment.author.name : undefined,
        author_link: attachment.author ? attachment.author.link : undefined,
        author_icon: attachment.author ? attachment.author.icon : undefined,
        title: attachment.title ? attachment.title.value : undefined,
        title_link: attachment.title ? attachment.title.link : undefined,
        title_link_download: attachment.title ? attachment.title.displayDownloadLink : undefined,
        image_dimensions: attachment.imageDimensions,
        image_preview: attachment.imagePreview,
        image_url: attachment.imageUrl,
        image_type: attachment.imageType,
        image_size: attachment.imageSize,
        audio_url: attachment.audioUrl,
        audio_type: attachment.audioType,
        audio_size: attachment.audioSize,
        video_url: attachment.videoUrl,
        video_type: attachment.videoType,
        video_size: attachment.videoSize,
        fields: attachment.fields,
        button_alignment: attachment.actionButtonsAlignment,
        actions: attachment.actions,
        type: attachment.type,
        description: attachment.description,
    });
    return { ...out, ...(attachment._unmappedProperties_ || {}) };
}

/** apps/meteor/app/utils/lib/restrictions.ts: `<type>/*` wildcards, '' or '*' whitelist = everything. */
function isValidContentType(type: string | undefined, whiteListSetting: string, blackListSetting: string): boolean {
    const split = (value: string) => value.split(',').map((item) => item.trim());
    const blackList = blackListSetting ? split(blackListSetting) : undefined;
    const whiteList = !whiteListSetting || whiteListSetting === '*' ? undefined : split(whiteListSetting);
    const onList = (list: string[]) =>
        !!type && (list.includes(type) || list.filter((i) => i.indexOf('/*') > 0).includes(type.replace(/(\/.*)$/, '/*')));
    if (blackList && type && onList(blackList)) {
        return false;
    }
    return whiteList ? onList(whiteList) : true;
}

/** Rough `filesize` formatting for the error text (base 2). */
function formatFileSize(bytes: number): string {
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit++;
    }
    return `${Math.round(value * 100) / 100} ${units[unit]}`;
}

const EXTENSION_TYPES: Record<string, string> = {
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    png: 'image/png',
    gif: 'image/gif',
    webp: 'image/webp',
    svg: 'image/svg+xml',
    pdf: 'application/pdf',
    mp3: 'audio/mpeg',
    m4a: 'audio/mp4',
    ogg: 'audio/ogg',
    oga: 'audio/ogg',
    opus: 'audio/ogg',
    wav: 'audio/wav',
    amr: 'audio/amr',
    mp4: 'video/mp4',
    '3gp': 'video/3gpp',
    webm: 'video/webm',
    mov: 'video/quicktime',
    txt: 'text/plain',
    csv: 'text/csv',
    json: 'application/json',
    zip: 'application/zip',
    doc: 'application/msword',
    docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    xls: 'application/vnd.ms-excel',
    xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/**
 * apps/lib/misc/determineFileType: the type comes from the bytes (file-type sniffing) and only then
 * from the name; whatever the app claims is ignored.
 */
export function determineFileType(buffer: Buffer, name: string): string {
    const b = buffer;
    const startsWith = (...bytes: number[]) => bytes.every((v, i) => b[i] === v);
    const ascii = (offset: number, text: string) =>
        b.length >= offset + text.length && b.toString('latin1', offset, offset + text.length) === text;
    if (startsWith(0xff, 0xd8, 0xff)) return 'image/jpeg';
    if (startsWith(0x89, 0x50, 0x4e, 0x47)) return 'image/png';
    if (ascii(0, 'GIF8')) return 'image/gif';
    if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'image/webp';
    if (ascii(0, 'RIFF') && ascii(8, 'WAVE')) return 'audio/wav';
    if (ascii(0, '%PDF')) return 'application/pdf';
    if (ascii(0, 'OggS')) return 'audio/ogg';
    if (ascii(0, 'ID3') || (b[0] === 0xff && (b[1] & 0xe0) === 0xe0 && b.length > 2)) return 'audio/mpeg';
    if (ascii(0, '#!AMR')) return 'audio/amr';
    if (ascii(4, 'ftyp')) {
        const brand = b.toString('latin1', 8, 12);
        if (brand.startsWith('M4A')) return 'audio/mp4';
        if (brand.startsWith('3gp')) return 'video/3gpp';
        if (brand.startsWith('qt')) return 'video/quicktime';
        return 'video/mp4';
    }
    if (startsWith(0x1a, 0x45, 0xdf, 0xa3)) return 'video/webm';
    if (startsWith(0x50, 0x4b, 0x03, 0x04)) {
        const ext = name.split('.').pop()?.toLowerCase() ?? '';
        return EXTENSION_TYPES[ext] && ['docx', 'xlsx', 'zip'].includes(ext) ? EXTENSION_TYPES[ext] : 'application/zip';
    }
    const ext = name.includes('.') ? name.split('.').pop()!.toLowerCase() : '';
    return EXTENSION_TYPES[ext] ?? 'application/octet-stream';
}
