import {
    AppBridges,
    CloudWorkspaceBridge,
    ContactBridge,
    EmailBridge,
    ExperimentalBridge,
    ModerationBridge,
    OutboundMessageBridge,
    RoleBridge,
    UiInteractionBridge,
    VideoConferenceBridge,
} from '@rocket.chat/apps-engine/server/bridges';
import { OAuthAppsBridge } from '@rocket.chat/apps-engine/server/bridges/OAuthAppsBridge';
import { ThreadBridge } from '@rocket.chat/apps-engine/server/bridges/ThreadBridge';

import type { RocketChat } from '../../rocketchat/RocketChat';
import type { Scheduler } from '../clock';
import { RouterApiBridge } from './api';
import { EmulatedCommandBridge } from './commands';
import { FetchHttpBridge } from './http';
import { EmulatedInternalBridge, EmulatedInternalFederationBridge, EmulatedListenerBridge, workspaceKeyPair } from './internal';
import { EmulatedLivechatBridge } from './livechat';
import { EmulatedMessageBridge } from './messages';
import { notImplementedBridge } from './notImplemented';
import { MemoryPersistenceBridge, type PersistenceRecord } from './persistence';
import { EmulatedRoomBridge } from './rooms';
import { EmulatedSchedulerBridge } from './scheduler';
import {
    EmulatedEnvironmentalVariableBridge,
    EmulatedServerSettingBridge,
    RecordingActivationBridge,
    RecordingDetailChangesBridge,
} from './settings';
import { EmulatedUploadBridge } from './uploads';
import { EmulatedUserBridge } from './users';

export type { RegisteredEndpoint } from './api';
export type { RegisteredCommand } from './commands';
export type { HttpCallRecord } from './http';
export type { PersistenceRecord } from './persistence';
export { workspaceKeyPair } from './internal';
export {
    EmulatedCommandBridge,
    EmulatedEnvironmentalVariableBridge,
    EmulatedInternalBridge,
    EmulatedInternalFederationBridge,
    EmulatedListenerBridge,
    EmulatedLivechatBridge,
    EmulatedMessageBridge,
    EmulatedRoomBridge,
    EmulatedSchedulerBridge,
    EmulatedServerSettingBridge,
    EmulatedUploadBridge,
    EmulatedUserBridge,
    FetchHttpBridge,
    MemoryPersistenceBridge,
    RecordingActivationBridge,
    RecordingDetailChangesBridge,
    RouterApiBridge,
};

/**
 * The bridges the engine calls into, one file per group: persistence, users, api, http, messages,
 * rooms, livechat, uploads, settings (server settings, environment, app details, activation),
 * internal (listener, internal, federation), scheduler, slash commands; the rest throw a named "not implemented".
 */

export interface BridgeSet {
    persistence: MemoryPersistenceBridge;
    user: EmulatedUserBridge;
    api: RouterApiBridge;
    http: FetchHttpBridge;
    message: EmulatedMessageBridge;
    room: EmulatedRoomBridge;
    livechat: EmulatedLivechatBridge;
    upload: EmulatedUploadBridge;
    serverSetting: EmulatedServerSettingBridge;
    env: EmulatedEnvironmentalVariableBridge;
    details: RecordingDetailChangesBridge;
    activation: RecordingActivationBridge;
    listener: EmulatedListenerBridge;
    internal: EmulatedInternalBridge;
    federation: EmulatedInternalFederationBridge;
    scheduler: EmulatedSchedulerBridge;
    command: EmulatedCommandBridge;
}

/** Cluster mode: what one instance's bridges share with the others, and how they run. */
export interface SharedBridgeParts {
    persistence?: Map<string, PersistenceRecord>;
    /** Runs each bridge call in the instance's context (the events a bridge call causes fire on that instance). */
    inContext?: <T>(fn: () => T) => T;
}

/** A bridge whose methods run inside `inContext` (instanceof and plain fields unchanged). */
function contextual<T extends object>(bridge: T, inContext: <R>(fn: () => R) => R): T {
    return new Proxy(bridge, {
        get(target, prop) {
            const value = Reflect.get(target, prop, target);
            if (typeof value !== 'function') {
                return value;
            }
            return (...args: unknown[]) => inContext(() => (value as (...a: unknown[]) => unknown).apply(target, args));
        },
    });
}

export class EmulatedAppBridges extends AppBridges {
    public readonly b: BridgeSet;
    private readonly others: {
        contact: ContactBridge;
        email: EmailBridge;
        ui: UiInteractionBridge;
        cloud: CloudWorkspaceBridge;
        video: VideoConferenceBridge;
        oauth: OAuthAppsBridge;
        moderation: ModerationBridge;
        thread: ThreadBridge;
        role: RoleBridge;
        outbound: OutboundMessageBridge;
        experimental: ExperimentalBridge;
    };

    constructor(
        rc: RocketChat,
        scheduler: Scheduler,
        appName: (appId: string) => { name?: string; nameSlug?: string },
        env: Record<string, string | undefined>,
        shared: SharedBridgeParts = {},
    ) {
        super();
        const b: BridgeSet = {
            persistence: new MemoryPersistenceBridge(shared.persistence),
            user: new EmulatedUserBridge(rc),
            api: new RouterApiBridge(),
            http: new FetchHttpBridge(rc),
            message: new EmulatedMessageBridge(rc),
            room: new EmulatedRoomBridge(rc),
            livechat: new EmulatedLivechatBridge(rc, appName),
            upload: new EmulatedUploadBridge(rc),
            serverSetting: new EmulatedServerSettingBridge(rc),
            env: new EmulatedEnvironmentalVariableBridge(env),
            details: new RecordingDetailChangesBridge(),
            activation: new RecordingActivationBridge(),
            listener: new EmulatedListenerBridge(),
            internal: new EmulatedInternalBridge(rc, workspaceKeyPair().publicKey),
            federation: new EmulatedInternalFederationBridge(),
            scheduler: new EmulatedSchedulerBridge(scheduler),
            command: new EmulatedCommandBridge(),
        };
        const inContext = shared.inContext;
        if (inContext) {
            for (const key of Object.keys(b) as Array<keyof BridgeSet>) {
                (b as unknown as Record<string, object>)[key] = contextual(b[key], inContext);
            }
        }
        this.b = b;
        this.others = {
            contact: notImplementedBridge(ContactBridge, 'ContactBridge'),
            email: notImplementedBridge(EmailBridge, 'EmailBridge'),
            ui: notImplementedBridge(UiInteractionBridge, 'UiInteractionBridge'),
            cloud: notImplementedBridge(CloudWorkspaceBridge, 'CloudWorkspaceBridge'),
            video: notImplementedBridge(VideoConferenceBridge, 'VideoConferenceBridge'),
            oauth: notImplementedBridge(OAuthAppsBridge, 'OAuthAppsBridge'),
            moderation: notImplementedBridge(ModerationBridge, 'ModerationBridge'),
            thread: notImplementedBridge(ThreadBridge, 'ThreadBridge'),
            role: notImplementedBridge(RoleBridge, 'RoleBridge'),
            outbound: notImplementedBridge(OutboundMessageBridge, 'OutboundMessageBridge'),
            experimental: notImplementedBridge(ExperimentalBridge, 'ExperimentalBridge'),
        };
    }

    public getCommandBridge() {
        return this.b.command;
    }
    public getContactBridge() {
        return this.others.contact;
    }
    public getApiBridge() {
        return this.b.api;
    }
    public getAppDetailChangesBridge() {
        return this.b.details;
    }
    public getEnvironmentalVariableBridge() {
        return this.b.env;
    }
    public getHttpBridge() {
        return this.b.http;
    }
    public getListenerBridge() {
        return this.b.listener;
    }
    public getLivechatBridge() {
        return this.b.livechat;
    }
    public getMessageBridge() {
        return this.b.message;
    }
    public getPersistenceBridge() {
        return this.b.persistence;
    }
    public getAppActivationBridge() {
        return this.b.activation;
    }
    public getRoomBridge() {
        return this.b.room;
    }
    public getInternalBridge() {
        return this.b.internal;
    }
    public getInternalFederationBridge() {
        return this.b.federation;
    }
    public getServerSettingBridge() {
        return this.b.serverSetting;
    }
    public getUploadBridge() {
        return this.b.upload;
    }
    public getEmailBridge() {
        return this.others.email;
    }
    public getUserBridge() {
        return this.b.user;
    }
    public getUiInteractionBridge() {
        return this.others.ui;
    }
    public getSchedulerBridge() {
        return this.b.scheduler;
    }
    public getCloudWorkspaceBridge() {
        return this.others.cloud;
    }
    public getVideoConferenceBridge() {
        return this.others.video;
    }
    public getOAuthAppsBridge() {
        return this.others.oauth;
    }
    public getModerationBridge() {
        return this.others.moderation;
    }
    public getThreadBridge() {
        return this.others.thread;
    }
    public getRoleBridge() {
        return this.others.role;
    }
    public getOutboundMessageBridge() {
        return this.others.outbound;
    }
    public getExperimentalBridge() {
        return this.others.experimental;
    }
}
