/** RapidPro's own value rules: UUIDs, language codes, URNs, Python JSON lengths. */

import { fail } from './fieldCore';
import { validateChar } from './fieldTypes';

// ---------------------------------------------------------------------------------------------------------------
// RapidPro specifics
// ---------------------------------------------------------------------------------------------------------------

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export function isUuid(v: unknown): v is string {
    return typeof v === 'string' && UUID_RE.test(v);
}

/** canonical lower-case hyphenated form */
export function normalizeUuid(v: string): string {
    const hex = v.replace(/-/g, '').toLowerCase();
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** ISO 639-3 shape check (the simulator does not carry the full code list) */
export function isLanguageCode(v: unknown): boolean {
    return typeof v === 'string' && /^[a-z]{3}$/.test(v);
}

export const LANGUAGE_ERROR = 'Not an allowed ISO 639-3 language code.';

const URN_SCHEMES = new Set([
    'tel',
    'whatsapp',
    'telegram',
    'facebook',
    'instagram',
    'twitter',
    'twitterid',
    'viber',
    'line',
    'mailto',
    'ext',
    'fcm',
    'jiochat',
    'wechat',
    'freshchat',
    'discord',
    'slack',
    'rocketchat',
    'webchat',
    'vk',
    'external',
    'kakao',
]);

/** normalizes a URN like RapidPro (roughly) or returns null when RapidPro would reject it */
export function normalizeUrn(value: string): string | null {
    const m = /^([a-zA-Z][a-zA-Z0-9]*):(.+)$/.exec(value.trim());
    if (!m) return null;
    const scheme = m[1].toLowerCase();
    let path = m[2].trim();
    if (!URN_SCHEMES.has(scheme) || !path) return null;
    if (scheme === 'tel') {
        path = path.replace(/[\s\-().]/g, '');
        if (!/^\+\d{6,15}$/.test(path)) return null;
    } else if (scheme === 'whatsapp' || scheme === 'telegram' || scheme === 'viber' || scheme === 'twitterid') {
        if (!/^\+?\d+$/.test(path) && scheme !== 'viber') return null;
    } else if (scheme === 'twitter' || scheme === 'mailto') {
        path = path.toLowerCase();
    }
    return `${scheme}:${path}`;
}

export function urnItem(value: unknown): string {
    const s = validateChar(value, { maxLength: 255 });
    const n = normalizeUrn(s);
    if (n === null) fail(`Invalid URN: ${s}. Ensure phone numbers contain country codes.`);
    return n;
}

/**
 * Length of Python's json.dumps(value) (separators ', ' and ': ', ensure_ascii), which RapidPro uses to limit
 * flow start params to 10,000 characters.
 */
export function pythonJsonLength(value: unknown): number {
    const enc = (v: unknown): string => {
        if (v === null || v === undefined) return 'null';
        if (typeof v === 'boolean') return v ? 'true' : 'false';
        if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v);
        if (typeof v === 'string') {
            // JSON.stringify escapes like Python except non-ASCII, which Python writes as \uXXXX (6 chars per UTF-16 unit)
            return JSON.stringify(v).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
        }
        if (Array.isArray(v)) return `[${v.map(enc).join(', ')}]`;
        if (typeof v === 'object') {
            return (
                '{' +
                Object.entries(v as Record<string, unknown>)
                    .map(([k, x]) => `${enc(k)}: ${enc(x)}`)
                    .join(', ') +
                '}'
            );
        }
        return 'null';
    };
    return enc(value).length;
}

/** Python float formatting of a size in MB, e.g. 25 -> "25.0" */
export function pyFloat(n: number): string {
    return Number.isInteger(n) ? n.toFixed(1) : String(n);
}
