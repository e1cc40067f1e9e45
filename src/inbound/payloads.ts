import { z } from 'zod';

/**
 * Request validation for every inbound endpoint. Accepts RapidPro's default Call Webhook body and
 * the legacy/resthook body as they are; unknown keys are ignored. Pure: no engine accessors.
 */

export interface ContactRef {
    uuid: string;
    name?: string;
    urn?: string;
    language?: string;
}

export interface InboundAttachment {
    contentType?: string;
    url: string;
    /** A shared location (RapidPro's `geo:<lat>,<lng>`), posted as text with a map link. */
    location?: { lat: number; lng: number };
}

export interface FlowResult {
    key: string;
    name: string;
    value: string;
    category?: string;
}

export interface HandoffRequest {
    contact: ContactRef;
    department?: string;
    text?: string;
    attachments: InboundAttachment[];
    fields: Record<string, string>;
    history?: boolean;
    flow?: { uuid?: string; name?: string };
    results: FlowResult[];
    /** De-duplicates the first text when the flow calls again: Idempotency-Key header, else `message_id`. */
    messageId?: string;
}

export interface ContactMessageRequest {
    contact: ContactRef;
    text: string;
    attachments: InboundAttachment[];
    messageId?: string;
}

export interface CloseRequest {
    contact: ContactRef;
    comment?: string;
}

export interface TransferRequest {
    contact: ContactRef;
    department: string;
}

export interface StatusRequest {
    contact: ContactRef;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; code: 'invalid_request' | 'invalid_json'; error: string };

export const LIMITS = {
    textLength: 16384,
    nameLength: 256,
    urlLength: 2048,
    attachments: 10,
    fields: 50,
    fieldValueLength: 1024,
    results: 300,
    resultValueLength: 4096,
    idLength: 200,
    bodyBytes: 256 * 1024,
    depth: 12,
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// C0 controls other than tab, line feed and carriage return, and DEL.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this pattern is for
const CONTROL_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const FIELD_KEY = /^[A-Za-z0-9_][A-Za-z0-9_ .-]{0,63}$/;

type Schemas = ReturnType<typeof buildSchemas>;
let schemas: Schemas | undefined;

/** Built on first use: rc-apps runs the app's module code without its npm dependencies at packaging time. */
function getSchemas(): Schemas {
    if (!schemas) {
        schemas = buildSchemas();
    }
    return schemas;
}

function buildSchemas() {
    const text = (max: number) =>
        z
            .string()
            .max(max, `must be at most ${max} characters`)
            .refine((value) => !CONTROL_CHARS.test(value), 'must not contain control characters');
    const optionalText = (max: number) => text(max).nullish();
    const scalar = z.union([z.string(), z.number(), z.boolean()]).nullish();

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

    const attachmentObject = z.object({
        content_type: optionalText(LIMITS.nameLength),
        url: text(LIMITS.urlLength),
    });
    const attachment = z.union([text(LIMITS.urlLength + LIMITS.nameLength), attachmentObject]);
    // A custom body may carry `"@input.attachments"` quoted, which RapidPro renders as a JSON list in a string.
    const attachments = z
        .union([
            z.array(attachment).max(LIMITS.attachments, `must have at most ${LIMITS.attachments} items`),
            text(LIMITS.urlLength * LIMITS.attachments),
        ])
        .nullish();

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
            value: scalar,
            category: optionalText(LIMITS.nameLength),
        })
        .nullish();

    const results = z
        .record(z.union([resultValue, scalar]))
        .nullish()
        .refine((value) => !value || Object.keys(value).length <= LIMITS.results, `must have at most ${LIMITS.results} entries`);

    const base = {
        contact,
        input,
        results,
        language: optionalText(16),
        flow: z.object({ uuid: optionalText(LIMITS.idLength), name: optionalText(LIMITS.nameLength) }).nullish(),
    };

    const handoff = z.object({
        ...base,
        department: optionalText(LIMITS.nameLength),
        text: optionalText(LIMITS.textLength),
        attachments,
        history: z.union([z.boolean(), z.enum(['true', 'false'])]).nullish(),
        message_id: optionalText(LIMITS.idLength),
        fields: z
            .record(scalar)
            .nullish()
            .refine((value) => !value || Object.keys(value).length <= LIMITS.fields, `must have at most ${LIMITS.fields} entries`)
            .refine(
                (value) => !value || Object.keys(value).every((key) => FIELD_KEY.test(key)),
                'keys must be short names of letters, digits, _ . -',
            ),
    });

    const message = z.object({
        ...base,
        text: optionalText(LIMITS.textLength),
        attachments,
        message_id: optionalText(LIMITS.idLength),
    });

    const close = z.object({ ...base, comment: optionalText(1024) });
    const transfer = z.object({ ...base, department: text(LIMITS.nameLength).refine((v) => v.trim().length > 0, 'is required') });
    const status = z.object({ ...base });

    return { handoff, message, close, transfer, status };
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

function validate<T>(schema: z.ZodType<T>, body: Record<string, unknown>): ParseResult<T> {
    const result = schema.safeParse(body);
    if (!result.success) {
        const issues = result.error.issues.slice(0, 3).map(describeIssue);
        return { ok: false, code: 'invalid_request', error: `Invalid request: ${issues.join('; ')}.` };
    }
    return { ok: true, value: result.data };
}

function nonEmpty(value: string | null | undefined): string | undefined {
    if (value === null || value === undefined) {
        return undefined;
    }
    const trimmed = value.trim();
    return trimmed.length > 0 ? trimmed : undefined;
}

type RawContact = { uuid: string; name?: string | null; urn?: string | null; language?: string | null };

function toContact(raw: RawContact, topLevelLanguage?: string | null): ContactRef {
    return {
        uuid: raw.uuid.toLowerCase(),
        name: nonEmpty(raw.name),
        urn: nonEmpty(raw.urn),
        language: nonEmpty(raw.language) || nonEmpty(topLevelLanguage),
    };
}

type RawAttachment = string | { content_type?: string | null; url: string };

const GEO = /^(?:geo:)?\s*(-?\d{1,3}(?:\.\d+)?)\s*,\s*(-?\d{1,3}(?:\.\d+)?)\s*$/i;

/** WhatsApp and Telegram locations arrive as `geo:<lat>,<lng>` (or content type `geo`). */
function parseLocation(contentType: string | undefined, value: string): InboundAttachment | undefined {
    const isGeo = (contentType || '').toLowerCase() === 'geo' || /^geo:/i.test(value);
    const match = isGeo ? GEO.exec(value.replace(/^geo:(?=geo:)/i, '')) : null;
    if (!match) {
        return undefined;
    }
    const lat = parseFloat(match[1]);
    const lng = parseFloat(match[2]);
    if (Math.abs(lat) > 90 || Math.abs(lng) > 180) {
        return undefined;
    }
    return { contentType: 'geo', url: `geo:${lat},${lng}`, location: { lat, lng } };
}

/** `{"content_type","url"}`, RapidPro's `"image/jpeg:https://..."` form, `geo:<lat>,<lng>`, or a bare URL. */
export function parseAttachment(raw: RawAttachment): InboundAttachment | { error: string } {
    let contentType: string | undefined;
    let url: string;
    const location =
        typeof raw === 'string'
            ? parseLocation(undefined, raw.trim().replace(/^geo:(?=geo:)/i, ''))
            : parseLocation(raw.content_type || undefined, raw.url.trim());
    if (location) {
        return location;
    }
    if (typeof raw === 'string') {
        const trimmed = raw.trim();
        const match = /^([a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(?:;[^:]*)?):(.*)$/i.exec(trimmed);
        if (match && /^https?:/i.test(match[2])) {
            contentType = match[1].toLowerCase();
            url = match[2];
        } else {
            url = trimmed;
        }
    } else {
        contentType = nonEmpty(raw.content_type);
        url = raw.url.trim();
    }
    if (!/^https?:\/\/[^\s/]+/i.test(url) || /\s/.test(url) || url.length > LIMITS.urlLength) {
        return { error: `attachment URL must be an http(s) URL: ${url.slice(0, 80)}` };
    }
    return { contentType, url };
}

function parseAttachments(raw: RawAttachment[] | string | null | undefined): InboundAttachment[] | { error: string } {
    if (raw === null || raw === undefined) {
        return [];
    }
    let list: unknown = raw;
    if (typeof raw === 'string') {
        const trimmed = raw.trim();
        if (trimmed === '' || trimmed === '[]') {
            return [];
        }
        try {
            list = trimmed.charAt(0) === '[' ? JSON.parse(trimmed) : [trimmed];
        } catch (_e) {
            return { error: 'attachments must be a list' };
        }
        if (!Array.isArray(list) || list.length > LIMITS.attachments || !list.every((item) => typeof item === 'string')) {
            return { error: `attachments must be a list of at most ${LIMITS.attachments} items` };
        }
    }
    const parsed: InboundAttachment[] = [];
    for (const item of list as RawAttachment[]) {
        const attachment = parseAttachment(item);
        if ('error' in attachment) {
            return attachment;
        }
        parsed.push(attachment);
    }
    return parsed;
}

function stringifyScalar(value: string | number | boolean | null | undefined): string {
    return value === null || value === undefined ? '' : String(value);
}

function toResults(raw: Record<string, unknown> | null | undefined): FlowResult[] {
    if (!raw) {
        return [];
    }
    return Object.keys(raw).map((key) => {
        const entry = raw[key];
        if (entry !== null && typeof entry === 'object') {
            const result = entry as { name?: string | null; value?: string | number | boolean | null; category?: string | null };
            return {
                key,
                name: nonEmpty(result.name) || key,
                value: stringifyScalar(result.value).slice(0, LIMITS.resultValueLength),
                category: nonEmpty(result.category),
            };
        }
        return { key, name: key, value: stringifyScalar(entry as string | number | boolean | null).slice(0, LIMITS.resultValueLength) };
    });
}

function parseWith<T>(content: unknown, pick: (s: Schemas) => z.ZodType<T>): ParseResult<T> {
    const body = readJsonBody(content);
    if (!body.ok) {
        return body;
    }
    return validate(pick(getSchemas()), body.value);
}

function invalid(error: string): { ok: false; code: 'invalid_request'; error: string } {
    return { ok: false, code: 'invalid_request', error: `Invalid request: ${error}.` };
}

export function parseHandoffRequest(content: unknown, idempotencyKey?: string): ParseResult<HandoffRequest> {
    const parsed = parseWith(content, (s) => s.handoff);
    if (!parsed.ok) {
        return parsed;
    }
    const body = parsed.value;
    const attachments = parseAttachments(body.attachments);
    if ('error' in attachments) {
        return invalid(attachments.error);
    }
    const fields: Record<string, string> = {};
    const rawFields = body.fields || {};
    for (const key of Object.keys(rawFields)) {
        fields[key] = stringifyScalar(rawFields[key]).slice(0, LIMITS.fieldValueLength);
    }
    const flow = body.flow ? { uuid: nonEmpty(body.flow.uuid), name: nonEmpty(body.flow.name) } : undefined;
    return {
        ok: true,
        value: {
            contact: toContact(body.contact, body.language),
            department: nonEmpty(body.department),
            text: nonEmpty(body.text),
            attachments,
            fields,
            history: body.history === undefined || body.history === null ? undefined : body.history === true || body.history === 'true',
            flow,
            results: toResults(body.results as Record<string, unknown> | null | undefined),
            messageId: nonEmpty(idempotencyKey) || nonEmpty(body.message_id),
        },
    };
}

/**
 * The contact's message: `text`/`attachments` at the top level, else `input.text`/`input.attachments`.
 * The de-duplication id is the Idempotency-Key header, else `message_id`, else `input.uuid`.
 * `legacyTextResult` names the flow result holding the text for the mediator alias (`clientmessage`).
 */
export function parseContactMessageRequest(
    content: unknown,
    idempotencyKey?: string,
    legacyTextResult?: string,
): ParseResult<ContactMessageRequest> {
    const parsed = parseWith(content, (s) => s.message);
    if (!parsed.ok) {
        return parsed;
    }
    const body = parsed.value;
    const input = body.input || undefined;
    let text = nonEmpty(body.text) || nonEmpty(input?.text);
    if (!text && legacyTextResult) {
        const result = toResults(body.results as Record<string, unknown> | null | undefined).filter((r) => r.key === legacyTextResult)[0];
        text = result ? nonEmpty(result.value) : undefined;
    }
    const rawAttachments = body.attachments !== undefined && body.attachments !== null ? body.attachments : input?.attachments;
    const attachments = parseAttachments(rawAttachments);
    if ('error' in attachments) {
        return invalid(attachments.error);
    }
    if (!text && attachments.length === 0) {
        return invalid('the message has no text and no attachments (send `text`, or `input.text` in the legacy body)');
    }
    const header = nonEmpty(idempotencyKey);
    if (header && (header.length > LIMITS.idLength || CONTROL_CHARS.test(header))) {
        return invalid(`the Idempotency-Key header must be at most ${LIMITS.idLength} printable characters`);
    }
    return {
        ok: true,
        value: {
            contact: toContact(body.contact, body.language),
            text: text || '',
            attachments,
            messageId: header || nonEmpty(body.message_id) || nonEmpty(input?.uuid),
        },
    };
}

export function parseCloseRequest(content: unknown): ParseResult<CloseRequest> {
    const parsed = parseWith(content, (s) => s.close);
    if (!parsed.ok) {
        return parsed;
    }
    return {
        ok: true,
        value: { contact: toContact(parsed.value.contact, parsed.value.language), comment: nonEmpty(parsed.value.comment) },
    };
}

export function parseTransferRequest(content: unknown): ParseResult<TransferRequest> {
    const parsed = parseWith(content, (s) => s.transfer);
    if (!parsed.ok) {
        return parsed;
    }
    return {
        ok: true,
        value: { contact: toContact(parsed.value.contact, parsed.value.language), department: parsed.value.department.trim() },
    };
}

export function parseStatusRequest(content: unknown): ParseResult<StatusRequest> {
    const parsed = parseWith(content, (s) => s.status);
    if (!parsed.ok) {
        return parsed;
    }
    return { ok: true, value: { contact: toContact(parsed.value.contact, parsed.value.language) } };
}

/** `GET status?contact=<uuid>` */
export function parseContactQuery(query: Record<string, string> | undefined): ParseResult<StatusRequest> {
    const uuid = query && typeof query.contact === 'string' ? query.contact.trim() : '';
    if (!uuid) {
        return invalid('the `contact` query parameter is required');
    }
    if (!UUID.test(uuid)) {
        return invalid('contact: must be a RapidPro contact UUID');
    }
    return { ok: true, value: { contact: { uuid: uuid.toLowerCase() } } };
}
