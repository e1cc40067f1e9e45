import type { RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';
import { PersistenceBridge } from '@rocket.chat/apps-engine/server/bridges';

import { clone, randomId } from '../util';

export interface PersistenceRecord {
    _id: string;
    appId: string;
    associations?: Array<{ model: string; id: string }>;
    data: object;
}

/** Mongo document equality: same keys, same order, same values. */
function sameAssociation(a: object, b: object): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}

function plainAssociations(associations: RocketChatAssociationRecord[] | undefined): Array<{ model: string; id: string }> {
    return (associations ?? []).map((a) => JSON.parse(JSON.stringify(a)));
}

/**
 * bridges/persistence.ts: reads/removes by associations match records having ALL the given
 * associations ($all: a subset); updateByAssociations matches the EXACT array (order too), upserts
 * a new record when nothing matches; update(id) is not implemented on the server.
 */
export class MemoryPersistenceBridge extends PersistenceBridge {
    /** Cluster mode passes the one map every instance uses (the shared database). */
    constructor(public readonly records: Map<string, PersistenceRecord> = new Map()) {
        super();
    }

    protected async purge(appId: string): Promise<void> {
        for (const [id, r] of this.records) {
            if (r.appId === appId) {
                this.records.delete(id);
            }
        }
    }

    protected async create(data: object, appId: string): Promise<string> {
        if (typeof data !== 'object') {
            throw new Error('Attempted to store an invalid data type, it must be an object.');
        }
        const _id = randomId();
        this.records.set(_id, { _id, appId, data: clone(data) });
        return _id;
    }

    protected async createWithAssociations(data: object, associations: RocketChatAssociationRecord[], appId: string): Promise<string> {
        if (typeof data !== 'object') {
            throw new Error('Attempted to store an invalid data type, it must be an object.');
        }
        const _id = randomId();
        this.records.set(_id, { _id, appId, associations: plainAssociations(associations), data: clone(data) });
        return _id;
    }

    protected async readById(id: string, appId: string): Promise<object> {
        const r = this.records.get(id);
        return (r && r.appId === appId ? clone(r.data) : undefined) as object;
    }

    protected async readByAssociations(associations: RocketChatAssociationRecord[], appId: string): Promise<object[]> {
        return this.matchAll(associations, appId).map((r) => clone(r.data));
    }

    protected async remove(id: string, appId: string): Promise<object | undefined> {
        const r = this.records.get(id);
        if (!r || r.appId !== appId) {
            return undefined;
        }
        this.records.delete(id);
        return r.data;
    }

    protected async removeByAssociations(associations: RocketChatAssociationRecord[], appId: string): Promise<object[] | undefined> {
        const matches = this.matchAll(associations, appId);
        for (const r of matches) {
            this.records.delete(r._id);
        }
        return matches.map((r) => r.data);
    }

    protected async update(id: string, data: object): Promise<string> {
        if (typeof data !== 'object') {
            throw new Error('Attempted to store an invalid data type, it must be an object.');
        }
        throw new Error('Not implemented.');
    }

    protected async updateByAssociations(
        associations: RocketChatAssociationRecord[],
        data: object,
        upsert: boolean,
        appId: string,
    ): Promise<string> {
        if (typeof data !== 'object') {
            throw new Error('Attempted to store an invalid data type, it must be an object.');
        }
        const wanted = plainAssociations(associations);
        const match = [...this.records.values()].find(
            (r) =>
                r.appId === appId &&
                r.associations &&
                r.associations.length === wanted.length &&
                r.associations.every((a, i) => sameAssociation(a, wanted[i])),
        );
        if (match) {
            match.data = clone(data);
            return match._id;
        }
        if (!upsert) {
            return undefined as unknown as string;
        }
        const _id = randomId();
        this.records.set(_id, { _id, appId, associations: wanted, data: clone(data) });
        return _id;
    }

    private matchAll(associations: RocketChatAssociationRecord[], appId: string): PersistenceRecord[] {
        const wanted = plainAssociations(associations);
        return [...this.records.values()].filter(
            (r) => r.appId === appId && wanted.every((w) => (r.associations ?? []).some((a) => sameAssociation(a, w))),
        );
    }
}
