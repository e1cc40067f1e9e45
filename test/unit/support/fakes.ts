import type { IHttp, IHttpRequest, IHttpResponse, IModify, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import type { IOnetimeSchedule } from '@rocket.chat/apps-engine/definition/scheduler';

import { type DeliveryContext, DeliveryQueue } from '../../../src/domain/DeliveryQueue';
import { RapidProClientFactory } from '../../../src/domain/RapidProClientFactory';
import { RecordKind } from '../../../src/domain/records';
import { RoomNotifier } from '../../../src/domain/RoomNotifier';
import { type Logger, loggerOf } from '../../../src/lib/log';
import { type BridgeConfig, parseBridgeConfig } from '../../../src/settings/BridgeConfig';
import { MemoryPersistence } from './memoryPersistence';

/** A clock the test moves by hand. */
export class FakeClock {
    constructor(public value = Date.UTC(2026, 0, 1)) {}
    readonly now = (): number => this.value;
    advance(ms: number): void {
        this.value += ms;
    }
}

export interface SentRequest {
    method: 'get' | 'post';
    path: string;
    body?: Record<string, unknown>;
}

type Answer = IHttpResponse | Error | Promise<IHttpResponse>;

/**
 * RapidPro behind IHttp: records every request (path after /api/v2/, JSON body) and answers from a
 * script, 201 with a fresh uuid once the script is empty.
 */
export class FakeRapidPro implements Partial<IHttp> {
    readonly requests: SentRequest[] = [];
    private readonly script: Answer[] = [];
    private counter = 0;
    /** What `GET messages.json` lists (RapidPro's record of the contact's messages). */
    listed: Array<Record<string, unknown>> = [];

    /** The next answers, in order: a response, an Error (network failure) or a promise (a slow RapidPro). */
    answer(...answers: Answer[]): void {
        this.script.push(...answers);
    }

    static status(statusCode: number, data: unknown = {}, headers: Record<string, string> = {}): IHttpResponse {
        return { statusCode, data, headers } as IHttpResponse;
    }

    /** The texts RapidPro took or was asked to take, in order. */
    texts(): string[] {
        return this.requests.filter((r) => r.method === 'post' && r.path.indexOf('messages.json') === 0).map((r) => String(r.body?.text));
    }

    readonly get = (url: string, options?: IHttpRequest): Promise<IHttpResponse> => this.call('get', url, options);
    readonly post = (url: string, options?: IHttpRequest): Promise<IHttpResponse> => this.call('post', url, options);

    private async call(method: 'get' | 'post', url: string, options?: IHttpRequest): Promise<IHttpResponse> {
        const path = url.replace(/^.*\/api\/v2\//, '');
        const content = options?.content;
        const body =
            typeof content === 'string' && content.charAt(0) === '{' ? (JSON.parse(content) as Record<string, unknown>) : undefined;
        this.requests.push({ method, path, body });
        if (method === 'get' && path.indexOf('messages.json') === 0 && this.script.length === 0) {
            return FakeRapidPro.status(200, { results: this.listed, next: null });
        }
        const next = this.script.shift();
        if (next instanceof Error) {
            throw next;
        }
        return next !== undefined ? next : FakeRapidPro.status(201, { uuid: `rp-${++this.counter}` });
    }
}

/** Posts nothing: records what the agent would be told, per room. */
export class RecordingNotifier extends RoomNotifier {
    readonly notices: Array<{ roomId?: string; text: string }> = [];

    constructor() {
        super(silentLogger());
    }

    async notifyAgent(_ctx: unknown, roomId: string | undefined, text: string): Promise<void> {
        this.notices.push({ roomId, text });
    }
}

export interface RecordingLogger extends Logger {
    lines: Array<{ level: 'debug' | 'info' | 'warn' | 'error'; message: string }>;
    at(level: 'debug' | 'info' | 'warn' | 'error'): string[];
}

/** The app's logger (loggerOf) over a sink that keeps every line with its level. */
export function recordingLogger(): RecordingLogger {
    const lines: RecordingLogger['lines'] = [];
    const keep = (level: 'debug' | 'info' | 'warn' | 'error') => (message: unknown) => lines.push({ level, message: String(message) });
    const sink = { debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') };
    return {
        ...loggerOf(() => sink),
        lines,
        at: (level) => lines.filter((line) => line.level === level).map((line) => line.message),
    };
}

export function silentLogger(): Logger {
    return { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
}

export function testConfig(overrides: Record<string, unknown> = {}): BridgeConfig {
    return parseBridgeConfig({
        rapidpro_url: 'https://rapidpro.example.org',
        rapidpro_token: 'secret-token',
        bridge_secret: 'bridge',
        retry_max_age_hours: 24,
        ...overrides,
    });
}

/** The scheduler of the app's modify accessor: one-time jobs are recorded, never run by themselves. */
export class FakeScheduler {
    readonly jobs: IOnetimeSchedule[] = [];

    async scheduleOnce(job: IOnetimeSchedule): Promise<string> {
        this.jobs.push(job);
        return `job-${this.jobs.length}`;
    }

    /** The contact and time of each scheduled drain. */
    drains(): Array<{ contactUuid: string; when: number }> {
        return this.jobs.map((job) => ({
            contactUuid: String((job.data as { contactUuid?: string }).contactUuid),
            when: new Date(job.when).getTime(),
        }));
    }
}

/** What one call (event, endpoint, job) of one instance hands the delivery queue. */
export function deliveryContext(
    persistence: MemoryPersistence,
    rapidPro: FakeRapidPro,
    scheduler: FakeScheduler,
    config: BridgeConfig = testConfig(),
    uploads: Record<string, Buffer> = {},
): DeliveryContext {
    const read = {
        getPersistenceReader: () => persistence,
        getUploadReader: () => ({
            getBufferById: async (id: string) => {
                if (!uploads[id]) {
                    throw new Error('no such upload');
                }
                return uploads[id];
            },
        }),
    } as unknown as IRead;
    const modify = { getScheduler: () => scheduler } as unknown as IModify;
    return { read, modify, http: rapidPro as unknown as IHttp, persis: persistence, config };
}

/**
 * DeliveryQueue objects (one per "instance") on one in-memory persistence, RapidPro behind a
 * scripted IHttp, a hand-moved clock; `outbox(contact)` lists the contact's calls (its outbox key
 * also finds its send claims and forward logs).
 */
export function outboxFixture() {
    const persistence = new MemoryPersistence();
    const clock = new FakeClock();
    const rapidPro = new FakeRapidPro();
    const scheduler = new FakeScheduler();
    const notifier = new RecordingNotifier();
    const logger = recordingLogger();
    const instance = () => new DeliveryQueue(notifier, new RapidProClientFactory(), logger, clock.now);
    const outbox = (contact: string) =>
        persistence.dataWith(`outbox:${contact}`).filter((record) => record.record === RecordKind.OutboxItem);
    return { persistence, clock, rapidPro, scheduler, notifier, logger, instance, outbox };
}
