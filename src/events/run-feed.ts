// Per-process fan-out of run events. However many subscribers watch a run in this process, each
// notice about it costs one database read: the feed keeps the run's recent events in memory and
// every subscriber reads from there, each with its own cursor. A subscriber whose cursor is older
// than the buffer (a replay, or a slow reader) reads from the database until it catches up.
//
// Reads always come from the database in sequence order and the bus only says "there is something
// new", so the replay/live boundary has no gap and no duplicate, even when notices are lost.
//
// A feed is per run and shared by all its subscribers, so each subscriber's access is checked
// against the run's workspace before anything is delivered to it; a run's workspace never changes,
// and a connection whose access changes is closed (src/http/live-access.ts).
import type { Db } from '../db/client.ts';
import type { RunEvent, RunLog, User } from '../generated/prisma/client.ts';
import type { Access } from '../access/access.ts';
import type { RunEventBus } from './bus.ts';
import { eventFanoutLag } from '../observability/metrics.ts';

export type FeedEvent = RunEvent & { actor: User | null; log: RunLog | null };

const REPLAY_PAGE = 500;
/** A lost notice (e.g. while the bus reconnects) delays delivery by at most this long. */
const SAFETY_REFRESH_MS = 15_000;

class Feed {
  buffer: FeedEvent[] = [];
  /** The highest sequence this feed has read; -1 until the first read. */
  lastSequence = -1;
  subscribers = 0;
  private refreshing: Promise<void> | null = null;
  private refreshAgain = false;
  private changed = deferred();
  private readonly unsubscribe: () => void;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly runId: string,
    private readonly db: Db,
    bus: RunEventBus,
    private readonly bufferSize: number,
  ) {
    this.unsubscribe = bus.onRunChange(runId, (notice) => {
      if (!notice || notice.sequence > this.lastSequence) void this.refresh();
    });
    this.timer = setInterval(() => void this.refresh(), SAFETY_REFRESH_MS);
    this.timer.unref();
    void this.refresh();
  }

  /** Events after `cursor` from memory, or null when only the database has them. */
  eventsAfter(cursor: number): FeedEvent[] | null {
    if (this.lastSequence < 0) return null;
    if (cursor >= this.lastSequence) return [];
    const first = this.buffer[0];
    if (!first || first.sequence > cursor + 1) return null;
    return this.buffer.filter((event) => event.sequence > cursor);
  }

  /** Resolves once the feed has read past `cursor`, or when `signal` aborts. */
  async waitBeyond(cursor: number, signal: AbortSignal): Promise<void> {
    while (this.lastSequence <= cursor && !signal.aborted) {
      // Listeners are removed after each wait, so a long subscription does not accumulate them.
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        signal.addEventListener('abort', done, { once: true });
        void this.changed.promise.then(done);
      });
    }
  }

  private refresh(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        try {
          await this.read();
        } catch {
          // The database is unreachable for now; the safety timer or the next notice retries.
        }
      } while (this.refreshAgain);
      this.refreshing = null;
      const changed = this.changed;
      this.changed = deferred();
      changed.resolve();
    })();
    return this.refreshing;
  }

  private async read(): Promise<void> {
    if (this.lastSequence < 0) {
      // First read: the recent tail, newest first, so the buffer starts warm.
      const tail = await this.db.runEvent.findMany({
        where: { runId: this.runId },
        orderBy: { sequence: 'desc' },
        take: this.bufferSize,
        include: { actor: true, log: true },
      });
      this.buffer = tail.reverse();
      this.lastSequence = this.buffer.at(-1)?.sequence ?? 0;
      return;
    }
    const fresh = await this.db.runEvent.findMany({
      where: { runId: this.runId, sequence: { gt: this.lastSequence } },
      orderBy: { sequence: 'asc' },
      include: { actor: true, log: true },
    });
    if (fresh.length === 0) return;
    const readAt = Date.now();
    for (const event of fresh) eventFanoutLag.observe(Math.max(0, readAt - event.at.getTime()) / 1000);
    this.buffer.push(...fresh);
    if (this.buffer.length > this.bufferSize) this.buffer.splice(0, this.buffer.length - this.bufferSize);
    this.lastSequence = fresh.at(-1)!.sequence;
  }

  close(): void {
    this.unsubscribe();
    clearInterval(this.timer);
    this.changed.resolve();
  }
}

export class RunEventFeeds {
  private readonly feeds = new Map<string, Feed>();

  constructor(private readonly deps: { db: Db; bus: RunEventBus; bufferSize?: number }) {}

  /**
   * The run's events after `afterSequence`, then each new one, until `signal` aborts; nothing at
   * all for a run the access cannot see.
   */
  async *stream({
    runId,
    afterSequence,
    access,
    signal = new AbortController().signal,
  }: {
    runId: string;
    afterSequence: number;
    access: Access;
    signal?: AbortSignal;
  }): AsyncGenerator<FeedEvent> {
    const run = await this.deps.db.routineRun.findUnique({ where: { id: runId }, select: { workspaceId: true } });
    if (!run || !access.canSee(run)) return;
    const feed = this.acquire(runId);
    let cursor = afterSequence;
    try {
      while (!signal.aborted) {
        const batch =
          feed.eventsAfter(cursor) ??
          (await this.deps.db.runEvent.findMany({
            where: { runId, sequence: { gt: cursor } },
            orderBy: { sequence: 'asc' },
            take: REPLAY_PAGE,
            include: { actor: true, log: true },
          }));
        for (const event of batch) {
          cursor = event.sequence;
          yield event;
        }
        if (batch.length === 0) await feed.waitBeyond(cursor, signal);
      }
    } finally {
      this.release(runId, feed);
    }
  }

  /** Number of runs with a live feed in this process (for tests and metrics). */
  get size(): number {
    return this.feeds.size;
  }

  private acquire(runId: string): Feed {
    let feed = this.feeds.get(runId);
    if (!feed) {
      feed = new Feed(runId, this.deps.db, this.deps.bus, this.deps.bufferSize ?? 256);
      this.feeds.set(runId, feed);
    }
    feed.subscribers += 1;
    return feed;
  }

  private release(runId: string, feed: Feed): void {
    feed.subscribers -= 1;
    if (feed.subscribers === 0) {
      feed.close();
      this.feeds.delete(runId);
    }
  }
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Wraps a generator so that the consumer's `return()` (a client unsubscribing) stops it at once,
 * even while it is waiting for the next event: a plain async generator would only notice at its
 * next `yield`, keeping its resources until then.
 */
export function abortable<T>(start: (signal: AbortSignal) => AsyncGenerator<T>): AsyncGenerator<T> {
  const controller = new AbortController();
  const inner = start(controller.signal);
  const outer: AsyncGenerator<T> = {
    next: (...args) => inner.next(...args),
    return: async (value) => {
      controller.abort();
      return inner.return(value as T);
    },
    throw: async (error) => {
      controller.abort();
      return inner.throw(error);
    },
    [Symbol.asyncIterator]: () => outer,
  };
  return outer;
}
