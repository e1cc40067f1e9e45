/**
 * Rocket.Chat writes emoji as JoyPixels shortcodes (`:smile:`, `:thumbsup:`); WhatsApp, Telegram and
 * SMS contacts need the unicode characters. The shortcode table comes from emojibase-data
 * (bundled into the app at packaging time) and is loaded on first use.
 */

type ShortcodeTable = Record<string, string | string[]>;

let byShortcode: Map<string, string> | undefined;

function hexcodeToUnicode(hexcode: string): string {
    const points = hexcode.split('-').map((hex) => parseInt(hex, 16));
    let text = String.fromCodePoint(...points);
    // Code points below the emoji planes default to text presentation (❤, ☀, ✔): ask for the emoji one.
    if (points.length === 1 && points[0] < 0x1f000) {
        text += '\ufe0f';
    }
    return text;
}

function loadTable(): Map<string, string> {
    if (!byShortcode) {
        // require (not import) so the TypeScript compiler of rc-apps needs no JSON module support.
        const table: ShortcodeTable = require('emojibase-data/en/shortcodes/joypixels.json');
        const map = new Map<string, string>();
        for (const hexcode of Object.keys(table)) {
            const codes = table[hexcode];
            const unicode = hexcodeToUnicode(hexcode);
            for (const code of Array.isArray(codes) ? codes : [codes]) {
                if (!map.has(code)) {
                    map.set(code, unicode);
                }
            }
        }
        byShortcode = map;
    }
    return byShortcode;
}

/** A shortcode needs a letter or sign, so times like 10:30:45 stay untouched (except :100: and :1234:). */
const SHORTCODE = /:([a-z0-9_+-]*[a-z+-][a-z0-9_+-]*|100|1234):/g;
const CODE_SPAN = /(`+)[\s\S]*?\1/g;

function convertPlain(text: string, table: Map<string, string>): string {
    return text.replace(SHORTCODE, (match: string, code: string) => table.get(code) || match);
}

/** Replaces known shortcodes with unicode emoji, leaving code spans and unknown (custom) emoji alone. */
export function shortcodesToUnicode(text: string): string {
    if (text.indexOf(':') < 0) {
        return text;
    }
    const table = loadTable();
    let out = '';
    let last = 0;
    text.replace(CODE_SPAN, (span: string, _ticks: string, offset: number) => {
        out += convertPlain(text.slice(last, offset), table) + span;
        last = offset + span.length;
        return span;
    });
    return out + convertPlain(text.slice(last), table);
}
