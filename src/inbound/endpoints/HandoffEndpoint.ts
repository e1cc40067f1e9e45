import { IHttp, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import { IApiResponse } from '@rocket.chat/apps-engine/definition/api';
import { IDepartment, ILivechatRoom, IVisitor } from '@rocket.chat/apps-engine/definition/livechat';
import { IUser } from '@rocket.chat/apps-engine/definition/users';
import { randomBytes } from 'crypto';

import { Conversation, ConversationStore, HandoffClaim } from '../../domain/ConversationStore';
import { OutboundDraft } from '../../domain/DeliveryQueue';
import { RapidProClient } from '../../domain/RapidProClient';
import { formatHandoffSummary, formatTranscript } from '../../lib/agentContext';
import { renderNotice } from '../../lib/notices';
import { phoneFromUrn } from '../../lib/urn';
import { BridgeConfig } from '../../settings/BridgeConfig';
import { BridgeEndpoint, EndpointContext } from '../BridgeEndpoint';
import { ContactRoomPoster } from '../ContactRoomPoster';
import { agentName, departmentName, findOpenConversation, roomStatus } from '../openConversation';
import { HandoffRequest, parseHandoffRequest } from '../payloads';
import { errorResponse, okResponse } from '../responses';

/** A claim older than this belongs to a handoff that died half way; it no longer blocks. */
const CLAIM_TTL_MS = 60000;
const HISTORY_WINDOW_MS = 24 * 3600 * 1000;
const HISTORY_TIMEOUT_MS = 4000;
/** Attachments of the first message stop being fetched after this (RapidPro waits 15 s at most). */
const CALL_BUDGET_MS = 10000;

/** `POST handoff` (and the mediator alias `registerClient`): hand the contact over to a human. */
export class HandoffEndpoint extends BridgeEndpoint {
    protected async handlePost(ctx: EndpointContext): Promise<IApiResponse> {
        const started = Date.now();
        const parsed = parseHandoffRequest(ctx.request.content);
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

    private async handOver(ctx: EndpointContext, request: HandoffRequest, department: IDepartment | undefined, started: number): Promise<IApiResponse> {
        const { read, persis } = ctx;
        const existing = await findOpenConversation(read, persis, request.contact.uuid);
        if (existing) {
            return okResponse(describe('already_open', existing.room, existing.conversation));
        }

        const departmentLabel = department ? department.name || department.id : 'any department';
        if (!(await read.getLivechatReader().isOnlineAsync(department ? department.id : undefined))) {
            return errorResponse('no_agents', `No agent is online in ${departmentLabel}; nothing was created.`);
        }

        // Inside this instance the contact's lock already serializes handoffs. Across instances, a
        // claim is written and read back: a handoff goes ahead only when its claim is the only one.
        const store = new ConversationStore(read.getPersistenceReader(), persis);
        const claim: HandoffClaim = { contactUuid: request.contact.uuid, nonce: randomBytes(8).toString('hex'), at: Date.now() };
        await store.addClaim(claim);
        try {
            const others = liveClaims(await store.readClaims(request.contact.uuid)).filter((other) => other.nonce !== claim.nonce);
            // Read again: a handoff on another instance may have finished since the first look.
            const opened = await findOpenConversation(read, persis, request.contact.uuid);
            if (opened) {
                return okResponse(describe('already_open', opened.room, opened.conversation));
            }
            if (others.length > 0) {
                return errorResponse('handoff_in_progress', 'Another handoff of this contact is being processed right now; nothing was created. Try again in a few seconds.');
            }
            return await this.openRoom(ctx, request, department, store, started);
        } finally {
            await store.removeClaim(claim);
        }
    }

    private async openRoom(ctx: EndpointContext, request: HandoffRequest, department: IDepartment | undefined, store: ConversationStore, started: number): Promise<IApiResponse> {
        const { read, modify, config, services } = ctx;
        const departmentLabel = department ? department.name || department.id : 'any department';
        const visitor = await this.findOrCreateVisitor(ctx, request, department);
        let room: ILivechatRoom;
        try {
            room = await modify.getCreator().getLivechatCreator().createRoom(visitor, undefined as unknown as IUser, {
                source: { type: 'app', id: services.appId(), alias: 'RapidPro Bridge', label: request.flow && request.flow.name ? request.flow.name : 'RapidPro' },
                customFields: Object.keys(request.fields).length > 0 ? request.fields : undefined,
            });
        } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            if (/no.?agent|no-agent-online|offline/i.test(message)) {
                return errorResponse('no_agents', `No agent is online in ${departmentLabel}; nothing was created.`);
            }
            throw error;
        }
        // Routing may have assigned an agent while the room was created.
        const fresh = (await read.getRoomReader().getById(room.id) as ILivechatRoom | undefined) || room;
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
            announcedAgentId: fresh.servedBy ? fresh.servedBy.id : undefined,
            outboxBacklog: await services.queue.hasPending(read, request.contact.uuid),
        };
        await store.save(conversation);

        try {
            await this.postAgentContext(ctx, fresh, visitor, request, started);
        } catch (error) {
            // The contact is handed over; a missing note must not turn that into a failure the flow retries.
            services.log(`Handoff context not fully posted in room ${room.id}: ${error instanceof Error ? error.message : String(error)}`);
        }
        await services.queue.enqueue(await services.deliveryContext(read, modify, ctx.http, ctx.persis), request.contact.uuid, room.id,
            openingDrafts(config, request, fresh, conversation), { sendNow: false });
        return okResponse(describe(roomStatus(fresh), fresh, conversation));
    }

    private async findOrCreateVisitor(ctx: EndpointContext, request: HandoffRequest, department: IDepartment | undefined): Promise<IVisitor> {
        const token = await ctx.services.visitorTokens.tokenFor(request.contact.uuid, ctx.read.getPersistenceReader(), ctx.persis);
        const known = await ctx.read.getLivechatReader().getLivechatVisitorByToken(token);
        const phone = phoneFromUrn(request.contact.urn);
        const name = request.contact.name || (request.contact.urn ? request.contact.urn.replace(/^[a-z]+:/i, '') : 'RapidPro contact');
        const wanted = {
            id: known ? known.id : undefined,
            token,
            username: known ? known.username : `rapidpro-${request.contact.uuid.slice(0, 8)}`,
            name,
            department: department ? department.id : undefined,
            phone: phone ? [{ phoneNumber: phone }] : undefined,
        } as IVisitor;
        // Upserts by token. Rocket.Chat may answer with another visitor (one with the same phone):
        // the room goes to the visitor it returns.
        const visitor = await ctx.modify.getCreator().getLivechatCreator().createAndReturnVisitor(wanted);
        if (!visitor) {
            throw new Error('Rocket.Chat did not create the livechat visitor');
        }
        return visitor;
    }

    /** What the agent needs before answering: the bot's results, custom fields, history, first text. */
    private async postAgentContext(ctx: EndpointContext, room: ILivechatRoom, visitor: IVisitor, request: HandoffRequest, started: number): Promise<void> {
        const { read, modify, config, services } = ctx;
        const appUser = await read.getUserReader().getAppUser();
        const note = (text: string) => (appUser
            ? modify.getCreator().finish(modify.getCreator().startMessage().setRoom(room).setSender(appUser).setText(text).setGroupable(false))
            : Promise.resolve(''));

        await note(formatHandoffSummary({
            contactName: request.contact.name,
            urn: request.contact.urn,
            flowName: request.flow && request.flow.name,
            results: request.results,
            fields: request.fields,
        }));

        const updater = modify.getUpdater().getLivechatUpdater();
        for (const key of Object.keys(request.fields)) {
            try {
                await updater.setCustomFields(visitor.token, key, request.fields[key], true);
            } catch (error) {
                services.log(`Custom field "${key}" not set: it must exist in Omnichannel > Custom Fields`);
            }
        }

        const wantsHistory = request.history !== undefined ? request.history : config.historyOnHandoff;
        if (wantsHistory) {
            await note(await this.history(ctx, request.contact.uuid));
        }

        if (request.text || request.attachments.length > 0) {
            await new ContactRoomPoster(read, modify, ctx.http, services.log).post(room, visitor, request.text || '', request.attachments, started + CALL_BUDGET_MS);
        }
    }

    private async history(ctx: EndpointContext, contactUuid: string): Promise<string> {
        if (!ctx.config.rapidProUrl || !ctx.config.rapidProToken) {
            return '_The bot conversation is not available: RapidPro is not configured._';
        }
        const client = new RapidProClient(ctx.http, {
            baseUrl: ctx.config.rapidProUrl,
            token: ctx.config.rapidProToken,
            timeoutMs: Math.min(ctx.config.requestTimeoutMs, HISTORY_TIMEOUT_MS),
        });
        const outcome = await client.listMessages(contactUuid, new Date(Date.now() - HISTORY_WINDOW_MS));
        if (outcome.kind !== 'ok') {
            return `_The bot conversation could not be fetched from RapidPro (${outcome.reason})._`;
        }
        return formatTranscript((outcome.body && outcome.body.results) || []) || '_No recent messages with the bot._';
    }
}

function liveClaims(claims: HandoffClaim[]): HandoffClaim[] {
    const now = Date.now();
    return claims.filter((claim) => now - claim.at < CLAIM_TTL_MS);
}

function describe(status: string, room: ILivechatRoom, conversation: Conversation): Record<string, unknown> {
    return { status, room_id: room.id, department: departmentName(room, conversation), agent: agentName(room) };
}

/** Notices and contact fields for a new room, in the order the contact should see them. */
function openingDrafts(config: BridgeConfig, request: HandoffRequest, room: ILivechatRoom, conversation: Conversation): OutboundDraft[] {
    const drafts: OutboundDraft[] = [];
    const agent = agentName(room) || undefined;
    const department = departmentName(room, conversation) || undefined;
    const notice = agent
        ? renderNotice('assigned', request.contact.language, config.notices.assigned, { agent, department }, config.defaultLanguage)
        : renderNotice('queued', request.contact.language, config.notices.queued, { department }, config.defaultLanguage);
    if (notice) {
        drafts.push({ kind: 'message', text: notice, summary: `the "${agent ? 'agent assigned' : 'queued'}" notice` });
    }
    const fields: Record<string, string> = {};
    if (config.statusField) {
        fields[config.statusField] = agent ? 'open' : 'queued';
    }
    if (config.roomField) {
        fields[config.roomField] = room.id;
    }
    if (Object.keys(fields).length > 0) {
        drafts.push({ kind: 'contact_fields', fields, summary: 'the contact fields' });
    }
    return drafts;
}
