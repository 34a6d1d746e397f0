// JSON values compared by value: what jsonb hands back (keys reordered) equals what a client sent.
import { describe, expect, it } from 'vitest';
import { canonicalJson, jsonEqual } from '../../src/db/json-equal.ts';

describe('jsonEqual', () => {
  it('ignores the order of object keys, at every level', () => {
    expect(
      jsonEqual(
        { k: 3, seed: 42, nested: { b: [1, { y: 1, x: 2 }], a: null } },
        { nested: { a: null, b: [1, { x: 2, y: 1 }] }, seed: 42, k: 3 },
      ),
    ).toBe(true);
  });

  it('keeps the order of array items', () => {
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
  });

  it('compares numbers as doubles: 1 and 1.0 are one value, 1 and "1" are not', () => {
    expect(jsonEqual(JSON.parse('{"a":1.0}'), { a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: '1' })).toBe(false);
  });

  it('a missing key differs from a null one; an absent value equals only another absent one', () => {
    expect(jsonEqual({ a: null }, {})).toBe(false);
    expect(jsonEqual(undefined, undefined)).toBe(true);
    expect(jsonEqual(undefined, null)).toBe(false);
  });

  it('the canonical text sorts keys by code unit, whatever order they came in', () => {
    expect(canonicalJson({ b: 1, a: { d: 1, c: 2 }, B: 0 })).toBe('{"B":0,"a":{"c":2,"d":1},"b":1}');
  });
});
