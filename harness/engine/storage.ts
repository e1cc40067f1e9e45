import type { AppStatus } from '@rocket.chat/apps-engine/definition/AppStatus';
import type { IAppInfo } from '@rocket.chat/apps-engine/definition/metadata';
import type { ISetting } from '@rocket.chat/apps-engine/definition/settings';
import type { IMarketplaceInfo } from '@rocket.chat/apps-engine/server/marketplace';
import { AppLogStorage, AppMetadataStorage } from '@rocket.chat/apps-engine/server/storage';
import type { IAppLogStorageFindOptions } from '@rocket.chat/apps-engine/server/storage';
import type { IAppStorageItem } from '@rocket.chat/apps-engine/server/storage';
import { AppSourceStorage } from '@rocket.chat/apps-engine/server/storage/AppSourceStorage';
import type { ILoggerStorageEntry } from '@rocket.chat/apps-engine/server/logging';

import { randomId } from './util';

/** In-memory `rocketchat_apps` collection. */
export class MemoryMetadataStorage extends AppMetadataStorage {
    public readonly items = new Map<string, IAppStorageItem>();

    constructor() {
        super('memory');
    }

    public async create(item: IAppStorageItem): Promise<IAppStorageItem> {
        if (this.items.has(item.id)) {
            throw new Error('App already exists.');
        }
        item._id = item._id ?? randomId();
        item.createdAt = new Date();
        item.updatedAt = new Date();
        this.items.set(item.id, item);
        return item;
    }

    public async retrieveOne(id: string): Promise<IAppStorageItem | null> {
        return this.items.get(id) ?? null;
    }

    public async retrieveAll(): Promise<Map<string, IAppStorageItem>> {
        return new Map(this.items);
    }

    public async retrieveAllPrivate(): Promise<Map<string, IAppStorageItem>> {
        return new Map([...this.items].filter(([, item]) => item.installationSource === 'private'));
    }

    public async remove(id: string): Promise<{ success: boolean }> {
        this.items.delete(id);
        return { success: true };
    }

    public async updatePartialAndReturnDocument(
        item: Partial<IAppStorageItem>,
        options?: { unsetPermissionsGranted?: boolean },
    ): Promise<IAppStorageItem> {
        const existing = item.id ? this.items.get(item.id) : undefined;
        if (!existing) {
            throw new Error('App not found.');
        }
        Object.assign(existing, item, { updatedAt: new Date() });
        if (options?.unsetPermissionsGranted) {
            delete existing.permissionsGranted;
        }
        return existing;
    }

    public async updateStatus(_id: string, status: AppStatus): Promise<boolean> {
        const item = this.byMongoId(_id);
        if (item) {
            item.status = status;
        }
        return !!item;
    }

    public async updateSetting(_id: string, setting: ISetting): Promise<boolean> {
        const item = this.byMongoId(_id);
        if (item) {
            item.settings[setting.id] = setting;
        }
        return !!item;
    }

    public async updateAppInfo(_id: string, info: IAppInfo): Promise<boolean> {
        const item = this.byMongoId(_id);
        if (item) {
            item.info = info;
        }
        return !!item;
    }

    public async updateMarketplaceInfo(_id: string, marketplaceInfo: IMarketplaceInfo[]): Promise<boolean> {
        const item = this.byMongoId(_id);
        if (item) {
            item.marketplaceInfo = marketplaceInfo;
        }
        return !!item;
    }

    private byMongoId(_id: string): IAppStorageItem | undefined {
        return [...this.items.values()].find((i) => i._id === _id);
    }
}

/** In-memory GridFS for app packages. */
export class MemorySourceStorage extends AppSourceStorage {
    private readonly zips = new Map<string, Buffer>();

    public async store(item: IAppStorageItem, zip: Buffer): Promise<string> {
        this.zips.set(item.id, zip);
        return `memory:${item.id}`;
    }

    public async fetch(item: IAppStorageItem): Promise<Buffer> {
        const zip = this.zips.get(item.id);
        if (!zip) {
            throw new Error(`no package stored for ${item.id}`);
        }
        return zip;
    }

    public async update(item: IAppStorageItem, zip: Buffer): Promise<string> {
        return this.store(item, zip);
    }

    public async remove(item: IAppStorageItem): Promise<void> {
        this.zips.delete(item.id);
    }
}

const REDACTED = '[REDACTED]';
const SENSITIVE_KEYS = ['x-auth-token', 'authorization', 'access_token'];

/**
 * AppRealLogStorage (apps/meteor/ee/server/apps/storage/AppRealLogStorage.ts) runs fast-redact over
 * every logged argument before storing it: headers.cookie / x-auth-token / authorization /
 * access_token, the same keys in query and params, query/params/user customFields.*, and
 * user.emails[*].address. Nothing else (request bodies, setting values) is redacted.
 */
export function redactLogArg(arg: unknown): void {
    if (!arg || typeof arg !== 'object') {
        return;
    }
    const obj = (v: unknown): Record<string, unknown> | undefined =>
        v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
    const o = arg as Record<string, unknown>;
    const redactKeys = (target: unknown, keys: string[]) => {
        const t = obj(target);
        if (t) {
            for (const k of keys) {
                if (k in t) t[k] = REDACTED;
            }
        }
    };
    const redactAll = (target: unknown) => {
        const t = obj(target);
        if (t) {
            for (const k of Object.keys(t)) t[k] = REDACTED;
        }
    };
    redactKeys(o.headers, ['cookie', ...SENSITIVE_KEYS]);
    redactKeys(o.query, SENSITIVE_KEYS);
    redactKeys(o.params, SENSITIVE_KEYS);
    redactAll(obj(o.query)?.customFields);
    redactAll(obj(o.params)?.customFields);
    const user = obj(o.user);
    redactAll(user?.customFields);
    const emails = user?.emails;
    if (Array.isArray(emails)) {
        for (const e of emails as unknown[]) {
            const email = obj(e);
            if (email && 'address' in email) email.address = REDACTED;
        }
    }
}

/** In-memory `rocketchat_apps_logs`: what the app logged, per call (see EngineHost.logs / logText()). */
export class MemoryLogStorage extends AppLogStorage {
    public readonly entries: ILoggerStorageEntry[] = [];

    /** `redact: false` stores entries as the engine hands them (older servers did not redact). */
    constructor(private readonly redact = true) {
        super('memory');
    }

    public async findPaginated(
        query: { [field: string]: unknown },
        options?: IAppLogStorageFindOptions,
    ): Promise<{ logs: ILoggerStorageEntry[]; total: number }> {
        const matches = this.entries.filter((e) =>
            Object.entries(query).every(([k, v]) => (e as unknown as Record<string, unknown>)[k] === v),
        );
        const skip = options?.skip ?? 0;
        const limit = options?.limit ?? matches.length;
        return { logs: matches.slice(skip, skip + limit), total: matches.length };
    }

    public async storeEntries(logEntry: ILoggerStorageEntry): Promise<ILoggerStorageEntry> {
        if (this.redact) {
            for (const entry of logEntry.entries ?? []) {
                (entry.args ?? []).forEach(redactLogArg);
            }
        }
        const stored = { ...logEntry, _createdAt: logEntry._createdAt ?? new Date() };
        this.entries.push(stored);
        return stored;
    }

    public async getEntriesFor(appId: string): Promise<ILoggerStorageEntry[]> {
        return this.entries.filter((e) => e.appId === appId);
    }

    public async removeEntriesFor(appId: string): Promise<void> {
        for (let i = this.entries.length - 1; i >= 0; i--) {
            if (this.entries[i].appId === appId) {
                this.entries.splice(i, 1);
            }
        }
    }
}
