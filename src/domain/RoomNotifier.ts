import type { IModify, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import type { IRoom } from '@rocket.chat/apps-engine/definition/rooms';

import { errorText, type Logger } from '../lib/log';
import { DEFAULT_ROOM_MESSAGE_LIMIT, splitForRoom } from '../lib/roomTextSplitter';

interface RoomAccess {
    read: IRead;
    modify: IModify;
}

/**
 * Everything the app's own user writes into a room: notes for the agent (handoff summary,
 * transcript, delivery problems). A real server refuses any such message longer than its
 * `Message_MaxAllowedSize` (apps/meteor/app/lib/server/methods/sendMessage.ts), so each note is
 * split into ordered messages within the limit read from the server at the time of posting.
 */
export class RoomNotifier {
    constructor(private readonly logger: Logger) {}

    /** The server's current limit for one message (admins lower it); Rocket.Chat's default if unreadable. */
    async roomMessageLimit(read: IRead): Promise<number> {
        try {
            const value = Number(await read.getEnvironmentReader().getServerSettings().getValueById('Message_MaxAllowedSize'));
            return Number.isFinite(value) && value >= 1 ? Math.floor(value) : DEFAULT_ROOM_MESSAGE_LIMIT;
        } catch (_error) {
            return DEFAULT_ROOM_MESSAGE_LIMIT;
        }
    }

    /**
     * Posts the note as the app's user, in as many messages as the server's limit needs, in order.
     * Throws when a part could not be posted (the parts before it are in the room).
     */
    async postNote(ctx: RoomAccess, room: IRoom, text: string, limit?: number): Promise<void> {
        const appUser = await ctx.read.getUserReader().getAppUser();
        if (!appUser) {
            throw new Error('the app user is missing');
        }
        const parts = splitForRoom(text, limit || (await this.roomMessageLimit(ctx.read)));
        for (const part of parts) {
            if (!part.trim()) {
                continue; // a message of blanks only carries nothing
            }
            const builder = ctx.modify.getCreator().startMessage().setRoom(room).setSender(appUser).setText(part).setGroupable(false);
            await ctx.modify.getCreator().finish(builder);
        }
    }

    /** Tells the agents of a room what happened to something sent to the contact; never throws. */
    async notifyAgent(ctx: RoomAccess, roomId: string | undefined, text: string): Promise<void> {
        // Logs name the room, never the notice: it quotes what the agent wrote.
        if (!roomId) {
            this.logger.warn('A bridge notice had no room to go to');
            return;
        }
        try {
            const room = await ctx.read.getRoomReader().getById(roomId);
            if (!room) {
                this.logger.warn(`A bridge notice could not be posted: room ${roomId} is gone`);
                return;
            }
            await this.postNote(ctx, room, `:warning: ${text}`);
        } catch (error) {
            // The agent does not learn what happened to something sent to the contact: the admin must.
            this.logger.error(`Could not post a bridge notice in room ${roomId}: ${errorText(error)}`);
        }
    }
}
