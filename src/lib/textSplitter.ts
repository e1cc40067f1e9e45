import { codePointLength, graphemes } from './graphemes';

const WHITESPACE = /^\s+$/;

/** Splits one grapheme longer than a whole part (say a letter with dozens of accents) by code points. */
function splitOversized(unit: string, maxLength: number): string[] {
    const points = Array.from(unit);
    const out: string[] = [];
    for (let i = 0; i < points.length; i += maxLength) {
        out.push(points.slice(i, i + maxLength).join(''));
    }
    return out;
}

/**
 * The graphemes of the text from `offset`, about two parts' worth: segmenting only a window keeps
 * the work linear on very long texts. The last grapheme of a window that stops before the end of
 * the text may be cut, so it is left for the next window.
 */
function windowAt(text: string, offset: number, maxLength: number): { units: string[]; reachesEnd: boolean } {
    const size = maxLength * 4 + 64; // UTF-16 units: at least two parts of astral characters
    const reachesEnd = offset + size >= text.length;
    const units = graphemes(text.slice(offset, offset + size));
    if (!reachesEnd && units.length > 1) {
        units.pop();
    }
    const out: string[] = [];
    for (const unit of units) {
        if (codePointLength(unit) > maxLength) {
            out.push(...splitOversized(unit, maxLength));
        } else {
            out.push(unit);
        }
    }
    return { units: out, reachesEnd };
}

function joinedLength(units: string[], count: number): number {
    let length = 0;
    for (let i = 0; i < count; i++) {
        length += units[i].length;
    }
    return length;
}

/**
 * Splits text into ordered parts of at most `maxLength` code points (RapidPro counts like Python's
 * `len`), cutting at whitespace (preferring a line break in the second half of a part), never inside
 * a word unless the word alone is longer than a part, and never inside a grapheme (emoji, ZWJ
 * sequence, flag, surrogate pair).
 */
export function splitText(text: string, maxLength: number): string[] {
    if (maxLength < 1) {
        throw new RangeError('maxLength must be at least 1');
    }
    if (codePointLength(text) <= maxLength) {
        return text.length > 0 ? [text] : [];
    }

    const parts: string[] = [];
    let offset = 0;
    while (offset < text.length) {
        const { units, reachesEnd } = windowAt(text, offset, maxLength);
        let start = 0;
        while (start < units.length && WHITESPACE.test(units[start])) {
            start++; // whitespace left over between parts
        }
        if (start >= units.length) {
            if (reachesEnd) {
                break;
            }
            offset += joinedLength(units, units.length);
            continue;
        }

        let length = 0;
        let end = start;
        let lastSpace = -1;
        let lastNewline = -1;
        while (end < units.length) {
            const size = codePointLength(units[end]);
            if (length + size > maxLength) {
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

        if (end >= units.length && reachesEnd) {
            parts.push(units.slice(start).join('').replace(/\s+$/, ''));
            break;
        }

        // `end` is the first grapheme that did not fit. If it is whitespace, the cut is clean.
        let cut: number;
        if (end < units.length && WHITESPACE.test(units[end])) {
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
        offset += joinedLength(units, cut);
    }
    return parts;
}
