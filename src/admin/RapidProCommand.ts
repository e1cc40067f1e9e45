import type { IHttp, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import type { ILivechatRoom } from '@rocket.chat/apps-engine/definition/livechat';
import type { IRoom } from '@rocket.chat/apps-engine/definition/rooms';
import type { ISlashCommand, SlashCommandContext } from '@rocket.chat/apps-engine/definition/slashcommands';
import type { IUser } from '@rocket.chat/apps-engine/definition/users';

import type { BridgeServices } from '../BridgeServices';
import { ConversationStore } from '../domain/ConversationStore';
import { DeliveryFailures } from '../domain/DeliveryFailures';
import { OutboxRecovery } from '../domain/OutboxRecovery';
import { rapidProState } from '../domain/rapidProState';
import { formatBridgeStatus, formatFlush, formatRoomStatus, HELP_TEXT, parseAction, REFUSAL_TEXT } from '../lib/adminStatus';
import { errorText } from '../lib/log';
import { flushOutbox } from '../outbound/OutboxRecoveryProcessor';

/** The role that sees (and flushes) the whole bridge. */
export const ADMIN_ROLE = 'admin';

/**
 * `/rapidpro [status|flush]`, answered privately (notifyUser): an admin gets the whole bridge; the agent
 * serving a chat the bridge opened gets that chat, typed in that chat; anyone else a short refusal.
 */
export class RapidProCommand implements ISlashCommand {
    readonly command = 'rapidpro';
    readonly i18nParamsExample = 'rapidpro_command_params';
    readonly i18nDescription = 'rapidpro_command_description';
    readonly providesPreview = false;

    constructor(private readonly services: BridgeServices) {}

    async executor(context: SlashCommandContext, read: IRead, modify: IModify, http: IHttp, persis: IPersistence): Promise<void> {
        const sender = context.getSender();
        const room = context.getRoom();
        const action = parseAction(context.getArguments());
        try {
            const isAdmin = Array.isArray(sender.roles) && sender.roles.indexOf(ADMIN_ROLE) >= 0;
            const ownChat = isAdmin ? undefined : await this.servedChat(read, persis, room, sender);
            if (!isAdmin && !ownChat) {
                await this.reply(read, modify, sender, room, REFUSAL_TEXT);
                return;
            }
            if (action === 'help') {
                await this.reply(read, modify, sender, room, HELP_TEXT);
                return;
            }
            const roomId = isAdmin ? undefined : room.id;
            const ctx = await this.services.deliveryContext(read, modify, http, persis);
            const recovery = new OutboxRecovery();
            const reader = read.getPersistenceReader();
            if (action === 'flush') {
                this.services.logger.info(`/rapidpro flush by ${isAdmin ? 'an admin' : `the agent of room ${room.id}`}`);
                const madeDue = await flushOutbox(this.services, ctx, roomId);
                await this.reply(
                    read,
                    modify,
                    sender,
                    room,
                    formatFlush({ madeDue, stillWaiting: await recovery.view(reader, roomId) }, Date.now()),
                );
                return;
            }
            const rapidpro = await rapidProState(this.services.rapidPro, http, ctx.config);
            const outbox = await recovery.view(reader, roomId);
            if (!isAdmin) {
                await this.reply(
                    read,
                    modify,
                    sender,
                    room,
                    formatRoomStatus({ contactName: ownChat?.contactName, rapidpro, outbox }, Date.now()),
                );
                return;
            }
            const missing = [
                ['rapidpro_url', ctx.config.rapidProUrl],
                ['rapidpro_token', ctx.config.rapidProToken],
                ['bridge_secret', ctx.config.bridgeSecret],
            ]
                .filter(([, value]) => !value)
                .map(([id]) => id);
            const failures = await new DeliveryFailures().lastDay(reader);
            const text = formatBridgeStatus(
                { version: this.services.appVersion(), configured: missing.length === 0, missing, rapidpro, outbox, failures },
                Date.now(),
            );
            await this.reply(read, modify, sender, room, text);
        } catch (error) {
            this.services.logger.error(`/rapidpro ${action} failed: ${errorText(error)}`);
            await this.reply(read, modify, sender, room, `/rapidpro ${action} failed: the app's logs say why.`).catch(() => undefined);
        }
    }

    /** The bridge's open chat in this room when the sender is the agent serving it. */
    private async servedChat(read: IRead, persis: IPersistence, room: IRoom, sender: IUser): Promise<{ contactName?: string } | undefined> {
        const servedBy = (room as ILivechatRoom).servedBy;
        if (!servedBy || servedBy.id !== sender.id) {
            return undefined;
        }
        const conversation = await new ConversationStore(read.getPersistenceReader(), persis).findByRoom(room.id);
        return conversation ? { contactName: conversation.contactName } : undefined;
    }

    private async reply(read: IRead, modify: IModify, user: IUser, room: IRoom, text: string): Promise<void> {
        const builder = modify.getNotifier().getMessageBuilder().setRoom(room).setText(text).setGroupable(false);
        const appUser = await read.getUserReader().getAppUser();
        if (appUser) {
            builder.setSender(appUser);
        }
        await modify.getNotifier().notifyUser(user, builder.getMessage());
    }
}
