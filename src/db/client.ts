// Prisma runs through the pg driver adapter (no native query engine; see README "Migrations").
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.ts';
import { exactJson } from './exact-json.ts';

export type Db = PrismaClient;
export type { Prisma } from '../generated/prisma/client.ts';

/** `onQuery` sees every SQL statement with its parameters (a JSON array), e.g. to count them. */
export function createDb({ url, onQuery }: { url: string; onQuery?: (sql: string, params: string) => void }): Db {
  const adapter = new PrismaPg({ connectionString: url, max: 10 });
  const db = new PrismaClient({
    adapter,
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
  return db.$extends(exactJson) as unknown as Db;
}
