import { RocketChatError } from '../engine/errors';
import { compact, randomId } from '../engine/util';
import { RcAgents } from './agents';
import type { RcVisitor } from './types';

/** Livechat visitors: registration and custom fields. */
export class RcVisitors extends RcAgents {
    protected guestCounter = 0;

    /**
     * Visitors.registerGuest (livechat/server/lib/Visitors.ts): update the visitor with this token,
     * else match by phone, then e-mail, else create `guest-N`. There is no unique index on token: two
     * concurrent registrations of a new token both create a visitor (a DB round trip sits between the
     * lookup and the insert here too).
     */
    public async registerGuest(data: {
        token?: string;
        id?: string;
        name?: string;
        username?: string;
        department?: string;
        email?: string;
        phone?: string;
        status?: string;
    }): Promise<RcVisitor> {
        if (typeof data.token !== 'string') {
            throw new RocketChatError(`Match error: Expected string, got ${typeof data.token}`);
        }
        const token = data.token;
        const existing = this.visitorByToken(token);
        let departmentId: string | undefined;
        if (data.department && existing?.department !== data.department) {
            const dep = this.departmentByIdOrName(data.department);
            if (!dep) {
                // packages/omni-core/src/visitor/create.ts registerGuest: throw new Error('error-invalid-department').
                throw new Error('error-invalid-department');
            }
            departmentId = dep._id;
        }
        await this.roundTrip();
        const now = new Date();
        const email = data.email?.trim().toLowerCase();
        // packages/omni-core/src/visitor/create.ts: token, else phone (the stored token is KEPT), else e-mail (token replaced).
        let target = existing;
        let matchedBy: 'token' | 'phone' | 'email' | undefined = target ? 'token' : undefined;
        if (!target && data.phone) {
            target = this.visitors.find((v) => v.phone?.some((p) => p.phoneNumber === data.phone));
            matchedBy = target ? 'phone' : undefined;
        }
        if (!target && email) {
            target = this.visitors.find((v) => v.visitorEmails?.some((e) => e.address === email));
            matchedBy = target ? 'email' : undefined;
        }
        if (target) {
            if (matchedBy === 'email') {
                target.token = token;
            }
            if (data.name) {
                target.name = data.name;
            }
            if (departmentId) {
                target.department = departmentId;
            }
            if (data.phone) {
                target.phone = [{ phoneNumber: data.phone }];
            }
            if (email) {
                target.visitorEmails = [{ address: email }];
            }
            target.status = data.status ?? target.status;
            target._updatedAt = now;
            return target;
        }
        const visitor: RcVisitor = compact({
            _id: data.id || randomId(),
            username: data.username || `guest-${++this.guestCounter}`,
            name: data.name,
            token,
            department: departmentId,
            phone: data.phone ? [{ phoneNumber: data.phone }] : undefined,
            visitorEmails: email ? [{ address: email }] : undefined,
            status: data.status ?? 'online',
            ts: now,
            _updatedAt: now,
        });
        this.visitorsById.set(visitor._id, visitor);
        return visitor;
    }

    /**
     * apps/meteor/app/livechat/server/lib/custom-fields.ts setCustomFields (what LivechatBridge.setCustomFields
     * returns): the key must be a defined custom field, the value must match its regexp; scope 'room' writes
     * livechatData of the visitor's OPEN rooms, else the visitor's livechatData. Returns MongoDB's
     * modifiedCount: 0 when overwrite is false and the key is already set (even to ''), when nothing
     * matches the token, or when the value is unchanged. (Contacts, which newer servers also update, are
     * not emulated.)
     */
    public setCustomFields(data: { token: string; key: string; value: string; overwrite: boolean }): number {
        const { token, key, value, overwrite } = data;
        const field = this.customFields.get(key);
        if (!field) {
            throw new Error('invalid-custom-field');
        }
        if (field.regexp !== undefined && field.regexp !== '' && !new RegExp(field.regexp).test(value)) {
            // The server throws i18n.t('error-invalid-custom-field-value', { field: key }); the code is kept in the text here.
            throw new RocketChatError('error-invalid-custom-field-value', `Invalid value for ${key} field`);
        }
        const isSet = (livechatData?: Record<string, unknown>) => !!livechatData && typeof livechatData[key] !== 'undefined';
        if (field.scope === 'room') {
            // LivechatRooms.updateDataByToken: query { 'v.token': token, open: true }, updateMany.
            const rooms = this.openRoomsOf(token);
            if (!overwrite) {
                if (!rooms.length) {
                    return 0;
                }
                if (isSet(rooms[0].livechatData)) {
                    return 0;
                }
            }
            let modified = 0;
            for (const room of rooms) {
                if (!room.livechatData || room.livechatData[key] !== value) {
                    room.livechatData = { ...(room.livechatData ?? {}), [key]: value };
                    room._updatedAt = new Date();
                    modified++;
                }
            }
            return modified;
        }
        // LivechatVisitors.updateLivechatDataByToken: query { token }, updateOne.
        const visitor = this.visitors.find((v) => v.token === token);
        if (!visitor) {
            return 0;
        }
        if (!overwrite && isSet(visitor.livechatData)) {
            return 0;
        }
        if (visitor.livechatData && visitor.livechatData[key] === value) {
            return 0;
        }
        visitor.livechatData = { ...(visitor.livechatData ?? {}), [key]: value };
        visitor._updatedAt = new Date();
        return 1;
    }
}
