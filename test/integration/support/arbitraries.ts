import fc from 'fast-check';

/**
 * fast-check arbitraries for fuzzing the bridge's inbound HTTP API (test/integration/fuzz.test.ts).
 *
 * The limits mirror LIMITS in src/inbound/payloads.ts on purpose (copied, not imported: a change of a
 * limit should be a visible decision in the tests too).
 *
 * Never generated: the keys `__proto__`, `constructor`, `prototype` (Apps-Engine 1.62 crashes the
 * app's Deno process on a `__proto__` key before app code runs; see docs/ENGINE.md).
 */

export const LIMITS = {
    textLength: 16384,
    nameLength: 256,
    languageLength: 16,
    urlLength: 2048,
    attachments: 10,
    fields: 50,
    results: 300,
    idLength: 200,
    commentLength: 1024,
    depth: 12,
} as const;

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// C0 controls other than tab, line feed and carriage return, and DEL (what payloads.ts refuses).
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this pattern is for
export const CONTROL_RE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this pattern is for
const CONTROL_RE_G = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
const FIELD_KEY_RE = /^[A-Za-z0-9_][A-Za-z0-9_ .-]{0,63}$/;

/** Keys no generated object ever holds. */
export const FORBIDDEN_KEY_PARTS = ['__proto__', 'constructor', 'prototype'];
/** Top-level keys some endpoint validates: random "extra" keys never use them. */
export const KNOWN_KEYS = [
    'contact',
    'input',
    'results',
    'language',
    'flow',
    'department',
    'text',
    'attachments',
    'history',
    'fields',
    'message_id',
    'comment',
];

const isSafeKey = (key: string) => !FORBIDDEN_KEY_PARTS.some((bad) => key.includes(bad));

// ------------------------------------------------------------------------------------------- strings

export const CONTROL_CHARS: string[] = [
    ...Array.from({ length: 9 }, (_, i) => String.fromCharCode(i)),
    '\u000b',
    '\u000c',
    ...Array.from({ length: 0x20 - 0x0e }, (_, i) => String.fromCharCode(0x0e + i)),
    '\u007f',
];
export const controlChar = fc.constantFrom(...CONTROL_CHARS);

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
const oddChar = fc.constantFrom(
    '\u200b',
    '\u200d',
    '\u200e',
    '\u202e',
    '\u2066',
    '\ufeff',
    '\u0301',
    '\u0361',
    '\u00a0',
    '\u3000',
    '\u2028',
    '\u2029',
    '\ufffd',
    '\ufffe',
    '\uffff',
    '\u{10ffff}',
    '\u{e0001}',
    '\t',
    '\n',
    '\r',
    '\\',
    '"',
    "'",
    '<',
    '>',
    '&',
    '%',
    '{',
    '}',
    '[',
    ']',
    '🤒',
    '👩‍⚕️',
    '🏳️‍🌈',
    '👍🏽',
    '🇧🇷',
    '𝕳',
    'ﷺ',
    'ß',
    'İ',
    'ǅ',
    '\u0e01\u0e34',
    'ü',
    'ñ',
    'ç',
    'Ω',
    '中',
    'ا',
    'עִ',
);
/** Any code point (astral, private use, unassigned), lone surrogates, controls, bidi marks, emoji sequences. */
const anyChar = fc.oneof(
    { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 3 },
    { arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }), weight: 2 },
    { arbitrary: fc.string({ minLength: 1, maxLength: 1 }), weight: 2 },
    { arbitrary: oddChar, weight: 3 },
    { arbitrary: loneSurrogate, weight: 1 },
    { arbitrary: controlChar, weight: 1 },
);

/** Unicode garbage: anything a string can hold, control characters and lone surrogates included. */
export const garbage = (maxLength = 30): fc.Arbitrary<string> => fc.array(anyChar, { maxLength }).map((chars) => chars.join(''));

/** Garbage without the control characters the app refuses (lone surrogates optional). */
export const printable = (maxLength = 30, options: { surrogates?: boolean; maxUnits?: number } = {}): fc.Arbitrary<string> =>
    garbage(maxLength).map((s) => {
        const clean = s.replace(CONTROL_RE_G, '').slice(0, options.maxUnits === undefined ? undefined : options.maxUnits);
        return options.surrogates === false ? clean.replace(/[\ud800-\udfff]/g, (c, i, all) => (isPaired(all, i) ? c : '')) : clean;
    });

function isPaired(s: string, i: number): boolean {
    const code = s.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
        const next = s.charCodeAt(i + 1);
        return next >= 0xdc00 && next <= 0xdfff;
    }
    const prev = s.charCodeAt(i - 1);
    return prev >= 0xd800 && prev <= 0xdbff;
}

/** Printable, not only whitespace, without lone surrogates: survives any transport unchanged. */
export const wellFormedText = (maxLength = 60): fc.Arbitrary<string> =>
    fc
        .tuple(printable(maxLength, { surrogates: false }), fc.constantFrom('a', 'Z', '9', 'é', '🤒', '中'))
        .map(([s, anchor]) => `${anchor}${s}`.slice(0, Math.max(1, maxLength)))
        .map((s) => (/[\ud800-\udbff]$/.test(s) ? s.slice(0, -1) || 'a' : s))
        .filter((s) => s.trim().length > 0);

export const safeKey: fc.Arbitrary<string> = fc
    .oneof(
        fc.string({ maxLength: 12 }),
        garbage(10),
        fc.constantFrom(
            'run',
            'path',
            'channel',
            'webhook',
            'extra',
            'uuid',
            'name',
            'urn',
            'value',
            '',
            ' ',
            '0',
            '-1',
            '$where',
            'toString',
            'hasOwnProperty',
            'valueOf',
            '__defineGetter__',
        ),
    )
    .filter(isSafeKey);

/** A key no endpoint looks at. */
export const extraKey: fc.Arbitrary<string> = safeKey.filter((key) => !KNOWN_KEYS.includes(key));

// ------------------------------------------------------------------------------------------- JSON values

export const aNumber = fc.oneof(
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(0, -1, 1e308, Number.MAX_SAFE_INTEGER + 2),
);
export const jsonLeaf: fc.Arbitrary<unknown> = fc.oneof(fc.string(), garbage(20), aNumber, fc.boolean(), fc.constant(null));

/** Any JSON value (safe keys), nested at most `maxDepth` levels. */
export const junk = (maxDepth = 3): fc.Arbitrary<unknown> =>
    fc.letrec((tie) => ({
        value: fc.oneof(
            { depthSize: 'small', maxDepth },
            jsonLeaf,
            fc.array(tie('value'), { maxLength: 4 }),
            fc.dictionary(safeKey, tie('value'), { maxKeys: 4 }),
        ),
    })).value;

const anArray = fc.array(jsonLeaf, { maxLength: 3 });
const anObject = fc.dictionary(
    safeKey.filter((k) => k !== 'url' && k !== 'uuid'),
    jsonLeaf,
    { maxKeys: 3 },
);

export const notAString: fc.Arbitrary<unknown> = fc.oneof(aNumber, fc.boolean(), anArray, anObject);
/** Not an object (and not null: callers add null where the field is not nullable). */
export const notAnObject: fc.Arbitrary<unknown> = fc.oneof(aNumber, fc.boolean(), anArray, fc.string(), garbage(10));

/** A string longer than `limit` UTF-16 units, otherwise harmless. */
export const oversized = (limit: number): fc.Arbitrary<string> =>
    fc
        .tuple(fc.integer({ min: 1, max: 300 }), fc.constantFrom('a', 'é', '🤒', ' ', '中'))
        .map(([extra, c]) => `x${'a'.repeat(limit - 1)}${c.repeat(extra)}`);

export const withControl: fc.Arbitrary<string> = fc.tuple(printable(10), controlChar, printable(10)).map(([a, c, b]) => `${a}${c}${b}`);

/** Anything an optional text field of at most `max` characters refuses. */
export const badText = (max: number): fc.Arbitrary<unknown> => fc.oneof(notAString, oversized(max), withControl);

/** Strings that are not RapidPro contact UUIDs (as sent in a JSON body). */
export const nonUuid: fc.Arbitrary<string> = fc
    .oneof(
        garbage(40),
        fc.string({ maxLength: 40 }),
        fc.constantFrom(
            '',
            'null',
            'undefined',
            '0',
            '00000000-0000-0000-0000-00000000000',
            '{00000000-0000-0000-0000-000000000000}',
            'urn:uuid:5e84a831-b9d4-4f21-b7ab-3fcd145ab4f9',
            '5e84a831b9d44f21b7ab3fcd145ab4f9',
            '5e84a831-b9d4-4f21-b7ab-3fcd145ab4f9-',
            ' 5e84a831-b9d4-4f21-b7ab-3fcd145ab4f9',
            '5e84a831-b9d4-4f21-b7ab-3fcd145ab4f9\n',
            'whatsapp:5511999990000',
            '@contact.uuid',
        ),
        fc
            .tuple(fc.uuid(), fc.nat(35), fc.oneof(fc.constantFrom('g', 'z', '-', '', 'aa', ' ', '\u0000', 'é', '０'), garbage(2)))
            .map(([uuid, at, c]) => uuid.slice(0, at) + c + uuid.slice(at + 1)),
    )
    .filter((s) => !UUID_RE.test(s));

// ------------------------------------------------------------------------------------------- attachments

export const validAttachment = fc.constantFrom<unknown>(
    'https://example.org/a.jpg',
    'image/jpeg:https://example.org/b.jpg',
    { content_type: 'image/png', url: 'http://example.org/c.png' },
    { url: 'https://example.org/d.pdf' },
);

/** Attachment URLs that are not http(s) (and not RapidPro `geo:` locations). */
export const nonHttpUrl: fc.Arbitrary<string> = fc
    .oneof(
        fc.constantFrom(
            'ftp://example.org/a.jpg',
            'file:///etc/passwd',
            'javascript:alert(1)',
            'data:image/png;base64,iVBORw0KGgo=',
            'mailto:a@example.org',
            '//cdn.example.org/x.png',
            '/relative/x.png',
            'x.png',
            'http:/example.org',
            'https://',
            'http:///x',
            'http:// example.org',
            'http://exa mple.org/x.png',
            'https://example.org/a b.png',
            'image/jpeg:ftp://example.org/x.jpg',
            'image/jpeg:',
            'htp://example.org',
            'ws://example.org',
            'gopher://example.org',
            '@input.attachments',
            'https:example.org',
        ),
        garbage(30),
    )
    .filter(
        (s) =>
            !/^\s*(?:[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(?:;[^:]*)?:)?https?:\/\/[^\s/]+\S*\s*$/i.test(s) &&
            !/geo/i.test(s) &&
            !/^\s*\[/.test(s),
    );

const tooLongUrl = fc.integer({ min: 1, max: 400 }).map((n) => `https://example.org/${'p'.repeat(LIMITS.urlLength - 19 + n)}`);

const wrongShapeAttachment: fc.Arbitrary<unknown> = fc.oneof(
    aNumber,
    fc.boolean(),
    fc.constant(null),
    anArray,
    anObject,
    fc.constant({}),
    notAString.map((url) => ({ url })),
    notAString.map((content_type) => ({ content_type, url: 'https://example.org/x.png' })),
    oversized(LIMITS.nameLength).map((content_type) => ({ content_type, url: 'https://example.org/x.png' })),
    withControl.map((content_type) => ({ content_type, url: 'https://example.org/x.png' })),
    withControl.map((s) => `https://example.org/${s}`),
);

function insertAt<T>(list: T[], index: number, item: T): T[] {
    const at = index % (list.length + 1);
    return [...list.slice(0, at), item, ...list.slice(at)];
}

/** An `attachments` value the app refuses, the field that should be named, and why. */
export const badAttachments = (options: { urlChecked: boolean }): fc.Arbitrary<unknown> => {
    const validList = fc.array(validAttachment, { maxLength: 4 });
    const choices: Array<fc.Arbitrary<unknown>> = [
        fc.oneof(aNumber, fc.boolean(), anObject),
        fc.array(validAttachment, { minLength: LIMITS.attachments + 1, maxLength: LIMITS.attachments + 40 }),
        fc.tuple(validList, fc.nat(), wrongShapeAttachment).map(([list, at, item]) => insertAt(list, at, item)),
        withControl,
    ];
    if (options.urlChecked) {
        choices.push(
            fc
                .tuple(validList, fc.nat(), nonHttpUrl, fc.boolean())
                .map(([list, at, url, asObject]) => insertAt(list, at, asObject ? { url } : url)),
            fc
                .tuple(validList, fc.nat(), tooLongUrl, fc.boolean())
                .map(([list, at, url, asObject]) => insertAt<unknown>(list, at, asObject ? { url } : url)),
            // RapidPro's quoted "@input.attachments": a JSON list inside a string.
            fc.oneof(
                nonHttpUrl.map((url) => JSON.stringify([url])),
                fc.constantFrom(
                    '[1,2]',
                    '[{"url":"https://example.org/x.png"}]',
                    '[broken',
                    '["https://example.org/a.jpg",]',
                    '{"url":"https://example.org"}x',
                    '[null]',
                ),
                fc
                    .integer({ min: LIMITS.attachments + 1, max: 30 })
                    .map((n) => JSON.stringify(Array.from({ length: n }, (_, i) => `https://example.org/${i}.jpg`))),
            ),
            nonHttpUrl.filter((s) => s.trim() !== '' && s.trim() !== '[]'),
        );
    }
    return fc.oneof(...choices);
};

// ------------------------------------------------------------------------------------------- other fields

export const badHistory: fc.Arbitrary<unknown> = fc.oneof(
    aNumber,
    anArray,
    anObject,
    fc.string().filter((s) => s !== 'true' && s !== 'false'),
    fc.constantFrom('TRUE', 'yes', '1', ' true', 'false '),
);

export const goodFieldKey = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/).filter(isSafeKey);
const badFieldKey = fc
    .oneof(garbage(12), fc.constantFrom('', ' x', '-x', '.x', 'a/b', 'a:b', 'k'.repeat(65), 'ü', 'a\u0000', '$set', 'a[b]'))
    .filter((key) => !FIELD_KEY_RE.test(key) && isSafeKey(key));

export const badFields: fc.Arbitrary<unknown> = fc.oneof(
    notAnObject,
    fc
        .integer({ min: LIMITS.fields + 1, max: LIMITS.fields + 30 })
        .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, 'v']))),
    fc.tuple(badFieldKey, jsonLeaf).map(([key, value]) => ({ ok_field: 'v', [key]: value })),
    fc.tuple(goodFieldKey, fc.oneof(anArray, anObject)).map(([key, value]) => ({ [key]: value })),
);

const badResultEntry: fc.Arbitrary<unknown> = fc.oneof(
    anArray,
    notAString.map((name) => ({ name, value: 'v' })),
    fc.oneof(anArray, anObject).map((value) => ({ value })),
    notAString.map((category) => ({ value: 'v', category })),
    oversized(LIMITS.nameLength).map((name) => ({ name, value: 'v' })),
    oversized(LIMITS.nameLength).map((category) => ({ value: 'v', category })),
    withControl.map((name) => ({ name, value: 'v' })),
);

export const badResults: fc.Arbitrary<unknown> = fc.oneof(
    notAnObject,
    fc.tuple(safeKey, badResultEntry).map(([key, entry]) => ({ symptom: { value: 'fever' }, [key]: entry })),
    fc
        .integer({ min: LIMITS.results + 1, max: LIMITS.results + 40 })
        .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`r${i}`, { value: String(i) }]))),
);

/** A valid `results` object (RapidPro's flow results), unicode everywhere. */
export const validResults: fc.Arbitrary<Record<string, unknown>> = fc.dictionary(
    safeKey,
    fc.oneof(
        fc.record(
            {
                value: fc.oneof(printable(80), aNumber, fc.boolean(), fc.constant(null)),
                category: fc.option(printable(40, { maxUnits: LIMITS.nameLength }), { nil: undefined }),
                name: fc.option(printable(40, { maxUnits: LIMITS.nameLength }), { nil: undefined }),
                node_uuid: fc.option(fc.uuid(), { nil: undefined }),
                input: fc.option(junk(1), { nil: undefined }),
            },
            { requiredKeys: ['value'] },
        ),
        fc.oneof(printable(40), aNumber, fc.boolean(), fc.constant(null)),
    ),
    { maxKeys: 10 },
);

// ------------------------------------------------------------------------------------------- nesting

/** `{"a":{"a":...}}` / `[[...]]` mixes, `levels` containers deep. */
export const nested = (levels: fc.Arbitrary<number>): fc.Arbitrary<unknown> =>
    fc.tuple(levels, fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), jsonLeaf).map(([depth, pattern, leaf]) => {
        let value: unknown = leaf;
        for (let i = 0; i < depth; i++) {
            value = pattern[i % pattern.length] ? [value] : { a: value };
        }
        return value;
    });
