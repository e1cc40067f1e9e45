import type { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';

import { associationsOf, isRecordOf, Keys, RecordKind } from './records';

const HOUR_MS = 3600 * 1000;
/** Hours counted: the admin sees the failures of the last 24 h. */
const HOURS_KEPT = 24;
/** A reason longer than this is cut (RapidPro's error bodies can be long). */
const MAX_REASON = 300;

/** One hour's undelivered calls. One record per hour keeps the count cheap to read and bounded. */
interface FailureHour {
    record: typeof RecordKind.DeliveryFailures;
    hour: number;
    count: number;
    lastAt: number;
    lastReason: string;
}

export interface FailureTally {
    count: number;
    lastAt?: number;
    lastReason?: string;
}

const isFailureHour = isRecordOf<FailureHour>(RecordKind.DeliveryFailures);

/**
 * Counts the calls RapidPro never got: refused (4xx) or given up after retry_max_age_hours. Counting
 * is best effort: two instances failing in the same instant may count one failure (no compare-and-set),
 * and a failure to count never stops a delivery.
 */
export class DeliveryFailures {
    constructor(private readonly now: () => number = Date.now) {}

    async record(reader: IPersistenceRead, persis: IPersistence, reason: string): Promise<void> {
        try {
            const now = this.now();
            const hour = Math.floor(now / HOUR_MS);
            const hours = await this.hours(reader);
            const current = hours.find((h) => h.hour === hour);
            const next: FailureHour = {
                record: RecordKind.DeliveryFailures,
                hour,
                count: (current ? current.count : 0) + 1,
                lastAt: now,
                lastReason: reason.slice(0, MAX_REASON),
            };
            await persis.updateByAssociations(associationsOf.deliveryFailures(hour), next, true);
            for (const old of hours.filter((h) => h.hour <= hour - HOURS_KEPT)) {
                await persis.removeByAssociations(associationsOf.deliveryFailures(old.hour));
            }
        } catch (_error) {
            // The tally is for the admin's overview; the delivery it describes has already been handled.
        }
    }

    /** Failures in the last 24 hours (by whole hours), with the newest one's time and reason. */
    async lastDay(reader: IPersistenceRead): Promise<FailureTally> {
        const hour = Math.floor(this.now() / HOUR_MS);
        const recent = (await this.hours(reader)).filter((h) => h.hour > hour - HOURS_KEPT);
        const newest = recent.sort((a, b) => b.lastAt - a.lastAt)[0];
        return {
            count: recent.reduce((sum, h) => sum + h.count, 0),
            lastAt: newest?.lastAt,
            lastReason: newest?.lastReason,
        };
    }

    private async hours(reader: IPersistenceRead): Promise<FailureHour[]> {
        return (await reader.readByAssociation(Keys.deliveryFailures())).filter(isFailureHour);
    }
}
