// The project applies its own migration files (Prisma's native migrate engine cannot be
// downloaded here). These tests prove that those files produce exactly the schema that
// prisma/schema.prisma describes, and that concurrent starts migrate safely.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/db/migrate.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';

const run = promisify(execFile);
const databases: TestDatabase[] = [];

afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
});

async function database() {
  const created = await createTestDatabase('rr_migrate');
  databases.push(created);
  return created;
}

async function catalog(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const query = async (sql: string) => (await client.query(sql)).rows.map((row) => Object.values(row).join(' | '));
    return {
      columns: await query(`
        SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default
        FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'
        ORDER BY table_name, column_name`),
      indexes: await query(`
        SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'
        ORDER BY tablename, indexname`),
      constraints: await query(`
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text NOT LIKE '%_prisma_migrations%'
        ORDER BY 1, 2`),
      enums: await query(`
        SELECT t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
        FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname ORDER BY t.typname`),
    };
  } finally {
    await client.end();
  }
}

describe('migrations', () => {
  it('applying prisma/migrations yields the schema that schema.prisma describes', async () => {
    const migrated = await database();
    await migrate({ url: migrated.url });

    // The reference: what Prisma itself generates from schema.prisma, applied to an empty database.
    const reference = await database();
    const { stdout: sql } = await run(
      'node',
      ['scripts/prisma.mjs', 'migrate', 'diff', '--from-empty', '--to-schema-datamodel', 'prisma/schema.prisma', '--script'],
      { env: { ...process.env, DATABASE_URL: reference.url } },
    );
    expect(sql).toMatch(/CREATE TABLE "RoutineRun"/);
    const client = new pg.Client({ connectionString: reference.url });
    await client.connect();
    await client.query(sql);
    await client.end();

    const [actual, expected] = await Promise.all([catalog(migrated.url), catalog(reference.url)]);
    expect(actual.columns.length).toBeGreaterThan(50);
    expect(actual).toEqual(expected);
  });

  it('several processes migrating at once apply each migration exactly once', async () => {
    const target = await database();
    const results = await Promise.all([1, 2, 3, 4].map(() => migrate({ url: target.url })));
    const appliedCounts = results.map((result) => result.applied.length);
    expect(appliedCounts.filter((count) => count > 0)).toHaveLength(1);
    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    const { rows } = await client.query(`SELECT migration_name, finished_at, applied_steps_count FROM "_prisma_migrations"`);
    await client.end();
    expect(rows.length).toBe(appliedCounts.find((count) => count > 0));
    expect(rows.every((row) => row.finished_at !== null && row.applied_steps_count === 1)).toBe(true);
    // Migrating again is a no-op.
    expect((await migrate({ url: target.url })).applied).toEqual([]);
  });
});
