import type { ISetting } from '@rocket.chat/apps-engine/definition/settings';
import { SettingType } from '@rocket.chat/apps-engine/definition/settings/SettingType';

import { MAX_REQUEST_TIMEOUT_MS } from '../lib/limits';
import { DEFAULT_WINDOW_HOURS, DEFAULT_WINDOW_SCHEMES } from '../lib/reach';

/** Setting ids are part of the product contract: admins script them through Rocket.Chat's REST API. */
export const SettingId = {
    RapidProUrl: 'rapidpro_url',
    RapidProToken: 'rapidpro_token',
    BridgeSecret: 'bridge_secret',
    DefaultDepartment: 'default_department',
    SendMode: 'send_mode',
    MaxTextLength: 'max_text_length',
    HistoryOnHandoff: 'history_on_handoff',
    StatusField: 'status_field',
    RoomField: 'room_field',
    CloseFlowUuid: 'close_flow_uuid',
    NoticeQueued: 'notice_queued',
    NoticeAssigned: 'notice_assigned',
    NoticeTransferred: 'notice_transferred',
    NoticeClosed: 'notice_closed',
    SendCorrections: 'send_corrections',
    DefaultLanguage: 'default_language',
    RetryMaxAgeHours: 'retry_max_age_hours',
    RequestTimeoutMs: 'request_timeout_ms',
    ReengageFlowUuid: 'reengage_flow_uuid',
    WindowHours: 'window_hours',
    WindowSchemes: 'window_schemes',
    CoalesceBacklog: 'coalesce_backlog',
    /** Not in the contract: hidden, on; the benchmark turns it off to measure the bridge without it. */
    ScopePause: 'scope_pause',
} as const;

export type SettingIdValue = (typeof SettingId)[keyof typeof SettingId];

export const DEFAULT_MAX_TEXT_LENGTH = 4096;
export const DEFAULT_RETRY_MAX_AGE_HOURS = 24;
export const DEFAULT_REQUEST_TIMEOUT_MS = MAX_REQUEST_TIMEOUT_MS;

function setting(id: SettingIdValue, type: SettingType, packageValue: unknown, section: string, extra: Partial<ISetting> = {}): ISetting {
    return {
        id,
        type,
        packageValue,
        required: false,
        public: false,
        section,
        i18nLabel: `${id}_label`,
        i18nDescription: `${id}_description`,
        ...extra,
    };
}

export const settingsDefinitions: Array<ISetting> = [
    setting(SettingId.RapidProUrl, SettingType.STRING, '', 'connection', { required: true, i18nPlaceholder: 'rapidpro_url_placeholder' }),
    setting(SettingId.RapidProToken, SettingType.PASSWORD, '', 'connection', { required: true }),
    setting(SettingId.BridgeSecret, SettingType.PASSWORD, '', 'connection', { required: true }),
    setting(SettingId.SendMode, SettingType.SELECT, 'messages', 'connection', {
        values: [
            { key: 'messages', i18nLabel: 'send_mode_messages' },
            { key: 'broadcasts', i18nLabel: 'send_mode_broadcasts' },
        ],
    }),
    setting(SettingId.RequestTimeoutMs, SettingType.NUMBER, DEFAULT_REQUEST_TIMEOUT_MS, 'connection'),
    setting(SettingId.RetryMaxAgeHours, SettingType.NUMBER, DEFAULT_RETRY_MAX_AGE_HOURS, 'connection'),
    setting(SettingId.DefaultDepartment, SettingType.STRING, '', 'handoff'),
    setting(SettingId.HistoryOnHandoff, SettingType.BOOLEAN, false, 'handoff'),
    setting(SettingId.DefaultLanguage, SettingType.STRING, 'eng', 'handoff'),
    setting(SettingId.MaxTextLength, SettingType.NUMBER, DEFAULT_MAX_TEXT_LENGTH, 'messages'),
    setting(SettingId.SendCorrections, SettingType.BOOLEAN, true, 'messages'),
    setting(SettingId.CoalesceBacklog, SettingType.BOOLEAN, true, 'messages'),
    setting(SettingId.ScopePause, SettingType.BOOLEAN, true, 'connection', { hidden: true }),
    setting(SettingId.StatusField, SettingType.STRING, '', 'contact_fields'),
    setting(SettingId.RoomField, SettingType.STRING, '', 'contact_fields'),
    setting(SettingId.CloseFlowUuid, SettingType.STRING, '', 'contact_fields'),
    setting(SettingId.WindowHours, SettingType.NUMBER, DEFAULT_WINDOW_HOURS, 'reach'),
    setting(SettingId.WindowSchemes, SettingType.STRING, DEFAULT_WINDOW_SCHEMES, 'reach'),
    setting(SettingId.ReengageFlowUuid, SettingType.STRING, '', 'reach'),
    setting(SettingId.NoticeQueued, SettingType.STRING, '', 'notices', { multiline: true }),
    setting(SettingId.NoticeAssigned, SettingType.STRING, '', 'notices', { multiline: true }),
    setting(SettingId.NoticeTransferred, SettingType.STRING, '', 'notices', { multiline: true }),
    setting(SettingId.NoticeClosed, SettingType.STRING, '', 'notices', { multiline: true }),
];
