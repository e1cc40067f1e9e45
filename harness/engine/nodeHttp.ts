/**
 * A real-network IHttp for unit tests, modelled on Rocket.Chat's AppHttpBridge
 * (apps/meteor/app/apps/server/bridges/http.ts), so code written against the engine's IHttp can be
 * exercised against a loopback server instead of a mock:
 *
 * - `content` (string or Buffer) is sent as is; else a `data` object is JSON-encoded (content-type json);
 * - `headers` are sent as given; `params` (and a `query` string) are appended to the URL;
 * - `timeout` (ms) aborts the request and throws; network errors throw;
 * - a 4xx/5xx answer does not throw: it is returned with its `statusCode`;
 * - the response `headers` are a plain object with lowercased names; `content` is the body as a
 *   string, or a Buffer when the request said `encoding: null`; `data` is the parsed body when the
 *   answer is JSON.
 */
import { type IHttp, type IHttpRequest, type IHttpResponse, RequestMethod } from '@rocket.chat/apps-engine/definition/accessors';

const JSON_TYPES = ['application/json', 'text/javascript', 'application/javascript', 'application/x-javascript'];

export interface RecordedCall {
    method: RequestMethod;
    url: string;
    request: IHttpRequest;
}

export class NodeHttp implements IHttp {
    /** Every call made through this accessor, in order (what the app asked for, before encoding). */
    readonly calls: RecordedCall[] = [];

    get(url: string, options?: IHttpRequest): Promise<IHttpResponse> {
        return this.call(RequestMethod.GET, url, options || {});
    }

    post(url: string, options?: IHttpRequest): Promise<IHttpResponse> {
        return this.call(RequestMethod.POST, url, options || {});
    }

    put(url: string, options?: IHttpRequest): Promise<IHttpResponse> {
        return this.call(RequestMethod.PUT, url, options || {});
    }

    del(url: string, options?: IHttpRequest): Promise<IHttpResponse> {
        return this.call(RequestMethod.DELETE, url, options || {});
    }

    patch(url: string, options?: IHttpRequest): Promise<IHttpResponse> {
        return this.call(RequestMethod.PATCH, url, options || {});
    }

    private async call(method: RequestMethod, url: string, request: IHttpRequest): Promise<IHttpResponse> {
        this.calls.push({ method, url, request });
        const target = new URL(url);
        if (request.query) {
            const extra = new URLSearchParams(request.query.replace(/^\?/, ''));
            extra.forEach((value, key) => {
                target.searchParams.append(key, value);
            });
        }
        if (request.params) {
            for (const key of Object.keys(request.params)) {
                target.searchParams.append(key, request.params[key]);
            }
        }

        const headers: Record<string, string> = { ...(request.headers || {}) };
        const hasHeader = (name: string) => Object.keys(headers).some((key) => key.toLowerCase() === name);
        let body: string | Uint8Array | undefined;
        const content = request.content as unknown;
        if (content !== undefined && content !== null && content !== '') {
            body = typeof content === 'string' ? content : new Uint8Array(content as Buffer);
        } else if (request.data !== undefined && request.data !== null && typeof request.data === 'object') {
            body = JSON.stringify(request.data);
            if (!hasHeader('content-type')) {
                headers['Content-Type'] = 'application/json';
            }
        }
        if (request.auth) {
            headers.Authorization = `Basic ${Buffer.from(request.auth, 'ascii').toString('base64')}`;
        }
        const upper = method.toUpperCase();
        if (upper === 'GET' || upper === 'HEAD') {
            body = undefined;
        }

        const controller = new AbortController();
        const timer = request.timeout && request.timeout > 0 ? setTimeout(() => controller.abort(), request.timeout) : undefined;
        try {
            let response: Response;
            try {
                response = await fetch(target.toString(), { method: upper, headers, body, signal: controller.signal });
            } catch (error) {
                if (controller.signal.aborted) {
                    throw new Error(`network timeout at: ${url}`);
                }
                const cause = (error as { cause?: { message?: string } }).cause;
                const reason = cause?.message ? cause.message : (error as Error).message;
                throw new Error(`request to ${url} failed, reason: ${reason}`);
            }

            let bytes: Buffer;
            try {
                bytes = Buffer.from(await response.arrayBuffer());
            } catch (error) {
                if (controller.signal.aborted) {
                    throw new Error(`network timeout at: ${url}`);
                }
                throw error;
            }

            const responseHeaders: Record<string, string> = {};
            response.headers.forEach((value, key) => {
                responseHeaders[key.toLowerCase()] = value;
            });
            const result: IHttpResponse = { url, method, statusCode: response.status, headers: responseHeaders };
            if (request.encoding === null) {
                result.content = bytes as unknown as string;
            } else {
                result.content = bytes.toString((request.encoding || 'utf8') as BufferEncoding);
                const type = (responseHeaders['content-type'] || '').split(';')[0].trim().toLowerCase();
                if (JSON_TYPES.indexOf(type) >= 0) {
                    try {
                        result.data = JSON.parse(result.content);
                    } catch (_e) {
                        result.data = null;
                    }
                }
            }
            return result;
        } finally {
            if (timer) {
                clearTimeout(timer);
            }
        }
    }
}
