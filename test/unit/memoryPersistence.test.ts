/** The test persistence itself: it must behave like the server's, or the race tests prove nothing. */
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';

import { MemoryPersistence } from './support/memoryPersistence';

const key = (id: string) => new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, id);

describe('MemoryPersistence', () => {
    it('reads and removes by a subset of the associations', async () => {
        const p = new MemoryPersistence();
        await p.createWithAssociations({ n: 1 }, [key('a'), key('b')]);
        await p.createWithAssociations({ n: 2 }, [key('a')]);
        expect(await p.readByAssociation(key('a'))).toHaveLength(2);
        expect(await p.readByAssociations([key('b'), key('a')])).toEqual([{ n: 1 }]);
        await p.removeByAssociation(key('b'));
        expect(await p.readByAssociation(key('a'))).toEqual([{ n: 2 }]);
    });

    it('updates by the exact array, order included, and upserts only when asked', async () => {
        const p = new MemoryPersistence();
        await p.createWithAssociations({ n: 1 }, [key('a'), key('b')]);
        await p.updateByAssociations([key('b'), key('a')], { n: 2 }); // other order: no match, no upsert
        expect(await p.readByAssociation(key('a'))).toEqual([{ n: 1 }]);
        await p.updateByAssociations([key('a')], { n: 3 }, true); // a subset: no match, so a new record
        expect(p.size).toBe(2);
        await p.updateByAssociations([key('a'), key('b')], { n: 4 });
        expect(await p.readByAssociation(key('b'))).toEqual([{ n: 4 }]);
        await expect(p.update('r1', {})).rejects.toThrow('Not implemented');
    });

    it('hands out copies and drops undefined fields, like a stored document', async () => {
        const p = new MemoryPersistence();
        const data = { n: 1, gone: undefined as unknown };
        await p.createWithAssociation(data, key('a'));
        data.n = 2;
        const [read] = (await p.readByAssociation(key('a'))) as Array<Record<string, unknown>>;
        expect(read).toEqual({ n: 1 });
        expect('gone' in read).toBe(false);
    });
});
