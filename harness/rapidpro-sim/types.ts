/**
 * Plain record types of the RapidPro API simulator (see simulator.ts).
 *
 * API-shaped objects (SimMessage, SimBroadcast, SimFlowStart, SimContact, SimMedia minus `bytes`) have the field
 * names RapidPro's API v2 uses, so a test can compare them with what the app received.
 */

/** Rate limit scopes of RapidPro's API v2 (per workspace, shared by all tokens). */
export type RapidProScope = 'v2' | 'v2.contacts' | 'v2.messages';

export interface SimContactSeed {
    uuid: string;
    name?: string | null;
    /** ISO 639-3 code, e.g. 'eng', 'por', 'spa'. */
    language?: string | null;
    /** e.g. ['tel:+250788123123', 'whatsapp:250788123123']; the first one is the one messages go to. */
    urns?: string[];
    fields?: Record<string, string | null>;
    groups?: Array<{ uuid: string; name: string }>;
}

export interface SimFlowSeed {
    uuid: string;
    name?: string;
}

export interface RapidProSimulatorOptions {
    /** API token expected in `Authorization: Token <token>`. Default 'test-token'. */
    token?: string;
    /**
     * RapidPro release to mimic, e.g. '10.1.44'. Default '10.1.104'. Decides the defaults below:
     * text limit 640 before 10.1.45; no POST messages.json before 8.1.35 (405); no media.json before 8.1.68 (404) and
     * attachments then are `"<content-type>:<url>"` strings instead of media UUIDs.
     */
    version?: string;
    /** Longest `text` accepted (Unicode code points, as Python's len()). Default 4096, or 640 for version < 10.1.45. */
    maxTextLength?: number;
    /** Requests per hour allowed for each scope (v2, v2.contacts, v2.messages). Unset: no throttling. */
    rateLimitPerHour?: number;
    /**
     * The window `rateLimitPerHour` counts over, in ms (default one hour). A benchmark scales an hour of budget
     * down to a minute or so; Retry-After is then in real seconds of that window.
     */
    rateWindowMs?: number;
    /**
     * Contacts that exist. Unset: any UUID-shaped contact reference is accepted and the contact is created on first
     * use. Set: only these (plus those added with addContact() or created through contacts.json) exist, others get
     * RapidPro's 400 `No such object: <uuid>` (or 404 on contacts.json?uuid=).
     */
    knownContacts?: Array<string | SimContactSeed>;
    /** Keys of the workspace's contact fields. Default ['bridge_status', 'bridge_room']. */
    contactFields?: string[];
    /** Flows that exist. Unset: any UUID-shaped flow is accepted (named 'Flow <first 8 chars>'). */
    flows?: Array<string | SimFlowSeed>;
    /** Contact groups that exist. Unset: any group reference is accepted. */
    groups?: Array<{ uuid: string; name: string }>;
    /** Workspace flow languages; the first is the primary one (key of a plain-string broadcast text). Default ['eng']. */
    languages?: string[];
    /** Largest accepted upload in bytes. Default 25 MiB (RapidPro's Media.MAX_UPLOAD_SIZE). */
    maxUploadBytes?: number;
    /** Page size of list endpoints. Default 250 (RapidPro's PAGE_SIZE). */
    pageSize?: number;
    /** Clock in ms since epoch, for created_on values and the rate limit window. Default Date.now. */
    now?: () => number;
    /** Workspace details returned by workspace.json / org.json. */
    workspace?: { uuid?: string; name?: string; country?: string | null; timezone?: string };
    /** URN schemes whose channels have a customer-care window (see closeWindow). Default whatsapp, facebook, instagram. */
    windowSchemes?: string[];
    /** How long after the 201 a message that will fail turns `failed` (the channel's answer comes later). Default 20 ms. */
    failDelayMs?: number;
}

/** One part of a multipart/form-data body as recorded (file contents are not kept here; see SimMedia.bytes). */
export interface MultipartPartSummary {
    field: string;
    /** null for a plain (non-file) field */
    filename: string | null;
    contentType: string;
    size: number;
    /** value of a plain field */
    value?: string;
}

export type RecordedBodyType = 'none' | 'json' | 'invalid-json' | 'form' | 'multipart' | 'invalid-multipart' | 'text';

export type RecordedFault = 'fail' | 'delay' | 'drop' | 'drop-after-effect';

export interface RecordedRequest {
    /** 1-based arrival order */
    seq: number;
    method: string;
    /** path without the query string, e.g. '/api/v2/messages.json' */
    path: string;
    query: Record<string, string>;
    /** lower-cased header names */
    headers: Record<string, string>;
    bodyType: RecordedBodyType;
    /** parsed JSON, form fields, MultipartPartSummary[], raw text, or undefined */
    body: unknown;
    /** response status; 0 while unanswered and for dropped requests */
    status: number;
    /** parsed JSON response (or text) */
    responseBody: unknown;
    /** fault injected into this request, if any */
    fault: RecordedFault | null;
    /** arrival time, ms since epoch (wall clock) */
    time: number;
    /** when the response was written (or the connection dropped), ms since epoch */
    respondedAt: number | null;
}

export interface QuickReply {
    text: string;
    extra?: string;
}

/** An outgoing message RapidPro accepted (one per recipient). */
export interface SentMessage {
    /** 1-based order of acceptance */
    seq: number;
    via: 'messages' | 'broadcasts';
    /** contact UUID */
    contact: string | null;
    urn: string | null;
    /** text as RapidPro stored it (trimmed; for a translated broadcast the one for this contact) */
    text: string;
    /** media UUIDs as sent (or `<content-type>:<url>` strings in legacy mode) */
    attachments: string[];
    quickReplies: QuickReply[];
    /** uuid of the created message (via messages) or broadcast (via broadcasts) */
    uuid: string;
    time: number;
}

export interface SimMedia {
    uuid: string;
    content_type: string;
    url: string;
    /** cleaned name as RapidPro stores it */
    filename: string;
    size: number;
    /** filename as uploaded */
    originalFilename: string;
    bytes: Buffer;
    created_on: string;
}

export interface SimContact {
    uuid: string;
    name: string | null;
    status: 'active' | 'blocked' | 'stopped' | 'archived';
    language: string | null;
    urns: string[];
    groups: Array<{ uuid: string; name: string }>;
    notes: Array<{ text: string; created_on: string; created_by: { email: string; name: string } }>;
    /** every contact field key of the workspace, null when unset */
    fields: Record<string, string | null>;
    flow: { uuid: string; name: string } | null;
    created_on: string;
    modified_on: string;
    last_seen_on: string | null;
}

export interface SimAttachment {
    content_type: string;
    url: string;
}

/** A message as GET messages.json returns it. */
export interface SimMessage {
    uuid: string;
    id: number;
    contact: { uuid: string; name: string | null };
    urn: string | null;
    channel: { uuid: string; name: string } | null;
    direction: 'in' | 'out';
    type: 'text';
    status: string;
    archived: boolean;
    visibility: 'visible' | 'archived';
    text: string;
    labels: Array<{ uuid: string; name: string }>;
    flow: { uuid: string; name: string } | null;
    attachments: SimAttachment[];
    quick_replies: QuickReply[];
    created_on: string;
    sent_on: string | null;
    modified_on: string;
    media: string | null;
    broadcast: number | null;
}

export interface SeedMessage {
    direction: 'in' | 'out';
    text?: string;
    /** ISO time, Date or ms since epoch; default now (strictly after the previous message) */
    created_on?: string | Date | number;
    attachments?: Array<SimAttachment | string>;
    /** default 'handled' (in) / 'sent' (out) */
    status?: string;
    urn?: string | null;
    uuid?: string;
    flow?: { uuid: string; name: string } | null;
}

export interface SimBroadcast {
    uuid: string;
    id: number;
    status: string;
    progress: { total: number; started: number };
    urns: string[];
    contacts: Array<{ uuid: string; name: string | null }>;
    groups: Array<{ uuid: string; name: string }>;
    text: Record<string, string | null>;
    /** `<content-type>:<url>` strings per language, as RapidPro returns them */
    attachments: Record<string, string[]>;
    quick_replies: Record<string, QuickReply[]>;
    base_language: string;
    created_on: string;
}

export interface SimFlowStart {
    uuid: string;
    id: number;
    flow: { uuid: string; name: string };
    status: string;
    progress: { total: number; started: number };
    groups: Array<{ uuid: string; name: string }>;
    contacts: Array<{ uuid: string; name: string | null }>;
    /** URNs as posted (normalized); not part of RapidPro's response */
    urns: string[];
    /** null when none were posted */
    params: Record<string, unknown> | null;
    created_on: string;
    modified_on: string;
    extra: Record<string, unknown> | null;
    restart_participants: boolean;
    exclude_active: boolean;
}

export interface FailOptions {
    /** default 500 */
    status?: number;
    /** seconds, sent as Retry-After (default 1 for 429) */
    retryAfter?: number;
    /** response body: an object/array is sent as JSON, a string as text/html; default depends on the status */
    body?: unknown;
    /** only requests whose path matches (string: exact path or prefix ending in '/', or substring such as 'messages.json') */
    path?: string | RegExp;
}

export interface DelayOptions {
    path?: string | RegExp;
}

export interface DropOptions {
    /** true: the request takes effect, then the connection is destroyed before any response (a lost success) */
    afterEffect?: boolean;
    path?: string | RegExp;
}

export interface RapidProSimulator {
    /** base URL, e.g. http://127.0.0.1:41234 (no trailing slash) */
    readonly url: string;
    readonly port: number;
    readonly token: string;
    readonly version: string;
    readonly maxTextLength: number;
    /** every request under /api/, in arrival order */
    readonly requests: RecordedRequest[];
    /** accepted outgoing messages, in order */
    readonly sent: SentMessage[];
    /** uploaded media, in order */
    readonly media: SimMedia[];
    /** contacts by UUID */
    readonly contacts: Map<string, SimContact>;
    readonly flowStarts: SimFlowStart[];
    readonly broadcasts: SimBroadcast[];
    /** message history (seeded and sent), in insertion order */
    readonly messages: SimMessage[];
    /** connections destroyed because the simulator was down */
    readonly refusedConnections: number;
    readonly isDown: boolean;

    /** requests to paths containing `pathPart` (e.g. 'messages.json'), optionally of one method */
    requestsTo(pathPart: string, method?: string): RecordedRequest[];
    /** adds messages to a contact's history (the contact is created if needed) */
    seedMessages(contactUuid: string, messages: SeedMessage[]): SimMessage[];
    addContact(seed: string | SimContactSeed): SimContact;
    addFlow(flow: string | SimFlowSeed): void;
    /** the next n API calls (matching opts.path) fail with opts.status without taking effect */
    failNext(n: number, opts?: FailOptions): void;
    /** the responses of the next n API calls are delayed by ms (the calls take effect at once) */
    delayNext(n: number, ms: number, opts?: DelayOptions): void;
    /** the next n API calls get their connection destroyed without an answer */
    dropNext(n: number, opts?: DropOptions): void;
    /** down: every connection is destroyed at once (clients see a network error, not a hang) */
    setDown(down: boolean): void;
    setRateLimit(perHour: number | null): void;
    /**
     * Closes the contact's customer-care window: messages sent to it afterwards on a windowed scheme (its first URN;
     * `urn` replaces the contact's URNs, and creates the contact if unknown) get 201 `queued`, then turn `failed`.
     */
    closeWindow(contactUuid: string, urn?: string): void;
    /** The contact wrote again: messages to it go through. */
    openWindow(contactUuid: string): void;
    /** Turns a sent message `failed` now (false when no outgoing message has that uuid). */
    failMessage(uuid: string): boolean;
    /** The next n messages sent (messages.json or a broadcast's) are accepted, then turn `failed`. */
    failNextMessages(n?: number): void;
    /** Requests so far by `<METHOD> <endpoint>`, e.g. `{"GET messages": 2, "POST flow_starts": 1}`. */
    requestCounts(): Record<string, number>;
    /** clears all records, state (back to the options), faults, rate counters; comes back up */
    reset(): void;
    /** resolves once predicate(sim) is true (checked now and after every request/state change) */
    waitFor(predicate: (sim: RapidProSimulator) => boolean, timeoutMs?: number): Promise<void>;
    close(): Promise<void>;
}
