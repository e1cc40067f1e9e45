import type { ILivechatRoom } from '@rocket.chat/apps-engine/definition/livechat';
import type { IMessage } from '@rocket.chat/apps-engine/definition/messages';

export type SkipReason = 'not_livechat' | 'other_source' | 'system' | 'visitor' | 'app' | 'empty';

/** Rocket.Chat's system message type: `type` on new servers, `_unmappedProperties_.t` on older ones. */
function systemType(message: IMessage): string | undefined {
    if (message.type) {
        return message.type;
    }
    const unmapped = (message as unknown as { _unmappedProperties_?: { t?: string } })._unmappedProperties_;
    return unmapped?.t ? unmapped.t : undefined;
}

/**
 * Whether a message in a room is one an agent wrote for the contact. Never forwarded: system
 * messages, the contact's own messages, messages of apps (this one included) and rooms another
 * source opened. Pure, so the rules are tested without the engine.
 */
export function whyNotForwarded(message: IMessage, appId: string): SkipReason | undefined {
    const room = message.room as ILivechatRoom;
    if (!room || String(room.type) !== 'l') {
        return 'not_livechat';
    }
    if (room.source && room.source.type === 'app' && room.source.id && room.source.id !== appId) {
        return 'other_source';
    }
    if (room.source?.type && room.source.type !== 'app') {
        return 'other_source';
    }
    if (systemType(message)) {
        return 'system';
    }
    const sender = message.sender;
    const livechatMessage = message as IMessage & { token?: string; visitor?: unknown };
    if (livechatMessage.token || livechatMessage.visitor || !sender || (room.visitor && sender.id === room.visitor.id)) {
        return 'visitor';
    }
    if (String(sender.type) === 'app') {
        return 'app';
    }
    const hasFile = !!(message.file || (message.files && message.files.length > 0));
    if (!hasFile && !message.text?.trim()) {
        return 'empty';
    }
    return undefined;
}

export interface AgentFileRef {
    id: string;
    name: string;
    type?: string;
}

/** The files of a message (`files` on new servers, `file` on older ones). */
export function filesOf(message: IMessage): AgentFileRef[] {
    const files = message.files && message.files.length > 0 ? message.files : message.file ? [message.file] : [];
    return files.filter((file) => file?._id).map((file) => ({ id: file._id, name: file.name || 'file', type: file.type }));
}
