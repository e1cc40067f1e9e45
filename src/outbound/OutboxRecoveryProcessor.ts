import type { IHttp, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import { type IJobContext, type IProcessor, StartupType } from '@rocket.chat/apps-engine/definition/scheduler';

import type { BridgeServices } from '../BridgeServices';
import type { DeliveryContext } from '../domain/DeliveryQueue';
import { OutboxRecovery } from '../domain/OutboxRecovery';
import { rapidProState } from '../domain/rapidProState';
import { SWEEP_BUDGET_MS, SWEEP_CONTACT_BUDGET_MS } from '../lib/limits';
import { errorText } from '../lib/log';

export const RECOVERY_PROCESSOR_ID = 'rapidpro-outbox-recovery';

/**
 * Makes the waiting calls (all, or one room's) due now and sends them, within one call's time budget;
 * what is left goes with the next sweep or job. Answers how many calls were brought forward.
 */
export async function flushOutbox(services: BridgeServices, ctx: DeliveryContext, roomId?: string): Promise<number> {
    const moved = await new OutboxRecovery().makeDue(ctx.read.getPersistenceReader(), ctx.persis, roomId);
    const started = Date.now();
    for (const contactUuid of moved.contacts) {
        if (Date.now() - started > SWEEP_BUDGET_MS) {
            break; // one call must end within Rocket.Chat's 30 s; the items are due, the sweep sends them
        }
        try {
            await services.queue.drain(ctx, contactUuid, { budgetMs: SWEEP_CONTACT_BUDGET_MS });
        } catch (error) {
            services.logger.warn(`Outbox flush: a contact's calls failed to send (${errorText(error)}); the sweep retries`);
        }
    }
    return moved.items;
}

/**
 * Sends the waiting replies within a minute after RapidPro recovers, not at their next backoff (up to
 * 15 min). Every 30 s, only while calls wait after a failure: one GET workspace.json. It acts on the
 * change from "down" (seen by an earlier probe, remembered in persistence) to "answers", so a call
 * that fails while RapidPro as a whole answers keeps its backoff instead of being retried every 30 s.
 */
export class OutboxRecoveryProcessor implements IProcessor {
    readonly id = RECOVERY_PROCESSOR_ID;
    readonly startupSetting = { type: StartupType.RECURRING as StartupType.RECURRING, interval: '30 seconds', skipImmediate: true };

    constructor(private readonly services: BridgeServices) {}

    async processor(jobContext: IJobContext, read: IRead, modify: IModify, http: IHttp, persis: IPersistence): Promise<void> {
        const recovery = new OutboxRecovery();
        const reader = read.getPersistenceReader();
        const waiting = await recovery.waitingAfterFailure(reader);
        if (waiting.length === 0) {
            return;
        }
        const ctx = await this.services.deliveryContext(read, modify, http, persis);
        const state = await rapidProState(this.services.rapidPro, http, ctx.config);
        const sawDown = await recovery.probeSawDown(reader);
        if (state !== 'ok') {
            if (!sawDown) {
                await recovery.rememberProbe(persis, true);
            }
            return;
        }
        if (!sawDown) {
            return;
        }
        await recovery.rememberProbe(persis, false);
        this.services.logger.info(`Outbox: RapidPro answers again; ${waiting.length} waiting call(s) go now`);
        await flushOutbox(this.services, ctx);
    }
}
