import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

/**
 * Everything the bridge keeps in app persistence: every association key (spelled here only), the
 * association array of each kind of record, and the tag that says what a record is.
 *
 * Rocket.Chat reads and removes by a SUBSET of a record's associations but updates by the EXACT
 * array (order included), and has no compare-and-set. So each kind of record has one fixed array,
 * built only by `associationsOf` below, for its whole life. The most selective key comes first
 * where a kind allows it (a MongoDB multikey index on `associations` looks an exact array up by its
 * first element): records kept since 0.1.0 keep the order they were written with.
 */

/**
 * The tag every record carries in its `record` field. (`kind` is not free for it: outbox items of
 * every version use `kind` for the call they hold, `message`, `contact_fields` or `flow_start`;
 * and `record: 'seen-messages'` is what 0.1.0 already wrote.)
 */
export const RecordKind = {
    Conversation: 'conversation',
    SeenMessages: 'seen-messages',
    OutboxItem: 'outbox-item',
    HandoffClaim: 'handoff-claim',
    VisitorTokenKey: 'visitor-token-key',
    SentEdit: 'sent-edit',
    ForwardLog: 'forward-log',
    /** A part RapidPro accepted: its uuid, to tell the agent if RapidPro later reports it failed. */
    SentLogEntry: 'sent-log',
    /** When the failure watcher last asked RapidPro, and where its last bounded walk stopped. */
    FailureWatch: 'failure-watch',
    /** An agent reply not sent because the contact's customer-care window had closed. */
    HeldReply: 'held-reply',
    DeliveryFailures: 'delivery-failures',
    RapidProProbe: 'rapidpro-probe',
    /** A RapidPro rate-limit scope answered 429: no instance calls it before `until`. */
    ScopePause: 'scope-pause',
} as const;

export type RecordKindValue = (typeof RecordKind)[keyof typeof RecordKind];

const KNOWN_KINDS: string[] = Object.keys(RecordKind).map((name) => RecordKind[name as keyof typeof RecordKind]);

function misc(key: string): RocketChatAssociationRecord {
    return new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, key);
}

/** Every association key of the app. */
export const Keys = {
    /** Conversation and seen message ids of a contact: one read finds both. */
    contact: (contactUuid: string) => misc(`conversation:contact:${contactUuid}`),
    /** Conversation and waiting outbox items of a room: one read finds both. */
    room: (roomId: string) => misc(`conversation:room:${roomId}`),
    seenMessages: (contactUuid: string) => misc(`seen-messages:${contactUuid}`),
    handoffClaims: (contactUuid: string) => misc(`handoff-claim:${contactUuid}`),
    handoffClaim: (nonce: string) => misc(`handoff-claim-nonce:${nonce}`),
    /** Corrections already sent for a contact's chat, removed when it closes. */
    sentEdits: (contactUuid: string) => misc(`edits:${contactUuid}`),
    sentEdit: (messageId: string, editedAt: number) => misc(`edit:${messageId}:${editedAt}`),
    /** Every outbox item (the periodic sweep). */
    outbox: () => misc('outbox'),
    contactOutbox: (contactUuid: string) => misc(`outbox:${contactUuid}`),
    outboxItem: (id: string) => misc(`outbox-item:${id}`),
    visitorTokenKey: () => misc('visitor-token-key'),
    /** Every room's forward log (the catch-up sweep), and one room's. */
    forwardLogs: () => misc('forward-logs'),
    forwardLog: (roomId: string) => misc(`forward-log:${roomId}`),
    /** Every sent-log entry (the failure watcher), and one by RapidPro's message uuid. */
    sentLog: () => misc('sent-log'),
    sentLogEntry: (uuid: string) => misc(`sent-log:${uuid}`),
    failureWatch: () => misc('failure-watch'),
    /** Every held reply (expiry), a contact's (release, close), one by id. */
    heldReplies: () => misc('held-replies'),
    contactHeld: (contactUuid: string) => misc(`held:${contactUuid}`),
    heldReply: (id: string) => misc(`held-reply:${id}`),
    /** Every hour's count of undelivered calls (the admin's `/rapidpro`). */
    deliveryFailures: () => misc('delivery-failures'),
    deliveryFailureHour: (hour: number) => misc(`delivery-failures:${hour}`),
    /** What the outbox's recovery probe last saw of RapidPro. */
    rapidProProbe: () => misc('rapidpro-probe'),
    scopePauses: () => misc('scope-pauses'),
    scopePause: (scope: string) => misc(`scope-pause:${scope}`),
} as const;

/** The one association array of each kind of record. */
export const associationsOf = {
    conversation: (c: { contactUuid: string; roomId: string }) => [Keys.contact(c.contactUuid), Keys.room(c.roomId)],
    seenMessages: (contactUuid: string) => [Keys.contact(contactUuid), Keys.seenMessages(contactUuid)],
    handoffClaim: (claim: { contactUuid: string; nonce: string }) => [
        Keys.handoffClaims(claim.contactUuid),
        Keys.handoffClaim(claim.nonce),
    ],
    sentEdit: (contactUuid: string, messageId: string, editedAt: number) => [
        Keys.sentEdits(contactUuid),
        Keys.sentEdit(messageId, editedAt),
    ],
    /** Found by contact (the drain), by id (leases) and by room (an agent message's one read). */
    outboxItem: (item: { id: string; contactUuid: string; roomId?: string }) => {
        const keys = [Keys.outbox(), Keys.contactOutbox(item.contactUuid), Keys.outboxItem(item.id)];
        return item.roomId ? keys.concat([Keys.room(item.roomId)]) : keys;
    },
    visitorTokenKey: () => [Keys.visitorTokenKey()],
    /** Found with the contact's outbox (the drain) and with the room's conversation (an agent message's one read). */
    forwardLog: (log: { contactUuid: string; roomId: string }) => [
        Keys.forwardLog(log.roomId),
        Keys.contactOutbox(log.contactUuid),
        Keys.room(log.roomId),
        Keys.forwardLogs(),
    ],
    sentLogEntry: (uuid: string) => [Keys.sentLogEntry(uuid), Keys.sentLog()],
    failureWatch: () => [Keys.failureWatch()],
    scopePause: (scope: string) => [Keys.scopePause(scope), Keys.scopePauses()],
    /** Also found with the contact's outbox: the drain's catch-up must not send a held reply. */
    heldReply: (held: { id: string; contactUuid: string }) => [
        Keys.heldReply(held.id),
        Keys.contactHeld(held.contactUuid),
        Keys.contactOutbox(held.contactUuid),
        Keys.heldReplies(),
    ],
    deliveryFailures: (hour: number) => [Keys.deliveryFailureHour(hour), Keys.deliveryFailures()],
    rapidProProbe: () => [Keys.rapidProProbe()],
} as const;

type Shape = Record<string, unknown>;

/**
 * What a stored record is. Records written by 0.1.0 carry no tag (its seen message ids excepted):
 * they are recognised by the shape 0.1.0 gave them, so an upgrade loses no open chat, no waiting
 * call and no claim. Several kinds share a key (a contact's conversation and seen ids; a room's
 * conversation and outbox items), so the shapes must tell them apart.
 */
export function recordKindOf(record: object | null | undefined): RecordKindValue | undefined {
    if (!record || typeof record !== 'object') {
        return undefined;
    }
    const tag = (record as Shape).record;
    if (tag !== undefined) {
        return typeof tag === 'string' && KNOWN_KINDS.indexOf(tag) >= 0 ? (tag as RecordKindValue) : undefined;
    }
    return legacyKindOf(record as Shape);
}

/** The untagged shapes of 0.1.0. */
function legacyKindOf(r: Shape): RecordKindValue | undefined {
    if (r.kind !== undefined) {
        // Only outbox items had a `kind` (the call they hold).
        return typeof r.kind === 'string' && typeof r.contactUuid === 'string' ? RecordKind.OutboxItem : undefined;
    }
    if (typeof r.roomId === 'string' && typeof r.openedAt === 'number') {
        return RecordKind.Conversation;
    }
    if (typeof r.nonce === 'string' && typeof r.contactUuid === 'string' && typeof r.at === 'number') {
        return RecordKind.HandoffClaim;
    }
    if (typeof r.key === 'string' && typeof r.at === 'number') {
        return RecordKind.VisitorTokenKey;
    }
    if (typeof r.messageId === 'string' && typeof r.at === 'number') {
        return RecordKind.SentEdit;
    }
    return undefined;
}

/** A filter for one kind of record, for reads that may also return others. */
export function isRecordOf<T>(kind: RecordKindValue): (record: object) => record is T & object {
    return (record: object): record is T & object => recordKindOf(record) === kind;
}
