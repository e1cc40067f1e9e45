import type { IUpload } from '@rocket.chat/apps-engine/definition/uploads';
import type { IUploadDetails } from '@rocket.chat/apps-engine/definition/uploads/IUploadDetails';
import { UploadBridge } from '@rocket.chat/apps-engine/server/bridges';

import { determineFileType } from '../../rocketchat/fileTypes';
import type { RocketChat } from '../../rocketchat/RocketChat';

/** bridges/uploads.ts */
export class EmulatedUploadBridge extends UploadBridge {
    constructor(private readonly rc: RocketChat) {
        super();
    }

    protected async getById(id: string): Promise<IUpload> {
        return this.rc.toAppUpload(this.rc.uploads.get(id)) as IUpload;
    }

    protected async getBuffer(upload: IUpload): Promise<Buffer> {
        const stored = this.rc.uploads.get(upload.id);
        if (!stored) {
            throw new Error('Unknown error');
        }
        return Buffer.from(stored.buffer);
    }

    protected async createUpload(details: IUploadDetails, buffer: Buffer): Promise<IUpload> {
        if (!details.userId && !details.visitorToken) {
            throw new Error('Missing user to perform the upload operation');
        }
        const data = Buffer.isBuffer(buffer) ? buffer : Buffer.from(buffer as Uint8Array);
        // apps/meteor/app/apps/server/bridges/uploads.ts: type sniffed from the bytes; FileUpload.ts validateFileUpload on insert.
        this.rc.validateFileUpload({ size: data.length, type: determineFileType(data, details.name) });
        const upload = this.rc.storeUpload(
            {
                name: details.name,
                rid: details.rid,
                userId: details.visitorToken ? undefined : details.userId,
                visitorToken: details.visitorToken,
            },
            data,
        );
        if (details.visitorToken) {
            this.rc.sendFileLivechatMessage(details.rid, details.visitorToken, upload);
        } else {
            const user = this.rc.users.get(details.userId);
            const room = this.rc.roomsById.get(details.rid);
            if (!user || !room) {
                throw new Error('error-invalid-room-or-user');
            }
            this.rc.sendFileMessage(user, room, upload);
        }
        return this.rc.toAppUpload(upload) as IUpload;
    }
}
