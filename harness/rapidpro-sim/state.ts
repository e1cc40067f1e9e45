import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { isPlainObject, isUuid, normalizeUrn, normalizeUuid } from './fields';
import {
    attachmentFromString,
    type Ctx,
    DEFAULT_CONTACT_FIELDS,
    DEFAULT_TOKEN,
    DEFAULT_VERSION,
    type DelayEntry,
    detail,
    type FaultEntry,
    formatMicros,
    json,
    MAX_UPLOAD_BYTES,
    type Reply,
    toMicros,
    versionAtLeast,
    type Waiter,
    CHANNEL,
} from './support';
import type {
    RapidProScope,
    RapidProSimulatorOptions,
    RecordedRequest,
    SeedMessage,
    SentMessage,
    SimBroadcast,
    SimContact,
    SimContactSeed,
    SimFlowSeed,
    SimFlowStart,
    SimMedia,
    SimMessage,
} from './types';

/** The simulator's data (contacts, flows, groups, messages, media, ...), its options, and seeding. */
export class SimState {
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

    protected sockets = new Set<Socket>();
    protected down = false;
    protected closed = false;
    protected refused = 0;
    protected faults: FaultEntry[] = [];
    protected delays: DelayEntry[] = [];
    protected sleepers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
    protected waiters = new Set<Waiter>();
    protected rateLimit: number | null;
    protected hits: Record<RapidProScope, number[]> = { v2: [], 'v2.contacts': [], 'v2.messages': [] };
    protected flows = new Map<string, { uuid: string; name: string }>();
    protected groups = new Map<string, { uuid: string; name: string }>();
    protected micros = new WeakMap<object, number>();
    protected lastMicros = 0;
    protected nextId = 1;
    protected seq = 0;
    protected sentSeq = 0;
    protected urnCounter = 0;
    protected readonly autoContacts: boolean;
    protected readonly autoFlows: boolean;
    protected readonly autoGroups: boolean;
    protected readonly contactFields: string[];
    protected readonly languages: string[];
    protected readonly maxUploadBytes: number;
    protected readonly pageSize: number;
    protected readonly nowMs: () => number;
    protected readonly legacyAttachments: boolean;
    protected readonly workspace: { uuid: string; name: string; country: string | null; timezone: string };
    /** Contacts whose customer-care window is closed, messages failing on demand, and their pending status changes. */
    protected closedWindows = new Set<string>();
    protected failNextCount = 0;
    protected statusTimers = new Set<NodeJS.Timeout>();
    protected readonly windowSchemes: string[];
    protected readonly failDelayMs: number;

    constructor(protected readonly options: RapidProSimulatorOptions) {
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
        this.windowSchemes = options.windowSchemes ?? ['whatsapp', 'facebook', 'instagram'];
        this.failDelayMs = options.failDelayMs ?? 20;
        this.initState();
    }

    protected initState(): void {
        for (const c of this.options.knownContacts ?? []) this.addContact(c);
        for (const f of this.options.flows ?? []) this.addFlow(f);
        for (const g of this.options.groups ?? []) this.groups.set(g.uuid, { uuid: g.uuid, name: g.name });
    }

    protected tick(): number {
        const t = Math.max(Math.floor(this.nowMs() * 1000), this.lastMicros + 1);
        this.lastMicros = t;
        return t;
    }

    protected makeContact(seed: SimContactSeed): SimContact {
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

    protected notify(): void {
        for (const w of [...this.waiters]) w.check();
    }

    protected sleep(ms: number): Promise<void> {
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

    /** parser errors like DRF: unsupported content type 415, malformed JSON/multipart 400 */
    protected checkBody(ctx: Ctx): Reply | null {
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
    protected bodyDict(ctx: Ctx): { data: Record<string, unknown> } | { error: Reply } {
        const data = ctx.body.kind === 'none' ? {} : ctx.body.data;
        if (!isPlainObject(data)) return { error: json(400, { non_field_errors: ['Request body should be a single JSON object'] }) };
        return { data };
    }
}
