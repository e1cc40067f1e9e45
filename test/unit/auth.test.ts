/**
 * Inbound authentication: `Authorization: Token <secret>` (RapidPro's convention) or
 * `Bearer <secret>`. Missing → 401, wrong → 403, no secret configured → 503 (never open).
 */
import { checkAuthorization, extractSecret, secretsMatch } from '../../src/inbound/auth';
import { authErrorResponse, errorResponse, type ErrorCode, okResponse, statusOf } from '../../src/inbound/responses';

const SECRET = 'kP9v-2mQx_7Lr4Tz';

describe('checkAuthorization', () => {
    it.each([`Token ${SECRET}`, `Bearer ${SECRET}`, `token ${SECRET}`, `BEARER ${SECRET}`, `  Token   ${SECRET}  `])(
        'accepts %p',
        (header) => {
            expect(checkAuthorization(header, SECRET)).toBe('ok');
        },
    );

    it('accepts a secret that contains spaces', () => {
        expect(checkAuthorization('Token correct horse battery', 'correct horse battery')).toBe('ok');
    });

    it.each([undefined, '', '   '])('reports %p as missing', (header) => {
        expect(checkAuthorization(header, SECRET)).toBe('missing');
    });

    it.each([
        'Token nope',
        `Token ${SECRET.toUpperCase()}`,
        `Token ${SECRET}x`,
        `Token ${SECRET.slice(0, -1)}`,
        `Basic ${Buffer.from(`user:${SECRET}`).toString('base64')}`,
    ])('reports %p as wrong', (header) => {
        expect(checkAuthorization(header, SECRET)).toBe('wrong');
    });

    it('never accepts the bare secret without a scheme, but says the word Token is missing', () => {
        expect(checkAuthorization(SECRET, SECRET)).toBe('no_prefix');
        expect(checkAuthorization(` ${SECRET} `, SECRET)).toBe('no_prefix');
        expect(checkAuthorization(`${SECRET}x`, SECRET)).toBe('wrong'); // no hint for a wrong secret
        const response = authErrorResponse('no_prefix');
        expect(response.status).toBe(403);
        expect(response.content).toEqual({ status: 'forbidden', error: expect.stringContaining('Authorization: Token <secret>') });
    });

    it.each([undefined, '', 'Token ', 'Token anything', 'Bearer '])(
        'is not_configured with an empty secret setting, whatever is sent (%p)',
        (header) => {
            expect(checkAuthorization(header, '')).toBe('not_configured');
        },
    );
});

describe('extractSecret and secretsMatch', () => {
    it('extracts the secret after the scheme', () => {
        expect(extractSecret(`Token ${SECRET}`)).toBe(SECRET);
        expect(extractSecret(`Bearer ${SECRET}`)).toBe(SECRET);
        expect(extractSecret(SECRET)).toBeUndefined();
    });

    it('compares secrets of any length without throwing', () => {
        expect(secretsMatch(SECRET, SECRET)).toBe(true);
        expect(secretsMatch('short', SECRET)).toBe(false);
        expect(secretsMatch('', SECRET)).toBe(false);
        expect(secretsMatch('ação', 'acao')).toBe(false);
    });
});

describe('responses', () => {
    it.each<[ErrorCode, number]>([
        ['unauthorized', 401],
        ['forbidden', 403],
        ['not_configured', 503],
        ['invalid_json', 400],
        ['invalid_request', 400],
        ['no_chat', 404],
        ['unknown_department', 404],
        ['no_agents', 503],
    ])('answers %s with HTTP %i', (code, status) => {
        expect(statusOf(code)).toBe(status);
        const response = errorResponse(code, 'A sentence for a human.');
        expect(response.status).toBe(status);
        expect(response.content).toEqual({ status: code, error: 'A sentence for a human.' });
        expect(JSON.stringify(response.headers)).toMatch(/application\/json/i);
    });

    it.each<['missing' | 'wrong' | 'not_configured', number, string]>([
        ['missing', 401, 'unauthorized'],
        ['wrong', 403, 'forbidden'],
        ['not_configured', 503, 'not_configured'],
    ])('answers an auth result %s with %i and a JSON {status, error}', (result, status, code) => {
        const response = authErrorResponse(result);
        expect(response.status).toBe(status);
        expect(response.content).toEqual({ status: code, error: expect.stringMatching(/\w+/) });
    });

    it('answers success with 200 and the JSON content', () => {
        const response = okResponse({ status: 'queued', room_id: 'r1' });
        expect(response.status).toBe(200);
        expect(response.content).toEqual({ status: 'queued', room_id: 'r1' });
    });
});
