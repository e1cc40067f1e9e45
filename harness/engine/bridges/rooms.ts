import type { IMessageRaw } from '@rocket.chat/apps-engine/definition/messages';
import type { IRoom, IRoomRaw } from '@rocket.chat/apps-engine/definition/rooms';
import type { IUser } from '@rocket.chat/apps-engine/definition/users';
import { RoomBridge } from '@rocket.chat/apps-engine/server/bridges';
import type { GetMessagesOptions, GetRoomsFilters, GetRoomsOptions } from '@rocket.chat/apps-engine/server/bridges/RoomBridge';

import { asApp } from '../../rocketchat/converters/asApp';
import type { RocketChat } from '../../rocketchat/RocketChat';
import type { RcRoom } from '../../rocketchat/types';
import { randomId } from '../util';
import { ni } from './notImplemented';

export class EmulatedRoomBridge extends RoomBridge {
    constructor(private readonly rc: RocketChat) {
        super();
    }

    protected async create(room: IRoom, members: string[]): Promise<string> {
        const now = new Date();
        const creator = room.creator ? this.rc.users.get(room.creator.id) : undefined;
        if ((room.type as string) === 'l') {
            ni('RoomBridge.create for livechat rooms (use the LivechatCreator)');
        }
        const rcRoom: RcRoom = {
            _id: randomId(),
            t: room.type as RcRoom['t'],
            name: room.slugifiedName,
            fname: room.displayName,
            ts: now,
            lm: now,
            _updatedAt: now,
            msgs: 0,
            usersCount: members.length,
            u: creator ? { _id: creator._id, username: creator.username, name: creator.name } : undefined,
            usernames: members,
            uids: members.map((m) => this.rc.userByUsername(m)?._id).filter((x): x is string => !!x),
            default: room.isDefault,
            ro: room.isReadOnly,
            customFields: room.customFields,
        };
        this.rc.roomsById.set(rcRoom._id, rcRoom);
        return rcRoom._id;
    }

    protected async getById(roomId: string): Promise<IRoom> {
        return this.rc.toAppRoom(this.rc.roomsById.get(roomId)) as IRoom;
    }

    protected async getByName(roomName: string): Promise<IRoom> {
        return this.rc.toAppRoom(this.rc.rooms.find((r) => r.name === roomName)) as IRoom;
    }

    protected async getCreatorById(roomId: string): Promise<IUser | undefined> {
        const room = this.rc.roomsById.get(roomId);
        return room?.u ? this.rc.toAppUser(this.rc.users.get(room.u._id)) : undefined;
    }

    protected async getCreatorByName(roomName: string): Promise<IUser | undefined> {
        const room = this.rc.rooms.find((r) => r.name === roomName);
        return room?.u ? this.rc.toAppUser(this.rc.users.get(room.u._id)) : undefined;
    }

    protected async getDirectByUsernames(usernames: string[]): Promise<IRoom | undefined> {
        const sorted = [...usernames].sort().join(',');
        const direct = this.rc.rooms.find((r) => r.t === 'd' && [...(r.usernames ?? [])].sort().join(',') === sorted);
        return this.rc.toAppRoom(direct);
    }

    protected async getMembers(roomId: string): Promise<IUser[]> {
        const room = this.rc.roomsById.get(roomId);
        if (!room) {
            return [];
        }
        const ids = new Set<string>(room.uids ?? []);
        if (room.servedBy) {
            ids.add(room.servedBy._id);
        }
        return [...ids].map((id) => this.rc.toAppUser(this.rc.users.get(id))).filter((u): u is IUser => !!u);
    }

    protected async getAllRooms(filters: GetRoomsFilters, options: GetRoomsOptions): Promise<IRoomRaw[]> {
        const types = filters.types as string[] | undefined;
        const rooms = this.rc.rooms.filter((r) => !types || types.includes(r.t));
        const skip = options.skip ?? 0;
        // Rocket.Chat answers with the converted rooms.
        return rooms.slice(skip, skip + (options.limit ?? 100)).map((r) => asApp<IRoomRaw>(this.rc.toAppRoom(r)!));
    }

    protected async update(room: IRoom): Promise<void> {
        const existing = this.rc.roomsById.get(room.id);
        if (!existing) {
            throw new Error('room not found');
        }
        if (room.displayName !== undefined) existing.fname = room.displayName;
        if (room.customFields !== undefined) existing.customFields = room.customFields;
        existing._updatedAt = new Date();
    }

    protected async createDiscussion(): Promise<string> {
        return ni('RoomBridge.createDiscussion');
    }

    protected async delete(roomId: string): Promise<void> {
        this.rc.roomsById.delete(roomId);
    }

    protected async getModerators(): Promise<IUser[]> {
        return [];
    }

    protected async getOwners(): Promise<IUser[]> {
        return [];
    }

    protected async getLeaders(): Promise<IUser[]> {
        return [];
    }

    protected async getMessages(roomId: string, options: GetMessagesOptions): Promise<IMessageRaw[]> {
        let messages = this.rc.messagesOf(roomId);
        if (!options.showThreadMessages) {
            messages = messages.filter((m) => !m.tmid);
        }
        if (options.sort?.createdAt === 'desc') {
            messages = [...messages].reverse();
        }
        return messages.slice(options.skip ?? 0, (options.skip ?? 0) + (options.limit ?? 100)).map((m) => {
            const app = this.rc.toAppMessage(m)!;
            return asApp<IMessageRaw>({ ...app, roomId: m.rid, sender: { _id: m.u._id, username: m.u.username, name: m.u.name } });
        });
    }

    protected async removeUsers(): Promise<void> {
        ni('RoomBridge.removeUsers');
    }

    protected async getUnreadByUser(): Promise<IMessageRaw[]> {
        return ni('RoomBridge.getUnreadByUser');
    }

    protected async getUserUnreadMessageCount(): Promise<number> {
        return ni('RoomBridge.getUserUnreadMessageCount');
    }
}
