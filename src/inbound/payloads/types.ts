import type { FlowResult } from '../../lib/agentContext';

export type { FlowResult } from '../../lib/agentContext';

/** Request types of the inbound endpoints, as the endpoints use them (after validation). */

export interface ContactRef {
    uuid: string;
    name?: string;
    urn?: string;
    language?: string;
}

export interface InboundAttachment {
    contentType?: string;
    url: string;
    /** A shared location (RapidPro's `geo:<lat>,<lng>`), posted as text with a map link. */
    location?: { lat: number; lng: number };
}

export interface HandoffRequest {
    contact: ContactRef;
    department?: string;
    text?: string;
    attachments: InboundAttachment[];
    fields: Record<string, string>;
    history?: boolean;
    flow?: { uuid?: string; name?: string };
    results: FlowResult[];
    /** De-duplicates the first text when the flow calls again: Idempotency-Key header, else `message_id`. */
    messageId?: string;
}

export interface ContactMessageRequest {
    contact: ContactRef;
    text: string;
    attachments: InboundAttachment[];
    messageId?: string;
}

export interface CloseRequest {
    contact: ContactRef;
    comment?: string;
}

export interface TransferRequest {
    contact: ContactRef;
    department: string;
}

export interface StatusRequest {
    contact: ContactRef;
}
