import type { IHttp, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';

import { type DeliveryContext, DeliveryQueue } from './domain/DeliveryQueue';
import { FailureWatcher } from './domain/FailureWatcher';
import { KeyedMutex } from './domain/KeyedMutex';
import { RapidProClientFactory } from './domain/RapidProClientFactory';
import { ReplyWindow } from './domain/ReplyWindow';
import { RoomNotifier } from './domain/RoomNotifier';
import { VisitorTokens } from './domain/VisitorTokens';
import type { Logger } from './lib/log';
import { AgentRoomCatchUp } from './outbound/RoomCatchUp';
import { type BridgeConfig, BridgeConfigCache } from './settings/BridgeConfig';

/** What the endpoints and event handlers share: one instance per running app. */
export class BridgeServices {
    readonly configCache = new BridgeConfigCache();
    /** Every RapidPro client is made here, from the settings. */
    readonly rapidPro = new RapidProClientFactory();
    readonly notifier: RoomNotifier;
    readonly queue: DeliveryQueue;
    /** Serializes the work on one contact inside this instance (handoff, message, close, transfer). */
    readonly contactMutex = new KeyedMutex();
    /** Keeps one room's agent messages in the order Rocket.Chat reported them (taken before any await). */
    readonly roomMutex = new KeyedMutex();
    readonly visitorTokens = new VisitorTokens();
    /** Agent replies held while the contact's customer-care window is closed. */
    readonly replyWindow: ReplyWindow;
    /** What RapidPro later reports failed, told in the room. */
    readonly failureWatcher: FailureWatcher;

    constructor(
        readonly appId: () => string,
        readonly appVersion: () => string,
        readonly logger: Logger,
    ) {
        this.notifier = new RoomNotifier(logger);
        this.queue = new DeliveryQueue(this.notifier, this.rapidPro, logger);
        this.queue.useCatchUp(new AgentRoomCatchUp());
        this.replyWindow = new ReplyWindow(this.queue, this.notifier, this.roomMutex, logger);
        this.failureWatcher = new FailureWatcher(this.notifier, this.rapidPro, logger);
    }

    config(read: IRead): Promise<BridgeConfig> {
        return this.configCache.get(read.getEnvironmentReader().getSettings());
    }

    async deliveryContext(read: IRead, modify: IModify, http: IHttp, persis: IPersistence): Promise<DeliveryContext> {
        return { read, modify, http, persis, config: await this.config(read) };
    }
}
