// Hands queued background runs to Temporal. createRun and startRun commit the QUEUED run and
// answer at once; the workflow is started right after, off the request path (`launchSoon`). The
// workflow id is derived from the run id and a second start of the same id is refused, so a
// launch that is retried (after a timeout, by the sweeper, by another API process) can never
// start a run twice. A start that fails, or a process that dies between the commit and the
// start, leaves a QUEUED run without a workflow: the sweeper of any API process launches it
// within SWEEP_INTERVAL_MS + SWEEP_GRACE_MS.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { countedAs, type Db } from '../db/client.ts';
import { LogThrottle } from '../log-throttle.ts';
import { methodSignatures } from '../db/json-columns.ts';
import { METHOD_ATTRIBUTE, ROUTINE_ATTRIBUTE, RUN_ID_ATTRIBUTE, inSpan } from '../observability/tracing.ts';
import { DEFAULT_RETRY, DEFAULT_TIMEOUT_MS } from '../routines/sdk.ts';
import { runWorkflow } from '../../workflows/run.workflow.ts';
import { workflowIdForRun, type RunWorkflowInput } from '../../workflows/shared.ts';

const LAUNCH_TIMEOUT_MS = 3000;
/**
 * Temporal's start-to-close limit of an attempt is the method's timeoutMs plus this. The sandbox
 * enforces timeoutMs itself from the moment the method's process is ready, and records TIMEOUT
 * (phase PROCESS); Temporal's limit is only a backstop. With no margin Temporal timed attempts out
 * first, and each was recorded lost, then interrupted, instead (test/claims-execution.test.ts).
 * It must cover a cold method process's start on a loaded host (seen above 10 s); a hung worker
 * is found by the heartbeat timeout instead, so a long margin delays nothing.
 */
const ATTEMPT_TIMEOUT_MARGIN_MS = 60_000;
export const SWEEP_INTERVAL_MS = 2000;
/** A run queued this recently may still be launching in the process that queued it. */
const SWEEP_GRACE_MS = 2000;

export class RunLauncher {
  private sweeper: NodeJS.Timeout | null = null;
  /** Launches under way in this process, so the sweeper and a retry join them instead of racing. */
  private readonly launching = new Map<string, Promise<boolean>>();
  /** With the database or Temporal down, every sweep and launch fails alike: one line, then summaries. */
  private readonly throttle = new LogThrottle((message) => this.deps.log(message));

  constructor(
    private readonly deps: {
      db: Db;
      client: Client;
      taskQueue: string;
      log: (message: string) => void;
    },
  ) {}

  /** The Temporal client runs are launched with. */
  get client(): Client {
    return this.deps.client;
  }

  /**
   * Starts the run's workflow without making the caller wait for Temporal. Never throws: a start
   * that fails is retried by the sweeper. The start waits for the current turn of the event loop
   * to end: the caller gets on with its answer first, instead of sharing the event loop from the
   * start with the workflow start and (in a process that is also a worker) the run's first
   * activities. The deferred start still runs in the caller's trace context (the createRun
   * request's span), so the workflow start and everything after it join that request's trace;
   * a run the sweeper launches starts a trace of its own.
   */
  launchSoon(runId: string): void {
    void this.launch(runId, { defer: true });
  }

  /** Returns true when the run's workflow exists (started now or before). Never throws. */
  launch(runId: string, { defer = false }: { defer?: boolean } = {}): Promise<boolean> {
    let launching = this.launching.get(runId);
    if (!launching) {
      const turn = defer ? new Promise<void>((resolve) => setImmediate(resolve)) : Promise.resolve();
      launching = turn
        .then(() => countedAs('launch', () => this.start(runId)))
        .then(
          (started) => {
            this.throttle.succeeded('run launch');
            return started;
          },
          (error) => {
            this.throttle.failed(
              'run launch',
              `run ${runId}: could not start its workflow yet (${(error as Error).message}); it stays QUEUED and is retried`,
            );
            return false;
          },
        )
        .finally(() => this.launching.delete(runId));
      this.launching.set(runId, launching);
    }
    return launching;
  }

  private async start(runId: string): Promise<boolean> {
    const { db, client, taskQueue } = this.deps;
    const run = await db.routineRun.findUnique({
      where: { id: runId },
      select: { id: true, methodName: true, maxAttempts: true, timeoutMs: true, routine: { select: { name: true, methods: true } } },
    });
    if (!run) return false;
    const signature = methodSignatures.parse(run.routine.methods).find((m) => m.name === run.methodName);
    const input: RunWorkflowInput = {
      runId: run.id,
      retry: {
        maxAttempts: run.maxAttempts,
        initialIntervalMs: signature?.retry.initialIntervalMs ?? DEFAULT_RETRY.initialIntervalMs,
        backoffCoefficient: signature?.retry.backoffCoefficient ?? DEFAULT_RETRY.backoffCoefficient,
      },
      timeoutMs: (run.timeoutMs ?? DEFAULT_TIMEOUT_MS) + ATTEMPT_TIMEOUT_MARGIN_MS,
    };
    const workflowId = workflowIdForRun(run.id);
    const attributes = { [RUN_ID_ATTRIBUTE]: run.id, [ROUTINE_ATTRIBUTE]: run.routine.name, [METHOD_ATTRIBUTE]: run.methodName };
    // The span is the parent of Temporal's StartWorkflow span, whose context travels to the
    // workflow in its headers (the client interceptor, src/temporal/connection.ts).
    await inSpan('run.launch', { attributes }, async () => {
      try {
        // Bounded, so a sweep is not held up by an unreachable Temporal.
        await client.withDeadline(Date.now() + LAUNCH_TIMEOUT_MS, () =>
          client.workflow.start(runWorkflow, {
            workflowId,
            taskQueue,
            args: [input],
            // Even a closed workflow of this run refuses a second start: a run executes once.
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
          }),
        );
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      }
    });
    await db.routineRun.updateMany({ where: { id: run.id, workflowId: null }, data: { workflowId } });
    return true;
  }

  /** Asks the run's workflow to cancel; false when there is no workflow to ask. */
  async cancel(runId: string): Promise<boolean> {
    try {
      await this.deps.client.workflow.getHandle(workflowIdForRun(runId)).cancel();
      return true;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
  }

  /** Launches QUEUED background runs that have no workflow yet: now, then every `intervalMs`. */
  startSweeper({ intervalMs = SWEEP_INTERVAL_MS }: { intervalMs?: number } = {}): void {
    this.stopSweeper();
    let sweeping = false;
    const sweep = async () => {
      if (sweeping) return;
      sweeping = true;
      try {
        await countedAs('launch sweeper', () => this.sweepOnce());
        this.throttle.succeeded('run sweeper');
      } catch (error) {
        this.throttle.failed('run sweeper', (error as Error).message);
      } finally {
        sweeping = false;
      }
    };
    void sweep();
    this.sweeper = setInterval(() => void sweep(), intervalMs);
    this.sweeper.unref();
  }

  /** One sweep; returns how many runs it launched. */
  async sweepOnce(): Promise<number> {
    const stranded = await this.deps.db.routineRun.findMany({
      where: {
        status: 'QUEUED',
        executionType: 'BACKGROUND',
        workflowId: null,
        queuedAt: { lt: new Date(Date.now() - SWEEP_GRACE_MS) },
      },
      select: { id: true },
      orderBy: { queuedAt: 'asc' },
      take: 100,
    });
    let launched = 0;
    for (const run of stranded) {
      if (!(await this.launch(run.id))) break; // Temporal still unreachable: try again later
      launched += 1;
    }
    return launched;
  }

  /** Stops the sweeper; waits for launches under way so none is cut off mid-write. */
  async stop(): Promise<void> {
    this.stopSweeper();
    await Promise.all(this.launching.values());
  }

  stopSweeper(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }
}
