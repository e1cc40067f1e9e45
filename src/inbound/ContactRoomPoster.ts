import { IHttp, IModify, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import { ILivechatRoom, IVisitor } from '@rocket.chat/apps-engine/definition/livechat';

import { contentTypeFromName, fileNameFromUrl } from '../lib/media';
import { InboundAttachment } from './payloads';

/** Largest file fetched from a contact's attachment URL (RapidPro itself caps media at 25 MB). */
export const MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024;
const ATTACHMENT_TIMEOUT_MS = 8000;
const MIN_FETCH_MS = 1000;

function describeLocation(location: { lat: number; lng: number }): string {
    const { lat, lng } = location;
    return `Location: ${lat}, ${lng} https://www.openstreetmap.org/?mlat=${lat}&mlon=${lng}#map=16/${lat}/${lng}`;
}

export interface PostedContactMessage {
    messageIds: string[];
    attachmentsAsLinks: number;
}

/**
 * Posts what the contact wrote into their room, as the visitor. Attachments are downloaded and
 * uploaded as files; one that cannot be fetched is posted as its link, so nothing is dropped.
 */
export class ContactRoomPoster {
    constructor(private readonly read: IRead, private readonly modify: IModify, private readonly http: IHttp, private readonly log: (m: string) => void) {}

    /**
     * `deadline` (epoch ms) keeps the webhook call within RapidPro's 15 s timeout: attachments that
     * cannot be fetched before it are posted as links.
     */
    async post(room: ILivechatRoom, visitor: IVisitor, text: string, attachments: InboundAttachment[], deadline: number): Promise<PostedContactMessage> {
        const messageIds: string[] = [];
        let attachmentsAsLinks = 0;
        if (text) {
            messageIds.push(await this.postText(room, visitor, text));
        }
        for (const attachment of attachments) {
            if (attachment.location) {
                messageIds.push(await this.postText(room, visitor, describeLocation(attachment.location)));
                continue;
            }
            const remaining = deadline - Date.now();
            const uploadedId = remaining >= MIN_FETCH_MS
                ? await this.uploadAttachment(room, visitor, attachment, Math.min(ATTACHMENT_TIMEOUT_MS, remaining))
                : undefined;
            if (uploadedId) {
                messageIds.push(uploadedId);
            } else {
                attachmentsAsLinks++;
                messageIds.push(await this.postText(room, visitor, attachment.url));
            }
        }
        return { messageIds, attachmentsAsLinks };
    }

    private async postText(room: ILivechatRoom, visitor: IVisitor, text: string): Promise<string> {
        const builder = this.modify.getCreator().startLivechatMessage()
            .setRoom(room)
            .setVisitor(visitor)
            .setText(text);
        return this.modify.getCreator().finish(builder);
    }

    private async uploadAttachment(room: ILivechatRoom, visitor: IVisitor, attachment: InboundAttachment, timeoutMs: number): Promise<string | undefined> {
        try {
            const response = await this.http.get(attachment.url, { encoding: null, timeout: timeoutMs });
            const body = response.content as unknown;
            if (response.statusCode < 200 || response.statusCode >= 300 || !body) {
                this.log(`Attachment not fetched (HTTP ${response.statusCode}); posting its link`);
                return undefined;
            }
            const bytes = Buffer.isBuffer(body) ? body : typeof body === 'string' ? Buffer.from(body, 'binary') : Buffer.from(body as Uint8Array);
            if (bytes.length === 0 || bytes.length > MAX_ATTACHMENT_BYTES) {
                this.log(`Attachment of ${bytes.length} bytes not uploaded; posting its link`);
                return undefined;
            }
            const headers = response.headers || {};
            const contentType = attachment.contentType || headers['content-type'] || contentTypeFromName(attachment.url);
            const upload = await this.modify.getCreator().getUploadCreator().uploadBuffer(bytes, {
                filename: fileNameFromUrl(attachment.url, contentType),
                room,
                visitorToken: visitor.token,
            });
            return upload && upload.id ? upload.id : undefined;
        } catch (error) {
            // No URL or error text in the log: media URLs may be signed.
            this.log('Attachment not fetched or not uploaded; posting its link');
            return undefined;
        }
    }
}
