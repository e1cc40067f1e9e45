/** What RapidPro's media.json accepts (RapidPro source: temba/msgs/models.py Media); its size limit is MAX_MEDIA_BYTES in limits.ts. */

const ALLOWED_IMAGES = ['image/apng', 'image/avif', 'image/gif', 'image/jpeg', 'image/png', 'image/webp'];

export function isMediaTypeAcceptedByRapidPro(contentType: string | undefined): boolean {
    if (!contentType) {
        return false;
    }
    const type = contentType.split(';')[0].trim().toLowerCase();
    return ALLOWED_IMAGES.indexOf(type) >= 0 || type.indexOf('audio/') === 0 || type.indexOf('video/') === 0 || type === 'application/pdf';
}

const TYPE_BY_EXTENSION: Record<string, string> = {
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    png: 'image/png',
    gif: 'image/gif',
    webp: 'image/webp',
    avif: 'image/avif',
    apng: 'image/apng',
    pdf: 'application/pdf',
    mp3: 'audio/mpeg',
    ogg: 'audio/ogg',
    oga: 'audio/ogg',
    opus: 'audio/ogg',
    m4a: 'audio/mp4',
    aac: 'audio/aac',
    wav: 'audio/wav',
    amr: 'audio/amr',
    mp4: 'video/mp4',
    '3gp': 'video/3gpp',
    webm: 'video/webm',
    mov: 'video/quicktime',
    txt: 'text/plain',
    doc: 'application/msword',
    docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
};

/** Best guess of a file's type when neither side said: from the name's extension. */
export function contentTypeFromName(name: string): string | undefined {
    const match = /\.([a-z0-9]+)$/i.exec(name);
    return match ? TYPE_BY_EXTENSION[match[1].toLowerCase()] : undefined;
}

/** A safe file name for an upload, from a URL's last path segment. */
export function fileNameFromUrl(url: string, contentType?: string): string {
    let name = '';
    try {
        const path = url.split(/[?#]/)[0];
        name = decodeURIComponent(path.substring(path.lastIndexOf('/') + 1));
    } catch (_e) {
        name = '';
    }
    name = name.replace(/[^\p{L}\p{N}_.\- ]+/gu, '_').slice(-120);
    if (!name || name === '.' || name === '..') {
        name = 'attachment';
    }
    if (!/\.[a-z0-9]+$/i.test(name) && contentType) {
        const extension = Object.keys(TYPE_BY_EXTENSION).filter((ext) => TYPE_BY_EXTENSION[ext] === contentType.split(';')[0])[0];
        if (extension) {
            name += `.${extension}`;
        }
    }
    return name;
}
