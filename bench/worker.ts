/**
 * One benchmark subject in its own process: an EngineHost running one app zip (the RapidPro Bridge
 * or the floor app) against the in-memory Rocket.Chat, with a RapidPro simulator, instrumented from
 * the host side. The orchestrator (bench/main.ts) drives two of these over IPC and interleaves
 * their measurement batches, so the app and the floor see the same machine conditions and never
 * run at the same time. (One process can only hold one EngineHost.)
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import { performance } from 'node:perf_hooks';

import { buildApiRequest, EngineHost } from '../harness/engine';
import type { RcRoom } from '../harness/engine';
import { type RapidProSimulator, startRapidProSimulator } from '../harness/rapidpro-sim/simulator';

import { check, type DirectionCheck, SECRET, Slots } from './lib/delivery';
import { type Counts, HostInstrument, type StoredRecord } from './lib/instrument';
import { summarize, type Summary } from './lib/stats';
import { serveOverIpc } from './lib/ipc';

export type { DirectionCheck } from './lib/delivery';
export { SECRET } from './lib/delivery';

export type Kind = 'app' | 'floor';
export type OpKind = 'ping' | 'message' | 'event';

const DEPARTMENT = 'General';
const AGENTS = 20;

interface Conversation {
    idx: number;
    contactUuid: string;
    contactName: string;
    urn: string;
    roomId: string;
    agent: string;
}

export interface BatchResult {
    op: OpKind;
    n: number;
    /** Endpoint: until the app's response (what RapidPro's webhook waits for). Event: until RapidPro got the POST. */
    primary: number[];
    /** Until callApi / agentSendMessage resolved: the response AND every app event it caused was handled. */
    settled: number[];
    failures: number;
    counts: Counts;
}

export interface ThroughputResult {
    conversations: number;
    messagesEachWay: number;
    /** Most requests in flight at once over both directions (0 = unbounded). */
    inFlight: number;
    /** Per-op time under load (ms), waiting for an in-flight slot excluded. */
    endpointUnderLoad: Summary;
    eventUnderLoad: Summary;
    /** Interleaved with the other subject's; elapsedMs is their sum. */
    segments: Array<{ from: number; to: number; ops: number; ms: number }>;
    ops: number;
    elapsedMs: number;
    opsPerSec: number;
    contactToAgent: DirectionCheck;
    agentToContact: DirectionCheck;
    endpointErrors: number;
    eventErrors: number;
    retryJobsRun: number;
    httpToMessagesJson: number;
    httpFailures: number;
    counts: Counts;
}

export interface MemoryInfo {
    hostPid: number;
    hostVmHWMkB: number;
    hostVmRSSkB: number;
    denoPid?: number;
    denoVmHWMkB?: number;
    denoVmRSSkB?: number;
}

function procStatus(pid: number | 'self'): { VmHWM: number; VmRSS: number } {
    try {
        const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
        const get = (k: string) => Number((new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text) || [])[1] || NaN);
        return { VmHWM: get('VmHWM'), VmRSS: get('VmRSS') };
    } catch {
        return { VmHWM: NaN, VmRSS: NaN };
    }
}

function misc(id: string): { model: string; id: string } {
    // RocketChatAssociationRecord(RocketChatAssociationModel.MISC, id) as stored (plain JSON, key order model, id)
    return { model: 'misc', id };
}

class Worker {
    private host!: EngineHost;
    private sim!: RapidProSimulator;
    private inst!: HostInstrument;
    private kind!: Kind;
    private active: Conversation[] = [];
    private bulk: Conversation[] = [];
    private filler: StoredRecord[] = [];
    private fillerSeeded = 0;
    private arrivals: number[] = [];
    private lastApiDone = 0;
    /** The IPostMessageSent dispatch of each message (rc.fire's promise), to await one message's handling. */
    private readonly eventByMessage = new Map<string, Promise<void>>();
    private rr = 0;
    private seq = 0;
    private departmentId = '';
    private agentNames: string[] = [];
    /** data of a conversation record a real handoff wrote (the app's shape), used for seeded records. */
    private template: Record<string, unknown> = {};

    async init(args: { kind: Kind; zip: string }): Promise<{ appId: string; denoPid?: number }> {
        this.kind = args.kind;
        this.sim = await startRapidProSimulator();
        const settings: Record<string, unknown> = { rapidpro_url: this.sim.url, rapidpro_token: this.sim.token };
        if (this.kind === 'app') {
            settings.bridge_secret = SECRET;
        }
        this.host = await EngineHost.start({ zip: args.zip, routing: 'auto', runtimeTimeoutMs: 30000, settings });
        this.agentNames = Array.from({ length: AGENTS }, (_, i) => `agent${String(i + 1).padStart(2, '0')}`);
        const dep = this.host.rc.addDepartment({
            name: DEPARTMENT,
            agents: this.agentNames.map((username) => ({ username, name: username, online: true })),
        });
        this.departmentId = dep._id;
        this.inst = new HostInstrument(this.host).install();

        // When the simulator *receives* POST messages.json (before it reads the body).
        const server = (this.sim as unknown as { server: http.Server }).server;
        server.prependListener('request', (req: http.IncomingMessage) => {
            if (req.method === 'POST' && (req.url || '').startsWith('/api/v2/messages.json')) {
                this.arrivals.push(performance.now());
            }
        });
        // When the app's endpoint answered (before the host waits for the events it caused).
        const apiManager = this.host.manager.getApiManager() as unknown as { executeApi: (...a: unknown[]) => Promise<unknown> };
        const execute = apiManager.executeApi.bind(apiManager);
        apiManager.executeApi = async (...a: unknown[]) => {
            try {
                return await execute(...a);
            } finally {
                this.lastApiDone = performance.now();
            }
        };
        const rc = this.host.rc as unknown as { fire: (event: string, payload: unknown, meta?: { messageId?: string }) => Promise<void> };
        const fire = rc.fire.bind(rc);
        rc.fire = (event, payload, meta = {}) => {
            const promise = fire(event, payload, meta);
            if (event === 'IPostMessageSent' && meta.messageId) {
                this.eventByMessage.set(meta.messageId, promise);
            }
            return promise;
        };
        return { appId: this.host.appId, denoPid: this.inst.denoPid() };
    }

    /**
     * POST to an app endpoint exactly as host.callApi does (route match, buildApiRequest, executeApi),
     * minus callApi's final `rc.idle()`: that waits for EVERY in-flight app event of the whole host,
     * a global barrier that, with thousands of concurrent callers, costs O(callers x pending) and
     * measured the harness instead of the app. Rocket.Chat answers the webhook without waiting for events.
     */
    private async postDirect(path: string, headers: Record<string, string>, body: unknown): Promise<number> {
        const buf = Buffer.from(JSON.stringify(body), 'utf8');
        const h: Record<string, string> = {
            host: new URL(this.host.rc.options.siteUrl).host,
            'content-type': 'application/json',
            'content-length': String(buf.length),
        };
        for (const [k, v] of Object.entries(headers)) {
            h[k.toLowerCase()] = v;
        }
        const match = this.host.bridges.api.match(this.host.appId, `/${path}`);
        if (!match) {
            return 404;
        }
        const built = buildApiRequest('POST', `/${path}`, h, buf);
        if (built.early) {
            return built.early.status;
        }
        built.request.params = match.params;
        const response = await this.host.manager.getApiManager().executeApi(this.host.appId, match.route.path, built.request as never);
        return response.status;
    }

    /**
     * What rc.agentSendMessage does (store the message, fire IPostMessageSent), then waits for THAT
     * message's event to be handled (`wait`), not for every event of the host (rc.idle()).
     */
    private async agentMessage(c: Conversation, text: string, wait: boolean): Promise<void> {
        const rc = this.host.rc;
        const room = rc.mustRoom(c.roomId);
        if (!room.open || room.servedBy?.username !== c.agent) {
            throw new Error(`agent ${c.agent} cannot write in ${c.roomId}`);
        }
        const message = rc.sendMessage(rc.mustUser(c.agent), { msg: text }, room);
        const handled = this.eventByMessage.get(message._id);
        this.eventByMessage.delete(message._id);
        if (wait && handled) {
            await handled;
        }
    }

    // ------------------------------------------------------------------ conversations

    private webhookBody(c: Conversation, text: string): Record<string, unknown> {
        // RapidPro's default Call Webhook body for a message the contact sent (input.uuid = message id).
        return {
            contact: { uuid: c.contactUuid, name: c.contactName, urn: c.urn },
            flow: { uuid: 'a1b2c3d4-0000-4000-8000-000000000001', name: 'Agent chat' },
            input: { uuid: randomUUID(), type: 'msg', text, attachments: [], created_on: new Date().toISOString(), urn: c.urn },
            results: {},
        };
    }

    private newContact(idx: number): { uuid: string; name: string; urn: string } {
        return { uuid: randomUUID(), name: `Contact ${idx}`, urn: `whatsapp:55119${String(10000000 + idx).slice(-8)}` };
    }

    /** The app: real handoffs through its `handoff` endpoint. The floor: rooms + records seeded. */
    async setupActive(args: { n: number; template?: Record<string, unknown> }): Promise<{
        conversations: number;
        recordShapeMatches?: boolean;
        realRecord?: unknown;
        template?: Record<string, unknown>;
        outboxLeft: number;
    }> {
        if (this.kind === 'floor') {
            this.template = args.template || {};
            this.active = await this.seedConversations(args.n, 0);
            return { conversations: this.active.length, outboxLeft: 0 };
        }
        for (let i = 0; i < args.n; i++) {
            const contact = this.newContact(i);
            const res = await this.host.callApi({
                path: 'handoff',
                method: 'POST',
                headers: { Authorization: `Token ${SECRET}` },
                body: {
                    contact: { uuid: contact.uuid, name: contact.name, urn: contact.urn },
                    flow: { uuid: 'a1b2c3d4-0000-4000-8000-000000000001', name: 'Triage' },
                    results: { symptom: { value: 'fever', category: 'Fever' } },
                    department: DEPARTMENT,
                },
            });
            if (res.status !== 200 || !res.body?.room_id) {
                throw new Error(`handoff failed: ${res.status} ${res.raw}`);
            }
            const room = this.host.rc.room(res.body.room_id) as RcRoom;
            this.active.push({
                idx: i,
                contactUuid: contact.uuid,
                contactName: contact.name,
                urn: contact.urn,
                roomId: room._id,
                agent: room.servedBy!.username,
            });
        }
        await this.flushJobs();
        // The record a real handoff left, to check that seeded records have the same shape.
        const real = this.host
            .persistence()
            .find((r) => (r.associations || []).some((a) => a.id === `conversation:contact:${this.active[0].contactUuid}`));
        this.template = real ? { ...(real.data as Record<string, unknown>) } : {};
        const a0 = this.active[0];
        const seeded = this.conversationRecord({ contactUuid: a0.contactUuid, contactName: a0.contactName, roomId: a0.roomId }, 'x');
        const shape = (r: { data: object; associations?: unknown }) => ({
            dataKeys: Object.keys(r.data).sort(),
            associations: JSON.stringify(r.associations).replace(/"id":"conversation:(contact|room):[^"]*"/g, '"id":"conversation:$1:*"'),
        });
        const outboxLeft = this.host.persistence().filter((r) => (r.associations || []).some((a) => a.id === 'outbox')).length;
        return {
            conversations: this.active.length,
            recordShapeMatches: !!real && JSON.stringify(shape(real)) === JSON.stringify(shape(seeded)),
            realRecord: real ? { associations: real.associations, dataKeys: Object.keys(real.data) } : undefined,
            template: this.template,
            outboxLeft,
        };
    }

    /** A conversation record in the app's shape (ConversationStore.save after a handoff). */
    private conversationRecord(
        c: { contactUuid: string; contactName: string; roomId: string; visitorId?: string; visitorToken?: string; agentId?: string },
        id?: string,
    ): StoredRecord {
        const data: Record<string, unknown> = {
            ...this.template,
            contactUuid: c.contactUuid,
            roomId: c.roomId,
            visitorId: c.visitorId ?? `v${c.roomId}`,
            visitorToken: c.visitorToken ?? `t${c.roomId}`,
            contactName: c.contactName,
            departmentId: this.departmentId,
            departmentName: DEPARTMENT,
            openedAt: Date.now(),
            announcedAgentId: c.agentId ?? 'agent',
        };
        return {
            _id: id ?? `seed-${++this.seq}-${c.roomId}`,
            appId: this.host.appId,
            associations: [misc(`conversation:contact:${c.contactUuid}`), misc(`conversation:room:${c.roomId}`)],
            data,
        };
    }

    /** Livechat rooms created straight in the emulated Rocket.Chat (app events muted), + their records. */
    private async seedConversations(n: number, from: number): Promise<Conversation[]> {
        const rc = this.host.rc as unknown as { fire: (...a: unknown[]) => Promise<void> };
        const fire = rc.fire;
        rc.fire = () => Promise.resolve();
        const out: Conversation[] = [];
        try {
            for (let start = 0; start < n; start += 200) {
                const chunk = await Promise.all(
                    Array.from({ length: Math.min(200, n - start) }, async (_, k) => {
                        const idx = from + start + k;
                        const contact = this.newContact(idx);
                        const visitor = await this.host.rc.registerGuest({
                            token: randomUUID().replace(/-/g, ''),
                            name: contact.name,
                            username: `rapidpro-${contact.uuid.slice(0, 8)}`,
                            department: this.departmentId,
                        });
                        const room = await this.host.rc.createLivechatRoom({
                            visitor,
                            source: { type: 'app', id: this.host.appId, alias: this.host.appInfo.nameSlug, label: 'RapidPro' } as never,
                        });
                        const agent = this.host.rc.users.get(room.servedBy!._id)!;
                        this.inst.seed([
                            this.conversationRecord({
                                contactUuid: contact.uuid,
                                contactName: contact.name,
                                roomId: room._id,
                                visitorId: visitor._id,
                                visitorToken: visitor.token,
                                agentId: agent._id,
                            }),
                        ]);
                        return {
                            idx,
                            contactUuid: contact.uuid,
                            contactName: contact.name,
                            urn: contact.urn,
                            roomId: room._id,
                            agent: agent.username,
                        };
                    }),
                );
                out.push(...chunk);
            }
        } finally {
            rc.fire = fire;
        }
        return out;
    }

    async seedBulk(args: { n: number }): Promise<{ conversations: number; stored: number }> {
        this.bulk = await this.seedConversations(args.n, 100000);
        return { conversations: this.bulk.length, stored: this.inst.size };
    }

    /** Number of stored conversation records = `level` (filler records in the app's shape are added/removed). */
    async setStored(args: { level: number }): Promise<{ stored: number; conversations: number; ms: number }> {
        const started = performance.now();
        const base = this.active.length + this.bulk.length;
        const want = Math.max(0, args.level - base);
        while (this.filler.length < want) {
            const i = this.filler.length;
            const uuid = randomUUID();
            this.filler.push(
                this.conversationRecord({ contactUuid: uuid, contactName: `Stored ${i}`, roomId: `stored${String(i).padStart(12, '0')}` }),
            );
        }
        if (want > this.fillerSeeded) {
            this.inst.seed(this.filler.slice(this.fillerSeeded, want));
        } else if (want < this.fillerSeeded) {
            this.inst.unseed(this.filler.slice(want, this.fillerSeeded));
        }
        this.fillerSeeded = want;
        return { stored: this.inst.size, conversations: base + want, ms: performance.now() - started };
    }

    async setIndex(args: { enabled: boolean }): Promise<{ verified: boolean }> {
        this.inst.indexEnabled = args.enabled;
        const c = this.active[0];
        const verified = await this.inst.verify(
            [
                [misc(`conversation:contact:${c.contactUuid}`)],
                [misc(`conversation:room:${c.roomId}`)],
                [misc(`conversation:contact:${c.contactUuid}`), misc(`conversation:room:${c.roomId}`)],
                [misc('outbox')],
                [misc('nothing-here')],
            ],
            this.host.appId,
        );
        return { verified };
    }

    // ------------------------------------------------------------------ serial latency batches

    async batch(args: { op: OpKind; n: number }): Promise<BatchResult> {
        const primary: number[] = [];
        const settled: number[] = [];
        let failures = 0;
        await this.host.rc.idle();
        const before = this.inst.snapshot();
        for (let i = 0; i < args.n; i++) {
            const c = this.active[this.rr++ % this.active.length];
            const text = `${args.op} ${this.kind} #${++this.seq} for ${c.contactName}`;
            if (args.op === 'event') {
                const mark = this.arrivals.length;
                const t0 = performance.now();
                await this.host.rc.agentSendMessage(c.roomId, c.agent, text);
                const t1 = performance.now();
                this.eventByMessage.clear();
                const arrived = this.arrivals.length > mark ? this.arrivals[mark] : NaN;
                if (this.arrivals.length - mark !== 1) {
                    failures++;
                }
                if (Number.isFinite(arrived)) {
                    primary.push(arrived - t0);
                }
                settled.push(t1 - t0);
            } else {
                const t0 = performance.now();
                const res = await this.host.callApi({
                    path: args.op,
                    method: 'POST',
                    headers: this.kind === 'app' ? { Authorization: `Token ${SECRET}` } : {},
                    body: this.webhookBody(c, text),
                });
                const t1 = performance.now();
                if (res.status !== 200) {
                    failures++;
                }
                primary.push(this.lastApiDone - t0);
                settled.push(t1 - t0);
            }
        }
        await this.host.rc.idle();
        const counts = HostInstrument.diff(this.inst.snapshot(), before);
        this.arrivals.length = 0;
        this.eventByMessage.clear();
        return { op: args.op, n: args.n, primary, settled, failures, counts };
    }

    // ------------------------------------------------------------------ concurrent throughput

    private tp?: {
        tag: string;
        messages: number;
        inFlight: number;
        slots: Slots;
        endpointTimes: number[];
        eventTimes: number[];
        endpointErrors: number;
        eventErrors: number;
        before: Counts;
        httpBefore: number;
        elapsedMs: number;
        segments: Array<{ from: number; to: number; ops: number; ms: number }>;
    };

    /**
     * Throughput, in segments so the orchestrator can interleave the app's and the floor's:
     * `throughputStart`, then `throughputSegment` for message indexes [from, to) of every
     * conversation at once, then `throughputFinish` (retry jobs, delivery checks). Per conversation the
     * messages stay one after the other across segments.
     */
    async throughputStart(args: { messages: number; inFlight: number }): Promise<void> {
        await this.host.rc.idle();
        this.tp = {
            tag: `t${++this.seq}`,
            messages: args.messages,
            inFlight: args.inFlight,
            slots: new Slots(args.inFlight),
            endpointTimes: [],
            eventTimes: [],
            endpointErrors: 0,
            eventErrors: 0,
            before: this.inst.snapshot(),
            httpBefore: this.host.httpCalls.length,
            elapsedMs: 0,
            segments: [],
        };
    }

    async throughputSegment(args: { from: number; to: number }): Promise<{ ops: number; ms: number }> {
        const tp = this.tp!;
        const { tag, slots } = tp;
        const timed = async (into: number[], work: () => Promise<void>) => {
            const t = performance.now();
            await work();
            into.push(performance.now() - t);
        };
        const headers: Record<string, string> = this.kind === 'app' ? { Authorization: `Token ${SECRET}` } : {};
        const t0 = performance.now();
        await Promise.all(
            this.bulk.map(async (c) => {
                // RapidPro calls the webhook of one contact's flow one after the other (it waits for the answer).
                const inbound = (async () => {
                    for (let i = args.from; i < args.to; i++) {
                        try {
                            await slots.run(() =>
                                timed(tp.endpointTimes, async () => {
                                    if (
                                        (await this.postDirect('message', headers, this.webhookBody(c, `${tag} in ${c.idx} ${i}`))) !== 200
                                    ) {
                                        tp.endpointErrors++;
                                    }
                                }),
                            );
                        } catch {
                            tp.endpointErrors++;
                        }
                    }
                })();
                // The agent writes the next message once the app handled the previous one (agentSendMessage semantics).
                const outbound = (async () => {
                    for (let i = args.from; i < args.to; i++) {
                        try {
                            await slots.run(() => timed(tp.eventTimes, () => this.agentMessage(c, `${tag} out ${c.idx} ${i}`, true)));
                        } catch {
                            tp.eventErrors++;
                        }
                    }
                })();
                await Promise.all([inbound, outbound]);
            }),
        );
        await this.host.rc.idle(); // every event the segment caused (e.g. the visitor messages' IPostMessageSent)
        const ms = performance.now() - t0;
        const ops = this.bulk.length * (args.to - args.from) * 2;
        tp.elapsedMs += ms;
        tp.segments.push({ from: args.from, to: args.to, ops, ms });
        return { ops, ms };
    }

    async throughputFinish(): Promise<ThroughputResult> {
        const tp = this.tp!;
        const convs = this.bulk;
        const m = tp.messages;
        // Anything the app left for its retry job (none expected): run it, so "lost" means lost.
        const retryJobsRun = await this.flushJobs();
        const counts = HostInstrument.diff(this.inst.snapshot(), tp.before);
        const calls = this.host.httpCalls.slice(tp.httpBefore);
        this.eventByMessage.clear();
        const httpToMessagesJson = calls.filter((c) => c.method === 'POST' && c.url.includes('/api/v2/messages.json')).length;
        const httpFailures = calls.filter((c) => c.error || (c.status !== undefined && c.status >= 400)).length;
        const delivered = this.delivered(tp.tag, convs, m);
        const ops = tp.segments.reduce((a, x) => a + x.ops, 0);
        return {
            conversations: convs.length,
            messagesEachWay: m,
            inFlight: tp.inFlight,
            endpointUnderLoad: summarize(tp.endpointTimes),
            eventUnderLoad: summarize(tp.eventTimes),
            segments: tp.segments,
            ops,
            elapsedMs: tp.elapsedMs,
            opsPerSec: ops / (tp.elapsedMs / 1000),
            contactToAgent: delivered.contactToAgent,
            agentToContact: delivered.agentToContact,
            endpointErrors: tp.endpointErrors,
            eventErrors: tp.eventErrors,
            retryJobsRun,
            httpToMessagesJson,
            httpFailures,
            counts,
        };
    }

    /**
     * Ordering under a burst: agents of `conversations` rooms each send `messages` messages back to
     * back, without waiting for the app (Rocket.Chat does not wait for app events either), so the
     * app's handlers of one room run concurrently. Checks what RapidPro got.
     */
    async burst(args: { conversations: number; messages: number }): Promise<{
        conversations: number;
        messages: number;
        elapsedMs: number;
        agentToContact: DirectionCheck;
        retryJobsRun: number;
        httpToMessagesJson: number;
    }> {
        const convs = this.bulk.slice(0, args.conversations);
        const tag = `b${++this.seq}`;
        await this.host.rc.idle();
        const httpBefore = this.host.httpCalls.length;
        const t0 = performance.now();
        for (let i = 0; i < args.messages; i++) {
            for (const c of convs) {
                await this.agentMessage(c, `${tag} out ${c.idx} ${i}`, false);
            }
        }
        await this.host.rc.idle();
        const elapsedMs = performance.now() - t0;
        const retryJobsRun = await this.flushJobs();
        this.eventByMessage.clear();
        const httpToMessagesJson = this.host.httpCalls
            .slice(httpBefore)
            .filter((c) => c.method === 'POST' && c.url.includes('/api/v2/messages.json')).length;
        return {
            conversations: convs.length,
            messages: args.messages,
            elapsedMs,
            agentToContact: this.delivered(tag, convs, args.messages).agentToContact,
            retryJobsRun,
            httpToMessagesJson,
        };
    }

    /** contact -> agent: what the rooms got from the visitor; agent -> contact: what the simulator got, in arrival order. */
    private delivered(tag: string, convs: Conversation[], m: number): { contactToAgent: DirectionCheck; agentToContact: DirectionCheck } {
        const byIdx = new Map(convs.map((c) => [c.idx, c]));
        const inRe = new RegExp(`^${tag} in (\\d+) (\\d+)$`);
        const inbound = new Map<number, number[]>();
        let misroutedIn = 0;
        for (const msg of this.host.rc.messagesById.values()) {
            const hit = inRe.exec(msg.msg || '');
            if (!hit) {
                continue;
            }
            const idx = Number(hit[1]);
            const conv = byIdx.get(idx);
            if (!conv || msg.rid !== conv.roomId || !msg.token) {
                misroutedIn++;
                continue;
            }
            (inbound.get(idx) || inbound.set(idx, []).get(idx)!).push(Number(hit[2]));
        }
        const outRe = new RegExp(`^${tag} out (\\d+) (\\d+)$`);
        const outbound = new Map<number, number[]>();
        let misroutedOut = 0;
        // A waiting backlog goes as one RapidPro message (coalesce_backlog): it counts as the replies it carries.
        for (const sent of this.sim.sent) {
            for (const text of (sent.text || '').split('\n\n')) {
                const hit = outRe.exec(text);
                if (!hit) {
                    continue;
                }
                const idx = Number(hit[1]);
                const conv = byIdx.get(idx);
                if (!conv || sent.contact !== conv.contactUuid) {
                    misroutedOut++;
                    continue;
                }
                (outbound.get(idx) || outbound.set(idx, []).get(idx)!).push(Number(hit[2]));
            }
        }
        return {
            contactToAgent: { ...check(convs, m, inbound), misrouted: misroutedIn },
            agentToContact: { ...check(convs, m, outbound), misrouted: misroutedOut },
        };
    }

    /** Runs due jobs (the app's scheduled drains) until none is left; returns how many ran. */
    private async flushJobs(): Promise<number> {
        let ran = 0;
        for (let round = 0; round < 20; round++) {
            await this.host.rc.idle();
            const pending = this.host.scheduler.pendingJobs().filter((j) => j.type === 'normal');
            if (pending.length === 0) {
                break;
            }
            const soonest = pending[0].nextRunAt!.getTime() - this.host.clock.now().getTime();
            const runs = soonest > 0 ? await this.host.clock.advance(soonest + 1) : await this.host.runDueJobs();
            ran += runs.filter((r) => r.name !== 'rapidpro-outbox-sweep').length;
        }
        await this.host.rc.idle();
        return ran;
    }

    // ------------------------------------------------------------------ memory & shutdown

    async memory(): Promise<MemoryInfo> {
        const self = procStatus('self');
        const pid = this.inst.denoPid();
        const deno = pid ? procStatus(pid) : undefined;
        return {
            hostPid: process.pid,
            hostVmHWMkB: self.VmHWM,
            hostVmRSSkB: self.VmRSS,
            denoPid: pid,
            denoVmHWMkB: deno?.VmHWM,
            denoVmRSSkB: deno?.VmRSS,
        };
    }

    async diagnostics(): Promise<{
        logErrors: number;
        eventErrors: number;
        permissionDenials: number;
        schedulerErrors: number;
        failedJobs: number;
        sample: string[];
    }> {
        const errors = this.host.logs.flatMap((l) =>
            (l.entries || [])
                .filter((e) => ['error', 'warning', 'warn'].includes(String(e.severity)))
                .map((e) => `${e.severity}: ${JSON.stringify(e.args).slice(0, 200)}`),
        );
        return {
            logErrors: errors.length,
            eventErrors: this.host.rc.eventErrors.length,
            permissionDenials: this.host.permissionDenials.length,
            schedulerErrors: this.host.scheduler.errors.length,
            failedJobs: this.host.scheduler.failedJobs().length,
            sample: [
                ...errors.slice(0, 5),
                ...this.host.rc.eventErrors.slice(0, 3).map((e) => `${e.event}: ${String((e.error as Error)?.message ?? e.error)}`),
            ],
        };
    }

    async stop(): Promise<void> {
        await this.host.stop();
        await this.sim.close();
    }
}

// ------------------------------------------------------------------ IPC loop

const worker = new Worker();

serveOverIpc(worker);
