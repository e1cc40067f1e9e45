import { randomId, tick } from '../engine/util';
import type {
    RcCustomField,
    RcDepartment,
    RcDepartmentAgent,
    RcInquiry,
    RcMessage,
    RcRoom,
    RcSetting,
    RcUpload,
    RcUser,
    RcVisitor,
} from './types';

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

/**
 * The emulated Rocket.Chat's collections (users, departments and their agents, visitors, rooms, inquiries,
 * messages, uploads, settings, custom fields) and the lookups every other part uses.
 */
export class RcStore {
    public readonly options: Required<Omit<RocketChatOptions, 'serverSettings'>>;

    public readonly users = new Map<string, RcUser>();

    public readonly departments = new Map<string, RcDepartment>();

    public readonly departmentAgents: RcDepartmentAgent[] = [];

    public readonly visitorsById = new Map<string, RcVisitor>();

    public readonly roomsById = new Map<string, RcRoom>();

    public readonly inquiries = new Map<string, RcInquiry>();

    public readonly messagesById = new MessagesByRoom();

    public readonly uploads = new Map<string, RcUpload>();

    public readonly settings = new Map<string, RcSetting>();

    public readonly customFields = new Map<string, RcCustomField>();

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
        return this.messagesById.ofRoom(roomId);
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

    /** One simulated DB round trip (see RocketChatOptions.dbLatencyMs). */
    protected roundTrip(): Promise<void> {
        const ms = this.options.dbLatencyMs;
        return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : tick();
    }
}

/**
 * Messages by id, also indexed by room: the server reads a room's messages through its index on
 * `rid` (packages/models/src/models/Messages.ts, `{ rid: 1, ts: 1, _updatedAt: 1 }`), not by scanning every room's.
 * Same answers as filtering all messages (insertion order per room); a message never changes room.
 */
export class MessagesByRoom extends Map<string, RcMessage> {
    private readonly rooms = new Map<string, Map<string, RcMessage>>();

    override set(id: string, message: RcMessage): this {
        super.set(id, message);
        // Map's constructor calls set before the field exists.
        if (this.rooms) {
            let room = this.rooms.get(message.rid);
            if (!room) {
                room = new Map();
                this.rooms.set(message.rid, room);
            }
            room.set(id, message);
        }
        return this;
    }

    override delete(id: string): boolean {
        const message = this.get(id);
        if (message) {
            this.rooms.get(message.rid)?.delete(id);
        }
        return super.delete(id);
    }

    override clear(): void {
        this.rooms.clear();
        super.clear();
    }

    ofRoom(roomId: string): RcMessage[] {
        const room = this.rooms.get(roomId);
        return room ? [...room.values()] : [];
    }
}
