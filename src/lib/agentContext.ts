import { describeUrn } from './urn';

/** One result a RapidPro flow collected (`results` of the webhook body), as the agent sees it. */
export interface FlowResult {
    key: string;
    name: string;
    value: string;
    category?: string;
}

export interface HandoffSummaryInput {
    contactName?: string;
    urn?: string;
    flowName?: string;
    results: FlowResult[];
    fields: Record<string, string>;
}

/** The note the agent sees first in a new room: who the contact is and what the bot learned. */
export function formatHandoffSummary(input: HandoffSummaryInput): string {
    const lines: string[] = [];
    const who = [input.contactName, describeUrn(input.urn)].filter((part) => part).join(' · ');
    lines.push(`*RapidPro handoff*${input.flowName ? ` from the flow "${input.flowName}"` : ''}`);
    if (who) {
        lines.push(`Contact: ${who}`);
    }
    if (input.results.length > 0) {
        lines.push('', '*What the bot collected*');
        for (const result of input.results) {
            const category =
                result.category && result.category !== result.value && result.category !== 'All Responses' ? ` (${result.category})` : '';
            lines.push(`• ${result.name}: ${result.value || '—'}${category}`);
        }
    }
    const fieldKeys = Object.keys(input.fields);
    if (fieldKeys.length > 0) {
        lines.push('', '*Fields*');
        for (const key of fieldKeys) {
            lines.push(`• ${key}: ${input.fields[key]}`);
        }
    }
    return lines.join('\n');
}

export interface TranscriptMessage {
    direction?: string;
    text?: string;
    created_on?: string;
    attachments?: Array<{ content_type?: string; url?: string } | string>;
    /** The flow that sent it; null for a message sent through the API (the bridge: an agent's reply or a notice). */
    flow?: { uuid?: string; name?: string } | null;
}

/** Who wrote a message of the transcript. RapidPro versions that do not report `flow` leave every outgoing one to the bot. */
function authorOf(message: TranscriptMessage): string {
    if (message.direction === 'in') {
        return 'Contact';
    }
    return message.flow === null ? 'Via the bridge (an agent or a notice)' : 'Bot';
}

function timeOf(iso: string | undefined): string {
    if (!iso) {
        return '';
    }
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) {
        return '';
    }
    const pad = (n: number) => (n < 10 ? `0${n}` : String(n));
    const day = `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
    return `${day} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`;
}

/** RapidPro lists messages newest first; the agent reads them oldest first, as one block. */
export function formatTranscript(messages: TranscriptMessage[], limit = 30): string | undefined {
    const readable = messages
        .filter((message) => message.text?.trim() || (message.attachments && message.attachments.length > 0))
        .slice(0, limit)
        .reverse();
    if (readable.length === 0) {
        return undefined;
    }
    const lines = ['*Recent conversation with the bot*'];
    for (const message of readable) {
        const who = authorOf(message);
        const files = (message.attachments || [])
            .map((a) => (typeof a === 'string' ? a.replace(/^[^:]+\/[^:]+:/, '') : a.url || ''))
            .filter((u) => u);
        const text = [message.text ? message.text.trim() : '', ...files.map((url) => `[attachment] ${url}`)].filter((t) => t).join(' ');
        const when = timeOf(message.created_on);
        lines.push(`${when ? `[${when}] ` : ''}${who}: ${text}`);
    }
    return lines.join('\n');
}
