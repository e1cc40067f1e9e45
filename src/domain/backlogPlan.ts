import { codePointLength } from '../lib/graphemes';
import type { OutboxItem } from './outboxItems';

/**
 * Pure: which waiting outbox items of one contact may go to RapidPro as one request (issue 13,
 * setting `coalesce_backlog`). Only a backlog is merged: a lone reply, or replies queued together
 * while nothing held them up, go out one by one as they always did.
 */

/** Joins merged replies: a blank line, as an agent would separate paragraphs. */
export const MERGE_SEPARATOR = '\n\n';
/** A head item that sat this long in the outbox waited for something (an outage, a pause, a claim elsewhere). */
export const BACKLOG_WAIT_MS = 2000;

/** Whether the head item has been waiting (a failed or paused try, or an old item): what follows it is a backlog. */
export function isBacklogged(head: OutboxItem, now: number): boolean {
    return head.attempts > 0 || head.lastError !== undefined || now - head.createdAt >= BACKLOG_WAIT_MS;
}

/** The text an item adds to a merged message, or undefined when it must go alone (a file, a notice, a marker). */
function mergeableText(item: OutboxItem): string | undefined {
    if (item.kind !== 'message' || !item.source || item.file || item.mediaUuid || !item.text) {
        return undefined; // lifecycle notices have no source; files carry attachments
    }
    // RapidPro trims every message: the parts read the same as when sent one by one.
    const text = item.text.trim();
    return text.length > 0 ? text : undefined;
}

export interface TextGroup {
    items: OutboxItem[];
    text: string;
}

/**
 * From `start` (the head, due now): the agent text replies of the same room that wait right behind
 * it, merged in order, within `maxTextLength` code points. Undefined unless two or more merge.
 * `skip` stops the group at an item to be handled on its own (e.g. a part sent already).
 */
export function planTextGroup(
    items: OutboxItem[],
    start: number,
    now: number,
    maxTextLength: number,
    skip: (item: OutboxItem) => boolean = () => false,
): TextGroup | undefined {
    const head = items[start];
    const first = head ? mergeableText(head) : undefined;
    if (first === undefined || !isBacklogged(head, now)) {
        return undefined;
    }
    const group = [head];
    const parts = new Set<string>([partOf(head)]);
    let text = first;
    let length = codePointLength(first);
    const separator = codePointLength(MERGE_SEPARATOR);
    for (let index = start + 1; index < items.length; index++) {
        const item = items[index];
        const next = mergeableText(item);
        if (next === undefined || item.roomId !== head.roomId || item.nextAttemptAt > now || skip(item)) {
            break; // never across a file, a notice, a marker, another room or an item not due
        }
        if (parts.has(partOf(item))) {
            group.push(item); // a second copy (the event and the catch-up both queued it): removed with the group, sent once
            continue;
        }
        const added = separator + codePointLength(next);
        if (length + added > maxTextLength) {
            break;
        }
        parts.add(partOf(item));
        group.push(item);
        text += MERGE_SEPARATOR + next;
        length += added;
    }
    return parts.size > 1 ? { items: group, text } : undefined;
}

function partOf(item: OutboxItem): string {
    return item.source ? `${item.source.messageId}#${item.source.part}` : item.id;
}

export interface FieldGroup {
    items: OutboxItem[];
    fields: Record<string, string | null>;
}

/**
 * From `start`: the contact-field updates waiting one after the other (behind a head that waited),
 * as one update holding the last value of each field. Undefined unless two or more collapse. Never
 * across another kind of call: what a message or a flow start saw of the fields stays as it was.
 */
export function planFieldGroup(items: OutboxItem[], start: number, now: number): FieldGroup | undefined {
    if (!items[start] || !isBacklogged(items[start], now)) {
        return undefined;
    }
    const group: OutboxItem[] = [];
    const fields: Record<string, string | null> = {};
    for (let index = start; index < items.length; index++) {
        const item = items[index];
        if (item.kind !== 'contact_fields' || item.nextAttemptAt > now) {
            break;
        }
        group.push(item);
        for (const key of Object.keys(item.fields)) {
            fields[key] = item.fields[key];
        }
    }
    return group.length > 1 ? { items: group, fields } : undefined;
}

/**
 * How many of the leading items a message RapidPro already has carries: 1 when it is the head's
 * text, k when it is the first k waiting replies merged (a stop after a merged send, before the
 * items were removed); 0 when none.
 */
export function sentPrefixLength(items: OutboxItem[], sentText: string): number {
    const head = items[0];
    if (head?.kind !== 'message' || !head.text) {
        return 0;
    }
    if (head.text === sentText) {
        return 1;
    }
    let text = '';
    const parts = new Set<string>();
    for (let index = 0; index < items.length; index++) {
        const next = mergeableText(items[index]);
        if (next === undefined || items[index].roomId !== head.roomId) {
            return 0;
        }
        if (parts.has(partOf(items[index]))) {
            continue; // a second copy went with the group, unsent
        }
        parts.add(partOf(items[index]));
        text = index === 0 ? next : text + MERGE_SEPARATOR + next;
        if (text === sentText) {
            return index + 1;
        }
        if (sentText.indexOf(text) !== 0) {
            return 0;
        }
    }
    return 0;
}
