/**
 * The failure watcher without the engine: when it asks RapidPro (never when nothing was sent lately,
 * every run while something was sent in the last 2 h, hourly after), how many pages it reads per run,
 * where a stopped walk goes on, and that each failure is told once.
 */
import { FailureWatcher } from '../../src/domain/FailureWatcher';
import { RapidProClientFactory } from '../../src/domain/RapidProClientFactory';
import { SentLog } from '../../src/domain/SentLog';
import { deliveryContext, FakeClock, FakeRapidPro, FakeScheduler, RecordingNotifier, silentLogger } from './support/fakes';
import { MemoryPersistence } from './support/memoryPersistence';

const CONTACT = '5d76d86b-3bb9-4d5a-b822-c9d86f5d8e4b';
const MIN = 60 * 1000;
const HOUR = 60 * MIN;

function setup() {
    const persistence = new MemoryPersistence();
    const clock = new FakeClock();
    const rapidPro = new FakeRapidPro();
    const notifier = new RecordingNotifier();
    const watcher = new FailureWatcher(notifier, new RapidProClientFactory(), silentLogger(), clock.now);
    const ctx = () => deliveryContext(persistence, rapidPro, new FakeScheduler());
    const log = new SentLog();
    const sent = (key: string, text: string, roomId = 'room-1') =>
        log.record(persistence, { key, contactUuid: CONTACT, roomId, text, sentAt: clock.now() });
    const page = (uuids: string[], next: string | null = null) =>
        FakeRapidPro.status(200, {
            next,
            results: uuids.map((uuid, i) => ({ uuid, status: 'failed', created_on: new Date(clock.now() - i * 1000).toISOString() })),
        });
    const lists = () => rapidPro.requests.filter((r) => r.method === 'get');
    return { persistence, clock, rapidPro, notifier, watcher, ctx, sent, page, lists };
}

describe('FailureWatcher', () => {
    it('asks nothing when nothing was sent', async () => {
        const t = setup();
        expect(await t.watcher.run(t.ctx())).toEqual({ calls: 0, reported: 0 });
        expect(t.lists()).toHaveLength(0);
    });

    it('lists failed messages from the oldest watched part (less the skew) and tells each failure once', async () => {
        const t = setup();
        await t.sent('uuid-a', 'Your appointment is on Monday');
        t.clock.advance(MIN);
        await t.sent('uuid-b', 'See you then', 'room-2');
        t.rapidPro.answer(t.page(['uuid-bot', 'uuid-a']));
        expect(await t.watcher.run(t.ctx())).toEqual({ calls: 1, reported: 1 });
        const after = new Date(t.clock.now() - MIN - 5 * MIN).toISOString();
        expect(t.lists()[0].path).toBe(`messages.json?folder=failed&after=${encodeURIComponent(after)}`);
        expect(t.notifier.notices).toEqual([
            {
                roomId: 'room-1',
                text: 'RapidPro reports this message as failed; it did not reach the contact: "Your appointment is on Monday"',
            },
        ]);

        t.rapidPro.answer(t.page(['uuid-bot', 'uuid-a']));
        expect(await t.watcher.run(t.ctx())).toEqual({ calls: 1, reported: 0 });
        expect(t.notifier.notices).toHaveLength(1);
    });

    it('asks every run while something was sent in the last 2 h, then hourly, and forgets parts after 24 h', async () => {
        const t = setup();
        await t.sent('uuid-a', 'hello');
        await t.watcher.run(t.ctx());
        t.clock.advance(10 * MIN);
        await t.watcher.run(t.ctx());
        expect(t.lists()).toHaveLength(2);

        t.clock.advance(2 * HOUR);
        let calls = 0;
        for (let run = 0; run < 12; run++) {
            calls += (await t.watcher.run(t.ctx())).calls;
            t.clock.advance(10 * MIN);
        }
        expect(calls).toBe(2); // two hours of runs every 10 minutes: one look per hour

        t.clock.advance(24 * HOUR);
        expect(await t.watcher.run(t.ctx())).toEqual({ calls: 0, reported: 0 });
        expect(t.persistence.dataWith('sent-log')).toEqual([]);
    });

    it('reads at most 3 pages per run and goes on from the oldest message seen at the next run', async () => {
        const t = setup();
        await t.sent('uuid-ours', 'ours');
        const next = 'https://rapidpro.example.org/api/v2/messages.json?folder=failed&cursor=abc';
        t.rapidPro.answer(t.page(['bot-1'], next), t.page(['bot-2'], next), t.page(['bot-3'], next));
        expect(await t.watcher.run(t.ctx())).toEqual({ calls: 3, reported: 0 });
        t.rapidPro.answer(t.page(['bot-4', 'uuid-ours']));
        expect(await t.watcher.run(t.ctx())).toEqual({ calls: 1, reported: 1 });
        expect(t.lists()[1].path).toBe('messages.json?folder=failed&cursor=abc');
        expect(t.lists()[3].path).toContain('&before=');
    });

    it('never sends the token to a page link on another server', async () => {
        const t = setup();
        await t.sent('uuid-a', 'hello');
        t.rapidPro.answer(t.page(['bot-1'], 'https://elsewhere.example.com/api/v2/messages.json?cursor=x'));
        expect(await t.watcher.run(t.ctx())).toEqual({ calls: 1, reported: 0 });
        expect(t.lists()).toHaveLength(1);
    });
});
