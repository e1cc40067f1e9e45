import type { IMessageRaw } from '@rocket.chat/apps-engine/definition/messages';

import type { CatchUpOptions, CaughtUp, DeliveryContext, OutboundDraft, RoomCatchUp, RoomPage } from '../domain/DeliveryQueue';
import { type ForwardLog, hasSentAnyPart } from '../domain/ForwardLog';
import {
    CATCH_UP_FAR_LOOK_EVERY_MS,
    CATCH_UP_FIRST_PAGE,
    CATCH_UP_PAGE,
    CATCH_UP_PAGES,
    CATCH_UP_RECENT_SLACK_MS,
    CATCH_UP_SLACK_MS,
    REMEMBERED_PER_INSTANCE,
} from '../lib/limits';
import { RecentMap } from '../lib/recentMap';
import { agentFilesOf } from './agentFiles';
import { roomMessageDrafts } from './agentDrafts';
import type { AgentFileRef } from './agentMessageFilter';

function createdAtOf(message: IMessageRaw): number {
    return new Date(message.createdAt).getTime();
}

/** The files of a listed message (`files` on new servers, `file` on older ones). */
function filesOfRaw(message: IMessageRaw): AgentFileRef[] {
    const withFiles = message as IMessageRaw & { files?: Array<{ _id?: string; name?: string; type?: string }> };
    const files = withFiles.files && withFiles.files.length > 0 ? withFiles.files : message.file ? [message.file] : [];
    return files.filter((file) => file?._id).map((file) => ({ id: file._id as string, name: file.name || 'file', type: file.type }));
}

/**
 * Reads a room's newest messages (Rocket.Chat's room reader) and turns the agent messages the
 * forward log has not seen, and no waiting call carries, into drafts, oldest first. Never one from
 * before the handover (`since`), after the close, by the contact, a system message or the app's own.
 */
export class AgentRoomCatchUp implements RoomCatchUp {
    /** The app's own user never changes while the app runs: read once. */
    private appUserId?: string;
    /** How many messages the last look at each room had to read to reach its floor (busy rooms need more). */
    private readonly reachOf = new RecentMap<string, number>(REMEMBERED_PER_INSTANCE);
    /** When this instance last looked far back (CATCH_UP_SLACK_MS) in each room. */
    private readonly farLookAt = new RecentMap<string, number>(REMEMBERED_PER_INSTANCE);

    constructor(private readonly now: () => number = Date.now) {}

    /** Starts reading the room's newest messages at once: the first page of a `missed` that follows. */
    prefetch(ctx: DeliveryContext, roomId: string): RoomPage {
        const limit = this.firstPageOf(roomId);
        const messages = this.page(ctx, roomId, limit, 0).catch(() => undefined);
        return { roomId, limit, messages };
    }

    async missed(ctx: DeliveryContext, log: ForwardLog, waitingMessageIds: Set<string>, options: CatchUpOptions = {}): Promise<CaughtUp> {
        const { closedAt, prefetched, thorough } = options;
        if (this.appUserId === undefined) {
            const appUser = await ctx.read.getUserReader().getAppUser();
            this.appUserId = appUser ? appUser.id : '';
        }
        const appUserId = this.appUserId;
        // Two messages written at once on two instances may be stamped a little out of order: the
        // sweep, and each room at least every few seconds while replies flow, looks far back; the
        // looks in between only at the last moments, so a busy room stays one short read.
        const now = this.now();
        const far = thorough || now - (this.farLookAt.get(log.roomId) ?? Number.NEGATIVE_INFINITY) >= CATCH_UP_FAR_LOOK_EVERY_MS;
        if (far) {
            this.farLookAt.set(log.roomId, now);
        }
        const floor = Math.max(log.since, log.mark - (far ? CATCH_UP_SLACK_MS : CATCH_UP_RECENT_SLACK_MS));
        const listed: IMessageRaw[] = [];
        // Usually one or two messages are new: a short first look, longer pages only when it was all new.
        const early = prefetched && prefetched.roomId === log.roomId ? prefetched : undefined;
        for (let page = 0; page < CATCH_UP_PAGES; page++) {
            const limit = page === 0 ? (early ? early.limit : this.firstPageOf(log.roomId)) : CATCH_UP_PAGE;
            const batch = (page === 0 && early && (await early.messages)) || (await this.page(ctx, log.roomId, limit, listed.length));
            listed.push(...batch);
            if (batch.length < limit || batch.some((message) => createdAtOf(message) <= floor)) {
                break;
            }
        }
        if (!far) {
            this.reachOf.set(log.roomId, listed.filter((message) => createdAtOf(message) > floor).length);
        }
        // Oldest first, as the room shows them (two messages of the same millisecond keep the room's order).
        const inRoomOrder = listed.reverse();
        const missed = inRoomOrder
            .filter((message) => {
                const at = createdAtOf(message);
                if (at <= floor || (closedAt !== undefined && at > closedAt) || message.threadId) {
                    return false;
                }
                if (waitingMessageIds.has(message.id) || hasSentAnyPart(log, message.id)) {
                    return false;
                }
                const raw = message as IMessageRaw & { type?: string; token?: string };
                const sender = message.sender as { _id?: string; id?: string } | undefined;
                const senderId = sender ? sender._id || sender.id : undefined;
                if (raw.type || raw.token || !senderId || senderId === log.visitorId || senderId === appUserId) {
                    return false; // system, the contact's, or the bridge's own
                }
                return !!(message.text?.trim() || filesOfRaw(message).length > 0);
            })
            .sort((a, b) => createdAtOf(a) - createdAtOf(b));
        const drafts: OutboundDraft[] = [];
        for (const message of missed) {
            const files = await agentFilesOf(filesOfRaw(message), ctx.read);
            drafts.push(...roomMessageDrafts(message.id, createdAtOf(message), message.text, files, ctx.config.maxTextLength));
        }
        return { drafts, order: inRoomOrder.map((message) => message.id) };
    }

    private page(ctx: DeliveryContext, roomId: string, limit: number, skip: number): Promise<IMessageRaw[]> {
        return ctx.read.getRoomReader().getMessages(roomId, { limit, skip, sort: { createdAt: 'desc' } });
    }

    /** A first page that reaches the floor in one read, as far as the room's last look tells. */
    private firstPageOf(roomId: string): number {
        return Math.min(CATCH_UP_PAGE * 2, Math.max(CATCH_UP_FIRST_PAGE, (this.reachOf.get(roomId) || 0) + CATCH_UP_FIRST_PAGE));
    }
}
