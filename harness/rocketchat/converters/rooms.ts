import type { IRoom } from '@rocket.chat/apps-engine/definition/rooms';

import { clone, compact } from '../../engine/util';
import type { RcStore } from '../store';
import type { RcRoom } from '../types';
import { asApp } from './asApp';
import { toAppDepartment, toAppUser, toAppVisitor } from './users';

export function toAppRoom(rc: RcStore, room: RcRoom | undefined): IRoom | undefined {
    if (!room) {
        return undefined;
    }
    const types: Record<string, string> = { c: 'c', p: 'p', d: 'd', l: 'l' };
    const out: Record<string, unknown> = compact({
        id: room._id,
        displayName: room.fname,
        slugifiedName: room.name,
        type: types[room.t],
        creator: room.u ? toAppUser(rc, rc.users.get(room.u._id)) : undefined,
        userIds: room.uids,
        usernames: room.usernames,
        messageCount: room.msgs,
        createdAt: room.ts,
        updatedAt: room._updatedAt,
        lastModifiedAt: room.lm,
        customFields: room.customFields,
        isDefault: !!room.default,
        isReadOnly: !!room.ro,
        displaySystemMessages: room.sysMes === undefined ? true : room.sysMes,
        description: room.description,
    });
    if (room.t === 'l') {
        Object.assign(
            out,
            compact({
                visitor: room.v
                    ? (toAppVisitor(rc, rc.visitorsById.get(room.v._id)) ?? {
                          id: room.v._id,
                          username: room.v.username,
                          token: room.v.token,
                          status: room.v.status,
                      })
                    : undefined,
                visitorChannelInfo: room.v
                    ? compact({ lastMessageTs: (room.v as Record<string, unknown>).lastMessageTs as Date | undefined })
                    : undefined,
                department: room.departmentId ? toAppDepartment(rc, rc.departments.get(room.departmentId)) : undefined,
                servedBy: room.servedBy ? toAppUser(rc, rc.users.get(room.servedBy._id)) : undefined,
                responseBy: room.responseBy ? toAppUser(rc, rc.users.get(room.responseBy._id)) : undefined,
                closedBy: room.closedBy
                    ? room.closer === 'user'
                        ? toAppUser(rc, rc.users.get(room.closedBy._id))
                        : toAppVisitor(rc, rc.visitorsById.get(room.closedBy._id))
                    : undefined,
                closer: room.closer,
                closedAt: room.closedAt,
                isOpen: room.open,
                isWaitingResponse: room.waitingResponse,
                source: room.source,
                livechatData: room.livechatData,
            }),
        );
    }
    // A livechat room (t === 'l') is an ILivechatRoom.
    return asApp<IRoom>(clone(out));
}
