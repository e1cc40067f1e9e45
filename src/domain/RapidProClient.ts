import type { IHttp, IHttpRequest, IHttpResponse } from '@rocket.chat/apps-engine/definition/accessors';

import { parseRetryAfterMs } from '../lib/retryPolicy';
import { THROTTLED_REASON } from '../lib/limits';

export interface RapidProConnection {
    baseUrl: string;
    token: string;
    timeoutMs: number;
}

/** How one call to RapidPro ended, in the terms the delivery queue needs. */
export type RapidProOutcome<T = unknown> =
    | { kind: 'ok'; status: number; body: T }
    | { kind: 'retry'; status?: number; retryAfterMs?: number; reason: string }
    | { kind: 'rejected'; status: number; reason: string };

export interface MessageBody {
    contact: string;
    text?: string;
    attachments?: string[];
}

export interface MediaUploaded {
    uuid: string;
    content_type?: string;
    url?: string;
}

export interface RapidProMessage {
    uuid?: string;
    status?: string;
    /** The broadcast id of a message sent with broadcasts.json. */
    broadcast?: number | null;
    direction?: string;
    text?: string;
    created_on?: string;
    attachments?: Array<{ content_type?: string; url?: string } | string>;
}

// Platform multipart encoder (Deno and Node 18+ both have it); declared here because the app
// compiles against the ES2017 library without DOM types.
declare const FormData: { new (): { append(name: string, value: unknown, filename?: string): void } };
declare const Blob: { new (parts: unknown[], options?: { type?: string }): unknown };
declare const Response: {
    new (body: unknown): { arrayBuffer(): Promise<ArrayBuffer>; headers: { get(name: string): string | null } };
};

function describeRejection(status: number, body: unknown): string {
    const detail = summarizeErrorBody(body);
    switch (status) {
        case 401:
        case 403:
            return 'RapidPro rejected the API token (check the rapidpro_token setting).';
        case 404:
            return `RapidPro did not find what was asked for${detail ? `: ${detail}` : ''}.`;
        case 409:
            return `RapidPro refused: the workspace reached a limit${detail ? ` (${detail})` : ''}.`;
        case 413:
            return 'RapidPro refused the file: it is too large.';
        default:
            return `RapidPro rejected the request (HTTP ${status})${detail ? `: ${detail}` : ''}.`;
    }
}

/** RapidPro's error bodies: `{"field": ["msg"]}`, `{"non_field_errors": [...]}` or `{"detail": "..."}`. */
export function summarizeErrorBody(body: unknown): string {
    if (!body || typeof body !== 'object') {
        return typeof body === 'string' ? body.slice(0, 200) : '';
    }
    const record = body as Record<string, unknown>;
    return Object.keys(record)
        .slice(0, 3)
        .map((key) => {
            const value = record[key];
            const text = Array.isArray(value) ? value.join(' ') : typeof value === 'string' ? value : JSON.stringify(value);
            return key === 'detail' || key === 'non_field_errors' ? text : `${key}: ${text}`;
        })
        .join('; ')
        .slice(0, 300);
}

function redact(text: string, secret: string): string {
    return secret ? text.split(secret).join('***') : text;
}

function parseBody(response: IHttpResponse): unknown {
    if (response.data !== undefined && response.data !== null) {
        return response.data;
    }
    if (typeof response.content === 'string' && response.content.length > 0) {
        try {
            return JSON.parse(response.content);
        } catch (_e) {
            return response.content;
        }
    }
    return undefined;
}

function header(response: IHttpResponse, name: string): string | undefined {
    const headers = response.headers || {};
    const wanted = name.toLowerCase();
    for (const key of Object.keys(headers)) {
        if (key.toLowerCase() === wanted) {
            return headers[key];
        }
    }
    return undefined;
}

/** Classifies an HTTP answer: 2xx ok; 408, 425, 429 and 5xx worth retrying; other 4xx final. */
export function classifyResponse<T>(response: IHttpResponse): RapidProOutcome<T> {
    const status = response.statusCode;
    const body = parseBody(response);
    if (status >= 200 && status < 300) {
        return { kind: 'ok', status, body: body as T };
    }
    if (status === 429 || status === 408 || status === 425 || status >= 500 || !status) {
        return {
            kind: 'retry',
            status,
            retryAfterMs: parseRetryAfterMs(header(response, 'retry-after')),
            reason: status === 429 ? THROTTLED_REASON : `RapidPro answered HTTP ${status}`,
        };
    }
    return { kind: 'rejected', status, reason: describeRejection(status, body) };
}

/** Thin typed client of RapidPro's REST API v2 on the engine's IHttp. Never logs the token. */
export class RapidProClient {
    constructor(
        private readonly http: IHttp,
        private readonly connection: RapidProConnection,
    ) {}

    private url(path: string): string {
        return `${this.connection.baseUrl.replace(/\/+$/, '')}/api/v2/${path}`;
    }

    private headers(extra: Record<string, string> = {}): Record<string, string> {
        return {
            Authorization: `Token ${this.connection.token}`,
            Accept: 'application/json',
            ...extra,
        };
    }

    private async call<T>(method: 'get' | 'post', path: string, request: IHttpRequest): Promise<RapidProOutcome<T>> {
        let response: IHttpResponse;
        try {
            const options = { timeout: this.connection.timeoutMs, ...request };
            response = method === 'get' ? await this.http.get(this.url(path), options) : await this.http.post(this.url(path), options);
        } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            return { kind: 'retry', reason: `RapidPro could not be reached (${redact(message, this.connection.token).slice(0, 160)})` };
        }
        if (!response) {
            // What the engine gives when the app lacks its `networking` permission.
            return { kind: 'retry', reason: "Rocket.Chat made no request (is the app's networking permission granted?)" };
        }
        return classifyResponse<T>(response);
    }

    private postJson<T>(path: string, body: object): Promise<RapidProOutcome<T>> {
        return this.call<T>('post', path, {
            headers: this.headers({ 'Content-Type': 'application/json' }),
            content: JSON.stringify(body),
        });
    }

    sendMessage(message: MessageBody): Promise<RapidProOutcome<{ uuid?: string }>> {
        return this.postJson('messages.json', message);
    }

    sendBroadcast(message: MessageBody): Promise<RapidProOutcome<{ uuid?: string }>> {
        const body: Record<string, unknown> = { contacts: [message.contact] };
        if (message.text) {
            body.text = message.text;
        }
        if (message.attachments && message.attachments.length > 0) {
            body.attachments = message.attachments;
        }
        return this.postJson('broadcasts.json', body);
    }

    updateContactFields(contactUuid: string, fields: Record<string, string | null>): Promise<RapidProOutcome> {
        return this.postJson(`contacts.json?uuid=${encodeURIComponent(contactUuid)}`, { fields });
    }

    startFlow(flowUuid: string, contactUuid: string, params: Record<string, unknown>): Promise<RapidProOutcome> {
        return this.postJson('flow_starts.json', { flow: flowUuid, contacts: [contactUuid], params });
    }

    listMessages(contactUuid: string, after?: Date): Promise<RapidProOutcome<{ results?: RapidProMessage[] }>> {
        const query = [`contact=${encodeURIComponent(contactUuid)}`];
        if (after) {
            query.push(`after=${encodeURIComponent(after.toISOString())}`);
        }
        return this.call('get', `messages.json?${query.join('&')}`, { headers: this.headers() });
    }

    /**
     * One page of the workspace's failed outgoing messages created in [after, before] (RapidPro filters
     * `after`/`before` on created_on, newest first), or the page `next` names.
     */
    listFailedMessages(
        page: { after: Date; before?: Date } | { next: string },
    ): Promise<RapidProOutcome<{ results?: RapidProMessage[]; next?: string | null }>> {
        if ('next' in page) {
            // The token goes only to the configured RapidPro, whatever a page link says.
            if (!this.isOwnPageLink(page.next)) {
                return Promise.resolve({ kind: 'rejected', status: 0, reason: 'RapidPro gave a page link to another server' });
            }
            return this.call('get', page.next.substring(this.url('').length), { headers: this.headers() });
        }
        const query = ['folder=failed', `after=${encodeURIComponent(page.after.toISOString())}`];
        if (page.before) {
            query.push(`before=${encodeURIComponent(page.before.toISOString())}`);
        }
        return this.call('get', `messages.json?${query.join('&')}`, { headers: this.headers() });
    }

    /** Whether a page link (`next`) points at the configured RapidPro's messages list. */
    isOwnPageLink(link: string): boolean {
        return link.indexOf(this.url('messages.json?')) === 0;
    }

    /** Reachability and token check for `GET health`. */
    checkWorkspace(): Promise<RapidProOutcome> {
        return this.call('get', 'workspace.json', { headers: this.headers() });
    }

    /** Multipart upload to media.json; the body goes to the engine as a Buffer so binary bytes survive. */
    async uploadMedia(filename: string, contentType: string, bytes: Buffer): Promise<RapidProOutcome<MediaUploaded>> {
        const form = new FormData();
        form.append('file', new Blob([bytes], { type: contentType }), filename);
        const encoded = new Response(form);
        const body = Buffer.from(await encoded.arrayBuffer());
        const type = encoded.headers.get('content-type') || 'multipart/form-data';
        return this.call('post', 'media.json', {
            headers: this.headers({ 'Content-Type': type }),
            content: body as unknown as string,
        });
    }
}
