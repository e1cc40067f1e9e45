import { randomUUID } from 'node:crypto';
import {
    charField,
    isLanguageCode,
    LANGUAGE_ERROR,
    listField,
    manyField,
    runSerializer,
    urnItem,
    validateChar,
    validateList,
    ValidationError,
} from './fields';
import { type Ctx, formatMicros, json, quickReplyItem, type Reply } from './support';
import type { QuickReply, SimBroadcast, SimContact, SimMedia } from './types';
import { SimMessages } from './messages';

/** /api/v2/broadcasts.json. */
export class SimBroadcasts extends SimMessages {
    protected postBroadcast(ctx: Ctx): Reply {
        const body = this.bodyDict(ctx);
        if ('error' in body) return body.error;
        const data = body.data;
        const pending = new Map<string, SimContact>();
        const r = runSerializer(data, {
            urns: listField(urnItem, { maxLength: 100 }),
            contacts: manyField((ref) => this.lookupContact(ref, pending), { maxLength: 100 }),
            groups: manyField((ref) => this.findGroup(ref), { maxLength: 100 }),
            text: this.translated((v) => validateChar(v, { maxLength: this.maxTextLength }), false),
            attachments: this.translated((v) => this.validateAttachmentList(v), true),
            quick_replies: this.translated((v) => validateList(v, quickReplyItem, { maxLength: 10 }), true),
            base_language: (present, value) => {
                const v = charField({ maxLength: 3 })(present, value);
                if (typeof v === 'string' && !isLanguageCode(v)) throw new ValidationError([LANGUAGE_ERROR]);
                return v;
            },
        });
        if (!r.ok) return json(400, r.errors);
        const text = r.values.text as Record<string, string> | undefined;
        const attachments = r.values.attachments as Record<string, Array<SimMedia | string>> | undefined;
        const quickReplies = r.values.quick_replies as Record<string, QuickReply[]> | undefined;
        const urns = (r.values.urns as string[] | null | undefined) ?? [];
        const contacts = (r.values.contacts as SimContact[] | null | undefined) ?? [];
        const groups = (r.values.groups as Array<{ uuid: string; name: string }> | null | undefined) ?? [];
        let baseLanguage = r.values.base_language as string | null | undefined;

        const nonEmpty = (d: Record<string, unknown> | undefined): boolean => !!d && Object.keys(d).length > 0;
        const nfe = (m: string): Reply => json(400, { non_field_errors: [m] });
        if (!(nonEmpty(text) || nonEmpty(attachments))) return nfe('Must provide either text or attachments.');
        if (!(urns.length || contacts.length || groups.length)) return nfe('Must provide either urns, contacts or groups.');
        if (baseLanguage) {
            if (!text || !(baseLanguage in text)) return nfe('No text translation provided in base language.');
            if (nonEmpty(attachments) && attachments && !(baseLanguage in attachments)) {
                return nfe('No attachment translations provided in base language.');
            }
            if (nonEmpty(quickReplies) && quickReplies && !(baseLanguage in quickReplies)) {
                return nfe('No quick_replies translations provided in base language.');
            }
        }

        this.commit(pending);
        const langs: string[] = [];
        for (const d of [text, attachments, quickReplies]) for (const k of Object.keys(d ?? {})) if (!langs.includes(k)) langs.push(k);
        if (!baseLanguage) baseLanguage = langs[0];

        const micros = this.tick();
        const id = this.nextId++;
        const bcast: SimBroadcast = {
            uuid: randomUUID(),
            id,
            status: 'pending',
            progress: { total: -1, started: 0 },
            urns,
            contacts: contacts.map((c) => ({ uuid: c.uuid, name: c.name })),
            groups: groups.map((g) => ({ uuid: g.uuid, name: g.name })),
            text: Object.fromEntries(langs.map((l) => [l, text && l in text ? text[l] : null])),
            attachments: Object.fromEntries(
                langs.map((l) => [
                    l,
                    (attachments?.[l] ?? []).map((a) => {
                        const j = this.attachmentJson(a);
                        return `${j.content_type}:${j.url}`;
                    }),
                ]),
            ),
            quick_replies: Object.fromEntries(langs.map((l) => [l, (quickReplies?.[l] ?? []).map((q) => ({ ...q }))])),
            base_language: baseLanguage,
            created_on: formatMicros(micros),
        };
        this.micros.set(bcast, micros);
        this.broadcasts.push(bcast);

        // recipients: contacts, URNs (contacts created as needed), members of groups
        const recipients: SimContact[] = [];
        const add = (c: SimContact): void => {
            if (!recipients.includes(c)) recipients.push(c);
        };
        contacts.forEach(add);
        urns.forEach((u) => {
            add(this.contactForUrn(u));
        });
        for (const g of groups) for (const c of this.contacts.values()) if (c.groups.some((x) => x.uuid === g.uuid)) add(c);

        for (const c of recipients) {
            const lang =
                c.language && this.languages.includes(c.language) && langs.includes(c.language)
                    ? c.language
                    : langs.includes(this.languages[0])
                      ? this.languages[0]
                      : baseLanguage;
            const t = text?.[lang] ?? '';
            const atts = attachments?.[lang] ?? [];
            const qrs = quickReplies?.[lang] ?? [];
            const msg = this.createOutgoing(c, t, atts, qrs, id);
            this.recordSent('broadcasts', c, msg.urn, t, atts, qrs, bcast.uuid);
        }
        return json(201, bcast);
    }

    protected listBroadcasts(ctx: Ctx): Reply {
        let items = [...this.broadcasts];
        if (ctx.query.uuid) items = items.filter((b) => b.uuid === ctx.query.uuid);
        items = this.beforeAfter(items, ctx.query);
        return this.page(ctx, this.newestFirst(items), (b) => b);
    }
}
