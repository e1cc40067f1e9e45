/**
 * The admin's settings (ids from the contract) turned into the bridge's configuration, and the
 * cache that reads them once until Rocket.Chat reports a change.
 */
import { BridgeConfigCache, isRapidProConfigured, parseBridgeConfig, type SettingsSource } from '../../src/settings/BridgeConfig';

const HOUR = 3600 * 1000;

describe('parseBridgeConfig', () => {
    it("has the contract's defaults when nothing is set", () => {
        const config = parseBridgeConfig({});
        expect(config.maxTextLength).toBe(4096);
        expect(config.sendMode).toBe('messages');
        expect(config.historyOnHandoff).toBe(false);
        expect(config.statusField).toBe('');
        expect(config.roomField).toBe('');
        expect(config.closeFlowUuid).toBe('');
        expect(config.bridgeSecret).toBe('');
        expect(config.notices).toEqual({ queued: '', assigned: '', transferred: '', closed: '' });
        expect(config.retryMaxAgeMs).toBeGreaterThan(0);
        expect(config.requestTimeoutMs).toBeGreaterThan(0);
        expect(isRapidProConfigured(config)).toBe(false);
    });

    it('reads every contract setting id', () => {
        const config = parseBridgeConfig({
            rapidpro_url: 'https://rapidpro.example.org',
            rapidpro_token: 'abc123',
            bridge_secret: 's3cret',
            default_department: 'Triagem',
            send_mode: 'broadcasts',
            max_text_length: 640,
            history_on_handoff: true,
            status_field: 'chat_status',
            room_field: 'chat_room',
            close_flow_uuid: 'f5901b62-ba76-4003-9c62-72fdacc1b7b7',
            notice_queued: 'Q',
            notice_assigned: 'A {agent}',
            notice_transferred: '-',
            notice_closed: 'C',
            retry_max_age_hours: 48,
            request_timeout_ms: 8000,
        });
        expect(config).toEqual(
            expect.objectContaining({
                rapidProUrl: 'https://rapidpro.example.org',
                rapidProToken: 'abc123',
                bridgeSecret: 's3cret',
                defaultDepartment: 'Triagem',
                sendMode: 'broadcasts',
                maxTextLength: 640,
                historyOnHandoff: true,
                statusField: 'chat_status',
                roomField: 'chat_room',
                closeFlowUuid: 'f5901b62-ba76-4003-9c62-72fdacc1b7b7',
                notices: { queued: 'Q', assigned: 'A {agent}', transferred: '-', closed: 'C' },
                retryMaxAgeMs: 48 * HOUR,
                requestTimeoutMs: 8000,
            }),
        );
        expect(isRapidProConfigured(config)).toBe(true);
    });

    it('accepts numbers and booleans typed as strings, as the settings REST API may store them', () => {
        const config = parseBridgeConfig({
            max_text_length: '640',
            history_on_handoff: 'true',
            retry_max_age_hours: '6',
            request_timeout_ms: '5000',
        });
        expect(config.maxTextLength).toBe(640);
        expect(config.historyOnHandoff).toBe(true);
        expect(config.retryMaxAgeMs).toBe(6 * HOUR);
        expect(config.requestTimeoutMs).toBe(5000);
    });

    it.each([
        ['https://rapidpro.example.org/', 'https://rapidpro.example.org'],
        ['  https://rapidpro.example.org  ', 'https://rapidpro.example.org'],
        ['https://rapidpro.example.org/api/v2', 'https://rapidpro.example.org'],
        ['https://rapidpro.example.org/api/v2/', 'https://rapidpro.example.org'],
        ['https://example.org/rapidpro/', 'https://example.org/rapidpro'],
    ])('normalises the RapidPro URL %p', (url, expected) => {
        expect(parseBridgeConfig({ rapidpro_url: url }).rapidProUrl).toBe(expected);
    });

    it('takes a token pasted with its "Token " prefix or spaces', () => {
        expect(parseBridgeConfig({ rapidpro_token: 'Token abc123' }).rapidProToken).toBe('abc123');
        expect(parseBridgeConfig({ rapidpro_token: '  abc123\n' }).rapidProToken).toBe('abc123');
    });

    it("never takes more than RapidPro's 4096 and never a length that cannot hold text", () => {
        expect(parseBridgeConfig({ max_text_length: 100000 }).maxTextLength).toBe(4096);
        for (const bad of [0, -5, 0.5]) {
            const length = parseBridgeConfig({ max_text_length: bad }).maxTextLength;
            expect(length).toBeGreaterThanOrEqual(1);
            expect(length).toBeLessThanOrEqual(4096);
            expect(Number.isInteger(length)).toBe(true);
        }
    });

    it.each(['abc', '', null, undefined, NaN, Infinity])('falls back to the default length for %p', (bad) => {
        expect(parseBridgeConfig({ max_text_length: bad }).maxTextLength).toBe(4096);
    });

    it("keeps a request timeout within Rocket.Chat's 30 s per call, and above zero", () => {
        expect(parseBridgeConfig({ request_timeout_ms: 600000 }).requestTimeoutMs).toBeLessThan(30000);
        expect(parseBridgeConfig({ request_timeout_ms: 0 }).requestTimeoutMs).toBeGreaterThan(0);
        expect(parseBridgeConfig({ request_timeout_ms: -1 }).requestTimeoutMs).toBeGreaterThan(0);
    });

    it('keeps a positive retry max age', () => {
        expect(parseBridgeConfig({ retry_max_age_hours: 0 }).retryMaxAgeMs).toBeGreaterThan(0);
        expect(parseBridgeConfig({ retry_max_age_hours: -3 }).retryMaxAgeMs).toBeGreaterThan(0);
    });

    it('uses messages.json for any send mode other than broadcasts', () => {
        expect(parseBridgeConfig({ send_mode: 'messages' }).sendMode).toBe('messages');
        expect(parseBridgeConfig({ send_mode: 'something' }).sendMode).toBe('messages');
    });

    it('needs both URL and token to call RapidPro', () => {
        expect(isRapidProConfigured(parseBridgeConfig({ rapidpro_url: 'https://r.example.org' }))).toBe(false);
        expect(isRapidProConfigured(parseBridgeConfig({ rapidpro_token: 'abc' }))).toBe(false);
    });
});

/** A settings source whose values can change and whose reads can be held back. */
class FakeSettings implements SettingsSource {
    values: Record<string, unknown> = { rapidpro_url: 'https://old.example.org' };
    reads = 0;
    private gate?: Promise<void>;
    private release?: () => void;
    failNext = false;

    hold(): void {
        this.gate = new Promise<void>((resolve) => {
            this.release = resolve;
        });
    }

    letGo(): void {
        const release = this.release;
        this.gate = undefined;
        this.release = undefined;
        if (release) release();
    }

    async getValueById(id: string): Promise<unknown> {
        if (id === 'rapidpro_url') this.reads++;
        const valueAtRead = this.values[id];
        const fail = this.failNext;
        if (this.gate) await this.gate;
        if (fail) throw new Error('settings unavailable');
        return valueAtRead;
    }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('BridgeConfigCache', () => {
    it('reads the settings once for many calls', async () => {
        const settings = new FakeSettings();
        const cache = new BridgeConfigCache();
        const configs = await Promise.all([cache.get(settings), cache.get(settings), cache.get(settings)]);
        await cache.get(settings);
        expect(settings.reads).toBe(1);
        configs.forEach((config) => {
            expect(config.rapidProUrl).toBe('https://old.example.org');
        });
    });

    it('reads again after invalidate() and returns the new value', async () => {
        const settings = new FakeSettings();
        const cache = new BridgeConfigCache();
        await cache.get(settings);
        settings.values.rapidpro_url = 'https://new.example.org';
        expect((await cache.get(settings)).rapidProUrl).toBe('https://old.example.org');

        cache.invalidate();

        expect((await cache.get(settings)).rapidProUrl).toBe('https://new.example.org');
        expect(settings.reads).toBe(2);
    });

    it('does not cache a read that started before invalidate() and finished after it', async () => {
        const settings = new FakeSettings();
        const cache = new BridgeConfigCache();
        settings.hold();
        const stale = cache.get(settings); // reads the old URL, then waits

        cache.invalidate();
        settings.values.rapidpro_url = 'https://new.example.org';
        settings.letGo();
        expect((await stale).rapidProUrl).toBe('https://old.example.org');

        expect((await cache.get(settings)).rapidProUrl).toBe('https://new.example.org');
        expect((await cache.get(settings)).rapidProUrl).toBe('https://new.example.org');
    });

    it('keeps the fresh value when a stale read finishes last', async () => {
        const before = new FakeSettings(); // the settings as they were: this read is held back
        const after = new FakeSettings();
        after.values = { rapidpro_url: 'https://new.example.org' };
        const cache = new BridgeConfigCache();
        before.hold();
        const stale = cache.get(before);
        await flush();

        cache.invalidate();
        expect((await cache.get(after)).rapidProUrl).toBe('https://new.example.org'); // does not wait for the stale read

        before.letGo();
        await stale;
        await flush();
        expect((await cache.get(after)).rapidProUrl).toBe('https://new.example.org');
        expect(after.reads).toBe(1);
    });

    it('reads again once the age limit has passed, in case an update was missed', async () => {
        let now = 1_000_000;
        const settings = new FakeSettings();
        const cache = new BridgeConfigCache(60000, () => now);
        await cache.get(settings);
        now += 30000;
        await cache.get(settings);
        expect(settings.reads).toBe(1);
        now += 31000;
        settings.values.rapidpro_url = 'https://new.example.org';
        expect((await cache.get(settings)).rapidProUrl).toBe('https://new.example.org');
        expect(settings.reads).toBe(2);
    });

    it('does not remember a failed read', async () => {
        const settings = new FakeSettings();
        const cache = new BridgeConfigCache();
        settings.failNext = true;
        await expect(cache.get(settings)).rejects.toThrow('settings unavailable');
        settings.failNext = false;
        await flush();
        expect((await cache.get(settings)).rapidProUrl).toBe('https://old.example.org');
    });
});
