import { createHmac, randomBytes, timingSafeEqual } from 'crypto';

export type AuthResult = 'ok' | 'missing' | 'wrong' | 'no_prefix' | 'not_configured';

// Both sides are hashed with a per-process key before comparing, so lengths match and the
// comparison takes the same time whatever the secret or the guess.
const COMPARE_KEY = randomBytes(32);

function digest(value: string): Buffer {
    return createHmac('sha256', COMPARE_KEY).update(value, 'utf8').digest();
}

export function secretsMatch(given: string, expected: string): boolean {
    return timingSafeEqual(digest(given), digest(expected));
}

/** `Authorization: Token <secret>` (RapidPro's convention) or `Bearer <secret>`. */
export function extractSecret(headerValue: string | undefined): string | undefined {
    if (typeof headerValue !== 'string') {
        return undefined;
    }
    const match = /^\s*(?:Token|Bearer)\s+(\S.*?)\s*$/i.exec(headerValue);
    return match ? match[1] : undefined;
}

export function checkAuthorization(headerValue: string | undefined, configuredSecret: string): AuthResult {
    if (!configuredSecret) {
        return 'not_configured'; // an empty secret never opens the bridge
    }
    const given = extractSecret(headerValue);
    if (given === undefined) {
        if (typeof headerValue !== 'string' || headerValue.trim().length === 0) {
            return 'missing';
        }
        // The right secret without its scheme (a common slip in a webhook's header): say how to write it.
        return secretsMatch(headerValue.trim(), configuredSecret) ? 'no_prefix' : 'wrong';
    }
    return secretsMatch(given, configuredSecret) ? 'ok' : 'wrong';
}
