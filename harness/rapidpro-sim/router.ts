import type * as http from 'node:http';

import {
    type Ctx,
    detail,
    ENDPOINTS,
    HOUR_MS,
    json,
    type ParsedBody,
    type Reply,
    searchParamsObject,
    throttledDetail,
    versionAtLeast,
} from './support';
import type { RapidProScope, RecordedRequest } from './types';
import { SimBodies } from './bodies';

/** Request handling: recording, faults, authentication, throttling, routing, media files. */
export class SimRouter extends SimBodies {
    protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
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

    protected serveMedia(method: string, path: string): Reply {
        if (method === 'GET' || method === 'HEAD') {
            const m = this.media.find((x) => new URL(x.url).pathname === path);
            if (m) return { status: 200, raw: m.bytes, contentType: m.content_type };
        }
        return { status: 404, text: 'Not Found', contentType: 'text/html; charset=utf-8' };
    }

    protected dispatch(ctx: Ctx, req: http.IncomingMessage): Reply {
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
    protected authenticate(header: string | undefined): string | null {
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
    protected throttle(scope: RapidProScope): number | null | undefined {
        if (this.rateLimit === null || this.rateLimit === undefined) return undefined;
        const now = this.nowMs();
        const hist = this.hits[scope];
        const windowMs = this.options.rateWindowMs ?? HOUR_MS;
        while (hist.length && hist[0] <= now - windowMs) hist.shift();
        if (hist.length >= this.rateLimit) {
            const available = this.rateLimit - hist.length + 1;
            if (available <= 0) return null;
            const remaining = (windowMs - (now - hist[0])) / 1000;
            return Math.max(1, Math.ceil(remaining / available));
        }
        hist.push(now);
        return undefined;
    }

    protected route(ctx: Ctx): Reply {
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
}
