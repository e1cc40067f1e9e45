import type { IPersistence } from '@rocket.chat/apps-engine/definition/accessors';

import { associationsOf, isRecordOf, Keys, RecordKind } from './records';

/** Sent parts remembered per room: far more than can be sent between two reads of the log. */
export const FORWARD_LOG_KEPT = 300;

/**
 * What of a room's agent messages reached RapidPro. The instance that holds the contact's send
 * claim is the only one that writes it (see DeliveryQueue), so updates are never lost; the catch-up
 * (RoomCatchUp) compares the room's messages with it to find replies whose event never came.
 */
export interface ForwardLog {
    record: typeof RecordKind.ForwardLog;
    contactUuid: string;
    roomId: string;
    /** The contact's visitor in the room: their own messages are never sent back to them. */
    visitorId?: string;
    /** Messages created before this were written before the handover: never forwarded. */
    since: number;
    /** Creation time of the newest agent message sent. */
    mark: number;
    /** `messageId#part` of the parts sent, newest last. */
    sent: string[];
    /** The chat closed: nothing the room got after this is forwarded. */
    closedAt?: number;
}

export const isForwardLog = isRecordOf<ForwardLog>(RecordKind.ForwardLog);

export function partKey(messageId: string, part: number): string {
    return `${messageId}#${part}`;
}

export function newForwardLog(contactUuid: string, roomId: string, since: number, visitorId?: string): ForwardLog {
    return { record: RecordKind.ForwardLog, contactUuid, roomId, visitorId, since, mark: since, sent: [] };
}

/** Whether any part of the message was sent. */
export function hasSentAnyPart(log: ForwardLog, messageId: string): boolean {
    const prefix = `${messageId}#`;
    return log.sent.some((key) => key.startsWith(prefix));
}

/** The log after one more part was sent. */
export function withSentPart(log: ForwardLog, key: string, at: number | undefined): ForwardLog {
    const sent = log.sent.filter((other) => other !== key).concat([key]);
    return { ...log, sent: sent.slice(-FORWARD_LOG_KEPT), mark: at !== undefined ? Math.max(log.mark, at) : log.mark };
}

export const ForwardLogs = {
    /** Written once, when the bridge hands a room over (no other instance writes it before). */
    async create(persis: IPersistence, log: ForwardLog): Promise<void> {
        await persis.updateByAssociations(associationsOf.forwardLog(log), log, true);
    },
    /** Only by the holder of the contact's send claim. */
    async save(persis: IPersistence, log: ForwardLog): Promise<void> {
        await persis.updateByAssociations(associationsOf.forwardLog(log), log, true);
    },
    async remove(persis: IPersistence, roomId: string): Promise<void> {
        await persis.removeByAssociation(Keys.forwardLog(roomId));
    },
};
