/**
 * The customer-care window (WhatsApp, Facebook, Instagram: replies only within 24 h of the contact's
 * last message) and the notes the agent reads about replies held, released, given up or failed.
 */
import {
    closedWithHeldNote,
    failedNote,
    heldExpiredNote,
    heldNote,
    isWindowClosed,
    parseSchemes,
    quoteStart,
    releasedNote,
    urnScheme,
    WINDOW_MARGIN_MS,
    windowClosesAt,
} from '../../src/lib/reach';
import { parseBridgeConfig } from '../../src/settings/BridgeConfig';

const HOUR = 3600 * 1000;
const rule = { windowMs: 24 * HOUR, schemes: ['whatsapp', 'facebook', 'instagram'] };
const t0 = Date.UTC(2026, 0, 1, 12);

describe('window arithmetic', () => {
    it('reads the scheme of a URN', () => {
        expect(urnScheme('whatsapp:5511999')).toBe('whatsapp');
        expect(urnScheme('Facebook:123')).toBe('facebook');
        expect(urnScheme('tel:+5511')).toBe('tel');
        expect(urnScheme('')).toBeUndefined();
        expect(urnScheme('no scheme')).toBeUndefined();
    });

    it('parses window_schemes leniently', () => {
        expect(parseSchemes(' WhatsApp, facebook ;instagram: ')).toEqual(['whatsapp', 'facebook', 'instagram']);
        expect(parseSchemes('')).toEqual([]);
    });

    it('a reply within the window goes out; after it (less the margin) it is held', () => {
        const contact = { scheme: 'whatsapp', lastInboundAt: t0 };
        expect(windowClosesAt(contact, rule)).toBe(t0 + 24 * HOUR - WINDOW_MARGIN_MS);
        expect(isWindowClosed(contact, rule, t0 + 23 * HOUR)).toBe(false);
        expect(isWindowClosed(contact, rule, t0 + 24 * HOUR - WINDOW_MARGIN_MS - 1)).toBe(false);
        expect(isWindowClosed(contact, rule, t0 + 24 * HOUR - WINDOW_MARGIN_MS)).toBe(true);
        expect(isWindowClosed(contact, rule, t0 + 48 * HOUR)).toBe(true);
    });

    it('never holds for channels without a window, with window_hours 0, or when the last message is unknown', () => {
        expect(isWindowClosed({ scheme: 'telegram', lastInboundAt: t0 }, rule, t0 + 100 * HOUR)).toBe(false);
        expect(isWindowClosed({ scheme: 'whatsapp', lastInboundAt: t0 }, { ...rule, windowMs: 0 }, t0 + 100 * HOUR)).toBe(false);
        expect(isWindowClosed({ scheme: 'whatsapp' }, rule, t0 + 100 * HOUR)).toBe(false);
        expect(isWindowClosed({ lastInboundAt: t0 }, rule, t0 + 100 * HOUR)).toBe(false);
    });

    it('a tiny window keeps a proportionate margin', () => {
        const tiny = { windowMs: 10000, schemes: ['whatsapp'] };
        expect(windowClosesAt({ scheme: 'whatsapp', lastInboundAt: t0 }, tiny)).toBe(t0 + 9000);
    });

    it('settings: defaults and bounds', () => {
        const config = parseBridgeConfig({});
        expect(config.windowMs).toBe(24 * HOUR);
        expect(config.windowSchemes).toEqual(['whatsapp', 'facebook', 'instagram']);
        expect(config.reengageFlowUuid).toBe('');
        expect(parseBridgeConfig({ window_hours: 0 }).windowMs).toBe(0);
        expect(parseBridgeConfig({ window_hours: '0.5' }).windowMs).toBe(HOUR / 2);
        expect(parseBridgeConfig({ window_hours: -3 }).windowMs).toBe(0);
        expect(parseBridgeConfig({ window_schemes: '' }).windowSchemes).toEqual([]);
        expect(parseBridgeConfig({ window_schemes: 'whatsapp' }).windowSchemes).toEqual(['whatsapp']);
    });
});

describe('notes for the agent', () => {
    it('quotes the start of a text on one line, never cutting an emoji', () => {
        expect(quoteStart('hello\n  world')).toBe('"hello world"');
        expect(quoteStart(undefined)).toBe('(no text)');
        const long = `${'👍'.repeat(70)}`;
        const quoted = quoteStart(long);
        expect(Array.from(quoted)).toHaveLength(62); // quotes + 59 emoji + ellipsis
        expect(quoted.endsWith('…"')).toBe(true);
    });

    it('held: names the channel, the window, and whether the flow was started', () => {
        const started = heldNote({ scheme: 'whatsapp', sinceInboundMs: 26 * HOUR, windowMs: 24 * HOUR, flowStarted: true });
        expect(started).toContain('WhatsApp takes replies only within 24 h');
        expect(started).toContain('last wrote 26 h ago');
        expect(started).toContain('re-engagement flow is being started');
        expect(heldNote({ scheme: 'facebook', windowMs: 24 * HOUR, flowStarted: false })).toContain('reengage_flow_uuid');
    });

    it('released, expired, closed and failed notes', () => {
        expect(releasedNote(1)).toContain('the held reply went out');
        expect(releasedNote(3)).toContain('the 3 held replies went out');
        expect(heldExpiredNote('see you tomorrow', 25 * HOUR)).toContain('waited 25 h');
        expect(heldExpiredNote('see you tomorrow', 25 * HOUR)).toContain('"see you tomorrow"');
        const closed = closedWithHeldNote(['one', 'two']);
        expect(closed.split('\n')).toEqual([expect.stringContaining('2 replies not delivered'), '- "one"', '- "two"']);
        expect(failedNote('take the pills', { windowClosed: false })).toBe(
            'RapidPro reports this message as failed; it did not reach the contact: "take the pills"',
        );
        expect(failedNote('take the pills', { windowClosed: true, scheme: 'whatsapp' })).toContain("WhatsApp's window had closed");
    });
});
