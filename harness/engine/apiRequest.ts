import * as crypto from 'node:crypto';
import * as http from 'node:http';

/**
 * How Rocket.Chat turns an HTTP request to /api/apps/public/<appId>/<path> into the IApiRequest an app
 * receives, and the app's IApiResponse back into HTTP (apps/meteor/app/apps/server/bridges/api.ts and
 * router.ts: express + body-parser `urlencoded()` and `json()` with default options).
 *
 * - headers: Node's lowercased header object;
 * - method: lowercased;
 * - query: the parsed query string (express `qs`: repeated keys become arrays, a[b]=c nests);
 * - params: the route params of the endpoint path (`:id`), not the appId;
 * - content: the body parsed by body-parser. application/json: must start with `{` or `[` (strict),
 *   invalid JSON or a non-object is answered 400 by Rocket.Chat itself (the app is never called);
 *   application/x-www-form-urlencoded: parsed like qs; no body or any other content type: `{}`
 *   (the raw text is NOT available to the app). Bodies over 100 kB get 413 (body-parser default limit).
 * - response: express `res.set(headers); res.status(status); res.send(content)`: objects are sent as
 *   JSON, strings as text/html unless the app set a Content-Type, undefined as an empty body; a
 *   rejected executeApi becomes 500 with the error message as body.
 */

export const BODY_LIMIT_BYTES = 100 * 1024;

export interface BuiltRequest {
    /** The IApiRequest Rocket.Chat hands to executeApi (`params` is filled in after route matching). */
    request: {
        method: string;
        headers: Record<string, string>;
        query: Record<string, unknown>;
        params: Record<string, string>;
        content: unknown;
        privateHash?: string;
    };
    /** Set when Rocket.Chat answers by itself (body-parser errors). */
    early?: HttpReply;
}

export interface HttpReply {
    status: number;
    headers: Record<string, string>;
    body: Buffer;
}

/** Subset of `qs.parse` (express "extended" query parser and body-parser `urlencoded({extended: true})`). */
export function parseQueryString(input: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (!input) {
        return out;
    }
    const decode = (s: string) => {
        try {
            return decodeURIComponent(s.replace(/\+/g, ' '));
        } catch {
            return s;
        }
    };
    for (const part of input.split('&')) {
        if (!part) continue;
        const eq = part.indexOf('=');
        const rawKey = decode(eq >= 0 ? part.slice(0, eq) : part);
        const value = eq >= 0 ? decode(part.slice(eq + 1)) : '';
        if (rawKey === '__proto__' || rawKey.startsWith('__proto__[')) continue;
        const m = /^([^[\]]+)((?:\[[^[\]]*\])+)$/.exec(rawKey);
        if (!m) {
            assign(out, rawKey, value);
            continue;
        }
        const path = [m[1], ...[...m[2].matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1])];
        let node: Record<string, unknown> = out;
        for (let i = 0; i < path.length - 1; i++) {
            const key = path[i];
            const nextIsArray = path[i + 1] === '';
            if (typeof node[key] !== 'object' || node[key] === null) {
                node[key] = nextIsArray ? [] : {};
            }
            node = node[key] as Record<string, unknown>;
        }
        const last = path[path.length - 1];
        if (Array.isArray(node)) {
            if (last === '') (node as unknown[]).push(value);
            else (node as unknown as Record<string, unknown>)[last] = value;
        } else if (last === '') {
            node[''] = value;
        } else {
            assign(node, last, value);
        }
    }
    return out;
}

function assign(obj: Record<string, unknown>, key: string, value: string): void {
    if (key in obj) {
        const existing = obj[key];
        obj[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
    } else {
        obj[key] = value;
    }
}

const STATUS_TEXT = http.STATUS_CODES;

/** connect/finalhandler's production error page (what Meteor answers for body-parser errors). */
export function errorPage(status: number): HttpReply {
    const message = STATUS_TEXT[status] ?? 'Error';
    const body = Buffer.from(
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n</head>\n' +
            `<body>\n<pre>${message}</pre>\n</body>\n</html>\n`,
    );
    return {
        status,
        headers: {
            'content-security-policy': "default-src 'none'",
            'x-content-type-options': 'nosniff',
            'content-type': 'text/html; charset=utf-8',
            'content-length': String(body.length),
        },
        body,
    };
}

function mediaType(contentType: string | undefined): string {
    return (contentType || '').split(';')[0].trim().toLowerCase();
}

/** Builds the IApiRequest from raw HTTP parts, or the reply Rocket.Chat gives without calling the app. */
export function buildApiRequest(
    method: string,
    rawPathWithQuery: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
): BuiltRequest {
    const q = rawPathWithQuery.indexOf('?');
    const query = parseQueryString(q >= 0 ? rawPathWithQuery.slice(q + 1) : '');
    const request: BuiltRequest['request'] = { method: method.toLowerCase(), headers, query, params: {}, content: {} };
    const hasBody = body !== undefined && (body.length > 0 || headers['transfer-encoding'] !== undefined);
    if (!hasBody) {
        return { request };
    }
    const type = mediaType(headers['content-type']);
    const isJson = type === 'application/json';
    const isForm = type === 'application/x-www-form-urlencoded';
    if (!isJson && !isForm) {
        return { request };
    }
    if (body.length > BODY_LIMIT_BYTES) {
        return { request, early: errorPage(413) };
    }
    const text = body.toString('utf8');
    if (isForm) {
        request.content = parseQueryString(text);
        return { request };
    }
    if (text.length === 0) {
        return { request };
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: JSON whitespace (RFC 8259) includes tab, LF and CR
    const first = /^[\x20\x09\x0a\x0d]*(.)/.exec(text);
    if (!first || (first[1] !== '{' && first[1] !== '[')) {
        return { request, early: errorPage(400) };
    }
    try {
        request.content = JSON.parse(text);
    } catch {
        return { request, early: errorPage(400) };
    }
    return { request };
}

/** express's weak ETag (etag module): W/"<length hex>-<sha1 base64, 27 chars>". */
function etag(body: Buffer): string {
    if (body.length === 0) {
        return 'W/"0-2jmj7l5rSw0yVb/vlWAYkK/YBwk"';
    }
    const hash = crypto.createHash('sha1').update(body).digest('base64').substring(0, 27);
    return `W/"${body.length.toString(16)}-${hash}"`;
}

function withCharset(type: string): string {
    if (/;\s*charset\s*=/i.test(type)) {
        return type;
    }
    const base = mediaType(type);
    if (/^text\//.test(base) || /^application\/(javascript|json)/.test(base)) {
        return `${type}; charset=utf-8`;
    }
    return type;
}

/** res.set(headers); res.status(status); res.send(content) — as express 4 does it. */
export function expressSend(
    method: string,
    status: number,
    appHeaders: Record<string, unknown> | undefined,
    content: unknown,
    requestHeaders: Record<string, string> = {},
): HttpReply {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(appHeaders ?? {})) {
        const key = k.toLowerCase();
        headers[key] = key === 'content-type' ? withCharset(String(v)) : String(v);
    }
    let statusCode = status;
    let body: Buffer | undefined;
    let chunk: unknown = content;
    if (typeof chunk === 'number' && content !== undefined) {
        // res.send(<number>) (deprecated in express 4): the number is treated as the status.
        statusCode = chunk;
        chunk = STATUS_TEXT[statusCode] ?? String(statusCode);
        headers['content-type'] = headers['content-type'] ?? 'text/plain; charset=utf-8';
    }
    if (typeof chunk === 'string') {
        headers['content-type'] = withCharset(headers['content-type'] ?? 'text/html');
        body = Buffer.from(chunk, 'utf8');
    } else if (Buffer.isBuffer(chunk)) {
        headers['content-type'] = headers['content-type'] ?? 'application/octet-stream';
        body = chunk;
    } else if (chunk instanceof Uint8Array) {
        headers['content-type'] = headers['content-type'] ?? 'application/octet-stream';
        body = Buffer.from(chunk);
    } else if (chunk === null) {
        body = Buffer.alloc(0);
    } else if (chunk !== undefined) {
        headers['content-type'] = headers['content-type'] ?? 'application/json; charset=utf-8';
        body = Buffer.from(JSON.stringify(chunk), 'utf8');
    }
    if (body !== undefined) {
        headers['content-length'] = String(body.length);
        if (!headers.etag) {
            headers.etag = etag(body);
        }
    }
    if (
        (method === 'get' || method === 'head') &&
        headers.etag &&
        requestHeaders['if-none-match'] === headers.etag &&
        statusCode >= 200 &&
        statusCode < 300
    ) {
        statusCode = 304;
    }
    if (statusCode === 204 || statusCode === 304) {
        delete headers['content-type'];
        delete headers['content-length'];
        delete headers['transfer-encoding'];
        body = Buffer.alloc(0);
    }
    if (method === 'head') {
        body = Buffer.alloc(0);
    }
    return { status: statusCode, headers, body: body ?? Buffer.alloc(0) };
}

export function notFound(): HttpReply {
    const body = Buffer.from('Not Found');
    return {
        status: 404,
        headers: { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(body.length), etag: etag(body) },
        body,
    };
}
