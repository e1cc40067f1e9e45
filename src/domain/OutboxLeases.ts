import type { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { randomBytes } from 'crypto';

import { LEASE_MS } from '../lib/limits';
import type { OutboxItem } from './outboxItems';
import type { OutboxStore } from './OutboxStore';

/**
 * Which instance sends an outbox item: before sending an item it did not create, an instance reads
 * it again, writes a lease on it (who, until when) and reads it back; the last writer wins. App
 * persistence has no compare-and-set, so this narrows the chance that two instances send the same
 * item to the moment between two writes, it does not close it. Items an instance creates to send
 * at once are leased to it from birth. A lease lost with a stopped instance expires after LEASE_MS.
 */
export class OutboxLeases {
    /** This instance (one app process); new at each start. */
    readonly owner = randomBytes(8).toString('hex');

    constructor(private readonly store: OutboxStore) {}

    /** A lease starting now, for items about to be sent by this instance. */
    fresh(now: number): { owner: string; until: number } {
        return { owner: this.owner, until: now + LEASE_MS };
    }

    isOwn(item: OutboxItem): boolean {
        return item.leaseOwner === this.owner;
    }

    /** Nobody holds the item (no lease, or an expired one). */
    static isFree(item: OutboxItem, now: number): boolean {
        return !item.leaseUntil || item.leaseUntil <= now;
    }

    /**
     * Leases the item to this instance. It is read again first (it may have been sent or leased
     * since the drain read it), then the lease is written and read back. On refusal `item.leaseUntil`
     * tells until when the holder has it.
     */
    async take(reader: IPersistenceRead, persis: IPersistence, item: OutboxItem, now: number): Promise<boolean> {
        const current = await this.store.byId(reader, item.id);
        if (!current || (current.leaseOwner && current.leaseOwner !== this.owner && (current.leaseUntil || 0) > now)) {
            if (current) {
                item.leaseUntil = current.leaseUntil;
            }
            return false;
        }
        Object.assign(item, current, { leaseOwner: this.owner, leaseUntil: now + LEASE_MS });
        await this.store.save(persis, item);
        const stored = await this.store.byId(reader, item.id);
        return !!stored && stored.leaseOwner === this.owner;
    }

    /** Gives back the items this instance holds, so another instance need not wait for the leases to expire. */
    async releaseOwn(persis: IPersistence, items: OutboxItem[]): Promise<void> {
        for (const item of items) {
            if (this.isOwn(item)) {
                await this.store.save(persis, { ...item, leaseOwner: undefined, leaseUntil: undefined });
            }
        }
    }
}
