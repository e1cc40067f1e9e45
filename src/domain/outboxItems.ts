import type { RecordKind } from './records';

/** A file an agent sent, read from Rocket.Chat when its turn comes. */
export interface AgentFile {
    uploadId: string;
    name: string;
    contentType?: string;
    size?: number;
    /** Where an agent can open it; sent to the contact when RapidPro will not take the file. */
    link?: string;
}

/** One call to RapidPro, before it is written to the outbox. `summary` names it to the agent. */
export type OutboundDraft =
    | { kind: 'message'; text?: string; file?: AgentFile; summary: string }
    | { kind: 'contact_fields'; fields: Record<string, string | null>; summary: string }
    | { kind: 'flow_start'; flowUuid: string; params: Record<string, unknown>; summary: string };

/** A call in the outbox: stored before it is tried, removed once RapidPro took it (or it was given up). */
export type OutboxItem = OutboundDraft & {
    record: typeof RecordKind.OutboxItem;
    id: string;
    contactUuid: string;
    roomId?: string;
    /** Order per contact: strictly increasing in one instance, close to time across instances. */
    seq: number;
    createdAt: number;
    attempts: number;
    nextAttemptAt: number;
    /** The instance sending it, until when (see OutboxLeases). */
    leaseOwner?: string;
    leaseUntil?: number;
    /** Media uuid once the file reached RapidPro, so a retry does not upload it twice. */
    mediaUuid?: string;
    lastError?: string;
};

export type MessageItem = OutboxItem & { kind: 'message' };
