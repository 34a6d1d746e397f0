// Run change notices over PostgreSQL: pg_notify inside the writing transaction (PostgreSQL holds
// it until the commit and drops it on rollback), LISTEN on one connection per process.
import pg from 'pg';
import type { Db } from '../db/client.ts';
import type { NoticeHandlers, NoticeTransport, RunChangeNotice, RunEventTransport } from './bus.ts';

export const RUN_EVENTS_CHANNEL = 'run_events';

export type SqlExecutor = { $executeRaw(query: TemplateStringsArray, ...values: unknown[]): Promise<number> };

export async function notifyInTransaction(tx: SqlExecutor, notice: RunChangeNotice): Promise<void> {
  await tx.$executeRaw`SELECT pg_notify(${RUN_EVENTS_CHANNEL}, ${JSON.stringify(notice)})`;
}

const RECONNECT_DELAY_MS = 500;

export class PostgresNoticeTransport implements NoticeTransport {
  private client: pg.Client | null = null;
  private handlers: NoticeHandlers | null = null;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private readonly url: string;
  private readonly log: (message: string) => void;

  constructor({ url, log = () => {} }: { url: string; log?: (message: string) => void }) {
    this.url = url;
    this.log = log;
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
    this.reconnectTimer = setTimeout(() => void this.reconnect(), RECONNECT_DELAY_MS);
  }

  private async reconnect(): Promise<void> {
    this.reconnectTimer = null;
    try {
      await this.connect();
      // Notices sent while we were away are gone: make every subscriber re-read.
      this.handlers?.resync();
    } catch (error) {
      this.log(`event bus reconnect failed: ${(error as Error).message}`);
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
