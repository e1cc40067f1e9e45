import type { IUser, IUserCreationOptions, UserType } from '@rocket.chat/apps-engine/definition/users';
import { UserBridge } from '@rocket.chat/apps-engine/server/bridges';

import type { RocketChat } from '../../rocketchat/RocketChat';
import type { RcUser } from '../../rocketchat/types';

export class EmulatedUserBridge extends UserBridge {
    constructor(private readonly rc: RocketChat) {
        super();
    }

    protected async getById(id: string): Promise<IUser> {
        return this.rc.toAppUser(this.rc.users.get(id)) as IUser;
    }

    protected async getByUsername(username: string): Promise<IUser> {
        return this.rc.toAppUser(this.rc.userByUsername(username)) as IUser;
    }

    protected async getAppUser(appId?: string): Promise<IUser | undefined> {
        const user = [...this.rc.users.values()].find((u) => u.appId === appId && u.type === 'app');
        return this.rc.toAppUser(user);
    }

    protected async getActiveUserCount(): Promise<number> {
        return [...this.rc.users.values()].filter((u) => u.active && u.type === 'user').length;
    }

    protected async getUserUnreadMessageCount(): Promise<number> {
        return 0;
    }

    protected async getUserRoomIds(userId: string): Promise<string[]> {
        return this.rc.rooms.filter((r) => r.servedBy?._id === userId || r.uids?.includes(userId)).map((r) => r._id);
    }

    protected async create(data: Partial<IUser>, appId: string, options?: IUserCreationOptions): Promise<string> {
        const type = (data.type as string) === 'app' ? 'app' : (data.type as string) === 'bot' ? 'bot' : 'user';
        const user = this.rc.createUser({
            username: data.username!,
            name: data.name,
            type,
            roles: data.roles ?? (type === 'app' ? ['app'] : ['user']),
            appId: data.appId ?? (type !== 'user' ? appId : undefined),
            status: (data.status as RcUser['status']) ?? 'online',
            active: data.isEnabled ?? true,
            emails: data.emails ?? [],
        });
        void options;
        return user._id;
    }

    protected async remove(user: IUser): Promise<boolean> {
        return this.rc.users.delete(user.id);
    }

    protected async update(user: IUser, updates: Partial<IUser>): Promise<boolean> {
        const existing = this.rc.users.get(user.id);
        if (!existing) {
            throw new Error(`user ${user.id} not found`);
        }
        if (updates.name !== undefined) existing.name = updates.name;
        if (updates.status !== undefined) existing.status = updates.status as RcUser['status'];
        if (updates.customFields !== undefined) existing.customFields = updates.customFields;
        existing._updatedAt = new Date();
        return true;
    }

    protected async deleteUsersCreatedByApp(appId: string, type: UserType.APP | UserType.BOT): Promise<boolean> {
        for (const [id, u] of this.rc.users) {
            if (u.appId === appId && u.type === (type as string)) {
                this.rc.users.delete(id);
            }
        }
        return true;
    }

    protected async deactivate(userId: string): Promise<boolean> {
        const user = this.rc.users.get(userId);
        if (user) {
            user.active = false;
        }
        return !!user;
    }
}
