// bench/startup: `npm start` on a fresh DATA_DIR (Temporal CLI already installed), phase by phase,
// and the first run's latency right after that cold start (createRun → COMPLETED of a kmeans
// `configure`: what a new user waits for); then a warm restart on the same DATA_DIR, then
// createRun → COMPLETED for a small kmeans `fit` through the whole stack, next to the same method
// executed directly in the sandbox (the baseline: what execution costs without the API, database
// and Temporal around it).
//
// Start-up baselines measured in the same run (the machine is shared and its load changes):
// `tsx -e 0` (what any `npm start` costs before the first module of ours), and with
// BASELINE_ROOT=<another checkout> (e.g. `git archive <commit> | tar -x -C …` with node_modules
// linked) that checkout's cold and warm start, interleaved with this one's, for before → after.
// The caches kept across starts (dist-cache/, dist-methods-*/) are outside DATA_DIR, so a fresh
// DATA_DIR still uses them: "cold" here is a new database on a checkout that has started before.
// NO_CACHES=1 removes them first: the first start of a new checkout.
//
//   npm run bench:startup            (ROUNDS=5 for more fit samples)
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { executeMethod } from '../src/execution/sandbox.ts';
import { graphql } from '../test/gql/index.ts';
import type { CreateRunInput } from '../test/gql/graphql.ts';
import { GraphQLTestClient } from '../test/helpers/graphql.ts';
import { npmStart, stopNpmStart, type NpmStart } from '../test/helpers/npm-start.ts';
import { freePort } from '../test/helpers/ports.ts';

const BenchCreateInstance = graphql(`
  mutation BenchCreateInstance($input: CreateInstanceInput!) {
    createInstance(input: $input) {
      __typename
      ... on CreateInstanceSuccess {
        instance {
          id
        }
      }
      ... on Error {
        message
      }
    }
  }
`);
const BenchCreateRun = graphql(`
  mutation BenchCreateRun($input: CreateRunInput!) {
    createRun(input: $input) {
      __typename
      ... on CreateRunSuccess {
        run {
          id
          status
        }
      }
      ... on Error {
        message
      }
    }
  }
`);
const BenchRunStatus = graphql(`
  query BenchRunStatus($id: ID!) {
    run(id: $id) {
      status
    }
  }
`);

const TOKEN = 'rr_bench-startup-token-0123456789';
const rounds = Number(process.env.ROUNDS ?? 5);

interface Ready extends NpmStart {
  wallMs: number;
}

async function start(env: Record<string, string>, root = process.cwd()): Promise<Ready> {
  const started = performance.now();
  // npm start runs in the working directory it is spawned from.
  const here = process.cwd();
  process.chdir(root);
  const starting = npmStart({ env });
  process.chdir(here);
  const ready = await starting;
  // Ready means /graphql answers an authenticated query.
  const client = new GraphQLTestClient({ url: ready.url, token: TOKEN });
  await client.query(BenchRunStatus, { id: Buffer.from('RoutineRun:00000000-0000-0000-0000-000000000000').toString('base64') });
  return { ...ready, wallMs: performance.now() - started };
}

/** Bare baseline: a process through tsx that loads nothing of ours (median of 3). */
function bareTsxMs(): number {
  const times = [0, 1, 2].map(() => {
    const started = performance.now();
    spawnSync(path.join('node_modules', '.bin', 'tsx'), ['-e', '0'], { stdio: 'ignore' });
    return performance.now() - started;
  });
  return percentile(times, 50);
}

async function freshEnv(): Promise<Record<string, string>> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'rr-bench-'));
  await chmod(dataDir, 0o755);
  return {
    DATA_DIR: dataDir,
    PORT: String(await freePort()),
    EMBEDDED_PG_PORT: String(await freePort()),
    TEMPORAL_DEV_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    ROUTINES_DEV_TOKEN: TOKEN,
    LOG_LEVEL: 'warn',
  };
}

interface Measured {
  cold: Ready;
  warm: Ready;
  firstRun: { queuedMs: number; completedMs: number };
  instanceId: string;
}

/** Cold start, first run, stop (then `warmUp` restarts on the same DATA_DIR). */
async function coldStart(env: Record<string, string>, root?: string) {
  const cold = await start(env, root);
  const client = new GraphQLTestClient({ url: cold.url, token: TOKEN });
  const created = await client.query(BenchCreateInstance, { input: { routineName: 'kmeans', name: 'bench' } });
  if (created.createInstance.__typename !== 'CreateInstanceSuccess') throw new Error('instance');
  const instanceId = created.createInstance.instance.id;
  const firstRun = await untilDone(client, { instanceId, methodName: 'configure', inputs: { k: 3, seed: 1 } });
  await stopNpmStart(cold);
  return { cold, firstRun, instanceId };
}

function printTable(title: string, { cold, warm, firstRun }: Measured, bareMs: number) {
  console.log(`${title}: npm start → ready /graphql (ms)`);
  console.log('                 fresh DATA_DIR   warm restart');
  const names = [...new Set([...Object.keys(cold.phases), ...Object.keys(warm.phases)])];
  for (const name of names) {
    console.log(`  ${name.padEnd(14)} ${String(cold.phases[name] ?? '-').padStart(10)}   ${String(warm.phases[name] ?? '-').padStart(12)}`);
  }
  console.log(`  ${'in process'.padEnd(14)} ${String(cold.totalMs).padStart(10)}   ${String(warm.totalMs).padStart(12)}`);
  console.log(
    `  ${'wall (npm)'.padEnd(14)} ${String(Math.round(cold.wallMs)).padStart(10)}   ${String(Math.round(warm.wallMs)).padStart(12)}`,
  );
  console.log(
    `  ${'÷ bare tsx'.padEnd(14)} ${(cold.wallMs / bareMs).toFixed(1).padStart(9)}×   ${(warm.wallMs / bareMs).toFixed(1).padStart(11)}×`,
  );
  console.log(`  cold ready (wall) target ≤ 5000 ms: ${cold.wallMs <= 5_000 ? 'met' : 'MISSED'} (${Math.round(cold.wallMs)} ms)`);
  console.log(
    `  first run after the cold start (kmeans configure): createRun → QUEUED ${Math.round(firstRun.queuedMs)} ms, → COMPLETED ${Math.round(firstRun.completedMs)} ms`,
  );
}

function percentile(values: number[], p: number) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function points(n: number) {
  let seed = 3;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  return Array.from({ length: n }, (_, i) => [(i % 3) * 10 + random(), (i % 3) * 5 + random()]);
}

async function untilDone(client: GraphQLTestClient, input: CreateRunInput) {
  const started = performance.now();
  const result = await client.query(BenchCreateRun, { input });
  if (result.createRun.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(result.createRun));
  const queuedMs = performance.now() - started;
  for (;;) {
    const { run } = await client.query(BenchRunStatus, { id: result.createRun.run.id });
    if (run?.status === 'COMPLETED') return { queuedMs, completedMs: performance.now() - started };
    if (run?.status === 'FAILED' || run?.status === 'CANCELLED') throw new Error(run.status);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function main() {
  const baselineRoot = process.env.BASELINE_ROOT;
  const env = await freshEnv();
  const baseEnv = baselineRoot ? await freshEnv() : null;
  const dataDir = env.DATA_DIR;
  try {
    if (process.env.NO_CACHES === '1') {
      for (const name of await readdir('.')) {
        if (name === 'dist-cache' || name.startsWith('dist-methods-')) await rm(name, { recursive: true, force: true });
      }
    }
    const bareBefore = bareTsxMs();
    // Interleaved, so that a change in the machine's load falls on both.
    const base = baseEnv ? await coldStart(baseEnv, baselineRoot) : null;
    const current = await coldStart(env);
    const baseWarm = baseEnv ? await start(baseEnv, baselineRoot) : null;
    if (baseWarm) await stopNpmStart(baseWarm);
    const warm = await start(env);
    const bareMs = (bareBefore + bareTsxMs()) / 2;
    const { instanceId } = current;

    console.log(
      `bare baseline: tsx -e 0 ${Math.round(bareMs)} ms; load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n`,
    );
    if (base && baseWarm) {
      printTable(`baseline ${baselineRoot}`, { ...base, warm: baseWarm }, bareMs);
      console.log('');
    }
    printTable('this checkout', { ...current, warm }, bareMs);
    if (base && baseWarm) {
      const ratio = (after: number, before: number) => `${Math.round(before)} → ${Math.round(after)} ms (${(after / before).toFixed(2)}×)`;
      console.log(
        `\nbefore → after: cold wall ${ratio(current.cold.wallMs, base.cold.wallMs)}, warm wall ${ratio(warm.wallMs, baseWarm.wallMs)}`,
      );
      console.log(`  first run → COMPLETED ${ratio(current.firstRun.completedMs, base.firstRun.completedMs)}`);
    }

    // createRun → COMPLETED for a small fit (100 points), through the whole stack.
    const client = new GraphQLTestClient({ url: warm.url, token: TOKEN });
    const data = points(100);
    const stack: { queuedMs: number; completedMs: number }[] = [];
    for (let i = 0; i < rounds; i++) stack.push(await untilDone(client, { instanceId, methodName: 'fit', inputs: { points: data } }));

    // Baseline: the same method in the same sandbox, with no API, database or Temporal.
    const direct: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const started = performance.now();
      const result = await executeMethod({
        request: {
          runId: `bench-${i}`,
          instanceId: 'bench',
          routineName: 'kmeans',
          routineVersion: '1.0.0',
          methodName: 'fit',
          inputs: { points: data },
          instanceConfig: { k: 3, maxIterations: 100, seed: 1 },
          attempt: 1,
          memoryMb: 256,
          timeoutMs: 60_000,
          storeArtifacts: true,
          includePreviews: false,
          includeStatistics: false,
          storageRoot: path.join(dataDir, 'bench-storage'),
        },
        hooks: { onProgress() {}, onLog() {}, async onArtifact() {} },
      });
      if (result.status !== 'COMPLETED') throw new Error(JSON.stringify(result));
      direct.push(performance.now() - started);
    }
    const completed = stack.map((s) => s.completedMs);
    const queued = stack.map((s) => s.queuedMs);
    const fmt = (v: number) => `${Math.round(v)} ms`;
    console.log(`\nsmall fit (100 points, k=3), ${rounds} rounds`);
    console.log(`  createRun → QUEUED answer   p50 ${fmt(percentile(queued, 50))}  p95 ${fmt(percentile(queued, 95))}`);
    console.log(`  createRun → COMPLETED       p50 ${fmt(percentile(completed, 50))}  p95 ${fmt(percentile(completed, 95))}`);
    console.log(`  baseline: sandbox only      p50 ${fmt(percentile(direct, 50))}  p95 ${fmt(percentile(direct, 95))}`);
    console.log(`  ratio stack / baseline (p50) ${(percentile(completed, 50) / percentile(direct, 50)).toFixed(2)}×`);
    await stopNpmStart(warm);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    if (baseEnv) await rm(baseEnv.DATA_DIR, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
