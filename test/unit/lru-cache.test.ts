import { describe, expect, it } from 'vitest';
import { LruCache } from '../../src/lru-cache.ts';
import { persistedQueryStore } from '../../src/http/persisted-queries.ts';

describe('LruCache', () => {
  it('forgets the least recently used entry once it holds more than its count', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // a is now the most recently used
    cache.set('c', 3);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([1, undefined, 3]);
    expect(cache.size).toBe(2);
  });

  it('forgets the oldest entries once they weigh more than its weight together', () => {
    const cache = new LruCache<string, string>(100, { maxWeight: 10, weigh: (value) => value.length });
    cache.set('a', 'xxxx');
    cache.set('b', 'xxxx');
    cache.set('a', 'xx'); // replacing an entry replaces its weight
    expect(cache.weight).toBe(6);
    cache.set('c', 'xxxxxx');
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual(['xx', undefined, 'xxxxxx']);
    expect(cache.weight).toBe(8);
    cache.set('d', 'x'.repeat(11)); // heavier than the whole cache: kept by nothing
    expect(cache.size).toBe(0);
    expect(cache.weight).toBe(0);
  });
});

describe('the persisted query store', () => {
  it('holds at most its count of documents and its bytes, and refuses a document over its size', () => {
    const store = persistedQueryStore({ maxDocuments: 3, maxDocumentBytes: 100, maxTotalBytes: 250 });
    for (let i = 0; i < 10; i++) store.set(`hash${i}`, `{ a${i} }`);
    expect(store.size).toBe(3);
    expect(store.get('hash0')).toBeUndefined();
    expect(store.get('hash9')).toBe('{ a9 }');
    for (let i = 0; i < 3; i++) store.set(`big${i}`, 'x'.repeat(100));
    expect(store.size).toBe(2); // 300 bytes would not fit in 250
    expect(() => store.set('huge', 'x'.repeat(101))).toThrow(/the document has 101 bytes; at most 100 are persisted/);
    expect(store.get('huge')).toBeUndefined();
  });
});
