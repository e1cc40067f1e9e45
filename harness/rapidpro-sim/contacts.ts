import { randomUUID } from 'node:crypto';
import {
    charField,
    dictField,
    isLanguageCode,
    isPlainObject,
    isUuid,
    listField,
    manyField,
    normalizeUrn,
    normalizeUuid,
    pyFloat,
    runSerializer,
    SKIP,
    urnItem,
    validateChar,
    ValidationError,
} from './fields';
import {
    cleanMediaFilename,
    type Ctx,
    detail,
    formatMicros,
    globMatch,
    json,
    MEDIA_CONTENT_TYPES,
    parseIsoMicros,
    type Reply,
    API_USER,
} from './support';
import type { SimContact, SimMedia } from './types';
import { SimBroadcasts } from './broadcasts';

/** /api/v2/media.json, /api/v2/contacts.json and the workspace endpoint. */
export class SimContacts extends SimBroadcasts {
    protected postMedia(ctx: Ctx): Reply {
        const b = ctx.body;
        const file = b.files.find((f) => f.field === 'file');
        const fieldError = (m: string): Reply => json(400, { file: [m] });
        if (!file) {
            const plain = isPlainObject(b.data) ? b.data : {};
            if ('file' in plain) return fieldError('The submitted data was not a file. Check the encoding type on the form.');
            return fieldError('No file was submitted.');
        }
        if (!file.filename) return fieldError('No filename could be determined.');
        if (file.size === 0) return fieldError('The submitted file is empty.');
        if (!MEDIA_CONTENT_TYPES.some((p) => globMatch(file.contentType, p))) return fieldError('Unsupported file type.');
        if (file.size > this.maxUploadBytes || file.bytes === null) {
            return fieldError(`Limit for file uploads is ${pyFloat(this.maxUploadBytes / (1024 * 1024))} MB.`);
        }
        const filename = cleanMediaFilename(file.filename, file.contentType);
        const contentType = filename.endsWith('.m4a') ? 'audio/mp4' : file.contentType;
        const uuid = randomUUID();
        const url = `${this.url}/media/orgs/1/media/${uuid.slice(0, 4)}/${uuid}/${encodeURIComponent(filename)}`;
        const media: SimMedia = {
            uuid,
            content_type: contentType,
            url,
            filename,
            size: file.size,
            originalFilename: file.filename,
            bytes: file.bytes,
            created_on: formatMicros(this.tick()),
        };
        this.media.push(media);
        return json(201, { uuid, content_type: contentType, url, filename, size: file.size });
    }

    protected contactJson(c: SimContact): Record<string, unknown> {
        const fields: Record<string, string | null> = {};
        for (const k of this.contactFields) fields[k] = c.fields[k] ?? null;
        return {
            uuid: c.uuid,
            name: c.name,
            status: c.status,
            language: c.language,
            urns: [...c.urns],
            groups: c.groups.map((g) => ({ uuid: g.uuid, name: g.name })),
            notes: c.notes.map((n) => ({ ...n })),
            fields,
            flow: c.flow,
            created_on: c.created_on,
            modified_on: c.modified_on,
            last_seen_on: c.last_seen_on,
            blocked: c.status === 'blocked',
            stopped: c.status === 'stopped',
        };
    }

    protected postContact(ctx: Ctx): Reply {
        const q = ctx.query;
        const lookups = ['urn', 'uuid'].filter((p) => p in q);
        if (lookups.length > 1) return detail(400, 'URL can only contain one of the following parameters: urn, uuid');
        let instance: SimContact | null = null;
        if ('uuid' in q) {
            const uuid = isUuid(q.uuid) ? normalizeUuid(q.uuid) : null;
            instance = uuid ? (this.contacts.get(uuid) ?? null) : null;
            if (!instance && uuid && this.autoContacts) instance = this.makeContact({ uuid });
            if (!instance) return detail(404, uuid ? 'No Contact matches the given query.' : 'Not found.');
        } else if ('urn' in q) {
            instance = this.findContactByUrn(q.urn);
        }
        const body = this.bodyDict(ctx);
        if ('error' in body) return body.error;
        const data = body.data;

        const known = new Set(this.contactFields);
        const r = runSerializer(data, {
            name: charField({ maxLength: 64, allowNull: true }),
            language: (present, value) => {
                const v = charField({ minLength: 3, maxLength: 3, allowNull: true })(present, value);
                if (typeof v === 'string' && v && !isLanguageCode(v)) throw new ValidationError(['Not a valid ISO639-3 language code.']);
                return v;
            },
            note: charField({ maxLength: 10000, allowBlank: true }),
            urns: (present, value) => {
                const v = listField(urnItem, { maxLength: 100 })(present, value);
                if (v !== SKIP && 'urn' in q) throw new ValidationError(['Field not allowed when using URN in URL']);
                return v;
            },
            groups: manyField((ref) => this.findGroup(ref), { maxLength: 100 }),
            fields: (present, value) => {
                const v = dictField((x) => (x === null ? null : validateChar(x, { allowBlank: true })), { maxLength: 100 })(present, value);
                if (v !== SKIP && v !== null) {
                    for (const key of Object.keys(v as Record<string, unknown>)) {
                        if (!known.has(key)) throw new ValidationError([`Invalid contact field key: ${key}`]);
                    }
                }
                return v;
            },
        });
        if (!r.ok) return json(400, r.errors);
        const v = r.values;

        const creating = instance === null;
        let urns = v.urns as string[] | null | undefined;
        if (creating && !urns && 'urn' in q) {
            const u = normalizeUrn(q.urn);
            if (!u) return json(400, { urns: { '0': [`Invalid URN: ${q.urn}. Ensure phone numbers contain country codes.`] } });
            urns = [u];
        }
        const c = instance ?? this.makeContact({ uuid: randomUUID(), urns: [] });
        if (urns) {
            const taken = urns.findIndex((u) => {
                const other = this.findContactByUrn(u);
                return other !== null && other.uuid !== c.uuid;
            });
            if (taken >= 0) return json(400, { urns: { [String(taken)]: ['URN is in use by another contact.'] } });
        }

        if ('name' in v) c.name = v.name as string | null;
        if ('language' in v) c.language = (v.language as string | null) || null;
        if (urns) c.urns = [...urns];
        if (v.groups) c.groups = (v.groups as Array<{ uuid: string; name: string }>).map((g) => ({ ...g }));
        if (v.fields) {
            for (const [k, val] of Object.entries(v.fields as Record<string, string | null>)) c.fields[k] = val === '' ? null : val;
        }
        if (typeof v.note === 'string' && v.note) {
            c.notes.push({ text: v.note, created_on: formatMicros(this.tick()), created_by: { ...API_USER } });
        }
        c.modified_on = formatMicros(this.tick());
        this.contacts.set(c.uuid, c);
        return json(creating ? 201 : 200, this.contactJson(c));
    }

    protected listContacts(ctx: Ctx): Reply {
        const q = ctx.query;
        let items = [...this.contacts.values()];
        if (q.uuid) {
            const uuid = isUuid(q.uuid) ? normalizeUuid(q.uuid) : null;
            if (uuid && !this.contacts.has(uuid) && this.autoContacts) this.addContact(uuid);
            items = uuid ? [...this.contacts.values()].filter((c) => c.uuid === uuid) : [];
        }
        if (q.urn) {
            const urn = normalizeUrn(q.urn);
            items = urn ? items.filter((c) => c.urns.includes(urn)) : [];
        }
        if (q.group) items = items.filter((c) => c.groups.some((g) => g.uuid === q.group || g.name === q.group));
        items = this.beforeAfter(items, q, 'modified_on');
        items.sort((a, b) => (parseIsoMicros(b.modified_on) ?? 0) - (parseIsoMicros(a.modified_on) ?? 0));
        return this.page(ctx, items, (c) => this.contactJson(c));
    }

    protected workspaceJson(): Record<string, unknown> {
        return {
            uuid: this.workspace.uuid,
            name: this.workspace.name,
            country: this.workspace.country,
            languages: [...this.languages],
            timezone: this.workspace.timezone,
            date_style: 'day_first',
            anon: false,
            credits: { used: -1, remaining: -1 },
            primary_language: this.languages[0],
        };
    }
}
