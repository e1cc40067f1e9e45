import type { IHttp, IModify, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import type { ILivechatRoom, IVisitor } from '@rocket.chat/apps-engine/definition/livechat';

import { ATTACHMENT_FETCH_TIMEOUT_MS, MAX_MEDIA_BYTES, MIN_ATTACHMENT_FETCH_MS } from '../lib/limits';
import { errorText, type Logger } from '../lib/log';
import { contentTypeFromName, fileNameFromUrl } from '../lib/media';
import type { InboundAttachment } from './payloads/types';

function describeLocation(location: { lat: number; lng: number }): string {
    const { lat, lng } = location;
    return `Location: ${lat}, ${lng} https://www.openstreetmap.org/?mlat=${lat}&mlon=${lng}#map=16/${lat}/${lng}`;
}

/** What the contact wrote, as the ordered items that go into the room: the text, then each attachment. */
export type ContactItem = { kind: 'text'; text: string } | { kind: 'attachment'; attachment: InboundAttachment };

export function contactItems(text: string, attachments: InboundAttachment[]): ContactItem[] {
    const items: ContactItem[] = [];
    if (text) {
        items.push({ kind: 'text', text });
    }
    for (const attachment of attachments) {
        items.push({ kind: 'attachment', attachment });
    }
    return items;
}

export interface PostedContactMessage {
    messageIds: string[];
    attachmentsAsLinks: number;
    /** Indexes of the items in a room, counting those an earlier call posted. */
    done: number[];
    /** The room the last item landed in: a new one when Rocket.Chat opened it behind the bridge's back. */
    room: ILivechatRoom;
    /** Set when Rocket.Chat put something into a room other than the one the bridge asked for. */
    movedTo?: ILivechatRoom;
    /** The first refusal (in order mode the items after it were not tried). */
    error?: unknown;
    /**
     * The check of where the last text landed, still running (`room` and `movedTo` are final once it
     * resolves; it never rejects): the caller records the message id meanwhile.
     */
    landed: Promise<void>;
}

/**
 * Posts what the contact wrote into their room, as the visitor. Attachments are downloaded and
 * uploaded as files; one that cannot be fetched is posted as its link, so nothing is dropped.
 *
 * A real server puts a visitor message addressed to a closed room into a NEW room, routed like a
 * new chat, and stores a visitor file uploaded into a closed room with no message at all
 * (apps/meteor/app/livechat/server/lib/rooms.ts getRoom, .../methods/sendFileLivechatMessage.ts).
 * So each item is checked where it landed: a text by reading the message back, a file by
 * re-reading the room (a file that may have missed a closing room goes again as its link).
 */
export class ContactRoomPoster {
    private fileSizeLimit?: Promise<number | undefined>;

    constructor(
        private readonly read: IRead,
        private readonly modify: IModify,
        private readonly http: IHttp,
        private readonly logger: Logger,
    ) {}

    /**
     * `deadline` (epoch ms) keeps the webhook call within RapidPro's 15 s timeout: attachments that
     * cannot be fetched before it are posted as links. `done`: items an earlier call posted. `isolate`:
     * one refused item does not stop the others (the handoff); otherwise they wait, in order (`message`).
     */
    async post(
        room: ILivechatRoom,
        visitor: IVisitor,
        items: ContactItem[],
        deadline: number,
        options: { done?: number[]; isolate?: boolean } = {},
    ): Promise<PostedContactMessage> {
        const outcome: PostedContactMessage = {
            messageIds: [],
            attachmentsAsLinks: 0,
            done: [...(options.done || [])],
            room,
            landed: Promise.resolve(),
        };
        for (let index = 0; index < items.length; index++) {
            if (outcome.done.includes(index)) {
                continue;
            }
            const item = items[index];
            try {
                // Nothing follows the last item into the room: where it landed is checked alongside the caller's work.
                const last = index === items.length - 1;
                if (item.kind === 'text') {
                    await this.postText(outcome, visitor, item.text, last);
                } else if (item.attachment.location) {
                    await this.postText(outcome, visitor, describeLocation(item.attachment.location), last);
                } else {
                    await this.postAttachment(outcome, visitor, item.attachment, deadline);
                }
                outcome.done.push(index);
            } catch (error) {
                outcome.error = outcome.error || error;
                if (!options.isolate) {
                    break; // in order: what follows waits for the call to be repeated
                }
            }
        }
        outcome.done.sort((a, b) => a - b);
        return outcome;
    }

    private async postText(outcome: PostedContactMessage, visitor: IVisitor, text: string, deferCheck = false): Promise<void> {
        const builder = this.modify.getCreator().startLivechatMessage().setRoom(outcome.room).setVisitor(visitor).setText(text);
        const id = await this.modify.getCreator().finish(builder);
        outcome.messageIds.push(id);
        const check = this.checkLanding(outcome, id);
        if (deferCheck) {
            outcome.landed = check;
        } else {
            await check;
        }
    }

    /** Where a posted text landed: a new room when Rocket.Chat opened one behind the bridge's back. */
    private async checkLanding(outcome: PostedContactMessage, id: string): Promise<void> {
        try {
            const landed = await this.read.getMessageReader().getById(id);
            const landedRoomId = landed?.room ? landed.room.id : outcome.room.id;
            if (landedRoomId !== outcome.room.id) {
                const newRoom = (await this.read.getRoomReader().getById(landedRoomId)) as ILivechatRoom | undefined;
                if (newRoom) {
                    outcome.room = newRoom;
                    outcome.movedTo = newRoom;
                }
            }
        } catch (error) {
            // The text is posted; only where it landed is unknown. Counting it as not posted would double it.
            this.logger.warn(`Could not read back contact message ${id}: ${errorText(error)}`);
        }
    }

    private async postAttachment(
        outcome: PostedContactMessage,
        visitor: IVisitor,
        attachment: InboundAttachment,
        deadline: number,
    ): Promise<void> {
        const remaining = deadline - Date.now();
        if (remaining >= MIN_ATTACHMENT_FETCH_MS && (await this.isOpen(outcome.room))) {
            const timeoutMs = Math.min(ATTACHMENT_FETCH_TIMEOUT_MS, remaining);
            const uploadedId = await this.uploadAttachment(outcome.room, visitor, attachment, timeoutMs);
            // A file uploaded as the room closed may have been stored with no message: send its link too.
            if (uploadedId && (await this.isOpen(outcome.room))) {
                outcome.messageIds.push(uploadedId);
                return;
            }
        }
        outcome.attachmentsAsLinks++;
        await this.postText(outcome, visitor, attachment.url);
    }

    private async isOpen(room: ILivechatRoom): Promise<boolean> {
        const fresh = (await this.read.getRoomReader().getById(room.id)) as ILivechatRoom | undefined;
        return !!fresh && fresh.isOpen !== false && !fresh.closedAt;
    }

    /** `FileUpload_MaxFileSize` (-1: none), or 0 when uploads are off (apps/meteor/server/settings/file-upload.ts). */
    private serverMaxFileSize(): Promise<number | undefined> {
        // Read once per call of the endpoint, however many files the contact sent.
        if (!this.fileSizeLimit) {
            this.fileSizeLimit = this.readFileSizeLimit();
        }
        return this.fileSizeLimit;
    }

    private async readFileSizeLimit(): Promise<number | undefined> {
        try {
            const settings = this.read.getEnvironmentReader().getServerSettings();
            const [enabled, maxSize] = await Promise.all([
                settings.getValueById('FileUpload_Enabled'),
                settings.getValueById('FileUpload_MaxFileSize'),
            ]);
            if (enabled === false) {
                return 0;
            }
            const limit = Number(maxSize);
            return Number.isFinite(limit) && limit >= 0 ? limit : undefined;
        } catch (_error) {
            return undefined; // unreadable: let the upload itself tell
        }
    }

    private async uploadAttachment(
        room: ILivechatRoom,
        visitor: IVisitor,
        attachment: InboundAttachment,
        timeoutMs: number,
    ): Promise<string | undefined> {
        try {
            if ((await this.serverMaxFileSize()) === 0) {
                this.logger.warn('File uploads are switched off in Rocket.Chat; posting the attachment as its link');
                return undefined; // not worth downloading
            }
            const response = await this.http.get(attachment.url, { encoding: null, timeout: timeoutMs });
            const body = response.content as unknown;
            if (response.statusCode < 200 || response.statusCode >= 300 || !body) {
                this.logger.warn(`Attachment not fetched (HTTP ${response.statusCode}); posting its link`);
                return undefined;
            }
            const bytes = Buffer.isBuffer(body)
                ? body
                : typeof body === 'string'
                  ? Buffer.from(body, 'binary')
                  : Buffer.from(body as Uint8Array);
            if (bytes.length === 0 || bytes.length > MAX_MEDIA_BYTES) {
                this.logger.warn(`Attachment of ${bytes.length} bytes not uploaded; posting its link`);
                return undefined;
            }
            const maxFileSize = await this.serverMaxFileSize();
            if (maxFileSize !== undefined && bytes.length > maxFileSize) {
                this.logger.warn(`Attachment of ${bytes.length} bytes is over the server's file size limit; posting its link`);
                return undefined;
            }
            const headers = response.headers || {};
            const contentType = attachment.contentType || headers['content-type'] || contentTypeFromName(attachment.url);
            const upload = await this.modify
                .getCreator()
                .getUploadCreator()
                .uploadBuffer(bytes, {
                    filename: fileNameFromUrl(attachment.url, contentType),
                    room,
                    visitorToken: visitor.token,
                });
            return upload?.id ? upload.id : undefined;
        } catch (_error) {
            // No URL or error text in the log: media URLs may be signed. Refusals (size, type) end here too.
            this.logger.warn('Attachment not fetched or not uploaded; posting its link');
            return undefined;
        }
    }
}
