// JSON values compared by value, not by their text. PostgreSQL's jsonb keeps an object's keys in
// its own order (shorter keys first), and zod returns them in the schema's order, so the same
// inputs read back from a Json column and sent again by a client rarely stringify alike.
// Numbers compare as the doubles JSON.parse gives both sides (1 and 1.0 are one value; a big
// integer is the double it was stored as, src/db/exact-json.ts keeping its every digit).

/** The value's JSON text with every object's keys sorted: equal values give equal texts. */
export function canonicalJson(value: unknown): string | undefined {
  return JSON.stringify(value, (_key, item: unknown) =>
    item && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}

/** Whether two JSON values are the same value (an absent value equals only another absent one). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
