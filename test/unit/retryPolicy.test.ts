/**
 * Backoff of RapidPro calls worth retrying (network, 5xx, 429): grows, is capped, has jitter, and
 * honours Retry-After (seconds or HTTP date), as RapidPro asks clients to.
 */
import fc from 'fast-check';

import { backoffDelayMs, MAX_DELAY_MS, nextDelayMs, parseRetryAfterMs } from '../../src/lib/retryPolicy';

describe('backoffDelayMs', () => {
    it('waits longer after each failed attempt (same jitter draw)', () => {
        for (const draw of [0, 0.5, 0.999]) {
            const delays = [1, 2, 3, 4, 5].map((attempt) => backoffDelayMs(attempt, () => draw));
            for (let i = 1; i < delays.length; i++) {
                expect(delays[i]).toBeGreaterThan(delays[i - 1]);
            }
        }
    });

    it('roughly doubles per attempt before the cap', () => {
        const first = backoffDelayMs(1, () => 0.5);
        const second = backoffDelayMs(2, () => 0.5);
        expect(second / first).toBeCloseTo(2, 1);
    });

    it('never waits more than the cap, however many attempts', () => {
        expect(MAX_DELAY_MS).toBeLessThanOrEqual(60 * 60 * 1000);
        for (const attempt of [20, 50, 1000, 1e9]) {
            const delay = backoffDelayMs(attempt, () => 0.999999);
            expect(delay).toBeLessThanOrEqual(MAX_DELAY_MS);
            expect(delay).toBeGreaterThan(0);
        }
    });

    it('treats attempt 0 or a negative attempt like the first one', () => {
        expect(backoffDelayMs(0, () => 0.3)).toBe(backoffDelayMs(1, () => 0.3));
        expect(backoffDelayMs(-4, () => 0.3)).toBe(backoffDelayMs(1, () => 0.3));
    });

    it('spreads retries with jitter that stays within a factor of two', () => {
        fc.assert(
            fc.property(fc.integer({ min: 1, max: 40 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, draw) => {
                const low = backoffDelayMs(attempt, () => 0);
                const high = backoffDelayMs(attempt, () => 0.999999999);
                const delay = backoffDelayMs(attempt, () => draw);
                expect(delay).toBeGreaterThanOrEqual(low);
                expect(delay).toBeLessThanOrEqual(high);
                expect(high).toBeGreaterThan(low);
                expect(high).toBeLessThanOrEqual(2 * low + 1);
            }),
        );
    });

    it('uses Math.random when no draw is given, staying within bounds', () => {
        for (let i = 0; i < 50; i++) {
            const delay = backoffDelayMs(3);
            expect(delay).toBeGreaterThanOrEqual(backoffDelayMs(3, () => 0));
            expect(delay).toBeLessThanOrEqual(backoffDelayMs(3, () => 0.999999999));
        }
    });
});

describe('parseRetryAfterMs', () => {
    const NOW = Date.parse('2024-05-01T12:00:00Z');

    it.each([
        ['37', 37000],
        ['0', 0],
        [' 120 ', 120000],
        ['1.5', 1500],
    ])('reads %p seconds', (header, ms) => {
        expect(parseRetryAfterMs(header, NOW)).toBe(ms);
    });

    it('reads an HTTP date relative to now', () => {
        expect(parseRetryAfterMs('Wed, 01 May 2024 12:02:00 GMT', NOW)).toBe(120000);
    });

    it('reads an HTTP date in the past as "now"', () => {
        expect(parseRetryAfterMs('Wed, 01 May 2024 11:00:00 GMT', NOW)).toBe(0);
    });

    it.each([undefined, '', 'soon', 'later please'])('ignores %p', (header) => {
        expect(parseRetryAfterMs(header, NOW)).toBeUndefined();
    });
});

describe('nextDelayMs', () => {
    it('is the backoff when RapidPro gave no Retry-After', () => {
        expect(nextDelayMs(3, undefined, () => 0.25)).toBe(backoffDelayMs(3, () => 0.25));
    });

    it('never retries before the Retry-After RapidPro asked for', () => {
        fc.assert(
            fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 24 * 3600 * 1000 }), (attempt, retryAfter) => {
                expect(nextDelayMs(attempt, retryAfter, () => 0.5)).toBeGreaterThanOrEqual(retryAfter);
            }),
        );
    });
});
