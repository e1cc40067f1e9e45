import { type NoticeKind, type NoticeVariables, renderNotice } from '../lib/notices';
import type { BridgeConfig } from '../settings/BridgeConfig';
import type { OutboundDraft } from './outboxItems';

/** Where a chat stands, as the contact is told it. */
export type LifecycleStage = 'queued' | 'assigned' | 'transferred' | 'transferred_to_queue' | 'closed';

export interface StageRow {
    /** The notice the contact gets (the admin can override or turn off each kind). */
    notice: NoticeKind;
    /** How that notice is named to the agent if it cannot be delivered. */
    noticeSummary: string;
    /** The value written to the status_field contact field; none: the stage leaves the field as it is. */
    status?: 'queued' | 'open' | 'closed';
}

/**
 * The one table of lifecycle stages: for each, the notice, the status field value, and so what is
 * sent to RapidPro (the notice as a message, then the contact fields). Used when a chat opens
 * (handoff, adopted room) and on the room's events (assigned, transferred, unassigned, closed).
 */
export const LIFECYCLE_STAGES: Record<LifecycleStage, StageRow> = {
    queued: { notice: 'queued', noticeSummary: 'the "queued" notice', status: 'queued' },
    assigned: { notice: 'assigned', noticeSummary: 'the "agent assigned" notice', status: 'open' },
    // Moved to a department with an agent taking it: whether it waits is only known once it does.
    transferred: { notice: 'transferred', noticeSummary: 'the "transferred" notice' },
    transferred_to_queue: { notice: 'transferred', noticeSummary: 'the "transferred" notice', status: 'queued' },
    closed: { notice: 'closed', noticeSummary: 'the "closed" notice', status: 'closed' },
};

export interface StageDraftOptions {
    /** The contact's language (RapidPro's code); the default_language setting otherwise. */
    language?: string;
    variables: NoticeVariables;
    /** false: no notice (the contact was told already, or ended the chat themselves). */
    notify?: boolean;
    /** The room_field value to write ('' clears it); absent: room_field is left as it is. */
    roomField?: string;
}

/** What the contact is sent when the chat reaches a stage, in the order they should see it. */
export function stageDrafts(config: BridgeConfig, stage: LifecycleStage, options: StageDraftOptions): OutboundDraft[] {
    const row = LIFECYCLE_STAGES[stage];
    const drafts: OutboundDraft[] = [];
    if (options.notify !== false) {
        const override = config.notices[row.notice];
        const text = renderNotice(row.notice, options.language, override, options.variables, config.defaultLanguage);
        if (text) {
            drafts.push({ kind: 'message', text, summary: row.noticeSummary });
        }
    }
    const fields: Record<string, string> = {};
    if (config.statusField && row.status) {
        fields[config.statusField] = row.status;
    }
    if (config.roomField && options.roomField !== undefined) {
        fields[config.roomField] = options.roomField;
    }
    if (Object.keys(fields).length > 0) {
        const summary = options.roomField !== undefined ? 'the contact fields' : 'the contact status field';
        drafts.push({ kind: 'contact_fields', fields, summary });
    }
    return drafts;
}
