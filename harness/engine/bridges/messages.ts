import type { IMessage } from '@rocket.chat/apps-engine/definition/messages';
import type { IUser } from '@rocket.chat/apps-engine/definition/users';
import { MessageBridge } from '@rocket.chat/apps-engine/server/bridges';
import type { ITypingDescriptor } from '@rocket.chat/apps-engine/server/bridges/MessageBridge';

import type { RocketChat } from '../../rocketchat/RocketChat';
import { RocketChatError } from '../errors';
import { ni } from './notImplemented';

/** bridges/messages.ts */
export class EmulatedMessageBridge extends MessageBridge {
    constructor(private readonly rc: RocketChat) {
        super();
    }

    protected async create(message: IMessage): Promise<string> {
        const converted = this.rc.fromAppMessage(message);
        // apps/meteor/app/lib/server/methods/sendMessage.ts executeSendMessage: msg.length (UTF-16 code units) > Message_MaxAllowedSize.
        const maxSize = Number(this.rc.getServerSetting('Message_MaxAllowedSize') ?? 0);
        if (converted.msg && converted.msg.length > maxSize) {
            throw new RocketChatError('error-message-size-exceeded', 'Message size exceeds Message_MaxAllowedSize');
        }
        const room = this.rc.roomsById.get(converted.rid!)!;
        const user = converted.u ? this.rc.users.get(converted.u._id) : undefined;
        if (!user) {
            throw new RocketChatError('error-invalid-user', 'Invalid user');
        }
        const sent = this.rc.sendMessage(user, converted, room);
        return sent._id;
    }

    protected async getById(messageId: string): Promise<IMessage> {
        return this.rc.toAppMessage(this.rc.messagesById.get(messageId)) as IMessage;
    }

    protected async update(message: IMessage): Promise<void> {
        if (!message.editor) {
            throw new Error('Invalid editor assigned to the message for the update.');
        }
        const editor = this.rc.users.get(message.editor.id);
        if (!editor) {
            throw new Error('Invalid editor assigned to the message for the update.');
        }
        const partial = this.rc.fromAppMessage(message, true);
        this.rc.updateMessage({ ...partial, _id: message.id! }, editor);
    }

    protected async notifyUser(user: IUser, message: IMessage): Promise<void> {
        // bridges/messages.ts notifyUser: convertAppMessage (throws without a known room), then
        // 'notify.ephemeralMessage' to that one user; kept here so tests read what the user saw.
        const converted = this.rc.fromAppMessage(message);
        this.rc.ephemeral.push({ userId: user.id, rid: converted.rid!, msg: converted.msg ?? '', from: converted.u?.username });
    }

    protected async notifyRoom(): Promise<void> {
        // ephemeral message to the room's users: nothing to store
    }

    protected async typing(options: ITypingDescriptor): Promise<void> {
        if (options.scope !== 'room') {
            throw new Error('Unrecognized typing scope provided');
        }
        if (!options.username) {
            throw new Error('Invalid username');
        }
    }

    protected async delete(message: IMessage): Promise<void> {
        if (!message.id) {
            throw new Error('Invalid message id');
        }
        this.rc.messagesById.delete(message.id);
    }

    protected async addReaction(): Promise<void> {
        ni('MessageBridge.addReaction');
    }

    protected async removeReaction(): Promise<void> {
        ni('MessageBridge.removeReaction');
    }
}
