/**
 * Rocket.Chat writes emoji as JoyPixels shortcodes; WhatsApp/Telegram/SMS contacts must get the
 * unicode characters. Expected code points are Unicode's (emoji-test.txt), not the module's table.
 */
import { shortcodesToUnicode } from '../../src/lib/emoji';

const u = (...points: number[]) => String.fromCodePoint(...points);

describe('shortcodesToUnicode', () => {
    it.each([
        [':smile:', u(0x1f604)],
        [':thumbsup:', u(0x1f44d)],
        [':+1:', u(0x1f44d)],
        [':-1:', u(0x1f44e)],
        [':joy:', u(0x1f602)],
        [':pray:', u(0x1f64f)],
        [':slight_smile:', u(0x1f642)],
        [':flag_br:', u(0x1f1e7, 0x1f1f7)],
        [':flag_pt:', u(0x1f1f5, 0x1f1f9)],
        [':thumbsup_tone2:', u(0x1f44d, 0x1f3fc)],
        [':ok_hand_tone5:', u(0x1f44c, 0x1f3ff)],
        [':woman_health_worker:', u(0x1f469, 0x200d, 0x2695, 0xfe0f)],
        [':one:', u(0x31, 0xfe0f, 0x20e3)],
        [':100:', u(0x1f4af)],
    ])('turns %s into its emoji', (shortcode, emoji) => {
        expect(shortcodesToUnicode(shortcode)).toBe(emoji);
    });

    it('gives text-default symbols the emoji presentation (❤ → ❤️), as phones send them', () => {
        expect(shortcodesToUnicode(':heart:')).toBe(u(0x2764, 0xfe0f));
        expect(shortcodesToUnicode(':warning:')).toBe(u(0x26a0, 0xfe0f));
    });

    it('converts shortcodes inside a sentence and next to each other', () => {
        expect(shortcodesToUnicode('Bom dia :smile: tudo certo :thumbsup::heart:!')).toBe(
            `Bom dia ${u(0x1f604)} tudo certo ${u(0x1f44d)}${u(0x2764, 0xfe0f)}!`,
        );
    });

    it('leaves unknown and custom emoji untouched', () => {
        expect(shortcodesToUnicode('Hello :my_custom_emoji: and :rocketchat_logo:')).toBe('Hello :my_custom_emoji: and :rocketchat_logo:');
    });

    it('leaves times and ratios untouched', () => {
        for (const text of ['Appointment at 10:30:45 tomorrow', 'Scores 3:2:1', 'Call at 9:00: ok', '12:00:00.000']) {
            expect(shortcodesToUnicode(text)).toBe(text);
        }
    });

    it('converts a shortcode written right after a time', () => {
        expect(shortcodesToUnicode('See you at 10:30:smile:')).toBe(`See you at 10:30${u(0x1f604)}`);
    });

    it('leaves code spans and code blocks untouched', () => {
        expect(shortcodesToUnicode('Type `:smile:` to get :smile:')).toBe(`Type \`:smile:\` to get ${u(0x1f604)}`);
        const block = '```\nconfig: :thumbsup: value\n```';
        expect(shortcodesToUnicode(`${block}\n:thumbsup:`)).toBe(`${block}\n${u(0x1f44d)}`);
    });

    it('leaves text without shortcodes exactly as it was, unicode emoji included', () => {
        const text = 'Olá 👋 ação: tudo bem? https://example.org/a:b';
        expect(shortcodesToUnicode(text)).toBe(text);
    });
});
