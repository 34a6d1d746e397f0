// The scale-out scenario shared by test/scale-out.test.ts and bench/scale-out.ts: a client pushes
// runs through every live API of a deployment (test/helpers/deployment.ts) while `runsUpdated`
// subscribers watch for their terminal statuses, optionally kills one API and one worker with
// SIGKILL part-way, and measures runs/s and per-run latency. What it returns is checked by the
// test and printed by the bench; the database's own record is read by `runRecord`.
//
// Load shape: a closed loop. `window` runs are in flight at any time (created, not yet seen
// terminal), more than the deployment's slots, so the workers stay saturated and runs/s measures
// their capacity; creation is spread over the whole phase, so a kill "after a third of the runs
// were created" happens a third of the way through.
import { readFileSync } from 'node:fs';
import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import type { Deployment, DeploymentProcess } from './deployment.ts';

// Plain strings, not codegen documents: the client below must see network failures itself (to
// retry on another API) rather than through the typed test client.
const CREATE_INSTANCE = `
  mutation ScaleOutCreateInstance($input: CreateInstanceInput!) {
    createInstance(input: $input) { __typename ... on CreateInstanceSuccess { instance { id } } ... on Error { message } }
  }`;
const CREATE_RUN = `
  mutation ScaleOutCreateRun($input: CreateRunInput!) {
    createRun(input: $input) { __typename ... on CreateRunSuccess { run { id } } ... on Error { message } }
  }`;
const TERMINAL_RUNS = `
  subscription ScaleOutTerminalRuns($filter: RunFilter, $since: DateTime) {
    runsUpdated(filter: $filter, since: $since) { sequence matchesFilter run { id status updatedAt } }
  }`;

export const TERMINAL_STATUSES = ['COMPLETED', 'FAILED', 'CANCELLED'] as const;

async function post(url: string, token: string, query: string, variables: Record<string, unknown>): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(30_000),
  });
  if (response.status >= 500) throw new Error(`HTTP ${response.status} from ${url}`);
  const body = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
  if (body.errors?.length) throw new GraphQLAnswerError(JSON.stringify(body.errors));
  return body.data!;
}

/** The API answered, with an error: retrying elsewhere would not help. */
class GraphQLAnswerError extends Error {}

export async function createScaleOutInstance(url: string, token: string, name: string): Promise<string> {
  const data = (await post(url, token, CREATE_INSTANCE, { input: { routineName: 'scaleout', name } })) as {
    createInstance: { __typename: string; instance?: { id: string }; message?: string };
  };
  if (!data.createInstance.instance) throw new Error(`createInstance: ${JSON.stringify(data.createInstance)}`);
  return data.createInstance.instance.id;
}

/** The uuid inside a global id (base64 of `Type:uuid`). */
export function rawId(globalId: string): string {
  return Buffer.from(globalId, 'base64').toString().split(':')[1];
}

/**
 * A dashboard: one `runsUpdated` subscription for the terminal runs of an instance. When its socket
 * fails it reconnects to the next URL of its list (the surviving API, for a dashboard whose API
 * was killed) with `since` = its last update time minus a margin, as the schema documents, so it
 * misses nothing; a resumed subscription may repeat a run, so it keeps every delivery.
 */
export class TerminalWatcher {
  /** Global run id → every status delivered for it, in order (repeats kept). */
  readonly deliveries = new Map<string, string[]>();
  reconnects = 0;
  private client: Client | null = null;
  private stopped = false;
  private lastUpdatedAt = 0;
  private readonly waiters = new Map<string, () => void>();
  private readonly loop: Promise<void>;

  constructor(
    readonly name: string,
    private readonly options: { urls: string[]; token: string; instanceId: string; since: Date },
  ) {
    this.loop = this.run();
  }

  /** Resolves when the run was delivered terminal (at once if it already was). */
  ended(runId: string): Promise<void> {
    if (this.deliveries.has(runId)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.set(runId, resolve));
  }

  get url(): string {
    return this.options.urls[this.reconnects % this.options.urls.length];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.client?.dispose();
    await this.loop;
  }

  private async run(): Promise<void> {
    const margin = 5_000;
    while (!this.stopped) {
      const since = this.lastUpdatedAt ? new Date(this.lastUpdatedAt - margin) : this.options.since;
      const client = createClient({
        url: this.url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0, // this loop reconnects itself, with `since`
        lazy: true,
        connectionParams: { authorization: `Bearer ${this.options.token}` },
      });
      this.client = client;
      try {
        const updates = client.iterate<{ runsUpdated: { matchesFilter: boolean; run: { id: string; status: string; updatedAt: string } } }>(
          {
            query: TERMINAL_RUNS,
            variables: { filter: { instanceId: this.options.instanceId, status: TERMINAL_STATUSES }, since: since.toISOString() },
          },
        );
        for await (const result of updates) {
          if (result.errors?.length) throw new Error(`${this.name}: ${JSON.stringify(result.errors)}`);
          const { run, matchesFilter } = result.data!.runsUpdated;
          if (!matchesFilter) continue; // a terminal run never stops matching; counted by the caller if it did
          this.lastUpdatedAt = Math.max(this.lastUpdatedAt, Date.parse(run.updatedAt));
          const statuses = this.deliveries.get(run.id) ?? [];
          statuses.push(run.status);
          this.deliveries.set(run.id, statuses);
          this.waiters.get(run.id)?.();
          this.waiters.delete(run.id);
        }
      } catch {
        // the socket failed (its API died): reconnect below
      } finally {
        await client.dispose();
      }
      if (this.stopped) return;
      this.reconnects += 1;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

export interface PhaseFigures {
  runs: number;
  durationMs: number;
  runsPerSecond: number;
  /** createRun sent → terminal status seen by the pacing subscriber, per run. */
  latenciesMs: number[];
  /** Idempotency key → global run id. */
  runIds: Map<string, string>;
  /** createRun requests sent again to another API after a network failure (same idempotency key). */
  retriedCreates: number;
  /** What was killed, when (runs created by then: the kill comes with the request for run `atRun` in flight). */
  kills: Array<{ name: string; afterCreated: number }>;
}

/**
 * Pushes `runs` runs of scaleout.nap through the deployment's live APIs (round robin), `window`
 * in flight at a time, pacing on `pacer`'s deliveries (a subscriber on an API that stays up).
 * With `kill`: SIGKILLs those processes while run `atRun` is being created through the API among them.
 */
export async function pushRuns({
  deployment,
  instanceId,
  pacer,
  runs,
  window,
  napMs,
  keyPrefix,
  kill,
  timeoutMs,
  databaseUrl,
}: {
  deployment: Deployment;
  databaseUrl: string;
  instanceId: string;
  pacer: TerminalWatcher;
  runs: number;
  window: number;
  napMs: number;
  keyPrefix: string;
  /** Kill `members` (an API among them) while the request creating run number `atRun` is in flight to that API. */
  kill?: { atRun: number; members: DeploymentProcess[] };
  timeoutMs: number;
}): Promise<PhaseFigures> {
  const runIds = new Map<string, string>();
  const latenciesMs: number[] = [];
  const kills: PhaseFigures['kills'] = [];
  let killing: Promise<unknown> = Promise.resolve();
  let retriedCreates = 0;
  let next = 0;
  let created = 0;
  const deadline = Date.now() + timeoutMs;

  const killNow = () => {
    kills.push(...kill!.members.map((member) => ({ name: member.name, afterCreated: created })));
    // A worker dies in the middle of an attempt, not between two: whether it holds one at the
    // instant the API dies is luck (on a loaded machine its slots may just have emptied).
    killing = Promise.all(
      kill!.members.map(async (member) => {
        if (member.role === 'worker') await untilWorkerHoldsAttempt(databaseUrl, member.process.child.pid!, 15_000);
        await deployment.kill(member);
      }),
    );
  };
  const createRun = async (index: number, key: string): Promise<string> => {
    for (let attempt = 0; ; attempt++) {
      const live = deployment.apis.filter((api) => !api.gone);
      // The run the kill waits for goes to the API about to die, which dies with the request in
      // flight: created or not, the client cannot know, and must send it again elsewhere.
      const doomed = kill && index === kill.atRun && attempt === 0 ? kill.members.find((member) => member.role === 'api') : undefined;
      const api = doomed ?? live[(index + attempt) % live.length];
      try {
        const answer = post(api.url!, deployment.token, CREATE_RUN, {
          input: { instanceId, methodName: 'nap', inputs: { ms: napMs, steps: 3 }, idempotencyKey: key },
        });
        if (doomed) setTimeout(killNow, Math.floor(Math.random() * 5));
        const data = (await answer) as { createRun: { __typename: string; run?: { id: string }; message?: string } };
        if (!data.createRun.run) throw new GraphQLAnswerError(`createRun: ${JSON.stringify(data.createRun)}`);
        return data.createRun.run.id;
      } catch (error) {
        // Only a request that may not have reached a live API is sent again: same key, so the
        // API that gets it returns the run if the first one had created it.
        if (error instanceof GraphQLAnswerError || Date.now() > deadline) throw error;
        retriedCreates += 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };

  const started = performance.now();
  const lane = async () => {
    while (next < runs) {
      const index = next++;
      const key = `${keyPrefix}-${index}`;
      const sent = performance.now();
      const runId = await createRun(index, key);
      runIds.set(key, runId);
      created += 1;
      await Promise.race([
        pacer.ended(runId),
        new Promise((_, reject) =>
          setTimeout(
            () => reject(new Error(`run ${key} (${runId}) not seen ending by ${pacer.name}`)),
            Math.max(0, deadline - Date.now()),
          ).unref(),
        ),
      ]);
      latenciesMs.push(performance.now() - sent);
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
  const durationMs = performance.now() - started;
  await killing;
  return { runs, durationMs, runsPerSecond: runs / (durationMs / 1000), latenciesMs, runIds, retriedCreates, kills };
}

/** Waits (up to `timeoutMs`) until the worker process `pid` records a run in an attempt. */
async function untilWorkerHoldsAttempt(databaseUrl: string, pid: number, timeoutMs: number): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
      const { rows } = await client.query<{ running: string }>(
        `SELECT count(*) AS running FROM "RoutineRun" r JOIN "Worker" w ON w.id = r."workerId"
          WHERE w.pid = $1 AND r.status::text = 'RUNNING'`,
        [pid],
      );
      if (Number(rows[0].running) > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    await client.end();
  }
}

export interface RunRecord {
  /** Runs of the instance, by idempotency key: how many rows carry each key. */
  rowsPerKey: Map<string, number>;
  /** Run uuid → its status now. */
  status: Map<string, string>;
  /** Run uuid → its STATUS_CHANGED events into a terminal status. */
  terminalTransitions: Map<string, number>;
  /** Run uuid → attempts it took (more than 1: a killed worker's run finished elsewhere). */
  attempts: Map<string, number>;
  /** Each run's idempotency key, the worker of its last attempt, and when it started and finished. */
  executions: Array<{ key: string; workerId: string | null; startedAt: Date | null; finishedAt: Date | null }>;
}

/** What the database says about every run of the instance. */
export async function runRecord(databaseUrl: string, instanceGlobalId: string): Promise<RunRecord> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{
      id: string;
      idempotencyKey: string | null;
      status: string;
      terminal: string;
      attempts: number;
      workerId: string | null;
      startedAt: Date | null;
      finishedAt: Date | null;
    }>(
      `SELECT r.id, r."idempotencyKey", r.status::text AS status, r."workerId", r."startedAt", r."finishedAt",
              (SELECT count(*) FROM "RunEvent" e
                WHERE e."runId" = r.id AND e.type = 'STATUS_CHANGED' AND e."toStatus"::text = ANY($2)) AS terminal,
              r.attempt AS attempts
         FROM "RoutineRun" r WHERE r."instanceId" = $1`,
      [rawId(instanceGlobalId), TERMINAL_STATUSES],
    );
    const record: RunRecord = {
      rowsPerKey: new Map(),
      status: new Map(),
      terminalTransitions: new Map(),
      attempts: new Map(),
      executions: [],
    };
    for (const row of rows) {
      const key = row.idempotencyKey ?? '(none)';
      record.rowsPerKey.set(key, (record.rowsPerKey.get(key) ?? 0) + 1);
      record.status.set(row.id, row.status);
      record.terminalTransitions.set(row.id, Number(row.terminal));
      record.attempts.set(row.id, row.attempts);
      record.executions.push({ key, workerId: row.workerId, startedAt: row.startedAt, finishedAt: row.finishedAt });
    }
    return record;
  } finally {
    await client.end();
  }
}

/** Of the runs whose key starts with `keyPrefix`: the workers that executed them, and the most that ran at once. */
export function executionSpread(record: RunRecord, keyPrefix: string): { workers: number; peakConcurrency: number } {
  const runs = record.executions.filter((run) => run.key.startsWith(`${keyPrefix}-`) && run.startedAt && run.finishedAt);
  const edges = runs.flatMap((run) => [
    { at: run.startedAt!.getTime(), change: 1 },
    { at: run.finishedAt!.getTime(), change: -1 },
  ]);
  // Ends before starts at the same instant: a slot handed on is not two runs at once.
  edges.sort((a, b) => a.at - b.at || a.change - b.change);
  let running = 0;
  let peakConcurrency = 0;
  for (const edge of edges) peakConcurrency = Math.max(peakConcurrency, (running += edge.change));
  return { workers: new Set(runs.map((run) => run.workerId)).size, peakConcurrency };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return Math.round(sorted[Math.max(0, index)]);
}

/** A sample of the CPU time of all cores (/proc/stat, in clock ticks). */
export function machineCpuSample(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3] + fields[4]; // idle + iowait
  const total = fields.reduce((sum, value) => sum + value, 0);
  return { busy: total - idle, total };
}

/** Busy share of all cores between two samples, 0–1. */
export function machineBusyShare(from: { busy: number; total: number }, to = machineCpuSample()): number {
  return (to.busy - from.busy) / Math.max(1, to.total - from.total);
}

export interface ScaleOutFigures {
  /** Three workers and two APIs, one of each killed with SIGKILL after a third of the runs were created. */
  threeWorkers: PhaseFigures & { machineBusy: number };
  /** The same load on the one worker left. */
  oneWorker: PhaseFigures & { machineBusy: number; cpuSecondsPerRun: Map<string, number> };
  /** threeWorkers.runsPerSecond ÷ oneWorker.runsPerSecond. */
  ratio: number;
  /** The database after the first phase, and after both. */
  record: RunRecord;
  finalRecord: RunRecord;
  /** [the dashboard on the killed API (it fails over to the other), the one on the surviving API]. */
  dashboards: [TerminalWatcher, TerminalWatcher];
  /** Runs that took more than one attempt in the first phase: the killed worker's. */
  retriedRuns: number;
  /** Per phase: how many workers executed its runs, and the most runs that ran at once. */
  spread: { threeWorkers: { workers: number; peakConcurrency: number }; oneWorker: { workers: number; peakConcurrency: number } };
  rssMb: { afterKills: Array<{ name: string; rssMb: number }>; atEnd: Array<{ name: string; rssMb: number }> };
}

/**
 * The whole scenario on a deployment of two APIs and three workers (test/helpers/deployment.ts):
 * `runs` runs with a kill -9 of api-1 and worker-1 after a third were created, then, worker-2
 * stopped, `runsOneWorker` runs on worker-3 alone. Dashboards: one `runsUpdated` subscriber on
 * each API, from the start.
 */
export async function scaleOutScenario({
  deployment,
  databaseUrl,
  runs,
  runsOneWorker,
  napMs,
  window,
  phaseTimeoutMs,
}: {
  deployment: Deployment;
  databaseUrl: string;
  runs: number;
  runsOneWorker: number;
  napMs: number;
  window: number;
  phaseTimeoutMs: number;
}): Promise<ScaleOutFigures> {
  const { apis, workers, token } = deployment;
  if (apis.length !== 2 || workers.length !== 3) throw new Error('the scenario needs two APIs and three workers');
  const [doomedApi, survivingApi] = apis;
  const instanceId = await createScaleOutInstance(survivingApi.url!, token, 'scale-out');
  const since = new Date(Date.now() - 1000);
  // The dashboard on the API that will die fails over to the surviving one.
  const doomedDashboard = new TerminalWatcher('dashboard on api-1', {
    urls: [doomedApi.url!, survivingApi.url!],
    token,
    instanceId,
    since,
  });
  const dashboard = new TerminalWatcher('dashboard on api-2', { urls: [survivingApi.url!], token, instanceId, since });
  try {
    let cpu = machineCpuSample();
    const threeWorkers = await pushRuns({
      databaseUrl,
      deployment,
      instanceId,
      pacer: dashboard,
      runs,
      window,
      napMs,
      keyPrefix: 'three-workers',
      kill: { atRun: Math.round(runs / 3), members: [doomedApi, workers[0]] },
      timeoutMs: phaseTimeoutMs,
    });
    const threeWorkersBusy = machineBusyShare(cpu);
    const record = await runRecord(databaseUrl, instanceId);
    // The failed-over dashboard may still be replaying what it missed.
    const allSeen = () => [...threeWorkers.runIds.values()].every((runId) => doomedDashboard.deliveries.has(runId));
    for (let waited = 0; !allSeen() && waited < 10_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    const afterKills = deployment.rssMb();

    // One worker left (the second one stops gracefully): the same load, fewer runs.
    await deployment.stop(workers[1]);
    const cpuBefore = deployment.cpuSeconds();
    cpu = machineCpuSample();
    const oneWorker = await pushRuns({
      databaseUrl,
      deployment,
      instanceId,
      pacer: dashboard,
      runs: runsOneWorker,
      window,
      napMs,
      keyPrefix: 'one-worker',
      timeoutMs: phaseTimeoutMs,
    });
    const oneWorkerBusy = machineBusyShare(cpu);
    const cpuSecondsPerRun = new Map(
      [...deployment.cpuSeconds()].map(([name, seconds]) => [name, (seconds - (cpuBefore.get(name) ?? 0)) / runsOneWorker] as const),
    );
    const finalRecord = await runRecord(databaseUrl, instanceId);
    return {
      threeWorkers: { ...threeWorkers, machineBusy: threeWorkersBusy },
      oneWorker: { ...oneWorker, machineBusy: oneWorkerBusy, cpuSecondsPerRun },
      ratio: threeWorkers.runsPerSecond / oneWorker.runsPerSecond,
      record,
      finalRecord,
      spread: { threeWorkers: executionSpread(finalRecord, 'three-workers'), oneWorker: executionSpread(finalRecord, 'one-worker') },
      dashboards: [doomedDashboard, dashboard],
      retriedRuns: [...record.attempts.values()].filter((attempts) => attempts > 1).length,
      rssMb: { afterKills, atEnd: deployment.rssMb() },
    };
  } finally {
    await Promise.all([doomedDashboard.stop(), dashboard.stop()]);
  }
}
