// Hands queued background runs to Temporal. The workflow id is derived from the run id, so a
// launch that is retried (after a timeout, by the sweeper, by another API process) can never
// start a run twice. When Temporal is unreachable the run simply stays QUEUED and the sweeper
// launches it once Temporal answers again.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Db } from '../db/client.ts';
import type { MethodSignature } from '../routines/sdk.ts';
import { RUN_WORKFLOW_TYPE, workflowIdForRun, type RunWorkflowInput } from '../../workflows/shared.ts';

const LAUNCH_TIMEOUT_MS = 3000;

export class RunLauncher {
  private sweeper: NodeJS.Timeout | null = null;

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

  /** Returns true when the run's workflow exists (started now or before). */
  async launch(runId: string): Promise<boolean> {
    const { db, client, taskQueue, log } = this.deps;
    const run = await db.routineRun.findUniqueOrThrow({
      where: { id: runId },
      select: { id: true, methodName: true, maxAttempts: true, timeoutMs: true, routine: { select: { methods: true } } },
    });
    const signature = (run.routine.methods as unknown as MethodSignature[]).find((m) => m.name === run.methodName);
    const input: RunWorkflowInput = {
      runId: run.id,
      retry: {
        maxAttempts: run.maxAttempts,
        initialIntervalMs: signature?.retry.initialIntervalMs ?? 1000,
        backoffCoefficient: signature?.retry.backoffCoefficient ?? 2,
      },
      timeoutMs: run.timeoutMs ?? 60 * 60 * 1000,
    };
    const workflowId = workflowIdForRun(run.id);
    try {
      // Bounded: with Temporal down, createRun answers QUEUED quickly and the sweeper retries.
      await client.withDeadline(Date.now() + LAUNCH_TIMEOUT_MS, () =>
        client.workflow.start(RUN_WORKFLOW_TYPE, { workflowId, taskQueue, args: [input] }),
      );
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) {
        log(`run ${runId}: could not start its workflow yet (${(error as Error).message}); it stays QUEUED and is retried`);
        return false;
      }
    }
    await db.routineRun.update({ where: { id: run.id }, data: { workflowId } });
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

  /** Periodically launches QUEUED background runs whose launch has not succeeded yet. */
  startSweeper({ intervalMs = 5000 }: { intervalMs?: number } = {}): void {
    const sweep = async () => {
      const stranded = await this.deps.db.routineRun.findMany({
        where: { status: 'QUEUED', executionType: 'BACKGROUND', workflowId: null, queuedAt: { lt: new Date(Date.now() - 2000) } },
        select: { id: true },
        orderBy: { queuedAt: 'asc' },
        take: 100,
      });
      for (const run of stranded) {
        if (!(await this.launch(run.id))) break; // Temporal still unreachable: try again later
      }
    };
    this.sweeper = setInterval(() => {
      sweep().catch((error) => this.deps.log(`run sweeper: ${(error as Error).message}`));
    }, intervalMs);
    this.sweeper.unref();
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
  }
}
