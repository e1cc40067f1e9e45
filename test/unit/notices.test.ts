/**
 * Lifecycle notices sent to the contact, in the contact's language (RapidPro stores ISO-639-3 codes
 * like eng/por/spa/fra; flows also use 2-letter and BCP-47 tags). The admin can override each notice
 * (placeholders {agent} and {department}), per language with a JSON object, or turn it off with '-'.
 */
import { recognizeLocale, toNoticeLocale } from '../../src/lib/languages';
import { correctionPrefix, type NoticeKind, renderNotice } from '../../src/lib/notices';

const KINDS: NoticeKind[] = ['queued', 'assigned', 'transferred', 'closed'];
const VARS = { agent: 'Dra. Ana Souza', department: 'Cardiologia' };

const builtIn = (kind: NoticeKind, language: string | null | undefined, defaultLanguage?: string) =>
    renderNotice(kind, language, '', VARS, defaultLanguage);

describe('languages', () => {
    it.each([
        ['eng', 'en'],
        ['en', 'en'],
        ['en-US', 'en'],
        ['EN_gb', 'en'],
        ['por', 'pt-BR'],
        ['pt', 'pt-BR'],
        ['pt-BR', 'pt-BR'],
        ['pt_BR', 'pt-BR'],
        ['pt-PT', 'pt-BR'],
        ['spa', 'es'],
        ['es', 'es'],
        ['es-MX', 'es'],
        ['fra', 'fr'],
        ['fr', 'fr'],
        ['fr-CA', 'fr'],
    ])('recognises %s as %s', (code, locale) => {
        expect(recognizeLocale(code)).toBe(locale);
    });

    it.each(['kin', 'swa', 'xx', '', '   '])('does not recognise %p', (code) => {
        expect(recognizeLocale(code)).toBeUndefined();
    });

    it('falls back to the given default for unknown or missing languages', () => {
        expect(toNoticeLocale('kin', 'es')).toBe('es');
        expect(toNoticeLocale(null, 'pt-BR')).toBe('pt-BR');
        expect(toNoticeLocale(undefined)).toBe('en');
    });
});

describe('renderNotice with built-in texts', () => {
    it.each(KINDS)('has a %s text in English, Portuguese, Spanish and French, all different', (kind) => {
        const texts = ['eng', 'por', 'spa', 'fra'].map((language) => builtIn(kind, language));
        texts.forEach((text) => {
            expect(text).toEqual(expect.any(String));
        });
        expect(new Set(texts).size).toBe(4);
    });

    it('speaks the language the texts are labelled with', () => {
        expect(builtIn('closed', 'eng')).toMatch(/\b(conversation|chat|thank)/i);
        expect(builtIn('closed', 'por')).toMatch(/\b(conversa|obrigad|atendimento)/i);
        expect(builtIn('closed', 'spa')).toMatch(/\b(conversación|gracias|chat)/i);
        expect(builtIn('closed', 'fra')).toMatch(/\b(conversation|merci|discussion)/i);
    });

    it('gives the same text for ISO-639-3, 2-letter and BCP-47 codes of a language', () => {
        for (const kind of KINDS) {
            expect(builtIn(kind, 'por')).toBe(builtIn(kind, 'pt-BR'));
            expect(builtIn(kind, 'por')).toBe(builtIn(kind, 'pt'));
            expect(builtIn(kind, 'eng')).toBe(builtIn(kind, 'en-US'));
            expect(builtIn(kind, 'spa')).toBe(builtIn(kind, 'es'));
        }
    });

    it('uses the default language for a contact whose language has no texts, or none at all', () => {
        for (const kind of KINDS) {
            expect(builtIn(kind, 'kin', 'spa')).toBe(builtIn(kind, 'spa'));
            expect(builtIn(kind, null, 'por')).toBe(builtIn(kind, 'por'));
            expect(builtIn(kind, undefined)).toBe(builtIn(kind, 'eng'));
        }
    });

    it('names the agent when one is assigned', () => {
        for (const language of ['eng', 'por', 'spa', 'fra']) {
            expect(builtIn('assigned', language)).toContain(VARS.agent);
        }
    });

    it('names the department a chat was transferred to', () => {
        for (const language of ['eng', 'por', 'spa', 'fra']) {
            expect(builtIn('transferred', language)).toContain(VARS.department);
        }
    });

    it('tells a transfer by its department only: a chat handed to another agent is told by the "assigned" notice', () => {
        const notice = renderNotice('transferred', 'por', '', { agent: 'Dr. Paulo', department: 'Cardiologia' });
        expect(notice).toContain('Cardiologia');
        expect(notice).not.toContain('Dr. Paulo');
    });

    it('never shows a raw placeholder to the contact when a value is unknown', () => {
        for (const kind of KINDS) {
            for (const language of ['eng', 'por', 'spa', 'fra']) {
                expect(renderNotice(kind, language, '', {})).not.toMatch(/[{}]/);
            }
        }
    });
});

describe("renderNotice with the admin's override", () => {
    it('uses one override text for every language, with placeholders filled', () => {
        const override = '{agent} from {department} is with you now.';
        expect(renderNotice('assigned', 'por', override, VARS)).toBe('Dra. Ana Souza from Cardiologia is with you now.');
        expect(renderNotice('assigned', 'eng', override, VARS)).toBe('Dra. Ana Souza from Cardiologia is with you now.');
    });

    it('accepts a text that starts with a placeholder (a brace, yet not JSON)', () => {
        expect(renderNotice('assigned', 'eng', '{agent} is here to help', VARS)).toBe('Dra. Ana Souza is here to help');
    });

    it('inserts names literally, even with $ signs', () => {
        expect(renderNotice('assigned', 'eng', 'Hi, {agent}', { agent: "$& Co $'" })).toBe("Hi, $& Co $'");
    });

    it.each(['-', ' - '])('turns the notice off with %p', (off) => {
        for (const kind of KINDS) {
            expect(renderNotice(kind, 'eng', off, VARS)).toBeNull();
        }
    });

    it('takes a JSON object of per-language texts, falling back to the built-in text for other languages', () => {
        const override = JSON.stringify({ eng: 'You are number one, {agent} will answer.', por: 'Você é o próximo!' });
        expect(renderNotice('queued', 'eng', override, VARS)).toBe('You are number one, Dra. Ana Souza will answer.');
        expect(renderNotice('queued', 'pt-BR', override, VARS)).toBe('Você é o próximo!');
        expect(renderNotice('queued', 'spa', override, VARS)).toBe(builtIn('queued', 'spa'));
    });

    it('accepts 2-letter and BCP-47 keys in the JSON override', () => {
        const override = JSON.stringify({ en: 'Hello', 'pt-BR': 'Olá', es: 'Hola' });
        expect(renderNotice('closed', 'eng', override, {})).toBe('Hello');
        expect(renderNotice('closed', 'por', override, {})).toBe('Olá');
        expect(renderNotice('closed', 'spa', override, {})).toBe('Hola');
    });
});

describe('correctionPrefix', () => {
    it("marks a correction in the contact's language, else the default one", () => {
        const english = correctionPrefix('eng');
        const portuguese = correctionPrefix('por');
        expect(english).toMatch(/correction/i);
        expect(portuguese).toMatch(/corre/i);
        expect(portuguese).not.toBe(english);
        expect(correctionPrefix('kin', 'por')).toBe(portuguese);
        expect(correctionPrefix(undefined)).toBe(english);
    });
});
