import type { IOnetimeSchedule, IProcessor, IRecurringSchedule } from '@rocket.chat/apps-engine/definition/scheduler';
import { SchedulerBridge } from '@rocket.chat/apps-engine/server/bridges';

import type { Scheduler } from '../clock';

/** bridges/scheduler.ts on the in-memory Agenda of clock.ts. */
export class EmulatedSchedulerBridge extends SchedulerBridge {
    constructor(private readonly scheduler: Scheduler) {
        super();
    }

    protected async registerProcessors(processors: IProcessor[] = [], appId: string): Promise<undefined | string[]> {
        const startup: Array<Promise<undefined | string>> = [];
        for (const { id, processor, startupSetting } of processors) {
            this.scheduler.define(id, processor as unknown as (ctx: Record<string, unknown>) => Promise<void>);
            if (!startupSetting) {
                continue;
            }
            if ((startupSetting.type as string) === 'onetime') {
                const s = startupSetting as { when: string | Date; data?: object };
                if (!this.scheduler.pendingJobs().some((j) => j.name === id && j.type === 'normal')) {
                    startup.push(this.scheduleOnce({ id, when: s.when, data: s.data }, appId));
                }
            } else if ((startupSetting.type as string) === 'recurring') {
                const s = startupSetting as { interval: string | number; skipImmediate?: boolean; data?: object };
                startup.push(this.scheduleRecurring({ id, interval: s.interval, skipImmediate: s.skipImmediate, data: s.data }, appId));
            }
        }
        if (startup.length) {
            return (await Promise.all(startup)) as string[];
        }
        return undefined;
    }

    protected async scheduleOnce({ id, when, data }: IOnetimeSchedule, appId: string): Promise<undefined | string> {
        try {
            return this.scheduler.schedule(when, id, { ...(data || {}), appId })._id;
        } catch (e) {
            // Rocket.Chat logs and returns undefined.
            this.scheduler.errors.push(`scheduleOnce(${id}): ${(e as Error).message}`);
            return undefined;
        }
    }

    protected async scheduleRecurring(
        { id, interval, skipImmediate = false, data }: IRecurringSchedule,
        appId: string,
    ): Promise<undefined | string> {
        try {
            return this.scheduler.every(interval, id, { ...(data || {}), appId }, skipImmediate)._id;
        } catch (e) {
            this.scheduler.errors.push(`scheduleRecurring(${id}): ${(e as Error).message}`);
            return undefined;
        }
    }

    /** `<jobId>_<appId>` cancels that job; anything else (`<processor>_<appId>`) cancels by processor name. */
    protected async cancelJob(jobId: string): Promise<void> {
        const head = jobId.split('_')[0];
        if (/^[0-9a-f]{24}$/i.test(head)) {
            this.scheduler.cancel({ _id: head });
        } else {
            this.scheduler.cancel({ name: jobId });
        }
    }

    protected async cancelAllJobs(appId: string): Promise<void> {
        this.scheduler.cancel({ nameSuffix: `_${appId}` });
    }
}
