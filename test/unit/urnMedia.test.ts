/**
 * URNs shown to the agent, and the file rules of RapidPro's media.json (images apng/avif/gif/jpeg/
 * png/webp, audio/*, video/*, application/pdf; at most 25 MB).
 */
import { MAX_MEDIA_BYTES } from '../../src/lib/limits';
import { contentTypeFromName, fileNameFromUrl, isMediaTypeAcceptedByRapidPro } from '../../src/lib/media';
import { describeUrn, phoneFromUrn } from '../../src/lib/urn';

describe('phoneFromUrn', () => {
    it.each([
        ['tel:+5511999998888', '+5511999998888'],
        ['whatsapp:5511999998888', '+5511999998888'],
        ['tel:+250788123123', '+250788123123'],
        [' tel:+14155550100 ', '+14155550100'],
    ])('reads the phone number of %p', (urn, phone) => {
        expect(phoneFromUrn(urn)).toBe(phone);
    });

    it.each([undefined, '', 'telegram:123456789', 'mailto:maria@example.org', 'tel:', 'tel:abc'])('has no phone number for %p', (urn) => {
        expect(phoneFromUrn(urn)).toBeUndefined();
    });
});

describe('describeUrn', () => {
    it('names the channel and shows the phone number', () => {
        const whatsapp = describeUrn('whatsapp:5511999998888') || '';
        expect(whatsapp).toMatch(/whatsapp/i);
        expect(whatsapp).toContain('+5511999998888');
        const phone = describeUrn('tel:+250788123123') || '';
        expect(phone).toContain('+250788123123');
    });

    it('shows non-phone URNs with their path', () => {
        const telegram = describeUrn('telegram:123456789') || '';
        expect(telegram).toMatch(/telegram/i);
        expect(telegram).toContain('123456789');
    });

    it('is undefined without a URN', () => {
        expect(describeUrn(undefined)).toBeUndefined();
    });
});

describe('isMediaTypeAcceptedByRapidPro', () => {
    it.each([
        'image/jpeg',
        'image/png',
        'image/gif',
        'image/webp',
        'image/avif',
        'image/apng',
        'audio/ogg',
        'audio/mpeg',
        'audio/mp4',
        'video/mp4',
        'video/3gpp',
        'application/pdf',
        'IMAGE/JPEG',
        'audio/ogg; codecs=opus',
    ])('accepts %p', (type) => {
        expect(isMediaTypeAcceptedByRapidPro(type)).toBe(true);
    });

    it.each([
        'image/svg+xml',
        'image/bmp',
        'image/tiff',
        'application/zip',
        'text/plain',
        'application/msword',
        'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
        '',
        undefined,
    ])('refuses %p', (type) => {
        expect(isMediaTypeAcceptedByRapidPro(type)).toBe(false);
    });

    it("knows RapidPro's 25 MB upload limit", () => {
        expect(MAX_MEDIA_BYTES).toBe(25 * 1024 * 1024);
    });
});

describe('contentTypeFromName', () => {
    it.each([
        ['raio-x.JPG', 'image/jpeg'],
        ['laudo.pdf', 'application/pdf'],
        ['voz.ogg', 'audio/ogg'],
        ['video.mp4', 'video/mp4'],
    ])('guesses %p as %p', (name, type) => {
        expect(contentTypeFromName(name)).toBe(type);
    });

    it('has no guess without a known extension', () => {
        expect(contentTypeFromName('README')).toBeUndefined();
        expect(contentTypeFromName('archive.xyz123')).toBeUndefined();
    });
});

describe('fileNameFromUrl', () => {
    it('takes the last path segment without query or fragment', () => {
        expect(fileNameFromUrl('https://rp.example.org/media/attachments/1/photo.jpg?sig=abc#x')).toBe('photo.jpg');
    });

    it('never yields a path that climbs out of a folder', () => {
        for (const url of [
            'https://x.org/..%2F..%2Fetc%2Fpasswd',
            'https://x.org/a/%2e%2e',
            'https://x.org/..',
            'https://x.org/a%5C..%5Cb.png',
        ]) {
            const name = fileNameFromUrl(url);
            expect(name).not.toMatch(/[/\\]/);
            expect(name).not.toBe('..');
            expect(name).not.toBe('.');
            expect(name.length).toBeGreaterThan(0);
        }
    });

    it('names a nameless file and gives it the extension of its type', () => {
        const name = fileNameFromUrl('https://rp.example.org/media/', 'image/jpeg');
        expect(name.length).toBeGreaterThan(0);
        expect(name).toMatch(/\.jpe?g$/);
        expect(fileNameFromUrl('https://rp.example.org/media/abc123', 'application/pdf')).toMatch(/\.pdf$/);
    });

    it('copes with broken percent-encoding', () => {
        expect(() => fileNameFromUrl('https://x.org/a%E0%A4%A.jpg')).not.toThrow();
        expect(fileNameFromUrl('https://x.org/a%E0%A4%A.jpg').length).toBeGreaterThan(0);
    });

    it('keeps names to a sane length, with the extension', () => {
        const name = fileNameFromUrl(`https://x.org/${'a'.repeat(500)}.png`);
        expect(name.length).toBeLessThanOrEqual(255);
        expect(name).toMatch(/\.png$/);
    });
});
