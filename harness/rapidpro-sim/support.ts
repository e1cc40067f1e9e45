import type { URLSearchParams } from 'node:url';
import {
    charField,
    type ErrorDetail,
    isLanguageCode,
    isPlainObject,
    LANGUAGE_ERROR,
    pyType,
    runSerializer,
    ValidationError,
} from './fields';
import type { FailOptions, QuickReply, RapidProScope, RecordedBodyType, SimAttachment } from './types';

export const DEFAULT_TOKEN = 'test-token';
export const DEFAULT_VERSION = '10.1.104';
export const DEFAULT_CONTACT_FIELDS = ['bridge_status', 'bridge_room'];
export const MAX_UPLOAD_BYTES = 25 * 1024 * 1024;
export const MEDIA_CONTENT_TYPES = [
    'image/apng',
    'image/avif',
    'image/gif',
    'image/jpeg',
    'image/png',
    'image/webp',
    'audio/*',
    'video/*',
    'application/pdf',
];

export const HOUR_MS = 3600 * 1000;
export const MAX_JSON_BODY = 10 * 1024 * 1024;
export const CHANNEL = { uuid: '9a8b001e-a913-486c-80f4-1356e23f582e', name: 'Simulated Channel' };
export const API_USER = { email: 'api@example.com', name: 'API User' };

// small helpers

export function parseVersion(v: string): number[] {
    return v.split(/[.-]/).map((p) => parseInt(p, 10) || 0);
}

/** a >= b for dotted versions */
export function versionAtLeast(a: string, b: string): boolean {
    const x = parseVersion(a);
    const y = parseVersion(b);
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
        const d = (x[i] ?? 0) - (y[i] ?? 0);
        if (d !== 0) return d > 0;
    }
    return true;
}

/** RapidPro's datetime format: UTC with microseconds, e.g. 2016-01-06T15:33:00.813162Z */
export function formatMicros(us: number): string {
    const ms = Math.floor(us / 1000);
    const micro = us - ms * 1000;
    return `${new Date(ms).toISOString().slice(0, 23) + String(micro).padStart(3, '0')}Z`;
}

/**
 * Parses an ISO 8601 time like python iso8601 (date only, or date and time; no zone = UTC) to microseconds since the
 * epoch; null when it cannot (RapidPro then returns an empty list rather than an error).
 */
export function parseIsoMicros(s: string): number | null {
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(s.trim());
    if (!m) return null;
    const [, y, mo, d, h, mi, sec, frac, tz] = m;
    let ms = Date.UTC(+y, +mo - 1, +d, h ? +h : 0, mi ? +mi : 0, sec ? +sec : 0);
    if (Number.isNaN(ms)) return null;
    if (tz && tz.toUpperCase() !== 'Z') {
        const sign = tz[0] === '-' ? -1 : 1;
        const digits = tz.slice(1).replace(':', '');
        const offMin = parseInt(digits.slice(0, 2), 10) * 60 + (digits.length > 2 ? parseInt(digits.slice(2), 10) : 0);
        ms -= sign * offMin * 60000;
    }
    const micros = frac ? parseInt(`${frac}000000`.slice(0, 6), 10) : 0;
    return ms * 1000 + micros;
}

export function toMicros(v: string | Date | number): number {
    if (typeof v === 'number') return Math.round(v * 1000);
    if (v instanceof Date) return v.getTime() * 1000;
    const p = parseIsoMicros(v);
    if (p === null) throw new Error(`rapidpro-sim: cannot parse time ${v}`);
    return p;
}

/** query parameters as an object; the last value of a repeated name wins (as Django's QueryDict.get) */
export function searchParamsObject(params: URLSearchParams): Record<string, string> {
    const out: Record<string, string> = {};
    params.forEach((value, key) => {
        out[key] = value;
    });
    return out;
}

export function matchesPath(path: string, filter: string | RegExp | undefined): boolean {
    if (filter === undefined) return true;
    if (filter instanceof RegExp) return filter.test(path);
    if (filter.endsWith('/')) return path.startsWith(filter);
    return path === filter || path.includes(filter);
}

export function attachmentFromString(s: string): SimAttachment {
    const i = s.indexOf(':');
    return i > 0 ? { content_type: s.slice(0, i), url: s.slice(i + 1) } : { content_type: 'application/octet-stream', url: s };
}

export function globMatch(value: string, pattern: string): boolean {
    if (pattern.endsWith('/*')) return value.startsWith(pattern.slice(0, -1)) && value.length > pattern.length - 1;
    return value === pattern;
}

export const EXTENSIONS: Record<string, string> = {
    'image/jpeg': '.jpg',
    'image/png': '.png',
    'image/gif': '.gif',
    'image/webp': '.webp',
    'image/apng': '.apng',
    'image/avif': '.avif',
    'audio/mpeg': '.mp3',
    'audio/mp4': '.m4a',
    'audio/ogg': '.oga',
    'audio/wav': '.wav',
    'audio/x-wav': '.wav',
    'audio/webm': '.weba',
    'audio/aac': '.aac',
    'video/mp4': '.mp4',
    'video/quicktime': '.mov',
    'video/webm': '.webm',
    'video/3gpp': '.3gp',
    'application/pdf': '.pdf',
};

/** RapidPro's Media.clean_name */
export function cleanMediaFilename(filename: string, contentType: string): string {
    const name = filename.split(/[\\/]/).pop() ?? '';
    // os.path.splitext: the extension starts at the last dot that has a non-dot character before it
    const dot = name.lastIndexOf('.');
    const split = dot > 0 && /[^.]/.test(name.slice(0, dot));
    let base = split ? name.slice(0, dot) : name;
    let ext = split ? name.slice(dot) : '';
    base =
        Array.from(base.replace(/[^\p{L}\p{N}_\-[\]() ]/gu, '').trim())
            .slice(0, 255)
            .join('') || 'file';
    if (!ext || ext.length < 2 || !/^[\p{L}\p{N}]+$/u.test(ext.slice(1))) {
        ext = EXTENSIONS[contentType] ?? '.bin';
    }
    return base + ext;
}

// request plumbing types

export interface UploadedFile {
    field: string;
    filename: string;
    contentType: string;
    size: number;
    bytes: Buffer | null;
}

export interface ParsedBody {
    kind: RecordedBodyType;
    /** JSON value, or form/multipart plain fields */
    data: unknown;
    files: UploadedFile[];
    recorded: unknown;
    error?: string;
    tooLarge?: boolean;
    contentType: string;
}

export interface Reply {
    status: number;
    json?: unknown;
    text?: string;
    contentType?: string;
    headers?: Record<string, string>;
    raw?: Buffer;
}

export interface Ctx {
    method: string;
    path: string;
    query: Record<string, string>;
    body: ParsedBody;
    endpoint: string;
}

export interface FaultEntry {
    kind: 'fail' | 'drop';
    remaining: number;
    path?: string | RegExp;
    fail?: FailOptions;
    afterEffect?: boolean;
}

export interface DelayEntry {
    remaining: number;
    ms: number;
    path?: string | RegExp;
}

export interface Waiter {
    check: () => void;
    reject: (e: Error) => void;
}

export interface Endpoint {
    scope: RapidProScope;
    methods: string[];
    since?: string;
}

export const ENDPOINTS: Record<string, Endpoint> = {
    messages: { scope: 'v2.messages', methods: ['GET', 'POST'] },
    broadcasts: { scope: 'v2', methods: ['GET', 'POST'] },
    media: { scope: 'v2', methods: ['POST'], since: '8.1.68' },
    contacts: { scope: 'v2.contacts', methods: ['GET', 'POST'] },
    flow_starts: { scope: 'v2', methods: ['GET', 'POST'] },
    workspace: { scope: 'v2', methods: ['GET'] },
    org: { scope: 'v2', methods: ['GET'] },
};

export function json(status: number, body: unknown, headers?: Record<string, string>): Reply {
    return { status, json: body, headers };
}

export function detail(status: number, message: string, headers?: Record<string, string>): Reply {
    return json(status, { detail: message }, headers);
}

export function throttledDetail(wait: number | null): string {
    if (wait === null) return 'Request was throttled.';
    return `Request was throttled. Expected available in ${wait} second${wait === 1 ? '' : 's'}.`;
}

export function languageKeyErrors(keys: string[]): Record<string, ErrorDetail> | null {
    const errors: Record<string, ErrorDetail> = {};
    for (const k of keys) if (!isLanguageCode(k)) errors[k] = [LANGUAGE_ERROR];
    return Object.keys(errors).length ? errors : null;
}

/** one quick reply: {text, extra?} */
export function quickReplyItem(v: unknown): QuickReply {
    if (!isPlainObject(v)) {
        throw new ValidationError({ non_field_errors: [`Invalid data. Expected a dictionary, but got ${pyType(v)}.`] });
    }
    const r = runSerializer(v, {
        text: charField({ required: true }),
        extra: charField({ allowBlank: true }),
    });
    if (!r.ok) throw new ValidationError(r.errors);
    const out: QuickReply = { text: r.values.text as string };
    if (typeof r.values.extra === 'string') out.extra = r.values.extra;
    return out;
}

/** Starts a simulator on 127.0.0.1 with a random port. Close it with `await sim.close()`. */
