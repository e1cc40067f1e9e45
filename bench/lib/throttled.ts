/**
 * The throttled run of `npm run bench` (issue 13): the bridge at RapidPro's rate limit.
 *
 * The simulator enforces a per-scope budget over a sliding window scaled down from an hour
 * (`rateWindowMs`), agents write at about 1.7x that budget, and the same run is made twice in fresh
 * processes: with the improvements (coalesce_backlog, scope pause + broadcast fallback) and without
 * them (both settings off: one request per reply, each contact learns each 429 on its own).
 * Figures: replies delivered per hour of budget, lost / duplicated / reordered, delay from the
 * agent's send to RapidPro (p50/p99), requests per delivered reply.
 */
import { type ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';

import { EngineHost } from '../../harness/engine';
import { type RapidProSimulator, startRapidProSimulator } from '../../harness/rapidpro-sim/simulator';
import { type Summary, summarize } from './stats';

const SECRET = 'bench-throttled-secret-51e2';
const SEPARATOR = '\n\n';

export interface ThrottledConfig {
    /** Requests per window and scope the simulator allows. */
    budget: number;
    /** The window that stands for an hour of budget, ms. */
    windowMs: number;
    /** Offered load: replies per window, as a multiple of `budget`. */
    load: number;
    /** How long agents write, ms. */
    loadMs: number;
    /** After that, how long the backlog may take to drain, at most, ms. */
    drainCapMs: number;
    conversations: number;
    /** The harness scheduler polls this often (Agenda's processEvery). */
    pollMs: number;
}

export function throttledConfig(quick: boolean): ThrottledConfig {
    const env = (name: string, fallback: number) => {
        const value = process.env[`BENCH_THROTTLED_${name}`];
        return value !== undefined && value !== '' ? Number(value) : fallback;
    };
    return {
        budget: env('BUDGET', 40),
        windowMs: env('WINDOW_MS', quick ? 10000 : 15000),
        load: env('LOAD', 1.7),
        loadMs: env('LOAD_MS', quick ? 20000 : 30000),
        drainCapMs: env('DRAIN_CAP_MS', quick ? 40000 : 90000),
        conversations: env('CONVERSATIONS', 20),
        pollMs: env('POLL_MS', 250),
    };
}

/**
 * with: the improvements (coalesce_backlog, scope pause, broadcast fallback); without: none of them;
 * one-endpoint: the improvements where replies have one endpoint only (send_mode broadcasts: no
 * fallback), to show what coalescing alone carries.
 */
export type ThrottledVariant = 'with' | 'without' | 'one-endpoint';

export interface ThrottledSubjectResult {
    variant: ThrottledVariant;
    offered: number;
    delivered: number;
    /** Replies delivered while the agents wrote, per window of budget (= per hour of budget, scaled). */
    deliveredPerBudgetHour: number;
    /** Until every reply was delivered (or the cap), from the first send, ms. */
    completedMs: number;
    lost: number;
    duplicated: number;
    reordered: number;
    delayMs: Summary;
    requests: number;
    throttledRequests: number;
    requestsPerReply: number;
    rapidProMessages: number;
    viaBroadcasts: number;
    logErrors: number;
}

// ---------------------------------------------------------------- the subject (a child process)

/** One run in this process: a fresh engine, simulator and app; answers the figures. */
export async function runSubject(zip: string, variant: ThrottledVariant, config: ThrottledConfig): Promise<ThrottledSubjectResult> {
    const improved = variant !== 'without';
    const sim: RapidProSimulator = await startRapidProSimulator({ rateLimitPerHour: config.budget, rateWindowMs: config.windowMs });
    const host = await EngineHost.start({
        zip,
        routing: 'manual',
        scheduler: 'auto',
        pollMs: config.pollMs,
        runtimeTimeoutMs: 30000,
        settings: {
            rapidpro_url: sim.url,
            rapidpro_token: sim.token,
            bridge_secret: SECRET,
            notice_queued: '-',
            notice_assigned: '-',
            notice_transferred: '-',
            notice_closed: '-',
            coalesce_backlog: improved,
            scope_pause: improved,
            send_mode: variant === 'one-endpoint' ? 'broadcasts' : 'messages',
        },
    });
    try {
        const agents = ['agent1', 'agent2', 'agent3', 'agent4'];
        host.rc.addDepartment({ name: 'General', agents: agents.map((username) => ({ username, name: username, online: true })) });
        const rooms: Array<{ roomId: string; agent: string; contact: string }> = [];
        for (let i = 0; i < config.conversations; i++) {
            const contact = `${'00000000-0000-4000-8000-'}${String(100000000000 + i).slice(-12)}`;
            const res = await host.callApi({
                path: 'handoff',
                method: 'POST',
                headers: { Authorization: `Token ${SECRET}` },
                body: {
                    contact: { uuid: contact, name: `Contact ${i}`, urn: `whatsapp:55119${String(10000000 + i).slice(-8)}` },
                    flow: { uuid: 'a1b2c3d4-0000-4000-8000-000000000001', name: 'Triage' },
                    results: {},
                },
            });
            const roomId = (res.body as { room_id?: string }).room_id;
            if (res.status !== 200 || !roomId) {
                throw new Error(`handoff failed: ${res.status} ${res.raw}`);
            }
            const agent = agents[i % agents.length];
            await host.rc.takeRoom(roomId, agent);
            rooms.push({ roomId, agent, contact });
        }
        await host.rc.idle();
        if (sim.requests.length > 0) {
            // The budget starts full at the first reply: the set-up's calls are forgotten first.
            await new Promise((resolve) => setTimeout(resolve, config.windowMs + 100));
        }
        const firstRequest = sim.requests.length;
        const firstSent = sim.sent.length;

        // Agents write at a steady rate, to contacts in a fixed pseudo-random order (some get bursts).
        const offered = Math.round((config.budget * config.load * config.loadMs) / config.windowMs);
        const interval = config.loadMs / offered;
        const sentAt = new Map<string, number>();
        const written = new Map<string, string[]>();
        let seed = 7;
        const random = () => {
            seed = (seed * 1103515245 + 12345) % 2147483648;
            return seed / 2147483648;
        };
        const started = Date.now();
        for (let n = 0; n < offered; n++) {
            const due = started + n * interval;
            const wait = due - Date.now();
            if (wait > 0) {
                await new Promise((resolve) => setTimeout(resolve, wait));
            }
            const room = rooms[Math.floor(random() * rooms.length)];
            const text = `reply ${n} to ${room.contact.slice(-4)}`;
            written.set(room.contact, (written.get(room.contact) || []).concat([text]));
            sentAt.set(text, Date.now());
            // As Rocket.Chat does: the message is stored and the app's event fired; nobody waits for the app.
            host.rc.sendMessage(host.rc.mustUser(room.agent), { msg: text }, host.rc.mustRoom(room.roomId));
        }
        const loadEnd = started + config.loadMs;
        const deliveredReplies = () =>
            sim.sent.slice(firstSent).reduce((count, message) => count + (message.text ? message.text.split(SEPARATOR).length : 0), 0);
        while (deliveredReplies() < offered && Date.now() - loadEnd < config.drainCapMs) {
            await new Promise((resolve) => setTimeout(resolve, 200));
        }
        const completedMs = Date.now() - started;
        await new Promise((resolve) => setTimeout(resolve, 500)); // a late duplicate would show here

        // What RapidPro got, reply by reply.
        const arrivals = new Map<string, number[]>();
        const receivedBy = new Map<string, string[]>();
        let deliveredDuringLoad = 0;
        const messages = sim.sent.slice(firstSent);
        for (const message of messages) {
            for (const reply of message.text ? message.text.split(SEPARATOR) : []) {
                arrivals.set(reply, (arrivals.get(reply) || []).concat([message.time]));
                const contact = message.contact || '';
                receivedBy.set(contact, (receivedBy.get(contact) || []).concat([reply]));
                if (message.time <= loadEnd) {
                    deliveredDuringLoad++;
                }
            }
        }
        let lost = 0;
        let duplicated = 0;
        const delays: number[] = [];
        for (const [text, at] of sentAt) {
            const got = arrivals.get(text);
            if (!got) {
                lost++;
                continue;
            }
            duplicated += got.length - 1;
            delays.push(got[0] - at);
        }
        let reordered = 0;
        for (const [contact, texts] of written) {
            const got = (receivedBy.get(contact) || []).filter((text, index, all) => all.indexOf(text) === index);
            const expected = texts.filter((text) => got.indexOf(text) >= 0);
            reordered += expected.filter((text, index) => got[index] !== text).length;
        }
        const requests = sim.requests.slice(firstRequest).filter((r) => r.method === 'POST');
        const delivered = offered - lost;
        // Errors the app logged (warnings are expected here: every 429 is one).
        const logErrors = host.logs.flatMap((l) => (l.entries || []).filter((e) => String(e.severity) === 'error')).length;
        return {
            variant,
            offered,
            delivered,
            deliveredPerBudgetHour: deliveredDuringLoad / (config.loadMs / config.windowMs),
            completedMs,
            lost,
            duplicated,
            reordered,
            delayMs: summarize(delays),
            requests: requests.length,
            throttledRequests: requests.filter((r) => r.status === 429).length,
            requestsPerReply: delivered > 0 ? requests.length / delivered : Number.NaN,
            rapidProMessages: messages.length,
            viaBroadcasts: messages.filter((m) => m.via === 'broadcasts').length,
            logErrors,
        };
    } finally {
        await host.stop();
        await sim.close();
    }
}

/** The child's side: runs one subject as told over IPC, answers its figures. */
export function childMain(): void {
    process.on('message', async (message: { zip: string; variant: ThrottledVariant; config: ThrottledConfig }) => {
        try {
            const result = await runSubject(message.zip, message.variant, message.config);
            process.send?.({ ok: true, result }, () => process.exit(0));
        } catch (error) {
            process.send?.({ ok: false, error: error instanceof Error ? error.stack : String(error) }, () => process.exit(1));
        }
    });
}

// ---------------------------------------------------------------- the comparison (bench/main.ts calls this)

function inChild(zip: string, variant: ThrottledVariant, config: ThrottledConfig): Promise<ThrottledSubjectResult> {
    return new Promise((resolve, reject) => {
        // One EngineHost per process (the harness allows one); stderr kept out of the table.
        const child: ChildProcess = fork(path.join(__dirname, '..', 'throttled-worker.js'), [], {
            stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        });
        let stderr = '';
        child.stderr?.on('data', (chunk) => {
            stderr = (stderr + String(chunk)).slice(-4000);
        });
        child.once('message', (answer: { ok: boolean; result?: ThrottledSubjectResult; error?: string }) => {
            if (answer.ok && answer.result) {
                resolve(answer.result);
            } else {
                reject(new Error(`throttled run failed: ${answer.error}`));
            }
        });
        child.once('exit', (code) => {
            if (code !== 0) {
                reject(new Error(`throttled worker exited (${code}): ${stderr}`));
            }
        });
        child.send({ zip, variant, config });
    });
}

export const THROTTLED_DEFINITION =
    'the simulator allows `budget` requests per scope (v2.messages, v2, v2.contacts) per sliding `windowMs` (an hour of ' +
    "RapidPro's budget, scaled down); agents of `conversations` rooms write `load` x budget replies per window for " +
    '`loadMs` without waiting for the app, to contacts in a fixed pseudo-random order. throttled_delivered_ratio = replies ' +
    'RapidPro had by the end of the writing, per window, with the improvements (coalesce_backlog, scope pause, broadcast ' +
    'fallback) / without them (both settings off: one request per reply, each contact learns every 429 itself); ' +
    'lost/duplicated/reordered and requests per delivered reply (every POST, 429s included) are of the run with them, ' +
    'after the backlog drained; a merged RapidPro message counts as the replies it carries. one_endpoint: the ' +
    'improvements with send_mode broadcasts (no other endpoint to fall back to: coalescing alone)';

export interface ThrottledComparison {
    definition: string;
    config: ThrottledConfig;
    with: ThrottledSubjectResult;
    without: ThrottledSubjectResult;
    oneEndpoint: ThrottledSubjectResult;
    /** For results.json. */
    figures: {
        throttled_delivered_ratio: number;
        throttled_lost: number;
        throttled_duplicated: number;
        throttled_reordered: number;
        throttled_requests_per_reply: number;
    };
    table: string[];
}

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

export async function runThrottledComparison(appZip: string, quick: boolean, log: (line: string) => void): Promise<ThrottledComparison> {
    const config = throttledConfig(quick);
    const hourScale = 3600000 / config.windowMs;
    log(
        `throttled: ${config.budget} requests per scope per ${config.windowMs / 1000} s (an hour of budget, scaled), ` +
            `${config.load}x that offered for ${config.loadMs / 1000} s over ${config.conversations} conversations`,
    );
    const done = (r: ThrottledSubjectResult) =>
        log(`throttled ${r.variant}: ${r.delivered}/${r.offered} delivered in ${round(r.completedMs / 1000, 1)} s`);
    const improved = await inChild(appZip, 'with', config);
    done(improved);
    const plain = await inChild(appZip, 'without', config);
    done(plain);
    const oneEndpoint = await inChild(appZip, 'one-endpoint', config);
    done(oneEndpoint);
    const row = (label: string, f: (r: ThrottledSubjectResult) => string) =>
        `  ${label.padEnd(44)} ${f(improved).padStart(12)} ${f(plain).padStart(12)} ${f(oneEndpoint).padStart(14)}`;
    const table = [
        `throttled run (budget ${config.budget}/scope per ${config.windowMs / 1000} s = 1 h scaled x${round(hourScale, 0)}, load ${config.load}x)`,
        `  ${''.padEnd(44)} ${'with'.padStart(12)} ${'without'.padStart(12)} ${'with, 1 endpt'.padStart(14)}`,
        row('replies delivered per hour of budget', (r) => String(round(r.deliveredPerBudgetHour, 1))),
        row('replies offered / delivered', (r) => `${r.offered}/${r.delivered}`),
        row('all delivered after (s)', (r) => String(round(r.completedMs / 1000, 1))),
        row('lost / duplicated / reordered', (r) => `${r.lost}/${r.duplicated}/${r.reordered}`),
        row('delay agent send -> RapidPro p50 (s)', (r) => String(round(r.delayMs.p50 / 1000, 2))),
        row('delay agent send -> RapidPro p99 (s)', (r) => String(round(r.delayMs.p99 / 1000, 2))),
        row('requests per delivered reply (429s incl.)', (r) => String(round(r.requestsPerReply, 3))),
        row('requests answered 429', (r) => String(r.throttledRequests)),
        row('RapidPro messages (over broadcasts)', (r) => `${r.rapidProMessages} (${r.viaBroadcasts})`),
    ];
    return {
        definition: THROTTLED_DEFINITION,
        config,
        with: improved,
        without: plain,
        oneEndpoint,
        figures: {
            throttled_delivered_ratio: round(improved.deliveredPerBudgetHour / plain.deliveredPerBudgetHour),
            throttled_lost: improved.lost,
            throttled_duplicated: improved.duplicated,
            throttled_reordered: improved.reordered,
            throttled_requests_per_reply: round(improved.requestsPerReply),
        },
        table,
    };
}
