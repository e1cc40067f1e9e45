import type { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';

import type { OutboxItem } from './outboxItems';
import { OutboxStore } from './OutboxStore';
import { associationsOf, isRecordOf, Keys, RecordKind } from './records';

/** What waits in the outbox (all of it, or one room's). */
export interface OutboxView {
    count: number;
    oldestAt?: number;
    nextTryAt?: number;
    /** Why the next item to be tried failed last, if it did. */
    lastError?: string;
}

interface ProbeRecord {
    record: typeof RecordKind.RapidProProbe;
    down: boolean;
    at: number;
}

const isProbeRecord = isRecordOf<ProbeRecord>(RecordKind.RapidProProbe);

/**
 * Reads the outbox for the admin and brings waiting calls forward: `/rapidpro flush`, and the probe
 * that sends them as soon as RapidPro answers again instead of at their next backoff (up to 15 min).
 * Beside DeliveryQueue, not in it: it only reads items and moves `nextAttemptAt` of free ones.
 */
export class OutboxRecovery {
    private readonly store: OutboxStore;

    constructor(private readonly now: () => number = Date.now) {
        this.store = new OutboxStore(now);
    }

    async view(reader: IPersistenceRead, roomId?: string): Promise<OutboxView> {
        const items = (await this.store.all(reader)).filter((item) => roomId === undefined || item.roomId === roomId);
        if (items.length === 0) {
            return { count: 0 };
        }
        // A contact's calls go in order: its first one says when the contact's queue is tried next.
        const heads = new Map<string, OutboxItem>();
        for (const item of items) {
            const head = heads.get(item.contactUuid);
            if (!head || item.seq < head.seq) {
                heads.set(item.contactUuid, item);
            }
        }
        const next = [...heads.values()].reduce((a, b) => (b.nextAttemptAt < a.nextAttemptAt ? b : a));
        return {
            count: items.length,
            oldestAt: Math.min(...items.map((item) => item.createdAt)),
            nextTryAt: next.nextAttemptAt,
            lastError: next.lastError,
        };
    }

    /**
     * Items whose last try failed and that wait for a later one; not those RapidPro throttled (429):
     * they wait for their budget, and probing RapidPro would only spend more of it.
     */
    async waitingAfterFailure(reader: IPersistenceRead): Promise<OutboxItem[]> {
        const now = this.now();
        return (await this.store.all(reader)).filter((item) => item.attempts > 0 && item.nextAttemptAt > now && !item.throttled);
    }

    /**
     * Makes the waiting items (of one room, or all) due now. Each is read again just before, and the
     * write never brings back an item sent meanwhile (no upsert); a sender that retries it at the same
     * moment may put its next try back later, which only delays it. Answers the contacts to drain.
     */
    async makeDue(reader: IPersistenceRead, persis: IPersistence, roomId?: string): Promise<{ items: number; contacts: string[] }> {
        const now = this.now();
        const waiting = (await this.store.all(reader)).filter(
            (item) => item.nextAttemptAt > now && (roomId === undefined || item.roomId === roomId),
        );
        const contacts = new Set<string>();
        let moved = 0;
        for (const stale of waiting) {
            const item = await this.store.byId(reader, stale.id);
            if (!item || item.nextAttemptAt <= now) {
                continue;
            }
            await this.store.save(persis, { ...item, nextAttemptAt: now });
            contacts.add(item.contactUuid);
            moved++;
        }
        return { items: moved, contacts: [...contacts] };
    }

    /** Whether the probe last found RapidPro down (kept in persistence: the job may run on any instance). */
    async probeSawDown(reader: IPersistenceRead): Promise<boolean> {
        const [record] = (await reader.readByAssociation(Keys.rapidProProbe())).filter(isProbeRecord);
        return !!record?.down;
    }

    async rememberProbe(persis: IPersistence, down: boolean): Promise<void> {
        const record: ProbeRecord = { record: RecordKind.RapidProProbe, down, at: this.now() };
        await persis.updateByAssociations(associationsOf.rapidProProbe(), record, true);
    }
}
