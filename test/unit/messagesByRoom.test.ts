/** The test Rocket.Chat's message index answers exactly what scanning every message would. */
import type { RcMessage } from '../../harness/rocketchat/types';
import { MessagesByRoom } from '../../harness/rocketchat/store';

function message(id: string, rid: string, msg = id): RcMessage {
    return { _id: id, rid, msg, ts: new Date(), _updatedAt: new Date(), u: { _id: 'u', username: 'u' } } as RcMessage;
}

describe('MessagesByRoom', () => {
    it("lists a room's messages in the order they were stored, across writes, rewrites and deletes", () => {
        const index = new MessagesByRoom();
        const scan = (rid: string) => [...index.values()].filter((m) => m.rid === rid);
        for (let i = 0; i < 30; i++) {
            index.set(`m${i}`, message(`m${i}`, `r${i % 3}`));
        }
        index.set('m4', message('m4', 'r1', 'edited')); // a rewrite keeps its place
        index.delete('m7');
        index.delete('missing');
        for (const rid of ['r0', 'r1', 'r2', 'r9']) {
            expect(index.ofRoom(rid)).toEqual(scan(rid));
        }
        expect(index.ofRoom('r1').map((m) => m.msg)).toContain('edited');
        index.clear();
        expect(index.ofRoom('r0')).toEqual([]);
    });
});
