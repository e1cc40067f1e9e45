import { randomUUID } from 'node:crypto';
import {
    type FieldFn,
    isUuid,
    listField,
    manyField,
    normalizeUrn,
    normalizeUuid,
    validateChar,
    validateList,
    validateMany,
} from './fields';
import { attachmentFromString } from './support';
import type { SimAttachment, SimContact, SimMedia } from './types';
import { SimState } from './state';

/** Lookups of contacts (by URN, UUID or reference), flows, groups and media; attachment fields. */
export class SimLookups extends SimState {
    protected findContactByUrn(ref: string): SimContact | null {
        const urn = normalizeUrn(ref);
        if (!urn) return null;
        for (const c of this.contacts.values()) if (c.urns.includes(urn)) return c;
        return null;
    }

    /** contact by UUID or URN; in auto mode a new UUID becomes a contact (added to `pending`, committed on success) */
    protected lookupContact(ref: string | number | boolean, pending: Map<string, SimContact>): SimContact | null {
        if (typeof ref !== 'string') return null;
        if (isUuid(ref)) {
            const uuid = normalizeUuid(ref);
            const existing = this.contacts.get(uuid) ?? pending.get(uuid);
            if (existing) return existing;
            if (!this.autoContacts) return null;
            const c = this.makeContact({ uuid });
            pending.set(uuid, c);
            return c;
        }
        return this.findContactByUrn(ref);
    }

    protected commit(pending: Map<string, SimContact>): void {
        for (const c of pending.values()) if (!this.contacts.has(c.uuid)) this.contacts.set(c.uuid, c);
    }

    /** contact for a URN recipient: existing, or a new contact with that URN (as mailroom does) */
    protected contactForUrn(urn: string): SimContact {
        const existing = this.findContactByUrn(urn);
        if (existing) return existing;
        const c = this.makeContact({ uuid: randomUUID(), urns: [urn] });
        this.contacts.set(c.uuid, c);
        return c;
    }

    protected findFlow(ref: string | number | boolean): { uuid: string; name: string } | null {
        if (!isUuid(ref)) return null;
        const uuid = normalizeUuid(ref);
        const f = this.flows.get(uuid);
        if (f) return f;
        if (!this.autoFlows) return null;
        const created = { uuid, name: `Flow ${uuid.slice(0, 8)}` };
        this.flows.set(uuid, created);
        return created;
    }

    protected findGroup(ref: string | number | boolean): { uuid: string; name: string } | null {
        if (typeof ref !== 'string' || !ref) return null;
        if (isUuid(ref)) {
            const g = this.groups.get(normalizeUuid(ref));
            if (g) return g;
        }
        for (const g of this.groups.values()) if (g.name.toLowerCase() === ref.toLowerCase()) return g;
        if (!this.autoGroups) return null;
        const g = isUuid(ref) ? { uuid: normalizeUuid(ref), name: `Group ${ref.slice(0, 8)}` } : { uuid: randomUUID(), name: ref };
        this.groups.set(g.uuid, g);
        return g;
    }

    /** RapidPro's MediaField: a media UUID, or a `<content-type>:<url>` string whose URL contains the UUID */
    protected findMedia(ref: string | number | boolean): SimMedia | null {
        if (typeof ref !== 'string') return null;
        let uuid: string | null = null;
        if (isUuid(ref)) uuid = normalizeUuid(ref);
        else {
            const m = /^[^:/]+\/[^:]+:(.+)$/.exec(ref);
            const found = m ? /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.exec(m[1]) : null;
            if (found) uuid = found[0].toLowerCase();
        }
        return uuid ? (this.media.find((x) => x.uuid === uuid) ?? null) : null;
    }

    protected attachmentsField(): FieldFn {
        if (this.legacyAttachments) {
            return listField((v) => validateChar(v, { maxLength: 2048 }), { maxLength: 10 });
        }
        return manyField((ref) => this.findMedia(ref), { maxLength: 10 });
    }

    protected validateAttachmentList(v: unknown): Array<SimMedia | string> {
        if (this.legacyAttachments) return validateList(v, (x) => validateChar(x, { maxLength: 2048 }), { maxLength: 10 });
        return validateMany(v, (ref) => this.findMedia(ref), { maxLength: 10 });
    }

    protected attachmentJson(a: SimMedia | string): SimAttachment {
        return typeof a === 'string' ? attachmentFromString(a) : { content_type: a.content_type, url: a.url };
    }

    protected attachmentRef(a: SimMedia | string): string {
        return typeof a === 'string' ? a : a.uuid;
    }
}
