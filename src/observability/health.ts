// Readiness: whether the parts a process needs answer (database, Temporal, and its worker if it has
// one). Each check is bounded in time, and one answer serves every /readyz request for CACHE_MS, so
// a scraper polling it cannot load the database. Liveness (/healthz) checks nothing: it only says
// the process serves requests.
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { Db } from '../db/client.ts';
import { isDatabaseUnreachable } from '../db/unreachable.ts';

/** Resolves when the part answers, rejects (or never settles) when it does not. */
export type HealthCheck = () => Promise<void>;

export interface CheckResult {
  ok: boolean;
  /** Why the part is down. */
  error?: string;
  ms: number;
}

export interface ReadinessReport {
  status: 'ok' | 'unavailable';
  /** The names of the checks that failed. */
  down: string[];
  checks: Record<string, CheckResult>;
}

export const CHECK_TIMEOUT_MS = 1500;
export const CACHE_MS = 1000;

export class Readiness {
  private cached: { at: number; report: Promise<ReadinessReport> } | null = null;

  constructor(
    private readonly checks: Record<string, HealthCheck>,
    private readonly options: { timeoutMs?: number; cacheMs?: number } = {},
  ) {}

  report(): Promise<ReadinessReport> {
    const cacheMs = this.options.cacheMs ?? CACHE_MS;
    if (!this.cached || Date.now() - this.cached.at >= cacheMs) this.cached = { at: Date.now(), report: this.runChecks() };
    return this.cached.report;
  }

  private async runChecks(): Promise<ReadinessReport> {
    const timeoutMs = this.options.timeoutMs ?? CHECK_TIMEOUT_MS;
    const entries = await Promise.all(
      Object.entries(this.checks).map(async ([name, check]) => [name, await bounded(check, timeoutMs)] as const),
    );
    const checks = Object.fromEntries(entries);
    const down = entries.filter(([, result]) => !result.ok).map(([name]) => name);
    return { status: down.length === 0 ? 'ok' : 'unavailable', down, checks };
  }
}

async function bounded(check: HealthCheck, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([check(), timeout]);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, error: publicReason(error), ms: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * /readyz answers anyone: it says what is down and why in a few words, never a driver's message
 * (which quotes hosts, ports and the calling code).
 */
function publicReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/^no answer within \d+ ms$/.test(message) || /^worker is [A-Z_]+$/.test(message)) return message;
  if (isDatabaseUnreachable(error) || /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED/.test(message)) return 'unreachable';
  return 'the check failed (the service log says why)';
}

export function databaseCheck(db: Db): HealthCheck {
  return async () => {
    await db.$queryRaw`SELECT 1`;
  };
}

export function temporalCheck(client: Client): HealthCheck {
  return async () => {
    // The deadline also ends the gRPC call itself, not only our wait for it.
    await client.connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => client.connection.workflowService.getSystemInfo({}));
  };
}

/** The worker polls its task queue (not yet shut down, not failed). */
export function workerCheck(worker: Worker): HealthCheck {
  return async () => {
    const state = worker.getState();
    if (state !== 'RUNNING') throw new Error(`worker is ${state}`);
  };
}
