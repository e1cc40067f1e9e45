import type { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { randomBytes } from 'crypto';

import type { OutboundDraft } from './outboxItems';
import { associationsOf, isRecordOf, Keys, RecordKind } from './records';

/**
 * An agent reply kept back because the contact's customer-care window had closed: the calls it
 * would have made, in order, until the contact writes again. Kept apart from the outbox: nothing
 * here is due until then.
 */
export interface HeldReply {
    record: typeof RecordKind.HeldReply;
    id: string;
    contactUuid: string;
    roomId: string;
    /** Order among the contact's held replies. */
    seq: number;
    heldAt: number;
    drafts: OutboundDraft[];
    /** What the agent wrote, to quote in notes. */
    text: string;
}

export const isHeld = isRecordOf<HeldReply>(RecordKind.HeldReply);

/** Held replies in app persistence: by contact (release, close), all together (expiry), by id. */
export class HeldReplies {
    private lastSeq = 0;

    constructor(private readonly now: () => number = Date.now) {}

    async hold(
        persis: IPersistence,
        reply: { contactUuid: string; roomId: string; drafts: OutboundDraft[]; text: string },
    ): Promise<HeldReply> {
        const now = this.now();
        this.lastSeq = Math.max(this.lastSeq + 1, now * 1000);
        const held: HeldReply = {
            record: RecordKind.HeldReply,
            id: `${this.lastSeq}-${randomBytes(4).toString('hex')}`,
            seq: this.lastSeq,
            heldAt: now,
            ...reply,
        };
        await persis.createWithAssociations(held, associationsOf.heldReply(held));
        return held;
    }

    /** The contact's held replies, oldest first. */
    async ofContact(reader: IPersistenceRead, contactUuid: string): Promise<HeldReply[]> {
        const records = await reader.readByAssociation(Keys.contactHeld(contactUuid));
        return records.filter(isHeld).sort((a, b) => a.seq - b.seq);
    }

    async all(reader: IPersistenceRead): Promise<HeldReply[]> {
        return (await reader.readByAssociation(Keys.heldReplies())).filter(isHeld);
    }

    async remove(persis: IPersistence, held: HeldReply): Promise<void> {
        await persis.removeByAssociations(associationsOf.heldReply(held));
    }
}
