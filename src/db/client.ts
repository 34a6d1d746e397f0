// Prisma runs through the pg driver adapter (no native query engine; see docs/operations.md "Migrations").
import { AsyncLocalStorage } from 'node:async_hooks';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient, type Prisma } from '../generated/prisma/client.ts';
import { exactJson } from './exact-json.ts';

export type Db = PrismaClient;
export type { Prisma } from '../generated/prisma/client.ts';

type OnQuery = (sql: string, params: string) => void;
const driverPools = new WeakMap<object, { pools: LivePool; onQuery?: OnQuery }>();

/**
 * The one pg pool of a client, shared by Prisma and queryRows/queryValues, and replaced when it
 * ends without the client being closed. Prisma's adapter used to own the pool and end it when its
 * engine panicked (e.g. on a lone surrogate in a Json value); Prisma then opened a pool of its own,
 * but the raw reads kept the ended one and failed for every user until a restart (issue 11).
 */
class LivePool {
  private pool: pg.Pool;
  private closed = false;

  constructor(private readonly config: pg.PoolConfig) {
    this.pool = this.open();
  }

  current(): pg.Pool {
    if (!this.closed && (this.pool.ending || this.pool.ended)) this.pool = this.open();
    return this.pool;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (!this.pool.ending) await this.pool.end();
  }

  private open(): pg.Pool {
    const pool = new pg.Pool(this.config);
    // An idle connection that breaks (PostgreSQL restarted, a network cut) is dropped by the pool;
    // without a listener its 'error' event would end the process.
    pool.on('error', () => {});
    return pool;
  }
}

/**
 * Prisma's adapter factory over the live pool: Prisma calls `connect` again after its engine
 * panics, and gets the pool as it is now. The adapter never ends the pool (disposeExternalPool
 * false): only closing the client does.
 */
class LivePoolAdapterFactory implements Pick<PrismaPg, 'provider' | 'adapterName' | 'connect' | 'connectToShadowDb'> {
  readonly provider = 'postgres';
  readonly adapterName: string;

  constructor(private readonly pools: LivePool) {
    this.adapterName = this.adapter().adapterName;
  }

  connect(): ReturnType<PrismaPg['connect']> {
    return this.adapter().connect();
  }

  connectToShadowDb(): ReturnType<PrismaPg['connectToShadowDb']> {
    return this.adapter().connectToShadowDb();
  }

  private adapter(): PrismaPg {
    return new PrismaPg(this.pools.current(), { disposeExternalPool: false });
  }
}

/** `onQuery` sees every SQL statement with its parameters (a JSON array), e.g. to count them. */
export function createDb({ url, onQuery }: { url: string; onQuery?: OnQuery }): Db {
  // The pool is ours so that queryText can use it too; closing the client ends it.
  const pools = new LivePool({ connectionString: url, max: 10 });
  const db = new PrismaClient({
    adapter: new LivePoolAdapterFactory(pools),
    log: onQuery ? [{ emit: 'event', level: 'query' }] : [],
    // Prisma's defaults (2 s to get a connection, 5 s per transaction) abort short transactions
    // on a busy 2-core machine (a worker's method processes starting next to the API); run
    // transactions are short, so a starved one should finish rather than fail the run.
    transactionOptions: { maxWait: 10_000, timeout: 20_000 },
  });
  if (onQuery) {
    (db as unknown as { $on(event: 'query', cb: (e: { query: string; params: string }) => void): void }).$on('query', (e) =>
      onQuery(e.query, e.params),
    );
  }
  // Json columns keep every digit of the numbers written to them (src/db/exact-json.ts).
  const withJson = db.$extends(exactJson);
  const extended = withJson.$extends({
    client: {
      async $transaction(...args: unknown[]) {
        const [operations, options] = args as [unknown, never];
        if (typeof operations !== 'function') return withJson.$transaction(operations as never, options);
        const committed: Array<() => void> = [];
        const result = await withJson.$transaction((tx) => {
          afterCommitCallbacks.set(tx, committed);
          return (operations as (tx: unknown) => Promise<unknown>)(tx);
        }, options);
        // Reached only after COMMIT returned; a rolled-back transaction threw above.
        for (const callback of committed) callback();
        return result;
      },
      async $disconnect() {
        await db.$disconnect();
        await pools.close();
      },
    },
  }) as unknown as Db;
  driverPools.set(extended, { pools, onQuery });
  return extended;
}

/**
 * `extended` (a `$extends` of `base`, e.g. the Redis transport's) reads and writes on `base`'s pg
 * pool: queryRows/queryValues given either client use the same driver.
 */
export function sharingDriverOf(base: Db, extended: Db): Db {
  const driver = driverPools.get(base);
  if (driver) driverPools.set(extended, driver);
  return extended;
}

const afterCommitCallbacks = new WeakMap<object, Array<() => void>>();

/**
 * Calls `callback` once the interactive transaction `tx` (of a client made by createDb) has
 * committed, never when it rolls back; at once for a client outside a transaction, whose
 * statements commit one by one.
 */
export function afterCommit(tx: object, callback: () => void): void {
  const pending = afterCommitCallbacks.get(tx);
  if (pending) pending.push(callback);
  else callback();
}

/** The pg pool of a client made by createDb: open connections, idle ones, queries waiting for one. */
export function poolStats(db: Db): { totalCount: number; idleCount: number; waitingCount: number } | null {
  const pool = driverPools.get(db)?.pools.current();
  return pool ? { totalCount: pool.totalCount, idleCount: pool.idleCount, waitingCount: pool.waitingCount } : null;
}

/**
 * The columns of a one-row statement, read on the client's own pg pool: for a result
 * that is one large document (src/reads/: a whole GraphQL response built in PostgreSQL), Prisma's
 * raw-query result handling costs twice the driver's own. `onQuery` sees the statement as it sees
 * Prisma's.
 */
export async function queryValues(db: Db, sql: StatementText): Promise<unknown[] | null> {
  const [row] = await driverQuery<unknown[]>(db, sql, 'array');
  return row ?? null;
}

/**
 * Rows of plain columns (ids, counts, texts) on the client's own pg pool: for the small reads of
 * every list request, without Prisma's per-query overhead. No Json or BigInt columns.
 */
export async function queryRows<T>(db: Db, sql: Prisma.Sql): Promise<T[]> {
  return driverQuery<T>(db, sql);
}

/** A statement as the driver sends it: a Prisma.Sql, or its text kept to be sent again (Prisma.Sql rebuilds its text on every read). */
export type StatementText = Pick<Prisma.Sql, 'text' | 'values'>;

async function driverQuery<T>(db: Db, sql: StatementText, rowMode?: 'array'): Promise<T[]> {
  const driver = driverPools.get(db);
  if (!driver) throw new Error('not a client made by createDb (a $extends of one must be passed to sharingDriverOf)');
  // Dates as UTC text, the way Prisma sends them: the columns are timestamps without time zone.
  const values = sql.values.map((value) => (value instanceof Date ? value.toISOString() : value));
  const { rows } = await driver.pools.current().query({ text: sql.text, values, ...(rowMode ? { rowMode } : {}) });
  driver.onQuery?.(sql.text, JSON.stringify(values));
  return rows as T[];
}

// Statement counting for bench/run-cost.ts (issue 17): with RR_STATEMENT_COUNTS set to a folder,
// every statement this process sends (Prisma's, raw ones, BEGIN/COMMIT) is counted under the phase
// its caller named with `countedAs`, and the counts are written to <folder>/<pid>.json. Off (and
// free: no wrapping, no async context) otherwise.
const STATEMENT_COUNTS_DIR = process.env.RR_STATEMENT_COUNTS ?? '';
const phaseOf = STATEMENT_COUNTS_DIR ? new AsyncLocalStorage<string>() : null;

/** Runs `work` with its statements counted as `phase` (only when RR_STATEMENT_COUNTS is set). */
export function countedAs<T>(phase: string, work: () => T): T {
  return phaseOf ? phaseOf.run(phase, work) : work();
}

if (STATEMENT_COUNTS_DIR) {
  /** phase → statements, explicit transactions (BEGIN), statements outside one (each its own transaction). */
  const counts: Record<string, { statements: number; transactions: number; autocommit: number }> = {};
  const inTransaction = new WeakSet<object>();
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const config = args[0] as string | { text?: string };
    const text = (typeof config === 'string' ? config : (config?.text ?? '')).trim().toUpperCase();
    const phase = phaseOf!.getStore() ?? 'other';
    const count = (counts[phase] ??= { statements: 0, transactions: 0, autocommit: 0 });
    if (text.startsWith('BEGIN')) {
      count.transactions += 1;
      inTransaction.add(this);
    } else if (text.startsWith('COMMIT') || text.startsWith('ROLLBACK')) {
      inTransaction.delete(this);
    } else {
      count.statements += 1;
      if (!inTransaction.has(this)) count.autocommit += 1;
    }
    return query.apply(this, args);
  } as typeof pg.Client.prototype.query;
  const file = path.join(STATEMENT_COUNTS_DIR, `${process.pid}.json`);
  const write = () => {
    try {
      writeFileSync(file, JSON.stringify(counts));
    } catch {
      // the bench reads what is there
    }
  };
  setInterval(write, 200).unref();
  process.on('exit', write);
}
