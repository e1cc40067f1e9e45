/**
 * The text of the admin's `/rapidpro` answers (pure: the command gathers the facts, this words them).
 * Nothing secret goes in: no token, no secret, no URL credentials; only states, counts and times.
 */

export type RapidProReachability = 'ok' | 'unauthorized' | 'unreachable' | 'not_configured';

export interface OutboxFacts {
    count: number;
    oldestAt?: number;
    nextTryAt?: number;
    lastError?: string;
}

export interface BridgeFacts {
    version: string;
    /** rapidpro_url, rapidpro_token and bridge_secret are all set. */
    configured: boolean;
    /** Which of those are missing (their setting ids, never their values). */
    missing: string[];
    rapidpro: RapidProReachability;
    outbox: OutboxFacts;
    failures: { count: number; lastAt?: number; lastReason?: string };
}

export interface RoomFacts {
    contactName?: string;
    rapidpro: RapidProReachability;
    outbox: OutboxFacts;
}

export type CommandAction = 'status' | 'flush' | 'help';

/** `/rapidpro`, `/rapidpro status`, `/rapidpro flush`; anything else: help. */
export function parseAction(args: string[]): CommandAction {
    const word = (args[0] || 'status').toLowerCase();
    return word === 'status' || word === 'flush' ? word : 'help';
}

const REACHABILITY: Record<RapidProReachability, string> = {
    ok: 'reachable, token accepted',
    unauthorized: 'reachable, but it refuses the API token (check rapidpro_token)',
    unreachable: 'NOT reachable (network error, timeout or server error)',
    not_configured: 'not configured (rapidpro_url, rapidpro_token)',
};

/** "45 s", "12 min", "3 h 5 min", "2 d 4 h". */
export function duration(ms: number): string {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) {
        return `${s} s`;
    }
    const min = Math.round(s / 60);
    if (min < 60) {
        return `${min} min`;
    }
    const h = Math.floor(min / 60);
    if (h < 48) {
        return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
    }
    const d = Math.floor(h / 24);
    return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

function ago(at: number, now: number): string {
    return `${duration(now - at)} ago`;
}

function outboxLines(outbox: OutboxFacts, now: number): string[] {
    if (outbox.count === 0) {
        return ['Replies waiting: none'];
    }
    const lines = [`Replies waiting: ${outbox.count}`];
    if (outbox.oldestAt !== undefined) {
        lines.push(`  oldest: queued ${ago(outbox.oldestAt, now)}`);
    }
    if (outbox.nextTryAt !== undefined) {
        lines.push(`  next try: ${outbox.nextTryAt <= now ? 'now' : `in ${duration(outbox.nextTryAt - now)}`}`);
    }
    if (outbox.lastError) {
        lines.push(`  last error: ${outbox.lastError}`);
    }
    return lines;
}

export function formatBridgeStatus(facts: BridgeFacts, now: number): string {
    const lines = [`*RapidPro Bridge ${facts.version}*`];
    lines.push(facts.configured ? 'Configured: yes' : `Configured: NO (missing: ${facts.missing.join(', ')})`);
    lines.push(`RapidPro: ${REACHABILITY[facts.rapidpro]}`);
    lines.push(...outboxLines(facts.outbox, now));
    const failures = facts.failures;
    lines.push(`Not delivered in the last 24 h: ${failures.count}`);
    if (failures.count > 0 && failures.lastAt !== undefined) {
        lines.push(`  last: ${ago(failures.lastAt, now)}${failures.lastReason ? `, ${failures.lastReason}` : ''}`);
    }
    if (facts.outbox.count > 0) {
        lines.push('`/rapidpro flush` tries every waiting reply now.');
    }
    return lines.join('\n');
}

export function formatRoomStatus(facts: RoomFacts, now: number): string {
    const lines = [`*This chat${facts.contactName ? ` with ${facts.contactName}` : ''} (RapidPro Bridge)*`];
    lines.push(`RapidPro: ${REACHABILITY[facts.rapidpro]}`);
    lines.push(...outboxLines(facts.outbox, now));
    if (facts.outbox.count > 0) {
        lines.push("`/rapidpro flush` tries this chat's waiting replies now.");
    }
    return lines.join('\n');
}

/** After a flush: how many were brought forward and how many still wait (RapidPro may still be down). */
export function formatFlush(result: { madeDue: number; stillWaiting: OutboxFacts }, now: number): string {
    if (result.madeDue === 0 && result.stillWaiting.count === 0) {
        return 'Nothing was waiting: every reply has been delivered.';
    }
    const head = `Tried ${result.madeDue} waiting ${result.madeDue === 1 ? 'call' : 'calls'} now.`;
    if (result.stillWaiting.count === 0) {
        return `${head} Every reply has been delivered.`;
    }
    return [head, ...outboxLines(result.stillWaiting, now)].join('\n');
}

export const HELP_TEXT = [
    "`/rapidpro`: the bridge's state (admins: the whole bridge; the agent of a RapidPro chat: that chat).",
    '`/rapidpro flush`: try every waiting reply now instead of at its next retry.',
].join('\n');

export const REFUSAL_TEXT = '/rapidpro is for administrators, and for the agent of a chat the RapidPro Bridge opened (in that chat).';
