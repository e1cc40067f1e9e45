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

/** Where a call comes from, when it carries (part of) an agent's message in a room. */
export interface DraftSource {
    messageId: string;
    /** Which part of the message (a long text is split; files follow), and how many there are. */
    part: number;
    parts: number;
}

/** What every draft may say besides its call. */
interface DraftCommon {
    summary: string;
    /** When it happened (an agent message's creation, a close): orders the contact's calls across instances. */
    at?: number;
    source?: DraftSource;
}

/**
 * One call to RapidPro, before it is written to the outbox. `summary` names it to the agent.
 * `room_closed` calls nothing: it marks where a closed room's messages end (see DeliveryQueue).
 * `forgo` calls nothing either: (a part of) an agent message that will never be sent (a held reply
 * given up), written down in the room's forward log so the catch-up does not send it after all.
 */
export type OutboundDraft = DraftCommon &
    (
        | { kind: 'message'; text?: string; file?: AgentFile }
        | { kind: 'contact_fields'; fields: Record<string, string | null> }
        | { kind: 'flow_start'; flowUuid: string; params: Record<string, unknown> }
        | { kind: 'room_closed'; closedAt: number }
        | { kind: 'forgo' }
    );

/** A call in the outbox: stored before it is tried, removed once RapidPro took it (or it was given up). */
export type OutboxItem = OutboundDraft & {
    record: typeof RecordKind.OutboxItem;
    id: string;
    contactUuid: string;
    roomId?: string;
    /** Order per contact: from `at` when given (an agent message: its creation in the room), else creation here. */
    seq: number;
    createdAt: number;
    attempts: number;
    nextAttemptAt: number;
    /** Media uuid once the file reached RapidPro, so a retry does not upload it twice. */
    mediaUuid?: string;
    lastError?: string;
    /** The last try was refused for RapidPro's rate limit (429), or it waits for a paused scope: no probe helps it. */
    throttled?: boolean;
};

export type MessageItem = OutboxItem & { kind: 'message' };
