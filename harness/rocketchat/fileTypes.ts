/** apps/meteor/app/utils/lib/restrictions.ts: `<type>/*` wildcards, '' or '*' whitelist = everything. */
export function isValidContentType(type: string | undefined, whiteListSetting: string, blackListSetting: string): boolean {
    const split = (value: string) => value.split(',').map((item) => item.trim());
    const blackList = blackListSetting ? split(blackListSetting) : undefined;
    const whiteList = !whiteListSetting || whiteListSetting === '*' ? undefined : split(whiteListSetting);
    const onList = (list: string[]) =>
        !!type && (list.includes(type) || list.filter((i) => i.indexOf('/*') > 0).includes(type.replace(/(\/.*)$/, '/*')));
    if (blackList && type && onList(blackList)) {
        return false;
    }
    return whiteList ? onList(whiteList) : true;
}

/** Rough `filesize` formatting for the error text (base 2). */
export function formatFileSize(bytes: number): string {
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit++;
    }
    return `${Math.round(value * 100) / 100} ${units[unit]}`;
}

const EXTENSION_TYPES: Record<string, string> = {
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    png: 'image/png',
    gif: 'image/gif',
    webp: 'image/webp',
    svg: 'image/svg+xml',
    pdf: 'application/pdf',
    mp3: 'audio/mpeg',
    m4a: 'audio/mp4',
    ogg: 'audio/ogg',
    oga: 'audio/ogg',
    opus: 'audio/ogg',
    wav: 'audio/wav',
    amr: 'audio/amr',
    mp4: 'video/mp4',
    '3gp': 'video/3gpp',
    webm: 'video/webm',
    mov: 'video/quicktime',
    txt: 'text/plain',
    csv: 'text/csv',
    json: 'application/json',
    zip: 'application/zip',
    doc: 'application/msword',
    docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    xls: 'application/vnd.ms-excel',
    xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/**
 * apps/lib/misc/determineFileType: the type comes from the bytes (file-type sniffing) and only then
 * from the name; whatever the app claims is ignored.
 */
export function determineFileType(buffer: Buffer, name: string): string {
    const b = buffer;
    const startsWith = (...bytes: number[]) => bytes.every((v, i) => b[i] === v);
    const ascii = (offset: number, text: string) =>
        b.length >= offset + text.length && b.toString('latin1', offset, offset + text.length) === text;
    if (startsWith(0xff, 0xd8, 0xff)) return 'image/jpeg';
    if (startsWith(0x89, 0x50, 0x4e, 0x47)) return 'image/png';
    if (ascii(0, 'GIF8')) return 'image/gif';
    if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'image/webp';
    if (ascii(0, 'RIFF') && ascii(8, 'WAVE')) return 'audio/wav';
    if (ascii(0, '%PDF')) return 'application/pdf';
    if (ascii(0, 'OggS')) return 'audio/ogg';
    if (ascii(0, 'ID3') || (b[0] === 0xff && (b[1] & 0xe0) === 0xe0 && b.length > 2)) return 'audio/mpeg';
    if (ascii(0, '#!AMR')) return 'audio/amr';
    if (ascii(4, 'ftyp')) {
        const brand = b.toString('latin1', 8, 12);
        if (brand.startsWith('M4A')) return 'audio/mp4';
        if (brand.startsWith('3gp')) return 'video/3gpp';
        if (brand.startsWith('qt')) return 'video/quicktime';
        return 'video/mp4';
    }
    if (startsWith(0x1a, 0x45, 0xdf, 0xa3)) return 'video/webm';
    if (startsWith(0x50, 0x4b, 0x03, 0x04)) {
        const ext = name.split('.').pop()?.toLowerCase() ?? '';
        return EXTENSION_TYPES[ext] && ['docx', 'xlsx', 'zip'].includes(ext) ? EXTENSION_TYPES[ext] : 'application/zip';
    }
    const ext = name.includes('.') ? name.split('.').pop()!.toLowerCase() : '';
    return EXTENSION_TYPES[ext] ?? 'application/octet-stream';
}
