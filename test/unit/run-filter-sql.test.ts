// The run filter and page as SQL: the text and the bound values each filter and order produce.
// test/run-graph-filter.test.ts runs them against PostgreSQL; this pins their shape, so a change
// to a condition or to the page's keyset shows up here as a readable diff.
import { describe, expect, it } from 'vitest';
import { Access } from '../../src/access/access.ts';
import { Prisma, type User } from '../../src/generated/prisma/client.ts';
import { runFilterSql, runPageProbeSql, runPageSql, visibleRunFilterSql, type RunOrder } from '../../src/runs/run-filter.ts';

const ID = '0b0f3c8e-6a3e-4c1a-9d2e-5f4b3a2c1d0e';
const USER = '7d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a0f';
const WS_A = '1a1a1a1a-0000-4000-8000-00000000000a';
const WS_B = '2b2b2b2b-0000-4000-8000-00000000000b';

/** A request of a member of two workspaces; `bound` narrows its token to the first. */
function accessOf({ bound = false } = {}): Access {
  const user = { id: USER, name: 'u', isAdmin: false } as User;
  const token = { id: null, scope: 'ADMIN' as const, workspaceId: bound ? WS_A : null, expiresAt: null };
  return new Access(
    user,
    token,
    new Map([
      [WS_A, 'VIEWER'],
      [WS_B, 'ADMIN'],
    ]),
  );
}
const ACCESS = accessOf();

/** The statement with $n placeholders, on one line. */
const text = (sql: Prisma.Sql) => sql.text.replace(/\s+/g, ' ').trim();

describe('runFilterSql', () => {
  it('an empty filter matches every run', () => {
    const sql = runFilterSql({});
    expect(text(sql)).toBe('TRUE');
    expect(sql.values).toEqual([]);
  });

  it('every dimension becomes one condition on r, in a fixed order, with its values bound', () => {
    const createdAfter = new Date('2026-01-01T00:00:00Z');
    const createdBefore = new Date('2026-02-01T00:00:00Z');
    const sql = runFilterSql({
      status: ['QUEUED', 'RUNNING'],
      labelsAll: ['nightly', 'prod'],
      labelsAny: ['a', 'b'],
      attributes: { team: { name: 'ml' } },
      routineName: 'kmeans',
      methodName: 'fit',
      instanceId: ID,
      createdBy: [USER],
      createdAfter,
      createdBefore,
      search: 'churn',
    });
    expect(text(sql)).toBe(
      [
        'r.status = ANY($1::"RunStatus"[])',
        'r.labels @> $2::text[]',
        'r.labels && $3::text[]',
        'r.attributes @> $4::jsonb',
        'r."routineId" IN (SELECT id FROM "Routine" WHERE name = $5)',
        'r."methodName" = $6',
        'r."instanceId" = $7::uuid',
        'r."createdById" = ANY($8::uuid[])',
        'r."createdAt" >= $9',
        'r."createdAt" < $10',
        '(r.name ILIKE $11 OR r.description ILIKE $12)',
      ].join(' AND '),
    );
    expect(sql.values).toEqual([
      ['QUEUED', 'RUNNING'],
      ['nightly', 'prod'],
      ['a', 'b'],
      '{"team":{"name":"ml"}}',
      'kmeans',
      'fit',
      ID,
      [USER],
      createdAfter,
      createdBefore,
      '%churn%',
      '%churn%',
    ]);
  });

  it('search is a substring: LIKE wildcards and the escape character in it match themselves', () => {
    const sql = runFilterSql({ search: '100%_done\\' });
    expect(sql.values).toEqual(['%100\\%\\_done\\\\%', '%100\\%\\_done\\\\%']);
  });

  it('an empty labelsAll asks nothing, but an empty labelsAny matches no run (&& with an empty array)', () => {
    expect(text(runFilterSql({ labelsAll: [] }))).toBe('TRUE');
    expect(text(runFilterSql({ labelsAny: [] }))).toBe('r.labels && $1::text[]');
  });

  it('null attributes ask nothing; an empty object is containment of nothing, which every run matches', () => {
    expect(text(runFilterSql({ attributes: null }))).toBe('TRUE');
    const empty = runFilterSql({ attributes: {} });
    expect(text(empty)).toBe('r.attributes @> $1::jsonb');
    expect(empty.values).toEqual(['{}']);
  });

  it('a facet omits its own dimension: the status facet keeps the labels, the labels facet keeps the status', () => {
    const filter = { status: ['FAILED' as const], labelsAll: ['x'], labelsAny: ['y'], methodName: 'fit' };
    expect(text(runFilterSql(filter, { omit: 'status' }))).toBe(
      'r.labels @> $1::text[] AND r.labels && $2::text[] AND r."methodName" = $3',
    );
    expect(text(runFilterSql(filter, { omit: 'labels' }))).toBe('r.status = ANY($1::"RunStatus"[]) AND r."methodName" = $2');
  });
});

describe('visibleRunFilterSql', () => {
  it('ANDs the workspaces the request sees in front of the filter', () => {
    const sql = visibleRunFilterSql(ACCESS, { methodName: 'fit' });
    expect(text(sql)).toBe('r."workspaceId" = ANY($1::uuid[]) AND r."methodName" = $2');
    expect(sql.values).toEqual([[WS_A, WS_B], 'fit']);
  });

  it('a bound token sees only its workspace, and an empty filter still carries the scope', () => {
    const sql = visibleRunFilterSql(accessOf({ bound: true }), {});
    expect(text(sql)).toBe('r."workspaceId" = ANY($1::uuid[]) AND TRUE');
    expect(sql.values).toEqual([[WS_A]]);
  });

  it('uses the alias it is given for the scope and every condition, and drops the omitted dimension', () => {
    const sql = visibleRunFilterSql(ACCESS, { status: ['FAILED'], labelsAny: ['x'], search: 'a' }, { alias: 'run', omit: 'labels' });
    expect(text(sql)).toBe(
      'run."workspaceId" = ANY($1::uuid[]) AND run.status = ANY($2::"RunStatus"[]) AND (run.name ILIKE $3 OR run.description ILIKE $4)',
    );
    expect(text(sql)).not.toMatch(/\br\./);
  });
});

describe('runPageSql', () => {
  const CREATED_DESC: RunOrder = { field: 'CREATED_AT', direction: 'DESC' };
  const FINISHED_ASC: RunOrder = { field: 'FINISHED_AT', direction: 'ASC' };

  it('a page on a column that is never null: one keyset-ordered query with the id as tie-breaker', () => {
    const sql = runPageSql({ access: ACCESS, filter: { methodName: 'fit' }, order: CREATED_DESC, after: null, take: 20 }, Prisma.sql`TRUE`);
    expect(text(sql)).toBe(
      '(SELECT r.id, r."createdAt" AS "sortValue" FROM "RoutineRun" r WHERE r."workspaceId" = ANY($1::uuid[]) AND r."methodName" = $2 AND TRUE' +
        ' ORDER BY r."createdAt" DESC, r.id DESC LIMIT $3)',
    );
    expect(sql.values).toEqual([[WS_A, WS_B], 'fit', 20]);
  });

  it('after a cursor, the row comparison continues past it in the order’s direction; the scope is one more condition', () => {
    const at = new Date('2026-03-01T00:00:00Z');
    const sql = runPageSql(
      { access: ACCESS, filter: {}, order: { field: 'UPDATED_AT', direction: 'ASC' }, after: { value: at, id: ID }, take: 5 },
      Prisma.sql`r."instanceId" = ${USER}::uuid`,
      { wholeRows: true },
    );
    expect(text(sql)).toBe(
      '(SELECT r.*, r."updatedAt" AS "sortValue" FROM "RoutineRun" r WHERE r."workspaceId" = ANY($1::uuid[]) AND TRUE AND r."instanceId" = $2::uuid' +
        ' AND (r."updatedAt", r.id) > ($3, $4::uuid) ORDER BY r."updatedAt" ASC, r.id ASC LIMIT $5)',
    );
    expect(sql.values).toEqual([[WS_A, WS_B], USER, at, ID, 5]);
  });

  it('a nullable column is read as its values then its NULLs, each limited to the page, NULLs last', () => {
    const sql = runPageSql({ access: ACCESS, filter: {}, order: FINISHED_ASC, after: null, take: 3 }, Prisma.sql`TRUE`);
    const visible = 'r."workspaceId" = ANY($n::uuid[]) AND TRUE AND TRUE';
    expect(text(sql).replace(/ANY\(\$\d+::uuid\[\]\)/g, 'ANY($n::uuid[])')).toBe(
      '(SELECT id, "sortValue" FROM (' +
        `(SELECT r.id, r."finishedAt" AS "sortValue" FROM "RoutineRun" r WHERE ${visible} AND r."finishedAt" IS NOT NULL` +
        ' ORDER BY r."finishedAt" ASC, r.id ASC LIMIT $2)' +
        ' UNION ALL ' +
        `(SELECT r.id, r."finishedAt" AS "sortValue" FROM "RoutineRun" r WHERE ${visible} AND r."finishedAt" IS NULL` +
        ' ORDER BY r.id ASC LIMIT $4)' +
        ') page ORDER BY ("sortValue" IS NULL), "sortValue" ASC, id ASC LIMIT $5)',
    );
    expect(sql.values).toEqual([[WS_A, WS_B], 3, [WS_A, WS_B], 3, 3]);
  });

  it('a cursor already among the NULLs reads only the NULLs after its id', () => {
    const sql = runPageSql(
      { access: ACCESS, filter: {}, order: { field: 'DURATION', direction: 'DESC' }, after: { value: null, id: ID }, take: 10 },
      Prisma.sql`TRUE`,
    );
    expect(text(sql)).toBe(
      '(SELECT r.id, r."durationMs" AS "sortValue" FROM "RoutineRun" r WHERE r."workspaceId" = ANY($1::uuid[]) AND TRUE AND TRUE AND r."durationMs" IS NULL' +
        ' AND r.id < $2::uuid ORDER BY r.id DESC LIMIT $3)',
    );
    expect(sql.values).toEqual([[WS_A, WS_B], ID, 10]);
  });

  it('the probe window is the next runs the request may see, so other workspaces never crowd it', () => {
    const sql = runPageProbeSql(
      { access: accessOf({ bound: true }), filter: { labelsAny: ['x'] }, order: CREATED_DESC, after: null, take: 4, probeWindow: 50 },
      { wholeRows: false },
    )!;
    expect(text(sql)).toBe(
      'SELECT r.id, r."createdAt" AS "sortValue" FROM (SELECT * FROM "RoutineRun" r WHERE r."workspaceId" = ANY($1::uuid[])' +
        ' ORDER BY r."createdAt" DESC, r.id DESC LIMIT $2) r WHERE r."workspaceId" = ANY($3::uuid[]) AND r.labels && $4::text[]' +
        ' ORDER BY r."createdAt" DESC, r.id DESC LIMIT $5',
    );
    expect(sql.values).toEqual([[WS_A], 50, [WS_A], ['x'], 4]);
  });
});
