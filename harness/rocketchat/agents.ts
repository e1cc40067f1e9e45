import { RocketChatError } from '../engine/errors';
import { compact, randomId } from '../engine/util';
import { RcEvents } from './events';
import type { RcCustomField, RcDepartment, RcUser } from './types';

export interface AgentSpec {
    username: string;
    name?: string;
    online?: boolean;
    id?: string;
    email?: string;
    language?: string;
}

export interface DepartmentSpec {
    id?: string;
    name: string;
    enabled?: boolean;
    email?: string;
    description?: string;
    agents?: AgentSpec[];
    fallbackForwardDepartment?: string;
    /** Default true (Rocket.Chat's department form default). */
    showOnRegistration?: boolean;
    allowReceiveForwardOffline?: boolean;
    requestTagBeforeClosingChat?: boolean;
    chatClosingTags?: string[];
}

/** A livechat custom field definition (Omnichannel > Custom Fields). */
export interface CustomFieldSpec {
    id: string;
    label?: string;
    scope: 'visitor' | 'room';
    regexp?: string;
    /** Default 'visible'. */
    visibility?: string;
    required?: boolean;
}

/** Users, livechat agents, departments (and their agents), custom field definitions, agent availability. */
export class RcAgents extends RcEvents {
    public createUser(data: Partial<RcUser> & { username: string }): RcUser {
        if (this.userByUsername(data.username)) {
            throw new RocketChatError('error-field-unavailable', `${data.username} is already in use :(`);
        }
        const now = new Date();
        const user: RcUser = {
            _id: data._id ?? randomId(),
            username: data.username,
            name: data.name ?? data.username,
            type: data.type ?? 'user',
            roles: data.roles ?? ['user'],
            active: data.active ?? true,
            status: data.status ?? 'online',
            statusConnection: data.statusConnection ?? data.status ?? 'online',
            statusLivechat: data.statusLivechat,
            emails: data.emails ?? [],
            appId: data.appId,
            utcOffset: data.utcOffset ?? 0,
            createdAt: now,
            _updatedAt: now,
            lastLogin: data.lastLogin,
            customFields: data.customFields,
            settings: data.settings,
        };
        this.users.set(user._id, user);
        return user;
    }

    /** Creates (or updates) a livechat agent user. */
    public addAgent(spec: AgentSpec): RcUser {
        const existing = this.userByUsername(spec.username);
        const online = spec.online ?? true;
        if (existing) {
            if (!existing.roles.includes('livechat-agent')) {
                existing.roles.push('livechat-agent');
            }
            if (spec.name) {
                existing.name = spec.name;
            }
            if (spec.online !== undefined) {
                this.setAgentOnline(spec.username, online);
            }
            return existing;
        }
        return this.createUser({
            _id: spec.id,
            username: spec.username,
            name: spec.name ?? spec.username,
            roles: ['user', 'livechat-agent'],
            status: online ? 'online' : 'offline',
            statusLivechat: online ? 'available' : 'not-available',
            emails: spec.email ? [{ address: spec.email, verified: true }] : [],
            settings: spec.language ? { preferences: { language: spec.language } } : undefined,
        });
    }

    /** Agent goes online+available (or offline). Like Rocket.Chat CE, queued chats are not re-routed automatically. */
    public setAgentOnline(username: string, online: boolean): void {
        const user = this.mustUser(username);
        user.status = online ? 'online' : 'offline';
        user.statusConnection = user.status;
        user.statusLivechat = online ? 'available' : 'not-available';
        user._updatedAt = new Date();
    }

    public addDepartment(spec: DepartmentSpec): RcDepartment {
        const id = spec.id ?? randomId();
        if (this.departments.has(id)) {
            throw new Error(`department ${id} exists`);
        }
        const department: RcDepartment = {
            _id: id,
            name: spec.name,
            enabled: spec.enabled ?? true,
            email: spec.email ?? '',
            description: spec.description,
            numAgents: 0,
            showOnRegistration: spec.showOnRegistration ?? true,
            showOnOfflineForm: true,
            _updatedAt: new Date(),
            fallbackForwardDepartment: spec.fallbackForwardDepartment,
            ...(spec.allowReceiveForwardOffline !== undefined && { allowReceiveForwardOffline: spec.allowReceiveForwardOffline }),
            ...(spec.requestTagBeforeClosingChat !== undefined && { requestTagBeforeClosingChat: spec.requestTagBeforeClosingChat }),
            ...(spec.chatClosingTags !== undefined && { chatClosingTags: [...spec.chatClosingTags] }),
        };
        this.departments.set(id, department);
        for (const agentSpec of spec.agents ?? []) {
            this.addAgentToDepartment(id, agentSpec);
        }
        return department;
    }

    /** Changes department fields after creation (as the admin's department form would). */
    public updateDepartment(idOrName: string, changes: Partial<Omit<RcDepartment, '_id' | 'numAgents'>>): RcDepartment {
        const department = this.departmentByIdOrName(idOrName);
        if (!department) {
            throw new Error(`unknown department ${idOrName}`);
        }
        Object.assign(department, changes, { _updatedAt: new Date() });
        return department;
    }

    /** Defines a livechat custom field (Omnichannel > Custom Fields); LivechatCustomField documents. */
    public addCustomField(spec: CustomFieldSpec): RcCustomField {
        const field: RcCustomField = compact({
            _id: spec.id,
            label: spec.label ?? spec.id,
            scope: spec.scope,
            visibility: spec.visibility ?? 'visible',
            regexp: spec.regexp,
            required: spec.required ?? false,
        });
        this.customFields.set(field._id, field);
        return field;
    }

    public addAgentToDepartment(departmentId: string, agentSpec: AgentSpec): RcUser {
        const department = this.departments.get(departmentId);
        if (!department) {
            throw new Error(`unknown department ${departmentId}`);
        }
        const agent = this.addAgent(agentSpec);
        if (!this.departmentAgents.some((da) => da.departmentId === departmentId && da.agentId === agent._id)) {
            this.departmentAgents.push({ agentId: agent._id, username: agent.username, departmentId, count: 0, order: 0 });
            department.numAgents = this.departmentAgents.filter((da) => da.departmentId === departmentId).length;
        }
        return agent;
    }

    public setDepartmentEnabled(idOrName: string, enabled: boolean): void {
        const department = this.departmentByIdOrName(idOrName);
        if (!department) {
            throw new Error(`unknown department ${idOrName}`);
        }
        department.enabled = enabled;
        department._updatedAt = new Date();
    }

    public isAgentOnline(user: RcUser | undefined): boolean {
        return (
            !!user &&
            user.active &&
            user.roles.includes('livechat-agent') &&
            user.status !== 'offline' &&
            user.statusLivechat === 'available'
        );
    }

    /** service-status.ts checkOnlineAgents */
    public checkOnlineAgents(departmentId?: string, agentId?: string): boolean {
        if (agentId) {
            return this.isAgentOnline(this.users.get(agentId));
        }
        if (departmentId) {
            const online = this.departmentAgents.some(
                (da) => da.departmentId === departmentId && this.isAgentOnline(this.users.get(da.agentId)),
            );
            if (online) {
                return true;
            }
            const fallback = this.departments.get(departmentId)?.fallbackForwardDepartment;
            return fallback ? this.checkOnlineAgents(fallback) : false;
        }
        return [...this.users.values()].some((u) => this.isAgentOnline(u));
    }

    /** service-status.ts online() — what LivechatRead.isOnline answers. */
    public online(departmentId?: string): boolean {
        if (this.options.acceptChatsWithNoAgents) {
            return true;
        }
        return this.checkOnlineAgents(departmentId);
    }

    public onlineAgents(departmentId?: string): RcUser[] {
        const agents = departmentId
            ? this.departmentAgents.filter((da) => da.departmentId === departmentId).map((da) => this.users.get(da.agentId))
            : [...this.users.values()];
        return agents.filter((u): u is RcUser => this.isAgentOnline(u));
    }
}
