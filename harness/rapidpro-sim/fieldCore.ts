/**
 * Validation helpers that reproduce the error messages and error shapes of Django REST framework (3.15) as RapidPro's
 * API v2 uses it. Written from the observed behaviour; no DRF code.
 *
 * Error shapes: a field error is a list of strings; a list/dict field whose items fail gives an object keyed by the
 * item index/key. The serializer answer is `{field: errors}` or `{"non_field_errors": [...]}`.
 */

export type ErrorDetail = string[] | { [key: string]: ErrorDetail };

export class ValidationError extends Error {
    constructor(readonly detail: ErrorDetail) {
        super(typeof detail === 'object' && Array.isArray(detail) ? detail.join(' ') : 'validation error');
    }
}

export const SKIP: unique symbol = Symbol('skip');

/** present: key exists in the body. Returns SKIP (leave out), null or the validated value; throws ValidationError. */
export type FieldFn = (present: boolean, value: unknown) => unknown;

export type SerializerResult = { ok: true; values: Record<string, unknown> } | { ok: false; errors: Record<string, ErrorDetail> };

export function fail(message: string): never {
    throw new ValidationError([message]);
}

/** Python's type(x).__name__ for JSON values */
export function pyType(v: unknown): string {
    if (v === null || v === undefined) return 'NoneType';
    if (Array.isArray(v)) return 'list';
    switch (typeof v) {
        case 'string':
            return 'str';
        case 'boolean':
            return 'bool';
        case 'number':
            return Number.isInteger(v) ? 'int' : 'float';
        case 'object':
            return 'dict';
        default:
            return typeof v;
    }
}

/** Python's str(x) for JSON scalars */
export function pyStr(v: unknown): string {
    if (v === true) return 'True';
    if (v === false) return 'False';
    if (v === null || v === undefined) return 'None';
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v);
    return JSON.stringify(v);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
    return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** length in Unicode code points (what Python's len() counts) */
export function codePointLength(s: string): number {
    let n = 0;
    for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
            const d = s.charCodeAt(i + 1);
            if (d >= 0xdc00 && d <= 0xdfff) i++;
        }
        n++;
    }
    return n;
}

export function loneSurrogate(s: string): number | null {
    for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0xd800 && c <= 0xdbff) {
            const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
            if (d >= 0xdc00 && d <= 0xdfff) {
                i++;
                continue;
            }
            return c;
        }
        if (c >= 0xdc00 && c <= 0xdfff) return c;
    }
    return null;
}

export function runSerializer(data: Record<string, unknown>, fields: Record<string, FieldFn>): SerializerResult {
    const values: Record<string, unknown> = {};
    const errors: Record<string, ErrorDetail> = {};
    for (const [name, fn] of Object.entries(fields)) {
        const present = Object.hasOwn(data, name);
        try {
            const v = fn(present, present ? data[name] : undefined);
            if (v !== SKIP) values[name] = v;
        } catch (e) {
            if (e instanceof ValidationError) errors[name] = e.detail;
            else throw e;
        }
    }
    return Object.keys(errors).length ? { ok: false, errors } : { ok: true, values };
}
