/**
 * The catch-up on a room read by hand: how far back each look goes (an agent message's, now and
 * then a far one; the sweep's), what it finds, and how many messages it reads.
 */
import type { IRead } from '@rocket.chat/apps-engine/definition/accessors';
import type { IMessageRaw } from '@rocket.chat/apps-engine/definition/messages';

import type { DeliveryContext } from '../../src/domain/DeliveryQueue';
import { newForwardLog, partKey, withSentPart } from '../../src/domain/ForwardLog';
import { AgentRoomCatchUp } from '../../src/outbound/RoomCatchUp';
import { CATCH_UP_FAR_LOOK_EVERY_MS } from '../../src/lib/limits';
import { testConfig } from './support/fakes';

const ROOM = 'room-1';
const AGENT = 'agent-1';
const VISITOR = 'visitor-1';
const NOW = 1_700_000_000_000;

function roomOf(messages: Array<{ id: string; at: number; from?: string }>) {
    const reads: number[] = [];
    // Oldest first, as stored; the catch-up asks newest first.
    const stored = messages.map(
        (m) =>
            ({
                id: m.id,
                roomId: ROOM,
                text: `text of ${m.id}`,
                createdAt: new Date(m.at),
                sender: { _id: m.from || AGENT, username: m.from || AGENT },
            }) as unknown as IMessageRaw,
    );
    const read = {
        getRoomReader: () => ({
            getMessages: async (_roomId: string, options: { limit: number; skip: number }) => {
                reads.push(options.limit);
                return [...stored].reverse().slice(options.skip, options.skip + options.limit);
            },
        }),
        getUserReader: () => ({ getAppUser: async () => ({ id: 'app-user' }) }),
    } as unknown as IRead;
    const ctx = { read, config: testConfig() } as unknown as DeliveryContext;
    return { ctx, reads };
}

describe('AgentRoomCatchUp', () => {
    // The last forwarded reply ("sent") was stamped at NOW; "late" is 5 s older and no event brought it.
    const messages = [
        { id: 'old', at: NOW - 60_000 },
        { id: 'late', at: NOW - 5000 },
        { id: 'contact', at: NOW - 3000, from: VISITOR },
        { id: 'sent', at: NOW },
        { id: 'new', at: NOW + 500 },
    ];
    const log = withSentPart(
        withSentPart(newForwardLog('contact-1', ROOM, NOW - 120_000, VISITOR), partKey('old', 0), NOW - 60_000),
        partKey('sent', 0),
        NOW,
    );

    it('looks far back in a room first, then only at the last moments for a few seconds, then far back again', async () => {
        let clock = NOW + 1000;
        const catchUp = new AgentRoomCatchUp(() => clock);
        const found = async () =>
            (await catchUp.missed(roomOf(messages).ctx, log, new Set())).drafts.map((draft) => draft.source?.messageId);
        // The first look: 10 s behind the last sent reply, so "late" (no event brought it) is found.
        expect(await found()).toEqual(['late', 'new']);
        // Looks in the next seconds (every agent message) go 2 s back: one short read in a busy room.
        clock += 1000;
        expect(await found()).toEqual(['new']);
        clock += CATCH_UP_FAR_LOOK_EVERY_MS;
        expect(await found()).toEqual(['late', 'new']);
    });

    it("the sweep always looks far back, in the room's order, never at the contact's own messages", async () => {
        const catchUp = new AgentRoomCatchUp(() => NOW + 1000);
        await catchUp.missed(roomOf(messages).ctx, log, new Set()); // a far look just now
        const found = await catchUp.missed(roomOf(messages).ctx, log, new Set(), { thorough: true });
        expect(found.drafts.map((draft) => draft.source?.messageId)).toEqual(['late', 'new']);
    });

    it('reads a busy room in one look the next time: the first page grows to what reached the floor', async () => {
        // 40 messages in the last 2 s (a busy room): the first look of 10 is not enough, the next one is.
        const busy = Array.from({ length: 40 }, (_, i) => ({ id: `m${i}`, at: NOW - 1950 + i * 50 }));
        const busyLog = { ...log, sent: busy.map((m) => partKey(m.id, 0)), mark: NOW };
        const catchUp = new AgentRoomCatchUp(() => NOW);
        await catchUp.missed(roomOf(busy).ctx, busyLog, new Set()); // the room's first look goes far back
        const first = roomOf(busy);
        await catchUp.missed(first.ctx, busyLog, new Set());
        expect(first.reads.length).toBeGreaterThan(1);
        const second = roomOf(busy);
        await catchUp.missed(second.ctx, busyLog, new Set());
        expect(second.reads).toHaveLength(1);
    });
});
