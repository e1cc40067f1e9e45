/** DRF field types as RapidPro's API v2 serializers use them (char, boolean, JSON, list, many, related, dict). */

import {
    codePointLength,
    type ErrorDetail,
    type FieldFn,
    fail,
    isPlainObject,
    loneSurrogate,
    pyStr,
    pyType,
    SKIP,
    ValidationError,
} from './fieldCore';

export interface Common {
    required?: boolean;
    allowNull?: boolean;
}

export function checkEmpty(present: boolean, value: unknown, o: Common): 'skip' | 'null' | 'value' {
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
