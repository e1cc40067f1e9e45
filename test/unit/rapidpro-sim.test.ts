/**
 * Tests of the RapidPro API simulator (harness/rapidpro-sim/simulator.ts) with real HTTP requests.
 */
import { type RapidProSimulator, startRapidProSimulator } from '../../harness/rapidpro-sim/simulator';

const CONTACT = '5d76d86b-3bb9-4d5a-b822-c9d86f5d8e4b';
const OTHER = 'a1f0c7a2-62a4-4a0d-9c1e-3b5f7f2d9e10';
const FLOW = 'f5901b62-ba76-4003-9c62-72fdacc1b7b7';

interface Answer {
    status: number;
    headers: Headers;
    // biome-ignore lint/suspicious/noExplicitAny: tests read the JSON bodies they expect without declaring each shape
    body: any;
}

interface CallOptions {
    method?: string;
    json?: unknown;
    body?: string | FormData;
    contentType?: string;
    token?: string | null;
    auth?: string;
    signal?: AbortSignal;
}

async function call(sim: RapidProSimulator, path: string, o: CallOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (o.auth !== undefined) headers.Authorization = o.auth;
    else if (o.token !== null) headers.Authorization = `Token ${o.token ?? sim.token}`;
    let body: string | FormData | undefined = o.body;
    if (o.json !== undefined) {
        body = JSON.stringify(o.json);
        headers['Content-Type'] = 'application/json';
    }
    if (o.contentType) headers['Content-Type'] = o.contentType;
    const res = await fetch(sim.url + path, { method: o.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body, signal: o.signal });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('application/json')) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed };
}

function post(sim: RapidProSimulator, path: string, payload: unknown): Promise<Answer> {
    return call(sim, path, { json: payload });
}

function pngBytes(size = 64): Uint8Array {
    const b = new Uint8Array(size);
    b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    for (let i = 8; i < size; i++) b[i] = i % 251;
    return b;
}

async function upload(sim: RapidProSimulator, bytes: Uint8Array, type: string, name: string, field = 'file'): Promise<Answer> {
    const fd = new FormData();
    fd.append(field, new Blob([bytes], { type }), name);
    return call(sim, '/api/v2/media.json', { body: fd });
}

describe('RapidPro simulator', () => {
    let sim: RapidProSimulator;

    beforeAll(async () => {
        sim = await startRapidProSimulator();
    });

    afterEach(() => sim.reset());

    afterAll(async () => {
        await sim.close();
    });

    describe('server, auth and routing', () => {
        it('listens on 127.0.0.1 with a random port and the default token', () => {
            expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
            expect(sim.port).toBeGreaterThan(0);
            expect(sim.token).toBe('test-token');
            expect(sim.maxTextLength).toBe(4096);
        });

        it('answers workspace.json and the deprecated org.json', async () => {
            const ws = await call(sim, '/api/v2/workspace.json');
            expect(ws.status).toBe(200);
            expect(ws.body).toMatchObject({ uuid: expect.any(String), name: expect.any(String), languages: ['eng'], anon: false });
            expect(ws.headers.get('x-temba-workspace')).toBe(ws.body.uuid);
            const org = await call(sim, '/api/v2/org.json');
            expect(org.status).toBe(200);
            expect(org.body.uuid).toBe(ws.body.uuid);
        });

        it('rejects requests without valid token authentication with 403 like DRF', async () => {
            expect(await call(sim, '/api/v2/workspace.json', { token: 'wrong' })).toMatchObject({
                status: 403,
                body: { detail: 'Invalid token' },
            });
            expect(await call(sim, '/api/v2/workspace.json', { token: null })).toMatchObject({
                status: 403,
                body: { detail: 'Authentication credentials were not provided.' },
            });
            expect(await call(sim, '/api/v2/workspace.json', { auth: `Bearer ${sim.token}` })).toMatchObject({
                status: 403,
                body: { detail: 'Authentication credentials were not provided.' },
            });
            expect(await call(sim, '/api/v2/workspace.json', { auth: 'Token' })).toMatchObject({
                status: 403,
                body: { detail: 'Invalid token header. No credentials provided.' },
            });
            expect((await call(sim, '/api/v2/workspace.json', { auth: `token ${sim.token}` })).status).toBe(200);
            const basic = Buffer.from(`someone@example.com:${sim.token}`).toString('base64');
            expect((await call(sim, '/api/v2/workspace.json', { auth: `Basic ${basic}` })).status).toBe(200);
        });

        it('answers unknown routes with 404 and wrong methods with 405', async () => {
            expect(await call(sim, '/api/v2/nothing.json')).toMatchObject({ status: 404, body: { detail: 'Not found.' } });
            expect(await call(sim, '/api/v3/messages.json')).toMatchObject({ status: 404, body: { detail: 'Not found.' } });
            const r = await call(sim, '/api/v2/media.json');
            expect(r).toMatchObject({ status: 405, body: { detail: 'Method "GET" not allowed.' } });
        });

        it('records every request in arrival order', async () => {
            await post(sim, '/api/v2/messages.json', { contact: CONTACT, text: 'one' });
            await call(sim, '/api/v2/workspace.json?x=1', { token: 'bad' });
            expect(sim.requests).toHaveLength(2);
            const [a, b] = sim.requests;
            expect(a).toMatchObject({
                seq: 1,
                method: 'POST',
                path: '/api/v2/messages.json',
                bodyType: 'json',
                body: { contact: CONTACT, text: 'one' },
                status: 201,
                fault: null,
            });
            expect(a.headers.authorization).toBe('Token test-token');
            expect(a.headers['content-type']).toBe('application/json');
            expect(b).toMatchObject({ seq: 2, method: 'GET', query: { x: '1' }, status: 403, responseBody: { detail: 'Invalid token' } });
            expect(sim.requestsTo('messages.json', 'post')).toEqual([a]);
        });
    });

    describe('POST messages.json', () => {
        it('sends a message and answers 201 with the message', async () => {
            const r = await post(sim, '/api/v2/messages.json', { contact: CONTACT, text: '  Hello there  ' });
            expect(r.status).toBe(201);
            expect(r.body).toMatchObject({
                uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
                contact: { uuid: CONTACT, name: null },
                urn: expect.stringMatching(/^tel:\+/),
                channel: { uuid: expect.any(String), name: expect.any(String) },
                direction: 'out',
                type: 'text',
                status: 'queued',
                text: 'Hello there', // DRF trims whitespace
                attachments: [],
                quick_replies: [],
                created_on: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
            });
            expect(sim.sent).toEqual([
                expect.objectContaining({
                    seq: 1,
                    via: 'messages',
                    contact: CONTACT,
                    text: 'Hello there',
                    attachments: [],
                    uuid: r.body.uuid,
                }),
            ]);
            expect(sim.contacts.has(CONTACT)).toBe(true);
        });

        it('needs text or attachments', async () => {
            const r = await post(sim, '/api/v2/messages.json', { contact: CONTACT });
            expect(r).toMatchObject({ status: 400, body: { non_field_errors: ['Must provide either text or attachments.'] } });
            const blank = await post(sim, '/api/v2/messages.json', { contact: CONTACT, text: '   ' });
            expect(blank).toMatchObject({ status: 400, body: { text: ['This field may not be blank.'] } });
            expect(sim.sent).toHaveLength(0);
        });

        it('validates the contact like RapidPro', async () => {
            expect(await post(sim, '/api/v2/messages.json', { text: 'hi' })).toMatchObject({
                status: 400,
                body: { contact: ['This field is required.'] },
            });
            expect(await post(sim, '/api/v2/messages.json', { contact: null, text: 'hi' })).toMatchObject({
                status: 400,
                body: { contact: ['This field may not be null.'] },
            });
            expect(await post(sim, '/api/v2/messages.json', { contact: { uuid: CONTACT }, text: 'hi' })).toMatchObject({
                status: 400,
                body: { contact: ['Must be a string or integer'] },
            });
        });

        it('rejects unknown contacts when known contacts are configured', async () => {
            const strict = await startRapidProSimulator({
                knownContacts: [{ uuid: CONTACT, name: 'Ana', urns: ['whatsapp:5511999990000'] }],
            });
            try {
                const bad = await post(strict, '/api/v2/messages.json', { contact: OTHER, text: 'hi' });
                expect(bad).toMatchObject({ status: 400, body: { contact: [`No such object: ${OTHER}`] } });
                expect(strict.contacts.has(OTHER)).toBe(false);
                const ok = await post(strict, '/api/v2/messages.json', { contact: CONTACT, text: 'hi' });
                expect(ok.body).toMatchObject({ contact: { uuid: CONTACT, name: 'Ana' }, urn: 'whatsapp:5511999990000' });
            } finally {
                await strict.close();
            }
        });

        it('limits text to maxTextLength Unicode code points', async () => {
            const over = await post(sim, '/api/v2/messages.json', { contact: CONTACT, text: 'a'.repeat(4097) });
            expect(over).toMatchObject({ status: 400, body: { text: ['Ensure this field has no more than 4096 characters.'] } });
            // an emoji is one character for RapidPro (Python len), two UTF-16 units in JS
            const emoji = '😀'.repeat(4096);
            expect(emoji.length).toBe(8192);
            expect((await post(sim, '/api/v2/messages.json', { contact: CONTACT, text: emoji })).status).toBe(201);
            expect((await post(sim, '/api/v2/messages.json', { contact: CONTACT, text: 'a'.repeat(4096) })).status).toBe(201);
        });

        it('mimics the 640 character limit of RapidPro before 10.1.45', async () => {
            const old = await startRapidProSimulator({ version: '10.1.44' });
            const custom = await startRapidProSimulator({ maxTextLength: 100 });
            try {
                expect(old.maxTextLength).toBe(640);
                expect(await post(old, '/api/v2/messages.json', { contact: CONTACT, text: 'x'.repeat(641) })).toMatchObject({
                    status: 400,
                    body: { text: ['Ensure this field has no more than 640 characters.'] },
                });
                expect((await post(old, '/api/v2/messages.json', { contact: CONTACT, text: 'x'.repeat(640) })).status).toBe(201);
                expect((await post(custom, '/api/v2/messages.json', { contact: CONTACT, text: 'x'.repeat(101) })).status).toBe(400);
            } finally {
                await old.close();
                await custom.close();
            }
        });

        it('has no POST messages.json before 8.1.35 and no media.json before 8.1.68', async () => {
            const old = await startRapidProSimulator({ version: '8.1.0' });
            try {
                expect(await post(old, '/api/v2/messages.json', { contact: CONTACT, text: 'hi' })).toMatchObject({
                    status: 405,
                    body: { detail: 'Method "POST" not allowed.' },
                });
                expect((await upload(old, pngBytes(), 'image/png', 'a.png')).status).toBe(404);
                const b = await post(old, '/api/v2/broadcasts.json', {
                    contacts: [CONTACT],
                    text: 'hi',
                    attachments: ['image/png:https://x.test/a.png'],
                });
                expect(b.status).toBe(201);
                expect(old.sent[0].attachments).toEqual(['image/png:https://x.test/a.png']);
            } finally {
                await old.close();
            }
        });

        it('answers parser errors like DRF', async () => {
            const bad = await call(sim, '/api/v2/messages.json', { body: '{"contact": ', contentType: 'application/json' });
            expect(bad.status).toBe(400);
            expect(bad.body.detail).toMatch(/^JSON parse error - /);
            expect(sim.requests[0].bodyType).toBe('invalid-json');
            const list = await post(sim, '/api/v2/messages.json', [{ contact: CONTACT, text: 'hi' }]);
            expect(list).toMatchObject({ status: 400, body: { non_field_errors: ['Request body should be a single JSON object'] } });
            const plain = await call(sim, '/api/v2/messages.json', { body: 'hello', contentType: 'text/plain' });
            expect(plain).toMatchObject({ status: 415, body: { detail: 'Unsupported media type "text/plain" in request.' } });
        });

        it('validates attachments and quick replies', async () => {
            const unknown = await post(sim, '/api/v2/messages.json', { contact: CONTACT, attachments: [OTHER] });
            expect(unknown).toMatchObject({ status: 400, body: { attachments: [`No such object: ${OTHER}`] } });
            const many = await post(sim, '/api/v2/messages.json', { contact: CONTACT, text: 'x', attachments: Array(11).fill(OTHER) });
            expect(many).toMatchObject({ status: 400, body: { attachments: ['Ensure this field has no more than 10 elements.'] } });
            const notList = await post(sim, '/api/v2/messages.json', { contact: CONTACT, text: 'x', attachments: 'abc' });
            expect(notList).toMatchObject({ status: 400, body: { attachments: ['Expected a list of items but got type "str".'] } });
            // RapidPro checks the length before the type, so a UUID string (36 chars) hits the 10 items limit
            const uuidString = await post(sim, '/api/v2/messages.json', { contact: CONTACT, text: 'x', attachments: OTHER });
            expect(uuidString.body).toEqual({ attachments: ['Ensure this field has no more than 10 elements.'] });
            const qr = await post(sim, '/api/v2/messages.json', {
                contact: CONTACT,
                text: 'Pick one',
                quick_replies: [{ text: 'Yes' }, { text: 'No', extra: 'nope' }],
            });
            expect(qr.status).toBe(201);
            expect(qr.body.quick_replies).toEqual([{ text: 'Yes' }, { text: 'No', extra: 'nope' }]);
            const badQr = await post(sim, '/api/v2/messages.json', { contact: CONTACT, text: 'x', quick_replies: ['Yes'] });
            expect(badQr).toMatchObject({
                status: 400,
                body: { quick_replies: { '0': { non_field_errors: ['Invalid data. Expected a dictionary, but got str.'] } } },
            });
        });
    });

    describe('POST media.json', () => {
        it('stores an upload and answers 201 with the media object', async () => {
            const bytes = pngBytes(300);
            const r = await upload(sim, bytes, 'image/png', 'my photo!.png');
            expect(r.status).toBe(201);
            expect(r.body).toEqual({
                uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
                content_type: 'image/png',
                url: expect.stringContaining(sim.url),
                filename: 'my photo.png',
                size: 300,
            });
            expect(sim.media).toHaveLength(1);
            expect(Buffer.compare(sim.media[0].bytes, Buffer.from(bytes))).toBe(0);
            expect(sim.media[0].originalFilename).toBe('my photo!.png');
            expect(sim.requests[0]).toMatchObject({
                bodyType: 'multipart',
                body: [{ field: 'file', filename: 'my photo!.png', contentType: 'image/png', size: 300 }],
            });
            // the media URL serves the bytes
            const dl = await fetch(r.body.url);
            expect(dl.headers.get('content-type')).toBe('image/png');
            expect(Buffer.compare(Buffer.from(await dl.arrayBuffer()), Buffer.from(bytes))).toBe(0);
        });

        it('accepts audio, video and PDF and rejects other types', async () => {
            for (const type of ['audio/ogg', 'video/mp4', 'application/pdf', 'image/webp']) {
                expect((await upload(sim, pngBytes(), type, 'file.bin')).status).toBe(201);
            }
            const doc = await upload(sim, pngBytes(), 'application/msword', 'report.doc');
            expect(doc).toMatchObject({ status: 400, body: { file: ['Unsupported file type.'] } });
            const svg = await upload(sim, pngBytes(), 'image/svg+xml', 'logo.svg');
            expect(svg).toMatchObject({ status: 400, body: { file: ['Unsupported file type.'] } });
        });

        it('names a file without extension from its type and maps .m4a to audio/mp4', async () => {
            const a = await upload(sim, pngBytes(), 'image/jpeg', 'camera');
            expect(a.body.filename).toBe('camera.jpg');
            const b = await upload(sim, pngBytes(), 'audio/x-m4a', 'voice.m4a');
            expect(b.body).toMatchObject({ filename: 'voice.m4a', content_type: 'audio/mp4' });
        });

        it('limits the size (25 MB by default, configurable here)', async () => {
            const small = await startRapidProSimulator({ maxUploadBytes: 1024 * 1024 });
            try {
                const big = await upload(small, new Uint8Array(1024 * 1024 + 1), 'image/png', 'big.png');
                expect(big).toMatchObject({ status: 400, body: { file: ['Limit for file uploads is 1.0 MB.'] } });
                expect(small.requests[0].body).toEqual([expect.objectContaining({ size: 1024 * 1024 + 1 })]);
                expect(small.media).toHaveLength(0);
                expect((await upload(small, new Uint8Array(1024 * 1024).fill(1), 'image/png', 'ok.png')).status).toBe(201);
            } finally {
                await small.close();
            }
        });

        it('needs a multipart file field', async () => {
            const none = await upload(sim, pngBytes(), 'image/png', 'a.png', 'other');
            expect(none).toMatchObject({ status: 400, body: { file: ['No file was submitted.'] } });
            const empty = await upload(sim, new Uint8Array(0), 'image/png', 'a.png');
            expect(empty).toMatchObject({ status: 400, body: { file: ['The submitted file is empty.'] } });
            const asJson = await post(sim, '/api/v2/media.json', { file: 'x' });
            expect(asJson).toMatchObject({ status: 415, body: { detail: 'Unsupported media type "application/json" in request.' } });
        });

        it('lets messages carry uploaded media as attachments', async () => {
            const m = await upload(sim, pngBytes(), 'image/png', 'a.png');
            const r = await post(sim, '/api/v2/messages.json', { contact: CONTACT, attachments: [m.body.uuid] });
            expect(r.status).toBe(201);
            expect(r.body).toMatchObject({ text: '', attachments: [{ content_type: 'image/png', url: m.body.url }] });
            expect(sim.sent[0]).toMatchObject({ text: '', attachments: [m.body.uuid] });
            // the "<content-type>:<url>" form of an uploaded media works too
            const r2 = await post(sim, '/api/v2/messages.json', { contact: CONTACT, attachments: [`image/png:${m.body.url}`] });
            expect(r2.status).toBe(201);
        });
    });

    describe('POST broadcasts.json', () => {
        it('sends to contacts and answers 201 with the broadcast', async () => {
            const r = await post(sim, '/api/v2/broadcasts.json', { contacts: [CONTACT, OTHER], text: 'Hello all' });
            expect(r.status).toBe(201);
            expect(r.body).toMatchObject({
                uuid: expect.any(String),
                status: 'pending',
                contacts: [
                    { uuid: CONTACT, name: null },
                    { uuid: OTHER, name: null },
                ],
                urns: [],
                groups: [],
                text: { eng: 'Hello all' },
                attachments: { eng: [] },
                base_language: 'eng',
            });
            expect(sim.sent.map((s) => [s.via, s.contact, s.text])).toEqual([
                ['broadcasts', CONTACT, 'Hello all'],
                ['broadcasts', OTHER, 'Hello all'],
            ]);
            expect(sim.broadcasts).toHaveLength(1);
        });

        it('validates like RapidPro', async () => {
            expect(await post(sim, '/api/v2/broadcasts.json', { contacts: [CONTACT] })).toMatchObject({
                status: 400,
                body: { non_field_errors: ['Must provide either text or attachments.'] },
            });
            expect(await post(sim, '/api/v2/broadcasts.json', { text: 'hi' })).toMatchObject({
                status: 400,
                body: { non_field_errors: ['Must provide either urns, contacts or groups.'] },
            });
            expect(await post(sim, '/api/v2/broadcasts.json', { contacts: [CONTACT], text: 'a'.repeat(4097) })).toMatchObject({
                status: 400,
                body: { text: { eng: ['Ensure this field has no more than 4096 characters.'] } },
            });
            expect(await post(sim, '/api/v2/broadcasts.json', { urns: ['tel:12'], text: 'hi' })).toMatchObject({
                status: 400,
                body: { urns: { '0': ['Invalid URN: tel:12. Ensure phone numbers contain country codes.'] } },
            });
            expect(
                await post(sim, '/api/v2/broadcasts.json', { contacts: [CONTACT], text: { eng: 'hi' }, base_language: 'spa' }),
            ).toMatchObject({ status: 400, body: { non_field_errors: ['No text translation provided in base language.'] } });
            expect(sim.sent).toHaveLength(0);
        });

        it('picks the translation in the contact language', async () => {
            const multi = await startRapidProSimulator({
                languages: ['eng', 'por'],
                knownContacts: [{ uuid: CONTACT, language: 'por' }, OTHER],
            });
            try {
                const r = await post(multi, '/api/v2/broadcasts.json', {
                    contacts: [CONTACT, OTHER],
                    text: { eng: 'Hello', por: 'Olá' },
                    base_language: 'eng',
                });
                expect(r.status).toBe(201);
                expect(multi.sent.map((s) => s.text)).toEqual(['Olá', 'Hello']);
            } finally {
                await multi.close();
            }
        });

        it('creates contacts for new URNs', async () => {
            const r = await post(sim, '/api/v2/broadcasts.json', { urns: ['tel:+250788123123'], text: 'hi' });
            expect(r.status).toBe(201);
            expect(sim.sent[0]).toMatchObject({ urn: 'tel:+250788123123', text: 'hi' });
            expect(sim.contacts.get(sim.sent[0].contact ?? '')?.urns).toEqual(['tel:+250788123123']);
        });
    });

    describe('POST contacts.json', () => {
        it('updates only what is sent and answers 200 with the contact', async () => {
            sim.addContact({ uuid: CONTACT, name: 'Ana', language: 'por' });
            const r = await post(sim, `/api/v2/contacts.json?uuid=${CONTACT}`, { fields: { bridge_status: 'open', bridge_room: 'R1' } });
            expect(r.status).toBe(200);
            expect(r.body).toMatchObject({
                uuid: CONTACT,
                name: 'Ana',
                language: 'por',
                fields: { bridge_status: 'open', bridge_room: 'R1' },
            });
            expect(sim.contacts.get(CONTACT)?.fields).toEqual({ bridge_status: 'open', bridge_room: 'R1' });
            const cleared = await post(sim, `/api/v2/contacts.json?uuid=${CONTACT}`, { fields: { bridge_room: '' } });
            expect(cleared.body.fields).toEqual({ bridge_status: 'open', bridge_room: null });
        });

        it('rejects unknown field keys', async () => {
            const r = await post(sim, `/api/v2/contacts.json?uuid=${CONTACT}`, { fields: { nickname: 'x' } });
            expect(r).toMatchObject({ status: 400, body: { fields: ['Invalid contact field key: nickname'] } });
            const custom = await startRapidProSimulator({ contactFields: ['nickname'] });
            try {
                expect((await post(custom, `/api/v2/contacts.json?uuid=${CONTACT}`, { fields: { nickname: 'x' } })).status).toBe(200);
                expect((await post(custom, `/api/v2/contacts.json?uuid=${CONTACT}`, { fields: { bridge_status: 'open' } })).body).toEqual({
                    fields: ['Invalid contact field key: bridge_status'],
                });
            } finally {
                await custom.close();
            }
        });

        it('answers 404 for a contact that does not exist (known contacts mode)', async () => {
            const strict = await startRapidProSimulator({ knownContacts: [CONTACT] });
            try {
                const r = await post(strict, `/api/v2/contacts.json?uuid=${OTHER}`, { fields: { bridge_status: 'open' } });
                expect(r).toMatchObject({ status: 404, body: { detail: 'No Contact matches the given query.' } });
            } finally {
                await strict.close();
            }
        });

        it('reads contacts with GET', async () => {
            sim.addContact({ uuid: CONTACT, name: 'Ana', language: 'spa' });
            const r = await call(sim, `/api/v2/contacts.json?uuid=${CONTACT}`);
            expect(r.status).toBe(200);
            expect(r.body).toMatchObject({ next: null, previous: null, results: [{ uuid: CONTACT, name: 'Ana', language: 'spa' }] });
        });
    });

    describe('POST flow_starts.json', () => {
        it('starts a flow and answers 201 pending', async () => {
            const params = { room_id: 'R1', closed_by: 'agent', agent: 'bob', department: 'Support', duration_seconds: 42 };
            const r = await post(sim, '/api/v2/flow_starts.json', { flow: FLOW, contacts: [CONTACT], params });
            expect(r.status).toBe(201);
            expect(r.body).toMatchObject({
                uuid: expect.any(String),
                flow: { uuid: FLOW, name: expect.any(String) },
                status: 'pending',
                contacts: [{ uuid: CONTACT, name: null }],
                groups: [],
                params,
                restart_participants: true,
                exclude_active: false,
            });
            expect(sim.flowStarts).toHaveLength(1);
            expect(sim.flowStarts[0]).toMatchObject({ flow: { uuid: FLOW }, params });
        });

        it('validates like RapidPro', async () => {
            expect(await post(sim, '/api/v2/flow_starts.json', { contacts: [CONTACT] })).toMatchObject({
                status: 400,
                body: { flow: ['This field is required.'] },
            });
            expect(await post(sim, '/api/v2/flow_starts.json', { flow: FLOW })).toMatchObject({
                status: 400,
                body: { non_field_errors: ['Must specify at least one group, contact or URN'] },
            });
            expect(await post(sim, '/api/v2/flow_starts.json', { flow: FLOW, contacts: [CONTACT], params: [1] })).toMatchObject({
                status: 400,
                body: { params: ['Must be a valid JSON object'] },
            });
            expect(
                await post(sim, '/api/v2/flow_starts.json', { flow: FLOW, contacts: [CONTACT], params: { a: 'x'.repeat(10000) } }),
            ).toMatchObject({ status: 400, body: { params: ['Cannot exceed 10,000 characters encoded.'] } });
            expect(await post(sim, '/api/v2/flow_starts.json', { flow: FLOW, contacts: Array(101).fill(CONTACT) })).toMatchObject({
                status: 400,
                body: { contacts: ['Ensure this field has no more than 100 elements.'] },
            });
            expect(sim.flowStarts).toHaveLength(0);
        });

        it('knows only the configured flows when flows are set', async () => {
            const strict = await startRapidProSimulator({ flows: [{ uuid: FLOW, name: 'Bot again' }] });
            try {
                expect(await post(strict, '/api/v2/flow_starts.json', { flow: OTHER, contacts: [CONTACT] })).toMatchObject({
                    status: 400,
                    body: { flow: [`No such object: ${OTHER}`] },
                });
                const ok = await post(strict, '/api/v2/flow_starts.json', { flow: FLOW, contacts: [CONTACT] });
                expect(ok.body.flow).toEqual({ uuid: FLOW, name: 'Bot again' });
            } finally {
                await strict.close();
            }
        });
    });

    describe('GET messages.json', () => {
        it('lists seeded and sent messages of a contact, newest first, with RapidPro paging', async () => {
            sim.seedMessages(CONTACT, [
                { direction: 'in', text: 'hi bot', created_on: '2024-05-01T10:00:00.000000Z' },
                { direction: 'out', text: 'hello human', created_on: '2024-05-01T10:00:05.123456Z' },
            ]);
            sim.seedMessages(OTHER, [{ direction: 'in', text: 'someone else' }]);
            await post(sim, '/api/v2/messages.json', { contact: CONTACT, text: 'agent here' });
            const r = await call(sim, `/api/v2/messages.json?contact=${CONTACT}`);
            expect(r.status).toBe(200);
            expect(r.body.next).toBeNull();
            expect(r.body.previous).toBeNull();
            expect(r.body.results.map((m: { text: string; direction: string }) => [m.direction, m.text])).toEqual([
                ['out', 'agent here'],
                ['out', 'hello human'],
                ['in', 'hi bot'],
            ]);
            expect(r.body.results[1]).toMatchObject({
                created_on: '2024-05-01T10:00:05.123456Z',
                status: 'sent',
                contact: { uuid: CONTACT },
            });
            expect(r.body.results[2]).toMatchObject({ status: 'handled', direction: 'in' });
        });

        it('filters by after/before (inclusive) and gives nothing for unparseable times', async () => {
            sim.seedMessages(CONTACT, [
                { direction: 'in', text: 'old', created_on: '2024-05-01T10:00:00Z' },
                { direction: 'in', text: 'mid', created_on: '2024-05-01T11:00:00Z' },
                { direction: 'in', text: 'new', created_on: '2024-05-01T12:00:00Z' },
            ]);
            const texts = async (qs: string): Promise<string[]> =>
                (await call(sim, `/api/v2/messages.json?contact=${CONTACT}&${qs}`)).body.results.map((m: { text: string }) => m.text);
            expect(await texts('after=2024-05-01T11:00:00.000000Z')).toEqual(['new', 'mid']);
            expect(await texts('before=2024-05-01T11:00:00Z')).toEqual(['mid', 'old']);
            expect(await texts(`after=${encodeURIComponent('2024-05-01T12:00:00+01:00')}`)).toEqual(['new', 'mid']);
            expect(await texts('after=2024-05-01')).toEqual(['new', 'mid', 'old']);
            // an unencoded "+" arrives as a space: RapidPro cannot parse it and returns nothing
            expect(await texts('after=2024-05-01T12:00:00+01:00')).toEqual([]);
            expect(await texts('after=yesterday')).toEqual([]);
        });

        it('returns nothing for an unknown contact and pages with next links', async () => {
            const small = await startRapidProSimulator({ pageSize: 2 });
            try {
                small.seedMessages(
                    CONTACT,
                    [1, 2, 3, 4, 5].map((i) => ({ direction: 'in' as const, text: `m${i}` })),
                );
                const unknown = await call(small, `/api/v2/messages.json?contact=${OTHER}`);
                expect(unknown.body.results).toEqual([]);
                const seen: string[] = [];
                let next: string | null = `/api/v2/messages.json?contact=${CONTACT}`;
                while (next) {
                    const page: Answer = await call(small, next.replace(small.url, ''));
                    seen.push(...page.body.results.map((m: { text: string }) => m.text));
                    next = page.body.next;
                }
                expect(seen).toEqual(['m5', 'm4', 'm3', 'm2', 'm1']);
                const bad = await call(small, `/api/v2/messages.json?contact=${CONTACT}&folder=inbox`);
                expect(bad).toMatchObject({
                    status: 400,
                    body: { detail: 'You may only specify one of the contact, folder, label, broadcast parameters' },
                });
            } finally {
                await small.close();
            }
        });
    });

    describe('rate limiting', () => {
        it('throttles each scope separately with 429 and Retry-After', async () => {
            let now = Date.UTC(2024, 0, 1);
            const limited = await startRapidProSimulator({ rateLimitPerHour: 2, now: () => now });
            try {
                expect((await post(limited, '/api/v2/messages.json', { contact: CONTACT, text: '1' })).status).toBe(201);
                now += 60_000;
                expect((await post(limited, '/api/v2/messages.json', { contact: CONTACT, text: '2' })).status).toBe(201);
                const third = await post(limited, '/api/v2/messages.json', { contact: CONTACT, text: '3' });
                expect(third.status).toBe(429);
                expect(third.headers.get('retry-after')).toBe('3540');
                expect(third.body).toEqual({ detail: 'Request was throttled. Expected available in 3540 seconds.' });
                expect(limited.sent).toHaveLength(2);
                // other scopes have their own counters
                expect((await call(limited, '/api/v2/workspace.json')).status).toBe(200);
                expect((await post(limited, `/api/v2/contacts.json?uuid=${CONTACT}`, { name: 'A' })).status).toBe(200);
                // the window slides
                now += 3540_000;
                expect((await post(limited, '/api/v2/messages.json', { contact: CONTACT, text: '3' })).status).toBe(201);
                limited.setRateLimit(null);
                expect((await post(limited, '/api/v2/messages.json', { contact: CONTACT, text: '4' })).status).toBe(201);
            } finally {
                await limited.close();
            }
        });
    });

    describe('fault injection', () => {
        it('failNext makes the next calls fail without effect', async () => {
            sim.failNext(2, { status: 503 });
            const a = await post(sim, '/api/v2/messages.json', { contact: CONTACT, text: 'x' });
            const b = await post(sim, '/api/v2/messages.json', { contact: CONTACT, text: 'x' });
            const c = await post(sim, '/api/v2/messages.json', { contact: CONTACT, text: 'x' });
            expect([a.status, b.status, c.status]).toEqual([503, 503, 201]);
            expect(sim.sent).toHaveLength(1);
            expect(sim.requests.map((r) => r.fault)).toEqual(['fail', 'fail', null]);
        });

        it('failNext with 429 sends Retry-After, and can target a path', async () => {
            sim.failNext(1, { status: 429, retryAfter: 7, path: 'messages.json' });
            expect((await upload(sim, pngBytes(), 'image/png', 'a.png')).status).toBe(201);
            const r = await post(sim, '/api/v2/messages.json', { contact: CONTACT, text: 'x' });
            expect(r.status).toBe(429);
            expect(r.headers.get('retry-after')).toBe('7');
            expect(r.body).toEqual({ detail: 'Request was throttled. Expected available in 7 seconds.' });
            sim.failNext(1, { status: 502, body: { custom: true } });
            expect(await call(sim, '/api/v2/workspace.json')).toMatchObject({ status: 502, body: { custom: true } });
            sim.failNext(1, { status: 500 });
            const e = await call(sim, '/api/v2/workspace.json');
            expect(e.status).toBe(500);
            expect(e.body).toBe('Server Error. Site administrators have been notified.');
        });

        it('delayNext delays the answer (the call still takes effect), so a client timeout can be tested', async () => {
            sim.delayNext(1, 400);
            const ctrl = new AbortController();
            const timer = setTimeout(() => ctrl.abort(), 100);
            const started = Date.now();
            await expect(
                call(sim, '/api/v2/messages.json', { json: { contact: CONTACT, text: 'slow' }, signal: ctrl.signal }),
            ).rejects.toThrow();
            clearTimeout(timer);
            expect(Date.now() - started).toBeLessThan(350);
            expect(sim.sent).toHaveLength(1); // accepted although the client gave up
            const d = Date.now();
            sim.delayNext(1, 150);
            expect((await call(sim, '/api/v2/workspace.json')).status).toBe(200);
            expect(Date.now() - d).toBeGreaterThanOrEqual(140);
        });

        it('dropNext closes the connection without an answer, before or after the effect', async () => {
            sim.dropNext(1);
            await expect(post(sim, '/api/v2/messages.json', { contact: CONTACT, text: 'lost' })).rejects.toThrow();
            expect(sim.sent).toHaveLength(0);
            sim.dropNext(1, { afterEffect: true });
            await expect(post(sim, '/api/v2/messages.json', { contact: CONTACT, text: 'lost answer' })).rejects.toThrow();
            expect(sim.sent.map((s) => s.text)).toEqual(['lost answer']);
            expect(sim.requests.map((r) => [r.fault, r.status])).toEqual([
                ['drop', 0],
                ['drop-after-effect', 0],
            ]);
            expect((await post(sim, '/api/v2/messages.json', { contact: CONTACT, text: 'ok' })).status).toBe(201);
        });

        it('setDown makes clients fail fast with a network error', async () => {
            await call(sim, '/api/v2/workspace.json'); // a kept-alive connection exists
            sim.setDown(true);
            expect(sim.isDown).toBe(true);
            const started = Date.now();
            await expect(call(sim, '/api/v2/workspace.json')).rejects.toThrow();
            await expect(post(sim, '/api/v2/messages.json', { contact: CONTACT, text: 'x' })).rejects.toThrow();
            expect(Date.now() - started).toBeLessThan(2000);
            expect(sim.refusedConnections).toBeGreaterThan(0);
            expect(sim.sent).toHaveLength(0);
            sim.setDown(false);
            expect((await call(sim, '/api/v2/workspace.json')).status).toBe(200);
        });

        it('reset clears records, state and faults', async () => {
            await post(sim, '/api/v2/messages.json', { contact: CONTACT, text: 'x' });
            await upload(sim, pngBytes(), 'image/png', 'a.png');
            sim.failNext(5);
            sim.setDown(true);
            const sent = sim.sent;
            sim.reset();
            expect(sim.requests).toHaveLength(0);
            expect(sent).toHaveLength(0); // cleared in place
            expect(sim.media).toHaveLength(0);
            expect(sim.contacts.size).toBe(0);
            expect(sim.isDown).toBe(false);
            expect((await call(sim, '/api/v2/workspace.json')).status).toBe(200);
        });
    });

    describe('waitFor', () => {
        it('resolves when the predicate becomes true', async () => {
            const waiting = sim.waitFor((s) => s.sent.length === 2, 2000);
            void post(sim, '/api/v2/messages.json', { contact: CONTACT, text: '1' });
            void post(sim, '/api/v2/messages.json', { contact: CONTACT, text: '2' });
            await waiting;
            expect(sim.sent.map((s) => s.text).sort()).toEqual(['1', '2']);
            await sim.waitFor(() => true, 10);
        });

        it('rejects after the timeout', async () => {
            await expect(sim.waitFor((s) => s.sent.length > 0, 50)).rejects.toThrow(/timed out/);
        });
    });

    it('close() ends the server so no handles stay open', async () => {
        const s = await startRapidProSimulator();
        await call(s, '/api/v2/workspace.json');
        s.delayNext(1, 10_000);
        const pending = call(s, '/api/v2/workspace.json').catch((e: unknown) => e);
        await s.waitFor((x) => x.requests.length === 2);
        await s.close();
        // (fetch's TypeError comes from another realm than jest's Error, so check the message)
        expect(String(await pending)).toMatch(/fetch failed/);
        await expect(fetch(`${s.url}/api/v2/workspace.json`)).rejects.toThrow();
        await s.close(); // idempotent
    });
});
