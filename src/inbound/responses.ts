import { HttpStatusCode } from '@rocket.chat/apps-engine/definition/accessors';
import type { IApiResponse } from '@rocket.chat/apps-engine/definition/api';

import type { AuthResult } from './auth';

/** Machine codes of every non-2xx answer; flows split on `@webhook.json.status`. */
export type ErrorCode =
    | 'unauthorized'
    | 'forbidden'
    | 'not_configured'
    | 'invalid_json'
    | 'invalid_request'
    | 'no_chat'
    | 'unknown_department'
    | 'no_agents'
    | 'handoff_in_progress'
    | 'contact_busy'
    | 'transfer_refused'
    | 'close_refused'
    | 'not_posted'
    | 'omnichannel_disabled'
    | 'contact_blocked'
    | 'rocketchat_refused'
    | 'degraded'
    | 'method_not_allowed'
    | 'internal_error';

const STATUS_BY_CODE: Record<ErrorCode, number> = {
    unauthorized: HttpStatusCode.UNAUTHORIZED,
    forbidden: HttpStatusCode.FORBIDDEN,
    not_configured: HttpStatusCode.SERVICE_UNAVAILABLE,
    invalid_json: HttpStatusCode.BAD_REQUEST,
    invalid_request: HttpStatusCode.BAD_REQUEST,
    // 404 and 503 make a flow that only splits on Success/Failure do the safe thing.
    no_chat: HttpStatusCode.NOT_FOUND,
    unknown_department: HttpStatusCode.NOT_FOUND,
    no_agents: HttpStatusCode.SERVICE_UNAVAILABLE,
    handoff_in_progress: HttpStatusCode.CONFLICT,
    contact_busy: HttpStatusCode.CONFLICT,
    transfer_refused: HttpStatusCode.CONFLICT,
    close_refused: HttpStatusCode.CONFLICT,
    // The contact's words are not (all) in the room: a Failure the flow can retry; nothing is posted twice.
    not_posted: HttpStatusCode.SERVICE_UNAVAILABLE,
    omnichannel_disabled: HttpStatusCode.SERVICE_UNAVAILABLE,
    contact_blocked: HttpStatusCode.FORBIDDEN,
    rocketchat_refused: HttpStatusCode.SERVICE_UNAVAILABLE,
    degraded: HttpStatusCode.SERVICE_UNAVAILABLE,
    method_not_allowed: HttpStatusCode.METHOD_NOT_ALLOWED,
    internal_error: HttpStatusCode.INTERNAL_SERVER_ERROR,
};

const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8' };

export function statusOf(code: ErrorCode): number {
    return STATUS_BY_CODE[code];
}

export function errorResponse(code: ErrorCode, error: string, extra: Record<string, unknown> = {}): IApiResponse {
    return { status: STATUS_BY_CODE[code], headers: JSON_HEADERS, content: { status: code, error, ...extra } };
}

export function okResponse(content: Record<string, unknown>): IApiResponse {
    return { status: HttpStatusCode.OK, headers: JSON_HEADERS, content };
}

export function authErrorResponse(result: Exclude<AuthResult, 'ok'>): IApiResponse {
    switch (result) {
        case 'missing':
            return errorResponse('unauthorized', 'Send the bridge secret in the header "Authorization: Token <secret>".');
        case 'wrong':
            return errorResponse('forbidden', 'The bridge secret in the Authorization header is not the one configured in the app.');
        case 'no_prefix':
            return errorResponse(
                'forbidden',
                'The Authorization header needs the word Token before the secret: "Authorization: Token <secret>".',
            );
        case 'not_configured':
            return errorResponse(
                'not_configured',
                'The bridge is not configured: an admin must set the bridge secret in the app settings.',
            );
    }
    return errorResponse('forbidden', 'Not allowed.');
}
