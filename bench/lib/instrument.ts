/**
 * Host-side instrumentation of one EngineHost, from bench code only (nothing in harness/ changes):
 *
 * - every message the app's Deno process sends to the host (`accessor:...` and `bridges:...` calls:
 *   persistence, settings, rooms, messages, HTTP, scheduler) and every request the host sends to the
 *   app (`api:...` endpoint calls, `listener:...` events), counted by method;
 * - the persistence bridge (what would reach MongoDB): reads and writes by method;
 * - an index on associations for the emulated persistence (see below).
 *
 * Why an index: harness/engine/bridges/persistence.ts MemoryPersistenceBridge answers readByAssociations,
 * removeByAssociations and updateByAssociations with a linear scan of every record of every app
 * (`[...this.records.values()].filter/find` with a JSON.stringify per association). Rocket.Chat
 * keeps app persistence in MongoDB with an index on `associations`, so with 100k stored
 * conversations a scan in the emulation would measure the emulation, not the app. The index below
 * gives the same answers (same records, same order: records are indexed in insertion order) and is
 * checked against the scan at install time and by `verify()`.
 */
import type { EngineHost } from '../../harness/engine';
import { clone, randomId } from '../../harness/engine/util';

export interface StoredRecord {
    _id: string;
    appId: string;
    associations?: Array<{ model: string; id: string }>;
    data: object;
}

type Assoc = { model: string; id: string };

function key(association: object): string {
    return JSON.stringify(association);
}

function plain(associations: object[] | undefined): Assoc[] {
    return (associations ?? []).map((a) => JSON.parse(JSON.stringify(a)));
}

function sameArray(a: Assoc[] | undefined, b: Assoc[]): boolean {
    return !!a && a.length === b.length && a.every((x, i) => key(x) === key(b[i]));
}

export type Counts = Record<string, number>;

export class HostInstrument {
    /** Calls by name; see snapshot(). */
    private readonly counts = new Map<string, number>();
    private readonly index = new Map<string, Set<string>>();
    /** When false the wrapped bridge falls back to the harness's own linear scan (to show its cost). */
    public indexEnabled = true;
    private readonly records: Map<string, StoredRecord>;
    // biome-ignore lint/suspicious/noExplicitAny: the persistence bridge methods replaced here are protected in its declaration
    private readonly bridge: any;

    constructor(private readonly host: EngineHost) {
        // biome-ignore lint/suspicious/noExplicitAny: the persistence bridge methods replaced here are protected in its declaration
        this.bridge = host.bridges.persistence as any;
        this.records = this.bridge.records as Map<string, StoredRecord>;
    }

    public install(): this {
        this.wrapRuntime();
        this.wrapPersistence();
        return this;
    }

    private bump(name: string, by = 1): void {
        this.counts.set(name, (this.counts.get(name) ?? 0) + by);
    }

    public snapshot(): Counts {
        const out: Counts = {};
        for (const [k, v] of this.counts) {
            out[k] = v;
        }
        out['http:calls'] = this.host.httpCalls.length;
        return out;
    }

    public static diff(after: Counts, before: Counts): Counts {
        const out: Counts = {};
        for (const [k, v] of Object.entries(after)) {
            const d = v - (before[k] ?? 0);
            if (d !== 0) {
                out[k] = d;
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ Deno <-> host messages

    private wrapRuntime(): void {
        // biome-ignore lint/suspicious/noExplicitAny: the runtime controller internals wrapped here are not in its declaration
        const runtime = this.host.app.getRuntimeController() as any;
        const incoming = runtime.handleIncomingMessage.bind(runtime);
        // biome-ignore lint/suspicious/noExplicitAny: the runtime controller internals wrapped here are not in its declaration
        runtime.handleIncomingMessage = (message: any) => {
            const method = String(message?.payload?.method ?? '');
            if (method.startsWith('accessor:') || method.startsWith('bridges:')) {
                this.bump(`app->host:${method}`);
                this.bump('app->host:total');
            }
            return incoming(message);
        };
        const send = runtime.sendRequest.bind(runtime);
        // biome-ignore lint/suspicious/noExplicitAny: the runtime controller internals wrapped here are not in its declaration
        runtime.sendRequest = (message: any, ...rest: unknown[]) => {
            const method = String(message?.method ?? '');
            this.bump(`host->app:${method.replace(/^(api:[^:]+:[^:]+).*$/, '$1')}`);
            this.bump('host->app:total');
            return send(message, ...rest);
        };
    }

    /** The Deno process of the app (for VmHWM). */
    public denoPid(): number | undefined {
        // biome-ignore lint/suspicious/noExplicitAny: the runtime controller internals wrapped here are not in its declaration
        const runtime = this.host.app.getRuntimeController() as any;
        return runtime?.deno?.pid;
    }

    // ------------------------------------------------------------------ persistence

    private wrapPersistence(): void {
        const b = this.bridge;
        const proto = Object.getPrototypeOf(b);
        const scan = {
            readByAssociations: proto.readByAssociations.bind(b),
            removeByAssociations: proto.removeByAssociations.bind(b),
            updateByAssociations: proto.updateByAssociations.bind(b),
        };
        for (const r of this.records.values()) {
            this.addToIndex(r);
        }

        b.create = async (data: object, appId: string) => {
            this.bump('db:write:create');
            if (typeof data !== 'object') {
                throw new Error('Attempted to store an invalid data type, it must be an object.');
            }
            const r: StoredRecord = { _id: randomId(), appId, data: clone(data) };
            this.insert(r);
            return r._id;
        };
        b.createWithAssociations = async (data: object, associations: object[], appId: string) => {
            this.bump('db:write:createWithAssociations');
            if (typeof data !== 'object') {
                throw new Error('Attempted to store an invalid data type, it must be an object.');
            }
            const r: StoredRecord = { _id: randomId(), appId, associations: plain(associations), data: clone(data) };
            this.insert(r);
            return r._id;
        };
        b.readById = async (id: string, appId: string) => {
            this.bump('db:read:readById');
            const r = this.records.get(id);
            return r && r.appId === appId ? clone(r.data) : undefined;
        };
        b.readByAssociations = async (associations: object[], appId: string) => {
            this.bump('db:read:readByAssociations');
            if (!this.indexEnabled) {
                return scan.readByAssociations(associations, appId);
            }
            return this.match(associations, appId).map((r) => clone(r.data));
        };
        b.remove = async (id: string, appId: string) => {
            this.bump('db:write:remove');
            const r = this.records.get(id);
            if (!r || r.appId !== appId) {
                return undefined;
            }
            this.delete(r);
            return r.data;
        };
        b.removeByAssociations = async (associations: object[], appId: string) => {
            this.bump('db:write:removeByAssociations');
            if (!this.indexEnabled) {
                const before = new Set(this.records.keys());
                const out = await scan.removeByAssociations(associations, appId);
                this.resyncAfterScan(before);
                return out;
            }
            const matches = this.match(associations, appId);
            for (const r of matches) {
                this.delete(r);
            }
            return matches.map((r) => r.data);
        };
        b.updateByAssociations = async (associations: object[], data: object, upsert: boolean, appId: string) => {
            this.bump('db:write:updateByAssociations');
            if (typeof data !== 'object') {
                throw new Error('Attempted to store an invalid data type, it must be an object.');
            }
            if (!this.indexEnabled) {
                const before = new Set(this.records.keys());
                const out = await scan.updateByAssociations(associations, data, upsert, appId);
                this.resyncAfterScan(before);
                return out;
            }
            const wanted = plain(associations);
            const candidates = wanted.length ? this.candidates(wanted[0]) : this.records.keys();
            for (const id of candidates) {
                const r = this.records.get(id);
                if (r && r.appId === appId && sameArray(r.associations, wanted)) {
                    r.data = clone(data);
                    return r._id;
                }
            }
            if (!upsert) {
                return undefined;
            }
            const r: StoredRecord = { _id: randomId(), appId, associations: wanted, data: clone(data) };
            this.insert(r);
            return r._id;
        };
        b.purge = async (appId: string) => {
            for (const r of [...this.records.values()]) {
                if (r.appId === appId) {
                    this.delete(r);
                }
            }
        };
    }

    private candidates(association: object): Iterable<string> {
        return this.index.get(key(association)) ?? [];
    }

    /** Records of the app having ALL the given associations (the harness's `$all` semantics). */
    private match(associations: object[], appId: string): StoredRecord[] {
        const wanted = plain(associations);
        if (wanted.length === 0) {
            return [...this.records.values()].filter((r) => r.appId === appId);
        }
        let smallest: Set<string> | undefined;
        for (const w of wanted) {
            const set = this.index.get(key(w));
            if (!set) {
                return [];
            }
            if (!smallest || set.size < smallest.size) {
                smallest = set;
            }
        }
        const wantedKeys = wanted.map(key);
        const out: StoredRecord[] = [];
        for (const id of smallest as Set<string>) {
            const r = this.records.get(id);
            if (r && r.appId === appId) {
                const have = new Set((r.associations ?? []).map(key));
                if (wantedKeys.every((k) => have.has(k))) {
                    out.push(r);
                }
            }
        }
        return out;
    }

    private addToIndex(r: StoredRecord): void {
        for (const a of r.associations ?? []) {
            const k = key(a);
            let set = this.index.get(k);
            if (!set) {
                set = new Set();
                this.index.set(k, set);
            }
            set.add(r._id);
        }
    }

    private insert(r: StoredRecord): void {
        this.records.set(r._id, r);
        this.addToIndex(r);
    }

    private delete(r: StoredRecord): void {
        this.records.delete(r._id);
        for (const a of r.associations ?? []) {
            const k = key(a);
            const set = this.index.get(k);
            if (set) {
                set.delete(r._id);
                if (set.size === 0) {
                    this.index.delete(k);
                }
            }
        }
    }

    /** After a call served by the harness's own scan: index what it added, unindex what it removed. */
    private resyncAfterScan(before: Set<string>): void {
        for (const id of before) {
            if (!this.records.has(id)) {
                for (const [k, set] of this.index) {
                    if (set.delete(id) && set.size === 0) {
                        this.index.delete(k);
                    }
                }
            }
        }
        for (const [id, r] of this.records) {
            if (!before.has(id)) {
                this.addToIndex(r);
            }
        }
    }

    // ------------------------------------------------------------------ seeding (bench only)

    /** Inserts records straight into the harness storage (as if written earlier), indexed. */
    public seed(records: StoredRecord[]): void {
        for (const r of records) {
            this.insert(r);
        }
    }

    public unseed(records: StoredRecord[]): void {
        for (const r of records) {
            if (this.records.get(r._id) === r) {
                this.delete(r);
            }
        }
    }

    public get size(): number {
        return this.records.size;
    }

    /** The index gives what the harness's scan gives, for the given association queries. */
    public async verify(queries: object[][], appId: string): Promise<boolean> {
        const proto = Object.getPrototypeOf(this.bridge);
        for (const q of queries) {
            const viaScan = await proto.readByAssociations.call(this.bridge, q, appId);
            const viaIndex = this.match(q, appId).map((r) => clone(r.data));
            if (JSON.stringify(viaScan) !== JSON.stringify(viaIndex)) {
                return false;
            }
        }
        return true;
    }
}
