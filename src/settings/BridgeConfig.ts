import { MAX_REQUEST_TIMEOUT_MS, MIN_REQUEST_TIMEOUT_MS, SETTINGS_MAX_AGE_MS } from '../lib/limits';
import { DEFAULT_WINDOW_HOURS, DEFAULT_WINDOW_SCHEMES, parseSchemes } from '../lib/reach';
import {
    DEFAULT_MAX_TEXT_LENGTH,
    DEFAULT_REQUEST_TIMEOUT_MS,
    DEFAULT_RETRY_MAX_AGE_HOURS,
    SettingId,
    type SettingIdValue,
    settingsDefinitions,
} from './settingsDefinitions';

export type SendMode = 'messages' | 'broadcasts';

/** The admin's settings, read and normalised once. Holds secrets: never log or return it. */
export interface BridgeConfig {
    rapidProUrl: string;
    rapidProToken: string;
    bridgeSecret: string;
    defaultDepartment: string;
    sendMode: SendMode;
    maxTextLength: number;
    historyOnHandoff: boolean;
    statusField: string;
    roomField: string;
    closeFlowUuid: string;
    notices: { queued: string; assigned: string; transferred: string; closed: string };
    sendCorrections: boolean;
    defaultLanguage: string;
    retryMaxAgeMs: number;
    requestTimeoutMs: number;
    /** Flow started once when replies are held because the contact's window closed ('' = off). */
    reengageFlowUuid: string;
    /** The customer-care window (0: never hold) and the URN schemes whose channels have it. */
    windowMs: number;
    windowSchemes: string[];
    /** Send a contact's waiting text replies as one message, its waiting field updates as one (issue 13). */
    coalesceBacklog: boolean;
    /** A 429 pauses its scope for every contact, and replies go over broadcasts while messages are paused. */
    scopePause: boolean;
}

function str(value: unknown): string {
    return value === undefined || value === null ? '' : String(value).trim();
}

function num(value: unknown, fallback: number, min: number, max: number): number {
    const parsed = typeof value === 'number' ? value : parseFloat(str(value));
    if (!Number.isFinite(parsed)) {
        return fallback;
    }
    return Math.min(max, Math.max(min, parsed));
}

function bool(value: unknown, fallback: boolean): boolean {
    if (typeof value === 'boolean') {
        return value;
    }
    const text = str(value).toLowerCase();
    if (text === 'true') {
        return true;
    }
    if (text === 'false') {
        return false;
    }
    return fallback;
}

/** Pure: turns raw setting values (by id) into the typed configuration, with defaults and bounds. */
export function parseBridgeConfig(values: Partial<Record<SettingIdValue, unknown>>): BridgeConfig {
    return {
        rapidProUrl: str(values[SettingId.RapidProUrl])
            .replace(/\/+$/, '')
            .replace(/\/api\/v2$/, ''),
        rapidProToken: str(values[SettingId.RapidProToken]).replace(/^Token\s+/i, ''),
        bridgeSecret: str(values[SettingId.BridgeSecret]),
        defaultDepartment: str(values[SettingId.DefaultDepartment]),
        sendMode: str(values[SettingId.SendMode]) === 'broadcasts' ? 'broadcasts' : 'messages',
        // RapidPro before 10.1.45 takes 640 characters; nothing takes more than 4096.
        maxTextLength: Math.floor(num(values[SettingId.MaxTextLength], DEFAULT_MAX_TEXT_LENGTH, 20, DEFAULT_MAX_TEXT_LENGTH)),
        historyOnHandoff: bool(values[SettingId.HistoryOnHandoff], false),
        statusField: str(values[SettingId.StatusField]),
        roomField: str(values[SettingId.RoomField]),
        closeFlowUuid: str(values[SettingId.CloseFlowUuid]),
        notices: {
            queued: str(values[SettingId.NoticeQueued]),
            assigned: str(values[SettingId.NoticeAssigned]),
            transferred: str(values[SettingId.NoticeTransferred]),
            closed: str(values[SettingId.NoticeClosed]),
        },
        sendCorrections: bool(values[SettingId.SendCorrections], true),
        defaultLanguage: str(values[SettingId.DefaultLanguage]) || 'eng',
        retryMaxAgeMs: num(values[SettingId.RetryMaxAgeHours], DEFAULT_RETRY_MAX_AGE_HOURS, 0.01, 24 * 30) * 3600 * 1000,
        // At most 10 s: an attempt may make two requests inside Rocket.Chat's 30 s per call.
        requestTimeoutMs: Math.floor(
            num(values[SettingId.RequestTimeoutMs], DEFAULT_REQUEST_TIMEOUT_MS, MIN_REQUEST_TIMEOUT_MS, MAX_REQUEST_TIMEOUT_MS),
        ),
        reengageFlowUuid: str(values[SettingId.ReengageFlowUuid]),
        // Fractions are allowed (tests, and channels with shorter windows); a week at most.
        windowMs: num(values[SettingId.WindowHours], DEFAULT_WINDOW_HOURS, 0, 24 * 7) * 3600 * 1000,
        coalesceBacklog: bool(values[SettingId.CoalesceBacklog], true),
        scopePause: bool(values[SettingId.ScopePause], true),
        windowSchemes: parseSchemes(
            values[SettingId.WindowSchemes] === undefined || values[SettingId.WindowSchemes] === null
                ? DEFAULT_WINDOW_SCHEMES
                : str(values[SettingId.WindowSchemes]),
        ),
    };
}

export function isRapidProConfigured(config: BridgeConfig): boolean {
    return config.rapidProUrl.length > 0 && config.rapidProToken.length > 0;
}

export interface SettingsSource {
    getValueById(id: string): Promise<unknown>;
}

/**
 * Settings are read from Rocket.Chat once and kept until `onSettingUpdated` (which Rocket.Chat
 * calls on every instance of a cluster) invalidates them; a short age limit bounds staleness if an
 * update is ever missed. A cache of persisted settings, not state of its own.
 */
export class BridgeConfigCache {
    private cached?: { config: BridgeConfig; at: number };
    private loading?: Promise<BridgeConfig>;
    private generation = 0;

    constructor(
        private readonly maxAgeMs = SETTINGS_MAX_AGE_MS,
        private readonly now: () => number = Date.now,
    ) {}

    async get(source: SettingsSource): Promise<BridgeConfig> {
        if (this.cached && this.now() - this.cached.at < this.maxAgeMs) {
            return this.cached.config;
        }
        if (!this.loading) {
            const loading = this.load(source);
            this.loading = loading;
            loading
                .then(
                    () => undefined,
                    () => undefined,
                )
                .then(() => {
                    if (this.loading === loading) {
                        this.loading = undefined;
                    }
                });
        }
        return this.loading;
    }

    invalidate(): void {
        this.cached = undefined;
        this.loading = undefined;
        this.generation++;
    }

    private async load(source: SettingsSource): Promise<BridgeConfig> {
        const generation = this.generation;
        const ids = settingsDefinitions.map((definition) => definition.id as SettingIdValue);
        const values = await Promise.all(ids.map((id) => source.getValueById(id)));
        const raw: Partial<Record<SettingIdValue, unknown>> = {};
        ids.forEach((id, index) => {
            raw[id] = values[index];
        });
        const config = parseBridgeConfig(raw);
        if (generation === this.generation) {
            this.cached = { config, at: this.now() }; // not if a setting changed while we were reading
        }
        return config;
    }
}
