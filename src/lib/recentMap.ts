/**
 * A map that keeps only its most recently set entries (the oldest goes past `limit`): what one
 * instance remembers of rooms and contacts to save a read, never needed for correctness.
 */
export class RecentMap<K, V> {
    private readonly entries = new Map<K, V>();

    constructor(private readonly limit: number) {}

    get(key: K): V | undefined {
        return this.entries.get(key);
    }

    set(key: K, value: V): void {
        this.entries.delete(key);
        this.entries.set(key, value);
        if (this.entries.size > this.limit) {
            this.entries.delete(this.entries.keys().next().value as K);
        }
    }

    delete(key: K): void {
        this.entries.delete(key);
    }

    get size(): number {
        return this.entries.size;
    }
}
