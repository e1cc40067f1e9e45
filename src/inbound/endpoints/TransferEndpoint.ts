import { IApiResponse } from '@rocket.chat/apps-engine/definition/api';

import { BridgeEndpoint, EndpointContext } from '../BridgeEndpoint';
import { agentName, findOpenConversation } from '../openConversation';
import { parseTransferRequest } from '../payloads';
import { errorResponse, okResponse } from '../responses';

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
            const current = open.room.department;
            if (current && current.id === department.id) {
                return okResponse({ status: 'transferred', room_id: open.room.id, department: name, agent: agentName(open.room) });
            }
            if (!(await livechat.isOnlineAsync(department.id))) {
                return errorResponse('no_agents', `No agent is online in ${name}; the chat stays where it is.`);
            }
            let moved: boolean;
            try {
                moved = await ctx.modify.getUpdater().getLivechatUpdater().transferVisitor(open.room.visitor, {
                    currentRoom: open.room,
                    targetDepartment: department.id,
                });
            } catch (error) {
                const message = error instanceof Error ? error.message : String(error);
                if (/no-agents-online|no.?agent/i.test(message)) {
                    return errorResponse('no_agents', `No agent is online in ${name}; the chat stays where it is.`);
                }
                return errorResponse('transfer_refused', `Rocket.Chat refused to move the chat to ${name}; it stays where it is.`);
            }
            if (!moved) {
                return errorResponse('transfer_refused', `Rocket.Chat did not move the chat to ${name}; it stays where it is.`);
            }
            // The room-transferred event records the new department on the conversation.
            return okResponse({ status: 'transferred', room_id: open.room.id, department: name });
        });
    }
}
