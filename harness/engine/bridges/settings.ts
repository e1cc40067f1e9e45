import type { AppStatus } from '@rocket.chat/apps-engine/definition/AppStatus';
import type { ISetting, SettingType } from '@rocket.chat/apps-engine/definition/settings';
import {
    AppActivationBridge,
    AppDetailChangesBridge,
    EnvironmentalVariableBridge,
    ServerSettingBridge,
} from '@rocket.chat/apps-engine/server/bridges';
import type { ProxiedApp } from '@rocket.chat/apps-engine/server/ProxiedApp';

import type { RocketChat } from '../../rocketchat/RocketChat';
import { ni } from './notImplemented';

export class EmulatedServerSettingBridge extends ServerSettingBridge {
    constructor(private readonly rc: RocketChat) {
        super();
    }

    private convert(id: string): ISetting | undefined {
        const s = this.rc.settings.get(id);
        if (!s) {
            return undefined;
        }
        return {
            id: s._id,
            // Rocket.Chat's own setting types ('int', ...) are passed through as they are.
            type: s.type as SettingType,
            value: s.value,
            packageValue: s.packageValue,
            public: s.public,
            hidden: s.hidden,
            required: false,
            i18nLabel: s._id,
        };
    }

    protected async getAll(): Promise<ISetting[]> {
        return [...this.rc.settings.keys()].filter((id) => this.rc.settings.get(id)!.public).map((id) => this.convert(id)!);
    }

    protected async getOneById(id: string): Promise<ISetting> {
        return this.convert(id) as ISetting;
    }

    protected async hideGroup(): Promise<void> {
        ni('ServerSettingBridge.hideGroup');
    }

    protected async hideSetting(): Promise<void> {
        ni('ServerSettingBridge.hideSetting');
    }

    protected async isReadableById(id: string): Promise<boolean> {
        return !!this.rc.settings.get(id)?.public;
    }

    protected async updateOne(setting: ISetting): Promise<void> {
        this.rc.setServerSetting(setting.id, setting.value);
    }

    protected async incrementValue(id: string, value: number): Promise<void> {
        this.rc.setServerSetting(id, Number(this.rc.getServerSetting(id) ?? 0) + value);
    }
}

/** bridges/environmental.ts: only a few variables are readable. */
export class EmulatedEnvironmentalVariableBridge extends EnvironmentalVariableBridge {
    private static readonly ALLOWED = ['NODE_ENV', 'ROOT_URL', 'INSTANCE_IP'];

    constructor(private readonly env: Record<string, string | undefined>) {
        super();
    }

    protected async getValueByName(envVarName: string): Promise<string | undefined> {
        return EmulatedEnvironmentalVariableBridge.ALLOWED.includes(envVarName) ? this.env[envVarName] : undefined;
    }

    protected async isReadable(envVarName: string): Promise<boolean> {
        return EmulatedEnvironmentalVariableBridge.ALLOWED.includes(envVarName);
    }

    protected async isSet(envVarName: string): Promise<boolean> {
        return EmulatedEnvironmentalVariableBridge.ALLOWED.includes(envVarName) && this.env[envVarName] !== undefined;
    }
}

export class RecordingDetailChangesBridge extends AppDetailChangesBridge {
    public readonly changes: Array<{ appId: string; setting: ISetting }> = [];

    protected onAppSettingsChange(appId: string, setting: ISetting): void {
        this.changes.push({ appId, setting });
    }
}

export class RecordingActivationBridge extends AppActivationBridge {
    public readonly statuses: Array<{ appId: string; status: string }> = [];

    protected async appAdded(): Promise<void> {
        // nothing to broadcast
    }

    protected async appUpdated(): Promise<void> {
        // nothing to broadcast
    }

    protected async appRemoved(): Promise<void> {
        // nothing to broadcast
    }

    protected async appStatusChanged(app: ProxiedApp, status: AppStatus): Promise<void> {
        this.statuses.push({ appId: app.getID(), status: String(status) });
    }

    protected async actionsChanged(): Promise<void> {
        // nothing to broadcast
    }
}
