import type { IMessage, IMessageAttachment } from '@rocket.chat/apps-engine/definition/messages';
import type { IUpload } from '@rocket.chat/apps-engine/definition/uploads';

import { clone, compact, randomId } from '../../engine/util';
import type { RcStore } from '../store';
import type { RcMessage, RcUpload } from '../types';
import { asApp } from './asApp';
import { toAppRoom } from './rooms';
import { lookupToAppUser, toAppUser, toAppVisitor } from './users';

function toAppAttachment(a: Record<string, unknown>): IMessageAttachment {
    const { title, title_link, title_link_download, author_name, author_link, author_icon, ts, ...rest } = a;
    const map: Record<string, string> = {
        message_link: 'timestampLink',
        thumb_url: 'thumbnailUrl',
        image_dimensions: 'imageDimensions',
        image_preview: 'imagePreview',
        image_url: 'imageUrl',
        image_type: 'imageType',
        image_size: 'imageSize',
        audio_url: 'audioUrl',
        audio_type: 'audioType',
        audio_size: 'audioSize',
        video_url: 'videoUrl',
        video_type: 'videoType',
        video_size: 'videoSize',
        button_alignment: 'actionButtonsAlignment',
    };
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(rest)) {
        out[map[k] ?? k] = v;
    }
    if (title !== undefined || title_link !== undefined) {
        out.title = compact({ value: title, link: title_link, displayDownloadLink: title_link_download });
    }
    if (author_name !== undefined || author_link !== undefined || author_icon !== undefined) {
        out.author = compact({ name: author_name, link: author_link, icon: author_icon });
    }
    if (ts !== undefined) {
        out.timestamp = new Date(ts as string);
    }
    return out;
}

/** messages converter convertMessage(): sender is the user (or the visitor lookup for visitor messages). */
export function toAppMessage(rc: RcStore, message: RcMessage | undefined): IMessage | undefined {
    if (!message) {
        return undefined;
    }
    const known = new Set([
        '_id',
        'tmid',
        'reactions',
        'parseUrls',
        'msg',
        'ts',
        '_updatedAt',
        'editedAt',
        'emoji',
        'avatar',
        'alias',
        'file',
        'customFields',
        'groupable',
        'token',
        'blocks',
        't',
        'rid',
        'editedBy',
        'attachments',
        'u',
    ]);
    const unmapped: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(message)) {
        if (!known.has(k)) {
            unmapped[k] = v;
        }
    }
    const sender = message.token ? lookupToAppUser(message.u) : (toAppUser(rc, rc.users.get(message.u._id)) ?? lookupToAppUser(message.u));
    return asApp<IMessage>(
        clone(
            compact({
                id: message._id,
                threadId: message.tmid,
                parseUrls: message.parseUrls,
                text: message.msg,
                createdAt: message.ts,
                updatedAt: message._updatedAt,
                editedAt: message.editedAt,
                emoji: message.emoji,
                avatarUrl: message.avatar,
                alias: message.alias,
                file: message.file,
                customFields: message.customFields,
                groupable: message.groupable,
                token: message.token,
                blocks: message.blocks,
                type: message.t,
                room: toAppRoom(rc, rc.roomsById.get(message.rid)),
                editor: message.editedBy ? toAppUser(rc, rc.users.get(message.editedBy._id)) : undefined,
                attachments: message.attachments ? message.attachments.map((a) => toAppAttachment(a)) : undefined,
                sender,
                _unmappedProperties_: Object.keys(unmapped).length ? unmapped : undefined,
            }),
        ),
    );
}

export function toAppUpload(rc: RcStore, upload: RcUpload | undefined): IUpload | undefined {
    if (!upload) {
        return undefined;
    }
    const visitor = upload.visitorToken ? rc.visitorByToken(upload.visitorToken) : undefined;
    return asApp<IUpload>(
        clone(
            compact({
                id: upload._id,
                name: upload.name,
                size: upload.size,
                type: upload.type,
                extension: upload.extension,
                etag: upload.etag,
                path: upload.path,
                token: upload.token,
                url: upload.url,
                progress: upload.progress,
                uploading: upload.uploading,
                complete: upload.complete,
                updatedAt: upload._updatedAt,
                uploadedAt: upload.uploadedAt,
                store: upload.store,
                description: upload.description,
                room: toAppRoom(rc, rc.roomsById.get(upload.rid)),
                user: upload.userId ? toAppUser(rc, rc.users.get(upload.userId)) : undefined,
                visitor: toAppVisitor(rc, visitor),
            }),
        ),
    );
}

/** messages converter convertAppMessage(): needs an existing room; `file`/`files` set by the app are ignored. */
/** An app message as the engine hands it over: a livechat message has a token; unmapped fields ride along. */
export type AppMessageIn = IMessage & { token?: string; _unmappedProperties_?: Record<string, unknown> };

/** An app attachment: the declared fields, the ones Rocket.Chat also maps (imageType, ...) and unmapped ones. */
type AppAttachmentIn = IMessageAttachment & { [field: string]: unknown; _unmappedProperties_?: Record<string, unknown> };

export function fromAppMessage(rc: RcStore, message: AppMessageIn, isPartial = false): Partial<RcMessage> {
    const roomId = message.room?.id as string | undefined;
    const room = roomId ? rc.roomsById.get(roomId) : undefined;
    if (!room && !isPartial) {
        throw new Error('Invalid room provided on the message.');
    }
    let u: RcMessage['u'] | undefined;
    if (message.sender?.id) {
        const user = rc.users.get(message.sender.id);
        u = user
            ? compact({ _id: user._id, username: user.username, name: user.name })
            : compact({ _id: message.sender.id, username: message.sender.username, name: message.sender.name });
    }
    const attachments = Array.isArray(message.attachments)
        ? message.attachments.map((a) => fromAppAttachment(a as AppAttachmentIn))
        : undefined;
    const out: Partial<RcMessage> = compact({
        _id: message.id ?? (isPartial ? undefined : randomId()),
        ...('threadId' in message && { tmid: message.threadId }),
        rid: room?._id,
        u,
        msg: message.text,
        ts: message.createdAt ?? (isPartial ? undefined : new Date()),
        ...('emoji' in message && { emoji: message.emoji }),
        ...('avatarUrl' in message && { avatar: message.avatarUrl }),
        ...('alias' in message && { alias: message.alias }),
        ...('customFields' in message && { customFields: message.customFields }),
        ...('groupable' in message && { groupable: message.groupable }),
        ...(attachments && { attachments }),
        ...('parseUrls' in message && { parseUrls: message.parseUrls }),
        ...('blocks' in message && { blocks: message.blocks }),
        ...('token' in message && { token: message.token }),
    });
    if (!isPartial && message._unmappedProperties_) {
        Object.assign(out, message._unmappedProperties_);
    }
    return out;
}

function fromAppAttachment(attachment: AppAttachmentIn): Record<string, unknown> {
    const out = compact({
        collapsed: attachment.collapsed,
        color: attachment.color,
        text: attachment.text,
        ts: attachment.timestamp ? new Date(attachment.timestamp).toJSON() : attachment.timestamp,
        message_link: attachment.timestampLink,
        thumb_url: attachment.thumbnailUrl,
        author_name: attachment.author ? attachment.author.name : undefined,
        author_link: attachment.author ? attachment.author.link : undefined,
        author_icon: attachment.author ? attachment.author.icon : undefined,
        title: attachment.title ? attachment.title.value : undefined,
        title_link: attachment.title ? attachment.title.link : undefined,
        title_link_download: attachment.title ? attachment.title.displayDownloadLink : undefined,
        image_dimensions: attachment.imageDimensions,
        image_preview: attachment.imagePreview,
        image_url: attachment.imageUrl,
        image_type: attachment.imageType,
        image_size: attachment.imageSize,
        audio_url: attachment.audioUrl,
        audio_type: attachment.audioType,
        audio_size: attachment.audioSize,
        video_url: attachment.videoUrl,
        video_type: attachment.videoType,
        video_size: attachment.videoSize,
        fields: attachment.fields,
        button_alignment: attachment.actionButtonsAlignment,
        actions: attachment.actions,
        type: attachment.type,
        description: attachment.description,
    });
    return { ...out, ...(attachment._unmappedProperties_ || {}) };
}
