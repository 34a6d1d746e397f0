// `runsUpdated(filter, since)`: snapshots of every run that matches a filter, as it changes.
//
// Subscribers with the same filter share one feed per process: each change notice is checked
// against the filter once (one query for a batch of changed runs, one for their snapshots),
// whatever the number of subscribers. Each subscriber keeps a queue holding at most one snapshot
// per run (the latest), so a slow reader costs memory bounded by the runs it watches, not by
// the rate of changes.
//
// What a feed shows is scoped by the visibility rule (src/access/visibility.ts) inside its SQL, so
// feeds are shared only by subscribers that see the same workspaces: a run of a workspace a
// subscriber cannot see never reaches it, not even as `matchesFilter: false`. Each subscriber
// also checks every run against its own access before queuing it.
import { Prisma } from '../generated/prisma/client.ts';
import type { RoutineRun } from '../generated/prisma/client.ts';
import type { Db } from '../db/client.ts';
import type { Access } from '../access/access.ts';
import { visibleRunWhere } from '../access/visibility.ts';
import { visibleRunFilterSql, type RunFilter } from '../runs/run-filter.ts';
import type { RunEventBus } from './bus.ts';

export interface RunUpdate {
  run: RoutineRun;
  sequence: number;
  matchesFilter: boolean;
}

interface Change {
  run: RoutineRun;
  matches: boolean;
}

const BATCH_DELAY_MS = 20;
const INITIAL_PAGE = 500;
const SAFETY_REFRESH_MS = 15_000;

class Subscriber {
  /** runId → the sequence last sent, for runs last sent as matching. */
  readonly matching = new Map<string, number>();
  private readonly queue = new Map<string, RunUpdate>();
  private wake: (() => void) | null = null;

  offer(change: Change): void {
    if (!this.access.canSee(change.run)) return;
    const runId = change.run.id;
    const sent = this.matching.get(runId);
    const queued = this.queue.get(runId);
    const newest = Math.max(sent ?? -1, queued?.sequence ?? -1);
    if (change.run.lastSequence <= newest && (change.matches || sent === undefined)) return;
    // Re-insert so the map keeps runs in the order of their latest change.
    this.queue.delete(runId);
    if (!change.matches && sent === undefined) {
      // It matched only while queued here and the subscriber never saw it: nothing to retract.
      return;
    }
    this.queue.set(runId, { run: change.run, sequence: change.run.lastSequence, matchesFilter: change.matches });
    this.wake?.();
  }

  take(): RunUpdate | null {
    const first = this.queue.entries().next();
    if (first.done) return null;
    const [runId, update] = first.value;
    this.queue.delete(runId);
    if (update.matchesFilter) this.matching.set(runId, update.sequence);
    else this.matching.delete(runId);
    return update;
  }

  constructor(
    signal: AbortSignal,
    private readonly access: Access,
  ) {
    signal.addEventListener('abort', () => this.wake?.(), { once: true });
  }

  waitForWork(): Promise<void> {
    if (this.queue.size > 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.wake = () => {
        this.wake = null;
        resolve();
      };
    });
  }
}

class FilterFeed {
  readonly subscribers = new Set<Subscriber>();
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private readonly unsubscribe: () => void;
  private readonly safety: NodeJS.Timeout;

  constructor(
    private readonly db: Db,
    bus: RunEventBus,
    private readonly filter: RunFilter,
    /** Any access of the feed's subscribers: they all see the same workspaces (its key). */
    private readonly access: Access,
  ) {
    this.unsubscribe = bus.onRunChange('*', (notice) => {
      if (notice) this.pending.add(notice.runId);
      else this.resyncAll();
      this.schedule();
    });
    // Notices lost while the bus reconnected: look again at what subscribers hold.
    this.safety = setInterval(() => this.resyncAll(), SAFETY_REFRESH_MS);
    this.safety.unref();
  }

  private resyncAll(): void {
    for (const subscriber of this.subscribers) for (const runId of subscriber.matching.keys()) this.pending.add(runId);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.pending.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, BATCH_DELAY_MS);
  }

  private flush(): Promise<void> {
    // Cleared in `finally`, never inside the drain: a drain with nothing to do finishes before the
    // assignment, and clearing it there would leave a settled promise that blocks every later flush.
    this.flushing ??= this.drain().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.pending.size > 0) {
      const ids = [...this.pending];
      this.pending = new Set();
      try {
        const changes = await evaluate(this.db, this.access, this.filter, ids);
        for (const change of changes) {
          for (const subscriber of this.subscribers) subscriber.offer(change);
        }
      } catch {
        for (const id of ids) this.pending.add(id); // the database is away: try again shortly
        setTimeout(() => this.schedule(), 1000).unref();
        return;
      }
    }
  }

  close(): void {
    this.unsubscribe();
    clearInterval(this.safety);
    if (this.timer) clearTimeout(this.timer);
  }
}

/** The changed runs' snapshots, each with whether it matches the filter; runs the access cannot see are left out. */
async function evaluate(db: Db, access: Access, filter: RunFilter, ids: string[]): Promise<Change[]> {
  // One snapshot for both reads: a change committed between them would otherwise pair a new row
  // with an old verdict (a CANCELLED run sent as still matching, its retraction then skipped).
  const [matching, runs] = await db.$transaction(
    [
      db.$queryRaw<{ id: string }[]>`
        SELECT r.id FROM "RoutineRun" r WHERE r.id = ANY(${ids}::uuid[]) AND ${visibleRunFilterSql(access, filter)}`,
      db.routineRun.findMany({ where: { id: { in: ids }, ...visibleRunWhere(access) } }),
    ],
    { isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead },
  );
  const matches = new Set(matching.map((row) => row.id));
  return runs.map((run) => ({ run, matches: matches.has(run.id) }));
}

export class RunUpdateFeeds {
  private readonly feeds = new Map<string, FilterFeed>();

  constructor(private readonly deps: { db: Db; bus: RunEventBus }) {}

  /**
   * Every matching run changed at or after `since` (oldest change first), then each change live.
   * A run that stops matching is sent once more with `matchesFilter: false`.
   */
  async *stream({
    filter,
    since,
    access,
    signal = new AbortController().signal,
  }: {
    filter: RunFilter;
    /** Who subscribes: only runs of the workspaces it sees are sent. */
    access: Access;
    since: Date | null;
    signal?: AbortSignal;
  }): AsyncGenerator<RunUpdate> {
    // Keyed by what the subscriber sees too: a feed's verdicts are computed for its workspaces only.
    const key = JSON.stringify([[...access.workspaceIds].sort(), filter]);
    let feed = this.feeds.get(key);
    if (!feed) {
      feed = new FilterFeed(this.deps.db, this.deps.bus, filter, access);
      this.feeds.set(key, feed);
    }
    const subscriber = new Subscriber(signal, access);
    // Join the live feed before reading the past, so nothing changed in between is missed.
    feed.subscribers.add(subscriber);
    try {
      if (since) {
        let cursor: { updatedAt: Date; id: string } | null = null;
        for (;;) {
          const page: { id: string; updatedAt: Date }[] = await this.deps.db.$queryRaw<{ id: string; updatedAt: Date }[]>`
            SELECT r.id, r."updatedAt" FROM "RoutineRun" r
            WHERE ${visibleRunFilterSql(access, filter)} AND r."updatedAt" >= ${since}
            ${cursor ? Prisma.sql`AND (r."updatedAt", r.id) > (${cursor.updatedAt}, ${cursor.id}::uuid)` : Prisma.empty}
            ORDER BY r."updatedAt", r.id LIMIT ${INITIAL_PAGE}`;
          if (page.length === 0) break;
          const runs = await this.deps.db.routineRun.findMany({
            where: { id: { in: page.map((row) => row.id) }, ...visibleRunWhere(access) },
            orderBy: [{ updatedAt: 'asc' }, { id: 'asc' }],
          });
          for (const run of runs) subscriber.offer({ run, matches: true });
          while (!signal.aborted) {
            const update = subscriber.take();
            if (!update) break;
            yield update;
          }
          const last: { id: string; updatedAt: Date } = page.at(-1)!;
          cursor = { updatedAt: last.updatedAt, id: last.id };
          if (page.length < INITIAL_PAGE) break;
        }
      }
      while (!signal.aborted) {
        const update = subscriber.take();
        if (update) yield update;
        else await subscriber.waitForWork();
      }
    } finally {
      feed.subscribers.delete(subscriber);
      if (feed.subscribers.size === 0) {
        feed.close();
        this.feeds.delete(key);
      }
    }
  }

  get size(): number {
    return this.feeds.size;
  }
}
