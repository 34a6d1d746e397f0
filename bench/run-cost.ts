// bench/run-cost: what one tiny run costs, next to what a bare Temporal workflow with an empty
// activity costs (issue 17: "fewer round trips per attempt ... measure statements per run").
//
//   npm run bench:run-cost          (RUNS=60 at CONCURRENCY=10; builds dist/ first like bench:run-throughput)
//
// Per run of montecarlo.estimatePi on 1000 samples, during a phase of RUNS runs at CONCURRENCY:
//   - SQL statements and transactions by phase, counted by the DB client of every service process
//     (RR_STATEMENT_COUNTS, src/db/client.ts), and PostgreSQL's own count of commits
//     (pg_stat_database.xact_commit) and row writes (pg_stat_user_tables) on the bench's database;
//   - Temporal round trips: the workflow's history events (tasks, activities, local activities, signals);
//   - CPU by process from /proc/<pid>/stat: the API (this process, with its GraphQL client), the
//     worker, its method processes, the PostgreSQL backends of the bench's database, the Temporal
//     dev server; the bare baseline's client (this process), worker and Temporal server likewise.
// The machine is shared: quote the load average printed at the end with the figures.
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { cleanupsOnExit, forkBareWorker, inParallel, runThenExit, type Cleanups } from './fixtures/helpers.ts';
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const RUNS = Number(process.env.RUNS ?? 60);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 10);
const SLOTS = Number(process.env.SLOTS ?? 8);
const INPUTS = { samples: 1000, batches: 1, seed: 1 };
const COMPILED = (process.env.SERVICE_FORM ?? 'compiled') !== 'source';
/** WORKER_CPU_PROFILE=<folder>: the service's worker runs with --cpu-prof and its profile over the measured phase is printed. */
const WORKER_CPU_PROFILE = process.env.WORKER_CPU_PROFILE ?? '';
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

const cleanups: Cleanups = [];

type Counts = Record<string, { statements: number; transactions: number; autocommit: number }>;
interface Cost {
  runsPerSecond: number;
  cpuMs: Record<string, number>;
  history: Record<string, number>;
  statements?: Counts;
  xactCommit?: number;
  rowWrites?: Record<string, number>;
}

async function main() {
  const countsDir = await mkdtemp(path.join(os.tmpdir(), 'rr-bench-run-cost-counts-'));
  cleanups.push(() => rm(countsDir, { recursive: true, force: true }));
  // Before the service's modules load: the DB client reads it once (src/db/client.ts).
  process.env.RR_STATEMENT_COUNTS = countsDir;
  if (COMPILED) execFileSync('npm', ['run', 'build'], { stdio: 'ignore' });
  // Loaded only now: the service's modules it imports must see RR_STATEMENT_COUNTS.
  const { startTemporalAndDatabase } = await import('./fixtures/service-stack.ts');
  const { dataDir, temporal, database } = await startTemporalAndDatabase({
    prefix: 'rr-bench-run-cost-',
    databaseName: 'rr_bench_run_cost',
    cleanups,
  });
  const temporalPid = findPid((cmdline) => cmdline.includes('start-dev') && cmdline.includes(dataDir));
  console.log(
    `run-cost: montecarlo.estimatePi ${JSON.stringify(INPUTS)}, ${RUNS} runs at concurrency ${CONCURRENCY}, ${SLOTS} worker slots, ${os.cpus().length} CPUs, ${COMPILED ? 'compiled' : 'source'} workers`,
  );
  const service = await measureService({ temporalAddress: temporal.address, temporalPid, database, dataDir, countsDir });
  const bare = await measureBare({ temporalAddress: temporal.address, temporalPid });
  report(service, bare);
  console.log(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

async function measureService({
  temporalAddress,
  temporalPid,
  database,
  dataDir,
  countsDir,
}: {
  temporalAddress: string;
  temporalPid: number | null;
  database: { url: string; name?: string };
  dataDir: string;
  countsDir: string;
}): Promise<Cost> {
  const { startServiceStack, rawId } = await import('./fixtures/service-stack.ts');
  const { workflowIdForRun } = await import('../workflows/shared.ts');
  const pg = (await import('pg')).default;
  const { parse } = await import('graphql');
  // Plain documents (not codegen's): the shapes used here are few and checked at run time.
  type Doc<R> = import('@graphql-typed-document-node/core').TypedDocumentNode<R, Record<string, unknown>>;
  const CreateRun = parse(`
    mutation BenchRcCreateRun($input: CreateRunInput!) {
      createRun(input: $input) { __typename ... on CreateRunSuccess { run { id status } } ... on Error { message } }
    }
  `) as Doc<{ createRun: { __typename: string; run: { id: string } } }>;
  const { cpuProfileNodeArgs, monotonicMicros, printProfile, profileOf, summarizeProfile } = await import('./cpu-profile.ts');
  const { worker, api, client, temporalClient, instanceId, waitForEnd } = await startServiceStack({
    temporalAddress,
    database,
    dataDir,
    slots: SLOTS,
    compiled: COMPILED,
    extraSettings: { RR_STATEMENT_COUNTS: countsDir },
    workerNodeArgs: WORKER_CPU_PROFILE ? cpuProfileNodeArgs(WORKER_CPU_PROFILE) : [],
    reportEveryFailedRun: true,
    cleanups,
  });

  const stats = new pg.Client({ connectionString: database.url });
  await stats.connect();
  cleanups.push(() => stats.end());
  const ids: string[] = [];
  const oneRun = async () => {
    const result = await client.query(CreateRun, { input: { instanceId, methodName: 'estimatePi', inputs: INPUTS } });
    if (result.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(result.createRun));
    const id = rawId(result.createRun.run.id);
    ids.push(id);
    await waitForEnd(id);
    await temporalClient.workflow.getHandle(workflowIdForRun(id)).result();
  };
  for (let i = 0; i < 5; i++) await oneRun(); // warm-up: pools, connections, compiled code
  ids.length = 0;

  const databaseName = new URL(database.url).pathname.slice(1);
  const backends = async () =>
    (
      await countedAs('bench (not the service)', () =>
        stats.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [databaseName]),
      )
    ).rows.map((row) => row.pid);
  const { countedAs } = await import('../src/db/client.ts');
  const dbStats = () => countedAs('bench (not the service)', dbStatsNow);
  const dbStatsNow = async () => {
    const [{ xact_commit }] = (
      await stats.query<{ xact_commit: string }>(`SELECT xact_commit FROM pg_stat_database WHERE datname = $1`, [databaseName])
    ).rows;
    const tables = (
      await stats.query<{ relname: string; writes: string }>(
        `SELECT relname, n_tup_ins + n_tup_upd + n_tup_del AS writes FROM pg_stat_user_tables`,
      )
    ).rows;
    return { xactCommit: Number(xact_commit), tables: Object.fromEntries(tables.map((t) => [t.relname, Number(t.writes)])) };
  };
  // Statistics reach pg_stat_* views when backends report them (at the latest every second when idle).
  const settled = () => new Promise((resolve) => setTimeout(resolve, 1500));

  await settled();
  const before = {
    counts: await readCounts(countsDir),
    db: await dbStats(),
    cpu: serviceCpu({ workerPid: worker.child.pid!, temporalPid, backendPids: await backends() }),
  };
  const started = performance.now();
  const windowStart = monotonicMicros();
  await inParallel(RUNS, CONCURRENCY, oneRun);
  const window: [number, number] = [windowStart, monotonicMicros()];
  const seconds = (performance.now() - started) / 1000;
  const afterCpu = serviceCpu({ workerPid: worker.child.pid!, temporalPid, backendPids: await backends() });
  await settled();
  const after = { counts: await readCounts(countsDir), db: await dbStats() };

  const history = await historyOf(temporalClient, workflowIdForRun(ids[0]));
  const rowWrites: Record<string, number> = {};
  for (const [table, writes] of Object.entries(after.db.tables)) {
    const delta = writes - (before.db.tables[table] ?? 0);
    if (delta > 0) rowWrites[table] = delta / RUNS;
  }
  await worker.stop();
  const profile = WORKER_CPU_PROFILE ? profileOf(WORKER_CPU_PROFILE, worker.child.pid!) : null;
  if (profile) printProfile(`the service's worker (${profile})`, summarizeProfile(profile, [window]), { top: 30, count: RUNS, per: 'run' });
  await api.stop();
  return {
    runsPerSecond: RUNS / seconds,
    cpuMs: perRun(cpuDelta(before.cpu, afterCpu), RUNS),
    history,
    statements: countsDelta(before.counts, after.counts, RUNS),
    xactCommit: (after.db.xactCommit - before.db.xactCommit) / RUNS,
    rowWrites,
  };
}

async function measureBare({ temporalAddress, temporalPid }: { temporalAddress: string; temporalPid: number | null }): Promise<Cost> {
  const { Client, Connection } = await import('@temporalio/client');
  const worker = await forkBareWorker({ temporalAddress, activity: 'bareEmpty', storageRoot: os.tmpdir(), cleanups });
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  let lastId = '';
  const oneRun = async () => {
    lastId = `bare-${randomUUID()}`;
    const handle = await client.workflow.start('bareRunWorkflow', {
      taskQueue: 'bench-bareEmpty',
      workflowId: lastId,
      args: [{ runId: randomUUID(), activity: 'bareEmpty' }],
    });
    await handle.result();
  };
  try {
    for (let i = 0; i < 5; i++) await oneRun();
    const before = bareCpu({ workerPid: worker.pid, temporalPid });
    const started = performance.now();
    await inParallel(RUNS, CONCURRENCY, oneRun);
    const seconds = (performance.now() - started) / 1000;
    const after = bareCpu({ workerPid: worker.pid, temporalPid });
    return { runsPerSecond: RUNS / seconds, cpuMs: perRun(cpuDelta(before, after), RUNS), history: await historyOf(client, lastId) };
  } finally {
    await worker.stop();
    await connection.close();
  }
}

async function historyOf(client: import('@temporalio/client').Client, workflowId: string): Promise<Record<string, number>> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const EventType = (await import('@temporalio/proto')).default.temporal.api.enums.v1.EventType;
  const counts: Record<string, number> = {};
  for (const event of history.events ?? []) {
    const type = String(EventType[event.eventType ?? 0] ?? event.eventType).replace(/^EVENT_TYPE_/, '');
    counts[type] = (counts[type] ?? 0) + 1;
  }
  return counts;
}

function report(service: Cost, bare: Cost) {
  console.log('');
  console.log(
    `runs/s at concurrency ${CONCURRENCY}: service ${service.runsPerSecond.toFixed(2)}, bare Temporal + empty activity ${bare.runsPerSecond.toFixed(2)} (×${(service.runsPerSecond / bare.runsPerSecond).toFixed(2)})`,
  );
  console.log('');
  console.log('CPU per run (ms), by process:');
  const cpuTotal = (cost: Cost) => Object.values(cost.cpuMs).reduce((a, b) => a + b, 0);
  for (const [name, ms] of Object.entries(service.cpuMs)) console.log(`  service ${name.padEnd(34)} ${ms.toFixed(1)}`);
  console.log(`  service total${' '.repeat(30)} ${cpuTotal(service).toFixed(1)}`);
  for (const [name, ms] of Object.entries(bare.cpuMs)) console.log(`  bare    ${name.padEnd(34)} ${ms.toFixed(1)}`);
  console.log(
    `  bare    total${' '.repeat(30)} ${cpuTotal(bare).toFixed(1)}   (service ×${(cpuTotal(service) / cpuTotal(bare)).toFixed(2)})`,
  );
  console.log('');
  console.log('SQL per run, by phase (statements / explicit transactions / statements outside one):');
  let statements = 0;
  let transactions = 0;
  for (const [phase, count] of Object.entries(service.statements ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    console.log(
      `  ${phase.padEnd(40)} ${count.statements.toFixed(2).padStart(6)} / ${count.transactions.toFixed(2).padStart(5)} / ${count.autocommit.toFixed(2).padStart(5)}`,
    );
    statements += count.statements;
    transactions += count.transactions + count.autocommit;
  }
  console.log(`  ${'total'.padEnd(40)} ${statements.toFixed(2).padStart(6)} statements, ${transactions.toFixed(2)} transactions (bare: 0)`);
  console.log(`  PostgreSQL commits per run (pg_stat_database.xact_commit): ${service.xactCommit?.toFixed(2)}`);
  console.log(
    `  rows written per run: ${Object.entries(service.rowWrites ?? {})
      .map(([t, n]) => `${t} ${n.toFixed(2)}`)
      .join(', ')}`,
  );
  console.log('');
  console.log('Temporal history events per run (service | bare):');
  const types = [...new Set([...Object.keys(service.history), ...Object.keys(bare.history)])].sort();
  for (const type of types)
    console.log(`  ${type.padEnd(40)} ${String(service.history[type] ?? 0).padStart(3)} | ${bare.history[type] ?? 0}`);
  const total = (h: Record<string, number>) => Object.values(h).reduce((a, b) => a + b, 0);
  console.log(`  ${'total'.padEnd(40)} ${String(total(service.history)).padStart(3)} | ${total(bare.history)}`);
}

async function readCounts(dir: string): Promise<Record<string, Counts>> {
  // Each process rewrites its file every 200 ms.
  await new Promise((resolve) => setTimeout(resolve, 400));
  const byPid: Record<string, Counts> = {};
  for (const file of await readdir(dir)) {
    try {
      byPid[file] = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as Counts;
    } catch {
      // half-written: the next read has it
    }
  }
  return byPid;
}

/** Phase totals over every process (the API's phases are prefixed by nothing; the worker names its own). */
function countsDelta(before: Record<string, Counts>, after: Record<string, Counts>, runs: number): Counts {
  const pidOf = (file: string) => Number(file.replace('.json', ''));
  const delta: Counts = {};
  for (const [file, counts] of Object.entries(after)) {
    const role = pidOf(file) === process.pid ? 'api' : 'worker';
    for (const [phase, count] of Object.entries(counts)) {
      const was = before[file]?.[phase] ?? { statements: 0, transactions: 0, autocommit: 0 };
      const key = `${role}: ${phase}`;
      const sum = (delta[key] ??= { statements: 0, transactions: 0, autocommit: 0 });
      sum.statements += (count.statements - was.statements) / runs;
      sum.transactions += (count.transactions - was.transactions) / runs;
      sum.autocommit += (count.autocommit - was.autocommit) / runs;
    }
  }
  for (const [key, count] of Object.entries(delta)) if (count.statements === 0 && count.transactions === 0) delete delta[key];
  return delta;
}

/** utime + stime of a process, in ms, and its reaped children's; 0 once gone. */
function cpuOf(pid: number): { own: number; reaped: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ms = (ticks: string) => (Number(ticks) * 1000) / TICKS_PER_SECOND;
    return { own: ms(fields[11]) + ms(fields[12]), reaped: ms(fields[13]) + ms(fields[14]) };
  } catch {
    return { own: 0, reaped: 0 };
  }
}

function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children.flatMap((child) => [child, ...childrenOf(child)]);
}

function findPid(match: (cmdline: string) => boolean): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (match(readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' '))) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

type CpuSample = Record<string, Map<number, number>>;

function sample(groups: Record<string, number[]>): CpuSample {
  return Object.fromEntries(Object.entries(groups).map(([name, pids]) => [name, new Map(pids.map((pid) => [pid, cpuOf(pid).own]))]));
}

function serviceCpu({ workerPid, temporalPid, backendPids }: { workerPid: number; temporalPid: number | null; backendPids: number[] }) {
  const methodPids = childrenOf(workerPid);
  const result = sample({
    'API + bench client (this process)': [process.pid],
    worker: [workerPid],
    'method processes': methodPids,
    'PostgreSQL backends': backendPids,
    'Temporal dev server': temporalPid ? [temporalPid] : [],
  });
  // Method processes that exited meanwhile: the worker reaped them.
  result['method processes'].set(-1, cpuOf(workerPid).reaped);
  return result;
}

function bareCpu({ workerPid, temporalPid }: { workerPid: number; temporalPid: number | null }) {
  return sample({
    'client (this process)': [process.pid],
    worker: [workerPid],
    'Temporal dev server': temporalPid ? [temporalPid] : [],
  });
}

/** Per group: CPU used between the samples by processes alive at the second one (new ones from 0). */
function cpuDelta(before: CpuSample, after: CpuSample): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after).map(([name, pids]) => {
      let sum = 0;
      for (const [pid, ms] of pids) sum += ms - (before[name]?.get(pid) ?? 0);
      return [name, sum];
    }),
  );
}

function perRun(cpu: Record<string, number>, runs: number): Record<string, number> {
  return Object.fromEntries(Object.entries(cpu).map(([name, ms]) => [name, ms / runs]));
}

const cleanUp = cleanupsOnExit(cleanups);
await mkdir(os.tmpdir(), { recursive: true });
runThenExit(main, cleanUp);
