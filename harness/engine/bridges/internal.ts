import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { IMessage } from '@rocket.chat/apps-engine/definition/messages';
import type { AppInterface } from '@rocket.chat/apps-engine/definition/metadata';
import type { IRoom } from '@rocket.chat/apps-engine/definition/rooms';
import { type ISetting, SettingType } from '@rocket.chat/apps-engine/definition/settings';
import type { UIKitIncomingInteraction } from '@rocket.chat/apps-engine/definition/uikit';
import type { IInternalBridge, IInternalFederationBridge, IListenerBridge } from '@rocket.chat/apps-engine/server/bridges';
import { InternalBridge } from '@rocket.chat/apps-engine/server/bridges/InternalBridge';

import type { RocketChat } from '../../rocketchat/RocketChat';
import { ni } from './notImplemented';

/** Rocket.Chat's listener bridge turns server events into listener-manager calls; the emulation calls the manager directly. */
export class EmulatedListenerBridge implements IListenerBridge {
    public async messageEvent(int: AppInterface, message: IMessage): Promise<undefined | boolean | IMessage> {
        return ni(`ListenerBridge.messageEvent(${int}) — use host.rc helpers`);
    }

    public async roomEvent(int: AppInterface, room: IRoom): Promise<undefined | boolean | IRoom> {
        return ni(`ListenerBridge.roomEvent(${int})`);
    }

    public async uiKitInteractionEvent(int: AppInterface, action: UIKitIncomingInteraction): Promise<undefined | boolean> {
        void action;
        return ni(`ListenerBridge.uiKitInteractionEvent(${int})`);
    }
}

export class EmulatedInternalBridge extends InternalBridge implements IInternalBridge {
    constructor(
        private readonly rc: RocketChat,
        private readonly publicKey: string,
    ) {
        super();
    }

    protected async getUsernamesOfRoomById(roomId: string): Promise<string[]> {
        return this.getUsernamesOfRoomByIdSync(roomId);
    }

    protected getUsernamesOfRoomByIdSync(roomId: string): string[] {
        const room = this.rc.roomsById.get(roomId);
        if (!room) {
            return [];
        }
        const names = new Set(room.usernames ?? []);
        if (room.servedBy) {
            names.add(room.servedBy.username);
        }
        return [...names];
    }

    protected async getWorkspacePublicKey(): Promise<ISetting> {
        return {
            id: 'Cloud_Workspace_PublicKey',
            type: SettingType.STRING,
            packageValue: '',
            value: this.publicKey,
            required: false,
            public: false,
            i18nLabel: '',
        };
    }
}

let keyPair: { publicKey: string; privateKey: string } | undefined;

/**
 * The RSA pair Rocket.Chat keeps for app signing (AppSignatureManager signs with RS512). Generating
 * one takes ~250 ms, so it is cached in the OS temp folder (mode 0600) and shared by test processes.
 */
export function workspaceKeyPair(): { publicKey: string; privateKey: string } {
    if (keyPair) {
        return keyPair;
    }
    const file = path.join(
        os.tmpdir(),
        `rc-engine-host-workspace-key-${typeof process.getuid === 'function' ? process.getuid() : 'u'}.json`,
    );
    try {
        const cached = JSON.parse(fs.readFileSync(file, 'utf8'));
        if (typeof cached.publicKey === 'string' && typeof cached.privateKey === 'string') {
            keyPair = cached as { publicKey: string; privateKey: string };
            return keyPair;
        }
    } catch {
        // not cached yet
    }
    const generated = crypto.generateKeyPairSync('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    keyPair = generated;
    try {
        const tmp = `${file}.${process.pid}`;
        fs.writeFileSync(tmp, JSON.stringify(generated), { mode: 0o600 });
        fs.renameSync(tmp, file);
    } catch {
        // cache is an optimisation only
    }
    return generated;
}

export class EmulatedInternalFederationBridge implements IInternalFederationBridge {
    public async getPrivateKey(): Promise<string | null> {
        return workspaceKeyPair().privateKey;
    }

    public async getPublicKey(): Promise<string | null> {
        return workspaceKeyPair().publicKey;
    }
}
