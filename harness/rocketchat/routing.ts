import { RocketChatError } from '../engine/errors';
import { compact, randomId } from '../engine/util';
import { RcMessages } from './messages';
import type { RcDepartment, RcInquiry, RcMessage, RcOmnichannelSource, RcRoom, RcVisitor } from './types';

export type SelectedAgent = { agentId: string; username: string };

/** Livechat rooms and routing: room creation (QueueManager), inquiries, agent selection and assignment. */
export class RcRouting extends RcMessages {
    /**
     * rooms.ts createRoom + QueueManager.requestRoom. Never looks for an existing open room of the
     * visitor (Rocket.Chat does not either).
     */
    public async createLivechatRoom(params: {
        visitor: RcVisitor;
        source: RcOmnichannelSource;
        agent?: SelectedAgent;
        customFields?: Record<string, unknown>;
        message?: string;
    }): Promise<RcRoom> {
        // apps/meteor/app/livechat/server/lib/rooms.ts createRoom: Livechat_enabled first.
        if (!this.getServerSetting('Livechat_enabled')) {
            throw new RocketChatError('error-omnichannel-is-disabled');
        }
        const guest = { ...params.visitor };
        const agent = params.agent;
        // apps/meteor/app/livechat/server/lib/rooms.ts + departmentsLib.ts getRequiredDepartment: no agent and no
        // department -> the first enabled department with agents, shown on registration, with an agent online.
        if (!agent && !guest.department) {
            const required = this.requiredDepartment();
            if (required) {
                guest.department = required._id;
            }
        }
        const department = guest.department ? this.departmentWithOnlineAgents(guest.department) : undefined;
        if (!this.options.acceptChatsWithNoAgents) {
            if (!agent && guest.department && !department) {
                throw new RocketChatError('no-agent-online', 'Sorry, no online agents');
            }
            if (!agent && !guest.department && !this.checkOnlineAgents()) {
                throw new RocketChatError('no-agent-online', 'Sorry, no online agents');
            }
        }
        await this.roundTrip();
        if (this.options.singleOpenRoomPerVisitor && this.openRoomsOf(guest.token).length) {
            // L/Helper.ts prepareLivechatRoom (newest): unique partial index on open rooms per visitor token.
            throw new Error(
                'E11000 duplicate key error collection: rocketchat.rocketchat_room index: v.token_1 ' +
                    `dup key: { v.token: ${JSON.stringify(guest.token)} }`,
            );
        }
        const now = new Date();
        const rid = randomId();
        const room: RcRoom = compact({
            _id: rid,
            t: 'l' as const,
            msgs: 0,
            usersCount: 1,
            lm: now,
            fname: guest.name || guest.username,
            ts: now,
            _updatedAt: now,
            departmentId: department ?? guest.department,
            v: { _id: guest._id, username: guest.username, token: guest.token, status: guest.status || 'online' },
            open: true,
            waitingResponse: true,
            source: params.source,
            queuedAt: now,
            // ee/app/livechat-enterprise/server/hooks/beforeNewRoom.ts: only the Enterprise module stores them (unvalidated).
            customFields: this.options.enterprise && params.customFields ? params.customFields : undefined,
        });
        this.roomsById.set(rid, room);
        const status = this.inquiryStatusFor(agent);
        const inquiry: RcInquiry = compact({
            _id: randomId(),
            rid,
            status,
            department: room.departmentId,
            v: { ...room.v! },
            ts: now,
            defaultAgent: status === 'queued' ? agent : undefined,
        });
        this.inquiries.set(rid, inquiry);
        this.saveSystemMessage(
            'livechat-started',
            rid,
            '',
            { _id: guest._id, username: guest.username },
            { groupable: false, token: guest.token },
        );
        this.fire('IPostLivechatRoomStarted', () => this.toAppRoom(room), { roomId: rid });
        if (inquiry.status === 'ready') {
            await this.delegateInquiry(inquiry, agent);
        }
        return room;
    }

    protected inquiryStatusFor(agent?: SelectedAgent): RcInquiry['status'] {
        if (agent && this.users.get(agent.agentId)?.roles.includes('bot')) {
            return 'ready';
        }
        if (this.options.routing === 'auto') {
            return 'ready';
        }
        return 'queued';
    }

    /** departmentsLib.ts getRequiredDepartment(): first enabled department with agents, showOnRegistration, one agent online. */
    public requiredDepartment(): RcDepartment | undefined {
        return [...this.departments.values()].find(
            (d) =>
                d.enabled &&
                d.numAgents > 0 &&
                d.showOnRegistration &&
                this.departmentAgents.some((da) => da.departmentId === d._id && this.isAgentOnline(this.users.get(da.agentId))),
        );
    }

    /** QueueManager getDepartment(): the department if it has online agents, else its fallback chain. */
    protected departmentWithOnlineAgents(departmentId: string): string | undefined {
        if (this.departmentAgents.some((da) => da.departmentId === departmentId && this.isAgentOnline(this.users.get(da.agentId)))) {
            return departmentId;
        }
        const fallback = this.departments.get(departmentId)?.fallbackForwardDepartment;
        return fallback ? this.departmentWithOnlineAgents(fallback) : undefined;
    }

    /** Auto_Selection getNextAgent: the online agent (of the department) with the fewest routed chats. */
    protected nextAgent(departmentId?: string): SelectedAgent | undefined {
        if (departmentId) {
            const candidates = this.departmentAgents
                .filter((da) => da.departmentId === departmentId && this.isAgentOnline(this.users.get(da.agentId)))
                .sort((a, b) => a.count - b.count || a.order - b.order || a.username.localeCompare(b.username));
            const chosen = candidates[0];
            if (!chosen) {
                return undefined;
            }
            chosen.count++;
            return { agentId: chosen.agentId, username: chosen.username };
        }
        const counts = new Map<string, number>();
        for (const r of this.roomsById.values()) {
            if (r.open && r.servedBy) {
                counts.set(r.servedBy._id, (counts.get(r.servedBy._id) ?? 0) + 1);
            }
        }
        const chosen = this.onlineAgents().sort(
            (a, b) => (counts.get(a._id) ?? 0) - (counts.get(b._id) ?? 0) || a.username.localeCompare(b.username),
        )[0];
        return chosen ? { agentId: chosen._id, username: chosen.username } : undefined;
    }

    /** RoutingManager.delegateInquiry */
    protected async delegateInquiry(
        inquiry: RcInquiry,
        agent?: SelectedAgent,
        options: { forwardingTo?: string } = {},
    ): Promise<RcRoom | undefined> {
        let selected = agent;
        if (!selected || !this.isAgentOnline(this.users.get(selected.agentId))) {
            selected = this.nextAgent(options.forwardingTo ?? inquiry.department);
        }
        const room = this.roomsById.get(inquiry.rid);
        if (!selected || !room) {
            return room;
        }
        return this.takeInquiry(inquiry, selected, room);
    }

    /** RoutingManager.takeInquiry + assignAgent */
    protected takeInquiry(inquiry: RcInquiry, agent: SelectedAgent, room: RcRoom): RcRoom {
        if (!room.open) {
            return room;
        }
        if (room.servedBy && room.servedBy._id === agent.agentId) {
            return room;
        }
        inquiry.status = 'taken';
        delete inquiry.defaultAgent;
        const user = this.users.get(agent.agentId);
        if (!user) {
            throw new Error('error-user-not-found');
        }
        room.servedBy = { _id: user._id, username: user.username, ts: new Date() };
        room.usersCount++;
        room._updatedAt = new Date();
        this.saveSystemMessage('command', room._id, 'connected', user);
        this.saveSystemMessage('uj', room._id, '', user);
        this.fire('IPostLivechatAgentAssigned', () => ({ room: this.toAppRoom(room), agent: this.toAppUser(user) }), { roomId: room._id });
        return room;
    }

    /** Helper.removeAgentFromSubscription: the agent leaves ('ul') and IPostLivechatAgentUnassigned fires. */
    protected removeAgent(room: RcRoom, agentId: string): void {
        const user = this.users.get(agentId);
        if (!user) {
            return;
        }
        this.saveSystemMessage('ul', room._id, user.username, user);
        const snapshot = this.toAppRoom(room);
        this.fire('IPostLivechatAgentUnassigned', () => ({ room: snapshot, agent: this.toAppUser(user) }), { roomId: room._id });
    }

    /** Agent UI: take a queued chat (Manual_Selection), or assign an unserved one. */
    public async takeRoom(roomId: string, agentUsername: string): Promise<RcRoom> {
        const room = this.mustRoom(roomId);
        const agent = this.mustUser(agentUsername);
        const inquiry = this.inquiries.get(roomId);
        if (!room.open || !inquiry) {
            throw new RocketChatError('error-room-closed');
        }
        if (inquiry.status === 'taken') {
            throw new RocketChatError('error-not-allowed', 'Inquiry already taken');
        }
        if (!this.isAgentOnline(agent)) {
            throw new RocketChatError('error-agent-status-service-offline', 'Agent status is offline or Omnichannel service is not active');
        }
        this.takeInquiry(inquiry, { agentId: agent._id, username: agent.username }, room);
        await this.idle();
        return room;
    }

    /**
     * livechat/server/lib/messages.ts sendMessage + rooms.ts getRoom: a visitor message goes to
     * `message.rid`; if that room is closed or does not exist, a NEW room is created for the visitor.
     */
    public async sendVisitorMessage(
        guest: RcVisitor,
        message: Partial<RcMessage>,
        source: RcOmnichannelSource,
    ): Promise<RcMessage & { newRoom: boolean }> {
        // apps/meteor/app/livechat/server/lib/rooms.ts getRoom: Livechat_enabled first, open room or not.
        if (!this.getServerSetting('Livechat_enabled')) {
            throw new RocketChatError('error-omnichannel-is-disabled');
        }
        let room = message.rid ? this.roomsById.get(message.rid) : undefined;
        let newRoom = false;
        if (!room?.open) {
            room = await this.createLivechatRoom({ visitor: guest, source, message: message.msg });
            newRoom = true;
        } else if (room.v?.token !== guest.token) {
            throw new RocketChatError('cannot-access-room');
        }
        const toSend = { ...message, rid: room._id, token: guest.token };
        if (guest.name) {
            toSend.alias = guest.name;
        }
        const stored = this.sendMessage({ _id: guest._id, username: guest.username, name: guest.name }, toSend, room);
        return Object.assign(stored, { newRoom });
    }
}
