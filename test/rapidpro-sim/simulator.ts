/**
 * RapidPro API v2 simulator for tests: a real HTTP server on 127.0.0.1 (random port) that answers like RapidPro
 * (nyaruka/rapidpro, DRF 3.15) for the endpoints the RapidPro Bridge uses, records every request, and lets a test
 * inject faults (errors, throttling, delays, dropped connections, being down).
 *
 *   const sim = await startRapidProSimulator();
 *   // point the app at sim.url with token sim.token ...
 *   await sim.waitFor((s) => s.sent.length === 1);
 *   await sim.close();
 *
 * Behaviour notes (RapidPro facts, simplifications) are in test/rapidpro-sim/README.md.
 */
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { URL, URLSearchParams } from 'node:url';
import busboy from 'busboy';

import {
    type ErrorDetail,
    type FieldFn,
    LANGUAGE_ERROR,
    SKIP,
    ValidationError,
    booleanField,
    charField,
    dictField,
    isLanguageCode,
    isPlainObject,
    isUuid,
    jsonField,
    listField,
    manyField,
    normalizeUrn,
    normalizeUuid,
    pyFloat,
    pyType,
    pythonJsonLength,
    relatedField,
    runSerializer,
    urnItem,
    validateChar,
    validateDict,
    validateList,
    validateMany,
} from './fields';
import type {
    DelayOptions,
    DropOptions,
    FailOptions,
    MultipartPartSummary,
    QuickReply,
    RapidProScope,
    RapidProSimulator,
    RapidProSimulatorOptions,
    RecordedBodyType,
    RecordedRequest,
    SeedMessage,
    SentMessage,
    SimAttachment,
    SimBroadcast,
    SimContact,
    SimContactSeed,
    SimFlowSeed,
    SimFlowStart,
    SimMedia,
    SimMessage,
} from './types';

export * from './types';
export { codePointLength } from './fields';

export const DEFAULT_TOKEN = 'test-token';
export const DEFAULT_VERSION = '10.1.104';
export const DEFAULT_CONTACT_FIELDS = ['bridge_status', 'bridge_room'];
export const MAX_UPLOAD_BYTES = 25 * 1024 * 1024;
export const MEDIA_CONTENT_TYPES = [
    'image/apng',
    'image/avif',
    'image/gif',
    'image/jpeg',
    'image/png',
    'image/webp',
    'audio/*',
    'video/*',
    'application/pdf',
];

const HOUR_MS = 3600 * 1000;
const MAX_JSON_BODY = 10 * 1024 * 1024;
const CHANNEL = { uuid: '9a8b001e-a913-486c-80f4-1356e23f582e', name: 'Simulated Channel' };
const API_USER = { email: 'api@example.com', name: 'API User' };

// ------------------------------------------------------------------------------------------------------------------
// small helpers
// ------------------------------------------------------------------------------------------------------------------

function parseVersion(v: string): number[] {
    return v.split(/[.-]/).map((p) => parseInt(p, 10) || 0);
}

/** a >= b for dotted versions */
function versionAtLeast(a: string, b: string): boolean {
    const x = parseVersion(a);
    const y = parseVersion(b);
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
        const d = (x[i] ?? 0) - (y[i] ?? 0);
        if (d !== 0) return d > 0;
    }
    return true;
}

/** RapidPro's datetime format: UTC with microseconds, e.g. 2016-01-06T15:33:00.813162Z */
export function formatMicros(us: number): string {
    const ms = Math.floor(us / 1000);
    const micro = us - ms * 1000;
    return `${new Date(ms).toISOString().slice(0, 23) + String(micro).padStart(3, '0')}Z`;
}

/**
 * Parses an ISO 8601 time like python iso8601 (date only, or date and time; no zone = UTC) to microseconds since the
 * epoch; null when it cannot (RapidPro then returns an empty list rather than an error).
 */
export function parseIsoMicros(s: string): number | null {
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(s.trim());
    if (!m) return null;
    const [, y, mo, d, h, mi, sec, frac, tz] = m;
    let ms = Date.UTC(+y, +mo - 1, +d, h ? +h : 0, mi ? +mi : 0, sec ? +sec : 0);
    if (Number.isNaN(ms)) return null;
    if (tz && tz.toUpperCase() !== 'Z') {
        const sign = tz[0] === '-' ? -1 : 1;
        const digits = tz.slice(1).replace(':', '');
        const offMin = parseInt(digits.slice(0, 2), 10) * 60 + (digits.length > 2 ? parseInt(digits.slice(2), 10) : 0);
        ms -= sign * offMin * 60000;
    }
    const micros = frac ? parseInt(`${frac}000000`.slice(0, 6), 10) : 0;
    return ms * 1000 + micros;
}

function toMicros(v: string | Date | number): number {
    if (typeof v === 'number') return Math.round(v * 1000);
    if (v instanceof Date) return v.getTime() * 1000;
    const p = parseIsoMicros(v);
    if (p === null) throw new Error(`rapidpro-sim: cannot parse time ${v}`);
    return p;
}

/** query parameters as an object; the last value of a repeated name wins (as Django's QueryDict.get) */
function searchParamsObject(params: URLSearchParams): Record<string, string> {
    const out: Record<string, string> = {};
    params.forEach((value, key) => {
        out[key] = value;
    });
    return out;
}

function matchesPath(path: string, filter: string | RegExp | undefined): boolean {
    if (filter === undefined) return true;
    if (filter instanceof RegExp) return filter.test(path);
    if (filter.endsWith('/')) return path.startsWith(filter);
    return path === filter || path.includes(filter);
}

function attachmentFromString(s: string): SimAttachment {
    const i = s.indexOf(':');
    return i > 0 ? { content_type: s.slice(0, i), url: s.slice(i + 1) } : { content_type: 'application/octet-stream', url: s };
}

function globMatch(value: string, pattern: string): boolean {
    if (pattern.endsWith('/*')) return value.startsWith(pattern.slice(0, -1)) && value.length > pattern.length - 1;
    return value === pattern;
}

const EXTENSIONS: Record<string, string> = {
    'image/jpeg': '.jpg',
    'image/png': '.png',
    'image/gif': '.gif',
    'image/webp': '.webp',
    'image/apng': '.apng',
    'image/avif': '.avif',
    'audio/mpeg': '.mp3',
    'audio/mp4': '.m4a',
    'audio/ogg': '.oga',
    'audio/wav': '.wav',
    'audio/x-wav': '.wav',
    'audio/webm': '.weba',
    'audio/aac': '.aac',
    'video/mp4': '.mp4',
    'video/quicktime': '.mov',
    'video/webm': '.webm',
    'video/3gpp': '.3gp',
    'application/pdf': '.pdf',
};

/** RapidPro's Media.clean_name */
export function cleanMediaFilename(filename: string, contentType: string): string {
    const name = filename.split(/[\\/]/).pop() ?? '';
    // os.path.splitext: the extension starts at the last dot that has a non-dot character before it
    const dot = name.lastIndexOf('.');
    const split = dot > 0 && /[^.]/.test(name.slice(0, dot));
    let base = split ? name.slice(0, dot) : name;
    let ext = split ? name.slice(dot) : '';
    base =
        Array.from(base.replace(/[^\p{L}\p{N}_\-[\]() ]/gu, '').trim())
            .slice(0, 255)
            .join('') || 'file';
    if (!ext || ext.length < 2 || !/^[\p{L}\p{N}]+$/u.test(ext.slice(1))) {
        ext = EXTENSIONS[contentType] ?? '.bin';
    }
    return base + ext;
}

// ------------------------------------------------------------------------------------------------------------------
// request plumbing types
// ------------------------------------------------------------------------------------------------------------------

interface UploadedFile {
    field: string;
    filename: string;
    contentType: string;
    size: number;
    bytes: Buffer | null;
}

interface ParsedBody {
    kind: RecordedBodyType;
    /** JSON value, or form/multipart plain fields */
    data: unknown;
    files: UploadedFile[];
    recorded: unknown;
    error?: string;
    tooLarge?: boolean;
    contentType: string;
}

interface Reply {
    status: number;
    json?: unknown;
    text?: string;
    contentType?: string;
    headers?: Record<string, string>;
    raw?: Buffer;
}

interface Ctx {
    method: string;
    path: string;
    query: Record<string, string>;
    body: ParsedBody;
    endpoint: string;
}

interface FaultEntry {
    kind: 'fail' | 'drop';
    remaining: number;
    path?: string | RegExp;
    fail?: FailOptions;
    afterEffect?: boolean;
}

interface DelayEntry {
    remaining: number;
    ms: number;
    path?: string | RegExp;
}

interface Waiter {
    check: () => void;
    reject: (e: Error) => void;
}

interface Endpoint {
    scope: RapidProScope;
    methods: string[];
    since?: string;
}

const ENDPOINTS: Record<string, Endpoint> = {
    messages: { scope: 'v2.messages', methods: ['GET', 'POST'] },
    broadcasts: { scope: 'v2', methods: ['GET', 'POST'] },
    media: { scope: 'v2', methods: ['POST'], since: '8.1.68' },
    contacts: { scope: 'v2.contacts', methods: ['GET', 'POST'] },
    flow_starts: { scope: 'v2', methods: ['GET', 'POST'] },
    workspace: { scope: 'v2', methods: ['GET'] },
    org: { scope: 'v2', methods: ['GET'] },
};

function json(status: number, body: unknown, headers?: Record<string, string>): Reply {
    return { status, json: body, headers };
}

function detail(status: number, message: string, headers?: Record<string, string>): Reply {
    return json(status, { detail: message }, headers);
}

function throttledDetail(wait: number | null): string {
    if (wait === null) return 'Request was throttled.';
    return `Request was throttled. Expected available in ${wait} second${wait === 1 ? '' : 's'}.`;
}

// ------------------------------------------------------------------------------------------------------------------
// the simulator
// ------------------------------------------------------------------------------------------------------------------

class Simulator implements RapidProSimulator {
    readonly requests: RecordedRequest[] = [];
    readonly sent: SentMessage[] = [];
    readonly media: SimMedia[] = [];
    readonly contacts = new Map<string, SimContact>();
    readonly flowStarts: SimFlowStart[] = [];
    readonly broadcasts: SimBroadcast[] = [];
    readonly messages: SimMessage[] = [];

    readonly token: string;
    readonly version: string;
    readonly maxTextLength: number;
    url = '';
    port = 0;

    private server: http.Server;
    private sockets = new Set<Socket>();
    private down = false;
    private closed = false;
    private refused = 0;

    private faults: FaultEntry[] = [];
    private delays: DelayEntry[] = [];
    private sleepers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
    private waiters = new Set<Waiter>();

    private rateLimit: number | null;
    private hits: Record<RapidProScope, number[]> = { v2: [], 'v2.contacts': [], 'v2.messages': [] };

    private flows = new Map<string, { uuid: string; name: string }>();
    private groups = new Map<string, { uuid: string; name: string }>();
    private micros = new WeakMap<object, number>();
    private lastMicros = 0;
    private nextId = 1;
    private seq = 0;
    private sentSeq = 0;
    private urnCounter = 0;

    private readonly autoContacts: boolean;
    private readonly autoFlows: boolean;
    private readonly autoGroups: boolean;
    private readonly contactFields: string[];
    private readonly languages: string[];
    private readonly maxUploadBytes: number;
    private readonly pageSize: number;
    private readonly nowMs: () => number;
    private readonly legacyAttachments: boolean;
    private readonly workspace: { uuid: string; name: string; country: string | null; timezone: string };

    constructor(private readonly options: RapidProSimulatorOptions) {
        this.token = options.token ?? DEFAULT_TOKEN;
        this.version = options.version ?? DEFAULT_VERSION;
        this.maxTextLength = options.maxTextLength ?? (versionAtLeast(this.version, '10.1.45') ? 4096 : 640);
        this.rateLimit = options.rateLimitPerHour ?? null;
        this.autoContacts = options.knownContacts === undefined;
        this.autoFlows = options.flows === undefined;
        this.autoGroups = options.groups === undefined;
        this.contactFields = [...(options.contactFields ?? DEFAULT_CONTACT_FIELDS)];
        this.languages = options.languages?.length ? [...options.languages] : ['eng'];
        this.maxUploadBytes = options.maxUploadBytes ?? MAX_UPLOAD_BYTES;
        this.pageSize = options.pageSize ?? 250;
        this.nowMs = options.now ?? Date.now;
        this.legacyAttachments = !versionAtLeast(this.version, '8.1.68');
        this.workspace = {
            uuid: options.workspace?.uuid ?? '6a44ca78-a4c2-4862-a7d3-2932f9b3a7c3',
            name: options.workspace?.name ?? 'Simulated Workspace',
            country: options.workspace?.country === undefined ? 'RW' : options.workspace.country,
            timezone: options.workspace?.timezone ?? 'Africa/Kigali',
        };
        this.initState();

        this.server = http.createServer((req, res) => {
            this.handle(req, res).catch(() => {
                if (!res.headersSent) {
                    try {
                        res.writeHead(500, { 'Content-Type': 'text/html; charset=utf-8' });
                        res.end('Server Error. Site administrators have been notified.');
                    } catch {
                        req.socket.destroy();
                    }
                }
            });
        });
        this.server.on('connection', (socket: Socket) => {
            if (this.down || this.closed) {
                this.refused++;
                socket.destroy();
                return;
            }
            this.sockets.add(socket);
            socket.on('close', () => this.sockets.delete(socket));
        });
        this.server.on('clientError', (_err: Error, socket: Socket) => socket.destroy());
    }

    async listen(): Promise<void> {
        await new Promise<void>((resolve, reject) => {
            this.server.once('error', reject);
            this.server.listen(0, '127.0.0.1', () => {
                this.server.off('error', reject);
                resolve();
            });
        });
        const addr = this.server.address();
        if (addr === null || typeof addr === 'string') throw new Error('rapidpro-sim: no address');
        this.port = addr.port;
        this.url = `http://127.0.0.1:${addr.port}`;
    }

    get refusedConnections(): number {
        return this.refused;
    }

    get isDown(): boolean {
        return this.down;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // state
    // ---------------------------------------------------------------------------------------------------------------

    private initState(): void {
        for (const c of this.options.knownContacts ?? []) this.addContact(c);
        for (const f of this.options.flows ?? []) this.addFlow(f);
        for (const g of this.options.groups ?? []) this.groups.set(g.uuid, { uuid: g.uuid, name: g.name });
    }

    private tick(): number {
        const t = Math.max(Math.floor(this.nowMs() * 1000), this.lastMicros + 1);
        this.lastMicros = t;
        return t;
    }

    private makeContact(seed: SimContactSeed): SimContact {
        const now = formatMicros(this.tick());
        const fields: Record<string, string | null> = {};
        for (const k of this.contactFields) fields[k] = null;
        Object.assign(fields, seed.fields ?? {});
        let urns = seed.urns ? seed.urns.map((u) => normalizeUrn(u) ?? u) : undefined;
        if (!urns) {
            this.urnCounter++;
            urns = [`tel:+1555${String(this.urnCounter).padStart(7, '0')}`];
        }
        return {
            uuid: normalizeUuid(seed.uuid),
            name: seed.name ?? null,
            status: 'active',
            language: seed.language ?? null,
            urns,
            groups: seed.groups ? seed.groups.map((g) => ({ ...g })) : [],
            notes: [],
            fields,
            flow: null,
            created_on: now,
            modified_on: now,
            last_seen_on: null,
        };
    }

    addContact(seed: string | SimContactSeed): SimContact {
        const s = typeof seed === 'string' ? { uuid: seed } : seed;
        if (!isUuid(s.uuid)) throw new Error(`rapidpro-sim: contact uuid must be a UUID: ${s.uuid}`);
        const c = this.makeContact(s);
        this.contacts.set(c.uuid, c);
        this.notify();
        return c;
    }

    addFlow(flow: string | SimFlowSeed): void {
        const f = typeof flow === 'string' ? { uuid: flow } : flow;
        const uuid = normalizeUuid(f.uuid);
        this.flows.set(uuid, { uuid, name: f.name ?? `Flow ${uuid.slice(0, 8)}` });
    }

    requestsTo(pathPart: string, method?: string): RecordedRequest[] {
        return this.requests.filter((r) => r.path.includes(pathPart) && (!method || r.method === method.toUpperCase()));
    }

    seedMessages(contactUuid: string, msgs: SeedMessage[]): SimMessage[] {
        const uuid = normalizeUuid(contactUuid);
        const contact = this.contacts.get(uuid) ?? this.addContact(uuid);
        const out: SimMessage[] = [];
        for (const m of msgs) {
            let micros: number;
            if (m.created_on !== undefined) {
                micros = toMicros(m.created_on);
                this.lastMicros = Math.max(this.lastMicros, micros);
            } else {
                micros = this.tick();
            }
            const attachments = (m.attachments ?? []).map((a) => (typeof a === 'string' ? attachmentFromString(a) : { ...a }));
            const status = m.status ?? (m.direction === 'in' ? 'handled' : 'sent');
            const at = formatMicros(micros);
            const msg: SimMessage = {
                uuid: m.uuid ?? randomUUID(),
                id: this.nextId++,
                contact: { uuid: contact.uuid, name: contact.name },
                urn: m.urn === undefined ? (contact.urns[0] ?? null) : m.urn,
                channel: { ...CHANNEL },
                direction: m.direction,
                type: 'text',
                status,
                archived: false,
                visibility: 'visible',
                text: m.text ?? '',
                labels: [],
                flow: m.flow ?? null,
                attachments,
                quick_replies: [],
                created_on: at,
                sent_on: m.direction === 'out' && ['sent', 'delivered', 'read'].includes(status) ? at : null,
                modified_on: at,
                media: attachments.length ? `${attachments[0].content_type}:${attachments[0].url}` : null,
                broadcast: null,
            };
            this.micros.set(msg, micros);
            this.messages.push(msg);
            out.push(msg);
        }
        this.notify();
        return out;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // faults and control
    // ---------------------------------------------------------------------------------------------------------------

    failNext(n: number, opts: FailOptions = {}): void {
        if (n > 0) this.faults.push({ kind: 'fail', remaining: n, path: opts.path, fail: opts });
    }

    dropNext(n: number, opts: DropOptions = {}): void {
        if (n > 0) this.faults.push({ kind: 'drop', remaining: n, path: opts.path, afterEffect: !!opts.afterEffect });
    }

    delayNext(n: number, ms: number, opts: DelayOptions = {}): void {
        if (n > 0) this.delays.push({ remaining: n, ms, path: opts.path });
    }

    setDown(down: boolean): void {
        // New connections are destroyed on accept; a request arriving on a kept-alive connection is destroyed on arrival
        // (idle connections are not closed here, so no client races a close when the simulator comes back up).
        this.down = down;
        this.notify();
    }

    setRateLimit(perHour: number | null): void {
        this.rateLimit = perHour;
    }

    reset(): void {
        this.requests.length = 0;
        this.sent.length = 0;
        this.media.length = 0;
        this.contacts.clear();
        this.flowStarts.length = 0;
        this.broadcasts.length = 0;
        this.messages.length = 0;
        this.flows.clear();
        this.groups.clear();
        this.faults = [];
        this.delays = [];
        this.hits = { v2: [], 'v2.contacts': [], 'v2.messages': [] };
        this.rateLimit = this.options.rateLimitPerHour ?? null;
        this.down = false;
        this.refused = 0;
        this.seq = 0;
        this.sentSeq = 0;
        this.urnCounter = 0;
        this.initState();
        this.notify();
    }

    waitFor(predicate: (sim: RapidProSimulator) => boolean, timeoutMs = 5000): Promise<void> {
        return new Promise<void>((resolve, reject) => {
            let done = false;
            const finish = (err?: Error): void => {
                if (done) return;
                done = true;
                clearTimeout(timer);
                this.waiters.delete(waiter);
                if (err) reject(err);
                else resolve();
            };
            const waiter: Waiter = {
                check: () => {
                    try {
                        if (predicate(this)) finish();
                    } catch (e) {
                        finish(e instanceof Error ? e : new Error(String(e)));
                    }
                },
                reject: (e) => finish(e),
            };
            const timer = setTimeout(
                () => finish(new Error(`rapidpro-sim: waitFor timed out after ${timeoutMs} ms (${this.requests.length} requests seen)`)),
                timeoutMs,
            );
            this.waiters.add(waiter);
            waiter.check();
        });
    }

    private notify(): void {
        for (const w of [...this.waiters]) w.check();
    }

    async close(): Promise<void> {
        if (this.closed) return;
        this.closed = true;
        for (const s of this.sleepers) {
            clearTimeout(s.timer);
            s.resolve();
        }
        this.sleepers.clear();
        for (const w of [...this.waiters]) w.reject(new Error('rapidpro-sim: closed'));
        for (const s of this.sockets) s.destroy();
        this.sockets.clear();
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }

    private sleep(ms: number): Promise<void> {
        return new Promise<void>((resolve) => {
            const entry = {
                timer: setTimeout(() => {
                    this.sleepers.delete(entry);
                    resolve();
                }, ms),
                resolve,
            };
            this.sleepers.add(entry);
        });
    }

    private takeFault(path: string): FaultEntry | null {
        const f = this.faults.find((x) => x.remaining > 0 && matchesPath(path, x.path));
        if (!f) return null;
        f.remaining--;
        this.faults = this.faults.filter((x) => x.remaining > 0);
        return f;
    }

    private takeDelay(path: string): number | null {
        const d = this.delays.find((x) => x.remaining > 0 && matchesPath(path, x.path));
        if (!d) return null;
        d.remaining--;
        this.delays = this.delays.filter((x) => x.remaining > 0);
        return d.ms;
    }

    private failReply(o: FailOptions): Reply {
        const status = o.status ?? 500;
        const headers: Record<string, string> = {};
        const retryAfter = o.retryAfter ?? (status === 429 ? 1 : undefined);
        if (retryAfter !== undefined) headers['Retry-After'] = String(retryAfter);
        if (o.body !== undefined) {
            if (typeof o.body === 'string') return { status, text: o.body, contentType: 'text/html; charset=utf-8', headers };
            return { status, json: o.body, headers };
        }
        if (status === 429) return detail(429, throttledDetail(retryAfter ?? null), headers);
        if (status === 500) {
            return {
                status,
                text: 'Server Error. Site administrators have been notified.',
                contentType: 'text/html; charset=utf-8',
                headers,
            };
        }
        if (status >= 500) {
            const title = `${status} ${http.STATUS_CODES[status] ?? 'Error'}`;
            return {
                status,
                text: `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`,
                contentType: 'text/html',
                headers,
            };
        }
        if (status === 400) return json(400, { non_field_errors: ['Simulated failure'] }, headers);
        if (status === 401 || status === 403) return detail(status, 'Invalid token', headers);
        if (status === 404) return detail(404, 'Not found.', headers);
        return detail(status, 'Simulated failure', headers);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // HTTP
    // ---------------------------------------------------------------------------------------------------------------

    private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        if (this.down || this.closed) {
            this.refused++;
            req.socket.destroy();
            return;
        }
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        const method = (req.method ?? 'GET').toUpperCase();
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) {
            if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
        }
        const record: RecordedRequest = {
            seq: ++this.seq,
            method,
            path: url.pathname,
            query: searchParamsObject(url.searchParams),
            headers,
            bodyType: 'none',
            body: undefined,
            status: 0,
            responseBody: undefined,
            fault: null,
            time: Date.now(),
            respondedAt: null,
        };
        this.requests.push(record);

        let body: ParsedBody;
        try {
            body = await this.readBody(req);
        } catch {
            record.respondedAt = Date.now();
            req.socket.destroy();
            this.notify();
            return;
        }
        record.bodyType = body.kind;
        record.body = body.recorded;
        this.notify();

        const drop = (): void => {
            record.respondedAt = Date.now();
            req.socket.destroy();
            this.notify();
        };
        if (this.down || this.closed) return drop();

        let reply: Reply;
        if (!url.pathname.startsWith('/api/')) {
            reply = this.serveMedia(method, url.pathname);
        } else {
            const fault = this.takeFault(url.pathname);
            if (fault && fault.kind === 'drop' && !fault.afterEffect) {
                record.fault = 'drop';
                return drop();
            }
            if (fault && fault.kind === 'fail') {
                record.fault = 'fail';
                reply = this.failReply(fault.fail ?? {});
            } else {
                reply = this.dispatch({ method, path: url.pathname, query: record.query, body, endpoint: '' }, req);
            }
            if (fault && fault.kind === 'drop') {
                record.fault = 'drop-after-effect';
                return drop();
            }
            const delay = this.takeDelay(url.pathname);
            if (delay !== null) {
                record.fault = record.fault ?? 'delay';
                await this.sleep(delay);
                if (this.closed || this.down || req.socket.destroyed) return drop();
            }
        }

        const outHeaders: Record<string, string> = { ...(reply.headers ?? {}) };
        let payload: Buffer;
        if (reply.raw) {
            payload = reply.raw;
            outHeaders['Content-Type'] = reply.contentType ?? 'application/octet-stream';
            record.responseBody = `<${reply.raw.length} bytes>`;
        } else if (reply.text !== undefined) {
            payload = Buffer.from(reply.text, 'utf8');
            outHeaders['Content-Type'] = reply.contentType ?? 'text/plain; charset=utf-8';
            record.responseBody = reply.text;
        } else if (reply.json !== undefined) {
            payload = Buffer.from(JSON.stringify(reply.json), 'utf8');
            outHeaders['Content-Type'] = 'application/json';
            record.responseBody = reply.json;
        } else {
            payload = Buffer.alloc(0);
        }
        outHeaders['Content-Length'] = String(payload.length);
        record.status = reply.status;
        record.respondedAt = Date.now();
        res.writeHead(reply.status, outHeaders);
        res.end(method === 'HEAD' ? undefined : payload);
        this.notify();
    }

    private readBody(req: http.IncomingMessage): Promise<ParsedBody> {
        const contentType = (req.headers['content-type'] ?? '').toString();
        const lower = contentType.toLowerCase();
        if (lower.startsWith('multipart/form-data')) return this.readMultipart(req, contentType);
        return new Promise<ParsedBody>((resolve, reject) => {
            const chunks: Buffer[] = [];
            let size = 0;
            let finished = false;
            req.on('data', (c: Buffer) => {
                size += c.length;
                if (size <= MAX_JSON_BODY) chunks.push(c);
            });
            req.on('end', () => {
                finished = true;
                resolve(this.parseSimpleBody(lower, contentType, Buffer.concat(chunks), size));
            });
            req.on('error', (e) => reject(e));
            req.on('close', () => {
                if (!finished) reject(new Error('aborted'));
            });
        });
    }

    private parseSimpleBody(lower: string, contentType: string, raw: Buffer, size: number): ParsedBody {
        const base = { files: [] as UploadedFile[], contentType };
        if (size === 0) return { ...base, kind: 'none', data: undefined, recorded: undefined };
        if (size > MAX_JSON_BODY) return { ...base, kind: 'text', data: undefined, recorded: `<${size} bytes>`, tooLarge: true };
        const text = raw.toString('utf8');
        if (/^application\/json\s*(;|$)/.test(lower)) {
            try {
                const data: unknown = JSON.parse(text);
                return { ...base, kind: 'json', data, recorded: data };
            } catch (e) {
                return {
                    ...base,
                    kind: 'invalid-json',
                    data: undefined,
                    recorded: text,
                    error: e instanceof Error ? e.message : String(e),
                };
            }
        }
        if (/^application\/x-www-form-urlencoded\s*(;|$)/.test(lower)) {
            const data = searchParamsObject(new URLSearchParams(text));
            return { ...base, kind: 'form', data, recorded: data };
        }
        return { ...base, kind: 'text', data: undefined, recorded: text };
    }

    private readMultipart(req: http.IncomingMessage, contentType: string): Promise<ParsedBody> {
        return new Promise<ParsedBody>((resolve, reject) => {
            const parts: MultipartPartSummary[] = [];
            const fields: Record<string, string> = {};
            const files: Array<UploadedFile & { chunks: Buffer[] | null }> = [];
            let settled = false;
            const invalid = (message: string): void => {
                if (settled) return;
                settled = true;
                req.resume();
                req.once('end', () =>
                    resolve({ kind: 'invalid-multipart', data: undefined, files: [], recorded: parts, error: message, contentType }),
                );
            };
            let bb: busboy.Busboy;
            try {
                bb = busboy({ headers: req.headers, defParamCharset: 'utf8' });
            } catch (e) {
                invalid(e instanceof Error ? e.message : String(e));
                return;
            }
            bb.on('file', (name, stream, info) => {
                const summary: MultipartPartSummary = { field: name, filename: info.filename ?? '', contentType: info.mimeType, size: 0 };
                const f = {
                    field: name,
                    filename: info.filename ?? '',
                    contentType: info.mimeType,
                    size: 0,
                    bytes: null,
                    chunks: [] as Buffer[] | null,
                };
                parts.push(summary);
                files.push(f);
                stream.on('data', (c: Buffer) => {
                    f.size += c.length;
                    summary.size = f.size;
                    if (f.chunks) {
                        if (f.size > this.maxUploadBytes) f.chunks = null;
                        else f.chunks.push(c);
                    }
                });
            });
            bb.on('field', (name, value) => {
                fields[name] = value;
                parts.push({ field: name, filename: null, contentType: 'text/plain', size: Buffer.byteLength(value), value });
            });
            bb.on('error', (e) => {
                req.unpipe(bb);
                invalid(e instanceof Error ? e.message : String(e));
            });
            bb.on('close', () => {
                if (settled) return;
                settled = true;
                const out: UploadedFile[] = files.map((f) => ({
                    field: f.field,
                    filename: f.filename,
                    contentType: f.contentType,
                    size: f.size,
                    bytes: f.chunks ? Buffer.concat(f.chunks) : null,
                }));
                resolve({ kind: 'multipart', data: fields, files: out, recorded: parts, contentType });
            });
            req.on('error', (e) => {
                if (!settled) {
                    settled = true;
                    reject(e);
                }
            });
            req.on('close', () => {
                if (!settled && !req.complete) {
                    settled = true;
                    reject(new Error('aborted'));
                }
            });
            req.pipe(bb);
        });
    }

    private serveMedia(method: string, path: string): Reply {
        if (method === 'GET' || method === 'HEAD') {
            const m = this.media.find((x) => new URL(x.url).pathname === path);
            if (m) return { status: 200, raw: m.bytes, contentType: m.content_type };
        }
        return { status: 404, text: 'Not Found', contentType: 'text/html; charset=utf-8' };
    }

    // ---------------------------------------------------------------------------------------------------------------
    // API dispatch
    // ---------------------------------------------------------------------------------------------------------------

    private dispatch(ctx: Ctx, req: http.IncomingMessage): Reply {
        const m = /^\/api\/v2\/([a-z_]+)(?:\.json)?\/?$/.exec(ctx.path);
        const ep = m ? ENDPOINTS[m[1]] : undefined;
        if (!m || !ep || (ep.since && !versionAtLeast(this.version, ep.since))) return detail(404, 'Not found.');
        ctx.endpoint = m[1];

        const authError = this.authenticate(req.headers.authorization);
        if (authError) return detail(403, authError);
        const ws = { 'X-Temba-Workspace': this.workspace.uuid };

        const wait = this.throttle(ep.scope);
        if (wait !== undefined) {
            const headers: Record<string, string> = { ...ws };
            if (wait !== null) headers['Retry-After'] = String(wait);
            return detail(429, throttledDetail(wait), headers);
        }

        let methods = ep.methods;
        if (ctx.endpoint === 'messages' && !versionAtLeast(this.version, '8.1.35')) methods = ['GET'];
        if (!methods.includes(ctx.method)) {
            return detail(405, `Method "${ctx.method}" not allowed.`, { ...ws, Allow: [...methods, 'HEAD', 'OPTIONS'].join(', ') });
        }

        const reply = this.route(ctx);
        reply.headers = { ...ws, ...(reply.headers ?? {}) };
        return reply;
    }

    /** DRF TokenAuthentication / BasicAuthentication with RapidPro's messages; null when authenticated */
    private authenticate(header: string | undefined): string | null {
        if (!header) return 'Authentication credentials were not provided.';
        const parts = header.trim().split(/\s+/);
        const scheme = parts[0].toLowerCase();
        if (scheme === 'token') {
            if (parts.length === 1) return 'Invalid token header. No credentials provided.';
            if (parts.length > 2) return 'Invalid token header. Token string should not contain spaces.';
            return parts[1] === this.token ? null : 'Invalid token';
        }
        if (scheme === 'basic') {
            if (parts.length === 1) return 'Invalid basic header. No credentials provided.';
            if (parts.length > 2) return 'Invalid basic header. Credentials string should not contain spaces.';
            const decoded = Buffer.from(parts[1], 'base64').toString('utf8');
            const i = decoded.indexOf(':');
            if (i < 0) return 'Invalid basic header. Credentials not correctly base64 encoded.';
            return decoded.slice(i + 1) === this.token ? null : 'Invalid token or email';
        }
        return 'Authentication credentials were not provided.';
    }

    /** undefined: allowed; number: wait seconds; null: throttled without a known wait */
    private throttle(scope: RapidProScope): number | null | undefined {
        if (this.rateLimit === null || this.rateLimit === undefined) return undefined;
        const now = this.nowMs();
        const hist = this.hits[scope];
        while (hist.length && hist[0] <= now - HOUR_MS) hist.shift();
        if (hist.length >= this.rateLimit) {
            const available = this.rateLimit - hist.length + 1;
            if (available <= 0) return null;
            const remaining = (HOUR_MS - (now - hist[0])) / 1000;
            return Math.max(1, Math.ceil(remaining / available));
        }
        hist.push(now);
        return undefined;
    }

    private route(ctx: Ctx): Reply {
        const post = ctx.method === 'POST';
        if (post) {
            const bodyError = this.checkBody(ctx);
            if (bodyError) return bodyError;
        }
        switch (ctx.endpoint) {
            case 'messages':
                return post ? this.postMessage(ctx) : this.listMessages(ctx);
            case 'broadcasts':
                return post ? this.postBroadcast(ctx) : this.listBroadcasts(ctx);
            case 'media':
                return this.postMedia(ctx);
            case 'contacts':
                return post ? this.postContact(ctx) : this.listContacts(ctx);
            case 'flow_starts':
                return post ? this.postFlowStart(ctx) : this.listFlowStarts(ctx);
            case 'workspace':
            case 'org':
                return json(200, this.workspaceJson());
            default:
                return detail(404, 'Not found.');
        }
    }

    /** parser errors like DRF: unsupported content type 415, malformed JSON/multipart 400 */
    private checkBody(ctx: Ctx): Reply | null {
        const b = ctx.body;
        const unsupported = detail(415, `Unsupported media type "${b.contentType}" in request.`);
        if (b.tooLarge) return detail(413, 'Request body too large.');
        if (ctx.endpoint === 'media') {
            if (b.kind === 'json' || b.kind === 'invalid-json' || b.kind === 'text') return unsupported;
        } else if (b.kind === 'text') {
            return unsupported;
        }
        if (b.kind === 'invalid-json') return detail(400, `JSON parse error - ${b.error ?? ''}`);
        if (b.kind === 'invalid-multipart') return detail(400, `Multipart form parse error - ${b.error ?? ''}`);
        return null;
    }

    /** the body as a dict, or RapidPro's WriteSerializer error */
    private bodyDict(ctx: Ctx): { data: Record<string, unknown> } | { error: Reply } {
        const data = ctx.body.kind === 'none' ? {} : ctx.body.data;
        if (!isPlainObject(data)) return { error: json(400, { non_field_errors: ['Request body should be a single JSON object'] }) };
        return { data };
    }

    // ---------------------------------------------------------------------------------------------------------------
    // lookups
    // ---------------------------------------------------------------------------------------------------------------

    private findContactByUrn(ref: string): SimContact | null {
        const urn = normalizeUrn(ref);
        if (!urn) return null;
        for (const c of this.contacts.values()) if (c.urns.includes(urn)) return c;
        return null;
    }

    /** contact by UUID or URN; in auto mode a new UUID becomes a contact (added to `pending`, committed on success) */
    private lookupContact(ref: string | number | boolean, pending: Map<string, SimContact>): SimContact | null {
        if (typeof ref !== 'string') return null;
        if (isUuid(ref)) {
            const uuid = normalizeUuid(ref);
            const existing = this.contacts.get(uuid) ?? pending.get(uuid);
            if (existing) return existing;
            if (!this.autoContacts) return null;
            const c = this.makeContact({ uuid });
            pending.set(uuid, c);
            return c;
        }
        return this.findContactByUrn(ref);
    }

    private commit(pending: Map<string, SimContact>): void {
        for (const c of pending.values()) if (!this.contacts.has(c.uuid)) this.contacts.set(c.uuid, c);
    }

    /** contact for a URN recipient: existing, or a new contact with that URN (as mailroom does) */
    private contactForUrn(urn: string): SimContact {
        const existing = this.findContactByUrn(urn);
        if (existing) return existing;
        const c = this.makeContact({ uuid: randomUUID(), urns: [urn] });
        this.contacts.set(c.uuid, c);
        return c;
    }

    private findFlow(ref: string | number | boolean): { uuid: string; name: string } | null {
        if (!isUuid(ref)) return null;
        const uuid = normalizeUuid(ref);
        const f = this.flows.get(uuid);
        if (f) return f;
        if (!this.autoFlows) return null;
        const created = { uuid, name: `Flow ${uuid.slice(0, 8)}` };
        this.flows.set(uuid, created);
        return created;
    }

    private findGroup(ref: string | number | boolean): { uuid: string; name: string } | null {
        if (typeof ref !== 'string' || !ref) return null;
        if (isUuid(ref)) {
            const g = this.groups.get(normalizeUuid(ref));
            if (g) return g;
        }
        for (const g of this.groups.values()) if (g.name.toLowerCase() === ref.toLowerCase()) return g;
        if (!this.autoGroups) return null;
        const g = isUuid(ref) ? { uuid: normalizeUuid(ref), name: `Group ${ref.slice(0, 8)}` } : { uuid: randomUUID(), name: ref };
        this.groups.set(g.uuid, g);
        return g;
    }

    /** RapidPro's MediaField: a media UUID, or a `<content-type>:<url>` string whose URL contains the UUID */
    private findMedia(ref: string | number | boolean): SimMedia | null {
        if (typeof ref !== 'string') return null;
        let uuid: string | null = null;
        if (isUuid(ref)) uuid = normalizeUuid(ref);
        else {
            const m = /^[^:/]+\/[^:]+:(.+)$/.exec(ref);
            const found = m ? /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.exec(m[1]) : null;
            if (found) uuid = found[0].toLowerCase();
        }
        return uuid ? (this.media.find((x) => x.uuid === uuid) ?? null) : null;
    }

    private attachmentsField(): FieldFn {
        if (this.legacyAttachments) {
            return listField((v) => validateChar(v, { maxLength: 2048 }), { maxLength: 10 });
        }
        return manyField((ref) => this.findMedia(ref), { maxLength: 10 });
    }

    private validateAttachmentList(v: unknown): Array<SimMedia | string> {
        if (this.legacyAttachments) return validateList(v, (x) => validateChar(x, { maxLength: 2048 }), { maxLength: 10 });
        return validateMany(v, (ref) => this.findMedia(ref), { maxLength: 10 });
    }

    private attachmentJson(a: SimMedia | string): SimAttachment {
        return typeof a === 'string' ? attachmentFromString(a) : { content_type: a.content_type, url: a.url };
    }

    private attachmentRef(a: SimMedia | string): string {
        return typeof a === 'string' ? a : a.uuid;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // POST messages.json
    // ---------------------------------------------------------------------------------------------------------------

    private postMessage(ctx: Ctx): Reply {
        const body = this.bodyDict(ctx);
        if ('error' in body) return body.error;
        const data = body.data;
        const pending = new Map<string, SimContact>();
        const r = runSerializer(data, {
            contact: relatedField((ref) => this.lookupContact(ref, pending), { required: true }),
            text: charField({ maxLength: this.maxTextLength }),
            attachments: this.attachmentsField(),
            quick_replies: listField(quickReplyItem, { maxLength: 10 }),
        });
        if (!r.ok) return json(400, r.errors);
        const contact = r.values.contact as SimContact;
        const text = (r.values.text as string | null | undefined) ?? '';
        const attachments = (r.values.attachments as Array<SimMedia | string> | null | undefined) ?? [];
        const quickReplies = (r.values.quick_replies as QuickReply[] | null | undefined) ?? [];
        if (!(text || attachments.length)) return json(400, { non_field_errors: ['Must provide either text or attachments.'] });

        this.commit(pending);
        const msg = this.createOutgoing(contact, text, attachments, quickReplies, null);
        this.recordSent('messages', contact, msg.urn, text, attachments, quickReplies, msg.uuid);
        return json(201, msg);
    }

    private createOutgoing(
        contact: SimContact,
        text: string,
        attachments: Array<SimMedia | string>,
        quickReplies: QuickReply[],
        broadcastId: number | null,
    ): SimMessage {
        const micros = this.tick();
        const at = formatMicros(micros);
        const atts = attachments.map((a) => this.attachmentJson(a));
        const msg: SimMessage = {
            uuid: randomUUID(),
            id: this.nextId++,
            contact: { uuid: contact.uuid, name: contact.name },
            urn: contact.urns[0] ?? null,
            channel: { ...CHANNEL },
            direction: 'out',
            type: 'text',
            status: 'queued',
            archived: false,
            visibility: 'visible',
            text,
            labels: [],
            flow: null,
            attachments: atts,
            quick_replies: quickReplies.map((q) => ({ ...q })),
            created_on: at,
            sent_on: null,
            modified_on: at,
            media: atts.length ? `${atts[0].content_type}:${atts[0].url}` : null,
            broadcast: broadcastId,
        };
        this.micros.set(msg, micros);
        this.messages.push(msg);
        return msg;
    }

    private recordSent(
        via: 'messages' | 'broadcasts',
        contact: SimContact | null,
        urn: string | null,
        text: string,
        attachments: Array<SimMedia | string>,
        quickReplies: QuickReply[],
        uuid: string,
    ): void {
        this.sent.push({
            seq: ++this.sentSeq,
            via,
            contact: contact ? contact.uuid : null,
            urn,
            text,
            attachments: attachments.map((a) => this.attachmentRef(a)),
            quickReplies: quickReplies.map((q) => ({ ...q })),
            uuid,
            time: Date.now(),
        });
    }

    // ---------------------------------------------------------------------------------------------------------------
    // GET messages.json
    // ---------------------------------------------------------------------------------------------------------------

    private listMessages(ctx: Ctx): Reply {
        const q = ctx.query;
        const exclusive = ['contact', 'folder', 'label', 'broadcast'];
        if (exclusive.filter((p) => q[p]).length > 1) {
            return detail(400, `You may only specify one of the ${exclusive.join(', ')} parameters`);
        }
        let items = this.messages.filter((m) => m.visibility === 'visible' || m.visibility === 'archived');
        if (q.folder) {
            const folder = q.folder.toLowerCase();
            const byFolder: Record<string, (m: SimMessage) => boolean> = {
                inbox: (m) => m.direction === 'in' && m.flow === null,
                flows: (m) => m.direction === 'in' && m.flow !== null,
                archived: (m) => m.visibility === 'archived',
                outbox: (m) => m.direction === 'out' && (m.status === 'queued' || m.status === 'errored'),
                sent: (m) => m.direction === 'out' && ['wired', 'sent', 'delivered', 'read'].includes(m.status),
                failed: (m) => m.direction === 'out' && m.status === 'failed',
            };
            const f = byFolder[folder];
            items = f ? items.filter(f) : [];
        }
        if (q.uuid) items = isUuid(q.uuid) ? items.filter((m) => m.uuid === normalizeUuid(q.uuid)) : [];
        if (q.id) {
            if (!/^-?\d+$/.test(q.id)) return detail(400, 'Value for id must be an integer');
            items = items.filter((m) => m.id === parseInt(q.id, 10));
        }
        if (q.broadcast) items = items.filter((m) => String(m.broadcast) === q.broadcast);
        if (q.contact) {
            const uuid = isUuid(q.contact) ? normalizeUuid(q.contact) : null;
            items = uuid && this.contacts.has(uuid) ? items.filter((m) => m.contact.uuid === uuid) : [];
        }
        if (q.label) items = [];
        items = this.beforeAfter(items, q);
        return this.page(ctx, this.newestFirst(items), (m) => this.messageJson(m));
    }

    private messageJson(m: SimMessage): SimMessage {
        const c = this.contacts.get(m.contact.uuid);
        return { ...m, contact: { uuid: m.contact.uuid, name: c ? c.name : m.contact.name } };
    }

    private timeOf(x: object, iso: string): number {
        return this.micros.get(x) ?? parseIsoMicros(iso) ?? 0;
    }

    private newestFirst<T extends { id: number; created_on: string }>(items: T[]): T[] {
        return [...items].sort((a, b) => this.timeOf(b, b.created_on) - this.timeOf(a, a.created_on) || b.id - a.id);
    }

    /** RapidPro's filter_before_after: inclusive bounds; an unparseable time gives an empty list */
    private beforeAfter<T extends object>(items: T[], q: Record<string, string>, field: 'created_on' | 'modified_on' = 'created_on'): T[] {
        let out = items;
        const time = (x: T): number => {
            const iso = (x as unknown as Record<string, string>)[field];
            return field === 'created_on' ? this.timeOf(x, iso) : (parseIsoMicros(iso) ?? 0);
        };
        if (q.before) {
            const b = parseIsoMicros(q.before);
            out = b === null ? [] : out.filter((x) => time(x) <= b);
        }
        if (q.after) {
            const a = parseIsoMicros(q.after);
            out = a === null ? [] : out.filter((x) => time(x) >= a);
        }
        return out;
    }

    /** cursor paging shaped like DRF's CursorPagination: {next, previous, results} */
    private page<T>(ctx: Ctx, items: T[], serialize: (t: T) => unknown): Reply {
        let offset = 0;
        if (ctx.query.cursor) {
            const decoded = Buffer.from(ctx.query.cursor, 'base64').toString('utf8');
            const m = /^o=(\d+)$/.exec(decoded);
            if (!m) return detail(404, 'Invalid cursor');
            offset = parseInt(m[1], 10);
        }
        const results = items.slice(offset, offset + this.pageSize).map(serialize);
        const link = (o: number): string => {
            const params = new URLSearchParams(ctx.query);
            params.delete('cursor');
            if (o > 0) params.set('cursor', Buffer.from(`o=${o}`, 'utf8').toString('base64'));
            const qs = params.toString();
            return `${this.url}${ctx.path}${qs ? `?${qs}` : ''}`;
        };
        return json(200, {
            next: offset + this.pageSize < items.length ? link(offset + this.pageSize) : null,
            previous: offset > 0 ? link(Math.max(0, offset - this.pageSize)) : null,
            results,
        });
    }

    // ---------------------------------------------------------------------------------------------------------------
    // broadcasts.json
    // ---------------------------------------------------------------------------------------------------------------

    private translated<T>(item: (v: unknown) => T, isList: boolean): FieldFn {
        const lang0 = this.languages[0];
        return (present, value) => {
            if (!present || value === undefined) return SKIP;
            if (value === null) throw new ValidationError(['This field may not be null.']);
            let v = value;
            if (isList ? Array.isArray(v) : typeof v === 'string') v = { [lang0]: v };
            return validateDict(v, (x) => item(x), { allowEmpty: false, maxLength: 50, validateKeys: languageKeyErrors });
        };
    }

    private postBroadcast(ctx: Ctx): Reply {
        const body = this.bodyDict(ctx);
        if ('error' in body) return body.error;
        const data = body.data;
        const pending = new Map<string, SimContact>();
        const r = runSerializer(data, {
            urns: listField(urnItem, { maxLength: 100 }),
            contacts: manyField((ref) => this.lookupContact(ref, pending), { maxLength: 100 }),
            groups: manyField((ref) => this.findGroup(ref), { maxLength: 100 }),
            text: this.translated((v) => validateChar(v, { maxLength: this.maxTextLength }), false),
            attachments: this.translated((v) => this.validateAttachmentList(v), true),
            quick_replies: this.translated((v) => validateList(v, quickReplyItem, { maxLength: 10 }), true),
            base_language: (present, value) => {
                const v = charField({ maxLength: 3 })(present, value);
                if (typeof v === 'string' && !isLanguageCode(v)) throw new ValidationError([LANGUAGE_ERROR]);
                return v;
            },
        });
        if (!r.ok) return json(400, r.errors);
        const text = r.values.text as Record<string, string> | undefined;
        const attachments = r.values.attachments as Record<string, Array<SimMedia | string>> | undefined;
        const quickReplies = r.values.quick_replies as Record<string, QuickReply[]> | undefined;
        const urns = (r.values.urns as string[] | null | undefined) ?? [];
        const contacts = (r.values.contacts as SimContact[] | null | undefined) ?? [];
        const groups = (r.values.groups as Array<{ uuid: string; name: string }> | null | undefined) ?? [];
        let baseLanguage = r.values.base_language as string | null | undefined;

        const nonEmpty = (d: Record<string, unknown> | undefined): boolean => !!d && Object.keys(d).length > 0;
        const nfe = (m: string): Reply => json(400, { non_field_errors: [m] });
        if (!(nonEmpty(text) || nonEmpty(attachments))) return nfe('Must provide either text or attachments.');
        if (!(urns.length || contacts.length || groups.length)) return nfe('Must provide either urns, contacts or groups.');
        if (baseLanguage) {
            if (!text || !(baseLanguage in text)) return nfe('No text translation provided in base language.');
            if (nonEmpty(attachments) && attachments && !(baseLanguage in attachments)) {
                return nfe('No attachment translations provided in base language.');
            }
            if (nonEmpty(quickReplies) && quickReplies && !(baseLanguage in quickReplies)) {
                return nfe('No quick_replies translations provided in base language.');
            }
        }

        this.commit(pending);
        const langs: string[] = [];
        for (const d of [text, attachments, quickReplies]) for (const k of Object.keys(d ?? {})) if (!langs.includes(k)) langs.push(k);
        if (!baseLanguage) baseLanguage = langs[0];

        const micros = this.tick();
        const id = this.nextId++;
        const bcast: SimBroadcast = {
            uuid: randomUUID(),
            id,
            status: 'pending',
            progress: { total: -1, started: 0 },
            urns,
            contacts: contacts.map((c) => ({ uuid: c.uuid, name: c.name })),
            groups: groups.map((g) => ({ uuid: g.uuid, name: g.name })),
            text: Object.fromEntries(langs.map((l) => [l, text && l in text ? text[l] : null])),
            attachments: Object.fromEntries(
                langs.map((l) => [
                    l,
                    (attachments?.[l] ?? []).map((a) => {
                        const j = this.attachmentJson(a);
                        return `${j.content_type}:${j.url}`;
                    }),
                ]),
            ),
            quick_replies: Object.fromEntries(langs.map((l) => [l, (quickReplies?.[l] ?? []).map((q) => ({ ...q }))])),
            base_language: baseLanguage,
            created_on: formatMicros(micros),
        };
        this.micros.set(bcast, micros);
        this.broadcasts.push(bcast);

        // recipients: contacts, URNs (contacts created as needed), members of groups
        const recipients: SimContact[] = [];
        const add = (c: SimContact): void => {
            if (!recipients.includes(c)) recipients.push(c);
        };
        contacts.forEach(add);
        urns.forEach((u) => {
            add(this.contactForUrn(u));
        });
        for (const g of groups) for (const c of this.contacts.values()) if (c.groups.some((x) => x.uuid === g.uuid)) add(c);

        for (const c of recipients) {
            const lang =
                c.language && this.languages.includes(c.language) && langs.includes(c.language)
                    ? c.language
                    : langs.includes(this.languages[0])
                      ? this.languages[0]
                      : baseLanguage;
            const t = text?.[lang] ?? '';
            const atts = attachments?.[lang] ?? [];
            const qrs = quickReplies?.[lang] ?? [];
            const msg = this.createOutgoing(c, t, atts, qrs, id);
            this.recordSent('broadcasts', c, msg.urn, t, atts, qrs, bcast.uuid);
        }
        return json(201, bcast);
    }

    private listBroadcasts(ctx: Ctx): Reply {
        let items = [...this.broadcasts];
        if (ctx.query.uuid) items = items.filter((b) => b.uuid === ctx.query.uuid);
        items = this.beforeAfter(items, ctx.query);
        return this.page(ctx, this.newestFirst(items), (b) => b);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // POST media.json
    // ---------------------------------------------------------------------------------------------------------------

    private postMedia(ctx: Ctx): Reply {
        const b = ctx.body;
        const file = b.files.find((f) => f.field === 'file');
        const fieldError = (m: string): Reply => json(400, { file: [m] });
        if (!file) {
            const plain = isPlainObject(b.data) ? b.data : {};
            if ('file' in plain) return fieldError('The submitted data was not a file. Check the encoding type on the form.');
            return fieldError('No file was submitted.');
        }
        if (!file.filename) return fieldError('No filename could be determined.');
        if (file.size === 0) return fieldError('The submitted file is empty.');
        if (!MEDIA_CONTENT_TYPES.some((p) => globMatch(file.contentType, p))) return fieldError('Unsupported file type.');
        if (file.size > this.maxUploadBytes || file.bytes === null) {
            return fieldError(`Limit for file uploads is ${pyFloat(this.maxUploadBytes / (1024 * 1024))} MB.`);
        }
        const filename = cleanMediaFilename(file.filename, file.contentType);
        const contentType = filename.endsWith('.m4a') ? 'audio/mp4' : file.contentType;
        const uuid = randomUUID();
        const url = `${this.url}/media/orgs/1/media/${uuid.slice(0, 4)}/${uuid}/${encodeURIComponent(filename)}`;
        const media: SimMedia = {
            uuid,
            content_type: contentType,
            url,
            filename,
            size: file.size,
            originalFilename: file.filename,
            bytes: file.bytes,
            created_on: formatMicros(this.tick()),
        };
        this.media.push(media);
        return json(201, { uuid, content_type: contentType, url, filename, size: file.size });
    }

    // ---------------------------------------------------------------------------------------------------------------
    // contacts.json
    // ---------------------------------------------------------------------------------------------------------------

    private contactJson(c: SimContact): Record<string, unknown> {
        const fields: Record<string, string | null> = {};
        for (const k of this.contactFields) fields[k] = c.fields[k] ?? null;
        return {
            uuid: c.uuid,
            name: c.name,
            status: c.status,
            language: c.language,
            urns: [...c.urns],
            groups: c.groups.map((g) => ({ uuid: g.uuid, name: g.name })),
            notes: c.notes.map((n) => ({ ...n })),
            fields,
            flow: c.flow,
            created_on: c.created_on,
            modified_on: c.modified_on,
            last_seen_on: c.last_seen_on,
            blocked: c.status === 'blocked',
            stopped: c.status === 'stopped',
        };
    }

    private postContact(ctx: Ctx): Reply {
        const q = ctx.query;
        const lookups = ['urn', 'uuid'].filter((p) => p in q);
        if (lookups.length > 1) return detail(400, 'URL can only contain one of the following parameters: urn, uuid');
        let instance: SimContact | null = null;
        if ('uuid' in q) {
            const uuid = isUuid(q.uuid) ? normalizeUuid(q.uuid) : null;
            instance = uuid ? (this.contacts.get(uuid) ?? null) : null;
            if (!instance && uuid && this.autoContacts) instance = this.makeContact({ uuid });
            if (!instance) return detail(404, uuid ? 'No Contact matches the given query.' : 'Not found.');
        } else if ('urn' in q) {
            instance = this.findContactByUrn(q.urn);
        }
        const body = this.bodyDict(ctx);
        if ('error' in body) return body.error;
        const data = body.data;

        const known = new Set(this.contactFields);
        const r = runSerializer(data, {
            name: charField({ maxLength: 64, allowNull: true }),
            language: (present, value) => {
                const v = charField({ minLength: 3, maxLength: 3, allowNull: true })(present, value);
                if (typeof v === 'string' && v && !isLanguageCode(v)) throw new ValidationError(['Not a valid ISO639-3 language code.']);
                return v;
            },
            note: charField({ maxLength: 10000, allowBlank: true }),
            urns: (present, value) => {
                const v = listField(urnItem, { maxLength: 100 })(present, value);
                if (v !== SKIP && 'urn' in q) throw new ValidationError(['Field not allowed when using URN in URL']);
                return v;
            },
            groups: manyField((ref) => this.findGroup(ref), { maxLength: 100 }),
            fields: (present, value) => {
                const v = dictField((x) => (x === null ? null : validateChar(x, { allowBlank: true })), { maxLength: 100 })(present, value);
                if (v !== SKIP && v !== null) {
                    for (const key of Object.keys(v as Record<string, unknown>)) {
                        if (!known.has(key)) throw new ValidationError([`Invalid contact field key: ${key}`]);
                    }
                }
                return v;
            },
        });
        if (!r.ok) return json(400, r.errors);
        const v = r.values;

        const creating = instance === null;
        let urns = v.urns as string[] | null | undefined;
        if (creating && !urns && 'urn' in q) {
            const u = normalizeUrn(q.urn);
            if (!u) return json(400, { urns: { '0': [`Invalid URN: ${q.urn}. Ensure phone numbers contain country codes.`] } });
            urns = [u];
        }
        const c = instance ?? this.makeContact({ uuid: randomUUID(), urns: [] });
        if (urns) {
            const taken = urns.findIndex((u) => {
                const other = this.findContactByUrn(u);
                return other !== null && other.uuid !== c.uuid;
            });
            if (taken >= 0) return json(400, { urns: { [String(taken)]: ['URN is in use by another contact.'] } });
        }

        if ('name' in v) c.name = v.name as string | null;
        if ('language' in v) c.language = (v.language as string | null) || null;
        if (urns) c.urns = [...urns];
        if (v.groups) c.groups = (v.groups as Array<{ uuid: string; name: string }>).map((g) => ({ ...g }));
        if (v.fields) {
            for (const [k, val] of Object.entries(v.fields as Record<string, string | null>)) c.fields[k] = val === '' ? null : val;
        }
        if (typeof v.note === 'string' && v.note) {
            c.notes.push({ text: v.note, created_on: formatMicros(this.tick()), created_by: { ...API_USER } });
        }
        c.modified_on = formatMicros(this.tick());
        this.contacts.set(c.uuid, c);
        return json(creating ? 201 : 200, this.contactJson(c));
    }

    private listContacts(ctx: Ctx): Reply {
        const q = ctx.query;
        let items = [...this.contacts.values()];
        if (q.uuid) {
            const uuid = isUuid(q.uuid) ? normalizeUuid(q.uuid) : null;
            if (uuid && !this.contacts.has(uuid) && this.autoContacts) this.addContact(uuid);
            items = uuid ? [...this.contacts.values()].filter((c) => c.uuid === uuid) : [];
        }
        if (q.urn) {
            const urn = normalizeUrn(q.urn);
            items = urn ? items.filter((c) => c.urns.includes(urn)) : [];
        }
        if (q.group) items = items.filter((c) => c.groups.some((g) => g.uuid === q.group || g.name === q.group));
        items = this.beforeAfter(items, q, 'modified_on');
        items.sort((a, b) => (parseIsoMicros(b.modified_on) ?? 0) - (parseIsoMicros(a.modified_on) ?? 0));
        return this.page(ctx, items, (c) => this.contactJson(c));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // flow_starts.json
    // ---------------------------------------------------------------------------------------------------------------

    private postFlowStart(ctx: Ctx): Reply {
        const body = this.bodyDict(ctx);
        if ('error' in body) return body.error;
        const data = body.data;
        const pending = new Map<string, SimContact>();
        const objectParam = (v: unknown): Record<string, unknown> => {
            if (!isPlainObject(v)) throw new ValidationError(['Must be a valid JSON object']);
            return v;
        };
        const r = runSerializer(data, {
            flow: relatedField((ref) => this.findFlow(ref), { required: true }),
            contacts: manyField((ref) => this.lookupContact(ref, pending), { maxLength: 100 }),
            groups: manyField((ref) => this.findGroup(ref), { maxLength: 100 }),
            urns: listField(urnItem, { maxLength: 100 }),
            restart_participants: booleanField(),
            exclude_active: booleanField(),
            extra: jsonField({}, objectParam),
            params: jsonField({}, (v) => {
                const o = objectParam(v);
                if (pythonJsonLength(o) > 10000) throw new ValidationError(['Cannot exceed 10,000 characters encoded.']);
                return o;
            }),
        });
        if (!r.ok) return json(400, r.errors);
        const v = r.values;
        const contacts = (v.contacts as SimContact[] | null | undefined) ?? [];
        const groups = (v.groups as Array<{ uuid: string; name: string }> | null | undefined) ?? [];
        const urns = (v.urns as string[] | null | undefined) ?? [];
        if (!(contacts.length || groups.length || urns.length)) {
            return json(400, { non_field_errors: ['Must specify at least one group, contact or URN'] });
        }
        this.commit(pending);
        urns.forEach((u) => {
            this.contactForUrn(u);
        });
        const params =
            (v.params as Record<string, unknown> | null | undefined) || (v.extra as Record<string, unknown> | null | undefined) || null;
        const micros = this.tick();
        const at = formatMicros(micros);
        const flow = v.flow as { uuid: string; name: string };
        const start: SimFlowStart = {
            uuid: randomUUID(),
            id: this.nextId++,
            flow: { uuid: flow.uuid, name: flow.name },
            status: 'pending',
            progress: { total: -1, started: 0 },
            groups: groups.map((g) => ({ uuid: g.uuid, name: g.name })),
            contacts: contacts.map((c) => ({ uuid: c.uuid, name: c.name })),
            urns,
            params,
            created_on: at,
            modified_on: at,
            extra: params,
            restart_participants: v.restart_participants === undefined || v.restart_participants === null ? true : !!v.restart_participants,
            exclude_active: !!v.exclude_active,
        };
        this.micros.set(start, micros);
        this.flowStarts.push(start);
        return json(201, this.flowStartJson(start));
    }

    /** the API shape (without the simulator's `urns` record) */
    private flowStartJson(s: SimFlowStart): Record<string, unknown> {
        const { urns: _urns, ...rest } = s;
        void _urns;
        return rest;
    }

    private listFlowStarts(ctx: Ctx): Reply {
        let items = [...this.flowStarts];
        if (ctx.query.uuid) items = items.filter((s) => s.uuid === ctx.query.uuid);
        items = this.beforeAfter(items, ctx.query, 'modified_on');
        return this.page(ctx, this.newestFirst(items), (s) => this.flowStartJson(s));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // workspace.json / org.json
    // ---------------------------------------------------------------------------------------------------------------

    private workspaceJson(): Record<string, unknown> {
        return {
            uuid: this.workspace.uuid,
            name: this.workspace.name,
            country: this.workspace.country,
            languages: [...this.languages],
            timezone: this.workspace.timezone,
            date_style: 'day_first',
            anon: false,
            credits: { used: -1, remaining: -1 },
            primary_language: this.languages[0],
        };
    }
}

function languageKeyErrors(keys: string[]): Record<string, ErrorDetail> | null {
    const errors: Record<string, ErrorDetail> = {};
    for (const k of keys) if (!isLanguageCode(k)) errors[k] = [LANGUAGE_ERROR];
    return Object.keys(errors).length ? errors : null;
}

/** one quick reply: {text, extra?} */
function quickReplyItem(v: unknown): QuickReply {
    if (!isPlainObject(v)) {
        throw new ValidationError({ non_field_errors: [`Invalid data. Expected a dictionary, but got ${pyType(v)}.`] });
    }
    const r = runSerializer(v, {
        text: charField({ required: true }),
        extra: charField({ allowBlank: true }),
    });
    if (!r.ok) throw new ValidationError(r.errors);
    const out: QuickReply = { text: r.values.text as string };
    if (typeof r.values.extra === 'string') out.extra = r.values.extra;
    return out;
}

/** Starts a simulator on 127.0.0.1 with a random port. Close it with `await sim.close()`. */
export async function startRapidProSimulator(options: RapidProSimulatorOptions = {}): Promise<RapidProSimulator> {
    const sim = new Simulator(options);
    await sim.listen();
    return sim;
}
