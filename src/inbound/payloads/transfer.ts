import { z } from 'zod';

import { attachmentsSchema } from './attachments';
import { baseShape, LIMITS, lazily, type ParseResult, parseWith, text, toContact } from './common';
import type { TransferRequest } from './types';

const schema = lazily(() =>
    z.object({
        ...baseShape(attachmentsSchema()),
        department: text(LIMITS.nameLength).refine((v) => v.trim().length > 0, 'is required'),
    }),
);

/** `POST transfer`: the contact and the department (name or id) to move the chat to. */
export function parseTransferRequest(content: unknown): ParseResult<TransferRequest> {
    const parsed = parseWith(content, schema());
    if (!parsed.ok) {
        return parsed;
    }
    return {
        ok: true,
        value: { contact: toContact(parsed.value.contact, parsed.value.language), department: parsed.value.department.trim() },
    };
}
