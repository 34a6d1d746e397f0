// The event bus: the only way run events leave a process.
//
// Events are stored first (run_events rows, written by src/runs/), then a notice that the run
// changed is announced to every process (API, worker, other hosts) by a transport: PostgreSQL
// LISTEN/NOTIFY (src/events/postgres-transport.ts) or Redis pub/sub when REDIS_URL is set
// (src/events/redis-transport.ts); src/runtime.ts picks one. Either way a notice is sent only once
// the writing transaction has committed, so a listener never hears of an event it cannot read.
// Subscribers treat a notice as "read what is new since your last sequence", which makes
// delivery gap-free and duplicate-free even when notices are lost (reconnects), duplicated or
// coalesced: a transport only has to say "resync" after a gap.
import { EventEmitter } from 'node:events';
import type { Db } from '../db/client.ts';
import type { RunStatus } from '../generated/prisma/enums.ts';
import { PostgresNoticeTransport, notifyInTransaction, notifyOnDriver, type SqlExecutor } from './postgres-transport.ts';

export { RUN_EVENTS_CHANNEL } from './postgres-transport.ts';

export interface RunChangeNotice {
  runId: string;
  sequence: number;
  status: RunStatus;
}

/** What a transport tells the bus it feeds. */
export interface NoticeHandlers {
  notice(notice: RunChangeNotice): void;
  /** Notices may have been lost (a reconnect): every subscriber re-reads. */
  resync(): void;
}

/** The receiving half of a transport: one per process that has subscribers. */
export interface NoticeTransport {
  listen(handlers: NoticeHandlers): Promise<void>;
  close(): Promise<void>;
}

/** How run change notices travel between processes; src/runtime.ts picks one per process. */
export interface RunEventTransport {
  readonly name: 'postgres' | 'redis';
  /** `db` wired so that the run events written through it are announced on this transport. */
  publishThrough(db: Db): Db;
  /** A new receiving connection, for a process with subscribers (the bus closes it). */
  receiver(): NoticeTransport;
  /** Closes the publishing side. */
  close(): Promise<void>;
}

/**
 * Transactions whose notices are announced after they commit (Redis), keyed by the transaction
 * client that src/runs/ passes to publishInTransaction; see deferNoticesToCommit.
 */
const deferred = new WeakMap<object, (notice: RunChangeNotice) => void>();

/**
 * Announces a run change written in `tx`, when (and only if) that transaction commits: with
 * PostgreSQL as pg_notify inside the transaction (PostgreSQL delivers it at commit); with Redis
 * collected here and published by the transaction's owner after the commit.
 */
export async function publishInTransaction(tx: SqlExecutor, notice: RunChangeNotice): Promise<void> {
  const defer = deferred.get(tx);
  if (defer) defer(notice);
  else await notifyInTransaction(tx, notice);
}

/**
 * Announces a change already committed by a statement of its own on `db` (not in a transaction):
 * to the deferred transport when there is one, else by pg_notify on the driver.
 */
export async function publishCommitted(db: Db, notice: RunChangeNotice): Promise<void> {
  const defer = deferred.get(db);
  if (defer) defer(notice);
  else await notifyOnDriver(db, notice);
}

/** Whether notices written through `client` go to a deferred transport (Redis) rather than pg_notify. */
export function noticesDeferred(client: object): boolean {
  return deferred.has(client);
}

/**
 * Makes publishInTransaction hand notices written through `client` (a transaction client, or a
 * client whose statements commit one by one) to `collect` instead of sending pg_notify.
 */
export function deferNoticesToCommit(client: object, collect: (notice: RunChangeNotice) => void): void {
  deferred.set(client, collect);
}

export interface RunChangeWaiter {
  /** Resolves at the next notice for the run (or one that arrived since the last wait), a resync, or the timeout. */
  wait(timeoutMs?: number): Promise<void>;
  close(): void;
}

const RESYNC = Symbol('resync');

export class RunEventBus {
  private readonly emitter = new EventEmitter();

  private constructor(private readonly transport: NoticeTransport) {
    this.emitter.setMaxListeners(0);
  }

  /** A bus fed by `transport`, or by PostgreSQL LISTEN on `url`. */
  static async connect(options: { transport: NoticeTransport } | { url: string; log?: (message: string) => void }): Promise<RunEventBus> {
    const transport = 'transport' in options ? options.transport : new PostgresNoticeTransport(options);
    const bus = new RunEventBus(transport);
    await transport.listen({
      notice: (notice) => {
        bus.emitter.emit(notice.runId, notice);
        bus.emitter.emit('*', notice);
      },
      resync: () => bus.emitter.emit(RESYNC),
    });
    return bus;
  }

  /** Calls `listener` for every notice about `runId` ('*' for every run), and with null on a resync. Returns the unsubscribe. */
  onRunChange(runId: string | '*', listener: (notice: RunChangeNotice | null) => void): () => void {
    const resync = () => listener(null);
    this.emitter.on(runId, listener);
    this.emitter.on(RESYNC, resync);
    return () => {
      this.emitter.off(runId, listener);
      this.emitter.off(RESYNC, resync);
    };
  }

  /**
   * A latch for one subscriber: notices that arrive while it is busy reading are not lost,
   * because register-then-read-then-wait sees them as a pending wake-up.
   */
  waiter(runId: string | '*'): RunChangeWaiter {
    let pending = false;
    let wake: (() => void) | null = null;
    const unsubscribe = this.onRunChange(runId, () => {
      pending = true;
      wake?.();
    });
    return {
      wait: (timeoutMs = 30_000) =>
        new Promise<void>((resolve) => {
          if (pending) {
            pending = false;
            resolve();
            return;
          }
          const timer = setTimeout(done, timeoutMs);
          function done() {
            clearTimeout(timer);
            wake = null;
            pending = false;
            resolve();
          }
          wake = done;
        }),
      close: () => {
        unsubscribe();
        wake?.();
      },
    };
  }

  async close(): Promise<void> {
    this.emitter.emit(RESYNC);
    this.emitter.removeAllListeners();
    await this.transport.close();
  }
}
