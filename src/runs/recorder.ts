// What the executing side (the Temporal activity, or the API for in-memory runs) records
// about a run while it executes: attempts, progress, logs, artifacts and the outcome.
// Status changes go through the state machine; everything else is an appended run event.
import { countedAs, type Db } from '../db/client.ts';
import { untilReachable } from '../db/unreachable.ts';
import { LogThrottle } from '../log-throttle.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { RunStatus } from '../generated/prisma/enums.ts';
import type { MethodFailure, RunResourceUsage } from '../execution/types.ts';
import type { ArtifactStore, StoredArtifact } from '../storage/artifact-store.ts';
import { executorOf } from './admission.ts';
import { retryOnDeadlock } from './deadlock.ts';
import type { LogEntry } from './progress-writer.ts';
import { appendRunEvent, appendRunEventInTx } from './run-events.ts';
import { DEFAULT_ERROR_PHASE } from './run-error.ts';
import { isTerminal, transitionRunInTx, type TransitionSubject } from './state-machine.ts';
import { attemptsFailed } from '../observability/metrics.ts';

const runForExecution = {
  include: { instance: true, routine: true },
} satisfies Prisma.RoutineRunDefaultArgs;

export type RunForExecution = Prisma.RoutineRunGetPayload<typeof runForExecution>;

/**
 * What a run produced is the user's, and PostgreSQL being away is not the run's failure: every
 * recording waits (with backoff) while the database is unreachable instead of failing the attempt,
 * and the caller keeps its method's result meanwhile. Other errors fail at once, as before.
 *
 * A write whose commit went through but whose reply was lost with the connection is tried again;
 * so that the retry does not append the same event twice, each write fixes its event's `at`
 * before the first try, and a retry first looks for its own event (run, type, at, and what it
 * carries) and stops if it is there. Status changes need no such check: the state machine refuses
 * a transition the run already made.
 */
export class RunRecorder {
  private readonly throttle: LogThrottle;

  /** Where a constructor's new config version is filed (internalvars_); none: the database only (benchmarks). */
  private readonly storage: ArtifactStore | null;

  constructor(
    private readonly db: Db,
    { log = () => {}, storage = null }: { log?: (message: string) => void; storage?: ArtifactStore | null } = {},
  ) {
    this.throttle = new LogThrottle(log);
    this.storage = storage;
  }

  /** Whether a recording is waiting for the database right now, and who wants to hear when one starts to. */
  private databaseAway = false;
  private readonly awayListeners = new Set<() => void>();

  /**
   * Resolves once a recording finds the database unreachable (at once if one is waiting now); the
   * returned `cancel` forgets the caller. Lets a method go on while what it reported waits.
   */
  whenDatabaseAway(): { away: Promise<void>; cancel: () => void } {
    let listener = () => {};
    const away = new Promise<void>((resolve) => {
      listener = resolve;
      if (this.databaseAway) resolve();
      else this.awayListeners.add(listener);
    });
    return { away, cancel: () => this.awayListeners.delete(listener) };
  }

  /** Runs one recording until the database takes it (see the class comment). */
  private recording<T>(phase: string, what: string, write: (retried: boolean) => Promise<T>): Promise<T> {
    const key = 'run recording: database unreachable, waiting to record';
    return countedAs(phase, () =>
      untilReachable(write, {
        onUnreachable: (error) => {
          this.throttle.failed(key, `${what}: ${reasonOf(error)}`);
          this.databaseAway = true;
          for (const listener of this.awayListeners) listener();
          this.awayListeners.clear();
        },
        onRecovered: () => {
          this.databaseAway = false;
          this.throttle.succeeded(key);
        },
      }),
    );
  }

  /**
   * Marks the start of an attempt. Returns the run to execute, or null when the run must not
   * execute (it already reached a terminal state, e.g. cancelled while queued).
   */
  async beginAttempt({
    runId,
    attempt,
    workerId = null,
    workflowId = null,
  }: {
    runId: string;
    attempt: number;
    /** The worker executing it: the run holds that worker's capacity (src/runs/admission.ts). */
    workerId?: string | null;
    /**
     * The workflow executing it. The launcher records it too, but after the start returns, which
     * may be later than this: a RUNNING run always names its workflow (the reconciler needs it).
     */
    workflowId?: string | null;
  }): Promise<RunForExecution | null> {
    // Idempotent: a retry finds the run RUNNING in this attempt, bound to this worker.
    return this.recording('attempt begin', `run ${runId} attempt ${attempt} start`, () =>
      retryOnDeadlock(() => this.beginAttemptTx({ runId, attempt, workerId, workflowId })),
    );
  }

  private beginAttemptTx({
    runId,
    attempt,
    workerId,
    workflowId,
  }: {
    runId: string;
    attempt: number;
    workerId: string | null;
    workflowId: string | null;
  }) {
    return this.db.$transaction(async (tx) => {
      const run = await tx.routineRun.findUnique({ where: { id: runId }, ...runForExecution });
      // Deleted, or already terminal (cancelled while queued, settled elsewhere): nothing to do.
      if (!run || isTerminal(run.status)) return null;
      if (run.status === RunStatus.QUEUED || run.status === RunStatus.CREATED) {
        if (run.status === RunStatus.CREATED) {
          await transitionRunInTx(tx, { runId, to: RunStatus.QUEUED, reason: 'started by its workflow' });
        }
        const started = await transitionRunInTx(
          tx,
          { runId, to: RunStatus.RUNNING, set: { attempt, workerId, ...(workflowId ? { workflowId } : {}) }, detail: { attempt } },
          run.status === RunStatus.QUEUED ? transitionSubject(run) : undefined,
        );
        // The common start (QUEUED → RUNNING, as read): the run is what was read plus what the
        // transition wrote, without reading it again.
        if (run.status === RunStatus.QUEUED && started.changed && started.at) {
          return {
            ...run,
            status: RunStatus.RUNNING,
            attempt,
            workerId,
            workflowId: workflowId ?? run.workflowId,
            startedAt: started.at,
            updatedAt: started.at,
            lastSequence: started.sequence,
          };
        }
      } else if (run.attempt < attempt) {
        // The previous attempt ended without recording why: its worker died or timed out.
        const recorded = await tx.runEvent.count({
          where: { runId, type: 'ATTEMPT_FAILED', detail: { path: ['attempt'], equals: run.attempt } },
        });
        if (recorded === 0 && run.attempt > 0) {
          // Where it was lost: the process that ran the previous attempt, as on any other failure.
          const lost: MethodFailure = {
            type: 'ATTEMPT_LOST',
            message: 'The attempt stopped reporting (worker lost or timed out) and is retried',
            retryable: true,
            phase: 'PROCESS',
          };
          const executor = executorOf(run.workerId);
          await appendRunEventInTx(tx, {
            runId,
            type: 'ATTEMPT_FAILED',
            detail: {
              attempt: run.attempt,
              errorType: lost.type,
              message: lost.message,
              retryable: lost.retryable,
              ...whereDetail(lost, executor),
            },
          });
        }
        await tx.routineRun.update({ where: { id: runId }, data: { attempt, workerId } });
      } else if (run.workerId !== workerId) {
        await tx.routineRun.update({ where: { id: runId }, data: { workerId } });
      }
      return tx.routineRun.findUniqueOrThrow({ where: { id: runId }, ...runForExecution });
    });
  }

  async progress({ runId, percent, message }: { runId: string; percent: number; message: string | null }) {
    const at = new Date();
    // One statement, atomic by itself: no transaction around it (src/runs/run-events.ts).
    await this.recording('progress', `run ${runId} progress`, async (retried) => {
      if (retried && (await hasEvent(this.db, { runId, type: 'PROGRESS', at, progressPercent: percent, progressMessage: message }))) return;
      await appendRunEvent(this.db, { runId, type: 'PROGRESS', onlyIfStatus: [RunStatus.RUNNING], progress: { percent, message }, at });
    });
  }

  /**
   * Log entries of an attempt, in order, in one transaction: each is a RunLog row and the LOG
   * event that streams it, so a subscriber replaying events sees every entry exactly once.
   */
  async logs({ runId, attempt, entries }: { runId: string; attempt: number; entries: LogEntry[] }) {
    if (entries.length === 0) return;
    const rows = entries.map((entry) => ({
      runId,
      attempt,
      level: entry.level,
      lines: entry.lines,
      at: entry.at,
      // PostgreSQL text cannot hold NUL; a method's stray byte must not cost its logs.
      message: entry.message.replaceAll('\u0000', '\uFFFD'),
    }));
    // Each entry and its event are one statement; a single entry (the usual write) needs no
    // transaction around it.
    await this.recording('logs', `run ${runId} logs`, async (retried) => {
      if (retried && (await this.db.runLog.findFirst({ where: rows[0], select: { id: true } }))) return;
      if (rows.length === 1) {
        await appendRunEvent(this.db, { runId, type: 'LOG', log: rows[0], at: rows[0].at });
        return;
      }
      await this.db.$transaction(async (tx) => {
        for (const row of rows) await appendRunEventInTx(tx, { runId, type: 'LOG', log: row, at: row.at });
      });
    });
  }

  /** Idempotent per (run, name): a retried attempt that stores the same artifact replaces it. */
  async artifact({ runId, artifact }: { runId: string; artifact: StoredArtifact }) {
    const data = {
      path: artifact.path,
      contentType: artifact.contentType,
      sizeBytes: BigInt(artifact.sizeBytes),
      checksum: artifact.checksum,
      metadata: artifact.metadata as Prisma.InputJsonValue,
      preview: (artifact.preview ?? undefined) as Prisma.InputJsonValue | undefined,
      statistics: (artifact.statistics ?? undefined) as Prisma.InputJsonValue | undefined,
    };
    const at = new Date();
    const event = { name: artifact.name, path: artifact.path, sizeBytes: artifact.sizeBytes, checksum: artifact.checksum };
    await this.recording('artifacts', `run ${runId} artifact ${artifact.name}`, (retried) =>
      this.db.$transaction(async (tx) => {
        if (retried && (await hasEvent(tx, { runId, type: 'ARTIFACT_STORED', at, detail: { path: ['name'], equals: artifact.name } })))
          return;
        await tx.artifact.upsert({
          where: { runId_name: { runId, name: artifact.name } },
          create: { runId, name: artifact.name, ...data },
          update: data,
        });
        await appendRunEventInTx(tx, { runId, type: 'ARTIFACT_STORED', detail: event, at });
      }),
    );
  }

  async attemptFailed({
    runId,
    attempt,
    error,
    executor = null,
  }: {
    runId: string;
    attempt: number;
    error: MethodFailure;
    executor?: Executor | null;
  }) {
    const at = new Date();
    await this.recording('attempt failed', `run ${runId} attempt ${attempt} failure`, (retried) =>
      this.db.$transaction(async (tx) => {
        if (retried && (await hasEvent(tx, { runId, type: 'ATTEMPT_FAILED', at }))) return;
        await appendRunEventInTx(tx, {
          runId,
          type: 'ATTEMPT_FAILED',
          onlyIfStatus: [RunStatus.RUNNING],
          set: errorColumns(error, attempt, executor),
          detail: { attempt, errorType: error.type, message: error.message, retryable: error.retryable, ...whereDetail(error, executor) },
          at,
        });
      }),
    );
    attemptsFailed.inc();
  }

  /**
   * An attempt ran out of its memory and the method asks for more (retry.memoryGrowth): the
   * attempt's failure, and in the same transaction the run gives its capacity back and waits to be
   * admitted again with `nextMemoryMb` (its workflow asks; src/runs/admission.ts). A retry never
   * runs with more memory than admission gave it.
   */
  async attemptNeedsMoreMemory({
    runId,
    attempt,
    error,
    memoryMb,
    nextMemoryMb,
    executor = null,
  }: {
    runId: string;
    attempt: number;
    error: MethodFailure;
    /** The memory the attempt had. */
    memoryMb: number;
    nextMemoryMb: number;
    executor?: Executor | null;
  }) {
    const at = new Date();
    await this.recording('attempt failed', `run ${runId} attempt ${attempt} out of memory`, (retried) =>
      this.db.$transaction(async (tx) => {
        if (retried && (await hasEvent(tx, { runId, type: 'ATTEMPT_FAILED', at }))) return;
        await appendRunEventInTx(tx, {
          runId,
          type: 'ATTEMPT_FAILED',
          onlyIfStatus: [RunStatus.RUNNING],
          set: { ...errorColumns(error, attempt, executor), memoryMb: nextMemoryMb, admittedAt: null, awaitingReadmission: true },
          detail: {
            attempt,
            errorType: error.type,
            message: error.message,
            retryable: error.retryable,
            memoryMb,
            nextMemoryMb,
            ...whereDetail(error, executor),
          },
          at,
        });
      }),
    );
    attemptsFailed.inc();
  }

  async complete({ run, outputs, resources }: { run: RunForExecution; outputs: Record<string, unknown>; resources: RunResourceUsage }) {
    return this.recording('completion', `run ${run.id} completion`, () => this.completeTx({ run, outputs, resources }));
  }

  private completeTx({ run, outputs, resources }: { run: RunForExecution; outputs: Record<string, unknown>; resources: RunResourceUsage }) {
    return this.db.$transaction(async (tx) => {
      const result = await transitionRunInTx(
        tx,
        { runId: run.id, to: RunStatus.COMPLETED, set: { outputs: outputs as Prisma.InputJsonValue, ...resourceColumns(resources) } },
        transitionSubject(run),
      );
      if (result.changed && run.methodKind === 'CONSTRUCTOR') {
        // A constructor's outputs become the instance configuration, and the latest completed
        // constructor wins. The write is compare-and-set on stateVersion (read under the row
        // lock), so two completing constructors cannot interleave config, constructedAt and
        // constructedByRunId: one whole state replaces the other.
        const [instance] = await tx.$queryRaw<{ stateVersion: number }[]>`
          SELECT "stateVersion" FROM "RoutineInstance" WHERE id = ${run.instanceId}::uuid FOR UPDATE`;
        const version = instance.stateVersion + 1;
        // The version's file is written under the row lock, before the commit: no one else can
        // write this version meanwhile, and a committed version always has its file (a write
        // whose commit then fails leaves a file the next writer of the version replaces).
        await this.storage?.writeConfigVersion({ instanceId: run.instanceId, version, config: outputs });
        const written = await tx.routineInstance.updateMany({
          where: { id: run.instanceId, stateVersion: instance.stateVersion },
          data: {
            config: outputs as Prisma.InputJsonValue,
            constructedAt: new Date(),
            constructedByRunId: run.id,
            stateVersion: version,
          },
        });
        if (written.count !== 1) throw new Error(`Instance ${run.instanceId} state changed during the write; retried`);
      }
      return result;
    });
  }

  async fail({
    runId,
    attempt,
    error,
    resources,
    actorId = null,
    executor = null,
  }: {
    runId: string;
    attempt: number;
    error: MethodFailure;
    resources?: RunResourceUsage;
    actorId?: string | null;
    /** The worker (or API process) that executed the attempt; null when none did. */
    executor?: Executor | null;
  }) {
    return this.recording('run failed', `run ${runId} failure`, () =>
      this.db.$transaction(async (tx) => {
        // A run whose first attempt never began (its activity timed out or could not reach the
        // database) goes QUEUED → FAILED: RUNNING would claim the method started.
        return transitionRunInTx(tx, {
          runId,
          to: RunStatus.FAILED,
          actorId,
          reason: error.message,
          set: { ...errorColumns(error, attempt, executor), ...(resources ? resourceColumns(resources) : {}) },
          detail: { errorType: error.type, attempt, ...whereDetail(error, executor) },
        });
      }),
    );
  }

  async cancelled({ runId, resources, reason }: { runId: string; resources?: RunResourceUsage; reason?: string }) {
    return this.recording('cancelled', `run ${runId} cancellation`, () =>
      this.db.$transaction(async (tx) => {
        const run = await tx.routineRun.findUniqueOrThrow({
          where: { id: runId },
          select: { cancelReason: true, cancelRequestedById: true },
        });
        return transitionRunInTx(tx, {
          runId,
          to: RunStatus.CANCELLED,
          actorId: run.cancelRequestedById,
          reason: reason ?? run.cancelReason ?? 'cancelled',
          set: resources ? resourceColumns(resources) : {},
        });
      }),
    );
  }
}

/** What a transition needs of a run the worker has just read (src/runs/state-machine.ts). */
function transitionSubject(run: RunForExecution): TransitionSubject {
  return {
    status: run.status,
    startedAt: run.startedAt,
    queuedAt: run.queuedAt,
    methodName: run.methodName,
    routineName: run.routine.name,
  };
}

/** Whether the run already has this event: a retried write whose first try committed. */
async function hasEvent(tx: Prisma.TransactionClient, where: Prisma.RunEventWhereInput & { runId: string; at: Date }): Promise<boolean> {
  return (await tx.runEvent.findFirst({ where, select: { id: true } })) !== null;
}

function reasonOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).trim().split('\n').at(-1)!.slice(0, 300);
}

/** Who executed an attempt: a worker's capacity id (or an API process's), and its host. */
export interface Executor {
  workerId: string | null;
  host: string | null;
}

/** The error columns of a run: what failed, in which attempt, and where (phase, worker, host). */
export function errorColumns(error: MethodFailure, attempt: number, executor: Executor | null): Prisma.RoutineRunUpdateInput {
  return {
    errorType: error.type,
    errorMessage: error.message,
    errorAttempt: attempt,
    errorRetryable: error.retryable,
    errorAt: new Date(),
    errorPhase: error.phase ?? DEFAULT_ERROR_PHASE,
    errorWorkerId: executor?.workerId ?? null,
    errorHost: executor?.host ?? null,
    errorSuggestedMemoryMb: error.suggestedMemoryMb ?? null,
  };
}

function whereDetail(error: MethodFailure, executor: Executor | null) {
  return { phase: error.phase ?? DEFAULT_ERROR_PHASE, workerId: executor?.workerId ?? null, host: executor?.host ?? null };
}

function resourceColumns(resources: RunResourceUsage): Prisma.RoutineRunUpdateInput {
  return { peakMemoryMb: resources.peakMemoryMb, cpuTimeMs: resources.cpuTimeMs };
}
