import { randomBytes, randomUUID } from 'node:crypto';

import { EngineHost, RocketChatError } from '../harness/engine';
import type { RcMessage, RcRoom, RcUser } from '../harness/engine';
import { startRapidProSimulator } from '../harness/rapidpro-sim/simulator';
import type { RapidProSimulator } from '../harness/rapidpro-sim/simulator';
import { shortcodesToUnicode } from '../src/lib/emoji';
import { curlCommand } from './curl';
import { CLOSE_FLOW, DEPARTMENTS, SAMPLE_CONTACT, SAMPLE_FLOW, defaultWebhookBody, sampleBotHistory } from './samples';

/**
 * The sandbox's world: the packaged app in the real Apps-Engine (EngineHost), the in-memory
 * Rocket.Chat with seeded departments, the RapidPro simulator, and the actions of the agent page.
 * Contact-side actions go through the app's HTTP endpoints with the bridge secret, like RapidPro.
 */

export interface SandboxOptions {
    zip: string;
    /** Port of the app's endpoints (host.listen); 0 = any free port. */
    port: number;
    secret?: string;
}

/** One call to the app's endpoints (from curl, the page or anything else), as the sandbox saw it. */
export interface EndpointCall {
    seq: number;
    time: number;
    method: string;
    path: string;
    status: number;
    request: unknown;
    response: unknown;
    ms: number;
    /** The same call as a curl command (URL, Authorization header and body as sent), for the page's "copy as curl". */
    curl: string | null;
}

export interface ContactCallResult {
    status: number;
    body: unknown;
}

export type MessageKind = 'contact' | 'agent' | 'app' | 'system';

export interface MessageView {
    id: string;
    kind: MessageKind;
    author: string;
    username: string;
    /** As Rocket.Chat stores it (`:smile:`), what "edit" starts from. */
    text: string;
    /** As Rocket.Chat shows it: shortcodes as emoji, converted by the app's own table (src/lib/emoji.ts). */
    display: string;
    ts: string;
    edited: boolean;
    systemType?: string;
    /** A transfer line: who moved the chat, and where to. */
    transfer?: { by: string; toDepartment: string | null; toAgent: string | null; fromDepartment: string | null; comment: string | null };
    file?: { id: string; name: string; type: string; url: string };
}

export interface RoomView {
    id: string;
    status: 'queued' | 'open' | 'closed';
    department: string | null;
    contactName: string;
    contactUuid: string | null;
    agent: string | null;
    startedAt: string;
    closedAt: string | null;
    /** 'user' (an agent) or 'visitor' (the contact), as Rocket.Chat stores it */
    closer: string | null;
    /** username of the agent who closed it, or 'contact' */
    closedBy: string | null;
    messages: MessageView[];
    /** The contact's customer-care window as the sandbox set it, and what the app holds for this room. */
    window: {
        /** When the app last saw the contact write (its hold decision reads this), ISO. */
        lastInboundAt: string | null;
        /** RapidPro's side: messages to the contact turn `failed` (the page's "close the window"). */
        rapidproClosed: boolean;
        /** Agent replies the app holds for this room (record `held-reply`), oldest first. */
        held: string[];
    };
}

export interface SandboxState {
    app: { id: string; name: string; version: string; apiBaseUrl: string; secret: string; routing: string };
    agents: Array<{ username: string; name: string; online: boolean; departments: string[] }>;
    departments: Array<{ id: string; name: string; enabled: boolean; online: boolean }>;
    contacts: Array<{ uuid: string; name: string | null; urn: string | null }>;
    rooms: RoomView[];
    endpointCalls: EndpointCall[];
    rapidpro: {
        url: string;
        token: string;
        down: boolean;
        /** connections the simulator destroyed while down (the bridge retries those calls) */
        refusedConnections: number;
        requests: Array<{
            seq: number;
            time: number;
            method: string;
            path: string;
            query: Record<string, string>;
            status: number;
            bodyType: string;
            body: unknown;
            response: unknown;
            fault: string | null;
            /** A message this request created (messages.json, or a broadcast's): its uuid and status now. */
            message: { uuid: string; status: string } | null;
        }>;
        /** Messages the simulator will accept and then mark `failed` ("fail the next message"). */
        failNextMessages: number;
        sentCount: number;
        contacts: Array<{
            uuid: string;
            name: string | null;
            language: string | null;
            urns: string[];
            fields: Record<string, string | null>;
        }>;
        flowStarts: Array<{ uuid: string; flow: string; contacts: string[]; params: Record<string, unknown> | null; created_on: string }>;
        media: Array<{ uuid: string; filename: string; content_type: string; size: number; url: string }>;
    };
    /** What waits in the app's outbox (calls to RapidPro not taken yet), read from the app's own records. */
    outbox: {
        messages: number;
        /** contact field updates and flow starts */
        otherCalls: number;
        nextAttemptAt: string | null;
        items: Array<{ kind: string; summary: string; attempts: number; nextAttemptAt: string | null; lastError: string | null }>;
    };
    jobs: { failed: number; errors: string[] };
    /** The harness clock (it drives the app's scheduled jobs): how far it was moved ahead, and the watcher's next run. */
    clock: { offsetMs: number; watcherNextRunAt: string | null };
    eventErrors: string[];
}

type RequestHandler = (
    method: string,
    target: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
) => Promise<{ status: number; headers: Record<string, string>; body: Buffer }>;

const MAX_CALLS = 200;
/** The app's failure watcher: a recurring job named `<processor id>_<app id>` (REACH_WATCH_PROCESSOR_ID in src/outbound). */
const REACH_WATCH_JOB = 'rapidpro-reach-watch';
const MAX_REQUESTS = 200;
/** Bodies larger than this get no curl command (an upload would not paste into a terminal anyway). */
const MAX_CURL_BODY = 64 * 1024;

function header(headers: Record<string, string>, name: string): string | undefined {
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
    return key === undefined ? undefined : headers[key];
}

function parseMaybeJson(raw: string): unknown {
    if (!raw) {
        return undefined;
    }
    try {
        return JSON.parse(raw);
    } catch {
        return raw.length > 2000 ? `${raw.slice(0, 2000)}…` : raw;
    }
}

function errorText(error: unknown): string {
    if (error instanceof RocketChatError) {
        return error.message;
    }
    const e = error as { message?: string; data?: { message?: string } };
    return e?.data?.message ?? e?.message ?? String(error);
}

/** An action of the page that failed for a reason worth showing (Rocket.Chat refused, bad input). */
export class ActionError extends Error {
    constructor(
        message: string,
        public readonly status = 400,
    ) {
        super(message);
    }
}

export class Sandbox {
    public readonly endpointCalls: EndpointCall[] = [];
    /** Base URL of the page server, for sample attachment URLs (set once it listens). */
    public samplesBaseUrl = '';
    private readonly knownContacts = new Map<string, { name: string | null; urn: string | null }>();
    /** room id -> contact uuid, learnt from the app's answers (handoff answers carry room_id) */
    private readonly roomContacts = new Map<string, string>();
    /** Contacts whose window the page closed: RapidPro fails messages to them until they write again. */
    private readonly closedWindows = new Set<string>();
    /** How far the page moved each closed contact's last message back (to undo it on "open"). */
    private readonly agedBy = new Map<string, number>();
    private callSeq = 0;

    private constructor(
        public readonly host: EngineHost,
        public readonly sim: RapidProSimulator,
        public readonly secret: string,
    ) {}

    public static async start(options: SandboxOptions): Promise<Sandbox> {
        const secret = options.secret || randomBytes(24).toString('hex');
        const sim = await startRapidProSimulator({ flows: [SAMPLE_FLOW, CLOSE_FLOW] });
        let host: EngineHost;
        try {
            host = await EngineHost.start({
                zip: options.zip,
                routing: 'manual',
                scheduler: 'auto',
                pollMs: 500,
                runtimeTimeoutMs: 30000,
                settings: {
                    rapidpro_url: sim.url,
                    rapidpro_token: sim.token,
                    bridge_secret: secret,
                    status_field: 'bridge_status',
                    room_field: 'bridge_room',
                    close_flow_uuid: CLOSE_FLOW.uuid,
                },
            });
        } catch (error) {
            await sim.close();
            throw error;
        }
        const sandbox = new Sandbox(host, sim, secret);
        try {
            sandbox.seed();
            sandbox.recordEndpointCalls();
            await sandbox.listen(options.port);
        } catch (error) {
            await sandbox.stop();
            throw error;
        }
        return sandbox;
    }

    private seed(): void {
        for (const department of DEPARTMENTS) {
            this.host.rc.addDepartment(department);
        }
        this.sim.addContact({ ...SAMPLE_CONTACT });
        this.sim.seedMessages(SAMPLE_CONTACT.uuid, sampleBotHistory());
        this.knownContacts.set(SAMPLE_CONTACT.uuid, { name: SAMPLE_CONTACT.name, urn: SAMPLE_CONTACT.urns[0] });
    }

    /** host.listen(port), or any free port when that one is taken. */
    private async listen(port: number): Promise<void> {
        try {
            await this.host.listen(port);
        } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) {
                throw error;
            }
            await this.host.listen(0);
        }
    }

    /**
     * Records every call to the app's endpoints (curl included) for the page. The harness has no hook
     * for this, so the host's request handler (shared by its HTTP front and callApi) is wrapped.
     */
    private recordEndpointCalls(): void {
        const target = this.host as unknown as { handleAppRequest?: RequestHandler };
        const original = target.handleAppRequest;
        if (typeof original !== 'function') {
            return;
        }
        const bound = original.bind(this.host);
        target.handleAppRequest = async (method, path, headers, body) => {
            const started = Date.now();
            const reply = await bound(method, path, headers, body);
            const call: EndpointCall = {
                seq: ++this.callSeq,
                time: started,
                method: method.toUpperCase(),
                path,
                status: reply.status,
                request: body?.length ? parseMaybeJson(body.toString('utf8')) : undefined,
                response: parseMaybeJson(reply.body.toString('utf8')),
                ms: Date.now() - started,
                curl: this.curlFor(method, path, headers, body),
            };
            this.learnContact(call);
            this.endpointCalls.push(call);
            if (this.endpointCalls.length > MAX_CALLS) {
                this.endpointCalls.splice(0, this.endpointCalls.length - MAX_CALLS);
            }
            return reply;
        };
    }

    private curlFor(method: string, path: string, headers: Record<string, string>, body: Buffer | undefined): string | null {
        if (body && body.length > MAX_CURL_BODY) {
            return null;
        }
        return curlCommand({
            method,
            url: `${this.apiBaseUrl}${path}`,
            authorization: header(headers, 'authorization'),
            contentType: header(headers, 'content-type'),
            body: body?.length ? body.toString('utf8') : undefined,
        });
    }

    /** Which contact a room belongs to: any answer with a room_id to a body naming contact.uuid. */
    private learnContact(call: EndpointCall): void {
        const request = call.request as { contact?: { uuid?: unknown; name?: unknown; urn?: unknown } } | undefined;
        const response = call.response as { room_id?: unknown } | undefined;
        const uuid = request?.contact?.uuid;
        if (call.status >= 300 || typeof uuid !== 'string' || typeof response?.room_id !== 'string') {
            return;
        }
        this.roomContacts.set(response.room_id, uuid);
        if (!this.knownContacts.has(uuid) && !this.sim.contacts.get(uuid)?.name) {
            const name = typeof request?.contact?.name === 'string' ? request.contact.name : null;
            const urn = typeof request?.contact?.urn === 'string' ? request.contact.urn : null;
            this.knownContacts.set(uuid, { name, urn });
        }
    }

    public get apiBaseUrl(): string {
        return this.host.apiBaseUrl;
    }

    public async stop(): Promise<void> {
        await this.host.stop().catch(() => undefined);
        await this.sim.close().catch(() => undefined);
    }

    // ------------------------------------------------------------------ agent side (Rocket.Chat UI)

    private async agentAction<T>(run: () => Promise<T>): Promise<T> {
        try {
            return await run();
        } catch (error) {
            throw new ActionError(errorText(error));
        }
    }

    private room(roomId: string): RcRoom {
        const room = this.host.rc.room(roomId);
        if (!room) {
            throw new ActionError(`no room ${roomId}`, 404);
        }
        return room;
    }

    private agent(username: string): RcUser {
        const user = this.host.rc.userByUsername(username);
        if (!user) {
            throw new ActionError(`no agent ${username}`, 404);
        }
        return user;
    }

    public take(roomId: string, agent: string): Promise<RcRoom> {
        this.room(roomId);
        this.agent(agent);
        return this.agentAction(() => this.host.rc.takeRoom(roomId, agent));
    }

    public reply(roomId: string, agent: string, text: string): Promise<RcMessage> {
        if (!text.trim()) {
            throw new ActionError('type a message first');
        }
        return this.agentAction(() => this.host.rc.agentSendMessage(roomId, agent, text));
    }

    public async sendFile(
        roomId: string,
        agent: string,
        file: { filename: string; contentType?: string; base64: string; text?: string },
    ): Promise<RcMessage> {
        const buffer = Buffer.from(file.base64, 'base64');
        if (!file.filename || !buffer.length) {
            throw new ActionError('choose a non-empty file');
        }
        const { message } = await this.agentAction(() =>
            this.host.rc.agentSendFile(roomId, agent, {
                filename: file.filename,
                contentType: file.contentType || undefined,
                buffer,
                text: file.text || undefined,
            }),
        );
        return message;
    }

    /** Edits the agent's last (non-system) message in the room. */
    public editLast(roomId: string, agent: string, text: string): Promise<RcMessage> {
        const user = this.agent(agent);
        const last = this.host.rc
            .messagesOf(this.room(roomId)._id)
            .filter((m) => !m.t && m.u._id === user._id)
            .pop();
        if (!last) {
            throw new ActionError(`${agent} has written nothing in this room yet`);
        }
        if (!text.trim()) {
            throw new ActionError('type the new text first');
        }
        return this.agentAction(() => this.host.rc.agentEditMessage(last._id, text, agent));
    }

    public transfer(roomId: string, agent: string, to: { department?: string; agent?: string }): Promise<boolean> {
        if (!to.department && !to.agent) {
            throw new ActionError('choose a department or an agent');
        }
        this.room(roomId);
        return this.agentAction(() => this.host.rc.agentTransfer(roomId, to, agent));
    }

    public close(roomId: string, agent: string, comment?: string): Promise<void> {
        this.room(roomId);
        return this.agentAction(() => this.host.rc.agentClose(roomId, agent, comment || undefined));
    }

    public setAgentOnline(username: string, online: boolean): void {
        this.agent(username);
        this.host.rc.setAgentOnline(username, online);
    }

    // ------------------------------------------------------------------ contact side (RapidPro webhooks, over HTTP)

    /** Calls an app endpoint over HTTP with the bridge secret, exactly as a RapidPro Call Webhook does. */
    public async callEndpoint(endpoint: string, body?: unknown, method = body === undefined ? 'GET' : 'POST'): Promise<ContactCallResult> {
        const response = await fetch(`${this.apiBaseUrl}/${endpoint}`, {
            method,
            headers: { Authorization: `Token ${this.secret}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
            body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: response.status, body: parseMaybeJson(await response.text()) };
    }

    public contact(uuid: string): { uuid: string; name?: string; urn?: string } {
        const known = this.knownContacts.get(uuid) ?? this.sim.contacts.get(uuid);
        const urn = known && 'urns' in known ? known.urns[0] : known?.urn;
        return { uuid, name: known?.name ?? undefined, urn: urn ?? undefined };
    }

    /** A new contact (or a known one) handed over by a flow, with the optional handoff keys. */
    public async handoff(input: {
        uuid?: string;
        name?: string;
        urn?: string;
        department?: string;
        text?: string;
        history?: boolean;
        language?: string;
    }): Promise<ContactCallResult> {
        const uuid = input.uuid?.trim() || randomUUID();
        const known = this.contact(uuid);
        const name = input.name?.trim() || known.name || `Contact ${uuid.slice(0, 4)}`;
        const urn = input.urn?.trim() || known.urn || `whatsapp:55119${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
        this.knownContacts.set(uuid, { name, urn });
        const contact: Record<string, unknown> = { uuid, name, urn };
        if (input.language) {
            contact.language = input.language;
        }
        const extra: Record<string, unknown> = {};
        if (input.department) {
            extra.department = input.department;
        }
        if (input.text?.trim()) {
            extra.text = input.text;
        }
        if (input.history) {
            extra.history = true;
        }
        const body = { ...defaultWebhookBody({ uuid }), contact, ...extra };
        return this.callEndpoint('handoff', body);
    }

    /** The contact writes (the body a flow's "Call Webhook" sends after a "Wait for response"). */
    public async contactMessage(input: { uuid: string; text?: string; samples?: string[] }): Promise<ContactCallResult> {
        const contact = this.contact(input.uuid);
        // Writing opens the contact's window again, on WhatsApp's side too (the app learns it from this call).
        this.openWindow(contact.uuid, false);
        const attachments = (input.samples ?? []).map((name) => {
            const type = name.endsWith('.png') ? 'image/png' : 'text/plain';
            return `${type}:${this.samplesBaseUrl}/samples/${encodeURIComponent(name)}`;
        });
        return this.callEndpoint('message', {
            contact: { uuid: contact.uuid, name: contact.name ?? null, urn: contact.urn ?? null },
            text: input.text ?? '',
            attachments,
            message_id: randomUUID(),
        });
    }

    public contactClose(uuid: string): Promise<ContactCallResult> {
        return this.callEndpoint('close', defaultWebhookBody(this.contact(uuid)));
    }

    public contactTransfer(uuid: string, department: string): Promise<ContactCallResult> {
        return this.callEndpoint('transfer', defaultWebhookBody(this.contact(uuid), { department }));
    }

    public contactStatus(uuid: string): Promise<ContactCallResult> {
        return this.callEndpoint(`status?contact=${encodeURIComponent(uuid)}`);
    }

    // ------------------------------------------------------------------ RapidPro simulator controls

    public setRapidProDown(down: boolean): void {
        this.sim.setDown(down);
    }

    /**
     * The page's "close the contact's window": both sides at once, as after a day of silence. The
     * contact's last message moves `hours` back in the app's records (its hold decision reads that:
     * replies are held) and RapidPro's side closes (whatever still goes out turns `failed`).
     */
    public closeWindow(uuid: string, hours = 25): { aged: number; hours: number } {
        const aged = this.ageContact(uuid, hours);
        this.sim.closeWindow(uuid, this.contact(uuid).urn);
        this.closedWindows.add(uuid);
        this.agedBy.set(uuid, (this.agedBy.get(uuid) ?? 0) + hours);
        return { aged, hours };
    }

    /**
     * "Open it": undoes closeWindow (RapidPro delivers again; with `undoAge` the contact's last
     * message moves back to when it was). Replies already held stay held: only the contact writing
     * releases them, as in production.
     */
    public openWindow(uuid: string, undoAge = true): void {
        this.sim.openWindow(uuid);
        this.closedWindows.delete(uuid);
        const hours = this.agedBy.get(uuid);
        this.agedBy.delete(uuid);
        if (undoAge && hours) {
            this.ageContact(uuid, -hours);
        }
    }

    /** Moves the contact's last message `hours` back in the app's conversation records (never into the future). */
    private ageContact(uuid: string, hours: number): number {
        const conversations = this.host
            .persistence()
            .map((record) => record.data as { record?: string; contactUuid?: string; lastInboundAt?: number })
            .filter((data) => data.record === 'conversation' && data.contactUuid === uuid);
        for (const data of conversations) {
            data.lastInboundAt = Math.min(Date.now(), (data.lastInboundAt || Date.now()) - hours * 3600 * 1000);
        }
        return conversations.length;
    }

    /** The next message sent to any contact is accepted by RapidPro (201), then marked `failed`. */
    public failNextMessage(): void {
        this.sim.failNextMessages(1);
    }

    private watcherJob(): { nextRunAt: Date | null } | undefined {
        return this.host.scheduler.pendingJobs().find((job) => job.name.split('_')[0] === REACH_WATCH_JOB);
    }

    /**
     * Runs the failure watcher the honest way: it is a recurring job (every 10 minutes), so the
     * harness clock moves to its next run, which runs it and anything else due by then (retries).
     */
    public async runWatcher(): Promise<{ advancedMs: number; ran: string[] }> {
        const next = this.watcherJob()?.nextRunAt;
        const gap = next ? Math.max(0, next.getTime() - this.host.clock.now().getTime()) : 10 * 60 * 1000;
        const runs = await this.host.clock.advance(gap);
        return { advancedMs: gap, ran: runs.map((run) => `${run.name.split('_')[0]}${run.ok ? '' : ` (failed: ${run.error})`}`) };
    }

    public failNextRapidProCall(status: number): void {
        this.sim.failNext(1, status === 429 ? { status, retryAfter: 5 } : { status });
    }

    /**
     * What reached the contact (README "What agents see"): RapidPro's side of a closed WhatsApp
     * window (messages to the contact turn `failed`; the app's own hold needs the contact's last
     * message 24 h back, see `ageContact`), and a failure on demand. The watcher job that reports
     * failures runs every 10 minutes.
     */
    public reachRoutes(): Record<string, (body: Record<string, unknown>) => unknown> {
        const uuidOf = (body: Record<string, unknown>): string => {
            if (typeof body.uuid !== 'string' || !body.uuid) {
                throw new ActionError('missing "uuid"');
            }
            return body.uuid;
        };
        return {
            'rapidpro/window': (body) => {
                const uuid = uuidOf(body);
                if (body.open === true) {
                    this.sim.openWindow(uuid);
                    this.closedWindows.delete(uuid);
                } else {
                    this.sim.closeWindow(uuid, this.contact(uuid).urn);
                    this.closedWindows.add(uuid);
                }
                return { uuid, windowOpen: body.open === true };
            },
            'rapidpro/fail-message': (body) => {
                if (typeof body.uuid === 'string' && body.uuid) {
                    if (!this.sim.failMessage(body.uuid)) {
                        throw new ActionError('no message sent with that uuid', 404);
                    }
                    return { failed: body.uuid };
                }
                this.failNextMessage();
                return { failNext: 1 };
            },
            'contact/window': (body) => {
                const uuid = uuidOf(body);
                if (body.open === true) {
                    this.openWindow(uuid);
                    return { uuid, windowOpen: true };
                }
                return { uuid, windowOpen: false, ...this.closeWindow(uuid, typeof body.hours === 'number' ? body.hours : 25) };
            },
            'clock/watcher': () => this.runWatcher(),
            'contact/age': (body) => {
                // The app's hold decision reads when the contact last wrote: move it back in time.
                const uuid = uuidOf(body);
                const hours = typeof body.hours === 'number' ? body.hours : 25;
                return { aged: this.ageContact(uuid, hours), hours };
            },
        };
    }

    /** How many "fail the next message" still wait: the simulator's own counter (not in its interface). */
    private pendingFailNext(): number {
        const count = (this.sim as unknown as { failNextCount?: unknown }).failNextCount;
        return typeof count === 'number' ? count : 0;
    }

    // ------------------------------------------------------------------ state for the page

    /**
     * room id -> contact uuid: what the sandbox learnt from handoff answers, completed with the app's
     * open conversations (any persistence record holding contactUuid and roomId).
     */
    private contactUuidsByRoom(): Map<string, string> {
        const map = new Map<string, string>();
        for (const record of this.host.persistence()) {
            const data = record.data as { contactUuid?: unknown; roomId?: unknown };
            if (typeof data.contactUuid === 'string' && typeof data.roomId === 'string') {
                map.set(data.roomId, data.contactUuid);
            }
        }
        for (const [roomId, uuid] of this.roomContacts) {
            map.set(roomId, uuid);
        }
        return map;
    }

    private messageView(message: RcMessage): MessageView {
        const rc = this.host.rc;
        const user = rc.users.get(message.u._id);
        let kind: MessageKind = 'agent';
        if (message.t) {
            kind = 'system';
        } else if (message.token) {
            kind = 'contact';
        } else if (user?.type === 'app' || user?.type === 'bot') {
            kind = 'app';
        }
        const upload = message.file ? rc.uploads.get(message.file._id) : undefined;
        return {
            id: message._id,
            kind,
            author: message.alias || message.u.name || message.u.username,
            username: message.u.username,
            text: message.msg,
            display: message.t ? message.msg : shortcodesToUnicode(message.msg),
            ts: message.ts.toISOString(),
            edited: !!message.editedAt,
            systemType: message.t,
            transfer: message.t === 'livechat_transfer_history' ? this.transferView(message) : undefined,
            file: upload
                ? { id: upload._id, name: upload.name, type: upload.type, url: `/files/${upload._id}/${encodeURIComponent(upload.name)}` }
                : undefined,
        };
    }

    /** Rocket.Chat's transfer record (transferData) in words: previousDepartment is an id, nextDepartment the department. */
    private transferView(message: RcMessage): MessageView['transfer'] {
        const data = (message.transferData ?? {}) as {
            transferredBy?: { username?: string };
            transferredTo?: { username?: string };
            nextDepartment?: { name?: string };
            previousDepartment?: string;
            comment?: string;
        };
        const departments = this.host.rc.departments;
        return {
            by: data.transferredBy?.username ?? message.u.username,
            toDepartment: data.nextDepartment?.name ?? null,
            toAgent: data.transferredTo?.username ?? null,
            fromDepartment: data.previousDepartment ? (departments.get(data.previousDepartment)?.name ?? data.previousDepartment) : null,
            comment: data.comment ?? null,
        };
    }

    /**
     * The app's outbox, counted as the app counts it: every record under its "every outbox item" key
     * (the key its periodic sweep reads). Scheduler jobs would not do: one job drains all of a contact's calls.
     */
    private outboxView(): SandboxState['outbox'] {
        const items = this.host
            .persistence()
            .filter((r) => r.associations?.some((a) => a.model === 'misc' && a.id === 'outbox'))
            .map(
                (r) =>
                    r.data as {
                        kind?: string;
                        summary?: string;
                        attempts?: number;
                        nextAttemptAt?: number;
                        lastError?: string;
                        seq?: number;
                    },
            )
            .sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0))
            .map((item) => ({
                kind: item.kind ?? 'unknown',
                summary: item.summary ?? item.kind ?? '',
                attempts: item.attempts ?? 0,
                nextAttemptAt: typeof item.nextAttemptAt === 'number' ? new Date(item.nextAttemptAt).toISOString() : null,
                lastError: item.lastError ?? null,
            }));
        const next = items
            .map((i) => i.nextAttemptAt)
            .filter((t): t is string => t !== null)
            .sort()[0];
        return {
            messages: items.filter((i) => i.kind === 'message').length,
            otherCalls: items.filter((i) => i.kind !== 'message').length,
            nextAttemptAt: next ?? null,
            items,
        };
    }

    private roomView(room: RcRoom, uuidsByRoom: Map<string, string>): RoomView {
        const rc = this.host.rc;
        const visitor = room.v ? rc.visitorsById.get(room.v._id) : undefined;
        const status: RoomView['status'] = !room.open ? 'closed' : room.servedBy ? 'open' : 'queued';
        return {
            id: room._id,
            status,
            department: room.departmentId ? (rc.departments.get(room.departmentId)?.name ?? room.departmentId) : null,
            contactName: room.fname || visitor?.name || room.v?.username || 'visitor',
            contactUuid: uuidsByRoom.get(room._id) ?? null,
            agent: room.servedBy?.username ?? null,
            startedAt: room.ts.toISOString(),
            closedAt: room.closedAt ? room.closedAt.toISOString() : null,
            closer: room.closer ?? null,
            closedBy: room.closer === 'visitor' ? 'contact' : (room.closedBy?.username ?? null),
            messages: rc.messagesOf(room._id).map((m) => this.messageView(m)),
            window: this.windowView(room._id, uuidsByRoom.get(room._id) ?? null),
        };
    }

    private windowView(roomId: string, contactUuid: string | null): RoomView['window'] {
        let lastInboundAt: number | null = null;
        const held: Array<{ seq: number; text: string }> = [];
        for (const record of this.host.persistence()) {
            const data = record.data as {
                record?: string;
                roomId?: string;
                contactUuid?: string;
                lastInboundAt?: number;
                seq?: number;
                text?: string;
            };
            if (data.record === 'conversation' && data.roomId === roomId && typeof data.lastInboundAt === 'number') {
                lastInboundAt = data.lastInboundAt;
            } else if (data.record === 'held-reply' && data.roomId === roomId) {
                held.push({ seq: data.seq ?? 0, text: data.text ?? '' });
            }
        }
        return {
            lastInboundAt: lastInboundAt === null ? null : new Date(lastInboundAt).toISOString(),
            rapidproClosed: contactUuid !== null && this.closedWindows.has(contactUuid),
            held: held.sort((a, b) => a.seq - b.seq).map((h) => h.text),
        };
    }

    /** The message a request to RapidPro created, by the uuid (messages.json) or broadcast id it answered. */
    private messageOf(
        path: string,
        response: unknown,
        messages: Map<string, { uuid: string; status: string }>,
    ): { uuid: string; status: string } | null {
        const answer = response as { uuid?: unknown; id?: unknown } | null;
        if (!answer || typeof answer !== 'object') {
            return null;
        }
        if (/messages\.json/.test(path) && typeof answer.uuid === 'string') {
            return messages.get(answer.uuid) ?? null;
        }
        if (/broadcasts\.json/.test(path) && typeof answer.id === 'number') {
            return messages.get(`broadcast:${answer.id}`) ?? null;
        }
        return null;
    }

    public state(): SandboxState {
        const { host, sim } = this;
        const rc = host.rc;
        const uuidsByRoom = this.contactUuidsByRoom();
        const outgoing = new Map<string, { uuid: string; status: string }>();
        for (const m of sim.messages) {
            if (m.direction === 'out') {
                outgoing.set(m.uuid, { uuid: m.uuid, status: m.status });
                if (m.broadcast !== null) {
                    outgoing.set(`broadcast:${m.broadcast}`, { uuid: m.uuid, status: m.status });
                }
            }
        }
        const rooms = rc.rooms
            .filter((r) => r.t === 'l')
            .sort((a, b) => b.ts.getTime() - a.ts.getTime())
            .map((r) => this.roomView(r, uuidsByRoom));
        const agents = [...rc.users.values()]
            .filter((u) => u.roles.includes('livechat-agent'))
            .map((u) => ({
                username: u.username,
                name: u.name,
                online: rc.isAgentOnline(u),
                departments: rc.departmentAgents
                    .filter((da) => da.agentId === u._id)
                    .map((da) => rc.departments.get(da.departmentId)?.name ?? da.departmentId),
            }));
        const contacts = new Map<string, { uuid: string; name: string | null; urn: string | null }>();
        for (const [uuid, c] of this.knownContacts) {
            contacts.set(uuid, { uuid, ...c });
        }
        for (const room of rooms) {
            if (room.contactUuid && !contacts.has(room.contactUuid)) {
                contacts.set(room.contactUuid, { uuid: room.contactUuid, name: room.contactName, urn: null });
            }
        }
        return {
            app: {
                id: host.appId,
                name: host.appInfo.name,
                version: host.appInfo.version,
                apiBaseUrl: this.apiBaseUrl,
                secret: this.secret,
                routing: rc.options.routing,
            },
            agents,
            departments: [...rc.departments.values()].map((d) => ({
                id: d._id,
                name: d.name,
                enabled: d.enabled,
                online: rc.checkOnlineAgents(d._id),
            })),
            contacts: [...contacts.values()],
            rooms,
            endpointCalls: this.endpointCalls.slice(-60).reverse(),
            rapidpro: {
                url: sim.url,
                token: sim.token,
                down: sim.isDown,
                refusedConnections: sim.refusedConnections,
                requests: sim.requests
                    .slice(-MAX_REQUESTS)
                    .reverse()
                    .map((r) => ({
                        seq: r.seq,
                        time: r.time,
                        method: r.method,
                        path: r.path,
                        query: r.query,
                        status: r.status,
                        bodyType: r.bodyType,
                        body: r.body,
                        response: r.responseBody,
                        fault: r.fault,
                        message: r.method === 'POST' ? this.messageOf(r.path, r.responseBody, outgoing) : null,
                    })),
                failNextMessages: this.pendingFailNext(),
                sentCount: sim.sent.length,
                contacts: [...sim.contacts.values()].map((c) => ({
                    uuid: c.uuid,
                    name: c.name,
                    language: c.language,
                    urns: c.urns,
                    fields: c.fields,
                })),
                flowStarts: sim.flowStarts.map((f) => ({
                    uuid: f.uuid,
                    flow: f.flow.name,
                    // The simulator may know a handed-over contact by uuid only: the name from the handoff reads better.
                    contacts: f.contacts.map((c) => c.name ?? this.knownContacts.get(c.uuid)?.name ?? c.uuid),
                    params: f.params,
                    created_on: f.created_on,
                })),
                media: sim.media.map((m) => ({
                    uuid: m.uuid,
                    filename: m.filename,
                    content_type: m.content_type,
                    size: m.size,
                    url: m.url,
                })),
            },
            outbox: this.outboxView(),
            jobs: {
                failed: host.scheduler.failedJobs().length,
                errors: host.scheduler.errors.slice(-5),
            },
            clock: {
                offsetMs: host.clock.offset,
                watcherNextRunAt: this.watcherJob()?.nextRunAt?.toISOString() ?? null,
            },
            eventErrors: rc.eventErrors.slice(-5).map((e) => `${e.event}: ${errorText(e.error)}`),
        };
    }
}
