import { z } from 'zod';

import { attachmentsSchema } from './attachments';
import { baseShape, lazily, nonEmpty, optionalText, type ParseResult, parseWith, toContact } from './common';
import type { CloseRequest } from './types';

const schema = lazily(() => z.object({ ...baseShape(attachmentsSchema()), comment: optionalText(1024) }));

/** `POST close`: the contact and an optional closing comment. */
export function parseCloseRequest(content: unknown): ParseResult<CloseRequest> {
    const parsed = parseWith(content, schema());
    if (!parsed.ok) {
        return parsed;
    }
    return {
        ok: true,
        value: { contact: toContact(parsed.value.contact, parsed.value.language), comment: nonEmpty(parsed.value.comment) },
    };
}
