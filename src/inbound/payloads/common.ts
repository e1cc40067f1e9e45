import { z } from 'zod';

import type { ContactRef } from './types';

/**
 * What every request schema shares: limits, the contact, the body reading and the error wording.
 * Pure: no engine accessors. Accepts RapidPro's default Call Webhook body and the legacy/resthook
 * body as they are; unknown keys are ignored.
 */

export type ParseResult<T> = { ok: true; value: T } | { ok: false; code: 'invalid_request' | 'invalid_json'; error: string };

export const LIMITS = {
    textLength: 16384,
    nameLength: 256,
    urlLength: 2048,
    attachments: 10,
    fields: 50,
    results: 300,
    idLength: 200,
    bodyBytes: 256 * 1024,
    depth: 12,
} as const;

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// C0 controls other than tab, line feed and carriage return, and DEL.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this pattern is for
export const CONTROL_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * A schema built on first use: rc-apps runs the app's module code without its npm dependencies at
 * packaging time, so no zod schema may be built when a module loads.
 */
export function lazily<T>(build: () => T): () => T {
    let built: T | undefined;
    return () => {
        if (built === undefined) {
            built = build();
        }
        return built;
    };
}

export function text(max: number) {
    return z
        .string()
        .max(max, `must be at most ${max} characters`)
        .refine((value) => !CONTROL_CHARS.test(value), 'must not contain control characters');
}

export function optionalText(max: number) {
    return text(max).nullish();
}

export function scalar() {
    return z.union([z.string(), z.number(), z.boolean()]).nullish();
}

/** The keys every webhook body may have (RapidPro's default Call Webhook body), for `z.object({...baseShape()})`. */
export function baseShape<A extends z.ZodTypeAny>(attachments: A) {
    const contact = z.object(
        {
            uuid: z
                .string({ required_error: 'is required', invalid_type_error: 'must be a string' })
                .regex(UUID, 'must be a RapidPro contact UUID'),
            name: optionalText(LIMITS.nameLength),
            urn: optionalText(LIMITS.nameLength),
            language: optionalText(16),
        },
        { required_error: 'is required', invalid_type_error: 'must be an object' },
    );
    const input = z
        .object({
            uuid: optionalText(LIMITS.idLength),
            text: optionalText(LIMITS.textLength),
            attachments,
        })
        .nullish();
    const resultValue = z
        .object({
            name: optionalText(LIMITS.nameLength),
            value: scalar(),
            category: optionalText(LIMITS.nameLength),
        })
        .nullish();
    const results = z
        .record(z.union([resultValue, scalar()]))
        .nullish()
        .refine((value) => !value || Object.keys(value).length <= LIMITS.results, `must have at most ${LIMITS.results} entries`);
    return {
        contact,
        input,
        results,
        language: optionalText(16),
        flow: z.object({ uuid: optionalText(LIMITS.idLength), name: optionalText(LIMITS.nameLength) }).nullish(),
    };
}

function describeIssue(issue: z.ZodIssue): string {
    const path = issue.path.join('.');
    let message = issue.message;
    if (issue.code === 'invalid_type' && issue.received === 'undefined') {
        message = 'is required';
    } else if (issue.code === 'invalid_type') {
        message = `must be ${issue.expected === 'object' ? 'an object' : `a ${issue.expected}`}`;
    } else if (issue.code === 'invalid_union') {
        message = 'has the wrong type';
    }
    return path ? `${path}: ${message}` : message;
}

function depthOf(value: unknown, limit: number, depth = 0): number {
    if (depth > limit || value === null || typeof value !== 'object') {
        return depth;
    }
    let max = depth;
    const children = Array.isArray(value) ? value : Object.keys(value as object).map((key) => (value as Record<string, unknown>)[key]);
    for (const child of children) {
        max = Math.max(max, depthOf(child, limit, depth + 1));
        if (max > limit) {
            break;
        }
    }
    return max;
}

/** Turns the request content the engine hands over (parsed JSON, a raw string or nothing) into an object. */
export function readJsonBody(content: unknown): ParseResult<Record<string, unknown>> {
    let body = content;
    if (typeof body === 'string') {
        if (body.length > LIMITS.bodyBytes) {
            return { ok: false, code: 'invalid_request', error: `The body must be at most ${LIMITS.bodyBytes} bytes.` };
        }
        if (body.trim() === '') {
            body = undefined;
        } else {
            try {
                body = JSON.parse(body);
            } catch (_e) {
                return { ok: false, code: 'invalid_json', error: 'The body is not valid JSON.' };
            }
        }
    }
    if (body === undefined || body === null) {
        return { ok: false, code: 'invalid_request', error: 'The body must be a JSON object with a contact.' };
    }
    if (typeof body !== 'object' || Array.isArray(body)) {
        return { ok: false, code: 'invalid_request', error: 'The body must be a JSON object.' };
    }
    if (depthOf(body, LIMITS.depth) > LIMITS.depth) {
        return { ok: false, code: 'invalid_request', error: `The body is nested deeper than ${LIMITS.depth} levels.` };
    }
    return { ok: true, value: body as Record<string, unknown> };
}

/** The body read as JSON and checked against the endpoint's schema; the first issues name the fields. */
export function parseWith<T>(content: unknown, schema: z.ZodType<T>): ParseResult<T> {
    const body = readJsonBody(content);
    if (!body.ok) {
        return body;
    }
    const result = schema.safeParse(body.value);
    if (!result.success) {
        const issues = result.error.issues.slice(0, 3).map(describeIssue);
        return { ok: false, code: 'invalid_request', error: `Invalid request: ${issues.join('; ')}.` };
    }
    return { ok: true, value: result.data };
}

export function invalid(error: string): { ok: false; code: 'invalid_request'; error: string } {
    return { ok: false, code: 'invalid_request', error: `Invalid request: ${error}.` };
}

export function nonEmpty(value: string | null | undefined): string | undefined {
    if (value === null || value === undefined) {
        return undefined;
    }
    const trimmed = value.trim();
    return trimmed.length > 0 ? trimmed : undefined;
}

type RawContact = { uuid: string; name?: string | null; urn?: string | null; language?: string | null };

export function toContact(raw: RawContact, topLevelLanguage?: string | null): ContactRef {
    return {
        uuid: raw.uuid.toLowerCase(),
        name: nonEmpty(raw.name),
        urn: nonEmpty(raw.urn),
        language: nonEmpty(raw.language) || nonEmpty(topLevelLanguage),
    };
}

/** An `Idempotency-Key` header the bridge keeps as a message id: short, printable. */
export function isIdempotencyKey(header: string): boolean {
    return header.length <= LIMITS.idLength && !CONTROL_CHARS.test(header);
}

export const IDEMPOTENCY_KEY_ERROR = `the Idempotency-Key header must be at most ${LIMITS.idLength} printable characters`;
