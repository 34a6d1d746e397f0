// Many dashboards subscribe with the same document and variables (the same run, the same
// filter). Executing that subscription once per process and handing every result to each of
// them turns per-client GraphQL execution into per-client sending only; each result is also
// serialized once (serializedResult), whatever the number of subscribers.
//
// A shared source keeps the results it produced (up to a limit), so a subscriber that joins late
// still receives everything from the start of the stream, exactly as if it had subscribed alone.
import type { ExecutionResult } from 'graphql';

const HISTORY_LIMIT = 2000;

type Result = ExecutionResult;

const serialized = new WeakMap<object, string>();

/** The result's JSON, computed on first use and shared by every subscriber that sends it. */
export function serializedResult(result: Result): string {
  let json = serialized.get(result);
  if (json === undefined) {
    json = JSON.stringify(result);
    serialized.set(result, json);
  }
  return json;
}

const DONE: IteratorResult<Result> = Object.freeze({ value: undefined, done: true });

/**
 * One subscriber's view of a shared source, as the async iterator graphql-ws consumes. A class
 * rather than an async generator: thousands of idle subscribers each hold one small object, and
 * a result reaches a waiting subscriber in one promise resolution.
 */
class Consumer implements AsyncIterableIterator<Result> {
  private queue: Result[];
  private waiting: ((result: IteratorResult<Result>) => void) | null = null;
  /** No more results will be added (the source ended, or this subscriber overflowed). */
  private ended = false;
  /** The subscriber left: nothing more is delivered. */
  private closed = false;

  constructor(
    private readonly source: SharedSource,
    history: Result[],
    private readonly maxQueued: number,
    private readonly onOverflow: () => void,
  ) {
    this.queue = history.slice();
  }

  push(result: Result): void {
    if (this.ended) return;
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = null;
      waiting({ value: result, done: false });
      return;
    }
    if (this.queue.length >= this.maxQueued) {
      // This subscriber reads far slower than the stream: let it go (it can resume).
      this.ended = true;
      this.source.leave(this);
      this.onOverflow();
      return;
    }
    this.queue.push(result);
  }

  end(): void {
    this.ended = true;
    if (this.waiting && this.queue.length === 0) this.finish();
  }

  next(): Promise<IteratorResult<Result>> {
    if (!this.closed && this.queue.length > 0) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.closed || this.ended) return Promise.resolve(DONE);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** Leaves at once, even while graphql-ws waits for the next result. */
  return(): Promise<IteratorResult<Result>> {
    this.finish();
    return Promise.resolve(DONE);
  }

  throw(): Promise<IteratorResult<Result>> {
    return this.return();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private finish(): void {
    this.closed = true;
    this.ended = true;
    this.queue = [];
    this.source.leave(this);
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.(DONE);
  }
}

class SharedSource {
  readonly consumers = new Set<Consumer>();
  readonly history: Result[] = [];
  /** Once the history is full, late joiners can no longer be served from it. */
  acceptsJoiners = true;
  ended = false;

  constructor(
    private readonly iterator: AsyncIterator<Result>,
    /** What the subscriber that started it was given, for those that join (see SharedSubscriptions.joinable). */
    readonly meta: unknown,
    private readonly onIdle: () => void,
  ) {
    void this.pump();
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        const { value, done } = await this.iterator.next();
        if (done) break;
        if (this.history.length < HISTORY_LIMIT) this.history.push(value);
        else this.acceptsJoiners = false;
        for (const consumer of this.consumers) consumer.push(value);
      }
    } catch (error) {
      const result: Result = { errors: [{ message: (error as Error).message } as never] };
      for (const consumer of this.consumers) consumer.push(result);
    }
    this.stop();
    for (const consumer of this.consumers) consumer.end();
  }

  join({ maxQueued, onOverflow }: { maxQueued: number; onOverflow: () => void }): Consumer {
    const consumer = new Consumer(this, this.history, maxQueued, onOverflow);
    if (this.ended) consumer.end();
    else this.consumers.add(consumer);
    return consumer;
  }

  leave(consumer: Consumer): void {
    if (this.consumers.delete(consumer) && this.consumers.size === 0 && !this.ended) {
      this.stop();
      void this.iterator.return?.();
    }
  }

  private stop(): void {
    if (this.ended) return;
    this.ended = true;
    this.acceptsJoiners = false;
    this.onIdle();
  }
}

export class SharedSubscriptions {
  private readonly sources = new Map<string, SharedSource>();

  /**
   * The `meta` of a running execution for `key` that a new subscriber can still join from its
   * start, or undefined: a joiner needs no execution context of its own.
   */
  joinable(key: string): unknown {
    const source = this.sources.get(key);
    return source?.acceptsJoiners ? source.meta : undefined;
  }

  /**
   * The subscription for `key`, sharing a running execution when one exists. `start` runs the
   * subscription for real; a result that is not a stream (an error) is returned as it is.
   */
  async subscribe({
    key,
    start,
    meta,
    maxQueued = 1000,
    onOverflow,
  }: {
    key: string;
    start: () => Promise<AsyncIterator<Result> | Result> | AsyncIterator<Result> | Result;
    /** Kept with the execution and handed to joiners by `joinable`. */
    meta?: unknown;
    maxQueued?: number;
    onOverflow: () => void;
  }): Promise<AsyncIterableIterator<Result> | Result> {
    const existing = this.sources.get(key);
    if (existing && existing.acceptsJoiners) return existing.join({ maxQueued, onOverflow });
    const started = await start();
    if (!isAsyncIterator(started)) return started;
    // Another subscriber may have started the same execution while this one was starting.
    const raced = this.sources.get(key);
    if (raced && raced.acceptsJoiners) {
      void started.return?.();
      return raced.join({ maxQueued, onOverflow });
    }
    const source: SharedSource = new SharedSource(started, meta, () => {
      if (this.sources.get(key) === source) this.sources.delete(key);
    });
    this.sources.set(key, source);
    return source.join({ maxQueued, onOverflow });
  }

  /** Running shared executions (for tests and metrics). */
  get size(): number {
    return this.sources.size;
  }
}

function isAsyncIterator(value: unknown): value is AsyncIterator<Result> {
  return typeof value === 'object' && value !== null && typeof (value as AsyncIterator<Result>).next === 'function';
}
