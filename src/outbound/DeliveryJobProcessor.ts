import type { IHttp, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import { type IJobContext, type IProcessor, StartupType } from '@rocket.chat/apps-engine/definition/scheduler';

import type { BridgeServices } from '../BridgeServices';
import { DRAIN_PROCESSOR_ID } from '../domain/DeliveryQueue';
import { FAILURE_WATCH_INTERVAL, SWEEP_BUDGET_MS, SWEEP_CONTACT_BUDGET_MS } from '../lib/limits';
import { errorText } from '../lib/log';

export const SWEEP_PROCESSOR_ID = 'rapidpro-outbox-sweep';

/** Scheduled retries: sends a contact's due outbox items (one job per retry the queue asked for). */
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
        await this.services.queue.drain(ctx, contactUuid, { dueBy });
    }
}

/**
 * Safety net: every few minutes, sends what is due but has no job waiting for it (a job lost when
 * an instance stopped mid-call, a lease that expired).
 */
export class OutboxSweepProcessor implements IProcessor {
    readonly id = SWEEP_PROCESSOR_ID;
    readonly startupSetting = { type: StartupType.RECURRING as StartupType.RECURRING, interval: '5 minutes', skipImmediate: true };

    constructor(private readonly services: BridgeServices) {}

    async processor(jobContext: IJobContext, read: IRead, modify: IModify, http: IHttp, persis: IPersistence): Promise<void> {
        const contacts = await this.services.queue.dueContacts(read);
        if (contacts.length === 0) {
            return;
        }
        this.services.logger.debug(`Outbox sweep: calls of ${contacts.length} contact(s) are due with no job waiting`);
        const ctx = await this.services.deliveryContext(read, modify, http, persis);
        const started = Date.now();
        for (const contactUuid of contacts) {
            if (Date.now() - started > SWEEP_BUDGET_MS) {
                break; // the next sweep continues; one call must end within Rocket.Chat's 30 s
            }
            try {
                await this.services.queue.drain(ctx, contactUuid, { budgetMs: SWEEP_CONTACT_BUDGET_MS });
            } catch (error) {
                this.services.logger.warn(`Outbox sweep: a contact's calls failed to send (${errorText(error)}); the next sweep retries`);
            }
        }
    }
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
