import type { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { randomBytes } from 'crypto';

import { CLAIM_TTL_MS } from '../lib/limits';
import { associationsOf, isRecordOf, Keys, RecordKind } from './records';

/** A handoff in progress for a contact, so concurrent calls on other instances do not open a second room. */
export interface HandoffClaim {
    record: typeof RecordKind.HandoffClaim;
    contactUuid: string;
    nonce: string;
    at: number;
}

const isClaim = isRecordOf<HandoffClaim>(RecordKind.HandoffClaim);

/**
 * Inside one instance the contact's lock serializes handoffs. Across instances a handoff writes a
 * claim, reads the contact's claims back and goes ahead only when its own is the only live one.
 * With no compare-and-set, two handoffs at the very same moment may both see the other and both
 * step back (the flow retries): never two rooms. A claim left by a handoff that died half way
 * stops counting after CLAIM_TTL_MS.
 */
export class HandoffClaims {
    constructor(
        private readonly reader: IPersistenceRead,
        private readonly writer: IPersistence,
        private readonly now: () => number = Date.now,
    ) {}

    async stake(contactUuid: string): Promise<HandoffClaim> {
        const claim: HandoffClaim = {
            record: RecordKind.HandoffClaim,
            contactUuid,
            nonce: randomBytes(8).toString('hex'),
            at: this.now(),
        };
        await this.writer.createWithAssociations(claim, associationsOf.handoffClaim(claim));
        return claim;
    }

    /** Whether no other live claim of the contact is stored next to this one. */
    async isOnlyLive(claim: HandoffClaim): Promise<boolean> {
        const now = this.now();
        const claims = (await this.reader.readByAssociation(Keys.handoffClaims(claim.contactUuid))).filter(isClaim);
        return claims.every((other) => other.nonce === claim.nonce || now - other.at >= CLAIM_TTL_MS);
    }

    async release(claim: HandoffClaim): Promise<void> {
        await this.writer.removeByAssociations(associationsOf.handoffClaim(claim));
    }
}
