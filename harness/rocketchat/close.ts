import { tick } from '../engine/util';
import { RcTransfer, type RoomView } from './transfer';
import type { RcRoom, RcVisitor } from './types';

/** Closing a livechat room. */
export class RcClose extends RcTransfer {
    /**
     * apps/meteor/app/livechat/server/lib/closeRoom.ts: checks run on the room AS PASSED (`view`; the bridge
     * converts the app's room object): not open -> error-room-closed; Livechat_request_comment_when_closing_conversation
     * and an empty comment -> error-comment-is-required; resolveChatTags (department's chatClosingTags added; with
     * requestTagBeforeClosingChat an app close needs some, else error-tags-must-be-assigned-before-closing-chat).
     * Then the transaction: the inquiry must still exist (a room already closed in the DB -> "Error removing inquiry",
     * nothing changed). closer 'user' when a user is given, else 'visitor'. A closed room loses its `open` flag.
     */
    public async closeRoom(params: {
        room: RcRoom;
        view?: RoomView;
        comment?: string;
        user?: { _id: string; username?: string };
        visitor?: RcVisitor;
        options?: { clientAction?: boolean; tags?: string[] };
    }): Promise<void> {
        const view = params.view ?? params.room;
        if (!view || params.room.t !== 'l' || !view.open) {
            throw new Error('error-room-closed');
        }
        if (this.getServerSetting('Livechat_request_comment_when_closing_conversation') && !params.comment?.trim()) {
            throw new Error('error-comment-is-required');
        }
        const tags = this.resolveChatTags(view, params.room.tags, params.options ?? {});
        await tick();
        const room = params.room;
        const now = new Date();
        let closedBy: { _id: string; username?: string };
        let closer: 'user' | 'visitor';
        if (params.user) {
            closer = 'user';
            closedBy = { _id: params.user._id || '', username: params.user.username };
        } else if (params.visitor) {
            closer = 'visitor';
            closedBy = { _id: params.visitor._id, username: params.visitor.username };
        } else {
            throw new Error('Error: Please provide details of the user or visitor who closed the room');
        }
        // LivechatInquiry.removeByRoomId must delete exactly one inquiry (transaction aborted otherwise).
        if (!this.inquiries.has(room._id)) {
            throw new Error('Error removing inquiry');
        }
        if (!room.open) {
            throw new Error('Error closing room');
        }
        this.inquiries.delete(room._id);
        room.closer = closer;
        room.closedBy = closedBy;
        room.closedAt = now;
        room.chatDuration = (now.getTime() - (view.ts ?? room.ts).getTime()) / 1000;
        if (view.servedBy?.ts) {
            room.serviceTimeDuration = (now.getTime() - new Date(view.servedBy.ts).getTime()) / 1000 || undefined;
        }
        if (tags.length) {
            room.tags = tags;
        }
        room.closeComment = params.comment;
        delete room.open;
        room._updatedAt = now;
        this.saveSystemMessage('livechat-close', room._id, params.comment ?? '', closedBy, {
            groupable: false,
            // closeRoom.ts afterRoomClosed: the token is added whenever a visitor is passed (the bridge always passes one).
            ...(params.visitor && { token: params.visitor.token }),
        });
        const snapshot = () => this.toAppRoom(room);
        this.fire('ILivechatRoomClosedHandler', snapshot, { roomId: room._id });
        this.fire('IPostLivechatRoomClosed', snapshot, { roomId: room._id });
    }

    /** closeRoom.ts resolveChatTags */
    protected resolveChatTags(
        view: RoomView,
        roomTagsStored: string[] | undefined,
        options: { clientAction?: boolean; tags?: string[] },
    ): string[] {
        const unique = (...lists: Array<string[] | undefined>) => [...new Set(lists.flatMap((l) => l ?? []))];
        const roomTags = unique(options.tags, roomTagsStored);
        const department = view.departmentId ? this.departments.get(view.departmentId) : undefined;
        if (!department) {
            return roomTags;
        }
        const withDepartmentTags = unique(roomTags, department.chatClosingTags);
        if (!department.requestTagBeforeClosingChat) {
            return withDepartmentTags;
        }
        const checkRoomTags = !options.clientAction || roomTags.length > 0;
        const checkDepartmentTags = !!department.chatClosingTags && department.chatClosingTags.length > 0;
        if (!checkRoomTags || !checkDepartmentTags) {
            throw new Error('error-tags-must-be-assigned-before-closing-chat');
        }
        return withDepartmentTags;
    }
}
