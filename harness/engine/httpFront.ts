import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { RocketChat } from '../rocketchat/RocketChat';
import type { RcUser } from '../rocketchat/types';
import { type HttpReply, notFound } from './apiRequest';
import type { ApiCall, ApiResult } from './hostTypes';

/** What the HTTP front needs from the host. */
export interface FrontHost {
    readonly appId: string;
    readonly rc: RocketChat;
    readonly admin: RcUser;
    readonly fileToken: string;
    handleAppRequest(method: string, target: string, headers: Record<string, string>, body: Buffer | undefined): Promise<HttpReply>;
}

/** Rocket.Chat's HTTP surface for one host: the app's public API and the uploaded files. */
export class HttpFront {
    public baseUrl?: string;
    private server?: http.Server;

    constructor(
        private readonly host: FrontHost,
        private readonly siteUrlConfigured: boolean,
    ) {}

    /**
     * Serves Rocket.Chat's HTTP surface on 127.0.0.1: /api/apps/public/<appId>/<path> and uploaded files
     * (/file-upload/<id>/<name>, /ufs/GridFS:Uploads/<id>/<name>; protected like FileUpload_ProtectFiles:
     * add ?rc_uid=<admin id>&rc_token=<host.fileToken> or use host.fileUrl()). Site_Url becomes this URL
     * unless a Site_Url was configured. Returns the base URL (http://127.0.0.1:<port>).
     */
    public async listen(port = 0): Promise<string> {
        if (this.server) {
            return this.baseUrl!;
        }
        const server = http.createServer((req, res) => {
            void this.serve(req, res).catch((e) => {
                res.statusCode = 500;
                res.end(String(e));
            });
        });
        await new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen(port, '127.0.0.1', () => resolve());
        });
        this.server = server;
        const address = server.address() as AddressInfo;
        this.baseUrl = `http://127.0.0.1:${address.port}`;
        if (!this.siteUrlConfigured) {
            this.host.rc.setServerSetting('Site_Url', this.baseUrl);
        }
        return this.baseUrl;
    }

    private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const url = req.url ?? '/';
        const pathname = url.split('?')[0];
        const apiMatch = /^\/api\/apps\/public\/([^/]+)(\/.*)?$/.exec(pathname);
        if (apiMatch) {
            const chunks: Buffer[] = [];
            for await (const chunk of req) {
                chunks.push(chunk as Buffer);
            }
            const body = chunks.length || req.headers['content-length'] ? Buffer.concat(chunks) : undefined;
            let reply: HttpReply;
            if (decodeURIComponent(apiMatch[1]) !== this.host.appId) {
                reply = notFound();
            } else {
                const rest = apiMatch[2] ?? '/';
                const query = url.includes('?') ? url.slice(url.indexOf('?')) : '';
                reply = await this.host.handleAppRequest(req.method ?? 'GET', rest + query, req.headers as Record<string, string>, body);
            }
            res.writeHead(reply.status, reply.headers);
            res.end(reply.body);
            return;
        }
        const fileMatch = /^\/(?:file-upload|ufs\/GridFS:Uploads)\/([^/]+)(?:\/.*)?$/.exec(pathname);
        if (fileMatch && (req.method === 'GET' || req.method === 'HEAD')) {
            const upload = this.host.rc.uploads.get(decodeURIComponent(fileMatch[1]));
            const params = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
            const cookies = Object.fromEntries(
                String(req.headers.cookie ?? '')
                    .split(';')
                    .map((c) => c.trim().split('='))
                    .filter((kv) => kv.length === 2),
            );
            const uid = params.get('rc_uid') ?? cookies.rc_uid ?? req.headers['x-user-id'];
            const token = params.get('rc_token') ?? cookies.rc_token ?? req.headers['x-auth-token'];
            const protectedFiles = !!this.host.rc.getServerSetting('FileUpload_ProtectFiles');
            if (protectedFiles && !(uid === this.host.admin._id && token === this.host.fileToken)) {
                res.writeHead(403);
                res.end();
                return;
            }
            if (!upload) {
                res.writeHead(404);
                res.end();
                return;
            }
            res.writeHead(200, {
                'content-type': upload.type,
                'content-length': String(upload.size),
                'content-disposition': `inline; filename*=UTF-8''${encodeURIComponent(upload.name)}`,
                'last-modified': upload.uploadedAt.toUTCString(),
            });
            res.end(req.method === 'HEAD' ? undefined : upload.buffer);
            return;
        }
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('Not Found');
    }

    /** Closes the server and its connections. */
    public async close(): Promise<void> {
        const server = this.server;
        if (!server) {
            return;
        }
        await new Promise<void>((resolve) => {
            server.close(() => resolve());
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
    }
}

/** An ApiCall as the raw request Rocket.Chat's REST layer would receive (method, path + query, headers, body). */
export function encodeApiCall(
    call: ApiCall,
    defaultHost: string,
): { method: string; target: string; headers: Record<string, string>; body: Buffer | undefined } {
    const method = (call.method ?? (call.body !== undefined ? 'POST' : 'GET')).toUpperCase();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(call.headers ?? {})) {
        headers[k.toLowerCase()] = v;
    }
    let body: Buffer | undefined;
    if (call.body !== undefined) {
        if (typeof call.body === 'string' || Buffer.isBuffer(call.body)) {
            body = Buffer.isBuffer(call.body) ? call.body : Buffer.from(call.body, 'utf8');
        } else {
            body = Buffer.from(JSON.stringify(call.body), 'utf8');
            headers['content-type'] = headers['content-type'] ?? 'application/json';
        }
        headers['content-length'] = String(body.length);
    }
    let target = call.path.startsWith('/') ? call.path : `/${call.path}`;
    if (call.query) {
        const qs = new URLSearchParams();
        for (const [k, v] of Object.entries(call.query)) {
            for (const item of Array.isArray(v) ? v : [v]) {
                qs.append(k, item);
            }
        }
        target += (target.includes('?') ? '&' : '?') + qs.toString();
    }
    headers.host = headers.host ?? defaultHost;
    return { method, target, headers, body };
}

/** The reply as an ApiResult: JSON bodies parsed. */
export function decodeApiReply<T>(reply: HttpReply, started: number): ApiResult<T> {
    const raw = reply.body.toString('utf8');
    let parsed: unknown = raw;
    if (/json/i.test(reply.headers['content-type'] ?? '')) {
        try {
            parsed = JSON.parse(raw);
        } catch {
            parsed = raw;
        }
    }
    return { status: reply.status, headers: reply.headers, body: parsed as T, raw, ms: Date.now() - started };
}
