// Batches per-parent loads of one request into one query: every call made for the same `kind`
// while a request resolves one level of its selection (the same turn of the event loop) is
// answered by a single `load(keys)`. Used for the totals and facets of nested run lists.
const batchesByContext = new WeakMap<object, Map<string, Batch<unknown>>>();

interface Batch<T> {
  keys: string[];
  waiters: Map<string, { resolve: (value: T) => void; reject: (error: unknown) => void }[]>;
}

export function batchLoad<T>(context: object, kind: string, key: string, load: (keys: string[]) => Promise<T[]>): Promise<T> {
  let batches = batchesByContext.get(context);
  if (!batches) batchesByContext.set(context, (batches = new Map()));
  let batch = batches.get(kind) as Batch<T> | undefined;
  if (!batch) {
    const created: Batch<T> = { keys: [], waiters: new Map() };
    batch = created;
    batches.set(kind, created as Batch<unknown>);
    const owner = batches;
    setImmediate(() => {
      owner.delete(kind);
      load(created.keys).then(
        (values) => created.keys.forEach((k, index) => created.waiters.get(k)!.forEach((w) => w.resolve(values[index]))),
        (error) => created.waiters.forEach((waiters) => waiters.forEach((w) => w.reject(error))),
      );
    });
  }
  const current = batch;
  return new Promise<T>((resolve, reject) => {
    if (!current.waiters.has(key)) {
      current.keys.push(key);
      current.waiters.set(key, []);
    }
    current.waiters.get(key)!.push({ resolve, reject });
  });
}
