// Where a run failed: the phases a run's error can name (RunErrorPhase) and the one a failure that
// names none is given. The recorder writes them, the RunError resolver and compiled reads
// (src/reads/compile.ts) read them back; all take them from here so the three cannot disagree.
import type { FailurePhase } from '../execution/types.ts';

export const RUN_ERROR_PHASES = [
  'VALIDATION',
  'METHOD',
  'ARTIFACT_STORAGE',
  'PROCESS',
  'WORKFLOW',
] as const satisfies readonly FailurePhase[];

// Fails to compile when a FailurePhase is added without being listed above.
const everyPhaseListed: Record<Exclude<FailurePhase, (typeof RUN_ERROR_PHASES)[number]>, never> = {};
void everyPhaseListed;

/** A failure that does not say where it happened is the method's own code failing. */
export const DEFAULT_ERROR_PHASE = 'METHOD' satisfies FailurePhase;

/** A stored `errorPhase` as clients see it: a value missing or not (or no longer) a phase is the default. */
export function errorPhase(stored: string | null): FailurePhase {
  return (RUN_ERROR_PHASES as readonly string[]).includes(stored ?? '') ? (stored as FailurePhase) : DEFAULT_ERROR_PHASE;
}
