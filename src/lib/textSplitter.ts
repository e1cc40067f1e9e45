import { codePointLength, graphemes } from './graphemes';

const WHITESPACE = /^\s+$/;

/**
 * Splits text into ordered parts of at most `maxLength` code points, cutting at whitespace
 * (preferring a line break in the second half of a part), never inside a word unless the word
 * alone is longer than a part, and never inside a grapheme (emoji, surrogate pair, flag).
 */
export function splitText(text: string, maxLength: number): string[] {
    if (maxLength < 1) {
        throw new RangeError('maxLength must be at least 1');
    }
    if (codePointLength(text) <= maxLength) {
        return text.length > 0 ? [text] : [];
    }

    const units = graphemes(text);
    const parts: string[] = [];
    let start = 0;

    while (start < units.length) {
        // Skip whitespace left over between parts.
        while (start < units.length && WHITESPACE.test(units[start])) {
            start++;
        }
        if (start >= units.length) {
            break;
        }

        let length = 0;
        let end = start;
        let lastSpace = -1;
        let lastNewline = -1;
        while (end < units.length) {
            const size = codePointLength(units[end]);
            if (length + size > maxLength && end > start) {
                break;
            }
            if (WHITESPACE.test(units[end])) {
                lastSpace = end;
                if (units[end].indexOf('\n') >= 0) {
                    lastNewline = end;
                }
            }
            length += size;
            end++;
        }

        if (end >= units.length) {
            parts.push(units.slice(start).join('').replace(/\s+$/, ''));
            break;
        }

        // `end` is the first grapheme that did not fit. If it is whitespace, the cut is clean.
        let cut: number;
        if (WHITESPACE.test(units[end])) {
            cut = end;
        } else if (lastNewline > start && lastNewline - start >= (end - start) / 2) {
            cut = lastNewline;
        } else if (lastSpace > start) {
            cut = lastSpace;
        } else {
            cut = end; // a single word longer than a whole part
        }
        const part = units.slice(start, cut).join('').replace(/\s+$/, '');
        if (part.length > 0) {
            parts.push(part);
        }
        start = cut;
    }
    return parts;
}
