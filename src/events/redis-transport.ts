// Run change notices over Redis pub/sub (REDIS_URL), for deployments where many API processes
// would otherwise each hold a LISTEN connection and every write would pass through PostgreSQL's
// notification queue.
//
// Redis knows nothing of PostgreSQL transactions, so a notice is published only after the
// transaction that wrote the event has committed: publishThrough() wraps the client's
// $transaction, collects the notices that src/runs/ hands to publishInTransaction inside it, and
// publishes them once the commit has returned. A rolled-back transaction publishes nothing.
//
// Pub/sub delivers at most once and keeps nothing, which the bus's contract tolerates: a notice
// only means "read what is new since your last sequence". A lost notice (a process that dies
// between its commit and its PUBLISH, a dropped connection) delays delivery until the next notice
// about the run or the feeds' safety refresh; after a subscriber connection comes back, every
// subscriber re-reads at once; a duplicated notice costs one empty read.
import { createClient } from '@redis/client';
import { sharingDriverOf, type Db } from '../db/client.ts';
import { deferNoticesToCommit, type NoticeHandlers, type NoticeTransport, type RunChangeNotice, type RunEventTransport } from './bus.ts';

type RedisClient = ReturnType<typeof createClient>;

/** Publishes waiting for a connection (Redis away) beyond this are dropped: subscribers resync anyway. */
const MAX_QUEUED_COMMANDS = 10_000;
const CONNECT_TIMEOUT_MS = 10_000;

export interface RedisTransportOptions {
  url: string;
  /** Channels are named `{prefix}:run-events`: deployments (and test files) sharing a Redis stay apart. */
  channelPrefix: string;
  log?: (message: string) => void;
}

function redisClient(url: string, name: string): RedisClient {
  return createClient({
    url,
    // Named after the channel prefix, so CLIENT LIST shows (and an operator can kill) whose it is.
    name,
    commandsQueueMaxLength: MAX_QUEUED_COMMANDS,
    socket: { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000) },
  });
}

/** Logs the first error of an outage, not every failed reconnect attempt. */
function watchConnection(client: RedisClient, what: string, log: (message: string) => void): void {
  let healthy = true;
  client.on('error', (error: Error) => {
    if (!healthy) return;
    healthy = false;
    log(`${what} lost its Redis connection: ${error.message}`);
  });
  client.on('ready', () => {
    if (!healthy) log(`${what} reconnected to Redis`);
    healthy = true;
  });
}

async function connectOrFail(client: RedisClient, url: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Redis at ${redactedUrl(url)} did not answer within ${CONNECT_TIMEOUT_MS} ms`)),
          CONNECT_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (error) {
    client.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function redactedUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

export class RedisRunEventTransport implements RunEventTransport {
  readonly name = 'redis';
  readonly channel: string;

  private constructor(
    private readonly publisher: RedisClient,
    private readonly options: RedisTransportOptions,
  ) {
    this.channel = `${options.channelPrefix}:run-events`;
  }

  static async connect(options: RedisTransportOptions): Promise<RedisRunEventTransport> {
    const publisher = redisClient(options.url, `${options.channelPrefix}:publisher`);
    watchConnection(publisher, 'the run event publisher', options.log ?? (() => {}));
    await connectOrFail(publisher, options.url);
    return new RedisRunEventTransport(publisher, options);
  }

  /** Sends notices of committed events; a failure is logged, never thrown at the writer. */
  announce(notices: RunChangeNotice[]): void {
    for (const notice of notices) {
      this.publisher.publish(this.channel, JSON.stringify(notice)).catch(() => {
        // Redis is away (logged once by watchConnection): subscribers resync when it is back.
      });
    }
  }

  publishThrough(db: Db): Db {
    const announce = (notices: RunChangeNotice[]) => this.announce(notices);
    const extended = db.$extends({
      client: {
        async $transaction(...args: unknown[]) {
          const [operations, options] = args as [unknown, never];
          // The batch form takes prepared queries, which never reach publishInTransaction.
          if (typeof operations !== 'function') return db.$transaction(operations as never, options);
          const notices: RunChangeNotice[] = [];
          const result = await db.$transaction((tx) => {
            deferNoticesToCommit(tx, (notice) => notices.push(notice));
            return (operations as (tx: unknown) => Promise<unknown>)(tx);
          }, options);
          // Reached only after COMMIT returned: every announced event can be read.
          if (notices.length > 0) announce(notices);
          return result;
        },
      },
    });
    // An event appended with the client itself (no transaction) is committed by its statement.
    deferNoticesToCommit(extended, (notice) => announce([notice]));
    return sharingDriverOf(db, extended as unknown as Db);
  }

  receiver(): NoticeTransport {
    return new RedisNoticeReceiver(
      this.publisher.duplicate({ name: `${this.options.channelPrefix}:subscriber` }),
      this.channel,
      this.options.url,
      this.options.log ?? (() => {}),
    );
  }

  async close(): Promise<void> {
    await this.publisher.close().catch(() => this.publisher.destroy());
  }
}

/** A connection in subscriber mode (Redis allows no other commands on it). */
class RedisNoticeReceiver implements NoticeTransport {
  constructor(
    private readonly client: RedisClient,
    private readonly channel: string,
    private readonly url: string,
    private readonly log: (message: string) => void,
  ) {}

  async listen(handlers: NoticeHandlers): Promise<void> {
    watchConnection(this.client, 'the run event subscriber', this.log);
    let readies = 0;
    // The client re-subscribes by itself before it reports 'ready' again; what was published
    // meanwhile is gone, so every subscriber re-reads.
    this.client.on('ready', () => {
      if (readies++ > 0) handlers.resync();
    });
    await connectOrFail(this.client, this.url);
    await this.client.subscribe(this.channel, (message: string) => {
      let notice: RunChangeNotice;
      try {
        notice = JSON.parse(message) as RunChangeNotice;
      } catch {
        handlers.resync(); // not ours, or garbled: re-reading costs little and misses nothing
        return;
      }
      handlers.notice(notice);
    });
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => this.client.destroy());
  }
}
