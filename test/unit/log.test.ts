/** The app's logger: one method per level, and no URL ever reaches the log. */
import { loggerOf, withoutUrls } from '../../src/lib/log';

describe('loggerOf', () => {
    it('writes each level to the same level of the app logger', () => {
        const lines: string[] = [];
        const sink = {
            debug: (m: unknown) => lines.push(`debug ${m}`),
            info: (m: unknown) => lines.push(`info ${m}`),
            warn: (m: unknown) => lines.push(`warn ${m}`),
            error: (m: unknown) => lines.push(`error ${m}`),
        };
        const logger = loggerOf(() => sink);
        logger.debug('a');
        logger.info('b');
        logger.warn('c');
        logger.error('d');
        expect(lines).toEqual(['debug a', 'info b', 'warn c', 'error d']);
    });

    it('replaces URLs (signed media links, the RapidPro host) with a placeholder', () => {
        expect(withoutUrls('error sending request for url (https://rp.example.org/api/v2/messages.json?x=1): timed out')).toBe(
            'error sending request for url (<url>): timed out',
        );
        expect(withoutUrls('fetch http://10.0.0.1:8080/media/a.jpg failed')).toBe('fetch <url> failed');
        expect(withoutUrls('room abc-123 is gone')).toBe('room abc-123 is gone');
    });
});
