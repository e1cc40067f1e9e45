import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { graphemes } from '../../src/lib/graphemes';
import { splitForRoom } from '../../src/lib/roomTextSplitter';

describe('splitForRoom (notes the app posts, within Message_MaxAllowedSize)', () => {
    it('keeps a short note whole and an empty one as nothing', () => {
        expect(splitForRoom('hello', 5)).toEqual(['hello']);
        expect(splitForRoom('', 5)).toEqual([]);
    });

    it('cuts after a line break in the second half of a part', () => {
        const text = 'line one is here\nline two is here\nline three';
        const parts = splitForRoom(text, 20);
        expect(parts[0]).toBe('line one is here\n');
        expect(parts.join('')).toBe(text);
        expect(parts.every((p) => p.length <= 20)).toBe(true);
    });

    it('cuts after a space when there is no line break, and inside a word only when it must', () => {
        expect(splitForRoom('aaaa bbbb cccc', 10)).toEqual(['aaaa bbbb ', 'cccc']);
        expect(splitForRoom('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    });

    it('counts UTF-16 units as Rocket.Chat does and never cuts an emoji', () => {
        const text = '👍🏽'.repeat(10); // 4 units each
        const parts = splitForRoom(text, 10);
        expect(parts.every((p) => p.length <= 10)).toBe(true);
        expect(parts[0]).toBe('👍🏽👍🏽');
        expect(parts.join('')).toBe(text);
    });

    it('a 20,000-character transcript at the 5000 limit: whole lines, full parts, nothing lost', () => {
        const lines = Array.from(
            { length: 300 },
            (_, i) => `[2026-12-01 10:${String(i % 60).padStart(2, '0')} UTC] Contact: message number ${i} with some words`,
        );
        const text = lines.join('\n');
        const parts = splitForRoom(text, 5000);
        expect(text.length).toBeGreaterThan(18000);
        expect(parts.length).toBeLessThanOrEqual(Math.ceil(text.length / (5000 - 70)));
        expect(parts.join('')).toBe(text);
        for (const part of parts.slice(0, -1)) {
            expect(part.endsWith('\n')).toBe(true); // whole lines
            expect(part.length).toBeGreaterThan(5000 - 70); // no line cut early
        }
    });

    it('property: lossless, within the limit, never inside a grapheme', () => {
        fc.assert(
            fc.property(fc.fullUnicodeString({ maxLength: 400 }), fc.integer({ min: 2, max: 60 }), (text, max) => {
                const parts = splitForRoom(text, max);
                expect(parts.join('')).toBe(text);
                for (const part of parts) {
                    expect(part.length).toBeLessThanOrEqual(max);
                    expect(part.length).toBeGreaterThan(0);
                }
                // Every cut is a grapheme boundary of the whole text (unless one grapheme exceeds a part).
                const boundaries = new Set<number>([0]);
                let at = 0;
                let oversized = false;
                for (const unit of graphemes(text)) {
                    at += unit.length;
                    boundaries.add(at);
                    oversized = oversized || unit.length > max;
                }
                if (!oversized) {
                    let offset = 0;
                    for (const part of parts) {
                        offset += part.length;
                        expect(boundaries.has(offset)).toBe(true);
                    }
                }
            }),
            { numRuns: 500 },
        );
    });
});
