import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';

import { EngineHost, probeAppZip } from '../../harness/engine';

/**
 * The emulated Rocket.Chat is as strict as a real 8.x server (see ../shared/docs/REALSERVER.md and the
 * source references in harness/rocketchat/): each test drives the probe app
 * (harness/fixtures/probe-app) inside the real Apps-Engine and checks that what the server refuses
 * is refused, and what it accepts is accepted.
 */
jest.setTimeout(60000);

describe('Rocket.Chat emulation is as strict as the real server', () => {
    let host: EngineHost;
    let visitorCounter = 0;

    const op = async (args: Record<string, unknown>) =>
        // biome-ignore lint/suspicious/noExplicitAny: probe op results are untyped JSON
        (await host.callApi({ path: 'op', body: args })).body as { result?: any; error?: string };
    // biome-ignore lint/suspicious/noExplicitAny: probe op results are untyped JSON
    const events = async () => (await host.callApi({ path: 'events' })).body.events as Array<Record<string, any>>;
    /** A fresh visitor (through the app) with an open room; returns token and room id. */
    const newChat = async (department?: string) => {
        const token = `rs-${++visitorCounter}`;
        const visitor = await op({ op: 'visitor', token, name: `Visitor ${visitorCounter}`, ...(department && { department }) });
        expect(visitor.error).toBeUndefined();
        const room = await op({ op: 'room', token });
        expect(room.error).toBeUndefined();
        return { token, roomId: room.result.id as string };
    };
    const setting = (id: string, value: unknown) => host.rc.setServerSetting(id, value);

    beforeAll(async () => {
        host = await EngineHost.start({ zip: probeAppZip(), runtimeTimeoutMs: 5000 });
        host.rc.addDepartment({ id: 'dep-a', name: 'Alpha', agents: [{ username: 'alice', name: 'Alice' }] });
        host.rc.addDepartment({ id: 'dep-b', name: 'Beta', agents: [{ username: 'bob', name: 'Bob' }] });
        host.rc.addDepartment({ id: 'dep-off', name: 'Offline', agents: [{ username: 'olga', online: false }] });
        host.rc.addDepartment({
            id: 'dep-fwd',
            name: 'Forwardable',
            allowReceiveForwardOffline: true,
            agents: [{ username: 'fred', online: false }],
        });
        host.rc.addDepartment({
            id: 'dep-tags',
            name: 'Tagged',
            requestTagBeforeClosingChat: true,
            chatClosingTags: ['resolved'],
            agents: [{ username: 'tom' }],
        });
        host.rc.addDepartment({
            id: 'dep-tags-empty',
            name: 'TaggedEmpty',
            requestTagBeforeClosingChat: true,
            chatClosingTags: [],
            agents: [{ username: 'tess' }],
        });
    });

    afterAll(async () => {
        await host?.stop();
    });

    it(
        '1. Message_MaxAllowedSize (5000 by default) refuses long app ' +
            'messages, counted in UTF-16 units; not visitor messages, not edits',
        async () => {
            const { token, roomId } = await newChat('Alpha');
            expect((await op({ op: 'serverSetting', id: 'Message_MaxAllowedSize' })).result).toBe(5000);
            expect((await op({ op: 'appMessage', roomId, text: 'x'.repeat(5000) })).result).toEqual(expect.any(String));
            expect((await op({ op: 'appMessage', roomId, text: 'x'.repeat(5001) })).error).toContain('error-message-size-exceeded');
            // JS length: an emoji is 2 UTF-16 code units.
            expect((await op({ op: 'appMessage', roomId, text: '😀'.repeat(2500) })).result).toEqual(expect.any(String));
            expect((await op({ op: 'appMessage', roomId, text: '😀'.repeat(2501) })).error).toContain('error-message-size-exceeded');

            const visitorLong = await op({ op: 'visitorMessage', token, roomId, text: 'v'.repeat(6000) });
            expect(host.rc.messagesById.get(visitorLong.result)?.msg).toHaveLength(6000);

            // MessageBridge.update: no size check.
            const bridges = host.manager.getBridges();
            const shortId = (await op({ op: 'appMessage', roomId, text: 'short' })).result as string;
            const appUser = await bridges.getUserBridge().doGetAppUser(host.appId);
            const message = await bridges.getMessageBridge().doGetById(shortId, host.appId);
            await bridges.getMessageBridge().doUpdate({ ...message, text: 'e'.repeat(7000), editor: appUser! }, host.appId);
            expect(host.rc.messagesById.get(shortId)?.msg).toHaveLength(7000);

            setting('Message_MaxAllowedSize', 10);
            expect((await op({ op: 'serverSetting', id: 'Message_MaxAllowedSize' })).result).toBe(10);
            expect((await op({ op: 'appMessage', roomId, text: '12345678901' })).error).toContain('error-message-size-exceeded');
            setting('Message_MaxAllowedSize', 5000);
        },
    );

    it(
        '2. a visitor message into a closed room opens a new routed room (events ' +
            'fire; no-agent-online refuses); a visitor upload there is stored silently',
        async () => {
            const { token, roomId } = await newChat('Alpha');
            expect((await op({ op: 'close', roomId, comment: 'bye' })).result).toBe(true);
            const late = await op({ op: 'visitorMessage', token, roomId, text: 'still there?' });
            const newRoomId = host.rc.messagesById.get(late.result)!.rid;
            expect(newRoomId).not.toBe(roomId);
            expect(host.rc.room(newRoomId)).toMatchObject({ open: true, departmentId: 'dep-a', servedBy: { username: 'alice' } });
            const evs = (await events()).filter((e) => e.roomId === newRoomId).map((e) => e.event);
            expect(evs).toEqual(expect.arrayContaining(['IPostLivechatRoomStarted', 'IPostLivechatAgentAssigned', 'IPostMessageSent']));

            // The visitor upload into the closed room: file kept, no message, no error.
            const messagesBefore = host.rc.messagesOf(roomId).length;
            const upload = await op({
                op: 'upload',
                roomId,
                token,
                filename: 'late.png',
                base64: Buffer.from('89504e470d0a1a0a', 'hex').toString('base64'),
            });
            expect(upload.error).toBeUndefined();
            expect(host.rc.uploads.get(upload.result.id)).toMatchObject({ rid: roomId, type: 'image/png' });
            expect(host.rc.messagesOf(roomId)).toHaveLength(messagesBefore);

            // Routing like a new chat: nobody online -> no-agent-online, no room.
            expect((await op({ op: 'close', roomId: newRoomId })).result).toBe(true);
            host.rc.setAgentOnline('alice', false);
            const roomsBefore = host.rc.rooms.length;
            expect((await op({ op: 'visitorMessage', token, roomId: newRoomId, text: 'hello?' })).error).toBe(
                'Sorry, no online agents [no-agent-online]',
            );
            expect(host.rc.rooms).toHaveLength(roomsBefore);
            host.rc.setAgentOnline('alice', true);
        },
    );

    it(
        '3. livechat custom fields: definitions, regexp, scope, overwrite; ' +
            'createRoom customFields only with Enterprise; department converter',
        async () => {
            host.rc.addCustomField({ id: 'cf_code', label: 'Code', scope: 'visitor', regexp: '^[0-9]+$' });
            host.rc.addCustomField({ id: 'cf_topic', scope: 'room' });
            const { token, roomId } = await newChat('Alpha');

            expect((await op({ op: 'customField', token, key: 'nope', value: 'x', overwrite: true })).error).toBe('invalid-custom-field');
            expect((await op({ op: 'customField', token, key: 'cf_code', value: 'abc', overwrite: true })).error).toContain(
                'error-invalid-custom-field-value',
            );
            expect((await op({ op: 'customField', token, key: 'cf_code', value: '42', overwrite: false })).result).toBe(true);
            expect(host.rc.visitorByToken(token)!.livechatData).toEqual({ cf_code: '42' });
            // Already set and overwrite false -> false (nothing written); the same value again -> false (modifiedCount 0).
            expect((await op({ op: 'customField', token, key: 'cf_code', value: '43', overwrite: false })).result).toBe(false);
            expect((await op({ op: 'customField', token, key: 'cf_code', value: '42', overwrite: true })).result).toBe(false);
            expect((await op({ op: 'customField', token, key: 'cf_code', value: '43', overwrite: true })).result).toBe(true);

            // Room scope: livechatData of the visitor's open rooms, visible to the app as room.livechatData.
            expect((await op({ op: 'customField', token, key: 'cf_topic', value: 'billing', overwrite: true })).result).toBe(true);
            expect(host.rc.room(roomId)!.livechatData).toEqual({ cf_topic: 'billing' });
            expect(host.rc.visitorByToken(token)!.livechatData).toEqual({ cf_code: '43' });
            expect((await op({ op: 'roomInfo', roomId })).result.livechatData).toEqual({ cf_topic: 'billing' });

            // createRoom customFields: ignored on CE, stored unvalidated with the Enterprise module.
            const ce = await op({ op: 'room', token, customFields: { anything: 'goes' } });
            expect((await op({ op: 'roomInfo', roomId: ce.result.id })).result.customFields).toBeNull();
            host.rc.options.enterprise = true;
            try {
                const ee = await op({ op: 'room', token, customFields: { anything: 'goes' } });
                expect((await op({ op: 'roomInfo', roomId: ee.result.id })).result.customFields).toEqual({ anything: 'goes' });
            } finally {
                host.rc.options.enterprise = false;
            }

            const department = (await op({ op: 'department', department: 'Forwardable' })).result;
            expect(department).toMatchObject({
                id: 'dep-fwd',
                name: 'Forwardable',
                _unmappedProperties_: { allowReceiveForwardOffline: true },
            });
            expect((await op({ op: 'department', department: 'dep-tags' })).result).toMatchObject({
                requestTagBeforeClosingChat: true,
                chatClosingTags: ['resolved'],
            });
        },
    );

    it('4. Livechat_accept_chats_with_no_agents: every department is online and createRoom does not throw no-agent-online', async () => {
        const token = `rs-${++visitorCounter}`;
        await op({ op: 'visitor', token, name: 'Nobody online', department: 'Offline' });
        expect((await op({ op: 'room', token })).error).toBe('Sorry, no online agents [no-agent-online]');
        // biome-ignore lint/suspicious/noExplicitAny: probe op results are untyped JSON
        const offlineBefore = (await op({ op: 'departments' })).result.deps.find((d: any) => d.id === 'dep-off');
        expect(offlineBefore.online).toBe(false);

        setting('Livechat_accept_chats_with_no_agents', true);
        try {
            const deps = (await op({ op: 'departments' })).result;
            // biome-ignore lint/suspicious/noExplicitAny: probe op results are untyped JSON
            expect(deps.deps.every((d: any) => d.online)).toBe(true);
            const room = await op({ op: 'room', token });
            expect(room.result).toMatchObject({ isOpen: true, servedBy: null, department: 'Offline' });
            await op({ op: 'close', roomId: room.result.id });
        } finally {
            setting('Livechat_accept_chats_with_no_agents', false);
        }
    });

    it(
        '5. transfers to a department: same department, unknown department, ' +
            'nobody online, allowReceiveForwardOffline, manual routing, closed room',
        async () => {
            const { roomId } = await newChat('Alpha');
            expect((await op({ op: 'transfer', roomId, department: 'dep-a' })).error).toBe('error-forwarding-chat-same-department');
            expect((await op({ op: 'transfer', roomId, department: 'no-such-department' })).error).toBe('error-invalid-department');

            // Auto routing, nobody online in the target, no allowReceiveForwardOffline: refused, nothing moved.
            const messagesBefore = host.rc.messagesOf(roomId).length;
            expect((await op({ op: 'transfer', roomId, department: 'dep-off' })).error).toBe('error-no-agents-online-in-department');
            expect(host.rc.room(roomId)).toMatchObject({ departmentId: 'dep-a', servedBy: { username: 'alice' }, open: true });
            expect(host.rc.messagesOf(roomId)).toHaveLength(messagesBefore);

            // allowReceiveForwardOffline, nobody online: back to the queue with no agent, true; Transferred then Unassigned.
            expect((await op({ op: 'transfer', roomId, department: 'dep-fwd' })).result).toBe(true);
            expect(host.rc.room(roomId)).toMatchObject({ departmentId: 'dep-fwd', open: true });
            expect(host.rc.room(roomId)!.servedBy).toBeUndefined();
            expect(host.rc.inquiryOf(roomId)).toMatchObject({ status: 'queued', department: 'dep-fwd' });
            const evs = (await events()).filter(
                (e) => e.roomId === roomId && ['IPostLivechatRoomTransferred', 'IPostLivechatAgentUnassigned'].includes(e.event),
            );
            expect(evs.map((e) => e.event)).toEqual(['IPostLivechatRoomTransferred', 'IPostLivechatAgentUnassigned']);
            expect(evs[0]).toMatchObject({ type: 'department', from: 'Alpha', to: 'Forwardable', servedBy: 'alice' });
            expect(evs[1]).toMatchObject({ agent: 'alice' });
            expect(
                host.rc.events
                    .filter((e) => e.roomId === roomId)
                    .map((e) => e.event)
                    .slice(-2),
            ).toEqual(['IPostLivechatRoomTransferred', 'IPostLivechatAgentUnassigned']);

            // Manual routing: no online check, the room goes to the target's queue, servedBy cleared.
            const manual = await newChat('Beta');
            setting('Livechat_Routing_Method', 'Manual_Selection');
            try {
                expect(host.rc.room(manual.roomId)).toMatchObject({ servedBy: { username: 'bob' } });
                expect((await op({ op: 'transfer', roomId: manual.roomId, department: 'dep-off' })).result).toBe(true);
                expect(host.rc.room(manual.roomId)).toMatchObject({ departmentId: 'dep-off', open: true });
                expect(host.rc.room(manual.roomId)!.servedBy).toBeUndefined();
                expect(host.rc.inquiryOf(manual.roomId)?.status).toBe('queued');
            } finally {
                setting('Livechat_Routing_Method', 'Auto_Selection');
            }

            // The room as the app passes it: not open -> false.
            const other = await newChat('Alpha');
            expect((await op({ op: 'transfer', roomId: other.roomId, department: 'dep-b', isOpen: false })).result).toBe(false);
            expect(host.rc.room(other.roomId)).toMatchObject({ departmentId: 'dep-a' });
            // With someone online in the target it is assigned there.
            expect((await op({ op: 'transfer', roomId: other.roomId, department: 'dep-b' })).result).toBe(true);
            expect(host.rc.room(other.roomId)).toMatchObject({ departmentId: 'dep-b', servedBy: { username: 'bob' } });
            expect(host.rc.eventErrors).toEqual([]);
        },
    );

    it('6. closeRoom trusts the app room object; comment and closing tags requirements; closer user/visitor', async () => {
        const a = await newChat('Alpha');
        expect((await op({ op: 'close', roomId: a.roomId, isOpen: false })).error).toBe('error-room-closed');
        expect(host.rc.room(a.roomId)!.open).toBe(true);
        // Passed as open but already closed in the DB: the inquiry is gone -> "Error removing inquiry", nothing runs.
        const twice = await op({ op: 'closeTwice', roomId: a.roomId, comment: 'done' });
        expect(twice.result).toEqual({ first: true, second: { error: 'Error removing inquiry' } });
        expect(host.rc.messagesOf(a.roomId).filter((m) => m.t === 'livechat-close')).toHaveLength(1);
        expect(host.rc.room(a.roomId)).toMatchObject({ closer: 'visitor' });

        const b = await newChat('Alpha');
        setting('Livechat_request_comment_when_closing_conversation', true);
        try {
            expect((await op({ op: 'serverSetting', id: 'Livechat_request_comment_when_closing_conversation' })).result).toBe(true);
            expect((await op({ op: 'close', roomId: b.roomId, comment: '   ' })).error).toBe('error-comment-is-required');
            expect((await op({ op: 'close', roomId: b.roomId, comment: 'resolved', asAppUser: true })).result).toBe(true);
            expect(host.rc.room(b.roomId)).toMatchObject({ closer: 'user', closedBy: { username: 'harness-probe-app.bot' } });
        } finally {
            setting('Livechat_request_comment_when_closing_conversation', false);
        }

        const tagged = await newChat('Tagged');
        expect((await op({ op: 'close', roomId: tagged.roomId })).result).toBe(true);
        expect(host.rc.room(tagged.roomId)!.tags).toEqual(['resolved']);
        const untaggable = await newChat('TaggedEmpty');
        expect((await op({ op: 'close', roomId: untaggable.roomId })).error).toBe('error-tags-must-be-assigned-before-closing-chat');
        expect(host.rc.room(untaggable.roomId)!.open).toBe(true);
    });

    it(
        '7. visitors: token, then phone (token kept), then e-mail (token ' + 'replaced); department only when given; required department',
        async () => {
            const first = (await op({ op: 'visitor', token: 'ph-1', name: 'Phone', phone: '+15550001' })).result;
            const byPhone = (await op({ op: 'visitor', token: 'ph-2', phone: '+15550001' })).result;
            expect(byPhone).toMatchObject({ id: first.id, token: 'ph-1' });
            expect(host.rc.visitors.filter((v) => v.token === 'ph-2')).toHaveLength(0);

            const mail = (await op({ op: 'visitor', token: 'em-1', name: 'Mail', email: 'mail@example.org' })).result;
            const byMail = (await op({ op: 'visitor', token: 'em-2', email: 'MAIL@example.org' })).result;
            expect(byMail).toMatchObject({ id: mail.id, token: 'em-2' });

            expect((await op({ op: 'visitor', token: 'dep-1', department: 'Nowhere' })).error).toBe('error-invalid-department');
            expect((await op({ op: 'visitor', token: 'dep-1', department: 'Beta' })).result).toMatchObject({ department: 'dep-b' });
            expect((await op({ op: 'visitor', token: 'dep-1', name: 'Renamed' })).result).toMatchObject({
                department: 'dep-b',
                name: 'Renamed',
            });

            // No department and no agent: the first enabled department with agents, shown on registration, with one online.
            await op({ op: 'visitor', token: 'nodep-1', name: 'No department' });
            const room = await op({ op: 'room', token: 'nodep-1' });
            expect(room.result).toMatchObject({ department: 'Alpha', servedBy: 'alice' });
        },
    );

    it('8. Livechat_enabled false: createRoom and visitor messages refused; isOnline unaffected', async () => {
        const { token, roomId } = await newChat('Alpha');
        setting('Livechat_enabled', false);
        try {
            expect((await op({ op: 'room', token })).error).toContain('error-omnichannel-is-disabled');
            expect((await op({ op: 'visitorMessage', token, roomId, text: 'hi' })).error).toContain('error-omnichannel-is-disabled');
            expect((await op({ op: 'departments' })).result.anyOnline).toBe(true);
        } finally {
            setting('Livechat_enabled', true);
        }
        expect((await op({ op: 'visitorMessage', token, roomId, text: 'hi' })).result).toEqual(expect.any(String));
    });

    it('9. uploads: FileUpload_Enabled, FileUpload_MaxFileSize, media type white/black lists', async () => {
        const { roomId } = await newChat('Alpha');
        const png = Buffer.from('89504e470d0a1a0a', 'hex').toString('base64');
        const upload = (filename: string, base64 = png) => op({ op: 'upload', roomId, filename, base64 });
        expect((await op({ op: 'serverSetting', id: 'FileUpload_MediaTypeBlackList' })).result).toBe('image/svg+xml');
        expect((await op({ op: 'serverSetting', id: 'FileUpload_MaxFileSize' })).result).toBe(104857600);

        expect((await upload('ok.png')).result).toMatchObject({ type: 'image/png', size: 8 });
        expect((await upload('logo.svg', Buffer.from('<svg/>').toString('base64'))).error).toContain('error-invalid-file-type');

        const uploadsBefore = host.rc.uploads.size;
        setting('FileUpload_Enabled', false);
        expect((await upload('off.png')).error).toContain('error-file-upload-disabled');
        setting('FileUpload_Enabled', true);

        setting('FileUpload_MaxFileSize', 4);
        expect((await upload('big.png')).error).toContain('error-file-too-large');
        setting('FileUpload_MaxFileSize', -1);
        expect((await upload('unlimited.png')).result).toMatchObject({ size: 8 });
        setting('FileUpload_MaxFileSize', 104857600);

        setting('FileUpload_MediaTypeWhiteList', 'image/*');
        expect((await upload('doc.pdf', Buffer.from('%PDF-1.4').toString('base64'))).error).toContain('error-invalid-file-type');
        expect((await upload('fine.png')).result).toMatchObject({ type: 'image/png' });
        setting('FileUpload_MediaTypeWhiteList', '');
        // Refused uploads are not stored.
        expect(host.rc.uploads.size).toBe(uploadsBefore + 2);
    });

    it(
        '10. a one-time job due while the app is disabled is consumed ' + 'without running; a disabled app answers 404 and hears no events',
        async () => {
            const { roomId } = await newChat('Alpha');
            expect((await op({ op: 'schedule', inMs: 1000, n: 1 })).result).toEqual(expect.any(String));
            await host.disableApp();
            try {
                expect(await host.appStatus()).toBe('manually_disabled');
                expect((await host.callApi({ path: 'op', body: { op: 'setting', id: 'Site_Name' } })).status).toBe(404);
                await host.rc.agentSendMessage(roomId, 'alice', 'while disabled');
                const runs = await host.clock.advance(2000);
                expect(runs).toEqual([expect.objectContaining({ name: `probe-job_${host.appId}`, ok: true })]);
                expect(host.scheduler.jobs.size).toBe(0);
            } finally {
                await host.enableApp();
            }
            expect(await host.appStatus()).toBe('manually_enabled');
            const evs = await events();
            expect(evs.filter((e) => e.event === 'job')).toEqual([]);
            expect(evs.some((e) => e.text === 'while disabled')).toBe(false);

            await op({ op: 'schedule', inMs: 1000, n: 2 });
            await host.clock.advance(2000);
            expect((await events()).filter((e) => e.event === 'job').map((e) => e.n)).toEqual([2]);
            await host.rc.agentSendMessage(roomId, 'alice', 'after enable');
            expect((await events()).some((e) => e.text === 'after enable')).toBe(true);
        },
    );

    it('11. gateway: bad JSON -> 400 HTML, body over 100 kB -> 413 HTML, the app is not called', async () => {
        const calls = () => host.logs.filter((l) => String(l.method).startsWith('api:op')).length;
        const before = calls();
        expect(before).toBeGreaterThan(0);
        const bad = await host.callApi({ path: 'op', method: 'POST', body: '{"op":', headers: { 'content-type': 'application/json' } });
        expect(bad.status).toBe(400);
        expect(bad.headers['content-type']).toMatch(/text\/html/);
        const big = await host.callApi({
            path: 'op',
            method: 'POST',
            body: JSON.stringify({ op: 'setting', pad: 'x'.repeat(102400) }),
            headers: { 'content-type': 'application/json' },
        });
        expect(big.status).toBe(413);
        expect(big.headers['content-type']).toMatch(/text\/html/);
        expect(calls()).toBe(before);
    });

    it(
        '12. singleOpenRoomPerVisitor (newest servers): a concurrent second ' +
            'createRoom fails with a duplicate-key error; off by default (8.x)',
        async () => {
            const token = `rs-${++visitorCounter}`;
            await op({ op: 'visitor', token, name: 'Racy', department: 'Alpha' });
            const [a, b] = await Promise.all([op({ op: 'room', token }), op({ op: 'room', token })]);
            expect(a.result.id).not.toBe(b.result.id);

            const token2 = `rs-${++visitorCounter}`;
            await op({ op: 'visitor', token: token2, name: 'Racy 2', department: 'Alpha' });
            host.rc.options.singleOpenRoomPerVisitor = true;
            try {
                const results = await Promise.all([op({ op: 'room', token: token2 }), op({ op: 'room', token: token2 })]);
                expect(results.filter((r) => r.result)).toHaveLength(1);
                expect(results.find((r) => r.error)?.error).toMatch(/E11000 duplicate key error/);
                expect(host.rc.openRoomsOf(token2)).toHaveLength(1);
            } finally {
                host.rc.options.singleOpenRoomPerVisitor = false;
            }
        },
    );
});
