import type { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { randomBytes } from 'crypto';

import type { OutboundDraft, OutboxItem } from './outboxItems';
import { associationsOf, isRecordOf, Keys, RecordKind } from './records';

export const isOutboxItem = isRecordOf<OutboxItem>(RecordKind.OutboxItem);

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

    /**
     * Writes the drafts as items, in order. A draft's `at` (when it happened) orders it among the
     * contact's calls of every instance; without one, the time it is written here does.
     */
    async create(persis: IPersistence, contactUuid: string, roomId: string | undefined, drafts: OutboundDraft[]): Promise<OutboxItem[]> {
        const now = this.now();
        const created: OutboxItem[] = [];
        let index = 0;
        for (const draft of drafts) {
            let seq: number;
            if (draft.at !== undefined) {
                // An agent message's parts share its time (inSendOrder orders them); other calls of the
                // same moment (a close's) come after whatever agent message shares it.
                seq = draft.at * 1000 + (draft.source ? 0 : 500 + Math.min(index, 499));
            } else {
                this.lastSeq = Math.max(this.lastSeq + 1, now * 1000);
                seq = this.lastSeq;
            }
            index++;
            const item = {
                ...draft,
                record: RecordKind.OutboxItem,
                id: `${seq}-${randomBytes(4).toString('hex')}`,
                contactUuid,
                roomId,
                seq,
                createdAt: now,
                attempts: 0,
                nextAttemptAt: now,
            } as OutboxItem;
            await persis.createWithAssociations(item, associationsOf.outboxItem(item));
            created.push(item);
        }
        return created;
    }

    /**
     * Send order: by `seq`; for agent messages of the same millisecond, as the room shows them
     * (`roomOrder`: message id to position, when the room was read); then by part (a message of
     * 1,000 parts and more); then by id (two instances, one time).
     */
    static inSendOrder(items: OutboxItem[], roomOrder?: Map<string, number>): OutboxItem[] {
        const part = (item: OutboxItem) => (item.source ? item.source.part : 0);
        const position = (item: OutboxItem) => {
            const found = item.source && roomOrder ? roomOrder.get(item.source.messageId) : undefined;
            return found === undefined ? -1 : found;
        };
        return items
            .map(tagged)
            .sort((a, b) => a.seq - b.seq || position(a) - position(b) || part(a) - part(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    }

    /** The contact's items in send order. */
    async ofContact(reader: IPersistenceRead, contactUuid: string): Promise<OutboxItem[]> {
        const records = await reader.readByAssociation(Keys.contactOutbox(contactUuid));
        return OutboxStore.inSendOrder(records.filter(isOutboxItem));
    }

    /** Whether any call of the contact waits (a new chat's messages must queue behind it). */
    async hasPending(reader: IPersistenceRead, contactUuid: string): Promise<boolean> {
        // The key also finds the contact's send claims and forward logs.
        return (await reader.readByAssociation(Keys.contactOutbox(contactUuid))).some(isOutboxItem);
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
