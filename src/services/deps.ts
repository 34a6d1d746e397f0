// The dependencies every service operation receives, as one typed bundle.
import type { Db } from '../db/client.ts';
import type { RoutineRegistry } from '../routines/registry.ts';
import type { RunLauncher } from '../runs/launcher.ts';

export interface ServiceDeps {
  db: Db;
  registry: RoutineRegistry;
  /** Null in processes that cannot reach Temporal (runs then wait QUEUED for the sweeper). */
  launcher: RunLauncher | null;
  storageRoot: string;
  limits: { maxRunMemoryMb: number };
}
