import { type ApiResult, Cluster, type ClusterOptions, mainAppZip, type Target } from '../../../harness/engine';
import type { RcMessage } from '../../../harness/rocketchat/types';
import { type RapidProSimulator, type RapidProSimulatorOptions, startRapidProSimulator } from '../../../harness/rapidpro-sim/simulator';
import { type Contact, DEFAULT_DEPARTMENTS, defaultBody, newContact, SECRET } from './rig';

export type { Contact } from './rig';

/**
 * The packaged app on a cluster of N Rocket.Chat instances (harness/engine/cluster.ts) with one RapidPro
 * simulator. Settings are configured once for all instances; every helper can pick the instance an action
 * happens on (`on`), else the cluster's policies choose.
 */
export interface ClusterRig {
    cluster: Cluster;
    sim: RapidProSimulator;
    /** An endpoint call with the bridge secret, through the balancer (`on`: an instance or 'round-robin'). */
    // biome-ignore lint/suspicious/noExplicitAny: tests read the JSON bodies they expect without declaring each shape
    call<T = any>(
        path: string,
        body?: unknown,
        options?: { on?: Target; method?: string; headers?: Record<string, string> },
    ): Promise<ApiResult<T>>;
    newContact(overrides?: Partial<Contact>): Contact;
    /** RapidPro's default Call Webhook body for a contact. */
    defaultBody(contact: Contact, extra?: Record<string, unknown>): Record<string, unknown>;
    /** Hands a new contact over (on `on`) and lets the agent take the room (its events on `takeOn`). */
    openChat(options?: { agent?: string; on?: Target; takeOn?: number }): Promise<{ contact: Contact; roomId: string }>;
    /**
     * The agent types a message; its IPostMessageSent fires on `on` (default: the cluster's event policy).
     * Resolves once every event is handled; start several without awaiting to model Rocket.Chat not waiting.
     */
    agentSends(roomId: string, text: string, options?: { on?: number; agent?: string }): Promise<RcMessage>;
    /** The agent closes the room; the close events fire on `on`. */
    agentCloses(roomId: string, options?: { on?: number; agent?: string }): Promise<void>;
    /** The texts RapidPro received for the contact, in the order it received them (a merged backlog split in its replies). */
    textsTo(contact: Contact): string[];
    /** The contact's outbox items as stored (shared app persistence). */
    outboxOf(contact: Contact): Array<{ contactUuid: string; nextAttemptAt?: number; leaseUntil?: number; leaseOwner?: string }>;
    /**
     * Waits in REAL time until no outbox item of the contact is leased or waiting for its backoff: the app judges
     * leases and backoff by its own clock (real time in the runtime process), which the virtual clock does not
     * move. Answers how long it waited (ms), at most `capMs`.
     */
    waitForLeases(contact: Contact, capMs?: number): Promise<number>;
    /** Sends what is due: moves the virtual clock to each pending outbox drain in turn and runs it (bounded). */
    flush(maxRounds?: number): Promise<number>;
    stop(): Promise<void>;
}

export interface ClusterRigOptions extends Partial<Omit<ClusterOptions, 'settings'>> {
    settings?: Record<string, unknown>;
    sim?: RapidProSimulatorOptions;
    departments?: typeof DEFAULT_DEPARTMENTS;
}

export async function startClusterBridge(options: ClusterRigOptions = {}): Promise<ClusterRig> {
    const { settings, sim: simOptions, departments, ...clusterOptions } = options;
    const sim = await startRapidProSimulator(simOptions);
    let cluster: Cluster;
    try {
        cluster = await Cluster.start({
            instances: 3,
            zip: mainAppZip(),
            routing: 'manual',
            runtimeTimeoutMs: 15000,
            ...clusterOptions,
            settings: { rapidpro_url: sim.url, rapidpro_token: sim.token, bridge_secret: SECRET, ...settings },
        });
    } catch (error) {
        await sim.close();
        throw error;
    }
    for (const department of departments || DEFAULT_DEPARTMENTS) {
        cluster.rc.addDepartment(department);
    }
    const inContext = <T>(on: number | undefined, fn: () => T): T => (on === undefined ? fn() : cluster.on(on, fn));
    const rig: ClusterRig = {
        cluster,
        sim,
        call: (path, body, callOptions = {}) =>
            cluster.callApi(
                {
                    path,
                    method: callOptions.method || (body === undefined ? 'GET' : 'POST'),
                    body,
                    headers: { Authorization: `Token ${SECRET}`, ...callOptions.headers },
                },
                { on: callOptions.on },
            ),
        newContact,
        defaultBody,
        openChat: async ({ agent = 'alice', on, takeOn } = {}) => {
            const contact = rig.newContact();
            const res = await rig.call('handoff', rig.defaultBody(contact), { on });
            if (res.status !== 200) {
                throw new Error(`handoff failed: ${res.status} ${res.raw}`);
            }
            await inContext(takeOn, () => cluster.rc.takeRoom(res.body.room_id, agent));
            await cluster.idle();
            await rig.flush();
            return { contact, roomId: res.body.room_id };
        },
        agentSends: (roomId, text, { on, agent = 'alice' } = {}) => inContext(on, () => cluster.rc.agentSendMessage(roomId, agent, text)),
        agentCloses: (roomId, { on, agent = 'alice' } = {}) => inContext(on, () => cluster.rc.agentClose(roomId, agent)),
        textsTo: (contact) =>
            [...sim.sent]
                .filter((m) => m.contact === contact.uuid)
                .sort((a, b) => a.seq - b.seq)
                // A backlog sent as one message (coalesce_backlog) counts as the replies it carries.
                .flatMap((m) => (m.text ?? '').split('\n\n')),
        outboxOf: (contact) =>
            cluster
                .persistence()
                .map((record) => record.data as { record?: string; contactUuid?: string; nextAttemptAt?: number; leaseUntil?: number })
                .filter((item) => item.contactUuid === contact.uuid && typeof item.nextAttemptAt === 'number')
                .map((item) => item as { contactUuid: string; nextAttemptAt?: number; leaseUntil?: number; leaseOwner?: string }),
        waitForLeases: async (contact, capMs = 70000) => {
            const items = rig.outboxOf(contact);
            const until = Math.max(0, ...items.map((item) => Math.max(item.leaseUntil ?? 0, item.nextAttemptAt ?? 0)));
            const wait = Math.min(capMs, Math.max(0, until - Date.now() + 50));
            await new Promise((resolve) => setTimeout(resolve, wait));
            return wait;
        },
        flush: async (maxRounds = 40) => {
            let rounds = 0;
            await cluster.runDue();
            for (; rounds < maxRounds; rounds++) {
                const next = cluster
                    .pendingJobs()
                    .filter((job) => job.name.startsWith('rapidpro-outbox-drain'))
                    .map((job) => (job.nextRunAt as Date).getTime())
                    .sort((a, b) => a - b)[0];
                if (next === undefined) {
                    break;
                }
                await cluster.advance(Math.max(0, next - cluster.clock.now().getTime()));
            }
            await cluster.idle();
            return rounds;
        },
        stop: async () => {
            await cluster.stop();
            await sim.close();
        },
    };
    return rig;
}
