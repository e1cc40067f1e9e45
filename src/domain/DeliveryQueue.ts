import type { IHttp, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';
import { randomBytes } from 'crypto';

import { isMediaTypeAcceptedByRapidPro, RAPIDPRO_MAX_MEDIA_BYTES } from '../lib/media';
import { nextDelayMs } from '../lib/retryPolicy';
import type { BridgeConfig } from '../settings/BridgeConfig';
import { ConversationStore } from './ConversationStore';
import { KeyedMutex } from './KeyedMutex';
import { RapidProClient, type RapidProOutcome } from './RapidProClient';
import type { RoomNotifier } from './RoomNotifier';

export const DRAIN_PROCESSOR_ID = 'rapidpro-outbox-drain';

/** A file an agent sent, read from Rocket.Chat when its turn comes. */
export interface AgentFile {
    uploadId: string;
    name: string;
    contentType?: string;
    size?: number;
    /** Where an agent can open it; sent to the contact when RapidPro will not take the file. */
    link?: string;
}

export type OutboundDraft =
    | { kind: 'message'; text?: string; file?: AgentFile; summary: string }
    | { kind: 'contact_fields'; fields: Record<string, string | null>; summary: string }
    | { kind: 'flow_start'; flowUuid: string; params: Record<string, unknown>; summary: string };

export type OutboxItem = OutboundDraft & {
    id: string;
    contactUuid: string;
    roomId?: string;
    seq: number;
    createdAt: number;
    attempts: number;
    nextAttemptAt: number;
    leaseOwner?: string;
    leaseUntil?: number;
    /** Media uuid once the file reached RapidPro, so a retry does not upload it twice. */
    mediaUuid?: string;
    lastError?: string;
};

export interface DeliveryContext {
    read: IRead;
    modify: IModify;
    http: IHttp;
    persis: IPersistence;
    config: BridgeConfig;
}

export interface EnqueueOptions {
    /** Try now, within this call (an event), or leave it to a job (a webhook RapidPro waits on). */
    sendNow: boolean;
    /** The caller read that nothing of this contact waits in the outbox: no need to read it again. */
    outboxKnownEmpty?: boolean;
}

type AttemptResult = { kind: 'done' } | { kind: 'retry'; retryAfterMs?: number; reason: string } | { kind: 'rejected'; reason: string };

const LEASE_MS = 60000;
/**
 * Rocket.Chat gives an event or job call 30 s. No new item is started after this much time, so the
 * last attempt (a file: upload then message, each at most request_timeout_ms, capped at 10 s) still
 * ends in time and well within the 60 s lease.
 */
export const DRAIN_BUDGET_MS = 5000;

function misc(key: string): RocketChatAssociationRecord {
    return new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, key);
}

const ALL_ITEMS = misc('outbox');

function contactKey(contactUuid: string): RocketChatAssociationRecord {
    return misc(`outbox:${contactUuid}`);
}

/**
 * Items are found by contact (the drain), by id, and by room: the room key is the one the
 * conversation record has, so an agent message reads its conversation and the room's waiting calls
 * in one go.
 */
function associations(item: { id: string; contactUuid: string; roomId?: string }): RocketChatAssociationRecord[] {
    const keys = [ALL_ITEMS, contactKey(item.contactUuid), misc(`outbox-item:${item.id}`)];
    return item.roomId ? keys.concat([ConversationStore.roomKey(item.roomId)]) : keys;
}

/**
 * The outbox: every call to RapidPro is written to app persistence before it is tried, sent in
 * order per contact, retried by the scheduler with backoff on network errors, 5xx and 429, and
 * reported to the agent when RapidPro refuses it or it stays undeliverable past the max age.
 * A contact whose head item waits does not hold up other contacts.
 */
export class DeliveryQueue {
    private readonly instanceId = randomBytes(8).toString('hex');
    private readonly mutex = new KeyedMutex();
    /** Last sequence number handed out: strictly increasing in this instance, close to time across instances. */
    private lastSeq = 0;

    constructor(
        private readonly notifier: RoomNotifier,
        private readonly now: () => number = Date.now,
    ) {}

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
        if (options.sendNow && options.outboxKnownEmpty) {
            // Nothing of this contact waits: write these calls, then send them, with no read between.
            await this.mutex.run(contactUuid, async () => {
                const created = await this.create(ctx, contactUuid, roomId, drafts, true);
                await this.sendInOrder(ctx, contactUuid, created, {});
            });
            return;
        }
        const now = this.now();
        await this.create(ctx, contactUuid, roomId, drafts, options.sendNow);
        if (options.sendNow) {
            await this.drain(ctx, contactUuid);
        } else {
            await this.scheduleDrain(ctx, contactUuid, now);
        }
    }

    /** Writes the drafts as outbox items, in order; leased to this instance when it sends them now. */
    private async create(
        ctx: DeliveryContext,
        contactUuid: string,
        roomId: string | undefined,
        drafts: OutboundDraft[],
        leased: boolean,
    ): Promise<OutboxItem[]> {
        const now = this.now();
        const created: OutboxItem[] = [];
        for (const draft of drafts) {
            this.lastSeq = Math.max(this.lastSeq + 1, now * 1000);
            const seq = this.lastSeq;
            const item: OutboxItem = {
                ...draft,
                id: `${seq}-${randomBytes(4).toString('hex')}`,
                contactUuid,
                roomId,
                seq,
                createdAt: now,
                attempts: 0,
                nextAttemptAt: now,
                // Leased to this instance from birth when it is about to be sent from here.
                leaseOwner: leased ? this.instanceId : undefined,
                leaseUntil: leased ? now + LEASE_MS : undefined,
            };
            await ctx.persis.createWithAssociations(item, associations(item));
            created.push(item);
        }
        return created;
    }

    /**
     * Sends the contact's due items in order; stops at the first one that must wait. A scheduled job
     * passes the time it was scheduled for (`dueBy`): the scheduler decided the time has come, even
     * if this instance's clock is a little behind the one that ran the job.
     */
    async drain(ctx: DeliveryContext, contactUuid: string, options: { budgetMs?: number; dueBy?: number } = {}): Promise<void> {
        await this.mutex.run(contactUuid, async () => {
            const items = ((await ctx.read.getPersistenceReader().readByAssociation(contactKey(contactUuid))) as OutboxItem[]).sort(
                (a, b) => a.seq - b.seq,
            );
            await this.sendInOrder(ctx, contactUuid, items, options);
        });
    }

    /** Whether any call of the contact waits in the outbox (a new chat's messages must queue behind it). */
    async hasPending(read: IRead, contactUuid: string): Promise<boolean> {
        return (await read.getPersistenceReader().readByAssociation(contactKey(contactUuid))).length > 0;
    }

    /** The loop of `drain`, over items already read (or just written). Runs under the contact's lock. */
    private async sendInOrder(
        ctx: DeliveryContext,
        contactUuid: string,
        items: OutboxItem[],
        options: { budgetMs?: number; dueBy?: number },
    ): Promise<void> {
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
                await this.releaseOwnLeases(ctx, items.slice(index + 1));
                return; // its retry is scheduled; later items wait behind it
            }
            if (item.leaseOwner !== this.instanceId && !(await this.takeLease(ctx, item, now))) {
                // Another instance is sending it: it sends what follows too. Check again after its lease.
                await this.releaseOwnLeases(ctx, items.slice(index + 1));
                await this.scheduleDrain(ctx, contactUuid, Math.max(now, item.leaseUntil || 0) + 1000);
                return;
            }
            const result = await this.attempt(ctx, item);
            if (result.kind === 'retry') {
                const attempts = item.attempts + 1;
                if (clock() - item.createdAt >= ctx.config.retryMaxAgeMs) {
                    await this.notifier.notifyAgent(
                        ctx,
                        item.roomId,
                        `Could not deliver to the contact after ${attempts} attempts (${result.reason}); gave up: ${item.summary}`,
                    );
                    await this.remove(ctx, item);
                    continue;
                }
                const nextAttemptAt = clock() + nextDelayMs(attempts, result.retryAfterMs);
                const waiting: OutboxItem = {
                    ...item,
                    attempts,
                    nextAttemptAt,
                    leaseOwner: undefined,
                    leaseUntil: undefined,
                    lastError: result.reason,
                };
                await ctx.persis.updateByAssociations(associations(waiting), waiting);
                await this.stop(ctx, contactUuid, items.slice(index + 1), nextAttemptAt);
                return;
            }
            if (result.kind === 'rejected') {
                await this.notifier.notifyAgent(ctx, item.roomId, `Not delivered to the contact: ${result.reason} (${item.summary})`);
            }
            await this.remove(ctx, item);
        }
    }

    /**
     * Leaves the rest for a job at `at`: items this instance leased are released first, so whichever
     * instance runs the job sends them without waiting for the lease to expire.
     */
    private async stop(ctx: DeliveryContext, contactUuid: string, rest: OutboxItem[], at: number): Promise<void> {
        await this.releaseOwnLeases(ctx, rest);
        await this.scheduleDrain(ctx, contactUuid, at);
    }

    private async releaseOwnLeases(ctx: DeliveryContext, items: OutboxItem[]): Promise<void> {
        for (const item of items) {
            if (item.leaseOwner === this.instanceId) {
                const released: OutboxItem = { ...item, leaseOwner: undefined, leaseUntil: undefined };
                await ctx.persis.updateByAssociations(associations(released), released);
            }
        }
    }

    /** Contacts with items that are due and not being sent (for the periodic sweep). */
    async dueContacts(read: IRead): Promise<string[]> {
        const now = this.now();
        const items = (await read.getPersistenceReader().readByAssociation(ALL_ITEMS)) as OutboxItem[];
        const due = items.filter((item) => item.nextAttemptAt <= now && (!item.leaseUntil || item.leaseUntil <= now));
        return due.map((item) => item.contactUuid).filter((contact, index, all) => all.indexOf(contact) === index);
    }

    /**
     * Leases the item to this instance. The item is read again first (it may have been sent or
     * leased since the drain read it), then the lease is written and read back: with several
     * instances the last writer wins. App persistence has no compare-and-swap, so this narrows the
     * race to the moment between two writes rather than closing it. Items this instance created are
     * leased from birth and skip this.
     */
    private async takeLease(ctx: DeliveryContext, item: OutboxItem, now: number): Promise<boolean> {
        const byId = misc(`outbox-item:${item.id}`);
        const [current] = (await ctx.read.getPersistenceReader().readByAssociation(byId)) as OutboxItem[];
        if (!current || (current.leaseOwner && current.leaseOwner !== this.instanceId && (current.leaseUntil || 0) > now)) {
            if (current) {
                item.leaseUntil = current.leaseUntil;
            }
            return false;
        }
        Object.assign(item, current, { leaseOwner: this.instanceId, leaseUntil: now + LEASE_MS });
        await ctx.persis.updateByAssociations(associations(item), item);
        const [stored] = (await ctx.read.getPersistenceReader().readByAssociation(byId)) as OutboxItem[];
        return !!stored && stored.leaseOwner === this.instanceId;
    }

    private async remove(ctx: DeliveryContext, item: OutboxItem): Promise<void> {
        await ctx.persis.removeByAssociations(associations(item));
    }

    private async scheduleDrain(ctx: DeliveryContext, contactUuid: string, at: number): Promise<void> {
        const when = Math.max(at, this.now());
        await ctx.modify.getScheduler().scheduleOnce({ id: DRAIN_PROCESSOR_ID, when: new Date(when), data: { contactUuid, dueBy: when } });
    }

    private client(ctx: DeliveryContext): RapidProClient {
        return new RapidProClient(ctx.http, {
            baseUrl: ctx.config.rapidProUrl,
            token: ctx.config.rapidProToken,
            timeoutMs: ctx.config.requestTimeoutMs,
        });
    }

    private async attempt(ctx: DeliveryContext, item: OutboxItem): Promise<AttemptResult> {
        if (!ctx.config.rapidProUrl || !ctx.config.rapidProToken) {
            return { kind: 'retry', reason: 'RapidPro is not configured (rapidpro_url, rapidpro_token)' };
        }
        const client = this.client(ctx);
        switch (item.kind) {
            case 'contact_fields':
                return toAttempt(await client.updateContactFields(item.contactUuid, item.fields));
            case 'flow_start':
                return toAttempt(await client.startFlow(item.flowUuid, item.contactUuid, item.params));
            case 'message':
                return this.attemptMessage(ctx, client, item);
        }
        return { kind: 'rejected', reason: 'unknown outbox item' };
    }

    private async attemptMessage(
        ctx: DeliveryContext,
        client: RapidProClient,
        item: OutboxItem & { kind: 'message' },
    ): Promise<AttemptResult> {
        let text = item.text;
        const attachments: string[] = [];
        if (item.file && !item.mediaUuid) {
            const uploaded = await this.uploadFile(ctx, client, item);
            if (uploaded.kind === 'retry') {
                return uploaded;
            }
            if (uploaded.kind === 'uploaded') {
                item.mediaUuid = uploaded.mediaUuid;
            } else {
                // RapidPro will not take this file: send its name and link instead, and tell the agent (once).
                const file = item.file;
                const link = file.link ? `${file.name}: ${file.link}` : file.name;
                text = text ? `${text}\n${link}` : link;
                item.text = text;
                item.file = undefined;
                await this.notifier.notifyAgent(
                    ctx,
                    item.roomId,
                    `The file "${file.name}" was sent to the contact as a link, not as an attachment: ${uploaded.reason}`,
                );
            }
            // Progress is saved so a retry neither uploads the file again nor repeats the notice.
            await ctx.persis.updateByAssociations(associations(item), item);
        }
        if (item.mediaUuid) {
            attachments.push(item.mediaUuid);
        }
        if (!text && attachments.length === 0) {
            return { kind: 'done' };
        }
        const message = {
            contact: item.contactUuid,
            text: text || undefined,
            attachments: attachments.length > 0 ? attachments : undefined,
        };
        const outcome = ctx.config.sendMode === 'broadcasts' ? await client.sendBroadcast(message) : await client.sendMessage(message);
        return toAttempt(outcome);
    }

    private async uploadFile(
        ctx: DeliveryContext,
        client: RapidProClient,
        item: OutboxItem & { kind: 'message' },
    ): Promise<
        | { kind: 'uploaded'; mediaUuid: string }
        | { kind: 'retry'; retryAfterMs?: number; reason: string }
        | { kind: 'refused'; reason: string }
    > {
        const file = item.file as AgentFile;
        if (!isMediaTypeAcceptedByRapidPro(file.contentType)) {
            return { kind: 'refused', reason: `RapidPro does not take files of type ${file.contentType || 'unknown'}` };
        }
        if (file.size !== undefined && file.size > RAPIDPRO_MAX_MEDIA_BYTES) {
            return { kind: 'refused', reason: 'the file is larger than the 25 MB RapidPro takes' };
        }
        let bytes: Buffer;
        try {
            bytes = await ctx.read.getUploadReader().getBufferById(file.uploadId);
        } catch (_error) {
            return { kind: 'refused', reason: 'Rocket.Chat could not read the file' };
        }
        if (!bytes || bytes.length > RAPIDPRO_MAX_MEDIA_BYTES) {
            return {
                kind: 'refused',
                reason: bytes ? 'the file is larger than the 25 MB RapidPro takes' : 'Rocket.Chat could not read the file',
            };
        }
        const outcome = await client.uploadMedia(file.name, file.contentType as string, bytes);
        if (outcome.kind === 'ok' && outcome.body && outcome.body.uuid) {
            return { kind: 'uploaded', mediaUuid: outcome.body.uuid };
        }
        if (outcome.kind === 'retry') {
            return outcome;
        }
        return { kind: 'refused', reason: outcome.kind === 'rejected' ? outcome.reason : 'RapidPro did not return a media id' };
    }
}

function toAttempt(outcome: RapidProOutcome): AttemptResult {
    if (outcome.kind === 'ok') {
        return { kind: 'done' };
    }
    if (outcome.kind === 'retry') {
        return { kind: 'retry', retryAfterMs: outcome.retryAfterMs, reason: outcome.reason };
    }
    return { kind: 'rejected', reason: outcome.reason };
}
