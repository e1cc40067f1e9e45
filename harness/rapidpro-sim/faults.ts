import * as http from 'node:http';
import { detail, type FaultEntry, json, matchesPath, type Reply, throttledDetail } from './support';
import type { DelayOptions, DropOptions, FailOptions } from './types';
import { SimLookups } from './lookups';

/** Fault injection (errors, drops, delays, being down, rate limits), reset and waiting. */
export class SimFaults extends SimLookups {
    get refusedConnections(): number {
        return this.refused;
    }

    get isDown(): boolean {
        return this.down;
    }

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
        this.closedWindows.clear();
        this.failNextCount = 0;
        for (const timer of this.statusTimers) clearTimeout(timer);
        this.statusTimers.clear();
        this.initState();
        this.notify();
    }

    protected takeFault(path: string): FaultEntry | null {
        const f = this.faults.find((x) => x.remaining > 0 && matchesPath(path, x.path));
        if (!f) return null;
        f.remaining--;
        this.faults = this.faults.filter((x) => x.remaining > 0);
        return f;
    }

    protected takeDelay(path: string): number | null {
        const d = this.delays.find((x) => x.remaining > 0 && matchesPath(path, x.path));
        if (!d) return null;
        d.remaining--;
        this.delays = this.delays.filter((x) => x.remaining > 0);
        return d.ms;
    }

    protected failReply(o: FailOptions): Reply {
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
                text:
                    `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n` +
                    `<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`,
                contentType: 'text/html',
                headers,
            };
        }
        if (status === 400) return json(400, { non_field_errors: ['Simulated failure'] }, headers);
        if (status === 401 || status === 403) return detail(status, 'Invalid token', headers);
        if (status === 404) return detail(404, 'Not found.', headers);
        return detail(status, 'Simulated failure', headers);
    }
}
