import { errorText, type Logger } from '../lib/log';
import {
    closedWithHeldNote,
    type ContactWindow,
    hasWindow,
    heldExpiredNote,
    heldNote,
    isWindowClosed,
    releasedNote,
    type WindowRule,
} from '../lib/reach';
import type { BridgeConfig } from '../settings/BridgeConfig';
import { type Conversation, ConversationStore } from './ConversationStore';
import type { DeliveryContext, DeliveryQueue, EnqueueOptions } from './DeliveryQueue';
import { type HeldReply, HeldReplies } from './HeldReplies';
import type { KeyedMutex } from './KeyedMutex';
import type { OutboundDraft } from './outboxItems';
import type { RoomNotifier } from './RoomNotifier';

export function windowRuleOf(config: BridgeConfig): WindowRule {
    return { windowMs: config.windowMs, schemes: config.windowSchemes };
}

/**
 * Whether replies may still be held: one was held after the contact last wrote, or so shortly
 * before (HELD_RACE_MS) that the release of another instance may have missed it. Chats of 0.1.x
 * carry no mark: their held replies are released when the contact writes.
 */
function mayHaveHeld(conversation: Conversation): boolean {
    return conversation.heldAt !== undefined && conversation.heldAt > (conversation.lastInboundAt || 0) - HELD_RACE_MS;
}

const HELD_RACE_MS = 60_000;

/**
 * The contact's last message was recorded so recently (a thousandth of the window, a minute at
 * most) that recording this one changes nothing a reply would notice: no replies were held since.
 */
function wroteMomentsAgo(conversation: Conversation, scheme: string | undefined, rule: WindowRule, now: number): boolean {
    const last = conversation.lastInboundAt;
    const moment = Math.min(60_000, rule.windowMs / 1000);
    return last !== undefined && now - last >= 0 && now - last < moment && (!scheme || scheme === conversation.urnScheme);
}

export function contactWindowOf(conversation: Conversation): ContactWindow {
    return { scheme: conversation.urnScheme, lastInboundAt: conversation.lastInboundAt };
}

/**
 * The customer-care window (WhatsApp and the like take replies only within 24 h of the contact's
 * last message), decided before anything reaches the outbox: an agent reply after the window is
 * held (HeldReplies), the agent is told and the re-engagement flow started once per held period,
 * and the contact's next message releases the held replies, in order, before anything newer.
 * The outbox itself (DeliveryQueue) knows nothing of it.
 *
 * Across instances the room's lock does not hold: two instances may both start a held period (two
 * notes, two flow starts) or both release (a reply sent twice) if they act on the same contact in
 * the same instant. Release writes the outbox before it removes the held replies: twice, never lost.
 */
export class ReplyWindow {
    private readonly held: HeldReplies;

    constructor(
        private readonly queue: DeliveryQueue,
        private readonly notifier: RoomNotifier,
        private readonly roomMutex: KeyedMutex,
        private readonly logger: Logger,
        private readonly now: () => number = Date.now,
    ) {
        this.held = new HeldReplies(now);
    }

    /** An agent's reply (under the room's lock): into the outbox, or held when the window has closed. */
    async sendOrHold(
        ctx: DeliveryContext,
        conversation: Conversation,
        drafts: OutboundDraft[],
        reply: { text: string; agentName?: string },
        options: EnqueueOptions,
    ): Promise<'sent' | 'held'> {
        if (drafts.length === 0) {
            return 'sent';
        }
        const rule = windowRuleOf(ctx.config);
        const window = contactWindowOf(conversation);
        const now = this.now();
        // Held replies are read only where a window applies and one was held lately: others pay nothing for this.
        const waiting =
            hasWindow(window, rule) && mayHaveHeld(conversation)
                ? await this.held.ofContact(ctx.read.getPersistenceReader(), conversation.contactUuid)
                : [];
        if (!isWindowClosed(window, rule, now)) {
            if (waiting.length > 0) {
                // The contact wrote (on another instance, say) and nothing released them yet: they go first.
                await options.early?.abandon();
                await this.release(ctx, conversation, waiting, { sendNow: options.sendNow });
                options = { sendNow: options.sendNow };
            }
            await this.queue.enqueue(ctx, conversation.contactUuid, conversation.roomId, drafts, options);
            return 'sent';
        }
        await options.early?.abandon(); // the contact's lock and claim, before the held period's own calls
        await this.held.hold(ctx.persis, { contactUuid: conversation.contactUuid, roomId: conversation.roomId, drafts, text: reply.text });
        await this.markHeld(ctx, conversation.roomId, now);
        this.logger.info(`Window: a reply in room ${conversation.roomId} is held (the contact's window closed)`);
        if (waiting.length === 0) {
            await this.startHeldPeriod(ctx, conversation, reply.agentName, now);
        }
        return 'held';
    }

    /** The conversation tells later replies to look for held ones (see mayHaveHeld). */
    private async markHeld(ctx: DeliveryContext, roomId: string, now: number): Promise<void> {
        try {
            const store = new ConversationStore(ctx.read.getPersistenceReader(), ctx.persis);
            const conversation = await store.findByRoom(roomId);
            if (conversation && !(conversation.heldAt && conversation.heldAt >= (conversation.lastInboundAt || 0))) {
                await store.save({ ...conversation, heldAt: now });
            }
        } catch (error) {
            // The held reply is stored: the contact's next message releases it all the same.
            this.logger.warn(`Window: the held reply of room ${roomId} is not marked on its chat: ${errorText(error)}`);
        }
    }

    /** The first reply held since the contact last wrote: the agent is told, the contact invited, once. */
    private async startHeldPeriod(
        ctx: DeliveryContext,
        conversation: Conversation,
        agentName: string | undefined,
        now: number,
    ): Promise<void> {
        const flowUuid = ctx.config.reengageFlowUuid;
        await this.notifier.notifyAgent(
            ctx,
            conversation.roomId,
            heldNote({
                scheme: conversation.urnScheme,
                sinceInboundMs: conversation.lastInboundAt !== undefined ? now - conversation.lastInboundAt : undefined,
                windowMs: ctx.config.windowMs,
                flowStarted: !!flowUuid,
            }),
        );
        if (flowUuid) {
            await this.queue.enqueue(
                ctx,
                conversation.contactUuid,
                conversation.roomId,
                [
                    {
                        kind: 'flow_start',
                        flowUuid,
                        params: {
                            room_id: conversation.roomId,
                            agent: agentName || null,
                            department: conversation.departmentName || conversation.departmentId || null,
                            waiting: 1,
                        },
                        summary: 'the re-engagement flow start (the contact was invited to write)',
                    },
                ],
                { sendNow: true },
            );
        }
    }

    /**
     * The contact wrote (a `message`, a handoff into the open chat): the window opens again. Records
     * when, and sends what was held, in order, before anything newer (both under the room's lock).
     * `known`: the conversation as the caller read it; when it shows the contact wrote a moment ago,
     * nothing is read or written (the window's start moves by that moment at most, to the safe side).
     */
    contactWrote(ctx: DeliveryContext, roomId: string, scheme: string | undefined, known?: Conversation): Promise<void> {
        return this.roomMutex.run(roomId, async () => {
            const rule = windowRuleOf(ctx.config);
            if (known && known.roomId === roomId && wroteMomentsAgo(known, scheme, rule, this.now())) {
                return;
            }
            const store = new ConversationStore(ctx.read.getPersistenceReader(), ctx.persis);
            const conversation = await store.findByRoom(roomId);
            if (!conversation) {
                return;
            }
            const fresh: Conversation = { ...conversation, lastInboundAt: this.now(), urnScheme: scheme || conversation.urnScheme };
            await store.save(fresh);
            if (hasWindow(contactWindowOf(conversation), rule) || hasWindow(contactWindowOf(fresh), rule)) {
                // A webhook RapidPro waits on: a job sends them.
                await this.release(ctx, fresh, undefined, { sendNow: false });
            }
        });
    }

    private async release(
        ctx: DeliveryContext,
        conversation: Conversation,
        waiting: HeldReply[] | undefined,
        options: EnqueueOptions,
    ): Promise<number> {
        const list = waiting || (await this.held.ofContact(ctx.read.getPersistenceReader(), conversation.contactUuid));
        if (list.length === 0) {
            return 0;
        }
        const drafts = ([] as OutboundDraft[]).concat(...list.map((held) => held.drafts));
        // Into the outbox before the held records go: a crash in between sends twice rather than never.
        await this.queue.enqueue(ctx, conversation.contactUuid, conversation.roomId, drafts, options);
        for (const held of list) {
            await this.held.remove(ctx.persis, held);
        }
        this.logger.info(`Window: ${list.length} held repl(ies) of room ${conversation.roomId} released`);
        await this.notifier.notifyAgent(ctx, conversation.roomId, releasedNote(list.length));
        return list.length;
    }

    /** The chat closed with replies held: the agent learns which never reached the contact. */
    async chatClosed(ctx: DeliveryContext, conversation: Conversation): Promise<void> {
        const list = await this.held.ofContact(ctx.read.getPersistenceReader(), conversation.contactUuid);
        if (list.length === 0) {
            return;
        }
        this.logger.warn(`Window: room ${conversation.roomId} closed with ${list.length} repl(ies) held; the agent is told`);
        await this.notifier.notifyAgent(ctx, conversation.roomId, closedWithHeldNote(list.map((held) => held.text)));
        await this.forgo(ctx, list);
        for (const held of list) {
            await this.held.remove(ctx.persis, held);
        }
    }

    /** Replies held longer than retry_max_age_hours are given up, each reported in its room (the periodic job). */
    async reportExpired(ctx: DeliveryContext): Promise<number> {
        const now = this.now();
        const expired = (await this.held.all(ctx.read.getPersistenceReader())).filter(
            (held) => now - held.heldAt >= ctx.config.retryMaxAgeMs,
        );
        for (const held of expired) {
            try {
                // Told first, removed after: a failure in between repeats the note rather than losing the reply silently.
                await this.notifier.notifyAgent(ctx, held.roomId, heldExpiredNote(held.text, now - held.heldAt));
                await this.forgo(ctx, [held]);
                await this.held.remove(ctx.persis, held);
            } catch (error) {
                this.logger.warn(`Window: an expired held reply of room ${held.roomId} was not reported: ${errorText(error)}`);
            }
        }
        return expired.length;
    }

    /**
     * Given-up replies are written down as never to be sent (through the outbox, whose sender alone
     * writes the room's forward log): the room's catch-up then never sends them after all.
     */
    private async forgo(ctx: DeliveryContext, list: HeldReply[]): Promise<void> {
        for (const held of list) {
            const drafts: OutboundDraft[] = held.drafts
                .filter((draft) => draft.source)
                .map((draft) => ({ kind: 'forgo', at: draft.at, source: draft.source, summary: draft.summary }));
            await this.queue.enqueue(ctx, held.contactUuid, held.roomId, drafts, { sendNow: false });
        }
    }
}
