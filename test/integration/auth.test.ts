import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { type BridgeRig, SECRET, startBridge } from './support/rig';

const ENDPOINTS: Array<[string, string]> = [
    ['POST', 'handoff'],
    ['POST', 'message'],
    ['POST', 'close'],
    ['POST', 'transfer'],
    ['GET', 'status'],
    ['POST', 'status'],
    ['GET', 'departments'],
    ['GET', 'health'],
    ['POST', 'registerClient'],
    ['POST', 'sendMessageToAgent'],
];

describe('nobody without the bridge secret gets in', () => {
    let rig: BridgeRig;

    beforeAll(async () => {
        rig = await startBridge();
    });

    afterAll(async () => {
        await rig?.stop();
    });

    it.each(ENDPOINTS)('%s %s: 401 without the header, 403 with a wrong secret, JSON bodies, nothing created', async (method, path) => {
        const roomsBefore = rig.host.rc.rooms.length;
        const body = method === 'POST' ? rig.defaultBody(rig.newContact()) : undefined;
        const missing = await rig.host.callApi({ method, path, body });
        expect(missing.status).toBe(401);
        expect(missing.body).toMatchObject({ status: 'unauthorized', error: expect.any(String) });
        const wrong = await rig.host.callApi({ method, path, body, headers: { Authorization: `Token ${SECRET}x` } });
        expect(wrong.status).toBe(403);
        expect(wrong.body).toMatchObject({ status: 'forbidden', error: expect.any(String) });
        const garbage = await rig.host.callApi({ method, path, body, headers: { Authorization: 'Basic dXNlcjpwYXNz' } });
        expect(garbage.status).toBe(403);
        expect(rig.host.rc.rooms.length).toBe(roomsBefore);
    });

    it('the right secret without the word Token: 403 whose error says how to write the header, nothing created', async () => {
        const roomsBefore = rig.host.rc.rooms.length;
        const bare = await rig.host.callApi({
            path: 'handoff',
            body: rig.defaultBody(rig.newContact()),
            headers: { Authorization: SECRET },
        });
        expect(bare.status).toBe(403);
        expect(bare.body.status).toBe('forbidden');
        expect(bare.body.error).toContain('Authorization: Token <secret>');
        expect(bare.raw).not.toContain(SECRET);
        expect(rig.host.rc.rooms.length).toBe(roomsBefore);
    });

    it('accepts "Token <secret>" and "Bearer <secret>"', async () => {
        const token = await rig.host.callApi({ path: 'departments', headers: { Authorization: `Token ${SECRET}` } });
        const bearer = await rig.host.callApi({ path: 'departments', headers: { authorization: `Bearer ${SECRET}` } });
        expect(token.status).toBe(200);
        expect(bearer.status).toBe(200);
    });

    it('never echoes or logs the secrets', async () => {
        await rig.host.callApi({ path: 'health', headers: { Authorization: 'Token guess' } });
        await rig.call('health');
        await rig.call('handoff', rig.defaultBody(rig.newContact()));
        const everything = JSON.stringify(rig.host.logs) + rig.host.logText();
        expect(everything).not.toContain(SECRET);
        expect(everything).not.toContain(rig.sim.token);
        const health = await rig.call('health');
        expect(health.raw).not.toContain(rig.sim.token);
        expect(health.raw).not.toContain(SECRET);
    });

    it('answers 405 with JSON for the wrong method', async () => {
        const res = await rig.call('handoff', undefined, { method: 'GET' });
        expect(res.status).toBe(405);
        expect(res.body.status).toBe('method_not_allowed');
    });
});

describe('an empty bridge secret never opens the bridge', () => {
    let rig: BridgeRig;

    beforeAll(async () => {
        rig = await startBridge({ settings: { bridge_secret: '' } });
    });

    afterAll(async () => {
        await rig?.stop();
    });

    it('answers 503 not_configured to everyone, then opens once the admin sets a secret', async () => {
        const withHeader = await rig.host.callApi({
            path: 'handoff',
            body: rig.defaultBody(rig.newContact()),
            headers: { Authorization: 'Token ' },
        });
        expect(withHeader.status).toBe(503);
        expect(withHeader.body.status).toBe('not_configured');
        const without = await rig.host.callApi({ path: 'departments' });
        expect(without.status).toBe(503);
        expect(rig.host.rc.rooms).toHaveLength(0);

        await rig.host.updateSetting('bridge_secret', 'now-configured');
        const after = await rig.host.callApi({ path: 'departments', headers: { Authorization: 'Token now-configured' } });
        expect(after.status).toBe(200);
    });
});

describe('GET health', () => {
    let rig: BridgeRig;

    beforeAll(async () => {
        rig = await startBridge();
    });

    afterAll(async () => {
        await rig?.stop();
    });

    it('reports ok, unauthorized, unreachable and not_configured, with the version', async () => {
        const ok = await rig.call('health');
        expect(ok.status).toBe(200);
        expect(ok.body).toEqual({ status: 'ok', rapidpro: 'ok', version: rig.host.appInfo.version });

        await rig.host.updateSetting('rapidpro_token', 'not-the-token');
        expect((await rig.call('health')).body.rapidpro).toBe('unauthorized');

        await rig.host.updateSetting('rapidpro_token', rig.sim.token);
        rig.sim.setDown(true);
        expect((await rig.call('health')).body.rapidpro).toBe('unreachable');
        rig.sim.setDown(false);

        await rig.host.updateSetting('rapidpro_url', '');
        expect((await rig.call('health')).body.rapidpro).toBe('not_configured');
        await rig.host.updateSetting('rapidpro_url', rig.sim.url);
        expect((await rig.call('health')).body.rapidpro).toBe('ok');
    });

    it('?strict=1 answers 503 unless RapidPro is ok, for monitors that only read the status code', async () => {
        const ok = await rig.call('health?strict=1');
        expect(ok.status).toBe(200);
        expect(ok.body).toEqual({ status: 'ok', rapidpro: 'ok', version: rig.host.appInfo.version });
        rig.sim.setDown(true);
        try {
            const down = await rig.call('health?strict=1');
            expect(down.status).toBe(503);
            expect(down.body).toMatchObject({ status: 'degraded', rapidpro: 'unreachable', error: expect.stringContaining('unreachable') });
            expect((await rig.call('health')).status).toBe(200); // the plain form stays 200
        } finally {
            rig.sim.setDown(false);
        }
    });
});
