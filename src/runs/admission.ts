// Admission: which queued background run starts next. Temporal task queues are neither FIFO nor
// memory-aware, so the service decides: every worker registers its slots and memory budget in a
// heartbeated `Worker` row, and queued runs are admitted in line order (priority with ageing:
// ADMISSION_ORDER below) while the live workers' pooled capacity has room for them. A run holds its slot and memory from
// admission until it ends; a run bound to a worker whose heartbeat lapsed holds nothing, so a
// dead worker's capacity comes back by itself (Temporal retries the activity elsewhere, which
// binds the run to the new worker).
//
// Head-of-line blocking: a run that needs more memory than is free would hold up every smaller
// run behind it, with slots idle. So a later run that fits may be admitted ahead of it — but only
// `maxOvertakes` times (ADMISSION_MAX_OVERTAKES): after that the waiting run reserves, and nothing
// behind it starts until it has. Without knowing how long runs take, no backfill can promise not
// to delay the run it passes; the bound keeps that delay to a few runs' worth instead of starving
// it, and 0 gives strict order. A run bigger than any live worker can hold never reserves (it
// would block the line for nothing; createRun refuses such overrides while workers are known).
//
// A RUNNING run whose attempt ran out of memory, of a method with retry.memoryGrowth, gives its
// capacity back and waits in line again (`awaitingReadmission`, with its larger memoryMb) before its
// next attempt: a retry never runs with more memory than it holds. It keeps its queuedAt, so its
// place is the one it had, near the head.
//
// Each run's workflow asks to be admitted (a local activity calling `admit`); an admission pass
// also admits whoever else is next in line and wakes their workflows with a signal. Passes are
// serialized by a transaction-scoped advisory lock, so two passes can never hand out the same
// capacity twice.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { countedAs, type Db } from '../db/client.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { LogThrottle } from '../log-throttle.ts';
import type { RunStatus } from '../generated/prisma/enums.ts';
import type { Executor } from './recorder.ts';
import type { Tx } from './run-events.ts';
import { isTerminal } from './state-machine.ts';

/** Any constant: the key of the advisory lock that serializes admission passes. */
const ADMISSION_LOCK = 0x52554e53; // "RUNS"
/** How many queued runs one pass looks at. */
const PASS_WINDOW = 500;

/**
 * Priority with ageing: each second a run has waited counts like 1/AGEING_SECONDS_PER_POINT of a
 * priority point, so its effective priority is `priority + secondsWaited / 15` (4 points a
 * minute). Ordering by that, highest first, is the same as ordering by the time-independent key
 * `queuedAt − priority × 15 s`, earliest first: the `now` both runs share cancels out. So the line
 * is a fixed order, a run's place in it moves only when a higher-priority run arrives, and
 * starvation is bounded: a run is never passed by a run queued more than
 * (its priority gap) × 15 s after it — at most 200 × 15 s = 50 minutes for -100 against 100, and a
 * priority-0 run is passed by a priority-100 run only if that one came within 25 minutes. Equal
 * priorities keep first come, first served (queuedAt, then id). A constant rather than a setting:
 * the API (queuePosition) and every worker (admission) must order the line the same way.
 */
export const AGEING_SECONDS_PER_POINT = 15;
export const MIN_PRIORITY = -100;
export const MAX_PRIORITY = 100;

/** A run in line: QUEUED, or RUNNING and waiting to be admitted again with more memory. */
const WAITING_STATUS = Prisma.sql`(status = 'QUEUED' OR (status = 'RUNNING' AND "awaitingReadmission"))`;

/** The line's sort key of the run aliased `alias` (a SQL expression; see AGEING_SECONDS_PER_POINT). */
function admissionKey(alias: string): Prisma.Sql {
  return Prisma.raw(`(${alias}."queuedAt" - ${alias}.priority * interval '${AGEING_SECONDS_PER_POINT} seconds')`);
}

export interface WorkerCapacity {
  id: string;
  host: string;
  pid: number;
  slots: number;
  slotsBusy: number;
  memoryMb: number;
  memoryBusyMb: number;
  startedAt: Date;
  heartbeatAt: Date;
}

export interface Capacity {
  workers: WorkerCapacity[];
  slotsTotal: number;
  slotsBusy: number;
  memoryTotalMb: number;
  memoryBusyMb: number;
  /** Queued background runs waiting for capacity. */
  queued: number;
  /** The largest memory one live worker can give a run (0 without workers). */
  largestWorkerMemoryMb: number;
}

interface Caller {
  resolve(result: { admitted: boolean; runnable: boolean }): void;
  reject(error: unknown): void;
}

export class Admission {
  /** Runs whose workflows asked to be admitted, waiting for the next pass. */
  private readonly asking = new Map<string, Array<Caller>>();
  private readonly pumping: Array<(admitted: string[]) => void> = [];
  private passes: Promise<void> | null = null;
  /** While the database is down every pass fails the same way: one line, then summaries. */
  private readonly throttle: LogThrottle;

  constructor(
    private readonly deps: {
      db: Db;
      leaseMs: number;
      /** How many later runs may be admitted ahead of a run waiting for memory (0: strict order). */
      maxOvertakes: number;
      /** Wakes the workflows of runs admitted by a pass (a Temporal signal); best effort. */
      notify?: (runIds: string[]) => Promise<void>;
      log?: (message: string) => void;
    },
  ) {
    this.throttle = new LogThrottle((message) => this.deps.log?.(message));
  }

  /**
   * Called by a run's workflow. `runnable: false` when the run already ended (cancelled while
   * it waited); `admitted: true` once it holds capacity.
   */
  admit({ runId }: { runId: string }): Promise<{ admitted: boolean; runnable: boolean }> {
    return new Promise((resolve, reject) => {
      const callers = this.asking.get(runId) ?? [];
      callers.push({ resolve, reject });
      this.asking.set(runId, callers);
      this.schedule();
    });
  }

  /** The largest memory a live worker can give one run (null without workers). */
  largestWorkerMemoryMb(): Promise<number | null> {
    return largestWorkerMemoryMb(this.deps.db, { leaseMs: this.deps.leaseMs });
  }

  /** An admission pass on behalf of nobody in particular: after a run ended or a worker joined. */
  pump(): Promise<string[]> {
    return new Promise((resolve) => {
      this.pumping.push(resolve);
      this.schedule();
    });
  }

  // One pass at a time per process, answering every caller that asked meanwhile: under load a
  // burst of workflows costs one transaction, not one each, and no pooled connection is held
  // while waiting for the advisory lock (only the pass itself waits for it, across processes).
  private schedule(): void {
    this.passes ??= this.runPasses().finally(() => {
      this.passes = null;
      if (this.asking.size > 0 || this.pumping.length > 0) this.schedule();
    });
  }

  private async runPasses(): Promise<void> {
    while (this.asking.size > 0 || this.pumping.length > 0) {
      const asking = new Map(this.asking);
      this.asking.clear();
      const pumping = this.pumping.splice(0);
      let outcome: { admitted: string[]; states: Map<string, { admitted: boolean; runnable: boolean }> };
      try {
        outcome = await this.pass([...asking.keys()]);
      } catch (error) {
        // The callers retry (the local activity's retry policy); pumps are best effort.
        this.throttle.failed('admission', (error as Error).message);
        for (const callers of asking.values()) for (const caller of callers) caller.reject(error);
        for (const resolve of pumping) resolve([]);
        continue;
      }
      this.throttle.succeeded('admission');
      for (const [runId, callers] of asking) {
        const state = outcome.states.get(runId) ?? { admitted: false, runnable: false };
        for (const caller of callers) caller.resolve(state);
      }
      for (const resolve of pumping) resolve(outcome.admitted);
      this.wake(outcome.admitted.filter((id) => !asking.has(id)));
    }
  }

  private async pass(runIds: string[]) {
    // A pass for pumps alone admits only waiting runs: with none waiting (the usual end of a run
    // when there is no queue) one read replaces the locked pass. A run that starts waiting after
    // this read asks for its own pass, which sees the capacity freed before it.
    if (runIds.length === 0 && !(await anyRunWaiting(this.deps.db))) return { admitted: [], states: new Map() };
    return this.deps.db.$transaction(async (tx) => {
      await lockAdmission(tx);
      const admitted = await admitInOrder(tx, { leaseMs: this.deps.leaseMs, maxOvertakes: this.deps.maxOvertakes });
      const states = new Map<string, { admitted: boolean; runnable: boolean }>();
      // A run this pass admitted was waiting, locked, and not ended: only the others are read.
      for (const id of admitted) states.set(id, { admitted: true, runnable: true });
      const unknown = runIds.filter((id) => !states.has(id));
      if (unknown.length > 0) {
        const rows = await tx.$queryRaw<{ id: string; status: RunStatus; admittedAt: Date | null; awaitingReadmission: boolean }[]>`
          SELECT id, status, "admittedAt", "awaitingReadmission" FROM "RoutineRun" WHERE id = ANY(${unknown}::uuid[])`;
        for (const row of rows) {
          // A RUNNING run without admittedAt began before admission existed (or was started again
          // by the reconciler): it is not held back, unless it waits to be admitted again.
          const running = row.status === 'RUNNING' && !row.awaitingReadmission;
          states.set(row.id, {
            runnable: !isTerminal(row.status),
            admitted: !isTerminal(row.status) && (row.admittedAt !== null || running),
          });
        }
      }
      return { admitted, states };
    });
  }

  private wake(runIds: string[]): void {
    if (runIds.length === 0 || !this.deps.notify) return;
    this.deps.notify(runIds).catch((error) => this.deps.log?.(`admission: could not wake runs: ${(error as Error).message}`));
  }
}

/** Whether any run waits in line (what admitInOrder would look at). */
async function anyRunWaiting(db: Db): Promise<boolean> {
  const [row] = await db.$queryRaw<{ waiting: boolean }[]>`
    SELECT EXISTS (
      SELECT 1 FROM "RoutineRun"
      WHERE ${WAITING_STATUS} AND "admittedAt" IS NULL AND "executionType" = 'BACKGROUND' AND "cancelRequestedAt" IS NULL
    ) AS waiting`;
  return row.waiting;
}

/**
 * Waits for any admission pass to finish and keeps the next from starting until `tx` ends. For a
 * writer that locks many waiting runs at once (cancelRuns): a pass locks them in line order, the
 * writer in another, and two such transactions would deadlock.
 */
export async function lockAdmission(tx: Tx): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${ADMISSION_LOCK})`;
}

async function admitInOrder(tx: Tx, { leaseMs, maxOvertakes }: { leaseMs: number; maxOvertakes: number }): Promise<string[]> {
  const liveSince = new Date(Date.now() - leaseMs);
  // The live workers' capacity and what admitted runs hold of it, in one statement (a pass runs
  // for every run that starts and every run that ends).
  const [capacity] = await tx.$queryRaw<
    { workers: number; slots: number; memory: number; largest: number | null; busySlots: number; busyMemory: number }[]
  >`
    WITH live AS (SELECT id, slots, "memoryMb" FROM "Worker" WHERE "heartbeatAt" > ${liveSince})
    SELECT (SELECT count(*)::int FROM live) AS workers,
      (SELECT coalesce(sum(slots), 0)::int FROM live) AS slots,
      (SELECT coalesce(sum("memoryMb"), 0)::int FROM live) AS memory,
      (SELECT max("memoryMb") FROM live) AS largest,
      count(run.id)::int AS "busySlots", coalesce(sum(run."memoryMb"), 0)::int AS "busyMemory"
    FROM "RoutineRun" run
    WHERE run.status IN ('QUEUED', 'RUNNING') AND run."admittedAt" IS NOT NULL
      AND (run."workerId" IS NULL OR run."workerId" IN (SELECT id FROM live))`;
  if (capacity.workers === 0) return [];
  const largest = capacity.largest ?? 0;
  let freeSlots = capacity.slots - capacity.busySlots;
  let freeMemory = capacity.memory - capacity.busyMemory;
  if (freeSlots <= 0) return [];

  // Locks the waiting rows (not SKIP LOCKED): skipping a briefly locked head would break the order.
  // The line order is priority with ageing (AGEING_SECONDS_PER_POINT); queuePositions counts in
  // the same order. The (status, admittedAt, …) index finds the waiting runs; only they are sorted.
  const waiting = await tx.$queryRaw<{ id: string; memoryMb: number; overtakenCount: number }[]>`
    SELECT id, "memoryMb", "overtakenCount" FROM "RoutineRun" run
    WHERE ${WAITING_STATUS} AND "admittedAt" IS NULL AND "executionType" = 'BACKGROUND' AND "cancelRequestedAt" IS NULL
    ORDER BY ${admissionKey('run')}, id
    LIMIT ${PASS_WINDOW}
    FOR UPDATE`;
  const admitted: string[] = [];
  // Runs passed over for memory in this pass, with how many more runs may still overtake them.
  const passedOver = new Map<string, { allowance: number; overtaken: number }>();
  for (const run of waiting) {
    if (freeSlots <= 0) break;
    // No live worker could ever hold it: it waits (visible in `capacity`) without blocking the line.
    if (run.memoryMb > largest) continue;
    if (run.memoryMb > freeMemory) {
      const allowance = maxOvertakes - run.overtakenCount;
      if (allowance <= 0) break; // it has been overtaken enough: what frees up is kept for it
      passedOver.set(run.id, { allowance, overtaken: 0 });
      continue;
    }
    const waitingAhead = [...passedOver.values()];
    if (waitingAhead.some((ahead) => ahead.overtaken >= ahead.allowance)) break;
    admitted.push(run.id);
    freeSlots -= 1;
    freeMemory -= run.memoryMb;
    for (const ahead of waitingAhead) ahead.overtaken += 1;
  }
  if (admitted.length > 0) {
    await tx.$executeRaw`UPDATE "RoutineRun" SET "admittedAt" = now(), "awaitingReadmission" = false WHERE id = ANY(${admitted}::uuid[])`;
  }
  const overtaken = [...passedOver].filter(([, ahead]) => ahead.overtaken > 0);
  if (overtaken.length > 0) {
    const ids = overtaken.map(([id]) => id);
    const counts = overtaken.map(([, ahead]) => ahead.overtaken);
    await tx.$executeRaw`
      UPDATE "RoutineRun" run SET "overtakenCount" = run."overtakenCount" + counted.n
      FROM unnest(${ids}::uuid[], ${counts}::int[]) AS counted(id, n)
      WHERE run.id = counted.id`;
  }
  return admitted;
}

/** Workers, slots and memory (busy/total) and the number of queued runs waiting. */
export async function readCapacity(db: Db, { leaseMs }: { leaseMs: number }): Promise<Capacity> {
  const liveSince = new Date(Date.now() - leaseMs);
  const workers = await db.worker.findMany({ where: { heartbeatAt: { gt: liveSince } }, orderBy: { startedAt: 'asc' } });
  const liveIds = workers.map((w) => w.id);
  const perWorker = await db.$queryRaw<{ workerId: string | null; slots: bigint; memory: bigint | null }[]>`
    SELECT "workerId", count(*) AS slots, sum("memoryMb") AS memory FROM "RoutineRun"
    WHERE status IN ('QUEUED', 'RUNNING') AND "admittedAt" IS NOT NULL
      AND ("workerId" IS NULL OR "workerId" = ANY(${liveIds}::text[]))
    GROUP BY "workerId"`;
  const [{ queued }] = await db.$queryRaw<{ queued: bigint }[]>`
    SELECT count(*) AS queued FROM "RoutineRun"
    WHERE ${WAITING_STATUS} AND "admittedAt" IS NULL AND "executionType" = 'BACKGROUND'`;
  const busyOf = (id: string) => perWorker.find((row) => row.workerId === id);
  return {
    workers: workers.map((w) => ({
      id: w.id,
      host: w.host,
      pid: w.pid,
      slots: w.slots,
      slotsBusy: Number(busyOf(w.id)?.slots ?? 0),
      memoryMb: w.memoryMb,
      memoryBusyMb: Number(busyOf(w.id)?.memory ?? 0),
      startedAt: w.startedAt,
      heartbeatAt: w.heartbeatAt,
    })),
    slotsTotal: workers.reduce((sum, w) => sum + w.slots, 0),
    // Admitted runs not yet picked up by a worker count too: their capacity is promised.
    slotsBusy: perWorker.reduce((sum, row) => sum + Number(row.slots), 0),
    memoryTotalMb: workers.reduce((sum, w) => sum + w.memoryMb, 0),
    memoryBusyMb: perWorker.reduce((sum, row) => sum + Number(row.memory ?? 0), 0),
    queued: Number(queued),
    largestWorkerMemoryMb: workers.length ? Math.max(...workers.map((w) => w.memoryMb)) : 0,
  };
}

/**
 * The place in line of each run: 1 for the next run to be admitted; null for a run that is not
 * waiting for capacity. The line is admitInOrder's: priority with ageing (AGEING_SECONDS_PER_POINT). One statement for any number of runs (a list asking for queuePosition
 * batches its runs into one call: schema/run-lifecycle.ts).
 */
export async function queuePositions(db: Db, runIds: readonly string[]): Promise<Array<number | null>> {
  if (runIds.length === 0) return [];
  const rows = await db.$queryRaw<{ id: string; position: bigint }[]>`
    SELECT run.id, (
      SELECT count(*) + 1 FROM "RoutineRun" ahead
      WHERE ahead.status = 'QUEUED' AND ahead."admittedAt" IS NULL AND ahead."executionType" = 'BACKGROUND'
        AND ahead."cancelRequestedAt" IS NULL
        AND (${admissionKey('ahead')}, ahead.id) < (${admissionKey('run')}, run.id)
    ) AS position
    FROM "RoutineRun" run
    WHERE run.id = ANY(${runIds}::uuid[]) AND run.status = 'QUEUED' AND run."admittedAt" IS NULL
      AND run."executionType" = 'BACKGROUND' AND run."cancelRequestedAt" IS NULL`;
  const byId = new Map(rows.map((row) => [row.id, Number(row.position)]));
  return runIds.map((id) => byId.get(id) ?? null);
}

/** The largest memory any live worker offers, or null when no worker is registered. */
export async function largestWorkerMemoryMb(db: Db, { leaseMs }: { leaseMs: number }): Promise<number | null> {
  const [row] = await db.$queryRaw<{ largest: number | null }[]>`
    SELECT max("memoryMb") AS largest FROM "Worker" WHERE "heartbeatAt" > ${new Date(Date.now() - leaseMs)}`;
  return row?.largest ?? null;
}

/**
 * The name of a process that executes runs: `host:pid:suffix`, where the suffix tells a worker
 * registration (random) from an API process executing in-memory runs (`api`). Recorded on the run
 * (workerId) and with its error, so a failure says where it happened.
 */
export function executorId(suffix: string): string {
  return `${hostname()}:${process.pid}:${suffix}`;
}

/** The process named by an executorId, as run errors and events record it. */
export function executorFor(workerId: string): Executor {
  return { workerId, host: executorHost(workerId) };
}

/** The process a run was last bound to (its workerId column), as recorded with a failure; null when none had begun it. */
export function executorOf(workerId: string | null): Executor | null {
  return workerId ? executorFor(workerId) : null;
}

/** The host part of an executorId. */
function executorHost(id: string): string {
  return id.split(':')[0];
}

/**
 * A worker's capacity row, heartbeated every third of the lease while the worker lives and
 * removed when it stops. Rows of workers long dead are swept by whoever heartbeats.
 */
export class WorkerRegistration {
  readonly id = executorId(randomBytes(3).toString('hex'));
  private timer: NodeJS.Timeout | null = null;
  private readonly throttle = new LogThrottle((message) => this.deps.log?.(message));

  constructor(
    private readonly deps: {
      db: Db;
      taskQueue: string;
      slots: number;
      memoryMb: number;
      leaseMs: number;
      /** Called after each heartbeat (the worker runs an admission pass). */
      onHeartbeat?: () => Promise<unknown>;
      log?: (message: string) => void;
    },
  ) {}

  async start(): Promise<void> {
    const { db, taskQueue, slots, memoryMb } = this.deps;
    await db.worker.create({ data: { id: this.id, host: hostname(), pid: process.pid, taskQueue, slots, memoryMb } });
    // A beat that fails (the database is down) lets the lease lapse: the worker's runs then hold
    // no capacity and its slots count for nothing, which stays consistent; the next beat that
    // gets through (the upsert recreates a swept row) restores both.
    const beat = async () => {
      await db.worker.upsert({
        where: { id: this.id },
        create: { id: this.id, host: hostname(), pid: process.pid, taskQueue, slots, memoryMb },
        update: { heartbeatAt: new Date() },
      });
      await db.worker.deleteMany({ where: { heartbeatAt: { lt: new Date(Date.now() - 20 * this.deps.leaseMs) } } });
      await this.deps.onHeartbeat?.();
    };
    this.timer = setInterval(
      () => {
        countedAs('worker heartbeat', beat).then(
          () => this.throttle.succeeded('worker heartbeat'),
          (error) => this.throttle.failed('worker heartbeat', (error as Error).message),
        );
      },
      Math.max(300, Math.floor(this.deps.leaseMs / 3)),
    );
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.deps.db.worker.deleteMany({ where: { id: this.id } }).catch(() => {});
  }
}
