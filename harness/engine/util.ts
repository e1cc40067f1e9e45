import * as crypto from 'node:crypto';

const UNMISTAKABLE = '23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz';

/** Rocket.Chat's `Random.id()`: 17 "unmistakable" characters. */
export function randomId(length = 17): string {
    const bytes = crypto.randomBytes(length);
    let out = '';
    for (let i = 0; i < length; i++) {
        out += UNMISTAKABLE[bytes[i] % UNMISTAKABLE.length];
    }
    return out;
}

/** A MongoDB ObjectId-shaped hex id (24 hex chars), as Agenda job ids are. */
export function objectId(): string {
    const time = Math.floor(Date.now() / 1000)
        .toString(16)
        .padStart(8, '0');
    return time + crypto.randomBytes(8).toString('hex');
}

/** Deep copy that keeps Dates and Buffers (what a MongoDB round trip keeps), drops functions and undefined. */
export function clone<T>(value: T): T {
    return cloneValue(value) as T;
}

function cloneValue(value: unknown): unknown {
    if (value === null || typeof value !== 'object') {
        return typeof value === 'function' ? undefined : value;
    }
    if (value instanceof Date) {
        return new Date(value.getTime());
    }
    if (Buffer.isBuffer(value)) {
        return Buffer.from(value);
    }
    if (value instanceof Uint8Array) {
        return new Uint8Array(value);
    }
    if (Array.isArray(value)) {
        return value.map((v) => {
            const c = cloneValue(v);
            return c === undefined ? null : c;
        });
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const c = cloneValue(v);
        if (c !== undefined) {
            out[k] = c;
        }
    }
    return out;
}

/** Removes keys whose value is undefined (Rocket.Chat's `removeEmpty` for our purposes). */
export function compact<T extends Record<string, unknown>>(obj: T): T {
    for (const key of Object.keys(obj)) {
        if (obj[key] === undefined) {
            delete obj[key];
        }
    }
    return obj;
}

/** Resolves after pending I/O callbacks: lets concurrent callers interleave like separate DB round trips would. */
export function tick(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
}

export function sha256(data: string | Buffer): string {
    return crypto.createHash('sha256').update(data).digest('hex');
}
