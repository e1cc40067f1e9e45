import * as dns from 'node:dns';
import * as net from 'node:net';

import type { IHttpRequest, IHttpResponse } from '@rocket.chat/apps-engine/definition/accessors';
import { HttpBridge } from '@rocket.chat/apps-engine/server/bridges';
import type { IHttpBridgeRequestInfo } from '@rocket.chat/apps-engine/server/bridges';

import type { RocketChat } from '../../rocketchat/RocketChat';

const isGetOrHead = (method: string): boolean => ['GET', 'HEAD'].includes(method.toUpperCase());
const DEFAULT_HTTP_TIMEOUT = 3 * 60 * 1000;
const JS_CONTENT_TYPES = ['application/json', 'text/javascript', 'application/javascript', 'application/x-javascript'];

const PRIVATE_V4: Array<[string, number]> = [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['224.0.0.0', 4],
    ['240.0.0.0', 4],
];

function ipv4InRange(ip: string, base: string, bits: number): boolean {
    const toInt = (a: string) => a.split('.').reduce((acc, o) => (acc << 8) + Number(o), 0) >>> 0;
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    return (toInt(ip) & mask) === (toInt(base) & mask);
}

async function ssrfAllowed(url: string, allowList: string[]): Promise<boolean> {
    let host: string;
    try {
        const u = new URL(url);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
        host = u.hostname.replace(/^\[|\]$/g, '');
    } catch {
        return false;
    }
    if (allowList.includes(host)) return true;
    let ip = host;
    if (!net.isIP(host)) {
        try {
            ip = (await dns.promises.lookup(host)).address;
        } catch {
            return false;
        }
    }
    if (net.isIPv6(ip)) return !(ip === '::1' || ip === '::' || /^f[cd]/i.test(ip) || /^fe80/i.test(ip) || /^::ffff:/i.test(ip));
    return !PRIVATE_V4.some(([base, bits]) => ipv4InRange(ip, base, bits));
}

export interface HttpCallRecord {
    appId: string;
    method: string;
    url: string;
    headers: Record<string, string>;
    body?: string | Buffer;
    status?: number;
    error?: string;
    ms: number;
}

/**
 * bridges/http.ts (AppHttpBridge) over @rocket.chat/server-fetch, with Node's fetch (undici) in place
 * of node-fetch:
 * - `content` is sent as given: a string, or a Buffer (msgpack carries a Buffer from the Deno runtime
 *   as a Buffer). Any other object (including a plain Uint8Array) is JSON.stringify'd and the
 *   Content-Type forced to application/json (server-fetch parsers.ts);
 * - `data` (when there is no `content`) is sent as JSON with Content-Type application/json;
 * - `params` go to the query string for GET/HEAD or when there is a body, else become a urlencoded body;
 * - `auth: "user:pass"` becomes Basic auth; `timeout` defaults to 3 minutes;
 * - 4xx/5xx are returned (statusCode), network errors and timeouts reject;
 * - the response `content` is the body decoded with `encoding` (utf8), or the raw Buffer when
 *   `encoding: null`; `data` is parsed JSON only for JSON/JavaScript content types, else null;
 * - `ssrfValidation: true` refuses private/loopback addresses (SSRF_Allowlist server setting honoured).
 */
export class FetchHttpBridge extends HttpBridge {
    public readonly calls: HttpCallRecord[] = [];

    constructor(private readonly rc: RocketChat) {
        super();
    }

    protected async call(info: IHttpBridgeRequestInfo): Promise<IHttpResponse> {
        const started = Date.now();
        const url = new URL(info.url);
        const { method } = info;
        const request: IHttpRequest = info.request || {};
        const headers: Record<string, string> = { ...(request.headers || {}) };
        // A Buffer arrives as a Buffer (msgpack), whatever IHttpRequest.content declares.
        let content: unknown = request.content;
        if (!content && typeof request.data === 'object') {
            content = request.data;
        }
        if (request.auth) {
            if (request.auth.indexOf(':') < 0) {
                throw new Error('auth option should be of the form "username:password"');
            }
            headers.Authorization = `Basic ${Buffer.from(request.auth, 'ascii').toString('base64')}`;
        }
        let paramsForBody: Record<string, string> | undefined;
        if (content || isGetOrHead(method)) {
            if (request.params) {
                for (const key of Object.keys(request.params)) {
                    if (request.params[key]) {
                        url.searchParams.append(key, request.params[key]);
                    }
                }
            }
        } else {
            paramsForBody = request.params;
        }
        if (paramsForBody) {
            const data = new URLSearchParams();
            for (const [key, value] of Object.entries(paramsForBody)) {
                data.append(key, value);
            }
            content = data.toString();
            headers['Content-Type'] = 'application/x-www-form-urlencoded';
        }
        if (isGetOrHead(method)) {
            content = undefined;
        }
        // server-fetch parsers.ts: objects that are not Buffers become JSON, Content-Type forced.
        const contentType = headers['Content-Type'] || headers['content-type'];
        if (
            content != null &&
            typeof content === 'object' &&
            !Buffer.isBuffer(content) &&
            contentType?.toLowerCase() !== 'application/x-www-form-urlencoded'
        ) {
            content = JSON.stringify(content);
            headers['Content-Type'] = 'application/json';
        }
        const body = content as string | Buffer | undefined;
        const record: HttpCallRecord = { appId: info.appId, method: method.toUpperCase(), url: url.href, headers, body, ms: 0 };
        this.calls.push(record);
        if (request.ssrfValidation) {
            const allow = String(this.rc.getServerSetting('SSRF_Allowlist') ?? '')
                .split(/[\n,]/)
                .map((s) => s.trim())
                .filter(Boolean);
            if (!(await ssrfAllowed(url.href, allow))) {
                record.error = 'error-ssrf-blocked';
                throw new Error(`The URL ${url.href} is not allowed (SSRF validation)`);
            }
        }
        const timeout = request.timeout || DEFAULT_HTTP_TIMEOUT;
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), timeout);
        try {
            const response = await fetch(url.href, {
                method: method.toUpperCase(),
                headers,
                body,
                signal: controller.signal,
                redirect: 'follow',
            });
            const received = Buffer.from(await response.arrayBuffer());
            const responseHeaders: Record<string, string> = {};
            response.headers.forEach((value, key) => {
                responseHeaders[key] = value;
            });
            const result: IHttpResponse = {
                url: info.url,
                method: info.method,
                statusCode: response.status,
                headers: responseHeaders,
            };
            if (request.encoding === null) {
                // encoding: null hands the raw Buffer back (IHttpResponse.content declares a string).
                Object.assign(result, { content: received });
            } else {
                result.content = received.toString((request.encoding || 'utf8') as BufferEncoding);
                const ct = (response.headers.get('content-type') || '').split(';')[0];
                if (JS_CONTENT_TYPES.includes(ct)) {
                    try {
                        result.data = JSON.parse(result.content);
                    } catch {
                        result.data = null;
                    }
                } else {
                    result.data = null;
                }
            }
            record.status = response.status;
            return result;
        } catch (error) {
            const aborted = (error as Error)?.name === 'AbortError';
            record.error = aborted ? `timeout after ${timeout}ms` : String((error as Error)?.message ?? error);
            if (aborted) {
                // node-fetch (used by Rocket.Chat's server-fetch) rejects an aborted request like this.
                const abort = new Error('The user aborted a request.');
                abort.name = 'AbortError';
                throw abort;
            }
            const cause = (error as { cause?: { code?: string; message?: string } }).cause;
            throw new Error(`request to ${url.href} failed, reason: ${cause?.message ?? cause?.code ?? (error as Error).message}`);
        } finally {
            clearTimeout(timer);
            record.ms = Date.now() - started;
        }
    }
}
