import { z } from 'zod';

import { attachmentsSchema, parseAttachments } from './attachments';
import {
    baseShape,
    IDEMPOTENCY_KEY_ERROR,
    isIdempotencyKey,
    invalid,
    LIMITS,
    lazily,
    nonEmpty,
    optionalText,
    type ParseResult,
    parseWith,
    scalar,
    toContact,
} from './common';
import { stringifyScalar, toResults } from './results';
import type { HandoffRequest } from './types';

const FIELD_KEY = /^[A-Za-z0-9_][A-Za-z0-9_ .-]{0,63}$/;

const schema = lazily(() => {
    const attachments = attachmentsSchema();
    return z.object({
        ...baseShape(attachments),
        department: optionalText(LIMITS.nameLength),
        text: optionalText(LIMITS.textLength),
        attachments,
        history: z.union([z.boolean(), z.enum(['true', 'false'])]).nullish(),
        message_id: optionalText(LIMITS.idLength),
        fields: z
            .record(scalar())
            .nullish()
            .refine((value) => !value || Object.keys(value).length <= LIMITS.fields, `must have at most ${LIMITS.fields} entries`)
            .refine(
                (value) => !value || Object.keys(value).every((key) => FIELD_KEY.test(key)),
                'keys must be short names of letters, digits, _ . -',
            ),
    });
});

/** `POST handoff` (and `registerClient`): the contact, where to, a first message, fields and results for the agent. */
export function parseHandoffRequest(content: unknown, idempotencyKey?: string): ParseResult<HandoffRequest> {
    const parsed = parseWith(content, schema());
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
        fields[key] = stringifyScalar(rawFields[key]); // never cut (see results.ts)
    }
    const flow = body.flow ? { uuid: nonEmpty(body.flow.uuid), name: nonEmpty(body.flow.name) } : undefined;
    const header = nonEmpty(idempotencyKey);
    if (header && !isIdempotencyKey(header)) {
        return invalid(IDEMPOTENCY_KEY_ERROR);
    }
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
            messageId: header || nonEmpty(body.message_id),
        },
    };
}
