/**
 * Parsing of the bodies RapidPro sends: the default Call Webhook body, the legacy/resthook body and
 * custom bodies flow designers write. Bad input is a 400 (ok:false) whose error names the field.
 * Body shapes are RapidPro's (docs/RAPIDPRO.md), not the parser's.
 */
import {
    parseAttachment,
    parseCloseRequest,
    parseContactMessageRequest,
    parseContactQuery,
    parseHandoffRequest,
    parseStatusRequest,
    parseTransferRequest,
    readJsonBody,
} from '../../src/inbound/payloads';

const CONTACT = '5d76d86b-3bb9-4d5a-b822-c9d86f5d8e4b';
const FLOW = 'f5901b62-ba76-4003-9c62-72fdacc1b7b7';
const INPUT_UUID = '9a8b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d';
const PHOTO = 'https://rapidpro.example.org/media/attachments/1/2/photo.jpg';
const VOICE = 'https://rapidpro.example.org/media/attachments/1/2/voice.ogg';

/** What a new Call Webhook action posts by default (flow editor template). */
function defaultWebhookBody(results: Record<string, unknown> = {}) {
    return {
        contact: { uuid: CONTACT, name: 'Maria Silva', urn: 'whatsapp:5511999998888' },
        flow: { uuid: FLOW, name: 'Triagem' },
        results: {
            sintoma: { value: 'febre', category: 'Febre' },
            idade: { value: '42', category: 'Adulto' },
            ...results,
        },
    };
}

/** The legacy / resthook body, with every key RapidPro puts in it. */
function legacyBody(input: Record<string, unknown> = {}) {
    return {
        channel: { uuid: 'b3c4d5e6-1111-4222-8333-944455566677', name: 'WhatsApp' },
        contact: { uuid: CONTACT, name: 'Maria Silva', urn: 'whatsapp:5511999998888', language: 'por' },
        flow: { uuid: FLOW, name: 'Triagem', revision: 42 },
        input: {
            uuid: INPUT_UUID,
            type: 'msg',
            text: 'Estou com febre',
            created_on: '2024-05-01T12:34:56.789012Z',
            urn: { scheme: 'whatsapp', path: '5511999998888', display: '' },
            attachments: [{ content_type: 'image/jpeg', url: PHOTO }],
            channel: { uuid: 'b3c4d5e6-1111-4222-8333-944455566677', name: 'WhatsApp' },
            ...input,
        },
        path: [
            {
                uuid: 'a1a1a1a1-0000-4000-8000-000000000001',
                node_uuid: 'a1a1a1a1-0000-4000-8000-000000000002',
                arrived_on: '2024-05-01T12:34:50.000000Z',
                exit_uuid: 'a1a1a1a1-0000-4000-8000-000000000003',
            },
        ],
        results: {
            sintoma: {
                name: 'Sintoma',
                value: 'febre',
                category: 'Febre',
                node_uuid: 'a1a1a1a1-0000-4000-8000-000000000002',
                input: 'Estou com febre',
                created_on: '2024-05-01T12:34:56.789012Z',
            },
        },
        run: { uuid: 'c7c7c7c7-0000-4000-8000-000000000004', created_on: '2024-05-01T12:30:00.000000Z' },
    };
}

type Failure = { ok: false; code: string; error: string };

function expectFailure(result: { ok: boolean }, field: RegExp, code = 'invalid_request'): void {
    expect(result.ok).toBe(false);
    const failure = result as Failure;
    expect(failure.code).toBe(code);
    expect(failure.error).toMatch(field);
}

function value<T>(result: { ok: true; value: T } | { ok: false; error: string }): T {
    if (!result.ok) {
        throw new Error(`expected ok, got: ${result.error}`);
    }
    return result.value;
}

describe('handoff', () => {
    it('accepts the default Call Webhook body as is', () => {
        const handoff = value(parseHandoffRequest(defaultWebhookBody()));
        expect(handoff.contact).toEqual(expect.objectContaining({ uuid: CONTACT, name: 'Maria Silva', urn: 'whatsapp:5511999998888' }));
        expect(handoff.flow).toEqual({ uuid: FLOW, name: 'Triagem' });
        expect(handoff.results).toEqual([
            expect.objectContaining({ key: 'sintoma', value: 'febre', category: 'Febre' }),
            expect.objectContaining({ key: 'idade', value: '42', category: 'Adulto' }),
        ]);
        expect(handoff.department).toBeUndefined();
        expect(handoff.attachments).toEqual([]);
    });

    it('accepts the same body when the engine hands it over as a JSON string', () => {
        const fromString = value(parseHandoffRequest(JSON.stringify(defaultWebhookBody())));
        expect(fromString).toEqual(value(parseHandoffRequest(defaultWebhookBody())));
    });

    it('names each result after its key when the body carries no name (default body)', () => {
        const handoff = value(parseHandoffRequest(defaultWebhookBody()));
        expect(handoff.results[0].name).toBe('sintoma');
    });

    it('accepts the legacy/resthook body, with the contact language and result names', () => {
        const handoff = value(parseHandoffRequest(legacyBody()));
        expect(handoff.contact).toEqual({ uuid: CONTACT, name: 'Maria Silva', urn: 'whatsapp:5511999998888', language: 'por' });
        expect(handoff.results).toEqual([expect.objectContaining({ key: 'sintoma', name: 'Sintoma', value: 'febre', category: 'Febre' })]);
    });

    it('accepts a legacy body of a flow not started by a message (input null)', () => {
        expect(parseHandoffRequest({ ...legacyBody(), input: null }).ok).toBe(true);
    });

    it('reads the optional department, first text, fields and history', () => {
        const handoff = value(
            parseHandoffRequest({
                ...defaultWebhookBody(),
                department: '  Cardiologia ',
                text: 'Paciente com febre há 3 dias',
                fields: { cpf: '123.456.789-00', prioridade: 2, gestante: false },
                history: true,
            }),
        );
        expect(handoff.department).toBe('Cardiologia');
        expect(handoff.text).toBe('Paciente com febre há 3 dias');
        expect(handoff.fields).toEqual({ cpf: '123.456.789-00', prioridade: '2', gestante: 'false' });
        expect(handoff.history).toBe(true);
    });

    it('treats an empty department as "use the default department"', () => {
        expect(value(parseHandoffRequest({ ...defaultWebhookBody(), department: '' })).department).toBeUndefined();
    });

    it.each([
        [true, true],
        ['true', true],
        [false, false],
        ['false', false],
        [undefined, undefined],
    ])('reads history %p as %p', (history, expected) => {
        expect(value(parseHandoffRequest({ ...defaultWebhookBody(), history })).history).toBe(expected);
    });

    it('rejects fields that are not short key names', () => {
        expectFailure(parseHandoffRequest({ ...defaultWebhookBody(), fields: { 'bad/key': 'x' } }), /fields/);
    });

    it('rejects too many fields', () => {
        const fields: Record<string, string> = {};
        for (let i = 0; i < 500; i++) fields[`f${i}`] = 'x';
        expectFailure(parseHandoffRequest({ ...defaultWebhookBody(), fields }), /fields/);
    });

    it('rejects too many results', () => {
        const results: Record<string, unknown> = {};
        for (let i = 0; i < 1000; i++) results[`r${i}`] = { value: 'x', category: 'Other' };
        expectFailure(parseHandoffRequest(defaultWebhookBody(results)), /results/);
    });

    it("takes the first text's message id from the Idempotency-Key header, else message_id; refuses a bad header", () => {
        expect(value(parseHandoffRequest({ ...defaultWebhookBody(), message_id: 'm-1' }, 'key-1')).messageId).toBe('key-1');
        expect(value(parseHandoffRequest({ ...defaultWebhookBody(), message_id: 'm-1' })).messageId).toBe('m-1');
        expectFailure(parseHandoffRequest(defaultWebhookBody(), 'x'.repeat(201)), /Idempotency-Key/);
        expectFailure(parseHandoffRequest(defaultWebhookBody(), 'bad\u0001key'), /Idempotency-Key/);
    });

    it("keeps long result values and fields whole (the agent's note is split instead)", () => {
        const long = 'w'.repeat(9000);
        const handoff = value(parseHandoffRequest({ ...defaultWebhookBody({ story: { value: long } }), fields: { note: long } }));
        expect(handoff.results.find((result) => result.key === 'story')?.value).toBe(long);
        expect(handoff.fields.note).toBe(long);
    });
});

describe('contact', () => {
    it('lower-cases an upper-case contact UUID so the same contact is found again', () => {
        const body = { contact: { uuid: CONTACT.toUpperCase() } };
        expect(value(parseStatusRequest(body)).contact.uuid).toBe(CONTACT);
    });

    it('takes a contact without name or urn (null or empty)', () => {
        const contact = value(parseStatusRequest({ contact: { uuid: CONTACT, name: null, urn: '' } })).contact;
        expect(contact).toEqual(expect.objectContaining({ uuid: CONTACT }));
        expect(contact.name).toBeUndefined();
        expect(contact.urn).toBeUndefined();
    });

    it.each([
        ['not a UUID', { contact: { uuid: 'abc' } }, /contact\.uuid/],
        ['a URN instead of a UUID', { contact: { uuid: 'tel:+5511999998888' } }, /contact\.uuid/],
        ['an empty UUID', { contact: { uuid: '' } }, /contact\.uuid/],
        ['a number as UUID', { contact: { uuid: 12345 } }, /contact\.uuid/],
        ['no UUID', { contact: { name: 'Maria' } }, /contact\.uuid/],
        ['no contact', { flow: { uuid: FLOW, name: 'x' } }, /contact/],
        ['a contact string', { contact: CONTACT }, /contact/],
        ['a contact array', { contact: [{ uuid: CONTACT }] }, /contact/],
        ['a null contact', { contact: null }, /contact/],
    ])('rejects %s', (_label, body, field) => {
        expectFailure(parseHandoffRequest(body), field);
        expectFailure(parseContactMessageRequest({ ...body, text: 'hi' }), field);
        expectFailure(parseCloseRequest(body), field);
        expectFailure(parseStatusRequest(body), field);
    });
});

describe('message', () => {
    it('takes the text and attachments from input in the legacy body, and input.uuid as the message id', () => {
        const message = value(parseContactMessageRequest(legacyBody()));
        expect(message.contact.uuid).toBe(CONTACT);
        expect(message.text).toBe('Estou com febre');
        expect(message.attachments).toEqual([{ contentType: 'image/jpeg', url: PHOTO }]);
        expect(message.messageId).toBe(INPUT_UUID);
    });

    it('prefers top-level text and attachments over input', () => {
        const message = value(
            parseContactMessageRequest({
                ...legacyBody(),
                text: 'top-level text',
                attachments: [{ content_type: 'audio/ogg', url: VOICE }],
            }),
        );
        expect(message.text).toBe('top-level text');
        expect(message.attachments).toEqual([{ contentType: 'audio/ogg', url: VOICE }]);
    });

    it('takes the default webhook body with text added by the flow designer', () => {
        const message = value(parseContactMessageRequest({ ...defaultWebhookBody(), text: 'Olá doutor' }));
        expect(message.text).toBe('Olá doutor');
        expect(message.attachments).toEqual([]);
        expect(message.messageId).toBeUndefined();
    });

    it('takes an attachment-only message', () => {
        const message = value(parseContactMessageRequest(legacyBody({ text: '' })));
        expect(message.text).toBe('');
        expect(message.attachments).toHaveLength(1);
    });

    it('rejects a message with neither text nor attachments', () => {
        expectFailure(parseContactMessageRequest(defaultWebhookBody()), /text/);
        expectFailure(parseContactMessageRequest(legacyBody({ text: '   ', attachments: [] })), /text/);
    });

    describe('message id for de-duplication', () => {
        it('uses the Idempotency-Key header first', () => {
            const message = value(parseContactMessageRequest({ ...legacyBody(), message_id: 'from-body' }, 'from-header'));
            expect(message.messageId).toBe('from-header');
        });

        it('then message_id', () => {
            expect(value(parseContactMessageRequest({ ...legacyBody(), message_id: 'from-body' })).messageId).toBe('from-body');
            expect(value(parseContactMessageRequest({ ...legacyBody(), message_id: 'from-body' }, '')).messageId).toBe('from-body');
        });

        it('then input.uuid', () => {
            expect(value(parseContactMessageRequest(legacyBody())).messageId).toBe(INPUT_UUID);
        });

        it('rejects an Idempotency-Key with control characters or absurd length', () => {
            expectFailure(parseContactMessageRequest(legacyBody(), 'abc\u0000def'), /Idempotency-Key/);
            expectFailure(parseContactMessageRequest(legacyBody(), 'k'.repeat(5000)), /Idempotency-Key/);
        });
    });

    describe('live agents mediator alias (sendMessageToAgent)', () => {
        it('takes the text from results.clientmessage.value in the default body', () => {
            const body = defaultWebhookBody({ clientmessage: { value: 'Preciso falar com alguém', category: 'Has Text' } });
            expect(value(parseContactMessageRequest(body, undefined, 'clientmessage')).text).toBe('Preciso falar com alguém');
        });

        it('takes it from the legacy result shape too', () => {
            const body = legacyBody({ text: '' });
            (body.results as Record<string, unknown>).clientmessage = { name: 'clientMessage', value: 'Oi', category: 'Has Text' };
            expect(value(parseContactMessageRequest({ ...body, input: null }, undefined, 'clientmessage')).text).toBe('Oi');
        });
    });
});

describe('attachments', () => {
    it('accepts {content_type, url} objects', () => {
        const message = value(
            parseContactMessageRequest({
                contact: { uuid: CONTACT },
                attachments: [
                    { content_type: 'image/jpeg', url: PHOTO },
                    { content_type: 'audio/ogg', url: VOICE },
                ],
            }),
        );
        expect(message.attachments).toEqual([
            { contentType: 'image/jpeg', url: PHOTO },
            { contentType: 'audio/ogg', url: VOICE },
        ]);
    });

    it('accepts RapidPro\'s expression form "image/jpeg:https://..." (unquoted @input.attachments)', () => {
        const message = value(
            parseContactMessageRequest({
                contact: { uuid: CONTACT },
                attachments: [`image/jpeg:${PHOTO}`, `audio/ogg:${VOICE}`],
            }),
        );
        expect(message.attachments).toEqual([
            { contentType: 'image/jpeg', url: PHOTO },
            { contentType: 'audio/ogg', url: VOICE },
        ]);
    });

    it('accepts a quoted "@input.attachments" (a JSON list inside a string)', () => {
        const message = value(
            parseContactMessageRequest({
                contact: { uuid: CONTACT },
                text: 'veja',
                attachments: JSON.stringify([`image/jpeg:${PHOTO}`, `audio/ogg:${VOICE}`]),
            }),
        );
        expect(message.attachments).toEqual([
            { contentType: 'image/jpeg', url: PHOTO },
            { contentType: 'audio/ogg', url: VOICE },
        ]);
    });

    it('accepts a quoted empty list', () => {
        const message = value(parseContactMessageRequest({ contact: { uuid: CONTACT }, text: 'oi', attachments: '[]' }));
        expect(message.attachments).toEqual([]);
    });

    it('accepts a bare URL without a type', () => {
        const message = value(parseContactMessageRequest({ contact: { uuid: CONTACT }, attachments: [PHOTO] }));
        expect(message.attachments).toEqual([{ url: PHOTO }]);
    });

    it.each([
        'javascript:alert(1)',
        'file:///etc/passwd',
        'ftp://example.org/a.jpg',
        'data:image/png;base64,iVBORw0KGgo=',
        'image/jpeg:ftp://example.org/a.jpg',
        'not a url',
    ])('rejects the non-http(s) attachment %p', (url) => {
        expectFailure(parseContactMessageRequest({ contact: { uuid: CONTACT }, text: 'x', attachments: [url] }), /attachment/);
        expectFailure(
            parseContactMessageRequest({ contact: { uuid: CONTACT }, text: 'x', attachments: [{ content_type: 'image/png', url }] }),
            /attachment/,
        );
    });

    it("rejects more than 10 attachments (RapidPro's own limit)", () => {
        const many = Array.from({ length: 50 }, (_, i) => `image/jpeg:${PHOTO}?n=${i}`);
        expectFailure(parseContactMessageRequest({ contact: { uuid: CONTACT }, attachments: many }), /attachments/);
        expectFailure(parseContactMessageRequest({ contact: { uuid: CONTACT }, attachments: JSON.stringify(many) }), /attachments/);
    });

    it('rejects attachments of the wrong type or a broken quoted list', () => {
        expectFailure(parseContactMessageRequest({ contact: { uuid: CONTACT }, text: 'x', attachments: 5 }), /attachments/);
        expectFailure(
            parseContactMessageRequest({ contact: { uuid: CONTACT }, text: 'x', attachments: '["image/jpeg:https://x' }),
            /attachments/,
        );
        expectFailure(
            parseContactMessageRequest({ contact: { uuid: CONTACT }, text: 'x', attachments: [{ content_type: 'image/png' }] }),
            /attachments/,
        );
    });

    it('parseAttachment lower-cases the content type and keeps the URL exact', () => {
        expect(parseAttachment('Image/JPEG:https://cdn.example.org/A.JPG?x=1')).toEqual({
            contentType: 'image/jpeg',
            url: 'https://cdn.example.org/A.JPG?x=1',
        });
    });
});

describe('close, transfer and status', () => {
    it('close accepts the legacy body and an optional comment', () => {
        expect(value(parseCloseRequest(legacyBody())).contact.uuid).toBe(CONTACT);
        expect(value(parseCloseRequest({ ...defaultWebhookBody(), comment: 'Contact said bye' })).comment).toBe('Contact said bye');
    });

    it('transfer needs a department', () => {
        expect(value(parseTransferRequest({ ...defaultWebhookBody(), department: ' Pediatria ' })).department).toBe('Pediatria');
        expectFailure(parseTransferRequest(defaultWebhookBody()), /department/);
        expectFailure(parseTransferRequest({ ...defaultWebhookBody(), department: '   ' }), /department/);
        expectFailure(parseTransferRequest({ ...defaultWebhookBody(), department: ['Pediatria'] }), /department/);
    });

    it('POST status accepts the default webhook body', () => {
        expect(value(parseStatusRequest(defaultWebhookBody())).contact.uuid).toBe(CONTACT);
    });

    it('GET status?contact= takes a UUID and rejects anything else', () => {
        expect(value(parseContactQuery({ contact: CONTACT.toUpperCase() })).contact.uuid).toBe(CONTACT);
        expectFailure(parseContactQuery({}), /contact/);
        expectFailure(parseContactQuery(undefined), /contact/);
        expectFailure(parseContactQuery({ contact: 'whatsapp:5511999998888' }), /contact/);
    });
});

describe('bad input', () => {
    it('reports malformed JSON as invalid_json', () => {
        expectFailure(parseHandoffRequest('{"contact": {"uuid": '), /JSON/, 'invalid_json');
    });

    it.each([
        ['an empty body', ''],
        ['no body', undefined],
        ['null', 'null'],
        ['a JSON array', JSON.stringify([{ contact: { uuid: CONTACT } }])],
        ['a JSON string', '"hello"'],
        ['a number', 42],
        ['an array', [{ contact: { uuid: CONTACT } }]],
    ])('rejects %s as a 400', (_label, body) => {
        const result = parseHandoffRequest(body);
        expect(result.ok).toBe(false);
        expect((result as Failure).code).toBe('invalid_request');
        expect((result as Failure).error.length).toBeGreaterThan(0);
    });

    it.each([
        ['text', { text: 123 }, /text/],
        ['text', { text: { value: 'hi' } }, /text/],
        ['input', { input: 'Estou com febre' }, /input/],
        ['input.text', { input: { text: ['a'] } }, /input\.text/],
        ['flow', { flow: 'Triagem' }, /flow/],
        ['results', { results: [{ value: 'x' }] }, /results/],
        ['message_id', { text: 'x', message_id: { id: 1 } }, /message_id/],
    ])('rejects a wrong type for %s, naming it', (_field, extra, field) => {
        expectFailure(parseContactMessageRequest({ contact: { uuid: CONTACT }, text: 'x', ...extra }), field);
    });

    it('rejects oversized text, naming the field', () => {
        expectFailure(parseContactMessageRequest({ contact: { uuid: CONTACT }, text: 'a'.repeat(100000) }), /text/);
        expectFailure(parseContactMessageRequest(legacyBody({ text: 'a'.repeat(100000) })), /input\.text/);
        expectFailure(parseHandoffRequest({ contact: { uuid: CONTACT, name: 'n'.repeat(10000) } }), /contact\.name/);
    });

    it('rejects a raw body bigger than RapidPro can send (256 KiB)', () => {
        const huge = JSON.stringify({ contact: { uuid: CONTACT }, padding: 'p'.repeat(300 * 1024) });
        expect(parseHandoffRequest(huge).ok).toBe(false);
    });

    it('rejects control characters in text, naming the field, but keeps tabs and line breaks', () => {
        expectFailure(parseContactMessageRequest({ contact: { uuid: CONTACT }, text: 'hi\u0000there' }), /text/);
        expectFailure(parseContactMessageRequest({ contact: { uuid: CONTACT }, text: 'bell\u0007' }), /text/);
        expectFailure(parseHandoffRequest({ contact: { uuid: CONTACT, name: 'Ma\u001bria' } }), /contact\.name/);
        expect(value(parseContactMessageRequest({ contact: { uuid: CONTACT }, text: 'linha 1\nlinha 2\r\n\tfim' })).text).toBe(
            'linha 1\nlinha 2\r\n\tfim',
        );
    });

    it('rejects deep nesting, even in keys it would otherwise ignore', () => {
        let nested: unknown = 'bottom';
        for (let i = 0; i < 50; i++) nested = { n: nested };
        expect(parseHandoffRequest({ contact: { uuid: CONTACT }, extra: nested }).ok).toBe(false);
    });

    it('rejects pathologically deep JSON text without throwing', () => {
        const deep = `{"contact":{"uuid":"${CONTACT}"},"x":${'['.repeat(100000)}${']'.repeat(100000)}}`;
        let result: { ok: boolean } | undefined;
        expect(() => {
            result = parseHandoffRequest(deep);
        }).not.toThrow();
        expect(result?.ok).toBe(false);
    });

    it('ignores extra keys it does not know', () => {
        const body = {
            ...legacyBody(),
            contact: {
                uuid: CONTACT,
                name: 'Maria',
                groups: [{ uuid: 'g', name: 'Pacientes' }],
                fields: { cpf: '1' },
                created_on: '2024-01-01',
            },
            custom: { anything: [1, 2, { three: true }] },
            webhook: 'whatever',
        };
        expect(parseHandoffRequest(body).ok).toBe(true);
        expect(parseContactMessageRequest(body).ok).toBe(true);
        expect(parseCloseRequest(body).ok).toBe(true);
        expect(parseStatusRequest(body).ok).toBe(true);
    });

    it('never throws on arbitrary JSON values', () => {
        const samples: unknown[] = [
            { contact: { uuid: CONTACT }, results: { a: null, b: 1, c: true, d: { value: null } } },
            { contact: { uuid: CONTACT }, input: { attachments: null, text: null, uuid: null } },
            { contact: { uuid: CONTACT }, fields: null, history: null, department: null },
            { contact: { uuid: CONTACT }, results: { r: [1, 2] } },
            { __proto__: { contact: { uuid: CONTACT } } },
            { contact: { uuid: CONTACT, toString: 1 } },
        ];
        for (const sample of samples) {
            for (const parse of [
                parseHandoffRequest,
                parseContactMessageRequest,
                parseCloseRequest,
                parseTransferRequest,
                parseStatusRequest,
            ]) {
                expect(() => parse(sample)).not.toThrow();
            }
        }
    });
});

describe('readJsonBody', () => {
    it('turns a JSON string into an object and passes an object through', () => {
        expect(readJsonBody('{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
        expect(readJsonBody({ a: 1 })).toEqual({ ok: true, value: { a: 1 } });
    });
});
