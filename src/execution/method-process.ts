// The child process a method runs in, forked by sandbox.ts. It runs one attempt at a time and
// reports progress, logs and artifacts over IPC. Alone (no pool) it exits as soon as it has said
// how the attempt ended; a pooled process (reusable-process.ts) asks it to stay for the next run
// of its routines, which it does only if the attempt completed and run-isolation.ts could put the
// process back as it was.
import { setTimeout as delay } from 'node:timers/promises';
import { format } from 'node:util';
import { SpanStatusCode } from '@opentelemetry/api';
import { loadEnv } from '../env.ts';
import {
  contextFromCarrier,
  flushTracing,
  initTracing,
  inSpan,
  METHOD_ATTRIBUTE,
  ROUTINE_ATTRIBUTE,
  RUN_ID_ATTRIBUTE,
} from '../observability/tracing.ts';
import { loadRoutineRegistry } from '../routines/registry.ts';
import {
  clampPercent,
  methodOf,
  RunCancelledError,
  type ArtifactInput,
  type MethodContext,
  type RoutineDefinition,
  type TableData,
} from '../routines/sdk.ts';
import { ArtifactStore, type StoredArtifact } from '../storage/artifact-store.ts';
import {
  freshRoutineModule,
  MAX_RSS_GROWTH_MB,
  restoreProcessState,
  RunMeter,
  snapshotProcessState,
  type ProcessState,
} from './run-isolation.ts';
import type { MethodExecutionRequest, MethodFailure, RunResourceUsage } from './types.ts';

// ---- The IPC protocol (the parent imports these as types only) ----

export type ParentMessage =
  | {
      type: 'start';
      request: MethodExecutionRequest;
      /** The W3C trace context (traceparent, tracestate) of the attempt; present only with tracing on. */
      traceContext?: Record<string, string>;
      /** Stay for another run afterwards if this one completes cleanly (a pooled process). */
      reuse?: boolean;
    }
  /** The pool does not want this process for another run: exit. */
  | { type: 'retire' }
  | { type: 'cancel' }
  | { type: 'artifactAck'; id: number; error: string | null };

export type ChildOutcome =
  { status: 'COMPLETED'; outputs: Record<string, unknown> } | { status: 'FAILED'; error: MethodFailure } | { status: 'CANCELLED' };

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'progress'; percent: number; message: string | null }
  | { type: 'log'; level: string; message: string }
  | { type: 'artifact'; id: number; artifact: StoredArtifact }
  /** `reusable`: the process stays and waits for the next `start`; else it exits after this message. */
  | { type: 'done'; outcome: ChildOutcome; resources: RunResourceUsage; reusable: boolean; notReusedBecause?: string };

// Exit code when the parent vanished: nobody is left to report to, so the work is pointless.
const EXIT_PARENT_GONE = 70;
/** A collector that does not answer delays a run's answer this long at most; its span is lost. */
const TRACE_FLUSH_LIMIT_MS = 2000;
const LOG_LEVELS = new Set(['debug', 'info', 'warn', 'error']);

if (!process.send) {
  throw new Error('method-process.ts must be started by the sandbox (child_process.fork with IPC)');
}

/** The attempt under way: one at a time. */
interface Attempt {
  controller: AbortController;
  pendingAcks: Map<number, { resolve: () => void; reject: (error: Error) => void }>;
  pendingWrites: Set<Promise<unknown>>;
  meter: RunMeter;
  before: ProcessState;
  reuse: boolean;
  finished: boolean;
  crashesAtStart: number;
}
let attempt: Attempt | null = null;
let runsServed = 0;
let nextArtifactId = 1;
/** An error thrown while loading, before any run: the first run reports it. */
let failedBeforeStart: ChildOutcome | null = null;
let rssWhenReadyBytes = 0;
let crashes = 0;

function send(message: ChildMessage): void {
  // The channel is gone only when the parent is; the 'disconnect' handler exits.
  if (process.connected) process.send!(message, undefined, undefined, () => {});
}

// Console output from routine code travels as log lines on the same channel, so it stays in
// order with progress instead of racing it through a separate pipe.
for (const [method, level] of [
  ['log', 'info'],
  ['info', 'info'],
  ['debug', 'debug'],
  ['warn', 'warn'],
  ['error', 'error'],
] as const) {
  // eslint-disable-next-line no-console -- the method's console is replaced on purpose: its lines become run logs
  console[method] = (...args: unknown[]) => send({ type: 'log', level, message: format(...args) });
}

process.on('disconnect', () => process.exit(EXIT_PARENT_GONE));
process.on('uncaughtException', (error) => crashed(error));
process.on('unhandledRejection', (reason) => crashed(reason));

function crashed(error: unknown): void {
  crashes++;
  if (attempt) return void finish({ outcome: failureOutcome(error), reusable: false });
  // Between runs: something a finished run started failed late. Nobody's run is to blame, and a
  // process in that state must not serve another.
  if (runsServed > 0) process.exit(1);
  failedBeforeStart ??= failureOutcome(error);
}

process.on('message', (raw) => {
  const message = raw as ParentMessage;
  switch (message.type) {
    case 'start': {
      if (attempt) return;
      runsServed++;
      const before = snapshotProcessState();
      attempt = {
        controller: new AbortController(),
        pendingAcks: new Map(),
        pendingWrites: new Set(),
        meter: new RunMeter(),
        before,
        reuse: message.reuse === true,
        finished: false,
        crashesAtStart: crashes,
      };
      if (failedBeforeStart) return void finish({ outcome: failedBeforeStart, reusable: false });
      void traced(message, () => run(message)).then((outcome) => finish({ outcome, reusable: true }));
      return;
    }
    case 'retire':
      if (!attempt) process.exit(0);
      return;
    case 'cancel':
      attempt?.controller.abort(new RunCancelledError());
      return;
    case 'artifactAck': {
      const pending = attempt?.pendingAcks.get(message.id);
      attempt?.pendingAcks.delete(message.id);
      if (message.error === null) pending?.resolve();
      else pending?.reject(new Error(`Recording artifact failed: ${message.error}`));
      return;
    }
  }
});

// A pooled process is started before its run is known: load the routines now (the slow part of
// a start: zod and each routine's dependencies), and say 'ready' when they are loaded. The
// folders come as arguments, as this process loads them (from the sources, or transpiled by
// method-process-build.ts); `start` hits the registry's cache.
const routineDirs = process.argv.slice(2);
const preload = loadRoutineRegistry({ extraDirs: routineDirs }).catch(() => null);
// The tracer too (only with OTEL_* set, as in the service that forked this process): its span is
// this process's own, exported before it answers.
const tracing = Promise.resolve()
  .then(() => initTracing(loadEnv(), 'routine-runs-method'))
  .catch(() => null);
void Promise.all([preload, tracing]).then(() => {
  rssWhenReadyBytes = process.memoryUsage.rss();
  send({ type: 'ready' });
});

/**
 * Runs the method in a span continuing the attempt's trace, and exports the span before the
 * outcome is sent: the process exits right after it, taking unexported spans with it.
 */
async function traced(message: Extract<ParentMessage, { type: 'start' }>, work: () => Promise<ChildOutcome>): Promise<ChildOutcome> {
  const { request, traceContext } = message;
  if (!traceContext || !(await tracing)) return work();
  const outcome = await inSpan(
    `${request.routineName}.${request.methodName}`,
    {
      parent: contextFromCarrier(traceContext),
      attributes: {
        [RUN_ID_ATTRIBUTE]: request.runId,
        [ROUTINE_ATTRIBUTE]: request.routineName,
        [METHOD_ATTRIBUTE]: request.methodName,
        'run.attempt': request.attempt,
      },
    },
    async (span) => {
      const ended = await work();
      span.setAttribute('run.outcome', ended.status);
      if (ended.status === 'FAILED') span.setStatus({ code: SpanStatusCode.ERROR, message: ended.error.message });
      return ended;
    },
  );
  // The limit's timer is cleared, so that it does not count as work the run left behind.
  const limit = new AbortController();
  await Promise.race([flushTracing().catch(() => {}), delay(TRACE_FLUSH_LIMIT_MS, undefined, { signal: limit.signal }).catch(() => {})]);
  limit.abort();
  return outcome;
}

async function run({ request }: { request: MethodExecutionRequest }): Promise<ChildOutcome> {
  try {
    const registry = await loadRoutineRegistry({ extraDirs: routineDirs });
    let routine = registry.get(request.routineName);
    // The first run uses the instance loaded ahead of it, untouched so far; later runs in this
    // process get one of their own, so module-level state of a run never reaches the next.
    const origin = registry.origin(request.routineName);
    if (routine && origin && runsServed > 1) routine = (await freshRoutineModule(origin, runsServed)) as RoutineDefinition;
    const method = methodOf(routine, request.methodName);
    if (!routine || !method) {
      return failed({
        type: 'MethodNotFoundError',
        message: `No method ${request.routineName}.${request.methodName} on this worker`,
        retryable: false,
        phase: 'VALIDATION',
      });
    }
    if (routine.version !== request.routineVersion) {
      send({
        type: 'log',
        level: 'warn',
        message: `Run was created for ${routine.name} ${request.routineVersion}; this worker has ${routine.version}`,
      });
    }

    const parsed = method.input.safeParse(request.inputs);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`).join('; ');
      return failed({ type: 'ValidationError', message: problems, retryable: false, phase: 'VALIDATION' });
    }

    const outputs = await method.run(createContext({ request, current: attempt! }), parsed.data);
    // A write the method forgot to await must still be recorded before the run completes.
    await Promise.all(attempt!.pendingWrites);
    if (typeof outputs !== 'object' || outputs === null || Array.isArray(outputs)) {
      return failed({
        type: 'InvalidOutputError',
        message: 'A method must return an object of outputs',
        retryable: false,
        phase: 'METHOD',
      });
    }
    return { status: 'COMPLETED', outputs };
  } catch (error) {
    return failureOutcome(error);
  }
}

function createContext({ request, current }: { request: MethodExecutionRequest; current: Attempt }): MethodContext {
  const { controller, pendingAcks, pendingWrites } = current;
  const store = new ArtifactStore({ rootDir: request.storageRoot });
  let lastMessage: string | null = null;

  const log = (level: 'debug' | 'info' | 'warn' | 'error', message: string) =>
    send({ type: 'log', level: LOG_LEVELS.has(level) ? level : 'info', message: String(message) });

  // The parent answers once the artifact is recorded; only then may the method go on (and end).
  const record = (artifact: StoredArtifact) =>
    new Promise<void>((resolve, reject) => {
      const id = nextArtifactId++;
      pendingAcks.set(id, { resolve, reject });
      send({ type: 'artifact', id, artifact });
    });

  const tracked = (write: () => Promise<StoredArtifact | null>): Promise<void> => {
    const promise = storagePhase(write().then((artifact) => (artifact ? record(artifact) : undefined)));
    pendingWrites.add(promise);
    // Only successful writes leave the set: a failed write fails the run even if the method
    // forgot to await it.
    promise.then(
      () => pendingWrites.delete(promise),
      () => {},
    );
    return promise;
  };

  const skipped = (name: string) => {
    log('info', `storeArtifacts is false: artifact ${name} was not saved`);
    return Promise.resolve(null);
  };

  const common = {
    instanceId: request.instanceId,
    runId: request.runId,
    includePreview: request.includePreviews,
    includeStatistics: request.includeStatistics,
  };
  // A length the method sets on one artifact wins: its author knows that artifact's shape.
  const previewRows = (options?: ArtifactInput) => options?.previewRows ?? request.previewRows ?? undefined;

  return {
    runId: request.runId,
    instanceId: request.instanceId,
    attempt: request.attempt,
    memoryMb: request.memoryMb,
    instanceConfig: request.instanceConfig,
    resumeFrom: request.resumeFrom ?? null,
    signal: controller.signal,
    progress(percent, message) {
      // A progress call without a message keeps the current one, so every event carries it.
      if (message !== undefined) lastMessage = message;
      send({ type: 'progress', percent: clampPercent(percent), message: lastMessage });
    },
    log,
    readTable(ref) {
      return storagePhase(store.readTable(ref.path));
    },
    writeTable(name: string, table: TableData, options) {
      return tracked(() =>
        request.storeArtifacts
          ? store.writeTable({ ...common, name, table, metadata: options?.metadata, previewRows: previewRows(options) })
          : skipped(name),
      );
    },
    writeJson(name: string, value: unknown, options) {
      return tracked(() =>
        request.storeArtifacts
          ? store.writeJson({ ...common, name, value, metadata: options?.metadata, previewRows: previewRows(options) })
          : skipped(name),
      );
    },
    throwIfCancelled() {
      if (controller.signal.aborted) throw new RunCancelledError();
    },
  };
}

function failed(error: MethodFailure): ChildOutcome {
  return { status: 'FAILED', error };
}

// An error from the artifact store keeps that origin even when the method rethrows it, so the
// run's error can say the failure was in storage rather than in the method's own code.
const STORAGE_FAILURE = Symbol('storage failure');
function storagePhase<T>(operation: Promise<T>): Promise<T> {
  return operation.catch((error: unknown) => {
    if (error !== null && typeof error === 'object') (error as Record<symbol, unknown>)[STORAGE_FAILURE] = true;
    throw error;
  });
}

function failureOutcome(error: unknown): ChildOutcome {
  // Whatever a cancelled method throws on its way out (RunCancelledError, an AbortError from a
  // fetch it passed the signal to) is the cancellation, not a failure.
  if (attempt?.controller.signal.aborted) return { status: 'CANCELLED' };
  if (error instanceof Error) {
    const nonRetryable = (error as { nonRetryable?: unknown }).nonRetryable === true;
    const type = (error as { type?: unknown }).type;
    return failed({
      type: nonRetryable && typeof type === 'string' ? type : error.name || 'Error',
      message: error.message,
      retryable: !nonRetryable,
      phase: (error as unknown as Record<symbol, unknown>)[STORAGE_FAILURE] ? 'ARTIFACT_STORAGE' : 'METHOD',
    });
  }
  return failed({ type: 'Error', message: String(error), retryable: true, phase: 'METHOD' });
}

async function finish({ outcome, reusable: reusableRun }: { outcome: ChildOutcome; reusable: boolean }): Promise<void> {
  const current = attempt;
  if (!current || current.finished) return;
  current.finished = true;
  const resources: RunResourceUsage = current.meter.stop();
  if (!process.connected) process.exit(EXIT_PARENT_GONE);
  let reusable = current.reuse && reusableRun && outcome.status === 'COMPLETED';
  let notReusedBecause: string | null = null;
  if (reusable) {
    // Let what the run's last await released settle before looking for leftovers.
    await new Promise((resolve) => setImmediate(resolve));
    const problem =
      (crashes !== current.crashesAtStart ? 'an error was thrown after the run ended' : null) ??
      restoreProcessState(current.before) ??
      rssGrowthProblem();
    // The reason goes with the outcome, not into the run's logs: it is about the process.
    if (problem) {
      reusable = false;
      notReusedBecause = problem;
    }
  }
  if (reusable) {
    attempt = null;
    send({ type: 'done', outcome, resources, reusable });
    return;
  }
  // Exit explicitly once the message is written: a timer or socket the method left open must
  // not keep a finished run's process alive.
  const done: ChildMessage = { type: 'done', outcome, resources, reusable, ...(notReusedBecause ? { notReusedBecause } : {}) };
  process.send!(done, undefined, undefined, () => process.exit(0));
}

function rssGrowthProblem(): string | null {
  const grownMb = (process.memoryUsage.rss() - rssWhenReadyBytes) / (1024 * 1024);
  return grownMb > MAX_RSS_GROWTH_MB ? `its memory grew by ${Math.round(grownMb)} MB` : null;
}
