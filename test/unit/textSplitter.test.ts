/**
 * splitText: an agent's long message becomes ordered parts RapidPro accepts. RapidPro counts length
 * in code points (Python `len`); a part is cut at whitespace, never inside a word unless the word
 * alone is longer than a part, and never inside an emoji, flag, skin tone or surrogate pair.
 */
import fc from 'fast-check';

import { splitText } from '../../src/lib/textSplitter';

/** Code points, as Python's len counts them. Independent of the code under test. */
const cp = (text: string): number => Array.from(text).length;

interface GraphemeSegmenter {
    segment(text: string): Iterable<{ index: number; segment: string }>;
}
// Intl.Segmenter is in Node 16+ but not in the ES2020 typings this project compiles with.
const { Segmenter } = Intl as unknown as { Segmenter: new (locale?: string, options?: { granularity: 'grapheme' }) => GraphemeSegmenter };
const segmenter = new Segmenter(undefined, { granularity: 'grapheme' });

/** Offsets (UTF-16) at which a grapheme ends, per the platform's Unicode segmentation. */
function graphemeBoundaries(text: string): Set<number> {
    const ends = new Set<number>([0]);
    for (const { index, segment } of segmenter.segment(text)) {
        ends.add(index + segment.length);
    }
    return ends;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?:^|[^\ud800-\udbff])[\udc00-\udfff]/;

const FAMILY = '👨‍👩‍👧‍👦'; // 7 code points joined by ZWJ
const ENGLAND = '🏴󠁧󠁢󠁥󠁮󠁧󠁿'; // black flag + 5 tag characters + cancel tag: 7 code points
const BRAZIL = '🇧🇷';
const THUMBS_MEDIUM = '👍🏽';
const HEALTH_WORKER = '👩‍⚕️';

/**
 * Where each part sits in the text: parts must appear in order, separated only by whitespace,
 * and together cover every non-whitespace character. Returns [start, end) of each part.
 */
function locateParts(text: string, parts: string[]): Array<[number, number]> {
    const spans: Array<[number, number]> = [];
    let position = 0;
    for (const part of parts) {
        const start = text.indexOf(part, position);
        expect(start).toBeGreaterThanOrEqual(0);
        expect(text.slice(position, start)).toMatch(/^\s*$/);
        spans.push([start, start + part.length]);
        position = start + part.length;
    }
    expect(text.slice(position)).toMatch(/^\s*$/);
    return spans;
}

/** The maximal run of non-whitespace around a cut at `offset`. */
function wordAround(text: string, offset: number): string {
    let from = offset;
    let to = offset;
    while (from > 0 && !/\s/.test(text[from - 1])) from--;
    while (to < text.length && !/\s/.test(text[to])) to++;
    return text.slice(from, to);
}

function checkSplit(text: string, maxLength: number): string[] {
    const parts = splitText(text, maxLength);
    const boundaries = graphemeBoundaries(text);
    const spans = locateParts(text, parts);
    for (const part of parts) {
        expect(cp(part)).toBeLessThanOrEqual(maxLength);
        expect(part.trim().length).toBeGreaterThan(0);
        expect(LONE_SURROGATE.test(part)).toBe(false);
    }
    for (let i = 0; i + 1 < spans.length; i++) {
        const cutEnd = spans[i][1];
        const nextStart = spans[i + 1][0];
        expect(boundaries.has(cutEnd)).toBe(true);
        expect(boundaries.has(nextStart)).toBe(true);
        if (cutEnd === nextStart) {
            // Cut with no whitespace between the parts: only allowed inside a word too long for a part.
            expect(cp(wordAround(text, cutEnd))).toBeGreaterThan(maxLength);
        }
    }
    return parts;
}

describe('splitText', () => {
    it('returns a text that fits as one part, unchanged', () => {
        expect(splitText('Olá, tudo bem? 😀', 4096)).toEqual(['Olá, tudo bem? 😀']);
    });

    it('returns no parts for an empty text', () => {
        expect(splitText('', 640)).toEqual([]);
    });

    it('refuses a maximum length below 1 instead of looping forever', () => {
        expect(() => splitText('hello world', 0)).toThrow();
    });

    it('cuts at whitespace and packs as many words as fit in each part', () => {
        expect(splitText('the quick brown fox jumps', 10)).toEqual(['the quick', 'brown fox', 'jumps']);
    });

    it('cuts at line breaks and tabs as whitespace too', () => {
        expect(splitText('aaaa\nbbbb\tcccc', 9)).toEqual(['aaaa\nbbbb', 'cccc']);
    });

    it('cuts a word only when the word alone is longer than a part', () => {
        const word = 'x'.repeat(25);
        const parts = checkSplit(`ok ${word} end`, 10); // checkSplit allows in-word cuts only in words over 10
        expect(parts.join('').replace(/\s/g, '')).toBe(`ok${word}end`);
    });

    it('counts code points like RapidPro: 640 astral emoji fit in a 640 part', () => {
        const text = '😀'.repeat(640); // 1280 UTF-16 units, 640 code points
        expect(splitText(text, 640)).toEqual([text]);
    });

    it('cuts a run of 641 emoji into 640 + 1 without breaking a surrogate pair', () => {
        const parts = splitText('😀'.repeat(641), 640);
        expect(parts).toEqual(['😀'.repeat(640), '😀']);
    });

    it('never separates a skin tone from its emoji', () => {
        expect(splitText(THUMBS_MEDIUM.repeat(5), 3)).toEqual(Array(5).fill(THUMBS_MEDIUM));
    });

    it('never splits a flag into its two regional indicators', () => {
        const parts = splitText(BRAZIL.repeat(10), 7);
        for (const part of parts) {
            expect(cp(part)).toBeLessThanOrEqual(7);
            expect(part).toMatch(/^(?:🇧🇷)+$/u);
        }
        expect(parts.join('')).toBe(BRAZIL.repeat(10));
    });

    it('never splits a ZWJ family or a tag-sequence flag', () => {
        expect(splitText(FAMILY.repeat(3), 10)).toEqual([FAMILY, FAMILY, FAMILY]);
        expect(splitText(ENGLAND.repeat(3), 10)).toEqual([ENGLAND, ENGLAND, ENGLAND]);
    });

    it('never lets a part exceed the maximum, even for one enormous grapheme (combining-mark "zalgo" text)', () => {
        // One base letter with 30 combining accents is one grapheme of 31 code points; RapidPro
        // rejects any part over the limit, so the whole message would be lost.
        const zalgo = `Z${'\u0301\u0300\u0302'.repeat(10)}`;
        const parts = splitText(`hi ${zalgo} there`, 20);
        for (const part of parts) {
            expect(cp(part)).toBeLessThanOrEqual(20);
        }
        expect(parts.join('').replace(/\s/g, '')).toBe(`hi${zalgo}there`);
    });

    it('splits a realistic 10 000-character message for RapidPro before 10.1.45 (640) in order', () => {
        const sentence = 'O paciente relata febre há três dias, dor de cabeça e cansaço 🤒. ';
        const text = sentence.repeat(Math.ceil(10000 / sentence.length)).trim();
        const parts = checkSplit(text, 640);
        expect(parts.length).toBeGreaterThanOrEqual(Math.ceil(cp(text) / 640));
        expect(parts.join(' ')).toBe(text);
    });

    it('splits a 40 000-character text (a raised Rocket.Chat message limit) into parts of at most 4096', () => {
        const text = 'palavra '.repeat(5000);
        const parts = splitText(text, 4096);
        expect(parts.join(' ')).toBe(text.trim());
        parts.forEach((part) => {
            expect(cp(part)).toBeLessThanOrEqual(4096);
        });
    });

    describe('properties over random text with emoji', () => {
        const pieces = [
            'a',
            'casa',
            'médico',
            'e\u0301',
            '漢字',
            '𝒜𝒷',
            'http://x.io/a?b=c',
            '😀',
            THUMBS_MEDIUM,
            FAMILY,
            ENGLAND,
            BRAZIL,
            '🇵🇹',
            '1️⃣',
            '❤️',
            HEALTH_WORKER,
            '!',
            ',',
            '',
        ];
        const word = fc.array(fc.constantFrom(...pieces), { minLength: 1, maxLength: 12 }).map((p) => p.join(''));
        const space = fc.constantFrom(' ', ' ', ' ', '  ', '\n', '\n\n', '\t', ' \n ');
        const text = fc
            .array(fc.tuple(word, space), { minLength: 1, maxLength: 120 })
            .map((pairs) => pairs.map(([w, s]) => w + s).join(''))
            .filter((t) => t.trim().length > 0);
        // The longest grapheme above is 7 code points, so every part can hold at least one.
        const maxLength = fc.integer({ min: 7, max: 80 });

        it('keeps every part within the limit, in order, losing nothing, cutting only at grapheme boundaries', () => {
            fc.assert(
                fc.property(text, maxLength, (t, max) => {
                    checkSplit(t, max);
                }),
                { numRuns: 300 },
            );
        });

        it('gives back the text, modulo whitespace at the cuts, when the parts are joined with spaces', () => {
            const plainWords = fc.array(fc.stringOf(fc.constantFrom('a', 'b', 'ç', '😀', BRAZIL), { minLength: 1, maxLength: 6 }), {
                minLength: 1,
                maxLength: 80,
            });
            fc.assert(
                fc.property(plainWords, space, fc.integer({ min: 12, max: 60 }), (words, separator, max) => {
                    const t = words.join(separator);
                    const normalise = (s: string) => s.replace(/\s+/g, ' ').trim();
                    expect(normalise(splitText(t, max).join(' '))).toBe(normalise(t));
                }),
                { numRuns: 200 },
            );
        });
    });
});
