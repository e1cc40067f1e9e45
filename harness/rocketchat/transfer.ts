import { clone, compact, tick } from '../engine/util';
import { RcRouting, type SelectedAgent } from './routing';
import type { RcInquiry, RcRoom } from './types';

/** The room as a caller passed it (the bridges convert the app's room object instead of re-reading it). */
export type RoomView = Pick<RcRoom, '_id' | 'open' | 'departmentId' | 'servedBy'> & Partial<Pick<RcRoom, 'ts' | 'v'>>;
export type TransferredBy = { _id: string; username: string; name?: string; type?: string; userType: 'user' | 'agent' | 'visitor' };
export interface TransferData {
    userId?: string;
    departmentId?: string;
    transferredBy: TransferredBy;
    transferredTo?: { _id: string; username: string; name?: string };
    comment?: string;
}

/** Transfers: forwarding a livechat room to a department or an agent. */
export class RcTransfer extends RcRouting {
    /**
     * transfer.ts transfer + RoutingManager.transferRoom (forwardRoomToDepartment / forwardRoomToAgent).
     * `view` is the room as the caller sees it: LivechatBridge.transferVisitor converts the app's room object
     * (convertAppRoom) instead of re-reading it, so `open`, `departmentId` and `servedBy` come from the app.
     */
    public async transfer(room: RcRoom, transferData: TransferData, view: RoomView = room): Promise<boolean> {
        if (transferData.departmentId) {
            // apps/meteor/app/livechat/server/lib/transfer.ts: unknown department -> error-invalid-department.
            if (!this.departments.get(transferData.departmentId)) {
                throw new Error('error-invalid-department');
            }
            return this.forwardRoomToDepartment(room, transferData, view);
        }
        if (transferData.userId) {
            return this.forwardRoomToAgent(room, transferData, view);
        }
        return false;
    }

    /** apps/meteor/app/livechat/server/lib/Helper.ts forwardRoomToDepartment (8.x). */
    protected async forwardRoomToDepartment(room: RcRoom, transferData: TransferData, view: RoomView): Promise<boolean> {
        // Helper.ts: a room that is not open (as passed) -> false.
        if (!view.open) {
            return false;
        }
        const departmentId = transferData.departmentId!;
        const oldServedBy = view.servedBy ? { ...view.servedBy } : undefined;
        const oldDepartmentId = view.departmentId;
        const inquiry = this.inquiries.get(room._id);
        if (!inquiry) {
            throw new Error('error-transferring-inquiry');
        }
        if (oldDepartmentId === departmentId) {
            throw new Error('error-forwarding-chat-same-department');
        }
        let agent: SelectedAgent | undefined;
        if (transferData.userId) {
            const user = this.users.get(transferData.userId);
            if (!this.isAgentOnline(user)) {
                throw new Error('error-user-is-offline');
            }
            if (!this.departmentAgents.some((da) => da.departmentId === departmentId && da.agentId === transferData.userId)) {
                throw new Error('error-user-not-belong-to-department');
            }
            agent = { agentId: user!._id, username: user!.username };
        }
        const target = this.departments.get(departmentId)!;
        await tick();
        // Helper.ts: manual routing, or a target that allowReceiveForwardOffline with nobody online -> the target's
        // queue (RoutingManager.unassignAgent(inquiry, departmentId, true)), no online check.
        if (this.options.routing === 'manual' || (target.allowReceiveForwardOffline && !this.checkOnlineAgents(departmentId))) {
            this.saveTransferHistory(room, transferData, oldDepartmentId);
            return this.unassignAgent(room, inquiry, departmentId);
        }
        // Fake the department to forward the inquiry; delegateInquiry with nobody online changes nothing.
        const previousInquiryDepartment = inquiry.department;
        inquiry.department = departmentId;
        const taken = await this.delegateInquiry(inquiry, agent, { forwardingTo: departmentId });
        const servedBy = taken?.servedBy;
        if (oldServedBy && servedBy && oldServedBy._id === servedBy._id) {
            inquiry.department = previousInquiryDepartment;
            if (target.fallbackForwardDepartment) {
                // Helper.ts: 'livechat:onTransferFailure' has no handler on CE, callbacks.run returns the room -> true, nothing moved.
                return true;
            }
            throw new Error('error-no-agents-online-in-department');
        }
        this.saveTransferHistory(room, transferData, oldDepartmentId);
        if (oldServedBy && (!servedBy || servedBy._id !== oldServedBy._id)) {
            this.removeAgent(room, oldServedBy._id);
        }
        this.updateChatDepartment(room, departmentId, oldDepartmentId);
        return true;
    }

    /**
     * apps/meteor/app/livechat/server/lib/RoutingManager.ts unassignAgent(inquiry, departmentId, shouldQueue=true):
     * re-reads the room (closed -> false), switches the department (IPostLivechatRoomTransferred, converted while
     * the room may still show the old agent), removes the agent (IPostLivechatAgentUnassigned), queues the inquiry.
     */
    protected unassignAgent(room: RcRoom, inquiry: RcInquiry, departmentId: string): boolean {
        if (!room.open) {
            return false;
        }
        if (departmentId !== inquiry.department) {
            this.updateChatDepartment(room, departmentId, inquiry.department ?? room.departmentId);
        }
        const servedBy = room.servedBy;
        if (servedBy) {
            delete room.servedBy;
            room._updatedAt = new Date();
            this.removeAgent(room, servedBy._id);
        }
        inquiry.status = 'queued';
        return true;
    }

    /** apps/meteor/app/livechat/server/lib/Helper.ts forwardRoomToAgent. */
    protected async forwardRoomToAgent(room: RcRoom, transferData: TransferData, view: RoomView): Promise<boolean> {
        if (!view.open) {
            return false;
        }
        const agentId = transferData.userId!;
        const user = this.users.get(agentId);
        if (!this.isAgentOnline(user)) {
            throw new Error('error-user-is-offline');
        }
        const inquiry = this.inquiries.get(room._id);
        if (!inquiry) {
            throw new Error('error-invalid-inquiry');
        }
        const oldServedBy = view.servedBy ? { ...view.servedBy } : undefined;
        if (oldServedBy && oldServedBy._id === agentId) {
            throw new Error('error-selected-agent-room-agent-are-same');
        }
        await tick();
        this.takeInquiry(inquiry, { agentId, username: user!.username }, room);
        this.saveTransferHistory(room, transferData);
        if (oldServedBy) {
            this.removeAgent(room, oldServedBy._id);
        }
        const from = oldServedBy?._id;
        this.fire(
            'IPostLivechatRoomTransferred',
            () => ({
                type: 'agent',
                room: this.toAppRoom(room),
                from: from ? this.toAppUser(this.users.get(from)) : undefined,
                to: this.toAppUser(user),
            }),
            { roomId: room._id },
        );
        return true;
    }

    /** Helper.updateChatDepartment: fires IPostLivechatRoomTransferred (department). */
    protected updateChatDepartment(room: RcRoom, newDepartmentId: string, oldDepartmentId?: string): void {
        room.departmentId = newDepartmentId;
        room._updatedAt = new Date();
        const inquiry = this.inquiries.get(room._id);
        if (inquiry) {
            inquiry.department = newDepartmentId;
        }
        this.fire(
            'IPostLivechatRoomTransferred',
            () => ({
                type: 'department',
                room: this.toAppRoom(room),
                from: oldDepartmentId ? this.toAppDepartment(this.departments.get(oldDepartmentId)) : undefined,
                to: this.toAppDepartment(this.departments.get(newDepartmentId)),
            }),
            { roomId: room._id },
        );
    }

    protected saveTransferHistory(
        room: RcRoom,
        transferData: TransferData,
        previousDepartment: string | undefined = room.departmentId,
    ): void {
        const { transferredBy, transferredTo, departmentId, comment } = transferData;
        this.saveSystemMessage(
            'livechat_transfer_history',
            room._id,
            '',
            { _id: transferredBy._id, username: transferredBy.username },
            {
                ...(transferredBy.userType === 'visitor' && { token: room.v?.token }),
                transferData: compact({
                    transferredBy,
                    ts: new Date(),
                    scope: departmentId ? 'department' : 'agent',
                    comment,
                    previousDepartment,
                    nextDepartment: departmentId ? clone(this.departments.get(departmentId)) : undefined,
                    transferredTo,
                }),
            },
        );
    }
}
