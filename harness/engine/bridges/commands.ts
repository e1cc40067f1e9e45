import type { ISlashCommand } from '@rocket.chat/apps-engine/definition/slashcommands';
import { CommandBridge } from '@rocket.chat/apps-engine/server/bridges';

import { ni } from './notImplemented';

/** A slash command an app registered, as Rocket.Chat's `slashCommands.commands[cmd]` keeps it. */
export interface RegisteredCommand {
    appId: string;
    command: string;
    params?: string;
    description?: string;
    permission?: string;
}

/** Follows apps/meteor/app/apps/server/bridges/commands.ts (AppCommandsBridge): the registry of app commands. */
export class EmulatedCommandBridge extends CommandBridge {
    public readonly commands = new Map<string, RegisteredCommand>();

    protected async doesCommandExist(command: string): Promise<boolean> {
        return typeof command === 'string' && command.length > 0 && this.commands.has(command.toLowerCase());
    }

    protected async registerCommand(command: ISlashCommand, appId: string): Promise<void> {
        // _verifyCommand (the executor stays in the app's runtime process: not checked here)
        if (typeof command !== 'object' || typeof command.command !== 'string') {
            throw new Error('Invalid Slash Command parameter provided, it must be a valid ISlashCommand object.');
        }
        if (typeof command.providesPreview !== 'boolean') {
            throw new Error('Invalid Slash Command parameter provided, it must be a valid ISlashCommand object.');
        }
        const cmd = command.command.toLowerCase();
        this.commands.set(cmd, {
            appId,
            command: cmd,
            params: command.i18nParamsExample,
            description: command.i18nDescription,
            permission: command.permission,
        });
    }

    protected async unregisterCommand(command: string): Promise<void> {
        if (typeof command !== 'string' || command.trim().length === 0) {
            throw new Error('Invalid command parameter provided, must be a string.');
        }
        this.commands.delete(command.toLowerCase());
    }

    protected async enableCommand(): Promise<void> {
        ni('CommandBridge.enableCommand');
    }

    protected async disableCommand(): Promise<void> {
        ni('CommandBridge.disableCommand');
    }

    protected async modifyCommand(): Promise<void> {
        ni('CommandBridge.modifyCommand');
    }
}
