// The dependencies every service operation receives, as one typed bundle.
import type { Db } from '../db/client.ts';
import type { RunEventBus } from '../events/bus.ts';
import type { MethodProcessPool } from '../execution/process-pool.ts';
import type { MutationRateLimiter } from '../access/rate-limit.ts';
import type { RoutineRegistry } from '../routines/registry.ts';
import type { InMemoryCapacity } from '../runs/in-memory-capacity.ts';
import type { RunLauncher } from '../runs/launcher.ts';
import type { ScheduleDeps } from '../schedules/temporal-schedules.ts';

export interface ServiceDeps {
  db: Db;
  registry: RoutineRegistry;
  /** Null in processes that cannot reach Temporal (runs then wait QUEUED for the sweeper). */
  launcher: RunLauncher | null;
  storageRoot: string;
  limits: {
    maxRunMemoryMb: number;
    /** Workers whose capacity heartbeat is older are dead (WORKER_LEASE_MS); default 15 s. */
    workerLeaseMs?: number;
    /** Time limit of in-memory runs (IN_MEMORY_TIMEOUT_MS); default 60 s. */
    inMemoryTimeoutMs?: number;
    /** Largest uploaded data set in bytes (DATASET_MAX_BYTES); default 64 MiB. */
    maxDatasetBytes?: number;
    /** How long a valid API token is remembered (AUTH_CACHE_MS); default 0, not at all. */
    authCacheMs?: number;
  };
  /**
   * Notices of run changes from every process (optional): an in-memory run listens for its
   * CANCEL_REQUESTED, so an API process other than the one executing it can cancel it.
   */
  bus?: Pick<RunEventBus, 'onRunChange'> | null;
  /**
   * This API process's bounds on in-memory runs (src/runs/in-memory-capacity.ts). startApi
   * always sets it; without it (services built by hand in tests) in-memory runs are not bounded.
   */
  inMemory?: InMemoryCapacity | null;
  /**
   * This API process's per-token mutation buckets (src/access/rate-limit.ts). startApi always sets
   * it; without it (services built by hand in tests) mutations are not limited.
   */
  mutationRate?: MutationRateLimiter | null;
  /**
   * Temporal's schedules and the limits of createSchedule. startApi always sets it; without it
   * (services built by hand, a worker's fires) schedules cannot be created, paused or deleted.
   */
  schedules?: ScheduleDeps | null;
  /** Warm method processes for in-memory runs (optional). */
  pool?: MethodProcessPool | null;
  /** Routine folders besides the built-in library (in-memory runs execute them too). */
  extraRoutineDirs?: string[];
}
