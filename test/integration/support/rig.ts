import { randomUUID } from 'node:crypto';

import { type ApiResult, EngineHost, type EngineHostOptions, mainAppZip } from '../../../harness/engine';
import type { DepartmentSpec } from '../../../harness/rocketchat/RocketChat';
import { type RapidProSimulator, type RapidProSimulatorOptions, startRapidProSimulator } from '../../../harness/rapidpro-sim/simulator';

export const SECRET = 'bridge-secret-for-tests-7f3a';

export interface Contact {
    uuid: string;
    name: string;
    urn: string;
    language?: string;
}

export interface BridgeRig {
    host: EngineHost;
    sim: RapidProSimulator;
    /** Calls an endpoint with the bridge secret. */
    // biome-ignore lint/suspicious/noExplicitAny: tests read the JSON bodies they expect without declaring each shape
    call<T = any>(path: string, body?: unknown, options?: { method?: string; headers?: Record<string, string> }): Promise<ApiResult<T>>;
    newContact(overrides?: Partial<Contact>): Contact;
    /** RapidPro's default Call Webhook body for a contact. */
    defaultBody(contact: Contact, extra?: Record<string, unknown>): Record<string, unknown>;
    /** Hands a new contact over and lets an agent take the room. */
    openChat(agent?: string): Promise<{ contact: Contact; roomId: string }>;
    /**
     * Waits (in real time) until the contact's waiting outbox items are due: the app judges "due" by its own
     * clock, real time in the runtime process, not the harness's virtual clock. Answers how many wait.
     */
    waitForBackoff(contactUuid: string): Promise<number>;
    /** Sends what is due in the outbox (scheduled drains) by advancing the virtual clock. */
    flush(ms?: number): Promise<void>;
    stop(): Promise<void>;
}

export interface RigOptions {
    routing?: 'auto' | 'manual';
    settings?: Record<string, unknown>;
    sim?: RapidProSimulatorOptions;
    host?: Partial<EngineHostOptions>;
    departments?: DepartmentSpec[];
}

/** A fresh RapidPro contact on WhatsApp. */
export function newContact(overrides: Partial<Contact> = {}): Contact {
    const uuid = randomUUID();
    return { uuid, name: `Contact ${uuid.slice(0, 4)}`, urn: `whatsapp:55119${Math.floor(Math.random() * 1e8)}`, ...overrides };
}

/** RapidPro's default Call Webhook body for a contact. */
export function defaultBody(contact: Contact, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        contact: {
            uuid: contact.uuid,
            name: contact.name,
            urn: contact.urn,
            ...(contact.language ? { language: contact.language } : {}),
        },
        flow: { uuid: 'a1b2c3d4-0000-4000-8000-000000000001', name: 'Triage' },
        results: { symptom: { value: 'fever', category: 'Fever' } },
        ...extra,
    };
}

export const DEFAULT_DEPARTMENTS = [
    { name: 'General', agents: [{ username: 'alice', name: 'Alice Agent', online: true }] },
    { name: 'Cardiology', agents: [{ username: 'bob', name: 'Dr Bob', online: true }] },
    { name: 'Night shift', agents: [{ username: 'carol', name: 'Carol', online: false }] },
];

/** The packaged app in the real engine, an in-memory Rocket.Chat and a RapidPro simulator, wired. */
export async function startBridge(options: RigOptions = {}): Promise<BridgeRig> {
    const sim = await startRapidProSimulator(options.sim);
    const host = await EngineHost.start({
        zip: mainAppZip(),
        routing: options.routing || 'manual',
        runtimeTimeoutMs: 15000,
        ...options.host,
        settings: {
            rapidpro_url: sim.url,
            rapidpro_token: sim.token,
            bridge_secret: SECRET,
            ...options.settings,
        },
    });
    for (const department of options.departments || DEFAULT_DEPARTMENTS) {
        host.rc.addDepartment(department);
    }
    const rig: BridgeRig = {
        host,
        sim,
        call: (path, body, callOptions = {}) =>
            host.callApi({
                path,
                method: callOptions.method || (body === undefined ? 'GET' : 'POST'),
                body,
                headers: { Authorization: `Token ${SECRET}`, ...callOptions.headers },
            }),
        newContact,
        defaultBody,
        openChat: async (agent = 'alice') => {
            const contact = rig.newContact();
            const res = await rig.call('handoff', rig.defaultBody(contact));
            if (res.status !== 200) {
                throw new Error(`handoff failed: ${res.status} ${res.raw}`);
            }
            await host.rc.takeRoom(res.body.room_id, agent);
            await rig.flush();
            return { contact, roomId: res.body.room_id };
        },
        waitForBackoff: async (contactUuid) => {
            const waiting = host
                .persistence()
                .map((record) => record.data as { contactUuid?: string; nextAttemptAt?: number })
                .filter((item) => item.contactUuid === contactUuid && typeof item.nextAttemptAt === 'number');
            const latest = Math.max(0, ...waiting.map((item) => item.nextAttemptAt as number));
            await new Promise((resolve) => setTimeout(resolve, Math.max(0, latest - Date.now() + 50)));
            return waiting.length;
        },
        flush: async (ms = 0) => {
            if (ms > 0) {
                await host.clock.advance(ms);
            }
            await host.runDueJobs();
            await host.rc.idle();
        },
        stop: async () => {
            await host.stop();
            await sim.close();
        },
    };
    return rig;
}
