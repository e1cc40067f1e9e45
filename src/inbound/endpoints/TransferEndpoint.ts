import type { IApiResponse } from '@rocket.chat/apps-engine/definition/api';
import type { IDepartment, ILivechatRoom } from '@rocket.chat/apps-engine/definition/livechat';

import { BridgeEndpoint, type EndpointContext } from '../BridgeEndpoint';
import { agentName, findOpenConversation, isRoomOpen } from '../openConversation';
import { parseTransferRequest } from '../payloads/transfer';
import { errorResponse, okResponse } from '../responses';
import { classifyRefusal, errorText, genericRefusal } from '../serverRefusals';

/**
 * Rocket.Chat lets a department take forwarded chats while nobody is online in it (they wait in its
 * queue). The apps' department converter has no field for it, so it arrives among the unmapped
 * properties (apps/meteor/app/apps/server/converters/departments.ts).
 */
function acceptsOfflineForwards(department: IDepartment): boolean {
    const raw = department as IDepartment & {
        allowReceiveForwardOffline?: boolean;
        _unmappedProperties_?: { allowReceiveForwardOffline?: boolean };
    };
    return !!(raw.allowReceiveForwardOffline || raw._unmappedProperties_?.allowReceiveForwardOffline);
}

/** `POST transfer`: move the contact's open room to another department. */
export class TransferEndpoint extends BridgeEndpoint {
    protected async handlePost(ctx: EndpointContext): Promise<IApiResponse> {
        const parsed = parseTransferRequest(ctx.request.content);
        if (!parsed.ok) {
            return errorResponse(parsed.code, parsed.error);
        }
        const { contact, department: wanted } = parsed.value;
        return ctx.services.contactMutex.run(contact.uuid, async () => {
            const open = await findOpenConversation(ctx.read, ctx.persis, contact.uuid);
            if (!open) {
                return errorResponse('no_chat', 'The contact has no open chat.');
            }
            const livechat = ctx.read.getLivechatReader();
            const department = await livechat.getLivechatDepartmentByIdOrName(wanted);
            if (!department || department.enabled === false) {
                return errorResponse('unknown_department', `There is no enabled department "${wanted}".`);
            }
            const name = department.name || department.id;
            const unchanged = () =>
                okResponse({ status: 'unchanged', room_id: open.room.id, department: name, agent: agentName(open.room) });
            if (open.room.department && open.room.department.id === department.id) {
                return unchanged(); // Rocket.Chat refuses a forward to the room's own department
            }
            const offlineOk = acceptsOfflineForwards(department);
            const noAgents = () => errorResponse('no_agents', `No agent is online in ${name}; the chat stays where it is.`);
            if (!offlineOk && !(await livechat.isOnlineAsync(department.id))) {
                return noAgents();
            }
            let moved: boolean;
            try {
                moved = await ctx.modify.getUpdater().getLivechatUpdater().transferVisitor(open.room.visitor, {
                    currentRoom: open.room,
                    targetDepartment: department.id,
                });
            } catch (error) {
                switch (classifyRefusal(error)) {
                    case 'no_agents':
                        return noAgents();
                    case 'same_department':
                        return unchanged();
                    case 'room_closed':
                        return errorResponse('no_chat', 'The chat was closed while it was being transferred.');
                    case 'omnichannel_disabled':
                    case 'unknown_department': {
                        const generic = genericRefusal(error);
                        return errorResponse(generic.code, generic.error);
                    }
                    default:
                        ctx.services.logger.warn(`Transfer refused by Rocket.Chat: ${errorText(error)}`);
                        return errorResponse('transfer_refused', `Rocket.Chat refused to move the chat to ${name}; it stays where it is.`);
                }
            }
            const after = (await ctx.read.getRoomReader().getById(open.room.id)) as ILivechatRoom | undefined;
            if (!after || !isRoomOpen(after)) {
                return errorResponse('no_chat', 'The chat was closed while it was being transferred.');
            }
            // A forward can answer true and move nothing (a target with a fallback department on CE).
            const landed = after.department;
            const before = open.room.department;
            if (!moved || !landed || (landed.id !== department.id && (!before || landed.id === before.id))) {
                return errorResponse('transfer_refused', `Rocket.Chat did not move the chat to ${name}; it stays where it is.`);
            }
            const where = landed.name || landed.id; // the target, or the department it falls back to
            ctx.services.logger.info(`Transfer: room ${after.id} moved to department ${landed.id}`);
            // The room-transferred event records the new department and tells the contact.
            if (!after.servedBy) {
                return okResponse({ status: 'queued', room_id: after.id, department: where, agent: null });
            }
            return okResponse({ status: 'transferred', room_id: after.id, department: where, agent: agentName(after) });
        });
    }
}
