// The one bounded cache of per-process memos (persisted documents, compiled statements, cost
// checks): whatever a client can make us remember is forgotten, least recently used first, once
// there are `maxEntries` of them or they weigh more than `maxWeight` together.

export class LruCache<K, V> {
  private readonly entries = new Map<K, { value: V; weight: number }>();
  private totalWeight = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly options: { maxWeight?: number; weigh?: (value: V) => number } = {},
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get weight(): number {
    return this.totalWeight;
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    // Map keeps insertion order: re-inserting makes this the most recently used.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: K, value: V): void {
    const weight = this.options.weigh?.(value) ?? 1;
    const previous = this.entries.get(key);
    if (previous) {
      this.entries.delete(key);
      this.totalWeight -= previous.weight;
    }
    this.entries.set(key, { value, weight });
    this.totalWeight += weight;
    const maxWeight = this.options.maxWeight ?? Infinity;
    while (this.entries.size > this.maxEntries || this.totalWeight > maxWeight) {
      const [oldestKey, oldest] = this.entries.entries().next().value!;
      this.entries.delete(oldestKey);
      this.totalWeight -= oldest.weight;
    }
  }

  clear(): void {
    this.entries.clear();
    this.totalWeight = 0;
  }
}
