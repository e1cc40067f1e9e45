import * as fs from 'node:fs';
import * as nodePath from 'node:path';

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';

import { type ApiResult, buildApiRequest, parseQueryString } from '../../harness/engine';
import * as A from './support/arbitraries';
import { type BridgeRig, SECRET, startBridge } from './support/rig';

/**
 * Property/fuzz tests of the inbound HTTP API, against the packaged app in the real Apps-Engine.
 *
 * Thousands of generated bad bodies per endpoint. For every one:
 * - the answer is < 500;
 * - it is the app's JSON `{"status": <code>, "error": <sentence>}` (400), except where Rocket.Chat answers
 *   by itself without calling the app (invalid JSON / JSON scalars: 400 page, bodies over 100 kB: 413
 *   page; predicted with harness/engine/apiRequest.ts and compared byte for byte);
 * - nothing happens: no room, no message, no visitor, no upload, no app event, no RapidPro request, the
 *   open rooms of the "anchor" contacts (which a bad message/close/transfer would touch) are unchanged;
 * - when exactly one field is at fault, `error` names it.
 * Then valid-but-odd bodies (unicode, emoji, unknown keys) must succeed.
 *
 * Not generated: a `__proto__` key (Apps-Engine 1.62 crashes the Deno runtime on it, see docs/ENGINE.md)
 * and bodies nested deeper than ~95 levels (the engine's msgpack encoder, maxDepth 100, refuses the
 * JSON-RPC message carrying the request before the app runs: Rocket.Chat answers 500; a separate test
 * below pins that upstream behaviour). Generated nesting stays at 12..90 levels.
 *
 * FUZZ_SCALE scales every run count: npm test uses 0.35 (about 4,200 requests, to stay within its two-minute
 * budget on two cores); FUZZ_SCALE=1 runs about 12,000, FUZZ_SCALE=4 about 48,000. FUZZ_SEED pins the seed.
 */

const SCALE = Number(process.env.FUZZ_SCALE || '0.35');
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
/**
 * A property stops early (and passes, with fewer runs: the summary shows the real counts) after 40 s, so
 * a loaded machine (these have 2 CPUs shared with other test runs) slows the file down without failing it.
 */
const fcOptions = (numRuns: number) => ({
    numRuns: runs(numRuns),
    seed: SEED,
    interruptAfterTimeLimit: 40000,
    markInterruptAsFailure: false,
});

const BAD_RUNS = 1200;
const AUTH = { Authorization: `Token ${SECRET}` };
const JSON_TYPE = { 'Content-Type': 'application/json' };
const DELETE = Symbol('delete');

let rig: BridgeRig;

// ------------------------------------------------------------------------------------------- bookkeeping

type Kind = 'bad' | 'valid' | 'method';
interface Tally {
    calls: number;
    bad: number;
    valid: number;
    method: number;
    fivexx: number;
    fivexxBad: number;
    statuses: Record<number, number>;
    ms: number;
}
const stats = new Map<string, Tally>();
const fiveHundreds: string[] = [];

function tally(path: string, kind: Kind, method: string, res: ApiResult): void {
    const endpoint = path.split('?')[0];
    const t = stats.get(endpoint) || { calls: 0, bad: 0, valid: 0, method: 0, fivexx: 0, fivexxBad: 0, statuses: {}, ms: 0 };
    t.calls++;
    t[kind]++;
    t.statuses[res.status] = (t.statuses[res.status] || 0) + 1;
    t.ms += res.ms;
    if (res.status >= 500) {
        t.fivexx++;
        t.fivexxBad += kind === 'bad' ? 1 : 0;
        if (fiveHundreds.length < 20) {
            fiveHundreds.push(`${method} ${endpoint} -> ${res.status} ${res.raw.slice(0, 120)}`);
        }
    }
    stats.set(endpoint, t);
}

interface Req {
    method: string;
    /** Endpoint path, with a query string for GET status. */
    path: string;
    headers?: Record<string, string>;
    /** The raw request body (already JSON-encoded where JSON is meant). */
    body?: string;
}

async function send(req: Req, kind: Kind): Promise<ApiResult> {
    const res = await rig.host.callApi({ method: req.method, path: req.path, headers: { ...AUTH, ...req.headers }, body: req.body });
    tally(req.path, kind, req.method, res);
    return res;
}

/** What Rocket.Chat answers by itself (body-parser errors), exactly as the engine harness does. */
function earlyReply(req: Req): { status: number; raw: string } | undefined {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...AUTH, ...req.headers })) {
        headers[k.toLowerCase()] = v;
    }
    const built = buildApiRequest(req.method, `/${req.path}`, headers, req.body === undefined ? undefined : Buffer.from(req.body, 'utf8'));
    return built.early ? { status: built.early.status, raw: built.early.body.toString('utf8') } : undefined;
}

function describeReq(req: Req): string {
    const body = req.body === undefined ? '' : req.body.length > 600 ? `${req.body.slice(0, 600)}... (${req.body.length} chars)` : req.body;
    return `${req.method} ${req.path} ${JSON.stringify(req.headers || {})} ${body}`;
}

/** The app's own error answer: JSON with exactly a string `status` code and a string `error`. */
function expectAppError(res: ApiResult, req: Req): void {
    const where = `${describeReq(req)}\n-> ${res.status} ${res.raw.slice(0, 300)}`;
    expect({ where, contentType: /^application\/json/.test(res.headers['content-type'] || '') }).toEqual({ where, contentType: true });
    expect({ where, isObject: typeof res.body === 'object' && res.body !== null && !Array.isArray(res.body) }).toEqual({
        where,
        isObject: true,
    });
    expect({ where, keys: Object.keys(res.body).sort() }).toEqual({ where, keys: ['error', 'status'] });
    expect({ where, status: typeof res.body.status === 'string' && /^[a-z_]+$/.test(res.body.status) }).toEqual({ where, status: true });
    expect({ where, error: typeof res.body.error === 'string' && res.body.error.length > 0 && !/\n\s+at /.test(res.body.error) }).toEqual({
        where,
        error: true,
    });
}

/** A bad request: < 500; Rocket.Chat's own page exactly where it answers by itself, else the app's JSON 400. */
function expectRefused(res: ApiResult, req: Req, field?: string, wantStatus = 400): void {
    const where = `${describeReq(req)}\n-> ${res.status} ${res.raw.slice(0, 300)}`;
    expect({ where, below500: res.status < 500 }).toEqual({ where, below500: true });
    const early = earlyReply(req);
    if (early) {
        expect({ where, status: res.status, raw: res.raw }).toEqual({ where, status: early.status, raw: early.raw });
        return;
    }
    expect({ where, status: res.status }).toEqual({ where, status: wantStatus });
    expectAppError(res, req);
    if (field) {
        expect({ where, field, namesField: res.body.error.includes(field) }).toEqual({ where, field, namesField: true });
    }
}

interface Snapshot {
    rooms: number;
    messages: number;
    visitors: number;
    uploads: number;
    inquiries: number;
    events: number;
    rapidpro: number;
    anchors: string;
}

function snapshot(): Snapshot {
    const rc = rig.host.rc;
    return {
        rooms: rc.roomsById.size,
        messages: rc.messagesById.size,
        visitors: rc.visitorsById.size,
        uploads: rc.uploads.size,
        inquiries: rc.inquiries.size,
        events: rc.events.length,
        rapidpro: rig.sim.requests.length,
        anchors: JSON.stringify(
            anchors.map((a) => {
                const room = rc.room(a.roomId)!;
                return [room.open, room.departmentId || null, room.servedBy ? room.servedBy._id : null, room.msgs];
            }),
        ),
    };
}

function expectNothingHappened(before: Snapshot, req: Req, res: ApiResult): void {
    const where = `${describeReq(req)}\n-> ${res.status} ${res.raw.slice(0, 300)}`;
    expect({ where, ...snapshot() }).toEqual({ where, ...before });
}

// ------------------------------------------------------------------------------------------- anchors

/** Contacts with an open room in General: a bad message/close/transfer body naming them must not touch it. */
interface Anchor {
    uuid: string;
    roomId: string;
}
const anchors: Anchor[] = [];
const anchorUuid = () => fc.constantFrom(...anchors.map((a) => a.uuid));

// ------------------------------------------------------------------------------------------- mutations

type Op = [string[], unknown];
interface Mutation {
    ops: Op[];
    headers?: Record<string, string>;
    field: string;
}

const at = (path: string[], value: fc.Arbitrary<unknown>, field = path.join('.')): fc.Arbitrary<Mutation> =>
    value.map((v) => ({ ops: [[path, v]], field }));

function setAt(target: Record<string, unknown>, path: string[], value: unknown): void {
    let node = target;
    for (const key of path.slice(0, -1)) {
        const next = node[key];
        if (next === null || typeof next !== 'object' || Array.isArray(next)) {
            node[key] = {};
        }
        node = node[key] as Record<string, unknown>;
    }
    const last = path[path.length - 1];
    if (value === DELETE) {
        delete node[last];
    } else {
        node[last] = value;
    }
}

function apply(
    base: Record<string, unknown>,
    mutations: Mutation[],
    extras: Record<string, unknown>,
): { body: Record<string, unknown>; headers: Record<string, string> } {
    const body = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
    for (const [key, value] of Object.entries(extras)) {
        body[key] = value;
    }
    const headers: Record<string, string> = {};
    for (const mutation of mutations) {
        for (const [path, value] of mutation.ops) {
            setAt(body, path, value);
        }
        Object.assign(headers, mutation.headers || {});
    }
    return { body, headers };
}

const blank = fc.constantFrom<unknown>('', ' ', '\n\t ', null, '\u00a0', '\u3000 ', '\ufeff');

function commonMutations(options: { inputAttachmentUrlsChecked: boolean }): Array<fc.Arbitrary<Mutation>> {
    return [
        at(['contact'], fc.oneof(A.notAnObject, fc.constant(null), fc.constant(DELETE))),
        at(['contact', 'uuid'], fc.oneof(A.notAString, fc.constant(null), fc.constant(DELETE), A.nonUuid)),
        at(['contact', 'name'], A.badText(A.LIMITS.nameLength)),
        at(['contact', 'urn'], A.badText(A.LIMITS.nameLength)),
        at(['contact', 'language'], A.badText(A.LIMITS.languageLength)),
        at(['language'], A.badText(A.LIMITS.languageLength)),
        at(['input'], A.notAnObject),
        at(['input', 'uuid'], A.badText(A.LIMITS.idLength)),
        at(['input', 'text'], A.badText(A.LIMITS.textLength)),
        at(['input', 'attachments'], A.badAttachments({ urlChecked: options.inputAttachmentUrlsChecked }), 'attachment'),
        at(['results'], A.badResults),
        at(['flow'], A.notAnObject),
        at(['flow', 'uuid'], A.badText(A.LIMITS.idLength)),
        at(['flow', 'name'], A.badText(A.LIMITS.nameLength)),
    ];
}

interface EndpointSpec {
    path: string;
    base: fc.Arbitrary<Record<string, unknown>>;
    mutations: Array<fc.Arbitrary<Mutation>>;
}

const flowRef = { uuid: 'a1b2c3d4-0000-4000-8000-000000000001', name: 'Triage' };

function handoffSpec(path: string): EndpointSpec {
    return {
        path,
        // A fresh contact: a bad body that got through would open a room.
        base: fc.record(
            {
                contact: fc.record({ uuid: fc.uuid(), name: fc.constant('Ana Souza'), urn: fc.constant('whatsapp:5511999990000') }),
                flow: fc.constant(flowRef),
                results: fc.constant({ symptom: { value: 'fever', category: 'Fever' } }),
                department: fc.constantFrom('General', 'Cardiology'),
                text: fc.constant('I need a doctor'),
            },
            { requiredKeys: ['contact', 'flow', 'results'] },
        ),
        mutations: [
            ...commonMutations({ inputAttachmentUrlsChecked: false }),
            at(['department'], A.badText(A.LIMITS.nameLength)),
            at(['text'], A.badText(A.LIMITS.textLength)),
            at(['attachments'], A.badAttachments({ urlChecked: true }), 'attachment'),
            at(['history'], A.badHistory),
            at(['fields'], A.badFields),
        ],
    };
}

function messageSpec(path: string, legacy: boolean): EndpointSpec {
    const base = legacy
        ? anchorUuid().map(
              (uuid) =>
                  ({
                      contact: { uuid, name: 'Ana Souza', urn: 'whatsapp:5511999990000' },
                      flow: { uuid: 'a1b2c3d4-0000-4000-8000-000000000002', name: 'Chat' },
                      results: { clientmessage: { value: 'hello doctor', category: 'Has Text' } },
                  }) as Record<string, unknown>,
          )
        : fc.tuple(anchorUuid(), fc.boolean(), fc.uuid()).map(
              ([uuid, asInput, id]) =>
                  (asInput
                      ? {
                            contact: { uuid, name: 'Ana Souza', urn: 'whatsapp:5511999990000' },
                            input: { uuid: id, text: 'hello doctor' },
                        }
                      : { contact: { uuid }, text: 'hello doctor', message_id: id }) as Record<string, unknown>,
          );
    const noText: fc.Arbitrary<Mutation> = legacy
        ? fc.oneof(
              fc.tuple(blank, fc.boolean()).map(([value, asEntry]) => ({
                  ops: [
                      [['text'], DELETE],
                      [['input'], DELETE],
                      [['results', 'clientmessage'], asEntry ? { value, category: 'Has Text' } : value],
                  ] as Op[],
                  field: 'text',
              })),
              fc.constant({ ops: [[['results'], DELETE]] as Op[], field: 'text' }),
          )
        : blank.map((value) => ({
              ops: [
                  [['text'], value],
                  [['input', 'text'], value],
                  [['attachments'], DELETE],
                  [['input', 'attachments'], DELETE],
              ] as Op[],
              field: 'text',
          }));
    return {
        path,
        base,
        mutations: [
            ...commonMutations({ inputAttachmentUrlsChecked: true }),
            at(['text'], A.badText(A.LIMITS.textLength)),
            at(['attachments'], A.badAttachments({ urlChecked: true }), 'attachment'),
            at(['message_id'], A.badText(A.LIMITS.idLength)),
            noText,
            fc
                .integer({ min: 1, max: 300 })
                .map((n) => ({ ops: [], headers: { 'Idempotency-Key': 'k'.repeat(A.LIMITS.idLength + n) }, field: 'Idempotency-Key' })),
        ],
    };
}

const SPECS: Record<string, () => EndpointSpec> = {
    handoff: () => handoffSpec('handoff'),
    registerClient: () => handoffSpec('registerClient'),
    message: () => messageSpec('message', false),
    sendMessageToAgent: () => messageSpec('sendMessageToAgent', true),
    close: () => ({
        path: 'close',
        base: fc
            .tuple(anchorUuid(), fc.boolean())
            .map(([uuid, full]) =>
                full ? { contact: { uuid, name: 'Ana', urn: 'tel:+5511999990000' }, flow: flowRef, results: {} } : { contact: { uuid } },
            ),
        mutations: [...commonMutations({ inputAttachmentUrlsChecked: false }), at(['comment'], A.badText(1024))],
    }),
    transfer: () => ({
        path: 'transfer',
        base: anchorUuid().map((uuid) => ({ contact: { uuid, name: 'Ana' }, department: 'Cardiology' })),
        mutations: [
            ...commonMutations({ inputAttachmentUrlsChecked: false }),
            at(
                ['department'],
                fc.oneof(
                    A.badText(A.LIMITS.nameLength),
                    fc.constant(null),
                    fc.constant(DELETE),
                    blank.filter((v) => v !== null),
                ),
            ),
        ],
    }),
    status: () => ({
        path: 'status',
        base: anchorUuid().map((uuid) => ({
            contact: { uuid, name: 'Ana', urn: 'tel:+5511999990000' },
            flow: flowRef,
            results: { a: { value: 'b' } },
        })),
        mutations: commonMutations({ inputAttachmentUrlsChecked: false }),
    }),
};

// ------------------------------------------------------------------------------------------- bad requests

interface BadCase {
    kind: string;
    req: Req;
    field?: string;
    wantStatus?: number;
}

const extras = fc.dictionary(A.extraKey, A.junk(3), { maxKeys: 3 });

const OTHER_CONTENT_TYPES = fc
    .oneof(
        fc.constantFrom(
            'text/plain',
            'text/plain; charset=utf-8',
            'application/xml',
            'text/xml',
            'multipart/form-data; boundary=----x',
            'application/octet-stream',
            'text/json',
            'application/jsonx',
            'application/ld+json',
            'application/vnd.api+json',
            'application/json-patch+json',
            'application/csp-report',
            'json',
            '*/*',
            'application/x-json',
            'text/html',
        ),
        fc.string({ maxLength: 30 }),
    )
    .filter((type) => !['application/json', 'application/x-www-form-urlencoded'].includes(type.split(';')[0].trim().toLowerCase()));

function corruptJson(text: string): fc.Arbitrary<string> {
    return fc.oneof(
        fc.integer({ min: 1, max: Math.max(1, text.length - 1) }).map((n) => text.slice(0, n)),
        fc.constant(text.replace(/"/g, "'")),
        fc.constant(text.replace(/}$/, ',}')),
        fc.constant(text.replace(/"([a-z_]+)":/g, '$1:')),
        fc
            .tuple(fc.constantFrom('x', ',', '}', ']', 'null', '//', '\u0000', '🤒'), fc.boolean())
            .map(([junk, before]) => (before ? junk + text : text + junk)),
        fc.constantFrom(
            '{',
            '[',
            '{"contact":',
            '{"contact":{"uuid":NaN}}',
            '{"a":Infinity}',
            '{"a":undefined}',
            '{/*c*/}',
            '{"a":1}{"b":2}',
            '[1,]',
            '{"a":"\\x41"}',
            '{"a":"\u0001"}',
            '{"a":01}',
        ),
        A.garbage(40),
    );
}

function formBody(): fc.Arbitrary<string> {
    const encode = (s: string, raw: boolean) => {
        if (raw) {
            return s;
        }
        try {
            return encodeURIComponent(s);
        } catch {
            return s;
        }
    };
    const pair = fc.tuple(A.safeKey, A.garbage(20), fc.boolean()).map(([k, v, raw]) => `${encode(`x${k}`, raw)}=${encode(v, raw)}`);
    const contactPart = fc.oneof(
        fc.constant(''),
        A.nonUuid.map((u) => `contact[uuid]=${encodeURIComponent(u.replace(/[\ud800-\udfff]/g, ''))}&`),
        A.garbage(10).map((g) => `contact=${encodeURIComponent(g.replace(/[\ud800-\udfff]/g, ''))}&`),
        fc.constant('contact[name]=Ana&text=hello&'),
    );
    return fc
        .tuple(contactPart, fc.array(pair, { maxLength: 6 }))
        .map(([c, pairs]) => c + pairs.join('&'))
        .filter((body) => !/proto|constructor|prototype/.test(decodeURIComponentSafe(body)) && qsIsClean(body));
}

/** The rig's query parser (like qs without allowPrototypes) must not meet inherited names such as `toString`. */
function qsIsClean(text: string): boolean {
    const clean = (value: unknown): boolean =>
        typeof value === 'string' ||
        (Array.isArray(value) && value.every(clean)) ||
        (value !== null &&
            typeof value === 'object' &&
            Object.keys(value as object).every((k) => !(k in Object.prototype) && clean((value as Record<string, unknown>)[k])));
    return clean(parseQueryString(text));
}

function decodeURIComponentSafe(s: string): string {
    try {
        return decodeURIComponent(s);
    } catch {
        return s;
    }
}

/** Every kind of bad request for a body-taking endpoint. */
function badCases(spec: EndpointSpec): fc.Arbitrary<BadCase> {
    const post = (body: string, headers: Record<string, string> = JSON_TYPE): Req => ({ method: 'POST', path: spec.path, headers, body });
    const mutation = fc.oneof(...spec.mutations);
    const single = fc.tuple(spec.base, mutation, extras).map(([base, m, x]) => {
        const { body, headers } = apply(base, [m], x);
        return { kind: 'one field', req: post(JSON.stringify(body), { ...JSON_TYPE, ...headers }), field: m.field };
    });
    const several = fc.tuple(spec.base, fc.array(mutation, { minLength: 2, maxLength: 4 }), extras).map(([base, ms, x]) => {
        const { body, headers } = apply(base, ms, x);
        return { kind: 'several fields', req: post(JSON.stringify(body), { ...JSON_TYPE, ...headers }) };
    });
    const wholeArray = fc
        .oneof(
            fc.array(A.junk(2), { maxLength: 5 }),
            spec.base.map((b) => [b]),
        )
        .map((value) => ({ kind: 'array body', req: post(JSON.stringify(value)) }));
    const wholeScalar = A.jsonLeaf.map((value) => ({ kind: 'scalar body', req: post(JSON.stringify(value)) }));
    const invalidJson = spec.base.chain((b) => corruptJson(JSON.stringify(b))).map((text) => ({ kind: 'invalid JSON', req: post(text) }));
    const otherType = fc.tuple(spec.base, fc.option(OTHER_CONTENT_TYPES, { nil: undefined })).map(([b, type]) => ({
        kind: 'other content type',
        req: post(JSON.stringify(b), type === undefined ? {} : { 'Content-Type': type }),
        field: 'contact',
    }));
    const form = formBody().map((text) => ({
        kind: 'form body',
        req: post(text, { 'Content-Type': 'application/x-www-form-urlencoded' }),
        field: 'contact',
    }));
    const empty = fc
        .constantFrom('', ' ', '\n', '\t\r\n')
        .map((text) => ({ kind: 'empty body', req: post(text), field: text === '' ? 'contact' : undefined }));
    const tooLarge = fc.tuple(spec.base, fc.integer({ min: 1, max: 20000 })).map(([b, extra]) => ({
        kind: 'body over 100 kB',
        req: post(JSON.stringify({ ...b, padding: 'p'.repeat(100 * 1024 + extra) })),
        wantStatus: 413,
    }));
    const deep = fc
        .tuple(
            spec.base,
            A.nested(fc.integer({ min: A.LIMITS.depth, max: 90 })),
            fc.constantFrom('extra', 'contact', 'results', 'flow', 'input'),
        )
        .map(([b, value, where]) => {
            const body = JSON.parse(JSON.stringify(b)) as Record<string, unknown>;
            if (where === 'extra') {
                body.extra = value;
            } else {
                const holder = (body[where] && typeof body[where] === 'object' ? body[where] : {}) as Record<string, unknown>;
                holder.deep = value;
                body[where] = holder;
            }
            return { kind: 'deep nesting', req: post(JSON.stringify(body)) };
        });
    return fc.oneof(
        { arbitrary: single, weight: 10 },
        { arbitrary: several, weight: 4 },
        { arbitrary: wholeArray, weight: 1 },
        { arbitrary: wholeScalar, weight: 1 },
        { arbitrary: invalidJson, weight: 2 },
        { arbitrary: otherType, weight: 1 },
        { arbitrary: form, weight: 1 },
        { arbitrary: empty, weight: 1 },
        { arbitrary: tooLarge, weight: 1 },
        { arbitrary: deep, weight: 2 },
    );
}

const kindsSeen = new Map<string, Map<string, { n: number; ms: number }>>();

async function checkBad(c: BadCase): Promise<void> {
    const before = snapshot();
    const res = await send(c.req, 'bad');
    const perPath = kindsSeen.get(c.req.path) || new Map<string, { n: number; ms: number }>();
    const seen = perPath.get(c.kind) || { n: 0, ms: 0 };
    perPath.set(c.kind, { n: seen.n + 1, ms: seen.ms + res.ms });
    kindsSeen.set(c.req.path, perPath);
    expectRefused(res, c.req, c.field, c.wantStatus);
    expectNothingHappened(before, c.req, res);
}

// ------------------------------------------------------------------------------------------- the tests

beforeAll(async () => {
    rig = await startBridge({ routing: 'manual', host: { runtimeTimeoutMs: 5000 } });
    for (let i = 0; i < 3; i++) {
        const contact = rig.newContact();
        const res = await rig.call('handoff', rig.defaultBody(contact, { department: 'General' }));
        expect(res.status).toBe(200);
        anchors.push({ uuid: contact.uuid, roomId: res.body.room_id });
    }
});

afterAll(async () => {
    const lines = [...stats.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([path, t]) => {
            const statuses = Object.entries(t.statuses)
                .map(([s, n]) => `${s}x${n}`)
                .join(' ');
            return (
                `${path.padEnd(19)} ${String(t.calls).padStart(5)} calls (bad ${t.bad}, valid ${t.valid}, ` +
                `other methods ${t.method}), 5xx: ${t.fivexx} (from bad bodies: ${t.fivexxBad}), ` +
                `statuses ${statuses}, ${(t.ms / Math.max(1, t.calls)).toFixed(2)} ms/call`
            );
        });
    const total = [...stats.values()].reduce((sum, t) => sum + t.calls, 0);
    const total5xx = [...stats.values()].reduce((sum, t) => sum + t.fivexx, 0);
    const kinds = [...kindsSeen.entries()].map(
        ([path, m]) => `${path}: ${[...m.entries()].map(([k, v]) => `${k} ${v.n} (${(v.ms / v.n).toFixed(1)} ms)`).join(', ')}`,
    );
    const summary = [
        `fuzz summary: ${total} calls, ${total5xx} 5xx`,
        ...lines,
        'bad request kinds:',
        ...kinds,
        ...(fiveHundreds.length ? ['5xx seen (first 20):', ...fiveHundreds] : []),
    ].join('\n');
    // Quiet on a pass: the summary goes to a file (and to the console with FUZZ_SUMMARY=1).
    fs.mkdirSync(nodePath.join(__dirname, '..', '..', '.build'), { recursive: true });
    fs.writeFileSync(nodePath.join(__dirname, '..', '..', '.build', 'fuzz-summary.txt'), `${summary}\n`);
    if (process.env.FUZZ_SUMMARY === '1') {
        console.log(summary);
    }
    await rig?.stop();
});

describe('bad bodies are refused with a JSON 400 naming the field, and change nothing', () => {
    for (const name of ['handoff', 'registerClient', 'message', 'sendMessageToAgent', 'close', 'transfer', 'status']) {
        it(`POST ${name}`, async () => {
            const spec = SPECS[name]();
            await fc.assert(fc.asyncProperty(badCases(spec), checkBad), fcOptions(BAD_RUNS));
        });
    }
});

describe('GET status?contact=', () => {
    const param = fc
        .tuple(
            A.safeKey.filter((k) => !k.startsWith('contact')),
            A.garbage(10),
        )
        .filter(([k]) => !/proto|constructor|prototype/.test(k));

    it('refuses a missing, non-UUID, repeated or nested contact with a JSON 400 naming it', async () => {
        const notAUuid = A.nonUuid.filter((s) => !A.UUID_RE.test(s.trim()));
        const query = fc.oneof(
            fc.constant(''),
            notAUuid.map((s) => new URLSearchParams({ contact: s }).toString()),
            notAUuid.map((s) => `contact=${s.replace(/[&#%]/g, '')}`),
            fc.tuple(fc.uuid(), notAUuid).map(([u, s]) =>
                new URLSearchParams([
                    ['contact', u],
                    ['contact', s],
                ]).toString(),
            ),
            fc.uuid().map((u) => `contact[uuid]=${u}`),
            fc.uuid().map((u) => `contact[]=${u}`),
            fc.constantFrom(
                'contact',
                'contact=',
                'contact=%',
                'contact=%E0%A4%A',
                'contact=%00',
                'Contact=5e84a831-b9d4-4f21-b7ab-3fcd145ab4f9',
                'contacts=5e84a831-b9d4-4f21-b7ab-3fcd145ab4f9',
            ),
            A.garbage(40).map((s) => s.replace(/#/g, '')),
        );
        const c = fc
            .tuple(query, fc.array(param, { maxLength: 3 }), fc.option(A.junk(2), { nil: undefined }))
            .map(([q, params, body]) => {
                const extra = new URLSearchParams(params.map(([k, v]) => [`x${k}`, v])).toString();
                const qs = [q, extra].filter((s) => s).join('&');
                const req: Req = {
                    method: 'GET',
                    path: `status?${qs}`,
                    body: body === undefined ? undefined : JSON.stringify(body),
                    headers: body === undefined ? {} : JSON_TYPE,
                };
                return req;
            })
            .filter((req) => {
                // Keep only queries that really carry no usable contact (a generated one might decode to a UUID).
                const parsed = parseQueryString(req.path.slice('status?'.length));
                return (
                    qsIsClean(req.path.slice('status?'.length)) &&
                    !(typeof parsed.contact === 'string' && A.UUID_RE.test(parsed.contact.trim()))
                );
            });
        await fc.assert(
            fc.asyncProperty(c, async (req) => {
                const before = snapshot();
                const res = await send(req, 'bad');
                expectRefused(res, req, earlyReply(req) ? undefined : 'contact');
                expectNothingHappened(before, req, res);
            }),
            fcOptions(1000),
        );
    });

    it('answers where an anchor contact stands, whatever the case, padding, extra parameters or body', async () => {
        const c = fc
            .tuple(
                fc.nat(anchors.length - 1),
                fc.boolean(),
                fc.constantFrom('', ' ', '%20', '+'),
                fc.array(param, { maxLength: 3 }),
                fc.option(fc.dictionary(A.safeKey, A.junk(2), { maxKeys: 3 }), { nil: undefined }),
            )
            .map(([i, upper, pad, params, body]) => {
                const uuid = upper ? anchors[i].uuid.toUpperCase() : anchors[i].uuid;
                const extra = new URLSearchParams(params.map(([k, v]) => [`x${k}`, v])).toString();
                const req: Req = {
                    method: 'GET',
                    path: `status?contact=${pad}${uuid}${pad}${extra ? `&${extra}` : ''}`,
                    body: body === undefined ? undefined : JSON.stringify(body),
                    headers: body === undefined ? {} : JSON_TYPE,
                };
                return { req, anchor: anchors[i] };
            });
        await fc.assert(
            fc.asyncProperty(c, async ({ req, anchor }) => {
                const res = await send(req, 'valid');
                expect({ req: describeReq(req), status: res.status, body: res.body }).toEqual({
                    req: describeReq(req),
                    status: 200,
                    body: { status: 'queued', room_id: anchor.roomId, agent: null, department: 'General' },
                });
            }),
            fcOptions(150),
        );
    });
});

describe('GET departments and GET health ignore bodies and queries; other methods get a JSON 405', () => {
    const anyBody = fc.oneof(
        fc.constant(undefined),
        A.junk(3).map((v) => JSON.stringify(v)),
        fc.constantFrom('{', 'not json', '[1,', ''),
        A.garbage(30),
        fc.integer({ min: 1, max: 5000 }).map((n) => JSON.stringify({ padding: 'p'.repeat(100 * 1024 + n) })),
    );
    const headers = fc.option(
        fc.constantFrom<Record<string, string>>(
            JSON_TYPE,
            { 'Content-Type': 'text/plain' },
            { 'Content-Type': 'application/x-www-form-urlencoded' },
        ),
        { nil: undefined },
    );
    const query = fc
        .array(fc.tuple(A.safeKey, A.garbage(10)), { maxLength: 3 })
        .map((pairs) => new URLSearchParams(pairs.map(([k, v]) => [`x${k}`, v])).toString())
        .filter(qsIsClean);

    for (const path of ['departments', 'health']) {
        it(`GET ${path} with random bodies and queries: 200 (or Rocket.Chat's own page for a body it cannot parse)`, async () => {
            const c = fc.tuple(anyBody, headers, query).map(
                ([body, h, q]) =>
                    ({
                        method: 'GET',
                        path: q ? `${path}?${q}` : path,
                        body,
                        headers: body === undefined ? {} : h || JSON_TYPE,
                    }) as Req,
            );
            await fc.assert(
                fc.asyncProperty(c, async (req) => {
                    const before = snapshot();
                    const res = await send(req, 'valid');
                    const early = earlyReply(req);
                    const where = `${describeReq(req)} -> ${res.status} ${res.raw.slice(0, 200)}`;
                    if (early) {
                        expect({ where, status: res.status, raw: res.raw }).toEqual({ where, ...early });
                        return;
                    }
                    expect({ where, status: res.status }).toEqual({ where, status: 200 });
                    if (path === 'health') {
                        expect(res.body).toEqual({ status: 'ok', rapidpro: 'ok', version: rig.host.appInfo.version });
                    } else {
                        expect(res.body.departments.map((d: { name: string }) => d.name).sort()).toEqual([
                            'Cardiology',
                            'General',
                            'Night shift',
                        ]);
                        expectNothingHappened(before, req, res);
                    }
                }),
                fcOptions(300),
            );
        });

        it(`POST ${path} with random bodies: JSON 405 method_not_allowed, nothing happens`, async () => {
            const c = fc
                .tuple(anyBody, headers)
                .map(([body, h]) => ({ method: 'POST', path, body, headers: body === undefined ? {} : h || JSON_TYPE }) as Req);
            await fc.assert(
                fc.asyncProperty(c, async (req) => {
                    const before = snapshot();
                    const res = await send(req, 'bad');
                    expectRefused(res, req, undefined, 405);
                    if (!earlyReply(req)) {
                        expect(res.body.status).toBe('method_not_allowed');
                    }
                    expectNothingHappened(before, req, res);
                }),
                fcOptions(400),
            );
        });
    }
});

describe('valid but odd bodies succeed', () => {
    const seenContacts = new Set<string>();
    const nameArb = fc.oneof(
        A.printable(60, { maxUnits: 256 }),
        A.wellFormedText(A.LIMITS.nameLength),
        fc.constant(null),
        fc.constant(undefined),
    );
    const urnArb = fc.oneof(
        fc
            .tuple(
                fc.constantFrom('whatsapp', 'tel', 'telegram', 'facebook', 'ext', 'mailto', 'viber', 'line'),
                A.printable(30, { maxUnits: 200 }),
            )
            .map(([s, v]) => `${s}:${v}`),
        A.printable(40, { maxUnits: 256 }),
        fc.constant(null),
        fc.constant(undefined),
    );
    const languageArb = fc.option(
        fc.oneof(
            fc.constantFrom('en', 'pt-BR', 'es', 'fra', 'por', 'spa', 'zz', ''),
            A.printable(A.LIMITS.languageLength, { maxUnits: A.LIMITS.languageLength }),
        ),
        { nil: undefined },
    );

    const scalar = fc.oneof(A.printable(40, { maxUnits: 1024 }), A.aNumber, fc.boolean(), fc.constant(null));

    function webhookBody(uuid: string, handoffOptions: boolean) {
        return fc
            .record(
                {
                    contact: fc.record(
                        { uuid: fc.constant(uuid), name: nameArb, urn: urnArb, language: languageArb },
                        { requiredKeys: ['uuid'] },
                    ),
                    // The handoff's own optional fields (no attachments: their download would leave the machine).
                    department: handoffOptions ? fc.constantFrom<unknown>('General', 'Cardiology', '  ', null) : fc.constant(undefined),
                    text: handoffOptions ? fc.oneof(A.wellFormedText(300), fc.constant(null)) : fc.constant(undefined),
                    fields: handoffOptions ? fc.dictionary(A.goodFieldKey, scalar, { maxKeys: 5 }) : fc.constant(undefined),
                    history: handoffOptions ? fc.constantFrom<unknown>(true, false, 'true', 'false', null) : fc.constant(undefined),
                    flow: fc.option(fc.record({ uuid: fc.uuid(), name: A.printable(40, { maxUnits: 256 }) }), { nil: undefined }),
                    results: A.validResults,
                    path: fc.option(fc.array(A.junk(2), { maxLength: 3 }), { nil: undefined }),
                    run: fc.option(fc.record({ uuid: fc.uuid(), created_on: fc.constant('2024-05-01T10:00:00.000Z') }), { nil: undefined }),
                    channel: fc.option(fc.record({ uuid: fc.uuid(), name: A.printable(20) }), { nil: undefined }),
                    extra: extras,
                },
                { requiredKeys: ['contact', 'results', 'extra'] },
            )
            .map(({ extra, ...body }) => ({ ...extra, ...JSON.parse(JSON.stringify(body)) }) as Record<string, unknown>);
    }

    for (const [path, numRuns] of [
        ['handoff', 100],
        ['registerClient', 30],
    ] as Array<[string, number]>) {
        const title = `POST ${path}: RapidPro's default webhook body with random names, URNs and results`;
        it(`${title} opens a room for a fresh contact`, async () => {
            const c = fc.tuple(fc.uuid(), fc.boolean()).chain(([uuid, options]) => webhookBody(uuid, options));
            await fc.assert(
                fc.asyncProperty(c, async (body) => {
                    const uuid = (body.contact as { uuid: string }).uuid.toLowerCase();
                    const fresh = !seenContacts.has(uuid);
                    seenContacts.add(uuid);
                    const roomsBefore = rig.host.rc.roomsById.size;
                    const req: Req = { method: 'POST', path, headers: JSON_TYPE, body: JSON.stringify(body) };
                    const res = await send(req, 'valid');
                    const where = describeReq(req);
                    expect({ where, status: res.status, raw: res.raw.slice(0, 300) }).toEqual({
                        where,
                        status: 200,
                        raw: expect.any(String),
                    });
                    expect({ where, status: res.body.status }).toEqual({ where, status: fresh ? 'queued' : 'already_open' });
                    expect(Object.keys(res.body).sort()).toEqual(['agent', 'department', 'room_id', 'status']);
                    expect(rig.host.rc.roomsById.size).toBe(roomsBefore + (fresh ? 1 : 0));
                    expect(rig.host.rc.room(res.body.room_id)?.open).toBe(true);
                }),
                fcOptions(numRuns),
            );
        });
    }

    it("POST message: the contact's unicode text is posted once, as sent (trimmed), whatever unknown keys come along", async () => {
        const c = fc
            .tuple(fc.nat(anchors.length - 1), A.wellFormedText(2000), fc.boolean(), extras, fc.option(fc.uuid(), { nil: undefined }))
            .map(([i, text, asInput, extra, id]) => ({
                anchor: anchors[i],
                text,
                body: {
                    ...extra,
                    contact: { uuid: anchors[i].uuid, name: null, urn: null },
                    ...(asInput ? { input: { text, uuid: id, attachments: null } } : { text, attachments: [], message_id: id }),
                },
            }));
        const ids = new Set<string>();
        await fc.assert(
            fc.asyncProperty(c, async ({ anchor, text, body }) => {
                const id = (body as { message_id?: string }).message_id || (body as { input?: { uuid?: string } }).input?.uuid;
                const duplicate = id !== undefined && ids.has(id);
                if (id) {
                    ids.add(id);
                }
                const req: Req = { method: 'POST', path: 'message', headers: JSON_TYPE, body: JSON.stringify(body) };
                const before = rig.host.rc.messagesOf(anchor.roomId).filter((m) => m.token && !m.t).length;
                const res = await send(req, 'valid');
                const where = describeReq(req);
                expect({ where, status: res.status, body: res.body.status }).toEqual({
                    where,
                    status: 200,
                    body: duplicate ? 'duplicate' : 'delivered',
                });
                const posted = rig.host.rc.messagesOf(anchor.roomId).filter((m) => m.token && !m.t);
                expect(posted.length).toBe(before + (duplicate ? 0 : 1));
                if (!duplicate) {
                    expect({ where, msg: posted[posted.length - 1].msg }).toEqual({ where, msg: text.trim() });
                }
            }),
            fcOptions(150),
        );
    });

    it('POST sendMessageToAgent: the text in results.clientmessage is posted', async () => {
        const c = fc.tuple(fc.nat(anchors.length - 1), A.wellFormedText(500), A.validResults, extras).map(([i, text, results, extra]) => ({
            anchor: anchors[i],
            text,
            body: {
                ...extra,
                contact: { uuid: anchors[i].uuid },
                flow: flowRef,
                results: { ...JSON.parse(JSON.stringify(results)), clientmessage: { value: text, category: 'Has Text' } },
            },
        }));
        await fc.assert(
            fc.asyncProperty(c, async ({ anchor, text, body }) => {
                const req: Req = { method: 'POST', path: 'sendMessageToAgent', headers: JSON_TYPE, body: JSON.stringify(body) };
                const res = await send(req, 'valid');
                expect({ where: describeReq(req), status: res.status, body: res.body.status }).toEqual({
                    where: describeReq(req),
                    status: 200,
                    body: 'delivered',
                });
                const posted = rig.host.rc.messagesOf(anchor.roomId).filter((m) => m.token && !m.t);
                expect(posted[posted.length - 1].msg).toBe(text.trim());
            }),
            fcOptions(100),
        );
    });

    it('POST status with an anchor contact and any unknown keys says where the contact stands', async () => {
        const c = fc.tuple(fc.nat(anchors.length - 1), A.validResults, extras).map(([i, results, extra]) => ({
            anchor: anchors[i],
            body: {
                ...extra,
                contact: { uuid: anchors[i].uuid.toUpperCase(), name: null },
                flow: flowRef,
                results: JSON.parse(JSON.stringify(results)),
            },
        }));
        await fc.assert(
            fc.asyncProperty(c, async ({ anchor, body }) => {
                const before = snapshot();
                const req: Req = { method: 'POST', path: 'status', headers: JSON_TYPE, body: JSON.stringify(body) };
                const res = await send(req, 'valid');
                expect({ where: describeReq(req), status: res.status, body: res.body }).toEqual({
                    where: describeReq(req),
                    status: 200,
                    body: { status: 'queued', room_id: anchor.roomId, agent: null, department: 'General' },
                });
                expectNothingHappened(before, req, res);
            }),
            fcOptions(150),
        );
    });

    it('POST close and transfer for a contact without a chat: JSON 404 no_chat, nothing happens', async () => {
        const c = fc
            .tuple(
                fc.constantFrom('close', 'transfer'),
                fc.uuid(),
                A.validResults,
                extras,
                fc.constantFrom('General', 'Cardiology', 'Night shift'),
            )
            .map(
                ([path, uuid, results, extra, department]) =>
                    ({
                        method: 'POST',
                        path,
                        headers: JSON_TYPE,
                        body: JSON.stringify({
                            ...extra,
                            contact: { uuid, name: 'Ana' },
                            flow: flowRef,
                            results,
                            ...(path === 'transfer' ? { department } : { comment: 'bye 👋' }),
                        }),
                    }) as Req,
            );
        await fc.assert(
            fc.asyncProperty(c, async (req) => {
                const before = snapshot();
                const res = await send(req, 'valid');
                expectRefused(res, req, undefined, 404);
                expect(res.body.status).toBe('no_chat');
                expectNothingHappened(before, req, res);
            }),
            fcOptions(200),
        );
    });

    it('POST transfer of an anchor to a department that does not exist: JSON 404 unknown_department, the room stays', async () => {
        const c = fc
            .tuple(fc.nat(anchors.length - 1), A.wellFormedText(A.LIMITS.nameLength), extras)
            .filter(([, department]) => !['General', 'Cardiology', 'Night shift'].includes(department.trim()))
            .map(
                ([i, department, extra]) =>
                    ({
                        method: 'POST',
                        path: 'transfer',
                        headers: JSON_TYPE,
                        body: JSON.stringify({ ...extra, contact: { uuid: anchors[i].uuid }, department }),
                    }) as Req,
            );
        await fc.assert(
            fc.asyncProperty(c, async (req) => {
                const before = snapshot();
                const res = await send(req, 'valid');
                expectRefused(res, req, undefined, 404);
                expect(res.body.status).toBe('unknown_department');
                expectNothingHappened(before, req, res);
            }),
            fcOptions(150),
        );
    });
});

describe('HTTP methods', () => {
    const BODY_ENDPOINTS = ['handoff', 'message', 'close', 'transfer', 'registerClient', 'sendMessageToAgent'];

    it('GET on a POST-only endpoint: JSON 405, nothing happens', async () => {
        const c = fc.tuple(fc.constantFrom(...BODY_ENDPOINTS), fc.option(A.junk(2), { nil: undefined })).map(
            ([path, body]) =>
                ({
                    method: 'GET',
                    path,
                    body: body === undefined ? undefined : JSON.stringify(body),
                    headers: body === undefined ? {} : JSON_TYPE,
                }) as Req,
        );
        await fc.assert(
            fc.asyncProperty(c, async (req) => {
                const before = snapshot();
                const res = await send(req, 'method');
                expectRefused(res, req, undefined, 405);
                expectNothingHappened(before, req, res);
            }),
            fcOptions(200),
        );
    });

    // RapidPro's Call Webhook offers GET, POST, PUT, PATCH, DELETE and HEAD; Rocket.Chat routes every
    // method of an app endpoint to the app (router.all), so a flow with the wrong method set reaches it.
    it('PUT, PATCH, DELETE, HEAD, OPTIONS on any endpoint: < 500, a JSON 405 (no body for HEAD), nothing happens', async () => {
        const c = fc
            .tuple(
                fc.constantFrom('PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'),
                fc.constantFrom(...BODY_ENDPOINTS, 'status', 'departments', 'health'),
                fc.option(anchorUuid(), { nil: undefined }),
            )
            .map(
                ([method, path, uuid]) =>
                    ({
                        method,
                        path,
                        headers: uuid && method !== 'HEAD' ? JSON_TYPE : {},
                        body:
                            uuid && method !== 'HEAD'
                                ? JSON.stringify({ contact: { uuid }, text: 'hi', department: 'Cardiology' })
                                : undefined,
                    }) as Req,
            );
        await fc.assert(
            fc.asyncProperty(c, async (req) => {
                const before = snapshot();
                const res = await send(req, 'method');
                const where = `${describeReq(req)} -> ${res.status} ${res.raw.slice(0, 200)}`;
                expect({ where, status: res.status }).toEqual({ where, status: 405 });
                if (req.method !== 'HEAD') {
                    expectAppError(res, req);
                }
                expectNothingHappened(before, req, res);
            }),
            fcOptions(100),
        );
    });
});

describe('upstream limits the fuzzer stays inside (documented, not app bugs)', () => {
    it('Apps-Engine refuses a body nested ~100 levels deep before the app runs (500), and the app keeps working', async () => {
        const nest = (depth: number) => {
            let value: unknown = 1;
            for (let i = 0; i < depth; i++) {
                value = { a: value };
            }
            return value;
        };
        const before = snapshot();
        const ok = await rig.call('status', { contact: { uuid: anchors[0].uuid }, extra: nest(90) });
        expect(ok.status).toBe(400);
        // The engine's msgpack encoder (maxDepth 100) throws on the JSON-RPC message carrying the request.
        const quiet = jest.spyOn(console, 'error').mockImplementation(() => undefined); // the engine logs the failure
        const tooDeep = await rig.call('status', { contact: { uuid: anchors[0].uuid }, extra: nest(200) });
        quiet.mockRestore();
        expect(tooDeep.status).toBe(500);
        expect(tooDeep.raw).toMatch(/Too deep objects/);
        expect(snapshot()).toEqual(before);
        const after = await rig.call(`status?contact=${anchors[0].uuid}`);
        expect(after.status).toBe(200);
    });
});
