import type { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';

import { SCOPE_PAUSE_CACHE_MS, SCOPE_PRESSURE_MS } from '../lib/limits';
import { associationsOf, isRecordOf, Keys, RecordKind } from './records';

/** RapidPro's rate-limit scopes: each has its own hourly budget per workspace. */
export type RateScope = 'v2' | 'v2.contacts' | 'v2.messages';

/** What is persisted per scope: no call before `until` (shared by every instance). */
export interface ScopePause {
    record: typeof RecordKind.ScopePause;
    scope: RateScope;
    until: number;
}

const isScopePause = isRecordOf<ScopePause>(RecordKind.ScopePause);

/**
 * What this instance knows of RapidPro's budgets: a 429 pauses its scope until Retry-After for
 * every contact, so no drain spends requests learning the same thing again. Kept in memory and in
 * one small record per scope; the records are read at most once per SCOPE_PAUSE_CACHE_MS (a pause
 * another instance learnt in between costs at most one more 429, which RapidPro does not count).
 */
export class ScopePauses {
    /** Pauses in force. */
    private readonly until = new Map<RateScope, number>();
    /** The latest end of a pause learnt per scope (in force or not): a record is learnt once. */
    private readonly latest = new Map<RateScope, number>();
    private readAt = Number.NEGATIVE_INFINITY;

    /** Merges the pauses other instances wrote, when the cached view is older than SCOPE_PAUSE_CACHE_MS. */
    async refresh(reader: IPersistenceRead, now: number): Promise<void> {
        if (now - this.readAt < SCOPE_PAUSE_CACHE_MS && now >= this.readAt) {
            return;
        }
        this.readAt = now;
        const records = (await reader.readByAssociation(Keys.scopePauses())).filter(isScopePause);
        for (const record of records) {
            this.learn(record.scope, record.until);
        }
    }

    /** When the scope may be called again; undefined when it may be now. */
    pausedUntil(scope: RateScope, now: number): number | undefined {
        const until = this.until.get(scope);
        return until !== undefined && until > now ? until : undefined;
    }

    /** Paused now or lately: the budget is short, so contacts take turns. */
    underPressure(scope: RateScope, now: number): boolean {
        const latest = this.latest.get(scope);
        return latest !== undefined && now - latest < SCOPE_PRESSURE_MS;
    }

    /**
     * RapidPro took a call of the scope: its budget is back, whatever this instance's clock says (a
     * scheduler whose clock is ahead ran the retry); the pause's record is not learnt again.
     */
    resumed(scope: RateScope): void {
        this.until.delete(scope);
    }

    /** RapidPro answered 429 on the scope: remembered here and for the other instances. False: known already. */
    async pause(persis: IPersistence, scope: RateScope, until: number): Promise<boolean> {
        if (!this.learn(scope, until)) {
            return false; // no write
        }
        const record: ScopePause = { record: RecordKind.ScopePause, scope, until };
        await persis.updateByAssociations(associationsOf.scopePause(scope), record, true);
        return true;
    }

    private learn(scope: RateScope, until: number): boolean {
        const known = this.latest.get(scope);
        if (known !== undefined && known >= until) {
            return false;
        }
        this.latest.set(scope, until);
        this.until.set(scope, until);
        return true;
    }
}
