import { RecentMap } from '../../src/lib/recentMap';

describe('RecentMap', () => {
    it('keeps the most recently set entries: setting one again makes it recent', () => {
        const map = new RecentMap<string, number>(2);
        map.set('a', 1);
        map.set('b', 2);
        map.set('a', 3); // a is now the newest
        map.set('c', 4); // b, the oldest, goes
        expect([map.get('a'), map.get('b'), map.get('c')]).toEqual([3, undefined, 4]);
        expect(map.size).toBe(2);
        map.delete('a');
        expect(map.get('a')).toBeUndefined();
    });
});
