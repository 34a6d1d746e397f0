// bench/live-logs: what streaming a method's log lines costs, and how fresh a tail is.
//
//   npm run bench:live-logs        (ROUNDS=5 runs per scenario, FLOOD=100000 lines)
//
// Starts its own Temporal dev server, a fresh database on the local PostgreSQL, the API in this
// process and the worker in its own process (from the sources), then runs testkit.chatter
// (test/fixtures/routines) in three shapes, ROUNDS times each, with a runUpdated subscriber on a
// real socket from the start:
//   - quiet: no line, a 2 s pause — the baseline;
//   - steady: a line every 50 ms for 2 s — each line's delay from the worker receiving it
//     (`log.at`) to the subscriber receiving its LOG event, p50/p95, and LOG events per line;
//   - flood: FLOOD lines at once, then one last line — LOG events and lines stored (the rest is
//     counted, not stored), the run's createRun → COMPLETED time as a ratio to quiet, and the
//     worker's peak RSS growth over the quiet rounds.
// It stops everything it started and drops its database, whatever happens.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { print } from 'graphql';
import { createToken } from '../src/auth/tokens.ts';
import { loadEnv } from '../src/env.ts';
import { openCore, startApi } from '../src/runtime.ts';
import { GraphQLTestClient } from '../test/helpers/graphql.ts';
import { startServiceProcess } from '../test/helpers/processes.ts';
import { graphql } from '../test/gql/index.ts';
import { runThenExit } from './fixtures/helpers.ts';
import { startTemporalAndDatabase } from './fixtures/service-stack.ts';

const BenchLlCreateInstance = graphql(`
  mutation BenchLlCreateInstance($input: CreateInstanceInput!) {
    createInstance(input: $input) {
      __typename
      ... on CreateInstanceSuccess {
        instance {
          id
        }
      }
    }
  }
`);
const BenchLlCreateRun = graphql(`
  mutation BenchLlCreateRun($input: CreateRunInput!) {
    createRun(input: $input) {
      __typename
      ... on CreateRunSuccess {
        run {
          id
        }
      }
    }
  }
`);
const BenchLlRunUpdated = graphql(`
  subscription BenchLlRunUpdated($id: ID!) {
    runUpdated(id: $id, afterSequence: 0) {
      type
      toStatus
      log {
        at
        lines
        message
      }
    }
  }
`);

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const FLOOD = Number(process.env.FLOOD ?? 100_000);
const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));
const FIXTURES = path.join(PROJECT_ROOT, 'test/fixtures/routines');

type Step = { line: string } | { burst: number; levels?: string[] } | { pauseMs: number };
const SCENARIOS: Record<string, Step[]> = {
  quiet: [{ pauseMs: 2000 }],
  steady: Array.from({ length: 40 }, (_, index) => [{ line: `line ${index + 1}` }, { pauseMs: 50 }]).flat(),
  flood: [{ burst: FLOOD, levels: ['debug'] }, { line: 'the end' }],
};

interface RoundFigures {
  completedMs: number;
  logEvents: number;
  storedLines: number;
  lastLine: string | undefined;
  delaysMs: number[];
  workerPeakRssMb: number;
}

const cleanups: Array<() => Promise<unknown>> = [];

async function main() {
  const { dataDir, temporal, database } = await startTemporalAndDatabase({
    prefix: 'rr-bench-logs-',
    databaseName: 'rr_bench_logs',
    cleanups,
  });
  const settings = {
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: temporal.address,
    DATA_DIR: path.join(dataDir, 'service'),
    TEMPORAL_TASK_QUEUE: 'bench-logs',
    ROUTINES_EXTRA_DIRS: FIXTURES,
    LOG_LEVEL: 'warn',
  };
  const core = await openCore({ env: loadEnv(settings), databaseUrl: database.url, log: () => {} });
  cleanups.push(() => core.close());
  const worker = await startServiceProcess({ role: 'worker', env: settings });
  cleanups.push(() => worker.kill());
  const api = await startApi({ core, temporalAddress: temporal.address, port: 0, host: '127.0.0.1', log: () => {} });
  cleanups.push(() => api.stop());
  const { token } = await createToken({ db: core.db, userName: 'bench', admin: true });
  const client = new GraphQLTestClient({ url: api.url, token });
  const created = await client.query(BenchLlCreateInstance, { input: { routineName: 'testkit', name: 'bench-logs' } });
  if (created.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error(JSON.stringify(created));
  const instanceId = created.createInstance.instance.id;
  const workerPid = worker.child.pid!;

  const round = async (script: Step[]): Promise<RoundFigures> => {
    const socket = client.ws();
    const started = performance.now();
    const answer = await client.query(BenchLlCreateRun, { input: { instanceId, methodName: 'chatter', inputs: { script } } });
    if (answer.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(answer));
    const figures: RoundFigures = { completedMs: 0, logEvents: 0, storedLines: 0, lastLine: undefined, delaysMs: [], workerPeakRssMb: 0 };
    const sampler = setInterval(
      () => void rssMb(workerPid).then((mb) => (figures.workerPeakRssMb = Math.max(figures.workerPeakRssMb, mb))),
      20,
    );
    try {
      for await (const result of socket.iterate({ query: print(BenchLlRunUpdated), variables: { id: answer.createRun.run.id } })) {
        const event = (
          result.data as {
            runUpdated: { type: string; toStatus: string | null; log: { at: string; lines: number; message: string } | null };
          }
        ).runUpdated;
        if (event.log) {
          figures.logEvents += 1;
          figures.storedLines += event.log.lines;
          figures.lastLine = event.log.message.split('\n').at(-1);
          figures.delaysMs.push(Date.now() - Date.parse(event.log.at));
        }
        if (event.toStatus === 'COMPLETED' || event.toStatus === 'FAILED') {
          if (event.toStatus === 'FAILED') throw new Error('the chatter run failed');
          figures.completedMs = performance.now() - started;
          break;
        }
      }
    } finally {
      clearInterval(sampler);
      await socket.dispose();
    }
    return figures;
  };

  console.log(`live-logs: testkit.chatter, ${ROUNDS} rounds per scenario, flood ${FLOOD} lines, ${os.cpus().length} CPUs`);
  await round(SCENARIOS.quiet); // warm the worker's method processes
  const results: Record<string, RoundFigures[]> = {};
  for (const [name, script] of Object.entries(SCENARIOS)) {
    results[name] = [];
    for (let index = 0; index < ROUNDS; index++) results[name].push(await round(script));
  }

  const median = (values: number[]) => percentile(values, 50);
  const quiet = results.quiet;
  const steady = results.steady;
  const flood = results.flood;
  const steadyDelays = steady.flatMap((figures) => figures.delaysMs);
  console.log('');
  console.log(
    `quiet (baseline)  createRun → COMPLETED median ${median(quiet.map((f) => f.completedMs)).toFixed(0)} ms, worker peak RSS ${median(quiet.map((f) => f.workerPeakRssMb)).toFixed(0)} MB`,
  );
  console.log(
    `steady (40 lines, 50 ms apart)  log line → subscriber p50 ${percentile(steadyDelays, 50)} ms, p95 ${percentile(steadyDelays, 95)} ms; ` +
      `LOG events per line ${(median(steady.map((f) => f.logEvents)) / 40).toFixed(2)}; COMPLETED ×${(median(steady.map((f) => f.completedMs)) / median(quiet.map((f) => f.completedMs))).toFixed(2)} of quiet`,
  );
  console.log(
    `flood (${FLOOD} + 1 lines)  LOG events median ${median(flood.map((f) => f.logEvents))}, lines stored median ${median(flood.map((f) => f.storedLines))}, ` +
      `last line kept ${flood.every((f) => f.lastLine === 'the end') ? 'every round' : 'NOT in every round'}; ` +
      `COMPLETED median ${median(flood.map((f) => f.completedMs)).toFixed(0)} ms (×${(median(flood.map((f) => f.completedMs)) / median(quiet.map((f) => f.completedMs))).toFixed(2)} of quiet, whose method pauses 2 s); ` +
      `worker peak RSS ${median(flood.map((f) => f.workerPeakRssMb)).toFixed(0)} MB (×${(median(flood.map((f) => f.workerPeakRssMb)) / median(quiet.map((f) => f.workerPeakRssMb))).toFixed(2)} of quiet)`,
  );
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function cleanUp() {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
}

runThenExit(main, cleanUp);
