import type * as http from 'node:http';
import busboy from 'busboy';

import { MAX_JSON_BODY, type ParsedBody, searchParamsObject, type UploadedFile } from './support';
import type { MultipartPartSummary } from './types';
import { SimFlowStarts } from './flowStarts';

/** Reading request bodies (JSON, form, multipart) as DRF parses them. */
export class SimBodies extends SimFlowStarts {
    protected readBody(req: http.IncomingMessage): Promise<ParsedBody> {
        const contentType = (req.headers['content-type'] ?? '').toString();
        const lower = contentType.toLowerCase();
        if (lower.startsWith('multipart/form-data')) return this.readMultipart(req, contentType);
        return new Promise<ParsedBody>((resolve, reject) => {
            const chunks: Buffer[] = [];
            let size = 0;
            let finished = false;
            req.on('data', (c: Buffer) => {
                size += c.length;
                if (size <= MAX_JSON_BODY) chunks.push(c);
            });
            req.on('end', () => {
                finished = true;
                resolve(this.parseSimpleBody(lower, contentType, Buffer.concat(chunks), size));
            });
            req.on('error', (e) => reject(e));
            req.on('close', () => {
                if (!finished) reject(new Error('aborted'));
            });
        });
    }

    protected parseSimpleBody(lower: string, contentType: string, raw: Buffer, size: number): ParsedBody {
        const base = { files: [] as UploadedFile[], contentType };
        if (size === 0) return { ...base, kind: 'none', data: undefined, recorded: undefined };
        if (size > MAX_JSON_BODY) return { ...base, kind: 'text', data: undefined, recorded: `<${size} bytes>`, tooLarge: true };
        const text = raw.toString('utf8');
        if (/^application\/json\s*(;|$)/.test(lower)) {
            try {
                const data: unknown = JSON.parse(text);
                return { ...base, kind: 'json', data, recorded: data };
            } catch (e) {
                return {
                    ...base,
                    kind: 'invalid-json',
                    data: undefined,
                    recorded: text,
                    error: e instanceof Error ? e.message : String(e),
                };
            }
        }
        if (/^application\/x-www-form-urlencoded\s*(;|$)/.test(lower)) {
            const data = searchParamsObject(new URLSearchParams(text));
            return { ...base, kind: 'form', data, recorded: data };
        }
        return { ...base, kind: 'text', data: undefined, recorded: text };
    }

    protected readMultipart(req: http.IncomingMessage, contentType: string): Promise<ParsedBody> {
        return new Promise<ParsedBody>((resolve, reject) => {
            const parts: MultipartPartSummary[] = [];
            const fields: Record<string, string> = {};
            const files: Array<UploadedFile & { chunks: Buffer[] | null }> = [];
            let settled = false;
            const invalid = (message: string): void => {
                if (settled) return;
                settled = true;
                req.resume();
                req.once('end', () =>
                    resolve({ kind: 'invalid-multipart', data: undefined, files: [], recorded: parts, error: message, contentType }),
                );
            };
            let bb: busboy.Busboy;
            try {
                bb = busboy({ headers: req.headers, defParamCharset: 'utf8' });
            } catch (e) {
                invalid(e instanceof Error ? e.message : String(e));
                return;
            }
            bb.on('file', (name, stream, info) => {
                const summary: MultipartPartSummary = { field: name, filename: info.filename ?? '', contentType: info.mimeType, size: 0 };
                const f = {
                    field: name,
                    filename: info.filename ?? '',
                    contentType: info.mimeType,
                    size: 0,
                    bytes: null,
                    chunks: [] as Buffer[] | null,
                };
                parts.push(summary);
                files.push(f);
                stream.on('data', (c: Buffer) => {
                    f.size += c.length;
                    summary.size = f.size;
                    if (f.chunks) {
                        if (f.size > this.maxUploadBytes) f.chunks = null;
                        else f.chunks.push(c);
                    }
                });
            });
            bb.on('field', (name, value) => {
                fields[name] = value;
                parts.push({ field: name, filename: null, contentType: 'text/plain', size: Buffer.byteLength(value), value });
            });
            bb.on('error', (e) => {
                req.unpipe(bb);
                invalid(e instanceof Error ? e.message : String(e));
            });
            bb.on('close', () => {
                if (settled) return;
                settled = true;
                const out: UploadedFile[] = files.map((f) => ({
                    field: f.field,
                    filename: f.filename,
                    contentType: f.contentType,
                    size: f.size,
                    bytes: f.chunks ? Buffer.concat(f.chunks) : null,
                }));
                resolve({ kind: 'multipart', data: fields, files: out, recorded: parts, contentType });
            });
            req.on('error', (e) => {
                if (!settled) {
                    settled = true;
                    reject(e);
                }
            });
            req.on('close', () => {
                if (!settled && !req.complete) {
                    settled = true;
                    reject(new Error('aborted'));
                }
            });
            req.pipe(bb);
        });
    }
}
