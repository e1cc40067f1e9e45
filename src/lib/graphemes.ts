/**
 * Grapheme and code point helpers. RapidPro counts text length in code points (Python `len`),
 * and a part boundary must never fall inside an emoji sequence or a surrogate pair.
 */

interface SegmenterLike {
    segment(input: string): Iterable<{ segment: string }>;
}

interface IntlWithSegmenter {
    Segmenter?: new (locale?: string, options?: { granularity: 'grapheme' }) => SegmenterLike;
}

let segmenter: SegmenterLike | null | undefined;

function getSegmenter(): SegmenterLike | null {
    if (segmenter === undefined) {
        const ctor = (Intl as unknown as IntlWithSegmenter).Segmenter;
        segmenter = ctor ? new ctor(undefined, { granularity: 'grapheme' }) : null;
    }
    return segmenter;
}

export function codePointLength(text: string): number {
    let count = 0;
    for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
            const next = text.charCodeAt(i + 1);
            if (next >= 0xdc00 && next <= 0xdfff) {
                i++;
            }
        }
        count++;
    }
    return count;
}

const JOINERS = /^[\u200d\ufe0e\ufe0f\u20e3]|^\ud83c[\udffb-\udfff]|^\udb40[\udc20-\udc7f]/;

/** Fallback when Intl.Segmenter is missing: keeps ZWJ sequences, variation selectors, skin tones and flags together. */
const REGIONAL_INDICATOR = /^\ud83c[\udde6-\uddff]$/;

/** A lone regional indicator waiting for its pair (two of them make a flag). */
function isOpenFlag(grapheme: string): boolean {
    return REGIONAL_INDICATOR.test(grapheme);
}

function segmentByCodePoints(text: string): string[] {
    const out: string[] = [];
    const points = Array.from(text);
    for (let i = 0; i < points.length; i++) {
        const point = points[i];
        const previous = out.length > 0 ? out[out.length - 1] : '';
        const pairsFlag = REGIONAL_INDICATOR.test(point) && isOpenFlag(previous);
        if (out.length > 0 && (JOINERS.test(point) || previous.endsWith('\u200d') || pairsFlag)) {
            out[out.length - 1] = previous + point;
        } else {
            out.push(point);
        }
    }
    return out;
}

export function graphemes(text: string): string[] {
    const seg = getSegmenter();
    if (!seg) {
        return segmentByCodePoints(text);
    }
    const out: string[] = [];
    for (const part of seg.segment(text)) {
        out.push(part.segment);
    }
    return out;
}
