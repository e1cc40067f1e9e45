import type { IDepartment, IVisitor } from '@rocket.chat/apps-engine/definition/livechat';
import type { IUser } from '@rocket.chat/apps-engine/definition/users';

import { clone, compact } from '../../engine/util';
import type { RcStore } from '../store';
import { asApp } from './asApp';
import type { RcDepartment, RcUser, RcVisitor } from '../types';

export function toAppUser(_rc: RcStore, user: RcUser | undefined): IUser | undefined {
    if (!user) {
        return undefined;
    }
    return asApp<IUser>({
        id: user._id,
        username: user.username,
        emails: user.emails,
        type: user.type,
        isEnabled: user.active,
        name: user.name,
        roles: user.roles,
        status: user.status,
        statusConnection: user.statusConnection,
        utcOffset: user.utcOffset,
        createdAt: user.createdAt,
        updatedAt: user._updatedAt,
        lastLoginAt: user.lastLogin,
        appId: user.appId,
        customFields: user.customFields,
        settings: { preferences: { ...(user.settings?.preferences?.language && { language: user.settings.preferences.language }) } },
    });
}

/** users converter convertToApp() applied to a message's `u` (visitor senders are not users). */
export function lookupToAppUser(u: { _id: string; username: string; name?: string }): IUser {
    return asApp<IUser>({
        id: u._id,
        username: u.username,
        name: u.name,
        type: 'unknown',
        statusConnection: 'undefined',
        settings: { preferences: {} },
    });
}

export function toAppVisitor(_rc: RcStore, visitor: RcVisitor | undefined): IVisitor | undefined {
    if (!visitor) {
        return undefined;
    }
    return asApp<IVisitor>(
        compact({
            id: visitor._id,
            username: visitor.username,
            name: visitor.name,
            department: visitor.department,
            updatedAt: visitor._updatedAt,
            token: visitor.token,
            phone: visitor.phone,
            visitorEmails: visitor.visitorEmails,
            livechatData: visitor.livechatData,
            status: visitor.status,
            activity: visitor.activity,
        }),
    );
}

/**
 * apps/meteor/app/apps/server/converters/departments.ts convertDepartment (transformMappedData): mapped fields,
 * everything else (allowReceiveForwardOffline, fallbackForwardDepartment, ...) under `_unmappedProperties_`.
 */
export function toAppDepartment(_rc: RcStore, department: RcDepartment | undefined): IDepartment | undefined {
    if (!department) {
        return undefined;
    }
    const mapped = new Set([
        '_id',
        'name',
        'email',
        '_updatedAt',
        'enabled',
        'numAgents',
        'showOnOfflineForm',
        'description',
        'requestTagBeforeClosingChat',
        'chatClosingTags',
        'showOnRegistration',
    ]);
    const unmapped = Object.fromEntries(Object.entries(department).filter(([k, v]) => !mapped.has(k) && v !== undefined));
    return asApp<IDepartment>(
        compact({
            _unmappedProperties_: Object.keys(unmapped).length ? clone(unmapped) : undefined,
            id: department._id,
            name: department.name,
            email: department.email,
            updatedAt: department._updatedAt,
            enabled: department.enabled,
            numberOfAgents: department.numAgents,
            showOnOfflineForm: department.showOnOfflineForm,
            showOnRegistration: department.showOnRegistration,
            description: department.description,
            requestTagBeforeClosingChat: department.requestTagBeforeClosingChat,
            chatClosingTags: department.chatClosingTags,
        }),
    );
}

/** visitors converter convertAppVisitor() */
export function fromAppVisitor(_rc: RcStore, visitor: IVisitor | undefined): RcVisitor | undefined {
    if (!visitor) {
        return undefined;
    }
    return compact({
        _id: visitor.id,
        username: visitor.username,
        name: visitor.name,
        token: visitor.token,
        phone: visitor.phone,
        livechatData: visitor.livechatData,
        status: visitor.status || 'online',
        ...(visitor.visitorEmails && { visitorEmails: visitor.visitorEmails }),
        ...(visitor.department && { department: visitor.department }),
        ts: new Date(),
        _updatedAt: new Date(),
    }) as RcVisitor;
}
