import { graphemes } from './graphemes';

/** Rocket.Chat's default `Message_MaxAllowedSize`, used when the server's value cannot be read. */
export const DEFAULT_ROOM_MESSAGE_LIMIT = 5000;

/**
 * Splits a note the app posts into a room into ordered messages of at most `maxLength` UTF-16
 * units (Rocket.Chat compares `msg.length`). Nothing is dropped: joining the parts gives the text
 * back exactly. A cut falls after a line break when one sits in the second half of a part, else
 * after whitespace, else between graphemes (never inside an emoji or a surrogate pair).
 */
export function splitForRoom(text: string, maxLength: number): string[] {
    if (!(maxLength >= 1)) {
        throw new RangeError('maxLength must be at least 1');
    }
    if (text.length <= maxLength) {
        return text.length > 0 ? [text] : [];
    }
    const parts: string[] = [];
    let current = '';
    let lastLineBreak = -1; // length of `current` just after its last line break
    let lastSpace = -1;
    const cutAt = (at: number) => {
        parts.push(current.slice(0, at));
        current = current.slice(at);
        lastLineBreak = -1;
        lastSpace = -1;
        // Recompute the cut points left in the carried-over text.
        for (let i = 0; i < current.length; i++) {
            if (current[i] === '\n') {
                lastLineBreak = i + 1;
            } else if (/\s/.test(current[i])) {
                lastSpace = i + 1;
            }
        }
    };
    for (const unit of graphemes(text)) {
        if (current.length + unit.length > maxLength && current.length > 0) {
            if (lastLineBreak > 0 && lastLineBreak >= maxLength / 2) {
                cutAt(lastLineBreak);
            } else if (lastSpace > 0 && lastSpace >= maxLength / 2) {
                cutAt(lastSpace);
            } else if (lastLineBreak > 0) {
                cutAt(lastLineBreak);
            } else if (lastSpace > 0) {
                cutAt(lastSpace);
            } else {
                cutAt(current.length);
            }
            if (current.length + unit.length > maxLength && current.length > 0) {
                cutAt(current.length);
            }
        }
        if (unit.length > maxLength) {
            // One grapheme longer than a whole message (a letter with hundreds of accents): by code points.
            for (const point of Array.from(unit)) {
                if (current.length + point.length > maxLength) {
                    cutAt(current.length);
                }
                current += point;
            }
            continue;
        }
        current += unit;
        if (unit.indexOf('\n') >= 0) {
            lastLineBreak = current.length;
        } else if (/^\s+$/.test(unit)) {
            lastSpace = current.length;
        }
    }
    if (current.length > 0) {
        parts.push(current);
    }
    return parts;
}
