/** Delivery bookkeeping shared by the benchmark subjects (bench/worker.ts, bench/clusterWorker.ts). */

/** The app's bridge_secret in every subject. */
export const SECRET = 'bench-bridge-secret-3c9d';

/** FIFO limit on concurrent operations (0 = none). */
export class Slots {
    private free: number;
    private readonly waiting: Array<() => void> = [];

    constructor(private readonly limit: number) {
        this.free = limit;
    }

    async run<T>(work: () => Promise<T>): Promise<T> {
        if (this.limit > 0) {
            if (this.free > 0) {
                this.free--;
            } else {
                await new Promise<void>((resolve) => this.waiting.push(resolve));
            }
        }
        try {
            return await work();
        } finally {
            if (this.limit > 0) {
                const next = this.waiting.shift();
                if (next) {
                    next();
                } else {
                    this.free++;
                }
            }
        }
    }
}

export interface DirectionCheck {
    expected: number;
    received: number;
    lost: number;
    duplicated: number;
    reordered: number;
    misrouted: number;
}

/**
 * Per conversation (by idx), the message indexes received in arrival order against 0..m-1:
 * lost (never), duplicated (again), reordered (after a later one of the same conversation).
 */
export function check(convs: Array<{ idx: number }>, m: number, got: Map<number, number[]>): Omit<DirectionCheck, 'misrouted'> {
    let received = 0;
    let lost = 0;
    let duplicated = 0;
    let reordered = 0;
    for (const c of convs) {
        const seq = got.get(c.idx) || [];
        received += seq.length;
        const seen = new Set<number>();
        let highest = -1;
        for (const i of seq) {
            if (seen.has(i)) {
                duplicated++;
                continue;
            }
            seen.add(i);
            if (i < highest) {
                reordered++; // arrived after a later message of the same conversation
            }
            highest = Math.max(highest, i);
        }
        for (let i = 0; i < m; i++) {
            if (!seen.has(i)) {
                lost++;
            }
        }
    }
    return { expected: convs.length * m, received, lost, duplicated, reordered };
}
