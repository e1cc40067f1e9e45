import type { IRead } from '@rocket.chat/apps-engine/definition/accessors';
import type { IMessageRaw } from '@rocket.chat/apps-engine/definition/messages';

import {
    CLAIM_RETRY_MS,
    CLAIM_TTL_MS,
    DEFAULT_SCOPE_PAUSE_MS,
    DRAIN_BUDGET_MS,
    SCOPE_RESUME_SPREAD_MS,
    SCOPE_TURN_REQUESTS,
    THROTTLED_REASON,
} from '../lib/limits';
import type { Logger } from '../lib/log';
import { nextDelayMs } from '../lib/retryPolicy';
import { type ContactClaim, ContactClaims, isOnlyLiveClaim } from './ContactClaims';
import { planFieldGroup, planTextGroup } from './backlogPlan';
import { type AttemptResult, type DeliveryContext, DeliveryAttempts } from './deliveryAttempt';
import { type ForwardLog, ForwardLogs, isForwardLog, newForwardLog, partKey, withSentPart } from './ForwardLog';
import { isHeld } from './HeldReplies';
import { DeliveryFailures } from './DeliveryFailures';
import { KeyedMutex } from './KeyedMutex';
import type { OutboundDraft, OutboxItem } from './outboxItems';
import { isOutboxItem, OutboxStore } from './OutboxStore';
import type { RapidProClientFactory } from './RapidProClientFactory';
import { Keys } from './records';
import type { RoomNotifier } from './RoomNotifier';
import { type RateScope, ScopePauses } from './ScopePauses';
import { TakeoverCheck } from './takeoverCheck';

export type { DeliveryContext } from './deliveryAttempt';
export type { AgentFile, OutboundDraft, OutboxItem } from './outboxItems';

export const DRAIN_PROCESSOR_ID = 'rapidpro-outbox-drain';

export interface EnqueueOptions {
    /** Try now, within this call (an event), or leave it to a job (a webhook RapidPro waits on). */
    sendNow: boolean;
    /** The drain `begin` started for this contact; it sends these drafts. */
    early?: EarlyDrain;
}

/**
 * A drain started before the agent message's conversation was read (`begin`): the contact's lock
 * is held and the send claim being staked. Enqueueing with it sends; otherwise `abandon` gives
 * both back (and must be called before anything else of the contact is enqueued here).
 */
export interface EarlyDrain {
    readonly contactUuid: string;
    abandon(): Promise<void>;
}

interface EarlyStart {
    staked: Promise<ContactClaim>;
    prefetched?: RoomPage;
    unlock: () => void;
}

class StartedDrain implements EarlyDrain {
    private start?: EarlyStart;

    constructor(
        readonly contactUuid: string,
        start: EarlyStart,
        private readonly giveBack: (start: EarlyStart) => Promise<void>,
    ) {
        this.start = start;
    }

    /** The start, once: whoever takes it sends, and unlocks. */
    take(): EarlyStart | undefined {
        const start = this.start;
        this.start = undefined;
        return start;
    }

    async abandon(): Promise<void> {
        const start = this.take();
        if (start) {
            await this.giveBack(start);
        }
    }
}

interface DrainOptions {
    budgetMs?: number;
    /** When the job that runs this drain was scheduled for (see `drain`). */
    dueBy?: number;
    /** Items being written by the caller: in persistence before anything is sent. */
    written?: Promise<OutboxItem[]>;
    /** The room whose newest messages the catch-up will want: read while the claim is staked. */
    room?: string;
    /** Started by `begin`: the claim being staked and the room being read. */
    start?: EarlyStart;
    /** The sweep's drain: the catch-up looks further back (CATCH_UP_SLACK_MS). */
    thorough?: boolean;
}

/** Finds a room's agent messages whose event never reached the bridge (see outbound/RoomCatchUp). */
export interface RoomCatchUp {
    /** Starts reading the room's newest messages now, for a `missed` soon after (while the claim is staked). */
    prefetch(ctx: DeliveryContext, roomId: string): RoomPage;
    missed(ctx: DeliveryContext, log: ForwardLog, waitingMessageIds: Set<string>, options?: CatchUpOptions): Promise<CaughtUp>;
}

export interface CatchUpOptions {
    /** When the room closed: nothing after it is sent. */
    closedAt?: number;
    /** The room's newest messages, read ahead. */
    prefetched?: RoomPage;
    /** Look as far back as the sweep does, not only at the last moments. */
    thorough?: boolean;
}

/** A room's newest messages, read ahead; `messages` is undefined when the read failed (it is read again). */
export interface RoomPage {
    roomId: string;
    limit: number;
    messages: Promise<IMessageRaw[] | undefined>;
}

/** The drafts of the missed messages, and the ids of the messages read, in the room's order. */
export interface CaughtUp {
    drafts: OutboundDraft[];
    order: string[];
}

/** What one read of the contact's outbox key finds. */
interface OutboxState {
    items: OutboxItem[];
    /** Agent messages held back (the contact's window closed): never caught up. */
    heldMessageIds: Set<string>;
    logs: Map<string, ForwardLog>;
    records: object[];
}

/**
 * The outbox: every call to RapidPro is written to app persistence (OutboxStore) before it is
 * tried, sent in order per contact, retried by the scheduler with backoff on network errors, 5xx
 * and 429, and reported to the agent when RapidPro refuses it or it stays undeliverable past
 * retry_max_age_hours. A contact whose head item waits does not hold up other contacts.
 *
 * Across instances: only the holder of the contact's `send` claim (ContactClaims) sends its calls
 * and writes its rooms' forward logs; an instance that finds the claim held leaves its calls to the
 * holder and to a job. Calls are ordered by when they happened (an agent message: its creation in
 * the room), and before sending, the holder reads the room (RoomCatchUp): an earlier agent message
 * whose event is late, or never came, is queued first. The forward log drops a part sent already.
 */
export class DeliveryQueue {
    private readonly mutex = new KeyedMutex();
    /** A drain waiting for the contact's lock: later callers join it instead of queueing another. */
    private readonly waitingDrains = new Map<string, Promise<void>>();
    private readonly store: OutboxStore;
    private readonly attempts: DeliveryAttempts;
    private readonly takeover: TakeoverCheck;
    private catchUp?: RoomCatchUp;
    /** When each contact's drain last finished a call (see DeliveryJobProcessor). */
    private readonly progress = new Map<string, number>();
    /** Counts what RapidPro never got, for the admin's `/rapidpro`. */
    private readonly failures: DeliveryFailures;
    /** RapidPro's rate-limit scopes this instance knows paused (issue 13). */
    private readonly pauses = new ScopePauses();

    constructor(
        private readonly notifier: RoomNotifier,
        clients: RapidProClientFactory,
        private readonly logger: Logger,
        private readonly now: () => number = Date.now,
    ) {
        this.store = new OutboxStore(now);
        this.attempts = new DeliveryAttempts(this.store, notifier, clients, logger);
        this.takeover = new TakeoverCheck(this.store, clients, logger);
        this.failures = new DeliveryFailures(now);
    }

    /** When the contact's drain on this instance last finished a call; 0 if none ran. */
    lastProgressAt(contactUuid: string): number {
        return this.progress.get(contactUuid) || 0;
    }

    useCatchUp(catchUp: RoomCatchUp): void {
        this.catchUp = catchUp;
    }

    /**
     * Persists the drafts in order, then sends what is due within this call's time budget, or, with
     * `sendNow: false` (a webhook call RapidPro is waiting on), leaves the sending to a job.
     */
    async enqueue(
        ctx: DeliveryContext,
        contactUuid: string,
        roomId: string | undefined,
        drafts: OutboundDraft[],
        options: EnqueueOptions = { sendNow: true },
    ): Promise<void> {
        if (drafts.length === 0) {
            return;
        }
        this.logger.debug(`Outbox: ${drafts.length} call(s) for room ${roomId} queued (${drafts.map((d) => d.kind).join(', ')})`);
        const start =
            options.sendNow && options.early instanceof StartedDrain && options.early.contactUuid === contactUuid
                ? options.early.take()
                : undefined;
        if (start) {
            // The claim was staked while the conversation was read: the items are written while the outbox is read.
            try {
                const written = this.store.create(ctx.persis, contactUuid, roomId, drafts);
                await this.drainClaimed(ctx, contactUuid, { written, start });
            } finally {
                start.unlock();
            }
            return;
        }
        if (options.sendNow && this.mutex.isIdle(contactUuid)) {
            // Nothing of this contact runs here: the items are written while the claim is staked and the
            // room read; they are in persistence before anything is sent (see underClaim).
            const written = this.store.create(ctx.persis, contactUuid, roomId, drafts);
            await this.drain(ctx, contactUuid, { written, room: roomId });
            return;
        }
        await this.store.create(ctx.persis, contactUuid, roomId, drafts);
        if (options.sendNow) {
            await this.drain(ctx, contactUuid);
        } else {
            await this.scheduleDrain(ctx, contactUuid, this.now());
        }
    }

    /**
     * Starts the drain of an agent message of the room before the caller reads its conversation
     * (the room's contact as last seen here): takes the contact's lock, stakes the send claim and
     * reads the room's newest messages. Undefined when the contact's calls are busy here already.
     */
    begin(ctx: DeliveryContext, contactUuid: string, roomId: string): EarlyDrain | undefined {
        const unlock = this.mutex.tryLock(contactUuid);
        if (!unlock) {
            return undefined;
        }
        const claims = new ContactClaims(ctx.read.getPersistenceReader(), ctx.persis, this.now);
        const staked = claims.stake(contactUuid, 'send');
        staked.catch(() => undefined); // answered where it is awaited
        const prefetched = this.catchUp ? this.catchUp.prefetch(ctx, roomId) : undefined;
        return new StartedDrain(contactUuid, { staked, prefetched, unlock }, async (start) => {
            try {
                await claims.release(await start.staked);
            } catch (error) {
                this.logger.warn(`Outbox: send claim not released (${String(error)}); it expires`);
            } finally {
                start.unlock();
            }
        });
    }

    /**
     * Sends the contact's due calls in order; stops at the first one that must wait. A scheduled job
     * passes the time it was scheduled for (`dueBy`): the scheduler decided the time has come, even
     * if this instance's clock is a little behind the one that ran the job.
     */
    drain(ctx: DeliveryContext, contactUuid: string, options: DrainOptions = {}): Promise<void> {
        const waiting = this.waitingDrains.get(contactUuid);
        if (waiting && options.dueBy === undefined && options.written === undefined) {
            return waiting; // it has not read the outbox yet: it will find this caller's calls too
        }
        const run = this.mutex.run(contactUuid, () => {
            if (this.waitingDrains.get(contactUuid) === run) {
                this.waitingDrains.delete(contactUuid);
            }
            return this.drainClaimed(ctx, contactUuid, options);
        });
        this.waitingDrains.set(contactUuid, run);
        return run;
    }

    /**
     * Withdraws the contact's waiting calls that match, under the send claim (so never one being
     * sent). Answers how many were withdrawn; undefined when another instance was sending the
     * contact's calls, so nothing could be withdrawn (nor known).
     */
    async withdraw(ctx: DeliveryContext, contactUuid: string, matches: (item: OutboxItem) => boolean): Promise<number | undefined> {
        return this.mutex.run(contactUuid, () =>
            this.underClaim(ctx, contactUuid, this.now(), async (state) => {
                const chosen = state.items.filter(matches);
                for (const item of chosen) {
                    await this.store.remove(ctx.persis, item);
                }
                return chosen.length;
            }).then((held) => (held ? held.value : undefined)),
        );
    }

    /** Whether any call of the contact waits in the outbox (a new chat's messages must queue behind it). */
    hasPending(read: IRead, contactUuid: string): Promise<boolean> {
        return this.store.hasPending(read.getPersistenceReader(), contactUuid);
    }

    /** Contacts with calls that are due (for the periodic sweep: a job lost with a stopped instance). */
    async dueContacts(read: IRead): Promise<string[]> {
        const now = this.now();
        const items = await this.store.all(read.getPersistenceReader());
        return unique(items.filter((item) => item.nextAttemptAt <= now).map((item) => item.contactUuid));
    }

    /** Contacts with a room the bridge forwards from (the catch-up sweep), and closed rooms' logs long done with. */
    async forwardingContacts(read: IRead): Promise<{ contacts: string[]; stale: ForwardLog[] }> {
        const logs = (await read.getPersistenceReader().readByAssociation(Keys.forwardLogs())).filter(isForwardLog);
        const now = this.now();
        return {
            contacts: unique(logs.filter((log) => log.closedAt === undefined).map((log) => log.contactUuid)),
            stale: logs.filter((log) => log.closedAt !== undefined && now - log.closedAt > CLOSED_LOG_KEPT_MS),
        };
    }

    private async drainClaimed(ctx: DeliveryContext, contactUuid: string, options: DrainOptions): Promise<void> {
        const clock = () => Math.max(this.now(), options.dueBy || 0);
        const prefetched = options.start
            ? options.start.prefetched
            : options.room && this.catchUp
              ? this.catchUp.prefetch(ctx, options.room)
              : undefined;
        const held = await this.underClaim(
            ctx,
            contactUuid,
            clock(),
            (state, stale) => this.sendAll(ctx, contactUuid, state, stale, options, clock, prefetched),
            { written: options.written, staked: options.start?.staked },
        );
        if (held === undefined) {
            // Another instance sends this contact's calls right now; a job looks again shortly after.
            this.logger.debug(`Outbox: another instance is sending the calls of contact ${contactUuid}`);
            await this.scheduleDrain(ctx, contactUuid, clock() + CLAIM_RETRY_MS * (0.75 + Math.random() / 2));
        }
    }

    /**
     * Runs `work` holding the contact's send claim, with the outbox as read once the claim was
     * staked; undefined when another instance holds it. `stale` lists claims of stopped instances.
     */
    private async underClaim<T>(
        ctx: DeliveryContext,
        contactUuid: string,
        now: number,
        work: (state: OutboxState, stale: ContactClaim[]) => Promise<T>,
        prepared: { written?: Promise<OutboxItem[]>; staked?: Promise<ContactClaim> } = {},
    ): Promise<{ value: T } | undefined> {
        const claims = new ContactClaims(ctx.read.getPersistenceReader(), ctx.persis, () => now);
        // The caller's items are written while the claim is staked and the outbox read; a claim
        // staked beside a failed write is still released below.
        const writing = prepared.written
            ? prepared.written.then(
                  (items) => ({ items }),
                  (error: unknown) => ({ error }),
              )
            : undefined;
        const claim = await (prepared.staked || claims.stake(contactUuid, 'send')).catch(async (error) => {
            await writing;
            throw error;
        });
        try {
            const [wrote, state] = await Promise.all([writing, this.readState(ctx, contactUuid)]);
            if (wrote && 'error' in wrote) {
                throw wrote.error;
            }
            if (!isOnlyLiveClaim(claim, state.records, now)) {
                return undefined;
            }
            if (wrote) {
                // Read while they were written: what the read missed of them is added.
                const read = new Set(state.items.map((item) => item.id));
                state.items = OutboxStore.inSendOrder(state.items.concat(wrote.items.filter((item) => !read.has(item.id))));
            }
            const stale = state.records.filter(
                (record): record is ContactClaim =>
                    (record as ContactClaim).purpose === 'send' &&
                    (record as ContactClaim).nonce !== claim.nonce &&
                    now - (record as ContactClaim).at >= CLAIM_TTL_MS,
            );
            return { value: await work(state, stale) };
        } finally {
            this.progress.delete(contactUuid);
            await claims
                .release(claim)
                .catch((error) => this.logger.warn(`Outbox: send claim not released (${String(error)}); it expires`));
        }
    }

    private async readState(ctx: DeliveryContext, contactUuid: string): Promise<OutboxState> {
        const records = await ctx.read.getPersistenceReader().readByAssociation(Keys.contactOutbox(contactUuid));
        const items = OutboxStore.inSendOrder(records.filter(isOutboxItem));
        const logs = new Map<string, ForwardLog>();
        for (const log of records.filter(isForwardLog)) {
            logs.set(log.roomId, log);
        }
        const heldMessageIds = new Set<string>();
        for (const held of records.filter(isHeld)) {
            for (const draft of held.drafts) {
                if (draft.source) {
                    heldMessageIds.add(draft.source.messageId);
                }
            }
        }
        return { items, heldMessageIds, logs, records };
    }

    /** The holder's work: what a stopped instance may have sent, the rooms' missed messages, then the calls in order. */
    private async sendAll(
        ctx: DeliveryContext,
        contactUuid: string,
        state: OutboxState,
        stale: ContactClaim[],
        options: DrainOptions,
        clock: () => number,
        prefetched?: RoomPage,
    ): Promise<void> {
        if (stale.length > 0) {
            state.items = await this.takeover.settle(ctx, contactUuid, state.items, stale, state.logs);
            for (const claim of stale) {
                await ctx.persis.removeByAssociation(Keys.handoffClaim(claim.nonce));
            }
        }
        const roomOrder = new Map<string, number>();
        const caughtUp = await this.catchUpRooms(ctx, contactUuid, state, roomOrder, { prefetched, thorough: options.thorough });
        const items = OutboxStore.inSendOrder(state.items.concat(caughtUp), roomOrder);
        await this.sendInOrder(ctx, contactUuid, items, state.logs, options, clock);
    }

    /** Queues the agent messages the rooms got but the bridge never heard of (app disabled, event late). */
    private async catchUpRooms(
        ctx: DeliveryContext,
        contactUuid: string,
        state: OutboxState,
        roomOrder: Map<string, number>,
        options: CatchUpOptions,
    ): Promise<OutboxItem[]> {
        if (!this.catchUp) {
            return [];
        }
        const created: OutboxItem[] = [];
        for (const log of state.logs.values()) {
            if (log.closedAt !== undefined) {
                continue; // its close was handled after a last catch-up
            }
            const waiting = new Set<string>(state.heldMessageIds);
            let closedAt: number | undefined;
            for (const item of state.items) {
                if (item.roomId !== log.roomId) {
                    continue;
                }
                if (item.source) {
                    waiting.add(item.source.messageId);
                }
                if (item.kind === 'room_closed') {
                    closedAt = item.closedAt;
                }
            }
            try {
                const { drafts, order } = await this.catchUp.missed(ctx, log, waiting, { ...options, closedAt });
                order.forEach((messageId, position) => {
                    roomOrder.set(messageId, position);
                });
                if (drafts.length > 0) {
                    this.logger.info(`Outbox: ${drafts.length} call(s) for agent messages of room ${log.roomId} that no event brought`);
                    created.push(...(await this.store.create(ctx.persis, contactUuid, log.roomId, drafts)));
                }
            } catch (error) {
                this.logger.warn(`Outbox: could not read room ${log.roomId} to catch up (${String(error)}); the sweep tries again`);
            }
        }
        return created;
    }

    /** The loop of `drain`, over items in send order. Runs under the contact's lock and send claim. */
    private async sendInOrder(
        ctx: DeliveryContext,
        contactUuid: string,
        items: OutboxItem[],
        logs: Map<string, ForwardLog>,
        options: DrainOptions,
        clock: () => number,
    ): Promise<void> {
        const budgetMs = options.budgetMs !== undefined ? options.budgetMs : DRAIN_BUDGET_MS;
        const started = this.now();
        const { coalesceBacklog, scopePause } = ctx.config;
        if (scopePause && items.length > 0) {
            // This instance's own clock: a job's later due time must not make the cached view look stale (or fresh).
            await this.pauses.refresh(ctx.read.getPersistenceReader(), this.now());
        }
        let requests = 0;
        /** A merged send RapidPro refused: that item is tried again alone, so one bad part refuses only itself. */
        let alone = -1;
        for (let index = 0; index < items.length; index++) {
            const item = items[index];
            const now = clock();
            if (this.now() - started > budgetMs) {
                await this.scheduleDrain(ctx, contactUuid, now);
                return;
            }
            if (item.nextAttemptAt > now) {
                await this.scheduleDrain(ctx, contactUuid, item.nextAttemptAt);
                return; // its retry is scheduled; later items wait behind it
            }
            if (item.kind === 'room_closed') {
                await this.closeLog(ctx, logs, item);
                await this.store.remove(ctx.persis, item);
                continue;
            }
            if (item.kind === 'forgo') {
                await this.recordSent(ctx, logs, [item]);
                await this.store.remove(ctx.persis, item);
                continue;
            }
            if (isSentAlready(logs, item)) {
                await this.store.remove(ctx.persis, item); // a second copy (the event and the catch-up both queued it)
                continue;
            }
            const route = scopePause ? this.route(ctx, item, now) : {};
            if (route.pausedUntil !== undefined) {
                await this.waitForScope(ctx, contactUuid, item, route.pausedUntil);
                return; // no request spent on a scope RapidPro said is spent
            }
            if (scopePause && route.scope && requests >= SCOPE_TURN_REQUESTS && this.pauses.underPressure(route.scope, now)) {
                // The budget is short: this contact's next call waits behind the other contacts' drains.
                await this.scheduleDrain(ctx, contactUuid, now);
                return;
            }
            const group = coalesceBacklog && index !== alone ? this.backlogGroup(ctx, items, index, now, logs) : undefined;
            const batch = group ? group.items : [item];
            const result = await this.attempts.attempt(ctx, item, {
                text: group?.text,
                fields: group?.fields,
                viaBroadcast: route.viaBroadcast,
            });
            requests++;
            this.progress.set(contactUuid, Date.now());
            if (scopePause && route.scope && result.kind !== 'retry') {
                this.pauses.resumed(route.scope);
            }
            if (result.kind === 'retry') {
                if (scopePause && result.throttled) {
                    await this.pauseScope(ctx, result.throttled, clock() + (result.retryAfterMs ?? DEFAULT_SCOPE_PAUSE_MS));
                    const rerouted = this.route(ctx, item, clock());
                    if (rerouted.pausedUntil === undefined && rerouted.scope !== route.scope) {
                        index--; // another scope can carry it now: no attempt counted, no wait
                        continue;
                    }
                }
                if (await this.retryLater(ctx, contactUuid, item, result, clock)) {
                    return;
                }
                await this.recordSent(ctx, logs, [item]);
                continue; // given up: the next item goes
            }
            if (result.kind === 'rejected') {
                if (batch.length > 1) {
                    alone = index--; // RapidPro refused the merged text: each part is tried on its own
                    continue;
                }
                // 400/403/404: the agent is told in the room; the admin reads why (a token, a contact field) here.
                this.logger.error(`Outbox: RapidPro refused a ${item.kind} call for room ${item.roomId}: ${result.reason}`);
                await this.failures.record(ctx.read.getPersistenceReader(), ctx.persis, result.reason);
                await this.notifier.notifyAgent(ctx, item.roomId, `Not delivered to the contact: ${result.reason} (${item.summary})`);
            } else {
                const merged = batch.length > 1 ? `, ${batch.length} waiting calls as one` : '';
                const via = route.viaBroadcast && ctx.config.sendMode !== 'broadcasts' ? ' over broadcasts' : '';
                this.logger.debug(`Outbox: ${item.kind} for room ${item.roomId} delivered (attempt ${item.attempts + 1}${merged}${via})`);
            }
            // The log first: should this instance stop right here, the parts are not sent again. Every
            // merged item is removed only now that RapidPro took the merged call (a stop in between:
            // the remaining ones go again, together).
            await Promise.all([this.recordSent(ctx, logs, batch), result.kind === 'done' ? result.logged : undefined]);
            for (const done of batch) {
                await this.store.remove(ctx.persis, done);
            }
            index += batch.length - 1;
        }
    }

    /** What may go with the item at `index` as one request: waiting text replies, or waiting field updates. */
    private backlogGroup(
        ctx: DeliveryContext,
        items: OutboxItem[],
        index: number,
        now: number,
        logs: Map<string, ForwardLog>,
    ): { items: OutboxItem[]; text?: string; fields?: Record<string, string | null> } | undefined {
        const item = items[index];
        if (item.kind === 'contact_fields') {
            return planFieldGroup(items, index, now);
        }
        return planTextGroup(items, index, now, ctx.config.maxTextLength, (other) => isSentAlready(logs, other));
    }

    /**
     * The scope the item's call spends, the endpoint, and until when it must wait. A reply whose
     * messages.json budget is spent goes over broadcasts.json (another scope) while that has budget:
     * one sender per contact, each call accepted before the next is made, so the order holds.
     */
    private route(ctx: DeliveryContext, item: OutboxItem, now: number): Route {
        switch (item.kind) {
            case 'contact_fields':
                return this.scopeRoute('v2.contacts', now);
            case 'flow_start':
                return this.scopeRoute('v2', now);
            case 'message': {
                const upload = item.file && !item.mediaUuid ? this.pauses.pausedUntil('v2', now) : undefined;
                if (upload !== undefined) {
                    return { scope: 'v2', pausedUntil: upload };
                }
                if (ctx.config.sendMode === 'broadcasts') {
                    return { ...this.scopeRoute('v2', now), viaBroadcast: true };
                }
                const messages = this.scopeRoute('v2.messages', now);
                if (messages.pausedUntil === undefined || this.pauses.pausedUntil('v2', now) !== undefined) {
                    return messages;
                }
                return { scope: 'v2', viaBroadcast: true };
            }
        }
        return {};
    }

    private scopeRoute(scope: RateScope, now: number): Route {
        return { scope, pausedUntil: this.pauses.pausedUntil(scope, now) };
    }

    private async pauseScope(ctx: DeliveryContext, scope: RateScope, until: number): Promise<void> {
        try {
            if (await this.pauses.pause(ctx.persis, scope, until)) {
                const seconds = Math.round((until - this.now()) / 1000);
                this.logger.warn(`Outbox: RapidPro's ${scope} rate limit is reached; its calls wait ${seconds} s, for every contact`);
            }
        } catch (error) {
            this.logger.warn(`Outbox: the pause of ${scope} was not shared with the other instances (${String(error)})`);
        }
    }

    /** The scope is paused: the head waits (written down once, so what queues behind it is a backlog), no attempt counted. */
    private async waitForScope(ctx: DeliveryContext, contactUuid: string, item: OutboxItem, until: number): Promise<void> {
        if (!item.throttled || item.nextAttemptAt < until) {
            await this.store.save(ctx.persis, { ...item, nextAttemptAt: until, lastError: THROTTLED_REASON, throttled: true });
        }
        // The contacts waiting for the scope resume in no fixed order: none is always last.
        await this.scheduleDrain(ctx, contactUuid, until + Math.random() * SCOPE_RESUME_SPREAD_MS);
    }

    /** Writes down that parts of agent messages are done with (sent, refused or given up): one write per room. */
    private async recordSent(ctx: DeliveryContext, logs: Map<string, ForwardLog>, items: OutboxItem[]): Promise<void> {
        const changed = new Map<string, ForwardLog>();
        for (const item of items) {
            if (!item.source || !item.roomId) {
                continue;
            }
            const before = logs.get(item.roomId) || newForwardLog(item.contactUuid, item.roomId, (item.at || item.createdAt) - 1);
            const after = withSentPart(before, partKey(item.source.messageId, item.source.part), item.at);
            logs.set(item.roomId, after);
            changed.set(item.roomId, after);
        }
        for (const log of changed.values()) {
            await ForwardLogs.save(ctx.persis, log);
        }
    }

    /** The room closed: its log stays a while as a tombstone, so a late copy of a message is still dropped. */
    private async closeLog(ctx: DeliveryContext, logs: Map<string, ForwardLog>, item: OutboxItem & { kind: 'room_closed' }): Promise<void> {
        const log = item.roomId ? logs.get(item.roomId) : undefined;
        if (!log) {
            return;
        }
        const closed = { ...log, closedAt: item.closedAt };
        logs.set(log.roomId, closed);
        await ForwardLogs.save(ctx.persis, closed);
    }

    /**
     * A try to be repeated: the item waits for its next attempt and the rest of the contact's items
     * wait behind it (true); or, past retry_max_age_hours, it is given up and removed (false).
     */
    private async retryLater(
        ctx: DeliveryContext,
        contactUuid: string,
        item: OutboxItem,
        result: AttemptResult & { kind: 'retry' },
        clock: () => number,
    ): Promise<boolean> {
        const attempts = item.attempts + 1;
        if (clock() - item.createdAt >= ctx.config.retryMaxAgeMs) {
            this.logger.error(
                `Outbox: gave up a ${item.kind} call for room ${item.roomId} after ${attempts} attempts ` +
                    `(retry_max_age_hours reached): ${result.reason}`,
            );
            await this.notifier.notifyAgent(
                ctx,
                item.roomId,
                `Could not deliver to the contact after ${attempts} attempts (${result.reason}); gave up: ${item.summary}`,
            );
            await this.failures.record(ctx.read.getPersistenceReader(), ctx.persis, `gave up after ${attempts} attempts: ${result.reason}`);
            await this.store.remove(ctx.persis, item);
            return false;
        }
        const delayMs = nextDelayMs(attempts, result.retryAfterMs);
        const nextAttemptAt = clock() + delayMs;
        this.logger.warn(
            `Outbox: a ${item.kind} call for room ${item.roomId} failed (attempt ${attempts}: ${result.reason}); ` +
                `retrying in ${Math.round(delayMs / 1000)} s`,
        );
        await this.store.save(ctx.persis, { ...item, attempts, nextAttemptAt, lastError: result.reason, throttled: !!result.throttled });
        await this.scheduleDrain(ctx, contactUuid, nextAttemptAt);
        return true;
    }

    private async scheduleDrain(ctx: DeliveryContext, contactUuid: string, at: number): Promise<void> {
        const when = Math.max(at, this.now());
        await ctx.modify.getScheduler().scheduleOnce({ id: DRAIN_PROCESSOR_ID, when: new Date(when), data: { contactUuid, dueBy: when } });
    }
}

/** A closed room's forward log is kept this long, to drop late copies of its messages, then swept. */
const CLOSED_LOG_KEPT_MS = 24 * 3600 * 1000;

/** Where a call goes: the scope it spends, over broadcasts.json or not, and until when its scope is paused. */
interface Route {
    scope?: RateScope;
    viaBroadcast?: boolean;
    pausedUntil?: number;
}

/** Whether the item's part of an agent message is in its room's forward log already. */
function isSentAlready(logs: Map<string, ForwardLog>, item: OutboxItem): boolean {
    const log = item.source && item.roomId ? logs.get(item.roomId) : undefined;
    return !!(item.source && log && log.sent.indexOf(partKey(item.source.messageId, item.source.part)) >= 0);
}

function unique(values: string[]): string[] {
    return values.filter((value, index, all) => all.indexOf(value) === index);
}
