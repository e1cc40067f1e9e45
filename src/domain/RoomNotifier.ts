import { IModify, IRead } from '@rocket.chat/apps-engine/definition/accessors';

/** Tells the agents of a room what happened to something sent to the contact, as the app's user. */
export class RoomNotifier {
    constructor(private readonly log: (message: string) => void) {}

    async notifyAgent(ctx: { read: IRead; modify: IModify }, roomId: string | undefined, text: string): Promise<void> {
        // Logs name the room, never the notice: it quotes what the agent wrote.
        if (!roomId) {
            this.log('A bridge notice had no room to go to');
            return;
        }
        try {
            const [room, appUser] = await Promise.all([
                ctx.read.getRoomReader().getById(roomId),
                ctx.read.getUserReader().getAppUser(),
            ]);
            if (!room || !appUser) {
                this.log(`A bridge notice could not be posted: room ${roomId} is gone`);
                return;
            }
            const builder = ctx.modify.getCreator().startMessage()
                .setRoom(room)
                .setSender(appUser)
                .setText(`:warning: ${text}`)
                .setGroupable(false);
            await ctx.modify.getCreator().finish(builder);
        } catch (error) {
            this.log(`Could not post a bridge notice in room ${roomId}: ${error instanceof Error ? error.message : String(error)}`);
        }
    }
}
