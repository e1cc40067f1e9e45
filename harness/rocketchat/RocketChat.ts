import { RocketChatError } from '../engine/errors';
import { randomId } from '../engine/util';
import type { TransferData, TransferredBy } from './transfer';
import type { RcMessage, RcRoom, RcUpload, RcUser } from './types';
import { determineFileType } from './fileTypes';
import { type FileSpec, RcUploads } from './uploads';

export type { AgentSpec, CustomFieldSpec, DepartmentSpec } from './agents';
export type { EventError, EventRecord } from './events';
export { determineFileType } from './fileTypes';
export type { RocketChatOptions, RoutingMode } from './store';
export type { RoomView } from './transfer';
export type { FileSpec } from './uploads';

/**
 * In-memory Rocket.Chat: the data and the Omnichannel logic the bridges delegate to, plus the
 * "agent UI" helpers tests use. The logic follows Rocket.Chat 7.x server code (file references in
 * harness/engine/NOTES.md); documents are kept in Rocket.Chat's shape and converted for the app by the
 * converters (converters/), like apps/meteor/app/apps/server/converters does.
 *
 * Events: Rocket.Chat fires app events without waiting (`void Apps.self?.triggerEvent(...)`). Here
 * every event is dispatched through the engine's listener manager methods that await the app, and
 * tracked; `idle()` resolves when every event (and the events those caused) has been handled. The
 * host awaits `idle()` after each API call / agent action, so tests are deterministic while the app
 * still never waits for its own events inside a bridge call (as on a real server).
 */

/**
 * The facade the tests, the sandbox and the bridges use. The parts are layered, each file one concern:
 * store (collections, settings, lookups) < converters < events < agents (users, agents, departments,
 * custom fields) < visitors < messages < routing (rooms, inquiries, assignment) < transfer < close <
 * uploads < this class (the "agent UI" helpers tests use).
 */
export class RocketChat extends RcUploads {
    /** Ephemeral messages apps sent to one user (notifier.notifyUser): only that user saw them, in that room. */
    public readonly ephemeral: Array<{ userId: string; rid: string; msg: string; from?: string }> = [];

    /** The ephemeral messages a user got, oldest first. */
    public ephemeralFor(username: string): Array<{ rid: string; msg: string; from?: string }> {
        const user = this.mustUser(username);
        return this.ephemeral.filter((e) => e.userId === user._id).map(({ rid, msg, from }) => ({ rid, msg, from }));
    }

    /** A public channel (Rocket.Chat's #general kind) with these members: where an admin may type a slash command. */
    public createChannel(name: string, usernames: string[]): RcRoom {
        const members = usernames.map((username) => this.mustUser(username));
        const now = new Date();
        const room: RcRoom = {
            _id: randomId(),
            t: 'c',
            name,
            fname: name,
            ts: now,
            _updatedAt: now,
            msgs: 0,
            usersCount: members.length,
            uids: members.map((u) => u._id),
            usernames: members.map((u) => u.username),
        };
        this.roomsById.set(room._id, room);
        return room;
    }

    /** An agent types a message in the livechat UI. */
    public async agentSendMessage(roomId: string, username: string, text: string): Promise<RcMessage> {
        const room = this.mustRoom(roomId);
        const user = this.mustUser(username);
        this.assertAgentCanWrite(room, user);
        const message = this.sendMessage(user, { msg: text }, room);
        await this.idle();
        return message;
    }

    /** An agent sends a file (with optional description/text) in the livechat UI. */
    public async agentSendFile(roomId: string, username: string, file: FileSpec): Promise<{ message: RcMessage; upload: RcUpload }> {
        const room = this.mustRoom(roomId);
        const user = this.mustUser(username);
        this.assertAgentCanWrite(room, user);
        this.validateFileUpload({ size: file.buffer.length, type: file.contentType || determineFileType(file.buffer, file.filename) });
        const upload = this.storeUpload(
            { name: file.filename, rid: roomId, userId: user._id, type: file.contentType, description: file.description },
            file.buffer,
        );
        const message = this.sendFileMessage(user, room, upload, { msg: file.text });
        await this.idle();
        return { message, upload };
    }

    /** An agent edits one of their messages. */
    public async agentEditMessage(messageId: string, newText: string, editorUsername?: string): Promise<RcMessage> {
        const original = this.messagesById.get(messageId);
        if (!original) {
            throw new Error(`message ${messageId} not found`);
        }
        if (!this.options.allowEditing) {
            throw new RocketChatError('error-action-not-allowed', 'Message editing not allowed');
        }
        const editor = editorUsername ? this.mustUser(editorUsername) : this.users.get(original.u._id);
        if (!editor) {
            throw new Error('editor not found');
        }
        const updated = this.updateMessage({ _id: messageId, msg: newText }, editor);
        await this.idle();
        return updated;
    }

    /**
     * An agent (or manager) forwards the chat to a department (id or name) or to an agent (username).
     * A string target is a department when one has that id/name, else an agent username.
     */
    public async agentTransfer(
        roomId: string,
        target: string | { department?: string; agent?: string },
        byUsername?: string,
    ): Promise<boolean> {
        const to = typeof target === 'string' ? (this.departmentByIdOrName(target) ? { department: target } : { agent: target }) : target;
        const room = this.mustRoom(roomId);
        const by = byUsername ? this.mustUser(byUsername) : room.servedBy ? this.users.get(room.servedBy._id) : undefined;
        if (!by) {
            throw new Error('no transferring user: pass byUsername');
        }
        const transferredBy: TransferredBy = {
            _id: by._id,
            username: by.username,
            name: by.name,
            userType: room.servedBy?._id === by._id ? 'agent' : 'user',
        };
        const data: TransferData = { transferredBy };
        if (to.department) {
            const dep = this.departmentByIdOrName(to.department);
            if (!dep) {
                throw new Error('error-invalid-department');
            }
            data.departmentId = dep._id;
        }
        if (to.agent) {
            const agent = this.mustUser(to.agent);
            data.userId = agent._id;
            data.transferredTo = { _id: agent._id, username: agent.username, name: agent.name };
        }
        const result = await this.transfer(room, data);
        await this.idle();
        return result;
    }

    /** An agent closes the chat from the livechat UI. */
    public async agentClose(roomId: string, username: string, comment?: string, tags?: string[]): Promise<void> {
        const room = this.mustRoom(roomId);
        const user = this.mustUser(username);
        await this.closeRoom({ room, comment, user: { _id: user._id, username: user.username }, options: { clientAction: true, tags } });
        await this.idle();
    }

    /**
     * Injects a typed (system) message, e.g. 'uj', 'livechat_video_call', 'command'. By default it is
     * delivered as IPostMessageSent, the way older servers and integrations deliver typed messages, so
     * tests can check the app ignores it; pass `event: 'IPostSystemMessageSent'` for current servers.
     */
    public async systemMessage(
        roomId: string,
        type: string,
        options: { text?: string; username?: string; event?: 'IPostMessageSent' | 'IPostSystemMessageSent' | 'none' } = {},
    ): Promise<RcMessage> {
        const room = this.mustRoom(roomId);
        const user = options.username
            ? this.mustUser(options.username)
            : room.servedBy
              ? this.users.get(room.servedBy._id)!
              : { _id: 'rocket.cat', username: 'rocket.cat', name: 'Rocket.Cat' };
        const message = this.sendMessage(user, { msg: options.text ?? '', t: type }, room, { event: options.event ?? 'IPostMessageSent' });
        await this.idle();
        return message;
    }

    /** The visitor writes from the livechat widget (same path as the app's livechat messages). */
    public async visitorSendMessage(token: string, roomId: string | undefined, text: string): Promise<RcMessage & { newRoom: boolean }> {
        const visitor = this.visitorByToken(token);
        if (!visitor) {
            throw new RocketChatError('invalid-token');
        }
        const message = await this.sendVisitorMessage(visitor, { rid: roomId, msg: text }, { type: 'widget' });
        await this.idle();
        return message;
    }

    protected assertAgentCanWrite(room: RcRoom, user: RcUser): void {
        if (room.t === 'l') {
            if (!room.open) {
                throw new RocketChatError('error-room-closed', 'Room is closed');
            }
            if (room.servedBy?._id !== user._id && !user.roles.includes('livechat-manager') && !user.roles.includes('admin')) {
                throw new RocketChatError('error-not-allowed', `${user.username} is not serving room ${room._id}`);
            }
        }
    }
}
