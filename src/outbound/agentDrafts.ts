import type { AgentFile, OutboundDraft } from '../domain/DeliveryQueue';
import { shortcodesToUnicode } from '../lib/emoji';
import { splitText } from '../lib/textSplitter';

function preview(text: string): string {
    const flat = text.replace(/\s+/g, ' ').trim();
    return flat.length > 60 ? `"${flat.slice(0, 57)}..."` : `"${flat}"`;
}

/**
 * Turns what an agent wrote into the ordered calls RapidPro gets: emoji shortcodes as unicode,
 * text cut into parts RapidPro takes, each file as its own attachment message (the first one
 * carrying the text when the text fits in one part).
 */
export function agentMessageDrafts(text: string | undefined, files: AgentFile[], maxTextLength: number, prefix?: string): OutboundDraft[] {
    let body = shortcodesToUnicode((text || '').trim());
    if (prefix && body) {
        body = `${prefix} ${body}`;
    }
    const parts = body ? splitText(body, maxTextLength) : [];
    const drafts: OutboundDraft[] = [];
    const many = parts.length > 1;
    parts.forEach((part, index) => {
        drafts.push({
            kind: 'message',
            text: part,
            summary: many ? `part ${index + 1} of ${parts.length} of the message ${preview(body)}` : `the message ${preview(body)}`,
        });
    });
    files.forEach((file, index) => {
        if (index === 0 && drafts.length === 1) {
            const only = drafts[0] as OutboundDraft & { kind: 'message' };
            only.file = file;
            only.summary = `the file "${file.name}" with ${only.summary}`;
            return;
        }
        drafts.push({ kind: 'message', file, summary: `the file "${file.name}"` });
    });
    return drafts;
}

/**
 * The drafts of one agent message in a room, each naming the message and its part, and ordered by
 * the message's creation: the event and the catch-up make identical drafts for the same message.
 */
export function roomMessageDrafts(
    messageId: string,
    createdAt: number,
    text: string | undefined,
    files: AgentFile[],
    maxTextLength: number,
): OutboundDraft[] {
    const drafts = agentMessageDrafts(text, files, maxTextLength);
    return drafts.map((draft, part) => ({ ...draft, at: createdAt, source: { messageId, part, parts: drafts.length } }));
}
