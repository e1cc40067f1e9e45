import { nonEmpty } from './common';
import type { FlowResult } from './types';

export function stringifyScalar(value: string | number | boolean | null | undefined): string {
    return value === null || value === undefined ? '' : String(value);
}

/** The flow's `results` (`{"key": {"name","value","category"}}` or `{"key": value}`), in their order. */
export function toResults(raw: Record<string, unknown> | null | undefined): FlowResult[] {
    if (!raw) {
        return [];
    }
    return Object.keys(raw).map((key) => {
        const entry = raw[key];
        if (entry !== null && typeof entry === 'object') {
            const result = entry as { name?: string | null; value?: string | number | boolean | null; category?: string | null };
            return {
                key,
                name: nonEmpty(result.name) || key,
                // Never cut: the agent's note is split to the server's message size instead (the body is at most 100 kB).
                value: stringifyScalar(result.value),
                category: nonEmpty(result.category),
            };
        }
        return { key, name: key, value: stringifyScalar(entry as string | number | boolean | null) };
    });
}
