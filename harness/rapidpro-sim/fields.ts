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

function fail(message: string): never {
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

function loneSurrogate(s: string): number | null {
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

interface Common {
    required?: boolean;
    allowNull?: boolean;
}

function checkEmpty(present: boolean, value: unknown, o: Common): 'skip' | 'null' | 'value' {
    if (!present || value === undefined) {
        if (o.required) fail('This field is required.');
        return 'skip';
    }
    if (value === null) {
        if (o.allowNull) return 'null';
        fail('This field may not be null.');
    }
    return 'value';
}

export interface CharOptions extends Common {
    allowBlank?: boolean;
    maxLength?: number;
    minLength?: number;
    /** default true (DRF trims leading and trailing whitespace) */
    trim?: boolean;
}

/** DRF CharField.run_validation on a non-null value */
export function validateChar(value: unknown, o: CharOptions): string {
    const trim = o.trim !== false;
    if (value === '' || (trim && typeof value !== 'object' && pyStr(value).trim() === '')) {
        if (!o.allowBlank) fail('This field may not be blank.');
        return '';
    }
    if (typeof value === 'boolean' || !(typeof value === 'string' || typeof value === 'number')) {
        fail('Not a valid string.');
    }
    let s = pyStr(value);
    if (trim) s = s.trim();
    const errors: string[] = [];
    if (o.maxLength !== undefined && codePointLength(s) > o.maxLength) {
        errors.push(`Ensure this field has no more than ${o.maxLength} characters.`);
    }
    if (o.minLength !== undefined && codePointLength(s) < o.minLength) {
        errors.push(`Ensure this field has at least ${o.minLength} characters.`);
    }
    if (s.includes('\u0000')) errors.push('Null characters are not allowed.');
    const sur = loneSurrogate(s);
    if (sur !== null) errors.push(`Surrogate characters are not allowed: U+${sur.toString(16).toUpperCase()}.`);
    if (errors.length) throw new ValidationError(errors);
    return s;
}

export function charField(o: CharOptions = {}): FieldFn {
    return (present, value) => {
        const e = checkEmpty(present, value, o);
        if (e === 'skip') return SKIP;
        if (e === 'null') return null;
        return validateChar(value, o);
    };
}

const TRUE_VALUES = new Set<unknown>(['t', 'T', 'y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON', '1', 1, true]);
const FALSE_VALUES = new Set<unknown>([
    'f',
    'F',
    'n',
    'N',
    'no',
    'No',
    'NO',
    'false',
    'False',
    'FALSE',
    'off',
    'Off',
    'OFF',
    '0',
    0,
    false,
]);

export function booleanField(o: Common = {}): FieldFn {
    return (present, value) => {
        const e = checkEmpty(present, value, o);
        if (e === 'skip') return SKIP;
        if (e === 'null') return null;
        if (TRUE_VALUES.has(value)) return true;
        if (FALSE_VALUES.has(value)) return false;
        return fail('Must be a valid boolean.');
    };
}

export function jsonField(o: Common = {}, validate?: (v: unknown) => unknown): FieldFn {
    return (present, value) => {
        const e = checkEmpty(present, value, o);
        if (e === 'skip') return SKIP;
        if (e === 'null') return null;
        return validate ? validate(value) : value;
    };
}

/** Item validator of a list/dict field: returns the value or throws ValidationError. */
export type ItemFn<T> = (value: unknown, key: string) => T;

export interface ListOptions extends Common {
    maxLength?: number;
    allowEmpty?: boolean;
}

/** DRF ListField (errors of items keyed by index) */
export function validateList<T>(value: unknown, child: ItemFn<T>, o: ListOptions): T[] {
    if (!Array.isArray(value)) fail(`Expected a list of items but got type "${pyType(value)}".`);
    if (o.allowEmpty === false && value.length === 0) fail('This list may not be empty.');
    const out: T[] = [];
    const errors: Record<string, ErrorDetail> = {};
    value.forEach((item, i) => {
        try {
            out.push(child(item, String(i)));
        } catch (e) {
            if (e instanceof ValidationError) errors[String(i)] = e.detail;
            else throw e;
        }
    });
    if (Object.keys(errors).length) throw new ValidationError(errors);
    if (o.maxLength !== undefined && out.length > o.maxLength) {
        fail(`Ensure this field has no more than ${o.maxLength} elements.`);
    }
    return out;
}

export function listField<T>(child: ItemFn<T>, o: ListOptions = {}): FieldFn {
    return (present, value) => {
        const e = checkEmpty(present, value, o);
        if (e === 'skip') return SKIP;
        if (e === 'null') return null;
        return validateList(value, child, o);
    };
}

/**
 * RapidPro's TembaModelField with many=True (a LimitedManyRelatedField): the length limit is checked first, the first
 * failing item gives the error (a flat list), e.g. ["No such object: <uuid>"].
 */
export function validateMany<T>(value: unknown, find: (ref: string | number | boolean) => T | null, o: ListOptions): T[] {
    const max = o.maxLength ?? 100;
    if ((Array.isArray(value) || typeof value === 'string') && value.length > max) {
        fail(`Ensure this field has no more than ${max} elements.`);
    }
    if (!Array.isArray(value)) fail(`Expected a list of items but got type "${pyType(value)}".`);
    if (o.allowEmpty === false && value.length === 0) fail('This list may not be empty.');
    return value.map((item) => validateRelated(item, find));
}

export function manyField<T>(find: (ref: string | number | boolean) => T | null, o: ListOptions = {}): FieldFn {
    return (present, value) => {
        const e = checkEmpty(present, value, o);
        if (e === 'skip') return SKIP;
        if (e === 'null') return null;
        return validateMany(value, find, o);
    };
}

/** RapidPro's TembaModelField for one object */
export function validateRelated<T>(value: unknown, find: (ref: string | number | boolean) => T | null): T {
    // Python's bool is an int, so true/false pass the type check and are looked up (and not found)
    if (!(typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)) || typeof value === 'boolean')) {
        fail('Must be a string or integer');
    }
    const obj = find(value);
    if (obj === null) fail(`No such object: ${pyStr(value)}`);
    return obj;
}

export function relatedField<T>(find: (ref: string | number | boolean) => T | null, o: Common = {}): FieldFn {
    return (present, value) => {
        const e = checkEmpty(present, value, o);
        if (e === 'skip') return SKIP;
        if (e === 'null') return null;
        return validateRelated(value, find);
    };
}

export interface DictOptions extends Common {
    maxLength?: number;
    allowEmpty?: boolean;
    /** extra check on the whole validated dict (runs after the items) */
    validateKeys?: (keys: string[]) => Record<string, ErrorDetail> | null;
}

/** DRF DictField (errors of values keyed by key) with RapidPro's LimitedDictField length limit */
export function validateDict<T>(value: unknown, child: ItemFn<T>, o: DictOptions): Record<string, T> {
    if (!isPlainObject(value)) fail(`Expected a dictionary of items but got type "${pyType(value)}".`);
    const keys = Object.keys(value);
    if (o.allowEmpty === false && keys.length === 0) fail('This dictionary may not be empty.');
    const out: Record<string, T> = {};
    const errors: Record<string, ErrorDetail> = {};
    for (const k of keys) {
        try {
            out[k] = child(value[k], k);
        } catch (e) {
            if (e instanceof ValidationError) errors[k] = e.detail;
            else throw e;
        }
    }
    if (Object.keys(errors).length) throw new ValidationError(errors);
    if (o.maxLength !== undefined && keys.length > o.maxLength) {
        fail(`Ensure this field has no more than ${o.maxLength} elements.`);
    }
    if (o.validateKeys) {
        const keyErrors = o.validateKeys(keys);
        if (keyErrors) throw new ValidationError(keyErrors);
    }
    return out;
}

export function dictField<T>(child: ItemFn<T>, o: DictOptions = {}): FieldFn {
    return (present, value) => {
        const e = checkEmpty(present, value, o);
        if (e === 'skip') return SKIP;
        if (e === 'null') return null;
        return validateDict(value, child, o);
    };
}

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
