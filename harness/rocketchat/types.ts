/**
 * Documents of the emulated Rocket.Chat, in Rocket.Chat's own (MongoDB) shape. The bridges convert
 * them to the Apps-Engine shape the way Rocket.Chat's converters (apps/meteor/app/apps/server/converters)
 * do, so an app sees what it would see on a real server.
 */

export type UserStatus = 'online' | 'offline' | 'away' | 'busy';

export interface RcUser {
    _id: string;
    username: string;
    name: string;
    type: 'user' | 'app' | 'bot';
    roles: string[];
    active: boolean;
    status: UserStatus;
    statusConnection: UserStatus;
    /** Omnichannel availability: an agent takes chats only when `status !== 'offline'` and this is 'available'. */
    statusLivechat?: 'available' | 'not-available';
    emails: Array<{ address: string; verified: boolean }>;
    appId?: string;
    utcOffset: number;
    createdAt: Date;
    _updatedAt: Date;
    lastLogin?: Date;
    customFields?: Record<string, unknown>;
    settings?: { preferences?: { language?: string } };
}

export interface RcDepartment {
    _id: string;
    name: string;
    enabled: boolean;
    email: string;
    description?: string;
    numAgents: number;
    showOnRegistration: boolean;
    showOnOfflineForm: boolean;
    _updatedAt: Date;
    fallbackForwardDepartment?: string;
    /** Forwarded chats are queued here even when no agent is online (L/Helper.ts forwardRoomToDepartment). */
    allowReceiveForwardOffline?: boolean;
    /** closeRoom.ts resolveChatTags: a close needs tags; the department's chatClosingTags are added. */
    requestTagBeforeClosingChat?: boolean;
    chatClosingTags?: string[];
}

/** LivechatCustomField document (rocketchat_livechat_custom_field). */
export interface RcCustomField {
    _id: string;
    label: string;
    scope: 'visitor' | 'room';
    visibility: string;
    regexp?: string;
    required?: boolean;
    type?: string;
    defaultValue?: string;
    options?: string;
    public?: boolean;
}

export interface RcDepartmentAgent {
    agentId: string;
    username: string;
    departmentId: string;
    /** How many chats the routing gave this agent (Auto_Selection picks the lowest). */
    count: number;
    order: number;
}

export interface RcVisitor {
    _id: string;
    username: string;
    name?: string;
    token: string;
    department?: string;
    phone?: Array<{ phoneNumber: string }>;
    visitorEmails?: Array<{ address: string }>;
    livechatData?: Record<string, unknown>;
    status: string;
    ts: Date;
    _updatedAt: Date;
    activity?: string[];
    disabled?: boolean;
}

export interface RcOmnichannelSource {
    type: 'widget' | 'email' | 'sms' | 'app' | 'api' | 'other';
    id?: string;
    alias?: string;
    label?: string;
    sidebarIcon?: string;
    defaultIcon?: string;
    destination?: string;
}

export interface RcRoom {
    _id: string;
    t: 'l' | 'c' | 'p' | 'd';
    name?: string;
    fname?: string;
    ts: Date;
    lm?: Date;
    _updatedAt: Date;
    msgs: number;
    usersCount: number;
    u?: { _id: string; username: string; name?: string };
    uids?: string[];
    usernames?: string[];
    default?: boolean;
    ro?: boolean;
    sysMes?: boolean;
    description?: string;
    customFields?: Record<string, unknown>;
    // ---- livechat (t === 'l') ----
    v?: { _id: string; username: string; token: string; status: string };
    departmentId?: string;
    servedBy?: { _id: string; username: string; ts: Date };
    responseBy?: { _id: string; username: string; firstResponseTs?: Date; lastMessageTs?: Date };
    open?: boolean;
    waitingResponse?: boolean;
    closedAt?: Date;
    closedBy?: { _id: string; username?: string };
    closer?: 'user' | 'visitor';
    chatDuration?: number;
    source?: RcOmnichannelSource;
    livechatData?: Record<string, unknown>;
    queuedAt?: Date;
    /** closeRoom.ts: tags stored with the close data (room tags + the department's chatClosingTags). */
    tags?: string[];
    serviceTimeDuration?: number;
    /** Not a Rocket.Chat field: the comment given on close (Rocket.Chat keeps it in the livechat-close message). */
    closeComment?: string;
}

export interface RcInquiry {
    _id: string;
    rid: string;
    status: 'ready' | 'queued' | 'taken';
    department?: string;
    v: { _id: string; username: string; token: string; status: string };
    ts: Date;
    defaultAgent?: { agentId: string; username: string };
}

export interface RcMessageFile {
    _id: string;
    name: string;
    type: string;
    size?: number;
}

export interface RcMessage {
    _id: string;
    rid: string;
    msg: string;
    ts: Date;
    _updatedAt: Date;
    u: { _id: string; username: string; name?: string };
    /** System message type (livechat-started, uj, livechat-close, ...). Absent for normal messages. */
    t?: string;
    /** Present on messages from a livechat visitor (the visitor's token). */
    token?: string;
    alias?: string;
    avatar?: string;
    emoji?: string;
    groupable?: boolean;
    attachments?: Array<Record<string, unknown>>;
    file?: RcMessageFile;
    files?: RcMessageFile[];
    editedAt?: Date;
    editedBy?: { _id: string; username: string };
    customFields?: Record<string, unknown>;
    blocks?: unknown[];
    parseUrls?: boolean;
    tmid?: string;
    [extra: string]: unknown;
}

export interface RcUpload {
    _id: string;
    name: string;
    type: string;
    size: number;
    extension: string;
    description?: string;
    rid: string;
    userId?: string;
    visitorToken?: string;
    store: 'GridFS:Uploads';
    complete: boolean;
    uploading: boolean;
    progress: number;
    etag: string;
    path: string;
    token: string;
    url: string;
    uploadedAt: Date;
    _updatedAt: Date;
    buffer: Buffer;
}

export interface RcSetting {
    _id: string;
    type: 'string' | 'boolean' | 'int' | 'select' | 'code' | 'password';
    value: unknown;
    packageValue: unknown;
    public: boolean;
    hidden?: boolean;
}
