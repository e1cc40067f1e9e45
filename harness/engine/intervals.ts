/** Agenda's intervals, as apps pass them to `scheduleRecurring` (a subset of the human-interval package). */

const UNIT_MS: Record<string, number> = {
    ms: 1,
    millisecond: 1,
    milliseconds: 1,
    s: 1000,
    sec: 1000,
    secs: 1000,
    second: 1000,
    seconds: 1000,
    m: 60000,
    min: 60000,
    mins: 60000,
    minute: 60000,
    minutes: 60000,
    h: 3600000,
    hour: 3600000,
    hours: 3600000,
    d: 86400000,
    day: 86400000,
    days: 86400000,
    week: 604800000,
    weeks: 604800000,
};

/** human-interval subset: "10 seconds", "1.5 minutes", "2 hours and 5 minutes", or a number of ms. */
export function parseInterval(value: string | number): number {
    if (typeof value === 'number') {
        return value;
    }
    const text = value.trim().toLowerCase();
    if (/^\d+(\.\d+)?$/.test(text)) {
        return Number(text);
    }
    let total = 0;
    let matched = false;
    const re = /(\d+(?:\.\d+)?)\s*([a-z]+)/g;
    for (let m = re.exec(text); m; m = re.exec(text)) {
        const unit = UNIT_MS[m[2]];
        if (!unit) {
            throw new Error(`unsupported interval unit "${m[2]}" in "${value}"`);
        }
        total += Number(m[1]) * unit;
        matched = true;
    }
    if (!matched) {
        throw new Error(`unsupported interval "${value}" (cron expressions are not emulated)`);
    }
    return total;
}
