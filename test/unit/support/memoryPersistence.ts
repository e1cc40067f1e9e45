import type { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import type { RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

interface StoredRecord {
    id: string;
    associations: Array<{ model: string; id: string }>;
    data: object;
}

function plain(associations: RocketChatAssociationRecord[]): Array<{ model: string; id: string }> {
    return associations.map((a) => ({ model: String(a.getModel()), id: a.getID() }));
}

function same(a: { model: string; id: string }, b: { model: string; id: string }): boolean {
    return a.model === b.model && a.id === b.id;
}

/** Stored data goes through JSON like a Mongo document: a copy, with undefined fields dropped. */
function copy<T>(data: T): T {
    return JSON.parse(JSON.stringify(data)) as T;
}

/**
 * App persistence with the real server's semantics (apps/meteor/app/apps/server/bridges/persistence.ts):
 * reads and removes by associations match every record holding ALL the given ones (a subset);
 * updateByAssociations matches the EXACT array, order included, and inserts when `upsert` and
 * nothing matches; update(id) is not implemented on the server. No compare-and-set.
 * One object may be shared by several "instances" (objects of the app's classes) as a cluster shares Mongo.
 */
export class MemoryPersistence implements IPersistence, IPersistenceRead {
    private readonly records = new Map<string, StoredRecord>();
    private nextId = 0;
    /** Every write, in order (for tests that count them). */
    readonly writes: Array<{ op: string; keys: string[] }> = [];

    get size(): number {
        return this.records.size;
    }

    /** Every stored record: its data and association ids. */
    all(): Array<{ data: Record<string, unknown>; keys: string[] }> {
        return [...this.records.values()].map((r) => ({
            data: copy(r.data) as Record<string, unknown>,
            keys: r.associations.map((a) => a.id),
        }));
    }

    /** The data of records holding this association id. */
    dataWith(key: string): Array<Record<string, unknown>> {
        return this.all()
            .filter((r) => r.keys.indexOf(key) >= 0)
            .map((r) => r.data);
    }

    async create(data: object): Promise<string> {
        return this.insert(data, []);
    }

    async createWithAssociation(data: object, association: RocketChatAssociationRecord): Promise<string> {
        return this.insert(data, [association]);
    }

    async createWithAssociations(data: object, associations: RocketChatAssociationRecord[]): Promise<string> {
        return this.insert(data, associations);
    }

    async update(_id: string, _data: object, _upsert?: boolean): Promise<string> {
        throw new Error('Not implemented.'); // as on the server
    }

    async updateByAssociation(association: RocketChatAssociationRecord, data: object, upsert?: boolean): Promise<string> {
        return this.updateByAssociations([association], data, upsert);
    }

    async updateByAssociations(associations: RocketChatAssociationRecord[], data: object, upsert?: boolean): Promise<string> {
        const wanted = plain(associations);
        this.writes.push({ op: 'update', keys: wanted.map((a) => a.id) });
        const match = [...this.records.values()].find(
            (r) => r.associations.length === wanted.length && r.associations.every((a, i) => same(a, wanted[i])),
        );
        if (match) {
            match.data = copy(data);
            return match.id;
        }
        if (!upsert) {
            return undefined as unknown as string;
        }
        return this.insert(data, associations);
    }

    async remove(id: string): Promise<object> {
        const record = this.records.get(id);
        this.records.delete(id);
        return record ? record.data : (undefined as unknown as object);
    }

    async removeByAssociation(association: RocketChatAssociationRecord): Promise<object[]> {
        return this.removeByAssociations([association]);
    }

    async removeByAssociations(associations: RocketChatAssociationRecord[]): Promise<object[]> {
        const matches = this.matching(associations);
        this.writes.push({ op: 'remove', keys: plain(associations).map((a) => a.id) });
        for (const record of matches) {
            this.records.delete(record.id);
        }
        return matches.map((record) => record.data);
    }

    async read(id: string): Promise<object> {
        const record = this.records.get(id);
        return (record ? copy(record.data) : undefined) as object;
    }

    async readByAssociation(association: RocketChatAssociationRecord): Promise<object[]> {
        return this.readByAssociations([association]);
    }

    async readByAssociations(associations: RocketChatAssociationRecord[]): Promise<object[]> {
        return this.matching(associations).map((record) => copy(record.data));
    }

    private insert(data: object, associations: RocketChatAssociationRecord[]): string {
        if (typeof data !== 'object' || data === null) {
            throw new Error('Attempted to store an invalid data type, it must be an object.');
        }
        const id = `r${++this.nextId}`;
        this.records.set(id, { id, associations: plain(associations), data: copy(data) });
        this.writes.push({ op: 'create', keys: plain(associations).map((a) => a.id) });
        return id;
    }

    private matching(associations: RocketChatAssociationRecord[]): StoredRecord[] {
        const wanted = plain(associations);
        return [...this.records.values()].filter((record) => wanted.every((w) => record.associations.some((a) => same(a, w))));
    }
}
