/**
 * Serializes async work per key inside one app instance (one Deno process), e.g. two webhook calls
 * for the same contact. Holds no data: across instances, persisted claims and leases take over.
 */
export class KeyedMutex {
    private readonly tails = new Map<string, Promise<void>>();

    /** Whether no work for the key runs or waits. */
    isIdle(key: string): boolean {
        return !this.tails.has(key);
    }

    /** Takes the key's lock now if nothing holds or waits for it; answers the function that gives it back. */
    tryLock(key: string): (() => void) | undefined {
        if (this.tails.has(key)) {
            return undefined;
        }
        let release!: () => void;
        const tail = new Promise<void>((resolve) => {
            release = resolve;
        });
        this.tails.set(key, tail);
        return () => {
            release();
            if (this.tails.get(key) === tail) {
                this.tails.delete(key);
            }
        };
    }

    async run<T>(key: string, work: () => Promise<T>): Promise<T> {
        const previous = this.tails.get(key) || Promise.resolve();
        let release!: () => void;
        const current = new Promise<void>((resolve) => {
            release = resolve;
        });
        const tail = previous.then(() => current);
        this.tails.set(key, tail);
        await previous;
        try {
            return await work();
        } finally {
            release();
            if (this.tails.get(key) === tail) {
                this.tails.delete(key);
            }
        }
    }
}
