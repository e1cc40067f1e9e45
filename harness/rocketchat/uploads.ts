import { RocketChatError } from '../engine/errors';
import { compact, randomId, sha256 } from '../engine/util';
import { RcClose } from './close';
import { determineFileType, formatFileSize, isValidContentType } from './fileTypes';
import type { RcMessage, RcMessageFile, RcRoom, RcUpload, RcUser } from './types';

export interface FileSpec {
    filename: string;
    contentType?: string;
    buffer: Buffer;
    description?: string;
    /** Text sent along with the file (Rocket.Chat's msgData.msg). */
    text?: string;
}

/** Uploads: validation (FileUpload settings), the file store, file messages. */
export class RcUploads extends RcClose {
    /**
     * apps/meteor/app/file-upload/server/lib/FileUpload.ts validateFileUpload (run by the store's filter before the
     * file is kept): FileUpload_Enabled, FileUpload_MaxFileSize (-1 = no limit), then the media type lists
     * (apps/meteor/app/utils/lib/restrictions.ts fileUploadIsValidContentTypeFromSettings). `type` is the sniffed type.
     */
    public validateFileUpload(file: { size: number; type: string }): void {
        if (!this.getServerSetting('FileUpload_Enabled')) {
            throw new RocketChatError('error-file-upload-disabled', 'File uploads are disabled');
        }
        const maxFileSize = parseInt(String(this.getServerSetting('FileUpload_MaxFileSize') ?? ''), 10);
        if (maxFileSize > -1 && (file.size || 0) > maxFileSize) {
            throw new RocketChatError('error-file-too-large', `File exceeds allowed size of ${formatFileSize(maxFileSize)}.`);
        }
        if (
            !isValidContentType(
                file.type,
                String(this.getServerSetting('FileUpload_MediaTypeWhiteList') ?? ''),
                String(this.getServerSetting('FileUpload_MediaTypeBlackList') ?? ''),
            )
        ) {
            throw new RocketChatError('error-invalid-file-type', 'File type is not accepted.');
        }
    }

    /** Stores a file (FileUpload store). `uploadedAt` etc. as Rocket.Chat's Uploads collection has them. */
    public storeUpload(
        details: { name: string; rid: string; userId?: string; visitorToken?: string; type?: string; description?: string },
        buffer: Buffer,
    ): RcUpload {
        const id = randomId();
        const now = new Date();
        const type = details.type || determineFileType(buffer, details.name);
        const extension = details.name.includes('.') ? details.name.split('.').pop()!.toLowerCase() : '';
        const upload: RcUpload = compact({
            _id: id,
            name: details.name,
            type,
            size: buffer.length,
            extension,
            description: details.description,
            rid: details.rid,
            userId: details.userId,
            visitorToken: details.visitorToken,
            store: 'GridFS:Uploads' as const,
            complete: true,
            uploading: false,
            progress: 1,
            etag: sha256(buffer).slice(0, 17),
            path: `/ufs/GridFS:Uploads/${id}/${encodeURI(details.name)}`,
            token: randomId(10),
            url: `${this.options.siteUrl.replace(/\/$/, '')}/ufs/GridFS:Uploads/${id}/${encodeURI(details.name)}`,
            uploadedAt: now,
            _updatedAt: now,
            buffer: Buffer.from(buffer),
        });
        this.uploads.set(id, upload);
        return upload;
    }

    /** The attachment Rocket.Chat builds for a file message (sendFileMessage / sendFileLivechatMessage). */
    public fileAttachment(file: RcUpload): { file: RcMessageFile; attachment: Record<string, unknown> } {
        const fileUrl = `/file-upload/${file._id}/${encodeURI(file.name)}`;
        const attachment: Record<string, unknown> = compact({
            title: file.name,
            type: 'file',
            description: file.description,
            title_link: fileUrl,
            title_link_download: true,
        });
        if (/^image\/.+/.test(file.type)) {
            Object.assign(attachment, { image_url: fileUrl, image_type: file.type, image_size: file.size });
        } else if (/^audio\/.+/.test(file.type)) {
            Object.assign(attachment, { audio_url: fileUrl, audio_type: file.type, audio_size: file.size });
        } else if (/^video\/.+/.test(file.type)) {
            Object.assign(attachment, { video_url: fileUrl, video_type: file.type, video_size: file.size });
        }
        return { file: { _id: file._id, name: file.name, type: file.type, size: file.size }, attachment };
    }

    /** sendFileMessage: a user's file message. */
    public sendFileMessage(user: RcUser, room: RcRoom, file: RcUpload, msgData: { msg?: string } = {}): RcMessage {
        const { file: f, attachment } = this.fileAttachment(file);
        return this.sendMessage(
            user,
            {
                msg: msgData.msg ?? '',
                file: { _id: f._id, name: f.name, type: f.type },
                files: [f],
                attachments: [attachment],
                groupable: false,
            },
            room,
        );
    }

    /** sendFileLivechatMessage: silently does nothing (returns undefined) unless the room is open and belongs to the token. */
    public sendFileLivechatMessage(
        roomId: string,
        visitorToken: string,
        file: RcUpload,
        msgData: { msg?: string } = {},
    ): RcMessage | undefined {
        const visitor = this.visitorByToken(visitorToken);
        const room = this.roomsById.get(roomId);
        if (!visitor || !room?.open || room.v?.token !== visitorToken) {
            return undefined;
        }
        const { file: f, attachment } = this.fileAttachment(file);
        return this.sendMessage(
            { _id: visitor._id, username: visitor.username, name: visitor.name },
            {
                msg: msgData.msg ?? '',
                file: { _id: f._id, name: f.name, type: f.type },
                files: [{ _id: f._id, name: f.name, type: f.type }],
                attachments: [attachment],
                groupable: false,
                token: visitorToken,
                ...(visitor.name && { alias: visitor.name }),
            },
            room,
        );
    }
}
