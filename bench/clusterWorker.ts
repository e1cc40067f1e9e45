/**
 * One cluster subject in its own process: the packaged RapidPro Bridge on a harness Cluster of N instances
 * (harness/engine/cluster.ts: N EngineHosts, each its own Deno runtime, over one emulated Rocket.Chat, one app
 * persistence and one Agenda collection) with one RapidPro simulator. bench/main.ts forks one per instance count
 * and interleaves their throughput segments, as it does for the app and the floor.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { buildApiRequest, Cluster } from '../harness/engine';
import type { RcRoom } from '../harness/engine';
import { type RapidProSimulator, startRapidProSimulator } from '../harness/rapidpro-sim/simulator';

import { check, type DirectionCheck, SECRET, Slots } from './lib/delivery';
import { summarize, type Summary } from './lib/stats';
import { serveOverIpc } from './lib/ipc';

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

export interface ClusterThroughputResult {
    instances: number;
    conversations: number;
    messagesEachWay: number;
    inFlight: number;
    endpointUnderLoad: Summary;
    eventUnderLoad: Summary;
    segments: Array<{ from: number; to: number; ops: number; ms: number }>;
    ops: number;
    elapsedMs: number;
    opsPerSec: number;
    contactToAgent: DirectionCheck;
    agentToContact: DirectionCheck;
    endpointErrors: number;
    eventErrors: number;
    /** Drain jobs the flush after the run still had to run (deliveries left to a job, e.g. a claim held elsewhere). */
    retryJobsRun: number;
    /** Endpoint calls and agent-message events per instance (checks the round-robin). */
    callsPerInstance: number[];
    eventsPerInstance: number[];
    /** RapidPro messages.json POSTs made by each instance. */
    httpPerInstance: number[];
}

export interface SlowContactRun {
    withSlow: boolean;
    others: number;
    messages: number;
    /** Agent message created -> the simulator handles its POST messages.json, other contacts only (ms). */
    delay: Summary;
    /** The samples behind `delay` (pooled by main.ts, left out of results.json). */
    delaySamples?: number[];
    /** Other contacts' messages that never reached the simulator within the wait. */
    missing: number;
    /** Of the missing ones, those RapidPro still had not got once every pending drain job ran (lost, not late). */
    neverArrived: number;
    /** The slow contact's POSTs that hung (each answered 503 after the hang: no effect at RapidPro). */
    slowCallsHung: number;
    /** The others' window (first send to last arrival) and how long the slow contact's calls hung within it (ms). */
    windowMs: number;
    hungWithinWindowMs: number;
    /** Outbox drain jobs that ran during the run (deliveries left to a job, of any contact). */
    drainJobsRun: number;
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

class ClusterSubject {
    private cluster!: Cluster;
    private sim!: RapidProSimulator;
    private convs: Conversation[] = [];
    private seq = 0;
    /** IPostMessageSent dispatch of each message, to await one message's handling (not rc.idle()). */
    private readonly eventByMessage = new Map<string, Promise<void>>();
    /** performance.now() at which the simulator handled the POST messages.json of each text. */
    private readonly arrivals = new Map<string, number>();
    /** Contact whose messages.json calls hang (slow-contact runs), the hang, and the hung calls' spans. */
    private slowUuid?: string;
    private hangMs = 0;
    private readonly hung: Array<{ from: number; to: number }> = [];
    private slowUsed = 0;
    private readonly calls: number[] = [];
    private readonly events: number[] = [];

    async init(args: { instances: number; zip: string; requestTimeoutMs: number }): Promise<{ instances: number; pids: number[] }> {
        this.sim = await startRapidProSimulator();
        this.cluster = await Cluster.start({
            instances: args.instances,
            zip: args.zip,
            routing: 'auto',
            runtimeTimeoutMs: 30000,
            // Each instance's Agenda runs what is due on its own, in real time (the virtual clock is real time until
            // advanced), as on a server; polled often, as Agenda's own timers start a locked job at its time.
            scheduler: 'auto',
            pollMs: 250,
            settings: {
                rapidpro_url: this.sim.url,
                rapidpro_token: this.sim.token,
                bridge_secret: SECRET,
                request_timeout_ms: args.requestTimeoutMs,
                // No notices: the handoffs of the setup then leave nothing for jobs to send.
                notice_queued: '-',
                notice_assigned: '-',
                notice_transferred: '-',
                notice_closed: '-',
            },
        });
        this.calls.push(...Array.from({ length: args.instances }, () => 0));
        this.events.push(...Array.from({ length: args.instances }, () => 0));
        this.cluster.rc.addDepartment({
            name: DEPARTMENT,
            agents: Array.from({ length: AGENTS }, (_, i) => {
                const username = `agent${String(i + 1).padStart(2, '0')}`;
                return { username, name: username, online: true };
            }),
        });
        const rc = this.cluster.rc as unknown as {
            fire: (event: string, payload: unknown, meta?: { messageId?: string }) => Promise<void>;
        };
        const fire = rc.fire.bind(rc);
        rc.fire = (event, payload, meta = {}) => {
            const promise = fire(event, payload, meta);
            if (event === 'IPostMessageSent' && meta.messageId) {
                this.eventByMessage.set(meta.messageId, promise);
            }
            return promise;
        };
        // The simulator's request handling, per message: when it got the text, and the slow contact's calls, which
        // hang (delayNext, the simulator's own delay) and then fail with no effect, like a RapidPro stuck on them.
        // dispatch runs right before the router takes the delay, with no await in between: the delay is this call's.
        type Ctx = { method: string; path: string; body: { data: unknown } };
        const sim = this.sim as unknown as { dispatch: (ctx: Ctx, req: unknown) => unknown };
        const dispatch = sim.dispatch.bind(sim);
        sim.dispatch = (ctx, req) => {
            if (ctx.method === 'POST' && ctx.path.endsWith('/messages.json')) {
                const body = (ctx.body.data || {}) as { contact?: string; text?: string };
                if (this.slowUuid && body.contact === this.slowUuid) {
                    const from = performance.now();
                    this.hung.push({ from, to: from + this.hangMs });
                    this.sim.delayNext(1, this.hangMs, { path: ctx.path });
                    return { status: 503, text: 'Service Unavailable', contentType: 'text/html' };
                }
                if (typeof body.text === 'string') {
                    this.arrivals.set(body.text, performance.now());
                }
            }
            return dispatch(ctx, req);
        };
        return { instances: this.cluster.size, pids: this.cluster.hosts.map((_, i) => this.cluster.runtimePid(i) ?? 0) };
    }

    /** Real handoffs through the balancer (round-robin), in small parallel batches. */
    async setup(args: { n: number }): Promise<{ conversations: number; ms: number; retryJobsRun: number }> {
        const t0 = performance.now();
        for (let start = 0; start < args.n; start += 10) {
            const chunk = await Promise.all(
                Array.from({ length: Math.min(10, args.n - start) }, async (_, k) => {
                    const idx = start + k;
                    const contact = {
                        uuid: randomUUID(),
                        name: `Contact ${idx}`,
                        urn: `whatsapp:55119${String(10000000 + idx).slice(-8)}`,
                    };
                    const res = await this.cluster.callApi({
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
                    const room = this.cluster.rc.room(res.body.room_id) as RcRoom;
                    return {
                        idx,
                        contactUuid: contact.uuid,
                        contactName: contact.name,
                        urn: contact.urn,
                        roomId: room._id,
                        agent: room.servedBy!.username,
                    };
                }),
            );
            this.convs.push(...chunk);
        }
        const retryJobsRun = await this.flush();
        this.eventByMessage.clear();
        return { conversations: this.convs.length, ms: performance.now() - t0, retryJobsRun };
    }

    /** POST to the app endpoint on instance `on` as callApi builds it, minus callApi's global rc.idle() (see worker.ts). */
    private post(on: number, path: string, body: unknown): Promise<number> {
        this.calls[on]++;
        const host = this.cluster.instance(on);
        return this.cluster.on(on, async () => {
            const buf = Buffer.from(JSON.stringify(body), 'utf8');
            const headers: Record<string, string> = {
                host: new URL(this.cluster.rc.options.siteUrl).host,
                'content-type': 'application/json',
                'content-length': String(buf.length),
                authorization: `Token ${SECRET}`,
            };
            const match = host.bridges.api.match(host.appId, `/${path}`);
            if (!match) {
                return 404;
            }
            const built = buildApiRequest('POST', `/${path}`, headers, buf);
            if (built.early) {
                return built.early.status;
            }
            built.request.params = match.params;
            const response = await host.manager.getApiManager().executeApi(host.appId, match.route.path, built.request as never);
            return response.status;
        });
    }

    /** The agent writes in the room; the message's events fire on instance `on`. Resolves once its event was handled. */
    private agentMessage(c: Conversation, text: string, on: number): Promise<void> {
        this.events[on]++;
        const rc = this.cluster.rc;
        const room = rc.mustRoom(c.roomId);
        const message = this.cluster.on(on, () => rc.sendMessage(rc.mustUser(c.agent), { msg: text }, room));
        const handled = this.eventByMessage.get(message._id);
        this.eventByMessage.delete(message._id);
        return handled ?? Promise.resolve();
    }

    private webhookBody(c: Conversation, text: string): Record<string, unknown> {
        return {
            contact: { uuid: c.contactUuid, name: c.contactName, urn: c.urn },
            flow: { uuid: 'a1b2c3d4-0000-4000-8000-000000000001', name: 'Agent chat' },
            input: { uuid: randomUUID(), type: 'msg', text, attachments: [], created_on: new Date().toISOString(), urn: c.urn },
            results: {},
        };
    }

    // ------------------------------------------------------------------ throughput (same load as worker.ts)

    private tp?: {
        tag: string;
        messages: number;
        inFlight: number;
        slots: Slots;
        endpointTimes: number[];
        eventTimes: number[];
        endpointErrors: number;
        eventErrors: number;
        httpBefore: number[];
        elapsedMs: number;
        segments: Array<{ from: number; to: number; ops: number; ms: number }>;
    };

    async throughputStart(args: { messages: number; inFlight: number }): Promise<void> {
        await this.cluster.idle();
        this.calls.fill(0);
        this.events.fill(0);
        this.tp = {
            tag: `t${++this.seq}`,
            messages: args.messages,
            inFlight: args.inFlight,
            slots: new Slots(args.inFlight),
            endpointTimes: [],
            eventTimes: [],
            endpointErrors: 0,
            eventErrors: 0,
            httpBefore: this.cluster.hosts.map((h) => h.httpCalls.length),
            elapsedMs: 0,
            segments: [],
        };
    }

    /**
     * Message indexes [from, to) of every conversation at once, as worker.ts throughputSegment, with message i of
     * conversation c, both ways, on instance (c + i) mod N: the balancer's round-robin, and one contact's calls and
     * events alternate instances from one message to the next.
     */
    async throughputSegment(args: { from: number; to: number }): Promise<{ ops: number; ms: number }> {
        const tp = this.tp!;
        const { tag, slots } = tp;
        const n = this.cluster.size;
        const timed = async (into: number[], work: () => Promise<void>) => {
            const t = performance.now();
            await work();
            into.push(performance.now() - t);
        };
        const t0 = performance.now();
        await Promise.all(
            this.convs.map(async (c) => {
                const inbound = (async () => {
                    for (let i = args.from; i < args.to; i++) {
                        try {
                            await slots.run(() =>
                                timed(tp.endpointTimes, async () => {
                                    if (
                                        (await this.post((c.idx + i) % n, 'message', this.webhookBody(c, `${tag} in ${c.idx} ${i}`))) !==
                                        200
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
                const outbound = (async () => {
                    for (let i = args.from; i < args.to; i++) {
                        try {
                            await slots.run(() =>
                                timed(tp.eventTimes, () => this.agentMessage(c, `${tag} out ${c.idx} ${i}`, (c.idx + i) % n)),
                            );
                        } catch {
                            tp.eventErrors++;
                        }
                    }
                })();
                await Promise.all([inbound, outbound]);
            }),
        );
        await this.cluster.idle();
        const ms = performance.now() - t0;
        const ops = this.convs.length * (args.to - args.from) * 2;
        tp.elapsedMs += ms;
        tp.segments.push({ from: args.from, to: args.to, ops, ms });
        return { ops, ms };
    }

    async throughputFinish(): Promise<ClusterThroughputResult> {
        const tp = this.tp!;
        const retryJobsRun = await this.flush();
        this.eventByMessage.clear();
        const delivered = this.delivered(tp.tag, this.convs, tp.messages);
        const ops = tp.segments.reduce((a, x) => a + x.ops, 0);
        return {
            instances: this.cluster.size,
            conversations: this.convs.length,
            messagesEachWay: tp.messages,
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
            callsPerInstance: [...this.calls],
            eventsPerInstance: [...this.events],
            httpPerInstance: this.cluster.hosts.map(
                (h, i) =>
                    h.httpCalls.slice(tp.httpBefore[i]).filter((c) => c.method === 'POST' && c.url.includes('/api/v2/messages.json'))
                        .length,
            ),
        };
    }

    /** contact -> agent: visitor messages in the rooms; agent -> contact: what the simulator accepted, in its order. */
    private delivered(tag: string, convs: Conversation[], m: number): { contactToAgent: DirectionCheck; agentToContact: DirectionCheck } {
        const byIdx = new Map(convs.map((c) => [c.idx, c]));
        const collect = (re: RegExp, entries: Array<{ text: string; ok: (c: Conversation) => boolean }>) => {
            const got = new Map<number, number[]>();
            let misrouted = 0;
            for (const e of entries) {
                const hit = re.exec(e.text);
                if (!hit) {
                    continue;
                }
                const conv = byIdx.get(Number(hit[1]));
                if (!conv || !e.ok(conv)) {
                    misrouted++;
                    continue;
                }
                (got.get(conv.idx) || got.set(conv.idx, []).get(conv.idx)!).push(Number(hit[2]));
            }
            return { got, misrouted };
        };
        const inbound = collect(
            new RegExp(`^${tag} in (\\d+) (\\d+)$`),
            [...this.cluster.rc.messagesById.values()].map((msg) => ({
                text: msg.msg || '',
                ok: (c) => msg.rid === c.roomId && !!msg.token,
            })),
        );
        const outbound = collect(
            new RegExp(`^${tag} out (\\d+) (\\d+)$`),
            [...this.sim.sent].sort((a, b) => a.seq - b.seq).map((s) => ({ text: s.text || '', ok: (c) => s.contact === c.contactUuid })),
        );
        return {
            contactToAgent: { ...check(convs, m, inbound.got), misrouted: inbound.misrouted },
            agentToContact: { ...check(convs, m, outbound.got), misrouted: outbound.misrouted },
        };
    }

    // ------------------------------------------------------------------ slow contact

    /**
     * `others` conversations' agents each write `messages` messages, one every `spacingMs` (staggered over the
     * conversations; Rocket.Chat does not wait for app events), events on instance (c + i) mod N. With `withSlow`,
     * one more contact's agent writes the same way, and every messages.json call for that contact hangs `hangMs`
     * (past the app's request_timeout_ms) then fails. Measures the others' delivery delays.
     */
    async slowContact(args: {
        others: number;
        messages: number;
        spacingMs: number;
        withSlow: boolean;
        hangMs: number;
    }): Promise<SlowContactRun> {
        await this.quiet();
        const n = this.cluster.size;
        const others = this.convs.slice(0, args.others);
        const slow = args.withSlow ? this.convs[args.others + this.slowUsed++] : undefined;
        if (args.withSlow && !slow) {
            throw new Error('not enough conversations for another slow contact');
        }
        this.slowUuid = slow?.contactUuid;
        this.hangMs = args.hangMs;
        this.hung.length = 0;
        const tag = `s${++this.seq}`;
        const jobsBefore = this.cluster.jobHistory.length;
        const sentAt = new Map<string, number>();
        const othersHandled: Array<Promise<void>> = [];
        const slowHandled: Array<Promise<void>> = [];
        const t0 = performance.now();
        const writer = async (c: Conversation, k: number, into: Array<Promise<void>>, record: boolean) => {
            await sleep((args.spacingMs * k) / (args.others + 1));
            for (let i = 0; i < args.messages; i++) {
                const text = `${tag} out ${c.idx} ${i}`;
                if (record) {
                    sentAt.set(text, performance.now());
                }
                into.push(this.agentMessage(c, text, (c.idx + i) % n).catch(() => undefined));
                await sleep(args.spacingMs);
            }
        };
        await Promise.all([
            ...(slow ? [writer(slow, 0, slowHandled, false)] : []),
            ...others.map((c, k) => writer(c, k + 1, othersHandled, true)),
        ]);
        await Promise.all(othersHandled);
        // A delivery left to a job (a claim held on another instance) arrives when Agenda runs it: waited for.
        const deadline = performance.now() + args.hangMs + 15000;
        while ([...sentAt.keys()].some((t) => !this.arrivals.has(t)) && performance.now() < deadline) {
            await sleep(50);
        }
        const delays: number[] = [];
        let missing = 0;
        let lastArrival = t0;
        for (const [text, at] of sentAt) {
            const arrived = this.arrivals.get(text);
            if (arrived === undefined) {
                missing++;
            } else {
                delays.push(arrived - at);
                lastArrival = Math.max(lastArrival, arrived);
            }
        }
        await Promise.all(slowHandled);
        const hungWithinWindowMs = this.hung.reduce((a, h) => a + Math.max(0, Math.min(h.to, lastArrival) - Math.max(h.from, t0)), 0);
        const result: SlowContactRun = {
            withSlow: args.withSlow,
            others: others.length,
            messages: args.messages,
            delay: summarize(delays),
            delaySamples: delays,
            missing,
            neverArrived: missing,
            slowCallsHung: this.hung.length,
            windowMs: lastArrival - t0,
            hungWithinWindowMs,
            drainJobsRun: this.cluster.jobHistory.slice(jobsBefore).filter((run) => run.name.startsWith('rapidpro-outbox-drain')).length,
        };
        this.slowUuid = undefined;
        await this.quiet();
        result.neverArrived = [...sentAt.keys()].filter((text) => !this.arrivals.has(text)).length;
        for (const text of sentAt.keys()) {
            this.arrivals.delete(text);
        }
        return result;
    }

    /**
     * Between slow-contact runs: no hung call still open (a drain job of the slow contact may have started one
     * after its events were handled) and no drain job pending, so a run does not inherit the previous one's.
     */
    private async quiet(): Promise<void> {
        const lastHang = Math.max(0, ...this.hung.map((h) => h.to));
        await sleep(Math.max(0, lastHang - performance.now() + 200));
        await this.flush();
    }

    // ------------------------------------------------------------------ jobs, diagnostics, shutdown

    /**
     * Waits (real time: the instances' Agenda polls on its own) until no outbox drain job is pending, at most
     * `capMs`; then, should any be left, moves the virtual clock to each in turn, as clusterRig.flush. Answers how
     * many drain jobs ran meanwhile (deliveries a job had to make).
     */
    private async flush(capMs = 20000): Promise<number> {
        const before = this.cluster.jobHistory.length;
        const drains = () => this.cluster.pendingJobs().filter((job) => job.name.startsWith('rapidpro-outbox-drain'));
        const deadline = performance.now() + capMs;
        await this.cluster.idle();
        while (drains().length > 0 && performance.now() < deadline) {
            await sleep(100);
            await this.cluster.idle();
        }
        for (let round = 0; round < 40 && drains().length > 0; round++) {
            const next = (drains()[0].nextRunAt as Date).getTime();
            await this.cluster.advance(Math.max(0, next - this.cluster.clock.now().getTime()));
        }
        await this.cluster.idle();
        return this.cluster.jobHistory.slice(before).filter((run) => run.name.startsWith('rapidpro-outbox-drain')).length;
    }

    async diagnostics(): Promise<{ eventErrors: number; logErrors: number; sample: string[] }> {
        const errors = this.cluster.hosts.flatMap((host) =>
            host.logs.flatMap((l) =>
                (l.entries || [])
                    .filter((e) => ['error', 'warning', 'warn'].includes(String(e.severity)))
                    .map((e) => `${e.severity}: ${JSON.stringify(e.args).slice(0, 200)}`),
            ),
        );
        return {
            eventErrors: this.cluster.rc.eventErrors.length,
            logErrors: errors.length,
            sample: [
                ...errors.slice(0, 5),
                ...this.cluster.rc.eventErrors.slice(0, 3).map((e) => `${e.event}: ${String((e.error as Error)?.message ?? e.error)}`),
            ],
        };
    }

    async stop(): Promise<void> {
        await this.cluster.stop();
        await this.sim.close();
    }
}

// ------------------------------------------------------------------ IPC loop

const subject = new ClusterSubject();

serveOverIpc(subject);
