import type { IApiResponse } from '@rocket.chat/apps-engine/definition/api';

import { errorText } from '../lib/log';
import { type ErrorCode, errorResponse } from './responses';

export { errorText } from '../lib/log';

/**
 * Rocket.Chat answers a refused bridge call with an error whose message carries a code
 * (`error-omnichannel-is-disabled`, `no-agent-online`, ...). Each refusal a flow can meet becomes
 * a JSON answer with a code of ours, never a 500. Codes and where the server raises them are
 * listed in ../shared/docs/REALSERVER.md.
 */
export type Refusal =
    | 'omnichannel_disabled'
    | 'no_agents'
    | 'unknown_department'
    | 'contact_blocked'
    | 'same_department'
    | 'room_closed'
    | 'tags_required'
    | 'comment_required'
    | 'on_hold'
    | 'duplicate_room'
    | 'other';

const PATTERNS: Array<[RegExp, Refusal]> = [
    [/omnichannel-is-disabled/i, 'omnichannel_disabled'],
    [/no-agent-online|no-agents-online|no-agents-available|no online agents|user-is-offline/i, 'no_agents'],
    [/invalid-department/i, 'unknown_department'],
    [/contact-channel-blocked/i, 'contact_blocked'],
    [/forwarding-chat-same-department/i, 'same_department'],
    // Not `error-room-cannot-be-closed-try-again`: a passing failure, answered as a refusal to retry.
    [/error-room-closed|removing inquiry|room is closed/i, 'room_closed'],
    [/tags-must-be-assigned/i, 'tags_required'],
    [/comment-is-required/i, 'comment_required'],
    [/room-onHold/i, 'on_hold'],
    [/E11000|duplicate key/i, 'duplicate_room'],
];

export function classifyRefusal(error: unknown): Refusal {
    const text = errorText(error);
    for (const [pattern, refusal] of PATTERNS) {
        if (pattern.test(text)) {
            return refusal;
        }
    }
    return 'other';
}

/** The server's own code (`error-…`) for a refusal we have no name for; never free text (it may quote data). */
export function serverCode(error: unknown): string {
    // Only a code shape Rocket.Chat uses; other words of the message may be data.
    const match = /\b(error-[a-z0-9-]+|no-agent-online|invalid-custom-field|cannot-access-room)\b/i.exec(errorText(error));
    return match ? match[1] : 'unknown';
}

/** The answer for a refusal that only the generic codes cover; callers handle the ones they expect. */
export function genericRefusal(error: unknown): { code: ErrorCode; error: string } {
    switch (classifyRefusal(error)) {
        case 'omnichannel_disabled':
            return { code: 'omnichannel_disabled', error: 'Omnichannel is switched off in Rocket.Chat; nothing was done.' };
        case 'no_agents':
            return { code: 'no_agents', error: 'No agent is online; nothing was done.' };
        case 'unknown_department':
            return { code: 'unknown_department', error: 'Rocket.Chat does not know that department; nothing was done.' };
        case 'contact_blocked':
            return { code: 'contact_blocked', error: "This contact's channel is blocked in Rocket.Chat (Omnichannel contact center)." };
        default:
            return { code: 'rocketchat_refused', error: `Rocket.Chat refused the request (${serverCode(error)}); nothing was done.` };
    }
}

/**
 * The contact's words (or some of them) are not in the room: never a 200. With a message id, the
 * same call again posts only what is missing.
 */
export function notPostedResponse(error: unknown, roomId: string, hasMessageId: boolean): IApiResponse {
    const refusal = genericRefusal(error);
    const again = hasMessageId
        ? 'Calling again with the same message id posts only what is missing.'
        : 'Send a message id (Idempotency-Key header or message_id) so a repeated call cannot post twice.';
    const code: ErrorCode = refusal.code === 'rocketchat_refused' ? 'not_posted' : refusal.code;
    return errorResponse(
        code,
        `The contact's message is not (all) in the room: ${refusal.error.replace(/; nothing was done\.$/, '.')} ${again}`,
        {
            room_id: roomId,
        },
    );
}
