/**
 * Orchestrates the benchmark: two worker processes (bench/worker.ts), one hosting the RapidPro
 * Bridge, one the floor app (bench/fixtures/floor-app), each in the real Apps-Engine with its own
 * RapidPro simulator. Measurement batches alternate between them (never concurrently), so the
 * ratios come from the same run under the same machine conditions.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { median, ratio, round, summarize, type Summary } from './lib/stats';
import { runThrottledComparison } from './lib/throttled';
import { WorkerHandle } from './lib/workerHandle';
import { type ClusterFigures, runCluster } from './cluster';
import type { BatchResult, Kind, MemoryInfo, OpKind, ThroughputResult } from './worker';

const QUICK = process.env.BENCH_QUICK === '1';
const CONFIG = QUICK
    ? {
          active: 10,
          warmup: 20,
          rounds: 2,
          batch: 20,
          scaleLevels: [10, 1000, 10000],
          scaleRounds: 1,
          scaleBatch: 10,
          scanProbe: 3,
          conversations: 100,
          messages: 10,
          inFlight: 64,
          burstConversations: 50,
          clusterInstances: [1, 2, 3],
          clusterConversations: 20,
          clusterMessages: 4,
          clusterInFlight: 64,
          clusterRequestTimeoutMs: 5000,
          slowOthers: 10,
          slowMessages: 6,
          slowSpacingMs: 500,
          slowRounds: 1,
      }
    : {
          active: 10,
          warmup: 100,
          rounds: 30,
          batch: 20,
          scaleLevels: [10, 10000, 100000],
          scaleRounds: 8,
          scaleBatch: 20,
          scanProbe: 3,
          conversations: 1000,
          messages: 10,
          inFlight: 64,
          burstConversations: 100,
          // The cluster run: fewer conversations than the throughput run (3 instances = 3 Deno processes + the
          // host on 2 cores), the same load for 1, 2 and 3 instances.
          clusterInstances: [1, 2, 3],
          clusterConversations: 50,
          clusterMessages: 10,
          clusterInFlight: 64,
          clusterRequestTimeoutMs: 5000,
          slowOthers: 20,
          slowMessages: 10,
          slowSpacingMs: 500,
          slowRounds: 2,
      };
// Overrides for experiments: BENCH_ROUNDS=20, BENCH_SCALE_LEVELS=10,1000,100000, ...
for (const key of Object.keys(CONFIG) as Array<keyof typeof CONFIG>) {
    const env = process.env[`BENCH_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`];
    if (env !== undefined && env !== '') {
        (CONFIG as Record<string, unknown>)[key] = Array.isArray(CONFIG[key]) ? env.split(',').map(Number) : Number(env);
    }
}

const TARGETS = { endpoint_ratio: 1.5, event_ratio: 1.5, throughput_ratio: 0.5, scaling_ratio: 1.25 };
/** Issue 13's: against the floor's minimal message endpoint and minimal event, and its throughput. */
const FLOOR_TARGETS = { message_floor_ratio: 1.2, event_floor_ratio: 1.2, throughput_ratio: 0.9 };

function log(line: string): void {
    process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** Sums per-op counts of several batches, divided by the number of ops. */
function perOp(batches: BatchResult[]): Record<string, number> {
    const n = batches.reduce((a, b) => a + b.n, 0);
    const sum: Record<string, number> = {};
    for (const b of batches) {
        for (const [k, v] of Object.entries(b.counts)) {
            sum[k] = (sum[k] ?? 0) + v;
        }
    }
    const out: Record<string, number> = {};
    for (const k of Object.keys(sum).sort()) {
        out[k] = round(sum[k] / n, 3);
    }
    return out;
}

function categories(counts: Record<string, number>): Record<string, number> {
    const sumWhere = (pred: (k: string) => boolean) =>
        round(
            Object.entries(counts)
                .filter(([k]) => pred(k))
                .reduce((a, [, v]) => a + v, 0),
            3,
        );
    return {
        http_requests: counts['http:calls'] ?? 0,
        persistence_reads: sumWhere((k) => k.startsWith('db:read:')),
        persistence_writes: sumWhere((k) => k.startsWith('db:write:')),
        settings_reads: sumWhere((k) => k.startsWith('app->host:') && k.includes(':getSettings:')),
        server_settings_reads: sumWhere((k) => k.startsWith('app->host:') && k.includes(':getServerSettings:')),
        scheduler_calls: sumWhere((k) => k.startsWith('app->host:') && k.includes('getScheduler')),
        room_reads: sumWhere((k) => k.startsWith('app->host:') && k.includes(':getRoomReader:')),
        messages_created: sumWhere((k) => /doCreateMessage|getMessageBridge:doCreate$/.test(k)),
        app_to_host_calls: counts['app->host:total'] ?? 0,
        host_to_app_calls: counts['host->app:total'] ?? 0,
    };
}

function mb(kB: number | undefined): number {
    return kB === undefined || !Number.isFinite(kB) ? NaN : round(kB / 1024, 1);
}

function fmt(n: number, digits = 2): string {
    return Number.isFinite(n) ? n.toFixed(digits) : String(n);
}

function pad(s: string, w: number): string {
    return s.length >= w ? s : s + ' '.repeat(w - s.length);
}

function lpad(s: string, w: number): string {
    return s.length >= w ? s : ' '.repeat(w - s.length) + s;
}

export async function main(zips: { appZip: string; floorZip: string }): Promise<void> {
    const started = Date.now();
    const loadBefore = os.loadavg();
    log(
        `${QUICK ? 'QUICK ' : ''}run: app ${path.relative(process.cwd(), zips.appZip)}` +
            `, floor ${path.relative(process.cwd(), zips.floorZip)}`,
    );
    const app = new WorkerHandle('app', '--worker');
    const floor = new WorkerHandle('floor', '--worker');
    const workers = { app, floor };
    try {
        const [appInit, floorInit] = [
            await app.call('init', { kind: 'app', zip: zips.appZip }),
            await floor.call('init', { kind: 'floor', zip: zips.floorZip }),
        ];
        const appSetup = await app.call('setupActive', { n: CONFIG.active });
        const floorSetup = await floor.call('setupActive', { n: CONFIG.active, template: appSetup.template });
        log(
            `hosts up (app ${appInit.appId}, floor ${floorInit.appId}); ${CONFIG.active} conversations ` +
                `each (app: real handoffs; seeded record shape matches handoff: ${appSetup.recordShapeMatches})`,
        );
        const indexCheck = await app.call('setIndex', { enabled: true });

        // ---------------------------------------------------------------- warm-up
        const plan: Array<[Kind, OpKind]> = [
            ['app', 'message'],
            ['floor', 'ping'],
            ['app', 'event'],
            ['floor', 'event'],
            ['floor', 'message'],
        ];
        for (let i = 0; i < 2; i++) {
            for (const [kind, op] of plan) {
                await workers[kind].call('batch', { op, n: Math.ceil(CONFIG.warmup / 2) });
            }
        }
        log('warmed up');

        // ---------------------------------------------------------------- interleaved latency rounds
        const batches: Record<string, BatchResult[]> = {};
        const roundRatios = { endpoint: [] as number[], event: [] as number[] };
        for (let r = 0; r < CONFIG.rounds; r++) {
            const order = r % 2 === 0 ? plan : [...plan].reverse();
            const thisRound: Record<string, BatchResult> = {};
            for (const [kind, op] of order) {
                const res: BatchResult = await workers[kind].call('batch', { op, n: CONFIG.batch });
                batches[`${kind}.${op}`] = batches[`${kind}.${op}`] || [];
                batches[`${kind}.${op}`].push(res);
                thisRound[`${kind}.${op}`] = res;
            }
            roundRatios.endpoint.push(
                ratio(summarize(thisRound['app.message'].primary).p50, summarize(thisRound['floor.ping'].primary).p50),
            );
            roundRatios.event.push(ratio(summarize(thisRound['app.event'].primary).p50, summarize(thisRound['floor.event'].primary).p50));
        }
        const lat = (key: string, which: 'primary' | 'settled'): Summary => summarize(batches[key].flatMap((b) => b[which]));
        const failures = (key: string) => batches[key].reduce((a, b) => a + b.failures, 0);
        log(`latency: ${CONFIG.rounds} interleaved rounds x ${CONFIG.batch} ops per kind`);

        // ---------------------------------------------------------------- scaling (app; stored conversations)
        const scaling: Record<
            number,
            { message: number[]; event: number[]; message_settled: number[]; event_settled: number[]; counts: BatchResult[] }
        > = {};
        const levels = CONFIG.scaleLevels;
        for (const level of levels) {
            scaling[level] = { message: [], event: [], message_settled: [], event_settled: [], counts: [] };
        }
        const floorDuringScaling: number[] = [];
        const scalingRoundRatios: Array<{ message: number; event: number }> = [];
        for (let r = 0; r < CONFIG.scaleRounds; r++) {
            const order = r % 2 === 0 ? levels : [...levels].reverse();
            const p50s: Record<number, { message: number; event: number }> = {};
            for (const level of order) {
                await app.call('setStored', { level });
                p50s[level] = { message: NaN, event: NaN };
                for (const op of ['message', 'event'] as Array<'message' | 'event'>) {
                    const res: BatchResult = await app.call('batch', { op, n: CONFIG.scaleBatch });
                    p50s[level][op] = summarize(res.primary).p50;
                    scaling[level][op].push(...res.primary);
                    scaling[level][`${op}_settled` as 'message_settled'].push(...res.settled);
                    scaling[level].counts.push(res);
                }
            }
            const ref: BatchResult = await floor.call('batch', { op: 'ping', n: CONFIG.scaleBatch });
            floorDuringScaling.push(...ref.primary);
            const hi = levels[levels.length - 1];
            scalingRoundRatios.push({
                message: ratio(p50s[hi].message, p50s[levels[0]].message),
                event: ratio(p50s[hi].event, p50s[levels[0]].event),
            });
        }
        // The harness's own persistence (no index) at the largest level, a few ops: what the emulation would have measured.
        const top = levels[levels.length - 1];
        await app.call('setStored', { level: top });
        const scanCheck = await app.call('setIndex', { enabled: false });
        const scanMessage: BatchResult = await app.call('batch', { op: 'message', n: CONFIG.scanProbe });
        const scanEvent: BatchResult = await app.call('batch', { op: 'event', n: CONFIG.scanProbe });
        await app.call('setIndex', { enabled: true });
        await app.call('setStored', { level: 0 });
        log(`scaling: ${levels.join(' / ')} stored conversations, ${CONFIG.scaleRounds} rounds x ${CONFIG.scaleBatch} ops`);

        // ---------------------------------------------------------------- concurrent throughput
        await app.call('seedBulk', { n: CONFIG.conversations });
        await floor.call('seedBulk', { n: CONFIG.conversations });
        const tp: Record<Kind, ThroughputResult[]> = { app: [], floor: [] };
        const segmentRatios: number[] = [];
        for (const kind of ['app', 'floor'] as Kind[]) {
            await workers[kind].call('throughputStart', { messages: CONFIG.messages, inFlight: CONFIG.inFlight });
        }
        // One segment = message i of every conversation, each way; app and floor segments alternate.
        for (let i = 0; i < CONFIG.messages; i++) {
            const order: Kind[] = i % 2 === 0 ? ['app', 'floor'] : ['floor', 'app'];
            const seg: Record<string, { ops: number; ms: number }> = {};
            for (const kind of order) {
                seg[kind] = await workers[kind].call('throughputSegment', { from: i, to: i + 1 });
            }
            segmentRatios.push(ratio(seg.app.ops / seg.app.ms, seg.floor.ops / seg.floor.ms));
        }
        for (const kind of ['app', 'floor'] as Kind[]) {
            const res: ThroughputResult = await workers[kind].call('throughputFinish');
            tp[kind].push(res);
            log(`throughput ${kind}: ${res.ops} ops in ${fmt(res.elapsedMs / 1000, 1)} s = ${fmt(res.opsPerSec, 0)} ops/s`);
        }

        // ---------------------------------------------------------------- ordering under a burst (agents do not wait for the app)
        // biome-ignore lint/suspicious/noExplicitAny: worker results are untyped JSON over IPC
        const burst: Record<Kind, any> = { app: undefined, floor: undefined };
        for (const kind of ['app', 'floor'] as Kind[]) {
            burst[kind] = await workers[kind].call('burst', { conversations: CONFIG.burstConversations, messages: CONFIG.messages });
            const b = burst[kind].agentToContact;
            log(
                `burst ${kind}: ${CONFIG.burstConversations} rooms x ${CONFIG.messages} back-to-back agent ` +
                    `messages: lost/dup/reordered ${b.lost}/${b.duplicated}/${b.reordered}`,
            );
        }

        // ---------------------------------------------------------------- memory, diagnostics
        const memApp: MemoryInfo = await app.call('memory');
        const memFloor: MemoryInfo = await floor.call('memory');
        const diagApp = await app.call('diagnostics');
        const diagFloor = await floor.call('diagnostics');
        await app.call('stop');
        await floor.call('stop');

        // ---------------------------------------------------------------- cluster (1, 2, 3 instances) and the slow contact
        const cl = await runCluster(
            zips.appZip,
            {
                clusterInstances: CONFIG.clusterInstances,
                clusterConversations: CONFIG.clusterConversations,
                clusterMessages: CONFIG.clusterMessages,
                clusterInFlight: CONFIG.clusterInFlight,
                requestTimeoutMs: CONFIG.clusterRequestTimeoutMs,
                slowOthers: CONFIG.slowOthers,
                slowMessages: CONFIG.slowMessages,
                slowSpacingMs: CONFIG.slowSpacingMs,
                slowRounds: CONFIG.slowRounds,
            },
            log,
        );

        // ---------------------------------------------------------------- results
        const L = {
            app_message: lat('app.message', 'primary'),
            app_message_settled: lat('app.message', 'settled'),
            app_event: lat('app.event', 'primary'),
            app_event_settled: lat('app.event', 'settled'),
            floor_ping: lat('floor.ping', 'primary'),
            floor_ping_settled: lat('floor.ping', 'settled'),
            floor_message: lat('floor.message', 'primary'),
            floor_message_settled: lat('floor.message', 'settled'),
            floor_event: lat('floor.event', 'primary'),
            floor_event_settled: lat('floor.event', 'settled'),
        };
        const countsPerOp = {
            app_message: perOp(batches['app.message']),
            app_event: perOp(batches['app.event']),
            floor_ping: perOp(batches['floor.ping']),
            floor_message: perOp(batches['floor.message']),
            floor_event: perOp(batches['floor.event']),
        };
        const cats = Object.fromEntries(Object.entries(countsPerOp).map(([k, v]) => [k, categories(v)]));
        const scaleSummary = Object.fromEntries(
            levels.map((level) => [
                level,
                {
                    message: summarize(scaling[level].message),
                    event: summarize(scaling[level].event),
                    message_settled: summarize(scaling[level].message_settled),
                    event_settled: summarize(scaling[level].event_settled),
                    db_ops_per_op: categories(perOp(scaling[level].counts)),
                },
            ]),
        );
        const low = levels[0];
        const scalingMessage = ratio(scaleSummary[top].message.p50, scaleSummary[low].message.p50);
        const scalingEvent = ratio(scaleSummary[top].event.p50, scaleSummary[low].event.p50);
        const sumTp = (k: Kind) => {
            const ops = tp[k].reduce((a, r) => a + r.ops, 0);
            const ms = tp[k].reduce((a, r) => a + r.elapsedMs, 0);
            return ops / (ms / 1000);
        };
        const appTp = sumTp('app');
        const floorTp = sumTp('floor');
        const tally = (k: Kind, f: 'lost' | 'duplicated' | 'reordered') =>
            tp[k].reduce((a, r) => a + r.contactToAgent[f] + r.agentToContact[f], 0);
        const misrouted = tp.app.reduce((a, r) => a + r.contactToAgent.misrouted + r.agentToContact.misrouted, 0);
        const agentMessages = tp.app.reduce((a, r) => a + r.conversations * r.messagesEachWay, 0);
        const httpPerPart = ratio(
            tp.app.reduce((a, r) => a + r.httpToMessagesJson, 0),
            agentMessages,
        );

        // At RapidPro's rate limit (bench/lib/throttled.ts): with and without the issue 13 improvements.
        const throttled = process.env.BENCH_THROTTLED === '0' ? undefined : await runThrottledComparison(zips.appZip, QUICK, log);

        const results = {
            generated_at: new Date().toISOString(),
            quick: QUICK,
            endpoint_ratio: ratio(L.app_message.p50, L.floor_ping.p50),
            event_ratio: ratio(L.app_event.p50, L.floor_event.p50),
            throughput_ratio: ratio(appTp, floorTp),
            message_floor_ratio: ratio(L.app_message.p50, L.floor_message.p50),
            event_floor_ratio: ratio(L.app_event.p50, L.floor_event.p50),
            scaling_ratio: Math.max(scalingMessage, scalingEvent),
            lost: tally('app', 'lost'),
            duplicated: tally('app', 'duplicated'),
            reordered: tally('app', 'reordered'),
            http_requests_per_text_part: httpPerPart,
            ...throttled?.figures,
            burst_lost: burst.app.agentToContact.lost,
            burst_duplicated: burst.app.agentToContact.duplicated,
            burst_reordered: burst.app.agentToContact.reordered,
            peak_rss_mb: mb(memApp.denoVmHWMkB),
            peak_rss_host_mb: mb(memApp.hostVmHWMkB),
            cluster_lost: cl.lost,
            cluster_duplicated: cl.duplicated,
            cluster_reordered: cl.reordered,
            cluster_throughput_ratio: cl.throughput_ratio,
            cluster_ops_per_sec: Object.fromEntries(cl.runs.map((r) => [r.instances, round(r.opsPerSec, 1)])),
            slow_contact_delay_ms: {
                without: { p50: cl.slow.without.p50, p99: cl.slow.without.p99 },
                with: { p50: cl.slow.with.p50, p99: cl.slow.with.p99 },
                p50_ratio: cl.slow.p50_ratio,
                p99_ratio: cl.slow.p99_ratio,
            },
            targets: {
                endpoint_ratio: { max: TARGETS.endpoint_ratio, met: ratio(L.app_message.p50, L.floor_ping.p50) <= TARGETS.endpoint_ratio },
                event_ratio: { max: TARGETS.event_ratio, met: ratio(L.app_event.p50, L.floor_event.p50) <= TARGETS.event_ratio },
                throughput_ratio: { min: TARGETS.throughput_ratio, met: ratio(appTp, floorTp) >= TARGETS.throughput_ratio },
                message_floor_ratio: {
                    max: FLOOR_TARGETS.message_floor_ratio,
                    met: ratio(L.app_message.p50, L.floor_message.p50) <= FLOOR_TARGETS.message_floor_ratio,
                },
                event_floor_ratio: {
                    max: FLOOR_TARGETS.event_floor_ratio,
                    met: ratio(L.app_event.p50, L.floor_event.p50) <= FLOOR_TARGETS.event_floor_ratio,
                },
                throughput_floor: { min: FLOOR_TARGETS.throughput_ratio, met: ratio(appTp, floorTp) >= FLOOR_TARGETS.throughput_ratio },
                scaling_ratio: {
                    max: TARGETS.scaling_ratio,
                    met: Math.max(scalingMessage, scalingEvent) <= TARGETS.scaling_ratio,
                    note: 'flat = within 25 % (p50 at the largest level / p50 at 10)',
                },
                lost_duplicated_reordered: {
                    max: 0,
                    met: tally('app', 'lost') + tally('app', 'duplicated') + tally('app', 'reordered') === 0,
                },
                http_requests_per_text_part: { max: 1, met: httpPerPart <= 1 },
                cluster_lost_duplicated_reordered: { max: 0, met: cl.lost + cl.duplicated + cl.reordered === 0 },
            },
            machine: {
                cpu_model: os.cpus()[0]?.model,
                cores: os.cpus().length,
                node: process.version,
                apps_engine: require('@rocket.chat/apps-engine/package.json').version,
                deno: require('../harness/setup/platform.js').deno().version,
                platform: `${os.type()} ${os.release()} ${os.arch()}`,
                total_mem_mb: Math.round(os.totalmem() / 1048576),
                loadavg_before: loadBefore.map((x) => round(x, 2)),
                loadavg_after: os.loadavg().map((x) => round(x, 2)),
            },
            config: CONFIG,
            definitions: {
                endpoint_ratio:
                    'p50 of the app `message` endpoint / p50 of the floor `ping` endpoint, time until the endpoint ' +
                    'answered (executeApi resolved), same webhook body',
                event_ratio:
                    'p50 of agentSendMessage -> simulator receives POST /api/v2/messages.json, app / floor (floor ' +
                    '= 1 conversation read + 1 POST)',
                message_floor_ratio:
                    'p50 of the app `message` endpoint / p50 of the floor `message` endpoint (reads the conversation ' +
                    'and the room, posts the text as the visitor), until the endpoint answered',
                event_floor_ratio: 'the same as event_ratio: the floor event is the minimal one (1 read + 1 POST)',
                throughput_ratio:
                    'ops/s of the app / ops/s of the floor, 1000 conversations x 10 messages each way, all conversations ' +
                    'concurrent (per conversation: contact messages one after the other through the `message` endpoint, ' +
                    'agent messages one after the other, each once the app handled the previous), at most `inFlight` ' +
                    'requests in flight over both directions (like the bounded worker pools of RapidPro and Rocket.Chat; ' +
                    'unbounded = 2000 in flight makes every op wait ~10 s on 2 cores and trips the 10 s HTTP timeouts); ' +
                    'lost/duplicated/reordered are of this run',
                burst:
                    'agents of 100 rooms send 10 messages back to back without waiting for the app (Rocket.Chat ' +
                    'does not wait for app events): lost/duplicated/reordered at RapidPro',
                scaling_ratio: 'max over {message, event} of p50 at the largest stored-conversation level / p50 at 10',
                peak_rss_mb:
                    "VmHWM of the app's Deno process (peak_rss_host_mb: VmHWM of the host process: engine + emulated " +
                    'Rocket.Chat + its in-memory persistence + simulator)',
                settled:
                    'until callApi / agentSendMessage resolved, i.e. the response AND every app event it caused ' +
                    'was handled (the harness waits for rc.idle())',
                cluster:
                    `the app on harness/engine/cluster.ts (N instances = N EngineHosts, each its own Deno runtime, over one ` +
                    `emulated Rocket.Chat, one app persistence, one Agenda collection; each instance's Agenda runs due jobs ` +
                    `in real time), N = ${CONFIG.clusterInstances.join(', ')}, one process per N, all up at once, ` +
                    `throughput segments alternating between them (order rotated); the throughput run's load (per ` +
                    `conversation: contact messages one after the other through the \`message\` endpoint, agent messages ` +
                    `one after the other, each once the app handled the previous; at most ${CONFIG.clusterInFlight} in flight ` +
                    `over both directions) with ${CONFIG.clusterConversations} conversations x ${CONFIG.clusterMessages} ` +
                    `messages each way (fewer conversations than the single-instance run: 3 runtimes + host on 2 cores), the ` +
                    `same for every N; message i of conversation c, both ways, on instance (c + i) mod N: the balancer's ` +
                    `round-robin for the HTTP calls, and one contact's calls and events alternate instances; setup = real ` +
                    `handoffs, round-robin`,
                cluster_lost_duplicated_reordered:
                    'cluster_lost / cluster_duplicated / cluster_reordered: totals over the 2- and 3-instance runs, both ' +
                    'directions (contact -> agent: visitor messages in the rooms; agent -> contact: what the simulator ' +
                    'accepted, in its order), after the due drain jobs ran; the 1-instance figures are in raw.cluster',
                cluster_throughput_ratio:
                    'ops/s with the largest N / ops/s with 1 instance, same machine, same run (2 cores: more instances add ' +
                    'processes, not cores); cluster_ops_per_sec per N',
                slow_contact_delay_ms:
                    `on the ${Math.max(...CONFIG.clusterInstances)}-instance cluster: ${CONFIG.slowOthers} contacts' agents ` +
                    `each write ${CONFIG.slowMessages} messages, one every ${CONFIG.slowSpacingMs} ms (staggered; events on ` +
                    `instance (c + i) mod N; Rocket.Chat does not wait for app events); delay = agent message created -> ` +
                    `the simulator handles its POST messages.json (a delivery left to a drain job included); "with": one ` +
                    `more contact writes the same way and every messages.json call for it hangs past the app's ` +
                    `request_timeout_ms (${CONFIG.clusterRequestTimeoutMs} ms; the simulator's delayNext, then 503, no ` +
                    `effect); ${CONFIG.slowRounds} round(s) of without/with (order alternating), samples pooled`,
            },
            raw: {
                latency_ms: L,
                per_round_p50_ratios: {
                    endpoint: roundRatios.endpoint,
                    event: roundRatios.event,
                    endpoint_median: median(roundRatios.endpoint),
                    event_median: median(roundRatios.event),
                },
                secondary_ratios: {
                    endpoint_vs_minimal_message_p50: ratio(L.app_message.p50, L.floor_message.p50),
                    endpoint_p99: ratio(L.app_message.p99, L.floor_ping.p99),
                    event_p99: ratio(L.app_event.p99, L.floor_event.p99),
                    event_settled_p50: ratio(L.app_event_settled.p50, L.floor_event_settled.p50),
                    message_settled_vs_ping_settled_p50: ratio(L.app_message_settled.p50, L.floor_ping_settled.p50),
                },
                failures: Object.fromEntries(Object.keys(batches).map((k) => [k, failures(k)])),
                per_op: cats,
                per_op_detail: countsPerOp,
                scaling: {
                    levels: scaleSummary,
                    ratio_message: scalingMessage,
                    ratio_event: scalingEvent,
                    per_round_ratios: scalingRoundRatios,
                    floor_ping_during_scaling: summarize(floorDuringScaling),
                    harness_scan_without_index: {
                        level: top,
                        message: summarize(scanMessage.primary),
                        event: summarize(scanEvent.primary),
                        index_matches_scan: indexCheck.verified && scanCheck.verified,
                    },
                },
                worker_stderr_bytes: { app: app.stderrBytes, floor: floor.stderrBytes },
                throughput: {
                    per_segment_ratios: segmentRatios,
                    per_segment_ratio_median: median(segmentRatios),
                    app: tp.app,
                    floor: tp.floor,
                    app_ops_per_sec: round(appTp, 1),
                    floor_ops_per_sec: round(floorTp, 1),
                    app_misrouted: misrouted,
                    floor_lost_dup_reordered: [tally('floor', 'lost'), tally('floor', 'duplicated'), tally('floor', 'reordered')],
                },
                burst: { app: burst.app, floor: burst.floor },
                memory: { app: memApp, floor: memFloor },
                setup: { app: appSetup, floor: floorSetup },
                diagnostics: { app: diagApp, floor: diagFloor },
                cluster: clusterRaw(cl),
                runtime_s: round((Date.now() - started) / 1000, 1),
                throttled: throttled && {
                    definition: throttled.definition,
                    config: throttled.config,
                    with: throttled.with,
                    without: throttled.without,
                    one_endpoint: throttled.oneEndpoint,
                },
            },
        };
        const out = path.join(__dirname, QUICK ? 'results.local.json' : 'results.json');
        fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
        printTable(results, L, cats, scaleSummary, tp, burst, memApp, memFloor, cl);
        for (const line of throttled?.table || []) {
            log(line);
        }
        for (const w of [app, floor]) {
            if (w.stderrBytes > 0) {
                log(`${w.kind} worker stderr (${w.stderrBytes} bytes): ${w.logFile}`);
            } else {
                fs.rmSync(w.logFile, { force: true });
            }
        }
        log(`wrote ${path.relative(process.cwd(), out)} in ${round((Date.now() - started) / 1000, 1)} s`);
    } finally {
        app.kill();
        floor.kill();
    }
}

function printTable(
    // biome-ignore lint/suspicious/noExplicitAny: worker results are untyped JSON over IPC
    results: any,
    L: Record<string, Summary>,
    cats: Record<string, Record<string, number>>,
    // biome-ignore lint/suspicious/noExplicitAny: worker results are untyped JSON over IPC
    scale: Record<string, any>,
    tp: Record<Kind, ThroughputResult[]>,
    // biome-ignore lint/suspicious/noExplicitAny: worker results are untyped JSON over IPC
    burst: Record<Kind, any>,
    memApp: MemoryInfo,
    memFloor: MemoryInfo,
    cl: ClusterFigures,
): void {
    const lines: string[] = [];
    const m = results.machine;
    lines.push(
        `RapidPro Bridge benchmark — ${m.cpu_model}, ${m.cores} cores, node ${m.node}, apps-engine ${m.apps_engine}, deno ${m.deno}`,
    );
    lines.push('');
    lines.push(`${pad('latency (ms)', 44)}${lpad('p50', 8)}${lpad('p99', 8)}${lpad('n', 6)}   settled p50/p99`);
    const row = (label: string, s: Summary, settled: Summary) =>
        lines.push(
            `${pad(label, 44)}${lpad(fmt(s.p50), 8)}${lpad(fmt(s.p99), 8)}${lpad(String(s.n), 6)}   ${fmt(settled.p50)} ` +
                `/ ${fmt(settled.p99)}`,
        );
    row('app   message endpoint (answered)', L.app_message, L.app_message_settled);
    row('floor ping endpoint (trivial)', L.floor_ping, L.floor_ping_settled);
    row('floor message endpoint (minimal work)', L.floor_message, L.floor_message_settled);
    row('app   agent msg -> RapidPro POST', L.app_event, L.app_event_settled);
    row('floor agent msg -> RapidPro POST (1 read+1 POST)', L.floor_event, L.floor_event_settled);
    lines.push('');
    lines.push(
        `${pad('per operation', 26)}${lpad('HTTP', 6)}${lpad('reads', 7)}` +
            `${lpad('writes', 8)}${lpad('settings', 10)}${lpad('sched', 7)}` +
            `${lpad('rooms', 7)}${lpad('app->host', 11)}${lpad('host->app', 11)}`,
    );
    for (const [k, c] of Object.entries(cats)) {
        lines.push(
            `${pad(k, 26)}${lpad(fmt(c.http_requests), 6)}${lpad(fmt(c.persistence_reads), 7)}` +
                `${lpad(fmt(c.persistence_writes), 8)}${lpad(fmt(c.settings_reads), 10)}` +
                `${lpad(fmt(c.scheduler_calls), 7)}${lpad(fmt(c.room_reads), 7)}` +
                `${lpad(fmt(c.app_to_host_calls), 11)}${lpad(fmt(c.host_to_app_calls), 11)}`,
        );
    }
    lines.push('');
    lines.push(`${pad('stored conversations', 22)}${lpad('message p50', 13)}${lpad('p99', 8)}${lpad('event p50', 11)}${lpad('p99', 8)}`);
    for (const [level, s] of Object.entries(scale)) {
        lines.push(
            `${pad(level, 22)}${lpad(fmt(s.message.p50), 13)}${lpad(fmt(s.message.p99), 8)}` +
                `${lpad(fmt(s.event.p50), 11)}${lpad(fmt(s.event.p99), 8)}`,
        );
    }
    const scan = results.raw.scaling.harness_scan_without_index;
    lines.push(
        `${pad(`${scan.level} w/o index (harness scan)`, 22)}${lpad(fmt(scan.message.p50), 13)}` +
            `${lpad(fmt(scan.message.p99), 8)}${lpad(fmt(scan.event.p50), 11)}` +
            `${lpad(fmt(scan.event.p99), 8)}`,
    );
    lines.push('');
    for (const k of ['app', 'floor'] as Kind[]) {
        for (const r of tp[k]) {
            lines.push(
                `throughput ${pad(k, 6)} ${r.conversations} conv x ${r.messagesEachWay} each way, ${r.inFlight || 'unbounded'} ` +
                    `in flight: ${fmt(r.opsPerSec, 0)} ops/s (${fmt(r.elapsedMs / 1000, 1)} s), op p50/p99 endpoint ` +
                    `${fmt(r.endpointUnderLoad.p50, 0)}/${fmt(r.endpointUnderLoad.p99, 0)}` +
                    ` ms, event ${fmt(r.eventUnderLoad.p50, 0)}/${fmt(r.eventUnderLoad.p99, 0)}` +
                    ` ` +
                    `ms; in lost/dup/reord ${r.contactToAgent.lost}/${r.contactToAgent.duplicated}/${r.contactToAgent.reordered}, ` +
                    `out ${r.agentToContact.lost}/${r.agentToContact.duplicated}/${r.agentToContact.reordered}; ` +
                    `errors ${r.endpointErrors}+${r.eventErrors}; retries ${r.retryJobsRun}`,
            );
        }
    }
    const segmentRatios = results.raw.throughput.per_segment_ratios.map((x: number) => fmt(x)).join(' ');
    lines.push(`throughput ratio per interleaved segment (app/floor): ${segmentRatios}`);
    for (const k of ['app', 'floor'] as Kind[]) {
        const b = burst[k];
        lines.push(
            `burst      ${pad(k, 6)} ${b.conversations} rooms x ${b.messages} back-to-back agent messages: ` +
                `lost/dup/reord ${b.agentToContact.lost}/${b.agentToContact.duplicated}/${b.agentToContact.reordered}; ` +
                `HTTP ${b.httpToMessagesJson}; retries ${b.retryJobsRun}`,
        );
    }
    for (const r of cl.runs) {
        const d = (x: { lost: number; duplicated: number; reordered: number }) => `${x.lost}/${x.duplicated}/${x.reordered}`;
        lines.push(
            `cluster    ${r.instances} inst ${r.conversations} conv x ${r.messagesEachWay} each way, ${r.inFlight} in flight: ` +
                `${fmt(r.opsPerSec, 0)} ops/s (${fmt(r.elapsedMs / 1000, 1)} s), op p50 endpoint ${fmt(r.endpointUnderLoad.p50, 0)} ms, ` +
                `event ${fmt(r.eventUnderLoad.p50, 0)} ms; in lost/dup/reord ${d(r.contactToAgent)}, out ${d(r.agentToContact)}; ` +
                `errors ${r.endpointErrors}+${r.eventErrors}; drain jobs ${r.retryJobsRun}`,
        );
    }
    lines.push(`cluster ratio per interleaved segment (largest/1): ${cl.per_segment_ratios.map((x) => fmt(x)).join(' ')}`);
    const s = cl.slow;
    lines.push(
        `slow contact (${s.instances} inst, ${s.without.n}+${s.with.n} deliveries): others' delay p50/p99 ` +
            `${fmt(s.without.p50, 0)}/${fmt(s.without.p99, 0)} ms without, ${fmt(s.with.p50, 0)}/${fmt(s.with.p99, 0)} ms with ` +
            `(x${fmt(s.p50_ratio)} / x${fmt(s.p99_ratio)}); slow calls hung ${s.slow_calls_hung}; others late (past the hang + 15 s) ${s.missing}, never delivered ${s.never_arrived}`,
    );
    lines.push(
        `memory VmHWM MB: app deno ${mb(memApp.denoVmHWMkB)}, app host ${mb(memApp.hostVmHWMkB)}; floor ` +
            `deno ${mb(memFloor.denoVmHWMkB)}, floor host ${mb(memFloor.hostVmHWMkB)}`,
    );
    lines.push('');
    const t = results.targets;
    const mark = (ok: boolean) => (ok ? 'ok  ' : 'MISS');
    lines.push(`${mark(t.endpoint_ratio.met)} endpoint_ratio   ${fmt(results.endpoint_ratio)} (<= ${t.endpoint_ratio.max})`);
    lines.push(`${mark(t.event_ratio.met)} event_ratio      ${fmt(results.event_ratio)} (<= ${t.event_ratio.max})`);
    lines.push(`${mark(t.throughput_ratio.met)} throughput_ratio ${fmt(results.throughput_ratio)} (>= ${t.throughput_ratio.min})`);
    lines.push(
        `${mark(t.message_floor_ratio.met)} message vs floor ${fmt(results.message_floor_ratio)} (<= ${t.message_floor_ratio.max}: ` +
            "the floor's minimal message endpoint)",
    );
    lines.push(
        `${mark(t.event_floor_ratio.met)} event vs floor   ${fmt(results.event_floor_ratio)} (<= ${t.event_floor_ratio.max}: ` +
            "the floor's minimal event)",
    );
    lines.push(`${mark(t.throughput_floor.met)} throughput       ${fmt(results.throughput_ratio)} (>= ${t.throughput_floor.min})`);
    lines.push(`${mark(t.scaling_ratio.met)} scaling_ratio    ${fmt(results.scaling_ratio)} (<= ${t.scaling_ratio.max})`);
    lines.push(`${mark(t.lost_duplicated_reordered.met)} lost/dup/reord   ${results.lost}/${results.duplicated}/${results.reordered}`);
    lines.push(`${mark(t.http_requests_per_text_part.met)} HTTP per part    ${fmt(results.http_requests_per_text_part)}`);
    lines.push(
        `${mark(t.cluster_lost_duplicated_reordered.met)} cluster l/d/r    ${results.cluster_lost}/${results.cluster_duplicated}/` +
            `${results.cluster_reordered} (2 and 3 instances)`,
    );
    lines.push(
        `     cluster ratio    ${fmt(results.cluster_throughput_ratio)} (ops/s ${Math.max(...cl.runs.map((r) => r.instances))} instances / 1)`,
    );
    lines.push(`     peak_rss_mb      ${fmt(results.peak_rss_mb, 1)} (app Deno), host ${fmt(results.peak_rss_host_mb, 1)}`);
    process.stdout.write(`${lines.join('\n')}\n`);
}

/** results.json's raw cluster figures (per instance count; segments and delay samples left out). */
function clusterRaw(cl: ClusterFigures): unknown {
    return {
        per_instances: Object.fromEntries(
            cl.runs.map(({ segments: _segments, ...r }) => [r.instances, { ...r, opsPerSec: round(r.opsPerSec, 1) }]),
        ),
        per_segment_ratios: cl.per_segment_ratios,
        per_segment_ratio_median: median(cl.per_segment_ratios),
        misrouted_2_3: cl.misrouted,
        slow_contact: cl.slow,
        setup: cl.setup,
        diagnostics: cl.diagnostics,
        worker_stderr_bytes: cl.stderr_bytes,
    };
}
