/**
 * The cluster part of the benchmark: one bench/clusterWorker.ts process per instance count (1, 2, 3), each the
 * app on a harness Cluster with its own simulator, all alive at once; their throughput segments alternate (never
 * concurrently, order rotated), so the 3-vs-1 ratio comes from the same machine conditions. Then the slow-contact
 * runs on the largest cluster.
 */
import * as fs from 'node:fs';

import { ratio, summarize, type Summary } from './lib/stats';
import { WorkerHandle } from './lib/workerHandle';
import type { ClusterThroughputResult, SlowContactRun } from './clusterWorker';

export interface ClusterConfig {
    clusterInstances: number[];
    clusterConversations: number;
    clusterMessages: number;
    clusterInFlight: number;
    /** The app's request_timeout_ms on every cluster (bounds the slow contact's hang). */
    requestTimeoutMs: number;
    slowOthers: number;
    slowMessages: number;
    slowSpacingMs: number;
    slowRounds: number;
}

export interface ClusterFigures {
    /** Per instance count. */
    runs: ClusterThroughputResult[];
    per_segment_ratios: number[];
    throughput_ratio: number;
    lost: number;
    duplicated: number;
    reordered: number;
    misrouted: number;
    slow: {
        instances: number;
        runs: SlowContactRun[];
        without: Summary;
        with: Summary;
        p50_ratio: number;
        p99_ratio: number;
        missing: number;
        never_arrived: number;
        slow_calls_hung: number;
    };
    setup: Array<{ instances: number; conversations: number; ms: number; retryJobsRun: number; pids: number[] }>;
    diagnostics: Array<{ instances: number; eventErrors: number; logErrors: number; sample: string[] }>;
    stderr_bytes: Record<string, number>;
}

export async function runCluster(zip: string, cfg: ClusterConfig, log: (line: string) => void): Promise<ClusterFigures> {
    const counts = cfg.clusterInstances;
    const workers = counts.map((n) => new WorkerHandle(`cluster${n}`, '--cluster-worker'));
    try {
        const setup: ClusterFigures['setup'] = [];
        for (const [k, n] of counts.entries()) {
            const init = await workers[k].call('init', { instances: n, zip, requestTimeoutMs: cfg.requestTimeoutMs });
            // the slow-contact runs take their slow contacts after the others
            const conversations = Math.max(cfg.clusterConversations, cfg.slowOthers + cfg.slowRounds);
            const s = await workers[k].call('setup', { n: conversations });
            setup.push({ instances: n, ...s, pids: init.pids });
        }
        log(`cluster: ${counts.join(' / ')} instances up, ${cfg.clusterConversations} conversations each (real handoffs, round-robin)`);

        // ------------------------------------------------------------ throughput, segments interleaved
        for (const w of workers) {
            await w.call('throughputStart', { messages: cfg.clusterMessages, inFlight: cfg.clusterInFlight });
        }
        const segmentRatios: number[] = [];
        const first = counts.indexOf(Math.min(...counts));
        const last = counts.indexOf(Math.max(...counts));
        for (let i = 0; i < cfg.clusterMessages; i++) {
            const order = counts.map((_, k) => (k + i) % counts.length);
            const rate: Record<number, number> = {};
            for (const k of order) {
                const seg: { ops: number; ms: number } = await workers[k].call('throughputSegment', { from: i, to: i + 1 });
                rate[k] = seg.ops / seg.ms;
            }
            segmentRatios.push(ratio(rate[last], rate[first]));
        }
        const runs: ClusterThroughputResult[] = [];
        for (const w of workers) {
            runs.push(await w.call('throughputFinish'));
        }
        log(
            `cluster throughput: ${cfg.clusterConversations} conversations x ${cfg.clusterMessages} messages each way, segments interleaved`,
        );

        // ------------------------------------------------------------ slow contact (largest cluster)
        const big = workers[last];
        const slowRuns: SlowContactRun[] = [];
        for (let r = 0; r < cfg.slowRounds; r++) {
            const order = r % 2 === 0 ? [false, true] : [true, false];
            for (const withSlow of order) {
                slowRuns.push(
                    await big.call('slowContact', {
                        others: cfg.slowOthers,
                        messages: cfg.slowMessages,
                        spacingMs: cfg.slowSpacingMs,
                        withSlow,
                        hangMs: cfg.requestTimeoutMs + 1000,
                    }),
                );
            }
        }
        log(`slow contact: ${cfg.slowRounds} rounds on ${counts[last]} instances, ${cfg.slowOthers} other contacts`);
        const pooled = (withSlow: boolean) =>
            summarize(slowRuns.filter((x) => x.withSlow === withSlow).flatMap((x) => x.delaySamples ?? []));
        const without = pooled(false);
        const withSlow = pooled(true);
        const diagnostics: ClusterFigures['diagnostics'] = [];
        for (const [k, w] of workers.entries()) {
            diagnostics.push({ ...(await w.call('diagnostics')), instances: counts[k] });
        }
        for (const w of workers) {
            await w.call('stop').catch(() => undefined);
        }
        const tally = (f: 'lost' | 'duplicated' | 'reordered' | 'misrouted') =>
            runs.filter((x) => x.instances > 1).reduce((a, x) => a + x.contactToAgent[f] + x.agentToContact[f], 0);
        return {
            runs,
            per_segment_ratios: segmentRatios,
            throughput_ratio: ratio(runs[last].opsPerSec, runs[first].opsPerSec),
            lost: tally('lost'),
            duplicated: tally('duplicated'),
            reordered: tally('reordered'),
            misrouted: tally('misrouted'),
            slow: {
                instances: counts[last],
                runs: slowRuns.map(({ delaySamples: _samples, ...rest }) => rest),
                without,
                with: withSlow,
                p50_ratio: ratio(withSlow.p50, without.p50),
                p99_ratio: ratio(withSlow.p99, without.p99),
                missing: slowRuns.reduce((a, x) => a + x.missing, 0),
                never_arrived: slowRuns.reduce((a, x) => a + x.neverArrived, 0),
                slow_calls_hung: slowRuns.reduce((a, x) => a + x.slowCallsHung, 0),
            },
            setup,
            diagnostics,
            stderr_bytes: Object.fromEntries(workers.map((w) => [w.kind, w.stderrBytes])),
        };
    } finally {
        for (const w of workers) {
            w.kill();
            if (w.stderrBytes > 0) {
                log(`${w.kind} worker stderr (${w.stderrBytes} bytes): ${w.logFile}`);
            } else {
                fs.rmSync(w.logFile, { force: true });
            }
        }
    }
}
