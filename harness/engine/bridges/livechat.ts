import type { IExtraRoomParams } from '@rocket.chat/apps-engine/definition/accessors/ILivechatCreator';
import type {
    IDepartment,
    ILivechatMessage,
    ILivechatRoom,
    ILivechatTransferData,
    IVisitor,
    IVisitorExternalIdentifier,
    ResolveVisitorContactData,
} from '@rocket.chat/apps-engine/definition/livechat';
import type { IMessage } from '@rocket.chat/apps-engine/definition/messages';
import type { IUser } from '@rocket.chat/apps-engine/definition/users';
import { LivechatBridge } from '@rocket.chat/apps-engine/server/bridges';

import type { RocketChat, RoomView } from '../../rocketchat/RocketChat';
import type { RcRoom } from '../../rocketchat/types';
import { RocketChatError } from '../errors';
import { ni } from './notImplemented';

/** bridges/livechat.ts (AppLivechatBridge) */
export class EmulatedLivechatBridge extends LivechatBridge {
    constructor(
        private readonly rc: RocketChat,
        private readonly appName: (appId: string) => { name?: string; nameSlug?: string },
    ) {
        super();
    }

    protected isOnline(departmentId?: string): boolean {
        return this.rc.online(departmentId);
    }

    protected async isOnlineAsync(departmentId?: string): Promise<boolean> {
        return this.rc.online(departmentId);
    }

    protected async createMessage(message: ILivechatMessage, appId: string): Promise<string> {
        if (!message.token) {
            throw new Error('Invalid token for livechat message');
        }
        const guest = this.rc.fromAppVisitor(message.visitor);
        if (!guest) {
            throw new TypeError("Cannot read properties of undefined (reading '_id')");
        }
        // convertAppMessage(): the message must name an existing room ('Invalid room provided on the message.');
        // if that room is closed, sendMessage() opens a new one.
        const converted = this.rc.fromAppMessage(message);
        const sent = await this.rc.sendVisitorMessage(guest, converted, { type: 'app', id: appId, alias: this.appName(appId).nameSlug });
        return sent._id;
    }

    protected async getMessageById(messageId: string): Promise<ILivechatMessage> {
        return this.rc.toAppMessage(this.rc.messagesById.get(messageId)) as ILivechatMessage;
    }

    /** Rocket.Chat compares the original sender with `message.visitor._id`, which an app visitor never has: always refused. */
    protected async updateMessage(message: ILivechatMessage): Promise<void> {
        const original = message.id ? this.rc.messagesById.get(message.id) : undefined;
        if (!original) {
            return;
        }
        // Rocket.Chat reads the visitor's Mongo `_id`, which an app visitor (IVisitor) does not have.
        const guest = message.visitor as (IVisitor & { _id?: string }) | undefined;
        const editOwn = original.u && original.u._id === guest?._id;
        if (!this.rc.options.allowEditing || !editOwn) {
            throw new Error('error-action-not-allowed');
        }
        const partial = this.rc.fromAppMessage(message, true);
        this.rc.updateMessage({ ...partial, _id: original._id }, { _id: guest!._id!, username: guest!.username });
    }

    protected async createVisitor(visitor: IVisitor): Promise<string> {
        const created = await this.registerFromApp(visitor);
        if (!created) {
            throw new Error('Invalid visitor, cannot create');
        }
        return created._id;
    }

    protected async createAndReturnVisitor(visitor: IVisitor): Promise<IVisitor | undefined> {
        return this.rc.toAppVisitor(await this.registerFromApp(visitor));
    }

    private registerFromApp(visitor: IVisitor) {
        return this.rc.registerGuest({
            department: visitor.department,
            username: visitor.username,
            name: visitor.name,
            token: visitor.token,
            id: visitor.id,
            ...(visitor.phone?.length && { phone: visitor.phone[0].phoneNumber }),
            ...(visitor.visitorEmails?.length && { email: visitor.visitorEmails[0].address }),
        });
    }

    protected async findVisitors(query: object): Promise<IVisitor[]> {
        const entries = Object.entries(query as Record<string, unknown>);
        return this.rc.visitors
            .filter(
                (v) =>
                    !v.disabled && entries.every(([k, val]) => (v as unknown as Record<string, unknown>)[k === 'id' ? '_id' : k] === val),
            )
            .map((v) => this.rc.toAppVisitor(v) as IVisitor);
    }

    protected async findVisitorById(id: string): Promise<IVisitor | undefined> {
        const v = this.rc.visitorsById.get(id);
        return this.rc.toAppVisitor(v && !v.disabled ? v : undefined);
    }

    protected async findVisitorByEmail(email: string): Promise<IVisitor | undefined> {
        const address = email.toLowerCase();
        return this.rc.toAppVisitor(this.rc.visitors.find((v) => v.visitorEmails?.some((e) => e.address === address)));
    }

    protected async findVisitorByToken(token: string): Promise<IVisitor | undefined> {
        return this.rc.toAppVisitor(this.rc.visitorByToken(token));
    }

    protected async findVisitorByPhoneNumber(phoneNumber: string): Promise<IVisitor | undefined> {
        return this.rc.toAppVisitor(this.rc.visitors.find((v) => v.phone?.some((p) => p.phoneNumber === phoneNumber)));
    }

    protected async resolveVisitor(
        externalId: Omit<IVisitorExternalIdentifier, 'appId'>,
        contactData: ResolveVisitorContactData | undefined,
    ): Promise<IVisitor | undefined> {
        void externalId;
        void contactData;
        return ni('LivechatBridge.resolveVisitor');
    }

    protected async updateVisitorExternalId(): Promise<IVisitor | undefined> {
        return ni('LivechatBridge.updateVisitorExternalId');
    }

    protected async transferVisitor(visitor: IVisitor, transferData: ILivechatTransferData, appId: string): Promise<boolean> {
        if (!visitor) {
            throw new Error('Invalid visitor, cannot transfer');
        }
        const { targetAgent, targetDepartment, currentRoom } = transferData;
        const appUser = [...this.rc.users.values()].find((u) => u.appId === appId && u.type === 'app');
        if (!appUser) {
            throw new Error('Invalid app user, cannot transfer');
        }
        let userId: string | undefined;
        let transferredTo: { _id: string; username: string; name?: string } | undefined;
        if (targetAgent?.id) {
            const agent = this.rc.users.get(targetAgent.id);
            if (!agent?.roles.includes('livechat-agent')) {
                throw new Error('Invalid target agent, cannot transfer');
            }
            userId = agent._id;
            transferredTo = { _id: agent._id, username: agent.username, name: agent.name };
        }
        const room = this.rc.roomsById.get(currentRoom?.id);
        if (!room) {
            throw new Error('error-invalid-room');
        }
        // apps/meteor/app/apps/server/bridges/livechat.ts: LivechatTyped.transfer(convertAppRoom(currentRoom), ...):
        // the app's room object is trusted.
        return this.rc.transfer(
            room,
            {
                userId,
                departmentId: targetDepartment,
                transferredBy: { _id: appUser._id, username: appUser.username, name: appUser.name, type: appUser.type, userType: 'user' },
                transferredTo,
            },
            this.roomView(room, currentRoom),
        );
    }

    protected async createRoom(visitor: IVisitor, agent: IUser, appId: string, extraParams: IExtraRoomParams = {}): Promise<ILivechatRoom> {
        const { source, customFields } = extraParams;
        if (source && (source as { type?: string }).type !== 'app' && this.rc.options.rejectNonAppSource) {
            throw new RocketChatError('error-invalid-source', 'Apps can only create rooms with source type "app"');
        }
        let selected: { agentId: string; username: string } | undefined;
        if (agent?.id) {
            const user = this.rc.users.get(agent.id);
            if (!user) {
                throw new Error(`The agent with id "${agent.id}" was not found.`);
            }
            selected = { agentId: user._id, username: user.username };
        }
        const guest = this.rc.fromAppVisitor(visitor);
        if (!guest?._id) {
            throw new Error('Match error: Expected string, got undefined in field _id');
        }
        const app = this.appName(appId);
        const s = (source || {}) as Record<string, string | undefined>;
        const room = await this.rc.createLivechatRoom({
            visitor: guest,
            agent: selected,
            customFields,
            source: {
                type: 'app',
                id: appId,
                alias: app.name,
                ...(source &&
                    s.type === 'app' && {
                        sidebarIcon: s.sidebarIcon,
                        defaultIcon: s.defaultIcon,
                        label: s.label,
                        destination: s.destination,
                    }),
            },
        });
        return this.rc.toAppLivechatRoom(room) as ILivechatRoom;
    }

    /**
     * apps/meteor/app/apps/server/bridges/livechat.ts closeRoom: closeRoom({ room: convertAppRoom(room), ... }):
     * the app's room object is trusted (a stale isOpen passes the open check; see RocketChat.closeRoom).
     */
    protected async closeRoom(room: ILivechatRoom, comment: string, closer: IUser | undefined): Promise<boolean> {
        const rcRoom = this.rc.roomsById.get(room.id);
        const view = this.roomView(rcRoom, room);
        if (!rcRoom || !view.open) {
            throw new Error('error-room-closed');
        }
        const visitor = room.visitor ? this.rc.fromAppVisitor(room.visitor) : undefined;
        await this.rc.closeRoom({
            room: rcRoom,
            view,
            comment,
            ...(closer && { user: { _id: closer.id, username: closer.username } }),
            ...(visitor && { visitor }),
        });
        return true;
    }

    /** apps/meteor/app/apps/server/converters/rooms.ts convertAppRoom: open/departmentId/servedBy as the app passed them. */
    private roomView(rcRoom: RcRoom | undefined, appRoom: ILivechatRoom | undefined): RoomView {
        const servedBy = appRoom?.servedBy?.id ? this.rc.users.get(appRoom.servedBy.id) : undefined;
        const departmentId =
            appRoom?.department?.id && this.rc.departments.has(appRoom.department.id) ? (appRoom.department.id as string) : undefined;
        return {
            _id: (rcRoom?._id ?? appRoom?.id) as string,
            open: appRoom && typeof appRoom.isOpen !== 'undefined' ? !!appRoom.isOpen : undefined,
            departmentId,
            servedBy: servedBy ? { _id: servedBy._id, username: servedBy.username, ts: undefined as unknown as Date } : undefined,
            ts: appRoom?.createdAt ? new Date(appRoom.createdAt) : rcRoom?.ts,
        };
    }

    protected async countOpenRoomsByAgentId(agentId: string): Promise<number> {
        if (!agentId) {
            throw new Error('Invalid agentId');
        }
        return this.rc.rooms.filter((r) => r.t === 'l' && r.open && r.servedBy?._id === agentId).length;
    }

    protected async findOpenRoomsByAgentId(agentId: string): Promise<ILivechatRoom[]> {
        if (!agentId) {
            throw new Error('Invalid agentId');
        }
        const rooms = this.rc.rooms.filter((r) => r.t === 'l' && r.open && r.servedBy?._id === agentId);
        return rooms.map((r) => this.rc.toAppLivechatRoom(r) as ILivechatRoom);
    }

    /** LivechatRooms.findOpenByVisitorToken(AndDepartmentId): only OPEN rooms. */
    protected async findRooms(visitor: IVisitor, departmentId: string | null): Promise<ILivechatRoom[]> {
        if (!visitor) {
            return [];
        }
        return this.rc
            .openRoomsOf(visitor.token)
            .filter((r) => !departmentId || r.departmentId === departmentId)
            .map((r) => this.rc.toAppLivechatRoom(r) as ILivechatRoom);
    }

    protected async findDepartmentByIdOrName(value: string): Promise<IDepartment | undefined> {
        return this.rc.toAppDepartment(this.rc.departmentByIdOrName(value));
    }

    /** LivechatDepartment.findEnabledWithAgents: enabled and numAgents > 0 (agents need not be online). */
    protected async findDepartmentsEnabledWithAgents(): Promise<IDepartment[]> {
        const departments = [...this.rc.departments.values()].filter((d) => d.enabled && d.numAgents > 0);
        return departments.map((d) => this.rc.toAppDepartment(d) as IDepartment);
    }

    protected async _fetchLivechatRoomMessages(appId: string, roomId: string): Promise<IMessage[]> {
        return this.rc.messagesOf(roomId).map((m) => this.rc.toAppMessage(m) as IMessage);
    }

    /** apps/meteor/app/livechat/server/lib/custom-fields.ts setCustomFields (the engine's LivechatUpdater turns it into `result > 0`). */
    protected async setCustomFields(data: { token: string; key: string; value: string; overwrite: boolean }): Promise<number> {
        return this.rc.setCustomFields(data);
    }
}
