import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

import { ActionError, type Sandbox } from './Sandbox';
import { type SampleFile, sampleFiles } from './samples';

/**
 * The agent page and its JSON API, on its own local port (the app's endpoints keep the host's port,
 * where nothing else is served, as on Rocket.Chat).
 *
 *   GET  /                       the page (sandbox/public, plain HTML + JS, no build step)
 *   GET  /sandbox/state          everything the page shows (SandboxState)
 *   POST /sandbox/agent/<action> take | reply | file | edit | transfer | close | online
 *   POST /sandbox/contact/<call> handoff | message | close | transfer | status (HTTP calls to the app's endpoints)
 *   POST /sandbox/rapidpro/<x>   down | fail | window | fail-message (simulator faults)
 *   POST /sandbox/contact/window close (or open) the contact's window on both sides; contact/age: the app's side only
 *   POST /sandbox/clock/watcher  moves the harness clock to the failure watcher's next run (it runs, with anything due)
 *   GET  /files/<uploadId>/<name> a Rocket.Chat upload (what the agent or the contact sent)
 *   GET  /samples/<name>         sample files the contact can attach (the app downloads them)
 *
 * POST bodies must be JSON (Content-Type application/json), which also keeps other web pages from
 * posting to it with plain forms.
 */

const PUBLIC_DIR = path.join(__dirname, 'public');
const MAX_BODY_BYTES = 40 * 1024 * 1024;
const STATIC_TYPES: Record<string, string> = {
    '.html': 'text/html; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
};

type Json = Record<string, unknown>;
type Handler = (body: Json) => Promise<unknown> | unknown;

function str(body: Json, key: string, required = true): string {
    const value = body[key];
    if (typeof value === 'string') {
        return value;
    }
    if (value === undefined || value === null) {
        if (required) {
            throw new ActionError(`missing "${key}"`);
        }
        return '';
    }
    throw new ActionError(`"${key}" must be a string`);
}

function send(res: http.ServerResponse, status: number, body: unknown, type = 'application/json; charset=utf-8'): void {
    const data = Buffer.isBuffer(body)
        ? body
        : Buffer.from(typeof body === 'string' && !type.startsWith('application/json') ? body : JSON.stringify(body), 'utf8');
    res.writeHead(status, { 'content-type': type, 'content-length': String(data.length), 'cache-control': 'no-store' });
    res.end(data);
}

async function readJson(req: http.IncomingMessage): Promise<Json> {
    if (!/^application\/json/i.test(req.headers['content-type'] ?? '')) {
        throw new ActionError('send JSON (Content-Type: application/json)', 415);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY_BYTES) {
            throw new ActionError('body too large', 413);
        }
        chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    try {
        const parsed = text ? JSON.parse(text) : {};
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
            throw new Error('not an object');
        }
        return parsed as Json;
    } catch {
        throw new ActionError('the body is not a JSON object');
    }
}

function routes(sandbox: Sandbox): Record<string, Handler> {
    return {
        'agent/take': async (b) => ({ room: (await sandbox.take(str(b, 'roomId'), str(b, 'agent')))._id }),
        'agent/reply': async (b) => ({ message: (await sandbox.reply(str(b, 'roomId'), str(b, 'agent'), str(b, 'text')))._id }),
        'agent/file': async (b) => ({
            message: (
                await sandbox.sendFile(str(b, 'roomId'), str(b, 'agent'), {
                    filename: str(b, 'filename'),
                    contentType: str(b, 'contentType', false),
                    base64: str(b, 'base64'),
                    text: str(b, 'text', false),
                })
            )._id,
        }),
        'agent/edit': async (b) => ({ message: (await sandbox.editLast(str(b, 'roomId'), str(b, 'agent'), str(b, 'text')))._id }),
        'agent/transfer': async (b) => ({
            transferred: await sandbox.transfer(str(b, 'roomId'), str(b, 'agent'), {
                department: str(b, 'department', false) || undefined,
                agent: str(b, 'toAgent', false) || undefined,
            }),
        }),
        'agent/close': async (b) => {
            await sandbox.close(str(b, 'roomId'), str(b, 'agent'), str(b, 'comment', false));
            return { closed: true };
        },
        'agent/online': (b) => {
            sandbox.setAgentOnline(str(b, 'username'), b.online === true);
            return { online: b.online === true };
        },
        'contact/handoff': (b) =>
            sandbox.handoff({
                uuid: str(b, 'uuid', false),
                name: str(b, 'name', false),
                urn: str(b, 'urn', false),
                department: str(b, 'department', false),
                text: str(b, 'text', false),
                language: str(b, 'language', false),
                history: b.history === true,
            }),
        'contact/message': (b) =>
            sandbox.contactMessage({
                uuid: str(b, 'uuid'),
                text: str(b, 'text', false),
                samples: Array.isArray(b.samples) ? b.samples.filter((s): s is string => typeof s === 'string') : [],
            }),
        'contact/close': (b) => sandbox.contactClose(str(b, 'uuid')),
        'contact/transfer': (b) => sandbox.contactTransfer(str(b, 'uuid'), str(b, 'department')),
        'contact/status': (b) => sandbox.contactStatus(str(b, 'uuid')),
        'rapidpro/down': (b) => {
            sandbox.setRapidProDown(b.down === true);
            return { down: b.down === true };
        },
        'rapidpro/fail': (b) => {
            const status = Number(b.status);
            if (![429, 500, 502, 503, 400, 403].includes(status)) {
                throw new ActionError('status must be one of 400, 403, 429, 500, 502, 503');
            }
            sandbox.failNextRapidProCall(status);
            return { failNext: status };
        },
        ...sandbox.reachRoutes(),
    };
}

export class WebServer {
    private readonly server: http.Server;
    private readonly handlers: Record<string, Handler>;
    private readonly samples: Map<string, SampleFile>;
    public url = '';

    constructor(private readonly sandbox: Sandbox) {
        this.handlers = routes(sandbox);
        this.samples = new Map(sampleFiles().map((f) => [f.name, f]));
        this.server = http.createServer((req, res) => {
            this.handle(req, res).catch((error: unknown) => {
                const status = error instanceof ActionError ? error.status : 500;
                if (!res.headersSent) {
                    send(res, status, { error: (error as Error)?.message ?? String(error) });
                } else {
                    res.destroy();
                }
            });
        });
    }

    /** Listens on 127.0.0.1:<port>, or on any free port when that one is taken. */
    public async listen(port: number): Promise<string> {
        const attempt = (p: number): Promise<void> =>
            new Promise((resolve, reject) => {
                this.server.once('error', reject);
                this.server.listen(p, '127.0.0.1', () => {
                    this.server.removeListener('error', reject);
                    resolve();
                });
            });
        try {
            await attempt(port);
        } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) {
                throw error;
            }
            await attempt(0);
        }
        this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
        return this.url;
    }

    public close(): Promise<void> {
        return new Promise((resolve) => {
            this.server.close(() => resolve());
            (this.server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
    }

    private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const url = new URL(req.url ?? '/', 'http://localhost');
        const pathname = decodeURIComponent(url.pathname);
        const method = req.method ?? 'GET';

        if (method === 'POST' && pathname.startsWith('/sandbox/')) {
            const handler = this.handlers[pathname.slice('/sandbox/'.length)];
            if (!handler) {
                send(res, 404, { error: `no action ${pathname}` });
                return;
            }
            const body = await readJson(req);
            send(res, 200, await handler(body));
            return;
        }
        if (method !== 'GET' && method !== 'HEAD') {
            send(res, 405, { error: 'method not allowed' });
            return;
        }
        if (pathname === '/sandbox/state') {
            send(res, 200, this.sandbox.state());
            return;
        }
        const file = /^\/files\/([^/]+)/.exec(pathname);
        if (file) {
            const upload = this.sandbox.host.rc.uploads.get(file[1]);
            if (!upload) {
                send(res, 404, 'no such file', 'text/plain; charset=utf-8');
                return;
            }
            send(res, 200, upload.buffer, upload.type || 'application/octet-stream');
            return;
        }
        const sample = /^\/samples\/([^/]+)$/.exec(pathname);
        if (sample) {
            const found = this.samples.get(sample[1]);
            if (!found) {
                send(res, 404, 'no such sample', 'text/plain; charset=utf-8');
                return;
            }
            send(res, 200, found.bytes, found.contentType);
            return;
        }
        const name = pathname === '/' ? 'index.html' : pathname.slice(1);
        if (/^[a-z0-9-]+\.(html|js|css)$/.test(name)) {
            const filePath = path.join(PUBLIC_DIR, name);
            if (fs.existsSync(filePath)) {
                send(res, 200, fs.readFileSync(filePath), STATIC_TYPES[path.extname(name)]);
                return;
            }
        }
        send(res, 404, 'Not Found', 'text/plain; charset=utf-8');
    }
}
