// Many dashboards subscribe with the same document and variables (the same run, the same
// filter). Executing that subscription once per process and handing every result to each of
// them turns per-client GraphQL execution into per-client sending only.
//
// A shared source keeps the results it produced (up to a limit), so a subscriber that joins late
// still receives everything from the start of the stream, exactly as if it had subscribed alone.
import type { ExecutionResult } from 'graphql';

const HISTORY_LIMIT = 2000;

type Result = ExecutionResult;

interface Consumer {
  push(result: Result): void;
  end(): void;
}

class SharedSource {
  readonly consumers = new Set<Consumer>();
  readonly history: Result[] = [];
  /** Once the history is full, late joiners can no longer be served from it. */
  acceptsJoiners = true;
  ended = false;

  constructor(
    private readonly iterator: AsyncIterator<Result>,
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
    this.ended = true;
    this.acceptsJoiners = false;
    for (const consumer of this.consumers) consumer.end();
    this.onIdle();
  }

  join({ maxQueued, onOverflow }: { maxQueued: number; onOverflow: () => void }): AsyncGenerator<Result> {
    const queue: Result[] = [...this.history];
    let wake: (() => void) | null = null;
    let finished = this.ended;
    let overflowed = false;
    const consumer: Consumer = {
      push: (result) => {
        if (overflowed) return;
        if (queue.length >= maxQueued) {
          // This subscriber reads far slower than the stream: let it go (it can resume).
          overflowed = true;
          onOverflow();
          return;
        }
        queue.push(result);
        wake?.();
      },
      end: () => {
        finished = true;
        wake?.();
      },
    };
    this.consumers.add(consumer);
    const leave = () => {
      finished = true;
      wake?.();
      if (this.consumers.delete(consumer) && this.consumers.size === 0) {
        this.ended = true;
        this.acceptsJoiners = false;
        void this.iterator.return?.();
        this.onIdle();
      }
    };
    const source = this;
    async function* consume(): AsyncGenerator<Result> {
      try {
        for (;;) {
          if (queue.length > 0) {
            yield queue.shift()!;
            continue;
          }
          if (finished || overflowed) return;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
        }
      } finally {
        leave();
      }
    }
    void source;
    const inner = consume();
    // `return()` must end the consumer at once, even while it waits for the next result.
    return {
      next: () => inner.next(),
      return: async (value) => {
        leave();
        return inner.return(value);
      },
      throw: async (error) => {
        leave();
        return inner.throw(error);
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    } as AsyncGenerator<Result>;
  }
}

export class SharedSubscriptions {
  private readonly sources = new Map<string, SharedSource>();

  /**
   * The subscription for `key`, sharing a running execution when one exists. `start` runs the
   * subscription for real; a result that is not a stream (an error) is returned as it is.
   */
  async subscribe({
    key,
    start,
    maxQueued = 1000,
    onOverflow,
  }: {
    key: string;
    start: () => Promise<AsyncIterator<Result> | Result> | AsyncIterator<Result> | Result;
    maxQueued?: number;
    onOverflow: () => void;
  }): Promise<AsyncGenerator<Result> | Result> {
    const existing = this.sources.get(key);
    if (existing && existing.acceptsJoiners) return existing.join({ maxQueued, onOverflow });
    const started = await start();
    if (!isAsyncIterator(started)) return started;
    const source: SharedSource = new SharedSource(started, () => {
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
