/**
 * RapidProClient against a real HTTP server on 127.0.0.1, through an IHttp that behaves like
 * Rocket.Chat's AppHttpBridge (harness/engine/nodeHttp.ts). Expected bodies and status handling come
 * from RapidPro's REST API v2 (docs/RAPIDPRO.md) and the contract's delivery guarantees.
 */
import busboy from 'busboy';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { RapidProClient } from '../../src/domain/RapidProClient';
import { NodeHttp } from '../../harness/engine/nodeHttp';

const TOKEN = '3b9c0f2e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c';
const CONTACT = '5d76d86b-3bb9-4d5a-b822-c9d86f5d8e4b';
const FLOW = 'f5901b62-ba76-4003-9c62-72fdacc1b7b7';
const MEDIA = 'c1b2a3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';

interface Received {
    method: string;
    path: string;
    query: URLSearchParams;
    headers: IncomingHttpHeaders;
    body: Buffer;
}

type Reply = (received: Received, res: ServerResponse) => void;

function json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
    return (_received, res) => {
        res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
    };
}

/** A loopback server that records every request and answers with queued replies (default: 201 `{}`). */
class LoopbackServer {
    readonly received: Received[] = [];
    private replies: Reply[] = [];
    private readonly sockets = new Set<Socket>();
    private readonly pending = new Set<ServerResponse>();
    private readonly server: Server;
    url = '';

    constructor() {
        this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
            const chunks: Buffer[] = [];
            req.on('data', (chunk: Buffer) => chunks.push(chunk));
            req.on('end', () => {
                const parsed = new URL(req.url || '/', 'http://127.0.0.1');
                const received: Received = {
                    method: req.method || '',
                    path: parsed.pathname,
                    query: parsed.searchParams,
                    headers: req.headers,
                    body: Buffer.concat(chunks),
                };
                this.received.push(received);
                this.pending.add(res);
                res.on('finish', () => this.pending.delete(res));
                const reply = this.replies.shift() || json(201, {});
                reply(received, res);
            });
        });
        this.server.on('connection', (socket: Socket) => {
            this.sockets.add(socket);
            socket.on('close', () => this.sockets.delete(socket));
        });
    }

    async start(): Promise<void> {
        await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
        this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    }

    reply(...replies: Reply[]): void {
        this.replies.push(...replies);
    }

    /** Forgets what was received; cuts requests left unanswered on purpose (idle keep-alive connections stay). */
    reset(): void {
        this.received.length = 0;
        this.replies = [];
        this.pending.forEach((res) => {
            res.socket?.destroy();
        });
        this.pending.clear();
    }

    async stop(): Promise<void> {
        this.sockets.forEach((socket) => {
            socket.destroy();
        });
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }

    last(): Received {
        expect(this.received.length).toBeGreaterThan(0);
        return this.received[this.received.length - 1];
    }
}

function jsonBody(received: Received): unknown {
    expect(String(received.headers['content-type'])).toMatch(/^application\/json/);
    return JSON.parse(received.body.toString('utf8'));
}

const server = new LoopbackServer();

function client(baseUrl = server.url, timeoutMs = 5000): RapidProClient {
    return new RapidProClient(new NodeHttp(), { baseUrl, token: TOKEN, timeoutMs });
}

beforeAll(() => server.start());
afterEach(() => server.reset());
afterAll(() => server.stop());

describe('authentication', () => {
    it('sends "Authorization: Token <api token>" on every kind of call', async () => {
        const rapidpro = client();
        await rapidpro.sendMessage({ contact: CONTACT, text: 'hi' });
        await rapidpro.sendBroadcast({ contact: CONTACT, text: 'hi' });
        await rapidpro.updateContactFields(CONTACT, { chat_status: 'open' });
        await rapidpro.startFlow(FLOW, CONTACT, {});
        await rapidpro.listMessages(CONTACT);
        await rapidpro.checkWorkspace();
        await rapidpro.uploadMedia('a.png', 'image/png', Buffer.from([1, 2, 3]));

        expect(server.received).toHaveLength(7);
        for (const received of server.received) {
            expect(received.headers.authorization).toBe(`Token ${TOKEN}`);
        }
    });
});

describe('request bodies', () => {
    it('POSTs one message to one contact to /api/v2/messages.json', async () => {
        server.reply(json(201, { uuid: 'e3d1a5f0-0000-4000-8000-000000000001', status: 'queued', text: 'Olá Maria' }));

        const outcome = await client().sendMessage({ contact: CONTACT, text: 'Olá Maria', attachments: [MEDIA] });

        const received = server.last();
        expect(received.method).toBe('POST');
        expect(received.path).toBe('/api/v2/messages.json');
        expect(jsonBody(received)).toEqual({ contact: CONTACT, text: 'Olá Maria', attachments: [MEDIA] });
        expect(outcome).toEqual({
            kind: 'ok',
            status: 201,
            body: expect.objectContaining({ uuid: 'e3d1a5f0-0000-4000-8000-000000000001' }),
        });
    });

    it('keeps non-ASCII text and emoji byte-exact in the JSON body', async () => {
        const text = 'Ação 👩‍⚕️ 🇧🇷 ñ 漢字';
        await client().sendMessage({ contact: CONTACT, text });
        expect(jsonBody(server.last())).toEqual({ contact: CONTACT, text });
    });

    it('POSTs a broadcast with the contact in "contacts" to /api/v2/broadcasts.json', async () => {
        await client().sendBroadcast({ contact: CONTACT, text: 'Hello' });

        const received = server.last();
        expect(received.path).toBe('/api/v2/broadcasts.json');
        expect(jsonBody(received)).toEqual({ contacts: [CONTACT], text: 'Hello' });
    });

    it('sends a file-only broadcast with attachments and without an empty text', async () => {
        await client().sendBroadcast({ contact: CONTACT, attachments: [MEDIA] });
        expect(jsonBody(server.last())).toEqual({ contacts: [CONTACT], attachments: [MEDIA] });
    });

    it('updates contact fields with POST /api/v2/contacts.json?uuid=<contact>', async () => {
        server.reply(json(200, { uuid: CONTACT }));

        const outcome = await client().updateContactFields(CONTACT, { chat_status: 'closed', chat_room: null });

        const received = server.last();
        expect(received.method).toBe('POST');
        expect(received.path).toBe('/api/v2/contacts.json');
        expect(received.query.get('uuid')).toBe(CONTACT);
        expect(jsonBody(received)).toEqual({ fields: { chat_status: 'closed', chat_room: null } });
        expect(outcome.kind).toBe('ok');
    });

    it('starts a flow for the contact with params via /api/v2/flow_starts.json', async () => {
        const params = { room_id: 'room-1', closed_by: 'agent', agent: 'Dr. Ana', department: 'Cardiology', duration_seconds: 321 };
        server.reply(json(201, { uuid: 'f0000000-0000-4000-8000-000000000002', status: 'pending' }));

        const outcome = await client().startFlow(FLOW, CONTACT, params);

        const received = server.last();
        expect(received.path).toBe('/api/v2/flow_starts.json');
        expect(jsonBody(received)).toEqual({ flow: FLOW, contacts: [CONTACT], params });
        expect(outcome.kind).toBe('ok');
    });

    it("lists the contact's messages after a time with GET /api/v2/messages.json?contact=&after=", async () => {
        const after = new Date('2024-05-01T12:00:00.000Z');
        const results = [
            { uuid: 'm2', direction: 'in', text: 'febre' },
            { uuid: 'm1', direction: 'out', text: 'Olá' },
        ];
        server.reply(json(200, { next: null, previous: null, results }));

        const outcome = await client().listMessages(CONTACT, after);

        const received = server.last();
        expect(received.method).toBe('GET');
        expect(received.path).toBe('/api/v2/messages.json');
        expect(received.query.get('contact')).toBe(CONTACT);
        expect(new Date(received.query.get('after') || '').getTime()).toBe(after.getTime());
        expect(outcome).toEqual({ kind: 'ok', status: 200, body: expect.objectContaining({ results }) });
    });

    it('accepts a base URL with a trailing slash or a sub-path', async () => {
        await client(`${server.url}/`).sendMessage({ contact: CONTACT, text: 'a' });
        expect(server.last().path).toBe('/api/v2/messages.json');

        await client(`${server.url}/rapidpro`).sendMessage({ contact: CONTACT, text: 'b' });
        expect(server.last().path).toBe('/rapidpro/api/v2/messages.json');
    });
});

describe('outcomes', () => {
    it('turns a 400 with RapidPro field errors into a final rejection naming the field and the message', async () => {
        server.reply(json(400, { text: ['Ensure this field has no more than 640 characters.'] }));

        const outcome = await client().sendMessage({ contact: CONTACT, text: 'x'.repeat(700) });

        expect(outcome.kind).toBe('rejected');
        if (outcome.kind !== 'rejected') return;
        expect(outcome.status).toBe(400);
        expect(outcome.reason).toContain('text');
        expect(outcome.reason).toContain('Ensure this field has no more than 640 characters.');
    });

    it("turns a 400 with non_field_errors into a rejection carrying RapidPro's sentence", async () => {
        server.reply(json(400, { non_field_errors: ['Must provide either text or attachments.'] }));

        const outcome = await client().sendBroadcast({ contact: CONTACT });

        expect(outcome.kind).toBe('rejected');
        if (outcome.kind !== 'rejected') return;
        expect(outcome.reason).toContain('Must provide either text or attachments.');
    });

    it('turns 403 "Invalid token" into a rejection that points at the token, without revealing it', async () => {
        server.reply(json(403, { detail: 'Invalid token' }));

        const outcome = await client().sendMessage({ contact: CONTACT, text: 'hi' });

        expect(outcome.kind).toBe('rejected');
        if (outcome.kind !== 'rejected') return;
        expect(outcome.status).toBe(403);
        expect(outcome.reason).toMatch(/token/i);
        expect(outcome.reason).not.toContain(TOKEN);
    });

    it('does not retry a 404', async () => {
        server.reply(json(404, { detail: 'Not found.' }));
        const outcome = await client().updateContactFields(CONTACT, { chat_status: 'open' });
        expect(outcome).toEqual(expect.objectContaining({ kind: 'rejected', status: 404 }));
    });

    it('retries a 429 after the Retry-After seconds RapidPro asks for', async () => {
        server.reply(json(429, { detail: 'Request was throttled. Expected available in 37 seconds.' }, { 'Retry-After': '37' }));

        const outcome = await client().sendMessage({ contact: CONTACT, text: 'hi' });

        expect(outcome).toEqual(expect.objectContaining({ kind: 'retry', status: 429, retryAfterMs: 37000 }));
    });

    it('reads a Retry-After given as an HTTP date', async () => {
        const when = new Date(Math.ceil(Date.now() / 1000) * 1000 + 120000);
        server.reply(json(503, { detail: 'maintenance' }, { 'Retry-After': when.toUTCString() }));

        const outcome = await client().sendMessage({ contact: CONTACT, text: 'hi' });

        expect(outcome.kind).toBe('retry');
        if (outcome.kind !== 'retry') return;
        expect(outcome.retryAfterMs).toBeGreaterThan(110000);
        expect(outcome.retryAfterMs).toBeLessThanOrEqual(121000);
    });

    it.each([500, 502, 503])('retries an HTTP %i', async (status) => {
        server.reply((_received, res) => {
            res.writeHead(status, { 'Content-Type': 'text/html' });
            res.end('<html><body><h1>Server Error</h1></body></html>');
        });

        const outcome = await client().sendMessage({ contact: CONTACT, text: 'hi' });

        expect(outcome).toEqual(expect.objectContaining({ kind: 'retry', status }));
    });

    it('retries when nothing listens on the port, and the reason does not reveal the token', async () => {
        const probe = createServer();
        await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
        const port = (probe.address() as AddressInfo).port;
        await new Promise<void>((resolve) => probe.close(() => resolve()));

        const outcome = await client(`http://127.0.0.1:${port}`).sendMessage({ contact: CONTACT, text: 'hi' });

        expect(outcome.kind).toBe('retry');
        if (outcome.kind !== 'retry') return;
        expect(outcome.reason.length).toBeGreaterThan(0);
        expect(outcome.reason).not.toContain(TOKEN);
    });

    it('gives up on a RapidPro that does not answer within the timeout and schedules a retry', async () => {
        server.reply(() => undefined); // accept the request, never answer

        const started = Date.now();
        const outcome = await client(server.url, 300).sendMessage({ contact: CONTACT, text: 'hi' });

        expect(Date.now() - started).toBeLessThan(3000);
        expect(outcome.kind).toBe('retry');
        if (outcome.kind !== 'retry') return;
        expect(outcome.reason).not.toContain(TOKEN);
    });
});

interface UploadedFile {
    field: string;
    filename: string;
    mimeType: string;
    bytes: Buffer;
}

/** Parses a multipart body the way RapidPro (Django) does: parameters decoded as UTF-8. */
function parseMultipart(received: Received): Promise<UploadedFile[]> {
    return new Promise((resolve, reject) => {
        const files: UploadedFile[] = [];
        const parser = busboy({ headers: received.headers, defParamCharset: 'utf8' });
        parser.on('file', (field, stream, info) => {
            const chunks: Buffer[] = [];
            stream.on('data', (chunk: Buffer) => chunks.push(chunk));
            stream.on('end', () => files.push({ field, filename: info.filename, mimeType: info.mimeType, bytes: Buffer.concat(chunks) }));
        });
        parser.on('close', () => resolve(files));
        parser.on('error', reject);
        parser.end(received.body);
    });
}

describe('uploadMedia', () => {
    it('uploads the exact bytes as multipart field "file" with a non-ASCII filename and its type', async () => {
        const bytes = Buffer.concat([
            Buffer.from([0x25, 0x50, 0x44, 0x46, 0x2d]), // %PDF-
            Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
            Buffer.from('\r\n--boundary\r\n\r\n--', 'latin1'),
            randomBytes(4096),
            Buffer.from([0x00, 0xff, 0x0d, 0x0a]),
        ]);
        const filename = 'relatório médico São João 😀.pdf';
        server.reply(
            json(201, {
                uuid: MEDIA,
                content_type: 'application/pdf',
                url: 'https://rp.example.org/media/x.pdf',
                filename,
                size: bytes.length,
            }),
        );

        const outcome = await client().uploadMedia(filename, 'application/pdf', bytes);

        const received = server.last();
        expect(received.method).toBe('POST');
        expect(received.path).toBe('/api/v2/media.json');
        expect(String(received.headers['content-type'])).toMatch(/^multipart\/form-data; *boundary=/);
        const files = await parseMultipart(received);
        expect(files).toHaveLength(1);
        expect(files[0].field).toBe('file');
        expect(files[0].filename).toBe(filename);
        expect(files[0].mimeType).toBe('application/pdf');
        expect(files[0].bytes.equals(bytes)).toBe(true);
        expect(outcome).toEqual({ kind: 'ok', status: 201, body: expect.objectContaining({ uuid: MEDIA }) });
    });

    it('keeps a 2 MB image intact', async () => {
        const bytes = randomBytes(2 * 1024 * 1024);
        await client().uploadMedia('foto.jpg', 'image/jpeg', bytes);

        const files = await parseMultipart(server.last());
        expect(files).toHaveLength(1);
        expect(files[0].bytes.length).toBe(bytes.length);
        expect(files[0].bytes.equals(bytes)).toBe(true);
    });

    it('reports a file RapidPro refuses as a final rejection', async () => {
        server.reply(json(400, { file: ['Unsupported file type.'] }));

        const outcome = await client().uploadMedia(
            'notes.docx',
            'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
            Buffer.from('PK'),
        );

        expect(outcome.kind).toBe('rejected');
        if (outcome.kind !== 'rejected') return;
        expect(outcome.reason).toContain('Unsupported file type.');
    });
});

describe('without the networking permission', () => {
    it('retries later, naming the likely cause, when the engine answers with no response at all', async () => {
        // The engine returns nothing (not an error) when the app lacks `networking`.
        const silent = {
            get: async () => null,
            post: async () => null,
            put: async () => null,
            del: async () => null,
            patch: async () => null,
        };
        const client = new RapidProClient(silent as never, { baseUrl: 'http://127.0.0.1:9', token: TOKEN, timeoutMs: 1000 });
        const outcome = await client.sendMessage({ contact: '5d3a1f3e-4b1c-4f7a-9a36-1b2c3d4e5f60', text: 'hi' });
        expect(outcome.kind).toBe('retry');
        expect(outcome.kind === 'retry' && outcome.reason).toMatch(/networking permission/);
    });
});
