/** Backoff for RapidPro calls that failed for a reason worth retrying (network, 5xx, 429). */

export const BASE_DELAY_MS = 5000;
export const MAX_DELAY_MS = 15 * 60 * 1000;

/** Exponential backoff with "full jitter" in its upper half, so many queued calls do not retry in lockstep. */
export function backoffDelayMs(attempt: number, random: () => number = Math.random): number {
    const exponent = Math.min(Math.max(attempt - 1, 0), 20);
    const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** exponent);
    return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** `Retry-After` as seconds or as an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfterMs(value: string | undefined, now: number = Date.now()): number | undefined {
    if (value === undefined || value === null) {
        return undefined;
    }
    const trimmed = String(value).trim();
    if (/^\d+(\.\d+)?$/.test(trimmed)) {
        return Math.round(parseFloat(trimmed) * 1000);
    }
    const date = Date.parse(trimmed);
    if (!Number.isNaN(date)) {
        return Math.max(0, date - now);
    }
    return undefined;
}

/** The delay before the next attempt: the server's Retry-After wins when it asks for longer. */
export function nextDelayMs(attempt: number, retryAfterMs?: number, random?: () => number): number {
    const backoff = backoffDelayMs(attempt, random);
    return retryAfterMs !== undefined ? Math.max(retryAfterMs, Math.min(backoff, 1000)) : backoff;
}
