import type { IDepartment, ILivechatRoom, IVisitor } from '@rocket.chat/apps-engine/definition/livechat';
import type { IMessage } from '@rocket.chat/apps-engine/definition/messages';
import type { IRoom } from '@rocket.chat/apps-engine/definition/rooms';
import type { IUpload } from '@rocket.chat/apps-engine/definition/uploads';
import type { IUser } from '@rocket.chat/apps-engine/definition/users';

import { RcStore } from '../store';
import type { RcDepartment, RcMessage, RcRoom, RcUpload, RcUser, RcVisitor } from '../types';
import { type AppMessageIn, fromAppMessage, toAppMessage, toAppUpload } from './messages';
import { asApp } from './asApp';
import { toAppRoom } from './rooms';
import { fromAppVisitor, toAppDepartment, toAppUser, toAppVisitor } from './users';

/**
 * Rocket.Chat documents <-> Apps-Engine objects, like apps/meteor/app/apps/server/converters: the
 * functions live in this folder; these methods give the emulation and the bridges `rc.toAppRoom(...)`.
 */
export class RcConverters extends RcStore {
    public toAppUser(user: RcUser | undefined): IUser | undefined {
        return toAppUser(this, user);
    }

    public toAppVisitor(visitor: RcVisitor | undefined): IVisitor | undefined {
        return toAppVisitor(this, visitor);
    }

    public toAppDepartment(department: RcDepartment | undefined): IDepartment | undefined {
        return toAppDepartment(this, department);
    }

    public toAppRoom(room: RcRoom | undefined): IRoom | undefined {
        return toAppRoom(this, room);
    }

    /** A livechat room (t === 'l') as the app sees it. */
    public toAppLivechatRoom(room: RcRoom | undefined): ILivechatRoom | undefined {
        return room ? asApp<ILivechatRoom>(toAppRoom(this, room)!) : undefined;
    }

    public toAppMessage(message: RcMessage | undefined): IMessage | undefined {
        return toAppMessage(this, message);
    }

    public toAppUpload(upload: RcUpload | undefined): IUpload | undefined {
        return toAppUpload(this, upload);
    }

    public fromAppMessage(message: AppMessageIn, isPartial = false): Partial<RcMessage> {
        return fromAppMessage(this, message, isPartial);
    }

    public fromAppVisitor(visitor: IVisitor | undefined): RcVisitor | undefined {
        return fromAppVisitor(this, visitor);
    }
}
