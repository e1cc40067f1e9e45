import type { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';

import {
    FAILURE_WATCH_MAX_PAGES,
    FAILURE_WATCH_MS,
    FAILURE_WATCH_QUIET_MS,
    FAILURE_WATCH_RECENT_MS,
    FAILURE_WATCH_SKEW_MS,
} from '../lib/limits';
import { errorText, type Logger } from '../lib/log';
import { failedNote, isWindowClosed } from '../lib/reach';
import { ConversationStore } from './ConversationStore';
import type { DeliveryContext } from './deliveryAttempt';
import type { RapidProMessage, RapidProOutcome } from './RapidProClient';

type FailedPage = { results?: RapidProMessage[]; next?: string | null };
import type { RapidProClientFactory } from './RapidProClientFactory';
import { associationsOf, isRecordOf, Keys, RecordKind } from './records';
import type { RoomNotifier } from './RoomNotifier';
import { SentLog, type SentLogEntry } from './SentLog';

/** The watcher's memory, shared by every instance. */
export interface FailureWatchState {
    record: typeof RecordKind.FailureWatch;
    lastLookAt?: number;
    /** A walk stopped at its page limit: the next run goes on below this created_on (ISO). */
    resumeBefore?: string;
}

const isState = isRecordOf<FailureWatchState>(RecordKind.FailureWatch);

export interface WatchRun {
    /** Requests made to RapidPro. */
    calls: number;
    reported: number;
}

/**
 * Finds the parts RapidPro reported `failed` (a closed WhatsApp window, a number that left the
 * channel, an outage) and tells the room, once. It lists `messages.json?folder=failed` from the
 * creation time of the oldest part still watched (RapidPro filters `after` on created_on, not on
 * when the message failed, so "since the last look" would miss a message that failed later).
 */
export class FailureWatcher {
    private readonly log = new SentLog();

    constructor(
        private readonly notifier: RoomNotifier,
        private readonly clients: RapidProClientFactory,
        private readonly logger: Logger,
        private readonly now: () => number = Date.now,
    ) {}

    async run(ctx: DeliveryContext): Promise<WatchRun> {
        const reader = ctx.read.getPersistenceReader();
        const now = this.now();
        const watched: SentLogEntry[] = [];
        for (const entry of await this.log.all(reader)) {
            if (now - entry.sentAt > FAILURE_WATCH_MS) {
                await this.log.remove(ctx.persis, entry); // old enough: RapidPro has long decided
            } else if (!entry.reportedAt) {
                watched.push(entry);
            }
        }
        const none = { calls: 0, reported: 0 };
        if (watched.length === 0) {
            return none; // nothing sent lately: no call at all
        }
        const state = await this.state(reader);
        const newest = Math.max(...watched.map((entry) => entry.sentAt));
        if (now - newest > FAILURE_WATCH_RECENT_MS && state.lastLookAt !== undefined && now - state.lastLookAt < FAILURE_WATCH_QUIET_MS) {
            return none; // only older parts wait for a verdict: an hourly look is enough
        }
        const client = this.clients.clientFor(ctx.http, ctx.config);
        if (!client) {
            return none;
        }
        const after = new Date(Math.min(...watched.map((entry) => entry.sentAt)) - FAILURE_WATCH_SKEW_MS);
        const resume = state.resumeBefore ? Date.parse(state.resumeBefore) : NaN;
        const before = Number.isFinite(resume) && resume > after.getTime() ? new Date(resume) : undefined;
        const byKey = new Map(watched.map((entry) => [entry.key, entry] as [string, SentLogEntry]));
        const failed: SentLogEntry[] = [];
        let page: { after: Date; before?: Date } | { next: string } = { after, before };
        let calls = 0;
        let resumeBefore: string | undefined;
        while (calls < FAILURE_WATCH_MAX_PAGES) {
            if ('next' in page && !client.isOwnPageLink(page.next)) {
                this.logger.warn('Failure watch: RapidPro gave a page link to another server; not followed');
                break;
            }
            const outcome: RapidProOutcome<FailedPage> = await client.listFailedMessages(page);
            calls++;
            if (outcome.kind !== 'ok') {
                this.logger.warn(`Failure watch: RapidPro's failed messages not read (${outcome.reason}); the next run tries again`);
                resumeBefore = state.resumeBefore;
                break;
            }
            const results = outcome.body?.results || [];
            for (const message of results) {
                const entry = byKey.get(keyOf(message)) || byKey.get(broadcastKeyOf(message));
                if (entry) {
                    failed.push(entry);
                    byKey.delete(entry.key);
                }
            }
            const next: string | null | undefined = outcome.body?.next;
            if (!next) {
                break;
            }
            if (calls >= FAILURE_WATCH_MAX_PAGES) {
                // Bounded per run: the next run goes on from the oldest message seen.
                const last = results[results.length - 1];
                resumeBefore = last?.created_on;
                this.logger.warn('Failure watch: many failed messages in RapidPro; the next run reads on');
                break;
            }
            page = { next };
        }
        await this.saveState(ctx.persis, { record: RecordKind.FailureWatch, lastLookAt: now, resumeBefore });
        let reported = 0;
        for (const entry of failed) {
            if (await this.report(ctx, entry)) {
                reported++;
            }
        }
        return { calls, reported };
    }

    /**
     * Once per part: the entry is marked reported before the note is posted, so a later run, on this
     * instance or another, skips it. Rocket.Chat runs a recurring job on one instance at a time, so a
     * second note needs two runs overlapping within the instant between this read and this write.
     * A note that cannot be posted is logged for the admin (RoomNotifier), not retried.
     */
    private async report(ctx: DeliveryContext, seen: SentLogEntry): Promise<boolean> {
        const reader = ctx.read.getPersistenceReader();
        const entry = await this.log.byKey(reader, seen.key);
        if (!entry || entry.reportedAt) {
            return false;
        }
        await this.log.markReported(ctx.persis, entry, this.now());
        let windowClosed = false;
        let scheme: string | undefined;
        try {
            const conversation = entry.roomId ? await new ConversationStore(reader).findByRoom(entry.roomId) : undefined;
            if (conversation) {
                scheme = conversation.urnScheme;
                // Only when the bridge knew the contact's last message at the time of sending.
                windowClosed =
                    conversation.lastInboundAt !== undefined &&
                    conversation.lastInboundAt <= entry.sentAt &&
                    isWindowClosed(
                        { scheme, lastInboundAt: conversation.lastInboundAt },
                        { windowMs: ctx.config.windowMs, schemes: ctx.config.windowSchemes },
                        entry.sentAt,
                    );
            }
        } catch (error) {
            this.logger.warn(`Failure watch: why a message failed could not be told: ${errorText(error)}`);
        }
        this.logger.warn(`Failure watch: RapidPro reports a message for room ${entry.roomId} failed`);
        await this.notifier.notifyAgent(ctx, entry.roomId, failedNote(entry.textStart, { windowClosed, scheme }));
        return true;
    }

    private async state(reader: IPersistenceRead): Promise<FailureWatchState> {
        const [state] = (await reader.readByAssociation(Keys.failureWatch())).filter(isState);
        return state || { record: RecordKind.FailureWatch };
    }

    private async saveState(persis: IPersistence, state: FailureWatchState): Promise<void> {
        await persis.updateByAssociations(associationsOf.failureWatch(), state, true);
    }
}

function keyOf(message: RapidProMessage): string {
    return message.uuid || '';
}

function broadcastKeyOf(message: RapidProMessage): string {
    return message.broadcast !== undefined && message.broadcast !== null ? `broadcast:${message.broadcast}` : '';
}
