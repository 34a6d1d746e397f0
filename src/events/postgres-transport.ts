// Run change notices over PostgreSQL: pg_notify inside the writing transaction (PostgreSQL holds
// it until the commit and drops it on rollback), LISTEN on one connection per process.
import pg from 'pg';
import { queryRows, type Db } from '../db/client.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { LogThrottle } from '../log-throttle.ts';
import { shutdownHasBegun } from '../shutdown.ts';
import type { NoticeHandlers, NoticeTransport, RunChangeNotice, RunEventTransport } from './bus.ts';

export const RUN_EVENTS_CHANNEL = 'run_events';

export type SqlExecutor = { $executeRaw(query: TemplateStringsArray, ...values: unknown[]): Promise<number> };

export async function notifyInTransaction(tx: SqlExecutor, notice: RunChangeNotice): Promise<void> {
  await tx.$executeRaw`SELECT pg_notify(${RUN_EVENTS_CHANNEL}, ${JSON.stringify(notice)})`;
}

/** pg_notify as a statement of its own on the client's pg pool (a tenth of Prisma's CPU per statement). */
export async function notifyOnDriver(db: Db, notice: RunChangeNotice): Promise<void> {
  await queryRows(db, Prisma.sql`SELECT pg_notify(${RUN_EVENTS_CHANNEL}, ${JSON.stringify(notice)})`);
}

/** The first reconnect is quick (a blip); while the database stays away the wait doubles up to the cap. */
const RECONNECT_DELAY_MS = 500;
const RECONNECT_MAX_DELAY_MS = 4_000;

export class PostgresNoticeTransport implements NoticeTransport {
  private client: pg.Client | null = null;
  private handlers: NoticeHandlers | null = null;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private failedReconnects = 0;
  private readonly url: string;
  private readonly throttle: LogThrottle;

  constructor({ url, log = () => {} }: { url: string; log?: (message: string) => void }) {
    this.url = url;
    this.throttle = new LogThrottle(log);
  }

  async listen(handlers: NoticeHandlers): Promise<void> {
    this.handlers = handlers;
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (message) => {
      if (message.payload) this.handlers?.notice(JSON.parse(message.payload) as RunChangeNotice);
    });
    // Only the connection in use may trigger a reconnect: a failed attempt's late 'end' must not
    // open a second LISTEN connection next to the one that replaced it.
    const lost = (reason: string) => {
      if (this.client !== client) return;
      // A signal to the whole group stops the embedded PostgreSQL too, before this process has
      // closed the bus: nothing was lost, and nothing is reconnected once the shutdown has begun.
      if (shutdownHasBegun()) return;
      this.throttle.failed('event bus', `connection lost (${reason}); reconnecting`);
      this.scheduleReconnect();
    };
    client.on('error', (error) => lost(error.message));
    client.on('end', () => lost('ended'));
    try {
      await client.connect();
      await client.query(`LISTEN ${RUN_EVENTS_CHANNEL}`);
    } catch (error) {
      client.removeAllListeners('end');
      client.on('error', () => {});
      await client.end().catch(() => {});
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.client = null;
    const delay = Math.min(RECONNECT_MAX_DELAY_MS, RECONNECT_DELAY_MS * 2 ** this.failedReconnects);
    this.reconnectTimer = setTimeout(() => void this.reconnect(), delay);
  }

  private async reconnect(): Promise<void> {
    this.reconnectTimer = null;
    try {
      await this.connect();
      this.failedReconnects = 0;
      this.throttle.succeeded('event bus');
      // Notices sent while we were away are gone: make every subscriber re-read.
      this.handlers?.resync();
    } catch (error) {
      this.failedReconnects += 1;
      this.throttle.failed('event bus', `reconnect failed: ${(error as Error).message}`);
      this.scheduleReconnect();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.client?.end().catch(() => {});
  }
}

/** The default transport: nothing to connect for publishing, pg_notify rides on the writes. */
export class PostgresRunEventTransport implements RunEventTransport {
  readonly name = 'postgres';

  constructor(private readonly options: { url: string; log?: (message: string) => void }) {}

  publishThrough(db: Db): Db {
    return db;
  }

  receiver(): NoticeTransport {
    return new PostgresNoticeTransport(this.options);
  }

  async close(): Promise<void> {}
}
