import type {
    IAppAccessors,
    IConfigurationExtend,
    IConfigurationModify,
    IHttp,
    ILogger,
    IModify,
    IPersistence,
    IRead,
} from '@rocket.chat/apps-engine/definition/accessors';
import { ApiSecurity, ApiVisibility } from '@rocket.chat/apps-engine/definition/api';
import { App } from '@rocket.chat/apps-engine/definition/App';
import type {
    ILivechatEventContext,
    ILivechatRoom,
    ILivechatTransferEventContext,
    IPostLivechatAgentAssigned,
    IPostLivechatAgentUnassigned,
    IPostLivechatRoomClosed,
    IPostLivechatRoomTransferred,
} from '@rocket.chat/apps-engine/definition/livechat';
import type { IMessage, IPostMessageSent, IPostMessageUpdated } from '@rocket.chat/apps-engine/definition/messages';
import type { IAppInfo } from '@rocket.chat/apps-engine/definition/metadata';
import type { ISetting } from '@rocket.chat/apps-engine/definition/settings';
import type { ISettingUpdateContext } from '@rocket.chat/apps-engine/definition/settings/ISettingUpdateContext';

import { RapidProCommand } from './src/admin/RapidProCommand';
import { BridgeServices } from './src/BridgeServices';
import { CloseEndpoint } from './src/inbound/endpoints/CloseEndpoint';
import { DepartmentsEndpoint } from './src/inbound/endpoints/DepartmentsEndpoint';
import { HandoffEndpoint } from './src/inbound/endpoints/HandoffEndpoint';
import { HealthEndpoint } from './src/inbound/endpoints/HealthEndpoint';
import { MessageEndpoint } from './src/inbound/endpoints/MessageEndpoint';
import { StatusEndpoint } from './src/inbound/endpoints/StatusEndpoint';
import { TransferEndpoint } from './src/inbound/endpoints/TransferEndpoint';
import { loggerOf } from './src/lib/log';
import { AgentMessageHandler } from './src/outbound/AgentMessageHandler';
import { DeliveryJobProcessor, OutboxSweepProcessor, ReachWatchProcessor } from './src/outbound/DeliveryJobProcessor';
import { LivechatLifecycleHandler } from './src/outbound/LivechatLifecycleHandler';
import { OutboxRecoveryProcessor } from './src/outbound/OutboxRecoveryProcessor';
import { settingsDefinitions } from './src/settings/settingsDefinitions';

/** Wiring only: settings, endpoints, jobs, the admin's slash command and the event handlers of the bridge. */
export class RapidProBridgeApp
    extends App
    implements
        IPostMessageSent,
        IPostMessageUpdated,
        IPostLivechatAgentAssigned,
        IPostLivechatAgentUnassigned,
        IPostLivechatRoomTransferred,
        IPostLivechatRoomClosed
{
    private readonly services: BridgeServices;
    private readonly agentMessages: AgentMessageHandler;
    private readonly lifecycle: LivechatLifecycleHandler;

    constructor(info: IAppInfo, logger: ILogger, accessors: IAppAccessors) {
        super(info, logger, accessors);
        this.services = new BridgeServices(
            () => this.getID(),
            () => this.getVersion(),
            loggerOf(() => this.getLogger()),
        );
        this.agentMessages = new AgentMessageHandler(this.services);
        this.lifecycle = new LivechatLifecycleHandler(this.services);
    }

    protected async extendConfiguration(configuration: IConfigurationExtend): Promise<void> {
        await Promise.all(settingsDefinitions.map((setting) => configuration.settings.provideSetting(setting)));
        const services = this.services;
        await configuration.api.provideApi({
            visibility: ApiVisibility.PUBLIC,
            security: ApiSecurity.UNSECURE, // the bridge checks its own secret (Authorization: Token ...)
            endpoints: [
                new HandoffEndpoint(this, 'handoff', services),
                new MessageEndpoint(this, 'message', services),
                new CloseEndpoint(this, 'close', services),
                new TransferEndpoint(this, 'transfer', services),
                new StatusEndpoint(this, 'status', services),
                new DepartmentsEndpoint(this, 'departments', services),
                new HealthEndpoint(this, 'health', services),
                // Drop-in names of the "live agents mediator" that teams migrate from.
                new HandoffEndpoint(this, 'registerClient', services),
                new MessageEndpoint(this, 'sendMessageToAgent', services, 'clientmessage'),
            ],
        });
        await configuration.scheduler.registerProcessors([
            new DeliveryJobProcessor(services),
            new OutboxSweepProcessor(services),
            new ReachWatchProcessor(services),
            new OutboxRecoveryProcessor(services),
        ]);
        await configuration.slashCommands.provideSlashCommand(new RapidProCommand(services)).catch((error: unknown) => {
            // Apps-Engine keeps a disabled app's slash commands (AppManager.disable: keepSlashcommands), so
            // enabling it again finds /rapidpro registered already: the same command, still the app's.
            if (!/already exists/.test(error instanceof Error ? error.message : String(error))) {
                throw error;
            }
        });
    }

    /**
     * Returning nothing keeps the admin's new value as it is. Returning the setting (the default)
     * would make the engine log it with its value, and two of these settings are secrets.
     */
    async onPreSettingUpdate(
        context: ISettingUpdateContext,
        configurationModify: IConfigurationModify,
        read: IRead,
        http: IHttp,
    ): Promise<ISetting> {
        return undefined as unknown as ISetting;
    }

    async onSettingUpdated(setting: ISetting, configurationModify: IConfigurationModify, read: IRead, http: IHttp): Promise<void> {
        this.services.configCache.invalidate();
    }

    async checkPostMessageSent(message: IMessage): Promise<boolean> {
        return this.agentMessages.shouldHandle(message);
    }

    async executePostMessageSent(message: IMessage, read: IRead, http: IHttp, persis: IPersistence, modify: IModify): Promise<void> {
        await this.agentMessages.onMessageSent(message, read, http, persis, modify);
    }

    async checkPostMessageUpdated(message: IMessage): Promise<boolean> {
        return this.agentMessages.shouldHandle(message);
    }

    async executePostMessageUpdated(message: IMessage, read: IRead, http: IHttp, persis: IPersistence, modify: IModify): Promise<void> {
        await this.agentMessages.onMessageUpdated(message, read, http, persis, modify);
    }

    async executePostLivechatAgentAssigned(
        context: ILivechatEventContext,
        read: IRead,
        http: IHttp,
        persis: IPersistence,
        modify?: IModify,
    ): Promise<void> {
        await this.lifecycle.onAgentAssigned(context, read, http, persis, modify);
    }

    async executePostLivechatAgentUnassigned(
        context: ILivechatEventContext,
        read: IRead,
        http: IHttp,
        persis: IPersistence,
        modify?: IModify,
    ): Promise<void> {
        await this.lifecycle.onAgentUnassigned(context, read, http, persis, modify);
    }

    async executePostLivechatRoomTransferred(
        context: ILivechatTransferEventContext,
        read: IRead,
        http: IHttp,
        persis: IPersistence,
        modify: IModify,
    ): Promise<void> {
        await this.lifecycle.onRoomTransferred(context, read, http, persis, modify);
    }

    async executePostLivechatRoomClosed(
        room: ILivechatRoom,
        read: IRead,
        http: IHttp,
        persis: IPersistence,
        modify?: IModify,
    ): Promise<void> {
        await this.lifecycle.onRoomClosed(room, read, http, persis, modify);
    }
}
