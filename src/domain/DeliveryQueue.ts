import type { IRead } from '@rocket.chat/apps-engine/definition/accessors';

import { DRAIN_BUDGET_MS } from '../lib/limits';
import type { Logger } from '../lib/log';
import { nextDelayMs } from '../lib/retryPolicy';
import { type AttemptResult, type DeliveryContext, DeliveryAttempts } from './deliveryAttempt';
import { DeliveryFailures } from './DeliveryFailures';
import { KeyedMutex } from './KeyedMutex';
import { OutboxLeases } from './OutboxLeases';
import type { OutboundDraft, OutboxItem } from './outboxItems';
import { OutboxStore } from './OutboxStore';
import type { RapidProClientFactory } from './RapidProClientFactory';
import type { RoomNotifier } from './RoomNotifier';

export type { DeliveryContext } from './deliveryAttempt';
export type { AgentFile, OutboundDraft, OutboxItem } from './outboxItems';

export const DRAIN_PROCESSOR_ID = 'rapidpro-outbox-drain';

export interface EnqueueOptions {
    /** Try now, within this call (an event), or leave it to a job (a webhook RapidPro waits on). */
    sendNow: boolean;
    /** The caller read that nothing of this contact waits in the outbox: no need to read it again. */
    outboxKnownEmpty?: boolean;
}

interface DrainOptions {
    budgetMs?: number;
    /** When the job that runs this drain was scheduled for (see `drain`). */
    dueBy?: number;
}

/**
 * The outbox: every call to RapidPro is written to app persistence (OutboxStore) before it is
 * tried, sent in order per contact, retried by the scheduler with backoff on network errors, 5xx
 * and 429, and reported to the agent when RapidPro refuses it or it stays undeliverable past
 * retry_max_age_hours. A contact whose head item waits does not hold up other contacts. Which
 * instance sends an item is settled by OutboxLeases; the in-memory lock only orders work inside
 * one instance.
 */
export class DeliveryQueue {
    private readonly mutex = new KeyedMutex();
    private readonly store: OutboxStore;
    private readonly leases: OutboxLeases;
    private readonly attempts: DeliveryAttempts;
    /** Counts what RapidPro never got, for the admin's `/rapidpro`. */
    private readonly failures: DeliveryFailures;

    constructor(
        private readonly notifier: RoomNotifier,
        clients: RapidProClientFactory,
        private readonly logger: Logger,
        private readonly now: () => number = Date.now,
    ) {
        this.store = new OutboxStore(now);
        this.leases = new OutboxLeases(this.store);
        this.attempts = new DeliveryAttempts(this.store, notifier, clients, logger);
        this.failures = new DeliveryFailures(now);
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
        if (options.sendNow && options.outboxKnownEmpty) {
            // Nothing of this contact waits: write these calls, then send them, with no read between.
            await this.mutex.run(contactUuid, async () => {
                const created = await this.store.create(ctx.persis, contactUuid, roomId, drafts, this.leases.fresh(this.now()));
                await this.sendInOrder(ctx, contactUuid, created, {});
            });
            return;
        }
        const now = this.now();
        await this.store.create(ctx.persis, contactUuid, roomId, drafts, options.sendNow ? this.leases.fresh(now) : undefined);
        if (options.sendNow) {
            await this.drain(ctx, contactUuid);
        } else {
            await this.scheduleDrain(ctx, contactUuid, now);
        }
    }

    /**
     * Sends the contact's due items in order; stops at the first one that must wait. A scheduled job
     * passes the time it was scheduled for (`dueBy`): the scheduler decided the time has come, even
     * if this instance's clock is a little behind the one that ran the job.
     */
    async drain(ctx: DeliveryContext, contactUuid: string, options: DrainOptions = {}): Promise<void> {
        await this.mutex.run(contactUuid, async () => {
            const items = await this.store.ofContact(ctx.read.getPersistenceReader(), contactUuid);
            await this.sendInOrder(ctx, contactUuid, items, options);
        });
    }

    /**
     * Withdraws the contact's waiting calls that match (not one another instance is sending right now).
     * Answers how many were withdrawn.
     */
    async withdraw(ctx: DeliveryContext, contactUuid: string, matches: (item: OutboxItem) => boolean): Promise<number> {
        return this.mutex.run(contactUuid, async () => {
            const now = this.now();
            const items = await this.store.ofContact(ctx.read.getPersistenceReader(), contactUuid);
            const chosen = items.filter((item) => matches(item) && OutboxLeases.isFree(item, now));
            for (const item of chosen) {
                await this.store.remove(ctx.persis, item);
            }
            return chosen.length;
        });
    }

    /** Whether any call of the contact waits in the outbox (a new chat's messages must queue behind it). */
    hasPending(read: IRead, contactUuid: string): Promise<boolean> {
        return this.store.hasPending(read.getPersistenceReader(), contactUuid);
    }

    /** Contacts with items that are due and not being sent (for the periodic sweep). */
    async dueContacts(read: IRead): Promise<string[]> {
        const now = this.now();
        const items = await this.store.all(read.getPersistenceReader());
        const due = items.filter((item) => item.nextAttemptAt <= now && OutboxLeases.isFree(item, now));
        return due.map((item) => item.contactUuid).filter((contact, index, all) => all.indexOf(contact) === index);
    }

    /** The loop of `drain`, over items already read (or just written). Runs under the contact's lock. */
    private async sendInOrder(ctx: DeliveryContext, contactUuid: string, items: OutboxItem[], options: DrainOptions): Promise<void> {
        const budgetMs = options.budgetMs !== undefined ? options.budgetMs : DRAIN_BUDGET_MS;
        const clock = () => Math.max(this.now(), options.dueBy || 0);
        const started = this.now();
        for (let index = 0; index < items.length; index++) {
            const item = items[index];
            const now = clock();
            if (this.now() - started > budgetMs) {
                await this.stop(ctx, contactUuid, items.slice(index), now);
                return;
            }
            if (item.nextAttemptAt > now) {
                await this.leases.releaseOwn(ctx.persis, items.slice(index + 1));
                return; // its retry is scheduled; later items wait behind it
            }
            if (!this.leases.isOwn(item) && !(await this.leases.take(ctx.read.getPersistenceReader(), ctx.persis, item, now))) {
                // Another instance is sending it: it sends what follows too. Check again after its lease.
                this.logger.debug(`Outbox: another instance is sending the calls of room ${item.roomId}`);
                await this.leases.releaseOwn(ctx.persis, items.slice(index + 1));
                await this.scheduleDrain(ctx, contactUuid, Math.max(now, item.leaseUntil || 0) + 1000);
                return;
            }
            const result = await this.attempts.attempt(ctx, item);
            if (result.kind === 'retry') {
                if (await this.retryLater(ctx, contactUuid, items, index, result, clock)) {
                    return;
                }
                continue; // given up: the next item goes
            }
            if (result.kind === 'rejected') {
                // 400/403/404: the agent is told in the room; the admin reads why (a token, a contact field) here.
                this.logger.error(`Outbox: RapidPro refused a ${item.kind} call for room ${item.roomId}: ${result.reason}`);
                await this.failures.record(ctx.read.getPersistenceReader(), ctx.persis, result.reason);
                await this.notifier.notifyAgent(ctx, item.roomId, `Not delivered to the contact: ${result.reason} (${item.summary})`);
            } else {
                this.logger.debug(`Outbox: ${item.kind} for room ${item.roomId} delivered (attempt ${item.attempts + 1})`);
            }
            await this.store.remove(ctx.persis, item);
        }
    }

    /**
     * A try to be repeated: the item waits for its next attempt and the rest of the contact's items
     * wait behind it (true); or, past retry_max_age_hours, it is given up and removed (false).
     */
    private async retryLater(
        ctx: DeliveryContext,
        contactUuid: string,
        items: OutboxItem[],
        index: number,
        result: AttemptResult & { kind: 'retry' },
        clock: () => number,
    ): Promise<boolean> {
        const item = items[index];
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
        const waiting: OutboxItem = {
            ...item,
            attempts,
            nextAttemptAt,
            leaseOwner: undefined,
            leaseUntil: undefined,
            lastError: result.reason,
        };
        await this.store.save(ctx.persis, waiting);
        await this.stop(ctx, contactUuid, items.slice(index + 1), nextAttemptAt);
        return true;
    }

    /**
     * Leaves the rest for a job at `at`: items this instance leased are released first, so whichever
     * instance runs the job sends them without waiting for the lease to expire.
     */
    private async stop(ctx: DeliveryContext, contactUuid: string, rest: OutboxItem[], at: number): Promise<void> {
        await this.leases.releaseOwn(ctx.persis, rest);
        await this.scheduleDrain(ctx, contactUuid, at);
    }

    private async scheduleDrain(ctx: DeliveryContext, contactUuid: string, at: number): Promise<void> {
        const when = Math.max(at, this.now());
        await ctx.modify.getScheduler().scheduleOnce({ id: DRAIN_PROCESSOR_ID, when: new Date(when), data: { contactUuid, dueBy: when } });
    }
}
