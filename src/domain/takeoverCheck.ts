import { CLAIM_TTL_MS } from '../lib/limits';
import type { Logger } from '../lib/log';
import { sentPrefixLength } from './backlogPlan';
import type { ContactClaim } from './ContactClaims';
import type { DeliveryContext } from './deliveryAttempt';
import { type ForwardLog, ForwardLogs, newForwardLog, partKey, withSentPart } from './ForwardLog';
import type { OutboxItem } from './outboxItems';
import type { OutboxStore } from './OutboxStore';
import type { RapidProClientFactory } from './RapidProClientFactory';

/**
 * An instance stopped while it held a contact's send claim: the call it was making may have reached
 * RapidPro before the instance could write it down. Before sending that call again, RapidPro's own
 * record is asked (one GET of the contact's messages since the claim): a text message it already
 * has is taken as sent. One call per takeover, never on the normal path.
 */
export class TakeoverCheck {
    constructor(
        private readonly store: OutboxStore,
        private readonly clients: RapidProClientFactory,
        private readonly logger: Logger,
    ) {}

    /** The items left to send, once the one a stopped instance may have sent is settled. */
    async settle(
        ctx: DeliveryContext,
        contactUuid: string,
        items: OutboxItem[],
        stale: ContactClaim[],
        logs: Map<string, ForwardLog>,
    ): Promise<OutboxItem[]> {
        const head = items[0];
        const since = Math.min(...stale.map((claim) => claim.at));
        if (head?.kind !== 'message' || !head.text || head.createdAt > since + CLAIM_TTL_MS) {
            return items;
        }
        const client = this.clients.clientFor(ctx.http, ctx.config);
        if (!client) {
            return items;
        }
        const listed = await client.listMessages(contactUuid, new Date(Math.min(since, head.createdAt) - 1000));
        if (listed.kind !== 'ok') {
            return items; // sent again: a possible duplicate rather than a possible loss
        }
        // The head alone, or the first waiting replies merged into one (coalesce_backlog).
        let sent = 0;
        for (const message of listed.body?.results || []) {
            if (message.direction === 'out' && typeof message.text === 'string') {
                sent = Math.max(sent, sentPrefixLength(items, message.text));
            }
        }
        if (sent === 0) {
            return items;
        }
        this.logger.warn(
            `Outbox: RapidPro already has ${sent} message(s) a stopped instance was sending for room ${head.roomId}; not sent again`,
        );
        for (const done of items.slice(0, sent)) {
            if (done.source && done.roomId) {
                const log = logs.get(done.roomId) || newForwardLog(contactUuid, done.roomId, (done.at || done.createdAt) - 1);
                const after = withSentPart(log, partKey(done.source.messageId, done.source.part), done.at);
                logs.set(done.roomId, after);
                await ForwardLogs.save(ctx.persis, after);
            }
        }
        for (const done of items.slice(0, sent)) {
            await this.store.remove(ctx.persis, done);
        }
        return items.slice(sent);
    }
}
