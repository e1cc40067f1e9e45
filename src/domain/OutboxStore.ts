import type { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { randomBytes } from 'crypto';

import type { OutboundDraft, OutboxItem } from './outboxItems';
import { associationsOf, isRecordOf, Keys, RecordKind } from './records';

const isOutboxItem = isRecordOf<OutboxItem>(RecordKind.OutboxItem);

/** A 0.1.0 item has no tag: it gets one, so whatever is written back carries it. */
function tagged(item: OutboxItem): OutboxItem {
    return item.record === RecordKind.OutboxItem ? item : { ...item, record: RecordKind.OutboxItem };
}

/**
 * The outbox's records in app persistence: every call to RapidPro is written here before it is
 * tried. Items are found by contact (in send order), by id and by room (see records.ts).
 */
export class OutboxStore {
    /** Last sequence number handed out: strictly increasing in this instance, close to time across instances. */
    private lastSeq = 0;

    constructor(private readonly now: () => number = Date.now) {}

    /** Writes the drafts as items, in order; `lease` marks them as being sent by an instance from birth. */
    async create(
        persis: IPersistence,
        contactUuid: string,
        roomId: string | undefined,
        drafts: OutboundDraft[],
        lease?: { owner: string; until: number },
    ): Promise<OutboxItem[]> {
        const now = this.now();
        const created: OutboxItem[] = [];
        for (const draft of drafts) {
            this.lastSeq = Math.max(this.lastSeq + 1, now * 1000);
            const seq = this.lastSeq;
            const item: OutboxItem = {
                ...draft,
                record: RecordKind.OutboxItem,
                id: `${seq}-${randomBytes(4).toString('hex')}`,
                contactUuid,
                roomId,
                seq,
                createdAt: now,
                attempts: 0,
                nextAttemptAt: now,
                leaseOwner: lease ? lease.owner : undefined,
                leaseUntil: lease ? lease.until : undefined,
            };
            await persis.createWithAssociations(item, associationsOf.outboxItem(item));
            created.push(item);
        }
        return created;
    }

    /** The contact's items in send order. */
    async ofContact(reader: IPersistenceRead, contactUuid: string): Promise<OutboxItem[]> {
        const records = await reader.readByAssociation(Keys.contactOutbox(contactUuid));
        return records
            .filter(isOutboxItem)
            .map(tagged)
            .sort((a, b) => a.seq - b.seq);
    }

    /** Whether any call of the contact waits (a new chat's messages must queue behind it). */
    async hasPending(reader: IPersistenceRead, contactUuid: string): Promise<boolean> {
        return (await reader.readByAssociation(Keys.contactOutbox(contactUuid))).length > 0;
    }

    async byId(reader: IPersistenceRead, id: string): Promise<OutboxItem | undefined> {
        const [item] = (await reader.readByAssociation(Keys.outboxItem(id))).filter(isOutboxItem);
        return item ? tagged(item) : undefined;
    }

    /** Every item of every contact (the periodic sweep). */
    async all(reader: IPersistenceRead): Promise<OutboxItem[]> {
        return (await reader.readByAssociation(Keys.outbox())).filter(isOutboxItem).map(tagged);
    }

    /** Writes the item's new state; a no-op when it was removed meanwhile (nothing is upserted). */
    async save(persis: IPersistence, item: OutboxItem): Promise<void> {
        await persis.updateByAssociations(associationsOf.outboxItem(item), tagged(item));
    }

    async remove(persis: IPersistence, item: OutboxItem): Promise<void> {
        await persis.removeByAssociations(associationsOf.outboxItem(item));
    }
}
