// The event bus: the only way run events leave a process.
//
// Events are stored first (run_events rows, written by src/runs/), and the notice that a run
// changed is sent with pg_notify *inside the same transaction*, so PostgreSQL delivers it only
// after the commit: a listener can never hear of an event it cannot read. Listeners in every
// process (API, worker, other hosts) hear it through LISTEN. Subscribers treat a notice as
// "read what is new since your last sequence", which makes delivery gap-free and duplicate-free
// even when notices are lost (reconnects) or coalesced.
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { RunStatus } from '../generated/prisma/enums.ts';

export const RUN_EVENTS_CHANNEL = 'run_events';

export interface RunChangeNotice {
  runId: string;
  sequence: number;
  status: RunStatus;
}

type SqlExecutor = { $executeRaw(query: TemplateStringsArray, ...values: unknown[]): Promise<number> };

/** Sends the notice when (and only if) the surrounding transaction commits. */
export async function publishInTransaction(tx: SqlExecutor, notice: RunChangeNotice): Promise<void> {
  await tx.$executeRaw`SELECT pg_notify(${RUN_EVENTS_CHANNEL}, ${JSON.stringify(notice)})`;
}

export interface RunChangeWaiter {
  /** Resolves at the next notice for the run (or one that arrived since the last wait), a resync, or the timeout. */
  wait(timeoutMs?: number): Promise<void>;
  close(): void;
}

const RESYNC = Symbol('resync');

export class RunEventBus {
  private readonly emitter = new EventEmitter();
  private client: pg.Client | null = null;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly url: string,
    private readonly log: (message: string) => void,
  ) {
    this.emitter.setMaxListeners(0);
  }

  static async connect({ url, log = () => {} }: { url: string; log?: (message: string) => void }): Promise<RunEventBus> {
    const bus = new RunEventBus(url, log);
    await bus.listen();
    return bus;
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (message) => {
      if (!message.payload) return;
      const notice = JSON.parse(message.payload) as RunChangeNotice;
      this.emitter.emit(notice.runId, notice);
      this.emitter.emit('*', notice);
    });
    client.on('error', (error) => {
      this.log(`event bus connection lost: ${error.message}`);
      this.scheduleReconnect();
    });
    client.on('end', () => this.scheduleReconnect());
    await client.connect();
    await client.query(`LISTEN ${RUN_EVENTS_CHANNEL}`);
    this.client = client;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.client = null;
    this.reconnectTimer = setTimeout(async () => {
      this.reconnectTimer = null;
      try {
        await this.listen();
        // Notices sent while we were away are gone: make every subscriber re-read.
        this.emitter.emit(RESYNC);
      } catch (error) {
        this.log(`event bus reconnect failed: ${(error as Error).message}`);
        this.scheduleReconnect();
      }
    }, 500);
  }

  /** Calls `listener` for every notice about `runId` ('*' for every run). Returns the unsubscribe. */
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
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.emitter.emit(RESYNC);
    this.emitter.removeAllListeners();
    await this.client?.end().catch(() => {});
  }
}
