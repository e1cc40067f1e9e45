import type { IHttp, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import { type IJobContext, type IProcessor, StartupType } from '@rocket.chat/apps-engine/definition/scheduler';

import type { BridgeServices } from '../BridgeServices';
import { ForwardLogs } from '../domain/ForwardLog';
import { DRAIN_PROCESSOR_ID } from '../domain/DeliveryQueue';
import { FAILURE_WATCH_INTERVAL, JOB_WAIT_MS, SWEEP_BUDGET_MS, SWEEP_CONTACT_BUDGET_MS, SWEEP_PARALLEL_DRAINS } from '../lib/limits';
import { errorText } from '../lib/log';

export const SWEEP_PROCESSOR_ID = 'rapidpro-outbox-sweep';

/**
 * Scheduled retries: sends a contact's due outbox items (one job per retry the queue asked for).
 * Rocket.Chat runs one job of a kind at a time per instance, so the job stays with its drain only
 * while the drain makes progress: one whose RapidPro call hangs for JOB_WAIT_MS goes on alone, and
 * never holds up the other contacts' retries. Should the instance stop meanwhile, the calls are
 * still in the outbox and the sweep sends them.
 */
export class DeliveryJobProcessor implements IProcessor {
    readonly id = DRAIN_PROCESSOR_ID;

    constructor(private readonly services: BridgeServices) {}

    async processor(jobContext: IJobContext, read: IRead, modify: IModify, http: IHttp, persis: IPersistence): Promise<void> {
        const contactUuid = jobContext && typeof jobContext.contactUuid === 'string' ? jobContext.contactUuid : undefined;
        if (!contactUuid) {
            return;
        }
        const dueBy = typeof jobContext.dueBy === 'number' ? jobContext.dueBy : undefined;
        const ctx = await this.services.deliveryContext(read, modify, http, persis);
        const drain = this.services.queue.drain(ctx, contactUuid, { dueBy }).catch((error) => {
            this.services.logger.warn(`Outbox: a scheduled send failed (${errorText(error)}); the sweep retries`);
        });
        let timer: ReturnType<typeof setTimeout> | undefined;
        const started = Date.now();
        const stalled = new Promise<void>((resolve) => {
            const check = () => {
                const last = Math.max(started, this.services.queue.lastProgressAt(contactUuid));
                if (Date.now() - last >= JOB_WAIT_MS) {
                    resolve();
                } else {
                    timer = setTimeout(check, JOB_WAIT_MS / 4);
                }
            };
            timer = setTimeout(check, JOB_WAIT_MS / 4);
        });
        await Promise.race([drain, stalled]);
        clearTimeout(timer);
    }
}

/**
 * Safety net, at every start of the app and every few minutes: sends what is due but has no job
 * waiting for it (a job lost when an instance stopped mid-call or while the app was disabled), and
 * catches up each open chat's room: agent replies written while the app was not listening
 * (disabled, being updated, its runtime restarting) are sent, in order, once.
 */
export class OutboxSweepProcessor implements IProcessor {
    readonly id = SWEEP_PROCESSOR_ID;
    readonly startupSetting = { type: StartupType.RECURRING as StartupType.RECURRING, interval: '5 minutes', skipImmediate: false };

    constructor(private readonly services: BridgeServices) {}

    async processor(jobContext: IJobContext, read: IRead, modify: IModify, http: IHttp, persis: IPersistence): Promise<void> {
        const { queue, logger } = this.services;
        const due = await queue.dueContacts(read);
        const { contacts: forwarding, stale } = await queue.forwardingContacts(read);
        for (const log of stale) {
            await ForwardLogs.remove(persis, log.roomId);
        }
        // Due calls first; the open chats in a random order, so a sweep cut short by its budget is not always the same.
        const contacts = due.concat(shuffled(forwarding.filter((contact) => due.indexOf(contact) < 0)));
        if (contacts.length === 0) {
            return;
        }
        logger.debug(`Outbox sweep: ${due.length} contact(s) with calls due, ${forwarding.length} open chat(s) to catch up`);
        const ctx = await this.services.deliveryContext(read, modify, http, persis);
        const started = Date.now();
        let next = 0;
        // A few drains at a time: one contact's hanging calls never hold up the others.
        const worker = async () => {
            while (next < contacts.length && Date.now() - started < SWEEP_BUDGET_MS) {
                const contactUuid = contacts[next++];
                try {
                    await queue.drain(ctx, contactUuid, { budgetMs: SWEEP_CONTACT_BUDGET_MS, thorough: true });
                } catch (error) {
                    logger.warn(`Outbox sweep: a contact's calls failed to send (${errorText(error)}); the next sweep retries`);
                }
            }
        };
        await Promise.all(Array.from({ length: Math.min(SWEEP_PARALLEL_DRAINS, contacts.length) }, worker));
    }
}

function shuffled<T>(values: T[]): T[] {
    const copy = values.slice();
    for (let index = copy.length - 1; index > 0; index--) {
        const other = Math.floor(Math.random() * (index + 1));
        [copy[index], copy[other]] = [copy[other], copy[index]];
    }
    return copy;
}

export const REACH_WATCH_PROCESSOR_ID = 'rapidpro-reach-watch';

/**
 * What reached the contact, every FAILURE_WATCH_INTERVAL: parts RapidPro reports failed are told in
 * their rooms (FailureWatcher: no RapidPro call when nothing was sent lately, a few pages at most
 * otherwise), and replies held past retry_max_age_hours are given up and reported (no RapidPro call).
 */
export class ReachWatchProcessor implements IProcessor {
    readonly id = REACH_WATCH_PROCESSOR_ID;
    readonly startupSetting = {
        type: StartupType.RECURRING as StartupType.RECURRING,
        interval: FAILURE_WATCH_INTERVAL,
        skipImmediate: true,
    };

    constructor(private readonly services: BridgeServices) {}

    async processor(jobContext: IJobContext, read: IRead, modify: IModify, http: IHttp, persis: IPersistence): Promise<void> {
        const ctx = await this.services.deliveryContext(read, modify, http, persis);
        try {
            const run = await this.services.failureWatcher.run(ctx);
            if (run.calls > 0) {
                this.services.logger.debug(`Failure watch: ${run.calls} call(s) to RapidPro, ${run.reported} failure(s) reported`);
            }
        } catch (error) {
            this.services.logger.warn(`Failure watch failed (${errorText(error)}); the next run tries again`);
        }
        try {
            await this.services.replyWindow.reportExpired(ctx);
        } catch (error) {
            this.services.logger.warn(`Held replies not checked for expiry (${errorText(error)}); the next run tries again`);
        }
    }
}
