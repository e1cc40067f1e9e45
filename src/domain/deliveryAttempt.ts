import type { IHttp, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';

import { MAX_MEDIA_BYTES, MAX_MEDIA_LABEL } from '../lib/limits';
import { errorText, type Logger } from '../lib/log';
import { isMediaTypeAcceptedByRapidPro } from '../lib/media';
import type { BridgeConfig } from '../settings/BridgeConfig';
import type { AgentFile, MessageItem, OutboxItem } from './outboxItems';
import type { OutboxStore } from './OutboxStore';
import type { RapidProClient, RapidProOutcome } from './RapidProClient';
import type { RapidProClientFactory } from './RapidProClientFactory';
import type { RoomNotifier } from './RoomNotifier';
import type { RateScope } from './ScopePauses';
import { SentLog, sentLogKey } from './SentLog';

/** The accessors of the call (event, endpoint or job) that sends, and the settings. */
export interface DeliveryContext {
    read: IRead;
    modify: IModify;
    http: IHttp;
    persis: IPersistence;
    config: BridgeConfig;
}

/** How one try of an item ended. `throttled`: RapidPro answered 429 on `scope` (its budget is spent). */
export type AttemptResult =
    /** `logged`: the sent log's write, still running (it never rejects): awaited with the forward log's. */
    | { kind: 'done'; logged?: Promise<void> }
    | { kind: 'retry'; retryAfterMs?: number; reason: string; throttled?: RateScope }
    | { kind: 'rejected'; reason: string };

/** How this try goes: a merged text or merged fields in place of the item's own (see backlogPlan), the endpoint. */
export interface AttemptOptions {
    text?: string;
    fields?: Record<string, string | null>;
    viaBroadcast?: boolean;
}

type Upload =
    | { kind: 'uploaded'; mediaUuid: string }
    | { kind: 'retry'; retryAfterMs?: number; reason: string; throttled?: RateScope }
    | { kind: 'refused'; reason: string };

/** One try of one outbox item: the RapidPro call it holds (a file first goes to media.json). */
export class DeliveryAttempts {
    private readonly sentLog = new SentLog();

    constructor(
        private readonly store: OutboxStore,
        private readonly notifier: RoomNotifier,
        private readonly clients: RapidProClientFactory,
        private readonly logger: Logger,
    ) {}

    async attempt(ctx: DeliveryContext, item: OutboxItem, options: AttemptOptions = {}): Promise<AttemptResult> {
        const client = this.clients.clientFor(ctx.http, ctx.config);
        if (!client) {
            return { kind: 'retry', reason: 'RapidPro is not configured (rapidpro_url, rapidpro_token)' };
        }
        switch (item.kind) {
            case 'contact_fields':
                return toAttempt(await client.updateContactFields(item.contactUuid, options.fields || item.fields), 'v2.contacts');
            case 'flow_start':
                return toAttempt(await client.startFlow(item.flowUuid, item.contactUuid, item.params), 'v2');
            case 'message':
                return this.attemptMessage(ctx, client, item, options);
        }
        return { kind: 'rejected', reason: 'unknown outbox item' };
    }

    private async attemptMessage(
        ctx: DeliveryContext,
        client: RapidProClient,
        item: MessageItem,
        options: AttemptOptions,
    ): Promise<AttemptResult> {
        let text = options.text !== undefined ? options.text : item.text;
        const attachments: string[] = [];
        if (item.file && !item.mediaUuid) {
            const uploaded = await this.uploadFile(ctx, client, item.file);
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
                this.logger.warn(`Outbox: a file for room ${item.roomId} goes to the contact as a link (${uploaded.reason})`);
                await this.notifier.notifyAgent(
                    ctx,
                    item.roomId,
                    `The file "${file.name}" was sent to the contact as a link, not as an attachment: ${uploaded.reason}`,
                );
            }
            // Progress is saved so a retry neither uploads the file again nor repeats the notice.
            await this.store.save(ctx.persis, item);
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
        const viaBroadcast = options.viaBroadcast !== undefined ? options.viaBroadcast : ctx.config.sendMode === 'broadcasts';
        const outcome = viaBroadcast ? await client.sendBroadcast(message) : await client.sendMessage(message);
        if (outcome.kind === 'ok') {
            return {
                kind: 'done',
                logged: this.logSent(ctx, item, text || (item.file ? item.file.name : ''), sentLogKey(outcome.body, viaBroadcast)),
            };
        }
        return toAttempt(outcome, viaBroadcast ? 'v2' : 'v2.messages');
    }

    /** Keeps RapidPro's uuid of the part, for the failure watcher. Never turns the success into a retry (it would send twice). */
    private async logSent(ctx: DeliveryContext, item: MessageItem, text: string, key: string | undefined): Promise<void> {
        if (!key) {
            return;
        }
        try {
            await this.sentLog.record(ctx.persis, { key, contactUuid: item.contactUuid, roomId: item.roomId, text, sentAt: Date.now() });
        } catch (error) {
            this.logger.warn(`Outbox: RapidPro's id of a message for room ${item.roomId} was not kept: ${errorText(error)}`);
        }
    }

    private async uploadFile(ctx: DeliveryContext, client: RapidProClient, file: AgentFile): Promise<Upload> {
        const tooLarge = `the file is larger than the ${MAX_MEDIA_LABEL} RapidPro takes`;
        if (!isMediaTypeAcceptedByRapidPro(file.contentType)) {
            return { kind: 'refused', reason: `RapidPro does not take files of type ${file.contentType || 'unknown'}` };
        }
        if (file.size !== undefined && file.size > MAX_MEDIA_BYTES) {
            return { kind: 'refused', reason: tooLarge };
        }
        let bytes: Buffer;
        try {
            bytes = await ctx.read.getUploadReader().getBufferById(file.uploadId);
        } catch (_error) {
            return { kind: 'refused', reason: 'Rocket.Chat could not read the file' };
        }
        if (!bytes || bytes.length > MAX_MEDIA_BYTES) {
            return { kind: 'refused', reason: bytes ? tooLarge : 'Rocket.Chat could not read the file' };
        }
        const outcome = await client.uploadMedia(file.name, file.contentType as string, bytes);
        if (outcome.kind === 'ok' && outcome.body && outcome.body.uuid) {
            return { kind: 'uploaded', mediaUuid: outcome.body.uuid };
        }
        if (outcome.kind === 'retry') {
            return { ...outcome, throttled: outcome.status === 429 ? 'v2' : undefined };
        }
        return { kind: 'refused', reason: outcome.kind === 'rejected' ? outcome.reason : 'RapidPro did not return a media id' };
    }
}

function toAttempt(outcome: RapidProOutcome, scope: RateScope): AttemptResult {
    if (outcome.kind === 'ok') {
        return { kind: 'done' };
    }
    if (outcome.kind === 'retry') {
        const throttled = outcome.status === 429 ? scope : undefined;
        return { kind: 'retry', retryAfterMs: outcome.retryAfterMs, reason: outcome.reason, throttled };
    }
    return { kind: 'rejected', reason: outcome.reason };
}
