import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';

import { EngineHost, probeAppZip, trivialAppZip } from '../../harness/engine';

/**
 * Self-test of the engine harness (harness/) with the trivial fixture app: the real Apps-Engine
 * loads the packaged zip in Deno, permission checks are on, API calls / message events / scheduler
 * jobs reach the app, the HTTP front serves it.
 */
jest.setTimeout(60000);

describe('engine harness self-test (trivial app)', () => {
    let host: EngineHost;
    let startMs = 0;

    beforeAll(async () => {
        const started = Date.now();
        host = await EngineHost.start({ zip: trivialAppZip(), settings: { greeting: 'S3CRET-GREETING' }, runtimeTimeoutMs: 5000 });
        startMs = Date.now() - started;
    });

    afterAll(async () => {
        await host?.stop();
    });

    it('starts the app in the real engine, enabled, in a few hundred ms', async () => {
        expect(host.appId).toBe('43e12107-96bd-4e9d-a7d8-bf233183219f');
        expect(String(await host.app.getStatus())).toBe('manually_enabled');
        expect(startMs).toBeLessThan(15000);
    });

    it('calls an endpoint with the IApiRequest Rocket.Chat would build', async () => {
        const res = await host.callApi({ path: 'ping?x=1&y=2&y=3', headers: { 'X-Custom': 'Yes' } });
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(res.body).toMatchObject({ ok: true, method: 'get', query: { x: '1', y: ['2', '3'] }, params: {} });
        expect(res.body.headers['x-custom']).toBe('Yes');

        const post = await host.callApi({ path: '/PING/', body: { a: 1 } });
        expect(post.status).toBe(200);
        expect(post.body).toEqual({ ok: true, method: 'post', content: { a: 1 }, contentType: 'object' });

        const text = await host.callApi({ path: 'ping', method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } });
        expect(text.body.content).toEqual({});
    });

    it('answers invalid JSON with 400 without calling the app', async () => {
        const before = host.logs.filter((l) => l.method === ('api:ping:post' as never)).length;
        const bad = await host.callApi({ path: 'ping', method: 'POST', body: '{"a":', headers: { 'content-type': 'application/json' } });
        expect(bad.status).toBe(400);
        expect(bad.raw).toContain('<pre>Bad Request</pre>');
        const scalar = await host.callApi({
            path: 'ping',
            method: 'POST',
            body: '"just a string"',
            headers: { 'content-type': 'application/json' },
        });
        expect(scalar.status).toBe(400);
        expect(host.logs.filter((l) => l.method === ('api:ping:post' as never)).length).toBe(before);
        const unknown = await host.callApi({ path: 'nope' });
        expect(unknown.status).toBe(404);
    });

    it('delivers IPostMessageSent for agent messages and for messages the app writes', async () => {
        host.rc.addDepartment({ name: 'Support', agents: [{ username: 'alice', name: 'Alice' }] });
        const visitor = await host.rc.registerGuest({ token: 'visitor-token-1', name: 'Bob' });
        const room = await host.rc.createLivechatRoom({ visitor, source: { type: 'widget' } });
        expect(room.servedBy?.username).toBe('alice');
        expect(host.rc.events.map((e) => e.event)).toEqual(['IPostLivechatRoomStarted', 'IPostLivechatAgentAssigned']);

        const msg = await host.rc.agentSendMessage(room._id, 'alice', 'hello from the agent');
        const state = await host.callApi({ path: 'state' });
        expect(state.body.lastMessage).toEqual({ id: msg._id, text: 'hello from the agent', roomId: room._id });

        // The trivial app is not granted message.write: the bridge refuses (returns nothing) and records it.
        const appUser = await host.manager.getBridges().getUserBridge().doGetAppUser(host.appId);
        const appRoom = await host.manager.getBridges().getRoomBridge().doGetById(room._id, host.appId);
        const refused = await host.manager
            .getBridges()
            .getMessageBridge()
            .doCreate({ room: appRoom, sender: appUser!, text: 'not allowed' }, host.appId);
        expect(refused).toBeUndefined();
        expect(host.permissionDenials.some((d) => d.missing.includes('message.write'))).toBe(true);
        expect(host.rc.eventErrors).toEqual([]);
    });

    it('runs a scheduled job when the clock is advanced; a failed job is kept, never retried', async () => {
        const scheduled = await host.callApi({ path: 'schedule', body: { inSeconds: 10, n: 1 } });
        expect(scheduled.body.jobId).toMatch(/^[0-9a-f]{24}$/);
        expect(await host.clock.advance(5000)).toEqual([]);
        const runs = await host.clock.advance(6000);
        expect(runs).toHaveLength(1);
        expect(runs[0]).toMatchObject({ jobId: scheduled.body.jobId, ok: true });
        const state = await host.callApi({ path: 'state' });
        expect(state.body.ticks).toEqual({ ticks: [{ jobId: scheduled.body.jobId, n: 1 }] });
        expect(host.scheduler.jobs.size).toBe(0);

        await host.callApi({ path: 'schedule', body: { inSeconds: 0, n: 2, fail: true } });
        // The engine console.errors the failed job (as on a server); keep the test output clean.
        const quiet = jest.spyOn(console, 'error').mockImplementation(() => undefined);
        const failed = await host.clock.runDue();
        quiet.mockRestore();
        expect(failed[0]).toMatchObject({ ok: false, error: 'tick failed on purpose' });
        expect(await host.clock.advance(3600 * 1000)).toEqual([]);
        expect(host.scheduler.failedJobs()).toHaveLength(1);
    });

    it('checks permissions: an accessor the app was not granted returns nothing', async () => {
        expect(process.env.NODE_ENV).not.toBe('test');
        const res = await host.callApi({ path: 'probe' });
        expect(res.body.siteUrl).toBeNull();
        expect(res.body.error).toMatch(/No Server Setting found/);
        expect(host.permissionDenials.some((d) => d.missing.includes('server-setting.read'))).toBe(true);
    });

    it('updates a setting the way Rocket.Chat does (onSettingUpdated) and captures logs', async () => {
        await host.updateSetting('greeting', 'howdy');
        const state = await host.callApi({ path: 'state' });
        expect(state.body.greeting).toBe('howdy');
        expect(host.logText()).toContain('setting greeting updated');
    });

    it('serves the app and uploaded files over real HTTP', async () => {
        const base = await host.listen();
        const res = await fetch(`${host.apiBaseUrl}/ping?z=9`);
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ ok: true, query: { z: '9' } });
        const post = await fetch(`${host.apiBaseUrl}/ping`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{oops',
        });
        expect(post.status).toBe(400);
        expect((await fetch(`${base}/api/apps/public/not-an-app/ping`)).status).toBe(404);

        const room = host.rc.rooms.find((r) => r.t === 'l')!;
        const { upload, message } = await host.rc.agentSendFile(room._id, 'alice', {
            filename: 'photo.png',
            buffer: Buffer.from('89504e470d0a1a0a0000', 'hex'),
        });
        expect(upload.type).toBe('image/png');
        expect(message.attachments?.[0]).toMatchObject({ title: 'photo.png', image_url: `/file-upload/${upload._id}/photo.png` });
        expect((await fetch(`${base}/file-upload/${upload._id}/photo.png`)).status).toBe(403);
        const file = await fetch(host.fileUrl(upload._id));
        expect(file.status).toBe(200);
        expect(Buffer.from(await file.arrayBuffer()).equals(upload.buffer)).toBe(true);
    });
});

describe('engine harness self-test (other grants)', () => {
    it('messages the app writes fire IPostMessageSent too (as on Rocket.Chat)', async () => {
        const host = await EngineHost.start({
            zip: trivialAppZip(),
            permissionsGranted: [
                { name: 'api' },
                { name: 'persistence' },
                { name: 'scheduler' },
                { name: 'message.write' },
                { name: 'room.read' },
                { name: 'user.read' },
            ],
            runtimeTimeoutMs: 5000,
        });
        try {
            host.rc.addDepartment({ name: 'Support', agents: [{ username: 'alice' }] });
            const visitor = await host.rc.registerGuest({ token: 't3', name: 'Dan' });
            const room = await host.rc.createLivechatRoom({ visitor, source: { type: 'widget' } });
            const bridges = host.manager.getBridges();
            const appUser = await bridges.getUserBridge().doGetAppUser(host.appId);
            const appRoom = await bridges.getRoomBridge().doGetById(room._id, host.appId);
            const id = await bridges
                .getMessageBridge()
                .doCreate({ room: appRoom, sender: appUser!, text: 'written by the app' }, host.appId);
            await host.rc.idle();
            const state = await host.callApi({ path: 'state' });
            expect(state.body.lastMessage).toEqual({ id, text: 'written by the app', roomId: room._id });
            expect(host.rc.messagesOf(room._id).find((m) => m._id === id)?.u.username).toBe('trivial-harness-app.bot');
        } finally {
            await host.stop();
        }
    });

    it('a listener whose persistence write is not granted stores nothing', async () => {
        const host = await EngineHost.start({
            zip: trivialAppZip(),
            permissionsGranted: [{ name: 'api' }, { name: 'scheduler' }],
            runtimeTimeoutMs: 5000,
        });
        try {
            host.rc.addDepartment({ name: 'Support', agents: [{ username: 'alice' }] });
            const visitor = await host.rc.registerGuest({ token: 't2', name: 'Carol' });
            const room = await host.rc.createLivechatRoom({ visitor, source: { type: 'widget' } });
            await host.rc.agentSendMessage(room._id, 'alice', 'hi');
            expect(host.persistence()).toEqual([]);
            expect(host.permissionDenials.some((d) => d.missing.includes('persistence'))).toBe(true);
        } finally {
            await host.stop();
        }
    });
});

/**
 * The emulation seen from app code (harness/fixtures/probe-app): the bridges the RapidPro Bridge
 * relies on, called from inside the Deno runtime.
 */
describe('Rocket.Chat emulation seen from app code (probe app)', () => {
    let host: EngineHost;
    let server: http.Server;
    let base = '';
    const received: Array<{ method?: string; url?: string; headers: http.IncomingHttpHeaders; body: Buffer }> = [];

    const op = async (args: Record<string, unknown>) => {
        const res = await host.callApi({ path: 'op', body: args });
        // biome-ignore lint/suspicious/noExplicitAny: probe op results are untyped JSON
        return res.body as { result?: any; error?: string };
    };
    // biome-ignore lint/suspicious/noExplicitAny: probe op results are untyped JSON
    const events = async () => (await host.callApi({ path: 'events' })).body.events as Array<Record<string, any>>;

    beforeAll(async () => {
        server = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on('data', (c) => chunks.push(c));
            req.on('end', () => {
                received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
                if (req.url?.startsWith('/bin')) {
                    res.writeHead(200, { 'content-type': 'audio/ogg' });
                    res.end(Buffer.from([0x4f, 0x67, 0x67, 0x53, 0xff, 0x00, 0xfe, 0x80]));
                } else if (req.url?.startsWith('/slow')) {
                    setTimeout(() => res.end('late'), 1500).unref();
                } else {
                    res.writeHead(req.url?.startsWith('/bad') ? 400 : 201, { 'content-type': 'application/json' });
                    res.end(JSON.stringify({ uuid: 'media-uuid', length: Buffer.concat(chunks).length }));
                }
            });
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        host = await EngineHost.start({ zip: probeAppZip(), runtimeTimeoutMs: 5000 });
        host.rc.addDepartment({ id: 'dep-sales', name: 'Sales', agents: [{ username: 'sam', name: 'Sam' }] });
        host.rc.addDepartment({
            id: 'dep-support',
            name: 'Support',
            agents: [
                { username: 'alice', name: 'Alice' },
                { username: 'bob', online: false },
            ],
        });
        host.rc.addDepartment({ id: 'dep-empty', name: 'Empty' });
        // setCustomFields only accepts defined livechat custom fields (custom-fields.ts).
        host.rc.addCustomField({ id: 'rp_status', scope: 'visitor' });
    });

    afterAll(async () => {
        await host?.stop();
        await new Promise((resolve) => server?.close(resolve));
    });

    it('IHttp: a Buffer body (multipart) arrives byte-exact; a binary string body is UTF-8 encoded', async () => {
        const boundary = 'harness-boundary';
        const file = Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x80, 0xc3, 0x28]);
        const multipart = Buffer.concat([
            Buffer.from(
                `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
            ),
            file,
            Buffer.from(`\r\n--${boundary}--\r\n`),
        ]);
        const headers = { 'Content-Type': `multipart/form-data; boundary=${boundary}`, Authorization: 'Token abc' };
        const ok = await op({
            op: 'http',
            url: `${base}/media`,
            contentBase64: multipart.toString('base64'),
            contentKind: 'buffer',
            headers,
        });
        expect(ok.result).toMatchObject({ statusCode: 201, data: { uuid: 'media-uuid', length: multipart.length } });
        const got = received[received.length - 1];
        expect(got.headers['content-type']).toBe(`multipart/form-data; boundary=${boundary}`);
        expect(got.headers.authorization).toBe('Token abc');
        expect(got.body.equals(multipart)).toBe(true);

        await op({ op: 'http', url: `${base}/media`, contentBase64: multipart.toString('base64'), contentKind: 'string', headers });
        expect(received[received.length - 1].body.equals(multipart)).toBe(false);
    });

    it('IHttp: encoding null gives a Buffer in the app; 4xx is returned, timeouts and refused connections throw', async () => {
        const bin = await op({ op: 'http', method: 'get', url: `${base}/bin`, encodingNull: true });
        expect(bin.result).toMatchObject({
            statusCode: 200,
            contentIsBuffer: true,
            contentBase64: Buffer.from([0x4f, 0x67, 0x67, 0x53, 0xff, 0x00, 0xfe, 0x80]).toString('base64'),
        });
        const text = await op({ op: 'http', method: 'get', url: `${base}/bin` });
        expect(text.result).toMatchObject({ contentIsBuffer: false, contentType: 'string', data: null });
        const bad = await op({ op: 'http', url: `${base}/bad`, data: { a: 1 }, params: { q: 'x y' } });
        expect(bad.result).toMatchObject({ statusCode: 400, data: { uuid: 'media-uuid' } });
        const last = received[received.length - 1];
        expect(last.url).toBe('/bad?q=x+y');
        expect(last.headers['content-type']).toBe('application/json');
        expect(JSON.parse(last.body.toString())).toEqual({ a: 1 });
        const slow = await op({ op: 'http', method: 'get', url: `${base}/slow`, timeout: 200 });
        expect(slow.error).toBe('The user aborted a request.');
        const closed = http.createServer();
        await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
        const deadPort = (closed.address() as AddressInfo).port;
        await new Promise((resolve) => closed.close(resolve));
        const refused = await op({ op: 'http', method: 'get', url: `http://127.0.0.1:${deadPort}/` });
        expect(refused.error).toBe(`request to http://127.0.0.1:${deadPort}/ failed, reason: connect ECONNREFUSED 127.0.0.1:${deadPort}`);
    });

    it('livechat: visitors, rooms (source app only, no open-room check), departments, online status', async () => {
        const visitor = await op({ op: 'visitor', token: 'contact-1', name: 'Contact One', department: 'Support' });
        expect(visitor.result).toMatchObject({ token: 'contact-1', name: 'Contact One', department: 'dep-support', username: 'guest-1' });
        const again = await op({ op: 'visitor', token: 'contact-1', name: 'Renamed' });
        expect(again.result).toMatchObject({ id: visitor.result.id, name: 'Renamed' });

        expect((await op({ op: 'room', token: 'contact-1', sourceType: 'api' })).error).toMatch(/error-invalid-source/);
        const room = await op({ op: 'room', token: 'contact-1' });
        expect(room.result).toMatchObject({
            servedBy: 'alice',
            department: 'Support',
            isOpen: true,
            source: { type: 'app', label: 'RapidPro' },
        });
        const second = await op({ op: 'room', token: 'contact-1' });
        expect(second.result.id).not.toBe(room.result.id);
        expect((await op({ op: 'openRooms', token: 'contact-1' })).result).toHaveLength(2);
        await op({ op: 'close', roomId: second.result.id, comment: 'duplicate' });

        const deps = await op({ op: 'departments' });
        expect(deps.result).toEqual({
            deps: [
                { id: 'dep-sales', name: 'Sales', online: true },
                { id: 'dep-support', name: 'Support', online: true },
            ],
            anyOnline: true,
        });
        const evs = await events();
        expect(evs.filter((e) => e.roomId === room.result.id).map((e) => e.event)).toEqual([
            'IPostLivechatRoomStarted',
            'IPostLivechatAgentAssigned',
        ]);
    });

    it(
        'messages: visitor, app and agent messages all fire IPostMessageSent; ' + 'a visitor message into a closed room opens a new room',
        async () => {
            const [room] = host.rc.openRoomsOf('contact-1');
            const visitorMsg = await op({ op: 'visitorMessage', token: 'contact-1', roomId: room._id, text: 'hi from the contact' });
            const appMsg = await op({ op: 'appMessage', roomId: room._id, text: 'note from the app' });
            const agentMsg = await host.rc.agentSendMessage(room._id, 'alice', 'hello, I am Alice');
            const sent = (await events()).filter((e) => e.event === 'IPostMessageSent');
            expect(sent.find((e) => e.id === visitorMsg.result)).toMatchObject({ sender: 'guest-1', token: 'contact-1', roomIsOpen: true });
            expect(sent.find((e) => e.id === appMsg.result)).toMatchObject({ sender: 'harness-probe-app.bot', token: null });
            expect(sent.find((e) => e.id === agentMsg._id)).toMatchObject({ sender: 'alice', token: null });

            expect((await op({ op: 'close', roomId: room._id, comment: 'done' })).result).toBe(true);
            expect(host.rc.room(room._id)).toMatchObject({ closer: 'visitor', closeComment: 'done' });
            expect(host.rc.room(room._id)!.open).toBeUndefined();
            expect((await op({ op: 'close', roomId: room._id })).error).toBe('error-room-closed');
            const late = await op({ op: 'visitorMessage', token: 'contact-1', roomId: room._id, text: 'are you there?' });
            const stored = host.rc.messagesById.get(late.result)!;
            expect(stored.rid).not.toBe(room._id);
            expect(host.rc.room(stored.rid)).toMatchObject({ open: true, servedBy: { username: 'alice' } });
        },
    );

    it('uploads: visitor and app uploads become file messages; the app reads files back as Buffers', async () => {
        const [room] = host.rc.openRoomsOf('contact-1');
        const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46]);
        const up = await op({ op: 'upload', roomId: room._id, token: 'contact-1', filename: 'photo.bin', base64: jpeg.toString('base64') });
        expect(up.result).toMatchObject({ name: 'photo.bin', type: 'image/jpeg', size: jpeg.length });
        const message = host.rc.messagesOf(room._id).find((m) => m.file?._id === up.result.id)!;
        expect(message).toMatchObject({
            token: 'contact-1',
            attachments: [{ title: 'photo.bin', image_url: `/file-upload/${up.result.id}/photo.bin` }],
        });
        const readBack = await op({ op: 'readUpload', id: up.result.id });
        expect(readBack.result).toMatchObject({ isBuffer: true, base64: jpeg.toString('base64'), type: 'image/jpeg' });

        const pdf = await op({ op: 'upload', roomId: room._id, filename: 'doc.pdf', base64: Buffer.from('%PDF-1.4').toString('base64') });
        expect(host.rc.messagesOf(room._id).find((m) => m.file?._id === pdf.result.id)?.u.username).toBe('harness-probe-app.bot');

        const agentFile = await host.rc.agentSendFile(room._id, 'alice', {
            filename: 'scan.pdf',
            buffer: Buffer.from('%PDF-1.7 x'),
            description: 'the scan',
        });
        const fileEvent = (await events()).find((e) => e.id === agentFile.message._id)!;
        expect(fileEvent.file).toEqual({ _id: agentFile.upload._id, name: 'scan.pdf', type: 'application/pdf' });
        expect(fileEvent.attachments[0]).toMatchObject({
            title: { value: 'scan.pdf', link: `/file-upload/${agentFile.upload._id}/scan.pdf` },
            description: 'the scan',
        });

        const closed = host.rc.rooms.find((r) => r.t === 'l' && !r.open)!;
        const before = host.rc.messagesOf(closed._id).length;
        await op({
            op: 'upload',
            roomId: closed._id,
            token: 'contact-1',
            filename: 'late.png',
            base64: Buffer.from([0x89, 0x50, 0x4e, 0x47]).toString('base64'),
        });
        expect(host.rc.messagesOf(closed._id)).toHaveLength(before);
    });

    it('transfers and failures as Rocket.Chat reports them', async () => {
        const [room] = host.rc.openRoomsOf('contact-1');
        expect((await op({ op: 'transfer', roomId: room._id, department: 'Sales' })).result).toBe(true);
        expect(host.rc.room(room._id)).toMatchObject({ departmentId: 'dep-sales', servedBy: { username: 'sam' } });
        expect((await op({ op: 'transfer', roomId: room._id, department: 'dep-empty' })).error).toBe(
            'error-no-agents-online-in-department',
        );
        const evs = (await events()).filter((e) => e.roomId === room._id);
        expect(evs.map((e) => e.event)).toEqual(expect.arrayContaining(['IPostLivechatAgentAssigned', 'IPostLivechatRoomTransferred']));
        expect(evs.find((e) => e.event === 'IPostLivechatRoomTransferred')).toMatchObject({
            type: 'department',
            from: 'Support',
            to: 'Sales',
        });

        host.rc.setAgentOnline('alice', false);
        host.rc.setAgentOnline('sam', false);
        expect((await op({ op: 'departments' })).result.anyOnline).toBe(false);
        expect((await op({ op: 'room', token: 'contact-1' })).error).toBe('Sorry, no online agents [no-agent-online]');
        expect((await op({ op: 'customField', token: 'contact-1', key: 'rp_status', value: 'queued', overwrite: true })).result).toBe(true);
        expect(host.rc.visitorByToken('contact-1')!.livechatData).toEqual({ rp_status: 'queued' });
        host.rc.setAgentOnline('alice', true);
        host.rc.setAgentOnline('sam', true);
        expect(host.rc.eventErrors).toEqual([]);
    });

    it('a password setting stays out of the logs when onPreSettingUpdate returns nothing', async () => {
        await host.updateSetting('secret', 'TOP-SECRET-VALUE');
        expect((await op({ op: 'setting', id: 'secret' })).result).toBe('TOP-SECRET-VALUE');
        expect(host.logText()).not.toContain('TOP-SECRET-VALUE');
        await host.callApi({ path: 'events', headers: { Authorization: 'Token TOP-SECRET-HEADER' } });
        expect(host.logText()).not.toContain('TOP-SECRET-HEADER');
    });

    it('visitor registration has no unique token: concurrent registrations create two visitors', async () => {
        // A wide database round trip, so the two calls overlap even on a loaded machine.
        const latency = host.rc.options.dbLatencyMs;
        host.rc.options.dbLatencyMs = 300;
        const [a, b] = await Promise.all([
            op({ op: 'visitor', token: 'racy', name: 'R' }),
            op({ op: 'visitor', token: 'racy', name: 'R' }),
        ]).finally(() => {
            host.rc.options.dbLatencyMs = latency;
        });
        expect(a.result.id).not.toBe(b.result.id);
        expect(host.rc.visitors.filter((v) => v.token === 'racy')).toHaveLength(2);
    });
});

describe('manual routing and the agent UI', () => {
    it('queues until an agent takes the chat; agent transfer, edit, system message and close reach the app', async () => {
        const host = await EngineHost.start({ zip: probeAppZip(), routing: 'manual', runtimeTimeoutMs: 5000 });
        try {
            host.rc.addDepartment({ name: 'Support', agents: [{ username: 'alice' }, { username: 'bob' }] });
            host.rc.addDepartment({ name: 'Sales', agents: [{ username: 'sam' }] });
            await host.callApi({ path: 'op', body: { op: 'visitor', token: 'm-1', name: 'Manual', department: 'Support' } });
            const room = (await host.callApi({ path: 'op', body: { op: 'room', token: 'm-1' } })).body.result;
            expect(room.servedBy).toBeNull();
            expect(host.rc.inquiryOf(room.id)?.status).toBe('queued');

            await host.rc.takeRoom(room.id, 'bob');
            await expect(host.rc.takeRoom(room.id, 'alice')).rejects.toThrow(/already taken/);
            const msg = await host.rc.agentSendMessage(room.id, 'bob', 'typo');
            await host.rc.agentEditMessage(msg._id, 'fixed');
            await host.rc.systemMessage(room.id, 'uj');
            await host.rc.agentTransfer(room.id, { department: 'Sales' });
            expect(host.rc.room(room.id)).toMatchObject({ departmentId: host.rc.departmentByIdOrName('Sales')!._id });
            expect(host.rc.room(room.id)!.servedBy).toBeUndefined();
            await host.rc.takeRoom(room.id, 'sam');
            await host.rc.agentClose(room.id, 'sam', 'resolved');

            // biome-ignore lint/suspicious/noExplicitAny: probe op results are untyped JSON
            const evs = ((await host.callApi({ path: 'events' })).body.events as Array<Record<string, any>>).map((e) => [
                e.event,
                e.agent ?? (e.type || e.text) ?? e.closer,
            ]);
            expect(evs).toEqual([
                ['IPostLivechatRoomStarted', undefined],
                ['IPostLivechatAgentAssigned', 'bob'],
                ['IPostMessageSent', 'typo'],
                ['IPostMessageUpdated', 'fixed'],
                ['IPostMessageSent', 'uj'],
                ['IPostLivechatRoomTransferred', 'department'],
                ['IPostLivechatAgentUnassigned', 'bob'],
                ['IPostLivechatAgentAssigned', 'sam'],
                ['IPostLivechatRoomClosed', 'user'],
            ]);
        } finally {
            await host.stop();
        }
    });
});
