import { compact, randomId } from '../engine/util';
import type { RcMessage, RcRoom } from './types';
import { RcVisitors } from './visitors';

/** Messages: sending (with the app events), system messages, edits. */
export class RcMessages extends RcVisitors {
    /**
     * functions/sendMessage.ts: stores the message and fires IPostMessageSent (IPostSystemMessageSent when
     * it has a type) for every message, whoever wrote it (agents, visitors, the app itself).
     */
    public sendMessage(
        user: { _id: string; username: string; name?: string },
        message: Partial<RcMessage>,
        room: RcRoom,
        options: { event?: 'IPostMessageSent' | 'IPostSystemMessageSent' | 'none' } = {},
    ): RcMessage {
        const now = new Date();
        const stored: RcMessage = compact({
            ...message,
            _id: message._id || randomId(),
            rid: room._id,
            msg: typeof message.msg === 'string' ? message.msg : '',
            ts: message.ts ?? now,
            _updatedAt: now,
            u: compact({ _id: user._id, username: user.username, name: user.name }),
        }) as RcMessage;
        if (this.messagesById.has(stored._id)) {
            return this.messagesById.get(stored._id)!;
        }
        this.messagesById.set(stored._id, stored);
        room.msgs++;
        room.lm = now;
        room._updatedAt = now;
        if (room.t === 'l' && !stored.t) {
            if (stored.token) {
                room.waitingResponse = true;
                if (room.v) {
                    (room.v as Record<string, unknown>).lastMessageTs = now;
                }
            } else if (room.servedBy && stored.u._id === room.servedBy._id) {
                room.waitingResponse = false;
                room.responseBy = {
                    _id: stored.u._id,
                    username: stored.u.username,
                    lastMessageTs: now,
                    firstResponseTs: room.responseBy?.firstResponseTs ?? now,
                };
            }
        }
        const event = options.event ?? (stored.t ? 'IPostSystemMessageSent' : 'IPostMessageSent');
        if (event !== 'none') {
            this.fire(event, () => this.toAppMessage(stored), { roomId: room._id, messageId: stored._id });
        }
        return stored;
    }

    /** Message.saveSystemMessage: Rocket.Chat inserts these directly, no app event. */
    public saveSystemMessage(
        type: string,
        rid: string,
        msg: string,
        user: { _id: string; username?: string; name?: string },
        extra: Record<string, unknown> = {},
    ): RcMessage {
        const room = this.roomsById.get(rid);
        const now = new Date();
        const message: RcMessage = {
            ...extra,
            _id: randomId(),
            t: type,
            rid,
            msg,
            ts: now,
            _updatedAt: now,
            u: compact({ _id: user._id, username: user.username ?? '', name: user.name }),
        };
        this.messagesById.set(message._id, message);
        if (room) {
            room.msgs++;
            room.lm = now;
        }
        return message;
    }

    /** functions/updateMessage.ts: sets editedAt/editedBy and fires IPostMessageUpdated. */
    public updateMessage(message: Partial<RcMessage> & { _id: string }, editor: { _id: string; username: string }): RcMessage {
        const original = this.messagesById.get(message._id);
        if (!original) {
            throw new Error(`message ${message._id} not found`);
        }
        const now = new Date();
        for (const [key, value] of Object.entries(message)) {
            if (value !== undefined && !['_id', 'rid', 'u', 'ts'].includes(key)) {
                (original as Record<string, unknown>)[key] = value;
            }
        }
        original.editedAt = now;
        original.editedBy = { _id: editor._id, username: editor.username };
        original._updatedAt = now;
        this.fire('IPostMessageUpdated', () => this.toAppMessage(original), { roomId: original.rid, messageId: original._id });
        return original;
    }
}
