import { randomUUID } from 'node:crypto';
import {
    charField,
    type FieldFn,
    isUuid,
    listField,
    normalizeUuid,
    relatedField,
    runSerializer,
    SKIP,
    validateDict,
    ValidationError,
} from './fields';
import { type Ctx, detail, formatMicros, json, languageKeyErrors, parseIsoMicros, quickReplyItem, type Reply, CHANNEL } from './support';
import type { QuickReply, SimContact, SimMedia, SimMessage } from './types';
import { SimFaults } from './faults';

/** POST and GET /api/v2/messages.json (sending, listing, paging). */
export class SimMessages extends SimFaults {
    protected postMessage(ctx: Ctx): Reply {
        const body = this.bodyDict(ctx);
        if ('error' in body) return body.error;
        const data = body.data;
        const pending = new Map<string, SimContact>();
        const r = runSerializer(data, {
            contact: relatedField((ref) => this.lookupContact(ref, pending), { required: true }),
            text: charField({ maxLength: this.maxTextLength }),
            attachments: this.attachmentsField(),
            quick_replies: listField(quickReplyItem, { maxLength: 10 }),
        });
        if (!r.ok) return json(400, r.errors);
        const contact = r.values.contact as SimContact;
        const text = (r.values.text as string | null | undefined) ?? '';
        const attachments = (r.values.attachments as Array<SimMedia | string> | null | undefined) ?? [];
        const quickReplies = (r.values.quick_replies as QuickReply[] | null | undefined) ?? [];
        if (!(text || attachments.length)) return json(400, { non_field_errors: ['Must provide either text or attachments.'] });

        this.commit(pending);
        const msg = this.createOutgoing(contact, text, attachments, quickReplies, null);
        this.recordSent('messages', contact, msg.urn, text, attachments, quickReplies, msg.uuid);
        return json(201, msg);
    }

    protected createOutgoing(
        contact: SimContact,
        text: string,
        attachments: Array<SimMedia | string>,
        quickReplies: QuickReply[],
        broadcastId: number | null,
    ): SimMessage {
        const micros = this.tick();
        const at = formatMicros(micros);
        const atts = attachments.map((a) => this.attachmentJson(a));
        const msg: SimMessage = {
            uuid: randomUUID(),
            id: this.nextId++,
            contact: { uuid: contact.uuid, name: contact.name },
            urn: contact.urns[0] ?? null,
            channel: { ...CHANNEL },
            direction: 'out',
            type: 'text',
            status: 'queued',
            archived: false,
            visibility: 'visible',
            text,
            labels: [],
            flow: null,
            attachments: atts,
            quick_replies: quickReplies.map((q) => ({ ...q })),
            created_on: at,
            sent_on: null,
            modified_on: at,
            media: atts.length ? `${atts[0].content_type}:${atts[0].url}` : null,
            broadcast: broadcastId,
        };
        this.micros.set(msg, micros);
        this.messages.push(msg);
        this.decideOutcome(msg, contact);
        return msg;
    }

    /**
     * What the channel later makes of an accepted message: a contact whose window is closed on a windowed channel
     * (WhatsApp refuses it), or a failure asked for, turns it `failed` a little after the 201 (RapidPro answers
     * `queued` at once; the channel's verdict comes later). Others stay `queued`.
     */
    protected decideOutcome(msg: SimMessage, contact: SimContact): void {
        const scheme = (msg.urn ?? '').split(':')[0].toLowerCase();
        const windowShut = this.closedWindows.has(contact.uuid) && this.windowSchemes.includes(scheme);
        const forced = this.failNextCount > 0;
        if (forced) this.failNextCount--;
        if (!windowShut && !forced) return;
        const timer = setTimeout(() => {
            this.statusTimers.delete(timer);
            this.markFailed(msg);
        }, this.failDelayMs);
        this.statusTimers.add(timer);
    }

    protected markFailed(msg: SimMessage): void {
        msg.status = 'failed';
        msg.modified_on = formatMicros(this.tick());
        this.notify();
    }

    closeWindow(contactUuid: string, urn?: string): void {
        const uuid = normalizeUuid(contactUuid);
        const contact = this.contacts.get(uuid) ?? this.addContact(urn ? { uuid, urns: [urn] } : uuid);
        if (urn) contact.urns = [urn];
        this.closedWindows.add(uuid);
    }

    openWindow(contactUuid: string): void {
        this.closedWindows.delete(normalizeUuid(contactUuid));
    }

    failMessage(uuid: string): boolean {
        const msg = this.messages.find((m) => m.uuid === uuid && m.direction === 'out');
        if (!msg) return false;
        this.markFailed(msg);
        return true;
    }

    failNextMessages(n = 1): void {
        this.failNextCount += Math.max(0, n);
    }

    requestCounts(): Record<string, number> {
        const counts: Record<string, number> = {};
        for (const r of this.requests) {
            const endpoint = r.path.replace(/^\/api\/v2\//, '').replace(/\.json\/?$/, '');
            const key = `${r.method} ${endpoint}`;
            counts[key] = (counts[key] ?? 0) + 1;
        }
        return counts;
    }

    protected recordSent(
        via: 'messages' | 'broadcasts',
        contact: SimContact | null,
        urn: string | null,
        text: string,
        attachments: Array<SimMedia | string>,
        quickReplies: QuickReply[],
        uuid: string,
    ): void {
        this.sent.push({
            seq: ++this.sentSeq,
            via,
            contact: contact ? contact.uuid : null,
            urn,
            text,
            attachments: attachments.map((a) => this.attachmentRef(a)),
            quickReplies: quickReplies.map((q) => ({ ...q })),
            uuid,
            time: Date.now(),
        });
    }

    protected listMessages(ctx: Ctx): Reply {
        const q = ctx.query;
        const exclusive = ['contact', 'folder', 'label', 'broadcast'];
        if (exclusive.filter((p) => q[p]).length > 1) {
            return detail(400, `You may only specify one of the ${exclusive.join(', ')} parameters`);
        }
        let items = this.messages.filter((m) => m.visibility === 'visible' || m.visibility === 'archived');
        if (q.folder) {
            const folder = q.folder.toLowerCase();
            const byFolder: Record<string, (m: SimMessage) => boolean> = {
                inbox: (m) => m.direction === 'in' && m.flow === null,
                flows: (m) => m.direction === 'in' && m.flow !== null,
                archived: (m) => m.visibility === 'archived',
                outbox: (m) => m.direction === 'out' && (m.status === 'queued' || m.status === 'errored'),
                sent: (m) => m.direction === 'out' && ['wired', 'sent', 'delivered', 'read'].includes(m.status),
                failed: (m) => m.direction === 'out' && m.status === 'failed',
            };
            const f = byFolder[folder];
            items = f ? items.filter(f) : [];
        }
        if (q.uuid) items = isUuid(q.uuid) ? items.filter((m) => m.uuid === normalizeUuid(q.uuid)) : [];
        if (q.id) {
            if (!/^-?\d+$/.test(q.id)) return detail(400, 'Value for id must be an integer');
            items = items.filter((m) => m.id === parseInt(q.id, 10));
        }
        if (q.broadcast) items = items.filter((m) => String(m.broadcast) === q.broadcast);
        if (q.contact) {
            const uuid = isUuid(q.contact) ? normalizeUuid(q.contact) : null;
            items = uuid && this.contacts.has(uuid) ? items.filter((m) => m.contact.uuid === uuid) : [];
        }
        if (q.label) items = [];
        items = this.beforeAfter(items, q);
        return this.page(ctx, this.newestFirst(items), (m) => this.messageJson(m));
    }

    protected messageJson(m: SimMessage): SimMessage {
        const c = this.contacts.get(m.contact.uuid);
        return { ...m, contact: { uuid: m.contact.uuid, name: c ? c.name : m.contact.name } };
    }

    protected timeOf(x: object, iso: string): number {
        return this.micros.get(x) ?? parseIsoMicros(iso) ?? 0;
    }

    protected newestFirst<T extends { id: number; created_on: string }>(items: T[]): T[] {
        return [...items].sort((a, b) => this.timeOf(b, b.created_on) - this.timeOf(a, a.created_on) || b.id - a.id);
    }

    /** RapidPro's filter_before_after: inclusive bounds; an unparseable time gives an empty list */
    protected beforeAfter<T extends object>(
        items: T[],
        q: Record<string, string>,
        field: 'created_on' | 'modified_on' = 'created_on',
    ): T[] {
        let out = items;
        const time = (x: T): number => {
            const iso = (x as unknown as Record<string, string>)[field];
            return field === 'created_on' ? this.timeOf(x, iso) : (parseIsoMicros(iso) ?? 0);
        };
        if (q.before) {
            const b = parseIsoMicros(q.before);
            out = b === null ? [] : out.filter((x) => time(x) <= b);
        }
        if (q.after) {
            const a = parseIsoMicros(q.after);
            out = a === null ? [] : out.filter((x) => time(x) >= a);
        }
        return out;
    }

    /** cursor paging shaped like DRF's CursorPagination: {next, previous, results} */
    protected page<T>(ctx: Ctx, items: T[], serialize: (t: T) => unknown): Reply {
        let offset = 0;
        if (ctx.query.cursor) {
            const decoded = Buffer.from(ctx.query.cursor, 'base64').toString('utf8');
            const m = /^o=(\d+)$/.exec(decoded);
            if (!m) return detail(404, 'Invalid cursor');
            offset = parseInt(m[1], 10);
        }
        const results = items.slice(offset, offset + this.pageSize).map(serialize);
        const link = (o: number): string => {
            const params = new URLSearchParams(ctx.query);
            params.delete('cursor');
            if (o > 0) params.set('cursor', Buffer.from(`o=${o}`, 'utf8').toString('base64'));
            const qs = params.toString();
            return `${this.url}${ctx.path}${qs ? `?${qs}` : ''}`;
        };
        return json(200, {
            next: offset + this.pageSize < items.length ? link(offset + this.pageSize) : null,
            previous: offset > 0 ? link(Math.max(0, offset - this.pageSize)) : null,
            results,
        });
    }

    protected translated<T>(item: (v: unknown) => T, isList: boolean): FieldFn {
        const lang0 = this.languages[0];
        return (present, value) => {
            if (!present || value === undefined) return SKIP;
            if (value === null) throw new ValidationError(['This field may not be null.']);
            let v = value;
            if (isList ? Array.isArray(v) : typeof v === 'string') v = { [lang0]: v };
            return validateDict(v, (x) => item(x), { allowEmpty: false, maxLength: 50, validateKeys: languageKeyErrors });
        };
    }
}
