import type { IApiResponse } from '@rocket.chat/apps-engine/definition/api';
import type { IDepartment, ILivechatRoom, IVisitor } from '@rocket.chat/apps-engine/definition/livechat';
import type { IUser } from '@rocket.chat/apps-engine/definition/users';
import { createHash } from 'crypto';

import { type Conversation, ConversationStore, noSeenMessages } from '../../domain/ConversationStore';
import { ContactClaims } from '../../domain/ContactClaims';
import { formatHandoffSummary } from '../../lib/agentContext';
import { CLAIM_WAIT_MS, WEBHOOK_CALL_BUDGET_MS } from '../../lib/limits';
import { urnScheme } from '../../lib/reach';
import { errorText } from '../../lib/log';
import { BridgeEndpoint, type EndpointContext, headerOf } from '../BridgeEndpoint';
import { type ContactWords, postContactWords } from '../contactWords';
import { openingDrafts } from '../conversationOpening';
import { postAgentContext } from '../handoffContext';
import { findOrCreateVisitor } from '../handoffVisitor';
import { agentName, departmentName, findOpenConversation, type OpenConversation, roomStatus } from '../openConversation';
import { parseHandoffRequest } from '../payloads/handoff';
import type { HandoffRequest } from '../payloads/types';
import { errorResponse, okResponse } from '../responses';
import { classifyRefusal, genericRefusal, notPostedResponse } from '../serverRefusals';

/** `POST handoff` (and the mediator alias `registerClient`): hand the contact over to a human. */
export class HandoffEndpoint extends BridgeEndpoint {
    protected async handlePost(ctx: EndpointContext): Promise<IApiResponse> {
        const started = Date.now();
        const parsed = parseHandoffRequest(ctx.request.content, headerOf(ctx.request, 'idempotency-key'));
        if (!parsed.ok) {
            return errorResponse(parsed.code, parsed.error);
        }
        const request = parsed.value;
        const wanted = request.department || ctx.config.defaultDepartment;
        let department: IDepartment | undefined;
        if (wanted) {
            department = await ctx.read.getLivechatReader().getLivechatDepartmentByIdOrName(wanted);
            if (!department || department.enabled === false) {
                return errorResponse('unknown_department', `There is no enabled department "${wanted}".`);
            }
        }
        return ctx.services.contactMutex.run(request.contact.uuid, () => this.handOver(ctx, request, department, started));
    }

    private async handOver(
        ctx: EndpointContext,
        request: HandoffRequest,
        department: IDepartment | undefined,
        started: number,
    ): Promise<IApiResponse> {
        const { read, persis } = ctx;
        const existing = await findOpenConversation(read, persis, request.contact.uuid);
        if (existing) {
            return this.alreadyOpen(ctx, request, existing, started);
        }

        if (!(await read.getLivechatReader().isOnlineAsync(department ? department.id : undefined))) {
            return (await omnichannelDisabled(ctx)) ? omnichannelOff() : noAgents(department);
        }

        // Inside this instance the contact's lock already serializes handoffs; across instances a
        // claim does (ContactClaims): whoever waited then finds the room the other one opened.
        const claims = new ContactClaims(read.getPersistenceReader(), persis);
        const held = await claims.acquire(request.contact.uuid, 'inbound', started + CLAIM_WAIT_MS);
        if (!held) {
            ctx.services.logger.warn('Handoff stepped back: another instance kept handing the same contact over (409)');
            return errorResponse(
                'handoff_in_progress',
                'Another handoff of this contact is being processed right now; nothing was created. Try again in a few seconds.',
            );
        }
        try {
            // The claim's read is the second look: a handoff on another instance may have finished since the first.
            const opened = await findOpenConversation(read, persis, request.contact.uuid, { records: held.records });
            if (opened) {
                return this.alreadyOpen(ctx, request, opened, started);
            }
            return await this.openRoom(ctx, request, department, started);
        } finally {
            try {
                await claims.release(held.claim);
            } catch (error) {
                // A leftover claim expires on its own; the handoff's answer stands.
                ctx.services.logger.warn(`Handoff claim not released: ${errorText(error)}`);
            }
        }
    }

    /** The contact already has a room: what they wrote with this call goes into it (once), nothing else. */
    private async alreadyOpen(
        ctx: EndpointContext,
        request: HandoffRequest,
        open: OpenConversation,
        started: number,
    ): Promise<IApiResponse> {
        const words = contactWordsOf(request);
        const contactWrote = (roomId: string, known: Conversation) =>
            ctx.services.replyWindow.contactWrote(
                { read: ctx.read, modify: ctx.modify, http: ctx.http, persis: ctx.persis, config: ctx.config },
                roomId,
                urnScheme(request.contact.urn),
                known,
            );
        if (!words) {
            await contactWrote(open.room.id, open.conversation);
            return okResponse(describe('already_open', open.room, open.conversation));
        }
        const result = await postContactWords(ctx, open, open.room.visitor, words, started + WEBHOOK_CALL_BUDGET_MS, { isolate: true });
        await contactWrote(result.room.id, result.kind === 'duplicate' ? open.conversation : result.conversation);
        if (result.kind === 'failed') {
            return notPostedResponse(result.error, result.room.id, true);
        }
        return okResponse(describe('already_open', result.room, result.kind === 'posted' ? result.conversation : open.conversation));
    }

    private async openRoom(
        ctx: EndpointContext,
        request: HandoffRequest,
        department: IDepartment | undefined,
        started: number,
    ): Promise<IApiResponse> {
        const { read, modify, services } = ctx;
        let room: ILivechatRoom;
        let visitor: IVisitor;
        try {
            visitor = await findOrCreateVisitor(ctx, request, department);
            room = await modify
                .getCreator()
                .getLivechatCreator()
                .createRoom(visitor, undefined as unknown as IUser, {
                    source: {
                        type: 'app',
                        id: services.appId(),
                        alias: 'RapidPro Bridge',
                        label: request.flow?.name ? request.flow.name : 'RapidPro',
                    },
                    customFields: Object.keys(request.fields).length > 0 ? request.fields : undefined,
                });
        } catch (error) {
            const refusal = classifyRefusal(error);
            if (refusal === 'no_agents') {
                return noAgents(department);
            }
            if (refusal === 'duplicate_room') {
                // Newer servers allow one open room per visitor: another instance's handoff won.
                const opened = await findOpenConversation(read, ctx.persis, request.contact.uuid);
                return opened
                    ? okResponse(describe('already_open', opened.room, opened.conversation))
                    : errorResponse(
                          'handoff_in_progress',
                          'Another handoff of this contact is being processed right now. Try again in a few seconds.',
                      );
            }
            if (refusal === 'other') {
                services.logger.warn(`Handoff refused by Rocket.Chat: ${errorText(error)}`);
            }
            const generic = genericRefusal(error);
            return errorResponse(generic.code, generic.error.replace('nothing was done', 'nothing was created'));
        }
        const summary = formatHandoffSummary({
            contactName: request.contact.name,
            urn: request.contact.urn,
            flowName: request.flow?.name,
            results: request.results,
            fields: request.fields,
        });
        const opened = await this.announceOpening(ctx, request, department, visitor, room, summary);
        let conversation = opened.conversation;

        await postAgentContext(ctx, opened.room, visitor, request, summary);

        let answerRoom = opened.room;
        const words = contactWordsOf(request);
        let failure: unknown;
        if (words) {
            const result = await postContactWords(
                ctx,
                { conversation, room: opened.room, seen: noSeenMessages(request.contact.uuid) },
                visitor,
                words,
                started + WEBHOOK_CALL_BUDGET_MS,
                { isolate: true },
            );
            if (result.kind !== 'duplicate') {
                failure = result.error;
                if (result.room.id !== opened.room.id) {
                    answerRoom = result.room; // Rocket.Chat opened another room: adopted, with its own notices
                    conversation = result.conversation;
                }
            }
        }
        // The answer says where the room stands now (an agent may have taken it meanwhile).
        answerRoom = ((await read.getRoomReader().getById(answerRoom.id)) as ILivechatRoom | undefined) || answerRoom;
        services.logger.info(`Handoff: room ${answerRoom.id} opened (${roomStatus(answerRoom)})`);
        if (failure !== undefined) {
            return notPostedResponse(failure, answerRoom.id, true);
        }
        return okResponse(describe(roomStatus(answerRoom), answerRoom, conversation));
    }

    /**
     * Records the conversation and queues the contact's first notice and fields at once, before the
     * slower notes for the agent: an agent may take the room meanwhile. Under the room's lock, shared
     * with the lifecycle events, the room is read again after the record exists, so an assignment
     * that happened before is announced here and one that happens after is announced by its event.
     */
    private announceOpening(
        ctx: EndpointContext,
        request: HandoffRequest,
        department: IDepartment | undefined,
        visitor: IVisitor,
        room: ILivechatRoom,
        summary: string,
    ): Promise<{ conversation: Conversation; room: ILivechatRoom }> {
        const { read, modify, config, services } = ctx;
        return services.roomMutex.run(room.id, async () => {
            const store = new ConversationStore(read.getPersistenceReader(), ctx.persis);
            const conversation: Conversation = {
                contactUuid: request.contact.uuid,
                roomId: room.id,
                visitorId: visitor.id,
                visitorToken: visitor.token,
                contactName: request.contact.name,
                language: request.contact.language,
                departmentId: department ? department.id : undefined,
                departmentName: department ? department.name : undefined,
                openedAt: Date.now(),
                handoffSummary: summary,
                // The contact was talking to the bot just now: their customer-care window is open.
                urnScheme: urnScheme(request.contact.urn),
                lastInboundAt: Date.now(),
                outboxBacklog: await services.queue.hasPending(read, request.contact.uuid),
            };
            await store.create(conversation, room.createdAt ? new Date(room.createdAt).getTime() : conversation.openedAt);
            const fresh = ((await read.getRoomReader().getById(room.id)) as ILivechatRoom | undefined) || room;
            if (fresh.servedBy) {
                conversation.announcedAgentId = fresh.servedBy.id;
                await store.save(conversation);
            }
            await services.queue.enqueue(
                await services.deliveryContext(read, modify, ctx.http, ctx.persis),
                request.contact.uuid,
                room.id,
                openingDrafts(config, request.contact.language, fresh, conversation),
                { sendNow: false },
            );
            return { conversation, room: fresh };
        });
    }
}

/**
 * The first message a handoff carries. Without a message id, one is derived from the content, so
 * a flow that calls again with the same words while the chat is open posts them once.
 */
function contactWordsOf(request: HandoffRequest): ContactWords | undefined {
    const text = request.text || '';
    if (!text && request.attachments.length === 0) {
        return undefined;
    }
    const digest = createHash('sha256')
        .update([text].concat(request.attachments.map((attachment) => attachment.url)).join('\n'))
        .digest('hex')
        .slice(0, 24);
    return { messageId: request.messageId || `handoff:${digest}`, text, attachments: request.attachments };
}

/** Omnichannel switched off: nobody counts as online, so this is asked only then (`Livechat_enabled` is public). */
async function omnichannelDisabled(ctx: EndpointContext): Promise<boolean> {
    try {
        return (await ctx.read.getEnvironmentReader().getServerSettings().getValueById('Livechat_enabled')) === false;
    } catch {
        return false; // unreadable: the plain no_agents answer
    }
}

function omnichannelOff(): IApiResponse {
    return errorResponse('omnichannel_disabled', 'Omnichannel is switched off in Rocket.Chat; nothing was created.');
}

function noAgents(department: IDepartment | undefined): IApiResponse {
    const label = department ? department.name || department.id : 'any department';
    return errorResponse('no_agents', `No agent is online in ${label}; nothing was created.`);
}

function describe(status: string, room: ILivechatRoom, conversation: Conversation): Record<string, unknown> {
    return { status, room_id: room.id, department: departmentName(room, conversation), agent: agentName(room) };
}
