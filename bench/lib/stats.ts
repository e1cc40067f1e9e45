/** Small statistics helpers for the benchmark (latencies in ms). */

export interface Summary {
    n: number;
    p50: number;
    p90: number;
    p99: number;
    mean: number;
    min: number;
    max: number;
}

export function percentile(sorted: number[], p: number): number {
    if (sorted.length === 0) {
        return NaN;
    }
    // nearest-rank on the sorted samples
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[rank];
}

export function summarize(samples: number[]): Summary {
    const sorted = [...samples].sort((a, b) => a - b);
    const sum = sorted.reduce((a, b) => a + b, 0);
    return {
        n: sorted.length,
        p50: round(percentile(sorted, 50)),
        p90: round(percentile(sorted, 90)),
        p99: round(percentile(sorted, 99)),
        mean: round(sorted.length ? sum / sorted.length : NaN),
        min: round(sorted[0] ?? NaN),
        max: round(sorted[sorted.length - 1] ?? NaN),
    };
}

export function median(values: number[]): number {
    return percentile(
        [...values].sort((a, b) => a - b),
        50,
    );
}

export function round(value: number, digits = 3): number {
    if (!Number.isFinite(value)) {
        return value;
    }
    const f = 10 ** digits;
    return Math.round(value * f) / f;
}

export function ratio(a: number, b: number, digits = 3): number {
    return b > 0 ? round(a / b, digits) : NaN;
}
