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
    toContact,
} from './common';
import { toResults } from './results';
import type { ContactMessageRequest } from './types';

const schema = lazily(() => {
    const attachments = attachmentsSchema();
    return z.object({
        ...baseShape(attachments),
        text: optionalText(LIMITS.textLength),
        attachments,
        message_id: optionalText(LIMITS.idLength),
    });
});

/**
 * `POST message`: the contact's text and attachments at the top level, else `input.text`/`input.attachments`.
 * The de-duplication id is the Idempotency-Key header, else `message_id`, else `input.uuid`.
 * `legacyTextResult` names the flow result holding the text for the mediator alias (`clientmessage`).
 */
export function parseContactMessageRequest(
    content: unknown,
    idempotencyKey?: string,
    legacyTextResult?: string,
): ParseResult<ContactMessageRequest> {
    const parsed = parseWith(content, schema());
    if (!parsed.ok) {
        return parsed;
    }
    const body = parsed.value;
    const input = body.input || undefined;
    let text = nonEmpty(body.text) || nonEmpty(input?.text);
    if (!text && legacyTextResult) {
        const result = toResults(body.results as Record<string, unknown> | null | undefined).filter((r) => r.key === legacyTextResult)[0];
        text = result ? nonEmpty(result.value) : undefined;
        if (text && text.length > LIMITS.textLength) {
            return invalid(`results.${legacyTextResult}.value: must be at most ${LIMITS.textLength} characters`);
        }
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
    if (header && !isIdempotencyKey(header)) {
        return invalid(IDEMPOTENCY_KEY_ERROR);
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
