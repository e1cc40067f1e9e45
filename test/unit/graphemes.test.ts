/**
 * Grapheme and code point helpers: RapidPro counts length in code points (Python `len`), and a cut
 * must never fall inside an emoji sequence, flag, skin tone or surrogate pair, with or without
 * Intl.Segmenter in the runtime.
 */
import fc from 'fast-check';

import { codePointLength, graphemes } from '../../src/lib/graphemes';

const FAMILY = '👨‍👩‍👧‍👦';
const ENGLAND = '🏴󠁧󠁢󠁥󠁮󠁧󠁿';
const BRAZIL = '🇧🇷';
const PORTUGAL = '🇵🇹';
const THUMBS_DARK = '👍🏿';
const KEYCAP_ONE = '1️⃣';
const RED_HEART = '❤️';
const HEALTH_WORKER = '👩‍⚕️';

describe('codePointLength', () => {
    it('counts code points, not UTF-16 units', () => {
        expect(codePointLength('abc')).toBe(3);
        expect(codePointLength('😀')).toBe(1);
        expect(codePointLength('ação')).toBe(4);
        expect(codePointLength(FAMILY)).toBe(7); // 4 people + 3 zero-width joiners
        expect(codePointLength(BRAZIL)).toBe(2);
        expect(codePointLength(RED_HEART)).toBe(2); // heart + variation selector
    });

    it('agrees with Python-style counting for any string, lone surrogates included', () => {
        fc.assert(
            fc.property(fc.oneof(fc.fullUnicodeString(), fc.string16bits()), (text) => {
                expect(codePointLength(text)).toBe(Array.from(text).length);
            }),
        );
    });
});

function checkGraphemes(split: (text: string) => string[]): void {
    it('keeps each emoji sequence, flag, skin tone and keycap whole', () => {
        for (const emoji of [FAMILY, ENGLAND, BRAZIL, THUMBS_DARK, KEYCAP_ONE, RED_HEART, HEALTH_WORKER, '😀']) {
            expect(split(emoji)).toEqual([emoji]);
        }
    });

    it('separates neighbouring flags and emoji correctly', () => {
        expect(split(`${BRAZIL}${PORTUGAL}`)).toEqual([BRAZIL, PORTUGAL]);
        expect(split(`a${THUMBS_DARK}b${FAMILY} `)).toEqual(['a', THUMBS_DARK, 'b', FAMILY, ' ']);
    });

    it('gives back the text when the graphemes are joined', () => {
        fc.assert(
            fc.property(fc.array(fc.constantFrom('a', ' ', 'é', '😀', FAMILY, BRAZIL, THUMBS_DARK, KEYCAP_ONE, ENGLAND)), (pieces) => {
                const text = pieces.join('');
                expect(split(text).join('')).toBe(text);
            }),
        );
    });
}

describe('graphemes (Intl.Segmenter)', () => {
    checkGraphemes(graphemes);
});

describe('graphemes without Intl.Segmenter (older runtimes)', () => {
    let fallback: (text: string) => string[];

    function withoutSegmenter<T>(run: () => T): T {
        const intl = Intl as unknown as { Segmenter?: unknown };
        const saved = intl.Segmenter;
        delete intl.Segmenter;
        try {
            return run();
        } finally {
            intl.Segmenter = saved;
        }
    }

    beforeAll(() => {
        jest.isolateModules(() => {
            const isolated = require('../../src/lib/graphemes') as typeof import('../../src/lib/graphemes');
            fallback = (text: string) => withoutSegmenter(() => isolated.graphemes(text));
        });
    });

    checkGraphemes((text) => fallback(text));
});
