import { z } from 'zod';

import { attachmentsSchema } from './attachments';
import { baseShape, invalid, lazily, type ParseResult, parseWith, toContact, UUID } from './common';
import type { StatusRequest } from './types';

const schema = lazily(() => z.object({ ...baseShape(attachmentsSchema()) }));

/** `POST status` with a webhook body. */
export function parseStatusRequest(content: unknown): ParseResult<StatusRequest> {
    const parsed = parseWith(content, schema());
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
