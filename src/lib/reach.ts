/**
 * What reached the contact: the customer-care window of channels like WhatsApp, and the notes the
 * agent reads about replies held, released, given up or failed. Pure: no engine accessors.
 */

export const DEFAULT_WINDOW_HOURS = 24;
export const DEFAULT_WINDOW_SCHEMES = 'whatsapp,facebook,instagram';

/**
 * The bridge learns of a contact's message when RapidPro's webhook arrives, a little after the
 * contact wrote it: the window is taken to close this much earlier, so a reply sent at its very
 * end is held rather than refused by the channel.
 */
export const WINDOW_MARGIN_MS = 2 * 60 * 1000;

const SCHEME_NAMES: Record<string, string> = {
    whatsapp: 'WhatsApp',
    facebook: 'Facebook',
    instagram: 'Instagram',
    telegram: 'Telegram',
    tel: 'SMS',
    viber: 'Viber',
};

/** `whatsapp:5511...` → `whatsapp`; undefined when the URN has no scheme. */
export function urnScheme(urn: string | undefined): string | undefined {
    if (!urn) {
        return undefined;
    }
    const match = /^([a-z][a-z0-9-]*):/i.exec(urn.trim());
    return match ? match[1].toLowerCase() : undefined;
}

/** The window_schemes setting (`whatsapp, Facebook ,instagram`) as lower-case schemes. */
export function parseSchemes(text: string): string[] {
    return text
        .split(/[\s,;]+/)
        .map((scheme) => scheme.trim().toLowerCase().replace(/:$/, ''))
        .filter((scheme) => scheme.length > 0);
}

export function channelName(scheme: string | undefined): string {
    return scheme ? SCHEME_NAMES[scheme] || scheme : 'the channel';
}

export interface WindowRule {
    /** 0: the bridge never holds a reply. */
    windowMs: number;
    schemes: string[];
}

export interface ContactWindow {
    scheme?: string;
    /** When the contact last wrote (as far as the bridge knows). */
    lastInboundAt?: number;
}

/** Whether the contact's channel has a customer-care window at all. */
export function hasWindow(contact: ContactWindow, rule: WindowRule): boolean {
    return rule.windowMs > 0 && !!contact.scheme && rule.schemes.indexOf(contact.scheme) >= 0;
}

/** When the window closes (with the margin), or undefined when there is none to watch. */
export function windowClosesAt(contact: ContactWindow, rule: WindowRule): number | undefined {
    if (!hasWindow(contact, rule) || contact.lastInboundAt === undefined) {
        return undefined; // not known when the contact wrote: nothing to hold on
    }
    return contact.lastInboundAt + rule.windowMs - Math.min(WINDOW_MARGIN_MS, rule.windowMs / 10);
}

export function isWindowClosed(contact: ContactWindow, rule: WindowRule, now: number): boolean {
    const closesAt = windowClosesAt(contact, rule);
    return closesAt !== undefined && now >= closesAt;
}

/** `"Hello, how are..."`: the start of a text, on one line, for a note. */
export function quoteStart(text: string | undefined, max = 60): string {
    const flat = (text || '').replace(/\s+/g, ' ').trim();
    if (!flat) {
        return '(no text)';
    }
    const chars = Array.from(flat); // never cut an emoji in half
    return chars.length > max ? `"${chars.slice(0, max - 1).join('')}…"` : `"${flat}"`;
}

function hoursText(ms: number): string {
    const hours = ms / 3600000;
    if (hours >= 1) {
        return `${Math.round(hours)} h`;
    }
    return `${Math.max(1, Math.round(ms / 60000))} min`;
}

/** The agent's note when a held period starts (once, not for every reply). */
export function heldNote(options: { scheme?: string; sinceInboundMs?: number; windowMs: number; flowStarted: boolean }): string {
    const channel = channelName(options.scheme);
    const since = options.sinceInboundMs !== undefined ? ` (the contact last wrote ${hoursText(options.sinceInboundMs)} ago)` : '';
    const lines = [
        `Not sent yet: ${channel} takes replies only within ${hoursText(options.windowMs)} of the contact's last message${since}.`,
        'Your reply is kept, with any you write next, and they go out in order as soon as the contact writes again.',
    ];
    lines.push(
        options.flowStarted
            ? 'The re-engagement flow is being started to invite the contact to write.'
            : 'No re-engagement flow is set (reengage_flow_uuid), so the contact is not invited to write.',
    );
    return lines.join(' ');
}

export function releasedNote(count: number): string {
    return count === 1
        ? 'The contact wrote again: the held reply went out to them.'
        : `The contact wrote again: the ${count} held replies went out to them, in order.`;
}

export function heldExpiredNote(text: string | undefined, waitedMs: number): string {
    return (
        `Not delivered: this reply waited ${hoursText(waitedMs)} for the contact to write again ` +
        `(retry_max_age_hours) and was given up: ${quoteStart(text)}`
    );
}

export function closedWithHeldNote(texts: Array<string | undefined>): string {
    const count = texts.length;
    const head =
        count === 1
            ? 'The chat closed with a reply not delivered (held: the contact had not written again):'
            : `The chat closed with ${count} replies not delivered (held: the contact had not written again):`;
    return [head].concat(texts.map((text) => `- ${quoteStart(text)}`)).join('\n');
}

/** Why a message failed, when the bridge can tell: it was sent after the contact's window closed. */
export function failedNote(text: string | undefined, options: { windowClosed: boolean; scheme?: string }): string {
    const why = options.windowClosed
        ? ` — most likely because ${channelName(options.scheme)}'s window had closed (the contact had not written recently)`
        : '';
    return `RapidPro reports this message as failed; it did not reach the contact${why}: ${quoteStart(text)}`;
}
