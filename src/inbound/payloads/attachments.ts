import { z } from 'zod';

import { LIMITS, nonEmpty, text } from './common';
import type { InboundAttachment } from './types';

/** `{"content_type","url"}`, RapidPro's `"image/jpeg:https://..."`, `geo:<lat>,<lng>` or a bare URL; at most LIMITS.attachments. */
export function attachmentsSchema() {
    const attachmentObject = z.object({
        content_type: text(LIMITS.nameLength).nullish(),
        url: text(LIMITS.urlLength),
    });
    const attachment = z.union([text(LIMITS.urlLength + LIMITS.nameLength), attachmentObject]);
    // A custom body may carry `"@input.attachments"` quoted, which RapidPro renders as a JSON list in a string.
    return z
        .union([
            z.array(attachment).max(LIMITS.attachments, `must have at most ${LIMITS.attachments} items`),
            text(LIMITS.urlLength * LIMITS.attachments),
        ])
        .nullish();
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

export function parseAttachments(raw: RawAttachment[] | string | null | undefined): InboundAttachment[] | { error: string } {
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
