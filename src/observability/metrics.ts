// The one Prometheus registry of a process: every metric the service exposes is defined here, so
// names, labels and their bounds can be read in one place. Labels are routine and method names,
// statuses, operation types and transports: never run ids, users or free text.
//
// Counters and histograms count what this process did (Prometheus sums the processes); gauges read
// from the database at scrape time (runs active, admission capacity) say the same in every process.
import client from 'prom-client';
import type { Db } from '../db/client.ts';
import { readCapacity } from '../runs/admission.ts';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

const SHARED_GAUGE = 'Read from the database at scrape time: the same in every process of a deployment.';
const PER_PROCESS = 'Counted by this process (sum over processes).';

export const runsFinished = new client.Counter({
  name: 'routine_runs_finished_total',
  help: `Runs that reached a terminal status, by routine, method and status. ${PER_PROCESS}`,
  labelNames: ['routine', 'method', 'status'] as const,
  registers: [registry],
});

export const runDuration = new client.Histogram({
  name: 'routine_run_duration_seconds',
  help: `Time from RUNNING to the terminal status of runs that began executing. ${PER_PROCESS}`,
  labelNames: ['routine', 'method', 'status'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
  registers: [registry],
});

export const queueWait = new client.Histogram({
  name: 'routine_run_queue_wait_seconds',
  help: `Time from QUEUED to RUNNING (admission and pick-up by a worker). ${PER_PROCESS}`,
  labelNames: ['routine', 'method'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
  registers: [registry],
});

export const attemptsFailed = new client.Counter({
  name: 'routine_run_attempts_failed_total',
  help: `Attempts that failed or were interrupted and left their run to be retried; a run's last failure counts in routine_runs_finished_total{status="FAILED"}. ${PER_PROCESS}`,
  registers: [registry],
});

export const subscriptionsActive = new client.Gauge({
  name: 'routine_subscriptions_active',
  help: 'GraphQL subscriptions open on this process, by transport (ws: graphql-ws, sse: Server-Sent Events).',
  labelNames: ['transport'] as const,
  registers: [registry],
});

// Both series exist from the start: a dashboard sees 0, not a missing series.
for (const transport of ['ws', 'sse']) subscriptionsActive.set({ transport }, 0);

export const graphqlRequestDuration = new client.Histogram({
  name: 'graphql_request_duration_seconds',
  help: `Time to answer a GraphQL query or mutation (parse to result; HTTP or graphql-ws), by operation type. ${PER_PROCESS}`,
  labelNames: ['operation_type'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const eventFanoutLag = new client.Histogram({
  name: 'routine_run_event_fanout_lag_seconds',
  help: `Time from a run event's write to this process's feed reading it for its subscribers. ${PER_PROCESS}`,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
  registers: [registry],
});

export interface ScrapeSource {
  db: Db;
  leaseMs: number;
  /** The process's pg pool (src/db/client.ts poolStats). */
  pool(): { totalCount: number; idleCount: number; waitingCount: number } | null;
}

/** What scrape-time gauges read: the database of this process (the last one registered). */
let scrapeSource: ScrapeSource | null = null;

/** Scrape-time gauges read this database from now on; returns the unregister. */
export function readGaugesFrom(source: ScrapeSource): () => void {
  scrapeSource = source;
  return () => {
    if (scrapeSource === source) scrapeSource = null;
  };
}

/** A scrape must answer even with the database away: its gauges are then left out, not waited for. */
const SCRAPE_QUERY_TIMEOUT_MS = 1000;

async function withinScrapeTime<T>(work: Promise<T>): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), SCRAPE_QUERY_TIMEOUT_MS)));
  try {
    return await Promise.race([work.catch(() => null), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

new client.Gauge({
  name: 'routine_runs_active',
  help: `Runs in CREATED, QUEUED or RUNNING. ${SHARED_GAUGE}`,
  labelNames: ['status'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    const rows = await activeRunsNow();
    if (!rows) return;
    for (const status of ['CREATED', 'QUEUED', 'RUNNING']) {
      this.set({ status }, Number(rows.find((row) => row.status === status)?.count ?? 0));
    }
  },
});

// Read at most once a second whatever the scrape rate (METRICS_TOKEN unset, anyone reaching the
// port can scrape): the count is over the whole run table.
let activeRunsRead: { at: number; value: Promise<{ status: string; count: bigint }[] | null> } | null = null;
function activeRunsNow() {
  const source = scrapeSource;
  if (!source) return Promise.resolve(null);
  if (!activeRunsRead || Date.now() - activeRunsRead.at > 1000) {
    activeRunsRead = {
      at: Date.now(),
      value: withinScrapeTime(
        source.db.$queryRaw<{ status: string; count: bigint }[]>`
          SELECT status::text AS status, count(*) AS count FROM "RoutineRun"
          WHERE status IN ('CREATED', 'QUEUED', 'RUNNING') GROUP BY status`,
      ),
    };
  }
  return activeRunsRead.value;
}

// One capacity read serves the three admission gauges of a scrape.
let capacityRead: { at: number; value: Promise<Awaited<ReturnType<typeof readCapacity>> | null> } | null = null;
function capacityNow() {
  const source = scrapeSource;
  if (!source) return Promise.resolve(null);
  if (!capacityRead || Date.now() - capacityRead.at > 1000) {
    capacityRead = { at: Date.now(), value: withinScrapeTime(readCapacity(source.db, { leaseMs: source.leaseMs })) };
  }
  return capacityRead.value;
}

new client.Gauge({
  name: 'routine_admission_slots',
  help: `Run slots of the live workers: total, and busy (admitted runs). ${SHARED_GAUGE}`,
  labelNames: ['state'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    const capacity = await capacityNow();
    if (!capacity) return;
    this.set({ state: 'total' }, capacity.slotsTotal);
    this.set({ state: 'busy' }, capacity.slotsBusy);
  },
});

new client.Gauge({
  name: 'routine_admission_memory_megabytes',
  help: `Memory budget of the live workers: total, and busy (admitted runs). ${SHARED_GAUGE}`,
  labelNames: ['state'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    const capacity = await capacityNow();
    if (!capacity) return;
    this.set({ state: 'total' }, capacity.memoryTotalMb);
    this.set({ state: 'busy' }, capacity.memoryBusyMb);
  },
});

new client.Gauge({
  name: 'routine_admission_queue_depth',
  help: `Queued background runs waiting for capacity. ${SHARED_GAUGE}`,
  registers: [registry],
  async collect() {
    this.reset();
    const capacity = await capacityNow();
    if (capacity) this.set(capacity.queued);
  },
});

new client.Gauge({
  name: 'routine_db_pool_connections',
  help: "This process's PostgreSQL pool: open connections (total), idle ones, and queries waiting for a connection.",
  labelNames: ['state'] as const,
  registers: [registry],
  collect() {
    this.reset();
    const stats = scrapeSource?.pool() ?? null;
    if (!stats) return;
    this.set({ state: 'total' }, stats.totalCount);
    this.set({ state: 'idle' }, stats.idleCount);
    this.set({ state: 'waiting' }, stats.waitingCount);
  },
});

/**
 * Counts `source` in routine_subscriptions_active while it is open. Not an async generator: one
 * of those would hold a consumer's `return()` until the pending `next()` settled, which for a quiet
 * subscription is never.
 */
export function countSubscription<T>(source: AsyncIterable<T>, transport: 'ws' | 'sse'): AsyncIterableIterator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let open = true;
  subscriptionsActive.inc({ transport });
  const ended = () => {
    if (!open) return;
    open = false;
    subscriptionsActive.dec({ transport });
  };
  return {
    async next() {
      try {
        const result = await iterator.next();
        if (result.done) ended();
        return result;
      } catch (error) {
        ended();
        throw error;
      }
    },
    async return(value?: unknown) {
      ended();
      return (await iterator.return?.(value)) ?? { done: true, value: undefined as T };
    },
    async throw(error?: unknown) {
      ended();
      if (iterator.throw) return iterator.throw(error);
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** A run's status change, counted once its transaction committed (src/runs/state-machine.ts). */
export function recordRunTransition(change: {
  routine: string;
  method: string;
  to: string;
  queuedAt: Date | null;
  startedAt: Date | null;
  at: Date;
}): void {
  const { routine, method, to, queuedAt, startedAt, at } = change;
  if (to === 'RUNNING') {
    if (queuedAt) queueWait.observe({ routine, method }, Math.max(0, at.getTime() - queuedAt.getTime()) / 1000);
    return;
  }
  if (to !== 'COMPLETED' && to !== 'FAILED' && to !== 'CANCELLED') return;
  runsFinished.inc({ routine, method, status: to });
  if (startedAt) runDuration.observe({ routine, method, status: to }, Math.max(0, at.getTime() - startedAt.getTime()) / 1000);
}

/**
 * Scrapes arriving together share one rendering (and so one round of the database reads behind
 * the shared gauges): a burst of scrapers costs what one does, not a statement each.
 */
const RENDER_REUSE_MS = 250;
let rendered: { at: number; body: Promise<string> } | null = null;

export async function metricsText(): Promise<{ contentType: string; body: string }> {
  if (!rendered || Date.now() - rendered.at >= RENDER_REUSE_MS) rendered = { at: Date.now(), body: registry.metrics() };
  return { contentType: registry.contentType, body: await rendered.body };
}
