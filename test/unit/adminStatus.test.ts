/**
 * What the admin and the agent read after `/rapidpro`: the state in words, counts and relative times,
 * and never a secret.
 */
import { duration, formatBridgeStatus, formatFlush, formatRoomStatus, parseAction } from '../../src/lib/adminStatus';

const NOW = Date.UTC(2026, 0, 10, 12, 0, 0);
const MIN = 60 * 1000;

describe('/rapidpro text', () => {
    it('reads the action: nothing or status, flush, anything else is help', () => {
        expect(parseAction([])).toBe('status');
        expect(parseAction(['STATUS'])).toBe('status');
        expect(parseAction(['flush'])).toBe('flush');
        expect(parseAction(['delete', 'everything'])).toBe('help');
    });

    it('words durations as people read them', () => {
        expect(duration(45 * 1000)).toBe('45 s');
        expect(duration(12 * MIN)).toBe('12 min');
        expect(duration(185 * MIN)).toBe('3 h 5 min');
        expect(duration(52 * 60 * MIN)).toBe('2 d 4 h');
    });

    it('tells the admin a healthy bridge in a few lines', () => {
        const text = formatBridgeStatus(
            {
                version: '0.1.0',
                configured: true,
                missing: [],
                rapidpro: 'ok',
                outbox: { count: 0 },
                failures: { count: 0 },
            },
            NOW,
        );
        expect(text).toContain('Configured: yes');
        expect(text).toContain('RapidPro: reachable');
        expect(text).toContain('Replies waiting: none');
        expect(text).toContain('Not delivered in the last 24 h: 0');
        expect(text).not.toContain('flush');
    });

    it('tells the admin what waits, since when, when it is tried next, why, and what failed', () => {
        const text = formatBridgeStatus(
            {
                version: '0.1.0',
                configured: false,
                missing: ['rapidpro_token'],
                rapidpro: 'unreachable',
                outbox: { count: 7, oldestAt: NOW - 42 * MIN, nextTryAt: NOW + 9 * MIN, lastError: 'RapidPro answered HTTP 502' },
                failures: { count: 3, lastAt: NOW - 5 * MIN, lastReason: 'gave up after 30 attempts: RapidPro answered HTTP 502' },
            },
            NOW,
        );
        expect(text).toContain('Configured: NO (missing: rapidpro_token)');
        expect(text).toContain('NOT reachable');
        expect(text).toContain('Replies waiting: 7');
        expect(text).toContain('oldest: queued 42 min ago');
        expect(text).toContain('next try: in 9 min');
        expect(text).toContain('last error: RapidPro answered HTTP 502');
        expect(text).toContain('Not delivered in the last 24 h: 3');
        expect(text).toContain('last: 5 min ago, gave up after 30 attempts');
        expect(text).toContain('/rapidpro flush');
    });

    it("tells an agent their chat's state only", () => {
        const text = formatRoomStatus(
            { contactName: 'Ana', rapidpro: 'ok', outbox: { count: 1, oldestAt: NOW - MIN, nextTryAt: NOW - 1 } },
            NOW,
        );
        expect(text).toContain('This chat with Ana');
        expect(text).toContain('Replies waiting: 1');
        expect(text).toContain('next try: now');
        expect(text).not.toContain('24 h');
    });

    it('says what a flush did', () => {
        expect(formatFlush({ madeDue: 0, stillWaiting: { count: 0 } }, NOW)).toMatch(/Nothing was waiting/);
        expect(formatFlush({ madeDue: 2, stillWaiting: { count: 0 } }, NOW)).toBe(
            'Tried 2 waiting calls now. Every reply has been delivered.',
        );
        const still = formatFlush(
            { madeDue: 1, stillWaiting: { count: 1, nextTryAt: NOW + 10 * 1000, lastError: 'RapidPro could not be reached' } },
            NOW,
        );
        expect(still).toContain('Tried 1 waiting call now.');
        expect(still).toContain('Replies waiting: 1');
        expect(still).toContain('RapidPro could not be reached');
    });
});
