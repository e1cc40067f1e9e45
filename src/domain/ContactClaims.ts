import type { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import type { RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';
import { randomBytes } from 'crypto';

import { CLAIM_TTL_MS } from '../lib/limits';
import { isRecordOf, Keys, RecordKind } from './records';

/**
 * What a claim reserves for one contact across instances: `inbound` (a handoff or a contact message
 * is being written into the room) or `send` (the contact's outbox is being sent to RapidPro).
 */
export type ClaimPurpose = 'inbound' | 'send';

export interface ContactClaim {
    record: typeof RecordKind.HandoffClaim;
    contactUuid: string;
    /** Absent on 0.1.0's handoff claims, which count as `inbound`. */
    purpose?: ClaimPurpose;
    nonce: string;
    at: number;
}

const isClaim = isRecordOf<ContactClaim>(RecordKind.HandoffClaim);

/**
 * Claims are stored next to what they guard, so the read that finds the work also finds the claims:
 * `send` beside the contact's outbox, `inbound` beside the contact's conversation and seen ids.
 */
export function keyBesideClaims(contactUuid: string, purpose: ClaimPurpose): RocketChatAssociationRecord {
    return purpose === 'send' ? Keys.contactOutbox(contactUuid) : Keys.contact(contactUuid);
}

function associationsOfClaim(claim: ContactClaim): RocketChatAssociationRecord[] {
    return [
        Keys.handoffClaims(claim.contactUuid),
        keyBesideClaims(claim.contactUuid, claim.purpose || 'inbound'),
        Keys.handoffClaim(claim.nonce),
    ];
}

/** A claim that went ahead, and what the read that confirmed it found beside it (the conversation, the outbox). */
export interface HeldClaim {
    claim: ContactClaim;
    records: object[];
}

/** Whether `own` is the only live claim of its purpose among `records` (any records read by a key). */
export function isOnlyLiveClaim(own: ContactClaim, records: object[], now: number): boolean {
    return records
        .filter(isClaim)
        .filter((other) => (other.purpose || 'inbound') === own.purpose)
        .every((other) => other.nonce === own.nonce || now - other.at >= CLAIM_TTL_MS);
}

/**
 * Mutual exclusion across instances without compare-and-set. Each contender writes its own claim
 * (a new record: nothing is overwritten), then reads the contact's claims back, and goes ahead
 * only when its claim is the only live one. Of two contenders the later reader always sees the
 * earlier writer, so two never both go ahead; both may step back, and then retry after a random
 * pause. A claim left by a stopped instance stops counting after CLAIM_TTL_MS, so whoever holds
 * a claim finishes its work well inside that time.
 */
export class ContactClaims {
    constructor(
        private readonly reader: IPersistenceRead,
        private readonly writer: IPersistence,
        private readonly now: () => number = Date.now,
    ) {}

    async stake(contactUuid: string, purpose: ClaimPurpose): Promise<ContactClaim> {
        const claim: ContactClaim = {
            record: RecordKind.HandoffClaim,
            contactUuid,
            purpose,
            nonce: randomBytes(8).toString('hex'),
            at: this.now(),
        };
        await this.writer.createWithAssociations(claim, associationsOfClaim(claim));
        return claim;
    }

    /**
     * Reads the key the claim is stored beside: whether no other live claim of its purpose is there,
     * and what the read found (for `inbound`, the conversation and seen ids too). 0.1.0 stored its
     * handoff claims under the claims key only: while an upgrade rolls over a cluster, such a claim
     * goes unseen here (README, "Upgrade").
     */
    async check(claim: ContactClaim): Promise<{ onlyLive: boolean; records: object[] }> {
        const records = await this.reader.readByAssociation(keyBesideClaims(claim.contactUuid, claim.purpose || 'inbound'));
        return { onlyLive: isOnlyLiveClaim(claim, records, this.now()), records };
    }

    async release(claim: ContactClaim): Promise<void> {
        await this.writer.removeByAssociation(Keys.handoffClaim(claim.nonce));
    }

    /**
     * Stakes a claim and waits until it is the only live one: between tries the claim is withdrawn
     * and a random pause (growing) lets the other contender finish. Answers undefined when
     * `deadline` passes first; otherwise the claim with what its confirming read found (see `check`),
     * so the caller needs no other read.
     */
    async acquire(contactUuid: string, purpose: ClaimPurpose, deadline: number): Promise<HeldClaim | undefined> {
        for (let attempt = 1; ; attempt++) {
            const claim = await this.stake(contactUuid, purpose);
            const { onlyLive, records } = await this.check(claim);
            if (onlyLive) {
                return { claim, records };
            }
            await this.release(claim);
            const pause = Math.min(1000, 25 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random());
            if (this.now() + pause > deadline) {
                return undefined;
            }
            await sleep(pause);
        }
    }
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}
