import {
    BACKLOG_WAIT_MS,
    isBacklogged,
    MERGE_SEPARATOR,
    planFieldGroup,
    planTextGroup,
    sentPrefixLength,
} from '../../src/domain/backlogPlan';
import type { OutboxItem } from '../../src/domain/outboxItems';
import { RecordKind } from '../../src/domain/records';

const NOW = Date.UTC(2026, 0, 1);
let counter = 0;

/** An outbox item as the store writes it; waiting since `NOW - 10 s` unless told otherwise. */
function item(fields: Record<string, unknown>): OutboxItem {
    counter++;
    return {
        record: RecordKind.OutboxItem,
        id: `i-${counter}`,
        contactUuid: 'c-1',
        roomId: 'room-1',
        seq: counter,
        createdAt: NOW - 10000,
        attempts: 0,
        nextAttemptAt: NOW - 10000,
        summary: `item ${counter}`,
        ...fields,
    } as OutboxItem;
}

function reply(text: string, extra: Record<string, unknown> = {}): OutboxItem {
    return item({ kind: 'message', text, source: { messageId: `m-${counter + 1}`, part: 0, parts: 1 }, ...extra });
}

function texts(group: { items: OutboxItem[] } | undefined): string[] {
    return group ? group.items.map((i) => (i as { text?: string }).text || '') : [];
}

describe('backlog plan: text replies', () => {
    it('merges the waiting replies of one room, in order, separated by a blank line', () => {
        const items = [reply('one'), reply('two '), reply('three')];
        const group = planTextGroup(items, 0, NOW, 4096);
        expect(texts(group)).toEqual(['one', 'two ', 'three']);
        expect(group?.text).toBe(['one', 'two', 'three'].join(MERGE_SEPARATOR));
    });

    it('leaves a lone reply alone', () => {
        expect(planTextGroup([reply('alone')], 0, NOW, 4096)).toBeUndefined();
    });

    it('merges nothing that was not waiting: replies queued together a moment ago go one by one', () => {
        const fresh = { createdAt: NOW - 10, nextAttemptAt: NOW - 10 };
        const items = [reply('one', fresh), reply('two', fresh)];
        expect(isBacklogged(items[0], NOW)).toBe(false);
        expect(planTextGroup(items, 0, NOW, 4096)).toBeUndefined();
        // Behind a head that failed (or was paused), what waits is a backlog, however fresh.
        const failed = [reply('one', { ...fresh, attempts: 1, lastError: 'HTTP 503' }), reply('two', fresh)];
        expect(texts(planTextGroup(failed, 0, NOW, 4096))).toEqual(['one', 'two']);
        expect(isBacklogged(reply('old', { createdAt: NOW - BACKLOG_WAIT_MS }), NOW)).toBe(true);
    });

    it('never merges across a file, a notice, a room_closed or forgo marker, or a field update', () => {
        const breakers: OutboxItem[] = [
            reply('with a file', { file: { uploadId: 'u', name: 'a.png', contentType: 'image/png' } }),
            reply('uploaded', { mediaUuid: 'media-1' }),
            item({ kind: 'message', text: 'The agent joined' }), // a notice: no source
            item({ kind: 'room_closed', closedAt: NOW }),
            item({ kind: 'forgo' }),
            item({ kind: 'contact_fields', fields: { bridge_status: 'open' } }),
            item({ kind: 'flow_start', flowUuid: 'f', params: {} }),
        ];
        for (const breaker of breakers) {
            const items = [reply('before'), reply('also before'), breaker, reply('after')];
            expect(texts(planTextGroup(items, 0, NOW, 4096))).toEqual(['before', 'also before']);
        }
        // A notice or a file at the head goes alone.
        expect(planTextGroup([breakers[0], reply('x')], 0, NOW, 4096)).toBeUndefined();
        expect(planTextGroup([breakers[2], reply('x')], 0, NOW, 4096)).toBeUndefined();
    });

    it('never merges replies of different rooms', () => {
        const items = [reply('room 1'), reply('room 2', { roomId: 'room-2' }), reply('room 1 again')];
        expect(planTextGroup(items, 0, NOW, 4096)).toBeUndefined();
    });

    it('stays within max_text_length, counted in code points with the separators', () => {
        const a = 'a'.repeat(10);
        const emoji = '😀'.repeat(8); // 8 code points, 16 UTF-16 units
        const items = [reply(a), reply(emoji), reply('c')];
        expect(texts(planTextGroup(items, 0, NOW, 20))).toEqual([a, emoji]); // 10 + 2 + 8 = 20
        expect(planTextGroup(items, 0, NOW, 19)).toBeUndefined();
    });

    it('stops at an item not due yet and at one the caller skips (a part sent already)', () => {
        const later = reply('later', { nextAttemptAt: NOW + 1000 });
        expect(texts(planTextGroup([reply('a'), reply('b'), later], 0, NOW, 4096))).toEqual(['a', 'b']);
        const items = [reply('a'), reply('b'), reply('sent'), reply('c')];
        expect(texts(planTextGroup(items, 0, NOW, 4096, (i) => i === items[2]))).toEqual(['a', 'b']);
    });

    it('takes a second copy of a part along without sending it twice (the event and the catch-up both queued it)', () => {
        const first = reply('one');
        const copy = reply('one', { source: first.source, id: 'copy' });
        const items = [first, copy, reply('two'), reply('two', { source: { messageId: 'm-dup', part: 0, parts: 1 } })];
        const group = planTextGroup(items, 0, NOW, 4096);
        expect(group?.items).toHaveLength(4);
        expect(group?.text).toBe(`one${MERGE_SEPARATOR}two${MERGE_SEPARATOR}two`);
        expect(planTextGroup([first, copy], 0, NOW, 4096)).toBeUndefined(); // one part: it goes alone, the copy is dropped later
    });

    it('starts wherever the drain is', () => {
        const items = [item({ kind: 'room_closed', closedAt: NOW }), reply('a'), reply('b')];
        expect(texts(planTextGroup(items, 1, NOW, 4096))).toEqual(['a', 'b']);
    });
});

describe('backlog plan: contact fields', () => {
    it('collapses consecutive waiting updates to the last value of each field', () => {
        const items = [
            item({ kind: 'contact_fields', fields: { bridge_status: 'queued', bridge_room: 'r1' } }),
            item({ kind: 'contact_fields', fields: { bridge_status: 'open' } }),
            item({ kind: 'contact_fields', fields: { bridge_status: 'closed', bridge_room: null } }),
            reply('after'),
            item({ kind: 'contact_fields', fields: { bridge_status: 'queued' } }),
        ];
        const group = planFieldGroup(items, 0, NOW);
        expect(group?.items).toHaveLength(3);
        expect(group?.fields).toEqual({ bridge_status: 'closed', bridge_room: null });
    });

    it('leaves a single update, or one behind which a message waits, alone', () => {
        const fields = item({ kind: 'contact_fields', fields: { bridge_status: 'open' } });
        expect(planFieldGroup([fields], 0, NOW)).toBeUndefined();
        expect(planFieldGroup([fields, reply('x')], 0, NOW)).toBeUndefined();
        expect(planFieldGroup([reply('x'), fields], 0, NOW)).toBeUndefined();
        const fresh = { createdAt: NOW, nextAttemptAt: NOW };
        const queuedTogether = [
            item({ kind: 'contact_fields', fields: { bridge_status: 'queued' }, ...fresh }),
            item({ kind: 'contact_fields', fields: { bridge_status: 'open' }, ...fresh }),
        ];
        expect(planFieldGroup(queuedTogether, 0, NOW)).toBeUndefined();
    });
});

describe('backlog plan: what RapidPro already has (takeover)', () => {
    it('counts the leading replies a message carries: the head alone or the first ones merged', () => {
        const items = [reply('one '), reply('two'), reply('three'), reply('other room', { roomId: 'room-2' })];
        expect(sentPrefixLength(items, 'one ')).toBe(1);
        expect(sentPrefixLength(items, 'one')).toBe(1);
        expect(sentPrefixLength(items, `one${MERGE_SEPARATOR}two`)).toBe(2);
        expect(sentPrefixLength(items, ['one', 'two', 'three'].join(MERGE_SEPARATOR))).toBe(3);
        expect(sentPrefixLength(items, ['one', 'two', 'three', 'other room'].join(MERGE_SEPARATOR))).toBe(0);
        expect(sentPrefixLength(items, 'two')).toBe(0);
        expect(sentPrefixLength(items, `one${MERGE_SEPARATOR}tw`)).toBe(0);
    });
});
