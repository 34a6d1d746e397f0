// bench/nested-query: the run graph as a frontend reads it, over real HTTP to an API process of its
// own (`npm run api`, as deployed, so the load generator does not share its event loop), next to two
// bare references answering with the same hand-written SQL (JSON aggregation in PostgreSQL) on a
// pool of the same size: run in this process (no HTTP at all: "SQL baseline"), and served by a bare
// node:http server in its own process (bench/fixtures/bare-sql-http.ts: "HTTP + SQL", the floor for
// any API: HTTP, the request's JSON, the pool and the response, nothing else). Statements are
// counted through an API started in this process.
//
// Seeds 20 instances × 50 runs × 3 artifacts (kmeans) and 100,000 more runs (montecarlo) with
// set-based SQL, then prints for each query: SQL statements per request (and at 2 × 5 × 3, to
// show they stay constant), rows read per request (EXPLAIN ANALYZE of every statement), p50/p95
// latency and requests/s at concurrency 1, 10 and 20, the API's throughput ratio to each reference,
// and the CPU time per request of the API process (for the SQL baseline: of this process's pg
// client, load generator included; for HTTP + SQL: of its server process; PostgreSQL's own CPU is
// in none), a figure that stays put better than req/s when other work loads the machine.
// It stops by itself and drops its database.
//
//   npm run bench:nested-query        (SECONDS=3 per measurement, BENCH_DATABASE_URL=postgresql://…)
//   CASES=nested,dashboard            only these measurements (nested, dashboard, filtered, facets)
//   CPU_PROFILE_DIR=/tmp/prof         profile the compiled-reads API (node --cpu-prof) and print where
//                                     its CPU went during each case's measurements, per request
//   RESOLVERS=false                   skip the API answering with the resolvers (its columns show -)
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import pg from 'pg';
import { createToken } from '../src/auth/tokens.ts';
import { loadEnv } from '../src/env.ts';
import { openCore, startApi } from '../src/runtime.ts';
import { graphql } from '../test/gql/index.ts';
import type { RunFilter, RunOrder } from '../test/gql/graphql.ts';
import { countedGraphQL, type RecordedStatement } from '../test/helpers/counted-graphql.ts';
import { seedRunGraph } from '../test/helpers/seed-runs.ts';
import { createTestDatabase } from '../test/helpers/database.ts';
import { freePort } from '../test/helpers/ports.ts';
import { startServiceProcess } from '../test/helpers/processes.ts';
import { startTestTemporalServer } from '../test/helpers/temporal-server.ts';
import { cpuProfileNodeArgs, monotonicMicros, printProfile, profileOf, summarizeProfile } from './cpu-profile.ts';

const SECONDS = Number(process.env.SECONDS ?? 3);
const CONCURRENCY = [1, 10, 20];
const WARM_UP = 5;
const CASES = process.env.CASES?.split(',').map((name) => name.trim());
const CPU_PROFILE_DIR = process.env.CPU_PROFILE_DIR ? path.resolve(process.env.CPU_PROFILE_DIR) : undefined;
const RESOLVERS = process.env.RESOLVERS !== 'false';

const BenchNestedGraph = graphql(`
  query BenchNestedGraph($routine: String!, $runs: Int!) {
    routine(name: $routine) {
      name
      instances(first: 20) {
        totalCount
        edges {
          node {
            id
            name
            createdAt
            runs(first: $runs) {
              totalCount
              edges {
                cursor
                node {
                  id
                  name
                  status
                  labels
                  createdAt
                  durationMs
                  artifacts {
                    id
                    name
                    path
                    contentType
                    sizeBytes
                  }
                }
              }
            }
          }
        }
      }
    }
  }
`);

const BenchFilteredRuns = graphql(`
  query BenchFilteredRuns($filter: RunFilter) {
    runs(first: 50, filter: $filter, orderBy: { field: CREATED_AT, direction: DESC }) {
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          name
          status
          labels
          attributes
          createdAt
          instance {
            name
          }
        }
      }
    }
  }
`);

const BenchRunPage = graphql(`
  query BenchRunPage($filter: RunFilter, $orderBy: RunOrder) {
    runs(first: 50, filter: $filter, orderBy: $orderBy) {
      edges {
        node {
          id
          name
          status
        }
      }
    }
  }
`);

const BenchFilteredRunsWithFacets = graphql(`
  query BenchFilteredRunsWithFacets($filter: RunFilter) {
    runs(first: 50, filter: $filter, orderBy: { field: CREATED_AT, direction: DESC }) {
      totalCount
      facets {
        status {
          status
          count
        }
        labels {
          label
          count
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          name
          status
          labels
          attributes
          createdAt
          instance {
            name
          }
        }
      }
    }
  }
`);

const FILTER: RunFilter = { routineName: 'montecarlo', status: ['COMPLETED', 'FAILED'], labelsAny: ['even'], attributes: { team: 'beta' } };

// The baselines: the same answers, each one SQL statement building the JSON in PostgreSQL.
const NESTED_SQL = `
  SELECT json_build_object('name', ro.name, 'instances', json_build_object(
    'totalCount', (SELECT count(*) FROM "RoutineInstance" c WHERE c."routineId" = ro.id),
    'edges', (SELECT coalesce(json_agg(json_build_object('node', json_build_object(
        'id', i.id, 'name', i.name, 'createdAt', i."createdAt",
        'runs', json_build_object(
          'totalCount', (SELECT count(*) FROM "RoutineRun" rc WHERE rc."instanceId" = i.id),
          'edges', (SELECT coalesce(json_agg(json_build_object('node', json_build_object(
              'id', r.id, 'name', r.name, 'status', r.status, 'labels', r.labels, 'createdAt', r."createdAt",
              'durationMs', r."durationMs",
              'artifacts', (SELECT coalesce(json_agg(json_build_object('id', a.id, 'name', a.name, 'path', a.path,
                  'contentType', a."contentType", 'sizeBytes', a."sizeBytes") ORDER BY a.name), '[]')
                FROM "Artifact" a WHERE a."runId" = r.id)))
              ORDER BY r."createdAt" DESC, r.id DESC), '[]')
            FROM (SELECT * FROM "RoutineRun" r WHERE r."instanceId" = i.id ORDER BY r."createdAt" DESC, r.id DESC LIMIT $2) r)))
        ) ORDER BY i."createdAt" DESC, i.id DESC), '[]')
      FROM (SELECT * FROM "RoutineInstance" i WHERE i."routineId" = ro.id ORDER BY i."createdAt" DESC, i.id DESC LIMIT 20) i)))
  FROM (SELECT * FROM "Routine" WHERE name = $1 ORDER BY "createdAt" DESC LIMIT 1) ro`;

const FILTERED_SQL = `
  SELECT coalesce(json_agg(json_build_object('id', r.id, 'name', r.name, 'status', r.status, 'labels', r.labels,
    'attributes', r.attributes, 'createdAt', r."createdAt", 'instance', json_build_object('name', i.name))
    ORDER BY r."createdAt" DESC, r.id DESC), '[]')
  FROM (SELECT * FROM "RoutineRun" r
        WHERE r."routineId" IN (SELECT id FROM "Routine" WHERE name = $1) AND r.status = ANY($2::"RunStatus"[])
          AND r.labels && $3::text[] AND r.attributes @> $4::jsonb
        ORDER BY r."createdAt" DESC, r.id DESC LIMIT 51) r
  JOIN "RoutineInstance" i ON i.id = r."instanceId"`;

const FILTERED_FACETS_SQL = `
  WITH matching AS (SELECT r.status, r.labels FROM "RoutineRun" r WHERE r."routineId" IN (SELECT id FROM "Routine" WHERE name = $1)
                      AND r.attributes @> $4::jsonb)
  SELECT json_build_object(
    'page', (${FILTERED_SQL.replace(/^\s*/, '')}),
    'totalCount', (SELECT count(*) FROM matching WHERE status = ANY($2::"RunStatus"[]) AND labels && $3::text[]),
    'status', (SELECT json_agg(s) FROM (SELECT status, count(*) FROM matching WHERE labels && $3::text[] GROUP BY 1) s),
    'labels', (SELECT json_agg(l) FROM (SELECT label, count(*) FROM matching, unnest(labels) label
                WHERE status = ANY($2::"RunStatus"[]) GROUP BY 1 ORDER BY 2 DESC LIMIT 50) l))`;

const FILTERED_PARAMS = [FILTER.routineName, FILTER.status, FILTER.labelsAny, JSON.stringify(FILTER.attributes)] as unknown[];

interface Measurement {
  concurrency: number;
  requests: number;
  p50: number;
  p95: number;
  rps: number;
  /** CPU time per request of the process `cpuOf` reads: the API process, or this one for the baseline. */
  cpuMs: number;
}

/** CPU time (user + system, ms) of this process. */
function ownCpuMs(): number {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
}

/** CPU time (user + system, ms) of another process, from /proc (clock ticks of 10 ms). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function measure(call: () => Promise<void>, concurrency: number, cpuOf: () => number = ownCpuMs): Promise<Measurement> {
  // Warm-up: plans, connections, JIT.
  for (let i = 0; i < WARM_UP; i++) await call();
  const latencies: number[] = [];
  const cpuBefore = cpuOf();
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await call();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpuMs = cpuOf() - cpuBefore;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    concurrency,
    requests: latencies.length,
    p50: at(0.5),
    p95: at(0.95),
    rps: latencies.length / elapsed,
    cpuMs: cpuMs / latencies.length,
  };
}

type PlanNode = Record<string, unknown> & { Plans?: PlanNode[] };
function rowsRead(node: PlanNode): number {
  // Scans of tables and indexes only: a CTE or subquery scan re-reads rows already counted.
  const own = node['Relation Name'] ? Number(node['Actual Rows']) * Number(node['Actual Loops']) : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsRead(child), 0);
}

async function explainRows(client: pg.Pool, sql: string, params: unknown[]): Promise<{ rows: number; indexes: string[] }> {
  const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
  const plan = (rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0].Plan;
  const indexes = new Set<string>();
  const walk = (node: PlanNode) => {
    if (node['Index Name']) indexes.add(String(node['Index Name']));
    (node.Plans ?? []).forEach(walk);
  };
  walk(plan);
  return { rows: rowsRead(plan), indexes: [...indexes] };
}

async function statementRows(client: pg.Pool, statements: RecordedStatement[]) {
  let rows = 0;
  const indexes = new Set<string>();
  for (const statement of statements) {
    // Prisma's placeholders are $1…; its params arrive as a JSON array.
    const result = await explainRows(client, statement.sql, JSON.parse(statement.params) as unknown[]);
    rows += result.rows;
    result.indexes.forEach((i) => indexes.add(i));
  }
  return { rows, indexes: [...indexes] };
}

function table(title: string, compiled: Measurement[], resolvers: (Measurement | null)[], baseline: Measurement[], httpSql: Measurement[]) {
  console.log(`\n${title}`);
  console.log(
    '  concurrency │ API p50 / p95 ms │ API req/s │ API/baseline │ API/(HTTP+SQL) │ API CPU ms/req │ resolvers p50 / p95 ms │ req/s │ /baseline │ CPU ms/req │ SQL baseline p50 / p95 ms │ req/s │ its client CPU ms/req │ HTTP + SQL p50 / p95 ms │ req/s │ its server CPU ms/req',
  );
  const f = (n: number, digits = 1) => n.toFixed(digits);
  for (let i = 0; i < compiled.length; i++) {
    const [a, r, b, h] = [compiled[i], resolvers[i], baseline[i], httpSql[i]];
    const resolverColumns = r
      ? `${f(r.p50).padStart(10)} / ${f(r.p95).padEnd(9)} │ ${f(r.rps, 0).padStart(5)} │ ${f(r.rps / b.rps, 2).padStart(9)} │ ${f(r.cpuMs).padStart(10)}`
      : `${'-'.padStart(10)}   ${''.padEnd(9)} │ ${'-'.padStart(5)} │ ${'-'.padStart(9)} │ ${'-'.padStart(10)}`;
    console.log(
      `  ${String(a.concurrency).padStart(11)} │ ${f(a.p50).padStart(6)} / ${f(a.p95).padEnd(7)} │ ${f(a.rps, 0).padStart(9)} │ ${f(a.rps / b.rps, 2).padStart(12)} │ ${f(a.rps / h.rps, 2).padStart(14)} │ ${f(a.cpuMs).padStart(14)} │ ${resolverColumns} │ ${f(b.p50).padStart(13)} / ${f(b.p95).padEnd(9)} │ ${f(b.rps, 0).padStart(5)} │ ${f(b.cpuMs).padStart(21)} │ ${f(h.p50).padStart(11)} / ${f(h.p95).padEnd(9)} │ ${f(h.rps, 0).padStart(5)} │ ${f(h.cpuMs)}`,
    );
  }
}

async function main() {
  const database = await createTestDatabase('rr_bench');
  const databaseUrl = database.url;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'rr-bench-'));
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const temporal = await startTestTemporalServer();
    cleanups.push(() => temporal.stop());
    const env = loadEnv({ DATA_DIR: dataDir, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporal.address, LOG_LEVEL: 'warn' });
    const core = await openCore({ env, databaseUrl, log: () => {} });
    cleanups.push(() => core.close());
    const api = await startApi({ core, temporalAddress: temporal.address, port: 0, host: '127.0.0.1', log: () => {} });
    cleanups.push(() => api.stop());
    const { token } = await createToken({ db: core.db, userName: 'bench', admin: true });
    const user = await core.db.user.findUniqueOrThrow({ where: { name: 'bench' } });
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
    cleanups.push(() => pool.end());

    // The API measured: its own process, as deployed, with compiled reads (the default) and, for
    // comparison, a second one answering every query with the resolvers.
    const startApiProcess = async (compiledReads: boolean) => {
      const profiled = compiledReads && CPU_PROFILE_DIR !== undefined;
      const child = await startServiceProcess({
        role: 'api',
        env: {
          DATABASE_URL: databaseUrl,
          TEMPORAL_ADDRESS: temporal.address,
          DATA_DIR: dataDir,
          PORT: String(await freePort()),
          GRAPHQL_COMPILED_READS: String(compiledReads),
        },
        nodeArgs: profiled ? cpuProfileNodeArgs(CPU_PROFILE_DIR) : [],
      });
      cleanups.push(() => child.stop());
      const url = (JSON.parse(child.output().match(/READY (\{.*\})/)![1]) as { url: string }).url;
      const cpuMs = () => processCpuMs(child.child.pid!);
      const request = async <R, V>(document: TypedDocumentNode<R, V>, variables: V): Promise<string> => {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: print(document), variables }),
        });
        const text = await response.text();
        const body = JSON.parse(text) as { errors?: unknown[] };
        if (body.errors) throw new Error(JSON.stringify(body.errors));
        return text;
      };
      return { cpuMs, request, pid: child.child.pid!, stop: () => child.stop() };
    };
    const compiledApi = await startApiProcess(true);
    const resolverApi = await startApiProcess(false);

    // The HTTP + SQL reference: the same statements as the SQL baseline, behind a bare node:http server.
    const bareStatements = { nested: NESTED_SQL, filtered: FILTERED_SQL, facets: FILTERED_FACETS_SQL };
    const bare = fork(fileURLToPath(new URL('./fixtures/bare-sql-http.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, DATABASE_URL: databaseUrl, POOL_MAX: '10', BARE_SQL_STATEMENTS: JSON.stringify(bareStatements) },
    });
    const bareExited = new Promise((resolve) => bare.once('exit', resolve));
    cleanups.push(async () => {
      if (bare.connected) bare.disconnect();
      await bareExited;
    });
    const barePort = await new Promise<number>((resolve, reject) => {
      bare.once('message', (message: { port: number }) => resolve(message.port));
      bare.once('exit', (code) => reject(new Error(`the HTTP + SQL reference exited with ${code}`)));
    });
    const bareCpuMs = () => processCpuMs(bare.pid!);
    const viaHttpSql = async (statement: keyof typeof bareStatements, params: unknown[], field: string) => {
      const response = await fetch(`http://127.0.0.1:${barePort}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ statement, params, field }),
      });
      // Read and parsed like the API's answers, so that the load generator's share is the same.
      const body = JSON.parse(await response.text()) as { errors?: unknown[] };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
    };

    const count = async <R, V>(document: TypedDocumentNode<R, V>, variables: V) => {
      const { body, statements } = await counted.request(document, variables);
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return statements;
    };
    const counted = countedGraphQL({ databaseUrl, services: api.services, token });
    cleanups.push(() => counted.close());

    // 1. Statements at a small scale first: 2 instances × 5 runs × 3 artifacts.
    const t0 = performance.now();
    await seedRunGraph(core.db, {
      routineName: 'montecarlo',
      createdById: user.id,
      instances: 2,
      runsPerInstance: 5,
      artifactsPerRun: 3,
      instancePrefix: 'small',
    });
    const smallStatements = await count(BenchNestedGraph, { routine: 'montecarlo', runs: 50 });

    // 2. The graph: 20 × 50 × 3 (kmeans), and 100,000 runs for the filters (montecarlo: 100 × 1000).
    await seedRunGraph(core.db, {
      routineName: 'kmeans',
      createdById: user.id,
      instances: 20,
      runsPerInstance: 50,
      artifactsPerRun: 3,
      instancePrefix: 'graph',
    });
    await seedRunGraph(core.db, {
      routineName: 'montecarlo',
      createdById: user.id,
      instances: 100,
      runsPerInstance: 1000,
      artifactsPerRun: 0,
      instancePrefix: 'bulk',
    });
    const totalRuns = await core.db.routineRun.count();
    console.log(`seeded ${totalRuns} runs in ${((performance.now() - t0) / 1000).toFixed(1)} s (set-based SQL)`);

    // 3. Statements, rows read and indexes per request.
    const nestedStatements = await count(BenchNestedGraph, { routine: 'kmeans', runs: 50 });
    const filteredStatements = await count(BenchFilteredRuns, { filter: FILTER });
    const facetStatements = await count(BenchFilteredRunsWithFacets, { filter: FILTER });
    const nestedRows = await statementRows(pool, nestedStatements);
    const filteredRows = await statementRows(pool, filteredStatements);
    const facetRows = await statementRows(pool, facetStatements);
    const baselineNestedRows = await explainRows(pool, NESTED_SQL, ['kmeans', 50]);
    const baselineFilteredRows = await explainRows(pool, FILTERED_SQL, FILTERED_PARAMS);
    const baselineFacetRows = await explainRows(pool, FILTERED_FACETS_SQL, FILTERED_PARAMS);
    console.log('\nSQL statements per request (token lookup excluded) · rows read (EXPLAIN ANALYZE: table and index scans) · indexes used');
    console.log(
      `  nested  routine → 20 instances → 50 runs → 3 artifacts: ${nestedStatements.length} statements (at 2 × 5 × 3: ${smallStatements.length}) · ${nestedRows.rows} rows (baseline ${baselineNestedRows.rows}) · ${nestedRows.indexes.join(', ')}`,
    );
    // Sent, parsed and planned by PostgreSQL on every request (the baseline's is sent the same way).
    console.log(
      `  statement text: nested ${nestedStatements.map((s) => s.sql.length).join(' + ')} characters (baseline ${NESTED_SQL.length}), filtered ${filteredStatements.map((s) => s.sql.length).join(' + ')}, facets ${facetStatements.map((s) => s.sql.length).join(' + ')}`,
    );
    console.log(
      `  filtered runs, first 50 of 100,000:                    ${filteredStatements.length} statements · ${filteredRows.rows} rows (baseline ${baselineFilteredRows.rows}) · ${filteredRows.indexes.join(', ')}`,
    );
    console.log(
      `  … with totalCount and facets:                          ${facetStatements.length} statements · ${facetRows.rows} rows (baseline ${baselineFacetRows.rows}) · ${facetRows.indexes.join(', ')}`,
    );

    // 3b. Each filter dimension and each order alone on the 100,000 runs: the indexes the page uses.
    const bulk = await core.db.routineInstance.findFirstOrThrow({ where: { name: 'bulk 42' } });
    const dimensions: [string, { filter?: RunFilter; orderBy?: RunOrder }][] = [
      ['status: [RUNNING]', { filter: { status: ['RUNNING'] } }],
      ['labelsAll: [even, mod3-1]', { filter: { labelsAll: ['even', 'mod3-1'] } }],
      ['labelsAny: [mod3-2]', { filter: { labelsAny: ['mod3-2'] } }],
      ['attributes: { n: 7 }', { filter: { attributes: { n: 7 } } }],
      ['routineName + methodName', { filter: { routineName: 'montecarlo', methodName: 'fit' } }],
      ['instanceId', { filter: { instanceId: Buffer.from(`RoutineInstance:${bulk.id}`).toString('base64') } }],
      ['createdBy', { filter: { createdBy: [Buffer.from(`User:${user.id}`).toString('base64')] } }],
      [
        'createdAfter/createdBefore (1 hour)',
        {
          filter: {
            createdAfter: new Date(Date.now() - 6 * 3600e3).toISOString(),
            createdBefore: new Date(Date.now() - 5 * 3600e3).toISOString(),
          },
        },
      ],
      ['search: "run 77"', { filter: { search: 'run 77' } }],
      ['orderBy UPDATED_AT DESC', { orderBy: { field: 'UPDATED_AT', direction: 'DESC' } }],
      ['orderBy FINISHED_AT ASC', { orderBy: { field: 'FINISHED_AT', direction: 'ASC' } }],
      ['orderBy DURATION DESC', { orderBy: { field: 'DURATION', direction: 'DESC' } }],
      ['orderBy NAME ASC', { orderBy: { field: 'NAME', direction: 'ASC' } }],
    ];
    console.log('\neach filter and order alone, first 50 of 100,000: statements · rows read · indexes used');
    for (const [label, variables] of dimensions) {
      const statements = await count(BenchRunPage, variables);
      // Compiled reads read the page inside the answer's statement: all of the request's statements.
      const page = await statementRows(pool, statements);
      console.log(
        `  ${label.padEnd(36)} ${statements.length} · ${String(page.rows).padStart(7)} rows · ${page.indexes.join(', ') || '(sequential scan)'}`,
      );
    }

    // 4. The two API processes answer the same bytes (test/compiled-reads.test.ts compares every field).
    for (const [label, document, variables] of [
      ['nested', BenchNestedGraph, { routine: 'kmeans', runs: 50 }],
      ['filtered + facets', BenchFilteredRunsWithFacets, { filter: FILTER }],
    ] as const) {
      const [a, b] = await Promise.all([
        compiledApi.request(document as typeof BenchNestedGraph, variables as never),
        resolverApi.request(document as typeof BenchNestedGraph, variables as never),
      ]);
      const same = JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
      console.log(`\n${label}: compiled and resolver answers ${same ? 'identical' : 'DIFFER'} (${(a.length / 1e6).toFixed(2)} MB)`);
      if (!same) throw new Error(`${label}: the compiled answer differs from the resolvers'`);
    }

    // 5. Latency and throughput: the API over HTTP (compiled reads, then resolvers) vs the
    //    single-SQL baseline on a pool of the same size.
    type Call = (api: typeof compiledApi) => Promise<unknown>;
    const cases: [string, string, Call, () => Promise<void>, () => Promise<void>][] = [
      [
        'nested',
        'nested query: routine → 20 instances → 50 runs → 3 artifacts (1 MB of JSON)',
        (a) => a.request(BenchNestedGraph, { routine: 'kmeans', runs: 50 }),
        () => pool.query(NESTED_SQL, ['kmeans', 50]).then(() => {}),
        () => viaHttpSql('nested', ['kmeans', 50], 'routine'),
      ],
      [
        'dashboard',
        'nested query, dashboard-sized: routine → 20 instances → 5 runs → 3 artifacts',
        (a) => a.request(BenchNestedGraph, { routine: 'kmeans', runs: 5 }),
        () => pool.query(NESTED_SQL, ['kmeans', 5]).then(() => {}),
        () => viaHttpSql('nested', ['kmeans', 5], 'routine'),
      ],
      [
        'filtered',
        'filtered run list (first 50 of 100,000)',
        (a) => a.request(BenchFilteredRuns, { filter: FILTER }),
        () => pool.query(FILTERED_SQL, FILTERED_PARAMS).then(() => {}),
        () => viaHttpSql('filtered', FILTERED_PARAMS, 'runs'),
      ],
      [
        'facets',
        'filtered run list with totalCount and facets',
        (a) => a.request(BenchFilteredRunsWithFacets, { filter: FILTER }),
        () => pool.query(FILTERED_FACETS_SQL, FILTERED_PARAMS).then(() => {}),
        () => viaHttpSql('facets', FILTERED_PARAMS, 'runs'),
      ],
    ];
    const profiled: { key: string; windows: [number, number][]; requests: number }[] = [];
    for (const [key, title, viaApi, viaSql, viaBareHttp] of cases) {
      if (CASES && !CASES.includes(key)) continue;
      const compiledResults: Measurement[] = [];
      const resolverResults: (Measurement | null)[] = [];
      const baselineResults: Measurement[] = [];
      const httpSqlResults: Measurement[] = [];
      const windows: [number, number][] = [];
      let requests = 0;
      for (const concurrency of CONCURRENCY) {
        const from = monotonicMicros();
        const compiled = await measure(() => viaApi(compiledApi).then(() => {}), concurrency, compiledApi.cpuMs);
        windows.push([from, monotonicMicros()]);
        requests += compiled.requests + WARM_UP;
        compiledResults.push(compiled);
        resolverResults.push(RESOLVERS ? await measure(() => viaApi(resolverApi).then(() => {}), concurrency, resolverApi.cpuMs) : null);
        baselineResults.push(await measure(viaSql, concurrency));
        httpSqlResults.push(await measure(viaBareHttp, concurrency, bareCpuMs));
      }
      profiled.push({ key, windows, requests });
      table(title, compiledResults, resolverResults, baselineResults, httpSqlResults);
    }
    console.log(
      `\nload average ${os
        .loadavg()
        .map((load) => load.toFixed(2))
        .join(' ')} (${os.cpus().length} CPUs)`,
    );
    if (CPU_PROFILE_DIR) {
      await compiledApi.stop();
      const file = profileOf(CPU_PROFILE_DIR, compiledApi.pid);
      if (!file) throw new Error(`no CPU profile of the API process ${compiledApi.pid} in ${CPU_PROFILE_DIR}`);
      for (const { key, windows, requests } of profiled) {
        printProfile(`compiled-reads API, ${key} (${file})`, summarizeProfile(file, windows), { count: requests, per: 'request' });
      }
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => console.error('cleanup failed:', error));
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
