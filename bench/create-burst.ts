// bench/create-burst: a burst of 200 concurrent createRun (start: false: each answered with a
// CREATED run, nothing executes) on the service as a new user starts it (`npm start` on a fresh
// DATA_DIR), and on its compiled form (`node dist/src/main.js start`, after `npm run build`).
//
//   npm run bench:create-burst       BURST=200 ROUNDS=5 USERS=10 FORMS=source,compiled
//   PROFILE=1 (PROFILE_OUT=/tmp/x keeps the .cpuprofile): where the API process's CPU went
//
// The burst is a team: USERS users, OPERATORs of the default workspace, one token each, each
// sending BURST/USERS mutations at once, within the per-token limit (MUTATION_RATE_BURST, 60 at
// once, refilled at 10/s): between rounds the bench waits until every bucket is full again.
// Every answer must be a CreateRunSuccess: refusals (RateLimitedError or any other) are counted
// and printed, and a round with one fails the goal.
// Floors measured in the same run, on the same service and database:
//   - HTTP + yoga: BURST concurrent `{ __typename }` with the same tokens (authentication included);
//   - database: BURST concurrent single-row INSERT transactions on a pg pool of the API's size (10).
// During each burst it samples pg_stat_activity (connections active, idle in transaction, waiting
// for a lock) and, with PROFILE=1, prints where the API process's CPU went during the bursts.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmod, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createToken } from '../src/auth/tokens.ts';
import { createDb } from '../src/db/client.ts';
import { EMBEDDED_PG_DATABASE } from '../src/embedded/postgres.ts';
import { freePort } from '../test/helpers/ports.ts';
import { cpuProfileNodeArgs, monotonicMicros, printProfile, profileOf, summarizeProfile } from './cpu-profile.ts';

const BURST = Number(process.env.BURST ?? 200);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const USERS = Number(process.env.USERS ?? 10);
const FORMS = (process.env.FORMS ?? 'source,compiled').split(',') as Array<'source' | 'compiled'>;
const PROFILE = process.env.PROFILE === '1';
/** The API's pg pool (src/db/client.ts): the database floor uses a pool of the same size. */
const API_POOL_SIZE = Number(process.env.API_POOL_SIZE ?? 10);
const GOAL_P95_MS = 500;
const DEV_TOKEN = 'rr_bench-create-burst-token-0123456789';
/** MUTATION_RATE_LIMIT_PER_MINUTE's default, 600: a token's bucket refills at 10 a second. */
const REFILL_PER_SECOND = 10;

const CREATE_INSTANCE = `mutation($input: CreateInstanceInput!) { createInstance(input: $input) { __typename
  ... on CreateInstanceSuccess { instance { id } } ... on Error { message } } }`;
const CREATE_RUN = `mutation($input: CreateRunInput!) { createRun(input: $input) { __typename
  ... on CreateRunSuccess { run { id status } } ... on Error { message } } }`;
const TYPENAME = `{ __typename }`;

interface Service {
  child: ChildProcess;
  pid: number;
  url: string;
  output(): string;
}

async function startService(form: 'source' | 'compiled', env: Record<string, string>, profileDir: string | null): Promise<Service> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.DATABASE_URL;
  delete childEnv.TEMPORAL_ADDRESS;
  // node refuses --cpu-prof in NODE_OPTIONS: a profiled source form runs what `npm start` runs
  // (tsx src/main.ts start) as node with tsx's loader.
  const profile = profileDir ? cpuProfileNodeArgs(profileDir) : [];
  const [command, args] =
    form === 'compiled'
      ? ['node', [...profile, 'dist/src/main.js', 'start']]
      : profileDir
        ? ['node', [...profile, '--import', 'tsx', 'src/main.ts', 'start']]
        : ['npm', ['start']];
  const child = spawn(command, args, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const ready = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} ${args.join(' ')} did not become ready:\n${output}`)), 120_000);
    child.stdout!.on('data', () => {
      const line = output.split('\n').find((l) => l.startsWith('READY '));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice('READY '.length)));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code}:\n${output}`));
    });
  });
  return { child, ...ready, output: () => output };
}

async function stopService(service: Service): Promise<void> {
  const exited = new Promise<void>((resolve) => service.child.once('exit', () => resolve()));
  process.kill(service.pid, 'SIGTERM');
  await exited;
}

async function post(
  url: string,
  token: string,
  query: string,
  variables?: unknown,
): Promise<{ data?: Record<string, unknown>; errors?: unknown[] }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

interface Burst {
  ms: number[];
  kinds: Map<string, number>;
  wallMs: number;
  activity: { active: number; idleInTx: number; lockWaits: number; samples: number; waits: Map<string, number> };
}

/** Fires `count` requests at once and times each; `activity` samples the database meanwhile. */
async function burst(count: number, one: (i: number) => Promise<string>, watch: pg.Pool | null): Promise<Burst> {
  const kinds = new Map<string, number>();
  const activity = { active: 0, idleInTx: 0, lockWaits: 0, samples: 0, waits: new Map<string, number>() };
  let running = true;
  const sampler = (async () => {
    while (watch && running) {
      const { rows } = await watch.query<{ state: string | null; wait: string | null; event: string | null; query: string }>(
        `SELECT state, wait_event_type AS wait, wait_event AS event, left(regexp_replace(query, '\\s+', ' ', 'g'), 70) AS query FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
        [EMBEDDED_PG_DATABASE],
      );
      activity.samples++;
      activity.active = Math.max(activity.active, rows.filter((r) => r.state === 'active').length);
      activity.idleInTx = Math.max(activity.idleInTx, rows.filter((r) => r.state === 'idle in transaction').length);
      activity.lockWaits = Math.max(activity.lockWaits, rows.filter((r) => r.wait === 'Lock').length);
      for (const row of rows.filter((r) => r.wait === 'Lock')) {
        const key = `${row.event}: ${row.query}`;
        activity.waits.set(key, (activity.waits.get(key) ?? 0) + 1);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  const started = performance.now();
  const ms = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const at = performance.now();
      let kind: string;
      try {
        kind = await one(i);
      } catch (error) {
        kind = `thrown: ${(error as Error).message.slice(0, 80)}`;
      }
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      return performance.now() - at;
    }),
  );
  const wallMs = performance.now() - started;
  running = false;
  await sampler;
  return { ms, kinds, wallMs, activity };
}

interface FormFigures {
  form: string;
  create: number[];
  typename: number[];
  insert: number[];
  notify: number[];
  kinds: Map<string, number>;
  refusals: number;
  activity: Burst['activity'];
  wallMs: number[];
}

async function measure(form: 'source' | 'compiled'): Promise<FormFigures> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'rr-bench-burst-'));
  await chmod(dataDir, 0o755);
  const profileDir = path.join(dataDir, 'profiles');
  const pgPort = await freePort();
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    PORT: String(await freePort()),
    EMBEDDED_PG_PORT: String(pgPort),
    TEMPORAL_DEV_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    ROUTINES_DEV_TOKEN: DEV_TOKEN,
    LOG_LEVEL: 'warn',
  };
  const databaseUrl = `postgresql://postgres:postgres@127.0.0.1:${pgPort}/${EMBEDDED_PG_DATABASE}`;
  let service: Service | null = null;
  const windows: [number, number][] = [];
  try {
    service = await startService(form, env, PROFILE ? profileDir : null);
    const { url } = service;
    const created = await post(url, DEV_TOKEN, CREATE_INSTANCE, { input: { routineName: 'montecarlo', name: 'burst' } });
    const instance = created.data?.createInstance as { __typename: string; instance?: { id: string } };
    if (instance?.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(created));
    const instanceId = instance.instance!.id;

    // The team: USERS users, OPERATORs of the default workspace, a token each.
    const db = createDb({ url: databaseUrl });
    const tokens: string[] = [];
    for (let i = 0; i < USERS; i++) {
      tokens.push((await createToken({ db, userName: `burst-${i}`, tokenName: 'bench', workspace: 'default', role: 'OPERATOR' })).token);
    }
    await db.$disconnect();
    const perToken = Math.ceil(BURST / USERS);
    const tokenOf = (i: number) => tokens[i % USERS];
    // Time for every token's bucket to fill up again after a burst.
    const refillMs = Math.ceil((perToken / REFILL_PER_SECOND) * 1000) + 300;

    const watch = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    const floorPool = new pg.Pool({ connectionString: databaseUrl, max: API_POOL_SIZE });
    await floorPool.query(
      'CREATE TABLE IF NOT EXISTS bench_burst_floor (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), payload jsonb)',
    );
    const figures: FormFigures = {
      form,
      create: [],
      typename: [],
      insert: [],
      notify: [],
      kinds: new Map(),
      refusals: 0,
      activity: { active: 0, idleInTx: 0, lockWaits: 0, samples: 0, waits: new Map() },
      wallMs: [],
    };

    const createOne = async (i: number) => {
      const result = await post(url, tokenOf(i), CREATE_RUN, {
        input: { instanceId, methodName: 'estimatePi', inputs: { samples: 1000, seed: i }, start: false, labels: ['burst'] },
      });
      if (result.errors) return `errors: ${JSON.stringify(result.errors).slice(0, 120)}`;
      const answer = result.data!.createRun as { __typename: string; run?: { status: string }; message?: string };
      return answer.__typename === 'CreateRunSuccess'
        ? `CreateRunSuccess ${answer.run!.status}`
        : `${answer.__typename}: ${answer.message}`;
    };
    // The same with the notice a run's write sends (src/events/postgres-transport.ts): PostgreSQL
    // holds one lock across every notifying transaction's commit, WAL flush included.
    const notifyOne = async (i: number) => {
      const client = await floorPool.connect();
      try {
        await client.query('BEGIN');
        await client.query('INSERT INTO bench_burst_floor (payload) VALUES ($1)', [JSON.stringify({ samples: 1000 })]);
        await client.query(`SELECT pg_notify('bench_burst_floor', $1)`, [String(i)]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      return 'inserted';
    };
    const typenameOne = async (i: number) => {
      const result = await post(url, tokenOf(i), TYPENAME);
      return result.errors ? 'errors' : String(result.data!.__typename);
    };
    const insertOne = async () => {
      const client = await floorPool.connect();
      try {
        await client.query('BEGIN');
        await client.query('INSERT INTO bench_burst_floor (payload) VALUES ($1)', [JSON.stringify({ samples: 1000 })]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      return 'inserted';
    };

    // One warm-up round of each (the first requests compile the code paths), not counted.
    await burst(BURST, typenameOne, null);
    await burst(Math.min(BURST, USERS * 5), createOne, null);
    await burst(BURST, insertOne, null);
    await new Promise((resolve) => setTimeout(resolve, refillMs));

    for (let round = 0; round < ROUNDS; round++) {
      const from = monotonicMicros();
      const created = await burst(BURST, createOne, watch);
      windows.push([from, monotonicMicros()]);
      figures.create.push(...created.ms);
      figures.wallMs.push(created.wallMs);
      for (const [kind, n] of created.kinds) {
        figures.kinds.set(kind, (figures.kinds.get(kind) ?? 0) + n);
        if (!kind.startsWith('CreateRunSuccess')) figures.refusals += n;
      }
      for (const key of ['active', 'idleInTx', 'lockWaits'] as const)
        figures.activity[key] = Math.max(figures.activity[key], created.activity[key]);
      figures.activity.samples += created.activity.samples;
      for (const [key, n] of created.activity.waits) figures.activity.waits.set(key, (figures.activity.waits.get(key) ?? 0) + n);
      figures.typename.push(...(await burst(BURST, typenameOne, null)).ms);
      figures.insert.push(...(await burst(BURST, insertOne, null)).ms);
      figures.notify.push(...(await burst(BURST, notifyOne, null)).ms);
      await new Promise((resolve) => setTimeout(resolve, refillMs));
    }
    await watch.end();
    await floorPool.end();
    return figures;
  } finally {
    if (service) await stopService(service).catch(() => {});
    if (PROFILE && service) {
      const file = profileOf(profileDir, service.pid);
      if (file && process.env.PROFILE_OUT) {
        await copyFile(file, `${process.env.PROFILE_OUT}.${form}.cpuprofile`);
        await writeFile(`${process.env.PROFILE_OUT}.${form}.windows.json`, JSON.stringify(windows));
      }
      if (file)
        printProfile(`API process (${form}) during the createRun bursts`, summarizeProfile(file, windows), {
          count: ROUNDS * BURST,
          per: 'createRun',
        });
      else console.log(`(no CPU profile of process ${service.pid} in ${profileDir})`);
    }
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function main() {
  if (FORMS.includes('compiled')) execFileSync('npm', ['run', 'build'], { stdio: 'ignore' });
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  console.log(
    `create-burst: ${BURST} concurrent createRun (start: false) × ${ROUNDS} rounds, ${USERS} users × ${Math.ceil(BURST / USERS)} each, ${os.cpus().length} CPUs, load ${load()}`,
  );
  const all: FormFigures[] = [];
  for (const form of FORMS) all.push(await measure(form));
  const f = (values: number[]) => [50, 95, 99, 100].map((p) => String(Math.round(percentile(values, p))).padStart(5)).join(' ') + ' ms';
  console.log(`\n${'form / request'.padEnd(44)}   p50   p95   p99   max`);
  for (const figures of all) {
    console.log(`${`${figures.form}: createRun`.padEnd(44)} ${f(figures.create)}`);
    console.log(`${`${figures.form}: { __typename } (HTTP + yoga floor)`.padEnd(44)} ${f(figures.typename)}`);
    console.log(`${`${figures.form}: INSERT tx, pool ${API_POOL_SIZE} (database floor)`.padEnd(44)} ${f(figures.insert)}`);
    console.log(`${`${figures.form}: INSERT + pg_notify tx, pool ${API_POOL_SIZE}`.padEnd(44)} ${f(figures.notify)}`);
  }
  for (const figures of all) {
    const p95 = percentile(figures.create, 95);
    console.log(
      `\n${figures.form}: answers ${[...figures.kinds].map(([kind, n]) => `${n}× ${kind}`).join(', ')}; refusals ${figures.refusals}`,
    );
    console.log(
      `  burst wall ${figures.wallMs.map((ms) => Math.round(ms)).join(' / ')} ms; database during bursts: at most ${figures.activity.active} active, ${figures.activity.idleInTx} idle in transaction, ${figures.activity.lockWaits} waiting for a lock (${figures.activity.samples} samples)`,
    );
    for (const [key, n] of [...figures.activity.waits].sort((a, b) => b[1] - a[1]).slice(0, 5))
      console.log(`    lock waits seen ${n}× on ${key}`);
    console.log(
      `  p95 ratios: createRun / HTTP floor ×${(p95 / percentile(figures.typename, 95)).toFixed(1)}, / database floor ×${(p95 / percentile(figures.insert, 95)).toFixed(1)}`,
    );
    console.log(
      `  goal p95 ≤ ${GOAL_P95_MS} ms with no refusal: ${p95 <= GOAL_P95_MS && figures.refusals === 0 ? 'met' : 'MISSED'} (${Math.round(p95)} ms)`,
    );
  }
  console.log(`load ${load()}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
